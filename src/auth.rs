//! The one authenticator every dialect uses (specs/README.md, "One shared authenticator").
//!
//! A dialect reads the credential where its legacy clients put it (a header, a cookie, a query
//! parameter) and asks [`Authenticator::authenticate`] who it belongs to. Sources, in order:
//! 1. tokens from the config file (`[auth] tokens`) and the tokens file (`auth.tokens_file`);
//! 2. the legacy backend's introspection endpoint (`auth.introspect_url`), answers cached for
//!    `auth.introspect_cache`.
//!
//! With no credential source configured at all, the first start generates a dev token (principal
//! `dev`, also an admin token), stores it in `<data_dir>/dev-token` and later starts reuse it.
//!
//! Tokens are held as SHA-256 digests, so a lookup does not compare secret bytes one by one and
//! the token values are never kept in memory beyond loading.

mod introspect;

use crate::config::AuthSettings;
use crate::engine::Principal;
use introspect::Introspector;
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Name of the dev-token file inside the data dir.
pub const DEV_TOKEN_FILE: &str = "dev-token";
/// Principal of the generated dev token.
pub const DEV_PRINCIPAL: &str = "dev";

/// Who a credential belongs to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuthOutcome {
    /// A known credential.
    Principal(Principal),
    /// Unknown, malformed or empty (and, when the introspection endpoint is unreachable,
    /// anything it would have had to decide).
    Invalid,
    /// Known to the legacy backend but expired (only introspection can tell).
    Expired,
}

/// The shared authenticator. Cheap to clone.
#[derive(Clone)]
pub struct Authenticator {
    inner: Arc<Inner>,
}

struct Inner {
    /// SHA-256 of a token → its principal.
    tokens: HashMap<[u8; 32], Principal>,
    /// SHA-256 of each admin token.
    admins: HashSet<[u8; 32]>,
    introspector: Option<Introspector>,
}

/// What happened to the dev token at start.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DevToken {
    /// Credentials are configured; no dev token.
    NotUsed,
    /// Generated on this start: the caller prints it once.
    Generated { token: String, path: PathBuf },
    /// Read back from the data dir (not printed again).
    Reused { path: PathBuf },
}

/// Why the authenticator could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The tokens file or the dev-token file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A line of the tokens file is not `<token> <principal>`.
    #[error("{path} line {line}: expected `<token> <principal>`")]
    TokensFileSyntax { path: PathBuf, line: usize },
    /// The same token is given twice with different principals.
    #[error("a token is configured twice, for principals `{first}` and `{second}`")]
    DuplicateToken { first: String, second: String },
    /// The dev-token file exists but is empty.
    #[error("{path} is empty; delete it to generate a new dev token")]
    EmptyDevToken { path: PathBuf },
    /// The HTTP client for introspection could not be built.
    #[error("introspection client: {0}")]
    Client(String),
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

impl Authenticator {
    /// Loads every configured source; with none, creates or reuses the dev token in `data_dir`
    /// (which must exist).
    pub fn from_settings(
        settings: &AuthSettings,
        data_dir: &Path,
    ) -> Result<(Authenticator, DevToken), AuthError> {
        let mut tokens = HashMap::new();
        let mut admins: HashSet<[u8; 32]> = settings
            .admin_tokens
            .iter()
            .map(|t| digest(t.expose()))
            .collect();

        let mut add = |token: &str, principal: &str| -> Result<(), AuthError> {
            let principal = Principal::new(principal);
            match tokens.insert(digest(token), principal.clone()) {
                Some(first) if first != principal => Err(AuthError::DuplicateToken {
                    first: first.0,
                    second: principal.0,
                }),
                _ => Ok(()),
            }
        };
        for entry in &settings.tokens {
            add(entry.token.expose(), &entry.principal)?;
        }
        if let Some(path) = &settings.tokens_file {
            for (token, principal) in read_tokens_file(path)? {
                add(&token, &principal)?;
            }
        }

        let dev = if settings.has_no_credentials() {
            let (token, dev) = dev_token(data_dir)?;
            add(&token, DEV_PRINCIPAL)?;
            admins.insert(digest(&token));
            dev
        } else {
            DevToken::NotUsed
        };

        let introspector = match &settings.introspect_url {
            Some(url) => Some(Introspector::new(
                url,
                settings.introspect_cache,
                settings.introspect_timeout,
            )?),
            None => None,
        };

        let inner = Inner {
            tokens,
            admins,
            introspector,
        };
        Ok((
            Authenticator {
                inner: Arc::new(inner),
            },
            dev,
        ))
    }

    /// Who `credential` belongs to. Configured tokens are checked first, then introspection.
    pub async fn authenticate(&self, credential: &str) -> AuthOutcome {
        if credential.is_empty() {
            return AuthOutcome::Invalid;
        }
        let key = digest(credential);
        if let Some(principal) = self.inner.tokens.get(&key) {
            return AuthOutcome::Principal(principal.clone());
        }
        match &self.inner.introspector {
            Some(introspector) => introspector.check(credential, key).await,
            None => AuthOutcome::Invalid,
        }
    }

    /// True when `credential` is an admin token (operator API).
    pub fn is_admin(&self, credential: &str) -> bool {
        !credential.is_empty() && self.inner.admins.contains(&digest(credential))
    }
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("tokens", &self.inner.tokens.len())
            .field("admin_tokens", &self.inner.admins.len())
            .field("introspection", &self.inner.introspector.is_some())
            .finish()
    }
}

