//! The event journal: a durable, ordered log of what happened to uploads and files, written in
//! the same sled transaction as the change it describes (so a crash can neither lose an event nor
//! leave one for a change that did not happen), read by whoever follows it and trimmed once read.
//!
//! Positions are assigned in commit order (every writer reads and bumps one head key inside its
//! transaction, so two writers are serialised), so a reader that remembers the last position it
//! handled never misses a later event. Each upload also numbers its own events 1, 2, 3, ...
//! (`seq`), continued by the events of the files it produced.
//!
//! Also here: the completion gate, an outside check that may refuse a verified completion before
//! it is committed.

use std::sync::Arc;
use std::time::SystemTime;

use futures_util::future::BoxFuture;
use serde::{Deserialize, Serialize};
use sled::transaction::{ConflictableTransactionError, TransactionalTree};

use super::error::Error;
use super::meta::{decode, encode, now_ms, time_of, FileRec, UploadRec};
use super::types::*;
use super::Engine;

/// What an event reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum EventKind {
    /// An upload was opened.
    UploadCreated,
    /// An upload was verified and stored as a file (one event per file).
    UploadCompleted,
    /// A completion did not verify; the upload is kept and may be repaired.
    UploadFailed,
    /// An unfinished upload stayed idle past its TTL and was removed with its bytes.
    UploadExpired,
    /// A file was deleted (on request, or because it expired).
    FileDeleted,
}

impl EventKind {
    pub const ALL: [EventKind; 5] = [
        EventKind::UploadCreated,
        EventKind::UploadCompleted,
        EventKind::UploadFailed,
        EventKind::UploadExpired,
        EventKind::FileDeleted,
    ];

    /// The dotted name subscribers use (`upload.created`, ..., `file.deleted`).
    pub fn name(self) -> &'static str {
        match self {
            EventKind::UploadCreated => "upload.created",
            EventKind::UploadCompleted => "upload.completed",
            EventKind::UploadFailed => "upload.failed",
            EventKind::UploadExpired => "upload.expired",
            EventKind::FileDeleted => "file.deleted",
        }
    }
}

/// A file as an event describes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventFile {
    pub id: FileId,
    pub name: String,
    pub content_type: Option<String>,
    pub size: u64,
    pub digests: Digests,
    /// Legacy ids under which the file can be found: `(namespace, id)`.
    pub aliases: Vec<(String, String)>,
}

impl EventFile {
    pub(crate) fn of(f: &FileRec) -> Self {
        EventFile {
            id: f.id,
            name: f.name.clone(),
            content_type: f.content_type.clone(),
            size: f.size,
            digests: f.digests.clone(),
            aliases: f.aliases.clone(),
        }
    }
}

/// One journal entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// Unique id of the event (receivers de-duplicate on it: delivery is at least once).
    pub id: uuid::Uuid,
    /// 1, 2, 3, ... per upload, in the order the upload's changes were committed.
    pub seq: u64,
    pub kind: EventKind,
    pub upload: UploadId,
    pub owner: Principal,
    pub namespace: String,
    pub labels: Labels,
    /// The file completed or deleted.
    pub file: Option<EventFile>,
    /// Why a completion failed.
    pub mismatch: Option<Mismatch>,
    pub at: SystemTime,
}

/// The stored form of an [`Event`] (`events.v1`).
#[derive(Clone, Debug, Serialize, Deserialize)]
struct EventRec {
    v: u32,
    id: uuid::Uuid,
    seq: u64,
    kind: EventKind,
    upload: UploadId,
    owner: Principal,
    namespace: String,
    labels: Labels,
    file: Option<EventFile>,
    mismatch: Option<Mismatch>,
    at_ms: u64,
}

/// An event about to be written (its position and `seq` are assigned in the transaction).
#[derive(Clone, Debug)]
pub(crate) struct Draft {
    id: uuid::Uuid,
    kind: EventKind,
    upload: UploadId,
    owner: Principal,
    namespace: String,
    labels: Labels,
    file: Option<EventFile>,
    mismatch: Option<Mismatch>,
}

impl Draft {
    pub(crate) fn of_upload(kind: EventKind, rec: &UploadRec) -> Self {
        Draft {
            id: uuid::Uuid::new_v4(),
            kind,
            upload: rec.id,
            owner: rec.owner.clone(),
            namespace: rec.namespace.clone(),
            labels: rec.labels.clone(),
            file: None,
            mismatch: None,
        }
    }

    pub(crate) fn of_file(kind: EventKind, f: &FileRec) -> Self {
        Draft {
            id: uuid::Uuid::new_v4(),
            kind,
            upload: f.upload.unwrap_or(UploadId(uuid::Uuid::nil())),
            owner: f.owner.clone(),
            namespace: f.namespace.clone(),
            labels: f.labels.clone(),
            file: Some(EventFile::of(f)),
            mismatch: None,
        }
    }

    pub(crate) fn with_mismatch(mut self, m: &Mismatch) -> Self {
        self.mismatch = Some(m.clone());
        self
    }
}

