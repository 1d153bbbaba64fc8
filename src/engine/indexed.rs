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
use super::{DataState, Engine};

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
            let fresh = self.blocking(move |i| i.meta.upload(&id)).await?;
            let fresh = fresh.ok_or(Error::UnknownUpload)?;
            let existing = self.blocking(move |i| i.meta.chunk(&id, index)).await?;
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
        // The running digest continues only if it covers exactly the bytes before this chunk.
        let snapshot = match &data.running {
            Some((len, state)) if *len == offset => Some(state.clone()),
            Some(_) => None,
            None if offset == 0 => Some(DigestState::new(rec.digests)),
            None => None,
        };
        let pipe = snapshot.clone().map(DigestPipe::start);
        let (chunk_limit, reported) = self.chunk_limit(limit, offset);
        let pumped = pump(
            body,
            chunk_limit,
            pipe.as_ref(),
            FileSink::at(file, offset, self.strict()),
        )
        .await;
        let hashed = match pipe {
            Some(p) => Some(p.finish().await?),
            None => None,
        };
        let sink = pumped.sink;
        let len = pumped.bytes;
        let failure = match pumped.end {
            End::Complete => None,
            End::Body(e) => Some(Error::Body(e)),
            End::TooLarge(_) => Some(Error::TooLarge { limit: reported }),
            End::Sink(e) => Some(e),
        };
        if let Some(e) = failure {
            // Nothing of a failed chunk may stay: cut the data file back to where it was.
            self.blocking(move |_| {
                sink.file.set_len(offset)?;
                Ok(())
            })
            .await?;
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
        let mut rec = self
            .blocking(move |i| i.meta.upload(&id))
            .await?
            .ok_or(Error::UnknownUpload)?;
        // A parked copy of the same index (sent twice at once) is superseded by this one.
        let superseded = self.blocking(move |i| i.meta.chunk(&id, index)).await?;
        rec.frontier = index + 1;
        rec.data_len = offset + len;
        rec.updated_ms = now_ms();
        reopen_if_failed(&mut rec);
        self.commit(&rec, vec![(index, Some(chunk))]).await?;
        if let Some(ChunkRec {
            loc: ChunkLoc::Parked { file },
            ..
        }) = superseded
        {
            let p = self.inner.blob.spool_dir(&id).join(file);
            self.blocking(move |_| Ok(blob::remove_if_exists(&p)?))
                .await?;
        }
        data.running = hashed.map(|h| (offset + len, h));
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
        let mut rec = self
            .blocking(move |i| i.meta.upload(&id))
            .await?
            .ok_or(Error::UnknownUpload)?;
        let existing = self.blocking(move |i| i.meta.chunk(&id, index)).await?;
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
        rec.updated_ms = now_ms();
        reopen_if_failed(&mut rec);
        self.commit(&rec, vec![(index, Some(chunk))]).await?;
        guard.keep();
        if let Some(ChunkRec {
            loc: ChunkLoc::Parked { file },
            ..
        }) = existing
        {
            let p = self.inner.blob.spool_dir(&id).join(file);
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

    /// Folds parked chunks into the data file in the background (an acknowledged chunk does not
    /// wait for its predecessors).
    fn spawn_fold(&self, id: UploadId) {
        let engine = self.clone();
        tokio::spawn(async move {
            let cell = engine.cell(&id);
            let mut data = cell.data.lock().await;
            if let Err(e) = engine.fold(&id, &mut data).await {
                if !matches!(e, Error::UnknownUpload) {
                    tracing::warn!(upload = %id, error = %e, "folding parked chunks failed; completion retries");
                }
            }
        });
    }

    /// Moves parked chunks that continue the prefix into the data file, in order. If a chunk
    /// inside the prefix was replaced by different bytes, the prefix is first cut back to it
    /// (later chunks are parked again), so the data file always equals chunks `0..frontier`.
    /// Caller holds the data lock.
    pub(crate) async fn fold(&self, id: &UploadId, data: &mut DataState) -> Result<(), Error> {
        let id = *id;
        loop {
            let cell = self.cell(&id);
            let meta_guard = cell.meta.lock().await;
            let Some(rec) = self.blocking(move |i| i.meta.upload(&id)).await? else {
                return Err(Error::UnknownUpload);
            };
            if !matches!(rec.state, UploadRecState::Open | UploadRecState::Failed(_)) {
                return Ok(());
            }
            let chunks = self.blocking(move |i| i.meta.chunks(&id)).await?;
            // A replaced chunk inside the prefix: rewind.
            if let Some((at, _)) = chunks
                .iter()
                .find(|(k, c)| *k < rec.frontier && matches!(c.loc, ChunkLoc::Parked { .. }))
            {
                let at = *at;
                self.rewind(rec, chunks, at, data).await?;
                drop(meta_guard);
                continue;
            }
            let Some((_, next)) = chunks.iter().find(|(k, _)| *k == rec.frontier) else {
                return Ok(());
            };
            let ChunkLoc::Parked { file } = &next.loc else {
                return Err(Error::Corrupt(format!(
                    "chunk {} beyond the prefix claims the data file",
                    rec.frontier
                )));
            };
            let next = next.clone();
            let file = file.clone();
            drop(meta_guard);
            self.fold_one(rec, next, file, data).await?;
        }
    }

    /// Copies one parked chunk onto the end of the data file and records it there.
    async fn fold_one(
        &self,
        rec: UploadRec,
        chunk: ChunkRec,
        file: String,
        data: &mut DataState,
    ) -> Result<(), Error> {
        let id = rec.id;
        let offset = rec.data_len;
        let parked = self.inner.blob.spool_dir(&id).join(&file);
        let data_path = self.inner.blob.data_path(&id);
        let running = match data.running.take() {
            Some((len, s)) if len == offset => Some(s),
            None if offset == 0 => Some(DigestState::new(rec.digests)),
            _ => None,
        };
        let strict = self.strict();
        let expected_len = chunk.len;
        let running = self
            .blocking(move |_| {
                use std::io::Read;
                let mut src = std::fs::File::open(&parked)?;
                let dst = OpenOptions::new().write(true).open(&data_path)?;
                dst.set_len(offset)?;
                let mut state = running;
                let mut pos = offset;
                let mut buf = vec![0u8; blob::IO_BUF];
                loop {
                    let n = src.read(&mut buf)?;
                    if n == 0 {
                        break;
                    }
                    std::os::unix::fs::FileExt::write_all_at(&dst, &buf[..n], pos)?;
                    if let Some(s) = &mut state {
                        s.update(&buf[..n]);
                    }
                    pos += n as u64;
                }
                if pos - offset != expected_len {
                    return Err(Error::Corrupt(format!(
                        "parked chunk holds {} bytes, ledger says {expected_len}",
                        pos - offset
                    )));
                }
                if strict {
                    dst.sync_data()?;
                }
                Ok(state)
            })
            .await?;
        let cell = self.cell(&id);
        let _meta = cell.meta.lock().await;
        let Some(mut fresh) = self.blocking(move |i| i.meta.upload(&id)).await? else {
            return Err(Error::UnknownUpload);
        };
        let index = fresh.frontier;
        let current = self.blocking(move |i| i.meta.chunk(&id, index)).await?;
        // The chunk may have been replaced while we copied; then the next round copies the new one.
        let still_same = matches!(&current, Some(c) if c.loc == chunk.loc);
        if fresh.data_len != offset || !still_same {
            return Ok(());
        }
        fresh.frontier += 1;
        fresh.data_len = offset + chunk.len;
        let moved = ChunkRec {
            loc: ChunkLoc::Data { offset },
            ..chunk
        };
        self.commit(&fresh, vec![(index, Some(moved))]).await?;
        let parked = self.inner.blob.spool_dir(&id).join(&file);
        self.blocking(move |_| Ok(blob::remove_if_exists(&parked)?))
            .await?;
        data.running = running.map(|s| (offset + chunk.len, s));
        Ok(())
    }

    /// Cuts the data file back to chunk `at`, parking the chunks after it again (a rare path:
    /// a chunk inside the prefix was replaced by different bytes). Caller holds both locks.
    async fn rewind(
        &self,
        mut rec: UploadRec,
        chunks: Vec<(u64, ChunkRec)>,
        at: u64,
        data: &mut DataState,
    ) -> Result<(), Error> {
        let id = rec.id;
        // Chunks 0..at are contiguous in the data file, so chunk `at` started where `at-1` ends.
        let cut = match at.checked_sub(1) {
            None => 0,
            Some(prev) => match chunks.iter().find(|(k, _)| *k == prev) {
                Some((
                    _,
                    ChunkRec {
                        len,
                        loc: ChunkLoc::Data { offset },
                        ..
                    },
                )) => offset + len,
                _ => {
                    return Err(Error::Corrupt(format!(
                        "chunk {prev} inside the prefix is not in the data file"
                    )))
                }
            },
        };
        let dir = self.inner.blob.spool_dir(&id);
        let data_path = self.inner.blob.data_path(&id);
        let to_move: Vec<(u64, ChunkRec)> = chunks
            .into_iter()
            .filter(|(k, c)| *k > at && matches!(c.loc, ChunkLoc::Data { .. }))
            .collect();
        let strict = self.strict();
        let moved = self
            .blocking(move |_| {
                let src = std::fs::File::open(&data_path)?;
                let mut out = Vec::new();
                for (k, c) in to_move {
                    let ChunkLoc::Data { offset } = c.loc else {
                        continue;
                    };
                    let name = format!("park-{k}-{:016x}", rand::random::<u64>());
                    let dst = std::fs::File::create(dir.join(&name))?;
                    copy_range(&src, offset, c.len, &dst)?;
                    if strict {
                        dst.sync_data()?;
                    }
                    out.push((
                        k,
                        Some(ChunkRec {
                            loc: ChunkLoc::Parked { file: name },
                            ..c
                        }),
                    ));
                }
                if strict {
                    blob::sync_dir(&dir)?;
                }
                Ok(out)
            })
            .await?;
        rec.frontier = at;
        rec.data_len = cut;
        self.commit(&rec, moved).await?;
        let data_path = self.inner.blob.data_path(&id);
        self.blocking(move |_| {
            let f = OpenOptions::new().write(true).open(&data_path)?;
            f.set_len(cut)?;
            Ok(())
        })
        .await?;
        if matches!(&data.running, Some((len, _)) if *len > cut) {
            data.running = None;
        }
        Ok(())
    }
}

/// A failed upload takes data again: new chunks may repair it (the front end completes again).
fn reopen_if_failed(rec: &mut UploadRec) {
    if matches!(rec.state, UploadRecState::Failed(_)) {
        rec.state = UploadRecState::Open;
    }
}

/// Copies `len` bytes at `offset` of `src` to the start of `dst`.
pub(crate) fn copy_range(
    src: &std::fs::File,
    offset: u64,
    len: u64,
    dst: &std::fs::File,
) -> Result<(), Error> {
    use std::os::unix::fs::FileExt;
    let mut buf = vec![0u8; blob::IO_BUF];
    let mut done = 0u64;
    while done < len {
        let n = (len - done).min(buf.len() as u64) as usize;
        src.read_exact_at(&mut buf[..n], offset + done)?;
        dst.write_all_at(&buf[..n], done)?;
        done += n as u64;
    }
    Ok(())
}
