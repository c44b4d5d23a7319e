//! Domain events: what a committed change did, for whoever listens after the commit.
//!
//! A service raises events on its tenant transaction ([`Tx::raise`]); the commit
//! writes them to the `events` table in the same transaction, unnumbered, and right
//! after it a short sequencing transaction ([`number`]) gives the account's committed
//! events their `seq`, in the order they are numbered, and PostgreSQL's `NOTIFY`
//! (sent by a trigger, so only when the numbering commits) tells every instance. A
//! periodic [`sweep`] numbers what a crash left unnumbered. Each API process runs one [`relay`] that `LISTEN`s, reads the
//! rows, empties the caches the events make stale (`platform::cache`) and publishes
//! them on its in-process [`Bus`], where the WebSocket hub subscribes. A rollback writes nothing and publishes nothing, and an event is
//! published the same way whichever process (api or worker) made the change.
//!
//! Listeners of two kinds react: [`InTransaction`] ones run in the raising transaction
//! just before its commit (they enqueue work through the outbox), and subscribers of
//! the [`Bus`] hear of the event after the commit. Events are data with a versioned
//! name and the ids a listener needs, never whole rows: a listener reads what else it
//! needs through the owning module's service.
//! This module owns the `events` and `event_sequences` tables and knows no module.
//!
//! [`Tx::raise`]: crate::platform::database::Tx::raise

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use sqlx::postgres::PgListener;
use tokio::sync::{broadcast, watch};
use uuid::Uuid;

use crate::platform::database::Db;

/// The NOTIFY (or Redis) channel; its payload is `account:first_seq:last_seq`.
pub const CHANNEL: &str = "jobber_events";
/// Events are kept this long for clients that resume after a reconnect.
pub const KEEP_DAYS: i32 = 7;
/// How many published events a slow in-process subscriber may fall behind.
const BUS_CAPACITY: usize = 4096;

/// What happened, with the ids a listener needs. The serialized form is
/// `{"type": "client.updated", "data": {"client_id": "…"}}`; a type's name is its
/// version (a change of meaning gets a new name).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum Event {
    #[serde(rename = "client.created")]
    ClientCreated { client_id: Uuid },
    #[serde(rename = "client.updated")]
    ClientUpdated { client_id: Uuid },
    #[serde(rename = "client.deleted")]
    ClientDeleted { client_id: Uuid },
    #[serde(rename = "client.archived")]
    ClientArchived { client_id: Uuid },
    /// A new picture was taken in, made ready, failed, or removed.
    #[serde(rename = "client.avatar_changed")]
    ClientAvatarChanged { client_id: Uuid },
    #[serde(rename = "quote.created")]
    QuoteCreated { quote_id: Uuid, client_id: Uuid },
    #[serde(rename = "quote.updated")]
    QuoteUpdated { quote_id: Uuid },
    #[serde(rename = "quote.sent")]
    QuoteSent { quote_id: Uuid },
    #[serde(rename = "quote.approved")]
    QuoteApproved { quote_id: Uuid, client_id: Uuid },
    #[serde(rename = "quote.declined")]
    QuoteDeclined { quote_id: Uuid },
    #[serde(rename = "quote.changes_requested")]
    QuoteChangesRequested { quote_id: Uuid },
    // The ids added after an event's first version (`client_id`, `job_id`, counts)
    // read as nil or 0 from an older row.
    #[serde(rename = "quote.archived")]
    QuoteArchived {
        quote_id: Uuid,
        #[serde(default)]
        client_id: Uuid,
    },
    /// Converted into the job `job_id`.
    #[serde(rename = "quote.converted")]
    QuoteConverted {
        quote_id: Uuid,
        #[serde(default)]
        client_id: Uuid,
        #[serde(default)]
        job_id: Uuid,
    },
    #[serde(rename = "quote.expired")]
    QuoteExpired {
        quote_id: Uuid,
        #[serde(default)]
        client_id: Uuid,
    },
    #[serde(rename = "job.created")]
    JobCreated { job_id: Uuid, client_id: Uuid },
    #[serde(rename = "job.updated")]
    JobUpdated { job_id: Uuid },
    /// Completed, with the open visits it completed.
    #[serde(rename = "job.completed")]
    JobCompleted {
        job_id: Uuid,
        #[serde(default)]
        client_id: Uuid,
        #[serde(default)]
        visits_completed: u64,
    },
    /// Cancelled: its future visits removed, its other open ones cancelled.
    #[serde(rename = "job.cancelled")]
    JobCancelled {
        job_id: Uuid,
        #[serde(default)]
        client_id: Uuid,
        #[serde(default)]
        visits_removed: u64,
        #[serde(default)]
        visits_cancelled: u64,
    },
    #[serde(rename = "visit.scheduled")]
    VisitScheduled { visit_id: Uuid, job_id: Uuid },
    #[serde(rename = "visit.updated")]
    VisitUpdated { visit_id: Uuid, job_id: Uuid },
    #[serde(rename = "visit.completed")]
    VisitCompleted {
        visit_id: Uuid,
        job_id: Uuid,
        #[serde(default)]
        client_id: Uuid,
    },
    /// A visit moved or reassigned on the calendar; `assigned` and `unassigned` name
    /// the people added to it and taken off it (empty when the people stayed).
    #[serde(rename = "schedule.changed")]
    ScheduleChanged {
        visit_id: Uuid,
        job_id: Uuid,
        #[serde(default)]
        assigned: Vec<Uuid>,
        #[serde(default)]
        unassigned: Vec<Uuid>,
    },
    #[serde(rename = "invoice.created")]
    InvoiceCreated { invoice_id: Uuid, client_id: Uuid },
    #[serde(rename = "invoice.sent")]
    InvoiceSent { invoice_id: Uuid },
    #[serde(rename = "invoice.paid")]
    InvoicePaid { invoice_id: Uuid },
    #[serde(rename = "invoice.voided")]
    InvoiceVoided {
        invoice_id: Uuid,
        #[serde(default)]
        client_id: Uuid,
    },
    #[serde(rename = "invoice.written_off")]
    InvoiceWrittenOff { invoice_id: Uuid },
    #[serde(rename = "invoice.deleted")]
    InvoiceDeleted {
        invoice_id: Uuid,
        #[serde(default)]
        client_id: Uuid,
    },
    #[serde(rename = "payment.recorded")]
    PaymentRecorded { payment_id: Uuid },
    #[serde(rename = "payment.started")]
    PaymentStarted { payment_id: Uuid },
    #[serde(rename = "payment.succeeded")]
    PaymentSucceeded { payment_id: Uuid },
    #[serde(rename = "payment.failed")]
    PaymentFailed { payment_id: Uuid },
    #[serde(rename = "payment.refunded")]
    PaymentRefunded { payment_id: Uuid },
    #[serde(rename = "message.received")]
    MessageReceived {
        message_id: Uuid,
        client_id: Option<Uuid>,
    },
    #[serde(rename = "request.received")]
    RequestReceived { request_id: Uuid },
    #[serde(rename = "notification.created")]
    NotificationCreated { event_id: Uuid, user_ids: Vec<Uuid> },
    /// The account's settings (its row: name, zone, currency, logo...) changed.
    #[serde(rename = "settings.updated")]
    SettingsUpdated {},
    /// A user's name, email, role, status or password changed.
    #[serde(rename = "user.updated")]
    UserUpdated { user_id: Uuid },
    /// One sign-in ended (sign-out or revocation): a browser session or a token login.
    #[serde(rename = "session.revoked")]
    SessionRevoked { session_id: Uuid, user_id: Uuid },
    /// Every sign-in of a user ended ("log out everywhere", a password reset).
    #[serde(rename = "user.sessions_revoked")]
    UserSessionsRevoked { user_id: Uuid },
}

