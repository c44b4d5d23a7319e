//! Health, readiness, OpenAPI, docs, metrics, request ids and the error conventions.

use serde_json::json;

use crate::helpers::{Reply, contract, read_reply, spawn_app};

#[tokio::test]
async fn health_and_readiness() {
    let app = spawn_app().await;
    let health = app.http.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let ready = app.http.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    assert_eq!(
        ready.json::<serde_json::Value>().await.unwrap()["status"],
        "ready"
    );
}

#[tokio::test]
async fn openapi_document_describes_the_api() {
    let app = spawn_app().await;
    let spec: serde_json::Value = app
        .http
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(spec["openapi"].as_str().unwrap().starts_with("3.1"));
    for path in [
        "/api/v1/auth/signup",
        "/api/v1/auth/login",
        "/api/v1/auth/refresh",
        "/api/v1/auth/logout",
        "/api/v1/users",
        "/api/v1/users/{id}",
        "/api/v1/clients",
        "/api/v1/clients/{id}",
        "/api/v1/clients/{id}/activity",
        "/api/v1/clients/{id}/properties",
        "/api/v1/clients/{id}/properties/{property_id}",
    ] {
        assert!(
            spec["paths"][path].is_object(),
            "{path} missing from the OpenAPI document"
        );
    }
    assert!(spec["paths"]["/api/v1/clients/{id}"]["put"].is_object());
    assert!(spec["components"]["schemas"]["Client"].is_object());
    assert!(spec["components"]["securitySchemes"]["bearer"].is_object());

    let docs = app.http.get(app.url("/api/docs")).send().await.unwrap();
    assert_eq!(docs.status(), 200);
    let html = docs.text().await.unwrap();
    assert!(html.contains("/api/v1/openapi.json"));
    assert!(
        !html.contains("https://"),
        "the docs page must work offline (no CDN)"
    );
}

#[tokio::test]
async fn errors_are_problem_json_with_request_ids() {
    let app = spawn_app().await;
    let missing = app
        .request(
            reqwest::Method::GET,
            "/api/v1/nothing-here",
            None,
            None,
            &[],
        )
        .await
        .problem(404, "not_found");
    let request_id = missing.header("x-request-id").unwrap().to_string();
    assert_eq!(missing.body["request_id"], request_id.as_str());
    assert_eq!(missing.body["type"], "urn:jobber:error:not_found");

    // A caller's request id is kept.
    let mine = app
        .request(
            reqwest::Method::GET,
            "/healthz",
            None,
            None,
            &[("x-request-id", "trace-abc-123")],
        )
        .await;
    assert_eq!(mine.header("x-request-id"), Some("trace-abc-123"));

    app.request(
        reqwest::Method::PATCH,
        "/api/v1/auth/login",
        None,
        None,
        &[],
    )
    .await
    .problem(405, "method_not_allowed");
    app.request(reqwest::Method::GET, "/api/v1/clients", None, None, &[])
        .await
        .problem(401, "unauthenticated");
    app.request(
        reqwest::Method::GET,
        "/api/v1/clients",
        Some("not.a.jwt"),
        None,
        &[],
    )
    .await
    .problem(401, "invalid_token");
}

#[tokio::test]
async fn bodies_are_checked_strictly() {
    let app = spawn_app().await;
    let owner = app.signup("Strict Lawns").await;

    // Not JSON at all.
    let response = read_reply(
        app.http
            .post(app.url("/api/v1/clients"))
            .bearer_auth(&owner.token)
            .header("content-type", "application/json")
            .body("{nope"),
    )
    .await;
    assert_eq!(response.status, 400);
    // Wrong media type.
    let response = read_reply(
        app.http
            .post(app.url("/api/v1/clients"))
            .bearer_auth(&owner.token)
            .header("content-type", "text/plain")
            .body("{}"),
    )
    .await;
    assert_eq!(response.status, 415);
    // Too large (the test app allows 64 KiB).
    let big = json!({"first_name": "A", "notes": "x".repeat(70 * 1024)});
    app.post("/api/v1/clients", &owner.token, big)
        .await
        .problem(413, "payload_too_large");
    // Unknown fields are refused, naming the field.
    let reply = app
        .post(
            "/api/v1/clients",
            &owner.token,
            json!({"first_name": "Ann", "frist_name": "typo"}),
        )
        .await
        .problem(422, "validation_failed");
    assert!(
        reply.body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("frist_name"),
        "{}",
        reply.text
    );
    // A wrong type names the nested field.
    let reply = app
        .post(
            "/api/v1/clients",
            &owner.token,
            json!({"first_name": "Ann", "phones": [{"number": 5}]}),
        )
        .await
        .problem(422, "validation_failed");
    assert_eq!(reply.fields(), vec!["phones[0].number"]);
    // A bad path parameter.
    app.get("/api/v1/clients/not-a-uuid", &owner.token)
        .await
        .problem(400, "invalid_parameter");
}

