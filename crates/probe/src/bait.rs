//! The loopback listener that `jku` and `x5u` point at: it serves the
//! probe's own key set and certificate and counts who fetches them, so the
//! report can say whether the API followed a URL from a token header.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::routing::get;
use serde_json::json;

use crate::ProbeError;
use crate::mint::AttackerKey;

/// A running bait listener; it stops when dropped.
pub(crate) struct Bait {
    /// The URL of the probe's JWKS (for `jku`).
    pub jku_url: String,
    /// The URL of the probe's certificate (for `x5u`).
    pub x5u_url: String,
    hits: Arc<Hits>,
    _stop: tokio::sync::oneshot::Sender<()>,
}

#[derive(Default)]
struct Hits {
    jku: AtomicUsize,
    x5u: AtomicUsize,
}

impl Bait {
    /// Starts serving `attacker`'s key on `127.0.0.1` (a port the OS picks).
    pub(crate) async fn start(attacker: &AttackerKey) -> Result<Bait, ProbeError> {
        let listener = tokio::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
            .await
            .map_err(ProbeError::Bait)?;
        let addr = listener.local_addr().map_err(ProbeError::Bait)?;
        let hits = Arc::new(Hits::default());
        let jwks = json!({ "keys": [attacker.jwk] });
        let certificate = attacker.certificate_pem.clone();
        let (jku_hits, x5u_hits) = (Arc::clone(&hits), Arc::clone(&hits));
        let app = Router::new()
            .route(
                JKU_PATH,
                get(move || async move {
                    jku_hits.jku.fetch_add(1, Ordering::Relaxed);
                    axum::Json(jwks)
                }),
            )
            .route(
                X5U_PATH,
                get(move || async move {
                    x5u_hits.x5u.fetch_add(1, Ordering::Relaxed);
                    (
                        [("content-type", "application/pem-certificate-chain")],
                        certificate,
                    )
                }),
            );
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let shutdown = async {
                let _ = stopped.await;
            };
            if let Err(e) = axum::serve(listener, app)
                .with_graceful_shutdown(shutdown)
                .await
            {
                tracing::warn!(error = %e, "the probe's bait listener failed");
            }
        });
        Ok(Bait {
            jku_url: format!("http://{addr}{JKU_PATH}"),
            x5u_url: format!("http://{addr}{X5U_PATH}"),
            hits,
            _stop: stop,
        })
    }

    /// How often the key set was fetched.
    pub(crate) fn jku_hits(&self) -> usize {
        self.hits.jku.load(Ordering::Relaxed)
    }

    /// How often the certificate was fetched.
    pub(crate) fn x5u_hits(&self) -> usize {
        self.hits.x5u.load(Ordering::Relaxed)
    }
}

const JKU_PATH: &str = "/rolegate-probe/jwks.json";
const X5U_PATH: &str = "/rolegate-probe/cert.pem";
