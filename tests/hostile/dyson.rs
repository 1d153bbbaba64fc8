//! Hostile input for Dyson (specs/dyson.md): invalid creates, bad chunk indexes, malformed and
//! truncated multipart, oversized bodies, early completes, unknown and foreign tasks and files,
//! garbage credentials in every place a credential is read. Every answer must be a 4xx ApiError
//! (or the empty 401) and leave the store unchanged.

use crate::gen::*;
use crate::helpers::{TestApp, OTHER_TOKEN, USER_TOKEN};
use crate::support::*;
use proptest::prelude::*;

#[derive(Clone, Debug)]
struct Ids {
    /// alice's open task: 3 chunks of 8 bytes, chunk 0 sent.
    task: String,
    /// alice's finished file.
    file: String,
    bob_task: String,
    bob_file: String,
}

fn at(token: &str) -> Option<String> {
    Some(format!("AtField {token}"))
}

async fn create(app: &TestApp, token: &str, size: u64, chunk: u64) -> String {
    let body = format!(
        r#"{{"hash":"x","file_name":"a.txt","file_size":{size},"content_type":"text/plain","chunk_size":{chunk}}}"#
    );
    let h = Hostile::new("POST", "/drive/files/upload/create")
        .maybe_header("authorization", at(token))
        .json_text(body);
    let (status, v) = call(app, h).await;
    assert_eq!(status, 200, "{v}");
    v["task_id"].as_str().unwrap().to_owned()
}

fn chunk_body(data: &[u8]) -> Vec<u8> {
    multipart(&[Part::file("chunk", "chunk_0", data.to_vec())])
}

async fn chunk(app: &TestApp, token: &str, task: &str, index: u32, data: &[u8]) {
    let h = Hostile::new("POST", format!("/drive/files/upload/chunk/{task}/{index}"))
        .maybe_header("authorization", at(token))
        .header("content-type", multipart_type())
        .body(chunk_body(data));
    assert_eq!(call(app, h).await.0, 200);
}

async fn finished_file(app: &TestApp, token: &str) -> String {
    let task = create(app, token, 4, 4).await;
    chunk(app, token, &task, 0, b"done").await;
    let h = Hostile::new("POST", format!("/drive/files/upload/complete/{task}"))
        .maybe_header("authorization", at(token));
    let (status, v) = call(app, h).await;
    assert_eq!(status, 200, "{v}");
    v["id"].as_str().unwrap().to_owned()
}

async fn arrange(app: &TestApp) -> Ids {
    let task = create(app, USER_TOKEN, 22, 8).await;
    chunk(app, USER_TOKEN, &task, 0, b"Hello, c").await;
    Ids {
        task,
        file: finished_file(app, USER_TOKEN).await,
        bob_task: create(app, OTHER_TOKEN, 22, 8).await,
        bob_file: finished_file(app, OTHER_TOKEN).await,
    }
}

/// For each create field (table of §4): values that certainly fail, and any value.
/// A create field: its name, values that certainly fail it, and any value.
type Field = (
    &'static str,
    BoxedStrategy<Option<String>>,
    BoxedStrategy<Option<String>>,
);

fn create_fields() -> Vec<Field> {
    let not_a_string = || {
        prop::sample::select(vec!["1", "true", "[]", "{}", "1.5"]).prop_map(|s| Some(s.to_owned()))
    };
    let required_string = || {
        prop_oneof![
            Just(None),
            Just(Some("null".to_owned())),
            Just(Some("\"\"".to_owned())),
            not_a_string()
        ]
        .boxed()
    };
    let any_string = |valid: &'static str| {
        prop_oneof![
            Just(Some(js(valid))),
            tricky_name()
                .prop_filter("not empty", |s| !s.is_empty() && s.chars().count() <= 255)
                .prop_map(|s| Some(js(&s))),
        ]
        .boxed()
    };
    let optional = |valid: &'static str| {
        prop_oneof![
            Just(None),
            Just(Some("null".to_owned())),
            Just(Some(valid.to_owned()))
        ]
        .boxed()
    };
    vec![
        ("hash", required_string(), any_string("0123")),
        (
            "file_name",
            prop_oneof![
                required_string(),
                (256usize..1200).prop_map(|n| Some(js(&"f".repeat(n))))
            ]
            .boxed(),
            any_string("a.txt"),
        ),
        (
            "file_size",
            prop_oneof![
                prop::sample::select(vec!["\"22\"", "1.5", "5.0", "-1", "true", "[]", "\"\""])
                    .prop_map(|s| Some(s.to_owned())),
                (i64::MIN..0).prop_map(|n| Some(n.to_string())),
                Just(Some("99999999999999999999999".to_owned())),
            ]
            .boxed(),
            prop_oneof![
                Just(None),
                (0u64..100_000).prop_map(|n| Some(n.to_string()))
            ]
            .boxed(),
        ),
        ("content_type", required_string(), any_string("text/plain")),
        (
            "pool_id",
            prop_oneof![
                prop::sample::select(vec![
                    "\"not-a-guid\"",
                    "1",
                    "\"0000000-0000-0000-0000-000000000000\"",
                    "\"00000000-0000-0000-0000-00000000000g\"",
                    "\"{00000000-0000-0000-0000-000000000000}\"",
                ])
                .prop_map(|s| Some(s.to_owned())),
                tricky_name().prop_map(|s| Some(js(&s))),
            ]
            .boxed(),
            optional("\"6f9619ff-8b86-d011-b42d-00c04fc964ff\""),
        ),
        (
            "encrypt_password",
            prop_oneof![
                prop::sample::select(vec!["\"\"", "1", "[]"]).prop_map(|s| Some(s.to_owned())),
                (1025usize..3000).prop_map(|n| Some(js(&"p".repeat(n)))),
            ]
            .boxed(),
            Just(None).boxed(),
        ),
        (
            "expired_at",
            prop_oneof![
                prop::sample::select(vec![
                    "\"2020-01-01T00:00:00Z\"",
                    "\"2099-01-01\"",
                    "\"2099-01-01T00:00:00+02:00\"",
                    "\"2099-13-01T00:00:00Z\"",
                    "5",
                ])
                .prop_map(|s| Some(s.to_owned())),
                tricky_name().prop_map(|s| Some(js(&s))),
            ]
            .boxed(),
            optional("\"2099-01-01T00:00:00Z\""),
        ),
        (
            "chunk_size",
            prop::sample::select(vec!["0", "-1", "67108865", "1.5", "\"8\"", "true", "8.0"])
                .prop_map(|s| Some(s.to_owned()))
                .boxed(),
            optional("8"),
        ),
    ]
}

