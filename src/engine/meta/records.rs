//! The namespaced records of front ends and their counters: plain keys under `<ns>\0<key>`,
//! changed by compare-and-swap or in atomic batches.

use sled::transaction::ConflictableTransactionError;

use super::super::error::Error;
use super::{ns_key, Meta};

impl Meta {
    pub(crate) fn record(&self, ns: &str, key: &str) -> Result<Option<Vec<u8>>, Error> {
        Ok(self.records.get(ns_key(ns, key))?.map(|v| v.to_vec()))
    }

    pub(crate) fn record_cas(
        &self,
        ns: &str,
        key: &str,
        old: Option<&[u8]>,
        new: Option<&[u8]>,
    ) -> Result<bool, Error> {
        Ok(self
            .records
            .compare_and_swap(ns_key(ns, key), old, new)?
            .is_ok())
    }

    /// Applies a batch atomically; false (and nothing changed) when a precondition fails.
    pub(crate) fn record_batch(&self, ns: &str, ops: &[RecordOp]) -> Result<bool, Error> {
        let res = self.records.transaction(|t| {
            for op in ops {
                match op {
                    RecordOp::Absent(k) => {
                        if t.get(ns_key(ns, k))?.is_some() {
                            return Err(ConflictableTransactionError::Abort(None));
                        }
                    }
                    RecordOp::Equals(k, v) => {
                        if t.get(ns_key(ns, k))?.as_deref() != Some(v.as_slice()) {
                            return Err(ConflictableTransactionError::Abort(None));
                        }
                    }
                    RecordOp::Put(k, v) => {
                        t.insert(ns_key(ns, k), v.as_slice())?;
                    }
                    RecordOp::Remove(k) => {
                        t.remove(ns_key(ns, k))?;
                    }
                }
            }
            Ok(())
        });
        match res {
            Ok(()) => Ok(true),
            Err(sled::transaction::TransactionError::Abort(None)) => Ok(false),
            Err(sled::transaction::TransactionError::Abort(Some(e))) => Err(e),
            Err(sled::transaction::TransactionError::Storage(e)) => Err(e.into()),
        }
    }

    pub(crate) fn record_put(&self, ns: &str, key: &str, value: &[u8]) -> Result<(), Error> {
        self.records.insert(ns_key(ns, key), value)?;
        Ok(())
    }

    pub(crate) fn record_remove(&self, ns: &str, key: &str) -> Result<Option<Vec<u8>>, Error> {
        Ok(self.records.remove(ns_key(ns, key))?.map(|v| v.to_vec()))
    }

    pub(crate) fn record_scan(
        &self,
        ns: &str,
        prefix: &str,
    ) -> Result<Vec<(String, Vec<u8>)>, Error> {
        let p = ns_key(ns, prefix);
        let skip = ns.len() + 1;
        self.records
            .scan_prefix(&p)
            .map(|kv| {
                let (k, v) = kv?;
                Ok((String::from_utf8_lossy(&k[skip..]).into_owned(), v.to_vec()))
            })
            .collect()
    }

    pub(crate) fn all_records(&self) -> Result<Vec<(String, String, Vec<u8>)>, Error> {
        self.records
            .iter()
            .map(|kv| {
                let (k, v) = kv?;
                let split = k.iter().position(|b| *b == 0).unwrap_or(k.len());
                let ns = String::from_utf8_lossy(&k[..split]).into_owned();
                let key = String::from_utf8_lossy(k.get(split + 1..).unwrap_or(&[])).into_owned();
                Ok((ns, key, v.to_vec()))
            })
            .collect()
    }

    /// Increments a per-namespace counter and returns the new value (1, 2, 3, ...). Atomic:
    /// sled's `update_and_fetch` retries on contention, so no two callers get the same value.
    pub(crate) fn next_counter(&self, ns: &str, name: &str) -> Result<u64, Error> {
        self.advance_counter(ns, name, 1)
    }

    /// Adds `by` to a counter atomically and returns its new value.
    pub(crate) fn advance_counter(&self, ns: &str, name: &str, by: u64) -> Result<u64, Error> {
        let v = self
            .counters
            .update_and_fetch(ns_key(ns, name), |old| {
                let n = old
                    .and_then(|b| <[u8; 8]>::try_from(b).ok())
                    .map(u64::from_be_bytes)
                    .unwrap_or(0);
                Some(n.saturating_add(by).to_be_bytes().to_vec())
            })?
            .ok_or_else(|| Error::Corrupt("counter vanished".into()))?;
        let raw: [u8; 8] = v
            .as_ref()
            .try_into()
            .map_err(|_| Error::Corrupt("counter value".into()))?;
        Ok(u64::from_be_bytes(raw))
    }
}

#[derive(Clone, Debug)]
pub(crate) enum RecordOp {
    /// Precondition: the key does not exist.
    Absent(String),
    /// Precondition: the key holds exactly these bytes.
    Equals(String, Vec<u8>),
    Put(String, Vec<u8>),
    Remove(String),
}
