//! `docs/openapi.yaml` describes exactly what the server mounts: every mounted route (method and
//! path, as `MountedRoutes` records them while mounting) is documented, and every documented
//! operation is mounted. An operation marked `x-chunkgate-pending: true` documents a route
//! another part of the server adds later: it must not be mounted yet (when it is, drop the mark).

use crate::helpers::test_settings;
use chunkgate::startup::Application;
use std::collections::BTreeSet;

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

#[tokio::test]
async fn every_mounted_route_is_documented_and_every_documented_route_is_mounted() {
    // Arrange: the real application with every dialect enabled (the default).
    let dir = tempfile::tempdir().unwrap();
    let app = Application::build(test_settings(dir.path())).await.unwrap();
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/openapi.yaml"))
        .expect("docs/openapi.yaml");

    // Act
    let mounted: BTreeSet<(String, String)> = app
        .mounted_routes()
        .into_iter()
        .map(|r| (r.path, r.method.as_str().to_owned()))
        .collect();
    let doc: serde_norway::Value = serde_norway::from_str(&text).expect("valid YAML");
    let mut documented = BTreeSet::new();
    let mut pending = BTreeSet::new();
    for (path, item) in doc["paths"].as_mapping().expect("paths") {
        let path = path.as_str().unwrap().to_owned();
        for method in METHODS {
            if let Some(op) = item.get(method) {
                let key = (path.clone(), method.to_uppercase());
                if op.get("x-chunkgate-pending").and_then(|v| v.as_bool()) == Some(true) {
                    pending.insert(key);
                } else {
                    documented.insert(key);
                }
            }
        }
    }

    // Assert
    let undocumented: Vec<_> = mounted
        .difference(&documented)
        .filter(|r| !pending.contains(*r))
        .collect();
    let unmounted: Vec<_> = documented.difference(&mounted).collect();
    let now_mounted: Vec<_> = pending.intersection(&mounted).collect();
    assert!(
        mounted.len() > 40,
        "expected every dialect's routes, got {mounted:?}"
    );
    assert!(
        undocumented.is_empty(),
        "mounted but not in docs/openapi.yaml: {undocumented:?}"
    );
    assert!(
        unmounted.is_empty(),
        "in docs/openapi.yaml but not mounted: {unmounted:?}"
    );
    assert!(
        now_mounted.is_empty(),
        "mounted now: drop x-chunkgate-pending from {now_mounted:?}"
    );
}
