//! `/api/v1/auth/*`: sign-up, login, refresh, logout and who-am-I.

use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::email_tokens;
use super::mfa::{self, SecondFactor};
use super::service::{self, Tokens};
use super::session::{self, CurrentLogin, Https};
use crate::app::AppState;
use crate::config::Signup;
use crate::http::error::Problem;
use crate::http::extract::{Admin, ClientIp, Ctx, Json, Path};
use crate::http::{ApiError, ErrorCode};
use crate::modules::accounts::{self, model::Account, service::NewAccount};
use crate::modules::users::model::User;
use uuid::Uuid;

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
        .routes(routes!(session_login, session_get, session_logout))
        .routes(routes!(list_sessions))
        .routes(routes!(revoke_session))
        .routes(routes!(revoke_all_sessions))
        .routes(routes!(totp_status))
        .routes(routes!(totp_setup))
        .routes(routes!(totp_enable))
        .routes(routes!(totp_disable))
        .routes(routes!(totp_reset))
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
    /// The authenticator app's current 6-digit code, when the user has two-factor
    /// sign-in on (else `401 totp_required`).
    pub totp_code: Option<String>,
    /// A recovery code instead of `totp_code`; each works once.
    pub recovery_code: Option<String>,
}

impl LoginRequest {
    fn factor(&self) -> SecondFactor<'_> {
        SecondFactor {
            totp_code: self.totp_code.as_deref(),
            recovery_code: self.recovery_code.as_deref(),
        }
    }
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

/// Exchange email and password (and, when two-factor sign-in is on, a code) for
/// tokens. Throttled per email and per IP (429 with `Retry-After`).
#[utoipa::path(post, path = "/auth/login", tag = "auth", security(()), request_body = LoginRequest,
    responses((status = 200, body = LoginResponse),
              (status = 401, description = "`invalid_credentials`: wrong email, password or code; `totp_required`: two-factor sign-in is on and no code was sent", body = Problem),
              (status = 429, body = Problem)))]
async fn login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Json(body): Json<LoginRequest>,
) -> Result<axum::Json<LoginResponse>, ApiError> {
    let (user, tokens) = service::login(
        &sign_in(&state, ip),
        &state.keys,
        &body.email,
        body.password.clone(),
        body.factor(),
    )
    .await?;
    Ok(axum::Json(LoginResponse { user, tokens }))
}

fn sign_in(state: &AppState, ip: std::net::IpAddr) -> service::SignIn<'_> {
    service::SignIn {
        db: &state.db,
        secrets: &state.gateway.secrets,
        throttle: &state.throttle,
        ip,
    }
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

/// End the login the refresh token belongs to, and with it the access tokens it
/// issued (refused with `401 invalid_token` from then on).
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

// ---- Browser sessions ----

#[derive(Debug, Serialize, ToSchema)]
pub struct SessionResponse {
    /// The signed-in user (as in `GET /auth/me`).
    pub user: User,
    pub account: Account,
    /// Send in the `X-CSRF-Token` header with every POST, PUT, PATCH and DELETE made
    /// with the session cookie. Fixed for the session's life.
    pub csrf_token: String,
}

async fn session_response(
    state: &AppState,
    ctx: &Ctx,
    csrf_token: String,
) -> Result<SessionResponse, ApiError> {
    let user = crate::modules::users::service::get(&state.db, ctx, ctx.user_id).await?;
    let account = accounts::service::current(&state.db, ctx.account_id).await?;
    Ok(SessionResponse {
        user,
        account,
        csrf_token,
    })
}

/// Sign in a browser: sets the `jobber_session` cookie (HttpOnly, `SameSite=Lax`,
/// `Secure` over HTTPS) and returns the session's CSRF token. Same checks and
/// throttling as `/auth/login`.
#[utoipa::path(post, path = "/auth/session", tag = "auth", security(()), request_body = LoginRequest,
    responses((status = 200, body = SessionResponse, headers(("Set-Cookie" = String, description = "`jobber_session=…; Path=/; HttpOnly; SameSite=Lax; Max-Age=7776000` (`; Secure` over HTTPS)"))),
              (status = 401, description = "`invalid_credentials`: wrong email, password or code; `totp_required`: two-factor sign-in is on and no code was sent", body = Problem),
              (status = 403, description = "`csrf_failed`: the request came from another site", body = Problem),
              (status = 429, body = Problem)))]
