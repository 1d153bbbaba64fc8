//! The dialect's errors and their legacy bodies: the ApiError of specs/dyson.md §3 and the
//! Errors table of §11. Every engine error is mapped by one exhaustive `match`.

use crate::engine::{self, DigestKind};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::ser::SerializeMap;
use serde::Serialize;

/// `Content-Type` of every JSON answer (spec §1).
pub const JSON: &str = "application/json; charset=utf-8";

/// Field → messages, in the order the fields were checked (spec §4: "fields appear in table
/// order"; a JSON object map would sort them).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldErrors(Vec<(String, Vec<String>)>);

impl FieldErrors {
    /// One field with one message.
    pub fn one(field: &str, message: &str) -> Self {
        let mut e = FieldErrors::default();
        e.add(field, message);
        e
    }

    /// Records the first failure of `field` (later ones of the same field are dropped).
    pub fn add(&mut self, field: &str, message: &str) {
        if !self.0.iter().any(|(f, _)| f == field) {
            self.0.push((field.to_owned(), vec![message.to_owned()]));
        }
    }

    /// Records a failure and yields no value, for use in a `match` arm.
    pub fn fail<T>(&mut self, field: &str, message: &str) -> Option<T> {
        self.add(field, message);
        None
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Serialize for FieldErrors {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (field, messages) in &self.0 {
            map.serialize_entry(field, messages)?;
        }
        map.end()
    }
}

/// Everything a Dyson request can fail with.
#[derive(Debug, thiserror::Error)]
pub enum DysonError {
    /// No credential, or one the authenticator does not accept (401, empty body).
    #[error("missing or invalid credential")]
    Unauthorized,
    /// Create fields, the chunk index or the `chunk` part (400 VALIDATION_ERROR).
    #[error("validation failed: {0:?}")]
    Validation(FieldErrors),
    /// `complete` before every chunk arrived; the lowest missing index (400 CHUNK_MISSING).
    #[error("chunk {0} is missing")]
    ChunkMissing(u64),
    /// The assembled file does not have the declared hash (400 HASH_MISMATCH).
    #[error("{} mismatch: expected {expected}, computed {computed}", super::parse::digest_name(*.kind))]
    HashMismatch {
        kind: DigestKind,
        /// As the client sent it.
        expected: String,
        /// Lowercase hex.
        computed: String,
    },
    /// `file_size` above `dyson.max_file_bytes` (403 FORBIDDEN).
    #[error("file size {size} above the maximum {max}")]
    FileTooLarge { size: u64, max: u64 },
    /// The principal already holds `max_open_uploads_per_principal` unfinished tasks (403
    /// FORBIDDEN: the answer the original gives when a pool's quota refuses a file, §4/§11).
    #[error("too many open upload tasks (at most {limit})")]
    TooManyTasks { limit: u64 },
    /// An encrypted file's `passcode` is missing or wrong (403 FORBIDDEN).
    #[error("the passcode is incorrect")]
    WrongPasscode,
    /// Unknown, foreign or expired task (404, detail `Upload task`).
    #[error("unknown upload task")]
    UnknownTask,
    /// Unknown, foreign or expired file (404, detail `File`).
    #[error("unknown file")]
    UnknownFile,
    /// A route that does not exist (404, detail `Route`).
    #[error("no such route")]
    UnknownRoute,
    /// The request body is over its limit (413 PAYLOAD_TOO_LARGE).
    #[error("request body exceeds {limit} bytes")]
    PayloadTooLarge { limit: u64 },
    /// The body could not be read to its end (the client went away or sent broken framing).
    /// The connection is usually gone; earlier data of the chunk stays (spec §5).
    #[error("request body: {0}")]
    BodyCutOff(String),
    /// The data volume is nearly full: new data is refused (507; not in the original, which
    /// had no such guard, see docs/dialects/dyson.md).
    #[error("insufficient storage")]
    InsufficientStorage,
    /// A failure of the server (500 SERVER_ERROR); the cause is logged, never sent.
    #[error("internal error: {0}")]
    Internal(String),
}

impl DysonError {
    /// The out-of-range answer for a chunk index (spec §5 check 4): bound `chunks_count-1`.
    pub fn chunk_out_of_range(index: i64, chunks_count: u64) -> Self {
        let last = chunks_count as i128 - 1;
        DysonError::Validation(FieldErrors::one(
            "chunk_index",
            &format!("Chunk index {index} is out of range 0..{last}."),
        ))
    }

