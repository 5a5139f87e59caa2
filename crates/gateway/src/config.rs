//! The configuration file (TOML) and its validated form.
//!
//! Two layers, as everywhere in rolegate: [`FileConfig`] is the schema,
//! with every key documented and unknown keys refused; [`Config::parse`]
//! turns it into a runtime [`Config`] whose fields are already parsed, and
//! reports **every** problem it finds rather than the first.
//!
//! ```
//! use rolegate_gateway::Config;
//!
//! let config = Config::parse(
//!     r#"
//!     listen = "127.0.0.1:8080"
//!     upstream = "http://127.0.0.1:3000"
//!
//!     [auth]
//!     authority = "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47"
//!     audiences = ["6e74172b-be56-4843-9ff4-e66a39bb12e3"]
//!
//!     [[routes]]
//!     path = "/orders/{id}"
//!     methods = ["DELETE"]
//!     roles_any = ["Orders.Admin"]
//!     "#,
//!     std::path::Path::new("."),
//! )
//! .unwrap();
//! assert_eq!(config.routes.len(), 1);
//!
//! let problems = Config::parse("listen = 1\nlisten_port = 2\n", std::path::Path::new("."))
//!     .unwrap_err()
//!     .problems;
//! assert!(problems.len() >= 3, "{problems:?}"); // bad type, unknown key, no [auth]
//! ```

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use http::Method;
use rolegate_token::fetch::HttpFetcher;
use rolegate_token::issuer::TokenVersion;
use rolegate_token::requirement::Requirement;
use rolegate_token::{Validator, ValidatorConfig};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::route::{PathPattern, Route};
use crate::upstream::Upstream;

/// The configuration file as written. Every key is documented here; the
/// sample in `docs/gateway.md` uses the same names.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// Address for client traffic, e.g. `"127.0.0.1:8080"` (plain HTTP).
    pub listen: Option<String>,
    /// Address for `/metrics`, `/healthz` and `/readyz`; absent: no admin
    /// listener.
    pub admin_listen: Option<String>,
    /// The default upstream, `http://host:port` or `https://host:port`
    /// with an optional path prefix. `https://` upstreams are checked
    /// against the platform's CAs plus `auth.ca_file`.
    pub upstream: Option<String>,
    /// Certificate chain (PEM) for HTTPS on `listen`, relative to the
    /// configuration file; needs `tls_key`.
    pub tls_cert: Option<PathBuf>,
    /// Private key (PEM) of `tls_cert`.
    pub tls_key: Option<PathBuf>,
    /// How tokens are validated.
    pub auth: Option<AuthFile>,
    /// Timeouts, in seconds.
    pub timeouts: Option<TimeoutsFile>,
    /// The routes, matched in file order.
    #[serde(default)]
    pub routes: Vec<RouteFile>,
}

/// `[auth]`: where keys come from and which tokens are for this API.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthFile {
    /// The Entra-style authority, e.g.
    /// `https://login.microsoftonline.com/<tenant id>`, `.../organizations`
    /// or `.../common` (multi-tenant), or a `rolegate idp` tenant URL.
    pub authority: Option<String>,
    /// The API's client id(s) or App ID URI(s); a GUID also accepts
    /// `api://<guid>`.
    pub audiences: Option<Vec<String>>,
    /// Only tokens from these tenants (`tid`); required for
    /// `/organizations` and `/common` authorities.
    pub tenants: Option<Vec<String>>,
    /// An extra trusted CA (PEM) for the authority, e.g. `rolegate idp`'s
    /// local CA, also trusted for `https://` upstreams (next to the
    /// platform's CAs). Relative to the configuration file.
    pub ca_file: Option<PathBuf>,
    /// Pass the `Authorization` header upstream (default: strip it).
    pub forward_token: Option<bool>,
    /// The verified-token cache (default on; off: every request verifies
    /// the signature).
    pub token_cache: Option<bool>,
    /// The one access-token version the API receives, 1 or 2 (its
    /// registration's `requestedAccessTokenVersion`); absent: both are
    /// accepted. Entra issues an API only the version it asked for, so a
    /// token of the other version was not issued for it.
    pub token_version: Option<u8>,
}

