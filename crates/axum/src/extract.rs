//! Extractors for the caller established by an
//! [`AuthLayer`](crate::AuthLayer).
//!
//! ```
//! use axum::Json;
//! use rolegate_axum::AuthError;
//! use rolegate_axum::extract::{Auth, MaybeAuth};
//! use rolegate_token::requirement::Requirement;
//!
//! // 401 unless an AuthLayer validated a token.
//! async fn me(Auth(caller): Auth) -> String {
//!     format!("hello {}", caller.name().unwrap_or("stranger"))
//! }
//!
//! // Decide per request: 403 insufficient_scope unless the caller is an admin.
//! async fn purge(auth: Auth) -> Result<&'static str, AuthError> {
//!     auth.require(&Requirement::any_role(["Orders.Admin"]))?;
//!     Ok("purged")
//! }
//!
//! // Behind AuthLayer::optional: anonymous callers get `None`.
//! async fn home(MaybeAuth(caller): MaybeAuth) -> Json<bool> {
//!     Json(caller.is_some())
//! }
//! let app: axum::Router = axum::Router::new()
//!     .route("/me", axum::routing::get(me))
//!     .route("/purge", axum::routing::post(purge))
//!     .route("/", axum::routing::get(home));
//! # let _ = app;
//! ```

use std::convert::Infallible;
use std::ops::Deref;

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use http::request::Parts;
use rolegate_token::Principal;
use rolegate_token::requirement::Requirement;

use crate::request_id;
use crate::response::AuthError;

/// The authenticated caller. Rejects with 401 `missing_token` when the
/// request has no principal: no [`AuthLayer`](crate::AuthLayer) ran, or an
/// optional one saw no token.
#[derive(Debug, Clone, PartialEq)]
pub struct Auth(pub Principal);

impl Auth {
    /// Checks `requirement` for this request; the error renders as 403
    /// `insufficient_scope`.
    ///
    /// The error carries no request id of its own; behind an `AuthLayer`
    /// the response gets the caller's `x-request-id` (otherwise a random
    /// one).
    pub fn require(&self, requirement: &Requirement) -> Result<(), AuthError> {
        requirement.check(&self.0).map_err(AuthError::from)
    }
}

impl Deref for Auth {
    type Target = Principal;

    fn deref(&self) -> &Principal {
        &self.0
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Auth {
    type Rejection = AuthError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        match parts.extensions.get::<Principal>() {
            Some(principal) => Ok(Auth(principal.clone())),
            None => Err(AuthError::missing_token().with_request_id_from(&parts.headers)),
        }
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for Auth {
    type Rejection = Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        Ok(parts.extensions.get::<Principal>().cloned().map(Auth))
    }
}

/// The caller if a token was validated, `None` for anonymous requests
/// behind [`AuthLayer::optional`](crate::AuthLayer::optional). Never
/// rejects.
#[derive(Debug, Clone, PartialEq)]
pub struct MaybeAuth(pub Option<Principal>);

impl<S: Send + Sync> FromRequestParts<S> for MaybeAuth {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(MaybeAuth(parts.extensions.get::<Principal>().cloned()))
    }
}

/// The request id for a handler's own error bodies: the caller's
/// `x-request-id` when it is 1 to 64 visible ASCII characters, else 16
/// random hexadecimal digits. Never rejects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(pub String);

impl<S: Send + Sync> FromRequestParts<S> for RequestId {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(RequestId(request_id::from_headers_or_new(&parts.headers)))
    }
}
