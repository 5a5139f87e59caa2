//! `rolegate idp`: run the local Entra-compatible identity provider, print
//! its CA path, rotate its signing keys, make a key-encryption key.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use rolegate_idp::keys::{
    self, PUBLICATION_BEFORE_SIGNING, RELOAD_INTERVAL, SigningKeys, VALIDATOR_REFETCH_WINDOW,
};
use rolegate_idp::protocol::Settings;
use rolegate_idp::server::{self, PublicUrl, ServerConfig, StoreConfig};
use rolegate_idp::store::key_encryption::{KeyEncryptionKey, generate_key_encryption_key};
use rolegate_idp::store::postgres::{PostgresStore, PostgresUrl};
use rolegate_token::clock::{Clock, SystemClock};

use crate::exit::{Failure, Outcome, emit};

/// Arguments of `rolegate idp`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, after_help = IDP_HELP)]
pub struct IdpArgs {
    #[command(subcommand)]
    command: Option<IdpCommand>,

    /// The tenant file (TOML): users, groups, app registrations, app roles,
    /// scopes, role assignments and consents. See examples/tenant.toml.
    /// Repeat it to serve several tenants at once (multi-tenant apps, the
    /// `organizations`/`common` authorities); the first is the default.
    #[arg(long, value_name = "FILE", required = false)]
    config: Vec<PathBuf>,

    /// Address to listen on (loopback by default).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8443")]
    listen: SocketAddr,

    #[command(flatten)]
    data: DataDir,

    #[command(flatten)]
    store: StoreArgs,

    /// Serve this certificate chain (PEM) instead of the generated one.
    #[arg(long, value_name = "PEM", requires = "tls_key")]
    tls_cert: Option<PathBuf>,

    /// The private key (PEM) of --tls-cert.
    #[arg(long, value_name = "PEM", requires = "tls_cert")]
    tls_key: Option<PathBuf>,

    /// The origin clients reach the provider at, when that is not this
    /// listener: replicas behind a load balancer all give the balancer's
    /// `https://host[:port]`, so that every replica names the same issuer
    /// and endpoints whatever `Host` a request carries.
    #[arg(long, value_name = "URL", value_parser = parse_public_url)]
    public_url: Option<PublicUrl>,

    /// Serve plain HTTP, for a balancer that terminates TLS in front of the
    /// provider; needs --public-url https://... (issuers stay https).
    /// Tokens and session cookies cross the network in the clear between
    /// the balancer and the provider: listen where only the balancer
    /// reaches.
    #[arg(long, requires = "public_url", conflicts_with_all = ["tls_cert", "tls_key"])]
    insecure_http: bool,

    /// With --insecure-http: a balancer's address or network (repeatable;
    /// e.g. 10.0.0.7 or 10.42.0.0/16 for an ingress controller's pods) whose
    /// X-Forwarded-For is believed; its last entry is then the client
    /// address that per-source limits count against.
    #[arg(long, value_name = "IP[/PREFIX]", requires = "insecure_http")]
    trusted_proxy: Vec<rolegate_idp::tls::Network>,

    /// Access-token lifetime in seconds (expires_in).
    #[arg(long, value_name = "SECS", default_value_t = 3599)]
    access_token_lifetime: i64,
}

#[derive(Debug, Clone, Args)]
struct DataDir {
    /// Where the TLS material is kept, and with the SQLite store the
    /// database (sessions, tokens, signing keys).
    #[arg(long, value_name = "DIR", default_value = "rolegate-data")]
    data_dir: PathBuf,
}

#[derive(Debug, Clone, Args)]
struct StoreArgs {
    /// Where sessions, codes, refresh tokens, consents, device codes,
    /// sign-in failures and signing keys live: `sqlite` (a database file in
    /// --data-dir, for one process) or `postgres://USER[:PASS]@HOST[:PORT]/DB`
    /// (shared by any number of replicas; needs a key-encryption key).
    #[arg(
        long,
        value_name = "URL",
        env = "ROLEGATE_STORE",
        hide_env_values = true,
        default_value = "sqlite"
    )]
    store: String,

    /// With a PostgreSQL store: the file holding the key-encryption key that
    /// seals the signing keys (32 bytes as one line of standard base64, from
    /// `rolegate idp gen-kek`). Without it, ROLEGATE_KEK holds the key itself.
    #[arg(long, value_name = "FILE")]
    key_encryption_key_file: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
