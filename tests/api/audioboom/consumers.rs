//! Audio clips under every path, messages through the outbox, the clip object and downloads
//! (specs/audioboom.md §6), and the expiry of unreferenced attachments (§5.4).

use super::*;
use crate::helpers::{TestApp, USER_TOKEN};
use std::time::{Duration, SystemTime};

async fn complete_attachment(boo: &Boo<'_>, data: &[u8], filename: &str) -> u64 {
    let size = data.len().to_string();
    let a = boo
        .send(
            reqwest::Method::POST,
            "/attachments",
            &[
                Part::Text("attachment[size]", &size),
                Part::File {
                    name: "attachment[chunk]",
                    filename: Some(filename),
                    content_type: Some("application/octet-stream"),
                    data,
                },
            ],
        )
        .await;
    assert_eq!(a.status, 201, "{}", a.text);
    a.attachment()["id"].as_u64().unwrap()
}

#[tokio::test]
async fn clips_are_created_under_every_listed_path_from_one_attachment() {
    // Arrange
    let app = TestApp::spawn().await;
    let boo = Boo::new(&app);
    let id = complete_attachment(&boo, b"audio", "a.mp3").await;
    let idt = id.to_string();
    let mut ids = Vec::new();

    for path in [
        "/audio_clips",
        "/audio_clips.json",
        "/audio_clips/",
        "/account/audio_clips",
        "/account/audio_clips.json",
        "/channels/42/audio_clips",
        "/channels/42/audio_clips.json/",
    ] {
        // Act
        let a = boo
            .form(
                path,
                &[
                    ("audio_clip[title]", "foo"),
                    ("audio_clip[uploaded_data][chunked_attachment_id]", &idt),
                    ("audio_clip[recorded_at]", "2025-01-15 10:00:00 +0000"),
                    ("audio_clip[uuid]", "u-1"),
                ],
            )
            .await;

        // Assert
        assert_eq!(a.status, 201, "{path}: {}", a.text);
        let clip = &a.body()["audio_clip"];
        assert_eq!(clip["title"], "foo");
        assert_eq!(clip["recorded_at"], "2025-01-15 10:00:00 +0000");
        let cid = clip["id"].as_u64().unwrap();
        let base = format!("http://127.0.0.1:{}/audio_clips/{cid}", app.port);
        assert_eq!(
            clip["urls"],
            serde_json::json!({"detail": base, "high_mp3": format!("{base}.mp3")})
        );
        ids.push(cid);
    }
    ids.dedup();
    assert_eq!(ids.len(), 7, "each clip has its own id");
    for cid in ids {
        assert_eq!(boo.download(cid).await, b"audio");
    }
}

#[tokio::test]
async fn a_message_answers_with_the_message_and_the_same_clip() {
    // Arrange
    let app = TestApp::spawn().await;
    let boo = Boo::new(&app);
    let id = complete_attachment(&boo, b"voice", "v.mp3").await;

    // Act: a JSON body, ids as numbers and strings (§2).
    let res = app
        .client
        .post(app.url("/account/outbox.json"))
        .bearer_auth(USER_TOKEN)
        .json(&serde_json::json!({"message": {"recipient_id": "77",
            "uploaded_data": {"chunked_attachment_id": id}}}))
        .send()
        .await
        .unwrap();
    let a = Answer::of(res).await;

    // Assert
    assert_eq!(a.status, 201, "{}", a.text);
    let clip = a.body()["audio_clip"].clone();
    let mut message = a.body()["message"].clone();
    assert_eq!(message["recipient_id"], 77);
    assert_eq!(clip["title"], "");
    message.as_object_mut().unwrap().remove("recipient_id");
    assert_eq!(message, clip);
    let cid = clip["id"].as_u64().unwrap();
    let shown = boo.show_clip(cid).await;
    assert_eq!(shown.body()["audio_clip"], clip);
}

