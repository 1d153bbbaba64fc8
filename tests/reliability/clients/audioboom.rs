//! audioBoom (specs/audioboom.md): create the attachment with its size and first chunk, PUT
//! byte-offset chunks (the offset part first, so bodies stream), resume from `received` (the
//! next offset to send, §5), then make a clip and download its `.mp3`.

use super::*;

fn envelope(a: Answer, want: u16, what: &str) -> Outcome<serde_json::Value> {
    Ok(a.expect(want, what)?.json()["body"].clone())
}

pub async fn upload(t: &Target, data: &[u8], chunk: usize) -> Outcome<()> {
    let first = &data[..chunk.min(data.len())];
    let size = data.len().to_string();
    let (ctype, form) = multipart(&[
        ("attachment[size]", None, size.as_bytes()),
        ("attachment[chunk_offset]", None, b"0"),
        (
            "attachment[chunk]",
            Some("/sdcard/boo/recording.mp3"),
            first,
        ),
    ]);
    // A create whose answer is lost leaves an unused attachment; the client makes another.
    let created = t
        .retry(|| {
            t.http
                .post(t.url("/attachments"))
                .bearer_auth(&t.token)
                .header("Content-Type", &ctype)
                .body(form.clone())
        })
        .await
        .answer;
    let att = envelope(created, 201, "audioboom create")?["attachment"].clone();
    let id = att["id"].as_u64().unwrap();
    let mut acked = att["received"].as_u64().unwrap() as usize;
    let mut next = acked;
    while next < data.len() {
        let end = (next + chunk).min(data.len());
        let offset = next.to_string();
        let (ctype, form) = multipart(&[
            ("attachment[chunk_offset]", None, offset.as_bytes()),
            (
                "attachment[chunk]",
                Some("/sdcard/boo/recording.mp3"),
                &data[next..end],
            ),
        ]);
        let a = t
            .retry(|| {
                t.http
                    .put(t.url(&format!("/attachments/{id}")))
                    .bearer_auth(&t.token)
                    .header("Content-Type", &ctype)
                    .body(form.clone())
            })
            .await
            .answer;
        if a.status == 404 {
            return Err(t.lost(format!("audioboom attachment {id} gone")));
        }
        let received = envelope(a, 200, "audioboom chunk")?["attachment"]["received"]
            .as_u64()
            .unwrap() as usize;
        if received < acked {
            return Err(t.lost(format!(
                "audioboom attachment {id}: {acked} bytes acknowledged, {received} held"
            )));
        }
        acked = received;
        next = received;
    }
    t.tally.completing.notify_waiters();
    let id_text = id.to_string();
    let form = format!(
        "audio_clip%5Btitle%5D=t&audio_clip%5Buploaded_data%5D%5Bchunked_attachment_id%5D={id_text}"
    );
    // A clip whose answer is lost is an extra clip of the same attachment (allowed, §6).
    let clip = t
        .retry(|| {
            t.http
                .post(t.url("/audio_clips"))
                .bearer_auth(&t.token)
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(form.clone())
        })
        .await
        .answer;
    if clip.status == 404 {
        return Err(t.lost(format!("audioboom attachment {id} gone before its clip")));
    }
    let clip = envelope(clip, 201, "audioboom clip")?["audio_clip"]["id"]
        .as_u64()
        .unwrap();
    let got = t
        .retry(|| {
            t.http
                .get(t.url(&format!("/audio_clips/{clip}.mp3")))
                .bearer_auth(&t.token)
        })
        .await
        .answer;
    if got.status == 404 {
        return Err(t.lost(format!("audioboom clip {clip} gone")));
    }
    same_bytes(
        "audioboom",
        &got.expect(200, "audioboom download")?.body,
        data,
    )
}
