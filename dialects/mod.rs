//! The dialects: one translator per legacy API (`specs/<name>.md`), all over one engine.
//!
//! # Adding a dialect
//! Each dialect lives in `dialects/<name>/mod.rs` and exposes
//! `pub fn configure(cfg: &mut web::ServiceConfig, ctx: &DialectContext)`, which registers its
//! routes built with [`DialectContext::endpoint`] (so the configured prefix, both trailing-slash
//! forms, the `dialect` log field, CORS and the record of mounted routes checked against
//! `docs/openapi.yaml` are handled in one place), and a `pub static CORS: cors::CorsDefaults`
//! with its spec's CORS behaviour. To mount it, declare
//! `pub mod <name>;` below and fill its row of [`DIALECTS`]: `configure`, `cors`, the path prefixes whose
//! unmatched requests it answers (`owns`, relative to its mount prefix) and the handler that
//! renders its legacy "no such route" answer (`unmatched`), and optionally an `expect` check
//! that may refuse an `Expect: 100-continue` request from its head ([`expect`]). A request no route matches goes to
//! the enabled dialect owning the longest matching prefix (so `/api/upload/...` can be Spika's
//! while the rest of `/api/...` is FilesNest's).
//! Its settings are `ctx.settings.dialects.<name>` (`src/config/dialects.rs`).
//!
//! Body limits: the app-wide default for buffered extractors (`Bytes`, `String`, `Json`) is
//! 64 KiB; set the spec's limit on each resource with `.app_data(web::PayloadConfig::new(n))` or
//! `web::JsonConfig`, and map the overflow to the legacy 413 body. A streamed `web::Payload` is
//! not limited by these: count the bytes while streaming into the engine.
//!
//! Dialects reach storage only through `ctx.engine` (the engine facade) and credentials only
//! through `ctx.auth`; no dialect touches sled, blob files or another dialect.

pub mod audioboom;
pub mod cors;
pub mod dstor;
pub mod dyson;
pub mod expect;
pub mod filesnest;
pub mod spika;

use crate::auth::Authenticator;
use crate::config::Settings;
use crate::engine::Engine;
pub use crate::routes::MountedRoutes;
use crate::telemetry;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::http::{header, Method};
use actix_web::middleware::{from_fn, Next};
use actix_web::{web, HttpRequest, HttpResponse, Resource, Route};
use cors::CorsPolicy;
use std::sync::Arc;

/// Mounts a dialect's routes.
pub type Configure = fn(&mut web::ServiceConfig, &DialectContext);

/// Renders a dialect's legacy answer to a request that matched none of its routes.
pub type Unmatched = fn(&HttpRequest) -> HttpResponse;

/// One row of the dialect table.
pub struct Dialect {
    /// The `[dialects.<name>]` config table and the `dialect` log field.
    pub name: &'static str,
    /// Entry point; `None` while the dialect is only specified.
    pub configure: Option<Configure>,
    /// Path prefixes (below the mount prefix) whose unmatched requests this dialect answers.
    pub owns: &'static [&'static str],
    pub unmatched: Option<Unmatched>,
    /// Its spec's CORS behaviour (`[cors]` may change the origins, see [`cors`]).
    pub cors: &'static cors::CorsDefaults,
    /// Answers `Expect: 100-continue` requests from their head (see [`expect`]); `None`: the
    /// server always sends `100 Continue`.
    pub expect: Option<expect::Expect>,
}

/// Every dialect, in mount order.
pub const DIALECTS: [Dialect; 5] = [
    Dialect {
        name: "filesnest",
        configure: Some(filesnest::configure),
        owns: &["/api"],
        unmatched: Some(filesnest::unmatched),
        cors: &filesnest::CORS,
        expect: Some(filesnest::expect),
    },
    Dialect {
        name: "dyson",
        configure: Some(dyson::configure),
        owns: dyson::OWNS,
        unmatched: Some(dyson::unmatched),
        cors: &dyson::CORS,
        expect: None,
    },
    Dialect {
        name: "audioboom",
        configure: Some(audioboom::configure),
        owns: audioboom::OWNS,
        unmatched: Some(audioboom::unmatched),
        cors: &audioboom::CORS,
        expect: None,
    },
    Dialect {
        name: "spika",
        configure: Some(spika::configure),
        owns: spika::OWNS,
        unmatched: Some(spika::unmatched),
        cors: &spika::CORS,
        expect: None,
    },
    Dialect {
        name: "dstor",
        configure: Some(dstor::configure),
        owns: dstor::OWNS,
        unmatched: Some(dstor::unmatched),
        cors: &dstor::CORS,
        expect: None,
    },
];

