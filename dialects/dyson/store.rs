//! The dialect's records in the engine's `dyson` namespace: tasks under `task:<task_id>`, files
//! under `file:<id>` (specs/dyson.md §4, §7, §9). Lookups are scoped by principal: another
//! principal's task or file answers exactly like an unknown one.

use crate::config::DedupScope;
use crate::engine::{self, Engine, FileInfo, Principal, RecordBatch, Records};

use super::error::DysonError;
use super::model::{is_id, CloudFile, FileRecord, TaskRecord};
use super::NAMESPACE;

/// Records and engine lookups of the dialect. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    engine: Engine,
    records: Records,
}

fn task_key(id: &str) -> String {
    format!("task:{id}")
}

fn file_key(id: &str) -> String {
    format!("file:{id}")
}

impl Store {
    pub fn new(engine: Engine) -> Self {
        let records = engine.records(NAMESPACE);
        Store { engine, records }
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The record of a task of `owner`, without asking the engine whether its upload is still
    /// open (the engine's own calls answer that; see [`Store::refuse`]).
    pub async fn task_record(&self, owner: &Principal, id: &str) -> Result<TaskRecord, DysonError> {
        if !is_id(id) {
            return Err(DysonError::UnknownTask);
        }
        self.records
            .get(&task_key(id))
            .await?
            .filter(|t: &TaskRecord| &t.owner == owner)
            .ok_or(DysonError::UnknownTask)
    }

    /// `error` for a request about `task`, unless the task is gone: a gone task answers 404
    /// before any other check (spec §5). Asked only on error paths, so a chunk upload costs no
    /// extra lookup.
    pub async fn refuse(&self, task: &TaskRecord, error: DysonError) -> DysonError {
        match self.engine.upload(&task.owner, task.upload).await {
            Ok(_) => error,
            Err(e) => e.into(),
        }
    }

    /// Stores a new task under a fresh id and returns the id.
    /// Records a task under `id` (from [`super::model::new_id`]); false when `id` is taken.
    pub async fn insert_task_as(&self, id: &str, task: &TaskRecord) -> Result<bool, DysonError> {
        Ok(self.records.insert_new(&task_key(id), task).await?)
    }

    /// Replaces a task by the file it became, in one atomic change.
    pub async fn finish_task(&self, task_id: &str, file: &FileRecord) -> Result<(), DysonError> {
        let batch = RecordBatch::new()
            .put(&file_key(&file.cloud.id), file)
            .remove(&task_key(task_id));
        if self.records.commit(batch).await? {
            Ok(())
        } else {
            Err(DysonError::Internal("file record not written".into()))
        }
    }

    /// A file of `owner` and its engine file; unknown, foreign and expired files are all
    /// [`DysonError::UnknownFile`].
    pub async fn file(
        &self,
        owner: &Principal,
        id: &str,
    ) -> Result<(FileRecord, FileInfo), DysonError> {
        if !is_id(id) {
            return Err(DysonError::UnknownFile);
        }
        let rec: FileRecord = self
            .records
            .get(&file_key(id))
            .await?
            .filter(|r: &FileRecord| r.cloud.account_id == owner.as_str())
            .ok_or(DysonError::UnknownFile)?;
        let info = self.engine.owned_file(owner, &rec.file).await?;
        Ok((rec, info))
    }

    /// De-duplication (spec §4): a completed, unexpired, unencrypted Dyson file whose digest of
    /// `kind` is `hex`, of `owner` or (with `global` scope) of anyone. The newest wins.
    pub async fn find_duplicate(
        &self,
        owner: &Principal,
        scope: DedupScope,
        kind: engine::DigestKind,
        hex: &str,
    ) -> Result<Option<CloudFile>, DysonError> {
        let scope = match scope {
            DedupScope::Principal => Some(owner),
            DedupScope::Global => None,
        };
        let mut found = self.engine.find_files_by_digest(scope, kind, hex).await?;
        found.sort_by_key(|f| std::cmp::Reverse(f.created_at));
        for info in found {
            // Only files this dialect finished carry its alias; a sealed file's engine digests
            // are those of the ciphertext, and its record says so too.
            let Some((_, legacy)) = info.aliases.iter().find(|(ns, _)| ns == NAMESPACE) else {
                continue;
            };
            let rec: Option<FileRecord> = self.records.get(&file_key(legacy)).await?;
            if let Some(rec) = rec.filter(|r| r.file == info.id && !r.cloud.is_encrypted) {
                return Ok(Some(rec.cloud));
            }
        }
        Ok(None)
    }

    /// Removes records whose task or file the engine no longer has (expired and swept): the
    /// engine sweeps bytes and its own metadata, this sweeps the dialect's. Returns how many
    /// records went.
    pub async fn sweep(&self) -> Result<usize, engine::Error> {
        let mut removed = 0;
        for (key, task) in self.records.scan::<TaskRecord>("task:").await? {
            match self.engine.upload(&task.owner, task.upload).await {
                Err(engine::Error::UnknownUpload) => {
                    let batch = RecordBatch::new().unchanged(&key, &task).remove(&key);
                    removed += usize::from(self.records.commit(batch).await?);
                }
                Err(e) => return Err(e),
                Ok(_) => {}
            }
        }
        for (key, file) in self.records.scan::<FileRecord>("file:").await? {
            if self.engine.file(&file.file).await?.is_none() {
                let batch = RecordBatch::new().unchanged(&key, &file).remove(&key);
                removed += usize::from(self.records.commit(batch).await?);
            }
        }
        Ok(removed)
    }
}
