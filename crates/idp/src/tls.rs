//! HTTPS for the identity provider: a local CA, its server certificate,
//! and the accept loop ([`serve_tls`], within [`ServeLimits`]).
//!
//! MSAL refuses authorities that are not HTTPS, even on localhost (spec
//! §12.1), so the IdP always serves TLS. On first start it creates a CA
//! (`<data>/tls/ca.pem`, ECDSA P-256, 90 days) and a server certificate
//! for `localhost`, `127.0.0.1` and `::1` signed by it (30 days, never past
//! the CA). Clients trust the CA file: `rolegate idp ca-path` prints where
//! it is.
//!
//! Both are renewed at start, and every 12 hours while the provider runs
//! ([`RenewableCertificate`]): the server certificate when less than 10
//! days remain, the CA (and with it the server certificate) when less than
//! 30 days remain. A replaced CA is logged as a warning, since clients must
//! trust the new file. A CA from an older version (ten years, no name
//! constraints) is replaced the same way on the first start.
//!
//! # Security
//! Private keys are written readable by their owner only. The CA can sign
//! only server certificates (path length 0) for loopback names: X.509 name
//! constraints (RFC 5280 §4.2.1.10) permit DNS `localhost` (and its
//! subdomains), IP `127.0.0.0/8` and `::1/128` only, so a stolen CA key
//! cannot impersonate other sites to verifiers that enforce constraints
//! (rustls/webpki, browsers, OpenSSL). Keep the key private all the same,
//! and trust the CA only where you run the provider.

use std::fmt;
use std::io::Write as _;
use std::net::Ipv6Addr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};

use rcgen::{
    BasicConstraints, CertificateParams, CidrSubnet, DnType, ExtendedKeyUsagePurpose,
    GeneralSubtree, IsCa, Issuer, KeyPair, KeyUsagePurpose, NameConstraints,
};
use rolegate_token::clock::{Clock, SystemClock};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

pub use self::serve::{Network, ServeLimits, serve_plain, serve_tls};

mod serve;

/// A server certificate chain and key, in PEM, plus the file clients
/// should trust.
#[derive(Clone)]
pub struct TlsMaterial {
    /// The certificate clients should trust: the local CA, or the given
    /// certificate when bringing your own.
    pub ca_pem_path: PathBuf,
    /// The server certificate followed by its issuers.
    pub cert_chain_pem: String,
    /// The server's private key (PKCS#8).
    pub key_pem: String,
}

/// Failures setting up TLS.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// rcgen could not create a key or certificate.
    #[error("cannot create a TLS certificate: {0}")]
    Certificate(#[from] rcgen::Error),
    /// rustls rejected the certificate or key.
    #[error("invalid TLS configuration: {0}")]
    Config(#[from] rustls::Error),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The failure.
        source: std::io::Error,
    },
    /// A PEM file held nothing usable.
    #[error("{path}: expected {expected} in PEM, found none ({reason})")]
    Pem {
        /// The file.
        path: PathBuf,
        /// What it should have held.
        expected: &'static str,
        /// The parser's complaint.
        reason: String,
    },
}

impl TlsMaterial {
    /// Loads the local CA and server certificate from `data_dir/tls/`,
    /// creating what is missing. A CA that expires within 30 days, or
    /// that predates name constraints, is replaced (with a warning: clients
    /// must trust the new file); a server certificate that expires within
    /// 10 days, or whose CA was replaced, is reissued.
    pub fn load_or_create(data_dir: &Path) -> Result<TlsMaterial, TlsError> {
        Self::load_or_create_at(data_dir, SystemClock.now())
    }

