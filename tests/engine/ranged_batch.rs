use crate::helpers::*;
use chunkgate::engine::*;

fn ranged(size: u64) -> NewUpload {
    NewUpload {
        owner: alice(),
        namespace: "test".into(),
        layout: Layout::Ranged { size },
        digests: DigestSet::SHA256.with(DigestKind::Sha1),
        ttl: None,
        labels: Default::default(),
    }
}

#[tokio::test]
async fn ranges_out_of_order_count_only_the_gap_free_prefix() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path()).await;
    let text = b"Hello, chunked world!\n";
    let up = engine.create_upload(ranged(22)).await.unwrap();
    let owner = alice();
    let put =
        |off: u64, d: &'static [u8]| engine.put_range(&owner, up.id, off, body(d, 3), CutOff::Keep);

    assert_eq!(
        put(0, b"Hello, ").await.unwrap(),
        RangeOutcome::Stored {
            received: 7,
            complete: false
        }
    );
    assert!(matches!(
        put(16, b"world!\n").await,
        Err(Error::RangeOutOfBounds { .. })
    ));
    assert_eq!(
        put(15, b"world!\n").await.unwrap(),
        RangeOutcome::Stored {
            received: 7,
            complete: false
        }
    );
    assert_eq!(
        put(7, b"chunked ").await.unwrap(),
        RangeOutcome::Stored {
            received: 22,
            complete: true
        }
    );
    // Identical overlap is fine; a differing one is a conflict that changes nothing.
    assert_eq!(
        put(5, b", chunked").await.unwrap(),
        RangeOutcome::Stored {
            received: 22,
            complete: true
        }
    );
    let before = engine.inventory().await.unwrap();
    assert_eq!(
        put(7, b"chunkeD").await.unwrap(),
        RangeOutcome::Conflict { offset: 13 }
    );
    assert_eq!(engine.inventory().await.unwrap(), before);

    let f = completed(
        engine
            .complete(&alice(), up.id, Expectation::default(), named("hello.txt"))
            .await
            .unwrap(),
    );
    assert_eq!(content(&engine, &f), text);
    assert_eq!(
        f.digests.sha1.as_deref(),
        Some("dc580a54f87c7735bdb37744424d5586e4add5e6")
    );
    assert_eq!(
        engine
            .compare_content(&f, 7, body(b"chunked", 2))
            .await
            .unwrap(),
        Comparison::Identical
    );
    assert_eq!(
        engine
            .compare_content(&f, 7, body(b"chunkeX", 2))
            .await
            .unwrap(),
        Comparison::Differs { offset: 13 }
    );
    assert_eq!(
        engine
            .compare_content(&f, 20, body(b"abc", 2))
            .await
            .unwrap(),
        Comparison::OutOfBounds
    );
}

#[tokio::test]
async fn a_conflicting_request_removes_every_range_it_added() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path()).await;
    let up = engine.create_upload(ranged(10)).await.unwrap();
    engine
        .put_range(&alice(), up.id, 5, body(b"fghij", 5), CutOff::Keep)
        .await
        .unwrap();
    let before = engine.inventory().await.unwrap();
    // Writes 0..5 fresh, then differs at 5.
    let out = engine
        .put_range(&alice(), up.id, 0, body(b"abcdeX", 2), CutOff::Keep)
        .await
        .unwrap();
    assert_eq!(out, RangeOutcome::Conflict { offset: 5 });
    assert_eq!(engine.inventory().await.unwrap(), before);
    assert_eq!(engine.upload(&alice(), up.id).await.unwrap().received, 0);
}

#[tokio::test]
async fn a_cut_off_range_keeps_what_arrived_only_when_asked_to() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path()).await;
    let up = engine.create_upload(ranged(10)).await.unwrap();
    let e = engine
        .put_range(&alice(), up.id, 0, cut_body(b"abc"), CutOff::Discard)
        .await;
    assert!(matches!(e, Err(Error::Body(_))));
    assert_eq!(engine.upload(&alice(), up.id).await.unwrap().received, 0);
    let e = engine
        .put_range(&alice(), up.id, 0, cut_body(b"abc"), CutOff::Keep)
        .await;
    assert!(matches!(e, Err(Error::Body(_))));
    assert_eq!(engine.upload(&alice(), up.id).await.unwrap().received, 3);
    engine
        .put_range(&alice(), up.id, 3, body(b"defghij", 3), CutOff::Keep)
        .await
        .unwrap();
    let f = completed(
        engine
            .complete(&alice(), up.id, Expectation::default(), named("x"))
            .await
            .unwrap(),
    );
    assert_eq!(content(&engine, &f), b"abcdefghij");
    assert_eq!(f.digests.sha256, sha256(b"abcdefghij"));
}

