//! Work requests and online booking: the public form (no login, spam trap, field
//! errors), the office's inbox and conversion, tenant isolation, and bookings (DST,
//! the race for the last slot).

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use serde_json::{Value, json};

use crate::background::with_worker;
use crate::helpers::{Session, TestApp, spawn_app, spawn_app_on};

async fn form_settings(app: &TestApp, owner: &Session) -> Value {
    app.get("/api/v1/settings/request-form", &owner.token)
        .await
        .expect(200)
        .body
}

async fn slug_of(app: &TestApp, owner: &Session) -> String {
    form_settings(app, owner).await["slug"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn service(app: &TestApp, owner: &Session, name: &str) -> String {
    app.post(
        "/api/v1/catalog",
        &owner.token,
        json!({"kind": "service", "name": name, "unit_price": 4500}),
    )
    .await
    .expect(201)
    .body["id"]
        .as_str()
        .unwrap()
        .to_string()
}

fn request_body(email: &str, service_id: Option<&str>) -> Value {
    json!({
        "name": "Rita Requester",
        "email": email,
        "phone": "+1 512 555 0199",
        "address": {"street1": "12 Elm St", "city": "Austin", "region": "TX", "postal_code": "78701", "country": "US"},
        "service_id": service_id,
        "details": "The back lawn is a jungle.",
        "preferred_times": "Weekday mornings",
        "website": ""
    })
}

/// Send the public form with `email`; the id of the newest new request in the inbox.
async fn submit(app: &TestApp, owner: &Session, slug: &str, email: &str) -> String {
    app.post_anon(
        &format!("/api/v1/public/{slug}/requests"),
        request_body(email, None),
    )
    .await
    .expect(202);
    app.get("/api/v1/requests?status=new", &owner.token)
        .await
        .expect(200)
        .body["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn public_form_request_lands_in_the_inbox_and_converts() {
    let app = spawn_app().await;
    let _worker = spawn_app_on(
        app.database_url.clone(),
        with_worker(jobber::config::Role::Worker, None),
    )
    .await;
    let owner = app.signup("Green Thumb Lawns").await;
    let slug = slug_of(&app, &owner).await;
    assert!(slug.starts_with("green-thumb-lawns"), "{slug}");
    let mowing = service(&app, &owner, "Mowing").await;

    // The form, without a login.
    let form = app
        .request(
            reqwest::Method::GET,
            &format!("/api/v1/public/{slug}/request-form"),
            None,
            None,
            &[],
        )
        .await
        .expect(200)
        .body;
    assert_eq!(form["business_name"], "Green Thumb Lawns");
    assert_eq!(form["services"][0]["name"], "Mowing");
    app.request(
        reqwest::Method::GET,
        "/api/v1/public/no-such-business/request-form",
        None,
        None,
        &[],
    )
    .await
    .problem(404, "request_form_not_found");

    // Field errors name their fields.
    let bad = app
        .post_anon(
            &format!("/api/v1/public/{slug}/requests"),
            json!({"name": " ", "email": "not-an-email", "phone": "12", "service_id": uuid::Uuid::now_v7()}),
        )
        .await
        .problem(422, "validation_failed");
    let mut fields = bad.fields();
    fields.sort();
    assert_eq!(fields, ["email", "name", "phone"]);
    let bad = app
        .post_anon(
            &format!("/api/v1/public/{slug}/requests"),
            request_body("rita@example.com", Some(&uuid::Uuid::now_v7().to_string())),
        )
        .await
        .problem(422, "validation_failed");
    assert_eq!(bad.fields(), ["service_id"]);

    // The spam trap: answered like a success, nothing stored.
    let mut spam = request_body("bot@example.com", None);
    spam["website"] = json!("http://spam.example");
    app.post_anon(&format!("/api/v1/public/{slug}/requests"), spam)
        .await
        .expect(202);
    let inbox = app.get("/api/v1/requests", &owner.token).await.expect(200);
    assert_eq!(inbox.body["items"].as_array().unwrap().len(), 0);

    app.post_anon(
        &format!("/api/v1/public/{slug}/requests"),
        request_body("rita@example.com", Some(&mowing)),
    )
    .await
    .expect(202);
    let inbox = app
        .get("/api/v1/requests?status=new", &owner.token)
        .await
        .expect(200)
        .body;
    let items = inbox["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    let request = &items[0];
    assert_eq!(request["name"], "Rita Requester");
    assert_eq!(request["service_name"], "Mowing");
    assert_eq!(request["status"], "new");
    let id = request["id"].as_str().unwrap();

    // The office was told.
    let mut told = false;
    for _ in 0..150 {
        let notes = app
            .get("/api/v1/notifications", &owner.token)
            .await
            .expect(200)
            .body;
        if notes["items"]
            .as_array()
            .is_some_and(|n| n.iter().any(|n| n["kind"] == "request_received"))
        {
            told = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(told, "the office hears of the request");

    // Convert to a quote: a new client with a property at the address.
    let converted = app
        .post(
            &format!("/api/v1/requests/{id}/convert"),
            &owner.token,
            json!({"to": "quote"}),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(converted["status"], "converted");
    let quote_id = converted["quote_id"].as_str().unwrap();
    let quote = app
        .get(&format!("/api/v1/quotes/{quote_id}"), &owner.token)
        .await
        .expect(200)
        .body;
    assert_eq!(quote["lines"][0]["name"], "Mowing");
    assert_eq!(quote["client_id"], converted["client_id"]);
    assert!(quote["property_id"].is_string());
    let client = app
        .get(
            &format!(
                "/api/v1/clients/{}",
                converted["client_id"].as_str().unwrap()
            ),
            &owner.token,
        )
        .await
        .expect(200)
        .body;
    assert_eq!(client["first_name"], "Rita");
    assert_eq!(client["emails"][0]["address"], "rita@example.com");

    // Again: the same answer; to the other kind: 409.
    let again = app
        .post(
            &format!("/api/v1/requests/{id}/convert"),
            &owner.token,
            json!({"to": "quote"}),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(again["quote_id"], converted["quote_id"]);
    app.post(
        &format!("/api/v1/requests/{id}/convert"),
        &owner.token,
        json!({"to": "job"}),
    )
    .await
    .problem(409, "invalid_transition");

    // A second request from the same email becomes a job for the same client.
    let second = submit(&app, &owner, &slug, "RITA@example.com").await;
    let job = app
        .post(
            &format!("/api/v1/requests/{second}/convert"),
            &owner.token,
            json!({"to": "job"}),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(job["client_id"], converted["client_id"]);
    let job_detail = app
        .get(
            &format!("/api/v1/jobs/{}", job["job_id"].as_str().unwrap()),
            &owner.token,
        )
        .await
        .expect(200)
        .body;
    assert_eq!(
        job_detail["property_id"], quote["property_id"],
        "same address, same property"
    );

    // Archive; a converted one stays converted.
    let third = submit(&app, &owner, &slug, "other@example.com").await;
    let archived = app
        .post(
            &format!("/api/v1/requests/{third}/archive"),
            &owner.token,
            json!({}),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(archived["status"], "archived");
    app.post(
        &format!("/api/v1/requests/{id}/archive"),
        &owner.token,
        json!({}),
    )
    .await
    .problem(409, "invalid_transition");
    let page = app
        .get("/api/v1/requests?limit=2", &owner.token)
        .await
        .expect(200)
        .body;
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    let cursor = page["next_cursor"].as_str().unwrap();
    let rest = app
        .get(
            &format!("/api/v1/requests?limit=2&cursor={cursor}"),
            &owner.token,
        )
        .await
        .expect(200)
        .body;
    assert_eq!(rest["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn other_accounts_cannot_see_requests_and_slugs_are_unique() {
    let app = spawn_app().await;
    let owner = app.signup("Same Name").await;
    let other = app.signup("Same Name").await;
    let (a, b) = (slug_of(&app, &owner).await, slug_of(&app, &other).await);
    assert_ne!(a, b, "two businesses of one name get two slugs");
    app.post_anon(
        &format!("/api/v1/public/{a}/requests"),
        request_body("x@example.com", None),
    )
    .await
    .expect(202);
    let id = app
        .get("/api/v1/requests", &owner.token)
        .await
        .expect(200)
        .body["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let theirs = app.get("/api/v1/requests", &other.token).await.expect(200);
    assert_eq!(theirs.body["items"].as_array().unwrap().len(), 0);
    app.get(&format!("/api/v1/requests/{id}"), &other.token)
        .await
        .problem(404, "request_not_found");
    app.post(
        &format!("/api/v1/requests/{id}/convert"),
        &other.token,
        json!({"to": "job"}),
    )
    .await
    .problem(404, "request_not_found");

    // A slug taken by the other business is refused at its field; a free one sticks.
    let mut settings = form_settings(&app, &other).await;
    settings.as_object_mut().unwrap().remove("updated_at");
    settings["slug"] = json!(a);
    app.put(
        "/api/v1/settings/request-form",
        &other.token,
        settings.clone(),
    )
    .await
    .problem(422, "validation_failed");
    settings["slug"] = json!("Bad Slug");
    let bad = app
        .put(
            "/api/v1/settings/request-form",
            &other.token,
            settings.clone(),
        )
        .await
        .problem(422, "validation_failed");
    assert_eq!(bad.fields(), ["slug"]);
    settings["slug"] = json!("same-name-north");
    let saved = app
        .put("/api/v1/settings/request-form", &other.token, settings)
        .await
        .expect(200)
        .body;
    assert_eq!(saved["slug"], "same-name-north");
    app.request(
        reqwest::Method::GET,
        "/api/v1/public/same-name-north/request-form",
        None,
        None,
        &[],
    )
    .await
    .expect(200);
}

/// Open booking for one service of `minutes`, every day 08:00–`until`, no notice.
async fn open_booking(
    app: &TestApp,
    owner: &Session,
    service_id: &str,
    minutes: i32,
    until: &str,
    buffer: i32,
) -> String {
    let mut settings = form_settings(app, owner).await;
    settings.as_object_mut().unwrap().remove("updated_at");
    settings["booking_enabled"] = json!(true);
    settings["notice_hours"] = json!(0);
    settings["travel_buffer_minutes"] = json!(buffer);
    settings["working_hours"] = json!(
        (1..=7)
            .map(|d| json!({"day": d, "start": "08:00", "end": until}))
            .collect::<Vec<_>>()
    );
    settings["bookable_services"] =
        json!([{"catalog_item_id": service_id, "duration_minutes": minutes}]);
    app.put("/api/v1/settings/request-form", &owner.token, settings)
        .await
        .expect(200);
    slug_of(app, owner).await
}

async fn set_zone(app: &TestApp, owner: &Session, zone: &str) {
    let version = app
        .get("/api/v1/settings", &owner.token)
        .await
        .expect(200)
        .body["version"]
        .clone();
    app.patch(
        "/api/v1/settings",
        &owner.token,
        json!({"time_zone": zone, "version": version}),
    )
    .await
    .expect(200);
}

fn booking(service_id: &str, starts_at: &str, email: &str) -> Value {
    json!({
        "service_id": service_id,
        "starts_at": starts_at,
        "name": "Bea Booker",
        "email": email,
        "address": {"street1": "5 Oak Ave", "city": "Boise"},
    })
}

#[tokio::test]
async fn booking_slots_follow_local_hours_across_dst() {
    let app = spawn_app().await;
    let owner = app.signup("Dst Lawn").await;
    set_zone(&app, &owner, "America/New_York").await;
    let mowing = service(&app, &owner, "Mowing").await;
    let slug = open_booking(&app, &owner, &mowing, 60, "10:00", 0).await;
    // The next first Sunday of November (US DST ends that night).
    let mut year = Utc::now().year();
    let sunday = loop {
        let first = NaiveDate::from_ymd_opt(year, 11, 1).unwrap();
        let sunday =
            first + Duration::days(i64::from((7 - first.weekday().num_days_from_sunday()) % 7));
        if sunday > Utc::now().date_naive() + Duration::days(1) {
            break sunday;
        }
        year += 1;
    };
    let saturday = sunday - Duration::days(1);
    let slots = app
        .request(
            reqwest::Method::GET,
            &format!(
                "/api/v1/public/{slug}/booking/slots?service={mowing}&from={saturday}&to={sunday}"
            ),
            None,
            None,
            &[],
        )
        .await
        .expect(200)
        .body;
    let starts: Vec<DateTime<Utc>> = slots["slots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["starts_at"].as_str().unwrap().parse().unwrap())
        .collect();
    assert_eq!(starts.len(), 6, "08:00, 08:30, 09:00 each day: {slots}");
    assert_eq!(
        starts[0],
        saturday.and_hms_opt(12, 0, 0).unwrap().and_utc(),
        "08:00 EDT"
    );
    assert_eq!(
        starts[3],
        sunday.and_hms_opt(13, 0, 0).unwrap().and_utc(),
        "08:00 EST"
    );

    // Booked on Sunday 08:00 EST, the visit is at 08:00 local.
    let made = app
        .post_anon(
            &format!("/api/v1/public/{slug}/bookings"),
            booking(&mowing, &starts[3].to_rfc3339(), "bea@example.com"),
        )
        .await
        .expect(201)
        .body;
    assert_eq!(
        made["starts_at"]
            .as_str()
            .unwrap()
            .parse::<DateTime<Utc>>()
            .unwrap(),
        starts[3]
    );
    let request = app
        .get("/api/v1/requests?status=converted", &owner.token)
        .await
        .expect(200)
        .body["items"][0]
        .clone();
    assert_eq!(request["source"], "booking");
    let job = app
        .get(
            &format!("/api/v1/jobs/{}", request["job_id"].as_str().unwrap()),
            &owner.token,
        )
        .await
        .expect(200)
        .body;
    let visit_start: DateTime<Utc> = job["visits"][0]["starts_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(visit_start, starts[3]);
    assert_eq!(job["visits"][0]["assignee_ids"][0], owner.user_id.as_str());
    // No user made it: no creator and no actor, not a made-up user id.
    let job_id: uuid::Uuid = job["id"].as_str().unwrap().parse().unwrap();
    let (created_by, actors): (Option<uuid::Uuid>, Vec<Option<uuid::Uuid>>) = (
        sqlx::query_scalar("SELECT created_by FROM jobs WHERE id = $1")
            .bind(job_id)
            .fetch_one(app.db.pool())
            .await
            .unwrap(),
        sqlx::query_scalar("SELECT actor_id FROM activity WHERE subject_id = $1")
            .bind(job_id)
            .fetch_all(app.db.pool())
            .await
            .unwrap(),
    );
    assert_eq!(created_by, None);
    assert_eq!(actors, [None]);
    // The office is told of the booking (the notifications listener queued it with the
    // booking), about its job, at the local time.
    let (title, body, subject): (String, Option<String>, Option<String>) = sqlx::query_as(
        "SELECT payload->>'title', payload->>'body', payload->>'subject_id' FROM job_outbox
         WHERE account_id = $1::uuid AND queue LIKE 'notifications.%'",
    )
    .bind(&owner.account_id)
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    assert_eq!(title, "New online booking: Mowing for Bea Booker");
    assert_eq!(body, Some(format!("{sunday} 08:00")));
    assert_eq!(subject, Some(job_id.to_string()));

    // That slot (and the overlapping ones) are gone now.
    let after = app
        .request(
            reqwest::Method::GET,
            &format!(
                "/api/v1/public/{slug}/booking/slots?service={mowing}&from={sunday}&to={sunday}"
            ),
            None,
            None,
            &[],
        )
        .await
        .expect(200)
        .body;
    let left: Vec<&str> = after["slots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["starts_at"].as_str().unwrap())
        .collect();
    assert_eq!(left.len(), 1, "only 09:00 is free: {left:?}");

    // A window that is too wide is refused at `to`.
    let wide = app
        .request(
            reqwest::Method::GET,
            &format!(
                "/api/v1/public/{slug}/booking/slots?service={mowing}&from={saturday}&to={}",
                saturday + Duration::days(40)
            ),
            None,
            None,
            &[],
        )
        .await
        .problem(422, "validation_failed");
    assert_eq!(wide.fields(), ["to"]);
}

/// The public booking slots of `service` on `day`, as anyone on the web asks for them.
async fn day_slots(app: &TestApp, slug: &str, service: &str, day: NaiveDate) -> Value {
    app.request(
        reqwest::Method::GET,
        &format!("/api/v1/public/{slug}/booking/slots?service={service}&from={day}&to={day}"),
        None,
        None,
        &[],
    )
    .await
    .expect(200)
    .body
}

#[tokio::test]
async fn two_clients_racing_for_the_last_slot_one_wins() {
    let app = spawn_app().await;
    let owner = app.signup("Race Lawn").await;
    let mowing = service(&app, &owner, "Mowing").await;
    // One person, one 60-minute slot a day.
    let slug = open_booking(&app, &owner, &mowing, 60, "09:00", 30).await;
    let day = Utc::now().date_naive() + Duration::days(3);
    let slots = day_slots(&app, &slug, &mowing, day).await;
    let only = slots["slots"][0]["starts_at"].as_str().unwrap().to_string();
    assert_eq!(slots["slots"].as_array().unwrap().len(), 1);

    let path = format!("/api/v1/public/{slug}/bookings");
    let (a, b) = tokio::join!(
        app.post_anon(&path, booking(&mowing, &only, "first@example.com")),
        app.post_anon(&path, booking(&mowing, &only, "second@example.com")),
    );
    let mut statuses = [a.status.as_u16(), b.status.as_u16()];
    statuses.sort_unstable();
    assert_eq!(statuses, [201, 409], "{} / {}", a.text, b.text);
    let loser = if a.status == 409 { a } else { b };
    let loser = loser.problem(409, "slot_taken");
    let fresh = loser.body["slots"].as_array().unwrap();
    assert!(
        fresh
            .iter()
            .all(|s| s["starts_at"].as_str() != Some(only.as_str())),
        "the fresh list no longer offers the taken slot"
    );
    assert!(!fresh.is_empty(), "the following days are offered");
    let jobs = app.get("/api/v1/jobs", &owner.token).await.expect(200).body;
    assert_eq!(
        jobs["items"].as_array().unwrap().len(),
        1,
        "exactly one booking"
    );

    // The spam trap: 202, nothing booked.
    let mut spam = booking(
        &mowing,
        fresh[0]["starts_at"].as_str().unwrap(),
        "bot@example.com",
    );
    spam["website"] = json!("x");
    app.post_anon(&path, spam).await.expect(202);
    let jobs = app.get("/api/v1/jobs", &owner.token).await.expect(200).body;
    assert_eq!(jobs["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_technician_off_on_a_day_gets_no_slots_that_day() {
    let app = spawn_app().await;
    let owner = app.signup("Hours Co").await;
    let tech = app.add_user(&owner, "technician").await;
    let mowing = service(&app, &owner, "Mowing").await;
    let slug = open_booking(&app, &owner, &mowing, 60, "10:00", 0).await;
    // A Monday and the Tuesday after it, more than a day ahead.
    let today = Utc::now().date_naive();
    let monday = today
        + Duration::days(i64::from(7 - today.weekday().num_days_from_monday()))
        + Duration::days(7);
    let tuesday = monday + Duration::days(1);
    let slots = |from: NaiveDate, to: NaiveDate| {
        let app = &app;
        let path =
            format!("/api/v1/public/{slug}/booking/slots?service={mowing}&from={from}&to={to}");
        async move {
            app.request(reqwest::Method::GET, &path, None, None, &[])
                .await
                .expect(200)
                .body["slots"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s["starts_at"].as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        }
    };
    let before = slots(tuesday, tuesday).await;
    assert_eq!(before.len(), 3, "the account's hours");

    // The only technician works Mondays 08:00-09:00 only: off on Tuesday.
    let hours = format!("/api/v1/users/{}/working-hours", tech.user_id);
    let set = app
        .put(
            &hours,
            &owner.token,
            json!({"working_hours": [{"day": 1, "start": "08:00", "end": "09:00"}]}),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(set["bookable"], true);
    assert!(slots(tuesday, tuesday).await.is_empty(), "off on Tuesdays");
    let monday_slots = slots(monday, monday).await;
    assert_eq!(
        monday_slots.len(),
        1,
        "one hour-long visit fits: {monday_slots:?}"
    );
    // The Tuesday slot offered before cannot be booked any more.
    app.request(
        reqwest::Method::POST,
        &format!("/api/v1/public/{slug}/bookings"),
        None,
        Some(booking(&mowing, &before[0], "tue@example.com")),
        &[],
    )
    .await
    .problem(409, "slot_taken");
    let listed = app
        .get("/api/v1/settings/working-hours", &owner.token)
        .await
        .expect(200)
        .body;
    assert_eq!(listed[0]["user_id"], tech.user_id.as_str());
    assert_eq!(listed[0]["working_hours"][0]["start"], "08:00");

    // Bad hours are refused field by field; a dispatcher may not set them.
    let refused = app
        .put(
            &hours,
            &owner.token,
            json!({"working_hours": [{"day": 8, "start": "10:00", "end": "09:00"}]}),
        )
        .await
        .problem(422, "validation_failed");
    let mut fields = refused.fields();
    fields.sort();
    assert_eq!(fields, ["working_hours[0].day", "working_hours[0].end"]);
    let dispatcher = app.add_user(&owner, "dispatcher").await;
    app.put(&hours, &dispatcher.token, json!({"working_hours": null}))
        .await
        .expect(403);

    // Back on the account's hours.
    app.put(&hours, &owner.token, json!({"working_hours": null}))
        .await
        .expect(200);
    assert_eq!(slots(tuesday, tuesday).await.len(), 3);
}

/// The `booking_confirmation` emails queued so far: (to, subject, text, request id).
async fn confirmations(app: &TestApp) -> Vec<(String, String, String, uuid::Uuid)> {
    sqlx::query_as(
        "SELECT to_address, subject, body_text, subject_id FROM messages
         WHERE template = 'booking_confirmation' ORDER BY created_at",
    )
    .fetch_all(app.db.pool())
    .await
    .unwrap()
}

#[tokio::test]
async fn an_online_booking_is_confirmed_to_the_client_once_and_only_when_it_commits() {
    let app = spawn_app().await;
    let owner = app.signup("Booked Lawn Co").await;
    let mowing = service(&app, &owner, "Mowing").await;
    let slug = open_booking(&app, &owner, &mowing, 60, "10:00", 0).await;
    let day = Utc::now().date_naive() + Duration::days(3);
    let slots = day_slots(&app, &slug, &mowing, day).await;
    let first = slots["slots"][0]["starts_at"].as_str().unwrap().to_string();
    let path = format!("/api/v1/public/{slug}/bookings");
    app.post_anon(&path, booking(&mowing, &first, "bea@example.com"))
        .await
        .expect(201);

    // The booker is told what, when and where, with a link to their own page.
    let request = app
        .get("/api/v1/requests?status=converted", &owner.token)
        .await
        .expect(200)
        .body["items"][0]
        .clone();
    let sent = confirmations(&app).await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    let (to, subject, text, about) = &sent[0];
    assert_eq!(to, "bea@example.com");
    assert!(
        subject.starts_with("Booking confirmed: Mowing with Booked Lawn Co, "),
        "{subject}"
    );
    assert!(text.contains("When: "), "{text}");
    assert!(text.contains("Where: 5 Oak Ave"), "{text}");
    assert!(text.contains("/hub/clients/"), "{text}");
    assert_eq!(about.to_string(), request["id"].as_str().unwrap());

    // The same slot again is refused and rolled back: no second confirmation. Nor
    // does a request from the form get one (the office answers it).
    app.post_anon(&path, booking(&mowing, &first, "late@example.com"))
        .await
        .problem(409, "slot_taken");
    submit(&app, &owner, &slug, "rita@example.com").await;
    assert_eq!(confirmations(&app).await.len(), 1);

    // The listener runs in the raising transaction: the event of a change rolled back
    // queues nothing; committed, it queues the email with the change.
    let account: uuid::Uuid = owner.account_id.parse().unwrap();
    let request_id: uuid::Uuid = request["id"].as_str().unwrap().parse().unwrap();
    let mut tx = app.db.tenant(account).await.unwrap();
    tx.raise(jobber::platform::events::Event::RequestReceived { request_id });
    tx.rollback().await.unwrap();
    assert_eq!(confirmations(&app).await.len(), 1, "rolled back: nothing");
    let mut tx = app.db.tenant(account).await.unwrap();
    tx.raise(jobber::platform::events::Event::RequestReceived { request_id });
    tx.commit().await.unwrap();
    assert_eq!(confirmations(&app).await.len(), 2, "committed: queued");
}
