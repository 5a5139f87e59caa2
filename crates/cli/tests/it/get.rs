//! `rolegate token get` against a loopback authority with Entra's discovery
//! and token endpoint shapes (spec §1.5, §1.6, §9.1).

use std::collections::HashMap;
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use aws_lc_rs::digest;
use axum::extract::{Form, Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rolegate_testkit::SigningKey;
use rolegate_testkit::claims::{self, Tenant};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::task::JoinHandle;
use url::Url;

use crate::{API, CLIENT, TENANT_ID, code, json, rolegate, rolegate_env, stderr, stdout};

const SECRET: &str = "s3cr3t~value";
const DEVICE_CODE: &str = "GAQABAAEAAAD-device-code";
const AUTH_CODE: &str = "1.AXEA-auth-code";

/// A loopback authority: discovery, authorize, token and device code
/// endpoints under `/{tid}`.
struct Authority {
    base: String,
    state: Arc<Shared>,
    task: JoinHandle<()>,
}

struct Shared {
    access_token: String,
    key: SigningKey,
    tenant: Tenant,
    token_requests: AtomicUsize,
    device_polls: AtomicUsize,
    /// What the last authorize request asked for.
    authorize: Mutex<HashMap<String, String>>,
}

impl Authority {
    async fn start() -> Authority {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let key = SigningKey::rsa_2048();
        let tenant = Tenant::new(TENANT_ID, &format!("{base}/{TENANT_ID}/v2.0"));
        let access_token = key.sign(&claims::app_only_v2(&tenant, API, CLIENT, &["Orders.Sync"]));
        let state = Arc::new(Shared {
            access_token,
            key,
            tenant,
            token_requests: AtomicUsize::new(0),
            device_polls: AtomicUsize::new(0),
            authorize: Mutex::new(HashMap::new()),
        });
        let router = Router::new()
            .route(
                "/{tid}/v2.0/.well-known/openid-configuration",
                get(discovery),
            )
            .route("/{tid}/oauth2/v2.0/authorize", get(authorize))
            .route("/{tid}/oauth2/v2.0/token", post(token))
            .route("/{tid}/oauth2/v2.0/devicecode", post(devicecode))
            .with_state(Arc::clone(&state));
        let task = tokio::spawn(async move {
            axum::serve(listener, router).await.unwrap();
        });
        Authority { base, state, task }
    }

    fn authority(&self) -> String {
        format!("{}/{TENANT_ID}", self.base)
    }

    fn token_requests(&self) -> usize {
        self.state.token_requests.load(Ordering::SeqCst)
    }
}

impl Drop for Authority {
    fn drop(&mut self) {
        self.task.abort();
    }
}

type AppState = State<Arc<Shared>>;

/// v2 discovery without `device_authorization_endpoint`, so that the CLI
/// derives it from the token endpoint as msal-node does.
async fn discovery(State(state): AppState, Path(tid): Path<String>) -> Json<Value> {
    let base = state.tenant.v2_issuer.trim_end_matches("/v2.0").to_owned();
    assert_eq!(tid, TENANT_ID);
    Json(json!({
        "issuer": state.tenant.v2_issuer,
        "authorization_endpoint": format!("{base}/oauth2/v2.0/authorize"),
        "token_endpoint": format!("{base}/oauth2/v2.0/token"),
        "jwks_uri": format!("{base}/discovery/v2.0/keys"),
    }))
}

/// Records the request and redirects straight back with a code, as if the
/// user had signed in.
async fn authorize(
    State(state): AppState,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let mut redirect = Url::parse(&query["redirect_uri"]).unwrap();
    redirect
        .query_pairs_mut()
        .append_pair("code", AUTH_CODE)
        .append_pair("state", &query["state"])
        .append_pair("session_state", "0a1b2c3d");
    *state.authorize.lock().unwrap() = query;
    (
        StatusCode::FOUND,
        [(header::LOCATION, redirect.to_string())],
    )
        .into_response()
}

async fn devicecode(Form(form): Form<HashMap<String, String>>) -> Response {
    assert_eq!(form["client_id"], CLIENT);
    Json(json!({
        "device_code": DEVICE_CODE,
        "user_code": "ABCD-EFGH",
        "verification_uri": "https://microsoft.com/devicelogin",
        "expires_in": 900,
        "interval": 1,
        "message": "To sign in, use a web browser to open the page https://microsoft.com/devicelogin and enter the code ABCD-EFGH to authenticate.",
    }))
    .into_response()
}

async fn token(State(state): AppState, Form(form): Form<HashMap<String, String>>) -> Response {
    state.token_requests.fetch_add(1, Ordering::SeqCst);
    let field = |name: &str| form.get(name).map(String::as_str).unwrap_or_default();
    if field("client_id") != CLIENT {
        return entra_error(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            700016,
            "AADSTS700016: Application with identifier 'x' was not found in the directory.",
        );
    }
    match field("grant_type") {
        "client_credentials" => {
            if field("client_secret") != SECRET {
                return entra_error(
                    StatusCode::UNAUTHORIZED,
                    "invalid_client",
                    7000215,
                    "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app 'c3d4e5f6-a7b8-4c9d-8e0f-1a2b3c4d5e6f'.",
                );
            }
            if field("scope") != format!("api://{API}/.default") {
                return entra_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_scope",
                    1002012,
                    "AADSTS1002012: The provided value for scope is not valid.",
                );
            }
            Json(json!({
                "token_type": "Bearer",
                "expires_in": 3599,
                "ext_expires_in": 3599,
                "access_token": state.access_token,
            }))
            .into_response()
        }
        "urn:ietf:params:oauth:grant-type:device_code" => {
            assert_eq!(field("device_code"), DEVICE_CODE);
            if state.device_polls.fetch_add(1, Ordering::SeqCst) == 0 {
                return entra_error(
                    StatusCode::BAD_REQUEST,
                    "authorization_pending",
                    70016,
                    "AADSTS70016: OAuth 2.0 device flow error. Authorization is pending.",
                );
            }
            user_tokens(&state, None)
        }
        "authorization_code" => {
            let asked = state.authorize.lock().unwrap().clone();
            let challenge = URL_SAFE_NO_PAD.encode(digest::digest(
                &digest::SHA256,
                field("code_verifier").as_bytes(),
            ));
            if field("code") != AUTH_CODE
                || field("redirect_uri") != asked["redirect_uri"]
                || asked["code_challenge_method"] != "S256"
                || challenge != asked["code_challenge"]
            {
                return entra_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    501481,
                    "AADSTS501481: The Code_Verifier does not match the code_challenge supplied in the authorization request.",
                );
            }
            user_tokens(&state, asked.get("nonce").map(String::as_str))
        }
        other => panic!("unexpected grant_type {other}"),
    }
}

