//! Every unauthorized form of specs/audioboom.md §4 and §9, and ownership: another principal's
//! attachments and clips answer exactly like unknown ones.

use super::*;
use crate::helpers::{TestApp, OTHER_TOKEN, USER_TOKEN};
use reqwest::Method;

/// An attachment, complete, with a clip, of the test user: `(attachment, clip)`.
async fn arrange_owned(app: &TestApp) -> (u64, u64) {
    let boo = Boo::new(app);
    let id = boo.create(3, 0, b"abc").await.attachment()["id"]
        .as_u64()
        .unwrap();
    (id, boo.clip(id).await)
}

/// `(method, path, parts)` of one request per authenticated route.
fn routes(att: u64, clip: u64) -> Vec<(Method, String)> {
    vec![
        (Method::POST, "/attachments".into()),
        (Method::PUT, format!("/attachments/{att}")),
        (Method::POST, format!("/attachments/{att}")),
        (Method::GET, format!("/attachments/{att}")),
        (Method::POST, "/audio_clips".into()),
        (Method::POST, "/account/audio_clips".into()),
        (Method::POST, "/channels/3/audio_clips".into()),
        (Method::POST, "/account/outbox".into()),
        (Method::GET, format!("/audio_clips/{clip}")),
    ]
}

fn valid_parts() -> Vec<Part<'static>> {
    vec![
        Part::Text("attachment[size]", "3"),
        Part::Text("attachment[chunk_offset]", "0"),
        chunk("attachment[chunk]", b"abc"),
    ]
}

#[tokio::test]
async fn every_route_without_a_credential_answers_authentication_required() {
    // Arrange
    let app = TestApp::spawn_with(with_signing).await;
    let (att, clip) = arrange_owned(&app).await;
    let before = app.engine.inventory().await.unwrap();

    for (method, path) in routes(att, clip) {
        // Act
        let res = app
            .client
            .request(method.clone(), app.url(&path))
            .header(CONTENT_TYPE, multipart_type())
            .body(multipart(&valid_parts()))
            .send()
            .await
            .unwrap();

        // Assert
        Answer::of(res)
            .await
            .assert_error(401, 401, "Authentication required");
        assert_eq!(
            app.engine.inventory().await.unwrap(),
            before,
            "{method} {path}"
        );
    }
}

#[tokio::test]
async fn a_wrong_token_unknown_key_or_bad_signature_answers_invalid_credentials() {
    // Arrange
    let app = TestApp::spawn_with(with_signing).await;
    let (att, clip) = arrange_owned(&app).await;
    let before = app.engine.inventory().await.unwrap();
    let uri = "http://api.example.com/attachments";
    let mut signed = vec![
        Part::Text("signed_attachment[size]", "3"),
        chunk("signed_attachment[chunk]", b"abc"),
    ];
    let good = sign(uri, &signed, SECRET);
    let wrong = sign(uri, &signed, "not-the-secret");
    signed.push(Part::Text("source[key]", KEY));

    // Act / Assert: a wrong Bearer token on every route.
    for (method, path) in routes(att, clip) {
        let res = app
            .client
            .request(method.clone(), app.url(&path))
            .bearer_auth("not-a-token")
            .header(CONTENT_TYPE, multipart_type())
            .body(multipart(&valid_parts()))
            .send()
            .await
            .unwrap();
        Answer::of(res)
            .await
            .assert_error(401, 401, "Invalid credentials");
    }

    // Act / Assert: signed parameters with an unknown key, a bad signature, no signature.
    let cases: Vec<Vec<Part>> = vec![
        vec![
            Part::Text("signed_attachment[size]", "3"),
            chunk("signed_attachment[chunk]", b"abc"),
            Part::Text("source[key]", "unknown-key"),
            Part::Text("source[signature]", &good),
        ],
        vec![
            Part::Text("signed_attachment[size]", "3"),
            chunk("signed_attachment[chunk]", b"abc"),
            Part::Text("service[key]", KEY),
            Part::Text("service[signature]", &wrong),
        ],
        vec![
            Part::Text("signed_attachment[size]", "3"),
            chunk("signed_attachment[chunk]", b"abd"),
            Part::Text("source[key]", KEY),
            Part::Text("source[signature]", &good),
        ],
        signed,
    ];
    for parts in cases {
        let res = app
            .client
            .post(app.url("/attachments"))
            .header(CONTENT_TYPE, multipart_type())
            .body(multipart(&parts))
            .send()
            .await
            .unwrap();
        Answer::of(res)
            .await
            .assert_error(401, 401, "Invalid credentials");
    }
    assert_eq!(app.engine.inventory().await.unwrap(), before);
}

#[tokio::test]
async fn with_verification_off_a_known_key_is_enough() {
    // Arrange
    let app = TestApp::spawn_with(|s| {
        with_signing(s);
        s.dialects.audioboom.verify_signatures = false;
    })
    .await;

    // Act
    let res = app
        .client
        .post(app.url("/attachments"))
        .header(CONTENT_TYPE, multipart_type())
        .body(multipart(&[
            Part::Text("signed_attachment[size]", "3"),
            chunk("signed_attachment[chunk]", b"abc"),
            Part::Text("source[key]", KEY),
        ]))
        .send()
        .await
        .unwrap();

    // Assert
    let a = Answer::of(res).await;
    assert_eq!(a.status, 201, "{}", a.text);
    assert_eq!(a.attachment()["complete"], true);
}

