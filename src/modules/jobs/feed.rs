//! Each user's visits as an iCalendar feed at a secret address that calendar apps
//! subscribe to (RFC 5545; the account's time zone is embedded as a VTIMEZONE).

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{Duration, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::app::AppState;
use crate::http::error::Problem;
use crate::http::extract::{Ctx, Path};
use crate::http::{ApiError, ErrorCode};
use crate::modules::jobs::model::{Visit, VisitStatus};
use crate::modules::schedule::ical::{CalendarEvent, EventStatus, write_calendar};
use crate::modules::{accounts, jobs, users};

/// The feed covers this window around today.
const PAST_DAYS: i64 = 30;
const FUTURE_DAYS: i64 = 365;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(feed_address))
        .routes(routes!(rotate_feed))
}

/// The public route (no login: the secret in the address is the credential).
pub fn public_router() -> axum::Router<AppState> {
    axum::Router::new().route("/calendar/{account_id}/{file}", axum::routing::get(feed))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FeedAddress {
    /// Subscribe to this address in a calendar app. Keep it secret.
    pub url: String,
}

fn address(public_url: &str, account_id: Uuid, token: &str) -> FeedAddress {
    FeedAddress {
        url: format!("{public_url}/calendar/{account_id}/{token}.ics"),
    }
}

/// The address of a user's calendar feed (the user, an owner or an admin).
#[utoipa::path(get, path = "/users/{id}/calendar-feed", tag = "schedule", params(("id" = Uuid, Path)),
    responses((status = 200, body = FeedAddress), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn feed_address(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<Uuid>,
) -> Result<axum::Json<FeedAddress>, ApiError> {
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
) -> Result<axum::Json<FeedAddress>, ApiError> {
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
) -> Result<Response, ApiError> {
    let not_found = || {
        ApiError::new(
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

fn event(visit: &Visit, tz: chrono_tz::Tz) -> Option<CalendarEvent> {
    let (starts_at, ends_at) = (visit.starts_at?, visit.ends_at?);
    let mut description = format!("Job {} for {}", visit.job_number, visit.client_name);
    if let Some(instructions) = &visit.instructions {
        description.push_str(&format!("\n\n{instructions}"));
    }
    for item in &visit.checklist {
        description.push_str(&format!(
            "\n[{}] {}",
            if item.done { "x" } else { " " },
            item.text
        ));
    }
    Some(CalendarEvent {
        uid: format!("{}@jobber", visit.id),
        summary: format!("{}: {}", visit.title, visit.client_name),
        description: Some(description),
        location: visit.address.clone(),
        start_local: starts_at.with_timezone(&tz).naive_local(),
        end_local: ends_at.with_timezone(&tz).naive_local(),
        all_day: visit.anytime,
        status: match visit.status {
            VisitStatus::Cancelled => EventStatus::Cancelled,
            VisitStatus::Scheduled | VisitStatus::InProgress | VisitStatus::Completed => {
                EventStatus::Confirmed
            }
        },
        last_modified: visit.updated_at,
        sequence: visit.version,
    })
}
