//! Table tests of the §4 and §5.5 rules.

use super::*;
use serde_json::json;

fn body(v: Value) -> Map<String, Value> {
    normalize_body(Some(v.to_string().as_bytes()))
}

fn valid() -> Value {
    json!({"name": "a.jpg", "create_datetime": "2024-01-15 10:30:00", "checksum": "abc", "chunks_count": 3})
}

fn with(key: &str, value: Value) -> Map<String, Value> {
    let mut v = valid();
    v[key] = value;
    body(v)
}

fn create_errors(b: &Map<String, Value>) -> Vec<(String, String)> {
    validate_create(b, 10_000, |n| n == "taken.jpg")
        .err()
        .map(|e| e.fields().to_vec())
        .unwrap_or_default()
}

fn one(field: &str, message: &str) -> Vec<(String, String)> {
    vec![(field.to_owned(), message.to_owned())]
}

#[test]
fn a_valid_create_body_gives_typed_values() {
    let out = validate_create(&body(valid()), 10_000, |_| false).unwrap();
    assert_eq!(
        out,
        CreateFile {
            name: "a.jpg".into(),
            create_datetime: "2024-01-15 10:30:00".into(),
            checksum: Some("abc".into()),
            chunks_count: 3
        }
    );
}

#[test]
fn each_create_rule_reports_its_laravel_message() {
    let long = "x".repeat(256);
    let cases: Vec<(&str, Value, &str)> = vec![
        ("name", Value::Null, "The name field is required."),
        ("name", json!("   "), "The name field is required."),
        ("name", json!(5), "The name field must be a string."),
        (
            "name",
            json!(long),
            "The name field must not be greater than 255 characters.",
        ),
        (
            "name",
            json!("taken.jpg"),
            "The name has already been taken.",
        ),
        (
            "name",
            json!("  taken.jpg "),
            "The name has already been taken.",
        ),
        (
            "create_datetime",
            Value::Null,
            "The create datetime field is required.",
        ),
        (
            "create_datetime",
            json!("2024-02-30 10:00:00"),
            "The create datetime field must match the format Y-m-d H:i:s.",
        ),
        (
            "create_datetime",
            json!(20240115),
            "The create datetime field must match the format Y-m-d H:i:s.",
        ),
        (
            "checksum",
            json!(["a"]),
            "The checksum field must be a string.",
        ),
        (
            "checksum",
            json!(long),
            "The checksum field must not be greater than 255 characters.",
        ),
        (
            "chunks_count",
            Value::Null,
            "The chunks count field is required.",
        ),
        (
            "chunks_count",
            json!(""),
            "The chunks count field is required.",
        ),
        (
            "chunks_count",
            json!(1.5),
            "The chunks count field must be an integer.",
        ),
        (
            "chunks_count",
            json!("-1"),
            "The chunks count field must be an integer.",
        ),
        (
            "chunks_count",
            json!("1e3"),
            "The chunks count field must be an integer.",
        ),
        (
            "chunks_count",
            json!(true),
            "The chunks count field must be an integer.",
        ),
        (
            "chunks_count",
            json!(0),
            "The chunks count field must be at least 1.",
        ),
        (
            "chunks_count",
            json!(-4),
            "The chunks count field must be at least 1.",
        ),
        (
            "chunks_count",
            json!(10_001),
            "The chunks count field must not be greater than 10000.",
        ),
        (
            "chunks_count",
            json!("99999999999999999999999999999999999999999"),
            "The chunks count field must not be greater than 10000.",
        ),
    ];
    for (field, value, message) in cases {
        assert_eq!(
            create_errors(&with(field, value.clone())),
            one(field, message),
            "{field} = {value}"
        );
    }
}

#[test]
fn accepted_edge_values_pass() {
    for (field, value) in [
        ("chunks_count", json!("0007")),
        ("chunks_count", json!(10_000)),
        ("checksum", Value::Null),
        ("checksum", json!("")),
        ("name", json!("x".repeat(255))),
        ("name", json!("é".repeat(255))),
        ("create_datetime", json!("2024-02-29 23:59:59")),
        ("create_datetime", json!(" 2024-01-15 10:30:00 ")),
    ] {
        assert_eq!(
            create_errors(&with(field, value.clone())),
            vec![],
            "{field} = {value}"
        );
    }
    let mut b = valid();
    b.as_object_mut().unwrap().remove("checksum");
    assert_eq!(create_errors(&body(b)), vec![]);
}

#[test]
fn strings_are_trimmed_and_stored_trimmed() {
    let out = validate_create(&with("name", json!("  a.jpg\t")), 10_000, |_| false).unwrap();
    assert_eq!(out.name, "a.jpg");
}

#[test]
fn fields_fail_in_order_and_the_message_counts_the_others() {
    // Arrange
    let b = body(json!({"chunks_count": "x", "name": 1}));

    // Act
    let e = validate_create(&b, 10_000, |_| false).unwrap_err();

    // Assert
    assert_eq!(
        e.fields(),
        &[
            (
                "name".to_owned(),
                "The name field must be a string.".to_owned()
            ),
            (
                "create_datetime".to_owned(),
                "The create datetime field is required.".to_owned()
            ),
            (
                "chunks_count".to_owned(),
                "The chunks count field must be an integer.".to_owned()
            ),
        ]
    );
    assert_eq!(
        serde_json::to_string(&e).unwrap(),
        r#"{"message":"The name field must be a string. (and 2 more errors)","errors":{"name":["The name field must be a string."],"create_datetime":["The create datetime field is required."],"chunks_count":["The chunks count field must be an integer."]}}"#
    );
}

