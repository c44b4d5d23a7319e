use chrono::{Datelike, Duration, NaiveDate, NaiveTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::repo;
use crate::error::{Error, FieldError};
use crate::modules::accounts;
use crate::modules::jobs::service::zone;
use crate::modules::quotes::service::today;
use crate::modules::schedule::recurrence::resolve_local;
use crate::platform::cache::{self, Key};
use crate::platform::database::{Ctx, Db};

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Dashboard {
    /// The account's local date the figures are for.
    pub date: NaiveDate,
    pub currency: String,
    pub todays_visits: i64,
    /// Completed visits of per-visit jobs not yet invoiced.
    pub visits_to_invoice: i64,
    /// Completed jobs billed at the end and not yet invoiced.
    pub jobs_to_invoice: i64,
    pub overdue_invoices: i64,
    /// Unpaid balance of the overdue invoices, minor units. Sums (here and in
    /// every report) are exact integers that may exceed 2^63; see docs/api.md.
    pub overdue_amount: i128,
    /// Unpaid balance of every issued invoice, minor units.
    pub receivables: i128,
    /// Collected this calendar month so far.
    pub revenue_this_month: i128,
    /// Collected last calendar month.
    pub revenue_last_month: i128,
    /// Quotes sent and waiting for the client (sent or changes requested).
    pub quotes_awaiting_response: i64,
    /// Of the quotes sent in the last 12 months, the share approved, in basis points
    /// (2500 = 25 %); null when none were sent.
    pub quote_conversion_bps: Option<i64>,
}

fn first_of_month(date: NaiveDate) -> NaiveDate {
    date.with_day(1).unwrap_or(date)
}

/// Where the dashboard's and the jobs report's figures come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The aggregates the writes keep (migration `report_aggregates`): every request.
    Aggregates,
    /// A scan of the base tables, as before the aggregates: the oracle the property
    /// test checks the aggregates against. Slow at scale (hundreds of ms).
    FullScan,
}

/// A report's answer from the `reports` cache (docs/scaling.md, Caches), else
/// computed by `load` (`Db::read_to_cache`: while caching, on a replica only once it
/// has caught up with the primary). The key
/// is the account and `question`, which spells out every parameter, the local date
/// included where "today" matters. Reports are for office staff only, and no figure
/// depends on which staff role asks, so the role is not part of it.
async fn cached<T, Fut>(
    db: &Db,
    ctx: &Ctx,
    question: String,
    weigh: impl FnOnce(&T) -> usize,
    load: impl FnOnce() -> Fut,
) -> Result<T, Error>
where
    T: Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<T, Error>>,
{
    db.caches()
        .get(cache::Name::Reports)
        .get_or_compute(Key::query(ctx.account_id, &question), weigh, load)
        .await
}

/// The account's local date now, from its (cached) settings.
async fn local_today(db: &Db, ctx: &Ctx) -> Result<NaiveDate, Error> {
    Ok(today(&accounts::service::settings(db, ctx).await?))
}

pub async fn dashboard(db: &Db, ctx: &Ctx) -> Result<Dashboard, Error> {
    let question = format!("dashboard {}", local_today(db, ctx).await?);
    cached(
        db,
        ctx,
        question,
        |_| 0,
        || dashboard_from(db, ctx, Source::Aggregates),
    )
    .await
}

