//! Black-box tests of the Spika dialect (specs/spika.md) with a real server and reqwest.

mod auth;
mod errors;
mod limits;
mod ownership;
mod roundtrip;
mod routes;
mod verify;
mod worked_example;

use crate::helpers::{TestApp, USER_TOKEN};
use base64::Engine as _;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// Random bytes, reproducible per seed.
pub fn random_bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut data = vec![0u8; len];
    rng.fill(&mut data[..]);
    data
}

pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// Standard padded base64, as the web client sends it.
pub fn b64(data: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(data)
}

/// Base64 with a `\n` after every 76 characters, as Android's `Base64.DEFAULT` writes it.
pub fn b64_android(data: &[u8]) -> String {
    b64(data)
        .as_bytes()
        .chunks(76)
        .map(|line| format!("{}\n", std::str::from_utf8(line).unwrap()))
        .collect()
}

/// A status and a body, for comparing whole answers.
#[derive(Debug, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    pub content_type: Option<String>,
    pub body: String,
}

impl Answer {
    pub async fn of(response: reqwest::Response) -> Answer {
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned());
        let body = response.text().await.unwrap();
        Answer {
            status,
            content_type,
            body,
        }
    }

    /// A JSON answer as the spec writes them.
    pub fn json(status: u16, body: &str) -> Answer {
        Answer {
            status,
            content_type: Some("application/json; charset=utf-8".into()),
            body: body.into(),
        }
    }

    /// `{"status":"error","message":...}`.
    pub fn error(status: u16, message: &str) -> Answer {
        // Built by hand: `json!` would sort the keys, the legacy order is status, message.
        Answer::json(
            status,
            &format!(r#"{{"status":"error","message":{}}}"#, json!(message)),
        )
    }

    pub fn validation(text: &str) -> Answer {
        Answer::error(400, &format!("Invalid params ValidationError: {text}"))
    }

    pub fn chunks(list: &[u64]) -> Answer {
        Answer::json(
            200,
            &format!(
                r#"{{"status":"success","data":{{"uploadedChunks":{}}}}}"#,
                json!(list)
            ),
        )
    }

    pub fn value(&self) -> Value {
        serde_json::from_str(&self.body).unwrap()
    }
}

/// A Spika client of one test server, with a token (or none).
#[derive(Clone, Copy)]
pub struct Spika<'a> {
    pub app: &'a TestApp,
    pub token: Option<&'a str>,
}

impl<'a> Spika<'a> {
    pub fn new(app: &'a TestApp) -> Self {
        Spika {
            app,
            token: Some(USER_TOKEN),
        }
    }

    pub fn with_token(app: &'a TestApp, token: &'a str) -> Self {
        Spika {
            app,
            token: Some(token),
        }
    }

    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let request = self.app.client.request(method, self.app.url(path));
        match self.token {
            Some(token) => request.header("accesstoken", token),
            None => request,
        }
    }

    /// POSTs a JSON value (compact) to `path`.
    pub async fn post(&self, path: &str, body: &Value) -> Answer {
        self.post_raw(path, body.to_string()).await
    }

    /// POSTs raw text as `application/json`.
    pub async fn post_raw(&self, path: &str, body: impl Into<reqwest::Body>) -> Answer {
        let response = self
            .request(reqwest::Method::POST, path)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        Answer::of(response).await
    }

    pub async fn get(&self, path: &str) -> Answer {
        Answer::of(
            self.request(reqwest::Method::GET, path)
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    /// Sends `data` as chunk `offset` of `client_id`.
    pub async fn chunk(&self, client_id: &str, offset: u64, data: &[u8]) -> Answer {
        self.chunk_text(client_id, offset, &b64(data)).await
    }

    /// Sends base64 text as chunk `offset` of `client_id`.
    pub async fn chunk_text(&self, client_id: &str, offset: u64, text: &str) -> Answer {
        let body = json!({"chunk": text, "offset": offset, "clientId": client_id});
        self.post("/api/upload/files", &body).await
    }

    /// Verifies `client_id` as a file of `total` chunks with content `data`.
    pub async fn verify(&self, client_id: &str, total: u64, data: &[u8]) -> Answer {
        self.verify_hash(client_id, total, data.len().max(1), &sha256_hex(data))
            .await
    }

    pub async fn verify_hash(
        &self,
        client_id: &str,
        total: u64,
        size: usize,
        hash: &str,
    ) -> Answer {
        self.post(
            "/api/upload/files/verify",
            &verify_body(client_id, total, size, hash),
        )
        .await
    }

    /// The whole answer of a download, bytes included.
    pub async fn download(&self, path: &str) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
        let response = self
            .request(reqwest::Method::GET, path)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        (status, headers, response.bytes().await.unwrap().to_vec())
    }
}

/// A valid verify body.
pub fn verify_body(client_id: &str, total: u64, size: usize, hash: &str) -> Value {
    json!({
        "total": total,
        "size": size,
        "mimeType": "application/octet-stream",
        "fileName": format!("{client_id}.bin"),
        "clientId": client_id,
        "fileHash": hash,
        "type": "message",
    })
}

/// The `file.id` of a successful verify answer.
pub fn file_id(answer: &Answer) -> u64 {
    assert_eq!(answer.status, 200, "verify failed: {}", answer.body);
    answer.value()["data"]["file"]["id"].as_u64().unwrap()
}