enum IdpCommand {
    /// Print the local CA certificate's path (for NODE_EXTRA_CA_CERTS,
    /// REQUESTS_CA_BUNDLE, a browser's trust store...).
    CaPath(DataDir),
    /// Print a fresh key-encryption key for a PostgreSQL store: 32 random
    /// bytes from the OS, as one line of standard base64. Keep it in a file
    /// for --key-encryption-key-file (or in ROLEGATE_KEK), never in the
    /// database; every replica needs the same one.
    GenKek,
    /// Print the directory the store holds (the tenant file's objects and
    /// what Microsoft Graph changed) as a tenant file (TOML) on standard
    /// output; secrets and passwords appear as argon2 hashes.
    Export {
        #[command(flatten)]
        data: DataDir,
        #[command(flatten)]
        store: StoreArgs,
        /// The tenant id (default: the provider's default tenant, from the
        /// record in --data-dir).
        #[arg(long, value_name = "ID")]
        tenant: Option<String>,
    },
    /// Re-seal the signing keys stored in a PostgreSQL store under a new
    /// key-encryption key (a KEK change): every key is opened with the
    /// current KEK (--key-encryption-key-file or ROLEGATE_KEK) and sealed
    /// under the new one, in one transaction. Then restart every replica
    /// with the new KEK.
    #[command(after_help = REKEY_HELP)]
    Rekey {
        #[command(flatten)]
        store: StoreArgs,
        /// The file holding the new key-encryption key (from
        /// `rolegate idp gen-kek`).
        #[arg(long, value_name = "FILE")]
        new_key_encryption_key_file: PathBuf,
    },
    /// Rotate the signing keys: the published next key starts signing after
    /// --publish-lead seconds, and never before it has been published for
    /// 330 seconds; the current key retires then and stays in the JWKS until
    /// its last token expires.
    #[command(after_help = ROTATE_HELP)]
    RotateKeys {
        #[command(flatten)]
        data: DataDir,
        #[command(flatten)]
        store: StoreArgs,
        /// Seconds from now before the next key starts signing; at least
        /// 300 (the validators' refetch window) unless --force.
        #[arg(long, value_name = "SECS", default_value_t = VALIDATOR_REFETCH_WINDOW)]
        publish_lead: i64,
        /// Accept a --publish-lead shorter than 300 seconds (the switch still
        /// waits until the next key has been published for 330 seconds).
        #[arg(long)]
        force: bool,
    },
}

const ROTATE_HELP: &str = "\
Why the lead: an API's validator (rolegate-token, Microsoft.IdentityModel)
refetches the JWKS for a token naming an unknown kid at most once per 300
seconds. A key that signs sooner than that after it appears in the JWKS can be
refused by every API that refetched just before, for up to 300 seconds. So a
key signs only after it has existed for 330 seconds (the window plus the 30
seconds within which a running provider reloads its keys; SIGHUP reloads at
once), and two rotations back to back take that long. The lead of at least 300
seconds also covers a provider that was stopped when the next key was made.

Exit codes:
  0  rotated (the schedule is printed)
  2  usage error: no provider data, a store that cannot be opened (unreachable, or a
     key-encryption key that is missing or cannot decrypt its keys), or
     --publish-lead under 300 without --force";

const REKEY_HELP: &str = "\
Procedure: `rolegate idp gen-kek > new.kek`, then `rolegate idp rekey --store … \
--key-encryption-key-file old.kek --new-key-encryption-key-file new.kek`, then restart every
replica with new.kek (a rolling restart). Replicas still on the old KEK keep signing with the
keys they loaded but cannot load keys again, so do not rotate keys until every replica runs
with the new KEK. Keep the old KEK until then, and for restoring backups taken before.

Exit codes:
  0  re-sealed (the count is printed)
  2  usage error: not a PostgreSQL store, a KEK missing or malformed, or the current KEK cannot
     open the stored keys (nothing changed)";

const IDP_HELP: &str = "\
Endpoints (tenant = tenant id or domain): /{tenant}/v2.0/.well-known/openid-configuration,
/{tenant}/discovery/v2.0/keys, /{tenant}/oauth2/v2.0/{authorize,token,devicecode,logout}.
Clients trust the local CA: NODE_EXTRA_CA_CERTS=$(rolegate idp ca-path).
SIGHUP reloads the tenant file without dropping sessions.

