use std::net::{Ipv4Addr, SocketAddr};

use axum::extract::ConnectInfo;
use axum::routing::get;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

use super::*;
use crate::secret;

/// A directory in the temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        let path = std::env::temp_dir().join(format!("rolegate-tls-{}", secret::random_token(9)));
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Real time: the client checks certificate validity against the system
/// clock.
fn now() -> i64 {
    SystemClock.now()
}

fn first_certificate(chain: &str) -> CertificateDer<'static> {
    CertificateDer::pem_slice_iter(chain.as_bytes())
        .next()
        .unwrap()
        .unwrap()
}

/// The local CA certificate in `dir`.
fn ca_certificate(dir: &TempDir) -> CertificateDer<'static> {
    first_certificate(&std::fs::read_to_string(ca_path(&dir.0)).unwrap())
}

fn certificate_not_after(certificate: &CertificateDer<'_>) -> i64 {
    der::certificate_not_after(certificate).unwrap()
}

/// A 30-day server certificate for `names`, signed by `issuer`.
fn server_certificate(
    names: &[&str],
    issuer: &Issuer<'_, &KeyPair>,
) -> (rcgen::Certificate, KeyPair) {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(
        names
            .iter()
            .map(|name| (*name).to_owned())
            .collect::<Vec<_>>(),
    )
    .unwrap();
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.use_authority_key_identifier_extension = true;
    set_validity(&mut params, now() - DAY, now() + 30 * DAY);
    (params.signed_by(&key, issuer).unwrap(), key)
}

/// Verifies `material`'s chain for `name` as a rustls client trusting only
/// `ca` would (webpki, with name constraints).
fn verify(
    ca: &CertificateDer<'_>,
    material: &TlsMaterial,
    name: &str,
) -> Result<(), rustls::Error> {
    use rustls::client::danger::ServerCertVerifier as _;

    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca.clone().into_owned()).unwrap();
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let verifier =
        rustls::client::WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
            .build()
            .unwrap();
    let chain = CertificateDer::pem_slice_iter(material.cert_chain_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let (leaf, intermediates) = chain.split_first().unwrap();
    let name = rustls::pki_types::ServerName::try_from(name).unwrap();
    verifier
        .verify_server_cert(
            leaf,
            intermediates,
            &name,
            &[],
            rustls::pki_types::UnixTime::now(),
        )
        .map(|_| ())
}

struct Server {
    port: u16,
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

async fn serve(material: &TlsMaterial) -> Server {
    let app =
        axum::Router::new().route(
            "/",
            get(|ConnectInfo(peer): ConnectInfo<SocketAddr>| async move {
                format!("hello {}", peer.ip())
            }),
        );
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (stop, stopped) = oneshot::channel::<()>();
    let config = material.server_config().unwrap();
    let task = tokio::spawn(serve_tls(
        listener,
        config,
        app,
        ServeLimits::default(),
        async move {
            let _ = stopped.await;
        },
    ));
    Server { port, stop, task }
}

fn client(material: &TlsMaterial) -> reqwest::Client {
    let ca = std::fs::read(&material.ca_pem_path).unwrap();
    reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(&ca).unwrap()])
        .no_proxy()
        .build()
        .unwrap()
}

#[tokio::test]
async fn serves_https_trusted_through_the_local_ca() {
    let dir = TempDir::new();
    let material = TlsMaterial::load_or_create(&dir.0).unwrap();
    assert_eq!(material.ca_pem_path, ca_path(&dir.0));
    let server = serve(&material).await;
    let client = client(&material);
    for host in ["localhost", "127.0.0.1"] {
        let response = client
            .get(format!("https://{host}:{}/", server.port))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{host}");
        assert_eq!(response.text().await.unwrap(), "hello 127.0.0.1", "{host}");
    }
    server.stop.send(()).unwrap();
    server.task.await.unwrap().unwrap();
    assert!(
        TcpStream::connect((Ipv4Addr::LOCALHOST, server.port))
            .await
            .is_err(),
        "listener closed"
    );
}

