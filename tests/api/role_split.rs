//! The roles, proven (docs/scaling.md): the real binary as two `--role api` processes
//! and two `--role worker` processes on one PostgreSQL, the way a cluster runs it. A
//! mixed office workload goes through both APIs while one worker is killed with
//! SIGKILL in the middle of sending; afterwards every email, text and QuickBooks push
//! has happened exactly once, the reminders of the hourly cron once, and no job is
//! left behind.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command};
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::json;
use uuid::Uuid;

use crate::background::{Sink, free_port, have_aiosmtpd, wait_until};
use crate::helpers::{PUBLIC_URL, Session, TestApp, fresh_database};
use crate::quickbooks::{FakeQbo, connect};
use crate::sms::FakeTwilio;

/// One `jobber serve` process; SIGKILLed (if still running) when dropped.
pub(crate) struct Process {
    pub(crate) child: Child,
    pub(crate) addr: SocketAddr,
    pub(crate) admin: SocketAddr,
    pub(crate) log: PathBuf,
    data_dir: PathBuf,
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.data_dir);
        // The log stays when the test failed: its message names it.
        if !std::thread::panicking() {
            let _ = std::fs::remove_file(&self.log);
        }
    }
}

/// What every process of the cluster shares: the database, the secrets, the file
/// store and the providers. Its file store is deleted when it is dropped.
pub(crate) struct Cluster {
    pub(crate) database_url: String,
    files: PathBuf,
    env: Vec<(String, String)>,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.files);
    }
}

impl Cluster {
    /// A cluster on `database_url` with a file store of its own and what every pod of
    /// a deployment shares (the secrets, the public address), then `env` (which may
    /// override those).
    pub(crate) fn new(database_url: String, env: &[(&str, String)]) -> Cluster {
        let files =
            std::env::temp_dir().join(format!("jobber-split-files-{}", Uuid::now_v7().simple()));
        std::fs::create_dir_all(&files).unwrap();
        // The processes drop root for `nobody` (--user) and write the store.
        std::fs::set_permissions(&files, std::os::unix::fs::PermissionsExt::from_mode(0o777))
            .unwrap();
        let shared = [
            ("JOBBER_LOG", "info".to_string()),
            ("JOBBER_PUBLIC_URL", PUBLIC_URL.to_string()),
            // Shared secrets: a token from one API is good on the other, and what
            // one process encrypts (QuickBooks tokens) the others read.
            (
                "JOBBER_JWT_SECRET",
                "role-split-test-jwt-secret-of-enough-length".to_string(),
            ),
            ("JOBBER_ENCRYPTION_KEY", "00".repeat(32)),
            ("JOBBER_RATE_LIMITS", "off".to_string()),
            // No daily backup in these tests (tests/api/backup.rs has its own).
            ("JOBBER_BACKUP_RETENTION_DAYS", "0".to_string()),
            ("JOBBER_JOB_POLL_MS", "200".to_string()),
        ];
        Cluster {
            database_url,
            files,
            env: shared
                .into_iter()
                .chain(env.iter().cloned())
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
        }
    }

    pub(crate) fn start(&self, role: &str) -> Process {
        let (port, admin) = (free_port(), free_port());
        let data_dir =
            std::env::temp_dir().join(format!("jobber-split-{role}-{}", Uuid::now_v7().simple()));
        std::fs::create_dir_all(&data_dir).unwrap();
        let log = data_dir.with_extension("log");
        let file = std::fs::File::create(&log).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_jobber"))
            .args(["serve", "--role", role, "--data-dir"])
            .arg(&data_dir)
            .args([
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--admin-listen",
                &format!("127.0.0.1:{admin}"),
            ])
            .env("JOBBER_DATABASE_URL", &self.database_url)
            .env(
                "JOBBER_STORAGE_URL",
                format!("file://{}", self.files.display()),
            )
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .spawn()
            .unwrap();
        Process {
            child,
            addr: format!("127.0.0.1:{port}").parse().unwrap(),
            admin: format!("127.0.0.1:{admin}").parse().unwrap(),
            log,
            data_dir,
        }
    }
}

/// Wait until `process` answers `/readyz`.
pub(crate) async fn ready(process: &Process) {
    let http = reqwest::Client::new();
    let up = wait_until(Duration::from_secs(60), || async {
        http.get(format!("http://{}/readyz", process.addr))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
    })
    .await;
    assert!(up, "not ready; see {}", process.log.display());
}

async fn rows(app: &TestApp, sql: &str) -> Vec<(String, i64)> {
    sqlx::query_as(sqlx::AssertSqlSafe(sql.to_owned()))
        .fetch_all(app.db.pool())
        .await
        .unwrap()
}

