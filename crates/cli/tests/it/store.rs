//! `rolegate idp --store`, `--key-encryption-key-file`, `ROLEGATE_KEK`,
//! `gen-kek`, and `rotate-keys` against a PostgreSQL store (a fresh database
//! on the server `ROLEGATE_TEST_POSTGRES` names; see rolegate-testkit).

use std::path::PathBuf;

use base64::Engine as _;
use rolegate_idp::store::Store;
use rolegate_idp::store::key_encryption::KeyEncryptionKey;
use rolegate_idp::store::postgres::{PostgresStore, PostgresUrl};
use rolegate_testkit::postgres::TestDatabase;

use crate::{code, rolegate, rolegate_env, stderr, stdout};

const TENANT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/tenant.toml");

fn temp_dir(prefix: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "{prefix}-{}",
        rolegate_idp::secret::random_token(9)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn gen_kek() -> String {
    let out = rolegate(&["idp", "gen-kek"], None).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    stdout(&out)
}

#[tokio::test]
async fn gen_kek_prints_32_fresh_random_bytes_as_one_line_of_base64() {
    let (one, two) = (gen_kek().await, gen_kek().await);
    for line in [&one, &two] {
        assert!(
            line.ends_with('\n') && line.lines().count() == 1,
            "{line:?}"
        );
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(line.trim_end())
            .unwrap();
        assert_eq!(bytes.len(), 32);
        assert!(KeyEncryptionKey::from_base64(line).is_ok());
    }
    assert_ne!(one, two);
}

/// `rolegate idp` with the example tenant and `extra` arguments.
async fn serve(data: &str, extra: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut args = vec![
        "idp",
        "--config",
        TENANT,
        "--listen",
        "127.0.0.1:0",
        "--data-dir",
        data,
    ];
    args.extend_from_slice(extra);
    rolegate_env(&args, None, env).await
}

#[tokio::test]
async fn a_postgres_store_is_refused_without_a_usable_kek_and_never_shows_the_password() {
    let dir = temp_dir("rolegate-cli-kek");
    let data = dir.join("data").to_string_lossy().into_owned();
    let url = "postgres://rolegate:hunter2@127.0.0.1:1/idp";
    let mut outputs = Vec::new();

    // No KEK at all.
    let out = serve(&data, &["--store", url], &[]).await;
    assert_eq!(code(&out), 2);
    let message = stderr(&out);
    assert!(
        message.contains("a PostgreSQL store needs a key-encryption key")
            && message.contains("--key-encryption-key-file")
            && message.contains("ROLEGATE_KEK"),
        "{message}"
    );
    outputs.push(out);

    // Not base64, or not 32 bytes; from the environment or a file.
    let out = serve(&data, &["--store", url], &[("ROLEGATE_KEK", "not a key")]).await;
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("ROLEGATE_KEK: the key-encryption key is not standard base64"),
        "{}",
        stderr(&out)
    );
    outputs.push(out);
    let short = dir.join("short.kek");
    std::fs::write(
        &short,
        base64::engine::general_purpose::STANDARD.encode([1u8; 16]) + "\n",
    )
    .unwrap();
    let short = short.to_string_lossy().into_owned();
    let out = serve(
        &data,
        &["--store", url, "--key-encryption-key-file", &short],
        &[],
    )
    .await;
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains(&format!(
            "--key-encryption-key-file {short}: the key-encryption key decodes to 16 bytes; it must be 32"
        )),
        "{}",
        stderr(&out)
    );
    outputs.push(out);

    // A good KEK (and ROLEGATE_STORE this time), an unreachable database:
    // named, without the password.
    let kek = gen_kek().await;
    let out = serve(
        &data,
        &[],
        &[("ROLEGATE_STORE", url), ("ROLEGATE_KEK", &kek)],
    )
    .await;
    assert_eq!(code(&out), 2);
    let message = stderr(&out);
    assert!(
        message.contains(
            "cannot connect to the PostgreSQL database postgres://rolegate@127.0.0.1:1/idp"
        ),
        "{message}"
    );
    outputs.push(out);

    // The KEK file is for PostgreSQL only; other schemes are refused.
    let out = serve(&data, &["--key-encryption-key-file", &short], &[]).await;
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("--key-encryption-key-file is for a PostgreSQL store"),
        "{}",
        stderr(&out)
    );
    let out = serve(&data, &["--store", "mysql://u:hunter2@h/db"], &[]).await;
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("--store: the store URL's scheme is \"mysql\""),
        "{}",
        stderr(&out)
    );
    outputs.push(out);
    for out in &outputs {
        assert!(!stderr(out).contains("hunter2") && !stdout(out).contains("hunter2"));
        assert!(!stderr(out).contains(kek.trim()));
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn help_names_the_store_flags_and_never_shows_the_environments_values() {
    let out = rolegate_env(
        &["idp", "--help"],
        None,
        &[
            ("ROLEGATE_STORE", "postgres://rolegate:hunter2@db/idp"),
            ("ROLEGATE_KEK", "c2VjcmV0"),
        ],
    )
    .await;
    assert_eq!(code(&out), 0);
    let help = stdout(&out);
    for expected in [
        "--store <URL>",
        "[env: ROLEGATE_STORE]",
        "[default: sqlite]",
        "--key-encryption-key-file <FILE>",
        "ROLEGATE_KEK holds the key itself",
        "rolegate idp gen-kek",
    ] {
        assert!(help.contains(expected), "{expected:?} in {help}");
    }
    assert!(
        !help.contains("hunter2") && !help.contains("c2VjcmV0"),
        "{help}"
    );
    for command in [
        &["idp", "rotate-keys", "--help"][..],
        &["idp", "gen-kek", "--help"],
    ] {
        let out = rolegate(command, None).await;
        assert_eq!(code(&out), 0);
        assert!(
            stdout(&out).contains("key-encryption key"),
            "{}",
            stdout(&out)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotate_keys_works_against_a_postgres_store() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let dir = temp_dir("rolegate-cli-pg-rotate");
    let kek = gen_kek().await;
    let kek_file = dir.join("kek");
    std::fs::write(&kek_file, &kek).unwrap();
    let data = dir.join("data").to_string_lossy().into_owned();
    let kek_arg = kek_file.to_string_lossy().into_owned();

    for _ in 0..2 {
        let out = rolegate(
            &[
                "idp",
                "rotate-keys",
                "--store",
                db.url(),
                "--key-encryption-key-file",
                &kek_arg,
                "--data-dir",
                &data,
            ],
            None,
        )
        .await;
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        assert!(
            stdout(&out).starts_with("rotated the signing keys:")
                && stdout(&out).contains("  next:     "),
            "{}",
            stdout(&out)
        );
    }
    let url = PostgresUrl::parse(db.url()).unwrap();
    let store = PostgresStore::open(&url, KeyEncryptionKey::from_base64(&kek).unwrap())
        .await
        .unwrap();
    assert_eq!(
        store.keys().await.unwrap().len(),
        4,
        "current and next, then a new next per rotation"
    );
    store.close().await;

    // Another KEK cannot decrypt them: refused, saying so.
    let out = rolegate_env(
        &[
            "idp",
            "rotate-keys",
            "--store",
            db.url(),
            "--data-dir",
            &data,
        ],
        None,
        &[("ROLEGATE_KEK", gen_kek().await.trim())],
    )
    .await;
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("the key-encryption key cannot decrypt the signing keys stored in"),
        "{}",
        stderr(&out)
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rekey_reseals_the_stored_keys_under_a_new_kek() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let dir = temp_dir("rolegate-cli-pg-rekey");
    let data = dir.join("data").to_string_lossy().into_owned();
    let (old, new) = (dir.join("old.kek"), dir.join("new.kek"));
    std::fs::write(&old, gen_kek().await).unwrap();
    std::fs::write(&new, gen_kek().await).unwrap();
    let (old, new) = (
        old.to_string_lossy().into_owned(),
        new.to_string_lossy().into_owned(),
    );
    let rotate = |kek: String| {
        let (url, data) = (db.url().to_owned(), data.clone());
        async move {
            rolegate(
                &[
                    "idp",
                    "rotate-keys",
                    "--store",
                    &url,
                    "--key-encryption-key-file",
                    &kek,
                    "--data-dir",
                    &data,
                ],
                None,
            )
            .await
        }
    };
    // Keys exist under the old KEK.
    let out = rotate(old.clone()).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));

    // A wrong "current" KEK changes nothing.
    let out = rolegate(
        &[
            "idp",
            "rekey",
            "--store",
            db.url(),
            "--key-encryption-key-file",
            &new,
            "--new-key-encryption-key-file",
            &old,
        ],
        None,
    )
    .await;
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("cannot decrypt the signing keys"),
        "{}",
        stderr(&out)
    );

    let out = rolegate(
        &[
            "idp",
            "rekey",
            "--store",
            db.url(),
            "--key-encryption-key-file",
            &old,
            "--new-key-encryption-key-file",
            &new,
        ],
        None,
    )
    .await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stdout(&out).contains("re-sealed 3 signing keys"),
        "{}",
        stdout(&out)
    );
    // The new KEK opens them; the old one no longer does.
    let out = rotate(new.clone()).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let out = rotate(old.clone()).await;
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("cannot decrypt the signing keys"),
        "{}",
        stderr(&out)
    );
    let url = PostgresUrl::parse(db.url()).unwrap();
    let kek = KeyEncryptionKey::from_base64(&std::fs::read_to_string(&new).unwrap()).unwrap();
    let store = PostgresStore::open(&url, kek).await.unwrap();
    assert_eq!(store.keys().await.unwrap().len(), 4);
    store.close().await;

    // SQLite has no KEK to change.
    let out = rolegate(
        &["idp", "rekey", "--new-key-encryption-key-file", &new],
        None,
    )
    .await;
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("rekey is for a PostgreSQL store"),
        "{}",
        stderr(&out)
    );
    std::fs::remove_dir_all(&dir).ok();
}
