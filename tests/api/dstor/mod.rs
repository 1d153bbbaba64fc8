//! dStor (specs/dstor.md) black-box: access and upload tokens, batches of whole files,
//! statuses with kubo CIDs, and the `/ipfs` gateway, against a real server.

mod auth;
mod flow;
mod gateway;
mod roundtrip;
mod validation;
mod vectors;

use crate::helpers::{TestApp, USER_TOKEN};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// One part of a multipart body.
pub struct Part {
    pub name: String,
    pub filename: Option<String>,
    pub data: Vec<u8>,
}

/// A file part as the React uploader sends it: field `file`, the relative path as filename.
pub fn file(filename: &str, data: &[u8]) -> Part {
    Part {
        name: "file".into(),
        filename: Some(filename.into()),
        data: data.to_vec(),
    }
}

/// A plain form field (no filename): not a file.
pub fn field(name: &str, value: &str) -> Part {
    Part {
        name: name.into(),
        filename: None,
        data: value.as_bytes().to_vec(),
    }
}

const BOUNDARY: &str = "dstor-test-boundary-7d1e";

/// A `multipart/form-data` body, written by hand so filenames go out exactly as given.
pub fn form(parts: &[Part]) -> (String, Vec<u8>) {
    let mut body = Vec::new();
    for p in parts {
        body.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
        let mut disposition = format!("Content-Disposition: form-data; name=\"{}\"", p.name);
        if let Some(f) = &p.filename {
            disposition.push_str(&format!("; filename=\"{f}\""));
        }
        body.extend_from_slice(disposition.as_bytes());
        body.extend_from_slice(b"\r\n\r\n");
        body.extend_from_slice(&p.data);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={BOUNDARY}"), body)
}

/// `content(seed, n)` of the shared vectors' README.
pub fn content(seed: &str, n: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(n + 32);
    let mut i = 0u64;
    while out.len() < n {
        let mut h = Sha256::new();
        h.update(seed.as_bytes());
        h.update(i.to_le_bytes());
        out.extend_from_slice(&h.finalize());
        i += 1;
    }
    out.truncate(n);
    out
}

/// Status and body text of a response.
pub async fn answer(response: reqwest::Response) -> (u16, String) {
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

/// A dStor client of `app` with a Bearer token.
pub struct Client<'a> {
    pub app: &'a TestApp,
    pub bearer: String,
}

impl<'a> Client<'a> {
    /// Alice, with a token of the shared authenticator (which dStor also accepts).
    pub fn new(app: &'a TestApp) -> Self {
        Self::with(app, USER_TOKEN)
    }

    pub fn with(app: &'a TestApp, bearer: &str) -> Self {
        Client {
            app,
            bearer: bearer.into(),
        }
    }

    /// `POST /v1/upload/get-token/` with a JSON body.
    pub async fn get_token_raw(&self, body: &str) -> reqwest::Response {
        self.app
            .client
            .post(self.app.url("/v1/upload/get-token/"))
            .bearer_auth(&self.bearer)
            .header("Content-Type", "application/json")
            .body(body.to_owned())
            .send()
            .await
            .unwrap()
    }

    /// Opens an upload and returns its token.
    pub async fn open(&self, chunks: u32, folder: &str) -> String {
        let body = serde_json::json!({"chunks_number": chunks, "folder_path": folder});
        let response = self.get_token_raw(&body.to_string()).await;
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.unwrap();
        body["token"].as_str().unwrap().to_owned()
    }

    /// `POST /v1/upload/` with `parts`.
    pub async fn send(&self, token: &str, parts: &[Part]) -> reqwest::Response {
        let (content_type, body) = form(parts);
        self.app
            .client
            .post(self.app.url("/v1/upload/"))
            .bearer_auth(&self.bearer)
            .header("x-dstor-upload-token", token)
            .header("Content-Type", content_type)
            .body(body)
            .send()
            .await
            .unwrap()
    }

    /// `GET /v1/upload/get-status/`.
    pub async fn status_raw(&self, token: &str) -> reqwest::Response {
        self.app
            .client
            .get(self.app.url("/v1/upload/get-status/"))
            .bearer_auth(&self.bearer)
            .header("x-dstor-upload-token", token)
            .send()
            .await
            .unwrap()
    }

    pub async fn status(&self, token: &str) -> Value {
        let response = self.status_raw(token).await;
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }

    /// Polls get-status until it leaves the processing stages (finalisation runs in the
    /// background, §6), at most 60 s as the clients do; returns the final body text.
    pub async fn wait_done(&self, token: &str) -> String {
        for _ in 0..600 {
            let (status, body) = answer(self.status_raw(token).await).await;
            assert_eq!(status, 200, "{body}");
            let v: Value = serde_json::from_str(&body).unwrap();
            if v["status"] == "DONE" || v["status"] == "ERROR" {
                return body;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("upload {token} did not finish");
    }

    /// `GET /ipfs/<path>`.
    pub async fn ipfs(&self, path: &str) -> reqwest::Response {
        self.app
            .client
            .get(self.app.url(&format!("/ipfs/{path}")))
            .send()
            .await
            .unwrap()
    }
}