    /// The 400 for a chunk request without a `chunk` part (spec §5 check 6).
    pub fn chunk_required() -> Self {
        DysonError::Validation(FieldErrors::one("chunk", "The chunk field is required."))
    }
}

impl From<engine::Error> for DysonError {
    fn from(e: engine::Error) -> Self {
        use engine::Error as E;
        match e {
            E::UnknownUpload => DysonError::UnknownTask,
            E::UnknownFile => DysonError::UnknownFile,
            // The index is range-checked before the engine sees it; kept for completeness.
            E::ChunkOutOfRange { index, count } => {
                DysonError::chunk_out_of_range(index as i64, count)
            }
            E::TooLarge { limit } => DysonError::PayloadTooLarge { limit },
            E::TooManyUploads { limit } => DysonError::TooManyTasks { limit },
            E::InsufficientStorage { .. } => DysonError::InsufficientStorage,
            E::Body(msg) => DysonError::BodyCutOff(msg),
            // Dyson uploads are `Indexed` and never carry names the engine checks, so these
            // mean a bug in the dialect, not bad input.
            e @ (E::WrongLayout(_)
            | E::RangeOutOfBounds { .. }
            | E::PartsExhausted { .. }
            | E::InvalidName(_)) => {
                tracing::error!(error = %e, "engine refused a dyson request shape");
                DysonError::Internal(e.to_string())
            }
            e @ (E::Io(_) | E::Meta(_) | E::Corrupt(_)) => {
                tracing::error!(error = %e, "storage failure");
                DysonError::Internal(e.to_string())
            }
            // A pre-complete hook refused the completion: the 400 ValidationError shape of
            // spec §3, the reason under `file` (the task stays open and may complete again).
            E::Rejected(reason) => DysonError::Validation(FieldErrors::one("file", &reason)),
        }
    }
}

/// The ApiError body (spec §3): `code`, `message`, `status`, then `detail` and `errors` when
/// set.
#[derive(Serialize)]
struct ApiError<'a> {
    code: &'a str,
    message: String,
    status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    errors: Option<&'a FieldErrors>,
}

fn not_found(what: &str) -> (String, Option<&str>) {
    (
        format!("The requested resource '{what}' was not found."),
        Some(what),
    )
}

