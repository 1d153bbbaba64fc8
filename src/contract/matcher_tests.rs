//! Table-style tests of every matcher kind: what it accepts, what it rejects, and the message.

use std::collections::BTreeMap;

use bytes::Bytes;
use serde_json::{json, Value};

use super::*;

fn scope() -> Scope {
    let defaults = json!({"file_id": 17, "name": "a.jpg"});
    let mut scope = Scope::new(defaults.as_object().unwrap(), &BTreeMap::new());
    scope.set_blob("hello", Bytes::from_static(b"hello world\n"));
    scope
}

/// The mismatch messages of comparing `actual` with `expected` (empty when they match).
fn check_with(expected: Value, actual: Value, ordered_keys: bool) -> Vec<String> {
    let scope = scope();
    Matcher::new(&scope, ordered_keys)
        .check(&expected, &actual, "$")
        .mismatches
        .iter()
        .map(ToString::to_string)
        .collect()
}

fn check(expected: Value, actual: Value) -> Vec<String> {
    check_with(expected, actual, false)
}

fn accepts(expected: Value, actual: Value) {
    let found = check(expected.clone(), actual.clone());
    assert!(
        found.is_empty(),
        "{expected} should accept {actual}: {found:?}"
    );
}

fn rejects(expected: Value, actual: Value, message: &str) {
    assert_eq!(
        check(expected.clone(), actual.clone()),
        [message],
        "{expected} vs {actual}"
    );
}

#[test]
fn literals_compare_exactly_including_the_json_type() {
    accepts(
        json!({"a": 1, "b": "x", "c": null, "d": true}),
        json!({"a": 1, "b": "x", "c": null, "d": true}),
    );
    rejects(
        json!(17),
        json!("17"),
        "$: expected integer 17, got string \"17\"",
    );
    rejects(
        json!(1),
        json!(1.0),
        "$: expected integer 1, got number 1.0",
    );
    rejects(json!(null), json!(0), "$: expected null, got integer 0");
    rejects(
        json!("a"),
        json!("b"),
        "$: expected string \"a\", got string \"b\"",
    );
    rejects(
        json!(true),
        json!(false),
        "$: expected boolean true, got boolean false",
    );
}

#[test]
fn an_explicit_null_is_not_an_absent_key() {
    rejects(
        json!({"checksum": null}),
        json!({}),
        "$.checksum: missing key",
    );
    rejects(
        json!({}),
        json!({"checksum": null}),
        "$.checksum: unexpected key, got null",
    );
}

#[test]
fn nested_paths_name_keys_and_indexes() {
    rejects(
        json!({"data": {"uploads": [{"id": {"$type": "integer"}}]}}),
        json!({"data": {"uploads": [{"id": "7"}]}}),
        "$.data.uploads[0].id: expected integer, got string \"7\"",
    );
    rejects(
        json!({"X-Odd key": 1}),
        json!({"X-Odd key": 2}),
        "$[\"X-Odd key\"]: expected integer 1, got integer 2",
    );
}

#[test]
fn arrays_compare_length_and_each_element_in_order() {
    accepts(json!([0, 1, 2]), json!([0, 1, 2]));
    assert_eq!(
        check(json!([0, 1]), json!([1, 0])),
        [
            "$[0]: expected integer 0, got integer 1",
            "$[1]: expected integer 1, got integer 0"
        ]
    );
    assert_eq!(
        check(json!([0, 1]), json!([0, 1, 2])),
        ["$: expected 2 elements, got 3: array [0,1,2]"]
    );
    rejects(
        json!([1]),
        json!({"a": 1}),
        "$: expected array, got object {\"a\":1}",
    );
}

#[test]
fn any_matches_every_value_but_not_a_missing_key() {
    accepts(json!({"t": "$any"}), json!({"t": null}));
    accepts(json!({"t": "$any"}), json!({"t": [1, {"x": 2}]}));
    rejects(json!({"t": "$any"}), json!({}), "$.t: missing key");
}

