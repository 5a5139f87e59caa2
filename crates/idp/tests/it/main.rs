//! The identity provider over real HTTPS on loopback, with the sample
//! tenant (examples/tenant.toml), a temporary data folder, and reqwest as
//! the client. Tokens are checked with rolegate-token, as an API would.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

mod balancer;
mod client_assertion;
mod code_flow;
mod device;
mod errors;
mod grants;
mod graph;
mod groups;
mod metadata;
mod multitenant;
mod obo;
mod portal;
#[cfg(feature = "postgres")]
mod postgres;
mod restart;
mod rotation;
mod security;
mod strict;
mod transport;
mod v1;

use std::path::PathBuf;
use std::sync::Arc;

use rolegate_idp::protocol::Settings;
use rolegate_idp::server::{self, Running, ServerConfig, StoreConfig};
use rolegate_token::fetch::HttpFetcher;
use rolegate_token::{Validator, ValidatorConfig};
use serde_json::Value;

pub const TID: &str = "7d3e1b5a-2f4c-4e8d-9a6b-0c1d2e3f4a5b";
pub const API: &str = "8a1f6c2e-4b7d-4e9a-b3c5-6d7e8f9a0b1c";
pub const SPA: &str = "2732dc92-37da-4c7f-a87a-1900d556a951";
pub const SPA_REDIRECT: &str = "http://localhost:5173/";
pub const SPA_ORIGIN: &str = "http://localhost:5173";
pub const DAEMON: &str = "7fbf04bb-64db-4661-a8cd-d2d07d250ad8";
pub const DAEMON_SECRET: &str = "daemon-secret-8Qx3vT7pLm2Zr9Wc";
pub const CLI: &str = "c2e9bc59-4581-415a-9b7f-78e66989c5c8";
pub const ALICE: (&str, &str) = ("alice@contoso.test", "alice-Passw0rd");
pub const BOB: (&str, &str) = ("bob@contoso.test", "bob-Passw0rd");
pub const CAROL: (&str, &str) = ("carol@contoso.test", "carol-Passw0rd");

/// A running provider plus an HTTPS client that trusts its CA.
pub struct Idp {
    pub running: Running,
    pub data_dir: PathBuf,
    pub client: reqwest::Client,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Idp {
    pub async fn start() -> Idp {
        let data_dir = std::env::temp_dir().join(format!(
            "rolegate-idp-test-{}",
            rolegate_idp::secret::random_token(9)
        ));
        Self::start_in(data_dir, "127.0.0.1:0").await
    }

    pub async fn start_in(data_dir: PathBuf, listen: &str) -> Idp {
        Self::start_with(
            data_dir,
            listen,
            concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/tenant.toml"),
        )
        .await
    }

    /// A provider for the tenant file at `config`.
    pub async fn start_with(data_dir: PathBuf, listen: &str, config: &str) -> Idp {
        Self::start_tenants(data_dir, listen, &[config]).await
    }

    /// A provider serving several tenant files (the first is the default).
    pub async fn start_tenants(data_dir: PathBuf, listen: &str, files: &[&str]) -> Idp {
        Self::start_on(data_dir, listen, files, StoreConfig::Sqlite).await
    }

    /// The sample tenant on `store`, in a fresh data folder.
    pub async fn start_with_store(store: StoreConfig) -> Idp {
        let data_dir = std::env::temp_dir().join(format!(
            "rolegate-idp-test-{}",
            rolegate_idp::secret::random_token(9)
        ));
        Self::start_on(
            data_dir,
            "127.0.0.1:0",
            &[concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../examples/tenant.toml"
            )],
            store,
        )
        .await
    }

    /// A provider serving `files` (the first is the default) on `store`.
    pub async fn start_on(
        data_dir: PathBuf,
        listen: &str,
        files: &[&str],
        store: StoreConfig,
    ) -> Idp {
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let config = ServerConfig {
            config_path: PathBuf::from(files[0]),
            more_tenants: files[1..].iter().map(PathBuf::from).collect(),
            listen: listen.parse().unwrap(),
            data_dir: data_dir.clone(),
            store,
            tls_files: None,
            public_url: None,
            insecure_http: false,
            trusted_proxies: Vec::new(),
            limits: Default::default(),
            settings: Settings::default(),
        };
        let running = server::start(config, async move {
            let _ = rx.await;
        })
        .await
        .unwrap();
        let ca = std::fs::read(&running.ca_path).unwrap();
        let client = reqwest::Client::builder()
            .tls_certs_only(reqwest::Certificate::from_pem_bundle(&ca).unwrap())
            .redirect(reqwest::redirect::Policy::none())
            .cookie_store(true)
            .build()
            .unwrap();
        Idp {
            running,
            data_dir,
            client,
            shutdown: Some(tx),
        }
    }

    /// Stops the server and waits for it.
    pub async fn stop(mut self) -> PathBuf {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let task = std::mem::replace(&mut self.running.task, tokio::spawn(async { Ok(()) }));
        let _ = task.await;
        self.data_dir.clone()
    }

    pub fn authority(&self) -> String {
        format!("{}/{TID}", self.running.origin)
    }

    pub fn token_url(&self) -> String {
        format!("{}/oauth2/v2.0/token", self.authority())
    }

    pub async fn post_token(&self, form: &[(&str, &str)]) -> (u16, Value) {
        self.post_token_with(form, None).await
    }

    pub async fn post_token_with(
        &self,
        form: &[(&str, &str)],
        origin: Option<&str>,
    ) -> (u16, Value) {
        let mut req = self.client.post(self.token_url()).form(form);
        if let Some(o) = origin {
            req = req.header("origin", o);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap())
    }

    /// A validator for the Orders API against this provider, as an API would build it.
    pub fn api_validator(&self) -> Validator {
        let ca = std::fs::read(&self.running.ca_path).unwrap();
        let fetcher =
            HttpFetcher::with_options(std::time::Duration::from_secs(5), 1 << 20, &[&ca]).unwrap();
        Validator::new(
            ValidatorConfig::entra_authority(self.authority(), API).fetcher(Arc::new(fetcher)),
        )
        .unwrap()
    }
}

impl Drop for Idp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Decodes a JWT's payload without verifying (tests check claims).
pub fn claims(jwt: &str) -> Value {
    use base64::Engine as _;
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap()
}

/// The AADSTS number of an error body.
pub fn aadsts(body: &Value) -> u64 {
    body["error_codes"][0]
        .as_u64()
        .unwrap_or_else(|| panic!("no error code in {body}"))
}
