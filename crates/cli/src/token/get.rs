//! `rolegate token get`: obtain a token with client credentials, the device
//! code flow, or an interactive authorization code + PKCE sign-in with a
//! loopback redirect (RFC 6749 §4.1/§4.4, RFC 8628, RFC 7636, RFC 8252).
//! A confidential client authenticates with a secret or with a client
//! assertion signed by its certificate ([`super::assertion`]).
//!
//! Tokens, secrets and assertions are never logged: log lines name URLs and
//! statuses only.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use aws_lc_rs::digest;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use clap::{ArgGroup, Args};
use rolegate_token::clock::Clock;
use rolegate_token::discovery::check_transport;
use rolegate_token::jws::{self, Limits};
use serde_json::Value;
use url::Url;

use super::AuthorityArgs;
use super::assertion::{ASSERTION_TYPE, ClientCertificate};
use super::loopback::{Callback, Receiver};
use crate::exit::{Failure, Outcome, emit};
use crate::explain;

/// Arguments of `token get`.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("flow").args(["client_credentials", "device_code"])))]
pub struct GetArgs {
    #[command(flatten)]
    authority: AuthorityArgs,

    /// The application (client) id of the app that asks for the token.
    #[arg(long, value_name = "ID")]
    client_id: String,

    /// The client secret of a confidential client. Prefer the environment
    /// variable, which keeps it out of the shell history; it is never
    /// printed.
    #[arg(
        long,
        env = "ROLEGATE_CLIENT_SECRET",
        hide_env_values = true,
        value_name = "SECRET"
    )]
    client_secret: Option<ClientSecret>,

    /// Authenticate with a certificate instead of a secret: a PEM file
    /// holding the certificate registered on the app (Entra's Certificates
    /// & secrets, or `key_credentials` in a `rolegate idp` tenant) and,
    /// unless --client-key names another file, its RSA private key. Each
    /// token request carries a fresh client assertion signed with it, as
    /// msal-node signs by default: RS256 with an `x5t` (SHA-1 thumbprint)
    /// header, a random GUID `jti`, valid for 10 minutes.
    #[arg(long, value_name = "PEM")]
    client_certificate: Option<PathBuf>,

    /// The private key of --client-certificate (PEM: PKCS#8 `PRIVATE KEY`
    /// or PKCS#1 `RSA PRIVATE KEY`), when it is in a file of its own.
    #[arg(long, value_name = "PEM", requires = "client_certificate")]
    client_key: Option<PathBuf>,

    /// A scope to request, e.g. `api://<api-client-id>/access_as_user`.
    /// Repeatable. Client credentials need exactly one
    /// `<resource>/.default`.
    #[arg(long, value_name = "SCOPE")]
    scope: Vec<String>,

    /// App-only token with the client credentials grant (client id and
    /// secret or certificate, scope `<resource>/.default`).
    #[arg(long)]
    client_credentials: bool,

    /// Sign in on another device: prints a code and a URL, then polls.
    #[arg(long)]
    device_code: bool,

    /// Port for the interactive sign-in's redirect URI
    /// `http://localhost:<port>/` [default: any free port].
    #[arg(long, value_name = "PORT", conflicts_with = "flow")]
    redirect_port: Option<u16>,

    /// How long to wait for the sign-in to complete, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 300)]
    timeout: u64,

    /// Print the whole token response as JSON instead of just the access
    /// token.
    #[arg(long)]
    json: bool,
}

/// Obtains a token and prints it.
pub async fn run(args: GetArgs, clock: Arc<dyn Clock>) -> Result<Outcome, Failure> {
    let scopes = scopes(&args)?;
    let credential = Credential::from_args(&args, clock)?;
    let authority = parse_endpoint(
        "--authority",
        args.authority.authority.trim_end_matches('/'),
    )
    .map_err(Failure::Usage)?;
    let ca = super::read_ca_file(args.authority.ca_file.as_deref())?;
    let http = Http::new(ca.as_deref())?;
    let endpoints = discover(&http, &authority).await?;
    let response = if args.client_credentials {
        client_credentials(&http, &endpoints, &args, &credential, &scopes).await?
    } else if args.device_code {
        device_code(&http, &endpoints, &args, &credential, &scopes).await?
    } else {
        interactive(&http, &endpoints, &args, &credential, &scopes).await?
    };
    let text = if args.json {
        format!("{response:#}\n")
    } else {
        let token = response
            .get("access_token")
            .and_then(Value::as_str)
            .unwrap_or_default();
        format!("{token}\n")
    };
    emit(&text)?;
    Ok(Outcome::Passed)
}

