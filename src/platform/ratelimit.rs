//! Rate limiting: the counters behind the API's request limits (`http::ratelimit`)
//! and the login throttle (`modules::auth::throttle`), in one [`Store`].
//!
//! Two kinds of counter:
//!
//! - **GCRA** ([`Store::take`]), the generic cell rate algorithm: a key's state is one
//!   number, its "theoretical arrival time"; `limit` requests per `period` with a
//!   burst of the whole `limit`. It gives the IETF `RateLimit-*` figures directly
//!   (remaining, seconds until the quota is whole again) and, refused, the exact wait.
//! - **sliding log** ([`Store::log`]): the time of each attempt within a window, for
//!   the login throttle, whose semantics (count first, a success takes its attempt
//!   back) need the attempts themselves.
//!
//! Two stores: [`MemoryStore`] (this process; the default) and [`RedisStore`] (every
//! process that shares the Redis, each operation one atomic Lua script, with Redis's
//! clock so pods whose clocks differ agree). While Redis is unreachable the Redis store
//! answers from its own in-process store (a warning, `jobber_rate_limit_store_fallbacks_total`):
//! limits keep holding per process instead of failing every request or none.
//!
//! This layer knows nothing of HTTP: keys are opaque strings chosen by the callers.

use std::collections::{HashMap, VecDeque};
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::future::BoxFuture;

/// The endpoint classes limited apart (docs/api.md, "Rate limits").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Class {
    /// Sign-in and account security: login, sign-up, password reset, MFA, tokens.
    Auth,
    /// Unsafe methods (POST, PUT, PATCH, DELETE) that are not uploads.
    Writes,
    /// GET, HEAD and OPTIONS.
    Reads,
    /// File uploads (multipart bodies, `/uploads`).
    Uploads,
    /// Anonymous public pages and forms (`/public/…`) and the client hub (`/hub/…`).
    Public,
}

impl Class {
    pub const ALL: [Class; 5] = [
        Class::Auth,
        Class::Writes,
        Class::Reads,
        Class::Uploads,
        Class::Public,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Class::Auth => "auth",
            Class::Writes => "writes",
            Class::Reads => "reads",
            Class::Uploads => "uploads",
            Class::Public => "public",
        }
    }
}

/// `limit` requests per `period` (a burst of all of them allowed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    pub limit: u32,
    pub period: Duration,
}

impl Quota {
    /// Milliseconds between two requests at the steady rate, and the burst they add
    /// up to (integers, so Lua and Rust compute the same).
    fn emission_and_burst(self) -> (u64, u64) {
        let limit = u64::from(self.limit.max(1));
        let period = u64::try_from(self.period.as_millis()).unwrap_or(u64::MAX / 4);
        let emission = period.div_ceil(limit).max(1);
        (emission, emission.saturating_mul(limit))
    }
}

/// One key's answer: allowed or not, and the figures of its `RateLimit-*` headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    pub limit: u32,
    /// Requests that may still be made now.
    pub remaining: u32,
    /// Until the quota is whole again.
    pub reset: Duration,
    /// Refused: until one more request would be allowed.
    pub retry_after: Duration,
}

/// GCRA for one key at `now` (ms): the decision, and the key's new state when the
/// request is counted. The Lua script in [`RedisStore`] is the same computation.
fn gcra(stored: Option<u64>, now: u64, quota: Quota) -> (Decision, u64) {
    let (emission, burst) = quota.emission_and_burst();
    let tat = stored.unwrap_or(now).max(now);
    let new_tat = tat + emission;
    if new_tat - now > burst {
        let decision = Decision {
            allowed: false,
            limit: quota.limit,
            remaining: 0,
            reset: Duration::from_millis(tat - now),
            retry_after: Duration::from_millis(new_tat - burst - now),
        };
        return (decision, tat);
    }
    let decision = Decision {
        allowed: true,
        limit: quota.limit,
        remaining: u32::try_from((burst - (new_tat - now)) / emission).unwrap_or(u32::MAX),
        reset: Duration::from_millis(new_tat - now),
        retry_after: Duration::ZERO,
    };
    (decision, new_tat)
}

