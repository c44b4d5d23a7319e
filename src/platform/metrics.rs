//! Prometheus metrics (seed §10.1), served on the admin listener only.

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
    TextEncoder,
};

use crate::platform::database::Db;

#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    pub http_requests: IntCounterVec,
    pub http_duration: HistogramVec,
    pub http_in_flight: IntGauge,
    db_pool: IntGaugeVec,
    /// Jobs finished successfully, by queue.
    pub jobs_completed: IntCounterVec,
    /// Failed attempts (each retry counts), by queue.
    pub jobs_failed: IntCounterVec,
    /// Jobs that used their last attempt, by queue.
    pub jobs_dead_total: IntCounterVec,
    jobs: IntGaugeVec,
    job_outbox: IntGauge,
    /// 1 when the last scrape could read the database, else 0 (an alert's input).
    database_up: IntGauge,
    events_published: prometheus::IntCounter,
    events_subscribers: IntGauge,
    /// Per cache (`platform::cache`): hits, misses, evictions (age or room) and
    /// invalidations (events, writes), brought up to the caches' own counts at scrape.
    cache_counters: [IntCounterVec; 4],
    cache_entries: IntGaugeVec,
    /// Scrapes bring `events_published` up to the bus's count one at a time.
    events_catch_up: std::sync::Arc<std::sync::Mutex<()>>,
    /// The same requests for `GET /status`: totals and per-second samples.
    pub traffic: crate::platform::status::Traffic,
    /// Requests refused by the rate limits, by endpoint class and by what was over
    /// its quota (`ip` or `user`).
    pub rate_limited: IntCounterVec,
    /// Rate-limit operations answered in-process because Redis was unreachable.
    pub rate_limit_fallbacks: prometheus::IntCounter,
    /// The read replica's figures, on `/metrics` only when one is configured.
    replica: ReplicaMetrics,
    /// Spans exported over OTLP, dropped, and failed posts (`platform::otlp`),
    /// brought up to its counts at scrape.
    otlp: [prometheus::IntCounter; 3],
}

/// `jobber_db_reads_total`, `jobber_db_replica_*` (docs/scaling.md).
#[derive(Clone)]
struct ReplicaMetrics {
    reads: IntCounterVec,
    fallbacks: prometheus::IntCounter,
    up: IntGauge,
    lag_bytes: IntGauge,
    registered: std::sync::Arc<std::sync::Once>,
}

impl ReplicaMetrics {
    fn new() -> Self {
        Self {
            reads: IntCounterVec::new(
                Opts::new(
                    "jobber_db_reads_total",
                    "Read-only transactions (Db::read) by the server that answered them: replica or primary",
                ),
                &["served_by"],
            )
            .unwrap_or_else(unreachable),
            fallbacks: prometheus::IntCounter::new(
                "jobber_db_replica_fallbacks_total",
                "Reads the primary answered because the read replica was down or failing",
            )
            .unwrap_or_else(unreachable),
            up: IntGauge::new(
                "jobber_db_replica_up",
                "1 while reads go to the read replica, 0 while it is down (reads on the primary)",
            )
            .unwrap_or_else(unreachable),
            lag_bytes: IntGauge::new(
                "jobber_db_replica_lag_bytes",
                "WAL bytes the read replica had not replayed at its last probe (-1: unknown)",
            )
            .unwrap_or_else(unreachable),
            registered: std::sync::Arc::new(std::sync::Once::new()),
        }
    }

