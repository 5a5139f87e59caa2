//! The one place that does network I/O: fetching discovery documents and
//! key sets.
//!
//! The validation engine only sees the [`Fetcher`] trait; the default
//! implementation, [`HttpFetcher`], uses reqwest with rustls, a timeout, no
//! redirects and a response size cap.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
#[cfg(feature = "reqwest")]
use std::time::Duration;

use url::Url;

/// A boxed, sendable future.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Fetches a document over HTTP(S) with GET.
pub trait Fetcher: Send + Sync + fmt::Debug {
    /// GETs `url` and returns the body of a 200 response.
    fn fetch<'a>(&'a self, url: &'a Url) -> BoxFuture<'a, Result<Vec<u8>, FetchError>>;
}

/// Why a document could not be fetched.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    /// Connection-level failure.
    #[error("GET {url} failed: {detail}")]
    Network {
        /// The URL.
        url: String,
        /// What the network said.
        detail: String,
    },
    /// A non-200 answer.
    #[error("GET {url} answered HTTP {status}")]
    Status {
        /// The URL.
        url: String,
        /// The HTTP status.
        status: u16,
    },
    /// The body exceeded the size cap.
    #[error("GET {url} returned more than {limit} bytes")]
    TooLarge {
        /// The URL.
        url: String,
        /// The cap.
        limit: usize,
    },
    /// An extra trusted root certificate could not be used.
    #[error("invalid trusted certificate: {detail}")]
    InvalidCertificate {
        /// What is wrong with it.
        detail: String,
    },
    /// No answer in time.
    #[error("GET {url} timed out after {seconds}s")]
    Timeout {
        /// The URL.
        url: String,
        /// The timeout.
        seconds: u64,
    },
}

/// reqwest-based fetcher (rustls with the platform's roots).
#[cfg(feature = "reqwest")]
#[derive(Debug, Clone)]
pub struct HttpFetcher {
    client: reqwest::Client,
    timeout: Duration,
    max_bytes: usize,
}

#[cfg(feature = "reqwest")]
impl HttpFetcher {
    /// Default timeout for one fetch.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
    /// Default response size cap.
    pub const DEFAULT_MAX_BYTES: usize = 1024 * 1024;

    /// A fetcher with the default timeout (10 s) and size cap (1 MiB).
    pub fn new() -> Result<Self, FetchError> {
        Self::with_options(Self::DEFAULT_TIMEOUT, Self::DEFAULT_MAX_BYTES, &[])
    }

    /// A fetcher with a timeout, a size cap, and extra trusted root
    /// certificates in PEM (e.g. the local identity provider's CA).
    pub fn with_options(
        timeout: Duration,
        max_bytes: usize,
        extra_roots_pem: &[&[u8]],
    ) -> Result<Self, FetchError> {
        let mut builder = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("rolegate-token/", env!("CARGO_PKG_VERSION")));
        for pem in extra_roots_pem {
            let certs = reqwest::Certificate::from_pem_bundle(pem).map_err(|e| {
                FetchError::InvalidCertificate {
                    detail: format!("not a PEM certificate bundle: {e}"),
                }
            })?;
            if certs.is_empty() {
                return Err(FetchError::InvalidCertificate {
                    detail: "the PEM data holds no certificate".to_owned(),
                });
            }
            builder = builder.tls_certs_merge(certs);
        }
        let client = builder.build().map_err(|e| FetchError::Network {
            url: String::new(),
            detail: error_chain(&e),
        })?;
        Ok(Self {
            client,
            timeout,
            max_bytes,
        })
    }

    async fn get(&self, url: &Url) -> Result<Vec<u8>, FetchError> {
        let shown = url.as_str().to_owned();
        let map = |e: reqwest::Error| {
            if e.is_timeout() {
                FetchError::Timeout {
                    url: shown.clone(),
                    seconds: self.timeout.as_secs(),
                }
            } else {
                FetchError::Network {
                    url: shown.clone(),
                    detail: error_chain(&e),
                }
            }
        };
        let mut response = self
            .client
            .get(url.clone())
            .header("accept", "application/json")
            .send()
            .await
            .map_err(map)?;
        if response.status() != reqwest::StatusCode::OK {
            return Err(FetchError::Status {
                url: shown,
                status: response.status().as_u16(),
            });
        }
        let too_large = || FetchError::TooLarge {
            url: shown.clone(),
            limit: self.max_bytes,
        };
        if response
            .content_length()
            .is_some_and(|len| len > self.max_bytes as u64)
        {
            return Err(too_large());
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(map)? {
            if body.len() + chunk.len() > self.max_bytes {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }
}

#[cfg(feature = "reqwest")]
impl Fetcher for HttpFetcher {
    fn fetch<'a>(&'a self, url: &'a Url) -> BoxFuture<'a, Result<Vec<u8>, FetchError>> {
        Box::pin(self.get(url))
    }
}

/// Joins an error and its sources: "error sending request: connection refused".
#[cfg(feature = "reqwest")]
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let part = s.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = s.source();
    }
    text
}
