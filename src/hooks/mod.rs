//! Webhooks (docs/webhooks.md): each `[[hooks]]` entry that subscribes to journal events gets a
//! follower task that reads the engine's event journal in order and POSTs every event it wants,
//! signed; a `pre-complete` hook is asked synchronously before each completion is committed.
//!
//! Delivery is at least once and in journal order (so in order per upload): a follower does not
//! move past an event until the receiver answered 2xx or the hook's retries are used up, waiting
//! `backoff`, `2 × backoff`, ... (at most `max_backoff`) between attempts. Its cursor (the last
//! journal position handled, and the failures of the event at hand) is stored in the engine's
//! records after every event, so a restart continues where it stopped; the journal is trimmed up
//! to the slowest follower, and at once when no hook follows it.

mod body;

pub use body::{
    candidate_body, event_body, rejection_reason, signature, DELIVERY_HEADER, EVENT_HEADER,
    SIGNATURE_HEADER,
};

use crate::config::HookSettings;
use crate::engine::{self, Candidate, CompletionGate, Engine};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Records namespace of the followers' cursors.
const NAMESPACE: &str = "hooks";
/// Journal entries read per step.
const BATCH: usize = 100;
/// Wait after a failure to read the journal (a store failure; retried).
const STORE_RETRY: Duration = Duration::from_secs(1);

/// Where a follower stands, stored under `cursor/<hook name>`.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize)]
struct Cursor {
    /// The last journal position handled (0: none).
    pos: u64,
    /// Failed attempts at the event after `pos`.
    failures: u32,
}

/// Running webhook delivery: stops when dropped or [`Hooks::stop`]ped.
pub struct Hooks {
    cancel: CancellationToken,
    tasks: tokio_util::task::TaskTracker,
}

/// What every follower shares.
struct Shared {
    engine: Engine,
    client: reqwest::Client,
    /// Prefix of download URLs in bodies (`public_base_url` or the server's own address).
    base_url: String,
    /// Each follower's position, for trimming the journal up to the slowest.
    positions: Mutex<HashMap<String, u64>>,
}

impl Hooks {
    /// Installs the pre-complete gate (if a hook asks for it) and starts one follower per hook
    /// that subscribes to journal events (or one that only trims, when none does).
    pub fn start(engine: &Engine, hooks: &[HookSettings], base_url: String) -> Hooks {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("an HTTP client with default TLS settings builds");
        let shared = Arc::new(Shared {
            engine: engine.clone(),
            client,
            base_url,
            positions: Mutex::new(HashMap::new()),
        });
        let gates: Vec<HookSettings> = hooks.iter().filter(|h| h.pre_complete()).cloned().collect();
        if !gates.is_empty() {
            engine.set_completion_gate(gate(shared.clone(), gates));
        }
        let cancel = CancellationToken::new();
        let tasks = tokio_util::task::TaskTracker::new();
        let followers: Vec<HookSettings> = hooks
            .iter()
            .filter(|h| h.follows_journal())
            .cloned()
            .collect();
        if followers.is_empty() {
            tasks.spawn(drain(shared.clone(), cancel.clone()));
        }
        for hook in followers {
            tasks.spawn(follow(shared.clone(), Arc::new(hook), cancel.clone()));
        }
        tasks.close();
        Hooks { cancel, tasks }
    }

    /// Stops every follower (an attempt in flight is abandoned and redelivered after restart).
    pub async fn stop(&self) {
        self.cancel.cancel();
        self.tasks.wait().await;
    }
}

