//! Job and visit rules: planning visits from a schedule (recurring ones expanded in
//! the account's time zone), double-booking checks, completion and cancellation,
//! and what a technician may do on their own visits.

use chrono::{DateTime, Duration, NaiveDateTime, NaiveTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::model::{
    Billing, Job, JobInput, JobStatus, JobUpdate, PreviewVisit, Recurrence, RecurrencePreview,
    RecurrencePreviewInput, ScheduleInput, Visit, VisitStatus, WorkLine,
};
use super::repo::{self, Conflict, LineRecord, NewJob, NewVisit, VisitFilter};
use crate::domain::TimeZone;
use crate::domain::{AdjustmentDto, AdjustmentKind};
use crate::error::{Error, ErrorCode, FieldError};
use crate::modules::accounts::model::Sequence;
use crate::modules::accounts::model::Settings;
use crate::modules::activity::{self, Subject};
use crate::modules::catalog::{self, ResolvedLine};
use crate::modules::schedule::recurrence::{self, Rrule};
use crate::modules::users::model::Role;
use crate::modules::{accounts, clients, users};
use crate::platform::database::{Ctx, Db, Tx};
use crate::platform::events::{Event, Record};
use crate::platform::pagination::{Page, PageRequest};

/// Recurring jobs get their visits this far ahead at creation.
pub const HORIZON_DAYS: i64 = 366;
/// Lines on one job.
pub const MAX_LINES: usize = 200;
/// At most this many visits are generated at once.
pub const MAX_GENERATED: usize = 500;

fn job_not_found() -> Error {
    Error::code(ErrorCode::JobNotFound)
}

fn visit_not_found() -> Error {
    Error::code(ErrorCode::VisitNotFound)
}

pub fn zone(settings: &Settings) -> chrono_tz::Tz {
    TimeZone::parse(&settings.time_zone).map_or(chrono_tz::UTC, |t| t.0)
}

/// Where a visit sits on the calendar.
#[derive(Debug, Clone, Copy)]
pub struct Slot {
    pub index: Option<i32>,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub anytime: bool,
}

/// An anytime visit spans its local day.
fn day_slot(tz: chrono_tz::Tz, date: chrono::NaiveDate, index: Option<i32>) -> Option<Slot> {
    let start = recurrence::resolve_local(tz, date.and_time(NaiveTime::MIN))?;
    let end = recurrence::resolve_local(tz, date.succ_opt()?.and_time(NaiveTime::MIN))?;
    Some(Slot {
        index,
        starts_at: start,
        ends_at: end,
        anytime: true,
    })
}

/// The planned visits of a schedule, and the recurrence to remember.
pub struct Plan {
    pub slots: Vec<Slot>,
    pub recurrence: Option<(Rrule, NaiveDateTime)>,
    pub duration_minutes: i32,
    pub generated_until: Option<DateTime<Utc>>,
}

pub fn plan(
    tz: chrono_tz::Tz,
    schedule: &ScheduleInput,
    errors: &mut Vec<FieldError>,
) -> Option<Plan> {
    let duration = schedule.duration_minutes.unwrap_or(60);
    if !(1..=1440).contains(&duration) {
        errors.push(FieldError::new(
            "schedule.duration_minutes",
            "must be between 1 and 1440",
        ));
        return None;
    }
    let anytime = schedule.start_time.is_none();
    let first_local = schedule
        .start_date
        .and_time(schedule.start_time.unwrap_or(NaiveTime::MIN));
    let timed = |index: Option<i32>, start: DateTime<Utc>| Slot {
        index,
        starts_at: start,
        ends_at: start + Duration::minutes(i64::from(duration)),
        anytime: false,
    };
    let Some(first_instant) = recurrence::resolve_local(tz, first_local) else {
        errors.push(FieldError::new("schedule.start_date", "is out of range"));
        return None;
    };
    let Some(rule_text) = schedule
        .rrule
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty())
    else {
        let slot = if anytime {
            day_slot(tz, schedule.start_date, None)
        } else {
            Some(timed(None, first_instant))
        };
        return slot.map(|slot| Plan {
            slots: vec![slot],
            recurrence: None,
            duration_minutes: duration,
            generated_until: None,
        });
    };
    let rule = match Rrule::parse(rule_text) {
        Ok(rule) => rule,
        Err(error) => {
            errors.push(FieldError::new("schedule.rrule", error.to_string()));
            return None;
        }
    };
    // A series that started in the past is generated up to a year from now.
    let until = first_instant.max(Utc::now()) + Duration::days(HORIZON_DAYS);
    let occurrences =
        recurrence::occurrences(&rule, first_local, tz, first_instant, until, MAX_GENERATED);
    if occurrences.is_empty() {
        errors.push(FieldError::new(
            "schedule.rrule",
            "gives no visit in the year after start_date",
        ));
        return None;
    }
    // Cut short by MAX_GENERATED: the series resumes after its last visit.
    let generated_until = match occurrences.last() {
        Some(last) if occurrences.len() == MAX_GENERATED => last.start + Duration::seconds(1),
        _ => until,
    };
    let slots = occurrences
        .iter()
        .filter_map(|o| {
            let index = i32::try_from(o.index).ok();
            if anytime {
                day_slot(tz, o.local.date(), index)
            } else {
                Some(timed(index, o.start))
            }
        })
        .collect();
    Some(Plan {
        slots,
        recurrence: Some((rule, first_local)),
        duration_minutes: duration,
        generated_until: Some(generated_until),
    })
}

/// The first visits a recurring schedule gives, planned exactly as creating the job
/// would plan them (same expansion, window and time-zone rules); nothing is saved.
pub async fn preview_recurrence(
    db: &Db,
    ctx: &Ctx,
    input: RecurrencePreviewInput,
) -> Result<RecurrencePreview, Error> {
    let settings = accounts::service::settings(db, ctx).await?;
    let tz = zone(&settings);
    let mut errors = Vec::new();
    let limit = input.limit.unwrap_or(5);
    if !(1..=50).contains(&limit) {
        errors.push(FieldError::new("limit", "must be between 1 and 50"));
    }
    if input.rrule.trim().is_empty() {
        errors.push(FieldError::new("rrule", "is required"));
        return Err(Error::invalid(errors));
    }
    let schedule = ScheduleInput {
        start_date: input.start_date,
        start_time: input.start_time,
        duration_minutes: input.duration_minutes,
        rrule: Some(input.rrule),
        assignee_ids: Vec::new(),
        checklist: Vec::new(),
        allow_overlap: false,
    };
    // The plan's fields are named as in `POST /jobs` (`schedule.rrule`): here they
    // are at the top of the body.
    let mut planned = Vec::new();
    let plan = plan(tz, &schedule, &mut planned);
    errors.extend(planned.into_iter().map(|e| {
        FieldError {
            field: e
                .field
                .strip_prefix("schedule.")
                .unwrap_or(&e.field)
                .to_string(),
            message: e.message,
        }
    }));
    let Some(plan) = plan.filter(|_| errors.is_empty()) else {
        return Err(Error::invalid(errors));
    };
    let rrule = plan
        .recurrence
        .as_ref()
        .map(|(rule, _)| rule.to_string())
        .unwrap_or_default();
    let visits = plan
        .slots
        .iter()
        .take(limit as usize)
        .map(|slot| {
            let local_start = slot.starts_at.with_timezone(&tz).naive_local();
            PreviewVisit {
                index: slot.index.and_then(|i| u32::try_from(i).ok()).unwrap_or(0),
                date: local_start.date(),
                local_start,
                starts_at: slot.starts_at,
                ends_at: slot.ends_at,
                anytime: slot.anytime,
            }
        })
        .collect();
    Ok(RecurrencePreview {
        rrule,
        time_zone: tz.name().to_string(),
        visits,
        generated: u32::try_from(plan.slots.len()).unwrap_or(u32::MAX),
    })
}