impl Event {
    /// The versioned name (`client.updated`).
    pub fn name(&self) -> &'static str {
        match self {
            Event::ClientCreated { .. } => "client.created",
            Event::ClientUpdated { .. } => "client.updated",
            Event::ClientDeleted { .. } => "client.deleted",
            Event::ClientArchived { .. } => "client.archived",
            Event::ClientAvatarChanged { .. } => "client.avatar_changed",
            Event::QuoteCreated { .. } => "quote.created",
            Event::QuoteUpdated { .. } => "quote.updated",
            Event::QuoteSent { .. } => "quote.sent",
            Event::QuoteApproved { .. } => "quote.approved",
            Event::QuoteDeclined { .. } => "quote.declined",
            Event::QuoteChangesRequested { .. } => "quote.changes_requested",
            Event::QuoteArchived { .. } => "quote.archived",
            Event::QuoteConverted { .. } => "quote.converted",
            Event::QuoteExpired { .. } => "quote.expired",
            Event::JobCreated { .. } => "job.created",
            Event::JobUpdated { .. } => "job.updated",
            Event::JobCompleted { .. } => "job.completed",
            Event::JobCancelled { .. } => "job.cancelled",
            Event::VisitScheduled { .. } => "visit.scheduled",
            Event::VisitUpdated { .. } => "visit.updated",
            Event::VisitCompleted { .. } => "visit.completed",
            Event::ScheduleChanged { .. } => "schedule.changed",
            Event::InvoiceCreated { .. } => "invoice.created",
            Event::InvoiceSent { .. } => "invoice.sent",
            Event::InvoicePaid { .. } => "invoice.paid",
            Event::InvoiceVoided { .. } => "invoice.voided",
            Event::InvoiceWrittenOff { .. } => "invoice.written_off",
            Event::InvoiceDeleted { .. } => "invoice.deleted",
            Event::PaymentRecorded { .. } => "payment.recorded",
            Event::PaymentStarted { .. } => "payment.started",
            Event::PaymentSucceeded { .. } => "payment.succeeded",
            Event::PaymentFailed { .. } => "payment.failed",
            Event::PaymentRefunded { .. } => "payment.refunded",
            Event::MessageReceived { .. } => "message.received",
            Event::RequestReceived { .. } => "request.received",
            Event::NotificationCreated { .. } => "notification.created",
            Event::SettingsUpdated {} => "settings.updated",
            Event::UserUpdated { .. } => "user.updated",
            Event::SessionRevoked { .. } => "session.revoked",
            Event::UserSessionsRevoked { .. } => "user.sessions_revoked",
        }
    }

    /// The `data` half of the serialized form.
    pub fn data(&self) -> serde_json::Value {
        match serde_json::to_value(self) {
            Ok(serde_json::Value::Object(mut tagged)) => {
                tagged.remove("data").unwrap_or(serde_json::Value::Null)
            }
            _ => serde_json::Value::Null,
        }
    }

    /// Read back from a row; `None` for a type this binary does not know (written by
    /// a newer one during a rolling upgrade).
    fn from_row(type_: &str, data: serde_json::Value) -> Option<Event> {
        serde_json::from_value(serde_json::json!({"type": type_, "data": data})).ok()
    }
}

