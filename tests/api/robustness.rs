//! Bad input is a 4xx naming the field, never a panic: a panic used to drop the
//! connection, leave the in-flight gauge up and an `Idempotency-Key` claimed for five
//! minutes. Truncated and oversized pictures and picture/HTML polyglots on every
//! upload endpoint, dates past chrono's arithmetic, NUL in any string; and a panic
//! that still happens is a problem+json 500 that releases its key.

use axum::Router;
use axum::routing::post;
use jobber::app::{App, Listeners, layered};
use jobber::platform::database::Db;
use reqwest::Method;
use serde_json::json;

use crate::attachments::job_for;
use crate::helpers::{Reply, Session, TestApp, read_reply, spawn_app, test_config};

/// A JPEG cut off inside its first segment (an APP1 that claims 0 bytes).
const TRUNCATED_JPEG: &[u8] = &[0xFF, 0xD8, 0xFF, 0xE1, 0x00, 0x00];

/// `bytes` as the `file` part on each of the four endpoints that take pictures.
async fn upload_everywhere(app: &TestApp, owner: &Session, bytes: &[u8]) -> Vec<(String, Reply)> {
    let tech = app.add_user(owner, "technician").await;
    let (job, _) = job_for(app, owner, &tech).await;
    let client = app
        .create_client(owner, json!({"company_name": "Oak & Elm"}))
        .await;
    let client = client["id"].as_str().unwrap();
    let endpoints = [
        (Method::POST, "/api/v1/uploads".to_string()),
        (Method::POST, format!("/api/v1/jobs/{job}/attachments")),
        (Method::PUT, format!("/api/v1/clients/{client}/avatar")),
        (Method::PUT, "/api/v1/settings/logo".to_string()),
    ];
    let mut replies = Vec::new();
    for (method, path) in endpoints {
        let reply = app
            .multipart(
                method,
                &path,
                &owner.token,
                &[("file", Some("x.jpg"), bytes)],
            )
            .await;
        replies.push((path, reply));
    }
    replies
}

#[tokio::test]
async fn a_truncated_jpeg_is_a_422_on_every_upload_endpoint() {
    let app = spawn_app().await;
    let owner = app.signup("Truncated Co").await;
    for (path, reply) in upload_everywhere(&app, &owner, TRUNCATED_JPEG).await {
        let reply = reply.problem(422, "validation_failed");
        assert_eq!(reply.fields(), ["file"], "{path}: {}", reply.text);
    }
    // The server is still answering on the same client.
    app.get("/api/v1/clients", &owner.token).await.expect(200);
}

/// A 1 x 1 PNG whose header (checksum fixed) declares `width` x `height`.
fn declared_png(width: u32, height: u32) -> Vec<u8> {
    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = flate2::Crc::new();
        crc.update(bytes);
        crc.sum()
    }
    let mut png = Vec::new();
    image::RgbaImage::from_pixel(1, 1, image::Rgba([0, 0, 0, 255]))
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    png[16..20].copy_from_slice(&width.to_be_bytes());
    png[20..24].copy_from_slice(&height.to_be_bytes());
    let crc = crc32(&png[12..29]).to_be_bytes();
    png[29..33].copy_from_slice(&crc);
    png
}

#[tokio::test]
async fn pictures_declaring_a_huge_canvas_are_refused_from_their_header() {
    let app = spawn_app().await;
    let owner = app.signup("Huge Co").await;
    // Over the side limit, and within it but over the pixel count.
    for (width, height) in [(20_000, 20_000), (9_000, 9_000)] {
        for (path, reply) in upload_everywhere(&app, &owner, &declared_png(width, height)).await {
            let reply = reply.problem(422, "validation_failed");
            assert_eq!(reply.fields(), ["file"], "{path}: {}", reply.text);
            assert!(
                reply.body["detail"].as_str().unwrap().contains("too large"),
                "{path}: {}",
                reply.text
            );
        }
    }
}

