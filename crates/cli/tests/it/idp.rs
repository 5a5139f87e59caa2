//! `rolegate token get` and `token check` against the real local identity
//! provider (rolegate-idp over HTTPS with its generated CA).

use std::path::PathBuf;

use rolegate_idp::protocol::Settings;
use rolegate_idp::server::{self, ServerConfig, StoreConfig};

use crate::{code, rolegate, stderr, stdout};

const TID: &str = "7d3e1b5a-2f4c-4e8d-9a6b-0c1d2e3f4a5b";
const API: &str = "8a1f6c2e-4b7d-4e9a-b3c5-6d7e8f9a0b1c";

async fn start_idp() -> (server::Running, tokio::sync::oneshot::Sender<()>) {
    start_idp_with(PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/tenant.toml"
    )))
    .await
}

async fn start_idp_with(tenant: PathBuf) -> (server::Running, tokio::sync::oneshot::Sender<()>) {
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let data_dir = std::env::temp_dir().join(format!(
        "rolegate-cli-idp-{}",
        rolegate_idp::secret::random_token(9)
    ));
    let config = ServerConfig {
        config_path: tenant,
        more_tenants: Vec::new(),
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir,
        store: StoreConfig::Sqlite,
        tls_files: None,
        public_url: None,
        insecure_http: false,
        trusted_proxies: Vec::new(),
        limits: Default::default(),
        settings: Settings::default(),
    };
    let running = server::start(config, async move {
        let _ = rx.await;
    })
    .await
    .unwrap();
    (running, tx)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_credentials_from_the_local_identity_provider() {
    let (idp, _stop) = start_idp().await;
    let authority = format!("{}/{TID}", idp.origin);
    let ca = idp.ca_path.to_string_lossy().into_owned();
    let scope = format!("api://{API}/.default");
    let out = rolegate(
        &[
            "token",
            "get",
            "--authority",
            &authority,
            "--client-credentials",
            "--client-id",
            "7fbf04bb-64db-4661-a8cd-d2d07d250ad8",
            "--client-secret",
            "daemon-secret-8Qx3vT7pLm2Zr9Wc",
            "--scope",
            &scope,
            "--ca-file",
            &ca,
        ],
        None,
    )
    .await;
    assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stderr));
    let token = stdout(&out).trim().to_owned();
    assert_eq!(token.split('.').count(), 3);
    let out = rolegate(
        &[
            "token",
            "check",
            &token,
            "--authority",
            &authority,
            "--audience",
            API,
            "--require-role",
            "Orders.Read",
            "--ca-file",
            &ca,
        ],
        None,
    )
    .await;
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    // A wrong secret: the provider's AADSTS error, exit 1.
    let out = rolegate(
        &[
            "token",
            "get",
            "--authority",
            &authority,
            "--client-credentials",
            "--client-id",
            "7fbf04bb-64db-4661-a8cd-d2d07d250ad8",
            "--client-secret",
            "wrong",
            "--scope",
            &scope,
            "--ca-file",
            &ca,
        ],
        None,
    )
    .await;
    assert_eq!(code(&out), 1);
    assert!(String::from_utf8_lossy(&out.stderr).contains("AADSTS7000215"));
}

