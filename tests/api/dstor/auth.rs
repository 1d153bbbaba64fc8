//! Credentials (specs/dstor.md §2–§3) and ownership: every unauthorized form answers 401
//! `{"message":"Unauthorized"}`, and another principal's upload token answers exactly like an
//! unknown one.

use super::{answer, file, Client};
use crate::helpers::{TestApp, OTHER_TOKEN, USER_TOKEN};
use chunkgate::dialects::dstor::token;
use serde_json::Value;

const UNAUTHORIZED: &str = r#"{"message":"Unauthorized"}"#;

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

async fn temp_token(app: &TestApp, api_key: Option<&str>, exp: Option<&str>) -> (u16, String) {
    let mut request = app.client.get(app.url("/v1/dev/temp-token"));
    if let Some(k) = api_key {
        request = request.header("api-key", k);
    }
    if let Some(e) = exp {
        request = request.header("x-expiration", e);
    }
    answer(request.send().await.unwrap()).await
}

/// The signing key the server keeps in its records (created by the first temp-token).
async fn signing_key(app: &TestApp) -> Vec<u8> {
    let hex_key: String = app
        .engine
        .records("dstor")
        .get("hmac-key")
        .await
        .unwrap()
        .unwrap();
    hex::decode(hex_key).unwrap()
}

#[tokio::test]
async fn a_temp_token_needs_an_api_key_known_to_the_shared_authenticator() {
    // Arrange
    let app = TestApp::spawn().await;

    // Act
    let missing = temp_token(&app, None, None).await;
    let empty = temp_token(&app, Some(""), None).await;
    let unknown = temp_token(&app, Some("nope"), None).await;
    let bearer_only = answer(
        app.client
            .get(app.url("/v1/dev/temp-token/"))
            .bearer_auth(USER_TOKEN)
            .send()
            .await
            .unwrap(),
    )
    .await;

    // Assert
    for got in [missing, empty, unknown, bearer_only] {
        assert_eq!(got, (401, UNAUTHORIZED.to_owned()));
    }
}

#[tokio::test]
async fn an_expiration_must_be_in_the_future_and_is_capped_at_the_longest_lifetime() {
    // Arrange
    let app = TestApp::spawn_with(|s| {
        s.dialects.dstor.max_token_lifetime = std::time::Duration::from_secs(60)
    })
    .await;
    let bad = r#"{"message":"x-expiration must be a unix time in the future"}"#.to_owned();

    // Act / Assert
    for exp in ["1677336539.123", "0", "-5", "soon", "", "1e12"] {
        assert_eq!(
            temp_token(&app, Some(USER_TOKEN), Some(exp)).await,
            (400, bad.clone()),
            "{exp:?}"
        );
    }
    let before = now();
    let (status, body) = temp_token(&app, Some(USER_TOKEN), Some("99999999999.5")).await;
    assert_eq!(status, 200);
    let t: Value = serde_json::from_str(&body).unwrap();
    let key = signing_key(&app).await;
    let t = t["access_token"].as_str().unwrap();
    // Valid now, expired once the 60 s bound has passed.
    assert_eq!(
        token::verify(&key, t, before),
        token::Verified::Valid("alice".into())
    );
    assert_eq!(token::verify(&key, t, now() + 61), token::Verified::Expired);
}

