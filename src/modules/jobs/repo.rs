//! SQL for jobs, job lines, visits, assignees, checklists and time entries.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDateTime, Utc};
use sqlx::PgConnection;
use sqlx::types::Json;
use uuid::Uuid;

use super::model::{ChecklistItem, JobLine, TaxSnapshot, TimeEntry, Visit, VisitStatus};
use crate::domain::Address;
use crate::money::Quantity;

pub struct JobRow {
    pub id: Uuid,
    pub number: String,
    pub client_id: Uuid,
    pub property_id: Option<Uuid>,
    pub quote_id: Option<Uuid>,
    pub title: String,
    pub instructions: Option<String>,
    pub status: String,
    pub billing: String,
    pub rrule: Option<String>,
    pub first_start_local: Option<NaiveDateTime>,
    pub duration_minutes: Option<i32>,
    pub anytime: bool,
    pub total: i64,
    pub completed_at: Option<DateTime<Utc>>,
    pub cancelled_at: Option<DateTime<Utc>>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub struct NewJob<'a> {
    pub id: Uuid,
    pub number: &'a str,
    pub client_id: Uuid,
    pub property_id: Option<Uuid>,
    pub quote_id: Option<Uuid>,
    pub title: &'a str,
    pub instructions: Option<&'a str>,
    pub billing: &'a str,
    pub rrule: Option<&'a str>,
    pub first_start_local: Option<NaiveDateTime>,
    pub duration_minutes: Option<i32>,
    pub anytime: bool,
    pub generated_until: Option<DateTime<Utc>>,
    pub total: i64,
    /// `None` when no user made it (an online booking).
    pub created_by: Option<Uuid>,
}

pub async fn insert_job(
    conn: &mut PgConnection,
    account_id: Uuid,
    j: &NewJob<'_>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO jobs (account_id, id, number, client_id, property_id, quote_id, title, instructions, billing, rrule,
                           first_start_local, duration_minutes, anytime, generated_until, total, created_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
        account_id,
        j.id,
        j.number,
        j.client_id,
        j.property_id,
        j.quote_id,
        j.title,
        j.instructions,
        j.billing,
        j.rrule,
        j.first_start_local,
        j.duration_minutes,
        j.anytime,
        j.generated_until,
        j.total,
        j.created_by
    )
    .execute(conn)
    .await
    .map(drop)
}

pub async fn update_details(
    conn: &mut PgConnection,
    id: Uuid,
    title: &str,
    instructions: Option<&str>,
    billing: &str,
    total: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE jobs SET title = $2, instructions = $3, billing = $4, total = $5, version = version + 1 WHERE id = $1",
        id,
        title,
        instructions,
        billing,
        total
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
        "UPDATE jobs SET status = $2, version = version + 1,
                completed_at = CASE WHEN $2 = 'completed' THEN now() ELSE completed_at END,
                cancelled_at = CASE WHEN $2 = 'cancelled' THEN now() ELSE cancelled_at END
         WHERE id = $1",
        id,
        status
    )
    .execute(conn)
    .await
    .map(drop)
}

pub async fn get_job(
    conn: &mut PgConnection,
    id: Uuid,
    lock: bool,
) -> Result<Option<JobRow>, sqlx::Error> {
    if lock {
        sqlx::query_as!(
            JobRow,
            "SELECT id, number, client_id, property_id, quote_id, title, instructions, status, billing, rrule, first_start_local,
                    duration_minutes, anytime, total, completed_at, cancelled_at, version, created_at, updated_at
             FROM jobs WHERE id = $1 FOR UPDATE",
            id
        )
        .fetch_optional(conn)
        .await
    } else {
        sqlx::query_as!(
            JobRow,
            "SELECT id, number, client_id, property_id, quote_id, title, instructions, status, billing, rrule, first_start_local,
                    duration_minutes, anytime, total, completed_at, cancelled_at, version, created_at, updated_at
             FROM jobs WHERE id = $1",
            id
        )
        .fetch_optional(conn)
        .await
    }
}

