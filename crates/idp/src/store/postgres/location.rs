//! Where a PostgreSQL store lives: its URL, shown only without the password.

use std::fmt;
use std::str::FromStr;

use sqlx::postgres::PgConnectOptions;
use url::Url;

/// A `postgres://` (or `postgresql://`) URL, as libpq and sqlx read it:
/// `postgres://USER[:PASS]@HOST[:PORT]/DB[?sslmode=…]`.
///
/// `Display` and `Debug` show it without the password (see
/// [`redacted`](Self::redacted)); only the connection itself sees it.
#[derive(Clone, PartialEq, Eq)]
pub struct PostgresUrl {
    url: Url,
}

/// Why a store URL was refused. The messages never include the URL (it may
/// hold a password).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PostgresUrlError {
    /// Not a URL at all.
    #[error("the store URL is malformed ({reason})")]
    Malformed {
        /// What the URL parser said (never the URL itself).
        reason: url::ParseError,
    },
    /// A URL, but not `postgres://` or `postgresql://`.
    #[error("the store URL's scheme is {found:?}; expected postgres or postgresql")]
    Scheme {
        /// The scheme given.
        found: String,
    },
}

impl PostgresUrl {
    /// Parses a `postgres://` or `postgresql://` URL.
    pub fn parse(text: &str) -> Result<PostgresUrl, PostgresUrlError> {
        let url = Url::parse(text).map_err(|reason| PostgresUrlError::Malformed { reason })?;
        match url.scheme() {
            "postgres" | "postgresql" => Ok(PostgresUrl { url }),
            other => Err(PostgresUrlError::Scheme {
                found: other.to_owned(),
            }),
        }
    }

    /// The URL without its password: the password in the user-info part is
    /// dropped, and `password` and `sslpassword` query parameters read
    /// `[redacted]`. What error messages and logs show.
    pub fn redacted(&self) -> String {
        let mut url = self.url.clone();
        // Only URLs that cannot have a host refuse a password change;
        // postgres:// URLs can.
        let _ = url.set_password(None);
        if let Some(query) = url.query() {
            let pairs: Vec<String> = query
                .split('&')
                .map(|pair| {
                    let key = url::form_urlencoded::parse(pair.as_bytes())
                        .next()
                        .map(|(key, _)| key.into_owned())
                        .unwrap_or_default();
                    if SECRET_PARAMETERS.contains(&key.as_str()) {
                        let raw_key = pair.split('=').next().unwrap_or_default();
                        format!("{raw_key}=[redacted]")
                    } else {
                        pair.to_owned()
                    }
                })
                .collect();
            url.set_query(Some(&pairs.join("&")));
        }
        url.to_string()
    }

    /// The same server and credentials, another database (tests create a
    /// database per test through the server's URL).
    pub fn with_database(&self, database: &str) -> PostgresUrl {
        let mut url = self.url.clone();
        url.set_path(&format!("/{database}"));
        PostgresUrl { url }
    }

    /// sqlx's connection options (they hold the password: never print them).
    pub(crate) fn connect_options(&self) -> Result<PgConnectOptions, sqlx::Error> {
        PgConnectOptions::from_str(self.url.as_str())
    }
}

impl fmt::Display for PostgresUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl fmt::Debug for PostgresUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("PostgresUrl")
            .field(&self.redacted())
            .finish()
    }
}

/// Query parameters that carry secrets (libpq's `password` and
/// `sslpassword`).
const SECRET_PARAMETERS: [&str; 2] = ["password", "sslpassword"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_never_shows() {
        for (given, shown) in [
            (
                "postgres://rolegate:s3cret@db.example:5433/idp",
                "postgres://rolegate@db.example:5433/idp",
            ),
            (
                "postgresql://rolegate:s3cret@db.example/idp?sslmode=verify-full",
                "postgresql://rolegate@db.example/idp?sslmode=verify-full",
            ),
            (
                "postgres://rolegate@127.0.0.1:5432/idp",
                "postgres://rolegate@127.0.0.1:5432/idp",
            ),
            (
                "postgres://db.example/idp?user=rolegate&password=s3cret&sslpassword=s3cret",
                "postgres://db.example/idp?user=rolegate&password=[redacted]&sslpassword=[redacted]",
            ),
            (
                "postgres://:s3cret@db.example/idp",
                "postgres://db.example/idp",
            ),
            (
                "postgres://rolegate:p%40ss%3Aw0rd@%2Frun%2Fpostgresql/idp",
                "postgres://rolegate@%2Frun%2Fpostgresql/idp",
            ),
        ] {
            let url = PostgresUrl::parse(given).unwrap();
            assert_eq!(url.redacted(), shown, "{given}");
            assert_eq!(url.to_string(), shown);
            assert!(!format!("{url:?}").contains("s3cret"));
            assert!(!format!("{url:?}").contains("w0rd"));
        }
    }

    #[test]
    fn only_postgres_urls_are_accepted_and_errors_do_not_echo_them() {
        let err = PostgresUrl::parse("mysql://u:s3cret@h/db").unwrap_err();
        assert_eq!(
            err,
            PostgresUrlError::Scheme {
                found: "mysql".into()
            }
        );
        for malformed in ["s3cret", "postgres://u:s3cret@[::1/db", ""] {
            let err = PostgresUrl::parse(malformed).unwrap_err();
            assert!(
                matches!(err, PostgresUrlError::Malformed { .. }),
                "{malformed}: {err:?}"
            );
            assert!(!err.to_string().contains("s3cret"));
        }
    }

    #[test]
    fn another_database_on_the_same_server() {
        let url = PostgresUrl::parse("postgres://u:pw@127.0.0.1:5432/postgres?sslmode=disable")
            .unwrap()
            .with_database("rolegate_test_1");
        assert_eq!(
            url.redacted(),
            "postgres://u@127.0.0.1:5432/rolegate_test_1?sslmode=disable"
        );
        let options = url.connect_options().unwrap();
        assert_eq!(options.get_database(), Some("rolegate_test_1"));
    }
}
