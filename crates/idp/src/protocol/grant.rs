//! The token endpoint (spec §1.5): `authorization_code` (+PKCE),
//! `refresh_token` (rotation, family revocation on reuse), `client_credentials`,
//! `password` (ROPC) and `device_code`. Clients authenticate with a secret
//! or a client assertion ([`super::assertion`]).

use std::collections::HashMap;
use std::net::IpAddr;

use serde_json::{Map, Value, json};

use crate::directory::{Application, Directory, RedirectKind, Tenants, User};
use crate::protocol::Provider;
use crate::protocol::assertion::{self, CLIENT_ASSERTION_TYPE, TokenEndpoint};
use crate::protocol::errors::OAuthError;
use crate::protocol::limits::source_key;
use crate::protocol::own_tokens::Audiences;
use crate::protocol::response::{Endpoint, TokenResponse};
use crate::protocol::scope::{ResourceScopes, ScopeSet};
use crate::protocol::tenancy::{self, Authority};
use crate::protocol::tokens::{
    self, AccessGrant, ClientAuth, IdentityGrant, IssuerContext, Resource,
};
use crate::secret::{Busy, digest, is_guid, random_token};
use crate::store::{CodeRedemption, DeviceState, Redemption, RefreshRecord};

/// A token request as received.
#[derive(Debug, Clone, Default)]
pub struct TokenRequest {
    /// Form parameters (each at most once: the web layer refuses repeats).
    pub params: HashMap<String, String>,
    /// HTTP Basic credentials (url-decoded).
    pub basic: Option<(String, String)>,
    /// The `Origin` header: present on browser (CORS) requests.
    pub origin: Option<String>,
    /// The tenant path segment of the request URL.
    pub tenant_segment: String,
    /// Issuer of tokens minted for this request.
    pub issuer: IssuerContext,
    /// The peer address, for per-source throttles.
    pub source: Option<IpAddr>,
    /// The endpoint the request came to (v1 takes `resource=`).
    pub endpoint: Endpoint,
}

impl TokenRequest {
    fn get(&self, name: &str) -> Option<&str> {
        self.params
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    fn require(&self, name: &str) -> Result<&str, OAuthError> {
        self.get(name).ok_or_else(|| OAuthError::missing(name))
    }

    fn wants_client_info(&self) -> bool {
        self.get("client_info") == Some("1")
    }

    /// The client id, from the body or HTTP Basic.
    fn client_id(&self) -> Result<&str, OAuthError> {
        self.get("client_id")
            .or(self.basic.as_ref().map(|(id, _)| id.as_str()))
            .ok_or_else(|| OAuthError::missing("client_id"))
    }

    /// The issuer of tokens minted in `dir`'s tenant.
    fn issuer_in(&self, dir: &Directory) -> IssuerContext {
        IssuerContext {
            origin: self.issuer.origin.clone(),
            tenant_id: dir.tenant.id.clone(),
        }
    }
}

/// Handles a token request; the JSON success body or an Entra error.
pub async fn token(p: &Provider, req: &TokenRequest) -> Result<TokenResponse, OAuthError> {
    let translated;
    let req = match req.endpoint {
        Endpoint::V2 => req,
        Endpoint::V1 => {
            translated = v1_request(req)?;
            &translated
        }
    };
    let grant_type = req.require("grant_type")?;
    let tenants = p.tenants();
    let at = Authority::resolve(&tenants, &req.tenant_segment)?;
    let t = &tenants;
    match grant_type {
        "authorization_code" => authorization_code(p, t, at, req).await,
        "refresh_token" => refresh_token(p, t, at, req).await,
        "client_credentials" => client_credentials(p, at, req).await,
        "password" => password(p, t, at, req).await,
        "urn:ietf:params:oauth:grant-type:device_code" | "device_code" => {
            device_code(p, t, at, req).await
        }
        "urn:ietf:params:oauth:grant-type:jwt-bearer" => on_behalf_of(p, t, at, req).await,
        other => Err(OAuthError::new(
            "unsupported_grant_type",
            70_003,
            format!("The app requested an unsupported grant type '{other}'."),
        )),
    }
}

/// OIDC scope values a v1 request may carry besides `resource=`.
const V1_OIDC: [&str; 3] = ["openid", "profile", "email"];

/// Rewrites a v1 token request (`resource=`) as the v2 request it
/// means: the resource's statically consented permissions
/// (`{resource}/.default`, which is what v1 always grants), and for user
/// flows a refresh token (v1 always issues one) and an ID token when
/// `openid` was asked for. `scope` values other than OIDC ones are
/// ignored on v1, as Entra does.
fn v1_request(req: &TokenRequest) -> Result<TokenRequest, OAuthError> {
    let mut out = req.clone();
    let grant_type = req.get("grant_type").unwrap_or_default();
    let oidc: Vec<&str> = req
        .get("scope")
        .unwrap_or_default()
        .split_whitespace()
        .filter(|s| V1_OIDC.iter().any(|o| o.eq_ignore_ascii_case(s)))
        .collect();
    let resource = req.get("resource");
    let needs_resource = matches!(
        grant_type,
        "client_credentials" | "password" | "urn:ietf:params:oauth:grant-type:jwt-bearer"
    );
    let scope = match resource {
        None if needs_resource => return Err(OAuthError::missing("resource")),
        // Code redemption and refresh without `resource`: the code's or the
        // family's own resource.
        None => {
            out.params.remove("scope");
            return Ok(out);
        }
        Some(resource) if grant_type == "client_credentials" => format!("{resource}/.default"),
        Some(resource) => {
            let mut scope = vec![format!("{resource}/.default"), "offline_access".to_owned()];
            if !oidc.is_empty() {
                scope.extend(["openid".to_owned(), "profile".to_owned()]);
            }
            scope.join(" ")
        }
    };
    out.params.remove("resource");
    out.params.insert("scope".to_owned(), scope);
    Ok(out)
}

/// Who is calling and how it proved it.
struct Caller<'a> {
    app: &'a Application,
    auth: ClientAuth,
}

