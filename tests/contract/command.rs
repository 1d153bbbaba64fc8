//! `run_command`, the body of `chunkgate contract`: its lines and exit status.

use chunkgate::contract::{run_command_to, ContractArgs};

use crate::helpers::fixtures;
use crate::stub::{spawn, Mode};

fn args(base_url: &str, paths: Vec<std::path::PathBuf>) -> ContractArgs {
    ContractArgs {
        base_url: base_url.to_owned(),
        vars: Vec::new(),
        timeout: 10,
        insecure: false,
        paths,
    }
}

async fn run(args: ContractArgs) -> (i32, String) {
    let mut out = Vec::new();
    let status = run_command_to(args, &mut out).await;
    (status, String::from_utf8(out).expect("UTF-8 output"))
}

#[actix_web::test]
async fn a_folder_that_holds_prints_ok_lines_and_exits_0() {
    // Arrange
    let base_url = spawn(Mode::Right);

    // Act
    let (status, output) = run(args(&base_url, vec![fixtures("selftest")])).await;

    // Assert
    assert_eq!(status, 0, "{output}");
    let lines: Vec<&str> = output.lines().collect();
    assert!(
        lines[..lines.len() - 1]
            .iter()
            .all(|l| l.starts_with("ok selftest/")),
        "{output}"
    );
    assert_eq!(
        lines.last().copied(),
        Some(format!("{} passed, 0 failed", lines.len() - 1).as_str())
    );
}

#[actix_web::test]
async fn a_wrong_server_prints_fail_lines_and_exits_1() {
    // Arrange
    let base_url = spawn(Mode::Wrong);

    // Act
    let (status, output) = run(args(&base_url, vec![fixtures("selftest")])).await;

    // Assert
    assert_eq!(status, 1, "{output}");
    assert!(output.contains(
        "\nFAIL selftest/envelope missing chunk: header X-Audioboo-Error_description: missing\n"
    ));
    assert!(output.contains("\nok selftest/poll\n"), "{output}");
    assert!(output.ends_with("3 passed, 5 failed\n"), "{output}");
}

#[actix_web::test]
async fn single_files_can_be_given_and_var_overrides_apply() {
    // Arrange
    let base_url = spawn(Mode::Right);
    let mut args = args(&base_url, vec![fixtures("selftest").join("headers.json")]);
    args.vars = vec![("token".to_owned(), "other".to_owned())];

    // Act
    let (status, output) = run(args).await;

    // Assert: the request carries the override, and so does the expectation, which uses the
    // same variable.
    assert_eq!(
        (status, output.as_str()),
        (0, "ok selftest/headers\n1 passed, 0 failed\n")
    );
}

#[actix_web::test]
async fn an_unreadable_fixture_is_a_failed_case() {
    // Arrange
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.json");
    std::fs::write(&broken, r#"{"name": "x", "steps": [{"name": "s", "request": {"method": "GET", "path": "/"}, "expect": {"status": 200, "body": {"json": {"$type": "int"}}}}]}"#).unwrap();

    // Act
    let (status, output) = run(args("http://127.0.0.1:9", vec![dir.path().to_owned()])).await;

    // Assert
    assert_eq!(status, 1);
    assert_eq!(
        output,
        format!(
            "FAIL {} load: step \"s\": $: $type must be one of integer, number, string, boolean, null, array, object, got \"int\"\n0 passed, 1 failed\n",
            broken.display()
        )
    );
}

#[actix_web::test]
async fn an_unreachable_server_fails_with_the_transport_error() {
    // Arrange: a port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();

    // Act
    let (status, output) = run(args(
        &format!("http://127.0.0.1:{port}"),
        vec![fixtures("selftest").join("form.json")],
    ))
    .await;

    // Assert
    assert_eq!(status, 1);
    assert!(
        output.starts_with(&format!(
            "FAIL selftest/form repeated keys: POST http://127.0.0.1:{port}/form: error sending request"
        )),
        "{output}"
    );
}

#[actix_web::test]
async fn usage_errors_exit_2() {
    let (status, output) = run(args("localhost:8080", vec![fixtures("selftest")])).await;
    assert_eq!(
        (status, output.as_str()),
        (2, "error: --base-url must start with http:// or https://\n")
    );

    let empty = tempfile::tempdir().unwrap();
    let (status, output) = run(args("http://127.0.0.1:9", vec![empty.path().to_owned()])).await;
    assert_eq!(
        (status, output.as_str()),
        (2, "error: no fixture files (*.json) found\n")
    );
}
