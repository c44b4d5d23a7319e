//! SQL for `invoices`, `invoice_lines` and `payments`.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::PgConnection;
use sqlx::types::Json;
use uuid::Uuid;

use super::model::{InvoiceLine, Payment, PaymentMethod};
use crate::modules::quotes::model::AppliedTax;
use crate::money::Quantity;

pub struct InvoiceRow {
    pub id: Uuid,
    pub number: Option<String>,
    pub client_id: Uuid,
    pub property_id: Option<Uuid>,
    pub job_id: Option<Uuid>,
    pub title: String,
    pub message: Option<String>,
    pub status: String,
    pub payment_terms: String,
    pub issue_date: Option<NaiveDate>,
    pub due_date: Option<NaiveDate>,
    pub discount_kind: Option<String>,
    pub discount_value: i64,
    pub taxes: Json<Vec<AppliedTax>>,
    pub subtotal: i64,
    pub discount_total: i64,
    pub tax_total: i64,
    pub total: i64,
    pub amount_paid: i64,
    pub amount_refunded: i64,
    pub sent_at: Option<DateTime<Utc>>,
    pub paid_at: Option<DateTime<Utc>>,
    pub voided_at: Option<DateTime<Utc>>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub struct NewInvoice<'a> {
    pub id: Uuid,
    pub client_id: Uuid,
    pub property_id: Option<Uuid>,
    pub job_id: Option<Uuid>,
    pub title: &'a str,
    pub message: Option<&'a str>,
    pub payment_terms: &'a str,
    pub due_date: Option<NaiveDate>,
    pub discount_kind: Option<&'a str>,
    pub discount_value: i64,
    pub taxes: &'a [AppliedTax],
    pub subtotal: i64,
    pub discount_total: i64,
    pub tax_total: i64,
    pub total: i64,
    pub created_by: Uuid,
}

pub async fn insert(
    conn: &mut PgConnection,
    account_id: Uuid,
    i: &NewInvoice<'_>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO invoices (account_id, id, client_id, property_id, job_id, title, message, payment_terms, due_date,
                               discount_kind, discount_value, taxes, subtotal, discount_total, tax_total, total, created_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
        account_id,
        i.id,
        i.client_id,
        i.property_id,
        i.job_id,
        i.title,
        i.message,
        i.payment_terms,
        i.due_date,
        i.discount_kind,
        i.discount_value,
        Json(i.taxes) as _,
        i.subtotal,
        i.discount_total,
        i.tax_total,
        i.total,
        i.created_by
    )
    .execute(conn)
    .await
    .map(drop)
}

pub struct LineRecord<'a> {
    pub catalog_item_id: Option<Uuid>,
    pub visit_id: Option<Uuid>,
    pub name: &'a str,
    pub description: Option<&'a str>,
    pub quantity: Quantity,
    pub unit_price: i64,
    pub taxable: bool,
    pub line_total: i64,
}

