use axum::extract::State;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::service::{self, SearchResults};
use crate::app::AppState;
use crate::http::ApiError;
use crate::http::error::Problem;
use crate::http::extract::{Query, Staff};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(search))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    /// A client's name, email or phone; a quote's, job's or invoice's number
    /// (`Q-42`, `42`, `#42`) or title. Empty: nothing is found.
    pub q: Option<String>,
    /// Results of each kind, 1 to 20 (default 5); larger values are capped.
    pub limit: Option<i64>,
}

/// Find clients, quotes, jobs and invoices by name or number (office staff): the
/// command palette. Clients first, then quotes, jobs and invoices, at most `limit`
/// of each; exact numbers before partial matches, then newest first.
#[utoipa::path(get, path = "/search", tag = "search", params(SearchParams),
    responses((status = 200, body = SearchResults), (status = 403, body = Problem)))]
async fn search(
    State(state): State<AppState>,
    Staff(ctx): Staff,
    Query(params): Query<SearchParams>,
) -> Result<axum::Json<SearchResults>, ApiError> {
    Ok(axum::Json(
        service::search(
            &state.db,
            &ctx,
            params.q.as_deref().unwrap_or_default(),
            params.limit.unwrap_or(5),
        )
        .await?,
    ))
}