#[test]
fn the_summary_says_one_more_error_in_the_singular() {
    let e = validate_create(
        &body(json!({"name": "a", "create_datetime": "x"})),
        10_000,
        |_| false,
    )
    .unwrap_err();
    assert_eq!(
        e.message(),
        "The create datetime field must match the format Y-m-d H:i:s. (and 1 more error)"
    );
}

#[test]
fn a_body_that_is_not_a_json_object_counts_as_empty() {
    for raw in [&b""[..], b"not json", b"[1,2]", b"\"str\"", b"null"] {
        assert!(normalize_body(Some(raw)).is_empty());
    }
    assert!(normalize_body(None).is_empty());
    assert_eq!(create_errors(&normalize_body(Some(b"[]"))).len(), 3);
}

#[test]
fn the_max_chunks_message_shows_the_configured_limit() {
    let e = validate_create(&with("chunks_count", json!(6)), 5, |_| false).unwrap_err();
    assert_eq!(
        e.message(),
        "The chunks count field must not be greater than 5."
    );
}

#[test]
fn an_update_checks_only_present_keys() {
    assert_eq!(
        validate_update(&body(json!({})), |_| true),
        Ok(UpdateFile::default())
    );
    assert_eq!(
        validate_update(
            &body(json!({"checksum": null, "chunks_count": "x"})),
            |_| true
        ),
        Ok(UpdateFile {
            checksum: Some(None),
            ..UpdateFile::default()
        })
    );
    let e = validate_update(
        &body(json!({"name": "", "create_datetime": "2024-13-01 00:00:00", "checksum": 7})),
        |_| false,
    )
    .unwrap_err();
    assert_eq!(
        e.message(),
        "The name field is required. (and 2 more errors)"
    );
    let e = validate_update(&body(json!({"name": "b.jpg"})), |n| n == "b.jpg").unwrap_err();
    assert_eq!(e.message(), "The name has already been taken.");
}

#[test]
fn datetimes_must_be_real_calendar_moments() {
    for (s, ok) in [
        ("2024-01-15 10:30:00", true),
        ("2000-02-29 00:00:00", true),
        ("1900-02-29 00:00:00", false),
        ("2023-02-29 00:00:00", false),
        ("2024-04-31 00:00:00", false),
        ("2024-00-10 00:00:00", false),
        ("2024-01-00 00:00:00", false),
        ("2024-01-15 24:00:00", false),
        ("2024-01-15 23:60:00", false),
        ("2024-01-15 23:00:60", false),
        ("2024-01-15T10:30:00", false),
        ("2024-1-15 10:30:00", false),
        ("2024-01-15 10:30", false),
        ("2024-01-15 10:30:00.5", false),
        ("+024-01-15 10:30:00", false),
    ] {
        assert_eq!(is_datetime(s), ok, "{s}");
    }
}

#[test]
fn search_filters_become_typed_filters() {
    let b = body(json!({"filters": [
        {"field": "name", "operator": "=", "value": "a.jpg"},
        {"field": "name", "operator": "like", "value": "%.JPG"},
        {"field": "name", "value": "b"}
    ], "sort": "ignored"}));
    assert_eq!(
        validate_search(&b),
        Ok(vec![
            Filter::NameEquals("a.jpg".into()),
            Filter::NameLike("%.JPG".into()),
            Filter::NameEquals("b".into()),
        ])
    );
    assert_eq!(validate_search(&body(json!({}))), Ok(vec![]));
    assert_eq!(validate_search(&body(json!({"filters": []}))), Ok(vec![]));
}

#[test]
fn search_errors_come_rule_by_rule_with_indexed_keys() {
    // Arrange
    let b = body(json!({"filters": [
        {"field": "size", "operator": "=", "value": 3},
        {"field": "name", "operator": ">", "value": "a"},
        "not an object"
    ]}));

    // Act
    let e = validate_search(&b).unwrap_err();

    // Assert
    let keys: Vec<(&str, &str)> = e
        .fields()
        .iter()
        .map(|(k, m)| (k.as_str(), m.as_str()))
        .collect();
    assert_eq!(
        keys,
        vec![
            (
                "filters.0.field",
                "The selected filters.0.field is invalid."
            ),
            (
                "filters.2.field",
                "The selected filters.2.field is invalid."
            ),
            (
                "filters.1.operator",
                "The selected filters.1.operator is invalid."
            ),
            (
                "filters.0.value",
                "The filters.0.value field must be a string."
            ),
            ("filters.2.value", "The filters.2.value field is required."),
        ]
    );
    assert_eq!(
        e.message(),
        "The selected filters.0.field is invalid. (and 4 more errors)"
    );
}

#[test]
fn filters_that_are_not_an_array_fail_alone() {
    let e = validate_search(&body(json!({"filters": {"field": "name"}}))).unwrap_err();
    assert_eq!(
        e.fields(),
        &one("filters", "The filters field must be an array.")
    );
}
