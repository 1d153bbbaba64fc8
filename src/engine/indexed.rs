//! `Indexed` uploads: chunks addressed by index, sizes unknown in advance.
//!
//! Fast path: the chunk that continues the contiguous prefix (`frontier`) is written straight
//! into the upload's data file while the running digests are fed, so an in-order upload never
//! needs a second pass. Any other chunk is parked in its own file and folded into the data file
//! when the gap before it fills. A re-sent chunk replaces the earlier one once its whole body has
//! arrived; identical bytes are a no-op.

use std::fmt::Display;
use std::fs::{File, OpenOptions};

use bytes::Bytes;
use futures_util::{Stream, StreamExt};

use super::blob::{self, TempGuard};
use super::digest::{DigestPipe, DigestState, Fingerprint};
use super::error::Error;
use super::ingest::{self, pump, BlockSink, End, FileSink, Head};
use super::meta::{now_ms, ChunkLoc, ChunkRec, UploadRec, UploadRecState};
use super::types::*;
use super::{stats, DataState, Engine, Inner};

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
        match self.put_chunk_inner(owner, id, index, body, limit).await {
            // A completion or abort that won the race removed the upload's files under us:
            // the chunk's answer is that the upload is gone, not a storage failure.
            Err(Error::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => {
                match self.owned_upload(owner, id).await {
                    Err(Error::UnknownUpload) => Err(Error::UnknownUpload),
                    _ => Err(Error::Io(e)),
                }
            }
            res => res,
        }
    }

    async fn put_chunk_inner<S, E>(
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
        let cell = self.owned_cell(owner, &id).await?;
        // Fast path: we may append if nobody else holds the data file and this chunk is next.
        let data = cell.data.try_lock().ok();
        let may_append = data.is_some();
        // One trip to the blocking pool: ownership, layout, space, this chunk's entry and (when
        // it continues the data file) the file to append to.
        let owner_ = owner.clone();
        let path = self.inner.blob.data_path(&id);
        let (rec, file) = self
            .blocking(move |i| {
                let rec = super::owned(i.meta.upload(&id)?, &owner_)?;
                let Layout::Indexed { count } = rec.layout else {
                    return Err(Error::WrongLayout(rec.layout));
                };
                if let Some(count) = count {
                    if index >= count {
                        return Err(Error::ChunkOutOfRange { index, count });
                    }
                }
                i.check_space(0)?;
                if !may_append || rec.frontier != index || i.meta.chunk(&id, index)?.is_some() {
                    return Ok((rec, None));
                }
                let file = OpenOptions::new().write(true).open(path)?;
                Ok((rec, Some(file)))
            })
            .await?;
        if let (Some(mut data), Some(file)) = (data, file) {
            let res = self
                .append_chunk(&rec, index, body, limit, &mut data, file)
                .await;
            let info = match res {
                Ok((rec, chunks, false)) => return Ok(self.info_of(rec, chunks)),
                Ok((_, _, true)) => None,
                Err(e) => Some(e),
            };
            // Parked chunks continue the new prefix (or a rewind is due): fold them now. A
            // failed append folds too (what was parked meanwhile may continue the old prefix).
            self.fold(&id, &mut data).await?;
            drop(data);
            if let Some(e) = info {
                return Err(e);
            }
            return self.upload(owner, id).await;
        }
        self.park_chunk(&rec, index, body, limit).await?;
        self.spawn_fold(id);
        self.upload(owner, id).await
    }

    /// Streams a chunk onto the end of the data file, feeding the running digest. Returns the
    /// committed record, the chunk indexes held and whether parked chunks wait to be folded.
    async fn append_chunk<S, E>(
        &self,
        rec: &UploadRec,
        index: ChunkIndex,
        body: S,
        limit: Option<u64>,
        data: &mut DataState,
        file: File,
    ) -> Result<(UploadRec, Vec<ChunkIndex>, bool), Error>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin + Send,
        E: Display,
    {
        let id = rec.id;
        let offset = rec.data_len;
        let (chunk_limit, reported) = self.chunk_limit(limit, offset);
        let (first, rest) = match ingest::head(body, chunk_limit).await {
            Head::Whole(pieces) if data.hashing.is_none() => {
                return self.append_whole(rec, index, pieces, data, file).await;
            }
            Head::Whole(pieces) => (pieces, None),
            Head::Partial(pieces, rest) => (pieces, Some(rest)),
            Head::Failed(End::TooLarge(_)) => return Err(Error::TooLarge { limit: reported }),
            Head::Failed(End::Body(e)) => return Err(Error::Body(e)),
            Head::Failed(End::Sink(e)) => return Err(e),
            Head::Failed(End::Complete) => unreachable!("a head fails or is read"),
        };
        let body = futures_util::stream::iter(first.into_iter().map(Ok::<Bytes, E>))
            .chain(futures_util::stream::iter(rest).flatten());
        // The running digest continues only if it covers exactly the bytes before this chunk
        // (possibly still hashing the previous chunk: this chunk's hashing queues behind it).
        let pipe = match data.continue_at(offset) {
            None if offset == 0 => Some(DigestPipe::start(DigestState::new(rec.digests))),
            pipe => pipe,
        };
        let pumped = pump(
            Box::pin(body),
            chunk_limit,
            pipe.as_ref(),
            FileSink::at(file, offset, self.strict()).unfingerprinted(),
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
        stats::received(&rec.namespace, len);
        let chunk = ChunkRec {
            len,
            fp: String::new(),
            loc: ChunkLoc::Data { offset },
        };
        if self.strict() {
            // Synced before the metadata lock: parked chunks of the upload commit meanwhile.
            let file = sink.file;
            self.blocking(move |_| Ok(file.sync_data()?)).await?;
        }
        let cell = self.cell(&id);
        let _meta = cell.meta.lock().await;
        let committed = self
            .blocking(move |i| commit_append(i, id, index, chunk))
            .await?;
        // The acknowledgement does not wait for the hashing threads; the next chunk (or
        // whoever needs the digest) continues from them.
        data.hashing = pipe.map(|p| (offset + len, p.close()));
        Ok(committed)
    }

    /// Stores a chunk whose whole body is at hand, with the running digest not in flight: write,
    /// fingerprint, digest, sync and commit in one blocking call (the metadata lock held, as the
    /// call commits).
    async fn append_whole(
        &self,
        rec: &UploadRec,
        index: ChunkIndex,
        pieces: Vec<Bytes>,
        data: &mut DataState,
        file: File,
    ) -> Result<(UploadRec, Vec<ChunkIndex>, bool), Error> {
        let id = rec.id;
        let offset = rec.data_len;
        let mut state = match data.running.take() {
            Some((len, state)) if len == offset => Some(state),
            None if offset == 0 => Some(DigestState::new(rec.digests)),
            _ => None,
        };
        let strict = self.strict();
        let cell = self.cell(&id);
        let _meta = cell.meta.lock().await;
        let (res, state) = self
            .blocking(move |i| {
                let mut sink = FileSink::at(file, offset, false).unfingerprinted();
                let written = pieces.iter().try_for_each(|p| sink.put(p));
                let res = written.and_then(|()| {
                    if strict {
                        sink.file.sync_data()?;
                    }
                    let chunk = ChunkRec {
                        len: sink.pos - offset,
                        fp: String::new(),
                        loc: ChunkLoc::Data { offset },
                    };
                    commit_append(i, id, index, chunk)
                });
                match res {
                    Ok(committed) => {
                        if let Some(s) = &mut state {
                            s.update_counted(&pieces);
                        }
                        Ok((Ok(committed), state))
                    }
                    Err(e) => {
                        // Nothing of a failed chunk may stay; the digest stays at its start.
                        sink.file.set_len(offset)?;
                        Ok((Err(e), state))
                    }
                }
            })
            .await?;
        let committed = res?;
        stats::received(&rec.namespace, committed.0.data_len - offset);
        data.running = state.map(|s| (committed.0.data_len, s));
        Ok(committed)
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
        if let Some(old) = existing.clone().filter(|old| old.len == len) {
            let stored = self
                .blocking(move |i| stored_fingerprint(i, &id, &old))
                .await?;
            if stored.as_ref() == Some(&fp) {
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

/// Records chunk `index`, just appended at the end of the data file, and advances the prefix
/// (caller holds the metadata lock; the bytes are synced in strict mode, and the metadata is
/// flushed here before the acknowledgement). Returns the record, the chunk indexes held and
/// whether parked chunks (or a rewind) wait for a fold.
fn commit_append(
    i: &Inner,
    id: UploadId,
    index: ChunkIndex,
    chunk: ChunkRec,
) -> Result<(UploadRec, Vec<ChunkIndex>, bool), Error> {
    let mut rec = i.meta.upload(&id)?.ok_or(Error::UnknownUpload)?;
    // A parked copy of the same index (sent twice at once) is superseded by this one.
    let superseded = i.meta.chunk(&id, index)?;
    let ChunkLoc::Data { offset } = chunk.loc else {
        unreachable!("an appended chunk is in the data file")
    };
    rec.frontier = index + 1;
    rec.data_len = offset + chunk.len;
    rec.updated_ms = now_ms();
    reopen_if_failed(&mut rec);
    i.meta.commit_upload(&rec, &[(index, Some(chunk))])?;
    if i.config.durability == Durability::Strict {
        i.meta.flush()?;
    }
    if let Some(ChunkRec {
        loc: ChunkLoc::Parked { file },
        ..
    }) = superseded
    {
        blob::remove_if_exists(&i.blob.spool_dir(&id).join(file))?;
    }
    // A chunk parked at the new frontier was committed before us (under the same lock), so we
    // see it; one parked later starts its own fold.
    let fold = rec.rewind_from.is_some()
        || matches!(
            i.meta.chunk(&id, rec.frontier)?,
            Some(ChunkRec {
                loc: ChunkLoc::Parked { .. },
                ..
            })
        );
    let chunks = i.meta.chunk_indexes(&id)?;
    Ok((rec, chunks, fold))
}

/// The fingerprint of a stored chunk: the recorded one, or (for chunks appended in order, which
/// record none) computed from its bytes where they are. Caller holds the metadata lock, so a
/// rewind cannot move them meanwhile; a completion can (it renames the data file, and may cut
/// it): bytes no longer there are `None`, "not known identical", and the caller's commit then
/// meets the completed upload as it did before fingerprints were computed on demand.
fn stored_fingerprint(i: &Inner, id: &UploadId, chunk: &ChunkRec) -> Result<Option<String>, Error> {
    use std::io::ErrorKind;
    use std::os::unix::fs::FileExt;
    if !chunk.fp.is_empty() {
        return Ok(Some(chunk.fp.clone()));
    }
    let (path, start) = match &chunk.loc {
        ChunkLoc::Data { offset } => (i.blob.data_path(id), *offset),
        ChunkLoc::Parked { file } => (i.blob.spool_dir(id).join(file), 0),
    };
    let gone =
        |e: &std::io::Error| matches!(e.kind(), ErrorKind::NotFound | ErrorKind::UnexpectedEof);
    let f = match File::open(path) {
        Ok(f) => f,
        Err(e) if gone(&e) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let mut fp = Fingerprint::default();
    let mut buf = vec![0u8; blob::IO_BUF];
    let mut done = 0u64;
    while done < chunk.len {
        let n = (chunk.len - done).min(buf.len() as u64) as usize;
        match f.read_exact_at(&mut buf[..n], start + done) {
            Ok(()) => {}
            Err(e) if gone(&e) => return Ok(None),
            Err(e) => return Err(e.into()),
        }
        fp.update(&buf[..n]);
        done += n as u64;
    }
    Ok(Some(fp.finish()))
}

/// A failed upload takes data again: new chunks may repair it (the front end completes again).
fn reopen_if_failed(rec: &mut UploadRec) {
    if matches!(rec.state, UploadRecState::Failed(_)) {
        rec.state = UploadRecState::Open;
    }
}
