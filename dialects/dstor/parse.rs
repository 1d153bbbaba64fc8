//! Typed parsing of dStor requests (specs/dstor.md §2–§5): pure functions, checked by the
//! tables below, run before anything touches the engine.

use actix_web::http::header::{ContentDisposition, DispositionParam};
use actix_web::mime;
use serde_json::Value;

use super::error::DstorError;

/// Longest segment of a folder or file path, in bytes (§4, §5 step 8).
const MAX_SEGMENT: usize = 255;
/// Longest normalised `folder_path`, in bytes (§4).
const MAX_FOLDER_PATH: usize = 1024;
/// `x-dstor-comment` is cut to this many bytes (§5).
const MAX_COMMENT: usize = 1024;

/// The body of `POST /v1/upload/get-token` (§4).
#[derive(Debug, PartialEq, Eq)]
pub struct GetToken {
    pub chunks_number: u32,
    /// Normalised: segments joined by `/`, no leading or trailing slash, "" for the root.
    pub folder_path: String,
}

/// Parses the get-token body whatever its `Content-Type`; unknown keys are ignored.
pub fn get_token(body: &[u8], max_chunks: u64) -> Result<GetToken, DstorError> {
    let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(body) else {
        return Err(DstorError::NotAnObject);
    };
    let max = max_chunks.min(u64::from(u32::MAX));
    let chunks = match map.get("chunks_number") {
        Some(Value::Number(n)) => n.as_u64(),
        // A string of digits is accepted too (form-minded clients).
        Some(Value::String(s)) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
            s.parse::<u64>().ok()
        }
        _ => None,
    };
    let chunks_number = match chunks {
        Some(n) if (1..=max).contains(&n) => n as u32,
        _ => return Err(DstorError::ChunksNumber { max: max_chunks }),
    };
    let folder_path = match map.get("folder_path") {
        None | Some(Value::Null) => return Err(DstorError::FolderPathRequired),
        Some(Value::String(s)) => folder_path(s).ok_or(DstorError::FolderPathInvalid)?,
        Some(_) => return Err(DstorError::FolderPathInvalid),
    };
    Ok(GetToken {
        chunks_number,
        folder_path,
    })
}

/// A segment that may become a path component: not `.` or `..`, no NUL or `\`, at most 255
/// bytes. (Names are metadata only, never filesystem paths; this keeps them safe to show.)
fn valid_segment(s: &str) -> bool {
    !s.is_empty() && s != "." && s != ".." && !s.contains(['\0', '\\']) && s.len() <= MAX_SEGMENT
}

/// Normalises `folder_path` (§4): empty segments are dropped, so `""` and `"/"` mean the root.
pub fn folder_path(raw: &str) -> Option<String> {
    let segments: Vec<&str> = raw.split('/').filter(|s| !s.is_empty()).collect();
    if !segments.iter().all(|s| valid_segment(s)) {
        return None;
    }
    let joined = segments.join("/");
    (joined.len() <= MAX_FOLDER_PATH).then_some(joined)
}

/// Normalises a part's filename into a path relative to the folder (§5 step 8). Leading `./`
/// and `/` are stripped, repeatedly: browser folder drops send `/dir/a.png`.
pub fn file_path(raw: &str) -> Option<String> {
    let mut rest = raw;
    loop {
        if let Some(r) = rest.strip_prefix("./") {
            rest = r;
        } else if let Some(r) = rest.strip_prefix('/') {
            rest = r;
        } else {
            break;
        }
    }
    if rest.is_empty() || !rest.split('/').all(valid_segment) {
        return None;
    }
    Some(rest.to_owned())
}

/// The filename of a part: `filename*` when present, otherwise `filename`; `None` (not a file
/// part) when absent or empty (§5 step 7).
pub fn part_filename(cd: &ContentDisposition) -> Option<String> {
    let extended = cd.parameters.iter().find_map(|p| match p {
        DispositionParam::FilenameExt(ext) => Some(match ext.charset {
            // ISO-8859-1 maps each byte to the code point of the same value.
            actix_web::http::header::Charset::Iso_8859_1 => {
                ext.value.iter().map(|&b| char::from(b)).collect()
            }
            _ => String::from_utf8_lossy(&ext.value).into_owned(),
        }),
        _ => None,
    });
    extended
        .or_else(|| cd.get_filename().map(str::to_owned))
        .filter(|name| !name.is_empty())
}

/// `true` when `content_type` is `multipart/form-data` with a boundary (§5 step 5).
pub fn is_form_data(content_type: Option<&str>) -> bool {
    content_type
        .and_then(|ct| ct.parse::<mime::Mime>().ok())
        .is_some_and(|m| {
            m.type_() == mime::MULTIPART
                && m.subtype() == mime::FORM_DATA
                && m.get_param(mime::BOUNDARY).is_some()
        })
}

