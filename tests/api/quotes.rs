//! Quotes: totals by the money rules (numbers checked by hand), the state machine,
//! the outbox message on send, approval with optional lines, and isolation.

use serde_json::{Value, json};

use crate::helpers::{Session, TestApp, spawn_app};

struct Setup {
    owner: Session,
    client_id: String,
    property_id: String,
    mowing_id: String,
}

async fn setup(app: &TestApp) -> Setup {
    let owner = app.signup("Quote Lawn Co").await;
    app.post(
        "/api/v1/settings/tax-rates",
        &owner.token,
        json!({"name": "State tax", "rate_bps": 825, "is_default": true}),
    )
    .await
    .expect(201);
    let mowing = app
        .post(
            "/api/v1/catalog",
            &owner.token,
            json!({"name": "Mowing", "unit_price": 4500, "description": "Front and back"}),
        )
        .await
        .expect(201);
    let client = app.create_client(&owner, json!({"first_name": "Ann", "last_name": "Lee", "emails": [{"address": "ann@example.com"}]})).await;
    let client_id = client["id"].as_str().unwrap().to_string();
    let property = app
        .post(
            &format!("/api/v1/clients/{client_id}/properties"),
            &owner.token,
            json!({"address": {"street1": "12 Elm St"}}),
        )
        .await
        .expect(201);
    Setup {
        owner,
        client_id,
        property_id: property.body["id"].as_str().unwrap().to_string(),
        mowing_id: mowing.body["id"].as_str().unwrap().to_string(),
    }
}

fn quote_body(s: &Setup) -> Value {
    json!({
        "client_id": s.client_id,
        "property_id": s.property_id,
        "title": "Spring cleanup",
        "message": "Thanks for asking us!",
        "lines": [
            {"catalog_item_id": s.mowing_id, "quantity": 2},
            {"name": "Hedge trimming", "quantity": 1.5, "unit_price": 3333},
            {"name": "Disposal fee", "quantity": 1, "unit_price": 1250, "taxable": false},
            {"name": "Aeration", "quantity": 1, "unit_price": 6000, "optional": true}
        ],
        "discount": {"kind": "percent", "value": 1000},
        "deposit": {"kind": "percent", "value": 2500}
    })
}

#[tokio::test]
async fn create_computes_totals_by_the_money_rules() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    let quote = app
        .post("/api/v1/quotes", &s.owner.token, quote_body(&s))
        .await
        .expect(201)
        .body;
    assert_eq!(quote["number"], "Q-1");
    assert_eq!(quote["status"], "draft");
    assert_eq!(quote["allowed_actions"], json!(["edit", "send", "archive"]));
    assert_eq!(quote["currency"], "USD");
    let lines = quote["lines"].as_array().unwrap();
    assert_eq!(lines[0]["name"], "Mowing", "copied from the catalog");
    assert_eq!(lines[0]["description"], "Front and back");
    assert_eq!(lines[0]["unit_price"], 4500);
    // 2 x 45.00 = 90.00; 1.5 x 33.33 = 49.995 -> 50.00 (half up); 12.50; aeration optional.
    let totals: Vec<i64> = lines
        .iter()
        .map(|l| l["line_total"].as_i64().unwrap())
        .collect();
    assert_eq!(totals, vec![9000, 5000, 1250, 6000]);
    assert_eq!(lines[3]["selected"], false);
    // Subtotal 152.50; 10 % discount 15.25 (allocated 9.00 / 5.00 / 1.25);
    // tax 8.25 % of 81.00 = 6.6825 -> 6.68 and of 45.00 = 3.7125 -> 3.71: 10.39.
    assert_eq!(quote["subtotal"], 15250);
    assert_eq!(quote["discount_total"], 1525);
    assert_eq!(
        quote["taxes"],
        json!([{"name": "State tax", "rate": "8.25", "rate_bps": 825, "amount": 1039}])
    );
    assert_eq!(quote["tax_total"], 1039);
    // 152.50 - 15.25 + 10.39 = 147.64; deposit 25 % = 36.91.
    assert_eq!(quote["total"], 14764);
    assert_eq!(quote["deposit_amount"], 3691);
    assert!(quote["valid_until"].is_string());

    let second = app
        .post("/api/v1/quotes", &s.owner.token, quote_body(&s))
        .await
        .expect(201)
        .body;
    assert_eq!(second["number"], "Q-2");
}

