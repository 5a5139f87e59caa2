//! Discovery documents (spec §1.2), instance discovery (§1.7) and user
//! realm discovery (§12.3). The endpoint members come from the endpoint
//! table the router serves ([`super::endpoints`]).

use serde_json::{Value, json};

use super::endpoints::{self, Document};

/// What a discovery request was made for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TenantAlias {
    /// A tenant id or domain: endpoints and issuer carry the GUID.
    Tenant,
    /// `common` or `organizations`: endpoints keep the alias, issuer is a template.
    Multi,
}

/// Client authentication at the token endpoint, in Entra's order (spec
/// §1.2): secrets in the body or HTTP Basic, and client assertions signed
/// with a registered certificate ([`super::assertion`]). Entra publishes no
/// `token_endpoint_auth_signing_alg_values_supported`; the assertion module
/// accepts RS256 and PS256.
const AUTH_METHODS: [&str; 3] = [
    "client_secret_post",
    "private_key_jwt",
    "client_secret_basic",
];

/// `response_type`s `/authorize` serves (implicit and hybrid flows are not
/// implemented; they are refused with `unsupported_response_type`).
const RESPONSE_TYPES: [&str; 1] = ["code"];

/// The v2.0 OpenID configuration. It advertises only what is implemented.
pub fn v2_document(origin: &str, path_tenant: &str, tenant_id: &str, alias: TenantAlias) -> Value {
    let (segment, issuer) = match alias {
        TenantAlias::Tenant => (tenant_id, format!("{origin}/{tenant_id}/v2.0")),
        TenantAlias::Multi => (path_tenant, format!("{origin}/{{tenantid}}/v2.0")),
    };
    let mut document = json!({
        "token_endpoint_auth_methods_supported": AUTH_METHODS,
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": RESPONSE_TYPES,
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "issuer": issuer,
        "request_uri_parameter_supported": false,
        "http_logout_supported": true,
        "frontchannel_logout_supported": true,
        "claims_supported": ["sub", "iss", "cloud_instance_name", "cloud_instance_host_name", "cloud_graph_host_name", "msgraph_host", "aud", "exp", "iat", "auth_time", "acr", "nonce", "preferred_username", "name", "tid", "ver", "at_hash", "c_hash", "email"],
        "tenant_region_scope": match alias { TenantAlias::Tenant => Value::from("WW"), TenantAlias::Multi => Value::Null },
        "cloud_instance_name": "microsoftonline.com",
        "cloud_graph_host_name": "graph.windows.net",
        "msgraph_host": "graph.microsoft.com",
        "rbac_url": "https://pas.windows.net",
    });
    advertise(&mut document, Document::V2, origin, segment);
    document
}

/// The v1.0 OpenID configuration. It names no device or logout endpoint
/// (Entra's does not either).
pub fn v1_document(origin: &str, path_tenant: &str, tenant_id: &str, alias: TenantAlias) -> Value {
    let (segment, issuer) = match alias {
        TenantAlias::Tenant => (tenant_id, format!("https://sts.windows.net/{tenant_id}/")),
        TenantAlias::Multi => (
            path_tenant,
            "https://sts.windows.net/{tenantid}/".to_owned(),
        ),
    };
    let mut document = json!({
        "token_endpoint_auth_methods_supported": AUTH_METHODS,
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": RESPONSE_TYPES,
        "scopes_supported": ["openid"],
        "issuer": issuer,
        "microsoft_multi_refresh_token": true,
        "http_logout_supported": true,
        "frontchannel_logout_supported": true,
        "claims_supported": ["sub", "iss", "cloud_instance_name", "cloud_instance_host_name", "cloud_graph_host_name", "msgraph_host", "aud", "exp", "iat", "auth_time", "acr", "amr", "nonce", "email", "given_name", "family_name", "nickname"],
        "tenant_region_scope": match alias { TenantAlias::Tenant => Value::from("WW"), TenantAlias::Multi => Value::Null },
        "cloud_instance_name": "microsoftonline.com",
        "cloud_graph_host_name": "graph.windows.net",
        "msgraph_host": "graph.microsoft.com",
        "rbac_url": "https://pas.windows.net",
    });
    advertise(&mut document, Document::V1, origin, segment);
    document
}

/// `GET /common/discovery/instance`: this host as its own cloud.
pub fn instance_document(origin: &str, host: &str, tenant_id: &str) -> Value {
    json!({
        "tenant_discovery_endpoint": endpoints::V2_DISCOVERY.url(origin, tenant_id),
        "api-version": "1.1",
        "metadata": [{"preferred_network": host, "preferred_cache": host, "aliases": [host]}],
    })
}

