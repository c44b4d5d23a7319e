//! Two-factor sign-in: TOTP (RFC 6238, [`super::totp`]) and single-use recovery codes.
//!
//! Any user may turn it on (the web app offers it to owners and admins first). Set-up
//! stores a pending secret, sealed with the server's encryption key
//! (`platform::crypto`, bound to the account and user); the first good code turns it
//! on and returns ten recovery codes, of which only SHA-256 hashes are kept. Once on,
//! every password sign-in (`/auth/login`, `/auth/session`) needs a code or a recovery
//! code ([`check`]). A code's 30-second step is accepted once: a code seen over a
//! shoulder or replayed cannot be used again.

use std::net::IpAddr;

use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::PgConnection;
use utoipa::ToSchema;
use uuid::Uuid;

use super::throttle::LoginThrottle;
use super::{repo, totp};
use crate::error::{Error, ErrorCode};
use crate::modules::activity::{self, Subject};
use crate::modules::users::model::User;
use crate::modules::users::service as users_service;
use crate::platform::crypto::SecretBox;
use crate::platform::database::Ctx;
use crate::platform::database::Db;

pub const RECOVERY_CODES: usize = 10;
const ISSUER: &str = "jobber";

/// The second factor a sign-in carries, if any.
#[derive(Debug, Default, Clone, Copy)]
pub struct SecondFactor<'a> {
    pub totp_code: Option<&'a str>,
    pub recovery_code: Option<&'a str>,
}

fn context(account_id: Uuid, user_id: Uuid) -> String {
    format!("{account_id}:{user_id}:totp_secret")
}

/// Recovery codes are compared without regard to case, spaces or dashes.
fn recovery_hash(code: &str) -> Vec<u8> {
    let normalized: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    Sha256::digest(normalized.as_bytes()).to_vec()
}

/// `xxxx-xxxx-xxxx-xxxx` in lower-case base32: 80 random bits.
fn new_recovery_code() -> String {
    let text = totp::base32_encode(&totp::new_secret()[..10]).to_ascii_lowercase();
    text.as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join("-")
}

fn open_secret(secrets: &SecretBox, user: (Uuid, Uuid), sealed: &[u8]) -> Result<Vec<u8>, Error> {
    secrets
        .open(&context(user.0, user.1), sealed)
        .map_err(Error::internal)
}

/// Accept a TOTP code for `user_id` now: the step must be within the window and later
/// than any step accepted before.
async fn accept_code(
    conn: &mut PgConnection,
    secrets: &SecretBox,
    account_id: Uuid,
    user_id: Uuid,
    sealed: &[u8],
    code: &str,
) -> Result<bool, Error> {
    let secret = open_secret(secrets, (account_id, user_id), sealed)?;
    let Some(step) = totp::verify(&secret, code, chrono::Utc::now().timestamp()) else {
        return Ok(false);
    };
    Ok(repo::use_totp_step(conn, user_id, step).await?)
}

/// The second-factor check of a sign-in whose password was right, in the sign-in's
/// tenant transaction: passes when the user has no TOTP on, or the code (or an unused
/// recovery code) is good. `401 totp_required` without one, `401 invalid_credentials`
/// for a wrong or reused one.
pub async fn check(
    conn: &mut PgConnection,
    secrets: &SecretBox,
    user: &User,
    factor: SecondFactor<'_>,
) -> Result<(), Error> {
    let Some(row) = repo::get_totp(conn, user.id).await?.filter(|r| r.enabled) else {
        return Ok(());
    };
    let wrong = || {
        Error::new(
            ErrorCode::InvalidCredentials,
            "the two-factor code is wrong or was already used",
        )
    };
    if let Some(code) = factor.totp_code.filter(|c| !c.trim().is_empty()) {
        return if accept_code(
            conn,
            secrets,
            user.account_id,
            user.id,
            &row.secret_sealed,
            code,
        )
        .await?
        {
            Ok(())
        } else {
            Err(wrong())
        };
    }
    if let Some(code) = factor.recovery_code.filter(|c| !c.trim().is_empty()) {
        return if repo::use_recovery_code(conn, user.id, &recovery_hash(code)).await? {
            tracing::info!(account_id = %user.account_id, user_id = %user.id, "signed in with a recovery code");
            Ok(())
        } else {
            Err(wrong())
        };
    }
    Err(Error::code(ErrorCode::TotpRequired))
}

