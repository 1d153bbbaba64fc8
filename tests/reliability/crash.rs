//! Group 1, crash: the real binary receives one upload stream per dialect in parallel and is
//! SIGKILLed at random moments (seeded; some aimed at completions), then restarted on the same
//! data dir and port. Clients resume as their dialect allows (see `clients`). Strict: nothing
//! acknowledged may be missing, every upload completes and downloads byte-identical. Relaxed:
//! acknowledged chunks may be forgotten (clients re-send or start over), never corrupted. Both:
//! the store is consistent afterwards (`store::check_consistent`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rand::{Rng, SeedableRng};

use crate::clients::{self, content, Target, DIALECTS};
use crate::server::Server;

/// The seed of a run: `CHUNKGATE_SEED` to replay one, the clock otherwise.
pub fn seed() -> u64 {
    std::env::var("CHUNKGATE_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        })
}

/// Kill cycles per run: more with `CHUNKGATE_LONG_TESTS=1` (which `.ci/run` sets).
fn cycles(short: usize, long: usize) -> usize {
    if std::env::var_os("CHUNKGATE_LONG_TESTS").is_some() {
        long
    } else {
        short
    }
}

async fn crash_run(durability: &str, kills: usize) {
    let seed = seed();
    println!("crash {durability}: seed {seed} (CHUNKGATE_SEED={seed} replays it)");
    let root = tempfile::tempdir().unwrap();
    let mut server = Server::start(root.path(), &format!("durability = \"{durability}\""));
    let target = Target::new(&server.base(), durability == "strict");
    let stop = Arc::new(AtomicBool::new(false));

    let mut clients = Vec::new();
    for (n, dialect) in DIALECTS.iter().enumerate() {
        let (t, stop) = (target.clone(), stop.clone());
        clients.push(tokio::spawn(async move {
            let mut rng = rand::rngs::StdRng::seed_from_u64(seed ^ ((n as u64 + 1) << 40));
            let mut done = 0usize;
            while !stop.load(Ordering::Relaxed) {
                let data = content(rng.gen(), rng.gen_range(1..3 << 20));
                let chunk = rng.gen_range(64 << 10..512 << 10);
                clients::upload_resilient(&t, dialect, &data, chunk)
                    .await
                    .map_err(|e| format!("{dialect} upload {done}: {e}"))?;
                done += 1;
            }
            Ok::<_, String>((dialect, done))
        }));
    }

    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut aimed = 0;
    for _ in 0..kills {
        if rng.gen_bool(0.4) {
            // Aimed at a completion: just after a client sends its last chunk / complete call.
            let hit =
                tokio::time::timeout(Duration::from_secs(10), target.tally.completing.notified())
                    .await;
            aimed += usize::from(hit.is_ok());
            tokio::time::sleep(Duration::from_millis(rng.gen_range(0..40))).await;
        } else {
            tokio::time::sleep(Duration::from_millis(rng.gen_range(50..1200))).await;
        }
        tokio::task::block_in_place(|| server.restart());
    }
    stop.store(true, Ordering::Relaxed);
    let mut uploads = Vec::new();
    for c in clients {
        match c.await.unwrap() {
            Ok(r) => uploads.push(r),
            Err(e) => panic!(
                "seed {seed}: {e}\nserver log:\n{}",
                std::fs::read_to_string(&server.log).unwrap_or_default()
            ),
        }
    }
    tokio::task::block_in_place(|| server.terminate());
    let inv = crate::store::check_consistent(&server.dir).await;

    let tally = &target.tally;
    println!(
        "crash {durability}: {kills} SIGKILLs survived ({aimed} aimed at completions), {} \
         interrupted requests, uploads completed {uploads:?}; lost-and-resent acknowledged \
         items {}, uploads restarted {}; store after: {} files, {} open uploads",
        tally.interrupted.load(Ordering::Relaxed),
        tally.lost.load(Ordering::Relaxed),
        tally.restarted.load(Ordering::Relaxed),
        inv.files.len(),
        inv.uploads.len(),
    );
    assert!(uploads.iter().all(|(_, n)| *n > 0), "{uploads:?}");
    if durability == "strict" {
        assert_eq!(tally.lost.load(Ordering::Relaxed), 0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_at_random_moments_loses_no_acknowledged_chunk_in_any_dialect_in_strict_mode() {
    crash_run("strict", cycles(6, 12)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_in_relaxed_mode_forgets_at_most_recent_acknowledgements_and_never_corrupts() {
    crash_run("relaxed", cycles(4, 8)).await;
}
