//! Authentication (specs/spika.md §2): the three 401 bodies on every route, header before
//! cookie, authentication before any other check, and `spika.auth = false`.

use super::*;
use crate::helpers::{TestApp, USER_PRINCIPAL};
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};

/// A legacy backend's introspection endpoint: `Bearer old` is expired, anything else unknown.
fn introspection_stub() -> String {
    async fn introspect(req: HttpRequest) -> HttpResponse {
        match req.headers().get("authorization").map(|v| v.as_bytes()) {
            Some(b"Bearer old") => HttpResponse::Unauthorized().json(json!({ "error": "expired" })),
            _ => HttpResponse::Unauthorized().finish(),
        }
    }
    let server = HttpServer::new(|| App::new().route("/introspect", web::get().to(introspect)))
        .workers(1)
        .bind("127.0.0.1:0")
        .unwrap();
    let addr = server.addrs()[0];
    tokio::spawn(server.run());
    format!("http://{addr}/introspect")
}

/// One request of every route, with the credential applied by `with`.
async fn every_route(
    app: &TestApp,
    with: impl Fn(reqwest::RequestBuilder) -> reqwest::RequestBuilder,
) -> Vec<(String, Answer)> {
    let chunk = json!({"chunk": "QQ==", "offset": 0, "clientId": "c1"}).to_string();
    let verify = verify_body("c1", 1, 1, &sha256_hex(b"A")).to_string();
    let routes = [
        ("POST", "/api/upload/files", Some(chunk.clone())),
        ("POST", "/api/uploads/files/", Some(chunk)),
        ("POST", "/api/upload/files/verify", Some(verify)),
        // Not even a JSON body is looked at before authentication.
        (
            "POST",
            "/api/upload/files/verify",
            Some("{not json".to_owned()),
        ),
        ("GET", "/api/upload/files/check/c1", None),
        ("GET", "/api/upload/files/1", None),
        ("GET", "/uploads/files/c1", None),
        ("HEAD", "/uploads/files/c1", None),
    ];
    let mut answers = Vec::new();
    for (method, path, body) in routes {
        let mut request = app
            .client
            .request(method.parse().unwrap(), app.url(path))
            .header("content-type", "application/json");
        if let Some(body) = body {
            request = request.body(body);
        }
        let answer = Answer::of(with(request).send().await.unwrap()).await;
        answers.push((format!("{method} {path}"), answer));
    }
    answers
}

fn plain_401(body: &str) -> Answer {
    Answer {
        status: 401,
        content_type: Some("text/plain; charset=utf-8".into()),
        body: body.into(),
    }
}

fn assert_all(answers: Vec<(String, Answer)>, expected: &Answer) {
    for (route, answer) in answers {
        let expected = if route.starts_with("HEAD") {
            Answer {
                body: String::new(),
                ..plain_401(&expected.body)
            }
        } else {
            plain_401(&expected.body)
        };
        assert_eq!(answer, expected, "{route}");
    }
}

#[tokio::test]
async fn every_route_without_a_token_answers_no_access_token() {
    // Arrange
    let app = TestApp::spawn().await;
    let before = app.engine.inventory().await.unwrap();

    // Act
    let none = every_route(&app, |r| r).await;
    let empty = every_route(&app, |r| r.header("accesstoken", "")).await;
    let empty_both = every_route(&app, |r| {
        r.header("accesstoken", "").header("cookie", "accesstoken=")
    })
    .await;

    // Assert
    for answers in [none, empty, empty_both] {
        assert_all(answers, &plain_401("No access token"));
    }
    assert_eq!(app.engine.inventory().await.unwrap(), before);
}

