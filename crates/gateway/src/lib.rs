//! `rolegate gateway`: the judgement of [`rolegate-token`](rolegate_token)
//! in front of any HTTP API, as a reverse proxy and as a forward-auth
//! service for nginx, Traefik, Caddy and Envoy.
//!
//! ```no_run
//! use std::path::Path;
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let config = rolegate_gateway::Config::load(Path::new("gateway.toml"))?;
//! let gateway = rolegate_gateway::Gateway::new(config);
//! let mut running = gateway.start().await?;
//! running.watch(Path::new("gateway.toml").to_owned()); // SIGHUP and file changes
//! println!("proxying on {}", running.address());
//! running.stopped().await;
//! # Ok(()) }
//! ```
//!
//! Modules: [`config`] (the file and its validation), [`route`]
//! (matching, no I/O), [`upstream`], [`decision`] (the library's verdict
//! and the identity headers), [`forward_auth`], [`error`] (the gateway's
//! own refusals), [`metrics`]; the proxy, server and reload loops are
//! private. `docs/gateway.md` is the operator's guide.
//!
//! # Security
//! - Every `X-Rolegate-*` header a client sends is removed before
//!   forwarding, on every route; only the gateway sets them.
//! - `Authorization` is removed before forwarding unless
//!   `forward_token = true`.
//! - Requests no route covers are never forwarded (404 `no_route`).
//! - Paths an upstream could resolve differently (`..`, `//`, encoded
//!   `/`) are refused before matching ([`route::check_path`]).
//! - A configuration that fails validation never replaces a running one.

pub mod config;
pub mod decision;
pub mod error;
pub mod forward_auth;
mod h1;
mod headers;
pub mod metrics;
mod pool;
mod proxy;
mod reload;
pub mod route;
mod server;
pub mod upstream;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use arc_swap::ArcSwap;
use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::{HeaderValue, Request, Response, StatusCode};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

pub use config::{Config, ConfigError};

/// Errors inside bodies.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The body of every response the gateway sends: streamed from the
/// upstream, or a small JSON refusal.
pub type Body = UnsyncBoxBody<Bytes, BoxError>;

/// The gateway: its current configuration, swapped atomically on reload,
/// and its metrics. Cheap to clone.
#[derive(Clone)]
pub struct Gateway {
    shared: Arc<Shared>,
}

/// A started gateway: its addresses, and the handle that stops it.
pub struct Running {
    gateway: Gateway,
    scheme: &'static str,
    address: SocketAddr,
    admin_address: Option<SocketAddr>,
    stop: watch::Sender<bool>,
    tasks: JoinSet<()>,
}

impl Gateway {
    /// A gateway with `config`. Inside a Tokio runtime the signing keys
    /// start loading at once (`/readyz` turns 200 when they have).
    pub fn new(config: Config) -> Gateway {
        let metrics = metrics::Metrics::default();
        let shared = Arc::new(Shared {
            runtime: ArcSwap::from_pointee(Runtime::new(config, None, &metrics)),
            metrics,
            identities: decision::Identities::default(),
            generation: AtomicU64::new(0),
        });
        Gateway { shared }
    }

    /// Replaces the configuration atomically: requests already running
    /// finish with the old one, the next ones see the new one. The
    /// validator (keys, token cache) and the upstream connection pool are
    /// kept when their settings did not change.
    pub fn apply(&self, config: Config) {
        let previous = self.shared.runtime.load_full();
        if previous.config.listen != config.listen
            || previous.config.admin_listen != config.admin_listen
            || previous.config.tls.is_some() != config.tls.is_some()
        {
            tracing::warn!(
                "listen, admin_listen, tls_cert and tls_key changes take effect only after a \
                 restart; the gateway keeps its current listeners"
            );
        }
        let runtime = Runtime::new(config, Some(&previous), &self.shared.metrics);
        self.shared.runtime.store(Arc::new(runtime));
        self.shared.generation.fetch_add(1, Ordering::Relaxed);
    }

