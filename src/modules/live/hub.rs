//! The registry of open WebSocket connections and the fan-out of committed events to
//! them.
//!
//! One task per process reads the event bus (fed by every instance's commits through
//! `LISTEN/NOTIFY`), resolves each event's [`Audience`] once, and offers it to the
//! connections of its account; when it cannot resolve one, the connections that might
//! have received the event are sent `resync_required` instead of missing it silently. A connection's outgoing queue is bounded: a client
//! too slow to drain it is closed with 1013 and resumes from its last `seq`, so a
//! slow phone never makes the server buffer without bound. (The socket's writer,
//! `live::routes`, drops what is still queued and sends the 1013 close frame behind
//! what the network holds already.)

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use prometheus::{Histogram, HistogramOpts, IntCounter, IntGauge};
use tokio::sync::{Notify, broadcast, mpsc, watch};
use uuid::Uuid;

use super::protocol::{Envelope, Outbound, Topic};
use super::scope::{Audience, Viewer};
use crate::platform::database::Db;
use crate::platform::events::Published;

/// How many of one connection's events may wait for the network.
pub const QUEUE: usize = 256;
/// Events buffered for a connection while it replays what it missed.
const REPLAY_BUFFER: usize = 4096;

/// Close codes (RFC 6455 §7.4.1 and the private range).
pub mod close {
    /// The server is going away (shutdown).
    pub const GOING_AWAY: u16 = 1001;
    /// A frame the protocol does not allow (binary, oversized).
    pub const UNSUPPORTED: u16 = 1003;
    pub const POLICY: u16 = 1008;
    /// Try again later: the client fell behind; reconnect and resume.
    pub const TRY_AGAIN_LATER: u16 = 1013;
    /// The reason sent with 1013 to a client too slow to read.
    pub const TOO_SLOW: &str = "too slow; reconnect and resume";
    /// The login behind the connection expired; reconnect with a fresh token.
    pub const REAUTHENTICATE: u16 = 4001;
}

/// Limits of the hub.
#[derive(Debug, Clone)]
pub struct Limits {
    pub per_user: usize,
    pub per_account: usize,
    /// Events waiting per connection.
    pub queue: usize,
    /// A ping this often; a connection silent for three of them is closed.
    pub heartbeat: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            per_user: 16,
            per_account: 1000,
            queue: QUEUE,
            heartbeat: Duration::from_secs(30),
        }
    }
}

/// A text frame to send.
#[derive(Debug)]
pub enum Frame {
    Text(Text),
}

/// A text frame's UTF-8 payload. Cheap to clone: one event's frame on a topic is
/// serialized once and shared by every connection it goes to. The hub knows no
/// WebSocket library; `live::routes` hands the bytes to the socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text(Bytes);

impl Text {
    pub fn as_str(&self) -> &str {
        // Made from a `String` only, so always UTF-8.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    pub fn into_bytes(self) -> Bytes {
        self.0
    }
}

impl From<String> for Text {
    fn from(text: String) -> Self {
        Self(Bytes::from(text))
    }
}

/// The frames of one event by topic, made on first use.
#[derive(Default)]
pub struct Frames(HashMap<Topic, Text>);

impl Frames {
    fn get(&mut self, published: &Published, topic: &Topic) -> Text {
        self.0
            .entry(*topic)
            .or_insert_with(|| Envelope::frame(published, topic).into())
            .clone()
    }
}

/// One open connection, as the fan-out sees it.
pub struct Conn {
    id: u64,
    pub viewer: Viewer,
    state: Mutex<ConnState>,
    queue: mpsc::Sender<Frame>,
    /// Set once, to the code the connection must close with.
    closing: Mutex<Option<(u16, &'static str)>>,
    close_now: Notify,
}

#[derive(Default)]
struct ConnState {
    topics: BTreeSet<Topic>,
    /// While a resume replays the events table, live events wait here.
    replaying: Option<Vec<(Arc<Published>, Arc<Audience>)>>,
    /// Per topic, the `seq` a resume's replay sent it everything up to: a live event at
    /// or below it was sent already. The relay may hand over an event committed before
    /// the reconnect only after the replay read it from the table.
    replayed: BTreeMap<Topic, i64>,
}

impl Conn {
    /// Ask the connection to close with `code`; the first reason wins.
    pub fn close(&self, code: u16, reason: &'static str) {
        if let Ok(mut closing) = self.closing.lock()
            && closing.is_none()
        {
            *closing = Some((code, reason));
        }
        self.close_now.notify_one();
    }