pub async fn list_jobs(
    conn: &mut PgConnection,
    status: Option<&str>,
    client_id: Option<Uuid>,
    pattern: Option<&str>,
    before: Option<Uuid>,
    limit: i64,
) -> Result<Vec<JobRow>, sqlx::Error> {
    sqlx::query_as!(
        JobRow,
        "SELECT id, number, client_id, property_id, quote_id, title, instructions, status, billing, rrule, first_start_local,
                duration_minutes, anytime, total, completed_at, cancelled_at, version, created_at, updated_at
         FROM jobs j
         WHERE ($1::text IS NULL OR status = $1) AND ($2::uuid IS NULL OR client_id = $2) AND ($3::uuid IS NULL OR id < $3)
           AND ($5::text IS NULL OR j.number ILIKE $5 OR j.title ILIKE $5
                OR EXISTS (SELECT 1 FROM clients c WHERE c.id = j.client_id AND c.search_text LIKE lower($5)))
         ORDER BY id DESC LIMIT $4",
        status,
        client_id,
        before,
        limit,
        pattern
    )
    .fetch_all(conn)
    .await
}

/// Jobs with work ready to invoice (the rules of the dashboard's
/// `visits_to_invoice` and `jobs_to_invoice` counters), newest first.
pub async fn list_jobs_to_invoice(
    conn: &mut PgConnection,
    status: Option<&str>,
    client_id: Option<Uuid>,
    pattern: Option<&str>,
    before: Option<Uuid>,
    limit: i64,
) -> Result<Vec<JobRow>, sqlx::Error> {
    sqlx::query_as!(
        JobRow,
        "SELECT id, number, client_id, property_id, quote_id, title, instructions, status, billing, rrule, first_start_local,
                duration_minutes, anytime, total, completed_at, cancelled_at, version, created_at, updated_at
         FROM jobs j
         WHERE ($1::text IS NULL OR status = $1) AND ($2::uuid IS NULL OR client_id = $2) AND ($3::uuid IS NULL OR id < $3)
           AND ((j.billing = 'on_completion' AND j.status = 'completed' AND j.invoice_id IS NULL)
                OR (j.billing = 'per_visit' AND EXISTS (
                      SELECT 1 FROM visits v WHERE v.account_id = j.account_id AND v.job_id = j.id
                        AND v.status = 'completed' AND v.invoice_id IS NULL)))
           AND ($5::text IS NULL OR j.number ILIKE $5 OR j.title ILIKE $5
                OR EXISTS (SELECT 1 FROM clients c WHERE c.id = j.client_id AND c.search_text LIKE lower($5)))
         ORDER BY id DESC LIMIT $4",
        status,
        client_id,
        before,
        limit,
        pattern
    )
    .fetch_all(conn)
    .await
}

/// One line to store.
pub struct LineRecord<'a> {
    pub catalog_item_id: Option<Uuid>,
    pub name: &'a str,
    pub description: Option<&'a str>,
    pub quantity: Quantity,
    pub unit_price: i64,
    pub taxable: bool,
    pub line_total: i64,
}

pub async fn replace_lines(
    conn: &mut PgConnection,
    account_id: Uuid,
    job_id: Uuid,
    lines: &[LineRecord<'_>],
) -> Result<(), sqlx::Error> {
    sqlx::query!("DELETE FROM job_lines WHERE job_id = $1", job_id)
        .execute(&mut *conn)
        .await?;
    for (position, line) in lines.iter().enumerate() {
        sqlx::query!(
            "INSERT INTO job_lines (account_id, id, job_id, position, catalog_item_id, name, description, quantity_hundredths,
                                    unit_price, taxable, line_total)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            account_id,
            Uuid::now_v7(),
            job_id,
            i32::try_from(position).unwrap_or(i32::MAX),
            line.catalog_item_id,
            line.name,
            line.description,
            line.quantity.0,
            line.unit_price,
            line.taxable,
            line.line_total
        )
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

pub async fn lines(conn: &mut PgConnection, job_id: Uuid) -> Result<Vec<JobLine>, sqlx::Error> {
    Ok(lines_of(conn, &[job_id])
        .await?
        .into_iter()
        .map(|(_, line)| line)
        .collect())
}

/// The lines of several jobs, with their job id, in position order.
pub async fn lines_of(
    conn: &mut PgConnection,
    job_ids: &[Uuid],
) -> Result<Vec<(Uuid, JobLine)>, sqlx::Error> {
    let rows = sqlx::query!(
        "SELECT job_id, id, position, catalog_item_id, name, description, quantity_hundredths, unit_price, taxable, line_total
         FROM job_lines WHERE job_id = ANY($1) ORDER BY job_id, position",
        job_ids
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            (
                r.job_id,
                JobLine {
                    id: r.id,
                    position: r.position,
                    catalog_item_id: r.catalog_item_id,
                    name: r.name,
                    description: r.description,
                    quantity: Quantity(r.quantity_hundredths),
                    unit_price: r.unit_price,
                    taxable: r.taxable,
                    line_total: r.line_total,
                },
            )
        })
        .collect())
}