/// `[timeouts]`, in seconds.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeoutsFile {
    /// Connecting to an upstream (default 5).
    pub connect: Option<u64>,
    /// An upstream's response headers (default 30); routes may override.
    pub upstream: Option<u64>,
    /// A client connection with no request in progress is closed after
    /// this long (default 60).
    pub idle: Option<u64>,
}

/// One `[[routes]]` entry.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteFile {
    /// `/exact/segments`, `{name}` for one segment, `/*` suffix for a
    /// prefix.
    pub path: Option<String>,
    /// Methods this route applies to; absent: any method.
    pub methods: Option<Vec<String>>,
    /// Any one of these app roles.
    pub roles_any: Option<Vec<String>>,
    /// Every one of these app roles.
    pub roles_all: Option<Vec<String>>,
    /// Any one of these delegated scopes. With `roles_any`: a delegated
    /// token needs one of these scopes, an app-only token one of
    /// `roles_any` (scope-or-app-permission).
    pub scopes_any: Option<Vec<String>>,
    /// `"user"` (delegated tokens only) or `"app"` (app-only tokens only).
    pub caller: Option<String>,
    /// Forward requests without a token. A token, if sent, is still
    /// validated and its identity forwarded.
    pub anonymous: Option<bool>,
    /// This route's upstream instead of the default one.
    pub upstream: Option<String>,
    /// This route's upstream response-header timeout, in seconds.
    pub timeout: Option<u64>,
}

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where clients connect.
    pub listen: SocketAddr,
    /// Where the admin endpoints are served, if anywhere.
    pub admin_listen: Option<SocketAddr>,
    /// HTTPS on `listen` (HTTP/2 and HTTP/1.1 by ALPN), when configured.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// Token validation.
    pub auth: AuthConfig,
    /// Timeouts.
    pub timeouts: Timeouts,
    /// The routes, in file order.
    pub routes: Vec<Route>,
    /// The validator built from [`auth`](Self::auth).
    pub validator: Validator,
    /// TLS for `https://` upstreams: the platform's CAs plus
    /// `auth.ca_file`, or no CA at all when every upstream is `http://`.
    pub upstream_tls: Arc<rustls::ClientConfig>,
}

/// The `[auth]` section, validated. Two configurations with equal
/// `AuthConfig`s can share a [`Validator`] (and its keys and cache).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthConfig {
    /// The authority URL.
    pub authority: String,
    /// Accepted audiences.
    pub audiences: Vec<String>,
    /// Accepted tenants (empty: the authority's tenant).
    pub tenants: Vec<String>,
    /// Extra trusted CA, as read from `ca_file`.
    pub ca_pem: Option<Vec<u8>>,
    /// Whether `Authorization` is passed upstream.
    pub forward_token: bool,
    /// Whether the verified-token cache is on.
    pub token_cache: bool,
    /// The accepted token version (`None`: both).
    pub token_version: Option<TokenVersion>,
}

/// Timeouts, validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// Upstream connect.
    pub connect: Duration,
    /// Upstream response headers (default for routes).
    pub upstream: Duration,
    /// Idle client connections.
    pub idle: Duration,
}

/// The configuration is unusable: every problem found, one per entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid gateway configuration: {}", problems.join("; "))]
pub struct ConfigError {
    /// Each problem, e.g. `routes[2].path: "/{id" must be exactly {name}`.
    pub problems: Vec<String>,
}

impl Config {
    /// Reads and validates the file at `path`. Relative paths inside it
    /// (`ca_file`) are resolved against its directory.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            problems: vec![format!("cannot read {}: {e}", path.display())],
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        Config::parse(&text, base)
    }

    /// Validates TOML `text`; `base` is the directory relative paths are
    /// resolved against.
    pub fn parse(text: &str, base: &Path) -> Result<Config, ConfigError> {
        let mut problems = Vec::new();
        let table: toml::Table = toml::from_str(text).map_err(|e| {
            let line = e.span().map(|span| {
                text.get(..span.start)
                    .unwrap_or_default()
                    .lines()
                    .count()
                    .max(1)
            });
            let at = line.map(|l| format!(" (line {l})")).unwrap_or_default();
            ConfigError {
                problems: vec![format!("not valid TOML{at}: {}", e.message().trim())],
            }
        })?;
        let file = read_file(table, &mut problems);
        let config = validate(file, base, &mut problems);
        match config {
            Some(config) if problems.is_empty() => Ok(config),
            _ => Err(ConfigError { problems }),
        }
    }
}