#[tokio::test]
async fn metrics_are_on_the_admin_listener_only() {
    let app = spawn_app().await;
    app.http.get(app.url("/healthz")).send().await.unwrap();
    let owner = app.signup("Metric Maids").await;
    app.get("/api/v1/clients", &owner.token).await.expect(200);

    let metrics = app.metrics().await;
    assert!(
        metrics.contains(
            r#"jobber_http_requests_total{method="GET",route="/api/v1/clients",status="200"} 1"#
        ),
        "{metrics}"
    );
    assert!(metrics.contains("jobber_http_request_duration_seconds_bucket"));
    assert!(metrics.contains("jobber_http_requests_in_flight"));
    assert!(metrics.contains(r#"jobber_db_pool_connections{state="idle"}"#));
    assert!(metrics.contains(r#"jobber_db_pool_connections{state="waiting"}"#));
    assert!(metrics.contains("jobber_build_info{"));

    let public = app.http.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(
        public.status(),
        404,
        "metrics must not be served on the public port"
    );
}

#[tokio::test]
async fn concurrent_migrations_apply_each_migration_once() {
    let url = crate::helpers::empty_database().await;
    let migrate = |url: String| async move {
        let db = jobber::platform::database::Db::connect(&url, 2)
            .await
            .unwrap();
        let result = db.migrate().await;
        db.close().await;
        result
    };
    let (a, b, c) = tokio::join!(
        migrate(url.clone()),
        migrate(url.clone()),
        migrate(url.clone())
    );
    a.unwrap();
    b.unwrap();
    c.unwrap();
    let db = jobber::platform::database::Db::connect(&url, 1)
        .await
        .unwrap();
    let status = db.migration_status().await.unwrap();
    assert!(!status.is_empty());
    assert!(
        status
            .iter()
            .all(|m| m.state == jobber::platform::database::MigrationState::Applied)
    );
    db.ready().await.unwrap();
}

#[tokio::test]
async fn a_database_newer_than_the_binary_is_refused() {
    let url = crate::helpers::fresh_database().await;
    let db = jobber::platform::database::Db::connect(&url, 2)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time)
         VALUES (99991231000000, 'from the future', true, '\\x00', 0)",
    )
    .execute(db.pool())
    .await
    .unwrap();
    let error = format!("{:#}", db.migrate().await.unwrap_err());
    assert!(
        error.contains("99991231000000") && error.contains("newer version"),
        "{error}"
    );
    assert!(db.check_not_newer().await.is_err());
}

#[tokio::test]
async fn readiness_fails_while_migrations_are_pending() {
    let url = crate::helpers::empty_database().await;
    let db = jobber::platform::database::Db::connect(&url, 2)
        .await
        .unwrap();
    let error = format!("{:#}", db.ready().await.unwrap_err());
    assert!(error.contains("pending"), "{error}");
}

#[tokio::test]
async fn roles_split_the_api_from_the_workers() {
    use jobber::config::Role;
    let api = crate::helpers::spawn_app_with(|c| c.role = Role::Api).await;
    let owner = api.signup("Api Pod").await;
    api.get("/api/v1/clients", &owner.token).await.expect(200);

    // A worker pod answers health checks but serves no API.
    let worker = crate::helpers::spawn_app_with(|c| c.role = Role::Worker).await;
    let health = worker
        .http
        .get(worker.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    worker
        .post_anon("/api/v1/auth/signup", json!({}))
        .await
        .problem(404, "not_found");
    assert!(worker.metrics().await.contains("jobber_build_info"));
}

#[tokio::test]
async fn a_worker_pod_keeps_metrics_off_its_public_port() {
    let worker = crate::helpers::spawn_app_with(|c| c.role = jobber::config::Role::Worker).await;
    let public_metrics = worker
        .http
        .get(worker.url("/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(public_metrics.status(), 404);
    let ready = worker.http.get(worker.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
}

/// An external database that goes away (here stopped the hard way, as in a crash or a
/// failover): requests answer `503 database_unavailable` with `Retry-After` within the
/// acquire timeout (never 500, never hanging), `/readyz` fails, and once the database
/// is back the same app (API and workers) serves again without a restart.
#[tokio::test]
async fn a_lost_external_database_is_503_and_the_pool_reconnects() {
    use std::time::{Duration, Instant};

    use jobber::platform::queue::{self, Queue};

    let pg = crate::helpers::OwnPostgres::start().await;
    let app = crate::helpers::spawn_app_on(pg.url(), |c| {
        c.role = jobber::config::Role::All;
        c.jobs.poll = Duration::from_millis(200);
        c.db_acquire_timeout = Duration::from_secs(2);
    })
    .await;
    let owner = app.signup("Outage Co").await;
    app.create_client(&owner, json!({"first_name": "Olga", "last_name": "Outage"}))
        .await;
    app.get("/api/v1/clients", &owner.token).await.expect(200);

    pg.stop_immediate();
    // The pool's connections are dead and new ones are refused: each request fails
    // fast, whether it meets a dead connection or a refused connect.
    for attempt in 0..4 {
        let started = Instant::now();
        let reply = if attempt % 2 == 0 {
            app.get("/api/v1/clients", &owner.token).await
        } else {
            app.post(
                "/api/v1/clients",
                &owner.token,
                json!({"first_name": "Lost", "last_name": "Write"}),
            )
            .await
        };
        let took = started.elapsed();
        let reply = reply.problem(503, "database_unavailable");
        assert_eq!(reply.header("retry-after"), Some("5"), "{}", reply.text);
        assert!(took < Duration::from_secs(5), "took {took:?}");
    }
    let started = Instant::now();
    let ready = app
        .request(reqwest::Method::GET, "/readyz", None, None, &[])
        .await;
    ready.problem(503, "database_unavailable");
    assert!(started.elapsed() < Duration::from_secs(5));

    pg.start_again();
    // No restart of jobber: the very next requests succeed (dead connections were
    // dropped, not handed out again).
    for _ in 0..3 {
        let listed = app.get("/api/v1/clients", &owner.token).await.expect(200);
        assert_eq!(listed.body["items"].as_array().map(Vec::len), Some(1));
    }
    app.create_client(&owner, json!({"first_name": "Back", "last_name": "Again"}))
        .await;
    app.request(reqwest::Method::GET, "/readyz", None, None, &[])
        .await
        .expect(200);
    // The workers kept polling through the outage and run new jobs.
    queue::push_now(
        app.db.pool(),
        Queue::Cleanup,
        json!({"task": "purge_job_outbox"}),
        "after-the-outage",
    )
    .await
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let status: String = sqlx::query_scalar(
            "SELECT status FROM apalis.jobs WHERE idempotency_key = 'after-the-outage'",
        )
        .fetch_one(app.db.pool())
        .await
        .unwrap();
        if status == "Done" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the worker did not run a job after the outage (status {status})"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The response check every helper request goes through refuses what the document
/// does not declare: a status, a content type, a property's type, an unknown property.
#[tokio::test]
async fn responses_are_checked_against_the_openapi_document() {
    let app = spawn_app().await;
    let owner = app.signup("Contract Co").await;
    let client = app
        .create_client(
            &owner,
            json!({"first_name": "Ada", "last_name": "Lovelace"}),
        )
        .await;
    let path = format!("/api/v1/clients/{}", client["id"].as_str().unwrap());
    let good = app.get(&path, &owner.token).await.expect(200);
    let doc: serde_json::Value = app
        .http
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let get = reqwest::Method::GET;
    let check_with = |status: u16, content_type: &str, etag: bool, body: serde_json::Value| {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert("content-type", content_type.parse().unwrap());
        if etag {
            headers.insert("etag", good.headers["etag"].clone());
        }
        let reply = Reply {
            status: reqwest::StatusCode::from_u16(status).unwrap(),
            headers,
            text: body.to_string(),
            body,
        };
        contract(&doc, &get, &path, &reply)
    };
    let check = |status, content_type, body| check_with(status, content_type, true, body);
    assert_eq!(check(200, "application/json", good.body.clone()), Ok(()));

    let no_etag = check_with(200, "application/json", false, good.body.clone()).unwrap_err();
    assert!(
        no_etag.contains("without the declared header ETag"),
        "{no_etag}"
    );

    let undeclared = check(418, "application/json", good.body.clone()).unwrap_err();
    assert!(undeclared.contains("does not declare"), "{undeclared}");

    let problem = json!({"type": "urn:jobber:error:client_not_found", "title": "No such client",
        "status": 404, "detail": "No such client", "code": "client_not_found"});
    assert_eq!(
        check(404, "application/problem+json", problem.clone()),
        Ok(())
    );
    let plain_json = check(404, "application/json", problem).unwrap_err();
    assert!(
        plain_json.contains("application/problem+json"),
        "{plain_json}"
    );

    let mut wrong_type = good.body.clone();
    wrong_type["version"] = json!("one");
    let wrong_type = check(200, "application/json", wrong_type).unwrap_err();
    assert!(
        wrong_type.contains("/version: expected integer"),
        "{wrong_type}"
    );

    let mut unknown = good.body.clone();
    unknown["secret_field"] = json!(1);
    let unknown = check(200, "application/json", unknown).unwrap_err();
    assert!(
        unknown.contains("/secret_field: a property the schema does not declare"),
        "{unknown}"
    );

    let mut missing = good.body.clone();
    missing.as_object_mut().unwrap().remove("id");
    let missing = check(200, "application/json", missing).unwrap_err();
    assert!(missing.contains("/id: required"), "{missing}");
}