pub struct NewVisit {
    pub id: Uuid,
    pub occurrence_index: Option<i32>,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    pub anytime: bool,
}

pub async fn insert_visit(
    conn: &mut PgConnection,
    account_id: Uuid,
    job_id: Uuid,
    v: &NewVisit,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO visits (account_id, id, job_id, occurrence_index, starts_at, ends_at, anytime) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        account_id,
        v.id,
        job_id,
        v.occurrence_index,
        v.starts_at,
        v.ends_at,
        v.anytime
    )
    .execute(conn)
    .await
    .map(drop)
}

pub async fn set_assignees(
    conn: &mut PgConnection,
    account_id: Uuid,
    visit_id: Uuid,
    users: &[Uuid],
) -> Result<(), sqlx::Error> {
    sqlx::query!("DELETE FROM visit_assignees WHERE visit_id = $1", visit_id)
        .execute(&mut *conn)
        .await?;
    sqlx::query!(
        "INSERT INTO visit_assignees (account_id, visit_id, user_id) SELECT $1, $2, unnest($3::uuid[]) ON CONFLICT DO NOTHING",
        account_id,
        visit_id,
        users
    )
    .execute(conn)
    .await
    .map(drop)
}

pub async fn add_checklist(
    conn: &mut PgConnection,
    account_id: Uuid,
    visit_id: Uuid,
    items: &[String],
) -> Result<(), sqlx::Error> {
    let base = sqlx::query_scalar!(r#"SELECT coalesce(max(position) + 1, 0) AS "base!" FROM visit_checklist_items WHERE visit_id = $1"#, visit_id)
        .fetch_one(&mut *conn)
        .await?;
    for (offset, text) in items.iter().enumerate() {
        sqlx::query!(
            "INSERT INTO visit_checklist_items (account_id, id, visit_id, position, text) VALUES ($1, $2, $3, $4, $5)",
            account_id,
            Uuid::now_v7(),
            visit_id,
            base + i32::try_from(offset).unwrap_or(i32::MAX - base),
            text
        )
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

struct VisitRow {
    id: Uuid,
    job_id: Uuid,
    job_number: String,
    title: String,
    client_id: Uuid,
    client_name: String,
    property_address: Option<Json<Address>>,
    billing_address: Json<Address>,
    occurrence_index: Option<i32>,
    starts_at: Option<DateTime<Utc>>,
    ends_at: Option<DateTime<Utc>>,
    anytime: bool,
    status: String,
    instructions: Option<String>,
    notes: Option<String>,
    completed_at: Option<DateTime<Utc>>,
    completed_by: Option<Uuid>,
    version: i32,
    updated_at: DateTime<Utc>,
}

/// Which visits to read.
pub enum VisitFilter {
    /// The visits of these jobs.
    Jobs(Vec<Uuid>),
    One(Uuid),
    /// Scheduled in `[from, to)`, plus the unscheduled open ones; optionally only
    /// those assigned to a user.
    Window {
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        assignee: Option<Uuid>,
    },
    /// As `Window`, assigned to any of these users (all visits when empty): the
    /// calendar's lanes on screen.
    Lanes {
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        assignees: Vec<Uuid>,
    },
}

/// Visits with their job, client, address, assignees, checklist and time entries.
pub async fn visits(
    conn: &mut PgConnection,
    filter: &VisitFilter,
    lock: bool,
) -> Result<Vec<Visit>, sqlx::Error> {
    let (jobs, one, from, to, assignee, window) = match filter {
        VisitFilter::Jobs(ids) => (Some(ids.as_slice()), None, None, None, None, false),
        VisitFilter::One(id) => (None, Some(*id), None, None, None, false),
        VisitFilter::Window { from, to, assignee } => (
            None,
            None,
            Some(*from),
            Some(*to),
            assignee.map(|a| vec![a]),
            true,
        ),
        VisitFilter::Lanes {
            from,
            to,
            assignees,
        } => (
            None,
            None,
            Some(*from),
            Some(*to),
            (!assignees.is_empty()).then(|| assignees.clone()),
            true,
        ),
    };
    let rows = if lock {
        sqlx::query_as!(
            VisitRow,
            r#"SELECT v.id, v.job_id, j.number AS job_number, j.title, j.client_id,
                      coalesce(nullif(concat_ws(' ', c.first_name, c.last_name), ''), c.company_name, '') AS "client_name!",
                      p.address AS "property_address?: Json<Address>", c.billing_address AS "billing_address: Json<Address>",
                      v.occurrence_index, v.starts_at, v.ends_at, v.anytime, v.status, coalesce(v.instructions, j.instructions) AS instructions,
                      v.notes, v.completed_at, v.completed_by, v.version, v.updated_at
               FROM visits v
               JOIN jobs j ON j.account_id = v.account_id AND j.id = v.job_id
               JOIN clients c ON c.account_id = j.account_id AND c.id = j.client_id
               LEFT JOIN properties p ON p.account_id = j.account_id AND p.id = j.property_id
               WHERE v.id = $1
               FOR UPDATE OF v"#,
            one
        )
        .fetch_all(&mut *conn)
        .await?
    } else if let (true, Some(lanes)) = (window, assignee.as_deref()) {
        // Some people's lanes: start from their assignments (an index range of the
        // assignment table), then each visit by key. Folded into the general query
        // below, the planner reads every visit of the window and every job first
        // (a technician's week of 23 visits among 17,000: 200 ms instead of a few).
        sqlx::query_as!(
            VisitRow,
            r#"SELECT v.id, v.job_id, j.number AS job_number, j.title, j.client_id,
                      coalesce(nullif(concat_ws(' ', c.first_name, c.last_name), ''), c.company_name, '') AS "client_name!",
                      p.address AS "property_address?: Json<Address>", c.billing_address AS "billing_address: Json<Address>",
                      v.occurrence_index, v.starts_at, v.ends_at, v.anytime, v.status, coalesce(v.instructions, j.instructions) AS instructions,
                      v.notes, v.completed_at, v.completed_by, v.version, v.updated_at
               FROM visits v
               JOIN jobs j ON j.account_id = v.account_id AND j.id = v.job_id
               JOIN clients c ON c.account_id = j.account_id AND c.id = j.client_id
               LEFT JOIN properties p ON p.account_id = j.account_id AND p.id = j.property_id
               WHERE v.id IN (SELECT DISTINCT a.visit_id FROM visit_assignees a WHERE a.user_id = ANY($3))
                 AND ((v.starts_at < $2::timestamptz AND v.starts_at > $1::timestamptz - interval '25 hours' AND v.ends_at > $1)
                      OR (v.starts_at IS NULL AND v.status = 'scheduled'))
               ORDER BY v.starts_at NULLS LAST, v.id"#,
            from,
            to,
            lanes
        )
        .fetch_all(&mut *conn)
        .await?
    } else {
        sqlx::query_as!(
            VisitRow,
            r#"SELECT v.id, v.job_id, j.number AS job_number, j.title, j.client_id,
                      coalesce(nullif(concat_ws(' ', c.first_name, c.last_name), ''), c.company_name, '') AS "client_name!",
                      p.address AS "property_address?: Json<Address>", c.billing_address AS "billing_address: Json<Address>",
                      v.occurrence_index, v.starts_at, v.ends_at, v.anytime, v.status, coalesce(v.instructions, j.instructions) AS instructions,
                      v.notes, v.completed_at, v.completed_by, v.version, v.updated_at
               FROM visits v
               JOIN jobs j ON j.account_id = v.account_id AND j.id = v.job_id
               JOIN clients c ON c.account_id = j.account_id AND c.id = j.client_id
               LEFT JOIN properties p ON p.account_id = j.account_id AND p.id = j.property_id
               WHERE ($1::uuid[] IS NULL OR v.job_id = ANY($1))
                 AND ($2::uuid IS NULL OR v.id = $2)
                 AND (NOT $6::bool
                      -- A visit lasts at most a day (25 hours on a DST day), so only
                      -- starts from then on can overlap: the index range stays small.
                      OR (v.starts_at < $4::timestamptz AND v.starts_at > $3::timestamptz - interval '25 hours' AND v.ends_at > $3)
                      OR (v.starts_at IS NULL AND v.status = 'scheduled'))
                 AND ($5::uuid[] IS NULL OR EXISTS (SELECT 1 FROM visit_assignees a WHERE a.account_id = v.account_id AND a.visit_id = v.id AND a.user_id = ANY($5)))
               ORDER BY v.starts_at NULLS LAST, v.id"#,
            jobs,
            one,
            from,
            to,
            assignee.as_deref(),
            window
        )
        .fetch_all(&mut *conn)
        .await?
    };
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let mut assignees: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
    for row in sqlx::query!(
        "SELECT visit_id, user_id FROM visit_assignees WHERE visit_id = ANY($1) ORDER BY user_id",
        &ids
    )
    .fetch_all(&mut *conn)
    .await?
    {
        assignees.entry(row.visit_id).or_default().push(row.user_id);
    }
    let mut checklists: HashMap<Uuid, Vec<ChecklistItem>> = HashMap::new();
    for row in sqlx::query!(
        "SELECT id, visit_id, text, done, done_by, done_at FROM visit_checklist_items WHERE visit_id = ANY($1) ORDER BY position",
        &ids
    )
    .fetch_all(&mut *conn)
    .await?
    {
        checklists.entry(row.visit_id).or_default().push(ChecklistItem { id: row.id, text: row.text, done: row.done, done_by: row.done_by, done_at: row.done_at });
    }
    let mut entries: HashMap<Uuid, Vec<TimeEntry>> = HashMap::new();
    for row in sqlx::query!("SELECT id, visit_id, user_id, started_at, ended_at FROM time_entries WHERE visit_id = ANY($1) ORDER BY started_at", &ids)
        .fetch_all(&mut *conn)
        .await?
    {
        entries.entry(row.visit_id).or_default().push(TimeEntry { id: row.id, user_id: row.user_id, started_at: row.started_at, ended_at: row.ended_at });
    }
    rows.into_iter()
        .map(|r| {
            let address = r
                .property_address
                .map(|a| a.0)
                .filter(|a| !a.is_empty())
                .or(Some(r.billing_address.0).filter(|a| !a.is_empty()));
            Ok(Visit {
                assignee_ids: assignees.remove(&r.id).unwrap_or_default(),
                checklist: checklists.remove(&r.id).unwrap_or_default(),
                time_entries: entries.remove(&r.id).unwrap_or_default(),
                id: r.id,
                job_id: r.job_id,
                job_number: r.job_number,
                title: r.title,
                client_id: r.client_id,
                client_name: r.client_name,
                address: address.map(|a| a.one_line()),
                occurrence_index: r.occurrence_index,
                starts_at: r.starts_at,
                ends_at: r.ends_at,
                anytime: r.anytime,
                status: VisitStatus::parse(&r.status).ok_or_else(|| {
                    sqlx::Error::Decode(format!("unknown visit status {}", r.status).into())
                })?,
                instructions: r.instructions,
                notes: r.notes,
                completed_at: r.completed_at,
                completed_by: r.completed_by,
                version: r.version,
                updated_at: r.updated_at,
                work: None,
            })
        })
        .collect()
}

/// A booking that overlaps a proposed one.
#[derive(Debug, Clone)]
pub struct Conflict {
    pub user_id: Uuid,
    pub visit_id: Uuid,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
}

/// Open timed visits of `users` that overlap any of the proposed `[starts, ends)`
/// slots, other than the visits in `except`.
pub async fn conflicts(
    conn: &mut PgConnection,
    users: &[Uuid],
    starts: &[DateTime<Utc>],
    ends: &[DateTime<Utc>],
    except: &[Uuid],
) -> Result<Vec<Conflict>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT DISTINCT a.user_id, v.id, v.starts_at AS "starts_at!", v.ends_at AS "ends_at!"
           FROM visits v
           JOIN visit_assignees a ON a.account_id = v.account_id AND a.visit_id = v.id
           JOIN unnest($2::timestamptz[], $3::timestamptz[]) AS slot(s, e) ON v.starts_at < slot.e AND v.ends_at > slot.s
           WHERE a.user_id = ANY($1) AND v.status IN ('scheduled', 'in_progress') AND NOT v.anytime AND NOT v.id = ANY($4)
           ORDER BY 3"#,
        users,
        starts,
        ends,
        except
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Conflict {
            user_id: r.user_id,
            visit_id: r.id,
            starts_at: r.starts_at,
            ends_at: r.ends_at,
        })
        .collect())
}

