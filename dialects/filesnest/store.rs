//! FilesNest's records in the engine's `filesnest` record store.
//!
//! Every key starts with the owner (hex of the principal), so a lookup with the caller's
//! principal simply does not find another principal's file: ownership by construction (spec §2).
//!
//! | key | value |
//! |---|---|
//! | `file/<owner>/<file id:020>` | [`FileRecord`] |
//! | `upload/<owner>/<file id:020>/<upload id:020>` | [`UploadRecord`] |
//! | `done/<owner>/<file id:020>` | how many of the file's uploads hold a chunk |
//! | `name/<owner>/<name>` | the id of the file with that name (uniqueness per principal) |
//!
//! Upload ids of a file are one consecutive block allocated in `number` order, so key order is
//! `number` order.

use crate::engine::{Error, Principal, RecordBatch, Records};

use super::model::{FileRecord, UploadRecord};

/// The record-store namespace, also the alias namespace of completed files.
pub const NAMESPACE: &str = "filesnest";

#[derive(Clone)]
pub struct Store {
    records: Records,
}

fn owner_key(owner: &Principal) -> String {
    hex::encode(owner.as_str())
}

fn file_key(owner: &Principal, id: u64) -> String {
    format!("file/{}/{id:020}", owner_key(owner))
}

fn uploads_prefix(owner: &Principal, file: u64) -> String {
    format!("upload/{}/{file:020}/", owner_key(owner))
}

fn upload_key(owner: &Principal, file: u64, upload: u64) -> String {
    format!("{}{upload:020}", uploads_prefix(owner, file))
}

fn done_key(owner: &Principal, file: u64) -> String {
    format!("done/{}/{file:020}", owner_key(owner))
}

fn name_key(owner: &Principal, name: &str) -> String {
    format!("name/{}/{name}", owner_key(owner))
}

impl Store {
    pub fn new(records: Records) -> Self {
        Store { records }
    }

    /// The next file id (a counter, never reused).
    pub async fn next_file_id(&self) -> Result<u64, Error> {
        self.records.next_id("file").await
    }

    /// `count` consecutive upload ids.
    pub async fn next_upload_ids(&self, count: u64) -> Result<std::ops::Range<u64>, Error> {
        self.records.next_ids("upload", count).await
    }

    pub async fn file(&self, owner: &Principal, id: u64) -> Result<Option<FileRecord>, Error> {
        self.records.get(&file_key(owner, id)).await
    }

    /// Every file of `owner`, by id ascending.
    pub async fn files(&self, owner: &Principal) -> Result<Vec<FileRecord>, Error> {
        let prefix = format!("file/{}/", owner_key(owner));
        let rows: Vec<(String, FileRecord)> = self.records.scan(&prefix).await?;
        Ok(rows.into_iter().map(|(_, f)| f).collect())
    }

    /// The file's uploads, by `number`.
    pub async fn uploads(&self, owner: &Principal, file: u64) -> Result<Vec<UploadRecord>, Error> {
        let rows: Vec<(String, UploadRecord)> =
            self.records.scan(&uploads_prefix(owner, file)).await?;
        let mut uploads: Vec<UploadRecord> = rows.into_iter().map(|(_, u)| u).collect();
        uploads.sort_by_key(|u| u.number);
        Ok(uploads)
    }

    pub async fn upload(
        &self,
        owner: &Principal,
        file: u64,
        upload: u64,
    ) -> Result<Option<UploadRecord>, Error> {
        self.records.get(&upload_key(owner, file, upload)).await
    }

    /// The id of `owner`'s file called `name`, if any.
    pub async fn file_named(&self, owner: &Principal, name: &str) -> Result<Option<u64>, Error> {
        self.records.get(&name_key(owner, name)).await
    }

    /// How many of the file's uploads hold a chunk.
    pub async fn uploads_done(&self, owner: &Principal, file: u64) -> Result<u64, Error> {
        Ok(self.records.get(&done_key(owner, file)).await?.unwrap_or(0))
    }

    /// Creates a file with its uploads; false (and nothing stored) when the name is taken.
    pub async fn create(
        &self,
        owner: &Principal,
        file: &FileRecord,
        uploads: &[UploadRecord],
    ) -> Result<bool, Error> {
        let name = name_key(owner, &file.name);
        let mut batch = RecordBatch::new()
            .absent(&name)
            .put(&name, &file.id)
            .put(&file_key(owner, file.id), file)
            .put(&done_key(owner, file.id), &0u64);
        for u in uploads {
            batch = batch.put(&upload_key(owner, file.id, u.id), u);
        }
        self.records.commit(batch).await
    }

    /// Replaces `old` by `new` (moving the name claim if the name changed); false when the
    /// record changed meanwhile or the new name is taken.
    pub async fn save(
        &self,
        owner: &Principal,
        old: &FileRecord,
        new: &FileRecord,
    ) -> Result<bool, Error> {
        let mut batch = RecordBatch::new().unchanged(&file_key(owner, old.id), old);
        if old.name != new.name {
            let (was, will) = (name_key(owner, &old.name), name_key(owner, &new.name));
            batch = batch.absent(&will).remove(&was).put(&will, &new.id);
        }
        self.records
            .commit(batch.put(&file_key(owner, new.id), new))
            .await
    }

    /// Marks an upload as holding a chunk (its `updated_at` is `now`) and counts it once.
    /// `None` when the upload is gone.
    pub async fn mark_stored(
        &self,
        owner: &Principal,
        file: u64,
        upload: u64,
        now: i64,
    ) -> Result<Option<UploadRecord>, Error> {
        let key = upload_key(owner, file, upload);
        let done = done_key(owner, file);
        // Parallel chunks of one file contend on the counter: retry on a lost race.
        loop {
            let Some(old) = self.records.get::<UploadRecord>(&key).await? else {
                return Ok(None);
            };
            let new = UploadRecord {
                updated_at: now,
                completed: true,
                ..old.clone()
            };
            let mut batch = RecordBatch::new().unchanged(&key, &old).put(&key, &new);
            if !old.completed {
                let count: u64 = self.records.get(&done).await?.unwrap_or(0);
                batch = batch.unchanged(&done, &count).put(&done, &(count + 1));
            }
            if self.records.commit(batch).await? {
                return Ok(Some(new));
            }
        }
    }

    /// Records a verified file: `new` replaces `old` and the uploads are deleted.
    pub async fn finish(
        &self,
        owner: &Principal,
        old: &FileRecord,
        new: &FileRecord,
        uploads: &[UploadRecord],
    ) -> Result<bool, Error> {
        let key = file_key(owner, old.id);
        let mut batch = RecordBatch::new()
            .unchanged(&key, old)
            .put(&key, new)
            .remove(&done_key(owner, old.id));
        for u in uploads {
            batch = batch.remove(&upload_key(owner, old.id, u.id));
        }
        self.records.commit(batch).await
    }

    /// Removes a file, its name claim and its uploads.
    pub async fn remove(
        &self,
        owner: &Principal,
        file: &FileRecord,
        uploads: &[UploadRecord],
    ) -> Result<bool, Error> {
        let key = file_key(owner, file.id);
        let mut batch = RecordBatch::new()
            .unchanged(&key, file)
            .remove(&key)
            .remove(&name_key(owner, &file.name))
            .remove(&done_key(owner, file.id));
        for u in uploads {
            batch = batch.remove(&upload_key(owner, file.id, u.id));
        }
        self.records.commit(batch).await
    }
}
