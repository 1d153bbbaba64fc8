//! Ownership (specs/spika.md §2, specs/README.md "Ownership"): another principal can neither see
//! nor touch an upload or a file, and its answers are byte-identical to an unknown id's.

use super::*;
use crate::helpers::{TestApp, OTHER_TOKEN};

/// Status, every header that is not per-request (`date`), and the body.
async fn whole(response: reqwest::Response) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let status = response.status().as_u16();
    let mut headers: Vec<(String, String)> = response
        .headers()
        .iter()
        .filter(|(name, _)| name.as_str() != "date")
        .map(|(name, value)| (name.to_string(), value.to_str().unwrap().to_owned()))
        .collect();
    headers.sort();
    (status, headers, response.bytes().await.unwrap().to_vec())
}

#[tokio::test]
async fn another_principal_gets_for_alices_file_and_upload_exactly_what_an_unknown_id_gets() {
    // Arrange: alice has a verified file and a collecting upload.
    let app = TestApp::spawn().await;
    let alice = Spika::new(&app);
    alice.chunk("alice-file", 0, b"secret").await;
    let id = file_id(&alice.verify("alice-file", 1, b"secret").await);
    alice.chunk("alice-open", 0, b"half").await;
    let bob = Spika::with_token(&app, OTHER_TOKEN);
    let before = app.engine.inventory().await.unwrap();

    // Act / Assert: each pair (alice's id, an unknown id) answers the same bytes.
    let pairs = [
        (
            format!("/api/upload/files/{id}"),
            "/api/upload/files/999".to_owned(),
        ),
        (
            "/uploads/files/alice-file".to_owned(),
            "/uploads/files/nobody".to_owned(),
        ),
        (
            "/api/upload/files/check/alice-open".to_owned(),
            "/api/upload/files/check/nobody".to_owned(),
        ),
        (
            "/api/upload/files/check/alice-file".to_owned(),
            "/api/upload/files/check/nobody".to_owned(),
        ),
    ];
    for (foreign, unknown) in pairs {
        let a = whole(
            bob.request(reqwest::Method::GET, &foreign)
                .send()
                .await
                .unwrap(),
        )
        .await;
        let b = whole(
            bob.request(reqwest::Method::GET, &unknown)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(a, b, "{foreign} vs {unknown}");
        assert_eq!(a.0, 404);
        assert_eq!(a.2, br#"{"status":"error","message":"Not found"}"#);
    }
    let foreign = bob.verify("alice-open", 1, b"half").await;
    let unknown = bob.verify("nobody", 1, b"half").await;
    assert_eq!(foreign, unknown);
    assert_eq!(foreign, Answer::error(400, "Not all chunks are uploaded"));
    assert_eq!(
        app.engine.inventory().await.unwrap(),
        before,
        "bob changed nothing"
    );

    // Bob's chunk under alice's clientId lands in an upload of his own.
    assert_eq!(
        bob.chunk("alice-open", 0, b"BOB!").await,
        Answer::chunks(&[0])
    );
    file_id(&alice.verify("alice-open", 1, b"half").await);
    let (_, _, body) = alice.download("/uploads/files/alice-open").await;
    assert_eq!(body, b"half");
}

#[tokio::test]
async fn the_same_client_id_is_separate_per_principal() {
    // Arrange
    let app = TestApp::spawn().await;
    let alice = Spika::new(&app);
    let bob = Spika::with_token(&app, OTHER_TOKEN);
    alice.chunk("shared", 0, b"alice's").await;
    alice.chunk("shared", 1, b" bytes").await;
    file_id(&alice.verify("shared", 2, b"alice's bytes").await);

    // Act: bob uses the same clientId after alice verified hers.
    let bob_chunk = bob.chunk("shared", 0, b"bob's").await;
    let bob_check = bob.get("/api/upload/files/check/shared").await;
    let bob_verify = bob.verify("shared", 1, b"bob's").await;

    // Assert
    assert_eq!(bob_chunk, Answer::chunks(&[0]));
    assert_eq!(bob_check, Answer::chunks(&[0]));
    file_id(&bob_verify);
    let (_, _, alices) = alice.download("/uploads/files/shared").await;
    let (_, _, bobs) = bob.download("/uploads/files/shared").await;
    assert_eq!(alices, b"alice's bytes");
    assert_eq!(bobs, b"bob's");
}
