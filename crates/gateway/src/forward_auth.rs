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
    let (index, route) = match select_route(runtime, &method, &path, true) {
        Ok(found) => found,
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
            match runtime.routes.get(index) {
                Some(resolved) => resolved.counters.allowed(),
                None => shared.metrics.request(&label, "allowed"),
            }
            let mut response = Response::new(empty());
            *response.status_mut() = StatusCode::OK;
            if let Some(caller) = &caller {
                shared.identities.insert(response.headers_mut(), caller);
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
    // nginx sets X-Original-*; Traefik and Caddy set X-Forwarded-* and pass
    // the client's other headers through. A client must not describe the
    // request it is sending: when both styles are present they must agree,
    // and each header may appear once (otherwise a client-sent
    // X-Original-URI: /public would be judged instead of the real path).
    let uri = agreed(
        headers,
        "x-original-uri",
        "x-forwarded-uri",
        "X-Original-URI (nginx) or X-Forwarded-Uri (Traefik, Caddy)",
    )?
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
    let method = match agreed(
        headers,
        "x-original-method",
        "x-forwarded-method",
        "X-Original-Method (nginx) or X-Forwarded-Method (Traefik, Caddy)",
    )? {
        Some(name) => {
            Method::from_bytes(name.as_bytes()).map_err(|_| GatewayError::MissingOriginal {
                missing: "a valid original method",
            })?
        }
        None => request.method().clone(),
    };
    Ok((method, path))
}

/// The value of the nginx-style header `original` or the Traefik/Caddy
/// style `forwarded`: each at most once, and equal when both are sent.
fn agreed<'a>(
    headers: &'a HeaderMap,
    original: &str,
    forwarded: &str,
    what: &'static str,
) -> Result<Option<&'a str>, GatewayError> {
    let one = |name: &str| -> Result<Option<&'a str>, GatewayError> {
        let mut values = headers.get_all(name).iter();
        match (values.next(), values.next()) {
            (None, _) => Ok(None),
            (Some(value), None) => value
                .to_str()
                .map(Some)
                .map_err(|_| GatewayError::ConflictingOriginal { headers: what }),
            (Some(_), Some(_)) => Err(GatewayError::ConflictingOriginal { headers: what }),
        }
    };
    match (one(original)?, one(forwarded)?) {
        (Some(a), Some(b)) if a != b => Err(GatewayError::ConflictingOriginal { headers: what }),
        (Some(a), _) => Ok(Some(a)),
        (None, b) => Ok(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_cannot_describe_its_own_request() {
        // Behind Caddy/Traefik: the proxy sets X-Forwarded-*, the client
        // adds X-Original-* naming an anonymous path.
        let spoofed = Request::get("/.rolegate/auth")
            .header("x-forwarded-method", "GET")
            .header("x-forwarded-uri", "/admin/users")
            .header("x-original-uri", "/health")
            .body(())
            .unwrap();
        let refused = original(&spoofed).unwrap_err();
        assert!(matches!(refused, GatewayError::ConflictingOriginal { .. }));
        let method = Request::get("/.rolegate/auth")
            .header("x-forwarded-method", "DELETE")
            .header("x-original-method", "GET")
            .header("x-forwarded-uri", "/orders/1")
            .body(())
            .unwrap();
        assert!(original(&method).is_err());
        let twice = Request::get("/.rolegate/auth")
            .header("x-original-uri", "/health")
            .header("x-original-uri", "/admin/users")
            .body(())
            .unwrap();
        assert!(original(&twice).is_err());
    }

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
        // Both styles agreeing (a client repeating the truth) is fine.
        let both = Request::get("/.rolegate/auth")
            .header("x-original-uri", "/orders/1")
            .header("x-forwarded-uri", "/orders/1")
            .body(())
            .unwrap();
        assert_eq!(original(&both).unwrap().1, "/orders/1");
        assert!(!is_forward_auth("/.rolegate/authx") && is_forward_auth("/.rolegate/auth/"));
    }
}
