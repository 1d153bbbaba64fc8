//! Compares an actual JSON value with an expected one that may contain matchers.
//!
//! Literals compare exactly, JSON type included (`17` is not `17.0` nor `"17"`); strings may
//! hold `{{...}}` templates (see [`super::scope`]). Objects are closed: a key the expectation
//! does not name is a mismatch unless the object has `"$extra_keys": true`. Matcher objects
//! combine their conditions with AND:
//!
//! | matcher | matches |
//! |---|---|
//! | `"$any"` | any value (the key must still be present) |
//! | `{"$type": "integer"}` (or a list of type names) | a value of that JSON type |
//! | `{"$regex": "..."}` | a string that the pattern matches as a whole |
//! | `{"$sha256_of": "name"}` | the lowercase hex SHA-256 of named bytes |
//! | `{"$unordered": [...]}` | an array holding the listed elements in any order |
//! | `{"$absent": true}` (object members only) | the key is not present |
//! | `{"$capture": "var"}` | anything; stores it in `var` when the whole step matches |
//!
//! With `ordered_keys`, the keys of each object must also come in the expected order.
//! Every mismatch names its JSON path, e.g. `$.data.uploads[0].id: expected integer, got
//! string "7"`.

use std::fmt;

use regex::Regex;
use serde_json::{Map, Value};
use sha2::Digest as _;

use super::scope::Scope;

const MATCHER_KEYS: [&str; 6] = [
    "$type",
    "$regex",
    "$sha256_of",
    "$unordered",
    "$absent",
    "$capture",
];
const TYPE_NAMES: [&str; 7] = [
    "integer", "number", "string", "boolean", "null", "array", "object",
];
const EXTRA_KEYS: &str = "$extra_keys";

/// One difference between expectation and response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    /// Where: `status`, `header Location`, `body`, or a JSON path such as `$.data[0].id`.
    pub path: String,
    /// What differs, e.g. `expected integer, got string "7"`.
    pub message: String,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// The result of a comparison: its mismatches, and the captures it made (to be applied only
/// when there are no mismatches).
#[derive(Debug, Default)]
pub struct Outcome {
    pub mismatches: Vec<Mismatch>,
    pub captures: Vec<(String, Value)>,
}

impl Outcome {
    /// Records a mismatch at `path`.
    pub fn fail(&mut self, path: &str, message: impl Into<String>) {
        self.mismatches.push(Mismatch {
            path: path.to_owned(),
            message: message.into(),
        });
    }
}

/// Compares values under a scope (for templates and named bytes).
pub struct Matcher<'a> {
    scope: &'a Scope,
    ordered_keys: bool,
}

impl<'a> Matcher<'a> {
    pub fn new(scope: &'a Scope, ordered_keys: bool) -> Self {
        Matcher {
            scope,
            ordered_keys,
        }
    }

    /// Compares `actual` with `expected`; `root` names the value in messages (`$` for a body).
    pub fn check(&self, expected: &Value, actual: &Value, root: &str) -> Outcome {
        let mut out = Outcome::default();
        self.walk(expected, actual, root, &mut out);
        out
    }

    fn walk(&self, expected: &Value, actual: &Value, path: &str, out: &mut Outcome) {
        match expected {
            Value::String(s) if s == "$any" => {}
            Value::String(s) => match self.scope.expand_typed(s) {
                Ok(want) => {
                    if !same(&want, actual) {
                        out.fail(
                            path,
                            format!("expected {}, got {}", describe(&want), describe(actual)),
                        );
                    }
                }
                Err(e) => out.fail(path, e),
            },
            Value::Array(items) => self.walk_array(items, actual, path, out),
            Value::Object(obj) if is_matcher(obj) => self.walk_matcher(obj, actual, path, out),
            Value::Object(obj) => self.walk_object(obj, actual, path, out),
            literal => {
                if !same(literal, actual) {
                    out.fail(
                        path,
                        format!("expected {}, got {}", describe(literal), describe(actual)),
                    );
                }
            }
        }
    }

