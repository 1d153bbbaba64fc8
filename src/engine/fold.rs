//! Folding: parked chunks of an `Indexed` upload move into its data file once the gap before
//! them fills, in runs (one in-kernel copy while another thread hashes, one sync, one commit);
//! and the rare rewind when a chunk inside the prefix was replaced by different bytes.

use std::fs::OpenOptions;

use bytes::Bytes;

use super::blob;
use super::digest::{DigestPipe, DigestState};
use super::error::Error;
use super::meta::{ChunkLoc, ChunkRec, UploadRec, UploadRecState};
use super::types::*;
use super::{DataState, Engine};

impl Engine {
    /// Folds parked chunks into the data file in the background (an acknowledged chunk does not
    /// wait for its predecessors).
    pub(crate) fn spawn_fold(&self, id: UploadId) {
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
        data.settle().await;
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
        data.settle().await;
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
