//! Token contents, exactly as the spec's claim tables (§3, §4).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};

use crate::directory::{Application, Membership, User};
use crate::protocol::scope::{GRAPH_APP_ID, GRAPH_URI};
use crate::secret::random_token;

/// The issuing side of a token: origin and tenant.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IssuerContext {
    /// `https://host:port` the client reached us at.
    pub origin: String,
    /// The tenant id.
    pub tenant_id: String,
}

impl IssuerContext {
    /// `https://{origin}/{tid}/v2.0`.
    pub fn v2_issuer(&self) -> String {
        format!("{}/{}/v2.0", self.origin, self.tenant_id)
    }

    /// `https://sts.windows.net/{tid}/`: v1 tokens always carry it.
    pub fn v1_issuer(&self) -> String {
        format!("https://sts.windows.net/{}/", self.tenant_id)
    }
}

/// How the client authenticated: `azpacr`/`appidacr`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    /// `"2"`: a client assertion signed with a registered certificate.
    Certificate,
    /// `"0"`: a public client.
    Public,
    /// `"1"`: a client secret.
    Secret,
}

impl ClientAuth {
    /// The stored name (`certificate`, `public`, `secret`).
    pub fn as_str(self) -> &'static str {
        match self {
            ClientAuth::Certificate => "certificate",
            ClientAuth::Public => "public",
            ClientAuth::Secret => "secret",
        }
    }

    /// Reads [`as_str`](Self::as_str)'s output; `None` for anything else
    /// (a stored value this version does not know: callers fail closed).
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "certificate" => Some(ClientAuth::Certificate),
            "secret" => Some(ClientAuth::Secret),
            "public" => Some(ClientAuth::Public),
            _ => None,
        }
    }

    fn claim(self) -> &'static str {
        match self {
            ClientAuth::Certificate => "2",
            ClientAuth::Public => "0",
            ClientAuth::Secret => "1",
        }
    }
}

/// The resource an access token is for.
#[derive(Debug, Clone, Copy)]
pub enum Resource<'a> {
    /// An API registered in the directory.
    Api(&'a Application),
    /// Microsoft Graph (OIDC-only and unqualified scopes).
    Graph,
}

impl Resource<'_> {
    /// The resource's app id.
    pub fn app_id(&self) -> &str {
        match self {
            Resource::Api(app) => &app.app_id,
            Resource::Graph => GRAPH_APP_ID,
        }
    }

    /// Whether the resource receives v1.0 tokens (Graph tokens are v1-shaped).
    pub fn v1(&self) -> bool {
        match self {
            Resource::Api(app) => app.requested_access_token_version != 2,
            Resource::Graph => true,
        }
    }
}

/// Everything an access token states.
#[derive(Debug, Clone)]
pub struct AccessGrant<'a> {
    /// For whom.
    pub resource: Resource<'a>,
    /// The resource identifier as the client wrote it (v1 `aud`).
    pub audience_written: String,
    /// The calling client.
    pub client: &'a Application,
    /// How it authenticated.
    pub client_auth: ClientAuth,
    /// The signed-in user; `None` for app-only tokens.
    pub user: Option<&'a User>,
    /// Granted delegated scope values (`scp`), user tokens only.
    pub scopes: Vec<String>,
    /// App roles (`roles`).
    pub roles: Vec<String>,
    /// When the user authenticated.
    pub auth_time: Option<i64>,
    /// `groups`/`wids` per the resource's `groupMembershipClaims`.
    pub membership: Membership,
}