    /// [`load_or_create`](Self::load_or_create) at a given time (unix
    /// seconds).
    pub fn load_or_create_at(data_dir: &Path, now: i64) -> Result<TlsMaterial, TlsError> {
        let dir = data_dir.join(TLS_DIR);
        create_private_dir(&dir)?;
        let ca = LocalCa::load_or_create(&dir, now)?;
        let leaf_path = dir.join(SERVER_FILE);
        let leaf_key_path = dir.join(SERVER_KEY_FILE);
        if !ca.is_new
            && let (Some(chain), Some(key_pem)) =
                (read_optional(&leaf_path)?, read_optional(&leaf_key_path)?)
            && leaf_not_after(&chain)
                .is_some_and(|not_after| not_after.saturating_sub(now) > LEAF_RENEW_BEFORE)
        {
            return Ok(TlsMaterial {
                ca_pem_path: ca.path,
                cert_chain_pem: chain,
                key_pem,
            });
        }

        let leaf_key = KeyPair::generate()?;
        let mut params = CertificateParams::new(SERVER_NAMES.map(str::to_owned).to_vec())?;
        params
            .distinguished_name
            .push(DnType::CommonName, "localhost");
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.use_authority_key_identifier_extension = true;
        let not_before = now.saturating_sub(DAY);
        set_validity(
            &mut params,
            not_before,
            not_before.saturating_add(LEAF_VALIDITY).min(ca.not_after),
        );
        let issuer = Issuer::new(ca_params(now), &ca.key);
        let leaf = params.signed_by(&leaf_key, &issuer)?;
        let chain = format!("{}{}", leaf.pem(), ca.pem);
        let key_pem = leaf_key.serialize_pem();
        write_file(&leaf_key_path, &key_pem, true)?;
        write_file(&leaf_path, &chain, false)?;
        tracing::info!(path = %leaf_path.display(), "created a server certificate for localhost");
        Ok(TlsMaterial {
            ca_pem_path: ca.path,
            cert_chain_pem: chain,
            key_pem,
        })
    }

    /// Uses a certificate chain and key from files (`--tls-cert`,
    /// `--tls-key`); clients are pointed at the certificate file.
    pub fn from_files(cert: &Path, key: &Path) -> Result<TlsMaterial, TlsError> {
        let cert_chain_pem = read(cert)?;
        let key_pem = read(key)?;
        let material = TlsMaterial {
            ca_pem_path: cert.to_path_buf(),
            cert_chain_pem,
            key_pem,
        };
        material.certificates(cert)?;
        material.private_key(key)?;
        Ok(material)
    }

    /// A rustls server configuration (aws-lc-rs, TLS 1.2 and 1.3) offering
    /// HTTP/2 and HTTP/1.1 through ALPN.
    pub fn server_config(&self) -> Result<Arc<rustls::ServerConfig>, TlsError> {
        Ok(self.renewable_server_config()?.0)
    }

    /// [`server_config`](Self::server_config), plus a handle that swaps
    /// in renewed material for new handshakes while the server runs.
    pub fn renewable_server_config(
        &self,
    ) -> Result<(Arc<rustls::ServerConfig>, Arc<RenewableCertificate>), TlsError> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let certificate = Arc::new(RenewableCertificate {
            current: RwLock::new(Arc::new(self.certified_key(&provider)?)),
            provider: Arc::clone(&provider),
        });
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_cert_resolver(Arc::clone(&certificate) as Arc<dyn ResolvesServerCert>);
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok((Arc::new(config), certificate))
    }

    fn certified_key(&self, provider: &CryptoProvider) -> Result<CertifiedKey, TlsError> {
        let key = CertifiedKey::from_der(
            self.certificates(&self.ca_pem_path)?,
            self.private_key(&self.ca_pem_path)?,
            provider,
        )?;
        key.keys_match()?;
        Ok(key)
    }

    fn certificates(&self, path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
        let pem_error = |reason: String| TlsError::Pem {
            path: path.to_path_buf(),
            expected: "a certificate",
            reason,
        };
        let certs = CertificateDer::pem_slice_iter(self.cert_chain_pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| pem_error(e.to_string()))?;
        match certs.is_empty() {
            true => Err(pem_error("no CERTIFICATE section".to_owned())),
            false => Ok(certs),
        }
    }

    fn private_key(&self, path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
        PrivateKeyDer::from_pem_slice(self.key_pem.as_bytes()).map_err(|e| TlsError::Pem {
            path: path.to_path_buf(),
            expected: "a private key",
            reason: e.to_string(),
        })
    }
}

