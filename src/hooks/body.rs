//! What a webhook receives: the JSON body of an event (or of a pre-complete check) and its
//! HMAC-SHA256 signature. The format is documented in `docs/webhooks.md`; keep the two in step.

use crate::engine::{Candidate, Event, EventFile, Labels};
use hmac::{Hmac, Mac};
use serde::Serialize;
use sha2::Sha256;

/// Header carrying `sha256=<hex HMAC-SHA256 of the body>` when the hook has a secret.
pub const SIGNATURE_HEADER: &str = "X-Chunkgate-Signature";
/// Header naming the event type (`upload.completed`, ..., `pre-complete`).
pub const EVENT_HEADER: &str = "X-Chunkgate-Event";
/// Header carrying the event id (the same on every redelivery of one event).
pub const DELIVERY_HEADER: &str = "X-Chunkgate-Delivery";

/// The body of a journal event.
#[derive(Serialize)]
struct EventBody<'a> {
    id: String,
    #[serde(rename = "type")]
    kind: &'static str,
    seq: u64,
    occurred_at: String,
    dialect: &'a str,
    principal: &'a str,
    upload_id: String,
    /// The dialect's own ids for the upload (e.g. `task_id`, `file_id`, `client_id`) and, when
    /// known at creation, the file `name`.
    labels: &'a Labels,
    file: Option<FileBody<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    mismatch: Option<MismatchBody<'a>>,
}

/// The body of a pre-complete check.
#[derive(Serialize)]
struct CandidateBody<'a> {
    id: String,
    #[serde(rename = "type")]
    kind: &'static str,
    dialect: &'a str,
    principal: &'a str,
    upload_id: String,
    labels: &'a Labels,
    files: Vec<FileBody<'a>>,
}

#[derive(Serialize)]
struct FileBody<'a> {
    id: String,
    name: &'a str,
    content_type: Option<&'a str>,
    size: u64,
    sha256: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    sha1: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    md5: Option<&'a str>,
    /// `<dialect>:<legacy id>` forms, each usable with the operator API.
    legacy_ids: Vec<String>,
    /// The operator API's download URL (`GET /gateway/v1/files/{id}/content`, admin token).
    download_url: String,
}

#[derive(Serialize)]
struct MismatchBody<'a> {
    /// `sha256`, `sha1`, `md5`, or `size`.
    check: &'static str,
    expected: &'a str,
    actual: &'a str,
}

fn file_body<'a>(f: &'a EventFile, base_url: &str) -> FileBody<'a> {
    FileBody {
        id: f.id.to_string(),
        name: &f.name,
        content_type: f.content_type.as_deref(),
        size: f.size,
        sha256: &f.digests.sha256,
        sha1: f.digests.sha1.as_deref(),
        md5: f.digests.md5.as_deref(),
        legacy_ids: f
            .aliases
            .iter()
            .map(|(ns, id)| format!("{ns}:{id}"))
            .collect(),
        download_url: format!("{base_url}/gateway/v1/files/{}/content", f.id),
    }
}

fn rfc3339(t: std::time::SystemTime) -> String {
    chrono::DateTime::<chrono::Utc>::from(t).to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// The JSON body of `event`; file URLs start with `base_url` (no trailing `/`).
pub fn event_body(event: &Event, base_url: &str) -> Vec<u8> {
    let body = EventBody {
        id: event.id.to_string(),
        kind: event.kind.name(),
        seq: event.seq,
        occurred_at: rfc3339(event.at),
        dialect: &event.namespace,
        principal: event.owner.as_str(),
        upload_id: event.upload.to_string(),
        labels: &event.labels,
        file: event.file.as_ref().map(|f| file_body(f, base_url)),
        mismatch: event.mismatch.as_ref().map(|m| MismatchBody {
            check: m.digest.map_or("size", |k| k.name()),
            expected: &m.expected,
            actual: &m.actual,
        }),
    };
    serde_json::to_vec(&body).expect("event bodies serialize")
}

/// The JSON body of a pre-complete check of `candidate`.
pub fn candidate_body(candidate: &Candidate, base_url: &str) -> Vec<u8> {
    let body = CandidateBody {
        id: uuid::Uuid::new_v4().to_string(),
        kind: crate::config::PRE_COMPLETE,
        dialect: &candidate.namespace,
        principal: candidate.owner.as_str(),
        upload_id: candidate.upload.to_string(),
        labels: &candidate.labels,
        files: candidate
            .files
            .iter()
            .map(|f| file_body(f, base_url))
            .collect(),
    };
    serde_json::to_vec(&body).expect("candidate bodies serialize")
}

/// `sha256=<hex>`: the HMAC-SHA256 of `body` under `secret`.
pub fn signature(secret: &str, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// The reason a pre-complete hook gave: `{"message": ...}`, else the body text, else a default.
pub fn rejection_reason(status: u16, body: &[u8]) -> String {
    const MAX: usize = 1000;
    if let Ok(serde_json::Value::Object(map)) = serde_json::from_slice(body) {
        if let Some(serde_json::Value::String(m)) = map.get("message") {
            if !m.trim().is_empty() {
                return m.chars().take(MAX).collect();
            }
        }
    }
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        format!("completion rejected by a pre-complete hook (status {status})")
    } else {
        text.chars().take(MAX).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_the_hex_hmac_sha256_of_the_body() {
        // RFC 4231 test case 2.
        let sig = signature("Jefe", b"what do ya want for nothing?");
        assert_eq!(
            sig,
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn a_rejection_reason_comes_from_json_then_text_then_a_default() {
        assert_eq!(
            rejection_reason(403, br#"{"message":"quota exceeded"}"#),
            "quota exceeded"
        );
        assert_eq!(rejection_reason(409, b"  name taken\n"), "name taken");
        assert_eq!(
            rejection_reason(500, b""),
            "completion rejected by a pre-complete hook (status 500)"
        );
    }
}
