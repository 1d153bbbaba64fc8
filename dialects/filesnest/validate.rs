//! Laravel-style validation of the create, update and search bodies (specs/filesnest.md §4 and
//! §5.5): typed input on success, or the ordered error list of a 422.
//!
//! Pure functions: the one rule that needs the store (`name` unique per principal) gets the
//! answer as a closure, so every rule is table-tested here.

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Map, Value};

/// The failed fields of a request, in the order the rules ran, one message each.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ValidationErrors(Vec<(String, String)>);

impl ValidationErrors {
    pub fn new() -> Self {
        Self::default()
    }

    /// One failing field (only its first failing rule is reported, spec §4).
    pub fn push(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push((field.into(), message.into()));
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn fields(&self) -> &[(String, String)] {
        &self.0
    }

    /// Laravel's summary: the first message, plus ` (and 1 more error)` or ` (and k more
    /// errors)` when other fields failed too.
    pub fn message(&self) -> String {
        let Some((_, first)) = self.0.first() else {
            return String::new();
        };
        match self.0.len() - 1 {
            0 => first.clone(),
            1 => format!("{first} (and 1 more error)"),
            k => format!("{first} (and {k} more errors)"),
        }
    }

    fn into_result<T>(self, ok: impl FnOnce() -> T) -> Result<T, ValidationErrors> {
        if self.is_empty() {
            Ok(ok())
        } else {
            Err(self)
        }
    }
}

/// The 422 body: `{"message":M,"errors":{field:[message],...}}` with fields in rule order.
impl Serialize for ValidationErrors {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        struct Errors<'a>(&'a [(String, String)]);
        impl Serialize for Errors<'_> {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut map = s.serialize_map(Some(self.0.len()))?;
                for (field, message) in self.0 {
                    map.serialize_entry(field, &[message])?;
                }
                map.end()
            }
        }
        let mut map = s.serialize_map(Some(2))?;
        map.serialize_entry("message", &self.message())?;
        map.serialize_entry("errors", &Errors(&self.0))?;
        map.end()
    }
}

/// What Laravel's middleware makes of a body before validation: a body that is not a JSON
/// object is `{}`, strings are trimmed, and a string empty after trimming is `null`
/// (TrimStrings and ConvertEmptyStringsToNull, at every depth).
pub fn normalize_body(body: Option<&[u8]>) -> Map<String, Value> {
    match body.and_then(|b| serde_json::from_slice::<Value>(b).ok()) {
        Some(Value::Object(map)) => map.into_iter().map(|(k, v)| (k, normalize(v))).collect(),
        _ => Map::new(),
    }
}

fn normalize(v: Value) -> Value {
    match v {
        Value::String(s) => {
            let t = s.trim();
            if t.is_empty() {
                Value::Null
            } else if t.len() == s.len() {
                Value::String(s)
            } else {
                Value::String(t.to_owned())
            }
        }
        Value::Array(a) => Value::Array(a.into_iter().map(normalize).collect()),
        Value::Object(o) => Value::Object(o.into_iter().map(|(k, v)| (k, normalize(v))).collect()),
        other => other,
    }
}

/// A valid create body (spec §5.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreateFile {
    pub name: String,
    pub create_datetime: String,
    pub checksum: Option<String>,
    pub chunks_count: u64,
}

/// A valid update body (spec §5.6): `None` for keys that were not sent.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UpdateFile {
    pub name: Option<String>,
    pub create_datetime: Option<String>,
    /// `Some(None)`: `checksum` was sent as null (or empty) and is cleared.
    pub checksum: Option<Option<String>>,
}

/// The `name` the uniqueness rule will be asked about, if the body gets that far.
pub fn name_candidate(body: &Map<String, Value>) -> Option<&str> {
    match body.get("name") {
        Some(Value::String(s)) if s.chars().count() <= 255 => Some(s),
        _ => None,
    }
}

