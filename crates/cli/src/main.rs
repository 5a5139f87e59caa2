//! `rolegate`: decode, check and obtain Entra ID-style access tokens.
//!
//! `main` only parses arguments, sets up tracing and turns the result of
//! [`run`] into an exit code; every command returns a `Result` (see
//! [`exit`] for what each code means).

mod demo;
mod exit;
mod explain;
mod gateway;
mod idp;
mod probe;
mod time;
mod token;

use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use rolegate_token::clock::{Clock, ManualClock, SystemClock};
use tracing_subscriber::EnvFilter;

use crate::exit::{EXIT_CODES, Failure, Outcome};

/// Role-based API authorization with Entra ID, done right: decode and check
/// access tokens as your API would, obtain them, and run a local
/// Entra-compatible identity provider.
#[derive(Debug, Parser)]
#[command(name = "rolegate", version, after_help = EXIT_CODES)]
struct Cli {
    #[command(subcommand)]
    command: Command,

    /// Use this Unix time (seconds) as "now" instead of the system clock.
    ///
    /// Hidden: it exists for reproducible output and the golden tests of
    /// `token decode`, and feeds both the validator's clock and the relative
    /// times ("expires in 42 min") that commands print.
    #[arg(long, global = true, hide = true, value_name = "UNIX_SECONDS")]
    now: Option<i64>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Decode, check and obtain access tokens.
    #[command(subcommand, after_help = EXIT_CODES)]
    Token(token::TokenCommand),
    /// Run the whole system: identity provider, Orders API and browser app.
    Demo(demo::DemoArgs),
    /// Run the local Entra-compatible identity provider.
    Idp(idp::IdpArgs),
    /// Probe a running API for the Entra token pitfalls (ID tokens, audience,
    /// tenant, expiry, roles, forgeries), with tokens signed by the provider
    /// it trusts.
    Probe(probe::ProbeArgs),
    /// Protect any HTTP API by app roles and scopes: reverse proxy and forward-auth.
    Gateway(gateway::GatewayArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing();
    match run(cli) {
        Ok(outcome) => outcome.exit_code(),
        Err(failure) => {
            eprintln!("error: {failure}");
            failure.exit_code()
        }
    }
}

/// Runs the selected command.
fn run(cli: Cli) -> Result<Outcome, Failure> {
    let clock: Arc<dyn Clock> = match cli.now {
        Some(now) => Arc::new(ManualClock::new(now)),
        None => Arc::new(SystemClock),
    };
    match cli.command {
        Command::Token(command) => token::run(command, clock),
        Command::Demo(args) => demo::run(args),
        Command::Idp(args) => idp::run(args),
        Command::Probe(args) => probe::run(args, clock),
        Command::Gateway(args) => gateway::run(args),
    }
}

/// Logs go to standard error, filtered by `ROLEGATE_LOG` (or, when it is
/// unset, `RUST_LOG`; default: errors only, so that diagnostics are not
/// repeated as log lines), coloured only on a terminal. Tokens and secrets
/// are never logged.
fn init_tracing() {
    use std::io::IsTerminal as _;
    let filter = EnvFilter::try_from_env("ROLEGATE_LOG")
        .or_else(|_| EnvFilter::try_from_default_env())
        .unwrap_or_else(|_| EnvFilter::new("error"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}