#[tokio::test]
async fn invalid_quotes_name_their_fields() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    let other = app.signup("Someone Else").await;
    let foreign = app
        .create_client(&other, json!({"company_name": "Not yours"}))
        .await;

    let reply = app
        .post(
            "/api/v1/quotes",
            &s.owner.token,
            json!({"client_id": s.client_id, "title": "", "lines": []}),
        )
        .await
        .problem(422, "validation_failed");
    assert_eq!(reply.fields(), vec!["title", "lines"]);
    let reply = app
        .post("/api/v1/quotes", &s.owner.token, json!({"client_id": s.client_id, "title": "T", "lines": [{"quantity": 1}], "discount": {"kind": "percent", "value": 20000}}))
        .await
        .problem(422, "validation_failed");
    assert_eq!(
        reply.fields(),
        vec!["lines[0].name", "lines[0].unit_price", "discount.value"]
    );
    app.post("/api/v1/quotes", &s.owner.token, json!({"client_id": s.client_id, "title": "T", "lines": [{"name": "x", "quantity": 1.005, "unit_price": 1}]}))
        .await
        .problem(422, "validation_failed");
    let reply = app
        .post("/api/v1/quotes", &s.owner.token, json!({"client_id": foreign["id"], "title": "T", "lines": [{"name": "x", "quantity": 1, "unit_price": 1}]}))
        .await
        .problem(422, "validation_failed");
    assert_eq!(
        reply.fields(),
        vec!["client_id"],
        "another account's client does not exist here"
    );
    let reply = app
        .post(
            "/api/v1/quotes",
            &s.owner.token,
            json!({"client_id": s.client_id, "title": "T", "lines": [{"catalog_item_id": uuid::Uuid::now_v7(), "quantity": 1}], "tax_rate_ids": [uuid::Uuid::now_v7()]}),
        )
        .await
        .problem(422, "validation_failed");
    assert_eq!(
        reply.fields(),
        vec!["lines[0].catalog_item_id", "tax_rate_ids[0]"]
    );
    // Nothing was created, and no number was used up.
    assert_eq!(
        app.get("/api/v1/quotes", &s.owner.token)
            .await
            .expect(200)
            .body["items"],
        json!([])
    );
    let ok = app.post("/api/v1/quotes", &s.owner.token, json!({"client_id": s.client_id, "title": "T", "lines": [{"name": "x", "quantity": 1, "unit_price": 100}], "tax_rate_ids": []})).await.expect(201);
    assert_eq!(ok.body["number"], "Q-1");
    assert_eq!(ok.body["total"], 100, "no taxes when none are picked");
}

#[tokio::test]
async fn send_queues_the_email_and_approval_picks_optional_lines() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    let quote = app
        .post("/api/v1/quotes", &s.owner.token, quote_body(&s))
        .await
        .expect(201)
        .body;
    let id = quote["id"].as_str().unwrap();

    // A draft the client never saw cannot be approved.
    let refused = app
        .post(
            &format!("/api/v1/quotes/{id}/approve"),
            &s.owner.token,
            json!({"signature_name": "Ann Lee"}),
        )
        .await
        .problem(409, "invalid_transition");
    assert!(
        refused.body["detail"]
            .as_str()
            .unwrap()
            .contains("allowed: edit, send, archive"),
        "{}",
        refused.text
    );

    let sent = app
        .request(
            reqwest::Method::POST,
            &format!("/api/v1/quotes/{id}/send"),
            Some(&s.owner.token),
            None,
            &[],
        )
        .await
        .expect(200);
    assert_eq!(sent.body["status"], "sent");
    assert!(sent.body["sent_at"].is_string());
    let (to, subject, body, status): (String, String, String, String) =
        sqlx::query_as("SELECT to_address, subject, body_text, status FROM messages WHERE subject_type = 'quote' AND subject_id = $1::uuid")
            .bind(id)
            .fetch_one(app.db.pool())
            .await
            .unwrap();
    assert_eq!(to, "ann@example.com");
    assert_eq!(status, "queued");
    assert_eq!(subject, "Quote Q-1 from Quote Lawn Co: Spring cleanup");
    for expected in [
        "Hello Ann Lee,",
        "Thanks for asking us!",
        "Mowing: 2 x USD 45.00 = USD 90.00",
        "Hedge trimming: 1.5 x USD 33.33 = USD 50.00",
        "Aeration (optional): 1 x USD 60.00 = USD 60.00",
        "Subtotal: USD 152.50",
        "Discount: -USD 15.25",
        "State tax (8.25%): USD 10.39",
        "Total: USD 147.64",
        "Deposit required: USD 36.91",
        &format!(
            "http://jobber.test/hub/quotes/{id}?account={}&expires=",
            s.owner.account_id
        ),
    ] {
        assert!(body.contains(expected), "missing {expected:?} in:\n{body}");
    }

    // Approval with the optional aeration: 212.50 subtotal, 21.25 discount
    // (9.00/5.00/1.25/6.00), tax 6.68 + 3.71 + 8.25 % of 54.00 = 4.455 -> 4.46 = 14.85,
    // total 212.50 - 21.25 + 14.85 = 206.10, deposit 25 % = 51.525 -> 51.53.
    let aeration = quote["lines"][3]["id"].as_str().unwrap();
    let approved = app
        .post(
            &format!("/api/v1/quotes/{id}/approve"),
            &s.owner.token,
            json!({"signature_name": "Ann Lee", "selected_optional_line_ids": [aeration]}),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(approved["status"], "approved");
    assert_eq!(approved["lines"][3]["selected"], true);
    assert_eq!(approved["subtotal"], 21250);
    assert_eq!(approved["discount_total"], 2125);
    assert_eq!(approved["tax_total"], 1485);
    assert_eq!(approved["total"], 20610);
    assert_eq!(approved["deposit_amount"], 5153);
    assert_eq!(approved["approval"]["signature_name"], "Ann Lee");
    assert_eq!(approved["approval"]["ip"], "127.0.0.1");
    assert_eq!(
        approved["approval"]["recorded_by"],
        s.owner.user_id.as_str()
    );
    assert_eq!(approved["allowed_actions"], json!(["convert", "archive"]));

    // An approved quote is a contract: no edits, no second approval.
    let mut edit = quote_body(&s);
    edit["version"] = approved["version"].clone();
    app.put(&format!("/api/v1/quotes/{id}"), &s.owner.token, edit)
        .await
        .problem(409, "invalid_transition");
    app.post(
        &format!("/api/v1/quotes/{id}/approve"),
        &s.owner.token,
        json!({"signature_name": "Ann"}),
    )
    .await
    .problem(409, "invalid_transition");

    let activity = app
        .get(
            &format!("/api/v1/clients/{}/activity", s.client_id),
            &s.owner.token,
        )
        .await
        .expect(200);
    let actions: Vec<&str> = activity.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["subject_type"] == "quote")
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, vec!["approved", "sent", "created"]);
}

