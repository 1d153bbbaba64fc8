//! Who is asking (specs/audioboom.md §4): an OAuth 2 Bearer token, checked before the body is
//! read, or the Android v200 app's signed parameters, checked once the body has arrived since
//! the signature covers the chunk's bytes.

use super::body::{self, BodyError, DirectPlan, Form};
use super::error::AudioboomError;
use super::params::{Params, Value};
use super::State;
use crate::auth::AuthOutcome;
use crate::engine::{Principal, Staged};
use actix_web::http::header;
use actix_web::{web, HttpRequest};
use futures_util::StreamExt;
use sha1::{Digest, Sha1};

/// The Bearer principal, if the request has a Bearer token: checked before any byte of the
/// body is read (§4). A wrong token is refused at once.
pub async fn bearer_principal(
    req: &HttpRequest,
    state: &State,
) -> Result<Option<Principal>, AudioboomError> {
    match bearer(req) {
        Some(token) => check_bearer(state, token).await.map(Some),
        None => Ok(None),
    }
}

/// Reads the body and settles who is asking: the Bearer principal found before, or else the
/// signed parameters (§4). Authentication runs before any other check, so when the body cannot
/// be read and there is no Bearer token, the credential question is answered first.
pub async fn authenticate(
    req: &HttpRequest,
    payload: web::Payload,
    state: &State,
    bearer: Option<Principal>,
    plan: Option<DirectPlan<'_>>,
) -> Result<(Principal, Form), AudioboomError> {
    let limit = state.settings.max_request_bytes;
    match body::read(req, payload, &state.engine, limit, plan).await {
        Ok(form) => {
            let principal = match bearer {
                Some(p) => p,
                None => check_signed(state, req, &form).await?,
            };
            Ok((principal, form))
        }
        Err(e) => {
            if bearer.is_none() {
                check_query_only(state, req)?;
            }
            Err(match e {
                BodyError::Malformed => AudioboomError::Malformed,
                BodyError::TooLarge => AudioboomError::TooLarge,
                BodyError::Engine(e) => AudioboomError::engine(e, AudioboomError::Internal(None)),
            })
        }
    }
}

/// The token of `Authorization: Bearer <token>`, if that is the header's scheme.
pub fn bearer(req: &HttpRequest) -> Option<&str> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// Asks the shared authenticator about a Bearer token.
pub async fn check_bearer(state: &State, token: &str) -> Result<Principal, AudioboomError> {
    match state.auth.authenticate(token).await {
        AuthOutcome::Principal(p) => Ok(p),
        AuthOutcome::Invalid | AuthOutcome::Expired => Err(AudioboomError::InvalidCredentials),
    }
}

fn param_of<'a>(p: &'a Params, field: &str) -> Option<&'a str> {
    p.text(&format!("source[{field}]"))
        .or_else(|| p.text(&format!("service[{field}]")))
}

/// Authenticates by the signed parameters of a fully read request (§4).
pub async fn check_signed(
    state: &State,
    req: &HttpRequest,
    form: &Form,
) -> Result<Principal, AudioboomError> {
    let key = param_of(&form.params, "key").ok_or(AudioboomError::Unauthenticated)?;
    let entry = state
        .settings
        .signing_keys
        .iter()
        .find(|k| k.key == key)
        .ok_or(AudioboomError::InvalidCredentials)?;
    let principal = Principal::new(entry.principal.clone());
    if !state.settings.verify_signatures {
        return Ok(principal);
    }
    let given = param_of(&form.params, "signature").ok_or(AudioboomError::InvalidCredentials)?;
    let uri = signed_uri(state, req);
    let expected = signature(&uri, &form.params, &form.staged, entry.secret.expose())
        .await
        .map_err(|e| AudioboomError::Internal(Some(e.into())))?;
    if expected.eq_ignore_ascii_case(given.trim()) {
        Ok(principal)
    } else {
        Err(AudioboomError::InvalidCredentials)
    }
}

