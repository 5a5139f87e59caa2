//! The UserInfo endpoint.

use super::respond::Refusal;
use crate::protocol::errors::Surface;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::WebState;
use super::respond::no_store;
use crate::protocol::endpoints::USERINFO;
use crate::protocol::tokens::IssuerContext;
use crate::protocol::userinfo as protocol_userinfo;

/// UserInfo, by `GET` or `POST`.
pub(super) fn routes() -> Router<WebState> {
    Router::new().route(USERINFO.path, get(userinfo).post(userinfo))
}

async fn userinfo(State(state): State<WebState>, headers: HeaderMap) -> Response {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim().to_owned());
    let Some(bearer) = bearer else {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
        )
            .into_response();
    };
    let issuer = IssuerContext {
        origin: state.origin(&headers),
        tenant_id: String::new(),
    };
    match protocol_userinfo::userinfo(&state.provider, &issuer, &bearer).await {
        Ok(body) => (no_store(), axum::Json(body)).into_response(),
        Err(e) => Refusal::new(&state, &headers, &e, Surface::Resource).into_response(),
    }
}