/// §4 for `POST /api/files`. `taken(name)` says whether another file of the caller has it.
pub fn validate_create(
    body: &Map<String, Value>,
    max_chunks: u64,
    taken: impl Fn(&str) -> bool,
) -> Result<CreateFile, ValidationErrors> {
    let mut errors = ValidationErrors::new();
    let name = required(&mut errors, body, "name", |v| name_rules(v, &taken));
    let create_datetime = required(&mut errors, body, "create_datetime", datetime_rules);
    let checksum = optional(&mut errors, body, "checksum", checksum_rules);
    let chunks_count = required(&mut errors, body, "chunks_count", |v| {
        chunks_count_rules(v, max_chunks)
    });
    errors.into_result(|| CreateFile {
        name: name.unwrap_or_default(),
        create_datetime: create_datetime.unwrap_or_default(),
        checksum: checksum.flatten(),
        chunks_count: chunks_count.unwrap_or_default(),
    })
}

/// §4 for `PATCH /api/files/{id}`: present keys only; `chunks_count` is ignored.
pub fn validate_update(
    body: &Map<String, Value>,
    taken: impl Fn(&str) -> bool,
) -> Result<UpdateFile, ValidationErrors> {
    let mut errors = ValidationErrors::new();
    let name = body
        .contains_key("name")
        .then(|| required(&mut errors, body, "name", |v| name_rules(v, &taken)))
        .flatten();
    let create_datetime = body
        .contains_key("create_datetime")
        .then(|| required(&mut errors, body, "create_datetime", datetime_rules))
        .flatten();
    let checksum = optional(&mut errors, body, "checksum", checksum_rules);
    errors.into_result(|| UpdateFile {
        name,
        create_datetime,
        checksum,
    })
}

/// Laravel's display name of a field: underscores become spaces.
fn label(field: &str) -> String {
    field.replace('_', " ")
}

/// A required field: absent or null fails with "required", otherwise `rules` decide.
fn required<T>(
    errors: &mut ValidationErrors,
    body: &Map<String, Value>,
    field: &str,
    rules: impl FnOnce(&Value) -> Result<T, String>,
) -> Option<T> {
    let outcome = match body.get(field) {
        None | Some(Value::Null) => Err(format!("The {} field is required.", label(field))),
        Some(v) => rules(v),
    };
    outcome.map_err(|m| errors.push(field, m)).ok()
}

/// A nullable field: `None` when absent, `Some(None)` when null.
fn optional<T>(
    errors: &mut ValidationErrors,
    body: &Map<String, Value>,
    field: &str,
    rules: impl FnOnce(&Value) -> Result<T, String>,
) -> Option<Option<T>> {
    match body.get(field) {
        None => None,
        Some(Value::Null) => Some(None),
        Some(v) => rules(v).map_err(|m| errors.push(field, m)).ok().map(Some),
    }
}

fn string_max_255(v: &Value, field: &str) -> Result<String, String> {
    let Value::String(s) = v else {
        return Err(format!("The {} field must be a string.", label(field)));
    };
    if s.chars().count() > 255 {
        return Err(format!(
            "The {} field must not be greater than 255 characters.",
            label(field)
        ));
    }
    Ok(s.clone())
}

fn name_rules(v: &Value, taken: &impl Fn(&str) -> bool) -> Result<String, String> {
    let name = string_max_255(v, "name")?;
    if taken(&name) {
        return Err("The name has already been taken.".into());
    }
    Ok(name)
}

fn checksum_rules(v: &Value) -> Result<String, String> {
    string_max_255(v, "checksum")
}

fn datetime_rules(v: &Value) -> Result<String, String> {
    match v {
        Value::String(s) if is_datetime(s) => Ok(s.clone()),
        _ => Err("The create datetime field must match the format Y-m-d H:i:s.".into()),
    }
}

