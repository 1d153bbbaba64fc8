//! The per-(principal, `clientId`) state machine of specs/spika.md §6 over the engine and the
//! dialect's records (see `model.rs` for the keys):
//!
//! | state | records |
//! |---|---|
//! | none | neither `upload/...` nor `verified/...` |
//! | `collecting` | `upload/...` → an engine `Indexed` upload holding the chunks |
//! | `verified` | `verified/...` → the legacy file id; `file/<id>` → the file row |
//!
//! Every move between states is one atomic record batch with preconditions, so racing requests
//! cannot leave both a collecting upload and a verified marker. An engine upload that expired
//! (`spika.upload_ttl`, removed by the engine's sweeper) leaves a pointer behind: the next chunk
//! of that `clientId` replaces it, and a background sweep (at most every
//! [`POINTER_SWEEP_EVERY`], started when a new upload opens) removes the others.

use super::error::SpikaError;
use super::lock::lock;
use super::model::*;
use super::parse::VerifyRequest;
use crate::engine::{
    self, Completion, DigestKind, DigestSet, Engine, Expectation, FileInfo, Layout, NewFile,
    NewUpload, Principal, RecordBatch, Records, UploadId,
};
use bytes::Bytes;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Namespace of the alias that names a verified file by its engine upload, so a verify a
/// restart interrupted finds the file again.
const UPLOAD_ALIAS_NS: &str = "spika.upload";

/// Pieces in which a decoded chunk is handed to the engine (views of one buffer, no copies), so
/// digesting and writing overlap.
const PIECE: usize = 256 * 1024;

/// How often a chunk request retries after finding its upload gone (expired, or replaced by a
/// racing request); more means something is wrong.
const ATTEMPTS: usize = 4;

/// Least time between two sweeps of stale upload pointers (per server worker).
pub const POINTER_SWEEP_EVERY: Duration = Duration::from_secs(15 * 60);

/// Spika's view of the engine.
#[derive(Clone)]
pub struct Store {
    engine: Engine,
    records: Records,
    upload_ttl: Duration,
    /// Unix seconds of the last pointer sweep.
    last_sweep: Arc<AtomicU64>,
}

impl Store {
    pub fn new(engine: Engine, upload_ttl: Duration) -> Self {
        let records = engine.records(NAMESPACE);
        Store {
            engine,
            records,
            upload_ttl,
            last_sweep: Arc::new(AtomicU64::new(0)),
        }
    }

    async fn verified(
        &self,
        owner: &Principal,
        client_id: &str,
    ) -> Result<Option<VerifiedMarker>, SpikaError> {
        Ok(self.records.get(&verified_key(owner, client_id)).await?)
    }

    async fn pointer(
        &self,
        owner: &Principal,
        client_id: &str,
    ) -> Result<Option<UploadPointer>, SpikaError> {
        Ok(self.records.get(&upload_key(owner, client_id)).await?)
    }

