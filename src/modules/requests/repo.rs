//! SQL for work requests, request forms and bookable services. `request_forms` can
//! be read across accounts (its slugs are a public directory), so every query on it
//! names the account.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use sqlx::types::Json;
use uuid::Uuid;

use super::model::{BookableService, RequestSource, RequestStatus, WorkRequest, WorkingHours};
use crate::domain::Address;

pub struct FormRow {
    pub account_id: Uuid,
    pub slug: String,
    pub enabled: bool,
    pub booking_enabled: bool,
    pub working_hours: Json<Vec<WorkingHours>>,
    pub travel_buffer_minutes: i32,
    pub notice_hours: i32,
    pub version: i32,
    pub updated_at: DateTime<Utc>,
}

/// The form with this slug, of any account (the public directory).
pub async fn form_by_slug(
    conn: &mut PgConnection,
    slug: &str,
) -> Result<Option<FormRow>, sqlx::Error> {
    sqlx::query_as!(
        FormRow,
        r#"SELECT account_id, slug, enabled, booking_enabled, working_hours AS "working_hours: Json<Vec<WorkingHours>>",
                  travel_buffer_minutes, notice_hours, version, updated_at
           FROM request_forms WHERE slug = $1"#,
        slug
    )
    .fetch_optional(conn)
    .await
}

/// The account's form; `lock` holds it (and so the account's bookings) until the
/// transaction ends.
pub async fn form(
    conn: &mut PgConnection,
    account_id: Uuid,
    lock: bool,
) -> Result<Option<FormRow>, sqlx::Error> {
    if lock {
        sqlx::query_as!(
            FormRow,
            r#"SELECT account_id, slug, enabled, booking_enabled, working_hours AS "working_hours: Json<Vec<WorkingHours>>",
                      travel_buffer_minutes, notice_hours, version, updated_at
               FROM request_forms WHERE account_id = $1 FOR UPDATE"#,
            account_id
        )
        .fetch_optional(conn)
        .await
    } else {
        sqlx::query_as!(
            FormRow,
            r#"SELECT account_id, slug, enabled, booking_enabled, working_hours AS "working_hours: Json<Vec<WorkingHours>>",
                      travel_buffer_minutes, notice_hours, version, updated_at
               FROM request_forms WHERE account_id = $1"#,
            account_id
        )
        .fetch_optional(conn)
        .await
    }
}

pub struct FormUpdate<'a> {
    pub slug: &'a str,
    pub enabled: bool,
    pub booking_enabled: bool,
    pub working_hours: &'a [WorkingHours],
    pub travel_buffer_minutes: i32,
    pub notice_hours: i32,
}

pub async fn update_form(
    conn: &mut PgConnection,
    account_id: Uuid,
    u: &FormUpdate<'_>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE request_forms SET slug = $2, enabled = $3, booking_enabled = $4, working_hours = $5,
                travel_buffer_minutes = $6, notice_hours = $7, version = version + 1
         WHERE account_id = $1",
        account_id,
        u.slug,
        u.enabled,
        u.booking_enabled,
        Json(u.working_hours) as _,
        u.travel_buffer_minutes,
        u.notice_hours
    )
    .execute(conn)
    .await
    .map(drop)
}

pub async fn bookable_services(
    conn: &mut PgConnection,
) -> Result<Vec<BookableService>, sqlx::Error> {
    sqlx::query_as!(
        BookableService,
        "SELECT catalog_item_id, duration_minutes FROM bookable_services ORDER BY catalog_item_id"
    )
    .fetch_all(conn)
    .await
}

