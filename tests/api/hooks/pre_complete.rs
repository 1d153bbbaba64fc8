//! A `pre-complete` hook is asked before a verified completion is committed; its refusal reaches
//! the client in the dialect's own error format and leaves the upload completable.

use super::{expected_signature, hook, with_hooks, Receiver};
use crate::dyson::{create_body, Client};
use crate::helpers::TestApp;
use crate::spika::{sha256_hex, Answer, Spika};

const REFUSAL: &str = r#"{"message":"quota exceeded for this folder"}"#;

#[tokio::test]
async fn a_refusal_reaches_a_spika_client_as_its_error_envelope_and_a_later_verify_succeeds() {
    // Arrange
    let receiver = Receiver::start().await;
    receiver.script(&[(403, REFUSAL)]);
    let app = TestApp::spawn_with(with_hooks(vec![hook(&receiver.url, &["pre-complete"])])).await;
    let spika = Spika::new(&app);
    let data = b"gated bytes".to_vec();
    assert_eq!(spika.chunk("gate-cid-1", 0, &data).await.status, 200);

    // Act
    let refused = spika.verify("gate-cid-1", 1, &data).await;
    let files_after_refusal = app.engine.inventory().await.unwrap().files.len();
    let accepted = spika.verify("gate-cid-1", 1, &data).await;

    // Assert: Spika's `{"status":"error","message":...}` 400 carries the hook's message.
    assert_eq!(
        refused,
        Answer::error(400, "quota exceeded for this folder")
    );
    assert_eq!(
        files_after_refusal, 0,
        "a refused completion stores no file"
    );
    assert_eq!(accepted.status, 200, "{}", accepted.body);
    let asked = receiver.log();
    assert_eq!(asked.len(), 2);
    let body = asked[0].json();
    assert_eq!(asked[0].event, "pre-complete");
    assert_eq!(body["type"], "pre-complete");
    assert_eq!(body["dialect"], "spika");
    assert_eq!(body["labels"]["client_id"], "gate-cid-1");
    assert_eq!(body["files"][0]["sha256"], sha256_hex(&data));
    assert_eq!(body["files"][0]["size"], data.len());
    assert_eq!(
        asked[0].signature.as_deref(),
        Some(expected_signature(&asked[0].body).as_str())
    );
}

#[tokio::test]
async fn a_refusal_reaches_a_dyson_client_as_a_validation_error_and_the_task_stays_open() {
    // Arrange
    let receiver = Receiver::start().await;
    receiver.script(&[(409, "name already used downstream")]);
    let app = TestApp::spawn_with(with_hooks(vec![hook(&receiver.url, &["pre-complete"])])).await;
    let dyson = Client::new(&app);
    let data = crate::dyson::random(1000);
    let (task, _) = dyson.task(&create_body(&data, "gated.bin", 4096)).await;
    dyson.chunk(&task, 0, &data).await.assert_empty(200);

    // Act
    let refused = dyson.complete(&task).await;
    let accepted = dyson.complete(&task).await;

    // Assert: Dyson's ApiError 400 shape, the hook's text under `errors.file`.
    assert_eq!(refused.status, 400, "{}", refused.text());
    let body = refused.json();
    assert_eq!(body["code"], "VALIDATION_ERROR");
    assert_eq!(body["status"], 400);
    assert_eq!(body["errors"]["file"][0], "name already used downstream");
    assert_eq!(accepted.status, 200, "{}", accepted.text());
    assert_eq!(accepted.json()["size"], 1000);
    assert_eq!(receiver.log()[0].json()["labels"]["task_id"], task.as_str());
}

#[tokio::test]
async fn an_unreachable_pre_complete_hook_refuses_rather_than_letting_completions_through() {
    // Arrange: a receiver that is stopped before the completion.
    let receiver = Receiver::start().await;
    let app = TestApp::spawn_with(with_hooks(vec![hook(&receiver.url, &["pre-complete"])])).await;
    receiver.stop().await;
    let spika = Spika::new(&app);
    let data = b"nobody to ask".to_vec();
    assert_eq!(spika.chunk("gate-cid-2", 0, &data).await.status, 200);

    // Act
    let refused = spika.verify("gate-cid-2", 1, &data).await;

    // Assert
    assert_eq!(
        refused,
        Answer::error(
            400,
            "completion could not be checked (pre-complete hook unavailable)"
        )
    );
    assert!(app.engine.inventory().await.unwrap().files.is_empty());
}

#[tokio::test]
async fn a_refusal_reaches_a_dstor_client_as_the_error_status_with_its_explanation() {
    // Arrange
    let receiver = Receiver::start().await;
    receiver.script(&[(403, r#"{"message":"folder quota exceeded"}"#)]);
    let app = TestApp::spawn_with(with_hooks(vec![hook(&receiver.url, &["pre-complete"])])).await;
    let dstor = crate::dstor::Client::new(&app);
    let token = dstor.open(1, "gated").await;

    // Act
    dstor
        .send(&token, &[crate::dstor::file("a.txt", b"refused folder")])
        .await;
    let status = dstor.wait_done(&token).await;

    // Assert: dStor reports finalisation failures only in its status (spec §6).
    assert_eq!(
        status,
        r#"{"status":"ERROR","errorExplanation":"folder quota exceeded","errorAtStage":"ADDING_TO_IPFS"}"#
    );
    assert!(app.engine.inventory().await.unwrap().files.is_empty());
    let asked = receiver.log()[0].json();
    assert_eq!(asked["dialect"], "dstor");
    assert_eq!(asked["labels"]["folder_path"], "gated");
    assert_eq!(asked["files"][0]["name"], "gated/a.txt");
}
