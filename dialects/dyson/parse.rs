//! Typed parsing of Dyson requests (specs/dyson.md §4–§6): pure functions from what arrived to
//! a typed value or the legacy validation error. Nothing here touches the engine.

use crate::engine::DigestKind;
use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::{Map, Value};
use std::time::SystemTime;

use super::error::{DysonError, FieldErrors};

/// `chunk_size` when the client sends none (spec §4: 5 MiB).
pub const DEFAULT_CHUNK_SIZE: u64 = 5_242_880;

/// Longest `file_name`, in UTF-16 code units as .NET counts string length.
const MAX_FILE_NAME: usize = 255;

/// Longest `encrypt_password`, in UTF-16 code units.
const MAX_PASSWORD: usize = 1024;

/// The limits a create request is checked against (`dyson.*` settings, spec §10).
#[derive(Clone, Copy, Debug)]
pub struct CreateLimits {
    pub max_chunk_size: u64,
    pub max_chunks: u64,
    /// 0 = unlimited.
    pub max_file_bytes: u64,
}

/// A valid `POST …/create` body.
#[derive(Clone, Debug, PartialEq)]
pub struct CreateRequest {
    pub hash: String,
    pub file_name: String,
    pub file_size: u64,
    pub content_type: String,
    pub pool_id: Option<String>,
    pub bundle_id: Option<String>,
    pub encrypt_password: Option<String>,
    pub expired_at: Option<SystemTime>,
    pub chunk_size: u64,
}

/// Parses and validates a create body (spec §4): every field is checked, each failing field
/// reports its first message, in table order.
pub fn create_request(
    body: &[u8],
    limits: &CreateLimits,
    now: SystemTime,
) -> Result<CreateRequest, DysonError> {
    let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(body) else {
        let mut errors = FieldErrors::default();
        errors.add("body", "The request body must be a JSON object.");
        return Err(DysonError::Validation(errors));
    };
    let mut errors = FieldErrors::default();
    let hash = required_string(&map, "hash", &mut errors);
    let file_name = required_string(&map, "file_name", &mut errors).filter(|name| {
        let ok = utf16_len(name) <= MAX_FILE_NAME;
        if !ok {
            errors.add(
                "file_name",
                "The file_name field must not exceed 255 characters.",
            );
        }
        ok
    });
    let file_size = match present(&map, "file_size") {
        None => Some(0),
        Some(v) => match v.as_i64() {
            Some(n) if n >= 0 => Some(n as u64),
            Some(_) => errors.fail("file_size", "The file_size field must not be negative."),
            None => errors.fail("file_size", "The file_size field must be an integer."),
        },
    };
    let content_type = required_string(&map, "content_type", &mut errors);
    let pool_id = guid(&map, "pool_id", &mut errors);
    let bundle_id = guid(&map, "bundle_id", &mut errors);
    let encrypt_password = match present(&map, "encrypt_password") {
        None => Some(None),
        Some(Value::String(s)) if (1..=MAX_PASSWORD).contains(&utf16_len(s)) => {
            Some(Some(s.clone()))
        }
        Some(Value::String(_)) => errors.fail(
            "encrypt_password",
            "The encrypt_password field must be between 1 and 1024 characters.",
        ),
        Some(_) => errors.fail(
            "encrypt_password",
            "The encrypt_password field must be a string.",
        ),
    };
    let expired_at = match present(&map, "expired_at") {
        None => Some(None),
        Some(v) => match v.as_str().and_then(parse_instant) {
            Some(t) if t > now => Some(Some(t)),
            Some(_) => errors.fail("expired_at", "The expired_at field must be in the future."),
            None => errors.fail(
                "expired_at",
                "The expired_at field must be an ISO-8601 instant ending in Z.",
            ),
        },
    };
    let chunk_size = match present(&map, "chunk_size") {
        // A configured maximum below the legacy default lowers the default with it.
        None => Some(DEFAULT_CHUNK_SIZE.min(limits.max_chunk_size)),
        Some(v) => match v.as_i64() {
            Some(n) if n >= 1 && (n as u64) <= limits.max_chunk_size => Some(n as u64),
            Some(_) => errors.fail(
                "chunk_size",
                &format!(
                    "The chunk_size field must be between 1 and {}.",
                    limits.max_chunk_size
                ),
            ),
            None => errors.fail("chunk_size", "The chunk_size field must be an integer."),
        },
    };
    match (
        hash,
        file_name,
        file_size,
        content_type,
        pool_id,
        bundle_id,
        encrypt_password,
        expired_at,
        chunk_size,
    ) {
        (
            Some(hash),
            Some(file_name),
            Some(file_size),
            Some(content_type),
            Some(pool_id),
            Some(bundle_id),
            Some(encrypt_password),
            Some(expired_at),
            Some(chunk_size),
        ) if errors.is_empty() => Ok(CreateRequest {
            hash,
            file_name,
            file_size,
            content_type,
            pool_id,
            bundle_id,
            encrypt_password,
            expired_at,
            chunk_size,
        }),
        _ => Err(DysonError::Validation(errors)),
    }
}