#[tokio::test]
async fn a_failed_send_changes_nothing_and_queues_nothing() {
    let app = spawn_app().await;
    let owner = app.signup("No Email Co").await;
    let client = app
        .create_client(&owner, json!({"first_name": "Nomail"}))
        .await;
    let quote = app
        .post("/api/v1/quotes", &owner.token, json!({"client_id": client["id"], "title": "Job", "lines": [{"name": "Work", "quantity": 1, "unit_price": 1000}]}))
        .await
        .expect(201)
        .body;
    let id = quote["id"].as_str().unwrap();
    let reply = app
        .post(
            &format!("/api/v1/quotes/{id}/send"),
            &owner.token,
            json!({}),
        )
        .await
        .problem(422, "validation_failed");
    assert_eq!(reply.fields(), vec!["to"]);
    assert_eq!(
        app.get(&format!("/api/v1/quotes/{id}"), &owner.token)
            .await
            .expect(200)
            .body["status"],
        "draft"
    );
    let queued: i64 = sqlx::query_scalar("SELECT count(*) FROM messages")
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert_eq!(queued, 0);
    // With an explicit address it goes.
    app.post(
        &format!("/api/v1/quotes/{id}/send"),
        &owner.token,
        json!({"to": "nomail@example.org"}),
    )
    .await
    .expect(200);
}

