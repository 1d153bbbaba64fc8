//! `TestApp::spawn()`: a real server on port 0 over a temp data dir, plus a client and the
//! engine it uses. `TEST_LOG=1 cargo test` shows the server's logs.

use bytes::Bytes;
use chunkgate::config::{Secret, Settings, TokenEntry};
use chunkgate::engine::{
    Completion, DigestSet, Engine, Expectation, FileInfo, Layout, NewFile, NewUpload, Principal,
};
use chunkgate::startup::Application;
use std::sync::Once;
use tempfile::TempDir;

pub const USER_TOKEN: &str = "test-user-token";
pub const USER_PRINCIPAL: &str = "alice";
pub const ADMIN_TOKEN: &str = "test-admin-token";
/// A second user, for ownership tests: another principal's ids must look unknown.
pub const OTHER_TOKEN: &str = "test-other-token";
pub const OTHER_PRINCIPAL: &str = "bob";

pub struct TestApp {
    /// `http://127.0.0.1:<port>`.
    pub address: String,
    pub port: u16,
    pub client: reqwest::Client,
    /// The engine the server runs on, to arrange stored files.
    pub engine: Engine,
    pub data_dir: TempDir,
    server: actix_web::dev::ServerHandle,
    running: tokio::task::JoinHandle<Result<(), chunkgate::startup::RunError>>,
}

fn init_test_log() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        if std::env::var_os("TEST_LOG").is_some() {
            chunkgate::telemetry::init_subscriber("debug");
        }
    });
}

/// Settings for a test server: port 0, a temp data dir, one user and one admin token, and no
/// free-space threshold (test machines may have little disk).
pub fn test_settings(data_dir: &std::path::Path) -> Settings {
    let mut settings = Settings {
        listen: "127.0.0.1:0".into(),
        data_dir: data_dir.to_owned(),
        min_free_space: 0,
        ..Settings::default()
    };
    settings.auth.tokens = vec![
        TokenEntry {
            token: Secret::new(USER_TOKEN),
            principal: USER_PRINCIPAL.into(),
        },
        TokenEntry {
            token: Secret::new(OTHER_TOKEN),
            principal: OTHER_PRINCIPAL.into(),
        },
    ];
    settings.auth.admin_tokens = vec![Secret::new(ADMIN_TOKEN)];
    settings
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        Self::spawn_with(|_| {}).await
    }

    /// Like [`spawn`](Self::spawn), with `customize` applied to the settings first.
    pub async fn spawn_with(customize: impl FnOnce(&mut Settings)) -> TestApp {
        init_test_log();
        let data_dir = tempfile::tempdir().expect("temp dir");
        let mut settings = test_settings(data_dir.path());
        customize(&mut settings);

        let app = Application::build(settings)
            .await
            .expect("the application builds");
        let address = app.base_url();
        let port = app.port();
        let engine = app.engine().clone();
        let server = app.server_handle();
        let running = tokio::spawn(app.run_until_stopped());

        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            // Idle connections are dropped well before the server's keep-alive ends them.
            .pool_idle_timeout(std::time::Duration::from_secs(20))
            .build()
            .unwrap();
        TestApp {
            address,
            port,
            client,
            engine,
            data_dir,
            server,
            running,
        }
    }

    /// Stops the server gracefully and waits until its store is closed (its lock released), so
    /// another process can open the data dir, which is returned (the caller keeps it alive).
    pub async fn stop(self) -> TempDir {
        let TestApp {
            client,
            engine,
            data_dir,
            server,
            running,
            ..
        } = self;
        drop(client);
        server.stop(true).await;
        running
            .await
            .expect("the server task ends")
            .expect("the server stops cleanly");
        drop(engine);
        // Worker threads drop their copies of the engine just after they report stopped: wait
        // for the lock to go (a readiness wait with a hang guard, not a timing assertion).
        let db = data_dir.path().join("meta").join("db");
        for _ in 0..1500 {
            let file = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open(&db)
                .unwrap();
            if fs4::fs_std::FileExt::try_lock_exclusive(&file).unwrap_or(false) {
                return data_dir;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        panic!(
            "the store in {} stayed locked after the server stopped",
            data_dir.path().display()
        );
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn get_healthz(&self) -> reqwest::Response {
        self.client
            .get(self.url("/healthz"))
            .send()
            .await
            .expect("request /healthz")
    }

    /// A request to the operator API with the admin token.
    pub fn admin(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, self.url(path))
            .bearer_auth(ADMIN_TOKEN)
    }

    /// Stores `content` as a finished file of the test user, in namespace `testns`, through
    /// the engine (no dialect needed).
    pub async fn store_file(
        &self,
        name: &str,
        content: &[u8],
        aliases: Vec<(String, String)>,
    ) -> FileInfo {
        let owner = Principal::new(USER_PRINCIPAL);
        let upload = self
            .engine
            .create_upload(NewUpload {
                owner: owner.clone(),
                namespace: "testns".into(),
                layout: Layout::Indexed { count: Some(1) },
                digests: DigestSet::ALL,
                ttl: None,
                labels: Default::default(),
            })
            .await
            .expect("create upload");
        let body =
            futures_util::stream::iter([Ok::<_, std::io::Error>(Bytes::copy_from_slice(content))]);
        self.engine
            .put_chunk(&owner, upload.id, 0, body)
            .await
            .expect("put chunk");
        let completion = self
            .engine
            .complete(
                &owner,
                upload.id,
                Expectation::default(),
                NewFile {
                    name: name.into(),
                    aliases,
                    ..NewFile::default()
                },
            )
            .await
            .expect("complete");
        match completion {
            Completion::Completed(file) => file,
            other => panic!("upload did not complete: {other:?}"),
        }
    }
}
