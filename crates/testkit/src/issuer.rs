//! A stand-in for Entra's discovery and key endpoints, over real HTTP on
//! loopback.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};
use tokio::task::JoinHandle;

use crate::claims::Tenant;
use crate::key::{SigningKey, jwks};

/// An OpenID Connect discovery and JWKS server on `127.0.0.1` for one tenant,
/// with Entra's paths:
///
/// - `GET /{tid}/v2.0/.well-known/openid-configuration`: v2.0 discovery
/// - `GET /{tid}/.well-known/openid-configuration`: v1.0 discovery
/// - `GET /{tid}/discovery/v2.0/keys[?appid=…]`: the JWKS
/// - `GET /common/discovery/keys`: the same JWKS (v1.0's `jwks_uri`)
///
/// Any other tenant segment gets Entra's 400 `invalid_tenant` answer. Tests
/// can swap the keys, serve a broken JWKS, take the server down, slow it
/// down, and count fetches.
///
/// The server runs as a task on the runtime that called
/// [`IssuerServer::start`]; on a current-thread runtime it only makes
/// progress while the test awaits something. Dropping the server stops it.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// use rolegate_testkit::{IssuerServer, KeyKind, SigningKey, claims};
///
/// let key = SigningKey::generate(KeyKind::EcP256);
/// let server = IssuerServer::start("my-tenant", &[&key]).await;
/// let token = key.sign(&claims::access_v2(&server.tenant(), "api://x", "client", "Read", &[]));
/// assert!(server.jwks_uri().ends_with("/my-tenant/discovery/v2.0/keys"));
/// # let _ = token;
/// # });
/// ```
pub struct IssuerServer {
    state: Arc<Shared>,
    task: JoinHandle<()>,
}

impl IssuerServer {
    /// Binds `127.0.0.1:0` and serves discovery for `tenant_id` and a JWKS
    /// of `keys`.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime, or if binding fails.
    pub async fn start(tenant_id: &str, keys: &[&SigningKey]) -> IssuerServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let address = listener.local_addr().expect("listener address");
        let state = Arc::new(Shared {
            base_url: format!("http://{address}"),
            delay: Mutex::new(Duration::ZERO),
            discovery_fetches: AtomicUsize::new(0),
            down: AtomicBool::new(false),
            jwks: Mutex::new(Jwks::Keys(public_jwks(keys))),
            jwks_fetches: AtomicUsize::new(0),
            key_issuer: Mutex::new(None),
            last_appid: Mutex::new(None),
            tenant_id: tenant_id.to_owned(),
        });
        let router = Router::new()
            .route(V2_DISCOVERY_PATH, get(v2_discovery))
            .route(V1_DISCOVERY_PATH, get(v1_discovery))
            .route(V2_KEYS_PATH, get(tenant_keys))
            .route(V1_KEYS_PATH, get(common_keys))
            .with_state(Arc::clone(&state));
        let task = tokio::spawn(async move {
            axum::serve(listener, router).await.expect("serve");
        });
        IssuerServer { state, task }
    }

    /// `http://127.0.0.1:{port}`.
    pub fn base_url(&self) -> String {
        self.state.base_url.clone()
    }

    /// `{base_url}/{tenant_id}`, the authority an MSAL-style client is
    /// configured with.
    pub fn authority(&self) -> String {
        format!("{}/{}", self.state.base_url, self.state.tenant_id)
    }

    /// The tenant as tokens from this server name it: v2.0 issuer
    /// `{base_url}/{tid}/v2.0` and v1.0 issuer `https://sts.windows.net/{tid}/`.
    pub fn tenant(&self) -> Tenant {
        Tenant::new(&self.state.tenant_id, &self.state.v2_issuer())
    }

    /// `{base_url}/{tid}/discovery/v2.0/keys`, the v2.0 `jwks_uri`.
    pub fn jwks_uri(&self) -> String {
        self.state.url(V2_KEYS_PATH)
    }

    /// Serves a JWKS of these keys from now on.
    pub fn set_keys(&self, keys: &[&SigningKey]) {
        *lock(&self.state.jwks) = Jwks::Keys(public_jwks(keys));
    }

    /// Serves `body` verbatim as the JWKS from now on, for malformed-JWKS
    /// tests. [`IssuerServer::set_key_issuer`] does not apply to it.
    pub fn set_jwks_json(&self, body: &str) {
        *lock(&self.state.jwks) = Jwks::Raw(body.to_owned());
    }

    /// While `down`, discovery and JWKS requests get 503.
    pub fn set_down(&self, down: bool) {
        self.state.down.store(down, Ordering::SeqCst);
    }

    /// Waits this long before answering each JWKS request.
    pub fn set_delay(&self, d: Duration) {
        *lock(&self.state.delay) = d;
    }

    /// How many requests the JWKS paths have received for this tenant,
    /// including those answered 503. Counted on arrival, before any delay.
    pub fn jwks_fetches(&self) -> usize {
        self.state.jwks_fetches.load(Ordering::SeqCst)
    }

    /// How many requests the discovery paths have received for this tenant,
    /// including those answered 503.
    pub fn discovery_fetches(&self) -> usize {
        self.state.discovery_fetches.load(Ordering::SeqCst)
    }

    /// When `Some`, every served JWK gets an `issuer` member with this
    /// value. Entra's v2.0 keys carry one, often a template with literal
    /// braces such as `https://login.microsoftonline.com/{tenantid}/v2.0`.
    pub fn set_key_issuer(&self, issuer: Option<&str>) {
        *lock(&self.state.key_issuer) = issuer.map(str::to_owned);
    }

    /// The `appid` query parameter of the latest JWKS request that had one.
    pub fn last_appid(&self) -> Option<String> {
        lock(&self.state.last_appid).clone()
    }
}

