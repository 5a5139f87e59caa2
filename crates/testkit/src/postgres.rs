//! Throw-away PostgreSQL databases: one fresh database per test, on the
//! server `ROLEGATE_TEST_POSTGRES` names, so tests run in parallel.
//!
//! `ROLEGATE_TEST_POSTGRES` is a URL whose user may create databases, e.g.
//! `postgres://rolegate@127.0.0.1:54329/postgres` as
//! `scripts/pg-test-cluster.sh start` prints it (`scripts/test.sh` and
//! `.ci/run` start that cluster and set the variable). Unset, the
//! PostgreSQL tests pass without running and say so on standard error;
//! unset while `CI` is set, they fail: CI must run them.
//!
//! ```no_run
//! # async fn test() {
//! use rolegate_testkit::postgres::TestDatabase;
//!
//! let Some(db) = TestDatabase::create().await else {
//!     return; // skipped, and said so
//! };
//! // … connect to db.url() …
//! drop(db); // DROP DATABASE … WITH (FORCE)
//! # }
//! ```

use sqlx::Connection as _;
use sqlx::postgres::PgConnection;

/// The environment variable naming the test server.
pub const SERVER_VARIABLE: &str = "ROLEGATE_TEST_POSTGRES";

/// A database created for one test, dropped (with any connections still
/// open to it) when this value drops.
#[derive(Debug)]
pub struct TestDatabase {
    server: String,
    name: String,
    url: String,
}

impl TestDatabase {
    /// Creates an empty database with a random name on the test server.
    ///
    /// `None` when `ROLEGATE_TEST_POSTGRES` is unset outside CI (a loud
    /// message on standard error says the test was skipped).
    ///
    /// # Panics
    ///
    /// When the variable is unset while `CI` is set, or the server cannot
    /// create the database.
    pub async fn create() -> Option<TestDatabase> {
        let server = server_url()?;
        let name = format!("rolegate_test_{}", random_hex(8));
        let mut admin = PgConnection::connect(&server)
            .await
            .unwrap_or_else(|e| panic!("cannot connect to {SERVER_VARIABLE}: {e}"));
        sqlx::query(&format!("CREATE DATABASE \"{name}\""))
            .execute(&mut admin)
            .await
            .unwrap_or_else(|e| panic!("cannot create the test database {name}: {e}"));
        let _ = admin.close().await;
        let mut url = url::Url::parse(&server).expect("ROLEGATE_TEST_POSTGRES is a URL");
        url.set_path(&format!("/{name}"));
        Some(TestDatabase {
            server,
            name,
            url: url.into(),
        })
    }

    /// The database's URL (the server's, with this database).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for TestDatabase {
    /// Drops the database from a thread of its own (drop cannot wait for
    /// the server, and may run inside an async runtime).
    fn drop(&mut self) {
        let (server, name) = (self.server.clone(), self.name.clone());
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime to drop the test database");
            runtime.block_on(async {
                let mut admin = PgConnection::connect(&server).await?;
                sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                    .execute(&mut admin)
                    .await?;
                admin.close().await
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("warning: the test database {} was not dropped", self.name);
        }
    }
}

/// The test server's URL from `ROLEGATE_TEST_POSTGRES`.
///
/// `None` when it is unset (or empty) outside CI, after printing a loud
/// message on standard error.
///
/// # Panics
///
/// When it is unset while `CI` is set.
pub fn server_url() -> Option<String> {
    match std::env::var(SERVER_VARIABLE) {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ if std::env::var_os("CI").is_some() => panic!(
            "{SERVER_VARIABLE} is unset but CI is set: the PostgreSQL store tests must run in CI \
             (.ci/run starts a throw-away cluster with scripts/pg-test-cluster.sh and sets it)"
        ),
        _ => {
            eprintln!("{SKIP_MESSAGE}");
            None
        }
    }
}

/// What a skipped PostgreSQL test prints.
pub const SKIP_MESSAGE: &str = "\
************************************************************************
SKIPPED: the PostgreSQL tests did not run: ROLEGATE_TEST_POSTGRES is unset.
Run `bash scripts/test.sh` (it starts a throw-away cluster when initdb is
installed), or start one yourself:
    export ROLEGATE_TEST_POSTGRES=$(scripts/pg-test-cluster.sh start DIR)
************************************************************************";

fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    aws_lc_rs::rand::fill(&mut buf).expect("the OS random source");
    buf.iter().map(|b| format!("{b:02x}")).collect()
}
