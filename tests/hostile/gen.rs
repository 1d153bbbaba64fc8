//! Generators shared by the dialects' properties: hostile names and paths, JSON values of the
//! wrong kind (as raw text, so numbers serde cannot hold can be sent), garbage credentials and
//! multipart bodies, well-formed or mangled.

use crate::helpers::{ADMIN_TOKEN, OTHER_TOKEN, USER_TOKEN};
use proptest::prelude::*;

/// Names and paths that try to escape or confuse: traversal, absolute, NUL, very long, unicode
/// tricks (RTL override, fullwidth and look-alike dots, zero-width characters).
pub fn tricky_name() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "../../etc/passwd",
            "..",
            ".",
            "/etc/passwd",
            "/",
            "a/../../b",
            "./../x",
            "..\\..\\windows\\win.ini",
            "C:\\boot.ini",
            "a\0b",
            "\0",
            "\u{202e}gpj.exe",
            "\u{ff0e}\u{ff0e}/\u{ff0e}\u{ff0e}/x",
            "\u{2024}\u{2024}/x",
            "\u{fe52}\u{fe52}\u{2215}x",
            "file\u{200b}.txt",
            "%2e%2e%2f%2e%2e%2fx",
            "..%c0%af..%c0%afx",
            "con",
            "a//b",
            " ",
            "",
        ])
        .prop_map(str::to_owned),
        "[a-z]{1,8}".prop_map(|s| format!("../{s}")),
        "[a-z]{1,8}".prop_map(|s| format!("/{s}/../../{s}")),
        (256usize..1500).prop_map(|n| "n".repeat(n)),
        (1usize..120).prop_map(|n| "../".repeat(n)),
        any::<String>(),
    ]
}

/// Raw bytes for places that are not JSON (multipart filenames): the names above plus overlong
/// UTF-8 encodings of `.` and `/`, which a naive decoder turns into `../`.
pub fn tricky_name_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => tricky_name().prop_map(String::into_bytes),
        1 => Just(b"\xc0\xae\xc0\xae\xc0\xafx".to_vec()),
        1 => Just(b"\xe0\x80\xae\xe0\x80\xae/x".to_vec()),
        1 => prop::collection::vec(any::<u8>(), 1..40),
    ]
}

/// JSON text for a field that is not a well-formed value of any useful kind: wrong types,
/// huge, negative and non-integer numbers, and numbers no 64-bit type holds.
pub fn json_junk() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "null",
            "true",
            "false",
            "[]",
            "{}",
            "[1,2]",
            "{\"$gt\":\"\"}",
            "1.5",
            "-1",
            "0",
            "-0",
            "1e400",
            "-1e400",
            "1e-400",
            "99999999999999999999999999999",
            "-99999999999999999999999999999",
            "18446744073709551616",
            "9223372036854775808",
            "4294967296",
            "\"\"",
            "\"1\"",
            "\"-1\"",
            "\"1.5\"",
            "\"abc\"",
            "\"0x10\"",
        ])
        .prop_map(str::to_owned),
        any::<i64>().prop_map(|n| n.to_string()),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| format!("{f:e}")),
        tricky_name().prop_map(|s| serde_json::Value::String(s).to_string()),
    ]
}

/// A JSON object as text from `(key, raw value)` pairs; `None` values are left out.
pub fn object(fields: &[(&str, Option<String>)]) -> String {
    let inner: Vec<String> = fields
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| format!("{}:{v}", serde_json::json!(k))))
        .collect();
    format!("{{{}}}", inner.join(","))
}

/// JSON text of a string.
pub fn js(s: &str) -> String {
    serde_json::Value::String(s.to_owned()).to_string()
}

/// Bodies that are not a JSON object: garbage, other JSON kinds, truncated objects.
pub fn not_an_object() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::sample::select(vec![
            "",
            "null",
            "[]",
            "[{}]",
            "1",
            "\"x\"",
            "{",
            "{\"a\":",
            "{\"a\":1,}",
            "{'a':1}",
            "\u{feff}",
            "{\"a\":1}}",
            "true",
        ])
        .prop_map(|s| s.as_bytes().to_vec()),
        prop::collection::vec(any::<u8>(), 1..200),
    ]
}

/// A credential no configured principal has: garbage, very long, or the admin token (which
/// is not a user token).
pub fn garbage_token() -> impl Strategy<Value = String> {
    prop_oneof![
        "[!-~]{1,64}",
        (2000usize..6000).prop_map(|n| "t".repeat(n)),
        Just(ADMIN_TOKEN.to_owned()),
        Just(format!("{USER_TOKEN}x")),
        Just(format!("x{OTHER_TOKEN}")),
    ]
    .prop_filter("not a user token", |t| {
        t.trim() != USER_TOKEN && t.trim() != OTHER_TOKEN
    })
}