/// A client secret: never shown in `Debug` output.
#[derive(Clone)]
struct ClientSecret(String);

impl fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl FromStr for ClientSecret {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(ClientSecret(s.to_owned()))
    }
}

/// How the client authenticates at the token endpoint.
#[derive(Debug)]
enum Credential {
    /// A client assertion signed with the certificate's key, fresh per request.
    Certificate(ClientCertificate, Arc<dyn Clock>),
    /// A public client.
    Nothing,
    /// A client secret.
    Secret(ClientSecret),
}

impl Credential {
    fn from_args(args: &GetArgs, clock: Arc<dyn Clock>) -> Result<Credential, Failure> {
        match (&args.client_secret, &args.client_certificate) {
            (Some(_), Some(_)) => Err(Failure::Usage(
                "pass either --client-secret (or ROLEGATE_CLIENT_SECRET) or --client-certificate, not both".to_owned(),
            )),
            (Some(secret), None) => Ok(Credential::Secret(secret.clone())),
            (None, Some(path)) => Ok(Credential::Certificate(
                ClientCertificate::load(path, args.client_key.as_deref())?,
                clock,
            )),
            (None, None) => Ok(Credential::Nothing),
        }
    }

    /// The form parameters that authenticate `client_id` at `token`.
    fn form(&self, client_id: &str, token: &Url) -> Result<Vec<(&'static str, String)>, Failure> {
        Ok(match self {
            Credential::Certificate(certificate, clock) => vec![
                ("client_assertion_type", ASSERTION_TYPE.to_owned()),
                (
                    "client_assertion",
                    certificate.assertion(client_id, token.as_str(), clock.now())?,
                ),
            ],
            Credential::Nothing => Vec::new(),
            Credential::Secret(secret) => vec![("client_secret", secret.0.clone())],
        })
    }
}

/// The scope parameter to send, after checking it suits the flow.
fn scopes(args: &GetArgs) -> Result<String, Failure> {
    if args.client_credentials {
        if args.client_secret.is_none() && args.client_certificate.is_none() {
            return Err(Failure::Usage(
                "client credentials need the client's secret or certificate: pass --client-secret (or set ROLEGATE_CLIENT_SECRET) or --client-certificate".to_owned(),
            ));
        }
        return match args.scope.as_slice() {
            [scope] if scope.ends_with("/.default") => Ok(scope.clone()),
            _ => Err(Failure::Usage(
                "client credentials need exactly one --scope of the form <resource>/.default, e.g. api://<api-client-id>/.default: an app-only token carries the application permissions an admin granted to the client, so Entra accepts only the resource's .default scope (anything else fails with AADSTS1002012)".to_owned(),
            )),
        };
    }
    if args.scope.is_empty() {
        return Err(Failure::Usage(
            "name the API's scope with --scope, e.g. api://<api-client-id>/access_as_user (a delegated scope under Expose an API) or api://<api-client-id>/.default".to_owned(),
        ));
    }
    let mut scopes = args.scope.clone();
    for oidc in ["openid", "profile"] {
        if !scopes.iter().any(|s| s == oidc) {
            scopes.push(oidc.to_owned());
        }
    }
    Ok(scopes.join(" "))
}

/// The endpoints a flow needs, from the authority's discovery document.
#[derive(Debug)]
struct Endpoints {
    authorization: Option<Url>,
    device: Url,
    token: Url,
}

