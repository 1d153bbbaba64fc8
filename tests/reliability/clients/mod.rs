//! One legacy client per dialect, each following its spec (`/work/shared/specs/<dialect>.md`)
//! against a base URL, and surviving a server that dies and comes back: a request that fails
//! in transport is retried once the server answers again when the dialect makes it safe
//! (identical chunk re-sends are no-ops everywhere), and otherwise the client re-queries state
//! or starts over, as a real client would. Every upload ends with a download through the
//! dialect's own route (or the operator API where there is none), compared byte for byte.

mod audioboom;
mod dstor;
mod dyson;
mod filesnest;
mod spika;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use rand::{Rng, SeedableRng};
use sha2::Digest;

pub const DIALECTS: [&str; 5] = ["filesnest", "dyson", "audioboom", "spika", "dstor"];

/// Where the clients send their requests, and what they count.
#[derive(Clone)]
pub struct Target {
    pub http: reqwest::Client,
    pub base: String,
    pub token: String,
    pub admin: String,
    /// `durability = "strict"`: an acknowledged chunk that is gone is a failure. In relaxed
    /// mode it is counted in `tally.lost` and the upload starts over.
    pub strict: bool,
    pub tally: Arc<Tally>,
}

/// What the clients saw.
#[derive(Default)]
pub struct Tally {
    /// Requests that failed in transport (the server was killed under them).
    pub interrupted: AtomicUsize,
    /// Acknowledged things found missing after a restart (relaxed mode only; strict fails).
    pub lost: AtomicUsize,
    /// Uploads that had to start over.
    pub restarted: AtomicUsize,
    /// Clients that entered a completion step (the crash driver aims kills at these).
    pub completing: tokio::sync::Notify,
}

/// Why an upload did not finish.
#[derive(Debug)]
pub enum Failure {
    /// Something acknowledged is gone (a failure in strict mode; relaxed may lose it).
    Lost(String),
    /// Anything else: a wrong answer, wrong bytes.
    Broken(String),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Lost(what) => write!(f, "lost: {what}"),
            Failure::Broken(what) => write!(f, "broken: {what}"),
        }
    }
}

pub type Outcome<T> = Result<T, Failure>;

/// A whole answer.
pub struct Answer {
    pub status: u16,
    pub body: Bytes,
}

impl Answer {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// `Broken` unless the status is `want`.
    pub fn expect(self, want: u16, what: &str) -> Outcome<Answer> {
        if self.status == want {
            Ok(self)
        } else {
            Err(Failure::Broken(format!(
                "{what}: expected {want}, got {} {}",
                self.status,
                self.text()
            )))
        }
    }
}

/// The answer to a request sent until one arrived.
pub struct Sent {
    pub answer: Answer,
    /// True when one or more earlier attempts failed in transport.
    pub interrupted: bool,
}