#[tokio::test]
async fn decline_changes_and_archive_paths() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    let make = || async {
        app.post("/api/v1/quotes", &s.owner.token, quote_body(&s))
            .await
            .expect(201)
            .body["id"]
            .as_str()
            .unwrap()
            .to_string()
    };

    let a = make().await;
    app.post(
        &format!("/api/v1/quotes/{a}/send"),
        &s.owner.token,
        json!({}),
    )
    .await
    .expect(200);
    let changes = app
        .post(
            &format!("/api/v1/quotes/{a}/request-changes"),
            &s.owner.token,
            json!({"note": "Skip the hedges"}),
        )
        .await
        .expect(200);
    assert_eq!(changes.body["status"], "changes_requested");
    assert_eq!(changes.body["changes_requested_note"], "Skip the hedges");
    // Edit and send again.
    let mut revised = quote_body(&s);
    revised["lines"].as_array_mut().unwrap().remove(1);
    revised["version"] = changes.body["version"].clone();
    let edited = app
        .put(
            &format!("/api/v1/quotes/{a}"),
            &s.owner.token,
            revised.clone(),
        )
        .await
        .expect(200);
    assert_eq!(edited.body["lines"].as_array().unwrap().len(), 3);
    assert_eq!(edited.body["status"], "changes_requested");
    // The same stale version again is refused.
    app.put(&format!("/api/v1/quotes/{a}"), &s.owner.token, revised)
        .await
        .problem(409, "version_conflict");
    app.post(
        &format!("/api/v1/quotes/{a}/send"),
        &s.owner.token,
        json!({}),
    )
    .await
    .expect(200);
    let declined = app
        .post(
            &format!("/api/v1/quotes/{a}/decline"),
            &s.owner.token,
            json!({"reason": "Too expensive"}),
        )
        .await
        .expect(200);
    assert_eq!(declined.body["status"], "declined");
    assert_eq!(declined.body["allowed_actions"], json!(["archive"]));
    let archived = app
        .request(
            reqwest::Method::POST,
            &format!("/api/v1/quotes/{a}/archive"),
            Some(&s.owner.token),
            None,
            &[],
        )
        .await
        .expect(200);
    assert_eq!(archived.body["status"], "archived");
    app.post(
        &format!("/api/v1/quotes/{a}/send"),
        &s.owner.token,
        json!({}),
    )
    .await
    .problem(409, "invalid_transition");

    let listed = app
        .get("/api/v1/quotes?status=archived", &s.owner.token)
        .await
        .expect(200);
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 1);
    let by_client = app
        .get(
            &format!("/api/v1/quotes?client_id={}", s.client_id),
            &s.owner.token,
        )
        .await
        .expect(200);
    assert_eq!(by_client.body["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn the_list_filters_by_one_status_or_several() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    let mut ids = Vec::new();
    for step in ["draft", "sent", "changes_requested"] {
        let id = app
            .post("/api/v1/quotes", &s.owner.token, quote_body(&s))
            .await
            .expect(201)
            .body["id"]
            .as_str()
            .unwrap()
            .to_string();
        if step != "draft" {
            app.post(
                &format!("/api/v1/quotes/{id}/send"),
                &s.owner.token,
                json!({}),
            )
            .await
            .expect(200);
        }
        if step == "changes_requested" {
            app.post(
                &format!("/api/v1/quotes/{id}/request-changes"),
                &s.owner.token,
                json!({"note": "Fewer hedges"}),
            )
            .await
            .expect(200);
        }
        ids.push(id);
    }
    let listed = |query: &'static str| {
        let app = &app;
        let token = s.owner.token.clone();
        async move {
            let page = app
                .get(&format!("/api/v1/quotes{query}"), &token)
                .await
                .expect(200)
                .body;
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|q| q["id"].as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        }
    };
    // Newest first.
    assert_eq!(listed("?status=sent").await, vec![ids[1].clone()]);
    assert_eq!(
        listed("?status=sent,changes_requested").await,
        vec![ids[2].clone(), ids[1].clone()]
    );
    assert_eq!(
        listed("?status=").await.len(),
        3,
        "an empty filter filters nothing"
    );
    app.get("/api/v1/quotes?status=sent,maybe", &s.owner.token)
        .await
        .problem(400, "invalid_parameter");
}

#[tokio::test]
async fn quotes_are_history_and_stay_in_their_account() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    let quote = app
        .post("/api/v1/quotes", &s.owner.token, quote_body(&s))
        .await
        .expect(201)
        .body;
    let id = quote["id"].as_str().unwrap();

    let other = app.signup("Prying Co").await;
    app.get(&format!("/api/v1/quotes/{id}"), &other.token)
        .await
        .problem(404, "quote_not_found");
    app.post(
        &format!("/api/v1/quotes/{id}/send"),
        &other.token,
        json!({}),
    )
    .await
    .problem(404, "quote_not_found");
    assert_eq!(
        app.get("/api/v1/quotes", &other.token)
            .await
            .expect(200)
            .body["items"],
        json!([])
    );
    let tech = app.add_user(&s.owner, "technician").await;
    app.get("/api/v1/quotes", &tech.token)
        .await
        .problem(403, "forbidden");

    // The quoted property cannot be deleted; the client is archived instead of deleted.
    app.delete(
        &format!(
            "/api/v1/clients/{}/properties/{}",
            s.client_id, s.property_id
        ),
        &s.owner.token,
    )
    .await
    .problem(409, "property_in_use");
    let deleted = app
        .delete(&format!("/api/v1/clients/{}", s.client_id), &s.owner.token)
        .await
        .expect(200);
    assert_eq!(deleted.body["result"], "archived");
    app.get(&format!("/api/v1/quotes/{id}"), &s.owner.token)
        .await
        .expect(200);
}