/// An event as committed: its account, its place in the account's order, when, and
/// who made the change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    /// The row's `id` in `events` (global, unlike `seq`).
    pub id: i64,
    pub account_id: Uuid,
    pub seq: i64,
    pub at: DateTime<Utc>,
    pub request_id: Option<String>,
    pub actor: Option<Actor>,
    pub event: Event,
}

/// Who made a change: `{"user": id}`, `{"hub": id}` (a client in the client hub, by
/// the signed link of that quote or invoice), `{"webhook": "stripe"}` or
/// `{"system": "<queue>"}` (a background job).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Actor {
    User(Uuid),
    Hub(Uuid),
    Webhook(String),
    System(String),
}

tokio::task_local! {
    /// Who is acting on this task (a request or a background job); filled in as soon
    /// as it is known (the login extractor, the hub's signed link, a webhook).
    static ACTOR: std::sync::Arc<std::sync::Mutex<Option<Actor>>>;
}

/// Run `work` with an actor slot of its own, set to `actor` if known already. The
/// events its changes raise record who acted.
pub async fn acting<F: std::future::Future>(actor: Option<Actor>, work: F) -> F::Output {
    ACTOR
        .scope(std::sync::Arc::new(std::sync::Mutex::new(actor)), work)
        .await
}

/// Say who is acting on this task (within [`acting`]; elsewhere nothing happens).
pub fn act_as(actor: Actor) {
    let _ = ACTOR.try_with(|slot| {
        if let Ok(mut slot) = slot.lock() {
            *slot = Some(actor);
        }
    });
}

pub(crate) fn current_actor() -> Option<Actor> {
    ACTOR
        .try_with(|slot| slot.lock().ok().and_then(|a| a.clone()))
        .ok()
        .flatten()
}

/// A listener that reacts *inside* the transaction that raised the event, just before
/// it commits: what it writes (an outbox job, a sync record) commits or rolls back
/// with the change itself, so nothing is lost or done for a change that did not
/// happen. It works on the transaction's connection only, so its errors are database
/// errors, and it raises no events of its own.
pub type InTransaction = for<'a> fn(
    &'a mut PgConnection,
    Uuid,
    &'a Event,
)
    -> futures_util::future::BoxFuture<'a, Result<(), sqlx::Error>>;

/// An in-transaction listener that holds what it needs besides the connection (the
/// client-message listeners sign client-hub links with the server's keys). A plain
/// [`InTransaction`] function is one too.
pub trait Listener: Send + Sync {
    fn on_event<'a>(
        &'a self,
        conn: &'a mut PgConnection,
        account_id: Uuid,
        event: &'a Event,
    ) -> futures_util::future::BoxFuture<'a, Result<(), sqlx::Error>>;
}

impl Listener for InTransaction {
    fn on_event<'a>(
        &'a self,
        conn: &'a mut PgConnection,
        account_id: Uuid,
        event: &'a Event,
    ) -> futures_util::future::BoxFuture<'a, Result<(), sqlx::Error>> {
        self(conn, account_id, event)
    }
}

/// The in-transaction listeners of a database, installed once by the application
/// (`crate::app::in_transaction`) before any change is made.
#[derive(Clone, Default)]
pub struct Listeners(Arc<std::sync::OnceLock<Vec<Arc<dyn Listener>>>>);

impl Listeners {
    /// Install the listeners; a second installation is ignored (every `App` built on
    /// clones of one database installs the same list).
    pub fn install(&self, listeners: Vec<Arc<dyn Listener>>) {
        let _ = self.0.set(listeners);
    }

    /// Run every listener on every event, in order, on the transaction's connection.
    pub(crate) async fn run(
        &self,
        conn: &mut PgConnection,
        account_id: Uuid,
        events: &[Event],
    ) -> Result<(), sqlx::Error> {
        let Some(listeners) = self.0.get() else {
            return Ok(());
        };
        for event in events {
            for listener in listeners {
                listener.on_event(conn, account_id, event).await?;
            }
        }
        Ok(())
    }
}

/// The in-process channel committed events are published on.
#[derive(Clone)]
pub struct Bus {
    sender: broadcast::Sender<Arc<Published>>,
    published: Arc<std::sync::atomic::AtomicU64>,
}

impl Default for Bus {
    fn default() -> Self {
        Self {
            sender: broadcast::channel(BUS_CAPACITY).0,
            published: Arc::default(),
        }
    }
}

impl Bus {
    /// Every event committed from now on, by any instance, in each account's order.
    /// A receiver that falls more than a few thousand events behind is told how many
    /// it missed (`RecvError::Lagged`) and can read them back with [`since`].
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Published>> {
        self.sender.subscribe()
    }

    fn publish(&self, published: Published) {
        self.published
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        // No receiver is fine: nobody is listening.
        let _ = self.sender.send(Arc::new(published));
    }

