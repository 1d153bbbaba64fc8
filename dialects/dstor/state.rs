//! What the dStor handlers share: the engine, the authenticator, the dialect's settings and
//! records, and the lookups every route starts with (credentials, upload tokens).

use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use actix_web::http::header;
use actix_web::HttpRequest;
use rand::RngCore;

use super::error::DstorError;
use super::model::{Stage, UploadRecord};
use super::parse;
use super::token::{self, Verified, KEY_LEN};
use crate::auth::{AuthOutcome, Authenticator};
use crate::config::DstorSettings;
use crate::engine::{self, Engine, Principal, Records};

/// The record namespace of the dialect.
pub const NAMESPACE: &str = "dstor";
const KEY_RECORD: &str = "hmac-key";
/// How often (at most) a worker looks for expired upload records.
const SWEEP_EVERY: Duration = Duration::from_secs(600);

pub fn upload_key(token: &str) -> String {
    format!("upload/{token}")
}
pub fn cid_prefix(token: &str) -> String {
    format!("cid/{token}/")
}
pub fn cid_key(token: &str, sha256: &str) -> String {
    format!("cid/{token}/{sha256}")
}
pub fn result_key(token: &str) -> String {
    format!("result/{token}")
}
pub fn gateway_prefix(cid: &str) -> String {
    format!("ipfs/{cid}/")
}
pub fn gateway_key(cid: &str, owner: &Principal) -> String {
    format!("ipfs/{cid}/{owner}")
}

pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// State of one server worker's dStor routes.
pub struct Dstor {
    pub engine: Engine,
    pub auth: Authenticator,
    pub settings: DstorSettings,
    pub records: Records,
    /// `<prefix>/ipfs/`: where the gateway's raw paths start.
    pub ipfs_prefix: String,
    key: tokio::sync::OnceCell<[u8; KEY_LEN]>,
    last_sweep: Mutex<Option<Instant>>,
}

/// An upload token the caller may use, with what the engine says about it.
pub struct Found {
    pub token: String,
    pub record: UploadRecord,
    /// Requests counted by the engine (`UPLOADING` only; 0 otherwise).
    pub parts_done: u32,
}

impl Dstor {
    pub fn new(
        engine: Engine,
        auth: Authenticator,
        settings: DstorSettings,
        ipfs_prefix: String,
    ) -> Self {
        Dstor {
            records: engine.records(NAMESPACE),
            engine,
            auth,
            settings,
            ipfs_prefix,
            key: tokio::sync::OnceCell::new(),
            last_sweep: Mutex::new(None),
        }
    }

    pub fn ttl_ms(&self) -> u64 {
        self.settings.upload_ttl.as_millis() as u64
    }

    /// The access-token key, created on first use when `create` (minting); `None` when none
    /// exists yet and `create` is false (so a failed verification changes nothing stored).
    pub async fn signing_key(&self, create: bool) -> Result<Option<[u8; KEY_LEN]>, DstorError> {
        if let Some(k) = self.key.get() {
            return Ok(Some(*k));
        }
        let stored: Option<String> = self.records.get(KEY_RECORD).await?;
        let hex_key = match stored {
            Some(k) => k,
            None if create => {
                let mut k = [0u8; KEY_LEN];
                rand::thread_rng().fill_bytes(&mut k);
                // Another worker may have created it meanwhile: the first one wins.
                if !self.records.insert_new(KEY_RECORD, &hex::encode(k)).await? {
                    return Box::pin(self.signing_key(false)).await;
                }
                hex::encode(k)
            }
            None => return Ok(None),
        };
        let key: [u8; KEY_LEN] = hex::decode(&hex_key)
            .ok()
            .and_then(|k| k.try_into().ok())
            .ok_or_else(|| DstorError::from(engine::Error::Corrupt("dstor hmac-key".into())))?;
        let _ = self.key.set(key);
        Ok(Some(key))
    }

    /// The principal of `Authorization: Bearer <t>`: an access token minted here, or any
    /// token the shared authenticator accepts (§2).
    pub async fn bearer_principal(&self, req: &HttpRequest) -> Result<Principal, DstorError> {
        let header = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        let token = parse::bearer(header).ok_or(DstorError::Unauthorized)?;
        if let Some(key) = self.signing_key(false).await? {
            match token::verify(&key, token, now_ms() / 1000) {
                Verified::Valid(p) => return Ok(Principal::new(p)),
                Verified::Expired => return Err(DstorError::Unauthorized),
                Verified::NotOurs => {}
            }
        }
        self.shared_principal(token).await
    }

