//! The team's logins: adding a member (and inviting them to choose a password),
//! inviting again, and changing a member, whose sign-ins end with a new password or
//! when deactivated. The people themselves are the `users` module's; this is where
//! a change to them meets the invitations and sessions that auth owns.

use uuid::Uuid;

use super::{email_tokens, repo};
use crate::error::Error;
use crate::modules::users::model::{NewUser, User};
use crate::modules::users::service::{self as users, UserPatch};
use crate::platform::database::Ctx;
use crate::platform::database::{Db, Tx};

#[tracing::instrument(skip_all, fields(account_id = %ctx.account_id))]
pub async fn create(db: &Db, ctx: &Ctx, public_url: &str, user: NewUser) -> Result<User, Error> {
    let mut tx = db.tenant(ctx.account_id).await?;
    let created = users::create_in(&mut tx, ctx, &user).await?;
    if created.invited {
        invite(&mut tx, ctx, public_url, &created).await?;
    }
    tx.commit().await?;
    Ok(created)
}

async fn invite(tx: &mut Tx, ctx: &Ctx, public_url: &str, user: &User) -> Result<(), Error> {
    let inviter = users::name_in(tx, ctx.user_id)
        .await?
        .unwrap_or_else(|| "Your team".to_string());
    email_tokens::invite_in(tx, public_url, user, &inviter, ctx.user_id).await?;
    users::record_invited_in(tx, ctx, user).await
}

/// Email a new invitation (the previous link stops working). Only for a user who
/// has not accepted yet.
pub async fn resend_invitation(
    db: &Db,
    ctx: &Ctx,
    public_url: &str,
    id: Uuid,
) -> Result<User, Error> {
    let mut tx = db.tenant(ctx.account_id).await?;
    let user = users::lock_invited_in(&mut tx, id).await?;
    invite(&mut tx, ctx, public_url, &user).await?;
    tx.commit().await?;
    Ok(user)
}

#[tracing::instrument(skip_all, fields(account_id = %ctx.account_id, user_id = %id))]
pub async fn update(db: &Db, ctx: &Ctx, id: Uuid, patch: UserPatch) -> Result<User, Error> {
    let mut tx = db.tenant(ctx.account_id).await?;
    let (updated, sign_ins_end) = users::update_in(&mut tx, ctx, id, patch).await?;
    if sign_ins_end {
        repo::revoke_user(&mut tx, id).await?;
    }
    tx.commit().await?;
    Ok(updated)
}