pub async fn insert_lines(
    conn: &mut PgConnection,
    account_id: Uuid,
    invoice_id: Uuid,
    lines: &[LineRecord<'_>],
) -> Result<(), sqlx::Error> {
    for (position, l) in lines.iter().enumerate() {
        sqlx::query!(
            "INSERT INTO invoice_lines (account_id, id, invoice_id, position, catalog_item_id, visit_id, name, description,
                                        quantity_hundredths, unit_price, taxable, line_total)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            account_id,
            Uuid::now_v7(),
            invoice_id,
            i32::try_from(position).unwrap_or(i32::MAX),
            l.catalog_item_id,
            l.visit_id,
            l.name,
            l.description,
            l.quantity.0,
            l.unit_price,
            l.taxable,
            l.line_total
        )
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

pub async fn get(
    conn: &mut PgConnection,
    id: Uuid,
    lock: bool,
) -> Result<Option<InvoiceRow>, sqlx::Error> {
    if lock {
        sqlx::query_as!(
            InvoiceRow,
            r#"SELECT id, number, client_id, property_id, job_id, title, message, status, payment_terms, issue_date, due_date,
                      discount_kind, discount_value, taxes AS "taxes: Json<Vec<AppliedTax>>", subtotal, discount_total, tax_total, total,
                      amount_paid, amount_refunded, sent_at, paid_at, voided_at, version, created_at, updated_at
               FROM invoices WHERE id = $1 FOR UPDATE"#,
            id
        )
        .fetch_optional(conn)
        .await
    } else {
        sqlx::query_as!(
            InvoiceRow,
            r#"SELECT id, number, client_id, property_id, job_id, title, message, status, payment_terms, issue_date, due_date,
                      discount_kind, discount_value, taxes AS "taxes: Json<Vec<AppliedTax>>", subtotal, discount_total, tax_total, total,
                      amount_paid, amount_refunded, sent_at, paid_at, voided_at, version, created_at, updated_at
               FROM invoices WHERE id = $1"#,
            id
        )
        .fetch_optional(conn)
        .await
    }
}

/// What [`list`] filters on (`None`: everything).
pub struct ListFilter<'a> {
    pub status: Option<&'a str>,
    pub client_id: Option<Uuid>,
    /// Past due or not: open (sent or partly paid) with a balance, and due before
    /// `today`, the account's local date; the rule of `Invoice::past_due`.
    pub past_due: Option<bool>,
    pub today: NaiveDate,
}

pub async fn list(
    conn: &mut PgConnection,
    filter: ListFilter<'_>,
    before: Option<Uuid>,
    limit: i64,
) -> Result<Vec<InvoiceRow>, sqlx::Error> {
    sqlx::query_as!(
        InvoiceRow,
        r#"SELECT id, number, client_id, property_id, job_id, title, message, status, payment_terms, issue_date, due_date,
                  discount_kind, discount_value, taxes AS "taxes: Json<Vec<AppliedTax>>", subtotal, discount_total, tax_total, total,
                  amount_paid, amount_refunded, sent_at, paid_at, voided_at, version, created_at, updated_at
           FROM invoices
           WHERE ($1::text IS NULL OR status = $1) AND ($2::uuid IS NULL OR client_id = $2) AND ($3::uuid IS NULL OR id < $3)
             AND ($5::bool IS NULL OR COALESCE(status IN ('sent', 'partially_paid') AND total - amount_paid + amount_refunded > 0 AND due_date < $6, false) = $5)
           ORDER BY id DESC LIMIT $4"#,
        filter.status,
        filter.client_id,
        before,
        limit,
        filter.past_due,
        filter.today
    )
    .fetch_all(conn)
    .await
}

pub async fn lines(
    conn: &mut PgConnection,
    invoice_id: Uuid,
) -> Result<Vec<InvoiceLine>, sqlx::Error> {
    let rows = sqlx::query!(
        "SELECT id, position, catalog_item_id, visit_id, name, description, quantity_hundredths, unit_price, taxable, line_total
         FROM invoice_lines WHERE invoice_id = $1 ORDER BY position",
        invoice_id
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| InvoiceLine {
            id: r.id,
            position: r.position,
            catalog_item_id: r.catalog_item_id,
            visit_id: r.visit_id,
            name: r.name,
            description: r.description,
            quantity: Quantity(r.quantity_hundredths),
            unit_price: r.unit_price,
            taxable: r.taxable,
            line_total: r.line_total,
        })
        .collect())
}

pub async fn issue(
    conn: &mut PgConnection,
    id: Uuid,
    number: &str,
    issue_date: NaiveDate,
    due_date: NaiveDate,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE invoices SET number = $2, issue_date = $3, due_date = $4, status = 'sent', sent_at = now(), version = version + 1 WHERE id = $1",
        id,
        number,
        issue_date,
        due_date
    )
    .execute(conn)
    .await
    .map(drop)
}

pub async fn mark_resent(conn: &mut PgConnection, id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE invoices SET sent_at = now(), version = version + 1 WHERE id = $1",
        id
    )
    .execute(conn)
    .await
    .map(drop)
}

pub async fn set_status(
    conn: &mut PgConnection,
    id: Uuid,
    status: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE invoices SET status = $2, version = version + 1, voided_at = CASE WHEN $2 = 'void' THEN now() ELSE voided_at END WHERE id = $1",
        id,
        status
    )
    .execute(conn)
    .await
    .map(drop)
}

/// Apply a payment: the database refuses a balance below zero (invoices_balance_check).
pub async fn apply_payment(
    conn: &mut PgConnection,
    id: Uuid,
    amount: i64,
    status: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE invoices SET amount_paid = amount_paid + $2, status = $3, version = version + 1,
                paid_at = CASE WHEN $3 = 'paid' THEN now() ELSE paid_at END
         WHERE id = $1",
        id,
        amount,
        status
    )
    .execute(conn)
    .await
    .map(drop)
}

