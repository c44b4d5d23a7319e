//! `/api/v1/reports/…`. Office staff only.

use axum::extract::State;
use chrono::NaiveDate;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::service::{self, Aging, Dashboard, Grouping, JobsReport, Revenue};
use crate::app::AppState;
use crate::http::ApiError;
use crate::http::error::Problem;
use crate::http::extract::{Query, Staff};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(dashboard))
        .routes(routes!(revenue))
        .routes(routes!(jobs))
        .routes(routes!(aging))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RevenueParams {
    /// First local day (inclusive).
    pub from: NaiveDate,
    /// Last local day (inclusive).
    pub to: NaiveDate,
    /// `day`, `week` or `month` (default).
    pub group: Option<Grouping>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RangeParams {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

/// Today at a glance.
#[utoipa::path(get, path = "/reports/dashboard", tag = "reports", responses((status = 200, body = Dashboard)))]
async fn dashboard(
    State(state): State<AppState>,
    Staff(ctx): Staff,
) -> Result<axum::Json<Dashboard>, ApiError> {
    Ok(axum::Json(service::dashboard(&state.db, &ctx).await?))
}

/// Invoiced vs collected per day, week or month, in the account's time zone.
#[utoipa::path(get, path = "/reports/revenue", tag = "reports", params(RevenueParams),
    responses((status = 200, body = Revenue), (status = 422, body = Problem)))]
async fn revenue(
    State(state): State<AppState>,
    Staff(ctx): Staff,
    Query(p): Query<RevenueParams>,
) -> Result<axum::Json<Revenue>, ApiError> {
    Ok(axum::Json(
        service::revenue(
            &state.db,
            &ctx,
            p.from,
            p.to,
            p.group.unwrap_or(Grouping::Month),
        )
        .await?,
    ))
}

/// Jobs by status, completed visits per technician and the average job value.
#[utoipa::path(get, path = "/reports/jobs", tag = "reports", params(RangeParams),
    responses((status = 200, body = JobsReport), (status = 422, body = Problem)))]
async fn jobs(
    State(state): State<AppState>,
    Staff(ctx): Staff,
    Query(p): Query<RangeParams>,
) -> Result<axum::Json<JobsReport>, ApiError> {
    Ok(axum::Json(
        service::jobs(&state.db, &ctx, p.from, p.to).await?,
    ))
}

/// Unpaid balances by days past due.
#[utoipa::path(get, path = "/reports/aging", tag = "reports", responses((status = 200, body = Aging)))]
async fn aging(
    State(state): State<AppState>,
    Staff(ctx): Staff,
) -> Result<axum::Json<Aging>, ApiError> {
    Ok(axum::Json(service::aging(&state.db, &ctx).await?))
}