Storage: --store sqlite (the default) keeps everything in --data-dir. With
--store postgres://USER[:PASS]@HOST[:PORT]/DB (or ROLEGATE_STORE) replicas share
one database; the signing keys are stored sealed (AES-256-GCM) under the
key-encryption key from --key-encryption-key-file or ROLEGATE_KEK, which must be
the same on every replica (`rolegate idp gen-kek` makes one). A KEK that cannot
decrypt the stored keys stops the start-up. A rotation (`rolegate idp rotate-keys
--store …`) reaches every replica at once (LISTEN/NOTIFY; polled every 30 s too).

Behind a load balancer every replica gives --public-url https://<balancer origin>
(the issuer and endpoints then name it whatever Host a request carries); with a
balancer that terminates TLS, add --insecure-http (plain HTTP on --listen) and
--trusted-proxy <balancer IP> so that per-source limits count the client it names
in X-Forwarded-For. See docs/deploy.md.

Exit codes:
  0  stopped cleanly (Ctrl-C or SIGTERM: requests in progress finish)
  2  the tenant file is invalid (every problem is listed), or the server could not start";

/// Runs `rolegate idp`.
pub fn run(args: IdpArgs) -> Result<Outcome, Failure> {
    match args.command {
        Some(IdpCommand::CaPath(data)) => {
            let path = server::ca_path(&data.data_dir);
            if !path.exists() {
                return Err(Failure::Usage(format!(
                    "no CA in {}: start the identity provider once with --data-dir {} to create it",
                    data.data_dir.display(),
                    data.data_dir.display()
                )));
            }
            let absolute = std::fs::canonicalize(&path).unwrap_or(path);
            println!("{}", absolute.display());
            Ok(Outcome::Passed)
        }
        Some(IdpCommand::GenKek) => {
            let line = generate_key_encryption_key().map_err(|e| {
                Failure::Unavailable(format!("cannot make a key-encryption key: {e}"))
            })?;
            emit(&format!("{line}\n"))?;
            Ok(Outcome::Passed)
        }
        Some(IdpCommand::Export {
            data,
            store,
            tenant,
        }) => {
            let store = store_config(&store)?;
            runtime()?.block_on(export(data, store, tenant))
        }
        Some(IdpCommand::Rekey {
            store,
            new_key_encryption_key_file,
        }) => {
            let current = store_config(&store)?;
            let new = key_encryption_key(Some(&new_key_encryption_key_file))?;
            runtime()?.block_on(rekey(current, new))
        }
        Some(IdpCommand::RotateKeys {
            data,
            store,
            publish_lead,
            force,
        }) => {
            if !force && let Err(e) = keys::check_publish_lead(publish_lead) {
                return Err(Failure::Usage(format!(
                    "{e}: APIs that refetched their keys in the last {VALIDATOR_REFETCH_WINDOW} seconds \
                     could refuse the new key's tokens; give --publish-lead {VALIDATOR_REFETCH_WINDOW} \
                     (the default) or more, or add --force to switch as soon as the next key has been \
                     published for {PUBLICATION_BEFORE_SIGNING} seconds"
                )));
            }
            let store = store_config(&store)?;
            runtime()?.block_on(rotate(data, store, publish_lead))
        }
        None => runtime()?.block_on(serve(args)),
    }
}

