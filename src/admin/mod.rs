//! Operator commands on a stopped store: `files list|show|delete`, `uploads list`, `gc`,
//! `verify`, `export`, `import` (docs/admin.md). Each opens the store itself, with the same
//! config and data-dir options as `serve`; the store's lock keeps a running server and a command
//! from using one store at once (the command fails with a clear message instead).
//!
//! Output: a human table by default, or with `--json` one JSON document on stdout whose shape is
//! documented (and kept stable) in docs/admin.md. Progress bars go to stderr and are drawn only
//! when it is a terminal. Exit status: 0 ok, 1 error, 2 `verify` found problems.

mod backup;
mod files;
mod maintenance;
mod output;

use crate::cli::ServeArgs;
use crate::config::ConfigError;
use crate::engine::{self, Engine};
pub use files::{FileArg, FilesCommand, UploadsCommand};

use clap::{Args, Subcommand};
use std::process::ExitCode;

/// The operator subcommands (flattened into the top-level command list).
#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Finished files: list them, show one, delete one.
    #[command(subcommand)]
    Files(files::FilesCommand),
    /// Uploads in progress.
    #[command(subcommand)]
    Uploads(files::UploadsCommand),
    /// Remove expired uploads and files, stray spool files and unreferenced blobs now.
    Gc(Common),
    /// Re-hash every stored blob and report corrupt or missing ones (exit status 2 if any).
    Verify(maintenance::VerifyArgs),
    /// Write a complete backup (metadata, blobs, uploads in progress) into a new directory.
    Export(backup::ExportArgs),
    /// Restore a backup made by `export` into an empty data dir.
    Import(backup::ImportArgs),
}

/// Options every operator command takes.
#[derive(Debug, Clone, Args)]
pub struct Common {
    /// Print one JSON document (shapes in docs/admin.md) instead of a table.
    #[arg(long)]
    pub json: bool,

    #[command(flatten)]
    pub store: ServeArgs,
}

/// Why a command failed (printed as `chunkgate: <message>`, exit status 1).
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Open(#[from] engine::OpenError),
    #[error(transparent)]
    Import(#[from] engine::ImportError),
    #[error("{0}")]
    Engine(#[from] engine::Error),
    /// A command-line argument names nothing usable (no such file, no store, an existing
    /// export target, an unreadable archive).
    #[error("{0}")]
    Refused(String),
}

/// Runs one operator command to completion.
pub async fn run(command: AdminCommand) -> ExitCode {
    let result = match command {
        AdminCommand::Files(c) => files::run_files(c).await,
        AdminCommand::Uploads(c) => files::run_uploads(c).await,
        AdminCommand::Gc(c) => maintenance::run_gc(c).await,
        AdminCommand::Verify(c) => maintenance::run_verify(c).await,
        AdminCommand::Export(c) => backup::run_export(c).await,
        AdminCommand::Import(c) => backup::run_import(c).await,
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("chunkgate: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Opens the store of the configured data dir (reconciling it, as `serve` would), runs `f`,
/// then flushes and closes it whatever `f` returned.
async fn with_engine<T, F, Fut>(common: &Common, f: F) -> Result<T, AdminError>
where
    F: FnOnce(Engine) -> Fut,
    Fut: std::future::Future<Output = Result<T, AdminError>>,
{
    let settings = common.store.settings()?;
    // Reading commands must not create an empty store where the operator mistyped a path.
    // (Any other failure to look, e.g. permission denied, is reported by the open below.)
    let meta = std::fs::metadata(settings.data_dir.join("meta"));
    if meta.is_err_and(|e| e.kind() == std::io::ErrorKind::NotFound) {
        return Err(AdminError::Refused(format!(
            "no store in {} (no meta/ directory)",
            settings.data_dir.display()
        )));
    }
    let engine = Engine::open(settings.engine_config()).await?;
    let result = f(engine.clone()).await;
    engine.shutdown().await?;
    result
}
