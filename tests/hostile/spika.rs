//! Hostile input for Spika (specs/spika.md): chunks with bad base64, wrong JSON types, huge and
//! negative offsets and `clientId`s that try path tricks; invalid verifies, early verifies,
//! wrong hashes, verified `clientId`s, oversized bodies, unknown and foreign files, garbage
//! tokens. Every answer must be a 4xx in Spika's format (plain-text 401 or the error envelope)
//! and leave the store unchanged.

use crate::gen::*;
use crate::helpers::{TestApp, OTHER_TOKEN, USER_TOKEN};
use crate::support::*;
use proptest::prelude::*;

#[derive(Clone, Debug)]
struct Ids {
    /// alice's verified file (clientId `done-a`).
    file: u64,
    bob_file: u64,
}

async fn chunk(app: &TestApp, token: &str, client_id: &str, offset: u64, b64: &str) {
    let h = Hostile::new("POST", "/api/upload/files")
        .header("accesstoken", token)
        .json_text(format!(
            r#"{{"chunk":"{b64}","offset":{offset},"clientId":"{client_id}"}}"#
        ));
    let (status, v) = call(app, h).await;
    assert_eq!(status, 200, "{v}");
}

async fn verified(app: &TestApp, token: &str, client_id: &str) -> u64 {
    chunk(app, token, client_id, 0, "ZG9uZQ==").await; // "done"
    let hash = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(b"done"));
    let h = Hostile::new("POST", "/api/upload/files/verify")
        .header("accesstoken", token)
        .json_text(format!(
            r#"{{"total":1,"size":4,"mimeType":"text/plain","fileName":"d.txt","clientId":"{client_id}","fileHash":"{hash}","type":"message"}}"#
        ));
    let (status, v) = call(app, h).await;
    assert_eq!(status, 200, "{v}");
    v["data"]["file"]["id"].as_u64().unwrap()
}

async fn arrange(app: &TestApp) -> Ids {
    chunk(app, USER_TOKEN, "collect-a", 0, "SGVsbG8sIA==").await;
    chunk(app, OTHER_TOKEN, "collect-b", 0, "SGVsbG8sIA==").await;
    Ids {
        file: verified(app, USER_TOKEN, "done-a").await,
        bob_file: verified(app, OTHER_TOKEN, "done-b").await,
    }
}

fn valid_client_id(s: &str) -> bool {
    (1..=128).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._~-".contains(&b))
        && s != "."
        && s != ".."
}

/// `clientId` values §3 refuses: path tricks, unicode, too long, wrong types.
fn bad_client_id() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        Just(None),
        prop::sample::select(vec![
            "null", "\"\"", "1", "[]", "{}", "true", "\".\"", "\"..\""
        ])
        .prop_map(|s| Some(s.to_owned())),
        tricky_name()
            .prop_filter("refused by §3", |s| !valid_client_id(s))
            .prop_map(|s| Some(js(&s))),
        (129usize..400).prop_map(|n| Some(js(&"c".repeat(n)))),
    ]
}

fn bad_base64() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        Just(None),
        prop::sample::select(vec![
            "null",
            "\"\"",
            "1",
            "[]",
            "{}",
            "\"Q\"",
            "\"QQQQQ\"",
            "\"====\"",
            "\"QQ=Q\"",
            "\"QQ==QQ==\"",
            "\"QQ===\"",
            "\"@@@@\"",
            "\"ＱＱ==\"",
            "\"QQ\\u0000=\"",
            "\"Q.Q=\"",
        ])
        .prop_map(|s| Some(s.to_owned())),
        // a valid prefix followed by a character outside both alphabets (and not `=`)
        ("[A-Za-z0-9+/]{0,16}", "[!-*,.:;<>?@\\[-^`{-~]")
            .prop_map(|(a, b)| Some(js(&format!("{a}{b}")))),
    ]
}

fn bad_offset() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        Just(None),
        prop::sample::select(vec![
            "null",
            "\"1\"",
            "1.5",
            "-1",
            "100000",
            "true",
            "[]",
            "\"\"",
            "1e300",
            "99999999999999999999999",
        ])
        .prop_map(|s| Some(s.to_owned())),
        (100_000u64..u64::MAX).prop_map(|n| Some(n.to_string())),
        (i64::MIN..0).prop_map(|n| Some(n.to_string())),
    ]
}

/// A chunk body with at least one field refused by §3, or one for a verified `clientId`.
fn invalid_chunk() -> impl Strategy<Value = String> {
    (
        0..4usize,
        (
            bad_base64(),
            prop_oneof![
                Just(Some("\"QQ==\"".to_owned())),
                json_junk().prop_map(Some)
            ],
        ),
        (
            bad_offset(),
            prop_oneof![
                (0u64..5).prop_map(|n| Some(n.to_string())),
                json_junk().prop_map(Some)
            ],
        ),
        (
            bad_client_id(),
            prop_oneof![
                Just(Some(js("new-x"))),
                tricky_name().prop_map(|s| Some(js(&s)))
            ],
        ),
    )
        .prop_map(|(which, chunk, offset, client)| {
            let pick = |i: usize, (bad, any): (Option<String>, Option<String>)| {
                if i == which {
                    bad
                } else {
                    any
                }
            };
            let client_id = if which == 3 {
                // every field fine, but `done-a` is already verified
                Some(js("done-a"))
            } else {
                pick(2, client)
            };
            let (chunk, offset) = if which == 3 {
                (Some("\"QQ==\"".into()), Some("0".into()))
            } else {
                (pick(0, chunk), pick(1, offset))
            };
            object(&[
                ("chunk", chunk),
                ("offset", offset),
                ("clientId", client_id),
            ])
        })
}

