//! SQL for `quotes` and `quote_lines`.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::PgConnection;
use sqlx::types::Json;
use uuid::Uuid;

use super::model::{
    AdjustmentDto, AdjustmentKind, AppliedTax, Approval, ApprovedVia, LineData, Quote, QuoteLine,
};
use super::state::QuoteStatus;
use crate::money::Quantity;

pub struct QuoteRow {
    pub id: Uuid,
    pub number: String,
    pub client_id: Uuid,
    pub property_id: Option<Uuid>,
    pub title: String,
    pub message: Option<String>,
    pub status: String,
    pub discount_kind: Option<String>,
    pub discount_value: i64,
    pub deposit_kind: Option<String>,
    pub deposit_value: i64,
    pub taxes: Json<Vec<AppliedTax>>,
    pub subtotal: i64,
    pub discount_total: i64,
    pub tax_total: i64,
    pub total: i64,
    pub deposit_amount: i64,
    pub valid_until: Option<NaiveDate>,
    pub sent_at: Option<DateTime<Utc>>,
    pub approved_at: Option<DateTime<Utc>>,
    pub approved_by_name: Option<String>,
    pub approved_by_user_id: Option<Uuid>,
    pub approved_ip: Option<String>,
    pub declined_at: Option<DateTime<Utc>>,
    pub decline_reason: Option<String>,
    pub changes_requested_note: Option<String>,
    pub converted_at: Option<DateTime<Utc>>,
    pub converted_job_id: Option<Uuid>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

struct LineRow {
    id: Uuid,
    position: i32,
    catalog_item_id: Option<Uuid>,
    name: String,
    description: Option<String>,
    quantity_hundredths: i64,
    unit_price: i64,
    taxable: bool,
    optional: bool,
    selected: bool,
    line_total: i64,
}

fn adjustment(kind: Option<&str>, value: i64) -> Option<AdjustmentDto> {
    kind.and_then(AdjustmentKind::parse)
        .map(|kind| AdjustmentDto { kind, value })
}

impl QuoteRow {
    pub fn status(&self) -> Result<QuoteStatus, sqlx::Error> {
        QuoteStatus::parse(&self.status).ok_or_else(|| {
            sqlx::Error::Decode(format!("unknown quote status {}", self.status).into())
        })
    }