/// Reads `<token> <principal>` lines; blank lines and lines starting with `#` are skipped.
/// The token is the first whitespace-separated word; the principal is the rest of the line.
fn read_tokens_file(path: &Path) -> Result<Vec<(String, String)>, AuthError> {
    let text = std::fs::read_to_string(path).map_err(|source| AuthError::Io {
        path: path.to_owned(),
        source,
    })?;
    parse_tokens(&text).map_err(|line| AuthError::TokensFileSyntax {
        path: path.to_owned(),
        line,
    })
}

/// Parses tokens-file text; `Err` holds the 1-based number of the first bad line.
fn parse_tokens(text: &str) -> Result<Vec<(String, String)>, usize> {
    let mut pairs = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (token, principal) = line.split_once(char::is_whitespace).ok_or(n + 1)?;
        let principal = principal.trim();
        if principal.is_empty() {
            return Err(n + 1);
        }
        pairs.push((token.to_owned(), principal.to_owned()));
    }
    Ok(pairs)
}

/// Reads `<data_dir>/dev-token`, or creates it (mode 0600) with a fresh random token.
fn dev_token(data_dir: &Path) -> Result<(String, DevToken), AuthError> {
    use std::io::Write;

    let path = data_dir.join(DEV_TOKEN_FILE);
    let io = |source| AuthError::Io {
        path: path.clone(),
        source,
    };
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let token = text.trim().to_owned();
            if token.is_empty() {
                return Err(AuthError::EmptyDevToken { path });
            }
            return Ok((token, DevToken::Reused { path }));
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io(e)),
    }

    let token = generate_token();
    let mut options = std::fs::OpenOptions::new();
    // create_new: two servers starting at once on one data dir cannot both write a token.
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&path).map_err(io)?;
    file.write_all(format!("{token}\n").as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(io)?;
    Ok((token.clone(), DevToken::Generated { token, path }))
}

/// A random token of 40 alphanumerics (~238 bits), safe in headers, cookies and query strings.
fn generate_token() -> String {
    use rand::distributions::{Alphanumeric, DistString};
    format!(
        "cgdev_{}",
        Alphanumeric.sample_string(&mut rand::thread_rng(), 40)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Secret, TokenEntry};

    fn settings(tokens: &[(&str, &str)], admins: &[&str]) -> AuthSettings {
        AuthSettings {
            tokens: tokens
                .iter()
                .map(|(t, p)| TokenEntry {
                    token: Secret::new(*t),
                    principal: (*p).into(),
                })
                .collect(),
            admin_tokens: admins.iter().map(|t| Secret::new(*t)).collect(),
            ..AuthSettings::default()
        }
    }

    #[test]
    fn the_tokens_file_format_is_token_then_principal() {
        let text = "# comment\n\nabc alice\n  12|Xy  bob smith \n";
        assert_eq!(
            parse_tokens(text).unwrap(),
            vec![
                ("abc".into(), "alice".into()),
                ("12|Xy".into(), "bob smith".into())
            ]
        );
        assert_eq!(parse_tokens("ok alice\nlonely\n"), Err(2));
    }

    #[tokio::test]
    async fn configured_tokens_map_to_their_principal() {
        let dir = tempfile::tempdir().unwrap();
        let (auth, dev) =
            Authenticator::from_settings(&settings(&[("t1", "alice")], &[]), dir.path()).unwrap();

        assert_eq!(dev, DevToken::NotUsed);
        assert_eq!(
            auth.authenticate("t1").await,
            AuthOutcome::Principal(Principal::new("alice"))
        );
        assert_eq!(auth.authenticate("t2").await, AuthOutcome::Invalid);
        assert_eq!(auth.authenticate("").await, AuthOutcome::Invalid);
        assert!(!dir.path().join(DEV_TOKEN_FILE).exists());
    }

    #[tokio::test]
    async fn tokens_file_entries_are_accepted() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("tokens");
        std::fs::write(&file, "ft carol\n").unwrap();
        let s = AuthSettings {
            tokens_file: Some(file),
            ..AuthSettings::default()
        };

        let (auth, _) = Authenticator::from_settings(&s, dir.path()).unwrap();

        assert_eq!(
            auth.authenticate("ft").await,
            AuthOutcome::Principal(Principal::new("carol"))
        );
    }

    #[test]
    fn admin_tokens_are_separate_from_user_tokens() {
        let dir = tempfile::tempdir().unwrap();
        let (auth, _) =
            Authenticator::from_settings(&settings(&[("u", "alice")], &["a"]), dir.path()).unwrap();

        assert!(auth.is_admin("a"));
        assert!(!auth.is_admin("u"));
        assert!(!auth.is_admin(""));
    }

    #[test]
    fn one_token_for_two_principals_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let s = settings(&[("t", "alice"), ("t", "bob")], &[]);
        assert!(matches!(
            Authenticator::from_settings(&s, dir.path()),
            Err(AuthError::DuplicateToken { .. })
        ));
    }

    #[tokio::test]
    async fn without_credentials_a_dev_token_is_generated_once_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let none = AuthSettings::default();

        let (auth, first) = Authenticator::from_settings(&none, dir.path()).unwrap();
        let (_, second) = Authenticator::from_settings(&none, dir.path()).unwrap();

        let DevToken::Generated { token, path } = first else {
            panic!("expected a generated token, got {first:?}");
        };
        assert_eq!(second, DevToken::Reused { path: path.clone() });
        assert_eq!(std::fs::read_to_string(&path).unwrap().trim(), token);
        assert_eq!(
            auth.authenticate(&token).await,
            AuthOutcome::Principal(Principal::new(DEV_PRINCIPAL))
        );
        assert!(auth.is_admin(&token));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
