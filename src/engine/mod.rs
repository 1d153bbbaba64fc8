//! The assembly engine: uploads, chunks, digests, assembly and files, behind a narrow facade.
//!
//! Front ends (the dialects) speak to the engine only through [`Engine`] and the value types of
//! [`types`]; the metadata seam (`meta`, sled) and the bytes seam (`blob`, files) stay private,
//! so no front end can reach into either. See `docs/architecture.md` and DESIGN.md.

mod admin;
mod backup;
mod batch;
mod blob;
mod complete;
mod digest;
mod error;
mod fold;
mod indexed;
mod ingest;
mod journal;
mod meta;
mod open;
mod ranged;
mod reconcile;
mod records;
mod stage;
mod stats;
mod sweep;
mod types;
mod verify;

pub use backup::ImportError;
pub use batch::{BatchCompletion, PartWriter};
pub use digest::ContentObserver;
pub use error::{Error, OpenError};
pub use journal::{Candidate, CompletionGate, Event, EventFile, EventKind};
pub use ranged::CutOff;
pub use records::{RecordBatch, Records};
pub use stage::Staged;
pub use types::*;
pub use verify::Progress;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex as StdMutex};
use std::time::Duration;

use blob::BlobStore;
use digest::DigestState;
use meta::{Meta, UploadRec, UploadRecState};

/// Engine settings (the `[server]`-level keys of docs/configuration.md).
#[derive(Clone, Debug)]
pub struct EngineConfig {
    /// Where metadata (`meta/`), spool files (`spool/`) and content (`blobs/`) live.
    pub data_dir: PathBuf,
    pub durability: Durability,
    /// Default idle time after which an unfinished upload is swept.
    pub upload_ttl: Duration,
    /// Below this many free bytes on the data volume, new data is refused.
    pub min_free_space: u64,
    /// Largest upload in bytes (0 = unlimited).
    pub max_upload_size: u64,
    /// How often the sweeper looks for expired uploads and files.
    pub sweep_interval: Duration,
    /// Most unfinished, unexpired uploads one owner may hold at once (0 = unlimited): one
    /// principal must not be able to fill the store with abandoned sessions.
    pub max_open_uploads_per_owner: u64,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            data_dir: PathBuf::from("./data"),
            durability: Durability::Strict,
            upload_ttl: Duration::from_secs(24 * 3600),
            min_free_space: 1 << 30,
            max_upload_size: 10 << 30,
            sweep_interval: Duration::from_secs(60),
            max_open_uploads_per_owner: 1000,
        }
    }
}

/// The engine. Cheap to clone (shared state behind an `Arc`).
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    config: EngineConfig,
    /// The free-space threshold in force: `config.min_free_space` at open, changed at run time
    /// by [`Engine::set_min_free_space`] (an operator freeing or reserving space, tests).
    min_free_space: std::sync::atomic::AtomicU64,
    meta: Meta,
    blob: BlobStore,
    /// Per-upload locks and in-memory running digests.
    cells: StdMutex<HashMap<UploadId, Arc<Cell>>>,
    sweeper: StdMutex<Option<tokio::task::JoinHandle<()>>>,
    /// Serialises "count the owner's open uploads, then insert one" so that parallel creates
    /// cannot overshoot `max_open_uploads_per_owner`.
    create_lock: StdMutex<()>,
    /// Background work (folds) that `shutdown` waits for.
    tasks: tokio_util::task::TaskTracker,
    /// What reconciling on open repaired (an explicit garbage collection reports it too).
    opened: StdMutex<reconcile::ReconcileReport>,
    /// Bumped after every commit that appends to the event journal (wakes its readers).
    journal_tick: tokio::sync::watch::Sender<u64>,
    /// The check a verified completion must pass before it is committed.
    gate: StdMutex<Option<journal::CompletionGate>>,
}

/// In-memory companion of an upload.
///
/// Lock order: `data` before `meta`. `data` gives exclusive use of the upload's data file and its
/// running digest (held by an in-order append, a fold, a ranged write or a completion); `meta`
/// serialises every metadata change of the upload, so state moves never race.
pub(crate) struct Cell {
    data: tokio::sync::Mutex<DataState>,
    meta: tokio::sync::Mutex<()>,
}

