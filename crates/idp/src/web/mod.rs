//! HTTP routes. Handlers stay thin: parse, call [`crate::protocol`], map
//! the result to a response.
//!
//! One module per page or endpoint group, each registering its routes from
//! the endpoint table ([`crate::protocol::endpoints`]): `metadata`
//! (discovery, keys, the authority and error pages), `token`, `userinfo`,
//! `device`, `authorize` (authorize, sign-in, consent) and `logout`;
//! `session` holds the session and CSRF cookies and the form checks,
//! `respond` the response helpers they share, [`pages`] the HTML.

mod authorize;
mod device;
mod forms;
mod graph;
mod logout;
mod metadata;
pub mod pages;
mod portal;
mod respond;
mod session;
mod token;
mod userinfo;

use std::net::IpAddr;
use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderMap, header};

use crate::protocol::Provider;

pub use respond::guid;

/// Shared state of the routes.
#[derive(Debug, Clone)]
pub struct WebState {
    /// The provider.
    pub provider: Arc<Provider>,
    /// The origin used when the request's `Host` is not a known name.
    pub default_origin: Arc<str>,
    /// Host names (without port) that may appear in issuers and endpoints.
    pub allowed_hosts: Arc<[String]>,
}

impl WebState {
    /// State for a provider reachable at `default_origin` (e.g.
    /// `https://localhost:8443`); `localhost`, `127.0.0.1` and `[::1]` on
    /// the same port are accepted as well.
    pub fn new(provider: Arc<Provider>, default_origin: &str) -> Self {
        Self {
            provider,
            default_origin: Arc::from(default_origin.trim_end_matches('/')),
            allowed_hosts: Arc::from(vec![
                "localhost".to_owned(),
                "127.0.0.1".to_owned(),
                "[::1]".to_owned(),
            ]),
        }
    }

    /// State for a provider behind a balancer, reached at `public_origin`
    /// only (`--public-url`): every issuer and endpoint names it, whatever
    /// `Host` a request carries.
    pub fn public(provider: Arc<Provider>, public_origin: &str) -> Self {
        Self {
            provider,
            default_origin: Arc::from(public_origin.trim_end_matches('/')),
            allowed_hosts: Arc::from(Vec::new()),
        }
    }

    /// The origin the client reached us at, if it is one of ours; issuers
    /// and endpoints are built from it (so `127.0.0.1` and `localhost`
    /// clients each see consistent metadata). Anything else falls back to
    /// the default origin: a forged `Host` cannot inject URLs.
    fn origin(&self, headers: &HeaderMap) -> String {
        let default_port = self.default_origin.rsplit(':').next().unwrap_or_default();
        let host = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or_default();
        let (name, port) = match host.rsplit_once(':') {
            Some((name, port)) if !name.is_empty() && !port.contains(']') => (name, port),
            _ => (host, ""),
        };
        if port == default_port
            && self
                .allowed_hosts
                .iter()
                .any(|h| h.eq_ignore_ascii_case(name))
        {
            format!("https://{name}:{port}")
        } else {
            self.default_origin.to_string()
        }
    }
}

/// The identity provider's router: every endpoint of
/// [`crate::protocol::endpoints`], each registered by the module that
/// serves it.
pub fn routes(state: WebState) -> Router {
    Router::new()
        .merge(metadata::routes())
        .merge(authorize::routes())
        .merge(token::routes())
        .merge(logout::routes())
        .merge(device::routes())
        .merge(userinfo::routes())
        .merge(graph::routes())
        .merge(portal::routes())
        .with_state(state)
}

/// The peer's address, when the server recorded it (`ConnectInfo`).
struct ClientAddr(Option<IpAddr>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr(
            parts
                .extensions
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map(|c| c.0.ip()),
        ))
    }
}

#[cfg(test)]
mod tests;
