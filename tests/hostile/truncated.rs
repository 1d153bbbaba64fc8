//! Multipart bodies that end inside a part, right where a delimiter could begin (`\r`, `\r\n`,
//! `\r\n--`, a partial boundary), with a correct `Content-Length`. actix-multipart 0.7 waited
//! for more bytes forever on these, holding the request, a worker and a blocking thread (found
//! by the Dyson property); 0.8.2 answers `Incomplete`. Each dialect must answer 400 and store
//! nothing.

use crate::gen::{multipart_type, BOUNDARY};
use crate::helpers::{TestApp, USER_TOKEN};
use crate::support::*;

/// A body whose one part (`name`, with a filename) holds `data` followed by `tail`, and which
/// ends there: no delimiter after the part.
fn cut(name: &str, data: &[u8], tail: &[u8]) -> Vec<u8> {
    let mut body = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"c\"\r\n\
         Content-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(data);
    body.extend_from_slice(tail);
    body
}

fn tails() -> Vec<Vec<u8>> {
    let partial = format!("\r\n--{}", &BOUNDARY[..5]);
    vec![
        b"\r".to_vec(),
        b"\r\x15".to_vec(),
        b"\rx".to_vec(),
        b"\r\r".to_vec(),
        b"\r\n".to_vec(),
        b"\r\n-".to_vec(),
        b"\r\n--".to_vec(),
        partial.into_bytes(),
        Vec::new(),
    ]
}

async fn ask(app: &TestApp, h: Hostile, format: Format) {
    let before = snapshot(app).await;
    let a = send(app, &h).await.unwrap_or_else(|e| panic!("{e}\n{h:?}"));
    assert_eq!(a.status, 400, "{h:?}\n→ {a:?}");
    check_format(format, &a).unwrap();
    let after = snapshot(app).await;
    assert!(after == before, "{h:?}\n{}", difference(&before, &after));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_multipart_body_ending_inside_a_part_gets_a_400_in_every_dialect() {
    let app = TestApp::spawn().await;
    let at = |method, path: String, scheme: &str| {
        Hostile::new(method, path)
            .header("authorization", format!("{scheme} {USER_TOKEN}"))
            .header("content-type", multipart_type())
    };
    let (_, task) = call(
        &app,
        at("POST", "/api/files/upload/create".into(), "AtField").json_text(
            r#"{"hash":"x","file_name":"a","file_size":16,"content_type":"t","chunk_size":8}"#,
        ),
    )
    .await;
    let task = task["task_id"].as_str().unwrap().to_owned();
    let (_, upload) = call(
        &app,
        at("POST", "/v1/upload/get-token/".into(), "Bearer")
            .json_text(r#"{"chunks_number":2,"folder_path":"f"}"#),
    )
    .await;
    let upload = upload["token"].as_str().unwrap().to_owned();

    // Chunk 0 held: a new chunk 0 takes the engine's parking path, chunk 1 the in-order one.
    let first = at(
        "POST",
        format!("/api/files/upload/chunk/{task}/0"),
        "AtField",
    )
    .body(crate::gen::multipart(&[crate::gen::Part::file(
        "chunk",
        "c",
        b"first!!!".to_vec(),
    )]));
    assert_eq!(call(&app, first).await.0, 200);

    for tail in tails() {
        for index in [0, 1] {
            let dyson = at(
                "POST",
                format!("/api/files/upload/chunk/{task}/{index}"),
                "AtField",
            )
            .body(cut("chunk", b"12345678", &tail));
            ask(&app, dyson, Format::Dyson).await;
        }
        let audioboom = at("POST", "/attachments?attachment[size]=20".into(), "Bearer").body(cut(
            "attachment[chunk]",
            b"12345678",
            &tail,
        ));
        ask(&app, audioboom, Format::Audioboom).await;
        let dstor = at("POST", "/v1/upload/".into(), "Bearer")
            .header("x-dstor-upload-token", upload.clone())
            .body(cut("file", b"12345678", &tail));
        ask(&app, dstor, Format::Dstor).await;
    }
}
