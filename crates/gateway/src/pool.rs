//! The upstream client: HTTP/1.1 keep-alive connections, pooled per
//! upstream, and driven by the task that uses them.
//!
//! Requests without a body (most API calls) are exchanged by
//! [`h1`], the gateway's own HTTP/1.1 client side: one write of
//! the request head, the response read and parsed where it arrives.
//! Requests with a body (which must stream upstream while the answer may
//! already come back) and WebSocket upgrades go through
//! `hyper::client::conn::http1`. Each kind has its own idle connections;
//! the rules below hold for both.
//!
//! A hyper connection is a [`SendRequest`] and its [`Connection`] future (the
//! state machine that reads and writes the socket). Instead of running the
//! `Connection` in a task of its own (two task wake-ups and hand-offs per
//! request), the request's own task polls it: while waiting for the
//! response headers ([`Pool::send`]), then while the client reads the
//! response body ([`PooledBody`]). When the body has ended the connection
//! goes back to its pool; one whose exchange did not finish is closed.
//!
//! - **Idle connections** wait in a LIFO list per upstream, at most
//!   [`MAX_IDLE`] of them, for at most [`IDLE_TIMEOUT`]; a sweeper task
//!   closes expired ones and ones the upstream closed.
//! - **A connection the upstream closed** is noticed at checkout (its
//!   `Connection` future has ended) and never reused. A request that never
//!   left for a pooled connection that turned out closed (hyper hands it
//!   back) is sent again on another connection; one that was written is
//!   not retried (502).
//! - **Connect timeout**: each address is tried for `connect_timeout`.
//! - **WebSocket upgrades** ([`Pool::send_upgrade`]) get a connection whose
//!   `Connection` future runs in a task of its own (it must run on after
//!   the response, until the upgrade completes); it never returns to the
//!   pool.
//! - **`https://` upstreams**: TLS with rustls (the configuration of
//!   [`tls_client_config`](crate::upstream::tls_client_config)), host name
//!   checked, HTTP/1.1.
//!
//! Before its upstream write a request yields once to the other tasks
//! that are ready: requests that arrived together are then written to the
//! upstream together. On a core shared with the upstream, each write may
//! hand the core to the upstream at once; written together, more requests
//! are answered per such switch (on the bench's shared core: 475 instead
//! of 690 involuntary context switches per 1,000 requests).
//!
//! Wakers: the response future and the response body are only ever
//! advanced by polling the connection, so they are polled with a no-op
//! waker and only the connection registers the task's waker. A pooled
//! connection is polled with a no-op waker before it is put back, so an
//! idle connection never wakes the last task that used it.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::future::{Future, poll_fn};
use std::io;
use std::pin::{Pin, pin};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::HOST;
use http::uri::{Authority, Scheme};
use http::{HeaderValue, Request, Response};
use hyper::body::{Body as _, Frame, Incoming, SizeHint};
use hyper::client::conn::http1::{self, Connection, SendRequest};
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use crate::h1::{self, BodyReader, ExchangeError};
use crate::headers::Added;
use crate::upstream::Upstream;

/// The pools of every upstream of a configuration, shared by the
/// configurations that keep the same connect timeout and TLS settings.
#[derive(Clone)]
pub(crate) struct Client {
    inner: Arc<ClientInner>,
}

struct ClientInner {
    connect_timeout: Duration,
    tls: TlsConnector,
    pools: Mutex<HashMap<(Scheme, Authority), Arc<Pool>>>,
}

