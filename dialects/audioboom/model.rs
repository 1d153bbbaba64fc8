//! Legacy JSON shapes (specs/audioboom.md §3, §5, §6) and the records kept in the engine's
//! `audioboom` namespace. Key order is the order of the struct fields (the spec fixes it).

use crate::engine::{FileId, Principal, UploadId};
use actix_web::http::header::{HeaderValue, CONTENT_TYPE};
use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use serde::{Deserialize, Serialize};

/// Records namespace and alias namespace of completed attachments (`audioboom:<id>`).
pub const NAMESPACE: &str = "audioboom";

/// `{"timestamp","window","version","body"}`: every JSON answer (§3). Android requires integer
/// `timestamp` and `window` and `version == 200`, or it reports "version mismatch" (§11).
#[derive(Serialize)]
struct Envelope<'a, T: Serialize> {
    timestamp: u64,
    window: u32,
    version: u32,
    body: &'a T,
}

/// A response with `body` wrapped in the envelope, compact, `application/json; charset=utf-8`,
/// and headers written in the legacy casing (`X-Audioboo-Error_code`).
pub fn envelope<T: Serialize>(status: StatusCode, body: &T) -> HttpResponse {
    let timestamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let json = serde_json::to_vec(&Envelope {
        timestamp,
        window: 60,
        version: 200,
        body,
    })
    .unwrap_or_default();
    let mut res = HttpResponse::build(status)
        .insert_header((
            CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        ))
        .body(json);
    // HTTP/1 header names are written as `X-Audioboo-Error_code` (capital after each `-`),
    // the spelling of the original (§3).
    res.head_mut().set_camel_case_headers(true);
    res
}

/// `{"error":{"code","description"}}`.
#[derive(Serialize)]
pub struct ErrorBody<'a> {
    error: ErrorDetail<'a>,
}

#[derive(Serialize)]
struct ErrorDetail<'a> {
    code: u16,
    description: &'a str,
}

impl<'a> ErrorBody<'a> {
    pub fn new(code: u16, description: &'a str) -> Self {
        ErrorBody {
            error: ErrorDetail { code, description },
        }
    }
}

/// `{"attachment":{...}}` (§5).
#[derive(Serialize)]
pub struct AttachmentBody<'a> {
    pub attachment: AttachmentJson<'a>,
}

/// The attachment object, keys in the order of §5.
#[derive(Serialize)]
pub struct AttachmentJson<'a> {
    pub id: u64,
    pub filename: &'a str,
    pub content_type: &'a str,
    pub size: u64,
    pub received: u64,
    pub outstanding: u64,
    pub complete: bool,
}

impl<'a> AttachmentJson<'a> {
    pub fn new(rec: &'a AttachmentRec, received: u64) -> Self {
        AttachmentJson {
            id: rec.id,
            filename: &rec.filename,
            content_type: &rec.content_type,
            size: rec.size,
            received,
            outstanding: rec.size - received.min(rec.size),
            complete: received == rec.size,
        }
    }
}

/// The clip object of §6.
#[derive(Serialize)]
pub struct ClipJson<'a> {
    pub id: u64,
    pub title: &'a str,
    pub uploaded_at: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recorded_at: Option<&'a str>,
    pub urls: ClipUrls,
}

#[derive(Serialize)]
pub struct ClipUrls {
    pub detail: String,
    pub high_mp3: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
}

impl<'a> ClipJson<'a> {
    /// `base` is `<base>` of §1 (no trailing `/`).
    pub fn new(rec: &'a ClipRec, base: &str) -> Self {
        let detail = format!("{base}/audio_clips/{}", rec.id);
        ClipJson {
            id: rec.id,
            title: &rec.title,
            uploaded_at: &rec.uploaded_at,
            recorded_at: rec.recorded_at.as_deref(),
            urls: ClipUrls {
                high_mp3: format!("{detail}.mp3"),
                image: rec.image.as_ref().map(|_| format!("{detail}/image")),
                detail,
            },
        }
    }
}