    /// Reads `path` and [applies](Self::apply) it if it is valid; if not,
    /// logs every problem, keeps the running configuration and returns
    /// the problems. `listen` and `admin_listen` keep their running values.
    pub fn reload(&self, path: &Path) -> Result<(), ConfigError> {
        let current = self.shared.runtime.load_full();
        match Config::load(path) {
            Ok(mut config) => {
                config.listen = current.config.listen;
                config.admin_listen = current.config.admin_listen;
                self.apply(config);
                self.shared.metrics.reload("ok");
                tracing::info!(path = %path.display(), "configuration reloaded");
                Ok(())
            }
            Err(e) => {
                self.shared.metrics.reload("invalid");
                for problem in &e.problems {
                    tracing::error!(path = %path.display(), %problem, "configuration not reloaded");
                }
                Err(e)
            }
        }
    }

    /// Whether the signing keys have been loaded (`/readyz`).
    pub fn is_ready(&self) -> bool {
        self.shared
            .runtime
            .load()
            .config
            .validator
            .key_stats()
            .loads
            > 0
    }

    /// The metrics in the Prometheus text format (`/metrics`).
    pub fn metrics_text(&self) -> String {
        let runtime = self.shared.runtime.load();
        self.shared.metrics.render(&runtime.config.validator)
    }

    /// How many configurations have been applied since start.
    pub fn generation(&self) -> u64 {
        self.shared.generation.load(Ordering::Relaxed)
    }

    /// Binds `listen` and `admin_listen` from the configuration and serves
    /// until [`Running::stop`].
    pub async fn start(self) -> std::io::Result<Running> {
        let (listen, admin_listen) = {
            let runtime = self.shared.runtime.load();
            (runtime.config.listen, runtime.config.admin_listen)
        };
        let listener = TcpListener::bind(listen).await?;
        let admin = match admin_listen {
            Some(address) => Some(TcpListener::bind(address).await?),
            None => None,
        };
        self.serve(listener, admin)
    }

    /// Serves on listeners the caller bound.
    pub fn serve(
        self,
        listener: TcpListener,
        admin: Option<TcpListener>,
    ) -> std::io::Result<Running> {
        let address = listener.local_addr()?;
        let admin_address = admin.as_ref().map(TcpListener::local_addr).transpose()?;
        // TLS material is read at start; changing it needs a restart.
        let tls = self.shared.runtime.load().config.tls.clone();
        let scheme = if tls.is_some() { "https" } else { "http" };
        let (stop, stopping) = watch::channel(false);
        let mut tasks = JoinSet::new();
        let shared = Arc::clone(&self.shared);
        let idle_shared = Arc::clone(&self.shared);
        tasks.spawn(server::serve(
            listener,
            tls.map(tokio_rustls::TlsAcceptor::from),
            move |peer, request| proxy::handle(Arc::clone(&shared), peer, scheme, request),
            move || idle_shared.runtime.load().config.timeouts.idle,
            stopping.clone(),
        ));
        if let Some(admin) = admin {
            let gateway = self.clone();
            tasks.spawn(server::serve(
                admin,
                None,
                move |_peer, request| {
                    let gateway = gateway.clone();
                    async move { gateway.admin(&request) }
                },
                || ADMIN_IDLE_TIMEOUT,
                stopping,
            ));
        }
        tracing::info!(%address, scheme, ?admin_address, "gateway listening");
        Ok(Running {
            gateway: self,
            scheme,
            address,
            admin_address,
            stop,
            tasks,
        })
    }

    /// `/healthz`, `/readyz` and `/metrics`.
    fn admin(&self, request: &Request<Incoming>) -> Response<Body> {
        let (status, content_type, text) = match request.uri().path() {
            "/healthz" => (StatusCode::OK, TEXT, "ok\n".to_owned()),
            "/readyz" if self.is_ready() => (StatusCode::OK, TEXT, "ready\n".to_owned()),
            "/readyz" => (
                StatusCode::SERVICE_UNAVAILABLE,
                TEXT,
                "not ready: the signing keys have not been loaded yet\n".to_owned(),
            ),
            "/metrics" => (StatusCode::OK, PROMETHEUS, self.metrics_text()),
            _ => (StatusCode::NOT_FOUND, TEXT, "not found\n".to_owned()),
        };
        let mut response = Response::new(
            Full::new(Bytes::from(text))
                .map_err(|never| match never {})
                .boxed_unsync(),
        );
        *response.status_mut() = status;
        response
            .headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
        response
    }
}

