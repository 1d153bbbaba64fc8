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
/// Buffers that may wait for the writer.
const WRITE_DEPTH: usize = 8;

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
                if acc.is_empty() && b.len() >= BUF {
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
}

impl FileSink {
    pub(crate) fn at(file: File, pos: u64) -> Self {
        FileSink {
            file,
            pos,
            fp: Fingerprint::default(),
        }
    }
}

impl BlockSink for FileSink {
    fn put(&mut self, buf: &Bytes) -> Result<(), Error> {
        self.file.write_all_at(buf, self.pos)?;
        self.pos += buf.len() as u64;
        self.fp.update(buf);
        Ok(())
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