#[tokio::test]
async fn a_download_without_the_owners_credentials_is_the_clips_404() {
    // Arrange
    let app = TestApp::spawn_with(with_signing).await;
    let (_, clip) = arrange_owned(&app).await;
    let mp3 = format!("/audio_clips/{clip}.mp3");

    // Act
    let none = app.client.get(app.url(&mp3)).send().await.unwrap();
    let wrong = app
        .client
        .get(app.url(&mp3))
        .bearer_auth("nope")
        .send()
        .await
        .unwrap();
    let bad_sig = app
        .client
        .get(app.url(&format!("{mp3}?source[key]={KEY}&source[signature]=00")))
        .send()
        .await
        .unwrap();
    let other = app
        .client
        .get(app.url(&mp3))
        .bearer_auth(OTHER_TOKEN)
        .send()
        .await
        .unwrap();

    // Assert
    for res in [none, wrong, bad_sig, other] {
        Answer::of(res)
            .await
            .assert_error(404, 404, &format!("Audio clip {clip} not found"));
    }
}

#[tokio::test]
async fn a_download_signed_in_the_query_string_is_the_owners() {
    // Arrange
    let app = TestApp::spawn_with(with_signing).await;
    let (_, clip) = arrange_owned(&app).await;
    let path = format!("/audio_clips/{clip}.mp3");
    let parts = [Part::Text("signed_source[timestamp]", "1700000000")];
    let sig = sign(&format!("http://api.example.com{path}"), &parts, SECRET);

    // Act
    let res = app
        .client
        .get(app.url(&format!(
            "{path}?signed_source%5Btimestamp%5D=1700000000&source%5Bkey%5D={KEY}&source%5Bsignature%5D={sig}"
        )))
        .send()
        .await
        .unwrap();

    // Assert
    assert_eq!(res.status(), 200);
    assert_eq!(res.bytes().await.unwrap().as_ref(), b"abc");
}

/// The answer with every occurrence of `id` replaced, so answers about different ids compare.
fn neutral(a: &Answer, id: u64) -> (u16, String, String) {
    (
        a.status,
        a.text_without_timestamp()
            .replace(&format!(" {id} not found"), " ID not found"),
        a.headers["x-audioboo-error_description"]
            .to_str()
            .unwrap()
            .replace(&format!(" {id} not found"), " ID not found"),
    )
}

#[tokio::test]
async fn another_principal_cannot_see_or_touch_and_gets_the_unknown_id_answer() {
    // Arrange
    let app = TestApp::spawn().await;
    let (att, clip) = arrange_owned(&app).await;
    let unknown = 999_999;
    let alice = Boo::new(&app);
    let partial = alice.create(10, 0, b"01234").await.attachment()["id"]
        .as_u64()
        .unwrap();
    let bob = Boo::as_user(&app, OTHER_TOKEN);
    let before = app.engine.inventory().await.unwrap();

    // Act / Assert: the attachment routes.
    for id in [att, partial] {
        assert_eq!(
            neutral(&bob.show(id).await, id),
            neutral(&bob.show(unknown).await, unknown)
        );
        assert_eq!(
            neutral(&bob.put(id, 5, b"56789").await, id),
            neutral(&bob.put(unknown, 5, b"56789").await, unknown)
        );
        bob.show(id)
            .await
            .assert_error(404, 404, &format!("Attachment {id} not found"));
    }

    // Act / Assert: using the attachment in a clip.
    let use_it = |id: u64| {
        let idt = id.to_string();
        let bob = &bob;
        async move {
            bob.form(
                "/audio_clips",
                &[
                    ("audio_clip[title]", "t"),
                    ("audio_clip[uploaded_data][chunked_attachment_id]", &idt),
                ],
            )
            .await
        }
    };
    let foreign = use_it(att).await;
    foreign.assert_error(404, 404, &format!("attachment {att} not found"));
    assert_eq!(
        neutral(&foreign, att),
        neutral(&use_it(unknown).await, unknown)
    );

    // Act / Assert: the clip and its download.
    let show = |id: u64| {
        app.client
            .get(app.url(&format!("/audio_clips/{id}")))
            .bearer_auth(OTHER_TOKEN)
            .send()
    };
    let foreign = Answer::of(show(clip).await.unwrap()).await;
    foreign.assert_error(404, 404, &format!("Audio clip {clip} not found"));
    assert_eq!(
        neutral(&foreign, clip),
        neutral(&Answer::of(show(unknown).await.unwrap()).await, unknown)
    );
    assert_eq!(app.engine.inventory().await.unwrap(), before);

    // The owner still has everything.
    assert_eq!(alice.show(partial).await.attachment()["received"], 5);
    assert_eq!(alice.download(clip).await, b"abc");
    let _ = USER_TOKEN;
}
