//! The API's own errors (authentication and authorization refusals come
//! from rolegate-axum).

use axum::Json;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode};
use serde_json::json;

/// Why a request the caller was allowed to make still failed. Renders as
/// RFC 9457 problem details with the request id.
#[derive(Debug)]
pub(crate) struct ApiError {
    kind: ApiErrorKind,
    request_id: String,
}

#[derive(Debug)]
pub(crate) enum ApiErrorKind {
    /// The body or path could not be read (axum's rejection, 400 or 422).
    BadInput { status: StatusCode, detail: String },
    /// The order was read but makes no sense.
    InvalidOrder(&'static str),
    /// No such order.
    NotFound(u64),
}

impl ApiError {
    pub(crate) fn new(kind: ApiErrorKind, request_id: String) -> ApiError {
        ApiError { kind, request_id }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code, title, detail) = match self.kind {
            ApiErrorKind::BadInput { status, detail } => {
                (status, "invalid_input", "Unreadable request", detail)
            }
            ApiErrorKind::InvalidOrder(why) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_order",
                "Invalid order",
                why.to_owned(),
            ),
            ApiErrorKind::NotFound(id) => (
                StatusCode::NOT_FOUND,
                "order_not_found",
                "No such order",
                format!("there is no order {id}"),
            ),
        };
        tracing::debug!(request_id = %self.request_id, code, %detail, "request failed");
        let body = json!({
            "type": format!("urn:rolegate:error:{code}"),
            "title": title,
            "status": status.as_u16(),
            "detail": detail,
            "code": code,
            "request_id": self.request_id,
        });
        let mut response = (status, Json(body)).into_response();
        let headers = response.headers_mut();
        headers.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Ok(id) = HeaderValue::from_str(&self.request_id) {
            headers.insert("x-request-id", id);
        }
        response
    }
}
