//! Invoices from jobs (nothing billed twice), gapless numbers at issue, payments that
//! never exceed the balance (also when two arrive at once), void, bad debt, past due.

use serde_json::{Value, json};

use crate::helpers::{Session, TestApp, spawn_app};

async fn setup(app: &TestApp) -> (Session, String) {
    let owner = app.signup("Invoice Co").await;
    app.post(
        "/api/v1/settings/tax-rates",
        &owner.token,
        json!({"name": "Sales tax", "rate_bps": 825, "is_default": true}),
    )
    .await
    .expect(201);
    let client = app.create_client(&owner, json!({"first_name": "Pat", "last_name": "Payer", "emails": [{"address": "pat@example.com"}]})).await;
    (owner, client["id"].as_str().unwrap().to_string())
}

async fn weekly_job(app: &TestApp, owner: &Session, client: &str, billing: &str) -> Value {
    app.post(
        "/api/v1/jobs",
        &owner.token,
        json!({"client_id": client, "title": "Weekly mow", "billing": billing, "lines": [{"name": "Mow", "quantity": 1, "unit_price": 4500}],
               "schedule": {"start_date": "2026-05-04", "start_time": "09:00", "rrule": "FREQ=WEEKLY;COUNT=3"}}),
    )
    .await
    .expect(201)
    .body
}

async fn complete_visit(app: &TestApp, owner: &Session, job: &Value, index: usize) {
    let visit = job["visits"][index]["id"].as_str().unwrap();
    app.post(
        &format!("/api/v1/visits/{visit}/complete"),
        &owner.token,
        json!({}),
    )
    .await
    .expect(200);
}

#[tokio::test]
async fn per_visit_billing_bills_each_completed_visit_once() {
    let app = spawn_app().await;
    let (owner, client) = setup(&app).await;
    let job = weekly_job(&app, &owner, &client, "per_visit").await;
    let job_id = job["id"].as_str().unwrap();
    app.post("/api/v1/invoices", &owner.token, json!({"job_id": job_id}))
        .await
        .problem(409, "nothing_to_invoice");
    complete_visit(&app, &owner, &job, 0).await;
    complete_visit(&app, &owner, &job, 1).await;

    let invoice = app
        .post("/api/v1/invoices", &owner.token, json!({"job_id": job_id}))
        .await
        .expect(201)
        .body;
    assert_eq!(invoice["status"], "draft");
    assert!(invoice["number"].is_null(), "drafts have no number");
    let lines = invoice["lines"].as_array().unwrap();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["description"], "Visit on 2026-05-04");
    assert_eq!(lines[1]["description"], "Visit on 2026-05-11");
    // 2 x 45.00; tax 8.25 % per line: 3.7125 -> 3.71 twice = 7.42; total 97.42.
    assert_eq!(invoice["subtotal"], 9000);
    assert_eq!(invoice["tax_total"], 742);
    assert_eq!(invoice["total"], 9742);
    assert_eq!(invoice["balance"], 9742);
    assert_eq!(invoice["client_id"], client.as_str());

    // Nothing is billed twice; the next completed visit goes on the next invoice.
    app.post("/api/v1/invoices", &owner.token, json!({"job_id": job_id}))
        .await
        .problem(409, "nothing_to_invoice");
    complete_visit(&app, &owner, &job, 2).await;
    let next = app
        .post("/api/v1/invoices", &owner.token, json!({"job_id": job_id}))
        .await
        .expect(201)
        .body;
    assert_eq!(next["lines"].as_array().unwrap().len(), 1);
    assert_eq!(next["lines"][0]["description"], "Visit on 2026-05-18");

    // Deleting a draft gives its visits back.
    app.delete(
        &format!("/api/v1/invoices/{}", next["id"].as_str().unwrap()),
        &owner.token,
    )
    .await
    .expect(204);
    let again = app
        .post("/api/v1/invoices", &owner.token, json!({"job_id": job_id}))
        .await
        .expect(201)
        .body;
    assert_eq!(again["lines"][0]["description"], "Visit on 2026-05-18");
}

