//! Integration tests for rolegate-token against a real discovery + JWKS
//! server on a loopback port (rolegate-testkit).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

mod app_only;
mod common;
mod diagnose;
mod groups;
mod keys;
mod props;
mod refusals;
mod valid;
