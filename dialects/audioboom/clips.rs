//! Consumers of attachments (specs/audioboom.md §6): audio clips under every listed path and
//! messages through the outbox, the clip object with its download URLs, and the downloads.

use super::auth;
use super::error::AudioboomError;
use super::model::{envelope, ClipBody, ClipJson, ClipMedia, ClipRec, MessageBody, MessageJson};
use super::parse::{self, AttachmentRef, Consumer};
use super::store::{self, AttState};
use super::State;
use crate::engine::{FileInfo, Principal};
use crate::telemetry;
use actix_files::NamedFile;
use actix_web::http::header::{HeaderValue, CONTENT_TYPE};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

/// `<base>` of §1: `public_base_url`, or the request's scheme and host plus the mount prefix.
fn base_url(req: &HttpRequest, state: &State) -> String {
    match &state.settings.public_base_url {
        Some(base) => base.trim_end_matches('/').to_owned(),
        None => {
            let info = req.connection_info();
            format!("{}://{}{}", info.scheme(), info.host(), state.prefix)
        }
    }
}

/// `POST /audio_clips`, `POST /account/audio_clips`, `POST /channels/{channel_id}/audio_clips`.
pub async fn handle_create_audio_clip(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<State>,
) -> Result<HttpResponse, AudioboomError> {
    create(req, payload, state, Consumer::Clip).await
}

/// `POST /account/outbox`: a message, answered with the message and the same clip.
pub async fn handle_create_message(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<State>,
) -> Result<HttpResponse, AudioboomError> {
    create(req, payload, state, Consumer::Message).await
}

async fn create(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<State>,
    consumer: Consumer,
) -> Result<HttpResponse, AudioboomError> {
    let bearer = auth::bearer_principal(&req, &state).await?;
    let (owner, form) = auth::authenticate(&req, payload, &state, bearer, None).await?;
    parse::check_version(&form.params)?;
    let new = parse::parse_clip(&form.params, consumer)?;
    // Checked in this order: data, then image (§6).
    let data = usable_attachment(&state, &owner, &new.data).await?;
    let image = match &new.image {
        Some(r) => Some(usable_attachment(&state, &owner, r).await?),
        None => None,
    };
    for (_, file) in std::iter::once(&data).chain(image.as_ref()) {
        store::keep_file(&state, file).await?;
    }
    let id = store::next_clip_id(&state).await?;
    let rec = ClipRec {
        id,
        owner,
        title: new.title,
        uploaded_at: chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        recorded_at: new.recorded_at,
        channel_id: req
            .match_info()
            .get("channel_id")
            .and_then(|c| c.parse().ok()),
        recipient_id: new.recipient_id,
        data: ClipMedia {
            attachment: data.0,
            file: data.1.id,
        },
        image: image.map(|(attachment, f)| ClipMedia {
            attachment,
            file: f.id,
        }),
        extra: new.extra,
    };
    store::insert_clip(&state, &rec).await?;
    telemetry::record_upload_id(&req, &rec.id);
    let base = base_url(&req, &state);
    Ok(match rec.recipient_id {
        Some(recipient_id) => envelope(
            StatusCode::CREATED,
            &MessageBody {
                message: MessageJson {
                    clip: ClipJson::new(&rec, &base),
                    recipient_id,
                },
                audio_clip: ClipJson::new(&rec, &base),
            },
        ),
        None => envelope(
            StatusCode::CREATED,
            &ClipBody {
                audio_clip: ClipJson::new(&rec, &base),
            },
        ),
    })
}

