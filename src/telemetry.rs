//! Logging: one `tracing` subscriber writing to stderr (stdout carries only the listening line),
//! and one span per request with its request id, the dialect that served it and the upload id
//! once known. The request's outcome is one event: 5xx at error (500) or warn (other 5xx), 4xx at
//! info, the rest at debug.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::{HttpMessage, HttpRequest};
use tracing::field::Empty;
use tracing::Span;
use tracing_actix_web::{root_span, DefaultRootSpanBuilder, RootSpan, RootSpanBuilder};
use tracing_subscriber::EnvFilter;

/// Installs the global subscriber: human-readable lines on stderr, filtered by `RUST_LOG`
/// (default `default_filter`, e.g. `"info"`). Call once, from `main`.
pub fn init_subscriber(default_filter: &str) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}

/// The root span of every request (used by `TracingLogger<RequestSpan>` in startup.rs).
pub struct RequestSpan;

impl RootSpanBuilder for RequestSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        root_span!(request, dialect = Empty, upload_id = Empty)
    }

    fn on_request_end<B: MessageBody>(
        span: Span,
        outcome: &Result<ServiceResponse<B>, actix_web::Error>,
    ) {
        DefaultRootSpanBuilder::on_request_end(span, outcome);
        let (status, error) = match outcome {
            Ok(response) => (
                response.status(),
                response.response().error().map(|e| e.to_string()),
            ),
            Err(e) => (e.as_response_error().status_code(), Some(e.to_string())),
        };
        let status = status.as_u16();
        let error = error.unwrap_or_default();
        match status {
            500 => tracing::error!(status, error, "request failed"),
            501.. => tracing::warn!(status, error, "request failed"),
            400..=499 => tracing::info!(status, error, "request refused"),
            _ => tracing::debug!(status, "request done"),
        }
    }
}

/// Which front end served a request (a dialect's name, or `gateway`); read by the metrics
/// middleware.
#[derive(Clone, Debug)]
pub struct ServedBy(pub String);

/// Records which dialect serves `req` on its request span (and for the request metrics).
pub fn record_dialect(req: &HttpRequest, dialect: &str) {
    if let Some(span) = req.extensions().get::<RootSpan>() {
        span.record("dialect", dialect);
    }
    req.extensions_mut().insert(ServedBy(dialect.to_owned()));
}

/// Records the upload (or file) a request is about on its request span, once known.
pub fn record_upload_id(req: &HttpRequest, upload_id: &dyn std::fmt::Display) {
    if let Some(span) = req.extensions().get::<RootSpan>() {
        span.record("upload_id", tracing::field::display(upload_id));
    }
}
