//! Files of every awkward size, chunks in every order the clients use, each downloaded back
//! byte-identical (specs/spika.md §3–§5, §11).

use super::*;
use crate::helpers::TestApp;
use futures_util::stream::{self, StreamExt};
use rand::seq::SliceRandom;

/// How the chunks of a file are sent.
#[derive(Clone, Copy, Debug)]
enum Order {
    /// 0, 1, 2, ... one after another (Android).
    Sequential,
    /// A random permutation, one after another.
    Shuffled,
    /// A random permutation, `n` requests at a time (the web client).
    Parallel(usize),
    /// In order, with chunk `total / 2` sent a second time with the same bytes.
    ResendOne,
}

/// Sends `data` in chunks of `chunk_size` (Android-wrapped base64 when `android`), checks every
/// answer's `uploadedChunks`, verifies and returns the verify answer.
async fn upload(
    spika: Spika<'_>,
    client_id: &str,
    data: &[u8],
    chunk_size: usize,
    order: Order,
    android: bool,
) -> Answer {
    let chunks: Vec<&[u8]> = data.chunks(chunk_size).collect();
    let total = chunks.len() as u64;
    let mut indexes: Vec<u64> = (0..total).collect();
    match order {
        Order::Sequential | Order::ResendOne => {}
        Order::Shuffled | Order::Parallel(_) => indexes.shuffle(&mut rand::thread_rng()),
    }
    if let Order::ResendOne = order {
        indexes.insert(indexes.len() / 2 + 1, total / 2);
    }
    let send = |i: u64| {
        let text = if android {
            b64_android(chunks[i as usize])
        } else {
            b64(chunks[i as usize])
        };
        async move { (i, spika.chunk_text(client_id, i, &text).await) }
    };
    let parallel = match order {
        Order::Parallel(n) => n,
        _ => 1,
    };
    let answers: Vec<(u64, Answer)> = stream::iter(indexes.clone())
        .map(send)
        .buffer_unordered(parallel)
        .collect()
        .await;
    for (i, answer) in &answers {
        assert_eq!(answer.status, 200, "chunk {i}: {}", answer.body);
        let held: Vec<u64> =
            serde_json::from_value(answer.value()["data"]["uploadedChunks"].clone()).unwrap();
        assert!(
            held.contains(i),
            "chunk {i} missing from its own answer {held:?}"
        );
        assert!(
            held.windows(2).all(|w| w[0] < w[1]),
            "not ascending: {held:?}"
        );
    }
    if parallel == 1 {
        // One after another: each answer lists exactly what was sent so far.
        let mut sent: Vec<u64> = Vec::new();
        for (i, answer) in &answers {
            if !sent.contains(i) {
                sent.push(*i);
            }
            sent.sort_unstable();
            assert_eq!(answer, &Answer::chunks(&sent), "after chunk {i}");
        }
    }
    spika.verify(client_id, total, data).await
}

