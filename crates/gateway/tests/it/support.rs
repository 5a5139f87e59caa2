//! The test environment: issuer, echo upstream, gateway, client.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Request, Response, StatusCode};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use rolegate_gateway::{Config, Gateway, Running};
use rolegate_testkit::claims;
use rolegate_testkit::{IssuerServer, SigningKey};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::{Notify, mpsc};

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
pub type TestBody = BoxBody<Bytes, BoxError>;

pub const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
/// The API's client id (the audience).
pub const API: &str = "6e74172b-be56-4843-9ff4-e66a39bb12e3";
/// The calling client application.
pub const CLIENT: &str = "0b1a2c3d-4e5f-6789-abcd-ef0123456789";

/// Issuer, upstream, gateway and a client, all on loopback.
pub struct Env {
    pub issuer: IssuerServer,
    pub key: SigningKey,
    pub upstream: Echo,
    pub gateway: Running,
    pub config_path: PathBuf,
    client: Client<HttpConnector, TestBody>,
}

/// A reply, fully read.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", String::from_utf8_lossy(&self.body)))
    }

    /// The headers the echo upstream received.
    pub fn seen(&self) -> Value {
        self.json()["headers"].clone()
    }

    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap())
            .unwrap_or_else(|| panic!("no {name} in {:?}", self.headers))
    }

    /// Asserts a refusal: status, body code, `detail` and `hint` present.
    pub fn assert_refused(&self, status: u16, code: &str) {
        assert_eq!(self.status.as_u16(), status, "{:?}", self.body);
        let body = self.json();
        assert_eq!(body["code"], code, "{body}");
        assert!(
            body["detail"].as_str().is_some_and(|d| !d.is_empty()),
            "{body}"
        );
        assert!(
            body["hint"].as_str().is_some_and(|h| !h.is_empty()),
            "{body}"
        );
    }
}

impl Env {
    /// A gateway with `routes` (TOML `[[routes]]` tables) and the default
    /// upstream the echo server.
    pub async fn start(routes: &str) -> Env {
        Env::start_with(routes, "").await
    }

    /// Same, with extra `[auth]` keys.
    pub async fn start_with(routes: &str, auth_extra: &str) -> Env {
        Env::start_inner(routes, auth_extra, false).await
    }

    /// Same, optionally with the issuer down when the gateway starts.
    pub async fn start_inner(routes: &str, auth_extra: &str, issuer_down: bool) -> Env {
        Env::start_in(
            temp_path("gateway.toml"),
            "",
            routes,
            auth_extra,
            issuer_down,
        )
        .await
    }

    /// A gateway whose configuration is written to `config_path`, with
    /// `top_extra` top-level keys.
    pub async fn start_in(
        config_path: PathBuf,
        top_extra: &str,
        routes: &str,
        auth_extra: &str,
        issuer_down: bool,
    ) -> Env {
        let key = SigningKey::rsa_2048();
        let issuer = IssuerServer::start(TENANT, &[&key]).await;
        issuer.set_down(issuer_down);
        let upstream = Echo::start("main").await;
        let text = format!(
            "{top_extra}\n{}",
            config_text(&issuer, upstream.address, routes, auth_extra)
        );
        std::fs::write(&config_path, &text).unwrap();
        let config = Config::load(&config_path).unwrap();
        let gateway = Gateway::new(config).start().await.unwrap();
        let client = Client::builder(TokioExecutor::new()).build_http();
        Env {
            issuer,
            key,
            upstream,
            gateway,
            config_path,
            client,
        }
    }