impl fmt::Debug for TlsMaterial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsMaterial")
            .field("ca_pem_path", &self.ca_pem_path)
            .field("cert_chain_pem", &self.cert_chain_pem)
            .field("key_pem", &"[redacted]")
            .finish()
    }
}

/// The certificate a running server presents. Renewing replaces it for
/// new handshakes; open connections keep the one they started with.
pub struct RenewableCertificate {
    current: RwLock<Arc<CertifiedKey>>,
    provider: Arc<CryptoProvider>,
}

impl RenewableCertificate {
    /// Presents `material` from the next handshake on.
    pub fn replace(&self, material: &TlsMaterial) -> Result<(), TlsError> {
        let key = Arc::new(material.certified_key(&self.provider)?);
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = key;
        Ok(())
    }
}

impl ResolvesServerCert for RenewableCertificate {
    fn resolve(&self, _: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(Arc::clone(
            &self.current.read().unwrap_or_else(PoisonError::into_inner),
        ))
    }
}

impl fmt::Debug for RenewableCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RenewableCertificate")
            .finish_non_exhaustive()
    }
}

/// Where the local CA certificate is (or will be) for this data directory.
pub fn ca_path(data_dir: &Path) -> PathBuf {
    data_dir.join(TLS_DIR).join(CA_FILE)
}

/// Sets a certificate's validity to whole days covering `not_before` ..
/// `not_after` (unix seconds, UTC).
pub(crate) fn set_validity(params: &mut CertificateParams, not_before: i64, not_after: i64) {
    let (year, month, day) = civil_date(not_before);
    params.not_before = rcgen::date_time_ymd(year, month, day);
    let (year, month, day) = civil_date(not_after);
    params.not_after = rcgen::date_time_ymd(year, month, day);
}

/// Reading the little DER this crate needs: RSA public keys, certificate
/// expiry and extensions.
pub(crate) mod der {
    /// `n` and `e` of a PKCS#1 `RSAPublicKey` (RFC 8017 §A.1.1),
    /// big-endian without leading zeros, as a JWK wants them.
    pub(crate) fn rsa_public_key(der: &[u8]) -> Option<(&[u8], &[u8])> {
        let (SEQUENCE, body, _) = read(der)? else {
            return None;
        };
        let (INTEGER, n, rest) = read(body)? else {
            return None;
        };
        let (INTEGER, e, _) = read(rest)? else {
            return None;
        };
        Some((strip_zeros(n), strip_zeros(e)))
    }

