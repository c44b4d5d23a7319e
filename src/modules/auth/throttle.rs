//! Login throttling: failed attempts per email and per client IP in a sliding window.
//! Past the limit, attempts are refused with 429 and `Retry-After` before any password
//! is checked. Counts live in this process (one box; each pod throttles on its own).

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
    /// `Err(seconds)` when either the email or the IP is over its limit.
    pub fn check(&self, email: &str, ip: IpAddr) -> Result<(), u64> {
        self.check_at(email, ip, Instant::now())
    }

    pub fn record_failure(&self, email: &str, ip: IpAddr) {
        self.record_failure_at(email, ip, Instant::now());
    }

    /// A successful login clears the email's failures (not the IP's).
    pub fn record_success(&self, email: &str) {
        if let Ok(mut map) = self.failures.lock() {
            map.remove(&Key::Email(email.to_lowercase()));
        }
    }

    fn check_at(&self, email: &str, ip: IpAddr, now: Instant) -> Result<(), u64> {
        let Ok(mut map) = self.failures.lock() else {
            return Ok(());
        };
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
        let Ok(mut map) = self.failures.lock() else {
            return;
        };
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

#[cfg(test)]
mod tests {
    use super::*;

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
