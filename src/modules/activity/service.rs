use futures_util::future::BoxFuture;
use serde_json::{Map, Value, json};
use sqlx::PgConnection;
use uuid::Uuid;

use super::{ActivityEntry, Subject, repo};
use crate::platform::events::{Actor, Event, current_actor};
use crate::platform::pagination::PageRequest;

/// The in-transaction listener (`app::IN_TRANSACTION`, docs/events.md): the entries
/// of the lifecycle steps whose event says all the entry holds (a quote archived,
/// expired or converted; a job completed or cancelled; a visit completed; an invoice
/// voided or deleted). Written in the change's transaction, by whoever made it (the
/// signed-in user; none for the client hub, a webhook or a background job). Entries
/// that hold values of the change (amounts, addresses, notes, field diffs) are
/// still recorded by the service that knows them: see docs/design.md.
pub fn on_event<'a>(
    conn: &'a mut PgConnection,
    account_id: Uuid,
    event: &'a Event,
) -> BoxFuture<'a, Result<(), sqlx::Error>> {
    Box::pin(async move {
        let Some((subject, action, changes)) = entry(event) else {
            return Ok(());
        };
        let actor = match current_actor() {
            Some(Actor::User(user_id)) => Some(user_id),
            _ => None,
        };
        repo::insert(conn, account_id, actor, subject, action, &changes).await
    })
}

/// The entry an event makes, if any.
fn entry(event: &Event) -> Option<(Subject, &'static str, Value)> {
    Some(match *event {
        Event::QuoteArchived {
            quote_id,
            client_id,
        } => (
            Subject::Quote {
                id: quote_id,
                client_id,
            },
            "archived",
            json!({}),
        ),
        Event::QuoteExpired {
            quote_id,
            client_id,
        } => (
            Subject::Quote {
                id: quote_id,
                client_id,
            },
            "expired",
            json!({}),
        ),
        Event::QuoteConverted {
            quote_id,
            client_id,
            job_id,
        } => (
            Subject::Quote {
                id: quote_id,
                client_id,
            },
            "converted",
            json!({"job_id": job_id}),
        ),
        Event::JobCompleted {
            job_id,
            client_id,
            visits_completed,
        } => (
            Subject::Job {
                id: job_id,
                client_id,
            },
            "completed",
            json!({"visits_completed": visits_completed}),
        ),
        Event::JobCancelled {
            job_id,
            client_id,
            visits_removed,
            visits_cancelled,
        } => (
            Subject::Job {
                id: job_id,
                client_id,
            },
            "cancelled",
            json!({"visits_removed": visits_removed, "visits_cancelled": visits_cancelled}),
        ),
        Event::VisitCompleted {
            visit_id,
            job_id,
            client_id,
        } => (
            Subject::Job {
                id: job_id,
                client_id,
            },
            "visit_completed",
            json!({"visit_id": visit_id}),
        ),
        Event::InvoiceVoided {
            invoice_id,
            client_id,
        } => (
            Subject::Invoice {
                id: invoice_id,
                client_id,
            },
            "voided",
            json!({}),
        ),
        Event::InvoiceDeleted {
            invoice_id,
            client_id,
        } => (
            Subject::Invoice {
                id: invoice_id,
                client_id,
            },
            "deleted",
            json!({}),
        ),
        _ => return None,
    })
}

/// Record an entry inside the caller's transaction.
pub async fn record(
    conn: &mut PgConnection,
    account_id: Uuid,
    actor_id: Option<Uuid>,
    subject: Subject,
    action: &str,
    changes: Value,
) -> Result<(), sqlx::Error> {
    repo::insert(conn, account_id, actor_id, subject, action, &changes).await
}

pub async fn for_client(
    conn: &mut PgConnection,
    client_id: Uuid,
    page: PageRequest,
) -> Result<Vec<ActivityEntry>, sqlx::Error> {
    repo::for_client(conn, client_id, page.after, page.fetch_limit()).await
}

/// The fields that differ between two JSON objects, as `{"field": {"from", "to"}}`.
pub fn diff(before: &Value, after: &Value, ignore: &[&str]) -> Value {
    let empty = Map::new();
    let before = before.as_object().unwrap_or(&empty);
    let after = after.as_object().unwrap_or(&empty);
    let mut changes = Map::new();
    for (key, new) in after {
        if ignore.contains(&key.as_str()) {
            continue;
        }
        let old = before.get(key).unwrap_or(&Value::Null);
        if old != new {
            changes.insert(key.clone(), serde_json::json!({ "from": old, "to": new }));
        }
    }
    Value::Object(changes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn diff_lists_changed_fields_only() {
        let before = json!({"first_name": "Ann", "tags": ["a"], "version": 1});
        let after = json!({"first_name": "Anne", "tags": ["a"], "version": 2});
        assert_eq!(
            diff(&before, &after, &["version"]),
            json!({"first_name": {"from": "Ann", "to": "Anne"}})
        );
    }
}
