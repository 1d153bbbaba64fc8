//! The authorization matrix (issue 9, group 8): every route of every dialect and of the
//! operator API, asked with no credential, a bad one, another principal's and the owner's,
//! gets the status its spec gives; and another principal's id answers exactly like an unknown
//! id (same status, same body once the id is masked), so existence never leaks.

use crate::gen::{multipart, multipart_type, Part};
use crate::helpers::{TestApp, ADMIN_TOKEN, OTHER_TOKEN, USER_TOKEN};
use crate::support::*;
use serde_json::Value;
use std::io::Write;

/// Where a route reads its credential.
#[derive(Clone, Copy, Debug)]
enum Cred {
    Bearer,
    AtField,
    AccessToken,
    ApiKey,
}

/// The four kinds of caller, in the order of [`Row::expect`].
const KINDS: [&str; 4] = ["none", "bad", "other", "owner"];

/// One route: a request on alice's resource and the status each caller kind gets.
struct Row {
    route: &'static str,
    method: &'static str,
    path: String,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
    cred: Cred,
    format: Format,
    /// none, bad, other principal, owner.
    expect: [u16; 4],
    /// For routes that name a resource: its id, and an unknown id to put in its place (in the
    /// path, the headers and the body) for the leak check.
    unknown: Option<(String, String)>,
}

impl Row {
    fn new(route: &'static str, cred: Cred, format: Format, expect: [u16; 4]) -> Row {
        let (method, path) = route.split_once(' ').unwrap();
        Row {
            route,
            method,
            path: path.to_owned(),
            headers: Vec::new(),
            body: Vec::new(),
            cred,
            format,
            expect,
            unknown: None,
        }
    }

    fn at(mut self, path: String) -> Row {
        self.path = path;
        self
    }

    fn header(mut self, name: &'static str, value: impl Into<String>) -> Row {
        self.headers.push((name, value.into()));
        self
    }

    fn json(self, body: &str) -> Row {
        let mut r = self.header("content-type", "application/json");
        r.body = body.as_bytes().to_vec();
        r
    }

    fn multipart(self, parts: &[Part]) -> Row {
        let mut r = self.header("content-type", multipart_type());
        r.body = multipart(parts);
        r
    }

    /// Asks for the leak check: the same request with `id` replaced by `unknown`.
    fn leak_check(mut self, id: &str, unknown: &str) -> Row {
        self.unknown = Some((id.to_owned(), unknown.to_owned()));
        self
    }

    /// The request with `token` where this route reads it, and `swap` (id → other id) applied.
    fn request(&self, swap: Option<(&str, &str)>, token: Option<&str>) -> Hostile {
        let (from, to) = swap.unwrap_or(("", ""));
        let apply = |s: &str| {
            if from.is_empty() {
                s.to_owned()
            } else {
                s.replace(from, to)
            }
        };
        let body = apply(&String::from_utf8_lossy(&self.body));
        let mut h = Hostile::new(self.method, apply(&self.path)).body(body.into_bytes());
        for (name, value) in &self.headers {
            h = h.header(name, apply(value));
        }
        let Some(t) = token else { return h };
        match self.cred {
            Cred::Bearer => h.header("authorization", format!("Bearer {t}")),
            Cred::AtField => h.header("authorization", format!("AtField {t}")),
            Cred::AccessToken => h.header("accesstoken", t),
            Cred::ApiKey => h.header("api-key", t),
        }
    }
}

/// Tokens for none, bad, other, owner (the operator API's owner is the admin token, and a
/// user token is "another principal" there).
fn tokens(row: &Row) -> [Option<&'static str>; 4] {
    if row.format == Format::Native {
        [
            None,
            Some("not-a-token"),
            Some(USER_TOKEN),
            Some(ADMIN_TOKEN),
        ]
    } else {
        [
            None,
            Some("not-a-token"),
            Some(OTHER_TOKEN),
            Some(USER_TOKEN),
        ]
    }
}