impl Running {
    /// Whether clients connect with TLS (`https`) or not (`http`).
    pub fn scheme(&self) -> &'static str {
        self.scheme
    }

    /// Where the gateway serves clients.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Where the admin endpoints are served, if anywhere.
    pub fn admin_address(&self) -> Option<SocketAddr> {
        self.admin_address
    }

    /// The gateway (to reload it or read its metrics).
    pub fn gateway(&self) -> &Gateway {
        &self.gateway
    }

    /// Reloads from `path` on SIGHUP and whenever its contents change
    /// (checked twice a second). Call it inside the Tokio runtime: the
    /// SIGHUP handler is installed before it returns.
    pub fn watch(&mut self, path: PathBuf) {
        reload::spawn(
            &mut self.tasks,
            self.gateway.clone(),
            path,
            self.stop.subscribe(),
        );
    }

    /// Stops accepting, lets running requests finish (up to 10 s) and
    /// returns when everything has stopped.
    pub async fn stop(mut self) {
        let _ = self.stop.send(true);
        while self.tasks.join_next().await.is_some() {}
    }

    /// Waits until the gateway stops on its own (it does not, unless a
    /// listener fails): for binaries, raced against a signal.
    pub async fn stopped(&mut self) {
        while self.tasks.join_next().await.is_some() {}
    }
}

/// State shared by every connection.
pub(crate) struct Shared {
    pub(crate) runtime: ArcSwap<Runtime>,
    pub(crate) metrics: metrics::Metrics,
    pub(crate) identities: decision::Identities,
    generation: AtomicU64,
}

/// One configuration and what it needs at run time.
pub(crate) struct Runtime {
    pub(crate) config: Config,
    /// What each route (same index as `config.routes`) needs per request,
    /// resolved once here rather than looked up per request.
    pub(crate) routes: Vec<RouteRuntime>,
    client: pool::Client,
    /// Shared by the runtimes that use the same validator; the key
    /// warm-up stops once none does.
    validator_in_use: Arc<()>,
}

/// A route's upstream pool and metric counters.
pub(crate) struct RouteRuntime {
    pub(crate) pool: Arc<pool::Pool>,
    pub(crate) counters: Arc<metrics::RouteCounters>,
    /// The pattern, the `route` label of the metrics.
    pub(crate) label: Arc<str>,
}

impl Runtime {
    fn new(mut config: Config, previous: Option<&Runtime>, metrics: &metrics::Metrics) -> Runtime {
        let validator_in_use = match previous {
            Some(previous) if previous.config.auth == config.auth => {
                config.validator = previous.config.validator.clone();
                Arc::clone(&previous.validator_in_use)
            }
            _ => {
                let in_use = Arc::new(());
                warm_up(&config, Arc::downgrade(&in_use));
                in_use
            }
        };
        // Pooled upstream connections survive a reload that keeps the
        // connect timeout and the TLS settings.
        let client = match previous {
            Some(previous)
                if previous.config.timeouts.connect == config.timeouts.connect
                    && previous.config.has_https_upstream() == config.has_https_upstream()
                    && previous.config.auth.ca_pem == config.auth.ca_pem =>
            {
                previous.client.clone()
            }
            _ => pool::Client::new(config.timeouts.connect, Arc::clone(&config.upstream_tls)),
        };
        let routes = config
            .routes
            .iter()
            .map(|route| {
                let label = route.pattern.shared();
                RouteRuntime {
                    pool: client.pool(&route.upstream),
                    counters: metrics.route(&label),
                    label,
                }
            })
            .collect();
        Runtime {
            config,
            routes,
            client,
            validator_in_use,
        }
    }
}

/// Loads the signing keys in the background, retrying until they load or
/// no configuration uses this validator any more.
fn warm_up(config: &Config, in_use: Weak<()>) {
    let Ok(handle) = tokio::runtime::Handle::try_current() else {
        return;
    };
    let validator = config.validator.clone();
    handle.spawn(async move {
        loop {
            match validator.warm_up().await {
                Ok(()) => return,
                Err(e) => tracing::warn!(error = %e, "cannot load the signing keys yet"),
            }
            tokio::time::sleep(WARM_UP_RETRY).await;
            if in_use.strong_count() == 0 {
                return;
            }
        }
    });
}

const TEXT: &str = "text/plain; charset=utf-8";
const PROMETHEUS: &str = "text/plain; version=0.0.4; charset=utf-8";
const ADMIN_IDLE_TIMEOUT: Duration = Duration::from_secs(30);
const WARM_UP_RETRY: Duration = Duration::from_secs(2);
