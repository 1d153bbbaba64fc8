//! Body progress timeout: a request body that does not bring [`PROGRESS_BYTES`] (or its end)
//! within `body_timeout` fails.
//!
//! actix's `client_request_timeout` only covers the request head; a client that sends its head
//! and then trickles the body (1 byte/s) would hold a handler, a spool file and the upload's
//! locks for as long as it likes. A plain idle timeout would not stop it either, since every
//! byte restarts the clock. This middleware wraps every request's payload stream: the clock
//! restarts only once another [`PROGRESS_BYTES`] have arrived, and when it runs out the next
//! read yields an I/O `TimedOut` error instead of waiting. So a body must average at least
//! `PROGRESS_BYTES` per `body_timeout` (17 bytes/s with the default 60 s); any real client on
//! any real link is far above that. The handler sees an ordinary cut-off body (the same path as a disconnect), so the
//! engine truncates or deletes what the request had written and the dialect answers its
//! "body cut off" error; the connection is then closed, because its body was not read to the end.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use actix_web::body::MessageBody;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::middleware::Next;
use actix_web::HttpMessage;
use bytes::Bytes;
use futures_util::Stream;
use std::future::Future;
use tokio::time::{Instant, Sleep};

/// How many body bytes restart the clock. Small enough that a short body's end (or any real
/// link) always makes progress; large enough that a trickle of single bytes does not.
pub const PROGRESS_BYTES: usize = 1024;

/// Wraps the request's payload in an [`ProgressTimeout`] of `timeout`.
pub async fn limit_body_progress(
    timeout: Duration,
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let inner = req.take_payload();
    req.set_payload(Payload::Stream {
        payload: Box::pin(ProgressTimeout::new(inner, timeout)),
    });
    next.call(req).await
}

/// A payload stream that fails when `timeout` passes without [`PROGRESS_BYTES`] arriving.
pub struct ProgressTimeout<S> {
    inner: S,
    timeout: Duration,
    /// Armed at the start; reset whenever `PROGRESS_BYTES` more have arrived.
    sleep: Pin<Box<Sleep>>,
    /// Bytes since the clock last restarted.
    since_reset: usize,
    /// Once timed out, the stream ends after yielding the error.
    done: bool,
}

impl<S> ProgressTimeout<S> {
    pub fn new(inner: S, timeout: Duration) -> Self {
        ProgressTimeout {
            inner,
            timeout,
            sleep: Box::pin(tokio::time::sleep(timeout)),
            since_reset: 0,
            done: false,
        }
    }
}

impl<S> Stream for ProgressTimeout<S>
where
    S: Stream<Item = Result<Bytes, PayloadError>> + Unpin,
{
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if this.done {
            return Poll::Ready(None);
        }
        match Pin::new(&mut this.inner).poll_next(cx) {
            Poll::Ready(item) => {
                if let Some(Ok(bytes)) = &item {
                    this.since_reset += bytes.len();
                    if this.since_reset >= PROGRESS_BYTES {
                        this.since_reset = 0;
                        let deadline = Instant::now() + this.timeout;
                        this.sleep.as_mut().reset(deadline);
                    }
                }
                Poll::Ready(item)
            }
            Poll::Pending => match this.sleep.as_mut().poll(cx) {
                Poll::Ready(()) => {
                    this.done = true;
                    let secs = this.timeout.as_secs_f64();
                    tracing::info!(timeout_secs = secs, "request body too slow; cut off");
                    Poll::Ready(Some(Err(PayloadError::Io(std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        format!("fewer than {PROGRESS_BYTES} body bytes in {secs} s"),
                    )))))
                }
                Poll::Pending => Poll::Pending,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;

    #[tokio::test(start_paused = true)]
    async fn a_stream_that_stalls_past_the_timeout_fails_with_timed_out() {
        // Arrange: one item, then nothing ever again.
        let stalled = futures_util::stream::iter([Ok(Bytes::from_static(b"a"))])
            .chain(futures_util::stream::pending());
        let mut s = ProgressTimeout::new(Box::pin(stalled), Duration::from_secs(5));

        // Act / Assert
        assert_eq!(s.next().await.unwrap().unwrap(), Bytes::from_static(b"a"));
        match s.next().await {
            Some(Err(PayloadError::Io(e))) => assert_eq!(e.kind(), std::io::ErrorKind::TimedOut),
            other => panic!("expected a timeout, got {other:?}"),
        }
        assert!(s.next().await.is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn a_trickle_of_one_byte_a_second_is_cut_off_after_the_timeout() {
        // Arrange: 1 byte/s, forever, under a 5 s timeout.
        let trickle = futures_util::stream::iter(0..).then(|i: u64| async move {
            tokio::time::sleep(Duration::from_secs(1)).await;
            Ok(Bytes::from(vec![i as u8]))
        });
        let s = ProgressTimeout::new(Box::pin(trickle), Duration::from_secs(5));

        // Act
        let items: Vec<_> = s.collect().await;

        // Assert: a few bytes, then the timeout.
        assert!(items.len() <= 6, "{} items", items.len());
        assert!(matches!(items.last(), Some(Err(PayloadError::Io(_)))));
    }

    #[tokio::test(start_paused = true)]
    async fn a_slow_but_steady_body_is_never_cut_off() {
        // Arrange: ten 2 KiB pieces 4 s apart under a 5 s timeout (40 s in all).
        let slow = futures_util::stream::iter(0..10).then(|i| async move {
            tokio::time::sleep(Duration::from_secs(4)).await;
            Ok(Bytes::from(vec![i as u8; 2048]))
        });
        let s = ProgressTimeout::new(Box::pin(slow), Duration::from_secs(5));

        // Act
        let items: Vec<_> = s.collect().await;

        // Assert
        assert_eq!(items.len(), 10);
        assert!(items.iter().all(Result::is_ok));
    }
}
