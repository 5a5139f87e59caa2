//! `rolegate-probe` against real servers on loopback: the identity
//! provider (in process, on a temporary data folder, with the demo tenant),
//! deliberately broken APIs with exactly one flaw each, a correct API on
//! rolegate-axum, the Orders API in both demo variants, and `rolegate
//! gateway` in front of an upstream that checks nothing.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

mod broken;
mod correct;
mod errors;
mod gateway;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::OnceLock;

use rolegate_idp::protocol::Settings;
use rolegate_idp::server::{self, ServerConfig, StoreConfig};
use rolegate_probe::catalogue::CheckId;
use rolegate_probe::report::Verdict;
use rolegate_probe::{ProbeConfig, Report, probe};
use rolegate_token::clock::{Clock, SystemClock};

/// The demo tenant's ids.
pub use rolegate_demo::tenant::{API, SINGLE, TENANT_ID};

/// One provider and one runtime for the whole test binary.
pub struct Env {
    pub runtime: tokio::runtime::Runtime,
    pub data_dir: PathBuf,
    pub origin: String,
    pub ca_pem: Vec<u8>,
    pub provider: std::sync::Arc<rolegate_idp::protocol::Provider>,
}

pub fn env() -> &'static Env {
    static ENV: OnceLock<Env> = OnceLock::new();
    ENV.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let data_dir = std::env::temp_dir().join(format!(
            "rolegate-probe-test-{}",
            rolegate_idp::secret::random_token(9)
        ));
        // The demo tenant, written to the data folder as `rolegate demo` does.
        std::fs::create_dir_all(&data_dir).unwrap();
        let config_path = data_dir.join("tenant.toml");
        std::fs::write(&config_path, rolegate_demo::tenant::TOML).unwrap();
        let config = ServerConfig {
            config_path,
            more_tenants: Vec::new(),
            listen: "127.0.0.1:0".parse().unwrap(),
            data_dir: data_dir.clone(),
            store: StoreConfig::Sqlite,
            tls_files: None,
            public_url: None,
            insecure_http: false,
            trusted_proxies: Vec::new(),
            limits: Default::default(),
            settings: Settings::default(),
        };
        let running = runtime
            .block_on(server::start(config, std::future::pending()))
            .unwrap();
        let ca_pem = std::fs::read(&running.ca_path).unwrap();
        Env {
            runtime,
            data_dir,
            origin: running.origin.clone(),
            ca_pem,
            provider: running.provider,
        }
    })
}

/// Serves `app` on 127.0.0.1 (plain HTTP) on the shared runtime.
pub fn serve(app: axum::Router) -> SocketAddr {
    let env = env();
    env.runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        addr
    })
}

/// Probes `url` for the API `audience`, requiring `roles`.
pub fn run_probe(url: &str, audience: &str, roles: &[&str], scopes: &[&str]) -> Report {
    run_probe_with(url, audience, roles, scopes, &[])
}

/// Same, with extra request headers.
pub fn run_probe_with(
    url: &str,
    audience: &str,
    roles: &[&str],
    scopes: &[&str],
    headers: &[(&str, &str)],
) -> Report {
    let env = env();
    let mut config = ProbeConfig::new(url.parse().unwrap(), &env.data_dir, audience);
    config.roles = roles.iter().map(|r| r.to_string()).collect();
    config.scopes = scopes.iter().map(|s| s.to_string()).collect();
    config.headers = headers
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect();
    env.runtime
        .block_on(probe(&config, &SystemClock))
        .unwrap_or_else(|e| panic!("probe of {url} failed: {e}"))
}

/// Asserts that the report has no vulnerable and no inconclusive row.
pub fn assert_clean(report: &Report) {
    let bad: Vec<String> = report
        .checks
        .iter()
        .filter(|c| c.verdict != Verdict::Pass)
        .map(|c| format!("{} {} {:?} {:?}", c.id, c.verdict, c.status, c.note))
        .collect();
    assert!(bad.is_empty(), "{bad:#?}\n{}", report.to_table());
    assert_eq!(report.vulnerable(), 0);
}

/// The verdict of check `id`.
pub fn verdict(report: &Report, id: CheckId) -> Verdict {
    report
        .check(id)
        .unwrap_or_else(|| panic!("{id} not sent\n{}", report.to_table()))
        .verdict
}

pub fn now() -> i64 {
    SystemClock.now()
}
