//! Accept loops and per-connection HTTP (1.1 and 2, chosen by the first
//! bytes), with the limits of `rolegate idp`'s server: a cap on open
//! connections and an idle timeout after which a connection with no request
//! in progress is closed (HTTP/2 gets GOAWAY). The idle timeout also bounds
//! slow request headers (a request counts as in progress once its headers
//! are complete), so hyper's own header-read timer, which costs a timer
//! and an allocation per request, is off.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;

use http::{Request, Response};
use hyper::body::{Frame, Incoming, SizeHint};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_rustls::TlsAcceptor;

use crate::{Body, BoxError};

/// Serves `handler` on `listener` until `stop` turns true; then closes
/// the listener, lets open requests finish for up to [`CLOSE_GRACE`] and
/// drops what is left.
pub(crate) async fn serve<H, F>(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    handler: H,
    idle_timeout: impl Fn() -> Duration + Send + Sync + 'static,
    mut stop: watch::Receiver<bool>,
) where
    H: Fn(SocketAddr, Request<Incoming>) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Response<Body>> + Send + 'static,
{
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let idle_timeout = Arc::new(idle_timeout);
    let mut connections = JoinSet::new();
    let connection_stop = stop.clone();
    loop {
        let permit = tokio::select! {
            () = stopped(&mut stop) => break,
            permit = Arc::clone(&slots).acquire_owned() => permit,
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
        };
        // The semaphore is never closed.
        let Ok(permit) = permit else { break };
        tokio::select! {
            () = stopped(&mut stop) => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let _ = stream.set_nodelay(true);
                    connections.spawn(handshake_and_serve(
                        stream,
                        peer,
                        tls.clone(),
                        handler.clone(),
                        idle_timeout(),
                        connection_stop.clone(),
                        permit,
                    ));
                }
                Err(e) => {
                    tracing::debug!(error = %e, "accept failed");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(listener);
    let drained = tokio::time::timeout(CLOSE_GRACE, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        connections.abort_all();
    }
}

/// The TLS handshake (bounded by [`HANDSHAKE_TIMEOUT`]) when the listener
/// has TLS, then HTTP.
async fn handshake_and_serve<H, F>(
    stream: TcpStream,
    peer: SocketAddr,
    tls: Option<TlsAcceptor>,
    handler: H,
    idle_timeout: Duration,
    stop: watch::Receiver<bool>,
    slot: OwnedSemaphorePermit,
) where
    H: Fn(SocketAddr, Request<Incoming>) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Response<Body>> + Send + 'static,
{
    let Some(acceptor) = tls else {
        return connection(stream, peer, handler, idle_timeout, stop, slot).await;
    };
    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
        Ok(Ok(stream)) => connection(stream, peer, handler, idle_timeout, stop, slot).await,
        Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
        Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
    }
}

/// HTTP on one connection until the client leaves, it idles out, or the
/// server stops. HTTP/1.1 or HTTP/2, from the first bytes.
async fn connection<I, H, F>(
    stream: I,
    peer: SocketAddr,
    handler: H,
    idle_timeout: Duration,
    mut stop: watch::Receiver<bool>,
    _slot: OwnedSemaphorePermit,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    H: Fn(SocketAddr, Request<Incoming>) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Response<Body>> + Send + 'static,
{
    let activity = Arc::new(Activity::new());
    let watched = Arc::clone(&activity);
    let closing = Arc::clone(&activity);
    let service = hyper::service::service_fn(move |request| {
        let handler = handler.clone();
        let busy = Busy::start(&activity);
        async move {
            let response = handler(peer, request).await;
            // The request stays in progress until its body has been sent.
            Ok::<_, Infallible>(response.map(|inner| TrackedBody { inner, _busy: busy }))
        }
    });
    let mut builder = Builder::new(TokioExecutor::new());
    builder.http1().header_read_timeout(None);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(HTTP2_PING_INTERVAL)
        .keep_alive_timeout(HTTP2_PING_TIMEOUT);
    // With upgrades: after a 101 (a WebSocket the proxy spliced), this
    // future ends and the tunnel runs on in its own task until either
    // side closes it.
    let mut connection =
        pin!(builder.serve_connection_with_upgrades(TokioIo::new(stream), service));
    // The stop signal and the idle timer are awaited in a task of their
    // own, which says when to close through a oneshot: this task then polls
    // only the connection and the oneshot, not a timer and a watch channel
    // at every wake-up. The watcher ends with the connection.
    let (mut close_tx, mut close_rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        tokio::select! {
            () = stopped(&mut stop) => {}
            () = idle(&watched, idle_timeout) => {}
            () = close_tx.closed() => return,
        }
        let _ = close_tx.send(());
    });
    tokio::select! {
        biased;
        result = connection.as_mut() => {
            if let Err(e) = result {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
            return;
        }
        _ = &mut close_rx => {}
    }
    connection.as_mut().graceful_shutdown();
    // Requests in progress may finish (up to CLOSE_GRACE); a connection
    // with none is dropped within a step, even if it holds part of a
    // request's headers (a slow client is not waited for).
    let limit = Instant::now() + CLOSE_GRACE;
    loop {
        let step = (Instant::now() + CLOSE_STEP).min(limit);
        if tokio::time::timeout_at(step, connection.as_mut())
            .await
            .is_ok()
            || Instant::now() >= limit
            || closing.in_flight.load(Ordering::Acquire) == 0
        {
            return;
        }
    }
}

/// Requests in progress on one connection, and when the last one ended.
/// Plain atomics: requests only count themselves in and out; the idle
/// timer reads them when it fires (no wake-up per request).
#[derive(Debug)]
struct Activity {
    in_flight: AtomicUsize,
    /// When the connection last became idle, in nanoseconds after `base`.
    idle_since: AtomicU64,
    base: Instant,
}

impl Activity {
    fn new() -> Activity {
        Activity {
            in_flight: AtomicUsize::new(0),
            idle_since: AtomicU64::new(0),
            base: Instant::now(),
        }
    }

    fn idle_since(&self) -> Instant {
        self.base + Duration::from_nanos(self.idle_since.load(Ordering::Acquire))
    }
}

/// Resolves once no request has been in progress for `timeout`.
async fn idle(activity: &Activity, timeout: Duration) {
    let mut deadline = activity.idle_since() + timeout;
    loop {
        tokio::time::sleep_until(deadline).await;
        if activity.in_flight.load(Ordering::Acquire) > 0 {
            // Checked again `timeout` from now; the deadline moves on once
            // the connection is idle.
            deadline = Instant::now() + timeout;
            continue;
        }
        let due = activity.idle_since() + timeout;
        if due <= Instant::now() {
            return;
        }
        deadline = due;
    }
}

/// Marks a request finished, even when its future is dropped.
struct Busy(Arc<Activity>);

impl Busy {
    fn start(activity: &Arc<Activity>) -> Busy {
        activity.in_flight.fetch_add(1, Ordering::AcqRel);
        Busy(Arc::clone(activity))
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        let activity = &self.0;
        // The time first: a timer that sees no request in flight then
        // reads this end (or a later one), never an earlier idle period.
        let since = Instant::now().saturating_duration_since(activity.base);
        let nanos = u64::try_from(since.as_nanos()).unwrap_or(u64::MAX);
        activity.idle_since.fetch_max(nanos, Ordering::AcqRel);
        activity.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A response body that keeps its request counted as in progress until
/// it has been sent (or dropped).
struct TrackedBody {
    inner: Body,
    _busy: Busy,
}

impl hyper::body::Body for TrackedBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Most connections served at once; more wait in the accept queue.
const MAX_CONNECTIONS: usize = 4096;
/// Time for a TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
const HTTP2_PING_INTERVAL: Duration = Duration::from_secs(20);
const HTTP2_PING_TIMEOUT: Duration = Duration::from_secs(10);
/// How long open requests may run on at shutdown.
pub(crate) const CLOSE_GRACE: Duration = Duration::from_secs(10);
/// How long a closing connection without a request in progress is given
/// to end by itself.
const CLOSE_STEP: Duration = Duration::from_secs(1);
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// Resolves once `stop` is true (or its sender is gone).
pub(crate) async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}
