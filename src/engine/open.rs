//! Opening the store: the data dir, the bytes seam and the metadata seam, with every failure
//! turned into one clear line ([`OpenError`]) instead of a raw sled message or a panic.
//!
//! sled takes an exclusive `flock` on `meta/db` and answers a held lock with an I/O error whose
//! text is its own; a corrupt file can make it panic while recovering. So: a panic is caught, and
//! any failure is classified by probing the lock ourselves (a held lock is [`OpenError::Locked`],
//! whatever sled said) and by the I/O error kind (permission denied, not a directory, …).

use std::io;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use fs4::fs_std::FileExt;

use super::blob::BlobStore;
use super::error::OpenError;
use super::meta::Meta;

/// Opens (creating if needed) the data dir, its blob store and its metadata store.
pub(crate) fn open_store(dir: &Path) -> Result<(Meta, BlobStore), OpenError> {
    let unopenable = |what: &str, e: io::Error| OpenError::Unopenable {
        path: dir.to_owned(),
        reason: format!("{what}: {}", describe_io(&e)),
    };
    std::fs::create_dir_all(dir).map_err(|e| unopenable("cannot create the data dir", e))?;
    let blob = BlobStore::open(dir).map_err(|e| unopenable("cannot create spool/ or blobs/", e))?;
    let meta_dir = dir.join("meta");
    // Probe first, so a held lock is reported as such even if sled would fail differently.
    if is_locked(&meta_dir) {
        return Err(OpenError::Locked(dir.to_owned()));
    }
    let opened = catch_unwind(AssertUnwindSafe(|| Meta::open(&meta_dir)));
    match opened {
        Ok(Ok(meta)) => Ok((meta, blob)),
        // Another process may have taken the lock between the probe and sled's open.
        _ if is_locked(&meta_dir) => Err(OpenError::Locked(dir.to_owned())),
        Ok(Err(e)) => Err(OpenError::Unopenable {
            path: dir.to_owned(),
            reason: classify(&meta_dir, &e.to_string()),
        }),
        Err(panic) => {
            let msg = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "unknown failure".into());
            Err(OpenError::Unopenable {
                path: dir.to_owned(),
                reason: format!("the metadata in {} is corrupt ({msg})", meta_dir.display()),
            })
        }
    }
}

/// True when another process holds the exclusive lock sled takes on `meta/db`.
fn is_locked(meta_dir: &Path) -> bool {
    let db = meta_dir.join("db");
    let Ok(file) = std::fs::OpenOptions::new().read(true).write(true).open(&db) else {
        return false;
    };
    // flock locks belong to the open file description: ours is released when `file` drops,
    // before sled opens its own.
    match file.try_lock_exclusive() {
        Ok(true) => {
            let _ = FileExt::unlock(&file);
            false
        }
        Ok(false) => true,
        Err(e) => e.kind() == io::ErrorKind::WouldBlock,
    }
}

/// A one-line reason for a failed metadata open.
fn classify(meta_dir: &Path, sled_message: &str) -> String {
    let lower = sled_message.to_lowercase();
    let path = PathBuf::from(meta_dir);
    if lower.contains("permission denied") {
        format!("permission denied on {}", path.display())
    } else if lower.contains("not a directory") || lower.contains("file exists") {
        format!("{} is not a metadata directory", path.display())
    } else if lower.contains("corrupt") || lower.contains("unsupported") {
        format!("the metadata in {} is corrupt", path.display())
    } else {
        format!(
            "the metadata in {} cannot be read ({})",
            path.display(),
            sled_message.lines().next().unwrap_or("")
        )
    }
}

fn describe_io(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}
