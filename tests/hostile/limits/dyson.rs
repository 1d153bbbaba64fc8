//! Dyson limits (specs/dyson.md §10): `max_chunk_size` and `max_chunks` (400), the chunk body
//! `chunk_size + 1 MiB` and `max_json_bytes` (413), `max_file_bytes` and the server-wide
//! `max_upload_size` (403), `max_open_uploads_per_principal` (403).

use super::*;
use crate::gen::{multipart, multipart_type, Part};
use crate::helpers::{TestApp, OTHER_TOKEN, USER_TOKEN};

fn create_body(size: u64, chunk: u64) -> String {
    format!(
        r#"{{"hash":"x","file_name":"a","file_size":{size},"content_type":"text/plain","chunk_size":{chunk}}}"#
    )
}

fn create(token: &str, size: u64, chunk: u64) -> Hostile {
    Hostile::new("POST", "/api/files/upload/create")
        .header("authorization", format!("AtField {token}"))
        .json_text(create_body(size, chunk))
}

#[tokio::test]
async fn dyson_chunk_size_and_count_pass_at_their_limit_and_get_400_above() {
    let app = TestApp::spawn_with(|s| {
        s.dialects.dyson.max_chunk_size = 16;
        s.dialects.dyson.max_chunks = 4;
    })
    .await;

    expect(&app, create(USER_TOKEN, 64, 16), 200).await;
    let size = refused(&app, create(USER_TOKEN, 64, 17), 400, Format::Dyson).await;
    expect(&app, create(USER_TOKEN, 4, 1), 200).await;
    let count = refused(&app, create(USER_TOKEN, 5, 1), 400, Format::Dyson).await;

    assert_eq!(
        size["errors"]["chunk_size"][0],
        "The chunk_size field must be between 1 and 16."
    );
    assert_eq!(
        count["errors"]["chunk_size"][0],
        "The file needs 5 chunks; at most 4 are allowed."
    );
}

#[tokio::test]
async fn dyson_bodies_pass_at_their_limit_and_get_413_above() {
    let app = TestApp::spawn_with(|s| s.dialects.dyson.max_json_bytes = 300).await;
    let fields = r#""hash":"x","file_name":"a","file_size":8,"content_type":"t","chunk_size":8"#;
    let at = |n| {
        Hostile::new("POST", "/api/files/upload/create")
            .header("authorization", format!("AtField {USER_TOKEN}"))
            .json_text(super::json_of_size(fields, n))
    };
    let task = expect(&app, at(300), 200).await["task_id"]
        .as_str()
        .unwrap()
        .to_owned();
    refused(&app, at(301), 413, Format::Dyson).await;
    // The chunk body limit is chunk_size + 1 MiB (§5 check 5).
    let limit = 8 + 1_048_576;
    let chunk = |n| {
        let part = Part::file("chunk", "chunk_0", Vec::new());
        Hostile::new("POST", format!("/api/files/upload/chunk/{task}/0"))
            .header("authorization", format!("AtField {USER_TOKEN}"))
            .header("content-type", multipart_type())
            .body(super::multipart_of_size(&[part], n))
    };

    expect(&app, chunk(limit), 200).await;
    let body = refused(&app, chunk(limit + 1), 413, Format::Dyson).await;

    assert_eq!(
        body.to_string(),
        r#"{"code":"PAYLOAD_TOO_LARGE","message":"Request body exceeds 1048584 bytes.","status":413}"#
    );
}

#[tokio::test]
async fn dyson_file_size_passes_at_max_file_bytes_and_max_upload_size_and_gets_403_above() {
    let app = TestApp::spawn_with(|s| {
        s.dialects.dyson.max_file_bytes = 100;
        s.max_upload_size = 200;
    })
    .await;
    expect(&app, create(USER_TOKEN, 100, 10), 200).await;
    let pool = refused(&app, create(USER_TOKEN, 101, 10), 403, Format::Dyson).await;
    let server = TestApp::spawn_with(|s| s.max_upload_size = 200).await;
    expect(&server, create(USER_TOKEN, 200, 10), 200).await;
    let global = refused(&server, create(USER_TOKEN, 201, 10), 403, Format::Dyson).await;

    assert_eq!(
        pool["message"],
        "File size 101 is larger than the pool's maximum file size 100"
    );
    assert_eq!(
        global["message"],
        "File size 201 is larger than the pool's maximum file size 200"
    );
}

#[tokio::test]
async fn dyson_open_tasks_per_principal_pass_at_the_limit_and_get_403_above() {
    let app = TestApp::spawn_with(|s| s.max_open_uploads_per_principal = 2).await;
    expect(&app, create(USER_TOKEN, 8, 8), 200).await;
    let task = expect(&app, create(USER_TOKEN, 8, 8), 200).await["task_id"]
        .as_str()
        .unwrap()
        .to_owned();

    let body = refused(&app, create(USER_TOKEN, 8, 8), 403, Format::Dyson).await;
    expect(&app, create(OTHER_TOKEN, 8, 8), 200).await;
    // Completing a task frees its place.
    let chunk = Hostile::new("POST", format!("/api/files/upload/chunk/{task}/0"))
        .header("authorization", format!("AtField {USER_TOKEN}"))
        .header("content-type", multipart_type())
        .body(multipart(&[Part::file("chunk", "c", b"12345678".to_vec())]));
    expect(&app, chunk, 200).await;
    let complete = Hostile::new("POST", format!("/api/files/upload/complete/{task}"))
        .header("authorization", format!("AtField {USER_TOKEN}"));
    expect(&app, complete, 200).await;
    expect(&app, create(USER_TOKEN, 8, 8), 200).await;

    assert_eq!(
        body.to_string(),
        r#"{"code":"FORBIDDEN","message":"You have reached the maximum of 2 unfinished upload tasks.","status":403}"#
    );
}
