//! The dialect's errors and their legacy rendering (specs/audioboom.md §3 and §9): an envelope
//! whose `body` is `{"error":{"code","description"}}`, plus the `X-Audioboo-Error_code` and
//! `X-Audioboo-Error_description` headers in exactly that casing.

use super::model::{envelope, ErrorBody};
use crate::engine;
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};

/// Every failure this dialect answers, each with its legacy status, code and description.
#[derive(Debug, thiserror::Error)]
pub enum AudioboomError {
    /// No Bearer token and no signed-parameter key (401).
    #[error("Authentication required")]
    Unauthenticated,
    /// Unknown token, unknown key or bad signature (401).
    #[error("Invalid credentials")]
    InvalidCredentials,
    /// `version` other than 200 (400, code 800).
    #[error("Unsupported API version")]
    UnsupportedVersion,
    /// The body is not parseable multipart, url-encoded or JSON (400). Also a chunk whose
    /// connection broke: the client is gone, so the answer is only logged.
    #[error("Malformed request body")]
    Malformed,
    /// Unknown, expired or foreign attachment on the attachment routes (§5), 404.
    #[error("Attachment {0} not found")]
    AttachmentNotFound(String),
    /// Unknown or foreign attachment referenced by a consumer (§6), 404, lower-case.
    #[error("attachment {0} not found")]
    ConsumerAttachmentNotFound(u64),
    /// Unknown or foreign clip, or a download without the owner's credentials, 404.
    #[error("Audio clip {0} not found")]
    ClipNotFound(String),
    /// No route matches the path (404).
    #[error("Not found")]
    NoRoute,
    /// The route exists, the method does not (405; Android special-cases it).
    #[error("Method not allowed")]
    MethodNotAllowed,
    /// Overlapping bytes differ from those already held (409).
    #[error("Chunk conflicts with data already received")]
    Conflict,
    /// The body is larger than `audioboom.max_request_bytes` (413).
    #[error("Request body too large")]
    TooLarge,
    /// A parameter rule of §5 or §6, with its text (422).
    #[error("{0}")]
    Invalid(String),
    /// The server failed; clients retry a 500 (§11).
    #[error("Internal server error")]
    Internal(#[source] Option<engine::Error>),
}

/// Text of a chunk that runs past the declared size (§5.1, §5.2).
pub const BEYOND_SIZE: &str = "Chunk extends beyond attachment[size]";

impl AudioboomError {
    /// The `code` of the error body: the status, except 800 for the version (§3).
    pub fn code(&self) -> u16 {
        match self {
            AudioboomError::UnsupportedVersion => 800,
            other => other.status_code().as_u16(),
        }
    }

    /// Maps an engine failure; `missing` is the answer for an unknown upload or file, which
    /// depends on what the request named. Exhaustive on purpose: a new engine error must be
    /// placed here, never fall into a catch-all 500.
    pub fn engine(e: engine::Error, missing: AudioboomError) -> AudioboomError {
        use engine::Error as E;
        match e {
            E::UnknownUpload | E::UnknownFile => missing,
            E::RangeOutOfBounds { .. } => AudioboomError::Invalid(BEYOND_SIZE.into()),
            E::TooLarge { .. } => AudioboomError::TooLarge,
            // §9 has no quota error; a refused create is a parameter-rule failure there (422),
            // which Android reports to the user instead of retrying like a 500.
            E::TooManyUploads { limit } => AudioboomError::Invalid(format!(
                "too many incomplete attachments (at most {limit})"
            )),
            // The client's connection broke mid-body: nobody reads this answer (§5.2 keeps the
            // bytes that arrived when the offset was known).
            E::Body(_) => AudioboomError::Malformed,
            // No 507 in the legacy API: a 500, which Android retries (§11), logged at warn.
            E::InsufficientStorage { .. } => AudioboomError::Internal(Some(e)),
            // The dialect only opens `Ranged` uploads and never passes names as paths: these
            // are bugs, answered as the legacy 500.
            E::WrongLayout(_)
            | E::ChunkOutOfRange { .. }
            | E::PartsExhausted { .. }
            | E::InvalidName(_) => AudioboomError::Internal(Some(e)),
            E::Io(_) | E::Meta(_) | E::Corrupt(_) => AudioboomError::Internal(Some(e)),
            // A pre-complete hook refused the finished attachment: the 422 validation envelope
            // (§10), its reason as the message.
            E::Rejected(reason) => AudioboomError::Invalid(reason),
        }
    }
}

impl ResponseError for AudioboomError {
    fn status_code(&self) -> StatusCode {
        match self {
            AudioboomError::Unauthenticated | AudioboomError::InvalidCredentials => {
                StatusCode::UNAUTHORIZED
            }
            AudioboomError::UnsupportedVersion | AudioboomError::Malformed => {
                StatusCode::BAD_REQUEST
            }
            AudioboomError::AttachmentNotFound(_)
            | AudioboomError::ConsumerAttachmentNotFound(_)
            | AudioboomError::ClipNotFound(_)
            | AudioboomError::NoRoute => StatusCode::NOT_FOUND,
            AudioboomError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            AudioboomError::Conflict => StatusCode::CONFLICT,
            AudioboomError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            AudioboomError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AudioboomError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let AudioboomError::Internal(source) = self {
            match source {
                Some(e @ engine::Error::InsufficientStorage { .. }) => {
                    tracing::warn!(error = %e, "audioboom: storage refused new data")
                }
                Some(e) => tracing::error!(error = %e, "audioboom: internal error"),
                None => tracing::error!("audioboom: internal error"),
            }
        }
        let description = self.to_string();
        let code = self.code();
        let mut res = envelope(self.status_code(), &ErrorBody::new(code, &description));
        let headers = res.headers_mut();
        headers.insert(
            HeaderName::from_static("x-audioboo-error_code"),
            HeaderValue::from(code),
        );
        if let Ok(v) = HeaderValue::from_str(&description) {
            headers.insert(HeaderName::from_static("x-audioboo-error_description"), v);
        }
        res
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_equal_the_status_except_the_version_error() {
        let cases = [
            (AudioboomError::Unauthenticated, 401, 401),
            (AudioboomError::UnsupportedVersion, 400, 800),
            (AudioboomError::Malformed, 400, 400),
            (AudioboomError::AttachmentNotFound("1".into()), 404, 404),
            (AudioboomError::MethodNotAllowed, 405, 405),
            (AudioboomError::Conflict, 409, 409),
            (AudioboomError::TooLarge, 413, 413),
            (AudioboomError::Invalid("x".into()), 422, 422),
            (AudioboomError::Internal(None), 500, 500),
        ];
        for (e, status, code) in cases {
            assert_eq!(e.status_code().as_u16(), status, "{e}");
            assert_eq!(e.code(), code, "{e}");
        }
    }

    #[test]
    fn engine_errors_map_to_their_legacy_answers() {
        let missing = || AudioboomError::AttachmentNotFound("7".into());
        let map = |e| AudioboomError::engine(e, missing()).to_string();
        assert_eq!(map(engine::Error::UnknownUpload), "Attachment 7 not found");
        assert_eq!(
            map(engine::Error::RangeOutOfBounds {
                offset: 1,
                len: 2,
                size: 2
            }),
            BEYOND_SIZE
        );
        assert_eq!(
            map(engine::Error::InsufficientStorage {
                available: 0,
                required: 1
            }),
            "Internal server error"
        );
        assert_eq!(
            map(engine::Error::Body("reset".into())),
            "Malformed request body"
        );
    }
}
