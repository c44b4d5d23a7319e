//! In-app notifications: who is told about what, and reading one's own.

use std::time::Duration;

use serde_json::{Value, json};

use crate::background::worker_for;
use crate::helpers::{Assigned, Ending, Session, TestApp, spawn_app};

/// The user's unread kinds once they number `count` (the worker fans them out).
async fn kinds_after(app: &TestApp, user: &Session, count: usize) -> Vec<String> {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let found = kinds(app, user).await;
        if found.len() >= count || std::time::Instant::now() > deadline {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn kinds(app: &TestApp, user: &Session) -> Vec<String> {
    let page = app
        .get("/api/v1/notifications?unread=true", &user.token)
        .await
        .expect(200)
        .body;
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["kind"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn the_office_hears_about_approvals_completed_visits_and_payments() {
    let app = spawn_app().await;
    let _worker = worker_for(&app).await;
    let owner = app.signup("Notify Co").await;
    let dispatcher = app.add_user(&owner, "dispatcher").await;
    let tech = app.add_user(&owner, "technician").await;
    let client = app
        .create_client(&owner, json!({"first_name": "Ana", "last_name": "Paz", "emails": [{"address": "ana@example.com"}]}))
        .await;

    // The client approves in the hub: the whole office hears of it.
    let quote = app
        .post("/api/v1/quotes", &dispatcher.token, json!({"client_id": client["id"], "title": "Patio", "lines": [{"name": "Pavers", "quantity": 1, "unit_price": 50000}]}))
        .await
        .expect(201)
        .body;
    let id = quote["id"].as_str().unwrap();
    app.post(
        &format!("/api/v1/quotes/{id}/send"),
        &dispatcher.token,
        json!({}),
    )
    .await
    .expect(200);
    let link = crate::quotes::emailed_link(&app, id).await;
    let query = link.split_once('?').unwrap().1;
    app.request(
        reqwest::Method::POST,
        &format!("/api/v1/hub/quotes/{id}/approve?{query}"),
        None,
        Some(json!({"signature_name": "Ana Paz"})),
        &[],
    )
    .await
    .expect(200);
    assert_eq!(kinds_after(&app, &owner, 1).await, vec!["quote_approved"]);
    assert_eq!(
        kinds_after(&app, &dispatcher, 1).await,
        vec!["quote_approved"]
    );
    assert!(
        kinds(&app, &tech).await.is_empty(),
        "technicians are not the office"
    );
    let note = &app
        .get("/api/v1/notifications", &owner.token)
        .await
        .expect(200)
        .body["items"][0];
    assert_eq!(
        note["title"],
        format!(
            "Quote {} approved: Patio",
            quote["number"].as_str().unwrap()
        )
    );
    assert_eq!(
        note["body"],
        "Signed by Ana Paz, recorded by the client, in the client hub."
    );
    assert_eq!(note["subject_type"], "quote");
    assert_eq!(note["subject_id"], id);

    // A technician completes a visit.
    let (job, visit) = app
        .assigned_job(&owner, json!({"client_id": client["id"], "title": "Patio build", "lines": [{"name": "Pavers", "quantity": 1, "unit_price": 50000}]}), &tech)
        .await;
    app.post(
        &format!("/api/v1/visits/{visit}/complete"),
        &tech.token,
        json!({}),
    )
    .await
    .expect(200);
    assert_eq!(
        kinds_after(&app, &owner, 2).await,
        vec!["visit_completed", "quote_approved"]
    );

    // The dispatcher records the full payment: the owner hears, not the dispatcher.
    let invoice = app
        .post(
            "/api/v1/invoices",
            &dispatcher.token,
            json!({"job_id": job["id"], "tax_rate_ids": []}),
        )
        .await
        .expect(201)
        .body;
    let invoice_id = invoice["id"].as_str().unwrap();
    app.post(
        &format!("/api/v1/invoices/{invoice_id}/send"),
        &dispatcher.token,
        json!({}),
    )
    .await
    .expect(200);
    app.post(
        "/api/v1/payments",
        &dispatcher.token,
        json!({"invoice_id": invoice_id, "amount": 50000, "method": "check"}),
    )
    .await
    .expect(201);
    let owner_kinds = kinds_after(&app, &owner, 3).await;
    assert_eq!(owner_kinds[0], "invoice_paid");
    assert!(
        !kinds(&app, &dispatcher)
            .await
            .contains(&"invoice_paid".to_string())
    );

    // Reading: one, then all; never someone else's.
    let count = |body: &Value| body["unread"].as_i64().unwrap();
    let unread = app
        .get("/api/v1/notifications/unread-count", &owner.token)
        .await
        .expect(200)
        .body;
    assert_eq!(count(&unread), 3);
    let first = app
        .get("/api/v1/notifications", &owner.token)
        .await
        .expect(200)
        .body["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.post(
        &format!("/api/v1/notifications/{first}/read"),
        &dispatcher.token,
        json!({}),
    )
    .await
    .problem(404, "notification_not_found");
    app.post(
        &format!("/api/v1/notifications/{first}/read"),
        &owner.token,
        json!({}),
    )
    .await
    .expect(204);
    app.post(
        &format!("/api/v1/notifications/{first}/read"),
        &owner.token,
        json!({}),
    )
    .await
    .expect(204);
    let unread = app
        .get("/api/v1/notifications/unread-count", &owner.token)
        .await
        .expect(200)
        .body;
    assert_eq!(count(&unread), 2);
    let marked = app
        .post("/api/v1/notifications/read-all", &owner.token, json!({}))
        .await
        .expect(200)
        .body;
    assert_eq!(marked["marked"], 2);
    assert!(kinds(&app, &owner).await.is_empty());
    let all = app
        .get("/api/v1/notifications?limit=2", &owner.token)
        .await
        .expect(200)
        .body;
    assert_eq!(all["items"].as_array().unwrap().len(), 2);
    assert!(all["next_cursor"].is_string());
}

#[tokio::test]
async fn a_notification_job_run_twice_notifies_once() {
    let app = spawn_app().await;
    let owner = app.signup("Twice Co").await;
    app.add_user(&owner, "admin").await;
    let account = uuid::Uuid::parse_str(&owner.account_id).unwrap();
    let job = jobber::modules::notifications::NotifyJob {
        event_id: uuid::Uuid::now_v7(),
        kind: "invoice_paid".into(),
        title: "Invoice INV-1 paid".into(),
        body: None,
        subject_type: None,
        subject_id: None,
        actor: Some(uuid::Uuid::parse_str(&owner.user_id).unwrap()),
        user_ids: None,
    };
    let fan_out = || jobber::modules::notifications::service::fan_out(&app.db, account, &job);
    assert_eq!(
        fan_out().await.unwrap(),
        1,
        "the admin; not the owner who caused it"
    );
    assert_eq!(fan_out().await.unwrap(), 0);
    assert!(kinds(&app, &owner).await.is_empty());
}

/// Notices of `user` of `kind`, as `(title, subject_id)`.
async fn notices_of(app: &TestApp, user: &Session, kind: &str) -> Vec<(String, String)> {
    let page = app
        .get("/api/v1/notifications", &user.token)
        .await
        .expect(200)
        .body;
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["kind"] == kind)
        .map(|n| {
            (
                n["title"].as_str().unwrap().to_string(),
                n["subject_id"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_reassigned_visit_tells_its_new_and_its_former_technicians() {
    let app = spawn_app().await;
    let _worker = worker_for(&app).await;
    let owner = app.signup("Reassign Co").await;
    let dispatcher = app.add_user(&owner, "dispatcher").await;
    let first = app.add_user(&owner, "technician").await;
    let second = app.add_user(&owner, "technician").await;
    let client = app
        .create_client(&owner, json!({"first_name": "Ana", "last_name": "Paz"}))
        .await;
    let (_, visit) = app
        .assigned_job(
            &owner,
            json!({"client_id": client["id"], "title": "Hedge trim"}),
            &first,
        )
        .await;

    // Moved in time only: nobody is told anything.
    app.put(
        &format!("/api/v1/schedule/jobs/{visit}"),
        &dispatcher.token,
        json!({"start_date": "2026-05-04", "start_time": "09:00"}),
    )
    .await
    .expect(200);
    // Given to the second technician: they hear it is theirs, the first that it went.
    app.put(
        &format!("/api/v1/schedule/jobs/{visit}"),
        &dispatcher.token,
        json!({"start_date": "2026-05-04", "start_time": "09:00", "assignee_ids": [second.user_id]}),
    )
    .await
    .expect(200);
    assert_eq!(kinds_after(&app, &second, 1).await, vec!["visit_assigned"]);
    assert_eq!(
        notices_of(&app, &second, "visit_assigned").await,
        vec![(
            "You were assigned Hedge trim (Ana Paz)".to_string(),
            visit.to_string()
        )]
    );
    assert_eq!(kinds_after(&app, &first, 1).await, vec!["visit_reassigned"]);
    assert_eq!(
        notices_of(&app, &first, "visit_reassigned").await,
        vec![(
            "Hedge trim (Ana Paz) was reassigned".to_string(),
            visit.to_string()
        )]
    );

    // Both at once, by the owner who assigns themself too: the first is told again,
    // the owner (who made the change) is not; the dispatcher is not concerned.
    app.put(
        &format!("/api/v1/schedule/jobs/{visit}"),
        &owner.token,
        json!({"start_date": "2026-05-04", "start_time": "09:00", "assignee_ids": [second.user_id, first.user_id, owner.user_id]}),
    )
    .await
    .expect(200);
    assert_eq!(
        kinds_after(&app, &first, 2).await,
        vec!["visit_assigned", "visit_reassigned"]
    );
    // The worker ran the job that told the first: whatever it held for the owner is
    // delivered too by now.
    assert!(kinds(&app, &owner).await.is_empty());
    assert!(kinds(&app, &dispatcher).await.is_empty());
    assert_eq!(kinds(&app, &second).await, vec!["visit_assigned"]);
}

/// The `notifications.*` jobs of `account` waiting in the outbox: (queue, payload).
async fn queued(app: &TestApp, account: &str) -> Vec<(String, Value)> {
    sqlx::query_as(
        "SELECT queue, payload FROM job_outbox
         WHERE account_id = $1::uuid AND queue LIKE 'notifications.%' ORDER BY created_at",
    )
    .bind(account)
    .fetch_all(app.db.pool())
    .await
    .unwrap()
}

#[tokio::test]
async fn the_notifications_listener_tells_only_of_committed_changes() {
    use jobber::platform::events::{Actor, Event};

    let app = spawn_app().await;
    let owner = app.signup("Listener Co").await;
    let Assigned {
        tech,
        client,
        job,
        visit,
    } = app.technician_with_visit(&owner, "Gutters").await;
    let visit_id: uuid::Uuid = visit.parse().unwrap();
    let job_id: uuid::Uuid = job["id"].as_str().unwrap().parse().unwrap();
    let account: uuid::Uuid = owner.account_id.parse().unwrap();
    let tech_id: uuid::Uuid = tech.user_id.parse().unwrap();
    assert!(queued(&app, &owner.account_id).await.is_empty());
    let client_id: uuid::Uuid = client["id"].as_str().unwrap().parse().unwrap();
    let completed = Event::VisitCompleted {
        visit_id,
        job_id,
        client_id,
    };

    // Raised, then rolled back or dropped: nothing is queued.
    for ending in [Ending::Rollback, Ending::Drop] {
        app.raise(account, completed.clone(), None, ending).await;
    }
    assert!(queued(&app, &owner.account_id).await.is_empty());

    // Committed by the technician: one notice for the office, not for them.
    let by_tech = Some(Actor::User(tech_id));
    app.raise(account, completed.clone(), by_tech, Ending::Commit)
        .await;
    // Committed by a background job (no user acted): the same notice, told to all.
    let by_job = Some(Actor::System("test".into()));
    app.raise(account, completed, by_job, Ending::Commit).await;
    let jobs = queued(&app, &owner.account_id).await;
    assert_eq!(jobs.len(), 2, "{jobs:?}");
    for (queue, payload) in &jobs {
        assert_eq!(queue, "notifications.standard");
        assert_eq!(payload["kind"], "visit_completed");
        assert_eq!(payload["title"], "Visit completed: Gutters (Ana Paz)");
        assert_eq!(payload["subject_type"], "visit");
        assert_eq!(payload["subject_id"], visit_id.to_string());
        assert!(payload.get("user_ids").is_none(), "the office: {payload}");
    }
    assert_eq!(jobs[0].1["actor"], tech.user_id.as_str());
    assert_eq!(jobs[1].1["actor"], Value::Null);

    // An event nobody is told of queues nothing.
    let updated = Event::JobUpdated { job_id };
    app.raise(account, updated, None, Ending::Commit).await;
    assert_eq!(queued(&app, &owner.account_id).await.len(), 2);
}
