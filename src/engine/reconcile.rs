//! Start-up reconciliation: metadata never claims bytes that are not on disk, stray spool files
//! without metadata are removed, and interrupted completions are finished.

use std::collections::HashSet;
use std::fs;

use super::blob;
use super::error::Error;
use super::meta::{ChunkLoc, UploadRec, UploadRecState};
use super::types::Layout;
use super::Engine;

/// What start-up repaired.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct ReconcileReport {
    pub completions_finished: usize,
    pub uploads_dropped: usize,
    pub chunks_dropped: usize,
    pub stray_files_removed: usize,
    pub blobs_removed: usize,
}

impl Engine {
    pub(crate) async fn reconcile(&self) -> Result<ReconcileReport, Error> {
        let mut report = ReconcileReport::default();
        // 1. Interrupted completions: the intent is durable, so finish them.
        let uploads = self.blocking(|i| i.meta.uploads()).await?;
        for u in uploads {
            if let UploadRecState::Completing(pending) = u.state.clone() {
                match self.finish_pending(u.clone(), pending).await {
                    Ok(_) => report.completions_finished += 1,
                    Err(e) => {
                        tracing::error!(upload = %u.id, error = %e, "interrupted completion cannot finish; dropping the upload");
                        let id = u.id;
                        self.blocking(move |i| {
                            i.meta.remove_upload(&id)?;
                            i.blob.remove_spool(&id)?;
                            Ok(())
                        })
                        .await?;
                        report.uploads_dropped += 1;
                    }
                }
            }
        }
        // 2. Uploads against their spool files; 3. stray spools; 4. blobs.
        let r = self
            .blocking(|i| {
                let mut r = ReconcileReport::default();
                let mut live = HashSet::new();
                for u in i.meta.uploads()? {
                    if reconcile_upload(i, u.clone(), &mut r)? {
                        live.insert(u.id);
                    }
                }
                for (id, path) in i.blob.list_spools()? {
                    if !id.is_some_and(|id| live.contains(&id)) {
                        if path.is_dir() {
                            fs::remove_dir_all(&path)?;
                        } else {
                            fs::remove_file(&path)?;
                        }
                        r.stray_files_removed += 1;
                    }
                }
                let records = i.meta.blobs()?;
                let known: HashSet<String> = records.iter().map(|(k, _)| k.clone()).collect();
                for (sha, path) in i.blob.list_blobs()? {
                    if !known.contains(&sha) {
                        blob::remove_if_exists(&path)?;
                        r.blobs_removed += 1;
                    }
                }
                for (sha, b) in records {
                    if b.refs == 0 && i.meta.remove_blob_if_unreferenced(&sha)? {
                        i.blob.remove_blob(&sha)?;
                        r.blobs_removed += 1;
                    } else if b.quarantined_ms.is_none() && !i.blob.blob_path(&sha).exists() {
                        tracing::error!(sha256 = %sha, "content of a stored file is missing from disk");
                    }
                }
                i.meta.flush()?;
                Ok(r)
            })
            .await?;
        report.uploads_dropped += r.uploads_dropped;
        report.chunks_dropped += r.chunks_dropped;
        report.stray_files_removed += r.stray_files_removed;
        report.blobs_removed += r.blobs_removed;
        Ok(report)
    }
}

/// Makes one upload's metadata agree with its files. Returns false if the upload was dropped.
fn reconcile_upload(
    i: &super::Inner,
    mut u: UploadRec,
    r: &mut ReconcileReport,
) -> Result<bool, Error> {
    let dir = i.blob.spool_dir(&u.id);
    let data = i.blob.data_path(&u.id);
    let Ok(data_len) = fs::metadata(&data).map(|m| m.len()) else {
        i.meta.remove_upload(&u.id)?;
        i.blob.remove_spool(&u.id)?;
        r.uploads_dropped += 1;
        return Ok(false);
    };
    let mut referenced: HashSet<String> = HashSet::from(["data".to_string()]);
    match u.layout {
        Layout::Indexed { .. } => {
            let chunks = i.meta.chunks(&u.id)?;
            let mut changes = Vec::new();
            // Walk the recorded prefix: every chunk in it must be fully in the data file, and
            // a parked chunk inside it is an acknowledged replacement awaiting a rewind. The
            // first chunk whose bytes are not all there (relaxed durability) cuts the prefix.
            let mut cut: Option<(u64, u64)> = None;
            let mut expected = 0u64;
            let mut pending: Option<u64> = None;
            for (k, c) in chunks.iter().filter(|(k, _)| *k < u.frontier) {
                match &c.loc {
                    ChunkLoc::Data { offset } => {
                        if offset + c.len > data_len {
                            cut = Some((*k, *offset));
                            break;
                        }
                        expected = offset + c.len;
                    }
                    ChunkLoc::Parked { file } => {
                        if !fs::metadata(dir.join(file)).is_ok_and(|m| m.len() == c.len) {
                            cut = Some((*k, expected));
                            break;
                        }
                        // Its old bytes run from `expected` to the next chunk's offset.
                        pending.get_or_insert(*k);
                    }
                }
            }
            let (frontier, end) = cut.unwrap_or((u.frontier, u.data_len));
            for (k, c) in &chunks {
                match &c.loc {
                    ChunkLoc::Data { .. } if *k >= frontier => changes.push((*k, None)),
                    ChunkLoc::Data { .. } => {}
                    ChunkLoc::Parked { file } => {
                        if fs::metadata(dir.join(file)).is_ok_and(|m| m.len() == c.len) {
                            referenced.insert(file.clone());
                        } else {
                            changes.push((*k, None));
                        }
                    }
                }
            }
            let rewind = pending.filter(|p| *p < frontier);
            let moved = u.frontier != frontier || u.data_len != end || u.rewind_from != rewind;
            if moved || !changes.is_empty() {
                r.chunks_dropped += changes.len();
                u.frontier = frontier;
                u.data_len = end;
                u.rewind_from = rewind;
                i.meta.commit_upload(&u, &changes)?;
            }
            if data_len > end {
                // Bytes of an unacknowledged append: cut them off.
                fs::OpenOptions::new()
                    .write(true)
                    .open(&data)?
                    .set_len(end)?;
            }
        }
        Layout::Ranged { size } => {
            if data_len != size {
                fs::OpenOptions::new()
                    .write(true)
                    .open(&data)?
                    .set_len(size)?;
            }
        }
        Layout::Batch { .. } => {
            let before = u.files.len();
            u.files
                .retain(|f| fs::metadata(dir.join(&f.spool)).is_ok_and(|m| m.len() == f.size));
            if u.files.len() != before {
                r.chunks_dropped += before - u.files.len();
                i.meta.commit_upload(&u, &[])?;
            }
            referenced.extend(u.files.iter().map(|f| f.spool.clone()));
        }
    }
    for entry in fs::read_dir(&dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if !referenced.contains(&name) {
            blob::remove_if_exists(&entry.path())?;
            r.stray_files_removed += 1;
        }
    }
    Ok(true)
}