/// What a grant demands of the client's credential (spec §8: client
/// authentication is per grant, not per first use).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Credential {
    /// A credential is required; apps without one cannot use the grant
    /// (client credentials, on-behalf-of, redemption at a web redirect URI).
    Required,
    /// A credential is checked if sent, and not required: redemption at a
    /// native (public-client platform) redirect URI, where Entra treats the
    /// caller as a public client whatever else the app registers.
    Optional,
    /// Device code and ROPC: a credential is required unless the app allows
    /// public client flows (`is_fallback_public_client`).
    PublicFlow,
    /// A refresh: the client must authenticate as it did when the family
    /// started.
    AsFamily(ClientAuth),
    /// A credential must not be sent (SPA redemption and refresh).
    Forbidden,
}

const NO_CREDENTIAL: &str =
    "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.";

/// The credential a token request presents.
#[derive(Debug, Clone, Copy)]
enum Presented<'r> {
    /// A client assertion signed with a registered certificate.
    Assertion(&'r str),
    /// No credential.
    Nothing,
    /// A client secret (body or HTTP Basic).
    Secret(&'r str),
}

/// Identifies the client and checks its credential as `credential` demands.
async fn authenticate<'a>(
    p: &Provider,
    dir: &'a Directory,
    req: &TokenRequest,
    credential: Credential,
) -> Result<Caller<'a>, OAuthError> {
    let (client_id, presented) = presented_credential(req)?;
    let app = dir
        .application(client_id)
        .ok_or_else(|| unknown_client(client_id, dir))?;
    if let Presented::Nothing = presented {
        return without_credential(app, credential);
    }
    if !app.is_confidential() || credential == Credential::Forbidden {
        return Err(OAuthError::invalid_client(
            700_025,
            "Client is public so neither 'client_assertion' nor 'client_secret' should be presented.",
        ));
    }
    if req.origin.is_some() {
        return Err(OAuthError::invalid_request(
            9_002_326,
            "Cross-origin token redemption is permitted only for the 'Single-Page Application' client-type; a browser must never send a client secret or client assertion.",
        ));
    }
    check_family_credential(app, credential, presented)?;
    let now = p.now();
    let throttle_key = source_key(&format!("client:{}", app.app_id), req.source);
    if !p.limits.client_failures.allows(&throttle_key, now) {
        return Err(OAuthError::throttled("failed client authentications"));
    }
    match presented {
        Presented::Assertion(assertion) => {
            let endpoint = TokenEndpoint {
                origin: &req.issuer.origin,
                tenant_segment: &req.tenant_segment,
                tenant: &dir.tenant,
            };
            match assertion::authenticate(p, app, assertion, &endpoint).await {
                Ok(()) => Ok(Caller {
                    app,
                    auth: ClientAuth::Certificate,
                }),
                Err(e) => {
                    if e.is_client_failure() {
                        p.limits.client_failures.hit(&throttle_key, now);
                    }
                    tracing::info!(client = %app.app_id, reason = %e, "client assertion refused");
                    Err(OAuthError::from(&e))
                }
            }
        }
        Presented::Secret(secret) => {
            match dir.verify_client_secret(&p.hashing, app, secret).await {
                Ok(true) => Ok(Caller {
                    app,
                    auth: ClientAuth::Secret,
                }),
                Ok(false) => {
                    p.limits.client_failures.hit(&throttle_key, now);
                    Err(OAuthError::invalid_client(
                        7_000_215,
                        format!(
                            "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{}'.",
                            app.app_id
                        ),
                    ))
                }
                Err(Busy) => Err(OAuthError::busy()),
            }
        }
        Presented::Nothing => without_credential(app, credential),
    }
}

/// The client id and the credential of a request: a secret (body or HTTP
/// Basic, not both) or a client assertion (RFC 7521 §4.2: with
/// `client_assertion_type`, and never together with a secret).
fn presented_credential(req: &TokenRequest) -> Result<(&str, Presented<'_>), OAuthError> {
    let body_id = req.get("client_id");
    let (client_id, secret) = match (&req.basic, body_id) {
        (Some((id, _)), Some(body)) if !id.eq_ignore_ascii_case(body) => {
            return Err(OAuthError::invalid_request(
                900_144,
                format!(
                    "The client_id in the body ('{body}') differs from the one in the Authorization header ('{id}')."
                ),
            ));
        }
        (Some(_), _) if req.get("client_secret").is_some() => {
            return Err(OAuthError::invalid_request(
                900_144,
                "The client secret was sent both in the Authorization header and in the body; send it once.",
            ));
        }
        (Some((id, secret)), _) => (id.as_str(), Some(secret.as_str())),
        (None, Some(id)) => (id, req.get("client_secret")),
        (None, None) => return Err(OAuthError::missing("client_id")),
    };
    let presented = match (
        req.get("client_assertion"),
        req.get("client_assertion_type"),
        secret,
    ) {
        (None, None, None) => Presented::Nothing,
        (None, None, Some(secret)) => Presented::Secret(secret),
        (Some(_), _, Some(_)) => {
            return Err(OAuthError::invalid_request(
                900_144,
                "Both a client secret and a client assertion were sent; authenticate with one of them.",
            ));
        }
        (Some(_), None, None) => return Err(OAuthError::missing("client_assertion_type")),
        (None, Some(_), _) => return Err(OAuthError::missing("client_assertion")),
        (Some(assertion), Some(kind), None) if kind == CLIENT_ASSERTION_TYPE => {
            Presented::Assertion(assertion)
        }
        (Some(_), Some(kind), None) => {
            return Err(OAuthError::invalid_request(
                90_011,
                format!(
                    "Unexpected client assertion type '{kind}': client_assertion_type must be '{CLIENT_ASSERTION_TYPE}'."
                ),
            ));
        }
    };
    Ok((client_id, presented))
}