    /// Resolves when [`Conn::close`] was called; its code and reason.
    pub async fn closed(&self) -> (u16, &'static str) {
        loop {
            if let Some(reason) = self.closing.lock().ok().and_then(|c| *c) {
                return reason;
            }
            self.close_now.notified().await;
        }
    }

    pub fn topics(&self) -> BTreeSet<Topic> {
        self.state
            .lock()
            .map(|s| s.topics.clone())
            .unwrap_or_default()
    }

    /// Queue a control frame; a full queue closes the connection.
    pub fn send(&self, frame: Text, stats: &Stats) -> bool {
        match self.queue.try_send(Frame::Text(frame)) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                stats.dropped.inc();
                self.close(close::TRY_AGAIN_LATER, close::TOO_SLOW);
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }

    /// Offer a committed event on the `only` topics (all of them when `None`).
    fn offer(
        &self,
        published: &Published,
        audience: &Audience,
        only: Option<&BTreeSet<Topic>>,
        stats: &Stats,
        frames: &mut Frames,
    ) {
        let topics: Vec<Topic> = match self.state.lock() {
            Ok(state) => state
                .topics
                .iter()
                .filter(|t| only.is_none_or(|only| only.contains(t)))
                .filter(|t| state.replayed.get(t).is_none_or(|&r| published.seq > r))
                .copied()
                .collect(),
            Err(_) => return,
        };
        if !audience.is_resolved() {
            // Who may see it is unknown: rather than miss it silently, everyone who
            // might have received it reloads those topics.
            let topics: Vec<String> = topics
                .iter()
                .filter(|topic| audience.may_reach(&self.viewer, topic))
                .map(Topic::to_string)
                .collect();
            if !topics.is_empty() {
                let resync = Outbound::ResyncRequired {
                    topics,
                    seq: published.seq,
                };
                self.send(resync.frame().into(), stats);
            }
            return;
        }
        for topic in topics {
            if audience.reaches(&self.viewer, &topic) {
                if !self.send(frames.get(published, &topic), stats) {
                    return;
                }
                stats.delivered.inc();
                stats.observe_latency(published);
            }
        }
    }

    /// Hand a live event to the connection, or to its replay buffer while it resumes.
    fn deliver(
        &self,
        published: &Arc<Published>,
        audience: &Arc<Audience>,
        stats: &Stats,
        frames: &mut Frames,
    ) {
        if let Ok(mut state) = self.state.lock()
            && let Some(buffer) = state.replaying.as_mut()
        {
            if buffer.len() >= REPLAY_BUFFER {
                drop(state);
                stats.dropped.inc();
                self.close(close::TRY_AGAIN_LATER, close::TOO_SLOW);
            } else {
                buffer.push((published.clone(), audience.clone()));
            }
            return;
        }
        self.offer(published, audience, None, stats, frames);
    }

    /// Add topics; with `replay`, live events are held back until
    /// [`Conn::finish_replay`].
    pub fn subscribe(&self, topics: &[Topic], replay: bool, stats: &Stats) {
        if let Ok(mut state) = self.state.lock() {
            let before = state.topics.len();
            state.topics.extend(topics.iter().copied());
            stats.subscriptions.add(count(state.topics.len() - before));
            if replay && state.replaying.is_none() {
                state.replaying = Some(Vec::new());
            }
        }
    }

    pub fn unsubscribe(&self, topics: &[Topic], stats: &Stats) {
        if let Ok(mut state) = self.state.lock() {
            let before = state.topics.len();
            for topic in topics {
                state.topics.remove(topic);
            }
            stats.subscriptions.sub(count(before - state.topics.len()));
        }
    }

    /// End a resume that sent the `fresh` topics every event up to `replayed`: the
    /// held-back events go out, and any that arrive later, except what the replay
    /// already sent on `fresh`.
    pub fn finish_replay(&self, fresh: &BTreeSet<Topic>, replayed: i64, stats: &Stats) {
        let held = match self.state.lock() {
            Ok(mut state) => {
                for topic in fresh {
                    let floor = state.replayed.entry(*topic).or_insert(replayed);
                    *floor = (*floor).max(replayed);
                }
                state.replaying.take().unwrap_or_default()
            }
            Err(_) => return,
        };
        for (published, audience) in held {
            self.offer(&published, &audience, None, stats, &mut Frames::default());
        }
    }

