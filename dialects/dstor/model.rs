//! Legacy JSON shapes (specs/dstor.md §3–§6) and the records the dialect keeps in the engine's
//! `dstor` record namespace.
//!
//! Record keys:
//! - `upload/<token>`: [`UploadRecord`], one per upload token;
//! - `cid/<token>/<sha256>`: [`DagRoot`] of a file received by the upload, written when its
//!   request counted (the CID was computed while the bytes streamed in);
//! - `result/<token>`: the listing ([`Finished`] lines) of an upload past `ADDING_TO_IPFS`,
//!   which is the `data` list once it is `DONE`;
//! - `ipfs/<cid>/<principal>`: [`GatewayEntry`], what `/ipfs/<cid>` serves for that owner;
//! - `hmac-key`: the key that signs access tokens.

use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use serde::{Deserialize, Serialize};

use super::cid::{Cid, DagRoot};
use crate::engine::{FileId, Principal, UploadId};

/// Version marker of the records below.
pub const RECORD_VERSION: u32 = 1;

/// A compact JSON answer with the legacy `Content-Type` (§1 "Conventions").
pub fn json_response<T: Serialize>(status: StatusCode, body: &T) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("application/json; charset=utf-8")
        .body(serde_json::to_string(body).expect("legacy bodies serialize"))
}

/// `200 {"access_token":"..."}` (§3).
#[derive(Serialize)]
pub struct AccessTokenBody {
    pub access_token: String,
}

/// `200 {"message":"ok","token":"..."}` (§4).
#[derive(Serialize)]
pub struct UploadTokenBody {
    pub message: &'static str,
    pub token: String,
}

/// The status object plus `upload_token`, the answer to an upload request (§5).
#[derive(Serialize)]
pub struct ChunkAnswer<'a> {
    pub status: &'static str,
    pub upload_token: &'a str,
}

/// One `data` entry of a `DONE` status (§6). The keys are capitalised and `Size` is a string.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataEntry {
    #[serde(rename = "Name")]
    pub name: String,
    #[serde(rename = "Hash")]
    pub hash: String,
    #[serde(rename = "Size")]
    pub size: String,
}

/// Where an upload is in its state machine (§6).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Stage {
    /// Fewer than `chunks_number` requests counted.
    Uploading,
    /// Computing CIDs and moving the files into the content store.
    AddingToIpfs,
    /// Writing the records.
    SavingData,
    /// Finished; the `data` list is in `result/<token>`.
    Done,
    /// Processing failed at `at`; the upload's files were discarded.
    Error {
        explanation: String,
        at: ProcessingStage,
    },
}

/// The stages finalisation can fail at (`errorAtStage`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProcessingStage {
    AddingToIpfs,
    SavingData,
}

impl ProcessingStage {
    pub fn legacy_name(self) -> &'static str {
        match self {
            ProcessingStage::AddingToIpfs => "ADDING_TO_IPFS",
            ProcessingStage::SavingData => "SAVING_DATA",
        }
    }
}

impl Stage {
    /// The legacy `status` value.
    pub fn legacy_name(&self) -> &'static str {
        match self {
            Stage::Uploading => "UPLOADING",
            Stage::AddingToIpfs => "ADDING_TO_IPFS",
            Stage::SavingData => "SAVING_DATA",
            Stage::Done => "DONE",
            Stage::Error { .. } => "ERROR",
        }
    }
}

/// One upload token and what it has received (`upload/<token>`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadRecord {
    pub v: u32,
    pub owner: Principal,
    /// The engine's `Batch` upload that holds the files until finalisation.
    pub upload: UploadId,
    pub chunks_number: u32,
    /// The normalised `folder_path` ("" for the root).
    pub folder: String,
    pub stage: Stage,
    /// `x-dstor-comment` of each counted request (stored, never returned).
    #[serde(default)]
    pub comments: Vec<String>,
    pub created_ms: u64,
    /// The last counted request: an upload still `UPLOADING` expires `upload_ttl` after it.
    pub last_request_ms: u64,
    /// When it reached `DONE` or `ERROR`: it stays queryable `upload_ttl` after that.
    pub finished_ms: Option<u64>,
    /// Files finalisation stored (discarded if it then fails).
    #[serde(default)]
    pub stored: Vec<FileId>,
}

