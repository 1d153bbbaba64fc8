//! Hostile input, limits and the authorization matrix (issue 9, groups 4, 5 and 8).
//!
//! Every test runs a real server on port 0 (`TestApp`) over a temp data dir and talks to it with
//! reqwest. The hostile-input properties (one module per dialect) generate requests that are
//! invalid by construction and check that each one gets a 4xx in the dialect's own error format
//! and leaves the store byte-for-byte unchanged. `CHUNKGATE_LONG_TESTS=1` (set by `.ci/run`)
//! runs many more cases. See docs/reliability.md.

// The API suite's helpers: this target uses only part of them.
#[allow(dead_code)]
#[path = "../api/helpers.rs"]
mod helpers;

mod audioboom;
mod authz;
mod dstor;
mod dyson;
mod filesnest;
mod gen;
mod limits;
mod names;
mod spika;
mod support;
mod truncated;
