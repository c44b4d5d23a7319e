//! `/api/v1/settings…`: the business's settings and tax rates. Staff read them; only
//! owners and admins change them (billing settings).

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
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
use crate::http::multipart::Form;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_settings, update_settings))
        .merge(
            OpenApiRouter::new()
                .routes(routes!(get_logo, upload_logo, delete_logo))
                .layer(crate::http::multipart::body_limit(super::logo::MAX_BYTES)),
        )
        .routes(routes!(list_tax_rates, create_tax_rate))
        .routes(routes!(update_tax_rate, delete_tax_rate))
}

/// The business's settings.
#[utoipa::path(get, path = "/settings", tag = "settings", responses((status = 200, body = Settings, headers(("ETag" = String, description = "The version in quotes, e.g. `\"3\"`: send it back as `If-Match`"))), (status = 403, body = Problem)))]
async fn get_settings(
    State(state): State<AppState>,
    Staff(ctx): Staff,
) -> Result<Response, ApiError> {
    let settings = service::settings(&state.db, &ctx).await?;
    Ok(tagged(StatusCode::OK, settings.version, settings))
}

/// Change some settings (owner or admin). Requires the `version` you read.
#[utoipa::path(patch, path = "/settings", tag = "settings", request_body = SettingsPatch,
    responses((status = 200, body = Settings, headers(("ETag" = String, description = "The version in quotes, e.g. `\"3\"`: send it back as `If-Match`"))), (status = 409, body = Problem), (status = 422, body = Problem), (status = 403, body = Problem), (status = 412, body = Problem)))]
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

/// The multipart body of a logo upload.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
struct LogoForm {
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}

/// The logo: a redirect to a download address valid 15 minutes (404
/// `logo_not_found` when there is none).
#[utoipa::path(get, path = "/settings/logo", tag = "settings",
    responses((status = 307, description = "to the logo's signed download address"), (status = 404, body = Problem), (status = 403, body = Problem)))]
async fn get_logo(State(state): State<AppState>, Staff(ctx): Staff) -> Result<Response, ApiError> {
    let url = super::logo::url(&state.db, &state.storage, &ctx).await?;
    Ok(axum::response::Redirect::temporary(&url).into_response())
}

/// Upload the business's logo (owner or admin), printed on quotes and invoices and
/// shown in client emails. `multipart/form-data` with a `file` part: a JPEG or PNG
/// (recognised from its bytes, 415 otherwise) of at most 2 MiB that documents can
/// print (422 on `file` when not: a 16-bit, palette or interlaced PNG, or more than
/// 4096 x 4096 pixels). Metadata is removed. Replaces the previous logo.
#[utoipa::path(put, path = "/settings/logo", tag = "settings",
    request_body(content = LogoForm, content_type = "multipart/form-data"),
    responses((status = 200, body = Settings, headers(("ETag" = String, description = "The version in quotes, e.g. `\"3\"`: send it back as `If-Match`"))), (status = 413, body = Problem), (status = 415, body = Problem), (status = 422, body = Problem), (status = 403, body = Problem)))]
async fn upload_logo(
    State(state): State<AppState>,
    Admin(ctx): Admin,
    Form(multipart): Form,
) -> Result<Response, ApiError> {
    let upload = crate::http::multipart::read(multipart, super::logo::MAX_BYTES, &[]).await?;
    let settings = super::logo::set(&state.db, &state.storage, &ctx, upload.bytes).await?;
    Ok(tagged(StatusCode::OK, settings.version, settings))
}

/// Remove the logo (owner or admin); documents and emails show the business's name.
#[utoipa::path(delete, path = "/settings/logo", tag = "settings", responses((status = 200, body = Settings, headers(("ETag" = String, description = "The version in quotes, e.g. `\"3\"`: send it back as `If-Match`"))), (status = 403, body = Problem)))]
async fn delete_logo(
    State(state): State<AppState>,
    Admin(ctx): Admin,
) -> Result<Response, ApiError> {
    let settings = super::logo::remove(&state.db, &state.storage, &ctx).await?;
    Ok(tagged(StatusCode::OK, settings.version, settings))
}

/// The account's tax rates.
#[utoipa::path(get, path = "/settings/tax-rates", tag = "settings", responses((status = 200, body = Vec<TaxRate>), (status = 403, body = Problem)))]
async fn list_tax_rates(
    State(state): State<AppState>,
    Staff(ctx): Staff,
) -> Result<axum::Json<Vec<TaxRate>>, ApiError> {
    Ok(axum::Json(service::tax_rates(&state.db, &ctx).await?))
}

/// Add a tax rate (owner or admin).
#[utoipa::path(post, path = "/settings/tax-rates", tag = "settings", request_body = TaxRateInput,
    responses((status = 201, body = TaxRate), (status = 422, body = Problem), (status = 403, body = Problem)))]
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
    responses((status = 200, body = TaxRate, headers(("ETag" = String, description = "The version in quotes, e.g. `\"3\"`: send it back as `If-Match`"))), (status = 404, body = Problem), (status = 409, body = Problem), (status = 403, body = Problem), (status = 412, body = Problem)))]
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
    responses((status = 204, description = "deleted"), (status = 404, body = Problem), (status = 403, body = Problem)))]
async fn delete_tax_rate(
    State(state): State<AppState>,
    Admin(ctx): Admin,
    Path(id): Path<Uuid>,
) -> Result<StatusCode, ApiError> {
    service::delete_tax_rate(&state.db, &ctx, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