async fn ok(app: &TestApp, h: Hostile, status: u16) -> Value {
    let (s, v) = call(app, h.clone()).await;
    assert_eq!(s, status, "arranging {h:?}: {v}");
    v
}

fn bearer(method: &'static str, path: String, token: &str) -> Hostile {
    Hostile::new(method, path).header("authorization", format!("Bearer {token}"))
}

async fn filesnest_rows(app: &TestApp) -> Vec<Row> {
    let create = |name: &str, n: u32| {
        bearer("POST", "/api/files".into(), USER_TOKEN).json_text(format!(
            r#"{{"name":"{name}","create_datetime":"2024-01-15 10:30:00","chunks_count":{n}}}"#
        ))
    };
    let f = ok(app, create("m1", 2), 201).await["data"].clone();
    let gone = ok(app, create("m2", 1), 201).await["data"]["id"].clone();
    let (id, up) = (f["id"].to_string(), f["uploads"][0]["id"].to_string());
    let (b, fmt) = (Cred::Bearer, Format::Filesnest);
    let fresh = r#"{"name":"new","create_datetime":"2024-01-15 10:30:00","chunks_count":1}"#;
    let update = r#"{"create_datetime":"2024-01-16 10:30:00"}"#;
    let chunk = |r: Row| {
        let mut r = r.header("content-type", "application/octet-stream");
        r.body = b"chunk".to_vec();
        r
    };
    vec![
        Row::new("GET /api/settings", b, fmt, [200, 200, 200, 200]),
        Row::new("POST /api/files", b, fmt, [403, 403, 201, 201]).json(fresh),
        Row::new("GET /api/files", b, fmt, [403, 403, 200, 200]),
        Row::new("POST /api/files/search", b, fmt, [403, 403, 200, 200]).json(r#"{"filters":[]}"#),
        Row::new("GET /api/files/{file_id}", b, fmt, [403, 403, 404, 200])
            .at(format!("/api/files/{id}")),
        Row::new("PATCH /api/files/{file_id}", b, fmt, [403, 403, 404, 200])
            .at(format!("/api/files/{id}"))
            .json(update),
        Row::new("PUT /api/files/{file_id}", b, fmt, [403, 403, 404, 200])
            .at(format!("/api/files/{id}"))
            .json(update),
        Row::new(
            "GET /api/files/{file_id}/uploads",
            b,
            fmt,
            [403, 403, 404, 200],
        )
        .at(format!("/api/files/{id}/uploads")),
        Row::new(
            "GET /api/files/{file_id}/uploads/{upload_id}",
            b,
            fmt,
            [403, 403, 404, 200],
        )
        .at(format!("/api/files/{id}/uploads/{up}")),
        chunk(Row::new(
            "PUT /api/files/{file_id}/uploads/{upload_id}",
            b,
            fmt,
            [403, 403, 404, 200],
        ))
        .at(format!("/api/files/{id}/uploads/{up}")),
        chunk(Row::new(
            "PATCH /api/files/{file_id}/uploads/{upload_id}",
            b,
            fmt,
            [403, 403, 404, 200],
        ))
        .at(format!("/api/files/{id}/uploads/{up}")),
        Row::new("DELETE /api/files/{file_id}", b, fmt, [403, 403, 404, 200])
            .at(format!("/api/files/{gone}")),
    ]
    .into_iter()
    .map(|r| {
        if r.path.contains(&id) {
            r.leak_check(&id, "987654")
        } else if r.path.contains(&gone.to_string()) {
            let g = gone.to_string();
            r.leak_check(&g, "987654")
        } else {
            r
        }
    })
    .collect()
}

async fn dyson_rows(app: &TestApp) -> Vec<Row> {
    let at = |method, path: String| {
        Hostile::new(method, path).header("authorization", format!("AtField {USER_TOKEN}"))
    };
    let create =
        r#"{"hash":"x","file_name":"a","file_size":4,"content_type":"text/plain","chunk_size":4}"#;
    let chunk = [Part::file("chunk", "chunk_0", b"data".to_vec())];
    let mut tasks = Vec::new();
    for _ in 0..3 {
        let v = ok(
            app,
            at("POST", "/api/files/upload/create".into()).json_text(create),
            200,
        )
        .await;
        let task = v["task_id"].as_str().unwrap().to_owned();
        let send = at("POST", format!("/api/files/upload/chunk/{task}/0"))
            .header("content-type", multipart_type())
            .body(multipart(&chunk));
        ok(app, send, 200).await;
        tasks.push(task);
    }
    let done = ok(
        app,
        at("POST", format!("/api/files/upload/complete/{}", tasks[2])),
        200,
    )
    .await;
    let file = done["id"].as_str().unwrap().to_owned();
    let (c, fmt) = (Cred::AtField, Format::Dyson);
    let unknown = "AAAAAAAAAAAAAAAAAAAAA";
    let mut rows = Vec::new();
    for (i, p) in ["/api", "/drive"].into_iter().enumerate() {
        let task = &tasks[i];
        let (create_route, chunk_route, complete_route, get_route, head_route) = if i == 0 {
            (
                "POST /api/files/upload/create",
                "POST /api/files/upload/chunk/{taskId}/{chunkIndex}",
                "POST /api/files/upload/complete/{taskId}",
                "GET /api/files/{id}",
                "HEAD /api/files/{id}",
            )
        } else {
            (
                "POST /drive/files/upload/create",
                "POST /drive/files/upload/chunk/{taskId}/{chunkIndex}",
                "POST /drive/files/upload/complete/{taskId}",
                "GET /drive/files/{id}",
                "HEAD /drive/files/{id}",
            )
        };
        rows.push(Row::new(create_route, c, fmt, [401, 401, 200, 200]).json(create));
        rows.push(
            Row::new(chunk_route, c, fmt, [401, 401, 404, 200])
                .at(format!("{p}/files/upload/chunk/{task}/0"))
                .multipart(&chunk)
                .leak_check(task, unknown),
        );
        rows.push(
            Row::new(complete_route, c, fmt, [401, 401, 404, 200])
                .at(format!("{p}/files/upload/complete/{task}"))
                .leak_check(task, unknown),
        );
        rows.push(
            Row::new(get_route, c, fmt, [401, 401, 404, 200])
                .at(format!("{p}/files/{file}"))
                .leak_check(&file, unknown),
        );
        rows.push(
            Row::new(head_route, c, fmt, [401, 401, 404, 200])
                .at(format!("{p}/files/{file}"))
                .leak_check(&file, unknown),
        );
    }
    rows
}

async fn audioboom_rows(app: &TestApp) -> Vec<Row> {
    let attach = |size: u32, data: &[u8]| {
        bearer("POST", "/attachments".into(), USER_TOKEN)
            .header("content-type", multipart_type())
            .body(multipart(&[
                Part::field("attachment[size]", size.to_string()),
                Part::file("attachment[chunk]", "a.flac", data.to_vec()),
            ]))
    };
    let open = ok(app, attach(10, b"abc"), 201).await["body"]["attachment"]["id"].to_string();
    let done = ok(app, attach(4, b"done"), 201).await["body"]["attachment"]["id"].to_string();
    let form = format!(
        "audio_clip[title]=t&audio_clip[uploaded_data][chunked_attachment_id]={done}&audio_clip[uploaded_image][chunked_attachment_id]={done}"
    );
    let clip = bearer("POST", "/audio_clips".into(), USER_TOKEN)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form.clone());
    let clip = ok(app, clip, 201).await["body"]["audio_clip"]["id"].to_string();
    let (b, fmt) = (Cred::Bearer, Format::Audioboom);
    let chunk = [
        Part::field("attachment[chunk_offset]", "0"),
        Part::file("attachment[chunk]", "c", b"abc".to_vec()),
    ];
    let consumer = |r: Row, prefix: &str| {
        let mut r = r.header("content-type", "application/x-www-form-urlencoded");
        let form = form.replace("audio_clip", prefix) + "&message[recipient_id]=5";
        r.body = form.into_bytes();
        r.leak_check(&done, "987654")
    };
    vec![
        Row::new("POST /attachments", b, fmt, [401, 401, 201, 201]).multipart(&[
            Part::field("attachment[size]", "3"),
            Part::file("attachment[chunk]", "a.flac", b"abc".to_vec()),
        ]),
        Row::new("GET /attachments/{id}", b, fmt, [401, 401, 404, 200])
            .at(format!("/attachments/{open}"))
            .leak_check(&open, "987654"),
        Row::new("PUT /attachments/{id}", b, fmt, [401, 401, 404, 200])
            .at(format!("/attachments/{open}"))
            .multipart(&chunk)
            .leak_check(&open, "987654"),
        Row::new("POST /attachments/{id}", b, fmt, [401, 401, 404, 200])
            .at(format!("/attachments/{open}"))
            .multipart(&chunk)
            .leak_check(&open, "987654"),
        consumer(
            Row::new("POST /audio_clips", b, fmt, [401, 401, 404, 201]),
            "audio_clip",
        ),
        consumer(
            Row::new("POST /account/audio_clips", b, fmt, [401, 401, 404, 201]),
            "audio_clip",
        ),
        consumer(
            Row::new(
                "POST /channels/{channel_id}/audio_clips",
                b,
                fmt,
                [401, 401, 404, 201],
            )
            .at("/channels/7/audio_clips".into()),
            "audio_clip",
        ),
        consumer(
            Row::new("POST /account/outbox", b, fmt, [401, 401, 404, 201]),
            "message",
        ),
        Row::new("GET /audio_clips/{id}", b, fmt, [401, 401, 404, 200])
            .at(format!("/audio_clips/{clip}"))
            .leak_check(&clip, "987654"),
        // Downloads answer 404 to anyone but the owner, credential or not (§6).
        Row::new("GET /audio_clips/{id}.mp3", b, fmt, [404, 404, 404, 200])
            .at(format!("/audio_clips/{clip}.mp3"))
            .leak_check(&clip, "987654"),
        Row::new("GET /audio_clips/{id}/image", b, fmt, [404, 404, 404, 200])
            .at(format!("/audio_clips/{clip}/image"))
            .leak_check(&clip, "987654"),
    ]
}

