//! The event journal: one event per state change, numbered per upload, kept across a reopen
//! (it is written in the change's own transaction), trimmed on request; and the completion gate.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use chunkgate::engine::*;

use crate::helpers::*;

fn kinds(events: &[(u64, Event)]) -> Vec<(EventKind, u64)> {
    events.iter().map(|(_, e)| (e.kind, e.seq)).collect()
}

fn labelled() -> NewUpload {
    let mut new = indexed(Some(1));
    new.labels = [("legacy".to_owned(), "42".to_owned())].into();
    new
}

#[tokio::test]
async fn every_state_change_leaves_one_event_numbered_per_upload_and_they_survive_a_reopen() {
    // Arrange
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path()).await;
    let data = bytes(1, 5000);

    // Act: create, fail a verification, complete, delete; a second upload expires.
    let up = engine.create_upload(labelled()).await.unwrap();
    engine
        .put_chunk(&alice(), up.id, 0, body(&data, 999))
        .await
        .unwrap();
    let wrong = Expectation::default().digest(DigestKind::Sha256, sha256(b"no"));
    let failed = engine
        .complete(&alice(), up.id, wrong, NewFile::default())
        .await
        .unwrap();
    let done = engine
        .complete(&alice(), up.id, Expectation::default(), NewFile::default())
        .await
        .unwrap();
    let Completion::Completed(file) = done else {
        panic!("{done:?}")
    };
    engine.delete_file(&alice(), &file.id).await.unwrap();
    let idle = engine.create_upload(indexed(None)).await.unwrap();
    engine
        .sweep(SystemTime::now() + Duration::from_secs(7200))
        .await
        .unwrap();
    engine.shutdown().await.unwrap();
    drop(engine);
    let engine = open(dir.path()).await;
    let events = engine.journal_after(0, 100).await.unwrap();

    // Assert
    assert!(matches!(failed, Completion::Mismatch(_)));
    let of = |id: UploadId| {
        let mine: Vec<_> = events
            .iter()
            .filter(|(_, e)| e.upload == id)
            .cloned()
            .collect();
        kinds(&mine)
    };
    assert_eq!(
        of(up.id),
        [
            (EventKind::UploadCreated, 1),
            (EventKind::UploadFailed, 2),
            (EventKind::UploadCompleted, 3),
            (EventKind::FileDeleted, 4)
        ]
    );
    assert_eq!(
        of(idle.id),
        [(EventKind::UploadCreated, 1), (EventKind::UploadExpired, 2)]
    );
    let positions: Vec<u64> = events.iter().map(|(p, _)| *p).collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{positions:?}");
    let completed = &events
        .iter()
        .find(|(_, e)| e.kind == EventKind::UploadCompleted)
        .unwrap()
        .1;
    assert_eq!(completed.labels["legacy"], "42");
    assert_eq!(completed.file.as_ref().unwrap().id, file.id);
    assert_eq!(
        completed.file.as_ref().unwrap().digests.sha256,
        sha256(&data)
    );
    assert_eq!(file.labels["legacy"], "42");
}

#[tokio::test]
async fn a_trim_removes_what_was_read_and_later_events_follow_after_it() {
    // Arrange
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path()).await;
    engine.create_upload(indexed(None)).await.unwrap();
    engine.create_upload(indexed(None)).await.unwrap();
    let first = engine.journal_after(0, 100).await.unwrap();

    // Act
    let trimmed = engine.journal_trim(first.last().unwrap().0).await.unwrap();
    engine.create_upload(indexed(None)).await.unwrap();
    let rest = engine.journal_after(0, 100).await.unwrap();

    // Assert
    assert_eq!(trimmed, 2);
    assert_eq!(rest.len(), 1);
    assert!(rest[0].0 > first.last().unwrap().0);
    assert_eq!(engine.journal_len().await.unwrap(), 1);
}

#[tokio::test]
async fn a_gate_refusal_leaves_the_upload_completable_and_records_nothing() {
    // Arrange: a gate that refuses once, then accepts.
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path()).await;
    let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = calls.clone();
    engine.set_completion_gate(Arc::new(move |c: Candidate| {
        let n = seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Box::pin(async move {
            assert_eq!(c.labels["legacy"], "42");
            assert_eq!(c.files.len(), 1);
            if n == 0 {
                Err("not today".to_owned())
            } else {
                Ok(())
            }
        })
    }));
    let data = bytes(2, 3000);
    let up = engine.create_upload(labelled()).await.unwrap();
    engine
        .put_chunk(&alice(), up.id, 0, body(&data, 700))
        .await
        .unwrap();

    // Act
    let refused = engine
        .complete(&alice(), up.id, Expectation::default(), NewFile::default())
        .await;
    let inventory = engine.inventory().await.unwrap();
    let journal = engine.journal_len().await.unwrap();
    let accepted = engine
        .complete(&alice(), up.id, Expectation::default(), NewFile::default())
        .await
        .unwrap();

    // Assert
    assert!(
        matches!(refused, Err(Error::Rejected(ref m)) if m == "not today"),
        "{refused:?}"
    );
    assert!(inventory.files.is_empty());
    assert_eq!(inventory.uploads.len(), 1);
    assert_eq!(journal, 1, "only the creation");
    assert!(matches!(accepted, Completion::Completed(ref f) if f.size == 3000));
}

#[tokio::test]
async fn concurrent_changes_get_distinct_positions_in_commit_order() {
    // Arrange
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path()).await;

    // Act: 40 uploads created at once.
    let handles: Vec<_> = (0..40)
        .map(|_| {
            let engine = engine.clone();
            tokio::spawn(async move { engine.create_upload(indexed(None)).await.unwrap().id })
        })
        .collect();
    let mut ids = Vec::new();
    for h in handles {
        ids.push(h.await.unwrap());
    }
    let events = engine.journal_after(0, 1000).await.unwrap();

    // Assert: one event each, none overwritten by another writer.
    assert_eq!(events.len(), 40);
    let mut seen: Vec<UploadId> = events.iter().map(|(_, e)| e.upload).collect();
    seen.sort();
    ids.sort();
    assert_eq!(seen, ids);
    assert!(events.iter().all(|(_, e)| e.seq == 1));
}
