//! Spika's legacy JSON shapes (specs/spika.md §3–§5) and the records the dialect keeps in the
//! engine's `spika` record store.
//!
//! Records, per principal and `clientId` (§6, the state machine):
//! - `upload/<principal>/<clientId>` → [`UploadPointer`]: the engine upload collecting chunks
//!   (state `collecting`);
//! - `verified/<principal>/<clientId>` → the legacy file id (state `verified`);
//! - `file/<id>` → [`FileRecord`]: the legacy file row, found by `GET /api/upload/files/{id}`.
//!
//! The principal is written with its length in front (`5:alice`), so no principal name can
//! make two keys collide, whatever characters it holds.

use crate::engine::{FileId, Principal, UploadId};
use serde::{Deserialize, Serialize};

/// Content type of every JSON answer (Express's `res.send` of an object).
pub const JSON_CONTENT_TYPE: &str = "application/json; charset=utf-8";

/// Record namespace and file-alias namespace of this dialect.
pub const NAMESPACE: &str = "spika";

/// The counter that numbers legacy file ids.
pub const FILE_COUNTER: &str = "file";

/// Version marker of the records below (STYLE.md #8).
const RECORD_VERSION: u32 = 1;

fn owner_key(kind: &str, owner: &Principal, client_id: &str) -> String {
    format!(
        "{kind}/{}:{}/{client_id}",
        owner.as_str().len(),
        owner.as_str()
    )
}

/// Key of the collecting upload of (`owner`, `client_id`).
pub fn upload_key(owner: &Principal, client_id: &str) -> String {
    owner_key("upload", owner, client_id)
}

/// Key of the verified marker of (`owner`, `client_id`).
pub fn verified_key(owner: &Principal, client_id: &str) -> String {
    owner_key("verified", owner, client_id)
}

/// Key of legacy file `id` (zero-padded, so a scan lists files in id order).
pub fn file_key(id: u64) -> String {
    format!("file/{id:020}")
}

/// Prefix of every [`UploadPointer`] key.
pub const UPLOAD_PREFIX: &str = "upload/";

/// The engine upload that collects a `clientId`'s chunks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadPointer {
    pub v: u32,
    pub upload: UploadId,
    /// Whose it is (also in the key), so a sweep can ask the engine about it.
    pub owner: Principal,
}

impl UploadPointer {
    pub fn new(upload: UploadId, owner: Principal) -> Self {
        UploadPointer {
            v: RECORD_VERSION,
            upload,
            owner,
        }
    }
}

/// The verified marker: which legacy file a `clientId` became.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifiedMarker {
    pub v: u32,
    pub file: u64,
}

impl VerifiedMarker {
    pub fn new(file: u64) -> Self {
        VerifiedMarker {
            v: RECORD_VERSION,
            file,
        }
    }
}

/// `metaData` as answered: each value the sent number truncated toward zero, or 0.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetaData {
    pub duration: i64,
    pub width: i64,
    pub height: i64,
}

/// The legacy file row (Prisma's `File`), as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FileRecord {
    pub v: u32,
    pub id: u64,
    pub owner: Principal,
    /// The engine file holding the bytes.
    pub file_id: FileId,
    pub file_name: String,
    pub size: u64,
    pub mime_type: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub relation_id: Option<i64>,
    pub room_id: Option<i64>,
    pub client_id: String,
    pub meta_data: MetaData,
    /// Unix time in milliseconds.
    pub created_at: u64,
}

/// Fields of a new [`FileRecord`] that come from the verify request.
pub struct FileFields {
    pub file_name: String,
    pub size: u64,
    pub mime_type: String,
    pub kind: String,
    pub relation_id: Option<i64>,
    pub room_id: Option<i64>,
    pub client_id: String,
    pub meta_data: MetaData,
}

impl FileRecord {
    pub fn new(id: u64, owner: Principal, file_id: FileId, created_at: u64, f: FileFields) -> Self {
        FileRecord {
            v: RECORD_VERSION,
            id,
            owner,
            file_id,
            file_name: f.file_name,
            size: f.size,
            mime_type: f.mime_type,
            kind: f.kind,
            relation_id: f.relation_id,
            room_id: f.room_id,
            client_id: f.client_id,
            meta_data: f.meta_data,
            created_at,
        }
    }

    /// The answer's `file` object; `path` is the mount prefix + `/uploads/files/` + clientId.
    pub fn view(&self, path: String) -> FileView<'_> {
        FileView {
            id: self.id,
            file_name: &self.file_name,
            size: self.size,
            mime_type: &self.mime_type,
            kind: &self.kind,
            relation_id: self.relation_id,
            client_id: &self.client_id,
            path,
            meta_data: self.meta_data,
            created_at: self.created_at,
        }
    }
}

/// `{"status":"success","data":...}`.
#[derive(Serialize)]
pub struct Success<T> {
    pub status: &'static str,
    pub data: T,
}

impl<T: Serialize> Success<T> {
    pub fn new(data: T) -> Self {
        Success {
            status: "success",
            data,
        }
    }
}

/// `data` of the chunk and check answers.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UploadedChunks {
    pub uploaded_chunks: Vec<u64>,
}

/// `data` of the verify answer.
#[derive(Serialize)]
pub struct VerifiedFile<'a> {
    pub file: FileView<'a>,
}

/// The `file` object of the verify answer, keys in the legacy order (§4).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FileView<'a> {
    pub id: u64,
    pub file_name: &'a str,
    pub size: u64,
    pub mime_type: &'a str,
    #[serde(rename = "type")]
    pub kind: &'a str,
    pub relation_id: Option<i64>,
    pub client_id: &'a str,
    pub path: String,
    pub meta_data: MetaData,
    pub created_at: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_cannot_collide_whatever_the_principal_is_called() {
        assert!(upload_key(&Principal::new("a"), "c").starts_with(UPLOAD_PREFIX));
        let a = upload_key(&Principal::new("a/1:b"), "c");
        let b = upload_key(&Principal::new("a"), "1:b/c");
        assert_ne!(a, b);
        assert_eq!(
            upload_key(&Principal::new("alice"), "c1"),
            "upload/5:alice/c1"
        );
        assert_eq!(
            verified_key(&Principal::new("alice"), "c1"),
            "verified/5:alice/c1"
        );
        assert_eq!(file_key(17), "file/00000000000000000017");
    }

    #[test]
    fn the_file_answer_has_the_legacy_keys_in_order() {
        let record = FileRecord::new(
            17,
            Principal::new("alice"),
            "00000000000000000000000000000001".parse().unwrap(),
            1_736_937_000_123,
            FileFields {
                file_name: "hello.txt".into(),
                size: 22,
                mime_type: "text/plain".into(),
                kind: "message".into(),
                relation_id: Some(8),
                room_id: None,
                client_id: "c1a2b3".into(),
                meta_data: MetaData::default(),
            },
        );
        let answer = Success::new(VerifiedFile {
            file: record.view("/uploads/files/c1a2b3".into()),
        });
        assert_eq!(
            serde_json::to_string(&answer).unwrap(),
            r#"{"status":"success","data":{"file":{"id":17,"fileName":"hello.txt","size":22,"mimeType":"text/plain","type":"message","relationId":8,"clientId":"c1a2b3","path":"/uploads/files/c1a2b3","metaData":{"duration":0,"width":0,"height":0},"createdAt":1736937000123}}}"#
        );
    }
}