    /// Stores chunk `offset` (§3 steps 3–4) and returns the indexes held afterwards, ascending.
    pub async fn store_chunk(
        &self,
        owner: &Principal,
        client_id: &str,
        offset: u64,
        data: Bytes,
    ) -> Result<(UploadId, Vec<u64>), SpikaError> {
        for _ in 0..ATTEMPTS {
            // Both records in one read (one hand-off to the blocking pool per chunk, not two).
            let (verified, pointer) = self
                .records
                .get_two::<VerifiedMarker, UploadPointer>(
                    &verified_key(owner, client_id),
                    &upload_key(owner, client_id),
                )
                .await?;
            if verified.is_some() {
                return Err(SpikaError::AlreadyExists);
            }
            let (pointer, created) = match pointer {
                Some(pointer) => (pointer, false),
                None => match self.open_upload(owner, client_id).await? {
                    Some(pointer) => (pointer, true),
                    None => continue, // another request got there first: use its upload
                },
            };
            let id = pointer.upload;
            match self
                .engine
                .put_chunk(owner, id, offset, pieces(data.clone()))
                .await
            {
                Ok(info) => return Ok((id, info.chunks)),
                Err(engine::Error::UnknownUpload) => {
                    // Expired, or being completed by a verify that may still be writing its
                    // records: wait for that verify, then look again.
                    let _verify = lock(id).await;
                    if self.verified(owner, client_id).await?.is_some() {
                        return Err(SpikaError::AlreadyExists);
                    }
                    // A verify that failed leaves its upload open: then simply retry.
                    if self.upload_gone(&pointer).await? {
                        let key = upload_key(owner, client_id);
                        let stale = RecordBatch::new().unchanged(&key, &pointer).remove(&key);
                        self.records.commit(stale).await?;
                    }
                }
                Err(e) => {
                    if created {
                        self.discard_if_empty(owner, client_id, &pointer).await;
                    }
                    return Err(e.into());
                }
            }
        }
        Err(engine::Error::Meta(format!(
            "upload of clientId {client_id} vanished {ATTEMPTS} times in a row"
        ))
        .into())
    }

    /// Opens an engine upload and points the `clientId` at it, unless it is no longer in state
    /// none (`Ok(None)`; the new upload is removed again).
    async fn open_upload(
        &self,
        owner: &Principal,
        client_id: &str,
    ) -> Result<Option<UploadPointer>, SpikaError> {
        let upload = self
            .engine
            .create_upload(NewUpload {
                owner: owner.clone(),
                namespace: NAMESPACE.to_owned(),
                layout: Layout::Indexed { count: None },
                digests: DigestSet::SHA256,
                ttl: Some(self.upload_ttl),
                labels: [("client_id".to_owned(), client_id.to_owned())].into(),
            })
            .await?;
        let pointer = UploadPointer::new(upload.id, owner.clone());
        let key = upload_key(owner, client_id);
        let claim = RecordBatch::new()
            .absent(&key)
            .absent(&verified_key(owner, client_id))
            .put(&key, &pointer);
        if self.records.commit(claim).await? {
            self.sweep_pointers_when_due();
            return Ok(Some(pointer));
        }
        self.engine.abort(owner, upload.id).await?;
        Ok(None)
    }

    /// Undoes an upload this request opened when its first chunk failed ("an error never
    /// changes stored state"), unless a parallel request has stored a chunk in it meanwhile.
    async fn discard_if_empty(&self, owner: &Principal, client_id: &str, pointer: &UploadPointer) {
        let undo = async {
            let info = self.engine.upload(owner, pointer.upload).await?;
            if !info.chunks.is_empty() {
                return Ok(());
            }
            let key = upload_key(owner, client_id);
            let drop_pointer = RecordBatch::new().unchanged(&key, pointer).remove(&key);
            if self.records.commit(drop_pointer).await? {
                self.engine.abort(owner, pointer.upload).await?;
            }
            Ok::<_, engine::Error>(())
        };
        if let Err(error) = undo.await {
            tracing::warn!(%error, upload = %pointer.upload, "could not discard an empty upload");
        }
    }

    /// Starts [`Store::sweep_pointers`] in the background unless one ran recently.
    fn sweep_pointers_when_due(&self) {
        let now = unix_ms(SystemTime::now()) / 1000;
        let last = self.last_sweep.load(Ordering::Relaxed);
        if now.saturating_sub(last) < POINTER_SWEEP_EVERY.as_secs()
            || self
                .last_sweep
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
        {
            return;
        }
        let store = self.clone();
        tokio::spawn(async move {
            match store.sweep_pointers().await {
                Ok(0) => {}
                Ok(n) => tracing::info!(pointers = n, "spika: removed pointers to expired uploads"),
                Err(error) => tracing::warn!(%error, "spika: sweeping upload pointers failed"),
            }
        });
    }

