//! A correct API on rolegate-axum, and the Orders API in both demo
//! variants: nothing vulnerable, nothing inconclusive.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use rolegate_axum::{AuthLayer, RequireLayer};
use rolegate_probe::catalogue::CheckId;
use rolegate_token::fetch::HttpFetcher;
use rolegate_token::issuer::TokenVersion;
use rolegate_token::requirement::Requirement;
use rolegate_token::{Validator, ValidatorConfig};

use crate::{API, SINGLE, TENANT_ID, assert_clean, env, run_probe, serve};

fn validator(audiences: &[&str]) -> Validator {
    let env = env();
    let fetcher =
        HttpFetcher::with_options(Duration::from_secs(10), 1 << 20, &[&env.ca_pem]).unwrap();
    Validator::new(
        ValidatorConfig::entra_authority(format!("{}/{TENANT_ID}", env.origin), API)
            .audiences(audiences.iter().copied())
            .versions([TokenVersion::V2])
            .fetcher(Arc::new(fetcher)),
    )
    .unwrap()
}

#[test]
fn correct_api_on_rolegate_axum_has_no_vulnerable_or_inconclusive_row() {
    let read = Requirement::scope_or_app_permission(["access_as_user"], ["Orders.Read"])
        .and(Requirement::any_role(["Orders.Read"]));
    let app = Router::new()
        .route(
            "/orders",
            get(|| async { "orders" }).layer(RequireLayer::new(read)),
        )
        .layer(AuthLayer::new(validator(&[API])));
    let addr = serve(app);
    let report = run_probe(&format!("http://{addr}/orders"), API, &["Orders.Read"], &[]);
    assert_clean(&report);
    assert_eq!(report.baseline_status, 200);
    // Every check applies to a v2.0 API but v2_token_for_v1_api.
    assert_eq!(report.checks.len(), CheckId::ALL.len() - 1);
    assert_eq!(report.skipped[0].0, CheckId::V2TokenForV1Api);
}

#[test]
fn orders_api_in_both_demo_variants_has_nothing_vulnerable() {
    let app = Router::new().nest(
        "/api",
        rolegate_demo::api::router(validator(&[API, SINGLE])),
    );
    let addr = serve(app);
    let url = format!("http://{addr}/api/orders");
    for audience in [API, &format!("api://{SINGLE}")] {
        let report = run_probe(&url, audience, &["Orders.Read"], &["access_as_user"]);
        assert_clean(&report);
    }
}
