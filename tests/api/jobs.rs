//! Jobs, recurring visits across DST, double booking, technicians' rights, completion,
//! cancellation and quote conversion. Expected instants are worked out by hand:
//! New York is UTC-5 (EST) until 2026-03-08 and UTC-4 (EDT) after; Berlin is UTC+1
//! (CET) until 2026-03-29 and UTC+2 (CEST) after.

use serde_json::{Value, json};

use crate::helpers::{Session, TestApp, spawn_app};

async fn business(app: &TestApp, time_zone: &str) -> (Session, String) {
    let owner = app.signup("Jobs Co").await;
    let settings = app.get("/api/v1/settings", &owner.token).await.expect(200);
    app.patch(
        "/api/v1/settings",
        &owner.token,
        json!({"time_zone": time_zone, "version": settings.body["version"]}),
    )
    .await
    .expect(200);
    let client = app.create_client(&owner, json!({"first_name": "Rita", "last_name": "Ruiz", "billing_address": {"street1": "7 Oak Ln", "city": "Albany"}})).await;
    (owner, client["id"].as_str().unwrap().to_string())
}

fn starts(job: &Value) -> Vec<String> {
    job["visits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["starts_at"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn weekly_visits_keep_their_local_time_across_dst_in_new_york() {
    let app = spawn_app().await;
    let (owner, client) = business(&app, "America/New_York").await;
    let job = app
        .post(
            "/api/v1/jobs",
            &owner.token,
            json!({"client_id": client, "title": "Weekly mow", "lines": [{"name": "Mow", "quantity": 1, "unit_price": 4500}],
                   "schedule": {"start_date": "2026-03-02", "start_time": "09:00", "duration_minutes": 45, "rrule": "FREQ=WEEKLY;BYDAY=MO;COUNT=3"}}),
        )
        .await
        .expect(201)
        .body;
    assert_eq!(job["number"], "J-1");
    assert_eq!(job["recurrence"]["rrule"], "FREQ=WEEKLY;BYDAY=MO;COUNT=3");
    assert_eq!(job["total"], 4500);
    assert_eq!(
        starts(&job),
        vec![
            "2026-03-02T14:00:00Z",
            "2026-03-09T13:00:00Z",
            "2026-03-16T13:00:00Z"
        ]
    );
    assert_eq!(job["visits"][1]["ends_at"], "2026-03-09T13:45:00Z");
    assert_eq!(
        job["visits"][0]["address"], "7 Oak Ln, Albany",
        "the billing address when there is no property"
    );
    assert_eq!(job["visits"][0]["client_name"], "Rita Ruiz");
}

#[tokio::test]
async fn daily_visits_across_the_berlin_spring_change_and_monthly_on_the_31st() {
    let app = spawn_app().await;
    let (owner, client) = business(&app, "Europe/Berlin").await;
    let daily = app
        .post("/api/v1/jobs", &owner.token, json!({"client_id": client, "title": "Daily", "schedule": {"start_date": "2026-03-28", "start_time": "09:00", "rrule": "FREQ=DAILY;COUNT=3"}}))
        .await
        .expect(201)
        .body;
    assert_eq!(
        starts(&daily),
        vec![
            "2026-03-28T08:00:00Z",
            "2026-03-29T07:00:00Z",
            "2026-03-30T07:00:00Z"
        ]
    );
    // Months without a 31st are skipped (RFC 5545), never moved to the 30th.
    let monthly = app
        .post("/api/v1/jobs", &owner.token, json!({"client_id": client, "title": "Monthly", "schedule": {"start_date": "2026-01-31", "start_time": "09:00", "rrule": "FREQ=MONTHLY;COUNT=4"}}))
        .await
        .expect(201)
        .body;
    assert_eq!(
        starts(&monthly),
        vec![
            "2026-01-31T08:00:00Z",
            "2026-03-31T07:00:00Z",
            "2026-05-31T07:00:00Z",
            "2026-07-31T07:00:00Z"
        ]
    );
    // Anytime visits span their local day.
    let anytime = app
        .post("/api/v1/jobs", &owner.token, json!({"client_id": client, "title": "Anytime", "schedule": {"start_date": "2026-03-29"}}))
        .await
        .expect(201)
        .body;
    assert_eq!(anytime["visits"][0]["anytime"], true);
    assert_eq!(anytime["visits"][0]["starts_at"], "2026-03-28T23:00:00Z");
    assert_eq!(
        anytime["visits"][0]["ends_at"], "2026-03-29T22:00:00Z",
        "a 23-hour day"
    );

    let bad = app
        .post("/api/v1/jobs", &owner.token, json!({"client_id": client, "title": "Bad", "schedule": {"start_date": "2026-03-28", "start_time": "09:00", "rrule": "FREQ=YEARLY"}}))
        .await
        .problem(422, "validation_failed");
    assert_eq!(bad.fields(), vec!["schedule.rrule"]);
    assert!(
        bad.body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("YEARLY")
    );
}

#[tokio::test]
async fn double_booking_is_refused_unless_allowed() {
    let app = spawn_app().await;
    let (owner, client) = business(&app, "America/New_York").await;
    let tech = app.add_user(&owner, "technician").await;
    let at = |time: &str, overlap: bool| json!({"client_id": client, "title": "Visit", "schedule": {"start_date": "2026-06-01", "start_time": time, "duration_minutes": 60, "assignee_ids": [tech.user_id], "allow_overlap": overlap}});
    let first = app
        .post("/api/v1/jobs", &owner.token, at("09:00", false))
        .await
        .expect(201)
        .body;
    let conflict = app
        .post("/api/v1/jobs", &owner.token, at("09:30", false))
        .await
        .problem(409, "schedule_conflict");
    let visit_id = first["visits"][0]["id"].as_str().unwrap();
    assert!(
        conflict.body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains(visit_id),
        "{}",
        conflict.text
    );
    app.post("/api/v1/jobs", &owner.token, at("10:00", false))
        .await
        .expect(201);
    app.post("/api/v1/jobs", &owner.token, at("09:15", true))
        .await
        .expect(201);

    // Rescheduling onto a booked slot is refused too; the visit may move within itself.
    let later = app
        .post("/api/v1/jobs", &owner.token, at("13:00", false))
        .await
        .expect(201)
        .body;
    let later_visit = later["visits"][0]["id"].as_str().unwrap();
    app.put(
        &format!("/api/v1/schedule/jobs/{later_visit}"),
        &owner.token,
        json!({"start_date": "2026-06-01", "start_time": "10:30"}),
    )
    .await
    .problem(409, "schedule_conflict");
    let moved = app
        .put(
            &format!("/api/v1/schedule/jobs/{later_visit}"),
            &owner.token,
            json!({"start_date": "2026-06-01", "start_time": "13:30"}),
        )
        .await
        .expect(200);
    assert_eq!(moved.body["starts_at"], "2026-06-01T17:30:00Z");
    assert_eq!(moved.body["assignee_ids"], json!([tech.user_id]));

    // The calendar window.
    let schedule = app
        .get(
            "/api/v1/schedule?from=2026-06-01T00:00:00Z&to=2026-06-02T00:00:00Z",
            &owner.token,
        )
        .await
        .expect(200);
    assert_eq!(schedule.body["visits"].as_array().unwrap().len(), 4);
    app.get(
        "/api/v1/schedule?from=2026-06-02T00:00:00Z&to=2026-06-01T00:00:00Z",
        &owner.token,
    )
    .await
    .problem(422, "validation_failed");
}

#[tokio::test]
async fn technicians_work_their_own_visits_and_nothing_else() {
    let app = spawn_app().await;
    let (owner, client) = business(&app, "UTC").await;
    let tech = app.add_user(&owner, "technician").await;
    let other_tech = app.add_user(&owner, "technician").await;
    let mine = app
        .post(
            "/api/v1/jobs",
            &owner.token,
            json!({"client_id": client, "title": "Gutters", "instructions": "Dog in the yard", "lines": [{"name": "Gutter clean", "quantity": 1, "unit_price": 9900}],
                   "schedule": {"start_date": "2026-07-01", "start_time": "08:00", "assignee_ids": [tech.user_id], "checklist": ["Ladder", "Photos"]}}),
        )
        .await
        .expect(201)
        .body;
    let theirs = app
        .post("/api/v1/jobs", &owner.token, json!({"client_id": client, "title": "Other", "schedule": {"start_date": "2026-07-01", "start_time": "08:00", "assignee_ids": [other_tech.user_id]}}))
        .await
        .expect(201)
        .body;
    let visit = mine["visits"][0]["id"].as_str().unwrap();
    let other_visit = theirs["visits"][0]["id"].as_str().unwrap();

    let seen = app
        .get(&format!("/api/v1/visits/{visit}"), &tech.token)
        .await
        .expect(200)
        .body;
    assert_eq!(seen["instructions"], "Dog in the yard");
    assert_eq!(seen["checklist"].as_array().unwrap().len(), 2);
    assert!(
        seen.get("total").is_none() && seen.get("lines").is_none(),
        "no prices on a visit"
    );
    assert_eq!(seen["work"][0]["name"], "Gutter clean");
    assert_eq!(seen["work"][0]["quantity"], 1.0);
    assert_eq!(
        seen["work"][0]["unit_price"],
        Value::Null,
        "no prices by default"
    );
    assert_eq!(seen["work"][0]["line_total"], Value::Null);
    let settings = app.get("/api/v1/settings", &owner.token).await.expect(200);
    app.patch(
        "/api/v1/settings",
        &owner.token,
        json!({"show_prices_to_technicians": true, "version": settings.body["version"]}),
    )
    .await
    .expect(200);
    let priced = app
        .get(&format!("/api/v1/visits/{visit}"), &tech.token)
        .await
        .expect(200)
        .body;
    assert_eq!(priced["work"][0]["unit_price"], 9900);
    assert_eq!(priced["work"][0]["line_total"], 9900);
    app.get(&format!("/api/v1/visits/{other_visit}"), &tech.token)
        .await
        .problem(404, "visit_not_found");
    let schedule = app
        .get(
            "/api/v1/schedule?from=2026-07-01T00:00:00Z&to=2026-07-02T00:00:00Z",
            &tech.token,
        )
        .await
        .expect(200);
    let ids: Vec<&str> = schedule.body["visits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![visit]);
    app.get("/api/v1/jobs", &tech.token)
        .await
        .problem(403, "forbidden");
    app.get(
        &format!("/api/v1/jobs/{}", mine["id"].as_str().unwrap()),
        &tech.token,
    )
    .await
    .problem(403, "forbidden");

    // Clock in (twice: a retry), tick, note, complete.
    let started = app
        .post(
            &format!("/api/v1/visits/{visit}/clock-in"),
            &tech.token,
            json!({}),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(started["status"], "in_progress");
    app.post(
        &format!("/api/v1/visits/{visit}/clock-in"),
        &tech.token,
        json!({}),
    )
    .await
    .expect(200);
    assert_eq!(
        app.get(&format!("/api/v1/visits/{visit}"), &tech.token)
            .await
            .body["time_entries"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let item = seen["checklist"][0]["id"].as_str().unwrap();
    let ticked = app
        .patch(
            &format!("/api/v1/visits/{visit}/checklist/{item}"),
            &tech.token,
            json!({"done": true}),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(ticked["checklist"][0]["done"], true);
    assert_eq!(ticked["checklist"][0]["done_by"], tech.user_id.as_str());
    app.patch(
        &format!("/api/v1/visits/{visit}"),
        &tech.token,
        json!({"notes": "Cleared 3 downspouts"}),
    )
    .await
    .expect(200);
    app.patch(
        &format!("/api/v1/visits/{visit}"),
        &tech.token,
        json!({"instructions": "No dog"}),
    )
    .await
    .problem(403, "forbidden");
    let done = app
        .post(
            &format!("/api/v1/visits/{visit}/complete"),
            &tech.token,
            json!({}),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(done["status"], "completed");
    assert_eq!(done["notes"], "Cleared 3 downspouts");
    assert!(
        done["time_entries"][0]["ended_at"].is_string(),
        "completing clocks out"
    );
    app.post(
        &format!("/api/v1/visits/{visit}/complete"),
        &tech.token,
        json!({}),
    )
    .await
    .expect(200);

    // One clock at a time.
    let other = app.add_user(&owner, "dispatcher").await;
    let a = app.post("/api/v1/jobs", &owner.token, json!({"client_id": client, "title": "A", "schedule": {"start_date": "2026-07-02", "start_time": "08:00", "assignee_ids": [other.user_id]}})).await.expect(201).body;
    let b = app.post("/api/v1/jobs", &owner.token, json!({"client_id": client, "title": "B", "schedule": {"start_date": "2026-07-02", "start_time": "10:00", "assignee_ids": [other.user_id]}})).await.expect(201).body;
    app.post(
        &format!(
            "/api/v1/visits/{}/clock-in",
            a["visits"][0]["id"].as_str().unwrap()
        ),
        &other.token,
        json!({}),
    )
    .await
    .expect(200);
    app.post(
        &format!(
            "/api/v1/visits/{}/clock-in",
            b["visits"][0]["id"].as_str().unwrap()
        ),
        &other.token,
        json!({}),
    )
    .await
    .problem(409, "already_clocked_in");
}

#[tokio::test]
async fn completing_and_cancelling_jobs() {
    let app = spawn_app().await;
    let (owner, client) = business(&app, "UTC").await;
    let job = app
        .post("/api/v1/jobs", &owner.token, json!({"client_id": client, "title": "Three visits", "schedule": {"start_date": "2026-08-03", "start_time": "09:00", "rrule": "FREQ=DAILY;COUNT=3"}}))
        .await
        .expect(201)
        .body;
    let id = job["id"].as_str().unwrap();
    let open = app
        .post(
            &format!("/api/v1/jobs/{id}/complete"),
            &owner.token,
            json!({}),
        )
        .await
        .problem(409, "open_visits");
    assert_eq!(open.body["errors"].as_array().unwrap().len(), 3);
    let done = app
        .post(
            &format!("/api/v1/jobs/{id}/complete"),
            &owner.token,
            json!({"complete_open_visits": true}),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(done["status"], "completed");
    assert!(
        done["visits"]
            .as_array()
            .unwrap()
            .iter()
            .all(|v| v["status"] == "completed")
    );
    app.post(
        &format!("/api/v1/jobs/{id}/cancel"),
        &owner.token,
        json!({}),
    )
    .await
    .problem(409, "invalid_transition");

    // Cancelling removes visits that have not happened; past ones stay.
    let past_and_future = app
        .post("/api/v1/jobs", &owner.token, json!({"client_id": client, "title": "Mixed", "schedule": {"start_date": "2020-01-01", "start_time": "09:00", "rrule": "FREQ=YEARLY;COUNT=2"}}))
        .await;
    past_and_future.problem(422, "validation_failed");
    // Visits every 30 days from 45 days ago: two have happened, two are ahead.
    let start = (chrono::Utc::now() - chrono::Duration::days(45))
        .date_naive()
        .to_string();
    let mixed = app
        .post("/api/v1/jobs", &owner.token, json!({"client_id": client, "title": "Mixed", "schedule": {"start_date": start, "start_time": "09:00", "rrule": "FREQ=DAILY;INTERVAL=30;COUNT=4"}}))
        .await
        .expect(201)
        .body;
    assert_eq!(starts(&mixed).len(), 4);
    let cancelled = app
        .post(
            &format!("/api/v1/jobs/{}/cancel", mixed["id"].as_str().unwrap()),
            &owner.token,
            json!({}),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(cancelled["status"], "cancelled");
    let now = chrono::Utc::now().to_rfc3339();
    let left = starts(&cancelled);
    assert_eq!(left.len(), 2, "{left:?}");
    assert!(
        left.iter().all(|s| s.as_str() < now.as_str()),
        "only past visits remain: {left:?}"
    );
}

#[tokio::test]
async fn approved_quotes_become_jobs_with_the_accepted_lines() {
    let app = spawn_app().await;
    let (owner, client) = business(&app, "UTC").await;
    let quote = app
        .post(
            "/api/v1/quotes",
            &owner.token,
            json!({"client_id": client, "title": "Patio", "lines": [{"name": "Pavers", "quantity": 10, "unit_price": 1500}, {"name": "Sealant", "quantity": 1, "unit_price": 4000, "optional": true}, {"name": "Lights", "quantity": 2, "unit_price": 2500, "optional": true}]}),
        )
        .await
        .expect(201)
        .body;
    let id = quote["id"].as_str().unwrap();
    app.post(
        &format!("/api/v1/quotes/{id}/convert"),
        &owner.token,
        json!({}),
    )
    .await
    .problem(409, "invalid_transition");
    app.post(
        &format!("/api/v1/quotes/{id}/send"),
        &owner.token,
        json!({"to": "rita@example.com"}),
    )
    .await
    .expect(200);
    let sealant = quote["lines"][1]["id"].as_str().unwrap();
    app.post(
        &format!("/api/v1/quotes/{id}/approve"),
        &owner.token,
        json!({"signature_name": "Rita Ruiz", "selected_optional_line_ids": [sealant]}),
    )
    .await
    .expect(200);
    let job = app
        .post(
            &format!("/api/v1/quotes/{id}/convert"),
            &owner.token,
            json!({"schedule": {"start_date": "2026-09-01", "start_time": "08:00"}}),
        )
        .await
        .expect(201)
        .body;
    let names: Vec<&str> = job["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        vec!["Pavers", "Sealant"],
        "the optional line the client did not pick stays behind"
    );
    assert_eq!(job["total"], 19000);
    assert_eq!(job["quote_id"], id);
    let converted = app
        .get(&format!("/api/v1/quotes/{id}"), &owner.token)
        .await
        .expect(200)
        .body;
    assert_eq!(converted["status"], "converted");
    assert_eq!(converted["converted_job_id"], job["id"]);
    app.post(
        &format!("/api/v1/quotes/{id}/convert"),
        &owner.token,
        json!({}),
    )
    .await
    .problem(409, "invalid_transition");
    let client_jobs = app
        .get(&format!("/api/v1/clients/{client}/jobs"), &owner.token)
        .await
        .expect(200);
    assert_eq!(client_jobs.body["items"].as_array().unwrap().len(), 1);
}

/// The Python interpreter with `icalendar` (make test installs it), or None with a
/// loud message on a developer machine without it; in CI its absence fails.
fn python_with_icalendar() -> Option<String> {
    let python = std::env::var("PYTHON_FOR_TESTS").unwrap_or_else(|_| "python3".into());
    let ok = std::process::Command::new(&python)
        .args(["-c", "import icalendar"])
        .output()
        .is_ok_and(|o| o.status.success());
    if ok {
        return Some(python);
    }
    assert!(
        std::env::var("CI").is_err(),
        "CI needs python3 with icalendar; run scripts/install-test-deps.sh"
    );
    eprintln!(
        "SKIPPING the icalendar parse: {python} has no icalendar (run scripts/install-test-deps.sh)"
    );
    None
}

#[tokio::test]
async fn each_user_has_a_secret_calendar_feed() {
    let app = spawn_app().await;
    let (owner, client) = business(&app, "America/New_York").await;
    let tech = app.add_user(&owner, "technician").await;
    // Starts 10 days from now so it is inside the feed's window whatever the date.
    let day = (chrono::Utc::now() + chrono::Duration::days(10)).date_naive();
    let job = app
        .post(
            "/api/v1/jobs",
            &owner.token,
            json!({"client_id": client, "title": "Hedges, fences; gates", "instructions": "Gate code 4411",
                   "schedule": {"start_date": day.to_string(), "start_time": "09:00", "rrule": "FREQ=WEEKLY;COUNT=2", "assignee_ids": [tech.user_id]}}),
        )
        .await
        .expect(201)
        .body;
    let first_start = job["visits"][0]["starts_at"].as_str().unwrap().to_string();

    let address = app
        .get(
            &format!("/api/v1/users/{}/calendar-feed", tech.user_id),
            &tech.token,
        )
        .await
        .expect(200)
        .body;
    let url = address["url"].as_str().unwrap();
    assert!(url.starts_with("http://jobber.test/calendar/"));
    let path = crate::helpers::TestApp::local_path(url);
    // Another technician may not read it; an owner may.
    let other = app.add_user(&owner, "technician").await;
    app.get(
        &format!("/api/v1/users/{}/calendar-feed", tech.user_id),
        &other.token,
    )
    .await
    .problem(403, "forbidden");
    assert_eq!(
        app.get(
            &format!("/api/v1/users/{}/calendar-feed", tech.user_id),
            &owner.token
        )
        .await
        .expect(200)
        .body["url"],
        url
    );

    // The feed needs no login: the address is the secret.
    let response = app.http.get(app.url(path)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/calendar; charset=utf-8"
    );
    let ics = response.text().await.unwrap();
    assert!(
        ics.contains("BEGIN:VTIMEZONE\r\nTZID:America/New_York"),
        "{ics}"
    );
    assert_eq!(ics.matches("BEGIN:VEVENT").count(), 2);
    assert!(
        ics.contains("SUMMARY:Hedges\\, fences\\; gates: Rita Ruiz"),
        "{ics}"
    );

    if let Some(python) = python_with_icalendar() {
        let file = std::env::temp_dir().join(format!("jobber-feed-{}.ics", uuid::Uuid::now_v7()));
        std::fs::write(&file, &ics).unwrap();
        let script = r#"
import sys, icalendar
cal = icalendar.Calendar.from_ical(open(sys.argv[1], 'rb').read())
events = sorted(cal.walk('VEVENT'), key=lambda e: e.decoded('DTSTART'))
start = events[0].decoded('DTSTART')
assert start.tzinfo is not None, 'DTSTART must carry its time zone'
print(start.astimezone(__import__('datetime').timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ'), events[0].get('LOCATION'), events[0].get('DESCRIPTION').split('\n')[0])
"#;
        let out = std::process::Command::new(&python)
            .args(["-c", script])
            .arg(&file)
            .output()
            .unwrap();
        let _ = std::fs::remove_file(&file);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let printed = String::from_utf8_lossy(&out.stdout);
        assert!(
            printed.starts_with(&first_start),
            "{printed} vs {first_start}"
        );
        assert!(
            printed.contains("7 Oak Ln, Albany") && printed.contains("Job J-1 for Rita Ruiz"),
            "{printed}"
        );
    }

    // Rotating the address retires the old one.
    let rotated = app
        .post(
            &format!("/api/v1/users/{}/calendar-feed/rotate", tech.user_id),
            &tech.token,
            json!({}),
        )
        .await
        .expect(200)
        .body;
    assert_ne!(rotated["url"], url);
    assert_eq!(
        app.http.get(app.url(path)).send().await.unwrap().status(),
        404
    );
    let wrong_account = format!(
        "/calendar/{}/{}",
        uuid::Uuid::now_v7(),
        path.rsplit('/').next().unwrap()
    );
    assert_eq!(
        app.http
            .get(app.url(&wrong_account))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
}

#[tokio::test]
async fn a_moved_visit_keeps_its_length_and_a_time_needs_a_date() {
    let app = spawn_app().await;
    let (owner, client) = business(&app, "UTC").await;
    let job = app
        .post("/api/v1/jobs", &owner.token, json!({"client_id": client, "title": "Long", "schedule": {"start_date": "2026-06-01", "start_time": "09:00", "duration_minutes": 90}}))
        .await
        .expect(201)
        .body;
    let visit = job["visits"][0]["id"].as_str().unwrap();
    let moved = app
        .put(
            &format!("/api/v1/schedule/jobs/{visit}"),
            &owner.token,
            json!({"start_date": "2026-06-02", "start_time": "13:00"}),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(moved["starts_at"], "2026-06-02T13:00:00Z");
    assert_eq!(moved["ends_at"], "2026-06-02T14:30:00Z", "still 90 minutes");
    let refused = app
        .put(
            &format!("/api/v1/schedule/jobs/{visit}"),
            &owner.token,
            json!({"start_time": "15:00"}),
        )
        .await
        .problem(422, "validation_failed");
    assert_eq!(refused.fields(), vec!["start_time"]);
    let still = app
        .get(&format!("/api/v1/visits/{visit}"), &owner.token)
        .await
        .expect(200)
        .body;
    assert_eq!(
        still["starts_at"], "2026-06-02T13:00:00Z",
        "not unscheduled"
    );
    let bad = app
        .patch(
            &format!("/api/v1/visits/{visit}"),
            &owner.token,
            json!({"add_checklist": ["Gate code", ""]}),
        )
        .await
        .problem(422, "validation_failed");
    assert_eq!(bad.fields(), vec!["add_checklist[1]"]);
}

#[tokio::test]
async fn simultaneous_clock_ins_and_bookings_cannot_break_the_rules() {
    let app = spawn_app().await;
    let (owner, client) = business(&app, "UTC").await;
    let tech = app.add_user(&owner, "technician").await;
    // A double tap: the same clock-in twice at once; then two visits at once.
    let job = |time: &str| json!({"client_id": client, "title": "Visit", "schedule": {"start_date": "2026-07-02", "start_time": time, "assignee_ids": [tech.user_id], "allow_overlap": true}});
    let a = app
        .post("/api/v1/jobs", &owner.token, job("08:00"))
        .await
        .expect(201)
        .body;
    let b = app
        .post("/api/v1/jobs", &owner.token, job("08:00"))
        .await
        .expect(201)
        .body;
    let clock = |visit: &Value| {
        format!(
            "/api/v1/visits/{}/clock-in",
            visit["visits"][0]["id"].as_str().unwrap()
        )
    };
    let (clock_a, clock_b) = (clock(&a), clock(&b));
    let (one, two) = tokio::join!(
        app.post(&clock_a, &tech.token, json!({})),
        app.post(&clock_a, &tech.token, json!({}))
    );
    assert_eq!(
        (one.status.as_u16(), two.status.as_u16()),
        (200, 200),
        "{} {}",
        one.text,
        two.text
    );
    let visit = app
        .get(
            &format!("/api/v1/visits/{}", a["visits"][0]["id"].as_str().unwrap()),
            &tech.token,
        )
        .await
        .expect(200)
        .body;
    assert_eq!(visit["time_entries"].as_array().unwrap().len(), 1);
    app.post(
        &clock_a.replace("clock-in", "clock-out"),
        &tech.token,
        json!({}),
    )
    .await
    .expect(200);
    let (one, two) = tokio::join!(
        app.post(&clock_a, &tech.token, json!({})),
        app.post(&clock_b, &tech.token, json!({}))
    );
    let mut codes = vec![one.status.as_u16(), two.status.as_u16()];
    codes.sort_unstable();
    assert_eq!(codes, vec![200, 409], "{} {}", one.text, two.text);

    // Two dispatchers book the same technician for the same hour at once.
    let booking = json!({"client_id": client, "title": "Race", "schedule": {"start_date": "2026-07-03", "start_time": "10:00", "assignee_ids": [tech.user_id]}});
    for _ in 0..3 {
        let date = format!("2026-07-{:02}", 10 + rand_day());
        let mut body = booking.clone();
        body["schedule"]["start_date"] = json!(date);
        let (one, two) = tokio::join!(
            app.post("/api/v1/jobs", &owner.token, body.clone()),
            app.post("/api/v1/jobs", &owner.token, body.clone())
        );
        let mut codes = vec![one.status.as_u16(), two.status.as_u16()];
        codes.sort_unstable();
        assert_eq!(codes, vec![201, 409], "{} {}", one.text, two.text);
    }
}

fn rand_day() -> u32 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

#[tokio::test]
async fn cancelling_a_job_closes_the_visits_that_began() {
    let app = spawn_app().await;
    let (owner, client) = business(&app, "UTC").await;
    let tech = app.add_user(&owner, "technician").await;
    let start = (chrono::Utc::now() - chrono::Duration::days(2))
        .date_naive()
        .to_string();
    let job = app
        .post("/api/v1/jobs", &owner.token, json!({"client_id": client, "title": "Daily", "schedule": {"start_date": start, "start_time": "00:00", "rrule": "FREQ=DAILY;COUNT=6", "assignee_ids": [tech.user_id]}}))
        .await
        .expect(201)
        .body;
    let visits = job["visits"].as_array().unwrap();
    let done = visits[0]["id"].as_str().unwrap();
    let working = visits[1]["id"].as_str().unwrap();
    app.post(
        &format!("/api/v1/visits/{done}/complete"),
        &owner.token,
        json!({}),
    )
    .await
    .expect(200);
    app.post(
        &format!("/api/v1/visits/{working}/clock-in"),
        &tech.token,
        json!({}),
    )
    .await
    .expect(200);
    let cancelled = app
        .post(
            &format!("/api/v1/jobs/{}/cancel", job["id"].as_str().unwrap()),
            &owner.token,
            json!({}),
        )
        .await
        .expect(200)
        .body;
    let status: Vec<(&str, &str)> = cancelled["visits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["id"].as_str().unwrap(), v["status"].as_str().unwrap()))
        .collect();
    // Visit 3 (today at 00:00) has begun too: it stays, cancelled; later ones go.
    assert_eq!(status.len(), 3, "{status:?}");
    assert_eq!(status[0], (done, "completed"));
    assert_eq!(status[1], (working, "cancelled"));
    assert_eq!(status[2].1, "cancelled");
    assert!(
        cancelled["visits"][1]["time_entries"][0]["ended_at"].is_string(),
        "clocked out"
    );
    app.post(
        &format!("/api/v1/visits/{working}/clock-in"),
        &tech.token,
        json!({}),
    )
    .await
    .problem(409, "invalid_transition");
    // The technician is free again: a new visit at the same hour is not a conflict.
    app.post("/api/v1/jobs", &owner.token, json!({"client_id": client, "title": "Next", "schedule": {"start_date": (chrono::Utc::now() - chrono::Duration::days(1)).date_naive().to_string(), "start_time": "00:00", "assignee_ids": [tech.user_id]}}))
        .await
        .expect(201);
}

#[tokio::test]
async fn recurring_series_are_extended_as_time_passes() {
    let app = spawn_app().await;
    let (owner, client) = business(&app, "America/New_York").await;
    let tech = app.add_user(&owner, "technician").await;
    let today = chrono::Utc::now().date_naive();
    let create = |rrule: &str| json!({"client_id": client, "title": "Weekly", "schedule": {"start_date": today.to_string(), "start_time": "09:00", "rrule": rrule, "assignee_ids": [tech.user_id], "checklist": ["Gate"], "allow_overlap": true}});
    let open_ended = app
        .post("/api/v1/jobs", &owner.token, create("FREQ=WEEKLY"))
        .await
        .expect(201)
        .body;
    let counted = app
        .post("/api/v1/jobs", &owner.token, create("FREQ=WEEKLY;COUNT=60"))
        .await
        .expect(201)
        .body;
    let first = open_ended["visits"].as_array().unwrap().len();
    assert!((52..=54).contains(&first), "{first}");
    assert_eq!(counted["visits"].as_array().unwrap().len(), first);

    let account = uuid::Uuid::parse_str(&owner.account_id).unwrap();
    let later = chrono::Utc::now() + chrono::Duration::days(70);
    // The daily cron task, across accounts on the runner's connection.
    let added = jobber::modules::jobs::service::extend_all_series(&app.db, later)
        .await
        .unwrap();
    let added = usize::try_from(added).unwrap();
    // Ten weeks more of the open series; the counted one stops at 60.
    assert!((9..=11).contains(&(added - (60 - first))), "{added}");
    let again = jobber::modules::jobs::service::extend_series(&app.db, account, later)
        .await
        .unwrap();
    assert_eq!(again, 0, "nothing is generated twice");

    let reload = |job: &Value| format!("/api/v1/jobs/{}", job["id"].as_str().unwrap());
    let open_ended = app
        .get(&reload(&open_ended), &owner.token)
        .await
        .expect(200)
        .body;
    let visits = open_ended["visits"].as_array().unwrap();
    assert!(visits.len() >= first + 9, "{}", visits.len());
    let mut previous: Option<chrono::NaiveDate> = None;
    for visit in visits {
        let start: chrono::DateTime<chrono::Utc> =
            visit["starts_at"].as_str().unwrap().parse().unwrap();
        let local = start.with_timezone(&chrono_tz::America::New_York);
        assert_eq!(
            local.format("%H:%M").to_string(),
            "09:00",
            "local time kept across DST"
        );
        if let Some(previous) = previous {
            assert_eq!((local.date_naive() - previous).num_days(), 7);
        }
        previous = Some(local.date_naive());
        assert_eq!(visit["assignee_ids"], json!([tech.user_id]));
        assert_eq!(visit["checklist"][0]["text"], "Gate");
    }
    let counted = app
        .get(&reload(&counted), &owner.token)
        .await
        .expect(200)
        .body;
    assert_eq!(
        counted["visits"].as_array().unwrap().len(),
        60,
        "COUNT is honoured"
    );
    let much_later = chrono::Utc::now() + chrono::Duration::days(500);
    jobber::modules::jobs::service::extend_series(&app.db, account, much_later)
        .await
        .unwrap();
    let counted = app
        .get(&reload(&counted), &owner.token)
        .await
        .expect(200)
        .body;
    assert_eq!(counted["visits"].as_array().unwrap().len(), 60);
}

/// `GET /jobs?q=`: the jobs list searches the number, the title and the client.
#[tokio::test]
async fn the_jobs_list_searches_number_title_and_client() {
    let app = spawn_app().await;
    let (owner, rita) = business(&app, "UTC").await;
    let other = app
        .create_client(
            &owner,
            json!({"first_name": "Omar", "last_name": "Okafor", "emails": [{"address": "omar@example.com", "label": "home"}]}),
        )
        .await;
    let mut numbers = Vec::new();
    for (client, title) in [
        (rita.as_str(), "Spring cleanup"),
        (rita.as_str(), "50% off gutters"),
        (other["id"].as_str().unwrap(), "Hedge trimming"),
    ] {
        let job = app
            .post(
                "/api/v1/jobs",
                &owner.token,
                json!({"client_id": client, "title": title}),
            )
            .await
            .expect(201)
            .body;
        numbers.push(job["number"].as_str().unwrap().to_string());
    }
    let titles = |q: &str| {
        let app = &app;
        let token = owner.token.clone();
        let path = format!(
            "/api/v1/jobs?q={}",
            form_urlencoded::byte_serialize(q.as_bytes()).collect::<String>()
        );
        async move {
            let mut found: Vec<String> = app.get(&path, &token).await.expect(200).body["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|j| j["title"].as_str().unwrap().to_string())
                .collect();
            found.sort();
            found
        }
    };
    assert_eq!(titles("cleanup").await, ["Spring cleanup"]);
    assert_eq!(titles("RUIZ").await, ["50% off gutters", "Spring cleanup"]);
    assert_eq!(titles("omar@example").await, ["Hedge trimming"]);
    assert_eq!(
        titles(&format!("#{}", numbers[2])).await,
        ["Hedge trimming"]
    );
    // A typed % is a percent sign, not a wildcard.
    assert_eq!(titles("50%").await, ["50% off gutters"]);
    assert_eq!(titles("%").await, ["50% off gutters"]);
    assert!(titles("nothing like this").await.is_empty());
    // Blank is no filter.
    assert_eq!(titles("  ").await.len(), 3);
}

/// The calendar asks for the lanes it shows: `assignees=` (several, comma-separated)
/// and the older `assignee=`, alone or together; each visit comes once.
#[tokio::test]
async fn the_schedule_pages_by_technician() {
    let app = spawn_app().await;
    let owner = app.signup("Lanes Co").await;
    let client = app
        .create_client(&owner, json!({"first_name": "Lana"}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut techs = Vec::new();
    for _ in 0..3 {
        techs.push(app.add_user(&owner, "technician").await);
    }
    let (t1, t2, t3) = (&techs[0].user_id, &techs[1].user_id, &techs[2].user_id);
    let mut visit_of = Vec::new();
    for (hour, assignees) in [
        ("08:00", json!([t1])),
        ("09:00", json!([t2])),
        ("10:00", json!([t3])),
        ("11:00", json!([t1, t2])),
        ("12:00", json!([])),
    ] {
        let job = app
            .post("/api/v1/jobs", &owner.token, json!({"client_id": client, "title": format!("At {hour}"),
                "schedule": {"start_date": "2026-08-03", "start_time": hour, "assignee_ids": assignees}}))
            .await
            .expect(201)
            .body;
        visit_of.push(job["visits"][0]["id"].as_str().unwrap().to_string());
    }
    // Lanes show the window only: the same people's visits of another day stay out.
    app.post("/api/v1/jobs", &owner.token, json!({"client_id": client, "title": "Next day",
        "schedule": {"start_date": "2026-08-04", "start_time": "08:00", "assignee_ids": [t1, t2, t3]}}))
        .await
        .expect(201);
    let window = "from=2026-08-03T00:00:00Z&to=2026-08-04T00:00:00Z";
    let ids = |reply: crate::helpers::Reply| -> Vec<String> {
        reply.body["visits"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["id"].as_str().unwrap().to_string())
            .collect()
    };
    let all = ids(app
        .get(&format!("/api/v1/schedule?{window}"), &owner.token)
        .await
        .expect(200));
    assert_eq!(all, visit_of);
    let two = ids(app
        .get(
            &format!("/api/v1/schedule?{window}&assignees={t1},{t2}"),
            &owner.token,
        )
        .await
        .expect(200));
    assert_eq!(
        two,
        vec![
            visit_of[0].clone(),
            visit_of[1].clone(),
            visit_of[3].clone()
        ]
    );
    let one = ids(app
        .get(
            &format!("/api/v1/schedule?{window}&assignee={t3}"),
            &owner.token,
        )
        .await
        .expect(200));
    assert_eq!(one, vec![visit_of[2].clone()]);
    let both = ids(app
        .get(
            &format!("/api/v1/schedule?{window}&assignee={t3}&assignees={t2}"),
            &owner.token,
        )
        .await
        .expect(200));
    assert_eq!(
        both,
        vec![
            visit_of[1].clone(),
            visit_of[2].clone(),
            visit_of[3].clone()
        ]
    );
    let reply = app
        .get(
            &format!("/api/v1/schedule?{window}&assignees={t1},nobody"),
            &owner.token,
        )
        .await
        .problem(422, "validation_failed");
    assert_eq!(reply.fields(), vec!["assignees"]);
    // A technician sees their own lane, whatever they ask for.
    let own = ids(app
        .get(
            &format!("/api/v1/schedule?{window}&assignees={t2},{t3}"),
            &techs[0].token,
        )
        .await
        .expect(200));
    assert_eq!(own, vec![visit_of[0].clone(), visit_of[3].clone()]);
}

#[tokio::test]
async fn the_editor_previews_a_series_as_the_job_will_get_it() {
    let app = spawn_app().await;
    let (owner, client) = business(&app, "America/New_York").await;
    let schedule = json!({"start_date": "2026-03-02", "start_time": "09:00", "duration_minutes": 45,
                          "rrule": "FREQ=WEEKLY;INTERVAL=1;BYDAY=TH,MO;COUNT=5"});
    let mut body = schedule.clone();
    body["limit"] = json!(3);
    let preview = app
        .post("/api/v1/jobs/recurrence/preview", &owner.token, body)
        .await
        .expect(200)
        .body;
    // Canonical: the default INTERVAL=1 left out.
    assert_eq!(preview["rrule"], "FREQ=WEEKLY;BYDAY=TH,MO;COUNT=5");
    assert_eq!(preview["time_zone"], "America/New_York");
    assert_eq!(preview["generated"], 5);
    let visits = preview["visits"].as_array().unwrap();
    assert_eq!(visits.len(), 3);
    // Across the 8 March DST change the local time stays 09:00, the UTC instant moves.
    let pick =
        |key: &str| -> Vec<&str> { visits.iter().map(|v| v[key].as_str().unwrap()).collect() };
    assert_eq!(pick("date"), ["2026-03-02", "2026-03-05", "2026-03-09"]);
    assert_eq!(
        pick("local_start"),
        [
            "2026-03-02T09:00:00",
            "2026-03-05T09:00:00",
            "2026-03-09T09:00:00"
        ]
    );
    assert_eq!(
        pick("starts_at"),
        [
            "2026-03-02T14:00:00Z",
            "2026-03-05T14:00:00Z",
            "2026-03-09T13:00:00Z"
        ]
    );
    assert_eq!(visits[2]["ends_at"], "2026-03-09T13:45:00Z");
    assert_eq!(visits[2]["index"], 2);

    // The job created from the same schedule gets exactly those visits.
    let job = app
        .post(
            "/api/v1/jobs",
            &owner.token,
            json!({"client_id": client, "title": "Mow", "schedule": schedule}),
        )
        .await
        .expect(201)
        .body;
    assert_eq!(starts(&job)[..3], pick("starts_at"));
    assert_eq!(starts(&job).len(), 5);

    // Anytime visits span their local day; the 31st skips the short months.
    let anytime = app
        .post(
            "/api/v1/jobs/recurrence/preview",
            &owner.token,
            json!({"start_date": "2026-01-10", "rrule": "FREQ=MONTHLY;BYMONTHDAY=31"}),
        )
        .await
        .expect(200)
        .body;
    let days: Vec<&str> = anytime["visits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["date"].as_str().unwrap())
        .collect();
    assert_eq!(
        days,
        [
            "2026-01-31",
            "2026-03-31",
            "2026-05-31",
            "2026-07-31",
            "2026-08-31"
        ]
    );
    assert_eq!(anytime["visits"][0]["anytime"], true);
    assert_eq!(anytime["visits"][0]["local_start"], "2026-01-31T00:00:00");
    assert_eq!(anytime["visits"][0]["starts_at"], "2026-01-31T05:00:00Z");

    // Bad input: problem+json naming the field.
    for (body, field) in [
        (
            json!({"start_date": "2026-03-02", "rrule": "FREQ=WEEKLY;INTERVAL=0"}),
            "rrule",
        ),
        (
            json!({"start_date": "2026-03-02", "rrule": "FREQ=HOURLY"}),
            "rrule",
        ),
        (json!({"start_date": "2026-03-02", "rrule": " "}), "rrule"),
        (
            json!({"start_date": "2026-03-02", "rrule": "FREQ=MONTHLY;BYMONTHDAY=31;UNTIL=20260330"}),
            "rrule",
        ),
        (
            json!({"start_date": "2026-03-02", "rrule": "FREQ=DAILY", "limit": 51}),
            "limit",
        ),
        (
            json!({"start_date": "2026-03-02", "start_time": "09:00", "duration_minutes": 0, "rrule": "FREQ=DAILY"}),
            "duration_minutes",
        ),
    ] {
        let reply = app
            .post(
                "/api/v1/jobs/recurrence/preview",
                &owner.token,
                body.clone(),
            )
            .await
            .expect(422);
        assert_eq!(reply.code(), "validation_failed", "{body}");
        assert_eq!(
            reply.body["errors"][0]["field"], field,
            "{body}: {}",
            reply.text
        );
    }
}

#[tokio::test]
async fn the_office_keeps_notes_on_a_job_and_each_author_edits_their_own() {
    let app = spawn_app().await;
    let (owner, client) = business(&app, "Europe/Berlin").await;
    let dispatcher = app.add_user(&owner, "dispatcher").await;
    let job = app
        .post(
            "/api/v1/jobs",
            &owner.token,
            json!({"client_id": client, "title": "Rewire the shed"}),
        )
        .await
        .expect(201)
        .body;
    let notes = format!("/api/v1/jobs/{}/notes", job["id"].as_str().unwrap());
    assert_eq!(
        app.get(&notes, &owner.token).await.expect(200).body,
        json!([])
    );

    let first = app
        .post(&notes, &owner.token, json!({"body": "  Gate code 4417  "}))
        .await
        .expect(201)
        .body;
    assert_eq!(first["body"], "Gate code 4417", "trimmed");
    assert_eq!(first["author_id"], owner.user_id.as_str());
    assert!(first["author_name"].as_str().is_some_and(|n| !n.is_empty()));
    let second = app
        .post(
            &notes,
            &dispatcher.token,
            json!({"body": "Client prefers mornings"}),
        )
        .await
        .expect(201)
        .body;
    let listed = app.get(&notes, &dispatcher.token).await.expect(200).body;
    let bodies: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["body"].as_str().unwrap())
        .collect();
    assert_eq!(
        bodies,
        ["Gate code 4417", "Client prefers mornings"],
        "oldest first"
    );

    // Only the author changes or deletes a note.
    let first_url = format!("{notes}/{}", first["id"].as_str().unwrap());
    let refused = app
        .put(
            &first_url,
            &dispatcher.token,
            json!({"body": "Gate code 0000"}),
        )
        .await
        .expect(403);
    assert_eq!(refused.code(), "not_note_author");
    assert_eq!(
        app.delete(&first_url, &dispatcher.token)
            .await
            .expect(403)
            .code(),
        "not_note_author"
    );
    let edited = app
        .put(&first_url, &owner.token, json!({"body": "Gate code 4418"}))
        .await
        .expect(200)
        .body;
    assert_eq!(edited["body"], "Gate code 4418");
    assert_eq!(edited["created_at"], first["created_at"]);

    // Empty and too long are field errors on `body`.
    for body in [json!({"body": "   "}), json!({"body": "x".repeat(5001)})] {
        let reply = app.post(&notes, &owner.token, body).await.expect(422);
        assert_eq!(reply.code(), "validation_failed");
        assert_eq!(reply.body["errors"][0]["field"], "body");
    }
    let reply = app
        .put(&first_url, &owner.token, json!({"body": ""}))
        .await
        .expect(422);
    assert_eq!(reply.body["errors"][0]["field"], "body");
    app.post(&notes, &owner.token, json!({"body": "x".repeat(5000)}))
        .await
        .expect(201);

    let second_url = format!("{notes}/{}", second["id"].as_str().unwrap());
    app.delete(&second_url, &dispatcher.token).await.expect(204);
    assert_eq!(
        app.delete(&second_url, &dispatcher.token)
            .await
            .expect(404)
            .code(),
        "note_not_found"
    );
    assert_eq!(
        app.get(&notes, &owner.token)
            .await
            .expect(200)
            .body
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let missing = format!("/api/v1/jobs/{}/notes", uuid::Uuid::now_v7());
    assert_eq!(
        app.get(&missing, &owner.token).await.expect(404).code(),
        "job_not_found"
    );

    // Another account sees none of it.
    let stranger = app.signup("Other Co").await;
    assert_eq!(
        app.get(&notes, &stranger.token).await.expect(404).code(),
        "job_not_found"
    );
    assert_eq!(
        app.put(&first_url, &stranger.token, json!({"body": "mine"}))
            .await
            .expect(404)
            .code(),
        "note_not_found"
    );
}
