//! A tiny server that speaks the conversations of `fixtures/selftest/`: a JSON create with a
//! `Location`, raw octet-stream chunks, multipart and url-encoded echoes, base64 JSON chunks
//! with a SHA-256 verify, an audioBoom-style error envelope with `X-Audioboo-*` headers and a
//! job to poll. `Mode::Wrong` answers a few things differently, the way a careless
//! reimplementation would.

use std::collections::{BTreeMap, HashMap};
use std::net::TcpListener;
use std::sync::Mutex;

use actix_multipart::Multipart;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use base64::Engine as _;
use futures_util::StreamExt as _;
use serde_json::{json, Value};
use sha2::{Digest as _, Sha256};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Answers exactly as the selftest fixtures describe.
    Right,
    /// `id` as a string, a missing `X-Audioboo-Error_description`, verify with 201, form pairs
    /// sorted, and a `Content-Type` echoed that was never sent.
    Wrong,
}

#[derive(Default)]
struct State {
    next_id: u64,
    uploads: HashMap<u64, (String, u64, Vec<u8>)>,
    chunks: HashMap<String, BTreeMap<u64, Vec<u8>>>,
    polls: HashMap<String, u32>,
}

struct Stub {
    mode: Mode,
    state: Mutex<State>,
}

impl Stub {
    fn next_id(&self) -> u64 {
        let mut state = self.state.lock().unwrap();
        state.next_id += 1;
        state.next_id
    }
}

/// Starts the stub on a free port; returns its base URL.
pub fn spawn(mode: Mode) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    let port = listener.local_addr().unwrap().port();
    let stub = web::Data::new(Stub {
        mode,
        state: Mutex::default(),
    });
    let server = HttpServer::new(move || {
        App::new()
            .app_data(stub.clone())
            .route("/uploads", web::post().to(create_upload))
            .route("/uploads/{id}", web::put().to(put_chunk))
            .route("/uploads/{id}", web::delete().to(delete_upload))
            .route("/uploads/{id}/content", web::get().to(upload_content))
            .route("/multipart", web::post().to(multipart_echo))
            .route("/form", web::post().to(form_echo))
            .route("/headers", web::to(headers_echo))
            .route("/echo", web::post().to(bytes_echo))
            .route("/api/upload/files", web::post().to(spika_chunk))
            .route("/api/upload/files/verify", web::post().to(spika_verify))
            .route("/attachments", web::post().to(create_attachment))
            .route("/jobs/{name}", web::get().to(poll_job))
    })
    .workers(1)
    .listen(listener)
    .expect("listen")
    .run();
    actix_web::rt::spawn(server);
    format!("http://127.0.0.1:{port}")
}

fn bearer_ok(req: &HttpRequest) -> bool {
    req.headers()
        .get("authorization")
        .is_some_and(|v| v.as_bytes() == b"Bearer test-token")
}

fn hex_sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

// POST /uploads
async fn create_upload(stub: web::Data<Stub>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    if !bearer_ok(&req) {
        return HttpResponse::Unauthorized().json(json!({"message": "Unauthenticated."}));
    }
    let input: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let id = stub.next_id();
    let name = input["name"].as_str().unwrap_or_default().to_owned();
    let size = input["size"].as_u64().unwrap_or_default();
    stub.state
        .lock()
        .unwrap()
        .uploads
        .insert(id, (name.clone(), size, Vec::new()));
    let id_value = match stub.mode {
        Mode::Right => json!(id),
        Mode::Wrong => json!(id.to_string()),
    };
    HttpResponse::Created()
        .insert_header(("Location", format!("/uploads/{id}")))
        .json(json!({"data": {
            "id": id_value, "name": name, "size": size, "sha256": input["sha256"],
            "received": 0, "complete": false, "checksum": null
        }}))
}

// PUT /uploads/{id}
async fn put_chunk(
    stub: web::Data<Stub>,
    req: HttpRequest,
    id: web::Path<u64>,
    body: web::Bytes,
) -> HttpResponse {
    if !bearer_ok(&req) {
        return HttpResponse::Unauthorized().json(json!({"message": "Unauthenticated."}));
    }
    let content_type = req.headers().get("content-type").map(|v| v.as_bytes());
    if content_type != Some(b"application/octet-stream") {
        return HttpResponse::BadRequest().json(json!({"message": "Invalid content type"}));
    }
    let mut state = stub.state.lock().unwrap();
    let Some((_, size, data)) = state.uploads.get_mut(&id) else {
        return HttpResponse::NotFound().json(json!({"message": "No such upload"}));
    };
    data.extend_from_slice(&body);
    let received = data.len() as u64;
    HttpResponse::Ok().json(json!({"data": {
        "id": *id, "received": received, "complete": received == *size
    }}))
}

