//! The accept loop and per-connection HTTP, with limits that keep stalled
//! or idle clients from holding connections (and file descriptors).
//!
//! A connection goes through three phases, each bounded:
//!
//! 1. TLS handshake: [`ServeLimits::handshake_timeout`].
//! 2. HTTP, chosen by ALPN (`h2` or `http/1.1`; without ALPN, by the first
//!    bytes). HTTP/1.1 headers must arrive within
//!    [`ServeLimits::header_read_timeout`], each request body within
//!    [`ServeLimits::body_read_timeout`] (else 408) and hold at most
//!    [`ServeLimits::max_request_body`] bytes (else 413). HTTP/2 pings the
//!    client to notice peers that have gone away.
//! 3. Closing: a connection with no request in progress for
//!    [`ServeLimits::idle_timeout`] is shut down gracefully (HTTP/2 sends
//!    GOAWAY), and dropped if that takes longer than
//!    [`ServeLimits::close_grace`].
//!
//! At most [`ServeLimits::max_connections`] connections are served at
//! once. Past that the server stops accepting: new connections wait in the
//! kernel's accept queue, and are served, in order, as soon as an open
//! connection closes. Every stalled connection closes within the limits
//! above, so a legitimate client is delayed, never refused.

use std::convert::Infallible;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::ConnectInfo;
use axum::http::{HeaderValue, StatusCode, Version, header};
use axum::response::{IntoResponse as _, Response};
use hyper::Request;
use hyper::body::{Body as _, Frame, Incoming, SizeHint};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::task::JoinSet;
use tokio::time::{Instant, Sleep};
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt as _;

/// Limits on the connections [`serve_tls`] serves. The defaults suit a
/// provider on a developer machine or in CI: generous for real clients,
/// and short enough that a client which stalls at any step gives its
/// connection back within seconds.
///
/// # Security
/// Without these limits a few hundred connections that open and then go
/// quiet exhaust the process's file descriptors, and every later token
/// request times out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServeLimits {
    /// Most connections served at once (default 512, half the common
    /// 1,024 descriptor limit, leaving room for the database and files).
    /// Further connections wait in the kernel's accept queue until one
    /// closes.
    pub max_connections: usize,
    /// Time for the TLS handshake (default 10 s).
    pub handshake_timeout: Duration,
    /// Time for an HTTP/1.1 request's headers (default 10 s). hyper runs
    /// this timer from the moment a keep-alive connection waits for its
    /// next request, so an idle HTTP/1.1 connection closes after the
    /// shorter of this and [`idle_timeout`](Self::idle_timeout).
    pub header_read_timeout: Duration,
    /// Time for a whole request body, from the request's start (default
    /// 30 s). A body that does not arrive in time gets 408 and, on
    /// HTTP/1.1, the connection is closed.
    pub body_read_timeout: Duration,
    /// Largest request body in bytes (default 1 MiB; the largest
    /// legitimate request, a token request with a client assertion, is a
    /// few KiB). Larger bodies get 413, on HTTP/1.1 and HTTP/2 alike.
    pub max_request_body: usize,
    /// A connection with no request in progress for this long is closed
    /// (default 30 s); HTTP/2 connections get a GOAWAY first.
    pub idle_timeout: Duration,
    /// Interval between HTTP/2 keep-alive pings (default 20 s).
    pub http2_ping_interval: Duration,
    /// An HTTP/2 ping unanswered for this long closes the connection
    /// (default 10 s).
    pub http2_ping_timeout: Duration,
    /// How long a closing connection (idle, or the server stopping) may
    /// take to finish its requests before it is dropped (default 10 s).
    pub close_grace: Duration,
}

impl Default for ServeLimits {
    fn default() -> Self {
        Self {
            max_connections: 512,
            handshake_timeout: Duration::from_secs(10),
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(30),
            max_request_body: 1 << 20,
            idle_timeout: Duration::from_secs(30),
            http2_ping_interval: Duration::from_secs(20),
            http2_ping_timeout: Duration::from_secs(10),
            close_grace: Duration::from_secs(10),
        }
    }
}

/// Serves an axum Router over TLS on a bound listener until `shutdown`
/// resolves, within `limits` (see [`ServeLimits`]).
///
/// Each connection is handled on its own task; handshake failures are
/// logged at debug level. Handlers can extract the peer address as
/// `ConnectInfo<SocketAddr>`. When `shutdown` resolves, the listener
/// closes, open connections finish their requests and close (idle ones at
/// once), and connections still busy after
/// [`ServeLimits::close_grace`] are dropped.
pub async fn serve_tls(
    listener: TcpListener,
    config: Arc<rustls::ServerConfig>,
    app: axum::Router,
    limits: ServeLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve(
        listener,
        Some(TlsAcceptor::from(config)),
        Arc::from(Vec::new()),
        app,
        limits,
        shutdown,
    )
    .await
}

