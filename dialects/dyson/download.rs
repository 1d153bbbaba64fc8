//! `GET|HEAD /api/files/{id}` and `/drive/files/{id}`: a file's bytes with Range
//! (specs/dyson.md §8); encrypted files are opened with `?passcode=` (§9).

use crate::telemetry;
use actix_files::{HttpRange, NamedFile};
use actix_web::body::SizedStream;
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse, HttpResponseBuilder};
use bytes::Bytes;
use std::path::PathBuf;
use tokio::sync::mpsc;

use super::error::DysonError;
use super::model::FileRecord;
use super::seal::{Opened, SealError};
use super::{auth, Dyson};

/// What to send for a `Range` header (at most one range is honoured).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RangePlan {
    /// 200 with the whole content: no `Range`, or several ranges (spec §8).
    Whole,
    /// 206 with `len` bytes from `start`.
    Part { start: u64, len: u64 },
    /// 416 with `Content-Range: bytes */<size>`.
    Unsatisfiable,
}

/// Decides a `Range` header against a `size`-byte file, with the parser `NamedFile` uses, so
/// plain and sealed files answer alike.
pub fn range_plan(range: Option<&[u8]>, size: u64) -> RangePlan {
    let Some(range) = range else {
        return RangePlan::Whole;
    };
    let parsed = std::str::from_utf8(range)
        .ok()
        .map(|r| HttpRange::parse(r, size));
    match parsed {
        Some(Ok(ranges)) if ranges.len() == 1 => RangePlan::Part {
            start: ranges[0].start,
            len: ranges[0].length,
        },
        Some(Ok(ranges)) if ranges.len() > 1 => RangePlan::Whole,
        _ => RangePlan::Unsatisfiable,
    }
}

// GET|HEAD /api/files/{id}, GET|HEAD /drive/files/{id} (ids with a non-digit only)
pub async fn handle_download(
    req: HttpRequest,
    path: web::Path<String>,
    dyson: web::Data<Dyson>,
) -> Result<HttpResponse, DysonError> {
    let owner = auth::principal(&req, &dyson.auth).await?;
    let id = path.into_inner();
    let (rec, info) = dyson.store.file(&owner, &id).await?;
    telemetry::record_upload_id(&req, &id);
    let content = dyson.store.engine().content_path(&info);
    let size = rec.cloud.size;
    let plan = range_plan(req.headers().get(header::RANGE).map(|v| v.as_bytes()), size);
    if rec.cloud.is_encrypted {
        let passcode = auth::query_pairs(&req)
            .into_iter()
            .find(|(k, _)| k == "passcode")
            .map(|(_, v)| v)
            .ok_or(DysonError::WrongPasscode)?;
        let opened = open_sealed(content, size, passcode).await?;
        return Ok(serve_sealed(opened, plan, &rec, req.method()));
    }
    match plan {
        RangePlan::Unsatisfiable => Ok(unsatisfiable(size)),
        // NamedFile would answer several ranges with the first one alone.
        RangePlan::Whole if req.headers().contains_key(header::RANGE) => {
            serve_whole_plain(content, &rec, req.method()).await
        }
        RangePlan::Whole | RangePlan::Part { .. } => {
            let mut res = NamedFile::open_async(&content)
                .await
                .map_err(|e| DysonError::Internal(format!("content of {id}: {e}")))?
                .use_etag(false)
                .use_last_modified(false)
                .disable_content_disposition()
                .into_response(&req);
            res.headers_mut()
                .insert(header::CONTENT_TYPE, content_type(&rec));
            Ok(res)
        }
    }
}

/// `Content-Type` = `mime_type` as the client declared it.
fn content_type(rec: &FileRecord) -> HeaderValue {
    HeaderValue::from_str(&rec.cloud.mime_type)
        .unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"))
}

fn unsatisfiable(size: u64) -> HttpResponse {
    HttpResponse::RangeNotSatisfiable()
        .insert_header((header::CONTENT_RANGE, format!("bytes */{size}")))
        .finish()
}

/// The status line and headers of a 200 or 206 answer.
fn head(rec: &FileRecord, start: u64, len: u64) -> HttpResponseBuilder {
    let size = rec.cloud.size;
    let partial = (start, len) != (0, size);
    let mut res = HttpResponse::build(if partial {
        StatusCode::PARTIAL_CONTENT
    } else {
        StatusCode::OK
    });
    res.insert_header((header::CONTENT_TYPE, content_type(rec)))
        .insert_header((header::ACCEPT_RANGES, "bytes"));
    if partial {
        res.insert_header((
            header::CONTENT_RANGE,
            format!("bytes {start}-{}/{size}", start + len - 1),
        ));
    }
    res
}