    /// The frames of a replayed event on the `fresh` topics.
    pub fn replay_frames(
        &self,
        published: &Published,
        audience: &Audience,
        fresh: &BTreeSet<Topic>,
    ) -> Vec<String> {
        fresh
            .iter()
            .filter(|topic| audience.reaches(&self.viewer, topic))
            .map(|topic| Envelope::frame(published, topic))
            .collect()
    }
}

/// The hub's numbers for `/metrics`.
#[derive(Clone)]
pub struct Stats {
    pub connections: IntGauge,
    pub subscriptions: IntGauge,
    pub delivered: IntCounter,
    pub dropped: IntCounter,
    pub latency: Histogram,
}

impl Stats {
    fn new() -> Self {
        let gauge = |name: &str, help: &str| {
            IntGauge::new(name, help).unwrap_or_else(|e| unreachable!("{e}"))
        };
        let counter = |name: &str, help: &str| {
            IntCounter::new(name, help).unwrap_or_else(|e| unreachable!("{e}"))
        };
        Self {
            connections: gauge("jobber_ws_connections", "Open WebSocket connections"),
            subscriptions: gauge(
                "jobber_ws_subscriptions",
                "Topics subscribed on open WebSocket connections",
            ),
            delivered: counter(
                "jobber_ws_events_delivered_total",
                "Events queued to WebSocket clients (one per matching topic)",
            ),
            dropped: counter(
                "jobber_ws_events_dropped_total",
                "Events not delivered because the client was too slow (its connection was closed with 1013)",
            ),
            latency: Histogram::with_opts(
                HistogramOpts::new(
                    "jobber_ws_commit_to_socket_seconds",
                    "From an event's commit to its frame being queued to a WebSocket client",
                )
                .buckets(vec![
                    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
                ]),
            )
            .unwrap_or_else(|e| unreachable!("{e}")),
        }
    }

    fn observe_latency(&self, published: &Published) {
        let elapsed = chrono::Utc::now() - published.at;
        if let Ok(elapsed) = elapsed.to_std() {
            self.latency.observe(elapsed.as_secs_f64());
        }
    }

    /// The collectors, to register with the process's registry.
    pub fn collectors(&self) -> Vec<Box<dyn prometheus::core::Collector>> {
        vec![
            Box::new(self.connections.clone()),
            Box::new(self.subscriptions.clone()),
            Box::new(self.delivered.clone()),
            Box::new(self.dropped.clone()),
            Box::new(self.latency.clone()),
        ]
    }
}

/// Why a connection was not admitted.
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    PerUser(usize),
    PerAccount(usize),
    Stopping,
}

/// The live hub of this process.
#[derive(Clone)]
pub struct Hub {
    inner: Arc<Inner>,
}

struct Inner {
    limits: Limits,
    accounts: Mutex<HashMap<Uuid, Vec<Arc<Conn>>>>,
    next_id: AtomicU64,
    stats: Stats,
    stop: watch::Sender<bool>,
}

impl Hub {
    pub fn new(limits: Limits) -> Self {
        Self {
            inner: Arc::new(Inner {
                limits,
                accounts: Mutex::default(),
                next_id: AtomicU64::new(1),
                stats: Stats::new(),
                stop: watch::channel(false).0,
            }),
        }
    }

    pub fn limits(&self) -> &Limits {
        &self.inner.limits
    }

    pub fn stats(&self) -> &Stats {
        &self.inner.stats
    }

    /// Admit a connection for `viewer`, within the per-user and per-account limits.
    pub fn register(&self, viewer: Viewer) -> Result<(Arc<Conn>, mpsc::Receiver<Frame>), Refused> {
        if *self.inner.stop.borrow() {
            return Err(Refused::Stopping);
        }
        let limits = &self.inner.limits;
        let mut accounts = self.inner.accounts.lock().map_err(|_| Refused::Stopping)?;
        let conns = accounts.entry(viewer.account_id).or_default();
        if conns.len() >= limits.per_account {
            return Err(Refused::PerAccount(limits.per_account));
        }
        if conns
            .iter()
            .filter(|c| c.viewer.user_id == viewer.user_id)
            .count()
            >= limits.per_user
        {
            return Err(Refused::PerUser(limits.per_user));
        }
        let (queue, receiver) = mpsc::channel(limits.queue);
        let conn = Arc::new(Conn {
            id: self.inner.next_id.fetch_add(1, Ordering::Relaxed),
            viewer,
            state: Mutex::default(),
            queue,
            closing: Mutex::new(None),
            close_now: Notify::new(),
        });
        conns.push(conn.clone());
        self.inner.stats.connections.inc();
        Ok((conn, receiver))
    }

