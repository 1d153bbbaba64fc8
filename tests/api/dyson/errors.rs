//! Rows of the Errors table (spec §11): each bad request gets its legacy answer and leaves the
//! store exactly as it was.

use super::*;
use crate::helpers::TestApp;

const TASK_404: &str = r#"{"code":"NOT_FOUND","message":"The requested resource 'Upload task' was not found.","status":404,"detail":"Upload task"}"#;

fn validation(errors: &str) -> String {
    format!(
        r#"{{"code":"VALIDATION_ERROR","message":"One or more validation errors occurred.","status":400,"errors":{errors}}}"#
    )
}

#[tokio::test]
async fn invalid_create_bodies_answer_validation_errors_and_change_nothing() {
    // Arrange
    let app = TestApp::spawn().await;
    let dyson = Client::new(&app);
    dyson.upload(b"some stored file", 8).await;
    let before = app.engine.inventory().await.unwrap();
    let cases = [
        (
            "{}",
            validation(
                r#"{"hash":["The hash field is required."],"file_name":["The file_name field is required."],"content_type":["The content_type field is required."]}"#,
            ),
        ),
        (
            "[1]",
            validation(r#"{"body":["The request body must be a JSON object."]}"#),
        ),
        (
            "",
            validation(r#"{"body":["The request body must be a JSON object."]}"#),
        ),
        (
            r#"{"hash":"h","file_name":"n","content_type":"t","file_size":"22","chunk_size":8.0,"pool_id":"x","expired_at":"2020-01-01T00:00:00Z"}"#,
            validation(
                r#"{"file_size":["The file_size field must be an integer."],"pool_id":["The pool_id field must be a GUID."],"expired_at":["The expired_at field must be in the future."],"chunk_size":["The chunk_size field must be an integer."]}"#,
            ),
        ),
        (
            r#"{"hash":"h","file_name":"n","content_type":"t","file_size":20000,"chunk_size":1}"#,
            validation(
                r#"{"chunk_size":["The file needs 20000 chunks; at most 10000 are allowed."]}"#,
            ),
        ),
        (
            r#"{"hash":"h","file_name":"n","content_type":"t","chunk_size":0}"#,
            validation(
                r#"{"chunk_size":["The chunk_size field must be between 1 and 67108864."]}"#,
            ),
        ),
    ];

    for (body, expected) in cases {
        // Act: sent as text/plain: the body is JSON whatever its Content-Type
        let res = app
            .client
            .post(app.url("/drive/files/upload/create"))
            .header("Authorization", format!("AtField {}", dyson.token))
            .header(CONTENT_TYPE, "text/plain")
            .body(body)
            .send()
            .await
            .unwrap();

        // Assert
        Answer::of(res).await.assert_json(400, &expected);
        assert_eq!(app.engine.inventory().await.unwrap(), before, "{body}");
    }
}

#[tokio::test]
async fn a_file_above_max_file_bytes_is_forbidden_and_a_body_above_max_json_bytes_is_too_large() {
    // Arrange
    let app = TestApp::spawn_with(|s| {
        s.dialects.dyson.max_file_bytes = 8000;
        s.dialects.dyson.max_json_bytes = 300;
    })
    .await;
    let dyson = Client::new(&app);
    let mut big = create_body(b"", "f", 1000);
    big["file_size"] = json!(9000);
    let mut long = create_body(b"", "f", 1000);
    long["extra"] = json!("x".repeat(400));
    let before = app.engine.inventory().await.unwrap();

    // Act
    let forbidden = dyson.create(&big).await;
    let too_large = dyson.create(&long).await;
    let streamed = Answer::of(
        app.client
            .post(dyson.url("/upload/create"))
            .header("Authorization", format!("AtField {}", dyson.token))
            .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
                (0..4).map(|_| Ok::<_, std::io::Error>(vec![b' '; 100])),
            )))
            .send()
            .await
            .unwrap(),
    )
    .await;

    // Assert
    forbidden.assert_json(
        403,
        r#"{"code":"FORBIDDEN","message":"File size 9000 is larger than the pool's maximum file size 8000","status":403}"#,
    );
    let payload =
        r#"{"code":"PAYLOAD_TOO_LARGE","message":"Request body exceeds 300 bytes.","status":413}"#;
    too_large.assert_json(413, payload);
    streamed.assert_json(413, payload);
    assert_eq!(app.engine.inventory().await.unwrap(), before);
}

