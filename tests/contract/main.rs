//! Contract fixtures in `cargo test`: the format's self-test against a stub server, and the
//! `chunkgate contract` command.

mod command;
mod fixtures;
mod helpers;
mod selftest;
mod stub;
