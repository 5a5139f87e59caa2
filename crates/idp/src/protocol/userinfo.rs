//! The UserInfo endpoint (OpenID Connect Core §5.3; spec §1.6).

use serde_json::{Value, json};

use crate::protocol::errors::OAuthError;
use crate::protocol::own_tokens::Audiences;
use crate::protocol::tokens::{self, IssuerContext};
use crate::protocol::{Provider, aadsts};

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
    let principal = validator.validate(bearer).await.map_err(|e| {
        OAuthError::new(
            "invalid_token",
            aadsts::USERINFO_INVALID_TOKEN,
            format!("{e} ({})", e.code()),
        )
    })?;
    if !principal.has_scope("openid") {
        return Err(OAuthError::userinfo_without_openid());
    }
    let (dir, user) = principal
        .object_id()
        .and_then(|oid| tenants.user(oid))
        .filter(|(home, _)| {
            principal
                .tenant_id()
                .is_some_and(|t| t.as_str() == home.tenant.id)
        })
        .ok_or_else(OAuthError::userinfo_user_gone)?;
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
