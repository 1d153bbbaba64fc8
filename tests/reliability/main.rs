//! Reliability under faults and load (issue 9, groups 1, 2, 3, 6, 7): the real binary killed
//! and restarted, connections dropped mid-body, racing requests, a full disk, 200 concurrent
//! uploads and slow clients. What is guaranteed: docs/reliability.md.

// The black-box suite's test server; not every helper is used here.
#[allow(dead_code)]
#[path = "../api/helpers.rs"]
mod helpers;

mod clients;
mod crash;
mod disconnects;
mod disk_full;
mod load;
mod races;
mod recovery;
mod server;
mod slow_clients;
mod store;