pub async fn dashboard_from(db: &Db, ctx: &Ctx, source: Source) -> Result<Dashboard, Error> {
    let mut tx = db.read_to_cache(ctx).await?;
    let settings = accounts::service::settings_in(&mut tx).await?;
    let today = today(&settings);
    let this_month = first_of_month(today);
    let last_month = first_of_month(this_month.pred_opt().unwrap_or(this_month));
    let end_of_last_month = this_month.pred_opt().unwrap_or(this_month);
    let (counts, revenue_this_month, revenue_last_month) = match source {
        Source::Aggregates => (
            repo::counts(&mut tx, today).await?,
            repo::collected(&mut tx, this_month, today).await?,
            repo::collected(&mut tx, last_month, end_of_last_month).await?,
        ),
        Source::FullScan => {
            let tz = zone(&settings);
            let day_start =
                resolve_local(tz, today.and_time(NaiveTime::MIN)).unwrap_or_else(Utc::now);
            let day_end = resolve_local(
                tz,
                today.succ_opt().unwrap_or(today).and_time(NaiveTime::MIN),
            )
            .unwrap_or_else(Utc::now);
            let zone = &settings.time_zone;
            (
                repo::full_scan::counts(&mut tx, today, day_start, day_end).await?,
                repo::full_scan::collected(&mut tx, zone, this_month, today).await?,
                repo::full_scan::collected(&mut tx, zone, last_month, end_of_last_month).await?,
            )
        }
    };
    let (sent, won) = repo::quote_conversion(&mut tx, Utc::now() - Duration::days(365)).await?;
    tx.commit().await?;
    Ok(Dashboard {
        date: today,
        currency: settings.currency,
        todays_visits: counts.todays_visits,
        visits_to_invoice: counts.visits_to_invoice,
        jobs_to_invoice: counts.jobs_to_invoice,
        overdue_invoices: counts.overdue_invoices,
        overdue_amount: counts.overdue_amount,
        receivables: counts.receivables,
        revenue_this_month,
        revenue_last_month,
        quotes_awaiting_response: counts.quotes_awaiting,
        quote_conversion_bps: (sent > 0).then(|| (won * 10_000 + sent / 2) / sent),
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Grouping {
    Day,
    Week,
    Month,
}

impl Grouping {
    fn as_str(self) -> &'static str {
        match self {
            Grouping::Day => "day",
            Grouping::Week => "week",
            Grouping::Month => "month",
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RevenuePeriod {
    /// First day of the period (weeks start on Monday).
    pub period: NaiveDate,
    /// Issued invoices' totals (void excluded), by issue date.
    pub invoiced: i128,
    /// Payments less refunds, by payment date.
    pub collected: i128,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Revenue {
    pub currency: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub periods: Vec<RevenuePeriod>,
    pub total_invoiced: i128,
    pub total_collected: i128,
}

pub fn check_range(from: NaiveDate, to: NaiveDate, max_days: i64) -> Result<(), Error> {
    if to < from || (to - from).num_days() > max_days {
        return Err(Error::invalid(vec![FieldError::new(
            "to",
            format!("must be on or after `from` and at most {max_days} days later"),
        )]));
    }
    Ok(())
}

pub async fn revenue(
    db: &Db,
    ctx: &Ctx,
    from: NaiveDate,
    to: NaiveDate,
    group: Grouping,
) -> Result<Revenue, Error> {
    let max_days = match group {
        Grouping::Day => 366,
        Grouping::Week | Grouping::Month => 3660,
    };
    check_range(from, to, max_days)?;
    let question = format!("revenue {from} {to} {}", group.as_str());
    cached(
        db,
        ctx,
        question,
        |revenue: &Revenue| revenue.periods.len(),
        || revenue_uncached(db, ctx, from, to, group),
    )
    .await
}

async fn revenue_uncached(
    db: &Db,
    ctx: &Ctx,
    from: NaiveDate,
    to: NaiveDate,
    group: Grouping,
) -> Result<Revenue, Error> {
    let mut tx = db.read_to_cache(ctx).await?;
    let settings = accounts::service::settings_in(&mut tx).await?;
    let rows = repo::revenue(&mut tx, &settings.time_zone, group.as_str(), from, to).await?;
    tx.commit().await?;
    let periods: Vec<RevenuePeriod> = rows
        .into_iter()
        .map(|r| RevenuePeriod {
            period: r.period,
            invoiced: r.invoiced,
            collected: r.collected,
        })
        .collect();
    Ok(Revenue {
        currency: settings.currency,
        from,
        to,
        total_invoiced: periods.iter().map(|p| p.invoiced).sum(),
        total_collected: periods.iter().map(|p| p.collected).sum(),
        periods,
    })
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StatusCount {
    pub status: String,
    pub count: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TechnicianCount {
    pub user_id: Uuid,
    pub name: String,
    pub completed_visits: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct JobsReport {
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// Jobs created in the range, by status.
    pub by_status: Vec<StatusCount>,
    /// Visits completed in the range, per assignee.
    pub completed_per_technician: Vec<TechnicianCount>,
    /// Mean total of the jobs created in the range (cancelled excluded), minor units.
    pub average_job_value: i64,
    pub currency: String,
}

pub async fn jobs(db: &Db, ctx: &Ctx, from: NaiveDate, to: NaiveDate) -> Result<JobsReport, Error> {
    check_range(from, to, 3660)?;
    cached(
        db,
        ctx,
        format!("jobs {from} {to}"),
        |report: &JobsReport| report.by_status.len() + report.completed_per_technician.len(),
        || jobs_from(db, ctx, from, to, Source::Aggregates),
    )
    .await
}

pub async fn jobs_from(
    db: &Db,
    ctx: &Ctx,
    from: NaiveDate,
    to: NaiveDate,
    source: Source,
) -> Result<JobsReport, Error> {
    check_range(from, to, 3660)?;
    let mut tx = db.read_to_cache(ctx).await?;
    let settings = accounts::service::settings_in(&mut tx).await?;
    let (by_status, technicians, average) = match source {
        Source::Aggregates => (
            repo::jobs_by_status(&mut tx, from, to).await?,
            repo::completed_per_technician(&mut tx, from, to).await?,
            repo::average_job_value(&mut tx, from, to).await?,
        ),
        Source::FullScan => {
            let tz = zone(&settings);
            let start = resolve_local(tz, from.and_time(NaiveTime::MIN)).unwrap_or_else(Utc::now);
            let end = resolve_local(tz, to.succ_opt().unwrap_or(to).and_time(NaiveTime::MIN))
                .unwrap_or_else(Utc::now);
            (
                repo::full_scan::jobs_by_status(&mut tx, start, end).await?,
                repo::full_scan::completed_per_technician(&mut tx, start, end).await?,
                repo::full_scan::average_job_value(&mut tx, start, end).await?,
            )
        }
    };
    tx.commit().await?;
    Ok(JobsReport {
        from,
        to,
        by_status: by_status
            .into_iter()
            .map(|(status, count)| StatusCount { status, count })
            .collect(),
        completed_per_technician: technicians
            .into_iter()
            .map(|t| TechnicianCount {
                user_id: t.user_id,
                name: t.name,
                completed_visits: t.completed_visits,
            })
            .collect(),
        average_job_value: average,
        currency: settings.currency,
    })
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Aging {
    pub date: NaiveDate,
    pub currency: String,
    /// Not yet due.
    pub current: i128,
    /// 0 to 30 days past due.
    pub days_0_30: i128,
    pub days_31_60: i128,
    pub days_61_90: i128,
    pub days_over_90: i128,
    pub total: i128,
    pub invoices: i64,
}

pub async fn aging(db: &Db, ctx: &Ctx) -> Result<Aging, Error> {
    let question = format!("aging {}", local_today(db, ctx).await?);
    cached(db, ctx, question, |_| 0, || aging_uncached(db, ctx)).await
}

async fn aging_uncached(db: &Db, ctx: &Ctx) -> Result<Aging, Error> {
    let mut tx = db.read_to_cache(ctx).await?;
    let settings = accounts::service::settings_in(&mut tx).await?;
    let date = today(&settings);
    let row = repo::aging(&mut tx, date).await?;
    tx.commit().await?;
    Ok(Aging {
        date,
        currency: settings.currency,
        total: row.current + row.days_0_30 + row.days_31_60 + row.days_61_90 + row.days_over_90,
        current: row.current,
        days_0_30: row.days_0_30,
        days_31_60: row.days_31_60,
        days_61_90: row.days_61_90,
        days_over_90: row.days_over_90,
        invoices: row.invoices,
    })
}

/// Recompute the account's report aggregates from its base tables (`jobber admin
/// rebuild-aggregates`). They are kept exact by every write; this is for repair, and
/// for data written while the aggregate triggers were disabled.
pub async fn rebuild_aggregates(db: &Db, account_id: Uuid) -> Result<(), Error> {
    let mut tx = db.tenant(account_id).await?;
    repo::rebuild_aggregates(&mut tx, account_id).await?;
    tx.commit().await?;
    Ok(())
}
