//! Every validation error answers as specified and leaves the store unchanged (specs/spika.md
//! §3, §4, §9: "An error never changes stored state").

use super::*;
use crate::helpers::TestApp;

/// A server holding one collecting upload (`open`: chunk 0) and one verified file (`done`).
async fn app_with_state() -> TestApp {
    let app = TestApp::spawn_with(|s| s.dialects.spika.max_json_bytes = 4096).await;
    let spika = Spika::new(&app);
    assert_eq!(spika.chunk("open", 0, b"abc").await, Answer::chunks(&[0]));
    spika.chunk("done", 0, b"xyz").await;
    file_id(&spika.verify("done", 1, b"xyz").await);
    app
}

const CHUNK: &str = "/api/upload/files";
const VERIFY: &str = "/api/upload/files/verify";

fn verify_with(key: &str, value: Option<Value>) -> String {
    let mut body = verify_body("open", 1, 3, &sha256_hex(b"abc"));
    match value {
        Some(v) => body[key] = v,
        None => {
            body.as_object_mut().unwrap().remove(key);
        }
    }
    body.to_string()
}

#[tokio::test]
async fn every_invalid_request_answers_its_error_and_changes_nothing() {
    // Arrange
    let app = app_with_state().await;
    let spika = Spika::new(&app);
    let chunk = |c: Value, o: Value, id: Value| {
        json!({"chunk": c, "offset": o, "clientId": id}).to_string()
    };
    let a = || json!("QUJD");
    let cases: Vec<(&str, String, Answer)> = vec![
        (
            CHUNK,
            "{}".into(),
            Answer::validation("chunk is a required field"),
        ),
        (
            CHUNK,
            chunk(Value::Null, json!(0), json!("open")),
            Answer::validation("chunk is a required field"),
        ),
        (
            CHUNK,
            chunk(json!(""), json!(0), json!("open")),
            Answer::validation("chunk is a required field"),
        ),
        (
            CHUNK,
            chunk(json!(7), json!(0), json!("open")),
            Answer::validation("chunk must be a `string` type"),
        ),
        (
            CHUNK,
            chunk(json!("QU*D"), json!(0), json!("open")),
            Answer::validation("chunk must be valid base64"),
        ),
        (
            CHUNK,
            chunk(json!("QUJD==="), json!(0), json!("open")),
            Answer::validation("chunk must be valid base64"),
        ),
        (
            CHUNK,
            chunk(json!("QQ==QQ=="), json!(0), json!("open")),
            Answer::validation("chunk must be valid base64"),
        ),
        (
            CHUNK,
            chunk(json!("QUJDR"), json!(0), json!("open")),
            Answer::validation("chunk must be valid base64"),
        ),
        (
            CHUNK,
            chunk(a(), Value::Null, json!("open")),
            Answer::validation("offset is a required field"),
        ),
        (
            CHUNK,
            chunk(a(), json!("1"), json!("open")),
            Answer::validation("offset must be a `number` type"),
        ),
        (
            CHUNK,
            chunk(a(), json!(0.5), json!("open")),
            Answer::validation("offset must be an integer"),
        ),
        (
            CHUNK,
            chunk(a(), json!(-1), json!("open")),
            Answer::validation("offset must be greater than or equal to 0"),
        ),
        (
            CHUNK,
            chunk(a(), json!(100_000), json!("open")),
            Answer::validation("offset must be less than 100000"),
        ),
        (
            CHUNK,
            chunk(a(), json!(1), Value::Null),
            Answer::validation("clientId is a required field"),
        ),
        (
            CHUNK,
            chunk(a(), json!(1), json!("")),
            Answer::validation("clientId is a required field"),
        ),
        (
            CHUNK,
            chunk(a(), json!(1), json!(5)),
            Answer::validation("clientId must be a `string` type"),
        ),
        (
            CHUNK,
            chunk(a(), json!(1), json!("../etc")),
            Answer::validation("clientId must be 1-128 characters of A-Z a-z 0-9 . _ ~ -"),
        ),
        (
            CHUNK,
            chunk(a(), json!(1), json!("x".repeat(129))),
            Answer::validation("clientId must be 1-128 characters of A-Z a-z 0-9 . _ ~ -"),
        ),
        (
            CHUNK,
            "[]".into(),
            Answer::validation("request body must be a JSON object"),
        ),
        (
            CHUNK,
            "{\"chunk\":\"QUJD\",".into(),
            Answer::validation("request body must be a JSON object"),
        ),
        (
            CHUNK,
            "".into(),
            Answer::validation("request body must be a JSON object"),
        ),
        (
            CHUNK,
            chunk(a(), json!(0), json!("done")),
            Answer::error(400, "File with that clientId already exists"),
        ),
        (
            CHUNK,
            chunk(json!("A".repeat(5000)), json!(0), json!("open")),
            Answer::error(413, "Request entity too large"),
        ),
        (
            VERIFY,
            verify_with("total", None),
            Answer::validation("total is a required field"),
        ),
        (
            VERIFY,
            verify_with("total", Some(json!("1"))),
            Answer::validation("total must be a `number` type"),
        ),
        (
            VERIFY,
            verify_with("total", Some(json!(0))),
            Answer::validation("total must be greater than or equal to 1"),
        ),
        (
            VERIFY,
            verify_with("total", Some(json!(1.5))),
            Answer::validation("total must be an integer"),
        ),
        (
            VERIFY,
            verify_with("total", Some(json!(100_001))),
            Answer::validation("total must be less than or equal to 100000"),
        ),
        (
            VERIFY,
            verify_with("size", None),
            Answer::validation("size is a required field"),
        ),
        (
            VERIFY,
            verify_with("size", Some(json!(0))),
            Answer::validation("size must be greater than or equal to 1"),
        ),
        (
            VERIFY,
            verify_with("size", Some(json!("3"))),
            Answer::validation("size must be a `number` type"),
        ),
        (
            VERIFY,
            verify_with("mimeType", Some(json!(""))),
            Answer::validation("mimeType is a required field"),
        ),
        (
            VERIFY,
            verify_with("mimeType", Some(json!(1))),
            Answer::validation("mimeType must be a `string` type"),
        ),
        (
            VERIFY,
            verify_with("fileName", None),
            Answer::validation("fileName is a required field"),
        ),
        (
            VERIFY,
            verify_with("fileName", Some(json!("n".repeat(256)))),
            Answer::validation("fileName must be at most 255 characters"),
        ),
        (
            VERIFY,
            verify_with("clientId", Some(json!("a b"))),
            Answer::validation("clientId must be 1-128 characters of A-Z a-z 0-9 . _ ~ -"),
        ),
        (
            VERIFY,
            verify_with("fileHash", Some(json!(""))),
            Answer::validation("fileHash is a required field"),
        ),
        (
            VERIFY,
            verify_with("fileHash", Some(json!(12))),
            Answer::validation("fileHash must be a `string` type"),
        ),
        (
            VERIFY,
            verify_with("type", None),
            Answer::validation("type is a required field"),
        ),
        (
            VERIFY,
            verify_with("relationId", Some(json!("8"))),
            Answer::validation("relationId must be a `number` type"),
        ),
        (
            VERIFY,
            verify_with("relationId", Some(json!(8.5))),
            Answer::validation("relationId must be an integer"),
        ),
        (
            VERIFY,
            verify_with("metaData", Some(json!([1]))),
            Answer::validation("metaData must be a `object` type"),
        ),
        (
            VERIFY,
            verify_with("metaData", Some(json!({"width": "640"}))),
            Answer::validation("metaData.width must be a `number` type"),
        ),
        (
            VERIFY,
            verify_with("roomId", Some(json!("3"))),
            Answer::validation("roomId must be a `number` type"),
        ),
        (
            VERIFY,
            "not json".into(),
            Answer::validation("request body must be a JSON object"),
        ),
        (
            VERIFY,
            verify_with("clientId", Some(json!("done"))),
            Answer::error(400, "File with that clientId already exists"),
        ),
        (
            VERIFY,
            verify_with("total", Some(json!(2))),
            Answer::error(400, "Not all chunks are uploaded"),
        ),
        (
            VERIFY,
            verify_with("clientId", Some(json!("never"))),
            Answer::error(400, "Not all chunks are uploaded"),
        ),
        (
            VERIFY,
            verify_with("fileName", Some(json!("x".repeat(5000)))),
            Answer::error(413, "Request entity too large"),
        ),
    ];
    let before = app.engine.inventory().await.unwrap();

    for (path, body, expected) in cases {
        // Act
        let answer = spika.post_raw(path, body.clone()).await;

        // Assert
        assert_eq!(answer, expected, "{path} {body}");
        assert_eq!(
            app.engine.inventory().await.unwrap(),
            before,
            "{path} {body} changed the store"
        );
    }
}

#[tokio::test]
async fn unknown_files_and_client_ids_answer_not_found() {
    // Arrange
    let app = app_with_state().await;
    let spika = Spika::new(&app);
    let before = app.engine.inventory().await.unwrap();

    // Act / Assert
    for path in [
        "/api/upload/files/12345",
        "/api/upload/files/99999999999999999999999",
        "/uploads/files/never",
        "/uploads/files/open",
        "/api/upload/files/check/never",
        "/api/upload/files/check/done",
        "/api/upload/files/check/a..b%2F",
    ] {
        assert_eq!(
            spika.get(path).await,
            Answer::error(404, "Not found"),
            "{path}"
        );
    }
    assert_eq!(app.engine.inventory().await.unwrap(), before);
}
