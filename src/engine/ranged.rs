//! `Ranged` uploads: byte ranges at offsets into a file of known size.
//!
//! The data file is created sparse at its full size and ranges are written in place. The upload
//! remembers which ranges it holds; `received` is the gap-free prefix. Where a range covers bytes
//! already held they are compared, never rewritten: the first difference is a conflict and the
//! request then leaves the upload exactly as it was. Requests for one upload run one at a time.

use std::fmt::Display;
use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::PathBuf;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};

use super::digest::{hash_file_range, DigestPipe, DigestState};
use super::error::Error;
use super::ingest::{pump, BlockSink, End};
use super::meta::{now_ms, UploadRecState};
use super::types::*;
use super::{stats, Engine};

/// What to do with the bytes of a body that is cut off mid-stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CutOff {
    /// Keep (and count) the bytes that did arrive.
    Keep,
    /// Keep nothing of the request.
    Discard,
}

impl Engine {
    /// Stores the bytes of `body` at `offset` of a `Ranged` upload.
    ///
    /// Returns [`RangeOutcome::Conflict`] when held bytes differ (nothing changed). A body that
    /// fails mid-stream is [`Error::Body`]; with [`CutOff::Keep`] the bytes before the failure
    /// stay and count. Bytes beyond the size are [`Error::RangeOutOfBounds`] (nothing changed).
    pub async fn put_range<S, E>(
        &self,
        owner: &Principal,
        id: UploadId,
        offset: u64,
        body: S,
        cut_off: CutOff,
    ) -> Result<RangeOutcome, Error>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin + Send,
        E: Display,
    {
        let rec = self.owned_upload(owner, id).await?;
        let Layout::Ranged { size } = rec.layout else {
            return Err(Error::WrongLayout(rec.layout));
        };
        if offset > size {
            return Err(Error::RangeOutOfBounds {
                offset,
                len: 0,
                size,
            });
        }
        self.guard_space(0).await?;
        let cell = self.cell(&id);
        let mut data = cell.data.lock().await;
        let rec = self.owned_upload(owner, id).await?;
        let received = rec.ranged_received();
        let path = self.inner.blob.data_path(&id);
        let file = {
            let path = path.clone();
            self.blocking(move |_| Ok(OpenOptions::new().read(true).write(true).open(path)?))
                .await?
        };
        // Pipelined digest when this request continues exactly where the hashed prefix ends
        // (possibly still hashing the previous request: this one's hashing queues behind it).
        let continuing = offset == received
            && match (&data.hashing, &data.running) {
                (Some((len, _)), _) | (None, Some((len, _))) => *len == offset,
                (None, None) => offset == 0,
            };
        let pipe = if continuing {
            Some(
                data.continue_at(offset)
                    .unwrap_or_else(|| DigestPipe::start(DigestState::new(rec.digests))),
            )
        } else {
            data.settle().await;
            None
        };
        let sink = RangeSink {
            file,
            size,
            pos: offset,
            held: rec.held.clone(),
            conflict: None,
        };
        let pumped = pump(body, None, pipe.as_ref(), sink).await;
        let sink = pumped.sink;
        let (failure, early) = match (pumped.end, sink.conflict) {
            (End::Sink(e), _) => (None, Some(Err(e))),
            (_, Some(at)) => (None, Some(Ok(RangeOutcome::Conflict { offset: at }))),
            (End::Complete, None) => (None, None),
            (End::Body(e), None) if cut_off == CutOff::Keep => (Some(Error::Body(e)), None),
            (End::Body(e), None) => (None, Some(Err(Error::Body(e)))),
            (End::TooLarge(l), None) => (None, Some(Err(Error::TooLarge { limit: l }))),
        };
        if let Some(result) = early {
            // Nothing of this request stays: the running digest goes back to its start.
            if let Some(p) = pipe {
                data.running = p.finish_both().await.ok().map(|(start, _)| (offset, start));
            }
            return result;
        }
        let written = pumped.bytes;
        stats::received(&rec.namespace, written);
        let file = sink.file;
        let strict = self.strict();
        self.blocking(move |_| {
            if strict {
                file.sync_data()?;
            }
            Ok(())
        })
        .await?;
        let _meta = cell.meta.lock().await;
        let mut rec = self.owned_upload(owner, id).await?;
        insert_range(&mut rec.held, offset, offset + written);
        rec.updated_ms = now_ms();
        if matches!(rec.state, UploadRecState::Failed(_)) {
            rec.state = UploadRecState::Open;
        }
        self.commit(&rec, vec![]).await?;
        let new_received = rec.ranged_received();
        let pipe = match pipe {
            // The common case: the prefix ends where this request ends. The answer does not
            // wait for the hashing threads; the next request continues from them.
            Some(p) if offset + written == new_received => {
                data.hashing = Some((new_received, p.close()));
                if let Some(e) = failure {
                    return Err(e);
                }
                return Ok(RangeOutcome::Stored {
                    received: new_received,
                    complete: new_received == size,
                });
            }
            other => other,
        };
        let hashed = match pipe {
            Some(p) => Some(p.finish().await?),
            None => None,
        };
        // Bring the running digest up to the new prefix (reads only bytes not streamed through it).
        let mut running = match (hashed, data.running.take()) {
            (Some(h), _) => Some((offset + written, h)),
            (None, r) => r,
        };
        if let Some((len, s)) = running.take() {
            if len < new_received {
                let s = hash_file_range(path.clone(), s, len, new_received).await?;
                running = Some((new_received, s));
            } else {
                running = Some((len, s));
            }
        } else if new_received > 0 {
            let s = hash_file_range(path, DigestState::new(rec.digests), 0, new_received).await?;
            running = Some((new_received, s));
        }
        data.running = running;
        if let Some(e) = failure {
            return Err(e);
        }
        Ok(RangeOutcome::Stored {
            received: new_received,
            complete: new_received == size,
        })
    }
}

