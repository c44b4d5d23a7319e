//! Client and property rules: validation is done by the caller's types; here are the
//! transaction, optimistic concurrency, archive-instead-of-delete, and the activity log.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::Acquire;
use sqlx::error::ErrorKind;
use utoipa::ToSchema;
use uuid::Uuid;

use super::model::{Client, ClientData, ClientStatus, Property, PropertyData};
use super::repo::{self, ClientFilter};
use crate::error::{Error, ErrorCode};
use crate::modules::activity::{self, ActivityEntry, Subject};
use crate::modules::users;
use crate::platform::cache;
use crate::platform::database::Ctx;
use crate::platform::database::{Db, Tx, violation};
use crate::platform::events::{Event, Record};
use crate::platform::pagination::{Page, PageRequest};
use crate::platform::storage::Storage;

fn not_found() -> Error {
    Error::code(ErrorCode::ClientNotFound)
}

fn property_not_found() -> Error {
    Error::code(ErrorCode::PropertyNotFound)
}

/// The version the caller read must be the record's: else 409 with who changed it
/// (a property's changes raise no event of their own: `record` is `None`).
async fn check_version(
    tx: &mut Tx,
    record: Option<Record>,
    expected: i32,
    current: i32,
    updated_at: DateTime<Utc>,
) -> Result<(), Error> {
    if expected == current {
        Ok(())
    } else {
        Err(users::service::stale_in(tx, record, current, updated_at).await)
    }
}

fn json<T: Serialize>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or_default()
}

const DIFF_IGNORE: &[&str] = &["version", "updated_at", "created_at", "display_name"];

#[tracing::instrument(skip_all, fields(account_id = %ctx.account_id))]
pub async fn create(db: &Db, ctx: &Ctx, data: ClientData) -> Result<Client, Error> {
    let id = Uuid::now_v7();
    let mut tx = db.tenant(ctx.account_id).await?;
    let client = repo::insert(&mut tx, ctx.account_id, id, &data, Some(ctx.user_id)).await?;
    activity::service::record(
        &mut tx,
        ctx.account_id,
        Some(ctx.user_id),
        Subject::Client(id),
        "created",
        created_summary(&client),
    )
    .await?;
    tx.raise(Event::ClientCreated { client_id: id });
    tx.commit().await?;
    Ok(client)
}

fn created_summary(client: &Client) -> serde_json::Value {
    serde_json::json!({ "display_name": client.display_name, "status": client.status })
}

/// The client, inside the caller's transaction (other modules check references).
pub async fn get_in(tx: &mut Tx, id: Uuid) -> Result<Client, Error> {
    repo::get(tx, id).await?.ok_or_else(not_found)
}

/// A client read on the caller's connection, for an in-transaction listener
/// (`notifications::service::on_event`).
pub async fn get_on(
    conn: &mut sqlx::PgConnection,
    id: Uuid,
) -> Result<Option<Client>, sqlx::Error> {
    repo::get(conn, id).await
}

/// The client with this email address, if any (see `repo::id_by_email`).
pub async fn find_by_email_in(tx: &mut Tx, email: &str) -> Result<Option<Client>, Error> {
    match repo::id_by_email(tx, email).await? {
        Some(id) => Ok(repo::get(tx, id).await?),
        None => Ok(None),
    }
}

/// Create a client in the caller's transaction; `actor` is None when no user acted
/// (a client booking online).
pub async fn create_in(
    tx: &mut Tx,
    account_id: Uuid,
    actor: Option<Uuid>,
    data: ClientData,
) -> Result<Client, Error> {
    let id = Uuid::now_v7();
    let client = repo::insert(tx, account_id, id, &data, actor).await?;
    activity::service::record(
        tx,
        account_id,
        actor,
        Subject::Client(id),
        "created",
        created_summary(&client),
    )
    .await?;
    tx.raise(Event::ClientCreated { client_id: id });
    Ok(client)
}

/// The client's properties (at most 200), in the caller's transaction.
pub async fn properties_in(tx: &mut Tx, client_id: Uuid) -> Result<Vec<Property>, Error> {
    Ok(repo::list_properties(tx, client_id, None, 200).await?)
}

