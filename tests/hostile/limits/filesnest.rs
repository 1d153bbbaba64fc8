//! FilesNest limits (specs/filesnest.md §7): `upload_max_size` and `max_json_bytes` (413),
//! `max_chunks` (422), the server-wide `max_upload_size` (413) and
//! `max_open_uploads_per_principal` (403).

use super::*;
use crate::helpers::{TestApp, OTHER_TOKEN, USER_TOKEN};

fn create(token: &str, name: &str, chunks: u64) -> Hostile {
    Hostile::new("POST", "/api/files")
        .header("authorization", format!("Bearer {token}"))
        .json_text(format!(
            r#"{{"name":"{name}","create_datetime":"2024-01-15 10:30:00","chunks_count":{chunks}}}"#
        ))
}

fn chunk(file: &Value, number: usize, data: Vec<u8>) -> Hostile {
    let (id, upload) = (
        &file["data"]["id"],
        &file["data"]["uploads"][number - 1]["id"],
    );
    Hostile::new("PUT", format!("/api/files/{id}/uploads/{upload}"))
        .header("authorization", format!("Bearer {USER_TOKEN}"))
        .header("content-type", "application/octet-stream")
        .body(data)
}

const TOO_LARGE: &str = r#"{"message":"The POST data is too large."}"#;

#[tokio::test]
async fn filesnest_chunk_and_json_bodies_pass_at_their_limit_and_get_413_above() {
    let app = TestApp::spawn_with(|s| {
        s.dialects.filesnest.upload_max_size = 100;
        s.dialects.filesnest.max_json_bytes = 300;
    })
    .await;
    let fields = r#""name":"a","create_datetime":"2024-01-15 10:30:00","chunks_count":2"#;
    let at = |n| {
        Hostile::new("POST", "/api/files")
            .header("authorization", format!("Bearer {USER_TOKEN}"))
            .json_text(super::json_of_size(fields, n))
    };

    let file = expect(&app, at(300), 201).await;
    let over = refused(&app, at(301), 413, Format::Filesnest).await;
    expect(&app, chunk(&file, 1, vec![1; 100]), 200).await;
    refused(&app, chunk(&file, 2, vec![1; 101]), 413, Format::Filesnest).await;

    assert_eq!(over.to_string(), TOO_LARGE);
}

#[tokio::test]
async fn filesnest_chunks_count_passes_at_max_chunks_and_gets_422_above() {
    let app = TestApp::spawn_with(|s| s.dialects.filesnest.max_chunks = 5).await;

    expect(&app, create(USER_TOKEN, "a", 5), 201).await;
    let body = refused(&app, create(USER_TOKEN, "b", 6), 422, Format::Filesnest).await;

    assert_eq!(
        body["errors"]["chunks_count"][0],
        "The chunks count field must not be greater than 5."
    );
}

#[tokio::test]
async fn filesnest_files_pass_at_max_upload_size_and_get_413_above() {
    let app = TestApp::spawn_with(|s| s.max_upload_size = 10).await;
    let fits = expect(&app, create(USER_TOKEN, "fits", 2), 201).await;
    let over = expect(&app, create(USER_TOKEN, "over", 2), 201).await;

    expect(&app, chunk(&fits, 1, vec![1; 6]), 200).await;
    expect(&app, chunk(&fits, 2, vec![2; 4]), 200).await;
    expect(&app, chunk(&over, 1, vec![1; 6]), 200).await;
    let body = refused(&app, chunk(&over, 2, vec![2; 5]), 413, Format::Filesnest).await;

    assert_eq!(body.to_string(), TOO_LARGE);
}

#[tokio::test]
async fn filesnest_open_files_per_principal_pass_at_the_limit_and_get_403_above() {
    let app = TestApp::spawn_with(|s| s.max_open_uploads_per_principal = 2).await;
    expect(&app, create(USER_TOKEN, "a", 1), 201).await;
    let second = expect(&app, create(USER_TOKEN, "b", 1), 201).await;

    let body = refused(&app, create(USER_TOKEN, "c", 1), 403, Format::Filesnest).await;
    // Another principal has its own allowance; finishing a file frees a place.
    expect(&app, create(OTHER_TOKEN, "c", 1), 201).await;
    expect(&app, chunk(&second, 1, b"x".to_vec()), 200).await;
    let id = &second["data"]["id"];
    let done = || async {
        let h = Hostile::new("GET", format!("/api/files/{id}"))
            .header("authorization", format!("Bearer {USER_TOKEN}"));
        call(&app, h).await.1["data"]["status_name"] == "completed"
    };
    let finish = async {
        // `b` has no checksum: set it so the file assembles.
        let sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(b"x"));
        let h = Hostile::new("PATCH", format!("/api/files/{id}"))
            .header("authorization", format!("Bearer {USER_TOKEN}"))
            .json_text(format!(r#"{{"checksum":"{sha}"}}"#));
        expect(&app, h, 200).await;
    };
    finish.await;
    eventually(done).await;
    expect(&app, create(USER_TOKEN, "c", 1), 201).await;

    assert_eq!(
        body.to_string(),
        r#"{"message":"This action is unauthorized."}"#
    );
}
