//! `chunkgate export <dir|file.tar>` and `chunkgate import <dir|file.tar>`: a complete, verified
//! backup of a store and its restore into a fresh data dir (format: docs/admin.md; the engine's
//! `backup` module). A `.tar` file is the same export directory as one archive: written from a
//! directory export next to it, unpacked into a staging directory inside the data dir to import.

use super::output::{byte_bar, print_json};
use super::{with_engine, AdminError, Common};
use crate::engine::{self, BackupReport, Engine};
use clap::Args;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Directory to create (must not exist), or a file ending in `.tar`; written as
    /// `<path>.partial`, renamed when complete.
    pub dir: PathBuf,
    #[command(flatten)]
    pub common: Common,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// A directory (or `.tar` file) written by `chunkgate export`.
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
    if args.dir.exists() {
        return Err(AdminError::Refused(format!(
            "{} already exists; export into a new path",
            args.dir.display()
        )));
    }
    with_engine(&common, |engine| async move {
        let totals = engine.blob_totals().await?;
        let (bar, progress) = byte_bar(totals.bytes, "exporting");
        let report = if is_archive(&args.dir) {
            export_archive(&engine, &args.dir, progress).await
        } else {
            engine
                .export(args.dir.clone(), progress)
                .await
                .map_err(AdminError::from)
        };
        bar.finish_and_clear();
        let report = report?;
        print_report(&args.common, "exported", &args.dir, &report);
        Ok(ExitCode::SUCCESS)
    })
    .await
}

pub async fn run_import(args: ImportArgs) -> Result<ExitCode, AdminError> {
    let settings = args.common.store.settings()?;
    let staging = settings.data_dir.join(".import-staging");
    let source = if args.dir.is_file() {
        unpack(&args.dir, &staging).await?;
        staging.clone()
    } else {
        args.dir.clone()
    };
    let size = dir_bytes(&source.join("blobs")) + dir_bytes(&source.join("spool"));
    let (bar, progress) = byte_bar(size, "importing");
    let report = Engine::import(settings.data_dir.clone(), source, progress).await;
    bar.finish_and_clear();
    if staging.exists() {
        std::fs::remove_dir_all(&staging).map_err(engine::Error::from)?;
    }
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

fn is_archive(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "tar")
}

/// Exports into `<file>.d.partial`, archives that into `<file>.partial`, renames it to `<file>`.
async fn export_archive(
    engine: &Engine,
    file: &Path,
    progress: engine::Progress,
) -> Result<BackupReport, AdminError> {
    if file.exists() {
        return Err(AdminError::Refused(format!(
            "{} already exists",
            file.display()
        )));
    }
    let with_suffix = |suffix: &str| {
        let mut p = file.as_os_str().to_owned();
        p.push(suffix);
        PathBuf::from(p)
    };
    let (dir, partial) = (with_suffix(".d.partial"), with_suffix(".partial"));
    if dir.exists() {
        std::fs::remove_dir_all(&dir).map_err(engine::Error::from)?;
    }
    let report = engine.export(dir.clone(), progress).await?;
    let (file, archived) = (file.to_owned(), dir.clone());
    tokio::task::spawn_blocking(move || -> std::io::Result<()> {
        let out = std::fs::File::create(&partial)?;
        let mut tar = tar::Builder::new(std::io::BufWriter::new(out));
        // manifest.json first, so a reader learns the format before anything else.
        tar.append_path_with_name(archived.join("manifest.json"), "manifest.json")?;
        tar.append_path_with_name(archived.join("meta.jsonl"), "meta.jsonl")?;
        for sub in ["blobs", "spool"] {
            if archived.join(sub).exists() {
                tar.append_dir_all(sub, archived.join(sub))?;
            }
        }
        let out = tar.into_inner()?.into_inner().map_err(|e| e.into_error())?;
        out.sync_all()?;
        std::fs::rename(&partial, &file)?;
        std::fs::remove_dir_all(&archived)
    })
    .await
    .map_err(|e| engine::Error::Io(std::io::Error::other(e)))?
    .map_err(engine::Error::from)?;
    Ok(report)
}

/// Unpacks an archive made by `export` into `staging` (tar refuses entries that would land
/// outside it).
async fn unpack(file: &Path, staging: &Path) -> Result<(), AdminError> {
    let (path, staging) = (file.to_owned(), staging.to_owned());
    tokio::task::spawn_blocking(move || -> std::io::Result<()> {
        if staging.exists() {
            std::fs::remove_dir_all(&staging)?;
        }
        std::fs::create_dir_all(&staging)?;
        tar::Archive::new(std::io::BufReader::new(std::fs::File::open(&path)?)).unpack(&staging)
    })
    .await
    .map_err(|e| engine::Error::Io(std::io::Error::other(e)))?
    .map_err(|e| AdminError::Refused(format!("cannot unpack {}: {e}", file.display())))
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
