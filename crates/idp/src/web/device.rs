//! The device authorization grant: the device-code endpoint and the
//! verification page (`/devicelogin`).

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use super::forms::{DeviceCodeRequest, DeviceDecision, DeviceForm};
use super::respond::{error_page_response, json_error, no_store, page, set_cookie};
use super::session::{current_session, form_guard, posted_by_us, session_cookie, start_session};
use super::{ClientAddr, WebState, pages};
use crate::protocol::authorize;
use crate::protocol::device;
use crate::protocol::endpoints::{DEVICE_LOGIN, V2_DEVICECODE};
use crate::protocol::errors::OAuthError;
use crate::protocol::errors::server_error;
use crate::protocol::tenancy::Authority;
use crate::protocol::token::password::sign_in_with_password;

/// The device-code endpoint and the verification page.
pub(super) fn routes() -> Router<WebState> {
    Router::new()
        .route(V2_DEVICECODE.path, post(device_code))
        .route(DEVICE_LOGIN.path, get(device_page).post(device_decide))
}

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
    let form = match DeviceCodeRequest::parse(&body) {
        Ok(form) => form,
        Err(e) => return json_error(&state, &headers, &e),
    };
    let key = crate::protocol::limits::source_key("devicecode", source);
    let now = state.provider.now();
    let limits = &state.provider.limits;
    let store = state.provider.store.as_ref();
    let within = match limits.device_codes.hit(store, &key, now).await {
        Ok(true) => limits.device_codes_all.hit(store, "all", now).await,
        other => other,
    };
    let within = match within {
        Ok(within) => within,
        Err(e) => {
            return json_error(&state, &headers, &crate::protocol::errors::server_error(e));
        }
    };
    if !within {
        return json_error(
            &state,
            &headers,
            &OAuthError::throttled("device code requests"),
        );
    }
    let uri = format!("{}{}", state.origin(&headers), DEVICE_LOGIN.path);
    match device::start(
        &state.provider,
        &tenants,
        at,
        &tenant,
        form.client_id.as_deref(),
        form.scope.as_deref(),
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
        pages::device(DEVICE_LOGIN.path, &guard.token, code.as_deref(), None),
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
    // A malformed form (a repeated field) is an empty one: the CSRF check
    // refuses it below.
    let form = DeviceForm::parse(&body).unwrap_or_default();
    let user_code = form.user_code.as_str();
    let again = |error: &str| {
        page(
            pages::device(
                DEVICE_LOGIN.path,
                &guard.token,
                Some(user_code),
                Some(error),
            ),
            guard.set_cookie.clone(),
        )
    };
    if !posted_by_us(&state, &headers, form.csrf.as_deref()).await {
        return again("The form expired or came from another site; enter the code again.");
    }
    let p = &state.provider;
    let tenants = p.tenants();
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
    match form.decision {
        Some(DeviceDecision::Decline) => finish(device::Decision::Decline).await,
        Some(DeviceDecision::Confirm) => match current_session(&state, &headers).await {
            Some(session) => {
                finish(device::Decision::Approve {
                    user_id: session.user_id,
                })
                .await
            }
            None => again("Your sign-in expired; enter the code and sign in again."),
        },
        Some(DeviceDecision::Approve) => {
            let tenants = p.tenants();
            let (user, new_session) = match &form.username {
                Some(username) => {
                    let password = form.password.as_str();
                    let home = tenants
                        .by_upn(username)
                        .unwrap_or_else(|| tenants.default_tenant());
                    match sign_in_with_password(p, home, username, password, source).await {
                        Ok(user) => match start_session(p, user).await {
                            Ok(started) => (user, Some(started)),
                            Err(e) => return error_page_response(&server_error(e)),
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
                DEVICE_LOGIN.path,
                &guard.token,
                &shown.user_code,
                &shown.client_name,
                &user.user_principal_name,
                &shown.scopes,
            );
            let mut response = page(html, guard.set_cookie.clone());
            if let Some((_, secret)) = new_session {
                set_cookie(&mut response, &session_cookie(secret));
            }
            response
        }
        None => again("Choose Sign in or Decline."),
    }
}
