//! Task expiry (`dyson.task_ttl`) and file expiry (`expired_at`), spec §9.

use super::*;
use crate::helpers::TestApp;
use std::time::{Duration, SystemTime};

#[tokio::test]
async fn a_task_lives_task_ttl_after_its_last_request_and_then_answers_404() {
    // Arrange
    let ttl = Duration::from_secs(2 * 3600);
    let app = TestApp::spawn_with(|s| s.dialects.dyson.task_ttl = ttl).await;
    let dyson = Client::new(&app);
    let (task, _) = dyson.task(&create_body(b"abcdef", "f", 3)).await;
    dyson.chunk(&task, 0, b"abc").await.assert_empty(200);

    // Act
    let upload = app.engine.inventory().await.unwrap().uploads.remove(0);
    app.engine
        .sweep(SystemTime::now() + ttl + Duration::from_secs(60))
        .await
        .unwrap();

    // Assert
    assert_eq!(
        upload.expires_at.duration_since(upload.updated_at).unwrap(),
        ttl
    );
    let not_found = r#"{"code":"NOT_FOUND","message":"The requested resource 'Upload task' was not found.","status":404,"detail":"Upload task"}"#;
    dyson
        .chunk(&task, 1, b"def")
        .await
        .assert_json(404, not_found);
    dyson.complete(&task).await.assert_json(404, not_found);
}

#[tokio::test]
async fn a_file_past_its_expired_at_is_swept_and_then_unknown_and_never_deduplicated() {
    // Arrange
    let app = TestApp::spawn().await;
    let dyson = Client::new(&app);
    let data = random(100);
    let mut body = create_body(&data, "f", 1000);
    body["expired_at"] = json!("2100-01-02T03:04:05.1200Z");
    let (task, _) = dyson.task(&body).await;
    dyson.chunk(&task, 0, &data).await.assert_empty(200);
    let file = dyson.complete(&task).await.json();
    let id = file["id"].as_str().unwrap();

    // Act
    app.engine
        .sweep(SystemTime::UNIX_EPOCH + Duration::from_secs(4_102_600_000))
        .await
        .unwrap();

    // Assert
    assert_eq!(file["expired_at"], "2100-01-02T03:04:05.12Z");
    dyson.download(id).await.assert_json(
        404,
        r#"{"code":"NOT_FOUND","message":"The requested resource 'File' was not found.","status":404,"detail":"File"}"#,
    );
    assert_eq!(dyson.create(&body).await.json()["file_exists"], false);
}

#[tokio::test]
async fn records_of_swept_tasks_and_files_are_removed_by_the_dialect_too() {
    // Arrange: a swept task and a swept file, and a fast sweep clock
    let app = TestApp::spawn_with(|s| s.sweep_interval = Duration::from_millis(20)).await;
    let dyson = Client::new(&app);
    let data = random(10);
    let mut body = create_body(&data, "f", 1000);
    body["expired_at"] = json!("2100-01-01T00:00:00Z");
    let (done, _) = dyson.task(&body).await;
    dyson.chunk(&done, 0, &data).await.assert_empty(200);
    assert_eq!(dyson.complete(&done).await.status, 200);
    let (abandoned, _) = dyson.task(&create_body(b"zz", "g", 10)).await;
    let stale = |inv: &chunkgate::engine::Inventory| {
        inv.records
            .iter()
            .filter(|(ns, key, _)| {
                ns == "dyson" && (key.starts_with("file:") || key.contains(&abandoned))
            })
            .count()
    };
    assert_eq!(stale(&app.engine.inventory().await.unwrap()), 2);
    app.engine
        .sweep(SystemTime::UNIX_EPOCH + Duration::from_secs(4_200_000_000))
        .await
        .unwrap();

    // Act: creates give the dialect its chance to sweep (asynchronously: poll, bounded)
    let mut left = usize::MAX;
    for _ in 0..100 {
        dyson.task(&create_body(&random(5), "h", 10)).await;
        left = stale(&app.engine.inventory().await.unwrap());
        if left == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(30)).await;
    }

    // Assert
    assert_eq!(left, 0);
}
