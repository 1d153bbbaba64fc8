//! `files list|show|delete`, `uploads list` and `gc` on a store filled through a real server.

use super::admin;
use crate::helpers::{TestApp, USER_PRINCIPAL};
use bytes::Bytes;
use chunkgate::engine::{DigestSet, Layout, NewUpload, Principal};
use std::time::Duration;

#[tokio::test]
async fn files_and_uploads_are_listed_shown_and_deleted_with_stable_json() {
    // Arrange: a finished file with a legacy alias and an upload in progress.
    let app = TestApp::spawn().await;
    let file = app
        .store_file(
            "report.pdf",
            b"%PDF-1.7 hello",
            vec![("testns".into(), "42".into())],
        )
        .await;
    let owner = Principal::new(USER_PRINCIPAL);
    let upload = app
        .engine
        .create_upload(NewUpload {
            owner: owner.clone(),
            namespace: "testns".into(),
            layout: Layout::Indexed { count: Some(3) },
            digests: DigestSet::SHA256,
            ttl: None,
            labels: Default::default(),
        })
        .await
        .unwrap();
    let chunk = futures_util::stream::iter([Ok::<_, std::io::Error>(Bytes::from_static(b"abc"))]);
    app.engine
        .put_chunk(&owner, upload.id, 0, chunk)
        .await
        .unwrap();
    let blob = app.engine.content_path(&file);
    let dir = app.stop().await;
    let data = dir.path();

    // Act
    let listed = admin(data, &["files", "list", "--json"]).await.ok_json();
    let shown = admin(data, &["files", "show", "testns:42", "--json"])
        .await
        .ok_json();
    let uploads = admin(data, &["uploads", "list", "--json"]).await.ok_json();
    let table = admin(data, &["files", "list"]).await;
    let deleted = admin(data, &["files", "delete", &file.id.to_string(), "--json"])
        .await
        .ok_json();
    let after = admin(data, &["files", "list", "--json"]).await.ok_json();
    let missing = admin(data, &["files", "show", "testns:42"]).await;

    // Assert
    let files = listed["files"].as_array().unwrap();
    assert_eq!(files.len(), 1);
    let f = &files[0];
    assert_eq!(f["id"], file.id.to_string());
    assert_eq!(f["owner"], USER_PRINCIPAL);
    assert_eq!(f["namespace"], "testns");
    assert_eq!(f["name"], "report.pdf");
    assert_eq!(f["size"], 14);
    assert_eq!(f["sha256"], file.digests.sha256);
    assert_eq!(f["aliases"], serde_json::json!(["testns:42"]));
    assert_eq!(f["quarantined"], false);
    assert!(f["created_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(&shown, f, "show prints the same object as list");
    let u = &uploads["uploads"].as_array().unwrap()[0];
    assert_eq!(uploads["uploads"].as_array().unwrap().len(), 1);
    assert_eq!(u["id"], upload.id.to_string());
    assert_eq!(
        (
            u["layout"].as_str(),
            u["declared"].as_u64(),
            u["state"].as_str()
        ),
        (Some("indexed"), Some(3), Some("open"))
    );
    assert_eq!(
        (u["received"].as_u64(), u["chunks"].as_u64()),
        (Some(3), Some(1))
    );
    assert!(table.stdout.contains("report.pdf") && table.stdout.contains("1 files"));
    assert_eq!(deleted["deleted"]["id"], file.id.to_string());
    assert_eq!(after["files"], serde_json::json!([]));
    assert!(!blob.exists(), "the only file's content is removed with it");
    assert_eq!(missing.code, 1);
    assert_eq!(missing.stderr.trim(), "chunkgate: no file testns:42");
}

#[tokio::test]
async fn gc_removes_expired_uploads_and_unreferenced_blobs_now() {
    // Arrange: an upload whose TTL has run out, one that has not, and a blob file no
    // metadata references.
    let app = TestApp::spawn().await;
    let owner = Principal::new(USER_PRINCIPAL);
    let mut ids = Vec::new();
    for ttl in [Duration::from_millis(1), Duration::from_secs(3600)] {
        let up = app
            .engine
            .create_upload(NewUpload {
                owner: owner.clone(),
                namespace: "testns".into(),
                layout: Layout::Indexed { count: None },
                digests: DigestSet::SHA256,
                ttl: Some(ttl),
                labels: Default::default(),
            })
            .await
            .unwrap();
        ids.push(up.id.to_string());
    }
    let dir = app.stop().await;
    let data = dir.path();
    let orphan = data.join("blobs/sha256/ab").join("ab".repeat(32));
    std::fs::create_dir_all(orphan.parent().unwrap()).unwrap();
    std::fs::write(&orphan, b"nobody's").unwrap();

    // Act
    let report = admin(data, &["gc", "--json"]).await.ok_json();
    let left = admin(data, &["uploads", "list", "--json"]).await.ok_json();

    // Assert
    assert_eq!(report["expired_uploads"], 1, "{report}");
    assert_eq!(report["orphan_blobs"], 1, "{report}");
    assert!(!data.join("spool").join(&ids[0]).exists());
    assert!(data.join("spool").join(&ids[1]).exists());
    assert!(!orphan.exists());
    let left: Vec<&str> = left["uploads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap())
        .collect();
    assert_eq!(left, [ids[1].as_str()]);
}
