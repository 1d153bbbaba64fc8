//! The real binary as a child process on a given data dir and config file: for a restart on
//! the same store, and for metrics that no other test in this process can touch.

use super::LIMIT;
use crate::helpers::{ADMIN_TOKEN, USER_TOKEN};
use std::path::Path;
use std::process::Stdio;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// A running `chunkgate serve`.
pub struct Server {
    child: Child,
    pub base_url: String,
}

/// A config file: port 0, `dir/data`, the test tokens, and `extra` TOML appended.
pub fn write_config(dir: &Path, extra: &str) -> std::path::PathBuf {
    let path = dir.join("chunkgate.toml");
    let text = format!(
        r#"listen = "127.0.0.1:0"
data_dir = "{data}"
min_free_space = 0

[auth]
tokens = [{{ token = "{USER_TOKEN}", principal = "alice" }}]
admin_tokens = ["{ADMIN_TOKEN}"]
{extra}"#,
        data = dir.join("data").display()
    );
    std::fs::write(&path, text).unwrap();
    path
}

impl Server {
    /// Starts the binary and waits for its listening line.
    pub async fn start(config: &Path) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_chunkgate"))
            .arg("serve")
            .arg("--config")
            .arg(config)
            .env_remove("CHUNKGATE_CONFIG")
            .env_remove("CHUNKGATE_LISTEN")
            .env_remove("CHUNKGATE_DATA_DIR")
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            // Not read: a full pipe would block the server.
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn chunkgate");
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
        Server { child, base_url }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// SIGTERM and wait for a clean exit (the store is flushed and unlocked).
    pub async fn stop(mut self) {
        // A served request shows the server loop (and its signal handling) is running: webhook
        // deliveries start before it, so they alone do not show that.
        let health = reqwest::get(self.url("/healthz")).await.unwrap();
        assert_eq!(health.status(), 200);
        let pid = self.child.id().expect("still running") as libc::pid_t;
        // SAFETY: kill(2) on our own child's pid; no memory is involved.
        assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
        let status = tokio::time::timeout(LIMIT, self.child.wait())
            .await
            .expect("exit after SIGTERM")
            .unwrap();
        assert!(status.success(), "{status}");
    }
}
