//! `/api/v1/jobs…`, `/api/v1/visits…` and `/api/v1/schedule…`. Jobs are for office
//! staff; visits and the schedule are open to technicians for their own visits.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::model::{
    Job, JobInput, JobStatus, JobUpdate, RecurrencePreview, RecurrencePreviewInput, Visit,
};
use super::notes::{self, JobNote, NoteInput};
use super::service::{self, CompleteJob, VisitPatch, VisitSchedule};
use crate::app::AppState;
use crate::http::concurrency::{Expected, tagged};
use crate::http::error::Problem;
use crate::http::extract::{Ctx, Json, OptionalJson, Path, Query, Staff};
use crate::http::pagination::{Page, PageParams, PageRequest};
use crate::http::{ApiError, FieldError};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_jobs, create_job))
        .routes(routes!(preview_recurrence))
        .routes(routes!(list_notes, add_note))
        .routes(routes!(edit_note, delete_note))
        .routes(routes!(get_job, update_job))
        .routes(routes!(complete_job))
        .routes(routes!(cancel_job))
        .routes(routes!(client_jobs))
        .routes(routes!(get_visit, update_visit))
        .routes(routes!(tick_item))
        .routes(routes!(clock_in))
        .routes(routes!(clock_out))
        .routes(routes!(complete_visit))
        .routes(routes!(get_schedule))
        .routes(routes!(my_visits))
        .routes(routes!(schedule_visit))
        .routes(routes!(reschedule_visit))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct JobParams {
    pub limit: Option<i64>,
    pub cursor: Option<String>,
    pub status: Option<JobStatus>,
    pub client_id: Option<Uuid>,
    /// Jobs whose number or title contains this, or whose client's name, email or
    /// phone does.
    pub q: Option<String>,
    /// `true`: only jobs with work ready to invoice (completed visits not yet
    /// invoiced on a job billed per visit, or a completed job billed on completion
    /// without an invoice): the "ready to invoice" list.
    pub to_invoice: Option<bool>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VersionBody {
    pub version: Option<i32>,
}

/// Jobs, newest first.
#[utoipa::path(get, path = "/jobs", tag = "jobs", params(JobParams), responses((status = 200, body = Page<Job>), (status = 403, body = Problem), (status = 422, body = Problem, description = "`validation_failed`: `limit` or `cursor` is invalid")))]
async fn list_jobs(
    State(state): State<AppState>,
    Staff(ctx): Staff,
    Query(p): Query<JobParams>,
) -> Result<axum::Json<Page<Job>>, ApiError> {
    let page = PageRequest::parse(p.limit, p.cursor.as_deref())?;
    Ok(axum::Json(
        service::list(
            &state.db,
            &ctx,
            p.status,
            p.client_id,
            p.q.as_deref(),
            p.to_invoice.unwrap_or(false),
            page,
        )
        .await?,
    ))
}

/// A client's jobs, newest first.
#[utoipa::path(get, path = "/clients/{id}/jobs", tag = "jobs", params(("id" = Uuid, Path), PageParams),
    responses((status = 200, body = Page<Job>), (status = 404, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem, description = "`validation_failed`: `limit` or `cursor` is invalid")))]
async fn client_jobs(
    State(state): State<AppState>,
    Staff(ctx): Staff,
    Path(id): Path<Uuid>,
    Query(p): Query<PageParams>,
) -> Result<axum::Json<Page<Job>>, ApiError> {
    let page = PageRequest::parse(p.limit, p.cursor.as_deref())?;
    crate::modules::clients::service::get(&state.db, &ctx, id).await?;
    Ok(axum::Json(
        service::list(&state.db, &ctx, None, Some(id), None, false, page).await?,
    ))
}

/// Create a job: one-off, or recurring with an RRULE; its visits are generated in the
/// account's time zone. Double-booking an assignee is refused (409) unless
/// `schedule.allow_overlap`. Honours `Idempotency-Key`.
#[utoipa::path(post, path = "/jobs", tag = "jobs", request_body = JobInput,
    responses((status = 201, body = Job), (status = 409, body = Problem), (status = 422, body = Problem), (status = 403, body = Problem)))]
async fn create_job(
    State(state): State<AppState>,
    Staff(ctx): Staff,
    Json(body): Json<JobInput>,
) -> Result<(StatusCode, axum::Json<Job>), ApiError> {
    Ok((
        StatusCode::CREATED,
        axum::Json(service::create(&state.db, &ctx, body).await?),
    ))
}