/// [`serve_tls`] without TLS: plain HTTP/1.1 and HTTP/2 (prior knowledge),
/// for a provider behind a load balancer that terminates TLS
/// (`rolegate idp --insecure-http --public-url https://…`). The same
/// limits apply; the TLS handshake limit has nothing to time.
///
/// A request arriving from one of `trusted_proxies` is attributed (as its
/// `ConnectInfo`, which the per-source limits key on) to the last address
/// its `X-Forwarded-For` names: the one that balancer appended. Addresses
/// further left are whatever the client wrote, and are ignored.
///
/// # Security
/// Everything the provider sends, tokens and session cookies included,
/// crosses the network in the clear between the balancer and this
/// listener: bind it where only the balancer reaches it.
pub async fn serve_plain(
    listener: TcpListener,
    app: axum::Router,
    limits: ServeLimits,
    trusted_proxies: Vec<Network>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve(
        listener,
        None,
        Arc::from(trusted_proxies),
        app,
        limits,
        shutdown,
    )
    .await
}

async fn serve(
    listener: TcpListener,
    acceptor: Option<TlsAcceptor>,
    trusted_proxies: Arc<[Network]>,
    app: axum::Router,
    limits: ServeLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let (stop, stopping) = watch::channel(false);
    let mut connections = JoinSet::new();
    let mut shutdown = pin!(shutdown);
    let mut saturated = false;
    loop {
        if slots.available_permits() == 0 && !saturated {
            tracing::warn!(
                limit = limits.max_connections,
                "connection limit reached; new connections wait until one closes"
            );
        }
        saturated = slots.available_permits() == 0;
        let permit = tokio::select! {
            () = &mut shutdown => break,
            permit = Arc::clone(&slots).acquire_owned() => permit,
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
        };
        // The semaphore is never closed, so acquiring cannot fail.
        let Ok(permit) = permit else { break };
        tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let connection = Connection {
                        acceptor: acceptor.clone(),
                        trusted_proxies: Arc::clone(&trusted_proxies),
                        peer,
                        app: app.clone(),
                        limits,
                        stopping: stopping.clone(),
                        _slot: permit,
                    };
                    connections.spawn(connection.serve(stream));
                }
                Err(e) => {
                    // Usually a connection reset before accept, or out of
                    // file descriptors: back off briefly rather than spin.
                    tracing::debug!(error = %e, "accept failed");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(listener);
    let _ = stop.send(true);
    let drained = tokio::time::timeout(limits.close_grace, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::debug!(
            open = connections.len(),
            "dropping connections still open at shutdown"
        );
        connections.abort_all();
    }
    Ok(())
}

/// One accepted connection and what serving it needs.
struct Connection {
    /// `None`: plain HTTP ([`serve_plain`]).
    acceptor: Option<TlsAcceptor>,
    /// Peers whose `X-Forwarded-For` names the client.
    trusted_proxies: Arc<[Network]>,
    peer: SocketAddr,
    app: axum::Router,
    limits: ServeLimits,
    stopping: watch::Receiver<bool>,
    /// Held until the connection ends; frees a place under
    /// [`ServeLimits::max_connections`].
    _slot: OwnedSemaphorePermit,
}

impl Connection {
    /// TLS handshake (unless plain), then HTTP until the client leaves,
    /// the connection idles out or the server stops.
    async fn serve(self, stream: TcpStream) {
        let peer = self.peer;
        let Some(acceptor) = self.acceptor.clone() else {
            return self.serve_http(stream, None).await;
        };
        let handshake = acceptor.accept(stream);
        let tls = match tokio::time::timeout(self.limits.handshake_timeout, handshake).await {
            Ok(Ok(tls)) => tls,
            Ok(Err(e)) => {
                tracing::debug!(%peer, error = %e, "TLS handshake failed");
                return;
            }
            Err(_) => {
                tracing::debug!(%peer, "TLS handshake timed out");
                return;
            }
        };
        let alpn = tls.get_ref().1.alpn_protocol().map(<[u8]>::to_vec);
        self.serve_http(tls, alpn).await;
    }

    /// HTTP on an established stream: the protocol ALPN chose, or (plain,
    /// no ALPN) the one the first bytes show.
    async fn serve_http<S>(mut self, stream: S, alpn: Option<Vec<u8>>)
    where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        let peer = self.peer;
        let limits = self.limits;
        let (activity, mut watcher) = watch::channel(Activity {
            in_flight: 0,
            idle_since: Instant::now(),
        });
        let requests = Arc::new(Requests {
            app: self.app,
            peer,
            forwarded: self.trusted_proxies.iter().any(|n| n.contains(peer.ip())),
            limits,
            activity,
        });
        let service =
            hyper::service::service_fn(move |request| Arc::clone(&requests).handle(request));
        let mut builder = Builder::new(TokioExecutor::new());
        builder
            .http1()
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_read_timeout);
        builder
            .http2()
            .timer(TokioTimer::new())
            .keep_alive_interval(limits.http2_ping_interval)
            .keep_alive_timeout(limits.http2_ping_timeout);
        // Following ALPN spares reading the first bytes to guess.
        let builder = match alpn.as_deref() {
            Some(b"h2") => builder.http2_only(),
            Some(b"http/1.1") => builder.http1_only(),
            _ => builder,
        };
        let mut connection = pin!(builder.serve_connection(TokioIo::new(stream), service));
        let reason = tokio::select! {
            result = connection.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(%peer, error = %e, "connection ended with an error");
                }
                return;
            }
            _ = self.stopping.changed() => "the server is stopping",
            () = idle(&mut watcher, limits.idle_timeout) => "idle",
        };
        tracing::debug!(%peer, reason, "closing connection");
        connection.as_mut().graceful_shutdown();
        match tokio::time::timeout(limits.close_grace, connection).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::debug!(%peer, error = %e, "connection ended with an error"),
            Err(_) => tracing::debug!(%peer, "dropping a connection that did not close in time"),
        }
    }
}

