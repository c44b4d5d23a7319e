//! Visit reminders and overdue-invoice follow-ups: account settings, once per
//! visit / step even when two runs overlap, texts only to opted-in phones, and no
//! follow-up after payment.

use chrono::{DateTime, Duration, Utc};
use jobber::config::Role;
use jobber::modules::auth::token::TokenKeys;
use jobber::modules::invoices::reminders::{self, Senders};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{Session, TestApp, spawn_app_with};
use crate::sms::with_twilio;

fn keys() -> TokenKeys {
    TokenKeys::new(b"reminder-tests-signing-key-0123456789")
}

async fn run(app: &TestApp, owner: &Session, now: DateTime<Utc>) -> u64 {
    let keys = keys();
    let senders = Senders {
        public_url: "http://jobber.test",
        keys: &keys,
        sms: true,
    };
    let account: Uuid = owner.account_id.parse().unwrap();
    reminders::run_account(&app.db, &senders, account, now)
        .await
        .unwrap()
}

async fn settings(app: &TestApp, owner: &Session, patch: Value) -> Value {
    let current = app.get("/api/v1/settings", &owner.token).await.expect(200);
    let mut patch = patch;
    patch["version"] = current.body["version"].clone();
    app.patch("/api/v1/settings", &owner.token, patch)
        .await
        .expect(200)
        .body
}

async fn messages(app: &TestApp, template: &str) -> Vec<(String, String, Option<String>, String)> {
    sqlx::query_as(
        "SELECT channel, to_address, subject, body_text FROM messages WHERE template = $1 ORDER BY channel, created_at",
    )
    .bind(template)
    .fetch_all(app.db.pool())
    .await
    .unwrap()
}

#[tokio::test]
async fn a_visit_is_reminded_once_by_email_and_text_even_when_two_runs_overlap() {
    let app = spawn_app_with(with_twilio(Role::Api, None)).await;
    let owner = app.signup("Sparkle Windows").await;
    let client = app
        .create_client(&owner, json!({"first_name": "Ann", "last_name": "Lee", "emails": [{"address": "ann@example.com"}],
            "phones": [{"number": "(555) 010-2222", "sms_opt_in": true}], "billing_address": {"street1": "7 Oak Ln", "city": "Albany"}}))
        .await;
    let job = app
        .post("/api/v1/jobs", &owner.token, json!({"client_id": client["id"], "title": "Window cleaning",
              "schedule": {"start_date": "2026-07-01", "start_time": "09:00", "rrule": "FREQ=WEEKLY;COUNT=2"}}))
        .await
        .expect(201)
        .body;
    let first: DateTime<Utc> = job["visits"][0]["starts_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let visit_id = job["visits"][0]["id"].as_str().unwrap().to_string();
    let now = first - Duration::hours(23);

    // Off by default.
    assert_eq!(run(&app, &owner, now).await, 0);
    let on = settings(&app, &owner, json!({"visit_reminders": true})).await;
    assert_eq!(on["visit_reminder_hours_before"], 24);
    app.patch(
        "/api/v1/settings",
        &owner.token,
        json!({"visit_reminder_hours_before": 0, "version": on["version"]}),
    )
    .await
    .problem(422, "validation_failed");

    // Two runs at once (two workers): one reminder.
    let (a, b) = tokio::join!(run(&app, &owner, now), run(&app, &owner, now));
    assert_eq!(a + b, 1, "one of the overlapping runs sends it");
    assert_eq!(
        run(&app, &owner, now + Duration::hours(1)).await,
        0,
        "never twice"
    );

    let sent = messages(&app, "visit_reminder").await;
    assert_eq!(sent.len(), 2, "{sent:?}");
    let (channel, to, subject, body) = &sent[0];
    assert_eq!(
        (channel.as_str(), to.as_str()),
        ("email", "ann@example.com")
    );
    assert!(
        subject
            .as_deref()
            .unwrap()
            .starts_with("Reminder: Window cleaning from Sparkle Windows")
    );
    assert!(body.contains("Hello Ann Lee,"), "{body}");
    assert!(
        body.contains("When: Wednesday, 1 July 2026 at 09:00"),
        "{body}"
    );
    assert!(body.contains("Where: 7 Oak Ln, Albany"), "{body}");
    let (channel, to, _, text) = &sent[1];
    assert_eq!((channel.as_str(), to.as_str()), ("sms", "+15550102222"));
    assert!(
        text.starts_with(
            "Reminder from Sparkle Windows: Window cleaning, Wednesday, 1 July 2026 at 09:00."
        ),
        "{text}"
    );
    let jobs: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM job_outbox WHERE queue IN ('email.send', 'sms.send')",
    )
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    assert_eq!(jobs, 2);
    let recorded: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM client_reminders WHERE kind = 'visit_reminder' AND subject_id = $1::uuid AND message_id IS NOT NULL",
    )
    .bind(&visit_id)
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    assert_eq!(recorded, 1);

    // The next week's visit, in its own window; without opt-in, email only.
    let current = app
        .get(
            &format!("/api/v1/clients/{}", client["id"].as_str().unwrap()),
            &owner.token,
        )
        .await
        .expect(200)
        .body;
    app.put(&format!("/api/v1/clients/{}", client["id"].as_str().unwrap()), &owner.token,
        json!({"first_name": "Ann", "last_name": "Lee", "emails": [{"address": "ann@example.com"}],
               "phones": [{"number": "(555) 010-2222", "sms_opt_in": false}], "version": current["version"]}))
        .await
        .expect(200);
    assert_eq!(run(&app, &owner, now + Duration::days(7)).await, 1);
    let sent = messages(&app, "visit_reminder").await;
    assert_eq!(
        sent.iter().filter(|m| m.0 == "sms").count(),
        1,
        "no text without opt-in"
    );
    assert_eq!(sent.iter().filter(|m| m.0 == "email").count(), 2);
}

