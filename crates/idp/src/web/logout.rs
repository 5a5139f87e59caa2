//! Logout: ends the SSO session.

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use base64::Engine as _;
use serde_json::Value;

use super::forms::LogoutRequest;
use super::respond::{error_page_response, frame_protect, set_cookie};
use super::session::{current_session, session_removal};
use super::{WebState, pages};
use crate::directory::admin_portal;
use crate::protocol::endpoints::V2_LOGOUT;

/// Logout, by `GET` or `POST`.
pub(super) fn routes() -> Router<WebState> {
    Router::new().route(V2_LOGOUT.path, get(logout).post(logout))
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
    let params = match LogoutRequest::parse(query.as_deref().unwrap_or_default()) {
        Ok(params) => params,
        Err(e) => return error_page_response(&e),
    };
    let session = current_session(&state, &headers).await;
    let tenants = state.provider.tenants();
    let named = params
        .client_id
        .or_else(|| params.id_token_hint.as_deref().and_then(token_audience));
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
    let own_origin = state.origin(&headers);
    let target = params.post_logout_redirect_uri.filter(|uri| {
        apps.iter().any(|id| {
            if admin_portal::is_portal(id) {
                // The built-in portal returns to its own page on our origin.
                tenants
                    .iter()
                    .any(|d| admin_portal::is_redirect_uri(d, &own_origin, uri))
            } else {
                tenants
                    .registered(id)
                    .is_some_and(|(_, a)| a.redirect_kind(uri).is_some())
            }
        })
    });
    if let Some(session) = &session
        && let Err(e) = state.provider.store.delete_session(&session.id).await
    {
        tracing::warn!(error = %e, "could not delete a session");
    }
    let mut response = match target {
        Some(uri) => {
            let mut url = uri;
            if let Some(s) = params.state {
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
    set_cookie(&mut response, &session_removal());
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
