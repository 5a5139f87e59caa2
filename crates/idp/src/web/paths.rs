//! Endpoint paths, shared by the router and the discovery documents.

/// The authority itself: a page listing the tenant's endpoints.
pub const AUTHORITY: &str = "/{tenant}";
/// v2.0 OpenID configuration.
pub const V2_DISCOVERY: &str = "/{tenant}/v2.0/.well-known/openid-configuration";
/// v1.0 OpenID configuration.
pub const V1_DISCOVERY: &str = "/{tenant}/.well-known/openid-configuration";
/// v2.0 JWKS (keys carry `issuer`).
pub const V2_KEYS: &str = "/{tenant}/discovery/v2.0/keys";
/// v1.0 JWKS.
pub const V1_KEYS: &str = "/{tenant}/discovery/keys";
/// v2.0 authorize.
pub const V2_AUTHORIZE: &str = "/{tenant}/oauth2/v2.0/authorize";
/// v2.0 token.
pub const V2_TOKEN: &str = "/{tenant}/oauth2/v2.0/token";
/// v1.0 authorize (`resource=`).
pub const V1_AUTHORIZE: &str = "/{tenant}/oauth2/authorize";
/// v1.0 token (`resource=`, v1 answer shape).
pub const V1_TOKEN: &str = "/{tenant}/oauth2/token";
/// v2.0 logout.
pub const V2_LOGOUT: &str = "/{tenant}/oauth2/v2.0/logout";
/// v2.0 device authorization.
pub const V2_DEVICECODE: &str = "/{tenant}/oauth2/v2.0/devicecode";
/// The device-code verification page (`verification_uri`).
pub const DEVICE_LOGIN: &str = "/devicelogin";
/// UserInfo (Graph-hosted in Entra; served locally here).
pub const USERINFO: &str = "/oidc/userinfo";
/// The sign-in form target.
pub const LOGIN: &str = "/{tenant}/rolegate/login";
/// The consent form target.
pub const CONSENT: &str = "/{tenant}/rolegate/consent";
/// Instance discovery.
pub const INSTANCE_DISCOVERY: &str = "/common/discovery/instance";
/// User realm discovery.
pub const USER_REALM: &str = "/common/userrealm/{user}";
/// `error_uri` target.
pub const ERROR_PAGE: &str = "/error";

/// A path with its `{tenant}` segment filled in.
pub fn in_tenant(path: &str, tenant: &str) -> String {
    path.replace("{tenant}", tenant)
}
