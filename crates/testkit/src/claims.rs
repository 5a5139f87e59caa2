//! Entra-shaped claim sets for access and ID tokens.
//!
//! Each builder returns a `serde_json::Value` object stamped from
//! [`unix_now`]: `iat = nbf = now - 5`, `exp = now + 3600`.
//! Adjust any claim with [`set`] and [`remove`]. User tokens are for
//! [`USER_OID`]; app-only tokens for [`APP_OID`]. `aio`, `rh` and `uti` are
//! random per token.
//!
//! The claim lists follow Microsoft's "Access token claims reference" and
//! "ID token claims reference" for v1.0 and v2.0 tokens.

use serde_json::{Value, json};

use crate::key::random_b64url;
use crate::unix_now;

/// The `oid` of the user (Alice) in user tokens.
pub const USER_OID: &str = "5f8a3c1e-9b2d-4e7f-a6c0-1d2e3f4a5b6c";

/// The `sub` of the user in user tokens: pairwise, so unlike `oid` it
/// differs per application in real Entra tokens.
pub const USER_SUB: &str = "AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ";

/// The `oid` (and `sub`) of the client's service principal in app-only tokens.
pub const APP_OID: &str = "0c7d3e9a-2b4f-4a61-8e5d-9f1a2b3c4d5e";

/// A tenant: its id and the issuers its v2.0 and v1.0 tokens carry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tenant {
    /// The tenant id, the tokens' `tid`.
    pub id: String,
    /// `iss` of v2.0 tokens, e.g.
    /// `https://login.microsoftonline.com/{id}/v2.0`.
    pub v2_issuer: String,
    /// `iss` of v1.0 tokens: `https://sts.windows.net/{id}/`.
    pub v1_issuer: String,
}

impl Tenant {
    /// A tenant with the given v2.0 issuer and Entra's v1.0 issuer,
    /// `https://sts.windows.net/{id}/`.
    pub fn new(id: &str, v2_issuer: &str) -> Self {
        Self {
            id: id.to_owned(),
            v2_issuer: v2_issuer.to_owned(),
            v1_issuer: format!("https://sts.windows.net/{id}/"),
        }
    }
}

/// A v2.0 delegated access token for Alice, issued to `client_id` for the
/// API `aud`. `scp` is a space-separated scope list and `roles` the user's
/// app roles; either is left out when empty.
pub fn access_v2(t: &Tenant, aud: &str, client_id: &str, scp: &str, roles: &[&str]) -> Value {
    let mut claims = stamped(aud, &t.v2_issuer);
    extend(
        &mut claims,
        json!({
            "azp": client_id,
            "azpacr": "0",
            "name": "Alice",
            "oid": USER_OID,
            "preferred_username": "alice@contoso.test",
            "sub": USER_SUB,
            "tid": t.id,
            "ver": "2.0",
        }),
    );
    add_scp_and_roles(&mut claims, scp, roles);
    claims
}

/// A v1.0 delegated access token for Alice: `iss` is the `sts.windows.net`
/// issuer, the client is in `appid` (no `azp`), and the user in
/// `unique_name` and `upn`.
pub fn access_v1(t: &Tenant, aud: &str, client_id: &str, scp: &str, roles: &[&str]) -> Value {
    let mut claims = stamped(aud, &t.v1_issuer);
    extend(
        &mut claims,
        json!({
            "acr": "1",
            "amr": ["pwd"],
            "appid": client_id,
            "appidacr": "0",
            "name": "Alice",
            "oid": USER_OID,
            "sub": USER_SUB,
            "tid": t.id,
            "unique_name": "alice@contoso.test",
            "upn": "alice@contoso.test",
            "ver": "1.0",
        }),
    );
    add_scp_and_roles(&mut claims, scp, roles);
    claims
}

/// A v2.0 app-only (client credentials) access token: no `scp`, no user
/// names, `idtyp: "app"`, `sub == oid ==` [`APP_OID`], and a client that
/// authenticated with a secret (`azpacr: "1"`).
pub fn app_only_v2(t: &Tenant, aud: &str, client_id: &str, roles: &[&str]) -> Value {
    let mut claims = stamped(aud, &t.v2_issuer);
    extend(
        &mut claims,
        json!({
            "azp": client_id,
            "azpacr": "1",
            "idtyp": "app",
            "oid": APP_OID,
            "sub": APP_OID,
            "tid": t.id,
            "ver": "2.0",
        }),
    );
    add_scp_and_roles(&mut claims, "", roles);
    claims
}

/// A v1.0 app-only (client credentials) access token: the `sts.windows.net`
/// issuer, the client in `appid` (authenticated with a secret,
/// `appidacr: "1"`), no `scp`, no user names, `sub == oid ==` [`APP_OID`],
/// and no `idtyp` (an optional claim the API has not asked for).
pub fn app_only_v1(t: &Tenant, aud: &str, client_id: &str, roles: &[&str]) -> Value {
    let mut claims = stamped(aud, &t.v1_issuer);
    extend(
        &mut claims,
        json!({
            "appid": client_id,
            "appidacr": "1",
            "idp": t.v1_issuer,
            "oid": APP_OID,
            "sub": APP_OID,
            "tid": t.id,
            "ver": "1.0",
        }),
    );
    add_scp_and_roles(&mut claims, "", roles);
    claims
}

