//! The dialect's errors and their legacy answers: `{"message":"..."}` with the status of
//! specs/dstor.md §10. Engine errors are mapped one by one (no catch-all), so a new engine
//! variant cannot silently become a 500.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};

use super::model::json_response;
use crate::engine;

/// Everything a dStor request can fail with. The `Display` text is the legacy `message`.
#[derive(Debug, thiserror::Error)]
pub enum DstorError {
    /// Missing, unknown or expired `api-key` or Bearer token (§2).
    #[error("Unauthorized")]
    Unauthorized,
    /// `x-expiration` is not a number in the future (§3).
    #[error("x-expiration must be a unix time in the future")]
    BadExpiration,
    /// The get-token body is not a JSON object (§4).
    #[error("Request body must be a JSON object")]
    NotAnObject,
    /// `chunks_number` missing, not an integer or out of range (§4).
    #[error("chunks_number must be an integer between 1 and {max}")]
    ChunksNumber { max: u64 },
    /// `folder_path` missing (§4).
    #[error("folder_path is required")]
    FolderPathRequired,
    /// `folder_path` not a valid path (§4).
    #[error("folder_path is invalid")]
    FolderPathInvalid,
    /// No `x-dstor-upload-token` header (§5 step 2).
    #[error("x-dstor-upload-token header is required")]
    UploadTokenMissing,
    /// Unknown, foreign or expired upload token (§5 step 3): foreign ones answer the same.
    #[error("Upload not found")]
    UploadNotFound,
    /// The upload already counted its `chunks_number` requests (§5 step 4).
    #[error("All {0} chunks have already been uploaded")]
    AllChunksUploaded(u32),
    /// The upload request is not `multipart/form-data` (§5 step 5).
    #[error("Request must be multipart/form-data")]
    NotMultipart,
    /// The principal already holds `max_open_uploads_per_principal` unfinished uploads (400, like
    /// every other refused get-token in §10).
    #[error("Too many open uploads (at most {0})")]
    TooManyUploads(u64),
    /// A body over `dstor.max_request_bytes` (§5 step 6).
    #[error("Request entity too large")]
    TooLarge,
    /// No part with a filename (§5 step 7).
    #[error("No files in request")]
    NoFiles,
    /// A filename that is not a valid relative path, quoted as sent (§5 step 8).
    #[error("Invalid file path: {0}")]
    InvalidFilePath(String),
    /// A path that is both a file and a folder (§5 step 9).
    #[error("File path conflicts with another entry: {0}")]
    PathConflict(String),
    /// A folder kubo would shard (§5 step 9, §7).
    #[error("Too many entries in folder: {0}")]
    FolderTooBig(String),
    /// More than `dstor.max_files` files (§5 step 9).
    #[error("Too many files in upload")]
    TooManyFiles,
    /// The client's body ended early or was malformed mid-stream; the connection is usually
    /// gone, and the request did not count.
    #[error("Request body could not be read")]
    BodyCutOff,
    /// Unknown route or CID (§8, §10).
    #[error("Not found")]
    NotFound,
    /// The data volume is below `min_free_space`: refused before anything is stored.
    #[error("Insufficient storage")]
    InsufficientStorage,
    /// 400: a pre-complete hook refused the upload; holds its reason (sent as the message, like
    /// the spec's other 400 refusals of a finished upload, e.g. a path conflict).
    #[error("{0}")]
    Rejected(String),
    /// A server failure; the details are logged, never sent.
    #[error("Internal server error")]
    Internal,
}

impl From<engine::Error> for DstorError {
    fn from(e: engine::Error) -> Self {
        use engine::Error as E;
        match e {
            E::UnknownUpload => DstorError::UploadNotFound,
            E::UnknownFile => DstorError::NotFound,
            E::PartsExhausted { parts } => DstorError::AllChunksUploaded(parts),
            E::TooLarge { .. } => DstorError::TooLarge,
            E::TooManyUploads { limit } => DstorError::TooManyUploads(limit),
            E::Body(reason) => {
                tracing::info!(%reason, "upload body cut off");
                DstorError::BodyCutOff
            }
            E::InvalidName(name) => DstorError::InvalidFilePath(name),
            E::InsufficientStorage {
                available,
                required,
            } => {
                tracing::warn!(available, required, "refusing data: disk nearly full");
                DstorError::InsufficientStorage
            }
            // A batch upload never asks for chunks or ranges: these are bugs.
            e @ (E::WrongLayout(_) | E::ChunkOutOfRange { .. } | E::RangeOutOfBounds { .. }) => {
                tracing::error!(error = %e, "engine call does not fit a dStor upload");
                DstorError::Internal
            }
            e @ (E::Io(_) | E::Meta(_) | E::Corrupt(_)) => {
                tracing::error!(error = %e, "storage failure");
                DstorError::Internal
            }
            E::Rejected(reason) => DstorError::Rejected(reason),
        }
    }
}

