//! Crash test: a child process ingesting an upload is killed with SIGKILL at random moments;
//! after each restart every acknowledged chunk is still there, the rest can be re-sent, and the
//! file completes with the right digest. Also kills during completion.
//!
//! This test target has no libtest harness: `main` is the parent, and it re-runs its own
//! executable as the child (selected by the `CHUNKGATE_CRASH_CHILD` variable).

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use bytes::Bytes;
use chunkgate::engine::*;
use sha2::{Digest, Sha256};

const CHUNKS: u64 = 24;

fn chunk(i: u64) -> Vec<u8> {
    // 256 KiB .. ~1.2 MiB, deterministic content.
    let len = 256 * 1024 + (i as usize * 40_503) % (1024 * 1024);
    let mut x = (i + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
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

fn whole() -> Vec<u8> {
    (0..CHUNKS).flat_map(chunk).collect()
}

fn config(dir: &Path) -> EngineConfig {
    EngineConfig {
        data_dir: dir.to_path_buf(),
        min_free_space: 0,
        ..EngineConfig::default()
    }
}

fn body(
    data: Vec<u8>,
) -> impl futures_util::Stream<Item = Result<Bytes, std::convert::Infallible>> + Unpin + Send {
    let parts: Vec<_> = data
        .chunks(64 * 1024)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    futures_util::stream::iter(parts)
}

fn owner() -> Principal {
    Principal::new("crash")
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// The order a cycle sends chunks in: in order for even cycles, shuffled for odd ones.
fn order(cycle: u64) -> Vec<u64> {
    let mut o: Vec<u64> = (0..CHUNKS).collect();
    if cycle % 2 == 1 {
        let mut x = cycle.wrapping_mul(0x2545_F491_4F6C_DD1D) | 1;
        for i in (1..o.len()).rev() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            o.swap(i, (x % (i as u64 + 1)) as usize);
        }
    }
    o
}

fn child(dir: &str, id: &str, cycle: u64) {
    let id: UploadId = id.parse().unwrap();
    runtime().block_on(async {
        let engine = Engine::open(config(Path::new(dir))).await.unwrap();
        let mut out = std::io::stdout();
        for i in order(cycle) {
            engine
                .put_chunk(&owner(), id, i, body(chunk(i)))
                .await
                .unwrap();
            writeln!(out, "ack {i}").unwrap();
            out.flush().unwrap();
        }
        writeln!(out, "completing").unwrap();
        out.flush().unwrap();
        let c = engine
            .complete(&owner(), id, Expectation::default(), file_meta(cycle))
            .await
            .unwrap();
        assert!(matches!(c, Completion::Completed(_)));
        writeln!(out, "completed").unwrap();
        out.flush().unwrap();
    });
}

fn file_meta(cycle: u64) -> NewFile {
    NewFile {
        name: format!("crash-{cycle}"),
        aliases: vec![("crash".into(), cycle.to_string())],
        ..Default::default()
    }
}

/// One cycle: start an upload, let a child ingest it and kill it after `kill_after` output
/// lines, then restart on the same store and check.
fn cycle(dir: &Path, cycle: u64, kill_after: usize) -> Result<String, String> {
    let rt = runtime();
    let id = rt.block_on(async {
        let engine = Engine::open(config(dir)).await.unwrap();
        let new = NewUpload {
            owner: owner(),
            namespace: "crash".into(),
            layout: Layout::Indexed {
                count: Some(CHUNKS),
            },
            digests: DigestSet::SHA256,
            ttl: None,
            labels: Default::default(),
        };
        let id = engine.create_upload(new).await.unwrap().id;
        engine.shutdown().await.unwrap();
        id
    });
    drop(rt);

    let mut child = Command::new(std::env::current_exe().unwrap())
        .env("CHUNKGATE_CRASH_CHILD", dir)
        .env("CHUNKGATE_CRASH_UPLOAD", id.to_string())
        .env("CHUNKGATE_CRASH_CYCLE", cycle.to_string())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut acked = Vec::new();
    let mut seen = 0;
    let mut completing = false;
    while seen < kill_after {
        let Some(line) = lines.next() else { break };
        let line = line.map_err(|e| e.to_string())?;
        seen += 1;
        if let Some(i) = line.strip_prefix("ack ") {
            acked.push(i.parse::<u64>().unwrap());
        } else if line == "completing" {
            completing = true;
        }
    }
    child.kill().map_err(|e| e.to_string())?; // SIGKILL
    child.wait().map_err(|e| e.to_string())?;

    let want = whole();
    let rt = runtime();
    rt.block_on(async {
        let engine = Engine::open(config(dir)).await.map_err(|e| e.to_string())?;
        let file = match engine.upload(&owner(), id).await {
            Ok(info) => {
                for i in &acked {
                    if !info.chunks.contains(i) {
                        return Err(format!(
                            "acknowledged chunk {i} lost (held: {:?})",
                            info.chunks
                        ));
                    }
                }
                for i in 0..CHUNKS {
                    if !info.chunks.contains(&i) {
                        engine
                            .put_chunk(&owner(), id, i, body(chunk(i)))
                            .await
                            .map_err(|e| e.to_string())?;
                    }
                }
                let expect = Expectation::default()
                    .digest(DigestKind::Sha256, hex::encode(Sha256::digest(&want)));
                match engine
                    .complete(&owner(), id, expect, file_meta(cycle))
                    .await
                    .map_err(|e| e.to_string())?
                {
                    Completion::Completed(f) => f,
                    other => return Err(format!("completion after restart: {other:?}")),
                }
            }
            Err(Error::UnknownUpload) if completing => {
                // Killed after the completion intent: start-up finished it.
                let fid = engine
                    .resolve_alias("crash", &cycle.to_string())
                    .await
                    .map_err(|e| e.to_string())?;
                let fid = fid.ok_or("upload gone but no file")?;
                engine
                    .file(&fid)
                    .await
                    .map_err(|e| e.to_string())?
                    .ok_or("file record missing")?
            }
            Err(e) => return Err(format!("upload lost: {e}")),
        };
        let got = std::fs::read(engine.content_path(&file)).map_err(|e| e.to_string())?;
        if got != want {
            return Err("assembled bytes differ".into());
        }
        if file.digests.sha256 != hex::encode(Sha256::digest(&want)) {
            return Err("digest differs".into());
        }
        engine.shutdown().await.map_err(|e| e.to_string())?;
        Ok(format!(
            "{} acknowledged before the kill{}",
            acked.len(),
            if completing {
                ", during completion"
            } else {
                ""
            }
        ))
    })
}

fn main() {
    if let Ok(dir) = std::env::var("CHUNKGATE_CRASH_CHILD") {
        let id = std::env::var("CHUNKGATE_CRASH_UPLOAD").unwrap();
        let cycle: u64 = std::env::var("CHUNKGATE_CRASH_CYCLE")
            .unwrap()
            .parse()
            .unwrap();
        child(&dir, &id, cycle);
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // Kill points: early, middle, late, right after the completion intent, and random ones.
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    let mut kills = vec![1usize, 9, 17, 24, 25, 26];
    let mut x = seed | 1;
    for _ in 0..4 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        kills.push(1 + (x % (CHUNKS + 2)) as usize);
    }
    let mut failed = 0;
    for (n, k) in kills.iter().enumerate() {
        let name = format!("crash::sigkill_after_{k}_lines_cycle_{n}");
        match cycle(dir.path(), n as u64, *k) {
            Ok(what) => println!("test {name} ... ok ({what})"),
            Err(e) => {
                println!("test {name} ... FAILED: {e}");
                failed += 1;
            }
        }
    }
    let passed = kills.len() - failed;
    println!();
    println!(
        "test result: {}. {passed} passed; {failed} failed; 0 ignored; 0 measured; 0 filtered out (seed {seed})",
        if failed == 0 { "ok" } else { "FAILED" }
    );
    if failed > 0 {
        std::process::exit(1);
    }
}