/// A v2.0 ID token for Alice, whose audience is the client itself; no `azp`
/// or `scp`. Access-token validators must refuse it.
pub fn id_token_v2(t: &Tenant, client_id: &str, nonce: Option<&str>, roles: &[&str]) -> Value {
    let mut claims = stamped(client_id, &t.v2_issuer);
    extend(
        &mut claims,
        json!({
            "name": "Alice",
            "oid": USER_OID,
            "preferred_username": "alice@contoso.test",
            "sid": "00b1c2d3-e4f5-4a6b-8c7d-9e0f1a2b3c4d",
            "sub": USER_SUB,
            "tid": t.id,
            "ver": "2.0",
        }),
    );
    if let Some(nonce) = nonce {
        set(&mut claims, "nonce", json!(nonce));
    }
    add_scp_and_roles(&mut claims, "", roles);
    claims
}

/// Sets `key` to `val` in the object `v`.
///
/// # Panics
///
/// If `v` is not a JSON object.
pub fn set(v: &mut Value, key: &str, val: Value) {
    v.as_object_mut()
        .expect("claims are a JSON object")
        .insert(key.to_owned(), val);
}

/// Removes `key` from the object `v`, if present.
///
/// # Panics
///
/// If `v` is not a JSON object.
pub fn remove(v: &mut Value, key: &str) {
    v.as_object_mut()
        .expect("claims are a JSON object")
        .remove(key);
}

/// The claims every token has: audience, issuer, times and Entra's opaque
/// `aio`, `rh` and `uti`.
fn stamped(aud: &str, iss: &str) -> Value {
    let now = unix_now();
    json!({
        "aud": aud,
        "iss": iss,
        "iat": now - 5,
        "nbf": now - 5,
        "exp": now + 3600,
        "aio": format!("E2RgYPj{}AA==", random_b64url(36)),
        "rh": format!("0.A{}AAA.", random_b64url(33)),
        "uti": random_b64url(16),
    })
}

fn add_scp_and_roles(claims: &mut Value, scp: &str, roles: &[&str]) {
    if !scp.is_empty() {
        set(claims, "scp", json!(scp));
    }
    if !roles.is_empty() {
        set(claims, "roles", json!(roles));
    }
}

fn extend(claims: &mut Value, more: Value) {
    if let Value::Object(more) = more {
        for (key, val) in more {
            set(claims, &key, val);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenant() -> Tenant {
        Tenant::new(
            "72f988bf-86f1-41af-91ab-2d7cd011db47",
            "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0",
        )
    }

    #[test]
    fn v2_access_token_has_entra_shape() {
        let claims = access_v2(&tenant(), "api://orders", "client", "Orders.Read", &[]);
        assert_eq!(claims["ver"], "2.0");
        assert_eq!(claims["azp"], "client");
        assert_eq!(claims["scp"], "Orders.Read");
        assert!(claims.get("roles").is_none());
        let iat = claims["iat"].as_i64().unwrap();
        assert_eq!(claims["nbf"].as_i64(), Some(iat));
        assert_eq!(claims["exp"].as_i64(), Some(iat + 3605));
    }

    #[test]
    fn v1_access_token_uses_sts_issuer_and_appid() {
        let claims = access_v1(&tenant(), "api://orders", "client", "", &["Orders.Admin"]);
        assert_eq!(
            claims["iss"],
            "https://sts.windows.net/72f988bf-86f1-41af-91ab-2d7cd011db47/"
        );
        assert_eq!(claims["appid"], "client");
        assert!(claims.get("azp").is_none() && claims.get("scp").is_none());
        assert_eq!(claims["roles"], json!(["Orders.Admin"]));
    }

    #[test]
    fn app_only_and_id_tokens_differ_from_user_access_tokens() {
        let app = app_only_v2(&tenant(), "api://orders", "daemon", &["Orders.Sync"]);
        assert_eq!(app["sub"], app["oid"]);
        assert_eq!(app["idtyp"], "app");
        assert!(app.get("scp").is_none() && app.get("name").is_none());
        let v1 = app_only_v1(&tenant(), "api://orders", "daemon", &["Orders.Sync"]);
        assert_eq!((&v1["sub"], &v1["oid"]), (&json!(APP_OID), &json!(APP_OID)));
        assert_eq!(
            (&v1["appid"], &v1["ver"]),
            (&json!("daemon"), &json!("1.0"))
        );
        assert!(v1.get("idtyp").is_none() && v1.get("scp").is_none());

        let mut id = id_token_v2(&tenant(), "client", Some("n-0S6"), &[]);
        assert_eq!(
            (&id["aud"], &id["nonce"]),
            (&json!("client"), &json!("n-0S6"))
        );
        assert!(id.get("azp").is_none());
        remove(&mut id, "nonce");
        assert!(id.get("nonce").is_none());
    }
}