async fn spika_rows(app: &TestApp) -> Vec<Row> {
    let send = |client: &str, b64: &str| {
        Hostile::new("POST", "/api/upload/files")
            .header("accesstoken", USER_TOKEN)
            .json_text(format!(
                r#"{{"chunk":"{b64}","offset":0,"clientId":"{client}"}}"#
            ))
    };
    let hash = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(b"done"));
    let verify = |client: &str| {
        format!(
            r#"{{"total":1,"size":4,"mimeType":"text/plain","fileName":"d","clientId":"{client}","fileHash":"{hash}","type":"message"}}"#
        )
    };
    ok(app, send("collecting", "QQ=="), 200).await;
    ok(app, send("to-verify", "ZG9uZQ=="), 200).await;
    ok(app, send("verified", "ZG9uZQ=="), 200).await;
    let v = Hostile::new("POST", "/api/upload/files/verify")
        .header("accesstoken", USER_TOKEN)
        .json_text(verify("verified"));
    let id = ok(app, v, 200).await["data"]["file"]["id"].to_string();
    let (a, fmt) = (Cred::AccessToken, Format::Spika);
    vec![
        Row::new("POST /api/upload/files", a, fmt, [401, 401, 200, 200])
            .json(r#"{"chunk":"QQ==","offset":0,"clientId":"chunk-row"}"#),
        Row::new(
            "POST /api/upload/files/verify",
            a,
            fmt,
            [401, 401, 400, 200],
        )
        .json(&verify("to-verify"))
        .leak_check("to-verify", "never-seen"),
        Row::new(
            "GET /api/upload/files/check/{clientId}",
            a,
            fmt,
            [401, 401, 404, 200],
        )
        .at("/api/upload/files/check/collecting".into())
        .leak_check("collecting", "never-seen"),
        Row::new(
            "GET /api/uploads/files/check/{clientId}",
            a,
            fmt,
            [401, 401, 404, 200],
        )
        .at("/api/uploads/files/check/collecting".into())
        .leak_check("collecting", "never-seen"),
        Row::new("GET /api/upload/files/{id}", a, fmt, [401, 401, 404, 200])
            .at(format!("/api/upload/files/{id}"))
            .leak_check(&id, "987654"),
        Row::new("GET /api/uploads/files/{id}", a, fmt, [401, 401, 404, 200])
            .at(format!("/api/uploads/files/{id}"))
            .leak_check(&id, "987654"),
        Row::new(
            "GET /uploads/files/{clientId}",
            a,
            fmt,
            [401, 401, 404, 200],
        )
        .at("/uploads/files/verified".into())
        .leak_check("verified", "never-seen"),
    ]
}

