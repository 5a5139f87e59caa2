//! What the probe reads from the identity provider's data folder: the
//! record the provider writes at start (tenant file, origin), the tenant,
//! and the signing keys, opened read-only in the provider's own store.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rolegate_idp::directory::{Directory, config};
use rolegate_idp::keys::SigningKeys;
use rolegate_idp::protocol::tokens::IssuerContext;
use rolegate_idp::server::{self, DATABASE, ProviderRecord, RECORD};
use rolegate_idp::store::Store;
use rolegate_idp::store::sqlite::SqliteStore;
use serde_json::Value;

use crate::{ProbeConfig, ProbeError};

/// The provider as the probe sees it.
pub(crate) struct ProviderSide {
    /// The tenant.
    pub directory: Directory,
    /// The tenant file it came from.
    pub tenant_file: PathBuf,
    /// Origin and tenant id: the issuers of the tokens.
    pub issuer: IssuerContext,
    /// The provider's signing keys.
    pub keys: SigningKeys,
    /// The public half of the key that signs now.
    pub public: PublicKey,
    /// The provider's local CA (PEM), for HTTPS APIs served with it.
    pub ca_pem: Option<Vec<u8>>,
}

/// The current signing key's public parts, as the JWKS publishes them.
pub(crate) struct PublicKey {
    /// `kid`.
    pub kid: String,
    /// The modulus, big-endian.
    pub n: Vec<u8>,
    /// The exponent, big-endian.
    pub e: Vec<u8>,
    /// The certificate (`x5c`), DER.
    pub certificate: Vec<u8>,
    /// The JWK as published (without per-tenant members).
    pub jwk: Value,
}

/// Loads the tenant, origin and keys for `config`.
pub(crate) async fn load(config: &ProbeConfig, now: i64) -> Result<ProviderSide, ProbeError> {
    let dir = &config.data_dir;
    let unreadable = |reason: String| ProbeError::DataDir {
        path: dir.clone(),
        reason,
    };
    if !dir.is_dir() {
        return Err(unreadable(
            "no such folder (give the --data-dir of the `rolegate idp` or `rolegate demo` the API trusts)"
                .to_owned(),
        ));
    }
    let record = read_record(dir)?;
    let tenant_file = match (&config.tenant_file, &record) {
        (Some(file), _) => file.clone(),
        (None, Some(record)) => record.tenant_file.clone(),
        (None, None) => return Err(no_record(dir, "the tenant file (--config)")),
    };
    let origin = match (&config.authority, &record) {
        (Some(authority), _) => authority.origin().ascii_serialization(),
        (None, Some(record)) => record.origin.clone(),
        (None, None) => return Err(no_record(dir, "the authority (--authority)")),
    };
    let directory = config::load(&tenant_file).map_err(|e| ProbeError::Tenant {
        path: tenant_file.clone(),
        problems: e.to_string(),
    })?;
    let keys = open_keys(dir, &config.store, now).await?;
    let public = current_public_key(&keys, now).ok_or_else(|| {
        unreadable("the store holds no key that signs now (is the provider's clock right?)".into())
    })?;
    let ca_pem = std::fs::read(server::ca_path(dir)).ok();
    Ok(ProviderSide {
        issuer: IssuerContext {
            origin,
            tenant_id: directory.tenant.id.clone(),
        },
        directory,
        tenant_file,
        keys,
        public,
        ca_pem,
    })
}

/// The provider's record, if it wrote one.
fn read_record(dir: &Path) -> Result<Option<ProviderRecord>, ProbeError> {
    let path = dir.join(RECORD);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(ProbeError::DataDir {
                path: path.clone(),
                reason: format!("cannot read: {e}"),
            });
        }
    };
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|e| ProbeError::DataDir {
            path,
            reason: format!("not a provider record: {e}"),
        })
}

fn no_record(dir: &Path, what: &str) -> ProbeError {
    ProbeError::DataDir {
        path: dir.to_path_buf(),
        reason: format!(
            "it has no {RECORD} (written by `rolegate idp` and `rolegate demo` at start), so {what} is unknown: \
             start the provider on this folder once, or give --config and --authority"
        ),
    }
}

/// The provider's signing keys: from its SQLite store opened read-only, or
/// from the PostgreSQL store its replicas share (opened with their KEK).
async fn open_keys(
    dir: &Path,
    store: &server::StoreConfig,
    now: i64,
) -> Result<SigningKeys, ProbeError> {
    if let server::StoreConfig::Postgres { .. } = store {
        let failed = |reason: String| ProbeError::DataDir {
            path: dir.to_path_buf(),
            reason,
        };
        let opened = server::open_store_for_tool(store, dir)
            .await
            .map_err(|e| failed(e.to_string()))?;
        if opened
            .keys()
            .await
            .map_err(|e| failed(e.to_string()))?
            .is_empty()
        {
            return Err(failed(
                "the PostgreSQL store holds no signing key: start a provider on it once".to_owned(),
            ));
        }
        return SigningKeys::load_or_create(opened, now)
            .await
            .map_err(|e| failed(format!("signing keys: {e}")));
    }
    let path = dir.join(DATABASE);
    let failed = |reason: String| ProbeError::DataDir {
        path: path.clone(),
        reason,
    };
    if !path.is_file() {
        return Err(failed(
            "no provider database here: start `rolegate idp --data-dir` (or `rolegate demo`) on this folder once"
                .to_owned(),
        ));
    }
    let store = SqliteStore::open_read_only(&path)
        .await
        .map_err(|e| failed(e.to_string()))?;
    let records = store.keys().await.map_err(|e| failed(e.to_string()))?;
    if records.is_empty() {
        return Err(failed(
            "the database holds no signing key: start the provider on this folder once".to_owned(),
        ));
    }
    SigningKeys::load_or_create(Arc::new(store), now)
        .await
        .map_err(|e| failed(format!("signing keys: {e}")))
}

fn current_public_key(keys: &SigningKeys, now: i64) -> Option<PublicKey> {
    let kid = keys.current_kid(now)?;
    let jwks = keys.jwks(None, now);
    let jwk = jwks
        .get("keys")?
        .as_array()?
        .iter()
        .find(|k| k.get("kid").and_then(Value::as_str) == Some(kid.as_str()))?
        .clone();
    let field = |name: &str| {
        jwk.get(name)
            .and_then(Value::as_str)
            .and_then(|v| URL_SAFE_NO_PAD.decode(v).ok())
    };
    let certificate = jwk
        .get("x5c")
        .and_then(|c| c.get(0))
        .and_then(Value::as_str)
        .and_then(|c| STANDARD.decode(c).ok())?;
    Some(PublicKey {
        n: field("n")?,
        e: field("e")?,
        kid,
        certificate,
        jwk,
    })
}
