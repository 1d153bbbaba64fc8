//! Downloads (specs/spika.md §5): a file's bytes by legacy id or by the caller's `clientId`,
//! with `Content-Type` = the `mimeType` sent at verify, `Cache-Control: public, max-age=86400`
//! and single ranges (206/416) served by `actix_files::NamedFile` from the engine's blob.
//!
//! Only the owner may read a file (a deviation: `/uploads/files/...` was public, §10); another
//! principal's ids answer exactly like unknown ones.

use super::error::SpikaError;
use super::model::FileRecord;
use super::{credential, parse, Spika};
use crate::engine::{self, FileInfo};
use crate::telemetry;
use actix_files::NamedFile;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{web, HttpRequest, HttpResponse};

/// What the original's static file serving sent (one day, public).
const CACHE_CONTROL: &str = "public, max-age=86400";

// GET|HEAD /api/upload/files/{id}
/// The bytes of legacy file `id`.
pub async fn handle_download(
    req: HttpRequest,
    id: web::Path<String>,
    spika: web::Data<Spika>,
) -> Result<HttpResponse, SpikaError> {
    let owner = credential::principal(&req, &spika).await?;
    let id = parse::file_id(&id).ok_or(SpikaError::NotFound)?;
    let (record, file) = spika.store.file(&owner, id).await?;
    serve(&req, &spika, &record, &file).await
}

// GET|HEAD /uploads/files/{clientId}
/// The bytes of the file a `clientId` of the caller became (the `path` of the verify answer).
pub async fn handle_download_by_client_id(
    req: HttpRequest,
    client_id: web::Path<String>,
    spika: web::Data<Spika>,
) -> Result<HttpResponse, SpikaError> {
    let owner = credential::principal(&req, &spika).await?;
    if !parse::valid_client_id(&client_id) {
        return Err(SpikaError::NotFound);
    }
    let (record, file) = spika.store.file_by_client_id(&owner, &client_id).await?;
    serve(&req, &spika, &record, &file).await
}

async fn serve(
    req: &HttpRequest,
    spika: &Spika,
    record: &FileRecord,
    file: &FileInfo,
) -> Result<HttpResponse, SpikaError> {
    telemetry::record_upload_id(req, &file.id);
    let path = spika.store.content_path(file);
    let named = NamedFile::open_async(&path)
        .await
        .map_err(engine::Error::Io)?;
    // NamedFile's inode-based ETag and the blob's mtime say nothing about the content, and the
    // original sent no Content-Disposition.
    let mut response = named
        .use_etag(false)
        .use_last_modified(false)
        .disable_content_disposition()
        .into_response(req);
    if response.status().is_success() {
        let headers = response.headers_mut();
        // As sent at verify; a value that cannot be a header falls back to bytes.
        let content_type = HeaderValue::from_str(&record.mime_type)
            .unwrap_or(HeaderValue::from_static("application/octet-stream"));
        headers.insert(header::CONTENT_TYPE, content_type);
        headers.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static(CACHE_CONTROL),
        );
    }
    Ok(response)
}
