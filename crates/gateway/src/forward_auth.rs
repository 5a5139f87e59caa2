//! Forward-auth: another proxy asks the gateway whether a request may
//! pass, and forwards the `X-Rolegate-*` headers of the answer.
//!
//! | proxy | request to the gateway | the original request |
//! |---|---|---|
//! | nginx `auth_request` | `/.rolegate/auth` | `X-Original-Method`, `X-Original-URI` |
//! | Traefik `forwardAuth`, Caddy `forward_auth` | `/.rolegate/auth` | `X-Forwarded-Method`, `X-Forwarded-Uri` |
//! | Envoy `ext_authz` (`path_prefix: /.rolegate/auth`) | `/.rolegate/auth<path>` | the request's own method and the path after the prefix |
//!
//! The answer is 200 with the identity headers, or the same 400/401/403
//! refusals as in proxy mode. A request no route covers gets 403
//! `no_route` here (404 in proxy mode), because nginx turns any other
//! status of an auth subrequest into a 500.

use std::sync::Arc;

use http::uri::PathAndQuery;
use http::{HeaderMap, Method, Request, Response, StatusCode};
use tokio::time::Instant;

use crate::decision;
use crate::error::GatewayError;
use crate::proxy::{empty, no_route_label, render_refusal, select_route};
use crate::{Body, Runtime, Shared};

/// The path forward-auth requests are sent to.
pub const AUTH_PATH: &str = "/.rolegate/auth";

/// Whether `path` is a forward-auth request.
pub fn is_forward_auth(path: &str) -> bool {
    path.strip_prefix(AUTH_PATH)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// Judges the request described by `request` and answers for the proxy.
pub(crate) async fn answer<B>(
    shared: &Shared,
    runtime: &Runtime,
    id: &str,
    request: &Request<B>,
    started: Instant,
) -> Response<Body> {
    let (method, path) = match original(request) {
        Ok(original) => original,
        Err(refusal) => {
            shared.metrics.request(&no_route_label(), refusal.code());
            return refusal.into_response(id);
        }
    };
    let route = match select_route(runtime, &method, &path, true) {
        Ok(route) => route,
        Err(refusal) => {
            shared.metrics.request(&no_route_label(), refusal.code());
            shared.metrics.overhead(started.elapsed());
            return refusal.into_response(id);
        }
    };
    let label: Arc<str> = route.pattern.shared();
    let verdict = decision::decide(route, &runtime.config.validator, request.headers()).await;
    shared.metrics.overhead(started.elapsed());
    match verdict {
        Ok(caller) => {
            shared.metrics.request(&label, "allowed");
            let mut response = Response::new(empty());
            *response.status_mut() = StatusCode::OK;
            if let Some(caller) = &caller {
                decision::insert_identity(response.headers_mut(), caller);
            }
            response
        }
        Err(refusal) => {
            shared.metrics.request(&label, refusal.code());
            render_refusal(refusal, id)
        }
    }
}

/// The method and path of the request to judge.
fn original<B>(request: &Request<B>) -> Result<(Method, String), GatewayError> {
    let path = request.uri().path();
    if let Some(rest) = path.strip_prefix(AUTH_PATH)
        && !rest.is_empty()
    {
        // Envoy: the original path follows the prefix, the method is ours.
        return Ok((request.method().clone(), rest.to_owned()));
    }
    let headers = request.headers();
    let uri = header(headers, "x-original-uri")
        .or_else(|| header(headers, "x-forwarded-uri"))
        .ok_or(GatewayError::MissingOriginal {
            missing: "X-Original-URI (nginx) or X-Forwarded-Uri (Traefik, Caddy)",
        })?;
    let path = uri
        .parse::<PathAndQuery>()
        .map_err(|_| GatewayError::MissingOriginal {
            missing: "a valid original URI (an absolute path with optional query)",
        })?
        .path()
        .to_owned();
    let method = match header(headers, "x-original-method")
        .or_else(|| header(headers, "x-forwarded-method"))
    {
        Some(name) => {
            Method::from_bytes(name.as_bytes()).map_err(|_| GatewayError::MissingOriginal {
                missing: "a valid original method",
            })?
        }
        None => request.method().clone(),
    };
    Ok((method, path))
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_the_three_styles() {
        let nginx = Request::get("/.rolegate/auth")
            .header("x-original-method", "DELETE")
            .header("x-original-uri", "/orders/1?x=y")
            .body(())
            .unwrap();
        assert_eq!(
            original(&nginx).unwrap(),
            (Method::DELETE, "/orders/1".to_owned())
        );
        let traefik = Request::get("/.rolegate/auth")
            .header("x-forwarded-method", "POST")
            .header("x-forwarded-uri", "/orders")
            .body(())
            .unwrap();
        assert_eq!(
            original(&traefik).unwrap(),
            (Method::POST, "/orders".to_owned())
        );
        let envoy = Request::put("/.rolegate/auth/orders/7?q=1")
            .body(())
            .unwrap();
        assert_eq!(
            original(&envoy).unwrap(),
            (Method::PUT, "/orders/7".to_owned())
        );
        let bare = Request::get("/.rolegate/auth").body(()).unwrap();
        assert!(original(&bare).is_err());
        assert!(!is_forward_auth("/.rolegate/authx") && is_forward_auth("/.rolegate/auth/"));
    }
}
