//! The authorize endpoints (v2.0 and v1.0) and the pages of the flow they
//! start: sign-in and consent.

use crate::protocol::aadsts;
use crate::protocol::response::Endpoint;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::{get, post};

use super::forms::{Account, ConsentForm, LoginForm};
use super::respond::{csrf_refusal, deliver, deliver_error, error_page_response, page, set_cookie};
use super::session::{current_session, form_guard, posted_by_us, session_cookie, start_session};
use super::{ClientAddr, WebState, pages};
use crate::directory::Directory;
use crate::protocol::authorize::{self, AuthorizeRequest, Client, Step};
use crate::protocol::endpoints::{CONSENT, LOGIN, V1_AUTHORIZE, V2_AUTHORIZE};
use crate::protocol::errors::OAuthError;
use crate::protocol::errors::server_error;
use crate::protocol::tenancy::{self, Authority};
use crate::protocol::token::password::sign_in_with_password;
use crate::secret::random_token;
use crate::store::{PendingConsent, Session};

/// Authorize (v2.0 and v1.0) and the sign-in and consent forms.
pub(super) fn routes() -> Router<WebState> {
    Router::new()
        .route(V2_AUTHORIZE.path, get(authorize_get).post(authorize_post))
        .route(
            V1_AUTHORIZE.path,
            get(authorize_v1_get).post(authorize_v1_post),
        )
        .route(LOGIN.path, post(login))
        .route(CONSENT.path, post(consent))
}

async fn authorize_get(
    state: State<WebState>,
    tenant: Path<String>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    authorize_entry(
        state,
        tenant,
        headers,
        query.as_deref().unwrap_or_default(),
        Endpoint::V2,
    )
    .await
}

async fn authorize_post(
    state: State<WebState>,
    tenant: Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    authorize_entry(
        state,
        tenant,
        headers,
        &String::from_utf8_lossy(&body),
        Endpoint::V2,
    )
    .await
}

async fn authorize_v1_get(
    state: State<WebState>,
    tenant: Path<String>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    authorize_entry(
        state,
        tenant,
        headers,
        query.as_deref().unwrap_or_default(),
        Endpoint::V1,
    )
    .await
}

async fn authorize_v1_post(
    state: State<WebState>,
    tenant: Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    authorize_entry(
        state,
        tenant,
        headers,
        &String::from_utf8_lossy(&body),
        Endpoint::V1,
    )
    .await
}

/// An authorize request from its query or form (repeated parameters are
/// refused); a v1 request (`resource=`) is first rewritten as the v2
/// request it means.
async fn authorize_entry(
    State(state): State<WebState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    parameters: &str,
    endpoint: Endpoint,
) -> Response {
    match authorize::unique_pairs(parameters) {
        Ok(pairs) => {
            let req = AuthorizeRequest::new(pairs);
            let req = match endpoint {
                Endpoint::V2 => req,
                Endpoint::V1 => authorize::v1_request(req),
            };
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
    let client = match authorize::check_client(client_dir, &req, &state.origin(headers)) {
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
            return deliver_error(state, headers, &client, &OAuthError::login_required());
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
    let client = match authorize::check_client(dir, &req, &state.origin(headers)) {
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
            aadsts::CONSENT_REQUIRED,
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
                return error_page_response(&server_error(e));
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
                &CONSENT.in_tenant(tenant),
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
        &LOGIN.in_tenant(tenant),
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
    let LoginForm {
        csrf,
        request: req,
        account,
    } = match LoginForm::parse(&body) {
        Ok(form) => form,
        Err(e) => return error_page_response(&e),
    };
    if !posted_by_us(&state, &headers, csrf.as_deref()).await {
        return csrf_refusal(
            "The sign-in form expired or was submitted from another site (CSRF check failed). Start the sign-in again.",
        );
    }
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
    let client = match authorize::check_client(client_dir, &req, &state.origin(&headers)) {
        Ok(c) => c,
        Err(authorize::PageError(e)) => return error_page_response(&e),
    };
    // Home-realm discovery: the name's domain picks the tenant.
    let home_of = |name: &str| match at {
        Authority::Tenant(dir) => tenants.by_upn(name).unwrap_or(dir),
        Authority::Multi => tenants.by_upn(name).unwrap_or(client_dir),
    };
    let user = match &account {
        Account::Picked(upn) => match home_of(upn)
            .user_by_upn(upn)
            .filter(|u| u.password_hash.is_none())
        {
            Some(u) => Ok((home_of(upn), u)),
            None => Err("That account needs a password.".to_owned()),
        },
        Account::Password { username, password } => {
            sign_in_with_password(p, home_of(username), username, password.as_str(), source)
                .await
                .map(|u| (home_of(username), u))
                .map_err(|e| e.coded_message())
        }
        Account::Missing => Err("Enter your username.".to_owned()),
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
        Err(e) => return error_page_response(&server_error(e)),
    };
    tracing::info!(user = %user.user_principal_name, client = %client.app.app_id, "user signed in");
    // The sign-in satisfied prompt=login/select_account; prompt=consent
    // still asks for the consent page.
    let resumed = match req.prompt() {
        Some("login" | "select_account") => without(&req, &["prompt"]),
        _ => req,
    };
    let mut response = authorize_flow(&state, &tenant, &headers, resumed, Some(session)).await;
    set_cookie(&mut response, &session_cookie(secret));
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
    let form = match ConsentForm::parse(&body) {
        Ok(form) => form,
        Err(e) => return error_page_response(&e),
    };
    if !posted_by_us(&state, &headers, form.csrf.as_deref()).await {
        return csrf_refusal(
            "The consent form expired or was submitted from another site (CSRF check failed).",
        );
    }
    let p = &state.provider;
    let pending = match p
        .store
        .take_pending_consent(&crate::secret::digest(&form.handle))
        .await
    {
        Ok(Some(pending)) if pending.expires_at >= p.now() => pending,
        Ok(_) => return expired_consent(),
        Err(e) => return error_page_response(&server_error(e)),
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
    let client = match authorize::check_client(dir, &req, &state.origin(&headers)) {
        Ok(c) if c.app.app_id == pending.client_id => c,
        Ok(_) => return expired_consent(),
        Err(authorize::PageError(e)) => return error_page_response(&e),
    };
    if !form.accepted {
        return deliver_error(&state, &headers, &client, &OAuthError::consent_declined());
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
        return error_page_response(&server_error(e));
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
        aadsts::MALFORMED_REQUEST,
        "This consent page expired, was already answered, or belongs to another sign-in. Start the sign-in again.",
    ))
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
