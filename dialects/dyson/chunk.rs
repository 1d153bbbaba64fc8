//! `POST {prefix}/chunk/{taskId}/{chunkIndex}`: one chunk as the `chunk` part of a multipart
//! body (specs/dyson.md §5), streamed into the engine, never buffered whole.

use crate::telemetry;
use actix_multipart::Multipart;
use actix_web::error::PayloadError;
use actix_web::http::header;
use actix_web::{mime, web, HttpRequest, HttpResponse};
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tokio::sync::mpsc;

use super::error::DysonError;
use super::{auth, parse, Dyson};

/// What a chunk body may exceed `chunk_size` by (spec §5 check 5, §10).
const BODY_SLACK: u64 = 1_048_576;

/// Pieces of the part in flight between the multipart reader and the engine.
const PIPE_DEPTH: usize = 8;

// POST /api/files/upload/chunk/{taskId}/{chunkIndex}, and under /drive
pub async fn handle_chunk(
    req: HttpRequest,
    payload: web::Payload,
    path: web::Path<(String, String)>,
    dyson: web::Data<Dyson>,
) -> Result<HttpResponse, DysonError> {
    // Checks in the order of spec §5: credential, task, index, body size, `chunk` part. Whether
    // the task's upload is still open is left to the engine's write, or asked on a refusal.
    let owner = auth::principal(&req, &dyson.auth).await?;
    let (task_id, raw_index) = path.into_inner();
    let task = dyson.store.task_record(&owner, &task_id).await?;
    telemetry::record_upload_id(&req, &task_id);
    let limit = task.chunk_size + BODY_SLACK;
    let checked = parse::chunk_index(&raw_index, task.chunks_count).and_then(|index| {
        if super::content_length(&req).is_some_and(|n| n > limit) {
            return Err(DysonError::PayloadTooLarge { limit });
        }
        if !is_form_data(&req) {
            return Err(DysonError::chunk_required());
        }
        Ok(index)
    });
    let index = match checked {
        Ok(index) => index,
        Err(e) => return Err(dyson.store.refuse(&task, e).await),
    };

    let overflow = Arc::new(AtomicBool::new(false));
    let mut form = Multipart::new(req.headers(), limited(payload, limit, overflow.clone()));
    let too_large = || overflow.load(Ordering::SeqCst);
    let Some(field) = find_chunk_part(&mut form).await else {
        let e = if too_large() {
            DysonError::PayloadTooLarge { limit }
        } else {
            DysonError::chunk_required()
        };
        return Err(dyson.store.refuse(&task, e).await);
    };

    // The multipart reader is not `Send`; the engine wants a `Send` stream. A bounded channel
    // joins the two within this request, keeping memory per request constant.
    let (tx, rx) = mpsc::channel::<Result<Bytes, String>>(PIPE_DEPTH);
    let feed = feed_part(field, form, tx, overflow.clone());
    let body = Box::pin(futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    }));
    let store =
        dyson
            .store
            .engine()
            .put_chunk_limited(&owner, task.upload, index, body, Some(limit));
    let ((), stored) = futures_util::future::join(feed, store).await;
    match stored {
        // 200 with an empty body: Content-Length 0, no Content-Type (spec §5, §13).
        Ok(_) => Ok(HttpResponse::Ok().finish()),
        Err(crate::engine::Error::UnknownUpload) => Err(DysonError::UnknownTask),
        Err(_) if too_large() => Err(dyson
            .store
            .refuse(&task, DysonError::PayloadTooLarge { limit })
            .await),
        Err(e) => Err(e.into()),
    }
}

/// Whether the body is declared `multipart/form-data`.
fn is_form_data(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<mime::Mime>().ok())
        .is_some_and(|m| m.type_() == mime::MULTIPART && m.subtype() == mime::FORM_DATA)
}

/// The body, failing once more than `limit` bytes arrived (and saying so in `overflow`).
fn limited(
    payload: web::Payload,
    limit: u64,
    overflow: Arc<AtomicBool>,
) -> impl Stream<Item = Result<Bytes, PayloadError>> {
    let mut seen = 0u64;
    payload.map(move |piece| {
        let piece = piece?;
        seen += piece.len() as u64;
        if seen > limit {
            overflow.store(true, Ordering::SeqCst);
            return Err(PayloadError::Overflow);
        }
        Ok(piece)
    })
}

/// The first part named `chunk`; other parts before it are read and ignored. `None` when the
/// body ends or breaks first.
async fn find_chunk_part(form: &mut Multipart) -> Option<actix_multipart::Field> {
    while let Some(Ok(mut field)) = form.next().await {
        if field.name() == Some("chunk") {
            return Some(field);
        }
        while let Some(piece) = field.next().await {
            piece.ok()?;
        }
    }
    None
}

/// Sends the part's bytes to the engine, then reads the rest of the body: the engine sees the
/// end of the chunk only once the whole request has arrived within its limit, so a request cut
/// off or oversized anywhere leaves the earlier data of the chunk in place (spec §5).
async fn feed_part(
    mut field: actix_multipart::Field,
    mut form: Multipart,
    tx: mpsc::Sender<Result<Bytes, String>>,
    overflow: Arc<AtomicBool>,
) {
    let failure = 'read: {
        while let Some(piece) = field.next().await {
            match piece {
                Ok(bytes) => {
                    if tx.send(Ok(bytes)).await.is_err() {
                        return; // the engine stopped reading: it has its answer
                    }
                }
                Err(e) => break 'read Some(e.to_string()),
            }
        }
        drop(field);
        while let Some(next) = form.next().await {
            match next {
                Ok(mut other) => {
                    while let Some(piece) = other.next().await {
                        if let Err(e) = piece {
                            break 'read Some(e.to_string());
                        }
                    }
                }
                Err(e) => break 'read Some(e.to_string()),
            }
        }
        overflow
            .load(Ordering::SeqCst)
            .then(|| "body over its limit".to_owned())
    };
    if let Some(e) = failure {
        let _ = tx.send(Err(e)).await;
    }
}
