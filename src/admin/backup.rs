//! `chunkgate export <dir>` and `chunkgate import <dir>`: a complete, verified backup of a store
//! and its restore into a fresh data dir (format: docs/admin.md; the engine's `backup` module).

use super::output::{byte_bar, print_json};
use super::{with_engine, AdminError, Common};
use crate::engine::{BackupReport, Engine};
use clap::Args;
use serde::Serialize;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Directory to create (must not exist); written as `<dir>.partial`, renamed when complete.
    pub dir: PathBuf,
    #[command(flatten)]
    pub common: Common,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// A directory written by `chunkgate export`.
    pub dir: PathBuf,
    #[command(flatten)]
    pub common: Common,
}

#[derive(Serialize)]
struct BackupJson<'a> {
    path: String,
    #[serde(flatten)]
    report: &'a BackupReport,
}

pub async fn run_export(args: ExportArgs) -> Result<ExitCode, AdminError> {
    let common = args.common.clone();
    with_engine(&common, |engine| async move {
        let totals = engine.blob_totals().await?;
        let (bar, progress) = byte_bar(totals.bytes, "exporting");
        let report = engine.export(args.dir.clone(), progress).await;
        bar.finish_and_clear();
        let report = report?;
        print_report(&args.common, "exported", &args.dir, &report);
        Ok(ExitCode::SUCCESS)
    })
    .await
}

pub async fn run_import(args: ImportArgs) -> Result<ExitCode, AdminError> {
    let settings = args.common.store.settings()?;
    let size = dir_bytes(&args.dir.join("blobs")) + dir_bytes(&args.dir.join("spool"));
    let (bar, progress) = byte_bar(size, "importing");
    let report = Engine::import(settings.data_dir.clone(), args.dir.clone(), progress).await;
    bar.finish_and_clear();
    let report = report?;
    // Open once, as a server would: reconcile the restored store and prove it opens.
    let engine = Engine::open(settings.engine_config()).await?;
    engine.shutdown().await?;
    print_report(&args.common, "imported", &args.dir, &report);
    Ok(ExitCode::SUCCESS)
}

fn print_report(common: &Common, verb: &str, dir: &std::path::Path, report: &BackupReport) {
    if common.json {
        print_json(&BackupJson {
            path: dir.display().to_string(),
            report,
        });
    } else {
        let entries: u64 = report.entries.values().sum();
        println!(
            "{verb} {} metadata entries, {} blobs ({} bytes), {} spool files: {}",
            entries,
            report.blobs,
            report.blob_bytes,
            report.spool_files,
            dir.display()
        );
    }
}

/// Total size of the files below `dir` (for the progress bar only).
fn dir_bytes(dir: &std::path::Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => dir_bytes(&e.path()),
            _ => e.metadata().map(|m| m.len()).unwrap_or(0),
        })
        .sum()
}