impl Target {
    pub fn new(base: &str, strict: bool) -> Target {
        Target {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(120))
                .pool_idle_timeout(Duration::from_secs(20))
                .build()
                .unwrap(),
            base: base.to_owned(),
            token: crate::helpers::USER_TOKEN.into(),
            admin: crate::helpers::ADMIN_TOKEN.into(),
            strict,
            tally: Arc::default(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A failure for something acknowledged that is gone: fatal in strict mode.
    pub fn lost(&self, what: String) -> Failure {
        if !self.strict {
            self.tally.lost.fetch_add(1, Ordering::Relaxed);
        }
        Failure::Lost(what)
    }

    /// One attempt: the whole answer, or `Err` if the connection failed at any point.
    pub async fn once(&self, req: reqwest::RequestBuilder) -> Result<Answer, reqwest::Error> {
        let res = req.send().await?;
        let status = res.status().as_u16();
        let body = res.bytes().await?;
        Ok(Answer { status, body })
    }

    /// Sends until an answer arrives: for requests that are safe to repeat. Waits for the
    /// server between attempts (bounded: the test fails if it never comes back).
    pub async fn retry<F>(&self, build: F) -> Sent
    where
        F: Fn() -> reqwest::RequestBuilder,
    {
        let mut interrupted = false;
        for _ in 0..1200 {
            match self.once(build()).await {
                Ok(answer) => {
                    return Sent {
                        answer,
                        interrupted,
                    }
                }
                Err(_) => {
                    if !interrupted {
                        self.tally.interrupted.fetch_add(1, Ordering::Relaxed);
                    }
                    interrupted = true;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
        panic!("the server never answered again at {}", self.base);
    }

    /// One attempt of a request that must not be repeated blindly; on a transport failure,
    /// waits until the server answers again and returns `None`.
    pub async fn once_or_wait(&self, req: reqwest::RequestBuilder) -> Option<Answer> {
        match self.once(req).await {
            Ok(a) => Some(a),
            Err(_) => {
                self.tally.interrupted.fetch_add(1, Ordering::Relaxed);
                self.wait_up().await;
                None
            }
        }
    }

    /// Polls `/healthz` until it answers.
    pub async fn wait_up(&self) {
        self.retry(|| self.http.get(self.url("/healthz"))).await;
    }
}

/// The upload of `data` through `dialect`; the downloaded bytes equal `data` on success.
pub async fn upload(t: &Target, dialect: &str, data: &[u8], chunk: usize) -> Outcome<()> {
    match dialect {
        "filesnest" => filesnest::upload(t, data, chunk).await,
        "dyson" => dyson::upload(t, data, chunk).await,
        "audioboom" => audioboom::upload(t, data, chunk).await,
        "spika" => spika::upload(t, data, chunk).await,
        "dstor" => dstor::upload(t, data, chunk).await,
        other => panic!("no client for {other}"),
    }
}

/// Like [`upload`], but in relaxed mode a loss makes the client start over with a new upload
/// of the same bytes, as a client does when the server no longer knows its upload.
pub async fn upload_resilient(t: &Target, dialect: &str, data: &[u8], chunk: usize) -> Outcome<()> {
    for _ in 0..20 {
        match upload(t, dialect, data, chunk).await {
            Err(Failure::Lost(_)) if !t.strict => {
                t.tally.restarted.fetch_add(1, Ordering::Relaxed);
            }
            other => return other,
        }
    }
    Err(Failure::Broken(format!(
        "{dialect}: lost 20 times in a row"
    )))
}

/// Compares downloaded bytes with what was sent.
pub fn same_bytes(what: &str, got: &[u8], want: &[u8]) -> Outcome<()> {
    if got == want {
        Ok(())
    } else {
        Err(Failure::Broken(format!(
            "{what}: downloaded {} bytes (sha256 {}), sent {} (sha256 {})",
            got.len(),
            sha256_hex(got),
            want.len(),
            sha256_hex(want)
        )))
    }
}

pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(data))
}

/// Deterministic content of `len` bytes for `seed`.
pub fn content(seed: u64, len: usize) -> Vec<u8> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut data = vec![0u8; len];
    rng.fill(&mut data[..]);
    data
}

/// `data` cut into pieces of `size` (one empty piece for empty data).
pub fn pieces(data: &[u8], size: usize) -> Vec<&[u8]> {
    if data.is_empty() {
        return vec![data];
    }
    data.chunks(size).collect()
}

/// A multipart body of `(name, filename, data)` parts.
pub fn multipart(parts: &[(&str, Option<&str>, &[u8])]) -> (String, Vec<u8>) {
    const B: &str = "reliability-b0undary";
    let mut out = Vec::new();
    for (name, filename, data) in parts {
        out.extend_from_slice(
            format!("--{B}\r\nContent-Disposition: form-data; name=\"{name}\"").as_bytes(),
        );
        if let Some(f) = filename {
            out.extend_from_slice(
                format!("; filename=\"{f}\"\r\nContent-Type: application/octet-stream").as_bytes(),
            );
        }
        out.extend_from_slice(b"\r\n\r\n");
        out.extend_from_slice(data);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("--{B}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={B}"), out)
}
