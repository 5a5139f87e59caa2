//! `orders-api`: serves the Orders API sample ([`rolegate_demo::api`], the
//! API `rolegate demo` serves under `/api`) on its own, validating tokens
//! from an Entra-style authority.
//!
//! ```text
//! orders-api --authority https://localhost:8443/<tenant-id> \
//!            --audience <api-client-id> --ca-file rolegate-ca.pem
//! ```
//!
//! Logging follows `RUST_LOG` (default `info`, with refusals at `debug`
//! for `rolegate_axum`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::Parser;
use http::header::AUTHORIZATION;
use rolegate_token::fetch::HttpFetcher;
use rolegate_token::{Validator, ValidatorConfig};
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_http::trace::TraceLayer;
use tracing_subscriber::EnvFilter;

/// The rolegate Orders API sample: a role-aware API protected by
/// Entra-style access tokens.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// The authority that issues tokens, Entra-style: `{instance}/{tenant}`,
    /// e.g. https://login.microsoftonline.com/<tenant-id> or
    /// https://localhost:8443/<tenant-id>.
    #[arg(long, value_name = "URL")]
    authority: String,

    /// An accepted audience: the API's client id (which also accepts
    /// api://<client-id>) or App ID URI. Repeat for several.
    #[arg(long = "audience", value_name = "AUD", required = true)]
    audiences: Vec<String>,

    /// Address to listen on.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:5080")]
    listen: SocketAddr,

    /// An extra trusted root certificate (PEM) for an HTTPS authority, such
    /// as the local identity provider's CA.
    #[arg(long, value_name = "PEM")]
    ca_file: Option<PathBuf>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("info,rolegate_axum=debug")),
        )
        .init();
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("orders-api: {e:#}");
            ExitCode::FAILURE
        }
    }
}

#[tokio::main]
async fn run(args: Args) -> anyhow::Result<()> {
    let validator = Validator::new(validator_config(&args)?)?;
    if let Err(e) = validator.warm_up().await {
        tracing::warn!(error = %e, "signing keys not loaded yet; retrying on the first request");
    }
    let app = rolegate_demo::api::router(validator)
        .layer(TraceLayer::new_for_http())
        // Added last, so it runs first: Authorization is marked sensitive
        // before the TraceLayer (or anything else) can log it.
        .layer(SetSensitiveRequestHeadersLayer::new([AUTHORIZATION]));
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    tracing::info!(address = %listener.local_addr()?, authority = %args.authority, "orders API listening");
    axum::serve(listener, app).await.context("server failed")
}

fn validator_config(args: &Args) -> anyhow::Result<ValidatorConfig> {
    // `entra` takes one audience; `audiences` then sets all of them.
    let first = args.audiences.first().map_or("", String::as_str);
    let mut config = ValidatorConfig::entra(tenant_of(&args.authority), first)
        .authority(args.authority.clone())
        .audiences(args.audiences.iter().map(String::as_str));
    if let Some(path) = &args.ca_file {
        let pem = std::fs::read(path)
            .with_context(|| format!("cannot read the CA file {}", path.display()))?;
        let fetcher = HttpFetcher::with_options(
            HttpFetcher::DEFAULT_TIMEOUT,
            HttpFetcher::DEFAULT_MAX_BYTES,
            &[&pem],
        )
        .with_context(|| format!("cannot use the CA file {}", path.display()))?;
        config = config.fetcher(Arc::new(fetcher));
    }
    Ok(config)
}

/// The tenant segment of an authority URL (`…/{tenant}` or
/// `…/{tenant}/v2.0`).
fn tenant_of(authority: &str) -> &str {
    let path = authority.trim_end_matches('/');
    let path = path.strip_suffix("/v2.0").unwrap_or(path);
    path.rsplit('/').next().unwrap_or(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_is_the_last_authority_segment() {
        for authority in [
            "https://localhost:8443/contoso",
            "https://localhost:8443/contoso/",
            "https://localhost:8443/contoso/v2.0",
        ] {
            assert_eq!(tenant_of(authority), "contoso", "{authority}");
        }
    }

    #[test]
    fn flags_parse() {
        let args = Args::try_parse_from([
            "orders-api",
            "--authority",
            "https://localhost:8443/contoso",
            "--audience",
            "api://orders",
            "--audience",
            "6e74172b-be56-4843-9ff4-e66a39bb12e3",
        ])
        .unwrap();
        assert_eq!(args.listen.to_string(), "127.0.0.1:5080");
        assert_eq!(args.audiences.len(), 2);
        assert!(Args::try_parse_from(["orders-api", "--authority", "https://x/t"]).is_err());
        let validator = Validator::new(validator_config(&args).unwrap()).unwrap();
        assert_eq!(validator.audiences().len(), 3);
    }
}
