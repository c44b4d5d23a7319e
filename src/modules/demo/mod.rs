//! Demo data at scale: `jobber admin seed-demo --scale N` fills an account with
//! realistic clients, properties, catalog items, technicians, jobs with visits,
//! quotes, invoices and payments. Scale 1 is 1,000 clients, 500 jobs, 10,000 visits,
//! 200 quotes and 2,000 invoices; scale 100 is the size the list and report queries
//! are built for (100k clients, 1M visits, 200k invoices). Technicians grow with the
//! clients, one per 150 (at least 3: 6 at scale 1, 666 at scale 100), so that a
//! technician's week holds what one person does in a week (about 20 visits at
//! scale 100), not a third of the account's.
//!
//! This is the one place that writes several modules' tables directly: going through
//! each service row by row would take hours at scale 100, while set-based
//! `INSERT … SELECT` over arrays of ids takes seconds. It runs in one tenant
//! transaction, so row-level security and every constraint still apply, and it is
//! meant for demo and benchmark accounts only (the CLI refuses an account that already
//! has clients unless told otherwise).

use serde::Serialize;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::error::Error;
use crate::modules::users::model::{NewUser, Role};
use crate::platform::database::Db;

const CLIENTS: usize = 1_000;
const JOBS: usize = 500;
const VISITS_PER_JOB: usize = 20;
const QUOTES: usize = 200;
const INVOICES: usize = 2_000;
/// Technicians: one per this many clients, and at least [`MIN_TECHNICIANS`].
const CLIENTS_PER_TECHNICIAN: usize = 150;
const MIN_TECHNICIANS: usize = 3;
/// Rows per statement for the big tables.
const BATCH: usize = 50_000;

#[derive(Debug, Default, Serialize)]
pub struct Seeded {
    pub clients: usize,
    pub properties: usize,
    pub catalog_items: usize,
    pub technicians: usize,
    pub jobs: usize,
    pub visits: usize,
    pub quotes: usize,
    pub invoices: usize,
}

/// How many technicians an account of `clients` clients gets.
fn technicians(clients: usize) -> usize {
    (clients / CLIENTS_PER_TECHNICIAN).max(MIN_TECHNICIANS)
}

/// The `i`th technician's name: "Tess Tran", "Omar Diaz", "Kim Lee", … (a hundred
/// combinations, repeated beyond).
fn technician_name(i: usize) -> String {
    const FIRST: [&str; 10] = [
        "Tess", "Omar", "Kim", "Ravi", "Ana", "Joe", "Mia", "Luis", "Zoe", "Sam",
    ];
    const LAST: [&str; 10] = [
        "Tran", "Diaz", "Lee", "Patel", "Silva", "Novak", "Okafor", "Berg", "Kaur", "Moreau",
    ];
    format!("{} {}", FIRST[i % 10], LAST[(i + i / 10) % 10])
}

fn ids(n: usize) -> Vec<Uuid> {
    (0..n).map(|_| Uuid::now_v7()).collect()
}

/// Whether the account already has clients (real data the demo would mix into).
pub async fn has_clients(db: &Db, account_id: Uuid) -> Result<bool, Error> {
    let mut tx = db.tenant(account_id).await?;
    let any: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM clients)")
        .fetch_one(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(any)
}

