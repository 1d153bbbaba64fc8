//! The Spika3 messenger's upload service (specs/spika.md, seed 003): base64 chunks in JSON keyed
//! by a client-chosen `clientId` and a chunk index, a verify call that assembles the file and
//! checks its SHA-256, and downloads by file id or by `clientId`.
//!
//! Routes live under `/api/upload` with the alias `/api/uploads` (plus `/uploads/files/...`),
//! behind the dialect's mount prefix; every route also matches with a trailing `/`, answers CORS
//! preflights and allows any origin (§11). Unknown routes under those prefixes get the legacy
//! 404 `{"status":"error","message":"Not found"}`.
//!
//! Request flow: authenticate (`credential`), read the body within `spika.max_json_bytes`
//! (`body`), parse it into a typed request (`parse`, `decode`), then act on the engine through
//! the state machine of §6 (`store`). Errors render in the legacy format (`error`).

mod body;
mod credential;
mod decode;
mod download;
mod error;
mod lock;
mod model;
mod parse;
mod store;
mod upload;

use super::cors::{AllowHeaders, CorsDefaults, SpecOrigins};
use super::DialectContext;
use crate::auth::Authenticator;
use crate::config::SpikaSettings;
use actix_web::http::{Method, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse, Route};
use store::Store;

/// The path prefixes (below the mount prefix) whose unknown routes answer Spika's 404.
pub const OWNS: &[&str] = &["/api/upload", "/api/uploads", "/uploads/files"];

/// State shared by the handlers of one server worker.
pub struct Spika {
    store: Store,
    auth: web::Data<Authenticator>,
    settings: SpikaSettings,
    /// Mount prefix + `/uploads/files/`: the start of every file's `path` (§4).
    files_path: String,
}

/// Builds the routes of one resource (a `Route` cannot be cloned; the alias needs its own).
type Routes = fn() -> Vec<(Method, Route)>;

/// Mounts the Spika routes.
pub fn configure(cfg: &mut web::ServiceConfig, ctx: &DialectContext) {
    let settings = ctx.settings.dialects.spika.clone();
    let spika = web::Data::new(Spika {
        store: Store::new(ctx.engine.get_ref().clone(), settings.upload_ttl),
        auth: ctx.auth.clone(),
        files_path: ctx.path("/uploads/files/"),
        settings,
    });
    // Under `/api/upload` and its alias `/api/uploads` (§1): `(name, path, routes)`.
    let api: [(&str, &str, Routes); 4] = [
        // POST /api/upload/files
        ("files", "/files", || {
            vec![(Method::POST, web::to(upload::handle_upload_chunk))]
        }),
        // POST /api/upload/files/verify
        ("verify", "/files/verify", || {
            vec![(Method::POST, web::to(upload::handle_verify))]
        }),
        // GET /api/upload/files/check/{clientId}
        ("check", "/files/check/{client_id}", || {
            vec![(Method::GET, web::to(upload::handle_check))]
        }),
        // GET|HEAD /api/upload/files/{id} (digits only, so `verify` and `check` never collide)
        ("file", "/files/{id:[0-9]+}", || {
            vec![
                (Method::GET, web::to(download::handle_download)),
                (Method::HEAD, web::to(download::handle_download)),
            ]
        }),
    ];
    for (base, suffix) in [("/api/upload", ""), ("/api/uploads", ".alias")] {
        for (name, path, routes) in &api {
            let (name, path) = (format!("{name}{suffix}"), format!("{base}{path}"));
            mount(cfg, ctx, &spika, &name, &path, routes());
        }
    }
    // GET|HEAD /uploads/files/{clientId} (what a file's `path` points to)
    let by_client_id = vec![
        (Method::GET, web::to(download::handle_download_by_client_id)),
        (
            Method::HEAD,
            web::to(download::handle_download_by_client_id),
        ),
    ];
    mount(
        cfg,
        ctx,
        &spika,
        "uploads",
        "/uploads/files/{client_id}",
        by_client_id,
    );
}

/// Registers one resource: its routes and the legacy 404 for other methods (CORS comes with
/// `ctx.endpoint`).
fn mount(
    cfg: &mut web::ServiceConfig,
    ctx: &DialectContext,
    spika: &web::Data<Spika>,
    name: &str,
    path: &str,
    routes: Vec<(Method, Route)>,
) {
    cfg.service(
        ctx.endpoint(name, path, routes)
            .app_data(spika.clone())
            // Express answered a known path with an unrouted method like an unknown path.
            .default_service(web::to(handle_unknown_route)),
    );
}

/// CORS for Spika's browser clients on another origin (§11): the original used Express's
/// `cors()` with its defaults (origin `*`, no credentials). The allowed request headers are
/// `accesstoken` and `content-type` plus the device headers every client sends with them and
/// `range` for downloads; a browser refuses the request if any header it sends is not listed.
pub static CORS: CorsDefaults = CorsDefaults {
    origins: SpecOrigins::Any,
    credentials: false,
    allow_methods: "GET, HEAD, POST",
    allow_headers: AllowHeaders::Listed(
        "accesstoken, content-type, os-name, os-version, device-name, \
         app-version, device-type, lang, range",
    ),
    expose_headers: &[],
};

/// A known path with a method it does not serve: the legacy 404.
async fn handle_unknown_route() -> HttpResponse {
    error::json_error(StatusCode::NOT_FOUND, "Not found")
}

/// The legacy 404 for a request under [`OWNS`] that no route matched (`dialects::DIALECTS`).
pub fn unmatched(_req: &HttpRequest) -> HttpResponse {
    error::json_error(StatusCode::NOT_FOUND, "Not found")
}
