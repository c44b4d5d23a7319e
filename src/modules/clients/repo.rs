//! SQL for `clients` and `properties`. Fixed queries are checked at compile time;
//! the list's dynamic filters use `QueryBuilder` with binds.

use chrono::{DateTime, Utc};
use sqlx::types::Json;
use sqlx::{PgConnection, Postgres, QueryBuilder};
use uuid::Uuid;

use super::model::{
    Client, ClientData, ClientEmail, ClientPhone, ClientStatus, Property, PropertyData,
    display_name,
};
use crate::domain::Address;
use crate::platform::picture;

#[derive(sqlx::FromRow)]
struct ClientRow {
    id: Uuid,
    first_name: Option<String>,
    last_name: Option<String>,
    company_name: Option<String>,
    emails: Json<Vec<ClientEmail>>,
    phones: Json<Vec<ClientPhone>>,
    billing_address: Json<Address>,
    tags: Vec<String>,
    notes: Option<String>,
    status: String,
    version: i32,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    avatar_id: Option<Uuid>,
    avatar_status: Option<String>,
}

impl TryFrom<ClientRow> for Client {
    type Error = sqlx::Error;

    fn try_from(row: ClientRow) -> Result<Self, Self::Error> {
        Ok(Client {
            id: row.id,
            display_name: display_name(
                row.first_name.as_deref(),
                row.last_name.as_deref(),
                row.company_name.as_deref(),
            ),
            first_name: row.first_name,
            last_name: row.last_name,
            company_name: row.company_name,
            emails: row.emails.0,
            phones: row.phones.0,
            billing_address: row.billing_address.0,
            tags: row.tags,
            notes: row.notes,
            status: ClientStatus::parse(&row.status).ok_or_else(|| {
                sqlx::Error::Decode(format!("unknown client status {}", row.status).into())
            })?,
            version: row.version,
            created_at: row.created_at,
            updated_at: row.updated_at,
            avatar_url: row
                .avatar_id
                .filter(|_| row.avatar_status.as_deref() == Some("ready"))
                .map(|avatar_id| format!("/api/v1/clients/{}/avatar?v={avatar_id}", row.id)),
            avatar_status: row
                .avatar_status
                .as_deref()
                .and_then(picture::Status::parse),
        })
    }
}

