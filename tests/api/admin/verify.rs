//! `verify` re-hashes every blob: a blob corrupted on disk is reported (exit status 2), and with
//! `--quarantine` moved aside and no longer served, while the other files still are.

use super::admin;
use crate::helpers::{TestApp, ADMIN_TOKEN};

#[tokio::test]
async fn a_corrupted_blob_is_reported_then_quarantined_and_no_longer_served() {
    // Arrange: two files; one blob gets a byte flipped on disk while the server is down.
    let app = TestApp::spawn().await;
    let good = app.store_file("good.bin", &[7u8; 3000], vec![]).await;
    let bad = app
        .store_file(
            "bad.bin",
            &[9u8; 5000],
            vec![("testns".into(), "bad".into())],
        )
        .await;
    let bad_blob = app.engine.content_path(&bad);
    let dir = app.stop().await;
    let data = dir.path();
    let mut bytes = std::fs::read(&bad_blob).unwrap();
    bytes[1234] ^= 0xff;
    std::fs::write(&bad_blob, &bytes).unwrap();

    // Act
    let report = admin(data, &["verify", "--json"]).await;
    let quarantine = admin(data, &["verify", "--quarantine", "--json"]).await;
    let again = admin(data, &["verify", "--json"]).await;
    let shown = admin(data, &["files", "show", "testns:bad", "--json"])
        .await
        .ok_json();
    let app = TestApp::spawn_with(|s| s.data_dir = data.to_owned()).await;
    let content = |id: String| {
        app.client
            .get(app.url(&format!("/gateway/v1/files/{id}/content")))
            .bearer_auth(ADMIN_TOKEN)
            .send()
    };
    let bad_answer = content(bad.id.to_string()).await.unwrap();
    let good_answer = content(good.id.to_string()).await.unwrap();

    // Assert: reported without changing anything.
    assert_eq!(report.code, 2, "{}", report.stderr);
    let r = report.json();
    assert_eq!(
        (r["checked"].as_u64(), r["ok"].as_bool()),
        (Some(2), Some(false))
    );
    let p = &r["problems"][0];
    assert_eq!(r["problems"].as_array().unwrap().len(), 1);
    assert_eq!(p["sha256"], bad.digests.sha256);
    assert_eq!(p["fault"], "corrupt");
    assert_eq!(p["files"], serde_json::json!([bad.id.to_string()]));
    assert_eq!(p["quarantined"], false);
    assert_ne!(p["actual_sha256"], bad.digests.sha256);
    // Quarantined: moved aside, marked.
    assert_eq!(quarantine.code, 2);
    let q = &quarantine.json()["problems"][0];
    assert_eq!(q["quarantined"], true);
    let moved = std::path::PathBuf::from(q["moved_to"].as_str().unwrap());
    assert_eq!(
        moved,
        data.join("quarantine/sha256").join(&bad.digests.sha256)
    );
    assert_eq!(std::fs::read(&moved).unwrap(), bytes, "kept for inspection");
    assert!(!bad_blob.exists());
    // Later runs skip it and pass.
    assert_eq!(again.code, 0, "{}", again.stdout);
    let a = again.json();
    assert_eq!(
        (a["checked"].as_u64(), a["already_quarantined"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(shown["quarantined"], true);
    // The server no longer serves it; the other file is untouched.
    assert_eq!(bad_answer.status(), 404);
    assert_eq!(good_answer.status(), 200);
    assert_eq!(
        good_answer.bytes().await.unwrap().as_ref(),
        &[7u8; 3000][..]
    );
}

#[tokio::test]
async fn a_blob_missing_from_disk_is_reported_and_quarantine_marks_it() {
    // Arrange
    let app = TestApp::spawn().await;
    let gone = app.store_file("gone.bin", &[3u8; 100], vec![]).await;
    let blob = app.engine.content_path(&gone);
    let dir = app.stop().await;
    std::fs::remove_file(&blob).unwrap();

    // Act
    let run = admin(dir.path(), &["verify", "--quarantine", "--json"]).await;
    let listed = admin(dir.path(), &["files", "list", "--json"])
        .await
        .ok_json();

    // Assert
    assert_eq!(run.code, 2, "{}", run.stderr);
    let p = &run.json()["problems"][0];
    assert_eq!(p["fault"], "missing");
    assert_eq!(p["quarantined"], true);
    assert!(p["moved_to"].is_null() && p["actual_sha256"].is_null());
    assert_eq!(listed["files"][0]["quarantined"], true);
}
