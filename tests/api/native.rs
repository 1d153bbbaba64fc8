//! The operator API: `/gateway/v1/files/{id}` and `/gateway/v1/files/{id}/content`.

use crate::helpers::{TestApp, ADMIN_TOKEN, OTHER_TOKEN, USER_PRINCIPAL, USER_TOKEN};
use reqwest::header;
use reqwest::Method;
use serde_json::Value;
use sha2::Digest;

const CONTENT: &[u8] = b"hello, chunkgate! these are the bytes of a small test file.";

async fn app_with_file() -> (TestApp, chunkgate::engine::FileInfo) {
    let app = TestApp::spawn().await;
    let file = app
        .store_file("report.txt", CONTENT, vec![("testns".into(), "26".into())])
        .await;
    (app, file)
}

fn etag_of(content: &[u8]) -> String {
    format!("\"{}\"", hex::encode(sha2::Sha256::digest(content)))
}

#[tokio::test]
async fn file_metadata_needs_an_admin_token() {
    let (app, file) = app_with_file().await;
    let path = format!("/gateway/v1/files/{}", file.id);

    let anonymous = app.client.get(app.url(&path)).send().await.unwrap();
    let user = app
        .client
        .get(app.url(&path))
        .bearer_auth(USER_TOKEN)
        .send()
        .await
        .unwrap();
    let other = app
        .client
        .get(app.url(&path))
        .bearer_auth(OTHER_TOKEN)
        .send()
        .await
        .unwrap();
    let content = app
        .client
        .get(app.url(&format!("{path}/content")))
        .send()
        .await
        .unwrap();

    for response in [anonymous, user, other, content] {
        assert_eq!(response.status(), 401);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body, serde_json::json!({ "error": "unauthorized" }));
    }
}

#[tokio::test]
async fn file_metadata_describes_the_file() {
    let (app, file) = app_with_file().await;

    let response = app
        .admin(Method::GET, &format!("/gateway/v1/files/{}", file.id))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["id"], file.id.to_string());
    assert_eq!(body["principal"], USER_PRINCIPAL);
    assert_eq!(body["name"], "report.txt");
    assert_eq!(body["size"], CONTENT.len());
    assert_eq!(
        body["sha256"],
        hex::encode(sha2::Sha256::digest(CONTENT)).as_str()
    );
    assert_eq!(body["md5"], hex::encode(md5::Md5::digest(CONTENT)).as_str());
    assert_eq!(
        body["sha1"],
        hex::encode(sha1::Sha1::digest(CONTENT)).as_str()
    );
    assert_eq!(body["dialect"], "testns");
    assert_eq!(body["legacy_ids"], serde_json::json!(["testns:26"]));
    let created = body["created_at"].as_str().unwrap();
    assert!(
        chrono::DateTime::parse_from_rfc3339(created).is_ok(),
        "{created}"
    );
}

#[tokio::test]
async fn a_legacy_id_finds_the_same_file() {
    let (app, file) = app_with_file().await;

    let response = app
        .admin(Method::GET, "/gateway/v1/files/testns:26")
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["id"], file.id.to_string());
}

#[tokio::test]
async fn unknown_ids_answer_404_json() {
    let (app, _file) = app_with_file().await;

    for id in [
        "00000000000000000000000000000000",
        "testns:27",
        "otherns:26",
        "not-an-id",
    ] {
        for suffix in ["", "/content"] {
            let response = app
                .admin(Method::GET, &format!("/gateway/v1/files/{id}{suffix}"))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 404, "{id}{suffix}");
            let body: Value = response.json().await.unwrap();
            assert_eq!(body, serde_json::json!({ "error": "not found" }));
        }
    }
}

#[tokio::test]
async fn content_downloads_the_bytes_with_etag_and_disposition() {
    let (app, file) = app_with_file().await;

    let response = app
        .admin(
            Method::GET,
            &format!("/gateway/v1/files/{}/content", file.id),
        )
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    assert_eq!(headers[header::ETAG], etag_of(CONTENT).as_str());
    assert_eq!(headers[header::ACCEPT_RANGES], "bytes");
    assert!(headers[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    let disposition = headers[header::CONTENT_DISPOSITION].to_str().unwrap();
    assert_eq!(disposition, "attachment; filename=\"report.txt\"");
    assert_eq!(response.bytes().await.unwrap(), CONTENT);
}

#[tokio::test]
async fn content_by_legacy_id_downloads_the_bytes() {
    let (app, _file) = app_with_file().await;

    let response = app
        .admin(Method::GET, "/gateway/v1/files/testns:26/content")
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 200);
    assert_eq!(response.bytes().await.unwrap(), CONTENT);
}

#[tokio::test]
async fn a_range_request_gets_206_with_the_slice() {
    let (app, file) = app_with_file().await;

    let response = app
        .admin(
            Method::GET,
            &format!("/gateway/v1/files/{}/content", file.id),
        )
        .header(header::RANGE, "bytes=7-15")
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 206);
    assert_eq!(
        response.headers()[header::CONTENT_RANGE],
        format!("bytes 7-15/{}", CONTENT.len()).as_str()
    );
    assert_eq!(response.headers()[header::ETAG], etag_of(CONTENT).as_str());
    assert_eq!(response.bytes().await.unwrap(), &CONTENT[7..=15]);
}

