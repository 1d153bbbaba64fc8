//! CORS for Spika's browser clients on another origin (specs/spika.md §11): every answer of the
//! dialect's routes allows any origin, and `OPTIONS` answers the preflight without
//! authentication (browsers never send credentials on a preflight).
//!
//! The original used Express's `cors()` with its defaults: origin `*`, no credentials. The
//! allowed request headers are `accesstoken` and `content-type` plus the device headers every
//! Spika client sends with them (§11) and `range` for downloads; a browser refuses the request
//! if any header it sends is not listed.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;

use crate::dialects::cors::OpenCors;

/// Spika's allowed headers: `accesstoken`, `content-type`, the device headers every client
/// sends (§11) and `range` for downloads.
pub static CORS: OpenCors = OpenCors {
    allow_methods: "GET, HEAD, POST",
    allow_headers: "accesstoken, content-type, os-name, os-version, device-name, \
                    app-version, device-type, lang, range",
    expose_headers: None,
};

/// Middleware of every Spika route: the answer (success or error) allows any origin.
pub async fn with_allow_origin<B: MessageBody>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<B>, actix_web::Error> {
    CORS.with_allow_origin(req, next).await
}
