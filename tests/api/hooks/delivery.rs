//! Journal events reach a real receiver: bodies, signatures, per-upload order and sequence
//! numbers, retries after failures.

use super::{expected_signature, hook, with_hooks, Receiver};
use crate::dyson::{create_body, md5_hex, Client};
use crate::helpers::{TestApp, ADMIN_TOKEN, USER_PRINCIPAL};
use crate::spika::{sha256_hex, Spika};
use chunkgate::engine::{FileId, Principal};
use serde_json::Value;
use std::time::{Duration, SystemTime};

#[tokio::test]
async fn a_dyson_upload_sends_created_completed_and_deleted_signed_in_order_with_its_legacy_ids() {
    // Arrange
    let receiver = Receiver::start().await;
    let app = TestApp::spawn_with(with_hooks(vec![hook(&receiver.url, &["*"])])).await;
    let dyson = Client::new(&app);
    let data = crate::dyson::random(300_000);
    let (task, count) = dyson
        .task(&create_body(&data, "report.pdf", 128 * 1024))
        .await;

    // Act
    for (i, piece) in data.chunks(128 * 1024).enumerate() {
        dyson.chunk(&task, i, piece).await.assert_empty(200);
    }
    let done = dyson.complete(&task).await;
    assert_eq!(done.status, 200, "{}", done.text());
    let cloud_id = done.json()["id"].as_str().unwrap().to_owned();
    let ours = |v: &Value| v["labels"]["task_id"] == task.as_str();
    let events = receiver.events(2, ours).await;
    let file_id: FileId = events[1]["file"]["id"].as_str().unwrap().parse().unwrap();
    app.engine
        .delete_file(&Principal::new(USER_PRINCIPAL), &file_id)
        .await
        .unwrap();
    let events = receiver.events(3, ours).await;

    // Assert: one upload, three events, numbered 1, 2, 3 in arrival order.
    assert_eq!(count, 3);
    let kinds: Vec<_> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        ["upload.created", "upload.completed", "file.deleted"]
    );
    let seqs: Vec<_> = events.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, [1, 2, 3]);
    let upload = events[0]["upload_id"].clone();
    for e in &events {
        assert_eq!(e["upload_id"], upload);
        assert_eq!(e["dialect"], "dyson");
        assert_eq!(e["principal"], USER_PRINCIPAL);
        assert_eq!(e["labels"]["name"], "report.pdf");
    }
    assert_eq!(events[0]["file"], Value::Null);
    let file = &events[1]["file"];
    assert_eq!(file["name"], "report.pdf");
    assert_eq!(file["size"], data.len());
    assert_eq!(file["md5"], md5_hex(&data));
    assert_eq!(file["sha256"], sha256_hex(&data));
    assert_eq!(file["legacy_ids"][0], format!("dyson:{cloud_id}"));
    let url = format!("{}/gateway/v1/files/{file_id}/content", app.address);
    assert_eq!(file["download_url"], url.as_str());
    assert_eq!(events[2]["file"]["id"], file["id"]);
    // The signature is the HMAC-SHA256 of the exact bytes received.
    let log = receiver.log();
    assert!(!log.is_empty());
    for r in &log {
        assert_eq!(
            r.signature.as_deref(),
            Some(expected_signature(&r.body).as_str())
        );
        assert_eq!(r.event, r.json()["type"].as_str().unwrap());
        assert_eq!(r.delivery, r.json()["id"].as_str().unwrap());
    }
    let ids: std::collections::HashSet<_> = events.iter().map(|e| e["id"].clone()).collect();
    assert_eq!(ids.len(), 3, "every event has its own id");
    // The URL in the completed event served the bytes until the file was deleted.
    let gone = app
        .client
        .get(&url)
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), 404);
}

#[tokio::test]
async fn the_completed_event_carries_a_download_url_that_serves_the_file() {
    // Arrange
    let receiver = Receiver::start().await;
    let app =
        TestApp::spawn_with(with_hooks(vec![hook(&receiver.url, &["upload.completed"])])).await;
    let spika = Spika::new(&app);
    let data = b"spika bytes for a webhook".to_vec();

    // Act
    assert_eq!(spika.chunk("hook-cid-1", 0, &data).await.status, 200);
    let verified = spika.verify("hook-cid-1", 1, &data).await;
    assert_eq!(verified.status, 200, "{}", verified.body);
    let events = receiver
        .events(1, |v| v["labels"]["client_id"] == "hook-cid-1")
        .await;

    // Assert: only the subscribed event type arrives, and its URL serves the content.
    assert_eq!(events[0]["type"], "upload.completed");
    assert_eq!(
        events[0]["seq"], 2,
        "upload.created was number 1, not sent to this hook"
    );
    assert_eq!(events[0]["dialect"], "spika");
    let url = events[0]["file"]["download_url"].as_str().unwrap();
    let got = app
        .client
        .get(url)
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(got.status(), 200);
    assert_eq!(got.bytes().await.unwrap().as_ref(), data.as_slice());
    assert!(receiver.log().iter().all(|r| r.event == "upload.completed"));
}