/// v1.0 or v2.0 access token claims (the resource decides the version).
pub fn access_token_claims(
    issuer: &IssuerContext,
    grant: &AccessGrant<'_>,
    now: i64,
    lifetime: i64,
) -> Map<String, Value> {
    let v1 = grant.resource.v1();
    let aud = if v1 {
        match grant.resource {
            Resource::Graph => GRAPH_URI.to_owned(),
            Resource::Api(_) => grant.audience_written.clone(),
        }
    } else {
        grant.resource.app_id().to_owned()
    };
    let mut c = Map::new();
    c.insert("aud".into(), aud.into());
    c.insert(
        "iss".into(),
        if v1 {
            issuer.v1_issuer()
        } else {
            issuer.v2_issuer()
        }
        .into(),
    );
    c.insert("iat".into(), now.into());
    c.insert("nbf".into(), now.into());
    c.insert("exp".into(), (now + lifetime).into());
    c.insert("aio".into(), random_token(48).into());
    let (client_claim, acr_claim) = if v1 {
        ("appid", "appidacr")
    } else {
        ("azp", "azpacr")
    };
    c.insert(client_claim.into(), grant.client.app_id.clone().into());
    c.insert(acr_claim.into(), grant.client_auth.claim().into());
    let emit_idtyp = matches!(grant.resource, Resource::Api(app) if app.emit_idtyp);
    match grant.user {
        Some(user) => {
            if v1 {
                c.insert("acr".into(), "1".into());
                c.insert("amr".into(), json!(["pwd"]));
                c.insert(
                    "unique_name".into(),
                    user.user_principal_name.clone().into(),
                );
                c.insert("upn".into(), user.user_principal_name.clone().into());
            } else {
                c.insert(
                    "preferred_username".into(),
                    user.user_principal_name.clone().into(),
                );
            }
            c.insert("name".into(), user.display_name.clone().into());
            c.insert("oid".into(), user.object_id.clone().into());
            c.insert(
                "sub".into(),
                pairwise_subject(&issuer.tenant_id, &user.object_id, grant.resource.app_id())
                    .into(),
            );
            if !grant.scopes.is_empty() {
                c.insert("scp".into(), grant.scopes.join(" ").into());
            }
        }
        None => {
            c.insert(
                "oid".into(),
                grant.client.service_principal_id.clone().into(),
            );
            c.insert(
                "sub".into(),
                grant.client.service_principal_id.clone().into(),
            );
            if emit_idtyp {
                c.insert("idtyp".into(), "app".into());
            }
        }
    }
    if !grant.roles.is_empty() {
        c.insert("roles".into(), json!(grant.roles));
    }
    if let Some(user) = grant.user {
        membership_claims(&mut c, &grant.membership, issuer, user, v1);
    }
    c.insert("rh".into(), format!("0.{}.", random_token(42)).into());
    c.insert("tid".into(), issuer.tenant_id.clone().into());
    c.insert("uti".into(), random_token(16).into());
    c.insert("ver".into(), if v1 { "1.0" } else { "2.0" }.into());
    c
}

/// Everything a v2.0 ID token states.
#[derive(Debug, Clone)]
pub struct IdentityGrant<'a> {
    /// The client it is for (`aud`).
    pub client: &'a Application,
    /// The signed-in user.
    pub user: &'a User,
    /// The authorize request's nonce.
    pub nonce: Option<String>,
    /// The user's roles on the client app itself.
    pub roles: Vec<String>,
    /// The SSO session id.
    pub session_id: Option<String>,
    /// When the user authenticated.
    pub auth_time: Option<i64>,
    /// `email` was requested.
    pub email: bool,
    /// `groups`/`wids` per the client's `groupMembershipClaims`.
    pub membership: Membership,
    /// Issued by a v1 endpoint: a v1.0 ID token (the endpoint decides the
    /// ID token's version, not the app).
    pub v1: bool,
}

