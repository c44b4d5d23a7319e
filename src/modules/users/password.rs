//! Password hashing with argon2id (OWASP's recommended parameters: 19 MiB, t=2, p=1).
//!
//! Hashing is CPU- and memory-bound and anyone can ask for it (a login for any email
//! costs one), so it runs under a bound: one hash per core at a time on the blocking
//! pool, each in one of a fixed set of reused 19 MiB work areas; others wait in a
//! bounded queue for at most [`QUEUE_TIMEOUT`] and are then refused with
//! [`HashError::Busy`] (503 with `Retry-After`). A burst of logins therefore costs at
//! most `cores × 19 MiB`, and the memory is the same after the burst as before it.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{LazyLock, Mutex};
use std::time::Duration;

use argon2::password_hash::{Output, PasswordHash, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use tokio::sync::Semaphore;

use crate::error::{Error, FieldError};

pub const MIN_LENGTH: usize = 10;
pub const MAX_LENGTH: usize = 256;
/// How long a hash may wait for a core before the request is refused.
pub const QUEUE_TIMEOUT: Duration = Duration::from_secs(5);
/// Requests that may wait for a core, per core; more are refused at once.
const QUEUE_PER_CORE: usize = 64;
const MEMORY_KIB: u32 = 19 * 1024;

fn params() -> Params {
    Params::new(MEMORY_KIB, 2, 1, None).unwrap_or_default()
}

fn argon2() -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params())
}

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error("too many passwords are being checked at once; retry shortly")]
    Busy,
    #[error("cannot hash password: {0}")]
    Failed(String),
}

impl From<HashError> for Error {
    fn from(error: HashError) -> Self {
        match error {
            HashError::Busy => Error::busy(1),
            HashError::Failed(_) => Error::internal(error),
        }
    }
}

/// Length rules only (NIST SP 800-63B §5.1.1.2): no composition rules.
pub fn check(field: &str, password: &str) -> Result<(), FieldError> {
    let length = password.chars().count();
    if length < MIN_LENGTH {
        return Err(FieldError::new(
            field,
            format!("must be at least {MIN_LENGTH} characters"),
        ));
    }
    if length > MAX_LENGTH {
        return Err(FieldError::new(
            field,
            format!("must be at most {MAX_LENGTH} characters"),
        ));
    }
    Ok(())
}

pub async fn hash(password: String) -> Result<String, HashError> {
    bounded(move |memory| {
        let salt: [u8; 16] = rand::random();
        let salt = SaltString::encode_b64(&salt).map_err(|e| HashError::Failed(e.to_string()))?;
        let mut raw = [0u8; 32];
        let mut salt_bytes = [0u8; 16];
        let decoded = salt
            .decode_b64(&mut salt_bytes)
            .map_err(|e| HashError::Failed(e.to_string()))?;
        argon2()
            .hash_password_into_with_memory(password.as_bytes(), decoded, &mut raw, memory)
            .map_err(|e| HashError::Failed(e.to_string()))?;
        let hash = PasswordHash {
            algorithm: Algorithm::Argon2id.ident(),
            version: Some(Version::V0x13.into()),
            params: (&params())
                .try_into()
                .map_err(|e: argon2::password_hash::Error| HashError::Failed(e.to_string()))?,
            salt: Some(salt.as_salt()),
            hash: Some(Output::new(&raw).map_err(|e| HashError::Failed(e.to_string()))?),
        };
        Ok(hash.to_string())
    })
    .await?
}

/// Verify against `hash`, or against a fixed dummy hash when there is no user, so that
/// an unknown email costs the same time as a wrong password.
pub async fn verify(password: String, hash: Option<String>) -> Result<bool, HashError> {
    bounded(move |memory| {
        let hash = hash.unwrap_or_else(|| DUMMY_HASH.to_string());
        let Ok(parsed) = PasswordHash::new(&hash) else {
            return false;
        };
        match ours(&parsed) {
            Some((salt, expected)) => {
                let mut raw = vec![0u8; expected.len()];
                argon2()
                    .hash_password_into_with_memory(password.as_bytes(), &salt, &mut raw, memory)
                    .is_ok()
                    && Output::new(&raw).is_ok_and(|computed| computed == expected)
            }
            // Other parameters (a hash from an older release): argon2's own path.
            None => argon2()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok(),
        }
    })
    .await
}

/// The decoded salt and the output of a hash made with exactly our parameters.
fn ours(parsed: &PasswordHash<'_>) -> Option<(Vec<u8>, Output)> {
    // Compared by cost only: a parsed hash's parameters also carry its output length.
    let theirs = Params::try_from(parsed).ok()?;
    let ours = params();
    if parsed.algorithm != Algorithm::Argon2id.ident()
        || parsed.version != Some(Version::V0x13.into())
        || (theirs.m_cost(), theirs.t_cost(), theirs.p_cost())
            != (ours.m_cost(), ours.t_cost(), ours.p_cost())
    {
        return None;
    }
    // PHC salts are at most 64 bytes.
    let mut buffer = [0u8; 64];
    let salt = parsed.salt?.decode_b64(&mut buffer).ok()?.to_vec();
    Some((salt, parsed.hash?))
}

