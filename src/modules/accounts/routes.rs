//! `/api/v1/settings…`: the business's settings and tax rates. Staff read them; only
//! owners and admins change them (billing settings).

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::model::{Settings, TaxRate};
use super::service::{self, SettingsPatch, TaxRateInput};
use crate::app::AppState;
use crate::http::ApiError;
use crate::http::concurrency::{Expected, tagged};
use crate::http::error::Problem;
use crate::http::extract::{Admin, Json, Path, Staff};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_settings, update_settings))
        .routes(routes!(list_tax_rates, create_tax_rate))
        .routes(routes!(update_tax_rate, delete_tax_rate))
}

/// The business's settings.
#[utoipa::path(get, path = "/settings", tag = "settings", responses((status = 200, body = Settings)))]
async fn get_settings(
    State(state): State<AppState>,
    Staff(ctx): Staff,
) -> Result<Response, ApiError> {
    let settings = service::settings(&state.db, &ctx).await?;
    Ok(tagged(StatusCode::OK, settings.version, settings))
}

/// Change some settings (owner or admin). Requires the `version` you read.
#[utoipa::path(patch, path = "/settings", tag = "settings", request_body = SettingsPatch,
    responses((status = 200, body = Settings), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn update_settings(
    State(state): State<AppState>,
    Admin(ctx): Admin,
    headers: HeaderMap,
    Json(body): Json<SettingsPatch>,
) -> Result<Response, ApiError> {
    let expected = Expected::required(&headers, body.version)?;
    let settings = service::update_settings(&state.db, &ctx, expected.version, body)
        .await
        .map_err(|e| expected.map_stale(e))?;
    Ok(tagged(StatusCode::OK, settings.version, settings))
}

/// The account's tax rates.
#[utoipa::path(get, path = "/settings/tax-rates", tag = "settings", responses((status = 200, body = Vec<TaxRate>)))]
async fn list_tax_rates(
    State(state): State<AppState>,
    Staff(ctx): Staff,
) -> Result<axum::Json<Vec<TaxRate>>, ApiError> {
    Ok(axum::Json(service::tax_rates(&state.db, &ctx).await?))
}

/// Add a tax rate (owner or admin).
#[utoipa::path(post, path = "/settings/tax-rates", tag = "settings", request_body = TaxRateInput,
    responses((status = 201, body = TaxRate), (status = 422, body = Problem)))]
async fn create_tax_rate(
    State(state): State<AppState>,
    Admin(ctx): Admin,
    Json(body): Json<TaxRateInput>,
) -> Result<(StatusCode, axum::Json<TaxRate>), ApiError> {
    Ok((
        StatusCode::CREATED,
        axum::Json(service::create_tax_rate(&state.db, &ctx, body).await?),
    ))
}

/// Replace a tax rate (owner or admin). Requires the `version` you read.
#[utoipa::path(put, path = "/settings/tax-rates/{id}", tag = "settings", params(("id" = Uuid, Path)), request_body = TaxRateInput,
    responses((status = 200, body = TaxRate), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn update_tax_rate(
    State(state): State<AppState>,
    Admin(ctx): Admin,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
    Json(body): Json<TaxRateInput>,
) -> Result<Response, ApiError> {
    let expected = Expected::required(&headers, body.version)?;
    let rate = service::update_tax_rate(&state.db, &ctx, id, expected.version, body)
        .await
        .map_err(|e| expected.map_stale(e))?;
    Ok(tagged(StatusCode::OK, rate.version, rate))
}

/// Delete a tax rate; documents keep the rates they were made with.
#[utoipa::path(delete, path = "/settings/tax-rates/{id}", tag = "settings", params(("id" = Uuid, Path)),
    responses((status = 204, description = "deleted"), (status = 404, body = Problem)))]
async fn delete_tax_rate(
    State(state): State<AppState>,
    Admin(ctx): Admin,
    Path(id): Path<Uuid>,
) -> Result<StatusCode, ApiError> {
    service::delete_tax_rate(&state.db, &ctx, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
