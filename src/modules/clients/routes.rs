//! `/api/v1/clients…`: clients, their properties and their activity. Office staff only;
//! technicians reach clients through their visits.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::avatar::Source;
use super::model::{Client, ClientInput, ClientStatus, Property, PropertyInput};
use super::service::{self, Deletion, ListQuery};
use crate::app::AppState;
use crate::http::ApiError;
use crate::http::concurrency::{Expected, map_stale, tagged};
use crate::http::error::Problem;
use crate::http::extract::{Json, Path, Query, Staff};
use crate::http::multipart::{self, FileOrJson};
use crate::http::pagination::{Page, PageParams, PageRequest};
use crate::modules::activity::ActivityEntry;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_clients, create_client))
        .routes(routes!(get_client, update_client, delete_client))
        .routes(routes!(client_activity))
        .merge(
            OpenApiRouter::new()
                .routes(routes!(get_avatar, upload_avatar, delete_avatar))
                .layer(multipart::body_limit(super::avatar::MAX_BYTES)),
        )
        .routes(routes!(list_properties, create_property))
        .routes(routes!(get_property, update_property, delete_property))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ClientListParams {
    /// Page size, 1 to 200 (default 50).
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Search names, company, emails, phones and addresses (typo-tolerant).
    pub q: Option<String>,
    /// `lead`, `active` or `archived`.
    pub status: Option<ClientStatus>,
    /// Only clients with this tag (case-insensitive).
    pub tag: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct VersionParam {
    /// The version you read; a stale one is refused with 409.
    pub version: Option<i32>,
}

/// List clients, newest first; search with `q`, filter by `status` and `tag`.
#[utoipa::path(get, path = "/clients", tag = "clients", params(ClientListParams),
    responses((status = 200, body = Page<Client>), (status = 422, body = Problem), (status = 403, body = Problem)))]
async fn list_clients(
    State(state): State<AppState>,
    Staff(ctx): Staff,
    Query(params): Query<ClientListParams>,
) -> Result<axum::Json<Page<Client>>, ApiError> {
    let page = PageRequest::parse(params.limit, params.cursor.as_deref())?;
    if params.q.as_deref().is_some_and(|q| q.chars().count() > 200) {
        return Err(ApiError::field("q", "must be at most 200 characters"));
    }
    let query = ListQuery {
        status: params.status,
        tag: params.tag,
        q: params.q,
    };
    Ok(axum::Json(
        service::list(&state.db, &ctx, &query, page).await?,
    ))
}

/// Create a client. Honours `Idempotency-Key`.
#[utoipa::path(post, path = "/clients", tag = "clients", request_body = ClientInput,
    params(("Idempotency-Key" = Option<String>, Header, description = "Retry-safe key (Stripe's semantics)")),
    responses((status = 201, body = Client, headers(("ETag" = String, description = "The version in quotes, e.g. `\"3\"`: send it back as `If-Match`"), ("Location" = String, description = "The new client's address"))), (status = 422, body = Problem), (status = 403, body = Problem)))]
async fn create_client(
    State(state): State<AppState>,
    Staff(ctx): Staff,
    Json(body): Json<ClientInput>,
) -> Result<Response, ApiError> {
    if body.version.is_some() {
        return Err(ApiError::field(
            "version",
            "is set by the server; leave it out when creating",
        ));
    }
    let client = service::create(&state.db, &ctx, body.validate()?).await?;
    let mut response = tagged(StatusCode::CREATED, client.version, &client);
    if let Ok(location) = HeaderValue::from_str(&format!("/api/v1/clients/{}", client.id)) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

/// One client (`ETag` carries its version).
#[utoipa::path(get, path = "/clients/{id}", tag = "clients", params(("id" = Uuid, Path)),
    responses((status = 200, body = Client, headers(("ETag" = String, description = "The version in quotes, e.g. `\"3\"`: send it back as `If-Match`"))), (status = 404, body = Problem), (status = 403, body = Problem)))]
async fn get_client(
    State(state): State<AppState>,
    Staff(ctx): Staff,
    Path(id): Path<Uuid>,
) -> Result<Response, ApiError> {
    let client = service::get(&state.db, &ctx, id).await?;
    Ok(tagged(StatusCode::OK, client.version, client))
}

/// Replace a client. Requires the `version` you read (or `If-Match`).
#[utoipa::path(put, path = "/clients/{id}", tag = "clients", params(("id" = Uuid, Path)), request_body = ClientInput,
    responses((status = 200, body = Client, headers(("ETag" = String, description = "The version in quotes, e.g. `\"3\"`: send it back as `If-Match`"))), (status = 404, body = Problem), (status = 409, body = Problem), (status = 412, body = Problem), (status = 422, body = Problem), (status = 403, body = Problem)))]
async fn update_client(
    State(state): State<AppState>,
    Staff(ctx): Staff,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
    Json(body): Json<ClientInput>,
) -> Result<Response, ApiError> {
    let expected = Expected::required(&headers, body.version)?;
    let data = body.validate()?;
    let client = service::update(&state.db, &ctx, id, expected.version, data)
        .await
        .map_err(|e| expected.map_stale(e))?;
    Ok(tagged(StatusCode::OK, client.version, client))
}