    /// Forget a connection that ended.
    pub fn unregister(&self, conn: &Conn) {
        if let Ok(mut accounts) = self.inner.accounts.lock()
            && let Some(conns) = accounts.get_mut(&conn.viewer.account_id)
        {
            conns.retain(|c| c.id != conn.id);
            if conns.is_empty() {
                accounts.remove(&conn.viewer.account_id);
            }
        }
        self.inner.stats.connections.dec();
        self.inner
            .stats
            .subscriptions
            .sub(count(conn.topics().len()));
    }

    fn connections_of(&self, account_id: Uuid) -> Vec<Arc<Conn>> {
        self.inner
            .accounts
            .lock()
            .ok()
            .and_then(|accounts| accounts.get(&account_id).cloned())
            .unwrap_or_default()
    }

    fn all_connections(&self) -> Vec<Arc<Conn>> {
        self.inner
            .accounts
            .lock()
            .map(|accounts| accounts.values().flatten().cloned().collect())
            .unwrap_or_default()
    }

    /// Resolves once the hub is stopping.
    pub async fn stopping(&self) {
        let mut stop = self.inner.stop.subscribe();
        let _ = stop.wait_for(|stopped| *stopped).await;
    }

    /// Close every connection with 1001 and admit no more (server shutdown).
    pub fn shut_down(&self) {
        self.inner.stop.send_replace(true);
        for conn in self.all_connections() {
            conn.close(close::GOING_AWAY, "server shutting down");
        }
    }

    /// Connections still open (shutdown waits for them to say goodbye).
    pub fn open(&self) -> usize {
        self.inner
            .accounts
            .lock()
            .map(|accounts| accounts.values().map(Vec::len).sum())
            .unwrap_or(0)
    }

    /// Fan committed events out to the connections until the hub stops.
    pub async fn run(self, db: Db) {
        let mut events = db.events().subscribe();
        let mut stop = self.inner.stop.subscribe();
        loop {
            let received = tokio::select! {
                received = events.recv() => received,
                _ = stop.wait_for(|stopped| *stopped) => return,
            };
            match received {
                Ok(published) => self.fan_out(&db, published).await,
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    tracing::warn!(
                        missed,
                        "live hub fell behind the event bus; its clients reconnect and resume"
                    );
                    for conn in self.all_connections() {
                        conn.close(close::TRY_AGAIN_LATER, "server fell behind; resume");
                    }
                }
                Err(broadcast::error::RecvError::Closed) => return,
            }
        }
    }

    async fn fan_out(&self, db: &Db, published: Arc<Published>) {
        let conns = self.connections_of(published.account_id);
        if conns.is_empty() {
            return;
        }
        let audience = match resolve(db, &published).await {
            Ok(audience) => Arc::new(audience),
            Err(error) => {
                tracing::warn!(
                    error = format!("{error:#}"),
                    seq = published.seq,
                    "cannot route an event to live clients; those who may see it are told to resync"
                );
                Arc::new(Audience::unresolved(&published.event))
            }
        };
        let mut frames = Frames::default();
        for conn in conns {
            conn.deliver(&published, &audience, &self.inner.stats, &mut frames);
        }
    }
}

