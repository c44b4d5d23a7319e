//! What a hostile or unlucky client must not be able to do: exhaust the server's
//! memory or connections without logging in, guess passwords faster than the throttle
//! allows, learn which addresses or payment intents exist, or get a change made twice
//! by retrying after a crash.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use jobber::config::HttpConfig;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use uuid::Uuid;

use crate::e2e::{Server, start_with};
use crate::helpers::{PASSWORD, fresh_database, spawn_app, spawn_app_with};

/// `jobber serve --role api` as a real process on a test database.
async fn start_api(database_url: &str, data_dir: &Path, env: &[(&str, &str)]) -> Server {
    let mut env = env.to_vec();
    env.extend([
        ("JOBBER_DATABASE_URL", database_url),
        ("JOBBER_ROLE", "api"),
    ]);
    start_with(data_dir, &env).await
}

/// Kibibytes of resident memory of `server`'s process: now, and at the peak.
fn memory_kib(server: &Server) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{}/status", server.child.id())).unwrap();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
            .unwrap_or_else(|| panic!("no {name} in {status}"))
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn temp_dir(what: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("jobber-{what}-{}", Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn signup(http: &reqwest::Client, base: &str, email: &str) -> String {
    let reply: Value = http
        .post(format!("{base}/api/v1/auth/signup"))
        .json(&json!({"business_name": "Hard Co", "name": "Hana", "email": email, "password": PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    reply["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("{reply}"))
        .to_owned()
}

#[tokio::test]
async fn a_retry_after_a_crash_between_commit_and_answer_replays_the_answer() {
    jobber::cli::install_crypto_provider();
    let database_url = fresh_database().await;
    let root = temp_dir("idem-crash");
    let data_dir = root.join("data");
    let http = reqwest::Client::new();
    let mut first = start_api(
        &database_url,
        &data_dir,
        &[("JOBBER_FAILPOINTS", "idempotency-after-commit")],
    )
    .await;
    let token = signup(&http, &first.base, "crash@hard.example").await;
    let body = json!({"first_name": "Ada", "last_name": "Crash"});
    let create = |base: &str| {
        http.post(format!("{base}/api/v1/clients"))
            .bearer_auth(&token)
            .header("Idempotency-Key", "crash-once")
            .json(&body)
            .send()
    };
    // The process dies after the client and its stored answer committed, before
    // the answer left: the caller sees the connection drop.
    assert!(create(&first.base).await.is_err(), "no answer expected");
    let status = first.child.wait().unwrap();
    assert!(!status.success(), "the failpoint aborts the process");

    let second = start_api(&database_url, &data_dir, &[]).await;
    let retry = create(&second.base).await.unwrap();
    assert_eq!(retry.status(), 201);
    assert_eq!(
        retry
            .headers()
            .get("idempotent-replayed")
            .and_then(|v| v.to_str().ok()),
        Some("true"),
        "see {}",
        second.log.display()
    );
    let replayed: Value = retry.json().await.unwrap();
    assert_eq!(replayed["first_name"], "Ada");
    let pool = sqlx::PgPool::connect(&database_url).await.unwrap();
    let clients: i64 = sqlx::query_scalar("SELECT count(*) FROM clients")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(clients, 1, "the retry made no second client");
    let id: Uuid = sqlx::query_scalar("SELECT id FROM clients")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(replayed["id"], id.to_string());
    pool.close().await;
    drop(second);
    let _ = std::fs::remove_dir_all(&root);
}

#[tokio::test]
async fn an_idempotent_write_and_its_stored_answer_commit_together() {
    let app = spawn_app().await;
    let owner = app.signup("Together Co").await;
    let request = || {
        app.http
            .post(app.url("/api/v1/clients"))
            .bearer_auth(&owner.token)
            .header("Idempotency-Key", "together")
            .json(&json!({"first_name": "Tom", "last_name": "Together"}))
    };
    let first = crate::helpers::read_reply(request()).await.expect(201);
    // The stored answer is the one the caller got, committed with the client.
    let (status, stored): (i16, Vec<u8>) = sqlx::query_as(
        "SELECT response_status, response_body FROM idempotency_keys WHERE key = 'together'",
    )
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    assert_eq!(status, 201);
    assert_eq!(
        serde_json::from_slice::<Value>(&stored).unwrap(),
        first.body
    );
    let again = crate::helpers::read_reply(request()).await.expect(201);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.body, first.body);
}

#[tokio::test]
async fn concurrent_guesses_reach_the_password_hash_at_most_the_limit() {
    let app = spawn_app().await;
    let owner = app.signup("Guess Co").await;
    let guesses: Vec<_> = (0..50)
        .map(|i| {
            let request = app
                .http
                .post(app.url("/api/v1/auth/login"))
                .json(&json!({"email": owner.email, "password": format!("wrong guess {i}")}));
            tokio::spawn(crate::helpers::read_reply(request))
        })
        .collect();
    let mut statuses = Vec::new();
    for guess in guesses {
        statuses.push(guess.await.unwrap().status.as_u16());
    }
    let checked = statuses.iter().filter(|s| **s == 401).count();
    let refused = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!(
        (checked, refused),
        (
            jobber::modules::auth::throttle::MAX_FAILURES_PER_EMAIL,
            50 - jobber::modules::auth::throttle::MAX_FAILURES_PER_EMAIL
        ),
        "{statuses:?}"
    );
}

#[tokio::test]
async fn a_burst_of_logins_stays_within_its_memory_budget() {
    jobber::cli::install_crypto_provider();
    let database_url = fresh_database().await;
    let root = temp_dir("login-burst");
    let jobber = start_api(
        &database_url,
        &root.join("data"),
        // Each guess from its own address, as a botnet would send them.
        &[("JOBBER_TRUSTED_PROXIES", "127.0.0.1")],
    )
    .await;
    let (rss_before, _) = memory_kib(&jobber);
    eprintln!("RSS before the burst: {rss_before} KiB");
    let http = reqwest::Client::new();
    let burst: Vec<_> = (0..150)
        .map(|i| {
            let request = http
                .post(format!("{}/api/v1/auth/login", jobber.base))
                .header("X-Forwarded-For", format!("10.9.{}.{}", i / 200, i % 200 + 1))
                .json(&json!({"email": format!("nobody{i}@burst.example"), "password": "guess guess guess"}));
            tokio::spawn(async move {
                let response = request.send().await.unwrap();
                let retry_after = response.headers().contains_key("retry-after");
                let status = response.status().as_u16();
                let body: Value = response.json().await.unwrap_or(Value::Null);
                (status, retry_after, body["code"].as_str().map(str::to_owned))
            })
        })
        .collect();
    let mut answers = Vec::new();
    for request in burst {
        answers.push(request.await.unwrap());
    }
    for (status, retry_after, code) in &answers {
        match status {
            401 => assert_eq!(code.as_deref(), Some("invalid_credentials")),
            503 => {
                assert_eq!(code.as_deref(), Some("server_busy"));
                assert!(retry_after, "503 says when to retry");
            }
            other => panic!("unexpected {other} {code:?}"),
        }
    }
    assert!(
        answers.iter().any(|(s, _, _)| *s == 401),
        "some were checked"
    );
    let (rss, peak) = memory_kib(&jobber);
    assert!(
        peak < 200 * 1024,
        "peak RSS {peak} KiB over the 200 MiB budget during a login burst"
    );
    assert!(rss < 200 * 1024, "RSS {rss} KiB after the burst");
    let _ = std::fs::remove_dir_all(&root);
}

/// Open a connection and send part of a request's headers, never the end.
async fn half_sent(addr: SocketAddr) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: jobber.test\r\nX-Slow: ")
        .await
        .unwrap();
    stream
}

/// What the server sends before closing, or until `wait` passes.
async fn read_until_closed(stream: &mut TcpStream, wait: Duration) -> Option<String> {
    let mut received = Vec::new();
    let read = tokio::time::timeout(wait, stream.read_to_end(&mut received)).await;
    read.ok()
        .map(|_| String::from_utf8_lossy(&received).into_owned())
}

#[tokio::test]
async fn half_sent_requests_cannot_take_the_server_down() {
    let app = spawn_app_with(|config| {
        config.http = HttpConfig {
            header_read_timeout: Duration::from_secs(2),
            idle_timeout: Duration::from_secs(30),
            max_connections: 40,
            ..HttpConfig::default()
        };
    })
    .await;
    let mut slow = Vec::new();
    for _ in 0..30 {
        slow.push(half_sent(app.addr).await);
    }
    // Others are still served.
    let health = tokio::time::timeout(
        Duration::from_secs(10),
        app.http.get(app.url("/healthz")).send(),
    )
    .await
    .expect("/healthz answers while connections hang")
    .unwrap();
    assert_eq!(health.status(), 200);

    // Past the cap a new connection is told so at once, not left hanging.
    for _ in 0..10 {
        slow.push(half_sent(app.addr).await);
    }
    let mut over = half_sent(app.addr).await;
    let refused = read_until_closed(&mut over, Duration::from_secs(10))
        .await
        .expect("a connection over the cap is answered and closed");
    assert!(refused.starts_with("HTTP/1.1 503"), "{refused}");
    assert!(refused.contains("too_many_connections"), "{refused}");
    assert!(
        refused.to_lowercase().contains("retry-after: 1"),
        "{refused}"
    );

    // Headers that never finish are cut off after the header timeout.
    for stream in &mut slow {
        assert!(
            read_until_closed(stream, Duration::from_secs(15))
                .await
                .is_some(),
            "a half-sent request was not closed"
        );
    }
    let health = app.http.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
}

#[tokio::test]
async fn an_idle_connection_is_closed() {
    let app = spawn_app_with(|config| {
        config.http = HttpConfig {
            header_read_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(1),
            max_connections: 10,
            ..HttpConfig::default()
        };
    })
    .await;
    // A request whose body never arrives: headers complete, then silence.
    let mut stream = TcpStream::connect(app.addr).await.unwrap();
    stream
        .write_all(b"POST /api/v1/auth/login HTTP/1.1\r\nHost: jobber.test\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{")
        .await
        .unwrap();
    assert!(
        read_until_closed(&mut stream, Duration::from_secs(10))
            .await
            .is_some(),
        "a stalled body is closed after the idle timeout"
    );
}

#[tokio::test]
async fn webhook_bodies_over_the_limit_are_problem_json() {
    let app = spawn_app().await;
    let big = vec![b'x'; 100 * 1024];
    for path in ["/api/v1/webhooks/stripe", "/api/v1/webhooks/twilio/inbound"] {
        let response = app
            .http
            .post(app.url(path))
            .header("Content-Type", "application/json")
            .header("Stripe-Signature", "t=1,v1=00")
            .body(big.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 413, "{path}");
        assert_eq!(
            response
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok()),
            Some("application/problem+json"),
            "{path}"
        );
        let problem: Value = response.json().await.unwrap();
        assert_eq!(problem["code"], "payload_too_large", "{path}");
        assert_eq!(problem["status"], 413);
    }
}

#[tokio::test]
async fn private_answers_are_neither_sniffed_nor_cached() {
    let app = spawn_app().await;
    let owner = app.signup("Private Co").await;
    let response = app
        .http
        .get(app.url("/api/v1/auth/me"))
        .bearer_auth(&owner.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    assert_eq!(header("x-content-type-options").as_deref(), Some("nosniff"));
    assert_eq!(header("cache-control").as_deref(), Some("no-store"));
    // An error is private too, and still problem+json.
    let missing = app
        .http
        .get(app.url(&format!("/api/v1/clients/{}", Uuid::now_v7())))
        .bearer_auth(&owner.token)
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    assert_eq!(
        missing
            .headers()
            .get("cache-control")
            .and_then(|v| v.to_str().ok()),
        Some("no-store")
    );
    // A public answer is not marked private, but is never sniffed either.
    let health = app.http.get(app.url("/healthz")).send().await.unwrap();
    assert!(health.headers().get("cache-control").is_none());
    assert_eq!(
        health
            .headers()
            .get("x-content-type-options")
            .and_then(|v| v.to_str().ok()),
        Some("nosniff")
    );
}

#[tokio::test]
async fn taken_email_answers_are_limited() {
    let app = spawn_app().await;
    let owner = app.signup("Taken Co").await;
    // Before probing: once the limit is reached, every sign-up from the address waits.
    let other = app.signup("Other Co").await;
    let taken = |email: String| json!({"business_name": "Prober", "name": "P", "email": email, "password": PASSWORD});
    // Sign-up tells that an address has a login a few times, then no more.
    let limit = jobber::modules::auth::throttle::MAX_FAILURES_PER_EMAIL;
    for _ in 0..limit {
        app.post_anon("/api/v1/auth/signup", taken(owner.email.clone()))
            .await
            .problem(409, "email_taken");
    }
    let refused = app
        .post_anon("/api/v1/auth/signup", taken(owner.email.clone()))
        .await
        .problem(429, "rate_limited");
    assert!(refused.header("retry-after").is_some());
    // So does adding a team member, per account.
    for _ in 0..limit {
        app.post(
            "/api/v1/users",
            &other.token,
            json!({"name": "Dup", "email": owner.email, "role": "technician"}),
        )
        .await
        .problem(409, "email_taken");
    }
    app.post(
        "/api/v1/users",
        &other.token,
        json!({"name": "Dup", "email": owner.email, "role": "technician"}),
    )
    .await
    .problem(429, "rate_limited");
}
