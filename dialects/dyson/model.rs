//! Legacy JSON shapes (specs/dyson.md §4 and §7) and the records the dialect keeps in the
//! engine's `dyson` record namespace.
//!
//! Key order matters (spec §1: "Keys appear in the order shown"), so every shape is a struct
//! whose field order is the legacy order, and nulls are written out.

use crate::engine::{FileId, Principal, UploadId};
use serde::{Deserialize, Serialize};
use std::time::SystemTime;

use super::seal::SealKey;

/// Version marker of the dialect's records.
pub const RECORD_VERSION: u32 = 1;

/// The answer of `POST …/create` (spec §4).
#[derive(Debug, Serialize)]
pub struct CreateResponse {
    pub file_exists: bool,
    pub file: Option<CloudFile>,
    pub task_id: Option<String>,
    pub chunk_size: Option<u64>,
    pub chunks_count: Option<u64>,
}

impl CreateResponse {
    /// De-duplication hit: the existing file, nothing created.
    pub fn existing(file: CloudFile) -> Self {
        CreateResponse {
            file_exists: true,
            file: Some(file),
            task_id: None,
            chunk_size: None,
            chunks_count: None,
        }
    }

    /// A new task.
    pub fn task(task_id: String, chunk_size: u64, chunks_count: u64) -> Self {
        CreateResponse {
            file_exists: false,
            file: None,
            task_id: Some(task_id),
            chunk_size: Some(chunk_size),
            chunks_count: Some(chunks_count),
        }
    }
}

/// The CloudFile object, snake_case, every key of spec §7 in its order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CloudFile {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub file_meta: Option<serde_json::Value>,
    pub user_meta: Option<serde_json::Value>,
    pub sensitive_marks: Vec<i32>,
    pub mime_type: String,
    /// Always the full MD5 of the plaintext, lowercase hex (deviation: never approximated).
    pub hash: String,
    pub expired_at: Option<String>,
    pub size: u64,
    pub uploaded_at: Option<String>,
    pub has_compression: bool,
    pub has_thumbnail: bool,
    pub is_encrypted: bool,
    pub pool: Option<serde_json::Value>,
    pub pool_id: Option<String>,
    pub bundle_id: Option<String>,
    pub is_marked_recycle: bool,
    pub storage_id: String,
    pub storage_url: Option<String>,
    pub references: Vec<serde_json::Value>,
    pub account_id: String,
    pub resource_identifier: String,
    pub created_at: String,
    pub updated_at: String,
    pub deleted_at: Option<String>,
}

/// What completion knows about a new file.
pub struct NewCloudFile<'a> {
    pub id: &'a str,
    pub task: &'a TaskRecord,
    pub md5: String,
    pub size: u64,
    pub created: SystemTime,
}

impl CloudFile {
    /// The object of a freshly completed file (spec §7, "value on completion").
    pub fn completed(new: NewCloudFile<'_>) -> Self {
        let t = new.task;
        let created = super::parse::format_instant(new.created);
        CloudFile {
            id: new.id.to_owned(),
            name: t.file_name.clone(),
            description: None,
            file_meta: None,
            user_meta: None,
            sensitive_marks: Vec::new(),
            mime_type: t.content_type.clone(),
            hash: new.md5,
            expired_at: t.expired_at.map(super::parse::format_instant),
            size: new.size,
            uploaded_at: None,
            has_compression: false,
            has_thumbnail: false,
            is_encrypted: t.seal.is_some(),
            pool: None,
            // Pools are not modelled (spec §12): `pool_id` is only format-checked.
            pool_id: None,
            bundle_id: t.bundle_id.clone(),
            is_marked_recycle: false,
            storage_id: new.id.to_owned(),
            storage_url: None,
            references: Vec::new(),
            account_id: t.owner.to_string(),
            resource_identifier: format!("file:{}", new.id),
            created_at: created.clone(),
            updated_at: created,
            deleted_at: None,
        }
    }
}

/// An open upload task, under `task:<task_id>`: the principal, every request field and the
/// expected hash (spec §4), plus the engine upload that holds its chunks.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TaskRecord {
    pub v: u32,
    pub upload: UploadId,
    pub owner: Principal,
    pub hash: String,
    pub file_name: String,
    pub file_size: u64,
    pub content_type: String,
    pub pool_id: Option<String>,
    pub bundle_id: Option<String>,
    pub expired_at: Option<SystemTime>,
    pub chunk_size: u64,
    pub chunks_count: u64,
    /// Set when `encrypt_password` was given: the derived key and its salt, never the password.
    /// It lives only as long as the task (the chunks are plaintext until completion anyway).
    pub seal: Option<SealKey>,
    /// The CloudFile id this task's file gets, chosen at create: a completion interrupted after
    /// the engine stored the file (under this id's alias) and before the task record was
    /// replaced is found again by it on the client's retry. Absent in records written before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_id: Option<String>,
}

/// A completed file, under `file:<id>`: its CloudFile and the engine file holding its bytes
/// (the sealed bytes when `is_encrypted`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FileRecord {
    pub v: u32,
    pub file: FileId,
    pub cloud: CloudFile,
}

/// A random id of 21 characters from `[A-Za-z0-9_-]` (task ids and file ids, spec §4 and §7),
/// never all digits: all-digit ids under `/api/files/` belong to FilesNest.
pub fn new_id() -> String {
    loop {
        let id = nanoid::nanoid!();
        if !id.bytes().all(|b| b.is_ascii_digit()) {
            return id;
        }
    }
}

/// Whether `s` has the shape of an id this dialect hands out (anything else is unknown).
pub fn is_id(s: &str) -> bool {
    s.len() == 21
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_ids_have_the_legacy_shape_and_are_never_all_digits() {
        for _ in 0..200 {
            let id = new_id();
            assert!(is_id(&id), "{id}");
            assert!(!id.bytes().all(|b| b.is_ascii_digit()));
        }
        assert!(!is_id("short"));
        assert!(!is_id("q3Zk9_b1XyT0aLmN2pRs/"));
    }

    #[test]
    fn the_create_answers_keep_the_legacy_key_order_and_nulls() {
        let task = serde_json::to_string(&CreateResponse::task("abc".into(), 8, 3)).unwrap();
        assert_eq!(
            task,
            r#"{"file_exists":false,"file":null,"task_id":"abc","chunk_size":8,"chunks_count":3}"#
        );
    }
}
