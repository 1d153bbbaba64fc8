//! Finalisation of an upload after its last request (specs/dstor.md §6): `ADDING_TO_IPFS`
//! (the files move into the content store under their CIDs, the folders get theirs), then
//! `SAVING_DATA` (the listing and the gateway index are written), then `DONE`; a failure at
//! either stage ends in `ERROR` with the upload's files discarded.
//!
//! It runs in the background, once per upload token in this process. A restart interrupts it;
//! the next get-status of the token starts it again from the stage recorded.

use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use super::cid::{DagRoot, FileCidBuilder};
use super::error::DstorError;
use super::model::{Finished, GatewayEntry, ProcessingStage, Stage, UploadRecord};
use super::state::{cid_prefix, gateway_key, now_ms, result_key, upload_key, Dstor};
use super::tree;
use crate::engine::{self, BatchCompletion, BatchFileInfo, FileId, FileInfo, NewFile, RecordBatch};

/// Upload tokens being finalised in this process.
static RUNNING: LazyLock<Mutex<HashSet<String>>> = LazyLock::new(Default::default);

/// How long finalisation waits for the CIDs of a request that counted just before the last
/// one but had not written them yet (milliseconds apart in practice).
const CID_WAIT: Duration = Duration::from_millis(50);
const CID_WAIT_ROUNDS: u32 = 100;

/// Removes its token from [`RUNNING`] when the task ends, however it ends.
struct Running(String);

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(mut r) = RUNNING.lock() {
            r.remove(&self.0);
        }
    }
}

/// True while `token` is being finalised by this process.
pub fn is_running(token: &str) -> bool {
    RUNNING.lock().is_ok_and(|r| r.contains(token))
}

/// Starts finalising `token` in the background unless it already is.
pub fn start(dstor: Arc<Dstor>, token: String) {
    if !RUNNING.lock().is_ok_and(|mut r| r.insert(token.clone())) {
        return;
    }
    let running = Running(token.clone());
    tokio::spawn(async move {
        let _running = running;
        if let Err(error) = run(&dstor, &token).await {
            tracing::error!(%error, token, "dStor finalisation could not record its outcome");
        }
    });
}

async fn run(dstor: &Dstor, token: &str) -> Result<(), DstorError> {
    let Some(record) = dstor
        .records
        .get::<UploadRecord>(&upload_key(token))
        .await?
    else {
        return Ok(());
    };
    match record.stage {
        Stage::AddingToIpfs => match add_to_ipfs(dstor, token, &record).await {
            Ok(record) => save_data(dstor, token, record).await,
            Err((explanation, stored)) => {
                fail(
                    dstor,
                    token,
                    ProcessingStage::AddingToIpfs,
                    explanation,
                    stored,
                )
                .await
            }
        },
        Stage::SavingData => save_data(dstor, token, record).await,
        Stage::Uploading | Stage::Done | Stage::Error { .. } => Ok(()),
    }
}

/// What a failure tells the client, and the files already stored (to discard).
type Failure = (String, Vec<FileId>);

fn failure(e: impl Into<DstorError>, stored: Vec<FileId>) -> Failure {
    let explanation = match e.into() {
        DstorError::InsufficientStorage => "Not enough storage space".to_owned(),
        DstorError::UploadNotFound => "The uploaded files are no longer available".to_owned(),
        // A pre-complete hook refused the folder: its reason is the explanation.
        DstorError::Rejected(reason) => reason,
        _ => "Internal server error".to_owned(),
    };
    (explanation, stored)
}

/// Namespace of the aliases that number an upload's stored files in upload order, so a
/// finalisation a restart interrupted finds them again (see [`order_key`]).
const FILE_ORDER_NS: &str = "dstor.upload";

