//! Chunked attachments (specs/audioboom.md §5): create with the total size and a first chunk,
//! add chunks by byte offset, read the state. Every answer reports `received`, the gap-free
//! prefix that Android uses as its next offset (§11).

use super::auth;
use super::body::DirectPlan;
use super::error::{AudioboomError, BEYOND_SIZE};
use super::model::{envelope, AttachmentBody, AttachmentJson, AttachmentRec};
use super::params::Params;
use super::parse;
use super::store::{self, AttState, NewAttachment};
use super::State;
use crate::engine::{self, Comparison, CutOff, FileInfo, RangeOutcome, Staged};
use crate::telemetry;
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};

/// The `{id}` of the path; digits too large for an id name no attachment.
fn path_id(req: &HttpRequest) -> Result<u64, AudioboomError> {
    let raw = req.match_info().get("id").unwrap_or_default();
    raw.parse()
        .map_err(|_| AudioboomError::AttachmentNotFound(raw.to_owned()))
}

fn answer(status: StatusCode, rec: &AttachmentRec, received: u64) -> HttpResponse {
    envelope(
        status,
        &AttachmentBody {
            attachment: AttachmentJson::new(rec, received),
        },
    )
}

fn staged_chunk<'a>(
    staged: &'a [Staged],
    part: &parse::UpdateAttachment,
) -> Result<&'a Staged, AudioboomError> {
    part.chunk
        .slot
        .and_then(|i| staged.get(i))
        .ok_or(AudioboomError::Internal(None))
}

/// `POST /attachments` (§5.1): 201, `Location` and the attachment.
pub async fn handle_create_attachment(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<State>,
) -> Result<HttpResponse, AudioboomError> {
    let bearer = auth::bearer_principal(&req, &state).await?;
    // The chunk is always staged: a create that is cut off or rejected creates nothing.
    let (owner, form) = auth::authenticate(&req, payload, &state, bearer, None).await?;
    parse::check_version(&form.params)?;
    let create = parse::parse_create(&form.params, state.settings.max_attachment_bytes)?;
    let chunk = create
        .chunk
        .slot
        .and_then(|i| form.staged.get(i))
        .ok_or(AudioboomError::Internal(None))?;
    let new = NewAttachment {
        size: create.size,
        offset: create.offset,
        filename: create.filename,
        content_type: create.content_type,
    };
    let (rec, att) = store::create_attachment(&state, &owner, new, chunk).await?;
    telemetry::record_upload_id(&req, &rec.id);
    let mut res = answer(StatusCode::CREATED, &rec, att.received(rec.size));
    let location = format!("{}/attachments/{}", state.prefix, rec.id);
    if let Ok(v) = header::HeaderValue::from_str(&location) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    Ok(res)
}

/// `GET /attachments/{id}` (§5.3): status polling, beyond the original.
pub async fn handle_show_attachment(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<State>,
) -> Result<HttpResponse, AudioboomError> {
    let bearer = auth::bearer_principal(&req, &state).await?;
    let (owner, form) = auth::authenticate(&req, payload, &state, bearer, None).await?;
    parse::check_version(&form.params)?;
    let id = path_id(&req)?;
    telemetry::record_upload_id(&req, &id);
    let not_found = || AudioboomError::AttachmentNotFound(id.to_string());
    let rec = store::find_attachment(&state, &owner, id)
        .await?
        .ok_or_else(not_found)?;
    let att = store::attachment_state(&state, &rec)
        .await?
        .ok_or_else(not_found)?;
    Ok(answer(StatusCode::OK, &rec, att.received(rec.size)))
}