#[tokio::test]
async fn every_route_with_an_unknown_token_answers_invalid_access_token() {
    // Arrange
    let app = TestApp::spawn().await;

    // Act
    let header = every_route(&app, |r| r.header("accesstoken", "nope")).await;
    let cookie = every_route(&app, |r| r.header("cookie", "accesstoken=nope")).await;
    // The header wins over a valid cookie.
    let both = every_route(&app, |r| {
        r.header("accesstoken", "nope").header(
            "cookie",
            format!("accesstoken={}", crate::helpers::USER_TOKEN),
        )
    })
    .await;

    // Assert
    for answers in [header, cookie, both] {
        assert_all(answers, &plain_401("Invalid access token"));
    }
}

#[tokio::test]
async fn every_route_with_an_expired_token_answers_access_token_expired() {
    // Arrange
    let url = introspection_stub();
    let app = TestApp::spawn_with(|s| s.auth.introspect_url = Some(url)).await;

    // Act
    let header = every_route(&app, |r| r.header("accesstoken", "old")).await;
    let cookie = every_route(&app, |r| r.header("cookie", "accesstoken=old")).await;

    // Assert
    for answers in [header, cookie] {
        assert_all(answers, &plain_401("Access token expired"));
    }
}

#[tokio::test]
async fn authentication_comes_before_the_body_size_limit() {
    // Arrange
    let app = TestApp::spawn_with(|s| s.dialects.spika.max_json_bytes = 100).await;
    let big = json!({"chunk": b64(&[0u8; 300]), "offset": 0, "clientId": "c"}).to_string();

    // Act
    let anonymous = Spika {
        app: &app,
        token: None,
    }
    .post_raw("/api/upload/files", big.clone())
    .await;
    let known = Spika::new(&app).post_raw("/api/upload/files", big).await;

    // Assert
    assert_eq!(anonymous, plain_401("No access token"));
    assert_eq!(known, Answer::error(413, "Request entity too large"));
}

#[tokio::test]
async fn the_cookie_works_for_uploads_and_for_the_file_path() {
    // Arrange: the web client's image tags only carry the cookie.
    let app = TestApp::spawn().await;
    let cookie = format!("lang=en; accesstoken={}", crate::helpers::USER_TOKEN);
    let post = |path: &str, body: Value| {
        app.client
            .post(app.url(path))
            .header("cookie", cookie.clone())
            .json(&body)
            .send()
    };

    // Act
    let chunk = Answer::of(
        post(
            "/api/upload/files",
            json!({"chunk": b64(b"img"), "offset": 0, "clientId": "ck"}),
        )
        .await
        .unwrap(),
    )
    .await;
    let verify = Answer::of(
        post(
            "/api/upload/files/verify",
            verify_body("ck", 1, 3, &sha256_hex(b"img")),
        )
        .await
        .unwrap(),
    )
    .await;
    let image = app
        .client
        .get(app.url("/uploads/files/ck"))
        .header("cookie", cookie.clone())
        .send()
        .await
        .unwrap();

    // Assert
    assert_eq!(chunk, Answer::chunks(&[0]));
    file_id(&verify);
    assert_eq!(image.status().as_u16(), 200);
    assert_eq!(image.bytes().await.unwrap().as_ref(), b"img");
}

#[tokio::test]
async fn with_auth_off_no_credential_is_read_and_everything_belongs_to_anonymous() {
    // Arrange
    let app = TestApp::spawn_with(|s| s.dialects.spika.auth = false).await;
    let nobody = Spika {
        app: &app,
        token: None,
    };
    let bad_token = Spika::with_token(&app, "not-a-token");

    // Act
    let chunk = nobody.chunk("anon", 0, b"open").await;
    let verify = bad_token.verify("anon", 1, b"open").await;
    let (status, _, body) = nobody.download("/uploads/files/anon").await;

    // Assert
    assert_eq!(chunk, Answer::chunks(&[0]));
    file_id(&verify);
    assert_eq!((status, body.as_slice()), (200, b"open".as_slice()));
    let files = app.engine.inventory().await.unwrap().files;
    assert_eq!(files[0].owner.as_str(), "anonymous");
    assert_ne!(files[0].owner.as_str(), USER_PRINCIPAL);
}