/// Reads `<authority>/v2.0/.well-known/openid-configuration`, falling back
/// to `<authority>/.well-known/openid-configuration`.
async fn discover(http: &Http, authority: &Url) -> Result<Endpoints, Failure> {
    let base = authority.as_str().trim_end_matches('/');
    let candidates = match base.strip_suffix("/v2.0") {
        Some(_) => vec![format!("{base}/.well-known/openid-configuration")],
        None => vec![
            format!("{base}/v2.0/.well-known/openid-configuration"),
            format!("{base}/.well-known/openid-configuration"),
        ],
    };
    let mut failures = Vec::new();
    for candidate in candidates {
        let url = parse_endpoint("discovery", &candidate).map_err(Failure::Usage)?;
        match http.get_json(&url).await {
            Ok((200, document)) => return endpoints(&url, &document),
            Ok((status, body)) => failures.push(format!(
                "GET {url} answered HTTP {status}{}",
                error_summary(&body)
                    .map(|s| format!(": {s}"))
                    .unwrap_or_default()
            )),
            Err(e) => failures.push(e),
        }
    }
    Err(Failure::Unavailable(format!(
        "cannot read the authority's discovery document:\n  {}",
        failures.join("\n  ")
    )))
}

fn endpoints(discovery: &Url, document: &Value) -> Result<Endpoints, Failure> {
    let endpoint = |name: &str| -> Result<Option<Url>, Failure> {
        document
            .get(name)
            .and_then(Value::as_str)
            .map(|value| {
                parse_endpoint(name, value).map_err(|e| {
                    Failure::Unavailable(format!("discovery document {discovery}: {e}"))
                })
            })
            .transpose()
    };
    let token = endpoint("token_endpoint")?.ok_or_else(|| {
        Failure::Unavailable(format!(
            "discovery document {discovery} has no token_endpoint"
        ))
    })?;
    // msal-node derives the device code endpoint the same way (spec §1.6).
    let device = match endpoint("device_authorization_endpoint")? {
        Some(url) => url,
        None => {
            let mut url = token.clone();
            let path = url.path().trim_end_matches('/');
            let path = path.strip_suffix("/token").unwrap_or(path).to_owned();
            url.set_path(&format!("{path}/devicecode"));
            url
        }
    };
    Ok(Endpoints {
        authorization: endpoint("authorization_endpoint")?,
        device,
        token,
    })
}

/// The client credentials grant (RFC 6749 §4.4).
async fn client_credentials(
    http: &Http,
    endpoints: &Endpoints,
    args: &GetArgs,
    credential: &Credential,
    scope: &str,
) -> Result<Value, Failure> {
    let authentication = credential.form(&args.client_id, &endpoints.token)?;
    let mut form = vec![
        ("grant_type", "client_credentials"),
        ("client_id", args.client_id.as_str()),
        ("scope", scope),
    ];
    form.extend(authentication.iter().map(|(k, v)| (*k, v.as_str())));
    let (status, body) = http.post_form(&endpoints.token, &form).await?;
    token_response(&endpoints.token, status, body)
}

/// The device authorization grant (RFC 8628): show the code, then poll.
async fn device_code(
    http: &Http,
    endpoints: &Endpoints,
    args: &GetArgs,
    credential: &Credential,
    scope: &str,
) -> Result<Value, Failure> {
    let form = [("client_id", args.client_id.as_str()), ("scope", scope)];
    let (status, body) = http.post_form(&endpoints.device, &form).await?;
    if !(200..300).contains(&status) {
        return Err(refusal(&endpoints.device, status, &body));
    }
    let text = |name: &str| body.get(name).and_then(Value::as_str);
    let Some(device_code) = text("device_code") else {
        return Err(Failure::Unavailable(format!(
            "POST {} answered without a device_code",
            endpoints.device
        )));
    };
    match (text("message"), text("verification_uri"), text("user_code")) {
        (Some(message), _, _) => eprintln!("{message}"),
        (None, Some(uri), Some(code)) => {
            eprintln!("To sign in, open {uri} and enter the code {code} to authenticate.")
        }
        _ => {
            return Err(Failure::Unavailable(format!(
                "POST {} answered without a user_code and verification_uri",
                endpoints.device
            )));
        }
    }
    let mut interval = body
        .get("interval")
        .and_then(Value::as_u64)
        .unwrap_or(5)
        .max(1);
    let expires_in = body
        .get("expires_in")
        .and_then(Value::as_u64)
        .unwrap_or(900);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(expires_in.min(args.timeout));
    loop {
        tokio::time::sleep(Duration::from_secs(interval)).await;
        if tokio::time::Instant::now() > deadline {
            return Err(Failure::Unavailable(
                "the device code expired before the sign-in completed; run the command again"
                    .to_owned(),
            ));
        }
        let authentication = credential.form(&args.client_id, &endpoints.token)?;
        let mut form = vec![
            ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
            ("client_id", args.client_id.as_str()),
            ("device_code", device_code),
        ];
        form.extend(authentication.iter().map(|(k, v)| (*k, v.as_str())));
        let (status, body) = http.post_form(&endpoints.token, &form).await?;
        match body.get("error").and_then(Value::as_str) {
            Some("authorization_pending") => {}
            Some("slow_down") => interval += 5,
            _ => return token_response(&endpoints.token, status, body),
        }
    }
}