/// The boundary of a `multipart/form-data` content type.
pub fn boundary(content_type: &str) -> Option<String> {
    let m = content_type.parse::<mime::Mime>().ok()?;
    Some(m.get_param(mime::BOUNDARY)?.as_str().to_owned())
}

/// The token of `Authorization: Bearer <t>`; the scheme is case-insensitive (§2).
pub fn bearer(authorization: Option<&str>) -> Option<&str> {
    let (scheme, token) = authorization?.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// The expiry of a minted access token, in whole Unix seconds (§3): `x-expiration` (an integer
/// or a decimal such as `1677336539.123`) must be after `now`, and is lowered to
/// `now + max_lifetime`; absent, it is that bound.
pub fn expiration(header: Option<&str>, now: f64, max_lifetime: u64) -> Result<u64, DstorError> {
    let bound = now + max_lifetime as f64;
    let Some(raw) = header else {
        return Ok(bound.floor() as u64);
    };
    let raw = raw.trim();
    let (int, frac) = raw.split_once('.').unwrap_or((raw, "0"));
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(int) || !digits(frac) {
        return Err(DstorError::BadExpiration);
    }
    let value: f64 = raw.parse().map_err(|_| DstorError::BadExpiration)?;
    if !value.is_finite() || value <= now {
        return Err(DstorError::BadExpiration);
    }
    Ok(value.min(bound).floor() as u64)
}

/// `x-dstor-comment`, cut to 1024 bytes at a character boundary (§5).
pub fn comment(raw: &[u8]) -> String {
    let text = String::from_utf8_lossy(raw);
    let mut end = text.len().min(MAX_COMMENT);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::HeaderValue;

    #[test]
    fn get_token_bodies_parse_or_get_their_legacy_error() {
        let ok = |n, f: &str| {
            Ok::<_, String>(GetToken {
                chunks_number: n,
                folder_path: f.into(),
            })
        };
        let err = |e: &str| Err::<GetToken, _>(e.to_owned());
        let cases: Vec<(&str, Result<GetToken, String>)> = vec![
            (
                r#"{"chunks_number":3,"folder_path":"evidence"}"#,
                ok(3, "evidence"),
            ),
            (r#"{"chunks_number":"12","folder_path":"/"}"#, ok(12, "")),
            (
                r#"{"chunks_number":1,"folder_path":"","extra":true}"#,
                ok(1, ""),
            ),
            (
                r#"{"chunks_number":1,"folder_path":"/a//b/"}"#,
                ok(1, "a/b"),
            ),
            (
                r#"{"chunks_number":10000,"folder_path":"arbitration/bob"}"#,
                ok(10000, "arbitration/bob"),
            ),
            ("[1]", err("Request body must be a JSON object")),
            ("not json", err("Request body must be a JSON object")),
            ("", err("Request body must be a JSON object")),
            (
                r#"{"folder_path":"a"}"#,
                err("chunks_number must be an integer between 1 and 10000"),
            ),
            (
                r#"{"chunks_number":0,"folder_path":"a"}"#,
                err("chunks_number must be an integer between 1 and 10000"),
            ),
            (
                r#"{"chunks_number":10001,"folder_path":"a"}"#,
                err("chunks_number must be an integer between 1 and 10000"),
            ),
            (
                r#"{"chunks_number":2.5,"folder_path":"a"}"#,
                err("chunks_number must be an integer between 1 and 10000"),
            ),
            (
                r#"{"chunks_number":-1,"folder_path":"a"}"#,
                err("chunks_number must be an integer between 1 and 10000"),
            ),
            (
                r#"{"chunks_number":"1x","folder_path":"a"}"#,
                err("chunks_number must be an integer between 1 and 10000"),
            ),
            (
                r#"{"chunks_number":true,"folder_path":"a"}"#,
                err("chunks_number must be an integer between 1 and 10000"),
            ),
            (r#"{"chunks_number":1}"#, err("folder_path is required")),
            (
                r#"{"chunks_number":1,"folder_path":null}"#,
                err("folder_path is required"),
            ),
            (
                r#"{"chunks_number":1,"folder_path":5}"#,
                err("folder_path is invalid"),
            ),
            (
                r#"{"chunks_number":1,"folder_path":"a/../b"}"#,
                err("folder_path is invalid"),
            ),
        ];
        for (body, want) in cases {
            let got = get_token(body.as_bytes(), 10_000).map_err(|e| e.to_string());
            assert_eq!(got, want, "{body}");
        }
    }

    #[test]
    fn folder_paths_normalise_and_unsafe_ones_are_refused() {
        let long = "x".repeat(256);
        let long_path = vec!["y".repeat(200); 6].join("/");
        let cases: Vec<(&str, Option<&str>)> = vec![
            ("", Some("")),
            ("/", Some("")),
            ("a/", Some("a")),
            ("/a//b", Some("a/b")),
            ("test", Some("test")),
            ("arbitration/alice", Some("arbitration/alice")),
            (".", None),
            ("a/..", None),
            ("a\\b", None),
            ("a\0b", None),
            (&long, None),
            (&long_path, None),
        ];
        for (raw, want) in cases {
            assert_eq!(folder_path(raw).as_deref(), want, "{raw:?}");
        }
    }

    #[test]
    fn file_paths_are_made_relative_and_unsafe_ones_are_refused() {
        let long = format!("a/{}", "x".repeat(256));
        let cases: Vec<(&str, Option<&str>)> = vec![
            ("a.txt", Some("a.txt")),
            ("/img/c.txt", Some("img/c.txt")),
            ("./a.txt", Some("a.txt")),
            ("/././/a/b", Some("a/b")),
            ("dir/sub/x.bin", Some("dir/sub/x.bin")),
            ("..a", Some("..a")),
            ("../b.txt", None),
            ("a/../b", None),
            ("a/./b", None),
            ("a//b", None),
            ("a/", None),
            ("/", None),
            ("./", None),
            ("a\\b", None),
            ("a\0b", None),
            (&long, None),
        ];
        for (raw, want) in cases {
            assert_eq!(file_path(raw).as_deref(), want, "{raw:?}");
        }
    }

    fn disposition(raw: &str) -> ContentDisposition {
        ContentDisposition::from_raw(&HeaderValue::from_str(raw).unwrap()).unwrap()
    }

    #[test]
    fn a_part_is_a_file_when_it_has_a_non_empty_filename_whatever_its_name() {
        let cases = [
            (r#"form-data; name="file"; filename="a.txt""#, Some("a.txt")),
            (
                r#"form-data; name=""; filename="/dir/a.png""#,
                Some("/dir/a.png"),
            ),
            (r#"form-data; name="x"; filename="""#, None),
            (r#"form-data; name="field""#, None),
            (
                r#"form-data; name="f"; filename="plain.txt"; filename*=UTF-8''na%C3%AFve.txt"#,
                Some("naïve.txt"),
            ),
            (
                r#"form-data; name="f"; filename*=ISO-8859-1''caf%E9.txt"#,
                Some("café.txt"),
            ),
        ];
        for (raw, want) in cases {
            assert_eq!(part_filename(&disposition(raw)).as_deref(), want, "{raw}");
        }
    }

    #[test]
    fn only_multipart_form_data_with_a_boundary_is_an_upload_body() {
        let cases = [
            (Some("multipart/form-data; boundary=xyz"), true),
            (Some("Multipart/Form-Data; boundary=\"a b\""), true),
            (Some("multipart/form-data"), false),
            (Some("multipart/mixed; boundary=xyz"), false),
            (Some("application/json"), false),
            (None, false),
        ];
        for (ct, want) in cases {
            assert_eq!(is_form_data(ct), want, "{ct:?}");
        }
        assert_eq!(
            boundary("multipart/form-data; boundary=\"a b\"").as_deref(),
            Some("a b")
        );
    }

    #[test]
    fn bearer_tokens_are_read_with_any_scheme_case() {
        let cases = [
            (Some("Bearer abc"), Some("abc")),
            (Some("bearer abc"), Some("abc")),
            (Some("BEARER  abc "), Some("abc")),
            (Some("Basic abc"), None),
            (Some("Bearer"), None),
            (Some("Bearer "), None),
            (None, None),
        ];
        for (h, want) in cases {
            assert_eq!(bearer(h), want, "{h:?}");
        }
    }

    #[test]
    fn expirations_must_be_future_unix_times_and_are_capped() {
        let now = 1_700_000_000.25;
        let max = 100;
        let cases: Vec<(Option<&str>, Result<u64, ()>)> = vec![
            (None, Ok(1_700_000_100)),
            (Some("1700000050"), Ok(1_700_000_050)),
            (Some("1700000050.9"), Ok(1_700_000_050)),
            (Some("1700000000.5"), Ok(1_700_000_000)),
            (Some("1800000000"), Ok(1_700_000_100)),
            (Some("1700000000.25"), Err(())),
            (Some("1600000000"), Err(())),
            (Some("-5"), Err(())),
            (Some("1e12"), Err(())),
            (Some("soon"), Err(())),
            (Some(""), Err(())),
            (Some("1700000050."), Err(())),
        ];
        for (h, want) in cases {
            assert_eq!(expiration(h, now, max).map_err(|_| ()), want, "{h:?}");
        }
    }

    #[test]
    fn comments_are_cut_to_1024_bytes_on_a_character_boundary() {
        assert_eq!(comment(b"hello"), "hello");
        assert_eq!(comment(&[b'a'; 2000]).len(), 1024);
        let accented = "é".repeat(600);
        let cut = comment(accented.as_bytes());
        assert_eq!(cut.len(), 1024);
        assert!(cut.chars().all(|c| c == 'é'));
    }
}
