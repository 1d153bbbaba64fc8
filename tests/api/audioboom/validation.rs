//! Every rejected request leaves the store unchanged (specs/audioboom.md §9: "Rejected
//! requests change nothing"), with the status, code and text of the spec.

use super::*;
use crate::helpers::{TestApp, USER_TOKEN};
use reqwest::Method;

struct Case {
    name: &'static str,
    method: Method,
    path: String,
    content_type: String,
    body: Vec<u8>,
    status: u16,
    code: u16,
    description: String,
}

fn mp(
    name: &'static str,
    method: Method,
    path: &str,
    parts: &[Part],
    status: u16,
    description: &str,
) -> Case {
    Case {
        name,
        method,
        path: path.into(),
        // A request without parts (a GET, a wrong method) has no body at all.
        content_type: if parts.is_empty() {
            String::new()
        } else {
            multipart_type()
        },
        body: if parts.is_empty() {
            Vec::new()
        } else {
            multipart(parts)
        },
        status,
        code: status,
        description: description.into(),
    }
}

fn form(name: &'static str, path: &str, body: &str, status: u16, description: &str) -> Case {
    Case {
        name,
        method: Method::POST,
        path: path.into(),
        content_type: "application/x-www-form-urlencoded".into(),
        body: body.as_bytes().to_vec(),
        status,
        code: status,
        description: description.into(),
    }
}

async fn run(app: &TestApp, cases: Vec<Case>) {
    for case in cases {
        // Arrange
        let before = app.engine.inventory().await.unwrap();

        // Act
        let mut req = app
            .client
            .request(case.method.clone(), app.url(&case.path))
            .bearer_auth(USER_TOKEN);
        if !case.content_type.is_empty() {
            req = req.header(CONTENT_TYPE, &case.content_type);
        }
        let res = req.body(case.body).send().await.unwrap();
        let a = Answer::of(res).await;

        // Assert
        assert_eq!(a.status, case.status, "{}: {}", case.name, a.text);
        a.assert_error(case.status, case.code, &case.description);
        assert_eq!(
            app.engine.inventory().await.unwrap(),
            before,
            "{} changed the store",
            case.name
        );
    }
}

#[tokio::test]
async fn every_create_rule_refuses_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let c = || chunk("attachment[chunk]", b"abc");
    let size = |s| Part::Text("attachment[size]", s);
    let p = Method::POST;
    let long = "n".repeat(256);
    let cases = vec![
        mp("no size", p.clone(), "/attachments", &[c()], 422, "attachment[size] is required"),
        mp("size 0", p.clone(), "/attachments", &[size("0"), c()], 422, "attachment[size] must be a positive integer"),
        mp("size text", p.clone(), "/attachments", &[size("abc"), c()], 422, "attachment[size] must be a positive integer"),
        mp("size over max", p.clone(), "/attachments", &[size("2147483649"), c()], 422, "attachment[size] exceeds the maximum of 2147483648 bytes"),
        mp("no chunk", p.clone(), "/attachments", &[size("3")], 422, "attachment[chunk] is required"),
        mp("bad offset", p.clone(), "/attachments", &[size("3"), Part::Text("attachment[chunk_offset]", "-1"), c()], 422, "attachment[chunk_offset] must be a non-negative integer"),
        mp("long filename", p.clone(), "/attachments", &[size("3"), Part::Text("attachment[filename]", &long), c()], 422, "attachment[filename] is too long"),
        mp("beyond size", p.clone(), "/attachments", &[size("3"), Part::Text("attachment[chunk_offset]", "1"), c()], 422, "Chunk extends beyond attachment[size]"),
        mp("json suffix", p.clone(), "/attachments.json", &[size("2"), c()], 422, "Chunk extends beyond attachment[size]"),
        Case {
            code: 800,
            ..mp("version", p.clone(), "/attachments?version=199", &[size("3"), c()], 400, "Unsupported API version")
        },
        Case {
            content_type: multipart_type(),
            body: b"--B\r\nContent-Disposition: form-data; name=\"attachment[size]\"\r\n\r\n3\r\n--B\r\nbroken".to_vec(),
            ..mp("malformed", p.clone(), "/attachments", &[], 400, "Malformed request body")
        },
        mp("wrong method", Method::DELETE, "/attachments", &[], 405, "Method not allowed"),
        mp("unmatched", Method::GET, "/attachments/abc", &[], 404, "Not found"),
        mp("unmatched clip path", Method::GET, "/audio_clips/1/other", &[], 404, "Not found"),
    ];
    run(&app, cases).await;
}

#[tokio::test]
async fn every_update_rule_refuses_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let id = Boo::new(&app).create(10, 0, b"01234").await.attachment()["id"]
        .as_u64()
        .unwrap();
    let path = format!("/attachments/{id}");
    let off = |o| Part::Text("attachment[chunk_offset]", o);
    let c = |d: &'static [u8]| chunk("attachment[chunk]", d);
    let put = Method::PUT;
    let cases = vec![
        mp(
            "no chunk",
            put.clone(),
            &path,
            &[off("5")],
            422,
            "attachment[chunk] is required",
        ),
        mp(
            "no offset",
            put.clone(),
            &path,
            &[c(b"5")],
            422,
            "attachment[chunk_offset] is required",
        ),
        mp(
            "bad offset",
            put.clone(),
            &path,
            &[off("x"), c(b"5")],
            422,
            "attachment[chunk_offset] must be a non-negative integer",
        ),
        mp(
            "size mismatch",
            put.clone(),
            &path,
            &[off("5"), Part::Text("attachment[size]", "11"), c(b"5")],
            422,
            "attachment[size] does not match the attachment",
        ),
        mp(
            "beyond",
            put.clone(),
            &path,
            &[off("8"), c(b"890")],
            422,
            "Chunk extends beyond attachment[size]",
        ),
        mp(
            "beyond, offset after the chunk",
            Method::POST,
            &path,
            &[c(b"890"), off("8")],
            422,
            "Chunk extends beyond attachment[size]",
        ),
        mp(
            "conflict",
            put.clone(),
            &path,
            &[off("4"), c(b"X5")],
            409,
            "Chunk conflicts with data already received",
        ),
        mp(
            "unknown",
            put.clone(),
            "/attachments/424242",
            &[off("5"), c(b"5")],
            404,
            "Attachment 424242 not found",
        ),
        Case {
            code: 800,
            ..mp(
                "version in a part",
                put.clone(),
                &path,
                &[Part::Text("version", "100"), off("5"), c(b"5")],
                400,
                "Unsupported API version",
            )
        },
        mp(
            "wrong method",
            Method::DELETE,
            &path,
            &[],
            405,
            "Method not allowed",
        ),
    ];
    run(&app, cases).await;
}

