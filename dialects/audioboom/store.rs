//! Attachments and clips in the engine (specs/audioboom.md §5.4, §6): legacy records in the
//! `audioboom` namespace, bytes in a `Ranged` upload that becomes a file, aliased
//! `audioboom:<id>`, as soon as `received == size`.

use super::error::AudioboomError;
use super::model::{AttachmentRec, ClipRec, NAMESPACE};
use super::State;
use crate::engine::{
    self, Completion, CutOff, DigestKind, DigestSet, Expectation, FileInfo, Layout, NewFile,
    NewUpload, Principal, RangeOutcome, Staged,
};
use std::time::SystemTime;

fn internal(e: engine::Error) -> AudioboomError {
    AudioboomError::engine(e, AudioboomError::Internal(None))
}

/// Where an attachment stands.
#[derive(Clone, Debug)]
pub enum AttState {
    /// Still receiving; `received` is the gap-free prefix.
    Receiving(u64),
    /// Complete: its file, whose SHA-1 the engine computed once (§7).
    Complete(Box<FileInfo>),
}

impl AttState {
    pub fn received(&self, size: u64) -> u64 {
        match self {
            AttState::Receiving(r) => *r,
            AttState::Complete(_) => size,
        }
    }
}

/// The attachment `id` if `owner` has it; another principal's is unknown (§4, Ownership).
pub async fn find_attachment(
    state: &State,
    owner: &Principal,
    id: u64,
) -> Result<Option<AttachmentRec>, AudioboomError> {
    let rec: Option<AttachmentRec> = state
        .engine
        .records(NAMESPACE)
        .get(&AttachmentRec::key(id))
        .await
        .map_err(internal)?;
    Ok(rec.filter(|r| &r.owner == owner))
}

/// The state of an attachment, completing it if all of its bytes are there (a request that
/// filled it may have stopped before completing). `None` once it expired (§5.4).
pub async fn attachment_state(
    state: &State,
    rec: &AttachmentRec,
) -> Result<Option<AttState>, AudioboomError> {
    match state.engine.upload(&rec.owner, rec.upload).await {
        Ok(info) if info.received >= rec.size => complete(state, rec).await,
        Ok(info) => Ok(Some(AttState::Receiving(info.received))),
        Err(engine::Error::UnknownUpload) => Ok(file_of(state, rec)
            .await?
            .map(|f| AttState::Complete(Box::new(f)))),
        Err(e) => Err(internal(e)),
    }
}

/// Turns a fully received attachment into a file that expires `attachment_ttl` from now
/// unless a clip references it.
pub async fn complete(
    state: &State,
    rec: &AttachmentRec,
) -> Result<Option<AttState>, AudioboomError> {
    let file = NewFile {
        name: rec.filename.clone(),
        content_type: Some(rec.content_type.clone()),
        expires_at: Some(SystemTime::now() + state.settings.attachment_ttl),
        aliases: vec![(NAMESPACE.to_owned(), rec.id.to_string())],
    };
    let done = state
        .engine
        .complete(&rec.owner, rec.upload, Expectation::default(), file)
        .await;
    match done {
        Ok(Completion::Completed(f)) => Ok(Some(AttState::Complete(Box::new(f)))),
        Ok(Completion::Incomplete { received, .. }) => Ok(Some(AttState::Receiving(received))),
        Ok(other @ (Completion::MissingChunk(_) | Completion::Mismatch(_))) => Err(internal(
            engine::Error::Corrupt(format!("ranged completion without expectations: {other:?}")),
        )),
        // Another request completed it first.
        Err(engine::Error::UnknownUpload) => Ok(file_of(state, rec)
            .await?
            .map(|f| AttState::Complete(Box::new(f)))),
        Err(e) => Err(internal(e)),
    }
}

async fn file_of(state: &State, rec: &AttachmentRec) -> Result<Option<FileInfo>, AudioboomError> {
    let Some(id) = state
        .engine
        .resolve_alias(NAMESPACE, &rec.id.to_string())
        .await
        .map_err(internal)?
    else {
        return Ok(None);
    };
    match state.engine.owned_file(&rec.owner, &id).await {
        Ok(f) => Ok(Some(f)),
        Err(engine::Error::UnknownFile) => Ok(None),
        Err(e) => Err(internal(e)),
    }
}

