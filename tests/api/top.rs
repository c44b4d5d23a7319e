//! `GET /status` on the admin listener and `jobber top`, which draws it: the API
//! against a real app, the screen on ratatui's TestBackend (rendered buffers read back),
//! and once for real under tmux against a running `jobber serve`.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use jobber::cli::top::ui::{App, Link, render};
use jobber::platform::status::Status;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::KeyCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, read_reply, spawn_app};

fn admin_token(data_dir: &Path) -> String {
    std::fs::read_to_string(data_dir.join("admin.token"))
        .unwrap()
        .trim()
        .to_owned()
}

async fn status(app: &TestApp, token: Option<&str>) -> crate::helpers::Reply {
    let mut request = app.http.get(format!("http://{}/status", app.admin_addr));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    read_reply(request).await
}

/// Pods behind one tool share a configured `admin_token`: it is the one `/status`
/// asks for, and no token file is written into the data dir.
#[tokio::test]
async fn a_configured_admin_token_is_the_one_status_asks_for() {
    let token = "shared-by-every-pod-shared-by-every-pod";
    let app = crate::helpers::spawn_app_with(|config| {
        config.admin_token = Some(token.to_string().into());
    })
    .await;
    status(&app, Some(token)).await.expect(200);
    status(&app, Some("not-the-token-not-the-token-not-the-token"))
        .await
        .problem(401, "invalid_token");
    assert!(!app.data_dir.join("admin.token").exists());
}

