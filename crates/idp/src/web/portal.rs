//! The admin portal at `/{tenant}/portal/`: one HTML page, its script and
//! its style sheet, embedded in the binary (no CDN, no build step). The
//! page signs the administrator in through this provider (authorization
//! code with PKCE, as the built-in
//! [`admin_portal`](crate::directory::admin_portal) client) and does
//! everything else through the Graph subset at `/v1.0/`; the server adds
//! nothing but the tenant's ids to the page.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;

use super::WebState;
use super::respond::error_page_response;
use crate::directory::admin_portal;
use crate::protocol::endpoints::{PORTAL, PORTAL_ASSET};
use crate::protocol::errors::OAuthError;
use crate::protocol::tenancy::Authority;

const INDEX: &str = include_str!("portal/index.html");
const SCRIPT: &str = include_str!("portal/portal.js");
const STYLE: &str = include_str!("portal/portal.css");

/// Scripts, styles and connections from this origin only; never framed.
const POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

pub(super) fn routes() -> Router<WebState> {
    Router::new()
        .route(PORTAL.path, get(page))
        .route(
            "/{tenant}/portal",
            get(|Path(tenant): Path<String>| async move {
                Redirect::permanent(&format!("/{tenant}/portal/"))
            }),
        )
        .route(PORTAL_ASSET.path, get(asset))
}

async fn page(
    State(state): State<WebState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
) -> Response {
    let tenants = state.provider.tenants();
    let dir = match Authority::resolve(&tenants, &tenant) {
        Ok(Authority::Tenant(dir)) => dir,
        Ok(Authority::Multi) => {
            return not_found(&OAuthError::invalid_request(
                crate::protocol::aadsts::TENANT_NOT_FOUND,
                format!(
                    "The admin portal belongs to one tenant: open /{{tenant id or domain}}/portal/ instead of /{tenant}/portal/."
                ),
            ));
        }
        Err(e) => return not_found(&e),
    };
    let origin = state.origin(&headers);
    let html = INDEX
        .replace("{{tenant_id}}", &escape(&dir.tenant.id))
        .replace("{{tenant_domain}}", &escape(&dir.tenant.domain))
        .replace("{{segment}}", &escape(&tenant))
        .replace("{{client_id}}", admin_portal::APP_ID)
        .replace("{{scope}}", admin_portal::GRAPH_SCOPE)
        .replace("{{origin}}", &escape(&origin));
    let mut response = Html(html).into_response();
    secure(&mut response, "no-store");
    response
}

async fn asset(Path((tenant, asset)): Path<(String, String)>) -> Response {
    let (body, content_type) = match asset.as_str() {
        "portal.js" => (SCRIPT, "text/javascript; charset=utf-8"),
        "portal.css" => (STYLE, "text/css; charset=utf-8"),
        _ => {
            return (
                StatusCode::NOT_FOUND,
                format!("No such file: /{tenant}/portal/{asset}"),
            )
                .into_response();
        }
    };
    let mut response = ([(header::CONTENT_TYPE, content_type)], body).into_response();
    // Short-lived: a new binary's script reaches browsers within minutes.
    secure(&mut response, "max-age=300");
    response
}

fn not_found(e: &OAuthError) -> Response {
    let mut response = error_page_response(e);
    *response.status_mut() = StatusCode::NOT_FOUND;
    response
}

fn secure(response: &mut Response, cache: &'static str) {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(POLICY),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
}

/// HTML escaping for the few values put into the page (maud's, as the
/// provider's other pages).
fn escape(text: &str) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(text.len());
    // Writing to a String cannot fail.
    let _ = maud::Escaper::new(&mut out).write_str(text);
    out
}
