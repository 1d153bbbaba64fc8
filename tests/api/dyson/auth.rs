//! Credentials (spec §2) and ownership: another principal's tasks and files answer exactly like
//! unknown ones.

use super::*;
use crate::helpers::{TestApp, OTHER_TOKEN};
use reqwest::Method;

/// Puts (or leaves out) a credential on a request.
type Credential = Box<dyn Fn(reqwest::RequestBuilder) -> reqwest::RequestBuilder>;

/// One request per route, with a given credential placement.
async fn each_route(
    app: &TestApp,
    auth: impl Fn(reqwest::RequestBuilder) -> reqwest::RequestBuilder,
) -> Vec<(String, Answer)> {
    let task = "q3Zk9_b1XyT0aLmN2pRsV";
    let routes = [
        (Method::POST, "/drive/files/upload/create".to_owned()),
        (Method::POST, "/api/files/upload/create".to_owned()),
        (Method::POST, format!("/drive/files/upload/chunk/{task}/0")),
        (Method::POST, format!("/api/files/upload/complete/{task}")),
        (Method::GET, "/drive/files/Hk2v9QxLr0_aTz7YpWmEc".to_owned()),
        (Method::HEAD, "/api/files/Hk2v9QxLr0_aTz7YpWmEc".to_owned()),
    ];
    let mut out = Vec::new();
    for (method, path) in routes {
        let req = app
            .client
            .request(method.clone(), app.url(&path))
            .header(CONTENT_TYPE, form_type())
            .body(form("chunk", b"x"));
        out.push((
            format!("{method} {path}"),
            Answer::of(auth(req).send().await.unwrap()).await,
        ));
    }
    out
}

#[tokio::test]
async fn every_route_answers_401_with_an_empty_body_to_every_unauthorized_form() {
    // Arrange
    let app = TestApp::spawn().await;
    let forms: Vec<(&str, Credential)> = vec![
        ("no credential", Box::new(|r| r)),
        (
            "unknown bearer",
            Box::new(|r| r.header("Authorization", "Bearer nope")),
        ),
        (
            "unknown AtField",
            Box::new(|r| r.header("Authorization", "AtField nope")),
        ),
        (
            "unknown AkField",
            Box::new(|r| r.header("Authorization", "akfield nope")),
        ),
        ("unknown tk", Box::new(|r| r.query(&[("tk", "nope")]))),
        (
            "unknown cookie",
            Box::new(|r| r.header("Cookie", "AuthToken=nope")),
        ),
        (
            "valid token under another scheme",
            Box::new(|r| {
                r.header(
                    "Authorization",
                    format!("Basic {}", crate::helpers::USER_TOKEN),
                )
            }),
        ),
        (
            "valid token after two spaces",
            Box::new(|r| {
                r.header(
                    "Authorization",
                    format!("Bearer  {}", crate::helpers::USER_TOKEN),
                )
            }),
        ),
        (
            "unknown tk before a valid header",
            Box::new(|r| {
                r.query(&[("tk", "nope")]).header(
                    "Authorization",
                    format!("Bearer {}", crate::helpers::USER_TOKEN),
                )
            }),
        ),
    ];
    let before = app.engine.inventory().await.unwrap();

    for (name, auth) in forms {
        // Act
        let answers = each_route(&app, auth).await;

        // Assert
        for (route, answer) in answers {
            assert_eq!(answer.status, 401, "{name}: {route}: {}", answer.text());
            answer.assert_empty(401);
        }
    }
    assert_eq!(app.engine.inventory().await.unwrap(), before);
}