/// A delegated token response with an ID token echoing `nonce`.
fn user_tokens(state: &Shared, nonce: Option<&str>) -> Response {
    let id_token = state
        .key
        .sign(&claims::id_token_v2(&state.tenant, CLIENT, nonce, &[]));
    Json(json!({
        "token_type": "Bearer",
        "scope": format!("api://{API}/access_as_user openid profile"),
        "expires_in": 4385,
        "ext_expires_in": 4385,
        "access_token": state.access_token,
        "id_token": id_token,
    }))
    .into_response()
}

/// Entra's error shape (spec §9.1).
fn entra_error(status: StatusCode, error: &str, code: u64, first_line: &str) -> Response {
    let body = json!({
        "error": error,
        "error_description": format!("{first_line}\r\nTrace ID: 4b5c6d7e-0000-4000-8000-000000000000\r\nCorrelation ID: 5c6d7e8f-0000-4000-8000-000000000000\r\nTimestamp: 2026-11-30 09:44:52Z"),
        "error_codes": [code],
        "timestamp": "2026-11-30 09:44:52Z",
        "trace_id": "4b5c6d7e-0000-4000-8000-000000000000",
        "correlation_id": "5c6d7e8f-0000-4000-8000-000000000000",
        "error_uri": format!("https://login.microsoftonline.com/error?code={code}"),
    });
    (status, Json(body)).into_response()
}

