//! `chunkgate contract`: replay fixture files or folders against a live server.
//!
//! Prints `ok <case>` or `FAIL <case> <step>: <reason>` per case, then `N passed, M failed`.
//! Exit status: 0 when every case passed, 1 when any failed (a fixture that cannot be read
//! counts as a failed case), 2 when the command line is unusable.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use super::format::{fixture_files, load_case};
use super::replay::{http_client, run_case};

/// Arguments of `chunkgate contract`.
#[derive(Debug, Clone, clap::Args)]
pub struct ContractArgs {
    /// Base URL of the server under test, e.g. `http://127.0.0.1:8080` (a path prefix is
    /// kept: `http://legacy.example/api-root`).
    #[arg(long, value_name = "URL")]
    pub base_url: String,
    /// Overrides a case variable (e.g. `--var token=...` for a legacy server's real token);
    /// repeatable.
    #[arg(long = "var", value_name = "NAME=VALUE", value_parser = parse_var)]
    pub vars: Vec<(String, String)>,
    /// Per-request timeout in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    pub timeout: u64,
    /// Accept invalid TLS certificates (a legacy server with a self-signed certificate).
    #[arg(long)]
    pub insecure: bool,
    /// Fixture files or folders (folders are searched recursively for `*.json`).
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
}

fn parse_var(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((name, value)) if !name.is_empty() => Ok((name.to_owned(), value.to_owned())),
        _ => Err(format!("expected NAME=VALUE, got {text:?}")),
    }
}

/// Runs the command, printing to stdout; returns the exit status.
pub async fn run_command(args: ContractArgs) -> i32 {
    run_command_to(args, &mut std::io::stdout()).await
}

/// Runs the command, printing to `out`; returns the exit status.
pub async fn run_command_to(args: ContractArgs, out: &mut impl Write) -> i32 {
    // Output errors (a closed pipe) must not hide the verdict, so they are ignored.
    macro_rules! say {
        ($($arg:tt)*) => {{
            let _ = writeln!(out, $($arg)*);
            let _ = out.flush();
        }};
    }
    if !args.base_url.starts_with("http://") && !args.base_url.starts_with("https://") {
        say!("error: --base-url must start with http:// or https://");
        return 2;
    }
    let client = match http_client(Duration::from_secs(args.timeout), args.insecure) {
        Ok(client) => client,
        Err(e) => {
            say!("error: cannot build the HTTP client: {e}");
            return 2;
        }
    };
    let mut files = Vec::new();
    for path in &args.paths {
        match fixture_files(path) {
            Ok(found) => files.extend(found),
            Err(e) => {
                say!("error: {}: {e}", path.display());
                return 2;
            }
        }
    }
    if files.is_empty() {
        say!("error: no fixture files (*.json) found");
        return 2;
    }
    let overrides: BTreeMap<String, String> = args.vars.into_iter().collect();
    let (mut passed, mut failed) = (0, 0);
    for file in files {
        match load_case(&file) {
            Ok(case) => {
                let report = run_case(&client, &args.base_url, &case, &overrides).await;
                if report.ok {
                    passed += 1;
                } else {
                    failed += 1;
                }
                say!("{report}");
            }
            Err(e) => {
                failed += 1;
                say!("FAIL {} load: {}", file.display(), e.message);
            }
        }
    }
    say!("{passed} passed, {failed} failed");
    i32::from(failed > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn var_arguments_split_at_the_first_equals_sign() {
        assert_eq!(
            parse_var("token=12|ab=c").unwrap(),
            ("token".to_owned(), "12|ab=c".to_owned())
        );
        assert_eq!(
            parse_var("empty=").unwrap(),
            ("empty".to_owned(), String::new())
        );
        assert!(parse_var("novalue").is_err());
        assert!(parse_var("=x").is_err());
    }
}
