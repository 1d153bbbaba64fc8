use std::time::{Duration, SystemTime};

use crate::helpers::*;
use chunkgate::engine::*;

async fn store(engine: &Engine, data: &[u8], name: &str) -> FileInfo {
    let up = engine.create_upload(indexed(Some(1))).await.unwrap();
    engine
        .put_chunk(&alice(), up.id, 0, body(data, 1000))
        .await
        .unwrap();
    completed(
        engine
            .complete(&alice(), up.id, Expectation::default(), named(name))
            .await
            .unwrap(),
    )
}

#[tokio::test]
async fn expiry_sweeps_an_idle_upload_and_its_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path()).await;
    let mut new = indexed(None);
    new.ttl = Some(Duration::from_secs(60));
    let old = engine.create_upload(new).await.unwrap();
    engine
        .put_chunk(&alice(), old.id, 1, body(b"parked", 3))
        .await
        .unwrap();
    let fresh = engine.create_upload(indexed(None)).await.unwrap();

    // The parked chunk is folded by a background task that holds the upload's data lock for a
    // moment; the sweeper skips a busy upload until its next round, so sweep a few rounds.
    let mut swept = 0;
    for _ in 0..100 {
        let report = engine
            .sweep(SystemTime::now() + Duration::from_secs(120))
            .await
            .unwrap();
        swept += report.uploads;
        if swept > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    assert_eq!(swept, 1);
    assert!(matches!(
        engine.upload(&alice(), old.id).await,
        Err(Error::UnknownUpload)
    ));
    assert!(engine.upload(&alice(), fresh.id).await.is_ok());
    assert!(!files_under(dir.path())
        .iter()
        .any(|p| p.contains(&old.id.to_string())));
}

#[tokio::test]
async fn identical_content_is_stored_once_and_removed_with_its_last_file() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path()).await;
    let a = store(&engine, b"same bytes", "a").await;
    let b = store(&engine, b"same bytes", "b").await;
    assert_ne!(a.id, b.id);
    assert_eq!(engine.content_path(&a), engine.content_path(&b));
    assert_eq!(
        engine.inventory().await.unwrap().blobs,
        vec![(a.digests.sha256.clone(), 2)]
    );

    engine.delete_file(&alice(), &a.id).await.unwrap();
    assert!(engine.content_path(&b).exists());
    assert!(matches!(
        engine.delete_file(&bob(), &b.id).await,
        Err(Error::UnknownFile)
    ));
    engine.delete_file(&alice(), &b.id).await.unwrap();

    assert!(!engine.content_path(&b).exists());
    assert!(engine.inventory().await.unwrap().blobs.is_empty());
}

#[tokio::test]
async fn an_expired_file_is_swept_with_its_blob() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path()).await;
    let up = engine.create_upload(indexed(Some(1))).await.unwrap();
    engine
        .put_chunk(&alice(), up.id, 0, body(b"short-lived", 4))
        .await
        .unwrap();
    let mut meta = named("tmp");
    meta.expires_at = Some(SystemTime::now() + Duration::from_secs(30));
    let f = completed(
        engine
            .complete(&alice(), up.id, Expectation::default(), meta)
            .await
            .unwrap(),
    );
    assert!(engine.file(&f.id).await.unwrap().is_some());

    let report = engine
        .sweep(SystemTime::now() + Duration::from_secs(60))
        .await
        .unwrap();

    assert_eq!((report.files, report.blobs), (1, 1));
    assert!(engine.file(&f.id).await.unwrap().is_none());
    assert!(!engine.content_path(&f).exists());
}

#[tokio::test]
async fn the_free_space_guard_refuses_new_data() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path()).await;
    let up = engine.create_upload(indexed(Some(1))).await.unwrap();
    engine.shutdown().await.unwrap();
    drop(engine);
    let mut cfg = config(dir.path());
    cfg.min_free_space = u64::MAX / 2;
    let engine = Engine::open(cfg).await.unwrap();
    let before = engine.inventory().await.unwrap();

    let put = engine.put_chunk(&alice(), up.id, 0, body(b"data", 2)).await;
    let create = engine.create_upload(indexed(None)).await;

    assert!(
        matches!(put, Err(Error::InsufficientStorage { .. })),
        "{put:?}"
    );
    assert!(
        matches!(create, Err(Error::InsufficientStorage { .. })),
        "{create:?}"
    );
    assert_eq!(engine.inventory().await.unwrap(), before);
}