pub async fn reschedule(
    conn: &mut PgConnection,
    id: Uuid,
    starts_at: Option<DateTime<Utc>>,
    ends_at: Option<DateTime<Utc>>,
    anytime: bool,
) -> Result<(), sqlx::Error> {
    sqlx::query!("UPDATE visits SET starts_at = $2, ends_at = $3, anytime = $4, version = version + 1 WHERE id = $1", id, starts_at, ends_at, anytime)
        .execute(conn)
        .await
        .map(drop)
}

pub async fn set_visit_status(
    conn: &mut PgConnection,
    id: Uuid,
    status: VisitStatus,
    by: Option<Uuid>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE visits SET status = $2, version = version + 1,
                completed_at = CASE WHEN $2 = 'completed' THEN now() ELSE completed_at END,
                completed_by = CASE WHEN $2 = 'completed' THEN $3 ELSE completed_by END
         WHERE id = $1",
        id,
        status.as_str(),
        by
    )
    .execute(conn)
    .await
    .map(drop)
}

pub async fn set_visit_notes(
    conn: &mut PgConnection,
    id: Uuid,
    notes: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE visits SET notes = $2, version = version + 1 WHERE id = $1",
        id,
        notes
    )
    .execute(conn)
    .await
    .map(drop)
}

/// The visit's own instructions (null: the job's apply).
pub async fn set_visit_instructions(
    conn: &mut PgConnection,
    id: Uuid,
    instructions: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE visits SET instructions = $2 WHERE id = $1",
        id,
        instructions
    )
    .execute(conn)
    .await
    .map(drop)
}

