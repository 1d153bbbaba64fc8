//! Typed parsing of Spika requests (specs/spika.md §3 and §4), before any handler touches the
//! engine. Pure functions over the body bytes; the texts are the legacy yup messages.
//!
//! Types are strict (a number sent as a string is refused), unknown keys are ignored, fields are
//! checked in the spec's order and only the first failure is reported.

use super::decode;
use super::error::SpikaError;
use super::model::{FileFields, MetaData};
use serde_json::{Map, Number, Value};

/// The largest integer a JavaScript client can send exactly (`Number.MAX_SAFE_INTEGER`); the
/// bound for `size`, `relationId` and `roomId`, which the spec leaves open.
pub const MAX_SAFE_INTEGER: i128 = 9_007_199_254_740_991;

/// `POST /api/upload/files`.
#[derive(Debug, PartialEq, Eq)]
pub struct ChunkRequest {
    /// The chunk's bytes, decoded from its base64 text by [`decode::decode`].
    pub data: Vec<u8>,
    /// The chunk's index (the legacy field is called `offset`).
    pub offset: u64,
    pub client_id: String,
}

/// `POST /api/upload/files/verify`.
pub struct VerifyRequest {
    pub total: u64,
    pub file_hash: String,
    /// Everything stored on the file record as sent.
    pub fields: FileFields,
}

fn invalid_base64() -> SpikaError {
    SpikaError::Validation("chunk must be valid base64".to_owned())
}

/// Parses a chunk body; `max_chunks` is `spika.max_chunks`.
pub fn parse_chunk(body: &[u8], max_chunks: u64) -> Result<ChunkRequest, SpikaError> {
    let mut f = Fields::from_body(body)?;
    // Decoded here, in field order: the text is consumed, so one decoded copy stays and no
    // second copy of the text.
    let data = decode::decode(f.string("chunk")?).map_err(|_| invalid_base64())?;
    let offset = f.integer("offset")?;
    let offset = at_least("offset", offset, 0)?;
    if offset >= i128::from(max_chunks) {
        return Err(fail(format!("offset must be less than {max_chunks}")));
    }
    let client_id = f.client_id()?;
    Ok(ChunkRequest {
        data,
        offset: offset as u64,
        client_id,
    })
}

/// Parses a verify body; `max_chunks` is `spika.max_chunks`.
pub fn parse_verify(body: &[u8], max_chunks: u64) -> Result<VerifyRequest, SpikaError> {
    let mut f = Fields::from_body(body)?;
    let total = f.integer("total")?;
    let total = at_least("total", total, 1)?;
    let total = at_most("total", total, i128::from(max_chunks))? as u64;
    let size = f.integer("size")?;
    let size = at_least("size", size, 1)?;
    let size = at_most("size", size, MAX_SAFE_INTEGER)? as u64;
    let mime_type = f.string("mimeType")?;
    let file_name = f.string("fileName")?;
    // yup's `max(255)` counts JavaScript string length: UTF-16 code units.
    if file_name.encode_utf16().count() > 255 {
        return Err(fail("fileName must be at most 255 characters".to_owned()));
    }
    let client_id = f.client_id()?;
    let file_hash = f.string("fileHash")?;
    let kind = f.string("type")?;
    let relation_id = f.optional_safe_integer("relationId")?;
    let meta_data = f.meta_data()?;
    let room_id = f.optional_safe_integer("roomId")?;
    Ok(VerifyRequest {
        total,
        file_hash,
        fields: FileFields {
            file_name,
            size,
            mime_type,
            kind,
            relation_id,
            room_id,
            client_id,
            meta_data,
        },
    })
}

/// True for a `clientId` of 1–128 characters from `[A-Za-z0-9._~-]`, other than `.` and `..`
/// (a deviation: the original used it as a directory name unchecked, §10).
pub fn valid_client_id(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id != "."
        && id != ".."
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'~' | b'-'))
}

/// A legacy file id from a path segment of digits (larger than `u64`: no such file).
pub fn file_id(segment: &str) -> Option<u64> {
    segment
        .bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| segment.parse().ok())
        .flatten()
}

fn fail(text: String) -> SpikaError {
    SpikaError::Validation(text)
}

fn required(name: &str) -> SpikaError {
    fail(format!("{name} is a required field"))
}

fn wrong_type(name: &str, ty: &str) -> SpikaError {
    fail(format!("{name} must be a `{ty}` type"))
}