    /// The principal of a credential known to the shared authenticator.
    pub async fn shared_principal(&self, credential: &str) -> Result<Principal, DstorError> {
        match self.auth.authenticate(credential).await {
            AuthOutcome::Principal(p) => Ok(p),
            AuthOutcome::Invalid | AuthOutcome::Expired => Err(DstorError::Unauthorized),
        }
    }

    /// The upload of `x-dstor-upload-token` if it belongs to `owner` and has not expired
    /// (§5 steps 2–3). A foreign token answers exactly like an unknown one.
    pub async fn find_upload(
        &self,
        req: &HttpRequest,
        owner: &Principal,
    ) -> Result<Found, DstorError> {
        let token = req
            .headers()
            .get("x-dstor-upload-token")
            .ok_or(DstorError::UploadTokenMissing)?
            .to_str()
            .map_err(|_| DstorError::UploadNotFound)?
            .to_owned();
        if token.is_empty() || token.contains('/') {
            return Err(DstorError::UploadNotFound);
        }
        let mut record: UploadRecord = self
            .records
            .get(&upload_key(&token))
            .await?
            .ok_or(DstorError::UploadNotFound)?;
        if &record.owner != owner {
            return Err(DstorError::UploadNotFound);
        }
        if record
            .expires_ms(self.ttl_ms())
            .is_some_and(|e| e <= now_ms())
        {
            self.forget(&token, &record).await?;
            return Err(DstorError::UploadNotFound);
        }
        let mut parts_done = 0;
        if record.stage == Stage::Uploading {
            match self.engine.upload(owner, record.upload).await {
                Ok(info) => parts_done = info.parts_done,
                Err(engine::Error::UnknownUpload) => {
                    // The last request may have moved the upload on since the record was read,
                    // and its finalisation finished the engine's upload: then this is a request
                    // too many (400, §5 step 4), not an unknown token.
                    match self
                        .records
                        .get::<UploadRecord>(&upload_key(&token))
                        .await?
                    {
                        Some(now) if now.stage != Stage::Uploading => record = now,
                        _ => {
                            self.forget(&token, &record).await?;
                            return Err(DstorError::UploadNotFound);
                        }
                    }
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(Found {
            token,
            record,
            parts_done,
        })
    }

    /// Removes an expired upload token and what it kept (its engine upload, if any is left,
    /// goes too). Stored files and the gateway index stay (§6 "Stored files stay").
    pub async fn forget(&self, token: &str, record: &UploadRecord) -> Result<(), DstorError> {
        let gone = self
            .records
            .commit(
                engine::RecordBatch::new()
                    .unchanged(&upload_key(token), record)
                    .remove(&upload_key(token))
                    .remove(&result_key(token)),
            )
            .await?;
        if !gone {
            return Ok(()); // changed meanwhile: someone else is handling it
        }
        for (key, _) in self
            .records
            .scan::<serde_json::Value>(&cid_prefix(token))
            .await?
        {
            self.records.remove(&key).await?;
        }
        if record.stage == Stage::Uploading {
            match self.engine.abort(&record.owner, record.upload).await {
                Ok(()) | Err(engine::Error::UnknownUpload) => {}
                Err(e) => return Err(e.into()),
            }
        }
        tracing::debug!(token, "expired dStor upload forgotten");
        Ok(())
    }

    /// Now and then (at most every ten minutes per worker), removes the records of upload
    /// tokens that expired without anyone asking about them again.
    pub fn maybe_sweep(self: &std::sync::Arc<Self>) {
        {
            let mut last = self.last_sweep.lock().expect("sweep lock");
            if last.is_some_and(|t| t.elapsed() < SWEEP_EVERY) {
                return;
            }
            *last = Some(Instant::now());
        }
        let me = self.clone();
        tokio::spawn(async move {
            if let Err(e) = me.sweep().await {
                tracing::warn!(error = %e, "sweeping expired dStor uploads failed");
            }
        });
    }

    async fn sweep(&self) -> Result<(), DstorError> {
        let now = now_ms();
        let ttl = self.ttl_ms();
        for (key, record) in self.records.scan::<UploadRecord>("upload/").await? {
            if record.expires_ms(ttl).is_some_and(|e| e <= now) {
                let token = key.trim_start_matches("upload/");
                self.forget(token, &record).await?;
            }
        }
        Ok(())
    }
}
