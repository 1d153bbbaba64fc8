//! The real `chunkgate` binary as a child process on a temp data dir: start (waiting for its
//! ready line), SIGKILL, restart on the same port and data dir, SIGTERM, peak RSS.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use crate::helpers::{ADMIN_TOKEN, OTHER_PRINCIPAL, OTHER_TOKEN, USER_PRINCIPAL, USER_TOKEN};

pub struct Server {
    child: Option<Child>,
    pub port: u16,
    pub dir: PathBuf,
    config: PathBuf,
    /// Where the child's stderr goes (shown when a test fails).
    pub log: PathBuf,
    /// Starts so far (1 after `start`).
    pub starts: usize,
}

/// A config file with the test tokens, no free-space guard and `extra` TOML lines.
fn write_config(dir: &Path, extra: &str) -> PathBuf {
    let path = dir.join("chunkgate.toml");
    let text = format!(
        "min_free_space = 0\n{extra}\n\
         [auth]\nadmin_tokens = [\"{ADMIN_TOKEN}\"]\n\
         tokens = [{{ token = \"{USER_TOKEN}\", principal = \"{USER_PRINCIPAL}\" }}, \
                   {{ token = \"{OTHER_TOKEN}\", principal = \"{OTHER_PRINCIPAL}\" }}]\n"
    );
    std::fs::write(&path, text).unwrap();
    path
}

impl Server {
    /// Starts the binary with its data in `root/data` and `extra` config lines, on a free port.
    pub fn start(root: &Path, extra: &str) -> Server {
        let mut s = Server {
            child: None,
            port: 0,
            dir: root.join("data"),
            config: write_config(root, extra),
            log: root.join("server.log"),
            starts: 0,
        };
        s.spawn();
        s
    }

    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The child's process id (for `/proc/<pid>/status`).
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        // The same port on every restart, so clients keep their base URL (std's listener sets
        // SO_REUSEADDR, so connections of the killed process in TIME_WAIT do not block it).
        let mut child = Command::new(env!("CARGO_BIN_EXE_chunkgate"))
            .arg("serve")
            .arg("--config")
            .arg(&self.config)
            .arg("--data-dir")
            .arg(&self.dir)
            .arg("--listen")
            .arg(format!("127.0.0.1:{}", self.port))
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("spawn chunkgate");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let Some(url) = line.trim().strip_prefix("chunkgate listening on ") else {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "no ready line ({line:?}); log:\n{}",
                std::fs::read_to_string(&self.log).unwrap_or_default()
            );
        };
        self.port = url.rsplit(':').next().unwrap().parse().unwrap();
        self.child = Some(child);
        self.starts += 1;
    }

    /// SIGKILL: no flush, no graceful anything.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill().unwrap();
            c.wait().unwrap();
        }
    }

    /// Starts again on the same data dir and port.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    /// SIGTERM and wait: the server flushes its store and releases the sled lock.
    pub fn terminate(&mut self) {
        if let Some(mut c) = self.child.take() {
            // SAFETY: kill(2) on our own child's pid; no memory is involved.
            unsafe { libc::kill(c.id() as i32, libc::SIGTERM) };
            let status = c.wait().unwrap();
            assert!(status.success(), "server exit: {status:?}");
        }
    }

    /// The peak resident set (VmHWM) of the running server, in KiB.
    pub fn peak_rss_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).ok()?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}
