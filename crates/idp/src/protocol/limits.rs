//! Abuse limits: fixed-window counters per key (a client and a source
//! address, a source address), kept in the store so that replicas sharing
//! one count together and a restart does not reset them.
//!
//! They bound what one source can make the provider do: failed client
//! authentications (each costs an argon2 run), device-code requests (each
//! creates a row). Failed passwords are counted per user in the store as
//! well (see [`crate::protocol::token::password::sign_in_with_password`]).
//!
//! A store failure is returned to the caller, which refuses the request
//! with a server error (fail closed, and saying what failed).

use std::net::IpAddr;

use crate::store::{Store, StoreError};

/// One limit: at most `max` events per key in a window of `window` seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    /// Events allowed per window.
    pub max: u32,
    /// The window, in seconds, from a key's first event.
    pub window: i64,
}

/// Fixed-window counters for one kind of event, in the store.
#[derive(Debug, Clone)]
pub struct Throttle {
    /// Prefixed to every key, so that throttles never share counters.
    name: &'static str,
    rate: Rate,
}

impl Throttle {
    /// A throttle named `name` (unique per provider) allowing `rate` per key.
    pub const fn new(name: &'static str, rate: Rate) -> Self {
        Self { name, rate }
    }

    /// The limit.
    pub fn rate(&self) -> Rate {
        self.rate
    }

    /// Whether `key` is still under its limit at `now` (nothing counted).
    pub async fn allows(&self, store: &dyn Store, key: &str, now: i64) -> Result<bool, StoreError> {
        let count = store
            .throttle_events(&self.key(key), now, self.rate.window.max(1))
            .await?;
        Ok(count < self.rate.max)
    }

    /// Counts one event for `key` at `now`; returns whether it was within
    /// the limit.
    pub async fn hit(&self, store: &dyn Store, key: &str, now: i64) -> Result<bool, StoreError> {
        let count = store
            .count_throttle_event(&self.key(key), now, self.rate.window.max(1))
            .await?;
        Ok(count <= self.rate.max)
    }

    fn key(&self, key: &str) -> String {
        format!("{}|{key}", self.name)
    }
}

/// The provider's throttles.
#[derive(Debug)]
pub struct Limits {
    /// Failed client authentications per client and source address.
    pub client_failures: Throttle,
    /// `/devicecode` requests per source address.
    pub device_codes: Throttle,
    /// `/devicecode` requests from all sources together: each creates a
    /// row, so the table's growth is bounded whatever the addresses.
    pub device_codes_all: Throttle,
}

impl Default for Limits {
    /// 10 failed client authentications a minute per client and source;
    /// 30 device codes a minute per source, 600 a minute in all.
    fn default() -> Self {
        Self {
            client_failures: Throttle::new(
                "client-failures",
                Rate {
                    max: 10,
                    window: 60,
                },
            ),
            device_codes: Throttle::new(
                "device-codes",
                Rate {
                    max: 30,
                    window: 60,
                },
            ),
            device_codes_all: Throttle::new(
                "device-codes-all",
                Rate {
                    max: 600,
                    window: 60,
                },
            ),
        }
    }
}

/// The key of a per-source limit (`-` when the address is unknown).
pub fn source_key(scope: &str, source: Option<IpAddr>) -> String {
    match source {
        Some(ip) => format!("{scope}|{ip}"),
        None => format!("{scope}|-"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::sqlite::SqliteStore;

    #[tokio::test]
    async fn counts_per_key_and_window_in_the_store() {
        let store = SqliteStore::in_memory().await.unwrap();
        let t = Throttle::new("t", Rate { max: 2, window: 60 });
        let other = Throttle::new("u", Rate { max: 2, window: 60 });
        assert!(t.allows(&store, "a", 0).await.unwrap());
        assert!(t.hit(&store, "a", 0).await.unwrap());
        assert!(t.hit(&store, "a", 1).await.unwrap());
        assert!(!t.allows(&store, "a", 2).await.unwrap());
        assert!(!t.hit(&store, "a", 2).await.unwrap());
        assert!(
            t.allows(&store, "b", 2).await.unwrap(),
            "keys are independent"
        );
        assert!(
            other.allows(&store, "a", 2).await.unwrap(),
            "throttles are independent"
        );
        assert!(
            t.allows(&store, "a", 60).await.unwrap(),
            "a new window starts"
        );
        assert!(t.hit(&store, "a", 60).await.unwrap());
    }
}