    pub fn into_quote(self, lines: Vec<QuoteLine>, currency: String) -> Result<Quote, sqlx::Error> {
        let status = self.status()?;
        let approval = match (self.approved_at, self.approved_by_name) {
            (Some(approved_at), Some(signature_name)) => Some(Approval {
                approved_at,
                signature_name,
                via: if self.approved_by_user_id.is_some() {
                    ApprovedVia::Staff
                } else {
                    ApprovedVia::ClientHub
                },
                recorded_by: self.approved_by_user_id,
                ip: self.approved_ip,
            }),
            _ => None,
        };
        Ok(Quote {
            id: self.id,
            number: self.number,
            client_id: self.client_id,
            property_id: self.property_id,
            title: self.title,
            message: self.message,
            status,
            allowed_actions: status.allowed(),
            lines,
            discount: adjustment(self.discount_kind.as_deref(), self.discount_value),
            deposit: adjustment(self.deposit_kind.as_deref(), self.deposit_value),
            taxes: self.taxes.0,
            currency,
            subtotal: self.subtotal,
            discount_total: self.discount_total,
            tax_total: self.tax_total,
            total: self.total,
            deposit_amount: self.deposit_amount,
            valid_until: self.valid_until,
            sent_at: self.sent_at,
            approval,
            declined_at: self.declined_at,
            decline_reason: self.decline_reason,
            changes_requested_note: self.changes_requested_note,
            converted_at: self.converted_at,
            converted_job_id: self.converted_job_id,
            version: self.version,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

/// The fields a create or edit writes.
pub struct QuoteFields<'a> {
    pub client_id: Uuid,
    pub property_id: Option<Uuid>,
    pub title: &'a str,
    pub message: Option<&'a str>,
    pub discount: Option<AdjustmentDto>,
    pub deposit: Option<AdjustmentDto>,
    pub valid_until: Option<NaiveDate>,
}

/// Amounts computed by the money rules.
pub struct QuoteTotals<'a> {
    pub taxes: &'a [AppliedTax],
    pub subtotal: i64,
    pub discount_total: i64,
    pub tax_total: i64,
    pub total: i64,
    pub deposit_amount: i64,
}

pub async fn insert(
    conn: &mut PgConnection,
    account_id: Uuid,
    id: Uuid,
    number: &str,
    f: &QuoteFields<'_>,
    t: &QuoteTotals<'_>,
    created_by: Uuid,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO quotes (account_id, id, number, client_id, property_id, title, message, discount_kind, discount_value,
                             deposit_kind, deposit_value, taxes, subtotal, discount_total, tax_total, total, deposit_amount,
                             valid_until, created_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)",
        account_id,
        id,
        number,
        f.client_id,
        f.property_id,
        f.title,
        f.message,
        f.discount.map(|d| d.kind.as_str()),
        f.discount.map_or(0, |d| d.value),
        f.deposit.map(|d| d.kind.as_str()),
        f.deposit.map_or(0, |d| d.value),
        Json(t.taxes) as _,
        t.subtotal,
        t.discount_total,
        t.tax_total,
        t.total,
        t.deposit_amount,
        f.valid_until,
        created_by
    )
    .execute(conn)
    .await
    .map(drop)
}

pub async fn update_fields(
    conn: &mut PgConnection,
    id: Uuid,
    f: &QuoteFields<'_>,
    t: &QuoteTotals<'_>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE quotes SET client_id = $2, property_id = $3, title = $4, message = $5, discount_kind = $6, discount_value = $7,
                deposit_kind = $8, deposit_value = $9, taxes = $10, subtotal = $11, discount_total = $12, tax_total = $13,
                total = $14, deposit_amount = $15, valid_until = $16, version = version + 1
         WHERE id = $1",
        id,
        f.client_id,
        f.property_id,
        f.title,
        f.message,
        f.discount.map(|d| d.kind.as_str()),
        f.discount.map_or(0, |d| d.value),
        f.deposit.map(|d| d.kind.as_str()),
        f.deposit.map_or(0, |d| d.value),
        Json(t.taxes) as _,
        t.subtotal,
        t.discount_total,
        t.tax_total,
        t.total,
        t.deposit_amount,
        f.valid_until
    )
    .execute(conn)
    .await
    .map(drop)
}

/// Replace every line of a quote.
pub async fn replace_lines(
    conn: &mut PgConnection,
    account_id: Uuid,
    quote_id: Uuid,
    lines: &[LineData],
    totals: &[i64],
) -> Result<(), sqlx::Error> {
    sqlx::query!("DELETE FROM quote_lines WHERE quote_id = $1", quote_id)
        .execute(&mut *conn)
        .await?;
    for (position, (line, total)) in lines.iter().zip(totals).enumerate() {
        sqlx::query!(
            "INSERT INTO quote_lines (account_id, id, quote_id, position, catalog_item_id, name, description, quantity_hundredths,
                                      unit_price, taxable, optional, selected, line_total)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
            account_id,
            Uuid::now_v7(),
            quote_id,
            i32::try_from(position).unwrap_or(i32::MAX),
            line.catalog_item_id,
            line.name,
            line.description,
            line.quantity.0,
            line.unit_price,
            line.taxable,
            line.optional,
            line.selected,
            total
        )
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Mark which lines count (approval picks the optional ones) with their totals.
pub async fn set_line_selection(
    conn: &mut PgConnection,
    line_id: Uuid,
    selected: bool,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE quote_lines SET selected = $2 WHERE id = $1",
        line_id,
        selected
    )
    .execute(conn)
    .await
    .map(drop)
}

pub async fn get(
    conn: &mut PgConnection,
    id: Uuid,
    lock: bool,
) -> Result<Option<QuoteRow>, sqlx::Error> {
    if lock {
        sqlx::query_as!(
            QuoteRow,
            r#"SELECT id, number, client_id, property_id, title, message, status, discount_kind, discount_value, deposit_kind,
                      deposit_value, taxes AS "taxes: Json<Vec<AppliedTax>>", subtotal, discount_total, tax_total, total,
                      deposit_amount, valid_until, sent_at, approved_at, approved_by_name, approved_by_user_id, approved_ip,
                      declined_at, decline_reason, changes_requested_note, converted_at, converted_job_id, version, created_at, updated_at
               FROM quotes WHERE id = $1 FOR UPDATE"#,
            id
        )
        .fetch_optional(conn)
        .await
    } else {
        sqlx::query_as!(
            QuoteRow,
            r#"SELECT id, number, client_id, property_id, title, message, status, discount_kind, discount_value, deposit_kind,
                      deposit_value, taxes AS "taxes: Json<Vec<AppliedTax>>", subtotal, discount_total, tax_total, total,
                      deposit_amount, valid_until, sent_at, approved_at, approved_by_name, approved_by_user_id, approved_ip,
                      declined_at, decline_reason, changes_requested_note, converted_at, converted_job_id, version, created_at, updated_at
               FROM quotes WHERE id = $1"#,
            id
        )
        .fetch_optional(conn)
        .await
    }
}

pub async fn lines(conn: &mut PgConnection, quote_id: Uuid) -> Result<Vec<QuoteLine>, sqlx::Error> {
    let rows = sqlx::query_as!(
        LineRow,
        "SELECT id, position, catalog_item_id, name, description, quantity_hundredths, unit_price, taxable, optional, selected, line_total
         FROM quote_lines WHERE quote_id = $1 ORDER BY position",
        quote_id
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| QuoteLine {
            id: r.id,
            position: r.position,
            catalog_item_id: r.catalog_item_id,
            name: r.name,
            description: r.description,
            quantity: Quantity(r.quantity_hundredths),
            unit_price: r.unit_price,
            taxable: r.taxable,
            optional: r.optional,
            selected: r.selected,
            line_total: r.line_total,
        })
        .collect())
}