#[tokio::test]
async fn overdue_invoices_are_followed_up_at_each_step_once_and_not_after_payment() {
    let app = spawn_app_with(|c| c.role = Role::Api).await;
    let owner = app.signup("Sparkle Windows").await;
    let client = app
        .create_client(&owner, json!({"first_name": "Ann", "last_name": "Lee", "emails": [{"address": "ann@example.com"}]}))
        .await;
    let invoice = app
        .post("/api/v1/invoices", &owner.token, json!({"client_id": client["id"], "title": "Fence", "lines": [{"name": "Fence", "quantity": 1, "unit_price": 10000}], "tax_rate_ids": []}))
        .await
        .expect(201)
        .body;
    let id = invoice["id"].as_str().unwrap();
    app.post(
        &format!("/api/v1/invoices/{id}/send"),
        &owner.token,
        json!({}),
    )
    .await
    .expect(200);
    sqlx::query("UPDATE invoices SET issue_date = '2026-01-01', due_date = '2026-01-10' WHERE id = $1::uuid")
        .bind(id)
        .execute(app.db.pool())
        .await
        .unwrap();
    let at = |day: &str| -> DateTime<Utc> { format!("{day}T17:00:00Z").parse().unwrap() };

    // Off by default; then on with the default steps 3, 7, 14.
    assert_eq!(run(&app, &owner, at("2026-01-18")).await, 0);
    let on = settings(&app, &owner, json!({"invoice_followups": true})).await;
    assert_eq!(on["invoice_followup_days"], json!([3, 7, 14]));

    assert_eq!(
        run(&app, &owner, at("2026-01-12")).await,
        0,
        "2 days late: no step yet"
    );
    // 8 days late: steps 3 and 7 are both reached; one email (the 7-day one).
    let (a, b) = tokio::join!(
        run(&app, &owner, at("2026-01-18")),
        run(&app, &owner, at("2026-01-18"))
    );
    assert_eq!(a + b, 1);
    assert_eq!(run(&app, &owner, at("2026-01-19")).await, 0);
    let sent = messages(&app, "invoice_followup").await;
    assert_eq!(sent.len(), 1);
    let (channel, to, subject, body) = &sent[0];
    assert_eq!(
        (channel.as_str(), to.as_str()),
        ("email", "ann@example.com")
    );
    let number = invoice["number"]
        .as_str()
        .map(String::from)
        .unwrap_or_else(|| "INV-1".into());
    assert_eq!(
        subject.as_deref(),
        Some(format!("Reminder: invoice {number} from Sparkle Windows is overdue").as_str())
    );
    assert!(
        body.contains("was due on 2026-01-10, 8 days ago, and has a balance of USD 100.00."),
        "{body}"
    );
    assert!(
        body.contains(&format!(
            "http://jobber.test/hub/invoices/{id}?account={}",
            owner.account_id
        )),
        "{body}"
    );
    let steps: Vec<i32> = sqlx::query_scalar(
        "SELECT step FROM client_reminders WHERE kind = 'invoice_followup' ORDER BY step",
    )
    .fetch_all(app.db.pool())
    .await
    .unwrap();
    assert_eq!(steps, vec![3, 7]);

    // 15 days late: the 14-day step.
    assert_eq!(run(&app, &owner, at("2026-01-25")).await, 1);
    assert_eq!(run(&app, &owner, at("2026-01-26")).await, 0);
    assert_eq!(messages(&app, "invoice_followup").await.len(), 2);

    // Paid in full: no more follow-ups, even at a new step.
    settings(
        &app,
        &owner,
        json!({"invoice_followup_days": [30, 3, 7, 14, 14]}),
    )
    .await;
    app.post(
        &format!("/api/v1/invoices/{id}/payments"),
        &owner.token,
        json!({"method": "check", "amount": 10000, "reference": "Check 1042"}),
    )
    .await
    .expect(201);
    assert_eq!(run(&app, &owner, at("2026-02-15")).await, 0);
    assert_eq!(messages(&app, "invoice_followup").await.len(), 2);
}
