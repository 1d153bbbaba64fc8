//! Black-box tests of the Dyson dialect (specs/dyson.md) with a real server and reqwest.

mod auth;
mod encryption;
mod errors;
mod example;
mod expiry;
mod roundtrip;
mod routes;

use crate::helpers::{TestApp, USER_TOKEN};
use md5::{Digest, Md5};
use reqwest::header::{HeaderMap, CONTENT_TYPE};
use reqwest::{Response, StatusCode};
use serde_json::{json, Value};

/// `Content-Type` of every Dyson JSON answer.
pub const JSON: &str = "application/json; charset=utf-8";

/// The multipart boundary the tests use.
const BOUNDARY: &str = "dyson-test-boundary-7c1e";

/// A Dyson client of one principal against one prefix (`/api` or `/drive`).
pub struct Client<'a> {
    pub app: &'a TestApp,
    pub token: &'a str,
    pub prefix: &'a str,
}

/// A response read whole.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Answer {
    pub async fn of(res: Response) -> Answer {
        Answer {
            status: res.status(),
            headers: res.headers().clone(),
            body: res.bytes().await.expect("body").to_vec(),
        }
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", String::from_utf8_lossy(&self.body)))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }

    /// Asserts a legacy JSON answer: status, `Content-Type` and the exact body text.
    #[track_caller]
    pub fn assert_json(&self, status: u16, body: &str) {
        assert_eq!(
            (self.status.as_u16(), self.text().as_str()),
            (status, body),
            "unexpected answer"
        );
        assert_eq!(self.header("content-type"), Some(JSON));
    }

    /// Asserts an empty answer: `Content-Length: 0` and no `Content-Type` (spec §2, §5).
    #[track_caller]
    pub fn assert_empty(&self, status: u16) {
        assert_eq!(self.status.as_u16(), status, "body {:?}", self.text());
        assert!(self.body.is_empty());
        assert_eq!(self.header("content-length"), Some("0"));
        assert_eq!(self.header("content-type"), None);
        assert_eq!(self.header("www-authenticate"), None);
    }
}

/// A `multipart/form-data` body with one part named `name` holding `data`.
pub fn form(name: &str, data: &[u8]) -> Vec<u8> {
    let mut body = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"chunk\"\r\nContent-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(data);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    body
}

pub fn form_type() -> String {
    format!("multipart/form-data; boundary={BOUNDARY}")
}

pub fn md5_hex(data: &[u8]) -> String {
    hex::encode(Md5::digest(data))
}

/// Random bytes.
pub fn random(len: usize) -> Vec<u8> {
    let mut v = vec![0u8; len];
    rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut v);
    v
}

/// A Solian-style create body: every key, nulls included.
pub fn create_body(data: &[u8], name: &str, chunk_size: u64) -> Value {
    json!({
        "hash": md5_hex(data),
        "file_name": name,
        "file_size": data.len(),
        "content_type": "application/octet-stream",
        "pool_id": null,
        "bundle_id": null,
        "encrypt_password": null,
        "expired_at": null,
        "chunk_size": chunk_size,
    })
}

impl<'a> Client<'a> {
    pub fn new(app: &'a TestApp) -> Self {
        Client {
            app,
            token: USER_TOKEN,
            prefix: "/drive",
        }
    }

    pub fn by_user(mut self, token: &'a str) -> Self {
        self.token = token;
        self
    }

    pub fn under(mut self, prefix: &'a str) -> Self {
        self.prefix = prefix;
        self
    }

    pub fn url(&self, path: &str) -> String {
        self.app.url(&format!("{}/files{path}", self.prefix))
    }

    fn post(&self, path: &str) -> reqwest::RequestBuilder {
        self.app
            .client
            .post(self.url(path))
            .header("Authorization", format!("AtField {}", self.token))
    }

    pub async fn create(&self, body: &Value) -> Answer {
        Answer::of(self.post("/upload/create").json(body).send().await.unwrap()).await
    }

    /// Creates a task and returns `(task_id, chunks_count)`.
    pub async fn task(&self, body: &Value) -> (String, u64) {
        let a = self.create(body).await;
        assert_eq!(a.status, 200, "{}", a.text());
        let v = a.json();
        assert_eq!(v["file_exists"], false, "{v}");
        (
            v["task_id"].as_str().unwrap().to_owned(),
            v["chunks_count"].as_u64().unwrap(),
        )
    }

    pub async fn chunk(&self, task: &str, index: impl std::fmt::Display, data: &[u8]) -> Answer {
        let res = self
            .post(&format!("/upload/chunk/{task}/{index}"))
            .header(CONTENT_TYPE, form_type())
            .body(form("chunk", data))
            .send()
            .await
            .unwrap();
        Answer::of(res).await
    }

    pub async fn complete(&self, task: &str) -> Answer {
        Answer::of(
            self.post(&format!("/upload/complete/{task}"))
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    pub async fn download(&self, id: &str) -> Answer {
        let res = self
            .app
            .client
            .get(self.url(&format!("/{id}")))
            .header("Authorization", format!("AtField {}", self.token))
            .send()
            .await
            .unwrap();
        Answer::of(res).await
    }

    /// Uploads `data` in order and completes; returns the CloudFile.
    pub async fn upload(&self, data: &[u8], chunk_size: usize) -> Value {
        let (task, count) = self
            .task(&create_body(data, "f.bin", chunk_size as u64))
            .await;
        assert_eq!(count as usize, data.len().div_ceil(chunk_size));
        for (i, piece) in data.chunks(chunk_size).enumerate() {
            self.chunk(&task, i, piece).await.assert_empty(200);
        }
        let done = self.complete(&task).await;
        assert_eq!(done.status, 200, "{}", done.text());
        done.json()
    }
}
