//! The dStor flow end to end: the spec's worked example (§13), statuses, re-sent files and the
//! retry of a rejected request.

use super::{answer, file, Client};
use crate::helpers::{TestApp, USER_TOKEN};
use base64::Engine as _;
use serde_json::Value;

#[tokio::test]
async fn the_worked_example_of_the_spec_is_reproduced_exactly() {
    // Arrange: the example's x-expiration (2026-01-01) has passed; a future one of the same
    // form (a decimal) stands in for it.
    let app = TestApp::spawn().await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let expiration = now + 86_400;

    // Act / Assert: the access token.
    let response = app
        .client
        .get(app.url("/v1/dev/temp-token/"))
        .header("api-key", USER_TOKEN)
        .header("x-expiration", format!("{expiration}.5"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "application/json; charset=utf-8"
    );
    let body: Value = response.json().await.unwrap();
    let access_token = body["access_token"].as_str().unwrap().to_owned();
    assert_eq!(body.as_object().unwrap().len(), 1);
    let payload = access_token.split('.').next().unwrap();
    let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    assert_eq!(
        String::from_utf8(payload).unwrap(),
        format!(r#"{{"p":"alice","exp":{expiration}}}"#)
    );
    let dstor = Client::with(&app, &access_token);

    // The upload token.
    let (status, body) = answer(
        dstor
            .get_token_raw(r#"{"chunks_number":3,"folder_path":"evidence"}"#)
            .await,
    )
    .await;
    assert_eq!(status, 200);
    let token = serde_json::from_str::<Value>(&body).unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(body, format!(r#"{{"message":"ok","token":"{token}"}}"#));
    assert_eq!(token.len(), 32);
    assert!(token.bytes().all(|b| b.is_ascii_alphanumeric()));

    // Request 1, a rejected request that does not count, requests 2 and 3.
    let uploading = format!(r#"{{"status":"UPLOADING","upload_token":"{token}"}}"#);
    let r1 = answer(dstor.send(&token, &[file("a.txt", b"first file\n")]).await).await;
    assert_eq!(r1, (200, uploading.clone()));
    let bad = answer(
        dstor
            .send(&token, &[file("../b.txt", b"second file\n")])
            .await,
    )
    .await;
    assert_eq!(
        bad,
        (
            400,
            r#"{"message":"Invalid file path: ../b.txt"}"#.to_owned()
        )
    );
    let r2 = answer(dstor.send(&token, &[file("b.txt", b"second file\n")]).await).await;
    assert_eq!(r2, (200, uploading));
    let r3 = answer(
        dstor
            .send(&token, &[file("/img/c.txt", b"third file\n")])
            .await,
    )
    .await;
    assert_eq!(
        r3,
        (
            200,
            format!(r#"{{"status":"ADDING_TO_IPFS","upload_token":"{token}"}}"#)
        )
    );

    // The status, once processed.
    let done = dstor.wait_done(&token).await;
    assert_eq!(
        done,
        r#"{"status":"DONE","data":[{"Name":"evidence/a.txt","Hash":"QmQL22PPqPRaRL4Tko2SsbbZrQHq4FWrESRgfXnqBSudYF","Size":"19"},{"Name":"evidence/b.txt","Hash":"QmNVsGmgYmQRHfR3zCimpDZzzz1v5YKoCTBBvchcGYo8jL","Size":"20"},{"Name":"evidence/img/c.txt","Hash":"QmXG3wc2J8DqN6peBgBrAfadg59pHUwsAEX3sMYKJv6Tx7","Size":"19"},{"Name":"evidence/img","Hash":"QmQj4ZTtrfrH37aq884oQL2VZSwcF1RFybTc8Eq8TegDQP","Size":"70"},{"Name":"evidence","Hash":"QmXfU6KcQK8sWkaeJj4A1V7TkxWrsWkmACbyf1e1HJCEwQ","Size":"252"}]}"#
    );

    // The gateway, by file CID and by folder CID and path.
    for path in [
        "QmQL22PPqPRaRL4Tko2SsbbZrQHq4FWrESRgfXnqBSudYF",
        "QmXfU6KcQK8sWkaeJj4A1V7TkxWrsWkmACbyf1e1HJCEwQ/a.txt",
    ] {
        let (status, body) = answer(dstor.ipfs(path).await).await;
        assert_eq!((status, body.as_str()), (200, "first file\n"), "{path}");
    }

    // A fourth request.
    let r4 = answer(dstor.send(&token, &[file("d.txt", b"fourth\n")]).await).await;
    assert_eq!(
        r4,
        (
            400,
            r#"{"message":"All 3 chunks have already been uploaded"}"#.to_owned()
        )
    );
}

#[tokio::test]
async fn the_status_is_uploading_until_the_last_request_has_counted() {
    // Arrange
    let app = TestApp::spawn().await;
    let dstor = Client::new(&app);
    let token = dstor.open(2, "/").await;

    // Act
    let fresh = answer(dstor.status_raw(&token).await).await;
    dstor.send(&token, &[file("a.txt", b"a")]).await;
    let after_one = answer(dstor.status_raw(&token).await).await;
    dstor.send(&token, &[file("b.txt", b"b")]).await;
    let done: Value = serde_json::from_str(&dstor.wait_done(&token).await).unwrap();

    // Assert: at the root, names are the relative paths and there is no root entry.
    let uploading = (200, r#"{"status":"UPLOADING"}"#.to_owned());
    assert_eq!(fresh, uploading);
    assert_eq!(after_one, uploading);
    assert_eq!(done["status"], "DONE");
    let names: Vec<&str> = done["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["Name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["a.txt", "b.txt"]);
}

#[tokio::test]
async fn a_rejected_request_does_not_count_and_the_corrected_retry_succeeds() {
    // Arrange: `a` is a file, so `a/b` would make it a folder too.
    let app = TestApp::spawn().await;
    let dstor = Client::new(&app);
    let token = dstor.open(2, "test").await;
    dstor.send(&token, &[file("a", b"file a")]).await;

    // Act
    let conflict = answer(dstor.send(&token, &[file("a/b", b"nested")]).await).await;
    let retry = answer(dstor.send(&token, &[file("b", b"nested")]).await).await;

    // Assert
    assert_eq!(
        conflict,
        (
            400,
            r#"{"message":"File path conflicts with another entry: test/a"}"#.to_owned()
        )
    );
    assert_eq!(retry.0, 200);
    assert!(retry.1.contains("ADDING_TO_IPFS"));
    let done: Value = serde_json::from_str(&dstor.wait_done(&token).await).unwrap();
    assert_eq!(done["data"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn a_file_sent_again_replaces_the_first_and_keeps_its_place() {
    // Arrange
    let app = TestApp::spawn().await;
    let dstor = Client::new(&app);
    let token = dstor.open(3, "p").await;

    // Act: x, y, then x again with new bytes.
    dstor.send(&token, &[file("x.txt", b"old x")]).await;
    dstor.send(&token, &[file("y.txt", b"y")]).await;
    dstor.send(&token, &[file("./x.txt", b"new x")]).await;
    let done: Value = serde_json::from_str(&dstor.wait_done(&token).await).unwrap();

    // Assert
    let data = done["data"].as_array().unwrap();
    let names: Vec<&str> = data.iter().map(|e| e["Name"].as_str().unwrap()).collect();
    assert_eq!(names, ["p/x.txt", "p/y.txt", "p"]);
    let hash = data[0]["Hash"].as_str().unwrap();
    let (_, body) = answer(dstor.ipfs(hash).await).await;
    assert_eq!(body, "new x");
}

#[tokio::test]
async fn several_files_in_one_request_keep_their_part_order_whatever_the_field_names() {
    // Arrange: the Node demo's empty field name, a random one, and a plain field to ignore.
    let app = TestApp::spawn().await;
    let dstor = Client::new(&app);
    let token = dstor.open(1, "arbitration/alice").await;
    let parts = [
        super::Part {
            name: String::new(),
            filename: Some("z.txt".into()),
            data: b"z".to_vec(),
        },
        super::field("note", "not a file"),
        super::Part {
            name: "anything".into(),
            filename: Some("/docs/a.txt".into()),
            data: b"a".to_vec(),
        },
    ];

    // Act
    let sent = dstor.send(&token, &parts).await;
    let done: Value = serde_json::from_str(&dstor.wait_done(&token).await).unwrap();

    // Assert
    assert_eq!(sent.status(), 200);
    let names: Vec<&str> = done["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["Name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "arbitration/alice/z.txt",
            "arbitration/alice/docs/a.txt",
            "arbitration/alice/docs",
            "arbitration/alice",
            "arbitration"
        ]
    );
}

#[tokio::test]
async fn browsers_get_cors_answers_on_every_route() {
    // Arrange
    let app = TestApp::spawn().await;

    // Act
    let preflight = app
        .client
        .request(reqwest::Method::OPTIONS, app.url("/v1/upload/"))
        .header("Origin", "https://app.example")
        .header("Access-Control-Request-Method", "POST")
        .header(
            "Access-Control-Request-Headers",
            "authorization, x-dstor-upload-token",
        )
        .send()
        .await
        .unwrap();
    let refused = app
        .client
        .get(app.url("/v1/upload/get-status/"))
        .header("Origin", "https://app.example")
        .send()
        .await
        .unwrap();

    // Assert
    assert_eq!(preflight.status(), 204);
    let allowed = preflight.headers()["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_owned();
    for h in [
        "authorization",
        "x-dstor-upload-token",
        "x-dstor-comment",
        "api-key",
        "x-expiration",
    ] {
        assert!(allowed.contains(h), "{h} in {allowed}");
    }
    assert_eq!(preflight.headers()["access-control-allow-origin"], "*");
    assert_eq!(refused.status(), 401);
    assert_eq!(refused.headers()["access-control-allow-origin"], "*");
}

#[tokio::test]
async fn a_comment_is_stored_and_never_returned() {
    // Arrange
    let app = TestApp::spawn().await;
    let dstor = Client::new(&app);
    let token = dstor.open(1, "").await;
    let (content_type, body) = super::form(&[file("a.txt", b"a")]);

    // Act
    let response = app
        .client
        .post(app.url("/v1/upload"))
        .bearer_auth(USER_TOKEN)
        .header("x-dstor-upload-token", &token)
        .header("x-dstor-comment", "evidence for case 42")
        .header("Content-Type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    let (_, text) = answer(response).await;
    let done = dstor.wait_done(&token).await;

    // Assert
    assert!(!text.contains("case 42") && !done.contains("case 42"));
    let records = app.engine.inventory().await.unwrap().records;
    assert!(records
        .iter()
        .any(|(ns, _, v)| ns == "dstor" && String::from_utf8_lossy(v).contains("case 42")));
}