/// A referenced attachment that is the caller's, complete, and matches its fingerprint (§6,
/// §7). A mismatch creates nothing and leaves the attachment usable.
async fn usable_attachment(
    state: &State,
    owner: &Principal,
    r: &AttachmentRef,
) -> Result<(u64, FileInfo), AudioboomError> {
    let missing = || AudioboomError::ConsumerAttachmentNotFound(r.id);
    let rec = store::find_attachment(state, owner, r.id)
        .await?
        .ok_or_else(missing)?;
    let file = match store::attachment_state(state, &rec)
        .await?
        .ok_or_else(missing)?
    {
        AttState::Complete(file) => *file,
        AttState::Receiving(_) => {
            return Err(AudioboomError::Invalid(format!(
                "attachment {} is incomplete",
                r.id
            )))
        }
    };
    if let Some(fingerprint) = &r.fingerprint {
        let actual = file.digests.sha1.as_deref().unwrap_or_default();
        if !actual.eq_ignore_ascii_case(fingerprint.trim()) {
            return Err(AudioboomError::Invalid(format!(
                "fingerprint does not match attachment {}",
                r.id
            )));
        }
    }
    Ok((r.id, file))
}

fn clip_id(req: &HttpRequest) -> Result<u64, AudioboomError> {
    let raw = req.match_info().get("id").unwrap_or_default();
    raw.parse()
        .map_err(|_| AudioboomError::ClipNotFound(raw.to_owned()))
}

/// `GET /audio_clips/{id}`.
pub async fn handle_show_audio_clip(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<State>,
) -> Result<HttpResponse, AudioboomError> {
    let bearer = auth::bearer_principal(&req, &state).await?;
    let (owner, form) = auth::authenticate(&req, payload, &state, bearer, None).await?;
    parse::check_version(&form.params)?;
    let id = clip_id(&req)?;
    let rec = store::find_clip(&state, &owner, id)
        .await?
        .ok_or_else(|| AudioboomError::ClipNotFound(id.to_string()))?;
    Ok(envelope(
        StatusCode::OK,
        &ClipBody {
            audio_clip: ClipJson::new(&rec, &base_url(&req, &state)),
        },
    ))
}

/// `GET /audio_clips/{id}.mp3`: the audio as uploaded (not transcoded, §10).
pub async fn handle_download_audio(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<State>,
) -> Result<HttpResponse, AudioboomError> {
    download(req, payload, state, |c| Some(c.data.clone())).await
}

/// `GET /audio_clips/{id}/image`.
pub async fn handle_download_image(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<State>,
) -> Result<HttpResponse, AudioboomError> {
    download(req, payload, state, |c| c.image.clone()).await
}

/// Streams a clip's file with its stored type, `Content-Length`, `Accept-Ranges` and a single
/// `Range` as 206. Only the owner may download, by Bearer or signed query parameters; every
/// other request gets the clip's 404 (§6).
async fn download(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<State>,
    media: impl Fn(&ClipRec) -> Option<ClipMedia>,
) -> Result<HttpResponse, AudioboomError> {
    let id = clip_id(&req)?;
    let not_found = || AudioboomError::ClipNotFound(id.to_string());
    let owner = match auth::bearer_principal(&req, &state).await {
        Ok(Some(p)) => p,
        Ok(None) => match auth::authenticate(&req, payload, &state, None, None).await {
            Ok((p, _)) => p,
            Err(_) => return Err(not_found()),
        },
        Err(_) => return Err(not_found()),
    };
    let rec = store::find_clip(&state, &owner, id)
        .await?
        .ok_or_else(not_found)?;
    let media = media(&rec).ok_or_else(not_found)?;
    let file = state
        .engine
        .owned_file(&owner, &media.file)
        .await
        .map_err(|e| AudioboomError::engine(e, not_found()))?;
    let path = state.engine.content_path(&file);
    let named = NamedFile::open_async(path)
        .await
        .map_err(|e| AudioboomError::engine(e.into(), not_found()))?
        .disable_content_disposition()
        .use_last_modified(false);
    let mut res = named.into_response(&req);
    let content_type = file
        .content_type
        .as_deref()
        .unwrap_or("application/octet-stream");
    if let Ok(v) = HeaderValue::from_str(content_type) {
        res.headers_mut().insert(CONTENT_TYPE, v);
    }
    Ok(res)
}
