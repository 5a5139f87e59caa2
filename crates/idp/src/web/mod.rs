//! HTTP routes. Handlers stay thin: parse, call [`crate::protocol`], map
//! the result to a response.

pub mod pages;
pub mod paths;

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use serde_json::Value;

use crate::directory::{Directory, Tenants};
use crate::protocol::Provider;
use crate::protocol::authorize::{self, AuthorizeRequest, Client, Delivery, Step};
use crate::protocol::device;
use crate::protocol::discovery::{self, TenantAlias};
use crate::protocol::errors::OAuthError;
use crate::protocol::grant::{self, TokenRequest};
use crate::protocol::response::Endpoint;
use crate::protocol::tenancy::{self, Authority};
use crate::protocol::tokens::IssuerContext;
use crate::secret::random_token;
use std::net::IpAddr;

use crate::store::{PendingConsent, Session};

/// Shared state of the routes.
#[derive(Debug, Clone)]
pub struct WebState {
    /// The provider.
    pub provider: Arc<Provider>,
    /// The origin used when the request's `Host` is not a known name.
    pub default_origin: Arc<str>,
    /// Host names (without port) that may appear in issuers and endpoints.
    pub allowed_hosts: Arc<[String]>,
}

impl WebState {
    /// State for a provider reachable at `default_origin` (e.g.
    /// `https://localhost:8443`); `localhost`, `127.0.0.1` and `[::1]` on
    /// the same port are accepted as well.
    pub fn new(provider: Arc<Provider>, default_origin: &str) -> Self {
        Self {
            provider,
            default_origin: Arc::from(default_origin.trim_end_matches('/')),
            allowed_hosts: Arc::from(vec![
                "localhost".to_owned(),
                "127.0.0.1".to_owned(),
                "[::1]".to_owned(),
            ]),
        }
    }

    /// The origin the client reached us at, if it is one of ours; issuers
    /// and endpoints are built from it (so `127.0.0.1` and `localhost`
    /// clients each see consistent metadata). Anything else falls back to
    /// the default origin: a forged `Host` cannot inject URLs.
    fn origin(&self, headers: &HeaderMap) -> String {
        let default_port = self.default_origin.rsplit(':').next().unwrap_or_default();
        let host = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or_default();
        let (name, port) = match host.rsplit_once(':') {
            Some((name, port)) if !name.is_empty() && !port.contains(']') => (name, port),
            _ => (host, ""),
        };
        if port == default_port
            && self
                .allowed_hosts
                .iter()
                .any(|h| h.eq_ignore_ascii_case(name))
        {
            format!("https://{name}:{port}")
        } else {
            self.default_origin.to_string()
        }
    }
}

