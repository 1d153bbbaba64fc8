//! The hostile suite's machinery: a request type whose `Debug` reads like an HTTP request (so a
//! shrunk failure is readable), a snapshot of everything stored, each dialect's error-format
//! check, and the property runner that ties them together.

use crate::helpers::TestApp;
use chunkgate::config::Settings;
use chunkgate::engine::Inventory;
use proptest::strategy::Strategy;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fmt;
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

/// Hostile inputs tried by this test binary so far (printed after each property).
static TRIED: AtomicU64 = AtomicU64::new(0);

/// Cases per property: moderate by default, many more with `CHUNKGATE_LONG_TESTS=1`.
pub fn cases() -> u32 {
    if std::env::var("CHUNKGATE_LONG_TESTS").is_ok_and(|v| v == "1") {
        1024
    } else {
        96
    }
}

/// One HTTP request, built without reqwest's help so that anything can be sent.
#[derive(Clone)]
pub struct Hostile {
    pub method: &'static str,
    /// Path and query, already percent-encoded where needed.
    pub path: String,
    pub headers: Vec<(String, Vec<u8>)>,
    pub body: Vec<u8>,
}

impl Hostile {
    pub fn new(method: &'static str, path: impl Into<String>) -> Self {
        Hostile {
            method,
            path: path.into(),
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    pub fn header(mut self, name: &str, value: impl Into<Vec<u8>>) -> Self {
        self.headers.push((name.to_owned(), value.into()));
        self
    }

    /// Adds the header when `value` is given (a credential that may be absent).
    pub fn maybe_header(self, name: &str, value: Option<String>) -> Self {
        match value {
            Some(v) => self.header(name, v),
            None => self,
        }
    }

    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// A JSON body given as text (so it may hold numbers serde_json cannot represent).
    pub fn json_text(self, text: impl Into<Vec<u8>>) -> Self {
        self.header("content-type", "application/json").body(text)
    }
}

impl fmt::Debug for Hostile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} {}", self.method, self.path)?;
        for (name, value) in &self.headers {
            writeln!(f, "{name}: {}", shown(value, 200))?;
        }
        write!(f, "\n{}", shown(&self.body, 600))
    }
}

/// Bytes as escaped text, cut after `max` characters with the full length noted.
fn shown(bytes: &[u8], max: usize) -> String {
    let text = String::from_utf8_lossy(bytes);
    let escaped: String = text.escape_debug().collect();
    if escaped.chars().count() <= max {
        escaped
    } else {
        let cut: String = escaped.chars().take(max).collect();
        format!("{cut}… ({} bytes in all)", bytes.len())
    }
}

/// Percent-encodes one path segment completely.
pub fn seg(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// What came back.
pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: bytes::Bytes,
}

impl Answer {
    pub fn json(&self) -> Result<Value, String> {
        serde_json::from_slice(&self.body)
            .map_err(|e| format!("body is not JSON ({e}): {}", shown(&self.body, 300)))
    }

    pub fn content_type(&self) -> Option<&str> {
        self.headers
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
    }
}

impl fmt::Debug for Answer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.status, shown(&self.body, 300))
    }
}

pub async fn send(app: &TestApp, h: &Hostile) -> Result<Answer, String> {
    let method = reqwest::Method::from_bytes(h.method.as_bytes()).map_err(|e| e.to_string())?;
    let mut req = app.client.request(method, app.url(&h.path));
    for (name, value) in &h.headers {
        let value = reqwest::header::HeaderValue::from_bytes(value)
            .map_err(|e| format!("generator made an unsendable header {name}: {e}"))?;
        req = req.header(name.as_str(), value);
    }
    // A guard, not a measurement: a server that never answers fails the case (with the request
    // printed) instead of hanging the suite.
    let res = req
        .body(h.body.clone())
        .timeout(std::time::Duration::from_secs(60))
        .send()
        .await
        .map_err(|e| format!("request failed: {e:?}"))?;
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let body = res.bytes().await.map_err(|e| format!("body: {e}"))?;
    Ok(Answer {
        status,
        headers,
        body,
    })
}

/// Everything stored: the engine's inventory (metadata) and every file under the data dir
/// except sled's own directory with its size and SHA-256. sled's files (`meta/`) change with
/// its background flushes and log compaction even when no key changed, so metadata is compared
/// through the inventory instead.
#[derive(Debug, PartialEq)]
pub struct Snapshot {
    pub inventory: Inventory,
    pub files: BTreeMap<String, (u64, String)>,
}

