//! Building and running the server: open the engine, set up the authenticator, bind the
//! listener (port 0 works, so tests run in parallel), mount `/healthz`, the operator API and the
//! dialects.

mod body_timeout;

use crate::auth::{AuthError, Authenticator, DevToken};
use crate::config::Settings;
use crate::dialects::expect::ExpectGate;
use crate::dialects::{self, DialectContext};
use crate::engine::{self, Engine};
use crate::hooks::Hooks;
use crate::routes::MountedRoute;
use crate::telemetry::RequestSpan;
use crate::{monitoring, native};
use actix_http::{HttpService, Request, Response};
use actix_service::{fn_service, map_config, IntoServiceFactory, ServiceFactoryExt};
use actix_web::body::BoxBody;
use actix_web::dev::{AppConfig, Server};
use actix_web::http::Method;
use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpResponse};
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;
use tracing_actix_web::TracingLogger;

/// Body limit for routes that do not set their own (the operator API takes no bodies; each
/// dialect sets the limits its spec names).
const DEFAULT_BODY_LIMIT: usize = 64 * 1024;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// The data dir could not be created.
    #[error("cannot create data dir {path}: {source}")]
    DataDir {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A credential source is broken.
    #[error("authentication setup: {0}")]
    Auth(#[from] AuthError),
    /// The store could not be opened (or reconciled); the message names the data dir.
    #[error(transparent)]
    Engine(#[from] engine::OpenError),
    /// The listen address is unusable.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
}

/// Why a running server ended with an error.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("server: {0}")]
    Server(std::io::Error),
    /// The engine could not flush on shutdown.
    #[error("store shutdown: {0}")]
    Shutdown(engine::Error),
}

/// A bound, ready-to-run server.
/// How long an idle keep-alive connection stays open (nginx's default).
const KEEP_ALIVE_SECS: u64 = 75;
/// How long a connection answered before its body was read keeps draining it (nginx's
/// `lingering_timeout`).
const LINGER_SECS: u64 = 5;

pub struct Application {
    addr: SocketAddr,
    server: Server,
    engine: Engine,
    dev_token: DevToken,
    /// What the app factory mounts from (kept to enumerate the mounted routes).
    context: DialectContext,
    hooks: Hooks,
}

impl Application {
    /// Opens everything and binds the listener. The server accepts connections once
    /// [`run_until_stopped`](Self::run_until_stopped) is polled.
    pub async fn build(settings: Settings) -> Result<Application, StartupError> {
        std::fs::create_dir_all(&settings.data_dir).map_err(|source| StartupError::DataDir {
            path: settings.data_dir.clone(),
            source,
        })?;
        let (auth, dev_token) = Authenticator::from_settings(&settings.auth, &settings.data_dir)?;
        // Before the engine opens: reconciliation and the sweeper already record metrics.
        monitoring::handle();
        let engine = Engine::open(settings.engine_config()).await?;
        let listen = settings.listen.clone();
        let bind_error = |source| StartupError::Bind {
            addr: listen.clone(),
            source,
        };
        let listener = TcpListener::bind(&settings.listen).map_err(bind_error)?;
        let addr = listener.local_addr().map_err(bind_error)?;

        let enabled: Vec<_> = dialects::DIALECTS
            .iter()
            .map(|d| {
                let state = if d.configure.is_none() {
                    "planned"
                } else {
                    "ready"
                };
                format!("{} ({state})", d.name)
            })
            .collect();
        tracing::info!(%addr, data_dir = %settings.data_dir.display(), ?auth,
            dialects = %enabled.join(", "), "starting");

        // Download URLs in webhook bodies: the public URL behind a proxy, else our own address.
        let base_url = settings
            .public_base_url
            .as_deref()
            .map(|u| u.trim_end_matches('/').to_owned())
            .unwrap_or_else(|| format!("http://{addr}"));
        let hooks = Hooks::start(&engine, &settings.hooks, base_url);

        let request_timeout = settings.request_timeout;
        let body_timeout = settings.body_timeout;
        let shutdown_timeout = settings.shutdown_timeout.as_secs();
        let settings = Arc::new(settings);
        let engine_data = web::Data::new(engine.clone());
        let auth_data = web::Data::new(auth);
        let unmatched = web::Data::new(dialects::UnmatchedRoutes::from_settings(&settings));
        let context = DialectContext::new(engine_data.clone(), auth_data.clone(), settings);
        let app_context = context.clone();

        let server = actix_server::Server::build().shutdown_timeout(shutdown_timeout);
        let graceful = server.graceful_shutdown_signal();
        let server = server
            .listen("chunkgate", listener, move || {
                let context = app_context.clone();
                let unmatched = unmatched.clone();
                let (engine_data, auth_data) = (engine_data.clone(), auth_data.clone());
                let app = App::new()
                    // Inside the logger, so a cut-off body is logged on the request's span.
                    .wrap(from_fn(move |req, next| {
                        body_timeout::limit_body_progress(body_timeout, req, next)
                    }))
                    .wrap(from_fn(monitoring::record_request))
                    .wrap(TracingLogger::<RequestSpan>::new())
                    .app_data(engine_data)
                    .app_data(auth_data)
                    .app_data(web::PayloadConfig::new(DEFAULT_BODY_LIMIT))
                    .app_data(web::JsonConfig::default().limit(DEFAULT_BODY_LIMIT))
                    .configure(|cfg| mount(cfg, &context))
                    .app_data(unmatched)
                    .default_service(web::to(dialects::unmatched))
                    .into_factory()
                    .map_err(|e: actix_web::Error| e.error_response());
                let gate = Rc::new(ExpectGate::new(&context));
                let graceful = graceful.clone();
                HttpService::build()
                    // Lets idle keep-alive connections close at once on a graceful stop.
                    .graceful_shutdown_signal(move || {
                        let signal = graceful.clone();
                        async move { signal.notified().await }
                    })
                    .client_request_timeout(request_timeout)
                    // Mobile and browser clients reuse connections between chunks; a short idle
                    // timeout (actix's default is 5 s) races with a client sending its next chunk
                    // on a connection the server is closing, which the client sees as a dropped
                    // request.
                    .keep_alive(Duration::from_secs(KEEP_ALIVE_SECS))
                    // Lingering close: after answering early (413, 401…) a request whose body
                    // was not read, keep reading and discarding it for a while before closing.
                    // Closing at once resets the connection while the client is still sending,
                    // and the reset can destroy the answer before the client reads it.
                    // (`HttpServer` lingers 1 s by default; the bare builder does not.)
                    .client_disconnect_timeout(Duration::from_secs(LINGER_SECS))
                    .local_addr(addr)
                    .expect(fn_service(move |req: Request| {
                        let gate = gate.clone();
                        async move {
                            match gate.check(req.head()).await {
                                None => Ok(req),
                                Some(answer) => Err(Response::<BoxBody>::from(answer)),
                            }
                        }
                    }))
                    .finish(map_config(app, |_| AppConfig::default()))
                    .tcp()
            })
            .map_err(bind_error)?
            .run();

        Ok(Application {
            addr,
            server,
            engine,
            dev_token,
            context,
            hooks,
        })
    }

    /// The port actually bound (useful with port 0).
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// `http://HOST:PORT` of the listener.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The engine the server uses (tests create files through it).
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// A handle to stop the server from elsewhere (tests stop a server to use its store).
    pub fn server_handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    /// Every route this server mounts (method and OpenAPI-style path), as the app factory
    /// records them: the same mounting code runs once more on a throwaway app.
    pub fn mounted_routes(&self) -> Vec<MountedRoute> {
        let _ = App::new().configure(|cfg| mount(cfg, &self.context));
        self.context.mounted_routes().list()
    }

    /// Whether a dev token was generated or reused on this start.
    pub fn dev_token(&self) -> &DevToken {
        &self.dev_token
    }

    /// Serves until SIGTERM (graceful: in-flight requests get `shutdown_timeout`) or SIGINT /
    /// ctrl-c (immediate), then flushes the engine.
    pub async fn run_until_stopped(self) -> Result<(), RunError> {
        let served = self.server.await.map_err(RunError::Server);
        tracing::info!("server stopped; flushing the store");
        // Deliveries stop first (an attempt cut short is redelivered after the restart).
        self.hooks.stop().await;
        self.engine.shutdown().await.map_err(RunError::Shutdown)?;
        served
    }
}

/// Mounts everything the server answers (besides the default service): `/healthz`, the
/// operator API and the dialects, each route recorded in the context's `MountedRoutes`.
fn mount(cfg: &mut web::ServiceConfig, context: &DialectContext) {
    let routes = context.mounted_routes();
    // GET /healthz
    cfg.service(routes.resource("healthz", "/healthz", [(Method::GET, web::to(healthz))]));
    // GET /metrics
    cfg.service(routes.resource(
        "metrics",
        "/metrics",
        [(Method::GET, web::to(monitoring::handle_metrics))],
    ));
    native::configure(cfg, routes);
    dialects::configure(cfg, context);
}

/// 200 `{"status":"ok"}` when the store accepts writes, 503 otherwise.
async fn healthz(engine: web::Data<Engine>) -> HttpResponse {
    match engine.check_writable().await {
        Ok(()) => HttpResponse::Ok().json(serde_json::json!({ "status": "ok" })),
        Err(error) => {
            tracing::warn!(%error, "health check: store not writable");
            HttpResponse::ServiceUnavailable().json(serde_json::json!({ "status": "unavailable" }))
        }
    }
}