/// An integral JSON number as an `i128` (saturating far outside any bound), like JavaScript's
/// `Number.isInteger`: `3.0` counts, `3.5` does not.
fn integral(n: &Number) -> Option<i128> {
    if let Some(i) = n.as_i64() {
        return Some(i128::from(i));
    }
    if let Some(u) = n.as_u64() {
        return Some(i128::from(u));
    }
    let f = n.as_f64()?;
    (f.is_finite() && f.fract() == 0.0).then_some(f as i128)
}

/// The body's top-level object, consumed field by field.
struct Fields(Map<String, Value>);

impl Fields {
    fn from_body(body: &[u8]) -> Result<Fields, SpikaError> {
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(map)) => Ok(Fields(map)),
            _ => Err(SpikaError::not_an_object()),
        }
    }

    /// The value of `name`; `None` when missing or `null` (yup treats both as absent).
    fn take(&mut self, name: &str) -> Option<Value> {
        self.0.remove(name).filter(|v| !v.is_null())
    }

    /// A required, non-empty string (moved out, so a chunk's text is never copied).
    fn string(&mut self, name: &str) -> Result<String, SpikaError> {
        match self.take(name) {
            None => Err(required(name)),
            Some(Value::String(s)) if s.is_empty() => Err(required(name)),
            Some(Value::String(s)) => Ok(s),
            Some(_) => Err(wrong_type(name, "string")),
        }
    }

    /// A required integer.
    fn integer(&mut self, name: &str) -> Result<i128, SpikaError> {
        match self.take(name) {
            None => Err(required(name)),
            Some(v) => number(name, &v),
        }
    }

    /// An optional integer (`null` or absent: none) within JavaScript's safe range.
    fn optional_safe_integer(&mut self, name: &str) -> Result<Option<i64>, SpikaError> {
        let Some(v) = self.take(name) else {
            return Ok(None);
        };
        let value = number(name, &v)?;
        let value = at_least(name, value, -MAX_SAFE_INTEGER)?;
        let value = at_most(name, value, MAX_SAFE_INTEGER)?;
        Ok(Some(value as i64))
    }

    fn client_id(&mut self) -> Result<String, SpikaError> {
        let id = self.string("clientId")?;
        if !valid_client_id(&id) {
            return Err(fail(
                "clientId must be 1-128 characters of A-Z a-z 0-9 . _ ~ -".to_owned(),
            ));
        }
        Ok(id)
    }

    /// `metaData`: an optional object of optional numbers, each truncated toward zero.
    fn meta_data(&mut self) -> Result<MetaData, SpikaError> {
        let mut out = MetaData::default();
        let mut map = match self.take("metaData") {
            None => return Ok(out),
            Some(Value::Object(map)) => map,
            Some(_) => return Err(wrong_type("metaData", "object")),
        };
        for (key, slot) in [
            ("duration", &mut out.duration),
            ("width", &mut out.width),
            ("height", &mut out.height),
        ] {
            match map.remove(key) {
                None | Some(Value::Null) => {}
                Some(Value::Number(n)) => {
                    // `as` saturates and truncates toward zero, like `Math.trunc` clamped.
                    *slot = n
                        .as_i64()
                        .unwrap_or_else(|| n.as_f64().unwrap_or(0.0) as i64);
                }
                Some(_) => return Err(wrong_type(&format!("metaData.{key}"), "number")),
            }
        }
        Ok(out)
    }
}

fn at_least(name: &str, value: i128, min: i128) -> Result<i128, SpikaError> {
    if value < min {
        return Err(fail(format!(
            "{name} must be greater than or equal to {min}"
        )));
    }
    Ok(value)
}

fn at_most(name: &str, value: i128, max: i128) -> Result<i128, SpikaError> {
    if value > max {
        return Err(fail(format!("{name} must be less than or equal to {max}")));
    }
    Ok(value)
}

