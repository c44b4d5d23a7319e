//! Tenant isolation: another account's records do not exist for you, on any endpoint,
//! and the database itself hides rows outside a tenant transaction.

use reqwest::Method;
use serde_json::json;

use crate::helpers::spawn_app;

#[tokio::test]
async fn another_accounts_client_is_404_everywhere() {
    let app = spawn_app().await;
    let a = app.signup("Tenant A").await;
    let b = app.signup("Tenant B").await;
    let client = app.create_client(&a, json!({"first_name": "Secret", "last_name": "Client", "emails": [{"address": "secret@example.com"}]})).await;
    let id = client["id"].as_str().unwrap();
    let property = app
        .post(
            &format!("/api/v1/clients/{id}/properties"),
            &a.token,
            json!({"address": {"street1": "1 Hidden Way"}}),
        )
        .await
        .expect(201);
    let pid = property.body["id"].as_str().unwrap();

    let put_body = json!({"first_name": "Hijacked", "version": 1});
    let property_body = json!({"address": {"street1": "2 Hijack St"}, "version": 1});
    let cases: Vec<(Method, String, Option<serde_json::Value>, &str)> = vec![
        (
            Method::GET,
            format!("/api/v1/clients/{id}"),
            None,
            "client_not_found",
        ),
        (
            Method::PUT,
            format!("/api/v1/clients/{id}"),
            Some(put_body),
            "client_not_found",
        ),
        (
            Method::DELETE,
            format!("/api/v1/clients/{id}"),
            None,
            "client_not_found",
        ),
        (
            Method::GET,
            format!("/api/v1/clients/{id}/activity"),
            None,
            "client_not_found",
        ),
        (
            Method::GET,
            format!("/api/v1/clients/{id}/properties"),
            None,
            "client_not_found",
        ),
        (
            Method::POST,
            format!("/api/v1/clients/{id}/properties"),
            Some(json!({"address": {"street1": "3 Sneaky Ln"}})),
            "client_not_found",
        ),
        (
            Method::GET,
            format!("/api/v1/clients/{id}/properties/{pid}"),
            None,
            "client_not_found",
        ),
        (
            Method::PUT,
            format!("/api/v1/clients/{id}/properties/{pid}"),
            Some(property_body),
            "client_not_found",
        ),
        (
            Method::DELETE,
            format!("/api/v1/clients/{id}/properties/{pid}"),
            None,
            "client_not_found",
        ),
        (
            Method::GET,
            format!("/api/v1/users/{}", a.user_id),
            None,
            "user_not_found",
        ),
        (
            Method::PATCH,
            format!("/api/v1/users/{}", a.user_id),
            Some(json!({"name": "Hijacked"})),
            "user_not_found",
        ),
    ];
    for (method, path, body, code) in cases {
        let reply = app
            .request(method.clone(), &path, Some(&b.token), body, &[])
            .await;
        assert_eq!(
            reply.status, 404,
            "{method} {path} leaked across tenants: {}",
            reply.text
        );
        assert_eq!(reply.code(), code, "{method} {path}");
    }

    // Lists and search show nothing of A.
    for path in [
        "/api/v1/clients",
        "/api/v1/clients?q=secret",
        "/api/v1/clients?q=hidden",
        "/api/v1/users",
    ] {
        let list = app.get(path, &b.token).await.expect(200);
        let items = list.body["items"].as_array().unwrap();
        assert!(
            items
                .iter()
                .all(|item| item["id"] != id && item["id"] != a.user_id.as_str()),
            "{path}: {}",
            list.text
        );
    }

    // And A's records are untouched.
    let read = app
        .get(&format!("/api/v1/clients/{id}"), &a.token)
        .await
        .expect(200);
    assert_eq!(read.body["first_name"], "Secret");
    assert_eq!(read.body["version"], 1);
    let props = app
        .get(&format!("/api/v1/clients/{id}/properties"), &a.token)
        .await
        .expect(200);
    assert_eq!(props.body["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn row_level_security_hides_rows_without_a_tenant() {
    let app = spawn_app().await;
    let a = app.signup("RLS A").await;
    app.create_client(&a, json!({"company_name": "Visible Only To A"}))
        .await;
    let pool = app.db.pool();

    // As the application role, with no app.account_id set: nothing.
    let mut tx = pool.begin().await.unwrap();
    sqlx::query("SET LOCAL ROLE jobber_app")
        .execute(&mut *tx)
        .await
        .unwrap();
    for table in [
        "clients",
        "properties",
        "users",
        "accounts",
        "refresh_tokens",
        "activity",
        "idempotency_keys",
    ] {
        let count: i64 =
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM {table}")))
                .fetch_one(&mut *tx)
                .await
                .unwrap();
        assert_eq!(count, 0, "{table} visible without a tenant");
    }
    // Another tenant's id: still nothing of A.
    sqlx::query("SELECT set_config('app.account_id', $1, true)")
        .bind(uuid::Uuid::now_v7().to_string())
        .execute(&mut *tx)
        .await
        .unwrap();
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM clients")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(count, 0);
    // Nor can a row be written into another account.
    let insert = sqlx::query(
        "INSERT INTO clients (account_id, id, company_name) VALUES ($1::uuid, $2, 'Injected')",
    )
    .bind(&a.account_id)
    .bind(uuid::Uuid::now_v7())
    .execute(&mut *tx)
    .await;
    assert!(
        insert.is_err(),
        "row-level security must refuse writes for another account"
    );
    tx.rollback().await.unwrap();

    // The owner-level sanity check: the row does exist.
    let total: i64 = sqlx::query_scalar("SELECT count(*) FROM clients")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(total, 1);

    // The application role owns nothing and cannot bypass the policies.
    let (owner_is_app, bypass): (bool, bool) = sqlx::query_as(
        "SELECT bool_or(tableowner = 'jobber_app'), (SELECT rolbypassrls OR rolsuper FROM pg_roles WHERE rolname = 'jobber_app')
         FROM pg_tables WHERE schemaname = 'public'",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    assert!(!owner_is_app && !bypass);
    // Every table with an account_id has forced row-level security.
    let unprotected: Vec<String> = sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = 'public' AND c.relkind = 'r'
           AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname IN ('account_id') AND NOT a.attisdropped)
           AND NOT (c.relrowsecurity AND c.relforcerowsecurity)",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    assert!(
        unprotected.is_empty(),
        "tables without forced RLS: {unprotected:?}"
    );
}

#[tokio::test]
async fn foreign_keys_are_composite_with_account_id() {
    let app = spawn_app().await;
    // Every foreign key between tenant tables includes account_id, so a row can never
    // point at another account's row.
    let single_column: Vec<String> = sqlx::query_scalar(
        "SELECT conname::text FROM pg_constraint c
         WHERE contype = 'f' AND connamespace = 'public'::regnamespace
           AND confrelid <> 'accounts'::regclass
           AND NOT EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey) AND a.attname = 'account_id')",
    )
    .fetch_all(app.db.pool())
    .await
    .unwrap();
    assert!(
        single_column.is_empty(),
        "foreign keys without account_id: {single_column:?}"
    );
}

