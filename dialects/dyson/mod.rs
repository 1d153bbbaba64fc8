//! Dyson: the multi-part upload API of Solar Network's Drive service (DysonNetwork), per
//! `specs/dyson.md` (seed 001). Create a task (or learn that the file exists), send chunks
//! `0..N-1` as multipart, complete; download by id. Every route exists under `/api/files/...`
//! (the service) and `/drive/files/...` (the public gateway), below the dialect's prefix.
//!
//! Modules: [`parse`] turns requests into typed values, [`store`] keeps the dialect's records,
//! one module per legacy operation handles it ([`create`], [`chunk`], [`complete`],
//! [`download`]), [`seal`] is encryption at rest, [`error`] the legacy error bodies.
//! See docs/dialects/dyson.md for the dialect as implemented.

mod auth;
mod chunk;
mod complete;
mod create;
mod download;
mod error;
mod lock;
mod model;
mod parse;
mod seal;
mod store;

use crate::auth::Authenticator;
use crate::config::DysonSettings;
use actix_web::http::header;
use actix_web::http::Method;
use actix_web::Route;
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::cors::{AllowHeaders, CorsDefaults, SpecOrigins};
use super::DialectContext;
use error::DysonError;
use store::Store;

/// The engine namespace of the dialect's uploads, files, aliases (`dyson:<id>`) and records.
pub const NAMESPACE: &str = "dyson";

/// Path prefixes (below the mount prefix) whose unmatched requests get the Dyson 404: the
/// upload API under the service, and the whole public gateway.
pub const OWNS: &[&str] = &["/api/files/upload", "/drive"];

/// The two prefixes every route exists under (spec §1).
const PREFIXES: [(&str, &str); 2] = [("api", "/api/files"), ("drive", "/drive/files")];

/// A file id segment with at least one non-digit: all-digit ids under `/api/files/` are
/// FilesNest's (specs/README.md, "Route collisions").
const FILE_ID: &str = "{file_id:[^/]*[^0-9/][^/]*}";

/// State shared by the handlers of one worker.
pub struct Dyson {
    store: Store,
    auth: web::Data<Authenticator>,
    settings: DysonSettings,
    /// When this worker last swept stale records, and how often it may.
    last_sweep: Mutex<Option<Instant>>,
    sweep_every: Duration,
}

impl Dyson {
    fn create_limits(&self) -> parse::CreateLimits {
        // The engine's own cap on one upload (0 = none) bounds `max_file_bytes` too, so a
        // client learns at create time, not at chunk N, that its file cannot be stored.
        let engine_max = self.store.engine().config().max_upload_size;
        let max_file_bytes = [self.settings.max_file_bytes, engine_max]
            .into_iter()
            .filter(|&m| m > 0)
            .min()
            .unwrap_or(0);
        parse::CreateLimits {
            max_chunk_size: self.settings.max_chunk_size,
            max_chunks: self.settings.max_chunks,
            max_file_bytes,
        }
    }

    /// Starts a sweep of stale records in the background, at most once per sweep interval.
    fn sweep_now_and_then(&self) {
        {
            let mut last = self.last_sweep.lock().expect("sweep clock");
            if last.is_some_and(|t| t.elapsed() < self.sweep_every) {
                return;
            }
            *last = Some(Instant::now());
        }
        let store = self.store.clone();
        actix_web::rt::spawn(async move {
            match store.sweep().await {
                Ok(0) => {}
                Ok(n) => tracing::info!(records = n, "swept stale dyson records"),
                Err(e) => tracing::warn!(error = %e, "sweeping dyson records failed"),
            }
        });
    }
}

/// Mounts the Dyson routes.
pub fn configure(cfg: &mut web::ServiceConfig, ctx: &DialectContext) {
    let dyson = web::Data::new(Dyson {
        store: Store::new(ctx.engine.get_ref().clone()),
        auth: ctx.auth.clone(),
        settings: ctx.settings.dialects.dyson.clone(),
        last_sweep: Mutex::new(None),
        sweep_every: ctx.settings.engine_config().sweep_interval,
    });
    for (tag, base) in PREFIXES {
        let resource = |route: &str, path: String, routes: Vec<(Method, Route)>| {
            ctx.endpoint(&format!("{route}.{tag}"), &path, routes)
                .app_data(dyson.clone())
                // A known path with another method is no route either (spec §11).
                .default_service(web::to(route_not_found))
        };
        cfg.service(
            // POST /api/files/upload/create, POST /drive/files/upload/create
            resource(
                "create",
                format!("{base}/upload/create"),
                vec![(Method::POST, web::to(create::handle_create))],
            ),
        )
        .service(
            // POST /api/files/upload/chunk/{taskId}/{chunkIndex}, and under /drive
            resource(
                "chunk",
                format!("{base}/upload/chunk/{{task_id}}/{{chunk_index}}"),
                vec![(Method::POST, web::to(chunk::handle_chunk))],
            ),
        )
        .service(
            // POST /api/files/upload/complete/{taskId}, and under /drive
            resource(
                "complete",
                format!("{base}/upload/complete/{{task_id}}"),
                vec![(Method::POST, web::to(complete::handle_complete))],
            ),
        )
        .service(
            // GET|HEAD /api/files/{id}, GET|HEAD /drive/files/{id}
            resource(
                "download",
                format!("{base}/{FILE_ID}"),
                vec![
                    (Method::GET, web::to(download::handle_download)),
                    (Method::HEAD, web::to(download::handle_download)),
                ],
            ),
        );
    }
}

/// CORS for browser builds of Solian (spec §13): any origin, echoed with credentials (the
/// ASP.NET policy allowed credentials, so `*` would not do), any request header the preflight
/// asks for, and the download headers a page reads.
pub static CORS: CorsDefaults = CorsDefaults {
    origins: SpecOrigins::Any,
    credentials: true,
    allow_methods: "GET, HEAD, POST, OPTIONS",
    allow_headers: AllowHeaders::Mirror("Authorization, Content-Type, Range"),
    expose_headers: &[],
};

/// The legacy answer to a request no route matches (spec §11).
pub fn unmatched(_: &HttpRequest) -> HttpResponse {
    DysonError::UnknownRoute.error_response()
}

async fn route_not_found() -> HttpResponse {
    DysonError::UnknownRoute.error_response()
}

/// The declared body length, when the header is there and readable.
fn content_length(req: &HttpRequest) -> Option<u64> {
    req.headers()
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}