    /// Removes the pointers whose engine upload expired and was swept; returns how many.
    pub async fn sweep_pointers(&self) -> Result<usize, engine::Error> {
        let pointers: Vec<(String, UploadPointer)> = self.records.scan(UPLOAD_PREFIX).await?;
        let mut removed = 0;
        for (key, pointer) in pointers {
            if !self.upload_gone(&pointer).await? {
                continue;
            }
            // A verify of this upload holds the lock until its records are written; after it,
            // the pointer is gone already or the upload really expired.
            let _verify = lock(pointer.upload).await;
            if !self.upload_gone(&pointer).await? {
                continue;
            }
            let stale = RecordBatch::new().unchanged(&key, &pointer).remove(&key);
            if self.records.commit(stale).await? {
                removed += 1;
            }
        }
        Ok(removed)
    }

    async fn upload_gone(&self, pointer: &UploadPointer) -> Result<bool, engine::Error> {
        match self.engine.upload(&pointer.owner, pointer.upload).await {
            Ok(_) => Ok(false),
            Err(engine::Error::UnknownUpload) => Ok(true),
            Err(e) => Err(e),
        }
    }

    /// The indexes held for a `clientId` that is collecting (§5, the check route).
    pub async fn uploaded_chunks(
        &self,
        owner: &Principal,
        client_id: &str,
    ) -> Result<(UploadId, Vec<u64>), SpikaError> {
        if self.verified(owner, client_id).await?.is_some() {
            return Err(SpikaError::NotFound);
        }
        let pointer = self
            .pointer(owner, client_id)
            .await?
            .ok_or(SpikaError::NotFound)?;
        match self.engine.upload(owner, pointer.upload).await {
            Ok(info) if !info.chunks.is_empty() => Ok((pointer.upload, info.chunks)),
            Ok(_) | Err(engine::Error::UnknownUpload) => Err(SpikaError::NotFound),
            Err(e) => Err(e.into()),
        }
    }

    /// Assembles, verifies and records the file (§4 steps 3–7).
    pub async fn verify(
        &self,
        owner: &Principal,
        request: VerifyRequest,
    ) -> Result<(UploadId, FileRecord), SpikaError> {
        let client_id = request.fields.client_id.clone();
        // The pointer first: a verify finishing now removes it and writes the verified marker
        // in one batch, so without a pointer the marker tells "verified" from "none".
        let Some(pointer) = self.pointer(owner, &client_id).await? else {
            return Err(match self.verified(owner, &client_id).await? {
                Some(_) => SpikaError::AlreadyExists,
                None => SpikaError::NotAllChunks,
            });
        };
        let id = pointer.upload;
        let _one_at_a_time = lock(id).await;
        // Re-read under the lock: a verify we waited for may have finished this clientId.
        if self.verified(owner, &client_id).await?.is_some() {
            return Err(SpikaError::AlreadyExists);
        }
        if self.pointer(owner, &client_id).await?.as_ref() != Some(&pointer) {
            // Replaced after expiry while we waited: the new upload's chunks decide.
            return Err(SpikaError::NotAllChunks);
        }
        let held = match self.engine.upload(owner, id).await {
            Ok(info) => info.chunks,
            Err(engine::Error::UnknownUpload) => {
                // A verify a restart interrupted after the engine stored the file (start-up
                // finishes an interrupted completion) and before its records were written.
                return match self.stored_before_restart(owner, id).await? {
                    Some((file_number, file)) => {
                        let record = self
                            .record_verified(
                                owner,
                                &client_id,
                                &pointer,
                                file_number,
                                &file,
                                request,
                            )
                            .await?;
                        tracing::info!(
                            client_id,
                            file_number,
                            "spika: recorded a verify a restart interrupted"
                        );
                        Ok((id, record))
                    }
                    None => Err(SpikaError::NotAllChunks),
                };
            }
            Err(e) => return Err(e.into()),
        };
        if !holds_all(&held, request.total) {
            return Err(SpikaError::NotAllChunks);
        }
        // The legacy id must be known before completion (it is the file's alias); a failed
        // verify leaves a gap in the ids, which are only promised never to be reused.
        let file_number = self.records.next_id(FILE_COUNTER).await?;
        let expect = Expectation::default()
            .chunk_count(request.total)
            .digest(DigestKind::Sha256, request.file_hash.clone());
        let new_file = NewFile {
            name: request.fields.file_name.clone(),
            content_type: Some(request.fields.mime_type.clone()),
            expires_at: None,
            aliases: vec![
                (NAMESPACE.to_owned(), file_number.to_string()),
                // Found again by its upload if a restart interrupts this verify.
                (UPLOAD_ALIAS_NS.to_owned(), id.to_string()),
            ],
        };
        let file = match self.engine.complete(owner, id, expect, new_file).await? {
            Completion::Completed(file) => file,
            Completion::MissingChunk(_) => return Err(SpikaError::NotAllChunks),
            Completion::Mismatch(m) => {
                return Err(SpikaError::HashMismatch {
                    expected: m.expected,
                    actual: m.actual,
                })
            }
            Completion::Incomplete { .. } => {
                return Err(engine::Error::WrongLayout(Layout::Indexed { count: None }).into())
            }
        };
        let record = self
            .record_verified(owner, &client_id, &pointer, file_number, &file, request)
            .await?;
        Ok((id, record))
    }

