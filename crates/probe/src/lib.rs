//! Probe a running API for the Entra ID token pitfalls, with tokens signed
//! by a real identity provider.
//!
//! An API that accepts an ID token, ignores `aud` or the tenant, or trusts
//! `roles` without the route's check "works" — the flaw is invisible from
//! inside. Generic JWT tools only try forgeries, because they cannot mint
//! *correctly signed* tokens that are wrong in Entra-specific ways. This
//! crate can: it reads the data folder of a `rolegate idp` (or `rolegate
//! demo`) the API trusts — the tenant, the issuer, and the signing keys from
//! the provider's store, opened read-only — mints tokens with the
//! provider's current key, and sends one request per check of the
//! [`catalogue`].
//!
//! ```no_run
//! # async fn run() -> Result<(), rolegate_probe::ProbeError> {
//! use rolegate_probe::{ProbeConfig, probe};
//! use rolegate_token::clock::SystemClock;
//!
//! let url = url::Url::parse("https://localhost:8443/api/orders").expect("a URL");
//! let mut config = ProbeConfig::new(url, "rolegate-demo", "8a1f6c2e-4b7d-4e9a-b3c5-6d7e8f9a0b1c");
//! config.roles = vec!["Orders.Read".into()];
//! config.scopes = vec!["access_as_user".into()];
//! let report = probe(&config, &SystemClock).await?;
//! print!("{}", report.to_table());
//! assert_eq!(report.vulnerable(), 0);
//! # Ok(())
//! # }
//! ```
//!
//! First the **baseline**: a correct access token for the audience, with
//! the required roles and scopes, must get a 2xx — otherwise the probe
//! cannot judge the API and [`probe`] fails with
//! [`ProbeError::BaselineRefused`]. Then each check sends a token that must
//! be refused: a 2xx is [`Verdict::Vulnerable`](report::Verdict), 401/403 a
//! pass, anything else inconclusive.
//!
//! # Security
//!
//! The probe sends forged and misissued tokens. [`probe`] refuses a URL
//! whose host is not loopback unless [`ProbeConfig::allow_remote`] is set,
//! so that nobody aims it at someone else's API by accident. The signing
//! keys never leave the provider's store: the probe signs through
//! [`rolegate_idp::keys::SigningKeys`].

mod bait;
mod cast;
pub mod catalogue;
mod der;
mod mint;
mod provider;
mod recipe;
pub mod report;
mod runner;

use std::net::IpAddr;
use std::path::PathBuf;

use rolegate_token::clock::Clock;
use url::{Host, Url};

use crate::bait::Bait;
use crate::cast::Cast;
use crate::mint::AttackerKey;
use crate::recipe::{Baseline, Credential, Kitchen};
use crate::runner::Runner;

pub use crate::report::Report;

/// What to probe and how.
#[derive(Debug, Clone)]
pub struct ProbeConfig {
    /// One protected endpoint of the API under test.
    pub url: Url,
    /// The data folder of the `rolegate idp` (or `rolegate demo`) the API
    /// trusts.
    pub data_dir: PathBuf,
    /// Where the provider keeps its signing keys: its SQLite database in
    /// `data_dir` (the default), or the PostgreSQL store its replicas share.
    pub store: rolegate_idp::server::StoreConfig,
    /// The API's client id or App ID URI.
    pub audience: String,
    /// The tenant file, instead of the one the provider recorded.
    pub tenant_file: Option<PathBuf>,
    /// The authority the API trusts (its origin is used), instead of the
    /// origin the provider recorded.
    pub authority: Option<Url>,
    /// The HTTP method (default `GET`).
    pub method: String,
    /// Extra request headers (name, value).
    pub headers: Vec<(String, String)>,
    /// App roles the endpoint requires.
    pub roles: Vec<String>,
    /// Delegated scopes the endpoint requires.
    pub scopes: Vec<String>,
    /// The request body.
    pub body: Option<Vec<u8>>,
    /// Allow a URL whose host is not loopback.
    ///
    /// # Security
    ///
    /// The probe sends forged tokens; only aim it at an API you own.
    pub allow_remote: bool,
}

impl ProbeConfig {
    /// A `GET` of `url`, trusting the provider in `data_dir`, for the API
    /// `audience`, requiring no role or scope.
    pub fn new(url: Url, data_dir: impl Into<PathBuf>, audience: impl Into<String>) -> Self {
        ProbeConfig {
            url,
            data_dir: data_dir.into(),
            store: rolegate_idp::server::StoreConfig::Sqlite,
            audience: audience.into(),
            tenant_file: None,
            authority: None,
            method: "GET".to_owned(),
            headers: Vec::new(),
            roles: Vec::new(),
            scopes: Vec::new(),
            body: None,
            allow_remote: false,
        }
    }
}

