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
use actix_web::http::header::{self, HeaderMap, HeaderValue};
use actix_web::middleware::Next;
use actix_web::HttpResponse;

const ALLOW_HEADERS: &str = "accesstoken, content-type, os-name, os-version, device-name, \
                             app-version, device-type, lang, range";
const ALLOW_METHODS: &str = "GET, HEAD, POST";
/// Browsers may cache the preflight for a day.
const MAX_AGE: &str = "86400";

/// Adds `Access-Control-Allow-Origin: *`.
pub fn allow_origin(headers: &mut HeaderMap) {
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
}

/// Middleware of every Spika route: the answer (success or error) allows any origin.
pub async fn with_allow_origin<B: MessageBody>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<B>, actix_web::Error> {
    let mut response = next.call(req).await?;
    allow_origin(response.headers_mut());
    Ok(response)
}

// OPTIONS on every Spika route
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
