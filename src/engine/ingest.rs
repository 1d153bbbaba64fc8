//! Streaming ingest: a request body is consumed in bounded buffers and written as it arrives.
//!
//! The async side reads the body and coalesces it into buffers of `BUF` bytes; each buffer goes,
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

use super::digest::{DigestPipe, Fingerprint};
use super::error::Error;

/// Target size of the buffers handed to the writer and the hashers.
const BUF: usize = 256 * 1024;
/// Pieces at least this large are handed on as they are (no coalescing copy).
const PASS_THROUGH: usize = 16 * 1024;
/// Buffers that may wait for the writer.
const WRITE_DEPTH: usize = 32;
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
    let (tx, mut rx) = mpsc::channel::<Bytes>(WRITE_DEPTH);
    let writer = tokio::task::spawn_blocking(move || {
        let mut c = Counting { sink, bytes: 0 };
        while let Some(buf) = rx.blocking_recv() {
            if let Err(e) = c.sink.put(&buf) {
                return (c, Some(e));
            }
            c.bytes += buf.len() as u64;
        }
        (c, None)
    });

    let mut total: u64 = 0;
    let mut acc = BytesMut::new();
    let mut end = End::Complete;
    loop {
        let item = body.next().await;
        let flush = match &item {
            Some(Ok(b)) => {
                total += b.len() as u64;
                if let Some(max) = limit {
                    if total > max {
                        end = End::TooLarge(max);
                        break;
                    }
                }
                if acc.is_empty() && b.len() >= PASS_THROUGH {
                    // Large pieces pass through without a copy.
                    if !dispatch(&tx, pipe, b.clone()).await {
                        break;
                    }
                    continue;
                }
                acc.extend_from_slice(b);
                acc.len() >= BUF
            }
            Some(Err(e)) => {
                // What did arrive is handed on: a front end may keep it (cut-off ranges).
                if !acc.is_empty() {
                    dispatch(&tx, pipe, acc.split().freeze()).await;
                }
                end = End::Body(e.to_string());
                break;
            }
            None => true,
        };
        if flush && !acc.is_empty() && !dispatch(&tx, pipe, acc.split().freeze()).await {
            break;
        }
        if item.is_none() {
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

/// Hands one buffer to the hashers and the writer; false when the writer has stopped.
async fn dispatch(tx: &mpsc::Sender<Bytes>, pipe: Option<&DigestPipe>, buf: Bytes) -> bool {
    if let Some(p) = pipe {
        p.feed(&buf).await;
    }
    tx.send(buf).await.is_ok()
}

/// Writes sequentially at an offset of a file, fingerprinting what it writes.
pub(crate) struct FileSink {
    pub file: File,
    pub pos: u64,
    pub fp: Fingerprint,
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
            writeback: early_writeback.then_some(pos),
        }
    }
}

impl BlockSink for FileSink {
    fn put(&mut self, buf: &Bytes) -> Result<(), Error> {
        self.file.write_all_at(buf, self.pos)?;
        self.pos += buf.len() as u64;
        self.fp.update(buf);
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