impl Config {
    /// Whether any route forwards to an `https://` upstream.
    pub fn has_https_upstream(&self) -> bool {
        self.routes.iter().any(|r| r.upstream.is_https())
    }
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(5),
            upstream: Duration::from_secs(30),
            idle: Duration::from_secs(60),
        }
    }
}

/// Reads the schema section by section, so that one section's problem does
/// not hide another's: unknown keys everywhere, then each section's types.
fn read_file(mut table: toml::Table, problems: &mut Vec<String>) -> FileConfig {
    let auth = table.remove("auth");
    let timeouts = table.remove("timeouts");
    let routes = table.remove("routes");
    let mut file: FileConfig = section(table, "", TOP_KEYS, problems).unwrap_or_default();
    file.auth = auth.and_then(|v| section(v, "[auth]", AUTH_KEYS, problems));
    file.timeouts = timeouts.and_then(|v| section(v, "[timeouts]", TIMEOUT_KEYS, problems));
    match routes {
        None => {}
        Some(toml::Value::Array(items)) => {
            for (i, item) in items.into_iter().enumerate() {
                let name = format!("routes[{i}]");
                file.routes
                    .push(section(item, &name, ROUTE_KEYS, problems).unwrap_or_default());
            }
        }
        Some(_) => problems.push("routes: expected [[routes]] tables".to_owned()),
    }
    file
}

/// Deserializes one table after reporting (and removing) its unknown keys.
fn section<T: DeserializeOwned>(
    value: impl Into<toml::Value>,
    name: &str,
    known: &[&str],
    problems: &mut Vec<String>,
) -> Option<T> {
    let toml::Value::Table(mut table) = value.into() else {
        problems.push(format!("{name}: expected a table"));
        return None;
    };
    let unknown: Vec<String> = table
        .keys()
        .filter(|k| !known.contains(&k.as_str()))
        .cloned()
        .collect();
    for key in unknown {
        table.remove(&key);
        let place = if name.is_empty() {
            String::new()
        } else {
            format!(" in {name}")
        };
        problems.push(format!(
            "unknown key `{key}`{place} (known: {})",
            known.join(", ")
        ));
    }
    // Type errors name one key at a time; report each by retrying without it.
    loop {
        match toml::Value::Table(table.clone()).try_into::<T>() {
            Ok(value) => return Some(value),
            Err(e) => {
                let message = e.message().trim().to_owned();
                let culprit = table.keys().find(|k| fails_alone::<T>(&table, k)).cloned();
                let place = if name.is_empty() { "" } else { name };
                match culprit {
                    Some(key) => {
                        problems.push(format!("{place}{}{key}: {message}", sep(place)));
                        table.remove(&key);
                    }
                    None => {
                        problems.push(format!("{place}{}{message}", sep(place)));
                        return None;
                    }
                }
            }
        }
    }
}

/// Whether `key` alone fails to deserialize (every schema field is
/// optional, so this finds the key a type error is about).
fn fails_alone<T: DeserializeOwned>(table: &toml::Table, key: &str) -> bool {
    let mut alone = toml::Table::new();
    if let Some(value) = table.get(key) {
        alone.insert(key.to_owned(), value.clone());
    }
    toml::Value::Table(alone).try_into::<T>().is_err()
}

fn sep(place: &str) -> &'static str {
    if place.is_empty() { "" } else { "." }
}