/// Tick or untick a checklist item of a visit; false when there is no such item.
pub async fn set_checklist_done(
    conn: &mut PgConnection,
    visit_id: Uuid,
    item_id: Uuid,
    done: bool,
    by: Uuid,
) -> Result<bool, sqlx::Error> {
    let result = sqlx::query!(
        "UPDATE visit_checklist_items SET done = $3, done_by = CASE WHEN $3 THEN $4::uuid END, done_at = CASE WHEN $3 THEN now() END
         WHERE visit_id = $1 AND id = $2",
        visit_id,
        item_id,
        done,
        by
    )
    .execute(&mut *conn)
    .await?;
    touch_visit(conn, visit_id).await?;
    Ok(result.rows_affected() == 1)
}

/// A new version of a visit whose row did not change but what it shows did (its
/// checklist, or the job's instructions it takes): a write based on the old version
/// is stale.
pub async fn touch_visit(conn: &mut PgConnection, visit_id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE visits SET version = version + 1 WHERE id = $1",
        visit_id
    )
    .execute(conn)
    .await
    .map(drop)
}

pub async fn open_time_entry(
    conn: &mut PgConnection,
    user_id: Uuid,
) -> Result<Option<(Uuid, Uuid)>, sqlx::Error> {
    let row = sqlx::query!(
        "SELECT id, visit_id FROM time_entries WHERE user_id = $1 AND ended_at IS NULL FOR UPDATE",
        user_id
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|r| (r.id, r.visit_id)))
}

