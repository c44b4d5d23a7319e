//! Report queries. Read-only; each runs inside the caller's tenant transaction.

use chrono::{DateTime, NaiveDate, Utc};
use futures_util::stream::BoxStream;
use sqlx::PgConnection;
use uuid::Uuid;

/// A sum of amounts, computed in `numeric` and read through its text: one
/// document's amounts fit in `i64` (`money::MAX_AMOUNT`), the sum of an account's
/// documents need not (nor do old documents from before that maximum), and
/// `i128` holds any sum PostgreSQL can store rows for.
fn sum(text: String) -> Result<i128, sqlx::Error> {
    text.parse::<i128>()
        .map_err(|e| sqlx::Error::Decode(format!("sum {text:?} is not an integer: {e}").into()))
}

pub struct Counts {
    pub todays_visits: i64,
    pub visits_to_invoice: i64,
    pub jobs_to_invoice: i64,
    pub overdue_invoices: i64,
    pub overdue_amount: i128,
    pub receivables: i128,
    pub quotes_awaiting: i64,
}

/// Dashboard counters on the account's local day `today`, from the aggregates.
pub async fn counts(conn: &mut PgConnection, today: NaiveDate) -> Result<Counts, sqlx::Error> {
    let row: (i64, i64, i64, i64, String, String, i64) = sqlx::query_as(
        "SELECT coalesce((SELECT visits FROM report_visit_days WHERE day = $1), 0),
                coalesce((SELECT visits_to_invoice FROM report_counters), 0),
                coalesce((SELECT jobs_to_invoice FROM report_counters), 0),
                (SELECT coalesce(sum(invoices), 0)::bigint FROM report_open_invoices WHERE due_date < $1),
                (SELECT coalesce(sum(balance), 0)::text FROM report_open_invoices WHERE due_date < $1),
                (SELECT coalesce(sum(balance), 0)::text FROM report_open_invoices),
                (SELECT count(*) FROM quotes q WHERE q.status IN ('sent', 'changes_requested'))",
    )
    .bind(today)
    .fetch_one(conn)
    .await?;
    Ok(Counts {
        todays_visits: row.0,
        visits_to_invoice: row.1,
        jobs_to_invoice: row.2,
        overdue_invoices: row.3,
        overdue_amount: sum(row.4)?,
        receivables: sum(row.5)?,
        quotes_awaiting: row.6,
    })
}

/// Money collected (payments less refunds) on local days in `[from, to]`, from the
/// aggregates.
pub async fn collected(
    conn: &mut PgConnection,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<i128, sqlx::Error> {
    sqlx::query_scalar::<_, String>(
        "SELECT coalesce(sum(collected), 0)::text FROM report_payment_days WHERE day BETWEEN $1 AND $2",
    )
    .bind(from)
    .bind(to)
    .fetch_one(conn)
    .await
    .and_then(sum)
}

/// Jobs created on local days in `[from, to]` by status, from the aggregates.
pub async fn jobs_by_status(
    conn: &mut PgConnection,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<(String, i64)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT status, sum(jobs)::bigint FROM report_job_days WHERE day BETWEEN $1 AND $2
         GROUP BY status HAVING sum(jobs) <> 0 ORDER BY status",
    )
    .bind(from)
    .bind(to)
    .fetch_all(conn)
    .await
}

/// Mean total of the jobs (cancelled excluded) created on local days in `[from,
/// to]`, rounded half away from zero as `round(avg(total))` does.
pub async fn average_job_value(
    conn: &mut PgConnection,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT coalesce(round(sum(total) / nullif(sum(jobs), 0)), 0)::bigint FROM report_job_days
         WHERE status <> 'cancelled' AND day BETWEEN $1 AND $2",
    )
    .bind(from)
    .bind(to)
    .fetch_one(conn)
    .await
}

/// Visits completed on local days in `[from, to]` per assignee, from the aggregates.
pub async fn completed_per_technician(
    conn: &mut PgConnection,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<TechnicianRow>, sqlx::Error> {
    let rows: Vec<(Uuid, String, i64)> = sqlx::query_as(
        "SELECT u.id, u.name, sum(t.completed)::bigint
         FROM report_technician_days t JOIN users u ON u.account_id = t.account_id AND u.id = t.user_id
         WHERE t.day BETWEEN $1 AND $2
         GROUP BY u.id, u.name HAVING sum(t.completed) <> 0 ORDER BY 3 DESC, u.name",
    )
    .bind(from)
    .bind(to)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(user_id, name, completed_visits)| TechnicianRow {
            user_id,
            name,
            completed_visits,
        })
        .collect())
}

