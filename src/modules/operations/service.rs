//! Assembles the status: this process's traffic and samples, the queues and the pool,
//! and today's business figures (kept for [`TODAY_TTL`]: they scan a day of rows).

use std::time::{Duration, Instant};

use chrono::Utc;

use crate::config::Role;
use crate::platform::admin_token::AdminToken;
use crate::platform::database::Db;
use crate::platform::metrics::Metrics;
use crate::platform::queue;
use crate::platform::status::{
    BusinessToday, Database, Pool, QueueStatus, Status, Throughput, WebSocket,
};

/// How long today's figures are reused before they are counted again.
pub const TODAY_TTL: Duration = Duration::from_secs(10);
/// Each database part of a status waits at most this long: the status must answer
/// (with what this process knows) while the database is down.
const DB_BUDGET: Duration = Duration::from_secs(2);

pub struct Operations {
    token: AdminToken,
    today: tokio::sync::Mutex<Option<(Instant, BusinessToday)>>,
}

impl Operations {
    pub fn new(token: AdminToken) -> Self {
        Self {
            token,
            today: tokio::sync::Mutex::new(None),
        }
    }

    /// Whether `presented` is this instance's admin token.
    pub fn authorized(&self, presented: &str) -> bool {
        self.token.matches(presented)
    }

    pub async fn status(
        &self,
        db: &Db,
        metrics: &Metrics,
        ws_connections: i64,
        role: Role,
    ) -> Status {
        let in_flight = metrics.http_in_flight.get();
        let (http, samples, throughput) = metrics.traffic.report(in_flight);
        let mut errors = Vec::new();
        let pool = db.pool();
        let size = pool.size();
        let idle = u32::try_from(pool.num_idle()).unwrap_or(u32::MAX);
        let mut reachable = true;
        let queue_row = |name: &str, stats: Option<&queue::QueueStats>| {
            let t: Throughput = throughput.get(name).cloned().unwrap_or_default();
            let stats = stats.cloned().unwrap_or_default();
            QueueStatus {
                name: name.to_owned(),
                depth: stats.pending + stats.scheduled,
                pending: stats.pending,
                scheduled: stats.scheduled,
                running: stats.running,
                dead: stats.dead,
                failed_total: t.failed_total,
                completed_total: t.completed_total,
                completed_per_minute: t.completed_per_minute,
                failed_per_minute: t.failed_per_minute,
            }
        };
        let (queues, outbox_pending) =
            match tokio::time::timeout(DB_BUDGET, queue::stats(pool)).await {
                Ok(Ok((stats, outbox))) => (
                    stats.iter().map(|s| queue_row(&s.queue, Some(s))).collect(),
                    Some(outbox),
                ),
                failed => {
                    reachable = false;
                    errors.push(match failed {
                        Ok(Err(error)) => format!("queues: {error:#}"),
                        _ => "queues: the database did not answer within 2 s".to_owned(),
                    });
                    let rows = queue::Queue::ALL
                        .iter()
                        .map(|q| queue_row(q.name(), None))
                        .collect();
                    (rows, None)
                }
            };
        // When the database just failed, do not wait on it a second time.
        let business_today = if reachable {
            match tokio::time::timeout(DB_BUDGET, self.today(db)).await {
                Ok(Ok(today)) => Some(today),
                Ok(Err(error)) => {
                    errors.push(format!("business_today: {error:#}"));
                    None
                }
                Err(_) => {
                    errors
                        .push("business_today: the database did not answer within 2 s".to_owned());
                    None
                }
            }
        } else {
            None
        };
        Status {
            version: env!("CARGO_PKG_VERSION").to_owned(),
            role: match role {
                Role::All => "all",
                Role::Api => "api",
                Role::Worker => "worker",
            }
            .to_owned(),
            started_at: Some(metrics.traffic.started_at()),
            uptime_seconds: metrics.traffic.uptime().as_secs(),
            generated_at: Some(Utc::now()),
            http,
            websocket: WebSocket {
                connections: ws_connections,
            },
            database: Database {
                reachable,
                pool: Pool {
                    max: pool.options().get_max_connections(),
                    size,
                    in_use: size.saturating_sub(idle),
                    idle,
                    waiting: db.waiting(),
                },
            },
            queues,
            outbox_pending,
            caches: db
                .caches()
                .stats()
                .into_iter()
                .map(|(name, stats)| {
                    let looked_up = stats.hits + stats.misses;
                    crate::platform::status::CacheStatus {
                        name: name.as_str().to_owned(),
                        hits: stats.hits,
                        misses: stats.misses,
                        // No look-up yet: no ratio rather than an invented one.
                        hit_ratio: (looked_up > 0).then(|| stats.hits as f64 / looked_up as f64),
                        evictions: stats.evictions,
                        invalidations: stats.invalidations,
                        entries: stats.entries,
                    }
                })
                .collect(),
            business_today,
            errors,
            samples,
        }
    }

    /// Today's figures, counted at most every [`TODAY_TTL`].
    async fn today(&self, db: &Db) -> anyhow::Result<BusinessToday> {
        let mut cached = self.today.lock().await;
        if let Some((at, today)) = cached.as_ref()
            && at.elapsed() < TODAY_TTL
        {
            return Ok(today.clone());
        }
        let mut conn = db.pool().acquire().await?;
        let value = super::repo::today(&mut conn).await?;
        let mut today: BusinessToday = serde_json::from_value(value)?;
        today.as_of = Some(Utc::now());
        *cached = Some((Instant::now(), today.clone()));
        Ok(today)
    }
}

/// Take one traffic sample a second until `stop` turns true.
pub async fn sampler(
    metrics: Metrics,
    ws_connections: prometheus::IntGauge,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.wait_for(|stopped| *stopped) => return,
        }
        metrics.traffic.sample(crate::platform::status::Gauges {
            in_flight: metrics.http_in_flight.get(),
            ws_connections: ws_connections.get(),
            jobs: metrics.job_totals(),
        });
    }
}
