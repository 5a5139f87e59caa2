//! The token endpoint's logic, called directly: a provider over the sample
//! tenant (`examples/tenant.toml`), an in-memory store and a manual clock;
//! no HTTP. The integration suite (`tests/it/`) covers the same grants
//! over HTTPS.

use std::path::Path;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rolegate_token::clock::ManualClock;
use serde_json::Value;

use super::*;
use crate::directory::{Tenants, config};
use crate::keys::SigningKeys;
use crate::protocol::authorize::{self, AuthorizeRequest};
use crate::protocol::{Settings, aadsts};
use crate::secret::digest;
use crate::store::Session;
use crate::store::sqlite::SqliteStore;

#[test]
fn grant_types_round_trip() {
    for grant_type in [
        GrantType::AuthorizationCode,
        GrantType::ClientCredentials,
        GrantType::DeviceCode,
        GrantType::JwtBearer,
        GrantType::Password,
        GrantType::RefreshToken,
        GrantType::Unknown("urn:example:grant".to_owned()),
    ] {
        assert_eq!(GrantType::parse(grant_type.as_str()), grant_type);
        assert_eq!(grant_type.to_string(), grant_type.as_str());
    }
    assert_eq!(GrantType::parse("device_code"), GrantType::DeviceCode);
    assert_eq!(
        GrantType::DeviceCode.as_str(),
        "urn:ietf:params:oauth:grant-type:device_code"
    );
    assert_eq!(
        GrantType::parse("Password"),
        GrantType::Unknown("Password".to_owned()),
        "grant types are case-sensitive"
    );
}

#[tokio::test]
async fn unknown_grant_type_is_70003() {
    let (p, _) = provider().await;
    let e = token(&p, &request(&[("grant_type", "urn:example:magic")]))
        .await
        .unwrap_err();
    assert_eq!((e.error, e.code), ("unsupported_grant_type", 70_003));
    assert_eq!(
        e.message,
        "The app requested an unsupported grant type 'urn:example:magic'."
    );
}

#[tokio::test]
async fn client_credentials_issue_an_app_only_token_for_one_resource() {
    let (p, _) = provider().await;
    let answer = token(&p, &daemon(&format!("{API_URI}/.default")))
        .await
        .unwrap();
    assert_eq!(answer.resource, API_URI);
    assert_eq!(answer.expires_in, Settings::default().access_token_lifetime);
    assert!(answer.refresh_token.is_none() && answer.id_token.is_none());
    let claims = payload(&answer.access_token);
    assert_eq!(claims["aud"], API);
    assert_eq!(claims["azp"], DAEMON);
    assert_eq!(claims["azpacr"], "1", "authenticated with a secret");
    assert_eq!(claims["roles"], serde_json::json!(["Orders.Read"]));
    assert_eq!(claims["idtyp"], "app");
    assert_eq!(claims["iat"], T0);

    let two = format!("{API_URI}/.default {INVENTORY_URI}/.default");
    let e = token(&p, &daemon(&two)).await.unwrap_err();
    assert_eq!((e.error, e.code), ("invalid_scope", aadsts::INVALID_SCOPE));
    assert!(
        e.message
            .contains("a client credentials request names exactly one resource"),
        "{}",
        e.message
    );
}

#[tokio::test]
async fn an_authorization_code_expires_after_its_lifetime() {
    let (p, clock) = provider().await;
    let code = code(&p, CLI, CLI_REDIRECT, &format!("{API_URI}/access_as_user")).await;
    clock.advance(p.settings.code_lifetime + 1);
    let e = token(&p, &redeem(CLI, CLI_REDIRECT, &code, None))
        .await
        .unwrap_err();
    assert_eq!((e.error, e.code), ("invalid_grant", 70_008));
    assert_eq!(e, OAuthError::code_expired());

    // Within its lifetime a code redeems once.
    let code = code_for_cli(&p).await;
    clock.advance(p.settings.code_lifetime);
    let answer = token(&p, &redeem(CLI, CLI_REDIRECT, &code, None))
        .await
        .unwrap();
    assert!(answer.refresh_token.is_some());
    let again = token(&p, &redeem(CLI, CLI_REDIRECT, &code, None))
        .await
        .unwrap_err();
    assert_eq!(again.code, aadsts::CODE_REDEEMED);
}

