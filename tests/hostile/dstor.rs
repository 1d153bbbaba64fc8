//! Hostile input for dStor (specs/dstor.md): bad `x-expiration`s, invalid get-token bodies and
//! folder paths, upload requests with traversal in their filenames, path conflicts, broken or
//! truncated multipart, oversized bodies, extra requests, unknown and foreign upload tokens,
//! gateway paths that try to climb out of a folder, garbage credentials. Every answer must be a
//! 4xx `{"message":...}` and leave the store unchanged.

use crate::gen::*;
use crate::helpers::{TestApp, OTHER_TOKEN, USER_TOKEN};
use crate::support::*;
use proptest::prelude::*;

#[derive(Clone, Debug)]
struct Ids {
    /// alice's upload: 2 requests declared, one sent (`a.txt`).
    open: String,
    /// alice's finished upload of `done/d.txt`.
    done: String,
    file_cid: String,
    folder_cid: String,
    bob: String,
}

fn bearer(token: &str) -> Option<String> {
    Some(format!("Bearer {token}"))
}

async fn get_token(app: &TestApp, token: &str, n: u32, folder: &str) -> String {
    let h = Hostile::new("POST", "/v1/upload/get-token/")
        .maybe_header("authorization", bearer(token))
        .json_text(format!(
            r#"{{"chunks_number":{n},"folder_path":"{folder}"}}"#
        ));
    let (status, v) = call(app, h).await;
    assert_eq!(status, 200, "{v}");
    v["token"].as_str().unwrap().to_owned()
}

async fn upload(app: &TestApp, upload: &str, name: &str, data: &[u8]) {
    let h = Hostile::new("POST", "/v1/upload/")
        .maybe_header("authorization", bearer(USER_TOKEN))
        .header("x-dstor-upload-token", upload)
        .header("content-type", multipart_type())
        .body(multipart(&[Part::file("file", name, data.to_vec())]));
    let (status, v) = call(app, h).await;
    assert_eq!(status, 200, "{v}");
}

async fn arrange(app: &TestApp) -> Ids {
    let open = get_token(app, USER_TOKEN, 2, "f").await;
    upload(app, &open, "a.txt", b"first").await;
    let done = get_token(app, USER_TOKEN, 1, "done").await;
    upload(app, &done, "d.txt", b"done").await;
    let status = || async {
        let h = Hostile::new("GET", "/v1/upload/get-status/")
            .maybe_header("authorization", bearer(USER_TOKEN))
            .header("x-dstor-upload-token", done.clone());
        call(app, h).await.1
    };
    eventually(|| async { status().await["status"] == "DONE" }).await;
    let data = status().await["data"].clone();
    Ids {
        open,
        done: done.clone(),
        file_cid: data[0]["Hash"].as_str().unwrap().to_owned(),
        folder_cid: data[1]["Hash"].as_str().unwrap().to_owned(),
        bob: get_token(app, OTHER_TOKEN, 2, "b").await,
    }
}

fn bad_chunks_number() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        Just(None),
        prop::sample::select(vec![
            "null",
            "0",
            "-1",
            "10001",
            "1.5",
            "\"abc\"",
            "\"1.5\"",
            "\"-1\"",
            "true",
            "[]",
            "{}",
            "\"\"",
            "99999999999999999999",
            "1e400",
        ])
        .prop_map(|s| Some(s.to_owned())),
        (10_001u64..u64::MAX).prop_map(|n| Some(n.to_string())),
    ]
}

/// A path §4/§5 refuses whatever surrounds it: a `.` or `..` segment, NUL or `\` in a
/// segment, a segment over 255 bytes.
fn bad_segment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("..".to_owned()),
        Just(".".to_owned()),
        "[a-z]{0,4}".prop_map(|s| format!("{s}\0x")),
        "[a-z]{0,4}".prop_map(|s| format!("{s}\\..")),
        (256usize..400).prop_map(|n| "s".repeat(n)),
    ]
}

fn bad_folder_path() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        Just(None),
        prop::sample::select(vec!["null", "1", "[]", "{}", "true"])
            .prop_map(|s| Some(s.to_owned())),
        ("[a-z]{0,5}", bad_segment(), "[a-z]{0,5}")
            .prop_map(|(a, bad, b)| Some(js(&format!("{a}/{bad}/{b}")))),
        // over 1024 bytes once the trailing `/` is dropped
        (206usize..400).prop_map(|n| Some(js(&"abcd/".repeat(n)))),
    ]
}

