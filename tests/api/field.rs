//! The technician app's API: the day's own visits with what working them offline
//! needs (`GET /me/visits`), clock-ins and clock-outs sent late with the time they
//! happened, and the replays of an offline queue (`Idempotency-Key`, `version`).

use serde_json::json;

use crate::helpers::{Session, TestApp, spawn_app};

async fn day(app: &TestApp) -> (Session, Session, String, String) {
    let owner = app.signup("Field Co").await;
    let tech = app.add_user(&owner, "technician").await;
    let client = app
        .create_client(
            &owner,
            json!({"first_name": "Rita", "last_name": "Ruiz",
                   "phones": [{"number": "+15185550101", "label": "mobile", "primary": true, "sms_opt_in": true}],
                   "emails": [{"address": "rita@example.com", "primary": true}],
                   "billing_address": {"street1": "7 Oak Ln", "city": "Albany"}}),
        )
        .await;
    let today = chrono::Utc::now().date_naive().to_string();
    let job = app
        .post(
            "/api/v1/jobs",
            &owner.token,
            json!({"client_id": client["id"], "title": "Gutters", "lines": [{"name": "Gutter clean", "quantity": 2, "unit_price": 4500}],
                   "schedule": {"start_date": today, "start_time": "00:00", "duration_minutes": 600, "assignee_ids": [tech.user_id], "checklist": ["Ladder", "Photos"]}}),
        )
        .await
        .expect(201)
        .body;
    let visit = job["visits"][0]["id"].as_str().unwrap().to_string();
    (owner, tech, job["id"].as_str().unwrap().to_string(), visit)
}