    fn walk_array(&self, items: &[Value], actual: &Value, path: &str, out: &mut Outcome) {
        let Value::Array(got) = actual else {
            return out.fail(path, format!("expected array, got {}", describe(actual)));
        };
        if items.len() != got.len() {
            out.fail(
                path,
                format!(
                    "expected {} elements, got {}: {}",
                    items.len(),
                    got.len(),
                    describe(actual)
                ),
            );
        }
        for (i, (want, have)) in items.iter().zip(got).enumerate() {
            self.walk(want, have, &format!("{path}[{i}]"), out);
        }
    }

    fn walk_object(
        &self,
        expected: &Map<String, Value>,
        actual: &Value,
        path: &str,
        out: &mut Outcome,
    ) {
        let Value::Object(got) = actual else {
            return out.fail(path, format!("expected object, got {}", describe(actual)));
        };
        let extra_allowed = expected.get(EXTRA_KEYS) == Some(&Value::Bool(true));
        let mut wanted_order = Vec::new();
        for (raw_key, want) in expected {
            if raw_key == EXTRA_KEYS {
                continue;
            }
            let key = literal_key(raw_key);
            let key_path = child_path(path, key);
            match (is_absent(want), got.get(key)) {
                (true, None) => {}
                (true, Some(have)) => out.fail(
                    &key_path,
                    format!("expected no such key, got {}", describe(have)),
                ),
                (false, None) => out.fail(&key_path, "missing key"),
                (false, Some(have)) => {
                    wanted_order.push(key);
                    self.walk(want, have, &key_path, out);
                }
            }
        }
        if !extra_allowed {
            for (key, have) in got {
                let named = expected.contains_key(key.as_str())
                    || (key.starts_with('$') && expected.contains_key(&format!("${key}")));
                if !named {
                    out.fail(
                        &child_path(path, key),
                        format!("unexpected key, got {}", describe(have)),
                    );
                }
            }
        }
        if self.ordered_keys {
            let got_order: Vec<&str> = got
                .keys()
                .map(String::as_str)
                .filter(|k| wanted_order.contains(k))
                .collect();
            if got_order != wanted_order {
                out.fail(
                    path,
                    format!(
                        "keys out of order: expected [{}], got [{}]",
                        wanted_order.join(", "),
                        got_order.join(", ")
                    ),
                );
            }
        }
    }

    fn walk_matcher(
        &self,
        matcher: &Map<String, Value>,
        actual: &Value,
        path: &str,
        out: &mut Outcome,
    ) {
        if let Err(e) = validate_matcher(matcher, path) {
            let prefix = format!("{path}: ");
            return out.fail(path, e.strip_prefix(&prefix).unwrap_or(&e));
        }
        let before = out.mismatches.len();
        if let Some(types) = matcher.get("$type") {
            let names: Vec<&str> = match types {
                Value::Array(list) => list.iter().filter_map(Value::as_str).collect(),
                one => one.as_str().into_iter().collect(),
            };
            if !names.iter().any(|name| has_type(actual, name)) {
                out.fail(
                    path,
                    format!("expected {}, got {}", names.join(" or "), describe(actual)),
                );
            }
        }
        if let Some(Value::String(pattern)) = matcher.get("$regex") {
            self.check_regex(pattern, actual, path, out);
        }
        if let Some(Value::String(name)) = matcher.get("$sha256_of") {
            match self.scope.blob(name) {
                Ok(bytes) => {
                    let want = Value::String(hex::encode(sha2::Sha256::digest(bytes)));
                    if !same(&want, actual) {
                        out.fail(
                            path,
                            format!(
                                "expected SHA-256 of {name:?} {}, got {}",
                                describe(&want),
                                describe(actual)
                            ),
                        );
                    }
                }
                Err(e) => out.fail(path, e),
            }
        }
        if let Some(Value::Array(items)) = matcher.get("$unordered") {
            self.walk_unordered(items, actual, path, out);
        }
        if let Some(Value::String(name)) = matcher.get("$capture") {
            if out.mismatches.len() == before {
                out.captures.push((name.clone(), actual.clone()));
            }
        }
    }

