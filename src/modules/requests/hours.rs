//! Each bookable person's own working hours for online booking (issue 13). Without
//! hours of their own a person works the account's (Settings › Online requests);
//! with them, booking offers that person only inside them (an empty list: never).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::model::WorkingHours;
use super::repo;
use crate::domain::FieldError;
use crate::error::Error;
use crate::modules::users;
use crate::platform::database::Ctx;
use crate::platform::database::Db;

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
pub async fn list(db: &Db, ctx: &Ctx) -> Result<Vec<PersonHours>, Error> {
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
) -> Result<PersonHours, Error> {
    let mut errors = Vec::new();
    if let Some(hours) = &input.working_hours {
        check_hours("working_hours", hours, &mut errors);
    }
    if !errors.is_empty() {
        return Err(Error::invalid(errors));
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
