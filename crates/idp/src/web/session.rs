//! The browser's SSO session and the protection of the provider's forms:
//! the session cookie, the CSRF cookie and the token bound to it, and the
//! cross-site check of form posts.
//!
//! Both cookies are `__Host-` cookies (`Secure`, `Path=/`, no `Domain`:
//! RFC 6265bis §4.1.3.2), `HttpOnly`, built and read with the `cookie`
//! crate.

use axum::http::{HeaderMap, header};
use axum::response::Response;
use cookie::time::Duration;
use cookie::{Cookie, SameSite};

use super::WebState;
use super::respond::error_page_response;
use crate::protocol::Provider;
use crate::protocol::errors::server_error;
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

/// The `Set-Cookie` that carries a new session's secret. `SameSite=Lax`:
/// the browser sends it on a top-level navigation from the client app to
/// `/authorize` (SSO).
pub(super) fn session_cookie(secret: String) -> Cookie<'static> {
    host_cookie(SESSION_COOKIE, secret, SameSite::Lax)
}

/// The `Set-Cookie` that ends the session in the browser (logout).
pub(super) fn session_removal() -> Cookie<'static> {
    let mut removal = host_cookie(SESSION_COOKIE, String::new(), SameSite::Lax);
    removal.set_max_age(Duration::ZERO);
    removal
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
    pub(super) set_cookie: Option<Cookie<'static>>,
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
        .map_err(|e| error_page_response(&server_error(e)))?;
    let (secret, set_cookie) = match cookie(headers, CSRF_COOKIE) {
        Some(existing) if existing.len() >= 43 => (existing, None),
        _ => {
            let fresh = random_token(32);
            let set = host_cookie(CSRF_COOKIE, fresh.clone(), SameSite::Strict);
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
    field: Option<&str>,
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

/// A `__Host-` cookie: `Secure`, `Path=/`, no `Domain`, and `HttpOnly`.
fn host_cookie(name: &'static str, value: String, same_site: SameSite) -> Cookie<'static> {
    Cookie::build((name, value))
        .path("/")
        .secure(true)
        .http_only(true)
        .same_site(same_site)
        .build()
}

/// The value of the first cookie called `name` in the request's `Cookie`
/// headers.
fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == name)
        .map(|c| c.value().to_owned())
}

/// The SSO session cookie: a 256-bit secret, `__Host-` (Secure, Path=/,
/// no Domain: no other origin, not even another port's page, can set it).
const SESSION_COOKIE: &str = "__Host-rolegate_session";

/// The CSRF cookie the form tokens are bound to.
const CSRF_COOKIE: &str = "__Host-rolegate_csrf";

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    #[test]
    fn the_cookies_are_host_cookies_with_their_same_site() {
        assert_eq!(
            session_cookie("s3cret".to_owned()).to_string(),
            "__Host-rolegate_session=s3cret; HttpOnly; SameSite=Lax; Secure; Path=/"
        );
        assert_eq!(
            session_removal().to_string(),
            "__Host-rolegate_session=; HttpOnly; SameSite=Lax; Secure; Path=/; Max-Age=0"
        );
        assert_eq!(
            host_cookie(CSRF_COOKIE, "t".to_owned(), SameSite::Strict).to_string(),
            "__Host-rolegate_csrf=t; HttpOnly; SameSite=Strict; Secure; Path=/"
        );
    }

    #[test]
    fn a_cookie_is_read_by_exact_name_first_one_wins() {
        let mut headers = HeaderMap::new();
        headers.append(
            header::COOKIE,
            HeaderValue::from_static("junk; =v; rolegate_session=old; __Host-rolegate_session=a"),
        );
        headers.append(
            header::COOKIE,
            HeaderValue::from_static("__Host-rolegate_session=b; __Host-rolegate_csrf=c"),
        );
        assert_eq!(cookie(&headers, SESSION_COOKIE).as_deref(), Some("a"));
        assert_eq!(cookie(&headers, CSRF_COOKIE).as_deref(), Some("c"));
        assert_eq!(cookie(&headers, "__Host-rolegate"), None);
        assert_eq!(cookie(&HeaderMap::new(), SESSION_COOKIE), None);
    }
}
