//! Background work (seed §6): one apalis worker per queue, the outbox relay and the
//! cron scheduler, run by `--role worker` and `--role all` (never `--role api`).
//!
//! Each queue has its handler in its own file. A handler returns `Ok` when the job is
//! done (or has nothing left to do) and an error for "try again later"; [`run_job`]
//! turns errors into the retry schedule of seed §6.3 and dead jobs (see
//! `platform::queue`). Handlers must be idempotent: a job may run again after a
//! worker crash.

use std::sync::Arc;
use std::time::Duration;

use apalis::prelude::{
    Attempt, BackendExt, BoxDynError, Data, Strategy, TaskId, WorkerBuilder, WorkerBuilderExt,
};
use apalis_postgres::PostgresStorage;
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::config::Config;
use crate::platform::database::Db;
use crate::platform::mailer::Mailer;
use crate::platform::metrics::Metrics;
use crate::platform::queue::{self, Job, Queue};

pub mod cleanup;
pub mod cron;
pub mod email;
pub mod images;
pub mod notifications;
pub mod payments;
pub mod pdf;
pub mod quickbooks;
pub mod reports;
pub mod sms;

/// What every handler may use.
pub struct Context {
    pub db: Db,
    /// The runner's own pool (apalis polling, relay, cron), apart from the API's.
    pub pool: PgPool,
    pub config: Arc<Config>,
    pub metrics: Metrics,
    pub mailer: Option<Mailer>,
    pub storage: crate::platform::storage::Storage,
    pub keys: Arc<crate::modules::auth::token::TokenKeys>,
    /// QuickBooks Online's client (when configured) and the key of stored tokens.
    pub quickbooks: crate::modules::quickbooks::service::QboGateway,
    /// Twilio's API; None when texts are not configured.
    pub twilio: Option<crate::integrations::twilio::Twilio>,
    /// Stripe's API and the key of stored secrets (card payment reconciliation).
    pub gateway: crate::modules::payments::service::Gateway,
}

impl Context {
    /// What signing client-hub links needs.
    pub fn links(&self) -> crate::modules::auth::links::Links<'_> {
        crate::modules::auth::links::Links {
            public_url: &self.config.public_url,
            keys: &self.keys,
        }
    }
}

/// What the runner takes from the server that starts it (`app::App::run` hands it
/// its own database, configuration and keys); the rest of [`Context`] it makes.
pub struct Shared {
    pub db: Db,
    pub config: Arc<Config>,
    pub metrics: Metrics,
    pub storage: crate::platform::storage::Storage,
    pub keys: Arc<crate::modules::auth::token::TokenKeys>,
    pub quickbooks: crate::modules::quickbooks::service::QboGateway,
    pub gateway: crate::modules::payments::service::Gateway,
}

/// Start the runner, the relay and the scheduler; they stop when `stop` turns true
/// (in-flight jobs finish first). The returned set completes when all have stopped.
pub fn start(state: Shared, stop: watch::Receiver<bool>) -> anyhow::Result<JoinSet<()>> {
    let config = state.config.clone();
    let mailer = Mailer::from_config(&config.jobs)?;
    if mailer.is_none() {
        tracing::warn!(
            "no email transport (smtp_url, or email_transport = \"sendgrid\" with sendgrid_api_key): client emails stay queued (and retry) until one is configured"
        );
    }
    let twilio = crate::integrations::twilio::Twilio::from_config(&config.twilio)?;
    if twilio.is_none() {
        tracing::info!("Twilio is not configured: text messages stay queued (and retry)");
    }
    let options = state.db.pool().connect_options().as_ref().clone();
    let pool = PgPoolOptions::new()
        .max_connections(u32::try_from(Queue::ALL.len()).unwrap_or(10) + 2)
        // Longer than the API's: a job may wait for one of the few connections under
        // load (no client is waiting on it). During an outage the relay and the cron
        // give up after one such wait per round (see `cron::scheduler`).
        .acquire_timeout(Duration::from_secs(10))
        .connect_lazy_with(options.application_name("jobber-worker"));
    let ctx = Arc::new(Context {
        db: state.db,
        pool,
        config: config.clone(),
        metrics: state.metrics,
        mailer,
        storage: state.storage,
        keys: state.keys,
        quickbooks: state.quickbooks,
        twilio,
        gateway: state.gateway,
    });
    let mut set = JoinSet::new();
    let mut wakers = Vec::new();
    for queue in Queue::ALL {
        let concurrency = config
            .jobs
            .concurrency
            .get(queue.name())
            .copied()
            .unwrap_or_else(|| queue.default_concurrency());
        let (wake_tx, wake_rx) = watch::channel(());
        wakers.push((queue, wake_tx));
        if concurrency == 0 {
            tracing::info!(%queue, "queue disabled in this process (concurrency 0)");
            continue;
        }
        set.spawn(supervise(
            ctx.clone(),
            queue,
            concurrency,
            wake_rx,
            stop.clone(),
        ));
    }
    set.spawn(relay(ctx.clone(), wakers, stop.clone()));
    set.spawn(cron::scheduler(ctx, stop));
    Ok(set)
}

