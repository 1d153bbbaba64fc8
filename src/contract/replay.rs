//! Replays a case against a base URL and checks each response.
//!
//! Steps run in order and share one [`Scope`]; a step's captures are applied only when the
//! whole step matched, and the case stops at the first step that does not (later steps
//! usually depend on it).

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use serde_json::Value;
use sha2::Digest as _;

use super::format::{Case, Expect, ExpectBody, Step};
use super::matcher::{is_absent, Matcher, Outcome};
use super::report::{CaseReport, Failure};
use super::request::{self, Prepared};
use super::scope::Scope;

/// The HTTP client the runner expects: no redirects followed (a `302` and its `Location` are
/// part of the contract), a per-request timeout, and optionally no certificate checks (a
/// legacy server with a self-signed certificate).
pub fn http_client(
    timeout: Duration,
    accept_invalid_certs: bool,
) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .danger_accept_invalid_certs(accept_invalid_certs)
        .build()
}

/// Runs every step of `case` against `base_url`; `overrides` replace the case's `vars`.
pub async fn run_case(
    client: &reqwest::Client,
    base_url: &str,
    case: &Case,
    overrides: &BTreeMap<String, String>,
) -> CaseReport {
    let failures = run_steps(client, base_url, case, overrides).await;
    CaseReport {
        name: case.name.clone(),
        ok: failures.is_empty(),
        failures,
    }
}

async fn run_steps(
    client: &reqwest::Client,
    base_url: &str,
    case: &Case,
    overrides: &BTreeMap<String, String>,
) -> Vec<Failure> {
    let mut scope = Scope::new(&case.vars, overrides);
    for (name, source) in &case.data {
        match request::resolve(source, &mut scope) {
            Ok(bytes) => scope.set_blob(name, bytes),
            Err(reason) => {
                return vec![Failure {
                    step: "data".into(),
                    reason: format!("{name}: {reason}"),
                }]
            }
        }
    }
    for step in &case.steps {
        let ordered_keys = step.expect.ordered_keys.unwrap_or(case.ordered_keys);
        if let Err(failures) = run_step(client, base_url, step, ordered_keys, &mut scope).await {
            return failures;
        }
    }
    Vec::new()
}

async fn run_step(
    client: &reqwest::Client,
    base_url: &str,
    step: &Step,
    ordered_keys: bool,
    scope: &mut Scope,
) -> Result<(), Vec<Failure>> {
    let fail = |reason: String| {
        vec![Failure {
            step: step.name.clone(),
            reason,
        }]
    };
    let prepared = request::prepare(&step.request, base_url, scope)
        .map_err(|e| fail(format!("request: {e}")))?;
    let (attempts, interval) = step.retry.map_or((1, 0), |r| (r.attempts, r.interval_ms));
    let mut attempt = 1;
    loop {
        let result = match send(client, &prepared).await {
            Ok(response) => {
                let outcome = check(&step.expect, &response, scope, ordered_keys);
                if outcome.mismatches.is_empty() {
                    for (name, value) in outcome.captures {
                        scope.set(&name, value);
                    }
                    return Ok(());
                }
                outcome.mismatches.iter().map(ToString::to_string).collect()
            }
            Err(reason) => vec![reason],
        };
        if attempt >= attempts {
            let note = if attempts > 1 {
                format!(" (after {attempts} attempts)")
            } else {
                String::new()
            };
            return Err(result
                .into_iter()
                .map(|reason| Failure {
                    step: step.name.clone(),
                    reason: format!("{reason}{note}"),
                })
                .collect());
        }
        attempt += 1;
        tokio::time::sleep(Duration::from_millis(interval)).await;
    }
}

/// A response, read whole.
struct Response {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Bytes,
}

impl Response {
    /// All values of a header joined by `, `, or `None` when it was not sent.
    fn header(&self, name: &str) -> Option<String> {
        let values: Vec<String> = self
            .headers
            .get_all(name)
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .collect();
        (!values.is_empty()).then(|| values.join(", "))
    }
}

async fn send(client: &reqwest::Client, prepared: &Prepared) -> Result<Response, String> {
    let mut builder = client.request(prepared.method.clone(), &prepared.url);
    for (name, value) in &prepared.headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    if let Some(body) = &prepared.body {
        builder = if prepared.chunked {
            let chunk = body.clone();
            builder.body(reqwest::Body::wrap_stream(futures_util::stream::once(
                async move { Ok::<_, std::io::Error>(chunk) },
            )))
        } else {
            builder.body(body.clone())
        };
    }
    let request = builder
        .build()
        .map_err(|e| format!("request: {}", chain(&e)))?;
    let response = client
        .execute(request)
        .await
        .map_err(|e| format!("{} {}: {}", prepared.method, prepared.url, chain(&e)))?;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response
        .bytes()
        .await
        .map_err(|e| format!("reading the body: {}", chain(&e)))?;
    Ok(Response {
        status,
        headers,
        body,
    })
}

