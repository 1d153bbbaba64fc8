//! Streaming ingest: a request body is consumed in bounded buffers and written as it arrives.
//!
//! The async side reads the body and groups its pieces into blocks of about `BLOCK` bytes (tiny
//! pieces are coalesced, larger ones pass without a copy); each block goes,
//! by reference count, to a blocking writer thread and (when the data extends a running digest) to
//! the hashing threads. Channels are bounded, so memory per request is a few buffers whatever the
//! size of the chunk (DESIGN.md, data path step 1).

use std::fmt::Display;
use std::fs::File;
use std::io::Write;
use std::os::unix::fs::FileExt;

use bytes::{Bytes, BytesMut};
use futures_util::{Stream, StreamExt};
use tokio::sync::mpsc;

use std::sync::Arc;

use super::digest::{Block, DigestPipe, Fingerprint};
use super::error::Error;

/// Pieces are handed on in blocks of about this many bytes.
const BLOCK: usize = 1 << 20;
/// Pieces smaller than this are coalesced (copied) into one buffer; larger ones pass as they are.
const SMALL: usize = 16 * 1024;
/// Blocks that may wait for the writer.
const WRITE_DEPTH: usize = 4;
/// In strict mode, start write-back of every this many bytes while the body still streams, so
/// the final fdatasync only waits for the tail.
const WRITEBACK_EVERY: u64 = 4 << 20;

/// Receives the bytes of one body on a blocking thread.
pub(crate) trait BlockSink: Send + 'static {
    fn put(&mut self, buf: &Bytes) -> Result<(), Error>;
}

/// How a body ended.
#[derive(Debug)]
pub(crate) enum End {
    /// Every byte arrived and was accepted by the sink.
    Complete,
    /// The client's stream failed (disconnect, bad framing).
    Body(String),
    /// The body exceeded the limit.
    TooLarge(u64),
    /// The sink refused or failed.
    Sink(Error),
}

pub(crate) struct Pumped<W> {
    pub sink: W,
    /// Bytes the sink accepted.
    pub bytes: u64,
    pub end: End,
}

struct Counting<W> {
    sink: W,
    bytes: u64,
}

/// Streams `body` into `sink` (on a blocking thread) and, if given, into `pipe`.
pub(crate) async fn pump<S, E, W>(
    mut body: S,
    limit: Option<u64>,
    pipe: Option<&DigestPipe>,
    sink: W,
) -> Pumped<W>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: Display,
    W: BlockSink,
{
    let (tx, mut rx) = mpsc::channel::<Block>(WRITE_DEPTH);
    let writer = tokio::task::spawn_blocking(move || {
        let mut c = Counting { sink, bytes: 0 };
        while let Some(block) = rx.blocking_recv() {
            for piece in block.iter() {
                if let Err(e) = c.sink.put(piece) {
                    return (c, Some(e));
                }
                c.bytes += piece.len() as u64;
            }
        }
        (c, None)
    });

    let mut total: u64 = 0;
    let mut small = BytesMut::new();
    let mut block: Vec<Bytes> = Vec::new();
    let mut block_len = 0usize;
    let mut end = End::Complete;
    let mut open = true;
    loop {
        let item = body.next().await;
        let last = match item {
            Some(Ok(b)) => {
                total += b.len() as u64;
                if limit.is_some_and(|max| total > max) {
                    end = End::TooLarge(limit.unwrap_or_default());
                    break;
                }
                block_len += b.len();
                if b.len() < SMALL {
                    small.extend_from_slice(&b);
                    if small.len() >= SMALL {
                        block.push(small.split().freeze());
                    }
                } else {
                    if !small.is_empty() {
                        block.push(small.split().freeze());
                    }
                    block.push(b);
                }
                false
            }
            Some(Err(e)) => {
                // What did arrive is handed on: a front end may keep it (cut-off ranges).
                end = End::Body(e.to_string());
                true
            }
            None => true,
        };
        if last || block_len >= BLOCK {
            if !small.is_empty() {
                block.push(small.split().freeze());
            }
            if !block.is_empty() {
                let full: Block = Arc::new(std::mem::take(&mut block));
                block_len = 0;
                open = dispatch(&tx, pipe, full).await;
            }
        }
        if last || !open {
            break;
        }
    }
    drop(tx);
    let (c, sink_err) = match writer.await {
        Ok(r) => r,
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    };
    if let Some(e) = sink_err {
        end = End::Sink(e);
    }
    Pumped {
        sink: c.sink,
        bytes: c.bytes,
        end,
    }
}