/// What [`Store::log`] does with the keys' attempts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogOp {
    /// Would an attempt be refused? Nothing is counted.
    Check,
    /// Count an attempt whatever the limits say.
    Record,
    /// Count an attempt unless a key is at its limit (then nothing is counted).
    Attempt,
}

/// At most this many attempts are kept per sliding-log key (a key past its limit
/// only needs its oldest ones).
const LOG_CAP: usize = 1000;

/// The counters, shared by every limit of a process (or of every process: Redis).
pub trait Store: Send + Sync {
    /// Count one request against every `(key, quota)`: all of them, or, when any
    /// refuses, none. The decisions in the order of `limits`.
    fn take<'a>(&'a self, limits: &'a [(String, Quota)]) -> BoxFuture<'a, Vec<Decision>>;

    /// Sliding log: `Err(wait)` when a key holds `max` attempts younger than
    /// `window` (the wait until its oldest leaves the window); see [`LogOp`].
    fn log<'a>(
        &'a self,
        keys: &'a [(String, usize)],
        window: Duration,
        op: LogOp,
    ) -> BoxFuture<'a, Result<(), Duration>>;

    /// Drop a key's attempts.
    fn forget<'a>(&'a self, key: &'a str) -> BoxFuture<'a, ()>;

    /// Take back a key's newest attempt.
    fn unlog_newest<'a>(&'a self, key: &'a str) -> BoxFuture<'a, ()>;
}

/// The clock of a [`MemoryStore`]: milliseconds since the store was made, or a
/// hand-moved one for tests.
enum Clock {
    Real(Instant),
    Manual(AtomicU64),
}

enum Value {
    Gcra(u64),
    Log(VecDeque<u64>),
}

struct Entry {
    value: Value,
    /// When the entry no longer matters (ms on the store's clock).
    expires: u64,
}

const SHARDS: usize = 16;

type Guards<'a> = Vec<(usize, std::sync::MutexGuard<'a, HashMap<String, Entry>>)>;

/// A decision as it was before the request was counted (another key refused it).
fn uncount(decision: &mut Decision, quota: Quota) {
    let (emission, _) = quota.emission_and_burst();
    decision.remaining = decision.remaining.saturating_add(1).min(quota.limit);
    decision.reset = decision
        .reset
        .saturating_sub(Duration::from_millis(emission));
}

/// The in-process store: sharded maps whose entries expire, with a cap on keys.
/// Past the cap, expired entries go first; if all are live, an arbitrary eighth of
/// the shard is forgotten (limits fail open for those keys, memory stays bounded).
pub struct MemoryStore {
    shards: Vec<Mutex<HashMap<String, Entry>>>,
    hasher: std::collections::hash_map::RandomState,
    per_shard: usize,
    clock: Clock,
}

impl MemoryStore {
    /// At most about `max_keys` keys.
    pub fn new(max_keys: usize) -> Self {
        Self::with_clock(max_keys, Clock::Real(Instant::now()))
    }

    /// A store whose time moves only by [`advance`](Self::advance) (tests).
    pub fn manual(max_keys: usize) -> Self {
        Self::with_clock(max_keys, Clock::Manual(AtomicU64::new(0)))
    }

    fn with_clock(max_keys: usize, clock: Clock) -> Self {
        Self {
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            hasher: std::collections::hash_map::RandomState::new(),
            per_shard: max_keys.div_ceil(SHARDS).max(1),
            clock,
        }
    }

    /// Move a manual clock on (a real one ignores it).
    pub fn advance(&self, by: Duration) {
        if let Clock::Manual(now) = &self.clock {
            now.fetch_add(
                u64::try_from(by.as_millis()).unwrap_or(u64::MAX / 4),
                Ordering::SeqCst,
            );
        }
    }