/// Requests in progress on one connection, and when the last one ended.
#[derive(Debug, Clone, Copy)]
struct Activity {
    in_flight: usize,
    idle_since: Instant,
}

/// Resolves once no request has been in progress for `timeout`.
async fn idle(watcher: &mut watch::Receiver<Activity>, timeout: Duration) {
    loop {
        let activity = *watcher.borrow_and_update();
        let changed = if activity.in_flight == 0 {
            tokio::select! {
                () = tokio::time::sleep_until(activity.idle_since + timeout) => return,
                changed = watcher.changed() => changed,
            }
        } else {
            watcher.changed().await
        };
        // The sender lives as long as the connection's service.
        if changed.is_err() {
            return;
        }
    }
}

/// What each request on a connection needs.
struct Requests {
    app: axum::Router,
    peer: SocketAddr,
    /// The peer is a trusted balancer: `X-Forwarded-For` names the client.
    forwarded: bool,
    limits: ServeLimits,
    activity: watch::Sender<Activity>,
}

impl Requests {
    /// One request: refuse a body announced over the limit, bound the
    /// body's size and arrival time, run the app, and answer 413 or 408
    /// when the body broke a limit.
    async fn handle(self: Arc<Self>, request: Request<Incoming>) -> Result<Response, Infallible> {
        self.activity
            .send_modify(|activity| activity.in_flight += 1);
        let _busy = Busy(&self.activity);
        let version = request.version();
        let limit = self.limits.max_request_body;
        if request.body().size_hint().lower() > u64::try_from(limit).unwrap_or(u64::MAX) {
            return Ok(refusal(BodyVerdict::TooLarge, &self.limits, version));
        }
        let verdict = Arc::new(AtomicU8::new(BodyVerdict::Fine as u8));
        let (parts, body) = request.into_parts();
        let body = match body.is_end_stream() {
            true => Body::empty(),
            false => Body::new(GuardedBody {
                inner: body,
                received: 0,
                limit,
                timeout: self.limits.body_read_timeout,
                deadline: Box::pin(tokio::time::sleep(self.limits.body_read_timeout)),
                verdict: Arc::clone(&verdict),
            }),
        };
        let source = match self.forwarded {
            true => forwarded_client(&parts.headers).map_or(self.peer, |ip| SocketAddr::new(ip, 0)),
            false => self.peer,
        };
        let mut request = Request::from_parts(parts, body);
        request.extensions_mut().insert(ConnectInfo(source));
        let Ok(response) = self.app.clone().oneshot(request).await;
        Ok(
            match BodyVerdict::from_u8(verdict.load(Ordering::Acquire)) {
                BodyVerdict::Fine => response,
                broken => refusal(broken, &self.limits, version),
            },
        )
    }
}

/// An address or a network (`10.0.0.0/8`, `fd00::/8`): the balancers whose
/// `X-Forwarded-For` [`serve_plain`] believes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Network {
    addr: IpAddr,
    prefix: u8,
}

