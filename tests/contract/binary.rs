//! The `chunkgate contract` subcommand run as a process: against the stub, a deliberately
//! wrong stub, and a running chunkgate.

use crate::chunkgate::spawn_chunkgate;
use crate::helpers::fixtures;
use crate::stub::{spawn, Mode};

/// Runs `chunkgate contract --base-url URL PATH...`; returns the exit code and stdout.
async fn chunkgate_contract(base_url: &str, paths: &[std::path::PathBuf]) -> (i32, String) {
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_chunkgate"))
        .arg("contract")
        .args(["--base-url", base_url])
        .args(paths)
        .output()
        .await
        .expect("chunkgate runs");
    (
        output.status.code().expect("an exit code"),
        String::from_utf8(output.stdout).expect("UTF-8 output"),
    )
}

#[actix_web::test]
async fn the_command_passes_the_selftest_folder_against_the_stub() {
    // Arrange
    let base_url = spawn(Mode::Right);

    // Act
    let (status, output) = chunkgate_contract(&base_url, &[fixtures("selftest")]).await;

    // Assert
    assert_eq!(status, 0, "{output}");
    assert!(output.starts_with("ok selftest/base64-json\n"), "{output}");
    assert!(output.ends_with(" passed, 0 failed\n"), "{output}");
}

#[actix_web::test]
async fn the_command_reports_a_wrong_server_and_exits_1() {
    // Arrange
    let base_url = spawn(Mode::Wrong);

    // Act
    let (status, output) = chunkgate_contract(&base_url, &[fixtures("selftest")]).await;

    // Assert
    assert_eq!(status, 1, "{output}");
    let fails: Vec<&str> = output.lines().filter(|l| l.starts_with("FAIL ")).collect();
    assert_eq!(fails.len(), 5, "{output}");
    assert!(output.contains(
        "FAIL selftest/headers custom headers: $.headers[\"content-type\"]: expected no such key, got string \"application/json\"\n"
    ));
    assert!(output.ends_with("3 passed, 5 failed\n"), "{output}");
}

#[tokio::test]
async fn the_command_passes_the_gateway_folder_against_a_running_chunkgate() {
    // Arrange
    let server = spawn_chunkgate().await;

    // Act
    let (status, output) = chunkgate_contract(&server.base_url, &[fixtures("gateway")]).await;

    // Assert
    assert_eq!(status, 0, "{output}");
    assert!(output.contains("ok gateway/healthz\n"), "{output}");
}