    /// Keys held now (expired ones included until they are swept).
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().map_or(0, |m| m.len()))
            .sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn now(&self) -> u64 {
        match &self.clock {
            Clock::Real(start) => u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX),
            Clock::Manual(now) => now.load(Ordering::SeqCst),
        }
    }

    fn shard(&self, key: &str) -> usize {
        usize::try_from(self.hasher.hash_one(key) % SHARDS as u64).unwrap_or(0)
    }

    /// Lock every key's shard (in shard order, so two callers cannot deadlock);
    /// `None` when a lock is poisoned (the request is then let through).
    fn lock<'k>(&self, keys: impl Iterator<Item = &'k str>) -> Option<Guards<'_>> {
        let mut wanted: Vec<usize> = keys.map(|k| self.shard(k)).collect();
        wanted.sort_unstable();
        wanted.dedup();
        let mut guards = Vec::with_capacity(wanted.len());
        for index in wanted {
            guards.push((index, self.shards[index].lock().ok()?));
        }
        Some(guards)
    }

    /// The locked map of `key`'s shard.
    fn map<'g>(
        &self,
        guards: &'g mut Guards<'_>,
        key: &str,
    ) -> Option<&'g mut HashMap<String, Entry>> {
        let index = self.shard(key);
        guards
            .iter_mut()
            .find(|(i, _)| *i == index)
            .map(|(_, guard)| &mut **guard)
    }

    /// Make room for a new key in `map` (at `now`).
    fn make_room(&self, map: &mut HashMap<String, Entry>, now: u64) {
        if map.len() < self.per_shard {
            return;
        }
        map.retain(|_, entry| entry.expires > now);
        if map.len() >= self.per_shard {
            let mut drop = map.len() / 8 + 1;
            map.retain(|_, _| {
                if drop > 0 {
                    drop -= 1;
                    false
                } else {
                    true
                }
            });
        }
    }

    /// [`Store::take`] at `now`.
    fn take_now(&self, limits: &[(String, Quota)], now: u64) -> Vec<Decision> {
        let Some(mut guards) = self.lock(limits.iter().map(|(k, _)| k.as_str())) else {
            return limits
                .iter()
                .map(|(_, quota)| Decision {
                    allowed: true,
                    limit: quota.limit,
                    remaining: quota.limit,
                    reset: Duration::ZERO,
                    retry_after: Duration::ZERO,
                })
                .collect();
        };
        let mut decisions = Vec::with_capacity(limits.len());
        let mut states = Vec::with_capacity(limits.len());
        for (key, quota) in limits {
            let stored = self
                .map(&mut guards, key)
                .and_then(|map| map.get(key.as_str()))
                .and_then(|e| match &e.value {
                    Value::Gcra(tat) if e.expires > now => Some(*tat),
                    _ => None,
                });
            let (decision, state) = gcra(stored, now, *quota);
            decisions.push(decision);
            states.push(state);
        }
        if decisions.iter().all(|d| d.allowed) {
            for ((key, _), state) in limits.iter().zip(states) {
                if let Some(map) = self.map(&mut guards, key) {
                    if !map.contains_key(key.as_str()) {
                        self.make_room(map, now);
                    }
                    map.insert(
                        key.clone(),
                        Entry {
                            value: Value::Gcra(state),
                            expires: state,
                        },
                    );
                }
            }
        } else {
            // Nothing was counted: what remains is what remained before.
            for ((_, quota), decision) in limits.iter().zip(decisions.iter_mut()) {
                if decision.allowed {
                    uncount(decision, *quota);
                }
            }
        }
        decisions
    }

    /// [`Store::log`] at `now`.
    fn log_now(
        &self,
        keys: &[(String, usize)],
        window: Duration,
        op: LogOp,
        now: u64,
    ) -> Result<(), Duration> {
        let window = u64::try_from(window.as_millis()).unwrap_or(u64::MAX / 4);
        let Some(mut guards) = self.lock(keys.iter().map(|(k, _)| k.as_str())) else {
            return Ok(());
        };
        let mut wait = 0;
        for (key, max) in keys {
            if let Some(Entry {
                value: Value::Log(times),
                ..
            }) = self
                .map(&mut guards, key)
                .and_then(|map| map.get_mut(key.as_str()))
            {
                while times
                    .front()
                    .is_some_and(|t| now.saturating_sub(*t) >= window)
                {
                    times.pop_front();
                }
                if op != LogOp::Record
                    && times.len() >= *max
                    && let Some(oldest) = times.front()
                {
                    wait = wait.max(oldest + window - now);
                }
            }
        }
        if wait > 0 {
            return Err(Duration::from_millis(wait));
        }
        if op != LogOp::Check {
            for (key, _) in keys {
                let Some(map) = self.map(&mut guards, key) else {
                    continue;
                };
                if !map.contains_key(key.as_str()) {
                    self.make_room(map, now);
                }
                let entry = map.entry(key.clone()).or_insert_with(|| Entry {
                    value: Value::Log(VecDeque::new()),
                    expires: 0,
                });
                if !matches!(entry.value, Value::Log(_)) {
                    entry.value = Value::Log(VecDeque::new());
                }
                if let Value::Log(times) = &mut entry.value {
                    times.push_back(now);
                    if times.len() > LOG_CAP {
                        times.pop_front();
                    }
                }
                entry.expires = now + window;
            }
        }
        Ok(())
    }

    fn forget_now(&self, key: &str) {
        if let Ok(mut map) = self.shards[self.shard(key)].lock() {
            map.remove(key);
        }
    }

    fn unlog_newest_now(&self, key: &str) {
        if let Ok(mut map) = self.shards[self.shard(key)].lock()
            && let Some(Entry {
                value: Value::Log(times),
                ..
            }) = map.get_mut(key)
        {
            times.pop_back();
        }
    }
}