/// A filename §5 step 8 refuses: a bad segment anywhere, an empty inner segment, or nothing
/// left after stripping leading `./` and `/`.
fn bad_filename() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        // A non-empty first segment: leading `./` and `/` are stripped (browser folder drops).
        ("[a-z]{1,5}", bad_segment(), "[a-z]{1,5}")
            .prop_map(|(a, bad, b)| format!("{a}/{bad}/{b}").into_bytes()),
        ("[a-z]{1,5}", "[a-z]{1,5}").prop_map(|(a, b)| format!("{a}//{b}").into_bytes()),
        prop::sample::select(vec!["/", "./", "././/", "dir/", "../x", "a/..", "x\\y"])
            .prop_map(|s| s.as_bytes().to_vec()),
    ]
}

fn strategy(ids: Ids) -> impl Strategy<Value = Hostile> {
    let me = bearer(USER_TOKEN);
    let slash = prop::sample::select(vec!["", "/"]);
    let (m1, m2, m3, m4, m5) = (me.clone(), me.clone(), me.clone(), me.clone(), me.clone());
    let open = ids.open.clone();
    let (o1, o2, o3) = (open.clone(), open.clone(), open.clone());
    let foreign_token = prop_oneof![
        Just(ids.bob.clone()),
        Just("Xb7Kp2QmZr9TtW4cLs8NvY1aHd6FgJ3e".to_owned()),
        tricky_name().prop_filter("sendable", |s| {
            !s.is_empty() && s.bytes().all(|b| (0x20..0x7f).contains(&b))
        }),
    ];
    let folder_cid = ids.folder_cid.clone();
    let done = ids.done.clone();
    prop_oneof![
        // temp-token with an x-expiration that is not a future unix time (400)
        (
            prop::sample::select(vec![
                "0",
                "1",
                "-5",
                "1677336539.123",
                "abc",
                "NaN",
                "inf",
                "-inf",
                "1e400",
                "",
                "0x7fffffff",
                "1_999_999_999",
                "99e99x",
                "１９９９９９９９９９",
            ]),
            slash.clone()
        )
            .prop_map(
                |(exp, s)| Hostile::new("GET", format!("/v1/dev/temp-token{s}"))
                    .header("api-key", USER_TOKEN)
                    .header("x-expiration", exp)
            ),
        // get-token with a bad chunks_number or folder_path (400)
        (
            prop::bool::ANY,
            bad_chunks_number(),
            prop_oneof![
                Just(Some(js("ok"))),
                tricky_name().prop_map(|s| Some(js(&s)))
            ],
            bad_folder_path(),
            slash.clone(),
        )
            .prop_map(move |(bad_count, count, any_folder, bad_folder, s)| {
                let (count, folder) = if bad_count {
                    (count, any_folder)
                } else {
                    (Some("1".to_owned()), bad_folder)
                };
                Hostile::new("POST", format!("/v1/upload/get-token{s}"))
                    .maybe_header("authorization", m1.clone())
                    .json_text(object(&[("chunks_number", count), ("folder_path", folder)]))
            }),
        not_an_object().prop_map({
            let me = me.clone();
            move |body| {
                Hostile::new("POST", "/v1/upload/get-token/")
                    .maybe_header("authorization", me.clone())
                    .body(body)
            }
        }),
        // an upload request with one bad filename among good ones (400, nothing counts)
        (
            bad_filename(),
            prop::bool::ANY,
            prop::sample::select(vec!["file", ""]),
            // The other file may carry any name: the bad one refuses the whole request.
            prop_oneof![Just(b"ok.txt".to_vec()), tricky_name_bytes()]
        )
            .prop_map(move |(bad, first, field, other)| {
                let other = if other.is_empty() {
                    b"ok.txt".to_vec()
                } else {
                    other
                };
                let mut parts = vec![
                    Part::file(field, other, b"fine".to_vec()),
                    Part::file(field, bad, b"evil".to_vec()),
                ];
                if first {
                    parts.reverse();
                }
                Hostile::new("POST", "/v1/upload/")
                    .maybe_header("authorization", m2.clone())
                    .header("x-dstor-upload-token", o1.clone())
                    .header("content-type", multipart_type())
                    .body(multipart(&parts))
            }),
        // conflicts, no files, not multipart, broken multipart, too big, an extra request
        (0..6usize, mangle(), 4097usize..9000).prop_map(move |(fault, m, big)| {
            let good = || Part::file("file", "b.txt", b"fine".to_vec());
            let (token, ct, body) = match fault {
                // `a.txt` is a file of this upload: it cannot be a folder too
                0 => {
                    let parts = [Part::file("file", "a.txt/b", b"x".to_vec())];
                    (o2.clone(), multipart_type(), multipart(&parts))
                }
                1 => {
                    let parts = [
                        Part::field("file", "no filename"),
                        Part::file("file", "", b"x".to_vec()),
                    ];
                    (o2.clone(), multipart_type(), multipart(&parts))
                }
                2 => (
                    o2.clone(),
                    "application/octet-stream".to_owned(),
                    b"fine".to_vec(),
                ),
                3 => {
                    let (ct, body) = mangled(&[good()], &m);
                    (o2.clone(), ct, body)
                }
                4 => {
                    let parts = [Part::file("file", "big.bin", vec![0u8; big])];
                    (o2.clone(), multipart_type(), multipart(&parts))
                }
                _ => (done.clone(), multipart_type(), multipart(&[good()])),
            };
            Hostile::new("POST", "/v1/upload/")
                .maybe_header("authorization", m3.clone())
                .header("x-dstor-upload-token", token)
                .header("content-type", ct)
                .body(body)
        }),
        // a missing, unknown or foreign upload token (400 / 404)
        (
            prop::option::of(foreign_token),
            prop::bool::ANY,
            slash.clone()
        )
            .prop_map(move |(token, status, s)| {
                let h = if status {
                    Hostile::new("GET", format!("/v1/upload/get-status{s}"))
                } else {
                    Hostile::new("POST", format!("/v1/upload{s}"))
                        .header("content-type", multipart_type())
                        .body(multipart(&[Part::file("file", "x.txt", b"x".to_vec())]))
                };
                h.maybe_header("authorization", m4.clone())
                    .maybe_header("x-dstor-upload-token", token)
            }),
        // the gateway: unknown CIDs, a folder without a path, paths that are not in it (404)
        (
            prop_oneof![
                Just(ids.folder_cid.clone()),
                Just("QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH".to_owned()),
                Just(format!("{}x", ids.file_cid)),
                "[1-9A-HJ-NP-Za-km-z]{46}",
            ],
            prop::collection::vec(
                tricky_name().prop_filter("a segment", |s| !matches!(s.as_str(), "" | "." | "..")),
                0..3
            ),
        )
            .prop_map(move |(cid, path)| {
                let rest: Vec<String> = path.iter().map(|p| seg(p)).collect();
                let cid = if rest.is_empty() {
                    cid
                } else {
                    folder_cid.clone()
                };
                let mut url = format!("/ipfs/{cid}");
                for r in rest {
                    url.push('/');
                    url.push_str(&r);
                }
                Hostile::new("GET", url).maybe_header("authorization", m5.clone())
            }),
        // no or garbage credentials (401)
        (prop::option::of(garbage_token()), 0..4usize, slash,).prop_map(
            move |(token, route, s)| {
                let h = match route {
                    0 => Hostile::new("GET", format!("/v1/dev/temp-token{s}"))
                        .maybe_header("api-key", token),
                    1 => Hostile::new("POST", format!("/v1/upload/get-token{s}"))
                        .json_text(r#"{"chunks_number":1,"folder_path":"x"}"#)
                        .maybe_header("authorization", token.map(|t| format!("Bearer {t}"))),
                    2 => Hostile::new("GET", format!("/v1/upload/get-status{s}"))
                        .header("x-dstor-upload-token", o3.clone())
                        .maybe_header("authorization", token.map(|t| format!("Bearer {t}"))),
                    _ => Hostile::new("POST", format!("/v1/upload{s}"))
                        .header("x-dstor-upload-token", o3.clone())
                        .header("content-type", multipart_type())
                        .body(multipart(&[Part::file("file", "x.txt", b"x".to_vec())]))
                        .maybe_header("authorization", token.map(|t| format!("Bearer {t}"))),
                };
                h
            }
        ),
    ]
}

#[test]
fn hostile_requests_get_a_dstor_4xx_and_change_nothing() {
    let rt = runtime();
    let app = spawn(&rt, |s| s.dialects.dstor.max_request_bytes = 4096);
    let ids = rt.block_on(arrange(&app));
    run_hostile("dstor", &rt, &app, Format::Dstor, strategy(ids));
}