/// A client with an email and an opted-in mobile, a job with a visit for `tech`
/// starting `n` hours after `at` (UTC, the account's zone); returns (client id,
/// visit id).
async fn client_with_visit(
    api: &TestApp,
    owner: &Session,
    tech: &Session,
    n: usize,
    at: chrono::DateTime<chrono::Utc>,
) -> (String, String) {
    let at = at + chrono::Duration::hours(n as i64);
    let client = api
        .create_client(
            owner,
            json!({"first_name": format!("Client{n}"), "last_name": "Split",
                   "emails": [{"address": format!("client{n}@example.com")}],
                   "phones": [{"number": format!("(555) 010-{:04}", 3000 + n), "label": "mobile", "sms_opt_in": true}]}),
        )
        .await;
    let client_id = client["id"].as_str().unwrap().to_string();
    let job = api
        .post("/api/v1/jobs", &owner.token, json!({"client_id": client_id, "title": format!("Visit {n}"),
              "schedule": {"start_date": at.format("%Y-%m-%d").to_string(), "start_time": at.format("%H:%M").to_string(),
                           "assignee_ids": [tech.user_id]}}))
        .await
        .expect(201)
        .body;
    (
        client_id,
        job["visits"][0]["id"].as_str().unwrap().to_string(),
    )
}