/// Recompute the account's aggregates from the base tables (in its tenant
/// transaction; waits for the account's writes in flight, and they for it).
pub async fn rebuild_aggregates(
    conn: &mut PgConnection,
    account_id: Uuid,
) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT report_aggregates_rebuild($1)")
        .bind(account_id)
        .execute(conn)
        .await
        .map(drop)
}

/// Of the quotes sent since `since`, how many were sent and how many were won.
pub async fn quote_conversion(
    conn: &mut PgConnection,
    since: chrono::DateTime<chrono::Utc>,
) -> Result<(i64, i64), sqlx::Error> {
    let row = sqlx::query!(
        r#"SELECT count(*) AS "sent!", count(*) FILTER (WHERE status IN ('approved', 'converted')) AS "won!"
           FROM quotes WHERE sent_at >= $1"#,
        since
    )
    .fetch_one(conn)
    .await?;
    Ok((row.sent, row.won))
}

pub struct RevenueRow {
    pub period: NaiveDate,
    pub invoiced: i128,
    pub collected: i128,
}

/// Invoiced (issued, not void) by issue date and collected by payment date, per
/// `day`, `week` (ISO, from Monday) or `month`, in the account's zone.
pub async fn revenue(
    conn: &mut PgConnection,
    tz: &str,
    unit: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<RevenueRow>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"WITH invoiced AS (
               SELECT date_trunc($2, issue_date::timestamp)::date AS period, sum(total) AS amount
               FROM invoices WHERE status NOT IN ('draft', 'void') AND issue_date BETWEEN $3 AND $4 GROUP BY 1
           ), collected AS (
               SELECT date_trunc($2, paid_at AT TIME ZONE $1)::date AS period, sum(amount::numeric - refunded) AS amount
               FROM payments WHERE status IN ('succeeded', 'partially_refunded', 'refunded')
                 AND (paid_at AT TIME ZONE $1)::date BETWEEN $3 AND $4 GROUP BY 1
           ), periods AS (
               SELECT generate_series(date_trunc($2, $3::date::timestamp), $4::date::timestamp, ('1 ' || $2)::interval)::date AS period
           )
           SELECT p.period AS "period!", coalesce(i.amount, 0)::text AS "invoiced!", coalesce(c.amount, 0)::text AS "collected!"
           FROM periods p LEFT JOIN invoiced i USING (period) LEFT JOIN collected c USING (period)
           ORDER BY p.period"#,
        tz,
        unit,
        from,
        to
    )
    .fetch_all(conn)
    .await?;
    rows.into_iter()
        .map(|r| {
            Ok(RevenueRow {
                period: r.period,
                invoiced: sum(r.invoiced)?,
                collected: sum(r.collected)?,
            })
        })
        .collect()
}

pub struct TechnicianRow {
    pub user_id: Uuid,
    pub name: String,
    pub completed_visits: i64,
}

/// The reports' figures computed from the base tables, as they were before the
/// aggregates: what `report_aggregates_rebuild` and the property test check the
/// aggregate readers against (`tests/api/aggregates.rs`). Each scans every row it
/// counts (up to a million visits at scale 100): never on a request path.
pub mod full_scan {
    use chrono::NaiveDate;
    use sqlx::PgConnection;

    use super::{Counts, TechnicianRow, sum};

    /// Dashboard counters; `today` is the account's local date, and
    /// `[day_start, day_end)` today's instants (a visit lasts at most 25 hours, which
    /// bounds the index range searched for today's visits).
    pub async fn counts(
        conn: &mut PgConnection,
        today: NaiveDate,
        day_start: chrono::DateTime<chrono::Utc>,
        day_end: chrono::DateTime<chrono::Utc>,
    ) -> Result<Counts, sqlx::Error> {
        let row = sqlx::query!(
        r#"SELECT
             (SELECT count(*) FROM visits v
               WHERE v.status <> 'cancelled' AND v.starts_at < $3::timestamptz AND v.starts_at > $2::timestamptz - interval '25 hours' AND v.ends_at > $2) AS "todays_visits!",
             (SELECT count(*) FROM visits v JOIN jobs j ON j.account_id = v.account_id AND j.id = v.job_id
               WHERE v.status = 'completed' AND v.invoice_id IS NULL AND j.billing = 'per_visit') AS "visits_to_invoice!",
             (SELECT count(*) FROM jobs j WHERE j.status = 'completed' AND j.billing = 'on_completion' AND j.invoice_id IS NULL) AS "jobs_to_invoice!",
             (SELECT count(*) FROM invoices i WHERE i.status IN ('sent', 'partially_paid') AND i.due_date < $1) AS "overdue_invoices!",
             (SELECT coalesce(sum(i.total::numeric - i.amount_paid + i.amount_refunded), 0)::text FROM invoices i
               WHERE i.status IN ('sent', 'partially_paid') AND i.due_date < $1) AS "overdue_amount!",
             (SELECT coalesce(sum(i.total::numeric - i.amount_paid + i.amount_refunded), 0)::text FROM invoices i
               WHERE i.status IN ('sent', 'partially_paid')) AS "receivables!",
             (SELECT count(*) FROM quotes q WHERE q.status IN ('sent', 'changes_requested')) AS "quotes_awaiting!""#,
        today,
        day_start,
        day_end
    )
    .fetch_one(conn)
    .await?;
        Ok(Counts {
            todays_visits: row.todays_visits,
            visits_to_invoice: row.visits_to_invoice,
            jobs_to_invoice: row.jobs_to_invoice,
            overdue_invoices: row.overdue_invoices,
            overdue_amount: sum(row.overdue_amount)?,
            receivables: sum(row.receivables)?,
            quotes_awaiting: row.quotes_awaiting,
        })
    }

