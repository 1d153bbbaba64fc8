//! chunkgate: one server, five legacy chunked-upload dialects, one assembly engine.
pub mod contract;
pub mod engine;
