//! Table tests of the create body, the chunk index, hashes and instants (spec §4–§6).

use super::*;
use std::time::Duration;

const LIMITS: CreateLimits = CreateLimits {
    max_chunk_size: 67_108_864,
    max_chunks: 10_000,
    max_file_bytes: 0,
};

/// 2025-10-02T08:01:02Z
fn now() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_759_392_062)
}

fn errors_of(body: &str) -> String {
    match create_request(body.as_bytes(), &LIMITS, now()) {
        Err(DysonError::Validation(e)) => serde_json::to_string(&e).unwrap(),
        other => panic!("expected a validation error for {body}, got {other:?}"),
    }
}

#[test]
fn a_solian_create_body_with_every_key_parses() {
    let body = r#"{"hash":"7ea23c92fad42be0670e8e69ef378a45","file_name":"hello.txt","file_size":22,"content_type":"text/plain","pool_id":null,"bundle_id":null,"encrypt_password":null,"expired_at":null,"chunk_size":8}"#;
    let req = create_request(body.as_bytes(), &LIMITS, now()).unwrap();
    assert_eq!(
        req,
        CreateRequest {
            hash: "7ea23c92fad42be0670e8e69ef378a45".into(),
            file_name: "hello.txt".into(),
            file_size: 22,
            content_type: "text/plain".into(),
            pool_id: None,
            bundle_id: None,
            encrypt_password: None,
            expired_at: None,
            chunk_size: 8,
        }
    );
    assert_eq!(chunks_count(&req, &LIMITS).unwrap(), 3);
}

#[test]
fn optional_fields_take_their_defaults_and_unknown_keys_are_ignored() {
    let body = r#"{"hash":"h","file_name":"n","content_type":"t","extra":[1]}"#;
    let req = create_request(body.as_bytes(), &LIMITS, now()).unwrap();
    assert_eq!(req.file_size, 0);
    assert_eq!(req.chunk_size, DEFAULT_CHUNK_SIZE);
    assert_eq!(chunks_count(&req, &LIMITS).unwrap(), 0);
}

#[test]
fn each_field_reports_its_first_failure_in_table_order() {
    let cases = [
        (
            "[]",
            r#"{"body":["The request body must be a JSON object."]}"#,
        ),
        (
            "not json",
            r#"{"body":["The request body must be a JSON object."]}"#,
        ),
        (
            "",
            r#"{"body":["The request body must be a JSON object."]}"#,
        ),
        (
            "{}",
            r#"{"hash":["The hash field is required."],"file_name":["The file_name field is required."],"content_type":["The content_type field is required."]}"#,
        ),
        (
            r#"{"chunk_size":0,"content_type":5,"file_name":"","hash":null,"file_size":-1}"#,
            r#"{"hash":["The hash field is required."],"file_name":["The file_name field is required."],"file_size":["The file_size field must not be negative."],"content_type":["The content_type field must be a string."],"chunk_size":["The chunk_size field must be between 1 and 67108864."]}"#,
        ),
        (
            r#"{"hash":"h","file_name":"n","content_type":"t","file_size":"5","chunk_size":5.0}"#,
            r#"{"file_size":["The file_size field must be an integer."],"chunk_size":["The chunk_size field must be an integer."]}"#,
        ),
        (
            r#"{"hash":"h","file_name":"n","content_type":"t","file_size":5.0,"chunk_size":"8"}"#,
            r#"{"file_size":["The file_size field must be an integer."],"chunk_size":["The chunk_size field must be an integer."]}"#,
        ),
        (
            r#"{"hash":"h","file_name":"n","content_type":"t","chunk_size":67108865}"#,
            r#"{"chunk_size":["The chunk_size field must be between 1 and 67108864."]}"#,
        ),
        (
            r#"{"hash":"h","file_name":"n","content_type":"t","pool_id":"nope","bundle_id":7}"#,
            r#"{"pool_id":["The pool_id field must be a GUID."],"bundle_id":["The bundle_id field must be a GUID."]}"#,
        ),
        (
            r#"{"hash":"h","file_name":"n","content_type":"t","encrypt_password":""}"#,
            r#"{"encrypt_password":["The encrypt_password field must be between 1 and 1024 characters."]}"#,
        ),
        (
            r#"{"hash":"h","file_name":"n","content_type":"t","encrypt_password":1}"#,
            r#"{"encrypt_password":["The encrypt_password field must be a string."]}"#,
        ),
        (
            r#"{"hash":"h","file_name":"n","content_type":"t","expired_at":"2030-01-01T00:00:00+01:00"}"#,
            r#"{"expired_at":["The expired_at field must be an ISO-8601 instant ending in Z."]}"#,
        ),
        (
            r#"{"hash":"h","file_name":"n","content_type":"t","expired_at":"2020-01-01T00:00:00Z"}"#,
            r#"{"expired_at":["The expired_at field must be in the future."]}"#,
        ),
        (
            r#"{"hash":1,"file_name":["x"],"content_type":true}"#,
            r#"{"hash":["The hash field must be a string."],"file_name":["The file_name field must be a string."],"content_type":["The content_type field must be a string."]}"#,
        ),
    ];
    for (body, errors) in cases {
        assert_eq!(errors_of(body), errors, "{body}");
    }
}

