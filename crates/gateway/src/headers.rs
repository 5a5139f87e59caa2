//! Header rewriting between client and upstream: hop-by-hop headers
//! (RFC 9110 §7.6.1) and `X-Forwarded-*`.

use std::net::IpAddr;

use http::header::Entry;
use http::header::{CONNECTION, HOST, TE, TRANSFER_ENCODING, UPGRADE};
use http::{HeaderMap, HeaderName, HeaderValue, Uri};

/// Removes the headers that describe one connection rather than the
/// message: those named in `Connection`, and `Connection`,
/// `Proxy-Connection`, `Keep-Alive`, `TE`, `Transfer-Encoding` and
/// `Upgrade` (RFC 9110 §7.6.1; hyper frames bodies itself).
pub fn remove_hop_by_hop(headers: &mut HeaderMap) {
    // One look at the names first: most messages carry none of them, and
    // only those present are removed afterwards.
    let mut present = [false; 6];
    let mut any = false;
    for name in headers.keys() {
        if let Some(i) = HOP_BY_HOP.iter().position(|h| h == name)
            && let Some(seen) = present.get_mut(i)
        {
            *seen = true;
            any = true;
        }
    }
    if !any {
        return;
    }
    let mut connection = headers.get_all(CONNECTION).iter();
    match (connection.next().cloned(), connection.next()) {
        (None, _) => {}
        // One `Connection` header (the usual case): its names removed
        // without copying them.
        (Some(value), None) => {
            if let Ok(list) = value.to_str() {
                for name in list.split(',') {
                    let name = name.trim();
                    // `keep-alive` is removed below if it is a header too.
                    if !name.eq_ignore_ascii_case("keep-alive") {
                        headers.remove(name);
                    }
                }
            }
        }
        (Some(_), Some(_)) => {
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
        }
    }
    for (name, present) in HOP_BY_HOP.iter().zip(present) {
        if present {
            headers.remove(name);
        }
    }
}

/// The headers [`remove_hop_by_hop`] always removes.
static HOP_BY_HOP: [HeaderName; 6] = [
    CONNECTION,
    TE,
    TRANSFER_ENCODING,
    UPGRADE,
    KEEP_ALIVE,
    PROXY_CONNECTION,
];

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

/// [`take_forwarded`] and [`Forwarded::apply`] in one step.
#[cfg(test)]
pub fn add_forwarded(headers: &mut HeaderMap, peer: IpAddr, scheme: &'static str, uri: &Uri) {
    take_forwarded(headers, peer, scheme, uri).apply(headers);
}

/// The client's address, scheme and host appended to `X-Forwarded-For`,
/// `-Proto` and `-Host` (comma-separated after any values already there),
/// returned rather than inserted: `Host` (the upstream client sets the
/// upstream's) and the `X-Forwarded-*` headers that get a new value are
/// taken out of `headers`. [`Forwarded::apply`] puts them in.
pub fn take_forwarded(
    headers: &mut HeaderMap,
    peer: IpAddr,
    scheme: &'static str,
    uri: &Uri,
) -> Forwarded {
    let host = headers
        .remove(HOST)
        .filter(|h| h.to_str().is_ok())
        .or_else(|| {
            uri.authority()
                .and_then(|a| HeaderValue::from_str(a.as_str()).ok())
        });
    let mut fields = [None, None, None];
    let [for_, proto, forwarded_host] = &mut fields;
    *for_ = appended(headers, X_FORWARDED_FOR, address_value(peer));
    *proto = appended(headers, X_FORWARDED_PROTO, HeaderValue::from_static(scheme));
    if let Some(host) = host {
        *forwarded_host = appended(headers, X_FORWARDED_HOST, host);
    }
    Forwarded { fields }
}

/// `X-Forwarded-For`, `-Proto` and `-Host` as the gateway forwards them.
#[derive(Debug)]
pub struct Forwarded {
    fields: [Option<(HeaderName, HeaderValue)>; 3],
}

impl Forwarded {
    /// The headers and their values.
    pub fn iter(&self) -> impl Iterator<Item = (&HeaderName, &HeaderValue)> {
        self.fields
            .iter()
            .flatten()
            .map(|(name, value)| (name, value))
    }

    /// Inserts them into `headers`.
    pub fn apply(self, headers: &mut HeaderMap) {
        for (name, value) in self.fields.into_iter().flatten() {
            headers.insert(name, value);
        }
    }
}

/// `value` after the values of `name` already in `headers` (joined by
/// `, `), those taken out; `None` (and the earlier values left in place)
/// if they cannot be joined into one header value.
fn appended(
    headers: &mut HeaderMap,
    name: HeaderName,
    value: HeaderValue,
) -> Option<(HeaderName, HeaderValue)> {
    let previous = match headers.entry(name.clone()) {
        Entry::Vacant(_) => return Some((name, value)),
        Entry::Occupied(occupied) => occupied,
    };
    let mut joined = String::new();
    for earlier in previous.iter().filter_map(|v| v.to_str().ok()) {
        joined.push_str(earlier);
        joined.push_str(", ");
    }
    joined.push_str(value.to_str().unwrap_or_default());
    let joined = HeaderValue::from_str(&joined).ok()?;
    previous.remove_entry_mult().1.for_each(drop);
    Some((name, joined))
}

