//! audioBoom limits (specs/audioboom.md §8): `max_request_bytes` (413), `max_attachment_bytes`
//! (422), the server-wide `max_upload_size` (413) and `max_open_uploads_per_principal` (422).

use super::*;
use crate::gen::{multipart, multipart_type, Part};
use crate::helpers::{TestApp, OTHER_TOKEN, USER_TOKEN};

fn create(token: &str, size: u64, chunk: &[u8]) -> Hostile {
    Hostile::new("POST", "/attachments")
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", multipart_type())
        .body(multipart(&[
            Part::field("attachment[size]", size.to_string()),
            Part::file("attachment[chunk]", "a.flac", chunk.to_vec()),
        ]))
}

fn description(v: &Value) -> &str {
    v["body"]["error"]["description"].as_str().unwrap()
}

#[tokio::test]
async fn audioboom_request_bodies_pass_at_max_request_bytes_and_get_413_above() {
    let app = TestApp::spawn_with(|s| s.dialects.audioboom.max_request_bytes = 1000).await;
    let at = |n| {
        let parts = [
            Part::field("attachment[size]", "5000"),
            Part::file("attachment[chunk]", "a.flac", Vec::new()),
        ];
        Hostile::new("POST", "/attachments")
            .header("authorization", format!("Bearer {USER_TOKEN}"))
            .header("content-type", multipart_type())
            .body(super::multipart_of_size(&parts, n))
    };

    let attachment = expect(&app, create(USER_TOKEN, 1, b"x"), 201).await;
    let id = &attachment["body"]["attachment"]["id"];
    let clip = |n| {
        let fields = format!(
            r#""audio_clip":{{"title":"t","uploaded_data":{{"chunked_attachment_id":{id}}}}}"#
        );
        Hostile::new("POST", "/audio_clips")
            .header("authorization", format!("Bearer {USER_TOKEN}"))
            .json_text(super::json_of_size(&fields, n))
    };

    expect(&app, at(1000), 201).await;
    let body = refused(&app, at(1001), 413, Format::Audioboom).await;
    // The consumers' JSON bodies have the same limit.
    expect(&app, clip(1000), 201).await;
    refused(&app, clip(1001), 413, Format::Audioboom).await;

    assert_eq!(description(&body), "Request body too large");
}

#[tokio::test]
async fn audioboom_sizes_pass_at_their_limits_and_are_refused_above() {
    let app = TestApp::spawn_with(|s| s.dialects.audioboom.max_attachment_bytes = 50).await;
    expect(&app, create(USER_TOKEN, 50, b"x"), 201).await;
    let dialect = refused(&app, create(USER_TOKEN, 51, b"x"), 422, Format::Audioboom).await;
    let server = TestApp::spawn_with(|s| s.max_upload_size = 40).await;
    expect(&server, create(USER_TOKEN, 40, b"x"), 201).await;
    let global = refused(
        &server,
        create(USER_TOKEN, 41, b"x"),
        413,
        Format::Audioboom,
    )
    .await;

    assert_eq!(
        description(&dialect),
        "attachment[size] exceeds the maximum of 50 bytes"
    );
    assert_eq!(description(&global), "Request body too large");
}

#[tokio::test]
async fn audioboom_open_attachments_per_principal_pass_at_the_limit_and_get_422_above() {
    let app = TestApp::spawn_with(|s| s.max_open_uploads_per_principal = 2).await;
    expect(&app, create(USER_TOKEN, 10, b"x"), 201).await;
    expect(&app, create(USER_TOKEN, 10, b"x"), 201).await;

    let body = refused(&app, create(USER_TOKEN, 10, b"x"), 422, Format::Audioboom).await;
    expect(&app, create(OTHER_TOKEN, 10, b"x"), 201).await;

    assert_eq!(
        description(&body),
        "too many incomplete attachments (at most 2)"
    );
}