fn window() -> String {
    let now = chrono::Utc::now();
    let from = (now - chrono::Duration::days(1)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let to = (now + chrono::Duration::days(2)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    format!("/api/v1/me/visits?from={from}&to={to}")
}

#[tokio::test]
async fn a_technician_gets_their_day_with_contacts_and_work_but_prices_only_when_allowed() {
    let app = spawn_app().await;
    let (owner, tech, _job, visit) = day(&app).await;
    let other = app.add_user(&owner, "technician").await;

    let mine = app.get(&window(), &tech.token).await.expect(200).body;
    let visits = mine["visits"].as_array().unwrap();
    assert_eq!(visits.len(), 1);
    assert_eq!(visits[0]["visit"]["id"], visit.as_str());
    assert_eq!(visits[0]["visit"]["checklist"].as_array().unwrap().len(), 2);
    assert_eq!(visits[0]["visit"]["work"][0]["name"], "Gutter clean");
    assert_eq!(
        visits[0]["visit"]["work"][0]["unit_price"],
        serde_json::Value::Null
    );
    assert_eq!(visits[0]["client"]["name"], "Rita Ruiz");
    assert_eq!(visits[0]["client"]["phones"][0]["number"], "+15185550101");
    assert_eq!(
        visits[0]["client"]["emails"][0]["address"],
        "rita@example.com"
    );
    assert_eq!(mine["show_prices"], false);

    // Someone else's day is empty; the office's own day too (nothing assigned).
    let theirs = app.get(&window(), &other.token).await.expect(200).body;
    assert!(theirs["visits"].as_array().unwrap().is_empty());
    let office = app.get(&window(), &owner.token).await.expect(200).body;
    assert!(office["visits"].as_array().unwrap().is_empty());
    assert_eq!(office["show_prices"], true);

    let settings = app.get("/api/v1/settings", &owner.token).await.expect(200);
    app.patch(
        "/api/v1/settings",
        &owner.token,
        json!({"show_prices_to_technicians": true, "version": settings.body["version"]}),
    )
    .await
    .expect(200);
    let priced = app.get(&window(), &tech.token).await.expect(200).body;
    assert_eq!(priced["show_prices"], true);
    assert_eq!(priced["visits"][0]["visit"]["work"][0]["line_total"], 9000);

    // A window that is backwards or too long is refused at `to`.
    let reply = app
        .get(
            "/api/v1/me/visits?from=2026-01-10T00:00:00Z&to=2026-01-01T00:00:00Z",
            &tech.token,
        )
        .await
        .problem(422, "validation_failed");
    assert_eq!(reply.fields(), vec!["to"]);
    app.get(
        "/api/v1/me/visits?from=2026-01-01T00:00:00Z&to=2026-03-01T00:00:00Z",
        &tech.token,
    )
    .await
    .problem(422, "validation_failed");
}

#[tokio::test]
async fn clocking_in_and_out_offline_keeps_the_time_it_happened() {
    let app = spawn_app().await;
    let (_owner, tech, _job, visit) = day(&app).await;
    let now = chrono::Utc::now();
    let started =
        (now - chrono::Duration::minutes(90)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let ended =
        (now - chrono::Duration::minutes(30)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);

    // Out of bounds: in the future, or more than a day ago.
    let future = (now + chrono::Duration::hours(1)).to_rfc3339();
    let reply = app
        .post(
            &format!("/api/v1/visits/{visit}/clock-in"),
            &tech.token,
            json!({"at": future}),
        )
        .await
        .problem(422, "validation_failed");
    assert_eq!(reply.fields(), vec!["at"]);
    let old = (now - chrono::Duration::hours(25)).to_rfc3339();
    app.post(
        &format!("/api/v1/visits/{visit}/clock-in"),
        &tech.token,
        json!({"at": old}),
    )
    .await
    .problem(422, "validation_failed");

    // The queue replays a clock-in twice (the first answer was lost): one entry.
    for _ in 0..2 {
        let reply = app
            .request(
                reqwest::Method::POST,
                &format!("/api/v1/visits/{visit}/clock-in"),
                Some(&tech.token),
                Some(json!({"at": started})),
                &[("Idempotency-Key", "field-clock-in-1")],
            )
            .await
            .expect(200);
        assert_eq!(reply.body["status"], "in_progress");
    }
    let out = app
        .post(
            &format!("/api/v1/visits/{visit}/clock-out"),
            &tech.token,
            json!({"at": ended}),
        )
        .await
        .expect(200)
        .body;
    let entries = out["time_entries"].as_array().unwrap();
    assert_eq!(entries.len(), 1);
    let start =
        chrono::DateTime::parse_from_rfc3339(entries[0]["started_at"].as_str().unwrap()).unwrap();
    let end =
        chrono::DateTime::parse_from_rfc3339(entries[0]["ended_at"].as_str().unwrap()).unwrap();
    assert_eq!((end - start).num_minutes(), 60);
    assert_eq!(
        start.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        started
    );

    // A clock-out sent with a time before its clock-in ends it when it began.
    let early = (now - chrono::Duration::minutes(20)).to_rfc3339();
    app.post(
        &format!("/api/v1/visits/{visit}/clock-in"),
        &tech.token,
        json!({}),
    )
    .await
    .expect(200);
    let out = app
        .post(
            &format!("/api/v1/visits/{visit}/clock-out"),
            &tech.token,
            json!({"at": early}),
        )
        .await
        .expect(200)
        .body;
    let last = out["time_entries"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["started_at"], last["ended_at"]);
}

#[tokio::test]
async fn a_stale_note_is_a_conflict_with_the_current_visit_never_an_overwrite() {
    let app = spawn_app().await;
    let (owner, tech, _job, visit) = day(&app).await;
    let read = app
        .get(&format!("/api/v1/visits/{visit}"), &tech.token)
        .await
        .expect(200)
        .body;
    let version = read["version"].clone();
    // The office writes first; the technician's queued note still carries the old version.
    app.patch(
        &format!("/api/v1/visits/{visit}"),
        &owner.token,
        json!({"notes": "Gate code 1234", "version": version}),
    )
    .await
    .expect(200);
    app.patch(
        &format!("/api/v1/visits/{visit}"),
        &tech.token,
        json!({"notes": "Cleaned, one downspout loose", "version": version}),
    )
    .await
    .problem(409, "version_conflict");
    let now = app
        .get(&format!("/api/v1/visits/{visit}"), &tech.token)
        .await
        .expect(200)
        .body;
    assert_eq!(now["notes"], "Gate code 1234");
}

/// The visit as `who` reads it now.
async fn visit_now(app: &TestApp, who: &Session, visit: &str) -> serde_json::Value {
    app.get(&format!("/api/v1/visits/{visit}"), &who.token)
        .await
        .expect(200)
        .body
}

#[tokio::test]
async fn a_tick_or_a_completion_based_on_an_old_version_meets_the_office_change() {
    let app = spawn_app().await;
    let (owner, tech, _job, visit) = day(&app).await;
    let seen = visit_now(&app, &tech, &visit).await;
    let version = seen["version"].as_i64().unwrap();
    let item = seen["checklist"][0]["id"].as_str().unwrap().to_string();
    let tick = format!("/api/v1/visits/{visit}/checklist/{item}");

    // The office moves the visit an hour later while the phone is offline.
    let today = chrono::Utc::now().date_naive().to_string();
    let moved = app
        .put(
            &format!("/api/v1/schedule/jobs/{visit}"),
            &owner.token,
            json!({"start_date": today, "start_time": "01:00", "duration_minutes": 540, "version": version}),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(moved["version"], version + 1);

    // The queued tick still carries the version the technician saw: refused, with
    // the visit's version now; nothing is ticked.
    let stale = app
        .patch(
            &tick,
            &tech.token,
            json!({"done": true, "version": version}),
        )
        .await
        .problem(409, "version_conflict");
    assert_eq!(stale.body["current_version"], version + 1, "{}", stale.body);
    assert!(stale.body["updated_at"].is_string(), "{}", stale.body);
    // The same as If-Match: 412.
    app.request(
        reqwest::Method::PATCH,
        &tick,
        Some(&tech.token),
        Some(json!({"done": true})),
        &[("if-match", &format!("\"{version}\""))],
    )
    .await
    .problem(412, "precondition_failed");
    assert_eq!(
        visit_now(&app, &tech, &visit).await["checklist"][0]["done"],
        false
    );

    // Sent again over the new version (the app decided the move does not touch the
    // item): ticked; a tick without a version (an older app) still works.
    let ticked = app
        .patch(
            &tick,
            &tech.token,
            json!({"done": true, "version": version + 1}),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(ticked["checklist"][0]["done"], true);
    assert_eq!(ticked["version"], version + 2);
    app.patch(&tick, &tech.token, json!({"done": true}))
        .await
        .expect(200);

    // A completion on the version before the ticks: refused, the visit stays open.
    let complete = format!("/api/v1/visits/{visit}/complete");
    let stale = app
        .post(&complete, &tech.token, json!({"version": version}))
        .await
        .problem(409, "version_conflict");
    assert_eq!(stale.body["current_version"], version + 3, "{}", stale.body);
    let open = visit_now(&app, &tech, &visit).await;
    assert_eq!(open["status"], "scheduled");
    // On the version it is at: completed. Again without a version: harmless.
    let done = app
        .post(&complete, &tech.token, json!({"version": version + 3}))
        .await
        .expect(200)
        .body;
    assert_eq!(done["status"], "completed");
    assert_eq!(done["completed_by"], tech.user_id.as_str());
    app.post(&complete, &tech.token, json!({}))
        .await
        .expect(200);
}

#[tokio::test]
async fn a_completion_queued_while_the_office_completed_the_visit_is_refused() {
    let app = spawn_app().await;
    let (owner, tech, _job, visit) = day(&app).await;
    let version = visit_now(&app, &tech, &visit).await["version"].clone();
    let complete = format!("/api/v1/visits/{visit}/complete");

    // The office completes it first: the technician's completion on the old version
    // is a conflict naming the office, and the visit stays the office's completion.
    app.post(&complete, &owner.token, json!({}))
        .await
        .expect(200);
    let stale = app
        .post(&complete, &tech.token, json!({"version": version}))
        .await
        .problem(409, "version_conflict");
    assert_eq!(
        stale.body["updated_by"]["name"], "Olive Owner",
        "{}",
        stale.body
    );
    assert_eq!(
        visit_now(&app, &tech, &visit).await["completed_by"],
        owner.user_id.as_str()
    );
}

#[tokio::test]
async fn a_completion_queued_while_the_office_cancelled_the_job_is_refused() {
    let app = spawn_app().await;
    let (owner, tech, job, visit) = day(&app).await;
    // Started (so cancelling the job keeps the visit, cancelled, instead of removing it).
    app.post(
        &format!("/api/v1/visits/{visit}/clock-in"),
        &tech.token,
        json!({}),
    )
    .await
    .expect(200);
    let version = visit_now(&app, &tech, &visit).await["version"].clone();
    app.post(
        &format!("/api/v1/jobs/{job}/cancel"),
        &owner.token,
        json!({}),
    )
    .await
    .expect(200);
    let complete = format!("/api/v1/visits/{visit}/complete");
    let stale = app
        .post(&complete, &tech.token, json!({"version": version}))
        .await
        .problem(409, "version_conflict");
    assert!(
        stale.body["current_version"].as_i64() > version.as_i64(),
        "{}",
        stale.body
    );
    // Without a version a cancelled visit still cannot be completed.
    app.post(&complete, &tech.token, json!({}))
        .await
        .problem(409, "invalid_transition");
    let now = visit_now(&app, &tech, &visit).await;
    assert_eq!(now["status"], "cancelled");
}

#[tokio::test]
async fn new_job_instructions_are_a_new_version_of_the_open_visits_that_show_them() {
    let app = spawn_app().await;
    let (owner, tech, job, visit) = day(&app).await;
    let url = format!("/api/v1/jobs/{job}");
    let read = app.get(&url, &owner.token).await.expect(200).body;
    let before = visit_now(&app, &tech, &visit).await["version"]
        .as_i64()
        .unwrap();
    let lines = json!([{"name": "Gutter clean", "quantity": 2, "unit_price": 4500}]);

    // A new title only: the visit's version stays.
    let renamed = app
        .put(
            &url,
            &owner.token,
            json!({"title": "Gutters front and back", "lines": lines, "version": read["version"]}),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(visit_now(&app, &tech, &visit).await["version"], before);

    // New instructions: the visit shows them, so its version moves, and a completion
    // queued over the old instructions is refused.
    app.put(
        &url,
        &owner.token,
        json!({"title": "Gutters front and back", "instructions": "Dog in the yard: call first",
               "lines": lines, "version": renamed["version"]}),
    )
    .await
    .expect(200);
    let now = visit_now(&app, &tech, &visit).await;
    assert_eq!(now["instructions"], "Dog in the yard: call first");
    assert_eq!(now["version"], before + 1);
    app.post(
        &format!("/api/v1/visits/{visit}/complete"),
        &tech.token,
        json!({"version": before}),
    )
    .await
    .problem(409, "version_conflict");
}
