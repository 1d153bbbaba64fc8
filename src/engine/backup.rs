//! Backup and restore of a whole store: every versioned metadata tree, every blob and the spool
//! files of uploads in progress, written to a directory another instance can import.
//!
//! ```text
//! <dir>/manifest.json          format name and version, what was written, per tree counts
//! <dir>/meta.jsonl             one line per metadata entry: {"tree","key","value"} (base64)
//! <dir>/blobs/sha256/<2>/<64>  the content, verified against its name while copied
//! <dir>/spool/<upload id>/…    bytes of uploads in progress
//! ```
//!
//! Consistency: an export runs on an opened engine, which holds the store's exclusive lock, so no
//! server writes while it reads; the metadata is copied as it is, trees by their versioned names
//! (an import refuses a tree it does not know, e.g. from a newer version). The export is written
//! into `<dir>.partial` and renamed at the end, so a `<dir>` that exists is complete. An import
//! goes into an empty store only, copies bytes before metadata (metadata never points at bytes
//! that are not there), then the engine's normal open reconciles the result.

use std::collections::{BTreeMap, HashSet};
use std::fs::{self, File};
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::blob::{self, IO_BUF};
use super::error::{Error, OpenError};
use super::open::open_store;
use super::types::BackupReport;
use super::verify::Progress;
use super::Engine;

/// Name written into (and required in) every manifest.
const FORMAT: &str = "chunkgate-export";
/// Bumped when the layout of an export changes.
const FORMAT_VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
struct Manifest {
    format: String,
    version: u32,
    created_at_ms: u64,
    #[serde(flatten)]
    report: BackupReport,
}

#[derive(Serialize, Deserialize)]
struct Entry {
    tree: String,
    key: String,
    value: String,
}

fn invalid(msg: impl Into<String>) -> Error {
    Error::Io(io::Error::new(io::ErrorKind::InvalidData, msg.into()))
}

impl Engine {
    /// Writes a complete backup of the store into `dir`, which must not exist yet.
    pub async fn export(&self, dir: PathBuf, progress: Progress) -> Result<BackupReport, Error> {
        self.blocking(move |i| {
            if dir.exists() {
                return Err(invalid(format!("{} already exists", dir.display())));
            }
            let mut partial = dir.clone().into_os_string();
            partial.push(".partial");
            let partial = PathBuf::from(partial);
            if partial.exists() {
                fs::remove_dir_all(&partial)?;
            }
            fs::create_dir_all(&partial)?;
            let mut report = BackupReport::default();

            // Bytes: every blob, verified while copied (a corrupt blob stops the export; run
            // verify --quarantine first). Quarantined blobs have no bytes to copy.
            for (sha, rec) in i.meta.blobs()? {
                if rec.quarantined_ms.is_some() {
                    continue;
                }
                let from = i.blob.blob_path(&sha);
                let to = partial.join(from.strip_prefix(i.blob.root()).expect("under root"));
                let (actual, size) = copy_hashing(&from, &to, &progress)?;
                if actual != sha {
                    return Err(invalid(format!(
                        "blob {sha} is corrupt (its bytes hash to {actual}); run `verify --quarantine` first"
                    )));
                }
                report.blobs += 1;
                report.blob_bytes += size;
            }
            for (id, path) in i.blob.list_spools()? {
                if id.is_none() || !path.is_dir() {
                    continue;
                }
                let to_dir = partial.join("spool").join(path.file_name().expect("named"));
                fs::create_dir_all(&to_dir)?;
                for entry in fs::read_dir(&path)? {
                    let entry = entry?;
                    copy_hashing(&entry.path(), &to_dir.join(entry.file_name()), &progress)?;
                    report.spool_files += 1;
                }
            }

            // Metadata, every tree.
            let mut out = BufWriter::new(File::create(partial.join("meta.jsonl"))?);
            for (name, tree) in i.meta.trees() {
                let mut n = 0u64;
                for kv in tree.iter() {
                    let (k, v) = kv?;
                    let line = Entry {
                        tree: name.to_owned(),
                        key: B64.encode(&k),
                        value: B64.encode(&v),
                    };
                    serde_json::to_writer(&mut out, &line).map_err(io::Error::other)?;
                    out.write_all(b"\n")?;
                    n += 1;
                }
                report.entries.insert(name.to_owned(), n);
            }
            let file = out.into_inner().map_err(|e| e.into_error())?;
            file.sync_all()?;

            let manifest = Manifest {
                format: FORMAT.into(),
                version: FORMAT_VERSION,
                created_at_ms: super::meta::now_ms(),
                report: report.clone(),
            };
            let mut m = File::create(partial.join("manifest.json"))?;
            m.write_all(&serde_json::to_vec_pretty(&manifest).map_err(io::Error::other)?)?;
            m.sync_all()?;
            blob::sync_dir(&partial)?;
            // The rename makes the export appear complete or not at all.
            fs::rename(&partial, &dir)?;
            if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
                blob::sync_dir(parent)?;
            }
            Ok(report)
        })
        .await
    }

    /// Restores an export into the (empty) store in `data_dir`. Open the engine afterwards: it
    /// reconciles the restored store like any other.
    pub async fn import(
        data_dir: PathBuf,
        from: PathBuf,
        progress: Progress,
    ) -> Result<BackupReport, ImportError> {
        tokio::task::spawn_blocking(move || import_blocking(&data_dir, &from, &progress))
            .await
            .map_err(|e| ImportError::Store(super::join_error(e)))?
    }
}