#[tokio::test]
async fn a_gif_that_is_also_html_is_refused_and_files_are_served_without_sniffing() {
    let app = spawn_app().await;
    let owner = app.signup("Polyglot Co").await;
    let mut polyglot = b"GIF89a\x01\x00\x01\x00\x80\x00\x00".to_vec();
    polyglot.extend_from_slice(b"<html><script>fetch('/api/v1/users')</script>");
    let replies = upload_everywhere(&app, &owner, &polyglot).await;
    for (path, reply) in replies {
        // The logo takes JPEG and PNG only: a GIF is refused there by its type.
        if path.ends_with("/logo") {
            reply.problem(415, "unsupported_media_type");
            continue;
        }
        let reply = reply.problem(422, "validation_failed");
        assert_eq!(reply.fields(), ["file"], "{path}: {}", reply.text);
    }

    // What a browser gets for a stored picture: its type, final, and no script.
    let tech = app.add_user(&owner, "technician").await;
    let (job, _) = job_for(&app, &owner, &tech).await;
    let attached = app
        .multipart(
            Method::POST,
            &format!("/api/v1/jobs/{job}/attachments"),
            &owner.token,
            &[(
                "file",
                Some("fence.jpg"),
                &crate::attachments::jpeg_with_gps(),
            )],
        )
        .await
        .expect(201)
        .body;
    let url = attached["url"].as_str().unwrap();
    let response = app.get_public(url).await;
    assert_eq!(response.status(), 200);
    let headers = response.headers();
    assert_eq!(headers["content-type"], "image/jpeg");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(
        headers["content-security-policy"],
        "default-src 'none'; sandbox"
    );
}

#[tokio::test]
async fn dates_beyond_year_2200_are_a_422_on_the_job_endpoints() {
    let app = spawn_app().await;
    let owner = app.signup("Far Future Co").await;
    let tech = app.add_user(&owner, "technician").await;
    let (job, visit) = job_for(&app, &owner, &tech).await;
    let client = app
        .create_client(&owner, json!({"first_name": "Ann", "last_name": "Far"}))
        .await;
    for far in ["+262142-12-31", "2201-01-01", "1899-12-31"] {
        let reply = app
            .post(
                "/api/v1/jobs",
                &owner.token,
                json!({"client_id": client["id"], "title": "Fence", "schedule": {"start_date": far, "rrule": "FREQ=DAILY"}}),
            )
            .await
            .problem(422, "validation_failed");
        assert_eq!(
            reply.fields(),
            ["schedule.start_date"],
            "{far}: {}",
            reply.text
        );

        let reply = app
            .post(
                "/api/v1/schedule/jobs",
                &owner.token,
                json!({"job_id": job, "start_date": far, "start_time": "09:00"}),
            )
            .await
            .problem(422, "validation_failed");
        assert_eq!(reply.fields(), ["start_date"], "{far}: {}", reply.text);

        let reply = app
            .put(
                &format!("/api/v1/schedule/jobs/{visit}"),
                &owner.token,
                json!({"start_date": far, "start_time": "09:00"}),
            )
            .await
            .problem(422, "validation_failed");
        assert_eq!(reply.fields(), ["start_date"], "{far}: {}", reply.text);
    }
    // The edges of the range are fine.
    app.put(
        &format!("/api/v1/schedule/jobs/{visit}"),
        &owner.token,
        json!({"start_date": "2200-12-31", "start_time": "09:00"}),
    )
    .await
    .expect(200);
}

#[tokio::test]
async fn nul_in_an_email_or_a_search_is_a_422_naming_the_field() {
    let app = spawn_app().await;
    let owner = app.signup("Nul Co").await;
    let email = "ann\u{0}@example.com";
    for (path, body) in [
        (
            "/api/v1/auth/login",
            json!({"email": email, "password": "correct horse battery"}),
        ),
        (
            "/api/v1/auth/signup",
            json!({"business_name": "Nul", "name": "Ann", "email": email, "password": "correct horse battery"}),
        ),
        ("/api/v1/auth/password-reset", json!({"email": email})),
    ] {
        let reply = app
            .post_anon(path, body)
            .await
            .problem(422, "validation_failed");
        assert_eq!(reply.fields(), ["email"], "{path}: {}", reply.text);
    }
    // Deeper in a body, the path names it.
    let reply = app
        .post(
            "/api/v1/clients",
            &owner.token,
            json!({"first_name": "Ann", "emails": [{"address": "ann@example.com"}, {"address": email}]}),
        )
        .await
        .problem(422, "validation_failed");
    assert_eq!(reply.fields(), ["emails[1].address"], "{}", reply.text);

    for path in ["/api/v1/clients?q=oak%00", "/api/v1/catalog?q=%00"] {
        let reply = app
            .get(path, &owner.token)
            .await
            .problem(422, "validation_failed");
        assert_eq!(reply.fields(), ["q"], "{path}: {}", reply.text);
    }
    app.get("/api/v1/clients?q=oak", &owner.token)
        .await
        .expect(200);
    // A path parameter that reaches SQL as text: the public calendar feed's token.
    let reply = read_reply(
        app.http
            .get(app.url(&format!("/calendar/{}/abc%00def.ics", owner.account_id))),
    )
    .await
    .problem(400, "invalid_parameter");
    assert!(reply.text.contains("NUL"), "{}", reply.text);
}

