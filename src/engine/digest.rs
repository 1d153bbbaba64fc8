//! Incremental digests and the hashing pipeline.
//!
//! SHA-256 is always computed (content address, ETag); SHA-1 and MD5 only when the upload asked
//! for them. Each algorithm runs on its own blocking thread, fed with reference-counted buffers
//! (`Bytes`, no copy), so hashing overlaps with the socket read and the disk write: an upload runs
//! at the speed of its slowest stage, not the sum of the stages (DESIGN.md, data path step 3).

use std::sync::Arc;

use bytes::Bytes;
use md5::Md5;
use sha1::Sha1;
use sha2::{Digest as _, Sha256};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::types::{DigestSet, Digests};

/// How many blocks may wait for one hashing thread (bounds memory per request).
const PIPE_DEPTH: usize = 4;

/// A run of body pieces handed on together (about 1 MiB): one channel message and one thread
/// wake-up per block instead of per piece, and no copy.
pub(crate) type Block = Arc<Vec<Bytes>>;

/// The running state of every requested digest. Cloning it is cheap (a few hundred bytes), which
/// is how a failed chunk rolls the running digest back to its start.
#[derive(Clone)]
pub(crate) struct DigestState {
    sha256: Sha256,
    sha1: Option<Sha1>,
    md5: Option<Md5>,
}

impl DigestState {
    pub(crate) fn new(set: DigestSet) -> Self {
        DigestState {
            sha256: Sha256::new(),
            sha1: set.sha1.then(Sha1::new),
            md5: set.md5.then(Md5::new),
        }
    }

    #[cfg(test)]
    pub(crate) fn update(&mut self, data: &[u8]) {
        self.sha256.update(data);
        if let Some(h) = &mut self.sha1 {
            h.update(data);
        }
        if let Some(h) = &mut self.md5 {
            h.update(data);
        }
    }

    pub(crate) fn finish(self) -> Digests {
        Digests {
            sha256: hex::encode(self.sha256.finalize()),
            sha1: self.sha1.map(|h| hex::encode(h.finalize())),
            md5: self.md5.map(|h| hex::encode(h.finalize())),
        }
    }
}

/// Sees every byte of a body, in order, on its own thread while the body streams in: a front
/// end's own content digest (for example a content identifier built over fixed-size blocks) is
/// then ready when the body ends, without a second pass over the stored bytes.
pub trait ContentObserver: Send + 'static {
    fn update(&mut self, data: &[u8]);
}

/// One hashing thread per algorithm (and one per observer), fed through bounded channels.
///
/// A pipe may start where an earlier pipe ends while that one still hashes
/// ([`DigestPipe::start_after`]): each new thread first waits for its predecessor's final state,
/// so a chunk is acknowledged without waiting for its hashing, and the next chunk's bytes queue
/// (bounded) meanwhile. Each thread returns its start and end state, so a failed chunk can be
/// rolled back to its start.
pub(crate) struct DigestPipe {
    senders: Vec<mpsc::Sender<Block>>,
    sha256: JoinHandle<(Sha256, Sha256)>,
    sha1: Option<JoinHandle<(Sha1, Sha1)>>,
    md5: Option<JoinHandle<(Md5, Md5)>>,
    observer: Option<JoinHandle<Box<dyn ContentObserver>>>,
}

/// Where a hashing thread starts: a known state, or the end of a predecessor still running.
enum Seed<H> {
    Ready(H),
    After(JoinHandle<(H, H)>),
}

fn spawn_hasher<H>(
    algorithm: &'static str,
    seed: Seed<H>,
) -> (mpsc::Sender<Block>, JoinHandle<(H, H)>)
where
    H: sha2::Digest + Clone + Send + 'static,
{
    let (tx, mut rx) = mpsc::channel::<Block>(PIPE_DEPTH);
    let handle = tokio::task::spawn_blocking(move || {
        let mut hasher = match seed {
            Seed::Ready(h) => h,
            // A blocking-pool thread may wait on the runtime; a failed predecessor fails this one.
            Seed::After(prev) => match tokio::runtime::Handle::current().block_on(prev) {
                Ok((_, end)) => end,
                Err(e) => std::panic::resume_unwind(Box::new(format!("previous hasher: {e}"))),
            },
        };
        let start = hasher.clone();
        let (mut bytes, mut busy) = (0u64, std::time::Duration::ZERO);
        while let Some(block) = rx.blocking_recv() {
            let t = std::time::Instant::now();
            for piece in block.iter() {
                hasher.update(piece);
                bytes += piece.len() as u64;
            }
            busy += t.elapsed();
        }
        super::stats::hashed(algorithm, bytes, busy);
        (start, hasher)
    });
    (tx, handle)
}