    /// Bring the figures up to `stats` (the caller holds the scrape lock).
    fn update(&self, registry: &Registry, stats: crate::platform::database::ReplicaStats) {
        self.registered.call_once(|| {
            for collector in [
                Box::new(self.reads.clone()) as Box<dyn prometheus::core::Collector>,
                Box::new(self.fallbacks.clone()),
                Box::new(self.up.clone()),
                Box::new(self.lag_bytes.clone()),
            ] {
                registry.register(collector).unwrap_or_else(unreachable);
            }
        });
        for (served_by, value) in [
            ("replica", stats.replica_reads),
            ("primary", stats.primary_reads),
        ] {
            let counter = self.reads.with_label_values(&[served_by]);
            counter.inc_by(value.saturating_sub(counter.get()));
        }
        self.fallbacks
            .inc_by(stats.fallbacks.saturating_sub(self.fallbacks.get()));
        self.up.set(i64::from(stats.up));
        self.lag_bytes.set(stats.lag_bytes.unwrap_or(-1));
    }
}

impl Metrics {
    pub fn new() -> Self {
        let registry = Registry::new();
        let http_requests = IntCounterVec::new(
            Opts::new(
                "jobber_http_requests_total",
                "HTTP requests by route, method and status",
            ),
            &["method", "route", "status"],
        )
        .unwrap_or_else(unreachable);
        let http_duration = HistogramVec::new(
            HistogramOpts::new(
                "jobber_http_request_duration_seconds",
                "HTTP request latency by route, method and status",
            )
            .buckets(vec![
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
            ]),
            &["method", "route", "status"],
        )
        .unwrap_or_else(unreachable);
        let http_in_flight = IntGauge::new(
            "jobber_http_requests_in_flight",
            "HTTP requests being served",
        )
        .unwrap_or_else(unreachable);
        let db_pool = IntGaugeVec::new(
            Opts::new(
                "jobber_db_pool_connections",
                "Database pool connections by state (size, idle, waiting)",
            ),
            &["state"],
        )
        .unwrap_or_else(unreachable);
        let build_info = IntGaugeVec::new(
            Opts::new(
                "jobber_build_info",
                "Build information; the value is always 1",
            ),
            &["version"],
        )
        .unwrap_or_else(unreachable);
        build_info
            .with_label_values(&[env!("CARGO_PKG_VERSION")])
            .set(1);
        let jobs_completed = IntCounterVec::new(
            Opts::new(
                "jobber_jobs_completed_total",
                "Background jobs completed, by queue",
            ),
            &["queue"],
        )
        .unwrap_or_else(unreachable);
        let jobs_failed = IntCounterVec::new(
            Opts::new(
                "jobber_jobs_failed_total",
                "Failed background job attempts, by queue",
            ),
            &["queue"],
        )
        .unwrap_or_else(unreachable);
        let jobs_dead_total = IntCounterVec::new(
            Opts::new(
                "jobber_jobs_dead_total",
                "Background jobs that failed their last attempt, by queue",
            ),
            &["queue"],
        )
        .unwrap_or_else(unreachable);
        let jobs = IntGaugeVec::new(
            Opts::new(
                "jobber_jobs",
                "Background jobs by queue and state (pending, scheduled, running, dead), read at scrape time",
            ),
            &["queue", "state"],
        )
        .unwrap_or_else(unreachable);
        let job_outbox = IntGauge::new(
            "jobber_job_outbox_pending",
            "Committed jobs not yet relayed to the queue",
        )
        .unwrap_or_else(unreachable);
        let database_up = IntGauge::new(
            "jobber_database_up",
            "1 when this process could query the database at the last scrape, else 0",
        )
        .unwrap_or_else(unreachable);
        let events_published = prometheus::IntCounter::new(
            "jobber_events_published_total",
            "Domain events this process published to its listeners after their commit (docs/events.md)",
        )
        .unwrap_or_else(unreachable);
        let otlp = [
            (
                "jobber_otlp_spans_exported_total",
                "Spans this process sent to the OTLP collector",
            ),
            (
                "jobber_otlp_spans_dropped_total",
                "Spans not exported: the export queue was full, or the collector refused or could not be reached",
            ),
            (
                "jobber_otlp_export_failures_total",
                "Posts to the OTLP collector that failed",
            ),
        ]
        .map(|(name, help)| prometheus::IntCounter::new(name, help).unwrap_or_else(unreachable));
        for counter in &otlp {
            registry
                .register(Box::new(counter.clone()))
                .unwrap_or_else(unreachable);
        }
        let events_subscribers = IntGauge::new(
            "jobber_events_subscribers",
            "Listeners subscribed to this process's event bus",
        )
        .unwrap_or_else(unreachable);
        let cache_counter = |name: &str, help: &str| {
            IntCounterVec::new(Opts::new(name, help), &["cache"]).unwrap_or_else(unreachable)
        };
        let cache_counters = [
            cache_counter(
                "jobber_cache_hits_total",
                "Look-ups answered from an in-process cache, by cache",
            ),
            cache_counter(
                "jobber_cache_misses_total",
                "Look-ups that read the database and filled the cache, by cache",
            ),
            cache_counter(
                "jobber_cache_evictions_total",
                "Entries dropped for their age (TTL) or for room, by cache",
            ),
            cache_counter(
                "jobber_cache_invalidations_total",
                "Entries dropped because a committed change (its event) made them stale, by cache",
            ),
        ];
        let cache_entries = IntGaugeVec::new(
            Opts::new("jobber_cache_entries", "Entries held, by cache"),
            &["cache"],
        )
        .unwrap_or_else(unreachable);
        for collector in &cache_counters {
            registry
                .register(Box::new(collector.clone()))
                .unwrap_or_else(unreachable);
        }
        let rate_limited = IntCounterVec::new(
            Opts::new(
                "jobber_rate_limited_total",
                "Requests refused with 429 by the rate limits, by endpoint class and scope (ip, user)",
            ),
            &["class", "scope"],
        )
        .unwrap_or_else(unreachable);
        // Every class shows on /metrics from the start, at 0.
        for class in crate::platform::ratelimit::Class::ALL {
            for scope in ["ip", "user"] {
                rate_limited.with_label_values(&[class.name(), scope]);
            }
        }
        let rate_limit_fallbacks = prometheus::IntCounter::new(
            "jobber_rate_limit_store_fallbacks_total",
            "Rate-limit operations counted in this process because Redis was unreachable",
        )
        .unwrap_or_else(unreachable);
        for collector in [
            Box::new(cache_entries.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(events_published.clone()),
            Box::new(rate_limited.clone()),
            Box::new(rate_limit_fallbacks.clone()),
            Box::new(events_subscribers.clone()),
            Box::new(jobs_completed.clone()),
            Box::new(jobs_failed.clone()),
            Box::new(jobs_dead_total.clone()),
            Box::new(jobs.clone()),
            Box::new(job_outbox.clone()),
            Box::new(database_up.clone()),
            Box::new(http_requests.clone()),
            Box::new(http_duration.clone()),
            Box::new(http_in_flight.clone()),
            Box::new(db_pool.clone()),
            Box::new(build_info),
        ] {
            registry.register(collector).unwrap_or_else(unreachable);
        }
        Self {
            registry,
            http_requests,
            http_duration,
            http_in_flight,
            db_pool,
            jobs_completed,
            jobs_failed,
            jobs_dead_total,
            jobs,
            job_outbox,
            database_up,
            events_published,
            events_subscribers,
            cache_counters,
            cache_entries,
            events_catch_up: std::sync::Arc::default(),
            traffic: crate::platform::status::Traffic::new(),
            rate_limited,
            rate_limit_fallbacks,
            replica: ReplicaMetrics::new(),
            otlp,
        }
    }

    /// Add collectors kept elsewhere (the live hub's).
    pub fn register(&self, collectors: Vec<Box<dyn prometheus::core::Collector>>) {
        for collector in collectors {
            if let Err(error) = self.registry.register(collector) {
                tracing::error!(%error, "cannot register a metric");
            }
        }
    }

    /// Jobs completed and failed attempts of this process so far, by queue (read
    /// from the counters, for `GET /status`).
    pub fn job_totals(&self) -> std::collections::BTreeMap<String, (u64, u64)> {
        let mut totals = std::collections::BTreeMap::<String, (u64, u64)>::new();
        for (counter, completed) in [(&self.jobs_completed, true), (&self.jobs_failed, false)] {
            for family in prometheus::core::Collector::collect(counter) {
                for metric in family.get_metric() {
                    let Some(queue) = metric
                        .get_label()
                        .iter()
                        .find(|l| l.name() == "queue")
                        .map(|l| l.value().to_owned())
                    else {
                        continue;
                    };
                    let value = metric.get_counter().get_value() as u64;
                    let entry = totals.entry(queue).or_default();
                    if completed {
                        entry.0 = value;
                    } else {
                        entry.1 = value;
                    }
                }
            }
        }
        totals
    }

    /// Refresh the queue gauges (the admin `/metrics` handler calls this before
    /// [`Metrics::render`]).
    pub async fn refresh_queues(&self, db: &Db) {
        match crate::platform::queue::stats(db.pool()).await {
            Ok((queues, outbox)) => {
                for q in queues {
                    for (state, value) in [
                        ("pending", q.pending),
                        ("scheduled", q.scheduled),
                        ("running", q.running),
                        ("dead", q.dead),
                    ] {
                        self.jobs
                            .with_label_values(&[q.queue.as_str(), state])
                            .set(value);
                    }
                }
                self.job_outbox.set(outbox);
                self.database_up.set(1);
            }
            Err(error) => {
                self.database_up.set(0);
                tracing::warn!(error = format!("{error:#}"), "cannot read queue statistics")
            }
        }
    }

    /// The text exposition, with pool gauges read at scrape time.
    pub fn render(&self, db: &Db) -> String {
        let pool = db.pool();
        self.db_pool
            .with_label_values(&["size"])
            .set(i64::from(pool.size()));
        self.db_pool
            .with_label_values(&["idle"])
            .set(i64::try_from(pool.num_idle()).unwrap_or(i64::MAX));
        self.db_pool
            .with_label_values(&["waiting"])
            .set(db.waiting());
        // The bus counts; the counter follows it (both only grow).
        if let Ok(_one_at_a_time) = self.events_catch_up.lock() {
            let published = db.events().published();
            self.events_published
                .inc_by(published.saturating_sub(self.events_published.get()));
            for (name, stats) in db.caches().stats() {
                let values = [
                    stats.hits,
                    stats.misses,
                    stats.evictions,
                    stats.invalidations,
                ];
                for (counter, value) in self.cache_counters.iter().zip(values) {
                    let counter = counter.with_label_values(&[name.as_str()]);
                    counter.inc_by(value.saturating_sub(counter.get()));
                }
                self.cache_entries
                    .with_label_values(&[name.as_str()])
                    .set(i64::try_from(stats.entries).unwrap_or(i64::MAX));
            }
        }
        self.events_subscribers
            .set(i64::try_from(db.events().subscribers()).unwrap_or(i64::MAX));
        if let Ok(_one_at_a_time) = self.events_catch_up.lock() {
            let (exported, dropped, failed) = crate::platform::otlp::counters();
            for (counter, value) in self.otlp.iter().zip([exported, dropped, failed]) {
                counter.inc_by(value.saturating_sub(counter.get()));
            }
        }
        if let Some(stats) = db.replica_stats()
            && let Ok(_one_at_a_time) = self.events_catch_up.lock()
        {
            self.replica.update(&self.registry, stats);
        }
        let mut out = Vec::new();
        if let Err(e) = TextEncoder::new().encode(&self.registry.gather(), &mut out) {
            tracing::error!(error = %e, "cannot encode metrics");
        }
        String::from_utf8(out).unwrap_or_default()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// Metric definitions above are constants; registering them cannot fail at run time.
#[allow(clippy::panic)]
fn unreachable<T>(error: prometheus::Error) -> T {
    panic!("invalid metric definition: {error}")
}