/// Refuse double bookings (409 listing each conflict) unless overlap is allowed.
pub async fn check_conflicts(
    tx: &mut Tx,
    assignees: &[Uuid],
    slots: &[Slot],
    except: &[Uuid],
    allow_overlap: bool,
) -> Result<(), Error> {
    let timed: Vec<&Slot> = slots.iter().filter(|s| !s.anytime).collect();
    if allow_overlap || assignees.is_empty() || timed.is_empty() {
        return Ok(());
    }
    // Two dispatchers booking the same person at once: the second waits here and
    // then sees the first's visit.
    users::service::lock_people_in(tx, assignees).await?;
    let starts: Vec<DateTime<Utc>> = timed.iter().map(|s| s.starts_at).collect();
    let ends: Vec<DateTime<Utc>> = timed.iter().map(|s| s.ends_at).collect();
    let conflicts: Vec<Conflict> = repo::conflicts(tx, assignees, &starts, &ends, except).await?;
    if conflicts.is_empty() {
        return Ok(());
    }
    let fields = conflicts
        .iter()
        .take(20)
        .map(|c| {
            FieldError::new(
                "assignee_ids",
                format!(
                    "user {} is booked from {} to {} (visit {})",
                    c.user_id,
                    c.starts_at.to_rfc3339(),
                    c.ends_at.to_rfc3339(),
                    c.visit_id
                ),
            )
        })
        .collect();
    Err(Error::new(
        ErrorCode::ScheduleConflict,
        format!(
            "{} overlapping visit(s); change the time or assignees, or send allow_overlap: true",
            conflicts.len()
        ),
    )
    .with_fields(fields))
}

fn check_text(
    field: &str,
    value: Option<&str>,
    max: usize,
    errors: &mut Vec<FieldError>,
) -> Option<String> {
    crate::domain::optional_text(value, max).unwrap_or_else(|m| {
        errors.push(FieldError::new(field, m));
        None
    })
}

fn check_checklist(field: &str, items: &[String], errors: &mut Vec<FieldError>) -> Vec<String> {
    if items.len() > 50 {
        errors.push(FieldError::new(field, "at most 50 items"));
    }
    items
        .iter()
        .enumerate()
        .filter_map(|(i, text)| match crate::domain::required_text(text, 500) {
            Ok(text) => Some(text),
            Err(m) => {
                errors.push(FieldError::new(format!("{field}[{i}]"), m));
                None
            }
        })
        .collect()
}

async fn check_assignees(
    tx: &mut Tx,
    field: &str,
    ids: &[Uuid],
    errors: &mut Vec<FieldError>,
) -> Result<(), Error> {
    for missing in users::service::missing_active_in(tx, ids).await? {
        errors.push(FieldError::new(
            field,
            format!("{missing} is not an active user of this account"),
        ));
    }
    Ok(())
}

fn line_records(lines: &[ResolvedLine]) -> Result<(Vec<i64>, i64), Error> {
    let inputs: Vec<crate::money::LineInput> = lines
        .iter()
        .map(|l| crate::money::LineInput {
            quantity: l.quantity,
            unit_price: l.unit_price,
            taxable: l.taxable,
            selected: true,
        })
        .collect();
    let totals = crate::money::compute(&inputs, None, &[], None)
        .map_err(|e| Error::field(e.field(), e.to_string()))?;
    Ok((totals.line_totals, totals.subtotal))
}

/// Create a job (with its visits) in the caller's transaction; `lines` given means
/// they come from a quote and are already resolved.
pub async fn create_in(
    tx: &mut Tx,
    ctx: &Ctx,
    input: &JobInput,
    quote_id: Option<Uuid>,
    preset: Option<Vec<ResolvedLine>>,
) -> Result<Uuid, Error> {
    // An online booking acts for no user (its `Ctx` carries the nil id): the job then
    // has no creator and its activity no actor, rather than a user that does not exist.
    let actor = (!ctx.user_id.is_nil()).then_some(ctx.user_id);
    let settings = accounts::service::settings_in(tx).await?;
    let mut errors = Vec::new();
    let title = crate::domain::required_text(&input.title, 200).unwrap_or_else(|m| {
        errors.push(FieldError::new("title", m));
        String::new()
    });
    let instructions = check_text(
        "instructions",
        input.instructions.as_deref(),
        10_000,
        &mut errors,
    );
    clients::service::check_references(tx, input.client_id, input.property_id, &mut errors).await?;
    let lines = match preset {
        Some(lines) => lines,
        None => {
            if input.lines.len() > MAX_LINES {
                errors.push(FieldError::new("lines", format!("at most {MAX_LINES}")));
            }
            let requests: Vec<catalog::LineRequest<'_>> = input
                .lines
                .iter()
                .map(catalog::DocumentLineInput::request)
                .collect();
            catalog::service::resolve_lines(tx, &requests, &mut errors).await?
        }
    };
    let tz = zone(&settings);
    let (plan, checklist, assignees, allow_overlap) = match &input.schedule {
        Some(schedule) => {
            let checklist = check_checklist("schedule.checklist", &schedule.checklist, &mut errors);
            check_assignees(
                tx,
                "schedule.assignee_ids",
                &schedule.assignee_ids,
                &mut errors,
            )
            .await?;
            (
                plan(tz, schedule, &mut errors),
                checklist,
                schedule.assignee_ids.clone(),
                schedule.allow_overlap,
            )
        }
        None => (None, Vec::new(), Vec::new(), false),
    };
    if !errors.is_empty() {
        return Err(Error::invalid(errors));
    }
    let slots = plan.as_ref().map(|p| p.slots.clone()).unwrap_or_default();
    check_conflicts(tx, &assignees, &slots, &[], allow_overlap).await?;

    let (line_totals, total) = line_records(&lines)?;
    let id = Uuid::now_v7();
    let number = accounts::service::next_number_in(tx, Sequence::Job).await?;
    let rrule_text = plan
        .as_ref()
        .and_then(|p| p.recurrence.as_ref().map(|(rule, _)| rule.to_string()));
    let job = NewJob {
        id,
        number: &number,
        client_id: input.client_id,
        property_id: input.property_id,
        quote_id,
        title: &title,
        instructions: instructions.as_deref(),
        billing: input.billing.unwrap_or(Billing::OnCompletion).as_str(),
        rrule: rrule_text.as_deref(),
        first_start_local: plan
            .as_ref()
            .and_then(|p| p.recurrence.as_ref().map(|(_, first)| *first)),
        duration_minutes: plan.as_ref().map(|p| p.duration_minutes),
        anytime: slots.first().is_some_and(|s| s.anytime),
        generated_until: plan.as_ref().and_then(|p| p.generated_until),
        total,
        created_by: actor,
    };
    repo::insert_job(tx, ctx.account_id, &job).await?;
    let records: Vec<LineRecord<'_>> = lines
        .iter()
        .zip(&line_totals)
        .map(|(l, t)| LineRecord {
            catalog_item_id: l.catalog_item_id,
            name: &l.name,
            description: l.description.as_deref(),
            quantity: l.quantity,
            unit_price: l.unit_price,
            taxable: l.taxable,
            line_total: *t,
        })
        .collect();
    repo::replace_lines(tx, ctx.account_id, id, &records).await?;
    if slots.is_empty() {
        // Not scheduled yet: one visit waits on the calendar's unscheduled list.
        repo::insert_visit(
            tx,
            ctx.account_id,
            id,
            &NewVisit {
                id: Uuid::now_v7(),
                occurrence_index: None,
                starts_at: None,
                ends_at: None,
                anytime: false,
            },
        )
        .await?;
    }
    for slot in &slots {
        let visit_id = Uuid::now_v7();
        let visit = NewVisit {
            id: visit_id,
            occurrence_index: slot.index,
            starts_at: Some(slot.starts_at),
            ends_at: Some(slot.ends_at),
            anytime: slot.anytime,
        };
        repo::insert_visit(tx, ctx.account_id, id, &visit).await?;
        repo::set_assignees(tx, ctx.account_id, visit_id, &assignees).await?;
        repo::add_checklist(tx, ctx.account_id, visit_id, &checklist).await?;
    }
    activity::service::record(
        tx,
        ctx.account_id,
        actor,
        Subject::Job {
            id,
            client_id: input.client_id,
        },
        "created",
        serde_json::json!({"number": number, "visits": slots.len().max(1), "quote_id": quote_id}),
    )
    .await?;
    tx.raise(Event::JobCreated {
        job_id: id,
        client_id: input.client_id,
    });
    Ok(id)
}

