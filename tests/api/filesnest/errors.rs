//! The legacy error answers (spec §4, §8): routes and methods, validation, limits. Every error
//! leaves the store unchanged.

use super::*;
use crate::helpers::TestApp;

#[tokio::test]
async fn unknown_paths_under_api_get_laravels_route_404() {
    let app = TestApp::spawn().await;
    for (path, shown) in [
        // Non-digit ids: `/api/files/abc` itself is Dyson's download route when Dyson is on.
        ("/api/files/12/abc", "api/files/12/abc"),
        ("/api/files/1/uploads/x", "api/files/1/uploads/x"),
        ("/api/nothing/", "api/nothing"),
        ("/api", "api"),
    ] {
        let (status, text) = answer(request(&app, Method::GET, path).send().await.unwrap()).await;
        assert_eq!(
            (status, text),
            (
                404,
                format!(r#"{{"message":"The route {shown} could not be found."}}"#)
            ),
            "{path}"
        );
    }
}

#[tokio::test]
async fn a_method_a_route_lacks_gets_405_listing_the_methods_it_has() {
    // Arrange
    let app = TestApp::spawn().await;
    let cases = [
        (
            Method::POST,
            "/api/settings",
            "POST",
            "api/settings",
            "GET, HEAD",
        ),
        (
            Method::DELETE,
            "/api/files/",
            "DELETE",
            "api/files",
            "GET, HEAD, POST",
        ),
        (
            Method::GET,
            "/api/files/search",
            "GET",
            "api/files/search",
            "POST",
        ),
        (
            Method::POST,
            "/api/files/7",
            "POST",
            "api/files/7",
            "GET, HEAD, PUT, PATCH, DELETE",
        ),
        (
            Method::PATCH,
            "/api/files/7/uploads",
            "PATCH",
            "api/files/7/uploads",
            "GET, HEAD",
        ),
        (
            Method::DELETE,
            "/api/files/7/uploads/9",
            "DELETE",
            "api/files/7/uploads/9",
            "GET, HEAD, PUT, PATCH",
        ),
    ];

    for (method, path, shown, route, allowed) in cases {
        // Act: no token at all; routing comes first, as in Laravel.
        let response = app
            .client
            .request(method, app.url(path))
            .send()
            .await
            .unwrap();

        // Assert
        assert_eq!(
            answer(response).await,
            (
                405,
                format!(
                    r#"{{"message":"The {shown} method is not supported for route {route}. Supported methods: {allowed}."}}"#
                )
            )
        );
    }
}

#[tokio::test]
async fn every_route_answers_with_and_without_a_trailing_slash_and_to_head() {
    let app = TestApp::spawn().await;
    let file = create(&app, "slash.jpg", None, 1).await;
    for path in [
        "/api/settings/".to_owned(),
        "/api/files/".to_owned(),
        format!("/api/files/{}/", file.id),
        format!("/api/files/{}/uploads/", file.id),
        format!("/api/files/{}/uploads/{}/", file.id, file.uploads[0]),
    ] {
        let get = request(&app, Method::GET, &path).send().await.unwrap();
        let head = request(&app, Method::HEAD, &path).send().await.unwrap();
        assert_eq!(get.status(), 200, "{path}");
        assert_eq!(head.status(), 200, "{path}");
        assert!(head.bytes().await.unwrap().is_empty());
    }
}

/// A create or update body and the exact 422 it must get.
fn create_cases() -> Vec<(Value, &'static str)> {
    vec![
        (
            json!({}),
            r#"{"message":"The name field is required. (and 2 more errors)","errors":{"name":["The name field is required."],"create_datetime":["The create datetime field is required."],"chunks_count":["The chunks count field is required."]}}"#,
        ),
        (
            json!({"name": " ", "create_datetime": "2024-01-15 10:30:00", "chunks_count": 1}),
            r#"{"message":"The name field is required.","errors":{"name":["The name field is required."]}}"#,
        ),
        (
            json!({"name": "taken.jpg", "create_datetime": "2024-02-30 10:30:00", "checksum": 12, "chunks_count": 10001}),
            r#"{"message":"The name has already been taken. (and 3 more errors)","errors":{"name":["The name has already been taken."],"create_datetime":["The create datetime field must match the format Y-m-d H:i:s."],"checksum":["The checksum field must be a string."],"chunks_count":["The chunks count field must not be greater than 10000."]}}"#,
        ),
        (
            json!({"name": "x".repeat(256), "create_datetime": "2024-01-15 10:30:00", "checksum": "c".repeat(256), "chunks_count": "abc"}),
            r#"{"message":"The name field must not be greater than 255 characters. (and 2 more errors)","errors":{"name":["The name field must not be greater than 255 characters."],"checksum":["The checksum field must not be greater than 255 characters."],"chunks_count":["The chunks count field must be an integer."]}}"#,
        ),
        (
            json!({"name": 1, "create_datetime": "2024-01-15 10:30:00", "chunks_count": 0}),
            r#"{"message":"The name field must be a string. (and 1 more error)","errors":{"name":["The name field must be a string."],"chunks_count":["The chunks count field must be at least 1."]}}"#,
        ),
    ]
}

#[tokio::test]
async fn invalid_create_bodies_get_laravels_422_and_change_nothing() {
    // Arrange
    let app = TestApp::spawn().await;
    create(&app, "taken.jpg", None, 2).await;
    let before = app.engine.inventory().await.unwrap();

    for (body, expected) in create_cases() {
        // Act
        let response = request(&app, Method::POST, "/api/files")
            .json(&body)
            .send()
            .await
            .unwrap();

        // Assert
        assert_eq!(answer(response).await, (422, expected.to_owned()), "{body}");
    }
    let not_json = request(&app, Method::POST, "/api/files")
        .header("Content-Type", "text/plain")
        .body(r#"{"name":"a","create_datetime":"2024-01-15 10:30:00","chunks_count":1}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(answer(not_json).await.0, 422);
    assert_eq!(app.engine.inventory().await.unwrap(), before);
}

#[tokio::test]
async fn invalid_updates_get_422_and_change_nothing() {
    // Arrange
    let app = TestApp::spawn().await;
    create(&app, "taken.jpg", None, 1).await;
    let file = create(&app, "mine.jpg", None, 1).await;
    let before = app.engine.inventory().await.unwrap();
    let cases = [
        (
            json!({"name": "taken.jpg"}),
            r#"{"message":"The name has already been taken.","errors":{"name":["The name has already been taken."]}}"#,
        ),
        (
            json!({"name": null, "create_datetime": "yesterday", "checksum": false}),
            r#"{"message":"The name field is required. (and 2 more errors)","errors":{"name":["The name field is required."],"create_datetime":["The create datetime field must match the format Y-m-d H:i:s."],"checksum":["The checksum field must be a string."]}}"#,
        ),
        (
            json!({"create_datetime": ""}),
            r#"{"message":"The create datetime field is required.","errors":{"create_datetime":["The create datetime field is required."]}}"#,
        ),
    ];

    for (body, expected) in cases {
        // Act
        let response = request(&app, Method::PATCH, &format!("/api/files/{}", file.id))
            .json(&body)
            .send()
            .await
            .unwrap();

        // Assert
        assert_eq!(answer(response).await, (422, expected.to_owned()), "{body}");
    }
    assert_eq!(app.engine.inventory().await.unwrap(), before);
}

#[tokio::test]
async fn invalid_search_filters_get_422_and_change_nothing() {
    let app = TestApp::spawn().await;
    create(&app, "a.jpg", None, 1).await;
    let before = app.engine.inventory().await.unwrap();
    let cases = [
        (
            json!({"filters": "name"}),
            r#"{"message":"The filters field must be an array.","errors":{"filters":["The filters field must be an array."]}}"#,
        ),
        (
            json!({"filters": [{"field": "size", "operator": "<", "value": 1}, {"field": "name"}]}),
            r#"{"message":"The selected filters.0.field is invalid. (and 3 more errors)","errors":{"filters.0.field":["The selected filters.0.field is invalid."],"filters.0.operator":["The selected filters.0.operator is invalid."],"filters.0.value":["The filters.0.value field must be a string."],"filters.1.value":["The filters.1.value field is required."]}}"#,
        ),
    ];
    for (body, expected) in cases {
        let response = request(&app, Method::POST, "/api/files/search")
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(answer(response).await, (422, expected.to_owned()), "{body}");
    }
    assert_eq!(app.engine.inventory().await.unwrap(), before);
}

#[tokio::test]
async fn json_bodies_over_the_limit_get_413_and_change_nothing() {
    // Arrange
    let app = TestApp::spawn_with(|s| s.dialects.filesnest.max_json_bytes = 100).await;
    let file = create(&app, "a.jpg", None, 1).await;
    let before = app.engine.inventory().await.unwrap();
    let big = json!({"name": "n".repeat(200), "create_datetime": "2024-01-15 10:30:00", "chunks_count": 1});
    let too_large = (
        413,
        r#"{"message":"The POST data is too large."}"#.to_owned(),
    );

    // Act
    let create = request(&app, Method::POST, "/api/files")
        .json(&big)
        .send()
        .await
        .unwrap();
    let update = request(&app, Method::PATCH, &format!("/api/files/{}", file.id))
        .json(&big)
        .send()
        .await
        .unwrap();
    let search = request(&app, Method::POST, "/api/files/search")
        .json(&big)
        .send()
        .await
        .unwrap();
    let pieces: Vec<Result<Vec<u8>, std::io::Error>> = vec![Ok(big.to_string().into_bytes())];
    let streamed = request(&app, Method::POST, "/api/files")
        .header("Content-Type", "application/json")
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
            pieces,
        )))
        .send()
        .await
        .unwrap();

    // Assert
    assert_eq!(answer(create).await, too_large);
    assert_eq!(answer(update).await, too_large);
    assert_eq!(answer(search).await, too_large);
    assert_eq!(answer(streamed).await, too_large);
    assert_eq!(app.engine.inventory().await.unwrap(), before);
}