/// The example tenant plus a daemon that authenticates with a certificate
/// (generated here, registered by file): the daemon's id, the tenant file,
/// a PEM with the certificate and its key, and the certificate alone.
fn certificate_tenant(dir: &std::path::Path) -> (&'static str, PathBuf, PathBuf, PathBuf) {
    const CERT_DAEMON: &str = "0b1c2d3e-4f5a-4b6c-8d7e-8f9a0b1c2d3e";
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).unwrap();
    let cert = rcgen::CertificateParams::new(vec!["cert daemon".to_owned()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    std::fs::create_dir_all(dir).unwrap();
    let (both, only) = (dir.join("daemon.pem"), dir.join("daemon-cert.pem"));
    std::fs::write(&both, format!("{}{}", cert.pem(), key.serialize_pem())).unwrap();
    std::fs::write(&only, cert.pem()).unwrap();
    std::fs::write(dir.join("daemon-key.pem"), key.serialize_pem()).unwrap();
    let example = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/tenant.toml"
    ))
    .unwrap();
    let tenant = dir.join("tenant.toml");
    std::fs::write(
        &tenant,
        format!(
            r#"{example}
[[applications]]
display_name = "Certificate daemon"
app_id = "{CERT_DAEMON}"
key_credentials = [{{ certificate = "daemon-cert.pem" }}]

[[app_role_assignments]]
principal = "{CERT_DAEMON}"
resource = "api://{API}"
role = "Orders.Read"
"#
        ),
    )
    .unwrap();
    (CERT_DAEMON, tenant, both, only)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_certificate_from_the_local_identity_provider() {
    let dir = std::env::temp_dir().join(format!(
        "rolegate-cli-cert-{}",
        rolegate_idp::secret::random_token(9)
    ));
    let (daemon, tenant, both, only) = certificate_tenant(&dir);
    let (idp, _stop) = start_idp_with(tenant).await;
    let authority = format!("{}/{TID}", idp.origin);
    let ca = idp.ca_path.to_string_lossy().into_owned();
    let scope = format!("api://{API}/.default");
    let get = |certificate: &std::path::Path, extra: &[&str]| {
        let mut args: Vec<String> = [
            "token",
            "get",
            "--authority",
            &authority,
            "--client-credentials",
            "--client-id",
            daemon,
            "--client-certificate",
            certificate.to_str().unwrap(),
            "--scope",
            &scope,
            "--ca-file",
            &ca,
            "--json",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        args.extend(extra.iter().map(|s| (*s).to_owned()));
        async move {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            rolegate(&args, None).await
        }
    };
    // Certificate and key in one file; then in two.
    for out in [
        get(&both, &[]).await,
        get(
            &only,
            &["--client-key", dir.join("daemon-key.pem").to_str().unwrap()],
        )
        .await,
    ] {
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        let response: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
        let token = response["access_token"].as_str().unwrap();
        let payload = token.split('.').nth(1).unwrap();
        use base64::Engine as _;
        let claims: serde_json::Value = serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(payload)
                .unwrap(),
        )
        .unwrap();
        assert_eq!(claims["azp"], daemon);
        assert_eq!(claims["azpacr"], "2", "authenticated with a certificate");
        assert_eq!(claims["roles"], serde_json::json!(["Orders.Read"]));
    }
    // A certificate the app does not have: the provider's AADSTS700027 and the fix.
    let stranger = certificate_tenant(&dir.join("stranger")).2;
    let out = get(&stranger, &[]).await;
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("AADSTS700027") && err.contains("fix: the certificate is not registered"),
        "{err}"
    );
    // The certificate without its key.
    let out = get(&only, &[]).await;
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("--client-key"), "{}", stderr(&out));
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotate_keys_refuses_a_publish_lead_shorter_than_the_refetch_window_unless_forced() {
    use rolegate_idp::store::sqlite::SqliteStore;

    let data_dir = std::env::temp_dir().join(format!(
        "rolegate-cli-rotate-{}",
        rolegate_idp::secret::random_token(9)
    ));
    std::fs::create_dir_all(&data_dir).unwrap();
    drop(
        SqliteStore::open(&data_dir.join(server::DATABASE))
            .await
            .unwrap(),
    );
    let dir = data_dir.to_string_lossy().into_owned();

    let out = rolegate(
        &[
            "idp",
            "rotate-keys",
            "--data-dir",
            &dir,
            "--publish-lead",
            "0",
        ],
        None,
    )
    .await;
    assert_eq!(code(&out), 2, "{}", stdout(&out));
    let message = stderr(&out);
    assert!(
        message.contains(
            "publish lead 0s is shorter than the validators' unknown-kid refetch window (300s)"
        ) && message.contains("--publish-lead 300")
            && message.contains("--force"),
        "{message}"
    );
    assert!(stdout(&out).is_empty(), "nothing rotated");

    let out = rolegate(
        &[
            "idp",
            "rotate-keys",
            "--data-dir",
            &dir,
            "--publish-lead",
            "0",
            "--force",
        ],
        None,
    )
    .await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stdout(&out).starts_with("rotated the signing keys:"),
        "{}",
        stdout(&out)
    );

    // The default lead is the window; a rotation right after the forced
    // one is accepted and scheduled later.
    let out = rolegate(&["idp", "rotate-keys", "--data-dir", &dir], None).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));

    let out = rolegate(&["idp", "rotate-keys", "--help"], None).await;
    assert_eq!(code(&out), 0);
    let help = stdout(&out);
    assert!(
        help.contains("--force") && help.contains("refetches the JWKS") && help.contains("330"),
        "{help}"
    );
}