/// The first visits a recurring schedule would get in the account's time zone,
/// expanded by the code that creates the job's visits; nothing is saved. The job
/// editor calls it as the rule is edited. 422 names the field at fault (`rrule`,
/// `start_date`, `duration_minutes`, `limit`).
#[utoipa::path(post, path = "/jobs/recurrence/preview", tag = "jobs", request_body = RecurrencePreviewInput,
    responses((status = 200, body = RecurrencePreview), (status = 422, body = Problem), (status = 403, body = Problem)))]
async fn preview_recurrence(
    State(state): State<AppState>,
    Staff(ctx): Staff,
    Json(body): Json<RecurrencePreviewInput>,
) -> Result<axum::Json<RecurrencePreview>, ApiError> {
    Ok(axum::Json(
        service::preview_recurrence(&state.db, &ctx, body).await?,
    ))
}

/// The office's notes on a job, oldest first, with their authors.
#[utoipa::path(get, path = "/jobs/{id}/notes", tag = "jobs", params(("id" = Uuid, Path)),
    responses((status = 200, body = Vec<JobNote>), (status = 404, body = Problem), (status = 403, body = Problem)))]
async fn list_notes(
    State(state): State<AppState>,
    Staff(ctx): Staff,
    Path(id): Path<Uuid>,
) -> Result<axum::Json<Vec<JobNote>>, ApiError> {
    Ok(axum::Json(notes::list(&state.db, &ctx, id).await?))
}

/// Add a note to a job, written by the caller. 422 names `body` when it is empty
/// or longer than 5000 characters.
#[utoipa::path(post, path = "/jobs/{id}/notes", tag = "jobs", params(("id" = Uuid, Path)), request_body = NoteInput,
    responses((status = 201, body = JobNote), (status = 404, body = Problem), (status = 422, body = Problem), (status = 403, body = Problem)))]
async fn add_note(
    State(state): State<AppState>,
    Staff(ctx): Staff,
    Path(id): Path<Uuid>,
    Json(body): Json<NoteInput>,
) -> Result<(StatusCode, axum::Json<JobNote>), ApiError> {
    Ok((
        StatusCode::CREATED,
        axum::Json(notes::add(&state.db, &ctx, id, body).await?),
    ))
}

/// Change one of your own notes (`not_note_author` 403 for someone else's).
#[utoipa::path(put, path = "/jobs/{id}/notes/{note_id}", tag = "jobs", params(("id" = Uuid, Path), ("note_id" = Uuid, Path)), request_body = NoteInput,
    responses((status = 200, body = JobNote), (status = 404, body = Problem), (status = 422, body = Problem), (status = 403, body = Problem)))]
async fn edit_note(
    State(state): State<AppState>,
    Staff(ctx): Staff,
    Path((id, note_id)): Path<(Uuid, Uuid)>,
    Json(body): Json<NoteInput>,
) -> Result<axum::Json<JobNote>, ApiError> {
    Ok(axum::Json(
        notes::edit(&state.db, &ctx, id, note_id, body).await?,
    ))
}

/// Delete one of your own notes (`not_note_author` 403 for someone else's).
#[utoipa::path(delete, path = "/jobs/{id}/notes/{note_id}", tag = "jobs", params(("id" = Uuid, Path), ("note_id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = Problem), (status = 403, body = Problem)))]
async fn delete_note(
    State(state): State<AppState>,
    Staff(ctx): Staff,
    Path((id, note_id)): Path<(Uuid, Uuid)>,
) -> Result<StatusCode, ApiError> {
    notes::delete(&state.db, &ctx, id, note_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// One job with its lines and visits.
#[utoipa::path(get, path = "/jobs/{id}", tag = "jobs", params(("id" = Uuid, Path)),
    responses((status = 200, body = Job, headers(("ETag" = String, description = "The version in quotes, e.g. `\"3\"`: send it back as `If-Match`"))), (status = 404, body = Problem), (status = 403, body = Problem)))]
async fn get_job(
    State(state): State<AppState>,
    Staff(ctx): Staff,
    Path(id): Path<Uuid>,
) -> Result<Response, ApiError> {
    let job = service::get(&state.db, &ctx, id).await?;
    Ok(tagged(StatusCode::OK, job.version, job))
}

