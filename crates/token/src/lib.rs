//! Entra ID-grade access-token validation and role/scope authorization.
//!
//! `rolegate-token` is the resource-server half of Microsoft Entra ID (and
//! any OpenID Connect issuer): it validates **access tokens** completely
//! (signature with keys from the authority's JWKS, issuer, tenant,
//! audience, lifetime), refuses **ID tokens** with an explanation, and
//! authorizes callers by app roles (`roles`), delegated scopes (`scp`) and
//! group membership (`groups`; a groups overage is refused by name, never
//! read as "no groups").
//!
//! ```no_run
//! use rolegate_token::requirement::Requirement;
//! use rolegate_token::{Validator, ValidatorConfig};
//!
//! # async fn demo(token: &str) -> Result<(), Box<dyn std::error::Error>> {
//! let validator = Validator::new(
//!     ValidatorConfig::entra("72f988bf-86f1-41af-91ab-2d7cd011db47", "6e74172b-be56-4843-9ff4-e66a39bb12e3")
//!         .authority("https://localhost:8443/72f988bf-86f1-41af-91ab-2d7cd011db47"),
//! )?;
//! let caller = validator.validate(token).await?;
//! Requirement::any_role(["Orders.Admin"]).check(&caller)?;
//! # Ok(()) }
//! ```
//!
//! Modules, from the wire up: [`jws`] (strict compact JWS parsing, over a
//! strict JSON reader that refuses duplicate member names) and [`claims`]
//! (the claims validation reads, in one pass), [`jwk`] (keys), [`discovery`] and [`fetch`] (where keys come from),
//! [`keyset`] (caching and rotation), [`issuer`], [`audience`], [`kind`]
//! (access vs ID token), [`principal`], [`requirement`] and [`error`].
//!
//! # Security
//! - `none` and HMAC algorithms cannot even be represented
//!   ([`algorithm::Algorithm`]); Entra mode allows RS256 only.
//! - Keys come only from the configured authority; `jku`, `x5u`, `jwk` and
//!   `x5c` token headers are never used.
//! - Duplicate JSON member names, unknown `crit` extensions, JWE, and
//!   wrongly typed claims are refused.
//! - Errors never contain the token.

pub mod algorithm;
pub mod audience;
mod cache;
pub mod claims;
pub mod clock;
pub mod discovery;
pub mod error;
pub mod fetch;
mod hint;
pub mod id;
pub mod issuer;
// Not public API: reachable for the fuzz targets, benchmarks and property
// tests only (see the module's docs).
#[doc(hidden)]
pub mod json;
pub mod jwk;
pub mod jws;
pub mod keyset;
pub mod kind;
pub mod principal;
pub mod requirement;
mod validator;

pub use cache::CacheStats;
pub use error::{ErrorCode, ValidationError};
pub use principal::Principal;
pub use validator::{ConfigError, Diagnosis, ENTRA_PUBLIC_CLOUD, Validator, ValidatorConfig};