pub async fn seed(db: &Db, account_id: Uuid, scale: usize) -> Result<Seeded, Error> {
    let scale = scale.max(1);
    let mut tx = db.tenant(account_id).await?;
    let mut seeded = Seeded::default();

    // Technicians, through the users service (they can log in: password "demo-password").
    let hash = crate::modules::users::password::hash("demo-password".into()).await?;
    let mut techs = Vec::new();
    let wanted = technicians(CLIENTS * scale);
    for i in 0..wanted {
        let email = crate::domain::Email::parse(&format!(
            "tech{}-{}@demo.example",
            i + 1,
            account_id.simple()
        ))
        .map_err(|m| Error::internal(anyhow::anyhow!("demo email: {m}")))?;
        let user = NewUser {
            email,
            name: technician_name(i),
            role: Role::Technician,
            password_hash: Some(hash.clone()),
        };
        match crate::modules::users::service::insert_in(&mut tx, account_id, None, &user).await {
            Ok(user) => techs.push(user.id),
            // Seeding the same account again reuses its technicians.
            Err(e) if e.code == crate::error::ErrorCode::EmailTaken => {}
            Err(e) => return Err(e),
        }
    }
    if techs.is_empty() {
        techs = sqlx::query_scalar("SELECT id FROM users WHERE role = 'technician' ORDER BY id")
            .fetch_all(&mut *tx)
            .await?;
    }
    seeded.technicians = techs.len();

    let catalog = ids(30);
    sqlx::query(
        "INSERT INTO catalog_items (account_id, id, kind, name, unit_price, unit_cost, taxable)
         SELECT $1, id, CASE WHEN n % 4 = 0 THEN 'product' ELSE 'service' END,
                (ARRAY['Lawn mowing','Hedge trimming','Leaf cleanup','Gutter cleaning','Window washing','Deep clean','Drain unclog',
                       'Water heater flush','AC tune-up','Furnace check','Mulch bag','Filter'])[1 + (n - 1) % 12] || ' ' || n,
                1500 + (n * 997) % 20000, 500 + (n * 313) % 5000, n % 5 <> 0
         FROM unnest($2::uuid[]) WITH ORDINALITY AS t(id, n)",
    )
    .bind(account_id)
    .bind(&catalog)
    .execute(&mut *tx)
    .await?;
    seeded.catalog_items = catalog.len();

    let clients = ids(CLIENTS * scale);
    let properties = ids(clients.len());
    for (chunk, props) in clients.chunks(BATCH).zip(properties.chunks(BATCH)) {
        insert_clients(&mut tx, account_id, chunk, props).await?;
    }
    seeded.clients = clients.len();
    seeded.properties = properties.len();

    let numbers: (i64, i64, i64) = sqlx::query_as(
        "SELECT next_quote_number, next_job_number, next_invoice_number FROM accounts",
    )
    .fetch_one(&mut *tx)
    .await?;

    let jobs = ids(JOBS * scale);
    sqlx::query(
        "INSERT INTO jobs (account_id, id, number, client_id, property_id, title, status, billing, total, created_at)
         SELECT $1, t.id, 'J-' || ($4 + n - 1), c.client_id, c.property_id,
                (ARRAY['Weekly lawn care','Spring cleanup','Gutter service','Deep clean','HVAC maintenance','Plumbing repair'])[1 + (n - 1) % 6],
                CASE WHEN n % 10 = 0 THEN 'completed' WHEN n % 29 = 0 THEN 'cancelled' ELSE 'active' END,
                CASE WHEN n % 2 = 0 THEN 'per_visit' ELSE 'on_completion' END,
                4500 + (n * 53) % 30000, now() - ((n * 7) % 365) * interval '1 day'
         FROM unnest($2::uuid[]) WITH ORDINALITY AS t(id, n)
         JOIN unnest($3::uuid[], $5::uuid[]) WITH ORDINALITY AS c(client_id, property_id, k) ON c.k = 1 + ((n - 1) * 2) % cardinality($3::uuid[])",
    )
    .bind(account_id)
    .bind(&jobs)
    .bind(&clients)
    .bind(numbers.1)
    .bind(&properties)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO job_lines (account_id, id, job_id, position, name, quantity_hundredths, unit_price, taxable, line_total)
         SELECT $1, gen_random_uuid(), id, 0, 'Service', 100, total, true, total FROM jobs WHERE id = ANY($2)",
    )
    .bind(account_id)
    .bind(&jobs)
    .execute(&mut *tx)
    .await?;
    seeded.jobs = jobs.len();
    analyze(&mut tx, "jobs").await?;

    // Visits over the past year and the next three months, 08:00-16:00 UTC, assigned
    // round-robin; past ones completed (one in ten cancelled), future ones scheduled.
    let visits = ids(jobs.len() * VISITS_PER_JOB);
    for (index, chunk) in visits.chunks(BATCH).enumerate() {
        let offset = i64::try_from(index * BATCH).unwrap_or(0);
        sqlx::query(
            "WITH v AS (
                 SELECT t.id, $4 + n AS n,
                        date_trunc('day', now()) - interval '365 days' + ((($4 + n) * 7919) % 455) * interval '1 day' + (8 + ($4 + n) % 9) * interval '1 hour' AS starts_at
                 FROM unnest($2::uuid[]) WITH ORDINALITY AS t(id, n)
             )
             INSERT INTO visits (account_id, id, job_id, starts_at, ends_at, status, completed_at)
             SELECT $1, v.id, ($3::uuid[])[1 + ((v.n - 1) / 20) % cardinality($3::uuid[])], v.starts_at, v.starts_at + interval '1 hour',
                    CASE WHEN v.starts_at > now() THEN 'scheduled' WHEN v.n % 10 = 0 THEN 'cancelled' ELSE 'completed' END,
                    CASE WHEN v.starts_at <= now() AND v.n % 10 <> 0 THEN v.starts_at + interval '1 hour' END
             FROM v",
        )
        .bind(account_id)
        .bind(chunk)
        .bind(&jobs)
        .bind(offset)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO visit_assignees (account_id, visit_id, user_id)
             SELECT $1, id, ($3::uuid[])[1 + (n - 1) % cardinality($3::uuid[])] FROM unnest($2::uuid[]) WITH ORDINALITY AS t(id, n)",
        )
        .bind(account_id)
        .bind(chunk)
        .bind(&techs)
        .execute(&mut *tx)
        .await?;
        if index == 0 {
            analyze(&mut tx, "visits, visit_assignees").await?;
        }
    }
    seeded.visits = visits.len();

    let quotes = ids(QUOTES * scale);
    sqlx::query(
        "INSERT INTO quotes (account_id, id, number, client_id, title, status, subtotal, total, valid_until, sent_at, approved_at, approved_by_name, created_at)
         SELECT $1, t.id, 'Q-' || ($4 + n - 1), ($3::uuid[])[1 + ((n - 1) * 5) % cardinality($3::uuid[])], 'Estimate ' || n,
                s.status, 10000 + (n * 131) % 90000, 10000 + (n * 131) % 90000, current_date + 30,
                CASE WHEN s.status <> 'draft' THEN now() - (n % 200) * interval '1 day' END,
                CASE WHEN s.status = 'approved' THEN now() - (n % 200) * interval '1 day' END,
                CASE WHEN s.status = 'approved' THEN 'Demo Client' END,
                now() - (n % 200) * interval '1 day'
         FROM unnest($2::uuid[]) WITH ORDINALITY AS t(id, n)
         CROSS JOIN LATERAL (SELECT (ARRAY['draft','sent','approved','declined','sent'])[1 + n % 5] AS status) s",
    )
    .bind(account_id)
    .bind(&quotes)
    .bind(&clients)
    .bind(numbers.0)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO quote_lines (account_id, id, quote_id, position, name, quantity_hundredths, unit_price, line_total)
         SELECT $1, gen_random_uuid(), id, 0, 'Estimated work', 100, total, total FROM quotes WHERE id = ANY($2)",
    )
    .bind(account_id)
    .bind(&quotes)
    .execute(&mut *tx)
    .await?;
    seeded.quotes = quotes.len();

    // Invoices issued over the past year, numbered without gaps; payments for what is paid.
    let invoices = ids(INVOICES * scale);
    for (index, chunk) in invoices.chunks(BATCH).enumerate() {
        let offset = i64::try_from(index * BATCH).unwrap_or(0);
        sqlx::query(
            "WITH i AS (SELECT t.id, $5 + n AS n FROM unnest($2::uuid[]) WITH ORDINALITY AS t(id, n))
             INSERT INTO invoices (account_id, id, number, client_id, title, status, payment_terms, issue_date, due_date,
                                   subtotal, total, amount_paid, sent_at, paid_at, created_at)
             SELECT $1, i.id, 'INV-' || ($4 + i.n - 1), ($3::uuid[])[1 + ((i.n - 1) * 3) % cardinality($3::uuid[])], 'Services',
                    s.status, 'net_30', current_date - (i.n % 365)::int, current_date - (i.n % 365)::int + 30,
                    5000 + (i.n * 37) % 50000, 5000 + (i.n * 37) % 50000,
                    CASE s.status WHEN 'paid' THEN 5000 + (i.n * 37) % 50000 WHEN 'partially_paid' THEN (5000 + (i.n * 37) % 50000) / 2 ELSE 0 END,
                    now() - (i.n % 365) * interval '1 day',
                    CASE WHEN s.status = 'paid' THEN now() - (i.n % 365) * interval '1 day' + interval '10 days' END,
                    now() - (i.n % 365) * interval '1 day'
             FROM i CROSS JOIN LATERAL (SELECT CASE i.n % 10 WHEN 0 THEN 'void' WHEN 1 THEN 'sent' WHEN 2 THEN 'sent' WHEN 3 THEN 'partially_paid' ELSE 'paid' END AS status) s",
        )
        .bind(account_id)
        .bind(chunk)
        .bind(&clients)
        .bind(numbers.2)
        .bind(offset)
        .execute(&mut *tx)
        .await?;
    }
    sqlx::query(
        "INSERT INTO invoice_lines (account_id, id, invoice_id, position, name, quantity_hundredths, unit_price, line_total)
         SELECT $1, gen_random_uuid(), id, 0, 'Services', 100, total, total FROM invoices WHERE id = ANY($2)",
    )
    .bind(account_id)
    .bind(&invoices)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO payments (account_id, id, invoice_id, client_id, method, amount, paid_at)
         SELECT $1, gen_random_uuid(), id, client_id, 'check', amount_paid, coalesce(paid_at, sent_at + interval '5 days')
         FROM invoices WHERE id = ANY($2) AND amount_paid > 0",
    )
    .bind(account_id)
    .bind(&invoices)
    .execute(&mut *tx)
    .await?;
    seeded.invoices = invoices.len();

    let (q, j, i) = (
        i64::try_from(quotes.len()).unwrap_or(0),
        i64::try_from(jobs.len()).unwrap_or(0),
        i64::try_from(invoices.len()).unwrap_or(0),
    );
    sqlx::query("UPDATE accounts SET next_quote_number = next_quote_number + $1, next_job_number = next_job_number + $2, next_invoice_number = next_invoice_number + $3")
        .bind(q)
        .bind(j)
        .bind(i)
        .execute(&mut *tx)
        .await?;
    // The next document numbers moved: running servers drop their cached settings.
    tx.raise(crate::platform::events::Event::SettingsUpdated {});
    tx.commit().await?;
    // Fresh bulk data has no planner statistics yet; gather them now rather than
    // waiting for autovacuum, so the first queries get good plans.
    sqlx::query("ANALYZE").execute(db.pool()).await?;
    Ok(seeded)
}

