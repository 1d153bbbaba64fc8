//! Completion: verify what the front end declared, then commit by renaming into the content
//! store. In-order uploads already hold final digests, so completing them reads no bytes.

use super::digest::{hash_file_range, hex_eq, DigestState};
use super::error::Error;
use super::meta::{now_ms, ChunkLoc, FileRec, PendingFile, UploadRec, UploadRecState};
use super::types::*;
use super::{stats, DataState, Engine};

impl Engine {
    /// Verifies and stores an `Indexed` or `Ranged` upload as a file.
    ///
    /// Expected outcomes (a missing chunk, an incomplete range, a mismatch) come back as
    /// [`Completion`] values. On a mismatch the upload is marked failed and keeps its data.
    pub async fn complete(
        &self,
        owner: &Principal,
        id: UploadId,
        expect: Expectation,
        file: NewFile,
    ) -> Result<Completion, Error> {
        let started = std::time::Instant::now();
        self.owned_upload(owner, id).await?;
        let cell = self.cell(&id);
        let mut data = cell.data.lock().await;
        // Re-read under the lock: a racing completion may have finished it.
        let rec = self.owned_upload(owner, id).await?;
        let end = match rec.layout {
            Layout::Indexed { count } => {
                // A chunk that commits while the fold runs is parked (the in-order path needs
                // the data lock held here), so the listing may show chunks the fold has not
                // seen: fold again until the listing and the folded prefix agree. Each extra
                // round needs another chunk to have arrived meanwhile, so this ends.
                let mut rounds = 0;
                loop {
                    self.fold(&id, &mut data).await?;
                    let rec = self.owned_upload(owner, id).await?;
                    let chunks = self.blocking(move |i| i.meta.chunks(&id)).await?;
                    let count = expect
                        .chunk_count
                        .or(count)
                        .unwrap_or_else(|| chunks.last().map(|(k, _)| k + 1).unwrap_or(0));
                    let mut expected = 0u64;
                    for (k, _) in chunks.iter().take_while(|(k, _)| *k < count) {
                        if *k != expected {
                            break;
                        }
                        expected += 1;
                    }
                    if expected < count {
                        return Ok(Completion::MissingChunk(expected));
                    }
                    if rec.frontier < count {
                        rounds += 1;
                        if rounds < 1000 {
                            continue;
                        }
                        return Err(Error::Corrupt(format!(
                            "chunks 0..{count} present but only {} folded",
                            rec.frontier
                        )));
                    }
                    // Chunks at or beyond `count` are ignored: the file ends where chunk
                    // `count` begins.
                    break match chunks.iter().find(|(k, _)| *k == count) {
                        Some((_, c)) => match c.loc {
                            ChunkLoc::Data { offset } => offset,
                            ChunkLoc::Parked { .. } => rec.data_len,
                        },
                        None => rec.data_len,
                    };
                }
            }
            Layout::Ranged { size } => {
                let received = rec.ranged_received();
                if received < size {
                    return Ok(Completion::Incomplete { received, size });
                }
                size
            }
            Layout::Batch { .. } => return Err(Error::WrongLayout(rec.layout)),
        };
        let rec = self.owned_upload(owner, id).await?;
        let mut wanted = rec.digests;
        for (kind, _) in &expect.digests {
            wanted = wanted.with(*kind);
        }
        let verifying = std::time::Instant::now();
        let digests = self.final_digests(&rec, wanted, end, &mut data).await?;
        let mismatch = verify(&expect, end, &digests);
        stats::verification(verifying.elapsed());
        if let Some(m) = mismatch {
            let mut failed = rec.clone();
            failed.state = UploadRecState::Failed(m.clone());
            failed.updated_ms = now_ms();
            let (rec, mismatch, strict) = (failed.clone(), m.clone(), self.strict());
            self.blocking(move |i| {
                i.meta.mark_failed(&rec, &mismatch)?;
                if strict {
                    i.meta.flush()?;
                }
                i.journal_bump();
                Ok(())
            })
            .await?;
            stats::upload_failed(&failed.namespace);
            return Ok(Completion::Mismatch(m));
        }
        let data_path = self.inner.blob.data_path(&id);
        self.blocking(move |_| {
            let f = std::fs::OpenOptions::new().write(true).open(&data_path)?;
            if f.metadata()?.len() != end {
                f.set_len(end)?;
            }
            // Bytes before metadata: the blob must be durable before a file record points at it.
            f.sync_all()?;
            Ok(())
        })
        .await?;
        let rec_namespace = rec.namespace.clone();
        let file = FileRec::new(&rec, file, end, digests);
        // After verification, before anything moves: a refusal leaves the upload as it was.
        self.ask_gate(&rec, std::slice::from_ref(&file)).await?;
        let pending = vec![PendingFile {
            file,
            source: format!("spool/{id}/data"),
        }];
        let mut files = self.finish_pending(rec, pending).await?;
        data.running = None;
        data.hashing = None;
        drop(data);
        self.forget_cell(&id);
        stats::upload_completed(&rec_namespace, 1);
        stats::assembly(started.elapsed());
        Ok(Completion::Completed(files.remove(0)))
    }