/// Why an import failed.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error(transparent)]
    Open(#[from] OpenError),
    /// The target store already holds data.
    #[error("the store in {} is not empty; import only into a fresh data dir", .0.display())]
    NotEmpty(PathBuf),
    /// The export is incomplete, of another format, or its bytes do not match.
    #[error("{} is not a usable export: {reason}", path.display())]
    BadExport { path: PathBuf, reason: String },
    #[error(transparent)]
    Store(#[from] Error),
}

impl From<io::Error> for ImportError {
    fn from(e: io::Error) -> Self {
        ImportError::Store(Error::Io(e))
    }
}

fn import_blocking(
    data_dir: &Path,
    from: &Path,
    progress: &Progress,
) -> Result<BackupReport, ImportError> {
    let bad = |reason: String| ImportError::BadExport {
        path: from.to_owned(),
        reason,
    };
    let manifest: Manifest = fs::read(from.join("manifest.json"))
        .map_err(|e| bad(format!("manifest.json: {e}")))
        .and_then(|b| serde_json::from_slice(&b).map_err(|e| bad(format!("manifest.json: {e}"))))?;
    if manifest.format != FORMAT || manifest.version != FORMAT_VERSION {
        return Err(bad(format!(
            "format {} version {} (this build reads {FORMAT} version {FORMAT_VERSION})",
            manifest.format, manifest.version
        )));
    }
    let (meta, store) = open_store(data_dir)?;
    let trees = meta.trees();
    let known: HashSet<&str> = trees.iter().map(|(n, _)| *n).collect();
    let has_spool = fs::read_dir(store.spool_root())?.next().is_some();
    if trees.iter().any(|(_, t)| !t.is_empty()) || has_spool || !store.list_blobs()?.is_empty() {
        return Err(ImportError::NotEmpty(data_dir.to_owned()));
    }

    // Read and check the metadata first, so a bad export changes nothing.
    let mut entries = Vec::new();
    let lines = BufReader::new(
        File::open(from.join("meta.jsonl")).map_err(|e| bad(format!("meta.jsonl: {e}")))?,
    );
    // Every tree this version has, so an import reports the same trees an export does.
    let mut counts: BTreeMap<String, u64> = known.iter().map(|n| (n.to_string(), 0)).collect();
    for (n, line) in lines.lines().enumerate() {
        let line = line?;
        let e: Entry = serde_json::from_str(&line)
            .map_err(|e| bad(format!("meta.jsonl line {}: {e}", n + 1)))?;
        if !known.contains(e.tree.as_str()) {
            return Err(bad(format!(
                "unknown metadata tree {:?} (made by a newer version?)",
                e.tree
            )));
        }
        let decode = |s: &str| {
            B64.decode(s)
                .map_err(|e| bad(format!("meta.jsonl line {}: {e}", n + 1)))
        };
        entries.push((e.tree.clone(), decode(&e.key)?, decode(&e.value)?));
        *counts.entry(e.tree).or_default() += 1;
    }
    let expected: BTreeMap<String, u64> = manifest
        .report
        .entries
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(k, v)| (k.clone(), *v))
        .collect();
    let found: BTreeMap<String, u64> = counts
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(k, v)| (k.clone(), *v))
        .collect();
    if found != expected {
        return Err(bad(
            "meta.jsonl does not hold the entries the manifest lists (truncated?)".into(),
        ));
    }

    // Bytes before metadata: every blob is verified against its name while copied.
    let mut report = BackupReport {
        entries: counts,
        ..BackupReport::default()
    };
    let blob_root = from.join("blobs").join("sha256");
    for shard in read_dir_sorted(&blob_root)? {
        for file in read_dir_sorted(&shard)? {
            let sha = file
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("")
                .to_owned();
            let to = store.blob_path(&sha);
            let (actual, size) = copy_hashing(&file, &to, progress)?;
            if actual != sha {
                let _ = fs::remove_file(&to);
                return Err(bad(format!(
                    "blob {sha} is corrupt in the export (hashes to {actual})"
                )));
            }
            report.blobs += 1;
            report.blob_bytes += size;
        }
    }
    for upload in read_dir_sorted(&from.join("spool"))? {
        let to_dir = store.spool_root().join(upload.file_name().expect("named"));
        fs::create_dir_all(&to_dir)?;
        for file in read_dir_sorted(&upload)? {
            copy_hashing(
                &file,
                &to_dir.join(file.file_name().expect("named")),
                progress,
            )?;
            report.spool_files += 1;
        }
    }
    if report.blobs != manifest.report.blobs || report.spool_files != manifest.report.spool_files {
        return Err(bad(format!(
            "{} blobs and {} spool files found, the manifest lists {} and {}",
            report.blobs, report.spool_files, manifest.report.blobs, manifest.report.spool_files
        )));
    }
    for (tree, k, v) in entries {
        let t = trees
            .iter()
            .find(|(n, _)| *n == tree)
            .expect("checked above")
            .1;
        t.insert(k, v).map_err(Error::from)?;
    }
    meta.flush()?;
    Ok(report)
}

