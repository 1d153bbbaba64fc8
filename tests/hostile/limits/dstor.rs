//! dStor limits (specs/dstor.md §9): `max_request_bytes` (413), `max_chunks` and `max_files`
//! (400), the server-wide `max_upload_size` (413) and `max_open_uploads_per_principal` (400).

use super::*;
use crate::gen::{multipart, multipart_type, Part};
use crate::helpers::{TestApp, OTHER_TOKEN, USER_TOKEN};

fn get_token(token: &str, n: u64) -> Hostile {
    Hostile::new("POST", "/v1/upload/get-token/")
        .header("authorization", format!("Bearer {token}"))
        .json_text(format!(r#"{{"chunks_number":{n},"folder_path":"f"}}"#))
}

fn upload(upload: &Value, body: Vec<u8>) -> Hostile {
    Hostile::new("POST", "/v1/upload/")
        .header("authorization", format!("Bearer {USER_TOKEN}"))
        .header("x-dstor-upload-token", upload["token"].as_str().unwrap())
        .header("content-type", multipart_type())
        .body(body)
}

fn files(names: &[&str], size: usize) -> Vec<u8> {
    let parts: Vec<Part> = names
        .iter()
        .map(|n| Part::file("file", *n, vec![b'd'; size]))
        .collect();
    multipart(&parts)
}

#[tokio::test]
async fn dstor_requests_pass_at_max_request_bytes_and_get_413_above() {
    let app = TestApp::spawn_with(|s| s.dialects.dstor.max_request_bytes = 1000).await;
    let token = expect(&app, get_token(USER_TOKEN, 3), 200).await;
    let at = |n, name: &str| {
        let part = Part::file("file", name, Vec::new());
        upload(&token, super::multipart_of_size(&[part], n))
    };

    expect(&app, at(1000, "a.bin"), 200).await;
    let body = refused(&app, at(1001, "b.bin"), 413, Format::Dstor).await;

    assert_eq!(
        body.to_string(),
        r#"{"message":"Request entity too large"}"#
    );
}

#[tokio::test]
async fn dstor_chunks_and_files_pass_at_their_limit_and_get_400_above() {
    let app = TestApp::spawn_with(|s| {
        s.dialects.dstor.max_chunks = 3;
        s.dialects.dstor.max_files = 2;
    })
    .await;
    let token = expect(&app, get_token(USER_TOKEN, 3), 200).await;
    let chunks = refused(&app, get_token(USER_TOKEN, 4), 400, Format::Dstor).await;

    expect(&app, upload(&token, files(&["a", "b"], 1)), 200).await;
    let many = refused(&app, upload(&token, files(&["c"], 1)), 400, Format::Dstor).await;

    assert_eq!(
        chunks["message"],
        "chunks_number must be an integer between 1 and 3"
    );
    assert_eq!(many["message"], "Too many files in upload");
}

#[tokio::test]
async fn dstor_uploads_pass_at_max_upload_size_and_get_413_above() {
    let app = TestApp::spawn_with(|s| s.max_upload_size = 10).await;
    let token = expect(&app, get_token(USER_TOKEN, 3), 200).await;

    expect(&app, upload(&token, files(&["a"], 10)), 200).await;
    let body = refused(&app, upload(&token, files(&["b"], 11)), 413, Format::Dstor).await;

    assert_eq!(body["message"], "Request entity too large");
}

#[tokio::test]
async fn dstor_open_uploads_per_principal_pass_at_the_limit_and_get_400_above() {
    let app = TestApp::spawn_with(|s| s.max_open_uploads_per_principal = 2).await;
    expect(&app, get_token(USER_TOKEN, 1), 200).await;
    expect(&app, get_token(USER_TOKEN, 1), 200).await;

    let body = refused(&app, get_token(USER_TOKEN, 1), 400, Format::Dstor).await;
    expect(&app, get_token(OTHER_TOKEN, 1), 200).await;

    assert_eq!(body["message"], "Too many open uploads (at most 2)");
}

#[tokio::test]
async fn dstor_get_token_bodies_pass_at_max_json_bytes_and_get_413_above() {
    let app = TestApp::spawn_with(|s| s.dialects.dstor.max_json_bytes = 300).await;
    let at = |n| {
        Hostile::new("POST", "/v1/upload/get-token/")
            .header("authorization", format!("Bearer {USER_TOKEN}"))
            .json_text(super::json_of_size(
                r#""chunks_number":1,"folder_path":"f""#,
                n,
            ))
    };

    expect(&app, at(300), 200).await;
    let body = refused(&app, at(301), 413, Format::Dstor).await;

    assert_eq!(
        body.to_string(),
        r#"{"message":"Request entity too large"}"#
    );
}
