//! The file routes (spec §5.1, §5.3–§5.8): shapes, pagination, search, update, delete.

use super::*;
use crate::helpers::TestApp;

const TIME: &str = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.000000Z";

fn is_time(v: &Value) -> bool {
    let re = regex::Regex::new(&format!("^{TIME}$")).unwrap();
    v.as_str().is_some_and(|s| re.is_match(s))
}

fn keys(v: &Value) -> Vec<&str> {
    v.as_object().unwrap().keys().map(String::as_str).collect()
}

#[tokio::test]
async fn create_answers_201_with_the_file_and_its_uploads_in_legacy_order() {
    // Arrange
    let app = TestApp::spawn().await;

    // Act: no include=uploads; the uploads come anyway (a documented superset).
    let response = request(&app, Method::POST, "/api/files")
        .json(&json!({"name": " IMG_1.jpg ", "create_datetime": "2024-01-15 10:30:00", "checksum": "AbC", "chunks_count": "3", "extra": 1}))
        .send()
        .await
        .unwrap();

    // Assert
    assert_eq!(response.headers()["content-type"], "application/json");
    let (status, body) = json_of(response).await;
    assert_eq!(status, 201);
    let data = &body["data"];
    assert_eq!(
        keys(data),
        [
            "id",
            "name",
            "create_datetime",
            "checksum",
            "created_at",
            "updated_at",
            "status_name",
            "uploads"
        ]
    );
    assert_eq!(data["name"], "IMG_1.jpg");
    assert_eq!(data["checksum"], "AbC");
    assert_eq!(data["status_name"], "in_progress");
    assert!(is_time(&data["created_at"]) && data["created_at"] == data["updated_at"]);
    let uploads = data["uploads"].as_array().unwrap();
    assert_eq!(uploads.len(), 3);
    for (n, u) in uploads.iter().enumerate() {
        assert_eq!(
            keys(u),
            ["id", "number", "created_at", "updated_at", "status_name"]
        );
        assert_eq!(u["number"], n + 1);
        assert_eq!(u["status_name"], "in_progress");
    }
    let ids: Vec<u64> = uploads.iter().map(|u| u["id"].as_u64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]));
}

#[tokio::test]
async fn ids_come_from_counters_and_are_never_reused() {
    let app = TestApp::spawn().await;
    let a = create(&app, "a", None, 2).await;
    request(&app, Method::DELETE, &format!("/api/files/{}", a.id))
        .send()
        .await
        .unwrap();
    let b = create(&app, "a", None, 1).await;
    assert!(b.id > a.id);
    assert!(b.uploads[0] > a.uploads[1]);
}

#[tokio::test]
async fn the_list_is_paginated_like_laravel_with_absolute_links() {
    // Arrange
    let app = TestApp::spawn().await;
    let mut ids = Vec::new();
    for n in 0..5 {
        ids.push(create(&app, &format!("f{n}.jpg"), None, 1).await.id);
    }
    let base = format!("http://127.0.0.1:{}/api/files", app.port);

    // Act
    let response = request(&app, Method::GET, "/api/files?page=2&limit=2&other=x")
        .send()
        .await
        .unwrap();

    // Assert
    let (status, body) = json_of(response).await;
    assert_eq!(status, 200);
    assert_eq!(keys(&body), ["data", "links", "meta"]);
    let listed: Vec<u64> = body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_u64().unwrap())
        .collect();
    assert_eq!(listed, ids[2..4]);
    assert_eq!(body["data"][0].get("uploads"), None);
    assert_eq!(
        body["links"],
        json!({"first": format!("{base}?page=1"), "last": format!("{base}?page=3"), "prev": format!("{base}?page=1"), "next": format!("{base}?page=3")})
    );
    assert_eq!(
        keys(&body["meta"]),
        [
            "current_page",
            "from",
            "last_page",
            "path",
            "per_page",
            "to",
            "total"
        ]
    );
    assert_eq!(
        body["meta"],
        json!({"current_page": 2, "from": 3, "last_page": 3, "path": base, "per_page": 2, "to": 4, "total": 5})
    );
}