/// The headers the gateway adds to a request it forwards, kept apart from
/// the client's until the request is written (the upstream client adds
/// `Host`). None of them is left among the client's headers.
#[derive(Debug)]
pub(crate) struct Added {
    /// `X-Forwarded-*`.
    pub(crate) forwarded: Forwarded,
    /// `X-Request-Id`.
    pub(crate) request_id: HeaderValue,
    /// The caller's `X-Rolegate-*` headers (none for an anonymous call).
    pub(crate) identity: Option<crate::decision::IdentityHeaders>,
}

impl Added {
    /// The headers and their values.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&HeaderName, &HeaderValue)> {
        let identity = self.identity.iter().flat_map(|values| values.iter());
        self.forwarded
            .iter()
            .chain(std::iter::once((&REQUEST_ID, &self.request_id)))
            .chain(identity.map(|(name, value)| (name, value)))
    }

    /// Inserts them into `headers`.
    pub(crate) fn apply(self, headers: &mut HeaderMap) {
        headers.reserve(ADDED);
        let Added {
            forwarded,
            request_id,
            identity,
        } = self;
        forwarded.apply(headers);
        headers.insert(crate::decision::X_REQUEST_ID, request_id);
        for (name, value) in identity.iter().flat_map(|values| values.iter()) {
            headers.insert(name.clone(), value.clone());
        }
    }
}

static REQUEST_ID: HeaderName = crate::decision::X_REQUEST_ID;

/// Most headers [`Added`] holds (three forwarded, the request id and nine
/// identity headers), and `Host`.
const ADDED: usize = 14;

/// An IP address as a header value (IPv4 written without `fmt`).
fn address_value(address: IpAddr) -> HeaderValue {
    let IpAddr::V4(v4) = address else {
        return HeaderValue::from_str(&address.to_string())
            .unwrap_or(HeaderValue::from_static("unknown"));
    };
    let mut text = [0u8; 15];
    let mut len = 0;
    for (i, octet) in v4.octets().into_iter().enumerate() {
        if i > 0 {
            push(&mut text, &mut len, b'.');
        }
        if octet >= 100 {
            push(&mut text, &mut len, b'0' + octet / 100);
        }
        if octet >= 10 {
            push(&mut text, &mut len, b'0' + octet / 10 % 10);
        }
        push(&mut text, &mut len, b'0' + octet % 10);
    }
    HeaderValue::from_bytes(text.get(..len).unwrap_or_default())
        .unwrap_or(HeaderValue::from_static("unknown"))
}

fn push(text: &mut [u8; 15], len: &mut usize, byte: u8) {
    if let Some(slot) = text.get_mut(*len) {
        *slot = byte;
        *len += 1;
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

    #[test]
    fn forwarded_for_writes_addresses() {
        for address in [
            "0.0.0.0",
            "10.0.0.1",
            "127.0.0.1",
            "192.168.100.255",
            "::1",
            "fe80::1",
        ] {
            let mut h = HeaderMap::new();
            add_forwarded(
                &mut h,
                address.parse().unwrap(),
                "https",
                &Uri::from_static("/"),
            );
            assert_eq!(h[X_FORWARDED_FOR], address);
            assert_eq!(h[X_FORWARDED_PROTO], "https");
            assert!(!h.contains_key(X_FORWARDED_HOST));
        }
        let mut h = HeaderMap::new();
        h.append(X_FORWARDED_PROTO, HeaderValue::from_static("http"));
        h.append(X_FORWARDED_PROTO, HeaderValue::from_static("https"));
        add_forwarded(
            &mut h,
            "1.2.3.4".parse().unwrap(),
            "http",
            &Uri::from_static("http://api.example/x"),
        );
        assert_eq!(h.get_all(X_FORWARDED_PROTO).iter().count(), 1);
        assert_eq!(h[X_FORWARDED_PROTO], "http, https, http");
        assert_eq!(h[X_FORWARDED_HOST], "api.example");
    }

    #[test]
    fn removes_headers_named_in_several_connection_headers() {
        let mut h = HeaderMap::new();
        h.append(CONNECTION, HeaderValue::from_static("x-one"));
        h.append(CONNECTION, HeaderValue::from_static("X-Two, close"));
        h.insert("x-one", HeaderValue::from_static("1"));
        h.insert("x-two", HeaderValue::from_static("2"));
        h.insert("x-three", HeaderValue::from_static("3"));
        remove_hop_by_hop(&mut h);
        assert_eq!(h.len(), 1);
        assert!(h.contains_key("x-three"));
    }
}
