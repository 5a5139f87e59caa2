//! The browser's SSO session and the protection of the provider's forms:
//! the session cookie, the CSRF cookie and the token bound to it, and the
//! cross-site check of form posts.

use axum::http::{HeaderMap, header};
use axum::response::Response;

use super::WebState;
use super::respond::error_page_response;
use crate::protocol::Provider;
use crate::protocol::grant;
use crate::secret::random_token;
use crate::store::Session;

/// Starts an SSO session for `user`: a fresh 256-bit cookie secret from the
/// OS random source (the store keeps its digest) and a separate opaque id
/// for `sid`/`session_state`.
pub(super) async fn start_session(
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

pub(super) fn session_cookie(secret: &str) -> String {
    format!("{SESSION_COOKIE}={secret}; Path=/; Secure; HttpOnly; SameSite=Lax")
}

pub(super) async fn current_session(state: &WebState, headers: &HeaderMap) -> Option<Session> {
    let secret = cookie(headers, SESSION_COOKIE)?;
    let session = state
        .provider
        .store
        .session(&crate::secret::digest(&secret))
        .await
        .ok()??;
    (session.expires_at > state.provider.now()).then_some(session)
}

/// A form's CSRF token: HMAC-SHA256 of the browser's `__Host-` CSRF cookie
/// under the provider's form key, with the `Set-Cookie` for a new cookie.
/// Another site can neither read nor plant a `__Host-` cookie, nor compute
/// the token without the key.
pub(super) struct FormGuard {
    pub(super) token: String,
    pub(super) set_cookie: Option<String>,
}

#[allow(clippy::result_large_err)] // the refusal is a whole page, made once
pub(super) async fn form_guard(
    state: &WebState,
    headers: &HeaderMap,
) -> Result<FormGuard, Response> {
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
pub(super) async fn posted_by_us(
    state: &WebState,
    headers: &HeaderMap,
    field: Option<&String>,
) -> bool {
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

/// The SSO session cookie: a 256-bit secret, `__Host-` (Secure, Path=/,
/// no Domain: no other origin, not even another port's page, can set it).
pub(super) const SESSION_COOKIE: &str = "__Host-rolegate_session";

/// The CSRF cookie the form tokens are bound to.
const CSRF_COOKIE: &str = "__Host-rolegate_csrf";
