//! Storing chunks and the assembly check (spec §5.2, §6): hash failures and their retry paths,
//! the checks of a chunk request, deletion while a chunk streams.

use super::*;
use crate::helpers::TestApp;

#[tokio::test]
async fn a_wrong_checksum_fails_the_file_and_setting_the_right_one_completes_it() {
    // Arrange
    let app = TestApp::spawn().await;
    let content = random_bytes(50_000);
    let parts = chunks_of(&content, 20_000);
    let file = create(
        &app,
        "wrong.bin",
        Some(&sha256(b"something else")),
        parts.len(),
    )
    .await;
    for (i, part) in parts.into_iter().enumerate() {
        assert_eq!(
            put_chunk(&app, file.id, file.uploads[i], part)
                .await
                .status(),
            200
        );
    }

    // Act
    let failed = wait_for_status(&app, file.id, "failed:checksum").await;
    let response = request(&app, Method::PATCH, &format!("/api/files/{}", file.id))
        .json(&json!({"checksum": sha256(&content).to_uppercase()}))
        .send()
        .await
        .unwrap();

    // Assert: the uploads stayed completed; the new checksum re-runs the check (§6).
    let uploads = failed["uploads"].as_array().unwrap();
    assert_eq!(uploads.len(), 3);
    assert!(uploads.iter().all(|u| u["status_name"] == "completed"));
    let (status, body) = json_of(response).await;
    assert_eq!(status, 200);
    assert_eq!(body["data"]["checksum"], sha256(&content).to_uppercase());
    assert_eq!(body["data"].get("uploads"), None);
    wait_for_status(&app, file.id, "completed").await;
    assert!(download(&app, file.id).await == content);
}

#[tokio::test]
async fn a_wrong_chunk_fails_the_file_and_resending_it_completes_it() {
    // Arrange
    let app = TestApp::spawn().await;
    let content = random_bytes(30_000);
    let parts = chunks_of(&content, 10_000);
    let file = create(&app, "fix.bin", Some(&sha256(&content)), 3).await;
    put_chunk(&app, file.id, file.uploads[0], parts[0].clone()).await;
    put_chunk(&app, file.id, file.uploads[1], vec![0; 10_000]).await;
    put_chunk(&app, file.id, file.uploads[2], parts[2].clone()).await;
    wait_for_status(&app, file.id, "failed:checksum").await;

    // Act
    let response = put_chunk(&app, file.id, file.uploads[1], parts[1].clone()).await;

    // Assert
    assert_eq!(response.status(), 200);
    wait_for_status(&app, file.id, "completed").await;
    assert!(download(&app, file.id).await == content);
}

#[tokio::test]
async fn without_a_checksum_the_file_waits_until_the_client_sends_one() {
    // Arrange: the newer client sends the checksum after the chunks (§10).
    let app = TestApp::spawn().await;
    let content = b"checksum comes later".to_vec();
    let file = create(&app, "later.txt", None, 1).await;
    put_chunk(&app, file.id, file.uploads[0], content.clone()).await;

    // Act
    let before = get_file(&app, file.id).await;
    let response = request(
        &app,
        Method::PUT,
        &format!("/api/files/{}?include=uploads", file.id),
    )
    .json(&json!({"checksum": sha256(&content)}))
    .send()
    .await
    .unwrap();

    // Assert
    assert_eq!(before["status_name"], "in_progress");
    assert_eq!(before["checksum"], Value::Null);
    let (status, body) = json_of(response).await;
    assert_eq!(status, 200);
    assert_eq!(body["data"]["uploads"][0]["status_name"], "completed");
    wait_for_status(&app, file.id, "completed").await;
    assert!(download(&app, file.id).await == content);
}

#[tokio::test]
async fn a_stored_chunk_answers_its_upload_as_completed() {
    // Arrange
    let app = TestApp::spawn().await;
    let file = create(&app, "one.txt", None, 2).await;

    // Act
    let response = put_chunk(&app, file.id, file.uploads[1], b"second".to_vec()).await;

    // Assert
    let (status, body) = json_of(response).await;
    assert_eq!(status, 200);
    let upload = &body["data"];
    assert_eq!(upload["id"], file.uploads[1]);
    assert_eq!(upload["number"], 2);
    assert_eq!(upload["status_name"], "completed");
    let keys: Vec<&str> = upload
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys.len(), 5);
    let shown = get_file(&app, file.id).await;
    assert_eq!(shown["uploads"][0]["status_name"], "in_progress");
    assert_eq!(shown["uploads"][1]["status_name"], "completed");
}

