//! Group 7a, load: 200 uploads at once across all five dialects against the real binary
//! (strict durability), mixed sizes up to 20 MiB (most small, a few large, to keep CI's volume
//! modest); every one downloads byte-identical. Prints throughput and the server's peak RSS
//! (VmHWM) for the report; nothing here is timed.

use std::time::Instant;

use rand::{Rng, SeedableRng};

use crate::clients::{self, content, Target, DIALECTS};
use crate::server::Server;

const UPLOADS: usize = 200;

/// Size of upload `i` (whose dialect is `i % 5`): five of 20 MiB, one per dialect; sixteen of
/// 1–4 MiB; the rest 1 KiB–256 KiB.
fn size_of(i: usize, rng: &mut impl Rng) -> usize {
    if i % 50 == i / 50 || i == 199 {
        return 20 << 20;
    }
    match i % 50 {
        10..=13 => rng.gen_range(1 << 20..4 << 20),
        _ => rng.gen_range(1 << 10..256 << 10),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_concurrent_uploads_across_every_dialect_complete_with_correct_bytes() {
    // Arrange
    let seed = crate::crash::seed();
    println!("load: seed {seed}");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let root = tempfile::tempdir().unwrap();
    let mut server = Server::start(root.path(), "");
    let target = Target::new(&server.base(), true);
    let jobs: Vec<(usize, &str, usize, u64)> = (0..UPLOADS)
        .map(|i| {
            let size = size_of(i, &mut rng);
            (i, DIALECTS[i % DIALECTS.len()], size, rng.gen::<u64>())
        })
        .collect();
    let total: usize = jobs.iter().map(|(_, _, size, _)| size).sum();

    // Act: all at once.
    let start = Instant::now();
    let handles: Vec<_> = jobs
        .into_iter()
        .map(|(i, dialect, size, seed)| {
            let t = target.clone();
            tokio::spawn(async move {
                let data = content(seed, size);
                let chunk = if size > 4 << 20 { 4 << 20 } else { 1 << 20 };
                clients::upload(&t, dialect, &data, chunk)
                    .await
                    .map_err(|e| format!("upload {i} ({dialect}, {size} bytes): {e}"))
            })
        })
        .collect();
    let mut failures = Vec::new();
    for h in handles {
        if let Err(e) = h.await.unwrap() {
            failures.push(e);
        }
    }
    let elapsed = start.elapsed();
    let rss = server.peak_rss_kib();

    // Assert
    assert!(failures.is_empty(), "seed {seed}: {failures:#?}");
    println!(
        "load: {UPLOADS} concurrent uploads, {:.1} MiB in {:.1} s = {:.1} MiB/s (uploads and \
         downloads, debug build, strict); server peak RSS {} MiB",
        total as f64 / (1 << 20) as f64,
        elapsed.as_secs_f64(),
        total as f64 / (1 << 20) as f64 / elapsed.as_secs_f64(),
        rss.map_or("?".into(), |k| (k / 1024).to_string()),
    );
    tokio::task::block_in_place(|| server.terminate());
    let inv = crate::store::check_consistent(&server.dir).await;
    assert!(inv.files.len() >= UPLOADS, "{} files", inv.files.len());
}