fn count(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// The audience of one event, in its account's transaction.
pub async fn resolve(db: &Db, published: &Published) -> anyhow::Result<Audience> {
    let mut tx = db.tenant(published.account_id).await?;
    let audience = Audience::resolve(&mut tx, &published.event).await?;
    tx.commit().await?;
    Ok(audience)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::users::model::Role;
    use crate::platform::events::Event;

    fn viewer(account_id: Uuid, role: Role) -> Viewer {
        Viewer {
            account_id,
            user_id: Uuid::now_v7(),
            role,
        }
    }

    fn published(account_id: Uuid, seq: i64) -> Arc<Published> {
        Arc::new(Published {
            id: seq,
            account_id,
            seq,
            at: chrono::Utc::now(),
            request_id: None,
            actor: None,
            event: Event::ClientCreated {
                client_id: Uuid::now_v7(),
            },
        })
    }

    #[tokio::test]
    async fn a_client_that_lets_its_queue_fill_is_closed_with_1013() {
        let hub = Hub::new(Limits {
            queue: 2,
            ..Limits::default()
        });
        let account = Uuid::now_v7();
        let (conn, mut queue) = hub.register(viewer(account, Role::Owner)).unwrap();
        conn.subscribe(&[Topic::Account], false, hub.stats());
        let audience = Arc::new(Audience::office(Uuid::now_v7()));
        for seq in 1..=3 {
            conn.deliver(
                &published(account, seq),
                &audience,
                hub.stats(),
                &mut Frames::default(),
            );
        }
        assert_eq!(conn.closed().await.0, close::TRY_AGAIN_LATER);
        assert_eq!(hub.stats().dropped.get(), 1);
        assert_eq!(hub.stats().delivered.get(), 2);
        // What was queued is in order.
        for seq in 1..=2 {
            let Some(Frame::Text(text)) = queue.recv().await else {
                panic!("queued")
            };
            let frame: serde_json::Value = serde_json::from_str(text.as_str()).unwrap();
            assert_eq!(frame["seq"], seq);
        }
        assert_eq!(hub.stats().subscriptions.get(), 1);
        hub.unregister(&conn);
        assert_eq!(hub.stats().subscriptions.get(), 0);
        assert_eq!(hub.open(), 0);
    }

    #[tokio::test]
    async fn a_resume_holds_live_events_back_and_sends_none_twice() {
        let hub = Hub::new(Limits::default());
        let account = Uuid::now_v7();
        let (conn, mut queue) = hub.register(viewer(account, Role::Owner)).unwrap();
        let stats = hub.stats();
        let client = Uuid::now_v7();
        conn.subscribe(&[Topic::Account], false, stats);
        let audience = Arc::new(Audience::office(client));
        // A new topic with a resume: events 5 and 6 arrive live meanwhile, and the
        // replay covered everything up to 5.
        conn.subscribe(&[Topic::Client(client)], true, stats);
        conn.deliver(
            &published(account, 5),
            &audience,
            stats,
            &mut Frames::default(),
        );
        conn.deliver(
            &published(account, 6),
            &audience,
            stats,
            &mut Frames::default(),
        );
        assert!(queue.try_recv().is_err(), "held back during the replay");
        let fresh = BTreeSet::from([Topic::Client(client)]);
        conn.finish_replay(&fresh, 5, stats);
        let mut got = Vec::new();
        while let Ok(Frame::Text(text)) = queue.try_recv() {
            let frame: serde_json::Value = serde_json::from_str(text.as_str()).unwrap();
            got.push((
                frame["seq"].as_i64().unwrap(),
                frame["topic"].as_str().unwrap().to_owned(),
            ));
        }
        let on_client = format!("client:{client}");
        assert_eq!(
            got,
            vec![
                (5, "account".to_owned()),
                (6, "account".to_owned()),
                (6, on_client.clone()),
            ]
        );
        // The relay hands over an event the replay read from the table only now: it
        // goes out on the topic that was not replayed, not twice on the one that was.
        conn.deliver(
            &published(account, 4),
            &audience,
            stats,
            &mut Frames::default(),
        );
        conn.deliver(
            &published(account, 7),
            &audience,
            stats,
            &mut Frames::default(),
        );
        let mut late = Vec::new();
        while let Ok(Frame::Text(text)) = queue.try_recv() {
            let frame: serde_json::Value = serde_json::from_str(text.as_str()).unwrap();
            late.push((
                frame["seq"].as_i64().unwrap(),
                frame["topic"].as_str().unwrap().to_owned(),
            ));
        }
        assert_eq!(
            late,
            vec![
                (4, "account".to_owned()),
                (7, "account".to_owned()),
                (7, on_client),
            ]
        );
    }

    /// An event whose audience cannot be read (the database is down) reaches nobody,
    /// but each connection that might have been entitled to it is told to resync the
    /// topics it could have come by; the others hear nothing.
    #[tokio::test]
    async fn an_event_that_cannot_be_routed_asks_those_who_may_see_it_to_resync() {
        // Nothing listens on port 1: every read fails at once.
        let pool = sqlx::postgres::PgPoolOptions::new()
            .acquire_timeout(Duration::from_millis(300))
            .connect_lazy("postgres://nobody@127.0.0.1:1/nothing")
            .unwrap();
        let db = Db::from_pool(pool);
        let hub = Hub::new(Limits::default());
        let account = Uuid::now_v7();
        let stats = hub.stats();
        let (office, mut office_queue) = hub.register(viewer(account, Role::Dispatcher)).unwrap();
        office.subscribe(&[Topic::Account, Topic::Schedule], false, stats);
        let tech = viewer(account, Role::Technician);
        let (field, mut field_queue) = hub.register(tech).unwrap();
        field.subscribe(&[Topic::Schedule, Topic::User(tech.user_id)], false, stats);
        let (personal, mut personal_queue) = hub.register(viewer(account, Role::Owner)).unwrap();
        personal.subscribe(&[Topic::User(personal.viewer.user_id)], false, stats);

        let frames = |queue: &mut mpsc::Receiver<Frame>| {
            let mut got = Vec::new();
            while let Ok(Frame::Text(text)) = queue.try_recv() {
                got.push(serde_json::from_str::<serde_json::Value>(text.as_str()).unwrap());
            }
            got
        };
        let event = |seq, event| {
            Arc::new(Published {
                event,
                ..(*published(account, seq)).clone()
            })
        };

        // A visit moved: the office and the technician (whose visit it may be) resync.
        let job_id = Uuid::now_v7();
        let moved = Event::ScheduleChanged {
            visit_id: Uuid::now_v7(),
            job_id,
            assigned: Vec::new(),
            unassigned: Vec::new(),
        };
        hub.fan_out(&db, event(7, moved)).await;
        assert_eq!(
            frames(&mut office_queue),
            vec![
                serde_json::json!({"type": "resync_required", "topics": ["account", "schedule"], "seq": 7})
            ]
        );
        assert_eq!(
            frames(&mut field_queue),
            vec![serde_json::json!({"type": "resync_required", "topics": ["schedule"], "seq": 7})]
        );
        assert!(frames(&mut personal_queue).is_empty());

        // An office event never concerned the technician; nor the owner, who follows
        // only their own topic.
        hub.fan_out(
            &db,
            event(
                8,
                Event::InvoicePaid {
                    invoice_id: Uuid::now_v7(),
                },
            ),
        )
        .await;
        assert_eq!(
            frames(&mut office_queue),
            vec![serde_json::json!({"type": "resync_required", "topics": ["account"], "seq": 8})]
        );
        assert!(frames(&mut field_queue).is_empty());
        assert!(frames(&mut personal_queue).is_empty());
        // A notification names its users itself: only the one it names resyncs.
        let owner = personal.viewer.user_id;
        hub.fan_out(
            &db,
            event(
                9,
                Event::NotificationCreated {
                    event_id: Uuid::now_v7(),
                    user_ids: vec![owner],
                },
            ),
        )
        .await;
        assert_eq!(
            frames(&mut personal_queue),
            vec![
                serde_json::json!({"type": "resync_required", "topics": [format!("user:{owner}")], "seq": 9})
            ]
        );
        assert!(frames(&mut office_queue).is_empty());
        assert!(frames(&mut field_queue).is_empty());
        assert_eq!(hub.stats().delivered.get(), 0, "no event went out unrouted");
    }

    #[test]
    fn limits_per_user_and_account() {
        let hub = Hub::new(Limits {
            per_user: 2,
            per_account: 3,
            ..Limits::default()
        });
        let account = Uuid::now_v7();
        let one = viewer(account, Role::Dispatcher);
        let _a = hub.register(one).unwrap();
        let _b = hub.register(one).unwrap();
        assert_eq!(hub.register(one).err(), Some(Refused::PerUser(2)));
        let _c = hub.register(viewer(account, Role::Owner)).unwrap();
        assert_eq!(
            hub.register(viewer(account, Role::Owner)).err(),
            Some(Refused::PerAccount(3))
        );
        assert!(hub.register(viewer(Uuid::now_v7(), Role::Owner)).is_ok());
        hub.shut_down();
        assert_eq!(
            hub.register(viewer(Uuid::now_v7(), Role::Owner)).err(),
            Some(Refused::Stopping)
        );
    }
}
