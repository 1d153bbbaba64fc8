//! `[cors]`: preflights and actual requests from allowed and refused origins under a configured
//! list, the per-dialect override, dialects without CORS by default, and the exposed headers.
//! (Each dialect's spec default is tested with the dialect: tests/api/{spika,dstor,dyson}.)

use crate::helpers::{TestApp, USER_TOKEN};
use reqwest::{Method, Response};
use std::time::Duration;

const ALLOWED: &str = "https://app.example";
const REFUSED: &str = "https://evil.example";

async fn preflight(app: &TestApp, path: &str, origin: &str, method: &str) -> Response {
    app.client
        .request(Method::OPTIONS, app.url(path))
        .header("Origin", origin)
        .header("Access-Control-Request-Method", method)
        .header("Access-Control-Request-Headers", "content-type")
        .send()
        .await
        .unwrap()
}

async fn get_from(app: &TestApp, path: &str, origin: &str) -> Response {
    app.client
        .get(app.url(path))
        .header("Origin", origin)
        .send()
        .await
        .unwrap()
}

fn header<'a>(r: &'a Response, name: &str) -> Option<&'a str> {
    r.headers().get(name).map(|v| v.to_str().unwrap())
}

fn with_list(s: &mut chunkgate::config::Settings) {
    s.cors.allowed_origins = Some(vec![ALLOWED.into()]);
    s.cors.max_age = Duration::from_secs(600);
    s.cors.expose_headers = vec!["X-Trace".into()];
}

#[tokio::test]
async fn a_configured_origin_list_answers_listed_origins_and_refuses_others() {
    // Arrange
    let app = TestApp::spawn_with(with_list).await;

    // Act: Spika (spec default `*`) and Dyson (echo with credentials) under the list.
    let spika_ok = preflight(&app, "/api/upload/files", ALLOWED, "POST").await;
    let spika_refused = preflight(&app, "/api/upload/files", REFUSED, "POST").await;
    let dyson_ok = preflight(&app, "/drive/files/upload/create", ALLOWED, "POST").await;
    let check_ok = get_from(&app, "/api/upload/files/check/x", ALLOWED).await;
    let check_refused = get_from(&app, "/api/upload/files/check/x", REFUSED).await;
    let unknown = get_from(&app, "/api/upload/nothing-here", ALLOWED).await;

    // Assert: preflights.
    assert_eq!(spika_ok.status(), 204);
    assert_eq!(
        header(&spika_ok, "access-control-allow-origin"),
        Some(ALLOWED)
    );
    assert_eq!(header(&spika_ok, "access-control-max-age"), Some("600"));
    assert_eq!(header(&spika_ok, "vary"), Some("Origin"));
    assert!(header(&spika_ok, "access-control-allow-headers")
        .unwrap()
        .contains("accesstoken"));
    assert_eq!(spika_refused.status(), 403);
    assert_eq!(header(&spika_refused, "access-control-allow-origin"), None);
    assert_eq!(dyson_ok.status(), 204);
    assert_eq!(
        header(&dyson_ok, "access-control-allow-origin"),
        Some(ALLOWED)
    );
    assert_eq!(
        header(&dyson_ok, "access-control-allow-credentials"),
        Some("true")
    );
    // Actual requests: still answered (CORS is not authentication), decorated only when allowed.
    assert_eq!(check_ok.status(), 401);
    assert_eq!(
        header(&check_ok, "access-control-allow-origin"),
        Some(ALLOWED)
    );
    let exposed = header(&check_ok, "access-control-expose-headers").unwrap();
    for name in [
        "Location",
        "ETag",
        "Content-Disposition",
        "Content-Range",
        "X-Trace",
    ] {
        assert!(exposed.contains(name), "{exposed}");
    }
    assert_eq!(check_refused.status(), 401);
    assert_eq!(header(&check_refused, "access-control-allow-origin"), None);
    assert_eq!(header(&check_refused, "vary"), Some("Origin"));
    // The dialect's legacy 404 carries its CORS headers too.
    assert_eq!(unknown.status(), 404);
    assert_eq!(
        header(&unknown, "access-control-allow-origin"),
        Some(ALLOWED)
    );
}

#[tokio::test]
async fn dialects_without_cors_in_their_spec_get_it_only_when_configured() {
    // Arrange
    let default = TestApp::spawn().await;
    let configured = TestApp::spawn_with(with_list).await;

    // Act
    let off = preflight(&default, "/api/files", ALLOWED, "POST").await;
    let off_get = default
        .client
        .get(default.url("/api/files"))
        .header("Origin", ALLOWED)
        .bearer_auth(USER_TOKEN)
        .send()
        .await
        .unwrap();
    let on = preflight(&configured, "/api/files", ALLOWED, "POST").await;
    let boo = preflight(&configured, "/attachments", ALLOWED, "POST").await;

    // Assert: FilesNest answers OPTIONS as Laravel did (405), with no CORS header.
    assert_eq!(off.status(), 405);
    assert_eq!(header(&off, "access-control-allow-origin"), None);
    assert_eq!(off_get.status(), 200);
    assert_eq!(header(&off_get, "access-control-allow-origin"), None);
    assert_eq!(on.status(), 204);
    assert_eq!(header(&on, "access-control-allow-origin"), Some(ALLOWED));
    assert!(header(&on, "access-control-allow-methods")
        .unwrap()
        .contains("PATCH"));
    assert_eq!(boo.status(), 204);
}

#[tokio::test]
async fn a_dialect_table_overrides_the_global_origins() {
    // Arrange: any origin everywhere, none for dStor.
    let app = TestApp::spawn_with(|s| {
        s.cors.allowed_origins = Some(vec!["*".into()]);
        s.cors.dstor.allowed_origins = Some(vec![]);
    })
    .await;

    // Act
    let spika = preflight(&app, "/api/upload/files", REFUSED, "POST").await;
    let dstor = preflight(&app, "/v1/upload/", REFUSED, "POST").await;
    let dstor_get = get_from(&app, "/v1/upload/get-status/", REFUSED).await;

    // Assert
    assert_eq!(spika.status(), 204);
    assert_eq!(header(&spika, "access-control-allow-origin"), Some("*"));
    assert_ne!(
        dstor.status(),
        204,
        "no preflight answer: CORS is off for dStor"
    );
    assert_eq!(header(&dstor, "access-control-allow-origin"), None);
    assert_eq!(header(&dstor_get, "access-control-allow-origin"), None);
}

#[tokio::test]
async fn an_invalid_origin_in_the_config_file_stops_the_start() {
    let settings = chunkgate::config::Settings::from_toml(
        "[cors]\nallowed_origins = [\"https://app.example/\"]\n",
    )
    .unwrap();

    let err = settings.validate().unwrap_err().to_string();

    assert!(err.contains("cors.allowed_origins"), "{err}");
}