#[tokio::test]
async fn bad_handshakes_do_not_stop_the_server() {
    let dir = TempDir::new();
    let material = TlsMaterial::load_or_create(&dir.0).unwrap();
    let server = serve(&material).await;
    let mut garbage = TcpStream::connect((Ipv4Addr::LOCALHOST, server.port))
        .await
        .unwrap();
    garbage
        .write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    let mut buffer = Vec::new();
    let _ = garbage.read_to_end(&mut buffer).await;
    let silent = TcpStream::connect((Ipv4Addr::LOCALHOST, server.port))
        .await
        .unwrap();

    let response = client(&material)
        .get(format!("https://localhost:{}/", server.port))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    drop(silent);
    server.stop.send(()).unwrap();
    server.task.await.unwrap().unwrap();
}

#[tokio::test]
async fn alpn_negotiates_http2() {
    let dir = TempDir::new();
    let material = TlsMaterial::load_or_create(&dir.0).unwrap();
    let server = serve(&material).await;

    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(first_certificate(
            &std::fs::read_to_string(&material.ca_pem_path).unwrap(),
        ))
        .unwrap();
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec()];
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = TcpStream::connect((Ipv4Addr::LOCALHOST, server.port))
        .await
        .unwrap();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let mut tls = connector.connect(name, tcp).await.unwrap();
    assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));

    // The HTTP/2 preface and an empty SETTINGS frame; the server answers
    // with its own SETTINGS frame (type 4).
    tls.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00")
        .await
        .unwrap();
    let mut frame_header = [0u8; 9];
    tls.read_exact(&mut frame_header).await.unwrap();
    assert_eq!(frame_header[3], 4, "SETTINGS frame");
    drop(tls);
    server.stop.send(()).unwrap();
    server.task.await.unwrap().unwrap();
}

#[tokio::test]
async fn a_renewed_certificate_is_presented_to_new_connections() {
    let first_dir = TempDir::new();
    let first = TlsMaterial::load_or_create(&first_dir.0).unwrap();
    let (config, certificate) = first.renewable_server_config().unwrap();
    let app = axum::Router::new().route("/", get(|| async { "hello" }));
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(serve_tls(
        listener,
        config,
        app,
        ServeLimits::default(),
        async move {
            let _ = stopped.await;
        },
    ));
    let url = format!("https://localhost:{port}/");
    client(&first).get(&url).send().await.unwrap();

    let second_dir = TempDir::new();
    let second = TlsMaterial::load_or_create(&second_dir.0).unwrap();
    certificate.replace(&second).unwrap();
    let response = client(&second).get(&url).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        client(&first).get(&url).send().await.is_err(),
        "the old CA no longer fits"
    );
    stop.send(()).unwrap();
    task.await.unwrap().unwrap();
}

#[test]
fn restarting_reuses_the_ca_and_a_valid_server_certificate() {
    let dir = TempDir::new();
    let first = TlsMaterial::load_or_create(&dir.0).unwrap();
    let ca = std::fs::read(ca_path(&dir.0)).unwrap();
    let second = TlsMaterial::load_or_create(&dir.0).unwrap();
    assert_eq!(std::fs::read(ca_path(&dir.0)).unwrap(), ca);
    assert_eq!(second.cert_chain_pem, first.cert_chain_pem);
    assert_eq!(second.key_pem, first.key_pem);
    assert!(
        first
            .cert_chain_pem
            .ends_with(std::str::from_utf8(&ca).unwrap()),
        "the chain ends with the CA"
    );

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = |name: &str| {
            std::fs::metadata(dir.0.join(TLS_DIR).join(name))
                .unwrap()
                .permissions()
                .mode()
                & 0o777
        };
        assert_eq!(mode(CA_KEY_FILE), 0o600);
        assert_eq!(mode(SERVER_KEY_FILE), 0o600);
        assert_eq!(mode(CA_FILE), 0o644);
    }
}

