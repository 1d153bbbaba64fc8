//! The outbox is durable: events recorded while the receiver is down are delivered after the
//! server restarts, in order, once the receiver is back.

use super::process::{write_config, Server};
use super::{Receiver, SECRET};
use crate::helpers::USER_TOKEN;
use crate::spika::{b64, verify_body};
use serde_json::json;

#[tokio::test]
async fn events_queued_while_the_receiver_is_down_are_delivered_after_a_restart() {
    // Arrange: the receiver refuses everything; a long back-off keeps the server waiting.
    let receiver = Receiver::start().await;
    receiver.answer_by_default(503, "down for maintenance");
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        &format!(
            "\n[[hooks]]\nurl = \"{}\"\nevents = [\"*\"]\nsecret = \"{SECRET}\"\nretries = 1000\nbackoff = \"50ms\"\nmax_backoff = \"500ms\"\n",
            receiver.url
        ),
    );
    let server = Server::start(&config).await;
    let client = reqwest::Client::new();
    let data = b"delivered after a restart".to_vec();
    let spika = |path: &str, body: serde_json::Value| {
        client
            .post(server.url(path))
            .header("accesstoken", USER_TOKEN)
            .json(&body)
            .send()
    };
    let chunk = json!({"chunk": b64(&data), "offset": 0, "clientId": "restart-cid"});
    assert_eq!(
        spika("/api/upload/files", chunk).await.unwrap().status(),
        200
    );
    let verify = verify_body(
        "restart-cid",
        1,
        data.len(),
        &crate::spika::sha256_hex(&data),
    );
    let verified = spika("/api/upload/files/verify", verify).await.unwrap();
    assert_eq!(verified.status(), 200);
    receiver
        .wait_until("a refused attempt", |log| {
            log.iter().any(|r| r.answered == 503)
        })
        .await;

    // Act: stop the server, bring the receiver back, start the server on the same store.
    server.stop().await;
    receiver.answer_by_default(200, "");
    let server = Server::start(&config).await;
    let events = receiver
        .events(2, |v| v["labels"]["client_id"] == "restart-cid")
        .await;

    // Assert: both events, in order, with their numbers.
    let kinds: Vec<_> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["upload.created", "upload.completed"]);
    assert_eq!(events[0]["seq"], 1);
    assert_eq!(events[1]["seq"], 2);
    let refused = receiver.log().iter().filter(|r| r.answered == 503).count();
    assert!(refused >= 1);
    // Every refused attempt was at the first event: order per upload held across the restart.
    assert!(receiver
        .log()
        .iter()
        .filter(|r| r.answered == 503)
        .all(|r| r.event == "upload.created"));
    server.stop().await;
    let accepted = receiver.log().iter().filter(|r| r.answered == 200).count();
    assert_eq!(accepted, 2, "an event answered 2xx is not sent again");
}
