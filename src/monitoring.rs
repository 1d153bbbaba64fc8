//! Prometheus metrics (docs/operations.md): `GET /metrics` in the text exposition format, a
//! middleware counting requests by dialect, route pattern and status, and gauges read from the
//! engine at scrape time. Everything else (uploads, bytes, durations, hashing, webhooks) is
//! recorded where it happens through the `metrics` facade and exported by the one recorder
//! installed here.

use crate::dialects::UnmatchedRoutes;
use crate::engine::Engine;
use crate::telemetry::ServedBy;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage, HttpResponse};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;

/// Histogram buckets (seconds) of assembly, verification and request durations: from a
/// millisecond (an in-order completion reads nothing) to minutes (a re-hash of a large file).
const SECONDS_BUCKETS: &[f64] = &[
    0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0,
];

/// The process-wide recorder (the `metrics` facade has one global recorder; every server in the
/// process, e.g. in tests, shares it).
pub fn handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), SECONDS_BUCKETS)
            .expect("the bucket list is not empty")
            .build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("another metrics recorder is installed; /metrics will stay empty");
        }
        describe();
        handle
    })
}

fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
    describe_counter!(
        "chunkgate_http_requests_total",
        "HTTP requests answered, by dialect, route pattern and status"
    );
    describe_histogram!(
        "chunkgate_http_request_duration_seconds",
        Unit::Seconds,
        "Time to answer a request (head to response start)"
    );
    describe_counter!(
        "chunkgate_received_bytes_total",
        Unit::Bytes,
        "Upload bytes stored (chunks, ranges, whole files)"
    );
    describe_counter!(
        "chunkgate_chunks_received_total",
        "Chunks, ranges or whole files stored"
    );
    describe_counter!("chunkgate_uploads_created_total", "Uploads opened");
    describe_counter!(
        "chunkgate_uploads_completed_total",
        "Uploads verified and stored"
    );
    describe_counter!(
        "chunkgate_files_stored_total",
        "Files created by completions"
    );
    describe_counter!(
        "chunkgate_uploads_failed_total",
        "Completions that failed verification"
    );
    describe_counter!(
        "chunkgate_uploads_expired_total",
        "Unfinished uploads swept after their TTL"
    );
    describe_histogram!(
        "chunkgate_assembly_seconds",
        Unit::Seconds,
        "Completion: from the call to the committed file"
    );
    describe_histogram!(
        "chunkgate_verification_seconds",
        Unit::Seconds,
        "Completion: final digests and their comparison"
    );
    describe_counter!(
        "chunkgate_hashed_bytes_total",
        Unit::Bytes,
        "Bytes hashed, by algorithm"
    );
    describe_counter!(
        "chunkgate_hash_busy_microseconds_total",
        Unit::Microseconds,
        "Time hashing threads spent hashing, by algorithm"
    );
    describe_gauge!(
        "chunkgate_active_uploads",
        "Unfinished uploads in the store"
    );
    describe_gauge!(
        "chunkgate_free_disk_bytes",
        Unit::Bytes,
        "Free bytes on the data volume"
    );
    describe_gauge!(
        "chunkgate_webhook_queue_depth",
        "Journal events not yet handled by every webhook"
    );
    describe_counter!(
        "chunkgate_webhook_deliveries_total",
        "Webhook events delivered (2xx), by hook and event"
    );
    describe_counter!(
        "chunkgate_webhook_failures_total",
        "Failed webhook attempts, by hook"
    );
    describe_counter!(
        "chunkgate_webhook_dropped_total",
        "Webhook events given up after their retries, by hook"
    );
    describe_counter!(
        "chunkgate_webhook_pre_complete_total",
        "Pre-complete checks, by hook and outcome"
    );
}

/// Middleware: counts every answered request by dialect, route pattern and status.
///
/// The route is the matched pattern (`/api/files/{id}`), never the raw path, so the number of
/// series stays bounded; a request no route matched is `unmatched`. The dialect is the one that
/// served the request, or the one owning the path's prefix, or `server`.
pub async fn record_request(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = std::time::Instant::now();
    let res = next.call(req).await?;
    let request = res.request();
    let route = request
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned());
    let dialect = match request.extensions().get::<ServedBy>() {
        Some(ServedBy(name)) => name.clone(),
        None => request
            .app_data::<web::Data<UnmatchedRoutes>>()
            .and_then(|r| r.owner(request.path()))
            .unwrap_or("server")
            .to_owned(),
    };
    let status = res.status().as_u16().to_string();
    metrics::histogram!("chunkgate_http_request_duration_seconds", "dialect" => dialect.clone())
        .record(started.elapsed().as_secs_f64());
    metrics::counter!("chunkgate_http_requests_total",
        "dialect" => dialect, "route" => route, "status" => status)
    .increment(1);
    Ok(res)
}

// GET /metrics
pub async fn handle_metrics(engine: web::Data<Engine>) -> HttpResponse {
    // Gauges read from the store now, so they are right after a restart too.
    match engine.upload_count().await {
        Ok(n) => metrics::gauge!("chunkgate_active_uploads").set(n as f64),
        Err(error) => tracing::warn!(%error, "metrics: cannot count uploads"),
    }
    match engine.available_space().await {
        Ok(n) => metrics::gauge!("chunkgate_free_disk_bytes").set(n as f64),
        Err(error) => tracing::warn!(%error, "metrics: cannot read free space"),
    }
    match engine.journal_len().await {
        Ok(n) => metrics::gauge!("chunkgate_webhook_queue_depth").set(n as f64),
        Err(error) => tracing::warn!(%error, "metrics: cannot read the journal"),
    }
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(handle().render())
}
