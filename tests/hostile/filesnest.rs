//! Hostile input for FilesNest (specs/filesnest.md): invalid creates and updates, chunks with
//! the wrong content type or too big, unknown and foreign ids, bad searches, garbage tokens.
//! Every answer must be a 4xx `{"message":...}` and leave the store unchanged.

use crate::gen::*;
use crate::helpers::{TestApp, OTHER_TOKEN, USER_TOKEN};
use crate::support::*;
use proptest::prelude::*;
use serde_json::Value;

/// Ids the generators aim at: alice's open file (two uploads, one filled), her completed
/// file, and bob's file.
#[derive(Clone, Debug)]
struct Ids {
    open: u64,
    open_uploads: Vec<u64>,
    done: u64,
    bob: u64,
    bob_upload: u64,
}

fn bearer(token: &str) -> Option<String> {
    Some(format!("Bearer {token}"))
}

async fn create(app: &TestApp, token: &str, name: &str, checksum: &str, n: u64) -> Value {
    let body = format!(
        r#"{{"name":{},"create_datetime":"2024-01-15 10:30:00","checksum":{},"chunks_count":{n}}}"#,
        js(name),
        js(checksum)
    );
    let h = Hostile::new("POST", "/api/files")
        .maybe_header("authorization", bearer(token))
        .json_text(body);
    let (status, v) = call(app, h).await;
    assert_eq!(status, 201, "{v}");
    v["data"].clone()
}

async fn put_chunk(app: &TestApp, file: u64, upload: u64, data: &[u8]) {
    let h = Hostile::new("PUT", format!("/api/files/{file}/uploads/{upload}"))
        .maybe_header("authorization", bearer(USER_TOKEN))
        .header("content-type", "application/octet-stream")
        .body(data.to_vec());
    assert_eq!(call(app, h).await.0, 200);
}

async fn arrange(app: &TestApp) -> Ids {
    let ids = |v: &Value| -> Vec<u64> {
        v["uploads"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["id"].as_u64().unwrap())
            .collect()
    };
    let open = create(app, USER_TOKEN, "open.jpg", &"ab".repeat(32), 2).await;
    put_chunk(app, open["id"].as_u64().unwrap(), ids(&open)[0], b"first").await;
    let sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(b"done"));
    let done = create(app, USER_TOKEN, "done.txt", &sha, 1).await;
    let done_id = done["id"].as_u64().unwrap();
    put_chunk(app, done_id, ids(&done)[0], b"done").await;
    eventually(|| async {
        let h = Hostile::new("GET", format!("/api/files/{done_id}"))
            .maybe_header("authorization", bearer(USER_TOKEN));
        call(app, h).await.1["data"]["status_name"] == "completed"
    })
    .await;
    let bob = create(app, OTHER_TOKEN, "bob.jpg", "", 1).await;
    Ids {
        open: open["id"].as_u64().unwrap(),
        open_uploads: ids(&open),
        done: done_id,
        bob: bob["id"].as_u64().unwrap(),
        bob_upload: ids(&bob)[0],
    }
}

/// Values that fail `name` for certain (§4): absent, null, not a string, too long, blank,
/// or the name of another file of the principal.
fn bad_name() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        Just(None),
        prop::sample::select(vec![
            "null", "1", "true", "[]", "{}", "1.5", "\"   \"", "\"\""
        ])
        .prop_map(|s| Some(s.to_owned())),
        (256usize..2000).prop_map(|n| Some(js(&"x".repeat(n)))),
        // Taken by another file of alice's (trimmed first); "open.jpg" would be the updated
        // file's own name, which is allowed.
        Just(Some(js("  done.txt  "))),
    ]
}

fn bad_datetime() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        Just(None),
        prop::sample::select(vec![
            "2024-02-30 10:00:00",
            "2023-02-29 10:00:00",
            "2024-13-01 00:00:00",
            "2024-01-15 24:00:00",
            "2024-01-15T10:30:00",
            "2024-01-15 10:30:00Z",
            "2024-1-15 10:30:00",
            "99999-01-15 10:30:00",
            "２０２４-01-15 10:30:00",
        ])
        .prop_map(|s| Some(js(s))),
        prop::sample::select(vec!["null", "20240115", "true", "[]"]).prop_map(|s| Some(s.into())),
        tricky_name().prop_map(|s| Some(js(&s))),
    ]
}

fn bad_count() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        Just(None),
        prop::sample::select(vec![
            "null",
            "0",
            "-0",
            "-1",
            "1.5",
            "\"1.5\"",
            "\"abc\"",
            "\" \"",
            "\"-3\"",
            "\"１\"",
            "true",
            "[]",
            "{}",
            "10001",
            "99999999999999999999999999",
            "-99999999999999999999999999",
            "1e400",
        ])
        .prop_map(|s| Some(s.to_owned())),
        (10_001i64..i64::MAX).prop_map(|n| Some(n.to_string())),
        (i64::MIN..0).prop_map(|n| Some(n.to_string())),
    ]
}