    /// A certificate extension's `critical` flag and `extnValue` contents
    /// (RFC 5280 §4.1.2.9), when the certificate has it.
    pub(crate) fn certificate_extension<'a>(der: &'a [u8], oid: &[u8]) -> Option<(bool, &'a [u8])> {
        let (_validity, _, fields) = read(validity_onwards(der)?)?;
        let (_subject, _, fields) = read(fields)?;
        let (_public_key, _, mut fields) = read(fields)?;
        // Skip the optional unique identifiers ([1], [2]).
        let extensions = loop {
            match read(fields)? {
                (EXTENSIONS, extensions, _) => break extensions,
                (_, _, rest) => fields = rest,
            }
        };
        let (SEQUENCE, mut list, _) = read(extensions)? else {
            return None;
        };
        while !list.is_empty() {
            let (SEQUENCE, extension, rest) = read(list)? else {
                return None;
            };
            list = rest;
            let (OBJECT_IDENTIFIER, id, extension) = read(extension)? else {
                return None;
            };
            let (critical, extension) = match read(extension)? {
                (BOOLEAN, flag, rest) => (flag == [0xff], rest),
                _ => (false, extension),
            };
            let (OCTET_STRING, value, _) = read(extension)? else {
                return None;
            };
            if id == oid {
                return Some((critical, value));
            }
        }
        None
    }

    /// A certificate's `notAfter` (RFC 5280 §4.1.2.5) in unix seconds.
    pub(crate) fn certificate_not_after(der: &[u8]) -> Option<i64> {
        certificate_validity(der).map(|(_, not_after)| not_after)
    }

    /// A certificate's `notBefore` and `notAfter` (RFC 5280 §4.1.2.5) in
    /// unix seconds.
    pub(crate) fn certificate_validity(der: &[u8]) -> Option<(i64, i64)> {
        let (SEQUENCE, validity, _) = read(validity_onwards(der)?)? else {
            return None;
        };
        let (tag, not_before, validity) = read(validity)?;
        let not_before = time_value(tag, not_before)?;
        let (tag, not_after, _) = read(validity)?;
        Some((not_before, time_value(tag, not_after)?))
    }

    /// A certificate's `subjectPublicKeyInfo` (RFC 5280 §4.1.2.7), as the
    /// whole DER element (tag and length included), the form aws-lc-rs
    /// parses.
    pub(crate) fn certificate_public_key(der: &[u8]) -> Option<&[u8]> {
        let (_validity, _, fields) = read(validity_onwards(der)?)?;
        let (_subject, _, fields) = read(fields)?;
        let (SEQUENCE, _, rest) = read(fields)? else {
            return None;
        };
        fields.get(..fields.len().checked_sub(rest.len())?)
    }

    /// A `UTCTime` or `GeneralizedTime` of the form RFC 5280 §4.1.2.5
    /// requires (`YYMMDDHHMMSSZ`, `YYYYMMDDHHMMSSZ`), in unix seconds.
    fn time_value(tag: u8, time: &[u8]) -> Option<i64> {
        let text = std::str::from_utf8(time).ok()?;
        let (year, rest) = match tag {
            UTC_TIME => {
                let year: i64 = text.get(..2)?.parse().ok()?;
                (
                    if year < 50 { 2000 + year } else { 1900 + year },
                    text.get(2..)?,
                )
            }
            GENERALIZED_TIME => (text.get(..4)?.parse().ok()?, text.get(4..)?),
            _ => return None,
        };
        let field = |range: std::ops::Range<usize>| rest.get(range)?.parse::<u8>().ok();
        if rest.len() != 11 || !rest.ends_with('Z') {
            return None;
        }
        let date = time::Date::from_calendar_date(
            i32::try_from(year).ok()?,
            time::Month::try_from(field(0..2)?).ok()?,
            field(2..4)?,
        )
        .ok()?;
        let at = time::Time::from_hms(field(4..6)?, field(6..8)?, field(8..10)?).ok()?;
        Some(
            time::PrimitiveDateTime::new(date, at)
                .assume_utc()
                .unix_timestamp(),
        )
    }

    /// The `TBSCertificate` fields from `validity` on.
    fn validity_onwards(der: &[u8]) -> Option<&[u8]> {
        let (SEQUENCE, certificate, _) = read(der)? else {
            return None;
        };
        let (SEQUENCE, tbs, _) = read(certificate)? else {
            return None;
        };
        let tbs = match read(tbs)? {
            (VERSION, _, rest) => rest,
            _ => tbs,
        };
        let (_serial, _, tbs) = read(tbs)?;
        let (_signature, _, tbs) = read(tbs)?;
        let (_issuer, _, tbs) = read(tbs)?;
        Some(tbs)
    }

    /// Splits one TLV off the front of `input`: (tag, content, rest).
    fn read(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
        let (&tag, input) = input.split_first()?;
        let (&first, input) = input.split_first()?;
        let (len, input) = match first {
            short @ 0..0x80 => (usize::from(short), input),
            long => {
                let count = usize::from(long & 0x7f);
                if count == 0 || count > 4 {
                    return None;
                }
                let (bytes, rest) = input.split_at_checked(count)?;
                (
                    bytes
                        .iter()
                        .fold(0usize, |acc, byte| (acc << 8) | usize::from(*byte)),
                    rest,
                )
            }
        };
        let (content, rest) = input.split_at_checked(len)?;
        Some((tag, content, rest))
    }

    fn strip_zeros(bytes: &[u8]) -> &[u8] {
        let start = bytes
            .iter()
            .position(|byte| *byte != 0)
            .unwrap_or(bytes.len());
        bytes.get(start..).unwrap_or_default()
    }

    /// The NameConstraints extension, 2.5.29.30 (RFC 5280 §4.2.1.10).
    pub(crate) const NAME_CONSTRAINTS: &[u8] = &[0x55, 0x1d, 0x1e];

    const BOOLEAN: u8 = 0x01;
    /// `[3] EXPLICIT Extensions` at the end of a `TBSCertificate`.
    const EXTENSIONS: u8 = 0xa3;
    const GENERALIZED_TIME: u8 = 0x18;
    const INTEGER: u8 = 0x02;
    const OBJECT_IDENTIFIER: u8 = 0x06;
    const OCTET_STRING: u8 = 0x04;
    const SEQUENCE: u8 = 0x30;
    const UTC_TIME: u8 = 0x17;
    /// `[0] EXPLICIT Version` at the start of a `TBSCertificate`.
    const VERSION: u8 = 0xa0;
}

