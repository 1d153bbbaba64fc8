//! The engine's error type: domain failures a front end maps to its own legacy answers.

use super::types::{ChunkIndex, Layout};

/// Everything that can go wrong inside the engine. Expected outcomes (mismatch, missing chunk,
/// overlap conflict) are not errors; see [`super::Completion`] and [`super::RangeOutcome`].
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The upload does not exist, expired, or belongs to another principal.
    #[error("unknown upload")]
    UnknownUpload,
    /// The file does not exist, expired, or belongs to another principal.
    #[error("unknown file")]
    UnknownFile,
    /// The operation does not fit the upload's layout (e.g. a byte range into an indexed upload).
    #[error("operation does not fit layout {0:?}")]
    WrongLayout(Layout),
    /// A chunk index at or beyond the declared chunk count.
    #[error("chunk index {index} out of range (count {count})")]
    ChunkOutOfRange { index: ChunkIndex, count: u64 },
    /// A byte range that ends beyond the declared size.
    #[error("range {offset}+{len} beyond size {size}")]
    RangeOutOfBounds { offset: u64, len: u64, size: u64 },
    /// A body, chunk or upload is larger than the configured limit.
    #[error("more than {limit} bytes")]
    TooLarge { limit: u64 },
    /// A `Batch` upload already received all of its parts.
    #[error("all {parts} parts already received")]
    PartsExhausted { parts: u32 },
    /// The owner already holds `max_open_uploads_per_owner` unfinished uploads.
    #[error("at most {limit} open uploads per owner")]
    TooManyUploads { limit: u64 },
    /// Free space on the data volume is below `min_free_space`: new data is refused.
    #[error("insufficient storage: {available} bytes free, {required} required")]
    InsufficientStorage { available: u64, required: u64 },
    /// The client's body stream failed (disconnect, malformed framing).
    #[error("request body: {0}")]
    Body(String),
    /// A file name or path that cannot be stored.
    #[error("invalid name: {0}")]
    InvalidName(String),
    /// Disk I/O failed.
    #[error("storage I/O: {0}")]
    Io(#[from] std::io::Error),
    /// The metadata store failed.
    #[error("metadata store: {0}")]
    Meta(String),
    /// The completion gate refused a verified completion; the upload is as it was. The text is
    /// the gate's reason, meant for the client.
    #[error("completion rejected: {0}")]
    Rejected(String),
    /// Stored metadata could not be decoded (a bug or a corrupt store).
    #[error("corrupt metadata: {0}")]
    Corrupt(String),
}

impl From<sled::Error> for Error {
    fn from(e: sled::Error) -> Self {
        Error::Meta(e.to_string())
    }
}

impl From<sled::transaction::TransactionError<Error>> for Error {
    fn from(e: sled::transaction::TransactionError<Error>) -> Self {
        match e {
            sled::transaction::TransactionError::Abort(e) => e,
            sled::transaction::TransactionError::Storage(e) => e.into(),
        }
    }
}

impl Error {
    /// True for failures of the server rather than of the request (5xx material).
    pub fn is_internal(&self) -> bool {
        matches!(self, Error::Io(_) | Error::Meta(_) | Error::Corrupt(_))
    }
}

/// Why the store could not be opened. Separate from [`Error`]: these happen once, at start, and
/// never reach a front end's error mapping. Each renders as one line naming the data dir.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// Another process (a running server or another command) holds the store's lock.
    #[error(
        "the store in {} is in use by another process (is chunkgate serve running?)",
        .0.display()
    )]
    Locked(std::path::PathBuf),
    /// The data dir or the metadata cannot be read or written, or the metadata is corrupt.
    #[error("cannot open the store in {}: {reason}", path.display())]
    Unopenable {
        path: std::path::PathBuf,
        reason: String,
    },
    /// The store opened but reconciling it with the disk failed.
    #[error("cannot reconcile the store in {}: {source}", path.display())]
    Reconcile {
        path: std::path::PathBuf,
        source: Error,
    },
}
