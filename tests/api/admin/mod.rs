//! The operator commands (`files`, `uploads`, `gc`, `verify`, `export`, `import`) run as real
//! processes of the binary against data dirs filled by real uploads through a real server,
//! which is stopped first (a running server holds the store: that case has its own test).

mod backup;
mod errors;
mod listing;
mod verify;

use serde_json::Value;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;
use tokio::process::Command;

/// Guard against a hung child; never a readiness wait.
const LIMIT: Duration = Duration::from_secs(120);

/// What a finished command printed.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// stdout as JSON (the `--json` document).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!("stdout is not JSON ({e}): {}\n{}", self.stdout, self.stderr)
        })
    }

    /// Asserts success and returns the JSON document.
    pub fn ok_json(&self) -> Value {
        assert_eq!(
            self.code, 0,
            "stdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        self.json()
    }
}

/// The binary with a clean environment (no config or data-dir variables from outside).
pub fn chunkgate() -> Command {
    chunkgate_at(Path::new(env!("CARGO_BIN_EXE_chunkgate")))
}

/// [`chunkgate`] with the binary at `program` (a copy another user can reach).
pub fn chunkgate_at(program: &Path) -> Command {
    let mut cmd = Command::new(program);
    cmd.env_remove("CHUNKGATE_CONFIG")
        .env_remove("CHUNKGATE_LISTEN")
        .env_remove("CHUNKGATE_DATA_DIR")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    cmd
}

/// Runs `chunkgate <args> --data-dir <dir>` to completion.
pub async fn admin(dir: &Path, args: &[&str]) -> Run {
    let mut cmd = chunkgate();
    cmd.args(args).arg("--data-dir").arg(dir);
    let out = tokio::time::timeout(LIMIT, cmd.output())
        .await
        .expect("the command ends in time")
        .expect("the binary runs");
    Run {
        code: out.status.code().expect("exited, not killed"),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}
