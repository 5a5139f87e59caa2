//! The parts of `rolegate demo`: the role-aware Orders API ([`api`]), the
//! tenant the demo's identity provider starts with ([`tenant`]) and the
//! browser app's files ([`assets`]). The `rolegate` binary wires them
//! together (provider, API under `/api`, app under `/demo/`); the
//! `orders-api` example serves the API on its own.
//!
//! ```
//! use rolegate_token::{Validator, ValidatorConfig};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let authority = format!("https://localhost:8443/{}", rolegate_demo::tenant::TENANT_ID);
//! let validator = Validator::new(ValidatorConfig::entra_authority(
//!     authority,
//!     rolegate_demo::tenant::API,
//! ))?;
//! let app: axum::Router = axum::Router::new()
//!     .nest("/api", rolegate_demo::api::router(validator))
//!     .route("/demo/", axum::routing::get(|| async { rolegate_demo::assets::INDEX_HTML }));
//! # let _ = app;
//! # Ok(())
//! # }
//! ```

pub mod api;
pub mod assets;
pub mod tenant;
