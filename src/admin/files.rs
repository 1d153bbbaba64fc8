//! `chunkgate files list|show|delete` and `chunkgate uploads list`.

use super::output::{print_json, FileJson, UploadJson};
use super::{with_engine, AdminError, Common};
use crate::engine::{Engine, FileId, FileInfo};
use clap::{Args, Subcommand};
use std::collections::HashSet;
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub enum FilesCommand {
    /// Every finished file (any owner, expired and quarantined ones included).
    List(Common),
    /// One file, by engine id or `<namespace>:<legacy id>` (e.g. `filesnest:26`).
    Show(FileArg),
    /// Delete one file (its content goes when no other file shares it).
    Delete(FileArg),
}

#[derive(Debug, Subcommand)]
pub enum UploadsCommand {
    /// Every upload in progress (any owner).
    List(Common),
}

#[derive(Debug, Args)]
pub struct FileArg {
    /// Engine file id (32 hex digits) or `<namespace>:<legacy id>`.
    pub id: String,
    #[command(flatten)]
    pub common: Common,
}

pub async fn run_files(command: FilesCommand) -> Result<ExitCode, AdminError> {
    match command {
        FilesCommand::List(common) => {
            with_engine(&common, |engine| async move {
                let quarantined: HashSet<String> =
                    engine.quarantined_blobs().await?.into_iter().collect();
                let files: Vec<FileJson> = engine
                    .all_files()
                    .await?
                    .iter()
                    .map(|f| FileJson::new(f, quarantined.contains(&f.digests.sha256)))
                    .collect();
                if common.json {
                    print_json(&serde_json::json!({ "files": files }));
                } else {
                    println!(
                        "{:<32}  {:>12}  {:<12}  {:<10}  name",
                        "id", "size", "owner", "namespace"
                    );
                    for f in &files {
                        let mark = if f.quarantined { "  [quarantined]" } else { "" };
                        println!(
                            "{:<32}  {:>12}  {:<12}  {:<10}  {}{mark}",
                            f.id, f.size, f.owner, f.namespace, f.name
                        );
                    }
                    println!("{} files", files.len());
                }
                Ok(ExitCode::SUCCESS)
            })
            .await
        }
        FilesCommand::Show(arg) => {
            let common = arg.common.clone();
            with_engine(&common, |engine| async move {
                let file = find(&engine, &arg.id).await?;
                let quarantined = engine
                    .quarantined_blobs()
                    .await?
                    .contains(&file.digests.sha256);
                let json = FileJson::new(&file, quarantined);
                if arg.common.json {
                    print_json(&json);
                } else {
                    print_file(&json);
                }
                Ok(ExitCode::SUCCESS)
            })
            .await
        }
        FilesCommand::Delete(arg) => {
            let common = arg.common.clone();
            with_engine(&common, |engine| async move {
                let file = find(&engine, &arg.id).await?;
                let deleted = engine.remove_file(&file.id).await?;
                let json = FileJson::new(&deleted, false);
                if arg.common.json {
                    print_json(&serde_json::json!({ "deleted": json }));
                } else {
                    println!("deleted {} ({}, {} bytes)", json.id, json.name, json.size);
                }
                Ok(ExitCode::SUCCESS)
            })
            .await
        }
    }
}

pub async fn run_uploads(command: UploadsCommand) -> Result<ExitCode, AdminError> {
    let UploadsCommand::List(common) = command;
    with_engine(&common, |engine| async move {
        let uploads: Vec<UploadJson> = engine
            .all_uploads()
            .await?
            .iter()
            .map(UploadJson::new)
            .collect();
        if common.json {
            print_json(&serde_json::json!({ "uploads": uploads }));
        } else {
            println!(
                "{:<32}  {:<8}  {:<7}  {:>12}  {:<12}  {:<10}  expires",
                "id", "layout", "state", "received", "owner", "namespace"
            );
            for u in &uploads {
                println!(
                    "{:<32}  {:<8}  {:<7}  {:>12}  {:<12}  {:<10}  {}",
                    u.id, u.layout, u.state, u.received, u.owner, u.namespace, u.expires_at
                );
            }
            println!("{} uploads", uploads.len());
        }
        Ok(ExitCode::SUCCESS)
    })
    .await
}

/// A file by engine id or `<namespace>:<legacy id>`, whatever its state.
async fn find(engine: &Engine, id: &str) -> Result<FileInfo, AdminError> {
    let file_id = match id.parse::<FileId>() {
        Ok(file_id) => Some(file_id),
        Err(_) => match id.split_once(':') {
            Some((ns, legacy)) => engine.resolve_alias(ns, legacy).await?,
            None => None,
        },
    };
    let file = match file_id {
        Some(file_id) => engine.any_file(&file_id).await?,
        None => None,
    };
    file.ok_or_else(|| AdminError::Refused(format!("no file {id}")))
}

fn print_file(f: &FileJson) {
    println!("id            {}", f.id);
    println!("name          {}", f.name);
    println!("owner         {}", f.owner);
    println!("namespace     {}", f.namespace);
    println!("size          {}", f.size);
    println!("content type  {}", f.content_type.as_deref().unwrap_or("-"));
    println!("sha256        {}", f.sha256);
    println!("sha1          {}", f.sha1.as_deref().unwrap_or("-"));
    println!("md5           {}", f.md5.as_deref().unwrap_or("-"));
    println!("aliases       {}", f.aliases.join(", "));
    println!("created at    {}", f.created_at);
    println!(
        "expires at    {}",
        f.expires_at.as_deref().unwrap_or("never")
    );
    if f.quarantined {
        println!("quarantined   yes (content failed verification; not served)");
    }
}