#[tokio::test]
async fn a_failed_verification_and_an_expiry_are_events_with_the_next_numbers() {
    // Arrange
    let receiver = Receiver::start().await;
    let app = TestApp::spawn_with(with_hooks(vec![hook(&receiver.url, &["*"])])).await;
    let spika = Spika::new(&app);
    let data = b"the real bytes".to_vec();
    assert_eq!(spika.chunk("hook-cid-2", 0, &data).await.status, 200);

    // Act
    let wrong = spika
        .verify_hash("hook-cid-2", 1, data.len(), &sha256_hex(b"other bytes"))
        .await;
    let later = SystemTime::now() + Duration::from_secs(400 * 24 * 3600);
    let swept = app.engine.sweep(later).await.unwrap();
    let events = receiver
        .events(3, |v| v["labels"]["client_id"] == "hook-cid-2")
        .await;

    // Assert
    assert_eq!(wrong.status, 400, "{}", wrong.body);
    assert!(swept.uploads >= 1);
    let kinds: Vec<_> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["upload.created", "upload.failed", "upload.expired"]);
    let seqs: Vec<_> = events.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, [1, 2, 3]);
    let mismatch = &events[1]["mismatch"];
    assert_eq!(mismatch["check"], "sha256");
    assert_eq!(mismatch["expected"], sha256_hex(b"other bytes"));
    assert_eq!(mismatch["actual"], sha256_hex(&data));
}

#[tokio::test]
async fn a_failing_receiver_gets_the_same_event_again_until_it_answers_2xx_and_order_holds() {
    // Arrange: the receiver fails the first two attempts.
    let receiver = Receiver::start().await;
    receiver.script(&[(500, "down"), (503, "still down")]);
    let app = TestApp::spawn_with(with_hooks(vec![hook(&receiver.url, &["*"])])).await;
    let spika = Spika::new(&app);
    let data = b"retry me".to_vec();

    // Act
    assert_eq!(spika.chunk("hook-cid-3", 0, &data).await.status, 200);
    assert_eq!(spika.verify("hook-cid-3", 1, &data).await.status, 200);
    let events = receiver
        .events(2, |v| v["labels"]["client_id"] == "hook-cid-3")
        .await;

    // Assert: the created event was tried three times (same id), then the completed one came.
    let log = receiver.log();
    let answers: Vec<_> = log.iter().map(|r| (r.event.as_str(), r.answered)).collect();
    assert_eq!(
        answers,
        [
            ("upload.created", 500),
            ("upload.created", 503),
            ("upload.created", 200),
            ("upload.completed", 200)
        ]
    );
    assert!(log[..3].iter().all(|r| r.delivery == log[0].delivery));
    assert_eq!(events[0]["seq"], 1);
    assert_eq!(events[1]["seq"], 2);
}

#[tokio::test]
async fn an_event_is_given_up_after_its_retries_and_the_next_one_still_arrives() {
    // Arrange: one retry only, and the receiver fails both attempts at the first event.
    let receiver = Receiver::start().await;
    receiver.script(&[(500, ""), (500, "")]);
    let mut h = hook(&receiver.url, &["*"]);
    h.retries = 1;
    let app = TestApp::spawn_with(with_hooks(vec![h])).await;
    let spika = Spika::new(&app);
    let data = b"give up".to_vec();

    // Act
    assert_eq!(spika.chunk("hook-cid-4", 0, &data).await.status, 200);
    assert_eq!(spika.verify("hook-cid-4", 1, &data).await.status, 200);
    let events = receiver
        .events(1, |v| v["labels"]["client_id"] == "hook-cid-4")
        .await;

    // Assert
    let answers: Vec<_> = receiver
        .log()
        .iter()
        .map(|r| (r.event.clone(), r.answered))
        .collect();
    assert_eq!(
        answers[..2],
        [
            ("upload.created".to_owned(), 500),
            ("upload.created".to_owned(), 500)
        ]
    );
    assert_eq!(events[0]["type"], "upload.completed");
    assert_eq!(events[0]["seq"], 2);
    assert_eq!(answers.len(), 3, "{answers:?}");
}
