//! The server under test: the release `chunkgate` binary as a child process on port 0 with a
//! temporary data dir and config file, and the discard server that measures the loopback ceiling.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

/// The bearer token of the bench user (`[auth] tokens` in the generated config).
pub const TOKEN: &str = "bench-token";

/// Spika's JSON body limit in the bench config: its RSS target is 64 MiB + 4 x this.
pub const SPIKA_BODY_LIMIT: u64 = 2 << 20;

/// A running `chunkgate` child; killed (SIGTERM, then SIGKILL) on drop.
pub struct Server {
    child: Child,
    pub base: String,
    /// Keeps the data dir and config alive until the server is gone.
    dir: Option<tempfile::TempDir>,
    perf: Option<Child>,
}

impl Server {
    /// Starts `chunkgate` with `durability` ("strict" / "relaxed") and waits for its ready line.
    pub fn start(durability: &str) -> Result<Server, String> {
        let base_dir = std::env::var_os("CHUNKGATE_BENCH_DIR").map(PathBuf::from);
        let dir = match base_dir {
            Some(b) => tempfile::tempdir_in(b),
            None => tempfile::tempdir(),
        }
        .map_err(|e| format!("temp dir: {e}"))?;
        let config = dir.path().join("chunkgate.toml");
        let data = dir.path().join("data");
        std::fs::write(
            &config,
            format!(
                r#"listen = "127.0.0.1:0"
data_dir = "{data}"
durability = "{durability}"
min_free_space = 0
max_upload_size = 0

[auth]
tokens = [{{ token = "{TOKEN}", principal = "bench" }}]
admin_tokens = ["bench-admin"]

[dialects.spika]
max_json_bytes = {SPIKA_BODY_LIMIT}
"#,
                data = data.display()
            ),
        )
        .map_err(|e| format!("config: {e}"))?;
        let log = std::fs::File::create(dir.path().join("server.log"))
            .map_err(|e| format!("log file: {e}"))?;
        let mut child = Command::new(env!("CARGO_BIN_EXE_chunkgate"))
            .arg("--config")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .map_err(|e| format!("spawn chunkgate: {e}"))?;
        let stdout = child.stdout.take().expect("piped stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .map_err(|e| format!("ready line: {e}"))?;
        let Some(base) = line.trim().strip_prefix("chunkgate listening on ") else {
            let _ = child.kill();
            let log = std::fs::read_to_string(dir.path().join("server.log")).unwrap_or_default();
            return Err(format!("no ready line (got {line:?}); log:\n{log}"));
        };
        let base = base.to_string();
        let perf = std::env::var_os("CHUNKGATE_BENCH_PERF").map(|out| {
            // Profile this case: `perf record -g` on the server until the case ends.
            Command::new("perf")
                .args(["record", "-g", "-q", "-o"])
                .arg(out)
                .arg("-p")
                .arg(child.id().to_string())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn perf")
        });
        Ok(Server {
            child,
            base,
            dir: Some(dir),
            perf,
        })
    }

    /// Peak resident set size of the server so far (`VmHWM`), in bytes.
    pub fn peak_rss(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map_or(0, |kb| kb * 1024)
    }

    /// CPU time the server has used so far (user + system), in seconds.
    pub fn cpu_seconds(&self) -> f64 {
        let stat =
            std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap_or_default();
        // Fields after the ")" that ends the command name: utime and stime are the 12th and 13th.
        let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
        let f: Vec<&str> = rest.split_whitespace().collect();
        let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
        // SAFETY: sysconf has no memory effects.
        let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
        (ticks(11) + ticks(12)) / hz
    }

    /// The server's log (stderr), for error reports.
    pub fn log_tail(&self) -> String {
        let Some(dir) = &self.dir else {
            return String::new();
        };
        let log = std::fs::read_to_string(dir.path().join("server.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(10)..].join("\n")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(perf) = &mut self.perf {
            // SAFETY: plain kill(2) on our own child's pid.
            unsafe { libc::kill(perf.id() as i32, libc::SIGINT) };
            let _ = perf.wait();
        }
        // SAFETY: plain kill(2) on our own child's pid.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            match self.child.try_wait() {
                Ok(Some(_)) => break,
                Ok(None) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(std::time::Duration::from_millis(20))
                }
                _ => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    break;
                }
            }
        }
        drop(self.dir.take());
    }
}

/// Starts a plain HTTP server on 127.0.0.1:0 that reads and drops every request body; returns
/// its base URL. It runs on its own thread for the rest of the process.
pub fn start_discard() -> String {
    use actix_web::{web, App, HttpResponse, HttpServer};
    use futures_util::StreamExt;

    async fn discard(mut body: web::Payload) -> HttpResponse {
        let mut n = 0usize;
        while let Some(piece) = body.next().await {
            match piece {
                Ok(b) => n += b.len(),
                Err(_) => return HttpResponse::BadRequest().finish(),
            }
        }
        HttpResponse::Ok().body(n.to_string())
    }

    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let server = HttpServer::new(|| App::new().default_service(web::to(discard)))
                .workers(2)
                .bind(("127.0.0.1", 0))
                .expect("bind discard server");
            let port = server.addrs()[0].port();
            tx.send(port).unwrap();
            server.run().await.unwrap();
        });
    });
    let port = rx.recv().expect("discard server port");
    format!("http://127.0.0.1:{port}")
}
