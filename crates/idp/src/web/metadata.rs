//! Metadata: the discovery documents, signing keys, instance and
//! user-realm discovery, the authority's own page and the error page.

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use serde_json::Value;

use super::respond::{error_page_response, frame_protect, guid, json_error};
use super::{WebState, pages};
use crate::directory::Tenants;
use crate::protocol::authorize;
use crate::protocol::discovery::{self, TenantAlias};
use crate::protocol::endpoints::{
    AUTHORITY, DEVICE_LOGIN, ERROR_PAGE, FAVICON, INSTANCE_DISCOVERY, READY, USER_REALM, USERINFO,
    V1_AUTHORIZE, V1_DISCOVERY, V1_KEYS, V1_TOKEN, V2_AUTHORIZE, V2_DEVICECODE, V2_DISCOVERY,
    V2_KEYS, V2_LOGOUT, V2_TOKEN,
};
use crate::protocol::errors::OAuthError;
use crate::protocol::tenancy::Authority;

/// Discovery, keys, instance and user-realm discovery, the authority and
/// error pages.
pub(super) fn routes() -> Router<WebState> {
    Router::new()
        .route(AUTHORITY.path, get(authority_page))
        .route(V2_DISCOVERY.path, get(v2_discovery))
        .route(V1_DISCOVERY.path, get(v1_discovery))
        .route(V2_KEYS.path, get(v2_keys))
        .route(V1_KEYS.path, get(v1_keys))
        .route(INSTANCE_DISCOVERY.path, get(instance_discovery))
        .route(USER_REALM.path, get(user_realm))
        .route(ERROR_PAGE.path, get(error_page))
        .route(FAVICON.path, get(|| async { StatusCode::NO_CONTENT }))
        .route(READY.path, get(ready))
}

/// Ready when the store answers (one small query, within 2 s) and a key
/// signs now: a
/// replica whose database is unreachable reports it, while discovery and
/// the JWKS (served from memory) would not.
async fn ready(State(state): State<WebState>) -> Response {
    let provider = &state.provider;
    let answer = tokio::time::timeout(
        std::time::Duration::from_secs(2),
        provider.store.directory_versions(),
    )
    .await
    .unwrap_or_else(|_| {
        Err(crate::store::StoreError(
            "no answer within 2 seconds".to_owned(),
        ))
    });
    let (status, body) = match answer {
        Err(e) => {
            tracing::warn!(error = %e, "readiness: the store does not answer");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                serde_json::json!({"status": "unavailable", "reason": "the store does not answer"}),
            )
        }
        Ok(_) if provider.keys.current_kid(provider.now()).is_none() => (
            StatusCode::SERVICE_UNAVAILABLE,
            serde_json::json!({"status": "unavailable", "reason": "no signing key is current"}),
        ),
        Ok(_) => (StatusCode::OK, serde_json::json!({"status": "ready"})),
    };
    (status, super::respond::no_store(), axum::Json(body)).into_response()
}

/// Resolves a tenant path segment for metadata: a served tenant (its id
/// is what the documents carry) or `common`/`organizations`.
fn tenant_alias(tenants: &Tenants, segment: &str) -> Result<(TenantAlias, String), OAuthError> {
    match Authority::resolve(tenants, segment)? {
        Authority::Tenant(dir) => Ok((TenantAlias::Tenant, dir.tenant.id.clone())),
        Authority::Multi => Ok((
            TenantAlias::Multi,
            tenants.default_tenant().tenant.id.clone(),
        )),
    }
}

fn metadata_json(body: Value) -> Response {
    (
        [
            (header::CACHE_CONTROL, "max-age=86400, private"),
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
            (header::ACCESS_CONTROL_ALLOW_METHODS, "GET, OPTIONS"),
        ],
        axum::Json(body),
    )
        .into_response()
}

/// Answers a per-tenant metadata request: `build` gets the origin and the
/// tenant alias; an unknown tenant is AADSTS90002.
fn tenant_metadata(
    state: &WebState,
    tenant: &str,
    headers: &HeaderMap,
    build: impl FnOnce(&str, &str, TenantAlias) -> Value,
) -> Response {
    let tenants = state.provider.tenants();
    match tenant_alias(&tenants, tenant) {
        Ok((alias, tenant_id)) => metadata_json(build(&state.origin(headers), &tenant_id, alias)),
        Err(e) => json_error(state, headers, &e),
    }
}

