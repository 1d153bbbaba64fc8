//! `cargo bench --bench engine`: engine ingest throughput against this machine's SHA-256 limit.
//!
//! Prints, in one run: single-core SHA-256 throughput (the limit), ingest of 1 GiB in 8 MiB
//! in-order chunks (target >= 0.85 of the limit) and in shuffled order (target >= 0.5), each as a
//! ratio. Set `CHUNKGATE_BENCH_MIB` to change the volume, `CHUNKGATE_BENCH_DIR` for the store's
//! location (default: a temp dir under the system temp dir).

use std::time::{Duration, Instant};

use bytes::Bytes;
use chunkgate::engine::*;
use sha2::{Digest, Sha256};

const CHUNK: usize = 8 << 20;

fn gen(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

fn mbps(bytes: u64, d: Duration) -> f64 {
    bytes as f64 / d.as_secs_f64() / 1e6
}

/// The chunk as an HTTP server would hand it over: 64 KiB pieces, no copies.
fn body(
    chunk: &Bytes,
) -> impl futures_util::Stream<Item = Result<Bytes, std::convert::Infallible>> + Unpin + Send {
    let pieces: Vec<_> = (0..chunk.len())
        .step_by(64 * 1024)
        .map(|at| Ok(chunk.slice(at..(at + 64 * 1024).min(chunk.len()))))
        .collect();
    futures_util::stream::iter(pieces)
}

async fn ingest(
    chunks: &[Bytes],
    order: &[usize],
    parallel: usize,
    durability: Durability,
) -> Duration {
    let base = std::env::var_os("CHUNKGATE_BENCH_DIR").map(std::path::PathBuf::from);
    let dir = match base {
        Some(b) => tempfile::tempdir_in(b).unwrap(),
        None => tempfile::tempdir().unwrap(),
    };
    let engine = Engine::open(EngineConfig {
        data_dir: dir.path().to_path_buf(),
        durability,
        min_free_space: 0,
        max_upload_size: 0,
        ..EngineConfig::default()
    })
    .await
    .unwrap();
    let owner = Principal::new("bench");
    let up = engine
        .create_upload(NewUpload {
            owner: owner.clone(),
            namespace: "bench".into(),
            layout: Layout::Indexed {
                count: Some(chunks.len() as u64),
            },
            digests: DigestSet::SHA256,
            ttl: None,
            labels: Default::default(),
        })
        .await
        .unwrap();
    let start = Instant::now();
    let queue = std::sync::Arc::new(std::sync::Mutex::new(Vec::from(order).into_iter()));
    let workers: Vec<_> = (0..parallel)
        .map(|_| {
            let (engine, owner, queue) = (engine.clone(), owner.clone(), queue.clone());
            let chunks = chunks.to_vec();
            tokio::spawn(async move {
                loop {
                    let next = queue.lock().unwrap().next();
                    let Some(i) = next else { break };
                    engine
                        .put_chunk(&owner, up.id, i as u64, body(&chunks[i]))
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    for w in workers {
        w.await.unwrap();
    }
    let c = engine
        .complete(
            &owner,
            up.id,
            Expectation::default(),
            NewFile {
                name: "bench".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let took = start.elapsed();
    assert!(matches!(c, Completion::Completed(_)));
    engine.shutdown().await.unwrap();
    took
}

fn main() {
    // `cargo bench` passes `--bench`; any other argument is ignored.
    let mib: usize = std::env::var("CHUNKGATE_BENCH_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1024);
    let total = (mib << 20) as u64;
    let n = (mib << 20) / CHUNK;
    println!("chunkgate engine bench: {mib} MiB in {n} chunks of 8 MiB");
    let chunks: Vec<Bytes> = (0..n)
        .map(|i| Bytes::from(gen(CHUNK, i as u64 + 1)))
        .collect();

    // The limit: single-core SHA-256 over the same bytes.
    let start = Instant::now();
    let mut h = Sha256::new();
    for c in &chunks {
        h.update(c);
    }
    std::hint::black_box(h.finalize());
    let limit = mbps(total, start.elapsed());

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let in_order: Vec<usize> = (0..n).collect();
    let mut shuffled = in_order.clone();
    let mut x: u64 = 0x1234_5678_9abc_def1;
    for i in (1..n).rev() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        shuffled.swap(i, (x % (i as u64 + 1)) as usize);
    }

    println!(
        "{:<34} {:>10} {:>8} {:>8}",
        "case", "MB/s", "ratio", "target"
    );
    println!(
        "{:<34} {:>10.0} {:>8.2} {:>8}",
        "sha256 single core (limit)", limit, 1.0, "-"
    );
    for (name, order, par, dur, target) in [
        (
            "ingest in-order, strict",
            &in_order,
            1,
            Durability::Strict,
            0.85,
        ),
        (
            "ingest in-order, relaxed",
            &in_order,
            1,
            Durability::Relaxed,
            0.85,
        ),
        (
            "ingest shuffled x2, strict",
            &shuffled,
            2,
            Durability::Strict,
            0.5,
        ),
        (
            "ingest shuffled x2, relaxed",
            &shuffled,
            2,
            Durability::Relaxed,
            0.5,
        ),
    ] {
        let took = rt.block_on(ingest(&chunks, order, par, dur));
        let m = mbps(total, took);
        println!(
            "{:<34} {:>10.0} {:>8.2} {:>8}",
            name,
            m,
            m / limit,
            format!(">= {target}")
        );
    }
}
