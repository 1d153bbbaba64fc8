//! Group 2, disconnects: a client that sends a request head and part of its body, then closes
//! the connection. Index dialects (filesnest, dyson, spika) and dStor's multipart files count
//! nothing of the cut request; audioBoom's byte-offset chunk keeps the bytes that arrived
//! (specs/audioboom.md §5.2); no spool file is left behind once the server noticed.

use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::clients::{content, multipart};
use crate::helpers::{TestApp, USER_TOKEN};
use crate::store::spool_files;

/// What the engine holds, without timestamps: per upload its chunks, bytes and parts, and the
/// number of files.
async fn held(app: &TestApp) -> (Vec<(String, Vec<u64>, u64, u32)>, usize) {
    let inv = app.engine.inventory().await.unwrap();
    let uploads = inv
        .uploads
        .iter()
        .map(|u| (u.id.to_string(), u.chunks.clone(), u.received, u.parts_done))
        .collect();
    (uploads, inv.files.len())
}

/// Sends `head` (without Content-Length) announcing `body.len()` bytes, then the first `sent`
/// of them, then ends the connection's sending side (a FIN, which is all the server sees of a
/// client that went away) and waits, bounded, until the server answers or closes: from then on
/// it has handled the cut-off request. Returns the answer's status line, if any.
async fn cut(app: &TestApp, head: &str, body: &[u8], sent: usize) -> String {
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", app.port))
        .await
        .unwrap();
    let head = format!(
        "{head}\r\nHost: 127.0.0.1\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).await.unwrap();
    s.write_all(&body[..sent]).await.unwrap();
    s.shutdown().await.unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(30), s.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out)
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// Waits (bounded) until the spool holds exactly `want` again: the server noticed the cut.
async fn spool_settles(app: &TestApp, want: &std::collections::BTreeSet<String>) {
    for _ in 0..200 {
        if &spool_files(app.data_dir.path()) == want {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "spool files left behind: {:?}, expected {want:?}",
        spool_files(app.data_dir.path())
    );
}

#[tokio::test]
async fn a_filesnest_chunk_cut_off_in_order_or_out_of_order_counts_nothing_and_leaks_nothing() {
    // Arrange: a file of 3 chunks.
    let app = TestApp::spawn().await;
    let data = content(1, 300_000);
    let body = json!({"name": "cut.bin", "create_datetime": "2024-01-15 10:30:00",
        "chunks_count": 3, "checksum": crate::clients::sha256_hex(&data)});
    let created: Value = app
        .client
        .post(app.url("/api/files?include=uploads"))
        .bearer_auth(USER_TOKEN)
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["data"]["id"].as_u64().unwrap();
    let mut uploads: Vec<(u64, u64)> = created["data"]["uploads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| (u["number"].as_u64().unwrap(), u["id"].as_u64().unwrap()))
        .collect();
    uploads.sort();
    let before = held(&app).await;
    let spool = spool_files(app.data_dir.path());

    for n in [0usize, 2] {
        // Act: chunk n (0 continues the prefix, 2 would be parked) cut after 40 %.
        let head = format!(
            "PATCH /api/files/{id}/uploads/{} HTTP/1.1\r\nAuthorization: Bearer {USER_TOKEN}\r\nContent-Type: application/octet-stream",
            uploads[n].1
        );
        cut(&app, &head, &data[n * 100_000..(n + 1) * 100_000], 40_000).await;

        // Assert
        spool_settles(&app, &spool).await;
        assert_eq!(held(&app).await, before, "after cutting chunk {n}");
    }
    let file: Value = app
        .client
        .get(app.url(&format!("/api/files/{id}?include=uploads")))
        .bearer_auth(USER_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(file["data"]["uploads"]
        .as_array()
        .unwrap()
        .iter()
        .all(|u| u["status_name"] == "in_progress"));
}

#[tokio::test]
async fn a_dyson_chunk_cut_off_counts_nothing_and_the_task_still_completes() {
    // Arrange
    let app = TestApp::spawn().await;
    let data = content(2, 200_000);
    let md5 = hex::encode(<md5::Md5 as sha2::Digest>::digest(&data));
    let create = json!({"hash": md5, "file_name": "a.bin", "file_size": data.len(),
        "content_type": "application/octet-stream", "chunk_size": 100_000});
    let post = |path: String| {
        app.client
            .post(app.url(&format!("/drive/files/upload{path}")))
            .header("Authorization", format!("AtField {USER_TOKEN}"))
    };
    let task: Value = post("/create".into())
        .json(&create)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let task_id = task["task_id"].as_str().unwrap().to_owned();
    let before = held(&app).await;
    let spool = spool_files(app.data_dir.path());

    // Act: chunk 1 cut in the middle of its data.
    let (ctype, form) = multipart(&[("chunk", Some("blob"), &data[100_000..])]);
    let head = format!(
        "POST /drive/files/upload/chunk/{task_id}/1 HTTP/1.1\r\nAuthorization: AtField {USER_TOKEN}\r\nContent-Type: {ctype}"
    );
    cut(&app, &head, &form, 60_000).await;

    // Assert: nothing counted, nothing left; the chunks sent properly complete the file.
    spool_settles(&app, &spool).await;
    assert_eq!(held(&app).await, before);
    for (i, piece) in data.chunks(100_000).enumerate() {
        let (ctype, form) = multipart(&[("chunk", Some("blob"), piece)]);
        let r = post(format!("/chunk/{task_id}/{i}"))
            .header("Content-Type", ctype)
            .body(form)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    let done = post(format!("/complete/{task_id}")).send().await.unwrap();
    assert_eq!(done.status(), 200, "{}", done.text().await.unwrap());
}

#[tokio::test]
async fn a_spika_chunk_cut_off_stores_nothing() {
    // Arrange: one chunk stored.
    let app = TestApp::spawn().await;
    let first = json!({"chunk": "aGVsbG8=", "offset": 0, "clientId": "cut-1"});
    let r = app
        .client
        .post(app.url("/api/upload/files"))
        .header("accesstoken", USER_TOKEN)
        .json(&first)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let before = held(&app).await;
    let spool = spool_files(app.data_dir.path());

    // Act: chunk 1's JSON cut in the middle of its base64.
    let body = format!(
        r#"{{"chunk":"{}","offset":1,"clientId":"cut-1"}}"#,
        "QUJD".repeat(20_000)
    );
    let head = format!(
        "POST /api/upload/files HTTP/1.1\r\naccesstoken: {USER_TOKEN}\r\nContent-Type: application/json"
    );
    cut(&app, &head, body.as_bytes(), 30_000).await;

    // Assert
    spool_settles(&app, &spool).await;
    assert_eq!(held(&app).await, before);
    let check: Value = app
        .client
        .get(app.url("/api/upload/files/check/cut-1"))
        .header("accesstoken", USER_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(check["data"]["uploadedChunks"], json!([0]));
}

#[tokio::test]
async fn a_dstor_request_cut_off_in_its_second_file_counts_no_file_and_no_request() {
    // Arrange: an upload of two requests.
    let app = TestApp::spawn().await;
    let token: Value = app
        .client
        .post(app.url("/v1/upload/get-token/"))
        .bearer_auth(USER_TOKEN)
        .json(&json!({"chunks_number": 2, "folder_path": "cut"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = token["token"].as_str().unwrap().to_owned();
    let before = held(&app).await;
    let spool = spool_files(app.data_dir.path());

    // Act: a request of two files, cut inside the second.
    let a = content(3, 50_000);
    let b = content(4, 80_000);
    let (ctype, form) = multipart(&[("file", Some("a.bin"), &a), ("file", Some("b.bin"), &b)]);
    let head = format!(
        "POST /v1/upload/ HTTP/1.1\r\nAuthorization: Bearer {USER_TOKEN}\r\nx-dstor-upload-token: {token}\r\nContent-Type: {ctype}"
    );
    cut(&app, &head, &form, 90_000).await;

    // Assert
    spool_settles(&app, &spool).await;
    assert_eq!(held(&app).await, before);
    let status: Value = app
        .client
        .get(app.url("/v1/upload/get-status/"))
        .bearer_auth(USER_TOKEN)
        .header("x-dstor-upload-token", &token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(status, json!({"status": "UPLOADING"}));
}

#[tokio::test]
async fn an_audioboom_chunk_cut_off_keeps_exactly_the_bytes_that_arrived() {
    // Arrange: an attachment of 200 000 bytes holding its first 50 000.
    let app = TestApp::spawn().await;
    let data = content(5, 200_000);
    let (ctype, form) = multipart(&[
        ("attachment[size]", None, b"200000"),
        ("attachment[chunk_offset]", None, b"0"),
        ("attachment[chunk]", Some("a.mp3"), &data[..50_000]),
    ]);
    let created: Value = app
        .client
        .post(app.url("/attachments"))
        .bearer_auth(USER_TOKEN)
        .header("Content-Type", &ctype)
        .body(form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["body"]["attachment"]["id"].as_u64().unwrap();
    let spool = spool_files(app.data_dir.path());

    // Act: the next 100 000 bytes, the offset part first (so they stream), cut after the
    // request's first 70 000 body bytes.
    let (ctype, form) = multipart(&[
        ("attachment[chunk_offset]", None, b"50000"),
        ("attachment[chunk]", Some("a.mp3"), &data[50_000..150_000]),
    ]);
    // Where the chunk's data starts: after the second part's head.
    let first_head = form.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    let data_start = first_head
        + form[first_head..]
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .unwrap()
        + 4;
    let head = format!(
        "PUT /attachments/{id} HTTP/1.1\r\nAuthorization: Bearer {USER_TOKEN}\r\nContent-Type: {ctype}"
    );
    let answer = cut(&app, &head, &form, 70_000).await;
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");

    // Assert: exactly the chunk's bytes that arrived count, and they are the right bytes: the
    // rest completes the attachment, whose clip downloads as sent.
    spool_settles(&app, &spool).await;
    let arrived = 70_000 - data_start;
    let shown: Value = app
        .client
        .get(app.url(&format!("/attachments/{id}")))
        .bearer_auth(USER_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let received = shown["body"]["attachment"]["received"].as_u64().unwrap() as usize;
    assert_eq!(
        received,
        50_000 + arrived,
        "{arrived} chunk bytes arrived after 50000"
    );
    let (ctype, form) = multipart(&[
        (
            "attachment[chunk_offset]",
            None,
            received.to_string().as_bytes(),
        ),
        ("attachment[chunk]", Some("a.mp3"), &data[received..]),
    ]);
    let rest: Value = app
        .client
        .put(app.url(&format!("/attachments/{id}")))
        .bearer_auth(USER_TOKEN)
        .header("Content-Type", ctype)
        .body(form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(rest["body"]["attachment"]["complete"], true, "{rest}");
    let form = format!(
        "audio_clip%5Btitle%5D=t&audio_clip%5Buploaded_data%5D%5Bchunked_attachment_id%5D={id}"
    );
    let clip: Value = app
        .client
        .post(app.url("/audio_clips"))
        .bearer_auth(USER_TOKEN)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let clip = clip["body"]["audio_clip"]["id"].as_u64().unwrap();
    let got = app
        .client
        .get(app.url(&format!("/audio_clips/{clip}.mp3")))
        .bearer_auth(USER_TOKEN)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert!(
        got == data,
        "the attachment's bytes differ from what was sent"
    );
}