/// Send, approve with every optional line, convert; the job's invoice(s) charge
/// what the client approved.
async fn approved_job(app: &TestApp, s: &Setup, body: Value, billing: &str) -> (Value, Value) {
    let quote = app
        .post("/api/v1/quotes", &s.owner.token, body)
        .await
        .expect(201)
        .body;
    let id = quote["id"].as_str().unwrap();
    app.post(
        &format!("/api/v1/quotes/{id}/send"),
        &s.owner.token,
        json!({}),
    )
    .await
    .expect(200);
    let optional: Vec<&Value> = quote["lines"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["optional"] == true)
        .map(|l| &l["id"])
        .collect();
    let approved = app
        .post(
            &format!("/api/v1/quotes/{id}/approve"),
            &s.owner.token,
            json!({"signature_name": "Ann Lee", "selected_optional_line_ids": optional}),
        )
        .await
        .expect(200)
        .body;
    let job = app
        .post(
            &format!("/api/v1/quotes/{id}/convert"),
            &s.owner.token,
            json!({"billing": billing, "schedule": {"start_date": "2026-06-01", "start_time": "09:00", "rrule": "FREQ=WEEKLY;COUNT=2"}}),
        )
        .await
        .expect(201)
        .body;
    (approved, job)
}

async fn complete_visit(app: &TestApp, s: &Setup, visit: &Value) {
    app.post(
        &format!("/api/v1/visits/{}/complete", visit["id"].as_str().unwrap()),
        &s.owner.token,
        json!({}),
    )
    .await
    .expect(200);
}

async fn invoice_job(app: &TestApp, s: &Setup, job: &Value) -> Value {
    app.post(
        "/api/v1/invoices",
        &s.owner.token,
        json!({"job_id": job["id"]}),
    )
    .await
    .expect(201)
    .body
}

#[tokio::test]
async fn a_converted_job_bills_the_quotes_discount_and_taxes() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    let (quote, job) = approved_job(&app, &s, quote_body(&s), "on_completion").await;
    // Removing the account's default tax afterwards does not change the deal.
    let rates = app
        .get("/api/v1/settings/tax-rates", &s.owner.token)
        .await
        .expect(200)
        .body;
    let rate_id = rates[0]["id"].as_str().unwrap();
    app.delete(
        &format!("/api/v1/settings/tax-rates/{rate_id}"),
        &s.owner.token,
    )
    .await
    .expect(204);
    app.post(
        &format!("/api/v1/jobs/{}/complete", job["id"].as_str().unwrap()),
        &s.owner.token,
        json!({"complete_open_visits": true}),
    )
    .await
    .expect(200);
    let invoice = invoice_job(&app, &s, &job).await;
    for field in ["subtotal", "discount_total", "tax_total", "total"] {
        assert_eq!(invoice[field], quote[field], "{field} as approved");
    }
    assert_eq!(
        invoice["discount"],
        json!({"kind": "percent", "value": 1000})
    );
    assert_eq!(invoice["taxes"][0]["name"], "State tax");
    assert_eq!(invoice["taxes"][0]["rate"], "8.25");
    assert_eq!(invoice["taxes"][0]["rate_bps"], 825);
    // By hand: 9000 + 5000 + 1250 + 6000 = 21250; 10 % off = 2125 -> 19125;
    // taxable 20000 - 2000 = 18000 at 8.25 % = 1485; total 20610.
    assert_eq!(invoice["total"], 20610);
}