pub async fn snapshot(app: &TestApp) -> Snapshot {
    let inventory = app.engine.inventory().await.expect("inventory");
    let root = app.data_dir.path().to_owned();
    let files = tokio::task::spawn_blocking(move || {
        let mut out = BTreeMap::new();
        list(&root, &root, &mut out);
        out
    })
    .await
    .unwrap();
    Snapshot { inventory, files }
}

fn list(root: &Path, dir: &Path, out: &mut BTreeMap<String, (u64, String)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let rel = path
            .strip_prefix(root)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        if rel == "meta" {
            continue;
        }
        if path.is_dir() {
            out.insert(format!("{rel}/"), (0, String::new()));
            list(root, &path, out);
        } else if let Ok(bytes) = std::fs::read(&path) {
            out.insert(
                rel,
                (bytes.len() as u64, hex::encode(Sha256::digest(&bytes))),
            );
        }
    }
}

/// Names the parts of two snapshots that differ, briefly.
pub fn difference(before: &Snapshot, after: &Snapshot) -> String {
    let mut out = String::new();
    let (b, a) = (&before.inventory, &after.inventory);
    let mut part = |name: &str, x: String, y: String| {
        if x != y {
            out.push_str(&format!("{name} changed:\n  before {x}\n  after  {y}\n"));
        }
    };
    part(
        "uploads",
        format!("{:?}", b.uploads),
        format!("{:?}", a.uploads),
    );
    part("files", format!("{:?}", b.files), format!("{:?}", a.files));
    part(
        "records",
        format!("{:?}", records(&b.records)),
        format!("{:?}", records(&a.records)),
    );
    part("blobs", format!("{:?}", b.blobs), format!("{:?}", a.blobs));
    part(
        "data dir",
        format!("{:?}", before.files),
        format!("{:?}", after.files),
    );
    out
}

fn records(r: &[(String, String, Vec<u8>)]) -> Vec<String> {
    r.iter()
        .map(|(ns, k, v)| format!("{ns}/{k}={}", String::from_utf8_lossy(v)))
        .collect()
}

/// Whose error format an answer must have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Filesnest,
    Dyson,
    Audioboom,
    Spika,
    Dstor,
    Native,
}

/// Checks that an error answer is in the dialect's own format (the specs' error sections).
pub fn check_format(format: Format, a: &Answer) -> Result<(), String> {
    let string = |v: &Value, key: &str| -> Result<(), String> {
        v.get(key)
            .and_then(Value::as_str)
            .map(|_| ())
            .ok_or_else(|| format!("no string `{key}` in {v}"))
    };
    match format {
        // specs/filesnest.md §8: JSON with `message` (clients print body.message).
        Format::Filesnest => {
            let v = a.json()?;
            string(&v, "message")?;
            if a.status == 422 && !v.get("errors").is_some_and(Value::is_object) {
                return Err(format!("422 without an `errors` object: {v}"));
            }
        }
        // specs/dyson.md §2-3: 401 is empty without Content-Type; the rest is ApiError.
        Format::Dyson => {
            if a.status == 401 {
                if !a.body.is_empty() || a.content_type().is_some() {
                    return Err("a 401 must be empty, without Content-Type".into());
                }
            } else {
                let v = a.json()?;
                string(&v, "code")?;
                string(&v, "message")?;
                if v.get("status").and_then(Value::as_u64) != Some(a.status.into()) {
                    return Err(format!("`status` differs from the HTTP status: {v}"));
                }
            }
        }
        // specs/audioboom.md §3: the envelope with body.error and the X-Audioboo-* headers.
        Format::Audioboom => {
            let v = a.json()?;
            if v["window"] != 60 || v["version"] != 200 || !v["timestamp"].is_u64() {
                return Err(format!("not the envelope: {v}"));
            }
            let code = v["body"]["error"]["code"]
                .as_u64()
                .ok_or_else(|| format!("no body.error.code: {v}"))?;
            string(&v["body"]["error"], "description")?;
            if code != u64::from(a.status) && !(code == 800 && a.status == 400) {
                return Err(format!("code {code} for status {}", a.status));
            }
            let header = a
                .headers
                .get("x-audioboo-error_code")
                .and_then(|h| h.to_str().ok());
            if header != Some(code.to_string().as_str()) {
                return Err(format!("X-Audioboo-Error_code header {header:?}"));
            }
        }
        // specs/spika.md §2, §9: 401 plain text with one of three bodies; else the envelope.
        Format::Spika => {
            if a.status == 401 {
                let ok = matches!(
                    &a.body[..],
                    b"No access token" | b"Invalid access token" | b"Access token expired"
                );
                if !ok
                    || !a
                        .content_type()
                        .is_some_and(|c| c.starts_with("text/plain"))
                {
                    return Err("a 401 must be one of the plain-text bodies".into());
                }
            } else {
                let v = a.json()?;
                string(&v, "message")?;
                if v["status"] != "error" {
                    return Err(format!("`status` is not \"error\": {v}"));
                }
            }
        }
        // specs/dstor.md §10: `{"message": ...}`.
        Format::Dstor => string(&a.json()?, "message")?,
        // The operator API: `{"error": ...}`.
        Format::Native => string(&a.json()?, "error")?,
    }
    Ok(())
}

