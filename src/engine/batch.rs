//! `Batch` uploads: `parts` requests, each carrying whole files.
//!
//! A request's files stream into spool files (with their digests computed on the way in); they
//! join the upload, and the request counts, only when [`PartWriter::commit`] runs. A part that is
//! dropped uncommitted (rejected or cut off) leaves the upload exactly as it was.

use std::fmt::Display;
use std::fs::OpenOptions;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures_util::Stream;

use super::blob::{self, TempGuard};
use super::digest::{ContentObserver, DigestPipe, DigestState};
use super::error::Error;
use super::ingest::{pump, AppendSink, End};
use super::meta::{now_ms, BatchFileRec, FileRec, PendingFile, UploadRecState};
use super::types::*;
use super::{stats, Engine};

/// Result of completing a batch upload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BatchCompletion {
    /// Every file stored, in upload order; the upload is gone.
    Completed(Vec<FileInfo>),
    /// Not all parts have arrived yet; nothing changed.
    MissingParts { done: u32, parts: u32 },
}

/// Hands a caller's observer to the hashing pipeline and gets it back afterwards.
struct Shared<O>(Arc<Mutex<O>>);

impl<O: ContentObserver> ContentObserver for Shared<O> {
    fn update(&mut self, data: &[u8]) {
        // Uncontended: only the observer thread locks it while the body streams.
        if let Ok(mut o) = self.0.lock() {
            o.update(data);
        }
    }
}

/// The files of one request of a `Batch` upload, staged until committed.
pub struct PartWriter {
    engine: Engine,
    owner: Principal,
    id: UploadId,
    digests: DigestSet,
    namespace: String,
    staged: Vec<(BatchFileRec, TempGuard)>,
}

impl Engine {
    /// Starts a request of a `Batch` upload.
    pub async fn begin_part(&self, owner: &Principal, id: UploadId) -> Result<PartWriter, Error> {
        let rec = self.owned_upload(owner, id).await?;
        let Layout::Batch { parts } = rec.layout else {
            return Err(Error::WrongLayout(rec.layout));
        };
        if rec.parts_done >= parts {
            return Err(Error::PartsExhausted { parts });
        }
        self.guard_space(0).await?;
        Ok(PartWriter {
            engine: self.clone(),
            owner: owner.clone(),
            id,
            digests: rec.digests,
            namespace: rec.namespace.clone(),
            staged: Vec::new(),
        })
    }

    /// Stores every file of a `Batch` upload whose parts have all arrived. `meta` names each file
    /// (given its position and what was received).
    pub async fn complete_batch<F>(
        &self,
        owner: &Principal,
        id: UploadId,
        meta: F,
    ) -> Result<BatchCompletion, Error>
    where
        F: Fn(usize, &BatchFileInfo) -> NewFile,
    {
        let started = std::time::Instant::now();
        let cell = self.cell(&id);
        let _data = cell.data.lock().await;
        let rec = self.owned_upload(owner, id).await?;
        let Layout::Batch { parts } = rec.layout else {
            return Err(Error::WrongLayout(rec.layout));
        };
        if rec.parts_done < parts {
            return Ok(BatchCompletion::MissingParts {
                done: rec.parts_done,
                parts,
            });
        }
        let pending = rec
            .files
            .iter()
            .enumerate()
            .map(|(n, f)| {
                let info = BatchFileInfo {
                    name: f.name.clone(),
                    size: f.size,
                    sha256: f.digests.sha256.clone(),
                };
                PendingFile {
                    file: FileRec::new(&rec, meta(n, &info), f.size, f.digests.clone()),
                    source: format!("spool/{id}/{}", f.spool),
                }
            })
            .collect::<Vec<PendingFile>>();
        let candidates: Vec<FileRec> = pending.iter().map(|p| p.file.clone()).collect();
        self.ask_gate(&rec, &candidates).await?;
        let namespace = rec.namespace.clone();
        let files = self.finish_pending(rec, pending).await?;
        self.forget_cell(&id);
        stats::upload_completed(&namespace, files.len());
        stats::assembly(started.elapsed());
        Ok(BatchCompletion::Completed(files))
    }
}

impl PartWriter {
    /// Streams one whole file of this request into the spool, computing its digests.
    pub async fn add_file<S, E>(
        &mut self,
        name: String,
        body: S,
        limit: Option<u64>,
    ) -> Result<BatchFileInfo, Error>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin + Send,
        E: Display,
    {
        self.add(name, body, limit, None)
            .await
            .map(|(info, _)| info)
    }

    /// Like [`PartWriter::add_file`], also feeding every byte to `observer` while the file
    /// streams in; the observer comes back with the file's info.
    pub async fn add_file_observed<S, E, O>(
        &mut self,
        name: String,
        body: S,
        limit: Option<u64>,
        observer: O,
    ) -> Result<(BatchFileInfo, O), Error>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin + Send,
        E: Display,
        O: ContentObserver,
    {
        let shared = Arc::new(Mutex::new(observer));
        let (info, used) = self
            .add(name, body, limit, Some(Box::new(Shared(shared.clone()))))
            .await?;
        drop(used);
        let observer = Arc::try_unwrap(shared)
            .map_err(|_| Error::Corrupt("observer still in use".into()))?
            .into_inner()
            .map_err(|_| Error::Corrupt("observer panicked".into()))?;
        Ok((info, observer))
    }