impl Client {
    /// A client whose connections time out after `connect_timeout` and
    /// check `https://` upstreams with `tls`.
    pub(crate) fn new(connect_timeout: Duration, tls: Arc<rustls::ClientConfig>) -> Client {
        Client {
            inner: Arc::new(ClientInner {
                connect_timeout,
                tls: TlsConnector::from(tls),
                pools: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// The pool of `upstream`'s connections (made on first use).
    pub(crate) fn pool(&self, upstream: &Upstream) -> Arc<Pool> {
        let scheme = if upstream.is_https() {
            Scheme::HTTPS
        } else {
            Scheme::HTTP
        };
        let key = (scheme, upstream.authority().clone());
        let mut pools = lock(&self.inner.pools);
        if let Some(pool) = pools.get(&key) {
            return Arc::clone(pool);
        }
        let pool = Pool::new(upstream, self.inner.connect_timeout, self.inner.tls.clone());
        pools.insert(key, Arc::clone(&pool));
        pool
    }
}

/// The connections to one upstream (scheme, host and port).
pub(crate) struct Pool {
    host: String,
    port: u16,
    /// `Some` for `https://` upstreams: the name the certificate must carry.
    server_name: Option<Result<ServerName<'static>, String>>,
    /// `Host` for every request (`host[:port]`, the port left out when it is
    /// the scheme's default, as `hyper`'s client did).
    host_header: Option<HeaderValue>,
    connect_timeout: Duration,
    tls: TlsConnector,
    /// Idle hyper connections (for requests with a body).
    idle: Mutex<VecDeque<Idle<Conn>>>,
    /// Idle connections of the gateway's own HTTP/1.1 exchange.
    direct: Mutex<VecDeque<Idle<DirectConn>>>,
}

/// A connection of the gateway's own HTTP/1.1 exchange ([`h1`]).
type DirectConn = h1::Connection<Stream>;

/// A pooled connection and when it was put back.
struct Idle<C> {
    conn: Box<C>,
    since: Instant,
}

/// A connection that can wait in a pool.
trait Reusable {
    /// Whether it is open and idle (polled without waking anybody).
    fn is_reusable(&mut self) -> bool;
}

impl Reusable for DirectConn {
    fn is_reusable(&mut self) -> bool {
        h1::Connection::is_reusable(self)
    }
}

impl Pool {
    fn new(upstream: &Upstream, connect_timeout: Duration, tls: TlsConnector) -> Arc<Pool> {
        let authority = upstream.authority();
        let https = upstream.is_https();
        let default_port = if https { 443 } else { 80 };
        let port = authority.port_u16().unwrap_or(default_port);
        // `host()` keeps an IPv6 literal's brackets.
        let host = authority.host();
        let bare = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host)
            .to_owned();
        let host_header = if port == default_port {
            HeaderValue::from_str(host).ok()
        } else {
            HeaderValue::from_str(authority.as_str()).ok()
        };
        let server_name = https.then(|| {
            ServerName::try_from(bare.clone())
                .map_err(|e| format!("{bare:?} is not a TLS server name: {e}"))
        });
        let pool = Arc::new(Pool {
            host: bare,
            port,
            server_name,
            host_header,
            connect_timeout,
            tls,
            idle: Mutex::new(VecDeque::new()),
            direct: Mutex::new(VecDeque::new()),
        });
        sweep_in_background(Arc::downgrade(&pool));
        pool
    }

    /// Sends `request` (origin-form URI) and returns the response as soon
    /// as its headers arrived; its body streams from the connection, which
    /// goes back to the pool when the body has ended.
    pub(crate) async fn send(
        self: &Arc<Self>,
        mut request: Request<Incoming>,
        added: Added,
    ) -> Result<Response<UpstreamBody>, UpstreamError> {
        yield_once().await;
        if h1::is_bodiless(request.headers(), request.body().is_end_stream()) {
            return self.send_bodiless(request, &added).await;
        }
        added.apply(request.headers_mut());
        self.set_host(&mut request);
        loop {
            let (mut conn, fresh) = match checkout(&self.idle) {
                Some(conn) => (conn, false),
                None => (self.connect().await?, true),
            };
            let mut sent = pin!(conn.sender.try_send_request(request));
            let outcome = poll_fn(|cx| conn.poll_response(cx, sent.as_mut())).await;
            match outcome {
                Ok(response) => {
                    let pool = Arc::clone(self);
                    return Ok(response.map(|body| {
                        UpstreamBody::Hyper(PooledBody {
                            body,
                            conn: Some(conn),
                            pool,
                        })
                    }));
                }
                Err(mut e) => match e.take_message() {
                    // It never left: the pooled connection was closed. A
                    // fresh connection that cannot take it is an error.
                    Some(unsent) if !fresh => request = unsent,
                    _ => return Err(UpstreamError::Http(e.into_error())),
                },
            }
        }
    }

    /// Sends a request without a body with [`h1`]. A pooled connection
    /// the upstream closed meanwhile is not an error: the request goes
    /// again on another connection when it cannot have been acted on (its
    /// write failed) or may be repeated (an idempotent method, RFC 9110
    /// §9.2.2, answered by a close before any byte). At most
    /// [`MAX_STALE`] pooled connections are tried, then a new one.
    async fn send_bodiless(
        self: &Arc<Self>,
        request: Request<Incoming>,
        added: &Added,
    ) -> Result<Response<UpstreamBody>, UpstreamError> {
        let (parts, _empty) = request.into_parts();
        let host = self.host_header.iter().map(|value| (&HOST_NAME, value));
        let head = h1::encode_request(&parts, host.chain(added.iter()));
        let mut stale = 0;
        loop {
            let pooled = if stale < MAX_STALE {
                checkout(&self.direct)
            } else {
                None
            };
            let reused = pooled.is_some();
            let mut conn = match pooled {
                Some(conn) => conn,
                None => Box::new(h1::Connection::new(self.connect_stream().await?)),
            };
            match conn.exchange(&head, &parts.method).await {
                Ok((response, reader)) => {
                    let body = DirectBody {
                        conn: Some(conn),
                        reader,
                        pool: Arc::clone(self),
                    };
                    return Ok(response.map(|()| UpstreamBody::Direct(body)));
                }
                Err(e)
                    if reused
                        && (e.is_unsent()
                            || (parts.method.is_idempotent()
                                && matches!(e, ExchangeError::Closed(_)))) =>
                {
                    stale += 1;
                }
                Err(e) => return Err(UpstreamError::Exchange(e)),
            }
        }
    }

    /// Sends a request that asks for an upgrade: the connection runs in a
    /// task of its own until the upgrade completes (or the exchange ends)
    /// and is never pooled.
    pub(crate) async fn send_upgrade(
        self: &Arc<Self>,
        mut request: Request<Incoming>,
        added: Added,
    ) -> Result<Response<Incoming>, UpstreamError> {
        added.apply(request.headers_mut());
        self.set_host(&mut request);
        let mut conn = match checkout(&self.idle) {
            Some(conn) => conn,
            None => self.connect().await?,
        };
        if let Some(driver) = conn.driver.take() {
            tokio::spawn(async move {
                if let Err(e) = driver.with_upgrades().await {
                    tracing::debug!(error = %e, "upstream connection (upgrade) failed");
                }
            });
        }
        conn.sender
            .send_request(request)
            .await
            .map_err(UpstreamError::Http)
    }

    fn set_host(&self, request: &mut Request<Incoming>) {
        if let Some(host) = &self.host_header {
            request.headers_mut().insert(HOST, host.clone());
        }
    }

    /// Puts `conn` back after an exchange whose response body ended; it is
    /// closed instead if it cannot take another request.
    fn checkin(&self, mut conn: Box<Conn>) {
        // Usually the last poll already left it idle and waiting for the
        // next request: then it is only detached from the task (the next
        // checkout polls it anyway). Otherwise it is polled once more.
        if conn.driver.is_some() && conn.sender.is_ready() {
            conn.signal.clear_task();
        } else if !conn.is_reusable() {
            return;
        }
        checkin(&self.idle, conn);
    }

    /// Closes expired connections and those the upstream closed.
    fn sweep(&self) {
        sweep(&self.idle);
        sweep(&self.direct);
    }

    /// A new connection for hyper: [`Pool::connect_stream`], then the
    /// HTTP/1.1 handshake.
    async fn connect(&self) -> Result<Box<Conn>, UpstreamError> {
        let stream = self.connect_stream().await?;
        let (sender, driver) = http1::Builder::new()
            .handshake(TokioIo::new(stream))
            .await
            .map_err(UpstreamError::Http)?;
        // Boxed: a connection moves between the pool, the request and the
        // body; a pointer moves cheaper than the connection's state.
        Ok(Box::new(Conn::new(sender, driver)))
    }

    /// A new socket: TCP (each resolved address in turn, each within the
    /// connect timeout), then TLS for `https://`.
    async fn connect_stream(&self) -> Result<Stream, UpstreamError> {
        let addresses = tokio::net::lookup_host((self.host.as_str(), self.port))
            .await
            .map_err(UpstreamError::Connect)?;
        let mut last = io::Error::new(io::ErrorKind::NotFound, "the host name has no address");
        let mut connected = None;
        for address in addresses {
            match tokio::time::timeout(self.connect_timeout, TcpStream::connect(address)).await {
                Ok(Ok(stream)) => {
                    connected = Some(stream);
                    break;
                }
                Ok(Err(e)) => last = e,
                Err(_) => last = io::Error::new(io::ErrorKind::TimedOut, "connect timed out"),
            }
        }
        let tcp = connected.ok_or(UpstreamError::Connect(last))?;
        let _ = tcp.set_nodelay(true);
        let stream = match &self.server_name {
            None => Stream::Plain(tcp),
            Some(name) => {
                let name = name
                    .clone()
                    .map_err(|e| UpstreamError::Connect(io::Error::other(e)))?;
                let tls = self
                    .tls
                    .connect(name, tcp)
                    .await
                    .map_err(UpstreamError::Connect)?;
                Stream::Tls(Box::new(tls))
            }
        };
        Ok(stream)
    }
}

/// The most recently used connection of `idle` that is still open.
fn checkout<C: Reusable>(idle: &Mutex<VecDeque<Idle<C>>>) -> Option<Box<C>> {
    let mut idle = lock(idle);
    while let Some(Idle { mut conn, since }) = idle.pop_back() {
        if since.elapsed() >= IDLE_TIMEOUT {
            // The others are older still.
            idle.clear();
            return None;
        }
        if conn.is_reusable() {
            return Some(conn);
        }
    }
    None
}

/// Puts `conn` back into `idle`, dropping expired connections and, at
/// [`MAX_IDLE`], the oldest.
fn checkin<C>(idle: &Mutex<VecDeque<Idle<C>>>, conn: Box<C>) {
    let now = Instant::now();
    let mut idle = lock(idle);
    while idle
        .front()
        .is_some_and(|oldest| now.duration_since(oldest.since) >= IDLE_TIMEOUT)
    {
        idle.pop_front();
    }
    if idle.len() >= MAX_IDLE {
        idle.pop_front();
    }
    idle.push_back(Idle { conn, since: now });
}

/// Closes the expired connections of `idle` and those the upstream closed.
fn sweep<C: Reusable>(idle: &Mutex<VecDeque<Idle<C>>>) {
    let now = Instant::now();
    lock(idle).retain_mut(|idle| {
        now.duration_since(idle.since) < IDLE_TIMEOUT && idle.conn.is_reusable()
    });
}

/// Lets the other tasks that are ready run first, once.
async fn yield_once() {
    let mut yielded = false;
    poll_fn(|cx| {
        if yielded {
            return Poll::Ready(());
        }
        yielded = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    })
    .await;
}

/// Runs [`Pool::sweep`] every half [`IDLE_TIMEOUT`] until the pool is
/// gone (outside a Tokio runtime: never; expired connections are still
/// dropped at checkout and checkin).
fn sweep_in_background(pool: Weak<Pool>) {
    let Ok(handle) = tokio::runtime::Handle::try_current() else {
        return;
    };
    handle.spawn(async move {
        let mut ticks = tokio::time::interval(IDLE_TIMEOUT / 2);
        ticks.tick().await;
        loop {
            ticks.tick().await;
            match pool.upgrade() {
                Some(pool) => pool.sweep(),
                None => return,
            }
        }
    });
}

/// One upstream connection: the handle requests are sent with, the future
/// that does the reading and writing (`None` once it has ended), and the
/// waker it is driven with.
struct Conn {
    sender: SendRequest<Incoming>,
    driver: Option<Connection<TokioIo<Stream>, Incoming>>,
    signal: Arc<Signal>,
    /// `signal` as a [`Waker`].
    waker: Waker,
}

impl Conn {
    fn new(sender: SendRequest<Incoming>, driver: Connection<TokioIo<Stream>, Incoming>) -> Conn {
        let signal = Arc::new(Signal {
            state: AtomicU8::new(IDLE),
            task: Mutex::new(None),
        });
        Conn {
            sender,
            driver: Some(driver),
            waker: Waker::from(Arc::clone(&signal)),
            signal,
        }
    }

    /// Polls the connection with its own waker; forgets it when it has
    /// ended (closed by either side, or failed), which fails what is in
    /// flight.
    fn drive(&mut self) {
        let mut cx = Context::from_waker(&self.waker);
        if let Some(driver) = &mut self.driver
            && Pin::new(driver).poll(&mut cx).is_ready()
        {
            // Dropping it answers the request in flight (if any) with an
            // error and hands back one that never left.
            self.driver = None;
        }
    }

    /// Runs `step` for the task of `cx`: a wake-up of the connection while
    /// `step` runs (the connection waking itself, or a body channel waking
    /// its peer, all inside this task) runs `step` again at once instead of
    /// scheduling the task again; one after `step` wakes the task.
    fn run<T>(
        &mut self,
        cx: &mut Context<'_>,
        mut step: impl FnMut(&mut Conn) -> Poll<T>,
    ) -> Poll<T> {
        self.signal.set_task(cx.waker());
        for _ in 0..MAX_RERUNS {
            self.signal.state.store(RUNNING, Ordering::SeqCst);
            let result = step(self);
            let woken = self.signal.state.swap(IDLE, Ordering::SeqCst) == WOKEN;
            if result.is_ready() || !woken {
                return result;
            }
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    }

    /// Drives the connection until `sent` (the response future) resolves.
    /// `sent` is only ever completed by the connection, so it is polled
    /// with a no-op waker.
    fn poll_response<F: Future>(
        &mut self,
        cx: &mut Context<'_>,
        mut sent: Pin<&mut F>,
    ) -> Poll<F::Output> {
        let answer = self.run(cx, |conn| {
            conn.drive();
            // With the connection gone, `sent` has its answer.
            sent.as_mut().poll(&mut Context::from_waker(Waker::noop()))
        });
        if answer.is_pending() && self.driver.is_none() {
            // Not expected (hyper answers what was in flight when the
            // connection is dropped); never wait on a waker nobody holds.
            return sent.poll(cx);
        }
        answer
    }
}

impl Reusable for Conn {
    /// Whether the connection is open and idle: polled to notice a close,
    /// waking nobody (no task is attached while it is pooled).
    fn is_reusable(&mut self) -> bool {
        self.signal.clear_task();
        self.drive();
        self.driver.is_some() && self.sender.is_ready()
    }
}

/// The waker of a pooled connection: wakes the task that uses it, except
/// while that task is itself polling the connection (see [`Conn::run`]).
struct Signal {
    state: AtomicU8,
    task: Mutex<Option<Waker>>,
}

/// Nobody polls the connection.
const IDLE: u8 = 0;
/// [`Conn::run`] is polling it.
const RUNNING: u8 = 1;
/// It was woken while being polled.
const WOKEN: u8 = 2;
/// Immediate re-runs in one [`Conn::run`] before it yields to the runtime.
const MAX_RERUNS: usize = 8;

impl Signal {
    fn set_task(&self, waker: &Waker) {
        let mut task = lock(&self.task);
        if !task.as_ref().is_some_and(|t| t.will_wake(waker)) {
            *task = Some(waker.clone());
        }
    }

    fn clear_task(&self) {
        *lock(&self.task) = None;
    }
}

impl std::task::Wake for Signal {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let noted = self
            .state
            .compare_exchange(RUNNING, WOKEN, Ordering::SeqCst, Ordering::SeqCst);
        match noted {
            // Noted: `Conn::run` runs its step again.
            Ok(_) | Err(WOKEN) => {}
            Err(_) => {
                if let Some(task) = lock(&self.task).as_ref() {
                    task.wake_by_ref();
                }
            }
        }
    }
}

/// A response body read from a pooled connection; the connection is
/// driven while the body is read and goes back to its pool when the body
/// has ended (closed if the body is dropped before its end).
pub(crate) struct PooledBody {
    body: Incoming,
    conn: Option<Box<Conn>>,
    pool: Arc<Pool>,
}

impl PooledBody {
    fn release(&mut self) {
        if let Some(conn) = self.conn.take() {
            self.pool.checkin(conn);
        }
    }
}

impl hyper::body::Body for PooledBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let this = self.get_mut();
        let body = &mut this.body;
        let frame = match &mut this.conn {
            // The body is only fed by the connection: it is polled with a
            // no-op waker, the connection with its own.
            Some(conn) => conn.run(cx, |conn| {
                let mut quiet = Context::from_waker(Waker::noop());
                let frame = Pin::new(&mut *body).poll_frame(&mut quiet);
                if frame.is_ready() {
                    return frame;
                }
                conn.drive();
                Pin::new(&mut *body).poll_frame(&mut quiet)
            }),
            None => Pin::new(&mut *body).poll_frame(cx),
        };
        match &frame {
            Poll::Ready(None) => this.release(),
            Poll::Ready(Some(Err(_))) => this.conn = None,
            Poll::Pending if this.conn.as_ref().is_some_and(|c| c.driver.is_none()) => {
                // The connection ended: its body is complete or failed,
                // and says so at the next poll.
                this.conn = None;
                cx.waker().wake_by_ref();
            }
            _ => {}
        }
        frame
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

impl Drop for PooledBody {
    fn drop(&mut self) {
        // A body the server did not read to its end (it knew the length)
        // still leaves a reusable connection; any other is closed.
        if self.body.is_end_stream() {
            self.release();
        }
    }
}

/// A response body from the upstream: read by hyper's client or by the
/// gateway's own exchange; either way the connection goes back to its pool
/// at the end.
pub(crate) enum UpstreamBody {
    /// From a hyper connection.
    Hyper(PooledBody),
    /// From an [`h1`] connection.
    Direct(DirectBody),
}

impl hyper::body::Body for UpstreamBody {
    type Data = Bytes;
    type Error = crate::BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, crate::BoxError>>> {
        match self.get_mut() {
            UpstreamBody::Hyper(body) => Pin::new(body).poll_frame(cx).map_err(Into::into),
            UpstreamBody::Direct(body) => Pin::new(body).poll_frame(cx).map_err(Into::into),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            UpstreamBody::Hyper(body) => body.is_end_stream(),
            UpstreamBody::Direct(body) => body.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            UpstreamBody::Hyper(body) => body.size_hint(),
            UpstreamBody::Direct(body) => body.size_hint(),
        }
    }
}

/// A response body read from an [`h1`] connection; the connection goes
/// back to its pool when the body has ended (and the answer allows it),
/// and is closed if the body is dropped before its end.
pub(crate) struct DirectBody {
    conn: Option<Box<DirectConn>>,
    reader: BodyReader,
    pool: Arc<Pool>,
}

impl DirectBody {
    fn release(&mut self) {
        if let Some(conn) = self.conn.take()
            && self.reader.keep_alive()
        {
            checkin(&self.pool.direct, conn);
        }
    }
}

impl hyper::body::Body for DirectBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        let this = self.get_mut();
        let Some(conn) = &mut this.conn else {
            return Poll::Ready(None);
        };
        let frame = conn.poll_body(cx, &mut this.reader);
        match &frame {
            Poll::Ready(Some(Err(_))) => this.conn = None,
            Poll::Ready(_) if this.reader.is_end() => this.release(),
            _ => {}
        }
        frame
    }

    fn is_end_stream(&self) -> bool {
        self.reader.is_end()
    }

    fn size_hint(&self) -> SizeHint {
        self.reader.size_hint()
    }
}

impl Drop for DirectBody {
    fn drop(&mut self) {
        // Read to its end: reusable; otherwise the connection is closed.
        if self.reader.is_end() {
            self.release();
        }
    }
}

/// Why an upstream exchange failed.
#[derive(Debug)]
pub(crate) enum UpstreamError {
    /// No connection could be made (the request never left).
    Connect(io::Error),
    /// The exchange failed (hyper's client).
    Http(hyper::Error),
    /// The exchange failed (the gateway's own client, [`h1`]).
    Exchange(ExchangeError),
}

impl UpstreamError {
    /// Whether the request never reached the upstream.
    pub(crate) fn is_connect(&self) -> bool {
        match self {
            UpstreamError::Connect(_) => true,
            UpstreamError::Http(_) => false,
            UpstreamError::Exchange(e) => e.is_unsent(),
        }
    }
}

impl fmt::Display for UpstreamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UpstreamError::Connect(e) => write!(f, "cannot connect: {e}"),
            UpstreamError::Http(e) => write!(f, "{e}"),
            UpstreamError::Exchange(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for UpstreamError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            UpstreamError::Connect(e) => e.source(),
            UpstreamError::Http(e) => std::error::Error::source(e),
            UpstreamError::Exchange(e) => std::error::Error::source(e),
        }
    }
}

/// A plain or TLS upstream socket.
enum Stream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Stream::Plain(s) => s.is_write_vectored(),
            Stream::Tls(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

static HOST_NAME: http::HeaderName = HOST;

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Most idle connections kept per upstream (more are closed when they
/// come back).
pub(crate) const MAX_IDLE: usize = 128;
/// How long an idle connection is kept.
pub(crate) const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Pooled connections a request without a body tries (each found closed
/// by the upstream) before it takes a new one.
const MAX_STALE: usize = 3;
