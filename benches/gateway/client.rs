//! The client side: deterministic content without copies, streaming request bodies with a
//! declared length, and per-chunk latency records.

use bytes::Bytes;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The content pool: every file byte `o` of a file with seed `s` is `POOL[(o + s) % POOL_LEN]`.
/// An odd length, so chunks of a file differ from each other.
const POOL_LEN: usize = (64 << 20) + 4093;
/// Body pieces handed to the HTTP client (what a socket write sees at a time).
const PIECE: usize = 256 << 10;

fn pool() -> &'static Bytes {
    static POOL: OnceLock<Bytes> = OnceLock::new();
    POOL.get_or_init(|| {
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut out = Vec::with_capacity(POOL_LEN + 8);
        while out.len() < POOL_LEN {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            out.extend_from_slice(&x.to_le_bytes());
        }
        out.truncate(POOL_LEN);
        Bytes::from(out)
    })
}

/// A file's content: `len` bytes from the pool starting at `seed`.
#[derive(Clone, Copy, Debug)]
pub struct Content {
    pub seed: u64,
    pub len: u64,
}

impl Content {
    pub fn new(seed: u64, len: u64) -> Content {
        Content {
            seed: seed * 7_919 * 4_096,
            len,
        }
    }

    /// Bytes `[at, at + len)` of the file as zero-copy slices of the pool.
    pub fn pieces(&self, at: u64, len: u64) -> Vec<Bytes> {
        let pool = pool();
        let mut out = Vec::new();
        let mut off = at;
        let end = (at + len).min(self.len);
        while off < end {
            let p = ((off + self.seed) % POOL_LEN as u64) as usize;
            let n = (end - off).min((POOL_LEN - p) as u64).min(PIECE as u64) as usize;
            out.push(pool.slice(p..p + n));
            off += n as u64;
        }
        out
    }

    /// The whole file as pieces (for hashing).
    pub fn all(&self) -> Vec<Bytes> {
        self.pieces(0, self.len)
    }

    /// Bytes `[at, at + len)` copied into one buffer.
    pub fn copy_range(&self, at: u64, len: u64) -> Vec<u8> {
        let mut v = Vec::with_capacity(len as usize);
        for p in self.pieces(at, len) {
            v.extend_from_slice(&p);
        }
        v
    }

    /// Lowercase hex digest of the whole file.
    pub fn digest<D: sha2::Digest>(&self) -> String {
        let mut h = D::new();
        for p in self.all() {
            h.update(&p);
        }
        hex::encode(h.finalize())
    }
}

/// A streaming request body with a declared `Content-Length` (so servers that stream only
/// declared bodies do), made of zero-copy pieces.
pub struct Body {
    pub pieces: Vec<Bytes>,
}

impl Body {
    pub fn new() -> Body {
        Body { pieces: Vec::new() }
    }
    pub fn text(mut self, s: impl Into<String>) -> Body {
        self.pieces.push(Bytes::from(s.into()));
        self
    }
    pub fn data(mut self, pieces: Vec<Bytes>) -> Body {
        self.pieces.extend(pieces);
        self
    }
    pub fn len(&self) -> u64 {
        self.pieces.iter().map(|p| p.len() as u64).sum()
    }
    /// Attaches the body to a request.
    pub fn attach(self, req: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        let len = self.len();
        let stream = futures_util::stream::iter(
            self.pieces
                .into_iter()
                .map(Ok::<Bytes, std::convert::Infallible>),
        );
        req.header(reqwest::header::CONTENT_LENGTH, len)
            .body(reqwest::Body::wrap_stream(stream))
    }
}

/// The multipart boundary the bench uses.
pub const BOUNDARY: &str = "chunkgate-bench-boundary-7d3f1a";

pub fn multipart_type() -> String {
    format!("multipart/form-data; boundary={BOUNDARY}")
}

/// Adds a text field to a multipart body.
pub fn mp_field(body: Body, name: &str, value: &str) -> Body {
    body.text(format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
    ))
}

/// Adds a file part to a multipart body.
pub fn mp_file(body: Body, name: &str, filename: &str, ctype: &str, data: Vec<Bytes>) -> Body {
    body.text(format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{filename}\"\r\nContent-Type: {ctype}\r\n\r\n"
    ))
    .data(data)
    .text("\r\n")
}

/// Closes a multipart body.
pub fn mp_end(body: Body) -> Body {
    body.text(format!("--{BOUNDARY}--\r\n"))
}

/// One HTTP client with keep-alive; cheap to clone.
pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .tcp_nodelay(true)
        .timeout(Duration::from_secs(600))
        .build()
        .expect("http client")
}

/// Sends a request, checks its status and returns the body; records its latency.
pub async fn send(
    req: reqwest::RequestBuilder,
    want: u16,
    lat: Option<&Latencies>,
) -> Result<Bytes, String> {
    let start = Instant::now();
    let resp = req.send().await.map_err(|e| format!("request: {e}"))?;
    let status = resp.status().as_u16();
    let url = resp.url().path().to_string();
    let body = resp.bytes().await.map_err(|e| format!("response: {e}"))?;
    if let Some(l) = lat {
        l.record(start.elapsed());
    }
    if status != want {
        return Err(format!(
            "{url}: status {status}, expected {want}: {}",
            String::from_utf8_lossy(&body[..body.len().min(300)])
        ));
    }
    Ok(body)
}

/// Parses a JSON answer.
pub fn json(body: &[u8]) -> Result<serde_json::Value, String> {
    serde_json::from_slice(body).map_err(|e| format!("json: {e}"))
}

/// Per-chunk latencies of a case (shared by its concurrent workers).
#[derive(Default)]
pub struct Latencies(std::sync::Mutex<Vec<Duration>>);

impl Latencies {
    pub fn record(&self, d: Duration) {
        self.0.lock().unwrap().push(d);
    }
    pub fn count(&self) -> usize {
        self.0.lock().unwrap().len()
    }
    /// The `q` quantile (0..=1) in milliseconds.
    pub fn quantile_ms(&self, q: f64) -> f64 {
        let mut v = self.0.lock().unwrap().clone();
        if v.is_empty() {
            return 0.0;
        }
        v.sort();
        let i = ((v.len() as f64 - 1.0) * q).round() as usize;
        v[i].as_secs_f64() * 1e3
    }
}
