//! `POST /v1/upload/get-token`: open an upload (specs/dstor.md §4).

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use futures_util::StreamExt;
use rand::distributions::{Alphanumeric, DistString};

use super::error::DstorError;
use super::model::{json_response, Stage, UploadRecord, UploadTokenBody, RECORD_VERSION};
use super::parse;
use super::state::{now_ms, upload_key, Dstor};
use crate::engine::{DigestSet, Layout, NewUpload};
use crate::telemetry;

// POST /v1/upload/get-token
pub async fn handle_get_token(
    req: HttpRequest,
    mut payload: web::Payload,
    dstor: web::Data<Dstor>,
) -> Result<HttpResponse, DstorError> {
    let owner = dstor.bearer_principal(&req).await?;
    // The body is JSON whatever its Content-Type (clients differ).
    // `dstor.max_json_bytes`: two small fields and whatever unknown keys a client adds.
    let max = usize::try_from(dstor.settings.max_json_bytes).unwrap_or(usize::MAX);
    let mut body = web::BytesMut::new();
    while let Some(piece) = payload.next().await {
        let piece = piece.map_err(|_| DstorError::BodyCutOff)?;
        if body.len() + piece.len() > max {
            return Err(DstorError::TooLarge);
        }
        body.extend_from_slice(&piece);
    }
    let request = parse::get_token(&body, dstor.settings.max_chunks)?;

    let upload = dstor
        .engine
        .create_upload(NewUpload {
            owner: owner.clone(),
            namespace: "dstor".into(),
            layout: Layout::Batch {
                parts: request.chunks_number,
            },
            digests: DigestSet::SHA256,
            ttl: Some(dstor.settings.upload_ttl),
            // Not the upload token: it is a credential, and labels reach webhook receivers.
            labels: [("folder_path".to_owned(), request.folder_path.clone())].into(),
        })
        .await?;
    let now = now_ms();
    let record = UploadRecord {
        v: RECORD_VERSION,
        owner,
        upload: upload.id,
        chunks_number: request.chunks_number,
        folder: request.folder_path,
        stage: Stage::Uploading,
        comments: Vec::new(),
        created_ms: now,
        last_request_ms: now,
        finished_ms: None,
        stored: Vec::new(),
    };
    // 62^32 tokens: a collision is all but impossible, but never overwrite one.
    let token = loop {
        let token = Alphanumeric.sample_string(&mut rand::thread_rng(), 32);
        if dstor
            .records
            .insert_new(&upload_key(&token), &record)
            .await?
        {
            break token;
        }
    };
    telemetry::record_upload_id(&req, &token);
    dstor.clone().into_inner().maybe_sweep();
    Ok(json_response(
        StatusCode::OK,
        &UploadTokenBody {
            message: "ok",
            token,
        },
    ))
}
