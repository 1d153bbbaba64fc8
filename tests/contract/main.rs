//! Contract fixtures in `cargo test`: the format's self-test against a stub server, the
//! `chunkgate contract` command (as a function and as a process), and every other fixture
//! folder replayed against chunkgate in-process.

mod binary;
mod chunkgate;
mod command;
mod fixtures;
mod helpers;
mod selftest;
mod stub;
