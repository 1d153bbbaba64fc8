//! `[[hooks]]`: webhook subscribers (docs/webhooks.md). Each entry names a URL, the events it
//! wants (the journal's event names, plus `pre-complete`, the synchronous completion check), a
//! signing secret and its delivery timing.

use super::values::{duration, Secret};
use super::ConfigError;
use crate::engine::EventKind;
use serde::Deserialize;
use std::time::Duration;

/// The event name of the synchronous check before a completion is committed.
pub const PRE_COMPLETE: &str = "pre-complete";

/// One `[[hooks]]` entry.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HookSettings {
    /// `name`: identifies the hook's delivery cursor in the store and its metrics (default: the
    /// URL). Renaming a hook (or changing the URL of an unnamed one) starts a new cursor.
    #[serde(default)]
    pub name: Option<String>,
    /// `url`: where events are POSTed (absolute http(s) URL).
    pub url: String,
    /// `events`: event names (`upload.created`, `upload.completed`, `upload.failed`,
    /// `upload.expired`, `file.deleted`, `pre-complete`); `"*"` stands for every journal event.
    pub events: Vec<String>,
    /// `secret`: HMAC-SHA256 key of the `X-Chunkgate-Signature` header (none: unsigned).
    #[serde(default)]
    pub secret: Option<Secret>,
    /// `timeout`: how long one delivery (or one pre-complete call) may take.
    #[serde(default = "default_timeout", deserialize_with = "duration")]
    pub timeout: Duration,
    /// `retries`: further attempts after a failed delivery before the event is given up for
    /// this hook (logged and counted); the count survives restarts.
    #[serde(default = "default_retries")]
    pub retries: u32,
    /// `backoff`: the wait after the first failure; it doubles after each further one.
    #[serde(default = "default_backoff", deserialize_with = "duration")]
    pub backoff: Duration,
    /// `max_backoff`: the longest wait between two attempts.
    #[serde(default = "default_max_backoff", deserialize_with = "duration")]
    pub max_backoff: Duration,
}

fn default_timeout() -> Duration {
    Duration::from_secs(10)
}
fn default_retries() -> u32 {
    10
}
fn default_backoff() -> Duration {
    Duration::from_secs(1)
}
fn default_max_backoff() -> Duration {
    Duration::from_secs(300)
}

impl HookSettings {
    /// A hook for `url` with the defaults (tests and code building settings).
    pub fn new(url: impl Into<String>, events: &[&str]) -> Self {
        HookSettings {
            name: None,
            url: url.into(),
            events: events.iter().map(|e| e.to_string()).collect(),
            secret: None,
            timeout: default_timeout(),
            retries: default_retries(),
            backoff: default_backoff(),
            max_backoff: default_max_backoff(),
        }
    }

    /// The hook's name (its cursor and metric label).
    pub fn name(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.url)
    }

    /// Whether the hook wants journal events of `kind`.
    pub fn wants(&self, kind: EventKind) -> bool {
        self.events.iter().any(|e| e == "*" || e == kind.name())
    }

    /// Whether the hook follows the journal at all.
    pub fn follows_journal(&self) -> bool {
        EventKind::ALL.iter().any(|k| self.wants(*k))
    }

    /// Whether the hook is asked before every completion.
    pub fn pre_complete(&self) -> bool {
        self.events.iter().any(|e| e == PRE_COMPLETE)
    }

    /// The wait before attempt `failures + 1` after `failures` failures (1, 2, 4, ... × backoff).
    pub fn backoff_after(&self, failures: u32) -> Duration {
        let factor = 1u32 << failures.saturating_sub(1).min(20);
        self.backoff.saturating_mul(factor).min(self.max_backoff)
    }
}

/// Checks every hook: an absolute http(s) URL, known event names, unique names.
pub fn validate(hooks: &[HookSettings]) -> Result<(), ConfigError> {
    let invalid = |i: usize, field: &str, reason: String| ConfigError::Invalid {
        key: format!("hooks[{i}].{field}"),
        reason,
    };
    let mut names = std::collections::HashSet::new();
    for (i, h) in hooks.iter().enumerate() {
        match reqwest::Url::parse(&h.url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => {}
            _ => return Err(invalid(i, "url", "must be an absolute http(s) URL".into())),
        }
        if h.events.is_empty() {
            return Err(invalid(i, "events", "must name at least one event".into()));
        }
        for e in &h.events {
            let known =
                e == "*" || e == PRE_COMPLETE || EventKind::ALL.iter().any(|k| k.name() == e);
            if !known {
                return Err(invalid(
                    i,
                    "events",
                    format!(
                        "unknown event {e:?}; expected \"*\", {PRE_COMPLETE:?} or one of {}",
                        EventKind::ALL.map(|k| format!("{:?}", k.name())).join(", ")
                    ),
                ));
            }
        }
        if h.max_backoff < h.backoff {
            return Err(invalid(
                i,
                "max_backoff",
                "must not be below `backoff`".into(),
            ));
        }
        if !names.insert(h.name()) {
            return Err(invalid(i, "name", format!("{:?} is used twice", h.name())));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Settings;

    #[test]
    fn a_hook_entry_parses_with_defaults() {
        let s = Settings::from_toml(
            "[[hooks]]\nurl = \"http://h.example/in\"\nevents = [\"upload.completed\", \"pre-complete\"]\nsecret = \"k\"\nbackoff = \"50ms\"\n",
        )
        .unwrap();
        let h = &s.hooks[0];
        assert_eq!(h.timeout, Duration::from_secs(10));
        assert_eq!(h.retries, 10);
        assert_eq!(h.backoff, Duration::from_millis(50));
        assert!(h.wants(EventKind::UploadCompleted) && !h.wants(EventKind::UploadCreated));
        assert!(h.pre_complete());
        assert!(validate(&s.hooks).is_ok());
        assert!(!format!("{s:?}").contains("\"k\""));
    }

    #[test]
    fn an_unknown_key_in_a_hook_is_an_error_naming_it() {
        let err =
            Settings::from_toml("[[hooks]]\nurl = \"http://h/\"\nevents = [\"*\"]\nretrys = 3\n")
                .unwrap_err();
        assert!(err.to_string().contains("retrys"), "{err}");
    }

    #[test]
    fn an_unknown_event_or_a_relative_url_is_rejected() {
        let bad_event = [HookSettings::new("http://h/", &["upload.done"])];
        let err = validate(&bad_event).unwrap_err().to_string();
        assert!(
            err.contains("hooks[0].events") && err.contains("upload.done"),
            "{err}"
        );
        let bad_url = [HookSettings::new("/in", &["*"])];
        assert!(validate(&bad_url)
            .unwrap_err()
            .to_string()
            .contains("hooks[0].url"));
    }

    #[test]
    fn back_off_doubles_up_to_its_ceiling() {
        let mut h = HookSettings::new("http://h/", &["*"]);
        h.backoff = Duration::from_secs(1);
        h.max_backoff = Duration::from_secs(5);
        let waits: Vec<_> = (1..=5).map(|n| h.backoff_after(n).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 5, 5]);
    }
}
