//! Uploads of random files in every order the spec allows, downloaded back byte-identical
//! (spec §5, §6, §8); a wrong hash and its retry path (§6).

use super::*;
use crate::helpers::{TestApp, ADMIN_TOKEN};
use futures_util::StreamExt;
use rand::seq::SliceRandom;

/// How the chunks of an upload are sent.
#[derive(Clone, Copy, Debug)]
enum Order {
    Sequential,
    Shuffled,
    /// Shuffled, four requests in flight at once.
    Parallel,
    /// In order, after chunk 0 was first sent with other bytes.
    Resent,
}

const ORDERS: [Order; 4] = [
    Order::Sequential,
    Order::Shuffled,
    Order::Parallel,
    Order::Resent,
];

/// Uploads `data` with `chunk_size` in `order`, completes, downloads; asserts the round trip.
async fn round_trip(dyson: &Client<'_>, data: &[u8], chunk_size: usize, order: Order) {
    // Arrange
    let (task, count) = dyson
        .task(&create_body(data, "data.bin", chunk_size as u64))
        .await;
    assert_eq!(count as usize, data.len().div_ceil(chunk_size));
    let mut chunks: Vec<(usize, &[u8])> = data.chunks(chunk_size).enumerate().collect();

    // Act
    match order {
        Order::Sequential => {}
        Order::Shuffled | Order::Parallel => chunks.shuffle(&mut rand::thread_rng()),
        Order::Resent => {
            if let Some((_, first)) = chunks.first() {
                let other = random(first.len() + 3);
                dyson.chunk(&task, 0, &other).await.assert_empty(200);
            }
        }
    }
    let width = if matches!(order, Order::Parallel) {
        4
    } else {
        1
    };
    let answers: Vec<Answer> = futures_util::stream::iter(chunks)
        .map(|(i, piece)| {
            let task = task.clone();
            async move { dyson.chunk(&task, i, piece).await }
        })
        .buffer_unordered(width)
        .collect()
        .await;
    let done = dyson.complete(&task).await;

    // Assert
    for a in answers {
        a.assert_empty(200);
    }
    assert_eq!(done.status, 200, "{order:?}: {}", done.text());
    let file = done.json();
    assert_eq!(file["size"], data.len(), "{order:?}");
    assert_eq!(file["hash"], md5_hex(data));
    let id = file["id"].as_str().unwrap();
    let back = dyson.download(id).await;
    assert_eq!(back.status, 200);
    assert_eq!(
        back.header("content-length"),
        Some(data.len().to_string().as_str())
    );
    assert!(back.body == data, "{order:?}: downloaded bytes differ");
}

#[tokio::test]
async fn an_empty_file_of_zero_chunks_completes_and_downloads_empty() {
    let app = TestApp::spawn().await;
    let dyson = Client::new(&app);

    round_trip(&dyson, b"", 1024, Order::Sequential).await;
}

#[tokio::test]
async fn one_byte_files_round_trip_in_every_order() {
    let app = TestApp::spawn().await;
    let dyson = Client::new(&app).under("/api");

    // Distinct bytes, so no upload is answered by de-duplication.
    for (order, byte) in ORDERS.into_iter().zip([1u8, 2, 3, 4]) {
        round_trip(&dyson, &[byte], 8, order).await;
    }
}

#[tokio::test]
async fn a_file_not_a_multiple_of_the_chunk_size_round_trips_in_every_order() {
    let app = TestApp::spawn().await;
    let dyson = Client::new(&app);

    for order in ORDERS {
        round_trip(&dyson, &random(10_000 + 37), 1000, order).await;
    }
}

#[tokio::test]
async fn a_twenty_mebibyte_file_round_trips_in_every_order() {
    let app = TestApp::spawn().await;
    let dyson = Client::new(&app);

    for order in ORDERS {
        round_trip(&dyson, &random((20 << 20) + 5), 1 << 20, order).await;
    }
}

#[tokio::test]
async fn a_finished_file_is_also_served_by_the_operator_api_under_its_dyson_id() {
    // Arrange
    let app = TestApp::spawn().await;
    let data = random(3000);
    let file = Client::new(&app).upload(&data, 1024).await;
    let id = file["id"].as_str().unwrap();

    // Act
    let res = app
        .client
        .get(app.url(&format!("/gateway/v1/files/dyson:{id}/content")))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();

    // Assert
    assert_eq!(res.status(), 200);
    assert_eq!(res.bytes().await.unwrap().as_ref(), data.as_slice());
}

