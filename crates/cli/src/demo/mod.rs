//! `rolegate demo`: the whole system on one HTTPS origin — the identity
//! provider, the Orders API under `/api` and the single-page app under
//! `/demo/` — with a built-in tenant; with `--gateway`, the API also
//! behind `rolegate gateway` on a second port.

mod gateway;

use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use clap::Args;
use rolegate_demo::assets::{APP_JS, INDEX_HTML, STYLE_CSS};
use rolegate_demo::tenant::{API, DAEMON, DAEMON_SECRET, SINGLE, SPA, TENANT_ID};
use rolegate_idp::protocol::Settings;
use rolegate_idp::protocol::response::Endpoint;
use rolegate_idp::protocol::token::{self, TokenRequest};
use rolegate_idp::protocol::tokens::IssuerContext;
use rolegate_idp::server::{self, ServerConfig, StartInfo, StoreConfig};
use rolegate_token::fetch::HttpFetcher;
use rolegate_token::issuer::TokenVersion;
use rolegate_token::{Validator, ValidatorConfig};
use serde_json::json;

use crate::exit::{Failure, Outcome};

/// Arguments of `rolegate demo`.
#[derive(Debug, Args)]
#[command(after_help = DEMO_HELP)]
pub struct DemoArgs {
    /// Where the database, keys, TLS material and the demo tenant file
    /// (`tenant.toml`, edit it freely) are kept.
    #[arg(long, value_name = "DIR", default_value = "rolegate-demo")]
    data_dir: PathBuf,

    /// HTTPS port on 127.0.0.1 for everything (provider, API, app).
    #[arg(long, value_name = "PORT", default_value_t = 8443)]
    port: u16,

    /// Access-token lifetime in seconds (short values show silent renewal).
    #[arg(long, value_name = "SECS", default_value_t = 3599)]
    access_token_lifetime: i64,

    /// Also serve the Orders API behind `rolegate gateway` (in-process,
    /// plain HTTP on 127.0.0.1:<GATEWAY_PORT>): the same role answers,
    /// decided by the proxy.
    #[arg(long)]
    gateway: bool,

    /// Port for the gateway (with --gateway).
    #[arg(
        long,
        value_name = "PORT",
        default_value_t = 8080,
        requires = "gateway"
    )]
    gateway_port: u16,
}

const DEMO_HELP: &str = "\
Open https://localhost:<PORT>/demo/ after trusting the local CA (its path is printed).
Exit codes:
  0  stopped cleanly (Ctrl-C)
  2  could not start (port in use, invalid tenant file, data folder not writable)";

/// Runs `rolegate demo` until Ctrl-C.
pub fn run(args: DemoArgs) -> Result<Outcome, Failure> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::Usage(format!("cannot start the async runtime: {e}")))?
        .block_on(serve(args))
}

async fn serve(args: DemoArgs) -> Result<Outcome, Failure> {
    // SIGTERM (a container runtime, systemd) stops as Ctrl-C does: requests
    // in progress finish. Listening starts before anything is printed, so a
    // SIGTERM sent once the provider says it runs is always handled.
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|e| Failure::Usage(format!("cannot listen for SIGTERM: {e}")))?;
    std::fs::create_dir_all(&args.data_dir).map_err(|e| {
        Failure::Usage(format!(
            "cannot create the data folder {}: {e}",
            args.data_dir.display()
        ))
    })?;
    let tenant_file = args.data_dir.join("tenant.toml");
    if !tenant_file.exists() {
        std::fs::write(&tenant_file, rolegate_demo::tenant::TOML)
            .map_err(|e| Failure::Usage(format!("cannot write {}: {e}", tenant_file.display())))?;
    }
    let config = ServerConfig {
        config_path: tenant_file.clone(),
        more_tenants: Vec::new(),
        listen: std::net::SocketAddr::from(([127, 0, 0, 1], args.port)),
        data_dir: args.data_dir.clone(),
        store: StoreConfig::Sqlite,
        tls_files: None,
        public_url: None,
        insecure_http: false,
        trusted_proxies: Vec::new(),
        limits: Default::default(),
        settings: Settings {
            access_token_lifetime: args.access_token_lifetime,
            ..Settings::default()
        },
    };
    let lifetime = args.access_token_lifetime;
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let mut build_error = None;
    let running = server::start_with(
        config,
        |info| match demo_routes(info, lifetime) {
            Ok(router) => router,
            Err(e) => {
                build_error = Some(e);
                Router::new()
            }
        },
        async move {
            let _ = stop_rx.await;
        },
    )
    .await
    .map_err(|e| Failure::Usage(e.to_string()))?;
    if let Some(e) = build_error {
        let _ = stop_tx.send(());
        return Err(e);
    }
    let proxy = if args.gateway {
        match gateway::start(&running.origin, &running.ca_path, args.gateway_port).await {
            Ok(proxy) => Some(proxy),
            Err(e) => {
                let _ = stop_tx.send(());
                return Err(e);
            }
        }
    } else {
        None
    };
    let gateway_lines = proxy
        .as_ref()
        .map(|proxy| gateway_banner(&running.origin, &running.ca_path, proxy.address()))
        .unwrap_or_default();
    print_banner(
        &running.origin,
        &running.ca_path,
        &tenant_file,
        &args.data_dir,
        &gateway_lines,
    );
    let mut task = running.task;
    tokio::select! {
        _ = async {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = terminate.recv() => {}
            }
        } => {
            eprintln!("stopping the demo");
            if let Some(proxy) = proxy {
                proxy.stop().await;
            }
            let _ = stop_tx.send(());
            let _ = task.await;
            Ok(Outcome::Passed)
        }
        result = &mut task => match result {
            Ok(Ok(())) => Ok(Outcome::Passed),
            Ok(Err(e)) => Err(Failure::Unavailable(e.to_string())),
            Err(e) => Err(Failure::Unavailable(format!("the server task failed: {e}"))),
        },
    }
}

