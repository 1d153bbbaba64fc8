//! `POST /v1/upload/`: one request ("chunk") of an upload, a batch of whole files
//! (specs/dstor.md §5).
//!
//! Files stream into the engine's staging area, each fed on the way to a [`FileCidBuilder`]
//! so its CID is ready when its last byte is in. The request counts, and its files join the
//! upload, only in `commit_with`, after the whole body has arrived and passed every check; a
//! rejected or cut-off request drops its staged files and leaves the upload as it was.

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use actix_multipart::{Field, Multipart, MultipartError};
use actix_web::error::PayloadError;
use actix_web::http::header::{self, HeaderMap, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use tokio::sync::mpsc;

use super::cid::{DagRoot, FileCidBuilder};
use super::error::DstorError;
use super::finalise;
use super::model::{json_response, ChunkAnswer, Stage, UploadRecord};
use super::parse;
use super::state::{cid_key, now_ms, upload_key, Dstor};
use super::tree::{self, TreeError};
use crate::engine::{BatchFileInfo, PartWriter, RecordBatch};
use crate::telemetry;

/// Pieces of one part that may wait for the engine (bounds memory per request).
const FIELD_DEPTH: usize = 8;

/// A file of this request, staged in the engine.
struct Staged {
    sha256: String,
    root: DagRoot,
}

// POST /v1/upload
pub async fn handle_upload(
    req: HttpRequest,
    payload: web::Payload,
    dstor: web::Data<Dstor>,
) -> Result<HttpResponse, DstorError> {
    // §5 steps 1–3.
    let owner = dstor.bearer_principal(&req).await?;
    let found = dstor.find_upload(&req, &owner).await?;
    telemetry::record_upload_id(&req, &found.token);
    // Step 4.
    let chunks = found.record.chunks_number;
    if found.record.stage != Stage::Uploading || found.parts_done >= chunks {
        return Err(DstorError::AllChunksUploaded(chunks));
    }
    // Step 5.
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    if !parse::is_form_data(content_type) {
        return Err(DstorError::NotMultipart);
    }
    // Step 6, when the length is declared; otherwise counted while streaming.
    let max = dstor.settings.max_request_bytes;
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|len| len > max) {
        return Err(DstorError::TooLarge);
    }
    let comment = req
        .headers()
        .get("x-dstor-comment")
        .map(|v| parse::comment(v.as_bytes()));

    // Steps 7–8 while the body streams in.
    let part = match dstor.engine.begin_part(&owner, found.record.upload).await {
        Ok(part) => part,
        Err(e) => return Err(finished_meanwhile(&dstor, &found.token, chunks, e).await),
    };
    let (part, staged) = receive(&req, payload, part, max).await?;

    // Step 9, serialised with every other request of the upload.
    let max_files = dstor.settings.max_files;
    let checked = match part
        .commit_with(|held: &[BatchFileInfo], new: &[BatchFileInfo]| {
            let held: Vec<&str> = held.iter().map(|f| f.name.as_str()).collect();
            let new: Vec<&str> = new.iter().map(|f| f.name.as_str()).collect();
            tree::check(&held, &new, max_files)
        })
        .await
    {
        Ok(checked) => checked,
        Err(e) => return Err(finished_meanwhile(&dstor, &found.token, chunks, e).await),
    };
    let info = checked.map_err(|e| tree_error(&found.record.folder, e))?;

    let last = info.parts_done >= chunks;
    record_request(&dstor, &found.token, &staged, comment, last).await?;
    if last {
        finalise::start(dstor.clone().into_inner(), found.token.clone());
    }
    let status = if last {
        Stage::AddingToIpfs
    } else {
        Stage::Uploading
    };
    Ok(json_response(
        StatusCode::OK,
        &ChunkAnswer {
            status: status.legacy_name(),
            upload_token: &found.token,
        },
    ))
}

/// The answer to an engine failure while this request was under way. When the engine no
/// longer knows the upload because a racing request was the last one and finalisation has
/// finished it, this request is one too many (400, §5 step 4), not an unknown token.
async fn finished_meanwhile(
    dstor: &Dstor,
    token: &str,
    chunks: u32,
    e: crate::engine::Error,
) -> DstorError {
    if matches!(e, crate::engine::Error::UnknownUpload) {
        if let Ok(Some(now)) = dstor.records.get::<UploadRecord>(&upload_key(token)).await {
            if now.stage != Stage::Uploading {
                return DstorError::AllChunksUploaded(chunks);
            }
        }
    }
    e.into()
}

/// Reads every part: files (any field name, §5 step 7) stream into `part`; other parts are
/// skipped. After the first invalid path nothing more is stored, but the body is still read
/// to its end, so that an over-long body answers 413 (step 6 comes first) and the client gets
/// its answer instead of a reset connection.
async fn receive(
    req: &HttpRequest,
    payload: web::Payload,
    mut part: PartWriter,
    max: u64,
) -> Result<(PartWriter, Vec<Staged>), DstorError> {
    let over = Arc::new(AtomicBool::new(false));
    let body = Limited {
        inner: payload,
        left: max,
        over: over.clone(),
    };
    let mut form = Multipart::new(&as_mixed(req.headers()), body);
    let too_large = || over.load(Ordering::Relaxed);
    let mut staged = Vec::new();
    let mut first_error = None;
    while let Some(field) = form.next().await {
        let mut field = match field {
            Ok(f) => f,
            Err(_) if too_large() => return Err(DstorError::TooLarge),
            Err(e) => return Err(multipart_error(e)),
        };
        let filename = field.content_disposition().and_then(parse::part_filename);
        let (Some(filename), None) = (filename, &first_error) else {
            drain(&mut field).await;
            continue;
        };
        let Some(rel) = parse::file_path(&filename) else {
            first_error = Some(DstorError::InvalidFilePath(filename));
            drain(&mut field).await;
            continue;
        };
        match store_field(&mut part, rel, field).await {
            Ok(s) => staged.push(s),
            Err(_) if too_large() => return Err(DstorError::TooLarge),
            Err(e) => return Err(e),
        }
    }
    if too_large() {
        return Err(DstorError::TooLarge);
    }
    if let Some(e) = first_error {
        return Err(e);
    }
    if staged.is_empty() {
        return Err(DstorError::NoFiles);
    }
    Ok((part, staged))
}

