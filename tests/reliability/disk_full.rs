//! Group 6, disk full: with the free-space threshold above the free space, every dialect
//! refuses new data with its own answer (dyson and dstor 507; filesnest, audioBoom and Spika
//! their legacy 500, which their clients retry; see docs/reliability.md), nothing stored
//! changes, and once the threshold is lowered (space returned) the same requests succeed and
//! new uploads complete in every dialect.

use base64::Engine as _;
use serde_json::{json, Value};

use crate::clients::{self, content, multipart, Target, DIALECTS};
use crate::helpers::{TestApp, USER_TOKEN};
use crate::store::spool_files;

/// One refused request: its dialect, the request, and the answer it must get.
struct Refusal {
    what: &'static str,
    request: reqwest::RequestBuilder,
    status: u16,
    body: &'static str,
}

fn dyson(app: &TestApp, path: &str) -> reqwest::RequestBuilder {
    app.client
        .post(app.url(&format!("/drive/files/upload{path}")))
        .header("Authorization", format!("AtField {USER_TOKEN}"))
}

async fn json_of(r: reqwest::RequestBuilder) -> Value {
    let r = r.send().await.unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    r.json().await.unwrap()
}

#[tokio::test]
async fn below_the_free_space_threshold_every_dialect_refuses_cleanly_and_recovers_when_space_returns(
) {
    // Arrange: one upload open in every dialect, its first chunk stored.
    let app = TestApp::spawn().await;
    let piece = content(1, 10_000);
    let fnest: Value = json_of(
        app.client
            .post(app.url("/api/files?include=uploads"))
            .bearer_auth(USER_TOKEN)
            .json(
                &json!({"name": "full.bin", "create_datetime": "2024-01-15 10:30:00",
                "chunks_count": 2}),
            ),
    )
    .await;
    let fnest_id = fnest["data"]["id"].as_u64().unwrap();
    let mut fnest_uploads: Vec<(u64, u64)> = fnest["data"]["uploads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| (u["number"].as_u64().unwrap(), u["id"].as_u64().unwrap()))
        .collect();
    fnest_uploads.sort();
    let fnest_chunk = |n: usize| {
        app.client
            .patch(app.url(&format!(
                "/api/files/{fnest_id}/uploads/{}",
                fnest_uploads[n].1
            )))
            .bearer_auth(USER_TOKEN)
            .header("Content-Type", "application/octet-stream")
            .body(piece.clone())
    };
    json_of(fnest_chunk(0)).await;
    let create = json!({"hash": "x", "file_name": "full.bin", "file_size": 20_000,
        "content_type": "application/octet-stream", "chunk_size": 10_000});
    let task: Value = json_of(dyson(&app, "/create").json(&create)).await;
    let task = task["task_id"].as_str().unwrap().to_owned();
    let dyson_chunk = |n: usize| {
        let (ctype, form) = multipart(&[("chunk", Some("b"), &piece)]);
        dyson(&app, &format!("/chunk/{task}/{n}"))
            .header("Content-Type", ctype)
            .body(form)
    };
    assert_eq!(dyson_chunk(0).send().await.unwrap().status(), 200);
    let boo_form = |offset: usize| {
        let size = "20000".to_string();
        let offset = offset.to_string();
        multipart(&[
            ("attachment[size]", None, size.as_bytes()),
            ("attachment[chunk_offset]", None, offset.as_bytes()),
            ("attachment[chunk]", Some("a.mp3"), &piece),
        ])
    };
    let (ctype, form) = boo_form(0);
    let boo: Value = json_of(
        app.client
            .post(app.url("/attachments"))
            .bearer_auth(USER_TOKEN)
            .header("Content-Type", ctype)
            .body(form),
    )
    .await;
    let boo_id = boo["body"]["attachment"]["id"].as_u64().unwrap();
    let boo_chunk = || {
        let (ctype, form) = boo_form(10_000);
        app.client
            .put(app.url(&format!("/attachments/{boo_id}")))
            .bearer_auth(USER_TOKEN)
            .header("Content-Type", ctype)
            .body(form)
    };
    let spika_chunk = |n: usize| {
        app.client
            .post(app.url("/api/upload/files"))
            .header("accesstoken", USER_TOKEN)
            .json(
                &json!({"chunk": base64::engine::general_purpose::STANDARD.encode(&piece),
                "offset": n, "clientId": "full-1"}),
            )
    };
    json_of(spika_chunk(0)).await;
    let token: Value = json_of(
        app.client
            .post(app.url("/v1/upload/get-token/"))
            .bearer_auth(USER_TOKEN)
            .json(&json!({"chunks_number": 2, "folder_path": "full"})),
    )
    .await;
    let token = token["token"].as_str().unwrap().to_owned();
    let dstor_request = |name: &str| {
        let (ctype, form) = multipart(&[("file", Some(name), &piece)]);
        app.client
            .post(app.url("/v1/upload/"))
            .bearer_auth(USER_TOKEN)
            .header("x-dstor-upload-token", &token)
            .header("Content-Type", ctype)
            .body(form)
    };
    json_of(dstor_request("a.bin")).await;
    let before = app.engine.inventory().await.unwrap();
    let spool_before = spool_files(app.data_dir.path());

    // Act: the threshold above any free space.
    app.engine.set_min_free_space(u64::MAX / 2);
    let (ctype, form) = boo_form(0);
    let refusals = vec![
        Refusal {
            what: "filesnest chunk",
            request: fnest_chunk(1),
            status: 500,
            body: r#"{"message":"Failed to save file chunk"}"#,
        },
        Refusal {
            what: "dyson chunk",
            request: dyson_chunk(1),
            status: 507,
            body: r#"{"code":"INSUFFICIENT_STORAGE","message":"Not enough storage is available.","status":507}"#,
        },
        Refusal {
            what: "dyson create",
            request: dyson(&app, "/create").json(&create),
            status: 507,
            body: r#"{"code":"INSUFFICIENT_STORAGE","message":"Not enough storage is available.","status":507}"#,
        },
        Refusal {
            what: "audioboom chunk",
            request: boo_chunk(),
            status: 500,
            body: r#""error":{"code":500,"description":"Internal server error"}"#,
        },
        Refusal {
            what: "audioboom create",
            request: app
                .client
                .post(app.url("/attachments"))
                .bearer_auth(USER_TOKEN)
                .header("Content-Type", ctype)
                .body(form),
            status: 500,
            body: r#""error":{"code":500,"description":"Internal server error"}"#,
        },
        Refusal {
            what: "spika chunk",
            request: spika_chunk(1),
            status: 500,
            body: r#"{"status":"error","message":"Server error"}"#,
        },
        Refusal {
            what: "dstor request",
            request: dstor_request("b.bin"),
            status: 507,
            body: r#"{"message":"Insufficient storage"}"#,
        },
        Refusal {
            what: "dstor get-token",
            request: app
                .client
                .post(app.url("/v1/upload/get-token/"))
                .bearer_auth(USER_TOKEN)
                .json(&json!({"chunks_number": 1, "folder_path": "x"})),
            status: 507,
            body: r#"{"message":"Insufficient storage"}"#,
        },
    ];
    let mut wrong = Vec::new();
    for r in refusals {
        let answer = r.request.send().await.unwrap();
        let status = answer.status().as_u16();
        let text = answer.text().await.unwrap();
        if status != r.status || !text.contains(r.body) {
            wrong.push(format!("{}: {status} {text}", r.what));
        }
    }

    // Assert: each refused with its dialect's answer; nothing stored changed.
    assert!(wrong.is_empty(), "{wrong:#?}");
    assert_eq!(app.engine.inventory().await.unwrap(), before);
    assert_eq!(spool_files(app.data_dir.path()), spool_before);

    // Act: space returns.
    app.engine.set_min_free_space(0);

    // Assert: the refused requests now succeed, and whole uploads complete in every dialect.
    assert_eq!(fnest_chunk(1).send().await.unwrap().status(), 200);
    assert_eq!(dyson_chunk(1).send().await.unwrap().status(), 200);
    assert_eq!(boo_chunk().send().await.unwrap().status(), 200);
    assert_eq!(spika_chunk(1).send().await.unwrap().status(), 200);
    assert_eq!(dstor_request("b.bin").send().await.unwrap().status(), 200);
    let target = Target::new(&app.address, true);
    for (n, dialect) in DIALECTS.iter().enumerate() {
        let data = content(100 + n as u64, 300_000);
        if let Err(e) = clients::upload(&target, dialect, &data, 100_000).await {
            panic!("{dialect} after space returned: {e}");
        }
    }
    let inv = app.engine.inventory().await.unwrap();
    crate::store::assert_consistent(&app.engine, &inv);
}