/// Why the probe could not judge the API (the CLI exits 2).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProbeError {
    /// The URL's host is not loopback and remote probing was not allowed.
    #[error(
        "{host} is not a loopback address: the probe sends forged tokens, so it only targets this machine \
         unless --allow-remote is given (use it only for an API you own)"
    )]
    NotLoopback {
        /// The host.
        host: String,
    },
    /// An argument is unusable.
    #[error("{0}")]
    Usage(String),
    /// The provider's data folder (or a file in it) is unusable.
    #[error("cannot use the identity provider's data folder {path}: {reason}")]
    DataDir {
        /// The folder or file.
        path: PathBuf,
        /// What is wrong and what to do.
        reason: String,
    },
    /// The tenant file is invalid.
    #[error("the tenant file {path} is invalid:\n{problems}")]
    Tenant {
        /// The file.
        path: PathBuf,
        /// The problems, one per line.
        problems: String,
    },
    /// The audience names no application of the tenant.
    #[error(
        "--audience {audience} is neither the client id nor an App ID URI of an application in the tenant file {tenant_file}; \
         APIs there: {apis}"
    )]
    UnknownAudience {
        /// The audience given.
        audience: String,
        /// The tenant file.
        tenant_file: PathBuf,
        /// The applications that expose roles or scopes.
        apis: String,
    },
    /// The system random source failed.
    #[error("the system random source failed")]
    Random,
    /// A token could not be signed.
    #[error("cannot sign a token: {0}")]
    Sign(String),
    /// The loopback listener for `jku`/`x5u` could not start.
    #[error("cannot start the probe's loopback listener: {0}")]
    Bait(#[source] std::io::Error),
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
    /// The endpoint did not answer.
    #[error("{url} is unreachable: {detail}")]
    Unreachable {
        /// The URL.
        url: String,
        /// What the network said.
        detail: String,
    },
    /// The API refused the correct token: nothing else can be judged.
    #[error(
        "the API refused the baseline token (a correct {baseline}, issuer {issuer}) with HTTP {status}{}: \
         check --audience, --role and --scope against what the endpoint requires, and that the API trusts this \
         provider (--data-dir, or --authority if it trusts another origin)",
        challenge.as_ref().map(|c| format!(" (WWW-Authenticate: {c})")).unwrap_or_default()
    )]
    BaselineRefused {
        /// The status.
        status: u16,
        /// `WWW-Authenticate`, if any.
        challenge: Option<String>,
        /// What the baseline token was.
        baseline: String,
        /// Its issuer.
        issuer: String,
    },
}

/// Probes the endpoint of `config`: the baseline first, then every check.
///
/// # Errors
///
/// [`ProbeError`] when the API cannot be judged: a non-loopback URL without
/// `allow_remote`, an unusable data folder or tenant, an unreachable URL,
/// or a refused baseline.
pub async fn probe(config: &ProbeConfig, clock: &dyn Clock) -> Result<Report, ProbeError> {
    let loopback = is_loopback(&config.url);
    if !loopback && !config.allow_remote {
        return Err(ProbeError::NotLoopback {
            host: config.url.host_str().unwrap_or_default().to_owned(),
        });
    }
    let now = clock.now();
    let provider = provider::load(config, now).await?;
    let cast = Cast::new(&provider.directory, &config.audience, &provider.tenant_file)?;
    let baseline = Baseline::new(&cast.api, &config.roles, &config.scopes);
    let attacker = AttackerKey::generate().await?;
    let bait = Bait::start(&attacker).await?;
    let runner = Runner::new(config, provider.ca_pem.as_deref())?;
    let kitchen = Kitchen {
        provider: &provider,
        cast: &cast,
        baseline: &baseline,
        attacker: &attacker,
        bait: &bait,
        now,
    };
    let token = kitchen.baseline_token()?;
    let answer = runner
        .send(&Credential::Header {
            scheme: "Bearer",
            token,
        })
        .await
        .map_err(|detail| ProbeError::Unreachable {
            url: config.url.to_string(),
            detail,
        })?;
    let issuer = if cast.api.requested_access_token_version == 2 {
        provider.issuer.v2_issuer()
    } else {
        provider.issuer.v1_issuer()
    };
    if !(200..300).contains(&answer.status) {
        return Err(ProbeError::BaselineRefused {
            status: answer.status,
            challenge: answer.challenge,
            baseline: baseline.describe(),
            issuer,
        });
    }
    let plan = kitchen.plan()?;
    let mut checks = Vec::with_capacity(plan.checks.len());
    for check in &plan.checks {
        checks.push(runner.run(check, &bait).await);
    }
    let mut notes = Vec::new();
    if !cast.synthesized.is_empty() {
        notes.push(format!(
            "not in the tenant, made up as Entra would issue them (fresh app ids): {}",
            cast.synthesized.join(", ")
        ));
    }
    if !loopback {
        notes.push(
            "jku/x5u point at a loopback listener: a remote API cannot fetch them".to_owned(),
        );
    }
    Ok(Report {
        url: config.url.to_string(),
        baseline_status: answer.status,
        baseline: format!(
            "{} for {}, issuer {issuer}",
            baseline.describe(),
            cast.audience
        ),
        checks,
        skipped: plan.skipped,
        notes,
    })
}

/// Whether `url`'s host is `localhost`, 127.0.0.0/8 or `::1`.
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Domain(name)) => {
            name.eq_ignore_ascii_case("localhost")
                || name.to_ascii_lowercase().ends_with(".localhost")
        }
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}
