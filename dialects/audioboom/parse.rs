//! Typed requests: the parameter rules of specs/audioboom.md §2, §5.1, §5.2 and §6, as pure
//! functions from [`Params`] to values, or to the legacy 400/422 with its exact text.

use super::error::{AudioboomError, BEYOND_SIZE};
use super::params::{FilePart, Params};

/// The name of the chunk part (§5), without `signed_`.
pub const CHUNK: &str = "attachment[chunk]";

fn invalid(text: impl Into<String>) -> AudioboomError {
    AudioboomError::Invalid(text.into())
}

/// An integer of §2: ASCII digits only. `Some(None)` when the digits overflow.
fn digits(s: &str) -> Option<Option<u64>> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(s.parse().ok())
}

/// `version`, when given, must be `200` (§2), else 400 with code 800.
pub fn check_version(p: &Params) -> Result<(), AudioboomError> {
    match p.text("version") {
        Some(v) if v != "200" => Err(AudioboomError::UnsupportedVersion),
        _ => Ok(()),
    }
}

/// `POST /attachments` (§5.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreateAttachment {
    pub size: u64,
    pub offset: u64,
    pub filename: String,
    pub content_type: String,
    pub chunk: FilePart,
}

/// Applies the rules of §5.1 in the order of its table.
pub fn parse_create(p: &Params, max_size: u64) -> Result<CreateAttachment, AudioboomError> {
    let size = match p.text("attachment[size]").map(digits) {
        None => return Err(invalid("attachment[size] is required")),
        Some(None) | Some(Some(Some(0))) => {
            return Err(invalid("attachment[size] must be a positive integer"))
        }
        Some(Some(Some(n))) if n <= max_size => n,
        Some(Some(_)) => {
            return Err(invalid(format!(
                "attachment[size] exceeds the maximum of {max_size} bytes"
            )))
        }
    };
    let chunk = p
        .file(CHUNK)
        .ok_or_else(|| invalid("attachment[chunk] is required"))?;
    let offset = match p.text("attachment[chunk_offset]") {
        None => 0,
        Some(s) => offset(s)?,
    };
    let filename = match p.text("attachment[filename]") {
        Some(f) if f.len() > 255 => return Err(invalid("attachment[filename] is too long")),
        Some(f) if !f.is_empty() => f.to_owned(),
        _ => chunk
            .filename
            .as_deref()
            .map(base_name)
            .filter(|f| !f.is_empty())
            .unwrap_or("attachment")
            .to_owned(),
    };
    check_bounds(offset, chunk.len, size)?;
    let content_type = content_type(chunk.content_type.as_deref(), &filename);
    Ok(CreateAttachment {
        size,
        offset,
        filename,
        content_type,
        chunk: chunk.clone(),
    })
}

fn offset(s: &str) -> Result<u64, AudioboomError> {
    match digits(s) {
        None => Err(invalid(
            "attachment[chunk_offset] must be a non-negative integer",
        )),
        // Beyond any size: the bounds rule answers.
        Some(n) => Ok(n.unwrap_or(u64::MAX)),
    }
}

fn check_bounds(offset: u64, len: Option<u64>, size: u64) -> Result<(), AudioboomError> {
    match offset.checked_add(len.unwrap_or(0)) {
        Some(end) if end <= size => Ok(()),
        _ => Err(invalid(BEYOND_SIZE)),
    }
}

/// Android sends the absolute device path as the part's filename (§5.1): keep what follows
/// the last `/` or `\`.
pub fn base_name(path: &str) -> &str {
    path.rsplit(['/', '\\']).next().unwrap_or(path)
}

/// The part's type unless absent or `application/octet-stream` (which Android always sends,
/// §11); otherwise the standard MIME table by extension.
pub fn content_type(part_type: Option<&str>, filename: &str) -> String {
    match part_type {
        Some(t) if !t.is_empty() && !t.eq_ignore_ascii_case("application/octet-stream") => {
            t.to_owned()
        }
        _ => match filename.rsplit_once('.') {
            Some((_, ext)) if !ext.is_empty() => {
                actix_files::file_extension_to_mime(&ext.to_ascii_lowercase()).to_string()
            }
            _ => "application/octet-stream".to_owned(),
        },
    }
}

/// `PUT /attachments/{id}` (§5.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UpdateAttachment {
    pub offset: u64,
    pub chunk: FilePart,
}

/// Applies the rules of §5.2 against the attachment's stored size.
pub fn parse_update(p: &Params, stored_size: u64) -> Result<UpdateAttachment, AudioboomError> {
    let chunk = p
        .file(CHUNK)
        .ok_or_else(|| invalid("attachment[chunk] is required"))?;
    let offset = update_offset(p, stored_size)?;
    check_bounds(offset, chunk.len, stored_size)?;
    Ok(UpdateAttachment {
        offset,
        chunk: chunk.clone(),
    })
}

