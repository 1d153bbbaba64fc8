//! FilesNest, the photo-backup REST API (Laravel, Orion, Sanctum) — `specs/filesnest.md`.
//!
//! A client declares a file with its SHA-256 and chunk count and gets one placeholder
//! ("upload") per chunk; it PUTs or PATCHes raw bytes into each placeholder; once every
//! placeholder holds data the server assembles and verifies the file in the background
//! (`assemble`), and the client polls the file. Files are listed, searched, updated and deleted
//! with Orion's REST conventions. Legacy ids and fields live in the engine's `filesnest` record
//! store (`store`); chunks go straight into an indexed engine upload.
//!
//! Modules: `parse` and `validate` turn requests into typed values (pure, table-tested),
//! `files` and `uploads` hold the handlers, `model` the records and JSON shapes, `page` the
//! pagination, `search` the name filters, `error` the legacy error answers.

mod assemble;
mod error;
mod files;
mod model;
mod page;
mod parse;
mod search;
mod store;
mod uploads;
mod validate;

pub use error::FilesnestError;
pub use uploads::expect;

use actix_web::http::Method;
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use std::sync::{Arc, Mutex, Weak};

use super::DialectContext;
use crate::auth::{AuthOutcome, Authenticator};
use crate::config::FilesnestSettings;
use crate::engine::{Engine, Principal};
use assemble::FileLocks;
use model::{Data, SettingsJson};
use store::Store;

/// What every FilesNest handler works with.
pub struct Filesnest {
    engine: Engine,
    auth: web::Data<Authenticator>,
    settings: FilesnestSettings,
    /// The server's `public_base_url`, for pagination links.
    public_base_url: Option<String>,
    store: Store,
    locks: FileLocks,
}

impl Filesnest {
    fn new(ctx: &DialectContext) -> Self {
        Filesnest {
            engine: ctx.engine.get_ref().clone(),
            auth: ctx.auth.clone(),
            settings: ctx.settings.dialects.filesnest.clone(),
            public_base_url: ctx.settings.public_base_url.clone(),
            store: Store::new(ctx.engine.records(store::NAMESPACE)),
            locks: shared_locks(&ctx.engine),
        }
    }

    /// The caller's principal (§2): a missing, empty, unknown or expired token is 403.
    async fn authenticate(&self, req: &HttpRequest) -> Result<Principal, FilesnestError> {
        self.authenticate_headers(req.headers()).await
    }

    /// [`authenticate`](Self::authenticate) from the headers alone (for `Expect`, before a
    /// request exists).
    async fn authenticate_headers(
        &self,
        headers: &actix_web::http::header::HeaderMap,
    ) -> Result<Principal, FilesnestError> {
        let token = parse::bearer_token(headers).ok_or(FilesnestError::Unauthorized)?;
        match self.auth.authenticate(token).await {
            AuthOutcome::Principal(p) => Ok(p),
            AuthOutcome::Invalid | AuthOutcome::Expired => Err(FilesnestError::Unauthorized),
        }
    }

