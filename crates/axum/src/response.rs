//! The edge error type, [`AuthError`], and its wire form.
//!
//! Every refusal goes through one match, `AuthError::wire`, which follows
//! RFC 6750 §3:
//!
//! | failure | status | `WWW-Authenticate` | body `code` |
//! |---|---|---|---|
//! | no `Authorization` header | 401 | `Bearer` | `missing_token` |
//! | malformed header | 400 | `Bearer error="invalid_request", error_description="…"` | `invalid_request` |
//! | token refused | 401 | `Bearer error="invalid_token", error_description="…"` | e.g. `token_expired` |
//! | signing keys unavailable | 503, `Retry-After: 10` | none | `keys_unavailable` |
//! | requirement not met | 403 | `Bearer error="insufficient_scope", scope="…", error_description="…"` | e.g. `missing_role` |
//!
//! The body is chosen by an [`ErrorResponder`]; the default,
//! [`ProblemDetails`], writes RFC 9457 problem details:
//!
//! ```
//! use axum::response::IntoResponse;
//! use rolegate_axum::AuthError;
//!
//! let response = AuthError::missing_token().with_request_id("req-1").into_response();
//! assert_eq!(response.status(), 401);
//! assert_eq!(response.headers()["www-authenticate"], "Bearer");
//! assert_eq!(response.headers()["content-type"], "application/problem+json");
//! assert_eq!(response.headers()["x-request-id"], "req-1");
//! ```
//!
//! # Security
//! Messages never contain the token. When keys are unavailable the client
//! gets a generic message; the cause (which may name internal URLs) is only
//! logged, at `warn`.

use std::fmt;

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use http::header::{CONTENT_LENGTH, CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE};
use http::{HeaderName, HeaderValue, StatusCode};
use rolegate_token::ValidationError;
use rolegate_token::requirement::AuthorizationError;

use crate::bearer::MalformedHeader;
use crate::request_id::{self, X_REQUEST_ID};

/// Why a request was refused: a missing or malformed `Authorization`
/// header, a refused token, or a caller without the required roles or
/// scopes. Turns into the RFC 6750 response with [`IntoResponse`].
///
/// `Display` shows the full cause for logs; [`body_text`](Self::body_text)
/// is what the client is told.
#[derive(Debug, Clone)]
pub struct AuthError {
    // Boxed: the causes are large, and handlers return `Result<_, AuthError>`.
    kind: Box<AuthErrorKind>,
    request_id: Option<String>,
}

/// The cause of an [`AuthError`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum AuthErrorKind {
    /// The caller is authenticated but lacks a role or scope (403).
    Authorization(AuthorizationError),
    /// The `Authorization` header cannot carry a bearer token (400).
    MalformedHeader(MalformedHeader),
    /// No `Authorization` header (401).
    MissingToken,
    /// The token was refused (401), or could not be checked because the
    /// signing keys are unavailable (503).
    Validation(ValidationError),
}

impl AuthError {
    /// No access token was sent.
    pub fn missing_token() -> AuthError {
        AuthError::from(AuthErrorKind::MissingToken)
    }

    /// The cause.
    pub fn kind(&self) -> &AuthErrorKind {
        &self.kind
    }

    /// The HTTP status: 400, 401, 403 or 503.
    pub fn status(&self) -> StatusCode {
        self.wire().status
    }

