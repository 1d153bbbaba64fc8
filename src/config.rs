//! Settings: built-in defaults, then a TOML file, then environment variables, then command-line
//! flags (each layer overrides the one before). Every key is listed in `docs/configuration.md`.
//!
//! Unknown keys are an error at start (`deny_unknown_fields` on every table), so a typo never
//! silently falls back to a default. Secrets (tokens, signing secrets) are wrapped in [`Secret`],
//! whose `Debug` never shows the value, so settings can be logged.

mod cors;
mod dialects;
mod hooks;
mod values;

pub use cors::{CorsOverride, CorsSettings, DialectCors};
pub use dialects::{
    AudioboomSettings, DedupScope, DialectCommon, DialectsSettings, DstorSettings, DysonSettings,
    FilesnestSettings, SigningKey, SpikaSettings,
};
pub use hooks::{HookSettings, PRE_COMPLETE};
pub use values::Secret;

use crate::engine::{Durability, EngineConfig};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::time::Duration;
use values::{byte_size, duration};

/// Everything the server needs to start. Field docs name the TOML key.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// `listen`: address to bind, `HOST:PORT`; port 0 picks a free port.
    pub listen: String,
    /// `data_dir`: where the metadata store, blobs, spool files and the dev token live.
    pub data_dir: PathBuf,
    /// `durability`: `"strict"` (fsync before acknowledging a chunk) or `"relaxed"`.
    pub durability: Durability,
    /// `upload_ttl`: uploads idle longer than this are swept.
    #[serde(deserialize_with = "duration")]
    pub upload_ttl: Duration,
    /// `min_free_space`: below this many free bytes on the data volume, new data is refused.
    #[serde(deserialize_with = "byte_size")]
    pub min_free_space: u64,
    /// `max_upload_size`: largest file any dialect may assemble (0 = unlimited).
    #[serde(deserialize_with = "byte_size")]
    pub max_upload_size: u64,
    /// `max_open_uploads_per_principal`: most unfinished uploads one principal may hold at once
    /// (0 = unlimited).
    pub max_open_uploads_per_principal: u64,
    /// `public_base_url`: the externally visible base URL (behind a proxy), e.g.
    /// `https://files.example.com`; used where a dialect must print absolute URLs.
    pub public_base_url: Option<String>,
    /// `request_timeout`: how long a client may take to send a request head before the
    /// connection is dropped (slow-client protection).
    #[serde(deserialize_with = "duration")]
    pub request_timeout: Duration,
    /// `body_timeout`: a request body must bring 1 KiB (or its end) within this time, or the
    /// request fails as cut off (slow-client protection for bodies; `request_timeout` covers
    /// the head).
    #[serde(deserialize_with = "duration")]
    pub body_timeout: Duration,
    /// `sweep_interval`: how often expired uploads and files are looked for.
    #[serde(deserialize_with = "duration")]
    pub sweep_interval: Duration,
    /// `shutdown_timeout`: on SIGTERM/ctrl-c, how long in-flight requests may run before they
    /// are cut off.
    #[serde(deserialize_with = "duration")]
    pub shutdown_timeout: Duration,
    /// `[auth]`: the shared authenticator.
    pub auth: AuthSettings,
    /// `[dialects.<name>]`: one table per dialect.
    pub dialects: DialectsSettings,
    /// `[cors]`: browser origins allowed to call the dialects (`[cors.<dialect>]` overrides).
    pub cors: CorsSettings,
    /// `[[hooks]]`: webhook subscribers (docs/webhooks.md).
    pub hooks: Vec<HookSettings>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            listen: "127.0.0.1:8080".into(),
            data_dir: PathBuf::from("./data"),
            durability: Durability::Strict,
            upload_ttl: Duration::from_secs(24 * 3600),
            min_free_space: 1 << 30,
            max_upload_size: 10 << 30,
            max_open_uploads_per_principal: 1000,
            public_base_url: None,
            request_timeout: Duration::from_secs(60),
            body_timeout: Duration::from_secs(60),
            sweep_interval: Duration::from_secs(60),
            shutdown_timeout: Duration::from_secs(30),
            auth: AuthSettings::default(),
            dialects: DialectsSettings::default(),
            cors: CorsSettings::default(),
            hooks: Vec::new(),
        }
    }
}