/// A request without a credential: fine for public clients and where the
/// grant allows it.
fn without_credential(app: &Application, credential: Credential) -> Result<Caller<'_>, OAuthError> {
    match credential {
        Credential::Forbidden => Ok(Caller {
            app,
            auth: ClientAuth::Public,
        }),
        Credential::Required if !app.is_confidential() => Err(OAuthError::invalid_client(
            7_000_218,
            format!(
                "{NO_CREDENTIAL} Application '{}' has no credential: add a password or certificate credential to use this grant.",
                app.app_id
            ),
        )),
        Credential::PublicFlow if !app.is_fallback_public_client => {
            Err(OAuthError::invalid_client(
                7_000_218,
                format!(
                    "{NO_CREDENTIAL} (To use this flow without a credential, enable 'Allow public client flows' — is_fallback_public_client — on application '{}'.)",
                    app.app_id
                ),
            ))
        }
        Credential::PublicFlow => Ok(Caller {
            app,
            auth: ClientAuth::Public,
        }),
        Credential::AsFamily(family @ (ClientAuth::Secret | ClientAuth::Certificate)) => {
            Err(OAuthError::invalid_client(
                7_000_218,
                format!(
                    "{NO_CREDENTIAL} The refresh token was issued to application '{}' authenticated with {}: every refresh must authenticate the same way.",
                    app.app_id,
                    family_credential(family)
                ),
            ))
        }
        Credential::Required if app.is_confidential() => {
            Err(OAuthError::invalid_client(7_000_218, NO_CREDENTIAL))
        }
        Credential::Required | Credential::Optional | Credential::AsFamily(_) => Ok(Caller {
            app,
            auth: ClientAuth::Public,
        }),
    }
}

/// A family started with a secret refreshes with a secret, one started with
/// a certificate with a client assertion: neither stands in for the other.
fn check_family_credential(
    app: &Application,
    credential: Credential,
    presented: Presented<'_>,
) -> Result<(), OAuthError> {
    let sent = match presented {
        Presented::Assertion(_) => ClientAuth::Certificate,
        Presented::Secret(_) => ClientAuth::Secret,
        Presented::Nothing => return Ok(()),
    };
    match credential {
        Credential::AsFamily(family @ (ClientAuth::Secret | ClientAuth::Certificate))
            if family != sent =>
        {
            Err(OAuthError::invalid_client(
                7_000_218,
                format!(
                    "The refresh token was issued to application '{}' authenticated with {}: every refresh must authenticate the same way, and {} is not accepted instead.",
                    app.app_id,
                    family_credential(family),
                    family_credential(sent)
                ),
            ))
        }
        _ => Ok(()),
    }
}

/// How a refresh family's credential reads in messages.
fn family_credential(auth: ClientAuth) -> &'static str {
    match auth {
        ClientAuth::Certificate => "a certificate (client_assertion)",
        ClientAuth::Public => "no credential",
        ClientAuth::Secret => "a client secret (client_secret)",
    }
}

async fn client_credentials(
    p: &Provider,
    at: Authority<'_>,
    req: &TokenRequest,
) -> Result<TokenResponse, OAuthError> {
    // An app-only token is for one tenant: `common` names none.
    let Authority::Tenant(dir) = at else {
        return Err(tenancy::no_tenant());
    };
    let caller = authenticate(p, dir, req, Credential::Required).await?;
    if !tenancy::installed(p, dir, caller.app).await? {
        return Err(tenancy::app_not_found(&caller.app.app_id, dir));
    }
    let scope = req.require("scope")?;
    let parts: Vec<&str> = scope.split_whitespace().collect();
    let resource_ids: Vec<&str> = parts
        .iter()
        .filter_map(|part| part.strip_suffix("/.default"))
        .collect();
    let resource_id = match (parts.as_slice(), resource_ids.as_slice()) {
        ([_], [one]) => *one,
        (_, [_, _, ..]) if resource_ids.len() == parts.len() => {
            // Two resources in one client-credentials request: Entra's
            // AADSTS70011 (one token is for one audience).
            return Err(OAuthError::invalid_scope(
                70_011,
                format!(
                    "The provided value for the input parameter 'scope' is not valid. The scope {scope} is not valid: a client credentials request names exactly one resource ('{{resource}}/.default')."
                ),
            ));
        }
        _ => return Err(default_scope_error(scope)),
    };
    let resource = dir
        .resource(resource_id)
        .ok_or_else(|| resource_not_found(resource_id, dir))?;
    if !tenancy::installed(p, dir, resource).await? {
        return Err(tenancy::resource_not_installed(resource_id, dir));
    }
    let roles = dir.application_roles(caller.app, resource);
    if resource.app_role_assignment_required && roles.is_empty() {
        return Err(OAuthError::unauthorized_client(
            501_051,
            format!(
                "Application '{}' ({}) is not assigned to a role for the application '{}' ({}).",
                caller.app.app_id, caller.app.display_name, resource.app_id, resource.display_name
            ),
        ));
    }
    let now = p.now();
    let lifetime = p.settings.access_token_lifetime;
    let grant = AccessGrant {
        resource: Resource::Api(resource),
        audience_written: resource_id.to_owned(),
        client: caller.app,
        client_auth: caller.auth,
        user: None,
        scopes: Vec::new(),
        roles,
        auth_time: None,
        membership: Default::default(),
    };
    let claims = tokens::access_token_claims(&req.issuer_in(dir), &grant, now, lifetime);
    let access_token = sign(p, claims, grant.resource.v1(), now)?;
    Ok(TokenResponse {
        access_token,
        expires_in: lifetime,
        issued_at: now,
        scope: None,
        granted: Vec::new(),
        resource: resource_id.to_owned(),
        refresh_token: None,
        refresh_token_expires_in: None,
        id_token: None,
        client_info: None,
    })
}

async fn password(
    p: &Provider,
    tenants: &Tenants,
    at: Authority<'_>,
    req: &TokenRequest,
) -> Result<TokenResponse, OAuthError> {
    let client_dir = at.client_directory(tenants, req.client_id()?)?;
    let caller = authenticate(p, client_dir, req, Credential::PublicFlow).await?;
    let username = req.require("username")?;
    let password = req.require("password")?;
    // Home-realm discovery: the user's domain names their tenant.
    let home = tenants.by_upn(username).unwrap_or(client_dir);
    let scopes = ScopeSet::parse(
        req.get("scope").unwrap_or("openid profile offline_access"),
        home,
    )?;
    // Entra refuses ROPC for a self-token named by App ID URI (spec §7).
    if scopes
        .api_resources()
        .any(|r| r.app_id == caller.app.app_id && !is_guid(&r.written))
    {
        return Err(OAuthError::self_request_by_uri(
            &caller.app.app_id,
            &caller.app.display_name,
        ));
    }
    let user = sign_in_with_password(p, home, username, password, req.source).await?;
    at.admit(home, user, &caller.app.app_id)?;
    let now = p.now();
    let family = Family::new(caller.app, user, None, now, false, random_token(16));
    issue_user_tokens(
        p,
        home,
        req,
        &caller,
        user,
        &scopes,
        None,
        Continuation::Start(family),
        now,
    )
    .await
}