/// `GET /common/userrealm/{user}`: every known user is a managed account.
pub fn user_realm(user: &str, domain: &str, known: bool) -> Value {
    json!({
        "ver": "1.0",
        "account_type": if known { "Managed" } else { "Unknown" },
        "domain_name": domain,
        "cloud_instance_name": "microsoftonline.com",
        "cloud_audience_urn": "urn:federation:MicrosoftOnline",
        "login": user,
    })
}

/// Adds the endpoint members the table assigns to `which`.
fn advertise(document: &mut Value, which: Document, origin: &str, segment: &str) {
    if let Some(members) = document.as_object_mut() {
        for (member, url) in endpoints::advertised(which, origin, segment) {
            members.insert(member.to_owned(), Value::from(url));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORIGIN: &str = "https://localhost:8443";
    const TID: &str = "7d3e1b5a-2f4c-4e8d-9a6b-0c1d2e3f4a5b";

    fn urls(document: &Value) -> Vec<(String, String)> {
        let mut urls: Vec<(String, String)> = document
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(k, _)| k.ends_with("_endpoint") || *k == "jwks_uri")
            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
            .collect();
        urls.sort();
        urls
    }

    fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
        expected
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    /// The values the documents carried when they were `format!`ed here.
    #[test]
    fn v2_endpoints_are_the_routed_paths() {
        let by_id = v2_document(ORIGIN, "contoso.test", TID, TenantAlias::Tenant);
        let t = format!("{ORIGIN}/{TID}");
        assert_eq!(
            urls(&by_id),
            pairs(&[
                (
                    "authorization_endpoint",
                    &format!("{t}/oauth2/v2.0/authorize")
                ),
                (
                    "device_authorization_endpoint",
                    &format!("{t}/oauth2/v2.0/devicecode")
                ),
                ("end_session_endpoint", &format!("{t}/oauth2/v2.0/logout")),
                ("jwks_uri", &format!("{t}/discovery/v2.0/keys")),
                ("token_endpoint", &format!("{t}/oauth2/v2.0/token")),
                ("userinfo_endpoint", &format!("{ORIGIN}/oidc/userinfo")),
            ])
        );
        assert_eq!(by_id["issuer"], format!("{ORIGIN}/{TID}/v2.0"));
        let multi = v2_document(ORIGIN, "organizations", TID, TenantAlias::Multi);
        let o = format!("{ORIGIN}/organizations");
        assert_eq!(
            urls(&multi),
            pairs(&[
                (
                    "authorization_endpoint",
                    &format!("{o}/oauth2/v2.0/authorize")
                ),
                (
                    "device_authorization_endpoint",
                    &format!("{o}/oauth2/v2.0/devicecode")
                ),
                ("end_session_endpoint", &format!("{o}/oauth2/v2.0/logout")),
                ("jwks_uri", &format!("{o}/discovery/v2.0/keys")),
                ("token_endpoint", &format!("{o}/oauth2/v2.0/token")),
                ("userinfo_endpoint", &format!("{ORIGIN}/oidc/userinfo")),
            ])
        );
        assert_eq!(multi["issuer"], format!("{ORIGIN}/{{tenantid}}/v2.0"));
        assert_eq!(by_id.as_object().map(serde_json::Map::len), Some(22));
    }

    #[test]
    fn v1_endpoints_are_the_routed_paths_with_keys_under_common() {
        for (alias, segment) in [(TenantAlias::Tenant, TID), (TenantAlias::Multi, "common")] {
            let document = v1_document(ORIGIN, "common", TID, alias);
            let t = format!("{ORIGIN}/{segment}");
            assert_eq!(
                urls(&document),
                pairs(&[
                    ("authorization_endpoint", &format!("{t}/oauth2/authorize")),
                    ("jwks_uri", &format!("{ORIGIN}/common/discovery/keys")),
                    ("token_endpoint", &format!("{t}/oauth2/token")),
                    ("userinfo_endpoint", &format!("{ORIGIN}/oidc/userinfo")),
                ]),
                "{alias:?}"
            );
            assert_eq!(document.as_object().map(serde_json::Map::len), Some(20));
        }
    }

    #[test]
    fn instance_discovery_names_the_v2_document() {
        let document = instance_document(ORIGIN, "localhost:8443", TID);
        assert_eq!(
            document["tenant_discovery_endpoint"],
            format!("{ORIGIN}/{TID}/v2.0/.well-known/openid-configuration")
        );
    }
}
