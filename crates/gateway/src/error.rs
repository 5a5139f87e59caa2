//! The gateway's own refusals and failures, and the one place they become
//! responses. Token and permission refusals are the library's
//! ([`rolegate_axum::AuthError`]) and are rendered by it.

use bytes::Bytes;
use http::header::{CACHE_CONTROL, CONTENT_TYPE};
use http::{HeaderValue, Method, Response, StatusCode};
use http_body_util::{BodyExt as _, Full};

use crate::Body;

/// Why the gateway answered itself instead of forwarding.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GatewayError {
    /// The request path could reach another route upstream (400).
    #[error("refused request path: {reason}")]
    InvalidPath {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A forward-auth request that does not describe the original request
    /// (400).
    #[error("forward-auth request without {missing}")]
    MissingOriginal {
        /// The header that was expected.
        missing: &'static str,
    },
    /// A forward-auth request describes the original request twice, and
    /// the descriptions disagree (or a header is repeated): a client added
    /// its own `X-Original-*` or `X-Forwarded-*` header. Refused (400).
    #[error("the original request is described twice, differently: {headers}")]
    ConflictingOriginal {
        /// The headers involved.
        headers: &'static str,
    },
    /// No route covers the request: 404 as a proxy, 403 in forward-auth
    /// mode (nginx `auth_request` turns anything but 2xx/401/403 into 500).
    #[error("no route covers {method} {path}")]
    NoRoute {
        /// The request's method.
        method: Method,
        /// The request's path.
        path: String,
        /// Whether the question came through forward-auth.
        forward_auth: bool,
    },
    /// The upstream could not be reached or broke the exchange (502).
    #[error("upstream {upstream} failed: {detail}")]
    UpstreamFailed {
        /// The upstream.
        upstream: String,
        /// What went wrong (logged, never sent to the client).
        detail: String,
        /// Whether the request never reached the upstream (no connection
        /// could be made).
        unsent: bool,
    },
    /// The upstream sent no response headers in time (504).
    #[error("upstream {upstream} sent no response headers within {seconds}s")]
    UpstreamTimeout {
        /// The upstream.
        upstream: String,
        /// The route's timeout.
        seconds: u64,
    },
}

/// Who caused a failure (pingora's `ErrorSource`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorSource {
    /// The client's request (4xx).
    Downstream,
    /// The upstream (502/504).
    Upstream,
}

