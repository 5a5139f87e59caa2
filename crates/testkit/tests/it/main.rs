//! Integration tests for rolegate-testkit: tokens verify with aws-lc-rs using
//! only the published JWKs, and the issuer server answers like Entra.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod issuer;
mod keys;
