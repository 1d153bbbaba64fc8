//! The real binary: the listening line, config errors, precedence, the dev token, shutdown.

use std::path::Path;
use std::process::{Output, Stdio};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};

/// Guard against a hung child; never a readiness wait (that is the listening line).
const LIMIT: Duration = Duration::from_secs(60);

fn chunkgate() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_chunkgate"));
    cmd.env_remove("CHUNKGATE_CONFIG")
        .env_remove("CHUNKGATE_LISTEN")
        .env_remove("CHUNKGATE_DATA_DIR")
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    cmd
}

/// A running server process.
struct Running {
    child: Child,
    stdout: Lines<BufReader<ChildStdout>>,
    base_url: String,
}

/// Starts the binary and waits for its listening line.
async fn start(mut cmd: Command) -> Running {
    let mut child = cmd.spawn().expect("spawn chunkgate");
    let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
    let line = tokio::time::timeout(LIMIT, stdout.next_line())
        .await
        .expect("the listening line in time")
        .unwrap()
        .expect("a first stdout line");
    let base_url = line
        .strip_prefix("chunkgate listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    Running {
        child,
        stdout,
        base_url,
    }
}

impl Running {
    /// SIGTERM, then the exit status, the remaining stdout lines and all of stderr.
    async fn stop(mut self) -> (Output, Vec<String>) {
        let pid = self.child.id().expect("still running") as libc::pid_t;
        // SAFETY: kill(2) on our own child's pid; no memory is involved.
        assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
        let mut rest = Vec::new();
        while let Some(line) = self.stdout.next_line().await.unwrap() {
            rest.push(line);
        }
        let output = tokio::time::timeout(LIMIT, self.child.wait_with_output())
            .await
            .expect("exit after SIGTERM")
            .unwrap();
        (output, rest)
    }

    async fn healthz(&self) -> reqwest::StatusCode {
        reqwest::get(format!("{}/healthz", self.base_url))
            .await
            .unwrap()
            .status()
    }
}

async fn run_to_exit(mut cmd: Command) -> Output {
    tokio::time::timeout(LIMIT, cmd.output())
        .await
        .expect("exit in time")
        .unwrap()
}

fn serve_in(dir: &Path) -> Command {
    let mut cmd = chunkgate();
    cmd.arg("serve")
        .arg("--listen")
        .arg("127.0.0.1:0")
        .arg("--data-dir")
        .arg(dir.join("data"));
    cmd
}

#[tokio::test]
async fn the_binary_prints_one_listening_line_serves_and_stops_on_sigterm() {
    // Arrange
    let dir = tempfile::tempdir().unwrap();

    // Act
    let server = start(serve_in(dir.path())).await;
    let health = server.healthz().await;
    let (output, more_stdout) = server.stop().await;

    // Assert: reaching /healthz proves the printed port is the bound one (we asked for 0).
    assert_eq!(health, 200);
    assert!(more_stdout.is_empty(), "extra stdout: {more_stdout:?}");
    assert!(
        output.status.success(),
        "exit {:?}, stderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
}

#[tokio::test]
async fn serve_is_the_default_subcommand() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = chunkgate();
    cmd.args(["--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path().join("data"));

    let server = start(cmd).await;

    assert_eq!(server.healthz().await, 200);
    server.stop().await;
}

#[tokio::test]
async fn an_unknown_config_key_stops_the_start_and_is_named() {
    for (text, key) in [
        ("listne = \"127.0.0.1:0\"\n", "listne"),
        (
            "[dialects.filesnest]\nupload_max_sise = 5\n",
            "upload_max_sise",
        ),
        ("[auth]\ntoken = \"x\"\n", "token"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("chunkgate.toml");
        std::fs::write(&config, text).unwrap();
        let mut cmd = serve_in(dir.path());
        cmd.arg("--config").arg(&config);

        let output = run_to_exit(cmd).await;

        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{text}");
        assert!(stderr.contains(key), "{key} not named in: {stderr}");
        assert!(stderr.contains("chunkgate.toml"), "{stderr}");
        assert!(output.stdout.is_empty());
    }
}

#[tokio::test]
async fn the_environment_overrides_the_file_and_flags_override_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("chunkgate.toml");
    std::fs::write(&config, "listen = \"not an address\"\n").unwrap();
    let data = dir.path().join("data");

    // env > file: the file's listen would fail.
    let mut cmd = chunkgate();
    cmd.env("CHUNKGATE_CONFIG", &config)
        .env("CHUNKGATE_LISTEN", "127.0.0.1:0")
        .env("CHUNKGATE_DATA_DIR", &data);
    let server = start(cmd).await;
    assert_eq!(server.healthz().await, 200);
    server.stop().await;
    assert!(data.join("dev-token").exists(), "data dir from the env");

    // flag > env: the env's listen would fail.
    let mut cmd = chunkgate();
    cmd.env("CHUNKGATE_CONFIG", &config)
        .env("CHUNKGATE_LISTEN", "also not an address")
        .args(["--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&data);
    let server = start(cmd).await;
    assert_eq!(server.healthz().await, 200);
    server.stop().await;
}

#[tokio::test]
async fn a_bad_listen_address_fails_the_start_with_a_message() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = chunkgate();
    cmd.args(["--listen", "not an address", "--data-dir"])
        .arg(dir.path().join("data"));

    let output = run_to_exit(cmd).await;

    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("cannot listen on not an address"),
        "{stderr}"
    );
}

#[tokio::test]
async fn the_dev_token_is_generated_once_and_printed_once() {
    // Arrange
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("data").join("dev-token");

    // Act: two starts on the same data dir.
    let first = start(serve_in(dir.path())).await;
    let token = std::fs::read_to_string(&token_file)
        .unwrap()
        .trim()
        .to_owned();
    let (first_output, _) = first.stop().await;
    let second = start(serve_in(dir.path())).await;
    let admin = reqwest::Client::new()
        .get(format!("{}/gateway/v1/files/testns:1", second.base_url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .status();
    let (second_output, _) = second.stop().await;

    // Assert
    let first_err = String::from_utf8_lossy(&first_output.stderr);
    let second_err = String::from_utf8_lossy(&second_output.stderr);
    assert_eq!(first_err.matches(&token).count(), 1, "{first_err}");
    assert!(!second_err.contains(&token), "{second_err}");
    assert_eq!(std::fs::read_to_string(&token_file).unwrap().trim(), token);
    assert_eq!(admin, 404, "the dev token is an admin token");
}

#[tokio::test]
async fn configured_tokens_mean_no_dev_token() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("chunkgate.toml");
    std::fs::write(
        &config,
        "[auth]\ntokens = [{ token = \"t\", principal = \"alice\" }]\n",
    )
    .unwrap();
    let mut cmd = serve_in(dir.path());
    cmd.arg("--config").arg(&config);

    let server = start(cmd).await;
    let (output, _) = server.stop().await;

    assert!(!dir.path().join("data").join("dev-token").exists());
    assert!(!String::from_utf8_lossy(&output.stderr).contains("dev token"));
}
