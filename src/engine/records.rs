//! Namespaced record stores for front ends: their legacy ids and fields live here, never in raw
//! sled. Values are JSON; changes are atomic per key (compare-and-swap, no read-modify-write).

use std::sync::Arc;

use serde::{de::DeserializeOwned, Serialize};

use super::error::Error;
use super::meta::{decode, encode, RecordOp};
use super::Engine;

/// The records of one namespace (e.g. one dialect). Cheap to clone.
#[derive(Clone)]
pub struct Records {
    engine: Engine,
    ns: Arc<str>,
}

impl Records {
    pub(crate) fn new(engine: Engine, ns: &str) -> Self {
        Records {
            engine,
            ns: ns.into(),
        }
    }

    pub fn namespace(&self) -> &str {
        &self.ns
    }

    async fn flush(&self) -> Result<(), Error> {
        if self.engine.strict() {
            self.engine.blocking(|i| i.meta.flush()).await?;
        }
        Ok(())
    }

    /// The value under `key`.
    pub async fn get<T: DeserializeOwned + Send + 'static>(
        &self,
        key: &str,
    ) -> Result<Option<T>, Error> {
        let (ns, key) = (self.ns.clone(), key.to_string());
        self.engine
            .blocking(move |i| i.meta.record(&ns, &key)?.map(|b| decode(&b)).transpose())
            .await
    }

    /// The values under two keys, read in one trip to the blocking pool (a request that needs
    /// both pays one hand-off instead of two).
    pub async fn get_two<A, B>(&self, a: &str, b: &str) -> Result<(Option<A>, Option<B>), Error>
    where
        A: DeserializeOwned + Send + 'static,
        B: DeserializeOwned + Send + 'static,
    {
        let (ns, a, b) = (self.ns.clone(), a.to_string(), b.to_string());
        self.engine
            .blocking(move |i| {
                let a = i.meta.record(&ns, &a)?.map(|v| decode(&v)).transpose()?;
                let b = i.meta.record(&ns, &b)?.map(|v| decode(&v)).transpose()?;
                Ok((a, b))
            })
            .await
    }

    /// Sets `key` to `value` whatever it was.
    pub async fn put<T: Serialize>(&self, key: &str, value: &T) -> Result<(), Error> {
        let (ns, key, raw) = (self.ns.clone(), key.to_string(), encode(value));
        self.engine
            .blocking(move |i| i.meta.record_put(&ns, &key, &raw))
            .await?;
        self.flush().await
    }

    /// Creates `key` only if it does not exist; false when it already did.
    pub async fn insert_new<T: Serialize>(&self, key: &str, value: &T) -> Result<bool, Error> {
        let (ns, key, raw) = (self.ns.clone(), key.to_string(), encode(value));
        let ok = self
            .engine
            .blocking(move |i| i.meta.record_cas(&ns, &key, None, Some(&raw)))
            .await?;
        self.flush().await?;
        Ok(ok)
    }

    /// Atomically transforms the value under `key`: `f` sees the current value and returns the
    /// new one (`None` removes it). Retried on contention, so `f` may run more than once.
    /// Returns the value written.
    pub async fn update<T, F>(&self, key: &str, f: F) -> Result<Option<T>, Error>
    where
        T: Serialize + DeserializeOwned + Send + 'static,
        F: FnMut(Option<T>) -> Option<T> + Send + 'static,
    {
        let (ns, key) = (self.ns.clone(), key.to_string());
        let out = self
            .engine
            .blocking(move |i| {
                let mut f = f;
                loop {
                    let old = i.meta.record(&ns, &key)?;
                    let cur: Option<T> = old.as_deref().map(decode).transpose()?;
                    let new = f(cur);
                    let raw = new.as_ref().map(encode);
                    if i.meta
                        .record_cas(&ns, &key, old.as_deref(), raw.as_deref())?
                    {
                        return Ok(new);
                    }
                }
            })
            .await?;
        self.flush().await?;
        Ok(out)
    }

    /// Removes `key`, returning whether it existed.
    pub async fn remove(&self, key: &str) -> Result<bool, Error> {
        let (ns, key) = (self.ns.clone(), key.to_string());
        let old = self
            .engine
            .blocking(move |i| i.meta.record_remove(&ns, &key))
            .await?;
        self.flush().await?;
        Ok(old.is_some())
    }

    /// Every `(key, value)` whose key starts with `prefix`, in key order.
    pub async fn scan<T: DeserializeOwned + Send + 'static>(
        &self,
        prefix: &str,
    ) -> Result<Vec<(String, T)>, Error> {
        let (ns, prefix) = (self.ns.clone(), prefix.to_string());
        self.engine
            .blocking(move |i| {
                i.meta
                    .record_scan(&ns, &prefix)?
                    .into_iter()
                    .map(|(k, v)| Ok((k, decode(&v)?)))
                    .collect()
            })
            .await
    }

    /// Applies `batch` atomically: either every precondition holds and every change is made,
    /// or nothing changes and the answer is false.
    pub async fn commit(&self, batch: RecordBatch) -> Result<bool, Error> {
        let ns = self.ns.clone();
        let ok = self
            .engine
            .blocking(move |i| i.meta.record_batch(&ns, &batch.ops))
            .await?;
        if ok {
            self.flush().await?;
        }
        Ok(ok)
    }

    /// The next value of a counter of this namespace: 1, 2, 3, ... never reused.
    pub async fn next_id(&self, counter: &str) -> Result<u64, Error> {
        let (ns, counter) = (self.ns.clone(), counter.to_string());
        let v = self
            .engine
            .blocking(move |i| i.meta.next_counter(&ns, &counter))
            .await?;
        self.flush().await?;
        Ok(v)
    }

    /// `count` consecutive values of a counter in one step (e.g. the ids of many records created
    /// together): the returned range is this caller's alone, and values are never reused.
    pub async fn next_ids(&self, counter: &str, count: u64) -> Result<std::ops::Range<u64>, Error> {
        let (ns, counter) = (self.ns.clone(), counter.to_string());
        let last = self
            .engine
            .blocking(move |i| i.meta.advance_counter(&ns, &counter, count))
            .await?;
        self.flush().await?;
        let end = last.saturating_add(1);
        Ok(end.saturating_sub(count)..end)
    }
}

/// Changes to several records of one namespace, applied together by [`Records::commit`].
#[derive(Clone, Debug, Default)]
pub struct RecordBatch {
    ops: Vec<RecordOp>,
}

impl RecordBatch {
    pub fn new() -> Self {
        Self::default()
    }

    /// Precondition: `key` does not exist.
    pub fn absent(mut self, key: &str) -> Self {
        self.ops.push(RecordOp::Absent(key.to_string()));
        self
    }

    /// Precondition: `key` holds `value` (as written by `put`).
    pub fn unchanged<T: Serialize>(mut self, key: &str, value: &T) -> Self {
        self.ops
            .push(RecordOp::Equals(key.to_string(), encode(value)));
        self
    }

    pub fn put<T: Serialize>(mut self, key: &str, value: &T) -> Self {
        self.ops.push(RecordOp::Put(key.to_string(), encode(value)));
        self
    }

    pub fn remove(mut self, key: &str) -> Self {
        self.ops.push(RecordOp::Remove(key.to_string()));
        self
    }
}
