//! Spika limits (specs/spika.md §8): `max_json_bytes` (413), `max_chunks` (400 on `offset` and
//! `total`), the server-wide `max_upload_size` (413) and `max_open_uploads_per_principal` (400).

use super::*;
use crate::helpers::{TestApp, OTHER_TOKEN, USER_TOKEN};
use base64::Engine as _;

fn chunk(token: &str, client_id: &str, offset: u64, data: &[u8]) -> Hostile {
    let b64 = base64::engine::general_purpose::STANDARD.encode(data);
    Hostile::new("POST", "/api/upload/files")
        .header("accesstoken", token)
        .json_text(format!(
            r#"{{"chunk":"{b64}","offset":{offset},"clientId":"{client_id}"}}"#
        ))
}

#[tokio::test]
async fn spika_bodies_pass_at_max_json_bytes_and_get_413_above() {
    let app = TestApp::spawn_with(|s| s.dialects.spika.max_json_bytes = 300).await;
    let at = |n, id| {
        Hostile::new("POST", "/api/upload/files")
            .header("accesstoken", USER_TOKEN)
            .json_text(super::json_of_size(
                &format!(r#""chunk":"QQ==","offset":0,"clientId":"{id}""#),
                n,
            ))
    };

    expect(&app, at(300, "a"), 200).await;
    let body = refused(&app, at(301, "b"), 413, Format::Spika).await;

    assert_eq!(
        body.to_string(),
        r#"{"status":"error","message":"Request entity too large"}"#
    );
}

#[tokio::test]
async fn spika_offsets_and_totals_pass_at_max_chunks_and_get_400_above() {
    let app = TestApp::spawn_with(|s| s.dialects.spika.max_chunks = 3).await;
    let verify = |total| {
        Hostile::new("POST", "/api/upload/files/verify")
            .header("accesstoken", USER_TOKEN)
            .json_text(format!(
                r#"{{"total":{total},"size":1,"mimeType":"t","fileName":"f","clientId":"c","fileHash":"00","type":"message"}}"#
            ))
    };

    expect(&app, chunk(USER_TOKEN, "c", 2, b"x"), 200).await;
    let offset = refused(&app, chunk(USER_TOKEN, "c", 3, b"x"), 400, Format::Spika).await;
    // At the limit, validation passes and the next check answers (chunks 0 and 1 are missing).
    let at = refused(&app, verify(3), 400, Format::Spika).await;
    let over = refused(&app, verify(4), 400, Format::Spika).await;

    assert_eq!(
        offset["message"],
        "Invalid params ValidationError: offset must be less than 3"
    );
    assert_eq!(at["message"], "Not all chunks are uploaded");
    assert!(
        over["message"]
            .as_str()
            .unwrap()
            .starts_with("Invalid params ValidationError: total"),
        "{over}"
    );
}

#[tokio::test]
async fn spika_uploads_pass_at_max_upload_size_and_get_413_above() {
    let app = TestApp::spawn_with(|s| s.max_upload_size = 10).await;
    expect(&app, chunk(USER_TOKEN, "fits", 0, &[1; 6]), 200).await;
    expect(&app, chunk(USER_TOKEN, "fits", 1, &[2; 4]), 200).await;
    expect(&app, chunk(USER_TOKEN, "over", 0, &[1; 6]), 200).await;

    let body = refused(
        &app,
        chunk(USER_TOKEN, "over", 1, &[2; 5]),
        413,
        Format::Spika,
    )
    .await;

    assert_eq!(body["message"], "Request entity too large");
}

#[tokio::test]
async fn spika_unverified_uploads_per_principal_pass_at_the_limit_and_get_400_above() {
    let app = TestApp::spawn_with(|s| s.max_open_uploads_per_principal = 2).await;
    expect(&app, chunk(USER_TOKEN, "c1", 0, b"x"), 200).await;
    expect(&app, chunk(USER_TOKEN, "c2", 0, b"x"), 200).await;

    let body = refused(&app, chunk(USER_TOKEN, "c3", 0, b"x"), 400, Format::Spika).await;
    expect(&app, chunk(USER_TOKEN, "c1", 1, b"y"), 200).await;
    expect(&app, chunk(OTHER_TOKEN, "c3", 0, b"x"), 200).await;

    assert_eq!(body["message"], "Too many unverified uploads (at most 2)");
}