/// The number of chunks of a valid request, checked against `max_chunks`, then the file size
/// against `max_file_bytes` (spec §4, in that order).
pub fn chunks_count(req: &CreateRequest, limits: &CreateLimits) -> Result<u64, DysonError> {
    // ceil(file_size / chunk_size) in integers; 0 for an empty file. Never rounded or capped:
    // Solian aborts when its own count differs (spec §13).
    let count = req.file_size.div_ceil(req.chunk_size);
    if count > limits.max_chunks {
        let mut errors = FieldErrors::default();
        errors.add(
            "chunk_size",
            &format!(
                "The file needs {count} chunks; at most {} are allowed.",
                limits.max_chunks
            ),
        );
        return Err(DysonError::Validation(errors));
    }
    if limits.max_file_bytes > 0 && req.file_size > limits.max_file_bytes {
        return Err(DysonError::FileTooLarge {
            size: req.file_size,
            max: limits.max_file_bytes,
        });
    }
    Ok(count)
}

/// The `{chunkIndex}` of a chunk route (spec §5 checks 3 and 4): `-?[0-9]+` that fits in 32
/// bits, then `0 ≤ index < chunks_count`.
pub fn chunk_index(raw: &str, chunks_count: u64) -> Result<u64, DysonError> {
    let digits = raw.strip_prefix('-').unwrap_or(raw);
    let index = (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
        .then(|| raw.parse::<i32>().ok())
        .flatten();
    let Some(index) = index else {
        return Err(DysonError::Validation(FieldErrors::one(
            "chunk_index",
            &format!("The value '{raw}' is not valid."),
        )));
    };
    match u64::try_from(index) {
        Ok(i) if i < chunks_count => Ok(i),
        _ => Err(DysonError::chunk_out_of_range(
            i64::from(index),
            chunks_count,
        )),
    }
}

/// Which digest a client `hash` names, by its length, when it is hex (spec §4 and §6); any other
/// hash is neither de-duplicated nor verified.
pub fn hash_kind(hash: &str) -> Option<DigestKind> {
    if !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    DigestKind::ALL
        .into_iter()
        .find(|k| k.hex_len() == hash.len())
}

/// The name of a digest in the `detail` of HASH_MISMATCH (spec §11).
pub fn digest_name(kind: DigestKind) -> &'static str {
    match kind {
        DigestKind::Md5 => "MD5",
        DigestKind::Sha1 => "SHA-1",
        DigestKind::Sha256 => "SHA-256",
    }
}

/// `YYYY-MM-DDTHH:MM:SS[.f{1,9}]Z` as an instant (spec §4, `expired_at`).
pub fn parse_instant(s: &str) -> Option<SystemTime> {
    let body = s.strip_suffix('Z')?;
    let (main, fraction) = match body.split_once('.') {
        Some((main, f)) => (main, Some(f)),
        None => (body, None),
    };
    let shape_ok = main.len() == 19
        && main.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            10 => b == b'T',
            13 | 16 => b == b':',
            _ => b.is_ascii_digit(),
        })
        && fraction
            .is_none_or(|f| (1..=9).contains(&f.len()) && f.bytes().all(|b| b.is_ascii_digit()));
    if !shape_ok {
        return None;
    }
    let t = NaiveDateTime::parse_from_str(body, "%Y-%m-%dT%H:%M:%S%.f").ok()?;
    Some(t.and_utc().into())
}

/// An instant as the original writes it (spec §1): UTC with `Z`, at most 6 fractional digits,
/// trailing zeros dropped, no dot for a whole second.
pub fn format_instant(t: SystemTime) -> String {
    let t: DateTime<Utc> = t.into();
    let whole = t.format("%Y-%m-%dT%H:%M:%S");
    match t.timestamp_subsec_micros() {
        0 => format!("{whole}Z"),
        micros => {
            let fraction = format!("{micros:06}");
            format!("{whole}.{}Z", fraction.trim_end_matches('0'))
        }
    }
}

/// The value of `key`, treating an explicit `null` as absent (spec §4).
fn present<'a>(map: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    map.get(key).filter(|v| !v.is_null())
}

/// A required string: missing, null and `""` are "required"; another JSON type is refused.
fn required_string(
    map: &Map<String, Value>,
    key: &str,
    errors: &mut FieldErrors,
) -> Option<String> {
    match present(map, key) {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(Value::String(_)) | None => errors.fail(key, &format!("The {key} field is required.")),
        Some(_) => errors.fail(key, &format!("The {key} field must be a string.")),
    }
}

/// An optional GUID string (`8-4-4-4-12` hex digits, any case), kept as sent.
fn guid(map: &Map<String, Value>, key: &str, errors: &mut FieldErrors) -> Option<Option<String>> {
    match present(map, key) {
        None => Some(None),
        Some(Value::String(s)) if is_guid(s) => Some(Some(s.clone())),
        Some(_) => errors.fail(key, &format!("The {key} field must be a GUID.")),
    }
}

fn is_guid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Length as .NET's `string.Length` counts it (UTF-16 code units), which the legacy limits use.
fn utf16_len(s: &str) -> usize {
    s.encode_utf16().count()
}

#[cfg(test)]
#[path = "parse_tests.rs"]
mod tests;
