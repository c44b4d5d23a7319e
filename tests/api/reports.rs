//! Reports, with every figure worked out by hand from the data made here. Dates are
//! relative to today (UTC account), so the test holds on any day.

use chrono::{Datelike, Duration, Utc};
use serde_json::{Value, json};

use crate::helpers::{Session, TestApp, spawn_app};

async fn issued_invoice(app: &TestApp, owner: &Session, client: &str, amount: i64) -> String {
    let invoice = app
        .post("/api/v1/invoices", &owner.token, json!({"client_id": client, "title": "Work", "lines": [{"name": "Work", "quantity": 1, "unit_price": amount}], "tax_rate_ids": []}))
        .await
        .expect(201)
        .body;
    let id = invoice["id"].as_str().unwrap().to_string();
    app.post(
        &format!("/api/v1/invoices/{id}/send"),
        &owner.token,
        json!({}),
    )
    .await
    .expect(200);
    id
}

async fn set_due(app: &TestApp, id: &str, days_ago: i64) {
    sqlx::query("UPDATE invoices SET due_date = current_date - $2::int WHERE id = $1::uuid")
        .bind(id)
        .bind(days_ago as i32)
        .execute(app.db.pool())
        .await
        .unwrap();
}

#[tokio::test]
async fn dashboard_aging_revenue_and_jobs_add_up() {
    let app = spawn_app().await;
    let owner = app.signup("Report Co").await;
    let tech = app.add_user(&owner, "technician").await;
    let client = app
        .create_client(
            &owner,
            json!({"first_name": "Rae", "emails": [{"address": "rae@example.com"}]}),
        )
        .await;
    let client = client["id"].as_str().unwrap().to_string();
    let today = Utc::now().date_naive();

    // Receivables: A 100.00 (40.00 paid today, due in 30 days), B 50.00 (45 days late),
    // C 25.00 (100 days late); a draft and a void invoice do not count.
    let a = issued_invoice(&app, &owner, &client, 10000).await;
    app.post(
        &format!("/api/v1/invoices/{a}/payments"),
        &owner.token,
        json!({"method": "cash", "amount": 4000}),
    )
    .await
    .expect(201);
    let b = issued_invoice(&app, &owner, &client, 5000).await;
    set_due(&app, &b, 45).await;
    let c = issued_invoice(&app, &owner, &client, 2500).await;
    set_due(&app, &c, 100).await;
    app.post("/api/v1/invoices", &owner.token, json!({"client_id": client, "title": "Draft", "lines": [{"name": "x", "quantity": 1, "unit_price": 1000}]})).await.expect(201);
    let e = issued_invoice(&app, &owner, &client, 3000).await;
    app.post(
        &format!("/api/v1/invoices/{e}/void"),
        &owner.token,
        json!({}),
    )
    .await
    .expect(200);
    // F: 20.00 paid in full in the middle of last month.
    let f = issued_invoice(&app, &owner, &client, 2000).await;
    let first_of_month = today.with_day(1).unwrap();
    let mid_last_month = (first_of_month - Duration::days(15))
        .and_hms_opt(12, 0, 0)
        .unwrap()
        .and_utc();
    app.post(
        &format!("/api/v1/invoices/{f}/payments"),
        &owner.token,
        json!({"method": "check", "amount": 2000, "paid_at": mid_last_month}),
    )
    .await
    .expect(201);

    // Quotes: one awaiting an answer, one approved.
    for approve in [false, true] {
        let quote = app.post("/api/v1/quotes", &owner.token, json!({"client_id": client, "title": "Q", "lines": [{"name": "x", "quantity": 1, "unit_price": 100}]})).await.expect(201).body;
        let id = quote["id"].as_str().unwrap();
        app.post(
            &format!("/api/v1/quotes/{id}/send"),
            &owner.token,
            json!({}),
        )
        .await
        .expect(200);
        if approve {
            app.post(
                &format!("/api/v1/quotes/{id}/approve"),
                &owner.token,
                json!({"signature_name": "Rae"}),
            )
            .await
            .expect(200);
        }
    }

    // Visits: one today (12:00 UTC), one tomorrow; a per-visit job with one completed visit.
    let at = |day: chrono::NaiveDate, total: i64, billing: &str| {
        json!({"client_id": client, "title": "Job", "billing": billing, "lines": [{"name": "x", "quantity": 1, "unit_price": total}],
               "schedule": {"start_date": day.to_string(), "start_time": "12:00", "assignee_ids": [tech.user_id], "allow_overlap": true}})
    };
    app.post(
        "/api/v1/jobs",
        &owner.token,
        at(today, 4500, "on_completion"),
    )
    .await
    .expect(201);
    let per_visit: Value = app
        .post(
            "/api/v1/jobs",
            &owner.token,
            at(today + Duration::days(1), 3000, "per_visit"),
        )
        .await
        .expect(201)
        .body;
    let visit = per_visit["visits"][0]["id"].as_str().unwrap();
    app.post(
        &format!("/api/v1/visits/{visit}/complete"),
        &tech.token,
        json!({}),
    )
    .await
    .expect(200);

    let dashboard = app
        .get("/api/v1/reports/dashboard", &owner.token)
        .await
        .expect(200)
        .body;
    assert_eq!(dashboard["date"], today.to_string());
    assert_eq!(dashboard["todays_visits"], 1);
    assert_eq!(dashboard["visits_to_invoice"], 1);
    assert_eq!(dashboard["overdue_invoices"], 2);
    assert_eq!(dashboard["overdue_amount"], 7500, "50.00 + 25.00");
    assert_eq!(dashboard["receivables"], 13500, "60.00 + 50.00 + 25.00");
    assert_eq!(dashboard["revenue_this_month"], 4000);
    assert_eq!(dashboard["revenue_last_month"], 2000);
    assert_eq!(dashboard["quotes_awaiting_response"], 1);
    assert_eq!(
        dashboard["quote_conversion_bps"], 5000,
        "1 of 2 sent quotes won"
    );

    // The lists the dashboard's figures link to hold what the figures count.
    let past_due = app
        .get("/api/v1/invoices?past_due=true", &owner.token)
        .await
        .expect(200)
        .body;
    let mut ids: Vec<&str> = past_due["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            assert_eq!(i["past_due"], true);
            i["id"].as_str().unwrap()
        })
        .collect();
    ids.sort_unstable();
    let mut late = vec![b.as_str(), c.as_str()];
    late.sort_unstable();
    assert_eq!(ids, late, "B and C are the overdue invoices");
    let on_time = app
        .get("/api/v1/invoices?past_due=false&status=sent", &owner.token)
        .await
        .expect(200)
        .body;
    assert_eq!(
        on_time["items"].as_array().unwrap().len(),
        0,
        "A is partly paid, B and C late"
    );
    let awaiting = app
        .get("/api/v1/quotes?status=sent,changes_requested", &owner.token)
        .await
        .expect(200)
        .body;
    assert_eq!(awaiting["items"].as_array().unwrap().len(), 1);

    let aging = app
        .get("/api/v1/reports/aging", &owner.token)
        .await
        .expect(200)
        .body;
    assert_eq!(
        (
            aging["current"].as_i64(),
            aging["days_0_30"].as_i64(),
            aging["days_31_60"].as_i64(),
            aging["days_61_90"].as_i64(),
            aging["days_over_90"].as_i64()
        ),
        (Some(6000), Some(0), Some(5000), Some(0), Some(2500))
    );
    assert_eq!(aging["total"], 13500);
    assert_eq!(aging["invoices"], 3);

    // Invoiced by issue date (today: A, B, C, F; E is void) and collected by payment date.
    let last_month = (first_of_month - Duration::days(1)).with_day(1).unwrap();
    let revenue = app
        .get(
            &format!("/api/v1/reports/revenue?from={last_month}&to={today}&group=month"),
            &owner.token,
        )
        .await
        .expect(200)
        .body;
    assert_eq!(
        revenue["periods"],
        json!([
            {"period": last_month.to_string(), "invoiced": 0, "collected": 2000},
            {"period": first_of_month.to_string(), "invoiced": 19500, "collected": 4000}
        ])
    );
    assert_eq!(revenue["total_collected"], 6000);
    let daily = app
        .get(
            &format!("/api/v1/reports/revenue?from={today}&to={today}&group=day"),
            &owner.token,
        )
        .await
        .expect(200)
        .body;
    assert_eq!(
        daily["periods"],
        json!([{"period": today.to_string(), "invoiced": 19500, "collected": 4000}])
    );
    app.get(
        &format!("/api/v1/reports/revenue?from={today}&to={last_month}"),
        &owner.token,
    )
    .await
    .problem(422, "validation_failed");

    let jobs = app
        .get(
            &format!(
                "/api/v1/reports/jobs?from={}&to={}",
                today - Duration::days(1),
                today + Duration::days(1)
            ),
            &owner.token,
        )
        .await
        .expect(200)
        .body;
    assert_eq!(jobs["by_status"], json!([{"status": "active", "count": 2}]));
    assert_eq!(jobs["average_job_value"], 3750, "(45.00 + 30.00) / 2");
    assert_eq!(
        jobs["completed_per_technician"],
        json!([{"user_id": tech.user_id, "name": "A technician", "completed_visits": 1}])
    );

    app.get("/api/v1/reports/dashboard", &tech.token)
        .await
        .problem(403, "forbidden");
}

