//! Client-supplied names never become paths (DESIGN.md, "Security"): every dialect accepts
//! hostile-looking names that are valid by its spec — traversal in a FilesNest `name`, RTL
//! overrides in a Dyson `file_name`, an absolute Android path as an audioBoom filename, a Spika
//! `fileName` of `../../x`, fullwidth dots in dStor folders and files — and afterwards the data
//! dir holds nothing but the engine's own layout.

use crate::gen::{js, multipart, multipart_type, Part};
use crate::helpers::{TestApp, USER_TOKEN};
use crate::support::*;
use base64::Engine as _;

/// Names each dialect must store as metadata only.
const NAMES: &[&str] = &[
    "../../../../tmp/chunkgate-escape",
    "/etc/passwd",
    "..\\..\\windows\\win.ini",
    "\u{202e}gpj.exe",
    "\u{ff0e}\u{ff0e}\u{ff0f}\u{ff0e}\u{ff0e}\u{ff0f}x",
    "%2e%2e%2f%2e%2e%2fx",
    "con",
    "file\u{200b}.txt",
];

/// True for paths of the engine's layout (docs/architecture.md, "Engine internals").
fn engine_layout(path: &str) -> bool {
    let re = regex::Regex::new(
        r"^(meta/.*|blobs/|blobs/sha256/|blobs/sha256/[0-9a-f]{2}/|blobs/sha256/[0-9a-f]{2}/[0-9a-f]{64}|spool/|spool/[0-9a-f]{32}/|spool/[0-9a-f]{32}/[A-Za-z0-9_-]+)$",
    )
    .unwrap();
    re.is_match(path)
}

async fn ok(app: &TestApp, h: Hostile) -> serde_json::Value {
    let (status, v) = call(app, h.clone()).await;
    assert!((200..300).contains(&status), "{h:?}\n→ {status} {v}");
    v
}

fn bearer(method: &'static str, path: String) -> Hostile {
    Hostile::new(method, path).header("authorization", format!("Bearer {USER_TOKEN}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_names_valid_by_the_spec_are_stored_as_metadata_only() {
    let app = TestApp::spawn().await;
    let b64 = |d: &[u8]| base64::engine::general_purpose::STANDARD.encode(d);
    let sha = |d: &[u8]| hex::encode(<sha2::Sha256 as sha2::Digest>::digest(d));

    for (i, name) in NAMES.iter().enumerate() {
        let data = format!("content {i}").into_bytes();
        // FilesNest: the file's `name`.
        let create = bearer("POST", "/api/files".into()).json_text(format!(
            r#"{{"name":{},"create_datetime":"2024-01-15 10:30:00","checksum":"{}","chunks_count":1}}"#,
            js(name),
            sha(&data)
        ));
        let file = ok(&app, create).await["data"].clone();
        let put = bearer(
            "PUT",
            format!(
                "/api/files/{}/uploads/{}",
                file["id"], file["uploads"][0]["id"]
            ),
        )
        .header("content-type", "application/octet-stream")
        .body(data.clone());
        ok(&app, put).await;
        // Dyson: `file_name`.
        let at = |method, path: String| {
            Hostile::new(method, path).header("authorization", format!("AtField {USER_TOKEN}"))
        };
        let task = ok(
            &app,
            at("POST", "/api/files/upload/create".into()).json_text(format!(
                r#"{{"hash":"x","file_name":{},"file_size":{},"content_type":"text/plain"}}"#,
                js(name),
                data.len()
            )),
        )
        .await["task_id"]
            .as_str()
            .unwrap()
            .to_owned();
        let chunk = at("POST", format!("/api/files/upload/chunk/{task}/0"))
            .header("content-type", multipart_type())
            .body(multipart(&[Part::file(
                "chunk",
                name.as_bytes(),
                data.clone(),
            )]));
        ok(&app, chunk).await;
        ok(
            &app,
            at("POST", format!("/api/files/upload/complete/{task}")),
        )
        .await;
        // audioBoom: the chunk part's filename and `attachment[filename]`.
        let attach = bearer("POST", "/attachments".into())
            .header("content-type", multipart_type())
            .body(multipart(&[
                Part::field("attachment[size]", data.len().to_string()),
                Part::field("attachment[filename]", *name),
                Part::file("attachment[chunk]", name.as_bytes(), data.clone()),
            ]));
        ok(&app, attach).await;
        // Spika: `fileName`.
        let client = format!("names-{i}");
        let send = Hostile::new("POST", "/api/upload/files")
            .header("accesstoken", USER_TOKEN)
            .json_text(format!(
                r#"{{"chunk":"{}","offset":0,"clientId":"{client}"}}"#,
                b64(&data)
            ));
        ok(&app, send).await;
        let verify = Hostile::new("POST", "/api/upload/files/verify")
            .header("accesstoken", USER_TOKEN)
            .json_text(format!(
                r#"{{"total":1,"size":1,"mimeType":"t","fileName":{},"clientId":"{client}","fileHash":"{}","type":"message"}}"#,
                js(name),
                sha(&data)
            ));
        ok(&app, verify).await;
    }
    // dStor: folders and files whose segments are valid but look like traversal.
    let token = ok(
        &app,
        bearer("POST", "/v1/upload/get-token/".into())
            .json_text(r#"{"chunks_number":1,"folder_path":"\uff0e\uff0e/\u202eevil/..."}"#),
    )
    .await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let files: Vec<Part> = [
        "/abs/a.txt",
        "./b.txt",
        "\u{ff0e}\u{ff0e}/c.txt",
        "...",
        "d\u{200b}",
    ]
    .iter()
    .map(|n| Part::file("file", n.as_bytes(), n.as_bytes().to_vec()))
    .collect();
    let upload = bearer("POST", "/v1/upload/".into())
        .header("x-dstor-upload-token", token.clone())
        .header("content-type", multipart_type())
        .body(multipart(&files));
    ok(&app, upload).await;
    eventually(|| async {
        let h = bearer("GET", "/v1/upload/get-status/".into())
            .header("x-dstor-upload-token", token.clone());
        call(&app, h).await.1["status"] == "DONE"
    })
    .await;

    let listing = snapshot(&app).await.files;
    let strays: Vec<&String> = listing.keys().filter(|p| !engine_layout(p)).collect();
    assert!(strays.is_empty(), "not the engine's layout: {strays:?}");
    assert!(listing.keys().any(|p| p.starts_with("blobs/sha256/")));
    assert!(!std::path::Path::new("/tmp/chunkgate-escape").exists());
}