/// A create body with at least one field that fails §4, or one needing more than
/// `max_chunks` chunks.
fn invalid_create() -> impl Strategy<Value = String> {
    let fields = create_fields();
    let n = fields.len();
    let values: Vec<_> = fields
        .into_iter()
        .map(|(name, bad, any)| (Just(name), bad, any))
        .collect();
    (0..=n, values).prop_map(move |(which, values)| {
        let mut chosen: Vec<(&str, Option<String>)> = values
            .into_iter()
            .enumerate()
            .map(|(i, (name, bad, any))| (name, if i == which { bad } else { any }))
            .collect();
        if which == n {
            // Every field may be fine, but the file needs 22 × 10⁹ chunks of 1 byte.
            chosen.retain(|(k, _)| *k != "file_size" && *k != "chunk_size");
            chosen.push(("file_size", Some("22000000000".into())));
            chosen.push(("chunk_size", Some("1".into())));
        }
        object(&chosen)
    })
}

fn bad_index() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "abc",
            "-1",
            "3",
            "4294967296",
            "2147483648",
            "99999999999999999999",
            "1.0",
            "+1",
            "0x1",
            "%201",
            "1%00",
            "%EF%BC%91",
        ])
        .prop_map(str::to_owned),
        (3u32..u32::MAX).prop_map(|n| n.to_string()),
        (i32::MIN..-1).prop_map(|n| n.to_string()),
    ]
}