fn bad_checksum() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        prop::sample::select(vec!["1", "true", "[]", "{}", "1.5"]).prop_map(|s| Some(s.into())),
        (256usize..1000).prop_map(|n| Some(js(&"f".repeat(n)))),
    ]
}

/// Any value for a field: valid, junk or hostile. Only values that parse: a body that is not
/// JSON counts as `{}` (§4), which is a valid update.
fn anything(valid: &'static str) -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        Just(Some(valid.to_owned())),
        Just(None),
        json_junk()
            .prop_filter("parses", |s| serde_json::from_str::<Value>(s).is_ok())
            .prop_map(Some),
        tricky_name().prop_map(|s| Some(js(&s))),
    ]
}

/// A create or update body with at least one field that fails §4.
fn invalid_fields(with_count: bool) -> impl Strategy<Value = String> {
    let bad = if with_count { 0..4usize } else { 0..3usize };
    (
        bad,
        (bad_name(), anything("\"fine.jpg\"")),
        (bad_datetime(), anything("\"2024-01-15 10:30:00\"")),
        (bad_checksum(), anything("null")),
        (bad_count(), anything("2")),
    )
        // An update may leave any field out, so there an absent "bad" value is JSON `null`,
        // which fails `name` and `create_datetime` as "required".
        .prop_map(move |(which, name, dt, ck, cc)| {
            let pick = |i: usize, (bad, any): (Option<String>, Option<String>)| {
                if i != which {
                    any
                } else if with_count {
                    bad
                } else {
                    bad.or_else(|| Some("null".into()))
                }
            };
            let mut fields = vec![
                ("name", pick(0, name)),
                ("create_datetime", pick(1, dt)),
                ("checksum", pick(2, ck)),
            ];
            if with_count {
                fields.push(("chunks_count", pick(3, cc)));
            }
            object(&fields)
        })
}

fn wrong_chunk_type() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        Just(None),
        prop::sample::select(vec![
            "application/octet-stream; charset=binary",
            "Application/Octet-Stream",
            "application/json",
            "text/plain",
            "multipart/form-data; boundary=x",
            "",
        ])
        .prop_map(|s| Some(s.to_owned())),
    ]
}