/// The identity provider's router.
pub fn routes(state: WebState) -> Router {
    Router::new()
        .route(paths::AUTHORITY, get(authority_page))
        .route(paths::V2_DISCOVERY, get(v2_discovery))
        .route(paths::V1_DISCOVERY, get(v1_discovery))
        .route(paths::V2_KEYS, get(v2_keys))
        .route(paths::V1_KEYS, get(v1_keys))
        .route(paths::V2_AUTHORIZE, get(authorize_get).post(authorize_post))
        .route(paths::V2_TOKEN, post(token_v2).options(token_preflight))
        .route(
            paths::V1_AUTHORIZE,
            get(authorize_v1_get).post(authorize_v1_post),
        )
        .route(paths::V1_TOKEN, post(token_v1).options(token_preflight))
        .route(paths::V2_LOGOUT, get(logout).post(logout))
        .route(paths::V2_DEVICECODE, post(device_code))
        .route(paths::DEVICE_LOGIN, get(device_page).post(device_decide))
        .route(paths::USERINFO, get(userinfo).post(userinfo))
        .route(paths::LOGIN, post(login))
        .route(paths::CONSENT, post(consent))
        .route(paths::INSTANCE_DISCOVERY, get(instance_discovery))
        .route(paths::USER_REALM, get(user_realm))
        .route(paths::ERROR_PAGE, get(error_page))
        .route("/favicon.ico", get(|| async { StatusCode::NO_CONTENT }))
        .with_state(state)
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

fn json_error(state: &WebState, headers: &HeaderMap, e: &OAuthError) -> Response {
    let trace = guid();
    let correlation = correlation_id(headers);
    let body = e.body(
        &trace,
        &correlation,
        state.provider.now(),
        &state.origin(headers),
    );
    let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST);
    (status, no_store(), axum::Json(body)).into_response()
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
    let at = |path: &str| format!("{origin}{}", paths::in_tenant(path, &tenant));
    let endpoints = [
        ("OpenID configuration (v2.0)", at(paths::V2_DISCOVERY)),
        ("OpenID configuration (v1.0)", at(paths::V1_DISCOVERY)),
        ("Signing keys (v2.0)", at(paths::V2_KEYS)),
        ("Authorize", at(paths::V2_AUTHORIZE)),
        ("Token", at(paths::V2_TOKEN)),
        ("Authorize (v1.0, resource=)", at(paths::V1_AUTHORIZE)),
        ("Token (v1.0, resource=)", at(paths::V1_TOKEN)),
        ("Device code", at(paths::V2_DEVICECODE)),
        (
            "Device sign-in page",
            format!("{origin}{}", paths::DEVICE_LOGIN),
        ),
        ("Logout", at(paths::V2_LOGOUT)),
        ("UserInfo", format!("{origin}{}", paths::USERINFO)),
    ];
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

// ----- token endpoint -----

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
                match grant::token(&state.provider, &request).await {
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

fn no_store() -> [(header::HeaderName, &'static str); 2] {
    [
        (header::CACHE_CONTROL, "no-store, no-cache"),
        (header::PRAGMA, "no-cache"),
    ]
}

// ----- userinfo -----

async fn userinfo(State(state): State<WebState>, headers: HeaderMap) -> Response {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim().to_owned());
    let Some(bearer) = bearer else {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
        )
            .into_response();
    };
    let issuer = IssuerContext {
        origin: state.origin(&headers),
        tenant_id: String::new(),
    };
    match grant::userinfo(&state.provider, &issuer, &bearer).await {
        Ok(body) => (no_store(), axum::Json(body)).into_response(),
        Err(e) => {
            let status = if e.error == "insufficient_scope" {
                StatusCode::FORBIDDEN
            } else {
                StatusCode::UNAUTHORIZED
            };
            let challenge = format!(
                "Bearer error=\"{}\", error_description=\"AADSTS{}\"",
                e.error, e.code
            );
            let mut response = status.into_response();
            if let Ok(v) = HeaderValue::from_str(&challenge) {
                response.headers_mut().insert(header::WWW_AUTHENTICATE, v);
            }
            response
        }
    }
}

// ----- device code -----

async fn device_code(
    State(state): State<WebState>,
    Path(tenant): Path<String>,
    ClientAddr(source): ClientAddr,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let tenants = state.provider.tenants();
    let at = match Authority::resolve(&tenants, &tenant) {
        Ok(at) => at,
        Err(e) => return json_error(&state, &headers, &e),
    };
    let form = match authorize::unique_map(&body) {
        Ok(form) => form,
        Err(e) => return json_error(&state, &headers, &e),
    };
    let key = crate::protocol::limits::source_key("devicecode", source);
    let now = state.provider.now();
    let limits = &state.provider.limits;
    if !limits.device_codes.hit(&key, now) || !limits.device_codes_all.hit("all", now) {
        return json_error(
            &state,
            &headers,
            &OAuthError::throttled("device code requests"),
        );
    }
    let uri = format!("{}{}", state.origin(&headers), paths::DEVICE_LOGIN);
    match device::start(
        &state.provider,
        &tenants,
        at,
        &tenant,
        form.get("client_id").map(String::as_str),
        form.get("scope").map(String::as_str),
        &uri,
    )
    .await
    {
        Ok(body) => (no_store(), axum::Json(body)).into_response(),
        Err(e) => json_error(&state, &headers, &e),
    }
}

async fn device_page(
    State(state): State<WebState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let code = query
        .as_deref()
        .map(authorize::parse_pairs)
        .and_then(|p| p.into_iter().find(|(k, _)| k == "otc").map(|(_, v)| v));
    let guard = match form_guard(&state, &headers).await {
        Ok(g) => g,
        Err(refused) => return refused,
    };
    page(
        pages::device(paths::DEVICE_LOGIN, &guard.token, code.as_deref(), None),
        guard.set_cookie,
    )
}

/// The verification page's posts, in two steps: the user enters the code
/// and signs in (`decision=approve`), then sees which app asks for what and
/// as whom, and confirms (`decision=confirm`) or declines. What is approved
/// is the grant the server displayed: its scopes are read from the store,
/// never from the form.
async fn device_decide(
    State(state): State<WebState>,
    ClientAddr(source): ClientAddr,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let guard = match form_guard(&state, &headers).await {
        Ok(g) => g,
        Err(refused) => return refused,
    };
    let form = authorize::unique_map(&body).unwrap_or_default();
    let user_code = form
        .get("user_code")
        .map(String::as_str)
        .unwrap_or_default();
    let again = |error: &str| {
        page(
            pages::device(
                paths::DEVICE_LOGIN,
                &guard.token,
                Some(user_code),
                Some(error),
            ),
            guard.set_cookie.clone(),
        )
    };
    if !posted_by_us(&state, &headers, form.get("csrf")).await {
        return again("The form expired or came from another site; enter the code again.");
    }
    let p = &state.provider;
    let tenants = p.tenants();
    let decision = form.get("decision").map(String::as_str);
    let finish = |decision: device::Decision| async move {
        let declined = decision == device::Decision::Decline;
        match device::decide(p, &tenants, user_code, decision).await {
            Ok(app) if declined => page(
                pages::message(
                    "Sign-in declined",
                    &format!("You declined to sign in to {app} on the other device."),
                ),
                None,
            ),
            Ok(app) => page(
                pages::message(
                    "You're signed in",
                    &format!(
                        "You have signed in to the {app} application on your device. You may now close this window."
                    ),
                ),
                None,
            ),
            Err(message) => again(&message),
        }
    };
    match decision {
        Some("decline") => finish(device::Decision::Decline).await,
        Some("confirm") => match current_session(&state, &headers).await {
            Some(session) => {
                finish(device::Decision::Approve {
                    user_id: session.user_id,
                })
                .await
            }
            None => again("Your sign-in expired; enter the code and sign in again."),
        },
        Some("approve") => {
            let tenants = p.tenants();
            let (user, new_session) = match form.get("username").filter(|u| !u.is_empty()) {
                Some(username) => {
                    let password = form.get("password").map(String::as_str).unwrap_or_default();
                    let home = tenants
                        .by_upn(username)
                        .unwrap_or_else(|| tenants.default_tenant());
                    match grant::sign_in_with_password(p, home, username, password, source).await {
                        Ok(user) => match start_session(p, user).await {
                            Ok(started) => (user, Some(started)),
                            Err(e) => return error_page_response(&grant::server_error(e)),
                        },
                        Err(e) => return again(&e.coded_message()),
                    }
                }
                None => match current_session(&state, &headers)
                    .await
                    .and_then(|s| tenants.user(&s.user_id))
                {
                    Some((_, user)) => (user, None),
                    None => return again("Enter your username and password."),
                },
            };
            let shown = match device::describe(p, &tenants, user, user_code).await {
                Ok(shown) => shown,
                Err(message) => return again(&message),
            };
            let html = pages::device_confirm(
                paths::DEVICE_LOGIN,
                &guard.token,
                &shown.user_code,
                &shown.client_name,
                &user.user_principal_name,
                &shown.scopes,
            );
            let mut response = page(html, guard.set_cookie.clone());
            if let Some((_, secret)) = new_session {
                set_cookie(&mut response, &session_cookie(&secret));
            }
            response
        }
        _ => again("Choose Sign in or Decline."),
    }
}

// ----- authorize, login, consent -----

async fn authorize_get(
    State(state): State<WebState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    match authorize::unique_pairs(query.as_deref().unwrap_or_default()) {
        Ok(pairs) => {
            authorize_flow(
                &state,
                &tenant,
                &headers,
                AuthorizeRequest::new(pairs),
                None,
            )
            .await
        }
        Err(e) => error_page_response(&e),
    }
}

async fn authorize_post(
    State(state): State<WebState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match authorize::unique_pairs(&String::from_utf8_lossy(&body)) {
        Ok(pairs) => {
            authorize_flow(
                &state,
                &tenant,
                &headers,
                AuthorizeRequest::new(pairs),
                None,
            )
            .await
        }
        Err(e) => error_page_response(&e),
    }
}

async fn authorize_v1_get(
    State(state): State<WebState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    match authorize::unique_pairs(query.as_deref().unwrap_or_default()) {
        Ok(pairs) => {
            let req = authorize::v1_request(AuthorizeRequest::new(pairs));
            authorize_flow(&state, &tenant, &headers, req, None).await
        }
        Err(e) => error_page_response(&e),
    }
}

async fn authorize_v1_post(
    State(state): State<WebState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match authorize::unique_pairs(&String::from_utf8_lossy(&body)) {
        Ok(pairs) => {
            let req = authorize::v1_request(AuthorizeRequest::new(pairs));
            authorize_flow(&state, &tenant, &headers, req, None).await
        }
        Err(e) => error_page_response(&e),
    }
}

/// The authorize state machine: client → request → session → consent → code.
async fn authorize_flow(
    state: &WebState,
    tenant: &str,
    headers: &HeaderMap,
    req: AuthorizeRequest,
    fresh: Option<Session>,
) -> Response {
    let p = &state.provider;
    let tenants = p.tenants();
    let at = match Authority::resolve(&tenants, tenant) {
        Ok(at) => at,
        Err(e) => return error_page_response(&e),
    };
    // Before anyone signs in, the client is looked up where the authority
    // says: the tenant, or (organizations/common) its own registration.
    let client_dir = match req.get("client_id") {
        Some(id) => match at.client_directory(&tenants, id) {
            Ok(dir) => dir,
            Err(e) => return error_page_response(&e),
        },
        None => tenants.default_tenant(),
    };
    let client = match authorize::check_client(client_dir, &req) {
        Ok(c) => c,
        Err(authorize::PageError(e)) => return error_page_response(&e),
    };
    if let Err(e) = authorize::check_request(client_dir, &req, &client) {
        return deliver_error(state, headers, &client, &e);
    }
    let prompt = req.prompt();
    let session = match fresh {
        Some(s) => Some(s),
        None if matches!(prompt, Some("login" | "select_account")) => None,
        None => current_session(state, headers).await,
    };
    let Some(session) = session else {
        if prompt == Some("none") {
            let e = OAuthError::new(
                "login_required",
                50_058,
                "A silent sign-in request was sent but no user is signed in.",
            );
            return deliver_error(state, headers, &client, &e);
        }
        return login_page(state, tenant, headers, &req, &client, at, None).await;
    };
    let Some((dir, user)) = tenants.user(&session.user_id) else {
        return login_page(state, tenant, headers, &req, &client, at, None).await;
    };
    // The signed-in user's tenant issues the tokens; at a tenant-specific
    // authority only that tenant's users may (AADSTS50020).
    if let Err(e) = at.admit(dir, user, &client.app.app_id) {
        if prompt == Some("none") {
            return deliver_error(state, headers, &client, &e);
        }
        return login_page(
            state,
            tenant,
            headers,
            &req,
            &client,
            at,
            Some(&e.coded_message()),
        )
        .await;
    }
    let client = match authorize::check_client(dir, &req) {
        Ok(c) => c,
        Err(authorize::PageError(e)) => return error_page_response(&e),
    };
    let scopes = match authorize::check_request(dir, &req, &client) {
        Ok(s) => s,
        Err(e) => return deliver_error(state, headers, &client, &e),
    };
    let force_consent = prompt == Some("consent");
    let not_consented = || {
        OAuthError::new(
            "consent_required",
            65_001,
            format!(
                "The user or administrator has not consented to use the application with ID '{}'. Send an interactive authorization request for this user and resource.",
                client.app.app_id
            ),
        )
    };
    match authorize::next_step(p, dir, &client, &scopes, user, force_consent).await {
        Err(e) => deliver_error(state, headers, &client, &e),
        Ok(Step::Consent { .. } | Step::NeedsAdmin { .. }) if prompt == Some("none") => {
            deliver_error(state, headers, &client, &not_consented())
        }
        Ok(Step::NeedsAdmin {
            resource_name,
            scopes,
        }) => error_page_response(&authorize::needs_admin_error(
            client.app,
            &resource_name,
            &scopes,
        )),
        Ok(Step::Consent {
            resource_app_id,
            resource_name,
            scopes,
        }) => {
            let handle = random_token(32);
            let pending = PendingConsent {
                digest: crate::secret::digest(&handle),
                session_id: session.id.clone(),
                client_id: client.app.app_id.clone(),
                resource_app_id: resource_app_id.clone(),
                scopes: scopes.clone(),
                request: req.encode(),
                expires_at: p.now() + PENDING_CONSENT_LIFETIME,
            };
            if let Err(e) = p.store.put_pending_consent(&pending).await {
                return error_page_response(&grant::server_error(e));
            }
            let resource = dir.application(&resource_app_id);
            let described: Vec<(String, String)> = scopes
                .iter()
                .map(|s| {
                    let text = resource
                        .and_then(|r| r.scope(s))
                        .map_or_else(|| s.clone(), |d| d.admin_consent_display_name.clone());
                    (s.clone(), text)
                })
                .collect();
            let guard = match form_guard(state, headers).await {
                Ok(g) => g,
                Err(refused) => return refused,
            };
            let html = pages::consent(
                &paths::in_tenant(paths::CONSENT, tenant),
                &guard.token,
                &handle,
                &client.app.display_name,
                &resource_name,
                &described,
            );
            page(html, guard.set_cookie)
        }
        Ok(Step::Issue) => {
            if let Err(e) = tenancy::install(p, dir, client.app).await {
                return deliver_error(state, headers, &client, &e);
            }
            match authorize::issue_code(p, dir, &req, &client, &session, tenant).await {
                Ok(params) => deliver(&client, params),
                Err(e) => deliver_error(state, headers, &client, &e),
            }
        }
    }
}

/// How long a consent page's answer is awaited, in seconds.
const PENDING_CONSENT_LIFETIME: i64 = 600;

async fn login_page(
    state: &WebState,
    tenant: &str,
    headers: &HeaderMap,
    req: &AuthorizeRequest,
    client: &Client<'_>,
    at: Authority<'_>,
    error: Option<&str>,
) -> Response {
    let tenants = state.provider.tenants();
    let directories: Vec<&Directory> = match at {
        Authority::Tenant(dir) => vec![dir],
        Authority::Multi => tenants.iter().collect(),
    };
    let accounts: Vec<pages::PickerEntry> = directories
        .iter()
        .flat_map(|d| d.users.iter())
        .filter(|u| u.password_hash.is_none())
        .map(|u| pages::PickerEntry {
            upn: u.user_principal_name.clone(),
            name: u.display_name.clone(),
        })
        .collect();
    let guard = match form_guard(state, headers).await {
        Ok(g) => g,
        Err(refused) => return refused,
    };
    let html = pages::login(
        &paths::in_tenant(paths::LOGIN, tenant),
        &guard.token,
        &req.encode(),
        &client.app.display_name,
        req.get("login_hint"),
        &accounts,
        error,
    );
    page(html, guard.set_cookie)
}

/// The sign-in form. The authorize request it carries is checked again
/// from the start (as a new `/authorize` request would be): the form adds
/// only who signed in.
async fn login(
    State(state): State<WebState>,
    Path(tenant): Path<String>,
    ClientAddr(source): ClientAddr,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = match authorize::unique_map(&body) {
        Ok(form) => form,
        Err(e) => return error_page_response(&e),
    };
    if !posted_by_us(&state, &headers, form.get("csrf")).await {
        return csrf_refusal(
            "The sign-in form expired or was submitted from another site (CSRF check failed). Start the sign-in again.",
        );
    }
    let req = AuthorizeRequest::decode(form.get("request").map(String::as_str).unwrap_or_default());
    let p = &state.provider;
    let tenants = p.tenants();
    let at = match Authority::resolve(&tenants, &tenant) {
        Ok(at) => at,
        Err(e) => return error_page_response(&e),
    };
    let client_dir = match req.get("client_id") {
        Some(id) => match at.client_directory(&tenants, id) {
            Ok(dir) => dir,
            Err(e) => return error_page_response(&e),
        },
        None => tenants.default_tenant(),
    };
    let client = match authorize::check_client(client_dir, &req) {
        Ok(c) => c,
        Err(authorize::PageError(e)) => return error_page_response(&e),
    };
    // Home-realm discovery: the name's domain picks the tenant.
    let home_of = |name: &str| match at {
        Authority::Tenant(dir) => tenants.by_upn(name).unwrap_or(dir),
        Authority::Multi => tenants.by_upn(name).unwrap_or(client_dir),
    };
    let user = match (form.get("pick"), form.get("username")) {
        (Some(upn), _) => match home_of(upn)
            .user_by_upn(upn)
            .filter(|u| u.password_hash.is_none())
        {
            Some(u) => Ok((home_of(upn), u)),
            None => Err("That account needs a password.".to_owned()),
        },
        (None, Some(username)) => grant::sign_in_with_password(
            p,
            home_of(username),
            username,
            form.get("password").map(String::as_str).unwrap_or_default(),
            source,
        )
        .await
        .map(|u| (home_of(username), u))
        .map_err(|e| e.coded_message()),
        (None, None) => Err("Enter your username.".to_owned()),
    };
    let user = user.and_then(|(home, user)| {
        at.admit(home, user, &client.app.app_id)
            .map(|()| user)
            .map_err(|e| e.coded_message())
    });
    let user = match user {
        Ok(u) => u,
        Err(message) => {
            return login_page(&state, &tenant, &headers, &req, &client, at, Some(&message)).await;
        }
    };
    let (session, secret) = match start_session(p, user).await {
        Ok(started) => started,
        Err(e) => return error_page_response(&grant::server_error(e)),
    };
    tracing::info!(user = %user.user_principal_name, client = %client.app.app_id, "user signed in");
    // The sign-in satisfied prompt=login/select_account; prompt=consent
    // still asks for the consent page.
    let resumed = match req.prompt() {
        Some("login" | "select_account") => without(&req, &["prompt"]),
        _ => req,
    };
    let mut response = authorize_flow(&state, &tenant, &headers, resumed, Some(session)).await;
    set_cookie(&mut response, &session_cookie(&secret));
    response
}

/// The consent form's answer. The form names a pending consent (by its
/// random handle) and says accept or cancel; what is granted, for which
/// client and resource, and which request resumes, are what the server
/// stored when it showed the page, for this session only. Scopes only an
/// admin may grant are never granted here.
async fn consent(
    State(state): State<WebState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = match authorize::unique_map(&body) {
        Ok(form) => form,
        Err(e) => return error_page_response(&e),
    };
    if !posted_by_us(&state, &headers, form.get("csrf")).await {
        return csrf_refusal(
            "The consent form expired or was submitted from another site (CSRF check failed).",
        );
    }
    let p = &state.provider;
    let handle = form.get("consent").map(String::as_str).unwrap_or_default();
    let pending = match p
        .store
        .take_pending_consent(&crate::secret::digest(handle))
        .await
    {
        Ok(Some(pending)) if pending.expires_at >= p.now() => pending,
        Ok(_) => return expired_consent(),
        Err(e) => return error_page_response(&grant::server_error(e)),
    };
    let Some(session) = current_session(&state, &headers)
        .await
        .filter(|s| s.id == pending.session_id)
    else {
        return expired_consent();
    };
    let tenants = p.tenants();
    let Some((dir, _)) = tenants.user(&session.user_id) else {
        return expired_consent();
    };
    let req = AuthorizeRequest::decode(&pending.request);
    let client = match authorize::check_client(dir, &req) {
        Ok(c) if c.app.app_id == pending.client_id => c,
        Ok(_) => return expired_consent(),
        Err(authorize::PageError(e)) => return error_page_response(&e),
    };
    if form.get("decision").map(String::as_str) != Some("accept") {
        let e = OAuthError::new(
            "access_denied",
            65_004,
            "User declined to consent to access the app.",
        );
        return deliver_error(&state, &headers, &client, &e);
    }
    let resource = dir.application(&pending.resource_app_id);
    let grantable: Vec<String> = pending
        .scopes
        .iter()
        .filter(|s| {
            resource
                .and_then(|r| r.scope(s))
                .is_some_and(|d| !d.admin_only)
        })
        .cloned()
        .collect();
    if let Err(e) = p
        .store
        .grant_consent(
            &pending.client_id,
            &session.user_id,
            &pending.resource_app_id,
            &grantable,
        )
        .await
    {
        return error_page_response(&grant::server_error(e));
    }
    // A consent in a tenant creates the service principals there of
    // another tenant's multi-tenant client and API (as Entra does).
    for app in [Some(client.app), resource].into_iter().flatten() {
        if let Err(e) = tenancy::install(p, dir, app).await {
            return error_page_response(&e);
        }
    }
    authorize_flow(
        &state,
        &tenant,
        &headers,
        without(&req, &["prompt"]),
        Some(session),
    )
    .await
}

fn expired_consent() -> Response {
    error_page_response(&OAuthError::invalid_request(
        90_015,
        "This consent page expired, was already answered, or belongs to another sign-in. Start the sign-in again.",
    ))
}

/// Signs the browser out. `post_logout_redirect_uri` is followed only when
/// it is registered on the application named by `client_id` or by the `aud`
/// of `id_token_hint`, or, when neither names one (as MSAL.js sends it), on
/// an application this browser's session signed in to: never through
/// another app's URIs.
async fn logout(
    State(state): State<WebState>,
    Path(_tenant): Path<String>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let params = match authorize::unique_pairs(query.as_deref().unwrap_or_default()) {
        Ok(pairs) => authorize::to_map(&pairs),
        Err(e) => return error_page_response(&e),
    };
    let session = current_session(&state, &headers).await;
    let tenants = state.provider.tenants();
    let named = params
        .get("client_id")
        .cloned()
        .or_else(|| params.get("id_token_hint").and_then(|t| token_audience(t)));
    // The app named, or else the apps this browser session signed in to.
    let apps: Vec<String> = match (named, &session) {
        (Some(app), _) => vec![app],
        (None, Some(session)) => state
            .provider
            .store
            .session_clients(&session.id)
            .await
            .unwrap_or_default(),
        (None, None) => Vec::new(),
    };
    let target = params.get("post_logout_redirect_uri").filter(|uri| {
        apps.iter()
            .filter_map(|id| tenants.registered(id))
            .any(|(_, a)| a.redirect_kind(uri).is_some())
    });
    if let Some(session) = &session
        && let Err(e) = state.provider.store.delete_session(&session.id).await
    {
        tracing::warn!(error = %e, "could not delete a session");
    }
    let mut response = match target {
        Some(uri) => {
            let mut url = uri.clone();
            if let Some(s) = params.get("state") {
                let sep = if url.contains('?') { '&' } else { '?' };
                url = format!(
                    "{url}{sep}state={}",
                    url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>()
                );
            }
            Redirect::to(&url).into_response()
        }
        None => Html(pages::signed_out()).into_response(),
    };
    set_cookie(
        &mut response,
        &format!("{SESSION_COOKIE}=; Path=/; Max-Age=0; Secure; HttpOnly; SameSite=Lax"),
    );
    frame_protect(response.headers_mut());
    response
}

/// The `aud` of a JWT, read without verification: it only selects which
/// application's registered URIs a logout may return to.
fn token_audience(token: &str) -> Option<String> {
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()?;
    let claims: Value = serde_json::from_slice(&bytes).ok()?;
    claims.get("aud")?.as_str().map(str::to_owned)
}

fn without(req: &AuthorizeRequest, names: &[&str]) -> AuthorizeRequest {
    AuthorizeRequest::new(
        req.params
            .iter()
            .filter(|(k, _)| !names.contains(&k.as_str()))
            .cloned()
            .collect(),
    )
}

// ----- sessions and forms -----

/// Starts an SSO session for `user`: a fresh 256-bit cookie secret from the
/// OS random source (the store keeps its digest) and a separate opaque id
/// for `sid`/`session_state`.
async fn start_session(
    p: &Provider,
    user: &crate::directory::User,
) -> Result<(Session, String), crate::store::StoreError> {
    let secret = random_token(32);
    let now = p.now();
    let session = Session {
        id: crate::secret::guid(),
        secret_digest: crate::secret::digest(&secret),
        user_id: user.object_id.clone(),
        auth_time: now,
        expires_at: now + p.settings.session_lifetime,
    };
    p.store.put_session(&session).await?;
    Ok((session, secret))
}

fn session_cookie(secret: &str) -> String {
    format!("{SESSION_COOKIE}={secret}; Path=/; Secure; HttpOnly; SameSite=Lax")
}

async fn current_session(state: &WebState, headers: &HeaderMap) -> Option<Session> {
    let secret = cookie(headers, SESSION_COOKIE)?;
    let session = state
        .provider
        .store
        .session(&crate::secret::digest(&secret))
        .await
        .ok()??;
    (session.expires_at > state.provider.now()).then_some(session)
}

fn deliver(client: &Client<'_>, params: Vec<(String, String)>) -> Response {
    let mut response = match authorize::deliver(client, params) {
        Delivery::Redirect(url) => Redirect::to(&url).into_response(),
        Delivery::FormPost { action, fields } => {
            Html(pages::form_post(&action, &fields)).into_response()
        }
    };
    // Codes and errors travel in this response: never cached.
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

fn deliver_error(
    state: &WebState,
    headers: &HeaderMap,
    client: &Client<'_>,
    e: &OAuthError,
) -> Response {
    tracing::debug!(code = e.code, error = e.error, client = %client.app.app_id, "authorize request refused");
    let params = authorize::error_params(
        e,
        client,
        &guid(),
        &correlation_id(headers),
        state.provider.now(),
    );
    deliver(client, params)
}

fn error_page_response(e: &OAuthError) -> Response {
    let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST);
    let mut response = (status, Html(pages::error(e, &guid()))).into_response();
    frame_protect(response.headers_mut());
    response
}

fn csrf_refusal(message: &str) -> Response {
    let mut response = error_page_response(&OAuthError::invalid_request(90_015, message));
    *response.status_mut() = StatusCode::FORBIDDEN;
    response
}

fn page(html: String, csrf_cookie: Option<String>) -> Response {
    let mut response = Html(html).into_response();
    frame_protect(response.headers_mut());
    if let Some(c) = csrf_cookie {
        set_cookie(&mut response, &c);
    }
    response
}

fn set_cookie(response: &mut Response, cookie: &str) {
    if let Ok(v) = HeaderValue::from_str(cookie) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
}

fn frame_protect(headers: &mut HeaderMap) {
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("frame-ancestors 'none'"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

/// A form's CSRF token: HMAC-SHA256 of the browser's `__Host-` CSRF cookie
/// under the provider's form key, with the `Set-Cookie` for a new cookie.
/// Another site can neither read nor plant a `__Host-` cookie, nor compute
/// the token without the key.
struct FormGuard {
    token: String,
    set_cookie: Option<String>,
}

#[allow(clippy::result_large_err)] // the refusal is a whole page, made once
async fn form_guard(state: &WebState, headers: &HeaderMap) -> Result<FormGuard, Response> {
    let key = state
        .provider
        .form_key()
        .await
        .map_err(|e| error_page_response(&grant::server_error(e)))?;
    let (secret, set_cookie) = match cookie(headers, CSRF_COOKIE) {
        Some(existing) if existing.len() >= 43 => (existing, None),
        _ => {
            let fresh = random_token(32);
            let set = format!("{CSRF_COOKIE}={fresh}; Path=/; Secure; HttpOnly; SameSite=Strict");
            (fresh, Some(set))
        }
    };
    Ok(FormGuard {
        token: crate::secret::mac(key, secret.as_bytes()),
        set_cookie,
    })
}

/// Whether a POST to one of our pages came from our own pages: the request
/// is not cross-site (`Origin` is ours, or `Sec-Fetch-Site` is
/// `same-origin`/`none`; a client sending neither is not a browser) and the
/// form's CSRF token is the HMAC of its CSRF cookie.
async fn posted_by_us(state: &WebState, headers: &HeaderMap, field: Option<&String>) -> bool {
    let origin_ok = match headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()) {
        Some(origin) => origin.eq_ignore_ascii_case(&state.origin(headers)),
        None => headers
            .get("sec-fetch-site")
            .and_then(|v| v.to_str().ok())
            .is_none_or(|site| matches!(site, "same-origin" | "none")),
    };
    let (Some(secret), Some(field)) = (cookie(headers, CSRF_COOKIE), field) else {
        return false;
    };
    let Ok(key) = state.provider.form_key().await else {
        return false;
    };
    origin_ok && crate::secret::mac_ok(key, secret.as_bytes(), field)
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

fn correlation_id(headers: &HeaderMap) -> String {
    headers
        .get("client-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| v.len() <= 64 && v.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-'))
        .map_or_else(guid, str::to_owned)
}

/// A random GUID-shaped id (trace ids).
pub fn guid() -> String {
    crate::secret::guid()
}

/// The peer's address, when the server recorded it (`ConnectInfo`).
struct ClientAddr(Option<IpAddr>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr(
            parts
                .extensions
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map(|c| c.0.ip()),
        ))
    }
}

/// The SSO session cookie: a 256-bit secret, `__Host-` (Secure, Path=/,
/// no Domain: no other origin, not even another port's page, can set it).
const SESSION_COOKIE: &str = "__Host-rolegate_session";
/// The CSRF cookie the form tokens are bound to.
const CSRF_COOKIE: &str = "__Host-rolegate_csrf";