    /// Events this process has published since it started (for `/metrics`).
    pub fn published(&self) -> u64 {
        self.published.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Subscribers listening now (for `/metrics`).
    pub fn subscribers(&self) -> usize {
        self.sender.receiver_count()
    }
}

/// Write `events` in the caller's transaction, unnumbered: they get their `seq` after
/// the commit, from [`number`]. Nothing shared is locked, so writes of one account
/// commit independently of each other.
/// Returns the rows' ids, in order.
pub(crate) async fn write(
    conn: &mut PgConnection,
    account_id: Uuid,
    events: &[Event],
) -> Result<Vec<i64>, sqlx::Error> {
    if events.is_empty() {
        return Ok(Vec::new());
    }
    let types: Vec<String> = events.iter().map(|e| e.name().to_owned()).collect();
    let data: Vec<serde_json::Value> = events.iter().map(Event::data).collect();
    let request_id = crate::platform::logging::current_request_id();
    let actor = current_actor().and_then(|actor| serde_json::to_value(actor).ok());
    // Their `id`s (a global identity) keep the order they were raised in.
    sqlx::query_scalar(
        "INSERT INTO events (account_id, type, data, request_id, actor)
         SELECT $1, e.type, e.data, $4, $5
         FROM unnest($2::text[], $3::jsonb[]) WITH ORDINALITY AS e (type, data, ord)
         ORDER BY e.ord
         RETURNING id",
    )
    .bind(account_id)
    .bind(&types)
    .bind(&data)
    .bind(request_id)
    .bind(actor)
    .fetch_all(conn)
    .await
}

/// How many events one sequencing numbers at most (a backlog takes several).
const NUMBER_AT_MOST: i32 = 10_000;

/// Number the account's committed, unnumbered events after its last `seq`, in one
/// short transaction of their own (the `events_number` function), and announce them
/// (PostgreSQL's NOTIFY is sent by the numbering itself; Redis by `fanout`). Run after
/// each commit that wrote events, and by the [`sweep`]. Sequencings of one account are
/// serialized, and each numbers every event committed before it, so under load one
/// covers many writes, and one that finds its work done writes nothing. Returns the
/// range numbered, `None` when there was nothing to number.
pub(crate) async fn number(
    pool: &sqlx::PgPool,
    fanout: &Fanout,
    account_id: Uuid,
) -> Result<Option<(i64, i64)>, sqlx::Error> {
    let mut numbered: Option<(i64, i64)> = None;
    loop {
        let range: Option<(i64, i64)> =
            sqlx::query_as("SELECT first, last FROM events_number($1, $2)")
                .bind(account_id)
                .bind(NUMBER_AT_MOST)
                .fetch_optional(pool)
                .await?;
        let Some((first, last)) = range else {
            return Ok(numbered);
        };
        fanout.announce(account_id, (first, last));
        numbered = Some((numbered.map_or(first, |(from, _)| from), last));
        if last - first + 1 < i64::from(NUMBER_AT_MOST) {
            return Ok(numbered);
        }
    }
}

/// Numbers the events of this process's commits, one sequencing at a time per
/// account: a commit that finds one running waits for the next, which covers every
/// commit made meanwhile. Under load a process runs about one sequencing per account
/// for many writes instead of one per write (the database serializes them anyway).
#[derive(Clone)]
pub struct Sequencer {
    pool: sqlx::PgPool,
    fanout: Fanout,
    accounts: Arc<std::sync::Mutex<std::collections::HashMap<Uuid, Turns>>>,
}

/// An account whose commits are being numbered.
struct Turns {
    /// Commits asked to be numbered so far (each gets the next ticket).
    asked: u64,
    /// Every commit up to this ticket has been numbered.
    done: watch::Sender<u64>,
}

impl Sequencer {
    pub(crate) fn new(pool: sqlx::PgPool, fanout: Fanout) -> Self {
        Self {
            pool,
            fanout,
            accounts: Arc::default(),
        }
    }

    /// After a commit that wrote events of `account_id`: return once they are
    /// numbered and announced (or, on a database error, left for the [`sweep`]).
    /// The work runs on a task of its own, so a caller dropped meanwhile leaves
    /// nothing undone.
    pub(crate) async fn committed(&self, account_id: Uuid) {
        let (ticket, mut done) = {
            let Ok(mut accounts) = self.accounts.lock() else {
                return;
            };
            let turns = accounts.entry(account_id).or_insert_with(|| Turns {
                asked: 0,
                done: watch::channel(0).0,
            });
            turns.asked += 1;
            if turns.asked == 1 {
                tokio::spawn(self.clone().run(account_id));
            }
            (turns.asked, turns.done.subscribe())
        };
        // Closed only once every ticket is done.
        let _ = done.wait_for(|done| *done >= ticket).await;
    }

    /// Number the account's events until no commit waits: each turn covers the
    /// tickets given before it began, whose commits it therefore sees.
    async fn run(self, account_id: Uuid) {
        loop {
            let Some(target) = self.turns(account_id, |turns| turns.asked) else {
                return;
            };
            if let Err(error) = number(&self.pool, &self.fanout, account_id).await {
                tracing::warn!(%error, %account_id, "cannot number committed events now; the sweep will");
            }
            let Ok(mut accounts) = self.accounts.lock() else {
                return;
            };
            let Some(turns) = accounts.get_mut(&account_id) else {
                return;
            };
            turns.done.send_replace(target);
            if turns.asked == target {
                accounts.remove(&account_id);
                return;
            }
        }
    }