/// One part of a multipart body.
#[derive(Clone, Debug)]
pub struct Part {
    pub name: Vec<u8>,
    pub filename: Option<Vec<u8>>,
    pub content_type: Option<String>,
    pub data: Vec<u8>,
}

impl Part {
    pub fn field(name: &str, value: impl Into<Vec<u8>>) -> Part {
        Part {
            name: name.as_bytes().to_vec(),
            filename: None,
            content_type: None,
            data: value.into(),
        }
    }

    pub fn file(name: &str, filename: impl Into<Vec<u8>>, data: impl Into<Vec<u8>>) -> Part {
        Part {
            name: name.as_bytes().to_vec(),
            filename: Some(filename.into()),
            content_type: Some("application/octet-stream".into()),
            data: data.into(),
        }
    }
}

pub const BOUNDARY: &str = "hostileBoundary7MA4YWxk";

/// `multipart/form-data; boundary=BOUNDARY`.
pub fn multipart_type() -> String {
    format!("multipart/form-data; boundary={BOUNDARY}")
}

/// A well-formed multipart body.
pub fn multipart(parts: &[Part]) -> Vec<u8> {
    let mut out = Vec::new();
    for p in parts {
        out.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
        out.extend_from_slice(b"Content-Disposition: form-data; name=\"");
        out.extend_from_slice(&p.name);
        out.push(b'"');
        if let Some(f) = &p.filename {
            // A quoted-string: `\` and `"` are escaped, so the server decodes exactly `f`.
            out.extend_from_slice(b"; filename=\"");
            for &b in f {
                if b == b'\\' || b == b'"' {
                    out.push(b'\\');
                }
                out.push(b);
            }
            out.push(b'"');
        }
        out.extend_from_slice(b"\r\n");
        if let Some(ct) = &p.content_type {
            out.extend_from_slice(format!("Content-Type: {ct}\r\n").as_bytes());
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&p.data);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    out
}

/// Ways to break a multipart request.
#[derive(Clone, Debug)]
pub enum Mangle {
    /// The body ends inside the data of its first part (so no part is ever complete).
    TruncateInFirstPart(u8),
    /// The closing delimiter is missing (every part but the last is complete).
    NoClosingDelimiter,
    /// The header names a boundary the body does not use.
    WrongBoundary,
    /// `multipart/form-data` without a boundary parameter.
    NoBoundary,
    /// Headers of a part never end.
    EndlessPartHeaders,
    /// Random bytes under a multipart content type.
    Garbage(Vec<u8>),
}

pub fn mangle() -> impl Strategy<Value = Mangle> {
    prop_oneof![
        any::<u8>().prop_map(Mangle::TruncateInFirstPart),
        Just(Mangle::NoClosingDelimiter),
        Just(Mangle::WrongBoundary),
        Just(Mangle::NoBoundary),
        Just(Mangle::EndlessPartHeaders),
        prop::collection::vec(any::<u8>(), 0..300).prop_map(Mangle::Garbage),
    ]
}

/// The content type and body of a multipart request broken by `m`. With
/// `NoClosingDelimiter`, every part but the last stays complete: callers put the part that
/// matters last.
pub fn mangled(parts: &[Part], m: &Mangle) -> (String, Vec<u8>) {
    let body = multipart(parts);
    match m {
        Mangle::TruncateInFirstPart(at) => {
            // The first part's data starts after its blank line; cut somewhere inside it.
            let start = body.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
            let len = parts.first().map_or(0, |p| p.data.len());
            let cut = start + (len * usize::from(*at)) / 256;
            (multipart_type(), body[..cut].to_vec())
        }
        Mangle::NoClosingDelimiter => {
            let end = body.len() - format!("--{BOUNDARY}--\r\n").len();
            // Also drop the CRLF that ends the last part's data, so it never terminates.
            (multipart_type(), body[..end - 2].to_vec())
        }
        Mangle::WrongBoundary => ("multipart/form-data; boundary=notTheOne".into(), body),
        Mangle::NoBoundary => ("multipart/form-data".into(), body),
        Mangle::EndlessPartHeaders => {
            let mut b = format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"x\"\r\n")
                .into_bytes();
            b.extend(std::iter::repeat_n(b'a', 4000));
            (multipart_type(), b)
        }
        Mangle::Garbage(bytes) => (multipart_type(), bytes.clone()),
    }
}
