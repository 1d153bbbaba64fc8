//! Verification of stored content: every blob is re-hashed and compared with the SHA-256 it is
//! stored under. A corrupt blob can be quarantined: its bytes move to
//! `<data_dir>/quarantine/sha256/<64 hex>` (kept for inspection, never served) and its record is
//! marked, so every lookup of its files answers like an unknown file.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::{Digest, Sha256};

use super::blob::{self, IO_BUF};
use super::error::Error;
use super::types::{BlobFault, BlobProblem, BlobTotals, DigestKind, VerifyReport};
use super::Engine;

/// Called with the number of bytes just read, so a caller can draw progress.
pub type Progress = Arc<dyn Fn(u64) + Send + Sync>;

impl Engine {
    /// How many blobs are stored and how many bytes they hold (quarantined ones excluded).
    pub async fn blob_totals(&self) -> Result<BlobTotals, Error> {
        self.blocking(|i| {
            let mut t = BlobTotals::default();
            for (_, b) in i.meta.blobs()? {
                if b.quarantined_ms.is_none() {
                    t.blobs += 1;
                    t.bytes += b.size;
                }
            }
            Ok(t)
        })
        .await
    }

    /// Re-hashes every blob; with `quarantine`, corrupt or missing ones are marked (and their
    /// bytes moved aside) so their files are no longer served.
    pub async fn verify_blobs(
        &self,
        quarantine: bool,
        progress: Progress,
    ) -> Result<VerifyReport, Error> {
        self.blocking(move |i| {
            let mut report = VerifyReport::default();
            for (sha, rec) in i.meta.blobs()? {
                if rec.quarantined_ms.is_some() {
                    report.already_quarantined += 1;
                    continue;
                }
                let path = i.blob.blob_path(&sha);
                let fault = match hash_file(&path, &progress) {
                    Ok((actual, size)) => {
                        report.bytes += size;
                        (actual != sha || size != rec.size).then_some(BlobFault::Corrupt {
                            actual_sha256: actual,
                            actual_size: size,
                        })
                    }
                    Err(e) if e.kind() == io::ErrorKind::NotFound => Some(BlobFault::Missing),
                    Err(e) => return Err(e.into()),
                };
                report.checked += 1;
                let Some(fault) = fault else { continue };
                let files = i.meta.files_by_digest(DigestKind::Sha256, &sha)?;
                let mut moved_to = None;
                if quarantine {
                    if fault != BlobFault::Missing {
                        moved_to = Some(move_aside(i.blob.root(), &path, &sha)?);
                    }
                    i.meta.quarantine_blob(&sha)?;
                    i.meta.flush()?;
                }
                tracing::warn!(sha256 = %sha, ?fault, quarantine, "blob failed verification");
                report.problems.push(BlobProblem {
                    sha256: sha,
                    size: rec.size,
                    fault,
                    files,
                    moved_to,
                    quarantined: quarantine,
                });
            }
            Ok(report)
        })
        .await
    }
}

/// SHA-256 (hex) and length of a file, reporting progress as it reads.
fn hash_file(path: &Path, progress: &Progress) -> io::Result<(String, u64)> {
    let mut f = File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; IO_BUF];
    let mut total = 0u64;
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        total += n as u64;
        progress(n as u64);
    }
    Ok((hex::encode(hasher.finalize()), total))
}

/// Moves a corrupt blob to `quarantine/sha256/<hex>` (same volume: a rename), durably.
fn move_aside(root: &Path, from: &Path, sha: &str) -> io::Result<PathBuf> {
    let dir = root.join("quarantine").join("sha256");
    std::fs::create_dir_all(&dir)?;
    let to = dir.join(sha);
    std::fs::rename(from, &to)?;
    blob::sync_dir(&dir)?;
    if let Some(parent) = from.parent() {
        blob::sync_dir(parent)?;
    }
    Ok(to)
}