#[tokio::test]
async fn after_assembly_the_uploads_are_gone_and_the_file_cannot_be_updated() {
    // Arrange
    let app = TestApp::spawn().await;
    let file = create(&app, "done.txt", Some(&sha256(b"done")), 1).await;
    put_chunk(&app, file.id, file.uploads[0], b"done".to_vec()).await;
    wait_for_status(&app, file.id, "completed").await;

    // Act
    let chunk = put_chunk(&app, file.id, file.uploads[0], b"again".to_vec()).await;
    let upload = request(
        &app,
        Method::GET,
        &format!("/api/files/{}/uploads/{}", file.id, file.uploads[0]),
    )
    .send()
    .await
    .unwrap();
    let update = request(&app, Method::PATCH, &format!("/api/files/{}", file.id))
        .json(&json!({"name": 5}))
        .send()
        .await
        .unwrap();

    // Assert
    let gone = format!(
        r#"{{"message":"No query results for model [App\\Models\\Upload] {}"}}"#,
        file.uploads[0]
    );
    assert_eq!(answer(chunk).await, (404, gone.clone()));
    assert_eq!(answer(upload).await, (404, gone));
    assert_eq!(
        answer(update).await,
        (
            400,
            r#"{"message":"Cannot update completed file"}"#.to_owned()
        )
    );
}

#[tokio::test]
async fn a_chunk_request_is_checked_file_then_upload_then_content_type_then_size() {
    // Arrange
    let app = TestApp::spawn_with(|s| s.dialects.filesnest.upload_max_size = 10).await;
    let file = create(&app, "a.bin", None, 1).await;
    let other = create(&app, "b.bin", None, 1).await;
    let before = app.engine.inventory().await.unwrap();
    let send = |path: String, ctype: Option<&'static str>, body: Vec<u8>| {
        let mut req = request(&app, Method::PATCH, &path).body(body);
        if let Some(c) = ctype {
            req = req.header("Content-Type", c);
        }
        async move { answer(req.send().await.unwrap()).await }
    };
    let octet = Some("application/octet-stream");
    let big = vec![1u8; 11];

    // Act
    let cases = [
        (
            send("/api/files/999/uploads/1".into(), None, big.clone()).await,
            (
                404,
                r#"{"message":"No query results for model [App\\Models\\File] 999"}"#.to_owned(),
            ),
        ),
        (
            send(
                format!("/api/files/{}/uploads/{}", file.id, other.uploads[0]),
                None,
                big.clone(),
            )
            .await,
            (
                404,
                format!(
                    r#"{{"message":"No query results for model [App\\Models\\Upload] {}"}}"#,
                    other.uploads[0]
                ),
            ),
        ),
        (
            send(
                format!("/api/files/{}/uploads/{}", file.id, file.uploads[0]),
                Some("application/octet-stream; charset=binary"),
                big.clone(),
            )
            .await,
            (400, r#"{"message":"Invalid content type"}"#.to_owned()),
        ),
        (
            send(
                format!("/api/files/{}/uploads/{}", file.id, file.uploads[0]),
                Some("Application/Octet-Stream"),
                vec![],
            )
            .await,
            (400, r#"{"message":"Invalid content type"}"#.to_owned()),
        ),
        (
            send(
                format!("/api/files/{}/uploads/{}", file.id, file.uploads[0]),
                None,
                vec![],
            )
            .await,
            (400, r#"{"message":"Invalid content type"}"#.to_owned()),
        ),
        (
            send(
                format!("/api/files/{}/uploads/{}", file.id, file.uploads[0]),
                octet,
                big.clone(),
            )
            .await,
            (
                413,
                r#"{"message":"The POST data is too large."}"#.to_owned(),
            ),
        ),
    ];

    // Assert
    for (got, want) in cases {
        assert_eq!(got, want);
    }
    assert_eq!(app.engine.inventory().await.unwrap(), before);
}

#[tokio::test]
async fn a_streamed_chunk_over_the_limit_is_413_and_keeps_the_earlier_bytes() {
    // Arrange: no Content-Length, so the limit is found while streaming.
    let app = TestApp::spawn_with(|s| s.dialects.filesnest.upload_max_size = 100_000).await;
    let content = random_bytes(1_000);
    let file = create(&app, "s.bin", Some(&sha256(&content)), 2).await;
    put_chunk(&app, file.id, file.uploads[0], b"earlier".to_vec()).await;
    let before = app.engine.inventory().await.unwrap();
    let pieces: Vec<Result<Vec<u8>, std::io::Error>> =
        (0..30).map(|_| Ok(vec![7u8; 5_000])).collect();

    // Act
    let response = request(
        &app,
        Method::PUT,
        &format!("/api/files/{}/uploads/{}", file.id, file.uploads[0]),
    )
    .header("Content-Type", "application/octet-stream")
    .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
        pieces,
    )))
    .send()
    .await;

    // Assert: the answer may be cut short by the server closing the connection after 413.
    if let Ok(response) = response {
        assert_eq!(
            answer(response).await,
            (
                413,
                r#"{"message":"The POST data is too large."}"#.to_owned()
            )
        );
    }
    let after = app.engine.inventory().await.unwrap();
    assert_eq!(after.uploads, before.uploads);
    assert_eq!(after.records, before.records);
    put_chunk(&app, file.id, file.uploads[0], content[..500].to_vec()).await;
    put_chunk(&app, file.id, file.uploads[1], content[500..].to_vec()).await;
    wait_for_status(&app, file.id, "completed").await;
    assert!(download(&app, file.id).await == content);
}

