//! Whole files through the dialect and back: in order, shuffled, in parallel, re-sent; the
//! fingerprint check and its retry (specs/audioboom.md §5, §6, §7).

use super::*;
use crate::helpers::{TestApp, ADMIN_TOKEN};
use futures_util::StreamExt;
use rand::seq::SliceRandom;
use rand::SeedableRng;

/// How the chunks after the first are sent.
#[derive(Clone, Copy)]
enum Order {
    Sequential,
    Shuffled,
    Parallel(usize),
}

/// Uploads `data` in chunks of `chunk` bytes; the create request carries the first chunk of the
/// sending order. One chunk is re-sent. Returns the attachment id.
async fn upload(boo: &Boo<'_>, data: &[u8], chunk: usize, order: Order) -> u64 {
    let mut offsets: Vec<usize> = (0..data.len()).step_by(chunk).collect();
    if !matches!(order, Order::Sequential) {
        offsets.shuffle(&mut rand::rngs::StdRng::seed_from_u64(data.len() as u64));
    }
    let piece = |o: usize| &data[o..(o + chunk).min(data.len())];
    let first = offsets[0];
    let created = boo.create(data.len(), first, piece(first)).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let id = created.attachment()["id"].as_u64().unwrap();
    let rest = offsets[1..].to_vec();
    match order {
        Order::Sequential | Order::Shuffled => {
            for o in rest {
                let a = boo.put(id, o, piece(o)).await;
                assert_eq!(a.status, 200, "{}", a.text);
            }
        }
        Order::Parallel(n) => {
            let answers: Vec<Answer> = futures_util::stream::iter(rest)
                .map(|o| boo.put(id, o, piece(o)))
                .buffer_unordered(n)
                .collect()
                .await;
            assert!(answers.iter().all(|a| a.status == 200));
        }
    }
    // One chunk re-sent: identical bytes are a no-op (after completion too).
    let again = boo.put(id, first, piece(first)).await;
    assert_eq!(again.status, 200, "{}", again.text);
    let state = boo.show(id).await;
    assert_eq!(state.attachment()["received"], data.len());
    assert_eq!(state.attachment()["outstanding"], 0);
    assert_eq!(state.attachment()["complete"], true);
    id
}

/// The bytes of attachment `id` through the operator API.
async fn operator_content(app: &TestApp, id: u64) -> Vec<u8> {
    let res = app
        .client
        .get(app.url(&format!("/gateway/v1/files/audioboom:{id}/content")))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res.bytes().await.unwrap().to_vec()
}

#[tokio::test]
async fn a_zero_byte_file_is_refused_because_the_size_must_be_positive() {
    // Arrange
    let app = TestApp::spawn().await;
    let before = app.engine.inventory().await.unwrap();

    // Act
    let a = Boo::new(&app).create(0, 0, b"").await;

    // Assert
    a.assert_error(422, 422, "attachment[size] must be a positive integer");
    assert_eq!(app.engine.inventory().await.unwrap(), before);
}

#[tokio::test]
async fn a_one_byte_file_comes_back_identical() {
    // Arrange
    let app = TestApp::spawn().await;
    let boo = Boo::new(&app);

    // Act
    let id = upload(&boo, b"x", 1, Order::Sequential).await;
    let clip = boo.clip(id).await;

    // Assert
    assert_eq!(boo.download(clip).await, b"x");
    assert_eq!(operator_content(&app, id).await, b"x");
}

#[tokio::test]
async fn a_file_of_an_odd_size_sent_in_order_comes_back_identical() {
    // Arrange
    let app = TestApp::spawn().await;
    let boo = Boo::new(&app);
    let data = random_bytes(1, 1_000_003);

    // Act
    let id = upload(&boo, &data, 65_536, Order::Sequential).await;

    // Assert
    assert_eq!(boo.download(boo.clip(id).await).await, data);
}

