//! Limits (specs/spika.md §8): the JSON body limit by `Content-Length` and while reading,
//! `spika.max_chunks`, and the expiry of unverified chunks after `spika.upload_ttl`.

use super::*;
use crate::helpers::TestApp;
use std::time::{Duration, SystemTime};

#[tokio::test]
async fn a_body_over_the_limit_answers_413_by_content_length_or_while_streaming() {
    // Arrange
    let app = TestApp::spawn_with(|s| s.dialects.spika.max_json_bytes = 1000).await;
    let spika = Spika::new(&app);
    let body = |len: usize| {
        let text = "A".repeat(len - 40);
        let body = json!({"chunk": text, "offset": 0, "clientId": "big"}).to_string();
        assert_eq!(body.len(), len);
        body
    };
    let streamed = |text: String| {
        // No Content-Length: chunked transfer encoding, counted while reading.
        let pieces: Vec<Result<String, std::io::Error>> = text
            .as_bytes()
            .chunks(100)
            .map(|p| Ok(String::from_utf8(p.to_vec()).unwrap()))
            .collect();
        reqwest::Body::wrap_stream(futures_util::stream::iter(pieces))
    };
    let before = app.engine.inventory().await.unwrap();

    // Act
    let declared = spika.post_raw("/api/upload/files", body(1001)).await;
    let chunked = spika
        .post_raw("/api/upload/files", streamed(body(1001)))
        .await;
    let unchanged = app.engine.inventory().await.unwrap();
    let at_limit = spika.post_raw("/api/upload/files", body(1000)).await;
    let chunked_at_limit = spika
        .post_raw("/api/upload/files", streamed(body(1000)))
        .await;

    // Assert
    assert_eq!(declared, Answer::error(413, "Request entity too large"));
    assert_eq!(chunked, Answer::error(413, "Request entity too large"));
    assert_eq!(unchanged, before);
    assert_eq!(at_limit, Answer::chunks(&[0]));
    assert_eq!(chunked_at_limit, Answer::chunks(&[0]));
}

#[tokio::test]
async fn the_chunk_bound_follows_max_chunks() {
    // Arrange
    let app = TestApp::spawn_with(|s| s.dialects.spika.max_chunks = 3).await;
    let spika = Spika::new(&app);

    // Act
    let last = spika.chunk("bounded", 2, b"c").await;
    let beyond = spika.chunk("bounded", 3, b"d").await;
    let too_many = spika.verify("bounded", 4, b"abcd").await;

    // Assert
    assert_eq!(last, Answer::chunks(&[2]));
    assert_eq!(beyond, Answer::validation("offset must be less than 3"));
    assert_eq!(
        too_many,
        Answer::validation("total must be less than or equal to 3")
    );
}

#[tokio::test]
async fn unverified_chunks_are_removed_after_the_upload_ttl_and_the_client_id_starts_afresh() {
    // Arrange
    let app = TestApp::spawn_with(|s| s.dialects.spika.upload_ttl = Duration::from_secs(60)).await;
    let spika = Spika::new(&app);
    spika.chunk("idle", 0, b"old").await;
    spika.chunk("idle", 1, b"old").await;

    // Act: the engine's sweeper runs as if two minutes had passed.
    let swept = app
        .engine
        .sweep(SystemTime::now() + Duration::from_secs(120))
        .await
        .unwrap();
    let check = spika.get("/api/upload/files/check/idle").await;
    let verify = spika.verify("idle", 2, b"oldold").await;
    let fresh = spika.chunk("idle", 1, b"new").await;

    // Assert
    assert_eq!(swept.uploads, 1);
    assert_eq!(check, Answer::error(404, "Not found"));
    assert_eq!(verify, Answer::error(400, "Not all chunks are uploaded"));
    assert_eq!(fresh, Answer::chunks(&[1]));
    assert_eq!(app.engine.inventory().await.unwrap().uploads.len(), 1);
}

#[tokio::test]
async fn activity_within_the_ttl_keeps_the_chunks() {
    // Arrange
    let app =
        TestApp::spawn_with(|s| s.dialects.spika.upload_ttl = Duration::from_secs(3600)).await;
    let spika = Spika::new(&app);
    spika.chunk("busy", 0, b"kept").await;

    // Act
    let swept = app
        .engine
        .sweep(SystemTime::now() + Duration::from_secs(60))
        .await
        .unwrap();

    // Assert
    assert_eq!(swept.uploads, 0);
    assert_eq!(
        spika.get("/api/upload/files/check/busy").await,
        Answer::chunks(&[0])
    );
}