#[tokio::test]
async fn billing_at_the_end_bills_the_job_once() {
    let app = spawn_app().await;
    let (owner, client) = setup(&app).await;
    let job = weekly_job(&app, &owner, &client, "on_completion").await;
    let job_id = job["id"].as_str().unwrap();
    let invoice = app
        .post(
            "/api/v1/invoices",
            &owner.token,
            json!({"job_id": job_id, "tax_rate_ids": []}),
        )
        .await
        .expect(201)
        .body;
    assert_eq!(invoice["total"], 4500);
    assert_eq!(invoice["job_id"], job_id);
    let again = app
        .post("/api/v1/invoices", &owner.token, json!({"job_id": job_id}))
        .await
        .problem(409, "nothing_to_invoice");
    assert!(
        again.body["detail"]
            .as_str()
            .unwrap()
            .contains(invoice["id"].as_str().unwrap())
    );
}

#[tokio::test]
async fn numbers_are_assigned_gaplessly_at_issue() {
    let app = spawn_app().await;
    let (owner, client) = setup(&app).await;
    let nomail = app
        .create_client(&owner, json!({"company_name": "No Mail Ltd"}))
        .await;
    let standalone = |client: &str| json!({"client_id": client, "title": "Repair", "lines": [{"name": "Part", "quantity": 2, "unit_price": 1250}], "payment_terms": "net_15"});
    let a = app
        .post(
            "/api/v1/invoices",
            &owner.token,
            standalone(nomail["id"].as_str().unwrap()),
        )
        .await
        .expect(201)
        .body;
    let b = app
        .post("/api/v1/invoices", &owner.token, standalone(&client))
        .await
        .expect(201)
        .body;
    // A send that fails takes no number.
    app.post(
        &format!("/api/v1/invoices/{}/send", a["id"].as_str().unwrap()),
        &owner.token,
        json!({}),
    )
    .await
    .problem(422, "validation_failed");
    let sent_b = app
        .post(
            &format!("/api/v1/invoices/{}/send", b["id"].as_str().unwrap()),
            &owner.token,
            json!({}),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(sent_b["number"], "INV-1");
    assert_eq!(sent_b["status"], "sent");
    let issued =
        chrono::NaiveDate::parse_from_str(sent_b["issue_date"].as_str().unwrap(), "%Y-%m-%d")
            .unwrap();
    let due = chrono::NaiveDate::parse_from_str(sent_b["due_date"].as_str().unwrap(), "%Y-%m-%d")
        .unwrap();
    assert_eq!((due - issued).num_days(), 15);
    let sent_a = app
        .post(
            &format!("/api/v1/invoices/{}/send", a["id"].as_str().unwrap()),
            &owner.token,
            json!({"to": "ap@nomail.example"}),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(sent_a["number"], "INV-2");
    // Sending again keeps the number.
    let resent = app
        .post(
            &format!("/api/v1/invoices/{}/send", b["id"].as_str().unwrap()),
            &owner.token,
            json!({}),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(resent["number"], "INV-1");
    let (subject, body): (String, String) = sqlx::query_as("SELECT subject, body_text FROM messages WHERE subject_type = 'invoice' AND subject_id = $1::uuid ORDER BY id LIMIT 1")
        .bind(b["id"].as_str().unwrap())
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert_eq!(subject, "Invoice INV-1 from Invoice Co: Repair");
    assert!(
        body.contains("Part: 2 x USD 12.50 = USD 25.00") && body.contains("Balance due: USD 27.06"),
        "{body}"
    );
}

#[tokio::test]
async fn payments_update_balance_and_status_and_never_overpay() {
    let app = spawn_app().await;
    let (owner, client) = setup(&app).await;
    let invoice = app
        .post("/api/v1/invoices", &owner.token, json!({"client_id": client, "title": "Fence", "lines": [{"name": "Fence", "quantity": 1, "unit_price": 10000}], "tax_rate_ids": []}))
        .await
        .expect(201)
        .body;
    let id = invoice["id"].as_str().unwrap();
    let pay = |amount: i64| json!({"method": "check", "amount": amount, "reference": "Check 1042"});
    app.post(
        &format!("/api/v1/invoices/{id}/payments"),
        &owner.token,
        pay(100),
    )
    .await
    .problem(409, "invalid_transition");
    app.post(
        &format!("/api/v1/invoices/{id}/send"),
        &owner.token,
        json!({}),
    )
    .await
    .expect(200);

    let first = app
        .post(
            &format!("/api/v1/invoices/{id}/payments"),
            &owner.token,
            json!({"method": "cash", "amount": 4000, "tip": 500}),
        )
        .await
        .expect(201)
        .body;
    assert_eq!(first["invoice"]["status"], "partially_paid");
    assert_eq!(
        first["invoice"]["balance"], 6000,
        "a tip does not reduce the balance"
    );
    assert_eq!(first["payment"]["tip"], 500);
    let over = app
        .post(
            &format!("/api/v1/invoices/{id}/payments"),
            &owner.token,
            pay(6001),
        )
        .await
        .problem(422, "validation_failed");
    assert_eq!(over.fields(), vec!["amount"]);
    app.post(
        &format!("/api/v1/invoices/{id}/payments"),
        &owner.token,
        pay(0),
    )
    .await
    .problem(422, "validation_failed");

    // Two payments of the whole balance at once (two tabs): exactly one is taken.
    let payments_path = format!("/api/v1/invoices/{id}/payments");
    let (a, b) = tokio::join!(
        app.post(&payments_path, &owner.token, pay(6000)),
        app.post(
            "/api/v1/payments",
            &owner.token,
            json!({"invoice_id": id, "method": "bank_transfer", "amount": 6000})
        ),
    );
    let mut statuses = [a.status.as_u16(), b.status.as_u16()];
    statuses.sort();
    assert!(
        statuses == [201, 409] || statuses == [201, 422],
        "{statuses:?}: {} / {}",
        a.text,
        b.text
    );
    let paid = app
        .get(&format!("/api/v1/invoices/{id}"), &owner.token)
        .await
        .expect(200)
        .body;
    assert_eq!(paid["status"], "paid");
    assert_eq!(paid["balance"], 0);
    assert_eq!(paid["amount_paid"], 10000);
    assert!(paid["paid_at"].is_string());
    let payment_id = first["payment"]["id"].as_str().unwrap();
    assert_eq!(
        app.get(&format!("/api/v1/payments/{payment_id}"), &owner.token)
            .await
            .expect(200)
            .body["amount"],
        4000
    );
    app.post(
        &format!("/api/v1/invoices/{id}/void"),
        &owner.token,
        json!({}),
    )
    .await
    .problem(409, "invalid_transition");

    let other = app.signup("Other Invoice Co").await;
    app.get(&format!("/api/v1/invoices/{id}"), &other.token)
        .await
        .problem(404, "invoice_not_found");
    app.get(&format!("/api/v1/payments/{payment_id}"), &other.token)
        .await
        .problem(404, "payment_not_found");
    app.post(
        "/api/v1/payments",
        &other.token,
        json!({"invoice_id": id, "method": "cash", "amount": 1}),
    )
    .await
    .problem(422, "validation_failed");
}

#[tokio::test]
async fn void_bad_debt_and_past_due() {
    let app = spawn_app().await;
    let (owner, client) = setup(&app).await;
    let job = weekly_job(&app, &owner, &client, "per_visit").await;
    complete_visit(&app, &owner, &job, 0).await;
    let invoice = app
        .post(
            "/api/v1/invoices",
            &owner.token,
            json!({"job_id": job["id"]}),
        )
        .await
        .expect(201)
        .body;
    let id = invoice["id"].as_str().unwrap();
    app.post(
        &format!("/api/v1/invoices/{id}/void"),
        &owner.token,
        json!({}),
    )
    .await
    .problem(409, "invalid_transition");
    app.post(
        &format!("/api/v1/invoices/{id}/send"),
        &owner.token,
        json!({}),
    )
    .await
    .expect(200);

    // Past due once the due date has passed (moved back here, as time would).
    sqlx::query("UPDATE invoices SET due_date = current_date - 3 WHERE id = $1::uuid")
        .bind(id)
        .execute(app.db.pool())
        .await
        .unwrap();
    assert_eq!(
        app.get(&format!("/api/v1/invoices/{id}"), &owner.token)
            .await
            .expect(200)
            .body["past_due"],
        true
    );

    let void = app
        .post(
            &format!("/api/v1/invoices/{id}/void"),
            &owner.token,
            json!({}),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(void["status"], "void");
    assert_eq!(void["number"], "INV-1", "a void invoice keeps its number");
    assert_eq!(void["past_due"], false);
    // Nothing is owed on it any more: its total stays, its balance is 0 (the page,
    // the hub and the PDF show the balance).
    assert_eq!(void["balance"], 0, "a void invoice is owed nothing");
    assert_eq!(void["total"], invoice["total"]);
    assert_ne!(void["total"], 0);
    // Its visit can be billed again.
    let rebill = app
        .post(
            "/api/v1/invoices",
            &owner.token,
            json!({"job_id": job["id"]}),
        )
        .await
        .expect(201)
        .body;
    let rebill_id = rebill["id"].as_str().unwrap();
    app.post(
        &format!("/api/v1/invoices/{rebill_id}/send"),
        &owner.token,
        json!({}),
    )
    .await
    .expect(200);
    let written_off = app
        .post(
            &format!("/api/v1/invoices/{rebill_id}/bad-debt"),
            &owner.token,
            json!({}),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(written_off["status"], "bad_debt");
    assert_eq!(written_off["number"], "INV-2");
    let listed = app
        .get(&format!("/api/v1/clients/{client}/invoices"), &owner.token)
        .await
        .expect(200);
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 2);
    let tech = app.add_user(&owner, "technician").await;
    app.get("/api/v1/invoices", &tech.token)
        .await
        .problem(403, "forbidden");
}

#[tokio::test]
async fn refunds_grow_the_balance_and_only_admins_give_them() {
    let app = spawn_app().await;
    let (owner, client) = setup(&app).await;
    let invoice = app
        .post("/api/v1/invoices", &owner.token, json!({"client_id": client, "title": "Deck", "lines": [{"name": "Deck", "quantity": 1, "unit_price": 8000}], "tax_rate_ids": []}))
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
    let paid = app
        .post(
            &format!("/api/v1/invoices/{id}/payments"),
            &owner.token,
            json!({"method": "card", "amount": 8000}),
        )
        .await
        .expect(201)
        .body;
    assert_eq!(paid["invoice"]["status"], "paid");
    let payment = paid["payment"]["id"].as_str().unwrap();

    let dispatcher = app.add_user(&owner, "dispatcher").await;
    app.post(
        &format!("/api/v1/payments/{payment}/refund"),
        &dispatcher.token,
        json!({"amount": 100}),
    )
    .await
    .problem(403, "forbidden");
    let partial = app
        .post(
            &format!("/api/v1/payments/{payment}/refund"),
            &owner.token,
            json!({"amount": 3000, "reason": "One board short"}),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(partial["payment"]["status"], "partially_refunded");
    assert_eq!(partial["payment"]["refunded"], 3000);
    assert_eq!(partial["invoice"]["status"], "partially_paid");
    assert_eq!(
        partial["invoice"]["balance"], 3000,
        "balance = total - paid + refunded"
    );
    app.post(
        &format!("/api/v1/payments/{payment}/refund"),
        &owner.token,
        json!({"amount": 5001}),
    )
    .await
    .problem(422, "validation_failed");
    let rest = app
        .request(
            reqwest::Method::POST,
            &format!("/api/v1/payments/{payment}/refund"),
            Some(&owner.token),
            None,
            &[],
        )
        .await
        .expect(200)
        .body;
    assert_eq!(rest["payment"]["status"], "refunded");
    assert_eq!(rest["invoice"]["status"], "sent");
    assert_eq!(rest["invoice"]["balance"], 8000);
    app.post(
        &format!("/api/v1/payments/{payment}/refund"),
        &owner.token,
        json!({}),
    )
    .await
    .problem(409, "invalid_transition");
    // With the money returned, the invoice can be voided.
    app.post(
        &format!("/api/v1/invoices/{id}/void"),
        &owner.token,
        json!({}),
    )
    .await
    .expect(200);
}

/// Credits larger than the charges used to reach the database and break its
/// balance rule (`invoices_balance_check`): a 500. Now a 422 naming the lines,
/// whether the lines are given or billed from a job.
#[tokio::test]
async fn a_negative_invoice_total_is_refused_with_422() {
    let app = spawn_app().await;
    let (owner, client) = setup(&app).await;
    let reply = app
        .post(
            "/api/v1/invoices",
            &owner.token,
            json!({"client_id": client, "title": "Refund", "tax_rate_ids": [],
                   "lines": [{"name": "Visit", "quantity": 1, "unit_price": 1000},
                             {"name": "Goodwill credit", "quantity": -1, "unit_price": 2500}]}),
        )
        .await
        .problem(422, "validation_failed");
    assert_eq!(reply.fields(), vec!["lines"], "{}", reply.text);
    // A job whose credit exceeds its work; the default 8.25 % tax applies to both
    // lines: 0.83 - 2.06 = -1.23, total -15.00 - 1.23 = -16.23.
    let job = app
        .post(
            "/api/v1/jobs",
            &owner.token,
            json!({"client_id": client, "title": "Warranty", "lines": [
                {"name": "Repair", "quantity": 1, "unit_price": 1000},
                {"name": "Warranty credit", "quantity": -1, "unit_price": 2500}]}),
        )
        .await
        .expect(201)
        .body;
    let job_id = job["id"].as_str().unwrap();
    app.post(
        &format!("/api/v1/jobs/{job_id}/complete"),
        &owner.token,
        json!({"complete_open_visits": true}),
    )
    .await
    .expect(200);
    let reply = app
        .post("/api/v1/invoices", &owner.token, json!({"job_id": job_id}))
        .await
        .problem(422, "validation_failed");
    assert_eq!(reply.fields(), vec!["lines"], "{}", reply.text);
    // Credits up to the charges are fine: a zero total.
    let zero = app
        .post(
            "/api/v1/invoices",
            &owner.token,
            json!({"client_id": client, "title": "Even", "tax_rate_ids": [],
                   "lines": [{"name": "Visit", "quantity": 1, "unit_price": 1000},
                             {"name": "Credit", "quantity": -1, "unit_price": 1000}]}),
        )
        .await
        .expect(201)
        .body;
    assert_eq!(zero["total"], 0);
}

/// Amounts entered beside the lines share the per-document maximum (10^13 minor
/// units): a 422 naming the field, never an overflow later.
#[tokio::test]
async fn payments_tips_and_discounts_over_the_maximum_are_422() {
    let app = spawn_app().await;
    let (owner, client) = setup(&app).await;
    let over = 10_000_000_000_001i64;
    let discounted = app
        .post(
            "/api/v1/invoices",
            &owner.token,
            json!({"client_id": client, "title": "Big discount", "tax_rate_ids": [],
                   "discount": {"kind": "amount", "value": over},
                   "lines": [{"name": "Visit", "quantity": 1, "unit_price": 1000}]}),
        )
        .await
        .problem(422, "validation_failed");
    assert_eq!(
        discounted.fields(),
        vec!["discount.value"],
        "{}",
        discounted.text
    );
    let invoice = app
        .post(
            "/api/v1/invoices",
            &owner.token,
            json!({"client_id": client, "title": "Visit", "tax_rate_ids": [],
                   "lines": [{"name": "Visit", "quantity": 1, "unit_price": 1000}]}),
        )
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
    let payments = format!("/api/v1/invoices/{id}/payments");
    let amount = app
        .post(
            &payments,
            &owner.token,
            json!({"method": "cash", "amount": over}),
        )
        .await
        .problem(422, "validation_failed");
    assert_eq!(amount.fields(), vec!["amount"], "{}", amount.text);
    let tip = app
        .post(
            &payments,
            &owner.token,
            json!({"method": "cash", "amount": 1000, "tip": over}),
        )
        .await
        .problem(422, "validation_failed");
    assert_eq!(tip.fields(), vec!["tip"], "{}", tip.text);
    // At the maximum the tip is accepted (the amount is bounded by the balance).
    app.post(
        &payments,
        &owner.token,
        json!({"method": "cash", "amount": 1000, "tip": over - 1}),
    )
    .await
    .expect(201);
}

/// `GET /clients/{id}/payments`: the client's payments newest first, with refunds,
/// page by page; another client's list is its own.
#[tokio::test]
async fn a_clients_payments_are_listed_newest_first() {
    let app = spawn_app().await;
    let (owner, client) = setup(&app).await;
    let other = app
        .create_client(&owner, json!({"first_name": "Olga", "last_name": "Other"}))
        .await;
    let other = other["id"].as_str().unwrap();
    let invoice = app
        .post("/api/v1/invoices", &owner.token, json!({"client_id": client, "title": "Fence", "lines": [{"name": "Fence", "quantity": 1, "unit_price": 10000}], "tax_rate_ids": []}))
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
    let mut ids = Vec::new();
    for (method, amount, reference) in [("check", 4000, "Check 1001"), ("cash", 6000, "")] {
        let paid = app
            .post(
                &format!("/api/v1/invoices/{id}/payments"),
                &owner.token,
                json!({"method": method, "amount": amount, "reference": reference}),
            )
            .await
            .expect(201)
            .body;
        ids.push(paid["payment"]["id"].as_str().unwrap().to_string());
    }
    app.post(
        &format!("/api/v1/payments/{}/refund", ids[0]),
        &owner.token,
        json!({"amount": 1500, "reason": "Gate left out"}),
    )
    .await
    .expect(200);

    let path = format!("/api/v1/clients/{client}/payments");
    let list = app.get(&path, &owner.token).await.expect(200).body;
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["id"], ids[1].as_str());
    assert_eq!(items[0]["method"], "cash");
    assert_eq!(items[1]["reference"], "Check 1001");
    assert_eq!(items[1]["refunded"], 1500);
    assert_eq!(items[1]["invoice_id"], id);

    let first = app
        .get(&format!("{path}?limit=1"), &owner.token)
        .await
        .expect(200)
        .body;
    assert_eq!(first["items"][0]["id"], ids[1].as_str());
    let cursor = first["next_cursor"].as_str().unwrap();
    let second = app
        .get(&format!("{path}?limit=1&cursor={cursor}"), &owner.token)
        .await
        .expect(200)
        .body;
    assert_eq!(second["items"][0]["id"], ids[0].as_str());
    assert!(second["next_cursor"].is_null());

    let empty = app
        .get(&format!("/api/v1/clients/{other}/payments"), &owner.token)
        .await
        .expect(200)
        .body;
    assert!(empty["items"].as_array().unwrap().is_empty());
    let stranger = app.signup("Stranger Co").await;
    app.get(&path, &stranger.token)
        .await
        .problem(404, "client_not_found");
}
