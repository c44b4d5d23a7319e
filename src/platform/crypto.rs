//! Encryption at rest of the secrets jobber keeps for its users (an account's Stripe
//! keys): AES-256-GCM with a random 96-bit nonce per value, stored as
//! `nonce || ciphertext || tag`. Each value is bound to what it is (the associated
//! data, e.g. `"<account id>:stripe_secret_key"`), so a ciphertext copied to another
//! account or column does not decrypt.
//!
//! The 32-byte key comes from config (`encryption_key`, `encryption_key_file`) or from
//! `<data dir>/encryption.key`, generated with mode 0600 on first start. It is never
//! stored in the database and never logged: a database backup alone reveals nothing.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use anyhow::Context;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};

/// Install rustls's process-wide crypto provider (ring), which reqwest and the TLS
/// clients need; idempotent.
pub fn install_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// `bytes` random bytes as base64url (tokens, passwords generated for services).
pub fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    URL_SAFE_NO_PAD.encode(buf)
}

const NONCE_LEN: usize = 12;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CryptoError {
    /// Wrong key, tampered or truncated value, or wrong associated data.
    #[error("the value cannot be decrypted (wrong key or tampered)")]
    Open,
    #[error("the value cannot be encrypted")]
    Seal,
}

/// Seals and opens values under the server's key.
#[derive(Clone)]
pub struct SecretBox {
    cipher: Aes256Gcm,
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBox(<redacted>)")
    }
}

/// A key as configured: 32 bytes in base64 (standard or URL-safe, padded or not) or
/// 64 hex digits.
pub fn parse_key(text: &str) -> Result<[u8; 32], String> {
    let text = text.trim();
    let bytes = if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
        (0..32)
            .map(|i| u8::from_str_radix(&text[2 * i..2 * i + 2], 16))
            .collect::<Result<Vec<u8>, _>>()
            .map_err(|e| e.to_string())?
    } else {
        STANDARD
            .decode(text)
            .or_else(|_| URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')))
            .map_err(|_| "must be 32 bytes as base64 or 64 hex digits".to_string())?
    };
    <[u8; 32]>::try_from(bytes.as_slice())
        .map_err(|_| format!("must be 32 bytes, not {}", bytes.len()))
}

impl SecretBox {
    pub fn new(key: &[u8; 32]) -> Self {
        Self {
            cipher: Aes256Gcm::new(key.into()),
        }
    }

    /// The configured key, else the key file in the data dir, created if missing.
    pub fn load(configured: Option<&SecretString>, data_dir: &Path) -> anyhow::Result<Self> {
        if let Some(key) = configured {
            let key = parse_key(key.expose_secret())
                .map_err(|m| anyhow::anyhow!("encryption_key: {m}"))?;
            return Ok(Self::new(&key));
        }
        let path = super::datadir::DataDir::new(data_dir).encryption_key();
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                let key = parse_key(&text)
                    .map_err(|m| anyhow::anyhow!("{} is corrupt: {m}", path.display()))?;
                Ok(Self::new(&key))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut key = [0u8; 32];
                rand::rng().fill_bytes(&mut key);
                let mut file = std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .open(&path)
                    .with_context(|| format!("cannot create {}", path.display()))?;
                file.write_all(URL_SAFE_NO_PAD.encode(key).as_bytes())?;
                Ok(Self::new(&key))
            }
            Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
        }
    }

    /// Encrypt `plaintext` bound to `context`: a fresh random nonce every time.
    pub fn seal(&self, context: &str, plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let ciphertext = self
            .cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| CryptoError::Seal)?;
        let mut out = Vec::with_capacity(NONCE_LEN + ciphertext.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ciphertext);
        Ok(out)
    }

    /// Decrypt what [`SecretBox::seal`] produced with the same `context`.
    pub fn open(&self, context: &str, sealed: &[u8]) -> Result<Vec<u8>, CryptoError> {
        if sealed.len() < NONCE_LEN + 16 {
            return Err(CryptoError::Open);
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
        self.cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| CryptoError::Open)
    }

    /// [`SecretBox::open`] for a UTF-8 secret.
    pub fn open_string(&self, context: &str, sealed: &[u8]) -> Result<SecretString, CryptoError> {
        let bytes = self.open(context, sealed)?;
        String::from_utf8(bytes)
            .map(SecretString::from)
            .map_err(|_| CryptoError::Open)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> SecretBox {
        SecretBox::new(&[7u8; 32])
    }

    #[test]
    fn round_trip_with_a_fresh_nonce_each_time() {
        let b = sample();
        let a = b.seal("acct:stripe", b"sk_test_123").unwrap();
        let c = b.seal("acct:stripe", b"sk_test_123").unwrap();
        assert_ne!(a, c, "random nonce per value");
        assert_eq!(a.len(), 12 + 11 + 16);
        assert_eq!(b.open("acct:stripe", &a).unwrap(), b"sk_test_123");
        assert_eq!(
            b.open_string("acct:stripe", &c).unwrap().expose_secret(),
            "sk_test_123"
        );
    }

    #[test]
    fn tampering_is_detected() {
        let b = sample();
        let sealed = b.seal("ctx", b"secret").unwrap();
        for i in [0, 5, 12, sealed.len() - 1] {
            let mut bad = sealed.clone();
            bad[i] ^= 1;
            assert_eq!(b.open("ctx", &bad), Err(CryptoError::Open), "byte {i}");
        }
        assert_eq!(b.open("ctx", &sealed[..20]), Err(CryptoError::Open));
        assert_eq!(
            b.open("other ctx", &sealed),
            Err(CryptoError::Open),
            "bound to its context"
        );
    }

    #[test]
    fn a_wrong_key_cannot_open() {
        let sealed = sample().seal("ctx", b"secret").unwrap();
        let other = SecretBox::new(&[8u8; 32]);
        assert_eq!(other.open("ctx", &sealed), Err(CryptoError::Open));
    }

    #[test]
    fn keys_parse_from_base64_or_hex() {
        let key = [0xabu8; 32];
        assert_eq!(parse_key(&STANDARD.encode(key)).unwrap(), key);
        assert_eq!(parse_key(&URL_SAFE_NO_PAD.encode(key)).unwrap(), key);
        assert_eq!(parse_key(&"ab".repeat(32)).unwrap(), key);
        assert!(parse_key("too short").is_err());
        assert!(parse_key(&STANDARD.encode([1u8; 16])).is_err());
    }

    #[test]
    fn the_key_file_is_generated_once_with_mode_0600() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("jobber-crypto-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&dir).unwrap();
        let first = SecretBox::load(None, &dir).unwrap();
        let sealed = first.seal("ctx", b"v").unwrap();
        let mode = std::fs::metadata(crate::platform::datadir::DataDir::new(&dir).encryption_key())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let second = SecretBox::load(None, &dir).unwrap();
        assert_eq!(second.open("ctx", &sealed).unwrap(), b"v");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
