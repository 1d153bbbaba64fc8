//! Routing: both prefixes, trailing slashes, the mount prefix, unmatched routes, CORS and the
//! download route's headers and ranges (spec §1, §8, §11, §13).

use super::*;
use crate::helpers::{TestApp, USER_TOKEN};
use reqwest::Method;

const ROUTE_404: &str = r#"{"code":"NOT_FOUND","message":"The requested resource 'Route' was not found.","status":404,"detail":"Route"}"#;

async fn send(app: &TestApp, method: Method, path: &str) -> Answer {
    Answer::of(
        app.client
            .request(method, app.url(path))
            .header("Authorization", format!("AtField {USER_TOKEN}"))
            .send()
            .await
            .unwrap(),
    )
    .await
}

#[tokio::test]
async fn unmatched_paths_and_methods_under_dyson_prefixes_get_the_route_404() {
    let app = TestApp::spawn().await;

    for (method, path) in [
        (Method::POST, "/drive/files/upload/unknown"),
        (Method::POST, "/api/files/upload/chunk/abc"),
        (Method::GET, "/drive/files/upload/create"),
        (
            Method::PUT,
            "/api/files/upload/complete/q3Zk9_b1XyT0aLmN2pRsV",
        ),
        (Method::DELETE, "/drive/files/Hk2v9QxLr0_aTz7YpWmEc"),
        (Method::GET, "/drive/anything"),
        (Method::GET, "/drive/files/123456"),
    ] {
        send(&app, method.clone(), path)
            .await
            .assert_json(404, ROUTE_404);
    }
}

#[tokio::test]
async fn all_digit_ids_under_api_files_are_not_served_by_dyson() {
    let app = TestApp::spawn().await;

    let answer = send(&app, Method::GET, "/api/files/123456").await;

    // All-digit ids are FilesNest's (it answers 403 before looking at anything); Dyson would
    // have answered 401 with an empty body, or its 'File' 404.
    assert_ne!(answer.status, 401);
    assert!(!answer.text().contains("'File'"), "{}", answer.text());
}

#[tokio::test]
async fn every_route_takes_a_trailing_slash_and_both_prefixes() {
    // Arrange
    let app = TestApp::spawn().await;
    let data = b"trailing".to_vec();
    let body = create_body(&data, "t", 4);

    // Act
    let created = Answer::of(
        app.client
            .post(app.url("/api/files/upload/create/"))
            .header("Authorization", format!("AtField {USER_TOKEN}"))
            .json(&body)
            .send()
            .await
            .unwrap(),
    )
    .await;
    let task = created.json()["task_id"].as_str().unwrap().to_owned();
    let drive = Client::new(&app);
    let api = Client::new(&app).under("/api");
    drive.chunk(&task, "0/", &data[..4]).await.assert_empty(200);
    api.chunk(&task, 1, &data[4..]).await.assert_empty(200);
    let done = send(
        &app,
        Method::POST,
        &format!("/drive/files/upload/complete/{task}/"),
    )
    .await;
    let id = done.json()["id"].as_str().unwrap().to_owned();

    // Assert
    assert_eq!(
        send(&app, Method::GET, &format!("/api/files/{id}/"))
            .await
            .body,
        data
    );
    assert_eq!(
        send(&app, Method::GET, &format!("/drive/files/{id}"))
            .await
            .body,
        data
    );
}

#[tokio::test]
async fn a_mount_prefix_moves_every_route() {
    // Arrange
    let app = TestApp::spawn_with(|s| s.dialects.dyson.prefix = "/legacy".into()).await;
    let body = create_body(b"p", "p", 4);

    // Act
    let moved = Answer::of(
        app.client
            .post(app.url("/legacy/drive/files/upload/create"))
            .header("Authorization", format!("AtField {USER_TOKEN}"))
            .json(&body)
            .send()
            .await
            .unwrap(),
    )
    .await;
    let unmoved = send(&app, Method::POST, "/drive/files/upload/create").await;
    let unmatched = send(&app, Method::GET, "/legacy/drive/nothing").await;

    // Assert
    assert_eq!(moved.status, 200, "{}", moved.text());
    assert_ne!(unmoved.text(), ROUTE_404);
    unmatched.assert_json(404, ROUTE_404);
}

