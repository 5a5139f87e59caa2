//! The token endpoints (v2.0 and v1.0), their CORS answers for SPAs, and
//! HTTP Basic client credentials.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine as _;

use super::respond::{json_error, no_store};
use super::{ClientAddr, WebState};
use crate::directory::Tenants;
use crate::protocol::authorize;
use crate::protocol::endpoints::{V1_TOKEN, V2_TOKEN};
use crate::protocol::response::Endpoint;
use crate::protocol::tenancy::Authority;
use crate::protocol::token::{self, TokenRequest};
use crate::protocol::tokens::IssuerContext;

/// The token endpoints, with their CORS preflights.
pub(super) fn routes() -> Router<WebState> {
    Router::new()
        .route(V2_TOKEN.path, post(token_v2).options(token_preflight))
        .route(V1_TOKEN.path, post(token_v1).options(token_preflight))
}

async fn token_v2(
    state: State<WebState>,
    tenant: Path<String>,
    source: ClientAddr,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    token(state, tenant, source, headers, body, Endpoint::V2).await
}

async fn token_v1(
    state: State<WebState>,
    tenant: Path<String>,
    source: ClientAddr,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    token(state, tenant, source, headers, body, Endpoint::V1).await
}

async fn token(
    State(state): State<WebState>,
    Path(tenant): Path<String>,
    ClientAddr(source): ClientAddr,
    headers: HeaderMap,
    body: Bytes,
    endpoint: Endpoint,
) -> Response {
    let tenants = state.provider.tenants();
    let origin_header = headers
        .get(header::ORIGIN)
        .and_then(|o| o.to_str().ok())
        .map(str::to_owned);
    let mut response = match Authority::resolve(&tenants, &tenant) {
        Err(e) => json_error(&state, &headers, &e),
        Ok(_) => match authorize::unique_map(&body) {
            Err(e) => json_error(&state, &headers, &e),
            Ok(params) => {
                let request = TokenRequest {
                    params,
                    basic: basic_credentials(&headers),
                    origin: origin_header.clone(),
                    tenant_segment: tenant.clone(),
                    issuer: IssuerContext {
                        origin: state.origin(&headers),
                        tenant_id: String::new(),
                    },
                    source,
                    endpoint,
                };
                match token::token(&state.provider, &request).await {
                    Ok(body) => (no_store(), axum::Json(body.to_json(endpoint))).into_response(),
                    Err(e) => json_error(&state, &headers, &e),
                }
            }
        },
    };
    if let Some(origin) = origin_header.filter(|o| spa_origin_allowed(&tenants, o)) {
        cors(response.headers_mut(), &origin);
    }
    response
}

async fn token_preflight(State(state): State<WebState>, headers: HeaderMap) -> Response {
    let tenants = state.provider.tenants();
    let mut response = StatusCode::NO_CONTENT.into_response();
    if let Some(origin) = headers
        .get(header::ORIGIN)
        .and_then(|o| o.to_str().ok())
        .filter(|o| spa_origin_allowed(&tenants, o))
    {
        cors(response.headers_mut(), origin);
        let h = response.headers_mut();
        h.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("POST, OPTIONS"),
        );
        h.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static(CORS_HEADERS),
        );
        h.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static("600"),
        );
    }
    response
}

/// Whether `origin` is the origin of a registered SPA redirect URI.
fn spa_origin_allowed(tenants: &Tenants, origin: &str) -> bool {
    tenants
        .iter()
        .flat_map(|d| d.applications.iter())
        .flat_map(|a| a.redirect_uris.iter())
        .any(|(uri, kind)| {
            *kind == crate::directory::RedirectKind::Spa
                && url::Url::parse(uri).is_ok_and(|u| {
                    u.origin()
                        .ascii_serialization()
                        .eq_ignore_ascii_case(origin)
                })
        })
}

fn cors(headers: &mut HeaderMap, origin: &str) {
    if let Ok(value) = HeaderValue::from_str(origin) {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
        headers.insert(header::VARY, HeaderValue::from_static("Origin"));
    }
}

const CORS_HEADERS: &str = "content-type, x-anchormailbox, client-request-id, return-client-request-id, x-client-sku, x-client-ver, x-client-os, x-client-cpu, x-ms-lib-capability, x-app-name, x-app-ver, x-client-current-telemetry, x-client-last-telemetry";

fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, rest) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(rest.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    let unescape = |s: &str| {
        url::form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
    };
    Some((unescape(id)?, unescape(secret)?))
}