#[tokio::test]
async fn a_reused_refresh_token_revokes_its_family() {
    let (p, clock) = provider().await;
    let code = code_for_cli(&p).await;
    let first = token(&p, &redeem(CLI, CLI_REDIRECT, &code, None))
        .await
        .unwrap();
    let rt1 = first.refresh_token.unwrap();
    clock.advance(60);
    let second = token(&p, &refresh(CLI, &rt1, None)).await.unwrap();
    let rt2 = second.refresh_token.unwrap();
    assert_ne!(rt1, rt2, "every refresh rotates the token");

    // The rotated token comes back: theft. The family is revoked.
    let reused = token(&p, &refresh(CLI, &rt1, None)).await.unwrap_err();
    assert_eq!((reused.error, reused.code), ("invalid_grant", 70_008));
    assert_eq!(reused, OAuthError::refresh_token_reused());
    // So is its successor, which was never used.
    let revoked = token(&p, &refresh(CLI, &rt2, None)).await.unwrap_err();
    assert_eq!((revoked.error, revoked.code), ("invalid_grant", 70_008));
    assert_eq!(revoked, OAuthError::expired_grant());
}

#[tokio::test]
async fn a_spa_refresh_token_ends_24_hours_after_the_sign_in() {
    let (p, clock) = provider().await;
    let verifier = "a-spa-code-verifier-of-at-least-43-characters-0123";
    let code = code_with_pkce(&p, SPA, SPA_REDIRECT, &spa_scope(), verifier).await;
    let first = token(&p, &redeem(SPA, SPA_REDIRECT, &code, Some(verifier)))
        .await
        .unwrap();
    let lifetime = p.settings.spa_refresh_token_lifetime;
    assert_eq!(first.refresh_token_expires_in, Some(lifetime));

    // A refresh an hour before the end keeps the family's end.
    clock.advance(lifetime - 3600);
    let second = token(
        &p,
        &refresh(SPA, &first.refresh_token.unwrap(), Some(SPA_ORIGIN)),
    )
    .await
    .unwrap();
    assert_eq!(second.refresh_token_expires_in, Some(3600));

    clock.advance(3601);
    let e = token(
        &p,
        &refresh(SPA, &second.refresh_token.unwrap(), Some(SPA_ORIGIN)),
    )
    .await
    .unwrap_err();
    assert_eq!((e.error, e.code), ("invalid_grant", 700_084));
    assert_eq!(e, OAuthError::spa_refresh_token_expired());
}

#[tokio::test]
async fn five_wrong_passwords_lock_the_source_out_until_the_window_passes() {
    let (p, clock) = provider().await;
    for _ in 0..p.settings.max_failed_logins {
        let e = token(&p, &password("wrong-password")).await.unwrap_err();
        assert_eq!(
            (e.error, e.code),
            ("invalid_grant", aadsts::INVALID_USERNAME_OR_PASSWORD)
        );
    }
    let e = token(&p, &password(ALICE_PASSWORD)).await.unwrap_err();
    assert_eq!((e.error, e.code), ("invalid_grant", 50_053));
    assert_eq!(e, OAuthError::account_locked());

    clock.advance(p.settings.lockout_window - 1);
    let e = token(&p, &password(ALICE_PASSWORD)).await.unwrap_err();
    assert_eq!(e.code, aadsts::ACCOUNT_LOCKED, "still inside the window");

    clock.advance(1);
    let answer = token(&p, &password(ALICE_PASSWORD)).await.unwrap();
    assert_eq!(payload(&answer.access_token)["oid"], ALICE);
}

/// A provider over the sample tenant at [`T0`], and its clock.
async fn provider() -> (Provider, Arc<ManualClock>) {
    let tenant = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/tenant.toml");
    let directory = config::load(&tenant).unwrap();
    let store: Arc<dyn crate::store::Store> = Arc::new(SqliteStore::in_memory().await.unwrap());
    let keys = SigningKeys::load_or_create(Arc::clone(&store), T0)
        .await
        .unwrap();
    let clock = Arc::new(ManualClock::new(T0));
    let p = Provider::new(
        Tenants::single(directory),
        store,
        keys,
        Settings::default(),
        Arc::clone(&clock) as Arc<dyn rolegate_token::clock::Clock>,
    );
    (p, clock)
}

/// A v2 token request at the sample tenant.
fn request(params: &[(&str, &str)]) -> TokenRequest {
    TokenRequest {
        params: params
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        tenant_segment: TENANT.to_owned(),
        issuer: IssuerContext {
            origin: ORIGIN.to_owned(),
            tenant_id: String::new(),
        },
        ..TokenRequest::default()
    }
}

fn daemon(scope: &str) -> TokenRequest {
    request(&[
        ("grant_type", "client_credentials"),
        ("client_id", DAEMON),
        ("client_secret", DAEMON_SECRET),
        ("scope", scope),
    ])
}

