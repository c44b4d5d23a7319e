//! Upgrades: a database of the previous release, with a small business in it, is
//! migrated by this binary and served as before, and new work goes on from there.

use serde_json::json;
use uuid::Uuid;

use crate::helpers::{PASSWORD, empty_database, spawn_app_on};
use jobber::platform::database::MIGRATOR;

/// The newest migration of the previous release (before December's: exact tax rates,
/// domain events, browser sessions).
const PREVIOUS_RELEASE: i64 = 20261202000000;

#[tokio::test]
async fn a_database_of_the_previous_release_upgrades_with_its_data() {
    let url = empty_database().await;
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    MIGRATOR.run_to(PREVIOUS_RELEASE, &pool).await.unwrap();
    let applied: i64 = sqlx::query_scalar("SELECT max(version) FROM _sqlx_migrations")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(applied <= PREVIOUS_RELEASE);

    // The business as the previous release wrote it: an owner, a client and their
    // property, a completed job with a line and a visit, its paid invoice.
    let (account, owner, client, property, job, visit, invoice, payment) = (
        Uuid::now_v7(),
        Uuid::now_v7(),
        Uuid::now_v7(),
        Uuid::now_v7(),
        Uuid::now_v7(),
        Uuid::now_v7(),
        Uuid::now_v7(),
        Uuid::now_v7(),
    );
    let email = format!("owner-{}@oldlawn.example", account.simple());
    let hash = jobber::modules::auth::password::hash(PASSWORD.to_string())
        .await
        .unwrap();
    let statements: Vec<(&str, Vec<String>)> = vec![
        (
            "INSERT INTO accounts (id, name, time_zone, currency, next_job_number, next_invoice_number) VALUES ($1::uuid, 'Old Lawn', 'America/Chicago', 'USD', 2, 2)",
            vec![account.to_string()],
        ),
        (
            "INSERT INTO users (account_id, id, email, name, role, password_hash) VALUES ($1::uuid, $2::uuid, $3, 'Olive Old', 'owner', $4)",
            vec![account.to_string(), owner.to_string(), email.clone(), hash],
        ),
        (
            "INSERT INTO user_logins (email, account_id, user_id) VALUES ($1, $2::uuid, $3::uuid)",
            vec![email.clone(), account.to_string(), owner.to_string()],
        ),
        (
            "INSERT INTO clients (account_id, id, first_name, last_name, company_name) VALUES ($1::uuid, $2::uuid, 'Ada', 'Elder', 'Elder Estates')",
            vec![account.to_string(), client.to_string()],
        ),
        (
            r#"INSERT INTO properties (account_id, id, client_id, address) VALUES ($1::uuid, $2::uuid, $3::uuid, '{"street1": "1 Old Mill Rd", "city": "Austin", "region": "TX", "postal_code": "78701", "country": "US"}')"#,
            vec![
                account.to_string(),
                property.to_string(),
                client.to_string(),
            ],
        ),
        (
            "INSERT INTO jobs (account_id, id, number, client_id, property_id, title, status, total, completed_at) VALUES ($1::uuid, $2::uuid, 'J-1', $3::uuid, $4::uuid, 'Spring cleanup', 'completed', 15000, '2026-11-20T18:00:00Z')",
            vec![
                account.to_string(),
                job.to_string(),
                client.to_string(),
                property.to_string(),
            ],
        ),
        (
            "INSERT INTO job_lines (account_id, id, job_id, position, name, quantity_hundredths, unit_price, line_total) VALUES ($1::uuid, gen_random_uuid(), $2::uuid, 0, 'Cleanup', 100, 15000, 15000)",
            vec![account.to_string(), job.to_string()],
        ),
        (
            "INSERT INTO visits (account_id, id, job_id, occurrence_index, starts_at, ends_at, status, completed_at, completed_by) VALUES ($1::uuid, $2::uuid, $3::uuid, 0, '2026-11-20T15:00:00Z', '2026-11-20T18:00:00Z', 'completed', '2026-11-20T18:00:00Z', $4::uuid)",
            vec![
                account.to_string(),
                visit.to_string(),
                job.to_string(),
                owner.to_string(),
            ],
        ),
        (
            "INSERT INTO visit_assignees (account_id, visit_id, user_id) VALUES ($1::uuid, $2::uuid, $3::uuid)",
            vec![account.to_string(), visit.to_string(), owner.to_string()],
        ),
        (
            "INSERT INTO invoices (account_id, id, number, client_id, property_id, job_id, title, status, payment_terms, issue_date, due_date, subtotal, total, amount_paid, sent_at, paid_at) VALUES ($1::uuid, $2::uuid, 'INV-1', $3::uuid, $4::uuid, $5::uuid, 'Spring cleanup', 'paid', 'due_on_receipt', '2026-11-20', '2026-11-20', 15000, 15000, 15000, '2026-11-20T19:00:00Z', '2026-11-21T10:00:00Z')",
            vec![
                account.to_string(),
                invoice.to_string(),
                client.to_string(),
                property.to_string(),
                job.to_string(),
            ],
        ),
        (
            "INSERT INTO invoice_lines (account_id, id, invoice_id, position, name, quantity_hundredths, unit_price, line_total) VALUES ($1::uuid, gen_random_uuid(), $2::uuid, 0, 'Cleanup', 100, 15000, 15000)",
            vec![account.to_string(), invoice.to_string()],
        ),
        (
            "INSERT INTO payments (account_id, id, invoice_id, client_id, method, amount, paid_at) VALUES ($1::uuid, $2::uuid, $3::uuid, $4::uuid, 'check', 15000, '2026-11-21T10:00:00Z')",
            vec![
                account.to_string(),
                payment.to_string(),
                invoice.to_string(),
                client.to_string(),
            ],
        ),
        (
            "UPDATE jobs SET invoice_id = $2::uuid WHERE id = $1::uuid",
            vec![job.to_string(), invoice.to_string()],
        ),
        (
            "UPDATE visits SET invoice_id = $2::uuid WHERE id = $1::uuid",
            vec![visit.to_string(), invoice.to_string()],
        ),
    ];
    for (sql, binds) in statements {
        let mut query = sqlx::query(sql);
        for bind in binds {
            query = query.bind(bind);
        }
        query
            .execute(&pool)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    // This binary migrates it (as `jobber migrate` does)…
    pool.close().await;
    let db = jobber::platform::database::Db::connect(&url, 2)
        .await
        .unwrap();
    db.migrate().await.unwrap();
    db.close().await;
    let app = spawn_app_on(url, |_| {}).await;
    app.db.check_not_newer().await.unwrap();

    // …and serves it as it was.
    let login = app
        .post_anon(
            "/api/v1/auth/login",
            json!({"email": email, "password": PASSWORD}),
        )
        .await
        .expect(200);
    let token = login.body["access_token"].as_str().unwrap().to_string();
    let found = app
        .get(&format!("/api/v1/clients/{client}"), &token)
        .await
        .expect(200)
        .body;
    assert_eq!(found["company_name"], "Elder Estates");
    let found = app
        .get(&format!("/api/v1/jobs/{job}"), &token)
        .await
        .expect(200)
        .body;
    assert_eq!(found["status"], "completed");
    assert_eq!(found["visits"][0]["status"], "completed");
    let found = app
        .get(&format!("/api/v1/invoices/{invoice}"), &token)
        .await
        .expect(200)
        .body;
    assert_eq!(found["status"], "paid");
    assert_eq!(found["total"], 15000);
    assert_eq!(found["balance"], 0);
    app.get("/api/v1/reports/dashboard", &token)
        .await
        .expect(200);

    // New work goes on: numbers continue, events flow.
    let next = app
        .post(
            "/api/v1/jobs",
            &token,
            json!({"client_id": client, "title": "Fall cleanup", "schedule": {"start_date": "2026-12-10", "start_time": "09:00"}}),
        )
        .await
        .expect(201)
        .body;
    assert_ne!(next["number"], "J-1");
    let events: i64 = sqlx::query_scalar("SELECT count(*) FROM events WHERE account_id = $1")
        .bind(account)
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert!(events >= 1);
}