/// Downloads the file both ways (by id and by `clientId`) and through the operator API.
async fn assert_downloads(app: &TestApp, spika: Spika<'_>, id: u64, client_id: &str, data: &[u8]) {
    for path in [
        format!("/api/upload/files/{id}"),
        format!("/uploads/files/{client_id}"),
    ] {
        let (status, headers, body) = spika.download(&path).await;
        assert_eq!(status, 200, "{path}");
        assert_eq!(body.len(), data.len(), "{path}");
        assert!(body == data, "{path}: the bytes differ");
        assert_eq!(headers["content-type"], "application/octet-stream");
        assert_eq!(headers["content-length"], data.len().to_string().as_str());
        assert_eq!(headers["cache-control"], "public, max-age=86400");
        assert_eq!(headers["accept-ranges"], "bytes");
    }
    let operator = app
        .admin(
            reqwest::Method::GET,
            &format!("/gateway/v1/files/spika:{id}/content"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(operator.status().as_u16(), 200);
    assert!(operator.bytes().await.unwrap() == data);
}

async fn round_trip(size: usize, chunk_size: usize, order: Order, android: bool) {
    // Arrange
    let app = TestApp::spawn().await;
    let spika = Spika::new(&app);
    let data = random_bytes(size as u64, size);
    let client_id = format!("rt-{size}-{order:?}").replace(['(', ')'], "");

    // Act
    let verified = upload(spika, &client_id, &data, chunk_size, order, android).await;

    // Assert
    let id = file_id(&verified);
    let file = &verified.value()["data"]["file"];
    assert_eq!(file["size"], data.len().max(1));
    assert_eq!(file["path"], format!("/uploads/files/{client_id}"));
    assert_downloads(&app, spika, id, &client_id, &data).await;
}

#[tokio::test]
async fn a_one_byte_file_round_trips() {
    round_trip(1, 1024, Order::Sequential, false).await;
}

#[tokio::test]
async fn a_file_not_a_multiple_of_the_chunk_size_round_trips_in_order() {
    round_trip(10 * 1000 + 7, 1000, Order::Sequential, true).await;
}

#[tokio::test]
async fn a_file_not_a_multiple_of_the_chunk_size_round_trips_shuffled() {
    round_trip(10 * 1000 + 7, 1000, Order::Shuffled, false).await;
}

#[tokio::test]
async fn a_file_not_a_multiple_of_the_chunk_size_round_trips_with_4_chunks_in_parallel() {
    round_trip(30 * 1000 + 7, 1000, Order::Parallel(4), false).await;
}

#[tokio::test]
async fn a_file_with_one_chunk_sent_twice_round_trips() {
    round_trip(10 * 1000 + 7, 1000, Order::ResendOne, true).await;
}

#[tokio::test]
async fn a_20_mib_file_in_1_mib_android_chunks_in_order_round_trips() {
    round_trip((20 << 20) + 12_345, 1 << 20, Order::Sequential, true).await;
}

#[tokio::test]
async fn a_20_mib_file_in_web_chunks_4_in_parallel_with_one_resent_round_trips() {
    // Arrange: the later web uploader's 1 MiB chunks, shuffled, 6 at a time, one sent twice.
    let app = TestApp::spawn().await;
    let spika = Spika::new(&app);
    let data = random_bytes(20, (20 << 20) + 999);
    let chunks: Vec<&[u8]> = data.chunks(1 << 20).collect();
    let mut order: Vec<usize> = (0..chunks.len()).collect();
    order.shuffle(&mut rand::thread_rng());
    order.push(order[3]);

    // Act
    let answers: Vec<Answer> = stream::iter(order)
        .map(|i| {
            let chunk = chunks[i];
            async move { spika.chunk("web20", i as u64, chunk).await }
        })
        .buffer_unordered(6)
        .collect()
        .await;
    let verified = spika.verify("web20", chunks.len() as u64, &data).await;

    // Assert
    assert!(answers.iter().all(|a| a.status == 200));
    let id = file_id(&verified);
    assert_downloads(&app, spika, id, "web20", &data).await;
}

#[tokio::test]
async fn an_empty_file_is_one_whitespace_chunk_and_downloads_back_empty() {
    // Arrange: an empty chunk can only be sent as whitespace (§3 rule 6: `""` is "required"),
    // and `size` must be at least 1 but is stored as sent, not compared (§4).
    let app = TestApp::spawn().await;
    let spika = Spika::new(&app);

    // Act
    let empty = spika.chunk_text("empty", 0, "").await;
    let chunk = spika.chunk_text("empty", 0, "\n").await;
    let size_zero = spika.verify_hash("empty", 1, 0, &sha256_hex(b"")).await;
    let verified = spika.verify_hash("empty", 1, 1, &sha256_hex(b"")).await;

    // Assert
    assert_eq!(empty, Answer::validation("chunk is a required field"));
    assert_eq!(chunk, Answer::chunks(&[0]));
    assert_eq!(
        size_zero,
        Answer::validation("size must be greater than or equal to 1")
    );
    let id = file_id(&verified);
    assert_downloads(&app, spika, id, "empty", b"").await;
}

#[tokio::test]
async fn chunks_beyond_total_are_listed_but_not_assembled() {
    // Arrange
    let app = TestApp::spawn().await;
    let spika = Spika::new(&app);
    spika.chunk("extra", 0, b"abc").await;
    spika.chunk("extra", 1, b"def").await;
    let listed = spika.chunk("extra", 5, b"ignored").await;

    // Act
    let verified = spika.verify("extra", 2, b"abcdef").await;

    // Assert
    assert_eq!(listed, Answer::chunks(&[0, 1, 5]));
    let id = file_id(&verified);
    assert_downloads(&app, spika, id, "extra", b"abcdef").await;
}

#[tokio::test]
async fn a_range_request_gets_206_with_the_requested_bytes() {
    // Arrange
    let app = TestApp::spawn().await;
    let spika = Spika::new(&app);
    let data = random_bytes(7, 5000);
    spika.chunk("ranged", 0, &data).await;
    let id = file_id(&spika.verify("ranged", 1, &data).await);

    // Act
    let partial = spika
        .request(reqwest::Method::GET, &format!("/api/upload/files/{id}"))
        .header("range", "bytes=100-199")
        .send()
        .await
        .unwrap();
    let beyond = spika
        .request(reqwest::Method::GET, "/uploads/files/ranged")
        .header("range", "bytes=6000-")
        .send()
        .await
        .unwrap();

    // Assert
    assert_eq!(partial.status().as_u16(), 206);
    assert_eq!(partial.headers()["content-range"], "bytes 100-199/5000");
    assert_eq!(
        partial.headers()["content-type"],
        "application/octet-stream"
    );
    assert_eq!(partial.bytes().await.unwrap().as_ref(), &data[100..200]);
    assert_eq!(beyond.status().as_u16(), 416);
}