/// A JSON value that must be an integral number.
fn number(name: &str, v: &Value) -> Result<i128, SpikaError> {
    let Value::Number(n) = v else {
        return Err(wrong_type(name, "number"));
    };
    integral(n).ok_or_else(|| fail(format!("{name} must be an integer")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk_error(body: &str) -> String {
        match parse_chunk(body.as_bytes(), 100_000) {
            Err(SpikaError::Validation(text)) => text,
            other => panic!("{body}: expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn a_valid_chunk_body_parses_to_its_fields() {
        let body = r#"{"chunk":"SGVsbG8s\nIA==","offset":0,"clientId":"c1a2b3","extra":[1]}"#;
        let parsed = parse_chunk(body.as_bytes(), 100_000).unwrap();
        assert_eq!(
            parsed,
            ChunkRequest {
                data: b"Hello, ".to_vec(),
                offset: 0,
                client_id: "c1a2b3".into()
            }
        );
        let float_index = r#"{"chunk":"QQ","offset":2.0,"clientId":"a"}"#;
        assert_eq!(parse_chunk(float_index.as_bytes(), 3).unwrap().offset, 2);
    }

    #[test]
    fn chunk_validation_reports_the_first_failure_in_field_order() {
        let cases = [
            (r#"{}"#, "chunk is a required field"),
            (
                r#"{"chunk":null,"offset":"x"}"#,
                "chunk is a required field",
            ),
            (
                r#"{"chunk":"","offset":0,"clientId":"a"}"#,
                "chunk is a required field",
            ),
            (
                r#"{"chunk":12,"offset":0,"clientId":"a"}"#,
                "chunk must be a `string` type",
            ),
            (
                r#"{"chunk":"S*","offset":-1,"clientId":""}"#,
                "chunk must be valid base64",
            ),
            (
                r#"{"chunk":"QQ==","clientId":"a"}"#,
                "offset is a required field",
            ),
            (
                r#"{"chunk":"QQ==","offset":"1","clientId":"a"}"#,
                "offset must be a `number` type",
            ),
            (
                r#"{"chunk":"QQ==","offset":1.5,"clientId":"a"}"#,
                "offset must be an integer",
            ),
            (
                r#"{"chunk":"QQ==","offset":-1,"clientId":"a"}"#,
                "offset must be greater than or equal to 0",
            ),
            (
                r#"{"chunk":"QQ==","offset":100000,"clientId":"a"}"#,
                "offset must be less than 100000",
            ),
            (
                r#"{"chunk":"QQ==","offset":1e300,"clientId":"a"}"#,
                "offset must be less than 100000",
            ),
            (
                r#"{"chunk":"QQ==","offset":0}"#,
                "clientId is a required field",
            ),
            (
                r#"{"chunk":"QQ==","offset":0,"clientId":""}"#,
                "clientId is a required field",
            ),
            (
                r#"{"chunk":"QQ==","offset":0,"clientId":7}"#,
                "clientId must be a `string` type",
            ),
            (
                r#"{"chunk":"QQ==","offset":0,"clientId":".."}"#,
                "clientId must be 1-128 characters of A-Z a-z 0-9 . _ ~ -",
            ),
            (
                r#"{"chunk":"QQ==","offset":0,"clientId":"a/b"}"#,
                "clientId must be 1-128 characters of A-Z a-z 0-9 . _ ~ -",
            ),
            ("[1,2]", "request body must be a JSON object"),
            ("{\"chunk\":", "request body must be a JSON object"),
            ("", "request body must be a JSON object"),
            ("\"text\"", "request body must be a JSON object"),
        ];
        for (body, text) in cases {
            assert_eq!(chunk_error(body), text, "{body}");
        }
    }

    #[test]
    fn the_offset_bound_shows_the_configured_maximum() {
        let body = br#"{"chunk":"QQ==","offset":5,"clientId":"a"}"#;
        let Err(SpikaError::Validation(text)) = parse_chunk(body, 5) else {
            panic!("expected a validation error");
        };
        assert_eq!(text, "offset must be less than 5");
    }

    const VERIFY: &str = r#"{"total":3,"size":22,"mimeType":"text/plain","fileName":"hello.txt","clientId":"c1a2b3","fileHash":"ab","type":"message"}"#;

    /// The valid verify body with `key` set to `value` (raw JSON) or removed (`None`).
    fn verify_with(key: &str, value: Option<&str>) -> String {
        let mut v: Map<String, Value> = serde_json::from_str(VERIFY).unwrap();
        match value {
            Some(raw) => v.insert(key.into(), serde_json::from_str(raw).unwrap()),
            None => v.remove(key),
        };
        serde_json::to_string(&v).unwrap()
    }

    #[test]
    fn a_valid_verify_body_parses_with_defaults_for_optional_fields() {
        let parsed = parse_verify(VERIFY.as_bytes(), 100_000).unwrap();
        assert_eq!(parsed.total, 3);
        assert_eq!(parsed.file_hash, "ab");
        assert_eq!(parsed.fields.size, 22);
        assert_eq!(parsed.fields.relation_id, None);
        assert_eq!(parsed.fields.meta_data, MetaData::default());

        let full = verify_with(
            "metaData",
            Some(r#"{"duration":1234.9,"width":-3.7,"height":null,"other":"x"}"#),
        );
        let full = full.replace(
            "\"total\":3",
            "\"total\":3,\"relationId\":8,\"roomId\":null",
        );
        let parsed = parse_verify(full.as_bytes(), 100_000).unwrap();
        assert_eq!(parsed.fields.relation_id, Some(8));
        assert_eq!(parsed.fields.room_id, None);
        assert_eq!(
            parsed.fields.meta_data,
            MetaData {
                duration: 1234,
                width: -3,
                height: 0
            }
        );
    }

    #[test]
    fn verify_validation_reports_the_first_failure_in_table_order() {
        let long_name = format!("\"{}\"", "é".repeat(256));
        let cases: Vec<(String, &str)> = vec![
            (verify_with("total", None), "total is a required field"),
            (
                verify_with("total", Some("\"3\"")),
                "total must be a `number` type",
            ),
            (
                verify_with("total", Some("0")),
                "total must be greater than or equal to 1",
            ),
            (
                verify_with("total", Some("2.5")),
                "total must be an integer",
            ),
            (
                verify_with("total", Some("100001")),
                "total must be less than or equal to 100000",
            ),
            (
                verify_with("size", Some("0")),
                "size must be greater than or equal to 1",
            ),
            (
                verify_with("size", Some("null")),
                "size is a required field",
            ),
            (
                verify_with("size", Some("9007199254740992")),
                "size must be less than or equal to 9007199254740991",
            ),
            (
                verify_with("mimeType", Some("\"\"")),
                "mimeType is a required field",
            ),
            (
                verify_with("mimeType", Some("1")),
                "mimeType must be a `string` type",
            ),
            (
                verify_with("fileName", None),
                "fileName is a required field",
            ),
            (
                verify_with("fileName", Some(&long_name)),
                "fileName must be at most 255 characters",
            ),
            (
                verify_with("clientId", Some("\"a b\"")),
                "clientId must be 1-128 characters of A-Z a-z 0-9 . _ ~ -",
            ),
            (
                verify_with("fileHash", Some("\"\"")),
                "fileHash is a required field",
            ),
            (verify_with("type", None), "type is a required field"),
            (
                verify_with("relationId", Some("\"8\"")),
                "relationId must be a `number` type",
            ),
            (
                verify_with("relationId", Some("8.5")),
                "relationId must be an integer",
            ),
            (
                verify_with("metaData", Some("\"x\"")),
                "metaData must be a `object` type",
            ),
            (
                verify_with("metaData", Some(r#"{"width":"640"}"#)),
                "metaData.width must be a `number` type",
            ),
            (
                verify_with("roomId", Some("true")),
                "roomId must be a `number` type",
            ),
            ("[]".to_owned(), "request body must be a JSON object"),
        ];
        for (body, text) in cases {
            match parse_verify(body.as_bytes(), 100_000) {
                Err(SpikaError::Validation(got)) => assert_eq!(got, text, "{body}"),
                Err(other) => panic!("{body}: {other:?}"),
                Ok(_) => panic!("{body}: parsed"),
            }
        }
        let name_of_255 = verify_with("fileName", Some(&format!("\"{}\"", "é".repeat(255))));
        assert!(parse_verify(name_of_255.as_bytes(), 100_000).is_ok());
    }

    #[test]
    fn client_ids_and_file_ids_from_paths() {
        assert!(valid_client_id("c1a2b3"));
        assert!(valid_client_id("A-z_0.9~"));
        assert!(valid_client_id(&"x".repeat(128)));
        assert!(!valid_client_id(&"x".repeat(129)));
        for bad in ["", ".", "..", "a b", "a/b", "ü", "a%2F"] {
            assert!(!valid_client_id(bad), "{bad:?}");
        }
        assert_eq!(file_id("17"), Some(17));
        assert_eq!(file_id("0017"), Some(17));
        assert_eq!(file_id("99999999999999999999999"), None);
        assert_eq!(file_id("1a"), None);
        assert_eq!(file_id("+1"), None);
    }
}