/// A rate of three decimals (New York City's 8.875 %) is kept exactly from the
/// account's rate to the quote, the job and its invoice.
#[tokio::test]
async fn an_exact_rate_goes_from_quote_to_job_to_invoice() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    let nyc = app
        .post(
            "/api/v1/settings/tax-rates",
            &s.owner.token,
            json!({"name": "NYC sales tax", "rate": "8.875"}),
        )
        .await
        .expect(201)
        .body;
    let body = json!({
        "client_id": s.client_id,
        "title": "Brownstone garden",
        "lines": [
            {"name": "Planters", "quantity": 3, "unit_price": 1999},
            {"name": "Soil", "quantity": 1, "unit_price": 1000},
            {"name": "Labour", "quantity": 1, "unit_price": 2500, "taxable": false}
        ],
        "tax_rate_ids": [nyc["id"]]
    });
    let (quote, job) = approved_job(&app, &s, body, "on_completion").await;
    // By hand: 3 x 19.99 = 59.97 -> 8.875 % = 5.3223375 -> 5.32;
    // 10.00 -> 0.8875 -> 0.89; labour untaxed. Tax 6.21 (at 8.88 % it would be 6.22).
    // Total 59.97 + 10.00 + 25.00 + 6.21 = 101.18.
    let expected_taxes =
        json!([{"name": "NYC sales tax", "rate": "8.875", "rate_bps": 888, "amount": 621}]);
    assert_eq!(quote["subtotal"], 9497);
    assert_eq!(quote["taxes"], expected_taxes);
    assert_eq!(quote["total"], 10118);
    // The rate changes afterwards: the deal does not.
    app.put(
        &format!("/api/v1/settings/tax-rates/{}", nyc["id"].as_str().unwrap()),
        &s.owner.token,
        json!({"name": "NYC sales tax", "rate": "9.975", "version": nyc["version"]}),
    )
    .await
    .expect(200);
    app.post(
        &format!("/api/v1/jobs/{}/complete", job["id"].as_str().unwrap()),
        &s.owner.token,
        json!({"complete_open_visits": true}),
    )
    .await
    .expect(200);
    let invoice = invoice_job(&app, &s, &job).await;
    assert_eq!(invoice["taxes"], expected_taxes);
    assert_eq!(invoice["tax_total"], 621);
    assert_eq!(invoice["total"], 10118);
    // A new invoice at the changed rate (9.975 %): 59.97 -> 5.9820075 -> 5.98;
    // 10.00 -> 0.9975 -> 1.00; total 94.97 + 6.98 = 101.95.
    let direct = app
        .post(
            "/api/v1/invoices",
            &s.owner.token,
            json!({"client_id": s.client_id, "title": "Again", "tax_rate_ids": [nyc["id"]],
                   "lines": [{"name": "Planters", "quantity": 3, "unit_price": 1999},
                             {"name": "Soil", "quantity": 1, "unit_price": 1000},
                             {"name": "Labour", "quantity": 1, "unit_price": 2500, "taxable": false}]}),
        )
        .await
        .expect(201)
        .body;
    assert_eq!(
        direct["taxes"],
        json!([{"name": "NYC sales tax", "rate": "9.975", "rate_bps": 998, "amount": 698}])
    );
    assert_eq!(direct["total"], 10195);
}

#[tokio::test]
async fn an_amount_discount_is_granted_once_across_visit_invoices() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    let body = json!({
        "client_id": s.client_id,
        "title": "Weekly mowing",
        "lines": [{"catalog_item_id": s.mowing_id, "quantity": 1}],
        "discount": {"kind": "amount", "value": 500},
        "tax_rate_ids": []
    });
    let (_, job) = approved_job(&app, &s, body, "per_visit").await;
    let visits = job["visits"].as_array().unwrap();
    assert_eq!(visits.len(), 2);
    complete_visit(&app, &s, &visits[0]).await;
    let first = invoice_job(&app, &s, &job).await;
    assert_eq!(first["discount_total"], 500);
    assert_eq!(first["total"], 4000);
    complete_visit(&app, &s, &visits[1]).await;
    let second = invoice_job(&app, &s, &job).await;
    assert_eq!(second["subtotal"], 4500);
    assert_eq!(
        second["discount_total"], 0,
        "the amount was granted once already"
    );
    assert_eq!(second["total"], 4500);
    // Voiding the invoice that had the discount frees it for the next one.
    app.post(
        &format!("/api/v1/invoices/{}/send", first["id"].as_str().unwrap()),
        &s.owner.token,
        json!({}),
    )
    .await
    .expect(200);
    app.post(
        &format!("/api/v1/invoices/{}/void", first["id"].as_str().unwrap()),
        &s.owner.token,
        json!({}),
    )
    .await
    .expect(200);
    let again = invoice_job(&app, &s, &job).await;
    assert_eq!(
        again["subtotal"], 4500,
        "the first visit, freed by the void"
    );
    assert_eq!(again["discount_total"], 500);
    assert_eq!(again["total"], 4000);
    assert_eq!(again["tax_total"], 0);
}

/// The hub link of the last email about `id`, as the client would click it.
pub async fn emailed_link(app: &TestApp, id: &str) -> String {
    let (body,): (String,) = sqlx::query_as(
        "SELECT body_text FROM messages WHERE subject_id = $1::uuid ORDER BY created_at DESC LIMIT 1",
    )
    .bind(id)
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    let start = body.find("http://jobber.test/hub/").unwrap();
    let link = body[start..].split_whitespace().next().unwrap();
    link.trim_start_matches("http://jobber.test/hub/")
        .to_string()
}

