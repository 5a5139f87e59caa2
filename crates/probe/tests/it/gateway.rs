//! `rolegate gateway` in front of a plain upstream that checks nothing:
//! every verdict is the gateway's. Probed as a reverse proxy and through its
//! forward-auth endpoint (nginx `auth_request` style), with a route that
//! requires the app role Orders.Read.
//!
//! Configured as the API is registered (`token_version = 2`), nothing is
//! VULNERABLE and nothing inconclusive, in both modes. Without
//! `token_version` the gateway accepts both token versions, and the probe's
//! `v1_token_for_v2_api` says so (the third test shows the check can fail).

use axum::Router;
use axum::routing::get;
use rolegate_gateway::{Config, Gateway, Running};
use rolegate_probe::Report;
use rolegate_probe::catalogue::CheckId;
use rolegate_probe::report::Verdict;

use crate::{API, TENANT_ID, env, run_probe_with, serve};

#[test]
fn gateway_as_reverse_proxy_has_nothing_vulnerable() {
    let running = gateway(Some(2));
    let url = format!("http://{}/orders", running.address());
    let report = run_probe_with(&url, API, &["Orders.Read"], &[], &[]);
    assert_only(&report, &[]);
    env().runtime.block_on(running.stop());
}

#[test]
fn gateway_forward_auth_has_nothing_vulnerable() {
    let running = gateway(Some(2));
    let url = format!("http://{}/.rolegate/auth", running.address());
    let headers = [("X-Original-Method", "GET"), ("X-Original-URI", "/orders")];
    let report = run_probe_with(&url, API, &["Orders.Read"], &[], &headers);
    assert_only(&report, &[]);
    env().runtime.block_on(running.stop());
}

#[test]
fn without_token_version_a_v1_token_for_the_v2_api_passes() {
    let running = gateway(None);
    let url = format!("http://{}/orders", running.address());
    let report = run_probe_with(&url, API, &["Orders.Read"], &[], &[]);
    assert_only(&report, &[CheckId::V1TokenForV2Api]);
    env().runtime.block_on(running.stop());
}

/// Baseline 200; no inconclusive row; every check passes but `known`,
/// which are VULNERABLE.
fn assert_only(report: &Report, known: &[CheckId]) {
    let table = report.to_table();
    assert_eq!(report.baseline_status, 200, "{table}");
    for check in &report.checks {
        let expected = if known.contains(&check.id) {
            Verdict::Vulnerable
        } else {
            Verdict::Pass
        };
        assert_eq!(check.verdict, expected, "{}\n{table}", check.id);
    }
    assert_eq!(report.vulnerable(), known.len(), "{table}");
    assert_eq!(report.checks.len(), CheckId::ALL.len() - 1, "{table}");
}

/// A gateway whose route `/orders` needs the app role Orders.Read, in
/// front of an upstream that answers 200 to anything.
fn gateway(token_version: Option<u8>) -> Running {
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
{version}

[[routes]]
path = "/orders"
roles_any = ["Orders.Read"]
"#,
        origin = env.origin,
        ca = ca_file.display(),
        version = token_version.map_or(String::new(), |v| format!("token_version = {v}")),
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
