//! `Indexed` uploads: chunks addressed by index, sizes unknown in advance.
//!
//! Fast path: the chunk that continues the contiguous prefix (`frontier`) is written straight
//! into the upload's data file while the running digests are fed, so an in-order upload never
//! needs a second pass. Any other chunk is parked in its own file and folded into the data file
//! when the gap before it fills. A re-sent chunk replaces the earlier one once its whole body has
//! arrived; identical bytes are a no-op.

use std::fmt::Display;
use std::fs::OpenOptions;

use bytes::Bytes;
use futures_util::Stream;

use super::blob::{self, TempGuard};
use super::digest::{DigestPipe, DigestState};
use super::error::Error;
use super::ingest::{pump, End, FileSink};
use super::meta::{now_ms, ChunkLoc, ChunkRec, UploadRec, UploadRecState};
use super::types::*;
use super::{stats, DataState, Engine};

impl Engine {
    /// Stores chunk `index` of an `Indexed` upload from a body stream.
    pub async fn put_chunk<S, E>(
        &self,
        owner: &Principal,
        id: UploadId,
        index: ChunkIndex,
        body: S,
    ) -> Result<UploadInfo, Error>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin + Send,
        E: Display,
    {
        self.put_chunk_limited(owner, id, index, body, None).await
    }

    /// Like [`Engine::put_chunk`], refusing bodies longer than `limit` bytes with
    /// [`Error::TooLarge`] (the earlier data of the chunk stays).
    pub async fn put_chunk_limited<S, E>(
        &self,
        owner: &Principal,
        id: UploadId,
        index: ChunkIndex,
        body: S,
        limit: Option<u64>,
    ) -> Result<UploadInfo, Error>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin + Send,
        E: Display,
    {
        let rec = self.owned_upload(owner, id).await?;
        let Layout::Indexed { count } = rec.layout else {
            return Err(Error::WrongLayout(rec.layout));
        };
        if let Some(count) = count {
            if index >= count {
                return Err(Error::ChunkOutOfRange { index, count });
            }
        }
        self.guard_space(0).await?;

        let cell = self.cell(&id);
        // Fast path: we may append if nobody else holds the data file and this chunk is next.
        if let Ok(mut data) = cell.data.try_lock() {
            let (fresh, existing) = self.upload_and_chunk(id, index).await?;
            if fresh.frontier == index && existing.is_none() {
                let res = self
                    .append_chunk(&fresh, index, body, limit, &mut data)
                    .await;
                self.fold(&id, &mut data).await?;
                drop(data);
                res?;
                return self.upload(owner, id).await;
            }
        }
        self.park_chunk(&rec, index, body, limit).await?;
        self.spawn_fold(id);
        self.upload(owner, id).await
    }

    /// Streams a chunk onto the end of the data file, feeding the running digest.
    async fn append_chunk<S, E>(
        &self,
        rec: &UploadRec,
        index: ChunkIndex,
        body: S,
        limit: Option<u64>,
        data: &mut DataState,
    ) -> Result<(), Error>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin + Send,
        E: Display,
    {
        let id = rec.id;
        let offset = rec.data_len;
        let path = self.inner.blob.data_path(&id);
        let file = {
            let path = path.clone();
            self.blocking(move |_| Ok(OpenOptions::new().write(true).open(path)?))
                .await?
        };
        // The running digest continues only if it covers exactly the bytes before this chunk
        // (possibly still hashing the previous chunk: this chunk's hashing queues behind it).
        let pipe = match data.continue_at(offset) {
            None if offset == 0 => Some(DigestPipe::start(DigestState::new(rec.digests))),
            pipe => pipe,
        };
        let (chunk_limit, reported) = self.chunk_limit(limit, offset);
        let pumped = pump(
            body,
            chunk_limit,
            pipe.as_ref(),
            FileSink::at(file, offset, self.strict()),
        )
        .await;
        let sink = pumped.sink;
        let len = pumped.bytes;
        let failure = match pumped.end {
            End::Complete => None,
            End::Body(e) => Some(Error::Body(e)),
            End::TooLarge(_) => Some(Error::TooLarge { limit: reported }),
            End::Sink(e) => Some(e),
        };
        if failure.is_none() {
            stats::received(&rec.namespace, len);
        }
        if let Some(e) = failure {
            // Nothing of a failed chunk may stay: cut the data file back to where it was.
            self.blocking(move |_| {
                sink.file.set_len(offset)?;
                Ok(())
            })
            .await?;
            // ... and the running digest back to the chunk's start.
            if let Some(p) = pipe {
                data.running = p.finish_both().await.ok().map(|(start, _)| (offset, start));
            }
            return Err(e);
        }
        let strict = self.strict();
        let fp = sink.fp.finish();
        self.blocking(move |_| {
            if strict {
                sink.file.sync_data()?;
            }
            Ok(())
        })
        .await?;
        let chunk = ChunkRec {
            len,
            fp,
            loc: ChunkLoc::Data { offset },
        };
        let cell = self.cell(&id);
        let _meta = cell.meta.lock().await;
        // A parked copy of the same index (sent twice at once) is superseded by this one.
        let (mut rec, superseded) = self.upload_and_chunk(id, index).await?;
        rec.frontier = index + 1;
        rec.data_len = offset + len;
        rec.updated_ms = now_ms();
        reopen_if_failed(&mut rec);
        self.commit(&rec, vec![(index, Some(chunk))]).await?;
        self.remove_parked(&id, superseded).await?;
        // The acknowledgement does not wait for the hashing threads; the next chunk (or
        // whoever needs the digest) continues from them.
        data.hashing = pipe.map(|p| (offset + len, p.close()));
        Ok(())
    }