#[test]
fn type_matches_each_json_type_name() {
    let table = [
        ("integer", json!(7), json!(7.5)),
        ("number", json!(7.5), json!("7")),
        ("string", json!("s"), json!(1)),
        ("boolean", json!(false), json!("false")),
        ("null", json!(null), json!("null")),
        ("array", json!([]), json!({})),
        ("object", json!({}), json!([])),
    ];
    for (name, good, bad) in table {
        accepts(json!({"$type": name}), good);
        rejects(
            json!({"$type": name}),
            bad.clone(),
            &format!("$: expected {name}, got {}", describe(&bad)),
        );
    }
    accepts(json!({"$type": "number"}), json!(3));
    accepts(json!({"$type": ["string", "null"]}), json!(null));
    rejects(
        json!({"$type": ["string", "null"]}),
        json!(3),
        "$: expected string or null, got integer 3",
    );
}

#[test]
fn regex_must_match_the_whole_string() {
    accepts(
        json!({"$regex": "\\d{4}-\\d{2}-\\d{2}T.*Z"}),
        json!("2025-04-27T15:00:15.000000Z"),
    );
    rejects(
        json!({"$regex": "[0-9]+"}),
        json!("12a"),
        "$: expected string matching /[0-9]+/, got string \"12a\"",
    );
    rejects(
        json!({"$regex": "[0-9]+"}),
        json!(12),
        "$: expected string matching /[0-9]+/, got integer 12",
    );
    rejects(
        json!({"$regex": "("}),
        json!("("),
        "$: invalid regex /(/: unclosed group",
    );
}

#[test]
fn regex_templates_insert_escaped_values() {
    accepts(json!({"$regex": "/files/{{name}}"}), json!("/files/a.jpg"));
    rejects(
        json!({"$regex": "/files/{{name}}"}),
        json!("/files/aXjpg"),
        "$: expected string matching //files/a\\.jpg/, got string \"/files/aXjpg\"",
    );
}

#[test]
fn sha256_of_compares_with_the_digest_of_named_bytes() {
    let digest = "a948904f2f0f479b8f8197694b30184b0d2ed1c1cd2a1ec0fb85d299a192a447";
    accepts(json!({"$sha256_of": "hello"}), json!(digest));
    rejects(
        json!({"$sha256_of": "hello"}),
        json!(digest.to_uppercase()),
        &format!(
            "$: expected SHA-256 of \"hello\" string \"{digest}\", got string \"{}\"",
            digest.to_uppercase()
        ),
    );
    rejects(
        json!({"$sha256_of": "nope"}),
        json!(digest),
        "$: no generated bytes named \"nope\"",
    );
}

#[test]
fn unordered_accepts_any_permutation_and_rejects_a_missing_element() {
    accepts(json!({"$unordered": [0, 1, 2]}), json!([2, 0, 1]));
    rejects(
        json!({"$unordered": [0, 1, 2]}),
        json!([2, 0, 0]),
        "$: no element matches $unordered[1] 1; got array [2,0,0]",
    );
    rejects(
        json!({"$unordered": [0, 1]}),
        json!([0, 1, 2]),
        "$: expected 2 elements in any order, got 3: array [0,1,2]",
    );
}

#[test]
fn unordered_finds_a_matching_even_when_a_loose_element_comes_first() {
    // Greedy matching would give "a" to `$any` and leave nothing for the literal "a".
    accepts(json!({"$unordered": ["$any", "a"]}), json!(["a", "b"]));
}

#[test]
fn absent_rejects_a_present_key_even_when_null() {
    accepts(
        json!({"id": 1, "error": {"$absent": true}}),
        json!({"id": 1}),
    );
    rejects(
        json!({"id": 1, "error": {"$absent": true}}),
        json!({"id": 1, "error": null}),
        "$.error: expected no such key, got null",
    );
}

#[test]
fn extra_keys_are_mismatches_unless_the_object_allows_them() {
    rejects(
        json!({"id": 1}),
        json!({"id": 1, "debug": "x"}),
        "$.debug: unexpected key, got string \"x\"",
    );
    accepts(
        json!({"id": 1, "$extra_keys": true}),
        json!({"id": 1, "debug": "x"}),
    );
}

#[test]
fn dollar_dollar_names_a_literal_dollar_key() {
    accepts(json!({"$$ref": 1}), json!({"$ref": 1}));
    rejects(
        json!({"$$ref": 1}),
        json!({"$ref": 2}),
        "$[\"$ref\"]: expected integer 1, got integer 2",
    );
}