/// The start of a body, read before deciding how to store it.
pub(crate) enum Head<S> {
    /// The whole body: it fit into one block (pieces as [`pump`] groups them).
    Whole(Vec<Bytes>),
    /// The first pieces (at least a block) and the rest of the stream.
    Partial(Vec<Bytes>, S),
    /// The body failed or exceeded the limit within its first block (nothing was kept).
    Failed(End),
}

/// Reads up to one block of `body`. A body that fits is then stored in one blocking call
/// (write, fingerprint, digest) instead of through a writer and hashing threads, which for small
/// chunks cost more in thread hand-offs than the work itself.
pub(crate) async fn head<S, E>(mut body: S, limit: Option<u64>) -> Head<S>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: Display,
{
    let mut total: u64 = 0;
    let mut small = BytesMut::new();
    let mut pieces: Vec<Bytes> = Vec::new();
    loop {
        match body.next().await {
            Some(Ok(b)) => {
                total += b.len() as u64;
                if limit.is_some_and(|max| total > max) {
                    return Head::Failed(End::TooLarge(limit.unwrap_or_default()));
                }
                if b.len() < SMALL {
                    small.extend_from_slice(&b);
                    if small.len() >= SMALL {
                        pieces.push(small.split().freeze());
                    }
                } else {
                    if !small.is_empty() {
                        pieces.push(small.split().freeze());
                    }
                    pieces.push(b);
                }
                if total >= BLOCK as u64 {
                    if !small.is_empty() {
                        pieces.push(small.split().freeze());
                    }
                    return Head::Partial(pieces, body);
                }
            }
            Some(Err(e)) => return Head::Failed(End::Body(e.to_string())),
            None => {
                if !small.is_empty() {
                    pieces.push(small.split().freeze());
                }
                return Head::Whole(pieces);
            }
        }
    }
}

/// Hands one block to the hashers and the writer; false when the writer has stopped.
async fn dispatch(tx: &mpsc::Sender<Block>, pipe: Option<&DigestPipe>, block: Block) -> bool {
    if let Some(p) = pipe {
        p.feed(&block).await;
    }
    tx.send(block).await.is_ok()
}

/// Writes sequentially at an offset of a file, fingerprinting what it writes.
pub(crate) struct FileSink {
    pub file: File,
    pub pos: u64,
    pub fp: Fingerprint,
    /// Whether `fp` is computed (in-order chunks skip it: see [`FileSink::unfingerprinted`]).
    fingerprint: bool,
    /// Early write-back (strict durability): bytes before this offset have been handed to the
    /// kernel for writing.
    writeback: Option<u64>,
}

impl FileSink {
    pub(crate) fn at(file: File, pos: u64, early_writeback: bool) -> Self {
        FileSink {
            file,
            pos,
            fp: Fingerprint::default(),
            fingerprint: true,
            writeback: early_writeback.then_some(pos),
        }
    }

    /// Leaves `fp` alone: a chunk appended to the data file is fingerprinted only if an
    /// identical re-send must be recognised, from its stored bytes (rare), not on every write.
    pub(crate) fn unfingerprinted(mut self) -> Self {
        self.fingerprint = false;
        self
    }
}

impl BlockSink for FileSink {
    fn put(&mut self, buf: &Bytes) -> Result<(), Error> {
        self.file.write_all_at(buf, self.pos)?;
        self.pos += buf.len() as u64;
        if self.fingerprint {
            self.fp.update(buf);
        }
        if let Some(from) = self.writeback {
            if self.pos - from >= WRITEBACK_EVERY {
                start_writeback(&self.file, from, self.pos - from);
                self.writeback = Some(self.pos);
            }
        }
        Ok(())
    }
}

/// Asks the kernel to start writing a range back now (no wait). A hint only: durability still
/// comes from the fdatasync before the chunk is acknowledged.
fn start_writeback(file: &File, offset: u64, len: u64) {
    use std::os::fd::AsRawFd;
    // SAFETY: plain syscall on a file descriptor we own; no memory is passed.
    unsafe {
        libc::sync_file_range(
            file.as_raw_fd(),
            offset as libc::off64_t,
            len as libc::off64_t,
            libc::SYNC_FILE_RANGE_WRITE,
        );
    }
}

/// Appends to a new file (batch files), fingerprinting nothing.
pub(crate) struct AppendSink(pub File);

impl BlockSink for AppendSink {
    fn put(&mut self, buf: &Bytes) -> Result<(), Error> {
        self.0.write_all(buf)?;
        Ok(())
    }
}
