//! The operator API under `/gateway/v1` (admin tokens only): look a file up by its engine id or
//! by a dialect's legacy id, and download its bytes.
//!
//! `{id}` is the engine's file id (uuid, simple form) or `<dialect>:<legacy id>` (e.g.
//! `filesnest:26`), resolved through the file's aliases. Downloads support Range, a strong ETag
//! (the SHA-256), If-None-Match / If-Match / If-Range, and HEAD; Range itself is served by
//! `actix_files::NamedFile`.

use crate::auth::Authenticator;
use crate::engine::{self, Engine, FileId, FileInfo};
use crate::routes::MountedRoutes;
use crate::telemetry;
use actix_files::NamedFile;
use actix_web::body::SizedStream;
use actix_web::http::header::{self, ContentDisposition, DispositionParam, DispositionType};
use actix_web::http::{Method, StatusCode};
use actix_web::{
    dev, mime, web, FromRequest, HttpMessage, HttpRequest, HttpResponse, ResponseError,
};
use serde::Serialize;
use std::future::{ready, Ready};

/// Registers the operator routes, recording each in `routes`.
pub fn configure(cfg: &mut web::ServiceConfig, routes: &MountedRoutes) {
    cfg.service(
        // GET /gateway/v1/files/{id}
        routes.resource(
            "gateway.file",
            "/gateway/v1/files/{id}",
            [(Method::GET, web::to(handle_file))],
        ),
    )
    .service(
        // GET|HEAD /gateway/v1/files/{id}/content
        routes.resource(
            "gateway.content",
            "/gateway/v1/files/{id}/content",
            [
                (Method::GET, web::to(handle_content)),
                (Method::HEAD, web::to(handle_content)),
            ],
        ),
    );
}

/// Errors of the operator API, answered as `{"error": "..."}`.
#[derive(Debug, thiserror::Error)]
pub enum NativeError {
    /// No `Authorization: Bearer <admin token>`, or not an admin token.
    #[error("unauthorized")]
    Unauthorized,
    /// No file with that id or legacy id.
    #[error("not found")]
    NotFound,
    /// The blob of a known file could not be opened.
    #[error("content unavailable: {0}")]
    Content(std::io::Error),
    /// The engine failed.
    #[error(transparent)]
    Engine(#[from] engine::Error),
}

impl ResponseError for NativeError {
    fn status_code(&self) -> StatusCode {
        use engine::Error as E;
        match self {
            NativeError::Unauthorized => StatusCode::UNAUTHORIZED,
            NativeError::NotFound => StatusCode::NOT_FOUND,
            NativeError::Content(_) => StatusCode::INTERNAL_SERVER_ERROR,
            NativeError::Engine(e) => match e {
                E::UnknownFile | E::UnknownUpload => StatusCode::NOT_FOUND,
                E::InsufficientStorage { .. } => StatusCode::INSUFFICIENT_STORAGE,
                // Lookups do not write, so the request-shaped errors below mean a bug.
                E::WrongLayout(_)
                | E::ChunkOutOfRange { .. }
                | E::RangeOutOfBounds { .. }
                | E::TooLarge { .. }
                | E::TooManyUploads { .. }
                | E::PartsExhausted { .. }
                | E::Body(_)
                | E::InvalidName(_)
                | E::Rejected(_)
                | E::Io(_)
                | E::Meta(_)
                | E::Corrupt(_) => StatusCode::INTERNAL_SERVER_ERROR,
            },
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        let message = match status {
            StatusCode::UNAUTHORIZED => "unauthorized",
            StatusCode::NOT_FOUND => "not found",
            StatusCode::INSUFFICIENT_STORAGE => "insufficient storage",
            _ => "internal error",
        };
        let mut response = HttpResponse::build(status);
        if status == StatusCode::UNAUTHORIZED {
            response.insert_header((header::WWW_AUTHENTICATE, "Bearer realm=\"chunkgate\""));
        }
        response.json(serde_json::json!({ "error": message }))
    }
}

/// Proof that the request carries an admin token (`Authorization: Bearer <token>`).
pub struct Admin;

impl FromRequest for Admin {
    type Error = NativeError;
    type Future = Ready<Result<Admin, NativeError>>;

