//! Group 7b, slow clients: a body trickling at 1 byte/s is cut off once `body_timeout` passes
//! without 1 KiB arriving (src/startup/body_timeout.rs); the request's temp state is removed
//! and nothing is counted, while other uploads, in every dialect, proceed meanwhile.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::clients::{self, content, multipart, Target, DIALECTS};
use crate::helpers::{TestApp, USER_TOKEN};
use crate::store::spool_files;

/// Sends `head` and then `body` one byte a second until the server answers or closes
/// (bounded); returns the answer's status line and how many body bytes went out.
async fn trickle(port: u16, head: String, body: Vec<u8>) -> (String, usize) {
    let s = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let (mut r, mut w) = s.into_split();
    w.write_all(head.as_bytes()).await.unwrap();
    let sent = Arc::new(AtomicUsize::new(0));
    let count = sent.clone();
    let writer = tokio::spawn(async move {
        for b in body {
            if w.write_all(&[b]).await.is_err() {
                break;
            }
            count.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(60), r.read_to_end(&mut out)).await;
    writer.abort();
    let sent = sent.load(Ordering::Relaxed);
    let line = String::from_utf8_lossy(&out)
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned();
    (line, sent)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_body_at_one_byte_a_second_is_cut_off_and_freed_while_other_uploads_proceed() {
    // Arrange: a short body timeout, a dyson task and a filesnest file waiting for chunks.
    let app = TestApp::spawn_with(|s| s.body_timeout = Duration::from_secs(2)).await;
    let create = json!({"hash": "x", "file_name": "slow.bin", "file_size": 10_000,
        "content_type": "application/octet-stream", "chunk_size": 10_000});
    let task: Value = app
        .client
        .post(app.url("/drive/files/upload/create"))
        .header("Authorization", format!("AtField {USER_TOKEN}"))
        .json(&create)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let task = task["task_id"].as_str().unwrap().to_owned();
    let file: Value = app
        .client
        .post(app.url("/api/files?include=uploads"))
        .bearer_auth(USER_TOKEN)
        .json(
            &json!({"name": "slow.bin", "create_datetime": "2024-01-15 10:30:00",
            "chunks_count": 1}),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let (file_id, upload_id) = (
        file["data"]["id"].as_u64().unwrap(),
        file["data"]["uploads"][0]["id"].as_u64().unwrap(),
    );
    let before = app.engine.inventory().await.unwrap();
    let spool = spool_files(app.data_dir.path());

    // Act: two slow clients, and meanwhile a whole upload in every dialect.
    let data = content(9, 10_000);
    let (ctype, form) = multipart(&[("chunk", Some("b"), &data)]);
    let dyson_head = format!(
        "POST /drive/files/upload/chunk/{task}/0 HTTP/1.1\r\nHost: x\r\nAuthorization: AtField {USER_TOKEN}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\n\r\n",
        form.len()
    );
    let nest_head = format!(
        "PATCH /api/files/{file_id}/uploads/{upload_id} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {USER_TOKEN}\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\n\r\n",
        data.len()
    );
    let slow_dyson = tokio::spawn(trickle(app.port, dyson_head, form));
    let slow_nest = tokio::spawn(trickle(app.port, nest_head, data.clone()));
    let target = Target::new(&app.address, true);
    for (n, dialect) in DIALECTS.iter().enumerate() {
        let data = content(200 + n as u64, 500_000);
        if let Err(e) = clients::upload(&target, dialect, &data, 128 << 10).await {
            panic!("{dialect} beside the slow clients: {e}");
        }
    }
    let (dyson_answer, dyson_sent) = slow_dyson.await.unwrap();
    let (nest_answer, nest_sent) = slow_nest.await.unwrap();

    // Assert: both cut off with an answer long before their bodies ended; nothing of them
    // is held and no spool file is left.
    println!("slow dyson: {dyson_answer:?} after {dyson_sent} bytes; slow filesnest: {nest_answer:?} after {nest_sent} bytes");
    assert!(dyson_answer.starts_with("HTTP/1.1 "), "{dyson_answer:?}");
    assert!(nest_answer.starts_with("HTTP/1.1 "), "{nest_answer:?}");
    assert!(
        dyson_sent < 30 && nest_sent < 30,
        "{dyson_sent} / {nest_sent}"
    );
    assert_eq!(spool_files(app.data_dir.path()), spool);
    let after = app.engine.inventory().await.unwrap();
    for u in &before.uploads {
        let now = after.uploads.iter().find(|a| a.id == u.id).unwrap();
        assert_eq!((&now.chunks, now.received), (&u.chunks, u.received));
    }
}