impl Drop for IssuerServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// What the JWKS endpoints serve.
enum Jwks {
    Keys(Vec<Value>),
    Raw(String),
}

/// State shared between the handle and the handlers.
struct Shared {
    base_url: String,
    delay: Mutex<Duration>,
    discovery_fetches: AtomicUsize,
    down: AtomicBool,
    jwks: Mutex<Jwks>,
    jwks_fetches: AtomicUsize,
    key_issuer: Mutex<Option<String>>,
    last_appid: Mutex<Option<String>>,
    tenant_id: String,
}

impl Shared {
    /// `base_url` plus a route path with `{tid}` filled in.
    fn url(&self, path: &str) -> String {
        format!(
            "{}{}",
            self.base_url,
            path.replace("{tid}", &self.tenant_id)
        )
    }

    fn v2_issuer(&self) -> String {
        format!("{}/{}/v2.0", self.base_url, self.tenant_id)
    }

    /// Counts a request for this tenant in `counter`; for any other tenant,
    /// returns Entra's `invalid_tenant` answer instead.
    fn refuse_other_tenant(&self, tenant: &str, counter: &AtomicUsize) -> Option<Response> {
        if tenant != self.tenant_id {
            return Some(invalid_tenant(tenant));
        }
        counter.fetch_add(1, Ordering::SeqCst);
        None
    }

    fn serve_discovery(&self, document: &Value) -> Response {
        if self.down.load(Ordering::SeqCst) {
            return unavailable();
        }
        json_response(StatusCode::OK, document.to_string())
    }

    async fn serve_jwks(&self, appid: Option<String>) -> Response {
        if appid.is_some() {
            *lock(&self.last_appid) = appid;
        }
        let delay = *lock(&self.delay);
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        if self.down.load(Ordering::SeqCst) {
            return unavailable();
        }
        let body = match &*lock(&self.jwks) {
            Jwks::Raw(body) => body.clone(),
            Jwks::Keys(keys) => {
                let mut keys = keys.clone();
                if let Some(issuer) = &*lock(&self.key_issuer) {
                    for key in &mut keys {
                        key["issuer"] = json!(issuer);
                    }
                }
                json!({ "keys": keys }).to_string()
            }
        };
        json_response(StatusCode::OK, body)
    }
}