impl DigestPipe {
    /// Starts hashing threads that continue from `state`.
    pub(crate) fn start(state: DigestState) -> Self {
        Self::spawn(
            Seed::Ready(state.sha256),
            state.sha1.map(Seed::Ready),
            state.md5.map(Seed::Ready),
        )
    }

    /// Starts hashing threads that continue where `prev` (closed, possibly still hashing) ends.
    pub(crate) fn start_after(prev: DigestPipe) -> Self {
        debug_assert!(prev.senders.is_empty() && prev.observer.is_none());
        Self::spawn(
            Seed::After(prev.sha256),
            prev.sha1.map(Seed::After),
            prev.md5.map(Seed::After),
        )
    }

    fn spawn(sha256: Seed<Sha256>, sha1: Option<Seed<Sha1>>, md5: Option<Seed<Md5>>) -> Self {
        let mut senders = Vec::with_capacity(3);
        let (tx, sha256) = spawn_hasher("sha256", sha256);
        senders.push(tx);
        let sha1 = sha1.map(|h| {
            let (tx, handle) = spawn_hasher("sha1", h);
            senders.push(tx);
            handle
        });
        let md5 = md5.map(|h| {
            let (tx, handle) = spawn_hasher("md5", h);
            senders.push(tx);
            handle
        });
        DigestPipe {
            senders,
            sha256,
            sha1,
            md5,
            observer: None,
        }
    }

    /// Ends the input; the threads hash what is queued in the background. The result is a pipe
    /// to [`DigestPipe::finish`] or to continue with [`DigestPipe::start_after`].
    pub(crate) fn close(mut self) -> Self {
        self.senders.clear();
        self
    }

    /// Like [`DigestPipe::start`], with `observer` fed the same bytes on a thread of its own.
    pub(crate) fn start_observed(
        state: DigestState,
        mut observer: Box<dyn ContentObserver>,
    ) -> Self {
        let mut pipe = Self::start(state);
        let (tx, mut rx) = mpsc::channel::<Block>(PIPE_DEPTH);
        pipe.observer = Some(tokio::task::spawn_blocking(move || {
            while let Some(block) = rx.blocking_recv() {
                for piece in block.iter() {
                    observer.update(piece);
                }
            }
            observer
        }));
        pipe.senders.push(tx);
        pipe
    }

    /// Queues `block` from a blocking thread.
    pub(crate) fn feed_blocking(&self, block: &Block) {
        for tx in &self.senders {
            let _ = tx.blocking_send(block.clone());
        }
    }

    /// Finishes like [`DigestPipe::finish`] and hands back the observer.
    pub(crate) async fn finish_observed(
        mut self,
    ) -> std::io::Result<(DigestState, Option<Box<dyn ContentObserver>>)> {
        let observer = self.observer.take();
        let state = self.finish().await?;
        let observer = match observer {
            Some(h) => Some(
                h.await
                    .map_err(|e| std::io::Error::other(format!("observer: {e}")))?,
            ),
            None => None,
        };
        Ok((state, observer))
    }

    /// Queues `block` for every hashing thread (waits while they are behind).
    pub(crate) async fn feed(&self, block: &Block) {
        for tx in &self.senders {
            // A closed channel means the thread panicked; `finish` reports it.
            let _ = tx.send(block.clone()).await;
        }
    }

    /// Waits for the threads to drain and returns the continued state.
    pub(crate) async fn finish(self) -> std::io::Result<DigestState> {
        Ok(self.finish_both().await?.1)
    }