/// Key of the journal head (the last position given out) in the `journal_seq.v1` tree; upload
/// sequence counters use the 16-byte upload id, so the two never collide.
const HEAD: &[u8] = b"head";

/// Writes `draft` inside a transaction over the journal (`events`) and its counters (`seqs`).
pub(crate) fn append(
    events: &TransactionalTree,
    seqs: &TransactionalTree,
    draft: &Draft,
) -> Result<(), ConflictableTransactionError<Error>> {
    let read = |key: &[u8]| -> Result<u64, ConflictableTransactionError<Error>> {
        Ok(seqs
            .get(key)?
            .and_then(|b| <[u8; 8]>::try_from(b.as_ref()).ok())
            .map(u64::from_be_bytes)
            .unwrap_or(0))
    };
    let pos = read(HEAD)? + 1;
    seqs.insert(HEAD, &pos.to_be_bytes())?;
    let seq = read(draft.upload.as_bytes())? + 1;
    seqs.insert(&draft.upload.as_bytes()[..], &seq.to_be_bytes())?;
    let rec = EventRec {
        v: 1,
        id: draft.id,
        seq,
        kind: draft.kind,
        upload: draft.upload,
        owner: draft.owner.clone(),
        namespace: draft.namespace.clone(),
        labels: draft.labels.clone(),
        file: draft.file.clone(),
        mismatch: draft.mismatch.clone(),
        at_ms: now_ms(),
    };
    events.insert(&pos.to_be_bytes(), encode(&rec))?;
    Ok(())
}

/// Forgets an upload's sequence counter (inside a transaction), once nothing can follow.
pub(crate) fn forget_seq(
    seqs: &TransactionalTree,
    upload: &UploadId,
) -> Result<(), ConflictableTransactionError<Error>> {
    seqs.remove(&upload.as_bytes()[..])?;
    Ok(())
}

fn event_of(rec: EventRec) -> Event {
    Event {
        id: rec.id,
        seq: rec.seq,
        kind: rec.kind,
        upload: rec.upload,
        owner: rec.owner,
        namespace: rec.namespace,
        labels: rec.labels,
        file: rec.file,
        mismatch: rec.mismatch,
        at: time_of(rec.at_ms),
    }
}

/// A completion about to be committed, as the completion gate sees it.
#[derive(Clone, Debug)]
pub struct Candidate {
    pub upload: UploadId,
    pub owner: Principal,
    pub namespace: String,
    pub labels: Labels,
    /// The files the completion would create (ids already assigned).
    pub files: Vec<EventFile>,
}

/// An outside check run before a verified completion is committed: `Err(reason)` refuses it
/// (the upload is left as it was, and the caller gets [`Error::Rejected`]).
pub type CompletionGate =
    Arc<dyn Fn(Candidate) -> BoxFuture<'static, Result<(), String>> + Send + Sync>;

impl Engine {
    /// Events after position `after` (0: from the start), oldest first, at most `limit`.
    pub async fn journal_after(
        &self,
        after: u64,
        limit: usize,
    ) -> Result<Vec<(u64, Event)>, Error> {
        self.blocking(move |i| {
            i.meta
                .journal_range(after, limit)?
                .into_iter()
                .map(|(pos, raw)| Ok((pos, event_of(decode(&raw)?))))
                .collect()
        })
        .await
    }

    /// Removes every event at or before position `upto` (every reader has handled them).
    pub async fn journal_trim(&self, upto: u64) -> Result<usize, Error> {
        self.blocking(move |i| i.meta.journal_trim(upto)).await
    }

    /// Number of events held in the journal.
    pub async fn journal_len(&self) -> Result<usize, Error> {
        self.blocking(|i| Ok(i.meta.journal_len())).await
    }

    /// Changes whenever an event is committed: readers wait on it instead of polling.
    pub fn journal_watch(&self) -> tokio::sync::watch::Receiver<u64> {
        self.inner.journal_tick.subscribe()
    }

    /// Installs the check every completion must pass after verification (replaces any other).
    pub fn set_completion_gate(&self, gate: CompletionGate) {
        *self.inner.gate.lock().expect("gate lock") = Some(gate);
    }

    /// Asks the completion gate, if any, about the files a completion would create.
    pub(crate) async fn ask_gate(&self, rec: &UploadRec, files: &[FileRec]) -> Result<(), Error> {
        let gate = self.inner.gate.lock().expect("gate lock").clone();
        let Some(gate) = gate else { return Ok(()) };
        let candidate = Candidate {
            upload: rec.id,
            owner: rec.owner.clone(),
            namespace: rec.namespace.clone(),
            labels: rec.labels.clone(),
            files: files.iter().map(EventFile::of).collect(),
        };
        gate(candidate).await.map_err(Error::Rejected)
    }
}

impl super::Inner {
    /// Wakes journal readers (call after a commit that appended events).
    pub(crate) fn journal_bump(&self) {
        self.journal_tick.send_modify(|n| *n = n.wrapping_add(1));
    }
}
