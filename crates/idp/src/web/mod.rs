//! HTTP routes. Handlers stay thin: parse, call [`crate::protocol`], map
//! the result to a response.

pub mod pages;
pub mod paths;

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use serde_json::Value;

use crate::directory::Directory;
use crate::protocol::Provider;
use crate::protocol::authorize::{self, AuthorizeRequest, Client, Delivery, Step};
use crate::protocol::device;
use crate::protocol::discovery::{self, TenantAlias};
use crate::protocol::errors::OAuthError;
use crate::protocol::grant::{self, TokenRequest};
use crate::protocol::tokens::IssuerContext;
use crate::secret::random_token;
use crate::store::Session;

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
        .route(paths::V2_DISCOVERY, get(v2_discovery))
        .route(paths::V1_DISCOVERY, get(v1_discovery))
        .route(paths::V2_KEYS, get(v2_keys))
        .route(paths::V1_KEYS, get(v1_keys))
        .route(paths::V2_AUTHORIZE, get(authorize_get).post(authorize_post))
        .route(paths::V2_TOKEN, post(token).options(token_preflight))
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

/// Resolves a tenant path segment.
fn tenant_alias(dir: &Directory, segment: &str) -> Result<TenantAlias, OAuthError> {
    if dir.is_tenant(segment) {
        return Ok(TenantAlias::Tenant);
    }
    match segment.to_ascii_lowercase().as_str() {
        "common" | "organizations" => Ok(TenantAlias::Multi),
        _ => Err(OAuthError::new(
            "invalid_tenant",
            90_002,
            format!(
                "Tenant '{segment}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. This identity provider serves tenant {} ({}).",
                dir.tenant.id, dir.tenant.domain
            ),
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
    build: impl FnOnce(&str, &Directory, TenantAlias) -> Value,
) -> Response {
    let dir = state.provider.directory();
    match tenant_alias(&dir, tenant) {
        Ok(alias) => metadata_json(build(&state.origin(headers), &dir, alias)),
        Err(e) => json_error(state, headers, &e),
    }
}

async fn v2_discovery(
    State(state): State<WebState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
) -> Response {
    tenant_metadata(&state, &tenant, &headers, |origin, dir, alias| {
        discovery::v2_document(origin, &tenant, &dir.tenant.id, alias)
    })
}

async fn v1_discovery(
    State(state): State<WebState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
) -> Response {
    tenant_metadata(&state, &tenant, &headers, |origin, dir, alias| {
        discovery::v1_document(origin, &tenant, &dir.tenant.id, alias)
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
        &state.provider.directory().tenant.id,
    ))
}

async fn user_realm(State(state): State<WebState>, Path(user): Path<String>) -> Response {
    let dir = state.provider.directory();
    let known = dir.user_by_upn(&user).is_some();
    metadata_json(discovery::user_realm(&user, &dir.tenant.domain, known))
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

async fn token(
    State(state): State<WebState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let dir = state.provider.directory();
    let origin_header = headers
        .get(header::ORIGIN)
        .and_then(|o| o.to_str().ok())
        .map(str::to_owned);
    let mut response = match tenant_alias(&dir, &tenant) {
        Err(e) => json_error(&state, &headers, &e),
        Ok(_) => {
            let text = String::from_utf8_lossy(&body);
            let request = TokenRequest {
                params: authorize::to_map(&authorize::parse_pairs(&text)),
                basic: basic_credentials(&headers),
                origin: origin_header.clone(),
                tenant_segment: tenant.clone(),
                issuer: IssuerContext {
                    origin: state.origin(&headers),
                    tenant_id: dir.tenant.id.clone(),
                },
            };
            match grant::token(&state.provider, &request).await {
                Ok(body) => (no_store(), axum::Json(body)).into_response(),
                Err(e) => json_error(&state, &headers, &e),
            }
        }
    };
    if let Some(origin) = origin_header.filter(|o| spa_origin_allowed(&dir, o)) {
        cors(response.headers_mut(), &origin);
    }
    response
}

async fn token_preflight(State(state): State<WebState>, headers: HeaderMap) -> Response {
    let dir = state.provider.directory();
    let mut response = StatusCode::NO_CONTENT.into_response();
    if let Some(origin) = headers
        .get(header::ORIGIN)
        .and_then(|o| o.to_str().ok())
        .filter(|o| spa_origin_allowed(&dir, o))
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
fn spa_origin_allowed(dir: &Directory, origin: &str) -> bool {
    dir.applications
        .iter()
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
        tenant_id: state.provider.directory().tenant.id.clone(),
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
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let dir = state.provider.directory();
    if let Err(e) = tenant_alias(&dir, &tenant) {
        return json_error(&state, &headers, &e);
    }
    let form = authorize::to_map(&authorize::parse_pairs(&String::from_utf8_lossy(&body)));
    let uri = format!("{}{}", state.origin(&headers), paths::DEVICE_LOGIN);
    match device::start(
        &state.provider,
        &dir,
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

async fn device_page(headers: HeaderMap, RawQuery(query): RawQuery) -> Response {
    let code = query
        .as_deref()
        .map(authorize::parse_pairs)
        .and_then(|p| p.into_iter().find(|(k, _)| k == "otc").map(|(_, v)| v));
    let (csrf, cookie) = csrf_token(&headers);
    page(
        pages::device(paths::DEVICE_LOGIN, &csrf, code.as_deref(), None),
        cookie,
        None,
    )
}

async fn device_decide(State(state): State<WebState>, headers: HeaderMap, body: Bytes) -> Response {
    let form = authorize::to_map(&authorize::parse_pairs(&String::from_utf8_lossy(&body)));
    let (csrf, cookie) = csrf_token(&headers);
    let again = |error: &str| {
        page(
            pages::device(
                paths::DEVICE_LOGIN,
                &csrf,
                form.get("user_code").map(String::as_str),
                Some(error),
            ),
            cookie.clone(),
            None,
        )
    };
    if !csrf_ok(&headers, form.get("csrf")) {
        return again("The form expired; enter the code again.");
    }
    let p = &state.provider;
    let dir = p.directory();
    let user_code = form
        .get("user_code")
        .map(String::as_str)
        .unwrap_or_default();
    let decision = if form.get("decision").map(String::as_str) == Some("decline") {
        device::Decision::Decline
    } else {
        let user = match (
            form.get("username").filter(|u| !u.is_empty()),
            current_session(&state, &headers).await,
        ) {
            (Some(username), _) => grant::sign_in_with_password(
                p,
                &dir,
                username,
                form.get("password").map(String::as_str).unwrap_or_default(),
            )
            .await
            .map(|u| u.object_id.clone())
            .map_err(|e| e.coded_message()),
            (None, Some(session)) => Ok(session.user_id),
            (None, None) => Err("Enter your username and password.".to_owned()),
        };
        match user {
            Ok(user_id) => device::Decision::Approve { user_id },
            Err(message) => return again(&message),
        }
    };
    let declined = decision == device::Decision::Decline;
    match device::decide(p, &dir, user_code, decision).await {
        Ok(app) if declined => page(
            pages::message(
                "Sign-in declined",
                &format!("You declined to sign in to {app} on the other device."),
            ),
            None,
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
            None,
        ),
        Err(message) => again(&message),
    }
}

// ----- authorize, login, consent -----

async fn authorize_get(
    State(state): State<WebState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let req = AuthorizeRequest::new(authorize::parse_pairs(query.as_deref().unwrap_or_default()));
    authorize_flow(&state, &tenant, &headers, req, None).await
}

async fn authorize_post(
    State(state): State<WebState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let req = AuthorizeRequest::new(authorize::parse_pairs(&String::from_utf8_lossy(&body)));
    authorize_flow(&state, &tenant, &headers, req, None).await
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
    let dir = p.directory();
    if let Err(e) = tenant_alias(&dir, tenant) {
        return error_page_response(&e);
    }
    let client = match authorize::check_client(&dir, &req) {
        Ok(c) => c,
        Err(authorize::PageError(e)) => return error_page_response(&e),
    };
    let scopes = match authorize::check_request(&dir, &req, &client) {
        Ok(s) => s,
        Err(e) => return deliver_error(state, headers, &client, &e),
    };
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
        return login_page(state, tenant, headers, &req, &client, &dir, None);
    };
    let Some(user) = dir.user(&session.user_id) else {
        return login_page(state, tenant, headers, &req, &client, &dir, None);
    };
    let force_consent = prompt == Some("consent");
    match authorize::next_step(p, &dir, &client, &scopes, user, force_consent).await {
        Err(e) => deliver_error(state, headers, &client, &e),
        Ok(Step::Consent { .. }) if prompt == Some("none") => {
            let e = OAuthError::new(
                "consent_required",
                65_001,
                format!(
                    "The user or administrator has not consented to use the application with ID '{}'. Send an interactive authorization request for this user and resource.",
                    client.app.app_id
                ),
            );
            deliver_error(state, headers, &client, &e)
        }
        Ok(Step::Consent {
            resource_app_id,
            resource_name,
            scopes,
        }) => {
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
            let (csrf, cookie) = csrf_token(headers);
            let html = pages::consent(
                &paths::in_tenant(paths::CONSENT, tenant),
                &csrf,
                &req.encode(),
                &client.app.display_name,
                &resource_name,
                &resource_app_id,
                &described,
            );
            page(html, cookie, Some(&session))
        }
        Ok(Step::Issue) => {
            match authorize::issue_code(p, &dir, &req, &client, &session, tenant).await {
                Ok(params) => with_session_cookie(deliver(&client, params), Some(&session)),
                Err(e) => deliver_error(state, headers, &client, &e),
            }
        }
    }
}

fn login_page(
    state: &WebState,
    tenant: &str,
    headers: &HeaderMap,
    req: &AuthorizeRequest,
    client: &Client<'_>,
    dir: &Directory,
    error: Option<&str>,
) -> Response {
    let _ = state;
    let accounts: Vec<pages::PickerEntry> = dir
        .users
        .iter()
        .filter(|u| u.password_hash.is_none())
        .map(|u| pages::PickerEntry {
            upn: u.user_principal_name.clone(),
            name: u.display_name.clone(),
        })
        .collect();
    let (csrf, cookie) = csrf_token(headers);
    let html = pages::login(
        &paths::in_tenant(paths::LOGIN, tenant),
        &csrf,
        &req.encode(),
        &client.app.display_name,
        req.get("login_hint"),
        &accounts,
        error,
    );
    page(html, cookie, None)
}

async fn login(
    State(state): State<WebState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (form, req) = match posted_form(
        &headers,
        &body,
        "The sign-in form expired or was submitted from another site (CSRF check failed). Start the sign-in again.",
    ) {
        Ok(posted) => posted,
        Err(refused) => return refused,
    };
    let p = &state.provider;
    let dir = p.directory();
    let client = match authorize::check_client(&dir, &req) {
        Ok(c) => c,
        Err(authorize::PageError(e)) => return error_page_response(&e),
    };
    let user = match (form.get("pick"), form.get("username")) {
        (Some(upn), _) => match dir.user_by_upn(upn).filter(|u| u.password_hash.is_none()) {
            Some(u) => Ok(u),
            None => Err("That account needs a password.".to_owned()),
        },
        (None, Some(username)) => grant::sign_in_with_password(
            p,
            &dir,
            username,
            form.get("password").map(String::as_str).unwrap_or_default(),
        )
        .await
        .map_err(|e| e.coded_message()),
        (None, None) => Err("Enter your username.".to_owned()),
    };
    let user = match user {
        Ok(u) => u,
        Err(message) => {
            return login_page(
                &state,
                &tenant,
                &headers,
                &req,
                &client,
                &dir,
                Some(&message),
            );
        }
    };
    let now = p.now();
    let session = Session {
        id: guid(),
        user_id: user.object_id.clone(),
        auth_time: now,
        expires_at: now + p.settings.session_lifetime,
    };
    if let Err(e) = p.store.put_session(&session).await {
        return error_page_response(&grant::server_error(e));
    }
    tracing::info!(user = %user.user_principal_name, client = %client.app.app_id, "user signed in");
    // The sign-in satisfied prompt=login/select_account; prompt=consent
    // still asks for the consent page.
    let resumed = match req.prompt() {
        Some("login" | "select_account") => without(&req, &["prompt"]),
        _ => req,
    };
    authorize_flow(&state, &tenant, &headers, resumed, Some(session)).await
}

async fn consent(
    State(state): State<WebState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (form, req) = match posted_form(
        &headers,
        &body,
        "The consent form expired or was submitted from another site (CSRF check failed).",
    ) {
        Ok(posted) => posted,
        Err(refused) => return refused,
    };
    let p = &state.provider;
    let dir = p.directory();
    let client = match authorize::check_client(&dir, &req) {
        Ok(c) => c,
        Err(authorize::PageError(e)) => return error_page_response(&e),
    };
    let Some(session) = current_session(&state, &headers).await else {
        return login_page(
            &state,
            &tenant,
            &headers,
            &req,
            &client,
            &dir,
            Some("Your session ended; sign in again."),
        );
    };
    if form.get("decision").map(String::as_str) != Some("accept") {
        let e = OAuthError::new(
            "access_denied",
            65_004,
            "User declined to consent to access the app.",
        );
        return deliver_error(&state, &headers, &client, &e);
    }
    let resource = form.get("resource").cloned().unwrap_or_default();
    let scopes: Vec<String> = form
        .get("scopes")
        .map(|s| s.split_whitespace().map(str::to_owned).collect())
        .unwrap_or_default();
    if let Err(e) = p
        .store
        .grant_consent(&client.app.app_id, &session.user_id, &resource, &scopes)
        .await
    {
        return error_page_response(&grant::server_error(e));
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

async fn logout(
    State(state): State<WebState>,
    Path(_tenant): Path<String>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let params = authorize::to_map(&authorize::parse_pairs(
        query.as_deref().unwrap_or_default(),
    ));
    if let Some(id) = cookie(&headers, SESSION_COOKIE)
        && let Err(e) = state.provider.store.delete_session(&id).await
    {
        tracing::warn!(error = %e, "could not delete a session");
    }
    let dir = state.provider.directory();
    let target = params.get("post_logout_redirect_uri").filter(|uri| {
        dir.applications
            .iter()
            .any(|a| a.redirect_kind(uri).is_some())
    });
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
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}=; Path=/; Max-Age=0; Secure; HttpOnly; SameSite=Lax"
    )) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    response
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

async fn current_session(state: &WebState, headers: &HeaderMap) -> Option<Session> {
    let id = cookie(headers, SESSION_COOKIE)?;
    let session = state.provider.store.session(&id).await.ok()??;
    (session.expires_at > state.provider.now()).then_some(session)
}

fn deliver(client: &Client<'_>, params: Vec<(String, String)>) -> Response {
    match authorize::deliver(client, params) {
        Delivery::Redirect(url) => Redirect::to(&url).into_response(),
        Delivery::FormPost { action, fields } => {
            Html(pages::form_post(&action, &fields)).into_response()
        }
    }
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

fn page(html: String, csrf_cookie: Option<String>, session: Option<&Session>) -> Response {
    let mut response = with_session_cookie(Html(html).into_response(), session);
    frame_protect(response.headers_mut());
    if let Some(c) = csrf_cookie.and_then(|c| HeaderValue::from_str(&c).ok()) {
        response.headers_mut().append(header::SET_COOKIE, c);
    }
    response
}

fn with_session_cookie(mut response: Response, session: Option<&Session>) -> Response {
    if let Some(s) = session
        && let Ok(v) = HeaderValue::from_str(&format!(
            "{SESSION_COOKIE}={}; Path=/; Secure; HttpOnly; SameSite=Lax",
            s.id
        ))
    {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    response
}

fn frame_protect(headers: &mut HeaderMap) {
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("frame-ancestors 'none'"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

/// The CSRF token for a form: the existing cookie's value, or a new one
/// (returned with its `Set-Cookie`). Double-submit: the form field must
/// equal the cookie, which other sites can neither read nor set.
fn csrf_token(headers: &HeaderMap) -> (String, Option<String>) {
    match cookie(headers, CSRF_COOKIE) {
        Some(existing) if existing.len() >= 20 => (existing, None),
        _ => {
            let token = random_token(24);
            let set = format!("{CSRF_COOKIE}={token}; Path=/; Secure; HttpOnly; SameSite=Strict");
            (token, Some(set))
        }
    }
}

/// A posted sign-in or consent form: its fields and the authorize request
/// it carries, once its CSRF token matches the cookie; otherwise the 403
/// page saying `csrf_failure`. (The refusal is a whole response, returned
/// once per form post: its size does not matter.)
#[allow(clippy::result_large_err)]
fn posted_form(
    headers: &HeaderMap,
    body: &[u8],
    csrf_failure: &str,
) -> Result<(std::collections::HashMap<String, String>, AuthorizeRequest), Response> {
    let form = authorize::to_map(&authorize::parse_pairs(&String::from_utf8_lossy(body)));
    if !csrf_ok(headers, form.get("csrf")) {
        let page = pages::error(&OAuthError::invalid_request(90_015, csrf_failure), &guid());
        return Err((StatusCode::FORBIDDEN, Html(page)).into_response());
    }
    let req = AuthorizeRequest::decode(form.get("request").map(String::as_str).unwrap_or_default());
    Ok((form, req))
}

fn csrf_ok(headers: &HeaderMap, field: Option<&String>) -> bool {
    match (cookie(headers, CSRF_COOKIE), field) {
        (Some(c), Some(f)) => {
            c.len() >= 20 && crate::secret::digest(&c) == crate::secret::digest(f)
        }
        _ => false,
    }
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

/// A random GUID-shaped id.
pub fn guid() -> String {
    let mut b = [0u8; 16];
    if aws_lc_rs::rand::fill(&mut b).is_err() {
        return "00000000-0000-0000-0000-000000000000".to_owned();
    }
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

const SESSION_COOKIE: &str = "rolegate_session";
const CSRF_COOKIE: &str = "rolegate_csrf";

#[allow(dead_code)]
const _METHOD: Method = Method::GET;