/// `[auth]`: where credentials come from. See `src/auth.rs` for how they are checked.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthSettings {
    /// `tokens = [{ token = "...", principal = "alice" }]`.
    pub tokens: Vec<TokenEntry>,
    /// `tokens_file`: a text file with one `<token> <principal>` pair per line.
    pub tokens_file: Option<PathBuf>,
    /// `admin_tokens = ["..."]`: tokens for the operator API (`/gateway/v1`).
    pub admin_tokens: Vec<Secret>,
    /// `introspect_url`: the legacy backend's token check (protocol in docs/configuration.md).
    pub introspect_url: Option<String>,
    /// `introspect_cache`: how long an introspection answer is reused.
    #[serde(deserialize_with = "duration")]
    pub introspect_cache: Duration,
    /// `introspect_timeout`: how long to wait for the introspection endpoint.
    #[serde(deserialize_with = "duration")]
    pub introspect_timeout: Duration,
}

impl Default for AuthSettings {
    fn default() -> Self {
        AuthSettings {
            tokens: Vec::new(),
            tokens_file: None,
            admin_tokens: Vec::new(),
            introspect_url: None,
            introspect_cache: Duration::from_secs(60),
            introspect_timeout: Duration::from_secs(5),
        }
    }
}

impl AuthSettings {
    /// True when no source of user credentials is configured: the server then runs with a
    /// generated dev token.
    pub fn has_no_credentials(&self) -> bool {
        self.tokens.is_empty() && self.tokens_file.is_none() && self.introspect_url.is_none()
    }
}

/// One `[[auth.tokens]]` entry.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenEntry {
    pub token: Secret,
    pub principal: String,
}

/// Values given on the command line or in the environment; `None` keeps the file's value.
/// clap fills these (a flag wins over its environment variable), so applying them last gives
/// flags > env > file > defaults.
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    pub listen: Option<String>,
    pub data_dir: Option<PathBuf>,
}

/// Why settings could not be loaded. Messages name the file and, for a bad key, the key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The config file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The config file is not valid TOML or has an unknown key or a wrong type.
    #[error("invalid config file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    /// A value parsed but makes no sense (e.g. a prefix without a leading `/`).
    #[error("invalid setting `{key}`: {reason}")]
    Invalid { key: String, reason: String },
}

