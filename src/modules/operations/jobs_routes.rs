//! `/api/v1/admin/jobs`: an account's background jobs (dead ones above all), for its
//! owners and admins, on the public listener (the operator's view of every account's
//! jobs is `jobber jobs`). apalis keeps every account's jobs in one table; a job
//! carries its account in its payload and these routes only ever show and retry the
//! caller's.

use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::http::error::Problem;
use crate::http::extract::{Admin, Path, Query};
use crate::http::{ApiError, ErrorCode};
use crate::platform::queue::{self, JobInfo, JobState};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(retry))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// `pending`, `scheduled`, `running`, `done` or `dead`; all when absent.
    #[param(inline)]
    pub state: Option<JobState>,
    /// 1 to 200 (default 50), newest first.
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct JobList {
    pub data: Vec<JobInfo>,
}

/// The account's background jobs, newest first.
#[utoipa::path(get, path = "/admin/jobs", tag = "admin", params(ListParams),
    responses((status = 200, body = JobList), (status = 403, body = Problem)))]
async fn list(
    State(state): State<AppState>,
    Admin(ctx): Admin,
    Query(params): Query<ListParams>,
) -> Result<axum::Json<JobList>, ApiError> {
    let limit = params.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::new(
            ErrorCode::InvalidParameter,
            "limit must be between 1 and 200",
        ));
    }
    let data = queue::list(state.db.pool(), Some(ctx.account_id), params.state, limit)
        .await
        .map_err(ApiError::internal)?;
    Ok(axum::Json(JobList { data }))
}

/// Put a dead job back in its queue with a fresh set of attempts.
#[utoipa::path(post, path = "/admin/jobs/{id}/retry", tag = "admin", params(("id" = String, Path)),
    responses((status = 202, body = JobInfo), (status = 404, body = Problem), (status = 403, body = Problem)))]
async fn retry(
    State(state): State<AppState>,
    Admin(ctx): Admin,
    Path(id): Path<String>,
) -> Result<(axum::http::StatusCode, axum::Json<JobInfo>), ApiError> {
    let pool = state.db.pool();
    if !queue::retry_dead(pool, Some(ctx.account_id), &id)
        .await
        .map_err(ApiError::internal)?
    {
        return Err(ApiError::code(ErrorCode::BackgroundJobNotFound));
    }
    tracing::info!(account_id = %ctx.account_id, user_id = %ctx.user_id, job_id = %id, "dead job retried");
    let job = queue::get(pool, Some(ctx.account_id), &id)
        .await
        .map_err(ApiError::internal)?
        .ok_or_else(|| ApiError::code(ErrorCode::BackgroundJobNotFound))?;
    Ok((axum::http::StatusCode::ACCEPTED, axum::Json(job)))
}
