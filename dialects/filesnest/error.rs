//! FilesNest's error answers (specs/filesnest.md §8): every one is JSON with a `message`,
//! because the legacy clients print `body.message` for any status ≥ 400 (§10).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;

use super::validate::ValidationErrors;
use crate::engine;

/// Everything a FilesNest request can fail with.
#[derive(Debug, thiserror::Error)]
pub enum FilesnestError {
    /// No credential, or one the authenticator does not know (403; this dialect never says 401).
    #[error("This action is unauthorized.")]
    Unauthorized,
    /// No such file for this principal (another principal's file looks exactly like this).
    #[error("No query results for model [App\\Models\\File] {0}")]
    FileNotFound(String),
    /// No such upload in this file (all uploads are gone once the file is assembled).
    #[error("No query results for model [App\\Models\\Upload] {0}")]
    UploadNotFound(String),
    /// No route matches the path (the path without its leading `/`).
    #[error("The route {0} could not be found.")]
    RouteNotFound(String),
    /// The route exists but not with this method.
    #[error(
        "The {method} method is not supported for route {path}. Supported methods: {allowed}."
    )]
    MethodNotAllowed {
        method: String,
        path: String,
        allowed: String,
    },
    /// The principal already holds `max_open_uploads_per_principal` unfinished files. The spec
    /// (§8) has no quota error; Laravel answers a denied policy with this 403 and body, so
    /// legacy clients print a message they already know.
    #[error("This action is unauthorized.")]
    TooManyOpen,
    /// A chunk whose `Content-Type` is not exactly `application/octet-stream`.
    #[error("Invalid content type")]
    InvalidContentType,
    /// `PATCH /api/files/{id}` on a completed file.
    #[error("Cannot update completed file")]
    CompletedFile,
    /// A chunk over `upload_max_size` or a JSON body over `max_json_bytes`.
    #[error("The POST data is too large.")]
    TooLarge,
    /// The body failed §4 / §5.5.
    #[error("{}", .0.message())]
    Validation(ValidationErrors),
    /// The client's chunk body broke off (the connection is gone; nothing was stored).
    #[error("Failed to save file chunk")]
    ChunkCutOff(String),
    /// A JSON body broke off (the connection is gone; nothing was stored).
    #[error("Bad Request")]
    BodyCutOff(String),
    /// The store could not keep a chunk (disk full, I/O).
    #[error("Failed to save file chunk")]
    ChunkNotSaved(#[source] engine::Error),
    /// Anything else that went wrong on the server.
    #[error("Server Error")]
    Internal(#[source] engine::Error),
}

/// What a request was doing when the engine failed: decides the legacy answer.
#[derive(Clone, Copy, Debug)]
pub enum During<'a> {
    /// Storing a chunk of the file whose path id is given.
    Chunk { file: &'a str },
    /// Working on the file whose path id is given.
    File { file: &'a str },
    /// Anything else (creating, listing).
    Request,
}

impl FilesnestError {
    /// The legacy answer to an engine failure. Exhaustive on purpose: a new engine error must
    /// be placed here deliberately, never fall into a default.
    pub fn from_engine(e: engine::Error, during: During<'_>) -> Self {
        use engine::Error as E;
        let chunk = matches!(during, During::Chunk { .. });
        match e {
            // The file's upload or file vanished under us (deleted meanwhile): the file is gone.
            E::UnknownUpload | E::UnknownFile => match during {
                During::Chunk { file } | During::File { file } => Self::FileNotFound(file.into()),
                During::Request => Self::Internal(e),
            },
            E::TooLarge { .. } => Self::TooLarge,
            E::TooManyUploads { .. } => Self::TooManyOpen,
            E::Body(m) if chunk => Self::ChunkCutOff(m),
            E::Body(m) => Self::BodyCutOff(m),
            // A full disk is a storage failure: spec §8 has no 507, only its 500 bodies.
            E::InsufficientStorage { .. } | E::Io(_) | E::Meta(_) | E::Corrupt(_) if chunk => {
                Self::ChunkNotSaved(e)
            }
            E::InsufficientStorage { .. } | E::Io(_) | E::Meta(_) | E::Corrupt(_) => {
                Self::Internal(e)
            }
            // This dialect only sends in-range indexes to indexed uploads and stores no names
            // as paths, so these mean a bug: the generic 500.
            E::WrongLayout(_)
            | E::ChunkOutOfRange { .. }
            | E::RangeOutOfBounds { .. }
            | E::PartsExhausted { .. }
            | E::InvalidName(_) => Self::Internal(e),
            // Completion runs in the background (assemble.rs maps a refusal to
            // `failed:chunks-merge`); no request path completes, so reaching this is a bug.
            E::Rejected(_) => Self::Internal(e),
        }
    }
}

impl From<engine::Error> for FilesnestError {
    fn from(e: engine::Error) -> Self {
        Self::from_engine(e, During::Request)
    }
}

impl ResponseError for FilesnestError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::Unauthorized | Self::TooManyOpen => StatusCode::FORBIDDEN,
            Self::FileNotFound(_) | Self::UploadNotFound(_) | Self::RouteNotFound(_) => {
                StatusCode::NOT_FOUND
            }
            Self::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Self::InvalidContentType
            | Self::CompletedFile
            | Self::ChunkCutOff(_)
            | Self::BodyCutOff(_) => StatusCode::BAD_REQUEST,
            Self::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::ChunkNotSaved(_) | Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut res = HttpResponse::build(self.status_code());
        match self {
            Self::Validation(errors) => res.json(errors),
            other => res.json(json!({ "message": other.to_string() })),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::body::MessageBody;

    fn body(e: FilesnestError) -> (u16, String) {
        let res = e.error_response();
        let status = res.status().as_u16();
        let bytes = res.into_body().try_into_bytes().unwrap();
        (status, String::from_utf8(bytes.to_vec()).unwrap())
    }

    #[test]
    fn each_error_renders_its_legacy_status_and_body() {
        let cases = [
            (
                FilesnestError::Unauthorized,
                403,
                r#"{"message":"This action is unauthorized."}"#,
            ),
            (
                FilesnestError::FileNotFound("999".into()),
                404,
                r#"{"message":"No query results for model [App\\Models\\File] 999"}"#,
            ),
            (
                FilesnestError::UploadNotFound("555".into()),
                404,
                r#"{"message":"No query results for model [App\\Models\\Upload] 555"}"#,
            ),
            (
                FilesnestError::RouteNotFound("api/files/abc".into()),
                404,
                r#"{"message":"The route api/files/abc could not be found."}"#,
            ),
            (
                FilesnestError::MethodNotAllowed {
                    method: "POST".into(),
                    path: "api/settings".into(),
                    allowed: "GET, HEAD".into(),
                },
                405,
                r#"{"message":"The POST method is not supported for route api/settings. Supported methods: GET, HEAD."}"#,
            ),
            (
                FilesnestError::InvalidContentType,
                400,
                r#"{"message":"Invalid content type"}"#,
            ),
            (
                FilesnestError::CompletedFile,
                400,
                r#"{"message":"Cannot update completed file"}"#,
            ),
            (
                FilesnestError::TooLarge,
                413,
                r#"{"message":"The POST data is too large."}"#,
            ),
            (
                FilesnestError::ChunkNotSaved(engine::Error::Meta("x".into())),
                500,
                r#"{"message":"Failed to save file chunk"}"#,
            ),
            (
                FilesnestError::Internal(engine::Error::Corrupt("x".into())),
                500,
                r#"{"message":"Server Error"}"#,
            ),
        ];
        for (error, status, text) in cases {
            assert_eq!(body(error), (status, text.to_owned()));
        }
    }

    #[test]
    fn engine_failures_map_by_what_the_request_was_doing() {
        use engine::Error as E;
        let chunk = During::Chunk { file: "7" };
        let cases: Vec<(E, During, u16)> = vec![
            (E::UnknownUpload, chunk, 404),
            (E::UnknownFile, During::File { file: "7" }, 404),
            (E::UnknownUpload, During::Request, 500),
            (E::TooLarge { limit: 1 }, chunk, 413),
            (E::TooManyUploads { limit: 1 }, During::Request, 403),
            (E::Body("reset".into()), chunk, 400),
            (
                E::InsufficientStorage {
                    available: 0,
                    required: 1,
                },
                chunk,
                500,
            ),
            (E::Io(std::io::Error::other("x")), During::Request, 500),
            (E::ChunkOutOfRange { index: 9, count: 1 }, chunk, 500),
        ];
        for (e, during, status) in cases {
            let text = e.to_string();
            let mapped = FilesnestError::from_engine(e, during);
            assert_eq!(mapped.status_code().as_u16(), status, "{text}");
        }
        let full = FilesnestError::from_engine(
            E::InsufficientStorage {
                available: 0,
                required: 1,
            },
            chunk,
        );
        assert_eq!(body(full).1, r#"{"message":"Failed to save file chunk"}"#);
    }
}
