//! The worked example of specs/spika.md §12, request by request, answers byte for byte.

use super::*;
use crate::helpers::{TestApp, OTHER_TOKEN};
use chunkgate::config::{Secret, TokenEntry};

const HASH: &str = "deac5c358a68ac72c91c07fd3c5cb8f8ad1d45efb696c1ef269e37c4307f6c5b";

#[tokio::test]
async fn the_worked_example_of_the_spec_is_reproduced_exactly() {
    // Arrange: the example's token, and 16 earlier files so that this one gets id 17.
    let app = TestApp::spawn_with(|s| {
        s.auth.tokens.push(TokenEntry {
            token: Secret::new("tok123"),
            principal: "spika-user".into(),
        })
    })
    .await;
    let earlier = Spika::with_token(&app, OTHER_TOKEN);
    for n in 0..16 {
        let client_id = format!("earlier{n}");
        earlier.chunk(&client_id, 0, b"x").await;
        file_id(&earlier.verify(&client_id, 1, b"x").await);
    }
    let spika = Spika::with_token(&app, "tok123");
    let verify = r#"{"total":3,"size":22,"mimeType":"text/plain","fileName":"hello.txt","clientId":"c1a2b3","fileHash":"deac5c358a68ac72c91c07fd3c5cb8f8ad1d45efb696c1ef269e37c4307f6c5b","type":"message","relationId":8}"#;
    assert_eq!(sha256_hex(b"Hello, chunked world!\n"), HASH);

    // Act / Assert
    let first = spika
        .post_raw(
            "/api/upload/files",
            r#"{"chunk":"SGVsbG8s\nIA==","offset":0,"clientId":"c1a2b3"}"#,
        )
        .await;
    assert_eq!(
        first,
        Answer::json(200, r#"{"status":"success","data":{"uploadedChunks":[0]}}"#)
    );

    let third = spika
        .post_raw(
            "/api/upload/files",
            r#"{"chunk":"d29ybGQhCg==","offset":2,"clientId":"c1a2b3"}"#,
        )
        .await;
    assert_eq!(
        third,
        Answer::json(
            200,
            r#"{"status":"success","data":{"uploadedChunks":[0,2]}}"#
        )
    );

    let early = spika.post_raw("/api/upload/files/verify", verify).await;
    assert_eq!(
        early,
        Answer::json(
            400,
            r#"{"status":"error","message":"Not all chunks are uploaded"}"#
        )
    );

    let before = app.engine.inventory().await.unwrap();
    let quoted = spika
        .post_raw(
            "/api/upload/files",
            r#"{"chunk":"Y2h1bmtlZCA=","offset":"1","clientId":"c1a2b3"}"#,
        )
        .await;
    assert_eq!(
        quoted,
        Answer::json(
            400,
            r#"{"status":"error","message":"Invalid params ValidationError: offset must be a `number` type"}"#
        )
    );
    assert_eq!(
        app.engine.inventory().await.unwrap(),
        before,
        "stores nothing"
    );

    let second = spika
        .post_raw(
            "/api/upload/files",
            r#"{"chunk":"Y2h1bmtlZCA=","offset":1,"clientId":"c1a2b3"}"#,
        )
        .await;
    assert_eq!(
        second,
        Answer::json(
            200,
            r#"{"status":"success","data":{"uploadedChunks":[0,1,2]}}"#
        )
    );

    let verified = spika.post_raw("/api/upload/files/verify", verify).await;
    let created = verified.value()["data"]["file"]["createdAt"]
        .as_u64()
        .unwrap();
    assert_eq!(
        verified,
        Answer::json(
            200,
            &r#"{"status":"success","data":{"file":{"id":17,"fileName":"hello.txt","size":22,"mimeType":"text/plain","type":"message","relationId":8,"clientId":"c1a2b3","path":"/uploads/files/c1a2b3","metaData":{"duration":0,"width":0,"height":0},"createdAt":1736937000123}}}"#
                .replace("1736937000123", &created.to_string())
        )
    );

    let (status, headers, body) = spika.download("/uploads/files/c1a2b3").await;
    assert_eq!(
        (status, body.as_slice()),
        (200, b"Hello, chunked world!\n".as_slice())
    );
    assert_eq!(headers["content-type"], "text/plain");
    assert_eq!(headers["content-length"], "22");
    let exists = Answer::json(
        400,
        r#"{"status":"error","message":"File with that clientId already exists"}"#,
    );
    assert_eq!(
        spika
            .post_raw(
                "/api/upload/files",
                r#"{"chunk":"Y2h1bmtlZCA=","offset":1,"clientId":"c1a2b3"}"#
            )
            .await,
        exists
    );
    assert_eq!(
        spika.post_raw("/api/upload/files/verify", verify).await,
        exists
    );
}