    fn turns<T>(&self, account_id: Uuid, read: impl FnOnce(&Turns) -> T) -> Option<T> {
        let accounts = self.accounts.lock().ok()?;
        accounts.get(&account_id).map(read)
    }
}

/// How often every process looks for committed events left unnumbered (by a writer
/// that crashed between its commit and their numbering, or lost its connection).
const SWEEP_EVERY: Duration = Duration::from_secs(10);

/// Number and announce every account's committed, unnumbered events; returns how
/// many accounts had some. On the owner's connection, across accounts (like
/// [`purge`]).
pub async fn sweep(db: &Db) -> Result<usize, sqlx::Error> {
    let accounts: Vec<Uuid> =
        sqlx::query_scalar("SELECT DISTINCT account_id FROM events WHERE seq IS NULL")
            .fetch_all(db.pool())
            .await?;
    for account_id in &accounts {
        number(db.pool(), db.fanout(), *account_id).await?;
    }
    Ok(accounts.len())
}

/// Sweep at start and every [`SWEEP_EVERY`] until `stop` (every role runs it: any
/// process may have crashed with events unnumbered).
pub async fn sweeper(db: Db, mut stop: watch::Receiver<bool>) {
    loop {
        match sweep(&db).await {
            Ok(0) => {}
            Ok(accounts) => tracing::info!(accounts, "numbered events a writer left unnumbered"),
            Err(error) => tracing::warn!(%error, "cannot sweep unnumbered events"),
        }
        tokio::select! {
            () = tokio::time::sleep(SWEEP_EVERY) => {}
            _ = stop.wait_for(|stopped| *stopped) => return,
        }
    }
}

/// The account's events after `seq`, oldest first, at most `limit` (a client
/// resuming after a reconnect). Events older than [`KEEP_DAYS`] are gone: compare
/// the first `seq` returned with `seq + 1` to know whether some were missed.
pub async fn since(
    db: &Db,
    account_id: Uuid,
    seq: i64,
    limit: i64,
) -> Result<Vec<Published>, sqlx::Error> {
    let mut tx = db.tenant(account_id).await?;
    // Numbered rows only (`seq > …`): an unnumbered one is not committed yet as far as
    // readers go.
    let rows: Vec<EventRow> = sqlx::query_as(
        "SELECT id, seq, type, data, request_id, actor, created_at FROM events
         WHERE account_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
    )
    .bind(account_id)
    .bind(seq)
    .bind(limit)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, seq, type_, data, request_id, actor, at)| {
            Some(Published {
                id,
                account_id,
                seq,
                at,
                request_id,
                actor: actor.and_then(|a| serde_json::from_value(a).ok()),
                event: Event::from_row(&type_, data)?,
            })
        })
        .collect())
}

/// A record whose changes the event log names: its events are those of type
/// `<kind>.…` whose data holds `<kind>_id` (`client.updated` with `client_id`); the
/// account's settings are `settings.updated`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Record {
    Client(Uuid),
    Quote(Uuid),
    Job(Uuid),
    Visit(Uuid),
    Invoice(Uuid),
    User(Uuid),
    Settings,
}

impl Record {
    /// The `type` prefixes of the events that change it, and the data key and id that
    /// name it. A visit is also moved or reassigned by `schedule.changed`.
    fn key(self) -> (&'static [&'static str], Option<(&'static str, Uuid)>) {
        match self {
            Record::Client(id) => (&["client."], Some(("client_id", id))),
            Record::Quote(id) => (&["quote."], Some(("quote_id", id))),
            Record::Job(id) => (&["job."], Some(("job_id", id))),
            Record::Visit(id) => (&["visit.", "schedule.changed"], Some(("visit_id", id))),
            Record::Invoice(id) => (&["invoice."], Some(("invoice_id", id))),
            Record::User(id) => (&["user."], Some(("user_id", id))),
            Record::Settings => (&["settings."], None),
        }
    }
}

/// Who made the latest change of `record` at or after `since` (the record's
/// `updated_at`), and when, as the event log says: `None` when no event of it was
/// written since (a change older than [`KEEP_DAYS`], or one that raises none). Only
/// events written since the record's last change are considered, so an older change
/// is never named as the last. Read on the caller's tenant transaction: a stale write
/// asks this just before it refuses (`users::service::stale_in`).
pub async fn last_change(
    conn: &mut PgConnection,
    account_id: Uuid,
    record: Record,
    since: DateTime<Utc>,
) -> Result<Option<(Option<Actor>, DateTime<Utc>)>, sqlx::Error> {
    let (prefixes, named) = record.key();
    let (key, id) = named.map_or((None, None), |(key, id)| (Some(key), Some(id.to_string())));
    // An event's `created_at` is taken just before its commit, so never before the
    // `updated_at` (`now()`, the transaction's start) of the change that raised it.
    let row: Option<(Option<serde_json::Value>, DateTime<Utc>)> = sqlx::query_as(
        "SELECT actor, created_at FROM events
         WHERE account_id = $1 AND created_at >= $2
           AND EXISTS (SELECT 1 FROM unnest($3::text[]) p WHERE starts_with(type, p))
           AND ($4::text IS NULL OR data ->> $4 = $5)
         ORDER BY id DESC LIMIT 1",
    )
    .bind(account_id)
    .bind(since)
    .bind(prefixes)
    .bind(key)
    .bind(id)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|(actor, at)| (actor.and_then(|a| serde_json::from_value(a).ok()), at)))
}