/// With `public`, the gateway (`/ipfs`) reads for anyone; otherwise for the owner only.
async fn dstor_rows(app: &TestApp, public: bool) -> Vec<Row> {
    let get_token = |n: u32| {
        bearer("POST", "/v1/upload/get-token/".into(), USER_TOKEN)
            .json_text(format!(r#"{{"chunks_number":{n},"folder_path":"f"}}"#))
    };
    let open = ok(app, get_token(10), 200).await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let done = ok(app, get_token(1), 200).await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let up = bearer("POST", "/v1/upload/".into(), USER_TOKEN)
        .header("x-dstor-upload-token", done.clone())
        .header("content-type", multipart_type())
        .body(multipart(&[Part::file("file", "d.txt", b"done".to_vec())]));
    ok(app, up, 200).await;
    let status = || async {
        let h = bearer("GET", "/v1/upload/get-status/".into(), USER_TOKEN)
            .header("x-dstor-upload-token", done.clone());
        call(app, h).await.1
    };
    eventually(|| async { status().await["status"] == "DONE" }).await;
    let cid = status().await["data"][0]["Hash"]
        .as_str()
        .unwrap()
        .to_owned();
    let (b, fmt) = (Cred::Bearer, Format::Dstor);
    let unknown = "Zz9Zz9Zz9Zz9Zz9Zz9Zz9Zz9Zz9Zz9Zz";
    let rows = vec![
        Row::new(
            "GET /v1/dev/temp-token",
            Cred::ApiKey,
            fmt,
            [401, 401, 200, 200],
        ),
        Row::new("POST /v1/upload/get-token", b, fmt, [401, 401, 200, 200])
            .json(r#"{"chunks_number":1,"folder_path":"x"}"#),
        Row::new("POST /v1/upload", b, fmt, [401, 401, 404, 200])
            .header("x-dstor-upload-token", open.clone())
            .multipart(&[Part::file("file", "o.txt", b"o".to_vec())]),
        Row::new("GET /v1/upload/get-status", b, fmt, [401, 401, 404, 200])
            .header("x-dstor-upload-token", open.clone()),
    ];
    // The gateway is public by default (§2): every caller reads. With `public_gateway = false`
    // it needs the owner's Bearer; anyone else's CID is unknown to them (§8).
    let gateway = if public {
        [200; 4]
    } else {
        [401, 401, 404, 200]
    };
    let other_cid = "QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH";
    let gateway_row = |route| {
        let row = Row::new(route, b, fmt, gateway).at(format!("/ipfs/{cid}"));
        if public {
            row
        } else {
            row.leak_check(&cid, other_cid)
        }
    };
    let rows = rows.into_iter().chain([
        gateway_row("GET /ipfs/{cid}"),
        gateway_row("HEAD /ipfs/{cid}"),
    ]);
    // The upload token travels in a header; the leak check swaps it there.
    let rows = rows
        .into_iter()
        .map(|r| {
            if r.unknown.is_none() && r.headers.iter().any(|(n, _)| *n == "x-dstor-upload-token") {
                r.leak_check(&open, unknown)
            } else {
                r
            }
        })
        .collect();
    rows
}

async fn native_rows(app: &TestApp) -> Vec<Row> {
    let file = app
        .store_file("n.txt", b"native", Vec::new())
        .await
        .id
        .to_string();
    let (b, fmt) = (Cred::Bearer, Format::Native);
    vec![
        Row::new("GET /gateway/v1/files/{id}", b, fmt, [401, 401, 401, 200])
            .at(format!("/gateway/v1/files/{file}")),
        Row::new(
            "GET /gateway/v1/files/{id}/content",
            b,
            fmt,
            [401, 401, 401, 200],
        )
        .at(format!("/gateway/v1/files/{file}/content")),
        Row::new(
            "HEAD /gateway/v1/files/{id}/content",
            b,
            fmt,
            [401, 401, 401, 200],
        )
        .at(format!("/gateway/v1/files/{file}/content")),
    ]
}

/// The body of an answer with `ids` masked, for comparing answers about different ids.
fn masked(a: &Answer, ids: [&str; 2]) -> String {
    let mut text = String::from_utf8_lossy(&a.body).into_owned();
    for id in ids {
        text = text.replace(id, "{id}");
    }
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_answers_each_kind_of_caller_as_specified_and_never_leaks_existence() {
    // Arrange: one server, alice's resources on every route.
    let app = TestApp::spawn().await;
    let mut rows = filesnest_rows(&app).await;
    rows.extend(dyson_rows(&app).await);
    rows.extend(audioboom_rows(&app).await);
    rows.extend(spika_rows(&app).await);
    rows.extend(dstor_rows(&app, true).await);
    rows.extend(native_rows(&app).await);

    // Act
    let (failures, cells, leak_checks) = check(&app, &rows).await;

    // Assert
    let _ = writeln!(
        std::io::stderr(),
        "authorization matrix: {} routes × {} caller kinds = {cells} requests, plus {leak_checks} existence-leak checks",
        rows.len(),
        KINDS.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_private_dstor_gateway_serves_only_the_owner_and_never_leaks_existence() {
    let app = TestApp::spawn_with(|s| s.dialects.dstor.public_gateway = false).await;
    let rows = dstor_rows(&app, false).await;

    let (failures, _, _) = check(&app, &rows).await;

    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Asks every row as none, bad, other and owner, in that order (the owner's request may change
/// what it names, so it comes last), with the leak check after "other". Returns the failures,
/// the number of requests and the number of leak checks.
async fn check(app: &TestApp, rows: &[Row]) -> (Vec<String>, usize, usize) {
    let mut failures = Vec::new();
    let (mut cells, mut leak_checks) = (0, 0);
    for row in rows {
        let tokens = tokens(row);
        for (k, kind) in KINDS.iter().enumerate() {
            let h = row.request(None, tokens[k]);
            let a = send(app, &h).await.unwrap();
            cells += 1;
            if a.status != row.expect[k] {
                failures.push(format!(
                    "{} as {kind}: expected {}, got {a:?}",
                    row.route, row.expect[k]
                ));
            } else if a.status >= 400 && row.method != "HEAD" {
                if let Err(e) = check_format(row.format, &a) {
                    failures.push(format!("{} as {kind}: {e}", row.route));
                }
            }
            if let (2, Some((id, unknown))) = (k, &row.unknown) {
                leak_checks += 1;
                let h = row.request(Some((id, unknown)), tokens[k]);
                let b = send(app, &h).await.unwrap();
                let ids = [id.as_str(), unknown.as_str()];
                if (a.status, masked(&a, ids)) != (b.status, masked(&b, ids)) {
                    failures.push(format!(
                        "{}: another principal's id answers {a:?}, an unknown id {b:?}",
                        row.route
                    ));
                }
            }
        }
    }
    (failures, cells, leak_checks)
}