/// An error and its sources, `a: b: c`.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        text.push_str(&format!(": {e}"));
        source = e.source();
    }
    text
}

fn check(expect: &Expect, response: &Response, scope: &Scope, ordered_keys: bool) -> Outcome {
    let matcher = Matcher::new(scope, ordered_keys);
    let mut out = Outcome::default();
    if response.status != expect.status {
        out.fail(
            "status",
            format!(
                "expected {}, got {} (body: {})",
                expect.status,
                response.status,
                snippet(&response.body)
            ),
        );
    }
    for (name, want) in &expect.headers {
        let path = format!("header {name}");
        match (want.is_null() || is_absent(want), response.header(name)) {
            (true, None) => {}
            (true, Some(got)) => out.fail(&path, format!("expected absent, got {got:?}")),
            (false, None) => out.fail(&path, "missing"),
            (false, Some(got)) => check_string(&matcher, scope, want, &got, &path, &mut out),
        }
    }
    for (name, var) in &expect.capture_headers {
        match response.header(name) {
            Some(got) => out.captures.push((var.clone(), Value::String(got))),
            None => out.fail(
                &format!("header {name}"),
                format!("missing (to capture {var})"),
            ),
        }
    }
    match &expect.body {
        None => {}
        Some(ExpectBody::Json(want)) => match serde_json::from_slice::<Value>(&response.body) {
            Ok(got) => {
                let inner = matcher.check(want, &got, "$");
                out.mismatches.extend(inner.mismatches);
                out.captures.extend(inner.captures);
            }
            Err(e) if response.body.is_empty() => {
                out.fail("body", format!("expected JSON, got an empty body ({e})"))
            }
            Err(e) => out.fail(
                "body",
                format!("expected JSON, got {} ({e})", snippet(&response.body)),
            ),
        },
        Some(ExpectBody::Text(want)) => match std::str::from_utf8(&response.body) {
            Ok(got) => check_string(&matcher, scope, want, got, "body", &mut out),
            Err(_) => out.fail(
                "body",
                format!(
                    "expected UTF-8 text, got {} bytes that are not",
                    response.body.len()
                ),
            ),
        },
        Some(ExpectBody::Empty(_)) if !response.body.is_empty() => out.fail(
            "body",
            format!(
                "expected empty body, got {} bytes: {}",
                response.body.len(),
                snippet(&response.body)
            ),
        ),
        Some(ExpectBody::Empty(_)) => {}
        Some(ExpectBody::BytesOf(name)) => match scope.blob(name) {
            Ok(want) => compare_bytes(&format!("{name:?}"), want, &response.body, &mut out),
            Err(e) => out.fail("body", e),
        },
        Some(ExpectBody::Base64(text)) => {
            use base64::Engine as _;
            match base64::engine::general_purpose::STANDARD.decode(text.trim()) {
                Ok(want) => compare_bytes("the base64 bytes", &want, &response.body, &mut out),
                Err(e) => out.fail("body", format!("invalid base64 in the fixture: {e}")),
            }
        }
    }
    out
}

/// A header value or text body: `"$any"` accepts any text, another string is exact text
/// (templates expanded as text), anything else is a matcher applied to the string.
fn check_string(
    matcher: &Matcher<'_>,
    scope: &Scope,
    want: &Value,
    got: &str,
    path: &str,
    out: &mut Outcome,
) {
    let Value::String(want) = want else {
        let inner = matcher.check(want, &Value::String(got.to_owned()), path);
        out.mismatches.extend(inner.mismatches);
        out.captures.extend(inner.captures);
        return;
    };
    if want == "$any" {
        return;
    }
    match scope.expand(want) {
        Ok(want) if want == got => {}
        Ok(want) => out.fail(
            path,
            format!("expected {want:?}, got {}", snippet(got.as_bytes())),
        ),
        Err(e) => out.fail(path, e),
    }
}

fn compare_bytes(what: &str, want: &[u8], got: &[u8], out: &mut Outcome) {
    if want == got {
        return;
    }
    let first_difference = want
        .iter()
        .zip(got)
        .position(|(a, b)| a != b)
        .unwrap_or(want.len().min(got.len()));
    out.fail(
        "body",
        format!(
            "expected {what}: {} bytes (sha256 {}), got {} bytes (sha256 {}); first difference at byte {first_difference}",
            want.len(),
            hex::encode(sha2::Sha256::digest(want)),
            got.len(),
            hex::encode(sha2::Sha256::digest(got)),
        ),
    );
}

/// The start of a body for messages: lossy UTF-8, quoted, at most 200 characters.
fn snippet(body: &[u8]) -> String {
    if body.is_empty() {
        return "empty".into();
    }
    let text = String::from_utf8_lossy(body);
    match text.char_indices().nth(200) {
        Some((cut, _)) => format!("{:?}…", &text[..cut]),
        None => format!("{text:?}"),
    }
}
