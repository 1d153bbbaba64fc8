//! The event journal's side of the metadata store: changes that append an event in their own
//! transaction (a failed verification, an expiry), and reading and trimming the journal.
//! (Creation, completion and file deletion append theirs in `meta.rs`, inside their existing
//! transactions.)

use sled::transaction::TransactionalTree;
use sled::Transactional;

use super::super::error::Error;
use super::super::journal::{self, Draft, EventKind};
use super::super::types::*;
use super::{abort, encode, tx_decode, Meta, UploadRec};

impl Meta {
    /// Writes an upload whose completion failed, with its `UploadFailed` event.
    pub(crate) fn mark_failed(&self, rec: &UploadRec, m: &Mismatch) -> Result<(), Error> {
        let draft = Draft::of_upload(EventKind::UploadFailed, rec).with_mismatch(m);
        (&self.uploads, &self.events, &self.seqs).transaction(|(uploads, events, seqs)| {
            if uploads.get(rec.id.as_bytes())?.is_none() {
                return Err(abort(Error::UnknownUpload));
            }
            uploads.insert(rec.id.as_bytes(), encode(rec))?;
            journal::append(events, seqs, &draft)?;
            Ok(())
        })?;
        Ok(())
    }

    /// Removes an upload idle at `now_ms` with its chunk ledger and records `UploadExpired`;
    /// false (nothing changed) when it is gone or was refreshed meanwhile.
    pub(crate) fn expire_upload(&self, id: &UploadId, now_ms: u64) -> Result<bool, Error> {
        let keys: Vec<_> = self
            .chunks
            .scan_prefix(id.as_bytes())
            .keys()
            .collect::<Result<_, _>>()?;
        let trees = [&self.uploads, &self.chunks, &self.events, &self.seqs];
        let done = trees.transaction(|t: &Vec<TransactionalTree>| {
            let Some(raw) = t[0].get(id.as_bytes())? else {
                return Ok(false);
            };
            let rec: UploadRec = tx_decode(&raw)?;
            if rec.expires_ms() > now_ms {
                return Ok(false);
            }
            t[0].remove(id.as_bytes())?;
            for k in &keys {
                t[1].remove(k)?;
            }
            journal::append(
                &t[2],
                &t[3],
                &Draft::of_upload(EventKind::UploadExpired, &rec),
            )?;
            journal::forget_seq(&t[3], id)?;
            Ok(true)
        })?;
        Ok(done)
    }

    /// Up to `limit` journal entries after position `after`, oldest first.
    pub(crate) fn journal_range(
        &self,
        after: u64,
        limit: usize,
    ) -> Result<Vec<(u64, Vec<u8>)>, Error> {
        let from = after.saturating_add(1).to_be_bytes();
        self.events
            .range(from..)
            .take(limit)
            .map(|kv| {
                let (k, v) = kv?;
                let pos: [u8; 8] = k
                    .as_ref()
                    .try_into()
                    .map_err(|_| Error::Corrupt("journal key".into()))?;
                Ok((u64::from_be_bytes(pos), v.to_vec()))
            })
            .collect()
    }

    /// Removes journal entries at or before `upto`; returns how many.
    pub(crate) fn journal_trim(&self, upto: u64) -> Result<usize, Error> {
        let keys: Vec<_> = self
            .events
            .range(..=upto.to_be_bytes())
            .keys()
            .collect::<Result<_, _>>()?;
        let mut batch = sled::Batch::default();
        for k in &keys {
            batch.remove(k);
        }
        self.events.apply_batch(batch)?;
        Ok(keys.len())
    }

    pub(crate) fn journal_len(&self) -> usize {
        self.events.len()
    }
}
