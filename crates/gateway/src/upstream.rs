//! Upstream addresses. No I/O.

use std::fmt;

use http::Uri;
use http::uri::{Authority, PathAndQuery, Scheme};

/// Where allowed requests go: `http://host:port` plus an optional path
/// prefix, e.g. `http://127.0.0.1:3000/api` sends `/orders?x=1` to
/// `http://127.0.0.1:3000/api/orders?x=1`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upstream {
    scheme: Scheme,
    authority: Authority,
    prefix: String,
}

impl Upstream {
    /// Parses an `http://` URL without query or fragment; the error says
    /// what is wrong.
    pub fn parse(text: &str) -> Result<Upstream, String> {
        let uri: Uri = text
            .parse()
            .map_err(|e| format!("{text:?} is not a URL: {e}"))?;
        let scheme = uri.scheme().cloned();
        match scheme.as_ref().map(Scheme::as_str) {
            Some("http") => {}
            Some("https") => {
                return Err(format!(
                    "{text:?}: https upstreams are not supported yet; use http:// (e.g. a \
                     sidecar on loopback)"
                ));
            }
            _ => return Err(format!("{text:?} must be an http:// URL")),
        }
        let Some(authority) = uri.authority().cloned() else {
            return Err(format!("{text:?} names no host"));
        };
        if authority.as_str().contains('@') {
            return Err(format!("{text:?}: user information is not allowed"));
        }
        if uri.query().is_some() || text.contains('#') {
            return Err(format!("{text:?}: no query or fragment allowed"));
        }
        let prefix = uri.path().trim_end_matches('/').to_owned();
        Ok(Upstream {
            scheme: scheme.unwrap_or(Scheme::HTTP),
            authority,
            prefix,
        })
    }

    /// The URI for a request whose path and query were `original`.
    pub fn uri_for(&self, original: Option<&PathAndQuery>) -> Result<Uri, http::Error> {
        let original = original.map_or("/", PathAndQuery::as_str);
        let path_and_query = format!("{}{original}", self.prefix);
        Uri::builder()
            .scheme(self.scheme.clone())
            .authority(self.authority.clone())
            .path_and_query(path_and_query)
            .build()
    }

    /// `host:port`, for `Host` when the upstream needs it.
    pub fn authority(&self) -> &Authority {
        &self.authority
    }
}

impl fmt::Display for Upstream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}{}", self.scheme, self.authority, self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_prefix_and_path() {
        let u = Upstream::parse("http://127.0.0.1:3000/api/").unwrap();
        let pq: PathAndQuery = "/orders?x=1".parse().unwrap();
        assert_eq!(
            u.uri_for(Some(&pq)).unwrap().to_string(),
            "http://127.0.0.1:3000/api/orders?x=1"
        );
        let u = Upstream::parse("http://localhost:3000").unwrap();
        assert_eq!(
            u.uri_for(None).unwrap().to_string(),
            "http://localhost:3000/"
        );
    }

    #[test]
    fn refuses_other_shapes() {
        for bad in [
            "ftp://x",
            "127.0.0.1:3000",
            "http://u:p@host/",
            "http://h/?q=1",
            "https://h/",
        ] {
            assert!(Upstream::parse(bad).is_err(), "{bad}");
        }
    }
}
