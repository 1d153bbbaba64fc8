//! The bytes seam: where data lives on disk. Metadata never lives here, bytes never in `meta`.
//!
//! ```text
//! <data_dir>/spool/<upload id>/data          contiguous prefix of an upload (or a ranged file)
//! <data_dir>/spool/<upload id>/park-<i>-<n>  a chunk that arrived before its predecessors
//! <data_dir>/spool/<upload id>/file-<n>      a whole file of a batch part
//! <data_dir>/blobs/sha256/<2 hex>/<64 hex>   finished content, content-addressed, refcounted in meta
//! ```
//! Client-supplied names never become paths: spool names are engine ids and counters, blobs are
//! addressed by their SHA-256.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

use super::types::UploadId;

/// Size of the buffers used to read, copy and hash stored bytes.
pub(crate) const IO_BUF: usize = 1 << 20;

#[derive(Clone, Debug)]
pub(crate) struct BlobStore {
    root: PathBuf,
}

impl BlobStore {
    pub(crate) fn open(root: &Path) -> io::Result<Self> {
        fs::create_dir_all(root.join("spool"))?;
        fs::create_dir_all(root.join("blobs").join("sha256"))?;
        Ok(BlobStore {
            root: root.to_path_buf(),
        })
    }

    pub(crate) fn root(&self) -> &Path {
        &self.root
    }

    pub(crate) fn spool_root(&self) -> PathBuf {
        self.root.join("spool")
    }

    pub(crate) fn spool_dir(&self, id: &UploadId) -> PathBuf {
        self.root.join("spool").join(id.to_string())
    }

    pub(crate) fn data_path(&self, id: &UploadId) -> PathBuf {
        self.spool_dir(id).join("data")
    }

    /// A fresh, unique name inside the upload's spool dir (`prefix-<random>`).
    pub(crate) fn spool_file(&self, id: &UploadId, prefix: &str) -> PathBuf {
        let nonce: u64 = rand::random();
        self.spool_dir(id).join(format!("{prefix}-{nonce:016x}"))
    }

    pub(crate) fn blob_path(&self, sha256: &str) -> PathBuf {
        let shard = sha256.get(..2).unwrap_or("00");
        self.root
            .join("blobs")
            .join("sha256")
            .join(shard)
            .join(sha256)
    }

    /// Creates the upload's spool dir and, durably, its (empty or sparse) data file.
    pub(crate) fn create_spool(&self, id: &UploadId, data_len: Option<u64>) -> io::Result<()> {
        let dir = self.spool_dir(id);
        fs::create_dir_all(&dir)?;
        let f = File::create(dir.join("data"))?;
        if let Some(len) = data_len {
            f.set_len(len)?;
        }
        f.sync_all()?;
        sync_dir(&dir)?;
        sync_dir(&self.spool_root())
    }

    pub(crate) fn remove_spool(&self, id: &UploadId) -> io::Result<()> {
        match fs::remove_dir_all(self.spool_dir(id)) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            r => r,
        }
    }

    /// Moves a finished data file into the content store under its SHA-256. If identical content
    /// is already stored the new copy is dropped (it is byte-identical by its digest).
    /// Crash safety: rename is atomic; the shard dir is fsync'd so the new name survives a crash
    /// before the metadata that points at it is committed (DESIGN.md, durability).
    pub(crate) fn commit_blob(&self, from: &Path, sha256: &str) -> io::Result<()> {
        let to = self.blob_path(sha256);
        let dir = to.parent().expect("blob path has a parent");
        fs::create_dir_all(dir)?;
        if to.exists() {
            remove_if_exists(from)?;
            return Ok(());
        }
        fs::rename(from, &to)?;
        sync_dir(dir)?;
        if let Some(src_dir) = from.parent() {
            sync_dir(src_dir)?;
        }
        Ok(())
    }

    pub(crate) fn remove_blob(&self, sha256: &str) -> io::Result<()> {
        remove_if_exists(&self.blob_path(sha256))
    }

    /// Every stored blob as `(sha256, path)`.
    pub(crate) fn list_blobs(&self) -> io::Result<Vec<(String, PathBuf)>> {
        let mut out = Vec::new();
        let base = self.root.join("blobs").join("sha256");
        for shard in read_dir_or_empty(&base)? {
            let shard = shard?;
            if !shard.file_type()?.is_dir() {
                continue;
            }
            for entry in fs::read_dir(shard.path())? {
                let entry = entry?;
                if let Some(name) = entry.file_name().to_str() {
                    out.push((name.to_string(), entry.path()));
                }
            }
        }
        Ok(out)
    }

    /// Every spool dir as `(upload id, path)`; names that are not upload ids come back as `None`.
    pub(crate) fn list_spools(&self) -> io::Result<Vec<(Option<UploadId>, PathBuf)>> {
        let mut out = Vec::new();
        for entry in read_dir_or_empty(&self.spool_root())? {
            let entry = entry?;
            let id = entry.file_name().to_str().and_then(|s| s.parse().ok());
            out.push((id, entry.path()));
        }
        Ok(out)
    }

    /// Free bytes on the data volume.
    pub(crate) fn available_space(&self) -> io::Result<u64> {
        fs4::available_space(&self.root)
    }

    /// Proves the store is writable: create, sync and remove a probe file.
    pub(crate) fn probe_writable(&self) -> io::Result<()> {
        let p = self.root.join(".probe");
        let f = OpenOptions::new()
            .create(true)
            .truncate(true)
            .write(true)
            .open(&p)?;
        f.sync_all()?;
        fs::remove_file(&p)
    }
}

fn read_dir_or_empty(p: &Path) -> io::Result<Box<dyn Iterator<Item = io::Result<fs::DirEntry>>>> {
    match fs::read_dir(p) {
        Ok(rd) => Ok(Box::new(rd)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Box::new(std::iter::empty())),
        Err(e) => Err(e),
    }
}

/// fsync a directory so that renames and creations inside it are durable.
pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

pub(crate) fn remove_if_exists(p: &Path) -> io::Result<()> {
    match fs::remove_file(p) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        r => r,
    }
}

/// Removes a spool file when dropped unless `keep` was called: no leftovers on error paths.
pub(crate) struct TempGuard(Option<PathBuf>);

impl TempGuard {
    pub(crate) fn new(p: PathBuf) -> Self {
        TempGuard(Some(p))
    }
    pub(crate) fn keep(mut self) -> PathBuf {
        self.0.take().expect("guard holds a path until kept")
    }
}

impl Drop for TempGuard {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            let _ = fs::remove_file(p);
        }
    }
}
