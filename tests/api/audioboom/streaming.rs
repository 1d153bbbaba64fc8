//! What only a raw connection shows: the legacy header casing (specs/audioboom.md §3) and the
//! bytes of a chunk cut off mid-stream (§4, §5.2).

use super::*;
use crate::helpers::{TestApp, USER_TOKEN};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Sends a request head announcing `body`, then only `body[..sent]`, and closes the writing
/// side like a dropped mobile link. Returns what the server answered, if anything.
async fn cut_off(app: &TestApp, head: &str, body: &[u8], sent: usize) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", app.port)).await.unwrap();
    let head = format!(
        "{head}\r\nHost: 127.0.0.1\r\nContent-Type: {}\r\nContent-Length: {}\r\n\r\n",
        multipart_type(),
        body.len()
    );
    s.write_all(head.as_bytes()).await.unwrap();
    s.write_all(&body[..sent]).await.unwrap();
    s.shutdown().await.unwrap();
    let mut out = Vec::new();
    // Bounded: the server answers or closes once it has handled the broken request.
    let _ = tokio::time::timeout(Duration::from_secs(30), s.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn error_headers_are_sent_in_the_legacy_casing() {
    // Arrange
    let app = TestApp::spawn().await;
    let mut s = TcpStream::connect(("127.0.0.1", app.port)).await.unwrap();

    // Act
    s.write_all(b"GET /attachments/1 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer nope\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();

    // Assert
    assert!(out.starts_with("HTTP/1.1 401"), "{out}");
    assert!(out.contains("\r\nX-Audioboo-Error_code: 401\r\n"), "{out}");
    assert!(
        out.contains("\r\nX-Audioboo-Error_description: Invalid credentials\r\n"),
        "{out}"
    );
    assert!(
        out.contains("\r\nContent-Type: application/json; charset=utf-8\r\n"),
        "{out}"
    );
}

#[tokio::test]
async fn a_chunk_cut_off_after_its_offset_keeps_the_bytes_that_arrived() {
    // Arrange
    let app = TestApp::spawn().await;
    let boo = Boo::new(&app);
    let data = random_bytes(21, 600_000);
    let id = boo.create(data.len(), 0, b"").await.attachment()["id"]
        .as_u64()
        .unwrap();
    let body = multipart(&[
        Part::Text("attachment[chunk_offset]", "0"),
        chunk("attachment[chunk]", &data),
    ]);

    // Act
    let head = format!("PUT /attachments/{id} HTTP/1.1\r\nAuthorization: Bearer {USER_TOKEN}");
    cut_off(&app, &head, &body, 400_000).await;
    let mut received = 0;
    for _ in 0..100 {
        received = boo.show(id).await.attachment()["received"]
            .as_u64()
            .unwrap();
        if received > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Assert: what arrived counts, and the client resumes from `received`.
    assert!(received > 300_000 && received < 400_000, "{received}");
    let rest = boo
        .put(id, received as usize, &data[received as usize..])
        .await;
    assert_eq!(rest.attachment()["complete"], true, "{}", rest.text);
    assert_eq!(boo.download(boo.clip(id).await).await, data);
}

#[tokio::test]
async fn a_chunk_cut_off_before_its_offset_arrived_keeps_nothing() {
    // Arrange
    let app = TestApp::spawn().await;
    let boo = Boo::new(&app);
    let data = random_bytes(22, 300_000);
    let id = boo.create(data.len(), 0, b"").await.attachment()["id"]
        .as_u64()
        .unwrap();
    let before = app.engine.inventory().await.unwrap();
    let body = multipart(&[
        chunk("attachment[chunk]", &data),
        Part::Text("attachment[chunk_offset]", "0"),
    ]);

    // Act
    let head = format!("PUT /attachments/{id} HTTP/1.1\r\nAuthorization: Bearer {USER_TOKEN}");
    cut_off(&app, &head, &body, 200_000).await;

    // Assert
    assert_eq!(boo.show(id).await.attachment()["received"], 0);
    assert_eq!(app.engine.inventory().await.unwrap(), before);
}

#[tokio::test]
async fn a_signed_chunk_cut_off_keeps_nothing_and_a_cut_off_create_creates_nothing() {
    // Arrange
    let app = TestApp::spawn_with(with_signing).await;
    let boo = Boo::new(&app);
    let data = random_bytes(23, 300_000);
    let id = boo.create(data.len(), 0, b"").await.attachment()["id"]
        .as_u64()
        .unwrap();
    let before = app.engine.inventory().await.unwrap();
    let signed = multipart(&[
        Part::Text("signed_attachment[chunk_offset]", "0"),
        chunk("signed_attachment[chunk]", &data),
        Part::Text("source[key]", KEY),
        Part::Text("source[signature]", "0000"),
    ]);
    let create = multipart(&[
        Part::Text("attachment[size]", "300000"),
        chunk("attachment[chunk]", &data),
    ]);

    // Act
    cut_off(
        &app,
        &format!("PUT /attachments/{id} HTTP/1.1"),
        &signed,
        200_000,
    )
    .await;
    let head = format!("POST /attachments HTTP/1.1\r\nAuthorization: Bearer {USER_TOKEN}");
    cut_off(&app, &head, &create, 200_000).await;

    // Assert
    assert_eq!(boo.show(id).await.attachment()["received"], 0);
    assert_eq!(app.engine.inventory().await.unwrap(), before);
}