    /// Money collected (payments less refunds) with `paid_at` on local days in `[from, to]`.
    pub async fn collected(
        conn: &mut PgConnection,
        tz: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<i128, sqlx::Error> {
        sqlx::query_scalar!(
        r#"SELECT coalesce(sum(amount::numeric - refunded), 0)::text AS "sum!" FROM payments
           WHERE status IN ('succeeded', 'partially_refunded', 'refunded') AND (paid_at AT TIME ZONE $1)::date BETWEEN $2 AND $3"#,
        tz,
        from,
        to
    )
    .fetch_one(conn)
    .await
    .and_then(sum)
    }

    pub async fn jobs_by_status(
        conn: &mut PgConnection,
        from: chrono::DateTime<chrono::Utc>,
        to: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<(String, i64)>, sqlx::Error> {
        let rows = sqlx::query!(
        r#"SELECT status, count(*) AS "count!" FROM jobs WHERE created_at >= $1 AND created_at < $2 GROUP BY status ORDER BY status"#,
        from,
        to
    )
    .fetch_all(conn)
    .await?;
        Ok(rows.into_iter().map(|r| (r.status, r.count)).collect())
    }

    pub async fn average_job_value(
        conn: &mut PgConnection,
        from: chrono::DateTime<chrono::Utc>,
        to: chrono::DateTime<chrono::Utc>,
    ) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar!(
        r#"SELECT coalesce(round(avg(total)), 0)::bigint AS "avg!" FROM jobs WHERE status <> 'cancelled' AND created_at >= $1 AND created_at < $2"#,
        from,
        to
    )
    .fetch_one(conn)
    .await
    }

    pub async fn completed_per_technician(
        conn: &mut PgConnection,
        from: chrono::DateTime<chrono::Utc>,
        to: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<TechnicianRow>, sqlx::Error> {
        sqlx::query_as!(
            TechnicianRow,
            r#"SELECT u.id AS user_id, u.name, count(*) AS "completed_visits!"
           FROM visits v
           JOIN visit_assignees a ON a.account_id = v.account_id AND a.visit_id = v.id
           JOIN users u ON u.account_id = a.account_id AND u.id = a.user_id
           WHERE v.status = 'completed' AND v.completed_at >= $1 AND v.completed_at < $2
           GROUP BY u.id, u.name ORDER BY 3 DESC, u.name"#,
            from,
            to
        )
        .fetch_all(conn)
        .await
    }
}

pub struct AgingRow {
    pub current: i128,
    pub days_0_30: i128,
    pub days_31_60: i128,
    pub days_61_90: i128,
    pub days_over_90: i128,
    pub invoices: i64,
}

/// Open balances by days past due on `today`.
pub async fn aging(conn: &mut PgConnection, today: NaiveDate) -> Result<AgingRow, sqlx::Error> {
    let row = sqlx::query!(
        r#"WITH open AS (
               SELECT total::numeric - amount_paid + amount_refunded AS balance, $1::date - due_date AS late
               FROM invoices WHERE status IN ('sent', 'partially_paid')
           )
           SELECT coalesce(sum(balance) FILTER (WHERE late < 0), 0)::text AS "current!",
                  coalesce(sum(balance) FILTER (WHERE late BETWEEN 0 AND 30), 0)::text AS "days_0_30!",
                  coalesce(sum(balance) FILTER (WHERE late BETWEEN 31 AND 60), 0)::text AS "days_31_60!",
                  coalesce(sum(balance) FILTER (WHERE late BETWEEN 61 AND 90), 0)::text AS "days_61_90!",
                  coalesce(sum(balance) FILTER (WHERE late > 90), 0)::text AS "days_over_90!",
                  count(*) AS "invoices!"
           FROM open"#,
        today
    )
    .fetch_one(conn)
    .await?;
    Ok(AgingRow {
        current: sum(row.current)?,
        days_0_30: sum(row.days_0_30)?,
        days_31_60: sum(row.days_31_60)?,
        days_61_90: sum(row.days_61_90)?,
        days_over_90: sum(row.days_over_90)?,
        invoices: row.invoices,
    })
}

/// A `report_exports` row.
pub struct ExportRow {
    pub id: Uuid,
    pub kind: String,
    pub from_date: Option<NaiveDate>,
    pub to_date: Option<NaiveDate>,
    pub status: String,
    pub row_count: Option<i64>,
    pub bytes: Option<i64>,
    pub storage_key: Option<String>,
    pub error: Option<String>,
    pub requested_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub expires_at: DateTime<Utc>,
}

pub async fn insert_export(
    conn: &mut PgConnection,
    account_id: Uuid,
    id: Uuid,
    kind: &str,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    requested_by: Uuid,
) -> Result<ExportRow, sqlx::Error> {
    sqlx::query_as!(
        ExportRow,
        "INSERT INTO report_exports (account_id, id, kind, from_date, to_date, requested_by)
         VALUES ($1, $2, $3, $4, $5, $6)
         RETURNING id, kind, from_date, to_date, status, row_count, bytes, storage_key, error,
                   requested_by, created_at, finished_at, expires_at",
        account_id,
        id,
        kind,
        from,
        to,
        requested_by
    )
    .fetch_one(conn)
    .await
}

pub async fn export(conn: &mut PgConnection, id: Uuid) -> Result<Option<ExportRow>, sqlx::Error> {
    sqlx::query_as!(
        ExportRow,
        "SELECT id, kind, from_date, to_date, status, row_count, bytes, storage_key, error,
                requested_by, created_at, finished_at, expires_at
         FROM report_exports WHERE id = $1 AND expires_at > now()",
        id
    )
    .fetch_optional(conn)
    .await
}

/// The exports not yet expired, newest first (at most 100).
pub async fn exports(conn: &mut PgConnection) -> Result<Vec<ExportRow>, sqlx::Error> {
    sqlx::query_as!(
        ExportRow,
        "SELECT id, kind, from_date, to_date, status, row_count, bytes, storage_key, error,
                requested_by, created_at, finished_at, expires_at
         FROM report_exports WHERE expires_at > now() ORDER BY id DESC LIMIT 100"
    )
    .fetch_all(conn)
    .await
}

/// An export not yet written (pending, or failed and retried), locked.
pub async fn pending_export_for_update(
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<Option<ExportRow>, sqlx::Error> {
    sqlx::query_as!(
        ExportRow,
        "SELECT id, kind, from_date, to_date, status, row_count, bytes, storage_key, error,
                requested_by, created_at, finished_at, expires_at
         FROM report_exports WHERE id = $1 AND status <> 'ready' FOR UPDATE",
        id
    )
    .fetch_optional(conn)
    .await
}

pub async fn finish_export(
    conn: &mut PgConnection,
    id: Uuid,
    key: &str,
    rows: i64,
    bytes: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE report_exports SET status = 'ready', storage_key = $2, row_count = $3, bytes = $4, error = NULL, finished_at = now()
         WHERE id = $1",
        id,
        key,
        rows,
        bytes
    )
    .execute(conn)
    .await
    .map(drop)
}

/// Mark an export failed for good (the job is dead).
pub async fn fail_export(
    conn: &mut PgConnection,
    id: Uuid,
    error: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE report_exports SET status = 'failed', error = $2, finished_at = now()
         WHERE id = $1 AND status = 'pending'",
        id,
        error
    )
    .execute(conn)
    .await
    .map(drop)
}