/// The running digest of an upload's data file: covers bytes `0..len` when present.
///
/// At most one of the two is set: `hashing` is a running digest whose threads are still hashing
/// the last acknowledged chunk (an in-order append or range does not wait for them; the next one
/// continues the same chain). Everything else first [`DataState::settle`]s it into `running`.
#[derive(Default)]
pub(crate) struct DataState {
    running: Option<(u64, DigestState)>,
    hashing: Option<(u64, digest::DigestPipe)>,
}

impl DataState {
    /// Waits for hashing in flight and makes it the running digest. On a hashing failure the
    /// running digest is dropped (completion then hashes the data file).
    pub(crate) async fn settle(&mut self) {
        if let Some((len, pipe)) = self.hashing.take() {
            self.running = pipe.finish().await.ok().map(|s| (len, s));
        }
    }

    /// The running digest covering exactly `0..at`, as a pipe to continue from; `None` (and
    /// nothing kept) otherwise.
    pub(crate) fn continue_at(&mut self, at: u64) -> Option<digest::DigestPipe> {
        if let Some((len, pipe)) = self.hashing.take() {
            return (len == at).then(|| digest::DigestPipe::start_after(pipe));
        }
        match self.running.take() {
            Some((len, state)) if len == at => Some(digest::DigestPipe::start(state)),
            _ => None,
        }
    }
}

impl Engine {
    /// Opens (or creates) the store in `config.data_dir`, reconciles it with what is on disk and
    /// starts the background sweeper (requires a Tokio runtime).
    ///
    /// Fails with one clear line (never a panic) when another process holds the store, when the
    /// data dir cannot be read or written, or when the metadata is corrupt (`open::open_store`).
    pub async fn open(config: EngineConfig) -> Result<Engine, OpenError> {
        let dir = config.data_dir.clone();
        let (meta, blob) = tokio::task::spawn_blocking(move || open::open_store(&dir))
            .await
            .map_err(|e| OpenError::Unopenable {
                path: config.data_dir.clone(),
                reason: join_error(e).to_string(),
            })??;
        let engine = Engine {
            inner: Arc::new(Inner {
                min_free_space: config.min_free_space.into(),
                config,
                meta,
                blob,
                cells: StdMutex::new(HashMap::new()),
                sweeper: StdMutex::new(None),
                create_lock: StdMutex::new(()),
                tasks: tokio_util::task::TaskTracker::new(),
                opened: StdMutex::new(Default::default()),
                journal_tick: tokio::sync::watch::Sender::new(0),
                gate: StdMutex::new(None),
            }),
        };
        let report = engine
            .reconcile()
            .await
            .map_err(|source| OpenError::Reconcile {
                path: engine.data_dir().to_owned(),
                source,
            })?;
        if report != Default::default() {
            tracing::info!(?report, "reconciled store with disk");
        }
        *engine.inner.opened.lock().expect("opened lock") = report;
        engine.start_sweeper();
        Ok(engine)
    }

    pub fn config(&self) -> &EngineConfig {
        &self.inner.config
    }

    pub fn data_dir(&self) -> &Path {
        &self.inner.config.data_dir
    }

