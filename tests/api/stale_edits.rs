//! A stale write says who changed what (issue 12): two people of one account edit the
//! same record; the second, still on the version they read, gets 409 (or 412 with
//! `If-Match`) with the record's version now, when it changed and by whom, and
//! nothing of theirs is written.

use serde_json::{Value, json};

use crate::helpers::{PASSWORD, Reply, Session, TestApp, spawn_app};

/// A dispatcher named `name` in `owner`'s account, signed in.
async fn colleague(app: &TestApp, owner: &Session, name: &str) -> Session {
    let email = format!("{}@example.com", uuid::Uuid::now_v7().simple());
    let created = app
        .post(
            "/api/v1/users",
            &owner.token,
            json!({"name": name, "email": email, "role": "dispatcher", "password": PASSWORD}),
        )
        .await
        .expect(201);
    let login = app
        .post_anon(
            "/api/v1/auth/login",
            json!({"email": email, "password": PASSWORD}),
        )
        .await
        .expect(200);
    Session {
        token: login.body["access_token"].as_str().unwrap().to_owned(),
        refresh_token: login.body["refresh_token"].as_str().unwrap().to_owned(),
        account_id: owner.account_id.clone(),
        user_id: created.body["id"].as_str().unwrap().to_owned(),
        email,
    }
}

/// The problem says the record is at `version`, changed at the record's
/// `updated_at` by `who`.
fn assert_stale(reply: &Reply, version: i64, record: &Value, who: Value) {
    assert_eq!(reply.body["current_version"], version, "{}", reply.body);
    assert_eq!(
        reply.body["updated_at"].as_str().map(parse),
        record["updated_at"].as_str().map(parse),
        "{}",
        reply.body
    );
    assert_eq!(reply.body["updated_by"], who, "{}", reply.body);
}

fn parse(at: &str) -> chrono::DateTime<chrono::Utc> {
    at.parse().unwrap()
}