pub async fn clock_in(
    conn: &mut PgConnection,
    account_id: Uuid,
    visit_id: Uuid,
    user_id: Uuid,
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO time_entries (account_id, id, visit_id, user_id, started_at) VALUES ($1, $2, $3, $4, $5)",
        account_id,
        Uuid::now_v7(),
        visit_id,
        user_id,
        at
    )
    .execute(conn)
    .await
    .map(drop)
}

/// Close a time entry at `at`, never before it began.
pub async fn clock_out(
    conn: &mut PgConnection,
    entry_id: Uuid,
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE time_entries SET ended_at = GREATEST($2, started_at) WHERE id = $1",
        entry_id,
        at
    )
    .execute(conn)
    .await
    .map(drop)
}

/// Close every open time entry of a visit (it was completed).
pub async fn clock_out_visit(conn: &mut PgConnection, visit_id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE time_entries SET ended_at = now() WHERE visit_id = $1 AND ended_at IS NULL",
        visit_id
    )
    .execute(conn)
    .await
    .map(drop)
}

/// Cancelling a job removes its visits that have not happened: scheduled ones in the
/// future and unscheduled ones. Returns how many.
pub async fn delete_future_visits(
    conn: &mut PgConnection,
    job_id: Uuid,
) -> Result<u64, sqlx::Error> {
    sqlx::query!("DELETE FROM visits WHERE job_id = $1 AND status = 'scheduled' AND (starts_at IS NULL OR starts_at > now())", job_id)
        .execute(conn)
        .await
        .map(|r| r.rows_affected())
}

/// Cancelling a job: the visits it keeps (those that began) and that are still open
/// become `cancelled`, and anyone clocked in to them is clocked out. Returns how many.
pub async fn cancel_open_visits(conn: &mut PgConnection, job_id: Uuid) -> Result<u64, sqlx::Error> {
    sqlx::query!("UPDATE time_entries SET ended_at = now() WHERE ended_at IS NULL AND visit_id IN (SELECT id FROM visits WHERE job_id = $1)", job_id)
        .execute(&mut *conn)
        .await?;
    sqlx::query!(
        "UPDATE visits SET status = 'cancelled', version = version + 1
         WHERE job_id = $1 AND status IN ('scheduled', 'in_progress')",
        job_id
    )
    .execute(conn)
    .await
    .map(|r| r.rows_affected())
}

