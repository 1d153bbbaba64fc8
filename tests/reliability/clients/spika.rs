//! Spika (specs/spika.md): base64 chunks in JSON keyed by `clientId` and index, then verify
//! with the SHA-256; download by file id, or by `clientId` when the verify answer was lost
//! (a second verify answers "already exists"). Every chunk answer lists the indexes held, so
//! each one checks that no acknowledged chunk is gone.

use super::*;
use base64::Engine as _;
use serde_json::json;

fn post(t: &Target, path: &str, body: &serde_json::Value) -> reqwest::RequestBuilder {
    t.http
        .post(t.url(path))
        .header("accesstoken", &t.token)
        .json(body)
}

pub async fn upload(t: &Target, data: &[u8], chunk: usize) -> Outcome<()> {
    let parts = pieces(data, chunk);
    let client_id = format!("c{:016x}", rand::random::<u64>());
    let mut acked: Vec<u64> = Vec::new();
    for (i, piece) in parts.iter().enumerate() {
        let body = json!({"chunk": base64::engine::general_purpose::STANDARD.encode(piece),
            "offset": i, "clientId": client_id});
        let a = t
            .retry(|| post(t, "/api/upload/files", &body))
            .await
            .answer
            .expect(200, "spika chunk")?;
        acked.push(i as u64);
        let held: Vec<u64> = serde_json::from_value(a.json()["data"]["uploadedChunks"].clone())
            .map_err(|e| Failure::Broken(format!("spika chunk answer: {e}")))?;
        if let Some(gone) = acked.iter().find(|i| !held.contains(i)) {
            return Err(t.lost(format!("spika {client_id}: acknowledged chunk {gone} lost")));
        }
    }
    t.tally.completing.notify_waiters();
    let verify = json!({"total": parts.len(), "size": data.len().max(1),
        "mimeType": "application/octet-stream", "fileName": "f.bin", "clientId": client_id,
        "fileHash": sha256_hex(data), "type": "message"});
    let done = t
        .retry(|| post(t, "/api/upload/files/verify", &verify))
        .await;
    let path = match done.answer.status {
        200 => format!(
            "/api/upload/files/{}",
            done.answer.json()["data"]["file"]["id"].as_u64().unwrap()
        ),
        400 if done.interrupted && done.answer.text().contains("already exists") => {
            format!("/uploads/files/{client_id}")
        }
        _ => {
            return Err(t.lost(format!(
                "spika verify {client_id}: {} {}",
                done.answer.status,
                done.answer.text()
            )))
        }
    };
    let got = t
        .retry(|| t.http.get(t.url(&path)).header("accesstoken", &t.token))
        .await
        .answer;
    if got.status == 404 {
        return Err(t.lost(format!("spika {client_id}: verified file gone")));
    }
    same_bytes("spika", &got.expect(200, "spika download")?.body, data)
}
