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
//!          101 to a WebSocket upgrade ─► both connections spliced (bytes copied both ways)
//! ```

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http::header::{AUTHORIZATION, UPGRADE};
use http::{HeaderValue, Request, Response, StatusCode, Version};
use http_body_util::BodyExt as _;
use hyper::body::Incoming;
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use rolegate_axum::AuthError;
use tokio::time::Instant;

use crate::decision::{self, X_REQUEST_ID};
use crate::error::GatewayError;
use crate::forward_auth;
use crate::headers::{self, Added};
use crate::route::{self, Route};
use crate::{Body, RouteRuntime, Runtime, Shared};

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
    // Ids are visible ASCII (the caller's are checked): `to_str` succeeds.
    let id = request_id.to_str().unwrap_or_default();
    let mut response = if forward_auth::is_forward_auth(request.uri().path()) {
        forward_auth::answer(&shared, &runtime, id, &request, started).await
    } else {
        let downstream = Downstream { peer, scheme };
        proxy(&shared, &runtime, &request_id, downstream, request, started).await
    };
    response.headers_mut().insert(X_REQUEST_ID, request_id);
    response
}

/// Judges and forwards a request.
async fn proxy(
    shared: &Shared,
    runtime: &Runtime,
    request_id: &HeaderValue,
    downstream: Downstream,
    mut request: Request<Incoming>,
    started: Instant,
) -> Response<Body> {
    let id = request_id.to_str().unwrap_or_default();
    let (index, route) = match select_route(runtime, request.method(), request.uri().path(), false)
    {
        Ok(found) => found,
        Err(refusal) => {
            shared.metrics.request(&no_route_label(), refusal.code());
            shared.metrics.overhead(started.elapsed());
            return refusal.into_response(id);
        }
    };
    let Some(resolved) = runtime.routes.get(index) else {
        // The route table is built from the same list: unreachable.
        return GatewayError::NoRoute {
            method: request.method().clone(),
            path: request.uri().path().to_owned(),
            forward_auth: false,
        }
        .into_response(id);
    };
    let validator = &runtime.config.validator;
    let caller = match decision::decide(route, validator, request.headers()).await {
        Ok(caller) => caller,
        Err(refusal) => {
            shared.metrics.request(&resolved.label, refusal.code());
            shared.metrics.overhead(started.elapsed());
            return render_refusal(refusal, id);
        }
    };
    resolved.counters.allowed();
    // HTTP/1.1 only: HTTP/2's extended CONNECT (RFC 8441) is not relayed.
    let upgrade = match headers::websocket_upgrade(request.headers()) {
        Some(protocol) if request.version() == Version::HTTP_11 => {
            Some((protocol, hyper::upgrade::on(&mut request)))
        }
        _ => None,
    };
    let (mut parts, body) = request.into_parts();
    let headers = &mut parts.headers;
    headers::remove_hop_by_hop(headers);
    let client_upgrade = upgrade.map(|(protocol, on_upgrade)| {
        headers::set_upgrade(headers, protocol);
        on_upgrade
    });
    decision::strip_identity(headers);
    if !runtime.config.auth.forward_token {
        headers.remove(AUTHORIZATION);
    }
    let forwarded =
        headers::take_forwarded(headers, downstream.peer.ip(), downstream.scheme, &parts.uri);
    headers.remove(X_REQUEST_ID);
    // The gateway's own headers stay apart until the request is written.
    let added = Added {
        forwarded,
        request_id: request_id.clone(),
        identity: caller.as_ref().map(|caller| shared.identities.get(caller)),
    };
    parts.uri = match route.upstream.origin_uri_for(parts.uri.path_and_query()) {
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
    // One reading of the clock ends the overhead and starts the upstream
    // time.
    let sent = Instant::now();
    shared
        .metrics
        .overhead(sent.saturating_duration_since(started));
    let outgoing = Outgoing {
        request: Request::from_parts(parts, body),
        added,
        client_upgrade,
        sent,
    };
    forward(shared, Upstream { route, resolved }, id, outgoing).await
}

/// A request on its way upstream.
struct Outgoing {
    /// The client's request, rewritten (its body streams as it is sent).
    request: Request<Incoming>,
    /// The headers the gateway adds.
    added: Added,
    /// The client's side of a WebSocket upgrade it asked for.
    client_upgrade: Option<OnUpgrade>,
    /// When the gateway had decided and started to send it.
    sent: Instant,
}

/// Sends the request upstream and streams the answer back; splices the
/// connections when a WebSocket upgrade (`client_upgrade`) is accepted.
async fn forward(
    shared: &Shared,
    Upstream { route, resolved }: Upstream<'_>,
    id: &str,
    Outgoing {
        request,
        added,
        client_upgrade,
        sent,
    }: Outgoing,
) -> Response<Body> {
    let label = &resolved.label;
    let outcome = match client_upgrade {
        None => {
            let exchange = resolved.pool.send(request, added);
            match tokio::time::timeout(route.timeout, exchange).await {
                Ok(Ok(response)) => Ok(Ok(response.map(box_body))),
                Ok(Err(e)) => Ok(Err(e)),
                Err(elapsed) => Err(elapsed),
            }
        }
        Some(_) => {
            let exchange = resolved.pool.send_upgrade(request, added);
            match tokio::time::timeout(route.timeout, exchange).await {
                Ok(Ok(response)) => Ok(Ok(response.map(box_body))),
                Ok(Err(e)) => Ok(Err(e)),
                Err(elapsed) => Err(elapsed),
            }
        }
    };
    let failure = match outcome {
        Ok(Ok(mut response)) => {
            shared.metrics.upstream_response_on(
                &resolved.counters,
                response.status(),
                sent.elapsed(),
            );
            let switching = response.status() == StatusCode::SWITCHING_PROTOCOLS;
            let upgraded = match (switching, client_upgrade) {
                (true, Some(client)) => {
                    let protocol = response.headers().get(UPGRADE).cloned();
                    let upstream = hyper::upgrade::on(&mut response);
                    tokio::spawn(splice(client, upstream, id.to_owned()));
                    protocol.or_else(|| Some(HeaderValue::from_static("websocket")))
                }
                (true, None) => {
                    let failure = GatewayError::UpstreamFailed {
                        upstream: route.upstream.to_string(),
                        detail: "101 Switching Protocols to a request that asked for no upgrade"
                            .to_owned(),
                        unsent: false,
                    };
                    shared.metrics.upstream_error(label, failure.code());
                    return failure.into_response(id);
                }
                (false, _) => None,
            };
            let (mut parts, body) = response.into_parts();
            headers::remove_hop_by_hop(&mut parts.headers);
            if let Some(protocol) = upgraded {
                headers::set_upgrade(&mut parts.headers, protocol);
            }
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

/// Copies bytes both ways between the client's and the upstream's
/// upgraded connections until either side closes.
async fn splice(client: OnUpgrade, upstream: OnUpgrade, id: String) {
    let (client, upstream) = match tokio::join!(client, upstream) {
        (Ok(client), Ok(upstream)) => (client, upstream),
        (client, upstream) => {
            let failed = client.err().or(upstream.err());
            tracing::debug!(request_id = %id, error = ?failed, "upgrade not completed");
            return;
        }
    };
    let (mut client, mut upstream) = (TokioIo::new(client), TokioIo::new(upstream));
    match tokio::io::copy_bidirectional(&mut client, &mut upstream).await {
        Ok((sent, received)) => {
            tracing::debug!(request_id = %id, sent, received, "upgraded connection closed");
        }
        Err(e) => tracing::debug!(request_id = %id, error = %e, "upgraded connection failed"),
    }
}

/// The route an allowed request goes to, and its pool and counters.
#[derive(Clone, Copy)]
struct Upstream<'a> {
    route: &'a Route,
    resolved: &'a RouteRuntime,
}

/// Who sent the request, and over what.
#[derive(Debug, Clone, Copy)]
struct Downstream {
    peer: SocketAddr,
    /// `http` or `https`, for `X-Forwarded-Proto`.
    scheme: &'static str,
}

/// The route for `method` on `path` and its index, or the refusal: an
/// ambiguous path or no route.
pub(crate) fn select_route<'a>(
    runtime: &'a Runtime,
    method: &http::Method,
    path: &str,
    forward_auth: bool,
) -> Result<(usize, &'a Route), GatewayError> {
    route::check_path(path).map_err(|reason| GatewayError::InvalidPath { reason })?;
    let routes = &runtime.config.routes;
    let found = routes
        .iter()
        .enumerate()
        .find(|(_, route)| route.matches(method, path));
    found.ok_or_else(|| GatewayError::NoRoute {
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

/// An upstream body as the gateway's [`Body`].
fn box_body<B>(body: B) -> Body
where
    B: hyper::body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<crate::BoxError>,
{
    body.map_err(Into::into).boxed_unsync()
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