fn chunks_count_rules(v: &Value, max: u64) -> Result<u64, String> {
    // Larger than any limit, but still an integer: digit strings of any length are integers.
    let n: i128 = match v {
        Value::Number(n) if n.is_i64() || n.is_u64() => n
            .as_i64()
            .map(i128::from)
            .or(n.as_u64().map(i128::from))
            .unwrap_or_default(),
        Value::String(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
            s.parse::<i128>().unwrap_or(i128::MAX)
        }
        _ => return Err("The chunks count field must be an integer.".into()),
    };
    if n < 1 {
        return Err("The chunks count field must be at least 1.".into());
    }
    if n > i128::from(max) {
        return Err(format!(
            "The chunks count field must not be greater than {max}."
        ));
    }
    Ok(n as u64)
}

/// `YYYY-MM-DD HH:MM:SS` naming a real calendar date and time (PHP's `Y-m-d H:i:s` round trip).
pub fn is_datetime(s: &str) -> bool {
    let b = s.as_bytes();
    let shape = b.len() == 19
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b' ',
            13 | 16 => *c == b':',
            _ => c.is_ascii_digit(),
        });
    if !shape {
        return false;
    }
    let num = |r: std::ops::Range<usize>| s[r].parse::<u32>().unwrap_or(u32::MAX);
    let (year, month, day) = (num(0..4), num(5..7), num(8..10));
    let (hour, minute, second) = (num(11..13), num(14..16), num(17..19));
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&day) && hour <= 23 && minute <= 59 && second <= 59
}

/// A search filter (spec §5.5). Only `name` can be filtered on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Filter {
    /// `=`: exact, case-sensitive.
    NameEquals(String),
    /// `like`: an SQL LIKE pattern, ASCII case-insensitive.
    NameLike(String),
}

/// The `filters` of a search body. Absent or null means no filter.
///
/// Laravel expands each wildcard rule in place, so errors come rule by rule: every
/// `filters.N.field` first, then every `filters.N.operator`, then every `filters.N.value`.
pub fn validate_search(body: &Map<String, Value>) -> Result<Vec<Filter>, ValidationErrors> {
    let mut errors = ValidationErrors::new();
    let items = match body.get("filters") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(items)) => items,
        Some(_) => {
            errors.push("filters", "The filters field must be an array.");
            return Err(errors);
        }
    };
    let empty = Map::new();
    let filters: Vec<&Map<String, Value>> = items
        .iter()
        .map(|f| f.as_object().unwrap_or(&empty))
        .collect();
    for (i, f) in filters.iter().enumerate() {
        if f.get("field") != Some(&Value::String("name".into())) {
            errors.push(
                format!("filters.{i}.field"),
                format!("The selected filters.{i}.field is invalid."),
            );
        }
    }
    let mut like = Vec::with_capacity(filters.len());
    for (i, f) in filters.iter().enumerate() {
        match f.get("operator") {
            None | Some(Value::Null) => like.push(false),
            Some(Value::String(op)) if op == "=" => like.push(false),
            Some(Value::String(op)) if op == "like" => like.push(true),
            Some(_) => {
                like.push(false);
                errors.push(
                    format!("filters.{i}.operator"),
                    format!("The selected filters.{i}.operator is invalid."),
                );
            }
        }
    }
    let mut values = Vec::with_capacity(filters.len());
    for (i, f) in filters.iter().enumerate() {
        match f.get("value") {
            Some(Value::String(v)) => values.push(v.clone()),
            None | Some(Value::Null) => errors.push(
                format!("filters.{i}.value"),
                format!("The filters.{i}.value field is required."),
            ),
            Some(_) => errors.push(
                format!("filters.{i}.value"),
                format!("The filters.{i}.value field must be a string."),
            ),
        }
    }
    errors.into_result(|| {
        values
            .into_iter()
            .zip(like)
            .map(|(v, like)| {
                if like {
                    Filter::NameLike(v)
                } else {
                    Filter::NameEquals(v)
                }
            })
            .collect()
    })
}

#[cfg(test)]
#[path = "validate_tests.rs"]
mod tests;
