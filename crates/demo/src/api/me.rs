//! `GET /me`: who the token says the caller is.

use axum::routing::get;
use axum::{Json, Router};
use rolegate_axum::extract::Auth;
use serde_json::{Value, json};

use super::ME_PATH;

/// The routes of this module.
pub(crate) fn routes() -> Router {
    Router::new().route(ME_PATH, get(me))
}

async fn me(Auth(caller): Auth) -> Json<Value> {
    Json(json!({
        "oid": caller.object_id(),
        "tid": caller.tenant_id().map(|t| t.as_str()),
        "sub": caller.subject(),
        "name": caller.name(),
        "preferred_username": caller.preferred_username(),
        "client_id": caller.client_id().map(|c| c.as_str()),
        "roles": caller.roles().iter().map(ToString::to_string).collect::<Vec<_>>(),
        "scopes": caller.scopes().iter().map(ToString::to_string).collect::<Vec<_>>(),
        "app_only": caller.is_app_only(),
        "token_version": caller.version().map(|v| v.claim_value()),
        "caller": if caller.is_app_only() { "application" } else { "user" },
    }))
}
