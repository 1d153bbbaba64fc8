//! Group 3, races: many concurrent requests on one upload (duplicate chunks, completion racing
//! the last chunk, two or three completions at once, a delete during the upload, one request
//! more than dStor's count), in seeded random orders, a few hundred rounds in all. Each round
//! ends in one consistent state: exactly one file with the right bytes (or, after a delete,
//! none), every other request a clean legacy answer, and the store consistent.

use std::sync::Arc;

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

use crate::clients::{content, multipart, sha256_hex};
use crate::helpers::{TestApp, USER_TOKEN};

/// Rounds per dialect: more with `CHUNKGATE_LONG_TESTS=1`.
fn rounds(short: usize) -> usize {
    if std::env::var_os("CHUNKGATE_LONG_TESTS").is_some() {
        short * 3
    } else {
        short
    }
}

/// Runs `ops` at once, each after a random number of scheduler yields (the interleaving).
async fn all_at_once<F, T>(rng: &mut StdRng, mut ops: Vec<F>) -> Vec<T>
where
    F: std::future::Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    ops.shuffle(rng);
    let handles: Vec<_> = ops
        .into_iter()
        .map(|op| {
            let yields = rng.gen_range(0..6);
            tokio::spawn(async move {
                for _ in 0..yields {
                    tokio::task::yield_now().await;
                }
                op.await
            })
        })
        .collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

