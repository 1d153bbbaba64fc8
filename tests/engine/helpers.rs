use std::convert::Infallible;
use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use chunkgate::engine::*;
use futures_util::stream::{self, Stream};
use sha2::{Digest, Sha256};

pub fn config(dir: &Path) -> EngineConfig {
    EngineConfig {
        data_dir: dir.to_path_buf(),
        durability: Durability::Strict,
        upload_ttl: Duration::from_secs(3600),
        min_free_space: 0,
        max_upload_size: 0,
        sweep_interval: Duration::from_secs(3600),
        max_open_uploads_per_owner: 0,
    }
}

pub async fn open(dir: &Path) -> Engine {
    Engine::open(config(dir)).await.expect("engine opens")
}

pub fn alice() -> Principal {
    Principal::new("alice")
}

pub fn bob() -> Principal {
    Principal::new("bob")
}

/// Deterministic pseudo-random bytes (xorshift), fast enough for megabytes.
pub fn bytes(seed: u64, len: usize) -> Vec<u8> {
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

/// A body stream that yields `data` in pieces of `piece` bytes.
pub fn body(
    data: &[u8],
    piece: usize,
) -> impl Stream<Item = Result<Bytes, Infallible>> + Unpin + Send {
    let piece = piece.max(1);
    let parts: Vec<Result<Bytes, Infallible>> = data
        .chunks(piece)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    stream::iter(parts)
}

/// A body that yields `data` and then fails like a dropped connection.
pub fn cut_body(data: &[u8]) -> impl Stream<Item = Result<Bytes, String>> + Unpin + Send {
    let parts = vec![
        Ok(Bytes::copy_from_slice(data)),
        Err("connection reset".to_string()),
    ];
    stream::iter(parts)
}

pub fn sha256(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

pub fn indexed(count: Option<u64>) -> NewUpload {
    NewUpload {
        owner: alice(),
        namespace: "test".into(),
        layout: Layout::Indexed { count },
        digests: DigestSet::ALL,
        ttl: None,
        labels: Default::default(),
    }
}

pub fn named(name: &str) -> NewFile {
    NewFile {
        name: name.into(),
        ..Default::default()
    }
}

pub fn content(engine: &Engine, f: &FileInfo) -> Vec<u8> {
    std::fs::read(engine.content_path(f)).expect("blob readable")
}

pub fn completed(c: Completion) -> FileInfo {
    match c {
        Completion::Completed(f) => f,
        other => panic!("expected completion, got {other:?}"),
    }
}

/// Every regular file under `dir`, relative, sorted (to detect leaks and strays).
pub fn files_under(dir: &Path) -> Vec<String> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let e = e.unwrap();
            let p = e.path();
            if p.is_dir() {
                walk(base, &p, out);
            } else {
                out.push(p.strip_prefix(base).unwrap().display().to_string());
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.retain(|p| !p.starts_with("meta"));
    out.sort();
    out
}