/// `rolegate idp export` prints the stored directory as a tenant file that
/// loads back to the same directory, with hashes instead of secrets.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_writes_the_stored_directory_as_a_tenant_file() {
    let (idp, stop) = start_idp().await;
    let data_dir = idp
        .ca_path
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .to_path_buf();
    let original = idp.provider.tenants();
    let original = original.default_tenant();
    let out = rolegate(
        &["idp", "export", "--data-dir", data_dir.to_str().unwrap()],
        None,
    )
    .await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    for plain in ["alice-Passw0rd", "daemon-secret-8Qx3vT7pLm2Zr9Wc"] {
        assert!(!text.contains(plain), "{plain} in the export");
    }
    assert!(text.contains("password_hash = \"$argon2id$"), "{text}");
    let file = data_dir.join("exported.toml");
    std::fs::write(&file, &text).unwrap();
    let loaded = rolegate_idp::directory::config::load(&file).unwrap();
    assert_eq!(loaded.tenant, original.tenant);
    assert_eq!(loaded.users, original.users);
    assert_eq!(loaded.groups, original.groups);
    assert_eq!(loaded.role_assignments, original.role_assignments);
    assert_eq!(loaded.admin_consents, original.admin_consents);
    assert_eq!(
        loaded
            .applications
            .iter()
            .map(|a| (&a.app_id, &a.secrets))
            .collect::<Vec<_>>(),
        original
            .applications
            .iter()
            .map(|a| (&a.app_id, &a.secrets))
            .collect::<Vec<_>>()
    );
    drop(stop);
    // Without data: a clear refusal.
    let out = rolegate(
        &["idp", "export", "--data-dir", "/nonexistent/rolegate"],
        None,
    )
    .await;
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("give --tenant"), "{}", stderr(&out));
}

/// SIGTERM (container runtimes, systemd) stops `rolegate idp` cleanly: exit
/// code 0 once requests in progress have finished.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_the_provider_cleanly() {
    use tokio::io::AsyncBufReadExt as _;
    let data = std::env::temp_dir().join(format!(
        "rolegate-cli-sigterm-{}",
        rolegate_idp::secret::random_token(9)
    ));
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_rolegate"))
        .args(["idp", "--config"])
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../examples/tenant.toml"
        ))
        .args(["--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&data)
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let ready = tokio::time::timeout(std::time::Duration::from_secs(60), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if line.contains("stops it") {
                return true;
            }
        }
        false
    })
    .await
    .unwrap();
    assert!(ready, "the provider did not start");
    let pid = child.id().unwrap().to_string();
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = tokio::time::timeout(std::time::Duration::from_secs(20), child.wait())
        .await
        .expect("stopped within 20 s")
        .unwrap();
    assert_eq!(exit.code(), Some(0));
    let _ = std::fs::remove_dir_all(&data);
}
