//! Routes (specs/spika.md §1, §5, §11): the `/api/uploads` alias, optional trailing slashes, the
//! legacy 404 for unknown routes, CORS, and the mount prefix.

use super::*;
use crate::helpers::TestApp;

#[tokio::test]
async fn the_alias_and_trailing_slashes_reach_the_same_upload() {
    // Arrange
    let app = TestApp::spawn().await;
    let spika = Spika::new(&app);
    let chunk = |offset: u64, data: &[u8]| json!({"chunk": b64(data), "offset": offset, "clientId": "alias"});

    // Act
    let a = spika.post("/api/upload/files/", &chunk(0, b"one ")).await;
    let b = spika.post("/api/uploads/files", &chunk(1, b"two ")).await;
    let c = spika.post("/api/uploads/files/", &chunk(2, b"three")).await;
    let check = spika.get("/api/uploads/files/check/alias/").await;
    let verify = spika
        .post(
            "/api/uploads/files/verify/",
            &verify_body("alias", 3, 13, &sha256_hex(b"one two three")),
        )
        .await;
    let id = file_id(&verify);
    let by_alias = spika.download(&format!("/api/uploads/files/{id}/")).await;
    let by_client = spika.download("/uploads/files/alias/").await;

    // Assert
    assert_eq!(a, Answer::chunks(&[0]));
    assert_eq!(b, Answer::chunks(&[0, 1]));
    assert_eq!(c, Answer::chunks(&[0, 1, 2]));
    assert_eq!(check, Answer::chunks(&[0, 1, 2]));
    assert_eq!(by_alias.2, b"one two three");
    assert_eq!(by_client.2, b"one two three");
}

#[tokio::test]
async fn unknown_routes_and_methods_under_the_dialect_answer_the_legacy_404() {
    // Arrange
    let app = TestApp::spawn().await;
    let spika = Spika::new(&app);
    let requests = [
        ("GET", "/api/upload"),
        ("GET", "/api/upload/nothing"),
        ("GET", "/api/uploads/files/abc"),
        ("GET", "/api/upload/files"),
        ("GET", "/api/upload/files/verify"),
        ("DELETE", "/api/upload/files/1"),
        ("PUT", "/api/upload/files"),
        ("POST", "/api/upload/files/check/x"),
        ("GET", "/uploads/files"),
        ("GET", "/uploads/files/a/b"),
    ];

    for (method, path) in requests {
        // Act
        let answer = Answer::of(
            spika
                .request(method.parse().unwrap(), path)
                .send()
                .await
                .unwrap(),
        )
        .await;

        // Assert
        assert_eq!(answer, Answer::error(404, "Not found"), "{method} {path}");
    }
}

#[tokio::test]
async fn a_preflight_is_answered_without_a_token_and_every_answer_allows_any_origin() {
    // Arrange
    let app = TestApp::spawn().await;

    // Act
    let preflight = app
        .client
        .request(reqwest::Method::OPTIONS, app.url("/api/upload/files"))
        .header("origin", "https://web.spika.chat")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "accesstoken,content-type")
        .send()
        .await
        .unwrap();
    let unauthorized = app
        .client
        .post(app.url("/api/upload/files/verify"))
        .header("origin", "https://web.spika.chat")
        .send()
        .await
        .unwrap();
    let ok = Spika::new(&app)
        .request(reqwest::Method::POST, "/api/upload/files")
        .header("origin", "https://web.spika.chat")
        .json(&json!({"chunk": "QQ==", "offset": 0, "clientId": "cors"}))
        .send()
        .await
        .unwrap();
    let unknown = app
        .client
        .get(app.url("/api/upload/unknown"))
        .send()
        .await
        .unwrap();

    // Assert
    assert_eq!(preflight.status().as_u16(), 204);
    let h = preflight.headers();
    assert_eq!(h["access-control-allow-origin"], "*");
    let allowed = h["access-control-allow-headers"].to_str().unwrap();
    assert!(allowed.contains("accesstoken") && allowed.contains("content-type"));
    assert!(h["access-control-allow-methods"]
        .to_str()
        .unwrap()
        .contains("POST"));
    for response in [unauthorized, ok, unknown] {
        assert_eq!(response.headers()["access-control-allow-origin"], "*");
    }
}

#[tokio::test]
async fn under_a_mount_prefix_the_routes_and_the_file_path_carry_the_prefix() {
    // Arrange
    let app = TestApp::spawn_with(|s| s.dialects.spika.prefix = "/legacy".into()).await;
    let spika = Spika::new(&app);

    // Act
    let unprefixed = spika.post("/api/upload/files", &json!({})).await;
    spika
        .post(
            "/legacy/api/upload/files",
            &json!({"chunk": b64(b"pre"), "offset": 0, "clientId": "pfx"}),
        )
        .await;
    let verify = spika
        .post(
            "/legacy/api/upload/files/verify",
            &verify_body("pfx", 1, 3, &sha256_hex(b"pre")),
        )
        .await;
    let unknown = spika.get("/legacy/api/upload/nothing").await;

    // Assert
    assert_ne!(unprefixed.status, 200);
    file_id(&verify);
    let path = verify.value()["data"]["file"]["path"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(path, "/legacy/uploads/files/pfx");
    assert_eq!(spika.download(&path).await.2, b"pre");
    assert_eq!(unknown, Answer::error(404, "Not found"));
}

#[tokio::test]
async fn a_disabled_dialect_serves_nothing() {
    // Arrange
    let app = TestApp::spawn_with(|s| s.dialects.spika.enabled = false).await;

    // Act
    let answer = Spika::new(&app).chunk("off", 0, b"x").await;

    // Assert
    assert_eq!(answer.status, 404);
    assert_ne!(answer, Answer::error(404, "Not found"));
}
