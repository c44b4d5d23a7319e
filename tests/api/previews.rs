//! `POST /quotes/preview` and `POST /invoices/preview`: the totals a builder shows
//! while the user types are the totals the server saves, to the cent, for inputs
//! chosen to be awkward (optional lines, percent and amount discounts, several
//! exact tax rates, deposits, credits, fractional quantities); a preview writes
//! nothing and names the field at fault.

use serde_json::{Value, json};

use crate::helpers::{Session, TestApp, spawn_app};

struct Setup {
    owner: Session,
    client_id: String,
    mowing_id: String,
    state_tax: String,
    city_tax: String,
}

async fn setup(app: &TestApp) -> Setup {
    let owner = app.signup("Preview Lawn Co").await;
    let state_tax = app
        .post(
            "/api/v1/settings/tax-rates",
            &owner.token,
            json!({"name": "State tax", "rate": "8.875", "is_default": true}),
        )
        .await
        .expect(201)
        .body["id"]
        .as_str()
        .unwrap()
        .to_string();
    let city_tax = app
        .post(
            "/api/v1/settings/tax-rates",
            &owner.token,
            json!({"name": "City tax", "rate": "0.4995"}),
        )
        .await
        .expect(201)
        .body["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mowing = app
        .post(
            "/api/v1/catalog",
            &owner.token,
            json!({"name": "Mowing", "unit_price": 4567}),
        )
        .await
        .expect(201);
    let client = app
        .create_client(
            &owner,
            json!({"first_name": "Ann", "last_name": "Lee", "emails": [{"address": "ann@example.com"}]}),
        )
        .await;
    Setup {
        owner,
        client_id: client["id"].as_str().unwrap().to_string(),
        mowing_id: mowing.body["id"].as_str().unwrap().to_string(),
        state_tax,
        city_tax,
    }
}

/// The money inputs to try: (lines, discount, deposit, tax_rate_ids).
fn cases(s: &Setup) -> Vec<Value> {
    vec![
        // Optional lines, a percent discount, a percent deposit, two exact rates and
        // a line that is not taxable.
        json!({
            "lines": [
                {"catalog_item_id": s.mowing_id, "quantity": 3},
                {"name": "Hedge trimming", "quantity": 1.5, "unit_price": 3333},
                {"name": "Disposal fee", "quantity": 1, "unit_price": 1250, "taxable": false},
                {"name": "Aeration", "quantity": 1, "unit_price": 6001, "optional": true},
                {"name": "Seeding", "quantity": 0.33, "unit_price": 999, "optional": true, "taxable": false}
            ],
            "discount": {"kind": "percent", "value": 1337},
            "deposit": {"kind": "percent", "value": 3333},
            "tax_rate_ids": [s.state_tax, s.city_tax]
        }),
        // An amount discount, an amount deposit, a credit line, the default rates.
        json!({
            "lines": [
                {"catalog_item_id": s.mowing_id, "quantity": 0.07, "unit_price": 12345},
                {"name": "Loyalty credit", "quantity": -1, "unit_price": 500},
                {"name": "Mulch", "quantity": 2.25, "unit_price": 1999, "optional": true}
            ],
            "discount": {"kind": "amount", "value": 777},
            "deposit": {"kind": "amount", "value": 1000}
        }),
        // A discount larger than the subtotal and no taxes at all.
        json!({
            "lines": [{"name": "Gutter clean", "quantity": 1, "unit_price": 2500}],
            "discount": {"kind": "amount", "value": 99999},
            "tax_rate_ids": []
        }),
    ]
}

const TOTALS: [&str; 6] = [
    "taxes",
    "subtotal",
    "discount_total",
    "tax_total",
    "total",
    "deposit_amount",
];

#[tokio::test]
async fn quote_preview_totals_are_the_saved_totals() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    for (i, case) in cases(&s).into_iter().enumerate() {
        let preview = app
            .post("/api/v1/quotes/preview", &s.owner.token, case.clone())
            .await
            .expect(200)
            .body;
        let mut body = case.clone();
        body["client_id"] = json!(s.client_id);
        body["title"] = json!(format!("Case {i}"));
        let quote = app
            .post("/api/v1/quotes", &s.owner.token, body)
            .await
            .expect(201)
            .body;
        assert_eq!(preview["currency"], quote["currency"], "case {i}");
        for field in TOTALS {
            assert_eq!(preview["totals"][field], quote[field], "case {i}: {field}");
        }
        let saved_lines = quote["lines"].as_array().unwrap();
        let preview_lines = preview["lines"].as_array().unwrap();
        assert_eq!(saved_lines.len(), preview_lines.len());
        for (saved, previewed) in saved_lines.iter().zip(preview_lines) {
            for field in [
                "name",
                "quantity",
                "unit_price",
                "taxable",
                "optional",
                "selected",
                "line_total",
            ] {
                assert_eq!(saved[field], previewed[field], "case {i}: line {field}");
            }
        }

        // Approving with every optional line picked comes to `with_all_optional`.
        let id = quote["id"].as_str().unwrap();
        app.post(
            &format!("/api/v1/quotes/{id}/send"),
            &s.owner.token,
            json!({}),
        )
        .await
        .expect(200);
        let optional: Vec<Value> = saved_lines
            .iter()
            .filter(|l| l["optional"] == json!(true))
            .map(|l| l["id"].clone())
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
        for field in TOTALS {
            assert_eq!(
                preview["with_all_optional"][field], approved[field],
                "case {i}: all optional, {field}"
            );
        }
    }
    // The first case: optional lines are left out of the totals until picked.
    let first = app
        .post(
            "/api/v1/quotes/preview",
            &s.owner.token,
            cases(&s)[0].clone(),
        )
        .await
        .expect(200)
        .body;
    assert!(first["with_all_optional"]["total"].as_i64() > first["totals"]["total"].as_i64());
    assert_eq!(first["totals"]["taxes"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn a_preview_saves_nothing_and_names_the_field_at_fault() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    let empty = app
        .post("/api/v1/quotes/preview", &s.owner.token, json!({}))
        .await
        .expect(200)
        .body;
    assert_eq!(empty["totals"]["total"], 0);
    assert_eq!(empty["lines"], json!([]));
    let problem = app
        .post(
            "/api/v1/quotes/preview",
            &s.owner.token,
            json!({
                "lines": [
                    {"name": "Ok", "quantity": 1, "unit_price": 100},
                    {"quantity": 1, "unit_price": 100}
                ],
                "discount": {"kind": "percent", "value": 20000},
                "tax_rate_ids": [s.client_id]
            }),
        )
        .await
        .problem(422, "validation_failed");
    let fields = problem.fields();
    assert!(fields.contains(&"lines[1].name".to_string()), "{fields:?}");
    assert!(fields.contains(&"discount.value".to_string()), "{fields:?}");
    assert!(
        fields.iter().any(|f| f.starts_with("tax_rate_ids")),
        "{fields:?}"
    );
    let quotes = app.get("/api/v1/quotes", &s.owner.token).await.expect(200);
    assert_eq!(quotes.body["items"], json!([]));
    let number = app
        .post(
            "/api/v1/quotes",
            &s.owner.token,
            json!({"client_id": s.client_id, "title": "First", "lines": [{"name": "A", "quantity": 1, "unit_price": 1}]}),
        )
        .await
        .expect(201)
        .body["number"]
        .clone();
    assert_eq!(number, "Q-1", "a preview takes no quote number");
}

#[tokio::test]
async fn invoice_preview_totals_are_the_saved_totals() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    for (i, case) in cases(&s).into_iter().enumerate() {
        // Invoices have neither optional lines nor deposits.
        let mut case = case;
        case.as_object_mut().unwrap().remove("deposit");
        for line in case["lines"].as_array_mut().unwrap() {
            line.as_object_mut().unwrap().remove("optional");
        }
        let preview = app
            .post("/api/v1/invoices/preview", &s.owner.token, case.clone())
            .await
            .expect(200)
            .body;
        let mut body = case.clone();
        body["client_id"] = json!(s.client_id);
        body["title"] = json!(format!("Case {i}"));
        let invoice = app
            .post("/api/v1/invoices", &s.owner.token, body)
            .await
            .expect(201)
            .body;
        for field in [
            "currency",
            "taxes",
            "subtotal",
            "discount_total",
            "tax_total",
            "total",
        ] {
            assert_eq!(preview[field], invoice[field], "case {i}: {field}");
        }
        let saved: Vec<Value> = invoice["lines"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["line_total"].clone())
            .collect();
        assert_eq!(preview["line_totals"], json!(saved), "case {i}");
    }
    // The rule that an invoice may not total below zero holds in the preview too.
    app.post(
        "/api/v1/invoices/preview",
        &s.owner.token,
        json!({"lines": [{"name": "Credit", "quantity": -1, "unit_price": 500}]}),
    )
    .await
    .problem(422, "validation_failed");
}

/// The invoice page lists what was paid on the invoice (to refund it from there).
#[tokio::test]
async fn an_invoice_lists_its_payments() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    let invoice = app
        .post(
            "/api/v1/invoices",
            &s.owner.token,
            json!({"client_id": s.client_id, "title": "Deck", "lines": [{"name": "Deck", "quantity": 1, "unit_price": 8000}], "tax_rate_ids": []}),
        )
        .await
        .expect(201)
        .body;
    let id = invoice["id"].as_str().unwrap();
    let path = format!("/api/v1/invoices/{id}/payments");
    assert_eq!(
        app.get(&path, &s.owner.token).await.expect(200).body,
        json!([])
    );
    app.post(
        &format!("/api/v1/invoices/{id}/send"),
        &s.owner.token,
        json!({}),
    )
    .await
    .expect(200);
    for amount in [3000, 2000] {
        app.post(
            &path,
            &s.owner.token,
            json!({"method": "cash", "amount": amount}),
        )
        .await
        .expect(201);
    }
    let listed = app.get(&path, &s.owner.token).await.expect(200).body;
    let amounts: Vec<i64> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["amount"].as_i64().unwrap())
        .collect();
    assert_eq!(amounts, vec![3000, 2000]);
    let first = listed[0]["id"].as_str().unwrap();
    app.post(
        &format!("/api/v1/payments/{first}/refund"),
        &s.owner.token,
        json!({"amount": 500}),
    )
    .await
    .expect(200);
    let listed = app.get(&path, &s.owner.token).await.expect(200).body;
    assert_eq!(listed[0]["refunded"], 500);
    let other = uuid::Uuid::now_v7();
    app.get(
        &format!("/api/v1/invoices/{other}/payments"),
        &s.owner.token,
    )
    .await
    .problem(404, "invoice_not_found");
}

