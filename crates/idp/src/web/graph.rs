//! The Microsoft Graph subset ([`crate::graph`]) at `/v1.0/…`.

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method as HttpMethod, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::WebState;
use super::respond::no_store;
use crate::graph::{self, Method};
use crate::protocol::endpoints::GRAPH;

/// Largest Graph request body accepted.
const MAX_BODY: usize = 256 * 1024;

/// Everything under `/v1.0/` (a doubled slash after `/v1.0`, as some
/// Graph clients send, lands here too).
pub(super) fn routes() -> Router<WebState> {
    Router::new().route(
        GRAPH.path,
        get(serve).post(serve).patch(serve).delete(serve),
    )
}

async fn serve(State(state): State<WebState>, request: Request) -> Response {
    let headers = request.headers().clone();
    let method = match *request.method() {
        HttpMethod::GET | HttpMethod::HEAD => Method::Get,
        HttpMethod::POST => Method::Post,
        HttpMethod::PATCH => Method::Patch,
        HttpMethod::DELETE => Method::Delete,
        _ => Method::Other,
    };
    let path = request
        .uri()
        .path()
        .strip_prefix("/v1.0")
        .unwrap_or_default()
        .to_owned();
    let query = request.uri().query().map(str::to_owned);
    // The server bounds request bodies (1 MiB by default); Graph bodies are
    // small JSON documents.
    let body = match axum::body::to_bytes(request.into_body(), MAX_BODY).await {
        Ok(body) => body,
        Err(_) => {
            return (
                StatusCode::PAYLOAD_TOO_LARGE,
                no_store(),
                axum::Json(serde_json::json!({"error": {"code": "Request_BadRequest", "message": "The request body is too large."}})),
            )
                .into_response();
        }
    };
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim().to_owned());
    let origin = state.origin(&headers);
    let answer = graph::handle(
        &state.provider,
        &origin,
        method,
        &path,
        query.as_deref(),
        bearer.as_deref(),
        &body,
    )
    .await;
    let request_id = crate::secret::guid();
    let client_request_id = headers
        .get("client-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| v.len() <= 64 && v.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-'))
        .map_or_else(|| request_id.clone(), str::to_owned);
    let (status, body) = match answer {
        Ok(ok) => (ok.status, ok.body),
        Err(e) => (
            e.status,
            e.body(&request_id, &client_request_id, state.provider.now()),
        ),
    };
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = if status == StatusCode::NO_CONTENT {
        (status, no_store()).into_response()
    } else {
        (status, no_store(), axum::Json(body)).into_response()
    };
    let out = response.headers_mut();
    for (name, value) in [
        ("request-id", request_id.as_str()),
        ("client-request-id", client_request_id.as_str()),
    ] {
        if let Ok(value) = HeaderValue::from_str(value) {
            out.insert(name, value);
        }
    }
    if status == StatusCode::UNAUTHORIZED {
        out.insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"\", authorization_uri=\"https://login.microsoftonline.com/common/oauth2/authorize\""),
        );
    }
    response
}