/// Add a property to a client in the caller's transaction.
pub async fn create_property_in(
    tx: &mut Tx,
    account_id: Uuid,
    actor: Option<Uuid>,
    client_id: Uuid,
    data: PropertyData,
) -> Result<Property, Error> {
    let id = Uuid::now_v7();
    let property = repo::insert_property(tx, account_id, id, client_id, &data).await?;
    activity::service::record(
        tx,
        account_id,
        actor,
        Subject::Property { id, client_id },
        "created",
        serde_json::json!({"address": property.address.one_line()}),
    )
    .await?;
    Ok(property)
}

/// The clients with a phone that is `e164` (for a text's sender), newest first.
pub async fn find_by_phone_in(tx: &mut Tx, e164: &str) -> Result<Vec<Client>, Error> {
    // The last seven digits are in the search text of every match however the number
    // was typed (with or without country code, punctuation).
    let digits: String = e164.chars().filter(char::is_ascii_digit).collect();
    let tail = &digits[digits.len().saturating_sub(7)..];
    if tail.len() < 7 {
        return Ok(Vec::new());
    }
    let mut found = Vec::new();
    for id in repo::ids_with_digits(tx, tail).await? {
        if let Some(client) = repo::get(tx, id).await?
            && client.has_number(e164)
        {
            found.push(client);
        }
    }
    Ok(found)
}

/// Set `sms_opt_in` on every phone of the client that is `e164` (STOP / START
/// replies). Returns whether anything changed.
pub async fn set_sms_opt_in_in(
    tx: &mut Tx,
    client_id: Uuid,
    e164: &str,
    opt_in: bool,
) -> Result<bool, Error> {
    let Some(mut client) = repo::get_for_update(tx, client_id).await? else {
        return Ok(false);
    };
    let mut changed = false;
    for phone in &mut client.phones {
        if crate::domain::e164(&phone.number).as_deref() == Some(e164) && phone.sms_opt_in != opt_in
        {
            phone.sms_opt_in = opt_in;
            changed = true;
        }
    }
    if changed {
        repo::set_phones(tx, client_id, &client.phones).await?;
        tx.raise(Event::ClientUpdated { client_id });
    }
    Ok(changed)
}

/// The property of a client, inside the caller's transaction.
pub async fn property_in(tx: &mut Tx, client_id: Uuid, id: Uuid) -> Result<Property, Error> {
    repo::get_property(tx, client_id, id)
        .await?
        .ok_or_else(property_not_found)
}

/// For documents that name a client and property: the client must exist in this
/// account and the property must be that client's. Problems are added to `errors`
/// as `client_id` / `property_id`.
pub async fn check_references(
    tx: &mut Tx,
    client_id: Uuid,
    property_id: Option<Uuid>,
    errors: &mut Vec<crate::error::FieldError>,
) -> Result<(), Error> {
    if repo::get(tx, client_id).await?.is_none() {
        errors.push(crate::error::FieldError::new("client_id", "no such client"));
        return Ok(());
    }
    if let Some(property_id) = property_id
        && repo::get_property(tx, client_id, property_id)
            .await?
            .is_none()
    {
        errors.push(crate::error::FieldError::new(
            "property_id",
            "no such property of this client",
        ));
    }
    Ok(())
}

/// One client (`GET /clients/{id}`), from the cache when it has it: every change of
/// a client row raises a `client.*` event, which drops the entry (`platform::cache`).
pub async fn get(db: &Db, ctx: &Ctx, id: Uuid) -> Result<Client, Error> {
    db.caches()
        .get(cache::Name::Clients)
        .get_or_load(cache::Key::item(ctx.account_id, id), || async {
            let mut tx = db.tenant(ctx.account_id).await?;
            let client = repo::get(&mut tx, id).await?;
            tx.commit().await?;
            Ok::<_, Error>(client)
        })
        .await?
        .ok_or_else(not_found)
}

pub struct ListQuery {
    pub status: Option<ClientStatus>,
    pub tag: Option<String>,
    pub q: Option<String>,
}

pub async fn list(
    db: &Db,
    ctx: &Ctx,
    query: &ListQuery,
    page: PageRequest,
) -> Result<Page<Client>, Error> {
    let q = query
        .q
        .as_deref()
        .map(|q| q.trim().to_lowercase())
        .filter(|q| !q.is_empty());
    let filter = ClientFilter {
        status: query.status,
        tag: query.tag.as_deref(),
        q: q.as_deref(),
    };
    let mut tx = db.read(ctx).await?;
    let rows = repo::list(&mut tx, &filter, page.after, page.fetch_limit()).await?;
    tx.commit().await?;
    Ok(Page::from_rows(rows, page, |c| c.id))
}