async fn settle_and_check(app: &TestApp) -> chunkgate::engine::Inventory {
    // Background folds and checks finish; then the store must be consistent.
    for _ in 0..200 {
        let inv = app.engine.inventory().await.unwrap();
        if inv.uploads.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let inv = app.engine.inventory().await.unwrap();
    crate::store::assert_consistent(&app.engine, &inv);
    inv
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dyson_duplicate_chunks_and_racing_completes_end_in_exactly_one_file() {
    let seed = crate::crash::seed();
    println!("races dyson: seed {seed}");
    let mut rng = StdRng::seed_from_u64(seed);
    let app = Arc::new(TestApp::spawn().await);
    let n = rounds(80);
    for round in 0..n {
        // Arrange: a task of 1..=4 chunks.
        let chunks = rng.gen_range(1..=4usize);
        let data = content(rng.gen(), chunks * 4096 - rng.gen_range(0..4000));
        let md5 = hex::encode(<md5::Md5 as sha2::Digest>::digest(&data));
        let create = json!({"hash": md5, "file_name": "r.bin", "file_size": data.len(),
            "content_type": "application/octet-stream", "chunk_size": 4096});
        let task: Value = dyson(&app, "/create")
            .json(&create)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let task = task["task_id"].as_str().unwrap().to_owned();

        // Act: every chunk 1-3 times and 1-3 completes, all at once.
        let mut ops = Vec::new();
        for (i, piece) in data.chunks(4096).enumerate() {
            for _ in 0..rng.gen_range(1..=3) {
                let (app, task, piece) = (app.clone(), task.clone(), piece.to_vec());
                ops.push(Box::pin(async move {
                    let (ctype, form) = multipart(&[("chunk", Some("b"), &piece)]);
                    let r = dyson(&app, &format!("/chunk/{task}/{i}"))
                        .header("Content-Type", ctype)
                        .body(form)
                        .send()
                        .await
                        .unwrap();
                    ("chunk", r.status().as_u16(), r.text().await.unwrap())
                })
                    as std::pin::Pin<Box<dyn std::future::Future<Output = _> + Send>>);
            }
        }
        for _ in 0..rng.gen_range(1..=3) {
            let (app, task) = (app.clone(), task.clone());
            ops.push(Box::pin(async move {
                let r = dyson(&app, &format!("/complete/{task}"))
                    .send()
                    .await
                    .unwrap();
                ("complete", r.status().as_u16(), r.text().await.unwrap())
            }));
        }
        let answers = all_at_once(&mut rng, ops).await;

        // Assert: chunks 200 (or 404 once completed), completes 200 at most once, else a
        // missing chunk (400) or a finished task (404).
        let mut completed = 0;
        for (what, status, body) in &answers {
            match (*what, status) {
                ("chunk", 200 | 404) | ("complete", 404) => {}
                ("complete", 200) => completed += 1,
                ("complete", 400) if body.contains("CHUNK_MISSING") => {}
                _ => panic!("round {round} (seed {seed}): {what} answered {status} {body}"),
            }
        }
        assert!(completed <= 1, "round {round} (seed {seed}): {answers:?}");
        if completed == 0 {
            let r = dyson(&app, &format!("/complete/{task}"))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200, "round {round} (seed {seed})");
        }
        let again = dyson(&app, "/create").json(&create).send().await.unwrap();
        let again: Value = again.json().await.unwrap();
        assert_eq!(again["file_exists"], true, "round {round} (seed {seed})");
    }
    let inv = settle_and_check(&app).await;
    assert_eq!(inv.files.len(), n, "one file per round");
    assert!(inv.uploads.is_empty(), "{:?}", inv.uploads);
}

fn dyson(app: &TestApp, path: &str) -> reqwest::RequestBuilder {
    app.client
        .post(app.url(&format!("/drive/files/upload{path}")))
        .header("Authorization", format!("AtField {USER_TOKEN}"))
}

fn spika(app: &TestApp, path: &str, body: &Value) -> reqwest::RequestBuilder {
    app.client
        .post(app.url(path))
        .header("accesstoken", USER_TOKEN)
        .json(body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn spika_duplicate_chunks_and_racing_verifies_end_in_exactly_one_file() {
    use base64::Engine as _;
    let seed = crate::crash::seed();
    println!("races spika: seed {seed}");
    let mut rng = StdRng::seed_from_u64(seed);
    let app = Arc::new(TestApp::spawn().await);
    let n = rounds(80);
    for round in 0..n {
        let chunks = rng.gen_range(1..=4usize);
        let data = content(rng.gen(), chunks * 3000 - rng.gen_range(0..2900));
        let client_id = format!("race-{round}-{}", rng.gen::<u32>());
        let verify = json!({"total": data.chunks(3000).count(), "size": data.len(),
            "mimeType": "application/octet-stream", "fileName": "r.bin", "clientId": client_id,
            "fileHash": sha256_hex(&data), "type": "message"});

        let mut ops = Vec::new();
        for (i, piece) in data.chunks(3000).enumerate() {
            for _ in 0..rng.gen_range(1..=3) {
                let body = json!({"chunk": base64::engine::general_purpose::STANDARD.encode(piece),
                    "offset": i, "clientId": client_id});
                let app = app.clone();
                ops.push(Box::pin(async move {
                    let r = spika(&app, "/api/upload/files", &body)
                        .send()
                        .await
                        .unwrap();
                    ("chunk", r.status().as_u16(), r.text().await.unwrap())
                })
                    as std::pin::Pin<Box<dyn std::future::Future<Output = _> + Send>>);
            }
        }
        for _ in 0..rng.gen_range(1..=3) {
            let (app, verify) = (app.clone(), verify.clone());
            ops.push(Box::pin(async move {
                let r = spika(&app, "/api/upload/files/verify", &verify)
                    .send()
                    .await
                    .unwrap();
                ("verify", r.status().as_u16(), r.text().await.unwrap())
            }));
        }
        let answers = all_at_once(&mut rng, ops).await;

        let mut verified = 0;
        for (what, status, body) in &answers {
            match (*what, status) {
                ("chunk", 200) => {}
                ("verify", 200) => verified += 1,
                ("chunk" | "verify", 400) if body.contains("already exists") => {}
                ("verify", 400) if body.contains("Not all chunks") => {}
                _ => panic!("round {round} (seed {seed}): {what} answered {status} {body}"),
            }
        }
        assert!(verified <= 1, "round {round} (seed {seed}): {answers:?}");
        if verified == 0 {
            let r = spika(&app, "/api/upload/files/verify", &verify)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200, "round {round} (seed {seed})");
        }
        let got = app
            .client
            .get(app.url(&format!("/uploads/files/{client_id}")))
            .header("accesstoken", USER_TOKEN)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        assert!(got == data, "round {round} (seed {seed}): bytes differ");
    }
    let inv = settle_and_check(&app).await;
    assert_eq!(inv.files.len(), n, "one file per round");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn filesnest_duplicate_chunks_racing_the_assembly_and_a_delete_end_in_one_file_or_none() {
    let seed = crate::crash::seed();
    println!("races filesnest: seed {seed}");
    let mut rng = StdRng::seed_from_u64(seed);
    let app = Arc::new(TestApp::spawn().await);
    let n = rounds(60);
    let mut kept = 0;
    for round in 0..n {
        let chunks = rng.gen_range(1..=4usize);
        let data = content(rng.gen(), chunks * 4096 - rng.gen_range(0..4000));
        let body = json!({"name": format!("r{round}.bin"), "create_datetime": "2024-01-15 10:30:00",
            "chunks_count": data.chunks(4096).count(), "checksum": sha256_hex(&data)});
        let created: Value = app
            .client
            .post(app.url("/api/files?include=uploads"))
            .bearer_auth(USER_TOKEN)
            .json(&body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let id = created["data"]["id"].as_u64().unwrap();
        let mut uploads: Vec<(u64, u64)> = created["data"]["uploads"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| (u["number"].as_u64().unwrap(), u["id"].as_u64().unwrap()))
            .collect();
        uploads.sort();

        let mut ops = Vec::new();
        for (i, piece) in data.chunks(4096).enumerate() {
            for _ in 0..rng.gen_range(1..=3) {
                let (app, piece, upload) = (app.clone(), piece.to_vec(), uploads[i].1);
                ops.push(Box::pin(async move {
                    let r = app
                        .client
                        .patch(app.url(&format!("/api/files/{id}/uploads/{upload}")))
                        .bearer_auth(USER_TOKEN)
                        .header("Content-Type", "application/octet-stream")
                        .body(piece)
                        .send()
                        .await
                        .unwrap();
                    ("chunk", r.status().as_u16(), r.text().await.unwrap())
                })
                    as std::pin::Pin<Box<dyn std::future::Future<Output = _> + Send>>);
            }
        }
        let delete = rng.gen_bool(0.3);
        if delete {
            let app = app.clone();
            ops.push(Box::pin(async move {
                let r = app
                    .client
                    .delete(app.url(&format!("/api/files/{id}")))
                    .bearer_auth(USER_TOKEN)
                    .send()
                    .await
                    .unwrap();
                ("delete", r.status().as_u16(), r.text().await.unwrap())
            }));
        }
        let answers = all_at_once(&mut rng, ops).await;
        for (what, status, body) in &answers {
            match (*what, status) {
                ("chunk", 200 | 404) | ("delete", 200 | 204) => {}
                _ => panic!("round {round} (seed {seed}): {what} answered {status} {body}"),
            }
        }
        if delete {
            let r = app
                .client
                .get(app.url(&format!("/api/files/{id}")))
                .bearer_auth(USER_TOKEN)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 404, "round {round} (seed {seed}): deleted file");
            continue;
        }
        kept += 1;
        let mut status = Value::Null;
        for _ in 0..200 {
            let v: Value = app
                .client
                .get(app.url(&format!("/api/files/{id}")))
                .bearer_auth(USER_TOKEN)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            status = v["data"]["status_name"].clone();
            if status == "completed" {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        assert_eq!(status, "completed", "round {round} (seed {seed})");
    }
    let inv = settle_and_check(&app).await;
    assert_eq!(
        inv.files.len(),
        kept,
        "one file per kept round, none per deleted one"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dstor_one_request_more_than_announced_counts_exactly_the_announced_number() {
    let seed = crate::crash::seed();
    println!("races dstor: seed {seed}");
    let mut rng = StdRng::seed_from_u64(seed);
    let app = Arc::new(TestApp::spawn().await);
    let n = rounds(40);
    for round in 0..n {
        let parts = rng.gen_range(1..=3usize);
        let token: Value = app
            .client
            .post(app.url("/v1/upload/get-token/"))
            .bearer_auth(USER_TOKEN)
            .json(&json!({"chunks_number": parts, "folder_path": format!("r{round}")}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let token = token["token"].as_str().unwrap().to_owned();
        let files: Vec<Vec<u8>> = (0..=parts).map(|_| content(rng.gen(), 2000)).collect();

        let ops = files
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let (app, token, f) = (app.clone(), token.clone(), f.clone());
                async move {
                    let name = format!("{i}.bin");
                    let (ctype, form) = multipart(&[("file", Some(&name), &f)]);
                    let r = app
                        .client
                        .post(app.url("/v1/upload/"))
                        .bearer_auth(USER_TOKEN)
                        .header("x-dstor-upload-token", &token)
                        .header("Content-Type", ctype)
                        .body(form)
                        .send()
                        .await
                        .unwrap();
                    (i, r.status().as_u16(), r.text().await.unwrap())
                }
            })
            .collect();
        let answers = all_at_once(&mut rng, ops).await;
        let counted: Vec<usize> = answers
            .iter()
            .filter(|(_, s, _)| *s == 200)
            .map(|(i, _, _)| *i)
            .collect();
        assert_eq!(
            counted.len(),
            parts,
            "round {round} (seed {seed}): {answers:?}"
        );
        for (_, s, body) in answers.iter().filter(|(_, s, _)| *s != 200) {
            assert_eq!(*s, 400, "{body}");
            assert!(body.contains("have already been uploaded"), "{body}");
        }
        let mut done = Value::Null;
        for _ in 0..300 {
            done = app
                .client
                .get(app.url("/v1/upload/get-status/"))
                .bearer_auth(USER_TOKEN)
                .header("x-dstor-upload-token", &token)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            if done["status"] == "DONE" {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        assert_eq!(
            done["status"], "DONE",
            "round {round} (seed {seed}): {done}"
        );
        let mut names: Vec<String> = done["data"].as_array().unwrap()[..parts]
            .iter()
            .map(|e| e["Name"].as_str().unwrap().to_owned())
            .collect();
        names.sort();
        let mut want: Vec<String> = counted
            .iter()
            .map(|i| format!("r{round}/{i}.bin"))
            .collect();
        want.sort();
        assert_eq!(names, want, "round {round} (seed {seed})");
    }
    settle_and_check(&app).await;
}