/// Streams one file part into the engine, its CID computed on the engine's observer thread.
/// A multipart field cannot leave the request's task, so it is pumped through a bounded
/// channel while the engine reads the other end.
async fn store_field(
    part: &mut PartWriter,
    rel: String,
    mut field: Field,
) -> Result<Staged, DstorError> {
    let (tx, rx) = mpsc::channel::<Result<Bytes, String>>(FIELD_DEPTH);
    let feed = async move {
        while let Some(piece) = field.next().await {
            let failed = piece.is_err();
            if tx.send(piece.map_err(|e| e.to_string())).await.is_err() || failed {
                break;
            }
        }
    };
    let body = Box::pin(futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|piece| (piece, rx))
    }));
    let store = part.add_file_observed(rel, body, None, FileCidBuilder::new());
    let ((), stored) = futures_util::join!(feed, store);
    let (info, builder) = stored?;
    Ok(Staged {
        sha256: info.sha256,
        root: builder.finish(),
    })
}

async fn drain(field: &mut Field) {
    while let Some(piece) = field.next().await {
        if piece.is_err() {
            break;
        }
    }
}

fn multipart_error(e: MultipartError) -> DstorError {
    match e {
        MultipartError::Incomplete | MultipartError::Payload(_) => DstorError::BodyCutOff,
        _ => DstorError::NotMultipart,
    }
}

/// The request's headers with `Content-Type: multipart/mixed` and the same boundary. The
/// multipart reader insists on a `name` for every form-data part, but dStor takes a part with
/// a filename as a file "whatever its field name" (§5 step 7); as `multipart/mixed` the
/// reader still parses each part's `Content-Disposition` and skips that check.
fn as_mixed(headers: &HeaderMap) -> HeaderMap {
    let mut out = headers.clone();
    let boundary = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(parse::boundary)
        .unwrap_or_default();
    if let Ok(v) = HeaderValue::from_str(&format!("multipart/mixed; boundary=\"{boundary}\"")) {
        out.insert(header::CONTENT_TYPE, v);
    }
    out
}

/// The request body, cut off with an error once it exceeds `dstor.max_request_bytes`.
struct Limited {
    inner: web::Payload,
    left: u64,
    over: Arc<AtomicBool>,
}

impl Stream for Limited {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.over.load(Ordering::Relaxed) {
            return Poll::Ready(None);
        }
        match Pin::new(&mut self.inner).poll_next(cx) {
            Poll::Ready(Some(Ok(b))) => {
                if b.len() as u64 > self.left {
                    self.over.store(true, Ordering::Relaxed);
                    return Poll::Ready(Some(Err(PayloadError::Overflow)));
                }
                self.left -= b.len() as u64;
                Poll::Ready(Some(Ok(b)))
            }
            other => other,
        }
    }
}

/// The legacy answer to a failed tree check, with paths as the `data` list names them.
fn tree_error(folder: &str, e: TreeError) -> DstorError {
    let full = |rel: &str| match (folder.is_empty(), rel.is_empty()) {
        (true, true) => "/".to_owned(),
        (true, false) => rel.to_owned(),
        (false, true) => folder.to_owned(),
        (false, false) => format!("{folder}/{rel}"),
    };
    match e {
        TreeError::Conflict(p) => DstorError::PathConflict(full(&p)),
        TreeError::FolderTooBig(p) => DstorError::FolderTooBig(full(&p)),
        TreeError::TooManyFiles => DstorError::TooManyFiles,
    }
}

/// Records what a counted request brought: the CIDs of its files, its comment, the time of
/// the last request and, after request N, the move to `ADDING_TO_IPFS` (one atomic batch).
async fn record_request(
    dstor: &Dstor,
    token: &str,
    staged: &[Staged],
    comment: Option<String>,
    last: bool,
) -> Result<(), DstorError> {
    let key = upload_key(token);
    loop {
        let current: UploadRecord = dstor
            .records
            .get(&key)
            .await?
            .ok_or(DstorError::UploadNotFound)?;
        let mut next = current.clone();
        next.last_request_ms = now_ms();
        next.comments.extend(comment.clone());
        // Only from UPLOADING: a get-status may already have started the processing.
        if last && next.stage == Stage::Uploading {
            next.stage = Stage::AddingToIpfs;
        }
        let mut batch = RecordBatch::new()
            .unchanged(&key, &current)
            .put(&key, &next);
        for s in staged {
            batch = batch.put(&cid_key(token, &s.sha256), &s.root);
        }
        if dstor.records.commit(batch).await? {
            return Ok(());
        }
    }
}