/// Replace the client's fields; `version` is the one the caller read.
#[tracing::instrument(skip_all, fields(account_id = %ctx.account_id, client_id = %id))]
pub async fn update(
    db: &Db,
    ctx: &Ctx,
    id: Uuid,
    version: i32,
    data: ClientData,
) -> Result<Client, Error> {
    let mut tx = db.tenant(ctx.account_id).await?;
    let current = repo::get_for_update(&mut tx, id)
        .await?
        .ok_or_else(not_found)?;
    check_version(
        &mut tx,
        Some(Record::Client(id)),
        version,
        current.version,
        current.updated_at,
    )
    .await?;
    let status = data.status.unwrap_or(current.status);
    let updated = repo::update(&mut tx, id, &data, status).await?;
    let changes = activity::service::diff(&json(&current), &json(&updated), DIFF_IGNORE);
    activity::service::record(
        &mut tx,
        ctx.account_id,
        Some(ctx.user_id),
        Subject::Client(id),
        "updated",
        changes,
    )
    .await?;
    tx.raise(Event::ClientUpdated { client_id: id });
    tx.commit().await?;
    Ok(updated)
}

/// What `DELETE /clients/{id}` did.
#[derive(Debug, Serialize, ToSchema)]
#[serde(tag = "result", rename_all = "lowercase")]
pub enum Deletion {
    /// The client and its properties are gone.
    Deleted { id: Uuid },
    /// The client has history (quotes, jobs, invoices…), so it was archived instead.
    Archived { client: Box<Client>, detail: String },
}

#[tracing::instrument(skip_all, fields(account_id = %ctx.account_id, client_id = %id))]
pub async fn delete(
    db: &Db,
    storage: &Storage,
    ctx: &Ctx,
    id: Uuid,
    version: Option<i32>,
) -> Result<Deletion, Error> {
    let mut tx = db.tenant(ctx.account_id).await?;
    let current = repo::get_for_update(&mut tx, id)
        .await?
        .ok_or_else(not_found)?;
    if let Some(version) = version {
        check_version(
            &mut tx,
            Some(Record::Client(id)),
            version,
            current.version,
            current.updated_at,
        )
        .await?;
    }
    let avatar = repo::avatar(&mut tx, id).await?;
    // Work that refers to a client does so with ON DELETE RESTRICT, so a client with
    // history cannot be deleted: try, and archive when the database says no.
    let deleted = {
        let mut savepoint = tx.begin().await?;
        match repo::delete(&mut savepoint, id).await {
            Ok(_) => {
                savepoint.commit().await?;
                true
            }
            Err(error)
                if matches!(violation(&error), Some((ErrorKind::ForeignKeyViolation, _))) =>
            {
                savepoint.rollback().await?;
                false
            }
            Err(error) => return Err(error.into()),
        }
    };
    let outcome = if deleted {
        record(
            &mut tx,
            ctx,
            Subject::Client(id),
            "deleted",
            created_summary(&current),
        )
        .await?;
        tx.raise(Event::ClientDeleted { client_id: id });
        Deletion::Deleted { id }
    } else {
        let client = if current.status == ClientStatus::Archived {
            current
        } else {
            repo::set_status(&mut tx, id, ClientStatus::Archived).await?
        };
        record(
            &mut tx,
            ctx,
            Subject::Client(id),
            "archived",
            serde_json::json!({"reason": "delete requested; the client has history"}),
        )
        .await?;
        tx.raise(Event::ClientArchived { client_id: id });
        Deletion::Archived { client: Box::new(client), detail: "the client has history (quotes, jobs or invoices), so it was archived instead of deleted".into() }
    };
    tx.commit().await?;
    if let (Deletion::Deleted { .. }, Some(avatar)) = (&outcome, avatar) {
        super::avatar::remove_files(storage, ctx.account_id, id, &avatar).await;
    }
    Ok(outcome)
}

async fn record(
    tx: &mut Tx,
    ctx: &Ctx,
    subject: Subject,
    action: &str,
    changes: serde_json::Value,
) -> Result<(), sqlx::Error> {
    activity::service::record(
        tx,
        ctx.account_id,
        Some(ctx.user_id),
        subject,
        action,
        changes,
    )
    .await
}