    /// Runs a metadata/file operation on the blocking pool (never on the async threads).
    pub(crate) async fn blocking<T, F>(&self, f: F) -> Result<T, Error>
    where
        F: FnOnce(&Inner) -> Result<T, Error> + Send + 'static,
        T: Send + 'static,
    {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || f(&inner))
            .await
            .map_err(join_error)?
    }

    pub(crate) fn cell(&self, id: &UploadId) -> Arc<Cell> {
        let mut cells = self.inner.cells.lock().expect("cells lock");
        cells
            .entry(*id)
            .or_insert_with(|| {
                Arc::new(Cell {
                    data: tokio::sync::Mutex::new(DataState::default()),
                    meta: tokio::sync::Mutex::new(()),
                })
            })
            .clone()
    }

    /// The cell of an upload a request already used, else (after checking that `owner` may use
    /// the upload, so unknown ids never get a cell) a new one. The caller checks ownership again
    /// under the cell's lock.
    pub(crate) async fn owned_cell(
        &self,
        owner: &Principal,
        id: &UploadId,
    ) -> Result<Arc<Cell>, Error> {
        let known = self
            .inner
            .cells
            .lock()
            .expect("cells lock")
            .get(id)
            .cloned();
        match known {
            Some(cell) => Ok(cell),
            None => {
                self.owned_upload(owner, *id).await?;
                Ok(self.cell(id))
            }
        }
    }

    pub(crate) fn forget_cell(&self, id: &UploadId) {
        self.inner.cells.lock().expect("cells lock").remove(id);
    }

    /// The free-space threshold in force (bytes; 0 = no guard).
    pub fn min_free_space(&self) -> u64 {
        self.inner
            .min_free_space
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Changes the free-space threshold while running: new data is refused while less than
    /// `bytes` are free, and accepted again once the threshold is lowered (or space returns).
    pub fn set_min_free_space(&self, bytes: u64) {
        self.inner
            .min_free_space
            .store(bytes, std::sync::atomic::Ordering::Relaxed);
    }

    /// Refuses new data when the volume is nearly full (sled corrupts itself on a full disk).
    pub(crate) async fn guard_space(&self, incoming: u64) -> Result<(), Error> {
        if self.min_free_space() == 0 {
            return Ok(());
        }
        self.blocking(move |i| i.check_space(incoming)).await
    }

    pub(crate) fn strict(&self) -> bool {
        self.inner.config.durability == Durability::Strict
    }

    /// Opens an upload.
    pub async fn create_upload(&self, new: NewUpload) -> Result<UploadInfo, Error> {
        let max = self.inner.config.max_upload_size;
        if let Layout::Ranged { size } = new.layout {
            if max > 0 && size > max {
                return Err(Error::TooLarge { limit: max });
            }
        }
        let declared = match new.layout {
            Layout::Ranged { size } => size,
            _ => 0,
        };
        self.guard_space(declared).await?;
        let ttl = new.ttl.unwrap_or(self.inner.config.upload_ttl);
        let rec = UploadRec::new(&new, ttl);
        let strict = self.strict();
        let max_open = self.inner.config.max_open_uploads_per_owner;
        let rec = self
            .blocking(move |i| {
                let _create = i.create_lock.lock().expect("create lock");
                if max_open > 0 {
                    let now = meta::now_ms();
                    let open = i.meta.uploads()?.into_iter().filter(|u| {
                        u.owner == rec.owner
                            && u.expires_ms() > now
                            && !matches!(u.state, UploadRecState::Completing(_))
                    });
                    if open.count() as u64 >= max_open {
                        return Err(Error::TooManyUploads { limit: max_open });
                    }
                }
                let sparse = match rec.layout {
                    Layout::Ranged { size } => Some(size),
                    _ => None,
                };
                i.blob.create_spool(&rec.id, sparse)?;
                i.meta.insert_upload(&rec)?;
                if strict {
                    i.meta.flush()?;
                }
                i.journal_bump();
                Ok(rec)
            })
            .await?;
        stats::upload_created(&rec.namespace);
        tracing::debug!(upload = %rec.id, layout = ?rec.layout, "upload created");
        Ok(self.info_of(rec, Vec::new()))
    }

    /// The upload `id` as its owner sees it.
    pub async fn upload(&self, owner: &Principal, id: UploadId) -> Result<UploadInfo, Error> {
        // One trip to the blocking pool: this answers every stored chunk.
        let owner = owner.clone();
        let (rec, chunks) = self
            .blocking(move |i| {
                let rec = owned(i.meta.upload(&id)?, &owner)?;
                let chunks = match rec.layout {
                    Layout::Indexed { .. } => i.meta.chunk_indexes(&id)?,
                    _ => Vec::new(),
                };
                Ok((rec, chunks))
            })
            .await?;
        Ok(self.info_of(rec, chunks))
    }

    /// Loads an upload owned by `owner` that has not expired.
    pub(crate) async fn owned_upload(
        &self,
        owner: &Principal,
        id: UploadId,
    ) -> Result<UploadRec, Error> {
        let rec = self.blocking(move |i| i.meta.upload(&id)).await?;
        owned(rec, owner)
    }

    pub(crate) fn info_of(&self, rec: UploadRec, chunks: Vec<ChunkIndex>) -> UploadInfo {
        let received = match rec.layout {
            Layout::Ranged { .. } => rec.ranged_received(),
            Layout::Batch { .. } => rec.files.iter().map(|f| f.size).sum(),
            Layout::Indexed { .. } => rec.data_len,
        };
        UploadInfo {
            id: rec.id,
            owner: rec.owner.clone(),
            namespace: rec.namespace.clone(),
            layout: rec.layout,
            state: match &rec.state {
                UploadRecState::Failed(m) => UploadState::Failed(m.clone()),
                _ => UploadState::Open,
            },
            chunks,
            received,
            parts_done: rec.parts_done,
            batch_files: rec
                .files
                .iter()
                .map(|f| BatchFileInfo {
                    name: f.name.clone(),
                    size: f.size,
                    sha256: f.digests.sha256.clone(),
                })
                .collect(),
            created_at: meta::time_of(rec.created_ms),
            updated_at: meta::time_of(rec.updated_ms),
            expires_at: meta::time_of(rec.expires_ms()),
            labels: rec.labels,
        }
    }

    /// Removes an upload and all of its bytes.
    pub async fn abort(&self, owner: &Principal, id: UploadId) -> Result<(), Error> {
        self.owned_upload(owner, id).await?;
        let cell = self.cell(&id);
        let _data = cell.data.lock().await;
        let _meta = cell.meta.lock().await;
        let strict = self.strict();
        self.blocking(move |i| {
            i.meta.remove_upload(&id)?;
            if strict {
                i.meta.flush()?;
            }
            i.blob.remove_spool(&id)?;
            Ok(())
        })
        .await?;
        self.forget_cell(&id);
        Ok(())
    }

    // ---- files ------------------------------------------------------------------------------

    /// A file by id, whoever owns it (operator use). Expired files are not returned, nor files
    /// whose content was quarantined as corrupt (`verify_blobs`): they answer like unknown ones.
    pub async fn file(&self, id: &FileId) -> Result<Option<FileInfo>, Error> {
        let id = *id;
        let rec = self
            .blocking(move |i| {
                let Some(f) = i.meta.file(&id)? else {
                    return Ok(None);
                };
                let quarantined = i
                    .meta
                    .blob(&f.digests.sha256)?
                    .is_some_and(|b| b.quarantined_ms.is_some());
                Ok((!quarantined).then_some(f))
            })
            .await?;
        Ok(rec
            .filter(|f| f.expires_ms.is_none_or(|e| e > meta::now_ms()))
            .map(|f| f.info()))
    }

    /// A file owned by `owner`; another owner's file is [`Error::UnknownFile`] like a missing one.
    pub async fn owned_file(&self, owner: &Principal, id: &FileId) -> Result<FileInfo, Error> {
        match self.file(id).await? {
            Some(f) if &f.owner == owner => Ok(f),
            _ => Err(Error::UnknownFile),
        }
    }

    /// Deletes a file owned by `owner`; its blob goes when nothing references it any more.
    pub async fn delete_file(&self, owner: &Principal, id: &FileId) -> Result<FileInfo, Error> {
        let info = self.owned_file(owner, id).await?;
        let id = *id;
        let strict = self.strict();
        let removed = self
            .blocking(move |i| {
                let r = i.meta.remove_file(&id)?;
                if strict {
                    i.meta.flush()?;
                }
                i.journal_bump();
                if let Some((f, true)) = &r {
                    i.blob.remove_blob(&f.digests.sha256)?;
                }
                Ok(r)
            })
            .await?;
        match removed {
            Some(_) => Ok(info),
            None => Err(Error::UnknownFile),
        }
    }

    /// Changes when a file owned by `owner` expires (`None`: kept until deleted).
    pub async fn set_file_expiry(
        &self,
        owner: &Principal,
        id: &FileId,
        expires_at: Option<std::time::SystemTime>,
    ) -> Result<FileInfo, Error> {
        self.owned_file(owner, id).await?;
        let id = *id;
        let strict = self.strict();
        let rec = self
            .blocking(move |i| {
                let r = i.meta.set_file_expiry(&id, expires_at.map(meta::ms_of))?;
                if strict {
                    i.meta.flush()?;
                }
                Ok(r)
            })
            .await?;
        rec.map(|f| f.info()).ok_or(Error::UnknownFile)
    }

    /// Files whose `kind` digest equals `hex` (case-insensitive), owned by `scope` if given.
    pub async fn find_files_by_digest(
        &self,
        scope: Option<&Principal>,
        kind: DigestKind,
        hex: &str,
    ) -> Result<Vec<FileInfo>, Error> {
        let hex = hex.to_string();
        let ids = self
            .blocking(move |i| i.meta.files_by_digest(kind, &hex))
            .await?;
        let mut out = Vec::new();
        for id in ids {
            if let Some(f) = self.file(&id).await? {
                if scope.is_none_or(|p| p == &f.owner) {
                    out.push(f);
                }
            }
        }
        Ok(out)
    }

    /// The file found under a front end's legacy id.
    pub async fn resolve_alias(
        &self,
        namespace: &str,
        legacy_id: &str,
    ) -> Result<Option<FileId>, Error> {
        let (ns, legacy) = (namespace.to_string(), legacy_id.to_string());
        self.blocking(move |i| i.meta.alias(&ns, &legacy)).await
    }

    /// Where the file's bytes are on disk (read-only use: streaming downloads).
    pub fn content_path(&self, file: &FileInfo) -> PathBuf {
        self.inner.blob.blob_path(&file.digests.sha256)
    }

    /// Compares `body`, placed at `offset`, with a file's stored bytes.
    pub async fn compare_content<S, E>(
        &self,
        file: &FileInfo,
        offset: u64,
        body: S,
    ) -> Result<Comparison, Error>
    where
        S: futures_util::Stream<Item = Result<bytes::Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        ranged::compare_with_file(self.content_path(file), file.size, offset, body).await
    }

    /// The namespaced record store of a front end.
    pub fn records(&self, namespace: &str) -> Records {
        Records::new(self.clone(), namespace)
    }

    /// A sorted listing of everything stored (tests compare it before and after a request).
    pub async fn inventory(&self) -> Result<Inventory, Error> {
        let (uploads, files, records, blobs) = self
            .blocking(|i| {
                let uploads = i.meta.uploads()?;
                let mut with_chunks = Vec::new();
                for u in uploads {
                    let chunks = i.meta.chunks(&u.id)?;
                    with_chunks.push((u, chunks));
                }
                Ok((
                    with_chunks,
                    i.meta.files()?,
                    i.meta.all_records()?,
                    i.meta.blobs()?,
                ))
            })
            .await?;
        let mut inv = Inventory {
            uploads: uploads
                .into_iter()
                .map(|(u, c)| self.info_of(u, c.into_iter().map(|(k, _)| k).collect()))
                .collect(),
            files: files.iter().map(|f| f.info()).collect(),
            records,
            blobs: blobs.into_iter().map(|(k, b)| (k, b.refs)).collect(),
        };
        inv.uploads.sort_by_key(|u| u.id);
        inv.files.sort_by_key(|f| f.id);
        Ok(inv)
    }

    /// Number of unfinished uploads (a gauge for operators).
    pub async fn upload_count(&self) -> Result<usize, Error> {
        self.blocking(|i| Ok(i.meta.upload_count())).await
    }

    /// Free bytes on the data volume.
    pub async fn available_space(&self) -> Result<u64, Error> {
        self.blocking(|i| Ok(i.blob.available_space()?)).await
    }

    /// Succeeds when the store can take writes (used by `/healthz`).
    pub async fn check_writable(&self) -> Result<(), Error> {
        self.blocking(|i| {
            i.blob.probe_writable()?;
            i.meta.flush()
        })
        .await
    }

    /// Stops the sweeper, waits for background folds and flushes metadata.
    pub async fn shutdown(&self) -> Result<(), Error> {
        if let Some(h) = self.inner.sweeper.lock().expect("sweeper lock").take() {
            h.abort();
        }
        self.inner.tasks.close();
        self.inner.tasks.wait().await;
        self.blocking(|i| i.meta.flush()).await
    }
}