/// A runtime with its own worker threads, so the proptest runner (synchronous) can drive async
/// requests with `block_on` while the server keeps running.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// A test server with `customize` applied, on `rt`.
pub fn spawn(rt: &tokio::runtime::Runtime, customize: impl FnOnce(&mut Settings)) -> TestApp {
    rt.block_on(TestApp::spawn_with(customize))
}

/// Sends every generated request and checks, for each: a 4xx (never a 5xx, never a dropped
/// connection), the dialect's error format, a server that still answers `/healthz`, and a store
/// identical to the snapshot taken before the first request.
pub fn run_hostile<S>(
    label: &str,
    rt: &tokio::runtime::Runtime,
    app: &TestApp,
    format: Format,
    strategy: S,
) where
    S: Strategy<Value = Hostile>,
{
    let before = rt.block_on(snapshot(app));
    let mut runner = TestRunner::new(Config {
        cases: cases(),
        failure_persistence: None,
        ..Config::default()
    });
    let tried = AtomicU64::new(0);
    // A request that changed the store spoils the cases after it (shrinking included), so the
    // first failure is kept verbatim next to proptest's shrunk one.
    let first = std::sync::Mutex::new(None::<String>);
    let statuses = std::sync::Mutex::new(BTreeMap::<u16, u64>::new());
    let result = runner.run(&strategy, |h| {
        tried.fetch_add(1, Ordering::Relaxed);
        let outcome = rt.block_on(async {
            let a = send(app, &h).await.map_err(TestCaseError::fail)?;
            *statuses.lock().unwrap().entry(a.status).or_default() += 1;
            if !(400..500).contains(&a.status) {
                return Err(TestCaseError::fail(format!("not a 4xx: {a:?}")));
            }
            // A HEAD answer has no body to check.
            if h.method != "HEAD" {
                check_format(format, &a)
                    .map_err(|e| TestCaseError::fail(format!("{} answer {a:?}: {e}", a.status)))?;
            }
            let health = app.get_healthz().await.status();
            if health != 200 {
                return Err(TestCaseError::fail(format!("/healthz answers {health}")));
            }
            let after = snapshot(app).await;
            if after != before {
                return Err(TestCaseError::fail(format!(
                    "{} answer changed the store:\n{}",
                    a.status,
                    difference(&before, &after)
                )));
            }
            Ok(())
        });
        if let Err(e) = &outcome {
            first
                .lock()
                .unwrap()
                .get_or_insert_with(|| format!("{h:?}\n→ {e}"));
        }
        outcome
    });
    let tried = tried.into_inner();
    let total = TRIED.fetch_add(tried, Ordering::Relaxed) + tried;
    // Straight to stderr, past the test harness's capture, so every run shows the figure.
    let _ = writeln!(
        std::io::stderr(),
        "hostile input, {label}: {tried} requests tried ({total} so far in this run), by status {:?}",
        statuses.into_inner().unwrap()
    );
    if let Err(e) = result {
        let first = first.into_inner().unwrap().unwrap_or_default();
        panic!("{label}: first failing request:\n{first}\n\nafter shrinking: {e}");
    }
}

/// Sends an arranging request and returns its status and JSON body (`null` when empty or not
/// JSON); panics when it cannot be sent.
pub async fn call(app: &TestApp, h: Hostile) -> (u16, Value) {
    let a = send(app, &h).await.unwrap_or_else(|e| panic!("{e}: {h:?}"));
    (
        a.status,
        serde_json::from_slice(&a.body).unwrap_or(Value::Null),
    )
}

/// Polls `check` (up to ~10 s, for work a dialect finishes in the background).
pub async fn eventually<F, Fut>(mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..400 {
        if check().await {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("background work did not finish");
}
