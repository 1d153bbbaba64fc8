//! The AudioBoo Android app's upload loop (specs/audioboom.md §4, §11): signed parameters with
//! the `signed_` prefix, adaptive chunk sizes between 50 and 1000 KiB, the next offset taken
//! from `received`, and duplicate answers ignored.

use super::*;
use crate::helpers::TestApp;

const MIN_CHUNK: f64 = 50.0 * 1024.0;
const MAX_CHUNK: f64 = 1000.0 * 1024.0;

/// One signed request as the app builds it; `id` is `None` for the create.
async fn android_request(
    app: &TestApp,
    id: Option<u64>,
    size: usize,
    data: &[u8],
    offset: usize,
) -> Answer {
    let path = match id {
        Some(id) => format!("/attachments/{id}"),
        None => "/attachments".to_owned(),
    };
    let offset_text = offset.to_string();
    let size_text = size.to_string();
    let signed = vec![
        Part::Text("signed_source[timestamp]", "1736937000"),
        Part::Text("signed_attachment[size]", &size_text),
        Part::Text("signed_attachment[chunk_offset]", &offset_text),
        chunk("signed_attachment[chunk]", data),
    ];
    let signature = sign(&format!("http://api.example.com{path}"), &signed, SECRET);
    let mut parts = signed;
    parts.extend([
        Part::Text("version", "200"),
        Part::Text("fmt", "json"),
        Part::Text("source[key]", KEY),
        Part::Text("source[signature]", &signature),
        Part::Text("debug_signature", "true"),
    ]);
    let method = if id.is_some() {
        reqwest::Method::PUT
    } else {
        reqwest::Method::POST
    };
    let res = app
        .client
        .request(method, app.url(&path))
        .header(CONTENT_TYPE, multipart_type())
        .header("Accept", "application/json")
        .body(multipart(&parts))
        .send()
        .await
        .unwrap();
    Answer::of(res).await
}

#[tokio::test]
async fn the_android_loop_uploads_with_adaptive_signed_chunks_and_creates_a_clip() {
    // Arrange
    let app = TestApp::spawn_with(with_signing).await;
    let file = random_bytes(11, 6 * 1024 * 1024 + 123);
    let mut chunk_size = MIN_CHUNK;
    let mut sizes = Vec::new();
    let (mut id, mut offset, mut last_received, mut ignored) = (None, 0usize, 0u64, 0);

    // Act
    for request in 0.. {
        assert!(request < 200, "the loop must finish");
        let len = (chunk_size as usize).min(file.len() - offset);
        sizes.push(len);
        let piece = &file[offset..offset + len];
        let mut answers = vec![android_request(&app, id, file.len(), piece, offset).await];
        if request % 5 == 2 {
            // A retried request whose answer arrives twice: the second is not news.
            answers.push(android_request(&app, id, file.len(), piece, offset).await);
        }
        let mut done = false;
        for a in answers {
            assert!(a.status == 200 || a.status == 201, "{}", a.text);
            let att = a.attachment();
            let this_id = att["id"].as_u64().unwrap();
            assert_eq!(
                *id.get_or_insert(this_id),
                this_id,
                "the answer is about our attachment"
            );
            let received = att["received"].as_u64().unwrap();
            if received <= last_received {
                ignored += 1;
                continue;
            }
            last_received = received;
            offset = received as usize;
            done = att["complete"] == true || att["outstanding"].as_i64().unwrap() <= 0;
        }
        if done {
            break;
        }
        // Slower links shrink the chunk, faster ones grow it (every fifth request is "slow").
        chunk_size = if request % 5 == 4 {
            chunk_size / 1.5
        } else {
            chunk_size * 1.5
        }
        .clamp(MIN_CHUNK, MAX_CHUNK);
    }
    let id = id.unwrap().to_string();
    let fingerprint = sha1_hex(&file);
    let clip_signed = vec![
        Part::Text("signed_audio_clip[title]", "My boo"),
        Part::Text(
            "signed_audio_clip[uploaded_data][chunked_attachment_id]",
            &id,
        ),
        Part::Text(
            "signed_audio_clip[uploaded_data][fingerprint]",
            &fingerprint,
        ),
        Part::Text("signed_source[timestamp]", "1736937100"),
    ];
    let signature = sign("http://api.example.com/audio_clips", &clip_signed, SECRET);
    let mut parts = clip_signed;
    parts.extend([
        Part::Text("version", "200"),
        Part::Text("source[key]", KEY),
        Part::Text("source[signature]", &signature),
    ]);
    let res = app
        .client
        .post(app.url("/audio_clips"))
        .header(CONTENT_TYPE, multipart_type())
        .body(multipart(&parts))
        .send()
        .await
        .unwrap();
    let clip = Answer::of(res).await;

    // Assert
    assert!(ignored >= 1, "a duplicate answer was seen and ignored");
    assert!(sizes.iter().any(|&s| s as f64 >= MAX_CHUNK - 1.0));
    assert!(
        sizes.windows(2).any(|w| w[1] < w[0]),
        "the chunk size also shrinks"
    );
    assert_eq!(clip.status, 201, "{}", clip.text);
    let clip_id = clip.body()["audio_clip"]["id"].as_u64().unwrap();
    assert_eq!(Boo::new(&app).download(clip_id).await, file);
}