/// Change an active job's title, instructions, lines and billing. Requires the
/// `version` you read (or `If-Match`).
#[utoipa::path(put, path = "/jobs/{id}", tag = "jobs", params(("id" = Uuid, Path)), request_body = JobUpdate,
    responses((status = 200, body = Job, headers(("ETag" = String, description = "The version in quotes, e.g. `\"3\"`: send it back as `If-Match`"))), (status = 404, body = Problem), (status = 409, body = Problem), (status = 412, body = Problem), (status = 403, body = Problem)))]
async fn update_job(
    State(state): State<AppState>,
    Staff(ctx): Staff,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
    Json(body): Json<JobUpdate>,
) -> Result<Response, ApiError> {
    let expected = Expected::required(&headers, body.version)?;
    let job = service::update(&state.db, &ctx, id, expected.version, body)
        .await
        .map_err(|e| expected.map_stale(e))?;
    Ok(tagged(StatusCode::OK, job.version, job))
}

/// Complete a job. Open visits are refused (409 `open_visits`, listing them) unless
/// `complete_open_visits: true` completes them too.
#[utoipa::path(post, path = "/jobs/{id}/complete", tag = "jobs", params(("id" = Uuid, Path)), request_body = CompleteJob,
    responses((status = 200, body = Job), (status = 409, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn complete_job(
    State(state): State<AppState>,
    Staff(ctx): Staff,
    Path(id): Path<Uuid>,
    OptionalJson(body): OptionalJson<CompleteJob>,
) -> Result<axum::Json<Job>, ApiError> {
    Ok(axum::Json(
        service::complete(&state.db, &ctx, id, body).await?,
    ))
}

/// Cancel a job: its future and unscheduled visits are removed; past ones stay.
#[utoipa::path(post, path = "/jobs/{id}/cancel", tag = "jobs", params(("id" = Uuid, Path)), request_body = VersionBody,
    responses((status = 200, body = Job), (status = 409, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn cancel_job(
    State(state): State<AppState>,
    Staff(ctx): Staff,
    Path(id): Path<Uuid>,
    OptionalJson(body): OptionalJson<VersionBody>,
) -> Result<axum::Json<Job>, ApiError> {
    Ok(axum::Json(
        service::cancel(&state.db, &ctx, id, body.version).await?,
    ))
}

/// One visit. Technicians see only visits assigned to them.
#[utoipa::path(get, path = "/visits/{id}", tag = "visits", params(("id" = Uuid, Path)),
    responses((status = 200, body = Visit, headers(("ETag" = String, description = "The version in quotes, e.g. `\"3\"`: send it back as `If-Match`"))), (status = 404, body = Problem)))]
async fn get_visit(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<Uuid>,
) -> Result<Response, ApiError> {
    let visit = service::get_visit(&state.db, &ctx, id).await?;
    Ok(tagged(StatusCode::OK, visit.version, visit))
}

/// Add notes (anyone on the visit); change instructions or add checklist items
/// (office staff).
#[utoipa::path(patch, path = "/visits/{id}", tag = "visits", params(("id" = Uuid, Path)), request_body = VisitPatch,
    responses((status = 200, body = Visit), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 412, body = Problem)))]
async fn update_visit(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
    Json(mut body): Json<VisitPatch>,
) -> Result<axum::Json<Visit>, ApiError> {
    let expected = Expected::optional(&headers, body.version)?;
    body.version = expected.map(|e| e.version);
    service::update_visit(&state.db, &ctx, id, body)
        .await
        .map_err(crate::http::concurrency::map_stale(expected))
        .map(axum::Json)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Tick {
    pub done: bool,
    /// The visit's version as you read it (or `If-Match`): optional; when sent, a
    /// visit changed since is 409 `version_conflict` (412 with `If-Match`).
    pub version: Option<i32>,
}

/// Tick or untick a checklist item. Optionally based on the visit's `version`.
#[utoipa::path(patch, path = "/visits/{id}/checklist/{item_id}", tag = "visits", params(("id" = Uuid, Path), ("item_id" = Uuid, Path)), request_body = Tick,
    responses((status = 200, body = Visit), (status = 404, body = Problem), (status = 409, body = Problem), (status = 412, body = Problem), (status = 422, body = Problem)))]