/// Mark the job's open visits completed (completing the job).
pub async fn complete_open_visits(
    conn: &mut PgConnection,
    job_id: Uuid,
    by: Uuid,
) -> Result<u64, sqlx::Error> {
    sqlx::query!("UPDATE time_entries SET ended_at = now() WHERE ended_at IS NULL AND visit_id IN (SELECT id FROM visits WHERE job_id = $1)", job_id)
        .execute(&mut *conn)
        .await?;
    sqlx::query!(
        "UPDATE visits SET status = 'completed', completed_at = now(), completed_by = $2, version = version + 1
         WHERE job_id = $1 AND status IN ('scheduled', 'in_progress')",
        job_id,
        by
    )
    .execute(conn)
    .await
    .map(|r| r.rows_affected())
}

/// Whether the user is assigned to the visit.
pub async fn is_assigned(
    conn: &mut PgConnection,
    visit_id: Uuid,
    user_id: Uuid,
) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar!(r#"SELECT EXISTS (SELECT 1 FROM visit_assignees WHERE visit_id = $1 AND user_id = $2) AS "assigned!""#, visit_id, user_id)
        .fetch_one(conn)
        .await
}

/// The invoice the job's lines are billed on (billing at the end), locking the job.
pub async fn lock_job_invoice(
    conn: &mut PgConnection,
    job_id: Uuid,
) -> Result<Option<Option<Uuid>>, sqlx::Error> {
    sqlx::query_scalar!(
        "SELECT invoice_id FROM jobs WHERE id = $1 FOR UPDATE",
        job_id
    )
    .fetch_optional(conn)
    .await
}

/// Completed visits of a job not yet on an invoice, oldest first.
pub async fn uninvoiced_completed_visits(
    conn: &mut PgConnection,
    job_id: Uuid,
) -> Result<Vec<(Uuid, Option<DateTime<Utc>>)>, sqlx::Error> {
    let rows = sqlx::query!(
        "SELECT id, starts_at FROM visits WHERE job_id = $1 AND status = 'completed' AND invoice_id IS NULL ORDER BY starts_at NULLS LAST, id",
        job_id
    )
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|r| (r.id, r.starts_at)).collect())
}

pub async fn mark_invoiced(
    conn: &mut PgConnection,
    job_id: Uuid,
    visit_ids: &[Uuid],
    whole_job: bool,
    invoice_id: Uuid,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE visits SET invoice_id = $2 WHERE id = ANY($1)",
        visit_ids,
        invoice_id
    )
    .execute(&mut *conn)
    .await?;
    if whole_job {
        sqlx::query!(
            "UPDATE jobs SET invoice_id = $2 WHERE id = $1",
            job_id,
            invoice_id
        )
        .execute(conn)
        .await?;
    }
    Ok(())
}

/// A voided invoice gives its visits and job back, to be billed again.
pub async fn release_invoice(conn: &mut PgConnection, invoice_id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE visits SET invoice_id = NULL WHERE invoice_id = $1",
        invoice_id
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "UPDATE jobs SET invoice_id = NULL WHERE invoice_id = $1",
        invoice_id
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "UPDATE jobs SET discount_invoice_id = NULL WHERE discount_invoice_id = $1",
        invoice_id
    )
    .execute(conn)
    .await
    .map(drop)
}

/// The pricing terms a job carries from its quote.
pub struct PricingRow {
    pub discount_kind: Option<String>,
    pub discount_value: i64,
    pub taxes: Option<Json<Vec<TaxSnapshot>>>,
    pub discount_invoice_id: Option<Uuid>,
}

pub async fn set_pricing(
    conn: &mut PgConnection,
    job_id: Uuid,
    discount_kind: Option<&str>,
    discount_value: i64,
    taxes: &[TaxSnapshot],
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE jobs SET discount_kind = $2, discount_value = $3, taxes = $4 WHERE id = $1",
        job_id,
        discount_kind,
        discount_value,
        Json(taxes) as _
    )
    .execute(conn)
    .await
    .map(drop)
}

pub async fn pricing(conn: &mut PgConnection, job_id: Uuid) -> Result<PricingRow, sqlx::Error> {
    sqlx::query_as!(
        PricingRow,
        r#"SELECT discount_kind, discount_value, taxes AS "taxes: Json<Vec<TaxSnapshot>>", discount_invoice_id
           FROM jobs WHERE id = $1"#,
        job_id
    )
    .fetch_one(conn)
    .await
}