impl UploadRecord {
    /// When the token stops answering (`None` while processing).
    pub fn expires_ms(&self, ttl_ms: u64) -> Option<u64> {
        match self.stage {
            Stage::Uploading => Some(self.last_request_ms.saturating_add(ttl_ms)),
            Stage::AddingToIpfs | Stage::SavingData => None,
            Stage::Done | Stage::Error { .. } => Some(
                self.finished_ms
                    .unwrap_or(self.last_request_ms)
                    .saturating_add(ttl_ms),
            ),
        }
    }
}

/// What `/ipfs/<cid>` serves (`ipfs/<cid>/<principal>`). Every finished upload indexes each
/// file and folder it produced, so a path below a folder resolves link by link.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum GatewayEntry {
    /// A stored file and the name it was uploaded under (for its Content-Type).
    File { file: FileId, name: String },
    /// A folder and its entries, by name.
    Folder { links: Vec<(String, Cid)> },
}

/// One line of a finished upload's listing (`result/<token>`): the `data` entry plus what the
/// gateway index needs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finished {
    pub name: String,
    pub root: DagRoot,
    /// The stored file (files only).
    pub file: Option<FileId>,
    /// The folder's entries (folders only).
    pub links: Option<Vec<(String, Cid)>>,
}

/// The `status` answer of get-status (§6), rendered in the legacy shape.
pub fn status_body(stage: &Stage, data: Option<Vec<DataEntry>>) -> serde_json::Value {
    match stage {
        Stage::Done => serde_json::json!({
            "status": stage.legacy_name(),
            "data": data.unwrap_or_default(),
        }),
        Stage::Error { explanation, at } => serde_json::json!({
            "status": stage.legacy_name(),
            "errorExplanation": explanation,
            "errorAtStage": at.legacy_name(),
        }),
        _ => serde_json::json!({ "status": stage.legacy_name() }),
    }
}

/// A `data` entry for `root` under `name`.
pub fn data_entry(name: String, root: &DagRoot) -> DataEntry {
    DataEntry {
        name,
        hash: root.cid.to_string(),
        size: root.cumulative.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_bodies_have_the_legacy_keys_in_order() {
        let entry = DataEntry {
            name: "evidence/a.txt".into(),
            hash: "Qm1".into(),
            size: "19".into(),
        };
        let cases = [
            (Stage::Uploading, None, r#"{"status":"UPLOADING"}"#),
            (Stage::AddingToIpfs, None, r#"{"status":"ADDING_TO_IPFS"}"#),
            (Stage::SavingData, None, r#"{"status":"SAVING_DATA"}"#),
            (
                Stage::Done,
                Some(vec![entry]),
                r#"{"status":"DONE","data":[{"Name":"evidence/a.txt","Hash":"Qm1","Size":"19"}]}"#,
            ),
            (
                Stage::Error {
                    explanation: "disk".into(),
                    at: ProcessingStage::SavingData,
                },
                None,
                r#"{"status":"ERROR","errorExplanation":"disk","errorAtStage":"SAVING_DATA"}"#,
            ),
        ];
        for (stage, data, want) in cases {
            assert_eq!(status_body(&stage, data).to_string(), want);
        }
    }

    #[test]
    fn the_chunk_answer_names_status_before_the_token() {
        let body = ChunkAnswer {
            status: "UPLOADING",
            upload_token: "t",
        };
        assert_eq!(
            serde_json::to_string(&body).unwrap(),
            r#"{"status":"UPLOADING","upload_token":"t"}"#
        );
    }
}