/// A secret to enter in an authenticator app.
#[derive(Debug, Serialize, ToSchema)]
pub struct TotpSetup {
    /// The secret, RFC 4648 base32 (for typing in).
    pub secret: String,
    /// `otpauth://totp/…` (for a QR code).
    pub otpauth_url: String,
}

/// Whether the caller has two-factor sign-in on.
#[derive(Debug, Serialize, ToSchema)]
pub struct TotpStatus {
    pub enabled: bool,
    /// Set up and waiting for its first code.
    pub pending: bool,
    /// Unused recovery codes.
    pub recovery_codes_left: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RecoveryCodes {
    /// Ten single-use codes, shown only now: each signs in once in place of a TOTP code.
    pub recovery_codes: Vec<String>,
}

pub async fn status(db: &Db, ctx: &Ctx) -> Result<TotpStatus, Error> {
    let mut tx = db.tenant(ctx.account_id).await?;
    let row = repo::get_totp(&mut tx, ctx.user_id).await?;
    let left = repo::recovery_codes_left(&mut tx, ctx.user_id).await?;
    tx.commit().await?;
    Ok(TotpStatus {
        enabled: row.as_ref().is_some_and(|r| r.enabled),
        pending: row.as_ref().is_some_and(|r| !r.enabled),
        recovery_codes_left: left,
    })
}

/// Begin set-up: a new pending secret (replacing an earlier pending one).
#[tracing::instrument(skip_all, fields(account_id = %ctx.account_id, user_id = %ctx.user_id))]
pub async fn setup(db: &Db, secrets: &SecretBox, ctx: &Ctx) -> Result<TotpSetup, Error> {
    let mut tx = db.tenant(ctx.account_id).await?;
    let user = users_service::get_on(&mut tx, ctx.user_id)
        .await?
        .ok_or(Error::code(ErrorCode::UserNotFound))?;
    let secret = totp::new_secret();
    let sealed = secrets
        .seal(&context(ctx.account_id, ctx.user_id), &secret)
        .map_err(Error::internal)?;
    if !repo::set_pending_totp(&mut tx, ctx.account_id, ctx.user_id, &sealed).await? {
        return Err(Error::code(ErrorCode::TotpAlreadyEnabled));
    }
    tx.commit().await?;
    Ok(TotpSetup {
        secret: totp::base32_encode(&secret),
        otpauth_url: totp::otpauth_url(ISSUER, &user.email, &secret),
    })
}

/// Confirm set-up with the app's current code: two-factor sign-in is on, and the
/// recovery codes are returned (once).
#[tracing::instrument(skip_all, fields(account_id = %ctx.account_id, user_id = %ctx.user_id))]
pub async fn enable(
    db: &Db,
    secrets: &SecretBox,
    ctx: &Ctx,
    code: &str,
) -> Result<RecoveryCodes, Error> {
    let mut tx = db.tenant(ctx.account_id).await?;
    let row = repo::get_totp(&mut tx, ctx.user_id)
        .await?
        .ok_or(Error::code(ErrorCode::TotpNotSetUp))?;
    if row.enabled {
        return Err(Error::code(ErrorCode::TotpAlreadyEnabled));
    }
    if !accept_code(
        &mut tx,
        secrets,
        ctx.account_id,
        ctx.user_id,
        &row.secret_sealed,
        code,
    )
    .await?
    {
        return Err(Error::field(
            "code",
            "is not the authenticator app's current code",
        ));
    }
    let codes: Vec<String> = (0..RECOVERY_CODES).map(|_| new_recovery_code()).collect();
    let hashes: Vec<Vec<u8>> = codes.iter().map(|c| recovery_hash(c)).collect();
    repo::replace_recovery_codes(&mut tx, ctx.account_id, ctx.user_id, &hashes).await?;
    activity::service::record(
        &mut tx,
        ctx.account_id,
        Some(ctx.user_id),
        Subject::User(ctx.user_id),
        "two_factor_enabled",
        serde_json::json!({}),
    )
    .await?;
    tx.commit().await?;
    tracing::info!("two-factor sign-in enabled");
    Ok(RecoveryCodes {
        recovery_codes: codes,
    })
}

/// Turn two-factor sign-in off, proven by the password or a current code (or a
/// recovery code). Throttled like logins.
#[tracing::instrument(skip_all, fields(account_id = %ctx.account_id, user_id = %ctx.user_id))]
pub async fn disable(
    db: &Db,
    secrets: &SecretBox,
    throttle: &LoginThrottle,
    ctx: &Ctx,
    password: Option<String>,
    code: Option<&str>,
    ip: IpAddr,
) -> Result<(), Error> {
    if password.is_none() && code.is_none() {
        return Err(Error::field(
            "password",
            "send your password (or `code`: a current code or a recovery code)",
        ));
    }
    let mut tx = db.tenant(ctx.account_id).await?;
    let credentials = users_service::credentials_on(&mut tx, ctx.user_id)
        .await?
        .ok_or(Error::code(ErrorCode::UserNotFound))?;
    let email = credentials.user.email.to_lowercase();
    throttle
        .attempt(&email, ip)
        .await
        .map_err(Error::rate_limited)?;
    let row = repo::get_totp(&mut tx, ctx.user_id).await?;
    let proven = match (password, code) {
        (Some(password), _) => {
            super::password::verify(password, credentials.password_hash.clone()).await?
        }
        (None, Some(code)) => match &row {
            Some(row) if row.enabled => {
                accept_code(
                    &mut tx,
                    secrets,
                    ctx.account_id,
                    ctx.user_id,
                    &row.secret_sealed,
                    code,
                )
                .await?
                    || repo::use_recovery_code(&mut tx, ctx.user_id, &recovery_hash(code)).await?
            }
            _ => false,
        },
        (None, None) => false,
    };
    if !proven {
        return Err(Error::new(
            ErrorCode::InvalidCredentials,
            "the password or code is wrong",
        ));
    }
    throttle.record_success(&email, ip).await;
    if row.is_some() {
        repo::delete_totp(&mut tx, ctx.user_id).await?;
        activity::service::record(
            &mut tx,
            ctx.account_id,
            Some(ctx.user_id),
            Subject::User(ctx.user_id),
            "two_factor_disabled",
            serde_json::json!({}),
        )
        .await?;
    }
    tx.commit().await?;
    tracing::info!("two-factor sign-in disabled");
    Ok(())
}

/// Turn two-factor sign-in off for another user of the account who lost their
/// authenticator and their recovery codes (owners and admins; only an owner may do
/// it for an owner, as only owners manage owners). The user then signs in with the
/// password alone and can set it up again.
#[tracing::instrument(skip_all, fields(account_id = %ctx.account_id, user_id = %user_id))]
pub async fn reset_for(db: &Db, ctx: &Ctx, user_id: Uuid) -> Result<(), Error> {
    let mut tx = db.tenant(ctx.account_id).await?;
    let user = users_service::get_on(&mut tx, user_id)
        .await?
        .ok_or(Error::code(ErrorCode::UserNotFound))?;
    if user.role == crate::modules::users::model::Role::Owner
        && ctx.role != crate::modules::users::model::Role::Owner
    {
        return Err(Error::new(
            ErrorCode::Forbidden,
            "only an owner may turn off an owner's two-factor sign-in",
        ));
    }
    if repo::get_totp(&mut tx, user_id).await?.is_some() {
        repo::delete_totp(&mut tx, user_id).await?;
        activity::service::record(
            &mut tx,
            ctx.account_id,
            Some(ctx.user_id),
            Subject::User(user_id),
            "two_factor_reset",
            serde_json::json!({}),
        )
        .await?;
    }
    tx.commit().await?;
    tracing::info!(actor_id = %ctx.user_id, "two-factor sign-in reset");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovery_codes_are_long_and_compared_loosely() {
        let code = new_recovery_code();
        assert_eq!(code.len(), 19, "{code}");
        assert_eq!(code.matches('-').count(), 3);
        assert_eq!(
            recovery_hash(&code),
            recovery_hash(&code.to_uppercase().replace('-', " "))
        );
        assert_ne!(new_recovery_code(), code);
    }
}
