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
use super::types::*;

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
    /// xxh3-128 of the bytes: recognises an identical re-send.
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
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct BlobRec {
    pub v: u32,
    pub size: u64,
    pub refs: u64,
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
            db,
        })
    }

    pub(crate) fn flush(&self) -> Result<(), Error> {
        self.db.flush()?;
        Ok(())
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

    pub(crate) fn insert_upload(&self, rec: &UploadRec) -> Result<(), Error> {
        self.uploads.insert(rec.id.as_bytes(), encode(rec))?;
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
        (&self.uploads, &self.chunks).transaction(|(uploads, ctree)| {
            uploads.remove(id.as_bytes())?;
            for k in &keys {
                ctree.remove(k)?;
            }
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
    /// referenced once more each, and the digest and alias indexes point at them.
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
        ];
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
                    },
                };
                btree.insert(f.digests.sha256.as_bytes(), encode(&blob))?;
                index_file(&t[4], &t[5], f, true)?;
            }
            Ok(())
        })?;
        Ok(())
    }

    /// Atomically removes a file, its indexes and one reference to its blob. Returns the file
    /// and whether the blob is now unreferenced (the caller removes its bytes).
    pub(crate) fn remove_file(&self, id: &FileId) -> Result<Option<(FileRec, bool)>, Error> {
        let trees = [&self.files, &self.blobs, &self.digests, &self.aliases];
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

    // ---- namespaced records of front ends -------------------------------------------------

    pub(crate) fn record(&self, ns: &str, key: &str) -> Result<Option<Vec<u8>>, Error> {
        Ok(self.records.get(ns_key(ns, key))?.map(|v| v.to_vec()))
    }

    pub(crate) fn record_cas(
        &self,
        ns: &str,
        key: &str,
        old: Option<&[u8]>,
        new: Option<&[u8]>,
    ) -> Result<bool, Error> {
        Ok(self
            .records
            .compare_and_swap(ns_key(ns, key), old, new)?
            .is_ok())
    }

    /// Applies a batch atomically; false (and nothing changed) when a precondition fails.
    pub(crate) fn record_batch(&self, ns: &str, ops: &[RecordOp]) -> Result<bool, Error> {
        let res = self.records.transaction(|t| {
            for op in ops {
                match op {
                    RecordOp::Absent(k) => {
                        if t.get(ns_key(ns, k))?.is_some() {
                            return Err(ConflictableTransactionError::Abort(None));
                        }
                    }
                    RecordOp::Equals(k, v) => {
                        if t.get(ns_key(ns, k))?.as_deref() != Some(v.as_slice()) {
                            return Err(ConflictableTransactionError::Abort(None));
                        }
                    }
                    RecordOp::Put(k, v) => {
                        t.insert(ns_key(ns, k), v.as_slice())?;
                    }
                    RecordOp::Remove(k) => {
                        t.remove(ns_key(ns, k))?;
                    }
                }
            }
            Ok(())
        });
        match res {
            Ok(()) => Ok(true),
            Err(sled::transaction::TransactionError::Abort(None)) => Ok(false),
            Err(sled::transaction::TransactionError::Abort(Some(e))) => Err(e),
            Err(sled::transaction::TransactionError::Storage(e)) => Err(e.into()),
        }
    }

    pub(crate) fn record_put(&self, ns: &str, key: &str, value: &[u8]) -> Result<(), Error> {
        self.records.insert(ns_key(ns, key), value)?;
        Ok(())
    }

    pub(crate) fn record_remove(&self, ns: &str, key: &str) -> Result<Option<Vec<u8>>, Error> {
        Ok(self.records.remove(ns_key(ns, key))?.map(|v| v.to_vec()))
    }

    pub(crate) fn record_scan(
        &self,
        ns: &str,
        prefix: &str,
    ) -> Result<Vec<(String, Vec<u8>)>, Error> {
        let p = ns_key(ns, prefix);
        let skip = ns.len() + 1;
        self.records
            .scan_prefix(&p)
            .map(|kv| {
                let (k, v) = kv?;
                Ok((String::from_utf8_lossy(&k[skip..]).into_owned(), v.to_vec()))
            })
            .collect()
    }

    pub(crate) fn all_records(&self) -> Result<Vec<(String, String, Vec<u8>)>, Error> {
        self.records
            .iter()
            .map(|kv| {
                let (k, v) = kv?;
                let split = k.iter().position(|b| *b == 0).unwrap_or(k.len());
                let ns = String::from_utf8_lossy(&k[..split]).into_owned();
                let key = String::from_utf8_lossy(k.get(split + 1..).unwrap_or(&[])).into_owned();
                Ok((ns, key, v.to_vec()))
            })
            .collect()
    }

    /// Increments a per-namespace counter and returns the new value (1, 2, 3, ...). Atomic:
    /// sled's `update_and_fetch` retries on contention, so no two callers get the same value.
    pub(crate) fn next_counter(&self, ns: &str, name: &str) -> Result<u64, Error> {
        self.advance_counter(ns, name, 1)
    }

    /// Adds `by` to a counter atomically and returns its new value.
    pub(crate) fn advance_counter(&self, ns: &str, name: &str, by: u64) -> Result<u64, Error> {
        let v = self
            .counters
            .update_and_fetch(ns_key(ns, name), |old| {
                let n = old
                    .and_then(|b| <[u8; 8]>::try_from(b).ok())
                    .map(u64::from_be_bytes)
                    .unwrap_or(0);
                Some(n.saturating_add(by).to_be_bytes().to_vec())
            })?
            .ok_or_else(|| Error::Corrupt("counter vanished".into()))?;
        let raw: [u8; 8] = v
            .as_ref()
            .try_into()
            .map_err(|_| Error::Corrupt("counter value".into()))?;
        Ok(u64::from_be_bytes(raw))
    }
}

/// One step of an atomic record batch.
#[derive(Clone, Debug)]
pub(crate) enum RecordOp {
    /// Precondition: the key does not exist.
    Absent(String),
    /// Precondition: the key holds exactly these bytes.
    Equals(String, Vec<u8>),
    Put(String, Vec<u8>),
    Remove(String),
}

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
        }
    }

    pub(crate) fn new(
        owner: Principal,
        namespace: String,
        meta: NewFile,
        size: u64,
        digests: Digests,
    ) -> Self {
        FileRec {
            v: RECORD_VERSION,
            id: FileId::random(),
            owner,
            namespace,
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
