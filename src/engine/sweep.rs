//! Expiry: uploads idle past their TTL and files past their `expires_at` are removed with their
//! bytes by a background sweeper; blobs nobody references any more go with them.

use std::time::SystemTime;

use super::error::Error;
use super::meta::{ms_of, UploadRecState};
use super::types::SweepReport;
use super::Engine;

impl Engine {
    pub(crate) fn start_sweeper(&self) {
        let weak = std::sync::Arc::downgrade(&self.inner);
        let every = self.inner.config.sweep_interval;
        let handle = tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.tick().await;
            loop {
                tick.tick().await;
                let Some(inner) = weak.upgrade() else { return };
                let engine = Engine { inner };
                match engine.sweep(SystemTime::now()).await {
                    Ok(r) if r != SweepReport::default() => {
                        tracing::info!(
                            uploads = r.uploads,
                            files = r.files,
                            blobs = r.blobs,
                            "swept expired data"
                        )
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "sweep failed"),
                }
            }
        });
        *self.inner.sweeper.lock().expect("sweeper lock") = Some(handle);
    }

    /// Removes everything that expired at `now`.
    pub async fn sweep(&self, now: SystemTime) -> Result<SweepReport, Error> {
        let now_ms = ms_of(now);
        let mut report = SweepReport::default();
        let uploads = self.blocking(|i| i.meta.uploads()).await?;
        for u in uploads {
            if u.expires_ms() > now_ms || matches!(u.state, UploadRecState::Completing(_)) {
                continue;
            }
            let id = u.id;
            let cell = self.cell(&id);
            let Ok(_data) = cell.data.try_lock() else {
                continue; // busy: not idle after all
            };
            let _meta = cell.meta.lock().await;
            let removed = self
                .blocking(move |i| {
                    // Re-checked inside the transaction: a chunk may have refreshed it meanwhile.
                    if !i.meta.expire_upload(&id, now_ms)? {
                        return Ok(false);
                    }
                    i.meta.flush()?;
                    i.journal_bump();
                    i.blob.remove_spool(&id)?;
                    Ok(true)
                })
                .await?;
            drop(_meta);
            drop(_data);
            if removed {
                self.forget_cell(&id);
                tracing::debug!(upload = %id, "expired upload swept");
                report.uploads += 1;
                super::stats::upload_expired(&u.namespace);
            }
        }
        let files = self.blocking(|i| i.meta.files()).await?;
        for f in files {
            if f.expires_ms.is_some_and(|e| e <= now_ms) {
                let id = f.id;
                let gone = self
                    .blocking(move |i| {
                        let r = i.meta.remove_file(&id)?;
                        i.meta.flush()?;
                        i.journal_bump();
                        if let Some((f, true)) = &r {
                            i.blob.remove_blob(&f.digests.sha256)?;
                            return Ok((r.is_some(), 1));
                        }
                        Ok((r.is_some(), 0))
                    })
                    .await?;
                report.files += usize::from(gone.0);
                report.blobs += gone.1;
            }
        }
        Ok(report)
    }
}
