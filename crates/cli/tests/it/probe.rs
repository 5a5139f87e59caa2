//! `rolegate probe` (the binary) against the Orders API trusting an
//! in-process identity provider: the exit codes 0 and 2 and the JSON shape.
//! The broken-API suite is in crates/probe/tests/it.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use rolegate_idp::protocol::Settings;
use rolegate_idp::server::{self, ServerConfig, StoreConfig};
use rolegate_token::fetch::HttpFetcher;
use rolegate_token::issuer::TokenVersion;
use rolegate_token::{Validator, ValidatorConfig};
use serde_json::Value;

use crate::{code, rolegate, stderr, stdout};

const TID: &str = "7d3e1b5a-2f4c-4e8d-9a6b-0c1d2e3f4a5b";
const API: &str = "8a1f6c2e-4b7d-4e9a-b3c5-6d7e8f9a0b1c";

/// A provider on a fresh data folder and the Orders API trusting it (plain
/// HTTP on loopback); returns the data folder and the API's origin.
async fn start() -> (PathBuf, String, tokio::sync::oneshot::Sender<()>) {
    start_on(StoreConfig::Sqlite).await
}

/// [`start`] with the provider's state in `store`.
async fn start_on(store: StoreConfig) -> (PathBuf, String, tokio::sync::oneshot::Sender<()>) {
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let data_dir = std::env::temp_dir().join(format!(
        "rolegate-cli-probe-{}",
        rolegate_idp::secret::random_token(9)
    ));
    let config = ServerConfig {
        config_path: PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../examples/tenant.toml"
        )),
        more_tenants: Vec::new(),
        listen: "127.0.0.1:0".parse().unwrap(),
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
    let fetcher = HttpFetcher::with_options(Duration::from_secs(10), 1 << 20, &[&ca]).unwrap();
    let validator = Validator::new(
        ValidatorConfig::entra_authority(format!("{}/{TID}", running.origin), API)
            .versions([TokenVersion::V2])
            .fetcher(Arc::new(fetcher)),
    )
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, rolegate_demo::api::router(validator)).await });
    (data_dir, format!("http://{addr}"), tx)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probe_of_the_orders_api_exits_0_with_every_check_in_json() {
    let (data_dir, api, _stop) = start().await;
    let url = format!("{api}/orders");
    let dir = data_dir.to_str().unwrap();
    let args = [
        "probe",
        &url,
        "--data-dir",
        dir,
        "--audience",
        API,
        "--role",
        "Orders.Read",
        "--scope",
        "access_as_user",
        "--json",
    ];
    let output = rolegate(&args, None).await;
    assert_eq!(code(&output), 0, "{}{}", stdout(&output), stderr(&output));
    let report: Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(report["url"], url);
    assert_eq!(report["baseline"]["status"], 200);
    assert_eq!(report["vulnerable"], 0);
    let checks = report["checks"].as_array().unwrap();
    assert_eq!(checks.len(), 23);
    for check in checks {
        assert_eq!(check["verdict"], "pass", "{check}");
        assert!(check["fix"].is_null());
        for field in ["id", "expected", "status"] {
            assert!(!check[field].is_null(), "{field} in {check}");
        }
    }
}

/// Replicas on PostgreSQL: the probe signs with the keys in the shared
/// store (given the replicas' KEK), not with a SQLite file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probe_signs_with_the_keys_of_a_postgres_store() {
    let Some(db) = rolegate_testkit::postgres::TestDatabase::create().await else {
        return;
    };
    let kek_line = rolegate_idp::store::key_encryption::generate_key_encryption_key().unwrap();
    let kek =
        rolegate_idp::store::key_encryption::KeyEncryptionKey::from_base64(&kek_line).unwrap();
    let url = rolegate_idp::store::postgres::PostgresUrl::parse(db.url()).unwrap();
    let (data_dir, api, _stop) = start_on(StoreConfig::Postgres { url, kek }).await;
    assert!(
        !data_dir.join(server::DATABASE).exists(),
        "no SQLite database to read keys from"
    );
    let kek_file = data_dir.join("kek");
    std::fs::write(&kek_file, &kek_line).unwrap();
    let endpoint = format!("{api}/orders");
    let dir = data_dir.to_str().unwrap();
    let base = [
        "probe",
        endpoint.as_str(),
        "--data-dir",
        dir,
        "--audience",
        API,
        "--role",
        "Orders.Read",
        "--scope",
        "access_as_user",
        "--json",
    ];
    let mut args = base.to_vec();
    args.extend([
        "--store",
        db.url(),
        "--key-encryption-key-file",
        kek_file.to_str().unwrap(),
    ]);
    let output = rolegate(&args, None).await;
    assert_eq!(code(&output), 0, "{}{}", stdout(&output), stderr(&output));
    let report: Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(report["baseline"]["status"], 200);
    assert_eq!(report["vulnerable"], 0);
    // Without --store the probe looks for SQLite, and says what is missing.
    let output = rolegate(&base, None).await;
    assert_ne!(code(&output), 0);
    assert!(
        stderr(&output).contains("no provider database here"),
        "{}",
        stderr(&output)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_baseline_and_remote_url_exit_2_saying_why() {
    let (data_dir, api, _stop) = start().await;
    let dir = data_dir.to_str().unwrap();
    // /orders needs a role; without --role the baseline carries none.
    let url = format!("{api}/orders");
    let output = rolegate(
        &[
            "probe",
            &url,
            "--data-dir",
            dir,
            "--audience",
            API,
            "--json",
        ],
        None,
    )
    .await;
    assert_eq!(code(&output), 2, "{}", stderr(&output));
    assert!(
        stderr(&output).contains("refused the baseline token"),
        "{}",
        stderr(&output)
    );
    let report: Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(report["baseline"]["status"], 403);

    let output = rolegate(
        &[
            "probe",
            "https://api.example.com/orders",
            "--data-dir",
            dir,
            "--audience",
            API,
        ],
        None,
    )
    .await;
    assert_eq!(code(&output), 2);
    assert!(
        stderr(&output).contains("--allow-remote"),
        "{}",
        stderr(&output)
    );
}
