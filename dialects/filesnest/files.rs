//! The file routes (specs/filesnest.md §5.1, §5.3–§5.7): create, list, search, show, update
//! and delete.

use actix_web::{web, HttpRequest, HttpResponse};
use futures_util::StreamExt;
use serde_json::{Map, Value};

use super::assemble::{start_check, SlotRef};
use super::error::{During, FilesnestError};
use super::model::{now, Data, FileJson, FileRecord, FileStatus, UploadRecord};
use super::page::paginate;
use super::parse::{self, ListQuery, PathId};
use super::search::matches_all;
use super::validate::{self, ValidationErrors};
use super::Filesnest;
use crate::engine::{DigestSet, Error, Layout, NewUpload, Principal};
use crate::telemetry;

type Answer = Result<HttpResponse, FilesnestError>;

/// In-progress files wait for their chunks as long as the file exists: the original has no
/// expiry, and a swept upload would leave a file that can never complete.
const NEVER: std::time::Duration = std::time::Duration::from_secs(100 * 365 * 24 * 3600);

/// Reads a create/update/search body (at most `max_json_bytes`, else 413) as §4 says: JSON
/// bodies only, normalised the way Laravel's middleware does.
async fn read_json(
    req: &HttpRequest,
    mut payload: web::Payload,
    limit: u64,
) -> Result<Map<String, Value>, FilesnestError> {
    if parse::content_length(req.headers()).is_some_and(|n| n > limit) {
        return Err(FilesnestError::TooLarge);
    }
    let mut body = web::BytesMut::new();
    while let Some(piece) = payload.next().await {
        let piece = piece.map_err(|e| FilesnestError::BodyCutOff(e.to_string()))?;
        if (body.len() + piece.len()) as u64 > limit {
            return Err(FilesnestError::TooLarge);
        }
        body.extend_from_slice(&piece);
    }
    let json = parse::is_json(req.headers()).then_some(&body[..]);
    Ok(validate::normalize_body(json))
}

/// The caller's file `id`, or 404 File (also for another principal's file).
async fn owned_file(
    state: &Filesnest,
    owner: &Principal,
    id: &PathId,
) -> Result<FileRecord, FilesnestError> {
    let found = match id.value {
        Some(v) => state.store.file(owner, v).await?,
        None => None,
    };
    found.ok_or_else(|| FilesnestError::FileNotFound(id.text.clone()))
}

/// The file as JSON, with its uploads when asked for.
async fn file_json(
    state: &Filesnest,
    owner: &Principal,
    file: &FileRecord,
    with_uploads: bool,
) -> Result<Value, FilesnestError> {
    let uploads = if with_uploads {
        Some(state.store.uploads(owner, file.id).await?)
    } else {
        None
    };
    Ok(serde_json::to_value(FileJson::new(file, uploads.as_deref())).unwrap_or_default())
}

/// The uniqueness rule's answer for the body's `name` (§4): taken by a file other than `except`.
async fn name_taken_by_other(
    state: &Filesnest,
    owner: &Principal,
    body: &Map<String, Value>,
    except: Option<u64>,
) -> Result<Option<String>, FilesnestError> {
    let Some(name) = validate::name_candidate(body) else {
        return Ok(None);
    };
    let holder = state.store.file_named(owner, name).await?;
    Ok(holder
        .filter(|id| Some(*id) != except)
        .map(|_| name.to_owned()))
}

fn name_taken() -> FilesnestError {
    let mut errors = ValidationErrors::new();
    errors.push("name", "The name has already been taken.");
    FilesnestError::Validation(errors)
}

