//! The assembly check (specs/filesnest.md §6) and the per-file serialisation it needs.
//!
//! Work on one file is serialised by a per-file read/write lock: chunk requests hold it shared
//! (chunks of one file still stream in parallel), while the check, an update and a delete hold
//! it exclusively. The lock is fair, so a chunk that arrives while the check waits or runs
//! queues behind it and then sees the new state. A delete first raises the file's `deleted`
//! signal, so chunk bodies still streaming end at once (with 404 File) instead of holding the
//! delete up.
//!
//! The check is coalesced: every stored chunk (and every update that sets `checksum`) raises
//! `pending` while it still holds the lock, then spawns a check. A check clears `pending` under
//! the exclusive lock and does nothing if it was already clear, because an earlier check has
//! seen that chunk. So the last chunks arriving in parallel assemble the file once.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::{watch, RwLock};

use super::model::{now, FileRecord, FileStatus};
use super::store::{Store, NAMESPACE};
use super::Filesnest;
use crate::engine::{
    Completion, DigestKind, Engine, Error, Expectation, FileId, NewFile, Principal,
};

/// The serialisation state of one file.
pub struct Slot {
    /// Shared: a chunk request. Exclusive: the assembly check, an update, a delete.
    pub lock: RwLock<()>,
    /// Raised by a delete: chunk bodies in flight stop and answer 404 File.
    pub deleted: watch::Sender<bool>,
    /// A chunk was stored (or a checksum set) since the last check began.
    pending: AtomicBool,
}

/// The slots of files that someone is working on (an entry lives while it is in use).
#[derive(Clone, Default)]
pub struct FileLocks {
    slots: Arc<Mutex<HashMap<u64, Arc<Slot>>>>,
}

/// A handle on a file's slot; the last handle dropped removes the slot.
pub struct SlotRef {
    locks: FileLocks,
    id: u64,
    slot: Arc<Slot>,
}

impl FileLocks {
    pub fn slot(&self, id: u64) -> SlotRef {
        let mut slots = self.slots.lock().expect("file locks");
        let slot = slots
            .entry(id)
            .or_insert_with(|| {
                Arc::new(Slot {
                    lock: RwLock::new(()),
                    deleted: watch::channel(false).0,
                    pending: AtomicBool::new(false),
                })
            })
            .clone();
        SlotRef {
            locks: self.clone(),
            id,
            slot,
        }
    }

    /// How many files have a slot (tests check that slots do not leak).
    #[cfg(test)]
    fn len(&self) -> usize {
        self.slots.lock().expect("file locks").len()
    }
}

impl std::ops::Deref for SlotRef {
    type Target = Slot;
    fn deref(&self) -> &Slot {
        &self.slot
    }
}

impl Clone for SlotRef {
    fn clone(&self) -> Self {
        // Cloned under the map's lock, like `slot()`, so `Drop` counts handles reliably.
        let _slots = self.locks.slots.lock().expect("file locks");
        SlotRef {
            locks: self.locks.clone(),
            id: self.id,
            slot: self.slot.clone(),
        }
    }
}

impl Drop for SlotRef {
    fn drop(&mut self) {
        let mut slots = self.locks.slots.lock().expect("file locks");
        // The map's reference and ours: nobody else uses the slot any more.
        if Arc::strong_count(&self.slot) == 2 {
            slots.remove(&self.id);
        }
    }
}

impl SlotRef {
    /// Notes that the file changed in a way the check must look at. Call with the lock held.
    pub fn request_check(&self) {
        self.slot.pending.store(true, Ordering::SeqCst);
    }
}

/// Notes that `file_id` changed ([`SlotRef::request_check`]; call with its lock held) and runs
/// its assembly check in the background (the result never appears in the response that
/// triggered it; clients poll the file, spec §6).
pub fn start_check(state: &Filesnest, owner: Principal, file_id: u64, slot: &SlotRef) {
    slot.request_check();
    let (engine, store, slot) = (state.engine.clone(), state.store.clone(), slot.clone());
    actix_web::rt::spawn(async move {
        let _exclusive = slot.lock.write().await;
        if !slot.pending.swap(false, Ordering::SeqCst) || *slot.deleted.borrow() {
            return;
        }
        if let Err(error) = check(&engine, &store, &owner, file_id).await {
            tracing::error!(file_id, %error, "filesnest: assembly check could not record its result");
        }
    });
}

