//! The JSON shapes of the operator commands (docs/admin.md; keep them stable) and the helpers
//! that print them: RFC 3339 times, `<namespace>:<legacy id>` aliases, progress bars.

use crate::engine::{FileInfo, Layout, UploadInfo, UploadState};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;
use std::sync::Arc;
use std::time::SystemTime;

/// RFC 3339, UTC, seconds precision (`2026-11-22T03:26:49Z`).
pub fn time(t: SystemTime) -> String {
    chrono::DateTime::<chrono::Utc>::from(t).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// A finished file.
#[derive(Debug, Serialize)]
pub struct FileJson {
    pub id: String,
    pub owner: String,
    pub namespace: String,
    pub name: String,
    pub content_type: Option<String>,
    pub size: u64,
    pub sha256: String,
    pub sha1: Option<String>,
    pub md5: Option<String>,
    /// `<namespace>:<legacy id>`, as the operator API and `files show` accept them.
    pub aliases: Vec<String>,
    pub created_at: String,
    pub expires_at: Option<String>,
    /// Its content failed verification and was quarantined: it is no longer served.
    pub quarantined: bool,
}

impl FileJson {
    pub fn new(f: &FileInfo, quarantined: bool) -> Self {
        FileJson {
            id: f.id.to_string(),
            owner: f.owner.to_string(),
            namespace: f.namespace.clone(),
            name: f.name.clone(),
            content_type: f.content_type.clone(),
            size: f.size,
            sha256: f.digests.sha256.clone(),
            sha1: f.digests.sha1.clone(),
            md5: f.digests.md5.clone(),
            aliases: f.aliases.iter().map(|(n, k)| format!("{n}:{k}")).collect(),
            created_at: time(f.created_at),
            expires_at: f.expires_at.map(time),
            quarantined,
        }
    }
}

/// An upload in progress.
#[derive(Debug, Serialize)]
pub struct UploadJson {
    pub id: String,
    pub owner: String,
    pub namespace: String,
    /// `indexed`, `ranged` or `batch`.
    pub layout: &'static str,
    /// Indexed: declared chunk count; Ranged: declared size; Batch: declared parts.
    pub declared: Option<u64>,
    /// `open` or `failed` (the last completion did not verify).
    pub state: &'static str,
    /// Bytes received so far.
    pub received: u64,
    /// Indexed: chunks held; Batch: parts received.
    pub chunks: u64,
    pub created_at: String,
    pub updated_at: String,
    pub expires_at: String,
}

impl UploadJson {
    pub fn new(u: &UploadInfo) -> Self {
        let (layout, declared, chunks) = match u.layout {
            Layout::Indexed { count } => ("indexed", count, u.chunks.len() as u64),
            Layout::Ranged { size } => ("ranged", Some(size), 0),
            Layout::Batch { parts } => ("batch", Some(u64::from(parts)), u64::from(u.parts_done)),
        };
        UploadJson {
            id: u.id.to_string(),
            owner: u.owner.to_string(),
            namespace: u.namespace.clone(),
            layout,
            declared,
            state: match u.state {
                UploadState::Open => "open",
                UploadState::Failed(_) => "failed",
            },
            received: u.received,
            chunks,
            created_at: time(u.created_at),
            updated_at: time(u.updated_at),
            expires_at: time(u.expires_at),
        }
    }
}

/// Prints `value` as one pretty JSON document on stdout.
pub fn print_json(value: &impl Serialize) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).expect("command output serializes")
    );
}

/// A byte progress bar on stderr; indicatif draws nothing when stderr is not a terminal, so
/// scripts and `--json` consumers see only the result.
pub fn byte_bar(total: u64, what: &str) -> (ProgressBar, crate::engine::Progress) {
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template(
            "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    bar.set_message(what.to_owned());
    let tick = bar.clone();
    (bar, Arc::new(move |n| tick.inc(n)))
}