pub async fn set_discount_invoice(
    conn: &mut PgConnection,
    job_id: Uuid,
    invoice_id: Uuid,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE jobs SET discount_invoice_id = $2 WHERE id = $1",
        job_id,
        invoice_id
    )
    .execute(conn)
    .await
    .map(drop)
}

/// A recurring series whose generated visits end before the horizon.
pub struct SeriesRow {
    pub id: Uuid,
    pub rrule: String,
    pub first_start_local: NaiveDateTime,
    pub duration_minutes: Option<i32>,
    pub anytime: bool,
    pub generated_until: DateTime<Utc>,
}

/// Active series generated only up to before `horizon`, locked; ones another
/// worker is extending are skipped.
pub async fn series_to_extend(
    conn: &mut PgConnection,
    horizon: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<SeriesRow>, sqlx::Error> {
    sqlx::query_as!(
        SeriesRow,
        r#"SELECT id, rrule AS "rrule!", first_start_local AS "first_start_local!", duration_minutes, anytime,
                  generated_until AS "generated_until!"
           FROM jobs
           WHERE status = 'active' AND rrule IS NOT NULL AND first_start_local IS NOT NULL
             AND generated_until < $1
           ORDER BY generated_until
           LIMIT $2
           FOR UPDATE SKIP LOCKED"#,
        horizon,
        limit
    )
    .fetch_all(conn)
    .await
}

/// What the next visits of a series copy: the assignees and checklist of its
/// latest generated visit, and the index after it.
pub async fn series_template(
    conn: &mut PgConnection,
    job_id: Uuid,
) -> Result<(Vec<Uuid>, Vec<String>, i32), sqlx::Error> {
    let last = sqlx::query!(
        "SELECT id, occurrence_index FROM visits WHERE job_id = $1 AND occurrence_index IS NOT NULL
         ORDER BY occurrence_index DESC LIMIT 1",
        job_id
    )
    .fetch_optional(&mut *conn)
    .await?;
    let Some(last) = last else {
        return Ok((Vec::new(), Vec::new(), 0));
    };
    let assignees = sqlx::query_scalar!(
        "SELECT user_id FROM visit_assignees WHERE visit_id = $1 ORDER BY user_id",
        last.id
    )
    .fetch_all(&mut *conn)
    .await?;
    let checklist = sqlx::query_scalar!(
        "SELECT text FROM visit_checklist_items WHERE visit_id = $1 ORDER BY position",
        last.id
    )
    .fetch_all(conn)
    .await?;
    Ok((
        assignees,
        checklist,
        last.occurrence_index.map_or(0, |i| i + 1),
    ))
}

/// Record how far a series is generated; None: the series is over.
pub async fn set_generated_until(
    conn: &mut PgConnection,
    job_id: Uuid,
    until: Option<DateTime<Utc>>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE jobs SET generated_until = $2 WHERE id = $1",
        job_id,
        until
    )
    .execute(conn)
    .await
    .map(drop)
}

/// Whether the job exists (None: it does not) and `user_id` is assigned to one of
/// its visits.
pub async fn job_access(
    conn: &mut PgConnection,
    job_id: Uuid,
    user_id: Uuid,
) -> Result<Option<bool>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM visits v JOIN visit_assignees a ON a.visit_id = v.id
                          WHERE v.job_id = j.id AND a.user_id = $2) AS "assigned!"
           FROM jobs j WHERE j.id = $1"#,
        job_id,
        user_id
    )
    .fetch_optional(conn)
    .await
}

/// The job a visit belongs to.
pub async fn visit_job(
    conn: &mut PgConnection,
    visit_id: Uuid,
) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar!("SELECT job_id FROM visits WHERE id = $1", visit_id)
        .fetch_optional(conn)
        .await
}

/// The client of a job and the users assigned to any of its visits (who may follow
/// it live).
pub async fn audience(
    conn: &mut PgConnection,
    job_id: Uuid,
) -> Result<Option<(Uuid, Vec<Uuid>)>, sqlx::Error> {
    let row = sqlx::query!(
        r#"SELECT j.client_id,
                  COALESCE(array_agg(DISTINCT a.user_id) FILTER (WHERE a.user_id IS NOT NULL), '{}') AS "assignees!"
           FROM jobs j
           LEFT JOIN visits v ON v.job_id = j.id
           LEFT JOIN visit_assignees a ON a.visit_id = v.id
           WHERE j.id = $1
           GROUP BY j.client_id"#,
        job_id
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|r| (r.client_id, r.assignees)))
}
