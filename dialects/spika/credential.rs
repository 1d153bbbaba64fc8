//! Who is calling (specs/spika.md §2): the `accesstoken` header, else the `accesstoken` cookie
//! (the web client's image tags only have the cookie), through the shared authenticator.
//! With `spika.auth = false` nothing is read and every request is the principal `anonymous`.

use super::error::{AuthFailure, SpikaError};
use super::Spika;
use crate::auth::AuthOutcome;
use crate::engine::Principal;
use actix_web::HttpRequest;

/// Name of the header and of the cookie.
const ACCESS_TOKEN: &str = "accesstoken";

/// The principal of the old unauthenticated generation (`spika.auth = false`).
pub const ANONYMOUS: &str = "anonymous";

/// Where the credential was found, before the authenticator sees it.
#[derive(Debug, PartialEq, Eq)]
pub enum Credential {
    /// Neither a non-empty header nor a non-empty cookie.
    Missing,
    /// A header that is not visible ASCII: it cannot be a token.
    Unreadable,
    Token(String),
}

/// Reads the credential: the header first, then the cookie; an empty value counts as missing.
pub fn credential(req: &HttpRequest) -> Credential {
    if let Some(value) = req.headers().get(ACCESS_TOKEN) {
        if !value.is_empty() {
            return match value.to_str() {
                Ok(token) => Credential::Token(token.to_owned()),
                Err(_) => Credential::Unreadable,
            };
        }
    }
    match req.cookie(ACCESS_TOKEN) {
        Some(cookie) if !cookie.value().is_empty() => Credential::Token(cookie.value().to_owned()),
        _ => Credential::Missing,
    }
}

/// Authenticates the request; runs before any other check (§2).
pub async fn principal(req: &HttpRequest, spika: &Spika) -> Result<Principal, SpikaError> {
    if !spika.settings.auth {
        return Ok(Principal::new(ANONYMOUS));
    }
    let token = match credential(req) {
        Credential::Missing => return Err(SpikaError::Unauthorized(AuthFailure::Missing)),
        Credential::Unreadable => return Err(SpikaError::Unauthorized(AuthFailure::Invalid)),
        Credential::Token(token) => token,
    };
    match spika.auth.authenticate(&token).await {
        AuthOutcome::Principal(p) => Ok(p),
        AuthOutcome::Invalid => Err(SpikaError::Unauthorized(AuthFailure::Invalid)),
        AuthOutcome::Expired => Err(SpikaError::Unauthorized(AuthFailure::Expired)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[test]
    fn the_header_wins_over_the_cookie_and_empty_values_count_as_missing() {
        let cases: Vec<(TestRequest, Credential)> = vec![
            (TestRequest::get(), Credential::Missing),
            (
                TestRequest::get().insert_header(("accesstoken", "h")),
                Credential::Token("h".into()),
            ),
            (
                TestRequest::get().insert_header(("cookie", "accesstoken=c")),
                Credential::Token("c".into()),
            ),
            (
                TestRequest::get()
                    .insert_header(("accesstoken", "h"))
                    .insert_header(("cookie", "accesstoken=c")),
                Credential::Token("h".into()),
            ),
            (
                TestRequest::get()
                    .insert_header(("accesstoken", ""))
                    .insert_header(("cookie", "other=1; accesstoken=c")),
                Credential::Token("c".into()),
            ),
            (
                TestRequest::get()
                    .insert_header(("accesstoken", ""))
                    .insert_header(("cookie", "accesstoken=")),
                Credential::Missing,
            ),
            (
                TestRequest::get().insert_header((
                    "accesstoken",
                    actix_web::http::header::HeaderValue::from_bytes(b"t\xff").unwrap(),
                )),
                Credential::Unreadable,
            ),
        ];
        for (req, expected) in cases {
            let req = req.to_http_request();
            assert_eq!(credential(&req), expected, "{:?}", req.headers());
        }
    }
}