/// "Ready to invoice": `GET /jobs?to_invoice=true` lists a job once it has completed
/// work not yet invoiced, and not after it is invoiced.
#[tokio::test]
async fn jobs_ready_to_invoice_are_listed_until_invoiced() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    let job = app
        .post(
            "/api/v1/jobs",
            &s.owner.token,
            json!({"client_id": s.client_id, "title": "Weekly mow", "billing": "per_visit", "lines": [{"name": "Mow", "quantity": 1, "unit_price": 4500}],
                   "schedule": {"start_date": "2026-05-04", "start_time": "09:00", "rrule": "FREQ=WEEKLY;COUNT=2"}}),
        )
        .await
        .expect(201)
        .body;
    let other = app
        .post(
            "/api/v1/jobs",
            &s.owner.token,
            json!({"client_id": s.client_id, "title": "Gutters", "billing": "on_completion", "lines": [{"name": "Gutters", "quantity": 1, "unit_price": 9000}]}),
        )
        .await
        .expect(201)
        .body;
    let ready = |body: &Value| -> Vec<String> {
        body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|j| j["title"].as_str().unwrap().to_string())
            .collect()
    };
    let path = "/api/v1/jobs?to_invoice=true";
    assert!(ready(&app.get(path, &s.owner.token).await.expect(200).body).is_empty());
    let visit = job["visits"][0]["id"].as_str().unwrap();
    app.post(
        &format!("/api/v1/visits/{visit}/complete"),
        &s.owner.token,
        json!({}),
    )
    .await
    .expect(200);
    let other_id = other["id"].as_str().unwrap();
    app.post(
        &format!("/api/v1/jobs/{other_id}/complete"),
        &s.owner.token,
        json!({"version": other["version"], "complete_open_visits": true}),
    )
    .await
    .expect(200);
    assert_eq!(
        ready(&app.get(path, &s.owner.token).await.expect(200).body),
        vec!["Gutters", "Weekly mow"]
    );
    let job_id = job["id"].as_str().unwrap();
    app.post(
        "/api/v1/invoices",
        &s.owner.token,
        json!({"job_id": job_id}),
    )
    .await
    .expect(201);
    assert_eq!(
        ready(&app.get(path, &s.owner.token).await.expect(200).body),
        vec!["Gutters"]
    );
    // Without the filter, every job.
    assert_eq!(
        ready(
            &app.get("/api/v1/jobs", &s.owner.token)
                .await
                .expect(200)
                .body
        )
        .len(),
        2
    );
}
