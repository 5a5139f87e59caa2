//! Discovery documents (spec §1.2), instance discovery (§1.7) and user
//! realm discovery (§12.3). Paths are shared with the router through
//! [`crate::web::paths`].

use serde_json::{Value, json};

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
    let base = format!("{origin}/{segment}");
    json!({
        "token_endpoint": format!("{base}/oauth2/v2.0/token"),
        "token_endpoint_auth_methods_supported": AUTH_METHODS,
        "jwks_uri": format!("{base}/discovery/v2.0/keys"),
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": RESPONSE_TYPES,
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "issuer": issuer,
        "request_uri_parameter_supported": false,
        "userinfo_endpoint": format!("{origin}/oidc/userinfo"),
        "authorization_endpoint": format!("{base}/oauth2/v2.0/authorize"),
        "device_authorization_endpoint": format!("{base}/oauth2/v2.0/devicecode"),
        "http_logout_supported": true,
        "frontchannel_logout_supported": true,
        "end_session_endpoint": format!("{base}/oauth2/v2.0/logout"),
        "claims_supported": ["sub", "iss", "cloud_instance_name", "cloud_instance_host_name", "cloud_graph_host_name", "msgraph_host", "aud", "exp", "iat", "auth_time", "acr", "nonce", "preferred_username", "name", "tid", "ver", "at_hash", "c_hash", "email"],
        "tenant_region_scope": match alias { TenantAlias::Tenant => Value::from("WW"), TenantAlias::Multi => Value::Null },
        "cloud_instance_name": "microsoftonline.com",
        "cloud_graph_host_name": "graph.windows.net",
        "msgraph_host": "graph.microsoft.com",
        "rbac_url": "https://pas.windows.net",
    })
}

/// The v1.0 OpenID configuration.
pub fn v1_document(origin: &str, path_tenant: &str, tenant_id: &str, alias: TenantAlias) -> Value {
    let (segment, issuer) = match alias {
        TenantAlias::Tenant => (tenant_id, format!("https://sts.windows.net/{tenant_id}/")),
        TenantAlias::Multi => (
            path_tenant,
            "https://sts.windows.net/{tenantid}/".to_owned(),
        ),
    };
    let base = format!("{origin}/{segment}");
    json!({
        "token_endpoint": format!("{base}/oauth2/token"),
        "token_endpoint_auth_methods_supported": AUTH_METHODS,
        "jwks_uri": format!("{origin}/common/discovery/keys"),
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": RESPONSE_TYPES,
        "scopes_supported": ["openid"],
        "issuer": issuer,
        "microsoft_multi_refresh_token": true,
        "authorization_endpoint": format!("{base}/oauth2/authorize"),
        "http_logout_supported": true,
        "frontchannel_logout_supported": true,
        "claims_supported": ["sub", "iss", "cloud_instance_name", "cloud_instance_host_name", "cloud_graph_host_name", "msgraph_host", "aud", "exp", "iat", "auth_time", "acr", "amr", "nonce", "email", "given_name", "family_name", "nickname"],
        "userinfo_endpoint": format!("{origin}/oidc/userinfo"),
        "tenant_region_scope": match alias { TenantAlias::Tenant => Value::from("WW"), TenantAlias::Multi => Value::Null },
        "cloud_instance_name": "microsoftonline.com",
        "cloud_graph_host_name": "graph.windows.net",
        "msgraph_host": "graph.microsoft.com",
        "rbac_url": "https://pas.windows.net",
    })
}

/// `GET /common/discovery/instance`: this host as its own cloud.
pub fn instance_document(origin: &str, host: &str, tenant_id: &str) -> Value {
    json!({
        "tenant_discovery_endpoint": format!("{origin}/{tenant_id}/v2.0/.well-known/openid-configuration"),
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
