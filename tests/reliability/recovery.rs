//! Crash windows found by the crash runs, reproduced deterministically in-process: the state a
//! restart leaves when the server died between the engine committing a completion (start-up
//! finishes an interrupted intent) and the dialect recording it.

use chunkgate::engine::{Completion, Expectation, NewFile, Principal, UploadId};
use serde_json::{json, Value};

use crate::clients::{content, multipart};
use crate::helpers::{TestApp, USER_PRINCIPAL, USER_TOKEN};

fn dyson(app: &TestApp, path: &str) -> reqwest::RequestBuilder {
    app.client
        .post(app.url(&format!("/drive/files/upload{path}")))
        .header("Authorization", format!("AtField {USER_TOKEN}"))
}

#[tokio::test]
async fn a_dyson_complete_retried_after_the_engine_committed_but_the_task_was_not_replaced_answers_the_cloud_file(
) {
    // Arrange: a task with its one chunk, then the engine's half of the completion done
    // (under the file id the task chose), as start-up leaves it after a kill.
    let app = TestApp::spawn().await;
    let data = content(7, 100_000);
    let md5 = hex::encode(<md5::Md5 as sha2::Digest>::digest(&data));
    let create = json!({"hash": md5, "file_name": "a.bin", "file_size": data.len(),
        "content_type": "application/octet-stream", "chunk_size": 1 << 20});
    let task: Value = dyson(&app, "/create")
        .json(&create)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let task_id = task["task_id"].as_str().unwrap();
    let (ctype, form) = multipart(&[("chunk", Some("blob"), &data)]);
    let sent = dyson(&app, &format!("/chunk/{task_id}/0"))
        .header("Content-Type", ctype)
        .body(form)
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), 200);
    let record: Value = app
        .engine
        .records("dyson")
        .get(&format!("task:{task_id}"))
        .await
        .unwrap()
        .unwrap();
    let upload: UploadId = serde_json::from_value(record["upload"].clone()).unwrap();
    let file_id = record["file_id"].as_str().unwrap().to_owned();
    let owner = Principal::new(USER_PRINCIPAL);
    let done = app
        .engine
        .complete(
            &owner,
            upload,
            Expectation::default(),
            NewFile {
                name: "a.bin".into(),
                aliases: vec![("dyson".into(), file_id.clone())],
                ..NewFile::default()
            },
        )
        .await
        .unwrap();
    assert!(matches!(done, Completion::Completed(_)));

    // Act: the client retries its complete.
    let retried = dyson(&app, &format!("/complete/{task_id}"))
        .send()
        .await
        .unwrap();

    // Assert: the CloudFile of the stored file, downloadable; a further complete is 404.
    assert_eq!(retried.status(), 200);
    let cloud: Value = retried.json().await.unwrap();
    assert_eq!(cloud["id"], file_id.as_str());
    assert_eq!(cloud["hash"], md5.as_str());
    let got = app
        .client
        .get(app.url(&format!("/drive/files/{file_id}")))
        .header("Authorization", format!("AtField {USER_TOKEN}"))
        .send()
        .await
        .unwrap();
    assert_eq!(got.status(), 200);
    assert!(got.bytes().await.unwrap() == data);
    let again = dyson(&app, &format!("/complete/{task_id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 404);
}

#[tokio::test]
async fn a_spika_verify_retried_after_the_engine_stored_the_file_but_not_its_records_answers_the_file(
) {
    // Arrange: a clientId with its one chunk, then the engine's half of a verify done (the
    // file aliased by its upload, legacy number 999), as start-up leaves it after a kill.
    use base64::Engine as _;
    let app = TestApp::spawn().await;
    let data = content(8, 50_000);
    let chunk = json!({"chunk": base64::engine::general_purpose::STANDARD.encode(&data),
        "offset": 0, "clientId": "crashed-verify"});
    let sent = app
        .client
        .post(app.url("/api/upload/files"))
        .header("accesstoken", USER_TOKEN)
        .json(&chunk)
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), 200);
    let pointer: Value = app
        .engine
        .records("spika")
        .get(&format!(
            "upload/{}:{USER_PRINCIPAL}/crashed-verify",
            USER_PRINCIPAL.len()
        ))
        .await
        .unwrap()
        .unwrap();
    let upload: UploadId = serde_json::from_value(pointer["upload"].clone()).unwrap();
    let owner = Principal::new(USER_PRINCIPAL);
    let done = app
        .engine
        .complete(
            &owner,
            upload,
            Expectation::default(),
            NewFile {
                name: "v.bin".into(),
                aliases: vec![
                    ("spika".into(), "999".into()),
                    ("spika.upload".into(), upload.to_string()),
                ],
                ..NewFile::default()
            },
        )
        .await
        .unwrap();
    assert!(matches!(done, Completion::Completed(_)));

    // Act: the client retries its verify.
    let verify = json!({"total": 1, "size": data.len(), "mimeType": "application/octet-stream",
        "fileName": "v.bin", "clientId": "crashed-verify",
        "fileHash": crate::clients::sha256_hex(&data), "type": "message"});
    let retried = app
        .client
        .post(app.url("/api/upload/files/verify"))
        .header("accesstoken", USER_TOKEN)
        .json(&verify)
        .send()
        .await
        .unwrap();

    // Assert: the stored file under its legacy number, downloadable; then "already exists".
    assert_eq!(retried.status(), 200);
    let answer: Value = retried.json().await.unwrap();
    assert_eq!(answer["data"]["file"]["id"], 999, "{answer}");
    let got = app
        .client
        .get(app.url("/api/upload/files/999"))
        .header("accesstoken", USER_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(got.status(), 200);
    assert!(got.bytes().await.unwrap() == data);
    let again = app
        .client
        .post(app.url("/api/upload/files/verify"))
        .header("accesstoken", USER_TOKEN)
        .json(&verify)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 400);
    assert!(again.text().await.unwrap().contains("already exists"));
}
