//! `/api/v1/reports/…`. Office staff only.

use axum::extract::State;
use chrono::NaiveDate;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::exports::{self, Export, ExportRequest};
use super::service::{self, Aging, Dashboard, Grouping, JobsReport, Revenue};
use crate::app::AppState;
use crate::http::ApiError;
use crate::http::error::Problem;
use crate::http::extract::{Json, Path, Query, Staff};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(dashboard))
        .routes(routes!(revenue))
        .routes(routes!(jobs))
        .routes(routes!(aging))
        .routes(routes!(list_exports, request_export))
        .routes(routes!(get_export))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RevenueParams {
    /// First local day (inclusive).
    #[serde(deserialize_with = "crate::domain::dates::date")]
    pub from: NaiveDate,
    /// Last local day (inclusive).
    #[serde(deserialize_with = "crate::domain::dates::date")]
    pub to: NaiveDate,
    /// `day`, `week` or `month` (default).
    #[param(inline)]
    pub group: Option<Grouping>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RangeParams {
    #[serde(deserialize_with = "crate::domain::dates::date")]
    pub from: NaiveDate,
    #[serde(deserialize_with = "crate::domain::dates::date")]
    pub to: NaiveDate,
}

/// Today at a glance.
#[utoipa::path(get, path = "/reports/dashboard", tag = "reports", responses((status = 200, body = Dashboard), (status = 403, body = Problem)))]
async fn dashboard(
    State(state): State<AppState>,
    Staff(ctx): Staff,
) -> Result<axum::Json<Dashboard>, ApiError> {
    Ok(axum::Json(service::dashboard(&state.db, &ctx).await?))
}

/// Invoiced vs collected per day, week or month, in the account's time zone.
#[utoipa::path(get, path = "/reports/revenue", tag = "reports", params(RevenueParams),
    responses((status = 200, body = Revenue), (status = 422, body = Problem), (status = 403, body = Problem)))]
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
    responses((status = 200, body = JobsReport), (status = 422, body = Problem), (status = 403, body = Problem)))]
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
#[utoipa::path(get, path = "/reports/aging", tag = "reports", responses((status = 200, body = Aging), (status = 403, body = Problem)))]
async fn aging(
    State(state): State<AppState>,
    Staff(ctx): Staff,
) -> Result<axum::Json<Aging>, ApiError> {
    Ok(axum::Json(service::aging(&state.db, &ctx).await?))
}

/// Ask for a CSV export: `invoices` (issued in `from`..`to`), `payments` (received
/// in `from`..`to`) or `clients` (all). It is written in the background: `202` with
/// the export, `pending` until `ready` (with a signed `url`, valid 15 minutes; the
/// file is kept 7 days); you are notified in the app when it is ready.
#[utoipa::path(post, path = "/reports/exports", tag = "reports", request_body = ExportRequest,
    responses((status = 202, body = Export), (status = 422, body = Problem), (status = 403, body = Problem)))]
async fn request_export(
    State(state): State<AppState>,
    Staff(ctx): Staff,
    Json(body): Json<ExportRequest>,
) -> Result<(axum::http::StatusCode, axum::Json<Export>), ApiError> {
    let export = exports::request(&state.db, &state.storage, &ctx, body).await?;
    Ok((axum::http::StatusCode::ACCEPTED, axum::Json(export)))
}

/// The exports of the last 7 days, newest first.
#[utoipa::path(get, path = "/reports/exports", tag = "reports", responses((status = 200, body = Vec<Export>), (status = 403, body = Problem)))]
async fn list_exports(
    State(state): State<AppState>,
    Staff(ctx): Staff,
) -> Result<axum::Json<Vec<Export>>, ApiError> {
    Ok(axum::Json(
        exports::list(&state.db, &state.storage, &ctx).await?,
    ))
}

/// One export (poll it until `status` is `ready` or `failed`).
#[utoipa::path(get, path = "/reports/exports/{id}", tag = "reports", params(("id" = Uuid, Path)),
    responses((status = 200, body = Export), (status = 404, body = Problem), (status = 403, body = Problem)))]
async fn get_export(
    State(state): State<AppState>,
    Staff(ctx): Staff,
    Path(id): Path<Uuid>,
) -> Result<axum::Json<Export>, ApiError> {
    Ok(axum::Json(
        exports::get(&state.db, &state.storage, &ctx, id).await?,
    ))
}