/// The local CA, as loaded or freshly created.
struct LocalCa {
    path: PathBuf,
    pem: String,
    key: KeyPair,
    /// Unix seconds.
    not_after: i64,
    is_new: bool,
}

impl LocalCa {
    /// Keeps a name-constrained CA with more than 30 days left; otherwise
    /// (none yet, an older unconstrained CA, or one near expiry) creates a
    /// new one.
    fn load_or_create(dir: &Path, now: i64) -> Result<LocalCa, TlsError> {
        let path = dir.join(CA_FILE);
        let key_path = dir.join(CA_KEY_FILE);
        if let (Some(pem), Some(key)) = (read_optional(&path)?, read_optional(&key_path)?) {
            let der = CertificateDer::from_pem_slice(pem.as_bytes()).ok();
            let der = der.as_deref().unwrap_or_default();
            let constrained = der::certificate_extension(der, der::NAME_CONSTRAINTS).is_some();
            match der::certificate_not_after(der) {
                Some(not_after)
                    if constrained && not_after.saturating_sub(now) > CA_RENEW_BEFORE =>
                {
                    return Ok(LocalCa {
                        path,
                        pem,
                        key: KeyPair::from_pem(&key)?,
                        not_after,
                        is_new: false,
                    });
                }
                Some(not_after) if constrained => tracing::warn!(
                    path = %path.display(),
                    expires_in_days = not_after.saturating_sub(now) / DAY,
                    "replacing the local CA, which expires soon: clients must trust the new CA file"
                ),
                _ => tracing::warn!(
                    path = %path.display(),
                    "replacing the local CA, which is not limited to localhost (created by an \
                     older version): clients must trust the new CA file"
                ),
            }
        }
        let key = KeyPair::generate()?;
        let cert = ca_params(now).self_signed(&key)?;
        write_file(&key_path, &key.serialize_pem(), true)?;
        write_file(&path, &cert.pem(), false)?;
        tracing::info!(path = %path.display(), "created a local CA for localhost, valid 90 days");
        Ok(LocalCa {
            not_after: der::certificate_not_after(cert.der())
                .unwrap_or_else(|| now.saturating_add(CA_VALIDITY - DAY)),
            path,
            pem: cert.pem(),
            key,
            is_new: true,
        })
    }
}

