//! One-at-a-time completes per task (specs/dyson.md §6: "Completes of one task are
//! serialized: the loser of a race waits and then gets 404").
//!
//! The engine already serialises completions of one upload, but the task record is replaced by
//! the file record after the engine finished; holding this lock from the task lookup until the
//! records are committed makes a second complete see the final state, and lets a complete that
//! finds the upload gone tell a finished completion (task record gone: 404) from one a restart
//! interrupted (task record still there: recovered).
//!
//! Process-wide because `configure` runs once per server worker, and all workers must share the
//! locks. Keyed by the engine's random upload id. Entries go away with their last holder.

use crate::engine::UploadId;
use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex, Weak};
use tokio::sync::OwnedMutexGuard;

type Slots = HashMap<UploadId, Weak<tokio::sync::Mutex<()>>>;

static LOCKS: LazyLock<Mutex<Slots>> = LazyLock::new(|| Mutex::new(HashMap::new()));

/// Waits for, and holds until dropped, the lock of upload `id`.
pub async fn lock(id: UploadId) -> OwnedMutexGuard<()> {
    let mutex = {
        let mut slots = LOCKS.lock().expect("dyson lock table");
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