#[tokio::test]
async fn clients_approve_in_the_hub_through_the_signed_link_only() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    let quote = app
        .post("/api/v1/quotes", &s.owner.token, quote_body(&s))
        .await
        .expect(201)
        .body;
    let id = quote["id"].as_str().unwrap();
    app.post(
        &format!("/api/v1/quotes/{id}/send"),
        &s.owner.token,
        json!({}),
    )
    .await
    .expect(200);
    let link = emailed_link(&app, id).await;
    let (path, query) = link.split_once('?').unwrap();
    assert_eq!(path, format!("quotes/{id}"));
    let seen = app
        .request(
            reqwest::Method::GET,
            &format!("/api/v1/hub/{link}"),
            None,
            None,
            &[],
        )
        .await
        .expect(200)
        .body;
    assert_eq!(seen["total"], quote["total"]);
    assert_eq!(seen["status"], "sent");

    // Forged or altered links open nothing.
    let params: std::collections::HashMap<&str, &str> = query
        .split('&')
        .map(|kv| kv.split_once('=').unwrap())
        .collect();
    let expires: i64 = params["expires"].parse().unwrap();
    let later = 90 * 86_400 + chrono::Utc::now().timestamp();
    assert!(
        (later - 60..=later).contains(&expires),
        "90 days: {expires}"
    );
    for forged in [
        format!(
            "quotes/{id}?account={}&expires={}&sig={}",
            params["account"],
            expires + 86_400,
            params["sig"]
        ),
        format!(
            "quotes/{id}?account={}&expires={expires}&sig=AAAA",
            params["account"]
        ),
        format!("quotes/{}?{query}", uuid::Uuid::now_v7()),
    ] {
        app.request(
            reqwest::Method::GET,
            &format!("/api/v1/hub/{forged}"),
            None,
            None,
            &[],
        )
        .await
        .problem(404, "quote_not_found");
    }
    // A genuine link past its expiry says so.
    let keys = jobber::modules::auth::token::TokenKeys::load(None, &app.data_dir).unwrap();
    let account = uuid::Uuid::parse_str(&s.owner.account_id).unwrap();
    let quote_id = uuid::Uuid::parse_str(id).unwrap();
    let past = chrono::Utc::now().timestamp() - 1;
    let old = keys.sign_link("quote", account, quote_id, past);
    app.request(
        reqwest::Method::GET,
        &format!("/api/v1/hub/quotes/{id}?account={account}&expires={past}&sig={old}"),
        None,
        None,
        &[],
    )
    .await
    .problem(410, "link_expired");

    // The client approves; a double-click changes nothing.
    let aeration = quote["lines"][3]["id"].as_str().unwrap();
    let approve = json!({"signature_name": "Ann Lee", "selected_optional_line_ids": [aeration]});
    let url = format!("/api/v1/hub/quotes/{id}/approve?{query}");
    let approved = app
        .request(
            reqwest::Method::POST,
            &url,
            None,
            Some(approve.clone()),
            &[],
        )
        .await
        .expect(200)
        .body;
    assert_eq!(approved["status"], "approved");
    assert_eq!(approved["total"], 20610);
    assert_eq!(approved["approval"]["via"], "client_hub");
    assert_eq!(approved["approval"]["recorded_by"], Value::Null);
    assert_eq!(approved["approval"]["ip"], "127.0.0.1");
    let again = app
        .request(reqwest::Method::POST, &url, None, Some(approve), &[])
        .await
        .expect(200)
        .body;
    assert_eq!(again["version"], approved["version"]);
    app.request(
        reqwest::Method::POST,
        &format!("/api/v1/hub/quotes/{id}/request-changes?{query}"),
        None,
        Some(json!({"note": "Cheaper please"})),
        &[],
    )
    .await
    .problem(409, "invalid_transition");
    // The link opens this quote of this account, nothing else.
    app.request(
        reqwest::Method::GET,
        &format!("/api/v1/quotes/{id}?{query}"),
        None,
        None,
        &[],
    )
    .await
    .problem(401, "unauthenticated");
}

#[tokio::test]
async fn clients_request_changes_and_see_their_invoice_in_the_hub() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    let quote = app
        .post("/api/v1/quotes", &s.owner.token, quote_body(&s))
        .await
        .expect(201)
        .body;
    let id = quote["id"].as_str().unwrap();
    app.post(
        &format!("/api/v1/quotes/{id}/send"),
        &s.owner.token,
        json!({}),
    )
    .await
    .expect(200);
    let link = emailed_link(&app, id).await;
    let query = link.split_once('?').unwrap().1;
    let changed = app
        .request(
            reqwest::Method::POST,
            &format!("/api/v1/hub/quotes/{id}/request-changes?{query}"),
            None,
            Some(json!({"note": "Skip the hedges"})),
            &[],
        )
        .await
        .expect(200)
        .body;
    assert_eq!(changed["status"], "changes_requested");
    assert_eq!(changed["changes_requested_note"], "Skip the hedges");

    let invoice = app
        .post(
            "/api/v1/invoices",
            &s.owner.token,
            json!({"client_id": s.client_id, "title": "Spring", "lines": [{"name": "Labour", "quantity": 1, "unit_price": 10000}], "tax_rate_ids": []}),
        )
        .await
        .expect(201)
        .body;
    let invoice_id = invoice["id"].as_str().unwrap();
    app.post(
        &format!("/api/v1/invoices/{invoice_id}/send"),
        &s.owner.token,
        json!({}),
    )
    .await
    .expect(200);
    let link = emailed_link(&app, invoice_id).await;
    assert!(
        link.starts_with(&format!("invoices/{invoice_id}?")),
        "{link}"
    );
    let seen = app
        .request(
            reqwest::Method::GET,
            &format!("/api/v1/hub/{link}"),
            None,
            None,
            &[],
        )
        .await
        .expect(200)
        .body;
    assert_eq!(seen["balance"], 10000);
    // A quote link does not open an invoice with the same query.
    app.request(
        reqwest::Method::GET,
        &format!("/api/v1/hub/invoices/{id}?{query}"),
        None,
        None,
        &[],
    )
    .await
    .problem(404, "invoice_not_found");
}