/// Entries of a directory, sorted (none if it does not exist).
fn read_dir_sorted(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut out = match fs::read_dir(dir) {
        Ok(rd) => rd
            .map(|e| e.map(|e| e.path()))
            .collect::<io::Result<Vec<_>>>()?,
        Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(e),
    };
    out.sort();
    Ok(out)
}

/// Copies `from` to `to` durably (temp file, fsync, rename), returning the SHA-256 and length
/// of what was copied.
fn copy_hashing(from: &Path, to: &Path, progress: &Progress) -> io::Result<(String, u64)> {
    let dir = to.parent().expect("a file path");
    fs::create_dir_all(dir)?;
    let mut src = File::open(from)?;
    let tmp = dir.join(format!(
        ".{}.tmp",
        to.file_name().and_then(|n| n.to_str()).unwrap_or("copy")
    ));
    let guard = blob::TempGuard::new(tmp.clone());
    let mut dst = File::create(&tmp)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; IO_BUF];
    let mut total = 0u64;
    loop {
        let n = src.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        dst.write_all(&buf[..n])?;
        total += n as u64;
        progress(n as u64);
    }
    dst.sync_all()?;
    fs::rename(guard.keep(), to)?;
    blob::sync_dir(dir)?;
    Ok((hex::encode(hasher.finalize()), total))
}
