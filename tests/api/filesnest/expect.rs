//! `Expect: 100-continue` on the chunk route (specs/filesnest.md §5.2): a request the server
//! would refuse gets its final answer without `100 Continue`, so the client never sends the
//! body; a request it accepts gets `100 Continue` first. Checked on a raw connection, the only
//! place the interim response is visible.

use super::*;
use crate::helpers::{TestApp, OTHER_TOKEN, USER_TOKEN};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Sends only the head of a chunk request with `Expect: 100-continue` and returns what the
/// server says before any body byte is sent (up to the end of the first response head).
async fn head_only(app: &TestApp, path: &str, headers: &str) -> (TcpStream, String) {
    let mut s = TcpStream::connect(("127.0.0.1", app.port)).await.unwrap();
    let head = format!(
        "PATCH {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nExpect: 100-continue\r\n{headers}\r\n"
    );
    s.write_all(head.as_bytes()).await.unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    // Bounded: every case here gets an answer to its head alone.
    while !got.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = tokio::time::timeout(Duration::from_secs(20), s.read(&mut buf))
            .await
            .expect("the server answers the head without waiting for the body")
            .unwrap();
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
    }
    (s, String::from_utf8_lossy(&got).into_owned())
}

fn chunk_headers(token: &str, content_type: &str, len: usize) -> String {
    format!("Authorization: Bearer {token}\r\nContent-Type: {content_type}\r\nContent-Length: {len}\r\n")
}

#[tokio::test]
async fn a_declared_length_over_the_limit_is_413_without_100_continue() {
    // Arrange
    let app = TestApp::spawn_with(|s| s.dialects.filesnest.upload_max_size = 1000).await;
    let file = create(&app, "big.bin", None, 1).await;
    let path = format!("/api/files/{}/uploads/{}", file.id, file.uploads[0]);

    // Act
    let (_s, answer) = head_only(
        &app,
        &path,
        &chunk_headers(USER_TOKEN, "application/octet-stream", 1001),
    )
    .await;

    // Assert
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(!answer.contains("100 Continue"), "{answer}");
    let body = get_file(&app, file.id).await;
    assert_eq!(body["uploads"][0]["status_name"], "in_progress", "{body}");
}

#[tokio::test]
async fn each_earlier_check_answers_before_the_body_in_the_spec_order() {
    // Arrange
    let app = TestApp::spawn_with(|s| s.dialects.filesnest.upload_max_size = 1000).await;
    let file = create(&app, "a.bin", None, 1).await;
    let up = file.uploads[0];
    let ok_type = "application/octet-stream";
    let cases = [
        // (path, headers, status, body fragment)
        (
            format!("/api/files/{}/uploads/{up}", file.id),
            chunk_headers("nope", ok_type, 5000),
            "403",
            "",
        ),
        (
            format!("/api/files/{}/uploads/{up}", file.id),
            chunk_headers(OTHER_TOKEN, ok_type, 5000),
            "404",
            "File",
        ),
        (
            format!("/api/files/{}/uploads/{}", file.id, up + 999),
            chunk_headers(USER_TOKEN, ok_type, 5000),
            "404",
            "Upload",
        ),
        (
            format!("/api/files/{}/uploads/{up}/", file.id),
            chunk_headers(USER_TOKEN, "application/octet-stream; charset=binary", 5000),
            "400",
            "Invalid content type",
        ),
    ];

    for (path, headers, status, fragment) in cases {
        // Act
        let (mut s, answer) = head_only(&app, &path, &headers).await;
        let mut rest = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(20), s.read_to_end(&mut rest)).await;
        let whole = answer + &String::from_utf8_lossy(&rest);

        // Assert
        assert!(
            whole.starts_with(&format!("HTTP/1.1 {status}")),
            "{path}: {whole}"
        );
        assert!(whole.contains(fragment), "{path}: {whole}");
        assert!(!whole.contains("100 Continue"), "{path}: {whole}");
    }
}

#[tokio::test]
async fn an_acceptable_chunk_gets_100_continue_then_is_stored() {
    // Arrange
    let app = TestApp::spawn().await;
    let data = b"0123456789".to_vec();
    let file = create(&app, "ok.bin", Some(&sha256(&data)), 1).await;
    let path = format!("/api/files/{}/uploads/{}", file.id, file.uploads[0]);

    // Act
    let (mut s, interim) = head_only(
        &app,
        &path,
        &chunk_headers(USER_TOKEN, "application/octet-stream", data.len()),
    )
    .await;
    s.write_all(&data).await.unwrap();
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(20), s.read(&mut buf))
        .await
        .unwrap()
        .unwrap();
    let answer = String::from_utf8_lossy(&buf[..n]).into_owned();

    // Assert
    assert!(interim.starts_with("HTTP/1.1 100 Continue"), "{interim}");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    wait_for_status(&app, file.id, "completed").await;
}