/// Writes into unheld parts of the file and compares held parts.
struct RangeSink {
    file: File,
    size: u64,
    pos: u64,
    held: Vec<(u64, u64)>,
    conflict: Option<u64>,
}

impl BlockSink for RangeSink {
    fn put(&mut self, buf: &Bytes) -> Result<(), Error> {
        let start = self.pos;
        let end = start + buf.len() as u64;
        if end > self.size {
            return Err(Error::RangeOutOfBounds {
                offset: start,
                len: buf.len() as u64,
                size: self.size,
            });
        }
        self.pos = end;
        if self.conflict.is_some() {
            // After a conflict nothing is written; the rest is read only to check its bounds.
            return Ok(());
        }
        let mut at = start;
        while at < end {
            // Find the held interval containing `at`, or the next one after it.
            let held = self.held.iter().find(|(_, e)| *e > at).copied();
            let (piece_end, is_held) = match held {
                Some((s, e)) if s <= at => (e.min(end), true),
                Some((s, _)) => (s.min(end), false),
                None => (end, false),
            };
            let slice = &buf[(at - start) as usize..(piece_end - start) as usize];
            if is_held {
                let mut existing = vec![0u8; slice.len()];
                self.file.read_exact_at(&mut existing, at)?;
                if let Some(i) = existing.iter().zip(slice).position(|(a, b)| a != b) {
                    self.conflict = Some(at + i as u64);
                    return Ok(());
                }
            } else {
                self.file.write_all_at(slice, at)?;
            }
            at = piece_end;
        }
        Ok(())
    }
}

/// Adds `[start, end)` to a sorted list of disjoint, non-adjacent intervals.
pub(crate) fn insert_range(held: &mut Vec<(u64, u64)>, start: u64, end: u64) {
    if start >= end {
        return;
    }
    let (mut s, mut e) = (start, end);
    let mut out = Vec::with_capacity(held.len() + 1);
    for &(a, b) in held.iter() {
        if b < s || a > e {
            out.push((a, b));
        } else {
            s = s.min(a);
            e = e.max(b);
        }
    }
    out.push((s, e));
    out.sort_unstable();
    *held = out;
}

/// Compares a body placed at `offset` with the bytes of a stored file.
pub(crate) async fn compare_with_file<S, E>(
    path: PathBuf,
    size: u64,
    offset: u64,
    mut body: S,
) -> Result<Comparison, Error>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: Display,
{
    let file = tokio::task::spawn_blocking(move || File::open(path))
        .await
        .map_err(super::join_error)??;
    let file = std::sync::Arc::new(file);
    let mut pos = offset;
    let mut first_difference = None;
    while let Some(item) = body.next().await {
        let buf = item.map_err(|e| Error::Body(e.to_string()))?;
        let len = buf.len() as u64;
        // Bounds win over differences, so the whole body is read before answering.
        if first_difference.is_none() && pos + len <= size {
            let f = file.clone();
            let at = pos;
            first_difference =
                tokio::task::spawn_blocking(move || -> std::io::Result<Option<u64>> {
                    let mut existing = vec![0u8; buf.len()];
                    f.read_exact_at(&mut existing, at)?;
                    Ok(existing
                        .iter()
                        .zip(buf.iter())
                        .position(|(a, b)| a != b)
                        .map(|i| at + i as u64))
                })
                .await
                .map_err(super::join_error)??;
        }
        pos += len;
    }
    if pos > size {
        return Ok(Comparison::OutOfBounds);
    }
    if let Some(offset) = first_difference {
        return Ok(Comparison::Differs { offset });
    }
    Ok(Comparison::Identical)
}