impl Store for MemoryStore {
    fn take<'a>(&'a self, limits: &'a [(String, Quota)]) -> BoxFuture<'a, Vec<Decision>> {
        let decisions = self.take_now(limits, self.now());
        Box::pin(std::future::ready(decisions))
    }

    fn log<'a>(
        &'a self,
        keys: &'a [(String, usize)],
        window: Duration,
        op: LogOp,
    ) -> BoxFuture<'a, Result<(), Duration>> {
        let result = self.log_now(keys, window, op, self.now());
        Box::pin(std::future::ready(result))
    }

    fn forget<'a>(&'a self, key: &'a str) -> BoxFuture<'a, ()> {
        self.forget_now(key);
        Box::pin(std::future::ready(()))
    }

    fn unlog_newest<'a>(&'a self, key: &'a str) -> BoxFuture<'a, ()> {
        self.unlog_newest_now(key);
        Box::pin(std::future::ready(()))
    }
}

/// [`gcra`] over several keys, all counted or none, on Redis's clock. Returns four
/// integers a key: allowed (0/1), remaining, reset ms, retry-after ms.
const TAKE_SCRIPT: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local out = {}
local states = {}
local all = true
for i, key in ipairs(KEYS) do
  local period = tonumber(ARGV[2 * i - 1])
  local limit = tonumber(ARGV[2 * i])
  local emission = math.max(1, math.ceil(period / limit))
  local burst = emission * limit
  local tat = tonumber(redis.call('GET', key)) or now
  if tat < now then tat = now end
  local new_tat = tat + emission
  if new_tat - now > burst then
    all = false
    out[#out + 1] = 0
    out[#out + 1] = 0
    out[#out + 1] = tat - now
    out[#out + 1] = new_tat - burst - now
  else
    out[#out + 1] = 1
    out[#out + 1] = math.floor((burst - (new_tat - now)) / emission)
    out[#out + 1] = new_tat - now
    out[#out + 1] = 0
  end
  states[i] = new_tat
end
if all then
  for i, key in ipairs(KEYS) do
    redis.call('SET', key, string.format('%.0f', states[i]), 'PX', string.format('%.0f', states[i] - now))
  end
end
return out
";

/// The sliding log of [`Store::log`] in sorted sets (score: the attempt's time).
/// ARGV: window ms, op, a unique member, then each key's max. Returns the wait in
/// ms, 0 when allowed.
const LOG_SCRIPT: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[1])
local op = ARGV[2]
local wait = 0
for i, key in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  if op ~= 'record' and redis.call('ZCARD', key) >= tonumber(ARGV[3 + i]) then
    local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
    local w = tonumber(oldest[2]) + window - now
    if w > wait then wait = w end
  end
end
if wait > 0 then return wait end
if op ~= 'check' then
  for i, key in ipairs(KEYS) do
    redis.call('ZADD', key, now, ARGV[3])
    redis.call('ZREMRANGEBYRANK', key, 0, -1001)
    redis.call('PEXPIRE', key, window)
  end
end
return 0
";

/// How long one Redis call may take before the in-process store answers instead.
const REDIS_TIMEOUT: Duration = Duration::from_millis(500);
/// After a failure, Redis is tried again this much later (meanwhile: in-process).
const REDIS_RETRY: Duration = Duration::from_secs(1);
/// At most one warning about an unreachable Redis this often.
const REDIS_WARN_EVERY: Duration = Duration::from_secs(30);
/// Every key jobber writes for limits starts with this.
const REDIS_PREFIX: &str = "jobber:rl:";

/// The store shared by every process through Redis (`redis_url`).
pub struct RedisStore {
    client: redis::Client,
    link: tokio::sync::Mutex<Link>,
    fallback: MemoryStore,
    fallbacks: prometheus::IntCounter,
}

#[derive(Default)]
struct Link {
    connection: Option<redis::aio::MultiplexedConnection>,
    retry_at: Option<Instant>,
    warned_at: Option<Instant>,
}

impl RedisStore {
    /// A store on `url`; it connects on first use. `fallbacks` counts the operations
    /// answered in-process because Redis could not be reached.
    pub fn new(
        url: &str,
        max_keys: usize,
        fallbacks: prometheus::IntCounter,
    ) -> anyhow::Result<Self> {
        let client =
            redis::Client::open(url).map_err(|e| anyhow::anyhow!("invalid redis_url: {e}"))?;
        Ok(Self {
            client,
            link: tokio::sync::Mutex::new(Link::default()),
            fallback: MemoryStore::new(max_keys),
            fallbacks,
        })
    }

    async fn connection(&self) -> Option<redis::aio::MultiplexedConnection> {
        let mut link = self.link.lock().await;
        if let Some(connection) = &link.connection {
            return Some(connection.clone());
        }
        if link.retry_at.is_some_and(|at| Instant::now() < at) {
            return None;
        }
        let connected = tokio::time::timeout(
            REDIS_TIMEOUT,
            self.client.get_multiplexed_async_connection(),
        )
        .await;
        match connected {
            Ok(Ok(connection)) => {
                if link.warned_at.take().is_some() {
                    tracing::info!("rate limits are shared through Redis again");
                }
                link.retry_at = None;
                link.connection = Some(connection.clone());
                Some(connection)
            }
            Ok(Err(error)) => {
                Self::down(&mut link, &error.to_string());
                None
            }
            Err(_) => {
                Self::down(&mut link, "connecting timed out");
                None
            }
        }
    }

    fn down(link: &mut Link, error: &str) {
        link.connection = None;
        link.retry_at = Some(Instant::now() + REDIS_RETRY);
        if link
            .warned_at
            .is_none_or(|at| at.elapsed() >= REDIS_WARN_EVERY)
        {
            tracing::warn!(
                error,
                "cannot reach Redis for rate limits; limiting in this process meanwhile"
            );
            link.warned_at = Some(Instant::now());
        }
    }

    /// Run a script, or `None` (counted) when Redis cannot answer.
    async fn eval<T: redis::FromRedisValue>(
        &self,
        script: &str,
        keys: &[String],
        args: &[String],
    ) -> Option<T> {
        let error = match self.connection().await {
            Some(mut connection) => {
                let keys: Vec<String> = keys.iter().map(|k| format!("{REDIS_PREFIX}{k}")).collect();
                let call = redis::cmd("EVAL")
                    .arg(script)
                    .arg(keys.len())
                    .arg(&keys)
                    .arg(args)
                    .query_async::<T>(&mut connection)
                    .await;
                match call {
                    Ok(value) => return Some(value),
                    Err(error) => Some(error.to_string()),
                }
            }
            None => None,
        };
        if let Some(error) = error {
            Self::down(&mut *self.link.lock().await, &error);
        }
        self.fallbacks.inc();
        None
    }

    async fn eval_timed<T: redis::FromRedisValue>(
        &self,
        script: &str,
        keys: &[String],
        args: &[String],
    ) -> Option<T> {
        match tokio::time::timeout(REDIS_TIMEOUT * 2, self.eval(script, keys, args)).await {
            Ok(answer) => answer,
            Err(_) => {
                Self::down(&mut *self.link.lock().await, "a call timed out");
                self.fallbacks.inc();
                None
            }
        }
    }
}

impl Store for RedisStore {
    fn take<'a>(&'a self, limits: &'a [(String, Quota)]) -> BoxFuture<'a, Vec<Decision>> {
        Box::pin(async move {
            let keys: Vec<String> = limits.iter().map(|(k, _)| k.clone()).collect();
            let args: Vec<String> = limits
                .iter()
                .flat_map(|(_, q)| {
                    let (emission, _) = q.emission_and_burst();
                    // The script derives the same emission from period and limit.
                    [
                        (emission * u64::from(q.limit.max(1))).to_string(),
                        q.limit.max(1).to_string(),
                    ]
                })
                .collect();
            let Some(flat) = self.eval_timed::<Vec<i64>>(TAKE_SCRIPT, &keys, &args).await else {
                return self.fallback.take_now(limits, self.fallback.now());
            };
            let ms = |v: i64| Duration::from_millis(u64::try_from(v).unwrap_or(0));
            let mut decisions: Vec<Decision> = flat
                .chunks_exact(4)
                .zip(limits)
                .map(|(four, (_, quota))| Decision {
                    allowed: four[0] == 1,
                    limit: quota.limit,
                    remaining: u32::try_from(four[1]).unwrap_or(0),
                    reset: ms(four[2]),
                    retry_after: ms(four[3]),
                })
                .collect();
            if decisions.iter().any(|d| !d.allowed) {
                for ((_, quota), decision) in limits.iter().zip(decisions.iter_mut()) {
                    if decision.allowed {
                        uncount(decision, *quota);
                    }
                }
            }
            decisions
        })
    }

    fn log<'a>(
        &'a self,
        keys: &'a [(String, usize)],
        window: Duration,
        op: LogOp,
    ) -> BoxFuture<'a, Result<(), Duration>> {
        Box::pin(async move {
            let names: Vec<String> = keys.iter().map(|(k, _)| k.clone()).collect();
            let mut args = vec![
                window.as_millis().to_string(),
                match op {
                    LogOp::Check => "check",
                    LogOp::Record => "record",
                    LogOp::Attempt => "attempt",
                }
                .to_string(),
                uuid::Uuid::now_v7().to_string(),
            ];
            args.extend(keys.iter().map(|(_, max)| max.to_string()));
            match self.eval_timed::<i64>(LOG_SCRIPT, &names, &args).await {
                Some(0) => Ok(()),
                Some(wait) => Err(Duration::from_millis(u64::try_from(wait).unwrap_or(1))),
                None => self.fallback.log_now(keys, window, op, self.fallback.now()),
            }
        })
    }

    fn forget<'a>(&'a self, key: &'a str) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            let script = "return redis.call('DEL', KEYS[1])";
            if self
                .eval_timed::<i64>(script, &[key.to_owned()], &[])
                .await
                .is_none()
            {
                self.fallback.forget_now(key);
            }
        })
    }

    fn unlog_newest<'a>(&'a self, key: &'a str) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            let script = "redis.call('ZPOPMAX', KEYS[1]) return 0";
            if self
                .eval_timed::<i64>(script, &[key.to_owned()], &[])
                .await
                .is_none()
            {
                self.fallback.unlog_newest_now(key);
            }
        })
    }
}