#[tokio::test]
async fn two_apis_and_two_workers_lose_nothing_and_do_nothing_twice_when_a_worker_is_killed() {
    if !have_aiosmtpd(
        "two_apis_and_two_workers_lose_nothing_and_do_nothing_twice_when_a_worker_is_killed",
    ) {
        return;
    }
    jobber::cli::install_crypto_provider();
    // The first message the sink receives is held for ten minutes: its worker is
    // mid-send when it is killed, however slow the machine. Its lease (20 s) lapses
    // and the other worker sends that message. A live worker whose lease ran out
    // while it rendered a PDF no longer doubles a send (it renews its lease on its
    // claim before SMTP and backs off when it lost it, tests/api/leases.rs), but a
    // short lease cuts slow sends off (at 90 % of it) and delays them: 20 s outlasts
    // a debug build rendering invoice PDFs on a busy machine.
    let sink = Sink::start(600);
    let twilio = FakeTwilio::start(&[]).await;
    let qbo = FakeQbo::start().await;
    let qbo_config = qbo.config();
    let cluster = Cluster::new(
        fresh_database().await,
        &[
            ("JOBBER_SMTP_URL", sink.url()),
            (
                "JOBBER_SMTP_FROM",
                "Jobber Test <office@jobber.test>".to_string(),
            ),
            ("JOBBER_TWILIO_ACCOUNT_SID", crate::sms::SID.to_string()),
            ("JOBBER_TWILIO_AUTH_TOKEN", crate::sms::TOKEN.to_string()),
            ("JOBBER_TWILIO_FROM", crate::sms::FROM.to_string()),
            ("JOBBER_TWILIO_API_BASE", twilio.base.clone()),
            (
                "JOBBER_QUICKBOOKS_CLIENT_ID",
                qbo_config.client_id.clone().unwrap(),
            ),
            (
                "JOBBER_QUICKBOOKS_CLIENT_SECRET",
                secrecy::ExposeSecret::expose_secret(qbo_config.client_secret.as_ref().unwrap())
                    .to_string(),
            ),
            ("JOBBER_QUICKBOOKS_AUTH_BASE", qbo_config.auth_base.clone()),
            ("JOBBER_QUICKBOOKS_TOKEN_URL", qbo_config.token_url.clone()),
            ("JOBBER_QUICKBOOKS_API_BASE", qbo_config.api_base.clone()),
            ("JOBBER_JOB_HEARTBEAT_SECS", "1".to_string()),
            ("JOBBER_EMAIL_LEASE_SECS", "20".to_string()),
        ],
    );

    let (first, second) = (cluster.start("api"), cluster.start("api"));
    ready(&first).await;
    ready(&second).await;
    let apis = [
        TestApp::attach(first.addr, first.admin, &cluster.database_url).await,
        TestApp::attach(second.addr, second.admin, &cluster.database_url).await,
    ];
    let owner = apis[0].signup("Split Lawn Care").await;
    let settings = apis[1]
        .get("/api/v1/settings", &owner.token)
        .await
        .expect(200);
    apis[1]
        .patch(
            "/api/v1/settings",
            &owner.token,
            json!({"time_zone": "UTC", "visit_reminders": true, "visit_reminder_hours_before": 24,
                   "version": settings.body["version"]}),
        )
        .await
        .expect(200);
    let tech = apis[1].add_user(&owner, "technician").await;
    connect(&apis[0], &owner).await;

    // Visits starting within the reminder window, before any worker runs: the
    // first worker's hourly `send_reminders` run owes each one email and one text.
    let soon = chrono::Utc::now() + chrono::Duration::hours(3);
    let mut reminded = Vec::new();
    for n in 0..4 {
        reminded.push(client_with_visit(&apis[n % 2], &owner, &tech, n, soon).await);
    }

    // No worker yet: the APIs run no jobs, the messages wait.
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(sink.messages().is_empty() && twilio.received().is_empty());

    let doomed = cluster.start("worker");
    ready(&doomed).await;
    // A worker serves health and metrics, not the API.
    let http = reqwest::Client::new();
    let refused = http
        .post(format!("http://{}/api/v1/auth/login", doomed.addr))
        .json(&json!({"email": owner.email, "password": crate::helpers::PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 404, "a worker does not answer the API");
    let mid_send = wait_until(Duration::from_secs(60), || async {
        sink.dir.join("delayed").exists()
    })
    .await;
    assert!(
        mid_send,
        "no worker reached the SMTP server; see {}",
        doomed.log.display()
    );
    let survivor = cluster.start("worker");
    ready(&survivor).await;

    // The office workload, alternating between the two APIs: clients, quotes sent,
    // invoices sent and paid, technicians on their way. The first worker dies half
    // way through.
    let mut doomed = Some(doomed);
    let mut quotes = Vec::new();
    let mut invoices = Vec::new();
    let mut payments = Vec::new();
    let mut visits = Vec::new();
    let mut clients: Vec<String> = reminded.iter().map(|(c, _)| c.clone()).collect();
    for n in 4..16 {
        let api = &apis[n % 2];
        if n == 10 {
            let mut process = doomed.take().unwrap();
            kill(Pid::from_raw(process.child.id() as i32), Signal::SIGKILL).unwrap();
            process.child.wait().unwrap();
        }
        let (client_id, visit_id) =
            client_with_visit(api, &owner, &tech, n, soon + chrono::Duration::days(3)).await;
        clients.push(client_id.clone());
        let quote = api
            .post(
                "/api/v1/quotes",
                &owner.token,
                json!({"client_id": client_id, "title": format!("Quote {n}"),
                  "lines": [{"name": "Mowing", "quantity": 1, "unit_price": 4500}]}),
            )
            .await
            .expect(201)
            .body;
        let quote_id = quote["id"].as_str().unwrap().to_string();
        apis[(n + 1) % 2]
            .post(
                &format!("/api/v1/quotes/{quote_id}/send"),
                &owner.token,
                json!({}),
            )
            .await
            .expect(200);
        quotes.push(quote_id);
        let invoice = api
            .post(
                "/api/v1/invoices",
                &owner.token,
                json!({"client_id": client_id, "title": format!("Invoice {n}"),
                  "lines": [{"name": "Mowing", "quantity": 2, "unit_price": 4500}]}),
            )
            .await
            .expect(201)
            .body;
        let invoice_id = invoice["id"].as_str().unwrap().to_string();
        api.post(
            &format!("/api/v1/invoices/{invoice_id}/send"),
            &owner.token,
            json!({}),
        )
        .await
        .expect(200);
        let paid = apis[(n + 1) % 2]
            .post(
                &format!("/api/v1/invoices/{invoice_id}/payments"),
                &owner.token,
                json!({"method": "check", "amount": 9000, "reference": format!("CHK {n}")}),
            )
            .await
            .expect(201)
            .body;
        payments.push(paid["payment"]["id"].as_str().unwrap().to_string());
        invoices.push(invoice_id);
        api.post(
            &format!("/api/v1/visits/{visit_id}/on-my-way"),
            &tech.token,
            json!({"eta_minutes": 20}),
        )
        .await
        .expect(202);
        visits.push(visit_id);
    }
    assert!(doomed.is_none());

    // Everything the workload owes: emails for the reminders, quotes and invoices,
    // texts for the reminders and the "on my way"s, QuickBooks customers, invoices
    // and payments.
    let db = &apis[0];
    let settled = wait_until(Duration::from_secs(120), || async {
        let open = rows(db, "SELECT status, count(*) FROM apalis.jobs WHERE status <> 'Done' GROUP BY status").await;
        let unsent = rows(db, "SELECT status, count(*) FROM messages WHERE direction = 'outbound' AND status NOT IN ('sent', 'delivered') GROUP BY status").await;
        open.is_empty() && unsent.is_empty() && qbo.objects("Payment").len() >= payments.len()
    })
    .await;
    assert!(
        settled,
        "work left behind: jobs {:?}, messages {:?}; see {}",
        rows(db, "SELECT status || ' ' || job_type, count(*) FROM apalis.jobs WHERE status <> 'Done' GROUP BY 1").await,
        rows(db, "SELECT status || ' ' || template, count(*) FROM messages WHERE status NOT IN ('sent', 'delivered') GROUP BY 1").await,
        survivor.log.display()
    );
    // Quiet for a moment: nothing late arrives twice.
    tokio::time::sleep(Duration::from_secs(4)).await;

    // Emails: one per message, each exactly once (by Message-ID).
    let emails = sink.messages();
    let by_template: BTreeMap<String, i64> = rows(db, "SELECT template, count(*) FROM messages WHERE channel = 'email' AND direction = 'outbound' GROUP BY template")
        .await
        .into_iter()
        .collect();
    assert_eq!(
        by_template.get("visit_reminder"),
        Some(&4),
        "{by_template:?}"
    );
    assert_eq!(by_template.get("quote_sent"), Some(&12), "{by_template:?}");
    assert_eq!(
        by_template.get("invoice_sent"),
        Some(&12),
        "{by_template:?}"
    );
    // Every email arrives, each as one email (one Message-ID per message). SMTP
    // cannot be exactly once across a crash: an email the killed worker had handed
    // to the server but not yet recorded as sent is sent again by the survivor, with
    // the same Message-ID, so a mail client shows it once (docs/operations.md). So
    // repeats are allowed only as the same Message-ID, and only a few: what one
    // worker had in flight.
    let total: i64 = by_template.values().sum();
    let message_ids: BTreeSet<&str> = emails
        .iter()
        .map(|m| m["message_id"].as_str().unwrap())
        .collect();
    let listing = || {
        emails
            .iter()
            .map(|m| format!("{} {} {}", m["message_id"], m["to"], m["subject"]))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        message_ids.len() as i64,
        total,
        "every email message delivered, each under one Message-ID: {:#?}",
        listing()
    );
    let repeats = emails.len() - message_ids.len();
    assert!(
        repeats <= 4,
        "{repeats} repeated deliveries, more than one worker has in flight: {:#?}",
        listing()
    );
    let provider_ids: BTreeSet<String> = sqlx::query_scalar(
        "SELECT provider_id FROM messages WHERE channel = 'email' AND direction = 'outbound'",
    )
    .fetch_all(db.db.pool())
    .await
    .unwrap()
    .into_iter()
    .map(|id: Option<String>| id.unwrap())
    .collect();
    assert_eq!(
        provider_ids,
        message_ids
            .iter()
            .map(|s| s.to_string())
            .collect::<BTreeSet<_>>()
    );
    let quoted: BTreeSet<String> =
        sqlx::query_scalar("SELECT subject_id::text FROM messages WHERE template = 'quote_sent'")
            .fetch_all(db.db.pool())
            .await
            .unwrap()
            .into_iter()
            .collect();
    assert_eq!(quoted, quotes.iter().cloned().collect::<BTreeSet<_>>());

    // Texts: a reminder for each early visit, an "on my way" for each later one.
    let texts = twilio.received();
    let sms: BTreeMap<String, i64> = rows(db, "SELECT template, count(*) FROM messages WHERE channel = 'sms' AND direction = 'outbound' GROUP BY template")
        .await
        .into_iter()
        .collect();
    assert_eq!(sms.values().sum::<i64>(), texts.len() as i64, "{sms:?}");
    assert_eq!(sms.get("visit_reminder"), Some(&4), "{sms:?}");
    assert_eq!(sms.get("on_my_way"), Some(&12), "{sms:?}");
    let on_the_way: BTreeSet<String> =
        sqlx::query_scalar("SELECT subject_id::text FROM messages WHERE template = 'on_my_way'")
            .fetch_all(db.db.pool())
            .await
            .unwrap()
            .into_iter()
            .collect();
    assert_eq!(on_the_way, visits.iter().cloned().collect::<BTreeSet<_>>());
    let bodies: BTreeSet<(String, String)> = texts
        .iter()
        .map(|t| {
            (
                t.param("To").unwrap().to_string(),
                t.param("Body").unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(bodies.len(), texts.len(), "no text sent twice");

    // QuickBooks: each record once.
    assert_eq!(
        qbo.objects("Customer").len(),
        clients.len(),
        "{:#?}",
        qbo.calls()
    );
    assert_eq!(qbo.objects("Invoice").len(), invoices.len());
    assert_eq!(qbo.objects("Payment").len(), payments.len());

    // Cron: each slot claimed once across the two workers, none failed.
    let reminders = rows(
        db,
        "SELECT name, count(*) FROM cron_runs WHERE name = 'send_reminders' GROUP BY name",
    )
    .await;
    assert_eq!(reminders.len(), 1);
    let failed = rows(
        db,
        "SELECT name, count(*) FROM cron_runs WHERE error IS NOT NULL GROUP BY name",
    )
    .await;
    assert!(failed.is_empty(), "{failed:?}");

    drop(survivor);
}
