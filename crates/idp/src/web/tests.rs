//! The router through `tower::ServiceExt::oneshot`, with no socket: a
//! provider for `examples/tenant.toml` over an in-memory store and a manual
//! clock. The HTTPS integration tests (`tests/it/`) stay the smoke tests
//! over real TLS.

use std::path::Path;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use axum::response::Response;
use rolegate_token::clock::{Clock, ManualClock};
use serde_json::Value;
use tower::ServiceExt as _;

use super::{WebState, routes};
use crate::directory::{Tenants, config};
use crate::keys::SigningKeys;
use crate::protocol::endpoints::{self, Method};
use crate::protocol::{Provider, Settings};
use crate::store::Store;
use crate::store::sqlite::SqliteStore;

const ORIGIN: &str = "https://localhost:8443";
const TID: &str = "7d3e1b5a-2f4c-4e8d-9a6b-0c1d2e3f4a5b";
const SPA_ORIGIN: &str = "http://localhost:5173";

async fn state() -> WebState {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/tenant.toml");
    let directory = config::load(&file).unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::in_memory().await.unwrap());
    let clock = Arc::new(ManualClock::new(1_750_000_000));
    let keys = SigningKeys::load_or_create(Arc::clone(&store), clock.now())
        .await
        .unwrap();
    let provider = Provider::new(
        Tenants::single(directory),
        store,
        keys,
        Settings::default(),
        clock,
    );
    WebState::new(Arc::new(provider), ORIGIN)
}

async fn send(state: &WebState, request: Request<Body>) -> Response {
    routes(state.clone()).oneshot(request).await.unwrap()
}

fn get(uri: &str) -> Request<Body> {
    Request::get(uri).body(Body::empty()).unwrap()
}

fn form(uri: &str, body: &str) -> Request<Body> {
    Request::post(uri)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(body.to_owned()))
        .unwrap()
}

async fn text(response: Response) -> String {
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    String::from_utf8(bytes.to_vec()).unwrap()
}

async fn json(response: Response) -> Value {
    serde_json::from_str(&text(response).await).unwrap()
}

fn header_of(response: &Response, name: header::HeaderName) -> &str {
    response
        .headers()
        .get(name)
        .map_or("", |v| v.to_str().unwrap())
}

#[tokio::test]
async fn an_unknown_tenant_is_a_json_90002_that_is_not_cached() {
    let state = state().await;
    let response = send(
        &state,
        get("/fabrikam.test/v2.0/.well-known/openid-configuration"),
    )
    .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        header_of(&response, header::CACHE_CONTROL),
        "no-store, no-cache"
    );
    assert_eq!(header_of(&response, header::PRAGMA), "no-cache");
    let body = json(response).await;
    assert_eq!(body["error"], "invalid_tenant", "{body}");
    assert_eq!(body["error_codes"][0], 90_002, "{body}");
    assert_eq!(
        body["error_uri"],
        format!("{ORIGIN}/error?code=90002"),
        "{body}"
    );
}

#[tokio::test]
async fn discovery_is_cacheable_and_readable_from_any_origin() {
    let state = state().await;
    let response = send(
        &state,
        get(&format!("/{TID}/v2.0/.well-known/openid-configuration")),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        header_of(&response, header::CACHE_CONTROL),
        "max-age=86400, private"
    );
    assert_eq!(
        header_of(&response, header::ACCESS_CONTROL_ALLOW_ORIGIN),
        "*"
    );
    let body = json(response).await;
    assert_eq!(body["issuer"], format!("{ORIGIN}/{TID}/v2.0"));
    assert_eq!(body["token_endpoint"], endpoints::V2_TOKEN.url(ORIGIN, TID));
}

#[tokio::test]
async fn a_repeated_token_parameter_is_90015() {
    let state = state().await;
    let response = send(
        &state,
        form(
            &endpoints::V2_TOKEN.in_tenant(TID),
            "grant_type=client_credentials&scope=a&scope=b",
        ),
    )
    .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body = json(response).await;
    assert_eq!(body["error"], "invalid_request", "{body}");
    assert_eq!(body["error_codes"][0], 90_015, "{body}");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("'scope'"),
        "{body}"
    );
}

