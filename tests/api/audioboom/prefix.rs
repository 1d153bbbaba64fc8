//! The dialect mounted under a prefix: `Location`, `urls`, signatures and the legacy 404 follow
//! it (specs/audioboom.md §1, §4).

use super::*;
use crate::helpers::{TestApp, USER_TOKEN};

#[tokio::test]
async fn under_a_prefix_locations_urls_and_unmatched_paths_follow_it() {
    // Arrange
    let app = TestApp::spawn_with(|s| s.dialects.audioboom.prefix = "/boo".into()).await;

    // Act
    let res = app
        .client
        .post(app.url("/boo/attachments"))
        .bearer_auth(USER_TOKEN)
        .header(CONTENT_TYPE, multipart_type())
        .body(multipart(&[
            Part::Text("attachment[size]", "3"),
            chunk("attachment[chunk]", b"abc"),
        ]))
        .send()
        .await
        .unwrap();
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    let created = Answer::of(res).await;
    let id = created.attachment()["id"].as_u64().unwrap();
    let clip = Boo::new(&app)
        .form(
            "/boo/audio_clips",
            &[
                ("audio_clip[title]", "t"),
                (
                    "audio_clip[uploaded_data][chunked_attachment_id]",
                    &id.to_string(),
                ),
            ],
        )
        .await;
    let unmatched = app
        .client
        .get(app.url("/boo/attachments/x"))
        .bearer_auth(USER_TOKEN)
        .send()
        .await
        .unwrap();
    let outside = app
        .client
        .get(app.url(&format!("/attachments/{id}")))
        .bearer_auth(USER_TOKEN)
        .send()
        .await
        .unwrap();

    // Assert
    assert_eq!(location, format!("/boo/attachments/{id}"));
    let cid = clip.body()["audio_clip"]["id"].as_u64().unwrap();
    assert_eq!(
        clip.body()["audio_clip"]["urls"]["detail"],
        format!("http://127.0.0.1:{}/boo/audio_clips/{cid}", app.port)
    );
    Answer::of(unmatched)
        .await
        .assert_error(404, 404, "Not found");
    assert_eq!(outside.status(), 404);
    assert!(outside.headers().get("x-audioboo-error_code").is_none());
}

#[tokio::test]
async fn under_a_prefix_the_signed_uri_is_the_public_base_and_the_path_below_it() {
    // Arrange
    let app = TestApp::spawn_with(|s| {
        with_signing(s);
        s.dialects.audioboom.prefix = "/boo".into();
        s.dialects.audioboom.public_base_url = Some("https://api.example.com/v2".into());
    })
    .await;
    let mut parts = vec![
        Part::Text("signed_attachment[size]", "3"),
        chunk("signed_attachment[chunk]", b"abc"),
    ];
    let signature = sign("https://api.example.com/v2/attachments", &parts, SECRET);
    parts.push(Part::Text("source[key]", KEY));
    parts.push(Part::Text("source[signature]", &signature));

    // Act
    let res = app
        .client
        .post(app.url("/boo/attachments"))
        .header(CONTENT_TYPE, multipart_type())
        .body(multipart(&parts))
        .send()
        .await
        .unwrap();

    // Assert
    let a = Answer::of(res).await;
    assert_eq!(a.status, 201, "{}", a.text);
}