/// Authorization code + PKCE with a loopback redirect (RFC 7636, RFC 8252).
async fn interactive(
    http: &Http,
    endpoints: &Endpoints,
    args: &GetArgs,
    credential: &Credential,
    scope: &str,
) -> Result<Value, Failure> {
    let authorize = endpoints.authorization.as_ref().ok_or_else(|| {
        Failure::Unavailable("the discovery document has no authorization_endpoint".to_owned())
    })?;
    let verifier = random_b64url(32)?;
    let challenge = URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, verifier.as_bytes()));
    let state = random_b64url(16)?;
    let nonce = random_b64url(16)?;
    let mut receiver = Receiver::bind(args.redirect_port.unwrap_or(0), state.clone())
        .await
        .map_err(|e| Failure::Usage(format!("cannot listen on 127.0.0.1 for the redirect: {e}")))?;
    let redirect_uri = format!("http://localhost:{}/", receiver.port());
    let mut url = authorize.clone();
    url.query_pairs_mut()
        .append_pair("client_id", &args.client_id)
        .append_pair("response_type", "code")
        .append_pair("redirect_uri", &redirect_uri)
        .append_pair("response_mode", "query")
        .append_pair("scope", scope)
        .append_pair("state", &state)
        .append_pair("nonce", &nonce)
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256");
    eprintln!(
        "Open this URL in a browser to sign in:\n\n  {url}\n\nWaiting for the redirect to {redirect_uri} (up to {} s)...",
        args.timeout
    );
    let callback = tokio::time::timeout(Duration::from_secs(args.timeout), receiver.next())
        .await
        .map_err(|_| {
            Failure::Unavailable(format!(
                "no sign-in arrived at {redirect_uri} within {} s",
                args.timeout
            ))
        })?;
    drop(receiver);
    let code = authorization_code(callback)?;
    let authentication = credential.form(&args.client_id, &endpoints.token)?;
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("client_id", args.client_id.as_str()),
        ("code", code.as_str()),
        ("redirect_uri", redirect_uri.as_str()),
        ("code_verifier", verifier.as_str()),
        ("scope", scope),
    ];
    form.extend(authentication.iter().map(|(k, v)| (*k, v.as_str())));
    let (status, body) = http.post_form(&endpoints.token, &form).await?;
    let response = token_response(&endpoints.token, status, body)?;
    check_nonce(&response, &nonce)?;
    Ok(response)
}

/// The code from the redirect, or why there is none.
fn authorization_code(callback: Option<Callback>) -> Result<String, Failure> {
    match callback {
        Some(Callback::Code(code)) => Ok(code),
        Some(Callback::Error { error, description }) => {
            let description = description.unwrap_or_default();
            Err(Failure::Refused(format!(
                "sign-in failed: {error}: {}{}",
                description.lines().next().unwrap_or_default(),
                aadsts_hint(aadsts_code(&Value::Null, &description))
            )))
        }
        Some(Callback::StateMismatch) => Err(Failure::Refused(
            "the redirect's state does not match the sign-in this command started (a forged or stale redirect); run the command again".to_owned(),
        )),
        None => Err(Failure::Unavailable(
            "the redirect listener stopped".to_owned(),
        )),
    }
}

