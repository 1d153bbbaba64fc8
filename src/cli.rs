//! The command line: `chunkgate [serve] [--config FILE] [--listen ADDR] [--data-dir DIR]`.
//!
//! `serve` is the default when no subcommand is given, so `cargo run` serves. Further
//! subcommands (`contract`, which replays fixtures against a server, and the operator commands
//! of [`crate::admin`]) are variants of [`Command`], dispatched in `main.rs`.

use crate::config::{ConfigError, Overrides, Settings};
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// chunkgate: one server for five legacy chunked-upload APIs, on one verifying engine.
#[derive(Debug, Parser)]
#[command(
    name = "chunkgate",
    version,
    about,
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    /// Options of `serve`, accepted without the subcommand too.
    #[command(flatten)]
    pub serve: ServeArgs,
}

impl Cli {
    /// The subcommand to run; `serve` when none was given.
    pub fn into_command(self) -> Command {
        self.command.unwrap_or(Command::Serve(self.serve))
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve every enabled dialect and the operator API (the default).
    Serve(ServeArgs),
    /// Replay contract fixtures (docs/fixtures.md) against a live server: one line per case
    /// (`ok` / `FAIL case step: reason`), a summary, exit status 1 on any failure.
    Contract(crate::contract::ContractArgs),
    /// Operator commands on a stopped store (docs/admin.md).
    #[command(flatten)]
    Admin(crate::admin::AdminCommand),
    // New subcommands go here, each with its own `Args` struct.
}

/// Where the settings come from. Each flag can also be given in the environment; a flag wins
/// over its variable, both win over the config file.
#[derive(Debug, Clone, Default, Args)]
pub struct ServeArgs {
    /// TOML config file (see docs/configuration.md).
    #[arg(long, value_name = "FILE", env = "CHUNKGATE_CONFIG")]
    pub config: Option<PathBuf>,

    /// Address to listen on, HOST:PORT (port 0 picks a free port) [default: 127.0.0.1:8080].
    #[arg(long, value_name = "ADDR", env = "CHUNKGATE_LISTEN")]
    pub listen: Option<String>,

    /// Data directory: metadata, blobs, dev token [default: ./data].
    #[arg(long, value_name = "DIR", env = "CHUNKGATE_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
}

impl ServeArgs {
    /// Defaults, then the config file, then these values.
    pub fn settings(&self) -> Result<Settings, ConfigError> {
        let overrides = Overrides {
            listen: self.listen.clone(),
            data_dir: self.data_dir.clone(),
        };
        Settings::load(self.config.as_deref(), &overrides)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn no_subcommand_means_serve_with_the_top_level_flags() {
        let cli = Cli::try_parse_from(["chunkgate", "--listen", "127.0.0.1:0"]).unwrap();
        match cli.into_command() {
            Command::Serve(args) => assert_eq!(args.listen.as_deref(), Some("127.0.0.1:0")),
            other => panic!("expected serve, got {other:?}"),
        }
    }

    #[test]
    fn serve_takes_the_same_flags() {
        let cli = Cli::try_parse_from(["chunkgate", "serve", "--data-dir", "/tmp/x"]).unwrap();
        match cli.into_command() {
            Command::Serve(args) => assert_eq!(args.data_dir, Some(PathBuf::from("/tmp/x"))),
            other => panic!("expected serve, got {other:?}"),
        }
    }

    #[test]
    fn contract_takes_a_base_url_repeated_vars_and_paths() {
        let cli = Cli::try_parse_from([
            "chunkgate",
            "contract",
            "--base-url",
            "http://127.0.0.1:8080",
            "--var",
            "token=a=b",
            "--var",
            "admin_token=x",
            "fixtures/filesnest",
            "fixtures/dyson/create.json",
        ])
        .unwrap();
        match cli.into_command() {
            Command::Contract(args) => {
                assert_eq!(args.base_url, "http://127.0.0.1:8080");
                assert_eq!(
                    args.vars,
                    [
                        ("token".to_owned(), "a=b".to_owned()),
                        ("admin_token".to_owned(), "x".to_owned())
                    ]
                );
                assert_eq!(args.paths.len(), 2);
            }
            other => panic!("expected contract, got {other:?}"),
        }
    }

    #[test]
    fn operator_commands_take_the_serve_options_and_json() {
        let cli = Cli::try_parse_from([
            "chunkgate",
            "files",
            "show",
            "filesnest:26",
            "--json",
            "--data-dir",
            "/tmp/x",
        ])
        .unwrap();
        match cli.into_command() {
            Command::Admin(crate::admin::AdminCommand::Files(
                crate::admin::FilesCommand::Show(arg),
            )) => {
                assert_eq!(arg.id, "filesnest:26");
                assert!(arg.common.json);
                assert_eq!(arg.common.store.data_dir, Some(PathBuf::from("/tmp/x")));
            }
            other => panic!("expected files show, got {other:?}"),
        }
        for args in [
            &["chunkgate", "verify", "--quarantine"][..],
            &["chunkgate", "export", "/b.tar", "--config", "c.toml"],
            &["chunkgate", "import", "/b"],
            &["chunkgate", "gc", "--json"],
            &["chunkgate", "uploads", "list"],
        ] {
            assert!(Cli::try_parse_from(args).is_ok(), "{args:?}");
        }
    }

    #[test]
    fn flags_override_the_config_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.toml");
        std::fs::write(
            &file,
            "listen = \"10.0.0.1:1\"\ndata_dir = \"/from/file\"\n",
        )
        .unwrap();
        let args = ServeArgs {
            config: Some(file),
            listen: Some("127.0.0.1:0".into()),
            data_dir: None,
        };

        let s = args.settings().unwrap();

        assert_eq!(s.listen, "127.0.0.1:0");
        assert_eq!(s.data_dir, PathBuf::from("/from/file"));
    }
}
