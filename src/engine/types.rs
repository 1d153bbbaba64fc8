//! Public value types of the engine facade: ids, layouts, expectations, outcomes.
//!
//! These are the engine's own words (DESIGN.md "The engine's words"); no web or front-end
//! vocabulary appears here.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::time::SystemTime;

/// Who owns an upload or a file. Every lookup is scoped by it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Principal(pub String);

impl Principal {
    pub fn new(name: impl Into<String>) -> Self {
        Principal(name.into())
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

macro_rules! uuid_id {
    ($(#[$m:meta])* $name:ident) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub struct $name(pub uuid::Uuid);

        impl $name {
            pub(crate) fn random() -> Self {
                $name(uuid::Uuid::new_v4())
            }
            pub(crate) fn as_bytes(&self) -> &[u8; 16] {
                self.0.as_bytes()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0.simple())
            }
        }

        impl std::str::FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                uuid::Uuid::parse_str(s).map($name)
            }
        }
    };
}

uuid_id!(
    /// Identifies an upload session (engine-internal; dialects map their legacy ids to it).
    UploadId
);
uuid_id!(
    /// Identifies a finished, verified file.
    FileId
);

/// Index of a chunk in an `Indexed` upload (0-based; dialects translate 1-based numbers).
pub type ChunkIndex = u64;

/// How an upload receives its data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Layout {
    /// Chunks addressed by index, sizes unknown in advance; `count` known or not.
    Indexed { count: Option<u64> },
    /// Byte ranges at offsets into a file of known `size`.
    Ranged { size: u64 },
    /// `parts` requests, each carrying whole files.
    Batch { parts: u32 },
}

/// A digest algorithm the engine can compute while bytes stream in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum DigestKind {
    Sha256,
    Sha1,
    Md5,
}

impl DigestKind {
    pub const ALL: [DigestKind; 3] = [DigestKind::Sha256, DigestKind::Sha1, DigestKind::Md5];

    /// Length of the hex form.
    pub fn hex_len(self) -> usize {
        match self {
            DigestKind::Sha256 => 64,
            DigestKind::Sha1 => 40,
            DigestKind::Md5 => 32,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            DigestKind::Sha256 => "sha256",
            DigestKind::Sha1 => "sha1",
            DigestKind::Md5 => "md5",
        }
    }
}

/// Which digests an upload computes. SHA-256 is always computed (content address, ETag).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DigestSet {
    pub sha1: bool,
    pub md5: bool,
}

impl DigestSet {
    /// SHA-256 only.
    pub const SHA256: DigestSet = DigestSet {
        sha1: false,
        md5: false,
    };
    /// SHA-256, SHA-1 and MD5.
    pub const ALL: DigestSet = DigestSet {
        sha1: true,
        md5: true,
    };

    pub fn with(mut self, kind: DigestKind) -> Self {
        match kind {
            DigestKind::Sha256 => {}
            DigestKind::Sha1 => self.sha1 = true,
            DigestKind::Md5 => self.md5 = true,
        }
        self
    }

    pub fn contains(&self, kind: DigestKind) -> bool {
        match kind {
            DigestKind::Sha256 => true,
            DigestKind::Sha1 => self.sha1,
            DigestKind::Md5 => self.md5,
        }
    }
}

/// Finished digests of some content, lowercase hex.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Digests {
    pub sha256: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha1: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub md5: Option<String>,
}

impl Digests {
    pub fn get(&self, kind: DigestKind) -> Option<&str> {
        match kind {
            DigestKind::Sha256 => Some(&self.sha256),
            DigestKind::Sha1 => self.sha1.as_deref(),
            DigestKind::Md5 => self.md5.as_deref(),
        }
    }
}

/// What completion must verify. Every field is optional; digests compare ignoring hex case.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Expectation {
    /// Declared digests as the client sent them (compared case-insensitively).
    pub digests: Vec<(DigestKind, String)>,
    /// Declared total size in bytes.
    pub size: Option<u64>,
    /// Number of chunks the file consists of (`Indexed`): chunks `0..count` are assembled,
    /// later indexes are ignored. Falls back to the layout's count.
    pub chunk_count: Option<u64>,
}

impl Expectation {
    pub fn digest(mut self, kind: DigestKind, hex: impl Into<String>) -> Self {
        self.digests.push((kind, hex.into()));
        self
    }
    pub fn chunk_count(mut self, count: u64) -> Self {
        self.chunk_count = Some(count);
        self
    }
    pub fn size(mut self, size: u64) -> Self {
        self.size = Some(size);
        self
    }
}

/// Everything needed to open an upload.
#[derive(Clone, Debug)]
pub struct NewUpload {
    pub owner: Principal,
    /// Opaque name of the front end that owns the upload (recorded on the file; e.g. for aliases).
    pub namespace: String,
    pub layout: Layout,
    pub digests: DigestSet,
    /// How long the upload may stay idle before the sweeper removes it (default: `upload_ttl`).
    pub ttl: Option<std::time::Duration>,
    /// Opaque key/value strings of the front end (e.g. its own ids for the upload), kept on the
    /// upload and its files and copied into every journal event about them.
    pub labels: Labels,
}

/// Opaque key/value strings a front end attaches to an upload (sorted by key).
pub type Labels = std::collections::BTreeMap<String, String>;

/// Metadata recorded on the file created by completion.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct NewFile {
    pub name: String,
    pub content_type: Option<String>,
    /// When the sweeper deletes the file (None: kept).
    pub expires_at: Option<SystemTime>,
    /// Legacy ids under which the file can be found: `(namespace, id)`.
    pub aliases: Vec<(String, String)>,
}