    /// Writes the records of a verified `clientId` (pointer gone, verified marker, legacy
    /// file) in one batch. Call holding the upload's verify lock.
    async fn record_verified(
        &self,
        owner: &Principal,
        client_id: &str,
        pointer: &UploadPointer,
        file_number: u64,
        file: &FileInfo,
        request: VerifyRequest,
    ) -> Result<FileRecord, SpikaError> {
        let record = FileRecord::new(
            file_number,
            owner.clone(),
            file.id,
            unix_ms(file.created_at),
            request.fields,
        );
        let key = upload_key(owner, client_id);
        let verified = verified_key(owner, client_id);
        let done = RecordBatch::new()
            .unchanged(&key, pointer)
            .absent(&verified)
            .remove(&key)
            .put(&verified, &VerifiedMarker::new(file_number))
            .put(&file_key(file_number), &record);
        if !self.records.commit(done).await? {
            // Cannot happen while we hold the lock; keep no file that no record points to.
            self.engine.delete_file(owner, &file.id).await?;
            return Err(engine::Error::Meta(format!(
                "records of clientId {client_id} changed during its verify"
            ))
            .into());
        }
        Ok(record)
    }

    /// The file (and its legacy number) that a verify of upload `id` stored before a restart
    /// interrupted it, if any.
    async fn stored_before_restart(
        &self,
        owner: &Principal,
        id: UploadId,
    ) -> Result<Option<(u64, FileInfo)>, SpikaError> {
        let Some(file_id) = self
            .engine
            .resolve_alias(UPLOAD_ALIAS_NS, &id.to_string())
            .await?
        else {
            return Ok(None);
        };
        let file = match self.engine.owned_file(owner, &file_id).await {
            Ok(f) => f,
            Err(engine::Error::UnknownFile) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let number = file
            .aliases
            .iter()
            .find(|(ns, _)| ns == NAMESPACE)
            .and_then(|(_, n)| n.parse().ok());
        Ok(number.map(|n| (n, file)))
    }

    /// Legacy file `id` of `owner`, with the engine file holding its bytes.
    pub async fn file(
        &self,
        owner: &Principal,
        id: u64,
    ) -> Result<(FileRecord, FileInfo), SpikaError> {
        let record: FileRecord = self
            .records
            .get(&file_key(id))
            .await?
            .filter(|r: &FileRecord| &r.owner == owner)
            .ok_or(SpikaError::NotFound)?;
        match self.engine.owned_file(owner, &record.file_id).await {
            Ok(info) => Ok((record, info)),
            Err(engine::Error::UnknownFile) => Err(SpikaError::NotFound),
            Err(e) => Err(e.into()),
        }
    }

    /// Where a file's bytes are, for streaming a download.
    pub fn content_path(&self, file: &FileInfo) -> std::path::PathBuf {
        self.engine.content_path(file)
    }

    /// The file a `clientId` of `owner` became.
    pub async fn file_by_client_id(
        &self,
        owner: &Principal,
        client_id: &str,
    ) -> Result<(FileRecord, FileInfo), SpikaError> {
        let marker = self
            .verified(owner, client_id)
            .await?
            .ok_or(SpikaError::NotFound)?;
        self.file(owner, marker.file).await
    }
}

/// True when `held` (ascending, no duplicates) holds every index in `0..total`.
fn holds_all(held: &[u64], total: u64) -> bool {
    total == 0 || usize::try_from(total - 1).is_ok_and(|last| held.get(last) == Some(&(total - 1)))
}

/// The chunk's bytes as a stream of views into the one decoded buffer.
fn pieces(
    data: Bytes,
) -> futures_util::stream::Iter<impl Iterator<Item = Result<Bytes, std::convert::Infallible>>> {
    let len = data.len();
    let starts = (0..len.max(1)).step_by(PIECE);
    futures_util::stream::iter(
        starts.map(move |start| Ok(data.slice(start..(start + PIECE).min(len)))),
    )
}

fn unix_ms(t: std::time::SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;

    #[test]
    fn all_chunks_are_held_when_the_first_total_indexes_are_0_to_total_minus_1() {
        assert!(holds_all(&[0, 1, 2], 3));
        assert!(holds_all(&[0, 1, 2, 7], 3));
        assert!(holds_all(&[0], 1));
        assert!(!holds_all(&[0, 2], 2));
        assert!(!holds_all(&[0, 2, 3], 3));
        assert!(!holds_all(&[], 1));
        assert!(!holds_all(&[1, 2, 3], 3));
    }

    #[tokio::test]
    async fn a_pointer_to_an_expired_upload_is_swept_and_a_live_one_kept() {
        // Arrange
        let dir = tempfile::tempdir().unwrap();
        let config = engine::EngineConfig {
            data_dir: dir.path().to_owned(),
            min_free_space: 0,
            ..Default::default()
        };
        let engine = Engine::open(config).await.unwrap();
        let short = Store::new(engine.clone(), Duration::from_secs(60));
        let long = Store::new(engine.clone(), Duration::from_secs(3600));
        let alice = Principal::new("alice");
        short
            .store_chunk(&alice, "idle", 0, Bytes::from_static(b"a"))
            .await
            .unwrap();
        long.store_chunk(&alice, "busy", 0, Bytes::from_static(b"b"))
            .await
            .unwrap();
        let later = SystemTime::now() + Duration::from_secs(120);
        assert_eq!(engine.sweep(later).await.unwrap().uploads, 1);

        // Act
        let removed = short.sweep_pointers().await.unwrap();

        // Assert
        assert_eq!(removed, 1);
        let keys: Vec<String> = engine
            .inventory()
            .await
            .unwrap()
            .records
            .into_iter()
            .map(|(_, key, _)| key)
            .collect();
        assert_eq!(keys, vec![upload_key(&alice, "busy")]);
        assert_eq!(
            long.uploaded_chunks(&alice, "busy").await.unwrap().1,
            vec![0]
        );
    }

    #[tokio::test]
    async fn a_chunk_is_streamed_as_views_of_one_buffer() {
        let data = Bytes::from(vec![7u8; PIECE * 2 + 5]);
        let parts: Vec<Bytes> = pieces(data.clone()).map(|p| p.unwrap()).collect().await;
        assert_eq!(
            parts.iter().map(Bytes::len).collect::<Vec<_>>(),
            vec![PIECE, PIECE, 5]
        );
        assert_eq!(parts.concat(), data.to_vec());
        let empty: Vec<Bytes> = pieces(Bytes::new()).map(|p| p.unwrap()).collect().await;
        assert_eq!(empty, vec![Bytes::new()]);
    }
}