struct PropertyRow {
    id: Uuid,
    client_id: Uuid,
    name: Option<String>,
    address: Json<Address>,
    latitude: Option<f64>,
    longitude: Option<f64>,
    notes: Option<String>,
    version: i32,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<PropertyRow> for Property {
    fn from(row: PropertyRow) -> Self {
        Property {
            id: row.id,
            client_id: row.client_id,
            name: row.name,
            address: row.address.0,
            latitude: row.latitude,
            longitude: row.longitude,
            notes: row.notes,
            version: row.version,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

pub async fn insert(
    conn: &mut PgConnection,
    account_id: Uuid,
    id: Uuid,
    data: &ClientData,
    created_by: Option<Uuid>,
) -> Result<Client, sqlx::Error> {
    sqlx::query_as!(
        ClientRow,
        r#"INSERT INTO clients (account_id, id, first_name, last_name, company_name, emails, phones, billing_address, tags, notes, status, search_text, created_by)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
           RETURNING id, first_name, last_name, company_name, emails AS "emails: Json<Vec<ClientEmail>>",
                     phones AS "phones: Json<Vec<ClientPhone>>", billing_address AS "billing_address: Json<Address>",
                     tags, notes, status, version, created_at, updated_at, avatar_id, avatar_status"#,
        account_id,
        id,
        data.first_name,
        data.last_name,
        data.company_name,
        Json(&data.emails) as _,
        Json(&data.phones) as _,
        Json(&data.billing_address) as _,
        &data.tags,
        data.notes,
        data.status.unwrap_or(ClientStatus::Active).as_str(),
        data.search_text(),
        created_by
    )
    .fetch_one(conn)
    .await?
    .try_into()
}

/// The newest client, not archived ones first, with `email` among its addresses (any
/// case): a work request from a known person goes to their record.
pub async fn id_by_email(
    conn: &mut PgConnection,
    email: &str,
) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT id FROM clients
           WHERE EXISTS (SELECT 1 FROM jsonb_array_elements(emails) AS e WHERE lower(e ->> 'address') = lower($1))
           ORDER BY status = 'archived', id DESC LIMIT 1"#,
        email
    )
    .fetch_optional(conn)
    .await
}

pub async fn get(conn: &mut PgConnection, id: Uuid) -> Result<Option<Client>, sqlx::Error> {
    sqlx::query_as!(
        ClientRow,
        r#"SELECT id, first_name, last_name, company_name, emails AS "emails: Json<Vec<ClientEmail>>",
                  phones AS "phones: Json<Vec<ClientPhone>>", billing_address AS "billing_address: Json<Address>",
                  tags, notes, status, version, created_at, updated_at, avatar_id, avatar_status
           FROM clients WHERE id = $1"#,
        id
    )
    .fetch_optional(conn)
    .await?
    .map(Client::try_from)
    .transpose()
}

pub async fn get_for_update(
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<Option<Client>, sqlx::Error> {
    sqlx::query_as!(
        ClientRow,
        r#"SELECT id, first_name, last_name, company_name, emails AS "emails: Json<Vec<ClientEmail>>",
                  phones AS "phones: Json<Vec<ClientPhone>>", billing_address AS "billing_address: Json<Address>",
                  tags, notes, status, version, created_at, updated_at, avatar_id, avatar_status
           FROM clients WHERE id = $1 FOR UPDATE"#,
        id
    )
    .fetch_optional(conn)
    .await?
    .map(Client::try_from)
    .transpose()
}

pub async fn update(
    conn: &mut PgConnection,
    id: Uuid,
    data: &ClientData,
    status: ClientStatus,
) -> Result<Client, sqlx::Error> {
    sqlx::query_as!(
        ClientRow,
        r#"UPDATE clients SET first_name = $2, last_name = $3, company_name = $4, emails = $5, phones = $6,
                  billing_address = $7, tags = $8, notes = $9, status = $10, search_text = $11, version = version + 1
           WHERE id = $1
           RETURNING id, first_name, last_name, company_name, emails AS "emails: Json<Vec<ClientEmail>>",
                     phones AS "phones: Json<Vec<ClientPhone>>", billing_address AS "billing_address: Json<Address>",
                     tags, notes, status, version, created_at, updated_at, avatar_id, avatar_status"#,
        id,
        data.first_name,
        data.last_name,
        data.company_name,
        Json(&data.emails) as _,
        Json(&data.phones) as _,
        Json(&data.billing_address) as _,
        &data.tags,
        data.notes,
        status.as_str(),
        data.search_text()
    )
    .fetch_one(conn)
    .await?
    .try_into()
}

pub async fn set_status(
    conn: &mut PgConnection,
    id: Uuid,
    status: ClientStatus,
) -> Result<Client, sqlx::Error> {
    sqlx::query_as!(
        ClientRow,
        r#"UPDATE clients SET status = $2, version = version + 1 WHERE id = $1
           RETURNING id, first_name, last_name, company_name, emails AS "emails: Json<Vec<ClientEmail>>",
                     phones AS "phones: Json<Vec<ClientPhone>>", billing_address AS "billing_address: Json<Address>",
                     tags, notes, status, version, created_at, updated_at, avatar_id, avatar_status"#,
        id,
        status.as_str()
    )
    .fetch_one(conn)
    .await?
    .try_into()
}

pub async fn delete(conn: &mut PgConnection, id: Uuid) -> Result<u64, sqlx::Error> {
    sqlx::query!("DELETE FROM clients WHERE id = $1", id)
        .execute(conn)
        .await
        .map(|r| r.rows_affected())
}

pub struct ClientFilter<'a> {
    pub status: Option<ClientStatus>,
    pub tag: Option<&'a str>,
    /// Lower-cased search text.
    pub q: Option<&'a str>,
}

const CLIENT_COLUMNS: &str = "SELECT c.id, c.first_name, c.last_name, c.company_name, c.emails, c.phones, c.billing_address, c.tags, c.notes,
        c.status, c.version, c.created_at, c.updated_at, c.avatar_id, c.avatar_status
 FROM clients c";

/// Newest first, keyset on id (UUIDv7 ids sort by creation time).
pub async fn list(
    conn: &mut PgConnection,
    filter: &ClientFilter<'_>,
    before: Option<Uuid>,
    limit: i64,
) -> Result<Vec<Client>, sqlx::Error> {
    let mut query: QueryBuilder<Postgres> = QueryBuilder::new(CLIENT_COLUMNS);
    match filter.q {
        Some(q) => push_search(&mut query, q, filter, before, limit),
        None => {
            query.push(" WHERE true");
            if let Some(status) = filter.status {
                query.push(" AND c.status = ").push_bind(status.as_str());
            }
            if let Some(tag) = filter.tag {
                // Tags keep their spelling; the filter ignores case.
                query
                    .push(" AND EXISTS (SELECT 1 FROM unnest(c.tags) t WHERE lower(t) = lower(")
                    .push_bind(tag.to_string())
                    .push("))");
            }
            if let Some(before) = before {
                query.push(" AND c.id < ").push_bind(before);
            }
            query.push(" ORDER BY c.id DESC LIMIT ").push_bind(limit);
        }
    }
    query
        .build_query_as::<ClientRow>()
        .fetch_all(conn)
        .await?
        .into_iter()
        .map(Client::try_from)
        .collect()
}

/// A search runs in `search_client_ids` (migration 23), where the trigram indexes
/// are usable under row-level security: it matches the client's text (`LIKE`, and
/// `<%` for typos), the digits of a phone number typed with punctuation, and the
/// addresses of the client's properties; applies the other filters, the cursor and
/// the limit; and returns ids of this account only. The rows are read here, under
/// the tenant policy as always.
fn push_search(
    query: &mut QueryBuilder<Postgres>,
    q: &str,
    filter: &ClientFilter<'_>,
    before: Option<Uuid>,
    limit: i64,
) {
    let digits: String = q.chars().filter(char::is_ascii_digit).collect();
    let phone_like = digits.len() >= 4
        && digits.len() != q.len()
        && q.chars()
            .all(|c| c.is_ascii_digit() || " +-().".contains(c));
    query
        .push(" WHERE c.id IN (SELECT id FROM search_client_ids(")
        .push_bind(crate::domain::like_contains(q))
        .push(", ")
        .push_bind(q.to_string())
        .push(", ")
        .push_bind(phone_like.then(|| format!("%{digits}%")))
        .push(", ")
        .push_bind(filter.status.map(|s| s.as_str().to_string()))
        .push(", ")
        .push_bind(filter.tag.map(str::to_string))
        .push(", ")
        .push_bind(before)
        .push(", ")
        .push_bind(i32::try_from(limit).unwrap_or(i32::MAX))
        .push(")) ORDER BY c.id DESC");
}

// ---- properties ----

pub async fn insert_property(
    conn: &mut PgConnection,
    account_id: Uuid,
    id: Uuid,
    client_id: Uuid,
    data: &PropertyData,
) -> Result<Property, sqlx::Error> {
    sqlx::query_as!(
        PropertyRow,
        r#"INSERT INTO properties (account_id, id, client_id, name, address, latitude, longitude, notes, search_text)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
           RETURNING id, client_id, name, address AS "address: Json<Address>", latitude, longitude, notes, version, created_at, updated_at"#,
        account_id,
        id,
        client_id,
        data.name,
        Json(&data.address) as _,
        data.latitude,
        data.longitude,
        data.notes,
        data.search_text()
    )
    .fetch_one(conn)
    .await
    .map(Property::from)
}

pub async fn get_property(
    conn: &mut PgConnection,
    client_id: Uuid,
    id: Uuid,
) -> Result<Option<Property>, sqlx::Error> {
    sqlx::query_as!(
        PropertyRow,
        r#"SELECT id, client_id, name, address AS "address: Json<Address>", latitude, longitude, notes, version, created_at, updated_at
           FROM properties WHERE client_id = $1 AND id = $2"#,
        client_id,
        id
    )
    .fetch_optional(conn)
    .await
    .map(|row| row.map(Property::from))
}

pub async fn get_property_for_update(
    conn: &mut PgConnection,
    client_id: Uuid,
    id: Uuid,
) -> Result<Option<Property>, sqlx::Error> {
    sqlx::query_as!(
        PropertyRow,
        r#"SELECT id, client_id, name, address AS "address: Json<Address>", latitude, longitude, notes, version, created_at, updated_at
           FROM properties WHERE client_id = $1 AND id = $2 FOR UPDATE"#,
        client_id,
        id
    )
    .fetch_optional(conn)
    .await
    .map(|row| row.map(Property::from))
}

pub async fn list_properties(
    conn: &mut PgConnection,
    client_id: Uuid,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<Property>, sqlx::Error> {
    sqlx::query_as!(
        PropertyRow,
        r#"SELECT id, client_id, name, address AS "address: Json<Address>", latitude, longitude, notes, version, created_at, updated_at
           FROM properties WHERE client_id = $1 AND ($2::uuid IS NULL OR id > $2) ORDER BY id LIMIT $3"#,
        client_id,
        after,
        limit
    )
    .fetch_all(conn)
    .await
    .map(|rows| rows.into_iter().map(Property::from).collect())
}

pub async fn update_property(
    conn: &mut PgConnection,
    client_id: Uuid,
    id: Uuid,
    data: &PropertyData,
) -> Result<Property, sqlx::Error> {
    sqlx::query_as!(
        PropertyRow,
        r#"UPDATE properties SET name = $3, address = $4, latitude = $5, longitude = $6, notes = $7, search_text = $8, version = version + 1
           WHERE client_id = $1 AND id = $2
           RETURNING id, client_id, name, address AS "address: Json<Address>", latitude, longitude, notes, version, created_at, updated_at"#,
        client_id,
        id,
        data.name,
        Json(&data.address) as _,
        data.latitude,
        data.longitude,
        data.notes,
        data.search_text()
    )
    .fetch_one(conn)
    .await
    .map(Property::from)
}

pub async fn delete_property(
    conn: &mut PgConnection,
    client_id: Uuid,
    id: Uuid,
) -> Result<u64, sqlx::Error> {
    sqlx::query!(
        "DELETE FROM properties WHERE client_id = $1 AND id = $2",
        client_id,
        id
    )
    .execute(conn)
    .await
    .map(|r| r.rows_affected())
}

/// Clients whose search text holds these digits (a phone look-up's candidates; the
/// caller compares the numbers exactly), newest first.
pub async fn ids_with_digits(
    conn: &mut PgConnection,
    digits: &str,
) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar!(
        "SELECT id FROM clients WHERE search_text LIKE '%' || $1 || '%' ORDER BY id DESC LIMIT 50",
        digits
    )
    .fetch_all(conn)
    .await
}

/// Replace a client's phones (same numbers, e.g. a changed SMS opt-in).
pub async fn set_phones(
    conn: &mut PgConnection,
    id: Uuid,
    phones: &[ClientPhone],
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE clients SET phones = $2, version = version + 1 WHERE id = $1",
        id,
        Json(phones) as _
    )
    .execute(conn)
    .await
    .map(drop)
}

/// A client's avatar columns, locked.
pub struct AvatarRow {
    pub avatar_id: Option<Uuid>,
    pub avatar_status: Option<String>,
    pub avatar_source_key: Option<String>,
}

pub async fn avatar(conn: &mut PgConnection, id: Uuid) -> Result<Option<AvatarRow>, sqlx::Error> {
    sqlx::query_as!(
        AvatarRow,
        "SELECT avatar_id, avatar_status, avatar_source_key FROM clients WHERE id = $1",
        id
    )
    .fetch_optional(conn)
    .await
}

pub async fn avatar_for_update(
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<Option<AvatarRow>, sqlx::Error> {
    sqlx::query_as!(
        AvatarRow,
        "SELECT avatar_id, avatar_status, avatar_source_key FROM clients WHERE id = $1 FOR UPDATE",
        id
    )
    .fetch_optional(conn)
    .await
}

/// Set (or, with all None, clear) the avatar columns.
pub async fn set_avatar(
    conn: &mut PgConnection,
    id: Uuid,
    avatar: &AvatarRow,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE clients SET avatar_id = $2, avatar_status = $3, avatar_source_key = $4
         WHERE id = $1",
        id,
        avatar.avatar_id,
        avatar.avatar_status,
        avatar.avatar_source_key
    )
    .execute(conn)
    .await
    .map(drop)
}
