//! Checks a data dir after the server stopped: the engine opens it (reconciling), and what it
//! holds is consistent, so no upload is left half-merged: every file's content exists with its
//! size and SHA-256, blob refcounts equal the files referencing them, no content file lacks an
//! index entry, and the spool holds exactly the open uploads.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use chunkgate::engine::{Engine, EngineConfig, Inventory};

use crate::clients::sha256_hex;

/// Everything under `dir/spool` (temp state of uploads in flight), as relative paths.
pub fn spool_files(dir: &Path) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let root = dir.join("spool");
    let mut stack = vec![root.clone()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.insert(p.strip_prefix(&root).unwrap().display().to_string());
            }
        }
    }
    out
}

/// Opens the store in `dir` (the server must be stopped), checks it, and returns its inventory.
pub async fn check_consistent(dir: &Path) -> Inventory {
    let engine = Engine::open(EngineConfig {
        data_dir: dir.to_owned(),
        min_free_space: 0,
        ..EngineConfig::default()
    })
    .await
    .expect("the store opens after the crashes");
    let inv = engine.inventory().await.unwrap();
    assert_consistent(&engine, &inv);
    engine.shutdown().await.unwrap();
    inv
}

/// The consistency rules on a running engine's inventory.
pub fn assert_consistent(engine: &Engine, inv: &Inventory) {
    let mut refs: BTreeMap<String, u64> = BTreeMap::new();
    for f in &inv.files {
        *refs.entry(f.digests.sha256.clone()).or_default() += 1;
        let bytes = std::fs::read(engine.content_path(f))
            .unwrap_or_else(|e| panic!("file {} ({}): content missing: {e}", f.id, f.name));
        assert_eq!(bytes.len() as u64, f.size, "file {} size", f.id);
        assert_eq!(
            sha256_hex(&bytes),
            f.digests.sha256,
            "file {} content",
            f.id
        );
    }
    let index: BTreeMap<String, u64> = inv.blobs.iter().cloned().collect();
    for (sha, n) in &refs {
        assert!(
            index.get(sha).is_some_and(|r| r >= n),
            "blob {sha}: {n} files, index says {:?}",
            index.get(sha)
        );
    }
    let on_disk: BTreeSet<String> = std::fs::read_dir(engine.data_dir().join("blobs/sha256"))
        .unwrap()
        .flatten()
        .flat_map(|shard| std::fs::read_dir(shard.path()).unwrap().flatten())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    let indexed: BTreeSet<String> = index.keys().cloned().collect();
    assert_eq!(on_disk, indexed, "content files vs blob index");
    let spools: BTreeSet<String> = std::fs::read_dir(engine.data_dir().join("spool"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    let open: BTreeSet<String> = inv.uploads.iter().map(|u| u.id.to_string()).collect();
    assert_eq!(spools, open, "spool dirs vs open uploads");
}