    async fn add<S, E>(
        &mut self,
        name: String,
        body: S,
        limit: Option<u64>,
        observer: Option<Box<dyn ContentObserver>>,
    ) -> Result<(BatchFileInfo, Option<Box<dyn ContentObserver>>), Error>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin + Send,
        E: Display,
    {
        // `max_upload_size` bounds every file the engine assembles, so each file of a batch
        // too (the front end's limit may be looser or absent).
        let max = self.engine.inner.config.max_upload_size;
        let limit = match (limit, max) {
            (limit, 0) => limit,
            (Some(l), max) => Some(l.min(max)),
            (None, max) => Some(max),
        };
        let blob = &self.engine.inner.blob;
        let path = blob.spool_file(&self.id, "file");
        let guard = TempGuard::new(path.clone());
        let file = {
            let path = path.clone();
            self.engine
                .blocking(move |_| {
                    Ok(OpenOptions::new().write(true).create_new(true).open(path)?)
                })
                .await?
        };
        let state = DigestState::new(self.digests);
        let pipe = match observer {
            Some(o) => DigestPipe::start_observed(state, o),
            None => DigestPipe::start(state),
        };
        let pumped = pump(body, limit, Some(&pipe), AppendSink(file)).await;
        let (state, observer) = pipe.finish_observed().await?;
        match pumped.end {
            End::Complete => {}
            End::Body(e) => return Err(Error::Body(e)),
            End::TooLarge(l) => return Err(Error::TooLarge { limit: l }),
            End::Sink(e) => return Err(e),
        }
        stats::received(&self.namespace, pumped.bytes);
        let digests = state.finish();
        let spool = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        let rec = BatchFileRec {
            name,
            size: pumped.bytes,
            digests,
            spool,
        };
        let info = BatchFileInfo {
            name: rec.name.clone(),
            size: rec.size,
            sha256: rec.digests.sha256.clone(),
        };
        let sink = pumped.sink;
        if self.engine.strict() {
            self.engine
                .blocking(move |_| Ok(sink.0.sync_data()?))
                .await?;
        }
        self.staged.push((rec, guard));
        Ok((info, observer))
    }

    /// The files staged so far.
    pub fn files(&self) -> Vec<BatchFileInfo> {
        self.staged
            .iter()
            .map(|(f, _)| BatchFileInfo {
                name: f.name.clone(),
                size: f.size,
                sha256: f.digests.sha256.clone(),
            })
            .collect()
    }

    /// Counts this request and adds its files to the upload (a file whose name is already held
    /// replaces it in place). `check` sees the files held and the staged ones, serialised with
    /// every other commit of the upload, and may refuse: then nothing changes.
    pub async fn commit_with<R, C>(self, check: C) -> Result<Result<UploadInfo, R>, Error>
    where
        C: FnOnce(&[BatchFileInfo], &[BatchFileInfo]) -> Result<(), R>,
    {
        let engine = self.engine.clone();
        let id = self.id;
        let cell = engine.cell(&id);
        let _meta = cell.meta.lock().await;
        let mut rec = engine.owned_upload(&self.owner, id).await?;
        let Layout::Batch { parts } = rec.layout else {
            return Err(Error::WrongLayout(rec.layout));
        };
        if rec.parts_done >= parts {
            return Err(Error::PartsExhausted { parts });
        }
        let held: Vec<BatchFileInfo> = engine.info_of(rec.clone(), vec![]).batch_files;
        let staged = self.files();
        if let Err(r) = check(&held, &staged) {
            return Ok(Err(r));
        }
        if engine.strict() {
            let dir = engine.inner.blob.spool_dir(&id);
            engine.blocking(move |_| Ok(blob::sync_dir(&dir)?)).await?;
        }
        let mut replaced = Vec::new();
        let mut guards = Vec::new();
        for (f, guard) in self.staged {
            match rec.files.iter_mut().find(|h| h.name == f.name) {
                Some(h) => replaced.push(std::mem::replace(h, f)),
                None => rec.files.push(f),
            }
            guards.push(guard);
        }
        rec.parts_done += 1;
        rec.updated_ms = now_ms();
        if matches!(rec.state, UploadRecState::Failed(_)) {
            rec.state = UploadRecState::Open;
        }
        engine.commit(&rec, vec![]).await?;
        for g in guards {
            g.keep();
        }
        let dir = engine.inner.blob.spool_dir(&id);
        engine
            .blocking(move |_| {
                for r in replaced {
                    blob::remove_if_exists(&dir.join(r.spool))?;
                }
                Ok(())
            })
            .await?;
        Ok(Ok(engine.info_of(rec, vec![])))
    }

    /// Counts this request with no extra check.
    pub async fn commit(self) -> Result<UploadInfo, Error> {
        match self
            .commit_with(|_, _| Ok::<(), std::convert::Infallible>(()))
            .await?
        {
            Ok(info) => Ok(info),
            Err(never) => match never {},
        }
    }
}