#[test]
fn ordered_keys_checks_key_order_only_when_asked() {
    let expected = json!({"status": "success", "data": {"a": 1, "b": 2}});
    let actual = json!({"data": {"b": 2, "a": 1}, "status": "success"});
    assert!(check(expected.clone(), actual.clone()).is_empty());
    assert_eq!(
        check_with(expected, actual, true),
        [
            "$.data: keys out of order: expected [a, b], got [b, a]",
            "$: keys out of order: expected [status, data], got [data, status]",
        ]
    );
}

#[test]
fn ordered_keys_ignores_extra_keys_in_between() {
    let found = check_with(
        json!({"a": 1, "c": 3, "$extra_keys": true}),
        json!({"a": 1, "b": 2, "c": 3}),
        true,
    );
    assert!(found.is_empty(), "{found:?}");
}

#[test]
fn capture_matches_anything_and_records_the_value() {
    let scope = scope();
    let outcome = Matcher::new(&scope, false).check(
        &json!({"data": {"id": {"$capture": "new_id"}, "tags": {"$capture": "tags"}}}),
        &json!({"data": {"id": 26, "tags": ["a"]}}),
        "$",
    );
    assert!(outcome.mismatches.is_empty());
    assert_eq!(
        outcome.captures,
        [
            ("new_id".to_owned(), json!(26)),
            ("tags".to_owned(), json!(["a"]))
        ]
    );
}

#[test]
fn capture_combined_with_type_captures_only_when_the_type_matches() {
    let scope = scope();
    let matcher = Matcher::new(&scope, false);
    let expected = json!({"$capture": "id", "$type": "integer"});
    let good = matcher.check(&expected, &json!(5), "$.id");
    assert_eq!(good.captures, [("id".to_owned(), json!(5))]);
    let bad = matcher.check(&expected, &json!("5"), "$.id");
    assert!(bad.captures.is_empty());
    assert_eq!(
        bad.mismatches[0].to_string(),
        "$.id: expected integer, got string \"5\""
    );
}

#[test]
fn captures_inside_unordered_come_from_the_chosen_element() {
    let scope = scope();
    let outcome = Matcher::new(&scope, false).check(
        &json!({"$unordered": [{"n": 1, "id": {"$capture": "first"}}, {"n": 2, "id": "$any"}]}),
        &json!([{"n": 2, "id": "b"}, {"n": 1, "id": "a"}]),
        "$",
    );
    assert!(outcome.mismatches.is_empty());
    assert_eq!(outcome.captures, [("first".to_owned(), json!("a"))]);
}

#[test]
fn a_whole_string_template_compares_with_its_typed_value() {
    accepts(json!({"id": "{{file_id}}"}), json!({"id": 17}));
    rejects(
        json!({"id": "{{file_id}}"}),
        json!({"id": "17"}),
        "$.id: expected integer 17, got string \"17\"",
    );
    accepts(
        json!({"url": "/files/{{file_id}}"}),
        json!({"url": "/files/17"}),
    );
    rejects(
        json!("{{missing}}"),
        json!(1),
        "$: unknown variable {{missing}}",
    );
}

#[test]
fn validate_rejects_malformed_matchers() {
    let table = [
        (json!({"$type": "int"}), "$: $type must be one of integer, number, string, boolean, null, array, object, got \"int\""),
        (json!({"$regex": 3}), "$: $regex needs a non-empty string"),
        (json!({"$regex": "a{"}), "$: invalid regex /a{/: unclosed counted repetition"),
        (json!({"$unordered": {}}), "$: $unordered needs an array"),
        (json!({"$absent": true}), "$: {\"$absent\": true} is only allowed as an object member"),
        (json!({"a": {"$absent": false}}), "$.a: write $absent as {\"$absent\": true}"),
        (json!({"a": {"$typo": 1}}), "$.a: unknown matcher key \"$typo\""),
        (json!({"$capture": "x", "$bogus": 1}), "$: unknown matcher key \"$bogus\""),
        (json!({"$extra_keys": "yes"}), "$: $extra_keys must be true or false"),
    ];
    for (expected, message) in table {
        assert_eq!(validate(&expected, "$").unwrap_err(), message, "{expected}");
    }
    assert!(validate(
        &json!({"a": {"$absent": true}, "b": ["$any", {"$type": "null"}]}),
        "$"
    )
    .is_ok());
}