#[tokio::test]
async fn the_search_function_returns_only_the_callers_clients() {
    let app = spawn_app().await;
    let a = app.signup("Search A").await;
    let b = app.signup("Search B").await;
    let a_client = app
        .create_client(&a, json!({"first_name": "Rosa", "last_name": "Garcia"}))
        .await;
    let a_id = a_client["id"].as_str().unwrap();
    app.post(
        &format!("/api/v1/clients/{a_id}/properties"),
        &a.token,
        json!({"address": {"street1": "9 Quiet Hollow"}}),
    )
    .await
    .expect(201);
    let b_client = app
        .create_client(&b, json!({"first_name": "Luis", "last_name": "Garcia"}))
        .await;
    let b_id = b_client["id"].as_str().unwrap();

    // Through the API: each account finds its own, by name, typo and address.
    for (session, q, want) in [
        (&a, "garcia", vec![a_id]),
        (&b, "garcia", vec![b_id]),
        (&a, "garcias", vec![a_id]),
        (&a, "quiet hollow", vec![a_id]),
        (&b, "quiet hollow", vec![]),
    ] {
        let list = app
            .get(
                &format!("/api/v1/clients?q={}", q.replace(' ', "%20")),
                &session.token,
            )
            .await
            .expect(200);
        let ids: Vec<&str> = list.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, want, "{q}");
    }

    // In the database: the function sees the caller's tenant only, and nothing
    // without one; jobber_app does not hold the search role itself.
    let call =
        "SELECT id::text FROM search_client_ids('%garcia%', 'garcia', NULL, NULL, NULL, NULL, 50)";
    let mut tx = app.db.pool().begin().await.unwrap();
    sqlx::query("SET LOCAL ROLE jobber_app")
        .execute(&mut *tx)
        .await
        .unwrap();
    let none: Vec<String> = sqlx::query_scalar(call).fetch_all(&mut *tx).await.unwrap();
    assert!(none.is_empty(), "no tenant, no rows: {none:?}");
    sqlx::query("SELECT set_config('app.account_id', $1, true)")
        .bind(&b.account_id)
        .execute(&mut *tx)
        .await
        .unwrap();
    let found: Vec<String> = sqlx::query_scalar(call).fetch_all(&mut *tx).await.unwrap();
    assert_eq!(found, vec![b_id.to_string()]);
    let member: bool =
        sqlx::query_scalar("SELECT pg_has_role('jobber_app', 'jobber_search', 'MEMBER')")
            .fetch_one(&mut *tx)
            .await
            .unwrap();
    assert!(!member, "jobber_app must not hold the search role");
    tx.rollback().await.unwrap();
}