/// Always panics: the test route below, never part of the app.
async fn boom() -> &'static str {
    panic!("a bug in a handler")
}

#[tokio::test]
async fn a_panic_is_a_problem_500_that_releases_its_idempotency_key() {
    let app = spawn_app().await;
    let owner = app.signup("Panic Co").await;
    // The app's own middleware stack, on this test's database and data directory
    // (so the same token signing key), around a route that panics.
    let config = test_config(app.data_dir.clone());
    let db = Db::connect(&app.database_url, 2).await.unwrap();
    let listeners = Listeners::bind(&config).unwrap();
    let built = App::build(config, db, listeners).unwrap();
    let state = built.state().clone();
    let router = layered(
        // Outside /api/v1: the contract check knows only the document's operations.
        Router::new().route("/boom", post(boom)),
        state.clone(),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });

    let send = || {
        read_reply(
            app.http
                .post(format!("http://{addr}/boom"))
                .bearer_auth(&owner.token)
                .header("idempotency-key", "panic-once")
                .header("x-request-id", "req-panic-1")
                .json(&json!({"n": 1})),
        )
    };
    let reply = send().await.problem(500, "internal");
    assert_eq!(reply.body["request_id"], "req-panic-1");
    assert_eq!(reply.header("x-request-id"), Some("req-panic-1"));
    assert_eq!(state.metrics.http_in_flight.get(), 0);
    let keys: i64 =
        sqlx::query_scalar("SELECT count(*) FROM idempotency_keys WHERE key = 'panic-once'")
            .fetch_one(app.db.pool())
            .await
            .unwrap();
    assert_eq!(keys, 0, "the key was released");
    // So a retry runs again (a 500 again here), rather than 409 "in progress".
    send().await.problem(500, "internal");
}

/// A request dropped while its tenant transaction's BEGIN is on the wire (a browser
/// that navigated away) hands no connection back to the pool inside that transaction:
/// every pooled connection is afterwards outside any transaction, as the owner role.
#[tokio::test]
async fn a_transaction_dropped_while_beginning_leaves_no_connection_inside_it() {
    use jobber::platform::database::{Db, DbSettings};
    let url = crate::helpers::fresh_database().await;
    let db = Db::connect_with(&url, &DbSettings::new(2)).await.unwrap();
    let owner: String = sqlx::query_scalar("SELECT current_user::text")
        .fetch_one(db.pool())
        .await
        .unwrap();
    for round in 0..400u64 {
        // From "before the BEGIN is sent" to "after it answered".
        let patience = std::time::Duration::from_micros((round % 40) * 25);
        let _ = tokio::time::timeout(patience, db.tenant(uuid::Uuid::now_v7())).await;
    }
    // Hold both connections at once: from each, the other is seen idle, not idle
    // inside a transaction.
    // (A transaction sqlx knows of is rolled back with the connection's next
    // statement: the `SELECT 1`. The defect was one it did not know of.)
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let mut first = db.pool().acquire().await.unwrap();
    let mut second = db.pool().acquire().await.unwrap();
    for conn in [&mut first, &mut second] {
        sqlx::query("SELECT 1").execute(&mut **conn).await.unwrap();
    }
    for conn in [&mut first, &mut second] {
        let (user, stuck): (String, i64) = sqlx::query_as(
            "SELECT current_user::text, (SELECT count(*) FROM pg_stat_activity \
              WHERE datname = current_database() AND pid <> pg_backend_pid() \
                AND state LIKE 'idle in transaction%')",
        )
        .fetch_one(&mut **conn)
        .await
        .unwrap();
        assert_eq!(user, owner, "a connection was left as jobber_app");
        assert_eq!(stuck, 0, "a connection was left inside a transaction");
    }
}