async fn tick_item(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((id, item_id)): Path<(Uuid, Uuid)>,
    headers: HeaderMap,
    Json(body): Json<Tick>,
) -> Result<axum::Json<Visit>, ApiError> {
    let expected = Expected::optional(&headers, body.version)?;
    service::tick(
        &state.db,
        &ctx,
        id,
        item_id,
        body.done,
        expected.map(|e| e.version),
    )
    .await
    .map_err(crate::http::concurrency::map_stale(expected))
    .map(axum::Json)
}

/// Clock in to the visit (starts it), now or `at` the time it happened on a phone
/// that had no connection. Retrying is harmless; being clocked in to another visit
/// is refused (409 `already_clocked_in`).
#[utoipa::path(post, path = "/visits/{id}/clock-in", tag = "visits", params(("id" = Uuid, Path)),
    request_body(content = service::ClockAt),
    responses((status = 200, body = Visit), (status = 404, body = Problem), (status = 409, body = Problem),
              (status = 422, body = Problem, description = "`validation_failed`: `at` is in the future or more than 24 hours ago")))]
async fn clock_in(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<Uuid>,
    OptionalJson(body): OptionalJson<service::ClockAt>,
) -> Result<axum::Json<Visit>, ApiError> {
    Ok(axum::Json(
        service::clock_in(&state.db, &ctx, id, body).await?,
    ))
}

/// Clock out of the visit, now or `at` the time it happened (never before the
/// clock-in). Retrying is harmless.
#[utoipa::path(post, path = "/visits/{id}/clock-out", tag = "visits", params(("id" = Uuid, Path)),
    request_body(content = service::ClockAt),
    responses((status = 200, body = Visit), (status = 404, body = Problem),
              (status = 422, body = Problem, description = "`validation_failed`: `at` is in the future or more than 24 hours ago")))]
async fn clock_out(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<Uuid>,
    OptionalJson(body): OptionalJson<service::ClockAt>,
) -> Result<axum::Json<Visit>, ApiError> {
    Ok(axum::Json(
        service::clock_out(&state.db, &ctx, id, body).await?,
    ))
}

/// Complete the visit (clocks everyone out of it). Completing twice is harmless.
/// Optionally based on the visit's `version` (body or `If-Match`): a visit changed
/// since (moved, cancelled, completed, its instructions or checklist edited) is 409
/// `version_conflict` (412 with `If-Match`) and stays as it is.
#[utoipa::path(post, path = "/visits/{id}/complete", tag = "visits", params(("id" = Uuid, Path)),
    request_body(content = VersionBody),
    responses((status = 200, body = Visit), (status = 404, body = Problem), (status = 409, body = Problem), (status = 412, body = Problem)))]
