//! Property: whatever the sizes, chunking, order, duplication and parallelism, the assembled bytes
//! and every digest equal the original's — for all three layouts.

use crate::helpers::*;
use chunkgate::engine::*;
use proptest::prelude::*;

fn rng(seed: u64) -> impl FnMut(usize) -> usize {
    let mut x = seed | 1;
    move |n: usize| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        if n == 0 {
            0
        } else {
            (x % n as u64) as usize
        }
    }
}

/// Cut points 0 = c0 <= c1 <= ... <= cn = size.
fn cuts(size: usize, pieces: usize, seed: u64) -> Vec<usize> {
    let mut r = rng(seed);
    let mut c: Vec<usize> = (0..pieces.saturating_sub(1)).map(|_| r(size + 1)).collect();
    c.push(0);
    c.push(size);
    c.sort_unstable();
    c
}

/// A shuffled order of `0..n` with `dups` extra repeats.
fn order(n: usize, dups: usize, seed: u64) -> Vec<usize> {
    let mut r = rng(seed ^ 0xABCD);
    let mut o: Vec<usize> = (0..n).collect();
    for i in (1..o.len()).rev() {
        o.swap(i, r(i + 1));
    }
    for _ in 0..dups.min(n) {
        let at = r(o.len() + 1);
        let which = r(n);
        o.insert(at, which);
    }
    o
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn sizes() -> impl Strategy<Value = usize> {
    prop_oneof![0usize..2048, 0usize..(8 << 20)]
}

fn digests_of(data: &[u8]) -> Digests {
    use md5::Digest as _;
    Digests {
        sha256: sha256(data),
        sha1: Some(hex::encode(sha1::Sha1::digest(data))),
        md5: Some(hex::encode(md5::Md5::digest(data))),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    fn indexed_uploads_assemble_exactly(
        seed in any::<u64>(), size in sizes(), pieces in 1usize..12,
        dups in 0usize..4, parallel in any::<bool>(),
    ) {
        let data = bytes(seed, size);
        let c = cuts(size, pieces, seed);
        let rt = runtime();
        let (file, got) = rt.block_on(async {
            let dir = tempfile::tempdir().unwrap();
            let engine = open(dir.path()).await;
            let up = engine.create_upload(indexed(Some(pieces as u64))).await.unwrap();
            let puts = order(pieces, dups, seed).into_iter().map(|i| {
                let engine = engine.clone();
                let chunk = data[c[i]..c[i + 1]].to_vec();
                async move { engine.put_chunk(&alice(), up.id, i as u64, body(&chunk, 70_000)).await.unwrap(); }
            });
            if parallel {
                let handles: Vec<_> = puts.map(tokio::spawn).collect();
                for h in handles { h.await.unwrap(); }
            } else {
                for p in puts { p.await; }
            }
            let expect = Expectation::default().digest(DigestKind::Sha256, sha256(&data)).size(size as u64);
            let file = completed(engine.complete(&alice(), up.id, expect, named("p")).await.unwrap());
            let got = content(&engine, &file);
            (file, got)
        });
        prop_assert_eq!(got, data.clone());
        prop_assert_eq!(file.digests, digests_of(&data));
    }

    #[test]
    fn ranged_uploads_assemble_exactly(
        seed in any::<u64>(), size in sizes(), pieces in 1usize..12,
        dups in 0usize..4, overlap in 0usize..5000,
    ) {
        let data = bytes(seed, size);
        let c = cuts(size, pieces, seed);
        let rt = runtime();
        let (file, got) = rt.block_on(async {
            let dir = tempfile::tempdir().unwrap();
            let engine = open(dir.path()).await;
            let new = NewUpload { layout: Layout::Ranged { size: size as u64 }, ..indexed(None) };
            let up = engine.create_upload(new).await.unwrap();
            let handles: Vec<_> = order(pieces, dups, seed).into_iter().map(|i| {
                let engine = engine.clone();
                // Ranges overlap their successor by up to `overlap` identical bytes.
                let end = (c[i + 1] + overlap).min(size);
                let chunk = data[c[i]..end].to_vec();
                let off = c[i] as u64;
                tokio::spawn(async move {
                    engine.put_range(&alice(), up.id, off, body(&chunk, 40_000), CutOff::Keep).await.unwrap()
                })
            }).collect();
            for h in handles {
                let out = h.await.unwrap();
                assert!(matches!(out, RangeOutcome::Stored { .. }), "{out:?}");
            }
            let file = completed(engine.complete(&alice(), up.id, Expectation::default(), named("p")).await.unwrap());
            let got = content(&engine, &file);
            (file, got)
        });
        prop_assert_eq!(got, data.clone());
        prop_assert_eq!(file.digests, digests_of(&data));
    }

    #[test]
    fn batch_uploads_store_every_file_exactly(
        seed in any::<u64>(), sizes in proptest::collection::vec(sizes(), 1..6), parts in 1u32..4,
    ) {
        let files: Vec<Vec<u8>> = sizes.iter().enumerate().map(|(i, s)| bytes(seed ^ i as u64, s / 2)).collect();
        let parts = parts.min(files.len() as u32);
        let rt = runtime();
        let stored = rt.block_on(async {
            let dir = tempfile::tempdir().unwrap();
            let engine = open(dir.path()).await;
            let new = NewUpload { layout: Layout::Batch { parts }, ..indexed(None) };
            let up = engine.create_upload(new).await.unwrap();
            let handles: Vec<_> = (0..parts).map(|p| {
                let engine = engine.clone();
                let mine: Vec<(usize, Vec<u8>)> = files.iter().cloned().enumerate()
                    .filter(|(i, _)| *i as u32 % parts == p).collect();
                tokio::spawn(async move {
                    let mut w = engine.begin_part(&alice(), up.id).await.unwrap();
                    for (i, f) in mine {
                        w.add_file(format!("f{i}"), body(&f, 50_000), None).await.unwrap();
                    }
                    w.commit().await.unwrap();
                })
            }).collect();
            for h in handles { h.await.unwrap(); }
            let BatchCompletion::Completed(done) =
                engine.complete_batch(&alice(), up.id, |_, f| named(&f.name)).await.unwrap()
            else { panic!("batch incomplete") };
            done.iter().map(|f| (f.name.clone(), content(&engine, f), f.digests.clone())).collect::<Vec<_>>()
        });
        prop_assert_eq!(stored.len(), files.len());
        for (name, got, digests) in stored {
            let i: usize = name[1..].parse().unwrap();
            prop_assert_eq!(&got, &files[i]);
            prop_assert_eq!(digests, digests_of(&files[i]));
        }
    }
}
