//! The engine's measurements, reported through the `metrics` facade (whoever installs a recorder
//! exports them; without one they cost next to nothing). Names and labels are listed in
//! `docs/operations.md`; the `namespace` label is the front end that owns the upload.

use std::time::Duration;

pub(crate) fn upload_created(namespace: &str) {
    metrics::counter!("chunkgate_uploads_created_total", "namespace" => namespace.to_owned())
        .increment(1);
}

pub(crate) fn upload_completed(namespace: &str, files: usize) {
    metrics::counter!("chunkgate_uploads_completed_total", "namespace" => namespace.to_owned())
        .increment(1);
    metrics::counter!("chunkgate_files_stored_total", "namespace" => namespace.to_owned())
        .increment(files as u64);
}

pub(crate) fn upload_failed(namespace: &str) {
    metrics::counter!("chunkgate_uploads_failed_total", "namespace" => namespace.to_owned())
        .increment(1);
}

pub(crate) fn upload_expired(namespace: &str) {
    metrics::counter!("chunkgate_uploads_expired_total", "namespace" => namespace.to_owned())
        .increment(1);
}

/// A chunk, range or whole file of `bytes` bytes was stored.
pub(crate) fn received(namespace: &str, bytes: u64) {
    metrics::counter!("chunkgate_chunks_received_total", "namespace" => namespace.to_owned())
        .increment(1);
    metrics::counter!("chunkgate_received_bytes_total", "namespace" => namespace.to_owned())
        .increment(bytes);
}

/// A completion (verification and commit) took `took`.
pub(crate) fn assembly(took: Duration) {
    metrics::histogram!("chunkgate_assembly_seconds").record(took.as_secs_f64());
}

/// Verification (final digests, with a read pass when needed, and comparison) took `took`.
pub(crate) fn verification(took: Duration) {
    metrics::histogram!("chunkgate_verification_seconds").record(took.as_secs_f64());
}

/// A hashing thread spent `busy` hashing `bytes` bytes with `algorithm`.
pub(crate) fn hashed(algorithm: &'static str, bytes: u64, busy: Duration) {
    metrics::counter!("chunkgate_hashed_bytes_total", "algorithm" => algorithm).increment(bytes);
    // Counters are integers: busy time in microseconds; throughput = rate(bytes) / rate(busy).
    metrics::counter!("chunkgate_hash_busy_microseconds_total", "algorithm" => algorithm)
        .increment(busy.as_micros() as u64);
}
