//! `GET /ipfs/{cid}` and `GET /ipfs/{cid}/{path...}` (specs/dstor.md §8), and the legacy 404
//! of routes dStor owns but does not have.

use super::{answer, file, Client};
use crate::helpers::TestApp;
use serde_json::Value;

const NOT_FOUND: &str = r#"{"message":"Not found"}"#;

/// A finished upload of folder `site`; returns (folder CID, CID of `site/img/logo.png`).
async fn site(app: &TestApp) -> (String, String) {
    let dstor = Client::new(app);
    let token = dstor.open(1, "site").await;
    dstor
        .send(
            &token,
            &[
                file("index.html", b"<h1>hi</h1>"),
                file("img/logo.png", b"\x89PNG not really"),
                file("my notes.txt", b"spaces"),
            ],
        )
        .await;
    let done: Value = serde_json::from_str(&dstor.wait_done(&token).await).unwrap();
    let hash_of = |name: &str| {
        done["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["Name"] == name)
            .unwrap()["Hash"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    (hash_of("site"), hash_of("site/img/logo.png"))
}

#[tokio::test]
async fn a_file_is_served_with_its_cid_as_etag_and_immutable_caching() {
    // Arrange
    let app = TestApp::spawn().await;
    let (_, logo) = site(&app).await;

    // Act
    let response = Client::new(&app).ipfs(&logo).await;

    // Assert
    assert_eq!(response.status(), 200);
    let h = response.headers();
    assert_eq!(h["etag"], format!("\"{logo}\"").as_str());
    assert_eq!(h["cache-control"], "public, max-age=29030400, immutable");
    assert_eq!(h["content-type"], "image/png");
    assert_eq!(h["accept-ranges"], "bytes");
    assert_eq!(h["content-length"], "15");
    assert_eq!(h["access-control-allow-origin"], "*");
    assert_eq!(
        response.bytes().await.unwrap().as_ref(),
        b"\x89PNG not really"
    );
}

#[tokio::test]
async fn paths_below_a_folder_cid_resolve_entry_by_entry() {
    // Arrange
    let app = TestApp::spawn().await;
    let (folder, _) = site(&app).await;
    let dstor = Client::new(&app);

    // Act
    let nested = dstor.ipfs(&format!("{folder}/img/logo.png")).await;
    let encoded = dstor.ipfs(&format!("{folder}/my%20notes.txt")).await;
    let html = dstor.ipfs(&format!("{folder}/index.html")).await;

    // Assert
    assert_eq!(nested.status(), 200);
    assert_eq!(nested.headers()["content-type"], "image/png");
    assert_eq!(
        encoded.headers()["content-type"],
        "text/plain; charset=utf-8"
    );
    assert_eq!(answer(encoded).await, (200, "spaces".to_owned()));
    assert_eq!(html.headers()["content-type"], "text/html; charset=utf-8");
}

#[tokio::test]
async fn a_single_range_gets_206_and_a_matching_etag_gets_304() {
    // Arrange
    let app = TestApp::spawn().await;
    let (_, logo) = site(&app).await;
    let url = app.url(&format!("/ipfs/{logo}"));

    // Act
    let ranged = app
        .client
        .get(&url)
        .header("Range", "bytes=1-3")
        .send()
        .await
        .unwrap();
    let cached = app
        .client
        .get(&url)
        .header("If-None-Match", format!("\"{logo}\""))
        .send()
        .await
        .unwrap();
    let head = app.client.head(&url).send().await.unwrap();

    // Assert
    assert_eq!(ranged.status(), 206);
    assert_eq!(ranged.headers()["content-range"], "bytes 1-3/15");
    assert_eq!(ranged.bytes().await.unwrap().as_ref(), b"PNG");
    assert_eq!(cached.status(), 304);
    assert_eq!(cached.headers()["etag"], format!("\"{logo}\"").as_str());
    assert_eq!(head.status(), 200);
    assert_eq!(head.headers()["content-length"], "15");
}

#[tokio::test]
async fn unknown_cids_folders_without_a_path_and_missing_entries_are_not_found() {
    // Arrange
    let app = TestApp::spawn().await;
    let (folder, logo) = site(&app).await;
    let dstor = Client::new(&app);
    let never_uploaded = "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o";

    // Act / Assert
    for path in [
        never_uploaded.to_owned(),
        "not-a-cid".to_owned(),
        folder.clone(),
        format!("{folder}/"),
        format!("{folder}/img"),
        format!("{folder}/missing.txt"),
        format!("{folder}/img/logo.png/more"),
        format!("{logo}/x"),
    ] {
        let response = dstor.ipfs(&path).await;
        assert_eq!(
            response.headers()["content-type"],
            "application/json; charset=utf-8"
        );
        assert_eq!(
            answer(response).await,
            (404, NOT_FOUND.to_owned()),
            "{path}"
        );
    }
}

#[tokio::test]
async fn unknown_routes_and_methods_under_dstor_paths_get_the_legacy_404() {
    let app = TestApp::spawn().await;
    let cases = [
        (reqwest::Method::GET, "/v1/upload/"),
        (reqwest::Method::GET, "/v1/upload/nope"),
        (reqwest::Method::POST, "/v1/upload/get-status/"),
        (reqwest::Method::DELETE, "/v1/dev/temp-token"),
        (reqwest::Method::GET, "/v1/dev/other"),
        (reqwest::Method::GET, "/ipfs"),
    ];
    for (method, path) in cases {
        let response = app
            .client
            .request(method.clone(), app.url(path))
            .send()
            .await
            .unwrap();
        assert_eq!(
            answer(response).await,
            (404, NOT_FOUND.to_owned()),
            "{method} {path}"
        );
    }
}