#[tokio::test]
async fn a_wrong_hash_fails_and_the_task_completes_once_the_bad_chunk_is_resent() {
    for (hash_of, detail) in [
        (md5_hex as fn(&[u8]) -> String, "MD5"),
        (|d: &[u8]| hex::encode(sha1::Sha1::digest(d)), "SHA-1"),
        (
            |d: &[u8]| hex::encode(sha2::Sha256::digest(d)).to_uppercase(),
            "SHA-256",
        ),
    ] {
        // Arrange: the declared hash is right, one chunk arrives damaged
        let app = TestApp::spawn().await;
        let dyson = Client::new(&app);
        let data = random(2500);
        let mut body = create_body(&data, "f.bin", 1000);
        body["hash"] = json!(hash_of(&data));
        let (task, _) = dyson.task(&body).await;
        let mut damaged = data[1000..2000].to_vec();
        damaged[10] ^= 0xff;
        dyson.chunk(&task, 0, &data[..1000]).await.assert_empty(200);
        dyson.chunk(&task, 1, &damaged).await.assert_empty(200);
        dyson.chunk(&task, 2, &data[2000..]).await.assert_empty(200);
        let assembled = [&data[..1000], &damaged[..], &data[2000..]].concat();

        // Act
        let failed = dyson.complete(&task).await;

        // Assert: the expected hash as sent, the computed one in lowercase
        failed.assert_json(
            400,
            &format!(
                r#"{{"code":"HASH_MISMATCH","message":"Hash mismatch: expected {}, computed {}.","status":400,"detail":"{detail}"}}"#,
                hash_of(&data),
                hash_of(&assembled).to_lowercase()
            ),
        );

        // Act: the retry path of spec §6 — re-send the chunk, complete again
        dyson
            .chunk(&task, 1, &data[1000..2000])
            .await
            .assert_empty(200);
        let done = dyson.complete(&task).await;

        // Assert
        assert_eq!(done.status, 200, "{detail}: {}", done.text());
        let id = done.json()["id"].as_str().unwrap().to_owned();
        assert!(dyson.download(&id).await.body == data);
    }
}

#[tokio::test]
async fn a_hash_that_is_not_hex_of_a_known_length_is_neither_verified_nor_deduplicated() {
    // Arrange
    let app = TestApp::spawn().await;
    let dyson = Client::new(&app);
    let mut body = create_body(b"abc", "f.txt", 10);
    body["hash"] = json!("not-a-digest");
    let (task, _) = dyson.task(&body).await;
    dyson.chunk(&task, 0, b"abc").await.assert_empty(200);

    // Act
    let done = dyson.complete(&task).await;
    let again = dyson.create(&body).await;

    // Assert
    assert_eq!(done.status, 200, "{}", done.text());
    assert_eq!(done.json()["hash"], md5_hex(b"abc"));
    assert_eq!(again.json()["file_exists"], false);
}

#[tokio::test]
async fn a_chunk_may_be_smaller_or_larger_than_the_chunk_size_and_the_last_body_wins() {
    // Arrange
    let app = TestApp::spawn().await;
    let dyson = Client::new(&app);
    let data = b"0123456789abcdefghij".to_vec();
    let (task, count) = dyson.task(&create_body(&data, "f", 10)).await;
    assert_eq!(count, 2);

    // Act: 15 bytes, then 5, then re-sent 15 → 5 identical, then the same again
    dyson.chunk(&task, 0, &data[..15]).await.assert_empty(200);
    dyson.chunk(&task, 1, &data[15..]).await.assert_empty(200);
    dyson.chunk(&task, 0, b"nope").await.assert_empty(200);
    dyson.chunk(&task, 0, &data[..15]).await.assert_empty(200);
    dyson.chunk(&task, 0, &data[..15]).await.assert_empty(200);
    let done = dyson.complete(&task).await;

    // Assert
    assert_eq!(done.status, 200, "{}", done.text());
    assert_eq!(done.json()["size"], 20);
}

#[tokio::test]
async fn parallel_completes_of_one_task_create_one_file_and_the_loser_gets_404() {
    // Arrange
    let app = TestApp::spawn().await;
    let dyson = Client::new(&app);
    let data = random(5000);
    let (task, _) = dyson.task(&create_body(&data, "f", 1000)).await;
    for (i, piece) in data.chunks(1000).enumerate() {
        dyson.chunk(&task, i, piece).await.assert_empty(200);
    }

    // Act
    let (a, b) = tokio::join!(dyson.complete(&task), dyson.complete(&task));

    // Assert
    let mut statuses = [a.status.as_u16(), b.status.as_u16()];
    statuses.sort();
    assert_eq!(statuses, [200, 404]);
    assert_eq!(app.engine.inventory().await.unwrap().files.len(), 1);
}
