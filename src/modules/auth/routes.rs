//! `/api/v1/auth/*`: sign-up, login, refresh, logout and who-am-I.

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::email_tokens;
use super::service::{self, Tokens};
use crate::app::AppState;
use crate::config::Signup;
use crate::http::error::Problem;
use crate::http::extract::{ClientIp, Ctx, Json};
use crate::http::{ApiError, ErrorCode};
use crate::modules::accounts::{self, model::Account, service::NewAccount};
use crate::modules::users::model::User;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(signup))
        .routes(routes!(login))
        .routes(routes!(refresh))
        .routes(routes!(logout))
        .routes(routes!(me))
        .routes(routes!(request_password_reset))
        .routes(routes!(confirm_password_reset))
        .routes(routes!(accept_invitation))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetRequest {
    pub email: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenPassword {
    /// The token from the emailed link.
    pub token: String,
    /// The new password, at least 10 characters.
    pub password: String,
}

/// Email a password-reset link to this address if it has a login. Always `202`, so
/// the answer never tells whether the email is known; throttled like logins.
#[utoipa::path(post, path = "/auth/password-reset", tag = "auth", security(()), request_body = ResetRequest,
    responses((status = 202, description = "a link is on its way if the email has a login"), (status = 429, body = Problem)))]
async fn request_password_reset(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Json(body): Json<ResetRequest>,
) -> Result<StatusCode, ApiError> {
    email_tokens::request_reset(
        &state.db,
        &state.config.public_url,
        &state.reset_throttle,
        &body.email,
        ip,
    )
    .await?;
    Ok(StatusCode::ACCEPTED)
}

/// Choose a new password with the emailed token (single use, 60 minutes). Every
/// session of the user ends.
#[utoipa::path(post, path = "/auth/password-reset/confirm", tag = "auth", security(()), request_body = TokenPassword,
    responses((status = 204, description = "password changed"), (status = 401, body = Problem), (status = 422, body = Problem)))]
async fn confirm_password_reset(
    State(state): State<AppState>,
    Json(body): Json<TokenPassword>,
) -> Result<StatusCode, ApiError> {
    email_tokens::reset_password(&state.db, &body.token, body.password).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Accept a team invitation: choose a password and log in.
#[utoipa::path(post, path = "/auth/invitations/accept", tag = "auth", security(()), request_body = TokenPassword,
    responses((status = 200, body = LoginResponse), (status = 401, body = Problem), (status = 422, body = Problem)))]
async fn accept_invitation(
    State(state): State<AppState>,
    Json(body): Json<TokenPassword>,
) -> Result<axum::Json<LoginResponse>, ApiError> {
    let (user, tokens) =
        email_tokens::accept_invitation(&state.db, &state.keys, &body.token, body.password).await?;
    Ok(axum::Json(LoginResponse { user, tokens }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignupRequest {
    pub business_name: String,
    /// The owner's name.
    pub name: String,
    pub email: String,
    /// At least 10 characters.
    pub password: String,
    /// IANA time zone (default `UTC`).
    pub time_zone: Option<String>,
    /// ISO 4217 code (default `USD`).
    pub currency: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SignupResponse {
    pub account: Account,
    pub user: User,
    #[serde(flatten)]
    pub tokens: Tokens,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LoginResponse {
    pub user: User,
    #[serde(flatten)]
    pub tokens: Tokens,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    pub user: User,
    pub account: Account,
}

/// Sign a business up: creates the account and its owner, and logs the owner in.
#[utoipa::path(post, path = "/auth/signup", tag = "auth", security(()), request_body = SignupRequest,
    responses((status = 201, body = SignupResponse), (status = 403, description = "sign-up is closed", body = Problem),
              (status = 409, description = "`email_taken`: the address has a login (limited per client IP: past it, 429)", body = Problem),
              (status = 422, body = Problem), (status = 429, body = Problem)))]
async fn signup(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Json(body): Json<SignupRequest>,
) -> Result<(StatusCode, axum::Json<SignupResponse>), ApiError> {
    if state.config.signup == Signup::Closed {
        return Err(ApiError::code(ErrorCode::SignupClosed));
    }
    let input = NewAccount::parse(
        &body.business_name,
        &body.name,
        &body.email,
        body.password,
        body.time_zone.as_deref(),
        body.currency.as_deref(),
    )?;
    let (account, user) = super::throttle::limit_taken(
        &state.taken_throttle,
        &format!("signup:{ip}"),
        ip,
        accounts::service::create(&state.db, input),
    )
    .await?;
    let mut tx = state.db.tenant(account.id).await?;
    let tokens = service::issue_in(&mut tx, &state.keys, &user).await?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(SignupResponse {
            account,
            user,
            tokens,
        }),
    ))
}

/// Exchange email and password for tokens. Throttled per email and per IP (429 with
/// `Retry-After`).
#[utoipa::path(post, path = "/auth/login", tag = "auth", security(()), request_body = LoginRequest,
    responses((status = 200, body = LoginResponse), (status = 401, body = Problem), (status = 429, body = Problem)))]
async fn login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Json(body): Json<LoginRequest>,
) -> Result<axum::Json<LoginResponse>, ApiError> {
    let (user, tokens) = service::login(
        &state.db,
        &state.keys,
        &state.throttle,
        &body.email,
        body.password,
        ip,
    )
    .await?;
    Ok(axum::Json(LoginResponse { user, tokens }))
}

/// Rotate a refresh token into a new token pair. Reusing a rotated refresh token
/// revokes the whole login (401 `refresh_token_reused`).
#[utoipa::path(post, path = "/auth/refresh", tag = "auth", security(()), request_body = RefreshRequest,
    responses((status = 200, body = Tokens), (status = 401, body = Problem)))]
async fn refresh(
    State(state): State<AppState>,
    Json(body): Json<RefreshRequest>,
) -> Result<axum::Json<Tokens>, ApiError> {
    Ok(axum::Json(
        service::refresh(&state.db, &state.keys, &body.refresh_token).await?,
    ))
}

/// End the login the refresh token belongs to. Access tokens already issued stay
/// valid until they expire (at most 15 minutes).
#[utoipa::path(post, path = "/auth/logout", tag = "auth", security(()), request_body = RefreshRequest,
    responses((status = 204, description = "logged out")))]
async fn logout(
    State(state): State<AppState>,
    Json(body): Json<RefreshRequest>,
) -> Result<StatusCode, ApiError> {
    service::logout(&state.db, &body.refresh_token).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The calling user and their account.
#[utoipa::path(get, path = "/auth/me", tag = "auth",
    responses((status = 200, body = Me), (status = 401, body = Problem)))]
async fn me(State(state): State<AppState>, ctx: Ctx) -> Result<axum::Json<Me>, ApiError> {
    let user = crate::modules::users::service::get(&state.db, &ctx, ctx.user_id).await?;
    let account = accounts::service::current(&state.db, ctx.account_id).await?;
    Ok(axum::Json(Me { user, account }))
}
