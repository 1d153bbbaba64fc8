//! Shared by the contract tests: where fixtures live, and replaying a folder.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use chunkgate::contract::{http_client, load_dir, run_case, CaseReport};

/// `fixtures/<folder>` of this repository.
pub fn fixtures(folder: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(folder)
}

/// Replays every case under `fixtures/<folder>` against `base_url`.
pub async fn replay(
    folder: &str,
    base_url: &str,
    overrides: &BTreeMap<String, String>,
) -> Vec<CaseReport> {
    let cases = load_dir(fixtures(folder)).expect("fixtures load");
    assert!(!cases.is_empty(), "no fixtures under {folder}");
    let client = http_client(Duration::from_secs(10), false).expect("HTTP client");
    let mut reports = Vec::new();
    for case in &cases {
        reports.push(run_case(&client, base_url, case, overrides).await);
    }
    reports
}

/// Every report as the command prints it, one per line.
pub fn lines(reports: &[CaseReport]) -> String {
    reports
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}
