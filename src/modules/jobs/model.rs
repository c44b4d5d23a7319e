use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::money::Quantity;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    Active,
    Completed,
    Cancelled,
}

impl JobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Active => "active",
            JobStatus::Completed => "completed",
            JobStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [
            JobStatus::Active,
            JobStatus::Completed,
            JobStatus::Cancelled,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }
}

/// When the job is invoiced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Billing {
    /// Each completed visit is invoiced.
    PerVisit,
    /// The whole job is invoiced when it is done.
    OnCompletion,
}

impl Billing {
    pub fn as_str(self) -> &'static str {
        match self {
            Billing::PerVisit => "per_visit",
            Billing::OnCompletion => "on_completion",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Billing::PerVisit, Billing::OnCompletion]
            .into_iter()
            .find(|s| s.as_str() == text)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum VisitStatus {
    Scheduled,
    InProgress,
    Completed,
    Cancelled,
}

impl VisitStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            VisitStatus::Scheduled => "scheduled",
            VisitStatus::InProgress => "in_progress",
            VisitStatus::Completed => "completed",
            VisitStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [
            VisitStatus::Scheduled,
            VisitStatus::InProgress,
            VisitStatus::Completed,
            VisitStatus::Cancelled,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }

    pub fn is_open(self) -> bool {
        matches!(self, VisitStatus::Scheduled | VisitStatus::InProgress)
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct JobLine {
    pub id: Uuid,
    pub position: i32,
    pub catalog_item_id: Option<Uuid>,
    pub name: String,
    pub description: Option<String>,
    #[schema(value_type = f64)]
    pub quantity: Quantity,
    pub unit_price: i64,
    pub taxable: bool,
    pub line_total: i64,
}

/// How a recurring job repeats.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Recurrence {
    /// RFC 5545 RRULE, e.g. `FREQ=WEEKLY;BYDAY=MO,TH`.
    pub rrule: String,
    /// The first visit's local start in the account's time zone, without an offset
    /// (`YYYY-MM-DDTHH:MM:SS`): not an RFC 3339 date-time.
    #[schema(value_type = String, example = "2026-05-04T09:00:00")]
    pub first_start_local: NaiveDateTime,
    pub duration_minutes: Option<i32>,
    pub anytime: bool,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Job {
    pub id: Uuid,
    pub number: String,
    pub client_id: Uuid,
    pub property_id: Option<Uuid>,
    pub quote_id: Option<Uuid>,
    pub title: String,
    pub instructions: Option<String>,
    pub status: JobStatus,
    pub billing: Billing,
    pub recurrence: Option<Recurrence>,
    pub lines: Vec<JobLine>,
    /// Sum of the line totals, minor units.
    pub total: i64,
    pub currency: String,
    pub visits: Vec<Visit>,
    pub completed_at: Option<DateTime<Utc>>,
    pub cancelled_at: Option<DateTime<Utc>>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChecklistItem {
    pub id: Uuid,
    pub text: String,
    pub done: bool,
    pub done_by: Option<Uuid>,
    pub done_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TimeEntry {
    pub id: Uuid,
    pub user_id: Uuid,
    pub started_at: DateTime<Utc>,
    /// Null while the user is clocked in.
    pub ended_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Visit {
    pub id: Uuid,
    pub job_id: Uuid,
    pub job_number: String,
    pub title: String,
    pub client_id: Uuid,
    pub client_name: String,
    /// The property's address on one line (the client's billing address when none).
    pub address: Option<String>,
    pub occurrence_index: Option<i32>,
    /// Null while unscheduled.
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    /// Any time that day (the day in the account's time zone).
    pub anytime: bool,
    pub status: VisitStatus,
    pub instructions: Option<String>,
    pub notes: Option<String>,
    pub assignee_ids: Vec<Uuid>,
    pub checklist: Vec<ChecklistItem>,
    pub time_entries: Vec<TimeEntry>,
    pub completed_at: Option<DateTime<Utc>>,
    pub completed_by: Option<Uuid>,
    pub version: i32,
    pub updated_at: DateTime<Utc>,
    /// The job's line items, on `GET /visits/{id}` only: what to do there. Prices
    /// are null for technicians unless the account shows them
    /// (`show_prices_to_technicians`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub work: Option<Vec<WorkLine>>,
}

/// A job line as the person doing the work sees it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WorkLine {
    pub name: String,
    pub description: Option<String>,
    #[schema(value_type = f64)]
    pub quantity: Quantity,
    pub unit_price: Option<i64>,
    pub line_total: Option<i64>,
}

/// A job line as sent by the API (catalog defaults as for quotes).
pub type JobLineInput = crate::modules::catalog::DocumentLineInput;

/// When the work happens. Without `start_time` the visits are "anytime" that day.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleInput {
    /// The first visit's day, in the account's time zone.
    #[serde(deserialize_with = "crate::domain::dates::date")]
    pub start_date: NaiveDate,
    /// Local start time; omit for an anytime visit.
    #[schema(value_type = Option<String>, example = "09:00")]
    pub start_time: Option<NaiveTime>,
    /// Default 60.
    pub duration_minutes: Option<i32>,
    /// RFC 5545 RRULE for a recurring job (`FREQ=WEEKLY;BYDAY=MO`; COUNT or UNTIL
    /// optional).
    pub rrule: Option<String>,
    #[serde(default)]
    pub assignee_ids: Vec<Uuid>,
    /// Checklist items every visit starts with.
    #[serde(default)]
    pub checklist: Vec<String>,
    /// Book the assignees even when they have overlapping visits.
    #[serde(default)]
    pub allow_overlap: bool,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JobInput {
    pub client_id: Uuid,
    pub property_id: Option<Uuid>,
    pub title: String,
    pub instructions: Option<String>,
    #[serde(default)]
    pub lines: Vec<JobLineInput>,
    pub billing: Option<Billing>,
    /// Omit to create the job with one unscheduled visit.
    pub schedule: Option<ScheduleInput>,
}

/// `PUT /jobs/{id}`: the job's details (scheduling goes through `/schedule`).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JobUpdate {
    pub title: String,
    pub instructions: Option<String>,
    #[serde(default)]
    pub lines: Vec<JobLineInput>,
    pub billing: Option<Billing>,
    pub version: Option<i32>,
}

/// A tax rate as the client agreed to it on the quote (stored as jsonb on the job).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(try_from = "StoredSnapshot")]
pub struct TaxSnapshot {
    pub name: String,
    /// The exact rate, as a percentage (`"8.875"`).
    pub rate: crate::money::Rate,
    /// `rate` rounded to basis points, kept for readers of the old format.
    pub rate_bps: i32,
}

impl TaxSnapshot {
    pub fn new(name: String, rate: crate::money::Rate) -> TaxSnapshot {
        TaxSnapshot {
            name,
            rate,
            rate_bps: rate.bps_rounded(),
        }
    }
}

/// A snapshot as stored: see [`crate::money::stored_rate`].
#[derive(Deserialize)]
struct StoredSnapshot {
    name: String,
    rate: Option<crate::money::Rate>,
    rate_bps: Option<i64>,
}

impl TryFrom<StoredSnapshot> for TaxSnapshot {
    type Error = String;
    fn try_from(stored: StoredSnapshot) -> Result<Self, Self::Error> {
        let rate = crate::money::stored_rate(stored.rate, stored.rate_bps)?;
        Ok(TaxSnapshot::new(stored.name, rate))
    }
}

/// `POST /jobs/recurrence/preview`: a recurring schedule as the job editor has it.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecurrencePreviewInput {
    /// The first visit's day, in the account's time zone.
    #[serde(deserialize_with = "crate::domain::dates::date")]
    pub start_date: NaiveDate,
    /// Local start time; omit for anytime visits.
    #[schema(value_type = Option<String>, example = "09:00")]
    pub start_time: Option<NaiveTime>,
    /// Default 60.
    pub duration_minutes: Option<i32>,
    /// RFC 5545 RRULE, as `schedule.rrule` of `POST /jobs`.
    pub rrule: String,
    /// How many visits to list: 1 to 50, default 5.
    pub limit: Option<u32>,
}

/// One visit a recurring schedule would get.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PreviewVisit {
    /// 0-based position in the series.
    pub index: u32,
    /// The visit's day in the account's time zone.
    pub date: NaiveDate,
    /// Its local start in the account's time zone (`YYYY-MM-DDTHH:MM:SS`, no offset);
    /// midnight for an anytime visit. A start that falls in a DST gap is moved
    /// forward as the visit will be.
    #[schema(value_type = String, example = "2026-05-04T09:00:00")]
    pub local_start: NaiveDateTime,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub anytime: bool,
}

/// The first visits of a recurring schedule, expanded by the code that creates them.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RecurrencePreview {
    /// The rule in canonical form (as the job will store it).
    pub rrule: String,
    /// The account's time zone the visits are expanded in.
    pub time_zone: String,
    pub visits: Vec<PreviewVisit>,
    /// How many visits creating the job now would generate (the first year, at
    /// most 500; a longer series is extended as time passes).
    pub generated: u32,
}
