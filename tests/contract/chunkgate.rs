//! Every fixture folder except `selftest/` replayed against chunkgate itself, started
//! in-process on port 0 over a temp data dir. Each case gets a fresh server, so cases cannot
//! disturb one another; a new `fixtures/<dialect>/` folder is picked up without code changes.

use std::collections::BTreeMap;
use std::time::Duration;

use chunkgate::config::{Secret, Settings, TokenEntry};
use chunkgate::contract::{fixture_files, http_client, load_case, run_case};
use chunkgate::startup::Application;
use tempfile::TempDir;

use crate::helpers::fixtures;

/// The test credentials that fixture cases declare as their `vars` defaults
/// (`docs/fixtures.md`).
pub const TOKEN: &str = "test-user-token";
pub const OTHER_TOKEN: &str = "test-other-token";
pub const ADMIN_TOKEN: &str = "test-admin-token";

/// A running chunkgate; the data dir lives as long as this value.
pub struct Chunkgate {
    pub base_url: String,
    _data_dir: TempDir,
}

pub async fn spawn_chunkgate() -> Chunkgate {
    let data_dir = tempfile::tempdir().expect("temp dir");
    let mut settings = Settings {
        listen: "127.0.0.1:0".into(),
        data_dir: data_dir.path().to_owned(),
        // Test machines may have little free disk.
        min_free_space: 0,
        ..Settings::default()
    };
    settings.auth.tokens = vec![
        TokenEntry {
            token: Secret::new(TOKEN),
            principal: "alice".into(),
        },
        TokenEntry {
            token: Secret::new(OTHER_TOKEN),
            principal: "bob".into(),
        },
    ];
    settings.auth.admin_tokens = vec![Secret::new(ADMIN_TOKEN)];
    let app = Application::build(settings)
        .await
        .expect("chunkgate builds");
    let base_url = app.base_url();
    tokio::spawn(app.run_until_stopped());
    Chunkgate {
        base_url,
        _data_dir: data_dir,
    }
}

/// The fixture folders replayed against chunkgate: all but `selftest/`.
fn chunkgate_fixture_files() -> Vec<std::path::PathBuf> {
    let root = fixtures("");
    fixture_files(&root)
        .expect("fixtures/ is readable")
        .into_iter()
        .filter(|path| !path.starts_with(root.join("selftest")))
        .collect()
}

#[tokio::test]
async fn every_dialect_fixture_holds_against_chunkgate() {
    // Arrange
    let files = chunkgate_fixture_files();
    assert!(
        files.iter().any(|f| f.starts_with(fixtures("gateway"))),
        "the gateway cases are found"
    );
    let client = http_client(Duration::from_secs(30), false).unwrap();

    // Act
    let mut failed = Vec::new();
    for file in &files {
        let case = load_case(file).unwrap_or_else(|e| panic!("{e}"));
        let server = spawn_chunkgate().await;
        let report = run_case(&client, &server.base_url, &case, &BTreeMap::new()).await;
        if !report.ok {
            failed.push(report.to_string());
        }
    }

    // Assert
    assert!(
        failed.is_empty(),
        "{} of {} cases failed against chunkgate:\n{}",
        failed.len(),
        files.len(),
        failed.join("\n")
    );
}