/// `POST /api/files` (§5.1): the file and its `chunks_count` uploads; 201 with the uploads
/// always included (a documented superset of the original).
pub async fn handle_store(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<Filesnest>,
) -> Answer {
    let owner = state.authenticate(&req).await?;
    let body = read_json(&req, payload, state.settings.max_json_bytes).await?;
    let taken = name_taken_by_other(&state, &owner, &body, None).await?;
    let input = validate::validate_create(&body, state.settings.max_chunks, |n| {
        taken.as_deref() == Some(n)
    })
    .map_err(FilesnestError::Validation)?;

    let id = state.store.next_file_id().await?;
    let ids = state.store.next_upload_ids(input.chunks_count).await?;
    let upload = state
        .engine
        .create_upload(NewUpload {
            owner: owner.clone(),
            namespace: super::store::NAMESPACE.to_owned(),
            layout: Layout::Indexed {
                count: Some(input.chunks_count),
            },
            digests: DigestSet::SHA256,
            ttl: Some(NEVER),
            // The legacy file id and name, for webhook subscribers (docs/webhooks.md).
            labels: [
                ("file_id".to_owned(), id.to_string()),
                ("name".to_owned(), input.name.clone()),
            ]
            .into(),
        })
        .await?;
    telemetry::record_upload_id(&req, &id);
    let at = now();
    let file = FileRecord {
        id,
        name: input.name,
        create_datetime: input.create_datetime,
        checksum: input.checksum,
        created_at: at,
        updated_at: at,
        status: FileStatus::InProgress,
        chunks_count: input.chunks_count,
        upload: upload.id,
        file: None,
    };
    let uploads: Vec<UploadRecord> = ids
        .zip(1..)
        .map(|(id, number)| UploadRecord {
            id,
            number,
            created_at: at,
            updated_at: at,
            completed: false,
        })
        .collect();
    let created = state.store.create(&owner, &file, &uploads).await;
    if !matches!(created, Ok(true)) {
        // Nothing of a refused create may stay: drop the engine upload again.
        if let Err(e) = state.engine.abort(&owner, upload.id).await {
            tracing::warn!(error = %e, "filesnest: could not drop the upload of a refused create");
        }
        // Another create took the name between the check and now.
        return Err(created.map_or_else(FilesnestError::from, |_| name_taken()));
    }
    Ok(HttpResponse::Created().json(Data {
        data: FileJson::new(&file, Some(&uploads)),
    }))
}

/// `GET /api/files` (§5.4): the caller's files by id, paginated.
pub async fn handle_index(req: HttpRequest, state: web::Data<Filesnest>) -> Answer {
    let owner = state.authenticate(&req).await?;
    let query = ListQuery::parse(req.query_string());
    let files = state.store.files(&owner).await?;
    page_of_files(&state, &req, &owner, files, query).await
}

/// `POST /api/files/search` (§5.5): the caller's files whose name passes every filter.
pub async fn handle_search(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<Filesnest>,
) -> Answer {
    let owner = state.authenticate(&req).await?;
    let body = read_json(&req, payload, state.settings.max_json_bytes).await?;
    let filters = validate::validate_search(&body).map_err(FilesnestError::Validation)?;
    let query = ListQuery::parse(req.query_string());
    let files: Vec<FileRecord> = state
        .store
        .files(&owner)
        .await?
        .into_iter()
        .filter(|f| matches_all(&filters, &f.name))
        .collect();
    page_of_files(&state, &req, &owner, files, query).await
}

async fn page_of_files(
    state: &Filesnest,
    req: &HttpRequest,
    owner: &Principal,
    files: Vec<FileRecord>,
    query: ListQuery,
) -> Answer {
    let page = paginate(files, query.page, query.per_page, &state.base_url(req));
    let mut data = Vec::with_capacity(page.data.len());
    for f in &page.data {
        data.push(file_json(state, owner, f, query.include_uploads).await?);
    }
    Ok(HttpResponse::Ok().json(super::page::Page {
        data,
        links: page.links,
        meta: page.meta,
    }))
}

/// `GET /api/files/{file_id}` (§5.3).
pub async fn handle_show(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<Filesnest>,
) -> Answer {
    let owner = state.authenticate(&req).await?;
    let id = PathId::parse(&path);
    let slot = state.locks.slot(id.value.unwrap_or_default());
    // Shared, like a chunk request: the answer never shows a check's outcome half-recorded.
    let _shared = slot.lock.read().await;
    let file = owned_file(&state, &owner, &id).await?;
    telemetry::record_upload_id(&req, &file.id);
    resume_interrupted_check(&state, &owner, &file, &slot).await?;
    let json = file_json(&state, &owner, &file, parse::include_of(req.query_string())).await?;
    Ok(HttpResponse::Ok().json(Data { data: json }))
}