    /// The absolute URL of the request's route, for pagination links (§3).
    fn base_url(&self, req: &HttpRequest) -> String {
        let info = req.connection_info();
        let host = req
            .headers()
            .get(actix_web::http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or_else(|| info.host());
        let scheme = if req.app_config().secure() {
            "https"
        } else {
            "http"
        };
        page::base_url(self.public_base_url.as_deref(), scheme, host, req.path())
    }
}

/// The per-file locks of the server running on `engine`.
///
/// actix-web calls `configure` once per worker thread, while the work on one file must be
/// serialised across all workers (a chunk on one worker, the delete on another): so there is
/// one set of locks per engine, found by the engine's shared `Arc`.
fn shared_locks(engine: &web::Data<Engine>) -> FileLocks {
    static SERVERS: Mutex<Vec<(Weak<Engine>, FileLocks)>> = Mutex::new(Vec::new());
    let engine = engine.clone().into_inner();
    let mut servers = SERVERS.lock().expect("filesnest lock registry");
    servers.retain(|(e, _)| e.strong_count() > 0);
    if let Some((_, locks)) = servers
        .iter()
        .find(|(e, _)| e.upgrade().is_some_and(|e| Arc::ptr_eq(&e, &engine)))
    {
        return locks.clone();
    }
    let locks = FileLocks::default();
    servers.push((Arc::downgrade(&engine), locks.clone()));
    locks
}

/// Allowed methods of each route, as Laravel lists them in its 405 message.
const GET: &str = "GET, HEAD";
const LIST_CREATE: &str = "GET, HEAD, POST";
const POST: &str = "POST";
const FILE: &str = "GET, HEAD, PUT, PATCH, DELETE";
const UPLOAD: &str = "GET, HEAD, PUT, PATCH";

/// Mounts the FilesNest routes (all ids are digits only, so `/api/files/upload/...` stays
/// Dyson's). Every route also answers HEAD where it answers GET, as Laravel does.
pub fn configure(cfg: &mut web::ServiceConfig, ctx: &DialectContext) {
    let state = web::Data::new(Filesnest::new(ctx));
    let not_allowed = |allowed: &'static str| {
        web::to(move |req: HttpRequest| async move { method_not_allowed(&req, allowed) })
    };
    cfg.service(
        // GET /api/settings
        ctx.endpoint(
            "settings",
            "/api/settings",
            [
                (Method::GET, web::to(handle_settings)),
                (Method::HEAD, web::to(handle_settings)),
            ],
        )
        .app_data(state.clone())
        .default_service(not_allowed(GET)),
    )
    .service(
        // POST /api/files/search
        ctx.endpoint(
            "search",
            "/api/files/search",
            [(Method::POST, web::to(files::handle_search))],
        )
        .app_data(state.clone())
        .default_service(not_allowed(POST)),
    )
    .service(
        // GET /api/files, POST /api/files
        ctx.endpoint(
            "files",
            "/api/files",
            [
                (Method::GET, web::to(files::handle_index)),
                (Method::HEAD, web::to(files::handle_index)),
                (Method::POST, web::to(files::handle_store)),
            ],
        )
        .app_data(state.clone())
        .default_service(not_allowed(LIST_CREATE)),
    )
    .service(
        // GET /api/files/{file_id}, PUT|PATCH /api/files/{file_id}, DELETE /api/files/{file_id}
        ctx.endpoint(
            "file",
            "/api/files/{file_id:[0-9]+}",
            [
                (Method::GET, web::to(files::handle_show)),
                (Method::HEAD, web::to(files::handle_show)),
                (Method::PUT, web::to(files::handle_update)),
                (Method::PATCH, web::to(files::handle_update)),
                (Method::DELETE, web::to(files::handle_destroy)),
            ],
        )
        .app_data(state.clone())
        .default_service(not_allowed(FILE)),
    )
    .service(
        // GET /api/files/{file_id}/uploads
        ctx.endpoint(
            "uploads",
            "/api/files/{file_id:[0-9]+}/uploads",
            [
                (Method::GET, web::to(uploads::handle_index)),
                (Method::HEAD, web::to(uploads::handle_index)),
            ],
        )
        .app_data(state.clone())
        .default_service(not_allowed(GET)),
    )
    .service(
        // GET /api/files/{file_id}/uploads/{upload_id},
        // PUT|PATCH /api/files/{file_id}/uploads/{upload_id}
        ctx.endpoint(
            "upload",
            "/api/files/{file_id:[0-9]+}/uploads/{upload_id:[0-9]+}",
            [
                (Method::GET, web::to(uploads::handle_show)),
                (Method::HEAD, web::to(uploads::handle_show)),
                (Method::PUT, web::to(uploads::handle_update)),
                (Method::PATCH, web::to(uploads::handle_update)),
            ],
        )
        .app_data(state)
        .default_service(not_allowed(UPLOAD)),
    );
}

/// No CORS unless configured: FilesNest's clients are apps (the original sent no CORS headers).
/// With `[cors] allowed_origins` set, these are the methods and headers its clients use.
pub static CORS: crate::dialects::cors::CorsDefaults = crate::dialects::cors::CorsDefaults {
    origins: crate::dialects::cors::SpecOrigins::None,
    credentials: false,
    allow_methods: "GET, HEAD, POST, PUT, PATCH, DELETE",
    allow_headers: crate::dialects::cors::AllowHeaders::Listed(
        "authorization, content-type, accept",
    ),
    expose_headers: &[],
};

/// `GET /api/settings` (§5.9): public; the token is ignored.
async fn handle_settings(state: web::Data<Filesnest>) -> HttpResponse {
    HttpResponse::Ok().json(Data {
        data: SettingsJson {
            upload_max_size: state.settings.upload_max_size,
        },
    })
}

/// Laravel's `$request->path()`: the path without its leading and trailing `/` (`/` alone
/// stays `/`).
fn legacy_path(req: &HttpRequest) -> String {
    let path = req.path().trim_matches('/');
    if path.is_empty() {
        "/".to_owned()
    } else {
        path.to_owned()
    }
}

/// 405 for a method the route does not have (§8), listing the ones it has.
fn method_not_allowed(req: &HttpRequest, allowed: &str) -> HttpResponse {
    FilesnestError::MethodNotAllowed {
        method: req.method().to_string(),
        path: legacy_path(req),
        allowed: allowed.to_owned(),
    }
    .error_response()
}

/// The legacy 404 for a path under `/api` that no route matches (§8), e.g. `/api/files/abc`.
pub fn unmatched(req: &HttpRequest) -> HttpResponse {
    FilesnestError::RouteNotFound(legacy_path(req)).error_response()
}