#[tokio::test]
async fn list_defaults_clamp_and_include_uploads() {
    let app = TestApp::spawn().await;
    create(&app, "a.jpg", None, 2).await;
    for (query, per_page) in [("", 15), ("?limit=500", 100), ("?limit=abc&page=x", 15)] {
        let (_, body) = json_of(
            request(&app, Method::GET, &format!("/api/files{query}"))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(body["meta"]["per_page"], per_page, "{query}");
        assert_eq!(body["meta"]["current_page"], 1);
    }
    let (_, body) = json_of(
        request(&app, Method::GET, "/api/files?include=uploads")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(body["data"][0]["uploads"].as_array().unwrap().len(), 2);
    let (_, empty) = json_of(
        request(&app, Method::GET, "/api/files?page=9")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(empty["data"], json!([]));
    assert_eq!(
        (&empty["meta"]["from"], &empty["meta"]["to"]),
        (&Value::Null, &Value::Null)
    );
}

#[tokio::test]
async fn pagination_links_use_the_configured_public_base_url() {
    let app =
        TestApp::spawn_with(|s| s.public_base_url = Some("https://photos.example".into())).await;
    let (_, body) = json_of(
        request(&app, Method::GET, "/api/files/")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(body["meta"]["path"], "https://photos.example/api/files");
    assert_eq!(
        body["links"]["first"],
        "https://photos.example/api/files?page=1"
    );
}

#[tokio::test]
async fn search_filters_names_exactly_or_with_like_patterns() {
    // Arrange
    let app = TestApp::spawn().await;
    for name in ["IMG_0001.JPG", "img_0002.jpg", "imgX0003.jpg", "notes.txt"] {
        create(&app, name, None, 1).await;
    }
    let search = |filters: Value, query: &'static str| {
        let req = request(&app, Method::POST, &format!("/api/files/search{query}"))
            .json(&json!({"filters": filters, "sort": []}));
        async move {
            let (status, body) = json_of(req.send().await.unwrap()).await;
            assert_eq!(status, 200);
            body
        }
    };
    let names = |body: &Value| -> Vec<String> {
        body["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["name"].as_str().unwrap().to_owned())
            .collect()
    };

    // Act / Assert
    let like = search(
        json!([{"field": "name", "operator": "like", "value": "img\\_%.jpg"}]),
        "",
    )
    .await;
    assert_eq!(names(&like), ["IMG_0001.JPG", "img_0002.jpg"]);
    let exact = search(json!([{"field": "name", "value": "img_0002.jpg"}]), "").await;
    assert_eq!(names(&exact), ["img_0002.jpg"]);
    let both = search(json!([{"field": "name", "operator": "like", "value": "%.jpg"}, {"field": "name", "operator": "=", "value": "IMG_0001.JPG"}]), "").await;
    assert_eq!(names(&both), ["IMG_0001.JPG"]);
    let paged = search(json!([]), "?limit=3&page=2&include=uploads").await;
    assert_eq!(names(&paged), ["notes.txt"]);
    assert_eq!(paged["data"][0]["uploads"].as_array().unwrap().len(), 1);
    assert!(paged["meta"]["path"]
        .as_str()
        .unwrap()
        .ends_with("/api/files/search"));
    assert_eq!(paged["meta"]["total"], 4);
}

#[tokio::test]
async fn show_includes_uploads_only_when_asked() {
    let app = TestApp::spawn().await;
    let file = create(&app, "a.jpg", None, 2).await;
    let (_, plain) = json_of(
        request(&app, Method::GET, &format!("/api/files/{}", file.id))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let (_, other) = json_of(
        request(
            &app,
            Method::GET,
            &format!("/api/files/{}?include=owner", file.id),
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    let with = get_file(&app, file.id).await;
    assert_eq!(plain["data"].get("uploads"), None);
    assert_eq!(other["data"].get("uploads"), None);
    assert_eq!(with["uploads"], file.body["data"]["uploads"]);
}

#[tokio::test]
async fn uploads_are_listed_by_number_paginated_and_shown_one_by_one() {
    let app = TestApp::spawn().await;
    let file = create(&app, "a.jpg", None, 4).await;
    let (status, page) = json_of(
        request(
            &app,
            Method::GET,
            &format!("/api/files/{}/uploads?limit=3", file.id),
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        page["data"],
        json!(file.body["data"]["uploads"].as_array().unwrap()[..3])
    );
    assert!(page["meta"]["path"]
        .as_str()
        .unwrap()
        .ends_with(&format!("/api/files/{}/uploads", file.id)));
    assert_eq!(page["meta"]["last_page"], 2);
    let (status, one) = json_of(
        request(
            &app,
            Method::GET,
            &format!("/api/files/{}/uploads/{}", file.id, file.uploads[3]),
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(one["data"], file.body["data"]["uploads"][3]);
}

#[tokio::test]
async fn update_saves_present_keys_and_keeps_the_rest() {
    // Arrange
    let app = TestApp::spawn().await;
    let file = create(&app, "old.jpg", Some("abc"), 1).await;

    // Act
    let response = request(&app, Method::PUT, &format!("/api/files/{}", file.id))
        .json(&json!({"name": "new.jpg", "create_datetime": "2023-12-31 23:59:59", "status_name": "completed"}))
        .send()
        .await
        .unwrap();
    let same_name = request(&app, Method::PATCH, &format!("/api/files/{}", file.id))
        .json(&json!({"name": "new.jpg", "checksum": null}))
        .send()
        .await
        .unwrap();
    let reuse_old = create(&app, "old.jpg", None, 1).await;

    // Assert
    let (status, body) = json_of(response).await;
    assert_eq!(status, 200);
    let data = &body["data"];
    assert_eq!(
        (&data["name"], &data["create_datetime"], &data["checksum"]),
        (
            &json!("new.jpg"),
            &json!("2023-12-31 23:59:59"),
            &json!("abc")
        )
    );
    assert_eq!(data["status_name"], "in_progress");
    assert_eq!(data["created_at"], file.body["data"]["created_at"]);
    let (status, body) = json_of(same_name).await;
    assert_eq!(status, 200);
    assert_eq!(body["data"]["checksum"], Value::Null);
    assert_eq!(reuse_old.body["data"]["name"], "old.jpg");
}

#[tokio::test]
async fn delete_answers_the_record_and_removes_everything_of_the_file() {
    // Arrange
    let app = TestApp::spawn().await;
    let empty = app.engine.inventory().await.unwrap();
    let content = b"to be deleted".to_vec();
    let done = create(&app, "done.txt", Some(&sha256(&content)), 1).await;
    put_chunk(&app, done.id, done.uploads[0], content).await;
    wait_for_status(&app, done.id, "completed").await;
    let partial = create(&app, "partial.txt", None, 2).await;
    put_chunk(&app, partial.id, partial.uploads[0], b"half".to_vec()).await;
    let before = get_file(&app, done.id).await;

    // Act
    let first = request(
        &app,
        Method::DELETE,
        &format!("/api/files/{}?include=uploads", done.id),
    )
    .send()
    .await
    .unwrap();
    let second = request(&app, Method::DELETE, &format!("/api/files/{}", partial.id))
        .send()
        .await
        .unwrap();
    let again = request(&app, Method::DELETE, &format!("/api/files/{}", done.id))
        .send()
        .await
        .unwrap();

    // Assert
    let (status, body) = json_of(first).await;
    assert_eq!(status, 200);
    let mut expected = before.clone();
    expected.as_object_mut().unwrap().remove("uploads");
    assert_eq!(body["data"], expected);
    assert_eq!(json_of(second).await.0, 200);
    assert_eq!(answer(again).await.0, 404);
    let after = app.engine.inventory().await.unwrap();
    assert_eq!(
        (after.uploads, after.files, after.records, after.blobs),
        (empty.uploads, empty.files, empty.records, empty.blobs)
    );
    let operator = app
        .admin(
            Method::GET,
            &format!("/gateway/v1/files/filesnest:{}", done.id),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(operator.status(), 404);
    create(&app, "done.txt", None, 1).await;
}

#[tokio::test]
async fn settings_publish_the_configured_chunk_limit() {
    let app = TestApp::spawn_with(|s| s.dialects.filesnest.upload_max_size = 5_000_000).await;
    let (status, text) = answer(
        app.client
            .get(app.url("/api/settings"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, text.as_str()),
        (200, r#"{"data":{"upload_max_size":5000000}}"#)
    );
}

#[tokio::test]
async fn the_dialect_answers_under_its_configured_prefix_only() {
    let app = TestApp::spawn_with(|s| s.dialects.filesnest.prefix = "/fn".into()).await;
    let moved = request(&app, Method::GET, "/fn/api/files")
        .send()
        .await
        .unwrap();
    let old = request(&app, Method::GET, "/api/files")
        .send()
        .await
        .unwrap();
    let (_, body) = json_of(moved).await;
    assert!(body["meta"]["path"]
        .as_str()
        .unwrap()
        .ends_with("/fn/api/files"));
    assert_eq!(
        answer(
            request(&app, Method::GET, "/fn/api/nope")
                .send()
                .await
                .unwrap()
        )
        .await,
        (
            404,
            r#"{"message":"The route fn/api/nope could not be found."}"#.to_owned()
        )
    );
    assert_eq!(old.status(), 404);
}

#[tokio::test]
async fn a_file_of_the_largest_chunk_count_gets_all_its_placeholders() {
    // Arrange
    let app = TestApp::spawn().await;

    // Act
    let file = create(&app, "many.bin", None, 10_000).await;
    let (status, last) = json_of(
        request(
            &app,
            Method::GET,
            &format!("/api/files/{}/uploads?page=100&limit=100", file.id),
        )
        .send()
        .await
        .unwrap(),
    )
    .await;

    // Assert
    assert_eq!(file.uploads.len(), 10_000);
    assert!(file.uploads.windows(2).all(|w| w[1] == w[0] + 1));
    assert_eq!(status, 200);
    assert_eq!(last["data"][99]["number"], 10_000);
    assert_eq!(last["meta"]["total"], 10_000);
}
