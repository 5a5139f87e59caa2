//! The token endpoint (spec §1.5): `authorization_code` (+PKCE),
//! `refresh_token` (rotation, family revocation on reuse), `client_credentials`,
//! `password` (ROPC), `device_code` and on-behalf-of, one module per grant.
//! Clients authenticate with a secret or a client assertion
//! ([`super::assertion`]); [`issue`] mints the user tokens every user grant
//! ends with.

mod authorization_code;
mod client_auth;
mod client_credentials;
mod device_code;
pub mod issue;
mod on_behalf_of;
pub mod password;
mod refresh;

use std::collections::HashMap;
use std::net::IpAddr;

use crate::directory::Directory;
use crate::protocol::errors::OAuthError;
use crate::protocol::response::{Endpoint, TokenResponse};
use crate::protocol::tenancy::{self, Authority};
use crate::protocol::tokens::IssuerContext;
use crate::protocol::{Provider, aadsts};

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

    /// The `grant_type` parameter, parsed.
    fn grant_type(&self) -> Result<GrantType, OAuthError> {
        self.require("grant_type").map(GrantType::parse)
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

/// A `grant_type` value (RFC 6749 §4; the registry is open, so any other
/// value is kept as [`GrantType::Unknown`] and refused with AADSTS70003).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GrantType {
    /// `authorization_code` (RFC 6749 §4.1.3).
    AuthorizationCode,
    /// `client_credentials` (RFC 6749 §4.4.2).
    ClientCredentials,
    /// `urn:ietf:params:oauth:grant-type:device_code` (RFC 8628 §3.4); the
    /// bare `device_code` that older MSAL versions send is read as it too.
    DeviceCode,
    /// `urn:ietf:params:oauth:grant-type:jwt-bearer` (RFC 7523 §2.1): Entra's
    /// on-behalf-of grant.
    JwtBearer,
    /// `password` (RFC 6749 §4.3.2).
    Password,
    /// `refresh_token` (RFC 6749 §6).
    RefreshToken,
    /// Any other value, as sent.
    Unknown(String),
}

impl GrantType {
    /// Reads a `grant_type` value (exact, case-sensitive match).
    pub fn parse(value: &str) -> Self {
        match value {
            "authorization_code" => GrantType::AuthorizationCode,
            "client_credentials" => GrantType::ClientCredentials,
            DEVICE_CODE | "device_code" => GrantType::DeviceCode,
            JWT_BEARER => GrantType::JwtBearer,
            "password" => GrantType::Password,
            "refresh_token" => GrantType::RefreshToken,
            other => GrantType::Unknown(other.to_owned()),
        }
    }

    /// The value on the wire (the URN for the device code grant).
    pub fn as_str(&self) -> &str {
        match self {
            GrantType::AuthorizationCode => "authorization_code",
            GrantType::ClientCredentials => "client_credentials",
            GrantType::DeviceCode => DEVICE_CODE,
            GrantType::JwtBearer => JWT_BEARER,
            GrantType::Password => "password",
            GrantType::RefreshToken => "refresh_token",
            GrantType::Unknown(other) => other,
        }
    }
}

impl std::fmt::Display for GrantType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
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
    let grant_type = req.grant_type()?;
    let tenants = p.tenants();
    let at = Authority::resolve(&tenants, &req.tenant_segment)?;
    let t = &tenants;
    match grant_type {
        GrantType::AuthorizationCode => authorization_code::redeem(p, t, at, req).await,
        GrantType::ClientCredentials => client_credentials::client_credentials(p, at, req).await,
        GrantType::DeviceCode => device_code::device_code(p, t, at, req).await,
        GrantType::JwtBearer => on_behalf_of::on_behalf_of(p, t, at, req).await,
        GrantType::Password => password::password(p, t, at, req).await,
        GrantType::RefreshToken => refresh::refresh_token(p, t, at, req).await,
        GrantType::Unknown(other) => Err(OAuthError::new(
            "unsupported_grant_type",
            aadsts::UNSUPPORTED_GRANT_TYPE,
            format!("The app requested an unsupported grant type '{other}'."),
        )),
    }
}

/// Rewrites a v1 token request (`resource=`) as the v2 request it
/// means: the resource's statically consented permissions
/// (`{resource}/.default`, which is what v1 always grants), and for user
/// flows a refresh token (v1 always issues one) and an ID token when
/// `openid` was asked for. `scope` values other than OIDC ones are
/// ignored on v1, as Entra does.
fn v1_request(req: &TokenRequest) -> Result<TokenRequest, OAuthError> {
    let mut out = req.clone();
    let grant_type = GrantType::parse(req.get("grant_type").unwrap_or_default());
    let oidc: Vec<&str> = req
        .get("scope")
        .unwrap_or_default()
        .split_whitespace()
        .filter(|s| V1_OIDC.iter().any(|o| o.eq_ignore_ascii_case(s)))
        .collect();
    let resource = req.get("resource");
    let needs_resource = matches!(
        grant_type,
        GrantType::ClientCredentials | GrantType::Password | GrantType::JwtBearer
    );
    let scope = match resource {
        None if needs_resource => return Err(OAuthError::missing("resource")),
        // Code redemption and refresh without `resource`: the code's or the
        // family's own resource.
        None => {
            out.params.remove("scope");
            return Ok(out);
        }
        Some(resource) if grant_type == GrantType::ClientCredentials => {
            format!("{resource}/.default")
        }
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

/// AADSTS700016: one text wherever the client is not found.
fn unknown_client(client_id: &str, dir: &Directory) -> OAuthError {
    tenancy::app_not_found(client_id, dir)
}

/// AADSTS500011: one text wherever the resource is not found.
fn resource_not_found(resource: &str, dir: &Directory) -> OAuthError {
    tenancy::resource_not_installed(resource, dir)
}

fn default_scope_error(scope: &str) -> OAuthError {
    OAuthError::invalid_scope(
        aadsts::DEFAULT_SCOPE_REQUIRED,
        format!(
            "The provided value for scope {scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI)."
        ),
    )
}

/// The device code grant's `grant_type` (RFC 8628 §3.4).
const DEVICE_CODE: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// The JWT bearer grant's `grant_type` (RFC 7523 §2.1).
const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// OIDC scope values a v1 request may carry besides `resource=`.
const V1_OIDC: [&str; 3] = ["openid", "profile", "email"];

#[cfg(test)]
mod tests;