async fn session_login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Https(https): Https,
    headers: HeaderMap,
    Json(body): Json<LoginRequest>,
) -> Result<impl IntoResponse, ApiError> {
    // Login CSRF: another site must not sign the browser in to its own account.
    session::check_origin(&state.config.public_url, &headers)?;
    let (user, mut tx) = service::authenticate(
        &sign_in(&state, ip),
        &body.email,
        body.password.clone(),
        body.factor(),
    )
    .await?;
    let user_agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok());
    let cookie = session::start(&mut tx, &state.keys, &user, user_agent, ip).await?;
    tx.commit().await?;
    tracing::info!(account_id = %user.account_id, user_id = %user.id, session_id = %cookie.session_id, "browser sign-in");
    let ctx = Ctx {
        account_id: user.account_id,
        user_id: user.id,
        role: user.role,
    };
    let body = session_response(&state, &ctx, cookie.csrf_token).await?;
    Ok((
        [(
            header::SET_COOKIE,
            session::set_cookie(&cookie.value, https),
        )],
        axum::Json(body),
    ))
}

/// The browser session of the `jobber_session` cookie: its user and CSRF token (the
/// web app calls this on start).
#[utoipa::path(get, path = "/auth/session", tag = "auth", security(("session" = [])),
    responses((status = 200, body = SessionResponse),
              (status = 403, description = "`csrf_failed`: the request came from another site", body = Problem)))]
async fn session_get(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<axum::Json<SessionResponse>, ApiError> {
    let current = session::authenticate(&state, &headers, &Method::GET)
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::Unauthenticated, "no session cookie: sign in"))?;
    Ok(axum::Json(
        session_response(&state, &current.ctx, current.csrf_token).await?,
    ))
}

/// Sign the browser out: ends the cookie's session and clears the cookie. `204`
/// also without a cookie or with one that has ended. With a live cookie the request
/// needs the session's `X-CSRF-Token`.
#[utoipa::path(delete, path = "/auth/session", tag = "auth", security(()),
    responses((status = 204, description = "signed out", headers(("Set-Cookie" = String, description = "clears `jobber_session`"))),
              (status = 403, description = "`csrf_failed`: no or a wrong `X-CSRF-Token`, or the request came from another site", body = Problem)))]
async fn session_logout(
    State(state): State<AppState>,
    Https(https): Https,
    headers: HeaderMap,
) -> Result<impl IntoResponse, ApiError> {
    match session::authenticate(&state, &headers, &Method::DELETE).await {
        Ok(Some(current)) => session::end(&state.db, &current).await?,
        Ok(None) => {}
        Err(error) if error.code == ErrorCode::InvalidToken => {}
        Err(error) => return Err(error),
    }
    Ok((
        StatusCode::NO_CONTENT,
        [(header::SET_COOKIE, session::clear_cookie(https))],
    ))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SessionList {
    /// Browser sessions first, then token logins; newest first.
    pub sessions: Vec<session::SessionInfo>,
}

/// The caller's live sign-ins: browser sessions (cookie) and API token logins
/// (refresh-token families), with the one this request used marked `current`.
#[utoipa::path(get, path = "/auth/sessions", tag = "auth",
    responses((status = 200, body = SessionList)))]
async fn list_sessions(
    State(state): State<AppState>,
    ctx: Ctx,
    CurrentLogin(current): CurrentLogin,
) -> Result<axum::Json<SessionList>, ApiError> {
    Ok(axum::Json(SessionList {
        sessions: session::list(&state.db, &ctx, current).await?,
    }))
}

/// End one of the caller's sign-ins (a browser session or a token login, whose
/// access tokens stop working with it).
#[utoipa::path(delete, path = "/auth/sessions/{id}", tag = "auth",
    params(("id" = Uuid, Path, description = "the session's id")),
    responses((status = 204, description = "revoked"), (status = 404, description = "`session_not_found`", body = Problem)))]
async fn revoke_session(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<Uuid>,
) -> Result<StatusCode, ApiError> {
    session::revoke(&state.db, &ctx, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Log out everywhere: ends every browser session and every token login of the
/// caller, this one included (its cookie is cleared), and their access tokens.
#[utoipa::path(post, path = "/auth/sessions/revoke-all", tag = "auth",
    responses((status = 204, description = "every sign-in ended")))]