fn print_banner(
    origin: &str,
    ca: &std::path::Path,
    tenant_file: &std::path::Path,
    data_dir: &std::path::Path,
    gateway_lines: &str,
) {
    let ca = std::fs::canonicalize(ca).unwrap_or_else(|_| ca.to_path_buf());
    eprintln!(
        "rolegate demo is running\n\
         \n  app:        {origin}/demo/\
         \n  API:        {origin}/api/me, {origin}/api/orders\
         \n  authority:  {origin}/{TENANT_ID}  (contoso.test)\
         \n  portal:     {origin}/{TENANT_ID}/portal/  (sign in as alice: apps, roles, users, groups, consents)\
         \n  tenant:     {} (copy and edit it for your own apps)\
         \n\n  users (password):\
         \n    alice@contoso.test (alice-Passw0rd)  Orders.Admin; Global Administrator (the portal)\
         \n    bob@contoso.test   (bob-Passw0rd)    Orders.Read, through the group \"Order Readers\"\
         \n    carol@contoso.test (carol-Passw0rd)  no role\
         \n  daemon: client {DAEMON}, application permission Orders.Read\
         \n\n  trust the local CA once: {}\
         \n    browsers: import it as a trusted authority (Chrome: Settings > Privacy and security > Security > Manage certificates)\
         \n    node:     export NODE_EXTRA_CA_CERTS={}\
         \n    python:   verify=\"{}\"\
         \n\n  is the API safe? rolegate probe {origin}/api/orders --data-dir {} --audience {API} --role Orders.Read --scope access_as_user\
         {gateway_lines}\
         \n\nCtrl-C stops it.",
        tenant_file.display(),
        ca.display(),
        ca.display(),
        ca.display(),
        data_dir.display(),
    );
}

/// The banner's lines on calling the API through the gateway.
fn gateway_banner(origin: &str, ca: &std::path::Path, address: std::net::SocketAddr) -> String {
    let ca = std::fs::canonicalize(ca).unwrap_or_else(|_| ca.to_path_buf());
    format!(
        "\n\n  gateway: http://{address}/orders, /orders/{{id}}, /me: the Orders API behind rolegate gateway\
         \n    (GET /orders: scope access_as_user or app role Orders.Read/Orders.Admin; POST and DELETE: Orders.Admin;\
         \n     anything else: 404 no_route; the API checks the forwarded token again)\
         \n    TOKEN=$(curl -s --cacert {ca} -X POST -H 'Origin: {origin}' {origin}/demo/daemon-token | jq -r .access_token)\
         \n    curl -H \"Authorization: Bearer $TOKEN\" http://{address}/orders              # 200: the daemon has Orders.Read\
         \n    curl -X DELETE -H \"Authorization: Bearer $TOKEN\" http://{address}/orders/1  # 403 missing_role, from the gateway",
        ca = ca.display(),
    )
}