#[tokio::test]
async fn every_upload_route_refuses_missing_invalid_and_expired_bearer_tokens() {
    // Arrange: a key exists once a token was minted; an expired and a forged token.
    let app = TestApp::spawn().await;
    temp_token(&app, Some(USER_TOKEN), None).await;
    let key = signing_key(&app).await;
    let expired = token::mint(&key, "alice", now() - 10);
    let forged = token::mint(&[1; 32], "alice", now() + 3600);
    let token = Client::new(&app).open(1, "").await;
    let (content_type, body) = super::form(&[file("a.txt", b"a")]);
    let authorizations: Vec<Option<String>> = vec![
        None,
        Some(String::new()),
        Some(format!("Basic {USER_TOKEN}")),
        Some("Bearer".into()),
        Some("Bearer nope".into()),
        Some(format!("Bearer {expired}")),
        Some(format!("Bearer {forged}")),
    ];

    for authorization in authorizations {
        // Act
        let with = |r: reqwest::RequestBuilder| match &authorization {
            Some(a) => r.header("Authorization", a),
            None => r,
        };
        let get_token = with(app.client.post(app.url("/v1/upload/get-token/")))
            .body(r#"{"chunks_number":1,"folder_path":"x"}"#)
            .send();
        let upload = with(app.client.post(app.url("/v1/upload/")))
            .header("x-dstor-upload-token", &token)
            .header("Content-Type", &content_type)
            .body(body.clone())
            .send();
        let status = with(app.client.get(app.url("/v1/upload/get-status/")))
            .header("x-dstor-upload-token", &token)
            .send();

        // Assert
        for response in [get_token.await, upload.await, status.await] {
            assert_eq!(
                answer(response.unwrap()).await,
                (401, UNAUTHORIZED.to_owned()),
                "{authorization:?}"
            );
        }
    }
}

#[tokio::test]
async fn the_bearer_scheme_is_case_insensitive_and_shared_tokens_are_accepted() {
    let app = TestApp::spawn().await;
    for scheme in ["Bearer", "bearer", "BEARER"] {
        let response = app
            .client
            .post(app.url("/v1/upload/get-token"))
            .header("Authorization", format!("{scheme} {USER_TOKEN}"))
            .body(r#"{"chunks_number":1,"folder_path":"/"}"#)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{scheme}");
    }
}

#[tokio::test]
async fn another_principals_upload_token_answers_exactly_like_an_unknown_one() {
    // Arrange: alice's upload, one of two requests in; bob holds its token.
    let app = TestApp::spawn().await;
    let alice = Client::new(&app);
    let bob = Client::with(&app, OTHER_TOKEN);
    let token = alice.open(2, "mine").await;
    alice.send(&token, &[file("a.txt", b"alice's")]).await;
    let unknown = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    let before = app.engine.inventory().await.unwrap();

    // Act
    let foreign_status = bob.status_raw(&token).await;
    let unknown_status = bob.status_raw(unknown).await;
    let foreign_upload = bob.send(&token, &[file("b.txt", b"bob's")]).await;
    let unknown_upload = bob.send(unknown, &[file("b.txt", b"bob's")]).await;

    // Assert: same status, headers and body; nothing changed; alice still owns it.
    let not_found = (404, r#"{"message":"Upload not found"}"#.to_owned());
    let pairs = [
        (foreign_status, unknown_status),
        (foreign_upload, unknown_upload),
    ];
    for (foreign, unknown) in pairs {
        let headers = |r: &reqwest::Response| {
            let mut h: Vec<(String, String)> = r
                .headers()
                .iter()
                // `date` differs by the clock, and `connection: close` by whether the unread
                // body had fully arrived when the answer went out: neither tells existence.
                .filter(|(n, _)| *n != "date" && *n != "connection")
                .map(|(n, v)| (n.to_string(), v.to_str().unwrap().to_owned()))
                .collect();
            h.sort();
            h
        };
        assert_eq!(headers(&foreign), headers(&unknown));
        assert_eq!(answer(foreign).await, not_found);
        assert_eq!(answer(unknown).await, not_found);
    }
    assert_eq!(app.engine.inventory().await.unwrap(), before);
    assert_eq!(
        alice.status(&token).await,
        serde_json::json!({"status": "UPLOADING"})
    );
}

#[tokio::test]
async fn a_private_gateway_serves_only_the_callers_own_uploads() {
    // Arrange
    let app = TestApp::spawn_with(|s| s.dialects.dstor.public_gateway = false).await;
    let alice = Client::new(&app);
    let token = alice.open(1, "").await;
    alice.send(&token, &[file("a.txt", b"private")]).await;
    let done: Value = serde_json::from_str(&alice.wait_done(&token).await).unwrap();
    let cid = done["data"][0]["Hash"].as_str().unwrap().to_owned();
    let get = |bearer: Option<&str>| {
        let mut r = app.client.get(app.url(&format!("/ipfs/{cid}")));
        if let Some(b) = bearer {
            r = r.bearer_auth(b);
        }
        r.send()
    };

    // Act
    let anonymous = answer(get(None).await.unwrap()).await;
    let bob = answer(get(Some(OTHER_TOKEN)).await.unwrap()).await;
    let alice_reads = answer(get(Some(USER_TOKEN)).await.unwrap()).await;

    // Assert
    assert_eq!(anonymous, (401, UNAUTHORIZED.to_owned()));
    assert_eq!(bob, (404, r#"{"message":"Not found"}"#.to_owned()));
    assert_eq!(alice_reads, (200, "private".to_owned()));
}
