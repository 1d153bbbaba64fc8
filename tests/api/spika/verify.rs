//! Verify: missing chunks, hash mismatch and the repair path, the verified state, one verify at
//! a time (specs/spika.md §4, §6, §7).

use super::*;
use crate::helpers::TestApp;

#[tokio::test]
async fn a_wrong_chunk_fails_the_hash_keeps_every_chunk_and_a_resent_chunk_then_verifies() {
    // Arrange: chunk 1 arrives corrupted.
    let app = TestApp::spawn().await;
    let spika = Spika::new(&app);
    let data = random_bytes(1, 3000);
    spika.chunk("repair", 0, &data[..1000]).await;
    spika.chunk("repair", 1, &random_bytes(2, 1000)).await;
    spika.chunk("repair", 2, &data[2000..]).await;

    // Act
    let mismatch = spika.verify("repair", 3, &data).await;
    let kept = spika.get("/api/upload/files/check/repair").await;
    let resent = spika.chunk("repair", 1, &data[1000..2000]).await;
    let verified = spika.verify("repair", 3, &data).await;

    // Assert
    assert_eq!(mismatch, Answer::error(400, "Hash doesn't match"));
    assert_eq!(kept, Answer::chunks(&[0, 1, 2]));
    assert_eq!(resent, Answer::chunks(&[0, 1, 2]));
    let id = file_id(&verified);
    let (_, _, body) = spika.download(&format!("/api/upload/files/{id}")).await;
    assert!(body == data);
}

#[tokio::test]
async fn a_wrong_file_hash_fails_and_the_right_one_then_verifies_without_resending() {
    // Arrange
    let app = TestApp::spawn().await;
    let spika = Spika::new(&app);
    let data = random_bytes(3, 2500);
    for (i, c) in data.chunks(1000).enumerate() {
        spika.chunk("rehash", i as u64, c).await;
    }
    let files_before = app.engine.inventory().await.unwrap().files;

    // Act
    let mismatch = spika
        .verify_hash("rehash", 3, 2500, &sha256_hex(b"something else"))
        .await;
    let files_after_mismatch = app.engine.inventory().await.unwrap().files;
    // Compared ignoring case (§7).
    let verified = spika
        .verify_hash("rehash", 3, 2500, &sha256_hex(&data).to_uppercase())
        .await;

    // Assert
    assert_eq!(mismatch, Answer::error(400, "Hash doesn't match"));
    assert_eq!(
        files_after_mismatch, files_before,
        "a mismatch creates nothing"
    );
    file_id(&verified);
}

#[tokio::test]
async fn verify_with_a_missing_chunk_answers_400_and_changes_nothing() {
    // Arrange
    let app = TestApp::spawn().await;
    let spika = Spika::new(&app);
    spika.chunk("gap", 0, b"aaa").await;
    spika.chunk("gap", 2, b"ccc").await;
    let before = app.engine.inventory().await.unwrap();

    // Act
    let gap = spika.verify("gap", 3, b"aaabbbccc").await;
    let unknown = spika.verify("never-sent", 1, b"x").await;

    // Assert
    assert_eq!(gap, Answer::error(400, "Not all chunks are uploaded"));
    assert_eq!(unknown, Answer::error(400, "Not all chunks are uploaded"));
    assert_eq!(app.engine.inventory().await.unwrap(), before);
}

#[tokio::test]
async fn a_verified_client_id_refuses_further_chunks_and_verifies() {
    // Arrange
    let app = TestApp::spawn().await;
    let spika = Spika::new(&app);
    spika.chunk("done", 0, b"hello").await;
    file_id(&spika.verify("done", 1, b"hello").await);
    let before = app.engine.inventory().await.unwrap();

    // Act
    let chunk = spika.chunk("done", 0, b"hello").await;
    let other_chunk = spika.chunk("done", 1, b"more").await;
    let verify = spika.verify("done", 1, b"hello").await;
    let check = spika.get("/api/upload/files/check/done").await;

    // Assert
    let exists = Answer::error(400, "File with that clientId already exists");
    assert_eq!(chunk, exists);
    assert_eq!(other_chunk, exists);
    assert_eq!(verify, exists);
    assert_eq!(check, Answer::error(404, "Not found"));
    assert_eq!(app.engine.inventory().await.unwrap(), before);
}

#[tokio::test]
async fn concurrent_verifies_of_one_client_id_give_one_file_and_one_already_exists() {
    // Arrange
    let app = TestApp::spawn().await;
    let spika = Spika::new(&app);
    let data = random_bytes(4, 300_000);
    for (i, c) in data.chunks(100_000).enumerate() {
        spika.chunk("twice", i as u64, c).await;
    }

    // Act
    let (a, b, c) = tokio::join!(
        spika.verify("twice", 3, &data),
        spika.verify("twice", 3, &data),
        spika.verify("twice", 3, &data)
    );

    // Assert
    let mut statuses = [a.status, b.status, c.status];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 400, 400], "{a:?} {b:?} {c:?}");
    for answer in [a, b, c].iter().filter(|a| a.status == 400) {
        assert_eq!(
            answer,
            &Answer::error(400, "File with that clientId already exists")
        );
    }
    let inventory = app.engine.inventory().await.unwrap();
    assert_eq!(inventory.files.len(), 1);
    assert!(inventory.uploads.is_empty());
}

#[tokio::test]
async fn the_verify_answer_echoes_every_field_and_truncates_meta_data() {
    // Arrange
    let app = TestApp::spawn().await;
    let spika = Spika::new(&app);
    spika.chunk("meta", 0, b"RIFF....WAVE").await;
    let body = json!({
        "total": 1, "size": 999, "mimeType": "audio/wav", "fileName": "voice message.wav",
        "clientId": "meta", "fileHash": sha256_hex(b"RIFF....WAVE"), "type": "message",
        "relationId": null, "roomId": 42, "unknown": {"ignored": true},
        "metaData": {"duration": 1234.9, "width": -2.5},
    });

    // Act
    let answer = spika.post("/api/upload/files/verify", &body).await;

    // Assert: the whole body, keys in the legacy order; `size` as sent, `relationId` null,
    // `metaData` truncated toward zero with 0 for the missing key.
    assert_eq!(answer.status, 200, "{}", answer.body);
    let file = &answer.value()["data"]["file"];
    let (id, created) = (
        file["id"].as_u64().unwrap(),
        file["createdAt"].as_u64().unwrap(),
    );
    let expected = format!(
        r#"{{"status":"success","data":{{"file":{{"id":{id},"fileName":"voice message.wav","size":999,"mimeType":"audio/wav","type":"message","relationId":null,"clientId":"meta","path":"/uploads/files/meta","metaData":{{"duration":1234,"width":-2,"height":0}},"createdAt":{created}}}}}}}"#
    );
    assert_eq!(answer, Answer::json(200, &expected));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    assert!(
        created <= now && created > now - 3_600_000,
        "milliseconds: {created}"
    );
    let (_, headers, _) = spika.download("/uploads/files/meta").await;
    assert_eq!(headers["content-type"], "audio/wav");
}