/// A row of `events` as [`since`] reads it.
type EventRow = (
    i64,
    i64,
    String,
    serde_json::Value,
    Option<String>,
    Option<serde_json::Value>,
    DateTime<Utc>,
);

/// The account's latest sequence number (0 before its first event).
pub async fn last_seq(db: &Db, account_id: Uuid) -> Result<i64, sqlx::Error> {
    let mut tx = db.tenant(account_id).await?;
    let last = sqlx::query_scalar!(
        "SELECT last_seq FROM event_sequences WHERE account_id = $1",
        account_id
    )
    .fetch_optional(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(last.unwrap_or(0))
}

/// Delete events older than [`KEEP_DAYS`] across accounts (the `cleanup` cron task,
/// on the owner's connection).
pub async fn purge(pool: &sqlx::PgPool) -> Result<u64, sqlx::Error> {
    let done = sqlx::query!(
        "DELETE FROM events WHERE created_at < now() - make_interval(days => $1)",
        KEEP_DAYS
    )
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}

/// How committed events are announced to every process: PostgreSQL's `NOTIFY` (sent
/// by a trigger on commit), or, with `redis_url`, Redis pub/sub on the same channel
/// name, published by the committing process right after its commit (for setups where
/// `LISTEN` is unavailable, such as PgBouncer in transaction mode).
#[derive(Clone, Default)]
pub struct Fanout(Arc<std::sync::OnceLock<Redis>>);

#[derive(Clone)]
struct Redis {
    client: redis::Client,
    /// Announcements waiting for the publisher task, in commit order.
    outbox: tokio::sync::mpsc::UnboundedSender<String>,
}

impl Fanout {
    /// Announce through Redis from now on (a second call is ignored). Starts the task
    /// that publishes; it reconnects after a lost connection, and what it could not
    /// publish meanwhile is not live (clients resume by `seq`).
    pub fn use_redis(&self, url: &str) -> anyhow::Result<()> {
        let client =
            redis::Client::open(url).map_err(|e| anyhow::anyhow!("invalid redis_url: {e}"))?;
        let (outbox, mut pending) = tokio::sync::mpsc::unbounded_channel::<String>();
        if self
            .0
            .set(Redis {
                client: client.clone(),
                outbox,
            })
            .is_err()
        {
            return Ok(());
        }
        tokio::spawn(async move {
            let mut connection = None;
            while let Some(payload) = pending.recv().await {
                if connection.is_none() {
                    connection = client.get_multiplexed_async_connection().await.map_err(|error| {
                        tracing::warn!(%error, "cannot reach Redis to announce events; live clients will resume");
                    }).ok();
                }
                if let Some(conn) = connection.as_mut() {
                    let published: redis::RedisResult<()> = redis::cmd("PUBLISH")
                        .arg(CHANNEL)
                        .arg(&payload)
                        .query_async(conn)
                        .await;
                    if let Err(error) = published {
                        tracing::warn!(%error, "cannot announce events on Redis; reconnecting");
                        connection = None;
                    }
                }
            }
        });
        Ok(())
    }

    fn redis(&self) -> Option<&Redis> {
        self.0.get()
    }

    /// After a sequencing that numbered `first..=last`: tell the other processes
    /// (with PostgreSQL's NOTIFY the numbering's trigger already did).
    pub(crate) fn announce(&self, account_id: Uuid, (first, last): (i64, i64)) {
        if let Some(redis) = self.redis() {
            let _ = redis.outbox.send(format!("{account_id}:{first}:{last}"));
        }
    }
}

/// Listen for committed events of every instance and publish them on `db`'s bus until
/// `stop`. A lost connection is re-established after a 5 s pause; what was committed
/// meanwhile is not published (resuming clients read it back with [`since`]).
pub async fn relay(db: Db, mut stop: watch::Receiver<bool>) {
    let mut order = Order::default();
    loop {
        let result = tokio::select! {
            result = listen(&db, &mut order) => result,
            _ = stop.wait_for(|stopped| *stopped) => return,
        };
        // Changes committed until the relay listens again go unheard: no caching
        // meanwhile (`platform::cache`).
        db.caches().disable();
        if let Err(error) = result {
            tracing::warn!(
                error = format!("{error:#}"),
                "event relay lost its connection; reconnecting"
            );
        }
        tokio::select! {
            () = tokio::time::sleep(Duration::from_secs(5)) => {}
            _ = stop.wait_for(|stopped| *stopped) => return,
        }
    }
}

/// The last `seq` published per account: announcements may arrive out of order
/// (Redis, from several processes), but the bus carries each account's events in
/// order and once.
#[derive(Default)]
struct Order {
    published: std::collections::HashMap<Uuid, i64>,
}

/// Past this many unannounced events (a long outage), the relay skips ahead: clients
/// resume from the table instead.
const MAX_CATCH_UP: i64 = 1000;

impl Order {
    async fn relay(&mut self, db: &Db, payload: &str) -> Result<(), sqlx::Error> {
        let Some((account_id, first, last)) = parse_payload(payload) else {
            tracing::warn!(payload, "malformed event announcement");
            return Ok(());
        };
        let done = self.published.get(&account_id).copied();
        let from = match done {
            Some(done) if done >= last => return Ok(()),
            Some(done) if last - done <= MAX_CATCH_UP => done,
            _ => first - 1,
        };
        if done.is_some_and(|done| from > done) {
            // Skipped events may have made any of the account's entries stale.
            db.caches().forget_account(account_id).await;
        }
        for published in since(db, account_id, from, last - from).await? {
            self.published.insert(account_id, published.seq);
            // Caches first: a client told of the change must not read the old value.
            // An event this process committed emptied them right after its commit;
            // doing it again would only keep loads begun since from being stored.
            if !db.caches().take_applied(published.id) {
                db.caches()
                    .on_event(published.account_id, &published.event)
                    .await;
            }
            db.events().publish(published);
        }
        Ok(())
    }
}

async fn listen(db: &Db, order: &mut Order) -> anyhow::Result<()> {
    if let Some(redis) = db.fanout().redis() {
        let mut pubsub = redis.client.get_async_pubsub().await?;
        pubsub.subscribe(CHANNEL).await?;
        db.caches().enable();
        let mut messages = pubsub.on_message();
        while let Some(message) = futures_util::StreamExt::next(&mut messages).await {
            let payload: String = message.get_payload()?;
            order.relay(db, &payload).await?;
        }
        anyhow::bail!("Redis closed the subscription");
    }
    let mut listener = PgListener::connect_with(db.pool()).await?;
    listener.listen(CHANNEL).await?;
    db.caches().enable();
    loop {
        let notification = listener.recv().await?;
        order.relay(db, notification.payload()).await?;
    }
}

fn parse_payload(payload: &str) -> Option<(Uuid, i64, i64)> {
    let mut parts = payload.split(':');
    let account = Uuid::try_parse(parts.next()?).ok()?;
    let first = parts.next()?.parse().ok()?;
    let last = parts.next()?.parse().ok()?;
    (first <= last && parts.next().is_none()).then_some((account, first, last))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every event type the enum declares, as serde knows them: deserializing an
    /// unknown type fails with the full list of the variants' names, so a variant
    /// added later is in it without anyone listing it.
    fn declared_names() -> std::collections::BTreeSet<String> {
        let error = serde_json::from_value::<Event>(serde_json::json!({
            "type": "no.such_event", "data": {}
        }))
        .unwrap_err()
        .to_string();
        let (_, expected) = error
            .split_once("expected one of ")
            .unwrap_or_else(|| panic!("serde's message changed: {error}"));
        expected
            .split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_owned)
            .collect()
    }

    /// One event of each type. The match makes a new variant a compile error here
    /// until it is given a sample below; `every_name_reads_back_to_its_event` checks
    /// the samples against the enum's declared names.
    fn one_of_each(id: Uuid) -> Vec<Event> {
        let sample = |event: &Event| match event {
            Event::ClientCreated { .. }
            | Event::ClientUpdated { .. }
            | Event::ClientDeleted { .. }
            | Event::ClientArchived { .. }
            | Event::ClientAvatarChanged { .. }
            | Event::QuoteCreated { .. }
            | Event::QuoteUpdated { .. }
            | Event::QuoteSent { .. }
            | Event::QuoteApproved { .. }
            | Event::QuoteDeclined { .. }
            | Event::QuoteChangesRequested { .. }
            | Event::QuoteArchived { .. }
            | Event::QuoteConverted { .. }
            | Event::QuoteExpired { .. }
            | Event::JobCreated { .. }
            | Event::JobUpdated { .. }
            | Event::JobCompleted { .. }
            | Event::JobCancelled { .. }
            | Event::VisitScheduled { .. }
            | Event::VisitUpdated { .. }
            | Event::VisitCompleted { .. }
            | Event::ScheduleChanged { .. }
            | Event::InvoiceCreated { .. }
            | Event::InvoiceSent { .. }
            | Event::InvoicePaid { .. }
            | Event::InvoiceVoided { .. }
            | Event::InvoiceWrittenOff { .. }
            | Event::InvoiceDeleted { .. }
            | Event::PaymentRecorded { .. }
            | Event::PaymentStarted { .. }
            | Event::PaymentSucceeded { .. }
            | Event::PaymentFailed { .. }
            | Event::PaymentRefunded { .. }
            | Event::MessageReceived { .. }
            | Event::RequestReceived { .. }
            | Event::NotificationCreated { .. }
            | Event::SettingsUpdated {}
            | Event::UserUpdated { .. }
            | Event::SessionRevoked { .. }
            | Event::UserSessionsRevoked { .. } => event.clone(),
        };
        [
            Event::ClientCreated { client_id: id },
            Event::ClientUpdated { client_id: id },
            Event::ClientDeleted { client_id: id },
            Event::ClientArchived { client_id: id },
            Event::ClientAvatarChanged { client_id: id },
            Event::QuoteCreated {
                quote_id: id,
                client_id: id,
            },
            Event::QuoteUpdated { quote_id: id },
            Event::QuoteSent { quote_id: id },
            Event::QuoteApproved {
                quote_id: id,
                client_id: id,
            },
            Event::QuoteDeclined { quote_id: id },
            Event::QuoteChangesRequested { quote_id: id },
            Event::QuoteArchived {
                quote_id: id,
                client_id: id,
            },
            Event::QuoteConverted {
                quote_id: id,
                client_id: id,
                job_id: id,
            },
            Event::QuoteExpired {
                quote_id: id,
                client_id: id,
            },
            Event::JobCreated {
                job_id: id,
                client_id: id,
            },
            Event::JobUpdated { job_id: id },
            Event::JobCompleted {
                job_id: id,
                client_id: id,
                visits_completed: 2,
            },
            Event::JobCancelled {
                job_id: id,
                client_id: id,
                visits_removed: 1,
                visits_cancelled: 3,
            },
            Event::VisitScheduled {
                visit_id: id,
                job_id: id,
            },
            Event::VisitUpdated {
                visit_id: id,
                job_id: id,
            },
            Event::VisitCompleted {
                visit_id: id,
                job_id: id,
                client_id: id,
            },
            Event::ScheduleChanged {
                visit_id: id,
                job_id: id,
                assigned: vec![id],
                unassigned: Vec::new(),
            },
            Event::InvoiceCreated {
                invoice_id: id,
                client_id: id,
            },
            Event::InvoiceSent { invoice_id: id },
            Event::InvoicePaid { invoice_id: id },
            Event::InvoiceVoided {
                invoice_id: id,
                client_id: id,
            },
            Event::InvoiceWrittenOff { invoice_id: id },
            Event::InvoiceDeleted {
                invoice_id: id,
                client_id: id,
            },
            Event::PaymentRecorded { payment_id: id },
            Event::PaymentStarted { payment_id: id },
            Event::PaymentSucceeded { payment_id: id },
            Event::PaymentFailed { payment_id: id },
            Event::PaymentRefunded { payment_id: id },
            Event::MessageReceived {
                message_id: id,
                client_id: Some(id),
            },
            Event::RequestReceived { request_id: id },
            Event::NotificationCreated {
                event_id: id,
                user_ids: vec![id],
            },
            Event::SettingsUpdated {},
            Event::UserUpdated { user_id: id },
            Event::SessionRevoked {
                session_id: id,
                user_id: id,
            },
            Event::UserSessionsRevoked { user_id: id },
        ]
        .iter()
        .map(sample)
        .collect()
    }

    #[test]
    fn every_name_reads_back_to_its_event() {
        let events = one_of_each(Uuid::now_v7());
        let names: std::collections::BTreeSet<String> =
            events.iter().map(|e| e.name().to_owned()).collect();
        assert_eq!(names.len(), events.len(), "one sample per type");
        assert_eq!(
            names,
            declared_names(),
            "every variant of `Event` has a sample in `one_of_each`"
        );
        for event in events {
            // `name()` agrees with serde's name, and the row reads back whole.
            assert_eq!(
                serde_json::to_value(&event).unwrap()["type"],
                event.name(),
                "{event:?}"
            );
            assert_eq!(
                Event::from_row(event.name(), event.data()),
                Some(event.clone())
            );
        }
    }

    /// docs/events.md has a row for every event in its table of payloads.
    #[test]
    fn every_event_has_a_row_in_the_docs() {
        let docs = include_str!("../../docs/events.md");
        let missing: Vec<String> = declared_names()
            .into_iter()
            .filter(|name| {
                !docs
                    .lines()
                    .any(|l| l.starts_with(&format!("| `{name}` |")))
            })
            .collect();
        assert!(
            missing.is_empty(),
            "no row in docs/events.md for {missing:?}"
        );
    }

    #[test]
    fn events_serialize_as_type_and_data() {
        let id = Uuid::now_v7();
        let event = Event::ClientUpdated { client_id: id };
        assert_eq!(
            serde_json::to_value(&event).unwrap(),
            serde_json::json!({"type": "client.updated", "data": {"client_id": id}})
        );
        assert_eq!(event.data(), serde_json::json!({"client_id": id}));
        assert_eq!(
            Event::from_row(event.name(), event.data()),
            Some(event.clone())
        );
        assert_eq!(Event::from_row("client.teleported", event.data()), None);
    }

    #[test]
    fn a_row_from_before_a_field_was_added_still_reads() {
        let id = Uuid::now_v7();
        assert_eq!(
            Event::from_row("job.cancelled", serde_json::json!({"job_id": id})),
            Some(Event::JobCancelled {
                job_id: id,
                client_id: Uuid::nil(),
                visits_removed: 0,
                visits_cancelled: 0,
            })
        );
        assert_eq!(
            Event::from_row(
                "schedule.changed",
                serde_json::json!({"visit_id": id, "job_id": id})
            ),
            Some(Event::ScheduleChanged {
                visit_id: id,
                job_id: id,
                assigned: Vec::new(),
                unassigned: Vec::new(),
            })
        );
    }

    #[test]
    fn notification_payloads() {
        let id = Uuid::now_v7();
        assert_eq!(parse_payload(&format!("{id}:3:5")), Some((id, 3, 5)));
        for bad in [
            "",
            "x:1:2",
            &format!("{id}:5:3"),
            &format!("{id}:1"),
            &format!("{id}:1:2:3"),
        ] {
            assert_eq!(parse_payload(bad), None, "{bad}");
        }
    }
}
