use serde_json::{Map, Value};
use sqlx::PgConnection;
use uuid::Uuid;

use super::{ActivityEntry, Subject, repo};
use crate::platform::pagination::PageRequest;

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
