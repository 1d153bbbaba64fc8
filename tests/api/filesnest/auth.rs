//! Authentication and ownership (spec §2): 403 for every bad credential, before anything else;
//! another principal's file and uploads look exactly like unknown ids.

use super::*;
use crate::helpers::{TestApp, OTHER_TOKEN};

const FORBIDDEN: &str = r#"{"message":"This action is unauthorized."}"#;

/// Every authenticated route, with a body that would otherwise be valid.
fn routes(file: u64, upload: u64) -> Vec<(Method, String, Option<Value>)> {
    let create =
        json!({"name": "x.jpg", "create_datetime": "2024-01-15 10:30:00", "chunks_count": 1});
    vec![
        (Method::GET, "/api/files".into(), None),
        (Method::POST, "/api/files".into(), Some(create)),
        (Method::POST, "/api/files/search".into(), Some(json!({}))),
        (Method::GET, format!("/api/files/{file}"), None),
        (
            Method::PATCH,
            format!("/api/files/{file}"),
            Some(json!({"name": "y.jpg"})),
        ),
        (
            Method::PUT,
            format!("/api/files/{file}"),
            Some(json!({"name": "y.jpg"})),
        ),
        (Method::DELETE, format!("/api/files/{file}"), None),
        (Method::GET, format!("/api/files/{file}/uploads"), None),
        (
            Method::GET,
            format!("/api/files/{file}/uploads/{upload}"),
            None,
        ),
        (
            Method::PATCH,
            format!("/api/files/{file}/uploads/{upload}"),
            None,
        ),
        (
            Method::PUT,
            format!("/api/files/{file}/uploads/{upload}"),
            None,
        ),
        // Unknown ids too: authentication comes before ids.
        (Method::GET, "/api/files/999".into(), None),
        (Method::PATCH, "/api/files/999/uploads/555".into(), None),
    ]
}

#[tokio::test]
async fn every_missing_empty_unknown_or_malformed_credential_gets_403_on_every_route() {
    // Arrange
    let app = TestApp::spawn().await;
    let file = create(&app, "mine.jpg", None, 1).await;
    let before = app.engine.inventory().await.unwrap();
    let credentials: [Option<&str>; 6] = [
        None,
        Some(""),
        Some("Bearer"),
        Some("Bearer "),
        Some("Bearer not-a-known-token"),
        Some("Basic dGVzdC11c2VyLXRva2VuOg=="),
    ];

    for (method, path, body) in routes(file.id, file.uploads[0]) {
        for credential in credentials {
            // Act
            let mut req = app
                .client
                .request(method.clone(), app.url(&path))
                .header("Accept", "application/json");
            if let Some(value) = credential {
                req = req.header("Authorization", value);
            }
            req = match &body {
                Some(b) => req.json(b),
                None => req
                    .header("Content-Type", "application/octet-stream")
                    .body("chunk"),
            };
            let response = req.send().await.unwrap();

            // Assert
            let www = response.headers().get("www-authenticate").cloned();
            let ctype = response.headers().get("content-type").cloned();
            let (status, text) = answer(response).await;
            assert_eq!(
                (status, text.as_str()),
                (403, FORBIDDEN),
                "{method} {path} {credential:?}"
            );
            assert_eq!(www, None);
            assert_eq!(ctype.unwrap(), "application/json");
        }
    }
    assert_eq!(app.engine.inventory().await.unwrap(), before);
}