/// The one answer for a wrong user name or a wrong password (AADSTS50126):
/// unknown and known accounts are indistinguishable.
fn bad_credentials() -> OAuthError {
    OAuthError::invalid_grant(
        50_126,
        "Error validating credentials due to invalid username or password.",
    )
}

/// Checks a password, with lockouts an attacker cannot turn against the
/// user: failures are counted per account **and source address** (five in
/// the lockout window lock that source out of that account, AADSTS50053),
/// and per account across all sources only as a short back-off (four times
/// as many within a minute pause the account for the rest of that minute).
/// Unknown accounts get the same answer as wrong passwords and cost the
/// same (a hash is verified either way) and create no rows.
pub async fn sign_in_with_password<'a>(
    p: &Provider,
    dir: &'a Directory,
    username: &str,
    password: &str,
    source: Option<IpAddr>,
) -> Result<&'a User, OAuthError> {
    let now = p.now();
    let window = p.settings.lockout_window;
    let max = p.settings.max_failed_logins;
    let Some(user) = dir.user_by_upn(username) else {
        // Spend what a real check spends, so timing tells nothing either.
        let _ = p
            .hashing
            .verify_any(vec![decoy_hash().await], password)
            .await;
        return Err(bad_credentials());
    };
    let per_source = source_key(&format!("user:{}", user.object_id), source);
    let per_user = format!("user:{}", user.object_id);
    let locked = p
        .store
        .login_failures(&per_source, now, window)
        .await
        .map_err(server_error)?
        >= max;
    let backing_off = p
        .store
        .login_failures(&per_user, now, BACK_OFF_WINDOW)
        .await
        .map_err(server_error)?
        >= max.saturating_mul(4);
    if locked || backing_off {
        return Err(OAuthError::invalid_grant(
            50_053,
            if locked {
                "Your account is locked because you've tried to sign in too many times with an incorrect user ID or password. Wait and try again."
            } else {
                "You've tried to sign in too many times with an incorrect user ID or password. Wait a minute and try again."
            },
        ));
    }
    match dir.verify_password(&p.hashing, user, password).await {
        Ok(true) => {}
        Ok(false) => {
            for (key, span) in [(&per_source, window), (&per_user, BACK_OFF_WINDOW)] {
                p.store
                    .record_login_failure(key, now, span)
                    .await
                    .map_err(server_error)?;
            }
            return Err(bad_credentials());
        }
        Err(Busy) => return Err(OAuthError::busy()),
    }
    p.store
        .clear_login_failures(&per_source)
        .await
        .map_err(server_error)?;
    Ok(user)
}

/// The account-wide back-off window, in seconds.
const BACK_OFF_WINDOW: i64 = 60;

/// An argon2 hash nobody's password matches, verified for unknown accounts;
/// made once, off the async workers.
async fn decoy_hash() -> String {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    if let Some(decoy) = DECOY.get() {
        return decoy.clone();
    }
    tokio::task::spawn_blocking(|| {
        DECOY
            .get_or_init(|| crate::secret::hash(&random_token(24)).unwrap_or_default())
            .clone()
    })
    .await
    .unwrap_or_default()
}

