//! Reading a request body into [`Params`] (specs/audioboom.md §2): `multipart/form-data`,
//! `application/x-www-form-urlencoded` or `application/json`, bounded by
//! `audioboom.max_request_bytes` (413).
//!
//! Binary parts are never held in memory. A chunk part is either streamed straight into its
//! attachment (when the caller's [`DirectPlan`] says the offset is already known, §5.2
//! "Streaming and cut-off") or staged in the engine until the whole request has been judged.

use super::params::{FilePart, Params, Source, Value, SIGNED};
use super::parse::CHUNK;
use crate::engine::{self, CutOff, Engine, Principal, RangeOutcome, Staged, UploadId};
use actix_multipart::Multipart;
use actix_web::error::PayloadError;
use actix_web::http::header;
use actix_web::{web, HttpRequest};
use bytes::{Bytes, BytesMut};
use futures_util::{Stream, StreamExt};
use std::cell::Cell;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

/// A request's parameters, the bytes of its staged binary parts (indexed by
/// [`FilePart::slot`]) and, if its chunk was streamed straight in, what the engine said.
#[derive(Default)]
pub struct Form {
    pub params: Params,
    pub staged: Vec<Staged>,
    pub direct: Option<Result<RangeOutcome, engine::Error>>,
}

/// Where a chunk may go while the body streams: an attachment still receiving, for an
/// already authenticated owner. `offset` looks at the parameters read so far and returns the
/// offset when every rule that can be checked before the chunk holds.
pub struct DirectPlan<'a> {
    pub engine: &'a Engine,
    pub owner: &'a Principal,
    pub upload: UploadId,
    pub offset: &'a dyn Fn(&Params) -> Option<u64>,
}

/// Why a body could not be read.
#[derive(Debug)]
pub enum BodyError {
    /// Not parseable, or the connection broke.
    Malformed,
    /// Over `audioboom.max_request_bytes`.
    TooLarge,
    /// Staging failed inside the engine.
    Engine(engine::Error),
}

/// Reads the query string and the body. A declared `Content-Length` over `limit` is refused
/// before any byte is read; an undeclared length is counted as it streams.
pub async fn read(
    req: &HttpRequest,
    payload: web::Payload,
    engine: &Engine,
    limit: u64,
    plan: Option<DirectPlan<'_>>,
) -> Result<Form, BodyError> {
    let mut form = Form {
        params: Params::from_query(req.query_string()),
        ..Form::default()
    };
    if declared_length(req).is_some_and(|n| n > limit) {
        return Err(BodyError::TooLarge);
    }
    let over = Rc::new(Cell::new(false));
    let mut body = Limited {
        inner: payload,
        seen: 0,
        limit,
        over: over.clone(),
        ends_on_failure: false,
        ended: false,
    };
    let failed = |over: &Rc<Cell<bool>>| {
        if over.get() {
            BodyError::TooLarge
        } else {
            BodyError::Malformed
        }
    };
    let kind = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .unwrap_or_default();
    match kind.as_str() {
        "multipart/form-data" => {
            // Streaming straight in needs a declared length: an undeclared one could run over
            // the limit after bytes were kept, and a rejected request must change nothing.
            let plan = plan.filter(|_| declared_length(req).is_some());
            body.ends_on_failure = true;
            read_multipart(req, body, engine, plan, &mut form)
                .await
                .map_err(|e| match e {
                    BodyError::Malformed => failed(&over),
                    other => other,
                })?;
        }
        "application/x-www-form-urlencoded" => {
            let raw = collect(body).await.map_err(|_| failed(&over))?;
            let text = std::str::from_utf8(&raw).map_err(|_| BodyError::Malformed)?;
            form.params.extend_urlencoded(text, Source::Body);
        }
        k if k == "application/json" || k.ends_with("+json") => {
            let raw = collect(body).await.map_err(|_| failed(&over))?;
            if !raw.iter().all(u8::is_ascii_whitespace) {
                let value: serde_json::Value =
                    serde_json::from_slice(&raw).map_err(|_| BodyError::Malformed)?;
                form.params
                    .extend_json(&value)
                    .map_err(|_| BodyError::Malformed)?;
            }
        }
        // Other bodies carry no parameters Rails would read.
        _ => {}
    }
    Ok(form)
}