    /// Rewrites the configuration file with other routes.
    pub fn write_routes(&self, routes: &str) {
        let text = config_text(&self.issuer, self.upstream.address, routes, "");
        std::fs::write(&self.config_path, text).unwrap();
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.gateway.address())
    }

    pub fn admin_url(&self, path: &str) -> String {
        format!("http://{}{path}", self.gateway.admin_address().unwrap())
    }

    /// A delegated token for Alice.
    pub fn user_token(&self, scp: &str, roles: &[&str]) -> String {
        self.key.sign(&claims::access_v2(
            &self.issuer.tenant(),
            API,
            CLIENT,
            scp,
            roles,
        ))
    }

    /// An app-only token.
    pub fn app_token(&self, roles: &[&str]) -> String {
        self.key.sign(&claims::app_only_v2(
            &self.issuer.tenant(),
            API,
            CLIENT,
            roles,
        ))
    }

    /// A signed token with these claims changed.
    pub fn user_token_with(&self, changes: Value) -> String {
        let mut c = claims::access_v2(&self.issuer.tenant(), API, CLIENT, "access_as_user", &[]);
        for (k, v) in changes.as_object().unwrap() {
            claims::set(&mut c, k, v.clone());
        }
        self.key.sign(&c)
    }

    pub fn id_token(&self) -> String {
        self.key.sign(&claims::id_token_v2(
            &self.issuer.tenant(),
            API,
            Some("n"),
            &[],
        ))
    }

    /// GET `path` with an optional bearer token.
    pub async fn get(&self, path: &str, token: Option<&str>) -> Reply {
        self.call("GET", path, token, &[]).await
    }

    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let mut request = Request::builder().method(method).uri(self.url(path));
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        self.send(request.body(full(Bytes::new())).unwrap()).await
    }

    pub async fn send(&self, request: Request<TestBody>) -> Reply {
        let response = tokio::time::timeout(Duration::from_secs(20), self.client.request(request))
            .await
            .expect("no answer in 20 s")
            .expect("request failed");
        read(response).await
    }

    /// The raw response, body unread.
    pub async fn send_streaming(&self, request: Request<TestBody>) -> Response<Incoming> {
        tokio::time::timeout(Duration::from_secs(20), self.client.request(request))
            .await
            .expect("no answer in 20 s")
            .expect("request failed")
    }

    /// Waits until `/readyz` answers 200 (at most 10 s).
    pub async fn ready(&self) {
        for _ in 0..100 {
            if self.gateway.gateway().is_ready() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("signing keys not loaded within 10 s");
    }
}

pub async fn read(response: Response<Incoming>) -> Reply {
    let (parts, body) = response.into_parts();
    let body = body.collect().await.unwrap().to_bytes();
    Reply {
        status: parts.status,
        headers: parts.headers,
        body,
    }
}

/// GET with a fresh client (for the admin listener).
pub async fn plain_get(url: &str) -> Reply {
    let client: Client<HttpConnector, TestBody> =
        Client::builder(TokioExecutor::new()).build_http();
    let request = Request::get(url).body(full(Bytes::new())).unwrap();
    read(client.request(request).await.unwrap()).await
}

pub fn config_text(
    issuer: &IssuerServer,
    upstream: SocketAddr,
    routes: &str,
    auth_extra: &str,
) -> String {
    format!(
        r#"
listen = "127.0.0.1:0"
admin_listen = "127.0.0.1:0"
upstream = "http://{upstream}"

[auth]
authority = "{authority}"
audiences = ["{API}"]
{auth_extra}

[timeouts]
connect = 2
upstream = 10

{routes}
"#,
        authority = issuer.authority()
    )
}

pub fn temp_path(name: &str) -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "rolegate-gateway-it-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

pub fn full(bytes: impl Into<Bytes>) -> TestBody {
    Full::new(bytes.into()).map_err(|e| match e {}).boxed()
}

/// `total` bytes generated on the fly in 64 KiB chunks.
pub struct Generated {
    pub remaining: u64,
}

impl Body for Generated {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        if self.remaining == 0 {
            return Poll::Ready(None);
        }
        let n = self.remaining.min(CHUNK as u64);
        self.remaining -= n;
        Poll::Ready(Some(Ok(Frame::data(Bytes::from(vec![b'x'; n as usize])))))
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.remaining)
    }

    fn is_end_stream(&self) -> bool {
        self.remaining == 0
    }
}