fn client_credentials_args<'a>(authority: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "token",
        "get",
        "--client-credentials",
        "--authority",
        authority,
        "--client-id",
        CLIENT,
    ];
    args.extend_from_slice(extra);
    args
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_credentials_prints_only_the_token() {
    let server = Authority::start().await;
    let authority = server.authority();
    let scope = format!("api://{API}/.default");
    let args = client_credentials_args(&authority, &["--scope", &scope]);
    let out = rolegate_env(&args, None, &[("ROLEGATE_CLIENT_SECRET", SECRET)]).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(stdout(&out), format!("{}\n", server.state.access_token));
    assert!(!stderr(&out).contains(SECRET));
    assert!(!stderr(&out).contains(&server.state.access_token));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_credentials_json_is_the_whole_response() {
    let server = Authority::start().await;
    let authority = server.authority();
    let scope = format!("api://{API}/.default");
    let args = client_credentials_args(
        &authority,
        &["--scope", &scope, "--client-secret", SECRET, "--json"],
    );
    let out = rolegate(&args, None).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(
        json(&out),
        json!({
            "token_type": "Bearer",
            "expires_in": 3599,
            "ext_expires_in": 3599,
            "access_token": server.state.access_token,
        })
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_secret_exits_1_with_the_aadsts_code() {
    let server = Authority::start().await;
    let authority = server.authority();
    let scope = format!("api://{API}/.default");
    let args = client_credentials_args(&authority, &["--scope", &scope]);
    let out = rolegate_env(&args, None, &[("ROLEGATE_CLIENT_SECRET", "wrong-secret")]).await;
    assert_eq!(code(&out), 1);
    assert!(stdout(&out).is_empty());
    let message = stderr(&out);
    assert!(message.contains("invalid_client"), "{message}");
    assert!(message.contains("AADSTS7000215"), "{message}");
    assert!(message.contains("Secret ID"), "{message}");
    assert!(
        !message.contains("Trace ID"),
        "only the first line: {message}"
    );
    assert!(!message.contains("wrong-secret"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_credentials_scope_must_be_dot_default() {
    let server = Authority::start().await;
    let authority = server.authority();
    for extra in [
        &["--scope", "api://orders/Orders.Read"][..],
        &[],
        &["--scope", "api://a/.default", "--scope", "api://b/.default"],
    ] {
        let mut args = client_credentials_args(&authority, extra);
        args.extend_from_slice(&["--client-secret", SECRET]);
        let out = rolegate(&args, None).await;
        assert_eq!(code(&out), 2, "{extra:?}");
        assert!(stderr(&out).contains("/.default"), "{}", stderr(&out));
    }
    let out = rolegate(
        &client_credentials_args(&authority, &["--scope", "api://a/.default"]),
        None,
    )
    .await;
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("ROLEGATE_CLIENT_SECRET"));
    assert_eq!(server.token_requests(), 0, "usage errors send nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_authority_exits_2_naming_the_url() {
    let authority = format!("http://127.0.0.1:1/{TENANT_ID}");
    let args = client_credentials_args(
        &authority,
        &["--scope", "api://a/.default", "--client-secret", SECRET],
    );
    let out = rolegate(&args, None).await;
    assert_eq!(code(&out), 2);
    let message = stderr(&out);
    assert!(
        message.contains(&format!(
            "{authority}/v2.0/.well-known/openid-configuration"
        )),
        "{message}"
    );
    assert!(message.contains("Connection refused"), "{message}");

    let args = client_credentials_args(
        "http://login.example.com/tenant",
        &["--scope", "api://a/.default", "--client-secret", SECRET],
    );
    let out = rolegate(&args, None).await;
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("https"), "{}", stderr(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_code_prints_the_code_and_polls() {
    let server = Authority::start().await;
    let authority = server.authority();
    let scope = format!("api://{API}/access_as_user");
    let args = [
        "token",
        "get",
        "--device-code",
        "--authority",
        &authority,
        "--client-id",
        CLIENT,
        "--scope",
        &scope,
        "--json",
    ];
    let out = rolegate(&args, None).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stderr(&out).contains("ABCD-EFGH"), "{}", stderr(&out));
    let response = json(&out);
    assert_eq!(response["access_token"], json!(server.state.access_token));
    assert!(response["id_token"].is_string());
    assert_eq!(server.state.device_polls.load(Ordering::SeqCst), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interactive_sign_in_with_pkce_and_a_loopback_redirect() {
    let server = Authority::start().await;
    let authority = server.authority();
    let scope = format!("api://{API}/access_as_user");
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_rolegate"))
        .args([
            "token",
            "get",
            "--authority",
            &authority,
            "--client-id",
            CLIENT,
            "--scope",
            &scope,
            "--timeout",
            "60",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let url = loop {
        let line = lines.next_line().await.unwrap().expect("an authorize URL");
        if let Some(url) = line
            .trim()
            .strip_prefix(&format!("{authority}/oauth2/v2.0/authorize?"))
        {
            break format!("{authority}/oauth2/v2.0/authorize?{url}");
        }
    };
    // The browser: follow the authority's redirect to the loopback listener.
    let page = reqwest::get(&url).await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(
        page.text()
            .await
            .unwrap()
            .contains("You can close this tab")
    );
    let out = child.wait_with_output().await.unwrap();
    assert_eq!(code(&out), 0);
    assert_eq!(stdout(&out), format!("{}\n", server.state.access_token));

    let asked = server.state.authorize.lock().unwrap().clone();
    assert_eq!(asked["response_type"], "code");
    assert_eq!(asked["code_challenge_method"], "S256");
    assert_eq!(asked["code_challenge"].len(), 43);
    assert!(asked["redirect_uri"].starts_with("http://localhost:"));
    assert!(asked["scope"].split(' ').any(|s| s == scope));
    assert!(asked["scope"].split(' ').any(|s| s == "openid"));
    assert!(!asked["state"].is_empty() && !asked["nonce"].is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interactive_sign_in_refuses_a_forged_redirect() {
    let server = Authority::start().await;
    let authority = server.authority();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_rolegate"))
        .args([
            "token",
            "get",
            "--authority",
            &authority,
            "--client-id",
            CLIENT,
            "--scope",
            "api://x/y",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let redirect = loop {
        let line = lines.next_line().await.unwrap().expect("a waiting line");
        if let Some(rest) = line.strip_prefix("Waiting for the redirect to ") {
            break rest.split(' ').next().unwrap().to_owned();
        }
    };
    let redirect = redirect.replace("localhost", "127.0.0.1");
    // Unrelated requests are ignored; a wrong state ends the sign-in.
    let favicon = reqwest::get(format!("{redirect}favicon.ico"))
        .await
        .unwrap();
    assert_eq!(favicon.status(), 404);
    let forged = reqwest::get(format!("{redirect}?code=stolen&state=guessed"))
        .await
        .unwrap();
    assert_eq!(forged.status(), 400);
    let mut rest = String::new();
    while let Some(line) = lines.next_line().await.unwrap() {
        rest.push_str(&line);
        rest.push('\n');
    }
    let status = child.wait().await.unwrap();
    assert_eq!(status.code(), Some(1));
    assert!(rest.contains("state does not match"), "{rest}");
    assert_eq!(server.token_requests(), 0);
}