/// The semantic checks, all of them.
fn validate(file: FileConfig, base: &Path, problems: &mut Vec<String>) -> Option<Config> {
    let listen = match file.listen.as_deref() {
        None => {
            problems.push("listen: required, e.g. \"127.0.0.1:8080\"".to_owned());
            None
        }
        Some(text) => socket_address("listen", text, problems),
    };
    let admin_listen = file
        .admin_listen
        .as_deref()
        .and_then(|text| socket_address("admin_listen", text, problems));
    let tls = tls(
        file.tls_cert.as_deref(),
        file.tls_key.as_deref(),
        base,
        problems,
    );
    let upstream = file
        .upstream
        .as_deref()
        .and_then(|text| upstream("upstream", text, problems));
    let timeouts = timeouts(file.timeouts.unwrap_or_default(), problems);
    let auth = auth(file.auth, base, problems);
    let validator = auth
        .as_ref()
        .and_then(|auth| build_validator(auth, problems));
    if file.routes.is_empty() {
        problems.push(
            "routes: none configured; add at least one [[routes]] (every request would get 404)"
                .to_owned(),
        );
    }
    let routes: Vec<Option<Route>> = file
        .routes
        .into_iter()
        .enumerate()
        .map(|(i, r)| route(i, r, upstream.as_ref(), timeouts.upstream, problems))
        .collect();
    let any_https = upstream.iter().any(|u| u.is_https())
        || routes.iter().flatten().any(|r| r.upstream.is_https());
    let ca = auth.as_ref().and_then(|a| a.ca_pem.as_deref());
    let upstream_tls = crate::upstream::tls_client_config(any_https, ca)
        .map_err(|why| problems.push(why))
        .ok();
    Some(Config {
        listen: listen?,
        admin_listen,
        tls,
        auth: auth?,
        timeouts,
        routes: routes.into_iter().collect::<Option<Vec<_>>>()?,
        validator: validator?,
        upstream_tls: upstream_tls?,
    })
}

fn socket_address(key: &str, text: &str, problems: &mut Vec<String>) -> Option<SocketAddr> {
    match text.parse() {
        Ok(address) => Some(address),
        Err(_) => {
            problems.push(format!(
                "{key}: {text:?} is not an address with a port, e.g. \"127.0.0.1:8080\""
            ));
            None
        }
    }
}

/// The TLS server configuration from PEM files (both or neither).
fn tls(
    cert: Option<&Path>,
    key: Option<&Path>,
    base: &Path,
    problems: &mut Vec<String>,
) -> Option<Arc<rustls::ServerConfig>> {
    use rustls::pki_types::pem::PemObject as _;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};

    let (cert, key) = match (cert, key) {
        (None, None) => return None,
        (Some(cert), Some(key)) => (base.join(cert), base.join(key)),
        _ => {
            problems.push("tls_cert and tls_key: give both, or neither".to_owned());
            return None;
        }
    };
    let mut read = |what: &str, path: &Path| {
        std::fs::read(path)
            .map_err(|e| problems.push(format!("{what}: cannot read {}: {e}", path.display())))
            .ok()
    };
    let (cert_pem, key_pem) = (read("tls_cert", &cert), read("tls_key", &key));
    let chain = cert_pem.and_then(|pem| {
        match CertificateDer::pem_slice_iter(&pem).collect::<Result<Vec<_>, _>>() {
            Ok(chain) if !chain.is_empty() => Some(chain),
            Ok(_) => {
                problems.push(format!("tls_cert: {} holds no CERTIFICATE", cert.display()));
                None
            }
            Err(e) => {
                problems.push(format!("tls_cert: {}: {e}", cert.display()));
                None
            }
        }
    });
    let private_key = key_pem.and_then(|pem| {
        PrivateKeyDer::from_pem_slice(&pem)
            .map_err(|e| problems.push(format!("tls_key: {}: {e}", key.display())))
            .ok()
    });
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| problems.push(format!("tls: {e}")))
        .ok()?
        .with_no_client_auth()
        .with_single_cert(chain?, private_key?);
    match config {
        Ok(mut config) => {
            config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
            Some(Arc::new(config))
        }
        Err(e) => {
            problems.push(format!("tls_cert/tls_key: {e}"));
            None
        }
    }
}

fn upstream(key: &str, text: &str, problems: &mut Vec<String>) -> Option<Arc<Upstream>> {
    match Upstream::parse(text) {
        Ok(upstream) => Some(Arc::new(upstream)),
        Err(why) => {
            problems.push(format!("{key}: {why}"));
            None
        }
    }
}

