//! The metadata seam (sled): sessions, chunk ledger, files, blob refcounts, indexes, and the
//! namespaced records of front ends. Bytes never live here.
//!
//! Discipline (STYLE.md row 8): versioned tree names, records carry a version marker, every
//! multi-tree change is one transaction, and every call happens off the async threads (the
//! facade wraps each use in `spawn_blocking`).

use serde::{de::DeserializeOwned, Deserialize, Serialize};
use sled::transaction::{ConflictableTransactionError, TransactionalTree};
use sled::Transactional;

use super::error::Error;
use super::journal::{self, Draft, EventKind};
use super::types::*;

mod blob_ops;
mod group;
mod journal_ops;
mod records;

pub(crate) use records::RecordOp;

/// Version marker written into every record.
const RECORD_VERSION: u32 = 1;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct UploadRec {
    pub v: u32,
    pub id: UploadId,
    pub owner: Principal,
    pub namespace: String,
    pub layout: Layout,
    pub digests: DigestSet,
    pub ttl_ms: u64,
    pub created_ms: u64,
    pub updated_ms: u64,
    pub state: UploadRecState,
    /// Indexed: the next index to append to the data file; all before it are in the file.
    #[serde(default)]
    pub frontier: u64,
    /// Indexed: bytes in the data file that belong to chunks `0..frontier`.
    #[serde(default)]
    pub data_len: u64,
    /// Indexed: the lowest chunk inside the prefix that was replaced by different bytes (now
    /// parked); the next fold cuts the data file back to it.
    #[serde(default)]
    pub rewind_from: Option<u64>,
    /// Ranged: byte ranges held, sorted, disjoint, non-adjacent: `(start, end)`.
    #[serde(default)]
    pub held: Vec<(u64, u64)>,
    /// Batch: parts counted so far.
    #[serde(default)]
    pub parts_done: u32,
    /// Batch: files held, in order.
    #[serde(default)]
    pub files: Vec<BatchFileRec>,
    /// The front end's labels (copied to files and events).
    #[serde(default)]
    pub labels: Labels,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) enum UploadRecState {
    Open,
    Failed(Mismatch),
    /// Completion passed verification and is moving bytes into the content store; if the
    /// process dies here, start-up finishes the completion (see `reconcile`).
    Completing(Vec<PendingFile>),
}

