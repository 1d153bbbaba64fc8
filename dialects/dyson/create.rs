//! `POST {prefix}/create`: de-duplicate or open an upload task (specs/dyson.md §4).

use crate::engine::{DigestSet, Layout, NewUpload};
use crate::telemetry;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use futures_util::StreamExt;
use std::time::SystemTime;

use super::error::{json_response, DysonError};
use super::model::{new_id, CreateResponse, TaskRecord, RECORD_VERSION};
use super::seal::SealKey;
use super::{auth, parse, Dyson, NAMESPACE};

// POST /api/files/upload/create, POST /drive/files/upload/create
pub async fn handle_create(
    req: HttpRequest,
    payload: web::Payload,
    dyson: web::Data<Dyson>,
) -> Result<HttpResponse, DysonError> {
    let owner = auth::principal(&req, &dyson.auth).await?;
    let body = read_json_body(&req, payload, dyson.settings.max_json_bytes).await?;
    let limits = dyson.create_limits();
    let create = parse::create_request(&body, &limits, SystemTime::now())?;
    let chunks_count = parse::chunks_count(&create, &limits)?;

    // De-duplication never applies to encrypted requests: it would silently drop encryption
    // (spec §12).
    if create.encrypt_password.is_none() {
        if let Some(kind) = parse::hash_kind(&create.hash) {
            let found = dyson
                .store
                .find_duplicate(&owner, dyson.settings.dedup_scope, kind, &create.hash)
                .await?;
            if let Some(file) = found {
                return Ok(json_response(
                    StatusCode::OK,
                    &CreateResponse::existing(file),
                ));
            }
        }
    }

    let seal = match create.encrypt_password.clone() {
        // Argon2 is deliberately slow and memory-hard: keep it off the async threads.
        Some(password) => Some(
            web::block(move || SealKey::generate(&password))
                .await
                .map_err(|e| DysonError::Internal(e.to_string()))?
                .map_err(|e| DysonError::Internal(e.to_string()))?,
        ),
        None => None,
    };
    // Chosen before the upload opens, so the upload carries it as a label.
    let task_id = super::model::new_id();
    let upload = dyson
        .store
        .engine()
        .create_upload(NewUpload {
            owner: owner.clone(),
            namespace: NAMESPACE.to_owned(),
            layout: Layout::Indexed {
                count: Some(chunks_count),
            },
            // MD5 is the CloudFile hash; SHA-1 and SHA-256 serve verification and dedup.
            digests: DigestSet::ALL,
            ttl: Some(dyson.settings.task_ttl),
            labels: [
                ("task_id".to_owned(), task_id.clone()),
                ("name".to_owned(), create.file_name.clone()),
            ]
            .into(),
        })
        .await?;
    let task = TaskRecord {
        v: RECORD_VERSION,
        upload: upload.id,
        owner,
        hash: create.hash,
        file_name: create.file_name,
        file_size: create.file_size,
        content_type: create.content_type,
        pool_id: create.pool_id,
        bundle_id: create.bundle_id,
        expired_at: create.expired_at,
        chunk_size: create.chunk_size,
        chunks_count,
        seal,
        file_id: Some(new_id()),
    };
    if !dyson.store.insert_task_as(&task_id, &task).await? {
        // A 126-bit random id was taken: never in practice, but never overwrite a task.
        let _ = dyson.store.engine().abort(&task.owner, task.upload).await;
        return Err(DysonError::Internal(format!("task id {task_id} taken")));
    }
    telemetry::record_upload_id(&req, &task_id);
    dyson.sweep_now_and_then();
    Ok(json_response(
        StatusCode::OK,
        &CreateResponse::task(task_id, task.chunk_size, chunks_count),
    ))
}

/// The body, whatever its `Content-Type` (spec §4), refused past `limit` bytes with 413.
async fn read_json_body(
    req: &HttpRequest,
    mut payload: web::Payload,
    limit: u64,
) -> Result<Vec<u8>, DysonError> {
    if super::content_length(req).is_some_and(|n| n > limit) {
        return Err(DysonError::PayloadTooLarge { limit });
    }
    let mut body = Vec::new();
    while let Some(piece) = payload.next().await {
        let piece = piece.map_err(|e| DysonError::BodyCutOff(e.to_string()))?;
        if (body.len() + piece.len()) as u64 > limit {
            return Err(DysonError::PayloadTooLarge { limit });
        }
        body.extend_from_slice(&piece);
    }
    Ok(body)
}