#[test]
fn a_server_certificate_near_expiry_is_renewed_under_the_same_ca() {
    let dir = TempDir::new();
    let now = now();
    // The CA keeps 34 days, the server certificate has expired.
    let old = TlsMaterial::load_or_create_at(&dir.0, now - 55 * DAY).unwrap();
    let ca = std::fs::read(ca_path(&dir.0)).unwrap();
    let old_expiry = leaf_not_after(&old.cert_chain_pem).unwrap();
    assert!(old_expiry < now, "{old_expiry}");

    let renewed = TlsMaterial::load_or_create_at(&dir.0, now).unwrap();
    assert_ne!(renewed.cert_chain_pem, old.cert_chain_pem);
    assert_ne!(renewed.key_pem, old.key_pem);
    assert_eq!(std::fs::read(ca_path(&dir.0)).unwrap(), ca);
    let expiry = leaf_not_after(&renewed.cert_chain_pem).unwrap();
    assert!(
        (expiry - (now - DAY + LEAF_VALIDITY)).abs() <= DAY,
        "{expiry}"
    );
    assert!(expiry <= certificate_not_after(&ca_certificate(&dir)));
    renewed.server_config().unwrap();
    verify(&ca_certificate(&dir), &renewed, "localhost").unwrap();
}

#[test]
fn a_ca_near_expiry_is_replaced_with_a_new_ca_and_server_certificate() {
    let dir = TempDir::new();
    let now = now();
    // The CA has 24 days left.
    let old = TlsMaterial::load_or_create_at(&dir.0, now - 65 * DAY).unwrap();
    let old_ca = std::fs::read(ca_path(&dir.0)).unwrap();

    let renewed = TlsMaterial::load_or_create_at(&dir.0, now).unwrap();
    let ca = std::fs::read(ca_path(&dir.0)).unwrap();
    assert_ne!(ca, old_ca);
    assert_ne!(renewed.cert_chain_pem, old.cert_chain_pem);
    assert!(
        renewed
            .cert_chain_pem
            .ends_with(std::str::from_utf8(&ca).unwrap())
    );
    let expiry = certificate_not_after(&ca_certificate(&dir));
    assert!(expiry - now > 85 * DAY, "{expiry}");
    verify(&ca_certificate(&dir), &renewed, "localhost").unwrap();
    assert!(
        verify(
            &first_certificate(std::str::from_utf8(&old_ca).unwrap()),
            &renewed,
            "localhost"
        )
        .is_err()
    );
}

#[test]
fn an_unconstrained_ca_from_an_older_version_is_replaced() {
    let dir = TempDir::new();
    let now = now();
    // What earlier versions wrote: a ten-year CA without name
    // constraints, and a one-year server certificate.
    let tls = dir.0.join(TLS_DIR);
    std::fs::create_dir_all(&tls).unwrap();
    let old_key = KeyPair::generate().unwrap();
    let mut old_params = ca_params(now);
    old_params.name_constraints = None;
    set_validity(&mut old_params, now - DAY, now + 3650 * DAY);
    let old_ca = old_params.self_signed(&old_key).unwrap();
    std::fs::write(tls.join(CA_FILE), old_ca.pem()).unwrap();
    std::fs::write(tls.join(CA_KEY_FILE), old_key.serialize_pem()).unwrap();
    let (leaf, leaf_key) = server_certificate(&["localhost"], &Issuer::new(old_params, &old_key));
    std::fs::write(
        tls.join(SERVER_FILE),
        format!("{}{}", leaf.pem(), old_ca.pem()),
    )
    .unwrap();
    std::fs::write(tls.join(SERVER_KEY_FILE), leaf_key.serialize_pem()).unwrap();

    let material = TlsMaterial::load_or_create_at(&dir.0, now).unwrap();
    let ca = ca_certificate(&dir);
    assert_ne!(ca.as_ref(), old_ca.der().as_ref());
    assert!(der::certificate_extension(&ca, der::NAME_CONSTRAINTS).is_some());
    assert!(certificate_not_after(&ca) - now <= CA_VALIDITY);
    assert!(!material.cert_chain_pem.contains(&leaf.pem()));
    verify(&ca, &material, "localhost").unwrap();
}

