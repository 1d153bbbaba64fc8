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
mod cors;
mod credential;
mod decode;
mod download;
mod error;
mod lock;
mod model;
mod parse;
mod store;
mod upload;

use super::DialectContext;
use crate::auth::Authenticator;
use crate::config::SpikaSettings;
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::from_fn;
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
type Routes = fn() -> Vec<Route>;

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
            vec![web::post().to(upload::handle_upload_chunk)]
        }),
        // POST /api/upload/files/verify
        ("verify", "/files/verify", || {
            vec![web::post().to(upload::handle_verify)]
        }),
        // GET /api/upload/files/check/{clientId}
        ("check", "/files/check/{client_id}", || {
            vec![web::get().to(upload::handle_check)]
        }),
        // GET|HEAD /api/upload/files/{id} (digits only, so `verify` and `check` never collide)
        ("file", "/files/{id:[0-9]+}", || {
            vec![
                web::get().to(download::handle_download),
                web::head().to(download::handle_download),
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
        web::get().to(download::handle_download_by_client_id),
        web::head().to(download::handle_download_by_client_id),
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

/// Registers one resource: its routes, the CORS preflight, the legacy 404 for other methods,
/// and `Access-Control-Allow-Origin` on every answer.
fn mount(
    cfg: &mut web::ServiceConfig,
    ctx: &DialectContext,
    spika: &web::Data<Spika>,
    name: &str,
    path: &str,
    routes: Vec<Route>,
) {
    let mut resource = ctx.resource(name, path).app_data(spika.clone());
    for route in routes {
        resource = resource.route(route);
    }
    cfg.service(
        resource
            // OPTIONS (CORS preflight, no authentication)
            .route(
                web::route()
                    .method(Method::OPTIONS)
                    .to(|| async { cors::CORS.preflight() }),
            )
            // Express answered a known path with an unrouted method like an unknown path.
            .default_service(web::to(handle_unknown_route))
            .wrap(from_fn(cors::with_allow_origin)),
    );
}

/// A known path with a method it does not serve: the legacy 404.
async fn handle_unknown_route() -> HttpResponse {
    error::json_error(StatusCode::NOT_FOUND, "Not found")
}

/// The legacy 404 for a request under [`OWNS`] that no route matched (`dialects::DIALECTS`).
pub fn unmatched(_req: &HttpRequest) -> HttpResponse {
    let mut response = error::json_error(StatusCode::NOT_FOUND, "Not found");
    cors::CORS.allow_origin(response.headers_mut());
    response
}