/// Delete up to 1000 expired exports, across accounts; returns their file keys.
pub async fn purge_expired_exports(pool: &sqlx::PgPool) -> Result<Vec<String>, sqlx::Error> {
    let rows = sqlx::query!(
        "DELETE FROM report_exports WHERE (account_id, id) IN (
             SELECT account_id, id FROM report_exports WHERE expires_at < now() LIMIT 1000)
         RETURNING storage_key"
    )
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().filter_map(|r| r.storage_key).collect())
}

pub struct InvoiceLine {
    pub number: String,
    pub issue_date: NaiveDate,
    pub due_date: Option<NaiveDate>,
    pub status: String,
    pub client: String,
    pub title: String,
    pub subtotal: i64,
    pub discount_total: i64,
    pub tax_total: i64,
    pub total: i64,
    pub amount_paid: i64,
    pub amount_refunded: i64,
}

/// Issued invoices with an issue date in `[from, to]`, in date order, as they come.
pub fn export_invoices(
    conn: &mut PgConnection,
    from: NaiveDate,
    to: NaiveDate,
) -> BoxStream<'_, Result<InvoiceLine, sqlx::Error>> {
    sqlx::query_as!(
        InvoiceLine,
        r#"SELECT i.number AS "number!", i.issue_date AS "issue_date!", i.due_date, i.status,
                  coalesce(nullif(concat_ws(' ', c.first_name, c.last_name), ''), c.company_name, '') AS "client!",
                  i.title, i.subtotal, i.discount_total, i.tax_total, i.total, i.amount_paid, i.amount_refunded
           FROM invoices i JOIN clients c ON c.account_id = i.account_id AND c.id = i.client_id
           WHERE i.number IS NOT NULL AND i.issue_date BETWEEN $1 AND $2
           ORDER BY i.issue_date, i.id"#,
        from,
        to
    )
    .fetch(conn)
}