/// A body fed through a channel, for "first bytes before the end" tests.
pub struct Channel(pub mpsc::Receiver<Bytes>);

impl Body for Channel {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        self.0.poll_recv(cx).map(|o| o.map(|b| Ok(Frame::data(b))))
    }
}

/// The echo upstream. Paths:
/// - `/slow…`: answers after 3 s
/// - `/download/{n}`: `n` bytes generated on the fly
/// - `/held-download`: one chunk, then the rest only after [`Echo::release`]
/// - `/first-chunk`: answers as soon as the first request-body chunk arrives
/// - anything else: JSON `{name, method, uri, headers, body_bytes}` after
///   reading the whole request body
pub struct Echo {
    pub address: SocketAddr,
    pub release: Arc<Notify>,
    pub requests: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Echo {
    pub async fn start(name: &'static str) -> Echo {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let release = Arc::new(Notify::new());
        let requests = Arc::new(AtomicUsize::new(0));
        let (r, n) = (Arc::clone(&release), Arc::clone(&requests));
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let (release, requests) = (Arc::clone(&r), Arc::clone(&n));
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |request| {
                        requests.fetch_add(1, Ordering::Relaxed);
                        echo(name, Arc::clone(&release), request)
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Echo {
            address,
            release,
            requests,
            task,
        }
    }
}

impl Drop for Echo {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn echo(
    name: &'static str,
    release: Arc<Notify>,
    request: Request<Incoming>,
) -> Result<Response<TestBody>, Infallible> {
    let path = request.uri().path().to_owned();
    if path.starts_with("/slow") {
        tokio::time::sleep(Duration::from_secs(3)).await;
        return Ok(Response::new(full("slow")));
    }
    if let Some(n) = path.strip_prefix("/download/") {
        let remaining = n.parse().unwrap();
        return Ok(Response::new(Generated { remaining }.boxed()));
    }
    if path == "/held-download" {
        let (tx, rx) = mpsc::channel(1);
        tokio::spawn(async move {
            tx.send(Bytes::from_static(b"first")).await.unwrap();
            release.notified().await;
            let _ = tx.send(Bytes::from_static(b"-rest")).await;
        });
        return Ok(Response::new(Channel(rx).boxed()));
    }
    if path == "/first-chunk" {
        let mut body = request.into_body();
        let first = body.frame().await.unwrap().unwrap().into_data().unwrap();
        // Keep reading in the background so the client can finish.
        tokio::spawn(async move { while let Some(Ok(_)) = body.frame().await {} });
        return Ok(Response::new(full(first)));
    }
    let (parts, mut body) = request.into_parts();
    let mut body_bytes = 0u64;
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame.unwrap().into_data() {
            body_bytes += data.len() as u64;
        }
    }
    let mut headers = serde_json::Map::new();
    for (k, v) in &parts.headers {
        let value = String::from_utf8_lossy(v.as_bytes()).into_owned();
        headers
            .entry(k.as_str())
            .and_modify(|e| *e = json!(format!("{}|{value}", e.as_str().unwrap())))
            .or_insert(json!(value));
    }
    let reply = json!({
        "name": name,
        "method": parts.method.as_str(),
        "uri": parts.uri.to_string(),
        "headers": headers,
        "body_bytes": body_bytes,
    });
    let mut response = Response::new(full(reply.to_string()));
    response
        .headers_mut()
        .insert("x-echo-name", http::HeaderValue::from_static(name));
    // A hop-by-hop header the gateway must not pass back.
    response
        .headers_mut()
        .insert("keep-alive", http::HeaderValue::from_static("timeout=5"));
    Ok(response)
}

/// Tests that load the machine (or send signals to the whole process)
/// run one at a time, so that timings and counters stay meaningful.
pub static EXCLUSIVE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const CHUNK: usize = 64 * 1024;