    fn from_request(req: &HttpRequest, _: &mut dev::Payload) -> Self::Future {
        let auth = req.app_data::<web::Data<Authenticator>>();
        let ok = match (auth, bearer_token(req)) {
            (Some(auth), Some(token)) => auth.is_admin(token),
            _ => false,
        };
        telemetry::record_dialect(req, "gateway");
        ready(if ok {
            Ok(Admin)
        } else {
            Err(NativeError::Unauthorized)
        })
    }
}

/// The token of an `Authorization: Bearer <token>` header (scheme case-insensitive).
fn bearer_token(req: &HttpRequest) -> Option<&str> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// Finds a file by engine id or `<dialect>:<legacy id>`.
async fn lookup(engine: &Engine, id: &str) -> Result<FileInfo, NativeError> {
    let file_id = match id.split_once(':') {
        Some((namespace, legacy)) => engine.resolve_alias(namespace, legacy).await?,
        None => id.parse::<FileId>().ok(),
    };
    let Some(file_id) = file_id else {
        return Err(NativeError::NotFound);
    };
    engine.file(&file_id).await?.ok_or(NativeError::NotFound)
}

/// The metadata answer of `GET /gateway/v1/files/{id}`.
#[derive(Serialize)]
struct FileView<'a> {
    id: String,
    principal: &'a str,
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    content_type: Option<&'a str>,
    size: u64,
    sha256: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    sha1: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    md5: Option<&'a str>,
    /// The namespace (dialect) that created the file.
    dialect: &'a str,
    /// `<dialect>:<legacy id>` forms, each usable as `{id}` here.
    legacy_ids: Vec<String>,
    created_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_at: Option<String>,
}

fn rfc3339(t: std::time::SystemTime) -> String {
    chrono::DateTime::<chrono::Utc>::from(t).to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

// GET /gateway/v1/files/{id}
async fn handle_file(
    _: Admin,
    req: HttpRequest,
    engine: web::Data<Engine>,
    id: web::Path<String>,
) -> Result<HttpResponse, NativeError> {
    let file = lookup(&engine, &id).await?;
    telemetry::record_upload_id(&req, &file.id);
    let view = FileView {
        id: file.id.to_string(),
        principal: file.owner.as_str(),
        name: &file.name,
        content_type: file.content_type.as_deref(),
        size: file.size,
        sha256: &file.digests.sha256,
        sha1: file.digests.sha1.as_deref(),
        md5: file.digests.md5.as_deref(),
        dialect: &file.namespace,
        legacy_ids: file
            .aliases
            .iter()
            .map(|(ns, legacy)| format!("{ns}:{legacy}"))
            .collect(),
        created_at: rfc3339(file.created_at),
        expires_at: file.expires_at.map(rfc3339),
    };
    Ok(HttpResponse::Ok().json(view))
}

/// What the conditional headers ask for, decided with our ETag (NamedFile only knows its own
/// inode-based ETag, so it is told not to use one and preconditions are decided here).
#[derive(Debug, PartialEq, Eq)]
enum Precondition {
    /// `If-Match` did not match: 412.
    Failed,
    /// `If-None-Match` matched: 304.
    NotModified,
    /// Serve the whole content and ignore any `Range` (allowed by RFC 9110 §14.2): `If-Range`
    /// did not match, or an `If-Match` that NamedFile would wrongly refuse has been checked.
    Whole,
    /// Let NamedFile serve, with Range.
    Serve,
}

/// RFC 9110 §13.2.2 order: If-Match, If-None-Match, then If-Range. No Last-Modified is sent,
/// so the date forms are not evaluated (a date If-Range never matches).
fn precondition(req: &HttpRequest, etag: &header::EntityTag) -> Precondition {
    let mut checked_if_match = false;
    match req.get_header::<header::IfMatch>() {
        None | Some(header::IfMatch::Any) => {}
        Some(header::IfMatch::Items(tags)) => {
            if !tags.iter().any(|t| t.strong_eq(etag)) {
                return Precondition::Failed;
            }
            checked_if_match = true;
        }
    }
    let none_match = match req.get_header::<header::IfNoneMatch>() {
        None => false,
        Some(header::IfNoneMatch::Any) => true,
        Some(header::IfNoneMatch::Items(tags)) => tags.iter().any(|t| t.weak_eq(etag)),
    };
    if none_match {
        return Precondition::NotModified;
    }
    if checked_if_match {
        return Precondition::Whole;
    }
    if req.headers().contains_key(header::RANGE) && req.headers().contains_key(header::IF_RANGE) {
        return match req.get_header::<header::IfRange>() {
            Some(header::IfRange::EntityTag(tag)) if tag.strong_eq(etag) => Precondition::Serve,
            _ => Precondition::Whole,
        };
    }
    Precondition::Serve
}

/// `attachment; filename="<ascii>"` plus `filename*=UTF-8''...` for non-ASCII names.
fn disposition(file: &FileInfo) -> ContentDisposition {
    let name = if file.name.is_empty() {
        file.id.to_string()
    } else {
        file.name.clone()
    };
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii() && !c.is_ascii_control() {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut parameters = vec![DispositionParam::Filename(ascii)];
    if !name.is_ascii() {
        parameters.push(DispositionParam::FilenameExt(header::ExtendedValue {
            charset: header::Charset::Ext("UTF-8".into()),
            language_tag: None,
            value: name.into_bytes(),
        }));
    }
    ContentDisposition {
        disposition: DispositionType::Attachment,
        parameters,
    }
}

/// The recorded content type, else one guessed from the name's extension.
fn content_type(file: &FileInfo) -> mime::Mime {
    file.content_type
        .as_deref()
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| {
            let ext = std::path::Path::new(&file.name)
                .extension()
                .and_then(|e| e.to_str())
                .unwrap_or("");
            actix_files::file_extension_to_mime(ext)
        })
}

// GET|HEAD /gateway/v1/files/{id}/content
async fn handle_content(
    _: Admin,
    req: HttpRequest,
    engine: web::Data<Engine>,
    id: web::Path<String>,
) -> Result<HttpResponse, NativeError> {
    let file = lookup(&engine, &id).await?;
    telemetry::record_upload_id(&req, &file.id);
    let etag = header::EntityTag::new_strong(file.digests.sha256.clone());
    let path = engine.content_path(&file);

    let mut response = match precondition(&req, &etag) {
        Precondition::Failed => HttpResponse::PreconditionFailed().finish(),
        Precondition::NotModified => HttpResponse::NotModified().finish(),
        Precondition::Whole => whole(&path, &file, req.method()).await?,
        Precondition::Serve => NamedFile::open_async(&path)
            .await
            .map_err(NativeError::Content)?
            .use_etag(false)
            .use_last_modified(false)
            .set_content_type(content_type(&file))
            .set_content_disposition(disposition(&file))
            .into_response(&req),
    };
    let headers = response.headers_mut();
    headers.insert(
        header::ETAG,
        header::HeaderValue::from_str(&etag.to_string()).expect("hex is a valid header value"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        header::HeaderValue::from_static("nosniff"),
    );
    Ok(response)
}

/// The whole content as a 200, for the rare cases NamedFile cannot decide (see
/// [`Precondition::Whole`]).
async fn whole(
    path: &std::path::Path,
    file: &FileInfo,
    method: &Method,
) -> Result<HttpResponse, NativeError> {
    use tokio::io::AsyncReadExt;

    let f = tokio::fs::File::open(path)
        .await
        .map_err(NativeError::Content)?;
    let len = f.metadata().await.map_err(NativeError::Content)?.len();
    let mut response = HttpResponse::Ok();
    response
        .content_type(content_type(file))
        .insert_header((header::CONTENT_DISPOSITION, disposition(file)))
        .insert_header((header::ACCEPT_RANGES, "bytes"));
    if method == Method::HEAD {
        return Ok(response.no_chunking(len).finish());
    }
    let chunks = futures_util::stream::try_unfold(f, |mut f| async move {
        let mut buf = vec![0u8; 64 * 1024];
        let n = f.read(&mut buf).await?;
        buf.truncate(n);
        Ok::<_, std::io::Error>((n > 0).then(|| (bytes::Bytes::from(buf), f)))
    });
    Ok(response.body(SizedStream::new(len, Box::pin(chunks))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn tag() -> header::EntityTag {
        header::EntityTag::new_strong("abc".into())
    }

    fn decide(headers: &[(&str, &str)]) -> Precondition {
        let mut req = TestRequest::get();
        for (name, value) in headers {
            req = req.insert_header((*name, *value));
        }
        precondition(&req.to_http_request(), &tag())
    }

    #[test]
    fn preconditions_follow_rfc_9110() {
        let cases: &[(&[(&str, &str)], Precondition)] = &[
            (&[], Precondition::Serve),
            (&[("if-none-match", "\"abc\"")], Precondition::NotModified),
            (&[("if-none-match", "W/\"abc\"")], Precondition::NotModified),
            (&[("if-none-match", "*")], Precondition::NotModified),
            (&[("if-none-match", "\"other\"")], Precondition::Serve),
            (&[("if-match", "\"other\"")], Precondition::Failed),
            (&[("if-match", "W/\"abc\"")], Precondition::Failed),
            (&[("if-match", "\"abc\"")], Precondition::Whole),
            (&[("if-match", "*")], Precondition::Serve),
            (
                &[("if-match", "\"abc\""), ("if-none-match", "\"abc\"")],
                Precondition::NotModified,
            ),
            (
                &[("range", "bytes=0-1"), ("if-range", "\"abc\"")],
                Precondition::Serve,
            ),
            (
                &[("range", "bytes=0-1"), ("if-range", "\"old\"")],
                Precondition::Whole,
            ),
            (
                &[
                    ("range", "bytes=0-1"),
                    ("if-range", "Wed, 21 Oct 2015 07:28:00 GMT"),
                ],
                Precondition::Whole,
            ),
            (&[("if-range", "\"old\"")], Precondition::Serve),
        ];
        for (headers, expected) in cases {
            assert_eq!(&decide(headers), expected, "{headers:?}");
        }
    }

    #[test]
    fn bearer_tokens_are_read_case_insensitively_and_trimmed() {
        for (value, expected) in [
            ("Bearer abc", Some("abc")),
            ("bearer   abc ", Some("abc")),
            ("Basic abc", None),
            ("Bearer ", None),
            ("Bearer", None),
        ] {
            let req = TestRequest::get()
                .insert_header(("authorization", value))
                .to_http_request();
            assert_eq!(bearer_token(&req), expected, "{value:?}");
        }
    }
}