#[tokio::test]
async fn the_bearer_scheme_is_matched_in_any_case_and_the_token_trimmed() {
    let app = TestApp::spawn().await;
    for value in [
        format!("bearer {}", crate::helpers::USER_TOKEN),
        format!("BEARER   {}  ", crate::helpers::USER_TOKEN),
    ] {
        let response = app
            .client
            .get(app.url("/api/files"))
            .header("Authorization", value)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
}

#[tokio::test]
async fn settings_are_public_and_ignore_the_token() {
    let app = TestApp::spawn().await;
    for token in [None, Some("Bearer nonsense")] {
        let mut req = app.client.get(app.url("/api/settings"));
        if let Some(t) = token {
            req = req.header("Authorization", t);
        }
        let (status, text) = answer(req.send().await.unwrap()).await;
        assert_eq!(
            (status, text.as_str()),
            (200, r#"{"data":{"upload_max_size":104857600}}"#)
        );
    }
}

/// Every answer another principal gets about file `id` (and its first upload).
async fn probes(app: &TestApp, token: &str, id: u64, upload: u64) -> Vec<(u16, String)> {
    let paths = [
        (
            Method::GET,
            format!("/api/files/{id}?include=uploads"),
            None,
        ),
        (
            Method::PATCH,
            format!("/api/files/{id}"),
            Some(json!({"name": "stolen.jpg", "checksum": "00"})),
        ),
        (Method::PUT, format!("/api/files/{id}"), Some(json!({}))),
        (Method::DELETE, format!("/api/files/{id}"), None),
        (Method::GET, format!("/api/files/{id}/uploads"), None),
        (
            Method::GET,
            format!("/api/files/{id}/uploads/{upload}"),
            None,
        ),
        (
            Method::PATCH,
            format!("/api/files/{id}/uploads/{upload}"),
            None,
        ),
        (
            Method::PUT,
            format!("/api/files/{id}/uploads/{upload}"),
            None,
        ),
    ];
    let mut out = Vec::new();
    for (method, path, body) in paths {
        let req = as_user(app, method, &path, token);
        let req = match body {
            Some(b) => req.json(&b),
            None => req
                .header("Content-Type", "application/octet-stream")
                .body("evil bytes"),
        };
        let response = req.send().await.unwrap();
        let ctype = response.headers().get("content-type").cloned();
        let (status, text) = answer(response).await;
        out.push((status, format!("{ctype:?} {text}")));
    }
    out
}

#[tokio::test]
async fn another_principals_file_answers_exactly_like_an_unknown_id_and_is_untouched() {
    // Arrange: alice's file, half uploaded.
    let app = TestApp::spawn().await;
    let content = b"alice's photo".to_vec();
    let file = create(&app, "alice.jpg", Some(&sha256(&content)), 2).await;
    put_chunk(&app, file.id, file.uploads[0], content[..5].to_vec()).await;
    let before = app.engine.inventory().await.unwrap();
    let alice_view = get_file(&app, file.id).await;

    // Act: bob probes every route of it, then the same id once it no longer exists.
    let foreign = probes(&app, OTHER_TOKEN, file.id, file.uploads[0]).await;
    let untouched = app.engine.inventory().await.unwrap();
    let still = get_file(&app, file.id).await;
    let deleted = request(&app, Method::DELETE, &format!("/api/files/{}", file.id))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 200);
    let unknown = probes(&app, OTHER_TOKEN, file.id, file.uploads[0]).await;

    // Assert
    let not_found = format!(
        r#"Some("application/json") {{"message":"No query results for model [App\\Models\\File] {}"}}"#,
        file.id
    );
    assert!(
        foreign.iter().all(|(s, t)| *s == 404 && *t == not_found),
        "{foreign:?}"
    );
    assert_eq!(foreign, unknown);
    assert_eq!(untouched, before);
    assert_eq!(still, alice_view);
}

#[tokio::test]
async fn another_principal_neither_lists_nor_finds_nor_blocks_the_name_of_a_file() {
    // Arrange
    let app = TestApp::spawn().await;
    create(&app, "same-name.jpg", None, 1).await;

    // Act
    let list = as_user(&app, Method::GET, "/api/files", OTHER_TOKEN)
        .send()
        .await
        .unwrap();
    let search = as_user(&app, Method::POST, "/api/files/search", OTHER_TOKEN)
        .json(&json!({"filters": [{"field": "name", "operator": "like", "value": "%"}]}))
        .send()
        .await
        .unwrap();
    let bobs = create_as(&app, OTHER_TOKEN, "same-name.jpg", None, 1).await;

    // Assert: names are unique per principal only (a documented deviation).
    let (_, list) = json_of(list).await;
    let (_, search) = json_of(search).await;
    assert_eq!(list["data"], json!([]));
    assert_eq!(list["meta"]["total"], 0);
    assert_eq!(search["data"], json!([]));
    assert_eq!(bobs.body["data"]["name"], "same-name.jpg");
}
