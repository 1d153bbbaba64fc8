//! Contract fixtures: recorded legacy conversations, replayed against any server.
//!
//! A fixture (`fixtures/<dialect>/<case>.json`, format in `docs/fixtures.md`) lists requests
//! and the parts of each response a legacy client depends on. The same files run in
//! `cargo test` against chunkgate and, through `chunkgate contract`, against a live legacy
//! backend, so a migration can show that clients will not notice the replacement.
//!
//! - [`format`]: the serde types of a case, and loading;
//! - [`scope`]: variables, named bytes, `{{...}}` templates;
//! - [`gen`]: the seeded content rule for large payloads;
//! - [`request`]: building the exact request bytes;
//! - [`matcher`]: comparing JSON with matchers, with JSON paths in messages;
//! - [`replay`]: running a case; [`report`]: its outcome; [`command`]: the CLI.

pub mod command;
pub mod format;
pub mod gen;
pub mod matcher;
pub mod replay;
pub mod report;
pub mod request;
pub mod scope;

pub use command::{run_command, run_command_to, ContractArgs};
pub use format::{fixture_files, load_case, load_dir, Case, LoadError};
pub use replay::{http_client, run_case};
pub use report::{CaseReport, Failure};
