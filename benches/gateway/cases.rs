//! One driver per dialect, written against `specs/<name>.md` (routes and bodies). Each prepares
//! its content and declared digests first, then times the upload from the first request to the
//! answer that says the file is stored and verified.

use crate::client::*;
use crate::server::TOKEN;
use base64::Engine as _;
use bytes::Bytes;
use serde_json::json;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What a case moved and how long it took.
pub struct Measured {
    pub bytes: u64,
    pub took: Duration,
}

fn bearer(req: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
    req.bearer_auth(TOKEN)
}

/// Runs `work` for each item of `items` on `parallel` concurrent workers.
async fn for_each_parallel<T, F, Fut>(items: Vec<T>, parallel: usize, work: F) -> Result<(), String>
where
    T: Send + 'static,
    F: Fn(T) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<(), String>> + Send,
{
    let queue = Arc::new(Mutex::new(items.into_iter()));
    let work = Arc::new(work);
    let workers: Vec<_> = (0..parallel)
        .map(|_| {
            let (queue, work) = (queue.clone(), work.clone());
            tokio::spawn(async move {
                loop {
                    let next = queue.lock().unwrap().next();
                    let Some(item) = next else {
                        return Ok::<(), String>(());
                    };
                    work(item).await?;
                }
            })
        })
        .collect();
    for w in workers {
        w.await.map_err(|e| format!("worker: {e}"))??;
    }
    Ok(())
}

/// A deterministic shuffle (xorshift Fisher-Yates).
pub fn shuffled(n: u64) -> Vec<u64> {
    let mut v: Vec<u64> = (0..n).collect();
    let mut x: u64 = 0x1234_5678_9abc_def1;
    for i in (1..v.len()).rev() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.swap(i, (x % (i as u64 + 1)) as usize);
    }
    v
}

// ---------------------------------------------------------------- filesnest (specs/filesnest.md)

