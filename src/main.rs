//! The `chunkgate` binary: parse the command line, load settings, start logging, serve.

use chunkgate::auth::DevToken;
use chunkgate::cli::{Cli, Command};
use chunkgate::startup::Application;
use chunkgate::telemetry;
use clap::Parser;
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let result = match Cli::parse().into_command() {
        Command::Serve(args) => serve(args).await,
        Command::Contract(args) => {
            let status = chunkgate::contract::run_command(args).await;
            return ExitCode::from(u8::try_from(status).unwrap_or(1));
        }
        Command::Admin(command) => {
            // Warnings only: the command's own output is the point.
            telemetry::init_subscriber("warn");
            return chunkgate::admin::run(command).await;
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("chunkgate: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(args: chunkgate::cli::ServeArgs) -> Result<(), Box<dyn std::error::Error>> {
    let settings = args.settings()?;
    telemetry::init_subscriber("info");
    let app = Application::build(settings).await?;
    if let DevToken::Generated { token, path } = app.dev_token() {
        eprintln!(
            "chunkgate: no credentials configured; dev token (principal \"dev\", admin): {token} (saved in {})",
            path.display()
        );
    }
    // The one stdout line: scripts and tests wait for it (stdout is line-buffered).
    println!("chunkgate listening on {}", app.base_url());
    app.run_until_stopped().await?;
    Ok(())
}