impl Inner {
    /// [`Engine::guard_space`] on the calling (blocking) thread, for callers already there.
    pub(crate) fn check_space(&self, incoming: u64) -> Result<(), Error> {
        // The threshold in force (changed at run time by `Engine::set_min_free_space`).
        let min = self
            .min_free_space
            .load(std::sync::atomic::Ordering::Relaxed);
        if min == 0 {
            return Ok(());
        }
        let available = self.blob.available_space()?;
        let required = min.saturating_add(incoming);
        if available < required {
            return Err(Error::InsufficientStorage {
                available,
                required,
            });
        }
        Ok(())
    }
}

pub(crate) fn join_error(e: tokio::task::JoinError) -> Error {
    if e.is_panic() {
        std::panic::resume_unwind(e.into_panic());
    }
    Error::Io(std::io::Error::other("blocking task cancelled"))
}

/// `rec` if it is an upload `owner` may use: theirs, not expired, not being completed.
fn owned(rec: Option<UploadRec>, owner: &Principal) -> Result<UploadRec, Error> {
    let rec = rec.ok_or(Error::UnknownUpload)?;
    if &rec.owner != owner || rec.expires_ms() <= meta::now_ms() {
        return Err(Error::UnknownUpload);
    }
    if matches!(rec.state, UploadRecState::Completing(_)) {
        return Err(Error::UnknownUpload);
    }
    Ok(rec)
}
