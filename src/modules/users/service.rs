use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use sqlx::error::ErrorKind;
use uuid::Uuid;

use super::model::{NewUser, Role, User};
use super::repo;
use crate::error::{ChangedBy, Error, ErrorCode, Stale};
use crate::modules::activity::{self, Subject};
use crate::platform::database::Ctx;
use crate::platform::database::{Db, Tx, violation};
use crate::platform::events::{self, Actor, Record};
use crate::platform::pagination::{Page, PageRequest};

/// Insert inside the caller's transaction (account creation, user creation).
pub async fn insert_in(
    conn: &mut PgConnection,
    account_id: Uuid,
    actor: Option<Uuid>,
    user: &NewUser,
) -> Result<User, Error> {
    let id = Uuid::now_v7();
    let created = repo::insert(conn, account_id, id, user)
        .await
        .map_err(email_taken)?;
    activity::service::record(
        conn,
        account_id,
        actor.or(Some(id)),
        Subject::User(id),
        "created",
        serde_json::json!({"email": created.email, "name": created.name, "role": created.role}),
    )
    .await?;
    Ok(created)
}

fn email_taken(error: sqlx::Error) -> Error {
    match violation(&error) {
        Some((ErrorKind::UniqueViolation, "user_logins_pkey" | "users_account_email_key")) => {
            Error::code(ErrorCode::EmailTaken).with_fields(vec![crate::error::FieldError::new(
                "email",
                "is already used by another login",
            )])
        }
        _ => Error::internal(error),
    }
}

/// Add a team member for the caller (an owner or admin), inside the caller's
/// transaction; one without a password is `invited` (`auth::team` emails them).
pub async fn create_in(tx: &mut Tx, ctx: &Ctx, user: &NewUser) -> Result<User, Error> {
    if user.role == Role::Owner && ctx.role != Role::Owner {
        return Err(Error::new(
            ErrorCode::Forbidden,
            "only an owner may add another owner",
        ));
    }
    insert_in(tx, ctx.account_id, Some(ctx.user_id), user).await
}

/// Record that the caller invited `user` (the invitation itself is `auth::team`'s).
pub async fn record_invited_in(tx: &mut Tx, ctx: &Ctx, user: &User) -> Result<(), Error> {
    activity::service::record(
        tx,
        ctx.account_id,
        Some(ctx.user_id),
        Subject::User(user.id),
        "invited",
        serde_json::json!({"email": user.email}),
    )
    .await?;
    Ok(())
}

/// A user who may be invited again (active, not accepted yet), locked for the rest
/// of the transaction.
pub async fn lock_invited_in(tx: &mut Tx, id: Uuid) -> Result<User, Error> {
    let user = repo::get_for_update(tx, id)
        .await?
        .ok_or(Error::code(ErrorCode::UserNotFound))?;
    if !user.invited || !user.active {
        return Err(Error::new(
            ErrorCode::InvalidTransition,
            "only an active user who has not accepted their invitation can be invited again",
        ));
    }
    Ok(user)
}

/// A team member's name, inside the caller's transaction.
pub async fn name_in(
    tx: &mut crate::platform::database::Tx,
    id: Uuid,
) -> Result<Option<String>, Error> {
    Ok(repo::get(tx, id).await?.map(|u| u.name))
}

/// The 409 `version_conflict` of a write based on a stale version: the record is at
/// `version`, last changed at `updated_at`, and, when the event log names the change
/// of `record` (`platform::events::last_change`), by whom: a team member by name, the
/// client (hub), or the system (a background job or webhook). Every stale write
/// answers through here, on its own transaction, just before it refuses. A failure to
/// find out who only leaves `updated_by` out: the conflict is still the answer.
pub async fn stale_in(
    tx: &mut Tx,
    record: Option<Record>,
    version: i32,
    updated_at: DateTime<Utc>,
) -> Error {
    let updated_by = match record {
        Some(record) => match changed_by(tx, record, updated_at).await {
            Ok(who) => who,
            Err(error) => {
                tracing::warn!(error = %error, "finding who changed a record failed");
                None
            }
        },
        None => None,
    };
    Error::stale(Stale {
        current_version: version,
        updated_at: Some(updated_at),
        updated_by,
    })
}

