//! One client request, from arrival to answer:
//!
//! ```text
//! request ─► request id ─► /.rolegate/auth…? ──yes──► forward_auth (decide, answer 200/401/403)
//!               │no
//!               ▼
//!          check_path ─── 400 invalid_path
//!          route::find ── 404 no_route
//!          decision::decide ── 400 / 401 / 403 / 503 (the library's answers)
//!          rewrite headers (strip X-Rolegate-*, hop-by-hop, Authorization; add identity, X-Forwarded-*)
//!          upstream call (pooled; header timeout) ── 502 upstream_unavailable / 504 upstream_timeout
//!          response (hop-by-hop removed, body streamed) ─► client
//! ```

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http::header::AUTHORIZATION;
use http::{HeaderValue, Request, Response, Version};
use http_body_util::BodyExt as _;
use hyper::body::Incoming;
use rolegate_axum::AuthError;
use tokio::time::Instant;

use crate::decision::{self, X_REQUEST_ID};
use crate::error::GatewayError;
use crate::forward_auth;
use crate::headers;
use crate::route::{self, Route};
use crate::{Body, Runtime, Shared};

/// Answers one request. Never fails: every failure is a response.
pub(crate) async fn handle(
    shared: Arc<Shared>,
    peer: SocketAddr,
    scheme: &'static str,
    request: Request<Incoming>,
) -> Response<Body> {
    let started = Instant::now();
    // One configuration for the whole request, even if a reload lands now.
    let runtime = shared.runtime.load_full();
    let request_id = decision::request_id(request.headers());
    let id = request_id.to_str().unwrap_or_default().to_owned();
    let mut response = if forward_auth::is_forward_auth(request.uri().path()) {
        forward_auth::answer(&shared, &runtime, &id, &request, started).await
    } else {
        let downstream = Downstream { peer, scheme };
        proxy(&shared, &runtime, &id, downstream, request, started).await
    };
    response.headers_mut().insert(X_REQUEST_ID, request_id);
    response
}

/// Judges and forwards a request.
async fn proxy(
    shared: &Shared,
    runtime: &Runtime,
    id: &str,
    downstream: Downstream,
    request: Request<Incoming>,
    started: Instant,
) -> Response<Body> {
    let route = match select_route(runtime, request.method(), request.uri().path(), false) {
        Ok(route) => route,
        Err(refusal) => {
            shared.metrics.request(&no_route_label(), refusal.code());
            shared.metrics.overhead(started.elapsed());
            return refusal.into_response(id);
        }
    };
    let label = route.pattern.shared();
    let validator = &runtime.config.validator;
    let caller = match decision::decide(route, validator, request.headers()).await {
        Ok(caller) => caller,
        Err(refusal) => {
            shared.metrics.request(&label, refusal.code());
            shared.metrics.overhead(started.elapsed());
            return render_refusal(refusal, id);
        }
    };
    shared.metrics.request(&label, "allowed");
    let (mut parts, body) = request.into_parts();
    let headers = &mut parts.headers;
    headers::remove_hop_by_hop(headers);
    decision::strip_identity(headers);
    if !runtime.config.auth.forward_token {
        headers.remove(AUTHORIZATION);
    }
    headers::add_forwarded(headers, downstream.peer.ip(), downstream.scheme, &parts.uri);
    if let Ok(value) = HeaderValue::from_str(id) {
        headers.insert(X_REQUEST_ID, value);
    }
    if let Some(caller) = &caller {
        decision::insert_identity(headers, caller);
    }
    parts.uri = match route.upstream.uri_for(parts.uri.path_and_query()) {
        Ok(uri) => uri,
        Err(e) => {
            let failure = GatewayError::UpstreamFailed {
                upstream: route.upstream.to_string(),
                detail: format!("cannot build the upstream URI: {e}"),
                unsent: true,
            };
            return failure.into_response(id);
        }
    };
    // The upstream connection is HTTP/1.1 whatever the client spoke.
    parts.version = Version::HTTP_11;
    let upstream_request = Request::from_parts(parts, body);
    shared.metrics.overhead(started.elapsed());
    forward(shared, runtime, route, &label, id, upstream_request).await
}

/// Sends the request upstream and streams the answer back.
async fn forward(
    shared: &Shared,
    runtime: &Runtime,
    route: &Route,
    label: &Arc<str>,
    id: &str,
    request: Request<Incoming>,
) -> Response<Body> {
    let sent = Instant::now();
    let outcome = tokio::time::timeout(route.timeout, runtime.client.request(request)).await;
    let failure = match outcome {
        Ok(Ok(response)) => {
            shared
                .metrics
                .upstream_response(label, response.status(), sent.elapsed());
            let (mut parts, body) = response.into_parts();
            headers::remove_hop_by_hop(&mut parts.headers);
            let body = body.map_err(Into::into).boxed_unsync();
            return Response::from_parts(parts, body);
        }
        Ok(Err(e)) => GatewayError::UpstreamFailed {
            upstream: route.upstream.to_string(),
            unsent: e.is_connect(),
            detail: error_chain(&e),
        },
        Err(_) => GatewayError::UpstreamTimeout {
            upstream: route.upstream.to_string(),
            seconds: route.timeout.as_secs(),
        },
    };
    shared.metrics.upstream_error(label, failure.code());
    failure.into_response(id)
}

/// Who sent the request, and over what.
#[derive(Debug, Clone, Copy)]
struct Downstream {
    peer: SocketAddr,
    /// `http` or `https`, for `X-Forwarded-Proto`.
    scheme: &'static str,
}

/// The route for `method` on `path`, or the refusal: an ambiguous path or
/// no route.
pub(crate) fn select_route<'a>(
    runtime: &'a Runtime,
    method: &http::Method,
    path: &str,
    forward_auth: bool,
) -> Result<&'a Route, GatewayError> {
    route::check_path(path).map_err(|reason| GatewayError::InvalidPath { reason })?;
    route::find(&runtime.config.routes, method, path).ok_or_else(|| GatewayError::NoRoute {
        method: method.clone(),
        path: path.to_owned(),
        forward_auth,
    })
}

/// The library's RFC 6750 answer (status, `WWW-Authenticate`, JSON body
/// with `code`, `detail` and `hint`), with this request's id.
pub(crate) fn render_refusal(refusal: AuthError, id: &str) -> Response<Body> {
    use axum::response::IntoResponse as _;
    refusal
        .with_request_id(id)
        .into_response()
        .map(|body| body.map_err(Into::into).boxed_unsync())
}

/// The `route` label of requests that matched no route.
pub(crate) fn no_route_label() -> Arc<str> {
    Arc::from("")
}

/// An error and its causes, for the log.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// An empty body.
pub(crate) fn empty() -> Body {
    http_body_util::Empty::<Bytes>::new()
        .map_err(|never| match never {})
        .boxed_unsync()
}