#[test]
fn the_local_ca_is_name_constrained_to_loopback() {
    let dir = TempDir::new();
    let material = TlsMaterial::load_or_create(&dir.0).unwrap();
    let ca = ca_certificate(&dir);
    let (critical, value) = der::certificate_extension(&ca, der::NAME_CONSTRAINTS)
        .expect("a NameConstraints extension");
    assert!(critical, "RFC 5280 §4.2.1.10: MUST be critical");
    // NameConstraints { permittedSubtrees [0] { dNSName [2] "localhost",
    // iPAddress [7] 127.0.0.0/255.0.0.0, iPAddress [7] ::1/ffff…ffff } },
    // no excludedSubtrees.
    let mut expected = vec![0x30, 0x3f, 0xa0, 0x3d, 0x30, 0x0b, 0x82, 0x09];
    expected.extend_from_slice(b"localhost");
    expected.extend_from_slice(&[0x30, 0x0a, 0x87, 0x08, 127, 0, 0, 0, 255, 0, 0, 0]);
    expected.extend_from_slice(&[0x30, 0x22, 0x87, 0x20]);
    expected.extend_from_slice(&std::net::Ipv6Addr::LOCALHOST.octets());
    expected.extend_from_slice(&[0xff; 16]);
    assert_eq!(value, expected.as_slice());
    let leaf = first_certificate(&material.cert_chain_pem);
    assert_eq!(
        der::certificate_extension(&leaf, der::NAME_CONSTRAINTS),
        None
    );
}

#[test]
fn the_ca_lives_90_days_and_the_server_certificate_30() {
    let dir = TempDir::new();
    let now = now();
    let material = TlsMaterial::load_or_create_at(&dir.0, now).unwrap();
    let ca_expiry = certificate_not_after(&ca_certificate(&dir));
    assert!(
        ca_expiry - now <= 90 * DAY && ca_expiry - now > 88 * DAY,
        "{ca_expiry}"
    );
    let leaf_expiry = leaf_not_after(&material.cert_chain_pem).unwrap();
    assert!(
        leaf_expiry - now <= 30 * DAY && leaf_expiry - now > 28 * DAY,
        "{leaf_expiry}"
    );
}