impl ResponseError for DstorError {
    fn status_code(&self) -> StatusCode {
        match self {
            DstorError::Unauthorized => StatusCode::UNAUTHORIZED,
            DstorError::BadExpiration
            | DstorError::NotAnObject
            | DstorError::ChunksNumber { .. }
            | DstorError::FolderPathRequired
            | DstorError::FolderPathInvalid
            | DstorError::UploadTokenMissing
            | DstorError::AllChunksUploaded(_)
            | DstorError::NotMultipart
            | DstorError::NoFiles
            | DstorError::InvalidFilePath(_)
            | DstorError::PathConflict(_)
            | DstorError::FolderTooBig(_)
            | DstorError::TooManyFiles
            | DstorError::TooManyUploads(_)
            | DstorError::Rejected(_)
            | DstorError::BodyCutOff => StatusCode::BAD_REQUEST,
            DstorError::UploadNotFound | DstorError::NotFound => StatusCode::NOT_FOUND,
            DstorError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            DstorError::InsufficientStorage => StatusCode::INSUFFICIENT_STORAGE,
            DstorError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        json_response(
            self.status_code(),
            &serde_json::json!({ "message": self.to_string() }),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::body::MessageBody;

    fn render(e: DstorError) -> (u16, String) {
        let r = e.error_response();
        let status = r.status().as_u16();
        let body = r.into_body().try_into_bytes().unwrap();
        (status, String::from_utf8(body.to_vec()).unwrap())
    }

    #[test]
    fn errors_render_the_legacy_message_body() {
        let cases = [
            (
                DstorError::Unauthorized,
                401,
                r#"{"message":"Unauthorized"}"#,
            ),
            (
                DstorError::ChunksNumber { max: 10000 },
                400,
                r#"{"message":"chunks_number must be an integer between 1 and 10000"}"#,
            ),
            (
                DstorError::AllChunksUploaded(3),
                400,
                r#"{"message":"All 3 chunks have already been uploaded"}"#,
            ),
            (
                DstorError::InvalidFilePath("../b.txt".into()),
                400,
                r#"{"message":"Invalid file path: ../b.txt"}"#,
            ),
            (
                DstorError::UploadNotFound,
                404,
                r#"{"message":"Upload not found"}"#,
            ),
            (
                DstorError::TooLarge,
                413,
                r#"{"message":"Request entity too large"}"#,
            ),
            (
                DstorError::Internal,
                500,
                r#"{"message":"Internal server error"}"#,
            ),
        ];
        for (error, status, body) in cases {
            assert_eq!(render(error), (status, body.to_owned()));
        }
    }

    #[test]
    fn engine_errors_map_to_their_legacy_answers() {
        use engine::Error as E;
        let cases: Vec<(E, u16)> = vec![
            (E::UnknownUpload, 404),
            (E::UnknownFile, 404),
            (E::PartsExhausted { parts: 2 }, 400),
            (E::TooLarge { limit: 1 }, 413),
            (E::TooManyUploads { limit: 1 }, 400),
            (E::Body("reset".into()), 400),
            (E::InvalidName("x".into()), 400),
            (
                E::InsufficientStorage {
                    available: 1,
                    required: 2,
                },
                507,
            ),
            (E::WrongLayout(engine::Layout::Ranged { size: 1 }), 500),
            (E::Io(std::io::Error::other("disk")), 500),
            (E::Meta("sled".into()), 500),
            (E::Corrupt("bad".into()), 500),
        ];
        for (e, status) in cases {
            let shown = e.to_string();
            assert_eq!(
                DstorError::from(e).status_code().as_u16(),
                status,
                "{shown}"
            );
        }
    }
}
