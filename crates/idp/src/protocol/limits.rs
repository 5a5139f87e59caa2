//! Abuse limits that need no database: fixed-window counters per key
//! (a client and a source address, a source address), bounded in memory.
//!
//! They bound what one source can make the provider do: failed client
//! authentications (each costs an argon2 run), device-code requests (each
//! creates a row). Failed passwords are counted in the store instead (see
//! [`crate::protocol::token::password::sign_in_with_password`]), so that lockouts
//! survive restarts and are shared by replicas.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

/// One limit: at most `max` events per key in a window of `window` seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    /// Events allowed per window.
    pub max: u32,
    /// The window, in seconds.
    pub window: i64,
}

/// Fixed-window counters for one kind of event.
#[derive(Debug)]
pub struct Throttle {
    rate: Rate,
    /// Key → (window start, events in it).
    counters: Mutex<HashMap<String, (i64, u32)>>,
    /// Keys kept at most; when full, expired windows are dropped first and
    /// then new keys share one overflow counter (memory stays bounded).
    capacity: usize,
}

impl Throttle {
    /// A throttle allowing `rate` per key, remembering up to `capacity` keys.
    pub fn new(rate: Rate, capacity: usize) -> Self {
        Self {
            rate,
            counters: Mutex::new(HashMap::new()),
            capacity: capacity.max(1),
        }
    }

    /// Whether `key` is still under its limit at `now` (nothing counted).
    pub fn allows(&self, key: &str, now: i64) -> bool {
        let Ok(counters) = self.counters.lock() else {
            return true;
        };
        match counters.get(key).or_else(|| counters.get(OVERFLOW)) {
            Some((start, count)) if now < start + self.rate.window => *count < self.rate.max,
            _ => true,
        }
    }

    /// Counts one event for `key` at `now`; returns whether it was within
    /// the limit.
    pub fn hit(&self, key: &str, now: i64) -> bool {
        let Ok(mut counters) = self.counters.lock() else {
            return true;
        };
        if !counters.contains_key(key) && counters.len() >= self.capacity {
            let window = self.rate.window;
            counters.retain(|_, (start, _)| now < *start + window);
        }
        let key = if counters.contains_key(key) || counters.len() < self.capacity {
            key
        } else {
            OVERFLOW
        };
        let entry = counters.entry(key.to_owned()).or_insert((now, 0));
        if now >= entry.0 + self.rate.window {
            *entry = (now, 0);
        }
        entry.1 = entry.1.saturating_add(1);
        entry.1 <= self.rate.max
    }
}

const OVERFLOW: &str = "\u{0}overflow";

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
                Rate {
                    max: 10,
                    window: 60,
                },
                10_000,
            ),
            device_codes: Throttle::new(
                Rate {
                    max: 30,
                    window: 60,
                },
                10_000,
            ),
            device_codes_all: Throttle::new(
                Rate {
                    max: 600,
                    window: 60,
                },
                1,
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

    #[test]
    fn counts_per_key_and_window() {
        let t = Throttle::new(Rate { max: 2, window: 60 }, 100);
        assert!(t.allows("a", 0));
        assert!(t.hit("a", 0));
        assert!(t.hit("a", 1));
        assert!(!t.allows("a", 2));
        assert!(!t.hit("a", 2));
        assert!(t.allows("b", 2), "keys are independent");
        assert!(t.allows("a", 60), "a new window starts");
        assert!(t.hit("a", 60));
    }

    #[test]
    fn memory_stays_bounded() {
        let t = Throttle::new(Rate { max: 1, window: 60 }, 3);
        for i in 0..1000 {
            t.hit(&format!("k{i}"), 0);
        }
        assert!(t.counters.lock().unwrap().len() <= 4);
        // Expired windows make room again.
        assert!(t.hit("fresh", 100));
        assert!(t.counters.lock().unwrap().contains_key("fresh"));
    }
}
