use crate::helpers::*;
use chunkgate::engine::*;

#[tokio::test]
async fn in_order_chunks_assemble_with_every_digest() {
    // Arrange
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path()).await;
    let data = bytes(1, 3 * 1024 * 1024 + 17);
    let up = engine.create_upload(indexed(Some(4))).await.unwrap();
    // Act
    for (i, c) in data.chunks(1024 * 1024).enumerate() {
        engine
            .put_chunk(&alice(), up.id, i as u64, body(c, 65536))
            .await
            .unwrap();
    }
    let expect = Expectation::default().digest(DigestKind::Sha256, sha256(&data).to_uppercase());
    let file = completed(
        engine
            .complete(&alice(), up.id, expect, named("a.bin"))
            .await
            .unwrap(),
    );
    // Assert
    assert_eq!(content(&engine, &file), data);
    assert_eq!(file.size, data.len() as u64);
    assert_eq!(file.digests.sha256, sha256(&data));
    assert!(file.digests.md5.is_some() && file.digests.sha1.is_some());
    assert!(matches!(
        engine.upload(&alice(), up.id).await,
        Err(Error::UnknownUpload)
    ));
    assert_eq!(
        files_under(dir.path()),
        vec![format!(
            "blobs/sha256/{}/{}",
            &file.digests.sha256[..2],
            file.digests.sha256
        )]
    );
}

#[tokio::test]
async fn a_missing_chunk_is_reported_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path()).await;
    let up = engine.create_upload(indexed(Some(3))).await.unwrap();
    engine
        .put_chunk(&alice(), up.id, 0, body(b"abc", 2))
        .await
        .unwrap();
    engine
        .put_chunk(&alice(), up.id, 2, body(b"ghi", 2))
        .await
        .unwrap();
    let before = engine.inventory().await.unwrap();
    let c = engine
        .complete(&alice(), up.id, Expectation::default(), named("x"))
        .await
        .unwrap();
    assert_eq!(c, Completion::MissingChunk(1));
    assert_eq!(engine.inventory().await.unwrap(), before);
}

#[tokio::test]
async fn a_digest_mismatch_marks_the_upload_failed_and_keeps_its_chunks() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path()).await;
    let up = engine.create_upload(indexed(Some(2))).await.unwrap();
    engine
        .put_chunk(&alice(), up.id, 0, body(b"hello ", 4))
        .await
        .unwrap();
    engine
        .put_chunk(&alice(), up.id, 1, body(b"wurld", 4))
        .await
        .unwrap();
    let want = sha256(b"hello world");
    let expect = Expectation::default().digest(DigestKind::Sha256, want.clone());

    let c = engine
        .complete(&alice(), up.id, expect.clone(), named("x"))
        .await
        .unwrap();

    let Completion::Mismatch(m) = c else {
        panic!("expected mismatch, got {c:?}")
    };
    assert_eq!(m.digest, Some(DigestKind::Sha256));
    assert_eq!(m.expected, want);
    assert_eq!(m.actual, sha256(b"hello wurld"));
    let info = engine.upload(&alice(), up.id).await.unwrap();
    assert_eq!(info.state, UploadState::Failed(m));
    assert_eq!(info.chunks, vec![0, 1]);
    // The retry path: re-send the bad chunk, complete again.
    engine
        .put_chunk(&alice(), up.id, 1, body(b"world", 4))
        .await
        .unwrap();
    let file = completed(
        engine
            .complete(&alice(), up.id, expect, named("x"))
            .await
            .unwrap(),
    );
    assert_eq!(content(&engine, &file), b"hello world");
}

#[tokio::test]
async fn a_resent_chunk_inside_the_prefix_replaces_the_old_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path()).await;
    let up = engine.create_upload(indexed(None)).await.unwrap();
    for (i, c) in [&b"aaaa"[..], b"bbbb", b"cccc", b"dddd"].iter().enumerate() {
        engine
            .put_chunk(&alice(), up.id, i as u64, body(c, 3))
            .await
            .unwrap();
    }
    // Identical bytes again: a no-op. Different bytes for chunk 1: replaces it.
    engine
        .put_chunk(&alice(), up.id, 2, body(b"cccc", 3))
        .await
        .unwrap();
    engine
        .put_chunk(&alice(), up.id, 1, body(b"BBBBBB", 3))
        .await
        .unwrap();
    let file = completed(
        engine
            .complete(
                &alice(),
                up.id,
                Expectation::default().chunk_count(4),
                named("x"),
            )
            .await
            .unwrap(),
    );
    assert_eq!(content(&engine, &file), b"aaaaBBBBBBccccdddd");
    assert_eq!(file.digests.sha256, sha256(b"aaaaBBBBBBccccdddd"));
}

