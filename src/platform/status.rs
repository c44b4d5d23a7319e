//! What `GET /status` on the admin listener reports (docs/operations.md, "Status
//! API"), and the per-second samples behind its rates and latencies.
//!
//! Everything here is this process's memory: the HTTP middleware records each request
//! in [`Traffic`] (three counters and a latency histogram, all atomics), and a sampler
//! task turns the counters into one [`Sample`] a second, kept in a short ring. A client
//! (`jobber top`, a script) reads the ring and the totals; nothing parses the Prometheus
//! text. It never reads the database: the caller adds the queues, the pool and the
//! business figures.
//!
//! The types are shared by the server and `jobber top`, so they deserialize too; every
//! field has a default so that an older client reads a newer server.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// How many per-second samples are kept: two minutes, the width of a wide terminal's
/// sparkline.
pub const RING: usize = 120;
/// The window of the headline rates and latencies, in samples (seconds).
pub const WINDOW: usize = 10;

/// Sub-buckets per power of two in the latency histogram: relative error under 7 %.
const SUB: u32 = 8;
/// Microsecond buckets up to 2^37 µs (38 hours): anything longer lands in the last.
const MAX_EXP: u32 = 37;
const BUCKETS: usize = ((MAX_EXP - 2) * SUB) as usize;

/// The bucket of a duration in microseconds: exact below 8 µs, then 8 per doubling.
fn bucket(micros: u64) -> usize {
    if micros < u64::from(SUB) {
        return micros as usize;
    }
    let exp = 63 - micros.leading_zeros();
    if exp >= MAX_EXP {
        return BUCKETS - 1;
    }
    let mantissa = (micros >> (exp - 3)) & u64::from(SUB - 1);
    ((exp - 2) * SUB) as usize + mantissa as usize
}

/// The middle of a bucket, in microseconds.
fn bucket_value(index: usize) -> f64 {
    let index = index as u64;
    let sub = u64::from(SUB);
    if index < sub {
        return index as f64 + 0.5;
    }
    let exp = index / sub + 2;
    let lower = (sub + index % sub) << (exp - 3);
    let width = 1u64 << (exp - 3);
    lower as f64 + width as f64 / 2.0
}

/// The `q` quantile (0..=1) of a histogram, in milliseconds; `None` when it is empty.
fn quantile(histogram: &[u64], q: f64) -> Option<f64> {
    let total: u64 = histogram.iter().sum();
    if total == 0 {
        return None;
    }
    let rank = ((q * total as f64).ceil() as u64).clamp(1, total);
    let mut seen = 0;
    for (index, count) in histogram.iter().enumerate() {
        seen += count;
        if seen >= rank {
            return Some(round3(bucket_value(index) / 1000.0));
        }
    }
    None
}

/// Requests this process answered on its public listener, recorded by the HTTP
/// middleware. Cheap to clone; every clone counts into the same totals.
#[derive(Clone)]
pub struct Traffic {
    inner: Arc<TrafficInner>,
}

struct TrafficInner {
    started_at: DateTime<Utc>,
    started: Instant,
    requests: AtomicU64,
    client_errors: AtomicU64,
    server_errors: AtomicU64,
    latency: Vec<AtomicU64>,
    ring: Mutex<Ring>,
}

/// Cumulative counters at one instant.
#[derive(Clone, Default)]
struct Counters {
    requests: u64,
    client_errors: u64,
    server_errors: u64,
    latency: Vec<u64>,
    jobs: BTreeMap<String, (u64, u64)>,
}

#[derive(Default)]
struct Ring {
    last: Option<(Instant, Counters)>,
    samples: VecDeque<Kept>,
}

/// A sample with what the window figures need besides it.
struct Kept {
    sample: Sample,
    latency: Vec<u64>,
    jobs: BTreeMap<String, (u64, u64)>,
}

/// What the sampler reads besides the traffic counters.
pub struct Gauges {
    pub in_flight: i64,
    pub ws_connections: i64,
    /// Jobs completed and failed attempts so far in this process, by queue.
    pub jobs: BTreeMap<String, (u64, u64)>,
}

impl Default for Traffic {
    fn default() -> Self {
        Self::new()
    }
}

