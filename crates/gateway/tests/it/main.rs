//! Integration tests for rolegate-gateway: a real gateway on loopback in
//! front of a real upstream (an echo server that reports what it
//! received), with tokens signed by testkit keys and served by testkit's
//! discovery/JWKS issuer. Nothing is mocked.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod admin;
mod client;
mod forward_auth;
mod https_upstream;
mod identity;
mod pool;
mod refusals;
mod reload;
mod routes;
mod streaming;
mod support;
mod tls;
mod upstream;
mod websocket;
