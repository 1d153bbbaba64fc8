//! Operator views and actions over the whole store, whoever owns what: every file and upload,
//! deleting a file by id, and an explicit garbage collection. Front ends never use these (they
//! always scope by principal); the operator commands do.

use std::time::SystemTime;

use super::error::Error;
use super::types::{FileId, FileInfo, GcReport, UploadInfo};
use super::Engine;

impl Engine {
    /// Every file, expired or quarantined ones included, sorted by id.
    pub async fn all_files(&self) -> Result<Vec<FileInfo>, Error> {
        let mut files: Vec<FileInfo> = self
            .blocking(|i| i.meta.files())
            .await?
            .iter()
            .map(|f| f.info())
            .collect();
        files.sort_by_key(|f| f.id);
        Ok(files)
    }

    /// A file by id whatever its state (expired, quarantined), for operators.
    pub async fn any_file(&self, id: &FileId) -> Result<Option<FileInfo>, Error> {
        let id = *id;
        Ok(self
            .blocking(move |i| i.meta.file(&id))
            .await?
            .map(|f| f.info()))
    }

    /// The SHA-256s of blobs marked quarantined.
    pub async fn quarantined_blobs(&self) -> Result<Vec<String>, Error> {
        self.blocking(|i| {
            Ok(i.meta
                .blobs()?
                .into_iter()
                .filter(|(_, b)| b.quarantined_ms.is_some())
                .map(|(k, _)| k)
                .collect())
        })
        .await
    }

    /// Every upload in progress (any owner, expired ones included), sorted by id.
    pub async fn all_uploads(&self) -> Result<Vec<UploadInfo>, Error> {
        Ok(self.inventory().await?.uploads)
    }

    /// Deletes a file whoever owns it; its blob goes when nothing references it any more.
    pub async fn remove_file(&self, id: &FileId) -> Result<FileInfo, Error> {
        let id = *id;
        let removed = self
            .blocking(move |i| {
                let r = i.meta.remove_file(&id)?;
                i.meta.flush()?;
                if let Some((f, true)) = &r {
                    i.blob.remove_blob(&f.digests.sha256)?;
                }
                Ok(r)
            })
            .await?;
        removed.map(|(f, _)| f.info()).ok_or(Error::UnknownFile)
    }

    /// Now, rather than at the next sweep: removes uploads and files expired at `now`, then
    /// reconciles metadata with the disk (stray spool files, unreferenced blobs). Includes what
    /// reconciling on open already repaired.
    pub async fn collect_garbage(&self, now: SystemTime) -> Result<GcReport, Error> {
        let swept = self.sweep(now).await?;
        let again = self.reconcile().await?;
        let opened = std::mem::take(&mut *self.inner.opened.lock().expect("opened lock"));
        Ok(GcReport {
            expired_uploads: swept.uploads,
            expired_files: swept.files,
            orphan_blobs: swept.blobs + again.blobs_removed + opened.blobs_removed,
            stray_files: again.stray_files_removed + opened.stray_files_removed,
            dropped_uploads: again.uploads_dropped + opened.uploads_dropped,
            completions_finished: again.completions_finished + opened.completions_finished,
        })
    }
}