/// A verify body refused by §4: a bad field, missing chunks, or a verified id. (A wrong hash
/// alone is left out: the engine records the mismatch on the upload, see
/// docs/reliability.md, "Hostile input".)
fn invalid_verify() -> impl Strategy<Value = String> {
    (0..10usize, json_junk(), tricky_name(), "[0-9a-f]{64}").prop_map(
        |(fault, junk, name, hash)| {
            let mut fields: Vec<(&str, Option<String>)> = vec![
                ("total", Some("1".into())),
                ("size", Some("7".into())),
                ("mimeType", Some(js("text/plain"))),
                (
                    "fileName",
                    Some(js(if name.is_empty() { "n" } else { &name })),
                ),
                ("clientId", Some(js("collect-a"))),
                ("fileHash", Some(js(&hash))),
                ("type", Some(js("message"))),
            ];
            match fault {
                0 => {
                    fields[0].1 = Some(["0", "-1", "100001", "1.5", "\"1\""][hash.len() % 5].into())
                }
                1 => fields[1].1 = Some("0".into()),
                2 => fields[2].1 = None,
                3 => fields[3].1 = Some(js(&"n".repeat(256))),
                4 => fields[4].1 = Some(js("../collect-a")),
                5 => fields[5].1 = Some("\"\"".into()),
                6 => fields.push(("metaData", Some(r#"{"width":"wide"}"#.into()))),
                // chunk 1 never arrived
                7 => fields[0].1 = Some("2".into()),
                // already verified
                8 => fields[4].1 = Some(js("done-a")),
                // a wrong type for a field, whatever the junk is, unless it happens to fit
                _ => {
                    fields[6].1 = Some(if junk.starts_with('"') {
                        "7".into()
                    } else {
                        junk
                    })
                }
            }
            object(&fields)
        },
    )
}

fn strategy(ids: Ids) -> impl Strategy<Value = Hostile> {
    let base = prop::sample::select(vec!["/api/upload", "/api/uploads"]);
    let user = || Hostile::new("GET", "/").header("accesstoken", USER_TOKEN);
    let as_me = move |method: &'static str, path: String| {
        let mut h = user();
        h.method = method;
        h.path = path;
        h
    };
    let foreign_file = prop::sample::select(vec![
        ids.bob_file.to_string(),
        "999999".into(),
        "99999999999999999999999".into(),
    ]);
    let foreign_client = prop_oneof![
        Just("done-b".to_owned()),
        Just("collect-b".to_owned()),
        Just("nobody".to_owned()),
        tricky_name()
            .prop_filter("a segment", |s| !matches!(s.as_str(), "" | "." | ".."))
            .prop_map(|s| seg(&s)),
    ];
    let file = ids.file;
    prop_oneof![
        (base.clone(), invalid_chunk()).prop_map(move |(b, body)| as_me(
            "POST",
            format!("{b}/files")
        )
        .json_text(body)),
        (base.clone(), invalid_verify()).prop_map(move |(b, body)| as_me(
            "POST",
            format!("{b}/files/verify")
        )
        .json_text(body)),
        (base.clone(), not_an_object(), prop::bool::ANY).prop_map(move |(b, body, verify)| {
            let path = if verify {
                format!("{b}/files/verify")
            } else {
                format!("{b}/files")
            };
            as_me("POST", path)
                .header("content-type", "application/json")
                .body(body)
        }),
        // bodies over max_json_bytes, with and without Content-Length (413)
        (base.clone(), 4097usize..12_000).prop_map(move |(b, n)| {
            as_me("POST", format!("{b}/files")).json_text(format!(
                r#"{{"chunk":"{}","offset":0,"clientId":"big"}}"#,
                "QUFB".repeat(n / 4 + 1)
            ))
        }),
        // unknown, foreign and verified ids (404)
        (base.clone(), foreign_file, foreign_client, 0..4usize).prop_map(
            move |(b, f, c, route)| match route {
                0 => as_me("GET", format!("{b}/files/{f}")),
                1 => as_me("GET", format!("/uploads/files/{c}")),
                2 => as_me("GET", format!("{b}/files/check/{c}")),
                _ => as_me("GET", format!("{b}/files/check/done-a")),
            }
        ),
        // no, empty or garbage credentials (401, plain text)
        (
            base,
            prop_oneof![
                Just(None),
                Just(Some(("accesstoken", String::new()))),
                garbage_token().prop_map(|t| Some(("accesstoken", t))),
                garbage_token().prop_map(|t| Some(("cookie", format!("accesstoken={}", seg(&t))))),
                Just(Some(("authorization", format!("Bearer {USER_TOKEN}")))),
            ],
            0..5usize,
        )
            .prop_map(move |(b, cred, route)| {
                let (method, path) = match route {
                    0 => ("POST", format!("{b}/files")),
                    1 => ("POST", format!("{b}/files/verify")),
                    2 => ("GET", format!("{b}/files/{file}")),
                    3 => ("GET", "/uploads/files/done-a".to_owned()),
                    _ => ("GET", format!("{b}/files/check/collect-a")),
                };
                let h = Hostile::new(method, path)
                    .json_text(r#"{"chunk":"QQ==","offset":0,"clientId":"new-y"}"#);
                match cred {
                    Some((name, value)) => h.header(name, value),
                    None => h,
                }
            }),
    ]
}

#[test]
fn hostile_requests_get_a_spika_4xx_and_change_nothing() {
    let rt = runtime();
    let app = spawn(&rt, |s| s.dialects.spika.max_json_bytes = 4096);
    let ids = rt.block_on(arrange(&app));
    run_hostile("spika", &rt, &app, Format::Spika, strategy(ids));
}
