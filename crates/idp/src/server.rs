//! Running the identity provider: files, store, keys, TLS, routes, reload.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rolegate_token::clock::{Clock, SystemClock};

use crate::directory::Tenants;
use crate::directory::persist::{self, PersistError};
use crate::keys::SigningKeys;
use crate::protocol::{Provider, Settings};
use crate::store::Store;
#[cfg(feature = "postgres")]
use crate::store::key_encryption::KeyEncryptionKey;
#[cfg(feature = "postgres")]
use crate::store::postgres::{OpenError, PostgresStore, PostgresUrl};
use crate::store::sqlite::SqliteStore;
use crate::tls::{self, RenewableCertificate, ServeLimits, TlsMaterial};
use crate::web::{self, WebState};

/// How to run the provider.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The tenant file (the default tenant).
    pub config_path: PathBuf,
    /// More tenant files served at once (multi-tenant setups): each is a
    /// tenant of its own, reachable by its id or domain.
    pub more_tenants: Vec<PathBuf>,
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Where the TLS material and the provider record live, and with
    /// [`StoreConfig::Sqlite`] the database (with the signing keys).
    pub data_dir: PathBuf,
    /// Where sessions, codes, tokens, consents and signing keys live.
    pub store: StoreConfig,
    /// A certificate and key to use instead of the generated ones.
    pub tls_files: Option<(PathBuf, PathBuf)>,
    /// The origin clients reach the provider at, when it is not the
    /// listener itself (replicas behind a load balancer): every issuer and
    /// endpoint is built from it, whatever `Host` a request names.
    pub public_url: Option<PublicUrl>,
    /// Serve plain HTTP (behind a balancer that terminates TLS); needs a
    /// [`public_url`](Self::public_url), so that issuers stay `https`.
    pub insecure_http: bool,
    /// Balancers whose `X-Forwarded-For` is believed (plain HTTP only): a
    /// request from one of these addresses is attributed to the last
    /// address its `X-Forwarded-For` names, for the per-source limits.
    pub trusted_proxies: Vec<crate::tls::Network>,
    /// Lifetimes and limits.
    pub settings: Settings,
    /// Limits on connections: timeouts, body size, how many at once.
    pub limits: ServeLimits,
}

/// Where the provider keeps its state: sessions, codes, refresh tokens,
/// consents, device grants, login failures and signing keys.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum StoreConfig {
    /// A PostgreSQL database that any number of replicas share; signing
    /// keys are sealed under `kek` before they are stored.
    #[cfg(feature = "postgres")]
    Postgres {
        /// The database (`Debug` hides its password).
        url: PostgresUrl,
        /// The key-encryption key (`Debug` hides it).
        kek: KeyEncryptionKey,
    },
    /// SQLite: [`DATABASE`] in the data folder, for one provider process.
    Sqlite,
}

/// The `https://host[:port]` origin a provider is reached at
/// (`--public-url`): no path, query, fragment or user information.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicUrl(String);