/// `{"audio_clip":{...}}`.
#[derive(Serialize)]
pub struct ClipBody<'a> {
    pub audio_clip: ClipJson<'a>,
}

/// The outbox answer: the message (clip fields plus `recipient_id`) and the same clip, since
/// Android reads `body.audio_clip.id` for messages too (§6, §11).
#[derive(Serialize)]
pub struct MessageBody<'a> {
    pub message: MessageJson<'a>,
    pub audio_clip: ClipJson<'a>,
}

#[derive(Serialize)]
pub struct MessageJson<'a> {
    #[serde(flatten)]
    pub clip: ClipJson<'a>,
    pub recipient_id: u64,
}

/// An attachment: its legacy id and fields, and the engine upload receiving its bytes. Once
/// complete, the file is found by the alias `audioboom:<id>`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachmentRec {
    pub id: u64,
    pub owner: Principal,
    pub upload: UploadId,
    pub filename: String,
    pub content_type: String,
    pub size: u64,
}

impl AttachmentRec {
    pub fn key(id: u64) -> String {
        format!("attachment/{id:020}")
    }
}

/// A clip or message (§6).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClipRec {
    pub id: u64,
    pub owner: Principal,
    pub title: String,
    /// `YYYY-MM-DDTHH:MM:SSZ`.
    pub uploaded_at: String,
    pub recorded_at: Option<String>,
    pub channel_id: Option<u64>,
    pub recipient_id: Option<u64>,
    pub data: ClipMedia,
    pub image: Option<ClipMedia>,
    /// Other `audio_clip[...]` / `message[...]` parameters, stored as given.
    pub extra: Vec<(String, String)>,
}

impl ClipRec {
    pub fn key(id: u64) -> String {
        format!("clip/{id:020}")
    }
}

/// An attachment a clip uses, and the file it became.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClipMedia {
    pub attachment: u64,
    pub file: FileId,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_attachment_object_has_the_keys_of_the_spec_in_order() {
        let rec = AttachmentRec {
            id: 9812,
            owner: Principal::new("a"),
            upload: "00000000000000000000000000000001".parse().unwrap(),
            filename: "hello.txt".into(),
            content_type: "text/plain".into(),
            size: 22,
        };
        let json = serde_json::to_string(&AttachmentBody {
            attachment: AttachmentJson::new(&rec, 7),
        })
        .unwrap();
        assert_eq!(
            json,
            r#"{"attachment":{"id":9812,"filename":"hello.txt","content_type":"text/plain","size":22,"received":7,"outstanding":15,"complete":false}}"#
        );
    }

    #[test]
    fn a_message_carries_the_clip_fields_then_the_recipient() {
        let rec = ClipRec {
            id: 5001,
            owner: Principal::new("a"),
            title: "foo".into(),
            uploaded_at: "2025-01-15T10:30:05Z".into(),
            recorded_at: None,
            channel_id: None,
            recipient_id: Some(77),
            data: ClipMedia {
                attachment: 1,
                file: "00000000000000000000000000000002".parse().unwrap(),
            },
            image: None,
            extra: vec![],
        };
        let json = serde_json::to_string(&MessageBody {
            message: MessageJson {
                clip: ClipJson::new(&rec, "http://h"),
                recipient_id: 77,
            },
            audio_clip: ClipJson::new(&rec, "http://h"),
        })
        .unwrap();
        assert_eq!(
            json,
            concat!(
                r#"{"message":{"id":5001,"title":"foo","uploaded_at":"2025-01-15T10:30:05Z","urls":{"detail":"http://h/audio_clips/5001","high_mp3":"http://h/audio_clips/5001.mp3"},"recipient_id":77},"#,
                r#""audio_clip":{"id":5001,"title":"foo","uploaded_at":"2025-01-15T10:30:05Z","urls":{"detail":"http://h/audio_clips/5001","high_mp3":"http://h/audio_clips/5001.mp3"}}}"#
            )
        );
    }
}