async fn changed_by(
    tx: &mut Tx,
    record: Record,
    since: DateTime<Utc>,
) -> Result<Option<ChangedBy>, sqlx::Error> {
    let account_id = tx.account_id();
    let Some((actor, _)) = events::last_change(tx, account_id, record, since).await? else {
        return Ok(None);
    };
    Ok(match actor {
        Some(Actor::User(id)) => repo::get(tx, id).await?.map(|user| ChangedBy::User {
            id,
            name: user.name,
        }),
        Some(Actor::Hub(_)) => Some(ChangedBy::Client),
        Some(Actor::Webhook(_) | Actor::System(_)) => Some(ChangedBy::System),
        None => None,
    })
}

pub async fn get(db: &Db, ctx: &Ctx, id: Uuid) -> Result<User, Error> {
    let mut tx = db.tenant(ctx.account_id).await?;
    let user = repo::get(&mut tx, id)
        .await?
        .ok_or(Error::code(ErrorCode::UserNotFound))?;
    tx.commit().await?;
    Ok(user)
}

pub async fn list(db: &Db, ctx: &Ctx, page: PageRequest) -> Result<Page<User>, Error> {
    let mut tx = db.tenant(ctx.account_id).await?;
    let rows = repo::list(&mut tx, page.after, page.fetch_limit()).await?;
    tx.commit().await?;
    Ok(Page::from_rows(rows, page, |u| u.id))
}

/// Partial update of a user; `None` keeps a field.
pub struct UserPatch {
    pub name: Option<String>,
    pub email: Option<crate::domain::Email>,
    pub role: Option<Role>,
    pub active: Option<bool>,
    pub password_hash: Option<String>,
    pub version: Option<i32>,
}

/// Change a user inside the caller's transaction. Also says whether the user's
/// sign-ins must end (a new password, or deactivated): `auth::team` ends them.
pub async fn update_in(
    tx: &mut Tx,
    ctx: &Ctx,
    id: Uuid,
    patch: UserPatch,
) -> Result<(User, bool), Error> {
    // Only owners change owners; they take the owners' locks first, so two owners
    // demoting each other at once queue, and the second sees there is no other owner.
    let owners = if ctx.role == Role::Owner {
        repo::lock_active_owners(tx).await?
    } else {
        Vec::new()
    };
    let current = repo::get_for_update(tx, id)
        .await?
        .ok_or(Error::code(ErrorCode::UserNotFound))?;
    if let Some(version) = patch.version
        && version != current.version
    {
        return Err(stale_in(
            tx,
            Some(Record::User(id)),
            current.version,
            current.updated_at,
        )
        .await);
    }
    let role = patch.role.unwrap_or(current.role);
    let active = patch.active.unwrap_or(current.active);
    // Owners are managed by owners only: an admin who could change an owner's email
    // or password could take the account over.
    if (current.role == Role::Owner || role == Role::Owner) && ctx.role != Role::Owner {
        return Err(Error::new(
            ErrorCode::Forbidden,
            "only an owner may change an owner or make one",
        ));
    }
    let loses_owner =
        current.role == Role::Owner && current.active && (role != Role::Owner || !active);
    if loses_owner && !owners.iter().any(|owner| *owner != id) {
        return Err(Error::code(ErrorCode::LastOwner));
    }
    let email = patch.email.unwrap_or_else(|| {
        crate::domain::Email::parse(&current.email).unwrap_or_else(|_| unreachable!())
    });
    let changes = repo::UserChanges {
        name: patch.name.as_deref().unwrap_or(&current.name),
        email: &email,
        role,
        active,
    };
    let updated = repo::update(tx, id, &current.email, &changes)
        .await
        .map_err(email_taken)?;
    if let Some(hash) = &patch.password_hash {
        repo::set_password(tx, id, hash).await?;
    }
    let sign_ins_end = patch.password_hash.is_some() || !active;
    // Its sessions hold the role and stand for an active user (`platform::cache`).
    tx.raise(crate::platform::events::Event::UserUpdated { user_id: id });
    let before = serde_json::to_value(&current).unwrap_or_default();
    let after = serde_json::to_value(&updated).unwrap_or_default();
    let mut diff =
        activity::service::diff(&before, &after, &["version", "updated_at", "last_login_at"]);
    if patch.password_hash.is_some()
        && let Some(map) = diff.as_object_mut()
    {
        map.insert("password".into(), serde_json::json!("changed"));
    }
    activity::service::record(
        tx,
        ctx.account_id,
        Some(ctx.user_id),
        Subject::User(id),
        "updated",
        diff,
    )
    .await?;
    Ok((updated, sign_ins_end))
}