/// `GET /{tenant}`: the authority URL people paste into a browser answers
/// with the tenant's endpoints (404 page for an unknown tenant).
async fn authority_page(
    State(state): State<WebState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
) -> Response {
    let tenants = state.provider.tenants();
    let (id, domain) = match Authority::resolve(&tenants, &tenant) {
        Ok(Authority::Tenant(dir)) => (dir.tenant.id.clone(), dir.tenant.domain.clone()),
        Ok(Authority::Multi) => (
            tenant.to_ascii_lowercase(),
            "any tenant served here (multi-tenant applications only)".to_owned(),
        ),
        Err(e) => {
            let mut response = error_page_response(&e);
            *response.status_mut() = StatusCode::NOT_FOUND;
            return response;
        }
    };
    let origin = state.origin(&headers);
    let endpoints = [
        ("OpenID configuration (v2.0)", V2_DISCOVERY),
        ("OpenID configuration (v1.0)", V1_DISCOVERY),
        ("Signing keys (v2.0)", V2_KEYS),
        ("Authorize", V2_AUTHORIZE),
        ("Token", V2_TOKEN),
        ("Authorize (v1.0, resource=)", V1_AUTHORIZE),
        ("Token (v1.0, resource=)", V1_TOKEN),
        ("Device code", V2_DEVICECODE),
        ("Device sign-in page", DEVICE_LOGIN),
        ("Logout", V2_LOGOUT),
        ("UserInfo", USERINFO),
    ]
    .map(|(what, endpoint)| (what, endpoint.url(&origin, &tenant)));
    let mut response = Html(pages::authority(
        &format!("{origin}/{tenant}"),
        &id,
        &domain,
        &endpoints,
    ))
    .into_response();
    frame_protect(response.headers_mut());
    response
}

async fn v2_discovery(
    State(state): State<WebState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
) -> Response {
    tenant_metadata(&state, &tenant, &headers, |origin, tenant_id, alias| {
        discovery::v2_document(origin, &tenant, tenant_id, alias)
    })
}

async fn v1_discovery(
    State(state): State<WebState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
) -> Response {
    tenant_metadata(&state, &tenant, &headers, |origin, tenant_id, alias| {
        discovery::v1_document(origin, &tenant, tenant_id, alias)
    })
}

/// v2 keys carry the `{tenantid}` issuer template (spec §1.3).
async fn v2_keys(
    State(state): State<WebState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
) -> Response {
    let now = state.provider.now();
    tenant_metadata(&state, &tenant, &headers, |origin, _, _| {
        state
            .provider
            .keys
            .jwks(Some(&format!("{origin}/{{tenantid}}/v2.0")), now)
    })
}

async fn v1_keys(
    State(state): State<WebState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
) -> Response {
    let now = state.provider.now();
    tenant_metadata(&state, &tenant, &headers, |_, _, _| {
        state.provider.keys.jwks(None, now)
    })
}

async fn instance_discovery(State(state): State<WebState>, headers: HeaderMap) -> Response {
    let origin = state.origin(&headers);
    let host = origin.trim_start_matches("https://").to_owned();
    metadata_json(discovery::instance_document(
        &origin,
        &host,
        &state.provider.tenants().default_tenant().tenant.id,
    ))
}

async fn user_realm(State(state): State<WebState>, Path(user): Path<String>) -> Response {
    let tenants = state.provider.tenants();
    // Per domain, never per account: the answer must not tell which
    // accounts exist.
    let home = tenants.by_upn(&user);
    let domain = user.rsplit_once('@').map(|(_, d)| d).unwrap_or_default();
    metadata_json(discovery::user_realm(&user, domain, home.is_some()))
}

async fn error_page(RawQuery(query): RawQuery) -> Response {
    let code = query
        .as_deref()
        .map(authorize::parse_pairs)
        .and_then(|pairs| pairs.into_iter().find(|(k, _)| k == "code").map(|(_, v)| v))
        .unwrap_or_default();
    let e = OAuthError::invalid_request(
        code.parse().unwrap_or(0),
        "See the error_description of the response that linked here.",
    );
    Html(pages::error(&e, &guid())).into_response()
}
