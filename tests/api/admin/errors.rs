//! A store held by a running server, and a store whose metadata cannot be opened: one clear
//! line and exit status 1, for the operator commands and for `serve` alike, never a panic.

use super::{admin, chunkgate, chunkgate_at, LIMIT};
use std::path::Path;
use tokio::io::{AsyncBufReadExt, BufReader};

/// `serve` on `dir`, port 0, with its own dev token.
fn serve(dir: &Path) -> tokio::process::Command {
    let mut cmd = chunkgate();
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir);
    cmd
}

fn assert_one_clear_line(stderr: &str, want: &str) {
    let ours: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("chunkgate:"))
        .collect();
    assert_eq!(ours, [want], "stderr: {stderr}");
    assert!(!stderr.contains("panicked"), "stderr: {stderr}");
}

#[tokio::test]
async fn commands_and_a_second_server_refuse_a_store_a_running_server_holds() {
    // Arrange: a real server on the data dir, ready (its listening line).
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let mut server = serve(&dir).spawn().unwrap();
    let mut lines = BufReader::new(server.stdout.take().unwrap()).lines();
    let line = tokio::time::timeout(LIMIT, lines.next_line())
        .await
        .expect("the listening line in time")
        .unwrap()
        .unwrap();
    assert!(line.starts_with("chunkgate listening on "), "{line}");
    let want = format!(
        "chunkgate: the store in {} is in use by another process (is chunkgate serve running?)",
        dir.display()
    );

    // Act
    let mut runs = Vec::new();
    for args in [
        &["files", "list"][..],
        &["uploads", "list", "--json"],
        &["gc"],
        &["verify", "--quarantine"],
    ] {
        runs.push((args, admin(&dir, args).await));
    }
    let export_to = tmp.path().join("backup");
    let export = admin(&dir, &["export", export_to.to_str().unwrap()]).await;
    let second = tokio::time::timeout(LIMIT, serve(&dir).output())
        .await
        .unwrap()
        .unwrap();

    // Assert
    for (args, run) in &runs {
        assert_eq!(run.code, 1, "{args:?}");
        assert_eq!(run.stdout, "", "{args:?}");
        assert_one_clear_line(&run.stderr, &want);
    }
    assert_eq!(export.code, 1);
    assert_one_clear_line(&export.stderr, &want);
    assert!(!export_to.exists(), "nothing is written");
    assert_eq!(second.status.code(), Some(1));
    assert_one_clear_line(&String::from_utf8_lossy(&second.stderr), &want);
    // The running server was not disturbed.
    server.start_kill().unwrap();
    server.wait().await.unwrap();
}

#[tokio::test]
async fn corrupt_metadata_is_one_clear_line_for_serve_and_the_commands() {
    // Arrange: a store created by a real server, then its metadata files overwritten.
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let mut server = serve(&dir).spawn().unwrap();
    let mut lines = BufReader::new(server.stdout.take().unwrap()).lines();
    tokio::time::timeout(LIMIT, lines.next_line())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    server.start_kill().unwrap();
    server.wait().await.unwrap();
    let noise: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(dir.join("meta").join("conf"), &noise[..100]).unwrap();
    std::fs::write(dir.join("meta").join("db"), &noise).unwrap();
    let want = format!(
        "chunkgate: cannot open the store in {}: the metadata in {} is corrupt",
        dir.display(),
        dir.join("meta").display()
    );

    // Act
    let list = admin(&dir, &["files", "list", "--json"]).await;
    let serve = tokio::time::timeout(LIMIT, serve(&dir).output())
        .await
        .unwrap()
        .unwrap();

    // Assert
    assert_eq!(list.code, 1);
    assert_one_clear_line(&list.stderr, &want);
    assert_eq!(serve.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&serve.stdout), "", "never listens");
    assert_one_clear_line(&String::from_utf8_lossy(&serve.stderr), &want);
}

#[tokio::test]
async fn a_data_dir_without_a_store_is_not_created_by_a_reading_command() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("typo");

    let run = admin(&dir, &["files", "list"]).await;

    assert_eq!(run.code, 1);
    assert_one_clear_line(
        &run.stderr,
        &format!(
            "chunkgate: no store in {} (no meta/ directory)",
            dir.display()
        ),
    );
    assert!(!dir.exists());
}

#[tokio::test]
async fn a_store_the_process_may_not_read_is_one_clear_line_for_serve_and_the_commands() {
    // Arrange: a real store, then made unreadable for the process under test. As root (CI),
    // permissions do not bind, so the child runs as `nobody` and the store stays root's 0700;
    // otherwise the metadata dir gets mode 000.
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let mut server = serve(&dir).spawn().unwrap();
    let mut lines = BufReader::new(server.stdout.take().unwrap()).lines();
    tokio::time::timeout(LIMIT, lines.next_line())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    server.start_kill().unwrap();
    server.wait().await.unwrap();
    // SAFETY: geteuid(2) only reads the process's credentials.
    let root = unsafe { libc::geteuid() } == 0;
    let meta = dir.join("meta");
    if root {
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
    } else {
        std::fs::set_permissions(&meta, std::fs::Permissions::from_mode(0o000)).unwrap();
    }
    // `nobody` must reach the binary: the build dir may sit below a directory only root can
    // enter (CI clones into a 0700 temp dir), so it runs a world-readable copy.
    let bin_dir = tempfile::tempdir().unwrap();
    let program = bin_dir.path().join("chunkgate");
    if root {
        std::fs::copy(env!("CARGO_BIN_EXE_chunkgate"), &program).unwrap();
        std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::set_permissions(bin_dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let as_other = |args: &[&str]| {
        let mut cmd = if root {
            chunkgate_at(&program)
        } else {
            chunkgate()
        };
        cmd.args(args).arg("--data-dir").arg(&dir);
        if root {
            cmd.uid(65534).gid(65534);
        }
        cmd
    };

    // Act
    let list = tokio::time::timeout(LIMIT, as_other(&["files", "list"]).output())
        .await
        .unwrap()
        .unwrap();
    let started = tokio::time::timeout(
        LIMIT,
        as_other(&["serve", "--listen", "127.0.0.1:0"]).output(),
    )
    .await
    .unwrap()
    .unwrap();
    if !root {
        std::fs::set_permissions(&meta, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    // Assert
    for (what, out) in [("files list", &list), ("serve", &started)] {
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{what}: {stderr}");
        let ours: Vec<&str> = stderr
            .lines()
            .filter(|l| l.starts_with("chunkgate:"))
            .collect();
        assert_eq!(ours.len(), 1, "{what}: {stderr}");
        assert!(
            ours[0].starts_with("chunkgate: cannot "),
            "{what}: {stderr}"
        );
        assert!(
            ours[0].to_lowercase().contains("permission denied"),
            "{what}: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{what}: {stderr}");
    }
}
