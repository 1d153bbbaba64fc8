//! The upload handlers: store a chunk, verify, check (specs/spika.md §3, §4, §5).
//!
//! Each handler authenticates first (§2), then reads and parses its body, then acts through the
//! store; every failure is a [`SpikaError`] rendered in the legacy format.

use super::error::SpikaError;
use super::model::{Success, UploadedChunks, VerifiedFile, JSON_CONTENT_TYPE};
use super::{body, credential, parse, Spika};
use crate::engine;
use crate::telemetry;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{web, HttpRequest, HttpResponse};
use bytes::Bytes;
use serde::Serialize;

/// 200 with a compact JSON body and the legacy content type.
pub fn json_ok<T: Serialize>(body: &T) -> HttpResponse {
    let bytes = serde_json::to_vec(body).expect("answers serialize");
    let mut response = HttpResponse::Ok().body(bytes);
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(JSON_CONTENT_TYPE),
    );
    response
}

// POST /api/upload/files
/// Stores one base64 chunk under (principal, `clientId`, `offset`) and answers the indexes held.
pub async fn handle_upload_chunk(
    req: HttpRequest,
    payload: web::Payload,
    spika: web::Data<Spika>,
) -> Result<HttpResponse, SpikaError> {
    let owner = credential::principal(&req, &spika).await?;
    let body = body::read(&req, payload, spika.settings.max_json_bytes).await?;
    let max_chunks = spika.settings.max_chunks;
    // Parsing and decoding up to `max_json_bytes` is CPU work: off the server's async threads.
    let parse::ChunkRequest {
        data,
        offset,
        client_id,
    } = web::block(move || parse::parse_chunk(&body, max_chunks))
        .await
        .map_err(|e| engine::Error::Io(std::io::Error::other(e.to_string())))??;
    let (upload, chunks) = spika
        .store
        .store_chunk(&owner, &client_id, offset, Bytes::from(data))
        .await?;
    telemetry::record_upload_id(&req, &upload);
    Ok(json_ok(&Success::new(UploadedChunks {
        uploaded_chunks: chunks,
    })))
}

// POST /api/upload/files/verify
/// Assembles chunks `0..total`, checks the SHA-256 and creates the file record.
pub async fn handle_verify(
    req: HttpRequest,
    payload: web::Payload,
    spika: web::Data<Spika>,
) -> Result<HttpResponse, SpikaError> {
    let owner = credential::principal(&req, &spika).await?;
    let body = body::read(&req, payload, spika.settings.max_json_bytes).await?;
    let request = parse::parse_verify(&body, spika.settings.max_chunks)?;
    // A mismatch is logged by the request span (4xx at info) with both digests.
    let (upload, record) = spika.store.verify(&owner, request).await?;
    telemetry::record_upload_id(&req, &upload);
    let path = format!("{}{}", spika.files_path, record.client_id);
    Ok(json_ok(&Success::new(VerifiedFile {
        file: record.view(path),
    })))
}

// GET /api/upload/files/check/{clientId}
/// The indexes held for a `clientId` that is still collecting; 404 otherwise.
pub async fn handle_check(
    req: HttpRequest,
    client_id: web::Path<String>,
    spika: web::Data<Spika>,
) -> Result<HttpResponse, SpikaError> {
    let owner = credential::principal(&req, &spika).await?;
    if !parse::valid_client_id(&client_id) {
        return Err(SpikaError::NotFound);
    }
    let (upload, chunks) = spika.store.uploaded_chunks(&owner, &client_id).await?;
    telemetry::record_upload_id(&req, &upload);
    Ok(json_ok(&Success::new(UploadedChunks {
        uploaded_chunks: chunks,
    })))
}
