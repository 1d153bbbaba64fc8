//! FilesNest (specs/filesnest.md): create with checksum and chunk count, PATCH numbered chunks,
//! poll until `completed`, download through the operator API (the dialect has no download).

use super::*;
use serde_json::json;

pub async fn upload(t: &Target, data: &[u8], chunk: usize) -> Outcome<()> {
    let parts = pieces(data, chunk);
    // A create whose answer is lost leaves an unused file behind, and its name is then taken
    // (§4): the client creates again under another name.
    let mut created = None;
    for _ in 0..10 {
        let name = format!("f-{:016x}.bin", rand::random::<u64>());
        let body = json!({"name": name, "create_datetime": "2024-01-15 10:30:00",
            "chunks_count": parts.len(), "checksum": sha256_hex(data)});
        let sent = t
            .retry(|| {
                t.http
                    .post(t.url("/api/files?include=uploads"))
                    .bearer_auth(&t.token)
                    .json(&body)
            })
            .await;
        if sent.answer.status == 422 && sent.interrupted {
            continue;
        }
        created = Some(sent.answer.expect(201, "filesnest create")?.json());
        break;
    }
    let created = created.ok_or_else(|| Failure::Broken("filesnest: no create".into()))?;
    let id = created["data"]["id"].as_u64().unwrap();
    let mut uploads: Vec<(u64, u64)> = created["data"]["uploads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| (u["number"].as_u64().unwrap(), u["id"].as_u64().unwrap()))
        .collect();
    uploads.sort();
    let send = |i: usize| {
        let path = format!("/api/files/{id}/uploads/{}", uploads[i].1);
        let piece = Bytes::copy_from_slice(parts[i]);
        async move {
            t.retry(|| {
                t.http
                    .patch(t.url(&path))
                    .bearer_auth(&t.token)
                    .header("Content-Type", "application/octet-stream")
                    .body(piece.clone())
            })
            .await
        }
    };
    let mut acked = Vec::new();
    for i in 0..parts.len() {
        if i + 1 == parts.len() {
            // The last chunk triggers the assembly (§6).
            t.tally.completing.notify_waiters();
        }
        let sent = send(i).await;
        if sent.answer.status == 404 {
            return Err(t.lost(format!("filesnest file {id}: chunk {i} got 404")));
        }
        sent.answer.expect(200, "filesnest chunk")?;
        acked.push(i);
        if sent.interrupted {
            held(t, id, &acked).await?;
        }
    }
    // The check runs in the background; a restart interrupts it, and only a stored chunk
    // starts it again (§6), so a client that sees no progress re-sends its last chunk.
    let mut assembled = false;
    'assembled: for _ in 0..50 {
        for _ in 0..100 {
            let s = t
                .retry(|| {
                    t.http
                        .get(t.url(&format!("/api/files/{id}")))
                        .bearer_auth(&t.token)
                })
                .await;
            if s.answer.status == 404 {
                return Err(t.lost(format!("filesnest file {id} gone")));
            }
            let v = s.answer.expect(200, "filesnest get")?.json();
            match v["data"]["status_name"].as_str() {
                Some("completed") => {
                    assembled = true;
                    break 'assembled;
                }
                Some("in_progress") if s.interrupted => break,
                Some("in_progress") => {}
                other => return Err(Failure::Broken(format!("filesnest file {id}: {other:?}"))),
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        held(t, id, &acked).await?;
        let last = send(parts.len() - 1).await.answer;
        if !matches!(last.status, 200 | 404) {
            return Err(Failure::Broken(format!(
                "filesnest re-send: {}",
                last.text()
            )));
        }
    }
    if !assembled {
        return Err(Failure::Broken(format!(
            "filesnest file {id} never assembled"
        )));
    }
    let got = t
        .retry(|| {
            t.http
                .get(t.url(&format!("/gateway/v1/files/filesnest:{id}/content")))
                .bearer_auth(&t.admin)
        })
        .await
        .answer;
    if got.status == 404 {
        return Err(t.lost(format!("filesnest file {id}: completed but no content")));
    }
    same_bytes(
        "filesnest",
        &got.expect(200, "filesnest download")?.body,
        data,
    )
}

/// Every acknowledged chunk is still held (upload `completed`), unless the file completed.
async fn held(t: &Target, id: u64, acked: &[usize]) -> Outcome<()> {
    let v = t
        .retry(|| {
            t.http
                .get(t.url(&format!("/api/files/{id}?include=uploads")))
                .bearer_auth(&t.token)
        })
        .await
        .answer;
    if v.status == 404 {
        return Err(t.lost(format!("filesnest file {id} gone after a restart")));
    }
    let v = v.expect(200, "filesnest get")?.json();
    if v["data"]["status_name"] == "completed" {
        return Ok(());
    }
    for u in v["data"]["uploads"].as_array().unwrap() {
        let n = u["number"].as_u64().unwrap() as usize - 1;
        if acked.contains(&n) && u["status_name"] != "completed" {
            return Err(t.lost(format!("filesnest file {id}: acknowledged chunk {n} lost")));
        }
    }
    Ok(())
}
