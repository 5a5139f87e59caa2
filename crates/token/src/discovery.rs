//! OpenID Connect discovery (OpenID Connect Discovery 1.0 §4): where the
//! metadata lives for an authority, and parsing of the metadata document.
//!
//! This module does no I/O: [`discovery_urls`] builds the request URLs and
//! [`ProviderMetadata::parse`] reads a response body.

use std::net::IpAddr;

use serde_json::Value;
use url::Url;

use crate::error::JsonError;
use crate::id::Issuer;
use crate::json;

/// How an authority lays out its metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthorityKind {
    /// Entra ID (or an emulator of it): `{authority}/v2.0/.well-known/...`
    /// for v2 metadata and `{authority}/.well-known/...` for v1.
    Entra,
    /// Any OpenID Connect issuer: `{issuer}/.well-known/openid-configuration`,
    /// whose `issuer` must equal the configured issuer exactly (§4.3).
    Oidc,
}

/// The metadata members validation needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderMetadata {
    /// `issuer` (a `{tenantid}` template for multi-tenant Entra authorities).
    pub issuer: Issuer,
    /// `jwks_uri`.
    pub jwks_uri: Url,
}

/// Why a discovery document cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DiscoveryError {
    /// `jwks_uri` would fetch keys without TLS from a host that is not
    /// loopback.
    #[error(transparent)]
    InsecureTransport(#[from] InsecureTransport),
    /// `jwks_uri` is not a URL.
    #[error("\"jwks_uri\" is not a URL: {reason}")]
    InvalidJwksUri {
        /// What the URL parser said.
        reason: url::ParseError,
    },
    /// The document is not a JSON object, or JSON this crate refuses.
    #[error(transparent)]
    Json(#[from] JsonError),
    /// A member validation needs is missing.
    #[error("the document has no \"{member}\"")]
    MissingMember {
        /// The member's name.
        member: &'static str,
    },
    /// A member validation needs is not a string.
    #[error("\"{member}\" is not a string")]
    NotAString {
        /// The member's name.
        member: &'static str,
    },
}

/// A URL that would fetch keys or metadata over plain HTTP from a host that
/// is not loopback (see [`check_transport`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{url} uses {scheme}; keys and metadata must come over https (plain http is allowed only for loopback addresses)"
)]
pub struct InsecureTransport {
    /// The URL.
    pub url: String,
    /// Its scheme.
    pub scheme: String,
}

impl ProviderMetadata {
    /// Parses a discovery document.
    pub fn parse(bytes: &[u8]) -> Result<ProviderMetadata, DiscoveryError> {
        let doc = json::parse_object(bytes, 16)?;
        let text = |member: &'static str| match doc.get(member) {
            Some(Value::String(s)) => Ok(s.as_str()),
            Some(_) => Err(DiscoveryError::NotAString { member }),
            None => Err(DiscoveryError::MissingMember { member }),
        };
        let issuer = Issuer::new(text("issuer")?);
        let jwks_uri = Url::parse(text("jwks_uri")?)
            .map_err(|reason| DiscoveryError::InvalidJwksUri { reason })?;
        check_transport(&jwks_uri)?;
        Ok(ProviderMetadata { issuer, jwks_uri })
    }
}

/// The discovery URLs to fetch for an authority, primary first. The primary
/// document supplies `jwks_uri`; every document supplies an accepted issuer.
pub fn discovery_urls(authority: &Url, kind: AuthorityKind) -> Result<Vec<Url>, url::ParseError> {
    let base = authority.as_str().trim_end_matches('/');
    let join = |prefix: &str| Url::parse(&format!("{prefix}/.well-known/openid-configuration"));
    match kind {
        AuthorityKind::Oidc => Ok(vec![join(base)?]),
        AuthorityKind::Entra => match base.strip_suffix("/v2.0") {
            Some(v1) => Ok(vec![join(base)?, join(v1)?]),
            None => Ok(vec![join(&format!("{base}/v2.0"))?, join(base)?]),
        },
    }
}

/// Refuses plain HTTP except on loopback (RFC 9700 §2.6 spirit: keys must
/// come over an authenticated channel).
pub fn check_transport(url: &Url) -> Result<(), InsecureTransport> {
    match url.scheme() {
        "https" => Ok(()),
        "http" if is_loopback(url) => Ok(()),
        scheme => Err(InsecureTransport {
            url: url.to_string(),
            scheme: scheme.to_owned(),
        }),
    }
}

/// Whether the URL's host is `localhost` or a loopback address.
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entra_urls() {
        let a = Url::parse("https://login.microsoftonline.com/contoso.onmicrosoft.com").unwrap();
        let urls = discovery_urls(&a, AuthorityKind::Entra).unwrap();
        assert_eq!(
            urls[0].as_str(),
            "https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0/.well-known/openid-configuration"
        );
        assert_eq!(
            urls[1].as_str(),
            "https://login.microsoftonline.com/contoso.onmicrosoft.com/.well-known/openid-configuration"
        );
        let a = Url::parse("https://login.microsoftonline.com/t/v2.0/").unwrap();
        let urls = discovery_urls(&a, AuthorityKind::Entra).unwrap();
        assert_eq!(
            urls[0].as_str(),
            "https://login.microsoftonline.com/t/v2.0/.well-known/openid-configuration"
        );
    }

    #[test]
    fn transport() {
        assert!(check_transport(&Url::parse("http://127.0.0.1:9/x").unwrap()).is_ok());
        assert!(check_transport(&Url::parse("http://[::1]:9/x").unwrap()).is_ok());
        assert!(check_transport(&Url::parse("http://localhost/x").unwrap()).is_ok());
        assert!(check_transport(&Url::parse("http://example.com/x").unwrap()).is_err());
        assert!(check_transport(&Url::parse("ftp://127.0.0.1/x").unwrap()).is_err());
    }

    #[test]
    fn parses_metadata() {
        let m = ProviderMetadata::parse(
            br#"{"issuer":"https://i/t/v2.0","jwks_uri":"https://i/t/keys","x":1}"#,
        )
        .unwrap();
        assert_eq!(m.issuer.as_str(), "https://i/t/v2.0");
        assert_eq!(
            ProviderMetadata::parse(br#"{"issuer":"https://i"}"#),
            Err(DiscoveryError::MissingMember { member: "jwks_uri" })
        );
        assert_eq!(
            ProviderMetadata::parse(br#"{"issuer":["https://i"],"jwks_uri":"https://i/k"}"#),
            Err(DiscoveryError::NotAString { member: "issuer" })
        );
        assert!(matches!(
            ProviderMetadata::parse(br#"{"issuer":"https://i","jwks_uri":"/keys"}"#),
            Err(DiscoveryError::InvalidJwksUri { .. })
        ));
        let insecure = ProviderMetadata::parse(
            br#"{"issuer":"https://i","jwks_uri":"http://evil.example/keys"}"#,
        )
        .unwrap_err();
        assert_eq!(
            insecure.to_string(),
            "http://evil.example/keys uses http; keys and metadata must come over https (plain http is allowed only for loopback addresses)"
        );
    }
}