async fn authorization_code(
    p: &Provider,
    tenants: &Tenants,
    at: Authority<'_>,
    req: &TokenRequest,
) -> Result<TokenResponse, OAuthError> {
    let code = req.require("code")?;
    let redirect_uri = req.require("redirect_uri")?;
    let client_id = req.client_id()?;
    let client_dir = at.client_directory(tenants, client_id)?;
    let app = client_dir
        .application(client_id)
        .ok_or_else(|| unknown_client(client_id, client_dir))?;
    let kind = app.redirect_kind(redirect_uri);
    // SPA rules (spec §8): cross-origin only, PKCE required, no secret.
    let credential = match (kind, req.origin.is_some()) {
        (Some(RedirectKind::Spa), false) => {
            return Err(OAuthError::invalid_request(
                9_002_327,
                "Tokens issued for the 'Single-Page Application' client-type may only be redeemed via cross-origin requests.",
            ));
        }
        (Some(RedirectKind::Spa), true) => Credential::Forbidden,
        (_, true) => {
            return Err(OAuthError::invalid_request(
                9_002_326,
                "Cross-origin token redemption is permitted only for the 'Single-Page Application' client-type. Request origin does not match the redirect URI's platform.",
            ));
        }
        (Some(RedirectKind::PublicClient), false) => Credential::Optional,
        (Some(RedirectKind::Web) | None, false) => Credential::Required,
    };
    let caller = authenticate(p, client_dir, req, credential).await?;
    let family_id = random_token(16);
    let stored = match p
        .store
        .take_code(&digest(code), &family_id)
        .await
        .map_err(server_error)?
    {
        CodeRedemption::Redeemed(stored) => *stored,
        CodeRedemption::Replayed { family_id } => {
            // RFC 6749 §4.1.2: a replayed code revokes what it issued.
            if let Some(family_id) = family_id {
                p.store
                    .revoke_family(&family_id)
                    .await
                    .map_err(server_error)?;
                tracing::warn!(client = %caller.app.app_id, "authorization code replayed; the refresh tokens issued from it are revoked");
            }
            return Err(code_redeemed());
        }
        CodeRedemption::Unknown => return Err(code_redeemed()),
    };
    let now = p.now();
    let (home, user) = tenants.user(&stored.user_id).ok_or_else(|| {
        OAuthError::invalid_grant(70_008, "The user of this code no longer exists.")
    })?;
    if stored.client_id != caller.app.app_id {
        return Err(OAuthError::invalid_grant(
            70_000,
            "The provided authorization code was issued to another client.",
        ));
    }
    if stored.redirect_uri != redirect_uri {
        return Err(OAuthError::invalid_grant(
            70_000,
            "The provided value for the input parameter 'redirect_uri' is not valid: it must be identical to the one used in the authorization request.",
        ));
    }
    if !stored.tenant_path.eq_ignore_ascii_case(&req.tenant_segment)
        && !home.is_tenant(&req.tenant_segment)
    {
        return Err(OAuthError::invalid_grant(
            700_005,
            "Provided Authorization Code is intended to use against other tenant, thus rejected.",
        ));
    }
    if stored.expires_at < now {
        return Err(OAuthError::invalid_grant(
            70_008,
            "The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.",
        ));
    }
    match (&stored.code_challenge, req.get("code_verifier")) {
        (Some((challenge, method)), Some(verifier)) => {
            super::pkce::verify(challenge, method, verifier)?
        }
        (Some(_), None) => {
            return Err(OAuthError::invalid_grant(
                501_481,
                "The Code_Verifier does not match the code_challenge supplied in the authorization request.",
            ));
        }
        (None, _) if kind == Some(RedirectKind::Spa) => {
            return Err(OAuthError::invalid_request(
                9_002_325,
                "Proof Key for Code Exchange is required for cross-origin authorization code redemption.",
            ));
        }
        (None, Some(_)) => {
            // PKCE downgrade (RFC 9700 §2.1.1): a verifier for a code that
            // was issued without a challenge proves nothing.
            return Err(OAuthError::invalid_grant(
                501_481,
                "A code_verifier was sent, but the authorization request carried no code_challenge: send PKCE on the authorization request, or no verifier.",
            ));
        }
        (None, None) => {}
    }
    let requested = req.get("scope").unwrap_or(&stored.scope);
    if requested.trim().is_empty() {
        return Err(OAuthError::invalid_request(
            28_003,
            "Provided value for the input parameter scope cannot be empty when requesting an access token using the provided authorization code. Please specify a valid scope.",
        ));
    }
    let scopes = ScopeSet::parse(requested, home)?;
    let mut family = Family::new(
        caller.app,
        user,
        Some(stored.session_id.clone()),
        now,
        kind == Some(RedirectKind::Spa),
        family_id,
    );
    family.auth_time = stored.auth_time;
    issue_user_tokens(
        p,
        home,
        req,
        &caller,
        user,
        &scopes,
        stored.nonce.clone(),
        Continuation::Start(family),
        now,
    )
    .await
}

fn code_redeemed() -> OAuthError {
    OAuthError::invalid_grant(
        54_005,
        "OAuth2 Authorization code was already redeemed or is invalid, please retry with a new valid code or use an existing refresh token.",
    )
}

/// A refresh is checked completely (client, expiry, scopes, resource,
/// consent) and its tokens are signed **before** the presented token is
/// rotated; the rotation is one transaction, so a refused request leaves
/// the presented token valid and only a success consumes it.
async fn refresh_token(
    p: &Provider,
    tenants: &Tenants,
    at: Authority<'_>,
    req: &TokenRequest,
) -> Result<TokenResponse, OAuthError> {
    let presented = req.require("refresh_token")?;
    let old_digest = digest(presented);
    let record = p
        .store
        .refresh(&old_digest)
        .await
        .map_err(server_error)?
        .ok_or_else(expired_grant)?;
    let credential = if record.spa {
        if req.origin.is_none() {
            return Err(OAuthError::invalid_request(
                9_002_327,
                "Tokens issued for the 'Single-Page Application' client-type may only be redeemed via cross-origin requests.",
            ));
        }
        Credential::Forbidden
    } else {
        Credential::AsFamily(ClientAuth::parse(&record.client_auth))
    };
    let (dir, user) = tenants.user(&record.user_id).ok_or_else(expired_grant)?;
    let caller = authenticate(p, dir, req, credential).await?;
    at.admit(dir, user, &caller.app.app_id)?;
    if caller.app.app_id != record.client_id {
        return Err(OAuthError::invalid_grant(
            70_000,
            "The refresh token was issued to a different client.",
        ));
    }
    let now = p.now();
    if record.expires_at < now {
        return Err(if record.spa {
            OAuthError::invalid_grant(
                700_084,
                "The refresh token was issued to a single page app (SPA), and therefore has a fixed, limited lifetime of 1.00:00:00, which cannot be extended. It is now expired and a new sign in request must be sent by the SPA to the sign in page.",
            )
        } else {
            OAuthError::invalid_grant(700_082, "The refresh token has expired due to inactivity.")
        });
    }
    let mut scopes = ScopeSet::parse(
        req.get("scope").unwrap_or("openid profile offline_access"),
        dir,
    )?;
    if scopes.resources.is_empty() {
        // No resource scope: the refresh continues the family's resource.
        // Entra refuses that for a self-request whose resource was named
        // by App ID URI (AADSTS90009, spec §7 "Self-requests").
        if let Some(resource) = dir.resource(&record.resource)
            && resource.app_id == record.client_id
            && !is_guid(&record.resource)
        {
            return Err(OAuthError::self_request_by_uri(
                &resource.app_id,
                &resource.display_name,
            ));
        }
        scopes.add_all(&record.scope, dir)?;
    }
    let family = Family::continuing(&record);
    issue_user_tokens(
        p,
        dir,
        req,
        &caller,
        user,
        &scopes,
        None,
        Continuation::Rotate {
            presented: old_digest,
            family,
        },
        now,
    )
    .await
}