/// Delete a client and its properties; a client with history is archived instead
/// (`result: "archived"`). `version` (or `If-Match`) is optional here.
#[utoipa::path(delete, path = "/clients/{id}", tag = "clients", params(("id" = Uuid, Path), VersionParam),
    responses((status = 200, body = Deletion), (status = 404, body = Problem), (status = 409, body = Problem), (status = 412, body = Problem), (status = 403, body = Problem)))]
async fn delete_client(
    State(state): State<AppState>,
    Staff(ctx): Staff,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
    Query(params): Query<VersionParam>,
) -> Result<axum::Json<Deletion>, ApiError> {
    let expected = Expected::optional(&headers, params.version)?;
    service::delete(
        &state.db,
        &state.storage,
        &ctx,
        id,
        expected.map(|e| e.version),
    )
    .await
    .map_err(map_stale(expected))
    .map(axum::Json)
}

/// The multipart body of an avatar upload.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
struct AvatarForm {
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}

/// The client's avatar: a redirect to a 256 x 256 JPEG's download address, valid 15
/// minutes (404 `avatar_not_found` while there is none ready).
#[utoipa::path(get, path = "/clients/{id}/avatar", tag = "clients", params(("id" = Uuid, Path)),
    responses((status = 307, description = "to the avatar's signed download address"), (status = 404, body = Problem), (status = 403, body = Problem)))]
async fn get_avatar(
    State(state): State<AppState>,
    Staff(ctx): Staff,
    Path(id): Path<Uuid>,
) -> Result<Response, ApiError> {
    let url = super::avatar::url(&state.db, &state.storage, &ctx, id).await?;
    Ok(axum::response::Redirect::temporary(&url).into_response())
}

/// The JSON body: use a picture uploaded before (`POST /uploads`).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AvatarUpload {
    /// The `id` of your upload; it is used up by this.
    upload_id: Uuid,
}

/// Upload the client's picture: `multipart/form-data` with a `file` part, a JPEG,
/// PNG, GIF or WebP picture (recognised from its bytes, 415 otherwise) of at most
/// 10 MiB, or `application/json` `{"upload_id"}` naming such a picture you uploaded
/// with `POST /uploads` (404 `upload_not_found`, 410 `upload_expired`, 415 for a
/// PDF, on the field `upload_id`). Metadata is removed. It is cropped to a 256 x 256 square in the
/// background: the client comes back with `avatar_status: "pending"`, then
/// `"ready"` and an `avatar_url` (or `"failed"` if the picture cannot be decoded).
/// Replaces the previous avatar.
#[utoipa::path(put, path = "/clients/{id}/avatar", tag = "clients", params(("id" = Uuid, Path)),
    request_body(content((AvatarForm = "multipart/form-data"), (AvatarUpload = "application/json"))),
    responses((status = 200, body = Client, headers(("ETag" = String, description = "The version in quotes, e.g. `\"3\"`: send it back as `If-Match`"))), (status = 404, body = Problem), (status = 410, body = Problem), (status = 413, body = Problem),
              (status = 415, body = Problem), (status = 422, body = Problem), (status = 403, body = Problem)))]
async fn upload_avatar(
    State(state): State<AppState>,
    Staff(ctx): Staff,
    Path(id): Path<Uuid>,
    body: FileOrJson<AvatarUpload>,
) -> Result<Response, ApiError> {
    let source = match body {
        FileOrJson::File(form) => {
            let upload = multipart::read(form, super::avatar::MAX_BYTES, &[]).await?;
            Source::File(upload.bytes)
        }
        FileOrJson::Json(body) => Source::Upload(body.upload_id),
    };
    let client = super::avatar::set(&state.db, &state.storage, &ctx, id, source).await?;
    Ok(tagged(StatusCode::OK, client.version, client))
}

/// Remove the client's avatar.
#[utoipa::path(delete, path = "/clients/{id}/avatar", tag = "clients", params(("id" = Uuid, Path)),
    responses((status = 200, body = Client, headers(("ETag" = String, description = "The version in quotes, e.g. `\"3\"`: send it back as `If-Match`"))), (status = 404, body = Problem), (status = 403, body = Problem)))]
async fn delete_avatar(
    State(state): State<AppState>,
    Staff(ctx): Staff,
    Path(id): Path<Uuid>,
) -> Result<Response, ApiError> {
    let client = super::avatar::remove(&state.db, &state.storage, &ctx, id).await?;
    Ok(tagged(StatusCode::OK, client.version, client))
}

/// Who created, changed or deleted the client and its properties, newest first.
#[utoipa::path(get, path = "/clients/{id}/activity", tag = "clients", params(("id" = Uuid, Path), PageParams),
    responses((status = 200, body = Page<ActivityEntry>), (status = 404, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem, description = "`validation_failed`: `limit` or `cursor` is invalid")))]