type AppState = State<Arc<Shared>>;

async fn v2_discovery(State(state): AppState, Path(tenant): Path<String>) -> Response {
    if let Some(refusal) = state.refuse_other_tenant(&tenant, &state.discovery_fetches) {
        return refusal;
    }
    let document = json!({
        "issuer": state.v2_issuer(),
        "authorization_endpoint": state.url(V2_AUTHORIZE_PATH),
        "token_endpoint": state.url(V2_TOKEN_PATH),
        "jwks_uri": state.url(V2_KEYS_PATH),
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code"],
        "subject_types_supported": ["pairwise"],
    });
    state.serve_discovery(&document)
}

async fn v1_discovery(State(state): AppState, Path(tenant): Path<String>) -> Response {
    if let Some(refusal) = state.refuse_other_tenant(&tenant, &state.discovery_fetches) {
        return refusal;
    }
    let document = json!({
        "issuer": format!("https://sts.windows.net/{}/", state.tenant_id),
        "authorization_endpoint": state.url(V1_AUTHORIZE_PATH),
        "token_endpoint": state.url(V1_TOKEN_PATH),
        "jwks_uri": state.url(V1_KEYS_PATH),
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code"],
        "subject_types_supported": ["pairwise"],
    });
    state.serve_discovery(&document)
}

async fn tenant_keys(
    State(state): AppState,
    Path(tenant): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if let Some(refusal) = state.refuse_other_tenant(&tenant, &state.jwks_fetches) {
        return refusal;
    }
    state.serve_jwks(query.get("appid").cloned()).await
}

async fn common_keys(
    State(state): AppState,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    state.jwks_fetches.fetch_add(1, Ordering::SeqCst);
    state.serve_jwks(query.get("appid").cloned()).await
}

fn public_jwks(keys: &[&SigningKey]) -> Vec<Value> {
    match jwks(keys) {
        Value::Object(mut document) => match document.remove("keys") {
            Some(Value::Array(keys)) => keys,
            _ => unreachable!("jwks() has a keys array"),
        },
        _ => unreachable!("jwks() is an object"),
    }
}

/// Entra's answer for an unknown tenant (AADSTS90002).
fn invalid_tenant(tenant: &str) -> Response {
    let body = json!({
        "error": "invalid_tenant",
        "error_description": format!(
            "AADSTS90002: Tenant '{tenant}' not found. Check to make sure you have the correct \
             tenant ID and are signing into the correct cloud."
        ),
        "error_codes": [90002],
    });
    json_response(StatusCode::BAD_REQUEST, body.to_string())
}

fn unavailable() -> Response {
    let body = json!({
        "error": "temporarily_unavailable",
        "error_description": "the test issuer is down",
    });
    json_response(StatusCode::SERVICE_UNAVAILABLE, body.to_string())
}

fn json_response(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

// Paths shared by the router and the discovery documents. `{tid}` is the
// router's capture and is filled in with the tenant id in documents.
const V2_DISCOVERY_PATH: &str = "/{tid}/v2.0/.well-known/openid-configuration";
const V1_DISCOVERY_PATH: &str = "/{tid}/.well-known/openid-configuration";
const V2_KEYS_PATH: &str = "/{tid}/discovery/v2.0/keys";
const V1_KEYS_PATH: &str = "/common/discovery/keys";
const V2_AUTHORIZE_PATH: &str = "/{tid}/oauth2/v2.0/authorize";
const V2_TOKEN_PATH: &str = "/{tid}/oauth2/v2.0/token";
const V1_AUTHORIZE_PATH: &str = "/{tid}/oauth2/authorize";
const V1_TOKEN_PATH: &str = "/{tid}/oauth2/token";