#[test]
fn webpki_refuses_a_server_certificate_outside_the_constraints() {
    let dir = TempDir::new();
    let material = TlsMaterial::load_or_create(&dir.0).unwrap();
    let ca = ca_certificate(&dir);
    for name in SERVER_NAMES {
        verify(&ca, &material, name).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    let ca_key =
        KeyPair::from_pem(&std::fs::read_to_string(dir.0.join(TLS_DIR).join(CA_KEY_FILE)).unwrap())
            .unwrap();
    let mut unconstrained = ca_params(now());
    unconstrained.name_constraints = None;
    let other_key = KeyPair::generate().unwrap();
    let other_ca = unconstrained.self_signed(&other_key).unwrap();
    for name in ["example.com", "localhost.example.com", "10.0.0.1", "::2"] {
        let (leaf, _) = server_certificate(&[name], &Issuer::new(ca_params(now()), &ca_key));
        let foreign = TlsMaterial {
            ca_pem_path: PathBuf::new(),
            cert_chain_pem: leaf.pem(),
            key_pem: String::new(),
        };
        let error = verify(&ca, &foreign, name).unwrap_err();
        assert!(
            format!("{error:?}").contains("NameConstraintViolation"),
            "{name}: {error:?}"
        );
        // The same certificate from an unconstrained CA passes: the
        // constraints are what refuse it.
        let (leaf, _) =
            server_certificate(&[name], &Issuer::new(unconstrained.clone(), &other_key));
        let plain = TlsMaterial {
            cert_chain_pem: leaf.pem(),
            ..foreign
        };
        verify(other_ca.der(), &plain, name).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

#[test]
fn a_new_ca_gets_a_new_server_certificate() {
    let dir = TempDir::new();
    let first = TlsMaterial::load_or_create(&dir.0).unwrap();
    std::fs::remove_file(dir.0.join(TLS_DIR).join(CA_KEY_FILE)).unwrap();
    let second = TlsMaterial::load_or_create(&dir.0).unwrap();
    assert_ne!(second.cert_chain_pem, first.cert_chain_pem);
}

#[test]
fn bring_your_own_certificate() {
    let dir = TempDir::new();
    TlsMaterial::load_or_create(&dir.0).unwrap();
    let cert = dir.0.join(TLS_DIR).join(SERVER_FILE);
    let key = dir.0.join(TLS_DIR).join(SERVER_KEY_FILE);
    let material = TlsMaterial::from_files(&cert, &key).unwrap();
    assert_eq!(material.ca_pem_path, cert);
    material.server_config().unwrap();
    assert!(!format!("{material:?}").contains("PRIVATE KEY"));

    let error = TlsMaterial::from_files(&key, &key).unwrap_err();
    assert!(
        matches!(
            error,
            TlsError::Pem {
                expected: "a certificate",
                ..
            }
        ),
        "{error}"
    );
    let error = TlsMaterial::from_files(&cert, &cert).unwrap_err();
    assert!(
        matches!(
            error,
            TlsError::Pem {
                expected: "a private key",
                ..
            }
        ),
        "{error}"
    );
    let error = TlsMaterial::from_files(&dir.0.join("absent.pem"), &key).unwrap_err();
    assert!(matches!(error, TlsError::Io { .. }), "{error}");
}

#[test]
fn certificate_expiry_is_read_from_der() {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    // 2049 is the last UTCTime year; 2050 on is GeneralizedTime (RFC 5280).
    for (not_after, year) in [(2_524_608_000, 2050), (1_893_456_000, 2030)] {
        set_validity(&mut params, 1_700_000_000, not_after);
        let der = params.self_signed(&key).unwrap().der().to_vec();
        assert_eq!(der::certificate_not_after(&der), Some(not_after), "{year}");
        for cut in 0..der.len() {
            let _ = der::certificate_not_after(&der[..cut]);
        }
    }
}

#[test]
fn civil_dates_round_trip() {
    assert_eq!(civil_date(0), (1970, 1, 1));
    assert_eq!(civil_date(951_782_400), (2000, 2, 29));
    assert_eq!(civil_date(1_750_000_000), (2025, 6, 15));
    assert_eq!(civil_date(-5), (1970, 1, 1));
    assert_eq!(civil_date(i64::MAX), (9999, 12, 31));
    for day in (0..2_900_000i64).step_by(997) {
        let (year, month, date) = civil_date(day * DAY + 123);
        let civil =
            time::Date::from_calendar_date(year, time::Month::try_from(month).unwrap(), date)
                .unwrap();
        let epoch = time::Date::from_calendar_date(1970, time::Month::January, 1).unwrap();
        assert_eq!(
            i64::from(civil.to_julian_day() - epoch.to_julian_day()),
            day
        );
    }
}

#[test]
fn der_reader_rejects_malformed_input() {
    assert_eq!(der::rsa_public_key(&[]), None);
    assert_eq!(
        der::rsa_public_key(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]),
        None
    );
    assert_eq!(der::rsa_public_key(&[0x30, 0x80]), None);
    assert_eq!(
        der::rsa_public_key(&[0x30, 0x06, 0x02, 0x01, 0x05, 0x02, 0x01, 0x03]),
        Some((&[5u8][..], &[3u8][..]))
    );
    assert_eq!(
        der::rsa_public_key(&[0x30, 0x07, 0x02, 0x02, 0x00, 0x85, 0x02, 0x01, 0x03]),
        Some((&[0x85u8][..], &[3u8][..]))
    );
    assert_eq!(der::certificate_not_after(&[0x30, 0x00]), None);
}
