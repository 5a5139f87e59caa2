//! Tower middleware and axum extractors over
//! [`rolegate-token`](rolegate_token): Entra ID-style access-token
//! validation and role-based authorization for axum APIs.
//!
//! ```
//! use axum::Router;
//! use axum::routing::{get, post};
//! use rolegate_axum::extract::Auth;
//! use rolegate_axum::{AuthLayer, RequireLayer};
//! use rolegate_token::requirement::Requirement;
//! use rolegate_token::{Validator, ValidatorConfig};
//!
//! async fn me(Auth(caller): Auth) -> String {
//!     format!("{:?} in tenant {:?}", caller.object_id(), caller.tenant_id())
//! }
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // Keys and issuers come from the tenant's discovery document on first use.
//! let validator = Validator::new(ValidatorConfig::entra(
//!     "72f988bf-86f1-41af-91ab-2d7cd011db47", // tenant
//!     "6e74172b-be56-4843-9ff4-e66a39bb12e3", // the API's client id
//! ))?;
//! let app: Router = Router::new()
//!     .route("/me", get(me))
//!     .route(
//!         "/orders",
//!         post(|| async { "created" })
//!             .route_layer(RequireLayer::new(Requirement::any_role(["Orders.Admin"]))),
//!     )
//!     .layer(AuthLayer::new(validator));
//! # let _ = app;
//! # Ok(())
//! # }
//! ```
//!
//! - [`AuthLayer`] authenticates: a missing token is 401 with a bare
//!   `WWW-Authenticate: Bearer`, a malformed `Authorization` header 400
//!   `invalid_request`, a refused token 401 `invalid_token`, unreachable
//!   signing keys 503 with `Retry-After`. It can also authorize
//!   ([`AuthLayer::require`]).
//! - [`RequireLayer`] authorizes one route or sub-router: 403
//!   `insufficient_scope` with the `scope` that would have sufficed.
//! - [`extract::Auth`], [`extract::MaybeAuth`] and
//!   [`extract::RequestId`] hand the caller to handlers;
//!   [`Auth::require`](extract::Auth::require) checks a requirement per
//!   request.
//! - [`AuthError`] is the one error type; [`response`] describes the wire
//!   format (RFC 6750 challenges, RFC 9457 problem details) and how to
//!   change the body with an [`ErrorResponder`](response::ErrorResponder).
//! - [`bearer`] parses the `Authorization` header.
//!
//! # Security
//! - The token never appears in a response, an error message or a log line.
//! - The `Authorization` scheme is matched case-insensitively (RFC 9110);
//!   anything but exactly one well-formed bearer token is refused, even in
//!   optional mode.
//! - Mark `Authorization` as a sensitive header before any tracing layer
//!   (tower-http's `SetSensitiveRequestHeadersLayer`).

pub mod auth;
pub mod bearer;
pub mod extract;
mod request_id;
pub mod response;

pub use auth::{AuthLayer, RequireLayer};
pub use extract::{Auth, MaybeAuth};
pub use response::AuthError;