impl Traffic {
    pub fn new() -> Self {
        Self {
            inner: Arc::new(TrafficInner {
                started_at: Utc::now(),
                started: Instant::now(),
                requests: AtomicU64::new(0),
                client_errors: AtomicU64::new(0),
                server_errors: AtomicU64::new(0),
                latency: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(),
                ring: Mutex::default(),
            }),
        }
    }

    /// Count one answered request.
    pub fn record(&self, status: u16, elapsed: Duration) {
        let inner = &self.inner;
        inner.requests.fetch_add(1, Ordering::Relaxed);
        match status {
            400..=499 => inner.client_errors.fetch_add(1, Ordering::Relaxed),
            500..=599 => inner.server_errors.fetch_add(1, Ordering::Relaxed),
            _ => 0,
        };
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        if let Some(slot) = inner.latency.get(bucket(micros)) {
            slot.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn started_at(&self) -> DateTime<Utc> {
        self.inner.started_at
    }

    pub fn uptime(&self) -> Duration {
        self.inner.started.elapsed()
    }

    fn counters(&self, jobs: BTreeMap<String, (u64, u64)>) -> Counters {
        let inner = &self.inner;
        Counters {
            requests: inner.requests.load(Ordering::Relaxed),
            client_errors: inner.client_errors.load(Ordering::Relaxed),
            server_errors: inner.server_errors.load(Ordering::Relaxed),
            latency: inner
                .latency
                .iter()
                .map(|a| a.load(Ordering::Relaxed))
                .collect(),
            jobs,
        }
    }

    /// Take one sample: what happened since the previous one. The first call only
    /// sets the starting point.
    pub fn sample(&self, gauges: Gauges) {
        let now = Instant::now();
        let counters = self.counters(gauges.jobs);
        let Ok(mut ring) = self.inner.ring.lock() else {
            return;
        };
        let Some((then, before)) = ring.last.replace((now, counters.clone())) else {
            return;
        };
        let latency: Vec<u64> = counters
            .latency
            .iter()
            .zip(&before.latency)
            .map(|(a, b)| a.saturating_sub(*b))
            .collect();
        let jobs_delta = |pick: fn(&(u64, u64)) -> u64| -> u64 {
            counters
                .jobs
                .iter()
                .map(|(queue, now)| {
                    pick(now).saturating_sub(before.jobs.get(queue).map_or(0, pick))
                })
                .sum()
        };
        let sample = Sample {
            at: Utc::now(),
            seconds: round3(now.duration_since(then).as_secs_f64()),
            requests: counters.requests.saturating_sub(before.requests),
            client_errors: counters.client_errors.saturating_sub(before.client_errors),
            server_errors: counters.server_errors.saturating_sub(before.server_errors),
            p50_ms: quantile(&latency, 0.50),
            p95_ms: quantile(&latency, 0.95),
            p99_ms: quantile(&latency, 0.99),
            in_flight: gauges.in_flight,
            ws_connections: gauges.ws_connections,
            jobs_completed: jobs_delta(|c| c.0),
            jobs_failed: jobs_delta(|c| c.1),
        };
        ring.samples.push_back(Kept {
            sample,
            latency,
            jobs: counters.jobs,
        });
        while ring.samples.len() > RING {
            ring.samples.pop_front();
        }
    }

    /// The HTTP figures: totals, and rates and latencies over the last [`WINDOW`]
    /// samples; plus the samples themselves and each queue's throughput over the ring.
    pub fn report(&self, in_flight: i64) -> (Http, Vec<Sample>, BTreeMap<String, Throughput>) {
        let counters = self.counters(BTreeMap::new());
        let mut http = Http {
            requests_total: counters.requests,
            client_errors_total: counters.client_errors,
            server_errors_total: counters.server_errors,
            in_flight,
            ..Http::default()
        };
        let Ok(ring) = self.inner.ring.lock() else {
            return (http, Vec::new(), BTreeMap::new());
        };
        let recent: Vec<&Kept> = ring.samples.iter().rev().take(WINDOW).collect();
        let seconds: f64 = recent.iter().map(|k| k.sample.seconds).sum();
        if seconds > 0.0 {
            let rate = |f: fn(&Sample) -> u64| {
                round3(recent.iter().map(|k| f(&k.sample)).sum::<u64>() as f64 / seconds)
            };
            let requests: u64 = recent.iter().map(|k| k.sample.requests).sum();
            let client: u64 = recent.iter().map(|k| k.sample.client_errors).sum();
            let server: u64 = recent.iter().map(|k| k.sample.server_errors).sum();
            http.window_seconds = round3(seconds);
            http.requests_per_second = rate(|s| s.requests);
            http.client_errors_per_second = rate(|s| s.client_errors);
            http.server_errors_per_second = rate(|s| s.server_errors);
            if requests > 0 {
                http.client_error_ratio = round3(client as f64 / requests as f64);
                http.server_error_ratio = round3(server as f64 / requests as f64);
            }
            let mut merged = vec![0u64; BUCKETS];
            for kept in &recent {
                for (slot, count) in merged.iter_mut().zip(&kept.latency) {
                    *slot += count;
                }
            }
            http.latency_ms = Latency {
                p50: quantile(&merged, 0.50),
                p95: quantile(&merged, 0.95),
                p99: quantile(&merged, 0.99),
            };
        }
        // Queue throughput: from the oldest kept sample's totals to the newest.
        let mut throughput = BTreeMap::new();
        if let (Some(first), Some(last)) = (ring.samples.front(), ring.samples.back()) {
            let span: f64 = ring.samples.iter().skip(1).map(|k| k.sample.seconds).sum();
            for (queue, (done, failed)) in &last.jobs {
                let (done_before, failed_before) =
                    first.jobs.get(queue).copied().unwrap_or_default();
                let per_minute = |now: u64, then: u64| {
                    if span > 0.0 {
                        round3(now.saturating_sub(then) as f64 * 60.0 / span)
                    } else {
                        0.0
                    }
                };
                throughput.insert(
                    queue.clone(),
                    Throughput {
                        completed_total: *done,
                        failed_total: *failed,
                        completed_per_minute: per_minute(*done, done_before),
                        failed_per_minute: per_minute(*failed, failed_before),
                    },
                );
            }
        }
        let samples = ring.samples.iter().map(|k| k.sample.clone()).collect();
        (http, samples, throughput)
    }
}

fn round3(value: f64) -> f64 {
    (value * 1000.0).round() / 1000.0
}

/// One queue's work in this process.
#[derive(Debug, Clone, Default)]
pub struct Throughput {
    pub completed_total: u64,
    pub failed_total: u64,
    pub completed_per_minute: f64,
    pub failed_per_minute: f64,
}

/// The answer of `GET /status`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Status {
    /// The jobber version of this process.
    pub version: String,
    /// `all`, `api` or `worker`.
    pub role: String,
    pub started_at: Option<DateTime<Utc>>,
    pub uptime_seconds: u64,
    pub generated_at: Option<DateTime<Utc>>,
    pub http: Http,
    pub websocket: WebSocket,
    pub database: Database,
    /// Every queue, from the database (the same on every process), with this process's
    /// throughput.
    pub queues: Vec<QueueStatus>,
    /// Committed jobs not yet relayed to the queue; `None` when the database did not
    /// answer.
    pub outbox_pending: Option<i64>,
    /// In-process caches (`platform::cache`) and their hit ratios.
    pub caches: Vec<CacheStatus>,
    /// Today's figures across accounts; `None` when they could not be read.
    pub business_today: Option<BusinessToday>,
    /// Why the database parts are missing, when they are.
    pub errors: Vec<String>,
    /// One sample a second, oldest first, up to two minutes.
    pub samples: Vec<Sample>,
}

/// The public listener's requests (this process).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Http {
    pub requests_total: u64,
    pub client_errors_total: u64,
    pub server_errors_total: u64,
    pub in_flight: i64,
    /// The seconds the rates and latencies below cover (up to 10).
    pub window_seconds: f64,
    pub requests_per_second: f64,
    pub client_errors_per_second: f64,
    pub server_errors_per_second: f64,
    /// Share of the window's requests answered 4xx, and 5xx (0 to 1).
    pub client_error_ratio: f64,
    pub server_error_ratio: f64,
    pub latency_ms: Latency,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Latency {
    pub p50: Option<f64>,
    pub p95: Option<f64>,
    pub p99: Option<f64>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct WebSocket {
    pub connections: i64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Database {
    /// Whether the last query of this status answered.
    pub reachable: bool,
    pub pool: Pool,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Pool {
    pub max: u32,
    /// Open connections.
    pub size: u32,
    pub in_use: u32,
    pub idle: u32,
    /// Callers waiting for a connection.
    pub waiting: i64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct QueueStatus {
    pub name: String,
    /// Waiting jobs: `pending` (due now) plus `scheduled` (a later run or a retry).
    pub depth: i64,
    pub pending: i64,
    pub scheduled: i64,
    pub running: i64,
    /// Jobs that used their last attempt (`jobber jobs retry` puts one back).
    pub dead: i64,
    /// Failed attempts in this process since it started (each retry counts).
    pub failed_total: u64,
    /// Jobs this process completed since it started.
    pub completed_total: u64,
    /// Over the samples kept (up to two minutes).
    pub completed_per_minute: f64,
    pub failed_per_minute: f64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct CacheStatus {
    pub name: String,
    pub hits: u64,
    pub misses: u64,
    pub hit_ratio: Option<f64>,
    /// Entries dropped for their age (TTL) or for room.
    pub evictions: u64,
    /// Entries (or an account's entries at once) dropped by a change's event.
    pub invalidations: u64,
    /// Entries held now.
    pub entries: u64,
}

/// Today's business, summed over every account, each account's "today" being its own
/// local day (its time zone).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct BusinessToday {
    pub accounts: i64,
    pub visits_completed: i64,
    pub invoices_sent: i64,
    /// Payments (amount and tip) that succeeded today, by the accounts' currencies.
    pub payments_collected: Vec<Collected>,
    /// Users who signed in or used the app today.
    pub active_users: i64,
    /// When these were counted (they are kept for a few seconds).
    pub as_of: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Collected {
    pub currency: String,
    pub amount_minor: i64,
    pub payments: i64,
}

/// One second of this process.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Sample {
    /// When the second ended.
    pub at: DateTime<Utc>,
    /// Its exact length.
    pub seconds: f64,
    pub requests: u64,
    pub client_errors: u64,
    pub server_errors: u64,
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub in_flight: i64,
    pub ws_connections: i64,
    pub jobs_completed: u64,
    pub jobs_failed: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_ordered_and_close() {
        let mut previous = 0;
        for micros in [
            0u64, 1, 7, 8, 9, 15, 16, 100, 1_000, 12_345, 1_000_000, 60_000_000,
        ] {
            let index = bucket(micros);
            assert!(index >= previous, "{micros}");
            previous = index;
            let value = bucket_value(index);
            let error = (value - micros as f64).abs() / (micros as f64).max(1.0);
            assert!(error <= 0.07 || micros < 8, "{micros}: {value}");
        }
        assert_eq!(bucket(u64::MAX), BUCKETS - 1);
    }

    #[test]
    fn quantiles_of_a_known_spread() {
        let traffic = Traffic::new();
        let none = || Gauges {
            in_flight: 0,
            ws_connections: 0,
            jobs: BTreeMap::new(),
        };
        traffic.sample(none());
        for ms in 1..=100u64 {
            traffic.record(if ms > 98 { 500 } else { 200 }, Duration::from_millis(ms));
        }
        // A sample covers some time (a second, in the server).
        std::thread::sleep(Duration::from_millis(20));
        traffic.sample(none());
        let (http, samples, _) = traffic.report(0);
        assert_eq!(samples.len(), 1);
        assert_eq!(samples[0].requests, 100);
        assert_eq!(samples[0].server_errors, 2);
        let p50 = http.latency_ms.p50.unwrap_or_default();
        let p99 = http.latency_ms.p99.unwrap_or_default();
        assert!((47.0..=53.0).contains(&p50), "{p50}");
        assert!((93.0..=106.0).contains(&p99), "{p99}");
        assert_eq!(http.server_error_ratio, 0.02);
    }
}