/// The store a process uses: Redis when `redis_url` is set, else in-process.
pub fn store(
    redis_url: Option<&str>,
    max_keys: usize,
    fallbacks: prometheus::IntCounter,
) -> anyhow::Result<Arc<dyn Store>> {
    Ok(match redis_url {
        Some(url) => Arc::new(RedisStore::new(url, max_keys, fallbacks)?),
        None => Arc::new(MemoryStore::new(max_keys)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quota(limit: u32, secs: u64) -> Quota {
        Quota {
            limit,
            period: Duration::from_secs(secs),
        }
    }

    fn take(store: &MemoryStore, key: &str, q: Quota) -> Decision {
        store.take_now(&[(key.to_owned(), q)], store.now())[0]
    }

    #[test]
    fn counts_down_refuses_then_recovers_at_the_steady_rate() {
        let store = MemoryStore::manual(1000);
        let q = quota(3, 60);
        let remaining: Vec<u32> = (0..3).map(|_| take(&store, "k", q).remaining).collect();
        assert_eq!(remaining, [2, 1, 0]);
        let first = take(&store, "k", q);
        assert_eq!(first.reset, Duration::from_secs(60));
        let refused = take(&store, "k", q);
        assert!(!refused.allowed);
        assert_eq!(refused.remaining, 0);
        // One request's share of the period (20 s) until the next is allowed.
        assert_eq!(refused.retry_after, Duration::from_secs(20));
        assert_eq!(refused.reset, Duration::from_secs(60));
        store.advance(Duration::from_secs(20));
        let again = take(&store, "k", q);
        assert!(again.allowed);
        assert_eq!(again.remaining, 0);
        assert!(!take(&store, "k", q).allowed);
        // A whole period later the whole quota is back.
        store.advance(Duration::from_secs(60));
        let whole = take(&store, "k", q);
        assert!(whole.allowed);
        assert_eq!(whole.remaining, 2);
    }

    #[test]
    fn keys_are_independent_and_a_refusal_counts_on_no_key() {
        let store = MemoryStore::manual(1000);
        let user = quota(2, 60);
        let ip = quota(10, 60);
        let both = |store: &MemoryStore| {
            store.take_now(
                &[("user".to_owned(), user), ("ip".to_owned(), ip)],
                store.now(),
            )
        };
        assert!(both(&store).iter().all(|d| d.allowed));
        assert!(both(&store).iter().all(|d| d.allowed));
        let refused = both(&store);
        assert!(!refused[0].allowed);
        assert!(refused[1].allowed);
        // The IP's count is as it was after two requests.
        assert_eq!(refused[1].remaining, 8);
        assert_eq!(take(&store, "ip", ip).remaining, 7);
        assert_eq!(take(&store, "other-user", user).remaining, 1);
    }

    #[test]
    fn memory_stays_bounded_under_a_spray_of_keys() {
        let store = MemoryStore::manual(1600);
        let q = quota(5, 3600);
        for i in 0..50_000 {
            take(&store, &format!("ip:{i}"), q);
        }
        assert!(store.len() <= 1600 + SHARDS, "{}", store.len());
        // Expired entries are swept first: a later burst keeps its own counts.
        store.advance(Duration::from_secs(3601));
        for _ in 0..5 {
            assert!(take(&store, "fresh", q).allowed);
        }
        assert!(!take(&store, "fresh", q).allowed);
    }

    #[test]
    fn the_sliding_log_counts_checks_and_takes_back() {
        let store = MemoryStore::manual(1000);
        let window = Duration::from_secs(900);
        let keys = [("email".to_owned(), 2), ("ip".to_owned(), 3)];
        assert!(store.log_now(&keys, window, LogOp::Attempt, 0).is_ok());
        store.advance(Duration::from_secs(100));
        assert!(
            store
                .log_now(&keys, window, LogOp::Attempt, store.now())
                .is_ok()
        );
        let wait = store.log_now(&keys, window, LogOp::Check, store.now());
        assert_eq!(wait, Err(Duration::from_secs(800)));
        // A refused attempt counts nothing.
        assert!(
            store
                .log_now(&keys, window, LogOp::Attempt, store.now())
                .is_err()
        );
        store.unlog_newest_now("email");
        assert!(
            store
                .log_now(&keys, window, LogOp::Check, store.now())
                .is_ok()
        );
        store.forget_now("email");
        // The IP still holds two attempts; a third fills it.
        assert!(
            store
                .log_now(&keys, window, LogOp::Attempt, store.now())
                .is_ok()
        );
        assert!(
            store
                .log_now(&[("ip".to_owned(), 3)], window, LogOp::Check, store.now())
                .is_err()
        );
        store.advance(window);
        assert!(
            store
                .log_now(&keys, window, LogOp::Check, store.now())
                .is_ok()
        );
    }
}