fn timeouts(file: TimeoutsFile, problems: &mut Vec<String>) -> Timeouts {
    let defaults = Timeouts::default();
    let mut seconds = |key: &str, value: Option<u64>, default: Duration| match value {
        Some(0) => {
            problems.push(format!("timeouts.{key}: must be at least 1 second"));
            default
        }
        Some(s) => Duration::from_secs(s),
        None => default,
    };
    Timeouts {
        connect: seconds("connect", file.connect, defaults.connect),
        upstream: seconds("upstream", file.upstream, defaults.upstream),
        idle: seconds("idle", file.idle, defaults.idle),
    }
}

fn auth(file: Option<AuthFile>, base: &Path, problems: &mut Vec<String>) -> Option<AuthConfig> {
    let Some(file) = file else {
        problems.push("[auth]: required (authority and audiences)".to_owned());
        return None;
    };
    let authority = file.authority.filter(|a| !a.trim().is_empty());
    if authority.is_none() {
        problems.push(
            "auth.authority: required, e.g. \"https://login.microsoftonline.com/<tenant id>\""
                .to_owned(),
        );
    }
    let audiences = file.audiences.unwrap_or_default();
    if audiences.is_empty() || audiences.iter().any(|a| a.trim().is_empty()) {
        problems.push(
            "auth.audiences: required, the API's client id or App ID URI (non-empty strings)"
                .to_owned(),
        );
    }
    let tenants = file.tenants.unwrap_or_default();
    if let Some(authority) = &authority {
        let multi = is_multi_tenant(authority);
        if multi && tenants.is_empty() {
            problems.push(format!(
                "auth.tenants: the authority {authority} accepts every tenant; list the \
                 tenants (tid) this API serves"
            ));
        }
    }
    let ca_pem = file.ca_file.and_then(|path| {
        let path = base.join(path);
        std::fs::read(&path)
            .map_err(|e| {
                problems.push(format!("auth.ca_file: cannot read {}: {e}", path.display()))
            })
            .ok()
    });
    let token_version = match file.token_version {
        None => None,
        Some(1) => Some(TokenVersion::V1),
        Some(2) => Some(TokenVersion::V2),
        Some(other) => {
            problems.push(format!(
                "auth.token_version: expected 1 or 2 (the API's requestedAccessTokenVersion), found {other}"
            ));
            None
        }
    };
    Some(AuthConfig {
        authority: authority?,
        audiences,
        tenants,
        ca_pem,
        forward_token: file.forward_token.unwrap_or(false),
        token_cache: file.token_cache.unwrap_or(true),
        token_version,
    })
}

/// A validator for `auth`; the library reports its own problems (authority
/// not a URL, plain HTTP to a non-loopback host, bad CA…).
fn build_validator(auth: &AuthConfig, problems: &mut Vec<String>) -> Option<Validator> {
    let first = auth.audiences.first()?.clone();
    let mut config = if is_multi_tenant(&auth.authority) {
        ValidatorConfig::entra_multi_tenant(first).authority(auth.authority.clone())
    } else {
        ValidatorConfig::entra_authority(auth.authority.clone(), first)
    };
    config = config.audiences(auth.audiences.iter().cloned());
    if !auth.tenants.is_empty() {
        config = config.tenants(auth.tenants.iter().cloned());
    }
    if !auth.token_cache {
        config = config.token_cache(0);
    }
    if let Some(version) = auth.token_version {
        config = config.versions([version]);
    }
    if let Some(pem) = &auth.ca_pem {
        match HttpFetcher::with_options(
            HttpFetcher::DEFAULT_TIMEOUT,
            HttpFetcher::DEFAULT_MAX_BYTES,
            &[pem.as_slice()],
        ) {
            Ok(fetcher) => config = config.fetcher(Arc::new(fetcher)),
            Err(e) => {
                problems.push(format!("auth.ca_file: {e}"));
                return None;
            }
        }
    }
    match Validator::new(config) {
        Ok(validator) => Some(validator),
        Err(e) => {
            problems.extend(e.problems.into_iter().map(|p| format!("[auth]: {p}")));
            None
        }
    }
}

fn is_multi_tenant(authority: &str) -> bool {
    let trimmed = authority.trim_end_matches('/');
    let trimmed = trimmed.strip_suffix("/v2.0").unwrap_or(trimmed);
    ["/organizations", "/common"]
        .iter()
        .any(|suffix| trimmed.ends_with(suffix))
}

