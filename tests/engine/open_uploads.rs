//! `max_open_uploads_per_owner`: how many unfinished uploads one owner may hold at once.

use std::time::Duration;

use crate::helpers::*;
use chunkgate::engine::*;

async fn open_with_limit(dir: &std::path::Path, limit: u64) -> Engine {
    Engine::open(EngineConfig {
        max_open_uploads_per_owner: limit,
        ..config(dir)
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn an_owner_at_the_limit_is_refused_until_an_upload_finishes_or_goes() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open_with_limit(dir.path(), 2).await;
    let first = engine.create_upload(indexed(Some(1))).await.unwrap();
    let second = engine.create_upload(indexed(Some(1))).await.unwrap();
    let before = engine.inventory().await.unwrap();

    let refused = engine.create_upload(indexed(Some(1))).await;
    let after = engine.inventory().await.unwrap();
    let mut for_bob = indexed(Some(1));
    for_bob.owner = bob();
    let bobs = engine.create_upload(for_bob).await;
    engine.abort(&alice(), first.id).await.unwrap();
    let after_abort = engine.create_upload(indexed(Some(1))).await;
    engine
        .put_chunk(&alice(), second.id, 0, body(b"x", 1))
        .await
        .unwrap();
    engine
        .complete(&alice(), second.id, Expectation::default(), named("x"))
        .await
        .unwrap();
    let after_complete = engine.create_upload(indexed(Some(1))).await;

    assert!(matches!(refused, Err(Error::TooManyUploads { limit: 2 })));
    assert_eq!(before, after, "a refused create stores nothing");
    assert!(bobs.is_ok(), "the limit is per owner");
    assert!(after_abort.is_ok());
    assert!(after_complete.is_ok());
}

#[tokio::test]
async fn expired_uploads_do_not_count() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open_with_limit(dir.path(), 1).await;
    let mut short = indexed(None);
    short.ttl = Some(Duration::from_millis(1));
    engine.create_upload(short).await.unwrap();
    // Time only moves forward: after this the upload has expired, swept or not.
    tokio::time::sleep(Duration::from_millis(20)).await;

    let next = engine.create_upload(indexed(None)).await;

    assert!(next.is_ok(), "{next:?}");
}

#[tokio::test]
async fn zero_means_unlimited() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open_with_limit(dir.path(), 0).await;

    for _ in 0..20 {
        engine.create_upload(indexed(None)).await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_creates_never_overshoot_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open_with_limit(dir.path(), 3).await;

    let tries: Vec<_> = (0..12)
        .map(|_| {
            let engine = engine.clone();
            tokio::spawn(async move { engine.create_upload(indexed(None)).await })
        })
        .collect();
    let mut created = 0;
    for t in tries {
        match t.await.unwrap() {
            Ok(_) => created += 1,
            Err(Error::TooManyUploads { limit: 3 }) => {}
            Err(e) => panic!("{e}"),
        }
    }

    assert_eq!(created, 3);
    assert_eq!(engine.inventory().await.unwrap().uploads.len(), 3);
}
