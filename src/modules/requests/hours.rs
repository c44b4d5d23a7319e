//! Each bookable person's own working hours for online booking (issue 13). Without
//! hours of their own a person works the account's (Settings › Online requests);
//! with them, booking offers that person only inside them (an empty list: never).

use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::model::WorkingHours;
use super::repo;
use crate::app::AppState;
use crate::domain::FieldError;
use crate::http::ApiError;
use crate::http::error::Problem;
use crate::http::extract::{Admin, Ctx, Json, Path, Staff};
use crate::modules::users;
use crate::platform::database::Db;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_hours))
        .routes(routes!(set_hours))
}

/// Check weekly hours given as `field`: at most 21 periods, days 1..=7, each
/// ending after it starts.
pub fn check_hours(field: &str, hours: &[WorkingHours], errors: &mut Vec<FieldError>) {
    if hours.len() > 21 {
        errors.push(FieldError::new(field, "at most 21 periods"));
    }
    for (i, period) in hours.iter().enumerate() {
        if !(1..=7).contains(&period.day) {
            errors.push(FieldError::new(
                format!("{field}[{i}].day"),
                "must be 1 (Monday) to 7 (Sunday)",
            ));
        }
        if period.end <= period.start {
            errors.push(FieldError::new(
                format!("{field}[{i}].end"),
                "must be after start",
            ));
        }
    }
}

/// A person's hours for online booking.
#[derive(Debug, Serialize, ToSchema)]
pub struct PersonHours {
    pub user_id: Uuid,
    /// Whether online booking gives this person visits now (an active technician,
    /// or an owner when the business has no technician).
    pub bookable: bool,
    /// Their own weekly hours in the account's time zone; null: the account's.
    pub working_hours: Option<Vec<WorkingHours>>,
}

/// `PUT /users/{id}/working-hours`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PersonHoursInput {
    /// Their own hours (an empty list: no online bookings for them), or null to
    /// work the account's hours.
    pub working_hours: Option<Vec<WorkingHours>>,
}

/// Every person with hours of their own, and every bookable person.
pub async fn list(db: &Db, ctx: &Ctx) -> Result<Vec<PersonHours>, ApiError> {
    let mut tx = db.tenant(ctx.account_id).await?;
    let bookable = users::service::bookable_ids_in(&mut tx).await?;
    let own = repo::person_hours(&mut tx).await?;
    tx.commit().await?;
    let mut out: Vec<PersonHours> = bookable
        .iter()
        .map(|id| PersonHours {
            user_id: *id,
            bookable: true,
            working_hours: own.iter().find(|(u, _)| u == id).map(|(_, h)| h.clone()),
        })
        .collect();
    for (user_id, hours) in own {
        if !bookable.contains(&user_id) {
            out.push(PersonHours {
                user_id,
                bookable: false,
                working_hours: Some(hours),
            });
        }
    }
    Ok(out)
}

pub async fn set(
    db: &Db,
    ctx: &Ctx,
    user_id: Uuid,
    input: PersonHoursInput,
) -> Result<PersonHours, ApiError> {
    let mut errors = Vec::new();
    if let Some(hours) = &input.working_hours {
        check_hours("working_hours", hours, &mut errors);
    }
    if !errors.is_empty() {
        return Err(ApiError::invalid(errors));
    }
    // 404 `user_not_found` for someone not of this account.
    users::service::get(db, ctx, user_id).await?;
    let mut hours = input.working_hours;
    if let Some(hours) = hours.as_mut() {
        hours.sort_by_key(|h| (h.day, h.start));
    }
    let mut tx = db.tenant(ctx.account_id).await?;
    repo::set_person_hours(&mut tx, ctx.account_id, user_id, hours.as_deref()).await?;
    let bookable = users::service::bookable_ids_in(&mut tx)
        .await?
        .contains(&user_id);
    tx.commit().await?;
    Ok(PersonHours {
        user_id,
        bookable,
        working_hours: hours,
    })
}

/// The team's hours for online booking: every bookable person (with their own
/// hours, or null for the account's) and anyone else who has hours of their own.
#[utoipa::path(get, path = "/settings/working-hours", tag = "requests",
    responses((status = 200, body = Vec<PersonHours>), (status = 403, body = Problem)))]
async fn list_hours(
    State(state): State<AppState>,
    Staff(ctx): Staff,
) -> Result<axum::Json<Vec<PersonHours>>, ApiError> {
    Ok(axum::Json(list(&state.db, &ctx).await?))
}

/// Set a person's own working hours for online booking (owner, admin): the slots
/// offered for them lie inside these instead of the account's hours; an empty list
/// takes them out of online booking; null puts them back on the account's hours.
#[utoipa::path(put, path = "/users/{id}/working-hours", tag = "requests", params(("id" = Uuid, Path)),
    request_body = PersonHoursInput,
    responses((status = 200, body = PersonHours), (status = 403, body = Problem), (status = 404, body = Problem, description = "`user_not_found`"),
        (status = 422, body = Problem, description = "`validation_failed`: `working_hours[i].day`, `working_hours[i].end`")))]
async fn set_hours(
    State(state): State<AppState>,
    Admin(ctx): Admin,
    Path(id): Path<Uuid>,
    Json(body): Json<PersonHoursInput>,
) -> Result<axum::Json<PersonHours>, ApiError> {
    Ok(axum::Json(set(&state.db, &ctx, id, body).await?))
}
