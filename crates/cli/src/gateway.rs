//! `rolegate gateway`: protect any HTTP API by app roles and scopes, as a
//! reverse proxy and as a forward-auth service (see docs/gateway.md).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use rolegate_gateway::{Config, ConfigError, Gateway};

use crate::exit::{Failure, Outcome};

/// Arguments of `rolegate gateway`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, after_help = GATEWAY_HELP)]
pub struct GatewayArgs {
    #[command(subcommand)]
    command: Option<GatewayCommand>,

    /// The gateway configuration (TOML): listen, upstream, the auth table and the routes.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,

    /// Listen here instead of the file's `listen`.
    #[arg(long, value_name = "ADDR")]
    listen: Option<SocketAddr>,
}

#[derive(Debug, Subcommand)]
enum GatewayCommand {
    /// Validate a configuration file and list every problem in it.
    #[command(after_help = CHECK_HELP)]
    Check {
        /// The gateway configuration (TOML).
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
    },
}

/// Runs `rolegate gateway`.
pub fn run(args: GatewayArgs) -> Result<Outcome, Failure> {
    match args.command {
        Some(GatewayCommand::Check { config }) => {
            let config = Config::load(&config).map_err(|e| invalid(&config, &e))?;
            println!(
                "configuration valid: {} route(s), listening on {}",
                config.routes.len(),
                config.listen
            );
            Ok(Outcome::Passed)
        }
        None => {
            let path = args.config.ok_or_else(|| {
                Failure::Usage(
                    "give the configuration: rolegate gateway --config <gateway.toml> (see \
                     docs/gateway.md)"
                        .to_owned(),
                )
            })?;
            runtime()?.block_on(serve(path, args.listen))
        }
    }
}

async fn serve(path: PathBuf, listen: Option<SocketAddr>) -> Result<Outcome, Failure> {
    // Loaded inside the runtime so that the validator refreshes its keys
    // in the background.
    let mut config = Config::load(&path).map_err(|e| invalid(&path, &e))?;
    if let Some(listen) = listen {
        config.listen = listen;
    }
    let routes = config.routes.len();
    let mut running = Gateway::new(config)
        .start()
        .await
        .map_err(|e| Failure::Usage(format!("cannot listen: {e}")))?;
    running.watch(path.clone());
    eprintln!(
        "rolegate gateway: {routes} route(s) on http://{}{}; reloads on SIGHUP and when {} \
         changes. Ctrl-C stops it.",
        running.address(),
        running
            .admin_address()
            .map(|a| format!(", admin on http://{a}"))
            .unwrap_or_default(),
        path.display()
    );
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|e| Failure::Usage(format!("cannot listen for SIGTERM: {e}")))?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
        () = running.stopped() => {
            return Err(Failure::Unavailable("the gateway stopped unexpectedly".to_owned()));
        }
    }
    eprintln!("stopping: finishing requests in progress");
    running.stop().await;
    Ok(Outcome::Passed)
}

/// Every problem, one per line (exit 2).
fn invalid(path: &Path, error: &ConfigError) -> Failure {
    let mut text = format!(
        "{} has {} problem(s):",
        path.display(),
        error.problems.len()
    );
    for problem in &error.problems {
        text.push_str("\n  - ");
        text.push_str(problem);
    }
    Failure::Usage(text)
}

/// The async runtime: one event loop on the calling thread when the process
/// may use one core (no hand-offs between a worker and the I/O driver, as
/// nginx's single worker), a worker per core otherwise.
fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let mut builder = if cores == 1 {
        tokio::runtime::Builder::new_current_thread()
    } else {
        tokio::runtime::Builder::new_multi_thread()
    };
    builder
        .enable_all()
        .build()
        .map_err(|e| Failure::Usage(format!("cannot start the async runtime: {e}")))
}

const GATEWAY_HELP: &str = "\
Examples:
  rolegate gateway --config gateway.toml
  rolegate gateway check --config gateway.toml

Exit codes:
  0  stopped by Ctrl-C or SIGTERM
  2  invalid configuration (every problem is listed) or cannot listen";

const CHECK_HELP: &str = "\
Exit codes:
  0  the configuration is valid
  2  invalid (every problem is listed) or unreadable";