#[tokio::test]
async fn unanswered_quotes_expire_and_revive_when_sent_again() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    let quote = app
        .post("/api/v1/quotes", &s.owner.token, quote_body(&s))
        .await
        .expect(201)
        .body;
    let id = quote["id"].as_str().unwrap();
    app.post(
        &format!("/api/v1/quotes/{id}/send"),
        &s.owner.token,
        json!({}),
    )
    .await
    .expect(200);
    let link = emailed_link(&app, id).await;
    let query = link.split_once('?').unwrap().1.to_string();
    sqlx::query("UPDATE quotes SET valid_until = current_date - 2 WHERE id = $1::uuid")
        .bind(id)
        .execute(app.db.pool())
        .await
        .unwrap();
    // Lapsed but not yet marked: the hub already refuses it.
    let approve = format!("/api/v1/hub/quotes/{id}/approve?{query}");
    let body = json!({"signature_name": "Ann Lee"});
    let lapsed = app
        .request(
            reqwest::Method::POST,
            &approve,
            None,
            Some(body.clone()),
            &[],
        )
        .await
        .problem(409, "invalid_transition");
    assert!(lapsed.text.contains("expired"), "{}", lapsed.text);

    let expired = jobber::modules::quotes::service::expire_all(&app.db)
        .await
        .unwrap();
    assert_eq!(expired, 1);
    assert_eq!(
        jobber::modules::quotes::service::expire_all(&app.db)
            .await
            .unwrap(),
        0,
        "once"
    );
    let seen = app
        .get(&format!("/api/v1/quotes/{id}"), &s.owner.token)
        .await
        .expect(200)
        .body;
    assert_eq!(seen["status"], "expired");
    assert_eq!(seen["allowed_actions"], json!(["edit", "send", "archive"]));

    // Sending again revives it with a fresh validity.
    let resent = app
        .post(
            &format!("/api/v1/quotes/{id}/send"),
            &s.owner.token,
            json!({}),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(resent["status"], "sent");
    let fresh = chrono::Utc::now().date_naive() + chrono::Days::new(30);
    assert_eq!(resent["valid_until"], fresh.to_string());
    let link = emailed_link(&app, id).await;
    let query = link.split_once('?').unwrap().1;
    app.request(
        reqwest::Method::POST,
        &format!("/api/v1/hub/quotes/{id}/approve?{query}"),
        None,
        Some(body),
        &[],
    )
    .await
    .expect(200);
}

#[tokio::test]
async fn a_clients_communication_history_lists_its_messages_with_their_status() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    let quote = app
        .post("/api/v1/quotes", &s.owner.token, quote_body(&s))
        .await
        .expect(201)
        .body;
    let id = quote["id"].as_str().unwrap();
    app.post(
        &format!("/api/v1/quotes/{id}/send"),
        &s.owner.token,
        json!({}),
    )
    .await
    .expect(200);
    let path = format!("/api/v1/clients/{}/messages", s.client_id);
    let history = app.get(&path, &s.owner.token).await.expect(200).body;
    let items = history["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["template"], "quote_sent");
    assert_eq!(items[0]["channel"], "email");
    assert_eq!(items[0]["direction"], "outbound");
    assert_eq!(items[0]["status"], "queued");
    assert_eq!(items[0]["to_address"], "ann@example.com");
    assert_eq!(items[0]["subject_type"], "quote");
    assert_eq!(items[0]["subject_id"], id);
    let tech = app.add_user(&s.owner, "technician").await;
    app.get(&path, &tech.token).await.problem(403, "forbidden");
    let other = app.signup("Other Co").await;
    app.get(&path, &other.token)
        .await
        .problem(404, "client_not_found");
}
