//! Reading a JSON body within `spika.max_json_bytes` (specs/spika.md §8): checked against
//! `Content-Length` first, without reading anything, and otherwise while reading.
//!
//! The body is read here rather than by an extractor so that authentication (§2) runs first and
//! an oversized body gets the legacy 413 rather than actix's own answer.

use super::error::SpikaError;
use actix_web::http::header;
use actix_web::{web, HttpRequest};
use bytes::BytesMut;
use futures_util::StreamExt;

/// Most memory reserved up front for a body of declared length.
const RESERVE_AT_MOST: u64 = 4 << 20;

/// Reads the whole body, refusing more than `limit` bytes.
pub async fn read(
    req: &HttpRequest,
    mut payload: web::Payload,
    limit: u64,
) -> Result<bytes::Bytes, SpikaError> {
    let declared = declared_length(req);
    if declared.is_some_and(|n| n > limit) {
        return Err(SpikaError::TooLarge { limit });
    }
    // Reserve what was declared (within the limit), but not more than a few MiB before the
    // bytes actually arrive: a declared length alone must not cost memory.
    let reserve = declared.unwrap_or(0).min(RESERVE_AT_MOST) as usize;
    let mut body = BytesMut::with_capacity(reserve);
    while let Some(piece) = payload.next().await {
        // A body cut off mid-way is malformed JSON as far as the client can be told.
        let piece = piece.map_err(|_| SpikaError::not_an_object())?;
        if (body.len() + piece.len()) as u64 > limit {
            return Err(SpikaError::TooLarge { limit });
        }
        body.extend_from_slice(&piece);
    }
    Ok(body.freeze())
}

/// The `Content-Length` header, when present and readable.
fn declared_length(req: &HttpRequest) -> Option<u64> {
    req.headers()
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}