    /// The stable code sent in the body: `missing_token`,
    /// `invalid_request`, or an [`ErrorCode`](rolegate_token::ErrorCode)
    /// string such as `token_expired` or `missing_role`.
    pub fn code(&self) -> &'static str {
        self.wire().code
    }

    /// The message the client is told (never the token; generic when the
    /// failure is the server's).
    pub fn body_text(&self) -> String {
        self.wire().message
    }

    /// What the client should change.
    pub fn hint(&self) -> String {
        self.wire().hint
    }

    /// The request id, when one has been assigned.
    pub fn request_id(&self) -> Option<&str> {
        self.request_id.as_deref()
    }

    /// Uses `id` as the request id when it is 1 to 64 visible ASCII
    /// characters; otherwise a random id is generated when the response is
    /// built.
    pub fn with_request_id(mut self, id: &str) -> AuthError {
        if request_id::is_acceptable(id) {
            self.request_id = Some(id.to_owned());
        }
        self
    }

    pub(crate) fn with_request_id_from(mut self, headers: &http::HeaderMap) -> AuthError {
        self.request_id = request_id::from_headers(headers).or(self.request_id);
        self
    }

    /// The one translation to the wire (RFC 6750 §3).
    fn wire(&self) -> Wire {
        match &*self.kind {
            // §3.1: a request without credentials gets a challenge with no
            // error code.
            AuthErrorKind::MissingToken => Wire {
                status: StatusCode::UNAUTHORIZED,
                code: "missing_token",
                title: "Authentication required",
                message: "the request has no Authorization header; an access token is required"
                    .to_owned(),
                hint: "acquire an access token for this API and send it as \
                       'Authorization: Bearer <token>'"
                    .to_owned(),
                challenge: Some("Bearer".to_owned()),
                retry_after: None,
            },
            AuthErrorKind::MalformedHeader(e) => {
                let message = e.to_string();
                Wire {
                    status: StatusCode::BAD_REQUEST,
                    code: "invalid_request",
                    title: "Malformed Authorization header",
                    challenge: Some(challenge("invalid_request", None, &message)),
                    message,
                    hint: e.hint().to_owned(),
                    retry_after: None,
                }
            }
            // Not the token's fault: 503, and no invalid_token challenge
            // that would make a client throw its good token away.
            AuthErrorKind::Validation(e) if e.code().is_server_side() => Wire {
                status: StatusCode::SERVICE_UNAVAILABLE,
                code: e.code().as_str(),
                title: "Token validation unavailable",
                message: "the API cannot validate tokens right now: its token-signing keys are \
                          unavailable"
                    .to_owned(),
                hint: format!(
                    "retry in {RETRY_AFTER_SECONDS}s; if this persists, the API's operator \
                     should check that the authority is reachable"
                ),
                challenge: None,
                retry_after: Some(RETRY_AFTER_SECONDS),
            },
            AuthErrorKind::Validation(e) => {
                let message = e.to_string();
                Wire {
                    status: StatusCode::UNAUTHORIZED,
                    code: e.code().as_str(),
                    title: "Invalid access token",
                    challenge: Some(challenge("invalid_token", None, &message)),
                    message,
                    hint: e.hint(),
                    retry_after: None,
                }
            }
            AuthErrorKind::Authorization(e) => {
                let message = e.to_string();
                Wire {
                    status: StatusCode::FORBIDDEN,
                    code: e.code().as_str(),
                    title: "Insufficient permissions",
                    challenge: Some(challenge(
                        "insufficient_scope",
                        Some(&e.required()),
                        &message,
                    )),
                    message,
                    hint: e.hint(),
                    retry_after: None,
                }
            }
        }
    }
}

impl From<AuthErrorKind> for AuthError {
    fn from(kind: AuthErrorKind) -> Self {
        AuthError {
            kind: Box::new(kind),
            request_id: None,
        }
    }
}

impl From<AuthorizationError> for AuthError {
    fn from(e: AuthorizationError) -> Self {
        AuthError::from(AuthErrorKind::Authorization(e))
    }
}

impl From<MalformedHeader> for AuthError {
    fn from(e: MalformedHeader) -> Self {
        AuthError::from(AuthErrorKind::MalformedHeader(e))
    }
}

impl From<ValidationError> for AuthError {
    fn from(e: ValidationError) -> Self {
        AuthError::from(AuthErrorKind::Validation(e))
    }
}

impl IntoResponse for AuthError {
    /// Renders with [`ProblemDetails`]. Behind an
    /// [`AuthLayer`](crate::AuthLayer) the layer renders it again with its
    /// own responder and the caller's request id.
    fn into_response(self) -> Response {
        render(self, &ProblemDetails, Stage::Provisional)
    }
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &*self.kind {
            AuthErrorKind::Authorization(e) => e.fmt(f),
            AuthErrorKind::MalformedHeader(e) => e.fmt(f),
            AuthErrorKind::MissingToken => f.write_str("the request has no Authorization header"),
            AuthErrorKind::Validation(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for AuthError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &*self.kind {
            AuthErrorKind::Authorization(e) => Some(e),
            AuthErrorKind::MalformedHeader(e) => Some(e),
            AuthErrorKind::MissingToken => None,
            AuthErrorKind::Validation(e) => Some(e),
        }
    }
}

/// Everything an [`ErrorResponder`] may put in a response body.
#[derive(Debug, Clone)]
pub struct AuthFailure {
    error: AuthError,
    request_id: String,
    wire: Wire,
    www_authenticate: Option<HeaderValue>,
}

impl AuthFailure {
    fn new(error: AuthError, request_id: String) -> AuthFailure {
        let wire = error.wire();
        let www_authenticate = wire
            .challenge
            .as_deref()
            .map(|c| HeaderValue::from_str(c).unwrap_or(HeaderValue::from_static("Bearer")));
        AuthFailure {
            error,
            request_id,
            wire,
            www_authenticate,
        }
    }

    /// The error.
    pub fn error(&self) -> &AuthError {
        &self.error
    }

    /// The HTTP status (the layer enforces it).
    pub fn status(&self) -> StatusCode {
        self.wire.status
    }

