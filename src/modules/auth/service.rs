use std::net::IpAddr;

use chrono::Utc;
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::PgConnection;
use subtle::ConstantTimeEq;
use utoipa::ToSchema;
use uuid::Uuid;

use super::mfa::SecondFactor;
use super::repo;
use super::throttle::LoginThrottle;
use super::token::{ACCESS_TOKEN_SECONDS, Claims, TokenKeys, random_token};
use crate::error::{Error, ErrorCode};
use crate::modules::users::model::{Role, User};
use crate::modules::users::service as users_service;
use crate::platform::cache::{self, Key};
use crate::platform::crypto::SecretBox;
use crate::platform::database::{Db, Tx};
use crate::platform::events::Event;

pub const REFRESH_TOKEN_DAYS: i64 = 30;

#[derive(Debug, Serialize, ToSchema)]
pub struct Tokens {
    /// Send as `Authorization: Bearer <access_token>`; valid for `expires_in` seconds.
    pub access_token: String,
    /// Exchange at `/auth/refresh` for a new pair; single use.
    pub refresh_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    pub expires_in: i64,
}

/// Start a new login (a new refresh-token family) for `user`.
pub async fn issue_in(
    conn: &mut PgConnection,
    keys: &TokenKeys,
    user: &User,
) -> Result<Tokens, sqlx::Error> {
    let family_id = Uuid::now_v7();
    issue_in_family(conn, keys, user, family_id).await
}

async fn issue_in_family(
    conn: &mut PgConnection,
    keys: &TokenKeys,
    user: &User,
    family_id: Uuid,
) -> Result<Tokens, sqlx::Error> {
    let id = Uuid::now_v7();
    let secret = random_token(32);
    let expires_at = Utc::now() + chrono::Duration::days(REFRESH_TOKEN_DAYS);
    repo::insert(
        conn,
        user.account_id,
        id,
        family_id,
        user.id,
        &hash(&secret),
        expires_at,
    )
    .await?;
    let now = Utc::now().timestamp();
    let claims = Claims {
        sub: user.id,
        acct: user.account_id,
        role: user.role,
        sid: family_id,
        iat: now,
        exp: now + ACCESS_TOKEN_SECONDS,
    };
    Ok(Tokens {
        access_token: keys.issue(&claims),
        refresh_token: format!("{}.{}.{secret}", user.account_id.simple(), id.simple()),
        token_type: "Bearer",
        expires_in: ACCESS_TOKEN_SECONDS,
    })
}

fn hash(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// `account.id.secret`; anything else is simply invalid.
fn parse_refresh(token: &str) -> Option<(Uuid, Uuid, &str)> {
    let mut parts = token.trim().splitn(3, '.');
    let account = Uuid::try_parse(parts.next()?).ok()?;
    let id = Uuid::try_parse(parts.next()?).ok()?;
    let secret = parts.next().filter(|s| !s.is_empty())?;
    Some((account, id, secret))
}

/// What a password sign-in needs beyond the email and password.
pub struct SignIn<'a> {
    pub db: &'a Db,
    pub secrets: &'a SecretBox,
    pub throttle: &'a LoginThrottle,
    pub ip: IpAddr,
}

/// Check an email, password and (when the user has it on) second factor, throttled
/// per email and IP. The user, with `last_login_at` touched, and the tenant
/// transaction the caller starts the login in.
#[tracing::instrument(skip_all)]
pub async fn authenticate(
    sign_in: &SignIn<'_>,
    email: &str,
    password: String,
    factor: SecondFactor<'_>,
) -> Result<(User, Tx), Error> {
    let SignIn {
        db, throttle, ip, ..
    } = *sign_in;
    let normalized = email.trim().to_lowercase();
    // Counted before anything is looked up or hashed: concurrent guesses cannot all
    // slip in under the limit.
    throttle
        .attempt(&normalized, ip)
        .await
        .map_err(Error::rate_limited)?;
    let login = {
        let mut conn = db.pool().acquire().await?;
        users_service::find_login_on(&mut conn, &normalized).await?
    };
    let credentials = match login {
        Some((account_id, user_id)) => {
            let mut tx = db.tenant(account_id).await?;
            let found = users_service::credentials_on(&mut tx, user_id).await?;
            tx.commit().await?;
            found
        }
        None => None,
    };
    // Verify even without a user so both failures take the same time.
    let hash = credentials.as_ref().and_then(|c| c.password_hash.clone());
    let valid = super::password::verify(password, hash).await?;
    let user = match credentials {
        Some(c) if valid && c.user.active => c.user,
        _ => {
            tracing::info!(%ip, "login failed");
            return Err(Error::code(ErrorCode::InvalidCredentials));
        }
    };
    let mut tx = db.tenant(user.account_id).await?;
    // A missing or wrong second factor leaves the attempt counted: the throttle
    // bounds guesses at codes as it bounds guesses at passwords.
    if let Err(error) = super::mfa::check(&mut tx, sign_in.secrets, &user, factor).await {
        tracing::info!(%ip, account_id = %user.account_id, user_id = %user.id, code = error.code.as_str(), "second factor refused");
        return Err(error);
    }
    throttle.record_success(&normalized, ip).await;
    users_service::touch_login_on(&mut tx, user.id).await?;
    Ok((user, tx))
}