fn strategy(ids: Ids) -> impl Strategy<Value = Hostile> {
    let me = bearer(USER_TOKEN);
    let (open, done, bob, bob_up) = (ids.open, ids.done, ids.bob, ids.bob_upload);
    let open_up = ids.open_uploads.clone();
    // Files alice cannot reach, and (file, upload) pairs she cannot: bob's, unknown, mixed,
    // overflowing.
    let foreign_file = prop::sample::select(vec![
        bob.to_string(),
        "999999".into(),
        "99999999999999999999999".into(),
        "0".into(),
        "007".into(),
    ]);
    let foreign_pair = prop::sample::select(vec![
        (bob.to_string(), bob_up.to_string()),
        (open.to_string(), bob_up.to_string()),
        (bob.to_string(), open_up[0].to_string()),
        ("999999".into(), open_up[0].to_string()),
        (open.to_string(), "999999".into()),
        (done.to_string(), open_up[0].to_string()),
        (open.to_string(), "18446744073709551616".into()),
    ]);
    let auth = {
        let me = me.clone();
        prop_oneof![
            Just(None),
            garbage_token().prop_map(|t| Some(format!("Bearer {t}"))),
            prop::sample::select(vec![
                "Bearer",
                "Bearer ",
                "Basic dGVzdDp0ZXN0",
                "Token test-user-token",
                "test-user-token",
            ])
            .prop_map(|s| Some(s.to_owned())),
        ]
        .prop_filter("not a valid credential", move |a| a != &me)
    };
    let routes = prop::sample::select(vec![
        ("POST", "/api/files".to_owned()),
        ("GET", "/api/files".to_owned()),
        ("POST", "/api/files/search".to_owned()),
        ("GET", format!("/api/files/{open}")),
        ("PATCH", format!("/api/files/{open}")),
        ("DELETE", format!("/api/files/{open}")),
        ("GET", format!("/api/files/{open}/uploads")),
        ("PUT", format!("/api/files/{open}/uploads/{}", open_up[1])),
        ("PATCH", format!("/api/files/{open}/uploads/{}", open_up[1])),
    ]);
    let m1 = me.clone();
    let m2 = me.clone();
    let m3 = me.clone();
    let m4 = me.clone();
    let m5 = me.clone();
    let m6 = me.clone();
    let up1 = open_up[1];
    prop_oneof![
        // create with an invalid field (hostile names ride along in the other fields)
        invalid_fields(true).prop_map(move |body| Hostile::new("POST", "/api/files")
            .maybe_header("authorization", m1.clone())
            .json_text(body)),
        // create / update bodies that are not objects: treated as `{}` (§4), so required
        // fields fail
        not_an_object().prop_map({
            let me = me.clone();
            move |body| {
                Hostile::new("POST", "/api/files")
                    .maybe_header("authorization", me.clone())
                    .header("content-type", "application/json")
                    .body(body)
            }
        }),
        // update with an invalid field; or any update of a completed file (400)
        (invalid_fields(false), prop::bool::ANY, prop::bool::ANY).prop_map(
            move |(body, put, completed)| {
                let id = if completed { done } else { open };
                Hostile::new(
                    if put { "PUT" } else { "PATCH" },
                    format!("/api/files/{id}"),
                )
                .maybe_header("authorization", m2.clone())
                .json_text(body)
            }
        ),
        // JSON bodies over max_json_bytes (413)
        (2049usize..6000, 0..3usize).prop_map(move |(n, route)| {
            let (method, path) = [
                ("POST", "/api/files".to_owned()),
                ("PATCH", format!("/api/files/{open}")),
                ("POST", "/api/files/search".to_owned()),
            ][route]
                .clone();
            Hostile::new(method, path)
                .maybe_header("authorization", m3.clone())
                .json_text(format!(r#"{{"name":{}}}"#, js(&"n".repeat(n))))
        }),
        // a chunk with the wrong content type (400)
        (
            wrong_chunk_type(),
            prop::collection::vec(any::<u8>(), 0..64)
        )
            .prop_map(move |(ct, body)| Hostile::new(
                "PATCH",
                format!("/api/files/{open}/uploads/{up1}")
            )
            .maybe_header("authorization", m4.clone())
            .maybe_header("content-type", ct)
            .body(body)),
        // a chunk over upload_max_size (413)
        (1025usize..4000).prop_map(move |n| Hostile::new(
            "PUT",
            format!("/api/files/{open}/uploads/{up1}")
        )
        .maybe_header("authorization", m5.clone())
        .header("content-type", "application/octet-stream")
        .body(vec![7u8; n])),
        // unknown and foreign ids on every id route (404)
        (foreign_file, foreign_pair, 0..6usize).prop_map(move |(file, (f, u), route)| {
            let (method, path) = match route {
                0 => ("GET", format!("/api/files/{file}")),
                1 => ("DELETE", format!("/api/files/{file}")),
                2 => ("PATCH", format!("/api/files/{file}")),
                3 => ("GET", format!("/api/files/{file}/uploads")),
                4 => ("GET", format!("/api/files/{f}/uploads/{u}")),
                _ => ("PUT", format!("/api/files/{f}/uploads/{u}")),
            };
            Hostile::new(method, path)
                .maybe_header("authorization", m6.clone())
                .header("content-type", "application/octet-stream")
                .body(b"zz".to_vec())
        }),
        // search filters that fail §5.5 (422)
        (
            prop::sample::select(vec![
                "1",
                "\"name\"",
                "{}",
                "[1]",
                "[{\"field\":\"id\",\"value\":\"a\"}]",
                "[{\"field\":\"name\",\"operator\":\">\",\"value\":\"a\"}]",
                "[{\"field\":\"name\"}]",
                "[{\"field\":\"name\",\"value\":1}]",
                "[{\"field\":\"../name\",\"value\":\"a\"}]",
            ]),
            tricky_name()
        )
            .prop_map({
                let me = me.clone();
                move |(filters, name)| {
                    Hostile::new("POST", "/api/files/search")
                        .maybe_header("authorization", me.clone())
                        .json_text(format!(r#"{{"filters":{filters},"q":{}}}"#, js(&name)))
                }
            }),
        // paths with no route and methods a route lacks (404 / 405)
        (
            tricky_name().prop_filter("a dot segment or nothing names the list", |n| !matches!(
                n.as_str(),
                "" | "." | ".."
            )),
            prop::sample::select(vec!["GET", "POST", "DELETE"])
        )
            .prop_map({
                let me = me.clone();
                move |(name, method)| {
                    Hostile::new(method, format!("/api/files/{}", seg(&name)))
                        .maybe_header("authorization", me.clone())
                }
            }),
        Just(Hostile::new("DELETE", "/api/settings")),
        // no or garbage credentials on every route (403)
        (auth, routes, invalid_fields(true)).prop_map(|(auth, (method, path), body)| {
            Hostile::new(method, path)
                .maybe_header("authorization", auth)
                .json_text(body)
        }),
    ]
}

#[test]
fn hostile_requests_get_a_filesnest_4xx_and_change_nothing() {
    let rt = runtime();
    let app = spawn(&rt, |s| {
        s.dialects.filesnest.upload_max_size = 1024;
        s.dialects.filesnest.max_json_bytes = 2048;
    });
    let ids = rt.block_on(arrange(&app));
    run_hostile("filesnest", &rt, &app, Format::Filesnest, strategy(ids));
}
