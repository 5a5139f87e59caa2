//! `rolegate gateway` in front of a plain upstream that checks nothing:
//! every verdict is the gateway's. Probed as a reverse proxy and through its
//! forward-auth endpoint (nginx `auth_request` style), with a route that
//! requires the app role Orders.Read.
//!
//! The target is nothing vulnerable and nothing inconclusive. One check is
//! VULNERABLE today, from how `crates/gateway/src/config.rs` builds the
//! validator:
//! - `v1_token_for_v2_api`: a v1.0 token (`iss` `https://sts.windows.net/{tid}/`,
//!   `aud` `api://<API>`) is accepted: the gateway's validator accepts both
//!   token versions and the file has no key to choose one.
//!
//! (`delegated_without_scope` was the second until rolegate-token refused
//! user tokens without `scp`.) These tests pin exactly that one, so that a
//! fix (or a new finding) makes them fail; then replace [`KNOWN`] by
//! `assert_clean`.

use axum::Router;
use axum::routing::get;
use rolegate_gateway::{Config, Gateway, Running};
use rolegate_probe::Report;
use rolegate_probe::catalogue::CheckId;
use rolegate_probe::report::Verdict;

use crate::{API, TENANT_ID, env, run_probe_with, serve};

/// The checks the gateway fails today (see the module docs).
const KNOWN: [CheckId; 1] = [CheckId::V1TokenForV2Api];

#[test]
fn gateway_as_reverse_proxy_fails_only_the_known_checks() {
    let running = gateway();
    let url = format!("http://{}/orders", running.address());
    let report = run_probe_with(&url, API, &["Orders.Read"], &[], &[]);
    assert_only_known(&report);
    env().runtime.block_on(running.stop());
}

#[test]
fn gateway_forward_auth_fails_only_the_known_checks() {
    let running = gateway();
    let url = format!("http://{}/.rolegate/auth", running.address());
    let headers = [("X-Original-Method", "GET"), ("X-Original-URI", "/orders")];
    let report = run_probe_with(&url, API, &["Orders.Read"], &[], &headers);
    assert_only_known(&report);
    env().runtime.block_on(running.stop());
}

/// Baseline 200; no inconclusive row; every check passes but [`KNOWN`],
/// which are VULNERABLE.
fn assert_only_known(report: &Report) {
    let table = report.to_table();
    assert_eq!(report.baseline_status, 200, "{table}");
    for check in &report.checks {
        let expected = if KNOWN.contains(&check.id) {
            Verdict::Vulnerable
        } else {
            Verdict::Pass
        };
        assert_eq!(check.verdict, expected, "{}\n{table}", check.id);
    }
    assert_eq!(report.vulnerable(), KNOWN.len(), "{table}");
    assert_eq!(report.checks.len(), CheckId::ALL.len() - 1, "{table}");
}

/// A gateway whose route `/orders` needs the app role Orders.Read, in
/// front of an upstream that answers 200 to anything.
fn gateway() -> Running {
    let env = env();
    let upstream = serve(Router::new().fallback(get(|| async { "from the upstream" })));
    let ca_file = env.data_dir.join("gateway-test-ca.pem");
    std::fs::write(&ca_file, &env.ca_pem).unwrap();
    let text = format!(
        r#"
listen = "127.0.0.1:0"
upstream = "http://{upstream}"

[auth]
authority = "{origin}/{TENANT_ID}"
audiences = ["{API}"]
ca_file = "{ca}"

[[routes]]
path = "/orders"
roles_any = ["Orders.Read"]
"#,
        origin = env.origin,
        ca = ca_file.display(),
    );
    let config = Config::parse(&text, &env.data_dir).unwrap();
    env.runtime.block_on(async {
        let running = Gateway::new(config).start().await.unwrap();
        for _ in 0..100 {
            if running.gateway().is_ready() {
                return running;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("the gateway did not load the signing keys within 10 s");
    })
}
