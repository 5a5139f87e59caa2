//! The Orders API: a small role-aware API protected by Entra-style access
//! tokens, the sample that `rolegate demo` serves under `/api` and the
//! `orders-api` example binary serves on its own.
//!
//! ```
//! use rolegate_token::{Validator, ValidatorConfig};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let validator = Validator::new(
//!     ValidatorConfig::entra(
//!         "72f988bf-86f1-41af-91ab-2d7cd011db47",
//!         "6e74172b-be56-4843-9ff4-e66a39bb12e3",
//!     )
//!     .authority("https://localhost:8443/72f988bf-86f1-41af-91ab-2d7cd011db47"),
//! )?;
//! let app: axum::Router = rolegate_demo::api::router(validator);
//! # let _ = app;
//! # Ok(())
//! # }
//! ```
//!
//! | route | who may call | answer |
//! |---|---|---|
//! | `GET /me` | any valid access token | the caller's identity and grants |
//! | `GET /orders` | users with scope `access_as_user` and role `Orders.Read` or `Orders.Admin`; daemons with application permission `Orders.Read` or `Orders.Admin` | readers: their own orders; admins and daemons: all |
//! | `POST /orders` | role `Orders.Admin` | 201 and the order |
//! | `DELETE /orders/{id}` | role `Orders.Admin` | 204, or 404 |
//!
//! Refusals follow RFC 6750 (see [`rolegate_axum::response`]); the API's
//! own errors are RFC 9457 problem details too. CORS allows any origin, so
//! a single-page app served elsewhere can call the API and read the
//! `WWW-Authenticate` challenge.

mod error;
mod me;
mod orders;
pub mod store;

use std::sync::Arc;

use axum::Router;
use http::header::{AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};
use http::{HeaderName, Method};
use rolegate_axum::AuthLayer;
use rolegate_token::Validator;
use tower_http::cors::{Any, CorsLayer};

use self::store::Store;

/// The caller's identity.
pub const ME_PATH: &str = "/me";
/// The order collection.
pub const ORDERS_PATH: &str = "/orders";
/// One order.
pub const ORDER_PATH: &str = "/orders/{id}";

/// The delegated scope user tokens must carry.
pub const SCOPE: &str = "access_as_user";
/// App role: read orders (own orders for users, all for daemons).
pub const READ_ROLE: &str = "Orders.Read";
/// App role: read all orders, create and delete.
pub const ADMIN_ROLE: &str = "Orders.Admin";

/// The API over a store seeded with sample orders.
pub fn router(validator: Validator) -> Router {
    router_with_store(validator, Arc::new(Store::seeded()))
}

/// The API over `store`.
pub fn router_with_store(validator: Validator, store: Arc<Store>) -> Router {
    Router::new()
        .merge(me::routes())
        .merge(orders::routes(store))
        .layer(AuthLayer::new(validator))
        // Outside the AuthLayer: preflight requests carry no Authorization
        // header and must be answered here, and refusals need the CORS
        // headers too, or the browser hides the 401/403 from the app.
        .layer(cors())
}

fn cors() -> CorsLayer {
    CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([Method::GET, Method::POST, Method::DELETE])
        .allow_headers([AUTHORIZATION, CONTENT_TYPE])
        .expose_headers([WWW_AUTHENTICATE, HeaderName::from_static("x-request-id")])
}