async fn revoke_all_sessions(
    State(state): State<AppState>,
    ctx: Ctx,
    CurrentLogin(current): CurrentLogin,
    Https(https): Https,
) -> Result<impl IntoResponse, ApiError> {
    session::revoke_all(&state.db, &ctx).await?;
    let mut headers = HeaderMap::new();
    if matches!(current, Some(session::Login::Session(_))) {
        headers.insert(header::SET_COOKIE, session::clear_cookie(https));
    }
    Ok((StatusCode::NO_CONTENT, headers))
}

// ---- Two-factor sign-in ----

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TotpCode {
    /// The authenticator app's current 6-digit code.
    pub code: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TotpDisable {
    /// The caller's password.
    pub password: Option<String>,
    /// Instead of the password: a current code or an unused recovery code.
    pub code: Option<String>,
}

/// Whether the caller has two-factor sign-in on.
#[utoipa::path(get, path = "/auth/totp", tag = "auth",
    responses((status = 200, body = mfa::TotpStatus)))]
async fn totp_status(
    State(state): State<AppState>,
    ctx: Ctx,
) -> Result<axum::Json<mfa::TotpStatus>, ApiError> {
    Ok(axum::Json(mfa::status(&state.db, &ctx).await?))
}

/// Begin two-factor set-up: a new secret for the authenticator app (pending until
/// `/auth/totp/enable` confirms it with a code).
#[utoipa::path(post, path = "/auth/totp/setup", tag = "auth",
    responses((status = 200, body = mfa::TotpSetup),
              (status = 409, description = "`totp_already_enabled`", body = Problem)))]
async fn totp_setup(
    State(state): State<AppState>,
    ctx: Ctx,
) -> Result<axum::Json<mfa::TotpSetup>, ApiError> {
    Ok(axum::Json(
        mfa::setup(&state.db, &state.gateway.secrets, &ctx).await?,
    ))
}

/// Turn two-factor sign-in on with the app's current code; returns ten single-use
/// recovery codes, shown only this once.
#[utoipa::path(post, path = "/auth/totp/enable", tag = "auth", request_body = TotpCode,
    responses((status = 200, body = mfa::RecoveryCodes),
              (status = 409, description = "`totp_not_set_up` or `totp_already_enabled`", body = Problem),
              (status = 422, description = "`validation_failed`: `code` is not the current code", body = Problem)))]
async fn totp_enable(
    State(state): State<AppState>,
    ctx: Ctx,
    Json(body): Json<TotpCode>,
) -> Result<axum::Json<mfa::RecoveryCodes>, ApiError> {
    Ok(axum::Json(
        mfa::enable(&state.db, &state.gateway.secrets, &ctx, &body.code).await?,
    ))
}

/// Turn two-factor sign-in off, proven by the password (or a current or recovery
/// code). Throttled like logins.
#[utoipa::path(post, path = "/auth/totp/disable", tag = "auth", request_body = TotpDisable,
    responses((status = 204, description = "two-factor sign-in is off"),
              (status = 401, description = "`invalid_credentials`: the password or code is wrong", body = Problem),
              (status = 429, body = Problem)))]
async fn totp_disable(
    State(state): State<AppState>,
    ctx: Ctx,
    ClientIp(ip): ClientIp,
    Json(body): Json<TotpDisable>,
) -> Result<StatusCode, ApiError> {
    mfa::disable(
        &state.db,
        &state.gateway.secrets,
        &state.throttle,
        &ctx,
        body.password,
        body.code.as_deref(),
        ip,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Turn off two-factor sign-in for a team member who lost their authenticator and
/// recovery codes (owners and admins; only an owner may do it for an owner).
#[utoipa::path(delete, path = "/users/{id}/totp", tag = "users",
    params(("id" = Uuid, Path, description = "the user's id")),
    responses((status = 204, description = "two-factor sign-in is off for the user"),
              (status = 403, body = Problem),
              (status = 404, description = "`user_not_found`", body = Problem)))]
async fn totp_reset(
    State(state): State<AppState>,
    Admin(ctx): Admin,
    Path(id): Path<Uuid>,
) -> Result<StatusCode, ApiError> {
    mfa::reset_for(&state.db, &ctx, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
