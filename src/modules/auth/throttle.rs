//! Login throttling: attempts per email and per client IP in a sliding window.
//!
//! An attempt is counted *before* its password is checked, under one lock with the
//! limit check ([`LoginThrottle::attempt`]), so however many guesses arrive at once at
//! most the limit of them ever reach the hash; a successful login then takes its own
//! attempt back from the email's count. Past the limit, attempts are refused with 429
//! and `Retry-After`. Counts live in this process (one box; each pod throttles on its
//! own until the shared store of the scaling work).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub const WINDOW: Duration = Duration::from_secs(15 * 60);
pub const MAX_FAILURES_PER_EMAIL: usize = 5;
pub const MAX_FAILURES_PER_IP: usize = 20;

#[derive(Default)]
pub struct LoginThrottle {
    failures: Mutex<HashMap<Key, Vec<Instant>>>,
}

#[derive(Clone, PartialEq, Eq, Hash)]
enum Key {
    Email(String),
    Ip(IpAddr),
}

impl LoginThrottle {
    /// Count an attempt for the email and the IP, or `Err(seconds)` to wait when
    /// either is at its limit (then nothing is counted).
    pub fn attempt(&self, email: &str, ip: IpAddr) -> Result<(), u64> {
        self.attempt_at(email, ip, Instant::now())
    }

    /// Whether an attempt would be refused now, without counting one.
    pub fn check(&self, email: &str, ip: IpAddr) -> Result<(), u64> {
        self.check_at(email, ip, Instant::now())
    }

    /// Count an attempt whatever the limits say (something already happened).
    pub fn record_failure(&self, email: &str, ip: IpAddr) {
        self.record_failure_at(email, ip, Instant::now());
    }

    /// A successful login clears the email's attempts and takes its own attempt back
    /// from the IP's count (an office behind one address logs in all morning).
    pub fn record_success(&self, email: &str, ip: IpAddr) {
        if let Ok(mut map) = self.failures.lock() {
            map.remove(&Key::Email(email.to_lowercase()));
            if let Some(times) = map.get_mut(&Key::Ip(ip)) {
                times.pop();
            }
        }
    }

    fn attempt_at(&self, email: &str, ip: IpAddr, now: Instant) -> Result<(), u64> {
        let Ok(mut map) = self.failures.lock() else {
            return Ok(());
        };
        Self::wait(&mut map, email, ip, now)?;
        Self::record(&mut map, email, ip, now);
        Ok(())
    }

    fn check_at(&self, email: &str, ip: IpAddr, now: Instant) -> Result<(), u64> {
        let Ok(mut map) = self.failures.lock() else {
            return Ok(());
        };
        Self::wait(&mut map, email, ip, now)
    }

    fn wait(
        map: &mut HashMap<Key, Vec<Instant>>,
        email: &str,
        ip: IpAddr,
        now: Instant,
    ) -> Result<(), u64> {
        let mut wait = 0;
        for (key, max) in [
            (Key::Email(email.to_lowercase()), MAX_FAILURES_PER_EMAIL),
            (Key::Ip(ip), MAX_FAILURES_PER_IP),
        ] {
            if let Some(times) = map.get_mut(&key) {
                times.retain(|t| now.duration_since(*t) < WINDOW);
                if times.len() >= max
                    && let Some(oldest) = times.first()
                {
                    wait = wait.max((WINDOW - now.duration_since(*oldest)).as_secs() + 1);
                }
            }
        }
        if wait > 0 { Err(wait) } else { Ok(()) }
    }

    fn record_failure_at(&self, email: &str, ip: IpAddr, now: Instant) {
        if let Ok(mut map) = self.failures.lock() {
            Self::record(&mut map, email, ip, now);
        }
    }

    fn record(map: &mut HashMap<Key, Vec<Instant>>, email: &str, ip: IpAddr, now: Instant) {
        // Bound memory under a spray of random emails: drop stale entries first.
        if map.len() > 100_000 {
            map.retain(|_, times| {
                times
                    .last()
                    .is_some_and(|t| now.duration_since(*t) < WINDOW)
            });
        }
        for key in [Key::Email(email.to_lowercase()), Key::Ip(ip)] {
            map.entry(key).or_default().push(now);
        }
    }
}

/// Limit how often `409 email_taken` may answer `who` (an account, or the sign-up
/// form's caller) from `ip`: past the limit the request is refused with 429 before
/// it runs, so the answer cannot be used to list the addresses that have logins.
pub async fn limit_taken<T>(
    throttle: &LoginThrottle,
    who: &str,
    ip: IpAddr,
    work: impl std::future::Future<Output = Result<T, crate::http::ApiError>>,
) -> Result<T, crate::http::ApiError> {
    throttle
        .check(who, ip)
        .map_err(crate::http::ApiError::rate_limited)?;
    let result = work.await;
    if let Err(error) = &result
        && error.code == crate::http::ErrorCode::EmailTaken
    {
        throttle.record_failure(who, ip);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concurrent_attempts_never_pass_the_limit() {
        let throttle = std::sync::Arc::new(LoginThrottle::default());
        let ip = IpAddr::from([10, 0, 0, 3]);
        let admitted = std::sync::atomic::AtomicUsize::new(0);
        std::thread::scope(|scope| {
            for _ in 0..50 {
                scope.spawn(|| {
                    if throttle.attempt("victim@x.io", ip).is_ok() {
                        admitted.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                });
            }
        });
        assert_eq!(admitted.into_inner(), MAX_FAILURES_PER_EMAIL);
        // A success gives the email's attempts back.
        throttle.record_success("victim@x.io", ip);
        assert!(throttle.attempt("victim@x.io", ip).is_ok());
    }

    #[test]
    fn limits_per_email_then_recovers() {
        let throttle = LoginThrottle::default();
        let ip = IpAddr::from([10, 0, 0, 1]);
        let t0 = Instant::now();
        for _ in 0..MAX_FAILURES_PER_EMAIL {
            assert!(throttle.check_at("A@x.io", ip, t0).is_ok());
            throttle.record_failure_at("a@x.io", ip, t0);
        }
        let wait = throttle.check_at("a@X.io", ip, t0).err().unwrap_or(0);
        assert!(wait > 0 && wait <= WINDOW.as_secs() + 1);
        assert!(
            throttle
                .check_at("other@x.io", IpAddr::from([10, 0, 0, 2]), t0)
                .is_ok()
        );
        assert!(throttle.check_at("a@x.io", ip, t0 + WINDOW).is_ok());
    }

    #[test]
    fn limits_per_ip_across_emails() {
        let throttle = LoginThrottle::default();
        let ip = IpAddr::from([10, 0, 0, 9]);
        let t0 = Instant::now();
        for i in 0..MAX_FAILURES_PER_IP {
            throttle.record_failure_at(&format!("u{i}@x.io"), ip, t0);
        }
        assert!(throttle.check_at("fresh@x.io", ip, t0).is_err());
    }
}