    /// The stable code, e.g. `token_expired`.
    pub fn code(&self) -> &'static str {
        self.wire.code
    }

    /// A short title for the kind of failure, e.g. "Invalid access token".
    pub fn title(&self) -> &'static str {
        self.wire.title
    }

    /// What went wrong, for the client.
    pub fn message(&self) -> &str {
        &self.wire.message
    }

    /// What the client should change.
    pub fn hint(&self) -> &str {
        &self.wire.hint
    }

    /// The request id (also sent as `x-request-id`).
    pub fn request_id(&self) -> &str {
        &self.request_id
    }

    /// The `WWW-Authenticate` challenge the layer sends, if any (none for
    /// 503).
    pub fn www_authenticate(&self) -> Option<&HeaderValue> {
        self.www_authenticate.as_ref()
    }

    /// Seconds for `Retry-After`, for failures worth retrying.
    pub fn retry_after(&self) -> Option<u32> {
        self.wire.retry_after
    }
}

/// Builds the response for a refused request. Whatever it returns, the
/// status, `WWW-Authenticate`, `Retry-After` and `x-request-id` are then
/// set from the [`AuthFailure`], so the RFC 6750 semantics cannot be lost.
///
/// Closures `Fn(&AuthFailure) -> Response` are responders too:
///
/// ```
/// use axum::response::IntoResponse;
/// use rolegate_axum::AuthLayer;
/// use rolegate_axum::response::AuthFailure;
/// use rolegate_token::{Validator, ValidatorConfig};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let validator = Validator::new(ValidatorConfig::entra(
///     "72f988bf-86f1-41af-91ab-2d7cd011db47",
///     "6e74172b-be56-4843-9ff4-e66a39bb12e3",
/// ))?;
/// let layer = AuthLayer::new(validator).error_responder(|failure: &AuthFailure| {
///     format!("{} ({})\n", failure.message(), failure.code()).into_response()
/// });
/// # let _ = layer;
/// # Ok(())
/// # }
/// ```
pub trait ErrorResponder: Send + Sync + 'static {
    /// The response for `failure`.
    fn respond(&self, failure: &AuthFailure) -> Response;
}

impl<F> ErrorResponder for F
where
    F: Fn(&AuthFailure) -> Response + Send + Sync + 'static,
{
    fn respond(&self, failure: &AuthFailure) -> Response {
        self(failure)
    }
}

/// The default responder: RFC 9457 problem details as
/// `application/problem+json`:
///
/// ```json
/// {"type": "urn:rolegate:error:token_expired", "title": "Invalid access token",
///  "status": 401, "detail": "token expired 93s ago (…)", "code": "token_expired",
///  "hint": "acquire a new token (…)", "request_id": "6f1c0a9e4b2d7c35"}
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct ProblemDetails;

impl ErrorResponder for ProblemDetails {
    fn respond(&self, failure: &AuthFailure) -> Response {
        let body = serde_json::json!({
            "type": format!("urn:rolegate:error:{}", failure.code()),
            "title": failure.title(),
            "status": failure.status().as_u16(),
            "detail": failure.message(),
            "code": failure.code(),
            "hint": failure.hint(),
            "request_id": failure.request_id(),
        });
        (
            failure.status(),
            [(CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON))],
            body.to_string(),
        )
            .into_response()
    }
}

/// Whether a rendered failure may still be rendered again by an enclosing
/// [`AuthLayer`](crate::AuthLayer), which knows the configured responder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stage {
    /// Rendered by the layer: final.
    Final,
    /// Rendered by `IntoResponse` (a handler, extractor or `RequireLayer`).
    Provisional,
}

/// Marks a response as a rendered [`AuthError`] (in response extensions).
#[derive(Debug, Clone)]
struct Rendered {
    error: AuthError,
    stage: Stage,
}

/// Renders `error` with `responder`, logs it, and enforces the headers.
pub(crate) fn render(
    mut error: AuthError,
    responder: &dyn ErrorResponder,
    stage: Stage,
) -> Response {
    let request_id = error
        .request_id
        .get_or_insert_with(request_id::generate)
        .clone();
    let failure = AuthFailure::new(error, request_id);
    log(&failure);
    respond(failure, responder, stage)
}