/// What a create request declared (§5.1).
pub struct NewAttachment {
    pub size: u64,
    pub offset: u64,
    pub filename: String,
    pub content_type: String,
}

/// Opens the attachment and stores its first chunk; on any failure nothing is left (§5.1: "a
/// create request that is cut off or rejected creates nothing").
pub async fn create_attachment(
    state: &State,
    owner: &Principal,
    new: NewAttachment,
    chunk: &Staged,
) -> Result<(AttachmentRec, AttState), AudioboomError> {
    let engine = &state.engine;
    let records = engine.records(NAMESPACE);
    // Taken before the upload opens so the upload carries it (a failed create leaves a gap,
    // which the legacy ids allow: they are only ever compared).
    let attachment_id = records.next_id("attachment").await.map_err(internal)?;
    let upload = engine
        .create_upload(NewUpload {
            owner: owner.clone(),
            namespace: NAMESPACE.to_owned(),
            layout: Layout::Ranged { size: new.size },
            digests: DigestSet::SHA256.with(DigestKind::Sha1),
            ttl: Some(state.settings.attachment_ttl),
            labels: [
                ("attachment_id".to_owned(), attachment_id.to_string()),
                ("name".to_owned(), new.filename.clone()),
            ]
            .into(),
        })
        .await
        .map_err(internal)?;
    let stored = async {
        let received = match engine
            .put_range(
                owner,
                upload.id,
                new.offset,
                chunk.stream(),
                CutOff::Discard,
            )
            .await?
        {
            RangeOutcome::Stored { received, .. } => received,
            RangeOutcome::Conflict { offset } => {
                return Err(engine::Error::Corrupt(format!(
                    "a new attachment conflicts with itself at {offset}"
                )))
            }
        };
        let rec = AttachmentRec {
            id: attachment_id,
            owner: owner.clone(),
            upload: upload.id,
            filename: new.filename,
            content_type: new.content_type,
            size: new.size,
        };
        if !records
            .insert_new(&AttachmentRec::key(rec.id), &rec)
            .await?
        {
            return Err(engine::Error::Corrupt(format!(
                "attachment {} already recorded",
                rec.id
            )));
        }
        Ok((rec, received))
    }
    .await;
    let (rec, received) = match stored {
        Ok(done) => done,
        Err(e) => {
            if let Err(gone) = engine.abort(owner, upload.id).await {
                tracing::warn!(error = %gone, "audioboom: could not remove a failed attachment");
            }
            return Err(internal(e));
        }
    };
    let att = if received == rec.size {
        complete(state, &rec)
            .await?
            .unwrap_or(AttState::Receiving(received))
    } else {
        AttState::Receiving(received)
    };
    Ok((rec, att))
}

/// The clip `id` if `owner` has it.
pub async fn find_clip(
    state: &State,
    owner: &Principal,
    id: u64,
) -> Result<Option<ClipRec>, AudioboomError> {
    let rec: Option<ClipRec> = state
        .engine
        .records(NAMESPACE)
        .get(&ClipRec::key(id))
        .await
        .map_err(internal)?;
    Ok(rec.filter(|r| &r.owner == owner))
}

/// A new clip id (a counter, never reused).
pub async fn next_clip_id(state: &State) -> Result<u64, AudioboomError> {
    state
        .engine
        .records(NAMESPACE)
        .next_id("clip")
        .await
        .map_err(internal)
}

pub async fn insert_clip(state: &State, rec: &ClipRec) -> Result<(), AudioboomError> {
    match state
        .engine
        .records(NAMESPACE)
        .insert_new(&ClipRec::key(rec.id), rec)
        .await
    {
        Ok(true) => Ok(()),
        Ok(false) => Err(internal(engine::Error::Corrupt(format!(
            "clip {} already recorded",
            rec.id
        )))),
        Err(e) => Err(internal(e)),
    }
}

/// A referenced attachment is kept as long as a clip uses it (§5.4).
pub async fn keep_file(state: &State, file: &FileInfo) -> Result<(), AudioboomError> {
    if file.expires_at.is_none() {
        return Ok(());
    }
    state
        .engine
        .set_file_expiry(&file.owner, &file.id, None)
        .await
        .map(|_| ())
        .map_err(internal)
}
