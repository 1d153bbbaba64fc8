//! Access tokens minted by `GET /v1/dev/temp-token` (specs/dstor.md §3): self-verifying,
//! `base64url(payload).base64url(mac)` without padding, where the payload is
//! `{"p":"<principal>","exp":<unix seconds>}` and the MAC is HMAC-SHA256 under a key kept in
//! the data dir (the `hmac-key` record of the dialect, created on first use).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Length of the signing key in bytes.
pub const KEY_LEN: usize = 32;

#[derive(Serialize, Deserialize)]
struct Payload {
    p: String,
    exp: u64,
}

/// What a Bearer token turned out to be.
#[derive(Debug, PartialEq, Eq)]
pub enum Verified {
    /// A token minted here, valid until its expiry.
    Valid(String),
    /// A token minted here whose expiry has passed.
    Expired,
    /// Not a token of ours (it may still be one the shared authenticator knows).
    NotOurs,
}

/// Mints a token for `principal` that expires at `exp` (Unix seconds).
pub fn mint(key: &[u8], principal: &str, exp: u64) -> String {
    let payload = serde_json::to_vec(&Payload {
        p: principal.to_owned(),
        exp,
    })
    .expect("a payload serializes");
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(&payload);
    let tag = mac.finalize().into_bytes();
    format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(&payload),
        URL_SAFE_NO_PAD.encode(tag)
    )
}

/// Checks a token's MAC (in constant time) and expiry at `now` (Unix seconds).
pub fn verify(key: &[u8], token: &str, now: u64) -> Verified {
    let Some((payload, tag)) = token.split_once('.') else {
        return Verified::NotOurs;
    };
    let (Ok(payload), Ok(tag)) = (URL_SAFE_NO_PAD.decode(payload), URL_SAFE_NO_PAD.decode(tag))
    else {
        return Verified::NotOurs;
    };
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(&payload);
    if mac.verify_slice(&tag).is_err() {
        return Verified::NotOurs;
    }
    match serde_json::from_slice::<Payload>(&payload) {
        Ok(p) if p.exp > now => Verified::Valid(p.p),
        Ok(_) => Verified::Expired,
        Err(_) => Verified::NotOurs,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: [u8; KEY_LEN] = [7; KEY_LEN];

    #[test]
    fn a_minted_token_has_the_recommended_form_and_verifies_until_it_expires() {
        // Arrange
        let token = mint(&KEY, "alice", 1_767_225_600);

        // Act / Assert: the payload part is the one of the spec's worked example.
        assert!(token.starts_with("eyJwIjoiYWxpY2UiLCJleHAiOjE3NjcyMjU2MDB9."));
        assert!(!token.contains('='));
        assert_eq!(
            verify(&KEY, &token, 1_767_225_599),
            Verified::Valid("alice".into())
        );
        assert_eq!(verify(&KEY, &token, 1_767_225_600), Verified::Expired);
    }

    #[test]
    fn forged_or_foreign_tokens_are_not_ours() {
        let token = mint(&KEY, "alice", u64::MAX);
        let (payload, tag) = token.split_once('.').unwrap();
        let forged_payload = URL_SAFE_NO_PAD.encode(br#"{"p":"bob","exp":99999999999}"#);
        let cases = [
            mint(&[8; KEY_LEN], "alice", u64::MAX),
            format!("{forged_payload}.{tag}"),
            format!("{payload}.{}", &tag[1..]),
            format!("{payload}."),
            "test-user-token".into(),
            "a.b.c".into(),
            String::new(),
        ];
        for t in cases {
            assert_eq!(verify(&KEY, &t, 0), Verified::NotOurs, "{t}");
        }
    }
}
