//! Access tokens: compact JWS with HS256 (RFC 7515/7519), the only algorithm accepted.
//! The key is generated into the data dir (mode 0600) on first start, or given by
//! config (`jwt_secret`) so several pods share it.

use std::path::Path;

use anyhow::Context;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use uuid::Uuid;

use crate::error::{Error, ErrorCode};
use crate::modules::users::model::Role;

pub const ACCESS_TOKEN_SECONDS: i64 = 15 * 60;
const HEADER: &str = r#"{"alg":"HS256","typ":"JWT"}"#;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Claims {
    /// The user.
    pub sub: Uuid,
    /// The account.
    pub acct: Uuid,
    pub role: Role,
    /// The login (refresh-token family) this token belongs to.
    pub sid: Uuid,
    pub iat: i64,
    pub exp: i64,
}

pub struct TokenKeys {
    secret: Vec<u8>,
}

impl TokenKeys {
    pub fn new(secret: &[u8]) -> Self {
        Self {
            secret: secret.to_vec(),
        }
    }

    /// The configured secret, else the key file in the data dir, created if missing.
    pub fn load(configured: Option<&SecretString>, data_dir: &Path) -> anyhow::Result<Self> {
        if let Some(secret) = configured {
            return Ok(Self::new(secret.expose_secret().as_bytes()));
        }
        let path = crate::platform::datadir::DataDir::new(data_dir).jwt_key();
        let text = crate::platform::crypto::read_or_create_secret(
            &path,
            crate::platform::crypto::random_key,
        )?;
        let key = URL_SAFE_NO_PAD
            .decode(&text)
            .with_context(|| format!("{} is corrupt", path.display()))?;
        anyhow::ensure!(key.len() >= 32, "{} is too short", path.display());
        Ok(Self::new(&key))
    }

    fn mac(&self) -> Hmac<Sha256> {
        // HMAC accepts keys of any length.
        Hmac::<Sha256>::new_from_slice(&self.secret).unwrap_or_else(|_| unreachable!())
    }

    pub fn issue(&self, claims: &Claims) -> String {
        let payload = serde_json::to_vec(claims).unwrap_or_default();
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(HEADER),
            URL_SAFE_NO_PAD.encode(payload)
        );
        let mut mac = self.mac();
        mac.update(signing_input.as_bytes());
        let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        format!("{signing_input}.{signature}")
    }

    pub fn verify(&self, token: &str) -> Result<Claims, Error> {
        self.verify_at(token, chrono::Utc::now().timestamp())
    }

    pub fn verify_at(&self, token: &str, now: i64) -> Result<Claims, Error> {
        let invalid = || Error::code(ErrorCode::InvalidToken);
        let mut parts = token.split('.');
        let (Some(header), Some(payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(invalid());
        };
        // Only our exact header: no `alg: none`, no algorithm confusion.
        let header_b64 = header;
        let header: serde_json::Value = URL_SAFE_NO_PAD
            .decode(header)
            .ok()
            .and_then(|h| serde_json::from_slice(&h).ok())
            .ok_or_else(invalid)?;
        if header.get("alg").and_then(|a| a.as_str()) != Some("HS256") {
            return Err(invalid());
        }
        let signature = URL_SAFE_NO_PAD.decode(signature).map_err(|_| invalid())?;
        let mut mac = self.mac();
        mac.update(format!("{header_b64}.{payload}").as_bytes());
        mac.verify_slice(&signature).map_err(|_| invalid())?;
        let claims: Claims = URL_SAFE_NO_PAD
            .decode(payload)
            .ok()
            .and_then(|p| serde_json::from_slice(&p).ok())
            .ok_or_else(invalid)?;
        if claims.exp <= now {
            return Err(Error::new(
                ErrorCode::InvalidToken,
                "the access token has expired; refresh it",
            ));
        }
        Ok(claims)
    }
}

impl TokenKeys {
    /// A key for another purpose (`"storage-urls"`…), derived as HMAC(secret, purpose)
    /// so one configured secret serves every signer without reusing it directly.
    pub fn derive(&self, purpose: &str) -> Vec<u8> {
        let mut mac = self.mac();
        mac.update(format!("derive:{purpose}").as_bytes());
        mac.finalize().into_bytes().to_vec()
    }

    /// The signature of a client-hub link (seed §9.2: clients reach the hub by signed
    /// magic link): an HMAC over its purpose, account and record, base64url.
    pub fn sign_link(&self, purpose: &str, account_id: Uuid, id: Uuid, expires: i64) -> String {
        let mut mac = self.mac();
        mac.update(format!("link:{purpose}:{account_id}:{id}:{expires}").as_bytes());
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }

