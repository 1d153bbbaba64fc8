//! The worked example of specs/dyson.md §14, request by request.

use super::*;
use crate::helpers::TestApp;

const HELLO: &[u8] = b"Hello, chunked world!\n";

#[tokio::test]
async fn the_worked_example_of_the_spec_is_reproduced_exactly() {
    // Arrange
    let app = TestApp::spawn().await;
    let dyson = Client::new(&app);
    let create = r#"{"hash":"7ea23c92fad42be0670e8e69ef378a45","file_name":"hello.txt","file_size":22,"content_type":"text/plain","pool_id":null,"bundle_id":null,"encrypt_password":null,"expired_at":null,"chunk_size":8}"#;

    // Act: create
    let res = app
        .client
        .post(app.url("/drive/files/upload/create"))
        .header("Authorization", format!("AtField {}", dyson.token))
        .header("Content-Type", "application/json")
        .body(create)
        .send()
        .await
        .unwrap();
    let created = Answer::of(res).await;

    // Assert
    assert_eq!(created.status, 200);
    assert_eq!(created.header("content-type"), Some(JSON));
    let task = created.json()["task_id"].as_str().unwrap().to_owned();
    assert_eq!(task.len(), 21);
    assert!(task
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'));
    assert_eq!(
        created.text(),
        format!(
            r#"{{"file_exists":false,"file":null,"task_id":"{task}","chunk_size":8,"chunks_count":3}}"#
        )
    );

    // Act / Assert: chunks 0 and 1, then a complete that is too early
    dyson.chunk(&task, 0, &HELLO[0..8]).await.assert_empty(200);
    dyson.chunk(&task, 1, &HELLO[8..16]).await.assert_empty(200);
    dyson.complete(&task).await.assert_json(
        400,
        r#"{"code":"CHUNK_MISSING","message":"Chunk 2 is missing.","status":400}"#,
    );

    // Act / Assert: the task survived; chunk 2, then complete
    dyson.chunk(&task, 2, &HELLO[16..]).await.assert_empty(200);
    let done = dyson.complete(&task).await;
    assert_eq!(done.status, 200, "{}", done.text());
    assert_eq!(done.header("content-type"), Some(JSON));
    let file = done.json();
    let id = file["id"].as_str().unwrap().to_owned();
    let at = file["created_at"].as_str().unwrap().to_owned();
    assert_eq!(id.len(), 21);
    assert!(!id.bytes().all(|b| b.is_ascii_digit()));
    // At most 6 fractional digits, no trailing zero, no dot for a whole second (spec §1).
    let instant = regex::Regex::new(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{0,5}[1-9])?Z$").unwrap();
    assert!(instant.is_match(&at), "{at}");
    assert_eq!(
        done.text(),
        format!(
            r#"{{"id":"{id}","name":"hello.txt","description":null,"file_meta":null,"user_meta":null,"sensitive_marks":[],"mime_type":"text/plain","hash":"7ea23c92fad42be0670e8e69ef378a45","expired_at":null,"size":22,"uploaded_at":null,"has_compression":false,"has_thumbnail":false,"is_encrypted":false,"pool":null,"pool_id":null,"bundle_id":null,"is_marked_recycle":false,"storage_id":"{id}","storage_url":null,"references":[],"account_id":"alice","resource_identifier":"file:{id}","created_at":"{at}","updated_at":"{at}","deleted_at":null}}"#
        )
    );

    // Act / Assert: a repeated complete is 404 `Upload task`; a new create finds the file
    dyson.complete(&task).await.assert_json(
        404,
        r#"{"code":"NOT_FOUND","message":"The requested resource 'Upload task' was not found.","status":404,"detail":"Upload task"}"#,
    );
    let again = dyson.create(&serde_json::from_str(create).unwrap()).await;
    again.assert_json(
        200,
        &format!(
            r#"{{"file_exists":true,"file":{},"task_id":null,"chunk_size":null,"chunks_count":null}}"#,
            done.text()
        ),
    );
    let body = dyson.download(&id).await;
    assert_eq!(body.status, 200);
    assert_eq!(body.body, HELLO);
    assert_eq!(body.header("content-type"), Some("text/plain"));
    assert_eq!(body.header("content-length"), Some("22"));
    assert_eq!(body.header("accept-ranges"), Some("bytes"));
}
