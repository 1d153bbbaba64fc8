//! Where Dyson clients put their credential (specs/dyson.md §2), and the principal it names.

use crate::auth::{AuthOutcome, Authenticator};
use crate::engine::Principal;
use actix_web::http::header;
use actix_web::HttpRequest;

use super::error::DysonError;

/// Schemes of the `Authorization` header the original accepts (case-insensitive): Solian sends
/// `AtField`, API keys use `AkField`, others `Bearer`.
const SCHEMES: [&str; 3] = ["bearer", "atfield", "akfield"];

/// The credential, from the first source present: query `tk`, then an `Authorization` header
/// with one of [`SCHEMES`] (another scheme counts as absent), then the cookie `AuthToken`.
pub fn credential(
    query: &[(String, String)],
    authorization: Option<&str>,
    cookie: Option<&str>,
) -> Option<String> {
    if let Some((_, tk)) = query.iter().find(|(k, v)| k == "tk" && !v.is_empty()) {
        return Some(tk.clone());
    }
    let from_header = authorization.and_then(|value| {
        // "<scheme> <token>": the token follows exactly one space.
        let (scheme, token) = value.split_once(' ')?;
        SCHEMES
            .iter()
            .any(|s| scheme.eq_ignore_ascii_case(s))
            .then(|| token.to_owned())
    });
    from_header.or_else(|| cookie.filter(|c| !c.is_empty()).map(str::to_owned))
}

/// The query pairs of a request (undecodable queries count as empty).
pub fn query_pairs(req: &HttpRequest) -> Vec<(String, String)> {
    actix_web::web::Query::<Vec<(String, String)>>::from_query(req.query_string())
        .map(|q| q.into_inner())
        .unwrap_or_default()
}

/// Authenticates a request: its principal, or [`DysonError::Unauthorized`].
pub async fn principal(req: &HttpRequest, auth: &Authenticator) -> Result<Principal, DysonError> {
    let authorization = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let cookie = req.cookie("AuthToken");
    let token = credential(
        &query_pairs(req),
        authorization,
        cookie.as_ref().map(|c| c.value()),
    )
    .ok_or(DysonError::Unauthorized)?;
    match auth.authenticate(&token).await {
        AuthOutcome::Principal(p) => Ok(p),
        AuthOutcome::Invalid | AuthOutcome::Expired => Err(DysonError::Unauthorized),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn the_credential_comes_from_the_first_source_present() {
        /// Query pairs, `Authorization`, cookie, and the credential expected.
        type Case<'a> = (
            &'a [(&'a str, &'a str)],
            Option<&'a str>,
            Option<&'a str>,
            Option<&'a str>,
        );
        let cases: &[Case] = &[
            (&[("tk", "q")], Some("Bearer h"), Some("c"), Some("q")),
            (&[], Some("Bearer h"), Some("c"), Some("h")),
            (&[], Some("AtField h"), None, Some("h")),
            (&[], Some("atfield h"), None, Some("h")),
            (&[], Some("AKFIELD h"), None, Some("h")),
            (&[], Some("Basic h"), Some("c"), Some("c")),
            (&[], Some("Bearer"), Some("c"), Some("c")),
            (&[], Some("Basic h"), None, None),
            (&[], None, Some("c"), Some("c")),
            (&[("other", "x")], None, None, None),
            (&[("tk", "")], None, Some("c"), Some("c")),
            // The token is everything after the one space, as sent.
            (&[], Some("Bearer  h"), None, Some(" h")),
        ];
        for (query, header, cookie, expected) in cases {
            assert_eq!(
                credential(&q(query), *header, *cookie).as_deref(),
                *expected,
                "{query:?} {header:?} {cookie:?}"
            );
        }
    }
}