async fn device_code(
    p: &Provider,
    tenants: &Tenants,
    at: Authority<'_>,
    req: &TokenRequest,
) -> Result<TokenResponse, OAuthError> {
    let client_dir = at.client_directory(tenants, req.client_id()?)?;
    let caller = authenticate(p, client_dir, req, Credential::PublicFlow).await?;
    let device_code = req.require("device_code")?;
    let grant = p
        .store
        .poll_device(&digest(device_code))
        .await
        .map_err(server_error)?;
    let now = p.now();
    let Some(grant) = grant else {
        return Err(OAuthError::new(
            "bad_verification_code",
            70_019,
            "The device code is unknown or was already used.",
        ));
    };
    if grant.client_id != caller.app.app_id {
        return Err(OAuthError::new(
            "bad_verification_code",
            70_019,
            "The device code was issued to another client.",
        ));
    }
    match grant.state {
        _ if grant.expires_at < now => Err(OAuthError::new(
            "expired_token",
            70_020,
            "The provided value for the input parameter 'device_code' is not valid: it has expired.",
        )),
        DeviceState::Pending => Err(OAuthError::new(
            "authorization_pending",
            70_016,
            "OAuth 2.0 device flow error. Authorization is pending. Continue polling.",
        )),
        DeviceState::Declined => Err(OAuthError::new(
            "authorization_declined",
            70_018,
            "The user declined the sign-in request.",
        )),
        DeviceState::Approved { user_id, auth_time } => {
            let (dir, user) = tenants.user(&user_id).ok_or_else(expired_grant)?;
            let scopes = ScopeSet::parse(&grant.scope, dir)?;
            let mut family = Family::new(caller.app, user, None, now, false, random_token(16));
            family.auth_time = auth_time;
            issue_user_tokens(
                p,
                dir,
                req,
                &caller,
                user,
                &scopes,
                None,
                Continuation::Start(family),
                now,
            )
            .await
        }
    }
}

/// On-behalf-of (spec §1.5): a middle-tier API exchanges the access token
/// it received (whose `aud` is the middle tier) for a token to a downstream
/// API, for the same user.
async fn on_behalf_of(
    p: &Provider,
    tenants: &Tenants,
    at: Authority<'_>,
    req: &TokenRequest,
) -> Result<TokenResponse, OAuthError> {
    let client_dir = at.client_directory(tenants, req.client_id()?)?;
    let caller = authenticate(p, client_dir, req, Credential::Required).await?;
    if req.get("requested_token_use") != Some("on_behalf_of") {
        return Err(OAuthError::invalid_request(
            900_144,
            "The request body must contain the following parameter: 'requested_token_use' (value 'on_behalf_of').",
        ));
    }
    let assertion = req.require("assertion")?;
    let principal = verify_assertion(p, tenants, req, caller.app, assertion).await?;
    if principal.is_app_only() {
        return Err(OAuthError::invalid_grant(
            50_013,
            "Assertion is an app-only token: on-behalf-of needs a token issued for a signed-in user.",
        ));
    }
    let user = principal
        .object_id()
        .and_then(|oid| tenants.user(oid))
        .filter(|(home, _)| {
            principal
                .tenant_id()
                .is_some_and(|t| t.as_str() == home.tenant.id)
        })
        .ok_or_else(|| {
            OAuthError::invalid_grant(
                50_034,
                "The user of the assertion does not exist in this directory.",
            )
        })?;
    let (dir, user) = user;
    at.admit(dir, user, &caller.app.app_id)?;
    let scopes = ScopeSet::parse(req.require("scope")?, dir)?;
    let now = p.now();
    let family = Family::new(caller.app, user, None, now, false, random_token(16));
    let mut body = issue_user_tokens(
        p,
        dir,
        req,
        &caller,
        user,
        &scopes,
        None,
        Continuation::Start(family),
        now,
    )
    .await?;
    // OBO answers carry no ID token or client_info.
    body.id_token = None;
    body.client_info = None;
    Ok(body)
}

/// Validates an OBO assertion with rolegate-token against this provider's
/// own keys: it must be an access token for the calling middle tier.
async fn verify_assertion(
    p: &Provider,
    tenants: &Tenants,
    req: &TokenRequest,
    middle_tier: &Application,
    assertion: &str,
) -> Result<rolegate_token::Principal, OAuthError> {
    let audiences: Vec<String> = std::iter::once(middle_tier.app_id.clone())
        .chain(middle_tier.identifier_uris.iter().cloned())
        .collect();
    // Any served tenant's user may be the subject.
    let issuers: Vec<String> = tenants
        .iter()
        .flat_map(|d| {
            let issuer = req.issuer_in(d);
            [issuer.v2_issuer(), issuer.v1_issuer()]
        })
        .collect();
    let validator = p.own_tokens.get(p, &issuers, Audiences::Api(&audiences))?;
    validator.validate(assertion).await.map_err(|e| {
        OAuthError::invalid_grant(
            50_013,
            format!("Assertion failed validation: {} ({}).", e, e.code()),
        )
    })
}

/// The UserInfo endpoint (spec §1.6): a Graph access token with `openid`
/// in `scp` returns the user's claims, mirroring the ID token.
pub async fn userinfo(
    p: &Provider,
    issuer: &IssuerContext,
    bearer: &str,
) -> Result<Value, OAuthError> {
    let tenants = p.tenants();
    let issuers: Vec<String> = tenants
        .iter()
        .flat_map(|d| {
            let issuer = IssuerContext {
                origin: issuer.origin.clone(),
                tenant_id: d.tenant.id.clone(),
            };
            [issuer.v1_issuer(), issuer.v2_issuer()]
        })
        .collect();
    let validator = p.own_tokens.get(
        p,
        &issuers,
        Audiences::Exact(&[
            crate::protocol::scope::GRAPH_URI,
            crate::protocol::scope::GRAPH_APP_ID,
        ]),
    )?;
    let principal = validator
        .validate(bearer)
        .await
        .map_err(|e| OAuthError::new("invalid_token", 80_001, format!("{e} ({})", e.code())))?;
    if !principal.has_scope("openid") {
        return Err(OAuthError::new(
            "insufficient_scope",
            80_002,
            "The access token does not grant 'openid'.",
        ));
    }
    let (dir, user) = principal
        .object_id()
        .and_then(|oid| tenants.user(oid))
        .filter(|(home, _)| {
            principal
                .tenant_id()
                .is_some_and(|t| t.as_str() == home.tenant.id)
        })
        .ok_or_else(|| {
            OAuthError::new(
                "invalid_token",
                80_001,
                "The token's user no longer exists.",
            )
        })?;
    let client = principal
        .client_id()
        .map(|c| c.as_str().to_owned())
        .unwrap_or_default();
    let (given, family) = tokens::split_name(&user.display_name);
    Ok(json!({
        "sub": tokens::pairwise_subject(&dir.tenant.id, &user.object_id, &client),
        "name": user.display_name,
        "given_name": given,
        "family_name": family,
        "email": user.user_principal_name,
        "picture": format!("{}/oidc/userinfo/picture", issuer.origin),
    }))
}

