//! Request parameters as Rails sees them (specs/audioboom.md §2): nested names such as
//! `attachment[size]` from the query string and the body, every name also spelled with the
//! prefix `signed_`. Looking a name up prefers the `signed_` spelling, then a body value over a
//! query value, then the last occurrence (Rails keeps the last of repeated plain names).

/// Where a parameter came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    Query,
    Body,
}

/// A text value, or a multipart part carrying binary data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    Text(String),
    File(FilePart),
}

/// What is known of a binary part. Its bytes are staged (`slot` indexes the request's staged
/// bodies) or were streamed straight into an attachment (`slot` is `None`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FilePart {
    pub filename: Option<String>,
    pub content_type: Option<String>,
    /// Length in bytes; `None` when streamed straight into the engine.
    pub len: Option<u64>,
    pub slot: Option<usize>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Param {
    /// As received, `signed_` prefix included.
    pub name: String,
    pub value: Value,
    pub source: Source,
}

impl Param {
    pub fn is_signed(&self) -> bool {
        self.name.starts_with(SIGNED)
    }

    /// The name without its `signed_` prefix.
    pub fn bare_name(&self) -> &str {
        self.name.strip_prefix(SIGNED).unwrap_or(&self.name)
    }
}

pub const SIGNED: &str = "signed_";

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Params {
    entries: Vec<Param>,
}

impl Params {
    /// The parameters of a query string.
    pub fn from_query(query: &str) -> Params {
        let mut p = Params::default();
        p.extend_urlencoded(query, Source::Query);
        p
    }

    #[cfg(test)]
    pub fn entries(&self) -> &[Param] {
        &self.entries
    }

    pub fn push(&mut self, name: impl Into<String>, value: Value, source: Source) {
        self.entries.push(Param {
            name: name.into(),
            value,
            source,
        });
    }

    /// Adds the pairs of `application/x-www-form-urlencoded` text.
    pub fn extend_urlencoded(&mut self, text: &str, source: Source) {
        for pair in text.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            self.push(
                decode_component(k),
                Value::Text(decode_component(v)),
                source,
            );
        }
    }

    /// Adds a JSON body, flattened to Rails names: `{"a":{"b":1}}` is `a[b]=1`, arrays give
    /// `a[]` once per element. Numbers and booleans become their text (§2: "numbers may be
    /// numbers or strings"); `null` is an empty value. The top level must be an object.
    pub fn extend_json(&mut self, value: &serde_json::Value) -> Result<(), ()> {
        let serde_json::Value::Object(map) = value else {
            return Err(());
        };
        for (k, v) in map {
            self.flatten(k.clone(), v);
        }
        Ok(())
    }

    fn flatten(&mut self, name: String, value: &serde_json::Value) {
        use serde_json::Value as J;
        match value {
            J::Object(map) => {
                for (k, v) in map {
                    self.flatten(format!("{name}[{k}]"), v);
                }
            }
            J::Array(items) => {
                for v in items {
                    self.flatten(format!("{name}[]"), v);
                }
            }
            J::String(s) => self.push(name, Value::Text(s.clone()), Source::Body),
            J::Null => self.push(name, Value::Text(String::new()), Source::Body),
            other => self.push(name, Value::Text(other.to_string()), Source::Body),
        }
    }

    /// The parameter `name` (given without `signed_`), by the precedence of the module doc.
    pub fn get(&self, name: &str) -> Option<&Param> {
        let rank = |p: &Param| (!p.is_signed(), p.source == Source::Query);
        self.entries.iter().filter(|p| p.bare_name() == name).fold(
            None,
            |best: Option<&Param>, p| match best {
                Some(b) if rank(b) < rank(p) => Some(b),
                _ => Some(p),
            },
        )
    }

    /// The text of `name`; a binary part counts as absent.
    pub fn text(&self, name: &str) -> Option<&str> {
        match &self.get(name)?.value {
            Value::Text(t) => Some(t),
            Value::File(_) => None,
        }
    }

    /// The binary part `name`.
    pub fn file(&self, name: &str) -> Option<&FilePart> {
        match &self.get(name)?.value {
            Value::File(f) => Some(f),
            Value::Text(_) => None,
        }
    }

    /// Every text parameter under `prefix[` with its bare name, by precedence (one per name).
    pub fn texts_under(&self, prefix: &str) -> Vec<(String, String)> {
        let open = format!("{prefix}[");
        let mut names: Vec<&str> = Vec::new();
        for p in &self.entries {
            let n = p.bare_name();
            if n.starts_with(&open) && !names.contains(&n) {
                names.push(n);
            }
        }
        names
            .into_iter()
            .filter_map(|n| Some((n.to_owned(), self.text(n)?.to_owned())))
            .collect()
    }

    /// The `signed_` parameters in signing order (§4): by bare name, case-insensitively as
    /// Java's `String.CASE_INSENSITIVE_ORDER`; a stable sort keeps repeated `name[]` in order.
    pub fn signed_in_order(&self) -> Vec<&Param> {
        let mut signed: Vec<&Param> = self.entries.iter().filter(|p| p.is_signed()).collect();
        signed.sort_by(|a, b| case_insensitive(a.bare_name(), b.bare_name()));
        signed
    }
}