async fn complete_visit(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
    OptionalJson(body): OptionalJson<VersionBody>,
) -> Result<axum::Json<Visit>, ApiError> {
    let expected = Expected::optional(&headers, body.version)?;
    service::complete_visit(&state.db, &ctx, id, expected.map(|e| e.version))
        .await
        .map_err(crate::http::concurrency::map_stale(expected))
        .map(axum::Json)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ScheduleParams {
    /// Window start (RFC 3339).
    #[serde(deserialize_with = "crate::domain::dates::instant")]
    pub from: DateTime<Utc>,
    /// Window end (RFC 3339), at most 92 days after `from`.
    #[serde(deserialize_with = "crate::domain::dates::instant")]
    pub to: DateTime<Utc>,
    /// Only visits assigned to this user (technicians always get their own).
    pub assignee: Option<Uuid>,
    /// Only visits assigned to any of these users, comma-separated (at most 50; with
    /// `assignee`, to any of them all): the technicians' lanes a calendar shows.
    pub assignees: Option<String>,
}

/// `assignee` and the comma-separated `assignees`, as one list (empty: everyone).
fn schedule_assignees(p: &ScheduleParams) -> Result<Vec<Uuid>, ApiError> {
    let mut ids: Vec<Uuid> = p.assignee.into_iter().collect();
    for part in p.assignees.as_deref().unwrap_or("").split(',') {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let id = Uuid::parse_str(part).map_err(|_| {
            ApiError::invalid(vec![FieldError::new(
                "assignees",
                format!("{part:?} is not a user id; give user ids separated by commas"),
            )])
        })?;
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    if ids.len() > 50 {
        return Err(ApiError::invalid(vec![FieldError::new(
            "assignees",
            "at most 50 users at a time",
        )]));
    }
    Ok(ids)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Schedule {
    /// Visits that overlap the window, in start order.
    pub visits: Vec<Visit>,
    /// Open visits without a time yet.
    pub unscheduled: Vec<Visit>,
}

/// The calendar: visits in the window and the unscheduled ones, of everyone or of
/// the technicians asked for (`assignee`, `assignees`): a calendar asks for the
/// lanes it shows.
#[utoipa::path(get, path = "/schedule", tag = "schedule", params(ScheduleParams),
    responses((status = 200, body = Schedule), (status = 422, body = Problem, description = "`validation_failed`: `to` is not after `from` or more than 92 days later, or `assignees` holds something else than at most 50 user ids")))]
async fn get_schedule(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(p): Query<ScheduleParams>,
) -> Result<axum::Json<Schedule>, ApiError> {
    if p.to <= p.from || p.to - p.from > chrono::Duration::days(92) {
        return Err(ApiError::invalid(vec![FieldError::new(
            "to",
            "must be after `from` and at most 92 days later",
        )]));
    }
    let assignees = schedule_assignees(&p)?;
    let visits = service::window(&state.db, &ctx, p.from, p.to, assignees).await?;
    let (scheduled, unscheduled) = visits.into_iter().partition(|v| v.starts_at.is_some());
    Ok(axum::Json(Schedule {
        visits: scheduled,
        unscheduled,
    }))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MyVisitsParams {
    /// Window start (RFC 3339).
    #[serde(deserialize_with = "crate::domain::dates::instant")]
    pub from: DateTime<Utc>,
    /// Window end (RFC 3339), at most 31 days after `from`.
    #[serde(deserialize_with = "crate::domain::dates::instant")]
    pub to: DateTime<Utc>,
}

/// The signed-in user's own scheduled visits overlapping the window (any role), in
/// start order, each with the job's work lines and the client's phones and emails:
/// what the field app keeps on the phone to work a day offline.
#[utoipa::path(get, path = "/me/visits", tag = "visits", params(MyVisitsParams),
    responses((status = 200, body = service::MyVisits), (status = 422, body = Problem, description = "`validation_failed`: `to` is not after `from` or more than 31 days later")))]
async fn my_visits(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(p): Query<MyVisitsParams>,
) -> Result<axum::Json<service::MyVisits>, ApiError> {
    if p.to <= p.from || p.to - p.from > chrono::Duration::days(31) {
        return Err(ApiError::invalid(vec![FieldError::new(
            "to",
            "must be after `from` and at most 31 days later",
        )]));
    }
    Ok(axum::Json(
        service::my_visits(&state.db, &ctx, p.from, p.to).await?,
    ))
}

/// Add a visit to a job at a time, with assignees. 409 `schedule_conflict` when an
/// assignee is already booked, unless `allow_overlap`.
#[utoipa::path(post, path = "/schedule/jobs", tag = "schedule", request_body = VisitSchedule,
    responses((status = 201, body = Visit), (status = 409, body = Problem), (status = 422, body = Problem), (status = 403, body = Problem)))]
async fn schedule_visit(
    State(state): State<AppState>,
    Staff(ctx): Staff,
    Json(body): Json<VisitSchedule>,
) -> Result<(StatusCode, axum::Json<Visit>), ApiError> {
    Ok((
        StatusCode::CREATED,
        axum::Json(service::schedule_visit(&state.db, &ctx, body).await?),
    ))
}

/// Move or reassign a visit (`id` is the visit's). Without `start_date` the visit
/// becomes unscheduled. 409 `schedule_conflict` on a double booking unless
/// `allow_overlap`.
#[utoipa::path(put, path = "/schedule/jobs/{id}", tag = "schedule", params(("id" = Uuid, Path)), request_body = VisitSchedule,
    responses((status = 200, body = Visit), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem), (status = 403, body = Problem), (status = 412, body = Problem)))]
async fn reschedule_visit(
    State(state): State<AppState>,
    Staff(ctx): Staff,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
    Json(mut body): Json<VisitSchedule>,
) -> Result<axum::Json<Visit>, ApiError> {
    let expected = Expected::optional(&headers, body.version)?;
    body.version = expected.map(|e| e.version);
    service::reschedule(&state.db, &ctx, id, body)
        .await
        .map_err(crate::http::concurrency::map_stale(expected))
        .map(axum::Json)
}