fn route(
    index: usize,
    file: RouteFile,
    default_upstream: Option<&Arc<Upstream>>,
    default_timeout: Duration,
    problems: &mut Vec<String>,
) -> Option<Route> {
    let name = format!("routes[{index}]");
    let before = problems.len();
    let pattern = match file.path.as_deref() {
        None => {
            problems.push(format!("{name}.path: required"));
            None
        }
        Some(path) => PathPattern::parse(path)
            .map_err(|why| problems.push(format!("{name}.path: {why}")))
            .ok(),
    };
    let methods = match file.methods.clone() {
        None => None,
        Some(list) if list.is_empty() => {
            problems.push(format!(
                "{name}.methods: empty; leave it out to match any method"
            ));
            None
        }
        Some(list) => Some(
            list.iter()
                .filter_map(|m| match Method::from_bytes(m.as_bytes()) {
                    Ok(method) if m.bytes().all(|b| b.is_ascii_uppercase()) => Some(method),
                    _ => {
                        problems.push(format!(
                            "{name}.methods: {m:?} is not an upper-case HTTP method"
                        ));
                        None
                    }
                })
                .collect::<Vec<_>>(),
        ),
    };
    let anonymous = file.anonymous.unwrap_or(false);
    let requirement = requirement(&name, &file, problems);
    if anonymous && requirement.is_some() {
        problems.push(format!(
            "{name}: anonymous = true cannot be combined with roles_any, roles_all, scopes_any \
             or caller (an anonymous request has none)"
        ));
    }
    let upstream = match file.upstream.as_deref() {
        Some(text) => upstream(&format!("{name}.upstream"), text, problems),
        None => {
            if default_upstream.is_none() {
                problems.push(format!(
                    "{name}: no upstream; set the top-level `upstream` or this route's"
                ));
            }
            default_upstream.cloned()
        }
    };
    let timeout = match file.timeout {
        Some(0) => {
            problems.push(format!("{name}.timeout: must be at least 1 second"));
            default_timeout
        }
        Some(seconds) => Duration::from_secs(seconds),
        None => default_timeout,
    };
    if problems.len() > before {
        return None;
    }
    Some(Route {
        pattern: pattern?,
        methods,
        requirement,
        anonymous,
        upstream: upstream?,
        timeout,
    })
}

/// The route's rule as the library's [`Requirement`]: `roles_any` and
/// `scopes_any` together are scope-or-app-permission; everything listed
/// must hold.
fn requirement(name: &str, file: &RouteFile, problems: &mut Vec<String>) -> Option<Requirement> {
    let mut parts = Vec::new();
    let non_empty = |key: &str, list: &Option<Vec<String>>, problems: &mut Vec<String>| match list {
        Some(items) if items.is_empty() || items.iter().any(|i| i.trim().is_empty()) => {
            problems.push(format!(
                "{name}.{key}: list at least one non-empty name, or leave it out"
            ));
            None
        }
        other => other.clone(),
    };
    let roles_any = non_empty("roles_any", &file.roles_any, problems);
    let roles_all = non_empty("roles_all", &file.roles_all, problems);
    let scopes_any = non_empty("scopes_any", &file.scopes_any, problems);
    match (roles_any, scopes_any) {
        (Some(roles), Some(scopes)) => {
            parts.push(Requirement::scope_or_app_permission(scopes, roles));
        }
        (Some(roles), None) => parts.push(Requirement::any_role(roles)),
        (None, Some(scopes)) => parts.push(Requirement::any_scope(scopes)),
        (None, None) => {}
    }
    if let Some(roles) = roles_all {
        parts.push(Requirement::all_roles(roles));
    }
    match file.caller.as_deref() {
        None => {}
        Some("user") => parts.push(Requirement::delegated()),
        Some("app") => parts.push(Requirement::app_only()),
        Some(other) => problems.push(format!(
            "{name}.caller: {other:?} is neither \"user\" nor \"app\""
        )),
    }
    let mut parts = parts.into_iter();
    let first = parts.next()?;
    Some(parts.fold(first, Requirement::and))
}