impl Drop for Hooks {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

/// With no follower, nothing will read the journal: trim it as it grows.
async fn drain(shared: Arc<Shared>, cancel: CancellationToken) {
    let mut tick = shared.engine.journal_watch();
    loop {
        tick.borrow_and_update();
        // In batches, so a journal left long (e.g. by a removed hook) is not read at once.
        loop {
            match shared.engine.journal_after(0, 10 * BATCH).await {
                Ok(events) => match events.last() {
                    Some((last, _)) => {
                        if let Err(error) = shared.engine.journal_trim(*last).await {
                            tracing::warn!(%error, "cannot trim the event journal");
                            break;
                        }
                    }
                    None => break,
                },
                Err(error) => {
                    tracing::warn!(%error, "cannot read the event journal");
                    break;
                }
            }
        }
        tokio::select! {
            _ = tick.changed() => {}
            _ = cancel.cancelled() => return,
        }
    }
}

/// Delivers the journal to one hook, in order, until cancelled.
async fn follow(shared: Arc<Shared>, hook: Arc<HookSettings>, cancel: CancellationToken) {
    let name = hook.name().to_owned();
    let records = shared.engine.records(NAMESPACE);
    let key = format!("cursor/{name}");
    let mut cursor: Cursor = loop {
        match records.get(&key).await {
            Ok(c) => break c.unwrap_or_default(),
            Err(error) => {
                tracing::warn!(hook = %name, %error, "cannot read the hook's cursor");
                if sleep_or_cancel(STORE_RETRY, &cancel).await {
                    return;
                }
            }
        }
    };
    shared.advance(&name, cursor.pos).await;
    let mut tick = shared.engine.journal_watch();
    loop {
        tick.borrow_and_update();
        let batch = match shared.engine.journal_after(cursor.pos, BATCH).await {
            Ok(b) => b,
            Err(error) => {
                tracing::warn!(hook = %name, %error, "cannot read the event journal");
                if sleep_or_cancel(STORE_RETRY, &cancel).await {
                    return;
                }
                continue;
            }
        };
        if batch.is_empty() {
            tokio::select! {
                _ = tick.changed() => continue,
                _ = cancel.cancelled() => return,
            }
        }
        for (pos, event) in batch {
            if hook.wants(event.kind) {
                let body = event_body(&event, &shared.base_url);
                let event_id = event.id.to_string();
                loop {
                    let attempt = tokio::select! {
                        r = shared.deliver(&hook, event.kind.name(), &event_id, &body) => r,
                        _ = cancel.cancelled() => return,
                    };
                    match attempt {
                        Ok(()) => {
                            metrics::counter!("chunkgate_webhook_deliveries_total",
                                "hook" => name.clone(), "event" => event.kind.name())
                            .increment(1);
                            break;
                        }
                        Err(why) => {
                            cursor.failures += 1;
                            metrics::counter!("chunkgate_webhook_failures_total", "hook" => name.clone())
                                .increment(1);
                            if cursor.failures > hook.retries {
                                metrics::counter!("chunkgate_webhook_dropped_total", "hook" => name.clone())
                                    .increment(1);
                                tracing::error!(hook = %name, event = %event.id, kind = event.kind.name(),
                                    failures = cursor.failures, reason = %why,
                                    "webhook: giving the event up after its retries");
                                break;
                            }
                            tracing::warn!(hook = %name, event = %event.id, failures = cursor.failures,
                                reason = %why, "webhook delivery failed; retrying");
                            save(&records, &key, cursor, &name).await;
                            if sleep_or_cancel(hook.backoff_after(cursor.failures), &cancel).await {
                                return;
                            }
                        }
                    }
                }
            }
            cursor = Cursor { pos, failures: 0 };
            save(&records, &key, cursor, &name).await;
            shared.advance(&name, pos).await;
        }
    }
}

/// Stores a cursor; a failure is logged (the event is then delivered again after a restart).
async fn save(records: &engine::Records, key: &str, cursor: Cursor, name: &str) {
    if let Err(error) = records.put(key, &cursor).await {
        tracing::warn!(hook = %name, %error, "cannot store the hook's cursor");
    }
}

/// Sleeps `d`; true when cancelled first.
async fn sleep_or_cancel(d: Duration, cancel: &CancellationToken) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(d) => false,
        _ = cancel.cancelled() => true,
    }
}

impl Shared {
    /// POSTs a signed body; the answer, whatever its status, or why there was none.
    async fn post(
        &self,
        hook: &HookSettings,
        kind: &str,
        id: &str,
        body: &[u8],
    ) -> Result<reqwest::Response, String> {
        let mut req = self
            .client
            .post(&hook.url)
            .timeout(hook.timeout)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(EVENT_HEADER, kind)
            .header(DELIVERY_HEADER, id)
            .body(body.to_vec());
        if let Some(secret) = &hook.secret {
            req = req.header(SIGNATURE_HEADER, signature(secret.expose(), body));
        }
        req.send().await.map_err(|e| e.to_string())
    }

    /// POSTs an event; Ok only on a 2xx answer.
    async fn deliver(
        &self,
        hook: &HookSettings,
        kind: &str,
        id: &str,
        body: &[u8],
    ) -> Result<(), String> {
        let res = self.post(hook, kind, id, body).await?;
        if res.status().is_success() {
            Ok(())
        } else {
            Err(format!("answered {}", res.status()))
        }
    }

    /// Records a follower's position and trims the journal up to the slowest follower.
    async fn advance(&self, name: &str, pos: u64) {
        let min = {
            let mut positions = self.positions.lock().expect("positions lock");
            positions.insert(name.to_owned(), pos);
            positions.values().copied().min().unwrap_or(0)
        };
        if min > 0 {
            if let Err(error) = self.engine.journal_trim(min).await {
                tracing::warn!(%error, "cannot trim the event journal");
            }
        }
    }
}

/// The completion gate asking every pre-complete hook in turn; the first refusal wins. A hook
/// that cannot be reached refuses too: a gate that fails open would be no gate.
fn gate(shared: Arc<Shared>, hooks: Vec<HookSettings>) -> CompletionGate {
    let hooks = Arc::new(hooks);
    Arc::new(move |candidate: Candidate| {
        let (shared, hooks) = (shared.clone(), hooks.clone());
        Box::pin(async move {
            let body = candidate_body(&candidate, &shared.base_url);
            let id = uuid::Uuid::new_v4().to_string();
            for hook in hooks.iter() {
                let answer = shared
                    .post(hook, crate::config::PRE_COMPLETE, &id, &body)
                    .await;
                let outcome = match answer {
                    Ok(res) if res.status().is_success() => Ok(()),
                    Ok(res) => {
                        let status = res.status().as_u16();
                        let text = res.bytes().await.unwrap_or_default();
                        Err(rejection_reason(status, &text))
                    }
                    Err(why) => {
                        tracing::warn!(hook = %hook.name(), reason = %why, "pre-complete hook unreachable");
                        Err(
                            "completion could not be checked (pre-complete hook unavailable)"
                                .into(),
                        )
                    }
                };
                let label = if outcome.is_ok() {
                    "accepted"
                } else {
                    "rejected"
                };
                metrics::counter!("chunkgate_webhook_pre_complete_total",
                    "hook" => hook.name().to_owned(), "outcome" => label)
                .increment(1);
                outcome?;
            }
            Ok(())
        })
    })
}