/// Assembles and verifies the file if it is ready: not completed, a checksum set, every upload
/// holding a chunk. Errors are those of recording the outcome.
pub async fn check(
    engine: &Engine,
    store: &Store,
    owner: &Principal,
    file_id: u64,
) -> Result<(), Error> {
    let Some(file) = store.file(owner, file_id).await? else {
        return Ok(());
    };
    let Some(checksum) = file.checksum.clone() else {
        return Ok(());
    };
    if file.status == FileStatus::Completed
        || store.uploads_done(owner, file_id).await? < file.chunks_count
    {
        return Ok(());
    }
    let expect = Expectation::default()
        .digest(DigestKind::Sha256, checksum)
        .chunk_count(file.chunks_count);
    let new_file = NewFile {
        name: file.name.clone(),
        content_type: None,
        expires_at: None,
        aliases: vec![(NAMESPACE.to_owned(), file.id.to_string())],
    };
    let outcome = engine.complete(owner, file.upload, expect, new_file).await;
    let (status, verified) = match outcome {
        Ok(Completion::Completed(f)) => (FileStatus::Completed, Some(f.id)),
        Ok(Completion::Mismatch(m)) => {
            tracing::info!(file_id, expected = %m.expected, actual = %m.actual, "filesnest: checksum mismatch");
            (FileStatus::FailedChecksum, None)
        }
        // Every upload holds a chunk, so the engine has them all; if not, wait for more chunks.
        Ok(Completion::MissingChunk(index)) => {
            tracing::warn!(file_id, index, "filesnest: a counted chunk is missing");
            return Ok(());
        }
        Ok(Completion::Incomplete { .. }) => return Ok(()),
        Err(e) => match merge_failure(engine, &file, e).await? {
            Some(recovered) => (FileStatus::Completed, Some(recovered)),
            None => (FileStatus::FailedChunksMerge, None),
        },
    };
    record(store, owner, &file, status, verified).await
}

/// Why `complete` failed. An upload that is already gone may have completed just before a
/// crash, with its record not yet updated: then the file is found by its alias.
async fn merge_failure(
    engine: &Engine,
    file: &FileRecord,
    e: Error,
) -> Result<Option<FileId>, Error> {
    match e {
        Error::UnknownUpload | Error::UnknownFile => {
            let found = engine
                .resolve_alias(NAMESPACE, &file.id.to_string())
                .await?;
            if found.is_none() {
                tracing::error!(file_id = file.id, "filesnest: the file's chunks are gone");
            }
            Ok(found)
        }
        // Storage failures keep the chunks (the engine rolls back): `failed:chunks-merge`.
        Error::InsufficientStorage { .. } | Error::Io(_) | Error::Meta(_) | Error::Corrupt(_) => {
            tracing::error!(file_id = file.id, error = %e, "filesnest: assembly failed");
            Ok(None)
        }
        // Not reachable for an indexed upload completed with its own chunk count; recorded as a
        // merge failure so the client sees the file did not assemble.
        Error::WrongLayout(_)
        | Error::ChunkOutOfRange { .. }
        | Error::RangeOutOfBounds { .. }
        | Error::TooLarge { .. }
        | Error::TooManyUploads { .. }
        | Error::PartsExhausted { .. }
        | Error::Body(_)
        | Error::InvalidName(_) => {
            tracing::error!(file_id = file.id, error = %e, "filesnest: assembly refused");
            Ok(None)
        }
        // A pre-complete hook refused the file: the spec's only failed status besides the
        // checksum one (§6), chunks kept; a new checksum or a re-sent chunk runs the check again.
        Error::Rejected(reason) => {
            tracing::info!(file_id = file.id, %reason, "filesnest: completion rejected by a hook");
            Ok(None)
        }
    }
}

/// Stores the check's outcome; a verified file loses its uploads.
async fn record(
    store: &Store,
    owner: &Principal,
    file: &FileRecord,
    status: FileStatus,
    verified: Option<FileId>,
) -> Result<(), Error> {
    let new = FileRecord {
        status,
        file: verified,
        updated_at: now(),
        ..file.clone()
    };
    let saved = if status == FileStatus::Completed {
        let uploads = store.uploads(owner, file.id).await?;
        store.finish(owner, file, &new, &uploads).await?
    } else {
        store.save(owner, file, &new).await?
    };
    if !saved {
        // Only possible if the record changed outside the file's lock: a bug worth a trace.
        tracing::error!(
            file_id = file.id,
            "filesnest: file record changed during its check"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slot_is_shared_while_in_use_and_dropped_with_its_last_handle() {
        // Arrange
        let locks = FileLocks::default();

        // Act
        let a = locks.slot(7);
        let b = locks.slot(7);
        let c = b.clone();
        let other = locks.slot(8);

        // Assert
        assert!(Arc::ptr_eq(&a.slot, &c.slot));
        assert_eq!(locks.len(), 2);
        drop((a, b, other));
        assert_eq!(locks.len(), 1);
        drop(c);
        assert_eq!(locks.len(), 0);
    }

    #[test]
    fn a_requested_check_is_taken_once() {
        let locks = FileLocks::default();
        let slot = locks.slot(1);
        slot.request_check();
        slot.request_check();
        assert!(slot.pending.swap(false, Ordering::SeqCst));
        assert!(!slot.pending.swap(false, Ordering::SeqCst));
    }
}