#[tokio::test]
async fn demo_data_at_scale_one_is_consistent_and_browsable() {
    let app = spawn_app().await;
    let owner = app.signup("Demo Co").await;
    let account: uuid::Uuid = owner.account_id.parse().unwrap();
    let seeded = jobber::modules::demo::seed(&app.db, account, 1)
        .await
        .unwrap();
    assert_eq!(
        (
            seeded.clients,
            seeded.visits,
            seeded.invoices,
            seeded.jobs,
            seeded.quotes
        ),
        (1000, 10_000, 2000, 500, 200)
    );
    assert!(
        jobber::modules::demo::has_clients(&app.db, account)
            .await
            .unwrap()
    );

    let clients = app
        .get("/api/v1/clients?limit=50", &owner.token)
        .await
        .expect(200)
        .body;
    assert_eq!(clients["items"].as_array().unwrap().len(), 50);
    let search = app
        .get("/api/v1/clients?q=garcia", &owner.token)
        .await
        .expect(200)
        .body;
    assert!(!search["items"].as_array().unwrap().is_empty());
    let invoices = app
        .get("/api/v1/invoices?status=paid&limit=10", &owner.token)
        .await
        .expect(200)
        .body;
    assert!(
        invoices["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["balance"] == 0)
    );
    // The aging total equals the open balances; numbers continue after the demo's.
    let aging = app
        .get("/api/v1/reports/aging", &owner.token)
        .await
        .expect(200)
        .body;
    let open: i64 = sqlx::query_scalar("SELECT coalesce(sum(total - amount_paid + amount_refunded), 0)::bigint FROM invoices WHERE status IN ('sent', 'partially_paid')")
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert_eq!(aging["total"], open);
    assert!(open > 0);
    let settings = app
        .get("/api/v1/settings", &owner.token)
        .await
        .expect(200)
        .body;
    assert_eq!(settings["next_invoice_number"], 2001);
    for path in [
        "/api/v1/reports/dashboard",
        "/api/v1/jobs?limit=20",
        "/api/v1/quotes?status=sent",
        "/api/v1/schedule?from=2026-01-01T00:00:00Z&to=2026-02-01T00:00:00Z",
    ] {
        app.get(path, &owner.token).await.expect(200);
    }
    // Technicians can log in with the demo password.
    let tech_email: String =
        sqlx::query_scalar("SELECT email FROM users WHERE role = 'technician' LIMIT 1")
            .fetch_one(app.db.pool())
            .await
            .unwrap();
    app.post_anon(
        "/api/v1/auth/login",
        json!({"email": tech_email, "password": "demo-password"}),
    )
    .await
    .expect(200);
}

/// GET a signed URL (on the configured public address) on this test's server.
async fn download_text(app: &TestApp, url: &Value) -> String {
    let response = app.get_public(url.as_str().unwrap()).await;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.headers()["content-type"], "text/csv");
    response.text().await.unwrap()
}