/// A password sign-in for an API client: a new token login.
#[tracing::instrument(skip_all)]
pub async fn login(
    sign_in: &SignIn<'_>,
    keys: &TokenKeys,
    email: &str,
    password: String,
    factor: SecondFactor<'_>,
) -> Result<(User, Tokens), Error> {
    let (user, mut tx) = authenticate(sign_in, email, password, factor).await?;
    let tokens = issue_in(&mut tx, keys, &user).await?;
    tx.commit().await?;
    tracing::info!(account_id = %user.account_id, user_id = %user.id, "login");
    Ok((user, tokens))
}

/// Check a bearer token's login against the database (through the `tokens` cache,
/// docs/scaling.md): its user is active and its refresh-token family not revoked.
/// The user's role now, which may differ from the token's claim after a role change.
/// A signed-out login, a revoked one or a deactivated user is `401 invalid_token` at
/// once on the instance that made the change, and on the others as soon as its
/// event arrives, although the token itself has not expired.
pub async fn check_token(db: &Db, claims: &Claims) -> Result<Role, Error> {
    let key = Key::item(claims.acct, claims.sid);
    let live = db
        .caches()
        .get(cache::Name::Tokens)
        .get_or_load(key, || async {
            let mut tx = db.tenant(claims.acct).await?;
            let role = repo::live_login_role(&mut tx, claims.sub, claims.sid).await?;
            tx.commit().await?;
            Ok::<_, Error>(role.and_then(|role| Some((claims.sub, Role::parse(&role)?))))
        })
        .await?;
    match live {
        // A cached check answers only the user it was made for.
        Some((user_id, role)) if user_id == claims.sub => Ok(role),
        _ => Err(Error::new(
            ErrorCode::InvalidToken,
            "the access token's sign-in has ended (signed out, revoked, or the user deactivated); sign in again",
        )),
    }
}

/// Rotate a refresh token. Presenting one that was already rotated means it leaked (or
/// a client is confused): the whole family is revoked and the caller must log in again.
#[tracing::instrument(skip_all)]
pub async fn refresh(db: &Db, keys: &TokenKeys, token: &str) -> Result<Tokens, Error> {
    let invalid = || {
        Error::new(
            ErrorCode::InvalidToken,
            "the refresh token is invalid, expired or revoked; log in again",
        )
    };
    let (account_id, id, secret) = parse_refresh(token).ok_or_else(invalid)?;
    let mut tx = db.tenant(account_id).await?;
    let row = repo::get_for_update(&mut tx, id)
        .await?
        .ok_or_else(invalid)?;
    if !bool::from(row.token_hash.ct_eq(&hash(secret))) {
        return Err(invalid());
    }
    if row.revoked || row.expired {
        return Err(invalid());
    }
    if row.rotated {
        repo::revoke_family(&mut tx, row.family_id).await?;
        tx.raise(Event::SessionRevoked {
            session_id: row.family_id,
            user_id: row.user_id,
        });
        tx.commit().await?;
        tracing::warn!(%account_id, user_id = %row.user_id, family_id = %row.family_id, "refresh token reused; session revoked");
        return Err(Error::code(ErrorCode::RefreshTokenReused));
    }
    let user = users_service::get_on(&mut tx, row.user_id)
        .await?
        .filter(|u| u.active)
        .ok_or_else(invalid)?;
    repo::mark_rotated(&mut tx, id).await?;
    let tokens = issue_in_family(&mut tx, keys, &user, row.family_id).await?;
    tx.commit().await?;
    Ok(tokens)
}

/// Revoke the login the refresh token belongs to. Unknown tokens are ignored (logout
/// is idempotent).
pub async fn logout(db: &Db, token: &str) -> Result<(), Error> {
    let Some((account_id, id, secret)) = parse_refresh(token) else {
        return Ok(());
    };
    let mut tx = db.tenant(account_id).await?;
    if let Some(row) = repo::get_for_update(&mut tx, id).await?
        && bool::from(row.token_hash.ct_eq(&hash(secret)))
    {
        repo::revoke_family(&mut tx, row.family_id).await?;
        // Its access tokens stop working too (`check_token`), on every instance.
        tx.raise(Event::SessionRevoked {
            session_id: row.family_id,
            user_id: row.user_id,
        });
    }
    tx.commit().await?;
    Ok(())
}

/// Delete refresh tokens expired, or revoked more than 7 days ago (the
/// `purge_refresh_tokens` cleanup task, across accounts on the owner's connection).
pub async fn purge_refresh_tokens(pool: &sqlx::PgPool) -> Result<u64, sqlx::Error> {
    repo::purge_refresh_tokens(pool).await
}

/// Delete password-reset and invitation tokens expired or used more than 7 days ago
/// (the `purge_user_tokens` cleanup task).
pub async fn purge_user_tokens(pool: &sqlx::PgPool) -> Result<u64, sqlx::Error> {
    repo::purge_user_tokens(pool).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_token_format() {
        let (a, i) = (Uuid::now_v7(), Uuid::now_v7());
        let token = format!("{}.{}.s3cr.et", a.simple(), i.simple());
        assert_eq!(parse_refresh(&token), Some((a, i, "s3cr.et")));
        assert_eq!(parse_refresh("nope"), None);
        assert_eq!(
            parse_refresh(&format!("{}.{}.", a.simple(), i.simple())),
            None
        );
    }
}
