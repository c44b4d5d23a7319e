//! The admin listener's token: the `admin_token` setting (the same on every pod of a
//! deployment), else a random secret in the data dir (`admin.token`, 0600), created by
//! the first `jobber serve`. `GET /status` asks for it as
//! `Authorization: Bearer <token>`; `jobber top` reads it from the same file. Whoever
//! can read the data dir can read the business, so the file is no weaker than it.

use std::path::{Path, PathBuf};

use anyhow::Context;
use secrecy::{ExposeSecret, SecretString};
use subtle::ConstantTimeEq;

pub struct AdminToken {
    secret: SecretString,
}

impl AdminToken {
    pub fn path(data_dir: &Path) -> PathBuf {
        crate::platform::datadir::DataDir::new(data_dir).admin_token()
    }

    /// The configured token, else the data dir's, created (32 random bytes,
    /// base64url) if missing.
    pub fn load_or_create(
        configured: Option<&SecretString>,
        data_dir: &Path,
    ) -> anyhow::Result<Self> {
        if let Some(token) = configured {
            return Ok(Self {
                secret: token.clone(),
            });
        }
        let path = Self::path(data_dir);
        let token = crate::platform::crypto::read_or_create_secret(
            &path,
            crate::platform::crypto::random_key,
        )?;
        anyhow::ensure!(token.len() >= 32, "{} is too short", path.display());
        Ok(Self {
            secret: token.into(),
        })
    }

    /// The token as a client reads it (`jobber top`).
    pub fn read(data_dir: &Path) -> anyhow::Result<String> {
        let path = Self::path(data_dir);
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let token = text.trim().to_owned();
        anyhow::ensure!(token.len() >= 32, "{} is too short", path.display());
        Ok(token)
    }

    /// Whether `presented` is the token, in constant time.
    pub fn matches(&self, presented: &str) -> bool {
        let expected = self.secret.expose_secret().as_bytes();
        expected.len() == presented.len() && bool::from(expected.ct_eq(presented.as_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_once_private_and_matched_exactly() {
        let dir = std::env::temp_dir().join(format!("jobber-admin-token-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| unreachable!("{e}"));
        let first = AdminToken::load_or_create(None, &dir).unwrap_or_else(|e| unreachable!("{e}"));
        let again = AdminToken::load_or_create(None, &dir).unwrap_or_else(|e| unreachable!("{e}"));
        let text = AdminToken::read(&dir).unwrap_or_else(|e| unreachable!("{e}"));
        assert!(first.matches(&text) && again.matches(&text));
        assert!(!first.matches(&text[1..]) && !first.matches(""));
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(AdminToken::path(&dir))
            .map(|m| m.permissions().mode() & 0o777)
            .unwrap_or_default();
        assert_eq!(mode, 0o600);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