static CORES: LazyLock<usize> =
    LazyLock::new(|| std::thread::available_parallelism().map_or(1, std::num::NonZero::get));
static PERMITS: LazyLock<Semaphore> = LazyLock::new(|| Semaphore::new(*CORES));
static WAITING: AtomicUsize = AtomicUsize::new(0);
/// Work areas for the hashes running now: at most one per permit, reused.
static MEMORY: Mutex<Vec<Vec<Block>>> = Mutex::new(Vec::new());

/// Run `work` with a 19 MiB work area on the blocking pool, at most one per core.
async fn bounded<T: Send + 'static>(
    work: impl FnOnce(&mut [Block]) -> T + Send + 'static,
) -> Result<T, HashError> {
    struct Waiting;
    impl Drop for Waiting {
        fn drop(&mut self) {
            WAITING.fetch_sub(1, Ordering::Relaxed);
        }
    }
    let waiting = Waiting;
    if WAITING.fetch_add(1, Ordering::Relaxed) >= *CORES * QUEUE_PER_CORE {
        return Err(HashError::Busy);
    }
    let permit = tokio::time::timeout(QUEUE_TIMEOUT, PERMITS.acquire())
        .await
        .map_err(|_| HashError::Busy)?
        .map_err(|_| HashError::Busy)?;
    drop(waiting);
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
        let mut memory = MEMORY
            .lock()
            .ok()
            .and_then(|mut pool| pool.pop())
            .unwrap_or_else(|| vec![Block::default(); params().block_count()]);
        let result = work(&mut memory);
        if let Ok(mut pool) = MEMORY.lock() {
            pool.push(memory);
        }
        result
    })
    .await
    .map_err(|e| HashError::Failed(e.to_string()))
}

/// The argon2id hash of a random password nobody knows, with our parameters.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$WzN8x9Km4BPPuwq6Y2lRSMPBEHmtXpPOEqy4uE2VxHk";

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::password_hash::PasswordHasher;

    fn ok<T: Default>(result: Result<T, HashError>) -> T {
        result.unwrap_or_default()
    }

    #[tokio::test]
    async fn hash_and_verify() {
        let hash = ok(hash("correct horse battery".into()).await);
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(ok(verify(
            "correct horse battery".into(),
            Some(hash.clone())
        )
        .await));
        assert!(!ok(verify("wrong horse battery".into(), Some(hash)).await));
        assert!(!ok(verify("anything at all".into(), None).await));
    }

    #[tokio::test]
    async fn hashes_are_argon2s_own_format_both_ways() {
        // Ours, checked by argon2's verifier (and so by any other PHC implementation).
        let ours = ok(hash("correct horse battery".into()).await);
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(
            argon2()
                .verify_password(b"correct horse battery", &parsed)
                .is_ok()
        );
        // argon2's own, checked by ours (hashes stored by earlier releases).
        let salt = SaltString::encode_b64(b"0123456789abcdef").unwrap();
        let theirs = argon2()
            .hash_password(b"correct horse battery", &salt)
            .unwrap()
            .to_string();
        assert!(ok(verify(
            "correct horse battery".into(),
            Some(theirs.clone())
        )
        .await));
        assert!(!ok(
            verify("correct horse batterz".into(), Some(theirs)).await
        ));
        // Other parameters take argon2's path and still verify.
        let weaker = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(8 * 1024, 1, 1, None).unwrap(),
        )
        .hash_password(b"correct horse battery", &salt)
        .unwrap()
        .to_string();
        assert!(ok(
            verify("correct horse battery".into(), Some(weaker)).await
        ));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_burst_runs_one_hash_per_core_with_reused_memory() {
        let burst: Vec<_> = (0..8)
            .map(|i| tokio::spawn(verify(format!("guess number {i}"), None)))
            .collect();
        let mut checked = 0;
        for task in burst {
            // On a loaded machine some may wait too long and be refused: never more.
            match task.await.unwrap() {
                Ok(valid) => {
                    assert!(!valid);
                    checked += 1;
                }
                Err(error) => assert!(matches!(error, HashError::Busy)),
            }
        }
        assert!(checked > 0);
        let areas = MEMORY.lock().map(|pool| pool.len()).unwrap_or(usize::MAX);
        assert!(areas <= *CORES, "{areas} work areas for {} cores", *CORES);
    }

    #[test]
    fn dummy_hash_parses_and_takes_the_pooled_path() {
        let parsed = PasswordHash::new(DUMMY_HASH).unwrap();
        assert!(
            ours(&parsed).is_some(),
            "argon2's own path allocates per call"
        );
    }

    #[test]
    fn length_rules() {
        assert!(check("password", "short").is_err());
        assert!(check("password", "long enough pass").is_ok());
        assert!(check("password", &"x".repeat(257)).is_err());
    }
}
