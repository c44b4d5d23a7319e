//! `/api/v1/catalog`: products and services. Office staff manage it.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::{CatalogItem, CatalogItemInput, service};
use crate::app::AppState;
use crate::http::ApiError;
use crate::http::concurrency::{Expected, tagged};
use crate::http::error::Problem;
use crate::http::extract::{Json, Path, Query, Staff};
use crate::http::pagination::{Page, PageRequest};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_items, create_item))
        .routes(routes!(get_item, update_item, delete_item))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CatalogParams {
    pub limit: Option<i64>,
    pub cursor: Option<String>,
    /// Part of the name, any case.
    pub q: Option<String>,
    /// Only active (true) or inactive (false) items.
    pub active: Option<bool>,
}

/// The catalog, newest first.
#[utoipa::path(get, path = "/catalog", tag = "catalog", params(CatalogParams), responses((status = 200, body = Page<CatalogItem>), (status = 403, body = Problem), (status = 422, body = Problem, description = "`validation_failed`: `limit` or `cursor` is invalid")))]
async fn list_items(
    State(state): State<AppState>,
    Staff(ctx): Staff,
    Query(params): Query<CatalogParams>,
) -> Result<axum::Json<Page<CatalogItem>>, ApiError> {
    let page = PageRequest::parse(params.limit, params.cursor.as_deref())?;
    Ok(axum::Json(
        service::list(&state.db, &ctx, params.active, params.q.as_deref(), page).await?,
    ))
}

/// Add a product or service. Honours `Idempotency-Key`.
#[utoipa::path(post, path = "/catalog", tag = "catalog", request_body = CatalogItemInput,
    responses((status = 201, body = CatalogItem), (status = 422, body = Problem), (status = 403, body = Problem)))]
async fn create_item(
    State(state): State<AppState>,
    Staff(ctx): Staff,
    Json(body): Json<CatalogItemInput>,
) -> Result<(StatusCode, axum::Json<CatalogItem>), ApiError> {
    if body.version.is_some() {
        return Err(ApiError::field(
            "version",
            "is set by the server; leave it out when creating",
        ));
    }
    Ok((
        StatusCode::CREATED,
        axum::Json(service::create(&state.db, &ctx, body.validate()?).await?),
    ))
}

/// One item.
#[utoipa::path(get, path = "/catalog/{id}", tag = "catalog", params(("id" = Uuid, Path)),
    responses((status = 200, body = CatalogItem, headers(("ETag" = String, description = "The version in quotes, e.g. `\"3\"`: send it back as `If-Match`"))), (status = 404, body = Problem), (status = 403, body = Problem)))]
async fn get_item(
    State(state): State<AppState>,
    Staff(ctx): Staff,
    Path(id): Path<Uuid>,
) -> Result<Response, ApiError> {
    let item = service::get(&state.db, &ctx, id).await?;
    Ok(tagged(StatusCode::OK, item.version, item))
}

/// Replace an item. Requires the `version` you read (or `If-Match`).
#[utoipa::path(put, path = "/catalog/{id}", tag = "catalog", params(("id" = Uuid, Path)), request_body = CatalogItemInput,
    responses((status = 200, body = CatalogItem, headers(("ETag" = String, description = "The version in quotes, e.g. `\"3\"`: send it back as `If-Match`"))), (status = 404, body = Problem), (status = 409, body = Problem), (status = 412, body = Problem), (status = 403, body = Problem)))]
async fn update_item(
    State(state): State<AppState>,
    Staff(ctx): Staff,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
    Json(body): Json<CatalogItemInput>,
) -> Result<Response, ApiError> {
    let expected = Expected::required(&headers, body.version)?;
    let data = body.validate()?;
    let item = service::update(&state.db, &ctx, id, expected.version, data)
        .await
        .map_err(|e| expected.map_stale(e))?;
    Ok(tagged(StatusCode::OK, item.version, item))
}

/// Delete an item; documents keep their copies of its name and price.
#[utoipa::path(delete, path = "/catalog/{id}", tag = "catalog", params(("id" = Uuid, Path)),
    responses((status = 204, description = "deleted"), (status = 404, body = Problem), (status = 403, body = Problem)))]
async fn delete_item(
    State(state): State<AppState>,
    Staff(ctx): Staff,
    Path(id): Path<Uuid>,
) -> Result<StatusCode, ApiError> {
    service::delete(&state.db, &ctx, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
