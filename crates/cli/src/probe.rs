//! `rolegate probe`: test a running API for the Entra token pitfalls with
//! tokens signed by the identity provider it trusts (the logic lives in
//! rolegate-probe; this module parses the flags and prints).

use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;
use rolegate_probe::{ProbeConfig, ProbeError, probe};
use rolegate_token::clock::Clock;
use serde_json::json;
use url::Url;

use crate::exit::{Failure, Outcome, emit};

/// Arguments of `rolegate probe`.
#[derive(Debug, Args)]
#[command(after_help = PROBE_HELP)]
pub struct ProbeArgs {
    /// One protected endpoint of the API under test, e.g.
    /// https://localhost:8443/api/orders.
    #[arg(value_name = "URL")]
    url: Url,

    /// The data folder of the `rolegate idp` (or `rolegate demo`) the API
    /// trusts: its tenant, issuer and signing keys are read from there.
    #[arg(long, value_name = "DIR")]
    data_dir: PathBuf,

    /// The API's client id or App ID URI.
    #[arg(long, value_name = "AUD")]
    audience: String,

    /// Where the provider keeps its signing keys: `sqlite` (its database in
    /// --data-dir, the default) or the `postgres://…` store its replicas
    /// share (with --key-encryption-key-file or ROLEGATE_KEK).
    #[arg(
        long,
        value_name = "URL",
        env = "ROLEGATE_STORE",
        hide_env_values = true,
        default_value = "sqlite"
    )]
    store: String,

    /// With a PostgreSQL store: the key-encryption key file its replicas use.
    #[arg(long, value_name = "FILE")]
    key_encryption_key_file: Option<PathBuf>,

    /// The tenant file, instead of the one the provider recorded.
    #[arg(long, value_name = "TENANT.toml")]
    config: Option<PathBuf>,

    /// The authority the API trusts (e.g. https://127.0.0.1:8443/{tenant}),
    /// instead of the origin the provider recorded.
    #[arg(long, value_name = "URL")]
    authority: Option<Url>,

    /// HTTP method of every request.
    #[arg(long, value_name = "M", default_value = "GET")]
    method: String,

    /// An extra request header, 'Name: value' (repeatable).
    #[arg(long = "header", value_name = "'K: V'")]
    headers: Vec<String>,

    /// An app role the endpoint requires (repeatable).
    #[arg(long = "role", value_name = "R")]
    roles: Vec<String>,

    /// A delegated scope the endpoint requires (repeatable).
    #[arg(long = "scope", value_name = "S")]
    scopes: Vec<String>,

    /// Send this file as the request body.
    #[arg(long, value_name = "FILE")]
    body: Option<PathBuf>,

    /// Print the report as JSON.
    #[arg(long)]
    json: bool,

    /// Allow a URL whose host is not loopback (only for an API you own: the
    /// probe sends forged tokens).
    #[arg(long)]
    allow_remote: bool,
}

const PROBE_HELP: &str = "\
Sends a correct token first (it must get a 2xx), then one request per check.
A 2xx for a token that must be refused is VULNERABLE, 401/403 is a pass, anything
else is inconclusive.
Exit codes:
  0  no VULNERABLE row
  1  at least one VULNERABLE row
  2  could not probe: baseline refused, URL unreachable, data dir unreadable, usage error";

/// Runs `rolegate probe`.
pub fn run(args: ProbeArgs, clock: Arc<dyn Clock>) -> Result<Outcome, Failure> {
    let config = config(&args)?;
    let result = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Failure::Usage(format!("cannot start the async runtime: {e}")))?
        .block_on(probe(&config, clock.as_ref()));
    let report = match result {
        Ok(report) => report,
        Err(e @ ProbeError::BaselineRefused { status, .. }) => {
            if args.json {
                let document = json!({
                    "url": config.url.as_str(),
                    "baseline": {"status": status},
                    "checks": [],
                    "vulnerable": 0,
                    "error": e.to_string(),
                });
                emit(&format!("{document:#}\n"))?;
            }
            return Err(Failure::Unavailable(e.to_string()));
        }
        Err(e @ (ProbeError::NotLoopback { .. } | ProbeError::Usage(_))) => {
            return Err(Failure::Usage(e.to_string()));
        }
        Err(e) => return Err(Failure::Unavailable(e.to_string())),
    };
    if args.json {
        emit(&format!("{:#}\n", report.to_json()))?;
    } else {
        emit(&report.to_table())?;
    }
    Ok(if report.vulnerable() > 0 {
        Outcome::Refused
    } else {
        Outcome::Passed
    })
}

fn config(args: &ProbeArgs) -> Result<ProbeConfig, Failure> {
    let mut config = ProbeConfig::new(args.url.clone(), &args.data_dir, &args.audience);
    config.store =
        crate::idp::store_config_from(&args.store, args.key_encryption_key_file.as_deref())?;
    config.tenant_file = args.config.clone();
    config.authority = args.authority.clone();
    config.method = args.method.clone();
    config.roles = args.roles.clone();
    config.scopes = args.scopes.clone();
    config.allow_remote = args.allow_remote;
    for header in &args.headers {
        let (name, value) = header.split_once(':').ok_or_else(|| {
            Failure::Usage(format!(
                "--header {header:?} has no ':'; write it as 'Name: value'"
            ))
        })?;
        config
            .headers
            .push((name.trim().to_owned(), value.trim().to_owned()));
    }
    if let Some(path) = &args.body {
        let body = std::fs::read(path).map_err(|e| {
            Failure::Usage(format!(
                "cannot read the --body file {}: {e}",
                path.display()
            ))
        })?;
        config.body = Some(body);
    }
    Ok(config)
}