    fn check_regex(&self, pattern: &str, actual: &Value, path: &str, out: &mut Outcome) {
        let pattern = match self.scope.expand_regex(pattern) {
            Ok(p) => p,
            Err(e) => return out.fail(path, e),
        };
        let re = match anchored_regex(&pattern) {
            Ok(re) => re,
            Err(e) => return out.fail(path, e),
        };
        match actual {
            Value::String(s) if re.is_match(s) => {}
            other => out.fail(
                path,
                format!(
                    "expected string matching /{pattern}/, got {}",
                    describe(other)
                ),
            ),
        }
    }

    /// Array elements in any order: a perfect matching between expected and actual elements
    /// (augmenting paths, so a loose matcher never steals the only element a strict one fits).
    fn walk_unordered(&self, items: &[Value], actual: &Value, path: &str, out: &mut Outcome) {
        let Value::Array(got) = actual else {
            return out.fail(path, format!("expected array, got {}", describe(actual)));
        };
        if items.len() != got.len() {
            return out.fail(
                path,
                format!(
                    "expected {} elements in any order, got {}: {}",
                    items.len(),
                    got.len(),
                    describe(actual)
                ),
            );
        }
        let fits: Vec<Vec<Option<Outcome>>> = items
            .iter()
            .map(|want| {
                got.iter()
                    .enumerate()
                    .map(|(j, have)| {
                        let trial = self.check(want, have, &format!("{path}[{j}]"));
                        trial.mismatches.is_empty().then_some(trial)
                    })
                    .collect()
            })
            .collect();
        let mut owner: Vec<Option<usize>> = vec![None; got.len()];
        for (i, item) in items.iter().enumerate() {
            let mut seen = vec![false; got.len()];
            if !augment(i, &fits, &mut owner, &mut seen) {
                return out.fail(
                    path,
                    format!(
                        "no element matches $unordered[{i}] {}; got {}",
                        compact(item),
                        describe(actual)
                    ),
                );
            }
        }
        for (j, i) in owner.iter().enumerate() {
            let i = i.expect("perfect matching");
            if let Some(trial) = &fits[i][j] {
                out.captures.extend(trial.captures.iter().cloned());
            }
        }
    }
}

fn augment(
    i: usize,
    fits: &[Vec<Option<Outcome>>],
    owner: &mut [Option<usize>],
    seen: &mut [bool],
) -> bool {
    for j in 0..owner.len() {
        if fits[i][j].is_some() && !seen[j] {
            seen[j] = true;
            let free = match owner[j] {
                None => true,
                Some(k) => augment(k, fits, owner, seen),
            };
            if free {
                owner[j] = Some(i);
                return true;
            }
        }
    }
    false
}

