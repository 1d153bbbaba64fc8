//! Dyson (specs/dyson.md): create a task (MD5 `hash`), send multipart chunks, complete, and
//! download the CloudFile through `/drive/files/{id}`. Dyson has no status route: a lost chunk
//! shows as `CHUNK_MISSING` at completion, a completion whose answer was lost as a 404 task,
//! after which creating again with the same hash answers `file_exists` (de-duplication, §4).

use super::*;
use md5::Md5;
use serde_json::json;

fn md5_hex(data: &[u8]) -> String {
    hex::encode(Md5::digest(data))
}

fn post(t: &Target, path: &str) -> reqwest::RequestBuilder {
    t.http
        .post(t.url(&format!("/drive/files/upload{path}")))
        .header("Authorization", format!("AtField {}", t.token))
}

pub async fn upload(t: &Target, data: &[u8], chunk: usize) -> Outcome<()> {
    let parts = pieces(data, chunk);
    let body = json!({"hash": md5_hex(data), "file_name": "f.bin", "file_size": data.len(),
        "content_type": "application/octet-stream", "chunk_size": chunk});
    let create = || async {
        Ok::<_, Failure>(
            t.retry(|| post(t, "/create").json(&body))
                .await
                .answer
                .expect(200, "dyson create")?
                .json(),
        )
    };
    let task = create().await?;
    if task["file_exists"] == true {
        return Err(Failure::Broken(
            "dyson: fresh content already exists".into(),
        ));
    }
    let task_id = task["task_id"].as_str().unwrap().to_owned();
    let count = task["chunks_count"].as_u64().unwrap() as usize;
    if count != parts.len() {
        return Err(Failure::Broken(format!(
            "dyson: {count} chunks for {}",
            parts.len()
        )));
    }
    for (i, piece) in parts.iter().enumerate() {
        let (ctype, form) = multipart(&[("chunk", Some("blob"), piece)]);
        let a = t
            .retry(|| {
                post(t, &format!("/chunk/{task_id}/{i}"))
                    .header("Content-Type", &ctype)
                    .body(form.clone())
            })
            .await
            .answer;
        if a.status == 404 {
            return Err(t.lost(format!("dyson task {task_id} gone at chunk {i}")));
        }
        a.expect(200, "dyson chunk")?;
    }
    t.tally.completing.notify_waiters();
    let done = t.retry(|| post(t, &format!("/complete/{task_id}"))).await;
    let file = match done.answer.status {
        200 => done.answer.json(),
        // Completed before the kill, answer lost: the file is found by its hash (§4).
        404 if done.interrupted => {
            let again = create().await?;
            if again["file_exists"] != true {
                return Err(t.lost(format!("dyson task {task_id}: neither task nor file")));
            }
            again["file"].clone()
        }
        400 if done.answer.json()["code"] == "CHUNK_MISSING" => {
            return Err(t.lost(format!("dyson task {task_id}: {}", done.answer.text())));
        }
        _ => {
            return Err(Failure::Broken(format!(
                "dyson complete: {}",
                done.answer.text()
            )))
        }
    };
    if file["hash"] != md5_hex(data) {
        return Err(Failure::Broken(format!("dyson hash {}", file["hash"])));
    }
    let id = file["id"].as_str().unwrap().to_owned();
    let got = t
        .retry(|| {
            t.http
                .get(t.url(&format!("/drive/files/{id}")))
                .header("Authorization", format!("AtField {}", t.token))
        })
        .await
        .answer;
    if got.status == 404 {
        return Err(t.lost(format!("dyson file {id} gone")));
    }
    same_bytes("dyson", &got.expect(200, "dyson download")?.body, data)
}