#[tokio::test]
async fn an_unsatisfiable_range_gets_416() {
    let (app, file) = app_with_file().await;

    let response = app
        .admin(
            Method::GET,
            &format!("/gateway/v1/files/{}/content", file.id),
        )
        .header(header::RANGE, "bytes=5000-6000")
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 416);
}

#[tokio::test]
async fn head_gives_the_headers_without_a_body() {
    let (app, file) = app_with_file().await;

    let response = app
        .admin(
            Method::HEAD,
            &format!("/gateway/v1/files/{}/content", file.id),
        )
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()[header::CONTENT_LENGTH],
        CONTENT.len().to_string().as_str()
    );
    assert_eq!(response.headers()[header::ETAG], etag_of(CONTENT).as_str());
    assert!(response.bytes().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_matching_if_none_match_gets_304() {
    let (app, file) = app_with_file().await;

    let response = app
        .admin(
            Method::GET,
            &format!("/gateway/v1/files/{}/content", file.id),
        )
        .header(header::IF_NONE_MATCH, etag_of(CONTENT))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 304);
    assert_eq!(response.headers()[header::ETAG], etag_of(CONTENT).as_str());
    assert!(response.bytes().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_different_if_none_match_gets_the_content() {
    let (app, file) = app_with_file().await;

    let response = app
        .admin(
            Method::GET,
            &format!("/gateway/v1/files/{}/content", file.id),
        )
        .header(header::IF_NONE_MATCH, "\"something-else\"")
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 200);
    assert_eq!(response.bytes().await.unwrap(), CONTENT);
}

#[tokio::test]
async fn a_stale_if_range_gets_the_whole_content() {
    let (app, file) = app_with_file().await;

    let response = app
        .admin(
            Method::GET,
            &format!("/gateway/v1/files/{}/content", file.id),
        )
        .header(header::RANGE, "bytes=0-3")
        .header(header::IF_RANGE, "\"stale\"")
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 200);
    assert_eq!(response.bytes().await.unwrap(), CONTENT);
}

#[tokio::test]
async fn a_current_if_range_gets_the_range() {
    let (app, file) = app_with_file().await;

    let response = app
        .admin(
            Method::GET,
            &format!("/gateway/v1/files/{}/content", file.id),
        )
        .header(header::RANGE, "bytes=0-3")
        .header(header::IF_RANGE, etag_of(CONTENT))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 206);
    assert_eq!(response.bytes().await.unwrap(), &CONTENT[..4]);
}

#[tokio::test]
async fn if_match_is_checked_against_the_sha256_etag() {
    let (app, file) = app_with_file().await;
    let path = format!("/gateway/v1/files/{}/content", file.id);

    let stale = app
        .admin(Method::GET, &path)
        .header(header::IF_MATCH, "\"stale\"")
        .send()
        .await
        .unwrap();
    let current = app
        .admin(Method::GET, &path)
        .header(header::IF_MATCH, etag_of(CONTENT))
        .send()
        .await
        .unwrap();

    assert_eq!(stale.status(), 412);
    assert_eq!(current.status(), 200);
    assert_eq!(current.bytes().await.unwrap(), CONTENT);
}

#[tokio::test]
async fn a_non_ascii_name_is_sent_as_filename_star() {
    let app = TestApp::spawn().await;
    let file = app.store_file("résumé.pdf", CONTENT, vec![]).await;

    let response = app
        .client
        .get(app.url(&format!("/gateway/v1/files/{}/content", file.id)))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();

    let disposition = response.headers()[header::CONTENT_DISPOSITION]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        disposition.contains("filename=\"r_sum_.pdf\""),
        "{disposition}"
    );
    assert!(
        disposition.contains("filename*=UTF-8''r%C3%A9sum%C3%A9.pdf"),
        "{disposition}"
    );
    assert_eq!(response.headers()[header::CONTENT_TYPE], "application/pdf");
}