pub async fn replace_bookable_services(
    conn: &mut PgConnection,
    account_id: Uuid,
    services: &[BookableService],
) -> Result<(), sqlx::Error> {
    sqlx::query!("DELETE FROM bookable_services")
        .execute(&mut *conn)
        .await?;
    let ids: Vec<Uuid> = services.iter().map(|s| s.catalog_item_id).collect();
    let minutes: Vec<i32> = services.iter().map(|s| s.duration_minutes).collect();
    sqlx::query!(
        "INSERT INTO bookable_services (account_id, catalog_item_id, duration_minutes)
         SELECT $1, s.id, s.minutes FROM unnest($2::uuid[], $3::int[]) AS s (id, minutes)
         ON CONFLICT (account_id, catalog_item_id) DO UPDATE SET duration_minutes = EXCLUDED.duration_minutes",
        account_id,
        &ids,
        &minutes
    )
    .execute(conn)
    .await
    .map(drop)
}

struct RequestRow {
    id: Uuid,
    status: String,
    source: String,
    name: String,
    email: String,
    phone: Option<String>,
    address: Json<Address>,
    service_id: Option<Uuid>,
    service_name: Option<String>,
    details: Option<String>,
    preferred_times: Option<String>,
    client_id: Option<Uuid>,
    quote_id: Option<Uuid>,
    job_id: Option<Uuid>,
    converted_at: Option<DateTime<Utc>>,
    archived_at: Option<DateTime<Utc>>,
    version: i32,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<RequestRow> for WorkRequest {
    type Error = sqlx::Error;

    fn try_from(r: RequestRow) -> Result<Self, Self::Error> {
        Ok(WorkRequest {
            id: r.id,
            status: RequestStatus::parse(&r.status).ok_or_else(|| {
                sqlx::Error::Decode(format!("unknown request status {}", r.status).into())
            })?,
            source: RequestSource::parse(&r.source).ok_or_else(|| {
                sqlx::Error::Decode(format!("unknown request source {}", r.source).into())
            })?,
            name: r.name,
            email: r.email,
            phone: r.phone,
            address: r.address.0,
            service_id: r.service_id,
            service_name: r.service_name,
            details: r.details,
            preferred_times: r.preferred_times,
            client_id: r.client_id,
            quote_id: r.quote_id,
            job_id: r.job_id,
            converted_at: r.converted_at,
            archived_at: r.archived_at,
            version: r.version,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

pub struct NewRequest<'a> {
    pub id: Uuid,
    pub source: RequestSource,
    pub name: &'a str,
    pub email: &'a str,
    pub phone: Option<&'a str>,
    pub address: &'a Address,
    pub service_id: Option<Uuid>,
    pub service_name: Option<&'a str>,
    pub details: Option<&'a str>,
    pub preferred_times: Option<&'a str>,
    pub remote_ip: Option<&'a str>,
}

pub async fn insert(
    conn: &mut PgConnection,
    account_id: Uuid,
    r: &NewRequest<'_>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO work_requests (account_id, id, source, name, email, phone, address, service_id, service_name, details, preferred_times, remote_ip)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        account_id,
        r.id,
        r.source.as_str(),
        r.name,
        r.email,
        r.phone,
        Json(r.address) as _,
        r.service_id,
        r.service_name,
        r.details,
        r.preferred_times,
        r.remote_ip
    )
    .execute(conn)
    .await
    .map(drop)
}

pub async fn get(
    conn: &mut PgConnection,
    id: Uuid,
    lock: bool,
) -> Result<Option<WorkRequest>, sqlx::Error> {
    let row = if lock {
        sqlx::query_as!(
            RequestRow,
            r#"SELECT id, status, source, name, email, phone, address AS "address: Json<Address>", service_id, service_name,
                      details, preferred_times, client_id, quote_id, job_id, converted_at, archived_at, version, created_at, updated_at
               FROM work_requests WHERE id = $1 FOR UPDATE"#,
            id
        )
        .fetch_optional(conn)
        .await?
    } else {
        sqlx::query_as!(
            RequestRow,
            r#"SELECT id, status, source, name, email, phone, address AS "address: Json<Address>", service_id, service_name,
                      details, preferred_times, client_id, quote_id, job_id, converted_at, archived_at, version, created_at, updated_at
               FROM work_requests WHERE id = $1"#,
            id
        )
        .fetch_optional(conn)
        .await?
    };
    row.map(WorkRequest::try_from).transpose()
}

/// Newest first.
pub async fn list(
    conn: &mut PgConnection,
    status: Option<RequestStatus>,
    before: Option<Uuid>,
    limit: i64,
) -> Result<Vec<WorkRequest>, sqlx::Error> {
    sqlx::query_as!(
        RequestRow,
        r#"SELECT id, status, source, name, email, phone, address AS "address: Json<Address>", service_id, service_name,
                  details, preferred_times, client_id, quote_id, job_id, converted_at, archived_at, version, created_at, updated_at
           FROM work_requests
           WHERE ($1::text IS NULL OR status = $1) AND ($2::uuid IS NULL OR id < $2)
           ORDER BY id DESC LIMIT $3"#,
        status.map(RequestStatus::as_str),
        before,
        limit
    )
    .fetch_all(conn)
    .await?
    .into_iter()
    .map(WorkRequest::try_from)
    .collect()
}

pub async fn mark_converted(
    conn: &mut PgConnection,
    id: Uuid,
    client_id: Uuid,
    quote_id: Option<Uuid>,
    job_id: Option<Uuid>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE work_requests SET status = 'converted', client_id = $2, quote_id = $3, job_id = $4,
                converted_at = now(), version = version + 1
         WHERE id = $1",
        id,
        client_id,
        quote_id,
        job_id
    )
    .execute(conn)
    .await
    .map(drop)
}

pub async fn archive(conn: &mut PgConnection, id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE work_requests SET status = 'archived', archived_at = now(), version = version + 1 WHERE id = $1",
        id
    )
    .execute(conn)
    .await
    .map(drop)
}

/// A request of a known client (`source: hub`): as [`insert`], with its client.
pub async fn insert_for_client(
    conn: &mut PgConnection,
    account_id: Uuid,
    client_id: Uuid,
    r: &NewRequest<'_>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO work_requests (account_id, id, source, name, email, phone, address, service_id, service_name, details, preferred_times, remote_ip, client_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    )
    .bind(account_id)
    .bind(r.id)
    .bind(r.source.as_str())
    .bind(r.name)
    .bind(r.email)
    .bind(r.phone)
    .bind(Json(r.address))
    .bind(r.service_id)
    .bind(r.service_name)
    .bind(r.details)
    .bind(r.preferred_times)
    .bind(r.remote_ip)
    .bind(client_id)
    .execute(conn)
    .await
    .map(drop)
}

/// The people with working hours of their own.
pub async fn person_hours(
    conn: &mut PgConnection,
) -> Result<Vec<(Uuid, Vec<WorkingHours>)>, sqlx::Error> {
    let rows: Vec<(Uuid, Json<Vec<WorkingHours>>)> =
        sqlx::query_as("SELECT user_id, hours FROM person_working_hours ORDER BY user_id")
            .fetch_all(conn)
            .await?;
    Ok(rows.into_iter().map(|(id, hours)| (id, hours.0)).collect())
}

/// Give a person hours of their own, or (`None`) put them back on the account's.
pub async fn set_person_hours(
    conn: &mut PgConnection,
    account_id: Uuid,
    user_id: Uuid,
    hours: Option<&[WorkingHours]>,
) -> Result<(), sqlx::Error> {
    match hours {
        Some(hours) => sqlx::query(
            "INSERT INTO person_working_hours (account_id, user_id, hours) VALUES ($1, $2, $3)
             ON CONFLICT (account_id, user_id) DO UPDATE SET hours = EXCLUDED.hours",
        )
        .bind(account_id)
        .bind(user_id)
        .bind(Json(hours))
        .execute(conn)
        .await
        .map(drop),
        None => sqlx::query("DELETE FROM person_working_hours WHERE user_id = $1")
            .bind(user_id)
            .execute(conn)
            .await
            .map(drop),
    }
}