#[tokio::test]
async fn every_consumer_rule_refuses_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let boo = Boo::new(&app);
    let done = boo.create(3, 0, b"abc").await.attachment()["id"]
        .as_u64()
        .unwrap();
    let partial = boo.create(3, 0, b"a").await.attachment()["id"]
        .as_u64()
        .unwrap();
    let d = |id: u64| format!("audio_clip%5Buploaded_data%5D%5Bchunked_attachment_id%5D={id}");
    let t = "audio_clip%5Btitle%5D=t";
    let cases = vec![
        form(
            "no title",
            "/audio_clips",
            &d(done),
            422,
            "audio_clip[title] is required",
        ),
        form(
            "no id",
            "/account/audio_clips",
            t,
            422,
            "audio_clip[uploaded_data][chunked_attachment_id] is required",
        ),
        form(
            "unknown",
            "/audio_clips",
            &format!("{t}&{}", d(777)),
            404,
            "attachment 777 not found",
        ),
        form(
            "incomplete",
            "/audio_clips",
            &format!("{t}&{}", d(partial)),
            422,
            &format!("attachment {partial} is incomplete"),
        ),
        form(
            "fingerprint",
            "/channels/5/audio_clips",
            &format!(
                "{t}&{}&audio_clip%5Buploaded_data%5D%5Bfingerprint%5D=abc",
                d(done)
            ),
            422,
            &format!("fingerprint does not match attachment {done}"),
        ),
        form(
            "image incomplete",
            "/audio_clips",
            &format!(
                "{t}&{}&audio_clip%5Buploaded_image%5D%5Bchunked_attachment_id%5D={partial}",
                d(done)
            ),
            422,
            &format!("attachment {partial} is incomplete"),
        ),
        form(
            "no recipient",
            "/account/outbox",
            &format!("message%5Buploaded_data%5D%5Bchunked_attachment_id%5D={done}"),
            422,
            "message[recipient_id] is required",
        ),
        mp(
            "file in place of the reference",
            Method::POST,
            "/audio_clips",
            &[
                Part::Text("audio_clip[title]", "t"),
                Part::File {
                    name: "audio_clip[uploaded_data]",
                    filename: Some("a.mp3"),
                    content_type: Some("audio/mpeg"),
                    data: b"abc",
                },
            ],
            422,
            "audio_clip[uploaded_data] must reference a chunked attachment",
        ),
        Case {
            content_type: "application/json".into(),
            body: b"{\"audio_clip\":".to_vec(),
            ..form(
                "malformed json",
                "/audio_clips",
                "",
                400,
                "Malformed request body",
            )
        },
        Case {
            code: 800,
            ..form(
                "version",
                "/account/outbox",
                "version=2",
                400,
                "Unsupported API version",
            )
        },
        mp(
            "unknown clip",
            Method::GET,
            "/audio_clips/31337",
            &[],
            404,
            "Audio clip 31337 not found",
        ),
        mp(
            "wrong method",
            Method::PUT,
            "/audio_clips",
            &[],
            405,
            "Method not allowed",
        ),
    ];
    run(&app, cases).await;
}

#[tokio::test]
async fn a_body_over_the_limit_is_refused_with_413_whether_its_length_is_declared_or_not() {
    // Arrange
    let app = TestApp::spawn_with(|s| s.dialects.audioboom.max_request_bytes = 1024).await;
    let id = Boo::new(&app).create(5000, 0, b"").await.attachment()["id"]
        .as_u64()
        .unwrap();
    let big = vec![7u8; 2000];
    let before = app.engine.inventory().await.unwrap();
    let body = || {
        multipart(&[
            Part::Text("attachment[chunk_offset]", "0"),
            chunk("attachment[chunk]", &big),
        ])
    };

    // Act
    let declared = app
        .client
        .put(app.url(&format!("/attachments/{id}")))
        .bearer_auth(USER_TOKEN)
        .header(CONTENT_TYPE, multipart_type())
        .body(body())
        .send()
        .await
        .unwrap();
    let pieces: Vec<Result<Vec<u8>, std::io::Error>> =
        body().chunks(300).map(|c| Ok(c.to_vec())).collect();
    let streamed = app
        .client
        .put(app.url(&format!("/attachments/{id}")))
        .bearer_auth(USER_TOKEN)
        .header(CONTENT_TYPE, multipart_type())
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
            pieces,
        )))
        .send()
        .await
        .unwrap();

    // Assert
    for res in [declared, streamed] {
        Answer::of(res)
            .await
            .assert_error(413, 413, "Request body too large");
    }
    assert_eq!(app.engine.inventory().await.unwrap(), before);
}