pub struct NewPayment<'a> {
    pub id: Uuid,
    pub invoice_id: Option<Uuid>,
    pub quote_id: Option<Uuid>,
    pub client_id: Uuid,
    pub method: PaymentMethod,
    pub status: &'a str,
    pub amount: i64,
    pub tip: i64,
    pub reference: Option<&'a str>,
    pub note: Option<&'a str>,
    pub stripe_payment_intent_id: Option<&'a str>,
    pub paid_at: DateTime<Utc>,
    pub created_by: Option<Uuid>,
}

pub async fn insert_payment(
    conn: &mut PgConnection,
    account_id: Uuid,
    p: &NewPayment<'_>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO payments (account_id, id, invoice_id, quote_id, client_id, method, status, amount, tip, reference, note,
                               stripe_payment_intent_id, paid_at, created_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        account_id,
        p.id,
        p.invoice_id,
        p.quote_id,
        p.client_id,
        p.method.as_str(),
        p.status,
        p.amount,
        p.tip,
        p.reference,
        p.note,
        p.stripe_payment_intent_id,
        p.paid_at,
        p.created_by
    )
    .execute(conn)
    .await
    .map(drop)
}

/// A `payments` row as read.
struct PaymentRow {
    id: Uuid,
    invoice_id: Option<Uuid>,
    quote_id: Option<Uuid>,
    client_id: Uuid,
    method: String,
    status: String,
    amount: i64,
    tip: i64,
    fee: i64,
    refunded: i64,
    reference: Option<String>,
    note: Option<String>,
    stripe_payment_intent_id: Option<String>,
    paid_at: DateTime<Utc>,
    created_at: DateTime<Utc>,
}

impl TryFrom<PaymentRow> for Payment {
    type Error = sqlx::Error;

    fn try_from(r: PaymentRow) -> Result<Payment, sqlx::Error> {
        Ok(Payment {
            id: r.id,
            invoice_id: r.invoice_id,
            quote_id: r.quote_id,
            client_id: r.client_id,
            method: PaymentMethod::parse(&r.method).ok_or_else(|| {
                sqlx::Error::Decode(format!("unknown payment method {}", r.method).into())
            })?,
            status: r.status,
            amount: r.amount,
            tip: r.tip,
            fee: r.fee,
            refunded: r.refunded,
            reference: r.reference,
            note: r.note,
            stripe_payment_intent_id: r.stripe_payment_intent_id,
            paid_at: r.paid_at,
            created_at: r.created_at,
        })
    }
}

pub async fn payment(conn: &mut PgConnection, id: Uuid) -> Result<Option<Payment>, sqlx::Error> {
    sqlx::query_as!(
        PaymentRow,
        "SELECT id, invoice_id, quote_id, client_id, method, status, amount, tip, fee, refunded, reference, note,
                stripe_payment_intent_id, paid_at, created_at
         FROM payments WHERE id = $1",
        id
    )
    .fetch_optional(conn)
    .await?
    .map(Payment::try_from)
    .transpose()
}

/// A client's payments (deposits, failed and pending card payments included), newest
/// first, after the keyset cursor `before`.
pub async fn client_payments(
    conn: &mut PgConnection,
    client_id: Uuid,
    before: Option<Uuid>,
    limit: i64,
) -> Result<Vec<Payment>, sqlx::Error> {
    sqlx::query_as!(
        PaymentRow,
        "SELECT id, invoice_id, quote_id, client_id, method, status, amount, tip, fee, refunded, reference, note,
                stripe_payment_intent_id, paid_at, created_at
         FROM payments WHERE client_id = $1 AND ($2::uuid IS NULL OR id < $2)
         ORDER BY id DESC LIMIT $3",
        client_id,
        before,
        limit
    )
    .fetch_all(conn)
    .await?
    .into_iter()
    .map(Payment::try_from)
    .collect()
}

/// The payments applied to an invoice (deposits included), oldest first.
pub async fn invoice_payment_ids(
    conn: &mut PgConnection,
    invoice_id: Uuid,
) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar!(
        "SELECT id FROM payments WHERE invoice_id = $1 ORDER BY paid_at, id",
        invoice_id
    )
    .fetch_all(conn)
    .await
}