#[tokio::test]
async fn the_credential_is_read_from_tk_each_header_scheme_and_the_cookie() {
    // Arrange
    let app = TestApp::spawn().await;
    const TOKEN: &str = crate::helpers::USER_TOKEN;
    let body = create_body(b"x", "x", 10);
    let forms: Vec<Credential> = vec![
        Box::new(|r| r.query(&[("tk", TOKEN)])),
        Box::new(|r| r.header("Authorization", format!("Bearer {TOKEN}"))),
        Box::new(|r| r.header("Authorization", format!("ATFIELD {TOKEN}"))),
        Box::new(|r| r.header("Authorization", format!("AkField {TOKEN}"))),
        Box::new(|r| r.header("Cookie", format!("AuthToken={TOKEN}"))),
        Box::new(|r| {
            r.header("Authorization", "Basic whatever")
                .header("Cookie", format!("AuthToken={TOKEN}"))
        }),
    ];

    for (i, auth) in forms.into_iter().enumerate() {
        // Act
        let req = app
            .client
            .post(app.url("/api/files/upload/create"))
            .json(&body);
        let answer = Answer::of(auth(req).send().await.unwrap()).await;

        // Assert
        assert_eq!(answer.status, 200, "form {i}: {}", answer.text());
    }
}

#[tokio::test]
async fn another_principal_can_neither_see_nor_touch_a_task_and_gets_the_unknown_answer() {
    // Arrange
    let app = TestApp::spawn().await;
    let alice = Client::new(&app);
    let bob = Client::new(&app).by_user(OTHER_TOKEN);
    let data = b"alice's data".to_vec();
    let (task, _) = alice.task(&create_body(&data, "a", 100)).await;
    let unknown = "q3Zk9_b1XyT0aLmN2pRsV";
    let before = app.engine.inventory().await.unwrap();

    // Act
    let chunk = bob.chunk(&task, 0, b"bob's bytes").await;
    let chunk_unknown = bob.chunk(unknown, 0, b"bob's bytes").await;
    let complete = bob.complete(&task).await;
    let complete_unknown = bob.complete(unknown).await;

    // Assert
    for (a, b) in [(&chunk, &chunk_unknown), (&complete, &complete_unknown)] {
        assert_eq!((a.status, &a.body), (b.status, &b.body));
        a.assert_json(
            404,
            r#"{"code":"NOT_FOUND","message":"The requested resource 'Upload task' was not found.","status":404,"detail":"Upload task"}"#,
        );
    }
    assert_eq!(app.engine.inventory().await.unwrap(), before);
    alice.chunk(&task, 0, &data).await.assert_empty(200);
    assert_eq!(alice.complete(&task).await.status, 200);
}

#[tokio::test]
async fn another_principal_cannot_download_a_file_and_does_not_deduplicate_against_it() {
    // Arrange
    let app = TestApp::spawn().await;
    let alice = Client::new(&app);
    let bob = Client::new(&app).by_user(OTHER_TOKEN);
    let data = random(100);
    let file = alice.upload(&data, 64).await;
    let id = file["id"].as_str().unwrap();

    // Act
    let foreign = bob.download(id).await;
    let unknown = bob.download("Hk2v9QxLr0_aTz7YpWmEc").await;
    let created = bob.create(&create_body(&data, "b", 64)).await;

    // Assert
    assert_eq!(
        (foreign.status, &foreign.body),
        (unknown.status, &unknown.body)
    );
    foreign.assert_json(
        404,
        r#"{"code":"NOT_FOUND","message":"The requested resource 'File' was not found.","status":404,"detail":"File"}"#,
    );
    assert_eq!(created.json()["file_exists"], false);
    assert_eq!(alice.download(id).await.body, data);
}

#[tokio::test]
async fn with_global_dedup_scope_another_principal_gets_the_existing_file() {
    // Arrange
    let app = TestApp::spawn_with(|s| {
        s.dialects.dyson.dedup_scope = chunkgate::config::DedupScope::Global;
    })
    .await;
    let data = random(100);
    let file = Client::new(&app).upload(&data, 64).await;
    let bob = Client::new(&app).by_user(OTHER_TOKEN);
    let before = app.engine.inventory().await.unwrap();

    // Act
    let created = bob.create(&create_body(&data, "b", 64)).await;

    // Assert: the legacy cross-user answer, and nothing created
    let v = created.json();
    assert_eq!(v["file_exists"], true);
    assert_eq!(v["file"], file);
    assert_eq!(v["file"]["account_id"], "alice");
    assert_eq!(app.engine.inventory().await.unwrap(), before);
}
