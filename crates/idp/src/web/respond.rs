//! Response helpers shared by the handlers: JSON errors, pages, cache and
//! framing headers, and delivery of authorize responses to the client.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use cookie::Cookie;

use super::{WebState, pages};
use crate::protocol::authorize::{self, Client, Delivery};
use crate::protocol::errors::{OAuthError, Rendering, Surface};

/// An OAuth error on its way out: what went wrong, where it is answered
/// ([`Surface`]: the protocol layer decides JSON, page or challenge), and
/// what of the request its body names (correlation id, time, origin).
/// One type for every endpoint's refusals; authorize errors that go back
/// to a trusted client's redirect URI use [`deliver_error`] instead.
pub(super) struct Refusal<'a> {
    error: &'a OAuthError,
    surface: Surface,
    correlation: String,
    now: i64,
    origin: String,
}

impl<'a> Refusal<'a> {
    /// `error`, answered on `surface`, for the request with `headers`.
    pub(super) fn new(
        state: &WebState,
        headers: &HeaderMap,
        error: &'a OAuthError,
        surface: Surface,
    ) -> Self {
        Self {
            error,
            surface,
            correlation: correlation_id(headers),
            now: state.provider.now(),
            origin: state.origin(headers),
        }
    }
}

impl IntoResponse for Refusal<'_> {
    fn into_response(self) -> Response {
        let e = self.error;
        let status = |code: u16| StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_REQUEST);
        match e.rendering(self.surface) {
            Rendering::Json { status: code } => {
                let body = e.body(&guid(), &self.correlation, self.now, &self.origin);
                (status(code), no_store(), axum::Json(body)).into_response()
            }
            Rendering::Challenge {
                status: code,
                www_authenticate,
            } => {
                let mut response = status(code).into_response();
                if let Ok(v) = HeaderValue::from_str(&www_authenticate) {
                    response.headers_mut().insert(header::WWW_AUTHENTICATE, v);
                }
                response
            }
            // A redirect needs the trusted client (`deliver_error`); without
            // one the error is shown, never sent to an unchecked URI.
            rendering @ (Rendering::Page { .. } | Rendering::Redirect) => {
                let code = match rendering {
                    Rendering::Page { status } => status,
                    _ => e.status,
                };
                let mut response = (status(code), Html(pages::error(e, &guid()))).into_response();
                frame_protect(response.headers_mut());
                response
            }
        }
    }
}

/// An OAuth error as Entra's JSON body (trace and correlation ids,
/// `error_uri`), never cached: [`Refusal`] on the token surface.
pub(super) fn json_error(state: &WebState, headers: &HeaderMap, e: &OAuthError) -> Response {
    Refusal::new(state, headers, e, Surface::Token).into_response()
}

/// `Cache-Control`/`Pragma` for token and error JSON.
pub(super) fn no_store() -> [(header::HeaderName, &'static str); 2] {
    [
        (header::CACHE_CONTROL, "no-store, no-cache"),
        (header::PRAGMA, "no-cache"),
    ]
}

/// Sends authorize response parameters to the client's redirect URI in its
/// response mode: a redirect, or the self-submitting `form_post` page.
pub(super) fn deliver(client: &Client<'_>, params: Vec<(String, String)>) -> Response {
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

/// Sends an authorize error to a trusted client's redirect URI.
pub(super) fn deliver_error(
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

/// An error shown as a page (the client or redirect URI is not trusted, or
/// there is no client to send it to): the page rendering of [`Refusal`],
/// which needs nothing of the request.
pub(super) fn error_page_response(e: &OAuthError) -> Response {
    Refusal {
        error: e,
        surface: Surface::Page,
        correlation: String::new(),
        now: 0,
        origin: String::new(),
    }
    .into_response()
}

/// The 403 page for a form post that failed the CSRF or origin check.
pub(super) fn csrf_refusal(message: &str) -> Response {
    let mut response = error_page_response(&OAuthError::invalid_request(
        crate::protocol::aadsts::MALFORMED_REQUEST,
        message,
    ));
    *response.status_mut() = StatusCode::FORBIDDEN;
    response
}

/// One of the provider's pages, with the CSRF cookie it set, if new.
pub(super) fn page(html: String, csrf_cookie: Option<Cookie<'static>>) -> Response {
    let mut response = Html(html).into_response();
    frame_protect(response.headers_mut());
    if let Some(c) = csrf_cookie {
        set_cookie(&mut response, &c);
    }
    response
}

/// Appends a `Set-Cookie`.
pub(super) fn set_cookie(response: &mut Response, cookie: &Cookie<'_>) {
    if let Ok(v) = HeaderValue::from_str(&cookie.to_string()) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
}

/// Pages are never framed (clickjacking) nor cached.
pub(super) fn frame_protect(headers: &mut HeaderMap) {
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("frame-ancestors 'none'"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

/// A random GUID-shaped id (trace ids).
pub fn guid() -> String {
    crate::secret::guid()
}

/// The client's `client-request-id` when it is GUID-like, else a fresh one.
fn correlation_id(headers: &HeaderMap) -> String {
    headers
        .get("client-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| v.len() <= 64 && v.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-'))
        .map_or_else(guid, str::to_owned)
}