#[tokio::test]
async fn browsers_get_cors_preflights_answered_and_the_origin_allowed_on_both_prefixes() {
    let app = TestApp::spawn().await;

    for path in ["/drive/files/upload/create", "/api/files/upload/chunk/x/0"] {
        // Act
        let preflight = Answer::of(
            app.client
                .request(Method::OPTIONS, app.url(path))
                .header("Origin", "https://web.solian.app")
                .header("Access-Control-Request-Method", "POST")
                .header(
                    "Access-Control-Request-Headers",
                    "authorization,content-type",
                )
                .send()
                .await
                .unwrap(),
        )
        .await;
        let actual = Answer::of(
            app.client
                .post(app.url(path))
                .header("Origin", "https://web.solian.app")
                .send()
                .await
                .unwrap(),
        )
        .await;

        // Assert
        assert_eq!(preflight.status, 204, "{path}");
        assert_eq!(
            preflight.header("access-control-allow-origin"),
            Some("https://web.solian.app")
        );
        assert!(preflight
            .header("access-control-allow-headers")
            .unwrap()
            .to_lowercase()
            .contains("authorization"));
        assert!(preflight
            .header("access-control-allow-methods")
            .unwrap()
            .contains("POST"));
        assert_eq!(actual.status, 401);
        assert_eq!(
            actual.header("access-control-allow-origin"),
            Some("https://web.solian.app")
        );
    }
}

#[tokio::test]
async fn downloads_answer_ranges_with_206_416_or_the_whole_file_and_head_has_no_body() {
    // Arrange
    let app = TestApp::spawn().await;
    let data = random(1000);
    let mut body = create_body(&data, "pic.png", 300);
    body["content_type"] = json!("image/png");
    let (task, _) = Client::new(&app).task(&body).await;
    let dyson = Client::new(&app);
    for (i, piece) in data.chunks(300).enumerate() {
        dyson.chunk(&task, i, piece).await.assert_empty(200);
    }
    let id = dyson.complete(&task).await.json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let get = |range: Option<&'static str>, method: Method| {
        let mut req = app.client.request(
            method,
            app.url(&format!("/drive/files/{id}?tk={USER_TOKEN}")),
        );
        if let Some(r) = range {
            req = req.header("Range", r);
        }
        async move { Answer::of(req.send().await.unwrap()).await }
    };

    // Act
    let whole = get(None, Method::GET).await;
    let part = get(Some("bytes=10-19"), Method::GET).await;
    let suffix = get(Some("bytes=-5"), Method::GET).await;
    let several = get(Some("bytes=0-1,5-6"), Method::GET).await;
    let beyond = get(Some("bytes=1000-"), Method::GET).await;
    let head = get(None, Method::HEAD).await;

    // Assert
    assert_eq!(whole.status, 200);
    assert!(whole.body == data);
    assert_eq!(whole.header("content-type"), Some("image/png"));
    assert_eq!(whole.header("content-length"), Some("1000"));
    assert_eq!(whole.header("accept-ranges"), Some("bytes"));
    assert_eq!(whole.header("content-disposition"), None);
    assert_eq!(part.status, 206);
    assert_eq!(part.header("content-range"), Some("bytes 10-19/1000"));
    assert_eq!(part.body, data[10..20]);
    assert_eq!(suffix.status, 206);
    assert_eq!(suffix.body, data[995..]);
    assert_eq!(several.status, 200);
    assert!(several.body == data);
    assert_eq!(several.header("content-range"), None);
    assert_eq!(beyond.status, 416);
    assert_eq!(beyond.header("content-range"), Some("bytes */1000"));
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    assert_eq!(head.header("content-length"), Some("1000"));
    assert_eq!(head.header("content-type"), Some("image/png"));
}
