//! Asking the legacy backend who a credential belongs to (`auth.introspect_url`).
//!
//! Protocol (docs/configuration.md, "Introspection"):
//! `GET <introspect_url>` with `Authorization: Bearer <credential>` and
//! `Accept: application/json`.
//! - `200` with a JSON object holding a non-empty string `principal` → that principal;
//! - `401`, `403` or `404` → invalid, or expired when the JSON body is `{"error":"expired"}`;
//! - anything else (other status, a 200 without `principal`, timeout, connection error) →
//!   invalid for this request, logged at warn and not cached, so a backend hiccup does not
//!   lock users out for a whole cache period.
//!
//! Definite answers (principal, invalid, expired) are cached for `introspect_cache`.

use super::{AuthError, AuthOutcome};
use crate::engine::Principal;
use reqwest::StatusCode;
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Cache entries kept at most; beyond it, expired entries are dropped, then everything.
const CACHE_CAPACITY: usize = 10_000;

pub(super) struct Introspector {
    client: reqwest::Client,
    url: String,
    ttl: Duration,
    /// SHA-256 of the credential → (valid until, answer).
    cache: Mutex<HashMap<[u8; 32], (Instant, AuthOutcome)>>,
}

#[derive(Deserialize)]
struct Answer {
    principal: Option<String>,
    error: Option<String>,
}

impl Introspector {
    pub(super) fn new(url: &str, ttl: Duration, timeout: Duration) -> Result<Self, AuthError> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| AuthError::Client(e.to_string()))?;
        Ok(Introspector {
            client,
            url: url.to_owned(),
            ttl,
            cache: Mutex::new(HashMap::new()),
        })
    }

    pub(super) async fn check(&self, credential: &str, key: [u8; 32]) -> AuthOutcome {
        if let Some(outcome) = self.cached(&key) {
            return outcome;
        }
        match self.ask(credential).await {
            Ok(outcome) => {
                self.remember(key, outcome.clone());
                outcome
            }
            Err(reason) => {
                tracing::warn!(url = %self.url, %reason, "token introspection failed");
                AuthOutcome::Invalid
            }
        }
    }

    fn cached(&self, key: &[u8; 32]) -> Option<AuthOutcome> {
        let cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        match cache.get(key) {
            Some((until, outcome)) if *until > Instant::now() => Some(outcome.clone()),
            _ => None,
        }
    }

    fn remember(&self, key: [u8; 32], outcome: AuthOutcome) {
        let now = Instant::now();
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if cache.len() >= CACHE_CAPACITY {
            cache.retain(|_, (until, _)| *until > now);
            if cache.len() >= CACHE_CAPACITY {
                cache.clear();
            }
        }
        cache.insert(key, (now + self.ttl, outcome));
    }

    /// One round trip; `Err` is an answer that decides nothing (not cached).
    async fn ask(&self, credential: &str) -> Result<AuthOutcome, String> {
        let header = match reqwest::header::HeaderValue::from_str(&format!("Bearer {credential}")) {
            Ok(h) => h,
            // Not representable in a header: no backend could know it.
            Err(_) => return Ok(AuthOutcome::Invalid),
        };
        let response = self
            .client
            .get(&self.url)
            .header(reqwest::header::AUTHORIZATION, header)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let status = response.status();
        match status {
            StatusCode::OK => {
                let answer: Answer = response.json().await.map_err(|e| e.to_string())?;
                match answer.principal {
                    Some(p) if !p.is_empty() => Ok(AuthOutcome::Principal(Principal::new(p))),
                    _ => Err("200 without a `principal`".into()),
                }
            }
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN | StatusCode::NOT_FOUND => {
                let expired = response
                    .json::<Answer>()
                    .await
                    .is_ok_and(|a| a.error.as_deref() == Some("expired"));
                Ok(if expired {
                    AuthOutcome::Expired
                } else {
                    AuthOutcome::Invalid
                })
            }
            other => Err(format!("unexpected status {other}")),
        }
    }
}