/// `<sha256(token) hex, 32 digits>/<n>`: the upload token is a credential, and aliases are shown
/// to operators and in webhook bodies, so only a digest of it is stored.
fn order_key(token: &str, n: usize) -> String {
    use sha2::Digest as _;
    let digest = hex::encode(sha2::Sha256::digest(token.as_bytes()));
    format!("{}/{n}", &digest[..32])
}

/// Stores the upload's files in the content store (aliased `dstor:<cid>` and, by position,
/// `dstor.upload:<order key>`).
async fn store_files(
    dstor: &Dstor,
    token: &str,
    record: &UploadRecord,
    cids: &HashMap<String, DagRoot>,
) -> Result<Vec<FileInfo>, Failure> {
    let folder = record.folder.clone();
    let completion = dstor
        .engine
        .complete_batch(&record.owner, record.upload, |n, f| {
            let mut aliases = vec![(FILE_ORDER_NS.to_owned(), order_key(token, n))];
            if let Some(r) = cids.get(&f.sha256) {
                aliases.push(("dstor".to_owned(), r.cid.to_string()));
            }
            NewFile {
                name: join(&folder, &f.name),
                content_type: Some(content_type(&f.name)),
                expires_at: None,
                aliases,
            }
        })
        .await
        .map_err(|e| failure(e, vec![]))?;
    match completion {
        BatchCompletion::Completed(files) => Ok(files),
        BatchCompletion::MissingParts { done, parts } => {
            tracing::error!(
                done,
                parts,
                token,
                "finalising an upload that lacks requests"
            );
            Err(failure(DstorError::Internal, vec![]))
        }
    }
}

/// The files an interrupted finalisation of `token` stored, in upload order (empty if none).
async fn stored_before_restart(dstor: &Dstor, token: &str) -> Result<Vec<FileInfo>, DstorError> {
    let mut files = Vec::new();
    for n in 0.. {
        let Some(id) = dstor
            .engine
            .resolve_alias(FILE_ORDER_NS, &order_key(token, n))
            .await?
        else {
            break;
        };
        match dstor.engine.file(&id).await? {
            Some(f) => files.push(f),
            None => break,
        }
    }
    Ok(files)
}

/// `ADDING_TO_IPFS`: stores the files (aliased `dstor:<cid>`), computes the folders' CIDs and
/// records the listing; the record moves to `SAVING_DATA`.
async fn add_to_ipfs(
    dstor: &Dstor,
    token: &str,
    record: &UploadRecord,
) -> Result<UploadRecord, Failure> {
    let owner = &record.owner;
    let (files, cids) = match dstor.engine.upload(owner, record.upload).await {
        Ok(info) => {
            let held = info.batch_files;
            let cids = known_cids(dstor, token, &held)
                .await
                .map_err(|e| failure(e, vec![]))?;
            let files = store_files(dstor, token, record, &cids).await?;
            (files, cids)
        }
        // A restart interrupted this stage after the engine stored the files (start-up
        // finishes an interrupted completion) but before the record moved on: find them.
        Err(engine::Error::UnknownUpload) => {
            let files = stored_before_restart(dstor, token)
                .await
                .map_err(|e| failure(e, vec![]))?;
            if files.is_empty() {
                return Err(failure(DstorError::UploadNotFound, vec![]));
            }
            tracing::info!(
                token,
                files = files.len(),
                "dStor: resuming a finalisation a restart interrupted"
            );
            let cids = known_cids(dstor, token, &[])
                .await
                .map_err(|e| failure(e, vec![]))?;
            (files, cids)
        }
        Err(e) => return Err(failure(e, vec![])),
    };
    let folder = record.folder.clone();
    let stored: Vec<FileId> = files.iter().map(|f| f.id).collect();
    let mut roots = Vec::with_capacity(files.len());
    for f in &files {
        let rel = relative(&folder, &f.name).to_owned();
        let root = match cids.get(&f.digests.sha256) {
            Some(r) => *r,
            None => cid_from_disk(dstor, f)
                .await
                .map_err(|e| failure(e, stored.clone()))?,
        };
        roots.push((rel, root));
    }
    let ids: HashMap<String, FileId> = files.iter().map(|f| (f.name.clone(), f.id)).collect();
    let finished: Vec<Finished> = tree::listing(&folder, &roots)
        .into_iter()
        .map(|l| Finished {
            file: ids.get(&l.name).copied().filter(|_| l.links.is_none()),
            name: l.name,
            root: l.root,
            links: l.links,
        })
        .collect();
    let moved = move_stage(
        dstor,
        token,
        record,
        |next| {
            next.stage = Stage::SavingData;
            next.stored = stored.clone();
        },
        |batch| batch.put(&result_key(token), &finished),
    )
    .await;
    match moved {
        Ok(Some(next)) => Ok(next),
        Ok(None) => Err(failure(DstorError::Internal, stored)),
        Err(e) => Err(failure(e, stored)),
    }
}