/// When the body could not be read, only the query string can authenticate: no key is a
/// missing credential, and a signature that may cover the body cannot be verified.
pub fn check_query_only(state: &State, req: &HttpRequest) -> Result<Principal, AudioboomError> {
    let query = Params::from_query(req.query_string());
    let key = param_of(&query, "key").ok_or(AudioboomError::Unauthenticated)?;
    let entry = state
        .settings
        .signing_keys
        .iter()
        .find(|k| k.key == key)
        .ok_or(AudioboomError::InvalidCredentials)?;
    if state.settings.verify_signatures {
        return Err(AudioboomError::InvalidCredentials);
    }
    Ok(Principal::new(entry.principal.clone()))
}

/// The absolute URI the client signed, without the query (§4): `public_base_url` (the public
/// URL of this dialect's mount point) and the path below the mount prefix, or else
/// `http://` + `Host` + the path.
pub fn signed_uri(state: &State, req: &HttpRequest) -> String {
    match &state.settings.public_base_url {
        Some(base) => {
            let path = req.path();
            let below = path.strip_prefix(state.prefix.as_str()).unwrap_or(path);
            format!("{}{below}", base.trim_end_matches('/'))
        }
        None => {
            let host = req
                .headers()
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .map(str::to_owned)
                .unwrap_or_else(|| req.connection_info().host().to_owned());
            format!("http://{host}{}", req.path())
        }
    }
}

/// Lowercase hex SHA-1 of `<uri>:<pairs>:<secret>`, the pairs being the `signed_` parameters in
/// case-insensitive name order, `name=value` joined by `&`; a file part contributes its raw
/// bytes, read back from staging.
pub async fn signature(
    uri: &str,
    params: &Params,
    staged: &[Staged],
    secret: &str,
) -> Result<String, std::io::Error> {
    let mut h = Sha1::new();
    h.update(uri.as_bytes());
    h.update(b":");
    for (i, p) in params.signed_in_order().into_iter().enumerate() {
        if i > 0 {
            h.update(b"&");
        }
        h.update(p.bare_name().as_bytes());
        h.update(b"=");
        match &p.value {
            Value::Text(t) => h.update(t.as_bytes()),
            Value::File(f) => {
                if let Some(s) = f.slot.and_then(|i| staged.get(i)) {
                    let mut bytes = s.stream();
                    while let Some(piece) = bytes.next().await {
                        h.update(&piece?);
                    }
                }
            }
        }
    }
    h.update(b":");
    h.update(secret.as_bytes());
    Ok(hex::encode(h.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dialects::audioboom::params::Source;

    #[actix_web::test]
    async fn the_signature_covers_uri_sorted_signed_pairs_and_secret() {
        // Arrange
        let mut p = Params::default();
        for (n, v) in [
            ("signed_source[timestamp]", "1700000000"),
            ("signed_attachment[size]", "22"),
            ("source[key]", "k"),
            ("version", "200"),
        ] {
            p.push(n, Value::Text(v.into()), Source::Body);
        }
        let input = "http://api.example.com/attachments:attachment[size]=22&source[timestamp]=1700000000:s3cret";

        // Act
        let sig = signature("http://api.example.com/attachments", &p, &[], "s3cret")
            .await
            .unwrap();

        // Assert
        assert_eq!(sig, hex::encode(Sha1::digest(input.as_bytes())));
        assert_eq!(sig.len(), 40);
    }

    #[test]
    fn only_the_bearer_scheme_is_a_token() {
        let req = |v: &str| {
            actix_web::test::TestRequest::default()
                .insert_header((header::AUTHORIZATION, v))
                .to_http_request()
        };
        assert_eq!(bearer(&req("Bearer abc")), Some("abc"));
        assert_eq!(bearer(&req("bearer  abc ")), Some("abc"));
        assert_eq!(bearer(&req("Basic abc")), None);
    }
}
