//! Upstream addresses, and the certificates `https://` upstreams are
//! checked against.

use std::fmt;
use std::sync::Arc;

use http::Uri;
use http::uri::{Authority, PathAndQuery, Scheme};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject as _;

/// Where allowed requests go: `http://` or `https://host:port` plus an
/// optional path prefix, e.g. `http://127.0.0.1:3000/api` sends
/// `/orders?x=1` to `http://127.0.0.1:3000/api/orders?x=1`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upstream {
    scheme: Scheme,
    authority: Authority,
    prefix: String,
}

impl Upstream {
    /// Parses an `http://` or `https://` URL without query or fragment;
    /// the error says what is wrong.
    pub fn parse(text: &str) -> Result<Upstream, String> {
        let uri: Uri = text
            .parse()
            .map_err(|e| format!("{text:?} is not a URL: {e}"))?;
        let scheme = uri.scheme().cloned();
        match scheme.as_ref().map(Scheme::as_str) {
            Some("http" | "https") => {}
            _ => return Err(format!("{text:?} must be an http:// or https:// URL")),
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

    /// The origin-form URI (path and query only, what an HTTP/1.1 request
    /// line carries) for a request whose path and query were `original`:
    /// the same as [`uri_for`](Self::uri_for) without scheme and
    /// authority. Without a prefix the original is reused as it is.
    pub fn origin_uri_for(&self, original: Option<&PathAndQuery>) -> Result<Uri, http::Error> {
        let path_and_query = match original {
            Some(original) if self.prefix.is_empty() => original.clone(),
            None if self.prefix.is_empty() => PathAndQuery::from_static("/"),
            original => {
                let original = original.map_or("/", PathAndQuery::as_str);
                PathAndQuery::try_from(format!("{}{original}", self.prefix))?
            }
        };
        Ok(Uri::from(path_and_query))
    }

    /// `host:port`, for `Host` when the upstream needs it.
    pub fn authority(&self) -> &Authority {
        &self.authority
    }

    /// Whether the upstream is reached over TLS.
    pub fn is_https(&self) -> bool {
        self.scheme == Scheme::HTTPS
    }
}

/// The TLS client configuration for upstreams. With `https` (some route
/// has an `https://` upstream): the platform's CA certificates (as
/// `rustls-native-certs` finds them) plus those in `extra_ca_pem` (the
/// file `auth.ca_file` names), verified by webpki with the aws-lc-rs
/// provider. Without: no CA at all, nothing read from the system. No
/// ALPN: upstream connections are HTTP/1.1.
///
/// # Security
/// Certificates are always verified, host name included; there is no
/// option to skip it. With `https` and no CA certificate at all (none on
/// the system, no `ca_file`) this is an error rather than a client that
/// can trust nothing.
pub fn tls_client_config(
    https: bool,
    extra_ca_pem: Option<&[u8]>,
) -> Result<Arc<rustls::ClientConfig>, String> {
    let mut roots = rustls::RootCertStore::empty();
    if let Some(pem) = extra_ca_pem.filter(|_| https) {
        let certificates = CertificateDer::pem_slice_iter(pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("auth.ca_file: not PEM certificates: {e}"))?;
        if certificates.is_empty() {
            return Err("auth.ca_file: holds no CERTIFICATE".to_owned());
        }
        for certificate in certificates {
            roots
                .add(certificate)
                .map_err(|e| format!("auth.ca_file: not a usable CA certificate: {e}"))?;
        }
    }
    if https {
        let platform = rustls_native_certs::load_native_certs();
        let (_added, ignored) = roots.add_parsable_certificates(platform.certs);
        if ignored > 0 {
            tracing::debug!(
                ignored,
                "platform CA certificates that did not parse were skipped"
            );
        }
    }
    if https && roots.is_empty() {
        return Err(
            "https upstreams: no CA certificate to check them against (none found on this \
             system; set auth.ca_file)"
                .to_owned(),
        );
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("upstream TLS: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
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
    fn origin_form_joins_prefix_and_path() {
        let u = Upstream::parse("http://127.0.0.1:3000/api/").unwrap();
        let pq: PathAndQuery = "/orders?x=1".parse().unwrap();
        assert_eq!(
            u.origin_uri_for(Some(&pq)).unwrap().to_string(),
            "/api/orders?x=1"
        );
        assert_eq!(u.origin_uri_for(None).unwrap().to_string(), "/api/");
        let u = Upstream::parse("http://localhost:3000").unwrap();
        assert_eq!(
            u.origin_uri_for(Some(&pq)).unwrap().to_string(),
            "/orders?x=1"
        );
        assert_eq!(u.origin_uri_for(None).unwrap().to_string(), "/");
    }

    #[test]
    fn accepts_https() {
        let u = Upstream::parse("https://api.example/v1").unwrap();
        assert!(u.is_https());
        assert_eq!(
            u.uri_for(None).unwrap().to_string(),
            "https://api.example/v1/"
        );
        assert!(!Upstream::parse("http://h").unwrap().is_https());
    }

    #[test]
    fn refuses_other_shapes() {
        for bad in [
            "ftp://x",
            "127.0.0.1:3000",
            "http://u:p@host/",
            "http://h/?q=1",
        ] {
            assert!(Upstream::parse(bad).is_err(), "{bad}");
        }
    }
}
