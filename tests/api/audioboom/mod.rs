//! Black-box tests of the audioBoom dialect (specs/audioboom.md) over real HTTP.

mod android;
mod auth;
mod consumers;
mod prefix;
mod roundtrip;
mod streaming;
mod validation;
mod worked_example;

use crate::helpers::{TestApp, USER_TOKEN};
use chunkgate::config::{Secret, Settings, SigningKey};
use reqwest::header::CONTENT_TYPE;
use serde_json::Value;
use sha1::{Digest, Sha1};

pub const BOUNDARY: &str = "B";
/// A signing key of the test user, and its secret (`audioboom.signing_keys`).
pub const KEY: &str = "75d2android";
pub const SECRET: &str = "7505secret";

/// A part of a multipart body.
pub enum Part<'a> {
    Text(&'a str, &'a str),
    File {
        name: &'a str,
        filename: Option<&'a str>,
        content_type: Option<&'a str>,
        data: &'a [u8],
    },
}

/// A chunk part as Android sends it: the device path and `application/octet-stream`.
pub fn chunk<'a>(name: &'a str, data: &'a [u8]) -> Part<'a> {
    Part::File {
        name,
        filename: Some("/sdcard/boo/recording.mp3"),
        content_type: Some("application/octet-stream"),
        data,
    }
}

/// `multipart/form-data` with boundary `B`, parts in order.
pub fn multipart(parts: &[Part]) -> Vec<u8> {
    let mut out = Vec::new();
    for part in parts {
        out.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
        match part {
            Part::Text(name, value) => {
                out.extend_from_slice(
                    format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
                        .as_bytes(),
                );
            }
            Part::File {
                name,
                filename,
                content_type,
                data,
            } => {
                let mut head = format!("Content-Disposition: form-data; name=\"{name}\"");
                if let Some(f) = filename {
                    head.push_str(&format!("; filename=\"{f}\""));
                }
                head.push_str("\r\n");
                if let Some(t) = content_type {
                    head.push_str(&format!("Content-Type: {t}\r\n"));
                }
                head.push_str("\r\n");
                out.extend_from_slice(head.as_bytes());
                out.extend_from_slice(data);
                out.extend_from_slice(b"\r\n");
            }
        }
    }
    out.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    out
}

pub fn multipart_type() -> String {
    format!("multipart/form-data; boundary={BOUNDARY}")
}

/// Settings with the test user's signing key and a public base URL.
pub fn with_signing(settings: &mut Settings) {
    let ab = &mut settings.dialects.audioboom;
    ab.signing_keys = vec![SigningKey {
        key: KEY.into(),
        secret: Secret::new(SECRET),
        principal: crate::helpers::USER_PRINCIPAL.into(),
    }];
    ab.public_base_url = Some("http://api.example.com".into());
}

/// The Android app's signature (§4) over `uri` and the `signed_` parts.
pub fn sign(uri: &str, parts: &[Part], secret: &str) -> String {
    let mut pairs: Vec<(String, Vec<u8>)> = parts
        .iter()
        .filter_map(|p| {
            let (name, value) = match p {
                Part::Text(n, v) => (*n, v.as_bytes()),
                Part::File { name, data, .. } => (*name, *data),
            };
            let bare = name.strip_prefix("signed_")?;
            Some((bare.to_owned(), value.to_vec()))
        })
        .collect();
    pairs.sort_by_key(|(n, _)| n.to_lowercase());
    let mut h = Sha1::new();
    h.update(uri.as_bytes());
    h.update(b":");
    for (i, (n, v)) in pairs.iter().enumerate() {
        if i > 0 {
            h.update(b"&");
        }
        h.update(n.as_bytes());
        h.update(b"=");
        h.update(v);
    }
    h.update(b":");
    h.update(secret.as_bytes());
    hex::encode(h.finalize())
}

pub fn sha1_hex(data: &[u8]) -> String {
    hex::encode(Sha1::digest(data))
}