/// Moves the upload's record on from `record.stage` with `change`, committing `extra` in the
/// same batch. A request that counted before the last one may write its bookkeeping (time,
/// comment) after finalisation read the record; that keeps the stage, so the move is retried on
/// the fresh record. `None` when the stage itself moved meanwhile.
async fn move_stage(
    dstor: &Dstor,
    token: &str,
    record: &UploadRecord,
    change: impl Fn(&mut UploadRecord),
    extra: impl Fn(RecordBatch) -> RecordBatch,
) -> Result<Option<UploadRecord>, DstorError> {
    let key = upload_key(token);
    let mut current = record.clone();
    loop {
        let mut next = current.clone();
        change(&mut next);
        let batch = extra(
            RecordBatch::new()
                .unchanged(&key, &current)
                .put(&key, &next),
        );
        if dstor.records.commit(batch).await? {
            return Ok(Some(next));
        }
        match dstor.records.get::<UploadRecord>(&key).await? {
            Some(now) if now.stage == record.stage => current = now,
            _ => return Ok(None),
        }
    }
}

/// `SAVING_DATA`: indexes every file and folder for the gateway and moves to `DONE`, in one
/// atomic batch.
async fn save_data(dstor: &Dstor, token: &str, record: UploadRecord) -> Result<(), DstorError> {
    let saved = async {
        let finished: Vec<Finished> = dstor
            .records
            .get(&result_key(token))
            .await?
            .ok_or_else(|| DstorError::from(engine::Error::Corrupt("dstor listing".into())))?;
        let finished_ms = now_ms();
        move_stage(
            dstor,
            token,
            &record,
            |next| {
                next.stage = Stage::Done;
                next.finished_ms = Some(finished_ms);
            },
            |mut batch| {
                for f in &finished {
                    let entry = match (&f.file, &f.links) {
                        (_, Some(links)) => GatewayEntry::Folder {
                            links: links.clone(),
                        },
                        (Some(file), None) => GatewayEntry::File {
                            file: *file,
                            name: f.name.clone(),
                        },
                        (None, None) => continue,
                    };
                    batch = batch.put(&gateway_key(&f.root.cid.to_string(), &record.owner), &entry);
                }
                batch
            },
        )
        .await
    }
    .await;
    let failed = match saved {
        Ok(Some(_)) => {
            tracing::info!(token, "dStor upload done");
            return Ok(());
        }
        Ok(None) => DstorError::Internal,
        Err(e) => e,
    };
    let (explanation, stored) = failure(failed, record.stored);
    fail(
        dstor,
        token,
        ProcessingStage::SavingData,
        explanation,
        stored,
    )
    .await
}

