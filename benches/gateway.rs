//! `cargo bench --bench gateway`: every dialect end to end over HTTP, against this machine's
//! limits measured in the same run (issue 10, results in docs/performance.md).
//!
//! Starts the release `chunkgate` binary as a child process (port 0, a temp data dir, a config
//! with the bench user's token and `min_free_space = 0`), one fresh server per case and
//! durability so each case's peak RSS (`VmHWM`) is its own, drives it with reqwest (keep-alive,
//! streaming bodies with a declared length) and prints one table.
//!
//! Limits, measured first: single-core SHA-256, MD5 and SHA-1 over the bench content, and the
//! loopback ceiling (the same bytes PUT in 8 MiB requests to a discard server in this process).
//!
//! Environment:
//! - `CHUNKGATE_BENCH_SCALE` (default 1.0): multiplies every volume (0.1 runs a tenth);
//! - `CHUNKGATE_BENCH_ONLY`: run only cases whose name contains this text;
//! - `CHUNKGATE_BENCH_DIR`: where the temp data dirs go (default: the system temp dir);
//! - `CHUNKGATE_BENCH_PERF=<file>`: `perf record -g` the server of each case into `<file>`
//!   (use with `CHUNKGATE_BENCH_ONLY`).

#[path = "gateway/cases.rs"]
mod cases;
#[path = "gateway/client.rs"]
mod client;
#[path = "gateway/server.rs"]
mod server;

use client::Latencies;
use std::sync::Arc;
use std::time::Instant;

const MIB: u64 = 1 << 20;
const KIB: u64 = 1 << 10;

/// What a case's ratio is measured against.
#[derive(Clone, Copy)]
enum Limit {
    Sha256,
    Md5,
    /// Two cores hashing: 2 x single-core SHA-256.
    Sha256x2,
    /// Two digests over every byte (CID and SHA-256): SHA-256 / 2.
    Sha256Half,
    None,
}

#[derive(Clone, Copy)]
enum Target {
    Ratio(f64),
    /// Chunks per second, relaxed durability only.
    ChunksPerSec(f64),
}

struct Case {
    name: &'static str,
    dialect: &'static str,
    workload: &'static str,
    limit: Limit,
    target: Target,
    rss_limit: u64,
}

struct Limits {
    sha256: f64,
    md5: f64,
    sha1: f64,
    loopback: f64,
}

const RSS: u64 = 128 * MIB;
const RSS_JSON: u64 = 64 * MIB + 4 * server::SPIKA_BODY_LIMIT;

const CASES: [Case; 8] = [
    Case {
        name: "filesnest-large",
        dialect: "filesnest",
        workload: "1 GiB, 8 MiB chunks in order, SHA-256 verify",
        limit: Limit::Sha256,
        target: Target::Ratio(0.75),
        rss_limit: RSS,
    },
    Case {
        name: "dyson-large",
        dialect: "dyson",
        workload: "1 GiB, 5 MiB multipart chunks, MD5",
        limit: Limit::Md5,
        target: Target::Ratio(0.75),
        rss_limit: RSS,
    },
    Case {
        name: "audioboom-large",
        dialect: "audioboom",
        workload: "512 MiB, 1000 KiB offset chunks, SHA-1 fingerprint",
        limit: Limit::Sha256,
        target: Target::Ratio(0.6),
        rss_limit: RSS,
    },
    Case {
        name: "spika-large",
        dialect: "spika",
        workload: "512 MiB, 1 MiB base64 JSON chunks, SHA-256",
        limit: Limit::Sha256,
        target: Target::Ratio(0.4),
        rss_limit: RSS_JSON,
    },
    Case {
        name: "dstor-folder",
        dialect: "dstor",
        workload: "20 files x 25 MiB in 4 requests, CIDs + SHA-256",
        limit: Limit::Sha256Half,
        target: Target::Ratio(0.6),
        rss_limit: RSS,
    },
    Case {
        name: "parallel-4",
        dialect: "filesnest",
        workload: "4 concurrent 512 MiB filesnest uploads",
        limit: Limit::Sha256x2,
        target: Target::Ratio(0.6),
        rss_limit: RSS,
    },
    Case {
        name: "small-chunks",
        dialect: "spika",
        workload: "spika 72 KiB chunks, 16 concurrent clients",
        limit: Limit::None,
        target: Target::ChunksPerSec(4000.0),
        rss_limit: RSS_JSON,
    },
    Case {
        name: "shuffled",
        dialect: "filesnest",
        workload: "filesnest 1 GiB, chunks in random order, 4 at a time",
        limit: Limit::Sha256,
        target: Target::Ratio(0.5),
        rss_limit: RSS,
    },
];