async fn wait_stop(mut stop: watch::Receiver<bool>) {
    let _ = stop.wait_for(|stopped| *stopped).await;
}

/// Run one queue's worker; restart it after an error (a lost database connection
/// ends an apalis worker) until stopped.
async fn supervise(
    ctx: Arc<Context>,
    queue: Queue,
    concurrency: usize,
    wake: watch::Receiver<()>,
    stop: watch::Receiver<bool>,
) {
    loop {
        if *stop.borrow() {
            return;
        }
        let config = apalis_postgres::Config::default()
            .queue(queue.name())
            .batch_size(concurrency)
            .heartbeat_interval(ctx.config.jobs.heartbeat)
            .missed_heartbeats(3);
        let wake_stream = Box::pin(futures_util::stream::unfold(
            wake.clone(),
            |mut rx| async move {
                rx.changed().await.ok()?;
                Some(((), rx))
            },
        ));
        let storage = PostgresStorage::<Job>::new(&ctx.pool)
            .with_config(config)
            .poll_with_strategy(
                Strategy::new()
                    .interval(ctx.config.jobs.poll)
                    .stream(wake_stream),
            );
        let name = format!("{}:{}", queue.name(), uuid::Uuid::now_v7().simple());
        let worker = WorkerBuilder::new(name.clone())
            .backend(storage)
            .concurrency(concurrency)
            .data(ctx.clone())
            .data(queue)
            .build(run_job);
        let signal = wait_stop(stop.clone());
        let watchdog = watchdog(ctx.clone(), queue, name.clone(), concurrency);
        match worker
            .run_until(async move {
                tokio::select! {
                    () = signal => {}
                    () = watchdog => {}
                }
                Ok::<(), std::io::Error>(())
            })
            .await
        {
            Ok(()) if *stop.borrow() => return,
            Ok(()) => {
                tracing::info!(%queue, "queue worker idle while jobs are due; restarted it");
            }
            Err(error) => {
                tracing::error!(%queue, %error, "queue worker stopped; restarting in 5s");
                tokio::select! {
                    () = tokio::time::sleep(Duration::from_secs(5)) => {}
                    () = wait_stop(stop.clone()) => return,
                }
            }
        }
    }
}

/// Resolves when the worker `name` sits idle (free slots) while its queue has jobs
/// due for a while. apalis 1.0's polling strategies can lose their wake-up after a
/// poll that found nothing (observed under load: a due job waited until the next
/// heartbeat); a stalled worker is stopped gracefully and `supervise` starts a new
/// one, so a due job waits at most about ten poll intervals.
async fn watchdog(ctx: Arc<Context>, queue: Queue, name: String, concurrency: usize) {
    let patience = (ctx.config.jobs.poll * 10).max(Duration::from_secs(5));
    loop {
        tokio::time::sleep(patience).await;
        match queue::stalled(&ctx.pool, queue, &name, concurrency, patience).await {
            Ok(true) => return,
            Ok(false) => {}
            Err(error) => {
                tracing::debug!(%queue, error = format!("{error:#}"), "watchdog check failed");
            }
        }
    }
}

