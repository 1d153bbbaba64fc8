//! Staging: a body held aside in a temporary file until the front end decides what to do with it.
//!
//! Some requests can only be judged once their whole body has arrived (a signature that covers
//! the bytes, a parameter that comes after the data). Their bytes are streamed into a staging
//! file (never held in memory), and then replayed into an upload with [`Staged::stream`] or
//! dropped, which removes the file. A body cut off while staging keeps nothing. Staging files
//! live in the spool root under names that are not upload ids, so a restart removes any leftover.

use std::fmt::Display;
use std::fs::File;
use std::path::PathBuf;

use bytes::{Bytes, BytesMut};
use futures_util::Stream;
use tokio::io::AsyncReadExt;

use super::blob::{TempGuard, IO_BUF};
use super::error::Error;
use super::ingest::{pump, AppendSink, End};
use super::Engine;

/// A body held in a temporary file; the file is removed when this is dropped.
#[derive(Debug)]
pub struct Staged {
    path: PathBuf,
    len: u64,
}

impl Engine {
    /// Streams `body` into a new staging file. More than `limit` bytes is [`Error::TooLarge`]
    /// and a body that fails mid-stream is [`Error::Body`]; either way nothing is kept.
    pub async fn stage<S, E>(&self, body: S, limit: Option<u64>) -> Result<Staged, Error>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin,
        E: Display,
    {
        self.guard_space(0).await?;
        let path = self.inner.blob.spool_root().join(format!(
            "stage-{:016x}{:016x}",
            rand::random::<u64>(),
            rand::random::<u64>()
        ));
        let guard = TempGuard::new(path.clone());
        let file = self.blocking(move |_| Ok(File::create(path)?)).await?;
        let pumped = pump(body, limit, None, AppendSink(file)).await;
        match pumped.end {
            End::Complete => {}
            End::Body(e) => return Err(Error::Body(e)),
            End::TooLarge(limit) => return Err(Error::TooLarge { limit }),
            End::Sink(e) => return Err(e),
        }
        Ok(Staged {
            path: guard.keep(),
            len: pumped.bytes,
        })
    }
}

impl Staged {
    /// Number of bytes held.
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The held bytes, read back in bounded buffers (e.g. into `put_range` or a hasher).
    pub fn stream(&self) -> impl Stream<Item = Result<Bytes, std::io::Error>> + Unpin + Send {
        let path = self.path.clone();
        let state: Option<Option<tokio::fs::File>> = Some(None);
        Box::pin(futures_util::stream::unfold(
            (state, path),
            |(state, path)| async move {
                let mut file = match state {
                    None => return None,
                    Some(Some(f)) => f,
                    Some(None) => match tokio::fs::File::open(&path).await {
                        Ok(f) => f,
                        Err(e) => return Some((Err(e), (None, path))),
                    },
                };
                let mut buf = BytesMut::with_capacity(IO_BUF);
                match file.read_buf(&mut buf).await {
                    Ok(0) => None,
                    Ok(_) => Some((Ok(buf.freeze()), (Some(Some(file)), path))),
                    Err(e) => Some((Err(e), (None, path))),
                }
            },
        ))
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}