// GET /uploads/{id}/content
async fn upload_content(stub: web::Data<Stub>, id: web::Path<u64>) -> HttpResponse {
    let state = stub.state.lock().unwrap();
    match state.uploads.get(&id) {
        Some((_, _, data)) => HttpResponse::Ok()
            .content_type("application/octet-stream")
            .body(data.clone()),
        None => HttpResponse::NotFound().finish(),
    }
}

// DELETE /uploads/{id}: an empty 200, like Dyson's chunk answer.
async fn delete_upload(stub: web::Data<Stub>, id: web::Path<u64>) -> HttpResponse {
    stub.state.lock().unwrap().uploads.remove(&id);
    HttpResponse::Ok().finish()
}

struct ReceivedPart {
    name: String,
    filename: Option<String>,
    content_type: Option<String>,
    data: Vec<u8>,
}

async fn read_parts(mut payload: Multipart) -> Vec<ReceivedPart> {
    let mut parts = Vec::new();
    while let Some(field) = payload.next().await {
        let mut field = field.expect("a well-formed part");
        let name = field.name().unwrap_or_default().to_owned();
        let filename = field
            .content_disposition()
            .and_then(|cd| cd.get_filename())
            .map(str::to_owned);
        let content_type = field.content_type().map(|m| m.to_string());
        let mut data = Vec::new();
        while let Some(chunk) = field.next().await {
            data.extend_from_slice(&chunk.expect("part data"));
        }
        parts.push(ReceivedPart {
            name,
            filename,
            content_type,
            data,
        });
    }
    parts
}

// POST /multipart: the parts, last first (a server that does not keep order).
async fn multipart_echo(payload: Multipart) -> HttpResponse {
    let parts: Vec<Value> = read_parts(payload)
        .await
        .into_iter()
        .rev()
        .map(|p| {
            json!({"name": p.name, "filename": p.filename, "content_type": p.content_type,
                   "size": p.data.len(), "sha256": hex_sha256(&p.data)})
        })
        .collect();
    HttpResponse::Ok().json(json!({ "parts": parts }))
}

fn form_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                out.push(u8::from_str_radix(&text[i + 1..i + 3], 16).expect("hex escape"));
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).expect("UTF-8 form value")
}

// POST /form: the decoded pairs, in order.
async fn form_echo(stub: web::Data<Stub>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    let text = std::str::from_utf8(&body).unwrap_or_default();
    let mut pairs: Vec<(String, String)> = text
        .split('&')
        .filter(|s| !s.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (form_decode(k), form_decode(v))
        })
        .collect();
    if stub.mode == Mode::Wrong {
        pairs.sort();
    }
    let content_type = req
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap_or_default());
    HttpResponse::Ok().json(json!({"content_type": content_type, "pairs": pairs}))
}

// ANY /headers: the request's method and headers (lowercase names; repeats joined by ", ").
async fn headers_echo(stub: web::Data<Stub>, req: HttpRequest) -> HttpResponse {
    let mut headers = serde_json::Map::new();
    let mut names: Vec<&str> = req.headers().keys().map(|k| k.as_str()).collect();
    names.sort();
    names.dedup();
    for name in names {
        let values: Vec<&str> = req
            .headers()
            .get_all(name)
            .map(|v| v.to_str().unwrap_or_default())
            .collect();
        headers.insert(name.to_owned(), json!(values.join(", ")));
    }
    if stub.mode == Mode::Wrong {
        headers.insert("content-type".into(), json!("application/json"));
    }
    HttpResponse::Ok().json(json!({"method": req.method().as_str(), "headers": headers}))
}

// POST /echo: the body back, with how it was framed.
async fn bytes_echo(req: HttpRequest, body: web::Bytes) -> HttpResponse {
    let chunked = req
        .headers()
        .get("transfer-encoding")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"chunked"));
    HttpResponse::Ok()
        .content_type("application/octet-stream")
        .insert_header(("X-Request-Chunked", chunked.to_string()))
        .body(body)
}

fn spika_auth(req: &HttpRequest) -> Option<HttpResponse> {
    match req.headers().get("accesstoken") {
        Some(v) if v.as_bytes() == b"test-token" => None,
        Some(_) => Some(
            HttpResponse::Unauthorized()
                .content_type("text/plain; charset=utf-8")
                .body("Invalid access token"),
        ),
        None => Some(
            HttpResponse::Unauthorized()
                .content_type("text/plain; charset=utf-8")
                .body("No access token"),
        ),
    }
}

fn spika_json(status: actix_web::http::StatusCode, body: Value) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("application/json; charset=utf-8")
        .body(body.to_string())
}