/// Is `dialect` mounted in this build (its row of `DIALECTS` has an entry point)?
fn mounted(dialect: &str) -> bool {
    chunkgate::dialects::DIALECTS
        .iter()
        .any(|d| d.name == dialect && d.configure.is_some())
}

/// `v` scaled, rounded down to a whole number of `unit`s, at least `min` units.
fn scaled(v: u64, unit: u64, min: u64, scale: f64) -> u64 {
    ((((v as f64) * scale) as u64 / unit).max(min)) * unit
}

async fn drive(
    name: &str,
    base: &str,
    scale: f64,
    lat: Arc<Latencies>,
) -> Result<cases::Measured, String> {
    match name {
        "filesnest-large" => {
            let len = scaled(1024 * MIB, 8 * MIB, 2, scale);
            cases::filesnest(base, 1, len, 8 * MIB, false, 1, lat).await
        }
        "dyson-large" => {
            let len = scaled(1024 * MIB, 5 * MIB, 2, scale);
            cases::dyson(base, len, 5 * MIB, lat).await
        }
        "audioboom-large" => {
            let len = scaled(512 * MIB, 1000 * KIB, 2, scale);
            cases::audioboom(base, len, 1000 * KIB, lat).await
        }
        "spika-large" => {
            let len = scaled(512 * MIB, MIB, 2, scale);
            cases::spika(base, 1, len, MIB, lat).await
        }
        "dstor-folder" => {
            let file = scaled(25 * MIB, MIB, 1, scale);
            cases::dstor(base, 4, 5, file, lat).await
        }
        "parallel-4" => {
            let len = scaled(512 * MIB, 8 * MIB, 2, scale);
            cases::filesnest(base, 4, len, 8 * MIB, false, 1, lat).await
        }
        "small-chunks" => {
            let len = scaled(256 * 72 * KIB, 72 * KIB, 8, scale);
            cases::spika(base, 16, len, 72 * KIB, lat).await
        }
        "shuffled" => {
            let len = scaled(1024 * MIB, 8 * MIB, 4, scale);
            cases::filesnest(base, 1, len, 8 * MIB, true, 4, lat).await
        }
        other => Err(format!("unknown case {other}")),
    }
}

fn hash_limit<D: sha2::Digest>(content: &client::Content) -> f64 {
    // Best of three: other processes share the cores.
    (0..3)
        .map(|_| {
            let start = Instant::now();
            let mut h = D::new();
            for p in content.all() {
                h.update(&p);
            }
            std::hint::black_box(h.finalize());
            content.len as f64 / start.elapsed().as_secs_f64() / 1e6
        })
        .fold(0.0, f64::max)
}

