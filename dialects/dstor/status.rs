//! `GET /v1/upload/get-status/`: where an upload is (specs/dstor.md §6).

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use super::error::DstorError;
use super::finalise;
use super::model::{data_entry, json_response, status_body, Finished, Stage, UploadRecord};
use super::state::{result_key, upload_key, Dstor, Found};
use crate::engine::RecordBatch;
use crate::telemetry;

// GET /v1/upload/get-status
pub async fn handle_get_status(
    req: HttpRequest,
    dstor: web::Data<Dstor>,
) -> Result<HttpResponse, DstorError> {
    let owner = dstor.bearer_principal(&req).await?;
    let Found {
        token,
        mut record,
        parts_done,
    } = dstor.find_upload(&req, &owner).await?;
    telemetry::record_upload_id(&req, &token);
    match &record.stage {
        // Every request counted but the record never moved on: the server stopped between
        // the last request and its bookkeeping. Move on now.
        Stage::Uploading if parts_done >= record.chunks_number => {
            record = begin_processing(&dstor, &token, record).await?;
            finalise::start(dstor.clone().into_inner(), token.clone());
        }
        // Processing that no task of this process is doing was interrupted by a restart.
        Stage::AddingToIpfs | Stage::SavingData if !finalise::is_running(&token) => {
            finalise::start(dstor.clone().into_inner(), token.clone());
        }
        _ => {}
    }
    let data = match record.stage {
        Stage::Done => {
            let finished: Vec<Finished> = dstor
                .records
                .get(&result_key(&token))
                .await?
                .unwrap_or_default();
            Some(
                finished
                    .into_iter()
                    .map(|f| data_entry(f.name, &f.root))
                    .collect(),
            )
        }
        _ => None,
    };
    Ok(json_response(
        StatusCode::OK,
        &status_body(&record.stage, data),
    ))
}

/// `UPLOADING` → `ADDING_TO_IPFS`, unless something else moved it first.
async fn begin_processing(
    dstor: &Dstor,
    token: &str,
    record: UploadRecord,
) -> Result<UploadRecord, DstorError> {
    let key = upload_key(token);
    let mut next = record.clone();
    next.stage = Stage::AddingToIpfs;
    let moved = dstor
        .records
        .commit(RecordBatch::new().unchanged(&key, &record).put(&key, &next))
        .await?;
    if moved {
        return Ok(next);
    }
    dstor
        .records
        .get(&key)
        .await?
        .ok_or(DstorError::UploadNotFound)
}