/// `PUT /attachments/{id}` and `POST /attachments/{id}` (§5.2): add a chunk at an offset.
pub async fn handle_update_attachment(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<State>,
) -> Result<HttpResponse, AudioboomError> {
    let bearer = auth::bearer_principal(&req, &state).await?;
    let id = path_id(&req)?;
    telemetry::record_upload_id(&req, &id);
    let not_found = || AudioboomError::AttachmentNotFound(id.to_string());

    // With a known owner and an attachment still receiving, the chunk can stream straight in
    // once its offset is known, and then keeps what arrived if the client is cut off (§5.2).
    let mut receiving = None;
    if let Some(owner) = &bearer {
        if let Some(rec) = store::find_attachment(&state, owner, id).await? {
            if let Some(AttState::Receiving(_)) = store::attachment_state(&state, &rec).await? {
                receiving = Some(rec);
            }
        }
    }
    let size = receiving.as_ref().map_or(0, |r| r.size);
    let offset = move |p: &Params| {
        parse::check_version(p).ok()?;
        parse::update_offset(p, size).ok()
    };
    let plan = match (&bearer, &receiving) {
        (Some(owner), Some(rec)) => Some(DirectPlan {
            engine: &state.engine,
            owner,
            upload: rec.upload,
            offset: &offset,
        }),
        _ => None,
    };
    let (owner, form) = auth::authenticate(&req, payload, &state, bearer.clone(), plan).await?;
    parse::check_version(&form.params)?;
    let rec = store::find_attachment(&state, &owner, id)
        .await?
        .ok_or_else(not_found)?;

    if let Some(outcome) = form.direct {
        let outcome = outcome.map_err(|e| AudioboomError::engine(e, not_found()))?;
        // Parts after a streamed chunk are still checked; its bytes stay, as with a cut-off.
        parse::parse_update(&form.params, rec.size)?;
        return stored(&state, &rec, outcome).await;
    }

    let update = parse::parse_update(&form.params, rec.size)?;
    let chunk = staged_chunk(&form.staged, &update)?;
    match store::attachment_state(&state, &rec)
        .await?
        .ok_or_else(not_found)?
    {
        AttState::Complete(file) => compare(&rec, &state, &file, update.offset, chunk).await,
        AttState::Receiving(_) => {
            let put = state
                .engine
                .put_range(
                    &owner,
                    rec.upload,
                    update.offset,
                    chunk.stream(),
                    CutOff::Discard,
                )
                .await;
            match put {
                // Completed by a concurrent request meanwhile: now a re-send to a complete one.
                Err(engine::Error::UnknownUpload) => {
                    match store::attachment_state(&state, &rec).await? {
                        Some(AttState::Complete(file)) => {
                            compare(&rec, &state, &file, update.offset, chunk).await
                        }
                        _ => Err(not_found()),
                    }
                }
                other => {
                    let outcome = other.map_err(|e| AudioboomError::engine(e, not_found()))?;
                    stored(&state, &rec, outcome).await
                }
            }
        }
    }
}

/// The answer to a stored chunk; the attachment becomes a file once complete (§5.4).
async fn stored(
    state: &State,
    rec: &AttachmentRec,
    outcome: RangeOutcome,
) -> Result<HttpResponse, AudioboomError> {
    match outcome {
        RangeOutcome::Conflict { .. } => Err(AudioboomError::Conflict),
        RangeOutcome::Stored { received, complete } => {
            let received = if complete {
                store::complete(state, rec)
                    .await?
                    .map_or(received, |s| s.received(rec.size))
            } else {
                received
            };
            Ok(answer(StatusCode::OK, rec, received))
        }
    }
}

/// A chunk sent to a complete attachment: 200 when identical, 409 when different, 422 past
/// the end (§5.2 "Complete attachment").
async fn compare(
    rec: &AttachmentRec,
    state: &State,
    file: &FileInfo,
    offset: u64,
    chunk: &Staged,
) -> Result<HttpResponse, AudioboomError> {
    let missing = AudioboomError::AttachmentNotFound(rec.id.to_string());
    match state
        .engine
        .compare_content(file, offset, chunk.stream())
        .await
        .map_err(|e| AudioboomError::engine(e, missing))?
    {
        Comparison::Identical => Ok(answer(StatusCode::OK, rec, rec.size)),
        Comparison::Differs { .. } => Err(AudioboomError::Conflict),
        Comparison::OutOfBounds => Err(AudioboomError::Invalid(BEYOND_SIZE.into())),
    }
}