#[tokio::test]
async fn a_sign_in_without_the_csrf_cookie_is_refused() {
    let state = state().await;
    let response = send(
        &state,
        form(
            &endpoints::LOGIN.in_tenant(TID),
            "csrf=forged&request=client_id%3Dx&username=alice%40contoso.test&password=alice-Passw0rd",
        ),
    )
    .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        header_of(&response, header::CONTENT_SECURITY_POLICY),
        "frame-ancestors 'none'"
    );
    assert!(response.headers().get(header::SET_COOKIE).is_none());
    let html = text(response).await;
    assert!(html.contains("AADSTS90015"), "{html}");
    assert!(html.contains("CSRF check failed"), "{html}");
}

#[tokio::test]
async fn the_authority_page_lists_the_endpoints_and_refuses_framing() {
    let state = state().await;
    let response = send(&state, get(&format!("/{TID}"))).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(header_of(&response, header::X_FRAME_OPTIONS), "DENY");
    assert_eq!(header_of(&response, header::CACHE_CONTROL), "no-store");
    let html = text(response).await;
    assert!(html.contains("contoso.test"), "{html}");
    for endpoint in [endpoints::V2_DISCOVERY, endpoints::V2_TOKEN] {
        assert!(html.contains(&endpoint.url(ORIGIN, TID)), "{html}");
    }
    let unknown = send(&state, get("/fabrikam.test")).await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    assert!(text(unknown).await.contains("AADSTS90002"));
}

#[tokio::test]
async fn the_token_preflight_allows_registered_spa_origins_only() {
    let state = state().await;
    let preflight = |origin: &str| {
        Request::options(endpoints::V2_TOKEN.in_tenant(TID))
            .header(header::ORIGIN, origin)
            .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
            .body(Body::empty())
            .unwrap()
    };
    let allowed = send(&state, preflight(SPA_ORIGIN)).await;
    assert_eq!(allowed.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        header_of(&allowed, header::ACCESS_CONTROL_ALLOW_ORIGIN),
        SPA_ORIGIN
    );
    assert_eq!(
        header_of(&allowed, header::ACCESS_CONTROL_ALLOW_METHODS),
        "POST, OPTIONS"
    );
    assert_eq!(header_of(&allowed, header::VARY), "Origin");
    assert!(
        header_of(&allowed, header::ACCESS_CONTROL_ALLOW_HEADERS).contains("client-request-id")
    );
    for origin in ["https://evil.test", "http://localhost:5174", "null"] {
        let refused = send(&state, preflight(origin)).await;
        assert_eq!(refused.status(), StatusCode::NO_CONTENT, "{origin}");
        for name in [
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            header::ACCESS_CONTROL_ALLOW_METHODS,
            header::ACCESS_CONTROL_ALLOW_HEADERS,
        ] {
            assert!(refused.headers().get(&name).is_none(), "{origin}: {name}");
        }
    }
}

/// The router serves exactly the endpoint table: every endpoint answers
/// the methods listed for it (no 404 or 405) and refuses the others (405).
/// Discovery builds its endpoint members from the same table, so it cannot
/// name a path the router does not serve.
#[tokio::test]
async fn the_router_serves_exactly_the_endpoint_table() {
    let state = state().await;
    for endpoint in endpoints::ALL {
        let uri = endpoint
            .in_tenant(TID)
            .replace("{user}", "alice@contoso.test")
            .replace("{asset}", "portal.js");
        for (method, http) in [
            (Method::Get, axum::http::Method::GET),
            (Method::Options, axum::http::Method::OPTIONS),
            (Method::Post, axum::http::Method::POST),
            (Method::Patch, axum::http::Method::PATCH),
            (Method::Delete, axum::http::Method::DELETE),
        ] {
            let request = Request::builder()
                .method(http.clone())
                .uri(&uri)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::empty())
                .unwrap();
            let status = send(&state, request).await.status();
            if endpoint.methods.contains(&method) {
                assert!(
                    status != StatusCode::NOT_FOUND && status != StatusCode::METHOD_NOT_ALLOWED,
                    "{http} {uri} answered {status}"
                );
            } else {
                assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{http} {uri}");
            }
        }
    }
}