/// The apalis handler of every queue: dispatch, then metrics, logs and the retry
/// schedule.
async fn run_job(
    job: Job,
    attempt: Attempt,
    task_id: TaskId,
    ctx: Data<Arc<Context>>,
    queue: Data<Queue>,
) -> Result<(), BoxDynError> {
    let queue = *queue;
    let task_id = task_id.to_string();
    let span = tracing::info_span!("job", %queue, job_id = %task_id, account_id = ?job.account_id);
    // apalis counts this run before the handler starts; guard against 0 anyway.
    let attempt = attempt.current().max(1);
    let last = queue::backoff(attempt).is_none();
    let result = crate::platform::events::acting(
        Some(crate::platform::events::Actor::System(
            queue.name().to_owned(),
        )),
        tracing::Instrument::instrument(dispatch(&ctx, queue, &job, last), span.clone()),
    )
    .await;
    let _entered = span.enter();
    let labels = [queue.name()];
    match result {
        Ok(()) => {
            ctx.metrics.jobs_completed.with_label_values(&labels).inc();
            tracing::debug!(attempt, "job done");
            Ok(())
        }
        Err(error) if error.downcast_ref::<queue::RetryLater>().is_some() => {
            let at = error
                .downcast_ref::<queue::RetryLater>()
                .map_or_else(chrono::Utc::now, |later| later.at);
            let delay = (at - chrono::Utc::now())
                .to_std()
                .unwrap_or(Duration::from_secs(1));
            if let Err(e) = queue::schedule_retry(&ctx.pool, &task_id, delay).await {
                tracing::error!(error = format!("{e:#}"), "cannot schedule the retry");
            }
            tracing::info!(attempt, reason = %error, retry_in_secs = delay.as_secs(), "job deferred");
            Err(format!("{error:#}").into())
        }
        Err(error) => {
            ctx.metrics.jobs_failed.with_label_values(&labels).inc();
            let error_text = format!("{error:#}");
            match queue::backoff(attempt) {
                Some(delay) => {
                    if let Err(e) = queue::schedule_retry(&ctx.pool, &task_id, delay).await {
                        tracing::error!(error = format!("{e:#}"), "cannot schedule the retry");
                    }
                    // seed §6.3 "alert on repeated failures": the third failure warns.
                    if attempt >= 3 {
                        tracing::warn!(attempt, error = %error_text, retry_in_secs = delay.as_secs(), "job failed again");
                    } else {
                        tracing::info!(attempt, error = %error_text, retry_in_secs = delay.as_secs(), "job failed; will retry");
                    }
                }
                None => {
                    ctx.metrics.jobs_dead_total.with_label_values(&labels).inc();
                    tracing::error!(attempt, error = %error_text, "job is dead: no attempts left (retry it with `jobber jobs retry`)");
                }
            }
            Err(error_text.into())
        }
    }
}

/// `last`: no retry follows if this run fails (a handler may record the failure).
async fn dispatch(ctx: &Context, queue: Queue, job: &Job, last: bool) -> anyhow::Result<()> {
    match queue {
        Queue::NotificationsHigh | Queue::NotificationsStandard => {
            notifications::run(ctx, queue, job).await
        }
        Queue::PdfGeneration => pdf::run(ctx, job).await,
        Queue::ImageProcessing => images::run(ctx, job).await,
        Queue::EmailSend => email::run(ctx, job).await,
        Queue::SmsSend => sms::run(ctx, job).await,
        Queue::PaymentProcessing => payments::run(ctx, job).await,
        Queue::SyncQuickbooks => quickbooks::run(ctx, job).await,
        Queue::ReportsGeneration => reports::run(ctx, job, last).await,
        Queue::Cleanup => cleanup::run(ctx, job).await,
    }
}

/// Relay committed outbox rows to apalis: on every commit notification, and every 5
/// seconds in case a notification was missed (a reconnect, another pod's insert
/// while this one was down).
async fn relay(
    ctx: Arc<Context>,
    wakers: Vec<(Queue, watch::Sender<()>)>,
    stop: watch::Receiver<bool>,
) {
    let mut listener = match sqlx::postgres::PgListener::connect_with(&ctx.pool).await {
        Ok(mut listener) => match listener.listen(queue::OUTBOX_CHANNEL).await {
            Ok(()) => Some(listener),
            Err(error) => {
                tracing::warn!(%error, "cannot LISTEN for outbox commits; relaying every 5s");
                None
            }
        },
        Err(error) => {
            tracing::warn!(%error, "cannot LISTEN for outbox commits; relaying every 5s");
            None
        }
    };
    loop {
        loop {
            match queue::relay_pending(&ctx.pool).await {
                Ok(touched) if touched.is_empty() => break,
                Ok(touched) => {
                    for (queue, waker) in &wakers {
                        if touched.contains(queue) {
                            waker.send_replace(());
                        }
                    }
                }
                Err(error) => {
                    tracing::warn!(error = format!("{error:#}"), "relaying outbox jobs failed");
                    break;
                }
            }
        }
        let notified = async {
            match listener.as_mut() {
                Some(listener) => {
                    if let Err(error) = listener.recv().await {
                        tracing::debug!(%error, "outbox listener interrupted");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
                None => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            () = notified => {}
            () = tokio::time::sleep(Duration::from_secs(5)) => {}
            () = wait_stop(stop.clone()) => return,
        }
    }
}