/// The ID token from the code redemption must echo our nonce (OpenID
/// Connect Core §3.1.3.7, step 11).
fn check_nonce(response: &Value, nonce: &str) -> Result<(), Failure> {
    let Some(id_token) = response.get("id_token").and_then(Value::as_str) else {
        return Ok(());
    };
    let echoed = jws::parse(id_token, Limits::default())
        .ok()
        .and_then(|jws| {
            jws.claims
                .get("nonce")
                .and_then(Value::as_str)
                .map(str::to_owned)
        });
    if echoed.as_deref() == Some(nonce) {
        Ok(())
    } else {
        Err(Failure::Refused(
            "the ID token in the response does not carry the nonce this sign-in sent (a replayed or substituted response)".to_owned(),
        ))
    }
}

/// A token endpoint answer: the response on success, else the refusal.
fn token_response(endpoint: &Url, status: u16, body: Value) -> Result<Value, Failure> {
    let has_token = body.get("access_token").and_then(Value::as_str).is_some();
    if (200..300).contains(&status) && has_token {
        Ok(body)
    } else {
        Err(refusal(endpoint, status, &body))
    }
}

/// An OAuth error answer (spec §9.1), in a few lines: the error, the first
/// line of its description and, for known AADSTS codes, the fix.
fn refusal(endpoint: &Url, status: u16, body: &Value) -> Failure {
    let Some(error) = body.get("error").and_then(Value::as_str) else {
        return Failure::Unavailable(format!(
            "POST {endpoint} answered HTTP {status} without a token or an OAuth error"
        ));
    };
    let description = body
        .get("error_description")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let code = aadsts_code(body, description);
    let code_text = code.map(|c| format!(" (AADSTS{c})")).unwrap_or_default();
    let first_line = description.lines().next().unwrap_or_default();
    let ids = match (
        body.get("trace_id").and_then(Value::as_str),
        body.get("correlation_id").and_then(Value::as_str),
    ) {
        (Some(trace), Some(correlation)) => {
            format!("\n  trace id: {trace}, correlation id: {correlation}")
        }
        (Some(trace), None) => format!("\n  trace id: {trace}"),
        _ => String::new(),
    };
    Failure::Refused(format!(
        "{endpoint} refused the request with HTTP {status}: {error}{code_text}\n  {first_line}{}{ids}",
        aadsts_hint(code)
    ))
}

/// `error` and the first line of `error_description`, when the body is an
/// OAuth error.
fn error_summary(body: &Value) -> Option<String> {
    let error = body.get("error")?.as_str()?;
    let description = body
        .get("error_description")
        .and_then(Value::as_str)
        .and_then(|d| d.lines().next())
        .unwrap_or_default();
    Some(format!("{error} {description}").trim_end().to_owned())
}

/// The AADSTS code: `error_codes[0]`, else the `AADSTS<digits>` prefix of
/// the description.
fn aadsts_code(body: &Value, description: &str) -> Option<u64> {
    body.get("error_codes")
        .and_then(Value::as_array)
        .and_then(|codes| codes.first())
        .and_then(Value::as_u64)
        .or_else(|| {
            let (_, rest) = description.split_once("AADSTS")?;
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            digits.parse().ok()
        })
}

fn aadsts_hint(code: Option<u64>) -> String {
    code.and_then(explain::aadsts)
        .map(|hint| format!("\n  fix: {hint}"))
        .unwrap_or_default()
}

/// Parses an endpoint URL and applies the transport rule: https, or http
/// to a loopback address only.
fn parse_endpoint(what: &str, value: &str) -> Result<Url, String> {
    let url = Url::parse(value).map_err(|e| format!("{what} {value:?} is not a URL: {e}"))?;
    check_transport(&url).map_err(|e| format!("{what}: {e}"))?;
    Ok(url)
}

