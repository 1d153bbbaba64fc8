//! The authenticator against a stub introspection endpoint (the legacy backend) on port 0.

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use chunkgate::auth::{AuthOutcome, Authenticator};
use chunkgate::config::{AuthSettings, Secret, TokenEntry};
use chunkgate::engine::Principal;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// The stub backend: `good` → alice, `old` → expired, `broken` → 500, anything else → 401.
struct Backend {
    url: String,
    calls: Arc<AtomicUsize>,
}

async fn introspect(req: HttpRequest, calls: web::Data<AtomicUsize>) -> HttpResponse {
    calls.fetch_add(1, Ordering::SeqCst);
    let auth = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    match auth {
        "Bearer good" => HttpResponse::Ok().json(serde_json::json!({ "principal": "alice" })),
        "Bearer old" => {
            HttpResponse::Unauthorized().json(serde_json::json!({ "error": "expired" }))
        }
        "Bearer broken" => HttpResponse::InternalServerError().finish(),
        _ => HttpResponse::Unauthorized().finish(),
    }
}

fn backend() -> Backend {
    let calls = web::Data::new(AtomicUsize::new(0));
    let counter = calls.clone().into_inner();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(calls.clone())
            .route("/introspect", web::get().to(introspect))
    })
    .workers(1)
    .bind("127.0.0.1:0")
    .unwrap();
    let addr = server.addrs()[0];
    tokio::spawn(server.run());
    Backend {
        url: format!("http://{addr}/introspect"),
        calls: counter,
    }
}

fn authenticator(backend: &Backend, cache: Duration) -> Authenticator {
    let dir = tempfile::tempdir().unwrap();
    let settings = AuthSettings {
        tokens: vec![TokenEntry {
            token: Secret::new("local"),
            principal: "bob".into(),
        }],
        introspect_url: Some(backend.url.clone()),
        introspect_cache: cache,
        ..AuthSettings::default()
    };
    Authenticator::from_settings(&settings, dir.path())
        .unwrap()
        .0
}

const MINUTE: Duration = Duration::from_secs(60);

#[tokio::test]
async fn a_token_the_backend_knows_maps_to_its_principal() {
    let backend = backend();
    let auth = authenticator(&backend, MINUTE);

    let outcome = auth.authenticate("good").await;

    assert_eq!(outcome, AuthOutcome::Principal(Principal::new("alice")));
}

#[tokio::test]
async fn a_token_the_backend_calls_expired_is_expired() {
    let backend = backend();
    let auth = authenticator(&backend, MINUTE);

    assert_eq!(auth.authenticate("old").await, AuthOutcome::Expired);
}

#[tokio::test]
async fn a_token_the_backend_rejects_is_invalid() {
    let backend = backend();
    let auth = authenticator(&backend, MINUTE);

    assert_eq!(auth.authenticate("forged").await, AuthOutcome::Invalid);
}

#[tokio::test]
async fn answers_are_cached_for_the_configured_time() {
    let backend = backend();
    let auth = authenticator(&backend, MINUTE);

    for _ in 0..3 {
        auth.authenticate("good").await;
        auth.authenticate("forged").await;
    }

    assert_eq!(backend.calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn with_a_zero_cache_every_check_asks_the_backend() {
    let backend = backend();
    let auth = authenticator(&backend, Duration::ZERO);

    auth.authenticate("good").await;
    auth.authenticate("good").await;

    assert_eq!(backend.calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_failing_backend_gives_invalid_and_is_not_cached() {
    let backend = backend();
    let auth = authenticator(&backend, MINUTE);

    assert_eq!(auth.authenticate("broken").await, AuthOutcome::Invalid);
    assert_eq!(auth.authenticate("broken").await, AuthOutcome::Invalid);

    assert_eq!(backend.calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn configured_tokens_are_answered_without_asking_the_backend() {
    let backend = backend();
    let auth = authenticator(&backend, MINUTE);

    let outcome = auth.authenticate("local").await;

    assert_eq!(outcome, AuthOutcome::Principal(Principal::new("bob")));
    assert_eq!(backend.calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn an_unreachable_backend_gives_invalid() {
    // Bind and drop a listener to get a port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let gone = Backend {
        url: format!("http://127.0.0.1:{port}/introspect"),
        calls: Arc::new(AtomicUsize::new(0)),
    };
    let auth = authenticator(&gone, MINUTE);

    assert_eq!(auth.authenticate("good").await, AuthOutcome::Invalid);
}
