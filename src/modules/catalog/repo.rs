use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use super::{CatalogItem, ItemData, ItemKind};

struct Row {
    id: Uuid,
    kind: String,
    name: String,
    description: Option<String>,
    unit_price: i64,
    unit_cost: Option<i64>,
    taxable: bool,
    active: bool,
    version: i32,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<Row> for CatalogItem {
    type Error = sqlx::Error;

    fn try_from(r: Row) -> Result<Self, Self::Error> {
        Ok(CatalogItem {
            id: r.id,
            kind: ItemKind::parse(&r.kind).ok_or_else(|| {
                sqlx::Error::Decode(format!("unknown item kind {}", r.kind).into())
            })?,
            name: r.name,
            description: r.description,
            unit_price: r.unit_price,
            unit_cost: r.unit_cost,
            taxable: r.taxable,
            active: r.active,
            version: r.version,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

pub async fn insert(
    conn: &mut PgConnection,
    account_id: Uuid,
    id: Uuid,
    d: &ItemData,
) -> Result<CatalogItem, sqlx::Error> {
    sqlx::query_as!(
        Row,
        "INSERT INTO catalog_items (account_id, id, kind, name, description, unit_price, unit_cost, taxable, active)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         RETURNING id, kind, name, description, unit_price, unit_cost, taxable, active, version, created_at, updated_at",
        account_id,
        id,
        d.kind.as_str(),
        d.name,
        d.description,
        d.unit_price,
        d.unit_cost,
        d.taxable,
        d.active
    )
    .fetch_one(conn)
    .await?
    .try_into()
}

pub async fn get(conn: &mut PgConnection, id: Uuid) -> Result<Option<CatalogItem>, sqlx::Error> {
    sqlx::query_as!(
        Row,
        "SELECT id, kind, name, description, unit_price, unit_cost, taxable, active, version, created_at, updated_at
         FROM catalog_items WHERE id = $1",
        id
    )
    .fetch_optional(conn)
    .await?
    .map(CatalogItem::try_from)
    .transpose()
}

pub async fn get_for_update(
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<Option<CatalogItem>, sqlx::Error> {
    sqlx::query_as!(
        Row,
        "SELECT id, kind, name, description, unit_price, unit_cost, taxable, active, version, created_at, updated_at
         FROM catalog_items WHERE id = $1 FOR UPDATE",
        id
    )
    .fetch_optional(conn)
    .await?
    .map(CatalogItem::try_from)
    .transpose()
}

/// Newest first; `q` matches the name (case-insensitive, trigram-indexed).
pub async fn list(
    conn: &mut PgConnection,
    active: Option<bool>,
    q: Option<&str>,
    before: Option<Uuid>,
    limit: i64,
) -> Result<Vec<CatalogItem>, sqlx::Error> {
    let pattern = q.map(|q| crate::domain::like_contains(&q.to_lowercase()));
    sqlx::query_as!(
        Row,
        "SELECT id, kind, name, description, unit_price, unit_cost, taxable, active, version, created_at, updated_at
         FROM catalog_items
         WHERE ($1::bool IS NULL OR active = $1) AND ($2::text IS NULL OR lower(name) LIKE $2) AND ($3::uuid IS NULL OR id < $3)
         ORDER BY id DESC LIMIT $4",
        active,
        pattern,
        before,
        limit
    )
    .fetch_all(conn)
    .await?
    .into_iter()
    .map(CatalogItem::try_from)
    .collect()
}

pub async fn update(
    conn: &mut PgConnection,
    id: Uuid,
    d: &ItemData,
) -> Result<CatalogItem, sqlx::Error> {
    sqlx::query_as!(
        Row,
        "UPDATE catalog_items SET kind = $2, name = $3, description = $4, unit_price = $5, unit_cost = $6, taxable = $7, active = $8,
                version = version + 1
         WHERE id = $1
         RETURNING id, kind, name, description, unit_price, unit_cost, taxable, active, version, created_at, updated_at",
        id,
        d.kind.as_str(),
        d.name,
        d.description,
        d.unit_price,
        d.unit_cost,
        d.taxable,
        d.active
    )
    .fetch_one(conn)
    .await?
    .try_into()
}

pub async fn delete(conn: &mut PgConnection, id: Uuid) -> Result<u64, sqlx::Error> {
    sqlx::query!("DELETE FROM catalog_items WHERE id = $1", id)
        .execute(conn)
        .await
        .map(|r| r.rows_affected())
}
