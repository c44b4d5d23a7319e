//! CSV exports for the accountant: the invoices or payments of a period, or every
//! client. Requested by office staff, written by the `reports.generation` queue from
//! one consistent snapshot (rows streamed from the database into the file), kept in storage at `uploads/{accountId}/reports/{id}.csv`
//! and downloadable by signed URL for 7 days; the requester gets an in-app
//! notification when it is ready. Expired exports are deleted by the cleanup cron.
//!
//! Amounts are decimals in the account's currency (`12.34`), dates are the account's
//! local dates, and a cell that a spreadsheet would run as a formula (`=`, `+`, `-`,
//! `@`, tab, carriage return) is prefixed with `'` (OWASP's CSV injection advice): a
//! client named `=HYPERLINK(…)` stays a name.

use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, NaiveDate, Utc};
use futures_util::TryStreamExt;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::repo::{self, ExportRow};
use crate::domain::Currency;
use crate::error::{Error, ErrorCode, FieldError};
use crate::modules::{accounts, notifications};
use crate::money::format_minor;
use crate::platform::database::Ctx;
use crate::platform::database::Db;
use crate::platform::queue::{self, Queue};
use crate::platform::storage::{ObjectKey, Storage};

/// How long a download URL works.
pub const URL_TTL: Duration = Duration::from_secs(15 * 60);
/// The longest period one export covers.
pub const MAX_DAYS: i64 = 3660;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ExportKind {
    /// Issued invoices whose issue date is in the period.
    Invoices,
    /// Payments received in the period (by local date).
    Payments,
    /// Every client (the period is not used).
    Clients,
}