#[tokio::test]
async fn chunks_beyond_the_declared_count_are_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path()).await;
    let up = engine.create_upload(indexed(None)).await.unwrap();
    for (i, c) in [&b"ab"[..], b"cd", b"ef", b"gh"].iter().enumerate() {
        engine
            .put_chunk(&alice(), up.id, i as u64, body(c, 1))
            .await
            .unwrap();
    }
    let expect = Expectation::default()
        .chunk_count(3)
        .digest(DigestKind::Sha256, sha256(b"abcdef"));
    let file = completed(
        engine
            .complete(&alice(), up.id, expect, named("x"))
            .await
            .unwrap(),
    );
    assert_eq!(content(&engine, &file), b"abcdef");
}

#[tokio::test]
async fn a_cut_off_chunk_leaves_the_earlier_data_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path()).await;
    let up = engine.create_upload(indexed(Some(2))).await.unwrap();
    engine
        .put_chunk(&alice(), up.id, 0, body(b"first", 2))
        .await
        .unwrap();
    // In-order append cut off, and a parked re-send cut off.
    let e = engine
        .put_chunk(&alice(), up.id, 1, cut_body(b"partial"))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Body(_)), "{e:?}");
    let e = engine
        .put_chunk(&alice(), up.id, 0, cut_body(b"zz"))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Body(_)), "{e:?}");
    assert_eq!(
        engine.upload(&alice(), up.id).await.unwrap().chunks,
        vec![0]
    );
    engine
        .put_chunk(&alice(), up.id, 1, body(b"second", 2))
        .await
        .unwrap();
    let file = completed(
        engine
            .complete(&alice(), up.id, Expectation::default(), named("x"))
            .await
            .unwrap(),
    );
    assert_eq!(content(&engine, &file), b"firstsecond");
    assert_eq!(files_under(dir.path()).len(), 1, "no temp file leaks");
}

#[tokio::test]
async fn another_principal_cannot_see_or_touch_an_upload() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path()).await;
    let up = engine.create_upload(indexed(Some(1))).await.unwrap();
    let before = engine.inventory().await.unwrap();
    assert!(matches!(
        engine.upload(&bob(), up.id).await,
        Err(Error::UnknownUpload)
    ));
    assert!(matches!(
        engine.put_chunk(&bob(), up.id, 0, body(b"x", 1)).await,
        Err(Error::UnknownUpload)
    ));
    assert!(matches!(
        engine
            .complete(&bob(), up.id, Expectation::default(), named("x"))
            .await,
        Err(Error::UnknownUpload)
    ));
    assert!(matches!(
        engine.abort(&bob(), up.id).await,
        Err(Error::UnknownUpload)
    ));
    assert_eq!(engine.inventory().await.unwrap(), before);
}

#[tokio::test]
async fn an_out_of_range_or_oversized_chunk_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.max_upload_size = 10;
    let engine = Engine::open(cfg).await.unwrap();
    let up = engine.create_upload(indexed(Some(2))).await.unwrap();
    engine
        .put_chunk(&alice(), up.id, 0, body(b"12345", 2))
        .await
        .unwrap();
    let before = engine.inventory().await.unwrap();
    let files = files_under(dir.path());
    assert!(matches!(
        engine.put_chunk(&alice(), up.id, 2, body(b"x", 1)).await,
        Err(Error::ChunkOutOfRange { index: 2, count: 2 })
    ));
    assert!(matches!(
        engine
            .put_chunk(&alice(), up.id, 1, body(b"123456", 2))
            .await,
        Err(Error::TooLarge { limit: 10 })
    ));
    assert!(matches!(
        engine
            .put_chunk_limited(&alice(), up.id, 1, body(b"1234", 2), Some(3))
            .await,
        Err(Error::TooLarge { limit: 3 })
    ));
    assert_eq!(engine.inventory().await.unwrap(), before);
    assert_eq!(files_under(dir.path()), files);
}

