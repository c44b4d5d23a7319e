//! `/api/v1/users`: the account's team. Any staff member may list them (to assign
//! work); only owners and admins add or change them (`auth::team`, which invites
//! them and ends their sign-ins).

use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::team;
use crate::app::AppState;
use crate::domain::{Email, required_text};
use crate::http::concurrency::Expected;
use crate::http::extract::{Admin, ClientIp, Json, Path, Query, Staff};
use crate::http::pagination::{Page, PageParams, PageRequest};
use crate::http::{ApiError, FieldError};
use crate::modules::users::model::{NewUser, Role, User};
use crate::modules::users::password;
use crate::modules::users::service::{self, UserPatch};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_users, create_user))
        .routes(routes!(get_user, update_user))
        .routes(routes!(resend_invitation))
}

/// Email a team member who has not accepted yet a fresh invitation (owner or admin);
/// the previous link stops working.
#[utoipa::path(post, path = "/users/{id}/invitation", tag = "users", params(("id" = Uuid, Path)),
    responses((status = 202, body = User), (status = 404, body = crate::http::error::Problem), (status = 409, body = crate::http::error::Problem), (status = 403, body = crate::http::error::Problem)))]
async fn resend_invitation(
    State(state): State<AppState>,
    Admin(ctx): Admin,
    Path(id): Path<Uuid>,
) -> Result<(StatusCode, axum::Json<User>), ApiError> {
    let user = team::resend_invitation(&state.db, &ctx, &state.config.public_url, id).await?;
    Ok((StatusCode::ACCEPTED, axum::Json(user)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    pub name: String,
    pub email: String,
    pub role: Role,
    /// At least 10 characters. Leave out to email the person an invitation to
    /// choose their own (the user is `invited` until they accept).
    pub password: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUser {
    pub name: Option<String>,
    pub email: Option<String>,
    pub role: Option<Role>,
    /// `false` deactivates the user and ends their sessions.
    pub active: Option<bool>,
    /// A new password; ends the user's sessions.
    pub password: Option<String>,
    /// The version you read; a stale one is refused with 409.
    pub version: Option<i32>,
}

/// List the team.
#[utoipa::path(get, path = "/users", tag = "users", params(PageParams),
    responses((status = 200, body = Page<User>), (status = 401, body = crate::http::error::Problem), (status = 403, body = crate::http::error::Problem), (status = 422, body = crate::http::error::Problem, description = "`validation_failed`: `limit` or `cursor` is invalid")))]
async fn list_users(
    State(state): State<AppState>,
    Staff(ctx): Staff,
    Query(params): Query<PageParams>,
) -> Result<axum::Json<Page<User>>, ApiError> {
    let page = PageRequest::parse(params.limit, params.cursor.as_deref())?;
    Ok(axum::Json(service::list(&state.db, &ctx, page).await?))
}

/// Add a team member (owner or admin).
#[utoipa::path(post, path = "/users", tag = "users", request_body = CreateUser,
    responses((status = 201, body = User), (status = 403, body = crate::http::error::Problem),
              (status = 409, description = "`email_taken`: the address has a login, in this account or another (limited per account: past it, 429)", body = crate::http::error::Problem),
              (status = 422, body = crate::http::error::Problem), (status = 429, body = crate::http::error::Problem)))]
async fn create_user(
    State(state): State<AppState>,
    Admin(ctx): Admin,
    ClientIp(ip): ClientIp,
    Json(body): Json<CreateUser>,
) -> Result<(StatusCode, axum::Json<User>), ApiError> {
    let mut errors = Vec::new();
    let name = required_text(&body.name, 200)
        .map_err(|m| errors.push(FieldError::new("name", m)))
        .unwrap_or_default();
    let email = Email::parse(&body.email)
        .map_err(|m| errors.push(FieldError::new("email", m)))
        .ok();
    if let Some(Err(e)) = body
        .password
        .as_deref()
        .map(|p| password::check("password", p))
    {
        errors.push(e);
    }
    let Some(email) = email.filter(|_| errors.is_empty()) else {
        return Err(ApiError::invalid(errors));
    };
    let password_hash = match body.password {
        Some(password) => Some(password::hash(password).await?),
        None => None,
    };
    let user = super::throttle::limit_taken(
        &state.taken_throttle,
        &format!("account:{}", ctx.account_id),
        ip,
        team::create(
            &state.db,
            &ctx,
            &state.config.public_url,
            NewUser {
                email,
                name,
                role: body.role,
                password_hash,
            },
        ),
    )
    .await?;
    Ok((StatusCode::CREATED, axum::Json(user)))
}

/// One team member.
#[utoipa::path(get, path = "/users/{id}", tag = "users", params(("id" = Uuid, Path)),
    responses((status = 200, body = User, headers(("ETag" = String, description = "The version in quotes, e.g. `\"3\"`: send it back as `If-Match`"))), (status = 404, body = crate::http::error::Problem), (status = 403, body = crate::http::error::Problem)))]
async fn get_user(
    State(state): State<AppState>,
    Staff(ctx): Staff,
    Path(id): Path<Uuid>,
) -> Result<axum::response::Response, ApiError> {
    let user = service::get(&state.db, &ctx, id).await?;
    Ok(crate::http::concurrency::tagged(
        StatusCode::OK,
        user.version,
        user,
    ))
}

/// Change a team member's name, email, role, password or active state (owner or admin).
#[utoipa::path(patch, path = "/users/{id}", tag = "users", params(("id" = Uuid, Path)), request_body = UpdateUser,
    responses((status = 200, body = User), (status = 403, body = crate::http::error::Problem), (status = 404, body = crate::http::error::Problem),
              (status = 409, description = "`version_conflict`, `last_owner`, or `email_taken` (limited per account: past it, 429)", body = crate::http::error::Problem),
              (status = 412, body = crate::http::error::Problem), (status = 429, body = crate::http::error::Problem)))]
async fn update_user(
    State(state): State<AppState>,
    Admin(ctx): Admin,
    ClientIp(ip): ClientIp,
    Path(id): Path<Uuid>,
    headers: axum::http::HeaderMap,
    Json(body): Json<UpdateUser>,
) -> Result<axum::Json<User>, ApiError> {
    let expected = Expected::optional(&headers, body.version)?;
    let mut errors = Vec::new();
    let name = body
        .name
        .as_deref()
        .map(|n| required_text(n, 200))
        .transpose()
        .map_err(|m| errors.push(FieldError::new("name", m)))
        .ok()
        .flatten();
    let email = body
        .email
        .as_deref()
        .map(Email::parse)
        .transpose()
        .map_err(|m| errors.push(FieldError::new("email", m)))
        .ok()
        .flatten();
    if let Some(Err(e)) = body
        .password
        .as_deref()
        .map(|p| password::check("password", p))
    {
        errors.push(e);
    }
    if !errors.is_empty() {
        return Err(ApiError::invalid(errors));
    }
    let password_hash = match body.password {
        Some(p) => Some(password::hash(p).await?),
        None => None,
    };
    let patch = UserPatch {
        name,
        email,
        role: body.role,
        active: body.active,
        password_hash,
        version: expected.map(|e| e.version),
    };
    let update = async {
        team::update(&state.db, &ctx, id, patch)
            .await
            .map_err(crate::http::concurrency::map_stale(expected))
    };
    Ok(axum::Json(
        super::throttle::limit_taken(
            &state.taken_throttle,
            &format!("account:{}", ctx.account_id),
            ip,
            update,
        )
        .await?,
    ))
}
