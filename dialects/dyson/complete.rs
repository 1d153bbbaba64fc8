//! `POST {prefix}/complete/{taskId}`: assemble, verify, store (specs/dyson.md §6), and seal the
//! result when the task asked for encryption (§9).

use crate::engine::{
    Completion, DigestSet, Engine, Expectation, FileInfo, Layout, NewFile, NewUpload, Principal,
};
use crate::telemetry;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use bytes::Bytes;
use std::time::{Duration, SystemTime};
use tokio::sync::mpsc;

use super::error::{json_response, DysonError};
use super::model::{new_id, CloudFile, FileRecord, NewCloudFile, TaskRecord, RECORD_VERSION};
use super::seal::{self, SealKey};
use super::{auth, lock, parse, Dyson, NAMESPACE};

/// How long the plaintext of a file being sealed may live at most: even if the server dies
/// between assembling and sealing, the sweeper removes it after this.
const PLAINTEXT_GRACE: Duration = Duration::from_secs(3600);

// POST /api/files/upload/complete/{taskId}, and under /drive
pub async fn handle_complete(
    req: HttpRequest,
    path: web::Path<String>,
    dyson: web::Data<Dyson>,
) -> Result<HttpResponse, DysonError> {
    let owner = auth::principal(&req, &dyson.auth).await?;
    let task_id = path.into_inner();
    let task = dyson.store.task_record(&owner, &task_id).await?;
    telemetry::record_upload_id(&req, &task_id);
    // Completes of one task run one at a time (§6); read the task again under the lock, so the
    // loser of a race finds it gone (404) once the winner has recorded the file.
    let _one_at_a_time = lock::lock(task.upload).await;
    let task = dyson.store.task_record(&owner, &task_id).await?;
    if let Err(e) = dyson.store.engine().upload(&owner, task.upload).await {
        return match recover_completed(&dyson, &task_id, &task).await? {
            Some(record) => Ok(json_response(StatusCode::OK, &record.cloud)),
            None => Err(e.into()),
        };
    }

    let id = task.file_id.clone().unwrap_or_else(new_id);
    let mut expect = Expectation::default().chunk_count(task.chunks_count);
    // Verified by the hash's length when it is hex (deviation: the original never checked).
    if let Some(kind) = parse::hash_kind(&task.hash) {
        expect = expect.digest(kind, task.hash.clone());
    }
    let aliases = vec![(NAMESPACE.to_owned(), id.clone())];
    let engine = dyson.store.engine();
    let file = match &task.seal {
        None => NewFile {
            name: task.file_name.clone(),
            content_type: Some(task.content_type.clone()),
            expires_at: task.expired_at,
            aliases,
        },
        // The plaintext gets no legacy id and a short life: it only feeds the sealing below.
        Some(_) => NewFile {
            name: task.file_name.clone(),
            content_type: Some(task.content_type.clone()),
            expires_at: Some(earliest(
                task.expired_at,
                SystemTime::now() + PLAINTEXT_GRACE,
            )),
            aliases: Vec::new(),
        },
    };
    // The engine serialises completions of one upload: a racing loser waits, then finds the
    // upload gone and answers 404 (spec §6).
    let assembled = match engine.complete(&owner, task.upload, expect, file).await? {
        Completion::Completed(f) => f,
        // The task and its chunks are kept (deviation: the original deleted them).
        Completion::MissingChunk(i) => return Err(DysonError::ChunkMissing(i)),
        Completion::Mismatch(m) => {
            return Err(match m.digest {
                Some(kind) => DysonError::HashMismatch {
                    kind,
                    expected: m.expected,
                    computed: m.actual,
                },
                // Dyson never declares a size, so the engine cannot report a size mismatch.
                None => DysonError::Internal(format!("unexpected size mismatch {m:?}")),
            });
        }
        Completion::Incomplete { received, size } => {
            return Err(DysonError::Internal(format!(
                "indexed upload reported as ranged: {received} of {size}"
            )))
        }
    };
    let md5 = assembled.digests.md5.clone().unwrap_or_default();
    let stored = match &task.seal {
        None => assembled.clone(),
        Some(key) => seal_file(engine, &owner, &assembled, key, &task, &id).await?,
    };
    let cloud = CloudFile::completed(NewCloudFile {
        id: &id,
        task: &task,
        md5,
        size: assembled.size,
        created: stored.created_at,
    });
    let record = FileRecord {
        v: RECORD_VERSION,
        file: stored.id,
        cloud,
    };
    dyson.store.finish_task(&task_id, &record).await?;
    Ok(json_response(StatusCode::OK, &record.cloud))
}

