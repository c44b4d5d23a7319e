//! SQL for `clients` and `properties`. Dynamic filters use `QueryBuilder` with binds.

use sqlx::types::Json;
use sqlx::{PgConnection, Postgres, QueryBuilder, Row, postgres::PgRow};
use uuid::Uuid;

use super::model::{Client, ClientData, ClientStatus, Property, PropertyData, display_name};
use crate::domain::Address;

macro_rules! client_columns {
    () => {
        "id, first_name, last_name, company_name, emails, phones, billing_address, tags, notes, status, version, created_at, updated_at"
    };
}

macro_rules! property_columns {
    () => {
        "id, client_id, name, address, latitude, longitude, notes, version, created_at, updated_at"
    };
}

fn client(row: &PgRow) -> Result<Client, sqlx::Error> {
    let first_name: Option<String> = row.try_get("first_name")?;
    let last_name: Option<String> = row.try_get("last_name")?;
    let company_name: Option<String> = row.try_get("company_name")?;
    let status: String = row.try_get("status")?;
    Ok(Client {
        id: row.try_get("id")?,
        display_name: display_name(
            first_name.as_deref(),
            last_name.as_deref(),
            company_name.as_deref(),
        ),
        first_name,
        last_name,
        company_name,
        emails: row.try_get::<Json<_>, _>("emails")?.0,
        phones: row.try_get::<Json<_>, _>("phones")?.0,
        billing_address: row.try_get::<Json<Address>, _>("billing_address")?.0,
        tags: row.try_get("tags")?,
        notes: row.try_get("notes")?,
        status: ClientStatus::parse(&status)
            .ok_or_else(|| sqlx::Error::Decode(format!("unknown client status {status}").into()))?,
        version: row.try_get("version")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

fn property(row: &PgRow) -> Result<Property, sqlx::Error> {
    Ok(Property {
        id: row.try_get("id")?,
        client_id: row.try_get("client_id")?,
        name: row.try_get("name")?,
        address: row.try_get::<Json<Address>, _>("address")?.0,
        latitude: row.try_get("latitude")?,
        longitude: row.try_get("longitude")?,
        notes: row.try_get("notes")?,
        version: row.try_get("version")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

pub async fn insert(
    conn: &mut PgConnection,
    account_id: Uuid,
    id: Uuid,
    data: &ClientData,
    created_by: Uuid,
) -> Result<Client, sqlx::Error> {
    let row = sqlx::query(concat!(
        "INSERT INTO clients (account_id, id, first_name, last_name, company_name, emails, phones, billing_address, tags, notes, status, search_text, created_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING ",
        client_columns!()
    ))
    .bind(account_id)
    .bind(id)
    .bind(&data.first_name)
    .bind(&data.last_name)
    .bind(&data.company_name)
    .bind(Json(&data.emails))
    .bind(Json(&data.phones))
    .bind(Json(&data.billing_address))
    .bind(&data.tags)
    .bind(&data.notes)
    .bind(data.status.unwrap_or(ClientStatus::Active).as_str())
    .bind(data.search_text())
    .bind(created_by)
    .fetch_one(conn)
    .await?;
    client(&row)
}

pub async fn get(conn: &mut PgConnection, id: Uuid) -> Result<Option<Client>, sqlx::Error> {
    sqlx::query(concat!(
        "SELECT ",
        client_columns!(),
        " FROM clients WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(conn)
    .await?
    .as_ref()
    .map(client)
    .transpose()
}

pub async fn get_for_update(
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<Option<Client>, sqlx::Error> {
    sqlx::query(concat!(
        "SELECT ",
        client_columns!(),
        " FROM clients WHERE id = $1 FOR UPDATE"
    ))
    .bind(id)
    .fetch_optional(conn)
    .await?
    .as_ref()
    .map(client)
    .transpose()
}

pub async fn update(
    conn: &mut PgConnection,
    id: Uuid,
    data: &ClientData,
    status: ClientStatus,
) -> Result<Client, sqlx::Error> {
    let row = sqlx::query(concat!(
        "UPDATE clients SET first_name = $2, last_name = $3, company_name = $4, emails = $5, phones = $6,
                billing_address = $7, tags = $8, notes = $9, status = $10, search_text = $11, version = version + 1
         WHERE id = $1 RETURNING ",
        client_columns!()
    ))
    .bind(id)
    .bind(&data.first_name)
    .bind(&data.last_name)
    .bind(&data.company_name)
    .bind(Json(&data.emails))
    .bind(Json(&data.phones))
    .bind(Json(&data.billing_address))
    .bind(&data.tags)
    .bind(&data.notes)
    .bind(status.as_str())
    .bind(data.search_text())
    .fetch_one(conn)
    .await?;
    client(&row)
}

pub async fn set_status(
    conn: &mut PgConnection,
    id: Uuid,
    status: ClientStatus,
) -> Result<Client, sqlx::Error> {
    let row = sqlx::query(concat!(
        "UPDATE clients SET status = $2, version = version + 1 WHERE id = $1 RETURNING ",
        client_columns!()
    ))
    .bind(id)
    .bind(status.as_str())
    .fetch_one(conn)
    .await?;
    client(&row)
}

pub async fn delete(conn: &mut PgConnection, id: Uuid) -> Result<u64, sqlx::Error> {
    sqlx::query("DELETE FROM clients WHERE id = $1")
        .bind(id)
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

/// Newest first, keyset on id (UUIDv7 ids sort by creation time).
pub async fn list(
    conn: &mut PgConnection,
    filter: &ClientFilter<'_>,
    before: Option<Uuid>,
    limit: i64,
) -> Result<Vec<Client>, sqlx::Error> {
    let mut query: QueryBuilder<Postgres> = QueryBuilder::new(concat!(
        "SELECT ",
        client_columns!(),
        " FROM clients c WHERE true"
    ));
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
    if let Some(q) = filter.q {
        let pattern = format!("%{}%", escape_like(q));
        query
            .push(" AND (c.search_text LIKE ")
            .push_bind(pattern.clone());
        // Typo tolerance: a word of the text close to the query (pg_trgm).
        query
            .push(" OR ")
            .push_bind(q.to_string())
            .push(" <% c.search_text");
        let digits: String = q.chars().filter(char::is_ascii_digit).collect();
        if digits.len() >= 4
            && digits.len() != q.len()
            && q.chars()
                .all(|c| c.is_ascii_digit() || " +-().".contains(c))
        {
            query
                .push(" OR c.search_text LIKE ")
                .push_bind(format!("%{digits}%"));
        }
        query
            .push(" OR EXISTS (SELECT 1 FROM properties p WHERE p.account_id = c.account_id AND p.client_id = c.id AND p.search_text LIKE ")
            .push_bind(pattern)
            .push("))");
    }
    if let Some(before) = before {
        query.push(" AND c.id < ").push_bind(before);
    }
    query.push(" ORDER BY c.id DESC LIMIT ").push_bind(limit);
    query
        .build()
        .fetch_all(conn)
        .await?
        .iter()
        .map(client)
        .collect()
}

/// `%`, `_` and `\` match themselves in the user's query.
fn escape_like(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

// ---- properties ----

pub async fn insert_property(
    conn: &mut PgConnection,
    account_id: Uuid,
    id: Uuid,
    client_id: Uuid,
    data: &PropertyData,
) -> Result<Property, sqlx::Error> {
    let row = sqlx::query(concat!(
        "INSERT INTO properties (account_id, id, client_id, name, address, latitude, longitude, notes, search_text)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING ",
        property_columns!()
    ))
    .bind(account_id)
    .bind(id)
    .bind(client_id)
    .bind(&data.name)
    .bind(Json(&data.address))
    .bind(data.latitude)
    .bind(data.longitude)
    .bind(&data.notes)
    .bind(data.search_text())
    .fetch_one(conn)
    .await?;
    property(&row)
}

pub async fn get_property(
    conn: &mut PgConnection,
    client_id: Uuid,
    id: Uuid,
    lock: bool,
) -> Result<Option<Property>, sqlx::Error> {
    let sql = if lock {
        concat!(
            "SELECT ",
            property_columns!(),
            " FROM properties WHERE client_id = $1 AND id = $2 FOR UPDATE"
        )
    } else {
        concat!(
            "SELECT ",
            property_columns!(),
            " FROM properties WHERE client_id = $1 AND id = $2"
        )
    };
    sqlx::query(sql)
        .bind(client_id)
        .bind(id)
        .fetch_optional(conn)
        .await?
        .as_ref()
        .map(property)
        .transpose()
}

pub async fn list_properties(
    conn: &mut PgConnection,
    client_id: Uuid,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<Property>, sqlx::Error> {
    sqlx::query(concat!(
        "SELECT ",
        property_columns!(),
        " FROM properties WHERE client_id = $1 AND ($2::uuid IS NULL OR id > $2) ORDER BY id LIMIT $3"
    ))
    .bind(client_id)
    .bind(after)
    .bind(limit)
    .fetch_all(conn)
    .await?
    .iter()
    .map(property)
    .collect()
}

pub async fn update_property(
    conn: &mut PgConnection,
    client_id: Uuid,
    id: Uuid,
    data: &PropertyData,
) -> Result<Property, sqlx::Error> {
    let row = sqlx::query(concat!(
        "UPDATE properties SET name = $3, address = $4, latitude = $5, longitude = $6, notes = $7, search_text = $8, version = version + 1
         WHERE client_id = $1 AND id = $2 RETURNING ",
        property_columns!()
    ))
    .bind(client_id)
    .bind(id)
    .bind(&data.name)
    .bind(Json(&data.address))
    .bind(data.latitude)
    .bind(data.longitude)
    .bind(&data.notes)
    .bind(data.search_text())
    .fetch_one(conn)
    .await?;
    property(&row)
}

pub async fn delete_property(
    conn: &mut PgConnection,
    client_id: Uuid,
    id: Uuid,
) -> Result<u64, sqlx::Error> {
    sqlx::query("DELETE FROM properties WHERE client_id = $1 AND id = $2")
        .bind(client_id)
        .bind(id)
        .execute(conn)
        .await
        .map(|r| r.rows_affected())
}

#[cfg(test)]
mod tests {
    #[test]
    fn like_wildcards_are_escaped() {
        assert_eq!(super::escape_like(r"50%_off\"), r"50\%\_off\\");
    }
}