/// What card payments still waiting for Stripe would add to an invoice or a quote:
/// they hold their part of the balance until they succeed or fail.
pub async fn pending_total(
    conn: &mut PgConnection,
    invoice_id: Option<Uuid>,
    quote_id: Option<Uuid>,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT coalesce(sum(amount), 0)::bigint AS "sum!" FROM payments
           WHERE status = 'pending' AND (($1::uuid IS NOT NULL AND invoice_id = $1) OR ($2::uuid IS NOT NULL AND quote_id = $2))"#,
        invoice_id,
        quote_id
    )
    .fetch_one(conn)
    .await
}

/// Deposits received on a quote, net of refunds (applied or not).
pub async fn deposits_received(
    conn: &mut PgConnection,
    quote_id: Uuid,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT coalesce(sum(amount - refunded), 0)::bigint AS "sum!" FROM payments
           WHERE quote_id = $1 AND status IN ('succeeded', 'partially_refunded', 'refunded')"#,
        quote_id
    )
    .fetch_one(conn)
    .await
}

pub struct DepositRow {
    pub id: Uuid,
    pub amount: i64,
    pub refunded: i64,
}

/// A quote's received deposits not yet applied to an invoice, oldest first, locked.
pub async fn unapplied_deposits(
    conn: &mut PgConnection,
    quote_id: Uuid,
) -> Result<Vec<DepositRow>, sqlx::Error> {
    sqlx::query_as!(
        DepositRow,
        "SELECT id, amount, refunded FROM payments
         WHERE quote_id = $1 AND invoice_id IS NULL AND status IN ('succeeded', 'partially_refunded')
         ORDER BY id FOR UPDATE",
        quote_id
    )
    .fetch_all(conn)
    .await
}

pub async fn attach_payment(
    conn: &mut PgConnection,
    id: Uuid,
    invoice_id: Uuid,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE payments SET invoice_id = $2 WHERE id = $1",
        id,
        invoice_id
    )
    .execute(conn)
    .await
    .map(drop)
}

/// Give a draft's deposits back to their quote (the draft is being deleted).
pub async fn detach_deposits(conn: &mut PgConnection, invoice_id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE payments SET invoice_id = NULL WHERE invoice_id = $1 AND quote_id IS NOT NULL",
        invoice_id
    )
    .execute(conn)
    .await
    .map(drop)
}

/// Money that arrived before the invoice existed (deposits): paid and refunded grow,
/// the status stays (a draft stays a draft until it is sent).
pub async fn add_prepaid(
    conn: &mut PgConnection,
    id: Uuid,
    paid: i64,
    refunded: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE invoices SET amount_paid = amount_paid + $2, amount_refunded = amount_refunded + $3 WHERE id = $1",
        id,
        paid,
        refunded
    )
    .execute(conn)
    .await
    .map(drop)
}

/// After issue: an invoice that deposits already (partly) paid says so.
pub async fn settle_issued(conn: &mut PgConnection, id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE invoices SET
                status = CASE WHEN amount_paid - amount_refunded >= total THEN 'paid'
                              WHEN amount_paid - amount_refunded > 0 THEN 'partially_paid'
                              ELSE status END,
                paid_at = CASE WHEN amount_paid - amount_refunded >= total THEN now() ELSE paid_at END
         WHERE id = $1 AND status = 'sent' AND amount_paid - amount_refunded > 0",
        id
    )
    .execute(conn)
    .await
    .map(drop)
}

/// A card payment Stripe confirmed: paid now, with the fee it kept.
pub async fn mark_payment_succeeded(
    conn: &mut PgConnection,
    id: Uuid,
    fee: i64,
    refunded: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE payments SET status = CASE WHEN $3 >= amount THEN 'refunded' WHEN $3 > 0 THEN 'partially_refunded' ELSE 'succeeded' END,
                fee = $2, refunded = $3, paid_at = now()
         WHERE id = $1",
        id,
        fee,
        refunded
    )
    .execute(conn)
    .await
    .map(drop)
}

pub async fn mark_payment_failed(
    conn: &mut PgConnection,
    id: Uuid,
    note: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE payments SET status = 'failed', note = coalesce($2, note) WHERE id = $1 AND status = 'pending'",
        id,
        note
    )
    .execute(conn)
    .await
    .map(drop)
}