async fn client_activity(
    State(state): State<AppState>,
    Staff(ctx): Staff,
    Path(id): Path<Uuid>,
    Query(params): Query<PageParams>,
) -> Result<axum::Json<Page<ActivityEntry>>, ApiError> {
    let page = PageRequest::parse(params.limit, params.cursor.as_deref())?;
    Ok(axum::Json(
        service::activity(&state.db, &ctx, id, page).await?,
    ))
}

/// The client's properties (service addresses), oldest first.
#[utoipa::path(get, path = "/clients/{id}/properties", tag = "clients", params(("id" = Uuid, Path), PageParams),
    responses((status = 200, body = Page<Property>), (status = 404, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem, description = "`validation_failed`: `limit` or `cursor` is invalid")))]
async fn list_properties(
    State(state): State<AppState>,
    Staff(ctx): Staff,
    Path(id): Path<Uuid>,
    Query(params): Query<PageParams>,
) -> Result<axum::Json<Page<Property>>, ApiError> {
    let page = PageRequest::parse(params.limit, params.cursor.as_deref())?;
    Ok(axum::Json(
        service::list_properties(&state.db, &ctx, id, page).await?,
    ))
}

/// Add a property to a client. Honours `Idempotency-Key`.
#[utoipa::path(post, path = "/clients/{id}/properties", tag = "clients", params(("id" = Uuid, Path)), request_body = PropertyInput,
    responses((status = 201, body = Property, headers(("ETag" = String, description = "The version in quotes, e.g. `\"3\"`: send it back as `If-Match`"))), (status = 404, body = Problem), (status = 422, body = Problem), (status = 403, body = Problem)))]
async fn create_property(
    State(state): State<AppState>,
    Staff(ctx): Staff,
    Path(id): Path<Uuid>,
    Json(body): Json<PropertyInput>,
) -> Result<Response, ApiError> {
    if body.version.is_some() {
        return Err(ApiError::field(
            "version",
            "is set by the server; leave it out when creating",
        ));
    }
    let property = service::create_property(&state.db, &ctx, id, body.validate()?).await?;
    Ok(tagged(StatusCode::CREATED, property.version, property))
}

/// One property.
#[utoipa::path(get, path = "/clients/{id}/properties/{property_id}", tag = "clients", params(("id" = Uuid, Path), ("property_id" = Uuid, Path)),
    responses((status = 200, body = Property, headers(("ETag" = String, description = "The version in quotes, e.g. `\"3\"`: send it back as `If-Match`"))), (status = 404, body = Problem), (status = 403, body = Problem)))]
async fn get_property(
    State(state): State<AppState>,
    Staff(ctx): Staff,
    Path((id, property_id)): Path<(Uuid, Uuid)>,
) -> Result<Response, ApiError> {
    let property = service::get_property(&state.db, &ctx, id, property_id).await?;
    Ok(tagged(StatusCode::OK, property.version, property))
}

/// Replace a property. Requires the `version` you read (or `If-Match`).
#[utoipa::path(put, path = "/clients/{id}/properties/{property_id}", tag = "clients", params(("id" = Uuid, Path), ("property_id" = Uuid, Path)), request_body = PropertyInput,
    responses((status = 200, body = Property, headers(("ETag" = String, description = "The version in quotes, e.g. `\"3\"`: send it back as `If-Match`"))), (status = 404, body = Problem), (status = 409, body = Problem), (status = 412, body = Problem), (status = 422, body = Problem), (status = 403, body = Problem)))]
async fn update_property(
    State(state): State<AppState>,
    Staff(ctx): Staff,
    Path((id, property_id)): Path<(Uuid, Uuid)>,
    headers: HeaderMap,
    Json(body): Json<PropertyInput>,
) -> Result<Response, ApiError> {
    let expected = Expected::required(&headers, body.version)?;
    let data = body.validate()?;
    let property =
        service::update_property(&state.db, &ctx, id, property_id, expected.version, data)
            .await
            .map_err(|e| expected.map_stale(e))?;
    Ok(tagged(StatusCode::OK, property.version, property))
}

/// Delete a property.
#[utoipa::path(delete, path = "/clients/{id}/properties/{property_id}", tag = "clients", params(("id" = Uuid, Path), ("property_id" = Uuid, Path), VersionParam),
    responses((status = 204, description = "deleted"), (status = 404, body = Problem), (status = 409, body = Problem), (status = 412, body = Problem), (status = 403, body = Problem)))]
async fn delete_property(
    State(state): State<AppState>,
    Staff(ctx): Staff,
    Path((id, property_id)): Path<(Uuid, Uuid)>,
    headers: HeaderMap,
    Query(params): Query<VersionParam>,
) -> Result<StatusCode, ApiError> {
    let expected = Expected::optional(&headers, params.version)?;
    service::delete_property(
        &state.db,
        &ctx,
        id,
        property_id,
        expected.map(|e| e.version),
    )
    .await
    .map_err(map_stale(expected))?;
    Ok(StatusCode::NO_CONTENT)
}