    /// Streams a chunk into its own file and records it (replacing any earlier copy).
    async fn park_chunk<S, E>(
        &self,
        rec: &UploadRec,
        index: ChunkIndex,
        body: S,
        limit: Option<u64>,
    ) -> Result<(), Error>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin + Send,
        E: Display,
    {
        let id = rec.id;
        let path = self.inner.blob.spool_file(&id, &format!("park-{index}"));
        let guard = TempGuard::new(path.clone());
        let file = {
            let path = path.clone();
            self.blocking(move |_| {
                Ok(OpenOptions::new().write(true).create_new(true).open(path)?)
            })
            .await?
        };
        let (chunk_limit, reported) = self.chunk_limit(limit, 0);
        let pumped = pump(
            body,
            chunk_limit,
            None,
            FileSink::at(file, 0, self.strict()),
        )
        .await;
        match pumped.end {
            End::Complete => {}
            End::Body(e) => return Err(Error::Body(e)),
            End::TooLarge(_) => return Err(Error::TooLarge { limit: reported }),
            End::Sink(e) => return Err(e),
        }
        stats::received(&rec.namespace, pumped.bytes);
        let sink = pumped.sink;
        let fp = sink.fp.finish();
        let len = pumped.bytes;
        if self.strict() {
            let dir = self.inner.blob.spool_dir(&id);
            self.blocking(move |_| {
                sink.file.sync_data()?;
                blob::sync_dir(&dir)?;
                Ok(())
            })
            .await?;
        }
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();

        let cell = self.cell(&id);
        let _meta = cell.meta.lock().await;
        let (mut rec, existing) = self.upload_and_chunk(id, index).await?;
        if let Some(old) = &existing {
            if old.len == len && old.fp == fp {
                // Identical re-send: nothing to change (the guard removes the new copy).
                rec.updated_ms = now_ms();
                self.commit(&rec, vec![]).await?;
                return Ok(());
            }
        }
        let chunk = ChunkRec {
            len,
            fp,
            loc: ChunkLoc::Parked { file: name },
        };
        if matches!(
            &existing,
            Some(ChunkRec {
                loc: ChunkLoc::Data { .. },
                ..
            })
        ) {
            // Different bytes for a chunk already in the data file: the next fold rewinds.
            rec.rewind_from = Some(rec.rewind_from.map_or(index, |r| r.min(index)));
        }
        rec.updated_ms = now_ms();
        reopen_if_failed(&mut rec);
        self.commit(&rec, vec![(index, Some(chunk))]).await?;
        guard.keep();
        self.remove_parked(&id, existing).await?;
        Ok(())
    }

    /// The upload record and chunk `index`'s ledger entry, read together.
    async fn upload_and_chunk(
        &self,
        id: UploadId,
        index: ChunkIndex,
    ) -> Result<(UploadRec, Option<ChunkRec>), Error> {
        self.blocking(move |i| {
            let rec = i.meta.upload(&id)?.ok_or(Error::UnknownUpload)?;
            Ok((rec, i.meta.chunk(&id, index)?))
        })
        .await
    }

    /// Deletes the park file of a chunk that was replaced (if it was parked).
    async fn remove_parked(&self, id: &UploadId, old: Option<ChunkRec>) -> Result<(), Error> {
        if let Some(ChunkRec {
            loc: ChunkLoc::Parked { file },
            ..
        }) = old
        {
            let p = self.inner.blob.spool_dir(id).join(file);
            self.blocking(move |_| Ok(blob::remove_if_exists(&p)?))
                .await?;
        }
        Ok(())
    }

    /// The byte limit for a chunk starting `held` bytes into the upload: the caller's limit or
    /// what `max_upload_size` leaves, whichever is smaller; and the limit to report when hit.
    fn chunk_limit(&self, caller: Option<u64>, held: u64) -> (Option<u64>, u64) {
        let max = self.inner.config.max_upload_size;
        let upload_left = (max > 0).then(|| max.saturating_sub(held));
        match (caller, upload_left) {
            (Some(c), Some(u)) if u < c => (Some(u), max),
            (Some(c), _) => (Some(c), c),
            (None, Some(u)) => (Some(u), max),
            (None, None) => (None, 0),
        }
    }

    /// Writes an upload record and chunk records in one transaction, then flushes in strict mode.
    pub(crate) async fn commit(
        &self,
        rec: &UploadRec,
        chunks: Vec<(u64, Option<ChunkRec>)>,
    ) -> Result<(), Error> {
        let rec = rec.clone();
        let strict = self.strict();
        self.blocking(move |i| {
            i.meta.commit_upload(&rec, &chunks)?;
            if strict {
                i.meta.flush()?;
            }
            Ok(())
        })
        .await
    }
}

/// A failed upload takes data again: new chunks may repair it (the front end completes again).
fn reopen_if_failed(rec: &mut UploadRec) {
    if matches!(rec.state, UploadRecState::Failed(_)) {
        rec.state = UploadRecState::Open;
    }
}