impl ExportKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ExportKind::Invoices => "invoices",
            ExportKind::Payments => "payments",
            ExportKind::Clients => "clients",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        match text {
            "invoices" => Some(ExportKind::Invoices),
            "payments" => Some(ExportKind::Payments),
            "clients" => Some(ExportKind::Clients),
            _ => None,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExportRequest {
    pub kind: ExportKind,
    /// First local day (inclusive); required for invoices and payments.
    #[serde(default, deserialize_with = "crate::domain::dates::optional_date")]
    pub from: Option<NaiveDate>,
    /// Last local day (inclusive); required for invoices and payments.
    #[serde(default, deserialize_with = "crate::domain::dates::optional_date")]
    pub to: Option<NaiveDate>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ExportStatus {
    Pending,
    Ready,
    Failed,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Export {
    pub id: Uuid,
    pub kind: ExportKind,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub status: ExportStatus,
    /// Data rows in the file (without the header), once ready.
    pub rows: Option<i64>,
    pub bytes: Option<i64>,
    /// A signed download address of the CSV, valid 15 minutes, once ready.
    pub url: Option<String>,
    /// Why it failed.
    pub error: Option<String>,
    pub requested_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// When the file is deleted.
    pub expires_at: DateTime<Utc>,
}

fn not_found() -> Error {
    Error::code(ErrorCode::ExportNotFound)
}

async fn to_export(storage: &Storage, row: ExportRow) -> Result<Export, Error> {
    let url = match row.storage_key.as_deref().and_then(ObjectKey::parse) {
        Some(key) if row.status == "ready" => Some(storage.signed_url(&key, URL_TTL).await?),
        _ => None,
    };
    let status = match row.status.as_str() {
        "ready" => ExportStatus::Ready,
        "failed" => ExportStatus::Failed,
        _ => ExportStatus::Pending,
    };
    Ok(Export {
        id: row.id,
        kind: ExportKind::parse(&row.kind)
            .ok_or_else(|| Error::internal(anyhow::anyhow!("export kind {}", row.kind)))?,
        from: row.from_date,
        to: row.to_date,
        status,
        rows: row.row_count,
        bytes: row.bytes,
        url,
        error: row.error,
        requested_by: row.requested_by,
        created_at: row.created_at,
        finished_at: row.finished_at,
        expires_at: row.expires_at,
    })
}

/// The `reports.generation` job.
#[derive(Debug, Serialize, Deserialize)]
pub struct ExportJob {
    pub export_id: Uuid,
}

/// Queue an export; it is `pending` until the worker has written it.
#[tracing::instrument(skip_all, fields(account_id = %ctx.account_id))]
pub async fn request(
    db: &Db,
    storage: &Storage,
    ctx: &Ctx,
    input: ExportRequest,
) -> Result<Export, Error> {
    let (from, to) = match input.kind {
        ExportKind::Clients => (None, None),
        ExportKind::Invoices | ExportKind::Payments => {
            let mut errors = Vec::new();
            if input.from.is_none() {
                errors.push(FieldError::new("from", "is required for this export"));
            }
            if input.to.is_none() {
                errors.push(FieldError::new("to", "is required for this export"));
            }
            let (Some(from), Some(to)) = (input.from, input.to) else {
                return Err(Error::invalid(errors));
            };
            super::service::check_range(from, to, MAX_DAYS)?;
            (Some(from), Some(to))
        }
    };
    let id = Uuid::now_v7();
    let mut tx = db.tenant(ctx.account_id).await?;
    let row = repo::insert_export(
        &mut tx,
        ctx.account_id,
        id,
        input.kind.as_str(),
        from,
        to,
        ctx.user_id,
    )
    .await?;
    queue::enqueue(
        &mut tx,
        ctx.account_id,
        Queue::ReportsGeneration,
        &ExportJob { export_id: id },
    )
    .await?;
    tx.commit().await?;
    to_export(storage, row).await
}

pub async fn get(db: &Db, storage: &Storage, ctx: &Ctx, id: Uuid) -> Result<Export, Error> {
    let mut tx = db.tenant(ctx.account_id).await?;
    let row = repo::export(&mut tx, id).await?.ok_or_else(not_found)?;
    tx.commit().await?;
    to_export(storage, row).await
}

/// The account's exports still kept, newest first.
pub async fn list(db: &Db, storage: &Storage, ctx: &Ctx) -> Result<Vec<Export>, Error> {
    let mut tx = db.tenant(ctx.account_id).await?;
    let rows = repo::exports(&mut tx).await?;
    tx.commit().await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        out.push(to_export(storage, row).await?);
    }
    Ok(out)
}

/// Write the export (the `reports.generation` handler). Idempotent: an export that
/// is gone or settled is left alone; a run cut short before its commit is done
/// again (and writes the same file).
#[tracing::instrument(skip(db, storage))]
pub async fn generate(
    db: &Db,
    storage: &Storage,
    account_id: Uuid,
    id: Uuid,
) -> anyhow::Result<()> {
    let mut tx = db.tenant(account_id).await?;
    let Some(row) = repo::pending_export_for_update(&mut tx, id).await? else {
        return Ok(());
    };
    let settings = accounts::service::settings_in(&mut tx)
        .await
        .map_err(anyhow::Error::from)?;
    let exponent = Currency::parse(&settings.currency).map_or(2, |c| c.minor_unit_exponent());
    let money = |minor: i64| format_minor(minor, exponent);
    let zone = settings.time_zone.as_str();
    let mut csv = Csv::default();
    match ExportKind::parse(&row.kind) {
        Some(ExportKind::Invoices) => {
            csv.record([
                "number",
                "issue_date",
                "due_date",
                "status",
                "client",
                "title",
                "currency",
                "subtotal",
                "discount",
                "tax",
                "total",
                "paid",
                "refunded",
                "balance",
            ]);
            let (Some(from), Some(to)) = (row.from_date, row.to_date) else {
                anyhow::bail!("an invoice export without its period");
            };
            let mut rows = repo::export_invoices(&mut tx, from, to);
            while let Some(i) = rows.try_next().await? {
                csv.record([
                    i.number,
                    i.issue_date.to_string(),
                    i.due_date.map(|d| d.to_string()).unwrap_or_default(),
                    i.status,
                    i.client,
                    i.title,
                    settings.currency.clone(),
                    money(i.subtotal),
                    money(i.discount_total),
                    money(i.tax_total),
                    money(i.total),
                    money(i.amount_paid),
                    money(i.amount_refunded),
                    money(i.total - i.amount_paid + i.amount_refunded),
                ]);
            }
        }
        Some(ExportKind::Payments) => {
            csv.record([
                "paid_on",
                "invoice",
                "client",
                "method",
                "status",
                "currency",
                "amount",
                "tip",
                "fee",
                "refunded",
                "reference",
            ]);
            let (Some(from), Some(to)) = (row.from_date, row.to_date) else {
                anyhow::bail!("a payment export without its period");
            };
            let mut rows = repo::export_payments(&mut tx, zone, from, to);
            while let Some(p) = rows.try_next().await? {
                csv.record([
                    p.paid_on.to_string(),
                    p.invoice.unwrap_or_default(),
                    p.client,
                    p.method,
                    p.status,
                    settings.currency.clone(),
                    money(p.amount),
                    money(p.tip),
                    money(p.fee),
                    money(p.refunded),
                    p.reference.unwrap_or_default(),
                ]);
            }
        }
        Some(ExportKind::Clients) => {
            csv.record([
                "name",
                "company",
                "email",
                "phone",
                "street",
                "city",
                "region",
                "postal_code",
                "country",
                "status",
                "tags",
                "created_on",
            ]);
            let mut rows = repo::export_clients(&mut tx, zone);
            while let Some(c) = rows.try_next().await? {
                csv.record([
                    c.name,
                    c.company.unwrap_or_default(),
                    c.email.unwrap_or_default(),
                    c.phone.unwrap_or_default(),
                    c.street.unwrap_or_default(),
                    c.city.unwrap_or_default(),
                    c.region.unwrap_or_default(),
                    c.postal_code.unwrap_or_default(),
                    c.country.unwrap_or_default(),
                    c.status,
                    c.tags.join("; "),
                    c.created_on.to_string(),
                ]);
            }
        }
        None => anyhow::bail!("unknown export kind {}", row.kind),
    }
    let key = ObjectKey::report_export(account_id, id);
    let rows = csv.rows();
    let bytes = i64::try_from(csv.out.len()).unwrap_or(i64::MAX);
    storage.put(&key, Bytes::from(csv.out)).await?;
    repo::finish_export(&mut tx, id, key.as_str(), rows, bytes).await?;
    if let Some(user_id) = row.requested_by {
        let title = format!("Your {} export is ready", row.kind);
        notifications::service::notify_user_in(
            &mut tx,
            account_id,
            user_id,
            id,
            notifications::NewNotification {
                kind: "export_ready",
                title,
                body: Some(format!("{rows} rows, kept for 7 days")),
                about: Some(("report_export", id)),
            },
        )
        .await
        .map_err(anyhow::Error::from)?;
    }
    tx.commit().await?;
    tracing::info!(rows, bytes, "export written");
    Ok(())
}

/// Record that an export could not be written (its job's last attempt failed).
pub async fn fail(db: &Db, account_id: Uuid, id: Uuid, error: &str) -> anyhow::Result<()> {
    let mut tx = db.tenant(account_id).await?;
    repo::fail_export(&mut tx, id, error).await?;
    tx.commit().await?;
    Ok(())
}

/// Delete expired exports and their files, across accounts (the cleanup cron, on
/// the owner's connection). Returns how many were deleted.
pub async fn purge_expired(pool: &sqlx::PgPool, storage: &Storage) -> anyhow::Result<u64> {
    let keys = repo::purge_expired_exports(pool).await?;
    for key in keys.iter().filter_map(|k| ObjectKey::parse(k)) {
        if let Err(error) = storage.delete(&key).await {
            tracing::warn!(
                error = format!("{error:#}"),
                key = key.as_str(),
                "expired export; its file could not be deleted"
            );
        }
    }
    Ok(u64::try_from(keys.len()).unwrap_or(u64::MAX))
}

/// RFC 4180 CSV with CRLF line ends, every field quoted when it needs to be.
#[derive(Default)]
struct Csv {
    out: Vec<u8>,
    /// Records written, the header included.
    records: i64,
}

impl Csv {
    /// Data records: all but the header.
    fn rows(&self) -> i64 {
        (self.records - 1).max(0)
    }

    fn record<S: AsRef<str>>(&mut self, fields: impl IntoIterator<Item = S>) {
        for (i, field) in fields.into_iter().enumerate() {
            if i > 0 {
                self.out.push(b',');
            }
            let field = field.as_ref();
            let formula = field.starts_with(['=', '+', '-', '@', '\t', '\r'])
                && field.parse::<f64>().is_err();
            let quote = formula || field.contains([',', '"', '\n', '\r']);
            if quote {
                self.out.push(b'"');
            }
            if formula {
                self.out.push(b'\'');
            }
            self.out
                .extend_from_slice(field.replace('"', "\"\"").as_bytes());
            if quote {
                self.out.push(b'"');
            }
        }
        self.out.extend_from_slice(b"\r\n");
        self.records += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_what_it_must_and_defuses_formulas() {
        let mut csv = Csv::default();
        csv.record(["name", "amount"]);
        csv.record(["Smith, \"Bob\"", "-12.50"]);
        csv.record(["=HYPERLINK(\"http://x\")", "0.00"]);
        csv.record(["@SUM(A1)", "line\nbreak"]);
        assert_eq!(csv.rows(), 3);
        let text = String::from_utf8(csv.out).unwrap();
        assert_eq!(
            text,
            "name,amount\r\n\"Smith, \"\"Bob\"\"\",-12.50\r\n\"'=HYPERLINK(\"\"http://x\"\")\",0.00\r\n\"'@SUM(A1)\",\"line\nbreak\"\r\n"
        );
    }
}