impl ResponseError for DysonError {
    fn status_code(&self) -> StatusCode {
        match self {
            DysonError::Unauthorized => StatusCode::UNAUTHORIZED,
            DysonError::Validation(_)
            | DysonError::ChunkMissing(_)
            | DysonError::HashMismatch { .. }
            | DysonError::BodyCutOff(_) => StatusCode::BAD_REQUEST,
            DysonError::FileTooLarge { .. }
            | DysonError::TooManyTasks { .. }
            | DysonError::WrongPasscode => StatusCode::FORBIDDEN,
            DysonError::UnknownTask | DysonError::UnknownFile | DysonError::UnknownRoute => {
                StatusCode::NOT_FOUND
            }
            DysonError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            DysonError::InsufficientStorage => StatusCode::INSUFFICIENT_STORAGE,
            DysonError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        let (code, (message, detail), errors) = match self {
            // 401 with an empty body, no Content-Type, no WWW-Authenticate (spec §2).
            DysonError::Unauthorized => return HttpResponse::Unauthorized().finish(),
            DysonError::Validation(errors) => (
                "VALIDATION_ERROR",
                ("One or more validation errors occurred.".to_owned(), None),
                Some(errors),
            ),
            DysonError::ChunkMissing(i) => (
                "CHUNK_MISSING",
                (format!("Chunk {i} is missing."), None),
                None,
            ),
            DysonError::HashMismatch {
                kind,
                expected,
                computed,
            } => (
                "HASH_MISMATCH",
                (
                    format!("Hash mismatch: expected {expected}, computed {computed}."),
                    Some(super::parse::digest_name(*kind)),
                ),
                None,
            ),
            DysonError::FileTooLarge { size, max } => (
                "FORBIDDEN",
                (
                    format!("File size {size} is larger than the pool's maximum file size {max}"),
                    None,
                ),
                None,
            ),
            DysonError::TooManyTasks { limit } => (
                "FORBIDDEN",
                (
                    format!("You have reached the maximum of {limit} unfinished upload tasks."),
                    None,
                ),
                None,
            ),
            DysonError::WrongPasscode => (
                "FORBIDDEN",
                ("The passcode is incorrect.".to_owned(), None),
                None,
            ),
            DysonError::UnknownTask => ("NOT_FOUND", not_found("Upload task"), None),
            DysonError::UnknownFile => ("NOT_FOUND", not_found("File"), None),
            DysonError::UnknownRoute => ("NOT_FOUND", not_found("Route"), None),
            DysonError::PayloadTooLarge { limit } => (
                "PAYLOAD_TOO_LARGE",
                (format!("Request body exceeds {limit} bytes."), None),
                None,
            ),
            DysonError::BodyCutOff(_) => (
                "BAD_REQUEST",
                ("The request body could not be read.".to_owned(), None),
                None,
            ),
            DysonError::InsufficientStorage => (
                "INSUFFICIENT_STORAGE",
                ("Not enough storage is available.".to_owned(), None),
                None,
            ),
            DysonError::Internal(_) => (
                "SERVER_ERROR",
                ("An unexpected error occurred.".to_owned(), None),
                None,
            ),
        };
        let body = ApiError {
            code,
            message,
            status: status.as_u16(),
            detail,
            errors,
        };
        json_response(status, &body)
    }
}

/// A JSON answer with the legacy `Content-Type`.
pub fn json_response<T: Serialize>(status: StatusCode, body: &T) -> HttpResponse {
    let bytes = serde_json::to_vec(body).expect("legacy shapes serialize");
    HttpResponse::build(status)
        .insert_header((header::CONTENT_TYPE, HeaderValue::from_static(JSON)))
        .body(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body_of(e: DysonError) -> (u16, String) {
        let res = e.error_response();
        let status = res.status().as_u16();
        let bytes = actix_web::body::to_bytes(res.into_body()).await.unwrap();
        (status, String::from_utf8(bytes.to_vec()).unwrap())
    }

    #[actix_web::test]
    async fn each_error_renders_the_legacy_body() {
        let cases = [
            (
                DysonError::UnknownTask,
                404,
                r#"{"code":"NOT_FOUND","message":"The requested resource 'Upload task' was not found.","status":404,"detail":"Upload task"}"#,
            ),
            (
                DysonError::ChunkMissing(1),
                400,
                r#"{"code":"CHUNK_MISSING","message":"Chunk 1 is missing.","status":400}"#,
            ),
            (
                DysonError::FileTooLarge {
                    size: 9000,
                    max: 8000,
                },
                403,
                r#"{"code":"FORBIDDEN","message":"File size 9000 is larger than the pool's maximum file size 8000","status":403}"#,
            ),
            (
                DysonError::HashMismatch {
                    kind: DigestKind::Md5,
                    expected: "0123456789abcdef0123456789abcdef".into(),
                    computed: "7ea23c92fad42be0670e8e69ef378a45".into(),
                },
                400,
                r#"{"code":"HASH_MISMATCH","message":"Hash mismatch: expected 0123456789abcdef0123456789abcdef, computed 7ea23c92fad42be0670e8e69ef378a45.","status":400,"detail":"MD5"}"#,
            ),
            (
                DysonError::chunk_out_of_range(0, 0),
                400,
                r#"{"code":"VALIDATION_ERROR","message":"One or more validation errors occurred.","status":400,"errors":{"chunk_index":["Chunk index 0 is out of range 0..-1."]}}"#,
            ),
            (
                DysonError::PayloadTooLarge { limit: 6291456 },
                413,
                r#"{"code":"PAYLOAD_TOO_LARGE","message":"Request body exceeds 6291456 bytes.","status":413}"#,
            ),
            (
                DysonError::Internal("disk on fire".into()),
                500,
                r#"{"code":"SERVER_ERROR","message":"An unexpected error occurred.","status":500}"#,
            ),
        ];
        for (error, status, body) in cases {
            assert_eq!(body_of(error).await, (status, body.to_owned()));
        }
    }

    #[test]
    fn field_errors_keep_check_order_and_the_first_message() {
        let mut e = FieldErrors::default();
        e.add("hash", "first");
        e.add("file_name", "x");
        e.add("hash", "second");
        assert_eq!(
            serde_json::to_string(&e).unwrap(),
            r#"{"hash":["first"],"file_name":["x"]}"#
        );
    }
}