/// One FilesNest file: create with its SHA-256, PUT raw chunks in `order` (`parallel` at a time),
/// then poll until the background assembly reports `completed`.
async fn filesnest_file(
    http: reqwest::Client,
    base: String,
    (content, sha256): (Content, String),
    chunk: u64,
    order: Vec<u64>,
    parallel: usize,
    lat: Arc<Latencies>,
) -> Result<(), String> {
    let n = content.len.div_ceil(chunk);
    let created = send(
        bearer(http.post(format!("{base}/api/files?include=uploads")))
            .header("Accept", "application/json")
            .json(&json!({
                "name": format!("bench-{}.bin", content.seed),
                "create_datetime": "2024-01-15 10:30:00",
                "checksum": sha256,
                "chunks_count": n,
            })),
        201,
        None,
    )
    .await?;
    let created = json(&created)?;
    let file_id = created["data"]["id"]
        .as_u64()
        .ok_or("filesnest: no data.id")?;
    let mut uploads: Vec<(u64, u64)> = created["data"]["uploads"]
        .as_array()
        .ok_or("filesnest: no uploads")?
        .iter()
        .map(|u| {
            (
                u["number"].as_u64().unwrap_or(0),
                u["id"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    uploads.sort();
    let ids: Arc<Vec<u64>> = Arc::new(uploads.into_iter().map(|(_, id)| id).collect());
    {
        let (http, base, lat, ids) = (http.clone(), base.clone(), lat.clone(), ids.clone());
        for_each_parallel(order, parallel, move |i| {
            let (http, base, lat, ids) = (http.clone(), base.clone(), lat.clone(), ids.clone());
            async move {
                let body = Body::new().data(content.pieces(i * chunk, chunk));
                let req = bearer(http.put(format!(
                    "{base}/api/files/{file_id}/uploads/{}",
                    ids[i as usize]
                )))
                .header("Content-Type", "application/octet-stream")
                .header("Accept", "application/json");
                send(body.attach(req), 200, Some(&lat)).await.map(drop)
            }
        })
        .await?;
    }
    loop {
        let got = send(
            bearer(http.get(format!("{base}/api/files/{file_id}")))
                .header("Accept", "application/json"),
            200,
            None,
        )
        .await?;
        let status = json(&got)?["data"]["status_name"]
            .as_str()
            .unwrap_or("")
            .to_string();
        match status.as_str() {
            "completed" => return Ok(()),
            "in_progress" => tokio::time::sleep(Duration::from_millis(2)).await,
            other => return Err(format!("filesnest: file {file_id} is {other}")),
        }
    }
}

/// `files` FilesNest files of `len` bytes uploaded concurrently, `chunk`-sized chunks, each file
/// in order or shuffled with `parallel` chunks in flight.
pub async fn filesnest(
    base: &str,
    files: u64,
    len: u64,
    chunk: u64,
    shuffle: bool,
    parallel: usize,
    lat: Arc<Latencies>,
) -> Result<Measured, String> {
    let http = http();
    let contents: Vec<(Content, String)> = (0..files)
        .map(|k| {
            let c = Content::new(k + 1, len);
            (c, c.digest::<sha2::Sha256>())
        })
        .collect();
    let n = len.div_ceil(chunk);
    let start = Instant::now();
    let tasks: Vec<_> = contents
        .into_iter()
        .map(|(c, sha)| {
            let order = if shuffle {
                shuffled(n)
            } else {
                (0..n).collect()
            };
            tokio::spawn(filesnest_file(
                http.clone(),
                base.to_string(),
                (c, sha),
                chunk,
                order,
                parallel,
                lat.clone(),
            ))
        })
        .collect();
    for t in tasks {
        t.await.map_err(|e| format!("task: {e}"))??;
    }
    Ok(Measured {
        bytes: files * len,
        took: start.elapsed(),
    })
}

// ---------------------------------------------------------------------- dyson (specs/dyson.md)

/// Dyson: create a task with the MD5, send multipart chunks in order, complete.
pub async fn dyson(
    base: &str,
    len: u64,
    chunk: u64,
    lat: Arc<Latencies>,
) -> Result<Measured, String> {
    let http = http();
    let content = Content::new(11, len);
    let md5 = content.digest::<md5::Md5>();
    let start = Instant::now();
    let created = send(
        bearer(http.post(format!("{base}/api/files/upload/create"))).json(&json!({
            "hash": md5,
            "file_name": "bench.bin",
            "file_size": len,
            "content_type": "application/octet-stream",
            "chunk_size": chunk,
        })),
        200,
        None,
    )
    .await?;
    let created = json(&created)?;
    let task = created["task_id"].as_str().ok_or("dyson: no task_id")?;
    let n = created["chunks_count"]
        .as_u64()
        .ok_or("dyson: no chunks_count")?;
    for i in 0..n {
        let body = mp_end(mp_file(
            Body::new(),
            "chunk",
            "blob",
            "application/octet-stream",
            content.pieces(i * chunk, chunk),
        ));
        let req = bearer(http.post(format!("{base}/api/files/upload/chunk/{task}/{i}")))
            .header("Content-Type", multipart_type());
        send(body.attach(req), 200, Some(&lat)).await?;
    }
    let file = send(
        bearer(http.post(format!("{base}/api/files/upload/complete/{task}"))),
        200,
        None,
    )
    .await?;
    let took = start.elapsed();
    let file = json(&file)?;
    if file["hash"].as_str() != Some(md5.as_str()) {
        return Err(format!(
            "dyson: completed file hash {} != {md5}",
            file["hash"]
        ));
    }
    Ok(Measured { bytes: len, took })
}

// -------------------------------------------------------------- audioboom (specs/audioboom.md)

/// audioBoom: create the attachment with the first chunk, PUT the rest at their offsets (offset
/// in the query string, so the server streams them), then create a clip with the SHA-1
/// fingerprint.
pub async fn audioboom(
    base: &str,
    len: u64,
    chunk: u64,
    lat: Arc<Latencies>,
) -> Result<Measured, String> {
    let http = http();
    let content = Content::new(21, len);
    let sha1 = content.digest::<sha1::Sha1>();
    let start = Instant::now();
    let body = mp_end(mp_file(
        mp_field(
            mp_field(Body::new(), "attachment[size]", &len.to_string()),
            "attachment[filename]",
            "bench.mp3",
        ),
        "attachment[chunk]",
        "bench.mp3",
        "audio/mpeg",
        content.pieces(0, chunk),
    ));
    let req =
        bearer(http.post(format!("{base}/attachments"))).header("Content-Type", multipart_type());
    let created = json(&send(body.attach(req), 201, Some(&lat)).await?)?;
    let id = created["body"]["attachment"]["id"]
        .as_u64()
        .ok_or("audioboom: no body.attachment.id")?;
    let mut off = chunk.min(len);
    while off < len {
        let body = mp_end(mp_file(
            Body::new(),
            "attachment[chunk]",
            "bench.mp3",
            "audio/mpeg",
            content.pieces(off, chunk),
        ));
        let req = bearer(http.put(format!(
            "{base}/attachments/{id}?attachment%5Bchunk_offset%5D={off}"
        )))
        .header("Content-Type", multipart_type());
        send(body.attach(req), 200, Some(&lat)).await?;
        off += chunk;
    }
    let form = format!(
        "audio_clip%5Btitle%5D=bench&audio_clip%5Buploaded_data%5D%5Bchunked_attachment_id%5D={id}&audio_clip%5Buploaded_data%5D%5Bfingerprint%5D={sha1}"
    );
    send(
        bearer(http.post(format!("{base}/audio_clips")))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(form),
        201,
        None,
    )
    .await?;
    Ok(Measured {
        bytes: len,
        took: start.elapsed(),
    })
}

// ---------------------------------------------------------------------- spika (specs/spika.md)

/// Spika: `files` clients, each posting base64 JSON chunks of one file in order, then verify
/// with the SHA-256. The JSON bodies are encoded before the clock starts.
pub async fn spika(
    base: &str,
    files: u64,
    len: u64,
    chunk: u64,
    lat: Arc<Latencies>,
) -> Result<Measured, String> {
    let http = http();
    let b64 = base64::engine::general_purpose::STANDARD;
    let prepared: Vec<(String, String, Vec<Bytes>)> = (0..files)
        .map(|k| {
            let c = Content::new(100 + k, len);
            let client_id = format!("bench-{k}");
            let bodies = (0..len.div_ceil(chunk))
                .map(|i| {
                    let data = c.copy_range(i * chunk, chunk);
                    Bytes::from(format!(
                        "{{\"chunk\":\"{}\",\"offset\":{i},\"clientId\":\"{client_id}\"}}",
                        b64.encode(data)
                    ))
                })
                .collect();
            (client_id, c.digest::<sha2::Sha256>(), bodies)
        })
        .collect();
    let start = Instant::now();
    let tasks: Vec<_> = prepared
        .into_iter()
        .map(|(client_id, sha, bodies)| {
            let (http, base, lat) = (http.clone(), base.to_string(), lat.clone());
            tokio::spawn(async move {
                let total = bodies.len();
                for body in bodies {
                    let req = http
                        .post(format!("{base}/api/upload/files"))
                        .header("accesstoken", TOKEN)
                        .header("Content-Type", "application/json")
                        .body(body);
                    send(req, 200, Some(&lat)).await?;
                }
                let verify = json!({
                    "total": total, "size": len, "mimeType": "application/octet-stream",
                    "fileName": "bench.bin", "clientId": client_id, "fileHash": sha, "type": "message",
                });
                send(
                    http.post(format!("{base}/api/upload/files/verify"))
                        .header("accesstoken", TOKEN)
                        .json(&verify),
                    200,
                    None,
                )
                .await
                .map(drop)
            })
        })
        .collect();
    for t in tasks {
        t.await.map_err(|e| format!("task: {e}"))??;
    }
    Ok(Measured {
        bytes: files * len,
        took: start.elapsed(),
    })
}

// ---------------------------------------------------------------------- dstor (specs/dstor.md)

/// dStor: open an upload of `requests` requests, send `per_request` files of `file_len` bytes
/// in each (one multipart body per request), then poll until `DONE` with the CIDs.
pub async fn dstor(
    base: &str,
    requests: u64,
    per_request: u64,
    file_len: u64,
    lat: Arc<Latencies>,
) -> Result<Measured, String> {
    let http = http();
    let start = Instant::now();
    let opened = json(
        &send(
            bearer(http.post(format!("{base}/v1/upload/get-token")))
                .json(&json!({"chunks_number": requests, "folder_path": "bench"})),
            200,
            None,
        )
        .await?,
    )?;
    let token = opened["token"]
        .as_str()
        .ok_or("dstor: no token")?
        .to_string();
    for r in 0..requests {
        let mut body = Body::new();
        for f in 0..per_request {
            let content = Content::new(200 + r * per_request + f, file_len);
            body = mp_file(
                body,
                "file",
                &format!("f{r}-{f}.bin"),
                "application/octet-stream",
                content.all(),
            );
        }
        let req = bearer(http.post(format!("{base}/v1/upload/")))
            .header("x-dstor-upload-token", &token)
            .header("Content-Type", multipart_type());
        send(mp_end(body).attach(req), 200, Some(&lat)).await?;
    }
    loop {
        let got = json(
            &send(
                bearer(http.get(format!("{base}/v1/upload/get-status/")))
                    .header("x-dstor-upload-token", &token),
                200,
                None,
            )
            .await?,
        )?;
        match got["status"].as_str().unwrap_or("") {
            "DONE" => break,
            "ERROR" => return Err(format!("dstor: {got}")),
            _ => tokio::time::sleep(Duration::from_millis(2)).await,
        }
    }
    Ok(Measured {
        bytes: requests * per_request * file_len,
        took: start.elapsed(),
    })
}

// ------------------------------------------------------------------------- loopback ceiling

/// The loopback ceiling: the same bytes PUT in `chunk`-sized requests to the discard server.
pub async fn loopback(base: &str, len: u64, chunk: u64) -> Result<Measured, String> {
    let http = http();
    let content = Content::new(1, len);
    let start = Instant::now();
    let mut off = 0;
    while off < len {
        let body = Body::new().data(content.pieces(off, chunk));
        send(body.attach(http.put(format!("{base}/discard"))), 200, None).await?;
        off += chunk;
    }
    Ok(Measured {
        bytes: len,
        took: start.elapsed(),
    })
}
