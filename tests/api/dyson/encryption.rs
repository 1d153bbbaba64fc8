//! Encryption at rest for `encrypt_password` (spec §9): sealed bytes on disk, plaintext hash and
//! size, download with `?passcode=`.

use super::*;
use crate::helpers::TestApp;

const FORBIDDEN: &str =
    r#"{"code":"FORBIDDEN","message":"The passcode is incorrect.","status":403}"#;

/// Uploads `data` with a password; returns the CloudFile.
async fn upload_encrypted(dyson: &Client<'_>, data: &[u8], password: &str) -> Value {
    let mut body = create_body(data, "secret.txt", 100_000);
    body["encrypt_password"] = json!(password);
    body["content_type"] = json!("text/plain");
    let (task, _) = dyson.task(&body).await;
    for (i, piece) in data.chunks(100_000).enumerate() {
        dyson.chunk(&task, i, piece).await.assert_empty(200);
    }
    let done = dyson.complete(&task).await;
    assert_eq!(done.status, 200, "{}", done.text());
    done.json()
}

/// Every regular file under `dir`.
fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}

async fn get(app: &TestApp, path: &str, range: Option<&str>) -> Answer {
    let mut req = app.client.get(app.url(path)).header(
        "Authorization",
        format!("Bearer {}", crate::helpers::USER_TOKEN),
    );
    if let Some(r) = range {
        req = req.header("Range", r);
    }
    Answer::of(req.send().await.unwrap()).await
}

#[tokio::test]
async fn an_encrypted_file_is_sealed_on_disk_and_opens_only_with_its_passcode() {
    // Arrange
    let app = TestApp::spawn().await;
    let dyson = Client::new(&app);
    let data = b"top secret, do not store in the clear. ".repeat(5000);

    // Act
    let file = upload_encrypted(&dyson, &data, "correct horse").await;
    let id = file["id"].as_str().unwrap();

    // Assert: the CloudFile describes the plaintext
    assert_eq!(file["is_encrypted"], true);
    assert_eq!(file["hash"], md5_hex(&data));
    assert_eq!(file["size"], data.len());

    // Assert: the stored blob is not the plaintext, and no file anywhere holds it
    let engine_id = app
        .engine
        .resolve_alias("dyson", id)
        .await
        .unwrap()
        .unwrap();
    let info = app.engine.file(&engine_id).await.unwrap().unwrap();
    let blob = std::fs::read(app.engine.content_path(&info)).unwrap();
    assert_ne!(blob, data);
    assert!(!blob.windows(39).any(|w| w == &data[..39]));
    for path in files_under(app.data_dir.path()) {
        let bytes = std::fs::read(&path).unwrap();
        assert!(
            !bytes.windows(39).any(|w| w == &data[..39]),
            "plaintext found in {}",
            path.display()
        );
    }
    assert_eq!(app.engine.inventory().await.unwrap().files.len(), 1);

    // Assert: downloads
    let base = format!("/drive/files/{id}");
    get(&app, &base, None).await.assert_json(403, FORBIDDEN);
    get(&app, &format!("{base}?passcode=wrong"), None)
        .await
        .assert_json(403, FORBIDDEN);
    let whole = get(&app, &format!("{base}?passcode=correct%20horse"), None).await;
    assert_eq!(whole.status, 200);
    assert!(whole.body == data);
    assert_eq!(whole.header("content-type"), Some("text/plain"));
    assert_eq!(whole.header("accept-ranges"), Some("bytes"));
    let part = get(
        &app,
        &format!("/api/files/{id}?passcode=correct%20horse"),
        Some("bytes=65530-131080"),
    )
    .await;
    assert_eq!(part.status, 206);
    assert_eq!(
        part.header("content-range"),
        Some(format!("bytes 65530-131080/{}", data.len()).as_str())
    );
    assert!(part.body == data[65530..=131080]);
    let beyond = get(
        &app,
        &format!("{base}?passcode=correct%20horse"),
        Some("bytes=999999-"),
    )
    .await;
    assert_eq!(beyond.status, 416);
    assert_eq!(
        beyond.header("content-range"),
        Some(format!("bytes */{}", data.len()).as_str())
    );
}

#[tokio::test]
async fn encrypted_files_never_deduplicate_in_either_direction() {
    // Arrange
    let app = TestApp::spawn().await;
    let dyson = Client::new(&app);
    let data = random(500);
    upload_encrypted(&dyson, &data, "pw").await;

    // Act: a plain create with the same hash, then an encrypted one once a plain file exists
    let plain = dyson.upload(&data, 1000).await;
    let mut body = create_body(&data, "again", 1000);
    body["encrypt_password"] = json!("pw");
    let encrypted = dyson.create(&body).await;

    // Assert
    assert_eq!(plain["is_encrypted"], false);
    assert_eq!(encrypted.json()["file_exists"], false);
}

#[tokio::test]
async fn an_empty_encrypted_file_round_trips() {
    let app = TestApp::spawn().await;
    let dyson = Client::new(&app);

    let file = upload_encrypted(&dyson, b"", "pw").await;
    let id = file["id"].as_str().unwrap();

    assert_eq!(file["size"], 0);
    let back = get(&app, &format!("/drive/files/{id}?passcode=pw"), None).await;
    assert_eq!(back.status, 200);
    assert!(back.body.is_empty());
}

#[tokio::test]
async fn an_encrypted_task_with_a_wrong_hash_fails_like_any_other_and_keeps_its_chunks() {
    // Arrange
    let app = TestApp::spawn().await;
    let dyson = Client::new(&app);
    let data = random(300);
    let mut body = create_body(&data, "s", 100);
    body["encrypt_password"] = json!("pw");
    let (task, _) = dyson.task(&body).await;
    dyson.chunk(&task, 0, &data[..100]).await.assert_empty(200);
    dyson.chunk(&task, 1, &[0u8; 100]).await.assert_empty(200);
    dyson.chunk(&task, 2, &data[200..]).await.assert_empty(200);

    // Act
    let failed = dyson.complete(&task).await;
    dyson
        .chunk(&task, 1, &data[100..200])
        .await
        .assert_empty(200);
    let done = dyson.complete(&task).await;

    // Assert
    assert_eq!(failed.status, 400);
    assert_eq!(failed.json()["code"], "HASH_MISMATCH");
    assert_eq!(done.status, 200, "{}", done.text());
    let id = done.json()["id"].as_str().unwrap().to_owned();
    assert!(
        get(&app, &format!("/drive/files/{id}?passcode=pw"), None)
            .await
            .body
            == data
    );
}
