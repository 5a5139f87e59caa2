#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::disallowed_methods
)]
//! Test support for rolegate: keys, tokens and an identity-provider stand-in,
//! all generated at run time.
//!
//! Nothing here is a committed fixture. Every call to [`SigningKey::generate`]
//! makes a fresh key pair, the [`claims`] builders stamp tokens relative to
//! the current time, and [`IssuerServer`] serves Entra-shaped discovery and
//! JWKS documents from `127.0.0.1` on a port the OS picks.
//!
//! ```
//! use rolegate_testkit::{KeyKind, SigningKey, claims, jwks};
//!
//! let key = SigningKey::generate(KeyKind::EcP256).with_kid("test-key");
//! let tenant = claims::Tenant::new(
//!     "11111111-2222-3333-4444-555555555555",
//!     "https://login.microsoftonline.com/11111111-2222-3333-4444-555555555555/v2.0",
//! );
//! let token = key.sign(&claims::access_v2(
//!     &tenant,
//!     "api://orders",
//!     "client-app",
//!     "Orders.Read",
//!     &["Orders.Admin"],
//! ));
//! assert_eq!(token.split('.').count(), 3);
//! assert_eq!(jwks(&[&key])["keys"][0]["kid"], "test-key");
//! ```
//!
//! This crate is test code: it panics instead of returning errors, and it
//! can mint deliberately weak or malformed tokens for negative tests.

pub mod claims;
mod der;
mod issuer;
mod jws;
mod key;
pub mod postgres;

pub use issuer::IssuerServer;
pub use jws::{b64url, sign_hs256, unsigned};
pub use key::{KeyKind, SigningKey, jwks, weak_rsa_jwk};

/// Seconds since the Unix epoch, read from the system clock.
///
/// Tests use this to stamp `iat`, `nbf` and `exp`; the code under test takes
/// its time from a clock it is given.
pub fn unix_now() -> i64 {
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("system clock is after 1970");
    i64::try_from(since_epoch.as_secs()).expect("time fits in i64")
}