/// The offset and size rules of §5.2, which can be checked before the chunk has arrived.
pub fn update_offset(p: &Params, stored_size: u64) -> Result<u64, AudioboomError> {
    let offset = match p.text("attachment[chunk_offset]") {
        None => return Err(invalid("attachment[chunk_offset] is required")),
        Some(s) => offset(s)?,
    };
    // Android re-sends `attachment[size]` with every chunk (§11).
    if let Some(s) = p.text("attachment[size]") {
        if digits(s) != Some(Some(stored_size)) {
            return Err(invalid("attachment[size] does not match the attachment"));
        }
    }
    Ok(offset)
}

/// Which consumer route (§6): clips read `audio_clip[...]`, the outbox `message[...]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Consumer {
    Clip,
    Message,
}

impl Consumer {
    pub fn prefix(self) -> &'static str {
        match self {
            Consumer::Clip => "audio_clip",
            Consumer::Message => "message",
        }
    }
}

/// `[uploaded_data]` or `[uploaded_image]`: an attachment id and an optional SHA-1.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttachmentRef {
    pub id: u64,
    pub fingerprint: Option<String>,
}

/// `POST /audio_clips` and its aliases, or `POST /account/outbox` (§6).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewClip {
    pub title: String,
    pub data: AttachmentRef,
    pub image: Option<AttachmentRef>,
    pub recipient_id: Option<u64>,
    pub recorded_at: Option<String>,
    /// Other keys (`uuid`, `tags`, location, ...), stored as given.
    pub extra: Vec<(String, String)>,
}

/// Applies the rules of §6 in the order of its table (title, data, image, recipient).
pub fn parse_clip(p: &Params, consumer: Consumer) -> Result<NewClip, AudioboomError> {
    let pfx = consumer.prefix();
    let title = p.text(&format!("{pfx}[title]")).unwrap_or_default();
    if consumer == Consumer::Clip && title.is_empty() {
        return Err(invalid(format!("{pfx}[title] is required")));
    }
    let data = attachment_ref(p, &format!("{pfx}[uploaded_data]"))?.ok_or_else(|| {
        invalid(format!(
            "{pfx}[uploaded_data][chunked_attachment_id] is required"
        ))
    })?;
    let image = attachment_ref(p, &format!("{pfx}[uploaded_image]"))?;
    let recipient_id = match consumer {
        Consumer::Clip => None,
        Consumer::Message => match p.text("message[recipient_id]").and_then(digits) {
            Some(Some(id)) => Some(id),
            _ => return Err(invalid("message[recipient_id] is required")),
        },
    };
    let known = [
        "title",
        "uploaded_data",
        "uploaded_image",
        "recipient_id",
        "recorded_at",
    ];
    let extra = p
        .texts_under(pfx)
        .into_iter()
        .filter(|(name, _)| {
            let key = &name[pfx.len() + 1..];
            !known
                .iter()
                .any(|k| key.starts_with(&format!("{k}]")) || key.starts_with(&format!("{k}][")))
        })
        .collect();
    Ok(NewClip {
        title: title.to_owned(),
        data,
        image,
        recipient_id,
        recorded_at: p.text(&format!("{pfx}[recorded_at]")).map(str::to_owned),
        extra,
    })
}