/// The file a completion of `task` stored just before the server stopped, before the task's
/// record was replaced by the file's (start-up finishes the engine's half of an interrupted
/// completion): found by the CloudFile id the task chose at create, and recorded now, so the
/// client's retried complete gets its CloudFile instead of a 404 for data it did upload.
/// Sealed tasks are not recovered: their plaintext carries no id and expires on its own.
async fn recover_completed(
    dyson: &Dyson,
    task_id: &str,
    task: &TaskRecord,
) -> Result<Option<FileRecord>, DysonError> {
    let (Some(id), None) = (task.file_id.as_deref(), &task.seal) else {
        return Ok(None);
    };
    let engine = dyson.store.engine();
    let Some(file_id) = engine.resolve_alias(NAMESPACE, id).await? else {
        return Ok(None);
    };
    let Some(stored) = engine.file(&file_id).await? else {
        return Ok(None);
    };
    let cloud = CloudFile::completed(NewCloudFile {
        id,
        task,
        md5: stored.digests.md5.clone().unwrap_or_default(),
        size: stored.size,
        created: stored.created_at,
    });
    let record = FileRecord {
        v: RECORD_VERSION,
        file: stored.id,
        cloud,
    };
    dyson.store.finish_task(task_id, &record).await?;
    tracing::info!(
        task_id,
        file = id,
        "dyson: recorded a completion a restart interrupted"
    );
    Ok(Some(record))
}

fn earliest(a: Option<SystemTime>, b: SystemTime) -> SystemTime {
    a.map_or(b, |a| a.min(b))
}

/// Stores the sealed form of `plain` as a new file with the legacy id, then deletes the
/// plaintext. On failure nothing sealed is left behind and the plaintext is deleted too.
async fn seal_file(
    engine: &Engine,
    owner: &Principal,
    plain: &FileInfo,
    key: &SealKey,
    task: &TaskRecord,
    id: &str,
) -> Result<FileInfo, DysonError> {
    let sealed = seal_into_engine(engine, owner, plain, key, task, id).await;
    if let Err(e) = engine.delete_file(owner, &plain.id).await {
        tracing::error!(error = %e, file = %plain.id, "plaintext of a sealed file not deleted; it expires on its own");
    }
    sealed
}

async fn seal_into_engine(
    engine: &Engine,
    owner: &Principal,
    plain: &FileInfo,
    key: &SealKey,
    task: &TaskRecord,
    id: &str,
) -> Result<FileInfo, DysonError> {
    let upload = engine
        .create_upload(NewUpload {
            owner: owner.clone(),
            namespace: NAMESPACE.to_owned(),
            layout: Layout::Indexed { count: Some(1) },
            digests: DigestSet::SHA256,
            ttl: Some(PLAINTEXT_GRACE),
            labels: Default::default(),
        })
        .await?;
    let result = async {
        let source = engine.content_path(plain);
        let (tx, rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(4);
        let (key, size) = (key.clone(), plain.size);
        // Read, encrypt and hand over one segment at a time on a blocking thread.
        let producer = tokio::task::spawn_blocking(move || {
            let run = || -> Result<(), seal::SealError> {
                let file = std::fs::File::open(&source)?;
                seal::seal(&key, std::io::BufReader::new(file), size, |piece| {
                    tx.blocking_send(Ok(Bytes::from(piece))).is_ok()
                })
            };
            if let Err(e) = run() {
                let _ = tx.blocking_send(Err(std::io::Error::other(e.to_string())));
            }
        });
        let body = Box::pin(futures_util::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|item| (item, rx))
        }));
        let put = engine.put_chunk(owner, upload.id, 0, body).await;
        producer
            .await
            .map_err(|e| DysonError::Internal(e.to_string()))?;
        put?;
        let file = NewFile {
            name: task.file_name.clone(),
            content_type: Some(task.content_type.clone()),
            expires_at: task.expired_at,
            aliases: vec![(NAMESPACE.to_owned(), id.to_owned())],
        };
        match engine
            .complete(
                owner,
                upload.id,
                Expectation::default().chunk_count(1),
                file,
            )
            .await?
        {
            Completion::Completed(f) if f.size == seal::sealed_len(plain.size) => Ok(f),
            other => Err(DysonError::Internal(format!(
                "sealed upload did not complete: {other:?}"
            ))),
        }
    }
    .await;
    if result.is_err() {
        let _ = engine.abort(owner, upload.id).await;
    }
    result
}