/// Java's `CASE_INSENSITIVE_ORDER`: char by char, upper-cased then lower-cased.
fn case_insensitive(a: &str, b: &str) -> std::cmp::Ordering {
    let fold = |c: char| {
        let u = c.to_uppercase().next().unwrap_or(c);
        u.to_lowercase().next().unwrap_or(u)
    };
    a.chars().map(fold).cmp(b.chars().map(fold))
}

/// Percent-decoding of one form component, `+` being a space.
pub fn decode_component(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = |c: u8| (c as char).to_digit(16);
                match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                    (Some(h), Some(l)) => {
                        out.push((h * 16 + l) as u8);
                        i += 2;
                    }
                    _ => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(v: &str) -> Value {
        Value::Text(v.into())
    }

    #[test]
    fn form_components_are_percent_decoded() {
        let cases = [
            ("a%5Bb%5D", "a[b]"),
            ("x+y", "x y"),
            ("100%", "100%"),
            ("%zz", "%zz"),
            ("%C3%A9", "é"),
            ("", ""),
        ];
        for (raw, want) in cases {
            assert_eq!(decode_component(raw), want, "{raw}");
        }
    }

    #[test]
    fn lookups_prefer_signed_then_body_then_the_last_value() {
        let mut p = Params::from_query("attachment%5Bsize%5D=1&signed_attachment[size]=2&v=q");
        p.push("attachment[size]", text("3"), Source::Body);
        p.push("v", text("b1"), Source::Body);
        p.push("v", text("b2"), Source::Body);
        assert_eq!(p.text("attachment[size]"), Some("2"));
        assert_eq!(p.text("v"), Some("b2"));
        p.push("signed_attachment[size]", text("4"), Source::Body);
        assert_eq!(p.text("attachment[size]"), Some("4"));
        assert_eq!(p.text("missing"), None);
    }

    #[test]
    fn json_bodies_flatten_to_rails_names() {
        let mut p = Params::default();
        let v = serde_json::json!({"audio_clip": {"uploaded_data": {"chunked_attachment_id": 10001},
            "title": "t", "tags": ["a", "b"], "flag": true, "none": null}});
        p.extend_json(&v).unwrap();
        assert_eq!(
            p.text("audio_clip[uploaded_data][chunked_attachment_id]"),
            Some("10001")
        );
        assert_eq!(p.text("audio_clip[title]"), Some("t"));
        assert_eq!(p.text("audio_clip[flag]"), Some("true"));
        assert_eq!(p.text("audio_clip[none]"), Some(""));
        let tags: Vec<_> = p
            .entries()
            .iter()
            .filter(|e| e.name == "audio_clip[tags][]")
            .collect();
        assert_eq!(tags.len(), 2);
        assert!(Params::default()
            .extend_json(&serde_json::json!([1]))
            .is_err());
    }

    #[test]
    fn signed_parameters_sort_case_insensitively_and_stably() {
        let mut p = Params::default();
        for (n, v) in [
            ("signed_source[timestamp]", "9"),
            ("signed_attachment[chunk_offset]", "0"),
            ("signed_Attachment[size]", "5"),
            ("source[key]", "k"),
            ("signed_tags[]", "x"),
            ("signed_attachment[chunk]", "c"),
            ("signed_tags[]", "y"),
        ] {
            p.push(n, text(v), Source::Body);
        }
        let order: Vec<_> = p.signed_in_order().iter().map(|e| e.bare_name()).collect();
        assert_eq!(
            order,
            [
                "attachment[chunk]",
                "attachment[chunk_offset]",
                "Attachment[size]",
                "source[timestamp]",
                "tags[]",
                "tags[]"
            ]
        );
        let tags: Vec<_> = p
            .signed_in_order()
            .iter()
            .filter(|e| e.bare_name() == "tags[]")
            .map(|e| e.value.clone())
            .collect();
        assert_eq!(tags, [text("x"), text("y")]);
    }

    #[test]
    fn texts_under_a_prefix_list_each_name_once() {
        let mut p = Params::default();
        p.push("audio_clip[uuid]", text("u1"), Source::Query);
        p.push("signed_audio_clip[uuid]", text("u2"), Source::Body);
        p.push("audio_clip[title]", text("t"), Source::Body);
        p.push("audio_clipx[y]", text("no"), Source::Body);
        assert_eq!(
            p.texts_under("audio_clip"),
            [
                ("audio_clip[uuid]".to_owned(), "u2".to_owned()),
                ("audio_clip[title]".to_owned(), "t".to_owned())
            ]
        );
    }
}
