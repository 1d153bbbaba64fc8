//! The Spika dialect's errors and their legacy answers (specs/spika.md §2 and §9).
//!
//! Authentication failures are `text/plain` (the original's auth middleware wrote plain text);
//! everything else is the JSON envelope `{"status":"error","message":"..."}`. Engine errors are
//! mapped with one exhaustive `match`, so a new engine variant cannot silently become a 500.

use crate::engine;
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};

/// Why authentication failed (specs/spika.md §2, the three byte-exact 401 bodies).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthFailure {
    /// No `accesstoken` header or cookie, or only empty ones.
    Missing,
    /// The authenticator does not know the token.
    Invalid,
    /// The legacy backend reports the token as expired.
    Expired,
}

/// Everything a Spika request can fail with.
#[derive(Debug, thiserror::Error)]
pub enum SpikaError {
    /// 401 with one of the legacy plain-text bodies.
    #[error("unauthorized: {0:?}")]
    Unauthorized(AuthFailure),
    /// 400 `Invalid params ValidationError: <text>`; holds `<text>`.
    #[error("validation: {0}")]
    Validation(String),
    /// 400: the `clientId` was already verified for this principal.
    #[error("clientId already verified")]
    AlreadyExists,
    /// 400: a chunk in `0..total` is missing at verify.
    #[error("not all chunks are uploaded")]
    NotAllChunks,
    /// 400: the assembled file's SHA-256 differs from `fileHash`; the chunks are kept.
    #[error("hash mismatch (sent {expected}, computed {actual})")]
    HashMismatch { expected: String, actual: String },
    /// 404: unknown or foreign file, unknown `clientId`, or no such route.
    #[error("not found")]
    NotFound,
    /// 413: the JSON body is larger than `spika.max_json_bytes`.
    #[error("request body larger than {limit} bytes")]
    TooLarge { limit: u64 },
    /// The engine failed; mapped by [`engine_status`].
    #[error(transparent)]
    Engine(#[from] engine::Error),
}

/// The validation text for a body that is not a JSON object (also malformed or cut-off JSON).
pub const NOT_AN_OBJECT: &str = "request body must be a JSON object";

impl SpikaError {
    /// A 400 for a body that could not be read as a JSON object.
    pub fn not_an_object() -> Self {
        SpikaError::Validation(NOT_AN_OBJECT.to_owned())
    }

