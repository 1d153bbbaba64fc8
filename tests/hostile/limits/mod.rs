//! Limits at their boundary (issue 9, group 5): for every dialect where a limit applies, a
//! request exactly at the limit passes and one just over it is refused with the dialect's own
//! error, leaving the store unchanged. Limits are set small in each test's settings so the
//! bodies stay small. The table of limits is in docs/reliability.md, "Limits".

mod audioboom;
mod dstor;
mod dyson;
mod filesnest;
mod spika;

use crate::helpers::TestApp;
use crate::support::*;
use serde_json::Value;

/// Sends `h`, expects `status`, returns the JSON body (`null` when none).
pub async fn expect(app: &TestApp, h: Hostile, status: u16) -> Value {
    let a = send(app, &h).await.unwrap();
    assert_eq!(a.status, status, "{h:?}\n→ {a:?}");
    serde_json::from_slice(&a.body).unwrap_or(Value::Null)
}

/// Sends `h`, expects `status` in the dialect's error format, and checks that nothing stored
/// changed. Returns the body.
pub async fn refused(app: &TestApp, h: Hostile, status: u16, format: Format) -> Value {
    let before = snapshot(app).await;
    let a = send(app, &h).await.unwrap();
    assert_eq!(a.status, status, "{h:?}\n→ {a:?}");
    check_format(format, &a).unwrap_or_else(|e| panic!("{e}: {a:?}"));
    let after = snapshot(app).await;
    assert!(after == before, "{}", difference(&before, &after));
    serde_json::from_slice(&a.body).unwrap_or(Value::Null)
}

/// A JSON object of exactly `total` bytes: `fields` (object members without braces) plus an
/// ignored `pad` member.
pub fn json_of_size(fields: &str, total: usize) -> String {
    let bare = format!(r#"{{"pad":"",{fields}}}"#);
    assert!(bare.len() <= total, "{bare} is already longer than {total}");
    format!(r#"{{"pad":"{}",{fields}}}"#, "p".repeat(total - bare.len()))
}

/// A multipart body of exactly `total` bytes whose last part (a file) is padded.
pub fn multipart_of_size(parts: &[crate::gen::Part], total: usize) -> Vec<u8> {
    let mut parts = parts.to_vec();
    let last = parts.last_mut().expect("a part to pad");
    last.data.clear();
    let bare = crate::gen::multipart(&parts).len();
    assert!(bare <= total);
    parts.last_mut().unwrap().data = vec![b'x'; total - bare];
    let body = crate::gen::multipart(&parts);
    assert_eq!(body.len(), total);
    body
}
