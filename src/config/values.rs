//! Value types and parsers shared by all settings: secrets, byte sizes, durations.

use serde::{de, Deserialize, Deserializer};
use std::fmt;
use std::time::Duration;

/// A secret string (token, signing secret). `Debug` and `Display` print `[redacted]`, so a
/// secret never reaches a log line; call [`Secret::expose`] where the value is really needed.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret value itself.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// A byte count: an integer (`1048576`) or a string with a unit (`"1 GiB"`, `"100 MB"`;
/// binary units are powers of 1024, decimal ones powers of 1000).
pub fn byte_size<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    bytesize::ByteSize::deserialize(d).map(|b| b.as_u64())
}

/// A duration: an integer number of seconds (`3600`) or a humantime string (`"1h"`, `"90m"`,
/// `"24h"`, `"365days"`).
pub fn duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    struct Visitor;
    impl de::Visitor<'_> for Visitor {
        type Value = Duration;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a number of seconds or a duration string such as \"24h\"")
        }

        fn visit_u64<E: de::Error>(self, secs: u64) -> Result<Duration, E> {
            Ok(Duration::from_secs(secs))
        }

        fn visit_i64<E: de::Error>(self, secs: i64) -> Result<Duration, E> {
            u64::try_from(secs)
                .map(Duration::from_secs)
                .map_err(|_| E::invalid_value(de::Unexpected::Signed(secs), &self))
        }

        fn visit_str<E: de::Error>(self, s: &str) -> Result<Duration, E> {
            humantime::parse_duration(s).map_err(|e| E::custom(format!("{s:?}: {e}")))
        }
    }
    d.deserialize_any(Visitor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct Probe {
        #[serde(deserialize_with = "duration")]
        d: Duration,
        #[serde(deserialize_with = "byte_size")]
        b: u64,
    }

    fn probe(text: &str) -> Result<Probe, toml::de::Error> {
        toml::from_str(text)
    }

    #[test]
    fn durations_parse_from_seconds_and_strings() {
        for (input, secs) in [
            ("3600", 3600),
            ("\"24h\"", 86400),
            ("\"365days\"", 31_536_000),
        ] {
            let p = probe(&format!("d = {input}\nb = 0")).unwrap();
            assert_eq!(p.d, Duration::from_secs(secs), "{input}");
        }
    }

    #[test]
    fn negative_or_garbled_durations_are_rejected() {
        assert!(probe("d = -1\nb = 0").is_err());
        assert!(probe("d = \"soon\"\nb = 0").is_err());
    }

    #[test]
    fn byte_sizes_parse_from_numbers_and_units() {
        for (input, bytes) in [
            ("5", 5),
            ("\"1 GiB\"", 1 << 30),
            ("\"100 MB\"", 100_000_000),
            ("\"64KiB\"", 65536),
        ] {
            let p = probe(&format!("d = 0\nb = {input}")).unwrap();
            assert_eq!(p.b, bytes, "{input}");
        }
    }

    #[test]
    fn secrets_are_redacted_in_debug_and_display() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?} {s}"), "[redacted] [redacted]");
        assert_eq!(s.expose(), "hunter2");
    }
}