fn password(password: &str) -> TokenRequest {
    let scope = format!("{API_URI}/access_as_user openid");
    TokenRequest {
        source: Some(std::net::IpAddr::from([192, 0, 2, 7])),
        ..request(&[
            ("grant_type", "password"),
            ("client_id", CLI),
            ("username", "alice@contoso.test"),
            ("password", password),
            ("scope", &scope),
        ])
    }
}

fn redeem(client: &str, redirect_uri: &str, code: &str, verifier: Option<&str>) -> TokenRequest {
    let mut req = request(&[
        ("grant_type", "authorization_code"),
        ("client_id", client),
        ("redirect_uri", redirect_uri),
        ("code", code),
    ]);
    if let Some(verifier) = verifier {
        req.params
            .insert("code_verifier".to_owned(), verifier.to_owned());
        req.origin = Some(SPA_ORIGIN.to_owned());
    }
    req
}

fn refresh(client: &str, refresh_token: &str, origin: Option<&str>) -> TokenRequest {
    TokenRequest {
        origin: origin.map(str::to_owned),
        ..request(&[
            ("grant_type", "refresh_token"),
            ("client_id", client),
            ("refresh_token", refresh_token),
        ])
    }
}

/// A code for the Orders CLI (a public client redirect URI, no PKCE).
async fn code_for_cli(p: &Provider) -> String {
    code(
        p,
        CLI,
        CLI_REDIRECT,
        &format!("{API_URI}/access_as_user offline_access"),
    )
    .await
}

async fn code(p: &Provider, client: &str, redirect_uri: &str, scope: &str) -> String {
    issue(p, client, redirect_uri, scope, &[]).await
}

async fn code_with_pkce(
    p: &Provider,
    client: &str,
    redirect_uri: &str,
    scope: &str,
    verifier: &str,
) -> String {
    let challenge = URL_SAFE_NO_PAD.encode(digest(verifier));
    let pkce = [
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    issue(p, client, redirect_uri, scope, &pkce).await
}

/// An authorization code for alice, as the authorize endpoint issues it
/// once she is signed in and consent is settled.
async fn issue(
    p: &Provider,
    client: &str,
    redirect_uri: &str,
    scope: &str,
    extra: &[(&str, &str)],
) -> String {
    let params: Vec<(String, String)> = [
        ("client_id", client),
        ("redirect_uri", redirect_uri),
        ("response_type", "code"),
        ("scope", scope),
    ]
    .iter()
    .chain(extra)
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    let req = AuthorizeRequest::new(params);
    let tenants = p.tenants();
    let dir = tenants.default_tenant();
    let client = authorize::check_client(dir, &req, "https://localhost").unwrap();
    let id = crate::secret::guid();
    let session = Session {
        secret_digest: digest(&id),
        id,
        user_id: ALICE.to_owned(),
        auth_time: p.now(),
        expires_at: p.now() + p.settings.session_lifetime,
    };
    p.store.put_session(&session).await.unwrap();
    let answer = authorize::issue_code(p, dir, &req, &client, &session, TENANT)
        .await
        .unwrap();
    answer
        .into_iter()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v)
        .unwrap()
}

fn spa_scope() -> String {
    format!("{API_URI}/access_as_user openid offline_access")
}

/// The claims of a compact JWS, unverified.
fn payload(jwt: &str) -> Value {
    let segment = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(segment).unwrap()).unwrap()
}

/// 2024-01-01T00:00:00Z.
const T0: i64 = 1_704_067_200;
const ORIGIN: &str = "https://localhost:8443";
const TENANT: &str = "7d3e1b5a-2f4c-4e8d-9a6b-0c1d2e3f4a5b";
const API: &str = "8a1f6c2e-4b7d-4e9a-b3c5-6d7e8f9a0b1c";
const API_URI: &str = "api://8a1f6c2e-4b7d-4e9a-b3c5-6d7e8f9a0b1c";
const INVENTORY_URI: &str = "api://5c1d9e7a-3b2f-4d6c-8e9a-0b1c2d3e4f5a";
const DAEMON: &str = "7fbf04bb-64db-4661-a8cd-d2d07d250ad8";
const DAEMON_SECRET: &str = "daemon-secret-8Qx3vT7pLm2Zr9Wc";
const CLI: &str = "c2e9bc59-4581-415a-9b7f-78e66989c5c8";
const CLI_REDIRECT: &str = "http://localhost";
const SPA: &str = "2732dc92-37da-4c7f-a87a-1900d556a951";
const SPA_REDIRECT: &str = "http://localhost:5173/";
const SPA_ORIGIN: &str = "http://localhost:5173";
const ALICE: &str = "8d3c2b1a-0f9e-4d8c-b7a6-5e4f3a2b1c0d";
const ALICE_PASSWORD: &str = "alice-Passw0rd";