/// A managed PostgreSQL (RDS) gives jobber an owner that is no superuser, so
/// row-level security applies to it: the migrations must work as that owner, and the
/// cleanup tasks (run on its connection) must still delete across accounts.
#[tokio::test]
async fn a_non_superuser_owner_migrates_and_cleans_up_across_accounts() {
    let superuser_url = crate::helpers::empty_database().await;
    let superuser = sqlx::PgPool::connect(&superuser_url).await.unwrap();
    let owner = format!("owner_{}", uuid::Uuid::now_v7().simple());
    let database = format!("rds_{}", uuid::Uuid::now_v7().simple());
    for sql in [
        format!("CREATE ROLE {owner} LOGIN CREATEROLE NOSUPERUSER NOBYPASSRLS"),
        format!("CREATE DATABASE {database} OWNER {owner}"),
    ] {
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(&superuser)
            .await
            .unwrap();
    }
    let (_, rest) = superuser_url.split_once("@").unwrap();
    let (_, query) = rest.split_once("?").unwrap();
    let owner_url = format!("postgres://{owner}@localhost/{database}?{query}");
    let db = jobber::platform::database::Db::connect(&owner_url, 2)
        .await
        .unwrap();
    db.migrate().await.unwrap();

    let app = crate::helpers::spawn_app_on(owner_url.clone(), |_| {}).await;
    for business in ["Cloud A", "Cloud B"] {
        let session = app.signup(business).await;
        app.request(
            Method::POST,
            "/api/v1/clients",
            Some(&session.token),
            Some(json!({"first_name": "Key", "last_name": business})),
            &[("Idempotency-Key", "create-client-1")],
        )
        .await
        .expect(201);
        app.post_anon(
            "/api/v1/auth/password-reset",
            json!({"email": session.email}),
        )
        .await
        .expect(202);
    }
    // Everything expired a long time ago (the superuser bypasses row-level security).
    let admin_url = superuser_url.replace(
        &superuser_url[superuser_url.rfind('/').unwrap() + 1..superuser_url.find('?').unwrap()],
        &database,
    );
    let admin = sqlx::PgPool::connect(&admin_url).await.unwrap();
    for sql in [
        "UPDATE idempotency_keys SET created_at = now() - interval '3 days'",
        "UPDATE refresh_tokens SET expires_at = now() - interval '1 day'",
        "UPDATE user_tokens SET expires_at = now() - interval '30 days'",
    ] {
        sqlx::query(sql).execute(&admin).await.unwrap();
    }
    let count = |table: &'static str| {
        let admin = admin.clone();
        async move {
            sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(format!(
                "SELECT count(*) FROM {table}"
            )))
            .fetch_one(&admin)
            .await
            .unwrap()
        }
    };
    for table in ["idempotency_keys", "refresh_tokens", "user_tokens"] {
        assert!(count(table).await >= 2, "{table} has rows of both accounts");
    }

    let pool = db.pool();
    assert!(
        !role_is_superuser(pool).await,
        "the test needs a non-superuser owner"
    );
    assert!(
        jobber::platform::idempotency::purge_expired(pool)
            .await
            .unwrap()
            >= 2
    );
    assert!(
        jobber::modules::auth::repo::purge_refresh_tokens(pool)
            .await
            .unwrap()
            >= 2
    );
    assert!(
        jobber::modules::auth::repo::purge_user_tokens(pool)
            .await
            .unwrap()
            >= 2
    );
    for table in ["idempotency_keys", "refresh_tokens", "user_tokens"] {
        assert_eq!(count(table).await, 0, "{table} purged across accounts");
    }
    // And tenant transactions still see only their own account.
    let mut tx = app.db.tenant(uuid::Uuid::now_v7()).await.unwrap();
    let visible: i64 = sqlx::query_scalar("SELECT count(*) FROM clients")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(visible, 0);
}

async fn role_is_superuser(pool: &sqlx::PgPool) -> bool {
    sqlx::query_scalar("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        .fetch_one(pool)
        .await
        .unwrap()
}
