//! Staging bodies aside and changing a file's expiry.

use crate::helpers::*;
use chunkgate::engine::*;
use futures_util::StreamExt;
use std::time::{Duration, SystemTime};

fn ranged(size: u64) -> NewUpload {
    NewUpload {
        owner: alice(),
        namespace: "test".into(),
        layout: Layout::Ranged { size },
        digests: DigestSet::SHA256,
        ttl: None,
        labels: Default::default(),
    }
}

async fn read_all(staged: &Staged) -> Vec<u8> {
    let mut out = Vec::new();
    let mut s = staged.stream();
    while let Some(b) = s.next().await {
        out.extend_from_slice(&b.unwrap());
    }
    out
}

#[tokio::test]
async fn a_staged_body_replays_its_bytes_and_leaves_nothing_when_dropped() {
    // Arrange
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path()).await;
    let data = bytes(7, 3_000_001);

    // Act
    let staged = engine.stage(body(&data, 65_536), None).await.unwrap();

    // Assert
    assert_eq!(staged.len(), data.len() as u64);
    assert_eq!(read_all(&staged).await, data);
    assert_eq!(
        read_all(&staged).await,
        data,
        "a staged body can be read twice"
    );
    drop(staged);
    assert!(files_under(&dir.path().join("spool")).is_empty());
}

#[tokio::test]
async fn a_staged_body_goes_into_a_ranged_upload() {
    // Arrange
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path()).await;
    let up = engine.create_upload(ranged(10)).await.unwrap();
    let staged = engine.stage(body(b"0123456789", 3), None).await.unwrap();

    // Act
    let out = engine
        .put_range(&alice(), up.id, 0, staged.stream(), CutOff::Discard)
        .await
        .unwrap();

    // Assert
    assert_eq!(
        out,
        RangeOutcome::Stored {
            received: 10,
            complete: true
        }
    );
}

#[tokio::test]
async fn a_cut_off_or_oversized_body_stages_nothing() {
    // Arrange
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path()).await;

    // Act
    let cut = engine.stage(cut_body(b"partial"), None).await;
    let big = engine.stage(body(&bytes(1, 100), 10), Some(50)).await;

    // Assert
    assert!(matches!(cut, Err(Error::Body(_))));
    assert!(matches!(big, Err(Error::TooLarge { limit: 50 })));
    assert!(files_under(&dir.path().join("spool")).is_empty());
}

#[tokio::test]
async fn a_file_expiry_can_be_set_and_cleared_by_its_owner_only() {
    // Arrange
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path()).await;
    let up = engine.create_upload(ranged(3)).await.unwrap();
    engine
        .put_range(&alice(), up.id, 0, body(b"abc", 3), CutOff::Discard)
        .await
        .unwrap();
    let soon = SystemTime::now() + Duration::from_secs(60);
    let file = completed(
        engine
            .complete(
                &alice(),
                up.id,
                Expectation::default(),
                NewFile {
                    expires_at: Some(soon),
                    ..named("a")
                },
            )
            .await
            .unwrap(),
    );

    // Act
    let foreign = engine.set_file_expiry(&bob(), &file.id, None).await;
    let kept = engine
        .set_file_expiry(&alice(), &file.id, None)
        .await
        .unwrap();
    let report = engine
        .sweep(SystemTime::now() + Duration::from_secs(3600))
        .await
        .unwrap();

    // Assert
    assert!(matches!(foreign, Err(Error::UnknownFile)));
    assert_eq!(kept.expires_at, None);
    assert_eq!(report.files, 0);
    assert!(engine.file(&file.id).await.unwrap().is_some());
}