pub struct PaymentLine {
    pub paid_on: NaiveDate,
    pub invoice: Option<String>,
    pub client: String,
    pub method: String,
    pub status: String,
    pub amount: i64,
    pub tip: i64,
    pub fee: i64,
    pub refunded: i64,
    pub reference: Option<String>,
}

/// Payments (not pending or failed) received on a local day in `[from, to]`, as
/// they come.
pub fn export_payments<'a>(
    conn: &'a mut PgConnection,
    zone: &'a str,
    from: NaiveDate,
    to: NaiveDate,
) -> BoxStream<'a, Result<PaymentLine, sqlx::Error>> {
    sqlx::query_as!(
        PaymentLine,
        r#"SELECT (p.paid_at AT TIME ZONE $1)::date AS "paid_on!", i.number AS invoice,
                  coalesce(nullif(concat_ws(' ', c.first_name, c.last_name), ''), c.company_name, '') AS "client!",
                  p.method, p.status, p.amount, p.tip, p.fee, p.refunded, p.reference
           FROM payments p
           JOIN invoices i ON i.account_id = p.account_id AND i.id = p.invoice_id
           JOIN clients c ON c.account_id = p.account_id AND c.id = p.client_id
           WHERE p.status NOT IN ('pending', 'failed')
             AND p.paid_at >= ($2::date)::timestamp AT TIME ZONE $1
             AND p.paid_at < ($3::date + 1)::timestamp AT TIME ZONE $1
           ORDER BY p.paid_at, p.id"#,
        zone,
        from,
        to
    )
    .fetch(conn)
}

pub struct ClientLine {
    pub name: String,
    pub company: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub street: Option<String>,
    pub city: Option<String>,
    pub region: Option<String>,
    pub postal_code: Option<String>,
    pub country: Option<String>,
    pub status: String,
    pub tags: Vec<String>,
    pub created_on: NaiveDate,
}

/// Every client, oldest first, with the primary (else first) email and phone, as
/// they come.
pub fn export_clients<'a>(
    conn: &'a mut PgConnection,
    zone: &'a str,
) -> BoxStream<'a, Result<ClientLine, sqlx::Error>> {
    sqlx::query_as!(
        ClientLine,
        r#"SELECT coalesce(nullif(concat_ws(' ', c.first_name, c.last_name), ''), c.company_name, '') AS "name!",
                  c.company_name AS company,
                  (SELECT e->>'address' FROM jsonb_array_elements(c.emails) WITH ORDINALITY AS x(e, n)
                   ORDER BY (e->>'primary')::boolean DESC, n LIMIT 1) AS email,
                  (SELECT e->>'number' FROM jsonb_array_elements(c.phones) WITH ORDINALITY AS x(e, n)
                   ORDER BY (e->>'primary')::boolean DESC, n LIMIT 1) AS phone,
                  nullif(concat_ws(', ', c.billing_address->>'street1', c.billing_address->>'street2'), '') AS street,
                  c.billing_address->>'city' AS city, c.billing_address->>'region' AS region,
                  c.billing_address->>'postal_code' AS postal_code, c.billing_address->>'country' AS country,
                  c.status, c.tags, (c.created_at AT TIME ZONE $1)::date AS "created_on!"
           FROM clients c ORDER BY c.id"#,
        zone
    )
    .fetch(conn)
}