    /// Check a link: its signature (constant time), then its expiry (Unix seconds)
    /// against `now`.
    pub fn verify_link(
        &self,
        purpose: &str,
        account_id: Uuid,
        id: Uuid,
        expires: i64,
        signature: &str,
        now: i64,
    ) -> LinkCheck {
        let Ok(signature) = URL_SAFE_NO_PAD.decode(signature) else {
            return LinkCheck::Invalid;
        };
        let mut mac = self.mac();
        mac.update(format!("link:{purpose}:{account_id}:{id}:{expires}").as_bytes());
        if mac.verify_slice(&signature).is_err() {
            LinkCheck::Invalid
        } else if expires <= now {
            LinkCheck::Expired
        } else {
            LinkCheck::Valid
        }
    }
}

/// What a signed link is worth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkCheck {
    Valid,
    /// Genuine but past its expiry: the business can send a fresh one.
    Expired,
    /// Not signed by us, or altered.
    Invalid,
}

pub use crate::platform::crypto::random_token;

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(exp: i64) -> Claims {
        Claims {
            sub: Uuid::now_v7(),
            acct: Uuid::now_v7(),
            role: Role::Dispatcher,
            sid: Uuid::now_v7(),
            iat: 0,
            exp,
        }
    }

    #[test]
    fn round_trip() {
        let keys = TokenKeys::new(&[7; 32]);
        let c = claims(1_000);
        assert_eq!(keys.verify_at(&keys.issue(&c), 999).ok(), Some(c));
    }

    #[test]
    fn rejects_expired_tampered_foreign_and_unsigned() {
        let keys = TokenKeys::new(&[7; 32]);
        let token = keys.issue(&claims(1_000));
        assert!(keys.verify_at(&token, 1_000).is_err(), "expired");
        assert!(
            TokenKeys::new(&[8; 32]).verify_at(&token, 0).is_err(),
            "other key"
        );
        let mut forged = claims(5_000);
        forged.role = Role::Owner;
        let parts: Vec<&str> = token.split('.').collect();
        let tampered = format!(
            "{}.{}.{}",
            parts[0],
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(&forged).unwrap_or_default()),
            parts[2]
        );
        assert!(keys.verify_at(&tampered, 0).is_err(), "tampered payload");
        let none = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#),
            parts[1]
        );
        assert!(keys.verify_at(&none, 0).is_err(), "alg none");
        assert!(keys.verify_at("garbage", 0).is_err());
    }

    #[test]
    fn link_signatures_bind_purpose_account_and_record() {
        let keys = TokenKeys::new(&[9; 32]);
        let (account, id) = (Uuid::now_v7(), Uuid::now_v7());
        let signature = keys.sign_link("quote", account, id, 2_000);
        let check = |purpose, account, expires, signature: &str, now| {
            keys.verify_link(purpose, account, id, expires, signature, now)
        };
        assert_eq!(
            check("quote", account, 2_000, &signature, 1_999),
            LinkCheck::Valid
        );
        assert_eq!(
            check("quote", account, 2_000, &signature, 2_000),
            LinkCheck::Expired
        );
        assert_eq!(
            check("quote", account, 3_000, &signature, 1_999),
            LinkCheck::Invalid,
            "expiry is signed"
        );
        assert_eq!(
            check("invoice", account, 2_000, &signature, 1_999),
            LinkCheck::Invalid
        );
        assert_eq!(
            check("quote", Uuid::now_v7(), 2_000, &signature, 1_999),
            LinkCheck::Invalid
        );
        assert_eq!(
            check("quote", account, 2_000, "AAAA", 1_999),
            LinkCheck::Invalid
        );
    }

    #[test]
    fn key_file_is_created_private_and_reused() {
        let dir = std::env::temp_dir().join(format!("jobber-key-{}", Uuid::now_v7()));
        std::fs::create_dir_all(&dir).unwrap_or_default();
        let first = TokenKeys::load(None, &dir).map(|k| k.issue(&claims(10)));
        let second = TokenKeys::load(None, &dir).map(|k| k.issue(&claims(10)));
        assert!(first.is_ok() && second.is_ok());
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(crate::platform::datadir::DataDir::new(&dir).jwt_key())
            .map(|m| m.permissions().mode() & 0o777)
            .unwrap_or(0);
        assert_eq!(mode, 0o600);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