#[test]
fn file_names_and_passwords_are_measured_in_utf16_units() {
    let name = "é".repeat(255);
    let ok = format!(r#"{{"hash":"h","file_name":"{name}","content_type":"t"}}"#);
    assert!(create_request(ok.as_bytes(), &LIMITS, now()).is_ok());
    let long = format!(
        r#"{{"hash":"h","file_name":"{}","content_type":"t","encrypt_password":"{}"}}"#,
        "😀".repeat(128),
        "p".repeat(1025)
    );
    assert_eq!(
        errors_of(&long),
        r#"{"file_name":["The file_name field must not exceed 255 characters."],"encrypt_password":["The encrypt_password field must be between 1 and 1024 characters."]}"#
    );
}

#[test]
fn guids_of_any_case_and_future_instants_are_accepted() {
    let body = r#"{"hash":"h","file_name":"n","content_type":"t","pool_id":"500E8400-e29b-41d4-a716-446655440000","bundle_id":"00000000-0000-0000-0000-000000000000","expired_at":"2030-01-01T00:00:00.123456789Z","encrypt_password":"pw"}"#;
    let req = create_request(body.as_bytes(), &LIMITS, now()).unwrap();
    assert_eq!(
        req.pool_id.as_deref(),
        Some("500E8400-e29b-41d4-a716-446655440000")
    );
    assert_eq!(req.encrypt_password.as_deref(), Some("pw"));
    assert_eq!(
        format_instant(req.expired_at.unwrap()),
        "2030-01-01T00:00:00.123456Z"
    );
}

#[test]
fn too_many_chunks_then_too_large_a_file_are_refused_in_that_order() {
    let limits = CreateLimits {
        max_chunk_size: 100,
        max_chunks: 10,
        max_file_bytes: 8000,
    };
    let req = |size: u64, chunk: u64| CreateRequest {
        hash: "h".into(),
        file_name: "n".into(),
        file_size: size,
        content_type: "t".into(),
        pool_id: None,
        bundle_id: None,
        encrypt_password: None,
        expired_at: None,
        chunk_size: chunk,
    };
    let Err(DysonError::Validation(e)) = chunks_count(&req(20_000, 1), &limits) else {
        panic!("expected too many chunks");
    };
    assert_eq!(
        serde_json::to_string(&e).unwrap(),
        r#"{"chunk_size":["The file needs 20000 chunks; at most 10 are allowed."]}"#
    );
    assert!(matches!(
        chunks_count(&req(9000, 1000), &limits),
        Err(DysonError::FileTooLarge {
            size: 9000,
            max: 8000
        })
    ));
    assert_eq!(chunks_count(&req(8000, 1000), &limits).unwrap(), 8);
    assert_eq!(chunks_count(&req(8001, 8000), &LIMITS).unwrap(), 2);
    assert!(chunks_count(&req(i64::MAX as u64, 67_108_864), &LIMITS).is_err());
}

#[test]
fn chunk_indexes_must_be_32_bit_integers_within_the_count() {
    let cases: &[(&str, u64, Result<u64, &str>)] = &[
        ("0", 3, Ok(0)),
        ("2", 3, Ok(2)),
        ("007", 8, Ok(7)),
        ("3", 3, Err("Chunk index 3 is out of range 0..2.")),
        ("-1", 3, Err("Chunk index -1 is out of range 0..2.")),
        ("0", 0, Err("Chunk index 0 is out of range 0..-1.")),
        ("abc", 3, Err("The value 'abc' is not valid.")),
        ("+1", 3, Err("The value '+1' is not valid.")),
        ("-", 3, Err("The value '-' is not valid.")),
        ("", 3, Err("The value '' is not valid.")),
        ("2147483648", 3, Err("The value '2147483648' is not valid.")),
        (
            "-2147483648",
            3,
            Err("Chunk index -2147483648 is out of range 0..2."),
        ),
    ];
    for (raw, count, expected) in cases {
        let got = match chunk_index(raw, *count) {
            Ok(i) => Ok(i),
            Err(DysonError::Validation(e)) => {
                let json = serde_json::to_value(&e).unwrap();
                Err(json["chunk_index"][0].as_str().unwrap().to_owned())
            }
            Err(other) => panic!("{other:?}"),
        };
        assert_eq!(got, expected.map_err(str::to_owned), "{raw} of {count}");
    }
}

#[test]
fn hashes_choose_their_digest_by_length_when_hex() {
    use crate::engine::DigestKind as K;
    let cases: &[(&str, Option<K>)] = &[
        ("7ea23c92fad42be0670e8e69ef378a45", Some(K::Md5)),
        ("7EA23C92FAD42BE0670E8E69EF378A45", Some(K::Md5)),
        (&"a".repeat(40), Some(K::Sha1)),
        (&"0".repeat(64), Some(K::Sha256)),
        ("7ea23c92fad42be0670e8e69ef378a4g", None),
        ("abc", None),
        ("", None),
    ];
    for (hash, kind) in cases {
        assert_eq!(hash_kind(hash), *kind, "{hash}");
    }
}

#[test]
fn instants_parse_strictly_and_print_with_at_most_six_trimmed_digits() {
    for bad in [
        "2025-10-02T08:01:02",
        "2025-10-02 08:01:02Z",
        "2025-10-02T08:01:02.Z",
        "2025-10-02T08:01:02.1234567890Z",
        "2025-13-02T08:01:02Z",
        "2025-02-30T08:01:02Z",
        "25-10-02T08:01:02Z",
    ] {
        assert_eq!(parse_instant(bad), None, "{bad}");
    }
    let cases = [
        ("2025-10-02T08:01:02Z", "2025-10-02T08:01:02Z"),
        ("2025-10-02T08:01:02.120Z", "2025-10-02T08:01:02.12Z"),
        ("2025-10-02T08:01:02.5Z", "2025-10-02T08:01:02.5Z"),
        ("2025-10-02T08:01:02.000000900Z", "2025-10-02T08:01:02Z"),
        (
            "2025-10-02T08:01:02.1234567Z",
            "2025-10-02T08:01:02.123456Z",
        ),
    ];
    for (input, printed) in cases {
        assert_eq!(format_instant(parse_instant(input).unwrap()), printed);
    }
}