/// State of an upload as seen by a front end.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum UploadState {
    /// Receiving data.
    Open,
    /// The last completion failed verification; chunks are kept and the upload still accepts data.
    Failed(Mismatch),
}

/// A snapshot of an upload.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadInfo {
    pub id: UploadId,
    pub owner: Principal,
    pub namespace: String,
    pub layout: Layout,
    pub state: UploadState,
    /// Indexed: indexes of stored chunks, ascending.
    pub chunks: Vec<ChunkIndex>,
    /// Ranged: length of the gap-free prefix from offset 0. Indexed: bytes in stored chunks.
    /// Batch: bytes in committed files.
    pub received: u64,
    /// Batch: requests counted so far.
    pub parts_done: u32,
    /// Batch: files held so far, in order.
    pub batch_files: Vec<BatchFileInfo>,
    pub created_at: SystemTime,
    pub updated_at: SystemTime,
    pub expires_at: SystemTime,
    /// As given in [`NewUpload::labels`].
    pub labels: Labels,
}

/// One file held by a `Batch` upload.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchFileInfo {
    pub name: String,
    pub size: u64,
    pub sha256: String,
}

/// A finished, verified file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileInfo {
    pub id: FileId,
    pub owner: Principal,
    pub namespace: String,
    pub name: String,
    pub content_type: Option<String>,
    pub size: u64,
    pub digests: Digests,
    pub aliases: Vec<(String, String)>,
    pub created_at: SystemTime,
    pub expires_at: Option<SystemTime>,
    /// The labels of the upload the file came from.
    pub labels: Labels,
}

/// Why a completion did not verify.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mismatch {
    /// `None` when the size differed.
    pub digest: Option<DigestKind>,
    /// As declared.
    pub expected: String,
    /// As computed (lowercase hex, or a decimal size).
    pub actual: String,
}

/// Result of a completion: expected outcomes are values, not errors.
// `Completed` is the common outcome and is consumed at once by the front end; boxing it would
// only add an allocation per completion.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Completion {
    /// Verified and stored; the upload is gone.
    Completed(FileInfo),
    /// Chunk `index` (the lowest missing one) is not there; nothing changed.
    MissingChunk(ChunkIndex),
    /// Ranged upload not fully received yet (`received` of `size`); nothing changed.
    Incomplete { received: u64, size: u64 },
    /// Verification failed: the upload is marked failed and keeps its chunks.
    Mismatch(Mismatch),
}

/// Result of storing a byte range.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RangeOutcome {
    /// Stored (or identical to what was held). `received` is the new gap-free prefix.
    Stored { received: u64, complete: bool },
    /// Bytes differed from ones already held at `offset`; the upload is as before the request.
    Conflict { offset: u64 },
}

/// Result of comparing bytes with stored content.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Comparison {
    Identical,
    Differs {
        offset: u64,
    },
    /// The bytes run past the end of the content.
    OutOfBounds,
}

/// A listing of everything stored, for tests and operators (sorted, deterministic).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Inventory {
    pub uploads: Vec<UploadInfo>,
    pub files: Vec<FileInfo>,
    /// `(namespace, key, value)` of every front-end record.
    pub records: Vec<(String, String, Vec<u8>)>,
    pub blobs: Vec<(String, u64)>,
}

/// What a sweep removed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SweepReport {
    pub uploads: usize,
    pub files: usize,
    pub blobs: usize,
}

/// Upload durability (see docs/configuration.md).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Durability {
    /// Bytes fdatasync'd and metadata flushed before a chunk is acknowledged.
    #[default]
    Strict,
    /// Acknowledged after the write; flushed in the background.
    Relaxed,
}

/// What an explicit garbage collection removed: expired uploads and files (as the sweeper
/// would), plus what reconciling with the disk repaired (stray spool files, blobs no file
/// references, interrupted completions).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct GcReport {
    pub expired_uploads: usize,
    pub expired_files: usize,
    pub orphan_blobs: usize,
    pub stray_files: usize,
    pub dropped_uploads: usize,
    pub completions_finished: usize,
}

/// What is wrong with a stored blob.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BlobFault {
    /// The bytes are not on disk.
    Missing,
    /// The bytes hash to something else (`actual` SHA-256) or have another length.
    Corrupt {
        actual_sha256: String,
        actual_size: u64,
    },
}

/// One blob that failed verification.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BlobProblem {
    pub sha256: String,
    pub size: u64,
    pub fault: BlobFault,
    /// Files whose content this is.
    pub files: Vec<FileId>,
    /// Where the bytes were moved, when quarantined now (None: not moved, e.g. missing).
    pub moved_to: Option<std::path::PathBuf>,
    /// Whether the blob is now marked quarantined (its files are no longer served).
    pub quarantined: bool,
}

/// Result of re-hashing every blob.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    /// Blobs re-hashed.
    pub checked: usize,
    /// Bytes read.
    pub bytes: u64,
    /// Blobs quarantined by an earlier run (not re-hashed).
    pub already_quarantined: usize,
    pub problems: Vec<BlobProblem>,
}

/// Totals of the stored content (for progress bars).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct BlobTotals {
    pub blobs: usize,
    pub bytes: u64,
}

/// What an export wrote or an import restored.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupReport {
    /// Metadata entries per versioned tree.
    pub entries: std::collections::BTreeMap<String, u64>,
    pub blobs: usize,
    pub blob_bytes: u64,
    /// Files of uploads in progress.
    pub spool_files: usize,
}
