//! When the probe cannot judge: a refused baseline, a remote URL, an
//! unusable data folder, an unknown audience.

use rolegate_probe::{ProbeConfig, ProbeError, probe};
use rolegate_token::clock::SystemClock;

use crate::{API, env};

fn attempt(config: &ProbeConfig) -> ProbeError {
    env()
        .runtime
        .block_on(probe(config, &SystemClock))
        .expect_err("the probe must not judge")
}

#[test]
fn refused_baseline_is_an_error_naming_the_status() {
    // Not a protected API: the provider's token endpoint answers 405 to a GET.
    let env = env();
    let url = format!("{}/{}/oauth2/v2.0/token", env.origin, crate::TENANT_ID);
    let config = ProbeConfig::new(url.parse().unwrap(), &env.data_dir, API);
    match attempt(&config) {
        ProbeError::BaselineRefused { status, .. } => assert_eq!(status, 405),
        other => panic!("{other}"),
    }
}

#[test]
fn remote_url_needs_allow_remote() {
    let config = ProbeConfig::new(
        "https://api.example.com/orders".parse().unwrap(),
        &env().data_dir,
        API,
    );
    assert!(matches!(attempt(&config), ProbeError::NotLoopback { .. }));
}

#[test]
fn missing_data_dir_and_unknown_audience_say_what_to_do() {
    let missing = ProbeConfig::new(
        "http://127.0.0.1:9/orders".parse().unwrap(),
        "/nonexistent/rolegate-data",
        API,
    );
    let message = attempt(&missing).to_string();
    assert!(message.contains("--data-dir"), "{message}");
    let unknown = ProbeConfig::new(
        "http://127.0.0.1:9/orders".parse().unwrap(),
        &env().data_dir,
        "api://nope",
    );
    let message = attempt(&unknown).to_string();
    assert!(message.contains("Orders API (8a1f6c2e"), "{message}");
}
