//! The authentication middleware, [`AuthLayer`], and the per-route
//! authorization middleware, [`RequireLayer`].
//!
//! ```
//! use axum::Router;
//! use axum::routing::{delete, get};
//! use rolegate_axum::auth::{AuthLayer, RequireLayer};
//! use rolegate_token::requirement::Requirement;
//! use rolegate_token::{Validator, ValidatorConfig};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let validator = Validator::new(ValidatorConfig::entra(
//!     "72f988bf-86f1-41af-91ab-2d7cd011db47",
//!     "6e74172b-be56-4843-9ff4-e66a39bb12e3",
//! ))?;
//! let admin = Router::new()
//!     .route("/orders/{id}", delete(|| async { "deleted" }))
//!     .route_layer(RequireLayer::new(Requirement::any_role(["Orders.Admin"])));
//! let app = Router::new()
//!     .route("/orders", get(|| async { "orders" }))
//!     .merge(admin)
//!     // Outermost: every route above needs a valid access token.
//!     .layer(AuthLayer::new(validator));
//! # let _: Router = app;
//! # Ok(())
//! # }
//! ```
//!
//! [`AuthLayer`] reads the bearer token ([`bearer::token`](crate::bearer::token)),
//! validates it with a [`Validator`](rolegate_token::Validator), optionally
//! checks a [`Requirement`](rolegate_token::requirement::Requirement), and
//! puts the [`Principal`](rolegate_token::Principal) into the request
//! extensions for the [extractors](crate::extract). Refusals follow
//! RFC 6750; see [`response`](crate::response) for the exact mapping.
//!
//! An `AuthLayer` also renders every [`AuthError`](crate::AuthError)
//! returned below it (by a [`RequireLayer`], an extractor or a handler)
//! with its [`ErrorResponder`](crate::response::ErrorResponder) and the
//! caller's `x-request-id`, so one layer decides what all refusals look
//! like.
//!
//! # Security
//! - A present but malformed or invalid `Authorization` header is refused
//!   even in [optional](AuthLayer::optional) mode: a request is never
//!   silently downgraded to anonymous.
//! - Put `AuthLayer` outside any layer that logs request headers, after
//!   marking `Authorization` sensitive.

mod future;
mod layer;
mod service;

pub use future::{RequireFuture, ResponseFuture};
pub use layer::{AuthLayer, RequireLayer};
pub use service::{AuthService, RequireService};