#[tokio::test]
async fn an_incomplete_range_upload_does_not_complete() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path()).await;
    let up = engine.create_upload(ranged(4)).await.unwrap();
    engine
        .put_range(&alice(), up.id, 0, body(b"ab", 3), CutOff::Keep)
        .await
        .unwrap();
    let c = engine
        .complete(&alice(), up.id, Expectation::default(), named("x"))
        .await
        .unwrap();
    assert_eq!(
        c,
        Completion::Incomplete {
            received: 2,
            size: 4
        }
    );
}

fn batch(parts: u32) -> NewUpload {
    NewUpload {
        owner: alice(),
        namespace: "test".into(),
        layout: Layout::Batch { parts },
        digests: DigestSet::SHA256,
        ttl: None,
        labels: Default::default(),
    }
}

#[tokio::test]
async fn batch_parts_count_only_when_committed_and_a_name_replaces_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path()).await;
    let up = engine.create_upload(batch(2)).await.unwrap();
    let mut p = engine.begin_part(&alice(), up.id).await.unwrap();
    p.add_file("a.txt".into(), body(b"old a", 2), None)
        .await
        .unwrap();
    p.add_file("b.txt".into(), body(b"b", 2), None)
        .await
        .unwrap();
    p.commit().await.unwrap();
    // A dropped part changes nothing and leaves no spool file.
    let before = engine.inventory().await.unwrap();
    let files = files_under(dir.path());
    let mut dropped = engine.begin_part(&alice(), up.id).await.unwrap();
    dropped
        .add_file("c.txt".into(), body(b"c", 2), None)
        .await
        .unwrap();
    drop(dropped);
    let mut refused = engine.begin_part(&alice(), up.id).await.unwrap();
    refused
        .add_file("c.txt".into(), body(b"c", 2), None)
        .await
        .unwrap();
    let r = refused
        .commit_with(|held, _| if held.len() == 2 { Err("no") } else { Ok(()) })
        .await
        .unwrap();
    assert_eq!(r.unwrap_err(), "no");
    assert_eq!(engine.inventory().await.unwrap(), before);
    assert_eq!(files_under(dir.path()), files);
    assert_eq!(
        engine
            .complete_batch(&alice(), up.id, |_, f| named(&f.name))
            .await
            .unwrap(),
        BatchCompletion::MissingParts { done: 1, parts: 2 }
    );

    let mut p = engine.begin_part(&alice(), up.id).await.unwrap();
    p.add_file("a.txt".into(), body(b"new a", 2), None)
        .await
        .unwrap();
    p.commit().await.unwrap();
    assert!(matches!(
        engine.begin_part(&alice(), up.id).await,
        Err(Error::PartsExhausted { parts: 2 })
    ));

    let BatchCompletion::Completed(files) = engine
        .complete_batch(&alice(), up.id, |_, f| named(&f.name))
        .await
        .unwrap()
    else {
        panic!("batch should complete")
    };
    let got: Vec<(String, Vec<u8>)> = files
        .iter()
        .map(|f| (f.name.clone(), content(&engine, f)))
        .collect();
    assert_eq!(
        got,
        vec![
            ("a.txt".into(), b"new a".to_vec()),
            ("b.txt".into(), b"b".to_vec())
        ]
    );
}

/// Counts bytes and remembers their order, standing in for a front end's own content digest.
#[derive(Default)]
struct Recorder(Vec<u8>);

impl ContentObserver for Recorder {
    fn update(&mut self, data: &[u8]) {
        self.0.extend_from_slice(data);
    }
}

#[tokio::test]
async fn an_observer_sees_every_byte_of_a_batch_file_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path()).await;
    let up = engine.create_upload(batch(1)).await.unwrap();
    let data = bytes(3, 3 * 1024 * 1024 + 5);
    let mut p = engine.begin_part(&alice(), up.id).await.unwrap();
    let (info, seen) = p
        .add_file_observed("big".into(), body(&data, 10_000), None, Recorder::default())
        .await
        .unwrap();
    assert_eq!(seen.0, data);
    assert_eq!(info.sha256, sha256(&data));
    assert_eq!(info.size, data.len() as u64);
}