    /// The legacy `message` of a JSON error answer.
    fn message(&self) -> String {
        match self {
            SpikaError::Unauthorized(_) => unreachable!("401 answers are plain text"),
            SpikaError::Validation(text) => format!("Invalid params ValidationError: {text}"),
            SpikaError::AlreadyExists => "File with that clientId already exists".to_owned(),
            SpikaError::NotAllChunks => "Not all chunks are uploaded".to_owned(),
            SpikaError::HashMismatch { .. } => "Hash doesn't match".to_owned(),
            SpikaError::NotFound => "Not found".to_owned(),
            SpikaError::TooLarge { .. } => "Request entity too large".to_owned(),
            SpikaError::Engine(engine::Error::Rejected(reason)) => reason.clone(),
            SpikaError::Engine(e) => match engine_status(e) {
                StatusCode::NOT_FOUND => "Not found".to_owned(),
                StatusCode::PAYLOAD_TOO_LARGE => "Request entity too large".to_owned(),
                StatusCode::BAD_REQUEST => match e {
                    engine::Error::TooManyUploads { limit } => {
                        format!("Too many unverified uploads (at most {limit})")
                    }
                    _ => format!("Invalid params ValidationError: {NOT_AN_OBJECT}"),
                },
                // No internals in the body (§9); the log has them.
                _ => "Server error".to_owned(),
            },
        }
    }
}

/// How an engine error answers in Spika terms. Exhaustive on purpose (STYLE.md #5).
fn engine_status(e: &engine::Error) -> StatusCode {
    use engine::Error as E;
    match e {
        // Only reached when an upload or file vanished between lookups: like an unknown id.
        E::UnknownUpload | E::UnknownFile => StatusCode::NOT_FOUND,
        // The upload would grow past the engine's `max_upload_size`.
        E::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
        // The principal holds `max_open_uploads_per_principal` unverified `clientId`s: §9 answers
        // every refusal of a request with 400 and a message.
        E::TooManyUploads { .. } => StatusCode::BAD_REQUEST,
        // Chunks are fed from memory, so a body failure means the request was cut off while
        // being read; the client is gone, a 400 is all that can be said.
        E::Body(_) => StatusCode::BAD_REQUEST,
        // The spec has no 507: a full disk is an internal error to Spika clients (docs/dialects).
        E::InsufficientStorage { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        // Spika uploads are `Indexed` without a declared count and carry no names the engine
        // checks, so these mean a bug in the dialect: internal errors.
        E::WrongLayout(_)
        | E::ChunkOutOfRange { .. }
        | E::RangeOutOfBounds { .. }
        | E::PartsExhausted { .. }
        | E::InvalidName(_) => StatusCode::INTERNAL_SERVER_ERROR,
        E::Io(_) | E::Meta(_) | E::Corrupt(_) => StatusCode::INTERNAL_SERVER_ERROR,
        // A pre-complete hook refused the verify: a 400 like the spec's other verify refusals
        // (§9 "Hash doesn't match", "Not all chunks are uploaded"), its reason as the message.
        E::Rejected(_) => StatusCode::BAD_REQUEST,
    }
}

impl ResponseError for SpikaError {
    fn status_code(&self) -> StatusCode {
        match self {
            SpikaError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            SpikaError::Validation(_)
            | SpikaError::AlreadyExists
            | SpikaError::NotAllChunks
            | SpikaError::HashMismatch { .. } => StatusCode::BAD_REQUEST,
            SpikaError::NotFound => StatusCode::NOT_FOUND,
            SpikaError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            SpikaError::Engine(e) => engine_status(e),
        }
    }

    fn error_response(&self) -> HttpResponse {
        // No logging here: the request span logs every outcome with this error's text (5xx at
        // error, 4xx at info, src/telemetry.rs), and the body never carries internals.
        let status = self.status_code();
        match self {
            SpikaError::Unauthorized(why) => {
                let body = match why {
                    AuthFailure::Missing => "No access token",
                    AuthFailure::Invalid => "Invalid access token",
                    AuthFailure::Expired => "Access token expired",
                };
                HttpResponse::build(status)
                    .content_type("text/plain; charset=utf-8")
                    .body(body)
            }
            _ => json_error(status, &self.message()),
        }
    }
}

/// `{"status":"error","message":"..."}` with the legacy content type.
pub fn json_error(status: StatusCode, message: &str) -> HttpResponse {
    #[derive(serde::Serialize)]
    struct Envelope<'a> {
        status: &'static str,
        message: &'a str,
    }
    let body = serde_json::to_vec(&Envelope {
        status: "error",
        message,
    })
    .expect("an error envelope serializes");
    let mut response = HttpResponse::build(status).body(body);
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(super::model::JSON_CONTENT_TYPE),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::body::to_bytes;

    async fn answer(e: SpikaError) -> (u16, String, String) {
        let response = e.error_response();
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get(header::CONTENT_TYPE)
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        let body = to_bytes(response.into_body()).await.unwrap();
        (
            status,
            content_type,
            String::from_utf8(body.to_vec()).unwrap(),
        )
    }

    #[actix_web::test]
    async fn every_error_answers_in_the_legacy_format() {
        let json = "application/json; charset=utf-8";
        let text = "text/plain; charset=utf-8";
        let cases: Vec<(SpikaError, u16, &str, &str)> = vec![
            (
                SpikaError::Unauthorized(AuthFailure::Missing),
                401,
                text,
                "No access token",
            ),
            (
                SpikaError::Unauthorized(AuthFailure::Invalid),
                401,
                text,
                "Invalid access token",
            ),
            (
                SpikaError::Unauthorized(AuthFailure::Expired),
                401,
                text,
                "Access token expired",
            ),
            (
                SpikaError::Validation("offset must be an integer".into()),
                400,
                json,
                r#"{"status":"error","message":"Invalid params ValidationError: offset must be an integer"}"#,
            ),
            (
                SpikaError::not_an_object(),
                400,
                json,
                r#"{"status":"error","message":"Invalid params ValidationError: request body must be a JSON object"}"#,
            ),
            (
                SpikaError::AlreadyExists,
                400,
                json,
                r#"{"status":"error","message":"File with that clientId already exists"}"#,
            ),
            (
                SpikaError::NotAllChunks,
                400,
                json,
                r#"{"status":"error","message":"Not all chunks are uploaded"}"#,
            ),
            (
                SpikaError::HashMismatch {
                    expected: "a".into(),
                    actual: "b".into(),
                },
                400,
                json,
                r#"{"status":"error","message":"Hash doesn't match"}"#,
            ),
            (
                SpikaError::NotFound,
                404,
                json,
                r#"{"status":"error","message":"Not found"}"#,
            ),
            (
                SpikaError::TooLarge { limit: 1 },
                413,
                json,
                r#"{"status":"error","message":"Request entity too large"}"#,
            ),
        ];
        for (error, status, content_type, body) in cases {
            let name = format!("{error:?}");
            assert_eq!(
                answer(error).await,
                (status, content_type.into(), body.into()),
                "{name}"
            );
        }
    }

    #[actix_web::test]
    async fn engine_errors_map_exhaustively_without_leaking_internals() {
        use engine::Error as E;
        let server_error = r#"{"status":"error","message":"Server error"}"#;
        let cases: Vec<(E, u16, &str)> = vec![
            (
                E::UnknownUpload,
                404,
                r#"{"status":"error","message":"Not found"}"#,
            ),
            (
                E::UnknownFile,
                404,
                r#"{"status":"error","message":"Not found"}"#,
            ),
            (
                E::TooLarge { limit: 9 },
                413,
                r#"{"status":"error","message":"Request entity too large"}"#,
            ),
            (
                E::Body("reset".into()),
                400,
                r#"{"status":"error","message":"Invalid params ValidationError: request body must be a JSON object"}"#,
            ),
            (
                E::InsufficientStorage {
                    available: 1,
                    required: 2,
                },
                500,
                server_error,
            ),
            (
                E::Io(std::io::Error::other("disk on fire")),
                500,
                server_error,
            ),
            (E::Meta("sled".into()), 500, server_error),
            (E::Corrupt("bad record".into()), 500, server_error),
            (E::PartsExhausted { parts: 1 }, 500, server_error),
        ];
        for (error, status, body) in cases {
            let (s, _, b) = answer(SpikaError::Engine(error)).await;
            assert_eq!((s, b.as_str()), (status, body));
        }
    }
}
