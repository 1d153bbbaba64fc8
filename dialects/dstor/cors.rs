//! CORS for dStor's browser clients (specs/dstor.md §12): every answer allows any origin, and
//! `OPTIONS` answers the preflight without authentication (browsers send no credentials on a
//! preflight). The allowed request headers are the ones the clients send: `authorization`,
//! `x-dstor-upload-token`, `x-dstor-comment`, `api-key`, `x-expiration`, plus `content-type`
//! (the JSON body of get-token) and `range` (gateway reads).

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderMap, HeaderValue};
use actix_web::middleware::Next;
use actix_web::HttpResponse;

const ALLOW_HEADERS: &str =
    "authorization, x-dstor-upload-token, x-dstor-comment, api-key, x-expiration, content-type, range";
const ALLOW_METHODS: &str = "GET, HEAD, POST, OPTIONS";
/// Gateway answers a page may read.
const EXPOSE_HEADERS: &str = "etag, content-length, content-range, accept-ranges";
/// Browsers may cache the preflight for a day.
const MAX_AGE: &str = "86400";

/// Adds `Access-Control-Allow-Origin: *` and the headers a page may read.
pub fn allow_origin(headers: &mut HeaderMap) {
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    headers.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static(EXPOSE_HEADERS),
    );
}

/// Middleware of every dStor route: the answer (success or error) allows any origin.
pub async fn with_allow_origin<B: MessageBody>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<B>, actix_web::Error> {
    let mut response = next.call(req).await?;
    allow_origin(response.headers_mut());
    Ok(response)
}

// OPTIONS on every dStor route
/// The preflight answer: 204 with what the clients need.
pub async fn handle_preflight() -> HttpResponse {
    let mut response = HttpResponse::NoContent()
        .insert_header((header::ACCESS_CONTROL_ALLOW_METHODS, ALLOW_METHODS))
        .insert_header((header::ACCESS_CONTROL_ALLOW_HEADERS, ALLOW_HEADERS))
        .insert_header((header::ACCESS_CONTROL_MAX_AGE, MAX_AGE))
        .finish();
    allow_origin(response.headers_mut());
    response
}
