//! Typed reading of FilesNest requests (specs/filesnest.md §2, §5): the credential, path ids,
//! the chunk content type and the list query. Pure functions over header and query text.

use actix_web::http::header::{HeaderMap, AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE};

/// The token of `Authorization: Bearer <token>` (§2): the scheme word in any letter case, the
/// token the rest of the header with surrounding spaces trimmed. Sanctum tokens (`12|Xy...`)
/// pass unchanged. `None` when there is no usable credential.
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, token) = value.split_once([' ', '\t'])?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// A path id as the client wrote it (the route guarantees ASCII digits): kept as text for the
/// legacy 404 message, which echoes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathId {
    pub text: String,
    /// `None` when the digits do not fit an id: such an id is unknown.
    pub value: Option<u64>,
}

impl PathId {
    pub fn parse(text: &str) -> PathId {
        PathId {
            text: text.to_owned(),
            value: text.parse().ok(),
        }
    }
}

/// §5.2 step 4: the chunk's `Content-Type` must be byte for byte `application/octet-stream`
/// (no parameters, no other letter case), because the legacy controller compared the header
/// string itself.
pub fn is_octet_stream(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes() == b"application/octet-stream")
}

/// The declared `Content-Length`, if any and well formed.
pub fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// Whether a body is JSON by its `Content-Type` (Laravel's `isJson`: `/json` or `+json`);
/// §4 "Only JSON bodies are read".
pub fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("/json") || v.contains("+json"))
}

/// `page`, `limit` and `include` of the list, search and uploads routes (§5.3, §5.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ListQuery {
    /// 1-based page.
    pub page: u64,
    /// Items per page, 1..=100.
    pub per_page: u64,
    /// `include` names `uploads`.
    pub include_uploads: bool,
}

/// Laravel's default page size and Orion's largest.
pub const DEFAULT_LIMIT: u64 = 15;
pub const MAX_LIMIT: u64 = 100;

impl ListQuery {
    /// Reads a raw query string; anything unusable falls back to the defaults.
    pub fn parse(query: &str) -> ListQuery {
        let pairs = actix_web::web::Query::<Vec<(String, String)>>::from_query(query)
            .map(|q| q.into_inner())
            .unwrap_or_default();
        // PHP keeps the last of repeated keys.
        let last = |key: &str| {
            pairs
                .iter()
                .rev()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.as_str())
        };
        let page = last("page").and_then(php_validate_int).filter(|p| *p >= 1);
        let limit = last("limit").map(php_int_cast).filter(|l| *l > 0);
        ListQuery {
            page: page.map_or(1, |p| p as u64),
            per_page: limit.map_or(DEFAULT_LIMIT, |l| (l as u64).min(MAX_LIMIT)),
            include_uploads: includes_uploads(last("include")),
        }
    }
}

/// Whether a comma-separated `include` names `uploads` (other names are ignored).
pub fn includes_uploads(include: Option<&str>) -> bool {
    include.is_some_and(|v| v.split(',').any(|name| name.trim() == "uploads"))
}

/// The `include` of a query string, for routes that take nothing else.
pub fn include_of(query: &str) -> bool {
    ListQuery::parse(query).include_uploads
}

/// PHP's `filter_var($v, FILTER_VALIDATE_INT)`, which Laravel's paginator applies to `page`:
/// optional sign, no leading zeros, surrounding whitespace allowed.
fn php_validate_int(v: &str) -> Option<i64> {
    let t = v.trim();
    let digits = t.strip_prefix(['+', '-']).unwrap_or(t);
    let well_formed = !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (digits == "0" || !digits.starts_with('0'));
    well_formed.then(|| t.parse().ok()).flatten()
}

/// PHP's `(int) $v`, which Orion applies to `limit`: leading whitespace, an optional sign and
/// the digits that follow; anything else makes 0 (and so the default).
fn php_int_cast(v: &str) -> i64 {
    let t = v.trim_start();
    let (sign, rest) = match t.as_bytes().first() {
        Some(b'-') => (-1, &t[1..]),
        Some(b'+') => (1, &t[1..]),
        _ => (1, t),
    };
    let end = rest
        .bytes()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(rest.len());
    rest[..end]
        .parse::<i64>()
        .map(|n| sign * n)
        .unwrap_or(if end > 0 { sign * i64::MAX } else { 0 })
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::{HeaderName, HeaderValue};

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    #[test]
    fn the_bearer_scheme_is_case_insensitive_and_the_token_trimmed() {
        let cases = [
            ("Bearer abc", Some("abc")),
            ("bearer abc", Some("abc")),
            ("BEARER   12|Xy z  ", Some("12|Xy z")),
            ("Bearer", None),
            ("Bearer    ", None),
            ("Basic abc", None),
            ("Bearerabc", None),
            ("", None),
        ];
        for (value, token) in cases {
            assert_eq!(
                bearer_token(&headers(&[("authorization", value)])),
                token,
                "{value:?}"
            );
        }
        assert_eq!(bearer_token(&headers(&[])), None);
    }

    #[test]
    fn only_the_exact_octet_stream_type_is_a_chunk() {
        for (value, ok) in [
            ("application/octet-stream", true),
            ("application/octet-stream; charset=binary", false),
            ("Application/Octet-Stream", false),
            (" application/octet-stream", false),
            ("application/json", false),
        ] {
            assert_eq!(
                is_octet_stream(&headers(&[("content-type", value)])),
                ok,
                "{value}"
            );
        }
        assert!(!is_octet_stream(&headers(&[])));
    }

    #[test]
    fn json_bodies_are_recognised_like_laravel_does() {
        assert!(is_json(&headers(&[("content-type", "application/json")])));
        assert!(is_json(&headers(&[(
            "content-type",
            "application/vnd.api+json; charset=utf-8"
        )])));
        assert!(!is_json(&headers(&[("content-type", "text/plain")])));
        assert!(!is_json(&headers(&[])));
    }

    #[test]
    fn path_ids_keep_their_text_and_overflow_to_unknown() {
        assert_eq!(PathId::parse("026").value, Some(26));
        let huge = PathId::parse("99999999999999999999999");
        assert_eq!(huge.value, None);
        assert_eq!(huge.text, "99999999999999999999999");
    }

    #[test]
    fn page_and_limit_fall_back_to_their_defaults() {
        let cases = [
            ("", 1, 15),
            ("page=3&limit=20", 3, 20),
            ("page=0", 1, 15),
            ("page=-2", 1, 15),
            ("page=abc", 1, 15),
            ("page=02", 1, 15),
            ("page=+2", 2, 15),
            ("page=2&page=5", 5, 15),
            ("limit=101", 1, 100),
            ("limit=100000000000000000000000", 1, 100),
            ("limit=0", 1, 15),
            ("limit=-5", 1, 15),
            ("limit=abc", 1, 15),
            ("limit=20abc", 1, 20),
            ("limit=%2030", 1, 30),
            ("%zz", 1, 15),
        ];
        for (query, page, per_page) in cases {
            let q = ListQuery::parse(query);
            assert_eq!((q.page, q.per_page), (page, per_page), "{query}");
        }
    }

    #[test]
    fn include_names_uploads_among_others() {
        assert!(ListQuery::parse("include=uploads").include_uploads);
        assert!(ListQuery::parse("include=owner,uploads").include_uploads);
        assert!(ListQuery::parse("include=owner%2Cuploads").include_uploads);
        assert!(!ListQuery::parse("include=upload").include_uploads);
        assert!(!ListQuery::parse("").include_uploads);
        assert!(include_of("a=1&include=uploads"));
    }
}