    /// The digests of bytes `0..end` of the data file: from the running digest when it covers
    /// them (the in-order case, no read), otherwise continuing or restarting with a read pass.
    async fn final_digests(
        &self,
        rec: &UploadRec,
        wanted: DigestSet,
        end: u64,
        data: &mut DataState,
    ) -> Result<Digests, Error> {
        let path = self.inner.blob.data_path(&rec.id);
        data.settle().await;
        let (start, state) = match data.running.take() {
            Some((len, s)) if len <= end && wanted == rec.digests => (len, s),
            _ => (0, DigestState::new(wanted)),
        };
        let state = if start < end {
            hash_file_range(path, state, start, end).await?
        } else {
            state
        };
        data.running = Some((end, state.clone()));
        Ok(state.finish())
    }

    /// Records the completion intent, moves each pending file's bytes into the content store and
    /// commits the files. Restart-safe: `reconcile` calls this again for an interrupted intent.
    pub(crate) async fn finish_pending(
        &self,
        mut rec: UploadRec,
        pending: Vec<PendingFile>,
    ) -> Result<Vec<FileInfo>, Error> {
        let previous = rec.state.clone();
        if !matches!(rec.state, UploadRecState::Completing(_)) {
            rec.state = UploadRecState::Completing(pending.clone());
            let r = rec.clone();
            self.blocking(move |i| {
                i.meta.commit_upload(&r, &[])?;
                // The intent must be durable before any bytes move (in every durability mode).
                i.meta.flush()
            })
            .await?;
        }
        let id = rec.id;
        let strict = self.strict();
        let moved = pending.clone();
        let result = self
            .blocking(move |i| {
                for p in &moved {
                    let src = i.blob.root().join(&p.source);
                    if src.exists() {
                        i.blob.commit_blob(&src, &p.file.digests.sha256)?;
                    } else if !i.blob.blob_path(&p.file.digests.sha256).exists() {
                        return Err(Error::Corrupt(format!(
                            "completion of upload {id}: bytes of {} are gone",
                            p.file.name
                        )));
                    }
                }
                let files: Vec<FileRec> = moved.iter().map(|p| p.file.clone()).collect();
                i.meta.finish_completion(&id, &files)?;
                if strict {
                    i.meta.flush()?;
                }
                i.journal_bump();
                i.blob.remove_spool(&id)?;
                Ok(files.iter().map(|f| f.info()).collect())
            })
            .await;
        if result.is_err() && !matches!(previous, UploadRecState::Completing(_)) {
            // Roll back the intent while every source is still in the spool, so the front end
            // can retry; otherwise start-up finishes what was moved.
            rec.state = previous;
            let root = self.inner.blob.root().to_path_buf();
            let _ = self
                .blocking(move |i| {
                    if pending.iter().all(|p| root.join(&p.source).exists()) {
                        i.meta.commit_upload(&rec, &[])?;
                        i.meta.flush()?;
                    }
                    Ok(())
                })
                .await;
        }
        result
    }
}

/// Compares what was declared with what was computed; `None` when everything matches.
pub(crate) fn verify(expect: &Expectation, size: u64, digests: &Digests) -> Option<Mismatch> {
    for (kind, declared) in &expect.digests {
        let actual = digests.get(*kind).unwrap_or_default();
        if !hex_eq(declared, actual) {
            return Some(Mismatch {
                digest: Some(*kind),
                expected: declared.clone(),
                actual: actual.to_string(),
            });
        }
    }
    if let Some(want) = expect.size {
        if want != size {
            return Some(Mismatch {
                digest: None,
                expected: want.to_string(),
                actual: size.to_string(),
            });
        }
    }
    None
}
