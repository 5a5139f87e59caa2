//! The token endpoint's success answer, typed, and its two wire shapes:
//! v2.0 (`/oauth2/v2.0/token`: integers, resource-qualified `scope`) and
//! v1.0 (`/oauth2/token`: numbers as strings, `resource`, `expires_on`,
//! `not_before`, unqualified `scope`), spec §1.5.

use serde::Serialize;

/// Which token endpoint a request came to. The endpoint decides the
/// request parameters (`resource=` or scopes), the answer's shape and the
/// ID token's version; the access token's version is always the
/// resource's `requestedAccessTokenVersion`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Endpoint {
    /// `/{tenant}/oauth2/v2.0/…`.
    #[default]
    V2,
    /// `/{tenant}/oauth2/…` (ADAL-era clients, `resource=`).
    V1,
}

/// A successful token response, before it is put on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenResponse {
    /// The access token.
    pub access_token: String,
    /// Its lifetime in seconds.
    pub expires_in: i64,
    /// When it was issued (Unix seconds): v1's `not_before`/`expires_on`.
    pub issued_at: i64,
    /// The v2 `scope` echo (resource-qualified scopes plus OIDC scopes);
    /// `None` in client-credentials answers.
    pub scope: Option<String>,
    /// Granted delegated scope values, unqualified (v1 `scope`).
    pub granted: Vec<String>,
    /// The resource as the client named it (v1 `resource`).
    pub resource: String,
    /// A refresh token, when one was issued.
    pub refresh_token: Option<String>,
    /// Seconds the refresh token has left (SPA families only).
    pub refresh_token_expires_in: Option<i64>,
    /// An ID token, when `openid` was asked for and a user is involved.
    pub id_token: Option<String>,
    /// `client_info`, when asked for with `client_info=1`.
    pub client_info: Option<String>,
}

#[derive(Serialize)]
struct V2Body<'a> {
    token_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<&'a str>,
    expires_in: i64,
    ext_expires_in: i64,
    access_token: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token_expires_in: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    id_token: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_info: Option<&'a str>,
}

/// v1 answers carry numbers as strings, as Entra's v1 endpoint does (MSAL
/// and ADAL parse both).
#[derive(Serialize)]
struct V1Body<'a> {
    token_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<String>,
    expires_in: String,
    ext_expires_in: String,
    expires_on: String,
    not_before: String,
    resource: &'a str,
    access_token: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    id_token: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_info: Option<&'a str>,
}

impl TokenResponse {
    /// The answer in `endpoint`'s shape.
    pub fn to_json(&self, endpoint: Endpoint) -> serde_json::Value {
        let value = match endpoint {
            Endpoint::V2 => serde_json::to_value(V2Body {
                token_type: "Bearer",
                scope: self.scope.as_deref(),
                expires_in: self.expires_in,
                ext_expires_in: self.expires_in,
                access_token: &self.access_token,
                refresh_token: self.refresh_token.as_deref(),
                refresh_token_expires_in: self.refresh_token_expires_in,
                id_token: self.id_token.as_deref(),
                client_info: self.client_info.as_deref(),
            }),
            Endpoint::V1 => serde_json::to_value(V1Body {
                token_type: "Bearer",
                scope: self.scope.as_ref().map(|_| self.granted.join(" ")),
                expires_in: self.expires_in.to_string(),
                ext_expires_in: self.expires_in.to_string(),
                expires_on: (self.issued_at + self.expires_in).to_string(),
                not_before: self.issued_at.to_string(),
                resource: &self.resource,
                access_token: &self.access_token,
                refresh_token: self.refresh_token.as_deref(),
                id_token: self.id_token.as_deref(),
                client_info: self.client_info.as_deref(),
            }),
        };
        value.unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> TokenResponse {
        TokenResponse {
            access_token: "at".into(),
            expires_in: 3599,
            issued_at: 1_700_000_000,
            scope: Some("api://orders/Orders.Read openid".into()),
            granted: vec!["Orders.Read".into()],
            resource: "api://orders".into(),
            refresh_token: Some("rt".into()),
            refresh_token_expires_in: None,
            id_token: None,
            client_info: None,
        }
    }

    #[test]
    fn v2_answers_use_integers_and_qualified_scopes() {
        let v = sample().to_json(Endpoint::V2);
        assert_eq!(v["expires_in"], 3599);
        assert_eq!(v["ext_expires_in"], 3599);
        assert_eq!(v["scope"], "api://orders/Orders.Read openid");
        assert!(v.get("resource").is_none());
        assert!(v.get("id_token").is_none());
    }

    #[test]
    fn v1_answers_use_strings_resource_and_expires_on() {
        let v = sample().to_json(Endpoint::V1);
        assert_eq!(v["expires_in"], "3599");
        assert_eq!(v["ext_expires_in"], "3599");
        assert_eq!(v["expires_on"], "1700003599");
        assert_eq!(v["not_before"], "1700000000");
        assert_eq!(v["resource"], "api://orders");
        assert_eq!(v["scope"], "Orders.Read");
        assert_eq!(v["refresh_token"], "rt");
    }

    #[test]
    fn client_credentials_answers_carry_no_scope_in_either_shape() {
        let mut r = sample();
        r.scope = None;
        r.refresh_token = None;
        assert!(r.to_json(Endpoint::V2).get("scope").is_none());
        assert!(r.to_json(Endpoint::V1).get("scope").is_none());
    }
}