/// Checks that an expected value is well formed (used when a fixture is loaded).
pub fn validate(expected: &Value, path: &str) -> Result<(), String> {
    match expected {
        Value::Array(items) => items
            .iter()
            .enumerate()
            .try_for_each(|(i, v)| validate(v, &format!("{path}[{i}]"))),
        Value::Object(obj) if is_matcher(obj) => {
            if is_absent(expected) {
                return Err(format!(
                    "{path}: {{\"$absent\": true}} is only allowed as an object member"
                ));
            }
            validate_matcher(obj, path)
        }
        Value::Object(obj) => {
            for (key, value) in obj {
                if key == EXTRA_KEYS {
                    if !value.is_boolean() {
                        return Err(format!("{path}: $extra_keys must be true or false"));
                    }
                } else if key.starts_with('$') && !key.starts_with("$$") {
                    return Err(format!("{path}: unknown matcher key {key:?}"));
                } else if !is_absent(value) {
                    validate(value, &child_path(path, literal_key(key)))?;
                }
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

fn validate_matcher(obj: &Map<String, Value>, path: &str) -> Result<(), String> {
    for (key, value) in obj {
        match key.as_str() {
            "$type" => {
                let names: Vec<&Value> = match value {
                    Value::Array(list) if !list.is_empty() => list.iter().collect(),
                    one => vec![one],
                };
                for name in names {
                    if !name.as_str().is_some_and(|n| TYPE_NAMES.contains(&n)) {
                        return Err(format!(
                            "{path}: $type must be one of {}, got {name}",
                            TYPE_NAMES.join(", ")
                        ));
                    }
                }
            }
            "$regex" | "$sha256_of" | "$capture" => {
                let Some(text) = value.as_str().filter(|s| !s.is_empty()) else {
                    return Err(format!("{path}: {key} needs a non-empty string"));
                };
                // A pattern with templates is checked once they are expanded.
                if key == "$regex" && !text.contains("{{") {
                    anchored_regex(text).map_err(|e| format!("{path}: {e}"))?;
                }
            }
            "$unordered" => {
                let Value::Array(items) = value else {
                    return Err(format!("{path}: $unordered needs an array"));
                };
                for (i, item) in items.iter().enumerate() {
                    validate(item, &format!("{path}.$unordered[{i}]"))?;
                }
            }
            "$absent" => {
                if value != &Value::Bool(true) || obj.len() != 1 {
                    return Err(format!("{path}: write $absent as {{\"$absent\": true}}"));
                }
            }
            other => return Err(format!("{path}: unknown matcher key {other:?}")),
        }
    }
    Ok(())
}

/// `pattern` matching whole strings; the error names the pattern and the syntax problem.
fn anchored_regex(pattern: &str) -> Result<Regex, String> {
    // The user's pattern alone first, so the message points into what the fixture says.
    let syntax = |e: regex::Error| {
        let text = e.to_string();
        let last = text.lines().last().unwrap_or_default().to_owned();
        format!(
            "invalid regex /{pattern}/: {}",
            last.strip_prefix("error: ").unwrap_or(&last)
        )
    };
    Regex::new(pattern).map_err(syntax)?;
    Regex::new(&format!("^(?:{pattern})$")).map_err(syntax)
}

fn is_matcher(obj: &Map<String, Value>) -> bool {
    obj.keys().any(|k| MATCHER_KEYS.contains(&k.as_str()))
}

/// `{"$absent": true}`: the member must not be there.
pub fn is_absent(value: &Value) -> bool {
    matches!(value, Value::Object(obj) if obj.len() == 1 && obj.get("$absent") == Some(&Value::Bool(true)))
}

/// An expected key as it appears in the response: `$$x` stands for a literal `$x`.
fn literal_key(key: &str) -> &str {
    if key.starts_with("$$") {
        &key[1..]
    } else {
        key
    }
}

fn child_path(path: &str, key: &str) -> String {
    let plain = !key.is_empty()
        && !key.starts_with(|c: char| c.is_ascii_digit())
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if plain {
        format!("{path}.{key}")
    } else {
        format!("{path}[{}]", Value::String(key.to_owned()))
    }
}

/// Equality of JSON values, number kinds included (`1` differs from `1.0`).
fn same(want: &Value, have: &Value) -> bool {
    want == have
}

fn has_type(value: &Value, name: &str) -> bool {
    match name {
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "string" => value.is_string(),
        "boolean" => value.is_boolean(),
        "null" => value.is_null(),
        "array" => value.is_array(),
        "object" => value.is_object(),
        _ => false,
    }
}

/// `string "7"`, `integer 7`, `number 7.5`, `null`, `array [1,2]`, `object {"a":1}`.
pub fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => format!("boolean {b}"),
        Value::Number(n) if n.is_f64() => format!("number {}", compact(value)),
        Value::Number(n) => format!("integer {n}"),
        Value::String(_) => format!("string {}", compact(value)),
        Value::Array(_) => format!("array {}", compact(value)),
        Value::Object(_) => format!("object {}", compact(value)),
    }
}

/// Compact JSON, cut after 100 characters.
pub fn compact(value: &Value) -> String {
    let text = value.to_string();
    match text.char_indices().nth(100) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

#[cfg(test)]
#[path = "matcher_tests.rs"]
mod tests;
