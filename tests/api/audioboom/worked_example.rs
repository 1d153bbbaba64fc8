//! specs/audioboom.md §12, reproduced exactly.

use super::*;
use crate::helpers::TestApp;

const HELLO: &[u8] = b"Hello, chunked world!\n";

#[tokio::test]
async fn the_worked_example_of_the_spec_answers_byte_for_byte() {
    // Arrange
    let app = TestApp::spawn_with(|s| {
        s.dialects.audioboom.public_base_url = Some("https://boo.example".into());
    })
    .await;
    let boo = Boo::new(&app);
    let hello = Part::File {
        name: "attachment[chunk]",
        filename: Some("/sdcard/boo/hello.txt"),
        content_type: Some("application/octet-stream"),
        data: &HELLO[..7],
    };

    // Act: create with the first chunk.
    let res = app
        .client
        .post(app.url("/attachments"))
        .bearer_auth(crate::helpers::USER_TOKEN)
        .header(CONTENT_TYPE, multipart_type())
        .body(multipart(&[
            Part::Text("attachment[size]", "22"),
            Part::Text("attachment[chunk_offset]", "0"),
            hello,
        ]))
        .send()
        .await
        .unwrap();
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    let created = Answer::of(res).await;

    // Assert
    assert_eq!(created.status, 201);
    assert_eq!(
        created.headers["content-type"],
        "application/json; charset=utf-8"
    );
    let id = created.attachment()["id"].as_u64().unwrap();
    assert_eq!(location, format!("/attachments/{id}"));
    assert_eq!(
        created.text_without_timestamp(),
        format!(
            r#"{{"timestamp":T,"window":60,"version":200,"body":{{"attachment":{{"id":{id},"filename":"hello.txt","content_type":"text/plain","size":22,"received":7,"outstanding":15,"complete":false}}}}}}"#
        )
    );

    // Act: the third chunk at a wrong offset, 16 + 7 > 22.
    let beyond = boo.put(id, 16, &HELLO[15..]).await;

    // Assert
    assert_eq!(
        beyond.text_without_timestamp(),
        r#"{"timestamp":T,"window":60,"version":200,"body":{"error":{"code":422,"description":"Chunk extends beyond attachment[size]"}}}"#
    );
    beyond.assert_error(422, 422, "Chunk extends beyond attachment[size]");

    // Act / Assert: resent at 15, stored, but the gap 7..15 is still open.
    let third = boo.put(id, 15, &HELLO[15..]).await;
    assert_eq!(third.status, 200);
    assert_eq!(
        third.attachment(),
        &serde_json::json!({"id": id, "filename": "hello.txt", "content_type": "text/plain",
            "size": 22, "received": 7, "outstanding": 15, "complete": false})
    );

    // Act / Assert: the gap filled.
    let second = boo.put(id, 7, &HELLO[7..15]).await;
    assert_eq!(second.status, 200);
    assert_eq!(
        second.text_without_timestamp(),
        format!(
            r#"{{"timestamp":T,"window":60,"version":200,"body":{{"attachment":{{"id":{id},"filename":"hello.txt","content_type":"text/plain","size":22,"received":22,"outstanding":0,"complete":true}}}}}}"#
        )
    );

    // Act: the clip, with the fingerprint of the spec.
    let idt = id.to_string();
    let clip = boo
        .form(
            "/account/audio_clips",
            &[
                ("audio_clip[title]", "foo"),
                ("audio_clip[uploaded_data][chunked_attachment_id]", &idt),
                (
                    "audio_clip[uploaded_data][fingerprint]",
                    "dc580a54f87c7735bdb37744424d5586e4add5e6",
                ),
            ],
        )
        .await;

    // Assert
    assert_eq!(clip.status, 201, "{}", clip.text);
    let clip_id = clip.body()["audio_clip"]["id"].as_u64().unwrap();
    let uploaded_at = clip.body()["audio_clip"]["uploaded_at"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        regex::Regex::new(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
            .unwrap()
            .is_match(&uploaded_at),
        "{uploaded_at}"
    );
    assert_eq!(
        clip.text_without_timestamp(),
        format!(
            r#"{{"timestamp":T,"window":60,"version":200,"body":{{"audio_clip":{{"id":{clip_id},"title":"foo","uploaded_at":"{uploaded_at}","urls":{{"detail":"https://boo.example/audio_clips/{clip_id}","high_mp3":"https://boo.example/audio_clips/{clip_id}.mp3"}}}}}}}}"#
        )
    );
    assert_eq!(boo.download(clip_id).await, HELLO);
}
