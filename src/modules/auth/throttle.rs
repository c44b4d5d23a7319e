//! Login throttling: attempts per email and per client IP in a sliding window.
//!
//! An attempt is counted *before* its password is checked, atomically with the limit
//! check ([`LoginThrottle::attempt`]), so however many guesses arrive at once at most
//! the limit of them ever reach the hash; a successful login then takes its own
//! attempt back from the email's count. Past the limit, attempts are refused with 429
//! and `Retry-After`. The counts live in the rate limits' store
//! (`platform::ratelimit`): this process, or Redis when `redis_url` is set, so the
//! throttle holds across every pod that shares it.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use sha2::Digest;

use crate::platform::ratelimit::{LogOp, MemoryStore, Store};

pub const WINDOW: Duration = Duration::from_secs(15 * 60);
pub const MAX_FAILURES_PER_EMAIL: usize = 5;
pub const MAX_FAILURES_PER_IP: usize = 20;

pub struct LoginThrottle {
    store: Arc<dyn Store>,
    /// Keeps this throttle's keys apart from the others' in the shared store.
    scope: &'static str,
}

/// A throttle of its own, in this process (tests).
impl Default for LoginThrottle {
    fn default() -> Self {
        Self::new(Arc::new(MemoryStore::new(100_000)), "login")
    }
}

impl LoginThrottle {
    /// A throttle counting in `store` under `scope` (`login`, `reset`, …).
    pub fn new(store: Arc<dyn Store>, scope: &'static str) -> Self {
        Self { store, scope }
    }

    /// Count an attempt for the email and the IP, or `Err(seconds)` to wait when
    /// either is at its limit (then nothing is counted).
    pub async fn attempt(&self, email: &str, ip: IpAddr) -> Result<(), u64> {
        self.store
            .log(&self.keys(email, ip), WINDOW, LogOp::Attempt)
            .await
            .map_err(seconds)
    }

    /// Whether an attempt would be refused now, without counting one.
    pub async fn check(&self, email: &str, ip: IpAddr) -> Result<(), u64> {
        self.store
            .log(&self.keys(email, ip), WINDOW, LogOp::Check)
            .await
            .map_err(seconds)
    }

    /// Count an attempt whatever the limits say (something already happened).
    pub async fn record_failure(&self, email: &str, ip: IpAddr) {
        let _ = self
            .store
            .log(&self.keys(email, ip), WINDOW, LogOp::Record)
            .await;
    }

    /// A successful login clears the email's attempts and takes its own attempt back
    /// from the IP's count (an office behind one address logs in all morning).
    pub async fn record_success(&self, email: &str, ip: IpAddr) {
        let [(email_key, _), (ip_key, _)] = self.keys(email, ip);
        self.store.forget(&email_key).await;
        self.store.unlog_newest(&ip_key).await;
    }

    /// The email's and the IP's keys with their limits. The email is hashed: the
    /// store (Redis) need not hold addresses.
    fn keys(&self, email: &str, ip: IpAddr) -> [(String, usize); 2] {
        let digest = sha2::Sha256::digest(email.to_lowercase().as_bytes());
        let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
        [
            (
                format!("{}:email:{hex}", self.scope),
                MAX_FAILURES_PER_EMAIL,
            ),
            (format!("{}:ip:{ip}", self.scope), MAX_FAILURES_PER_IP),
        ]
    }
}

/// Whole seconds to wait, rounded up past the moment the oldest attempt leaves.
fn seconds(wait: Duration) -> u64 {
    wait.as_secs() + 1
}

/// Limit how often `409 email_taken` may answer `who` (an account, or the sign-up
/// form's caller) from `ip`: past the limit the request is refused with 429 before
/// it runs, so the answer cannot be used to list the addresses that have logins.
pub async fn limit_taken<T>(
    throttle: &LoginThrottle,
    who: &str,
    ip: IpAddr,
    work: impl std::future::Future<Output = Result<T, crate::error::Error>>,
) -> Result<T, crate::error::Error> {
    throttle
        .check(who, ip)
        .await
        .map_err(crate::error::Error::rate_limited)?;
    let result = work.await;
    if let Err(error) = &result
        && error.code == crate::error::ErrorCode::EmailTaken
    {
        throttle.record_failure(who, ip).await;
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manual() -> (Arc<MemoryStore>, LoginThrottle) {
        let store = Arc::new(MemoryStore::manual(100_000));
        let throttle = LoginThrottle::new(store.clone(), "login");
        (store, throttle)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_attempts_never_pass_the_limit() {
        let throttle = Arc::new(LoginThrottle::default());
        let ip = IpAddr::from([10, 0, 0, 3]);
        let tries: Vec<_> = (0..50)
            .map(|_| {
                let throttle = throttle.clone();
                tokio::spawn(async move { throttle.attempt("victim@x.io", ip).await.is_ok() })
            })
            .collect();
        let mut admitted = 0;
        for task in tries {
            if task.await.unwrap_or(false) {
                admitted += 1;
            }
        }
        assert_eq!(admitted, MAX_FAILURES_PER_EMAIL);
        // A success gives the email's attempts back.
        throttle.record_success("victim@x.io", ip).await;
        assert!(throttle.attempt("victim@x.io", ip).await.is_ok());
    }

    #[tokio::test]
    async fn limits_per_email_then_recovers() {
        let (store, throttle) = manual();
        let ip = IpAddr::from([10, 0, 0, 1]);
        for _ in 0..MAX_FAILURES_PER_EMAIL {
            assert!(throttle.check("A@x.io", ip).await.is_ok());
            throttle.record_failure("a@x.io", ip).await;
        }
        let wait = throttle.check("a@X.io", ip).await.err().unwrap_or(0);
        assert!(wait > 0 && wait <= WINDOW.as_secs() + 1);
        assert!(
            throttle
                .check("other@x.io", IpAddr::from([10, 0, 0, 2]))
                .await
                .is_ok()
        );
        store.advance(WINDOW);
        assert!(throttle.check("a@x.io", ip).await.is_ok());
    }

    #[tokio::test]
    async fn limits_per_ip_across_emails() {
        let (_, throttle) = manual();
        let ip = IpAddr::from([10, 0, 0, 9]);
        for i in 0..MAX_FAILURES_PER_IP {
            throttle.record_failure(&format!("u{i}@x.io"), ip).await;
        }
        assert!(throttle.check("fresh@x.io", ip).await.is_err());
        // Another throttle on the same store counts apart.
        let reset = LoginThrottle::new(throttle.store.clone(), "reset");
        assert!(reset.check("fresh@x.io", ip).await.is_ok());
    }
}
