use crate::helpers::TestApp;

#[tokio::test]
async fn healthz_answers_200_ok_when_the_store_is_writable() {
    // Arrange
    let app = TestApp::spawn().await;

    // Act
    let response = app.get_healthz().await;

    // Assert
    assert_ne!(app.port, 0, "port 0 was replaced by the bound port");
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body, serde_json::json!({ "status": "ok" }));
}

#[tokio::test]
async fn healthz_answers_503_when_the_data_dir_is_gone() {
    // Arrange: move the data dir away and put a plain file in its place. Unlike chmod, this
    // also defeats root, which the tests may run as.
    let app = TestApp::spawn().await;
    let dir = app.data_dir.path();
    let moved = dir.with_extension("moved");
    std::fs::rename(dir, &moved).unwrap();
    std::fs::write(dir, b"not a directory").unwrap();

    // Act
    let response = app.get_healthz().await;

    // Assert
    assert_eq!(response.status(), 503);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["status"], "unavailable");

    // Restore so the temp dir cleans up.
    std::fs::remove_file(dir).unwrap();
    std::fs::rename(&moved, dir).unwrap();
}

#[tokio::test]
async fn unknown_paths_answer_404() {
    let app = TestApp::spawn().await;

    let response = app.client.get(app.url("/nope")).send().await.unwrap();

    assert_eq!(response.status(), 404);
}