fn declared_length(req: &HttpRequest) -> Option<u64> {
    req.headers()
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

async fn read_multipart(
    req: &HttpRequest,
    body: Limited,
    engine: &Engine,
    plan: Option<DirectPlan<'_>>,
    form: &mut Form,
) -> Result<(), BodyError> {
    let mut parts = Multipart::new(req.headers(), body);
    let mut plan = plan;
    while let Some(field) = parts.next().await {
        let mut field = field.map_err(|_| BodyError::Malformed)?;
        let name = field.name().unwrap_or_default().to_owned();
        let filename = field
            .content_disposition()
            .and_then(|cd| cd.get_filename())
            .map(str::to_owned);
        let content_type = field.content_type().map(|m| m.to_string());
        let is_chunk = name.strip_prefix(SIGNED).unwrap_or(&name) == CHUNK;
        if is_chunk {
            let offset = plan.as_ref().and_then(|p| (p.offset)(&form.params));
            if let (Some(offset), Some(p)) = (offset, plan.take()) {
                let outcome = stream_direct(field, &p, offset).await;
                let keep_reading = matches!(outcome, Ok(RangeOutcome::Stored { .. }));
                form.direct = Some(outcome);
                let part = FilePart {
                    filename,
                    content_type,
                    len: None,
                    slot: None,
                };
                form.params.push(name, Value::File(part), Source::Body);
                if !keep_reading {
                    // The answer is decided; the rest of the body does not matter.
                    return Ok(());
                }
                continue;
            }
        }
        if is_chunk || filename.is_some() {
            let staged = engine.stage(&mut field, None).await.map_err(|e| match e {
                engine::Error::Body(_) => BodyError::Malformed,
                other => BodyError::Engine(other),
            })?;
            let part = FilePart {
                filename,
                content_type,
                len: Some(staged.len()),
                slot: Some(form.staged.len()),
            };
            form.staged.push(staged);
            form.params.push(name, Value::File(part), Source::Body);
        } else {
            let raw = collect(&mut field)
                .await
                .map_err(|_| BodyError::Malformed)?;
            let text = String::from_utf8_lossy(&raw).into_owned();
            form.params.push(name, Value::Text(text), Source::Body);
        }
    }
    Ok(())
}

/// Streams a chunk part into the attachment, keeping what arrived if the client is cut off
/// (§5.2). The part is read on this task and handed over a short channel, since the engine
/// takes a `Send` stream and a multipart field is tied to its connection.
async fn stream_direct(
    mut field: actix_multipart::Field,
    plan: &DirectPlan<'_>,
    offset: u64,
) -> Result<RangeOutcome, engine::Error> {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Result<Bytes, String>>(4);
    let forward = async move {
        while let Some(item) = field.next().await {
            let failed = item.is_err();
            if tx.send(item.map_err(|e| e.to_string())).await.is_err() || failed {
                break;
            }
        }
    };
    let body = futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx));
    let put = plan
        .engine
        .put_range(plan.owner, plan.upload, offset, body, CutOff::Keep);
    let ((), outcome) = futures_util::join!(forward, put);
    outcome
}

async fn collect<S, E>(mut body: S) -> Result<Bytes, E>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
{
    let mut out = BytesMut::new();
    while let Some(piece) = body.next().await {
        out.extend_from_slice(&piece?);
    }
    Ok(out.freeze())
}

/// The request body, failing with `Overflow` (and saying so) past the limit.
///
/// For the multipart parser (`ends_on_failure`), a failure of the body itself (the client went
/// away, or stalled past `body_timeout`) ends the stream instead. actix-multipart reads all available bytes into its buffer and returns a
/// failure of the body as soon as it sees one, before handing out what it buffered, so the
/// bytes that arrived in the same read as a disconnect would be dropped, while §5.2 keeps the
/// bytes that did arrive. At an early end it hands out its buffer first and only then fails the
/// part (`Incomplete`), which the engine treats like any cut-off body.
struct Limited {
    inner: web::Payload,
    seen: u64,
    limit: u64,
    over: Rc<Cell<bool>>,
    /// End the stream on a body failure instead of failing it (multipart only: a truncated
    /// JSON or form body must fail, not parse as a shorter one).
    ends_on_failure: bool,
    ended: bool,
}

impl Stream for Limited {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.ended {
            return Poll::Ready(None);
        }
        match self.inner.poll_next_unpin(cx) {
            Poll::Ready(Some(Err(e))) if self.ends_on_failure => {
                tracing::debug!(error = %e, "audioboom: request body cut off");
                self.ended = true;
                Poll::Ready(None)
            }
            Poll::Ready(Some(Ok(b))) => {
                self.seen += b.len() as u64;
                if self.seen > self.limit {
                    self.over.set(true);
                    return Poll::Ready(Some(Err(PayloadError::Overflow)));
                }
                Poll::Ready(Some(Ok(b)))
            }
            other => other,
        }
    }
}