#[tokio::test]
async fn the_same_chunk_sent_twice_at_once_ends_with_one_copy() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path()).await;
    let data = bytes(7, 2 * 1024 * 1024);
    for _ in 0..5 {
        let up = engine.create_upload(indexed(Some(2))).await.unwrap();
        let (a, b) = data.split_at(1024 * 1024);
        let puts = (0..4).map(|n| {
            let engine = engine.clone();
            let (i, c) = if n % 2 == 0 {
                (0, a.to_vec())
            } else {
                (1, b.to_vec())
            };
            tokio::spawn(async move {
                engine
                    .put_chunk(&alice(), up.id, i, body(&c, 100_000))
                    .await
            })
        });
        for p in futures_util::future::join_all(puts).await {
            p.unwrap().unwrap();
        }
        let expect = Expectation::default().digest(DigestKind::Md5, hex::encode(md5_of(&data)));
        let file = completed(
            engine
                .complete(&alice(), up.id, expect, named("x"))
                .await
                .unwrap(),
        );
        assert_eq!(content(&engine, &file), data);
    }
}

fn md5_of(d: &[u8]) -> [u8; 16] {
    use md5::Digest;
    md5::Md5::digest(d).into()
}

#[tokio::test]
async fn a_replacement_inside_the_prefix_survives_a_restart() {
    for round in 0..5 {
        let dir = tempfile::tempdir().unwrap();
        let engine = open(dir.path()).await;
        let up = engine.create_upload(indexed(Some(4))).await.unwrap();
        for (i, c) in [&b"0000"[..], b"1111", b"2222", b"3333"].iter().enumerate() {
            engine
                .put_chunk(&alice(), up.id, i as u64, body(c, 3))
                .await
                .unwrap();
        }
        engine
            .put_chunk(&alice(), up.id, 1, body(b"one!", 2))
            .await
            .unwrap();
        if round % 2 == 0 {
            tokio::task::yield_now().await;
        }
        engine.shutdown().await.unwrap();
        drop(engine);

        let engine = open(dir.path()).await;
        let file = completed(
            engine
                .complete(&alice(), up.id, Expectation::default(), named("x"))
                .await
                .unwrap(),
        );
        assert_eq!(
            content(&engine, &file),
            b"0000one!22223333",
            "round {round}"
        );
    }
}

#[tokio::test]
async fn a_re_sent_in_order_chunk_is_kept_when_identical_and_replaced_when_not() {
    // In-order chunks record no fingerprint when written; a re-send is compared with the bytes
    // in the data file: the same bytes change nothing, other bytes of the same length replace
    // the chunk (both for a small chunk, written in one call, and a multi-block one).
    for size in [5usize, 3 * 1024 * 1024 + 5] {
        let dir = tempfile::tempdir().unwrap();
        let engine = open(dir.path()).await;
        let up = engine.create_upload(indexed(Some(3))).await.unwrap();
        let chunks = [bytes(1, size), bytes(2, size), bytes(3, size)];
        for (i, c) in chunks.iter().enumerate() {
            engine
                .put_chunk(&alice(), up.id, i as u64, body(c, 65536))
                .await
                .unwrap();
        }
        // The same bytes again: nothing to do.
        engine
            .put_chunk(&alice(), up.id, 1, body(&chunks[1], 65536))
            .await
            .unwrap();
        let expect = Expectation::default().digest(DigestKind::Sha256, sha256(&chunks.concat()));
        let file = completed(
            engine
                .complete(&alice(), up.id, expect, named("same.bin"))
                .await
                .unwrap(),
        );
        assert_eq!(content(&engine, &file), chunks.concat(), "size {size}");

        // Other bytes of the same length replace the chunk.
        let up = engine.create_upload(indexed(Some(3))).await.unwrap();
        for (i, c) in chunks.iter().enumerate() {
            engine
                .put_chunk(&alice(), up.id, i as u64, body(c, 65536))
                .await
                .unwrap();
        }
        let other = bytes(9, size);
        engine
            .put_chunk(&alice(), up.id, 1, body(&other, 65536))
            .await
            .unwrap();
        let want = [chunks[0].clone(), other, chunks[2].clone()].concat();
        let expect = Expectation::default().digest(DigestKind::Sha256, sha256(&want));
        let file = completed(
            engine
                .complete(&alice(), up.id, expect, named("other.bin"))
                .await
                .unwrap(),
        );
        assert_eq!(content(&engine, &file), want, "size {size}");
    }
}