#[tokio::test]
async fn a_chunk_still_streaming_when_its_file_is_deleted_ends_with_404_file() {
    // Arrange: a chunk body that sends a little and then waits.
    let app = TestApp::spawn().await;
    let file = create(&app, "doomed.bin", None, 1).await;
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(1);
    tx.send(Ok(vec![1u8; 1_500_000])).await.unwrap();
    let body = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    let chunk = request(
        &app,
        Method::PATCH,
        &format!("/api/files/{}/uploads/{}", file.id, file.uploads[0]),
    )
    .header("Content-Type", "application/octet-stream")
    .header("Content-Length", "4000000")
    .body(reqwest::Body::wrap_stream(body))
    .send();
    let chunk = tokio::spawn(chunk);
    // Bounded wait until the first bytes reach the upload's spool file, so the delete meets the
    // chunk mid-stream (any other interleaving answers 404 File as well).
    let upload = app.engine.inventory().await.unwrap().uploads[0].id;
    let spool = app.data_dir.path().join(format!("spool/{upload}/data"));
    for _ in 0..500 {
        if std::fs::metadata(&spool).is_ok_and(|m| m.len() > 0) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    // Act
    let deleted = request(&app, Method::DELETE, &format!("/api/files/{}", file.id))
        .send()
        .await
        .unwrap();
    drop(tx);

    // Assert
    let (status, body) = json_of(deleted).await;
    assert_eq!(status, 200);
    assert_eq!(body["data"]["name"], "doomed.bin");
    match chunk.await.unwrap() {
        Ok(response) => assert_eq!(
            answer(response).await,
            (
                404,
                format!(
                    r#"{{"message":"No query results for model [App\\Models\\File] {}"}}"#,
                    file.id
                )
            )
        ),
        // The server may close the connection before the client finishes sending.
        Err(e) => assert!(e.is_request() || e.is_body(), "{e}"),
    }
    let inv = app.engine.inventory().await.unwrap();
    assert!(inv.uploads.is_empty() && inv.records.is_empty(), "{inv:?}");
}

#[tokio::test]
async fn a_storage_failure_while_saving_a_chunk_is_500_and_changes_nothing() {
    // Arrange: the upload's data file is replaced by a directory, so writing the chunk fails.
    let app = TestApp::spawn().await;
    let content = b"saved at last".to_vec();
    let file = create(&app, "disk.txt", Some(&sha256(&content)), 1).await;
    let upload = app.engine.inventory().await.unwrap().uploads[0].id;
    let data = app.data_dir.path().join(format!("spool/{upload}/data"));
    std::fs::remove_file(&data).unwrap();
    std::fs::create_dir(&data).unwrap();
    let before = app.engine.inventory().await.unwrap();

    // Act
    let failed = put_chunk(&app, file.id, file.uploads[0], content.clone()).await;
    let after = app.engine.inventory().await.unwrap();
    std::fs::remove_dir(&data).unwrap();
    std::fs::write(&data, b"").unwrap();
    let retried = put_chunk(&app, file.id, file.uploads[0], content.clone()).await;

    // Assert
    assert_eq!(
        answer(failed).await,
        (500, r#"{"message":"Failed to save file chunk"}"#.to_owned())
    );
    assert_eq!(after, before);
    assert_eq!(retried.status(), 200);
    wait_for_status(&app, file.id, "completed").await;
    assert!(download(&app, file.id).await == content);
}

#[tokio::test]
async fn a_storage_failure_while_assembling_gives_failed_chunks_merge_and_keeps_the_chunks() {
    // Arrange: a plain file where the content store needs the blob's shard directory.
    let app = TestApp::spawn().await;
    let content = random_bytes(5_000);
    let digest = sha256(&content);
    let shard = app.data_dir.path().join("blobs/sha256").join(&digest[..2]);
    std::fs::create_dir_all(shard.parent().unwrap()).unwrap();
    std::fs::write(&shard, b"in the way").unwrap();
    let file = create(&app, "merge.bin", Some(&digest), 2).await;
    put_chunk(&app, file.id, file.uploads[1], content[2_000..].to_vec()).await;
    put_chunk(&app, file.id, file.uploads[0], content[..2_000].to_vec()).await;

    // Act
    let failed = wait_for_status(&app, file.id, "failed:chunks-merge").await;
    std::fs::remove_file(&shard).unwrap();
    let retry = request(&app, Method::PATCH, &format!("/api/files/{}", file.id))
        .json(&json!({"checksum": digest}))
        .send()
        .await
        .unwrap();

    // Assert: the chunks survived the failure, so setting the checksum again completes it.
    assert!(failed["uploads"]
        .as_array()
        .unwrap()
        .iter()
        .all(|u| u["status_name"] == "completed"));
    assert_eq!(retry.status(), 200);
    wait_for_status(&app, file.id, "completed").await;
    assert!(download(&app, file.id).await == content);
}