/// Planner statistics for tables this transaction just filled. The report
/// aggregates' triggers look rows up in them by key for each bulk statement; without
/// statistics PostgreSQL takes the fresh tables for empty and may pick any index of
/// them (or none), which turns each lookup into a scan. ANALYZE needs the owner, and
/// counts this transaction's own uncommitted rows.
async fn analyze(tx: &mut PgConnection, tables: &'static str) -> Result<(), sqlx::Error> {
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "RESET ROLE; ANALYZE {tables}; SET LOCAL ROLE {}",
        crate::platform::database::APP_ROLE
    )))
    .execute(&mut *tx)
    .await
    .map(drop)
}

async fn insert_clients(
    tx: &mut PgConnection,
    account_id: Uuid,
    clients: &[Uuid],
    properties: &[Uuid],
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "WITH c AS (
             SELECT t.id, n,
                    (ARRAY['Ann','Ben','Carla','Dev','Elena','Farid','Grace','Hiro','Ines','Jon','Kofi','Lena','Mateo','Nora','Omar','Priya','Quinn','Rosa','Sam','Tariq'])[1 + n % 20] AS first,
                    (ARRAY['Lee','Garcia','Smith','Nguyen','Patel','Kim','Brown','Jonsson','Rossi','Muller','Silva','Khan','Cohen','Dubois','Okafor','Novak','Sato','Walsh','Ivanova','Moreau'])[1 + (n / 20) % 20] AS last,
                    (ARRAY['Springfield','Riverside','Fairview','Madison','Georgetown','Salem','Franklin','Clinton'])[1 + n % 8] AS city,
                    (n * 37 + 11) % 9000 + 100 AS house,
                    lpad(((n * 7919) % 10000)::text, 4, '0') AS line
             FROM unnest($2::uuid[]) WITH ORDINALITY AS t(id, n)
         )
         INSERT INTO clients (account_id, id, first_name, last_name, company_name, emails, phones, billing_address, tags, status, search_text)
         SELECT $1, c.id, c.first, c.last, CASE WHEN c.n % 7 = 0 THEN c.last || ' Holdings' END,
                jsonb_build_array(jsonb_build_object('address', lower(c.first || '.' || c.last) || c.n || '@example.com', 'label', NULL, 'primary', true)),
                jsonb_build_array(jsonb_build_object('number', '555-01' || substr(c.line, 1, 2) || '-' || c.line, 'label', 'mobile', 'primary', true, 'sms_opt_in', c.n % 3 = 0)),
                jsonb_build_object('street1', c.house || ' Main St', 'city', c.city, 'region', 'IL', 'postal_code', lpad((60000 + c.n % 1000)::text, 5, '0'), 'country', 'US'),
                CASE c.n % 5 WHEN 0 THEN ARRAY['VIP'] WHEN 1 THEN ARRAY['weekly'] ELSE ARRAY[]::text[] END,
                CASE WHEN c.n % 13 = 0 THEN 'lead' ELSE 'active' END,
                lower(concat_ws(' ', c.first, c.last, CASE WHEN c.n % 7 = 0 THEN c.last || ' Holdings' END,
                                lower(c.first || '.' || c.last) || c.n || '@example.com',
                                '555-01' || substr(c.line, 1, 2) || '-' || c.line, '55501' || substr(c.line, 1, 2) || c.line,
                                c.house || ' Main St, ' || c.city || ', IL, ' || lpad((60000 + c.n % 1000)::text, 5, '0') || ', US',
                                CASE c.n % 5 WHEN 0 THEN 'VIP' WHEN 1 THEN 'weekly' END))
         FROM c",
    )
    .bind(account_id)
    .bind(clients)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO properties (account_id, id, client_id, address, search_text)
         SELECT $1, p.id, c.id, c.billing_address, lower(c.billing_address->>'street1' || ', ' || (c.billing_address->>'city'))
         FROM unnest($2::uuid[], $3::uuid[]) AS p(id, client_id) JOIN clients c ON c.account_id = $1 AND c.id = p.client_id",
    )
    .bind(account_id)
    .bind(properties)
    .bind(clients)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn technicians_grow_with_the_clients() {
        assert_eq!(technicians(CLIENTS), 6);
        assert_eq!(technicians(CLIENTS * 100), 666);
        assert_eq!(technicians(10), MIN_TECHNICIANS);
        assert_eq!(technician_name(0), "Tess Tran");
        assert_eq!(technician_name(2), "Kim Lee");
        assert_ne!(technician_name(1), technician_name(11));
    }
}