#[tokio::test]
async fn max_chunks_is_configurable_and_shown_in_the_message() {
    let app = TestApp::spawn_with(|s| s.dialects.filesnest.max_chunks = 3).await;
    let response = request(&app, Method::POST, "/api/files")
        .json(&json!({"name": "a", "create_datetime": "2024-01-15 10:30:00", "chunks_count": "4"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        answer(response).await,
        (422, r#"{"message":"The chunks count field must not be greater than 3.","errors":{"chunks_count":["The chunks count field must not be greater than 3."]}}"#.to_owned())
    );
}

#[tokio::test]
async fn unknown_ids_get_their_model_404() {
    let app = TestApp::spawn().await;
    let file = create(&app, "a.jpg", None, 1).await;
    let cases = [
        (Method::GET, "/api/files/999".to_owned(), "File] 999"),
        (
            Method::DELETE,
            "/api/files/000999".to_owned(),
            "File] 000999",
        ),
        (
            Method::GET,
            "/api/files/99999999999999999999999".to_owned(),
            "File] 99999999999999999999999",
        ),
        (
            Method::GET,
            "/api/files/999/uploads".to_owned(),
            "File] 999",
        ),
        (
            Method::GET,
            format!("/api/files/{}/uploads/555", file.id),
            "Upload] 555",
        ),
    ];
    for (method, path, tail) in cases {
        let response = request(&app, method, &path)
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(
            answer(response).await,
            (
                404,
                format!(r#"{{"message":"No query results for model [App\\Models\\{tail}"}}"#)
            ),
            "{path}"
        );
    }
}

#[tokio::test]
async fn any_other_internal_error_is_500_server_error_and_changes_nothing() {
    // Arrange: the store refuses new data (free space below the threshold).
    let app = TestApp::spawn_with(|s| s.min_free_space = u64::MAX / 4).await;
    let before = app.engine.inventory().await.unwrap();

    // Act
    let response = request(&app, Method::POST, "/api/files")
        .json(
            &json!({"name": "a.jpg", "create_datetime": "2024-01-15 10:30:00", "chunks_count": 1}),
        )
        .send()
        .await
        .unwrap();

    // Assert
    assert_eq!(
        answer(response).await,
        (500, r#"{"message":"Server Error"}"#.to_owned())
    );
    assert_eq!(app.engine.inventory().await.unwrap(), before);
}
