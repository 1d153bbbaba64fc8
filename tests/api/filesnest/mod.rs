//! Black-box tests of the FilesNest dialect (specs/filesnest.md) against a real server.

mod auth;
mod chunks;
mod errors;
mod expect;
mod files;
mod roundtrip;
mod worked_example;

use crate::helpers::{TestApp, ADMIN_TOKEN, USER_TOKEN};
use reqwest::{Method, Response};
use serde_json::{json, Value};
use sha2::Digest;
use std::time::Duration;

pub fn sha256(data: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(data))
}

pub fn random_bytes(len: usize) -> Vec<u8> {
    use rand::RngCore;
    let mut data = vec![0u8; len];
    rand::thread_rng().fill_bytes(&mut data);
    data
}

/// A request with the user's token and `Accept: application/json`, as the clients send it.
pub fn request(app: &TestApp, method: Method, path: &str) -> reqwest::RequestBuilder {
    as_user(app, method, path, USER_TOKEN)
}

pub fn as_user(app: &TestApp, method: Method, path: &str, token: &str) -> reqwest::RequestBuilder {
    app.client
        .request(method, app.url(path))
        .bearer_auth(token)
        .header("Accept", "application/json")
}

/// Status and body text of a response.
pub async fn answer(response: Response) -> (u16, String) {
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

pub async fn json_of(response: Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    let value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    (status, value)
}

/// A file created by `POST /api/files?include=uploads`.
pub struct Created {
    pub id: u64,
    /// Upload ids by chunk number (index 0 is number 1).
    pub uploads: Vec<u64>,
    pub body: Value,
}

pub async fn create(app: &TestApp, name: &str, checksum: Option<&str>, chunks: usize) -> Created {
    create_as(app, USER_TOKEN, name, checksum, chunks).await
}

pub async fn create_as(
    app: &TestApp,
    token: &str,
    name: &str,
    checksum: Option<&str>,
    chunks: usize,
) -> Created {
    let mut body =
        json!({"name": name, "create_datetime": "2024-01-15 10:30:00", "chunks_count": chunks});
    if let Some(c) = checksum {
        body["checksum"] = json!(c);
    }
    let response = as_user(app, Method::POST, "/api/files?include=uploads", token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let (status, body) = json_of(response).await;
    assert_eq!(status, 201, "{body}");
    let mut uploads: Vec<(u64, u64)> = body["data"]["uploads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| (u["number"].as_u64().unwrap(), u["id"].as_u64().unwrap()))
        .collect();
    // The client maps chunk k to the upload whose `number` is k (spec §10).
    uploads.sort();
    Created {
        id: body["data"]["id"].as_u64().unwrap(),
        uploads: uploads.into_iter().map(|(_, id)| id).collect(),
        body,
    }
}

/// `PATCH /api/files/{id}/uploads/{upload}` with a raw body.
pub async fn put_chunk(app: &TestApp, file: u64, upload: u64, data: Vec<u8>) -> Response {
    request(
        app,
        Method::PATCH,
        &format!("/api/files/{file}/uploads/{upload}"),
    )
    .header("Content-Type", "application/octet-stream")
    .body(data)
    .send()
    .await
    .unwrap()
}

pub async fn get_file(app: &TestApp, id: u64) -> Value {
    let response = request(
        app,
        Method::GET,
        &format!("/api/files/{id}?include=uploads"),
    )
    .send()
    .await
    .unwrap();
    let (status, body) = json_of(response).await;
    assert_eq!(status, 200, "{body}");
    body["data"].clone()
}

/// Polls the file until its `status_name` is `want` (the assembly runs in the background,
/// spec §6). Bounded: fails after about 30 s.
pub async fn wait_for_status(app: &TestApp, id: u64, want: &str) -> Value {
    let mut last = Value::Null;
    for _ in 0..600 {
        last = get_file(app, id).await;
        if last["status_name"] == want {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("file {id} never reached {want}: {last}");
}

/// The stored bytes, through the operator API (FilesNest has no download route).
pub async fn download(app: &TestApp, id: u64) -> Vec<u8> {
    let response = app
        .client
        .get(app.url(&format!("/gateway/v1/files/filesnest:{id}/content")))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.bytes().await.unwrap().to_vec()
}

/// `content` cut into `n` chunks of `size` bytes (the last one shorter).
pub fn chunks_of(content: &[u8], size: usize) -> Vec<Vec<u8>> {
    if content.is_empty() {
        return vec![Vec::new()];
    }
    content.chunks(size).map(<[u8]>::to_vec).collect()
}
