//! The records stored in the metadata trees, each with a version marker (`v`): uploads and
//! their chunk ledger, files, blob refcounts.

use serde::{Deserialize, Serialize};

use super::{ms_of, now_ms, time_of};
use crate::engine::types::*;

/// Version marker written into every record.
pub(crate) const RECORD_VERSION: u32 = 1;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct UploadRec {
    pub v: u32,
    pub id: UploadId,
    pub owner: Principal,
    pub namespace: String,
    pub layout: Layout,
    pub digests: DigestSet,
    pub ttl_ms: u64,
    pub created_ms: u64,
    pub updated_ms: u64,
    pub state: UploadRecState,
    /// Indexed: the next index to append to the data file; all before it are in the file.
    #[serde(default)]
    pub frontier: u64,
    /// Indexed: bytes in the data file that belong to chunks `0..frontier`.
    #[serde(default)]
    pub data_len: u64,
    /// Indexed: the lowest chunk inside the prefix that was replaced by different bytes (now
    /// parked); the next fold cuts the data file back to it.
    #[serde(default)]
    pub rewind_from: Option<u64>,
    /// Ranged: byte ranges held, sorted, disjoint, non-adjacent: `(start, end)`.
    #[serde(default)]
    pub held: Vec<(u64, u64)>,
    /// Batch: parts counted so far.
    #[serde(default)]
    pub parts_done: u32,
    /// Batch: files held, in order.
    #[serde(default)]
    pub files: Vec<BatchFileRec>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) enum UploadRecState {
    Open,
    Failed(Mismatch),
    /// Completion passed verification and is moving bytes into the content store; if the
    /// process dies here, start-up finishes the completion (see `reconcile`).
    Completing(Vec<PendingFile>),
}

/// A file a completion is about to create.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct PendingFile {
    pub file: FileRec,
    /// Spool path (relative to the data dir) of the bytes to move into the blob.
    pub source: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct BatchFileRec {
    pub name: String,
    pub size: u64,
    pub digests: Digests,
    /// File name inside the upload's spool dir.
    pub spool: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct ChunkRec {
    pub len: u64,
    /// xxh3-128 of the bytes: recognises an identical re-send.
    pub fp: String,
    pub loc: ChunkLoc,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum ChunkLoc {
    /// In the data file at this offset.
    Data { offset: u64 },
    /// In its own file inside the spool dir.
    Parked { file: String },
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct FileRec {
    pub v: u32,
    pub id: FileId,
    pub owner: Principal,
    pub namespace: String,
    pub name: String,
    pub content_type: Option<String>,
    pub size: u64,
    pub digests: Digests,
    pub aliases: Vec<(String, String)>,
    pub created_ms: u64,
    pub expires_ms: Option<u64>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct BlobRec {
    pub v: u32,
    pub size: u64,
    pub refs: u64,
    /// Set when verification found the bytes corrupt and moved them aside: files of this blob
    /// are no longer served (`verify`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quarantined_ms: Option<u64>,
}

impl FileRec {
    pub(crate) fn info(&self) -> FileInfo {
        FileInfo {
            id: self.id,
            owner: self.owner.clone(),
            namespace: self.namespace.clone(),
            name: self.name.clone(),
            content_type: self.content_type.clone(),
            size: self.size,
            digests: self.digests.clone(),
            aliases: self.aliases.clone(),
            created_at: time_of(self.created_ms),
            expires_at: self.expires_ms.map(time_of),
        }
    }

    pub(crate) fn new(
        owner: Principal,
        namespace: String,
        meta: NewFile,
        size: u64,
        digests: Digests,
    ) -> Self {
        FileRec {
            v: RECORD_VERSION,
            id: FileId::random(),
            owner,
            namespace,
            name: meta.name,
            content_type: meta.content_type,
            size,
            digests,
            aliases: meta.aliases,
            created_ms: now_ms(),
            expires_ms: meta.expires_at.map(ms_of),
        }
    }
}

impl UploadRec {
    pub(crate) fn new(new: &NewUpload, ttl: std::time::Duration) -> Self {
        let now = now_ms();
        UploadRec {
            v: RECORD_VERSION,
            id: UploadId::random(),
            owner: new.owner.clone(),
            namespace: new.namespace.clone(),
            layout: new.layout,
            digests: new.digests,
            ttl_ms: ttl.as_millis() as u64,
            created_ms: now,
            updated_ms: now,
            state: UploadRecState::Open,
            frontier: 0,
            data_len: 0,
            rewind_from: None,
            held: Vec::new(),
            parts_done: 0,
            files: Vec::new(),
        }
    }

    pub(crate) fn expires_ms(&self) -> u64 {
        self.updated_ms.saturating_add(self.ttl_ms)
    }

    /// Length of the gap-free prefix of a ranged upload.
    pub(crate) fn ranged_received(&self) -> u64 {
        match self.held.first() {
            Some((0, end)) => *end,
            _ => 0,
        }
    }
}
