//! Password resets and team invitations: single-use links sent by email.
//!
//! A token is `account.id.secret` (like a refresh token, so it finds its tenant
//! first); only a SHA-256 of the secret is stored, it expires, it works once, and a
//! newer email's token replaces an older one. Asking for a reset never tells
//! whether the email has a login.

use std::net::IpAddr;

use chrono::{Duration, Utc};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use uuid::Uuid;

use super::repo;
use super::service::{Tokens, issue_in};
use super::throttle::LoginThrottle;
use super::token::{TokenKeys, random_token};
use crate::error::{Error, ErrorCode};
use crate::modules::users::model::User;
use crate::modules::users::service as users_service;
use crate::modules::{accounts, communications};
use crate::platform::database::{Db, Tx};

/// A reset link works this long.
pub const RESET_MINUTES: i64 = 60;
/// An invitation works this long.
pub const INVITATION_DAYS: i64 = 7;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Purpose {
    PasswordReset,
    Invitation,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Purpose::PasswordReset => "password_reset",
            Purpose::Invitation => "invitation",
        }
    }
}

fn hash(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

async fn issue(
    tx: &mut Tx,
    user: &User,
    purpose: Purpose,
    ttl: Duration,
    created_by: Option<Uuid>,
) -> Result<String, Error> {
    let id = Uuid::now_v7();
    let secret = random_token(32);
    let token_hash = hash(&secret);
    let token = repo::NewUserToken {
        id,
        user_id: user.id,
        purpose: purpose.as_str(),
        token_hash: &token_hash,
        expires_at: Utc::now() + ttl,
        created_by,
    };
    repo::insert_user_token(tx, user.account_id, &token).await?;
    Ok(format!(
        "{}.{}.{secret}",
        user.account_id.simple(),
        id.simple()
    ))
}

fn invalid() -> Error {
    Error::new(
        ErrorCode::InvalidToken,
        "the link is invalid, expired or already used; ask for a new one",
    )
}

/// Open the token's tenant, check it and use it up; returns the transaction (the
/// caller finishes the work in it) and the user.
async fn redeem(db: &Db, token: &str, purpose: Purpose) -> Result<(Tx, User), Error> {
    let mut parts = token.trim().splitn(3, '.');
    let (Some(account), Some(id), Some(secret)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(invalid());
    };
    let (Ok(account_id), Ok(id)) = (Uuid::try_parse(account), Uuid::try_parse(id)) else {
        return Err(invalid());
    };
    let mut tx = db.tenant(account_id).await?;
    let row = repo::user_token_for_update(&mut tx, id)
        .await?
        .ok_or_else(invalid)?;
    let genuine = bool::from(row.token_hash.ct_eq(&hash(secret)));
    if !genuine || !row.usable || row.purpose != purpose.as_str() {
        return Err(invalid());
    }
    let user = users_service::get_on(&mut tx, row.user_id)
        .await?
        .filter(|u| u.active)
        .ok_or_else(invalid)?;
    repo::use_user_token(&mut tx, id).await?;
    Ok((tx, user))
}

/// Email a reset link to the login with this address, if there is one. Answers
/// the same either way; throttled per email and IP like logins.
#[tracing::instrument(skip_all)]
pub async fn request_reset(
    db: &Db,
    public_url: &str,
    throttle: &LoginThrottle,
    email: &str,
    ip: IpAddr,
) -> Result<(), Error> {
    let normalized = email.trim().to_lowercase();
    // Each request counts, so the link cannot be used to flood a mailbox.
    throttle
        .attempt(&normalized, ip)
        .await
        .map_err(Error::rate_limited)?;
    let login = {
        let mut conn = db.pool().acquire().await?;
        users_service::find_login_on(&mut conn, &normalized).await?
    };
    let Some((account_id, user_id)) = login else {
        tracing::info!(%ip, "password reset for an unknown email");
        return Ok(());
    };
    let mut tx = db.tenant(account_id).await?;
    let Some(user) = users_service::get_on(&mut tx, user_id)
        .await?
        .filter(|u| u.active)
    else {
        return Ok(());
    };
    let token = issue(
        &mut tx,
        &user,
        Purpose::PasswordReset,
        Duration::minutes(RESET_MINUTES),
        None,
    )
    .await?;
    let settings = accounts::service::settings_in(&mut tx).await?;
    let link = format!("{public_url}/reset-password?token={token}");
    let content =
        communications::templates::password_reset(&settings, &user.name, &link, RESET_MINUTES);
    let email = communications::OutgoingEmail {
        client_id: None,
        template: "password_reset",
        to: user.email.clone(),
        content,
        about: Some(("user", user.id)),
    };
    communications::queue_email_in(&mut tx, account_id, None, &email).await?;
    tx.commit().await?;
    tracing::info!(%account_id, %user_id, "password reset emailed");
    Ok(())
}

/// Set a new password with a reset token; every session of the user ends.
#[tracing::instrument(skip_all)]
pub async fn reset_password(db: &Db, token: &str, password: String) -> Result<(), Error> {
    super::password::check("password", &password).map_err(|e| Error::invalid(vec![e]))?;
    let (mut tx, user) = redeem(db, token, Purpose::PasswordReset).await?;
    let password_hash = super::password::hash(password).await?;
    users_service::set_password_on(&mut tx, user.id, &password_hash).await?;
    repo::revoke_user(&mut tx, user.id).await?;
    tx.raise(crate::platform::events::Event::UserSessionsRevoked { user_id: user.id });
    crate::modules::activity::service::record(
        &mut tx,
        user.account_id,
        Some(user.id),
        crate::modules::activity::Subject::User(user.id),
        "password_reset",
        serde_json::json!({}),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Email `user` an invitation to choose a password and join the team, in the
/// caller's transaction (nothing is sent if it rolls back).
pub async fn invite_in(
    tx: &mut Tx,
    public_url: &str,
    user: &User,
    inviter: &str,
    invited_by: Uuid,
) -> Result<(), Error> {
    let token = issue(
        tx,
        user,
        Purpose::Invitation,
        Duration::days(INVITATION_DAYS),
        Some(invited_by),
    )
    .await?;
    let settings = accounts::service::settings_in(tx).await?;
    let link = format!("{public_url}/accept-invitation?token={token}");
    let content = communications::templates::invitation(
        &settings,
        inviter,
        &user.name,
        user.role.as_str(),
        &link,
        INVITATION_DAYS,
    );
    let email = communications::OutgoingEmail {
        client_id: None,
        template: "team_invitation",
        to: user.email.clone(),
        content,
        about: Some(("user", user.id)),
    };
    communications::queue_email_in(tx, user.account_id, Some(invited_by), &email).await?;
    Ok(())
}

/// Accept an invitation: set the password and log in.
#[tracing::instrument(skip_all)]
pub async fn accept_invitation(
    db: &Db,
    keys: &TokenKeys,
    token: &str,
    password: String,
) -> Result<(User, Tokens), Error> {
    super::password::check("password", &password).map_err(|e| Error::invalid(vec![e]))?;
    let (mut tx, user) = redeem(db, token, Purpose::Invitation).await?;
    let password_hash = super::password::hash(password).await?;
    users_service::set_password_on(&mut tx, user.id, &password_hash).await?;
    users_service::touch_login_on(&mut tx, user.id).await?;
    crate::modules::activity::service::record(
        &mut tx,
        user.account_id,
        Some(user.id),
        crate::modules::activity::Subject::User(user.id),
        "invitation_accepted",
        serde_json::json!({}),
    )
    .await?;
    let user = users_service::get_on(&mut tx, user.id)
        .await?
        .ok_or_else(invalid)?;
    let tokens = issue_in(&mut tx, keys, &user).await?;
    tx.commit().await?;
    Ok((user, tokens))
}