/// The refresh-token family a response belongs to.
#[derive(Debug, Clone)]
struct Family {
    id: String,
    client_id: String,
    user_id: String,
    session_id: String,
    auth_time: i64,
    spa: bool,
    /// Fixed end for SPA families (set once the family exists).
    fixed_expiry: Option<i64>,
}

impl Family {
    fn new(
        client: &Application,
        user: &User,
        session_id: Option<String>,
        now: i64,
        spa: bool,
        id: String,
    ) -> Family {
        Family {
            id,
            client_id: client.app_id.clone(),
            user_id: user.object_id.clone(),
            session_id: session_id.unwrap_or_default(),
            auth_time: now,
            spa,
            fixed_expiry: None,
        }
    }

    fn continuing(record: &RefreshRecord) -> Family {
        Family {
            id: record.family_id.clone(),
            client_id: record.client_id.clone(),
            user_id: record.user_id.clone(),
            session_id: record.session_id.clone(),
            auth_time: record.auth_time,
            spa: record.spa,
            fixed_expiry: record.spa.then_some(record.expires_at),
        }
    }

    /// The next refresh token of the family and its record: valid for
    /// `lifetime` (sliding) or until the SPA family's fixed end; it
    /// remembers the resource and scopes of this response and how the
    /// client authenticated.
    fn next_record(
        &self,
        now: i64,
        lifetime: i64,
        resource: &str,
        scope: &str,
        client_auth: ClientAuth,
    ) -> (RefreshRecord, String) {
        let token = random_token(48);
        let expires_at = self.fixed_expiry.unwrap_or(now + lifetime);
        (
            RefreshRecord {
                digest: digest(&token),
                family_id: self.id.clone(),
                client_id: self.client_id.clone(),
                user_id: self.user_id.clone(),
                session_id: self.session_id.clone(),
                auth_time: self.auth_time,
                issued_at: now,
                expires_at,
                spa: self.spa,
                resource: resource.to_owned(),
                scope: scope.to_owned(),
                client_auth: client_auth.as_str().to_owned(),
            },
            token,
        )
    }
}

/// Whether a response starts a refresh-token family or continues one.
enum Continuation {
    /// A new family (code, password, device code, OBO): a refresh token
    /// only when `offline_access` was asked for.
    Start(Family),
    /// A refresh: the presented token (by digest) is rotated into the next
    /// one, once everything else has succeeded. Refresh answers always
    /// carry the next refresh token.
    Rotate {
        /// Digest of the presented refresh token.
        presented: [u8; 32],
        /// Its family.
        family: Family,
    },
}

/// Issues access, ID and refresh tokens for a signed-in user. Everything
/// that can refuse the request runs before the refresh token is stored or
/// rotated.
#[allow(clippy::too_many_arguments)]
async fn issue_user_tokens(
    p: &Provider,
    dir: &Directory,
    req: &TokenRequest,
    caller: &Caller<'_>,
    user: &User,
    scopes: &ScopeSet,
    nonce: Option<String>,
    continuation: Continuation,
    now: i64,
) -> Result<TokenResponse, OAuthError> {
    let family = match &continuation {
        Continuation::Start(family) | Continuation::Rotate { family, .. } => family,
    };
    let resource = scopes.single_resource()?;
    let (grant_resource, granted, roles) =
        resolve_resource(p, dir, caller.app, user, &resource).await?;
    let lifetime = p.settings.access_token_lifetime;
    let access = AccessGrant {
        resource: grant_resource,
        audience_written: resource.written.clone(),
        client: caller.app,
        client_auth: caller.auth,
        user: Some(user),
        scopes: granted.clone(),
        roles,
        auth_time: Some(family.auth_time),
        membership: match grant_resource {
            Resource::Api(app) => dir.membership(user, app),
            Resource::Graph => Default::default(),
        },
    };
    let issuer = req.issuer_in(dir);
    let access_claims = tokens::access_token_claims(&issuer, &access, now, lifetime);
    let access_token = sign(p, access_claims, grant_resource.v1(), now)?;
    let resource_scopes: Vec<String> = granted.iter().map(|s| resource.qualify(s)).collect();
    let mut echo = resource_scopes.clone();
    echo.extend(scopes.oidc_echo().into_iter().map(str::to_owned));
    let mut body = TokenResponse {
        access_token,
        expires_in: lifetime,
        issued_at: now,
        scope: Some(echo.join(" ")),
        granted: granted.clone(),
        resource: resource.written.clone(),
        refresh_token: None,
        refresh_token_expires_in: None,
        id_token: None,
        client_info: None,
    };
    let id_token = if scopes.openid {
        let identity = IdentityGrant {
            client: caller.app,
            user,
            nonce,
            roles: dir.user_roles(user, caller.app),
            session_id: (!family.session_id.is_empty()).then(|| family.session_id.clone()),
            auth_time: Some(family.auth_time),
            email: scopes.email,
            membership: dir.membership(user, caller.app),
            v1: req.endpoint == Endpoint::V1,
        };
        let id_claims =
            tokens::id_token_claims(&issuer, &identity, now, p.settings.id_token_lifetime);
        Some(sign(p, id_claims, identity.v1, now)?)
    } else {
        None
    };
    // Last: store or rotate the refresh token. Nothing after this refuses.
    let remembered = if resource.is_graph() {
        ""
    } else {
        resource.written.as_str()
    };
    let refresh_lifetime = if family.spa {
        p.settings.spa_refresh_token_lifetime
    } else {
        p.settings.refresh_token_lifetime
    };
    let next = || {
        family.next_record(
            now,
            refresh_lifetime,
            remembered,
            &resource_scopes.join(" "),
            caller.auth,
        )
    };
    let issued = match continuation {
        Continuation::Start(_) if !scopes.offline_access => None,
        Continuation::Start(_) => {
            let (record, token) = next();
            p.store.put_refresh(&record).await.map_err(server_error)?;
            Some((record, token))
        }
        Continuation::Rotate { presented, .. } => {
            let (record, token) = next();
            match p
                .store
                .rotate_refresh(&presented, &record, now)
                .await
                .map_err(server_error)?
            {
                Redemption::Rotated(_) => Some((record, token)),
                Redemption::Reused { family_id } => {
                    tracing::warn!(%family_id, client = %caller.app.app_id, "refresh token reuse detected; the token family is revoked");
                    return Err(OAuthError::invalid_grant(
                        70_008,
                        "The refresh token has already been used; every token of its family has been revoked. Sign in again.",
                    ));
                }
                Redemption::Invalid => return Err(expired_grant()),
            }
        }
    };
    if let Some((record, token)) = issued {
        body.refresh_token = Some(token);
        if record.spa {
            body.refresh_token_expires_in = Some((record.expires_at - now).max(0));
        }
    }
    body.id_token = id_token;
    if req.wants_client_info() {
        body.client_info = Some(tokens::client_info(user, &dir.tenant.id));
    }
    Ok(body)
}