const TOP_KEYS: &[&str] = &[
    "listen",
    "admin_listen",
    "upstream",
    "tls_cert",
    "tls_key",
    "auth",
    "timeouts",
    "routes",
];
const AUTH_KEYS: &[&str] = &[
    "authority",
    "audiences",
    "tenants",
    "ca_file",
    "forward_token",
    "token_cache",
    "token_version",
];
const TIMEOUT_KEYS: &[&str] = &["connect", "upstream", "idle"];
const ROUTE_KEYS: &[&str] = &[
    "path",
    "methods",
    "roles_any",
    "roles_all",
    "scopes_any",
    "caller",
    "anonymous",
    "upstream",
    "timeout",
];

#[cfg(test)]
mod tests {
    use super::*;

    const AUTH: &str = r#"
        [auth]
        authority = "http://127.0.0.1:9/tenant"
        audiences = ["api://orders"]
    "#;

    fn problems(text: &str) -> Vec<String> {
        Config::parse(text, Path::new(".")).unwrap_err().problems
    }

    #[test]
    fn lists_every_problem() {
        let text = r#"
            listen = "nowhere"
            listn = "typo"
            upstream = "ftp://x"
            [auth]
            authority = "http://example.com/t"
            audiences = []
            forward_tokens = true
            token_version = 3
            [timeouts]
            connect = 0
            [[routes]]
            path = "orders"
            methods = ["get"]
            [[routes]]
            path = "/a/{id}"
            anonymous = true
            roles_any = ["X"]
            caller = "robot"
            timeout = "soon"
        "#;
        let found = problems(text);
        for expected in [
            "listen:",
            "unknown key `listn`",
            "upstream:",
            "auth.audiences",
            "unknown key `forward_tokens` in [auth]",
            "auth.token_version: expected 1 or 2",
            "timeouts.connect",
            "routes[0].path",
            "routes[0].methods",
            "routes[1]: anonymous = true cannot",
            "routes[1].caller",
            "routes[1].timeout",
        ] {
            assert!(
                found.iter().any(|p| p.contains(expected)),
                "{expected:?} missing from {found:#?}"
            );
        }
    }

    #[test]
    fn library_problems_are_reported_too() {
        let text = r#"
            listen = "127.0.0.1:0"
            upstream = "http://127.0.0.1:1"
            [auth]
            authority = "http://example.com/tenant"
            audiences = ["api://orders"]
            [[routes]]
            path = "/*"
        "#;
        let found = problems(text);
        assert!(
            found.iter().any(|p| p.contains("must come over https")),
            "{found:?}"
        );
    }

    #[test]
    fn route_rules_become_library_requirements() {
        let text = format!(
            r#"
            listen = "127.0.0.1:0"
            upstream = "http://127.0.0.1:1"
            {AUTH}
            [[routes]]
            path = "/read"
            roles_any = ["Orders.Read"]
            scopes_any = ["access_as_user"]
            [[routes]]
            path = "/admin/*"
            roles_all = ["A", "B"]
            caller = "user"
            [[routes]]
            path = "/public"
            anonymous = true
            "#
        );
        let config = Config::parse(&text, Path::new(".")).unwrap();
        assert_eq!(
            config.routes[0].requirement,
            Some(Requirement::scope_or_app_permission(
                ["access_as_user"],
                ["Orders.Read"]
            ))
        );
        assert_eq!(
            config.routes[1].requirement,
            Some(Requirement::all_roles(["A", "B"]).and(Requirement::delegated()))
        );
        assert_eq!(config.routes[2].requirement, None);
        assert!(config.routes[2].anonymous);
        assert!(!config.auth.forward_token && config.auth.token_cache);
    }

    #[test]
    fn syntax_errors_are_one_problem() {
        assert_eq!(problems("listen = ").len(), 1);
    }

    #[test]
    fn multi_tenant_authorities_need_tenants() {
        let text = r#"
            listen = "127.0.0.1:0"
            upstream = "http://127.0.0.1:1"
            [auth]
            authority = "https://login.microsoftonline.com/organizations"
            audiences = ["api://orders"]
            [[routes]]
            path = "/*"
        "#;
        assert!(problems(text).iter().any(|p| p.contains("auth.tenants")));
    }
}
