//! CORS for dStor's browser clients (specs/dstor.md §12): every answer allows any origin, and
//! `OPTIONS` answers the preflight without authentication (browsers send no credentials on a
//! preflight). The allowed request headers are the ones the clients send: `authorization`,
//! `x-dstor-upload-token`, `x-dstor-comment`, `api-key`, `x-expiration`, plus `content-type`
//! (the JSON body of get-token) and `range` (gateway reads).

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;

use crate::dialects::cors::OpenCors;

/// dStor's allowed headers: `authorization`, `x-dstor-upload-token`, `x-dstor-comment`,
/// `api-key`, `x-expiration`, `content-type` (get-token's JSON) and `range` (gateway reads);
/// gateway answers expose what a page reads.
pub static CORS: OpenCors = OpenCors {
    allow_methods: "GET, HEAD, POST, OPTIONS",
    allow_headers:
        "authorization, x-dstor-upload-token, x-dstor-comment, api-key, x-expiration, content-type, range",
    expose_headers: Some("etag, content-length, content-range, accept-ranges"),
};

/// Middleware of every dStor route: the answer (success or error) allows any origin.
pub async fn with_allow_origin<B: MessageBody>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<B>, actix_web::Error> {
    CORS.with_allow_origin(req, next).await
}