#[tokio::test]
async fn a_file_of_an_odd_size_sent_shuffled_comes_back_identical() {
    // Arrange
    let app = TestApp::spawn().await;
    let boo = Boo::new(&app);
    let data = random_bytes(2, 777_777);

    // Act
    let id = upload(&boo, &data, 50 * 1024, Order::Shuffled).await;

    // Assert
    assert_eq!(boo.download(boo.clip(id).await).await, data);
    assert_eq!(operator_content(&app, id).await, data);
}

#[tokio::test]
async fn a_twenty_mebibyte_file_sent_four_chunks_at_a_time_comes_back_identical() {
    // Arrange
    let app = TestApp::spawn().await;
    let boo = Boo::new(&app);
    let data = random_bytes(3, 20 * 1024 * 1024 + 5);

    // Act
    let id = upload(&boo, &data, 1024 * 1024, Order::Parallel(4)).await;

    // Assert
    assert_eq!(boo.download(boo.clip(id).await).await, data);
}

#[tokio::test]
async fn a_wrong_fingerprint_creates_nothing_and_the_right_one_then_succeeds() {
    // Arrange
    let app = TestApp::spawn().await;
    let boo = Boo::new(&app);
    let data = random_bytes(4, 100_001);
    let id = upload(&boo, &data, 30_000, Order::Shuffled).await;
    let idt = id.to_string();
    let before = app.engine.inventory().await.unwrap();

    // Act
    let wrong = boo
        .form(
            "/audio_clips",
            &[
                ("audio_clip[title]", "t"),
                ("audio_clip[uploaded_data][chunked_attachment_id]", &idt),
                (
                    "audio_clip[uploaded_data][fingerprint]",
                    &sha1_hex(b"other"),
                ),
            ],
        )
        .await;

    // Assert
    wrong.assert_error(
        422,
        422,
        &format!("fingerprint does not match attachment {id}"),
    );
    assert_eq!(app.engine.inventory().await.unwrap(), before);

    // Act: the retry, with the fingerprint in upper case (compared ignoring case).
    let right = boo
        .form(
            "/audio_clips",
            &[
                ("audio_clip[title]", "t"),
                ("audio_clip[uploaded_data][chunked_attachment_id]", &idt),
                (
                    "audio_clip[uploaded_data][fingerprint]",
                    &sha1_hex(&data).to_uppercase(),
                ),
            ],
        )
        .await;

    // Assert
    assert_eq!(right.status, 201, "{}", right.text);
    let clip = right.body()["audio_clip"]["id"].as_u64().unwrap();
    assert_eq!(boo.download(clip).await, data);
}

#[tokio::test]
async fn chunks_overlapping_with_different_bytes_conflict_and_change_nothing() {
    // Arrange
    let app = TestApp::spawn().await;
    let boo = Boo::new(&app);
    let id = boo.create(10, 0, b"01234").await.attachment()["id"]
        .as_u64()
        .unwrap();
    let before = app.engine.inventory().await.unwrap();

    // Act: bytes 3..7, where 3 and 4 are held and differ.
    let conflict = boo.put(id, 3, b"XY567").await;

    // Assert
    conflict.assert_error(409, 409, "Chunk conflicts with data already received");
    assert_eq!(app.engine.inventory().await.unwrap(), before);

    // Act: complete it, then re-send different and out-of-bounds bytes.
    let done = boo.put(id, 3, b"3456789").await;
    let differs = boo.put(id, 0, b"0123X").await;
    let beyond = boo.put(id, 8, b"89X").await;
    let same = boo.put(id, 2, b"23456").await;

    // Assert
    assert_eq!(done.attachment()["complete"], true);
    differs.assert_error(409, 409, "Chunk conflicts with data already received");
    beyond.assert_error(422, 422, "Chunk extends beyond attachment[size]");
    assert_eq!(same.status, 200);
    assert_eq!(same.attachment()["received"], 10);
}
