//! `[dialects.<name>]` tables: `enabled`, `prefix`, and the keys each spec names as
//! `<module>.<key>` (specs/*.md, sections "Limits"), with the specs' defaults.

use super::values::{byte_size, duration, Secret};
use super::ConfigError;
use serde::Deserialize;
use std::time::Duration;

const DAY: Duration = Duration::from_secs(24 * 3600);

/// The keys every dialect table has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DialectCommon<'a> {
    /// `enabled` (default `true`): mount the dialect's routes.
    pub enabled: bool,
    /// `prefix` (default `""`): prepended to every route of the dialect, e.g. `"/legacy"`.
    pub prefix: &'a str,
}

/// Declares one dialect's settings struct with the common keys, the given keys and their
/// defaults, and `deny_unknown_fields` (serde's `flatten` would lose that, hence a macro).
macro_rules! dialect_settings {
    (
        $(#[$meta:meta])*
        $name:ident {
            $( $(#[$fmeta:meta])* $field:ident : $ty:ty = $default:expr, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, Deserialize)]
        #[serde(deny_unknown_fields, default)]
        pub struct $name {
            /// `enabled`: mount this dialect (default `true`).
            pub enabled: bool,
            /// `prefix`: path prefix for all of this dialect's routes (default `""`).
            pub prefix: String,
            $( $(#[$fmeta])* pub $field: $ty, )*
        }

        impl Default for $name {
            fn default() -> Self {
                $name {
                    enabled: true,
                    prefix: String::new(),
                    $( $field: $default, )*
                }
            }
        }

        impl $name {
            pub fn common(&self) -> DialectCommon<'_> {
                DialectCommon { enabled: self.enabled, prefix: &self.prefix }
            }
        }
    };
}

dialect_settings! {
    /// `[dialects.filesnest]` (specs/filesnest.md §7).
    FilesnestSettings {
        /// Largest chunk body, also published by `GET /api/settings`.
        #[serde(deserialize_with = "byte_size")]
        upload_max_size: u64 = 104_857_600,
        /// Largest JSON body of create, update and search.
        #[serde(deserialize_with = "byte_size")]
        max_json_bytes: u64 = 1_048_576,
        /// Largest `chunks_count`.
        max_chunks: u64 = 10_000,
    }
}

dialect_settings! {
    /// `[dialects.dyson]` (specs/dyson.md §10).
    DysonSettings {
        /// Upper bound for `chunk_size`; a chunk body may be this plus 1 MiB.
        #[serde(deserialize_with = "byte_size")]
        max_chunk_size: u64 = 67_108_864,
        /// Upper bound for `chunks_count`.
        max_chunks: u64 = 10_000,
        /// Largest `file_size`; 0 means unlimited.
        #[serde(deserialize_with = "byte_size")]
        max_file_bytes: u64 = 0,
        /// Largest create body.
        #[serde(deserialize_with = "byte_size")]
        max_json_bytes: u64 = 65_536,
        /// Unfinished tasks expire this long after their last request.
        #[serde(deserialize_with = "duration")]
        task_ttl: Duration = DAY,
        /// Which files `file_exists` de-duplicates against.
        dedup_scope: DedupScope = DedupScope::Principal,
    }
}

dialect_settings! {
    /// `[dialects.audioboom]` (specs/audioboom.md §8).
    AudioboomSettings {
        /// Largest request body.
        #[serde(deserialize_with = "byte_size")]
        max_request_bytes: u64 = 8_388_608,
        /// Largest `attachment[size]`.
        #[serde(deserialize_with = "byte_size")]
        max_attachment_bytes: u64 = 2_147_483_648,
        /// Unreferenced attachments are removed this long after their last change.
        #[serde(deserialize_with = "duration")]
        attachment_ttl: Duration = DAY,
        /// `false`: signed-parameter requests are checked by key only.
        verify_signatures: bool = true,
        /// Legacy signed-parameter keys.
        signing_keys: Vec<SigningKey> = Vec::new(),
        /// Absolute base used for signatures and `urls`; absent: `http://` + `Host`.
        public_base_url: Option<String> = None,
    }
}

dialect_settings! {
    /// `[dialects.spika]` (specs/spika.md §8).
    SpikaSettings {
        /// Largest JSON body.
        #[serde(deserialize_with = "byte_size")]
        max_json_bytes: u64 = 52_428_800,
        /// Upper bound for `offset` / `total`.
        max_chunks: u64 = 100_000,
        /// Unverified chunks are removed after this much inactivity.
        #[serde(deserialize_with = "duration")]
        upload_ttl: Duration = DAY,
        /// `false`: no credential is read; everything belongs to `anonymous`.
        auth: bool = true,
    }
}

dialect_settings! {
    /// `[dialects.dstor]` (specs/dstor.md §9).
    DstorSettings {
        /// Upper bound for the declared number of requests.
        max_chunks: u64 = 10_000,
        /// Largest request body.
        #[serde(deserialize_with = "byte_size")]
        max_request_bytes: u64 = 1_073_741_824,
        /// Largest get-token body (JSON); larger → 413. Not in the spec, which names no JSON
        /// limit; kept configurable like every other dialect's.
        #[serde(deserialize_with = "byte_size")]
        max_json_bytes: u64 = 65_536,
        /// Most files in one upload.
        max_files: u64 = 100_000,
        /// Access tokens minted by `temp-token` live at most this long.
        #[serde(deserialize_with = "duration")]
        max_token_lifetime: Duration = Duration::from_secs(31_536_000),
        /// Uploads expire this long after their last request (or after finishing).
        #[serde(deserialize_with = "duration")]
        upload_ttl: Duration = DAY,
        /// `false`: `/ipfs/...` reads need the owner's Bearer token.
        public_gateway: bool = true,
    }
}

/// `dyson.dedup_scope`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DedupScope {
    /// Only the caller's own files (default; existence of others' files never leaks).
    #[default]
    Principal,
    /// All files, as the original did; reveals that someone holds a file with that hash.
    Global,
}

/// One `audioboom.signing_keys` entry.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SigningKey {
    pub key: String,
    pub secret: Secret,
    pub principal: String,
}

/// `[dialects]`: one table per dialect; an unknown dialect name is an error.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DialectsSettings {
    pub filesnest: FilesnestSettings,
    pub dyson: DysonSettings,
    pub audioboom: AudioboomSettings,
    pub spika: SpikaSettings,
    pub dstor: DstorSettings,
}

impl DialectsSettings {
    /// Every dialect's name and common keys, in mount order.
    pub fn all(&self) -> [(&'static str, DialectCommon<'_>); 5] {
        [
            ("filesnest", self.filesnest.common()),
            ("dyson", self.dyson.common()),
            ("audioboom", self.audioboom.common()),
            ("spika", self.spika.common()),
            ("dstor", self.dstor.common()),
        ]
    }

    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        for (name, common) in self.all() {
            let p = common.prefix;
            if !p.is_empty() && (!p.starts_with('/') || p.ends_with('/') || p.contains("//")) {
                return Err(ConfigError::Invalid {
                    key: format!("dialects.{name}.prefix"),
                    reason: format!("{p:?} must be empty or start with `/` and not end with `/`"),
                });
            }
        }
        if let Some(url) = &self.audioboom.public_base_url {
            if !reqwest::Url::parse(url).is_ok_and(|u| matches!(u.scheme(), "http" | "https")) {
                return Err(ConfigError::Invalid {
                    key: "dialects.audioboom.public_base_url".into(),
                    reason: "must be an absolute http(s) URL".into(),
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dialect_defaults_follow_the_specs() {
        let d = DialectsSettings::default();
        assert_eq!(d.dyson.max_chunk_size, 67_108_864);
        assert_eq!(d.dyson.max_file_bytes, 0);
        assert_eq!(d.dyson.dedup_scope, DedupScope::Principal);
        assert_eq!(d.audioboom.max_attachment_bytes, 2_147_483_648);
        assert!(d.audioboom.verify_signatures);
        assert_eq!(d.spika.max_chunks, 100_000);
        assert!(d.spika.auth);
        assert_eq!(d.dstor.max_token_lifetime, Duration::from_secs(31_536_000));
        assert!(d
            .all()
            .iter()
            .all(|(_, c)| c.enabled && c.prefix.is_empty()));
    }

    #[test]
    fn dialect_tables_parse_every_key() {
        let text = r#"
            [filesnest]
            enabled = false
            prefix = "/fn"
            upload_max_size = "50 MiB"
            [dyson]
            dedup_scope = "global"
            task_ttl = "2h"
            [audioboom]
            signing_keys = [{ key = "k", secret = "s", principal = "p" }]
            public_base_url = "http://api.example.com"
            [spika]
            auth = false
            [dstor]
            public_gateway = false
            max_token_lifetime = 60
        "#;
        let d: DialectsSettings = toml::from_str(text).unwrap();
        assert_eq!(
            d.filesnest.common(),
            DialectCommon {
                enabled: false,
                prefix: "/fn"
            }
        );
        assert_eq!(d.filesnest.upload_max_size, 50 << 20);
        assert_eq!(d.dyson.dedup_scope, DedupScope::Global);
        assert_eq!(d.dyson.task_ttl, Duration::from_secs(7200));
        assert_eq!(d.audioboom.signing_keys[0].secret.expose(), "s");
        assert!(!d.spika.auth);
        assert!(!d.dstor.public_gateway);
        assert_eq!(d.dstor.max_token_lifetime, Duration::from_secs(60));
        d.validate().unwrap();
    }
}
