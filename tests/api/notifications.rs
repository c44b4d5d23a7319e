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

// Staff emails: the notifications each person also wants by email.

/// The staff emails queued in the outbox so far, oldest first: (to, subject, text).
async fn staff_emails(app: &TestApp) -> Vec<(String, String, String)> {
    sqlx::query_as(
        "SELECT to_address, subject, body_text FROM messages
         WHERE template = 'staff_notification' ORDER BY created_at, to_address",
    )
    .fetch_all(app.db.pool())
    .await
    .unwrap()
}

/// The staff emails to `to`, once `count` of them are queued (the worker fans out).
async fn staff_emails_to(app: &TestApp, to: &str, count: usize) -> Vec<(String, String)> {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let found: Vec<(String, String)> = staff_emails(app)
            .await
            .into_iter()
            .filter(|(address, _, _)| address == to)
            .map(|(_, subject, text)| (subject, text))
            .collect();
        if found.len() >= count || std::time::Instant::now() > deadline {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A quote for `client` made and sent by `by`, approved by the client in the hub:
/// (id, number).
async fn approved_in_hub(
    app: &TestApp,
    by: &Session,
    client: &Value,
    title: &str,
) -> (String, String) {
    let quote = app
        .post("/api/v1/quotes", &by.token, json!({"client_id": client["id"], "title": title, "lines": [{"name": "Pavers", "quantity": 1, "unit_price": 50000}]}))
        .await
        .expect(201)
        .body;
    let id = quote["id"].as_str().unwrap().to_string();
    app.post(&format!("/api/v1/quotes/{id}/send"), &by.token, json!({}))
        .await
        .expect(200);
    let link = crate::quotes::emailed_link(app, &id).await;
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
    (id, quote["number"].as_str().unwrap().to_string())
}

#[tokio::test]
async fn the_office_is_emailed_what_a_client_did_as_each_person_chose() {
    use crate::background::{Sink, have_aiosmtpd, with_worker};
    use crate::helpers::spawn_app_with;

    if !have_aiosmtpd("the_office_is_emailed_what_a_client_did_as_each_person_chose") {
        return;
    }
    let sink = Sink::start(0);
    let app = spawn_app_with(with_worker(jobber::config::Role::All, Some(&sink))).await;
    let owner = app.signup("Mail & Co").await;
    let admin = app.add_user(&owner, "admin").await;
    let dispatcher = app.add_user(&owner, "dispatcher").await;
    let tech = app.add_user(&owner, "technician").await;
    let client = app
        .create_client(&owner, json!({"first_name": "Ana", "last_name": "Paz", "emails": [{"address": "ana@example.com"}]}))
        .await;

    // The client approves in the hub: by their defaults, the owner and the admin are
    // emailed; the dispatcher (who sent it) and the technician are not.
    let (id, number) = approved_in_hub(&app, &dispatcher, &client, "Patio").await;
    let to_owner = staff_emails_to(&app, &owner.email, 1).await;
    assert_eq!(to_owner.len(), 1, "{to_owner:?}");
    let (subject, text) = &to_owner[0];
    assert_eq!(
        subject,
        &format!("Mail & Co: Quote {number} approved: Patio")
    );
    assert!(text.starts_with("Hello Olive Owner,"), "{text}");
    assert!(text.contains("News from Mail & Co:"), "{text}");
    assert!(
        text.contains("Signed by Ana Paz, recorded by the client, in the client hub."),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "Open it in the app: http://jobber.test/quotes/{id}"
        )),
        "{text}"
    );
    assert!(
        text.contains("Email me when a client approves a quote"),
        "{text}"
    );
    assert!(
        text.contains("http://jobber.test/settings/notifications"),
        "{text}"
    );
    assert_eq!(staff_emails_to(&app, &admin.email, 1).await.len(), 1);
    // Both were queued in the one fan-out that wrote the notifications: nobody else.
    let all = staff_emails(&app).await;
    assert_eq!(all.len(), 2, "{all:?}");
    assert_eq!(kinds(&app, &dispatcher).await, vec!["quote_approved"]);
    assert!(kinds(&app, &tech).await.is_empty());

    // It arrives over SMTP, once, with the link in its button.
    let delivered = |messages: &[Value], to: &str| -> Vec<Value> {
        messages
            .iter()
            .filter(|m| m["rcpt_tos"].as_array().unwrap().iter().any(|r| r == to))
            .cloned()
            .collect()
    };
    // The quote to the client, then the two staff emails.
    let messages = sink.wait_for(3, Duration::from_secs(30)).await;
    let mail = delivered(&messages, &owner.email);
    assert_eq!(mail.len(), 1, "{messages:?}");
    assert_eq!(mail[0]["subject"], subject.as_str());
    let html = mail[0]["html"].as_str().unwrap();
    assert!(
        html.contains(&format!(r#"href="http://jobber.test/quotes/{id}""#)),
        "{html}"
    );
    assert!(html.contains("Mail &amp; Co"), "{html}");

    // The owner opts out of approvals (keeping payments); the admin does not.
    let settings = app
        .put(
            "/api/v1/me/notification-settings",
            &owner.token,
            json!({"email": ["invoice_paid"]}),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(settings["customized"], true);
    let (second, _) = approved_in_hub(&app, &dispatcher, &client, "Fence").await;
    let to_admin = staff_emails_to(&app, &admin.email, 2).await;
    assert_eq!(to_admin.len(), 2, "{to_admin:?}");
    assert!(to_admin[1].0.ends_with("approved: Fence"), "{to_admin:?}");
    assert!(to_admin[1].1.contains(&format!("/quotes/{second}")));
    // The owner was told in the app, in the same fan-out, but not emailed.
    assert_eq!(
        kinds(&app, &owner).await,
        vec!["quote_approved", "quote_approved"]
    );
    assert_eq!(staff_emails_to(&app, &owner.email, 1).await.len(), 1);
    let messages = sink.wait_for(6, Duration::from_secs(30)).await;
    assert_eq!(delivered(&messages, &owner.email).len(), 1, "{messages:?}");
    assert_eq!(delivered(&messages, &admin.email).len(), 2, "{messages:?}");
}

#[tokio::test]
async fn a_work_request_emails_the_office() {
    let app = spawn_app().await;
    let _worker = worker_for(&app).await;
    let owner = app.signup("Request Co").await;
    let slug = app
        .get("/api/v1/settings/request-form", &owner.token)
        .await
        .expect(200)
        .body["slug"]
        .as_str()
        .unwrap()
        .to_string();
    app.post_anon(
        &format!("/api/v1/public/{slug}/requests"),
        json!({"name": "Rita Requester", "email": "rita@example.com", "details": "The back lawn is a jungle.", "website": ""}),
    )
    .await
    .expect(202);
    let request = app
        .get("/api/v1/requests?status=new", &owner.token)
        .await
        .expect(200)
        .body["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mail = staff_emails_to(&app, &owner.email, 1).await;
    assert_eq!(mail.len(), 1, "{mail:?}");
    let (subject, text) = &mail[0];
    assert_eq!(subject, "Request Co: New work request from Rita Requester");
    assert!(text.contains("The back lawn is a jungle."), "{text}");
    assert!(
        text.contains(&format!("http://jobber.test/requests/{request}")),
        "{text}"
    );
}

#[tokio::test]
async fn a_fan_out_run_twice_emails_once_and_never_the_deactivated() {
    let app = spawn_app().await;
    let owner = app.signup("Replay Co").await;
    let admin = app.add_user(&owner, "admin").await;
    let gone = app.add_user(&owner, "admin").await;
    let dispatcher = app.add_user(&owner, "dispatcher").await;
    app.add_user(&owner, "technician").await;
    app.patch(
        &format!("/api/v1/users/{}", gone.user_id),
        &owner.token,
        json!({"active": false}),
    )
    .await
    .expect(200);
    // The dispatcher chose approvals by email.
    app.put(
        "/api/v1/me/notification-settings",
        &dispatcher.token,
        json!({"email": ["quote_approved"]}),
    )
    .await
    .expect(200);
    let account = uuid::Uuid::parse_str(&owner.account_id).unwrap();
    let job = jobber::modules::notifications::NotifyJob {
        event_id: uuid::Uuid::now_v7(),
        kind: "quote_approved".into(),
        title: "Quote Q-7 approved: Roof".into(),
        body: Some("Signed by Ann Smith, recorded by the client, in the client hub.".into()),
        subject_type: Some("quote".into()),
        subject_id: Some(uuid::Uuid::now_v7()),
        actor: None,
        user_ids: None,
    };
    let fan_out = || jobber::modules::notifications::service::fan_out(&app.db, account, &job);
    assert_eq!(fan_out().await.unwrap(), 3, "owner, admin, dispatcher");
    let mut to: Vec<String> = staff_emails(&app).await.into_iter().map(|m| m.0).collect();
    to.sort();
    let mut expected = vec![
        owner.email.clone(),
        admin.email.clone(),
        dispatcher.email.clone(),
    ];
    expected.sort();
    assert_eq!(to, expected, "not the deactivated admin nor the technician");

    // The job retried: no row, no email.
    assert_eq!(fan_out().await.unwrap(), 0);
    assert_eq!(staff_emails(&app).await.len(), 3);
    // Each notification records the message it became.
    let (emailed,): (i64,) = sqlx::query_as(
        "SELECT count(*) FROM notifications n JOIN messages m ON m.account_id = n.account_id AND m.id = n.email_message_id
         WHERE n.event_id = $1",
    )
    .bind(job.event_id)
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    assert_eq!(emailed, 3);

    // A kind nobody chose (a visit completed) is told in the app only.
    let completed = jobber::modules::notifications::NotifyJob {
        event_id: uuid::Uuid::now_v7(),
        kind: "visit_completed".into(),
        ..job.clone()
    };
    assert_eq!(
        jobber::modules::notifications::service::fan_out(&app.db, account, &completed)
            .await
            .unwrap(),
        3
    );
    assert_eq!(staff_emails(&app).await.len(), 3);
}

#[tokio::test]
async fn each_person_chooses_their_notification_emails() {
    let app = spawn_app().await;
    let owner = app.signup("Settings Co").await;
    let dispatcher = app.add_user(&owner, "dispatcher").await;
    let tech = app.add_user(&owner, "technician").await;
    let emailed = |body: &Value| -> Vec<String> {
        body["kinds"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|k| k["email"] == true)
            .map(|k| k["kind"].as_str().unwrap().to_string())
            .collect()
    };
    let listed = |body: &Value| -> Vec<String> {
        body["kinds"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kind"].as_str().unwrap().to_string())
            .collect()
    };

    // The defaults: owners and admins hear what clients did and money in.
    let mine = app
        .get("/api/v1/me/notification-settings", &owner.token)
        .await
        .expect(200)
        .body;
    assert_eq!(mine["customized"], false);
    assert_eq!(
        emailed(&mine),
        vec![
            "quote_approved",
            "quote_changes_requested",
            "request_received",
            "invoice_paid"
        ]
    );
    assert_eq!(listed(&mine).len(), 9);
    assert_eq!(mine["kinds"][0]["label"], "a client approves a quote");
    let theirs = app
        .get("/api/v1/me/notification-settings", &dispatcher.token)
        .await
        .expect(200)
        .body;
    assert!(emailed(&theirs).is_empty());
    // A technician is offered only what reaches them: their visits.
    let field = app
        .get("/api/v1/me/notification-settings", &tech.token)
        .await
        .expect(200)
        .body;
    assert_eq!(listed(&field), vec!["visit_assigned", "visit_reassigned"]);
    assert!(emailed(&field).is_empty());

    // Unknown kinds, and kinds the role never receives, are refused at the field.
    let bad = app
        .put(
            "/api/v1/me/notification-settings",
            &owner.token,
            json!({"email": ["invoice_paid", "quote_exploded"]}),
        )
        .await
        .problem(422, "validation_failed");
    assert_eq!(bad.fields(), vec!["email[1]"]);
    let bad = app
        .put(
            "/api/v1/me/notification-settings",
            &tech.token,
            json!({"email": ["quote_approved"]}),
        )
        .await
        .problem(422, "validation_failed");
    assert_eq!(bad.fields(), vec!["email[0]"]);
    app.put(
        "/api/v1/me/notification-settings",
        &owner.token,
        json!({"emails": []}),
    )
    .await
    .expect(422);

    // Chosen: exactly those (twice named is once), and only for the one who chose.
    let chosen = app
        .put(
            "/api/v1/me/notification-settings",
            &tech.token,
            json!({"email": ["visit_assigned", "visit_assigned"]}),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(chosen["customized"], true);
    assert_eq!(emailed(&chosen), vec!["visit_assigned"]);
    let none = app
        .put(
            "/api/v1/me/notification-settings",
            &owner.token,
            json!({"email": []}),
        )
        .await
        .expect(200)
        .body;
    assert!(emailed(&none).is_empty());
    let again = app
        .get("/api/v1/me/notification-settings", &owner.token)
        .await
        .expect(200)
        .body;
    assert_eq!(again, none);
    let field = app
        .get("/api/v1/me/notification-settings", &tech.token)
        .await
        .expect(200)
        .body;
    assert_eq!(emailed(&field), vec!["visit_assigned"]);
}