/// Renders a provisional failure again with the layer's `responder`,
/// preferring the caller's request id. Other responses pass unchanged.
pub(crate) fn finish(
    response: Response,
    responder: &dyn ErrorResponder,
    caller_request_id: Option<String>,
) -> Response {
    let Some(Rendered {
        mut error,
        stage: Stage::Provisional,
    }) = response.extensions().get::<Rendered>().cloned()
    else {
        return response;
    };
    let previous = error.request_id.clone();
    if let Some(id) = caller_request_id {
        error.request_id = Some(id);
    }
    let request_id = error
        .request_id
        .get_or_insert_with(request_id::generate)
        .clone();
    let failure = AuthFailure::new(error, request_id);
    if previous.as_deref() != Some(failure.request_id()) {
        log(&failure);
    }
    let (parts, _body) = response.into_parts();
    let mut fresh = respond(failure, responder, Stage::Final);
    // Keep headers the handler added, except those describing the old body.
    let present: Vec<HeaderName> = fresh.headers().keys().cloned().collect();
    for (name, value) in &parts.headers {
        if name != CONTENT_TYPE && name != CONTENT_LENGTH && !present.contains(name) {
            fresh.headers_mut().append(name.clone(), value.clone());
        }
    }
    fresh
}

/// An empty 500, for a future polled after completion.
pub(crate) fn internal_error() -> Response {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    response
}

fn respond(failure: AuthFailure, responder: &dyn ErrorResponder, stage: Stage) -> Response {
    let mut response = responder.respond(&failure);
    *response.status_mut() = failure.status();
    let headers = response.headers_mut();
    headers.remove(WWW_AUTHENTICATE);
    if let Some(challenge) = failure.www_authenticate() {
        headers.insert(WWW_AUTHENTICATE, challenge.clone());
    }
    headers.remove(RETRY_AFTER);
    if let Some(seconds) = failure.retry_after() {
        headers.insert(RETRY_AFTER, HeaderValue::from(seconds));
    }
    if let Ok(id) = HeaderValue::from_str(failure.request_id()) {
        headers.insert(X_REQUEST_ID, id);
    }
    response.extensions_mut().insert(Rendered {
        error: failure.error,
        stage,
    });
    response
}

fn log(failure: &AuthFailure) {
    if let AuthErrorKind::Validation(e) = &*failure.error.kind
        && e.code().is_server_side()
    {
        tracing::warn!(
            request_id = %failure.request_id,
            code = failure.code(),
            cause = %e,
            "cannot validate access tokens: signing keys are unavailable"
        );
        return;
    }
    tracing::debug!(
        request_id = %failure.request_id,
        status = failure.status().as_u16(),
        code = failure.code(),
        message = %failure.message(),
        "request refused"
    );
}

/// The RFC 6750 challenge with an error code, optional scopes and a
/// description.
fn challenge(error: &str, scopes: Option<&[String]>, description: &str) -> String {
    let mut value = format!("Bearer error=\"{error}\"");
    let mut tokens: Vec<String> = Vec::new();
    for token in scopes.unwrap_or_default().iter().map(|s| scope_token(s)) {
        // Alternatives may name the same role twice.
        if !token.is_empty() && !tokens.contains(&token) {
            tokens.push(token);
        }
    }
    let scope = tokens.join(" ");
    if !scope.is_empty() {
        value.push_str(&format!(", scope=\"{scope}\""));
    }
    value.push_str(&format!(
        ", error_description=\"{}\"",
        description_text(description)
    ));
    value
}

/// A value for `error_description`: RFC 6750 §3 allows only
/// `%x20-21 / %x23-5B / %x5D-7E`, so `"` becomes `'`, `\` becomes `/`,
/// control characters are dropped, anything else becomes `?`, and the text
/// is cut to [`MAX_DESCRIPTION`] characters.
fn description_text(text: &str) -> String {
    let mut out: String = text
        .chars()
        .filter(|c| !c.is_control())
        .map(|c| match c {
            '"' => '\'',
            '\\' => '/',
            ' '..='~' => c,
            _ => '?',
        })
        .take(MAX_DESCRIPTION + 1)
        .collect();
    if out.len() > MAX_DESCRIPTION {
        out.truncate(MAX_DESCRIPTION - 3);
        out.push_str("...");
    }
    out
}

/// A `scope-token` (RFC 6750 §3: `%x21 / %x23-5B / %x5D-7E`): other
/// characters are dropped.
fn scope_token(scope: &str) -> String {
    scope
        .chars()
        .filter(|c| matches!(c, '!' | '#'..='[' | ']'..='~'))
        .collect()
}

/// What a failure looks like on the wire.
#[derive(Debug, Clone)]
struct Wire {
    status: StatusCode,
    code: &'static str,
    title: &'static str,
    message: String,
    hint: String,
    challenge: Option<String>,
    retry_after: Option<u32>,
}

/// `Retry-After` for 503 answers, in seconds: the validator's default
/// back-off between key fetch attempts.
const RETRY_AFTER_SECONDS: u32 = 10;

/// Longest `error_description`, in characters.
const MAX_DESCRIPTION: usize = 300;

const PROBLEM_JSON: &str = "application/problem+json";

#[cfg(test)]
mod tests;
