//! The HTTP routes of the team's weekly working hours (`hours`), which online booking
//! offers slots from.

use axum::extract::State;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::hours::*;
use crate::app::AppState;
use crate::error::Error;
use crate::http::error::Problem;
use crate::http::extract::{Admin, Json, Path, Staff};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_hours))
        .routes(routes!(set_hours))
}

/// The team's hours for online booking: every bookable person (with their own
/// hours, or null for the account's) and anyone else who has hours of their own.
#[utoipa::path(get, path = "/settings/working-hours", tag = "requests",
    responses((status = 200, body = Vec<PersonHours>), (status = 403, body = Problem)))]
async fn list_hours(
    State(state): State<AppState>,
    Staff(ctx): Staff,
) -> Result<axum::Json<Vec<PersonHours>>, Error> {
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
) -> Result<axum::Json<PersonHours>, Error> {
    Ok(axum::Json(set(&state.db, &ctx, id, body).await?))
}