// POST /api/upload/files: a base64 chunk (Android wraps it every 76 characters).
async fn spika_chunk(stub: web::Data<Stub>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    if let Some(denied) = spika_auth(&req) {
        return denied;
    }
    let input: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let cleaned: String = input["chunk"]
        .as_str()
        .unwrap_or_default()
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    let chunk = base64::engine::general_purpose::STANDARD
        .decode(cleaned)
        .expect("valid base64");
    let client_id = input["clientId"].as_str().unwrap_or_default().to_owned();
    let offset = input["offset"].as_u64().unwrap_or_default();
    let mut state = stub.state.lock().unwrap();
    let chunks = state.chunks.entry(client_id).or_default();
    chunks.insert(offset, chunk);
    let indexes: Vec<u64> = chunks.keys().copied().collect();
    spika_json(
        actix_web::http::StatusCode::OK,
        json!({"status": "success", "data": {"uploadedChunks": indexes}}),
    )
}

// POST /api/upload/files/verify
async fn spika_verify(stub: web::Data<Stub>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    if let Some(denied) = spika_auth(&req) {
        return denied;
    }
    let input: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let client_id = input["clientId"].as_str().unwrap_or_default();
    let total = input["total"].as_u64().unwrap_or_default();
    let state = stub.state.lock().unwrap();
    let chunks = state.chunks.get(client_id).cloned().unwrap_or_default();
    let mut file = Vec::new();
    for i in 0..total {
        file.extend_from_slice(&chunks[&i]);
    }
    if Some(hex_sha256(&file).as_str()) != input["fileHash"].as_str() {
        return spika_json(
            actix_web::http::StatusCode::BAD_REQUEST,
            json!({"status": "error", "message": "Hash doesn't match"}),
        );
    }
    let status = match stub.mode {
        Mode::Right => actix_web::http::StatusCode::OK,
        Mode::Wrong => actix_web::http::StatusCode::CREATED,
    };
    spika_json(
        status,
        json!({"status": "success", "data": {"file": {
            "id": 17, "fileName": input["fileName"], "size": file.len(),
            "relationId": input.get("relationId").cloned().unwrap_or(Value::Null),
            "path": format!("/uploads/files/{client_id}"), "createdAt": 1736937000123u64
        }}}),
    )
}

fn envelope(body: Value) -> String {
    json!({"timestamp": 1736937000, "window": 60, "version": 200, "body": body}).to_string()
}

// POST /attachments: audioBoom-style, with the error in headers too.
async fn create_attachment(stub: web::Data<Stub>, payload: Multipart) -> HttpResponse {
    let parts = read_parts(payload).await;
    let size: Option<u64> = parts
        .iter()
        .find(|p| p.name == "attachment[size]")
        .and_then(|p| std::str::from_utf8(&p.data).ok()?.parse().ok());
    let chunk = parts.iter().find(|p| p.name == "attachment[chunk]");
    let (Some(size), Some(chunk)) = (size, chunk) else {
        let description = "attachment[chunk] is required";
        let mut response = HttpResponse::UnprocessableEntity();
        response
            .content_type("application/json; charset=utf-8")
            .insert_header(("X-Audioboo-Error_code", "422"));
        if stub.mode == Mode::Right {
            response.insert_header(("X-Audioboo-Error_description", description));
        }
        return response.body(envelope(
            json!({"error": {"code": 422, "description": description}}),
        ));
    };
    let id = 9800 + stub.next_id();
    let filename = chunk
        .filename
        .as_deref()
        .map(|f| f.rsplit(['/', '\\']).next().unwrap_or(f))
        .unwrap_or("attachment");
    let received = chunk.data.len() as u64;
    HttpResponse::Created()
        .content_type("application/json; charset=utf-8")
        .insert_header(("Location", format!("/attachments/{id}")))
        .body(envelope(json!({"attachment": {
            "id": id, "filename": filename,
            "content_type": chunk.content_type.clone().unwrap_or_else(|| "application/octet-stream".into()),
            "size": size, "received": received, "outstanding": size - received,
            "complete": received == size
        }})))
}

// GET /jobs/{name}: UPLOADING twice, then DONE.
async fn poll_job(stub: web::Data<Stub>, name: web::Path<String>) -> HttpResponse {
    let mut state = stub.state.lock().unwrap();
    let polls = state.polls.entry(name.clone()).or_default();
    *polls += 1;
    if *polls <= 2 {
        return HttpResponse::Ok().json(json!({"status": "UPLOADING"}));
    }
    HttpResponse::Ok().json(json!({"status": "DONE", "data": [
        {"Name": format!("{name}/hello.txt"), "Hash": "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o", "Size": "20"}
    ]}))
}