#[tokio::test]
async fn a_clip_with_an_image_serves_both_with_their_types_and_ranges() {
    // Arrange
    let app = TestApp::spawn_with(|s| {
        s.dialects.audioboom.public_base_url = Some("https://boo.example/".into());
    })
    .await;
    let boo = Boo::new(&app);
    let audio = random_bytes(9, 5000);
    let data = complete_attachment(&boo, &audio, "/sdcard/rec.flac").await;
    let image = complete_attachment(&boo, b"\xff\xd8jpeg", "C:\\pics\\cover.jpg").await;
    let (d, i) = (data.to_string(), image.to_string());

    // Act
    let a = boo
        .form(
            "/audio_clips",
            &[
                ("audio_clip[title]", "with image"),
                ("audio_clip[uploaded_data][chunked_attachment_id]", &d),
                ("audio_clip[uploaded_image][chunked_attachment_id]", &i),
                (
                    "audio_clip[uploaded_image][fingerprint]",
                    &sha1_hex(b"\xff\xd8jpeg"),
                ),
            ],
        )
        .await;

    // Assert
    assert_eq!(a.status, 201, "{}", a.text);
    let cid = a.body()["audio_clip"]["id"].as_u64().unwrap();
    assert_eq!(
        a.body()["audio_clip"]["urls"]["image"],
        format!("https://boo.example/audio_clips/{cid}/image")
    );
    let get = |path: String| {
        app.client
            .get(app.url(&path))
            .bearer_auth(USER_TOKEN)
            .send()
    };
    let img = get(format!("/audio_clips/{cid}/image")).await.unwrap();
    assert_eq!(img.status(), 200);
    assert_eq!(img.headers()["content-type"], "image/jpeg");
    assert_eq!(img.headers()["accept-ranges"], "bytes");
    assert_eq!(img.bytes().await.unwrap().as_ref(), b"\xff\xd8jpeg");

    let ranged = app
        .client
        .get(app.url(&format!("/audio_clips/{cid}.mp3")))
        .bearer_auth(USER_TOKEN)
        .header("Range", "bytes=100-199")
        .send()
        .await
        .unwrap();
    assert_eq!(ranged.status(), 206);
    assert_eq!(ranged.headers()["content-type"], "audio/flac");
    assert_eq!(ranged.headers()["content-length"], "100");
    assert_eq!(ranged.headers()["content-range"], "bytes 100-199/5000");
    assert_eq!(ranged.bytes().await.unwrap().as_ref(), &audio[100..200]);

    let whole = get(format!("/audio_clips/{cid}.mp3")).await.unwrap();
    assert_eq!(whole.headers()["content-length"], "5000");
    assert_eq!(whole.bytes().await.unwrap().as_ref(), &audio[..]);

    let shown = get(format!("/audio_clips/{cid}.json")).await.unwrap();
    assert_eq!(
        Answer::of(shown).await.body()["audio_clip"],
        a.body()["audio_clip"]
    );
}

#[tokio::test]
async fn a_clip_without_an_image_has_no_image_download() {
    // Arrange
    let app = TestApp::spawn().await;
    let boo = Boo::new(&app);
    let cid = boo
        .clip(complete_attachment(&boo, b"x", "x.mp3").await)
        .await;

    // Act
    let res = app
        .client
        .get(app.url(&format!("/audio_clips/{cid}/image")))
        .bearer_auth(USER_TOKEN)
        .send()
        .await
        .unwrap();

    // Assert
    Answer::of(res)
        .await
        .assert_error(404, 404, &format!("Audio clip {cid} not found"));
}

#[tokio::test]
async fn unreferenced_attachments_expire_and_referenced_ones_are_kept() {
    // Arrange
    let app = TestApp::spawn().await;
    let boo = Boo::new(&app);
    let kept = complete_attachment(&boo, b"kept", "k.mp3").await;
    let dropped = complete_attachment(&boo, b"dropped", "d.mp3").await;
    let receiving = boo.create(10, 0, b"abc").await.attachment()["id"]
        .as_u64()
        .unwrap();
    let cid = boo.clip(kept).await;

    // Act: a day and an hour later.
    app.engine
        .sweep(SystemTime::now() + Duration::from_secs(25 * 3600))
        .await
        .unwrap();

    // Assert
    for gone in [dropped, receiving] {
        boo.show(gone)
            .await
            .assert_error(404, 404, &format!("Attachment {gone} not found"));
    }
    assert_eq!(boo.show(kept).await.attachment()["complete"], true);
    assert_eq!(boo.download(cid).await, b"kept");
}