/// `bytes` random bytes, base64url-encoded (PKCE verifier, state, nonce).
fn random_b64url(bytes: usize) -> Result<String, Failure> {
    let mut buffer = vec![0u8; bytes];
    aws_lc_rs::rand::fill(&mut buffer)
        .map_err(|_| Failure::Unavailable("the system random generator failed".to_owned()))?;
    Ok(URL_SAFE_NO_PAD.encode(buffer))
}

/// The HTTP client: rustls, no redirects, a timeout, optional extra roots.
struct Http {
    client: reqwest::Client,
}

impl Http {
    fn new(ca_pem: Option<&[u8]>) -> Result<Http, Failure> {
        let mut builder = reqwest::Client::builder()
            .timeout(HTTP_TIMEOUT)
            .connect_timeout(HTTP_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("rolegate/", env!("CARGO_PKG_VERSION")));
        if let Some(pem) = ca_pem {
            let certificates = reqwest::Certificate::from_pem_bundle(pem)
                .map_err(|e| Failure::Usage(format!("the CA file is not valid PEM: {e}")))?;
            builder = builder.tls_certs_merge(certificates);
        }
        let client = builder
            .build()
            .map_err(|e| Failure::Usage(format!("cannot create the HTTP client: {}", chain(&e))))?;
        Ok(Http { client })
    }

    /// GETs a JSON document: the status and the parsed body.
    async fn get_json(&self, url: &Url) -> Result<(u16, Value), String> {
        let request = self
            .client
            .get(url.clone())
            .header("accept", "application/json");
        self.send("GET", url, request).await
    }

    /// POSTs a form (the token and device code endpoints).
    async fn post_form(&self, url: &Url, form: &[(&str, &str)]) -> Result<(u16, Value), Failure> {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let request = self
            .client
            .post(url.clone())
            .header("content-type", "application/x-www-form-urlencoded")
            .header("accept", "application/json")
            .body(body);
        self.send("POST", url, request)
            .await
            .map_err(Failure::Unavailable)
    }

    async fn send(
        &self,
        method: &str,
        url: &Url,
        request: reqwest::RequestBuilder,
    ) -> Result<(u16, Value), String> {
        let response = request
            .send()
            .await
            .map_err(|e| format!("{method} {url} failed: {}", chain(&e)))?;
        let status = response.status().as_u16();
        tracing::debug!(%method, %url, status, "authority answered");
        let bytes = response.bytes().await.map_err(|e| {
            format!(
                "{method} {url} failed while reading the answer: {}",
                chain(&e)
            )
        })?;
        let body = serde_json::from_slice(&bytes).map_err(|e| {
            format!("{method} {url} answered HTTP {status} with a body that is not JSON ({e})")
        })?;
        Ok((status, body))
    }
}

/// An error and its sources: "error sending request: … Connection refused".
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let part = s.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = s.source();
    }
    text
}

/// Timeout for each request to the authority.
const HTTP_TIMEOUT: Duration = Duration::from_secs(30);

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn finds_aadsts_codes() {
        assert_eq!(
            aadsts_code(&json!({"error_codes": [7000215]}), ""),
            Some(7000215)
        );
        assert_eq!(
            aadsts_code(&Value::Null, "AADSTS70011: The provided value..."),
            Some(70011)
        );
        assert_eq!(aadsts_code(&Value::Null, "no code"), None);
    }

    #[test]
    fn derives_the_device_code_endpoint() {
        let discovery =
            Url::parse("https://login.example/t/v2.0/.well-known/openid-configuration").unwrap();
        let e = endpoints(
            &discovery,
            &json!({"token_endpoint": "https://login.example/t/oauth2/v2.0/token"}),
        )
        .unwrap();
        assert_eq!(
            e.device.as_str(),
            "https://login.example/t/oauth2/v2.0/devicecode"
        );
        assert!(
            endpoints(
                &discovery,
                &json!({"token_endpoint": "http://evil.example/token"})
            )
            .is_err()
        );
    }

    #[test]
    fn secrets_do_not_leak_through_debug() {
        let secret = ClientSecret::from_str("s3cr3t").unwrap();
        assert_eq!(format!("{secret:?}"), "[redacted]");
    }
}