pub async fn load_in(tx: &mut Tx, id: Uuid) -> Result<Job, Error> {
    let settings = accounts::service::settings_in(tx).await?;
    let row = repo::get_job(tx, id, false)
        .await?
        .ok_or_else(job_not_found)?;
    job_from_row(tx, row, &settings.currency).await
}

async fn job_from_row(tx: &mut Tx, row: repo::JobRow, currency: &str) -> Result<Job, Error> {
    let lines = repo::lines(tx, row.id).await?;
    let visits = repo::visits(tx, &VisitFilter::Jobs(vec![row.id]), false).await?;
    assemble(row, lines, visits, currency)
}

fn assemble(
    row: repo::JobRow,
    lines: Vec<super::model::JobLine>,
    visits: Vec<Visit>,
    currency: &str,
) -> Result<Job, Error> {
    let decode =
        |what: &str, value: &str| Error::internal(anyhow::anyhow!("unknown job {what} {value}"));
    Ok(Job {
        id: row.id,
        number: row.number,
        client_id: row.client_id,
        property_id: row.property_id,
        quote_id: row.quote_id,
        title: row.title,
        instructions: row.instructions,
        status: JobStatus::parse(&row.status).ok_or_else(|| decode("status", &row.status))?,
        billing: Billing::parse(&row.billing).ok_or_else(|| decode("billing", &row.billing))?,
        recurrence: match (row.rrule, row.first_start_local) {
            (Some(rrule), Some(first_start_local)) => Some(Recurrence {
                rrule,
                first_start_local,
                duration_minutes: row.duration_minutes,
                anytime: row.anytime,
            }),
            _ => None,
        },
        lines,
        total: row.total,
        currency: currency.to_string(),
        visits,
        completed_at: row.completed_at,
        cancelled_at: row.cancelled_at,
        version: row.version,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}

#[tracing::instrument(skip_all, fields(account_id = %ctx.account_id))]
pub async fn create(db: &Db, ctx: &Ctx, input: JobInput) -> Result<Job, Error> {
    let mut tx = db.tenant(ctx.account_id).await?;
    let id = create_in(&mut tx, ctx, &input, None, None).await?;
    let job = load_in(&mut tx, id).await?;
    tx.commit().await?;
    Ok(job)
}

pub async fn get(db: &Db, ctx: &Ctx, id: Uuid) -> Result<Job, Error> {
    let mut tx = db.tenant(ctx.account_id).await?;
    let job = load_in(&mut tx, id).await?;
    tx.commit().await?;
    Ok(job)
}

pub async fn list(
    db: &Db,
    ctx: &Ctx,
    status: Option<JobStatus>,
    client_id: Option<Uuid>,
    q: Option<&str>,
    to_invoice: bool,
    page: PageRequest,
) -> Result<Page<Job>, Error> {
    let pattern = q
        .map(|q| q.trim().trim_start_matches('#').trim())
        .filter(|q| !q.is_empty())
        .map(crate::domain::like_contains);
    let mut tx = db.read(ctx).await?;
    let settings = accounts::service::settings_in(&mut tx).await?;
    let rows = if to_invoice {
        repo::list_jobs_to_invoice(
            &mut tx,
            status.map(JobStatus::as_str),
            client_id,
            pattern.as_deref(),
            page.after,
            page.fetch_limit(),
        )
        .await?
    } else {
        repo::list_jobs(
            &mut tx,
            status.map(JobStatus::as_str),
            client_id,
            pattern.as_deref(),
            page.after,
            page.fetch_limit(),
        )
        .await?
    };
    let mut jobs = Vec::with_capacity(rows.len());
    for row in rows {
        jobs.push(job_from_row(&mut tx, row, &settings.currency).await?);
    }
    tx.commit().await?;
    Ok(Page::from_rows(jobs, page, |j| j.id))
}

async fn lock_active(
    tx: &mut Tx,
    id: Uuid,
    version: Option<i32>,
    action: &str,
) -> Result<repo::JobRow, Error> {
    let row = repo::get_job(tx, id, true)
        .await?
        .ok_or_else(job_not_found)?;
    if let Some(version) = version
        && version != row.version
    {
        return Err(users::service::stale_in(
            tx,
            Some(Record::Job(id)),
            row.version,
            row.updated_at,
        )
        .await);
    }
    if row.status != "active" {
        return Err(Error::new(
            ErrorCode::InvalidTransition,
            format!("a {} job cannot be {action}", row.status),
        ));
    }
    Ok(row)
}

pub async fn update(
    db: &Db,
    ctx: &Ctx,
    id: Uuid,
    version: i32,
    input: JobUpdate,
) -> Result<Job, Error> {
    let mut tx = db.tenant(ctx.account_id).await?;
    let current = lock_active(&mut tx, id, Some(version), "changed").await?;
    let mut errors = Vec::new();
    let title = crate::domain::required_text(&input.title, 200).unwrap_or_else(|m| {
        errors.push(FieldError::new("title", m));
        String::new()
    });
    let instructions = check_text(
        "instructions",
        input.instructions.as_deref(),
        10_000,
        &mut errors,
    );
    if input.lines.len() > MAX_LINES {
        errors.push(FieldError::new("lines", format!("at most {MAX_LINES}")));
    }
    let requests: Vec<catalog::LineRequest<'_>> = input
        .lines
        .iter()
        .map(catalog::DocumentLineInput::request)
        .collect();
    let lines = catalog::service::resolve_lines(&mut tx, &requests, &mut errors).await?;
    if !errors.is_empty() {
        return Err(Error::invalid(errors));
    }
    let (line_totals, total) = line_records(&lines)?;
    let billing = input
        .billing
        .unwrap_or(Billing::parse(&current.billing).unwrap_or(Billing::OnCompletion));
    // The open visits that show the job's instructions (they have none of their own),
    // read before the change: see below.
    let instructed = if current.instructions != instructions {
        repo::visits(&mut tx, &VisitFilter::Jobs(vec![id]), false)
            .await?
            .into_iter()
            .filter(|v| v.status.is_open())
            .map(|v| (v.id, v.instructions))
            .collect()
    } else {
        Vec::new()
    };
    repo::update_details(
        &mut tx,
        id,
        &title,
        instructions.as_deref(),
        billing.as_str(),
        total,
    )
    .await?;
    let records: Vec<LineRecord<'_>> = lines
        .iter()
        .zip(&line_totals)
        .map(|(l, t)| LineRecord {
            catalog_item_id: l.catalog_item_id,
            name: &l.name,
            description: l.description.as_deref(),
            quantity: l.quantity,
            unit_price: l.unit_price,
            taxable: l.taxable,
            line_total: *t,
        })
        .collect();
    repo::replace_lines(&mut tx, ctx.account_id, id, &records).await?;
    if !instructed.is_empty() {
        // New instructions are a change of each open visit that shows them: a
        // completion queued on a phone over the old ones must meet a new version
        // (409), not complete the visit unseen.
        let now = repo::visits(&mut tx, &VisitFilter::Jobs(vec![id]), false).await?;
        for (visit_id, before) in instructed {
            if now
                .iter()
                .any(|v| v.id == visit_id && v.instructions != before)
            {
                repo::touch_visit(&mut tx, visit_id).await?;
            }
        }
    }
    activity::service::record(
        &mut tx,
        ctx.account_id,
        Some(ctx.user_id),
        Subject::Job {
            id,
            client_id: current.client_id,
        },
        "updated",
        serde_json::json!({"total": {"from": current.total, "to": total}}),
    )
    .await?;
    tx.raise(Event::JobUpdated { job_id: id });
    let job = load_in(&mut tx, id).await?;
    tx.commit().await?;
    Ok(job)
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompleteJob {
    /// Also complete the job's open visits; without it, open visits are refused (409).
    #[serde(default)]
    pub complete_open_visits: bool,
    pub version: Option<i32>,
}

pub async fn complete(db: &Db, ctx: &Ctx, id: Uuid, input: CompleteJob) -> Result<Job, Error> {
    let mut tx = db.tenant(ctx.account_id).await?;
    let row = lock_active(&mut tx, id, input.version, "completed").await?;
    let visits = repo::visits(&mut tx, &VisitFilter::Jobs(vec![id]), false).await?;
    let open: Vec<&Visit> = visits.iter().filter(|v| v.status.is_open()).collect();
    if !open.is_empty() && !input.complete_open_visits {
        let fields = open
            .iter()
            .map(|v| FieldError::new("visits", format!("visit {} is {}", v.id, v.status.as_str())))
            .collect();
        return Err(Error::new(
            ErrorCode::OpenVisits,
            format!("{} visit(s) are still open; complete them first or send complete_open_visits: true", open.len()),
        )
        .with_fields(fields));
    }
    let completed = repo::complete_open_visits(&mut tx, id, ctx.user_id).await?;
    repo::set_status(&mut tx, id, JobStatus::Completed.as_str()).await?;
    tx.raise(Event::JobCompleted {
        job_id: id,
        client_id: row.client_id,
        visits_completed: completed,
    });
    let job = load_in(&mut tx, id).await?;
    tx.commit().await?;
    Ok(job)
}

pub async fn cancel(db: &Db, ctx: &Ctx, id: Uuid, version: Option<i32>) -> Result<Job, Error> {
    let mut tx = db.tenant(ctx.account_id).await?;
    let row = lock_active(&mut tx, id, version, "cancelled").await?;
    let removed = repo::delete_future_visits(&mut tx, id).await?;
    let cancelled = repo::cancel_open_visits(&mut tx, id).await?;
    repo::set_status(&mut tx, id, JobStatus::Cancelled.as_str()).await?;
    tx.raise(Event::JobCancelled {
        job_id: id,
        client_id: row.client_id,
        visits_removed: removed,
        visits_cancelled: cancelled,
    });
    let job = load_in(&mut tx, id).await?;
    tx.commit().await?;
    Ok(job)
}

// ---- visits ----

/// A visit the caller may see: staff see all; technicians only those assigned to them.
async fn visible_visit(tx: &mut Tx, ctx: &Ctx, id: Uuid, lock: bool) -> Result<Visit, Error> {
    let filter = VisitFilter::One(id);
    let visit = repo::visits(tx, &filter, lock)
        .await?
        .into_iter()
        .next()
        .ok_or_else(visit_not_found)?;
    if ctx.role == Role::Technician && !visit.assignee_ids.contains(&ctx.user_id) {
        return Err(visit_not_found());
    }
    Ok(visit)
}

async fn reload(tx: &mut Tx, id: Uuid) -> Result<Visit, Error> {
    repo::visits(tx, &VisitFilter::One(id), false)
        .await?
        .into_iter()
        .next()
        .ok_or_else(visit_not_found)
}

async fn check_visit_version(
    tx: &mut Tx,
    visit: &Visit,
    version: Option<i32>,
) -> Result<(), Error> {
    match version {
        Some(version) if version != visit.version => Err(users::service::stale_in(
            tx,
            Some(Record::Visit(visit.id)),
            visit.version,
            visit.updated_at,
        )
        .await),
        _ => Ok(()),
    }
}

/// One visit with the job's line items; a technician sees their prices only when
/// the account allows it.
pub async fn get_visit(db: &Db, ctx: &Ctx, id: Uuid) -> Result<Visit, Error> {
    let mut tx = db.tenant(ctx.account_id).await?;
    let mut visit = visible_visit(&mut tx, ctx, id, false).await?;
    let prices = ctx.role != Role::Technician
        || accounts::service::settings_in(&mut tx)
            .await?
            .show_prices_to_technicians;
    let lines = repo::lines(&mut tx, visit.job_id).await?;
    tx.commit().await?;
    visit.work = Some(
        lines
            .into_iter()
            .map(|l| WorkLine {
                name: l.name,
                description: l.description,
                quantity: l.quantity,
                unit_price: prices.then_some(l.unit_price),
                line_total: prices.then_some(l.line_total),
            })
            .collect(),
    );
    Ok(visit)
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VisitPatch {
    /// Notes from the field (technicians may write these).
    pub notes: Option<String>,
    /// Instructions for this visit (office staff only).
    pub instructions: Option<String>,
    /// Checklist items to add (office staff only).
    #[serde(default)]
    pub add_checklist: Vec<String>,
    pub version: Option<i32>,
}

pub async fn update_visit(db: &Db, ctx: &Ctx, id: Uuid, patch: VisitPatch) -> Result<Visit, Error> {
    let mut tx = db.tenant(ctx.account_id).await?;
    let visit = visible_visit(&mut tx, ctx, id, true).await?;
    check_visit_version(&mut tx, &visit, patch.version).await?;
    if ctx.role == Role::Technician
        && (patch.instructions.is_some() || !patch.add_checklist.is_empty())
    {
        return Err(Error::new(
            ErrorCode::Forbidden,
            "technicians may add notes and tick checklist items, not change instructions or the checklist",
        ));
    }
    let mut errors = Vec::new();
    let notes = match &patch.notes {
        Some(notes) => check_text("notes", Some(notes), 10_000, &mut errors),
        None => visit.notes.clone(),
    };
    let instructions = match &patch.instructions {
        Some(text) => check_text("instructions", Some(text), 10_000, &mut errors),
        None => None,
    };
    let checklist = check_checklist("add_checklist", &patch.add_checklist, &mut errors);
    if !errors.is_empty() {
        return Err(Error::invalid(errors));
    }
    repo::set_visit_notes(&mut tx, id, notes.as_deref()).await?;
    if patch.instructions.is_some() {
        // The visit's own instructions replace the job's for this visit.
        repo::set_visit_instructions(&mut tx, id, instructions.as_deref()).await?;
    }
    repo::add_checklist(&mut tx, ctx.account_id, id, &checklist).await?;
    let visit = reload(&mut tx, id).await?;
    tx.raise(Event::VisitUpdated {
        visit_id: id,
        job_id: visit.job_id,
    });
    tx.commit().await?;
    Ok(visit)
}

/// Tick or untick a checklist item. With `version` (the visit's, as the caller last
/// read it), a visit that changed since is refused (409 `version_conflict`), so a
/// tick queued on a phone is never replayed over an office change unseen.
pub async fn tick(
    db: &Db,
    ctx: &Ctx,
    visit_id: Uuid,
    item_id: Uuid,
    done: bool,
    version: Option<i32>,
) -> Result<Visit, Error> {
    let mut tx = db.tenant(ctx.account_id).await?;
    let visit = visible_visit(&mut tx, ctx, visit_id, true).await?;
    check_visit_version(&mut tx, &visit, version).await?;
    if !repo::set_checklist_done(&mut tx, visit_id, item_id, done, ctx.user_id).await? {
        return Err(Error::field(
            "item_id",
            "no such checklist item on this visit",
        ));
    }
    let visit = reload(&mut tx, visit_id).await?;
    // The checklist shows on the calendar: its cached windows must hear of it.
    tx.raise(Event::VisitUpdated {
        visit_id,
        job_id: visit.job_id,
    });
    tx.commit().await?;
    Ok(visit)
}

/// Start working on a visit. One open time entry per person: clocking in to a second
/// visit is refused until they clock out of the first.
/// `POST /visits/{id}/clock-in` and `/clock-out`: when it happened.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClockAt {
    /// When it happened (RFC 3339), for a clock-in or clock-out made on a phone with
    /// no connection and sent later; default now. At most 24 hours ago and not in the
    /// future (a minute of clock skew is taken as now). A clock-out is never before
    /// its clock-in.
    pub at: Option<DateTime<Utc>>,
}

/// The instant of a clock-in or clock-out: now, or the phone's time within bounds.
fn clock_time(at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Result<DateTime<Utc>, Error> {
    match at {
        None => Ok(now),
        Some(at) if at > now + Duration::minutes(1) => {
            Err(Error::field("at", "must not be in the future"))
        }
        Some(at) if at < now - Duration::hours(24) => {
            Err(Error::field("at", "must be within the last 24 hours"))
        }
        Some(at) => Ok(at.min(now)),
    }
}

pub async fn clock_in(db: &Db, ctx: &Ctx, id: Uuid, input: ClockAt) -> Result<Visit, Error> {
    let at = clock_time(input.at, Utc::now())?;
    let mut tx = db.tenant(ctx.account_id).await?;
    let visit = visible_visit(&mut tx, ctx, id, true).await?;
    if !visit.status.is_open() {
        return Err(Error::new(
            ErrorCode::InvalidTransition,
            format!("a {} visit cannot be clocked in to", visit.status.as_str()),
        ));
    }
    // A double tap sends two clock-ins at once: the second waits and sees the first.
    users::service::lock_people_in(&mut tx, &[ctx.user_id]).await?;
    match repo::open_time_entry(&mut tx, ctx.user_id).await? {
        // A retried clock-in (flaky connection) changes nothing.
        Some((_, open_visit)) if open_visit == id => {}
        Some((_, open_visit)) => {
            return Err(Error::new(
                ErrorCode::AlreadyClockedIn,
                format!("clock out of visit {open_visit} first"),
            ));
        }
        None => {
            repo::clock_in(&mut tx, ctx.account_id, id, ctx.user_id, at).await?;
            if visit.status == VisitStatus::Scheduled {
                repo::set_visit_status(&mut tx, id, VisitStatus::InProgress, None).await?;
            }
        }
    }
    let visit = reload(&mut tx, id).await?;
    tx.raise(Event::VisitUpdated {
        visit_id: id,
        job_id: visit.job_id,
    });
    tx.commit().await?;
    Ok(visit)
}

pub async fn clock_out(db: &Db, ctx: &Ctx, id: Uuid, input: ClockAt) -> Result<Visit, Error> {
    let at = clock_time(input.at, Utc::now())?;
    let mut tx = db.tenant(ctx.account_id).await?;
    visible_visit(&mut tx, ctx, id, true).await?;
    // Clocking out twice (a retry) is harmless.
    if let Some((entry, open_visit)) = repo::open_time_entry(&mut tx, ctx.user_id).await?
        && open_visit == id
    {
        repo::clock_out(&mut tx, entry, at).await?;
    }
    let visit = reload(&mut tx, id).await?;
    tx.raise(Event::VisitUpdated {
        visit_id: id,
        job_id: visit.job_id,
    });
    tx.commit().await?;
    Ok(visit)
}

/// Complete a visit (everyone on it is clocked out). Completing a completed visit is
/// harmless; with `version`, a visit that changed since the caller read it (the office
/// moved, cancelled or completed it, changed its instructions or checklist) is
/// refused with 409 `version_conflict` before anything else is looked at.
pub async fn complete_visit(
    db: &Db,
    ctx: &Ctx,
    id: Uuid,
    version: Option<i32>,
) -> Result<Visit, Error> {
    let mut tx = db.tenant(ctx.account_id).await?;
    let visit = visible_visit(&mut tx, ctx, id, true).await?;
    check_visit_version(&mut tx, &visit, version).await?;
    match visit.status {
        VisitStatus::Completed => {}
        VisitStatus::Cancelled => {
            return Err(Error::new(
                ErrorCode::InvalidTransition,
                "a cancelled visit cannot be completed",
            ));
        }
        VisitStatus::Scheduled | VisitStatus::InProgress => {
            repo::clock_out_visit(&mut tx, id).await?;
            repo::set_visit_status(&mut tx, id, VisitStatus::Completed, Some(ctx.user_id)).await?;
            tx.raise(Event::VisitCompleted {
                visit_id: id,
                job_id: visit.job_id,
                client_id: visit.client_id,
            });
        }
    }
    let visit = reload(&mut tx, id).await?;
    tx.commit().await?;
    Ok(visit)
}

/// A visit read on the caller's connection, for an in-transaction listener
/// (`notifications::service::on_event`); its work lines (and prices) are left out.
pub async fn visit_on(
    conn: &mut sqlx::PgConnection,
    id: Uuid,
) -> Result<Option<Visit>, sqlx::Error> {
    Ok(repo::visits(conn, &VisitFilter::One(id), false)
        .await?
        .into_iter()
        .next())
}

/// The first scheduled visit of a job, read on the caller's connection (an online
/// booking's confirmation describes it); its work lines (and prices) are left out.
pub async fn first_visit_on(
    conn: &mut sqlx::PgConnection,
    job_id: Uuid,
) -> Result<Option<Visit>, sqlx::Error> {
    Ok(repo::visits(conn, &VisitFilter::Jobs(vec![job_id]), false)
        .await?
        .into_iter()
        .filter(|v| v.starts_at.is_some())
        .min_by_key(|v| v.starts_at))
}

/// When the first scheduled visit of a job starts, read on the caller's connection
/// (an online booking's notice says when).
pub async fn first_start_on(
    conn: &mut sqlx::PgConnection,
    job_id: Uuid,
) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
    Ok(repo::visits(conn, &VisitFilter::Jobs(vec![job_id]), false)
        .await?
        .into_iter()
        .filter_map(|v| v.starts_at)
        .min())
}

/// A visit the caller may see (a technician only their own), as
/// `GET /visits/{id}` finds it; 404 otherwise.
pub async fn visible_visit_in(tx: &mut Tx, ctx: &Ctx, id: Uuid) -> Result<Visit, Error> {
    visible_visit(tx, ctx, id, false).await
}

/// Scheduled visits starting in `[from, to)` (visit reminders).
pub async fn visits_starting_in(
    tx: &mut Tx,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<Visit>, Error> {
    let visits = repo::visits(
        tx,
        &VisitFilter::Window {
            from,
            to,
            assignee: None,
        },
        false,
    )
    .await?;
    Ok(visits
        .into_iter()
        .filter(|v| {
            v.status == VisitStatus::Scheduled && v.starts_at.is_some_and(|s| s >= from && s < to)
        })
        .collect())
}

// ---- schedule ----

/// Visits in `[from, to)` plus unscheduled ones; technicians see only their own.
pub async fn window(
    db: &Db,
    ctx: &Ctx,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    assignees: Vec<Uuid>,
) -> Result<Vec<Visit>, Error> {
    let assignees = if ctx.role == Role::Technician {
        vec![ctx.user_id]
    } else {
        assignees
    };
    // Everything that changes the answer: the window, the lanes and whose view it
    // is (a technician's lanes are their own, whatever they asked for).
    let mut lanes = assignees.clone();
    lanes.sort_unstable();
    let viewer = if ctx.role == Role::Technician {
        format!("technician {}", ctx.user_id)
    } else {
        "staff".to_owned()
    };
    let lanes: Vec<String> = lanes.iter().map(Uuid::to_string).collect();
    let question = format!(
        "schedule {} {} {viewer} [{}]",
        from.to_rfc3339(),
        to.to_rfc3339(),
        lanes.join(",")
    );
    db.caches()
        .get(crate::platform::cache::Name::Schedule)
        .get_or_compute(
            crate::platform::cache::Key::query(ctx.account_id, &question),
            Vec::len,
            || async {
                let mut tx = db.read_to_cache(ctx).await?;
                let filter = VisitFilter::Lanes {
                    from,
                    to,
                    assignees,
                };
                let visits = repo::visits(&mut tx, &filter, false).await?;
                tx.commit().await?;
                Ok::<_, Error>(visits)
            },
        )
        .await
}

/// A client as the technician on the visit needs them: how to reach them.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct VisitClient {
    pub id: Uuid,
    pub name: String,
    pub phones: Vec<clients::model::ClientPhone>,
    pub emails: Vec<clients::model::ClientEmail>,
}

/// One of the caller's visits with what working it needs offline.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MyVisit {
    /// The visit, with `work` (prices as `GET /visits/{id}` shows them).
    pub visit: Visit,
    pub client: VisitClient,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MyVisits {
    /// The caller's scheduled visits overlapping the window, in start order.
    pub visits: Vec<MyVisit>,
    /// Whether prices are shown (always for office staff; for technicians when the
    /// account's `show_prices_to_technicians` is on).
    pub show_prices: bool,
}

/// The caller's own visits in `[from, to)`, each with the job's work lines and the
/// client's phones and emails: what the field app caches for a day offline. Cached
/// per user, role (prices) and window, emptied by the account's events as the
/// schedule's windows are.
pub async fn my_visits(
    db: &Db,
    ctx: &Ctx,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<MyVisits, Error> {
    let question = format!(
        "my_visits {} {:?} {} {}",
        ctx.user_id,
        ctx.role,
        from.to_rfc3339(),
        to.to_rfc3339()
    );
    db.caches()
        .get(crate::platform::cache::Name::MyVisits)
        .get_or_compute(
            crate::platform::cache::Key::query(ctx.account_id, &question),
            |mine: &MyVisits| mine.visits.len(),
            || load_my_visits(db, ctx, from, to),
        )
        .await
}

async fn load_my_visits(
    db: &Db,
    ctx: &Ctx,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<MyVisits, Error> {
    let mut tx = db.read_to_cache(ctx).await?;
    let filter = VisitFilter::Window {
        from,
        to,
        assignee: Some(ctx.user_id),
    };
    let visits: Vec<Visit> = repo::visits(&mut tx, &filter, false)
        .await?
        .into_iter()
        .filter(|v| v.starts_at.is_some())
        .collect();
    let show_prices = ctx.role != Role::Technician
        || accounts::service::settings_in(&mut tx)
            .await?
            .show_prices_to_technicians;
    let mut job_ids: Vec<Uuid> = visits.iter().map(|v| v.job_id).collect();
    job_ids.sort();
    job_ids.dedup();
    let mut lines: std::collections::HashMap<Uuid, Vec<WorkLine>> =
        std::collections::HashMap::new();
    for (job_id, l) in repo::lines_of(&mut tx, &job_ids).await? {
        lines.entry(job_id).or_default().push(WorkLine {
            name: l.name,
            description: l.description,
            quantity: l.quantity,
            unit_price: show_prices.then_some(l.unit_price),
            line_total: show_prices.then_some(l.line_total),
        });
    }
    let mut people: std::collections::HashMap<Uuid, VisitClient> = std::collections::HashMap::new();
    let mut out = Vec::with_capacity(visits.len());
    for mut visit in visits {
        let client = match people.get(&visit.client_id) {
            Some(client) => client.clone(),
            None => {
                let c = clients::service::get_in(&mut tx, visit.client_id).await?;
                let client = VisitClient {
                    id: c.id,
                    name: c.display_name,
                    phones: c.phones,
                    emails: c.emails,
                };
                people.insert(visit.client_id, client.clone());
                client
            }
        };
        visit.work = Some(lines.get(&visit.job_id).cloned().unwrap_or_default());
        out.push(MyVisit { visit, client });
    }
    tx.commit().await?;
    Ok(MyVisits {
        visits: out,
        show_prices,
    })
}

/// A visit's place on the calendar, as `POST/PUT /schedule/jobs` take it.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VisitSchedule {
    /// The job to add a visit to (`POST` only).
    pub job_id: Option<Uuid>,
    /// Day in the account's time zone; omit (with `start_time`) to unschedule.
    #[serde(default, deserialize_with = "crate::domain::dates::optional_date")]
    pub start_date: Option<chrono::NaiveDate>,
    /// Local start; omit for an anytime visit.
    #[schema(value_type = Option<String>, example = "09:00")]
    pub start_time: Option<NaiveTime>,
    pub duration_minutes: Option<i32>,
    /// Replaces the assignees (omit to keep them).
    pub assignee_ids: Option<Vec<Uuid>>,
    #[serde(default)]
    pub allow_overlap: bool,
    pub version: Option<i32>,
}

/// The slot a schedule request asks for; None: unscheduled. `default_minutes` is
/// the length when the request gives none (a moved visit keeps its length).
fn slot_for(
    tz: chrono_tz::Tz,
    input: &VisitSchedule,
    default_minutes: i32,
    errors: &mut Vec<FieldError>,
) -> Option<Slot> {
    let Some(date) = input.start_date else {
        if input.start_time.is_some() {
            errors.push(FieldError::new(
                "start_time",
                "needs start_date (omit both to unschedule the visit)",
            ));
        }
        return None;
    };
    let duration = input.duration_minutes.unwrap_or(default_minutes);
    if !(1..=1440).contains(&duration) {
        errors.push(FieldError::new(
            "duration_minutes",
            "must be between 1 and 1440",
        ));
        return None;
    }
    let slot = match input.start_time {
        None => day_slot(tz, date, None),
        Some(time) => recurrence::resolve_local(tz, date.and_time(time)).map(|start| Slot {
            index: None,
            starts_at: start,
            ends_at: start + Duration::minutes(i64::from(duration)),
            anytime: false,
        }),
    };
    if slot.is_none() {
        errors.push(FieldError::new("start_date", "is out of range"));
    }
    slot
}

/// Add a visit to an active job.
pub async fn schedule_visit(db: &Db, ctx: &Ctx, input: VisitSchedule) -> Result<Visit, Error> {
    let Some(job_id) = input.job_id else {
        return Err(Error::field("job_id", "is required"));
    };
    let mut tx = db.tenant(ctx.account_id).await?;
    lock_active(&mut tx, job_id, None, "scheduled")
        .await
        .map_err(|e| {
            if e.code == ErrorCode::JobNotFound {
                Error::field("job_id", "no such job")
            } else {
                e
            }
        })?;
    let settings = accounts::service::settings_in(&mut tx).await?;
    let mut errors = Vec::new();
    let assignees = input.assignee_ids.clone().unwrap_or_default();
    check_assignees(&mut tx, "assignee_ids", &assignees, &mut errors).await?;
    let job_minutes = repo::get_job(&mut tx, job_id, false)
        .await?
        .and_then(|j| j.duration_minutes)
        .unwrap_or(60);
    let slot = slot_for(zone(&settings), &input, job_minutes, &mut errors);
    if !errors.is_empty() {
        return Err(Error::invalid(errors));
    }
    check_conflicts(
        &mut tx,
        &assignees,
        slot.as_slice(),
        &[],
        input.allow_overlap,
    )
    .await?;
    let id = Uuid::now_v7();
    let visit = NewVisit {
        id,
        occurrence_index: None,
        starts_at: slot.map(|s| s.starts_at),
        ends_at: slot.map(|s| s.ends_at),
        anytime: slot.is_some_and(|s| s.anytime),
    };
    repo::insert_visit(&mut tx, ctx.account_id, job_id, &visit).await?;
    repo::set_assignees(&mut tx, ctx.account_id, id, &assignees).await?;
    let visit = reload(&mut tx, id).await?;
    tx.raise(Event::VisitScheduled {
        visit_id: id,
        job_id,
    });
    tx.commit().await?;
    Ok(visit)
}

/// Move or reassign a visit (drag and drop on the calendar).
pub async fn reschedule(
    db: &Db,
    ctx: &Ctx,
    id: Uuid,
    input: VisitSchedule,
) -> Result<Visit, Error> {
    if input.job_id.is_some() {
        return Err(Error::field("job_id", "a visit cannot move to another job"));
    }
    let mut tx = db.tenant(ctx.account_id).await?;
    let visit = visible_visit(&mut tx, ctx, id, true).await?;
    check_visit_version(&mut tx, &visit, input.version).await?;
    if !visit.status.is_open() {
        return Err(Error::new(
            ErrorCode::InvalidTransition,
            format!("a {} visit cannot be rescheduled", visit.status.as_str()),
        ));
    }
    let settings = accounts::service::settings_in(&mut tx).await?;
    let mut errors = Vec::new();
    let assignees = input
        .assignee_ids
        .clone()
        .unwrap_or_else(|| visit.assignee_ids.clone());
    check_assignees(&mut tx, "assignee_ids", &assignees, &mut errors).await?;
    // A moved visit keeps its length unless the request gives a new one.
    let current_minutes = match (visit.anytime, visit.starts_at, visit.ends_at) {
        (false, Some(start), Some(end)) => i32::try_from((end - start).num_minutes()).ok(),
        _ => repo::get_job(&mut tx, visit.job_id, false)
            .await?
            .and_then(|j| j.duration_minutes),
    }
    .filter(|m| (1..=1440).contains(m))
    .unwrap_or(60);
    let slot = slot_for(zone(&settings), &input, current_minutes, &mut errors);
    if !errors.is_empty() {
        return Err(Error::invalid(errors));
    }
    check_conflicts(
        &mut tx,
        &assignees,
        slot.as_slice(),
        &[id],
        input.allow_overlap,
    )
    .await?;
    repo::reschedule(
        &mut tx,
        id,
        slot.map(|s| s.starts_at),
        slot.map(|s| s.ends_at),
        slot.is_some_and(|s| s.anytime),
    )
    .await?;
    repo::set_assignees(&mut tx, ctx.account_id, id, &assignees).await?;
    activity::service::record(
        &mut tx,
        ctx.account_id,
        Some(ctx.user_id),
        Subject::Job { id: visit.job_id, client_id: visit.client_id },
        "visit_rescheduled",
        serde_json::json!({"visit_id": id, "from": visit.starts_at, "to": slot.map(|s| s.starts_at), "assignee_ids": assignees}),
    )
    .await?;
    tx.raise(Event::ScheduleChanged {
        visit_id: id,
        job_id: visit.job_id,
        assigned: assignees
            .iter()
            .filter(|a| !visit.assignee_ids.contains(a))
            .copied()
            .collect(),
        unassigned: visit
            .assignee_ids
            .iter()
            .filter(|a| !assignees.contains(a))
            .copied()
            .collect(),
    });
    let visit = reload(&mut tx, id).await?;
    tx.commit().await?;
    Ok(visit)
}

/// A user's visits in a window, for their calendar feed (no request context: the
/// feed's secret stands in for a login).
pub async fn visits_of_user_in(
    tx: &mut Tx,
    user_id: Uuid,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<Visit>, Error> {
    Ok(repo::visits(
        tx,
        &VisitFilter::Window {
            from,
            to,
            assignee: Some(user_id),
        },
        false,
    )
    .await?)
}

// ---- recurring series ----

/// Series are topped up when less than this much of the horizon is generated.
const EXTEND_MARGIN_DAYS: i64 = 30;

/// Generate the next visits of the account's recurring jobs, so a series always
/// reaches about `HORIZON_DAYS` ahead (the scheduler calls this daily). New visits
/// copy the assignees and checklist of the series' latest visit. Returns how many
/// visits were added.
#[tracing::instrument(skip_all, fields(account_id = %account_id))]
pub async fn extend_series(db: &Db, account_id: Uuid, now: DateTime<Utc>) -> Result<usize, Error> {
    let mut added = 0;
    loop {
        let mut tx = db.tenant(account_id).await?;
        let settings = accounts::service::settings_in(&mut tx).await?;
        let tz = zone(&settings);
        let until = now + Duration::days(HORIZON_DAYS);
        let horizon = until - Duration::days(EXTEND_MARGIN_DAYS);
        let batch = repo::series_to_extend(&mut tx, horizon, 50).await?;
        let done = batch.len() < 50;
        for series in &batch {
            let extended = extend_one(&mut tx, account_id, tz, series, until).await?;
            if extended > 0 {
                // New visits: calendars (and their cached windows) must hear of them.
                tx.raise(Event::JobUpdated { job_id: series.id });
            }
            added += extended;
        }
        tx.commit().await?;
        if done {
            return Ok(added);
        }
    }
}

/// Extend the recurring series of every account (the daily cron task); an
/// account that fails is logged and the others go on. Returns the visits added.
pub async fn extend_all_series(db: &Db, now: DateTime<Utc>) -> anyhow::Result<u64> {
    let mut added = 0u64;
    let mut failed = 0;
    let accounts = accounts::service::all_ids(db)
        .await
        .map_err(anyhow::Error::from)?;
    for account_id in accounts {
        match extend_series(db, account_id, now).await {
            Ok(n) => added += u64::try_from(n).unwrap_or(0),
            Err(error) => {
                failed += 1;
                tracing::warn!(%account_id, error = crate::error::chain(&error), "cannot extend recurring series");
            }
        }
    }
    if failed > 0 {
        anyhow::bail!("{failed} account(s) failed; {added} visits added to the others");
    }
    Ok(added)
}

async fn extend_one(
    tx: &mut Tx,
    account_id: Uuid,
    tz: chrono_tz::Tz,
    series: &repo::SeriesRow,
    until: DateTime<Utc>,
) -> Result<usize, Error> {
    let rule = match Rrule::parse(&series.rrule) {
        Ok(rule) => rule,
        Err(error) => {
            // Stored rules were parsed when saved; never loop on a bad one.
            tracing::error!(job_id = %series.id, %error, "stored RRULE does not parse; series stopped");
            repo::set_generated_until(tx, series.id, None).await?;
            return Ok(0);
        }
    };
    let occurrences = recurrence::occurrences(
        &rule,
        series.first_start_local,
        tz,
        series.generated_until,
        until,
        MAX_GENERATED,
    );
    let (mut assignees, checklist, next_index) = repo::series_template(tx, series.id).await?;
    let gone = users::service::missing_active_in(tx, &assignees).await?;
    assignees.retain(|a| !gone.contains(a));
    let duration = Duration::minutes(i64::from(series.duration_minutes.unwrap_or(60)));
    for o in &occurrences {
        let slot = if series.anytime {
            day_slot(tz, o.local.date(), i32::try_from(o.index).ok())
        } else {
            Some(Slot {
                index: i32::try_from(o.index).ok(),
                starts_at: o.start,
                ends_at: o.start + duration,
                anytime: false,
            })
        };
        let Some(slot) = slot else { continue };
        let visit_id = Uuid::now_v7();
        repo::insert_visit(
            tx,
            account_id,
            series.id,
            &NewVisit {
                id: visit_id,
                occurrence_index: slot.index,
                starts_at: Some(slot.starts_at),
                ends_at: Some(slot.ends_at),
                anytime: slot.anytime,
            },
        )
        .await?;
        repo::set_assignees(tx, account_id, visit_id, &assignees).await?;
        repo::add_checklist(tx, account_id, visit_id, &checklist).await?;
    }
    let next = occurrences
        .last()
        .map_or(u32::try_from(next_index).unwrap_or(0), |o| o.index + 1);
    let generated_until = match occurrences.last() {
        Some(last) if occurrences.len() == MAX_GENERATED => Some(last.start + Duration::seconds(1)),
        _ if rule.is_over(until, next) => None,
        _ => Some(until),
    };
    repo::set_generated_until(tx, series.id, generated_until).await?;
    Ok(occurrences.len())
}

// ---- billing ----

/// A line to bill, and the visit it bills (per-visit billing).
#[derive(Debug, Clone)]
pub struct BilledLine {
    pub line: ResolvedLine,
    pub visit_id: Option<Uuid>,
}

/// What a job has left to bill.
#[derive(Debug, Clone)]
pub struct Billable {
    pub job_id: Uuid,
    pub client_id: Uuid,
    pub property_id: Option<Uuid>,
    /// The quote the job came from (its deposits are applied to the invoice).
    pub quote_id: Option<Uuid>,
    pub title: String,
    pub lines: Vec<BilledLine>,
    pub visit_ids: Vec<Uuid>,
    /// The job's own lines are billed (billing at the end).
    pub whole_job: bool,
    /// The quote's discount still to grant: a percentage on every invoice, an
    /// amount once (None once an invoice has it).
    pub discount: Option<AdjustmentDto>,
    /// The quote's tax rates; None: the job was not priced by a quote.
    pub taxes: Option<Vec<super::model::TaxSnapshot>>,
}

fn nothing_to_invoice(detail: impl Into<String>) -> Error {
    Error::new(ErrorCode::NothingToInvoice, detail)
}

/// Lock the job and work out what to bill: at the end, its lines once; per visit,
/// its lines for each completed visit not yet billed. Nothing is ever billed twice.
pub async fn billable_in(tx: &mut Tx, job_id: Uuid) -> Result<Billable, Error> {
    let already = repo::lock_job_invoice(tx, job_id)
        .await?
        .ok_or_else(job_not_found)?;
    let row = repo::get_job(tx, job_id, false)
        .await?
        .ok_or_else(job_not_found)?;
    let settings = accounts::service::settings_in(tx).await?;
    let tz = zone(&settings);
    let lines = repo::lines(tx, job_id).await?;
    let visits = repo::uninvoiced_completed_visits(tx, job_id).await?;
    let resolved = |l: &super::model::JobLine, description: Option<String>| ResolvedLine {
        catalog_item_id: l.catalog_item_id,
        name: l.name.clone(),
        description,
        quantity: l.quantity,
        unit_price: l.unit_price,
        taxable: l.taxable,
    };
    let (billed, whole_job) = match Billing::parse(&row.billing) {
        Some(Billing::PerVisit) => {
            if visits.is_empty() {
                return Err(nothing_to_invoice(
                    "the job has no completed visit that is not invoiced yet",
                ));
            }
            let mut billed = Vec::new();
            for (visit_id, starts_at) in &visits {
                let day = starts_at
                    .map(|s| s.with_timezone(&tz).date_naive().to_string())
                    .unwrap_or_else(|| "unscheduled".into());
                for line in &lines {
                    let description = Some(match &line.description {
                        Some(text) => format!("Visit on {day}. {text}"),
                        None => format!("Visit on {day}"),
                    });
                    billed.push(BilledLine {
                        line: resolved(line, description),
                        visit_id: Some(*visit_id),
                    });
                }
            }
            (billed, false)
        }
        _ => {
            if let Some(invoice) = already {
                return Err(nothing_to_invoice(format!(
                    "the job is already on invoice {invoice}"
                )));
            }
            (
                lines
                    .iter()
                    .map(|l| BilledLine {
                        line: resolved(l, l.description.clone()),
                        visit_id: None,
                    })
                    .collect(),
                true,
            )
        }
    };
    if billed.is_empty() {
        return Err(nothing_to_invoice("the job has no lines to bill"));
    }
    let pricing = repo::pricing(tx, job_id).await?;
    let discount = pricing
        .discount_kind
        .as_deref()
        .and_then(AdjustmentKind::parse)
        .filter(|kind| *kind == AdjustmentKind::Percent || pricing.discount_invoice_id.is_none())
        .map(|kind| AdjustmentDto {
            kind,
            value: pricing.discount_value,
        });
    Ok(Billable {
        discount,
        taxes: pricing.taxes.map(|t| t.0),
        job_id,
        client_id: row.client_id,
        property_id: row.property_id,
        quote_id: row.quote_id,
        title: row.title,
        lines: billed,
        visit_ids: visits.into_iter().map(|(id, _)| id).collect(),
        whole_job,
    })
}

/// Record what `invoice_id` bills; `granted_discount`: it carries the job's
/// amount discount, which no later invoice of the job gets again.
pub async fn mark_invoiced_in(
    tx: &mut Tx,
    billable: &Billable,
    invoice_id: Uuid,
    granted_discount: bool,
) -> Result<(), Error> {
    repo::mark_invoiced(
        tx,
        billable.job_id,
        &billable.visit_ids,
        billable.whole_job,
        invoice_id,
    )
    .await?;
    if granted_discount
        && billable
            .discount
            .is_some_and(|d| d.kind == AdjustmentKind::Amount)
    {
        repo::set_discount_invoice(tx, billable.job_id, invoice_id).await?;
    }
    Ok(())
}

/// Give a job converted from a quote the quote's discount and tax rates.
pub async fn set_pricing_in(
    tx: &mut Tx,
    job_id: Uuid,
    discount: Option<AdjustmentDto>,
    taxes: &[super::model::TaxSnapshot],
) -> Result<(), Error> {
    Ok(repo::set_pricing(
        tx,
        job_id,
        discount.map(|d| d.kind.as_str()),
        discount.map_or(0, |d| d.value),
        taxes,
    )
    .await?)
}

pub async fn release_invoice_in(tx: &mut Tx, invoice_id: Uuid) -> Result<(), Error> {
    Ok(repo::release_invoice(tx, invoice_id).await?)
}

/// May the caller work with this job's files: staff always, a technician when
/// assigned to one of its visits. A job they may not see is not found.
pub async fn check_job_access_in(tx: &mut Tx, ctx: &Ctx, job_id: Uuid) -> Result<(), Error> {
    match repo::job_access(tx, job_id, ctx.user_id).await? {
        Some(assigned) if assigned || ctx.role != Role::Technician => Ok(()),
        _ => Err(job_not_found()),
    }
}

/// Whether the visit belongs to the job.
pub async fn visit_of_job_in(tx: &mut Tx, visit_id: Uuid, job_id: Uuid) -> Result<bool, Error> {
    Ok(repo::visit_job(tx, visit_id).await? == Some(job_id))
}

/// The client a job is for.
pub async fn client_of_in(tx: &mut Tx, job_id: Uuid) -> Result<Uuid, Error> {
    repo::get_job(tx, job_id, false)
        .await?
        .map(|j| j.client_id)
        .ok_or_else(job_not_found)
}

/// The client of a job and the users assigned to any of its visits, or `None` for a
/// job that is gone (the live hub routes job and visit events by these).
pub async fn audience_in(tx: &mut Tx, job_id: Uuid) -> Result<Option<(Uuid, Vec<Uuid>)>, Error> {
    Ok(repo::audience(tx, job_id).await?)
}
