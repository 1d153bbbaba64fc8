//! The shared IPFS vectors (`fixtures/dstor/vectors/ipfs-cid.vectors`) uploaded through the
//! HTTP API: each folder as one upload, its files at their paths, and the status lists the CIDs
//! and sizes `ipfs add -r` gives.

use super::{content, file, Client, Part};
use crate::helpers::TestApp;
use serde_json::Value;

fn vectors() -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/dstor/vectors/ipfs-cid.vectors");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn bytes_of(entry: &Value) -> Vec<u8> {
    match entry.get("literal_utf8").and_then(Value::as_str) {
        Some(text) => text.as_bytes().to_vec(),
        None => content(
            entry["seed"].as_str().unwrap(),
            entry["size"].as_u64().unwrap() as usize,
        ),
    }
}

#[tokio::test]
async fn every_folder_vector_uploaded_over_http_lists_the_cids_of_ipfs_add_r() {
    let app = TestApp::spawn().await;
    let dstor = Client::new(&app);
    for dir in vectors()["directories"].as_array().unwrap() {
        let entries = dir["entries"].as_array().unwrap();
        if entries.is_empty() {
            continue; // an empty folder cannot be uploaded (no files); see the unit tests
        }
        // Arrange
        let root = dir["root"].as_str().unwrap();
        let parts: Vec<Part> = entries
            .iter()
            .map(|e| {
                let path = e["path"].as_str().unwrap();
                file(&path[root.len() + 1..], &bytes_of(e))
            })
            .collect();
        let token = dstor.open(1, root).await;

        // Act
        dstor.send(&token, &parts).await;
        let done: Value = serde_json::from_str(&dstor.wait_done(&token).await).unwrap();

        // Assert
        let data = done["data"].as_array().unwrap();
        let results = dir["results"].as_array().unwrap();
        assert_eq!(data.len(), results.len(), "{}", dir["id"]);
        for row in results {
            let entry = data
                .iter()
                .find(|e| e["Name"] == row["path"])
                .unwrap_or_else(|| panic!("{} listed", row["path"]));
            assert_eq!(entry["Hash"], row["cid"], "{}", row["path"]);
            assert_eq!(
                entry["Size"],
                row["ipfs_add_size"].as_u64().unwrap().to_string(),
                "{}",
                row["path"]
            );
        }
        assert_eq!(data.last().unwrap()["Hash"], dir["root_cid"]);
    }
}

#[tokio::test]
async fn small_file_vectors_uploaded_over_http_get_the_cids_of_ipfs_add() {
    // Arrange: the vectors up to a few chunks (the big ones are covered by the unit tests).
    let app = TestApp::spawn().await;
    let dstor = Client::new(&app);
    let small: Vec<Value> = vectors()["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["size"].as_u64().unwrap() <= 1_000_000)
        .cloned()
        .collect();
    let token = dstor.open(1, "/").await;
    let parts: Vec<Part> = small
        .iter()
        .map(|f| file(f["id"].as_str().unwrap(), &bytes_of(f)))
        .collect();

    // Act
    dstor.send(&token, &parts).await;
    let done: Value = serde_json::from_str(&dstor.wait_done(&token).await).unwrap();

    // Assert: the files come first, in part order; then nothing (they sit at the root).
    let data = done["data"].as_array().unwrap();
    assert_eq!(data.len(), small.len());
    for (entry, vector) in data.iter().zip(&small) {
        assert_eq!(entry["Name"], vector["id"]);
        assert_eq!(entry["Hash"], vector["cid"], "{}", vector["id"]);
        assert_eq!(
            entry["Size"],
            vector["ipfs_add_size"].as_u64().unwrap().to_string()
        );
        assert_eq!(entry["Hash"].as_str().unwrap().len(), 46);
    }
}