/// The API under `/api`, the app under `/demo/`, and the app's helpers.
fn demo_routes(info: &StartInfo, access_token_lifetime: i64) -> Result<Router, Failure> {
    let ca = std::fs::read(&info.ca_path)
        .map_err(|e| Failure::Usage(format!("cannot read the local CA: {e}")))?;
    let fetcher = HttpFetcher::with_options(std::time::Duration::from_secs(10), 1 << 20, &[&ca])
        .map_err(|e| Failure::Usage(e.to_string()))?;
    let validator = Validator::new(
        ValidatorConfig::entra_authority(format!("{}/{TENANT_ID}", info.origin), API)
            .audiences([API, SINGLE])
            // Both registrations request v2.0 tokens; Entra issues no v1.0
            // token for them, so none is accepted (`rolegate probe` checks).
            .versions([TokenVersion::V2])
            .fetcher(Arc::new(fetcher)),
    )
    .map_err(|e| Failure::Usage(e.to_string()))?;
    let config = json!({
        "authority": format!("{}/{TENANT_ID}", info.origin),
        "tenantId": TENANT_ID,
        "redirectUri": format!("{}/demo/", info.origin),
        "api": "/api",
        "accessTokenLifetime": access_token_lifetime,
        "variants": {
            "separate": {
                "label": "SPA and API: two registrations (the right setup)",
                "clientId": SPA,
                "scope": format!("api://{API}/access_as_user"),
            },
            "single": {
                "label": "One registration for SPA and API (ID token carries roles)",
                "clientId": SINGLE,
                // Like the seed and Microsoft's app-roles sample: the app
                // names itself by App ID URI. Entra grants that at sign-in;
                // a refresh that then names no resource scope gets
                // AADSTS90009 (the app sends the scope on refresh).
                "scope": format!("api://{SINGLE}/access_as_user"),
            },
        },
        "users": [
            {"upn": "alice@contoso.test", "name": "Alice Smith", "password": "alice-Passw0rd", "roles": ["Orders.Admin"]},
            {"upn": "bob@contoso.test", "name": "Bob Jones", "password": "bob-Passw0rd", "roles": ["Orders.Read"]},
            {"upn": "carol@contoso.test", "name": "Carol White", "password": "carol-Passw0rd", "roles": []},
        ],
        "daemon": {"clientId": DAEMON, "tokenPath": "/demo/daemon-token"},
    });
    let provider = Arc::clone(&info.provider);
    let origin = info.origin.clone();
    let daemon = post(move |headers: HeaderMap| {
        let provider = Arc::clone(&provider);
        let origin = origin.clone();
        async move { daemon_token(&provider, &origin, &headers).await }
    });
    Ok(Router::new()
        .nest("/api", rolegate_demo::api::router(validator))
        .route(
            "/demo",
            get(|| async { axum::response::Redirect::permanent("/demo/") }),
        )
        .route(
            "/demo/",
            get(|| async { static_file("text/html; charset=utf-8", INDEX_HTML) }),
        )
        .route(
            "/demo/app.js",
            get(|| async { static_file("text/javascript; charset=utf-8", APP_JS) }),
        )
        .route(
            "/demo/style.css",
            get(|| async { static_file("text/css; charset=utf-8", STYLE_CSS) }),
        )
        .route(
            "/demo/config.json",
            get(move || async move { axum::Json(config) }),
        )
        .route("/demo/daemon-token", daemon))
}

/// The daemon's client-credentials token, obtained server-side so the
/// secret never reaches the browser.
async fn daemon_token(
    provider: &rolegate_idp::protocol::Provider,
    origin: &str,
    headers: &HeaderMap,
) -> Response {
    // Only the demo page itself may ask (a plain same-origin POST).
    let same_origin = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()) == Some(origin);
    if !same_origin {
        return (
            StatusCode::FORBIDDEN,
            "the daemon token is for the demo page only",
        )
            .into_response();
    }
    let params = [
        ("grant_type", "client_credentials".to_owned()),
        ("client_id", DAEMON.to_owned()),
        ("client_secret", DAEMON_SECRET.to_owned()),
        ("scope", format!("api://{API}/.default")),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let request = TokenRequest {
        params,
        basic: None,
        origin: None,
        tenant_segment: TENANT_ID.to_owned(),
        issuer: IssuerContext {
            origin: origin.to_owned(),
            tenant_id: TENANT_ID.to_owned(),
        },
        source: None,
        endpoint: Endpoint::V2,
    };
    match token::token(provider, &request).await {
        Ok(body) => axum::Json(body.to_json(Endpoint::V2)).into_response(),
        Err(e) => (StatusCode::BAD_GATEWAY, e.coded_message()).into_response(),
    }
}

fn static_file(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
            (header::CONTENT_SECURITY_POLICY, "default-src 'self'; img-src 'self' data:; frame-src 'self'; frame-ancestors 'none'"),
        ],
        body,
    )
        .into_response()
}
