//! The worked example of specs/filesnest.md §11, byte for byte (timestamps aside: they are
//! the wall clock's).

use super::*;
use crate::helpers::TestApp;

const SHA: &str = "deac5c358a68ac72c91c07fd3c5cb8f8ad1d45efb696c1ef269e37c4307f6c5b";

/// The body with every timestamp replaced by `T`, so the example's text can be compared exactly.
fn untimed(text: &str) -> String {
    let re = regex::Regex::new(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.000000Z").unwrap();
    re.replace_all(text, "T").into_owned()
}

fn example(method: Method, app: &TestApp, path: &str) -> reqwest::RequestBuilder {
    app.client
        .request(method, app.url(path))
        .header("Authorization", "Bearer 12|devtoken")
        .header("Accept", "application/json")
}

#[tokio::test]
async fn the_worked_example_of_the_spec_is_reproduced_exactly() {
    // Arrange: a Sanctum-style token, and 25 earlier files holding 100 uploads so that the ids
    // come out as in the example (26 and 101..103).
    let app = TestApp::spawn_with(|s| {
        s.auth.tokens.push(chunkgate::config::TokenEntry {
            token: chunkgate::config::Secret::new("12|devtoken"),
            principal: "dev".into(),
        })
    })
    .await;
    for n in 0..25 {
        let earlier = create(&app, &format!("earlier-{n}"), None, 4).await;
        request(&app, Method::DELETE, &format!("/api/files/{}", earlier.id))
            .send()
            .await
            .unwrap();
    }

    // Act / Assert
    let created = example(Method::POST, &app, "/api/files?include=uploads")
        .header("Content-Type", "application/json")
        .body(format!(r#"{{"name":"hello.txt","create_datetime":"2024-01-15 10:30:00","checksum":"{SHA}","chunks_count":3}}"#))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    assert_eq!(created.headers()["content-type"], "application/json");
    let text = created.text().await.unwrap();
    assert_eq!(
        untimed(&text),
        untimed(
            r#"{"data":{"id":26,"name":"hello.txt","create_datetime":"2024-01-15 10:30:00","checksum":"deac5c358a68ac72c91c07fd3c5cb8f8ad1d45efb696c1ef269e37c4307f6c5b","created_at":"2025-04-27T15:00:15.000000Z","updated_at":"2025-04-27T15:00:15.000000Z","status_name":"in_progress","uploads":[{"id":101,"number":1,"created_at":"2025-04-27T15:00:15.000000Z","updated_at":"2025-04-27T15:00:15.000000Z","status_name":"in_progress"},{"id":102,"number":2,"created_at":"2025-04-27T15:00:15.000000Z","updated_at":"2025-04-27T15:00:15.000000Z","status_name":"in_progress"},{"id":103,"number":3,"created_at":"2025-04-27T15:00:15.000000Z","updated_at":"2025-04-27T15:00:15.000000Z","status_name":"in_progress"}]}}"#
        )
    );

    let refused = example(Method::PATCH, &app, "/api/files/26/uploads/101")
        .header("Content-Type", "application/octet-stream; charset=binary")
        .body("Hello, ")
        .send()
        .await
        .unwrap();
    assert_eq!(
        answer(refused).await,
        (400, r#"{"message":"Invalid content type"}"#.to_owned())
    );

    let first = example(Method::PATCH, &app, "/api/files/26/uploads/101")
        .header("Content-Type", "application/octet-stream")
        .body("Hello, ")
        .send()
        .await
        .unwrap();
    let (status, text) = answer(first).await;
    assert_eq!(status, 200);
    assert_eq!(
        untimed(&text),
        untimed(
            r#"{"data":{"id":101,"number":1,"created_at":"2025-04-27T15:00:15.000000Z","updated_at":"2025-04-27T15:00:16.000000Z","status_name":"completed"}}"#
        )
    );

    let third = example(Method::PUT, &app, "/api/files/26/uploads/103")
        .header("Content-Type", "application/octet-stream")
        .body("world!\n")
        .send()
        .await
        .unwrap();
    assert_eq!(third.status(), 200);
    let second = example(Method::PATCH, &app, "/api/files/26/uploads/102")
        .header("Content-Type", "application/octet-stream")
        .body("chunked ")
        .send()
        .await
        .unwrap();
    assert_eq!(second.status(), 200);

    let mut last = String::new();
    for _ in 0..600 {
        let polled = example(Method::GET, &app, "/api/files/26?include=uploads")
            .send()
            .await
            .unwrap();
        assert_eq!(polled.status(), 200);
        last = polled.text().await.unwrap();
        if last.contains(r#""uploads":[]"#) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        untimed(&last),
        untimed(
            r#"{"data":{"id":26,"name":"hello.txt","create_datetime":"2024-01-15 10:30:00","checksum":"deac5c358a68ac72c91c07fd3c5cb8f8ad1d45efb696c1ef269e37c4307f6c5b","created_at":"2025-04-27T15:00:15.000000Z","updated_at":"2025-04-27T15:00:17.000000Z","status_name":"completed","uploads":[]}}"#
        )
    );

    let late = example(Method::PATCH, &app, "/api/files/26/uploads/101")
        .header("Content-Type", "application/octet-stream")
        .body("Hello, ")
        .send()
        .await
        .unwrap();
    assert_eq!(
        answer(late).await,
        (
            404,
            r#"{"message":"No query results for model [App\\Models\\Upload] 101"}"#.to_owned()
        )
    );
    let file = app
        .engine
        .resolve_alias("filesnest", "26")
        .await
        .unwrap()
        .unwrap();
    let info = app.engine.file(&file).await.unwrap().unwrap();
    assert_eq!(info.digests.sha256, SHA);
    assert_eq!(download(&app, 26).await, b"Hello, chunked world!\n");
}
