//! `/api/v1/notifications`: every user's own notifications; and
//! `/api/v1/me/notification-settings`: which of them each user also gets by email.

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::{Notification, NotificationSettings, NotificationSettingsInput, service};
use crate::app::AppState;
use crate::http::ApiError;
use crate::http::error::Problem;
use crate::http::extract::{Ctx, Json, Path, Query};
use crate::http::pagination::{Page, PageRequest};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_notifications))
        .routes(routes!(unread_count))
        .routes(routes!(mark_read))
        .routes(routes!(mark_all_read))
        .routes(routes!(
            get_notification_settings,
            put_notification_settings
        ))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct NotificationParams {
    pub limit: Option<i64>,
    pub cursor: Option<String>,
    /// `true`: only unread ones.
    #[serde(default)]
    pub unread: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Unread {
    pub unread: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Marked {
    pub marked: u64,
}

/// The caller's notifications, newest first.
#[utoipa::path(get, path = "/notifications", tag = "notifications", params(NotificationParams),
    responses((status = 200, body = Page<Notification>), (status = 401, body = Problem), (status = 422, body = crate::http::error::Problem, description = "`validation_failed`: `limit` or `cursor` is invalid")))]
async fn list_notifications(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(params): Query<NotificationParams>,
) -> Result<axum::Json<Page<Notification>>, ApiError> {
    let page = PageRequest::parse(params.limit, params.cursor.as_deref())?;
    Ok(axum::Json(
        service::list(&state.db, &ctx, params.unread, page).await?,
    ))
}

/// How many of the caller's notifications are unread (the badge).
#[utoipa::path(get, path = "/notifications/unread-count", tag = "notifications",
    responses((status = 200, body = Unread), (status = 401, body = Problem)))]
async fn unread_count(
    State(state): State<AppState>,
    ctx: Ctx,
) -> Result<axum::Json<Unread>, ApiError> {
    Ok(axum::Json(Unread {
        unread: service::unread_count(&state.db, &ctx).await?,
    }))
}

/// Mark one notification read.
#[utoipa::path(post, path = "/notifications/{id}/read", tag = "notifications", params(("id" = Uuid, Path)),
    responses((status = 204, description = "read"), (status = 404, body = Problem)))]
async fn mark_read(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<Uuid>,
) -> Result<StatusCode, ApiError> {
    service::mark_read(&state.db, &ctx, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Mark all of the caller's notifications read.
#[utoipa::path(post, path = "/notifications/read-all", tag = "notifications",
    responses((status = 200, body = Marked), (status = 401, body = Problem)))]
async fn mark_all_read(
    State(state): State<AppState>,
    ctx: Ctx,
) -> Result<axum::Json<Marked>, ApiError> {
    Ok(axum::Json(Marked {
        marked: service::mark_all_read(&state.db, &ctx).await?,
    }))
}

/// Which notifications the caller also gets by email, among the kinds their role
/// receives. Until they choose, owners and admins get quote approved, changes
/// requested, request or booking received and invoice paid; dispatchers and
/// technicians none.
#[utoipa::path(get, path = "/me/notification-settings", tag = "notifications",
    responses((status = 200, body = NotificationSettings), (status = 401, body = Problem)))]
async fn get_notification_settings(
    State(state): State<AppState>,
    ctx: Ctx,
) -> Result<axum::Json<NotificationSettings>, ApiError> {
    Ok(axum::Json(service::email_settings(&state.db, &ctx).await?))
}

/// Choose which notifications the caller gets by email: exactly the kinds in
/// `email` (`[]`: none). Each must be a kind the caller's role receives.
#[utoipa::path(put, path = "/me/notification-settings", tag = "notifications",
    request_body = NotificationSettingsInput,
    responses((status = 200, body = NotificationSettings), (status = 401, body = Problem),
        (status = 422, body = Problem, description = "`validation_failed`: `email[i]` is no kind of notification, or one the caller's role does not receive")))]
async fn put_notification_settings(
    State(state): State<AppState>,
    ctx: Ctx,
    Json(input): Json<NotificationSettingsInput>,
) -> Result<axum::Json<NotificationSettings>, ApiError> {
    Ok(axum::Json(
        service::set_email_settings(&state.db, &ctx, input).await?,
    ))
}