/// The CA's parameters: it may sign only server certificates for
/// loopback names and addresses. The leaf's issuer is rebuilt from these,
/// so the name and key-identifier method must stay as they were when the
/// CA was created.
fn ca_params(now: i64) -> CertificateParams {
    let mut params = CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params.distinguished_name.push(DnType::CommonName, CA_NAME);
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    // RFC 5280 §4.2.1.10; a dNSName constraint `localhost` also permits
    // its subdomains (`app.localhost`).
    params.name_constraints = Some(NameConstraints {
        permitted_subtrees: vec![
            GeneralSubtree::DnsName("localhost".to_owned()),
            GeneralSubtree::IpAddress(CidrSubnet::from_v4_prefix([127, 0, 0, 0], 8)),
            GeneralSubtree::IpAddress(CidrSubnet::from_v6_prefix(
                Ipv6Addr::LOCALHOST.octets(),
                128,
            )),
        ],
        excluded_subtrees: Vec::new(),
    });
    let not_before = now.saturating_sub(DAY);
    set_validity(
        &mut params,
        not_before,
        not_before.saturating_add(CA_VALIDITY),
    );
    params
}

/// The first certificate's `notAfter` in a PEM chain.
fn leaf_not_after(chain_pem: &str) -> Option<i64> {
    let first = CertificateDer::pem_slice_iter(chain_pem.as_bytes())
        .next()?
        .ok()?;
    der::certificate_not_after(&first)
}

/// (year, month, day) of a unix time, clamped to years X.509 can express.
fn civil_date(unix: i64) -> (i32, u8, u8) {
    /// 9999-12-31T23:59:59Z.
    const LAST: i64 = 253_402_300_799;
    let at = time::OffsetDateTime::from_unix_timestamp(unix.clamp(0, LAST))
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    (at.year(), u8::from(at.month()), at.day())
}

fn read(path: &Path) -> Result<String, TlsError> {
    std::fs::read_to_string(path).map_err(|source| TlsError::Io {
        path: path.to_path_buf(),
        source,
    })
}

fn read_optional(path: &Path) -> Result<Option<String>, TlsError> {
    match std::fs::read_to_string(path) {
        Ok(contents) => Ok(Some(contents)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(TlsError::Io {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Writes through a temporary file and a rename, so readers never see a
/// half-written file; `private` files are readable by the owner only.
fn write_file(path: &Path, contents: &str, private: bool) -> Result<(), TlsError> {
    let io_error = |source| TlsError::Io {
        path: path.to_path_buf(),
        source,
    };
    let temporary = path.with_extension("tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, if private { 0o600 } else { 0o644 });
    #[cfg(not(unix))]
    let _ = private;
    let mut file = options.open(&temporary).map_err(io_error)?;
    file.write_all(contents.as_bytes()).map_err(io_error)?;
    file.sync_all().map_err(io_error)?;
    std::fs::rename(&temporary, path).map_err(io_error)
}

fn create_private_dir(dir: &Path) -> Result<(), TlsError> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(|source| TlsError::Io {
        path: dir.to_path_buf(),
        source,
    })
}

const CA_FILE: &str = "ca.pem";
const CA_KEY_FILE: &str = "ca-key.pem";
const CA_NAME: &str = "rolegate local CA";
/// Replace the CA when it has less than this left.
const CA_RENEW_BEFORE: i64 = 30 * DAY;
const CA_VALIDITY: i64 = 90 * DAY;
const DAY: i64 = 86_400;
/// Renew the server certificate when it has less than this left.
const LEAF_RENEW_BEFORE: i64 = 10 * DAY;
const LEAF_VALIDITY: i64 = 30 * DAY;
const SERVER_FILE: &str = "server.pem";
const SERVER_KEY_FILE: &str = "server-key.pem";
const SERVER_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];
const TLS_DIR: &str = "tls";

#[cfg(test)]
mod tests;