async fn ready_export(app: &TestApp, owner: &Session, body: Value) -> Value {
    let export = app
        .post("/api/v1/reports/exports", &owner.token, body)
        .await
        .expect(202)
        .body;
    assert_eq!(export["status"], "pending");
    assert_eq!(export["url"], Value::Null);
    let path = format!("/api/v1/reports/exports/{}", export["id"].as_str().unwrap());
    let done = crate::background::wait_until(std::time::Duration::from_secs(30), || async {
        app.get(&path, &owner.token).await.body["status"] != "pending"
    })
    .await;
    assert!(done, "export still pending");
    app.get(&path, &owner.token).await.expect(200).body
}

#[tokio::test]
async fn csv_exports_are_written_in_the_background_and_expire() {
    let app = crate::helpers::spawn_app_with(crate::background::with_worker(
        jobber::config::Role::All,
        None,
    ))
    .await;
    let owner = app.signup("Export Co").await;
    let tech = app.add_user(&owner, "technician").await;
    let other = app.signup("Other Co").await;
    let client = app
        .create_client(
            &owner,
            json!({"first_name": "=HYPERLINK(\"http://evil\")", "last_name": "Smith, Jr.",
                   "emails": [{"address": "work@example.com"}, {"address": "home@example.com", "primary": true}],
                   "billing_address": {"street1": "1 Elm St", "city": "Springfield", "country": "US"}}),
        )
        .await;
    let client = client["id"].as_str().unwrap().to_string();
    let today = Utc::now().date_naive();
    let a = issued_invoice(&app, &owner, &client, 12345).await;
    app.post(
        &format!("/api/v1/invoices/{a}/payments"),
        &owner.token,
        json!({"method": "check", "amount": 2345, "reference": "Check 7"}),
    )
    .await
    .expect(201);
    issued_invoice(&app, &owner, &client, 500).await;
    // A draft has no number and is not exported.
    app.post("/api/v1/invoices", &owner.token, json!({"client_id": client, "title": "Draft", "lines": [{"name": "x", "quantity": 1, "unit_price": 1000}]}))
        .await
        .expect(201);

    // Bad requests name the field; technicians may not export.
    let missing = app
        .post(
            "/api/v1/reports/exports",
            &owner.token,
            json!({"kind": "invoices"}),
        )
        .await
        .expect(422);
    assert_eq!(missing.fields(), vec!["from".to_string(), "to".to_string()]);
    let backwards = app
        .post(
            "/api/v1/reports/exports",
            &owner.token,
            json!({"kind": "payments", "from": today, "to": today - Duration::days(1)}),
        )
        .await
        .expect(422);
    assert_eq!(backwards.fields(), vec!["to".to_string()]);
    app.post(
        "/api/v1/reports/exports",
        &owner.token,
        json!({"kind": "jobs"}),
    )
    .await
    .expect(422);
    app.post(
        "/api/v1/reports/exports",
        &tech.token,
        json!({"kind": "clients"}),
    )
    .await
    .problem(403, "forbidden");

    let range = json!({"from": today - Duration::days(1), "to": today});
    let invoices = ready_export(
        &app,
        &owner,
        json!({"kind": "invoices", "from": range["from"], "to": range["to"]}),
    )
    .await;
    assert_eq!(invoices["status"], "ready", "{invoices}");
    assert_eq!(invoices["rows"], 2);
    let csv = download_text(&app, &invoices["url"]).await;
    let lines: Vec<&str> = csv.split("\r\n").collect();
    assert_eq!(
        lines[0],
        "number,issue_date,due_date,status,client,title,currency,subtotal,discount,tax,total,paid,refunded,balance"
    );
    assert_eq!(
        lines.len(),
        4,
        "header, two invoices, final line end: {csv:?}"
    );
    let name = "\"'=HYPERLINK(\"\"http://evil\"\") Smith, Jr.\"";
    assert!(
        lines[1].contains(&format!(
            ",partially_paid,{name},Work,USD,123.45,0.00,0.00,123.45,23.45,0.00,100.00"
        )),
        "{}",
        lines[1]
    );
    assert!(
        lines[2].contains(&format!(
            ",sent,{name},Work,USD,5.00,0.00,0.00,5.00,0.00,0.00,5.00"
        )),
        "{}",
        lines[2]
    );

    let payments = ready_export(
        &app,
        &owner,
        json!({"kind": "payments", "from": today, "to": today}),
    )
    .await;
    let csv = download_text(&app, &payments["url"]).await;
    let lines: Vec<&str> = csv.split("\r\n").collect();
    assert_eq!(
        lines[0],
        "paid_on,invoice,client,method,status,currency,amount,tip,fee,refunded,reference"
    );
    assert!(lines[1].starts_with(&today.to_string()), "{}", lines[1]);
    assert!(
        lines[1].ends_with(&format!(
            "{name},check,succeeded,USD,23.45,0.00,0.00,0.00,Check 7"
        )),
        "{}",
        lines[1]
    );
    // Nothing was paid last year.
    let last_year = today - Duration::days(400);
    let empty = ready_export(
        &app,
        &owner,
        json!({"kind": "payments", "from": last_year, "to": last_year}),
    )
    .await;
    assert_eq!(empty["rows"], 0);

    let clients = ready_export(&app, &owner, json!({"kind": "clients"})).await;
    let csv = download_text(&app, &clients["url"]).await;
    let lines: Vec<&str> = csv.split("\r\n").collect();
    assert_eq!(
        lines[1],
        format!("{name},,home@example.com,,1 Elm St,Springfield,,,US,active,,{today}")
    );

    // Listed for the account only, and the requester was told.
    let listed = app
        .get("/api/v1/reports/exports", &owner.token)
        .await
        .expect(200)
        .body;
    assert_eq!(listed.as_array().unwrap().len(), 4);
    assert_eq!(
        app.get("/api/v1/reports/exports", &other.token)
            .await
            .expect(200)
            .body,
        json!([])
    );
    app.get(
        &format!(
            "/api/v1/reports/exports/{}",
            clients["id"].as_str().unwrap()
        ),
        &other.token,
    )
    .await
    .problem(404, "export_not_found");
    let notes = app
        .get("/api/v1/notifications", &owner.token)
        .await
        .expect(200)
        .body;
    let ready = notes["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["kind"] == "export_ready")
        .count();
    assert_eq!(ready, 4, "{notes}");

    // Seven days later the cleanup deletes the export and its file.
    sqlx::query(
        "UPDATE report_exports SET expires_at = now() - interval '1 minute' WHERE id = $1::uuid",
    )
    .bind(clients["id"].as_str().unwrap())
    .execute(app.db.pool())
    .await
    .unwrap();
    let storage = jobber::platform::storage::Storage::from_config(
        &crate::helpers::test_config(app.data_dir.clone()),
        b"unused",
    )
    .unwrap();
    let purged = jobber::modules::reports::exports::purge_expired(app.db.pool(), &storage)
        .await
        .unwrap();
    assert_eq!(purged, 1);
    app.get(
        &format!(
            "/api/v1/reports/exports/{}",
            clients["id"].as_str().unwrap()
        ),
        &owner.token,
    )
    .await
    .problem(404, "export_not_found");
    assert_eq!(
        app.get_public(clients["url"].as_str().unwrap())
            .await
            .status()
            .as_u16(),
        404
    );
    assert_eq!(
        app.get("/api/v1/reports/exports", &owner.token)
            .await
            .expect(200)
            .body
            .as_array()
            .unwrap()
            .len(),
        3
    );
}

/// Two invoices of 5·10^18 minor units used to be accepted, and then the dashboard,
/// aging and revenue answered 500 (their sums were cast to `bigint`). Now such an
/// invoice is refused (a document's amounts are at most 10^13), and a sum of
/// larger documents (from before that maximum) is still exact.
#[tokio::test]
async fn huge_documents_are_refused_and_report_sums_never_overflow() {
    let app = spawn_app().await;
    let owner = app.signup("Huge Co").await;
    let client = app
        .create_client(
            &owner,
            json!({"first_name": "Big", "emails": [{"address": "big@example.com"}]}),
        )
        .await;
    let client = client["id"].as_str().unwrap().to_string();

    // 500 lines of 1,000,000 x 100,000,000.00 = 5·10^18: refused, naming the line.
    let tower = json!({"name": "Tower", "quantity": 1_000_000, "unit_price": 10_000_000_000i64});
    let huge = app
        .post(
            "/api/v1/invoices",
            &owner.token,
            json!({"client_id": client, "title": "Huge", "lines": vec![tower.clone(); 500], "tax_rate_ids": []}),
        )
        .await
        .problem(422, "validation_failed");
    assert_eq!(huge.fields(), vec!["lines[0]"], "{}", huge.text);
    // Lines within the maximum whose sum is not: refused, naming the lines.
    let max_line = json!({"name": "Max", "quantity": 1000, "unit_price": 10_000_000_000i64});
    let sum = app
        .post(
            "/api/v1/invoices",
            &owner.token,
            json!({"client_id": client, "title": "Sum", "lines": [max_line.clone(), {"name": "One more", "quantity": 1, "unit_price": 1}], "tax_rate_ids": []}),
        )
        .await
        .problem(422, "validation_failed");
    assert_eq!(sum.fields(), vec!["lines"], "{}", sum.text);
    // The same on a quote.
    let quote = app
        .post(
            "/api/v1/quotes",
            &owner.token,
            json!({"client_id": client, "title": "Huge", "lines": [{"name": "Small", "quantity": 1, "unit_price": 1}, tower], "tax_rate_ids": []}),
        )
        .await
        .problem(422, "validation_failed");
    assert_eq!(quote.fields(), vec!["lines[1]"], "{}", quote.text);

    // Exactly the maximum (10^13 = 100,000,000,000.00) is accepted.
    let mut ids = Vec::new();
    for _ in 0..2 {
        let invoice = app
            .post(
                "/api/v1/invoices",
                &owner.token,
                json!({"client_id": client, "title": "Max", "lines": [max_line.clone()], "tax_rate_ids": []}),
            )
            .await
            .expect(201)
            .body;
        assert_eq!(invoice["total"], 10_000_000_000_000i64);
        let id = invoice["id"].as_str().unwrap().to_string();
        app.post(
            &format!("/api/v1/invoices/{id}/send"),
            &owner.token,
            json!({}),
        )
        .await
        .expect(200);
        ids.push(id);
    }
    let (a, b) = (&ids[0], &ids[1]);
    // Documents from before the maximum may be larger: 5·10^18 each, as the
    // issue's two invoices (raw SQL: the API no longer makes them).
    for id in [a, b] {
        sqlx::query(
            "UPDATE invoices SET subtotal = 5000000000000000000, total = 5000000000000000000 WHERE id = $1::uuid",
        )
        .bind(id)
        .execute(app.db.pool())
        .await
        .unwrap();
    }
    set_due(&app, b, 45).await;
    let ten_e19: u64 = 10_000_000_000_000_000_000;
    let dashboard = app
        .get("/api/v1/reports/dashboard", &owner.token)
        .await
        .expect(200)
        .body;
    assert_eq!(
        dashboard["receivables"].as_u64(),
        Some(ten_e19),
        "{dashboard}"
    );
    assert_eq!(
        dashboard["overdue_amount"].as_u64(),
        Some(5_000_000_000_000_000_000),
        "{dashboard}"
    );
    let aging = app
        .get("/api/v1/reports/aging", &owner.token)
        .await
        .expect(200)
        .body;
    assert_eq!(aging["total"].as_u64(), Some(ten_e19), "{aging}");
    assert_eq!(aging["current"].as_u64(), Some(5_000_000_000_000_000_000));
    assert_eq!(
        aging["days_31_60"].as_u64(),
        Some(5_000_000_000_000_000_000)
    );
    let today = Utc::now().date_naive();
    let revenue = app
        .get(
            &format!("/api/v1/reports/revenue?from={today}&to={today}&group=day"),
            &owner.token,
        )
        .await
        .expect(200)
        .body;
    assert_eq!(
        revenue["total_invoiced"].as_u64(),
        Some(ten_e19),
        "{revenue}"
    );
    assert_eq!(revenue["periods"][0]["invoiced"].as_u64(), Some(ten_e19));
}

/// The OpenAPI document does not promise 64 bits for sums that may exceed them.
#[tokio::test]
async fn report_sums_are_integers_of_any_size_in_openapi() {
    let app = spawn_app().await;
    let spec: Value = app
        .http
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let schemas = &spec["components"]["schemas"];
    for (schema, field) in [
        ("Dashboard", "receivables"),
        ("Dashboard", "overdue_amount"),
        ("Dashboard", "revenue_this_month"),
        ("Aging", "total"),
        ("Revenue", "total_invoiced"),
        ("RevenuePeriod", "collected"),
    ] {
        let property = &schemas[schema]["properties"][field];
        assert_eq!(property["type"], "integer", "{schema}.{field}: {property}");
        assert!(
            property.get("format").is_none(),
            "{schema}.{field}: {property}"
        );
    }
    // A tax rate is a string; its basis points are deprecated.
    let rate = &schemas["TaxRate"]["properties"];
    assert_eq!(rate["rate"]["type"], "string");
    assert_eq!(rate["rate_bps"]["deprecated"], true);
}
