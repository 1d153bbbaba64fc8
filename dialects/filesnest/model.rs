//! FilesNest's objects: the records kept in the engine's `filesnest` record store, and the legacy
//! JSON shapes built from them (specs/filesnest.md §3).
//!
//! JSON keys come out in the order the spec shows because each shape is a struct whose fields are
//! declared in that order (serde keeps declaration order).

use serde::{Deserialize, Serialize};

use crate::engine::{FileId, UploadId};

/// `status_name` of a file (spec §6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FileStatus {
    /// Created; chunks may arrive.
    InProgress,
    /// Assembled and verified; the uploads are gone.
    Completed,
    /// The SHA-256 of the assembled bytes differed from `checksum`; chunks kept.
    FailedChecksum,
    /// Storage failed while assembling; chunks kept.
    FailedChunksMerge,
}

impl FileStatus {
    /// The legacy `status_name`.
    pub fn name(self) -> &'static str {
        match self {
            FileStatus::InProgress => "in_progress",
            FileStatus::Completed => "completed",
            FileStatus::FailedChecksum => "failed:checksum",
            FileStatus::FailedChunksMerge => "failed:chunks-merge",
        }
    }
}

/// A file as stored. Times are whole Unix seconds (the legacy timestamps have no fraction).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileRecord {
    pub id: u64,
    pub name: String,
    /// `YYYY-MM-DD HH:MM:SS`, as sent.
    pub create_datetime: String,
    pub checksum: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub status: FileStatus,
    /// How many uploads (placeholders) the file was created with.
    pub chunks_count: u64,
    /// The engine upload that receives the chunks (chunk `number` k is engine index k-1).
    pub upload: UploadId,
    /// The engine file, once assembled and verified.
    pub file: Option<FileId>,
}

/// An upload (chunk placeholder) as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadRecord {
    pub id: u64,
    /// 1..=chunks_count: the position of the chunk in the file.
    pub number: u64,
    pub created_at: i64,
    pub updated_at: i64,
    /// A chunk body has been stored (`status_name` `completed`).
    pub completed: bool,
}

/// `2025-04-27T15:00:15.000000Z`: Laravel's ISO-8601 with a microsecond fraction that is always
/// zero, because the database keeps whole seconds (spec §1).
pub fn timestamp(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%S.000000Z")
        .to_string()
}

/// The current time in whole seconds.
pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// `{"data": ...}`: Laravel's resource envelope.
#[derive(Serialize)]
pub struct Data<T> {
    pub data: T,
}

/// The legacy File object (spec §3).
#[derive(Serialize)]
pub struct FileJson<'a> {
    pub id: u64,
    pub name: &'a str,
    pub create_datetime: &'a str,
    pub checksum: Option<&'a str>,
    pub created_at: String,
    pub updated_at: String,
    pub status_name: &'static str,
    /// Present only where the spec says so (`include=uploads`, and always in the 201).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uploads: Option<Vec<UploadJson>>,
}

impl<'a> FileJson<'a> {
    /// The file, with `uploads` when given (already sorted by `number`).
    pub fn new(file: &'a FileRecord, uploads: Option<&[UploadRecord]>) -> Self {
        FileJson {
            id: file.id,
            name: &file.name,
            create_datetime: &file.create_datetime,
            checksum: file.checksum.as_deref(),
            created_at: timestamp(file.created_at),
            updated_at: timestamp(file.updated_at),
            status_name: file.status.name(),
            uploads: uploads.map(|u| u.iter().map(UploadJson::from).collect()),
        }
    }
}

/// The legacy Upload object (spec §3).
#[derive(Serialize)]
pub struct UploadJson {
    pub id: u64,
    pub number: u64,
    pub created_at: String,
    pub updated_at: String,
    pub status_name: &'static str,
}

impl From<&UploadRecord> for UploadJson {
    fn from(u: &UploadRecord) -> Self {
        UploadJson {
            id: u.id,
            number: u.number,
            created_at: timestamp(u.created_at),
            updated_at: timestamp(u.updated_at),
            status_name: if u.completed {
                "completed"
            } else {
                "in_progress"
            },
        }
    }
}

/// `{"data":{"upload_max_size":N}}` of `GET /api/settings` (spec §5.9).
#[derive(Serialize)]
pub struct SettingsJson {
    pub upload_max_size: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file() -> FileRecord {
        FileRecord {
            id: 26,
            name: "hello.txt".into(),
            create_datetime: "2024-01-15 10:30:00".into(),
            checksum: None,
            created_at: 1_745_766_015,
            updated_at: 1_745_766_017,
            status: FileStatus::InProgress,
            chunks_count: 1,
            upload: "0123456789abcdef0123456789abcdef".parse().unwrap(),
            file: None,
        }
    }

    #[test]
    fn timestamps_have_whole_seconds_and_six_zero_digits() {
        assert_eq!(timestamp(1_745_766_015), "2025-04-27T15:00:15.000000Z");
        assert_eq!(timestamp(0), "1970-01-01T00:00:00.000000Z");
    }

    #[test]
    fn a_file_serialises_in_the_legacy_key_order_with_null_checksum() {
        let json = serde_json::to_string(&FileJson::new(&file(), None)).unwrap();
        assert_eq!(
            json,
            r#"{"id":26,"name":"hello.txt","create_datetime":"2024-01-15 10:30:00","checksum":null,"created_at":"2025-04-27T15:00:15.000000Z","updated_at":"2025-04-27T15:00:17.000000Z","status_name":"in_progress"}"#
        );
    }

    #[test]
    fn uploads_appear_only_when_asked_for_and_say_whether_a_chunk_is_stored() {
        let uploads = [UploadRecord {
            id: 101,
            number: 1,
            created_at: 1_745_766_015,
            updated_at: 1_745_766_016,
            completed: true,
        }];
        let json = serde_json::to_string(&FileJson::new(&file(), Some(&uploads))).unwrap();
        assert!(json.ends_with(
            r#""status_name":"in_progress","uploads":[{"id":101,"number":1,"created_at":"2025-04-27T15:00:15.000000Z","updated_at":"2025-04-27T15:00:16.000000Z","status_name":"completed"}]}"#
        ));
        let none = serde_json::to_string(&FileJson::new(&file(), Some(&[]))).unwrap();
        assert!(none.ends_with(r#""uploads":[]}"#));
    }
}