impl Settings {
    /// Defaults, then `file` (if given), then `overrides`.
    pub fn load(file: Option<&Path>, overrides: &Overrides) -> Result<Settings, ConfigError> {
        let mut settings = match file {
            None => Settings::default(),
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.to_owned(),
                    source,
                })?;
                Settings::from_toml(&text).map_err(|e| ConfigError::Parse {
                    path: path.to_owned(),
                    message: e.to_string(),
                })?
            }
        };
        settings.apply(overrides);
        settings.validate()?;
        Ok(settings)
    }

    /// Parses a config file's text over the defaults.
    pub fn from_toml(text: &str) -> Result<Settings, toml::de::Error> {
        toml::from_str(text)
    }

    /// Applies command-line / environment values.
    pub fn apply(&mut self, overrides: &Overrides) {
        if let Some(listen) = &overrides.listen {
            self.listen.clone_from(listen);
        }
        if let Some(dir) = &overrides.data_dir {
            self.data_dir.clone_from(dir);
        }
    }

    /// Checks values that parse but cannot work.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |key: &str, reason: &str| ConfigError::Invalid {
            key: key.to_owned(),
            reason: reason.to_owned(),
        };
        for (key, url) in [
            ("public_base_url", &self.public_base_url),
            ("auth.introspect_url", &self.auth.introspect_url),
        ] {
            if let Some(url) = url {
                match reqwest::Url::parse(url) {
                    Ok(u) if matches!(u.scheme(), "http" | "https") => {}
                    _ => return Err(invalid(key, "must be an absolute http(s) URL")),
                }
            }
        }
        for entry in &self.auth.tokens {
            if entry.token.expose().trim().is_empty() || entry.principal.trim().is_empty() {
                return Err(invalid(
                    "auth.tokens",
                    "token and principal must not be empty",
                ));
            }
        }
        if self
            .auth
            .admin_tokens
            .iter()
            .any(|t| t.expose().trim().is_empty())
        {
            return Err(invalid("auth.admin_tokens", "tokens must not be empty"));
        }
        self.cors.validate()?;
        // Zero would cut off every body before its first byte.
        if self.body_timeout.is_zero() {
            return Err(invalid("body_timeout", "must be longer than zero"));
        }
        hooks::validate(&self.hooks)?;
        self.dialects.validate()
    }

    /// The engine's part of the settings.
    pub fn engine_config(&self) -> EngineConfig {
        EngineConfig {
            data_dir: self.data_dir.clone(),
            durability: self.durability,
            upload_ttl: self.upload_ttl,
            min_free_space: self.min_free_space,
            max_upload_size: self.max_upload_size,
            sweep_interval: self.sweep_interval,
            max_open_uploads_per_owner: self.max_open_uploads_per_principal,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_file_gives_the_defaults() {
        let s = Settings::from_toml("").unwrap();
        assert_eq!(s.listen, "127.0.0.1:8080");
        assert_eq!(s.data_dir, PathBuf::from("./data"));
        assert_eq!(s.durability, Durability::Strict);
        assert_eq!(s.upload_ttl, Duration::from_secs(86400));
        assert_eq!(s.min_free_space, 1 << 30);
        assert_eq!(s.max_upload_size, 10 << 30);
        assert_eq!(s.max_open_uploads_per_principal, 1000);
        assert_eq!(s.auth.introspect_cache, Duration::from_secs(60));
        assert_eq!(s.dialects.filesnest.upload_max_size, 104_857_600);
        assert!(s.dialects.dstor.enabled);
    }

    #[test]
    fn the_file_overrides_defaults_and_overrides_override_the_file() {
        let text = "listen = \"0.0.0.0:9000\"\ndata_dir = \"/srv/file\"\n";
        let mut s = Settings::from_toml(text).unwrap();
        assert_eq!(s.listen, "0.0.0.0:9000");

        s.apply(&Overrides {
            listen: Some("127.0.0.1:0".into()),
            data_dir: None,
        });

        assert_eq!(s.listen, "127.0.0.1:0");
        assert_eq!(s.data_dir, PathBuf::from("/srv/file"));
    }

    #[test]
    fn sizes_and_durations_accept_numbers_and_human_strings() {
        let text = r#"
            min_free_space = "1 GiB"
            max_upload_size = 1000
            upload_ttl = "90m"
            request_timeout = 5
            body_timeout = "2m"
            durability = "relaxed"
        "#;
        let s = Settings::from_toml(text).unwrap();
        assert_eq!(s.min_free_space, 1 << 30);
        assert_eq!(s.max_upload_size, 1000);
        assert_eq!(s.upload_ttl, Duration::from_secs(90 * 60));
        assert_eq!(s.request_timeout, Duration::from_secs(5));
        assert_eq!(s.body_timeout, Duration::from_secs(120));
        assert_eq!(s.durability, Durability::Relaxed);
    }

    #[test]
    fn an_unknown_top_level_key_is_an_error_naming_the_key() {
        let err = Settings::from_toml("listne = \"x\"").unwrap_err();
        assert!(err.to_string().contains("listne"), "{err}");
    }

    #[test]
    fn an_unknown_key_in_a_dialect_table_is_an_error_naming_the_key() {
        let err = Settings::from_toml("[dialects.dyson]\nmax_chunk_sise = 5\n").unwrap_err();
        assert!(err.to_string().contains("max_chunk_sise"), "{err}");
    }

    #[test]
    fn an_unknown_dialect_is_an_error_naming_it() {
        let err = Settings::from_toml("[dialects.tus]\nenabled = true\n").unwrap_err();
        assert!(err.to_string().contains("tus"), "{err}");
    }

    #[test]
    fn a_bad_durability_is_an_error() {
        assert!(Settings::from_toml("durability = \"sometimes\"").is_err());
    }

    #[test]
    fn tokens_never_appear_in_debug_output() {
        let text = r#"
            [auth]
            tokens = [{ token = "s3cr3t-user", principal = "alice" }]
            admin_tokens = ["s3cr3t-admin"]
            [dialects.audioboom]
            signing_keys = [{ key = "k1", secret = "s3cr3t-signing", principal = "bob" }]
        "#;
        let s = Settings::from_toml(text).unwrap();
        let shown = format!("{s:?}");
        assert!(!shown.contains("s3cr3t"), "{shown}");
        assert!(shown.contains("alice"));
    }

    #[test]
    fn load_names_the_file_in_its_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.toml");
        std::fs::write(&path, "bogus = 1\n").unwrap();

        let err = Settings::load(Some(&path), &Overrides::default()).unwrap_err();

        let msg = err.to_string();
        assert!(msg.contains("bad.toml") && msg.contains("bogus"), "{msg}");
    }

    #[test]
    fn a_prefix_without_a_leading_slash_is_rejected() {
        let s = Settings::from_toml("[dialects.spika]\nprefix = \"spika\"\n").unwrap();
        let err = s.validate().unwrap_err();
        assert!(err.to_string().contains("dialects.spika.prefix"), "{err}");
    }

    #[test]
    fn engine_config_carries_the_storage_settings() {
        let s = Settings::from_toml(
            "data_dir = \"/d\"\nmin_free_space = 7\nmax_open_uploads_per_principal = 3\n",
        )
        .unwrap();
        let e = s.engine_config();
        assert_eq!(e.data_dir, PathBuf::from("/d"));
        assert_eq!(e.min_free_space, 7);
        assert_eq!(e.max_open_uploads_per_owner, 3);
    }
}