/// Where unmatched requests go: `(full path prefix, handler, CORS policy)` of every enabled
/// dialect (a legacy 404 carries the dialect's CORS headers, so a page can read it).
#[derive(Clone, Default)]
pub struct UnmatchedRoutes(Vec<(String, Unmatched, &'static str, Option<Arc<CorsPolicy>>)>);

impl UnmatchedRoutes {
    /// Collects the claims of every enabled, implemented dialect.
    pub fn from_settings(settings: &Settings) -> Self {
        let mut claims = Vec::new();
        for (name, common) in settings.dialects.all() {
            let Some(d) = DIALECTS.iter().find(|d| d.name == name) else {
                continue;
            };
            if let (true, Some(_), Some(handler)) = (common.enabled, d.configure, d.unmatched) {
                let policy = CorsPolicy::new(d.cors, &settings.cors.for_dialect(name));
                for own in d.owns {
                    claims.push((
                        format!("{}{}", common.prefix, own.trim_end_matches('/')),
                        handler,
                        d.name,
                        policy.clone(),
                    ));
                }
            }
        }
        UnmatchedRoutes(claims)
    }

    /// The handler owning the longest prefix of `path` (matched on whole segments), with the
    /// owning dialect's CORS policy.
    pub fn find(&self, path: &str) -> Option<(Unmatched, Option<Arc<CorsPolicy>>)> {
        self.claim(path).map(|(h, _, cors)| (h, cors))
    }

    /// The dialect owning the longest prefix of `path` (metrics label of unrouted requests).
    pub fn owner(&self, path: &str) -> Option<&'static str> {
        self.claim(path).map(|(_, name, _)| name)
    }

    fn claim(&self, path: &str) -> Option<(Unmatched, &'static str, Option<Arc<CorsPolicy>>)> {
        self.0
            .iter()
            .filter(|(p, _, _, _)| {
                p.is_empty()
                    || path == p
                    || path
                        .strip_prefix(p.as_str())
                        .is_some_and(|rest| rest.starts_with('/'))
            })
            .max_by_key(|(p, _, _, _)| p.len())
            .map(|(_, h, name, c)| (*h, *name, c.clone()))
    }
}

/// The app's default service: the owning dialect's legacy 404, or a plain JSON 404.
pub async fn unmatched(req: HttpRequest, routes: web::Data<UnmatchedRoutes>) -> HttpResponse {
    match routes.find(req.path()) {
        Some((handler, cors)) => {
            let mut response = handler(&req);
            if let Some(cors) = cors {
                cors.decorate(req.headers().get(header::ORIGIN), response.headers_mut());
            }
            response
        }
        None => HttpResponse::NotFound().json(serde_json::json!({"error": "not found"})),
    }
}

/// Mounts every enabled, implemented dialect under its prefix.
pub fn configure(cfg: &mut web::ServiceConfig, ctx: &DialectContext) {
    let settings = Arc::clone(&ctx.settings);
    for (name, common) in settings.dialects.all() {
        let Some(d) = DIALECTS.iter().find(|d| d.name == name) else {
            continue;
        };
        if let (true, Some(mount)) = (common.enabled, d.configure) {
            let cors = CorsPolicy::new(d.cors, &settings.cors.for_dialect(name));
            mount(cfg, &ctx.for_dialect(name, common.prefix, cors));
        }
    }
}

/// The state of a dialect: the shared engine and authenticator, all settings, and where the
/// dialect is mounted. Cheap to clone (everything shared is behind an `Arc`).
#[derive(Clone)]
pub struct DialectContext {
    /// The engine facade (also registered as app data, so handlers can extract it).
    pub engine: web::Data<Engine>,
    /// The shared authenticator (also registered as app data).
    pub auth: web::Data<Authenticator>,
    /// All settings; a dialect reads `settings.dialects.<name>`.
    pub settings: Arc<Settings>,
    name: &'static str,
    prefix: String,
    /// The dialect's CORS policy; `None`: no CORS headers.
    cors: Option<Arc<CorsPolicy>>,
    /// Every route mounted through this context (shared by all dialects of one app).
    routes: MountedRoutes,
}

impl DialectContext {
    /// The shared context, not yet bound to a dialect.
    pub fn new(
        engine: web::Data<Engine>,
        auth: web::Data<Authenticator>,
        settings: Arc<Settings>,
    ) -> Self {
        DialectContext {
            engine,
            auth,
            settings,
            name: "",
            prefix: String::new(),
            cors: None,
            routes: MountedRoutes::default(),
        }
    }

    fn for_dialect(&self, name: &'static str, prefix: &str, cors: Option<Arc<CorsPolicy>>) -> Self {
        DialectContext {
            name,
            prefix: prefix.to_owned(),
            cors,
            ..self.clone()
        }
    }

    /// The record of every route mounted through this context (and its dialect copies).
    pub fn mounted_routes(&self) -> &MountedRoutes {
        &self.routes
    }

    /// The dialect's name (its config table and its `dialect` log field).
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// `path` under the dialect's prefix.
    pub fn path(&self, path: &str) -> String {
        format!("{}{}", self.prefix, path)
    }

    /// A resource for `path` under the dialect's prefix serving `routes` (each a handler with
    /// its method: the method guard is set here and the route recorded, so `mounted_routes`
    /// lists exactly what is served). It matches `path` with and without a trailing `/`
    /// (specs/README.md, "Trailing slashes"), is named `<dialect>.<route>`, records the dialect
    /// on the request's log span, and applies the dialect's CORS policy (preflights included).
    /// Add `.app_data(..)` and `.default_service(..)` as needed.
    pub fn endpoint(
        &self,
        route: &str,
        path: &str,
        routes: impl IntoIterator<Item = (Method, Route)>,
    ) -> Resource<
        impl ServiceFactory<
            ServiceRequest,
            Config = (),
            Response = ServiceResponse<impl MessageBody>,
            Error = actix_web::Error,
            InitError = (),
        >,
    > {
        let dialect = self.name;
        let base = self.path(path.trim_end_matches('/'));
        let patterns = if base.is_empty() {
            vec!["/".to_owned()]
        } else {
            vec![base.clone(), format!("{base}/")]
        };
        let mut resource = web::resource(patterns).name(&format!("{dialect}.{route}"));
        for (method, handler) in routes {
            self.routes
                .record(&method, if base.is_empty() { "/" } else { &base });
            resource = resource.route(handler.method(method));
        }
        let cors = self.cors.clone();
        resource
            .wrap(from_fn(move |req: ServiceRequest, next: Next<BoxBody>| {
                let cors = cors.clone();
                async move {
                    match cors {
                        Some(cors) => cors.handle(req, next).await,
                        None => next.call(req).await,
                    }
                }
            }))
            .wrap(from_fn(move |req: ServiceRequest, next: Next<BoxBody>| {
                telemetry::record_dialect(req.request(), dialect);
                next.call(req)
            }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::{test as actix_test, App};

    #[actix_web::test]
    async fn a_dialect_resource_answers_under_its_prefix_with_and_without_a_trailing_slash() {
        // Arrange
        let dir = tempfile::tempdir().unwrap();
        let settings = Settings {
            data_dir: dir.path().to_owned(),
            min_free_space: 0,
            ..Settings::default()
        };
        let engine = Engine::open(settings.engine_config()).await.unwrap();
        let (auth, _) = Authenticator::from_settings(&settings.auth, dir.path()).unwrap();
        let ctx = DialectContext::new(
            web::Data::new(engine),
            web::Data::new(auth),
            Arc::new(settings),
        )
        .for_dialect("toy", "/legacy", None);
        let app = actix_test::init_service(App::new().configure(|cfg| {
            cfg.service(ctx.endpoint(
                "hello",
                "/api/hello",
                [(Method::GET, web::to(|| async { "hi" }))],
            ));
        }))
        .await;

        // Act / Assert
        for (path, status) in [
            ("/legacy/api/hello", 200),
            ("/legacy/api/hello/", 200),
            ("/api/hello", 404),
        ] {
            let req = actix_test::TestRequest::get().uri(path).to_request();
            let res = actix_test::call_service(&app, req).await;
            assert_eq!(res.status().as_u16(), status, "{path}");
        }
    }

    #[test]
    fn an_unmatched_path_goes_to_the_longest_owning_prefix() {
        fn a(_: &HttpRequest) -> HttpResponse {
            HttpResponse::NotFound().body("a")
        }
        fn b(_: &HttpRequest) -> HttpResponse {
            HttpResponse::Gone().body("b")
        }
        let routes = UnmatchedRoutes(vec![
            ("/api".into(), a, "a", None),
            ("/api/upload".into(), b, "b", None),
        ]);
        let req = actix_test::TestRequest::default().to_http_request();
        let pick = |p: &str| routes.find(p).map(|(h, _)| h(&req).status().as_u16());
        assert_eq!(pick("/api/files/x"), Some(404));
        assert_eq!(pick("/api/upload/files"), Some(410));
        assert_eq!(pick("/api/uploadx"), Some(404));
        assert_eq!(pick("/api"), Some(404));
        assert_eq!(pick("/other"), None);
        assert_eq!(routes.owner("/api/upload/x"), Some("b"));
    }

    #[test]
    fn every_configured_dialect_has_a_row() {
        let settings = Settings::default();
        let configured: Vec<_> = settings.dialects.all().map(|(n, _)| n).to_vec();
        let listed: Vec<_> = DIALECTS.iter().map(|d| d.name).collect();
        assert_eq!(configured, listed);
    }
}
