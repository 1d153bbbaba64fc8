//! `chunkgate gc` and `chunkgate verify [--quarantine]`.

use super::output::{byte_bar, print_json};
use super::{with_engine, AdminError, Common};
use crate::engine::BlobFault;
use clap::Args;
use serde::Serialize;
use std::process::ExitCode;
use std::time::SystemTime;

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Move corrupt blobs to `<data_dir>/quarantine/` and mark them, so their files are no
    /// longer served (they answer like unknown files).
    #[arg(long)]
    pub quarantine: bool,
    #[command(flatten)]
    pub common: Common,
}

pub async fn run_gc(common: Common) -> Result<ExitCode, AdminError> {
    with_engine(&common, |engine| async move {
        let report = engine.collect_garbage(SystemTime::now()).await?;
        if common.json {
            print_json(&report);
        } else {
            println!(
                "removed {} expired uploads, {} expired files, {} unreferenced blobs, {} stray spool files; \
                 dropped {} uploads whose bytes were missing; finished {} interrupted completions",
                report.expired_uploads,
                report.expired_files,
                report.orphan_blobs,
                report.stray_files,
                report.dropped_uploads,
                report.completions_finished
            );
        }
        Ok(ExitCode::SUCCESS)
    })
    .await
}

/// One blob that failed verification, as `verify --json` prints it.
#[derive(Serialize)]
struct ProblemJson {
    sha256: String,
    size: u64,
    /// `missing` or `corrupt`.
    fault: &'static str,
    actual_sha256: Option<String>,
    actual_size: Option<u64>,
    files: Vec<String>,
    quarantined: bool,
    moved_to: Option<String>,
}

#[derive(Serialize)]
struct VerifyJson {
    checked: usize,
    bytes: u64,
    already_quarantined: usize,
    ok: bool,
    problems: Vec<ProblemJson>,
}

pub async fn run_verify(args: VerifyArgs) -> Result<ExitCode, AdminError> {
    let common = args.common.clone();
    with_engine(&common, |engine| async move {
        let totals = engine.blob_totals().await?;
        let (bar, progress) = byte_bar(totals.bytes, "verifying");
        let report = engine.verify_blobs(args.quarantine, progress).await;
        bar.finish_and_clear();
        let report = report?;
        let problems: Vec<ProblemJson> = report
            .problems
            .iter()
            .map(|p| {
                let (fault, actual_sha256, actual_size) = match &p.fault {
                    BlobFault::Missing => ("missing", None, None),
                    BlobFault::Corrupt {
                        actual_sha256,
                        actual_size,
                    } => ("corrupt", Some(actual_sha256.clone()), Some(*actual_size)),
                };
                ProblemJson {
                    sha256: p.sha256.clone(),
                    size: p.size,
                    fault,
                    actual_sha256,
                    actual_size,
                    files: p.files.iter().map(|f| f.to_string()).collect(),
                    quarantined: p.quarantined,
                    moved_to: p.moved_to.as_ref().map(|m| m.display().to_string()),
                }
            })
            .collect();
        let out = VerifyJson {
            checked: report.checked,
            bytes: report.bytes,
            already_quarantined: report.already_quarantined,
            ok: problems.is_empty(),
            problems,
        };
        if args.common.json {
            print_json(&out);
        } else {
            for p in &out.problems {
                let action = if p.quarantined {
                    "quarantined"
                } else {
                    "not quarantined (use --quarantine)"
                };
                println!(
                    "{} blob {} ({} bytes, files: {}): {action}",
                    p.fault.to_uppercase(),
                    p.sha256,
                    p.size,
                    p.files.join(", ")
                );
            }
            println!(
                "checked {} blobs ({} bytes): {} corrupt or missing, {} quarantined earlier",
                out.checked,
                out.bytes,
                out.problems.len(),
                out.already_quarantined
            );
        }
        // 2, not 1: the command worked, the store did not (scripts tell the two apart).
        Ok(if out.ok {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(2)
        })
    })
    .await
}
