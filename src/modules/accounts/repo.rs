use sqlx::PgConnection;
use uuid::Uuid;

use super::model::Account;

pub async fn insert(
    conn: &mut PgConnection,
    id: Uuid,
    name: &str,
    time_zone: &str,
    currency: &str,
) -> Result<Account, sqlx::Error> {
    sqlx::query_as!(
        Account,
        r#"INSERT INTO accounts (id, name, time_zone, currency) VALUES ($1, $2, $3, $4)
           RETURNING id, name, time_zone, currency AS "currency!: String", version, created_at, updated_at"#,
        id,
        name,
        time_zone,
        currency
    )
    .fetch_one(conn)
    .await
}

/// The current tenant's account (row-level security shows no other).
pub async fn current(conn: &mut PgConnection) -> Result<Option<Account>, sqlx::Error> {
    sqlx::query_as!(Account, r#"SELECT id, name, time_zone, currency AS "currency!: String", version, created_at, updated_at FROM accounts"#)
        .fetch_optional(conn)
        .await
}

use super::model::{PaymentTerms, Settings, TaxRate};
use crate::domain::Address;
use crate::money::Rate;
use sqlx::types::Json;

struct SettingsRow {
    name: String,
    address: Json<Address>,
    phone: Option<String>,
    email: Option<String>,
    website: Option<String>,
    logo_key: Option<String>,
    brand_color: String,
    time_zone: String,
    currency: String,
    locale: String,
    payment_terms: String,
    quote_validity_days: i32,
    quote_prefix: String,
    next_quote_number: i64,
    job_prefix: String,
    next_job_number: i64,
    invoice_prefix: String,
    next_invoice_number: i64,
    show_prices_to_technicians: bool,
    visit_reminders: bool,
    visit_reminder_hours_before: i32,
    invoice_followups: bool,
    invoice_followup_days: Vec<i32>,
    version: i32,
    updated_at: chrono::DateTime<chrono::Utc>,
}

impl TryFrom<SettingsRow> for Settings {
    type Error = sqlx::Error;

    fn try_from(row: SettingsRow) -> Result<Self, Self::Error> {
        Ok(Settings {
            business_name: row.name,
            address: row.address.0,
            phone: row.phone,
            email: row.email,
            website: row.website,
            logo_key: row.logo_key,
            brand_color: row.brand_color,
            time_zone: row.time_zone,
            currency: row.currency,
            locale: row.locale,
            payment_terms: PaymentTerms::parse(&row.payment_terms).ok_or_else(|| {
                sqlx::Error::Decode(format!("unknown payment terms {}", row.payment_terms).into())
            })?,
            quote_validity_days: row.quote_validity_days,
            quote_prefix: row.quote_prefix,
            next_quote_number: row.next_quote_number,
            job_prefix: row.job_prefix,
            next_job_number: row.next_job_number,
            invoice_prefix: row.invoice_prefix,
            next_invoice_number: row.next_invoice_number,
            show_prices_to_technicians: row.show_prices_to_technicians,
            visit_reminders: row.visit_reminders,
            visit_reminder_hours_before: row.visit_reminder_hours_before,
            invoice_followups: row.invoice_followups,
            invoice_followup_days: row.invoice_followup_days,
            version: row.version,
            updated_at: row.updated_at,
        })
    }
}

pub async fn settings(
    conn: &mut PgConnection,
    lock: bool,
) -> Result<Option<Settings>, sqlx::Error> {
    let row = if lock {
        sqlx::query_as!(
            SettingsRow,
            r#"SELECT name, address AS "address: Json<Address>", phone, email, website, logo_key, brand_color, time_zone, currency AS "currency!: String",
                      locale, payment_terms, quote_validity_days, quote_prefix, next_quote_number, job_prefix, next_job_number,
                      invoice_prefix, next_invoice_number, show_prices_to_technicians,
                      visit_reminders, visit_reminder_hours_before, invoice_followups, invoice_followup_days, version, updated_at
               FROM accounts FOR UPDATE"#
        )
        .fetch_optional(conn)
        .await?
    } else {
        sqlx::query_as!(
            SettingsRow,
            r#"SELECT name, address AS "address: Json<Address>", phone, email, website, logo_key, brand_color, time_zone, currency AS "currency!: String",
                      locale, payment_terms, quote_validity_days, quote_prefix, next_quote_number, job_prefix, next_job_number,
                      invoice_prefix, next_invoice_number, show_prices_to_technicians,
                      visit_reminders, visit_reminder_hours_before, invoice_followups, invoice_followup_days, version, updated_at
               FROM accounts"#
        )
        .fetch_optional(conn)
        .await?
    };
    row.map(Settings::try_from).transpose()
}

/// Point the current account's logo at a stored file, or at none.
pub async fn set_logo_key(
    conn: &mut PgConnection,
    key: Option<&str>,
) -> Result<Settings, sqlx::Error> {
    sqlx::query_as!(
        SettingsRow,
        r#"UPDATE accounts SET logo_key = $1, version = version + 1
           RETURNING name, address AS "address: Json<Address>", phone, email, website, logo_key, brand_color, time_zone, currency AS "currency!: String",
                     locale, payment_terms, quote_validity_days, quote_prefix, next_quote_number, job_prefix, next_job_number,
                     invoice_prefix, next_invoice_number, show_prices_to_technicians,
                     visit_reminders, visit_reminder_hours_before, invoice_followups, invoice_followup_days, version, updated_at"#,
        key
    )
    .fetch_one(conn)
    .await?
    .try_into()
}

/// Write every editable setting of the current account.
pub async fn update_settings(
    conn: &mut PgConnection,
    s: &Settings,
) -> Result<Settings, sqlx::Error> {
    sqlx::query_as!(
        SettingsRow,
        r#"UPDATE accounts SET name = $1, address = $2, phone = $3, email = $4, website = $5, time_zone = $6, currency = $7,
                  locale = $8, payment_terms = $9, quote_validity_days = $10, quote_prefix = $11, next_quote_number = $12,
                  job_prefix = $13, next_job_number = $14, invoice_prefix = $15, next_invoice_number = $16,
                  show_prices_to_technicians = $17, visit_reminders = $18, visit_reminder_hours_before = $19,
                  invoice_followups = $20, invoice_followup_days = $21, brand_color = $22, version = version + 1
           RETURNING name, address AS "address: Json<Address>", phone, email, website, logo_key, brand_color, time_zone, currency AS "currency!: String",
                     locale, payment_terms, quote_validity_days, quote_prefix, next_quote_number, job_prefix, next_job_number,
                     invoice_prefix, next_invoice_number, show_prices_to_technicians,
                      visit_reminders, visit_reminder_hours_before, invoice_followups, invoice_followup_days, version, updated_at"#,
        s.business_name,
        Json(&s.address) as _,
        s.phone,
        s.email,
        s.website,
        s.time_zone,
        s.currency,
        s.locale,
        s.payment_terms.as_str(),
        s.quote_validity_days,
        s.quote_prefix,
        s.next_quote_number,
        s.job_prefix,
        s.next_job_number,
        s.invoice_prefix,
        s.next_invoice_number,
        s.show_prices_to_technicians,
        s.visit_reminders,
        s.visit_reminder_hours_before,
        s.invoice_followups,
        &s.invoice_followup_days,
        s.brand_color
    )
    .fetch_one(conn)
    .await?
    .try_into()
}

pub use super::model::Sequence;

/// Take the next number of a sequence. The account row stays locked until the
/// transaction ends, so numbers are gapless: a rolled-back document gives its number
/// back.
pub async fn next_number(
    conn: &mut PgConnection,
    sequence: Sequence,
) -> Result<(String, i64), sqlx::Error> {
    let row = match sequence {
        Sequence::Quote => {
            sqlx::query!(r#"UPDATE accounts SET next_quote_number = next_quote_number + 1 RETURNING quote_prefix AS prefix, next_quote_number - 1 AS "number!""#)
                .fetch_one(conn)
                .await
                .map(|r| (r.prefix, r.number))?
        }
        Sequence::Job => {
            sqlx::query!(r#"UPDATE accounts SET next_job_number = next_job_number + 1 RETURNING job_prefix AS prefix, next_job_number - 1 AS "number!""#)
                .fetch_one(conn)
                .await
                .map(|r| (r.prefix, r.number))?
        }
        Sequence::Invoice => {
            sqlx::query!(
                r#"UPDATE accounts SET next_invoice_number = next_invoice_number + 1 RETURNING invoice_prefix AS prefix, next_invoice_number - 1 AS "number!""#
            )
            .fetch_one(conn)
            .await
            .map(|r| (r.prefix, r.number))?
        }
    };
    Ok(row)
}

/// A `tax_rates` row; `rate_bps` is only written (the rate rounded, for the
/// deprecated API field), `rate_ppm` is the rate.
struct TaxRateRow {
    id: Uuid,
    name: String,
    rate_ppm: i32,
    is_default: bool,
    active: bool,
    version: i32,
    created_at: chrono::DateTime<chrono::Utc>,
    updated_at: chrono::DateTime<chrono::Utc>,
}

impl TryFrom<TaxRateRow> for TaxRate {
    type Error = sqlx::Error;
    fn try_from(row: TaxRateRow) -> Result<Self, Self::Error> {
        // The table's CHECK keeps rate_ppm in range; a row outside it is corrupt.
        let rate = Rate::from_ppm(i64::from(row.rate_ppm)).ok_or_else(|| {
            sqlx::Error::Decode(format!("tax_rates.rate_ppm {} out of range", row.rate_ppm).into())
        })?;
        Ok(TaxRate {
            id: row.id,
            name: row.name,
            rate,
            rate_bps: rate.bps_rounded(),
            is_default: row.is_default,
            active: row.active,
            version: row.version,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

pub async fn list_tax_rates(conn: &mut PgConnection) -> Result<Vec<TaxRate>, sqlx::Error> {
    sqlx::query_as!(TaxRateRow, "SELECT id, name, rate_ppm, is_default, active, version, created_at, updated_at FROM tax_rates ORDER BY id")
        .fetch_all(conn)
        .await?
        .into_iter()
        .map(TaxRate::try_from)
        .collect()
}

pub async fn get_tax_rate(
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<Option<TaxRate>, sqlx::Error> {
    sqlx::query_as!(TaxRateRow, "SELECT id, name, rate_ppm, is_default, active, version, created_at, updated_at FROM tax_rates WHERE id = $1 FOR UPDATE", id)
        .fetch_optional(conn)
        .await?
        .map(TaxRate::try_from)
        .transpose()
}

/// The `rate_ppm` and `rate_bps` columns of `rate` (a `Rate` is at most 10^6).
fn rate_columns(rate: Rate) -> (i32, i32) {
    (
        i32::try_from(rate.ppm()).unwrap_or(i32::MAX),
        rate.bps_rounded(),
    )
}

pub async fn insert_tax_rate(
    conn: &mut PgConnection,
    account_id: Uuid,
    id: Uuid,
    name: &str,
    rate: Rate,
    is_default: bool,
    active: bool,
) -> Result<TaxRate, sqlx::Error> {
    let (rate_ppm, rate_bps) = rate_columns(rate);
    sqlx::query_as!(
        TaxRateRow,
        "INSERT INTO tax_rates (account_id, id, name, rate_ppm, rate_bps, is_default, active) VALUES ($1, $2, $3, $4, $5, $6, $7)
         RETURNING id, name, rate_ppm, is_default, active, version, created_at, updated_at",
        account_id,
        id,
        name,
        rate_ppm,
        rate_bps,
        is_default,
        active
    )
    .fetch_one(conn)
    .await?
    .try_into()
}

pub async fn update_tax_rate(
    conn: &mut PgConnection,
    id: Uuid,
    name: &str,
    rate: Rate,
    is_default: bool,
    active: bool,
) -> Result<TaxRate, sqlx::Error> {
    let (rate_ppm, rate_bps) = rate_columns(rate);
    sqlx::query_as!(
        TaxRateRow,
        "UPDATE tax_rates SET name = $2, rate_ppm = $3, rate_bps = $4, is_default = $5, active = $6, version = version + 1 WHERE id = $1
         RETURNING id, name, rate_ppm, is_default, active, version, created_at, updated_at",
        id,
        name,
        rate_ppm,
        rate_bps,
        is_default,
        active
    )
    .fetch_one(conn)
    .await?
    .try_into()
}

pub async fn delete_tax_rate(conn: &mut PgConnection, id: Uuid) -> Result<u64, sqlx::Error> {
    sqlx::query!("DELETE FROM tax_rates WHERE id = $1", id)
        .execute(conn)
        .await
        .map(|r| r.rows_affected())
}

/// Every account's id, for scheduled work across accounts (the runner's connection;
/// see migration `runner_reads_accounts`).
pub async fn all_ids(pool: &sqlx::PgPool) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar!("SELECT id FROM accounts ORDER BY id")
        .fetch_all(pool)
        .await
}

/// Whether the account has a quote, a job or an invoice: their amounts carry its
/// currency. One read-only existence query across those modules' tables, so that
/// settings (below them) need not call them (docs/design.md, "Layers").
pub async fn priced_documents_exist(conn: &mut PgConnection) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar::<_, bool>(
        "SELECT EXISTS (SELECT 1 FROM quotes) OR EXISTS (SELECT 1 FROM jobs) \
         OR EXISTS (SELECT 1 FROM invoices)",
    )
    .fetch_one(conn)
    .await
}
