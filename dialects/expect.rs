//! `Expect: 100-continue`: a dialect may answer a request from its head alone, before the client
//! sends the body (specs/filesnest.md §5.2: "no `100` is sent when `Content-Length` already
//! exceeds the limit"). Without a check, or when the check lets the request through, the server
//! sends `100 Continue` and the route's handler runs as usual.
//!
//! The checks run in the HTTP layer's expect service (`src/startup.rs`), once per request that
//! carries the header; they must decide from the method, path and headers only.

use std::rc::Rc;

use actix_web::dev::RequestHead;
use actix_web::HttpResponse;
use futures_util::future::LocalBoxFuture;

use super::{DialectContext, DIALECTS};

/// A dialect's decision for one request head: `None` when the route is not the dialect's (or
/// needs no early answer); otherwise a future resolving to `Some(final answer)` to refuse the
/// body, or `None` to let the client send it.
pub type ExpectCheck =
    Rc<dyn Fn(&RequestHead) -> Option<LocalBoxFuture<'static, Option<HttpResponse>>>>;

/// Builds a dialect's check (once per worker thread).
pub type Expect = fn(&DialectContext) -> ExpectCheck;

/// The checks of every enabled dialect that has one.
#[derive(Clone, Default)]
pub struct ExpectGate(Vec<(&'static str, ExpectCheck)>);

impl ExpectGate {
    pub fn new(ctx: &DialectContext) -> Self {
        let settings = ctx.settings.clone();
        let checks = settings
            .dialects
            .all()
            .into_iter()
            .filter(|(_, common)| common.enabled)
            .filter_map(|(name, common)| {
                let d = DIALECTS.iter().find(|d| d.name == name)?;
                d.configure?;
                let make = d.expect?;
                // Early answers leave before any middleware, CORS included: no policy here.
                Some((d.name, make(&ctx.for_dialect(d.name, common.prefix, None))))
            })
            .collect();
        ExpectGate(checks)
    }

    /// The early answer for `head`, if a dialect refuses its body.
    pub async fn check(&self, head: &RequestHead) -> Option<HttpResponse> {
        for (dialect, check) in &self.0 {
            if let Some(decision) = check(head) {
                let answer = decision.await;
                if let Some(res) = &answer {
                    let status = res.status().as_u16();
                    tracing::info!(%dialect, method = %head.method, path = %head.uri.path(),
                        status, "refused before the body (Expect: 100-continue)");
                    // These never reach the app's request middleware (src/monitoring.rs).
                    metrics::counter!("chunkgate_http_requests_total",
                        "dialect" => *dialect, "route" => "expect", "status" => status.to_string())
                    .increment(1);
                }
                return answer;
            }
        }
        None
    }
}
