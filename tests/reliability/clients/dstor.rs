//! dStor (specs/dstor.md): open an upload for N requests, send one file per request, poll
//! get-status until `DONE`, download each file from `/ipfs/<cid>`. A request whose answer is
//! lost may or may not have counted (the status does not say), and re-sending it could count it
//! twice, so the client starts over with a new token, after checking that the old one (which
//! was acknowledged) is still known.

use super::*;
use serde_json::json;

pub async fn upload(t: &Target, data: &[u8], chunk: usize) -> Outcome<()> {
    let files = pieces(data, chunk);
    'attempt: for _ in 0..20 {
        let open = json!({"chunks_number": files.len(), "folder_path": "crash"});
        let token = t
            .retry(|| {
                t.http
                    .post(t.url("/v1/upload/get-token/"))
                    .bearer_auth(&t.token)
                    .json(&open)
            })
            .await
            .answer
            .expect(200, "dstor get-token")?
            .json()["token"]
            .as_str()
            .unwrap()
            .to_owned();
        for (i, file) in files.iter().enumerate() {
            if i + 1 == files.len() {
                t.tally.completing.notify_waiters();
            }
            let name = format!("{i:03}.bin");
            let (ctype, form) = multipart(&[("file", Some(&name), file)]);
            let req = t
                .http
                .post(t.url("/v1/upload/"))
                .bearer_auth(&t.token)
                .header("x-dstor-upload-token", &token)
                .header("Content-Type", ctype)
                .body(form);
            match t.once_or_wait(req).await {
                Some(a) if a.status == 404 => {
                    return Err(t.lost(format!("dstor upload gone at request {i}")))
                }
                Some(a) => {
                    a.expect(200, "dstor upload")?;
                }
                None if i + 1 == files.len() => break,
                None => {
                    let s = status(t, &token).await;
                    if s.status == 404 {
                        return Err(t.lost("dstor: acknowledged upload token unknown".into()));
                    }
                    t.tally.restarted.fetch_add(1, Ordering::Relaxed);
                    continue 'attempt;
                }
            }
        }
        let mut done = None;
        for _ in 0..1200 {
            let s = status(t, &token).await;
            if s.status == 404 {
                return Err(t.lost("dstor: upload token unknown while finishing".into()));
            }
            let v = s.expect(200, "dstor status")?.json();
            match v["status"].as_str() {
                Some("DONE") => {
                    done = Some(v);
                    break;
                }
                // The last request's answer was lost and it did not count: start over.
                Some("UPLOADING") => {
                    t.tally.restarted.fetch_add(1, Ordering::Relaxed);
                    continue 'attempt;
                }
                // Relaxed mode may forget an acknowledged request (its files are then missing
                // at finalisation); in strict mode nothing may be.
                Some("ERROR") if !t.strict => return Err(t.lost(format!("dstor: {v}"))),
                Some("ERROR") => return Err(Failure::Broken(format!("dstor: {v}"))),
                _ => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
        let done = done.ok_or_else(|| Failure::Broken("dstor never finished".into()))?;
        let mut got = Vec::new();
        for entry in &done["data"].as_array().unwrap()[..files.len()] {
            let cid = entry["Hash"].as_str().unwrap();
            let a = t
                .retry(|| t.http.get(t.url(&format!("/ipfs/{cid}"))))
                .await
                .answer;
            if a.status == 404 {
                return Err(t.lost(format!("dstor: {cid} gone")));
            }
            got.extend_from_slice(&a.expect(200, "dstor ipfs")?.body);
        }
        return same_bytes("dstor", &got, data);
    }
    Err(Failure::Broken("dstor: 20 attempts".into()))
}

async fn status(t: &Target, token: &str) -> Answer {
    t.retry(|| {
        t.http
            .get(t.url("/v1/upload/get-status/"))
            .bearer_auth(&t.token)
            .header("x-dstor-upload-token", token)
    })
    .await
    .answer
}
