//! `GET /v1/dev/temp-token`: exchange an API key for an access token (specs/dstor.md §3).

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use super::error::DstorError;
use super::model::{json_response, AccessTokenBody};
use super::parse;
use super::state::{now_ms, Dstor};
use super::token;

// GET /v1/dev/temp-token
pub async fn handle_temp_token(
    req: HttpRequest,
    dstor: web::Data<Dstor>,
) -> Result<HttpResponse, DstorError> {
    // Authentication first (§2): the API key must be known to the shared authenticator.
    let api_key = req
        .headers()
        .get("api-key")
        .and_then(|v| v.to_str().ok())
        .filter(|k| !k.is_empty())
        .ok_or(DstorError::Unauthorized)?;
    let principal = dstor.shared_principal(api_key).await?;
    let expiration = match req.headers().get("x-expiration") {
        Some(v) => Some(v.to_str().map_err(|_| DstorError::BadExpiration)?),
        None => None,
    };
    let now = now_ms() as f64 / 1000.0;
    let exp = parse::expiration(expiration, now, dstor.settings.max_token_lifetime.as_secs())?;
    let key = dstor.signing_key(true).await?.ok_or(DstorError::Internal)?;
    let body = AccessTokenBody {
        access_token: token::mint(&key, principal.as_str(), exp),
    };
    Ok(json_response(StatusCode::OK, &body))
}