#[tokio::test]
async fn bad_chunk_requests_are_refused_in_the_spec_order_and_change_nothing() {
    // Arrange: a task of 3 chunks with chunk 0 stored
    let app = TestApp::spawn().await;
    let dyson = Client::new(&app);
    let (task, _) = dyson.task(&create_body(&[7u8; 20], "f", 8)).await;
    let (empty, _) = dyson.task(&create_body(b"", "empty", 8)).await;
    dyson.chunk(&task, 0, &[7u8; 8]).await.assert_empty(200);
    let before = app.engine.inventory().await.unwrap();
    let post = |path: String| {
        app.client
            .post(dyson.url(&path))
            .header("Authorization", format!("AtField {}", dyson.token))
    };
    let chunk = format!("/upload/chunk/{task}");

    // Act
    let answers = vec![
        // Unknown task before a bad index.
        (dyson.chunk("q3Zk9_b1XyT0aLmN2pRsV", "abc", b"x").await, 404, TASK_404.to_owned()),
        (dyson.chunk("short", 0, b"x").await, 404, TASK_404.to_owned()),
        (
            dyson.chunk(&task, "abc", b"x").await,
            400,
            validation(r#"{"chunk_index":["The value 'abc' is not valid."]}"#),
        ),
        (
            dyson.chunk(&task, "99999999999", b"x").await,
            400,
            validation(r#"{"chunk_index":["The value '99999999999' is not valid."]}"#),
        ),
        (
            dyson.chunk(&task, 7, b"x").await,
            400,
            validation(r#"{"chunk_index":["Chunk index 7 is out of range 0..2."]}"#),
        ),
        (
            dyson.chunk(&task, -1, b"x").await,
            400,
            validation(r#"{"chunk_index":["Chunk index -1 is out of range 0..2."]}"#),
        ),
        (
            dyson.chunk(&empty, 0, b"x").await,
            400,
            validation(r#"{"chunk_index":["Chunk index 0 is out of range 0..-1."]}"#),
        ),
        // A bad index before a body that is too large.
        (
            Answer::of(
                post(format!("{chunk}/9"))
                    .header(CONTENT_TYPE, form_type())
                    .body(form("chunk", &vec![0u8; (8 + 1_048_576) + 1]))
                    .send()
                    .await
                    .unwrap(),
            )
            .await,
            400,
            validation(r#"{"chunk_index":["Chunk index 9 is out of range 0..2."]}"#),
        ),
        (
            Answer::of(
                post(format!("{chunk}/0"))
                    .header(CONTENT_TYPE, form_type())
                    .body(form("chunk", &vec![0u8; 1_048_576 + 8]))
                    .send()
                    .await
                    .unwrap(),
            )
            .await,
            413,
            r#"{"code":"PAYLOAD_TOO_LARGE","message":"Request body exceeds 1048584 bytes.","status":413}"#.to_owned(),
        ),
        (
            Answer::of(
                post(format!("{chunk}/0"))
                    .header(CONTENT_TYPE, form_type())
                    .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
                        form("chunk", &vec![1u8; 1_048_576 + 8])
                            .chunks(100_000)
                            .map(|c| Ok::<_, std::io::Error>(c.to_vec()))
                            .collect::<Vec<_>>(),
                    )))
                    .send()
                    .await
                    .unwrap(),
            )
            .await,
            413,
            r#"{"code":"PAYLOAD_TOO_LARGE","message":"Request body exceeds 1048584 bytes.","status":413}"#.to_owned(),
        ),
        (
            Answer::of(
                post(format!("{chunk}/1"))
                    .header(CONTENT_TYPE, form_type())
                    .body(form("other", b"data"))
                    .send()
                    .await
                    .unwrap(),
            )
            .await,
            400,
            validation(r#"{"chunk":["The chunk field is required."]}"#),
        ),
        (
            Answer::of(
                post(format!("{chunk}/1"))
                    .header(CONTENT_TYPE, "application/octet-stream")
                    .body("raw bytes")
                    .send()
                    .await
                    .unwrap(),
            )
            .await,
            400,
            validation(r#"{"chunk":["The chunk field is required."]}"#),
        ),
        (
            Answer::of(post(format!("{chunk}/1")).send().await.unwrap()).await,
            400,
            validation(r#"{"chunk":["The chunk field is required."]}"#),
        ),
        (
            dyson.complete(&task).await,
            400,
            r#"{"code":"CHUNK_MISSING","message":"Chunk 1 is missing.","status":400}"#.to_owned(),
        ),
        (dyson.complete("q3Zk9_b1XyT0aLmN2pRsV").await, 404, TASK_404.to_owned()),
    ];

    // Assert
    for (i, (answer, status, body)) in answers.into_iter().enumerate() {
        assert_eq!(answer.status, status, "case {i}: {}", answer.text());
        answer.assert_json(status, &body);
    }
    assert_eq!(app.engine.inventory().await.unwrap(), before);
}

#[tokio::test]
async fn the_first_chunk_part_counts_and_other_parts_are_ignored() {
    // Arrange
    let app = TestApp::spawn().await;
    let dyson = Client::new(&app);
    let (task, _) = dyson.task(&create_body(b"abc", "f", 10)).await;
    let boundary = "b0undary";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"meta\"\r\n\r\nignored\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"chunk\"; filename=\"chunk_0\"\r\n\r\nabc\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"chunk\"; filename=\"chunk_1\"\r\n\r\nxyz\r\n\
         --{boundary}--\r\n"
    );

    // Act
    let res = app
        .client
        .post(dyson.url(&format!("/upload/chunk/{task}/0/")))
        .header("Authorization", format!("AtField {}", dyson.token))
        .header(
            CONTENT_TYPE,
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
        .send()
        .await
        .unwrap();
    Answer::of(res).await.assert_empty(200);
    let done = dyson.complete(&task).await;

    // Assert
    assert_eq!(done.json()["hash"], md5_hex(b"abc"));
}

#[tokio::test]
async fn a_chunk_request_cut_off_mid_part_keeps_the_earlier_data_of_the_chunk() {
    // Arrange
    let app = TestApp::spawn().await;
    let dyson = Client::new(&app);
    let data = random(3000);
    let (task, _) = dyson.task(&create_body(&data, "f", 1000)).await;
    for (i, piece) in data.chunks(1000).enumerate() {
        dyson.chunk(&task, i, piece).await.assert_empty(200);
    }
    let mut body = form("chunk", &random(1000));
    body.truncate(body.len() - 300);
    let pieces: Vec<Result<Vec<u8>, std::io::Error>> =
        vec![Ok(body), Err(std::io::Error::other("client went away"))];

    // Act
    let cut = app
        .client
        .post(dyson.url(&format!("/upload/chunk/{task}/1")))
        .header("Authorization", format!("AtField {}", dyson.token))
        .header(CONTENT_TYPE, form_type())
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
            pieces,
        )))
        .send()
        .await;
    let done = dyson.complete(&task).await;

    // Assert
    assert!(cut.is_err() || cut.unwrap().status() == 400);
    assert_eq!(done.status, 200, "{}", done.text());
    assert_eq!(
        dyson
            .download(done.json()["id"].as_str().unwrap())
            .await
            .body,
        data
    );
}