/// ID token claims (spec §4): no `azp`, `scp` or `appid`. v1.0 ID tokens
/// (from the v1 endpoints) carry the `sts.windows.net` issuer, `amr`,
/// `unique_name`, `upn`, `given_name` and `family_name` instead of
/// `preferred_username`.
pub fn id_token_claims(
    issuer: &IssuerContext,
    grant: &IdentityGrant<'_>,
    now: i64,
    lifetime: i64,
) -> Map<String, Value> {
    let mut c = Map::new();
    c.insert("aud".into(), grant.client.app_id.clone().into());
    let iss = if grant.v1 {
        issuer.v1_issuer()
    } else {
        issuer.v2_issuer()
    };
    c.insert("iss".into(), iss.into());
    c.insert("iat".into(), now.into());
    c.insert("nbf".into(), now.into());
    c.insert("exp".into(), (now + lifetime).into());
    c.insert("aio".into(), random_token(48).into());
    if grant.v1 {
        let (given, family) = split_name(&grant.user.display_name);
        c.insert("amr".into(), json!(["pwd"]));
        c.insert("family_name".into(), family.into());
        c.insert("given_name".into(), given.into());
        c.insert(
            "unique_name".into(),
            grant.user.user_principal_name.clone().into(),
        );
        c.insert("upn".into(), grant.user.user_principal_name.clone().into());
    }
    if let Some(auth_time) = grant.auth_time {
        c.insert("auth_time".into(), auth_time.into());
    }
    if grant.email {
        c.insert(
            "email".into(),
            grant.user.user_principal_name.clone().into(),
        );
    }
    c.insert("name".into(), grant.user.display_name.clone().into());
    if let Some(nonce) = &grant.nonce {
        c.insert("nonce".into(), nonce.clone().into());
    }
    c.insert("oid".into(), grant.user.object_id.clone().into());
    if !grant.v1 {
        c.insert(
            "preferred_username".into(),
            grant.user.user_principal_name.clone().into(),
        );
    }
    c.insert("rh".into(), format!("0.{}.", random_token(42)).into());
    if !grant.roles.is_empty() {
        c.insert("roles".into(), json!(grant.roles));
    }
    membership_claims(&mut c, &grant.membership, issuer, grant.user, grant.v1);
    if let Some(sid) = &grant.session_id {
        c.insert("sid".into(), sid.clone().into());
    }
    c.insert(
        "sub".into(),
        pairwise_subject(
            &issuer.tenant_id,
            &grant.user.object_id,
            &grant.client.app_id,
        )
        .into(),
    );
    c.insert("tid".into(), issuer.tenant_id.clone().into());
    c.insert("uti".into(), random_token(16).into());
    c.insert("ver".into(), if grant.v1 { "1.0" } else { "2.0" }.into());
    c
}

/// `groups` (or, above the tenant's limit, the overage indirection
/// `_claim_names`/`_claim_sources` pointing at Graph's `getMemberObjects`,
/// spec §3) and `wids`.
fn membership_claims(
    c: &mut Map<String, Value>,
    membership: &Membership,
    issuer: &IssuerContext,
    user: &User,
    v1: bool,
) {
    if membership.overage {
        let endpoint = if v1 {
            format!(
                "https://graph.windows.net/{}/users/{}/getMemberObjects",
                issuer.tenant_id, user.object_id
            )
        } else {
            format!(
                "https://graph.microsoft.com/v1.0/users/{}/getMemberObjects",
                user.object_id
            )
        };
        c.insert("_claim_names".into(), json!({"groups": "src1"}));
        c.insert(
            "_claim_sources".into(),
            json!({"src1": {"endpoint": endpoint}}),
        );
    } else if !membership.groups.is_empty() {
        c.insert("groups".into(), json!(membership.groups));
    }
    if !membership.wids.is_empty() {
        c.insert("wids".into(), json!(membership.wids));
    }
}

/// Splits a display name into given and family name at the first space
/// (as UserInfo answers).
pub fn split_name(display_name: &str) -> (String, String) {
    match display_name.trim().split_once(' ') {
        Some((given, family)) => (given.trim().to_owned(), family.to_owned()),
        None => (display_name.trim().to_owned(), String::new()),
    }
}

/// `client_info`: base64url of `{"uid": oid, "utid": tid}` (MSAL's home account id).
pub fn client_info(user: &User, tenant_id: &str) -> String {
    URL_SAFE_NO_PAD.encode(json!({"uid": user.object_id, "utid": tenant_id}).to_string())
}

/// Entra's pairwise `sub`: stable per (tenant, user, application), 43 base64url characters.
pub fn pairwise_subject(tenant_id: &str, object_id: &str, app_id: &str) -> String {
    let digest = crate::secret::digest(&format!("{tenant_id}:{object_id}:{app_id}"));
    URL_SAFE_NO_PAD.encode(digest).chars().take(43).collect()
}