impl GatewayError {
    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            GatewayError::InvalidPath { .. }
            | GatewayError::MissingOriginal { .. }
            | GatewayError::ConflictingOriginal { .. } => StatusCode::BAD_REQUEST,
            GatewayError::NoRoute {
                forward_auth: true, ..
            } => StatusCode::FORBIDDEN,
            GatewayError::NoRoute { .. } => StatusCode::NOT_FOUND,
            GatewayError::UpstreamFailed { .. } => StatusCode::BAD_GATEWAY,
            GatewayError::UpstreamTimeout { .. } => StatusCode::GATEWAY_TIMEOUT,
        }
    }

    /// The stable code in the body (and the `outcome` metric label).
    pub fn code(&self) -> &'static str {
        match self {
            GatewayError::InvalidPath { .. } => "invalid_path",
            GatewayError::MissingOriginal { .. } | GatewayError::ConflictingOriginal { .. } => {
                "invalid_request"
            }
            GatewayError::NoRoute { .. } => "no_route",
            GatewayError::UpstreamFailed { .. } => "upstream_unavailable",
            GatewayError::UpstreamTimeout { .. } => "upstream_timeout",
        }
    }

    /// Who caused it.
    pub fn source(&self) -> ErrorSource {
        match self {
            GatewayError::InvalidPath { .. }
            | GatewayError::MissingOriginal { .. }
            | GatewayError::ConflictingOriginal { .. }
            | GatewayError::NoRoute { .. } => ErrorSource::Downstream,
            GatewayError::UpstreamFailed { .. } | GatewayError::UpstreamTimeout { .. } => {
                ErrorSource::Upstream
            }
        }
    }

    /// Whether sending the same request again cannot repeat its effect:
    /// true only when the upstream never received it (no connection could
    /// be made). The gateway itself never retries.
    pub fn retry_safe(&self) -> bool {
        matches!(self, GatewayError::UpstreamFailed { unsent: true, .. })
    }

    /// What the client is told: upstream details stay in the log.
    pub fn detail(&self) -> String {
        match self {
            GatewayError::UpstreamFailed { .. } => {
                "the upstream service could not be reached or broke the connection".to_owned()
            }
            GatewayError::UpstreamTimeout { seconds, .. } => {
                format!("the upstream service did not answer within {seconds}s")
            }
            other => other.to_string(),
        }
    }

    /// What the client should change.
    pub fn hint(&self) -> &'static str {
        match self {
            GatewayError::InvalidPath { .. } => {
                "send the path in its normal form: no '.', '..' or empty segments, no encoded \
                 '/', '.' or '\\'"
            }
            GatewayError::MissingOriginal { .. } => {
                "nginx: proxy_set_header X-Original-URI $request_uri and X-Original-Method \
                 $request_method; Traefik and Caddy send X-Forwarded-Uri and X-Forwarded-Method"
            }
            GatewayError::ConflictingOriginal { .. } => {
                "the proxy in front must set the original method and URI itself and not pass a \
                 client's: behind Caddy or Traefik remove client-sent X-Original-Method and \
                 X-Original-URI (Caddy: header_up -X-Original-URI inside forward_auth)"
            }
            GatewayError::NoRoute { .. } => {
                "the gateway forwards only what its routes cover; check the method and path, or \
                 ask the operator to add a route"
            }
            GatewayError::UpstreamFailed { .. } | GatewayError::UpstreamTimeout { .. } => {
                "retry later; if this persists, the operator should check the upstream service"
            }
        }
    }

    /// The JSON answer `{"code","detail","hint","request_id"}`.
    pub fn into_response(self, request_id: &str) -> Response<Body> {
        match self.source() {
            ErrorSource::Upstream => tracing::warn!(request_id, error = %self, "upstream failure"),
            ErrorSource::Downstream => tracing::debug!(request_id, error = %self, "refused"),
        }
        let body = serde_json::json!({
            "code": self.code(),
            "detail": self.detail(),
            "hint": self.hint(),
            "request_id": request_id,
        });
        json_response(self.status(), body.to_string())
    }
}

/// A JSON response that is never cached.
pub(crate) fn json_response(status: StatusCode, body: String) -> Response<Body> {
    let mut response = Response::new(
        Full::new(Bytes::from(body))
            .map_err(|never| match never {})
            .boxed_unsync(),
    );
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_sources_and_retry_safety() {
        let unsent = GatewayError::UpstreamFailed {
            upstream: "http://127.0.0.1:1".to_owned(),
            detail: "connection refused".to_owned(),
            unsent: true,
        };
        assert_eq!(unsent.status(), StatusCode::BAD_GATEWAY);
        assert_eq!(unsent.source(), ErrorSource::Upstream);
        assert!(unsent.retry_safe());
        assert!(!unsent.detail().contains("127.0.0.1"));
        let broken = GatewayError::UpstreamFailed {
            upstream: "u".to_owned(),
            detail: "reset".to_owned(),
            unsent: false,
        };
        assert!(!broken.retry_safe());
        let no_route = |forward_auth| GatewayError::NoRoute {
            method: Method::GET,
            path: "/x".to_owned(),
            forward_auth,
        };
        assert_eq!(no_route(false).status(), StatusCode::NOT_FOUND);
        assert_eq!(no_route(true).status(), StatusCode::FORBIDDEN);
        assert_eq!(no_route(true).source(), ErrorSource::Downstream);
    }
}
