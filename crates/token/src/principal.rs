//! The validated caller.

use std::sync::Arc;

use serde_json::{Map, Value};

use crate::claims;
use crate::id::{AppRole, ClientId, Issuer, KeyId, Scope, TenantId};
use crate::issuer::TokenVersion;

/// Who called, as established by a fully validated access token.
///
/// Only [`Validator`](crate::Validator) constructs a `Principal`, and only
/// after the signature, issuer, audience, lifetime and token kind checked
/// out. Cloning is cheap (the claims are shared).
#[derive(Debug, Clone, PartialEq)]
pub struct Principal(Arc<Inner>);

#[derive(Debug, PartialEq)]
struct Inner {
    issuer: Issuer,
    tenant_id: Option<TenantId>,
    object_id: Option<String>,
    subject: Option<String>,
    name: Option<String>,
    preferred_username: Option<String>,
    roles: Vec<AppRole>,
    scopes: Vec<Scope>,
    client_id: Option<ClientId>,
    app_only: bool,
    version: Option<TokenVersion>,
    expires_at: i64,
    key_id: Option<KeyId>,
    claims: Map<String, Value>,
}

/// The permission-bearing parts of a token, for authorization checks. Both
/// [`Principal`] and unverified diagnostics implement it.
pub trait Permissions {
    /// App roles (`roles`).
    fn roles(&self) -> &[AppRole];
    /// Delegated scopes (`scp`).
    fn scopes(&self) -> &[Scope];
    /// Whether the token is app-only (no signed-in user).
    fn is_app_only(&self) -> bool;
}

impl Principal {
    /// Builds the principal from claims that have passed validation.
    pub(crate) fn from_validated(claims: Map<String, Value>, key_id: Option<&str>) -> Principal {
        let grants = Grants::from_claims(&claims);
        let text = |name: &str| {
            claims::string(&claims, name)
                .ok()
                .flatten()
                .map(str::to_owned)
        };
        let iss = text("iss").unwrap_or_default();
        let version =
            TokenVersion::from_claims(claims::string(&claims, "ver").ok().flatten(), Some(&iss));
        let client_id = text("azp")
            .or_else(|| text("appid"))
            .or_else(|| text("client_id"))
            .map(ClientId::new);
        Principal(Arc::new(Inner {
            tenant_id: text("tid").map(TenantId::new),
            object_id: text("oid"),
            subject: text("sub"),
            name: text("name"),
            preferred_username: text("preferred_username").or_else(|| text("upn")),
            roles: grants.roles,
            scopes: grants.scopes,
            app_only: grants.app_only,
            client_id,
            version,
            expires_at: claims::numeric_date(&claims, "exp")
                .ok()
                .flatten()
                .unwrap_or(0),
            key_id: key_id.map(KeyId::new),
            issuer: Issuer::new(iss),
            claims,
        }))
    }

    /// `iss`.
    pub fn issuer(&self) -> &Issuer {
        &self.0.issuer
    }

    /// `tid`: the tenant the token was issued in.
    pub fn tenant_id(&self) -> Option<&TenantId> {
        self.0.tenant_id.as_ref()
    }

    /// `oid`: the immutable object id of the user (or, for app-only tokens,
    /// of the client's service principal). Authorize on `(tid, oid)`.
    pub fn object_id(&self) -> Option<&str> {
        self.0.object_id.as_deref()
    }

    /// `sub`: pairwise subject (differs per application).
    pub fn subject(&self) -> Option<&str> {
        self.0.subject.as_deref()
    }

    /// `name`: display name, for display only.
    pub fn name(&self) -> Option<&str> {
        self.0.name.as_deref()
    }

    /// `preferred_username` (or v1 `upn`): mutable; never authorize on it.
    pub fn preferred_username(&self) -> Option<&str> {
        self.0.preferred_username.as_deref()
    }

    /// The calling client application (`azp` in v2, `appid` in v1).
    pub fn client_id(&self) -> Option<&ClientId> {
        self.0.client_id.as_ref()
    }

    /// The token version, when it could be determined.
    pub fn version(&self) -> Option<TokenVersion> {
        self.0.version
    }

    /// `exp`.
    pub fn expires_at(&self) -> i64 {
        self.0.expires_at
    }

    /// The `kid` of the key that signed the token.
    pub fn key_id(&self) -> Option<&KeyId> {
        self.0.key_id.as_ref()
    }

    /// Every claim, as validated. Prefer the typed accessors.
    pub fn claims(&self) -> &Map<String, Value> {
        &self.0.claims
    }

    /// App roles (`roles`): the user's assignments, or for app-only tokens
    /// the application permissions granted to the client.
    pub fn roles(&self) -> &[AppRole] {
        &self.0.roles
    }

    /// Delegated scopes (`scp`), split.
    pub fn scopes(&self) -> &[Scope] {
        &self.0.scopes
    }

    /// Whether the token is app-only (no signed-in user): `idtyp` is `app`,
    /// or, without `idtyp`, the token has no `scp`.
    pub fn is_app_only(&self) -> bool {
        self.0.app_only
    }

    /// Whether the principal holds app role `role`.
    pub fn has_role(&self, role: &str) -> bool {
        self.0.roles.iter().any(|r| r == role)
    }

    /// Whether the principal holds delegated scope `scope`.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.0.scopes.iter().any(|s| s == scope)
    }
}

impl Permissions for Principal {
    fn roles(&self) -> &[AppRole] {
        Principal::roles(self)
    }

    fn scopes(&self) -> &[Scope] {
        Principal::scopes(self)
    }

    fn is_app_only(&self) -> bool {
        Principal::is_app_only(self)
    }
}

/// Roles, scopes and the app-only flag read from (possibly unverified)
/// claims, leniently: wrongly typed claims count as absent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grants {
    /// `roles`.
    pub roles: Vec<AppRole>,
    /// `scp`, split.
    pub scopes: Vec<Scope>,
    /// App-only: `idtyp` is `app`, or (without `idtyp`) there is no `scp`.
    pub app_only: bool,
}

impl Grants {
    /// Reads the grants from claims.
    pub fn from_claims(claims: &Map<String, Value>) -> Grants {
        let roles: Vec<AppRole> = claims::string_array(claims, "roles")
            .ok()
            .flatten()
            .unwrap_or_default()
            .into_iter()
            .map(AppRole::from)
            .collect();
        let scopes: Vec<Scope> = claims::scopes(claims)
            .unwrap_or_default()
            .into_iter()
            .map(Scope::from)
            .collect();
        let app_only = match claims.get("idtyp").and_then(Value::as_str) {
            Some("app") => true,
            Some("user") => false,
            _ => scopes.is_empty() && !claims.contains_key("scp"),
        };
        Grants {
            roles,
            scopes,
            app_only,
        }
    }
}

impl Permissions for Grants {
    fn roles(&self) -> &[AppRole] {
        &self.roles
    }

    fn scopes(&self) -> &[Scope] {
        &self.scopes
    }

    fn is_app_only(&self) -> bool {
        self.app_only
    }
}