/// `ERROR`: discards what the upload stored (or still holds) and records the failure.
async fn fail(
    dstor: &Dstor,
    token: &str,
    at: ProcessingStage,
    explanation: String,
    stored: Vec<FileId>,
) -> Result<(), DstorError> {
    tracing::warn!(token, stage = at.legacy_name(), %explanation, "dStor upload failed");
    let key = upload_key(token);
    let Some(record) = dstor.records.get::<UploadRecord>(&key).await? else {
        return Ok(());
    };
    for id in stored.iter().chain(&record.stored) {
        match dstor.engine.delete_file(&record.owner, id).await {
            Ok(_) | Err(engine::Error::UnknownFile) => {}
            Err(e) => tracing::error!(error = %e, file = %id, "could not discard a file"),
        }
    }
    match dstor.engine.abort(&record.owner, record.upload).await {
        Ok(()) | Err(engine::Error::UnknownUpload) => {}
        Err(e) => tracing::error!(error = %e, "could not discard an upload"),
    }
    let mut next = record.clone();
    next.stage = Stage::Error { explanation, at };
    next.finished_ms = Some(now_ms());
    next.stored = Vec::new();
    let batch = RecordBatch::new()
        .unchanged(&key, &record)
        .put(&key, &next)
        .remove(&result_key(token));
    dstor.records.commit(batch).await?;
    Ok(())
}

/// The CIDs recorded by the requests of the upload, by content SHA-256. A request that
/// counted just before the last one may still be writing its own: wait for them, briefly.
async fn known_cids(
    dstor: &Dstor,
    token: &str,
    held: &[BatchFileInfo],
) -> Result<HashMap<String, DagRoot>, DstorError> {
    let mut rounds = 0;
    loop {
        let cids: HashMap<String, DagRoot> = dstor
            .records
            .scan::<DagRoot>(&cid_prefix(token))
            .await?
            .into_iter()
            .filter_map(|(k, v)| Some((k.rsplit_once('/')?.1.to_owned(), v)))
            .collect();
        if held.iter().all(|f| cids.contains_key(&f.sha256)) || rounds == CID_WAIT_ROUNDS {
            return Ok(cids);
        }
        rounds += 1;
        tokio::time::sleep(CID_WAIT).await;
    }
}

/// A stored file's CID computed from its bytes: only when its request's CIDs were lost (the
/// server stopped between counting the request and recording them).
async fn cid_from_disk(dstor: &Dstor, file: &FileInfo) -> Result<DagRoot, DstorError> {
    let path = dstor.engine.content_path(file);
    tokio::task::spawn_blocking(move || -> std::io::Result<DagRoot> {
        let mut f = std::fs::File::open(path)?;
        let mut builder = FileCidBuilder::new();
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = f.read(&mut buf)?;
            if n == 0 {
                return Ok(builder.finish());
            }
            builder.write(&buf[..n]);
        }
    })
    .await
    .map_err(|e| engine::Error::Io(std::io::Error::other(e.to_string())))?
    .map_err(|e| DstorError::from(engine::Error::Io(e)))
}

fn join(folder: &str, rel: &str) -> String {
    if folder.is_empty() {
        rel.to_owned()
    } else {
        format!("{folder}/{rel}")
    }
}

fn relative<'a>(folder: &str, name: &'a str) -> &'a str {
    if folder.is_empty() {
        name
    } else {
        name.strip_prefix(folder)
            .and_then(|r| r.strip_prefix('/'))
            .unwrap_or(name)
    }
}

/// The Content-Type recorded on a stored file, from its extension.
pub fn content_type(name: &str) -> String {
    let ext = std::path::Path::new(name)
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("");
    actix_files::file_extension_to_mime(ext).to_string()
}

#[cfg(test)]
mod tests {
    use super::order_key;

    #[test]
    fn the_order_key_numbers_files_per_upload_without_storing_the_token() {
        let token = "a1b2c3d4e5f60718293a4b5c6d7e8f90";
        let (first, second) = (order_key(token, 0), order_key(token, 1));
        assert!(!first.contains(token) && !second.contains(token));
        assert_eq!(first.split_once('/'), Some((&first[..32], "0")));
        assert_eq!(&first[..33], &second[..33]);
        assert_ne!(&first[..32], &order_key("another token", 0)[..32]);
    }
}