#[tokio::test]
async fn aliases_find_a_file_by_its_legacy_id_and_digests_find_it_by_hash() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path()).await;
    let up = engine.create_upload(indexed(Some(1))).await.unwrap();
    engine
        .put_chunk(&alice(), up.id, 0, body(b"hello world\n", 5))
        .await
        .unwrap();
    let mut meta = named("hello.txt");
    meta.aliases = vec![("legacy".into(), "26".into())];
    let f = completed(
        engine
            .complete(&alice(), up.id, Expectation::default(), meta)
            .await
            .unwrap(),
    );

    assert_eq!(
        engine.resolve_alias("legacy", "26").await.unwrap(),
        Some(f.id)
    );
    assert_eq!(engine.resolve_alias("legacy", "27").await.unwrap(), None);
    let md5 = "6F5902AC237024BDD0C176CB93063DC4";
    let mine = engine
        .find_files_by_digest(Some(&alice()), DigestKind::Md5, md5)
        .await
        .unwrap();
    assert_eq!(mine.iter().map(|f| f.id).collect::<Vec<_>>(), vec![f.id]);
    assert!(engine
        .find_files_by_digest(Some(&bob()), DigestKind::Md5, md5)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        engine
            .find_files_by_digest(None, DigestKind::Md5, md5)
            .await
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn start_up_removes_strays_and_unacknowledged_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path()).await;
    let up = engine.create_upload(indexed(None)).await.unwrap();
    engine
        .put_chunk(&alice(), up.id, 0, body(b"kept", 2))
        .await
        .unwrap();
    engine.shutdown().await.unwrap();
    drop(engine);
    // Simulate a crash mid-append and leftovers of requests that never committed.
    let spool = dir.path().join("spool").join(up.id.to_string());
    let data = spool.join("data");
    let mut raw = std::fs::read(&data).unwrap();
    raw.extend_from_slice(b"garbage");
    std::fs::write(&data, raw).unwrap();
    std::fs::write(spool.join("park-3-00000000000000aa"), b"orphan").unwrap();
    std::fs::create_dir_all(dir.path().join("spool").join("not-an-upload")).unwrap();
    std::fs::create_dir_all(dir.path().join("blobs/sha256/ab")).unwrap();
    std::fs::write(dir.path().join("blobs/sha256/ab/abcdef"), b"no record").unwrap();

    let engine = open(dir.path()).await;

    assert_eq!(
        files_under(dir.path()),
        vec![format!("spool/{}/data", up.id)]
    );
    assert_eq!(std::fs::read(&data).unwrap(), b"kept");
    engine
        .put_chunk(&alice(), up.id, 1, body(b"+more", 2))
        .await
        .unwrap();
    let f = completed(
        engine
            .complete(&alice(), up.id, Expectation::default(), named("x"))
            .await
            .unwrap(),
    );
    assert_eq!(content(&engine, &f), b"kept+more");
}

#[tokio::test]
async fn records_are_namespaced_atomic_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path()).await;
    let a = engine.records("a");
    let b = engine.records("b");
    assert!(a.insert_new("k", &1u32).await.unwrap());
    assert!(!a.insert_new("k", &2u32).await.unwrap());
    assert_eq!(a.get::<u32>("k").await.unwrap(), Some(1));
    assert_eq!(b.get::<u32>("k").await.unwrap(), None);
    // Concurrent increments through `update` lose nothing.
    let tasks = (0..20).map(|_| {
        let a = a.clone();
        tokio::spawn(async move {
            a.update("k", |v: Option<u32>| Some(v.unwrap_or(0) + 1))
                .await
        })
    });
    for t in futures_util::future::join_all(tasks).await {
        t.unwrap().unwrap();
    }
    assert_eq!(a.get::<u32>("k").await.unwrap(), Some(21));
    let ids: Vec<u64> = futures_util::future::join_all((0..10).map(|_| a.next_id("file")))
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(sorted, (1..=10).collect::<Vec<_>>());
    assert_eq!(b.next_id("file").await.unwrap(), 1);
    a.put("p/2", &"two").await.unwrap();
    a.put("p/1", &"one").await.unwrap();
    let scanned: Vec<(String, String)> = a.scan("p/").await.unwrap();
    assert_eq!(
        scanned,
        vec![("p/1".into(), "one".into()), ("p/2".into(), "two".into())]
    );
    assert!(a.remove("p/1").await.unwrap());
    assert!(!a.remove("p/1").await.unwrap());
}

#[tokio::test]
async fn a_block_of_ids_is_consecutive_never_shared_and_continues_the_counter() {
    // Arrange
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path()).await;
    let r = engine.records("a");
    assert_eq!(r.next_id("upload").await.unwrap(), 1);

    // Act
    let blocks: Vec<std::ops::Range<u64>> =
        futures_util::future::join_all((0..8).map(|_| r.next_ids("upload", 100)))
            .await
            .into_iter()
            .map(Result::unwrap)
            .collect();
    let empty = r.next_ids("upload", 0).await.unwrap();
    let after = r.next_id("upload").await.unwrap();

    // Assert
    let mut all: Vec<u64> = blocks.iter().flat_map(|b| b.clone()).collect();
    assert!(blocks.iter().all(|b| b.end - b.start == 100));
    all.sort();
    assert_eq!(all, (2..802).collect::<Vec<_>>());
    assert!(empty.is_empty());
    assert_eq!(after, 802);
}

#[tokio::test]
async fn a_record_batch_applies_all_or_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path()).await;
    let r = engine.records("ns");
    let ok = r
        .commit(
            RecordBatch::new()
                .absent("name/a")
                .put("name/a", &1u64)
                .put("file/1", &"a"),
        )
        .await
        .unwrap();
    assert!(ok);
    let before = engine.inventory().await.unwrap();
    let again = r
        .commit(
            RecordBatch::new()
                .absent("name/a")
                .put("name/a", &2u64)
                .put("file/2", &"a"),
        )
        .await
        .unwrap();
    assert!(!again);
    assert_eq!(engine.inventory().await.unwrap(), before);
    let swapped = r
        .commit(
            RecordBatch::new()
                .unchanged("file/1", &"a")
                .put("file/1", &"b")
                .remove("name/a"),
        )
        .await
        .unwrap();
    assert!(swapped);
    assert_eq!(
        r.get::<String>("file/1").await.unwrap().as_deref(),
        Some("b")
    );
    assert_eq!(r.get::<u64>("name/a").await.unwrap(), None);
}
