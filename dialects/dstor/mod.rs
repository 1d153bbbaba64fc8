//! dStor: the v1 folder-upload API of GoodBlock/Telos's IPFS-backed storage
//! (specs/dstor.md). An API key buys an access token; an upload token declares N requests
//! ("chunks"), each a multipart batch of whole files; after request N the files are stored
//! under kubo-identical CIDv0s and a status route lists them; `/ipfs/<cid>` serves them.
//!
//! Routes (below the dialect's prefix, each also with a trailing `/`, which clients always
//! add; CORS per `[cors]`, by default any origin, §12):
//! - `GET  /v1/dev/temp-token` — [`temp_token::handle_temp_token`] (§3)
//! - `POST /v1/upload/get-token` — [`get_token::handle_get_token`] (§4)
//! - `POST /v1/upload` — [`upload::handle_upload`] (§5)
//! - `GET  /v1/upload/get-status` — [`status::handle_get_status`] (§6)
//! - `GET  /ipfs/{cid}`, `GET /ipfs/{cid}/{path...}` — [`gateway::handle_ipfs`] (§8)

pub mod cid;
mod error;
mod finalise;
mod gateway;
mod get_token;
mod model;
mod parse;
mod state;
mod status;
mod temp_token;
pub mod token;
mod tree;
mod upload;

use actix_web::http::Method;
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};

use super::cors::{AllowHeaders, CorsDefaults, SpecOrigins};
use super::DialectContext;
pub use error::DstorError;
use state::Dstor;

/// Path prefixes whose unmatched requests get the legacy 404 `{"message":"Not found"}`.
pub const OWNS: &[&str] = &["/v1/upload", "/v1/dev", "/ipfs"];

/// Mounts the dStor routes.
pub fn configure(cfg: &mut web::ServiceConfig, ctx: &DialectContext) {
    let dstor = web::Data::new(Dstor::new(
        ctx.engine.get_ref().clone(),
        ctx.auth.get_ref().clone(),
        ctx.settings.dialects.dstor.clone(),
        ctx.path("/ipfs/"),
    ));
    macro_rules! mount {
        ($route:literal, $path:literal, $($method:ident => $handler:path),+) => {
            cfg.service(
                ctx.endpoint($route, $path, [$((Method::$method, web::to($handler))),+])
                    .app_data(dstor.clone())
                    // Other methods: the legacy "no such route".
                    .default_service(web::to(handle_no_route)),
            )
        };
    }
    // GET /v1/dev/temp-token
    mount!("temp_token", "/v1/dev/temp-token", GET => temp_token::handle_temp_token);
    // POST /v1/upload/get-token
    mount!("get_token", "/v1/upload/get-token", POST => get_token::handle_get_token);
    // GET /v1/upload/get-status
    mount!("get_status", "/v1/upload/get-status", GET => status::handle_get_status);
    // POST /v1/upload
    mount!("upload", "/v1/upload", POST => upload::handle_upload);
    // GET|HEAD /ipfs/{cid}
    mount!("ipfs", "/ipfs/{cid}", GET => gateway::handle_ipfs, HEAD => gateway::handle_ipfs);
    // GET|HEAD /ipfs/{cid}/{path...}
    mount!("ipfs_path", "/ipfs/{cid}/{path:.*}", GET => gateway::handle_ipfs, HEAD => gateway::handle_ipfs);
}

/// CORS for dStor's browser clients (§12): any origin with `*`, no credentials; the request
/// headers the clients send (`authorization`, `x-dstor-upload-token`, `x-dstor-comment`,
/// `api-key`, `x-expiration`, plus `content-type` for get-token's JSON and `range` for gateway
/// reads).
pub static CORS: CorsDefaults = CorsDefaults {
    origins: SpecOrigins::Any,
    credentials: false,
    allow_methods: "GET, HEAD, POST, OPTIONS",
    allow_headers: AllowHeaders::Listed(
        "authorization, x-dstor-upload-token, x-dstor-comment, api-key, x-expiration, content-type, range",
    ),
    expose_headers: &[],
};

/// The legacy answer to a request no dStor route matches: 404 `{"message":"Not found"}`.
pub fn unmatched(_req: &HttpRequest) -> HttpResponse {
    DstorError::NotFound.error_response()
}

async fn handle_no_route(req: HttpRequest) -> HttpResponse {
    unmatched(&req)
}