impl Network {
    /// Whether `ip` is in the network.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            (IpAddr::V6(_), IpAddr::V4(ip)) => self.contains(IpAddr::V6(ip.to_ipv6_mapped())),
            (IpAddr::V4(_), IpAddr::V6(ip)) => ip
                .to_ipv4_mapped()
                .is_some_and(|ip| self.contains(IpAddr::V4(ip))),
        }
    }
}

impl From<IpAddr> for Network {
    fn from(addr: IpAddr) -> Self {
        Network {
            addr,
            prefix: if addr.is_ipv4() { 32 } else { 128 },
        }
    }
}

impl std::str::FromStr for Network {
    type Err = String;

    /// `IP` or `IP/prefix`.
    fn from_str(text: &str) -> Result<Self, String> {
        let (addr, prefix) = match text.split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (text, None),
        };
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| format!("{text:?} is not an IP address or network (e.g. 10.0.0.0/8)"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("{text:?}: the prefix length must be 0 to {max}"))?,
        };
        Ok(Network { addr, prefix })
    }
}

/// The last address of the last `X-Forwarded-For` header: the one the
/// balancer in front appended (RFC 7239 §5.2's model; the entries before
/// it come from the client and prove nothing).
fn forwarded_client(headers: &axum::http::HeaderMap) -> Option<IpAddr> {
    let last = headers.get_all("x-forwarded-for").iter().next_back()?;
    let entry = last.to_str().ok()?.rsplit(',').next()?.trim();
    entry
        .parse::<IpAddr>()
        .ok()
        .or_else(|| entry.parse::<SocketAddr>().ok().map(|a| a.ip()))
}

/// Marks a request finished, even when its future is dropped.
struct Busy<'a>(&'a watch::Sender<Activity>);

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        self.0.send_modify(|activity| {
            activity.in_flight = activity.in_flight.saturating_sub(1);
            if activity.in_flight == 0 {
                activity.idle_since = Instant::now();
            }
        });
    }
}

/// How a request body fared against the limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
enum BodyVerdict {
    Fine = 0,
    TimedOut = 1,
    TooLarge = 2,
}

impl BodyVerdict {
    fn from_u8(value: u8) -> Self {
        match value {
            1 => Self::TimedOut,
            2 => Self::TooLarge,
            _ => Self::Fine,
        }
    }
}

/// Why a request body was cut off.
#[derive(Debug, thiserror::Error)]
enum BodyError {
    #[error("reading the request body failed: {0}")]
    Read(#[source] hyper::Error),
    #[error("request body not received within {0:?}")]
    TimedOut(Duration),
    #[error("request body larger than {0} bytes")]
    TooLarge(usize),
}

/// A request body cut off when it passes `limit` bytes or has not ended
/// by `deadline`; the verdict tells the connection which answer to give.
struct GuardedBody {
    inner: Incoming,
    received: usize,
    limit: usize,
    timeout: Duration,
    deadline: Pin<Box<Sleep>>,
    verdict: Arc<AtomicU8>,
}

impl GuardedBody {
    fn fail(
        &self,
        verdict: BodyVerdict,
        error: BodyError,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        self.verdict.store(verdict as u8, Ordering::Release);
        Poll::Ready(Some(Err(error)))
    }
}

impl hyper::body::Body for GuardedBody {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                let length = frame.data_ref().map_or(0, Bytes::len);
                this.received = this.received.saturating_add(length);
                match this.received > this.limit {
                    true => this.fail(BodyVerdict::TooLarge, BodyError::TooLarge(this.limit)),
                    false => Poll::Ready(Some(Ok(frame))),
                }
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(BodyError::Read(e)))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => match this.deadline.as_mut().poll(cx) {
                Poll::Ready(()) => {
                    this.fail(BodyVerdict::TimedOut, BodyError::TimedOut(this.timeout))
                }
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// 413 or 408 as a small OAuth-style JSON error. On HTTP/1.1 the
/// connection is closed after it, since the rest of the body is unread.
fn refusal(verdict: BodyVerdict, limits: &ServeLimits, version: Version) -> Response {
    let (status, description) = match verdict {
        BodyVerdict::TimedOut => (
            StatusCode::REQUEST_TIMEOUT,
            format!(
                "request body not received within {} s",
                limits.body_read_timeout.as_secs_f32()
            ),
        ),
        BodyVerdict::Fine | BodyVerdict::TooLarge => (
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "AADSTS{BODY_TOO_LARGE_CODE}: request body too large (limit {} bytes)",
                limits.max_request_body
            ),
        ),
    };
    let body = serde_json::json!({
        "error": "invalid_request",
        "error_description": description,
    });
    let mut response = (status, axum::Json(body)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if version < Version::HTTP_2 {
        headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);
/// The AADSTS code in the 413 answer's description.
const BODY_TOO_LARGE_CODE: u32 = 90_015;