/// A card payment applied at once: what exceeded the balance is refunded with it.
pub async fn apply_card_payment(
    conn: &mut PgConnection,
    id: Uuid,
    amount: i64,
    refunded: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE invoices SET amount_paid = amount_paid + $2, amount_refunded = amount_refunded + $3, version = version + 1,
                status = CASE
                    WHEN status NOT IN ('sent', 'partially_paid') THEN status
                    WHEN amount_paid + $2 - amount_refunded - $3 >= total THEN 'paid'
                    WHEN amount_paid + $2 - amount_refunded - $3 > 0 THEN 'partially_paid'
                    ELSE status END,
                paid_at = CASE WHEN status IN ('sent', 'partially_paid') AND amount_paid + $2 - amount_refunded - $3 >= total
                               THEN now() ELSE paid_at END
         WHERE id = $1",
        id,
        amount,
        refunded
    )
    .execute(conn)
    .await
    .map(drop)
}

pub async fn delete(conn: &mut PgConnection, id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "DELETE FROM invoices WHERE id = $1 AND status = 'draft'",
        id
    )
    .execute(conn)
    .await
    .map(drop)
}

pub struct LockedPayment {
    pub invoice_id: Option<Uuid>,
    pub quote_id: Option<Uuid>,
    pub client_id: Uuid,
    pub method: String,
    pub status: String,
    pub amount: i64,
    pub refunded: i64,
    pub stripe_payment_intent_id: Option<String>,
}

/// Card payments still pending that were started before `cutoff`, oldest first.
pub async fn pending_card_payments_before(
    conn: &mut PgConnection,
    cutoff: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar!(
        "SELECT id FROM payments
         WHERE status = 'pending' AND stripe_payment_intent_id IS NOT NULL AND created_at < $1
         ORDER BY created_at LIMIT 1000",
        cutoff
    )
    .fetch_all(conn)
    .await
}

/// Lock a payment row.
pub async fn lock_payment(
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<Option<LockedPayment>, sqlx::Error> {
    sqlx::query_as!(
        LockedPayment,
        "SELECT invoice_id, quote_id, client_id, method, status, amount, refunded, stripe_payment_intent_id
         FROM payments WHERE id = $1 FOR UPDATE",
        id
    )
    .fetch_optional(conn)
    .await
}

pub async fn refund_payment(
    conn: &mut PgConnection,
    id: Uuid,
    amount: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE payments SET refunded = refunded + $2,
                status = CASE WHEN refunded + $2 >= amount THEN 'refunded' ELSE 'partially_refunded' END
         WHERE id = $1",
        id,
        amount
    )
    .execute(conn)
    .await
    .map(drop)
}

/// Add a refund to the invoice; its status follows the balance.
pub async fn apply_refund(
    conn: &mut PgConnection,
    id: Uuid,
    amount: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE invoices SET amount_refunded = amount_refunded + $2, version = version + 1,
                status = CASE
                    WHEN status IN ('void', 'bad_debt', 'draft') THEN status
                    WHEN amount_paid - amount_refunded - $2 <= 0 THEN 'sent'
                    ELSE 'partially_paid' END,
                paid_at = NULL
         WHERE id = $1",
        id,
        amount
    )
    .execute(conn)
    .await
    .map(drop)
}

/// Issued invoices with a balance whose due date is before `today`, oldest due first.
pub async fn overdue(
    conn: &mut PgConnection,
    today: chrono::NaiveDate,
) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar!(
        "SELECT id FROM invoices
         WHERE status IN ('sent', 'partially_paid') AND due_date < $1
           AND total - amount_paid + amount_refunded > 0
         ORDER BY due_date, id LIMIT 1000",
        today
    )
    .fetch_all(conn)
    .await
}

/// The client and the job (if any) of an invoice.
pub async fn parties(
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<Option<(Uuid, Option<Uuid>)>, sqlx::Error> {
    let row = sqlx::query!("SELECT client_id, job_id FROM invoices WHERE id = $1", id)
        .fetch_optional(conn)
        .await?;
    Ok(row.map(|r| (r.client_id, r.job_id)))
}

/// The client of a payment and the job of its invoice (if any).
pub async fn payment_parties(
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<Option<(Uuid, Option<Uuid>)>, sqlx::Error> {
    let row = sqlx::query!(
        r#"SELECT p.client_id, i.job_id AS "job_id?"
           FROM payments p LEFT JOIN invoices i ON i.id = p.invoice_id
           WHERE p.id = $1"#,
        id
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|r| (r.client_id, r.job_id)))
}
