//! `[cors]`: which browser origins may call the dialects, for how long a preflight is cached, and
//! which extra response headers pages may read; `[cors.<dialect>]` overrides any of these for one
//! dialect. Unset, each dialect keeps the CORS behaviour its spec names (see `dialects/cors.rs`).

use super::values::duration;
use super::ConfigError;
use serde::{Deserialize, Deserializer};
use std::time::Duration;

/// `[cors]` and its per-dialect tables.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CorsSettings {
    /// `allowed_origins`: `["*"]` or exact origins (`"https://app.example.com"`); unset: each
    /// dialect's spec default (none for FilesNest and audioBoom); `[]`: no origin.
    pub allowed_origins: Option<Vec<String>>,
    /// `max_age`: how long a browser may cache a preflight answer.
    #[serde(deserialize_with = "duration")]
    pub max_age: Duration,
    /// `expose_headers`: response headers pages may read, beyond each dialect's own list.
    pub expose_headers: Vec<String>,
    pub filesnest: CorsOverride,
    pub dyson: CorsOverride,
    pub audioboom: CorsOverride,
    pub spika: CorsOverride,
    pub dstor: CorsOverride,
}

impl Default for CorsSettings {
    fn default() -> Self {
        CorsSettings {
            allowed_origins: None,
            max_age: Duration::from_secs(86_400),
            expose_headers: Vec::new(),
            filesnest: CorsOverride::default(),
            dyson: CorsOverride::default(),
            audioboom: CorsOverride::default(),
            spika: CorsOverride::default(),
            dstor: CorsOverride::default(),
        }
    }
}

/// `[cors.<dialect>]`: any key set here wins over `[cors]` for that dialect.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CorsOverride {
    pub allowed_origins: Option<Vec<String>>,
    #[serde(deserialize_with = "optional_duration")]
    pub max_age: Option<Duration>,
    pub expose_headers: Option<Vec<String>>,
}

fn optional_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    duration(d).map(Some)
}

/// The CORS settings in force for one dialect.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DialectCors {
    /// `None`: the dialect's spec default.
    pub allowed_origins: Option<Vec<String>>,
    pub max_age: Duration,
    pub expose_headers: Vec<String>,
}

impl CorsSettings {
    /// The settings for dialect `name` (`[cors.<name>]` over `[cors]`).
    pub fn for_dialect(&self, name: &str) -> DialectCors {
        let o = match name {
            "filesnest" => &self.filesnest,
            "dyson" => &self.dyson,
            "audioboom" => &self.audioboom,
            "spika" => &self.spika,
            "dstor" => &self.dstor,
            _ => &CorsOverride::default(),
        };
        DialectCors {
            allowed_origins: o
                .allowed_origins
                .clone()
                .or_else(|| self.allowed_origins.clone()),
            max_age: o.max_age.unwrap_or(self.max_age),
            expose_headers: o
                .expose_headers
                .clone()
                .unwrap_or_else(|| self.expose_headers.clone()),
        }
    }

    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        let tables = [
            ("cors", &self.allowed_origins),
            ("cors.filesnest", &self.filesnest.allowed_origins),
            ("cors.dyson", &self.dyson.allowed_origins),
            ("cors.audioboom", &self.audioboom.allowed_origins),
            ("cors.spika", &self.spika.allowed_origins),
            ("cors.dstor", &self.dstor.allowed_origins),
        ];
        for (table, origins) in tables {
            for origin in origins.iter().flatten() {
                if origin == "*" {
                    continue;
                }
                // An origin is scheme://host[:port], nothing more (browsers send exactly that).
                let ok = reqwest::Url::parse(origin).is_ok_and(|u| {
                    matches!(u.scheme(), "http" | "https")
                        && u.host_str().is_some()
                        && u.origin().ascii_serialization() == *origin
                });
                if !ok {
                    return Err(ConfigError::Invalid {
                        key: format!("{table}.allowed_origins"),
                        reason: format!(
                            "{origin:?} is not \"*\" or an origin like \"https://app.example.com\""
                        ),
                    });
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dialect_table_overrides_the_cors_table_key_by_key() {
        let c: CorsSettings = toml::from_str(
            r#"
            allowed_origins = ["https://a.example"]
            max_age = "1h"
            expose_headers = ["X-One"]
            [dyson]
            allowed_origins = ["*"]
            "#,
        )
        .unwrap();
        c.validate().unwrap();
        let dyson = c.for_dialect("dyson");
        assert_eq!(dyson.allowed_origins, Some(vec!["*".to_owned()]));
        assert_eq!(dyson.max_age, Duration::from_secs(3600));
        assert_eq!(dyson.expose_headers, ["X-One"]);
        assert_eq!(
            c.for_dialect("spika").allowed_origins,
            Some(vec!["https://a.example".to_owned()])
        );
        assert_eq!(
            CorsSettings::default().for_dialect("spika").allowed_origins,
            None
        );
    }

    #[test]
    fn an_origin_with_a_path_or_a_trailing_slash_is_refused() {
        for bad in [
            "https://a.example/",
            "a.example",
            "https://a.example/x",
            "ftp://a.example",
        ] {
            let c = CorsSettings {
                allowed_origins: Some(vec![bad.to_owned()]),
                ..CorsSettings::default()
            };
            assert!(c.validate().is_err(), "{bad}");
        }
    }
}