/// A file still `in_progress` with a checksum and every chunk stored should be assembling. If
/// the server stopped before (or while) its check ran, nothing would ever run it again: the
/// client has sent everything and only polls (§6, §10). So a poll of such a file starts the
/// check; it finishes an assembly start-up completed, or assembles now. The check is coalesced
/// and serialised (assemble.rs), so a poll racing a chunk's own check costs nothing. Call with
/// the file's lock held shared.
async fn resume_interrupted_check(
    state: &Filesnest,
    owner: &Principal,
    file: &FileRecord,
    slot: &SlotRef,
) -> Result<(), FilesnestError> {
    if file.status != FileStatus::InProgress || file.checksum.is_none() {
        return Ok(());
    }
    let done = state
        .store
        .uploads_done(owner, file.id)
        .await
        .map_err(|e| FilesnestError::from_engine(e, During::Request))?;
    if done < file.chunks_count {
        return Ok(());
    }
    start_check(state, owner.clone(), file.id, slot);
    Ok(())
}

/// `PATCH|PUT /api/files/{file_id}` (§5.6): new metadata; a checksum sent re-runs the check.
pub async fn handle_update(
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
    state: web::Data<Filesnest>,
) -> Answer {
    let owner = state.authenticate(&req).await?;
    let id = PathId::parse(&path);
    let slot = state.locks.slot(id.value.unwrap_or_default());
    // Exclusive: an update waits for chunks in flight and for a running check, then sees its
    // outcome (a file completed meanwhile cannot be updated).
    let _exclusive = slot.lock.write().await;
    let file = owned_file(&state, &owner, &id).await?;
    telemetry::record_upload_id(&req, &file.id);
    if file.status == FileStatus::Completed {
        return Err(FilesnestError::CompletedFile);
    }
    let body = read_json(&req, payload, state.settings.max_json_bytes).await?;
    let taken = name_taken_by_other(&state, &owner, &body, Some(file.id)).await?;
    let input = validate::validate_update(&body, |n| taken.as_deref() == Some(n))
        .map_err(FilesnestError::Validation)?;

    let updated = FileRecord {
        name: input.name.unwrap_or_else(|| file.name.clone()),
        create_datetime: input
            .create_datetime
            .unwrap_or_else(|| file.create_datetime.clone()),
        checksum: input
            .checksum
            .clone()
            .unwrap_or_else(|| file.checksum.clone()),
        updated_at: now(),
        ..file.clone()
    };
    if !state.store.save(&owner, &file, &updated).await? {
        // The record is stable under the exclusive lock, so the new name was taken meanwhile.
        return Err(name_taken());
    }
    if matches!(input.checksum, Some(Some(_))) {
        start_check(&state, owner.clone(), file.id, &slot);
    }
    let json = file_json(
        &state,
        &owner,
        &updated,
        parse::include_of(req.query_string()),
    )
    .await?;
    Ok(HttpResponse::Ok().json(Data { data: json }))
}

/// `DELETE /api/files/{file_id}` (§5.7): everything of the file goes; the answer is the record
/// as it was, without uploads.
pub async fn handle_destroy(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<Filesnest>,
) -> Answer {
    let owner = state.authenticate(&req).await?;
    let id = PathId::parse(&path);
    // Checked before signalling: another principal's request must not disturb this file.
    owned_file(&state, &owner, &id).await?;
    let slot = state.locks.slot(id.value.unwrap_or_default());
    // Chunk bodies still streaming stop now (and answer 404 File) instead of delaying us.
    slot.deleted.send_replace(true);
    let result = destroy(&state, &owner, &id).await;
    if result.is_err() {
        slot.deleted.send_replace(false);
    }
    let file = result?;
    telemetry::record_upload_id(&req, &file.id);
    Ok(HttpResponse::Ok().json(Data {
        data: FileJson::new(&file, None),
    }))
}

async fn destroy(
    state: &Filesnest,
    owner: &Principal,
    id: &PathId,
) -> Result<FileRecord, FilesnestError> {
    let slot = state.locks.slot(id.value.unwrap_or_default());
    let _exclusive = slot.lock.write().await;
    let file = owned_file(state, owner, id).await?;
    let gone = match file.file {
        Some(verified) => state.engine.delete_file(owner, &verified).await.map(drop),
        None => state.engine.abort(owner, file.upload).await,
    };
    match gone {
        // Already gone: a repeated delete after a failure part-way finishes the job.
        Ok(()) | Err(Error::UnknownFile | Error::UnknownUpload) => {}
        Err(e) => {
            return Err(FilesnestError::from_engine(
                e,
                During::File { file: &id.text },
            ))
        }
    }
    let uploads = state.store.uploads(owner, file.id).await?;
    if !state.store.remove(owner, &file, &uploads).await? {
        return Err(FilesnestError::Internal(Error::Meta(
            "file record changed during delete".into(),
        )));
    }
    Ok(file)
}
