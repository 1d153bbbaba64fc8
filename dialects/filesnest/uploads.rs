//! The upload routes (specs/filesnest.md §5.2, §5.8): store a chunk into its placeholder, list
//! a file's uploads, show one.

use std::rc::Rc;

use actix_web::dev::RequestHead;
use actix_web::http::header::HeaderMap;
use actix_web::http::Method;
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use bytes::Bytes;
use futures_util::future::LocalBoxFuture;
use futures_util::StreamExt;
use tokio::sync::{mpsc, watch};

use super::assemble::start_check;
use super::error::{During, FilesnestError};
use super::model::{now, Data, FileRecord, UploadJson, UploadRecord};
use super::page::paginate;
use super::parse::{self, ListQuery, PathId};
use super::Filesnest;
use crate::dialects::expect::ExpectCheck;
use crate::dialects::DialectContext;
use crate::engine::{ChunkIndex, Engine, Error, Principal, UploadId};
use crate::telemetry;

type Answer = Result<HttpResponse, FilesnestError>;

/// §5.2 steps 2–3 (and §5.8): the caller's file, then the upload inside it.
async fn file_and_upload(
    state: &Filesnest,
    owner: &Principal,
    file_id: &PathId,
    upload_id: &PathId,
) -> Result<(FileRecord, UploadRecord), FilesnestError> {
    let file = match file_id.value {
        Some(id) => state.store.file(owner, id).await?,
        None => None,
    }
    .ok_or_else(|| FilesnestError::FileNotFound(file_id.text.clone()))?;
    let upload = match upload_id.value {
        Some(id) => state.store.upload(owner, file.id, id).await?,
        None => None,
    }
    .ok_or_else(|| FilesnestError::UploadNotFound(upload_id.text.clone()))?;
    Ok((file, upload))
}

/// §5.2 steps 4–5, from the headers: the exact content type, then a declared length within the
/// limit (a chunked body is counted while it streams).
fn check_body_headers(state: &Filesnest, headers: &HeaderMap) -> Result<(), FilesnestError> {
    if !parse::is_octet_stream(headers) {
        return Err(FilesnestError::InvalidContentType);
    }
    if parse::content_length(headers).is_some_and(|n| n > state.settings.upload_max_size) {
        return Err(FilesnestError::TooLarge);
    }
    Ok(())
}

