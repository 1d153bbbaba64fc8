//! Whole files through the dialect and back: every size, every order (spec §5.2, §6).

use super::*;
use crate::helpers::TestApp;
use futures_util::StreamExt;
use rand::seq::SliceRandom;

const CHUNK: usize = 1 << 20;

#[derive(Clone, Copy, Debug)]
enum Order {
    Sequential,
    Shuffled,
    /// `n` requests at once, in shuffled order.
    Parallel(usize),
}

/// Creates a file for `content`, sends its chunks in `order` (with `resend`, chunk 1 first goes
/// with wrong bytes and is re-sent correctly after all the others), waits for the assembly and
/// returns the file id.
async fn upload(app: &TestApp, name: &str, content: &[u8], order: Order, resend: bool) -> u64 {
    let chunks = chunks_of(content, CHUNK);
    let created = create(app, name, Some(&sha256(content)), chunks.len()).await;
    let mut sends: Vec<(usize, Vec<u8>)> = chunks.iter().cloned().enumerate().collect();
    if !matches!(order, Order::Sequential) {
        sends.shuffle(&mut rand::thread_rng());
    }
    if resend {
        // Chunk 1 goes wrong first; its right bytes are sent again once all others are in.
        let mut wrong = chunks[0].clone();
        wrong.push(0xAA);
        sends.retain(|(i, _)| *i != 0);
        sends.insert(0, (0, wrong));
    }
    let parallel = match order {
        Order::Parallel(n) => n,
        _ => 1,
    };
    let statuses: Vec<u16> = futures_util::stream::iter(sends)
        .map(|(i, data)| {
            let upload = created.uploads[i];
            async move {
                put_chunk(app, created.id, upload, data)
                    .await
                    .status()
                    .as_u16()
            }
        })
        .buffer_unordered(parallel)
        .collect()
        .await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    if resend {
        // The last complete body wins (spec §6): the right bytes repair the file.
        let status = put_chunk(app, created.id, created.uploads[0], chunks[0].clone())
            .await
            .status();
        assert_eq!(status, 200);
    }
    wait_for_status(app, created.id, "completed").await;
    created.id
}

async fn round_trip(order: Order, resend: bool) {
    // Arrange
    let app = TestApp::spawn().await;
    let files = [
        random_bytes(0),
        random_bytes(1),
        random_bytes(3 * CHUNK + 12_345),
        random_bytes(20 * CHUNK + 777),
    ];

    for (n, content) in files.iter().enumerate() {
        // Act
        let id = upload(&app, &format!("file-{n}.bin"), content, order, resend).await;
        let back = download(&app, id).await;

        // Assert
        assert_eq!(
            back.len(),
            content.len(),
            "{order:?} size {}",
            content.len()
        );
        assert!(back == *content, "{order:?} size {}", content.len());
        let file = get_file(&app, id).await;
        assert_eq!(file["uploads"], json!([]));
        assert_eq!(file["checksum"], sha256(content));
    }
}

#[tokio::test]
async fn files_of_every_size_sent_in_order_come_back_byte_identical() {
    round_trip(Order::Sequential, false).await;
}

#[tokio::test]
async fn files_of_every_size_sent_shuffled_come_back_byte_identical() {
    round_trip(Order::Shuffled, false).await;
}

#[tokio::test]
async fn files_of_every_size_sent_four_at_a_time_with_a_chunk_resent_come_back_byte_identical() {
    round_trip(Order::Parallel(4), true).await;
}

#[tokio::test]
async fn chunks_sent_with_put_and_chunked_transfer_encoding_are_stored_like_patch() {
    // Arrange: curl's upload mode sends PUT and may stream the body (spec §10).
    let app = TestApp::spawn().await;
    let content = random_bytes(300_000);
    let parts = chunks_of(&content, 200_000);
    let created = create(&app, "put.bin", Some(&sha256(&content)), parts.len()).await;

    // Act
    for (i, part) in parts.into_iter().enumerate() {
        let pieces: Vec<Result<Vec<u8>, std::io::Error>> =
            part.chunks(7_000).map(|p| Ok(p.to_vec())).collect();
        let response = request(
            &app,
            Method::PUT,
            &format!("/api/files/{}/uploads/{}", created.id, created.uploads[i]),
        )
        .header("Content-Type", "application/octet-stream")
        .header("Expect", "100-continue")
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
            pieces,
        )))
        .send()
        .await
        .unwrap();
        assert_eq!(response.status(), 200);
    }

    // Assert
    wait_for_status(&app, created.id, "completed").await;
    assert!(download(&app, created.id).await == content);
}

#[tokio::test]
async fn the_file_is_registered_under_its_legacy_id_for_the_operator() {
    // Arrange
    let app = TestApp::spawn().await;
    let content = b"operator view".to_vec();
    let created = create(&app, "op.txt", Some(&sha256(&content)), 1).await;
    put_chunk(&app, created.id, created.uploads[0], content.clone()).await;
    wait_for_status(&app, created.id, "completed").await;

    // Act
    let response = app
        .admin(
            Method::GET,
            &format!("/gateway/v1/files/filesnest:{}", created.id),
        )
        .send()
        .await
        .unwrap();

    // Assert
    let (status, body) = json_of(response).await;
    assert_eq!(status, 200);
    assert_eq!(body["name"], "op.txt");
    assert_eq!(body["size"], content.len());
    assert_eq!(body["principal"], crate::helpers::USER_PRINCIPAL);
}
