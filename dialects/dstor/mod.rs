//! dStor (specs/dstor.md).
pub mod cid;