/// The resource, the delegated scopes granted on it, and the user's roles.
/// A scope of type `Admin` counts as granted only through an admin consent
/// in the tenant, never through a user's own consent (spec §8).
async fn resolve_resource<'a>(
    p: &Provider,
    dir: &'a Directory,
    client: &Application,
    user: &User,
    resource: &ResourceScopes,
) -> Result<(Resource<'a>, Vec<String>, Vec<String>), OAuthError> {
    if resource.is_graph() {
        let mut scp: Vec<String> = resource
            .values
            .iter()
            .filter(|v| *v != ".default")
            .cloned()
            .collect();
        if scp.is_empty() {
            scp.push("User.Read".to_owned());
        }
        for oidc in ["openid", "profile", "email"] {
            scp.push(oidc.to_owned());
        }
        return Ok((Resource::Graph, scp, Vec::new()));
    }
    let app = dir
        .application(&resource.app_id)
        .ok_or_else(|| resource_not_found(&resource.written, dir))?;
    if app.app_role_assignment_required && !dir.user_is_assigned(user, app) {
        return Err(assignment_required(user, app));
    }
    let consented = granted_scopes(p, dir, client, user, app).await?;
    let granted: Vec<String> = if resource.is_default() {
        app.scopes
            .iter()
            .filter(|s| consented.iter().any(|c| c.eq_ignore_ascii_case(&s.value)))
            .map(|s| s.value.clone())
            .collect()
    } else {
        let mut out = Vec::new();
        for value in &resource.values {
            let Some(defined) = app.scope(value) else {
                continue;
            };
            if !consented
                .iter()
                .any(|c| c.eq_ignore_ascii_case(&defined.value))
            {
                return Err(OAuthError::consent_required(
                    &client.app_id,
                    &resource.written,
                ));
            }
            out.push(defined.value.clone());
        }
        out
    };
    Ok((Resource::Api(app), granted, dir.user_roles(user, app)))
}

/// The delegated scopes of `resource` granted to `client` for `user`: the
/// tenant's admin consents, plus the user's own consents to scopes a user
/// may consent to (type `User`).
pub async fn granted_scopes(
    p: &Provider,
    dir: &Directory,
    client: &Application,
    user: &User,
    resource: &Application,
) -> Result<Vec<String>, OAuthError> {
    let mut granted = dir.admin_consented_scopes(client, resource);
    let own = p
        .store
        .consented_scopes(&client.app_id, &user.object_id, &resource.app_id)
        .await
        .map_err(server_error)?;
    granted.extend(
        own.into_iter()
            .filter(|s| resource.scope(s).is_some_and(|d| !d.admin_only)),
    );
    Ok(granted)
}

/// AADSTS50105.
pub fn assignment_required(user: &User, app: &Application) -> OAuthError {
    OAuthError::new(
        "access_denied",
        50_105,
        format!(
            "Your administrator has configured the application {} ('{}') to block users unless they are specifically granted ('assigned') access to the application. The signed in user '{}' is blocked because they are not a direct member of a group with access, nor had access directly assigned by an administrator.",
            app.display_name, app.app_id, user.user_principal_name
        ),
    )
}

fn sign(
    p: &Provider,
    claims: Map<String, Value>,
    v1: bool,
    now: i64,
) -> Result<String, OAuthError> {
    p.keys.sign(&Value::Object(claims), v1, now).map_err(|e| {
        tracing::error!(error = %e, "token signing failed");
        OAuthError::new("server_error", 500_000, "The token could not be signed.")
    })
}

/// Maps a store failure to a generic server error (details only in logs).
pub fn server_error(e: crate::store::StoreError) -> OAuthError {
    tracing::error!(error = %e, "store failure");
    OAuthError {
        status: 500,
        ..OAuthError::new(
            "server_error",
            500_001,
            "A server error occurred; see the identity provider's log.",
        )
    }
}

fn expired_grant() -> OAuthError {
    OAuthError::invalid_grant(
        70_008,
        "The provided authorization code or refresh token has expired due to inactivity or was revoked. Send a new interactive authorization request for this user and resource.",
    )
}

fn unknown_client(client_id: &str, dir: &Directory) -> OAuthError {
    OAuthError::unauthorized_client(
        700_016,
        format!(
            "Application with identifier '{client_id}' was not found in the directory '{}'.",
            dir.tenant.domain
        ),
    )
}

fn resource_not_found(resource: &str, dir: &Directory) -> OAuthError {
    OAuthError::new(
        "invalid_resource",
        500_011,
        format!(
            "The resource principal named {resource} was not found in the tenant named {}.",
            dir.tenant.domain
        ),
    )
}

fn default_scope_error(scope: &str) -> OAuthError {
    OAuthError::invalid_scope(
        1_002_012,
        format!(
            "The provided value for scope {scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI)."
        ),
    )
}