/// The whole plain content as a 200 (for requests NamedFile would answer partially).
async fn serve_whole_plain(
    content: PathBuf,
    rec: &FileRecord,
    method: &Method,
) -> Result<HttpResponse, DysonError> {
    let size = rec.cloud.size;
    let mut res = head(rec, 0, size);
    if method == Method::HEAD {
        return Ok(res.no_chunking(size).finish());
    }
    let file =
        std::fs::File::open(&content).map_err(|e| DysonError::Internal(format!("content: {e}")))?;
    let body = produce(move |send| {
        use std::os::unix::fs::FileExt;
        let mut buf = vec![0u8; 64 * 1024];
        let mut pos = 0u64;
        while pos < size {
            let n = ((size - pos) as usize).min(buf.len());
            file.read_exact_at(&mut buf[..n], pos)?;
            if !send(buf[..n].to_vec()) {
                break;
            }
            pos += n as u64;
        }
        Ok(())
    });
    Ok(res.body(SizedStream::new(size, body)))
}

/// Opens sealed content with the passcode (runs the KDF off the async threads).
async fn open_sealed(content: PathBuf, size: u64, passcode: String) -> Result<Opened, DysonError> {
    let opened = web::block(move || {
        let file = std::fs::File::open(&content)?;
        Opened::open(file, size, &passcode)
    })
    .await
    .map_err(|e| DysonError::Internal(e.to_string()))?;
    match opened {
        Ok(o) => Ok(o),
        Err(SealError::WrongKey) => Err(DysonError::WrongPasscode),
        Err(e @ (SealError::Format(_) | SealError::Io(_))) => {
            tracing::error!(error = %e, "sealed content unreadable");
            Err(DysonError::Internal(e.to_string()))
        }
    }
}

/// The decrypted content (or the planned part of it).
fn serve_sealed(
    opened: Opened,
    plan: RangePlan,
    rec: &FileRecord,
    method: &Method,
) -> HttpResponse {
    let size = rec.cloud.size;
    let (start, len) = match plan {
        RangePlan::Unsatisfiable => return unsatisfiable(size),
        RangePlan::Whole => (0, size),
        RangePlan::Part { start, len } => (start, len),
    };
    let mut res = head(rec, start, len);
    if method == Method::HEAD {
        return res.no_chunking(len).finish();
    }
    let body = produce(move |send| {
        opened
            .read_range(start, len, send)
            .map_err(|e| std::io::Error::other(e.to_string()))
    });
    res.body(SizedStream::new(len, body))
}

/// A body stream fed by `work` on a blocking thread, a bounded number of pieces ahead.
fn produce<F>(
    work: F,
) -> std::pin::Pin<Box<dyn futures_util::Stream<Item = Result<Bytes, std::io::Error>>>>
where
    F: FnOnce(&mut dyn FnMut(Vec<u8>) -> bool) -> std::io::Result<()> + Send + 'static,
{
    let (tx, rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    tokio::task::spawn_blocking(move || {
        let mut send = |piece: Vec<u8>| tx.blocking_send(Ok(Bytes::from(piece))).is_ok();
        if let Err(e) = work(&mut send) {
            let _ = tx.blocking_send(Err(e));
        }
    });
    Box::pin(futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_headers_plan_one_part_the_whole_file_or_416() {
        let cases: &[(Option<&str>, u64, RangePlan)] = &[
            (None, 10, RangePlan::Whole),
            (Some("bytes=0-3"), 10, RangePlan::Part { start: 0, len: 4 }),
            (Some("bytes=5-"), 10, RangePlan::Part { start: 5, len: 5 }),
            (Some("bytes=-3"), 10, RangePlan::Part { start: 7, len: 3 }),
            (
                Some("bytes=0-99"),
                10,
                RangePlan::Part { start: 0, len: 10 },
            ),
            (Some("bytes=0-1,4-5"), 10, RangePlan::Whole),
            (Some("bytes=10-"), 10, RangePlan::Unsatisfiable),
            (Some("bytes=0-0"), 0, RangePlan::Unsatisfiable),
            (Some("items=0-1"), 10, RangePlan::Unsatisfiable),
        ];
        for (header, size, plan) in cases {
            assert_eq!(
                range_plan(header.map(str::as_bytes), *size),
                *plan,
                "{header:?} of {size}"
            );
        }
    }
}
