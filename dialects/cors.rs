//! Open CORS for dialects whose original servers allowed any origin without credentials
//! (Express's `cors()` defaults and the like): every answer carries
//! `Access-Control-Allow-Origin: *` and `OPTIONS` answers the preflight without authentication
//! (browsers never send credentials on a preflight). Each dialect names the request headers its
//! clients send; a browser refuses a request whose headers are not all listed.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderMap, HeaderValue};
use actix_web::middleware::Next;
use actix_web::HttpResponse;

/// Browsers may cache the preflight for a day.
const MAX_AGE: &str = "86400";

/// What one dialect allows.
pub struct OpenCors {
    pub allow_methods: &'static str,
    pub allow_headers: &'static str,
    /// Response headers a page may read, if any beyond the CORS-safelisted ones.
    pub expose_headers: Option<&'static str>,
}

impl OpenCors {
    /// Adds `Access-Control-Allow-Origin: *` (and the exposed headers).
    pub fn allow_origin(&self, headers: &mut HeaderMap) {
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        );
        if let Some(expose) = self.expose_headers {
            headers.insert(
                header::ACCESS_CONTROL_EXPOSE_HEADERS,
                HeaderValue::from_static(expose),
            );
        }
    }

    /// Middleware body: the answer (success or error) allows any origin.
    pub async fn with_allow_origin<B: MessageBody>(
        &'static self,
        req: ServiceRequest,
        next: Next<B>,
    ) -> Result<ServiceResponse<B>, actix_web::Error> {
        let mut response = next.call(req).await?;
        self.allow_origin(response.headers_mut());
        Ok(response)
    }

    /// The preflight answer: 204 with what the clients need.
    pub fn preflight(&self) -> HttpResponse {
        let mut response = HttpResponse::NoContent()
            .insert_header((header::ACCESS_CONTROL_ALLOW_METHODS, self.allow_methods))
            .insert_header((header::ACCESS_CONTROL_ALLOW_HEADERS, self.allow_headers))
            .insert_header((header::ACCESS_CONTROL_MAX_AGE, MAX_AGE))
            .finish();
        self.allow_origin(response.headers_mut());
        response
    }
}
