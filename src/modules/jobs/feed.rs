//! Each user's visits as an iCalendar feed at a secret address that calendar apps
//! subscribe to (RFC 5545; the account's time zone is embedded as a VTIMEZONE).

use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::modules::jobs::model::{Visit, VisitStatus};
use crate::modules::schedule::ical::{CalendarEvent, EventStatus};

/// The feed covers this window around today.
pub(super) const PAST_DAYS: i64 = 30;
pub(super) const FUTURE_DAYS: i64 = 365;

#[derive(Debug, Serialize, ToSchema)]
pub struct FeedAddress {
    /// Subscribe to this address in a calendar app. Keep it secret.
    pub url: String,
}

pub(super) fn address(public_url: &str, account_id: Uuid, token: &str) -> FeedAddress {
    FeedAddress {
        url: format!("{public_url}/calendar/{account_id}/{token}.ics"),
    }
}

pub(super) fn event(visit: &Visit, tz: chrono_tz::Tz) -> Option<CalendarEvent> {
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
