//! Body idle timeout: a request body that stops arriving for longer than `body_timeout` fails.
//!
//! actix's `client_request_timeout` only covers the request head; a client that sends its head
//! and then trickles the body (1 byte/s) would hold a handler, a spool file and the upload's
//! locks for as long as it likes. This middleware wraps every request's payload stream: when no
//! bytes arrive for `body_timeout`, the next read yields an I/O `TimedOut` error instead of
//! waiting. The handler sees an ordinary cut-off body (the same path as a disconnect), so the
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

/// Wraps the request's payload in an [`IdleTimeout`] of `timeout`.
pub async fn limit_body_idle(
    timeout: Duration,
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let inner = req.take_payload();
    req.set_payload(Payload::Stream {
        payload: Box::pin(IdleTimeout::new(inner, timeout)),
    });
    next.call(req).await
}

/// A payload stream that fails when it waits longer than `timeout` for its next item.
pub struct IdleTimeout<S> {
    inner: S,
    timeout: Duration,
    /// Armed from the last item (or the start); reset whenever an item arrives.
    sleep: Pin<Box<Sleep>>,
    /// Once timed out, the stream ends after yielding the error.
    done: bool,
}

impl<S> IdleTimeout<S> {
    pub fn new(inner: S, timeout: Duration) -> Self {
        IdleTimeout {
            inner,
            timeout,
            sleep: Box::pin(tokio::time::sleep(timeout)),
            done: false,
        }
    }
}

impl<S> Stream for IdleTimeout<S>
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
                let deadline = Instant::now() + this.timeout;
                this.sleep.as_mut().reset(deadline);
                Poll::Ready(item)
            }
            Poll::Pending => match this.sleep.as_mut().poll(cx) {
                Poll::Ready(()) => {
                    this.done = true;
                    let secs = this.timeout.as_secs_f64();
                    tracing::info!(timeout_secs = secs, "request body idle too long; cut off");
                    Poll::Ready(Some(Err(PayloadError::Io(std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        format!("no body bytes for {secs} s"),
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
        let mut s = IdleTimeout::new(Box::pin(stalled), Duration::from_secs(5));

        // Act / Assert
        assert_eq!(s.next().await.unwrap().unwrap(), Bytes::from_static(b"a"));
        match s.next().await {
            Some(Err(PayloadError::Io(e))) => assert_eq!(e.kind(), std::io::ErrorKind::TimedOut),
            other => panic!("expected a timeout, got {other:?}"),
        }
        assert!(s.next().await.is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn a_stream_that_keeps_sending_within_the_timeout_is_never_cut_off() {
        // Arrange: ten items 4 s apart, under a 5 s idle timeout (60 s in total).
        let slow = futures_util::stream::iter(0..10).then(|i| async move {
            tokio::time::sleep(Duration::from_secs(4)).await;
            Ok(Bytes::from(vec![i as u8]))
        });
        let s = IdleTimeout::new(Box::pin(slow), Duration::from_secs(5));

        // Act
        let items: Vec<_> = s.collect().await;

        // Assert
        assert_eq!(items.len(), 10);
        assert!(items.iter().all(Result::is_ok));
    }
}
