//! Random files of every size, sent in order, shuffled, in parallel and once again, come back
//! byte-identical through the gateway with the CIDs `ipfs add` gives them.

use super::{answer, file, Client};
use crate::helpers::{TestApp, ADMIN_TOKEN};
use chunkgate::dialects::dstor::cid::{file_cid, CHUNK_SIZE};
use rand::seq::SliceRandom;
use rand::RngCore;
use serde_json::Value;

/// 0 B, 1 B, a size that is not a multiple of the chunk size, and over 20 MiB.
fn random_files() -> Vec<(String, Vec<u8>)> {
    let mut rng = rand::thread_rng();
    [0, 1, 3 * CHUNK_SIZE + 12_345, (20 << 20) + 7]
        .into_iter()
        .enumerate()
        .map(|(i, n)| {
            let mut data = vec![0u8; n];
            rng.fill_bytes(&mut data);
            (format!("set/file-{i}.bin"), data)
        })
        .collect()
}

/// Checks every file of a `DONE` body: its CID and size, and its bytes through the gateway.
async fn assert_served(dstor: &Client<'_>, done: &str, files: &[(String, Vec<u8>)]) {
    let done: Value = serde_json::from_str(done).unwrap();
    assert_eq!(done["status"], "DONE", "{done}");
    let data = done["data"].as_array().unwrap();
    for (name, bytes) in files {
        let entry = data
            .iter()
            .find(|e| e["Name"] == format!("up/{name}"))
            .unwrap_or_else(|| panic!("{name} listed"));
        let root = file_cid(bytes);
        assert_eq!(entry["Hash"], root.cid.to_string(), "{name}");
        assert_eq!(entry["Size"], root.cumulative.to_string(), "{name}");
        let response = dstor.ipfs(entry["Hash"].as_str().unwrap()).await;
        assert_eq!(response.status(), 200, "{name}");
        let body = response.bytes().await.unwrap();
        assert!(body.as_ref() == bytes.as_slice(), "{name}: bytes differ");
    }
}

#[tokio::test]
async fn files_sent_one_request_at_a_time_in_order_come_back_byte_identical() {
    // Arrange
    let app = TestApp::spawn().await;
    let dstor = Client::new(&app);
    let files = random_files();
    let token = dstor.open(files.len() as u32, "up").await;

    // Act
    for (name, bytes) in &files {
        let response = dstor.send(&token, &[file(name, bytes)]).await;
        assert_eq!(response.status(), 200);
    }
    let done = dstor.wait_done(&token).await;

    // Assert: files in upload order, then the folders.
    assert_served(&dstor, &done, &files).await;
    let names: Vec<String> = serde_json::from_str::<Value>(&done).unwrap()["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["Name"].as_str().unwrap().to_owned())
        .collect();
    let mut want: Vec<String> = files.iter().map(|(n, _)| format!("up/{n}")).collect();
    want.extend(["up/set".to_owned(), "up".to_owned()]);
    assert_eq!(names, want);
}

#[tokio::test]
async fn files_sent_shuffled_in_parallel_with_one_sent_twice_come_back_byte_identical() {
    // Arrange: one request per file plus one re-sending a file (it replaces itself), all
    // started at once in a shuffled order.
    let app = TestApp::spawn().await;
    let dstor = Client::new(&app);
    let files = random_files();
    let mut requests: Vec<&(String, Vec<u8>)> = files.iter().collect();
    requests.push(&files[2]);
    requests.shuffle(&mut rand::thread_rng());
    let token = dstor.open(requests.len() as u32, "up").await;

    // Act
    let parts: Vec<[super::Part; 1]> = requests
        .iter()
        .map(|(name, bytes)| [file(name, bytes)])
        .collect();
    let sent = futures_util::future::join_all(parts.iter().map(|p| dstor.send(&token, p))).await;
    let done = dstor.wait_done(&token).await;

    // Assert: exactly one request was the last.
    let mut answers = Vec::new();
    for response in sent {
        answers.push(answer(response).await);
    }
    assert!(answers.iter().all(|(s, _)| *s == 200), "{answers:?}");
    let last = answers
        .iter()
        .filter(|(_, b)| b.contains("ADDING_TO_IPFS"))
        .count();
    assert_eq!(last, 1);
    assert_served(&dstor, &done, &files).await;
    let listed = serde_json::from_str::<Value>(&done).unwrap()["data"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(listed, files.len() + 2);
}

#[tokio::test]
async fn a_stored_file_is_found_by_the_operator_api_under_its_cid() {
    // Arrange
    let app = TestApp::spawn().await;
    let dstor = Client::new(&app);
    let token = dstor.open(1, "").await;
    dstor
        .send(&token, &[file("hello.txt", b"hello world\n")])
        .await;
    dstor.wait_done(&token).await;

    // Act
    let response =
        app.client
            .get(app.url(
                "/gateway/v1/files/dstor:QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o/content",
            ))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .unwrap();

    // Assert
    assert_eq!(answer(response).await, (200, "hello world\n".to_owned()));
}