#[tokio::test]
async fn a_stale_client_edit_names_the_colleague_who_changed_it() {
    let app = spawn_app().await;
    let owner = app.signup("Stale Co").await;
    let maria = colleague(&app, &owner, "Maria Lopez").await;
    let client = app
        .create_client(&owner, json!({"first_name": "Ann", "last_name": "Lee"}))
        .await;
    let id = client["id"].as_str().unwrap();
    let url = format!("/api/v1/clients/{id}");

    // Maria renames the client while the owner still has version 1 open.
    let theirs = app
        .put(
            &url,
            &maria.token,
            json!({"first_name": "Anne", "last_name": "Lee", "version": 1}),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(theirs["version"], 2);

    let mine = json!({"first_name": "Ann", "last_name": "Lee-Park", "version": 1});
    let stale = app
        .put(&url, &owner.token, mine.clone())
        .await
        .problem(409, "version_conflict");
    let maria_by = json!({"kind": "user", "id": maria.user_id, "name": "Maria Lopez"});
    assert_stale(&stale, 2, &theirs, maria_by.clone());
    let detail = stale.body["detail"].as_str().unwrap();
    assert!(detail.contains("Maria Lopez"), "{detail}");

    // The same with If-Match: 412, saying the same.
    let mut by_header = mine.clone();
    by_header.as_object_mut().unwrap().remove("version");
    let stale = app
        .request(
            reqwest::Method::PUT,
            &url,
            Some(&owner.token),
            Some(by_header),
            &[("if-match", "\"1\"")],
        )
        .await
        .problem(412, "precondition_failed");
    assert_stale(&stale, 2, &theirs, maria_by);

    // Nothing of the owner's was written; saving over Maria's change is a new
    // request with the version the conflict named.
    let now = app.get(&url, &owner.token).await.expect(200).body;
    assert_eq!(now["first_name"], "Anne");
    assert_eq!(now["last_name"], "Lee");
    let mut over = mine;
    over["version"] = stale.body["current_version"].clone();
    let saved = app.put(&url, &owner.token, over).await.expect(200).body;
    assert_eq!(saved["last_name"], "Lee-Park");
    assert_eq!(saved["version"], 3);
}

#[tokio::test]
async fn stale_job_and_quote_edits_name_who_changed_them() {
    let app = spawn_app().await;
    let owner = app.signup("Stale Jobs Co").await;
    let maria = colleague(&app, &owner, "Maria Lopez").await;
    let maria_by = json!({"kind": "user", "id": maria.user_id, "name": "Maria Lopez"});
    let client = app
        .create_client(&owner, json!({"first_name": "Ana", "last_name": "Paz"}))
        .await;

    let job = app
        .post("/api/v1/jobs", &owner.token, json!({"client_id": client["id"], "title": "Hedges", "lines": [{"name": "Trim", "quantity": 1, "unit_price": 9000}]}))
        .await
        .expect(201)
        .body;
    let job_url = format!("/api/v1/jobs/{}", job["id"].as_str().unwrap());
    let theirs = app
        .put(&job_url, &maria.token, json!({"title": "Hedges and lawn", "lines": [{"name": "Trim", "quantity": 1, "unit_price": 9000}], "version": job["version"]}))
        .await
        .expect(200)
        .body;
    let stale = app
        .put(&job_url, &owner.token, json!({"title": "Hedges, back yard", "lines": [{"name": "Trim", "quantity": 1, "unit_price": 9000}], "version": job["version"]}))
        .await
        .problem(409, "version_conflict");
    assert_stale(
        &stale,
        theirs["version"].as_i64().unwrap(),
        &theirs,
        maria_by.clone(),
    );

    let quote = app
        .post("/api/v1/quotes", &owner.token, json!({"client_id": client["id"], "title": "Patio", "lines": [{"name": "Pavers", "quantity": 1, "unit_price": 50000}]}))
        .await
        .expect(201)
        .body;
    let quote_url = format!("/api/v1/quotes/{}", quote["id"].as_str().unwrap());
    let theirs = app
        .put(&quote_url, &maria.token, json!({"client_id": client["id"], "title": "Patio and steps", "lines": [{"name": "Pavers", "quantity": 1, "unit_price": 50000}], "version": quote["version"]}))
        .await
        .expect(200)
        .body;
    let stale = app
        .put(&quote_url, &owner.token, json!({"client_id": client["id"], "title": "Patio", "lines": [{"name": "Pavers", "quantity": 2, "unit_price": 50000}], "version": quote["version"]}))
        .await
        .problem(409, "version_conflict");
    assert_stale(
        &stale,
        theirs["version"].as_i64().unwrap(),
        &theirs,
        maria_by,
    );
}

/// A visit is moved on the schedule by `schedule.changed`, not by a `visit.` event:
/// the move still names who made it.
#[tokio::test]
async fn a_stale_reschedule_names_the_dispatcher_who_moved_the_visit() {
    let app = spawn_app().await;
    let owner = app.signup("Stale Schedule Co").await;
    let maria = colleague(&app, &owner, "Maria Lopez").await;
    let client = app
        .create_client(&owner, json!({"first_name": "Eve", "last_name": "Moss"}))
        .await;
    let day = (chrono::Utc::now() + chrono::Duration::days(3)).date_naive();
    let job = app
        .post("/api/v1/jobs", &owner.token, json!({"client_id": client["id"], "title": "Mulch", "lines": [{"name": "Mulch", "quantity": 1, "unit_price": 8000}],
                   "schedule": {"start_date": day.to_string(), "start_time": "09:00", "duration_minutes": 60}}))
        .await
        .expect(201)
        .body;
    let visit = &job["visits"][0];
    let url = format!("/api/v1/schedule/jobs/{}", visit["id"].as_str().unwrap());

    let theirs = app
        .put(&url, &maria.token, json!({"start_date": day.to_string(), "start_time": "13:00", "duration_minutes": 60, "version": visit["version"]}))
        .await
        .expect(200)
        .body;
    let stale = app
        .put(&url, &owner.token, json!({"start_date": day.to_string(), "start_time": "15:00", "duration_minutes": 60, "version": visit["version"]}))
        .await
        .problem(409, "version_conflict");
    assert_stale(
        &stale,
        theirs["version"].as_i64().unwrap(),
        &theirs,
        json!({"kind": "user", "id": maria.user_id, "name": "Maria Lopez"}),
    );
}

#[tokio::test]
async fn a_quote_the_client_approved_in_the_hub_says_the_client_changed_it() {
    let app = spawn_app().await;
    let owner = app.signup("Stale Hub Co").await;
    let client = app
        .create_client(&owner, json!({"first_name": "Ana", "last_name": "Paz", "emails": [{"address": "ana@example.com"}]}))
        .await;
    let quote = app
        .post("/api/v1/quotes", &owner.token, json!({"client_id": client["id"], "title": "Patio", "lines": [{"name": "Pavers", "quantity": 1, "unit_price": 50000}]}))
        .await
        .expect(201)
        .body;
    let id = quote["id"].as_str().unwrap();
    let sent = app
        .post(
            &format!("/api/v1/quotes/{id}/send"),
            &owner.token,
            json!({}),
        )
        .await
        .expect(200)
        .body;
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
    let approved = app
        .get(&format!("/api/v1/quotes/{id}"), &owner.token)
        .await
        .expect(200)
        .body;

    // The office, still on the sent version, archives it.
    let stale = app
        .post(
            &format!("/api/v1/quotes/{id}/archive"),
            &owner.token,
            json!({"version": sent["version"]}),
        )
        .await
        .problem(409, "version_conflict");
    assert_stale(
        &stale,
        approved["version"].as_i64().unwrap(),
        &approved,
        json!({"kind": "client"}),
    );
    assert!(
        stale.body["detail"]
            .as_str()
            .unwrap()
            .contains("the client changed it"),
        "{}",
        stale.body
    );
}

#[tokio::test]
async fn a_record_whose_changes_raise_no_event_still_says_its_version_and_time() {
    let app = spawn_app().await;
    let owner = app.signup("Stale Tax Co").await;
    let rate = app
        .post(
            "/api/v1/settings/tax-rates",
            &owner.token,
            json!({"name": "State", "rate": "8.875"}),
        )
        .await
        .expect(201)
        .body;
    let url = format!(
        "/api/v1/settings/tax-rates/{}",
        rate["id"].as_str().unwrap()
    );
    // The owner in another tab renames it.
    let theirs = app
        .put(
            &url,
            &owner.token,
            json!({"name": "State tax", "rate": "8.875", "version": 1}),
        )
        .await
        .expect(200)
        .body;
    let stale = app
        .put(
            &url,
            &owner.token,
            json!({"name": "State", "rate": "9", "version": 1}),
        )
        .await
        .problem(409, "version_conflict");
    assert_eq!(stale.body["current_version"], 2);
    assert_eq!(
        stale.body["updated_at"].as_str().map(parse),
        theirs["updated_at"].as_str().map(parse)
    );
    assert!(stale.body.get("updated_by").is_none(), "{}", stale.body);
}
