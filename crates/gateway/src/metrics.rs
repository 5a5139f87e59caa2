//! Counters and histograms, rendered in the Prometheus text format.
//!
//! Metric names are part of the contract (docs/gateway.md lists them).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use http::StatusCode;
use rolegate_token::Validator;

/// Every metric the gateway exports. Survives configuration reloads.
#[derive(Debug, Default)]
pub struct Metrics {
    /// The counters of allowed requests and upstream responses, per route
    /// pattern: resolved once per configuration, updated without a lock.
    routes: Mutex<HashMap<Arc<str>, Arc<RouteCounters>>>,
    requests: Mutex<HashMap<(Arc<str>, &'static str), u64>>,
    upstream_responses: Mutex<HashMap<(Arc<str>, &'static str), u64>>,
    upstream_errors: Mutex<HashMap<(Arc<str>, &'static str), u64>>,
    overhead: Histogram,
    upstream: Histogram,
    reloads: Mutex<HashMap<&'static str, u64>>,
}

/// The hot counters of one route pattern, kept by [`Metrics`] and held
/// by each configuration's route table (the same counters across reloads).
#[derive(Debug, Default)]
pub struct RouteCounters {
    allowed: AtomicU64,
    /// Upstream responses by status class: 1xx to 5xx.
    classes: [AtomicU64; 5],
}

impl RouteCounters {
    /// One allowed request (`outcome="allowed"`).
    pub fn allowed(&self) {
        self.allowed.fetch_add(1, Ordering::Relaxed);
    }

    fn upstream_response(&self, status: StatusCode) {
        let index = match status.as_u16() {
            200..=299 => 1,
            300..=399 => 2,
            400..=499 => 3,
            500..=599 => 4,
            _ => 0,
        };
        if let Some(class) = self.classes.get(index) {
            class.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// The `class` labels (anything outside 200 to 599 counts as `1xx`).
const CLASSES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];

impl Metrics {
    /// The counters of the route pattern `route`, made on first use.
    pub fn route(&self, route: &Arc<str>) -> Arc<RouteCounters> {
        Arc::clone(lock(&self.routes).entry(Arc::clone(route)).or_default())
    }

    /// An upstream answer counted in `counters` (from [`Metrics::route`])
    /// after `elapsed`.
    pub fn upstream_response_on(
        &self,
        counters: &RouteCounters,
        status: StatusCode,
        elapsed: Duration,
    ) {
        counters.upstream_response(status);
        self.upstream.observe(elapsed);
    }

    /// One decision on `route` (the pattern, or `""` when none matched):
    /// `allowed` or the refusal code.
    pub fn request(&self, route: &Arc<str>, outcome: &'static str) {
        *lock(&self.requests)
            .entry((Arc::clone(route), outcome))
            .or_default() += 1;
    }

    /// An upstream answer on `route` after `elapsed`.
    pub fn upstream_response(&self, route: &Arc<str>, status: StatusCode, elapsed: Duration) {
        let class = match status.as_u16() {
            200..=299 => "2xx",
            300..=399 => "3xx",
            400..=499 => "4xx",
            500..=599 => "5xx",
            _ => "1xx",
        };
        *lock(&self.upstream_responses)
            .entry((Arc::clone(route), class))
            .or_default() += 1;
        self.upstream.observe(elapsed);
    }

    /// An allowed request the upstream did not answer: `kind` is the
    /// code of the 502/504 sent instead.
    pub fn upstream_error(&self, route: &Arc<str>, kind: &'static str) {
        *lock(&self.upstream_errors)
            .entry((Arc::clone(route), kind))
            .or_default() += 1;
    }

    /// Time the gateway spent before forwarding (or refusing) a request.
    pub fn overhead(&self, elapsed: Duration) {
        self.overhead.observe(elapsed);
    }

    /// A reload attempt: `ok` or `invalid`.
    pub fn reload(&self, result: &'static str) {
        *lock(&self.reloads).entry(result).or_default() += 1;
    }

    /// The Prometheus text exposition, with the validator's key and cache
    /// counters.
    pub fn render(&self, validator: &Validator) -> String {
        let mut out = String::new();
        let mut requests = lock(&self.requests).clone();
        let mut upstream_responses = lock(&self.upstream_responses).clone();
        for (route, counters) in lock(&self.routes).iter() {
            let allowed = counters.allowed.load(Ordering::Relaxed);
            if allowed > 0 {
                *requests.entry((Arc::clone(route), "allowed")).or_default() += allowed;
            }
            for (class, count) in CLASSES.iter().zip(&counters.classes) {
                let count = count.load(Ordering::Relaxed);
                if count > 0 {
                    *upstream_responses
                        .entry((Arc::clone(route), class))
                        .or_default() += count;
                }
            }
        }
        counter_family(
            &mut out,
            "rolegate_gateway_requests_total",
            "Requests judged, by route pattern and outcome (allowed or the refusal code).",
            &requests,
            "outcome",
        );
        counter_family(
            &mut out,
            "rolegate_gateway_upstream_responses_total",
            "Upstream responses, by route pattern and status class.",
            &upstream_responses,
            "class",
        );
        counter_family(
            &mut out,
            "rolegate_gateway_upstream_errors_total",
            "Allowed requests the upstream did not answer (502 upstream_unavailable, 504 \
             upstream_timeout).",
            &lock(&self.upstream_errors),
            "code",
        );
        self.overhead.render(
            &mut out,
            "rolegate_gateway_overhead_seconds",
            "Time from a request's arrival to its forwarding or refusal.",
        );
        self.upstream.render(
            &mut out,
            "rolegate_gateway_upstream_seconds",
            "Time from forwarding a request to the upstream's response headers.",
        );
        let keys = validator.key_stats();
        let cache = validator.cache_stats();
        let mut single = |name: &str, kind: &str, help: &str, value: u64| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
            );
        };
        single(
            "rolegate_jwks_fetches_total",
            "counter",
            "Key set fetches from the authority (successful or not).",
            keys.jwks_fetches,
        );
        single(
            "rolegate_jwks_keys",
            "gauge",
            "Signing keys in the validator's current key set.",
            keys.keys,
        );
        single(
            "rolegate_token_cache_hits_total",
            "counter",
            "Tokens answered from the verified-token cache.",
            cache.hits,
        );
        single(
            "rolegate_token_cache_misses_total",
            "counter",
            "Tokens that had to be verified.",
            cache.misses,
        );
        let reloads = lock(&self.reloads);
        let _ = writeln!(
            out,
            "# HELP rolegate_gateway_reloads_total Configuration reloads, by result.\n\
             # TYPE rolegate_gateway_reloads_total counter"
        );
        for result in ["ok", "invalid"] {
            let value = reloads.get(result).copied().unwrap_or(0);
            let _ = writeln!(
                out,
                "rolegate_gateway_reloads_total{{result=\"{result}\"}} {value}"
            );
        }
        out
    }
}

/// A latency histogram with fixed buckets, updated without locks.
#[derive(Debug)]
struct Histogram {
    buckets: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    sum_nanos: AtomicU64,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            buckets: std::array::from_fn(|_| AtomicU64::new(0)),
            count: AtomicU64::new(0),
            sum_nanos: AtomicU64::new(0),
        }
    }
}

impl Histogram {
    fn observe(&self, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        if let Some(index) = BUCKETS.iter().position(|le| seconds <= *le)
            && let Some(bucket) = self.buckets.get(index)
        {
            bucket.fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        let nanos = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        self.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
    }

    fn render(&self, out: &mut String, name: &str, help: &str) {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
        let mut cumulative = 0;
        for (le, bucket) in BUCKETS.iter().zip(&self.buckets) {
            cumulative += bucket.load(Ordering::Relaxed);
            let _ = writeln!(out, "{name}_bucket{{le=\"{le}\"}} {cumulative}");
        }
        let count = self.count.load(Ordering::Relaxed);
        let sum = Duration::from_nanos(self.sum_nanos.load(Ordering::Relaxed)).as_secs_f64();
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {count}");
        let _ = writeln!(out, "{name}_sum {sum}\n{name}_count {count}");
    }
}

fn counter_family(
    out: &mut String,
    name: &str,
    help: &str,
    values: &HashMap<(Arc<str>, &'static str), u64>,
    label: &str,
) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
    let mut rows: Vec<_> = values.iter().collect();
    rows.sort();
    for ((route, value_label), count) in rows {
        let _ = writeln!(
            out,
            "{name}{{route=\"{}\",{label}=\"{value_label}\"}} {count}",
            escape(route)
        );
    }
}

/// A label value (backslash, quote and newline escaped).
fn escape(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Upper bounds of the histogram buckets, in seconds.
const BUCKETS: [f64; 16] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0,
];
