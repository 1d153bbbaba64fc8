//! chunkgate: one server, five legacy chunked-upload dialects, one assembly engine.
//!
//! Layers (docs/architecture.md): [`dialects`] translate legacy wire formats into typed calls on
//! the [`engine`]; [`admin`] holds the operator commands; the server shell ([`cli`], [`config`], [`auth`], [`startup`], [`native`],
//! [`telemetry`]) wires them to HTTP; [`contract`] replays legacy conversations against any server.

pub mod admin;
pub mod auth;
pub mod cli;
pub mod config;
pub mod contract;
pub mod engine;
pub mod hooks;
pub mod monitoring;
pub mod native;
pub mod routes;
pub mod startup;
pub mod telemetry;

// The design card puts the dialects at the top level of the repository (`dialects/`, next to
// `src/`), so each legacy API is visibly its own translator rather than part of the core; this
// is the crate's only `#[path]`.
#[path = "../dialects/mod.rs"]
pub mod dialects;
