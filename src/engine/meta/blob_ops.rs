//! The operator side of the metadata store: every tree by its versioned name (export and
//! import copy them all) and the quarantine mark of a blob (`verify`).

use super::super::error::Error;
use super::{decode, encode, now_ms, BlobRec, Meta};

impl Meta {
    /// Every tree of the store by its versioned name.
    pub(crate) fn trees(&self) -> [(&'static str, &sled::Tree); 10] {
        [
            ("uploads.v1", &self.uploads),
            ("chunks.v1", &self.chunks),
            ("files.v1", &self.files),
            ("blobs.v1", &self.blobs),
            ("digests.v1", &self.digests),
            ("aliases.v1", &self.aliases),
            ("records.v1", &self.records),
            ("counters.v1", &self.counters),
            ("events.v1", &self.events),
            ("journal_seq.v1", &self.seqs),
        ]
    }

    pub(crate) fn blob(&self, sha256: &str) -> Result<Option<BlobRec>, Error> {
        self.blobs
            .get(sha256.as_bytes())?
            .map(|b| decode(&b))
            .transpose()
    }

    /// Marks a blob quarantined (its files are no longer served), by compare-and-swap.
    pub(crate) fn quarantine_blob(&self, sha256: &str) -> Result<bool, Error> {
        loop {
            let Some(raw) = self.blobs.get(sha256.as_bytes())? else {
                return Ok(false);
            };
            let mut b: BlobRec = decode(&raw)?;
            b.quarantined_ms = Some(now_ms());
            let swapped =
                self.blobs
                    .compare_and_swap(sha256.as_bytes(), Some(raw), Some(encode(&b)))?;
            if swapped.is_ok() {
                return Ok(true);
            }
        }
    }
}