pub async fn activity(
    db: &Db,
    ctx: &Ctx,
    id: Uuid,
    page: PageRequest,
) -> Result<Page<ActivityEntry>, Error> {
    let mut tx = db.tenant(ctx.account_id).await?;
    repo::get(&mut tx, id).await?.ok_or_else(not_found)?;
    let rows = activity::service::for_client(&mut tx, id, page).await?;
    tx.commit().await?;
    Ok(Page::from_rows(rows, page, |e| e.id))
}

// ---- properties ----

async fn lock_client(tx: &mut Tx, client_id: Uuid) -> Result<Client, Error> {
    repo::get_for_update(tx, client_id)
        .await?
        .ok_or_else(not_found)
}

pub async fn create_property(
    db: &Db,
    ctx: &Ctx,
    client_id: Uuid,
    data: PropertyData,
) -> Result<Property, Error> {
    let mut tx = db.tenant(ctx.account_id).await?;
    lock_client(&mut tx, client_id).await?;
    let id = Uuid::now_v7();
    let property = repo::insert_property(&mut tx, ctx.account_id, id, client_id, &data).await?;
    record(
        &mut tx,
        ctx,
        Subject::Property { id, client_id },
        "created",
        serde_json::json!({"address": property.address.one_line()}),
    )
    .await?;
    tx.commit().await?;
    Ok(property)
}

pub async fn get_property(
    db: &Db,
    ctx: &Ctx,
    client_id: Uuid,
    id: Uuid,
) -> Result<Property, Error> {
    let mut tx = db.tenant(ctx.account_id).await?;
    repo::get(&mut tx, client_id).await?.ok_or_else(not_found)?;
    let property = repo::get_property(&mut tx, client_id, id)
        .await?
        .ok_or_else(property_not_found)?;
    tx.commit().await?;
    Ok(property)
}

pub async fn list_properties(
    db: &Db,
    ctx: &Ctx,
    client_id: Uuid,
    page: PageRequest,
) -> Result<Page<Property>, Error> {
    let mut tx = db.read(ctx).await?;
    repo::get(&mut tx, client_id).await?.ok_or_else(not_found)?;
    let rows = repo::list_properties(&mut tx, client_id, page.after, page.fetch_limit()).await?;
    tx.commit().await?;
    Ok(Page::from_rows(rows, page, |p| p.id))
}

pub async fn update_property(
    db: &Db,
    ctx: &Ctx,
    client_id: Uuid,
    id: Uuid,
    version: i32,
    data: PropertyData,
) -> Result<Property, Error> {
    let mut tx = db.tenant(ctx.account_id).await?;
    repo::get(&mut tx, client_id).await?.ok_or_else(not_found)?;
    let current = repo::get_property_for_update(&mut tx, client_id, id)
        .await?
        .ok_or_else(property_not_found)?;
    check_version(&mut tx, None, version, current.version, current.updated_at).await?;
    let updated = repo::update_property(&mut tx, client_id, id, &data).await?;
    let changes = activity::service::diff(&json(&current), &json(&updated), DIFF_IGNORE);
    record(
        &mut tx,
        ctx,
        Subject::Property { id, client_id },
        "updated",
        changes,
    )
    .await?;
    tx.commit().await?;
    Ok(updated)
}

pub async fn delete_property(
    db: &Db,
    ctx: &Ctx,
    client_id: Uuid,
    id: Uuid,
    version: Option<i32>,
) -> Result<(), Error> {
    let mut tx = db.tenant(ctx.account_id).await?;
    repo::get(&mut tx, client_id).await?.ok_or_else(not_found)?;
    let current = repo::get_property_for_update(&mut tx, client_id, id)
        .await?
        .ok_or_else(property_not_found)?;
    if let Some(version) = version {
        check_version(&mut tx, None, version, current.version, current.updated_at).await?;
    }
    repo::delete_property(&mut tx, client_id, id)
        .await
        .map_err(|error| match violation(&error) {
            Some((ErrorKind::ForeignKeyViolation, _)) => Error::new(
                ErrorCode::PropertyInUse,
                "quotes, jobs or invoices refer to this property; it cannot be deleted",
            ),
            _ => error.into(),
        })?;
    record(
        &mut tx,
        ctx,
        Subject::Property { id, client_id },
        "deleted",
        serde_json::json!({"address": current.address.one_line()}),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
