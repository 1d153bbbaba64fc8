//! The fixture format: one case per JSON file, `fixtures/<dialect>/<case>.json`.
//!
//! The serde types below are the format; `docs/fixtures.md` explains each field with an
//! example. Loading also checks what serde cannot (one body source per part, well-formed
//! matchers, valid methods), so a broken fixture fails when it is read, not half-way through
//! a replay.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::{Map, Value};

use super::matcher;

/// A recorded conversation: variables, named byte strings, and steps run in order.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// Shown in reports; defaults to the file name without `.json`.
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// Defaults for `{{var}}` (credentials, names); `--var name=value` overrides them.
    #[serde(default)]
    pub vars: Map<String, Value>,
    /// Byte strings named before the first step, e.g. a whole file whose digest the first
    /// request declares and whose slices later requests send. Made in file order, so a slice
    /// may refer to an entry above it.
    #[serde(default, deserialize_with = "in_file_order")]
    pub data: Vec<(String, Source)>,
    /// Default of [`Expect::ordered_keys`] for every step.
    #[serde(default)]
    pub ordered_keys: bool,
    pub steps: Vec<Step>,
    /// The file the case was read from.
    #[serde(skip)]
    pub path: PathBuf,
}

/// A JSON object as a list of its members, in the order the file gives them.
fn in_file_order<'de, D, T>(deserializer: D) -> Result<Vec<(String, T)>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    struct Members<T>(std::marker::PhantomData<T>);
    impl<'de, T: Deserialize<'de>> serde::de::Visitor<'de> for Members<T> {
        type Value = Vec<(String, T)>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an object")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(
            self,
            mut map: A,
        ) -> Result<Self::Value, A::Error> {
            let mut members = Vec::new();
            while let Some(member) = map.next_entry()? {
                members.push(member);
            }
            Ok(members)
        }
    }
    deserializer.deserialize_map(Members(std::marker::PhantomData))
}

/// One request and the response the client depends on.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    pub name: String,
    pub request: Request,
    pub expect: Expect,
    /// Re-send the request until the expectation holds (polling a background job).
    #[serde(default)]
    pub retry: Option<Retry>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Retry {
    /// Total number of tries (at least 1).
    pub attempts: u32,
    /// Pause between tries.
    #[serde(default = "default_interval_ms")]
    pub interval_ms: u64,
}

fn default_interval_ms() -> u64 {
    100
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    pub method: String,
    /// Joined to the base URL (`/api/files?include=uploads`); an absolute `http(s)://` URL is
    /// used as it is (e.g. a captured absolute `Location`).
    pub path: String,
    /// Name → string (sent), list of strings (sent as several lines) or `null` (not sent:
    /// removes the runner's default `Content-Type`).
    #[serde(default)]
    pub headers: Map<String, Value>,
    #[serde(default)]
    pub body: Option<Body>,
    /// Multipart boundary (default [`DEFAULT_BOUNDARY`]).
    #[serde(default)]
    pub boundary: Option<String>,
    /// Send the body with `Transfer-Encoding: chunked` instead of `Content-Length`.
    #[serde(default)]
    pub chunked: bool,
}

/// The boundary of multipart bodies unless a request names another.
pub const DEFAULT_BOUNDARY: &str = "chunkgate-contract-boundary-5f3a9c";

/// A request body: exactly one of these keys.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Body {
    /// A JSON value; default `Content-Type: application/json`.
    Json(Value),
    /// UTF-8 text, sent without a default `Content-Type`.
    Text(String),
    /// Raw bytes in standard base64, sent without a default `Content-Type`.
    Base64(String),
    /// Bytes from the content rule.
    Generate(Generate),
    /// Part of named bytes.
    Slice(Slice),
    /// `multipart/form-data` parts, in order.
    Multipart(Vec<Part>),
    /// `application/x-www-form-urlencoded` pairs `[name, value]`, in order, repeats allowed.
    Form(Vec<(String, String)>),
}

/// Bytes for a part body or a `data` entry: exactly one of these keys.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Source {
    Text(String),
    Base64(String),
    Generate(Generate),
    Slice(Slice),
}

/// `content(seed, size)`, remembered under `as` when given.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Generate {
    pub seed: String,
    pub size: u64,
    #[serde(default, rename = "as")]
    pub name: Option<String>,
}

/// Bytes `start..end` of named bytes (defaults: 0 and the end), remembered under `as`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Slice {
    pub of: String,
    #[serde(default)]
    pub start: Option<u64>,
    #[serde(default)]
    pub end: Option<u64>,
    #[serde(default, rename = "as")]
    pub name: Option<String>,
}

/// One multipart part. Its data is `text` (a shorthand) or `body`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Part {
    pub name: String,
    #[serde(default)]
    pub filename: Option<String>,
    /// The part's `Content-Type`; none is sent when absent.
    #[serde(default)]
    pub content_type: Option<String>,
    /// Replaces the whole `Content-Disposition` value (e.g. for `filename*=`).
    #[serde(default)]
    pub disposition: Option<String>,
    /// More part headers, in order.
    #[serde(default)]
    pub headers: Map<String, Value>,
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub body: Option<Source>,
}