/// Deterministic pseudo-random bytes.
pub fn random_bytes(seed: u64, len: usize) -> Vec<u8> {
    use rand::{RngCore, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut out = vec![0u8; len];
    rng.fill_bytes(&mut out);
    out
}

/// A checked envelope answer: status, and the parsed JSON.
pub struct Answer {
    pub status: u16,
    /// The body as sent.
    pub text: String,
    pub headers: reqwest::header::HeaderMap,
    pub json: Value,
}

impl Answer {
    pub async fn of(res: reqwest::Response) -> Answer {
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let text = res.text().await.unwrap();
        let json: Value = serde_json::from_str(&text)
            .unwrap_or_else(|_| panic!("status {status}: not JSON: {text:?}"));
        assert!(json["timestamp"].is_u64(), "{text}");
        assert_eq!(json["window"], 60, "{text}");
        assert_eq!(json["version"], 200, "{text}");
        Answer {
            status,
            text,
            headers,
            json,
        }
    }

    /// The body text with its timestamp replaced by `T` (for exact comparisons).
    pub fn text_without_timestamp(&self) -> String {
        let t = self.json["timestamp"].to_string();
        self.text
            .replacen(&format!("\"timestamp\":{t},"), "\"timestamp\":T,", 1)
    }

    pub fn body(&self) -> &Value {
        &self.json["body"]
    }

    pub fn attachment(&self) -> &Value {
        &self.json["body"]["attachment"]
    }

    /// Asserts an envelope error with its headers.
    pub fn assert_error(&self, status: u16, code: u16, description: &str) {
        assert_eq!(self.status, status, "{}", self.json);
        assert_eq!(
            self.body(),
            &serde_json::json!({"error": {"code": code, "description": description}})
        );
        assert_eq!(
            self.headers["x-audioboo-error_code"],
            code.to_string().as_str()
        );
        assert_eq!(self.headers["x-audioboo-error_description"], description);
    }
}

/// A Bearer client for the dialect.
pub struct Boo<'a> {
    pub app: &'a TestApp,
    pub token: &'a str,
}

impl<'a> Boo<'a> {
    pub fn new(app: &'a TestApp) -> Self {
        Boo {
            app,
            token: USER_TOKEN,
        }
    }

    pub fn as_user(app: &'a TestApp, token: &'a str) -> Self {
        Boo { app, token }
    }

    pub async fn send(&self, method: reqwest::Method, path: &str, parts: &[Part<'_>]) -> Answer {
        let res = self
            .app
            .client
            .request(method, self.app.url(path))
            .bearer_auth(self.token)
            .header(CONTENT_TYPE, multipart_type())
            .body(multipart(parts))
            .send()
            .await
            .unwrap();
        Answer::of(res).await
    }

    pub async fn create(&self, size: usize, offset: usize, data: &[u8]) -> Answer {
        let (size, offset) = (size.to_string(), offset.to_string());
        self.send(
            reqwest::Method::POST,
            "/attachments",
            &[
                Part::Text("attachment[size]", &size),
                Part::Text("attachment[chunk_offset]", &offset),
                chunk("attachment[chunk]", data),
            ],
        )
        .await
    }

    pub async fn put(&self, id: u64, offset: usize, data: &[u8]) -> Answer {
        let offset = offset.to_string();
        self.send(
            reqwest::Method::PUT,
            &format!("/attachments/{id}"),
            &[
                Part::Text("attachment[chunk_offset]", &offset),
                chunk("attachment[chunk]", data),
            ],
        )
        .await
    }

    pub async fn show(&self, id: u64) -> Answer {
        let res = self
            .app
            .client
            .get(self.app.url(&format!("/attachments/{id}")))
            .bearer_auth(self.token)
            .send()
            .await
            .unwrap();
        Answer::of(res).await
    }

    pub async fn show_clip(&self, id: u64) -> Answer {
        let res = self
            .app
            .client
            .get(self.app.url(&format!("/audio_clips/{id}")))
            .bearer_auth(self.token)
            .send()
            .await
            .unwrap();
        Answer::of(res).await
    }

    /// `POST <path>` with url-encoded pairs.
    pub async fn form(&self, path: &str, pairs: &[(&str, &str)]) -> Answer {
        let body: Vec<String> = pairs
            .iter()
            .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
            .collect();
        let res = self
            .app
            .client
            .post(self.app.url(path))
            .bearer_auth(self.token)
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body.join("&"))
            .send()
            .await
            .unwrap();
        Answer::of(res).await
    }

    /// `POST /audio_clips` for a complete attachment; the clip id.
    pub async fn clip(&self, attachment: u64) -> u64 {
        let id = attachment.to_string();
        let a = self
            .form(
                "/audio_clips",
                &[
                    ("audio_clip[title]", "t"),
                    ("audio_clip[uploaded_data][chunked_attachment_id]", &id),
                ],
            )
            .await;
        assert_eq!(a.status, 201, "{}", a.json);
        a.body()["audio_clip"]["id"].as_u64().unwrap()
    }

    /// The bytes of a clip's audio.
    pub async fn download(&self, clip: u64) -> Vec<u8> {
        let res = self
            .app
            .client
            .get(self.app.url(&format!("/audio_clips/{clip}.mp3")))
            .bearer_auth(self.token)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        res.bytes().await.unwrap().to_vec()
    }
}

/// Percent-encoding of a form component.
pub fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' => {
                (b as char).to_string()
            }
            b' ' => "+".into(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