    /// Waits for the threads to drain; returns the state they started from and the final one.
    pub(crate) async fn finish_both(mut self) -> std::io::Result<(DigestState, DigestState)> {
        self.senders.clear();
        let join = |e: tokio::task::JoinError| std::io::Error::other(format!("hasher: {e}"));
        let sha256 = self.sha256.await.map_err(join)?;
        let sha1 = match self.sha1 {
            Some(h) => Some(h.await.map_err(join)?),
            None => None,
        };
        let md5 = match self.md5 {
            Some(h) => Some(h.await.map_err(join)?),
            None => None,
        };
        let start = DigestState {
            sha256: sha256.0,
            sha1: sha1.as_ref().map(|h| h.0.clone()),
            md5: md5.as_ref().map(|h| h.0.clone()),
        };
        let end = DigestState {
            sha256: sha256.1,
            sha1: sha1.map(|h| h.1),
            md5: md5.map(|h| h.1),
        };
        Ok((start, end))
    }
}

/// Hashes everything `read` yields, pipelined (used for second passes over stored bytes).
pub(crate) async fn hash_file_range(
    path: std::path::PathBuf,
    state: DigestState,
    start: u64,
    end: u64,
) -> std::io::Result<DigestState> {
    let pipe = DigestPipe::start(state);
    let senders = pipe.senders.clone();
    let reader = tokio::task::spawn_blocking(move || -> std::io::Result<()> {
        use std::io::{Read, Seek, SeekFrom};
        let mut f = std::fs::File::open(&path)?;
        f.seek(SeekFrom::Start(start))?;
        let mut left = end.saturating_sub(start);
        while left > 0 {
            let n = left.min(super::blob::IO_BUF as u64) as usize;
            let mut buf = vec![0u8; n];
            f.read_exact(&mut buf)?;
            let buf: Block = Arc::new(vec![Bytes::from(buf)]);
            for tx in &senders {
                let _ = tx.blocking_send(buf.clone());
            }
            left -= n as u64;
        }
        Ok(())
    });
    let read = reader
        .await
        .map_err(|e| std::io::Error::other(format!("reader: {e}")))?;
    let state = pipe.finish().await?;
    read.map(|()| state)
}

/// A cheap 128-bit fingerprint of a chunk's bytes, to recognise an identical re-send.
#[derive(Clone, Default)]
pub(crate) struct Fingerprint(xxhash_rust::xxh3::Xxh3);

impl Fingerprint {
    pub(crate) fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }
    pub(crate) fn finish(&self) -> String {
        format!("{:032x}", self.0.digest128())
    }
}

/// Compares a declared hex digest with a computed one, ignoring letter case.
pub(crate) fn hex_eq(declared: &str, computed: &str) -> bool {
    declared.len() == computed.len() && declared.eq_ignore_ascii_case(computed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn pipe_gives_the_same_digests_as_one_pass() {
        let data: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        let mut direct = DigestState::new(DigestSet::ALL);
        direct.update(&data);
        let pipe = DigestPipe::start(DigestState::new(DigestSet::ALL));
        for piece in data.chunks(7777) {
            pipe.feed(&Arc::new(vec![Bytes::copy_from_slice(piece)]))
                .await;
        }
        let piped = pipe.finish().await.unwrap();
        assert_eq!(direct.finish(), piped.finish());
    }

    #[test]
    fn known_digests_of_hello_world() {
        let mut s = DigestState::new(DigestSet::ALL);
        s.update(b"hello world\n");
        let d = s.finish();
        assert_eq!(
            d.sha256,
            "a948904f2f0f479b8f8197694b30184b0d2ed1c1cd2a1ec0fb85d299a192a447"
        );
        assert_eq!(d.sha1.unwrap(), "22596363b3de40b06f981fb85d82312e8c0ed511");
        assert_eq!(d.md5.unwrap(), "6f5902ac237024bdd0c176cb93063dc4");
    }

    #[test]
    fn hex_comparison_ignores_case_only() {
        assert!(hex_eq("ABCDEF", "abcdef"));
        assert!(!hex_eq("abcde", "abcdef"));
        assert!(!hex_eq("abcdee", "abcdef"));
    }
}