/// `Expect: 100-continue` on a chunk route (§5.2): the five checks run on the head, and a
/// request that fails one gets its answer without `100 Continue`, so the client never sends a
/// body that would be refused (curl waits up to a second for the `100`, then sends anyway).
pub fn expect(ctx: &DialectContext) -> ExpectCheck {
    let state = Rc::new(Filesnest::new(ctx));
    let base = ctx.path("/api/files/");
    Rc::new(move |head: &RequestHead| {
        if !matches!(head.method, Method::PUT | Method::PATCH) {
            return None;
        }
        let (file_id, upload_id) = chunk_route_ids(head.uri.path(), &base)?;
        let (state, headers) = (state.clone(), head.headers.clone());
        Some(Box::pin(async move {
            let checked = async {
                let owner = state.authenticate_headers(&headers).await?;
                file_and_upload(&state, &owner, &file_id, &upload_id).await?;
                check_body_headers(&state, &headers)
            };
            checked.await.err().map(|e| e.error_response())
        }) as LocalBoxFuture<'static, _>)
    })
}

/// The ids of `{base}{file_id}/uploads/{upload_id}[/]`, both ASCII digits (the route's pattern).
fn chunk_route_ids(path: &str, base: &str) -> Option<(PathId, PathId)> {
    let rest = path.strip_prefix(base)?;
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    let (file, upload) = rest.split_once("/uploads/")?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    (digits(file) && digits(upload)).then(|| (PathId::parse(file), PathId::parse(upload)))
}

/// `PATCH|PUT /api/files/{file_id}/uploads/{upload_id}` (§5.2): the raw body is the chunk.
/// Both verbs, because curl's upload mode sends PUT (§10).
pub async fn handle_update(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    payload: web::Payload,
    state: web::Data<Filesnest>,
) -> Answer {
    let owner = state.authenticate(&req).await?;
    let (file_id, upload_id) = (PathId::parse(&path.0), PathId::parse(&path.1));
    let slot = state.locks.slot(file_id.value.unwrap_or_default());
    // Shared: chunks of one file stream in parallel, but wait for a running check and see
    // its outcome (after a successful assembly the uploads are gone: 404 Upload).
    let shared = slot.lock.read().await;
    let (file, upload) = file_and_upload(&state, &owner, &file_id, &upload_id).await?;
    telemetry::record_upload_id(&req, &file.id);
    check_body_headers(&state, req.headers())?;
    let limit = state.settings.upload_max_size;

    let stored = stream_chunk(
        &state.engine,
        &owner,
        file.upload,
        upload.number - 1,
        payload,
        limit,
        slot.deleted.subscribe(),
    )
    .await;
    if *slot.deleted.borrow() {
        // Deleted while the body streamed (§5.7).
        return Err(FilesnestError::FileNotFound(file_id.text));
    }
    stored.map_err(|e| {
        FilesnestError::from_engine(
            e,
            During::Chunk {
                file: &file_id.text,
            },
        )
    })?;
    let upload = state
        .store
        .mark_stored(&owner, file.id, upload.id, now())
        .await
        .map_err(|e| {
            FilesnestError::from_engine(
                e,
                During::Chunk {
                    file: &file_id.text,
                },
            )
        })?
        .ok_or_else(|| FilesnestError::FileNotFound(file_id.text.clone()))?;
    // Still under the shared lock, so a check that starts later sees this chunk (assemble.rs).
    start_check(&state, owner, file.id, &slot);
    drop(shared);
    Ok(HttpResponse::Ok().json(Data {
        data: UploadJson::from(&upload),
    }))
}

/// Streams the request body into chunk `index` of the engine upload, never holding it whole.
///
/// actix's payload is bound to its worker thread, so it is forwarded through a small bounded
/// channel to the engine's (`Send`) body stream. A raised `deleted` signal ends the body with an
/// error, so nothing of it is stored.
async fn stream_chunk(
    engine: &Engine,
    owner: &Principal,
    upload: UploadId,
    index: ChunkIndex,
    mut payload: web::Payload,
    limit: u64,
    mut deleted: watch::Receiver<bool>,
) -> Result<(), Error> {
    let (tx, mut rx) = mpsc::channel::<Result<Bytes, String>>(4);
    let forward = async move {
        loop {
            let item = tokio::select! {
                biased;
                Ok(_) = deleted.wait_for(|d| *d) => Some(Err("the file was deleted".to_owned())),
                item = payload.next() => item.map(|r| r.map_err(|e| e.to_string())),
            };
            let Some(item) = item else { break };
            let failed = item.is_err();
            if tx.send(item).await.is_err() || failed {
                break;
            }
        }
    };
    let body = Box::pin(async_stream(&mut rx));
    let store = engine.put_chunk_limited(owner, upload, index, body, Some(limit));
    tokio::pin!(forward);
    tokio::pin!(store);
    // The engine may stop reading early (too large, an error): then the forwarder is dropped.
    tokio::select! {
        res = &mut store => res.map(drop),
        () = &mut forward => store.await.map(drop),
    }
}

/// The receiving end of the forwarder as a stream.
fn async_stream(
    rx: &mut mpsc::Receiver<Result<Bytes, String>>,
) -> impl futures_util::Stream<Item = Result<Bytes, String>> + Send + '_ {
    futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

/// `GET /api/files/{file_id}/uploads/{upload_id}` (§5.8).
pub async fn handle_show(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    state: web::Data<Filesnest>,
) -> Answer {
    let owner = state.authenticate(&req).await?;
    let (file_id, upload_id) = (PathId::parse(&path.0), PathId::parse(&path.1));
    let (file, upload) = file_and_upload(&state, &owner, &file_id, &upload_id).await?;
    telemetry::record_upload_id(&req, &file.id);
    Ok(HttpResponse::Ok().json(Data {
        data: UploadJson::from(&upload),
    }))
}

/// `GET /api/files/{file_id}/uploads` (§5.8): paginated, by `number`.
pub async fn handle_index(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<Filesnest>,
) -> Answer {
    let owner = state.authenticate(&req).await?;
    let file_id = PathId::parse(&path);
    let file = match file_id.value {
        Some(id) => state.store.file(&owner, id).await?,
        None => None,
    }
    .ok_or_else(|| FilesnestError::FileNotFound(file_id.text.clone()))?;
    telemetry::record_upload_id(&req, &file.id);
    let query = ListQuery::parse(req.query_string());
    let uploads = state.store.uploads(&owner, file.id).await?;
    let page = paginate(uploads, query.page, query.per_page, &state.base_url(&req));
    Ok(HttpResponse::Ok().json(super::page::Page {
        data: page.data.iter().map(UploadJson::from).collect::<Vec<_>>(),
        links: page.links,
        meta: page.meta,
    }))
}