async fn serve(args: IdpArgs) -> Result<Outcome, Failure> {
    // SIGTERM (a container runtime, systemd) stops as Ctrl-C does: requests
    // in progress finish. Listening starts before anything is printed, so a
    // SIGTERM sent once the provider says it runs is always handled.
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|e| Failure::Usage(format!("cannot listen for SIGTERM: {e}")))?;
    let mut files = args.config.into_iter();
    let config_path = files.next().ok_or_else(|| {
        Failure::Usage(
            "give the tenant file: rolegate idp --config <tenant.toml> (see examples/tenant.toml)"
                .to_owned(),
        )
    })?;
    let insecure_http = args.insecure_http;
    let config = ServerConfig {
        config_path,
        more_tenants: files.collect(),
        listen: args.listen,
        data_dir: args.data.data_dir.clone(),
        store: store_config(&args.store)?,
        tls_files: args.tls_cert.zip(args.tls_key),
        public_url: args.public_url,
        insecure_http: args.insecure_http,
        trusted_proxies: args.trusted_proxy,
        limits: Default::default(),
        settings: Settings {
            access_token_lifetime: args.access_token_lifetime,
            ..Settings::default()
        },
    };
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let running = server::start(config, async move {
        let _ = stop_rx.await;
    })
    .await
    .map_err(|e| Failure::Usage(e.to_string()))?;
    let tenants = running.provider.tenants();
    for (i, dir) in tenants.iter().enumerate() {
        let authority = format!("{}/{}", running.origin, dir.tenant.id);
        eprintln!(
            "rolegate identity provider for {} ({}){}",
            dir.tenant.domain,
            dir.tenant.id,
            if i == 0 { "" } else { " (another tenant)" }
        );
        eprintln!("  authority:  {authority}");
        eprintln!("  discovery:  {authority}/v2.0/.well-known/openid-configuration");
        eprintln!("  portal:     {authority}/portal/  (users with a directory role)");
        eprintln!(
            "  users:      {}",
            dir.users
                .iter()
                .map(|u| u.user_principal_name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
        eprintln!(
            "  apps:       {}",
            dir.applications
                .iter()
                .filter(|a| !a.first_party && (!a.is_foreign(&dir.tenant.id) || a.provisioned))
                .map(|a| if a.is_foreign(&dir.tenant.id) {
                    format!(
                        "{} ({}, installed from another tenant)",
                        a.display_name, a.app_id
                    )
                } else {
                    format!("{} ({})", a.display_name, a.app_id)
                })
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    if tenants.iter().count() > 1 {
        eprintln!(
            "  multi-tenant authorities: {0}/organizations, {0}/common",
            running.origin
        );
    }
    if insecure_http {
        eprintln!(
            "  serving plain HTTP on {} for the balancer at {}",
            running.addr, running.origin
        );
    } else {
        eprintln!(
            "  local CA:   {}  (export NODE_EXTRA_CA_CERTS=… / REQUESTS_CA_BUNDLE=…)",
            running.ca_path.display()
        );
    }
    eprintln!("Ctrl-C (or SIGTERM) stops it.");
    drop(tenants);
    let mut task = running.task;
    tokio::select! {
        _ = async {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = terminate.recv() => {}
            }
        } => {
            eprintln!("stopping");
            let _ = stop_tx.send(());
            let _ = task.await;
            Ok(Outcome::Passed)
        }
        result = &mut task => match result {
            Ok(Ok(())) => Ok(Outcome::Passed),
            Ok(Err(e)) => Err(Failure::Unavailable(e.to_string())),
            Err(e) => Err(Failure::Unavailable(format!("the server task failed: {e}"))),
        },
    }
}

async fn rotate(data: DataDir, store: StoreConfig, publish_lead: i64) -> Result<Outcome, Failure> {
    if matches!(store, StoreConfig::Sqlite) && !data.data_dir.join(server::DATABASE).exists() {
        return Err(Failure::Usage(format!(
            "no identity provider data in {}",
            data.data_dir.display()
        )));
    }
    let store = server::open_store_for_tool(&store, &data.data_dir)
        .await
        .map_err(|e| Failure::Usage(e.to_string()))?;
    let now = SystemClock.now();
    let keys = SigningKeys::load_or_create(store, now)
        .await
        .map_err(|e| Failure::Usage(e.to_string()))?;
    let report = keys
        .rotate(now, publish_lead, 24 * 3600)
        .await
        .map_err(|e| Failure::Usage(e.to_string()))?;
    println!(
        "rotated the signing keys:\n  retired:  {} (signs until {}, stays published until {})\n  promoted: {} (signs from {})\n  next:     {} (published now)",
        report.retired_kid,
        crate::time::utc(report.switch_at),
        crate::time::utc(report.unpublish_at),
        report.promoted_kid,
        crate::time::utc(report.switch_at),
        report.next_kid,
    );
    eprintln!(
        "running identity providers pick the new keys up at once on a PostgreSQL store (LISTEN/NOTIFY), \
         otherwise within {RELOAD_INTERVAL} seconds or at once on SIGHUP"
    );
    Ok(Outcome::Passed)
}

fn parse_public_url(text: &str) -> Result<PublicUrl, String> {
    PublicUrl::parse(text)
}

async fn export(
    data: DataDir,
    store: StoreConfig,
    tenant: Option<String>,
) -> Result<Outcome, Failure> {
    let tenant = match tenant {
        Some(tenant) => tenant.to_ascii_lowercase(),
        None => {
            let record = std::fs::read_to_string(data.data_dir.join(server::RECORD))
                .ok()
                .and_then(|text| serde_json::from_str::<server::ProviderRecord>(&text).ok())
                .ok_or_else(|| {
                    Failure::Usage(format!(
                        "no provider record in {}: give --tenant <tenant id>",
                        data.data_dir.display()
                    ))
                })?;
            record.tenant_id
        }
    };
    if matches!(store, StoreConfig::Sqlite) && !data.data_dir.join(server::DATABASE).exists() {
        return Err(Failure::Usage(format!(
            "no identity provider data in {}",
            data.data_dir.display()
        )));
    }
    let store = server::open_store_for_tool(&store, &data.data_dir)
        .await
        .map_err(|e| Failure::Usage(e.to_string()))?;
    let toml = rolegate_idp::directory::persist::export(store.as_ref(), &tenant)
        .await
        .map_err(|e| Failure::Usage(e.to_string()))?;
    emit(&toml)?;
    Ok(Outcome::Passed)
}

async fn rekey(store: StoreConfig, new: KeyEncryptionKey) -> Result<Outcome, Failure> {
    let StoreConfig::Postgres { url, kek } = store else {
        return Err(Failure::Usage(
            "rekey is for a PostgreSQL store (--store postgres://…): a SQLite store keeps its keys \
             in the data folder without a key-encryption key"
                .to_owned(),
        ));
    };
    let store = PostgresStore::open_existing(&url, kek)
        .await
        .map_err(|e| Failure::Usage(e.to_string()))?;
    let count = store
        .reseal_keys(&new)
        .await
        .map_err(|e| Failure::Usage(e.to_string()));
    store.close().await;
    let count = count?;
    println!("re-sealed {count} signing keys under the new key-encryption key");
    eprintln!(
        "restart every replica with the new key-encryption key; do not rotate keys until all run with it"
    );
    Ok(Outcome::Passed)
}

/// The store `--store` names: `sqlite` (or empty), or a PostgreSQL URL with
/// the key-encryption key from `--key-encryption-key-file` or `ROLEGATE_KEK`.
fn store_config(args: &StoreArgs) -> Result<StoreConfig, Failure> {
    store_config_from(&args.store, args.key_encryption_key_file.as_deref())
}

/// [`store_config`] for commands that take the same two flags.
pub(crate) fn store_config_from(
    store: &str,
    key_encryption_key_file: Option<&Path>,
) -> Result<StoreConfig, Failure> {
    if store.is_empty() || store == "sqlite" {
        if key_encryption_key_file.is_some() {
            return Err(Failure::Usage(
                "--key-encryption-key-file is for a PostgreSQL store (--store postgres://...); the \
                 SQLite store keeps its signing keys in the data folder, readable by its owner only"
                    .to_owned(),
            ));
        }
        return Ok(StoreConfig::Sqlite);
    }
    let url = PostgresUrl::parse(store).map_err(|e| {
        Failure::Usage(format!(
            "--store: {e}; give sqlite or postgres://USER[:PASS]@HOST[:PORT]/DB"
        ))
    })?;
    let kek = key_encryption_key(key_encryption_key_file)?;
    Ok(StoreConfig::Postgres { url, kek })
}

/// The KEK from `file` or else `ROLEGATE_KEK`. Messages name where it came
/// from, never what it holds.
fn key_encryption_key(file: Option<&Path>) -> Result<KeyEncryptionKey, Failure> {
    let (text, source) = match file {
        Some(path) => (
            std::fs::read_to_string(path).map_err(|e| {
                Failure::Usage(format!(
                    "cannot read the key-encryption key file {}: {e}",
                    path.display()
                ))
            })?,
            format!("--key-encryption-key-file {}", path.display()),
        ),
        None => match std::env::var(KEK_VARIABLE) {
            Ok(text) => (text, KEK_VARIABLE.to_owned()),
            Err(_) => {
                return Err(Failure::Usage(format!(
                    "a PostgreSQL store needs a key-encryption key: give --key-encryption-key-file FILE \
                     or set {KEK_VARIABLE} (`rolegate idp gen-kek` makes one; every replica needs the same)"
                )));
            }
        },
    };
    KeyEncryptionKey::from_base64(&text).map_err(|e| Failure::Usage(format!("{source}: {e}")))
}

/// The environment variable that may hold the key-encryption key itself.
const KEK_VARIABLE: &str = "ROLEGATE_KEK";

fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::Usage(format!("cannot start the async runtime: {e}")))
}