fn main() {
    let scale: f64 = std::env::var("CHUNKGATE_BENCH_SCALE")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|v: &f64| *v > 0.0)
        .unwrap_or(1.0);
    let only = std::env::var("CHUNKGATE_BENCH_ONLY").unwrap_or_default();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();

    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let sha_ni = std::fs::read_to_string("/proc/cpuinfo")
        .map(|c| c.split_whitespace().any(|w| w == "sha_ni"))
        .unwrap_or(false);
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "chunkgate gateway bench: scale {scale}, {cores} cores, SHA-NI {}, load average {}",
        if sha_ni { "yes" } else { "no" },
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );

    let sample = client::Content::new(1, scaled(256 * MIB, MIB, 16, scale));
    let discard = server::start_discard();
    let limits = Limits {
        sha256: hash_limit::<sha2::Sha256>(&sample),
        md5: hash_limit::<md5::Md5>(&sample),
        sha1: hash_limit::<sha1::Sha1>(&sample),
        loopback: (0..2)
            .map(|_| {
                let m = rt
                    .block_on(cases::loopback(
                        &discard,
                        scaled(1024 * MIB, 8 * MIB, 2, scale),
                        8 * MIB,
                    ))
                    .expect("loopback ceiling");
                m.bytes as f64 / m.took.as_secs_f64() / 1e6
            })
            .fold(0.0, f64::max),
    };
    println!();
    println!(
        "limits (MB/s): sha256 {:.0}, md5 {:.0}, sha1 {:.0}, loopback PUT {:.0}",
        limits.sha256, limits.md5, limits.sha1, limits.loopback
    );
    println!();
    println!(
        "{:<16} {:<8} {:>7} {:>8} {:>8} {:>8} {:>8} {:>11} {:>6} {:>10} {:>5} {:>6} {:>7}",
        "case",
        "durab.",
        "MB/s",
        "chunks/s",
        "p50 ms",
        "p99 ms",
        "RSS MiB",
        "limit MB/s",
        "ratio",
        "target",
        "met",
        "vs lo",
        "srv CPU"
    );
    let mut misses = Vec::new();
    for case in CASES.iter().filter(|c| c.name.contains(&only)) {
        for durability in ["strict", "relaxed"] {
            let row = format!("{:<16} {:<8}", case.name, durability);
            if !mounted(case.dialect) {
                println!("{row} n/a (dialect {} not implemented)", case.dialect);
                continue;
            }
            let server = match server::Server::start(durability) {
                Ok(s) => s,
                Err(e) => {
                    println!("{row} error: {e}");
                    continue;
                }
            };
            let lat = Arc::new(Latencies::default());
            let cpu0 = server.cpu_seconds();
            let result = rt.block_on(drive(case.name, &server.base, scale, lat.clone()));
            let rss = server.peak_rss();
            let cpu = server.cpu_seconds() - cpu0;
            let m = match result {
                Ok(m) => m,
                Err(e) => {
                    println!("{row} error: {e}\n{}", server.log_tail());
                    continue;
                }
            };
            drop(server);
            let mbps = m.bytes as f64 / m.took.as_secs_f64() / 1e6;
            let cps = lat.count() as f64 / m.took.as_secs_f64();
            let limit = match case.limit {
                Limit::Sha256 => Some(limits.sha256),
                Limit::Md5 => Some(limits.md5),
                Limit::Sha256x2 => Some(2.0 * limits.sha256),
                Limit::Sha256Half => Some(limits.sha256 / 2.0),
                Limit::None => None,
            };
            let ratio = limit.map(|l| mbps / l);
            let (target, met) = match case.target {
                Target::Ratio(t) => (format!(">= {t}"), ratio.is_some_and(|r| r >= t)),
                Target::ChunksPerSec(t) if durability == "relaxed" => {
                    (format!(">= {t:.0}/s"), cps >= t)
                }
                Target::ChunksPerSec(_) => ("-".to_string(), true),
            };
            let rss_ok = rss <= case.rss_limit;
            let no_target =
                matches!(case.target, Target::ChunksPerSec(_)) && durability != "relaxed";
            let verdict = match (met, rss_ok) {
                (true, true) if no_target => "-",
                (true, true) => "yes",
                (false, _) => "no",
                (true, false) => "rss",
            };
            if verdict != "yes" && verdict != "-" {
                misses.push(format!("{} {durability}", case.name));
            }
            println!(
                "{row} {:>7.0} {:>8.0} {:>8.1} {:>8.1} {:>8.0} {:>11} {:>6} {:>10} {:>5} {:>6.2} {:>6.0}%",
                mbps,
                cps,
                lat.quantile_ms(0.5),
                lat.quantile_ms(0.99),
                rss as f64 / MIB as f64,
                limit.map_or("-".into(), |l| format!("{l:.0}")),
                ratio.map_or("-".into(), |r| format!("{r:.2}")),
                target,
                verdict,
                mbps / limits.loopback,
                100.0 * cpu / m.took.as_secs_f64(),
            );
        }
    }
    println!();
    println!("workloads:");
    for case in &CASES {
        println!(
            "  {:<16} {} (peak RSS <= {} MiB)",
            case.name,
            case.workload,
            case.rss_limit / MIB
        );
    }
    println!(
        "  met: yes = target and RSS met; - = no target, RSS met; no = target missed; rss = target met, RSS over. vs lo = MB/s / loopback PUT ceiling; srv CPU = server CPU time / wall time (200% = both cores)."
    );
    if !misses.is_empty() {
        println!("  not met: {}", misses.join(", "));
    }
}