impl PublicUrl {
    /// Parses and normalises (lower-case host, no trailing slash) an
    /// origin; the error says what is wrong with it.
    pub fn parse(text: &str) -> Result<PublicUrl, String> {
        let url = url::Url::parse(text).map_err(|e| format!("{text:?} is not a URL: {e}"))?;
        if url.scheme() != "https" {
            return Err(format!(
                "{text:?} must start with https://: issuers and endpoints are HTTPS (MSAL refuses \
                 others), so terminate TLS in front of the provider"
            ));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(format!("{text:?}: no user information allowed"));
        }
        if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
            return Err(format!(
                "{text:?}: give the origin only (https://host[:port]), without path, query or fragment"
            ));
        }
        let Some(host) = url.host_str() else {
            return Err(format!("{text:?} names no host"));
        };
        Ok(PublicUrl(match url.port() {
            Some(port) => format!("https://{host}:{port}"),
            None => format!("https://{host}"),
        }))
    }

    /// The origin, e.g. `https://login.example.test`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Why the provider could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunError {
    /// The tenant file is invalid (every problem listed).
    #[error("the tenant file {path} is invalid:\n{problems}")]
    Config {
        /// The file.
        path: PathBuf,
        /// The problems, one per line.
        problems: String,
    },
    /// The PostgreSQL store could not be opened (unreachable, too old or
    /// too new, or the key-encryption key does not fit).
    #[cfg(feature = "postgres")]
    #[error(transparent)]
    Postgres(#[from] Box<OpenError>),
    /// A file-system, database, key or TLS failure.
    #[error("{0}")]
    Setup(String),
    /// Binding or serving failed.
    #[error("cannot serve on {addr}: {source}")]
    Serve {
        /// The address.
        addr: SocketAddr,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// A started provider.
#[derive(Debug)]
pub struct Running {
    /// `https://localhost:{port}`, or the configured public URL.
    pub origin: String,
    /// The bound address.
    pub addr: SocketAddr,
    /// The provider (for tests and embedding).
    pub provider: Arc<Provider>,
    /// The local CA certificate (PEM file) clients must trust.
    pub ca_path: PathBuf,
    /// Resolves when the server stops.
    pub task: tokio::task::JoinHandle<Result<(), RunError>>,
}

/// Loads everything and starts serving; returns once listening.
pub async fn start(
    cfg: ServerConfig,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<Running, RunError> {
    start_with(cfg, |_| axum::Router::new(), shutdown).await
}

/// What extra routes may need to know about the started provider.
#[derive(Debug, Clone)]
pub struct StartInfo {
    /// `https://localhost:{port}`.
    pub origin: String,
    /// The local CA certificate (PEM file).
    pub ca_path: PathBuf,
    /// The provider.
    pub provider: Arc<Provider>,
}

/// [`start`], merging the routes `extra` builds (e.g. the demo's API and
/// single-page app) into the same HTTPS origin.
pub async fn start_with(
    cfg: ServerConfig,
    extra: impl FnOnce(&StartInfo) -> axum::Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<Running, RunError> {
    let paths: Vec<PathBuf> = std::iter::once(cfg.config_path.clone())
        .chain(cfg.more_tenants.iter().cloned())
        .collect();
    std::fs::create_dir_all(&cfg.data_dir).map_err(|e| {
        RunError::Setup(format!(
            "cannot create the data folder {}: {e}",
            cfg.data_dir.display()
        ))
    })?;
    if cfg.insecure_http && cfg.public_url.is_none() {
        return Err(RunError::Setup(
            "--insecure-http needs --public-url https://…: the origin clients reach through the \
             TLS-terminating balancer, which issuers and endpoints are built from"
                .to_owned(),
        ));
    }
    if cfg.insecure_http && cfg.tls_files.is_some() {
        return Err(RunError::Setup(
            "--insecure-http serves plain HTTP: leave out --tls-cert/--tls-key".to_owned(),
        ));
    }
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let store = open_store(&cfg.store, &cfg.data_dir).await?;
    // The tenant files seed the directory the store keeps; the provider
    // serves what the store holds (design note 0003).
    let (directories, tenant_ids) = persist::seed(store.as_ref(), &paths, clock.now())
        .await
        .map_err(|e| persist_error(&cfg.config_path, e))?;
    let tenants = Tenants::new(directories);
    let keys = SigningKeys::load_or_create(Arc::clone(&store), clock.now())
        .await
        .map_err(|e| RunError::Setup(format!("signing keys: {e}")))?;
    let tls = if cfg.insecure_http {
        None
    } else {
        let material = match &cfg.tls_files {
            Some((cert, key)) => TlsMaterial::from_files(cert, key),
            None => TlsMaterial::load_or_create(&cfg.data_dir),
        }
        .map_err(|e| RunError::Setup(format!("TLS: {e}")))?;
        let (tls_config, certificate) = material
            .renewable_server_config()
            .map_err(|e| RunError::Setup(format!("TLS: {e}")))?;
        if cfg.tls_files.is_none() {
            spawn_certificate_renewal(certificate, cfg.data_dir.clone());
        }
        Some((tls_config, material.ca_pem_path))
    };
    let ca_path = match &tls {
        Some((_, path)) => path.clone(),
        None => tls::ca_path(&cfg.data_dir),
    };
    let listener = tokio::net::TcpListener::bind(cfg.listen)
        .await
        .map_err(|source| RunError::Serve {
            addr: cfg.listen,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| RunError::Serve {
        addr: cfg.listen,
        source,
    })?;
    let origin = match &cfg.public_url {
        Some(url) => url.as_str().to_owned(),
        None => format!("https://localhost:{}", addr.port()),
    };
    write_record(&cfg, &tenants.default_tenant().tenant.id, &origin)?;
    let provider = Arc::new(Provider::new(
        tenants,
        store,
        keys,
        cfg.settings.clone(),
        clock,
    ));
    spawn_maintenance(Arc::clone(&provider));
    spawn_key_listener(Arc::clone(&provider)).await;
    spawn_directory_listener(Arc::clone(&provider), tenant_ids).await;
    spawn_reload_on_hangup(Arc::clone(&provider), paths);
    let info = StartInfo {
        origin: origin.clone(),
        ca_path: ca_path.clone(),
        provider: Arc::clone(&provider),
    };
    let state = match cfg.public_url {
        Some(_) => WebState::public(Arc::clone(&provider), &origin),
        None => WebState::new(Arc::clone(&provider), &origin),
    };
    let app = web::routes(state).merge(extra(&info));
    let limits = cfg.limits;
    let trusted_proxies = cfg.trusted_proxies;
    let task = tokio::spawn(async move {
        match tls {
            Some((tls_config, _)) => {
                tls::serve_tls(listener, tls_config, app, limits, shutdown).await
            }
            None => tls::serve_plain(listener, app, limits, trusted_proxies, shutdown).await,
        }
        .map_err(|source| RunError::Serve { addr, source })
    });
    Ok(Running {
        origin,
        addr,
        provider,
        ca_path,
        task,
    })
}

/// Opens the store for a tool (`rotate-keys`, `rekey`, `export`, `probe`):
/// as [`open_store`], except that a PostgreSQL database must already have
/// this binary's schema (a tool never migrates what running replicas use).
pub async fn open_store_for_tool(
    config: &StoreConfig,
    data_dir: &Path,
) -> Result<Arc<dyn Store>, RunError> {
    match config {
        #[cfg(feature = "postgres")]
        StoreConfig::Postgres { url, kek } => Ok(Arc::new(
            PostgresStore::open_existing(url, kek.clone())
                .await
                .map_err(Box::new)?,
        )),
        StoreConfig::Sqlite => open_store(config, data_dir).await,
    }
}

/// Opens the store `config` names, bringing its schema up to date
/// (SQLite: [`DATABASE`] in `data_dir`, created if missing).
pub async fn open_store(config: &StoreConfig, data_dir: &Path) -> Result<Arc<dyn Store>, RunError> {
    Ok(match config {
        #[cfg(feature = "postgres")]
        StoreConfig::Postgres { url, kek } => Arc::new(
            PostgresStore::open(url, kek.clone())
                .await
                .map_err(Box::new)?,
        ),
        StoreConfig::Sqlite => Arc::new(
            SqliteStore::open(&data_dir.join(DATABASE))
                .await
                .map_err(|e| {
                    RunError::Setup(format!(
                        "cannot open the database in {}: {e}",
                        data_dir.display()
                    ))
                })?,
        ),
    })
}

/// What a started provider records in its data folder (as [`RECORD`]):
/// where its tenant file is and the origin it serves under, so that tools
/// given only the folder (`rolegate probe`) find the tenant, the issuer and,
/// through [`DATABASE`], the signing keys. It holds no secret.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ProviderRecord {
    /// Schema version of the record; only 1 exists.
    pub version: u32,
    /// The tenant file the provider serves (absolute when it could be
    /// resolved).
    pub tenant_file: PathBuf,
    /// The tenant id (`tid`).
    pub tenant_id: String,
    /// `https://localhost:{port}`: the origin issuers are built from.
    pub origin: String,
    /// The v2.0 issuer, `{origin}/{tenant_id}/v2.0`.
    pub issuer: String,
}

/// The file name of the [`ProviderRecord`] inside the data folder.
pub const RECORD: &str = "rolegate-idp.json";

/// Writes the [`ProviderRecord`] (replacing the file in one rename).
fn write_record(cfg: &ServerConfig, tenant_id: &str, origin: &str) -> Result<(), RunError> {
    let record = ProviderRecord {
        version: 1,
        tenant_file: std::fs::canonicalize(&cfg.config_path)
            .unwrap_or_else(|_| cfg.config_path.clone()),
        tenant_id: tenant_id.to_owned(),
        origin: origin.to_owned(),
        issuer: format!("{origin}/{tenant_id}/v2.0"),
    };
    let path = cfg.data_dir.join(RECORD);
    let partial = cfg.data_dir.join(format!("{RECORD}.partial"));
    serde_json::to_vec_pretty(&record)
        .map_err(std::io::Error::other)
        .and_then(|bytes| std::fs::write(&partial, bytes))
        .and_then(|()| std::fs::rename(&partial, &path))
        .map_err(|e| RunError::Setup(format!("cannot write {}: {e}", path.display())))
}

/// The database file name inside the data folder.
pub const DATABASE: &str = "rolegate-idp.sqlite";

/// The CA file clients must trust, for `rolegate idp ca-path`.
pub fn ca_path(data_dir: &Path) -> PathBuf {
    tls::ca_path(data_dir)
}

/// Every [`RELOAD_INTERVAL`](crate::keys::RELOAD_INTERVAL) (30 s) re-reads
/// the signing keys, so that a key `rolegate idp rotate-keys` made is
/// published within that time (rotation counts it in
/// [`PUBLICATION_BEFORE_SIGNING`](crate::keys::PUBLICATION_BEFORE_SIGNING));
/// every fifth minute also purges expired state.
fn spawn_maintenance(provider: Arc<Provider>) {
    const PURGE_EVERY: u64 = 300;
    tokio::spawn(async move {
        let reload = Duration::from_secs(crate::keys::RELOAD_INTERVAL.unsigned_abs());
        let mut tick = tokio::time::interval(reload);
        let mut since_purge = Duration::from_secs(PURGE_EVERY);
        loop {
            tick.tick().await;
            if since_purge >= Duration::from_secs(PURGE_EVERY) {
                since_purge = Duration::ZERO;
                if let Err(e) = provider.store.purge_expired(provider.now()).await {
                    tracing::warn!(error = %e, "purging expired state failed");
                }
            }
            since_purge += reload;
            // Picks up rotations made with `rolegate idp rotate-keys`.
            if let Err(e) = provider.keys.reload().await {
                tracing::error!(error = %e, "reloading signing keys failed; still signing with the keys loaded before");
            }
        }
    });
}

/// Reloads the signing keys whenever the store announces a change (a
/// rotation through another replica or `rolegate idp rotate-keys`):
/// PostgreSQL's `LISTEN`/`NOTIFY`, within a second. Stores without such a
/// channel rely on the maintenance poll.
/// Listening starts before this returns, so a change announced once the
/// provider serves is not missed.
async fn spawn_key_listener(provider: Arc<Provider>) {
    let mut changes = match provider.store.key_changes().await {
        Ok(Some(changes)) => changes,
        Ok(None) => return,
        Err(e) => {
            tracing::warn!(error = %e, "cannot listen for signing-key changes; polling every {} s", crate::keys::RELOAD_INTERVAL);
            return;
        }
    };
    tokio::spawn(async move {
        while changes.recv().await.is_some() {
            match provider.keys.reload().await {
                Ok(()) => tracing::info!("signing keys reloaded (changed in the store)"),
                Err(e) => {
                    tracing::error!(error = %e, "reloading signing keys failed; still signing with the keys loaded before")
                }
            }
        }
    });
}

/// Rebuilds the directories from the store whenever it announces a change
/// (a Graph write, a tenant file reloaded on another replica): PostgreSQL's
/// `LISTEN`/`NOTIFY`. Listening starts before this returns.
async fn spawn_directory_listener(provider: Arc<Provider>, tenant_ids: Vec<String>) {
    let mut changes = match provider.store.directory_changes().await {
        Ok(Some(changes)) => changes,
        Ok(None) => return,
        Err(e) => {
            tracing::warn!(error = %e, "cannot listen for directory changes; SIGHUP reloads");
            return;
        }
    };
    tokio::spawn(async move {
        while changes.recv().await.is_some() {
            match persist::load(provider.store.as_ref(), &tenant_ids).await {
                Ok(directories) => {
                    provider.replace_tenants(Tenants::new(directories));
                    tracing::info!("directory reloaded (changed in the store)");
                }
                Err(e) => {
                    tracing::warn!(error = %e, "reloading the directory failed; keeping the previous one")
                }
            }
        }
    });
}

/// A seeding failure as the provider reports it.
fn persist_error(path: &Path, e: PersistError) -> RunError {
    match e {
        PersistError::Invalid(problems) => RunError::Config {
            path: path.to_path_buf(),
            problems: problems.to_string(),
        },
        other => RunError::Setup(format!("the stored directory: {other}")),
    }
}

/// Renews the generated CA and server certificate while the server runs
/// (their lifetimes are 90 and 30 days): every 12 hours,
/// [`TlsMaterial::load_or_create`] replaces what is near expiry, and new
/// handshakes present the result.
fn spawn_certificate_renewal(certificate: Arc<RenewableCertificate>, data_dir: PathBuf) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(CERTIFICATE_CHECK);
        tick.tick().await;
        loop {
            tick.tick().await;
            let dir = data_dir.clone();
            let renewed =
                tokio::task::spawn_blocking(move || TlsMaterial::load_or_create(&dir)).await;
            match renewed {
                Ok(Ok(material)) => {
                    if let Err(e) = certificate.replace(&material) {
                        tracing::warn!(error = %e, "renewed server certificate not loaded");
                    }
                }
                Ok(Err(e)) => tracing::warn!(error = %e, "renewing the server certificate failed"),
                Err(e) => tracing::warn!(error = %e, "renewing the server certificate failed"),
            }
        }
    });
}

/// SIGHUP re-reads the tenant file (a broken file keeps the old directory,
/// and says why) and the signing keys (after `rolegate idp rotate-keys`).
/// Sessions, codes and tokens live in the store and survive.
fn spawn_reload_on_hangup(provider: Arc<Provider>, paths: Vec<PathBuf>) {
    #[cfg(unix)]
    tokio::spawn(async move {
        use tokio::signal::unix::{SignalKind, signal};
        let Ok(mut hangups) = signal(SignalKind::hangup()) else {
            tracing::warn!("cannot listen for SIGHUP; the tenant file will not be reloaded");
            return;
        };
        while hangups.recv().await.is_some() {
            if let Err(e) = provider.keys.reload().await {
                tracing::error!(error = %e, "signing keys not reloaded");
            }
            match persist::seed(provider.store.as_ref(), &paths, provider.now()).await {
                Ok((directories, _)) => {
                    provider.replace_tenants(Tenants::new(directories));
                    tracing::info!(
                        files = paths.len(),
                        "tenant files reloaded into the stored directory"
                    );
                }
                Err(e) => {
                    tracing::error!(problems = %e, "tenant files not reloaded; keeping the previous directory")
                }
            }
        }
    });
    #[cfg(not(unix))]
    let _ = (provider, paths);
}

/// How often a running server checks its generated certificates.
const CERTIFICATE_CHECK: Duration = Duration::from_secs(12 * 3600);