/// The account and user of a login, by its email (trimmed and lower-cased by the
/// caller), across accounts on the owner's connection (`jobber admin seed-demo`).
pub async fn find_login(
    db: &Db,
    normalized_email: &str,
) -> Result<Option<(Uuid, Uuid)>, sqlx::Error> {
    let mut conn = db.pool().acquire().await?;
    repo::find_login(&mut conn, normalized_email).await
}

/// Of `ids`, those that are not active users of this account.
pub async fn missing_active_in(
    tx: &mut crate::platform::database::Tx,
    ids: &[Uuid],
) -> Result<Vec<Uuid>, Error> {
    let mut missing = Vec::new();
    for id in ids {
        if !repo::get(tx, *id).await?.is_some_and(|u| u.active) {
            missing.push(*id);
        }
    }
    Ok(missing)
}

/// The secret of a user's calendar feed (created on first use; `rotate` replaces it,
/// which breaks the old address). Users manage their own; owners and admins anyone's.
pub async fn calendar_token(db: &Db, ctx: &Ctx, id: Uuid, rotate: bool) -> Result<String, Error> {
    if id != ctx.user_id && !ctx.role.is_admin() {
        return Err(Error::new(
            ErrorCode::Forbidden,
            "only the user, an owner or an admin may see a calendar feed address",
        ));
    }
    let mut tx = db.tenant(ctx.account_id).await?;
    let token = repo::calendar_token(
        &mut tx,
        id,
        &crate::platform::crypto::random_token(24),
        rotate,
    )
    .await?
    .ok_or(Error::code(ErrorCode::UserNotFound))?;
    tx.commit().await?;
    Ok(token)
}

/// The user behind a calendar-feed secret, inside the caller's tenant transaction.
pub async fn by_calendar_token_in(
    tx: &mut crate::platform::database::Tx,
    token: &str,
) -> Result<Option<Uuid>, Error> {
    Ok(repo::by_calendar_token(tx, token).await?)
}

/// Lock these people's schedules for the rest of the transaction (see
/// `repo::lock_people`).
pub async fn lock_people_in(
    tx: &mut crate::platform::database::Tx,
    ids: &[Uuid],
) -> Result<(), Error> {
    Ok(repo::lock_people(tx, ids).await?)
}

/// The office staff to tell about things (active owners, admins, dispatchers).
pub async fn office_ids_in(tx: &mut crate::platform::database::Tx) -> Result<Vec<Uuid>, Error> {
    Ok(repo::office_ids(tx).await?)
}

/// Who online bookings may be given to (see `repo::bookable_ids`).
pub async fn bookable_ids_in(tx: &mut crate::platform::database::Tx) -> Result<Vec<Uuid>, Error> {
    Ok(repo::bookable_ids(tx).await?)
}

// The sign-in side of users, for `auth` (which owns logins, sessions and resets but
// not the users table), on the caller's connection or transaction.

pub use super::repo::Credentials;

/// The user, any status.
pub async fn get_on(conn: &mut sqlx::PgConnection, id: Uuid) -> Result<Option<User>, sqlx::Error> {
    repo::get(conn, id).await
}

/// The account and user of a login email (normalized by the caller), across
/// accounts.
pub async fn find_login_on(
    conn: &mut sqlx::PgConnection,
    normalized_email: &str,
) -> Result<Option<(Uuid, Uuid)>, sqlx::Error> {
    repo::find_login(conn, normalized_email).await
}

/// The user with their password hash, to check a sign-in.
pub async fn credentials_on(
    conn: &mut sqlx::PgConnection,
    id: Uuid,
) -> Result<Option<Credentials>, sqlx::Error> {
    repo::credentials(conn, id).await
}

/// Store a new password hash (a reset, an accepted invitation, MFA changes).
pub async fn set_password_on(
    conn: &mut sqlx::PgConnection,
    id: Uuid,
    password_hash: &str,
) -> Result<(), sqlx::Error> {
    repo::set_password(conn, id, password_hash).await
}

/// Record a sign-in's time.
pub async fn touch_login_on(conn: &mut sqlx::PgConnection, id: Uuid) -> Result<(), sqlx::Error> {
    repo::touch_login(conn, id).await
}
