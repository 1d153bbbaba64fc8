//! Every refused request answers the spec's error (§10) and leaves the store exactly as it was:
//! the engine's uploads, files, blobs and the dialect's records compare equal before and after.

use super::{answer, field, file, form, Client, Part};
use crate::helpers::{TestApp, USER_TOKEN};
use futures_util::FutureExt;

fn msg(text: &str) -> String {
    serde_json::json!({ "message": text }).to_string()
}

/// Runs `request` and checks its answer and that nothing stored changed.
async fn refused<F>(app: &TestApp, request: F, status: u16, message: &str)
where
    F: std::future::Future<Output = reqwest::Response>,
{
    let before = app.engine.inventory().await.unwrap();
    let got = answer(request.await).await;
    assert_eq!(got, (status, msg(message)));
    assert_eq!(
        app.engine.inventory().await.unwrap(),
        before,
        "{message}: the store changed"
    );
}

#[tokio::test]
async fn refused_get_token_and_temp_token_requests_change_nothing() {
    // Arrange
    let app = TestApp::spawn().await;
    let dstor = Client::new(&app);
    let range = "chunks_number must be an integer between 1 and 10000";
    let cases = [
        ("[]", "Request body must be a JSON object"),
        ("chunks_number=1", "Request body must be a JSON object"),
        (r#"{"folder_path":"a"}"#, range),
        (r#"{"chunks_number":0,"folder_path":"a"}"#, range),
        (r#"{"chunks_number":10001,"folder_path":"a"}"#, range),
        (r#"{"chunks_number":1.5,"folder_path":"a"}"#, range),
        (r#"{"chunks_number":1}"#, "folder_path is required"),
        (
            r#"{"chunks_number":1,"folder_path":"../x"}"#,
            "folder_path is invalid",
        ),
        (
            r#"{"chunks_number":1,"folder_path":"a\\b"}"#,
            "folder_path is invalid",
        ),
    ];

    // Act / Assert
    for (body, message) in cases {
        refused(&app, dstor.get_token_raw(body), 400, message).await;
    }
    let past = app
        .client
        .get(app.url("/v1/dev/temp-token/"))
        .header("api-key", USER_TOKEN)
        .header("x-expiration", "1677336539.123")
        .send()
        .map(Result::unwrap);
    refused(
        &app,
        past,
        400,
        "x-expiration must be a unix time in the future",
    )
    .await;
}

#[tokio::test]
async fn refused_upload_requests_change_nothing() {
    // Arrange: an upload with one of two requests in (file `a`), and a finished one.
    let app = TestApp::spawn_with(|s| s.dialects.dstor.max_files = 3).await;
    let dstor = Client::new(&app);
    let token = dstor.open(2, "f").await;
    dstor.send(&token, &[file("a", b"a")]).await;
    let finished = dstor.open(1, "").await;
    dstor.send(&finished, &[file("x", b"x")]).await;
    dstor.wait_done(&finished).await;
    let long_names: Vec<Part> = (0..930)
        .map(|i| file(&format!("wide/{i:0>250}"), b""))
        .collect();
    let post = |headers: Vec<(&'static str, String)>, body: Vec<u8>| {
        let mut r = app
            .client
            .post(app.url("/v1/upload/"))
            .bearer_auth(USER_TOKEN);
        for (n, v) in headers {
            r = r.header(n, v);
        }
        r.body(body).send().map(Result::unwrap)
    };
    let (form_type, form_body) = form(&[file("b", b"b")]);

    // Act / Assert, in the order of §5.
    refused(
        &app,
        post(vec![("Content-Type", form_type.clone())], form_body.clone()),
        400,
        "x-dstor-upload-token header is required",
    )
    .await;
    refused(
        &app,
        dstor.send("0123456789abcdef0123456789abcdef", &[file("b", b"b")]),
        404,
        "Upload not found",
    )
    .await;
    refused(
        &app,
        dstor.send(&finished, &[file("b", b"b")]),
        400,
        "All 1 chunks have already been uploaded",
    )
    .await;
    refused(
        &app,
        post(
            vec![
                ("x-dstor-upload-token", token.clone()),
                ("Content-Type", "application/json".into()),
            ],
            b"{}".to_vec(),
        ),
        400,
        "Request must be multipart/form-data",
    )
    .await;
    refused(
        &app,
        dstor.send(&token, &[field("file", "no filename")]),
        400,
        "No files in request",
    )
    .await;
    // The filename is read as a quoted string, so `x\\y` on the wire is the name `x\y`.
    for (sent, name) in [
        ("../b.txt", "../b.txt"),
        ("a//b", "a//b"),
        ("dir/", "dir/"),
        ("/", "/"),
        ("a/./b", "a/./b"),
        ("x\\\\y", "x\\y"),
    ] {
        refused(
            &app,
            dstor.send(&token, &[file("ok.txt", b"ok"), file(sent, b"b")]),
            400,
            &format!("Invalid file path: {name}"),
        )
        .await;
    }
    refused(
        &app,
        dstor.send(&token, &[file("a/b", b"b")]),
        400,
        "File path conflicts with another entry: f/a",
    )
    .await;
    refused(
        &app,
        dstor.send(&token, &long_names),
        400,
        "Too many entries in folder: f/wide",
    )
    .await;
    refused(
        &app,
        dstor.send(&token, &[file("b", b""), file("c", b""), file("d", b"")]),
        400,
        "Too many files in upload",
    )
    .await;
    refused(
        &app,
        dstor.status_raw("0123456789abcdef0123456789abcdef"),
        404,
        "Upload not found",
    )
    .await;
}

#[tokio::test]
async fn a_body_over_the_request_limit_is_refused_with_413_and_changes_nothing() {
    // Arrange
    let app = TestApp::spawn_with(|s| s.dialects.dstor.max_request_bytes = 64 * 1024).await;
    let dstor = Client::new(&app);
    let token = dstor.open(1, "").await;
    let (content_type, body) = form(&[file("big.bin", &vec![7u8; 100 * 1024])]);
    let streamed = {
        let pieces: Vec<Result<Vec<u8>, std::io::Error>> =
            body.chunks(8192).map(|c| Ok(c.to_vec())).collect();
        reqwest::Body::wrap_stream(futures_util::stream::iter(pieces))
    };
    let post = |body: reqwest::Body| {
        app.client
            .post(app.url("/v1/upload/"))
            .bearer_auth(USER_TOKEN)
            .header("x-dstor-upload-token", &token)
            .header("Content-Type", &content_type)
            .body(body)
            .send()
            .map(Result::unwrap)
    };

    // Act / Assert: declared by Content-Length, and counted while streaming (chunked).
    refused(
        &app,
        post(body.clone().into()),
        413,
        "Request entity too large",
    )
    .await;
    refused(&app, post(streamed), 413, "Request entity too large").await;
    let fits = dstor.send(&token, &[file("small.bin", b"small")]).await;
    assert_eq!(fits.status(), 200);
}