/// `None` when no parameter names the attachment at all.
fn attachment_ref(p: &Params, base: &str) -> Result<Option<AttachmentRef>, AudioboomError> {
    // Binary data in place of the reference is the monolithic upload, which chunkgate does not
    // take (§6).
    if p.get(base).is_some() {
        return Err(invalid(format!(
            "{base} must reference a chunked attachment"
        )));
    }
    let id_name = format!("{base}[chunked_attachment_id]");
    let fingerprint = p
        .text(&format!("{base}[fingerprint]"))
        .filter(|f| !f.is_empty())
        .map(str::to_owned);
    match p.text(&id_name).map(digits) {
        Some(Some(Some(id))) => Ok(Some(AttachmentRef { id, fingerprint })),
        None if fingerprint.is_none() && p.file(&id_name).is_none() => Ok(None),
        _ => Err(invalid(format!("{id_name} is required"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dialects::audioboom::params::{Source, Value};

    const MAX: u64 = 2_147_483_648;

    fn params(pairs: &[(&str, &str)]) -> Params {
        let mut p = Params::default();
        for (n, v) in pairs {
            p.push(*n, Value::Text((*v).into()), Source::Body);
        }
        p
    }

    fn with_chunk(mut p: Params, filename: Option<&str>, ct: Option<&str>, len: u64) -> Params {
        p.push(
            "signed_attachment[chunk]",
            Value::File(FilePart {
                filename: filename.map(Into::into),
                content_type: ct.map(Into::into),
                len: Some(len),
                slot: Some(0),
            }),
            Source::Body,
        );
        p
    }

    fn err(r: Result<impl std::fmt::Debug, AudioboomError>) -> String {
        r.unwrap_err().to_string()
    }

    #[test]
    fn create_rules_answer_with_the_texts_of_the_spec() {
        let chunked = |pairs: &[(&str, &str)], len| with_chunk(params(pairs), None, None, len);
        let cases: Vec<(Params, &str)> = vec![
            (chunked(&[], 1), "attachment[size] is required"),
            (
                chunked(&[("attachment[size]", "0")], 0),
                "attachment[size] must be a positive integer",
            ),
            (
                chunked(&[("attachment[size]", "-1")], 0),
                "attachment[size] must be a positive integer",
            ),
            (
                chunked(&[("attachment[size]", "1e3")], 0),
                "attachment[size] must be a positive integer",
            ),
            (
                chunked(&[("attachment[size]", "2147483649")], 0),
                "attachment[size] exceeds the maximum of 2147483648 bytes",
            ),
            (
                chunked(&[("attachment[size]", "99999999999999999999999")], 0),
                "attachment[size] exceeds the maximum of 2147483648 bytes",
            ),
            (
                params(&[("attachment[size]", "5")]),
                "attachment[chunk] is required",
            ),
            (
                params(&[("attachment[size]", "5"), ("attachment[chunk]", "text")]),
                "attachment[chunk] is required",
            ),
            (
                chunked(
                    &[("attachment[size]", "5"), ("attachment[chunk_offset]", "x")],
                    1,
                ),
                "attachment[chunk_offset] must be a non-negative integer",
            ),
            (
                chunked(
                    &[
                        ("attachment[size]", "5"),
                        ("attachment[filename]", &"a".repeat(256)),
                    ],
                    1,
                ),
                "attachment[filename] is too long",
            ),
            (
                chunked(
                    &[("attachment[size]", "5"), ("attachment[chunk_offset]", "3")],
                    3,
                ),
                BEYOND_SIZE,
            ),
            (
                chunked(
                    &[
                        ("attachment[size]", "5"),
                        ("attachment[chunk_offset]", "99999999999999999999999"),
                    ],
                    0,
                ),
                BEYOND_SIZE,
            ),
        ];
        for (p, want) in cases {
            assert_eq!(err(parse_create(&p, MAX)), want);
        }
    }

    #[test]
    fn create_takes_the_name_from_the_device_path_and_guesses_the_type() {
        let p = with_chunk(
            params(&[("attachment[size]", "22")]),
            Some("/sdcard/boo/hello.txt"),
            Some("application/octet-stream"),
            7,
        );
        let c = parse_create(&p, MAX).unwrap();
        assert_eq!((c.size, c.offset, c.chunk.len), (22, 0, Some(7)));
        assert_eq!(c.filename, "hello.txt");
        assert_eq!(c.content_type, "text/plain");

        let cases = [
            (Some("C:\\boo\\x.FLAC"), None, None, "x.FLAC", "audio/flac"),
            (
                Some("a.mp3"),
                Some("audio/x-custom"),
                None,
                "a.mp3",
                "audio/x-custom",
            ),
            (
                Some("a.mp3"),
                None,
                Some("named.jpg"),
                "named.jpg",
                "image/jpeg",
            ),
            (None, None, None, "attachment", "application/octet-stream"),
            (
                Some("dir/"),
                None,
                None,
                "attachment",
                "application/octet-stream",
            ),
            (
                Some("x.unknownext"),
                None,
                None,
                "x.unknownext",
                "application/octet-stream",
            ),
        ];
        for (part_name, part_type, given, name, ty) in cases {
            let mut pairs = vec![("attachment[size]", "3")];
            if let Some(g) = given {
                pairs.push(("attachment[filename]", g));
            }
            let c =
                parse_create(&with_chunk(params(&pairs), part_name, part_type, 1), MAX).unwrap();
            assert_eq!((c.filename.as_str(), c.content_type.as_str()), (name, ty));
        }
    }

    #[test]
    fn update_rules_answer_with_the_texts_of_the_spec() {
        let chunked = |pairs: &[(&str, &str)], len| with_chunk(params(pairs), None, None, len);
        let cases: Vec<(Params, &str)> = vec![
            (
                params(&[("attachment[chunk_offset]", "0")]),
                "attachment[chunk] is required",
            ),
            (chunked(&[], 1), "attachment[chunk_offset] is required"),
            (
                chunked(&[("attachment[chunk_offset]", " 1")], 1),
                "attachment[chunk_offset] must be a non-negative integer",
            ),
            (
                chunked(
                    &[
                        ("attachment[chunk_offset]", "0"),
                        ("attachment[size]", "21"),
                    ],
                    1,
                ),
                "attachment[size] does not match the attachment",
            ),
            (
                chunked(&[("attachment[chunk_offset]", "16")], 7),
                BEYOND_SIZE,
            ),
        ];
        for (p, want) in cases {
            assert_eq!(err(parse_update(&p, 22)), want);
        }
        let ok = chunked(
            &[
                ("attachment[chunk_offset]", "15"),
                ("attachment[size]", "22"),
            ],
            7,
        );
        assert_eq!(parse_update(&ok, 22).unwrap().offset, 15);
    }

    #[test]
    fn the_version_must_be_200_when_given() {
        assert!(check_version(&params(&[])).is_ok());
        assert!(check_version(&params(&[("version", "200")])).is_ok());
        assert_eq!(
            err(check_version(&params(&[("version", "199")]))),
            "Unsupported API version"
        );
    }

    #[test]
    fn clip_rules_answer_with_the_texts_of_the_spec() {
        let id = "audio_clip[uploaded_data][chunked_attachment_id]";
        type Case<'a> = (Vec<(&'a str, &'a str)>, Consumer, &'a str);
        let cases: Vec<Case> = vec![
            (
                vec![(id, "1")],
                Consumer::Clip,
                "audio_clip[title] is required",
            ),
            (
                vec![("audio_clip[title]", ""), (id, "1")],
                Consumer::Clip,
                "audio_clip[title] is required",
            ),
            (
                vec![("audio_clip[title]", "t")],
                Consumer::Clip,
                "audio_clip[uploaded_data][chunked_attachment_id] is required",
            ),
            (
                vec![("audio_clip[title]", "t"), (id, "x")],
                Consumer::Clip,
                "audio_clip[uploaded_data][chunked_attachment_id] is required",
            ),
            (
                vec![
                    ("audio_clip[title]", "t"),
                    ("audio_clip[uploaded_data]", "raw"),
                ],
                Consumer::Clip,
                "audio_clip[uploaded_data] must reference a chunked attachment",
            ),
            (
                vec![
                    ("audio_clip[title]", "t"),
                    (id, "1"),
                    ("audio_clip[uploaded_image][fingerprint]", "ab"),
                ],
                Consumer::Clip,
                "audio_clip[uploaded_image][chunked_attachment_id] is required",
            ),
            (
                vec![("message[uploaded_data][chunked_attachment_id]", "1")],
                Consumer::Message,
                "message[recipient_id] is required",
            ),
            (
                vec![("message[recipient_id]", "7")],
                Consumer::Message,
                "message[uploaded_data][chunked_attachment_id] is required",
            ),
        ];
        for (pairs, consumer, want) in cases {
            assert_eq!(
                err(parse_clip(&params(&pairs), consumer)),
                want,
                "{pairs:?}"
            );
        }
    }

    #[test]
    fn a_clip_keeps_its_references_and_other_keys() {
        let p = params(&[
            ("audio_clip[title]", "foo"),
            ("audio_clip[uploaded_data][chunked_attachment_id]", "9812"),
            ("audio_clip[uploaded_data][fingerprint]", "DC58"),
            ("audio_clip[uploaded_image][chunked_attachment_id]", "9813"),
            ("audio_clip[recorded_at]", "2025-01-15 10:00:00 +0000"),
            ("audio_clip[uuid]", "u-1"),
            ("fmt", "json"),
        ]);
        let c = parse_clip(&p, Consumer::Clip).unwrap();
        assert_eq!(
            c.data,
            AttachmentRef {
                id: 9812,
                fingerprint: Some("DC58".into())
            }
        );
        assert_eq!(c.image.map(|i| i.id), Some(9813));
        assert_eq!(c.recorded_at.as_deref(), Some("2025-01-15 10:00:00 +0000"));
        assert_eq!(c.extra, [("audio_clip[uuid]".to_owned(), "u-1".to_owned())]);
        let m = parse_clip(
            &params(&[
                ("message[uploaded_data][chunked_attachment_id]", "1"),
                ("message[recipient_id]", "77"),
            ]),
            Consumer::Message,
        )
        .unwrap();
        assert_eq!((m.title.as_str(), m.recipient_id), ("", Some(77)));
    }
}