impl Part {
    /// The part's data source (`text` is shorthand for `body: {"text": ...}`).
    pub fn source(&self) -> Source {
        match (&self.text, &self.body) {
            (Some(text), _) => Source::Text(text.clone()),
            (None, Some(body)) => body.clone(),
            (None, None) => Source::Text(String::new()),
        }
    }
}

/// What the response must look like.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    pub status: u16,
    /// Name (any case) → exact string, matcher, or `null` / `{"$absent": true}` (not sent).
    #[serde(default)]
    pub headers: Map<String, Value>,
    /// Header name → variable that receives its value.
    #[serde(default)]
    pub capture_headers: BTreeMap<String, String>,
    #[serde(default)]
    pub body: Option<ExpectBody>,
    /// Check the key order of every JSON object (default: the case's `ordered_keys`).
    #[serde(default)]
    pub ordered_keys: Option<bool>,
}

/// The expected body: exactly one of these keys. No `body` means the body is not checked.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum ExpectBody {
    /// JSON with matchers.
    Json(Value),
    /// Exact UTF-8 text (templates expanded), or a matcher such as `{"$regex": ...}`.
    Text(Value),
    /// `true`: zero bytes.
    Empty(bool),
    /// Exactly the named bytes.
    BytesOf(String),
    /// Exactly these bytes (standard base64).
    Base64(String),
}

/// A fixture that cannot be read or is not well formed.
#[derive(Debug)]
pub struct LoadError {
    pub path: PathBuf,
    pub message: String,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.message)
    }
}

impl std::error::Error for LoadError {}

/// Reads and checks one case.
pub fn load_case(path: impl AsRef<Path>) -> Result<Case, LoadError> {
    let path = path.as_ref();
    let fail = |message: String| LoadError {
        path: path.to_owned(),
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|e| fail(e.to_string()))?;
    let mut case: Case = serde_json::from_str(&text).map_err(|e| fail(e.to_string()))?;
    if case.name.is_empty() {
        case.name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
    }
    case.path = path.to_owned();
    check_case(&case).map_err(fail)?;
    Ok(case)
}

/// Every `*.json` file under `path` (or `path` itself), sorted, loaded.
pub fn load_dir(path: impl AsRef<Path>) -> Result<Vec<Case>, LoadError> {
    let files = fixture_files(path.as_ref()).map_err(|e| LoadError {
        path: path.as_ref().to_owned(),
        message: e.to_string(),
    })?;
    files.iter().map(load_case).collect()
}

/// The fixture files under `path`, recursively and sorted by path; a file path is returned
/// as it is.
pub fn fixture_files(path: &Path) -> std::io::Result<Vec<PathBuf>> {
    if path.is_file() {
        return Ok(vec![path.to_owned()]);
    }
    let mut files = Vec::new();
    let mut pending = vec![path.to_owned()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let entry_path = entry?.path();
            if entry_path.is_dir() {
                pending.push(entry_path);
            } else if entry_path.extension().is_some_and(|ext| ext == "json") {
                files.push(entry_path);
            }
        }
    }
    files.sort();
    Ok(files)
}

fn check_case(case: &Case) -> Result<(), String> {
    if case.steps.is_empty() {
        return Err("a case needs at least one step".into());
    }
    for step in &case.steps {
        let at = |message: String| format!("step {:?}: {message}", step.name);
        check_step(step).map_err(at)?;
    }
    Ok(())
}

fn check_step(step: &Step) -> Result<(), String> {
    let request = &step.request;
    reqwest::Method::from_bytes(request.method.as_bytes())
        .map_err(|_| format!("invalid method {:?}", request.method))?;
    for (name, value) in &request.headers {
        let ok = match value {
            Value::Null | Value::String(_) => true,
            Value::Array(list) => list.iter().all(Value::is_string),
            _ => false,
        };
        if !ok {
            return Err(format!(
                "request header {name}: use a string, a list of strings or null"
            ));
        }
    }
    if let Some(Body::Multipart(parts)) = &request.body {
        for part in parts {
            if part.text.is_some() && part.body.is_some() {
                return Err(format!(
                    "part {:?}: give `text` or `body`, not both",
                    part.name
                ));
            }
        }
    }
    if let Some(retry) = step.retry {
        if retry.attempts == 0 {
            return Err("retry.attempts must be at least 1".into());
        }
    }
    let expect = &step.expect;
    if !(100..=599).contains(&expect.status) {
        return Err(format!("invalid status {}", expect.status));
    }
    for (name, value) in &expect.headers {
        if !value.is_null() && !matcher::is_absent(value) {
            matcher::validate(value, &format!("header {name}"))?;
        }
    }
    match &expect.body {
        Some(ExpectBody::Json(value)) => matcher::validate(value, "$")?,
        Some(ExpectBody::Text(value)) if !value.is_string() => matcher::validate(value, "body")?,
        Some(ExpectBody::Empty(false)) => {
            return Err("write an empty body as {\"empty\": true}".into())
        }
        _ => {}
    }
    Ok(())
}
