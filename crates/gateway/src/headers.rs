//! Header rewriting between client and upstream: hop-by-hop headers
//! (RFC 9110 §7.6.1) and `X-Forwarded-*`.

use std::net::IpAddr;

use http::header::{CONNECTION, HOST, TE, TRANSFER_ENCODING, UPGRADE};
use http::{HeaderMap, HeaderName, HeaderValue, Uri};

/// Removes the headers that describe one connection rather than the
/// message: those named in `Connection`, and `Connection`,
/// `Proxy-Connection`, `Keep-Alive`, `TE`, `Transfer-Encoding` and
/// `Upgrade` (RFC 9110 §7.6.1; hyper frames bodies itself).
pub fn remove_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(CONNECTION)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|list| list.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    for name in named {
        headers.remove(name);
    }
    for name in [
        CONNECTION,
        TE,
        TRANSFER_ENCODING,
        UPGRADE,
        KEEP_ALIVE,
        PROXY_CONNECTION,
    ] {
        headers.remove(name);
    }
}

/// The `Upgrade` value to forward when `headers` ask for a WebSocket
/// upgrade (RFC 6455 §4.1: `Connection` lists `upgrade`, `Upgrade` lists
/// `websocket`), else `None`. Other protocols (h2c…) are never forwarded.
pub fn websocket_upgrade(headers: &HeaderMap) -> Option<HeaderValue> {
    let lists = |name: &HeaderName, token: &str| {
        headers
            .get_all(name)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|list| list.split(','))
            .any(|item| item.trim().eq_ignore_ascii_case(token))
    };
    (lists(&CONNECTION, "upgrade") && lists(&UPGRADE, "websocket"))
        .then(|| HeaderValue::from_static("websocket"))
}

/// Marks `headers` as asking for (or agreeing to) the `protocol` upgrade,
/// after [`remove_hop_by_hop`] took the client's or upstream's own
/// `Connection` and `Upgrade` out.
pub fn set_upgrade(headers: &mut HeaderMap, protocol: HeaderValue) {
    headers.insert(CONNECTION, HeaderValue::from_static("upgrade"));
    headers.insert(UPGRADE, protocol);
}

/// Appends the client's address, scheme and host to `X-Forwarded-For`,
/// `-Proto` and `-Host` (comma-separated after any values already there),
/// and removes `Host` so that the upstream client sets the upstream's.
pub fn add_forwarded(headers: &mut HeaderMap, peer: IpAddr, scheme: &str, uri: &Uri) {
    let host = headers
        .get(HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_owned)
        .or_else(|| uri.authority().map(|a| a.as_str().to_owned()));
    append(headers, X_FORWARDED_FOR, &peer.to_string());
    append(headers, X_FORWARDED_PROTO, scheme);
    if let Some(host) = host {
        append(headers, X_FORWARDED_HOST, &host);
    }
    headers.remove(HOST);
}

fn append(headers: &mut HeaderMap, name: HeaderName, value: &str) {
    let previous: Vec<&str> = headers
        .get_all(&name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    let joined = if previous.is_empty() {
        value.to_owned()
    } else {
        format!("{}, {value}", previous.join(", "))
    };
    if let Ok(joined) = HeaderValue::from_str(&joined) {
        headers.insert(name, joined);
    }
}

const KEEP_ALIVE: HeaderName = HeaderName::from_static("keep-alive");
const PROXY_CONNECTION: HeaderName = HeaderName::from_static("proxy-connection");
const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removes_hop_by_hop_and_named_headers() {
        let mut h = HeaderMap::new();
        h.insert(CONNECTION, HeaderValue::from_static("keep-alive, X-Secret"));
        h.insert("x-secret", HeaderValue::from_static("1"));
        h.insert("keep-alive", HeaderValue::from_static("timeout=5"));
        h.insert(TE, HeaderValue::from_static("trailers"));
        h.insert("x-kept", HeaderValue::from_static("1"));
        remove_hop_by_hop(&mut h);
        assert_eq!(h.len(), 1);
        assert!(h.contains_key("x-kept"));
    }

    #[test]
    fn recognises_websocket_upgrades_only() {
        let mut h = HeaderMap::new();
        h.insert(CONNECTION, HeaderValue::from_static("keep-alive, Upgrade"));
        h.insert(UPGRADE, HeaderValue::from_static("WebSocket"));
        assert_eq!(websocket_upgrade(&h).unwrap(), "websocket");
        h.insert(UPGRADE, HeaderValue::from_static("h2c"));
        assert!(websocket_upgrade(&h).is_none());
        h.insert(UPGRADE, HeaderValue::from_static("websocket"));
        h.insert(CONNECTION, HeaderValue::from_static("keep-alive"));
        assert!(websocket_upgrade(&h).is_none());
    }

    #[test]
    fn appends_forwarded_headers() {
        let mut h = HeaderMap::new();
        h.insert(HOST, HeaderValue::from_static("api.example"));
        h.insert(X_FORWARDED_FOR, HeaderValue::from_static("10.0.0.1"));
        add_forwarded(
            &mut h,
            "127.0.0.1".parse().unwrap(),
            "http",
            &Uri::from_static("/x"),
        );
        assert_eq!(h[X_FORWARDED_FOR], "10.0.0.1, 127.0.0.1");
        assert_eq!(h[X_FORWARDED_PROTO], "http");
        assert_eq!(h[X_FORWARDED_HOST], "api.example");
        assert!(!h.contains_key(HOST));
    }
}
