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
        // A parked copy of the same index (sent twice at once) is superseded by this one.
        let (mut rec, superseded) = self.upload_and_chunk(id, index).await?;
        rec.frontier = index + 1;
        rec.data_len = offset + len;
        rec.updated_ms = now_ms();
        reopen_if_failed(&mut rec);
        self.commit(&rec, vec![(index, Some(chunk))]).await?;
        self.remove_parked(&id, superseded).await?;
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

    /// Folds parked chunks into the data file in the background (an acknowledged chunk does not
    /// wait for its predecessors).
    fn spawn_fold(&self, id: UploadId) {
        let engine = self.clone();
        self.inner.tasks.spawn(async move {
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
            if let Some(at) = rec.rewind_from {
                let chunks = self.blocking(move |i| i.meta.chunks(&id)).await?;
                self.rewind(rec, chunks, at, data).await?;
                drop(meta_guard);
                continue;
            }
            let from = rec.frontier;
            let run = self
                .blocking(move |i| i.meta.chunk_run(&id, from, FOLD_MAX_CHUNKS))
                .await?;
            let mut bytes = 0u64;
            let run: Vec<(u64, ChunkRec)> = run
                .into_iter()
                .take_while(|(_, c)| {
                    let take = matches!(c.loc, ChunkLoc::Parked { .. }) && bytes < FOLD_MAX_BYTES;
                    bytes += c.len;
                    take
                })
                .collect();
            if run.is_empty() {
                return Ok(());
            }
            drop(meta_guard);
            self.fold_run(rec, run, data).await?;
        }
    }

    /// Copies a run of parked chunks onto the end of the data file (in-kernel copy) while
    /// another thread hashes them, then records them there with one sync and one commit.
    async fn fold_run(
        &self,
        rec: UploadRec,
        run: Vec<(u64, ChunkRec)>,
        data: &mut DataState,
    ) -> Result<(), Error> {
        let id = rec.id;
        let offset = rec.data_len;
        let dir = self.inner.blob.spool_dir(&id);
        let data_path = self.inner.blob.data_path(&id);
        let sources: Vec<(std::path::PathBuf, u64)> = run
            .iter()
            .filter_map(|(_, c)| match &c.loc {
                ChunkLoc::Parked { file } => Some((dir.join(file), c.len)),
                ChunkLoc::Data { .. } => None,
            })
            .collect();
        let running = match data.running.take() {
            Some((len, s)) if len == offset => Some(s),
            None if offset == 0 => Some(DigestState::new(rec.digests)),
            _ => None,
        };
        // Hash: read the parked files (page cache) into the digest threads.
        let hashing = running.map(|state| {
            let pipe = DigestPipe::start(state);
            let files = sources.clone();
            tokio::task::spawn_blocking(move || -> Result<DigestPipe, Error> {
                for (path, _) in &files {
                    let mut f = std::fs::File::open(path)?;
                    loop {
                        let mut buf = vec![0u8; blob::IO_BUF];
                        let n = read_full(&mut f, &mut buf)?;
                        if n == 0 {
                            break;
                        }
                        buf.truncate(n);
                        pipe.feed_blocking(&std::sync::Arc::new(vec![Bytes::from(buf)]));
                    }
                }
                Ok(pipe)
            })
        });
        // Copy: kernel-side (copy_file_range) from each parked file to the end of the data file.
        let strict = self.strict();
        let copied = self
            .blocking(move |_| {
                use std::io::{Seek, SeekFrom};
                let mut dst = OpenOptions::new().write(true).open(&data_path)?;
                dst.set_len(offset)?;
                dst.seek(SeekFrom::Start(offset))?;
                let mut total = 0u64;
                for (path, len) in &sources {
                    let mut src = std::fs::File::open(path)?;
                    let n = std::io::copy(&mut src, &mut dst)?;
                    if n != *len {
                        return Err(Error::Corrupt(format!(
                            "parked chunk {} holds {n} bytes, ledger says {len}",
                            path.display()
                        )));
                    }
                    total += n;
                }
                if strict {
                    dst.sync_data()?;
                }
                Ok(total)
            })
            .await;
        let hashed = match hashing {
            Some(reader) => {
                let pipe = reader.await.map_err(super::join_error)??;
                Some(pipe.finish().await?)
            }
            None => None,
        };
        let total = copied?;

        let cell = self.cell(&id);
        let _meta = cell.meta.lock().await;
        let Some(mut fresh) = self.blocking(move |i| i.meta.upload(&id)).await? else {
            return Err(Error::UnknownUpload);
        };
        let (first, last) = (run[0].0, run[run.len() - 1].0);
        let current = self
            .blocking(move |i| i.meta.chunk_run(&id, first, (last - first + 1) as usize))
            .await?;
        // Chunks may have been replaced while we copied; then the next round copies the new ones.
        let unchanged = current.len() == run.len()
            && current
                .iter()
                .zip(&run)
                .all(|((_, a), (_, b))| a.loc == b.loc);
        if fresh.data_len != offset || fresh.frontier != first || !unchanged {
            return Ok(());
        }
        let mut at = offset;
        let mut moves = Vec::with_capacity(run.len());
        let mut parked = Vec::with_capacity(run.len());
        for (index, c) in run {
            if let ChunkLoc::Parked { file } = &c.loc {
                parked.push(dir.join(file));
            }
            moves.push((
                index,
                Some(ChunkRec {
                    loc: ChunkLoc::Data { offset: at },
                    ..c
                }),
            ));
            at += moves
                .last()
                .and_then(|(_, c)| c.as_ref())
                .map_or(0, |c| c.len);
        }
        fresh.frontier = last + 1;
        fresh.data_len = offset + total;
        self.commit(&fresh, moves).await?;
        self.blocking(move |_| {
            for p in parked {
                blob::remove_if_exists(&p)?;
            }
            Ok(())
        })
        .await?;
        data.running = hashed.map(|s| (offset + total, s));
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
        if at >= rec.frontier {
            // The replaced chunk is no longer inside the prefix: nothing to cut.
            rec.rewind_from = None;
            return self.commit(&rec, vec![]).await;
        }
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
        rec.rewind_from = None;
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

/// A fold moves at most this many chunks / bytes per sync and commit.
const FOLD_MAX_CHUNKS: usize = 256;
const FOLD_MAX_BYTES: u64 = 64 << 20;

/// Reads until `buf` is full or the file ends.
fn read_full(f: &mut std::fs::File, buf: &mut [u8]) -> std::io::Result<usize> {
    use std::io::Read;
    let mut n = 0;
    while n < buf.len() {
        match f.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
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
