//! One-at-a-time verifies per upload (specs/spika.md §4: "Verifies for the same (principal,
//! `clientId`) run one at a time. A second verify waits, then answers step 3").
//!
//! The engine already serialises completions of one upload, but the dialect's records (the
//! verified marker) are written after the engine finished; holding this lock from the first
//! look until the records are committed makes a second verify, or a chunk that found the upload
//! gone, see the final state.
//!
//! Process-wide because `configure` runs once per server worker, and all workers must share the
//! locks. Keyed by the engine's random upload id, so servers sharing a process (tests) never
//! contend for each other's keys. Entries go away with their last holder.

use crate::engine::UploadId;
use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex, Weak};
use tokio::sync::OwnedMutexGuard;

type Slots = HashMap<UploadId, Weak<tokio::sync::Mutex<()>>>;

static LOCKS: LazyLock<Mutex<Slots>> = LazyLock::new(|| Mutex::new(HashMap::new()));

/// Waits for, and holds until dropped, the lock of upload `id`.
pub async fn lock(id: UploadId) -> OwnedMutexGuard<()> {
    let mutex = {
        let mut slots = LOCKS.lock().expect("spika lock table");
        slots.retain(|_, slot| slot.strong_count() > 0);
        match slots.get(&id).and_then(Weak::upgrade) {
            Some(mutex) => mutex,
            None => {
                let mutex = Arc::new(tokio::sync::Mutex::new(()));
                slots.insert(id, Arc::downgrade(&mutex));
                mutex
            }
        }
    };
    mutex.lock_owned().await
}
