//! The HTTP routes of the calendar feed (`feed`): its secret address for the caller,
//! and the public `.ics` that the address serves.

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{Duration, Utc};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::feed::*;
use crate::app::AppState;
use crate::error::{Error, ErrorCode};
use crate::http::error::Problem;
use crate::http::extract::{Ctx, Path};
use crate::modules::schedule::ical::{CalendarEvent, write_calendar};
use crate::modules::{accounts, jobs, users};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(feed_address))
        .routes(routes!(rotate_feed))
}

/// The public route (no login: the secret in the address is the credential).
pub fn public_router() -> axum::Router<AppState> {
    axum::Router::new().route("/calendar/{account_id}/{file}", axum::routing::get(feed))
}

/// The address of a user's calendar feed (the user, an owner or an admin).
#[utoipa::path(get, path = "/users/{id}/calendar-feed", tag = "schedule", params(("id" = Uuid, Path)),
    responses((status = 200, body = FeedAddress), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn feed_address(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<Uuid>,
) -> Result<axum::Json<FeedAddress>, Error> {
    let token = users::service::calendar_token(&state.db, &ctx, id, false).await?;
    Ok(axum::Json(address(
        &state.config.public_url,
        ctx.account_id,
        &token,
    )))
}

/// Replace the feed's secret address; the old one stops working.
#[utoipa::path(post, path = "/users/{id}/calendar-feed/rotate", tag = "schedule", params(("id" = Uuid, Path)),
    responses((status = 200, body = FeedAddress), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn rotate_feed(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<Uuid>,
) -> Result<axum::Json<FeedAddress>, Error> {
    let token = users::service::calendar_token(&state.db, &ctx, id, true).await?;
    Ok(axum::Json(address(
        &state.config.public_url,
        ctx.account_id,
        &token,
    )))
}

async fn feed(
    State(state): State<AppState>,
    Path((account_id, file)): Path<(Uuid, String)>,
) -> Result<Response, Error> {
    let not_found = || {
        Error::new(
            ErrorCode::NotFound,
            "no calendar at this address (it may have been replaced)",
        )
    };
    let token = file
        .strip_suffix(".ics")
        .filter(|t| !t.is_empty() && t.len() <= 64)
        .ok_or_else(not_found)?;
    let mut tx = state
        .db
        .read(crate::platform::database::Reader::account(account_id))
        .await?;
    let user_id = users::service::by_calendar_token_in(&mut tx, token)
        .await?
        .ok_or_else(not_found)?;
    let settings = accounts::service::settings_in(&mut tx).await?;
    let now = Utc::now();
    let visits = jobs::service::visits_of_user_in(
        &mut tx,
        user_id,
        now - Duration::days(PAST_DAYS),
        now + Duration::days(FUTURE_DAYS),
    )
    .await?;
    tx.commit().await?;
    let tz = jobs::service::zone(&settings);
    let events: Vec<CalendarEvent> = visits.iter().filter_map(|v| event(v, tz)).collect();
    let body = write_calendar(
        &format!("{} schedule", settings.business_name),
        tz,
        &events,
        now,
    );
    let mut response = (StatusCode::OK, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/calendar; charset=utf-8"),
    );
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=300"),
    );
    Ok(response)
}