/// Newest first, optionally by status and client.
/// Quotes in any of `statuses` (all of them when empty), newest first.
pub async fn list(
    conn: &mut PgConnection,
    statuses: &[QuoteStatus],
    client_id: Option<Uuid>,
    before: Option<Uuid>,
    limit: i64,
) -> Result<Vec<QuoteRow>, sqlx::Error> {
    sqlx::query_as!(
        QuoteRow,
        r#"SELECT id, number, client_id, property_id, title, message, status, discount_kind, discount_value, deposit_kind,
                  deposit_value, taxes AS "taxes: Json<Vec<AppliedTax>>", subtotal, discount_total, tax_total, total,
                  deposit_amount, valid_until, sent_at, approved_at, approved_by_name, approved_by_user_id, approved_ip,
                  declined_at, decline_reason, changes_requested_note, converted_at, converted_job_id, version, created_at, updated_at
           FROM quotes
           WHERE (cardinality($1::text[]) = 0 OR status = ANY($1)) AND ($2::uuid IS NULL OR client_id = $2) AND ($3::uuid IS NULL OR id < $3)
           ORDER BY id DESC LIMIT $4"#,
        &statuses.iter().map(|s| s.as_str()).collect::<Vec<_>>() as &[&str],
        client_id,
        before,
        limit
    )
    .fetch_all(conn)
    .await
}

/// Mark sent; a lapsed (or missing) `valid_until` becomes `fresh_until`.
pub async fn mark_sent(
    conn: &mut PgConnection,
    id: Uuid,
    today: NaiveDate,
    fresh_until: NaiveDate,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE quotes SET status = 'sent', sent_at = now(), expired_at = NULL, version = version + 1,
                valid_until = CASE WHEN valid_until IS NULL OR valid_until < $2 THEN $3 ELSE valid_until END
         WHERE id = $1",
        id,
        today,
        fresh_until
    )
    .execute(conn)
    .await
    .map(drop)
}

/// Quotes awaiting an answer whose `valid_until` is before `today` become
/// `expired`; returns their ids and clients.
pub async fn expire(
    conn: &mut PgConnection,
    today: NaiveDate,
) -> Result<Vec<(Uuid, Uuid)>, sqlx::Error> {
    let rows = sqlx::query!(
        "UPDATE quotes SET status = 'expired', expired_at = now(), version = version + 1
         WHERE status IN ('sent', 'changes_requested') AND valid_until < $1
         RETURNING id, client_id",
        today
    )
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|r| (r.id, r.client_id)).collect())
}

pub struct ApprovalData<'a> {
    pub signature_name: &'a str,
    pub user_id: Option<Uuid>,
    pub ip: Option<String>,
}

pub async fn mark_approved(
    conn: &mut PgConnection,
    id: Uuid,
    a: &ApprovalData<'_>,
    t: &QuoteTotals<'_>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE quotes SET status = 'approved', approved_at = now(), approved_by_name = $2, approved_by_user_id = $3, approved_ip = $4,
                approved_via = CASE WHEN $3::uuid IS NULL THEN 'client_hub' ELSE 'staff' END,
                taxes = $5, subtotal = $6, discount_total = $7, tax_total = $8, total = $9, deposit_amount = $10, version = version + 1
         WHERE id = $1",
        id,
        a.signature_name,
        a.user_id,
        a.ip,
        Json(t.taxes) as _,
        t.subtotal,
        t.discount_total,
        t.tax_total,
        t.total,
        t.deposit_amount
    )
    .execute(conn)
    .await
    .map(drop)
}

pub async fn mark_declined(
    conn: &mut PgConnection,
    id: Uuid,
    reason: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query!("UPDATE quotes SET status = 'declined', declined_at = now(), decline_reason = $2, version = version + 1 WHERE id = $1", id, reason)
        .execute(conn)
        .await
        .map(drop)
}

pub async fn mark_changes_requested(
    conn: &mut PgConnection,
    id: Uuid,
    note: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!("UPDATE quotes SET status = 'changes_requested', changes_requested_note = $2, version = version + 1 WHERE id = $1", id, note)
        .execute(conn)
        .await
        .map(drop)
}

pub async fn mark_archived(conn: &mut PgConnection, id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE quotes SET status = 'archived', version = version + 1 WHERE id = $1",
        id
    )
    .execute(conn)
    .await
    .map(drop)
}

pub async fn mark_converted(
    conn: &mut PgConnection,
    id: Uuid,
    job_id: Uuid,
) -> Result<(), sqlx::Error> {
    sqlx::query!("UPDATE quotes SET status = 'converted', converted_at = now(), converted_job_id = $2, version = version + 1 WHERE id = $1", id, job_id)
        .execute(conn)
        .await
        .map(drop)
}

/// The client a quote is for.
pub async fn client_of(conn: &mut PgConnection, id: Uuid) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar!("SELECT client_id FROM quotes WHERE id = $1", id)
        .fetch_optional(conn)
        .await
}
