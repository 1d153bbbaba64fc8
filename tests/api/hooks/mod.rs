//! Webhooks and metrics (docs/webhooks.md, docs/operations.md) against a real receiver: an HTTP
//! server started by the test that records every request and answers as scripted.

mod delivery;
mod metrics;
mod pre_complete;
mod process;
mod restart;

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use chunkgate::config::{HookSettings, Secret, Settings};
use serde_json::Value;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;

/// Guard against a hang: far longer than any delivery takes; never a readiness wait.
pub const LIMIT: Duration = Duration::from_secs(60);

/// The signing secret of the test hooks.
pub const SECRET: &str = "test-hook-secret";

/// One request the receiver got.
#[derive(Clone, Debug)]
pub struct Received {
    pub event: String,
    pub delivery: String,
    pub signature: Option<String>,
    pub body: Vec<u8>,
    /// The status the receiver answered.
    pub answered: u16,
}

impl Received {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

#[derive(Default)]
struct State {
    log: Mutex<Vec<Received>>,
    /// Answers to give first, in order; then `fallback`.
    script: Mutex<VecDeque<(u16, String)>>,
    fallback: Mutex<(u16, String)>,
    arrived: Notify,
}

/// A webhook receiver on 127.0.0.1, port 0.
pub struct Receiver {
    pub url: String,
    state: Arc<State>,
    server: actix_web::dev::ServerHandle,
}

impl Receiver {
    pub async fn start() -> Receiver {
        let state = Arc::new(State {
            fallback: Mutex::new((200, String::new())),
            ..State::default()
        });
        let shared = web::Data::from(state.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(shared.clone())
                .default_service(web::to(record))
        })
        .workers(1)
        .bind("127.0.0.1:0")
        .unwrap();
        let addr = server.addrs()[0];
        let server = server.run();
        let handle = server.handle();
        tokio::spawn(server);
        Receiver {
            url: format!("http://{addr}/hook"),
            state,
            server: handle,
        }
    }

    /// Answers the next requests with these, in order.
    pub fn script(&self, answers: &[(u16, &str)]) {
        let mut s = self.state.script.lock().unwrap();
        s.extend(answers.iter().map(|(c, b)| (*c, b.to_string())));
    }

    /// Answers every request not scripted with this.
    pub fn answer_by_default(&self, status: u16, body: &str) {
        *self.state.fallback.lock().unwrap() = (status, body.to_owned());
    }

    pub fn log(&self) -> Vec<Received> {
        self.state.log.lock().unwrap().clone()
    }

    /// Waits until `done` holds for the log (at most [`LIMIT`]) and returns the log.
    pub async fn wait_until(
        &self,
        what: &str,
        done: impl Fn(&[Received]) -> bool,
    ) -> Vec<Received> {
        let wait = async {
            loop {
                let arrived = self.state.arrived.notified();
                let log = self.log();
                if done(&log) {
                    return log;
                }
                arrived.await;
            }
        };
        tokio::time::timeout(LIMIT, wait)
            .await
            .unwrap_or_else(|_| panic!("receiver never saw {what}: {:#?}", self.log()))
    }

    /// Waits for `n` accepted (2xx) journal events whose body satisfies `about`, and returns
    /// them in arrival order.
    pub async fn events(&self, n: usize, about: impl Fn(&Value) -> bool) -> Vec<Value> {
        let of = |log: &[Received]| -> Vec<Value> {
            log.iter()
                .filter(|r| r.answered < 300 && r.event != "pre-complete")
                .map(|r| r.json())
                .filter(|v| about(v))
                .collect()
        };
        let log = self
            .wait_until(&format!("{n} events"), |l| of(l).len() >= n)
            .await;
        of(&log)
    }

    pub async fn stop(&self) {
        self.server.stop(false).await;
    }
}

async fn record(req: HttpRequest, body: web::Bytes, state: web::Data<State>) -> HttpResponse {
    let header = |name: &str| {
        req.headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    };
    let (status, text) = {
        let scripted = state.script.lock().unwrap().pop_front();
        scripted.unwrap_or_else(|| state.fallback.lock().unwrap().clone())
    };
    state.log.lock().unwrap().push(Received {
        event: header("x-chunkgate-event").unwrap_or_default(),
        delivery: header("x-chunkgate-delivery").unwrap_or_default(),
        signature: header("x-chunkgate-signature"),
        body: body.to_vec(),
        answered: status,
    });
    state.arrived.notify_waiters();
    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap()).body(text)
}

/// A hook on `url` for `events`, signed with [`SECRET`], with back-off short enough for tests.
pub fn hook(url: &str, events: &[&str]) -> HookSettings {
    let mut h = HookSettings::new(url, events);
    h.secret = Some(Secret::new(SECRET));
    h.backoff = Duration::from_millis(20);
    h.max_backoff = Duration::from_millis(200);
    h.timeout = Duration::from_secs(10);
    h
}

/// Adds hooks to test settings.
pub fn with_hooks(hooks: Vec<HookSettings>) -> impl FnOnce(&mut Settings) {
    move |s| s.hooks = hooks
}

/// `sha256=<hex>` of `body` under the test secret, computed here independently.
pub fn expected_signature(body: &[u8]) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}