fn strategy(ids: Ids) -> impl Strategy<Value = Hostile> {
    let me = at(USER_TOKEN);
    let prefix = prop::sample::select(vec!["/api", "/drive"]);
    let task = ids.task.clone();
    let foreign_task = prop_oneof![
        Just(ids.bob_task.clone()),
        Just("V1StGXR8_Z5jdHi6B-myT".to_owned()),
        tricky_name()
            .prop_filter("a segment", |s| !matches!(s.as_str(), "" | "." | ".."))
            .prop_map(|s| seg(&s)),
    ];
    let foreign_file = prop_oneof![
        Just(ids.bob_file.clone()),
        Just("Hk2v9QxLr0_aTz7YpWmEc".to_owned()),
        tricky_name()
            .prop_filter("a segment with a non-digit", |s| {
                !matches!(s.as_str(), "." | "..") && !s.chars().all(|c| c.is_ascii_digit())
            })
            .prop_map(|s| seg(&s)),
    ];
    // Each place a credential is read (§2), holding garbage; or a valid token under a scheme
    // that does not count.
    let bad_auth = prop_oneof![
        Just(("none", String::new())),
        garbage_token().prop_map(|t| ("tk", t)),
        garbage_token().prop_map(|t| ("bearer", t)),
        garbage_token().prop_map(|t| ("atfield", t)),
        garbage_token().prop_map(|t| ("cookie", t)),
        Just(("basic", USER_TOKEN.to_owned())),
    ];
    let (m1, m2, m3, m4, m5, m6) = (
        me.clone(),
        me.clone(),
        me.clone(),
        me.clone(),
        me.clone(),
        me.clone(),
    );
    let (t2, t3, t4, t5) = (task.clone(), task.clone(), task.clone(), task.clone());
    let file = ids.file.clone();
    prop_oneof![
        (prefix.clone(), invalid_create()).prop_map(move |(p, body)| Hostile::new(
            "POST",
            format!("{p}/files/upload/create")
        )
        .maybe_header("authorization", m1.clone())
        .json_text(body)),
        (prefix.clone(), not_an_object()).prop_map(move |(p, body)| Hostile::new(
            "POST",
            format!("{p}/files/upload/create")
        )
        .maybe_header("authorization", m2.clone())
        .body(body)),
        // a create body over max_json_bytes (413)
        (prefix.clone(), 4097usize..9000).prop_map({
            let me = me.clone();
            move |(p, n)| {
                Hostile::new("POST", format!("{p}/files/upload/create"))
                    .maybe_header("authorization", me.clone())
                    .json_text(format!(r#"{{"hash":{}}}"#, js(&"h".repeat(n))))
            }
        }),
        (prefix.clone(), bad_index()).prop_map(move |(p, index)| Hostile::new(
            "POST",
            format!("{p}/files/upload/chunk/{t2}/{index}")
        )
        .maybe_header("authorization", m3.clone())
        .header("content-type", multipart_type())
        .body(chunk_body(b"zzzzzzzz"))),
        // a chunk request without a usable `chunk` part, or broken multipart
        (
            prefix.clone(),
            0u32..3,
            prop_oneof![mangle().prop_map(Some), Just(None),],
            prop::sample::select(vec!["chunk", "Chunk", "chunk ", "file", ""]),
            prop::collection::vec(any::<u8>(), 0..64),
        )
            .prop_map(move |(p, index, m, name, data)| {
                let (ct, body) = match m {
                    Some(m) => mangled(&[Part::file("chunk", "c", data)], &m),
                    None if name == "chunk" => ("application/octet-stream".to_owned(), data),
                    None => (multipart_type(), multipart(&[Part::file(name, "c", data)])),
                };
                Hostile::new("POST", format!("{p}/files/upload/chunk/{t3}/{index}"))
                    .maybe_header("authorization", m4.clone())
                    .header("content-type", ct)
                    .body(body)
            }),
        // a chunk body over chunk_size + 1 MiB (413)
        (prefix.clone(), 1u64..200).prop_map(move |(p, extra)| {
            let data = vec![b'x'; (8 + 1_048_576 + extra) as usize];
            Hostile::new("POST", format!("{p}/files/upload/chunk/{t4}/1"))
                .maybe_header("authorization", m5.clone())
                .header("content-type", multipart_type())
                .body(chunk_body(&data))
        }),
        // completing while chunks 1 and 2 are missing (400 CHUNK_MISSING)
        prefix.clone().prop_map(move |p| Hostile::new(
            "POST",
            format!("{p}/files/upload/complete/{t5}")
        )
        .maybe_header("authorization", m6.clone())),
        // unknown and foreign tasks and files (404)
        (prefix.clone(), foreign_task, foreign_file, 0..4usize).prop_map({
            let me = me.clone();
            move |(p, task, file, route)| {
                let (method, path) = match route {
                    0 => ("POST", format!("{p}/files/upload/chunk/{task}/0")),
                    1 => ("POST", format!("{p}/files/upload/complete/{task}")),
                    2 => ("GET", format!("{p}/files/{file}")),
                    _ => ("HEAD", format!("{p}/files/{file}")),
                };
                Hostile::new(method, path)
                    .maybe_header("authorization", me.clone())
                    .header("content-type", multipart_type())
                    .body(if method == "HEAD" {
                        Vec::new()
                    } else {
                        chunk_body(b"x")
                    })
            }
        }),
        // no or garbage credentials on every route (401, empty)
        (prefix, bad_auth, 0..5usize).prop_map(move |(p, (place, token), route)| {
            let (method, path) = match route {
                0 => ("POST", format!("{p}/files/upload/create")),
                1 => ("POST", format!("{p}/files/upload/chunk/{task}/1")),
                2 => ("POST", format!("{p}/files/upload/complete/{task}")),
                3 => ("GET", format!("{p}/files/{file}")),
                _ => ("HEAD", format!("{p}/files/{file}")),
            };
            let mut h = Hostile::new(method, path.clone());
            match place {
                "tk" => h.path = format!("{path}?tk={}", seg(&token)),
                "bearer" => h = h.header("authorization", format!("Bearer {token}")),
                "atfield" => h = h.header("authorization", format!("AtField {token}")),
                "cookie" => h = h.header("cookie", format!("AuthToken={}", seg(&token))),
                "basic" => h = h.header("authorization", format!("Basic {token}")),
                _ => {}
            }
            if method == "POST" {
                h = h.json_text(r#"{"hash":"x","file_name":"a","content_type":"t"}"#);
            }
            h
        }),
    ]
}

#[test]
fn hostile_requests_get_a_dyson_4xx_and_change_nothing() {
    let rt = runtime();
    let app = spawn(&rt, |s| s.dialects.dyson.max_json_bytes = 4096);
    let ids = rt.block_on(arrange(&app));
    run_hostile("dyson", &rt, &app, Format::Dyson, strategy(ids));
}