#[tokio::test]
async fn status_needs_the_admin_token_and_reports_traffic_queues_pool_and_today() {
    let app = spawn_app().await;
    status(&app, None).await.problem(401, "unauthenticated");
    status(&app, Some("not-the-token-not-the-token-not-the-token"))
        .await
        .problem(401, "invalid_token");
    // Not on the public listener.
    let public = read_reply(
        app.http
            .get(format!("http://{}/status", app.addr))
            .bearer_auth(admin_token(&app.data_dir)),
    )
    .await;
    assert!(public.body.get("queues").is_none(), "{}", public.text);
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(app.data_dir.join("admin.token"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);

    // Today's business: a completed visit, a sent invoice, a payment, two users.
    let owner = app.signup("Status Co").await;
    let tech = app.add_user(&owner, "technician").await;
    let client = app
        .create_client(
            &owner,
            json!({"first_name": "Sam", "emails": [{"address": "sam@example.com"}]}),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let today = Utc::now().date_naive();
    let job: Value = app
        .post(
            "/api/v1/jobs",
            &owner.token,
            json!({"client_id": client, "title": "Job", "billing": "per_visit",
                   "lines": [{"name": "x", "quantity": 1, "unit_price": 3000}],
                   "schedule": {"start_date": today.to_string(), "start_time": "12:00",
                                "assignee_ids": [tech.user_id], "allow_overlap": true}}),
        )
        .await
        .expect(201)
        .body;
    let visit = job["visits"][0]["id"].as_str().unwrap();
    app.post(
        &format!("/api/v1/visits/{visit}/complete"),
        &tech.token,
        json!({}),
    )
    .await
    .expect(200);
    let invoice = app
        .post("/api/v1/invoices", &owner.token, json!({"client_id": client, "title": "Work", "lines": [{"name": "Work", "quantity": 1, "unit_price": 10000}], "tax_rate_ids": []}))
        .await
        .expect(201)
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.post(
        &format!("/api/v1/invoices/{invoice}/send"),
        &owner.token,
        json!({}),
    )
    .await
    .expect(200);
    app.post(
        &format!("/api/v1/invoices/{invoice}/payments"),
        &owner.token,
        json!({"method": "cash", "amount": 4000}),
    )
    .await
    .expect(201);
    // Some 4xx, then time for the sampler to see them.
    for _ in 0..3 {
        let missing = uuid::Uuid::now_v7();
        app.get(&format!("/api/v1/clients/{missing}"), &owner.token)
            .await
            .expect(404);
    }
    // The sampler takes one sample a second: wait until the samples hold the requests.
    let token = admin_token(&app.data_dir);
    let deadline = Instant::now() + Duration::from_secs(15);
    let reply = loop {
        let reply = status(&app, Some(&token)).await.expect(200);
        let sampled: u64 = reply.body["samples"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["requests"].as_u64().unwrap())
            .sum();
        if sampled >= 10 || Instant::now() > deadline {
            break reply;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    let body = &reply.body;
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
    assert!(["all", "api", "worker"].contains(&body["role"].as_str().unwrap()));
    assert!(body["started_at"].is_string() && body["uptime_seconds"].is_u64());
    let http = &body["http"];
    assert!(http["requests_total"].as_u64().unwrap() >= 10, "{http}");
    assert!(http["client_errors_total"].as_u64().unwrap() >= 3, "{http}");
    assert_eq!(http["server_errors_total"], 0, "{http}");
    assert!(
        http["requests_per_second"].as_f64().unwrap() > 0.0,
        "{http}"
    );
    assert!(http["client_error_ratio"].as_f64().unwrap() > 0.0, "{http}");
    assert!(http["latency_ms"]["p50"].as_f64().unwrap() > 0.0, "{http}");
    assert!(
        http["latency_ms"]["p99"].as_f64() >= http["latency_ms"]["p50"].as_f64(),
        "{http}"
    );
    let samples = body["samples"].as_array().unwrap();
    assert!(!samples.is_empty(), "{body}");
    let counted: u64 = samples
        .iter()
        .map(|s| s["requests"].as_u64().unwrap())
        .sum();
    assert!(counted >= 10, "the samples hold the requests: {samples:?}");
    assert!(samples.iter().all(|s| s["seconds"].as_f64().unwrap() > 0.5));
    assert_eq!(body["websocket"]["connections"], 0);
    let pool = &body["database"]["pool"];
    assert_eq!(body["database"]["reachable"], true);
    assert!(pool["max"].as_u64().unwrap() >= 1 && pool["size"].as_u64().unwrap() >= 1);
    assert_eq!(
        pool["in_use"].as_u64().unwrap() + pool["idle"].as_u64().unwrap(),
        pool["size"].as_u64().unwrap()
    );
    let queues = body["queues"].as_array().unwrap();
    assert_eq!(queues.len(), 10, "every queue, even idle ones");
    let email = queues.iter().find(|q| q["name"] == "email.send").unwrap();
    for field in [
        "depth",
        "pending",
        "scheduled",
        "running",
        "dead",
        "failed_total",
        "completed_total",
        "completed_per_minute",
    ] {
        assert!(email[field].is_number(), "{field}: {email}");
    }
    assert!(body["outbox_pending"].is_number());
    let caches: Vec<&str> = body["caches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        caches,
        [
            "settings",
            "sessions",
            "tokens",
            "clients",
            "schedule",
            "reports",
            "my_visits"
        ]
    );
    for cache in body["caches"].as_array().unwrap() {
        for field in ["hits", "misses", "evictions", "invalidations", "entries"] {
            assert!(cache[field].is_u64(), "{field}: {cache}");
        }
    }
    assert_eq!(body["errors"], json!([]));
    let today = &body["business_today"];
    assert_eq!(today["visits_completed"], 1, "{today}");
    assert_eq!(today["invoices_sent"], 1, "{today}");
    let collected = today["payments_collected"].as_array().unwrap();
    assert_eq!(collected.len(), 1, "{today}");
    assert_eq!(collected[0]["amount_minor"], 4000, "{today}");
    assert_eq!(collected[0]["payments"], 1, "{today}");
    assert_eq!(
        collected[0]["currency"].as_str().unwrap().len(),
        3,
        "{today}"
    );
    assert!(today["active_users"].as_i64().unwrap() >= 2, "{today}");
    assert!(today["accounts"].as_i64().unwrap() >= 1, "{today}");

    // The same body is what `jobber top` reads.
    let parsed: Status = serde_json::from_value(body.clone()).unwrap();
    assert_eq!(parsed.queues.len(), 10);
}

// ---- the screen, on TestBackend ----

fn fixture() -> Status {
    let start = Utc.with_ymd_and_hms(2026, 12, 3, 9, 0, 0).unwrap();
    let samples: Vec<Value> = (0..120)
        .map(|i| {
            json!({"at": start + chrono::Duration::seconds(i), "seconds": 1.0,
                   "requests": 20 + (i % 7) * 3, "client_errors": i % 5, "server_errors": 0,
                   "p50_ms": 2.5, "p95_ms": 9.0 + (i % 4) as f64, "p99_ms": 30.0,
                   "in_flight": 2, "ws_connections": 7})
        })
        .collect();
    let cache = |name: &str, hits: u64, misses: u64| {
        let looked_up = hits + misses;
        json!({"name": name, "hits": hits, "misses": misses,
               "hit_ratio": (looked_up > 0).then(|| hits as f64 / looked_up as f64),
               "evictions": 0, "invalidations": 0, "entries": hits})
    };
    let queue = |name: &str, depth: i64, running: i64, dead: i64, per_minute: f64| {
        json!({"name": name, "depth": depth, "pending": depth, "scheduled": 0, "running": running,
               "dead": dead, "failed_total": dead * 2, "completed_total": 100,
               "completed_per_minute": per_minute, "failed_per_minute": 0.0})
    };
    serde_json::from_value(json!({
        "version": "9.8.7", "role": "all", "started_at": start, "uptime_seconds": 3725,
        "generated_at": start,
        "http": {"requests_total": 48213, "client_errors_total": 120, "server_errors_total": 3,
                 "in_flight": 4, "window_seconds": 10.0, "requests_per_second": 23.4,
                 "client_errors_per_second": 2.0, "server_errors_per_second": 0.0,
                 "client_error_ratio": 0.085, "server_error_ratio": 0.0,
                 "latency_ms": {"p50": 2.5, "p95": 11.0, "p99": 30.0}},
        "websocket": {"connections": 7},
        "database": {"reachable": true, "pool": {"max": 20, "size": 6, "in_use": 5, "idle": 1, "waiting": 0}},
        "queues": [
            queue("notifications.high", 0, 0, 0, 1.0),
            queue("notifications.standard", 3, 1, 0, 4.0),
            queue("pdf.generation", 12, 2, 0, 6.5),
            queue("email.send", 40, 4, 2, 30.0),
            queue("sms.send", 0, 0, 1, 0.0),
            queue("cleanup", 0, 0, 0, 0.0),
        ],
        "outbox_pending": 0,
        "caches": [
            cache("settings", 990, 10), cache("sessions", 480, 20), cache("tokens", 990, 10),
            cache("clients", 900, 100), cache("schedule", 80, 20), cache("reports", 40, 60),
            cache("my_visits", 0, 0),
        ],
        "business_today": {"accounts": 3, "visits_completed": 17, "invoices_sent": 9,
                           "payments_collected": [{"currency": "USD", "amount_minor": 123456, "payments": 5}],
                           "active_users": 11, "as_of": start},
        "errors": [],
        "samples": samples,
    }))
    .unwrap()
}

fn live_app() -> App {
    let mut app = App::new("http://127.0.0.1:9464");
    app.on_status(
        fixture(),
        Utc.with_ymd_and_hms(2026, 12, 3, 9, 2, 0).unwrap(),
    );
    app
}

/// The screen as text, one line per row.
fn draw(app: &App, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|frame| render(frame, app)).unwrap();
    let buffer = terminal.backend().buffer();
    buffer
        .content
        .chunks(usize::from(buffer.area.width))
        .map(|row| row.iter().map(|cell| cell.symbol()).collect::<String>())
        .collect::<Vec<_>>()
        .join("\n")
}

#[track_caller]
fn assert_shows(screen: &str, parts: &[&str]) {
    for part in parts {
        assert!(
            screen.contains(part),
            "{part:?} not on the screen:\n{screen}"
        );
    }
}

#[test]
fn the_dashboard_fits_80_by_24_and_uses_120_by_40() {
    let app = live_app();
    for (width, height) in [(80, 24), (120, 40)] {
        let screen = draw(&app, width, height);
        assert_shows(
            &screen,
            &[
                "jobber top",
                "http://127.0.0.1:9464",
                "v9.8.7",
                "up 1h 02m",
                "09:02:00",
                "Requests/s",
                "23.4/s · 48213 total",
                "p50 2.5 p95 11 p99 30",
                "4xx 8.5% 5xx 0.0%",
                "Queues (6) · sort: depth ▼",
                "email.send",
                "pdf.generation",
                "In flight 4",
                "WebSocket 7",
                "DB pool",
                "5/20 used",
                "Cache hits",
                "Visits completed",
                "17",
                "Invoices sent",
                "USD 1234.56 (5)",
                "Active users",
                "? help",
                "q quit",
            ],
        );
        let lines: Vec<&str> = screen.lines().collect();
        assert_eq!(lines.len(), usize::from(height));
        // Sparkline bars are drawn (block characters), not just their titles.
        assert!(
            screen.chars().any(|c| ('▁'..='█').contains(&c)),
            "no sparkline bars:\n{screen}"
        );
        // Deepest queue first; every queue row visible.
        let email = screen.find("email.send").unwrap();
        let pdf = screen.find("pdf.generation").unwrap();
        assert!(email < pdf, "{screen}");
        assert_shows(&screen, &["cleanup", "sms.send", "notifications.high"]);
    }
    // The wide screen has the room for full queue names, and a line per cache; the
    // small one sums the caches up in one line: all look-ups, and the weakest cache.
    assert_shows(
        &draw(&app, 120, 40),
        &[
            "notifications.standard",
            "settings 99.0%",
            "reports 40.0%",
            "my_visits –",
        ],
    );
    assert_shows(&draw(&app, 80, 24), &["all 94% · low reports 40%"]);
}

#[test]
fn the_queue_table_is_navigated_and_sorted_from_the_keyboard() {
    let mut app = live_app();
    let selected_row = |app: &App| {
        draw(app, 80, 24)
            .lines()
            .find(|l| l.contains('▶'))
            .map(str::to_owned)
            .unwrap_or_default()
    };
    assert!(selected_row(&app).contains("email.send"));
    app.on_key(KeyCode::Down);
    assert!(selected_row(&app).contains("pdf.generation"));
    app.on_key(KeyCode::Char('j'));
    app.on_key(KeyCode::Char('k'));
    assert!(selected_row(&app).contains("pdf.generation"));
    app.on_key(KeyCode::End);
    app.on_key(KeyCode::Down);
    assert_eq!(app.selected, 5, "stays on the last row");
    app.on_key(KeyCode::Home);
    assert_eq!(app.selected_queue().unwrap().name, "email.send");

    // Sorting keeps the selected queue selected.
    app.on_key(KeyCode::Down);
    app.on_key(KeyCode::Char('s'));
    let screen = draw(&app, 80, 24);
    assert_shows(&screen, &["sort: running ▼"]);
    assert!(selected_row(&app).contains("pdf.generation"));
    app.on_key(KeyCode::Char('r'));
    assert_shows(&draw(&app, 80, 24), &["sort: running ▲"]);
    assert!(selected_row(&app).contains("pdf.generation"));
    // Dead: sms.send (1) after email.send (2), largest first.
    app.on_key(KeyCode::Char('s'));
    app.on_key(KeyCode::Char('s'));
    let names: Vec<&str> = app.queues().iter().map(|q| q.name.as_str()).collect();
    assert_eq!(&names[..2], ["email.send", "sms.send"]);
    // A new status keeps the selection on its queue.
    let before = app.selected_queue().unwrap().name.clone();
    app.on_status(fixture(), Utc::now());
    assert_eq!(app.selected_queue().unwrap().name, before);
}

#[test]
fn help_opens_with_question_mark_and_esc_closes_it_then_quits() {
    let mut app = live_app();
    app.on_key(KeyCode::Char('?'));
    for (width, height) in [(80, 24), (120, 40)] {
        assert_shows(
            &draw(&app, width, height),
            &["Help", "select a queue", "sort by the next column", "quit"],
        );
    }
    app.on_key(KeyCode::Esc);
    assert!(!app.help && !app.quit);
    assert!(!draw(&app, 80, 24).contains("select a queue"));
    app.on_key(KeyCode::Esc);
    assert!(app.quit);
    let mut app = live_app();
    app.on_key(KeyCode::Char('q'));
    assert!(app.quit);
}

#[test]
fn an_unreachable_instance_gets_a_screen_of_its_own_and_recovers() {
    let mut app = App::new("http://127.0.0.1:9464");
    assert_shows(
        &draw(&app, 80, 24),
        &["connecting to http://127.0.0.1:9464"],
    );
    let at = Utc.with_ymd_and_hms(2026, 12, 3, 9, 5, 0).unwrap();
    app.on_error("Connection refused (os error 111)".into(), false, at);
    app.on_error(
        "Connection refused (os error 111)".into(),
        false,
        at + chrono::Duration::seconds(1),
    );
    for (width, height) in [(80, 24), (120, 40)] {
        let screen = draw(&app, width, height);
        assert_shows(
            &screen,
            &[
                "UNREACHABLE — retrying",
                "http://127.0.0.1:9464/status",
                "Connection refused (os error 111)",
                "down since 09:05:00 UTC",
                "2 failed attempts",
            ],
        );
        assert!(!screen.contains("Queues"), "no stale figures:\n{screen}");
    }
    // A live instance that goes away: its figures are not shown as if current.
    let mut app = live_app();
    app.on_error("no answer within 3 s".into(), false, at);
    assert!(!draw(&app, 80, 24).contains("48213"));
    app.on_status(fixture(), at + chrono::Duration::seconds(5));
    assert!(matches!(app.link, Link::Live { .. }));
    assert_shows(&draw(&app, 80, 24), &["48213"]);
    // A refused token says so.
    app.on_error("HTTP 401: the admin token was refused".into(), true, at);
    assert_shows(
        &draw(&app, 80, 24),
        &["ADMIN TOKEN REFUSED — retrying", "--token"],
    );
}

// ---- for real, under tmux ----

/// A tmux server of this test's own (its own socket), killed when dropped.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn command(&self) -> Command {
        let mut command = Command::new("tmux");
        command
            .args(["-L", &self.socket, "-f", "/dev/null"])
            .env("LANG", "C.UTF-8");
        command
    }

    fn pane(&self) -> String {
        let out = self
            .command()
            .args(["capture-pane", "-p", "-t", "top"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Wait until the pane shows what `ok` wants; the last capture either way.
    async fn wait_for(&self, what: &str, ok: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let pane = self.pane();
            if ok(&pane) {
                return pane;
            }
            assert!(
                Instant::now() < deadline,
                "the pane never showed {what}:\n{pane}"
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.command().arg("kill-server").status();
    }
}

/// The number before " total" on the requests line.
fn requests_total(pane: &str) -> Option<u64> {
    let at = pane.find(" total")?;
    let digits: String = pane[..at]
        .chars()
        .rev()
        .take_while(char::is_ascii_digit)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    digits.parse().ok()
}

#[tokio::test]
async fn jobber_top_under_tmux_shows_a_running_serve_live_then_its_absence() {
    let tmux = Command::new("tmux").arg("-V").output();
    assert!(
        tmux.as_ref().is_ok_and(|o| o.status.success()),
        "tmux is required by this test and is not installed: run scripts/install-test-deps.sh (or apt-get install tmux)"
    );
    let root = std::env::temp_dir().join(format!("jobber-top-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&root).unwrap();
    let data_dir = root.join("data");
    let server = crate::e2e::start_with(&data_dir, &[]).await;

    // Load: successes and 404s, until the test ends.
    let base = server.base.clone();
    let load = tokio::spawn(async move {
        let http = reqwest::Client::new();
        loop {
            let _ = http.get(format!("{base}/healthz")).send().await;
            let _ = http
                .get(format!("{base}/api/v1/no-such-thing"))
                .send()
                .await;
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });

    let tmux = Tmux {
        socket: format!("jobber-top-test-{}", std::process::id()),
    };
    let top = format!(
        "{} top --data-dir {} --url {}; echo \"top exited: $?\"; sleep 600",
        env!("CARGO_BIN_EXE_jobber"),
        data_dir.display(),
        server.admin
    );
    let started = tmux
        .command()
        .args([
            "new-session",
            "-d",
            "-s",
            "top",
            "-x",
            "120",
            "-y",
            "40",
            "sh",
            "-c",
            &top,
        ])
        .status()
        .unwrap();
    assert!(started.success(), "tmux new-session failed");

    let pane = tmux
        .wait_for("live figures with the load's 404s", |p| {
            p.contains("Queues (10)")
                && requests_total(p).is_some_and(|n| n > 20)
                && !p.contains("4xx 0.0%")
        })
        .await;
    assert!(pane.contains(&server.admin), "{pane}");
    for part in [
        "Requests/s",
        "Latency ms",
        "Errors",
        "email.send",
        "DB pool",
        "Cache hits",
        "Visits completed",
        "Active users",
        "role all",
    ] {
        assert!(pane.contains(part), "{part:?} missing:\n{pane}");
    }
    let first = requests_total(&pane).unwrap();
    let pane = tmux
        .wait_for("the figures moving", |p| {
            requests_total(p).is_some_and(|n| n > first)
        })
        .await;

    // Help, then back.
    tmux.command()
        .args(["send-keys", "-t", "top", "?"])
        .status()
        .unwrap();
    tmux.wait_for("the help", |p| p.contains("select a queue"))
        .await;
    tmux.command()
        .args(["send-keys", "-t", "top", "Escape"])
        .status()
        .unwrap();
    tmux.wait_for("the dashboard again", |p| {
        !p.contains("select a queue") && p.contains("Queues (10)")
    })
    .await;

    // The server goes away: top says so and keeps trying.
    load.abort();
    drop(server);
    let down = tmux
        .wait_for("the unreachable screen", |p| p.contains("UNREACHABLE"))
        .await;
    assert!(down.contains("retrying"), "{down}");
    assert!(!down.contains("Queues (10)"), "{down}");
    tmux.wait_for("the attempts counting", |p| p.contains("failed attempts"))
        .await;

    tmux.command()
        .args(["send-keys", "-t", "top", "q"])
        .status()
        .unwrap();
    tmux.wait_for("top exiting cleanly", |p| p.contains("top exited: 0"))
        .await;
    let _ = pane;
    let _ = std::fs::remove_dir_all(&root);
}