/// A file a completion is about to create.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct PendingFile {
    pub file: FileRec,
    /// Spool path (relative to the data dir) of the bytes to move into the blob.
    pub source: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct BatchFileRec {
    pub name: String,
    pub size: u64,
    pub digests: Digests,
    /// File name inside the upload's spool dir.
    pub spool: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct ChunkRec {
    pub len: u64,
    /// xxh3-128 of the bytes: recognises an identical re-send. Empty for chunks appended in
    /// order (not computed on the hot path; computed from the stored bytes when compared).
    pub fp: String,
    pub loc: ChunkLoc,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum ChunkLoc {
    /// In the data file at this offset.
    Data { offset: u64 },
    /// In its own file inside the spool dir.
    Parked { file: String },
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct FileRec {
    pub v: u32,
    pub id: FileId,
    pub owner: Principal,
    pub namespace: String,
    pub name: String,
    pub content_type: Option<String>,
    pub size: u64,
    pub digests: Digests,
    pub aliases: Vec<(String, String)>,
    pub created_ms: u64,
    pub expires_ms: Option<u64>,
    /// The upload the file came from (its events continue that upload's sequence).
    #[serde(default)]
    pub upload: Option<UploadId>,
    /// The labels of that upload.
    #[serde(default)]
    pub labels: Labels,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct BlobRec {
    pub v: u32,
    pub size: u64,
    pub refs: u64,
    /// Set when verification found the bytes corrupt or missing (`verify`): files of this blob
    /// are no longer served.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quarantined_ms: Option<u64>,
}

pub(crate) fn now_ms() -> u64 {
    ms_of(std::time::SystemTime::now())
}

pub(crate) fn ms_of(t: std::time::SystemTime) -> u64 {
    t.duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

pub(crate) fn time_of(ms: u64) -> std::time::SystemTime {
    std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms)
}

pub(crate) fn encode<T: Serialize>(v: &T) -> Vec<u8> {
    serde_json::to_vec(v).expect("metadata records serialize")
}

pub(crate) fn decode<T: DeserializeOwned>(b: &[u8]) -> Result<T, Error> {
    serde_json::from_slice(b).map_err(|e| Error::Corrupt(e.to_string()))
}

fn abort(e: Error) -> ConflictableTransactionError<Error> {
    ConflictableTransactionError::Abort(e)
}

fn tx_decode<T: DeserializeOwned>(b: &[u8]) -> Result<T, ConflictableTransactionError<Error>> {
    decode(b).map_err(abort)
}

pub(crate) fn chunk_key(id: &UploadId, index: u64) -> [u8; 24] {
    let mut k = [0u8; 24];
    k[..16].copy_from_slice(id.as_bytes());
    k[16..].copy_from_slice(&index.to_be_bytes());
    k
}

fn ns_key(ns: &str, key: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(ns.len() + 1 + key.len());
    k.extend_from_slice(ns.as_bytes());
    k.push(0);
    k.extend_from_slice(key.as_bytes());
    k
}

fn digest_key(kind: DigestKind, hex: &str, file: &FileId) -> Vec<u8> {
    let mut k = digest_prefix(kind, hex);
    k.extend_from_slice(file.as_bytes());
    k
}

fn digest_prefix(kind: DigestKind, hex: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(2 + hex.len() + 16);
    k.push(kind as u8);
    k.extend_from_slice(hex.to_ascii_lowercase().as_bytes());
    k.push(0);
    k
}

/// The sled database and its trees.
pub(crate) struct Meta {
    db: sled::Db,
    uploads: sled::Tree,
    chunks: sled::Tree,
    files: sled::Tree,
    blobs: sled::Tree,
    digests: sled::Tree,
    aliases: sled::Tree,
    records: sled::Tree,
    counters: sled::Tree,
    /// The event journal: position (u64 BE) -> event (see `journal`).
    events: sled::Tree,
    /// The journal head and each upload's event counter.
    seqs: sled::Tree,
    /// Shares flushes between concurrent strict-mode commits.
    flushes: group::FlushGroup,
}

impl Meta {
    pub(crate) fn open(path: &std::path::Path) -> Result<Meta, Error> {
        let db = sled::Config::new()
            .path(path)
            .flush_every_ms(Some(200))
            .open()
            .map_err(|e| {
                Error::Meta(format!(
                    "cannot open metadata store {}: {e}",
                    path.display()
                ))
            })?;
        Ok(Meta {
            uploads: db.open_tree("uploads.v1")?,
            chunks: db.open_tree("chunks.v1")?,
            files: db.open_tree("files.v1")?,
            blobs: db.open_tree("blobs.v1")?,
            digests: db.open_tree("digests.v1")?,
            aliases: db.open_tree("aliases.v1")?,
            records: db.open_tree("records.v1")?,
            counters: db.open_tree("counters.v1")?,
            events: db.open_tree("events.v1")?,
            seqs: db.open_tree("journal_seq.v1")?,
            flushes: group::FlushGroup::default(),
            db,
        })
    }

    /// Makes every change written before this call durable. Concurrent callers share flushes
    /// (group commit, see `group`): one flush covers all who arrived before it started.
    pub(crate) fn flush(&self) -> Result<(), Error> {
        match self.flushes.flush(|| self.db.flush().map(drop)) {
            Ok(()) => Ok(()),
            Err(group::FlushFailed::Own(e)) => Err(e.into()),
            Err(group::FlushFailed::Shared(e)) => Err(Error::Meta(e)),
        }
    }

    // ---- uploads and chunks -------------------------------------------------------------

    pub(crate) fn upload(&self, id: &UploadId) -> Result<Option<UploadRec>, Error> {
        self.uploads
            .get(id.as_bytes())?
            .map(|b| decode(&b))
            .transpose()
    }

    pub(crate) fn uploads(&self) -> Result<Vec<UploadRec>, Error> {
        self.uploads.iter().values().map(|v| decode(&v?)).collect()
    }

    pub(crate) fn upload_count(&self) -> usize {
        self.uploads.len()
    }

    /// Stores a new upload with its `UploadCreated` event.
    pub(crate) fn insert_upload(&self, rec: &UploadRec) -> Result<(), Error> {
        let draft = Draft::of_upload(EventKind::UploadCreated, rec);
        (&self.uploads, &self.events, &self.seqs).transaction(|(uploads, events, seqs)| {
            uploads.insert(rec.id.as_bytes(), encode(rec))?;
            journal::append(events, seqs, &draft)?;
            Ok(())
        })?;
        Ok(())
    }

    pub(crate) fn chunk(&self, id: &UploadId, index: u64) -> Result<Option<ChunkRec>, Error> {
        self.chunks
            .get(chunk_key(id, index))?
            .map(|b| decode(&b))
            .transpose()
    }

    /// Up to `max` consecutive chunks starting at index `from` (stops at the first gap).
    pub(crate) fn chunk_run(
        &self,
        id: &UploadId,
        from: u64,
        max: usize,
    ) -> Result<Vec<(u64, ChunkRec)>, Error> {
        let mut out = Vec::new();
        let end = chunk_key(id, u64::MAX);
        for kv in self.chunks.range(chunk_key(id, from)..=end) {
            let (k, v) = kv?;
            let mut idx = [0u8; 8];
            idx.copy_from_slice(&k[16..24]);
            let idx = u64::from_be_bytes(idx);
            if idx != from + out.len() as u64 || out.len() >= max {
                break;
            }
            out.push((idx, decode(&v)?));
        }
        Ok(out)
    }

    /// The indexes of an upload's chunks, ascending (keys only: nothing is decoded).
    pub(crate) fn chunk_indexes(&self, id: &UploadId) -> Result<Vec<u64>, Error> {
        self.chunks
            .scan_prefix(id.as_bytes())
            .keys()
            .map(|k| {
                let k = k?;
                let mut idx = [0u8; 8];
                idx.copy_from_slice(&k[16..24]);
                Ok(u64::from_be_bytes(idx))
            })
            .collect()
    }

    pub(crate) fn chunks(&self, id: &UploadId) -> Result<Vec<(u64, ChunkRec)>, Error> {
        self.chunks
            .scan_prefix(id.as_bytes())
            .map(|kv| {
                let (k, v) = kv?;
                let mut idx = [0u8; 8];
                idx.copy_from_slice(&k[16..24]);
                Ok((u64::from_be_bytes(idx), decode(&v)?))
            })
            .collect()
    }

    /// Writes an upload record together with chunk records (`None` removes the chunk).
    pub(crate) fn commit_upload(
        &self,
        rec: &UploadRec,
        chunks: &[(u64, Option<ChunkRec>)],
    ) -> Result<(), Error> {
        (&self.uploads, &self.chunks).transaction(|(uploads, ctree)| {
            if uploads.get(rec.id.as_bytes())?.is_none() {
                return Err(abort(Error::UnknownUpload));
            }
            uploads.insert(rec.id.as_bytes(), encode(rec))?;
            for (index, c) in chunks {
                let key = chunk_key(&rec.id, *index);
                match c {
                    Some(c) => ctree.insert(&key, encode(c))?,
                    None => ctree.remove(&key)?,
                };
            }
            Ok(())
        })?;
        Ok(())
    }

    /// Removes an upload and its chunk ledger.
    pub(crate) fn remove_upload(&self, id: &UploadId) -> Result<(), Error> {
        let keys: Vec<_> = self
            .chunks
            .scan_prefix(id.as_bytes())
            .keys()
            .collect::<Result<_, _>>()?;
        (&self.uploads, &self.chunks, &self.seqs).transaction(|(uploads, ctree, seqs)| {
            uploads.remove(id.as_bytes())?;
            for k in &keys {
                ctree.remove(k)?;
            }
            journal::forget_seq(seqs, id)?;
            Ok(())
        })?;
        Ok(())
    }

    // ---- files, blobs, indexes ------------------------------------------------------------

    pub(crate) fn file(&self, id: &FileId) -> Result<Option<FileRec>, Error> {
        self.files
            .get(id.as_bytes())?
            .map(|b| decode(&b))
            .transpose()
    }

    pub(crate) fn files(&self) -> Result<Vec<FileRec>, Error> {
        self.files.iter().values().map(|v| decode(&v?)).collect()
    }

    pub(crate) fn blobs(&self) -> Result<Vec<(String, BlobRec)>, Error> {
        self.blobs
            .iter()
            .map(|kv| {
                let (k, v) = kv?;
                Ok((String::from_utf8_lossy(&k).into_owned(), decode(&v)?))
            })
            .collect()
    }

    /// Atomically: the upload is gone with its chunk ledger, the files exist, their blobs are
    /// referenced once more each, the digest and alias indexes point at them, and one
    /// `UploadCompleted` event per file is in the journal.
    pub(crate) fn finish_completion(&self, id: &UploadId, files: &[FileRec]) -> Result<(), Error> {
        let keys: Vec<_> = self
            .chunks
            .scan_prefix(id.as_bytes())
            .keys()
            .collect::<Result<_, _>>()?;
        let trees = [
            &self.uploads,
            &self.chunks,
            &self.files,
            &self.blobs,
            &self.digests,
            &self.aliases,
            &self.events,
            &self.seqs,
        ];
        let drafts: Vec<Draft> = files
            .iter()
            .map(|f| Draft::of_file(EventKind::UploadCompleted, f))
            .collect();
        trees.transaction(|t: &Vec<TransactionalTree>| {
            let (uploads, ctree, ftree, btree) = (&t[0], &t[1], &t[2], &t[3]);
            uploads.remove(id.as_bytes())?;
            for k in &keys {
                ctree.remove(k)?;
            }
            for f in files {
                ftree.insert(f.id.as_bytes(), encode(f))?;
                let blob = match btree.get(f.digests.sha256.as_bytes())? {
                    Some(b) => {
                        let mut b: BlobRec = tx_decode(&b)?;
                        b.refs += 1;
                        b
                    }
                    None => BlobRec {
                        v: RECORD_VERSION,
                        size: f.size,
                        refs: 1,
                        quarantined_ms: None,
                    },
                };
                btree.insert(f.digests.sha256.as_bytes(), encode(&blob))?;
                index_file(&t[4], &t[5], f, true)?;
            }
            for d in &drafts {
                journal::append(&t[6], &t[7], d)?;
            }
            Ok(())
        })?;
        Ok(())
    }

    /// Atomically removes a file, its indexes and one reference to its blob, and records
    /// `FileDeleted`. Returns the file and whether the blob is now unreferenced (the caller
    /// removes its bytes).
    pub(crate) fn remove_file(&self, id: &FileId) -> Result<Option<(FileRec, bool)>, Error> {
        let trees = [
            &self.files,
            &self.blobs,
            &self.digests,
            &self.aliases,
            &self.events,
            &self.seqs,
        ];
        let out = trees.transaction(|t: &Vec<TransactionalTree>| {
            let Some(raw) = t[0].remove(id.as_bytes())? else {
                return Ok(None);
            };
            let f: FileRec = tx_decode(&raw)?;
            let mut orphan = false;
            if let Some(b) = t[1].get(f.digests.sha256.as_bytes())? {
                let mut b: BlobRec = tx_decode(&b)?;
                b.refs = b.refs.saturating_sub(1);
                if b.refs == 0 {
                    t[1].remove(f.digests.sha256.as_bytes())?;
                    orphan = true;
                } else {
                    t[1].insert(f.digests.sha256.as_bytes(), encode(&b))?;
                }
            }
            index_file(&t[2], &t[3], &f, false)?;
            journal::append(&t[4], &t[5], &Draft::of_file(EventKind::FileDeleted, &f))?;
            Ok(Some((f, orphan)))
        })?;
        Ok(out)
    }

    /// Sets when a file expires (`None`: kept), by compare-and-swap. `None` when it is gone.
    pub(crate) fn set_file_expiry(
        &self,
        id: &FileId,
        expires_ms: Option<u64>,
    ) -> Result<Option<FileRec>, Error> {
        loop {
            let Some(raw) = self.files.get(id.as_bytes())? else {
                return Ok(None);
            };
            let mut f: FileRec = decode(&raw)?;
            f.expires_ms = expires_ms;
            let swapped =
                self.files
                    .compare_and_swap(id.as_bytes(), Some(raw), Some(encode(&f)))?;
            if swapped.is_ok() {
                return Ok(Some(f));
            }
        }
    }

    /// Removes the record of a blob nobody references (start-up and sweeps).
    pub(crate) fn remove_blob_if_unreferenced(&self, sha256: &str) -> Result<bool, Error> {
        let Some(raw) = self.blobs.get(sha256.as_bytes())? else {
            return Ok(true);
        };
        let b: BlobRec = decode(&raw)?;
        if b.refs > 0 {
            return Ok(false);
        }
        Ok(self
            .blobs
            .compare_and_swap(sha256.as_bytes(), Some(raw), None as Option<&[u8]>)?
            .is_ok())
    }

    pub(crate) fn files_by_digest(
        &self,
        kind: DigestKind,
        hex: &str,
    ) -> Result<Vec<FileId>, Error> {
        self.digests
            .scan_prefix(digest_prefix(kind, hex))
            .keys()
            .map(|k| {
                let k = k?;
                let raw: [u8; 16] = k[k.len() - 16..]
                    .try_into()
                    .map_err(|_| Error::Corrupt("digest index key".into()))?;
                Ok(FileId(uuid::Uuid::from_bytes(raw)))
            })
            .collect()
    }

    pub(crate) fn alias(&self, ns: &str, legacy: &str) -> Result<Option<FileId>, Error> {
        self.aliases
            .get(ns_key(ns, legacy))?
            .map(|v| {
                let raw: [u8; 16] = v
                    .as_ref()
                    .try_into()
                    .map_err(|_| Error::Corrupt("alias value".into()))?;
                Ok(FileId(uuid::Uuid::from_bytes(raw)))
            })
            .transpose()
    }
}

/// One step of an atomic record batch.
/// Adds (or removes) a file's digest and alias index entries inside a transaction.
fn index_file(
    digests: &TransactionalTree,
    aliases: &TransactionalTree,
    f: &FileRec,
    add: bool,
) -> Result<(), ConflictableTransactionError<Error>> {
    for kind in DigestKind::ALL {
        if let Some(hex) = f.digests.get(kind) {
            let k = digest_key(kind, hex, &f.id);
            if add {
                digests.insert(k, &[][..])?;
            } else {
                digests.remove(k)?;
            }
        }
    }
    for (ns, legacy) in &f.aliases {
        let k = ns_key(ns, legacy);
        if add {
            aliases.insert(k, &f.id.as_bytes()[..])?;
        } else {
            aliases.remove(k)?;
        }
    }
    Ok(())
}

impl FileRec {
    pub(crate) fn info(&self) -> FileInfo {
        FileInfo {
            id: self.id,
            owner: self.owner.clone(),
            namespace: self.namespace.clone(),
            name: self.name.clone(),
            content_type: self.content_type.clone(),
            size: self.size,
            digests: self.digests.clone(),
            aliases: self.aliases.clone(),
            created_at: time_of(self.created_ms),
            expires_at: self.expires_ms.map(time_of),
            labels: self.labels.clone(),
        }
    }

    /// The file `upload` produces.
    pub(crate) fn new(upload: &UploadRec, meta: NewFile, size: u64, digests: Digests) -> Self {
        FileRec {
            upload: Some(upload.id),
            labels: upload.labels.clone(),
            owner: upload.owner.clone(),
            namespace: upload.namespace.clone(),
            v: RECORD_VERSION,
            id: FileId::random(),
            name: meta.name,
            content_type: meta.content_type,
            size,
            digests,
            aliases: meta.aliases,
            created_ms: now_ms(),
            expires_ms: meta.expires_at.map(ms_of),
        }
    }
}

impl UploadRec {
    pub(crate) fn new(new: &NewUpload, ttl: std::time::Duration) -> Self {
        let now = now_ms();
        UploadRec {
            v: RECORD_VERSION,
            id: UploadId::random(),
            owner: new.owner.clone(),
            namespace: new.namespace.clone(),
            layout: new.layout,
            digests: new.digests,
            ttl_ms: ttl.as_millis() as u64,
            created_ms: now,
            updated_ms: now,
            state: UploadRecState::Open,
            frontier: 0,
            data_len: 0,
            rewind_from: None,
            held: Vec::new(),
            parts_done: 0,
            files: Vec::new(),
            labels: new.labels.clone(),
        }
    }

    pub(crate) fn expires_ms(&self) -> u64 {
        self.updated_ms.saturating_add(self.ttl_ms)
    }

    /// Length of the gap-free prefix of a ranged upload.
    pub(crate) fn ranged_received(&self) -> u64 {
        match self.held.first() {
            Some((0, end)) => *end,
            _ => 0,
        }
    }
}
