//! Background work: the transactional outbox, the relay, email delivery over real SMTP
//! (aiosmtpd), retries and dead jobs, roles, cron, and a worker killed mid-send.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use jobber::config::{Config, Role};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{Session, TestApp, spawn_app, spawn_app_on, spawn_app_with};

/// The Python with the test peers (`make test` sets it; scripts/install-test-deps.sh).
fn python() -> String {
    std::env::var("PYTHON_FOR_TESTS").unwrap_or_else(|_| "python3".into())
}

/// Whether aiosmtpd can be used; under CI a missing peer fails the test, on a
/// developer machine the test is skipped loudly.
pub(crate) fn have_aiosmtpd(test: &str) -> bool {
    let ok = Command::new(python())
        .args(["-c", "import aiosmtpd"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !ok {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "aiosmtpd is missing (run scripts/install-test-deps.sh and set PYTHON_FOR_TESTS)"
        );
        eprintln!(
            "\n*** SKIPPING {test}: aiosmtpd not found for {} (run `make test`, or scripts/install-test-deps.sh and PYTHON_FOR_TESTS=target/test-venv/bin/python3) ***\n",
            python()
        );
    }
    ok
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// tests/smtp_sink.py on a free loopback port, writing what it receives to a directory.
pub struct Sink {
    child: Child,
    pub port: u16,
    pub dir: PathBuf,
}

impl Drop for Sink {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Sink {
    pub fn start(delay_first_secs: u64) -> Sink {
        let port = free_port();
        let dir = std::env::temp_dir().join(format!("jobber-smtp-{}", Uuid::now_v7().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/smtp_sink.py");
        let mut child = Command::new(python())
            .arg(script)
            .arg(port.to_string())
            .arg(&dir)
            .arg(delay_first_secs.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut line = String::new();
        use std::io::BufRead;
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "ready", "the SMTP sink did not start");
        Sink { child, port, dir }
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// The messages received so far (parsed by the sink), in order.
    pub fn messages(&self) -> Vec<Value> {
        let mut out = Vec::new();
        for n in 1.. {
            let path = self.dir.join(format!("{n}.json"));
            match std::fs::read_to_string(&path) {
                Ok(text) => out.push(serde_json::from_str(&text).unwrap()),
                Err(_) => break,
            }
        }
        out
    }

    pub async fn wait_for(&self, count: usize, within: Duration) -> Vec<Value> {
        let deadline = Instant::now() + within;
        loop {
            let messages = self.messages();
            if messages.len() >= count || Instant::now() > deadline {
                return messages;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// Workers on, SMTP to `sink`, quick polling.
pub fn with_worker(role: Role, sink: Option<&Sink>) -> impl FnOnce(&mut Config) {
    let url = sink.map(Sink::url);
    move |c: &mut Config| {
        c.role = role;
        c.jobs.smtp_url = url.map(secrecy::SecretString::from);
        c.jobs.smtp_from = "Jobber Test <office@jobber.test>".into();
        c.jobs.poll = Duration::from_millis(200);
    }
}

/// A worker process (`--role worker`, no mail sink) on `app`'s database.
pub async fn worker_for(app: &TestApp) -> TestApp {
    spawn_app_on(app.database_url.clone(), with_worker(Role::Worker, None)).await
}

/// A client with an email and a one-line quote; returns the quote id.
async fn quote_for(app: &TestApp, owner: &Session) -> String {
    let client = app
        .create_client(
            owner,
            json!({"first_name": "Ann", "last_name": "Lee", "emails": [{"address": "ann@example.com"}]}),
        )
        .await;
    let quote = app
        .post(
            "/api/v1/quotes",
            &owner.token,
            json!({"client_id": client["id"], "title": "Spring cleanup",
                   "lines": [{"name": "Mowing", "quantity": 1, "unit_price": 4500}]}),
        )
        .await
        .expect(201)
        .body;
    quote["id"].as_str().unwrap().to_string()
}

async fn send_quote(app: &TestApp, owner: &Session, id: &str) {
    app.post(
        &format!("/api/v1/quotes/{id}/send"),
        &owner.token,
        json!({}),
    )
    .await
    .expect(200);
}

async fn scalar_i64(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_one(app.db.pool())
        .await
        .unwrap()
}

async fn message_row(
    app: &TestApp,
    quote_id: &str,
) -> (String, Option<String>, Option<String>, i32) {
    sqlx::query_as(
        "SELECT status, provider_id, error, attempts FROM messages WHERE subject_type = 'quote' AND subject_id = $1::uuid",
    )
    .bind(quote_id)
    .fetch_one(app.db.pool())
    .await
    .unwrap()
}

/// The email.send jobs and workers, for a failure message.
async fn dump_jobs(app: &TestApp) -> String {
    let jobs: Vec<String> = sqlx::query_scalar(
        "SELECT row_to_json(j)::text FROM (SELECT id, status, attempts, run_at, lock_by, last_result FROM apalis.jobs WHERE job_type = 'email.send') j
         UNION ALL SELECT row_to_json(w)::text FROM (SELECT id, last_seen FROM apalis.workers WHERE worker_type = 'email.send') w",
    )
    .fetch_all(app.db.pool())
    .await
    .unwrap();
    jobs.join("\n")
}

pub async fn wait_until<F, Fut>(within: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + within;
    loop {
        if check().await {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_sent_quote_is_delivered_by_smtp_exactly_once() {
    if !have_aiosmtpd("a_sent_quote_is_delivered_by_smtp_exactly_once") {
        return;
    }
    let sink = Sink::start(0);
    let app = spawn_app_with(with_worker(Role::All, Some(&sink))).await;
    let owner = app.signup("Mail Lawn Co").await;
    let id = quote_for(&app, &owner).await;
    send_quote(&app, &owner, &id).await;

    let messages = sink.wait_for(1, Duration::from_secs(30)).await;
    assert_eq!(messages.len(), 1, "one email delivered");
    let m = &messages[0];
    assert_eq!(m["subject"], "Quote Q-1 from Mail Lawn Co: Spring cleanup");
    assert_eq!(m["to"], "ann@example.com");
    assert_eq!(m["rcpt_tos"], json!(["ann@example.com"]));
    // From the business, at the operator's address; replies go to the business
    // (it has no email address yet, so no Reply-To).
    assert_eq!(m["from"], "Mail Lawn Co <office@jobber.test>");
    assert_eq!(m["reply_to"], Value::Null);
    // Text and HTML, with the quote's PDF attached.
    assert_eq!(m["content_type"], "multipart/mixed");
    let text = m["text"].as_str().unwrap();
    assert!(text.contains("Hello Ann Lee,"), "{text}");
    assert!(text.contains("Mowing: 1 x USD 45.00 = USD 45.00"), "{text}");
    let link = format!(
        "http://jobber.test/hub/quotes/{id}?account={}&expires=",
        owner.account_id
    );
    assert!(text.contains(&link), "client-hub link in {text}");
    let quote = app
        .get(&format!("/api/v1/quotes/{id}"), &owner.token)
        .await
        .expect(200)
        .body;
    crate::emails::client_page_opens(
        &app,
        text,
        &owner.account_id,
        quote["client_id"].as_str().unwrap(),
        "Ann Lee",
    )
    .await;
    let html = m["html"].as_str().unwrap();
    assert!(html.contains("Your page</a>"), "{html}");
    assert!(html.contains("Hello Ann Lee,"), "{html}");
    assert!(html.contains("Review and approve</a>"), "{html}");
    assert!(
        html.contains(&format!(r#"href="{}"#, link.replace('&', "&amp;"))),
        "the hub link as a button in {html}"
    );
    let files = m["attachments"].as_array().unwrap();
    assert_eq!(files.len(), 1, "{files:?}");
    assert_eq!(files[0]["filename"], "quote-Q-1.pdf");
    assert_eq!(files[0]["content_type"], "application/pdf");
    assert_eq!(files[0]["disposition"], "attachment");
    let pdf = std::fs::read(files[0]["path"].as_str().unwrap()).unwrap();
    assert!(pdf.starts_with(b"%PDF-"));
    if crate::pdfs::poppler() {
        let pdf = crate::pdfs::read_pdf(&pdf);
        pdf.shows("Spring cleanup");
        pdf.shows("45.00");
    }

    // The outbox row says sent, with the Message-ID the email carries.
    assert!(
        wait_until(Duration::from_secs(10), || async {
            message_row(&app, &id).await.0 == "sent"
        })
        .await
    );
    let (status, provider_id, error, attempts) = message_row(&app, &id).await;
    assert_eq!(status, "sent");
    assert_eq!(provider_id.as_deref(), m["message_id"].as_str());
    assert_eq!(error, None);
    assert_eq!(attempts, 1);

    // The job is done; running the same email job again sends nothing.
    assert!(
        wait_until(Duration::from_secs(10), || async {
            scalar_i64(&app, "SELECT count(*) FROM apalis.jobs WHERE job_type = 'email.send' AND status = 'Done'").await == 1
        })
        .await
    );
    sqlx::query("UPDATE apalis.jobs SET status = 'Pending', run_at = now(), done_at = NULL WHERE job_type = 'email.send'")
        .execute(app.db.pool())
        .await
        .unwrap();
    assert!(
        wait_until(Duration::from_secs(10), || async {
            scalar_i64(&app, "SELECT count(*) FROM apalis.jobs WHERE job_type = 'email.send' AND status = 'Done'").await == 1
        })
        .await
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        sink.messages().len(),
        1,
        "a re-run job sends no second email"
    );
    assert_eq!(message_row(&app, &id).await.3, 1);

    let metrics = app.metrics().await;
    assert!(
        metrics.contains(r#"jobber_jobs_completed_total{queue="email.send"} 2"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"jobber_jobs{queue="email.send",state="dead"} 0"#),
        "{metrics}"
    );
    assert!(metrics.contains("jobber_job_outbox_pending 0"), "{metrics}");
}

#[tokio::test]
async fn enqueue_is_part_of_the_transaction() {
    use jobber::modules::communications::{self, OutgoingEmail};
    use jobber::platform::queue;

    let app = spawn_app().await;
    let owner = app.signup("Tx Co").await;
    let account: Uuid = owner.account_id.parse().unwrap();
    let email = OutgoingEmail {
        client_id: None,
        template: "quote_sent",
        to: "someone@example.com".into(),
        content: communications::compose::Rendered {
            subject: "Hello".into(),
            text: "Body".into(),
            html: "<p>Body</p>".into(),
        },
        about: None,
    };

    // A send whose transaction fails after the enqueue leaves nothing behind.
    let mut tx = app.db.tenant(account).await.unwrap();
    communications::queue_email_in(&mut tx, account, None, &email)
        .await
        .unwrap();
    assert_eq!(
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM job_outbox")
            .fetch_one(&mut *tx)
            .await
            .unwrap(),
        1,
        "visible inside the transaction"
    );
    tx.rollback().await.unwrap();
    assert!(
        queue::relay_pending(app.db.pool())
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(scalar_i64(&app, "SELECT count(*) FROM job_outbox").await, 0);
    assert_eq!(scalar_i64(&app, "SELECT count(*) FROM messages").await, 0);
    assert_eq!(
        scalar_i64(
            &app,
            "SELECT count(*) FROM apalis.jobs WHERE job_type = 'email.send'"
        )
        .await,
        0
    );

    // A committed one is relayed once, with the outbox id as idempotency key.
    let mut tx = app.db.tenant(account).await.unwrap();
    let message_id = communications::queue_email_in(&mut tx, account, None, &email)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let touched = queue::relay_pending(app.db.pool()).await.unwrap();
    assert_eq!(touched, vec![queue::Queue::EmailSend]);
    assert!(
        queue::relay_pending(app.db.pool())
            .await
            .unwrap()
            .is_empty()
    );
    let (outbox_id, relayed): (Uuid, bool) =
        sqlx::query_as("SELECT id, relayed_at IS NOT NULL FROM job_outbox")
            .fetch_one(app.db.pool())
            .await
            .unwrap();
    assert!(relayed);
    let (job_type, key, max_attempts, job): (String, String, i32, Vec<u8>) = sqlx::query_as(
        "SELECT job_type, idempotency_key, max_attempts, job FROM apalis.jobs WHERE job_type = 'email.send'",
    )
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    assert_eq!(job_type, "email.send");
    assert_eq!(key, outbox_id.to_string());
    assert_eq!(max_attempts, 6);
    let job: Value = serde_json::from_slice(&job).unwrap();
    assert_eq!(job["account_id"], owner.account_id);
    assert_eq!(job["data"]["message_id"], message_id.to_string());

    // The tenant role cannot see another account's outbox, nor the queue.
    let other = app.signup("Other Co").await;
    let mut tx = app
        .db
        .tenant(other.account_id.parse().unwrap())
        .await
        .unwrap();
    assert_eq!(
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM job_outbox")
            .fetch_one(&mut *tx)
            .await
            .unwrap(),
        0
    );
    assert!(
        sqlx::query("SELECT 1 FROM apalis.jobs")
            .execute(&mut *tx)
            .await
            .is_err()
    );
}

#[tokio::test]
async fn the_api_role_enqueues_and_a_worker_delivers() {
    if !have_aiosmtpd("the_api_role_enqueues_and_a_worker_delivers") {
        return;
    }
    let sink = Sink::start(0);
    let api = spawn_app_with(with_worker(Role::Api, Some(&sink))).await;
    let owner = api.signup("Split Co").await;
    let id = quote_for(&api, &owner).await;
    send_quote(&api, &owner, &id).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(sink.messages().is_empty(), "the api role processes nothing");
    assert_eq!(
        scalar_i64(
            &api,
            "SELECT count(*) FROM job_outbox WHERE relayed_at IS NULL AND queue = 'email.send'"
        )
        .await,
        1,
        "but it enqueued"
    );
    assert_eq!(message_row(&api, &id).await.0, "queued");

    let _worker = spawn_app_on(
        api.database_url.clone(),
        with_worker(Role::Worker, Some(&sink)),
    )
    .await;
    let messages = sink.wait_for(1, Duration::from_secs(30)).await;
    assert_eq!(messages.len(), 1);
    assert!(
        wait_until(Duration::from_secs(10), || async {
            message_row(&api, &id).await.0 == "sent"
        })
        .await
    );
}

#[tokio::test]
async fn failing_jobs_back_off_then_die_and_an_admin_retries_them() {
    // No SMTP configured: every email.send attempt fails.
    let app = spawn_app_with(with_worker(Role::All, None)).await;
    let owner = app.signup("Dead Letter Co").await;
    let id = quote_for(&app, &owner).await;
    send_quote(&app, &owner, &id).await;

    // The first failure schedules the second attempt a minute later (seed §6.3).
    assert!(
        wait_until(Duration::from_secs(20), || async {
            scalar_i64(&app, "SELECT count(*) FROM apalis.jobs WHERE job_type = 'email.send' AND status = 'Failed' AND attempts = 1").await == 1
        })
        .await,
        "the first attempt failed"
    );
    let delay: f64 = sqlx::query_scalar(
        "SELECT extract(epoch FROM run_at - now())::float8 FROM apalis.jobs WHERE job_type = 'email.send'",
    )
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    assert!((40.0..=61.0).contains(&delay), "retry in ~60s, not {delay}");
    let listed = app
        .get("/api/v1/admin/jobs?state=scheduled", &owner.token)
        .await
        .expect(200);
    assert_eq!(listed.body["data"].as_array().unwrap().len(), 1);
    assert!(
        listed.body["data"][0]["last_error"]
            .as_str()
            .unwrap()
            .contains("smtp_url is not configured"),
        "{}",
        listed.text
    );

    // Pretend four more attempts failed; the sixth is the last.
    sqlx::query(
        "UPDATE apalis.jobs SET attempts = 5, run_at = now() WHERE job_type = 'email.send'",
    )
    .execute(app.db.pool())
    .await
    .unwrap();
    let dead = app.get("/api/v1/admin/jobs?state=dead", &owner.token).await;
    let job_id = {
        let found = wait_until(Duration::from_secs(20), || async {
            app.get("/api/v1/admin/jobs?state=dead", &owner.token)
                .await
                .body["data"]
                .as_array()
                .is_some_and(|a| a.len() == 1)
        })
        .await;
        if !found {
            let rows = dump_jobs(&app).await;
            panic!("job rows {rows} {}", dead.text);
        }
        let listed = app
            .get("/api/v1/admin/jobs?state=dead", &owner.token)
            .await
            .expect(200);
        let job = &listed.body["data"][0];
        assert_eq!(job["queue"], "email.send");
        assert_eq!(job["state"], "dead");
        assert_eq!(job["attempts"], 6);
        assert_eq!(job["account_id"], owner.account_id);
        job["id"].as_str().unwrap().to_string()
    };
    let (status, _, error, _) = message_row(&app, &id).await;
    assert_eq!(status, "queued", "never claimed without SMTP");
    assert_eq!(error, None);

    let metrics = app.metrics().await;
    assert!(
        metrics.contains(r#"jobber_jobs{queue="email.send",state="dead"} 1"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"jobber_jobs_dead_total{queue="email.send"} 1"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"jobber_jobs_failed_total{queue="email.send"} 2"#),
        "{metrics}"
    );

    // Only owners and admins of the job's account see or retry it.
    let tech = app.add_user(&owner, "technician").await;
    app.get("/api/v1/admin/jobs?state=dead", &tech.token)
        .await
        .problem(403, "forbidden");
    let stranger = app.signup("Stranger Co").await;
    let theirs = app
        .get("/api/v1/admin/jobs?state=dead", &stranger.token)
        .await
        .expect(200);
    assert_eq!(theirs.body["data"], json!([]));
    app.post(
        &format!("/api/v1/admin/jobs/{job_id}/retry"),
        &stranger.token,
        json!({}),
    )
    .await
    .problem(404, "background_job_not_found");
    app.get("/api/v1/admin/jobs?limit=0", &owner.token)
        .await
        .problem(400, "invalid_parameter");

    let retried = app
        .post(
            &format!("/api/v1/admin/jobs/{job_id}/retry"),
            &owner.token,
            json!({}),
        )
        .await
        .expect(202);
    assert_eq!(retried.body["attempts"], 0);
    // It runs again at once (and, still without SMTP, fails its first new attempt).
    let ran = wait_until(Duration::from_secs(20), || async {
            scalar_i64(&app, "SELECT count(*) FROM apalis.jobs WHERE job_type = 'email.send' AND status = 'Failed' AND attempts = 1").await == 1
        })
        .await;
    if !ran {
        let rows = dump_jobs(&app).await;
        panic!("job rows {rows}");
    }
    app.post(
        &format!("/api/v1/admin/jobs/{job_id}/retry"),
        &owner.token,
        json!({}),
    )
    .await
    .problem(404, "background_job_not_found");
}

#[tokio::test]
async fn cron_runs_each_slot_once_and_cleans_up() {
    let api = spawn_app().await;
    let owner = api.signup("Cron Co").await;
    let user: Uuid = owner.user_id.parse().unwrap();
    let account: Uuid = owner.account_id.parse().unwrap();
    for (key, age_hours) in [("old-key", 30), ("new-key", 1)] {
        sqlx::query(
            "INSERT INTO idempotency_keys (account_id, key, user_id, request_hash, created_at)
             VALUES ($1, $2, $3, '\\x00', now() - make_interval(hours => $4))",
        )
        .bind(account)
        .bind(key)
        .bind(user)
        .bind(age_hours)
        .execute(api.db.pool())
        .await
        .unwrap();
    }
    let expired_tokens = "UPDATE refresh_tokens SET expires_at = now() - interval '1 day'";
    sqlx::query(expired_tokens)
        .execute(api.db.pool())
        .await
        .unwrap();

    // Two workers (two pods) on one database: each slot is claimed once.
    let tasks = i64::try_from(jobber::workers::cron::TASKS.len()).unwrap();
    let _a = spawn_app_on(api.database_url.clone(), with_worker(Role::Worker, None)).await;
    let _b = spawn_app_on(api.database_url.clone(), with_worker(Role::Worker, None)).await;
    assert!(
        wait_until(Duration::from_secs(30), || async {
            scalar_i64(
                &api,
                "SELECT count(*) FROM cron_runs WHERE finished_at IS NOT NULL",
            )
            .await
                == tasks
        })
        .await,
        "every cron task ran"
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        scalar_i64(&api, "SELECT count(*) FROM cron_runs").await,
        tasks
    );
    assert_eq!(
        scalar_i64(
            &api,
            "SELECT count(*) FROM cron_runs WHERE error IS NOT NULL"
        )
        .await,
        0
    );
    let keys: Vec<String> = sqlx::query_scalar("SELECT key FROM idempotency_keys")
        .fetch_all(api.db.pool())
        .await
        .unwrap();
    assert_eq!(keys, vec!["new-key".to_string()]);
    assert_eq!(
        scalar_i64(&api, "SELECT count(*) FROM refresh_tokens").await,
        0
    );
    assert_eq!(
        scalar_i64(
            &api,
            "SELECT affected FROM cron_runs WHERE name = 'purge_idempotency_keys'"
        )
        .await,
        1
    );
}

/// `jobber serve --role worker` as a real process on the test's database.
struct WorkerProcess {
    child: Child,
    log: PathBuf,
}

impl Drop for WorkerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_worker_process(database_url: &str, data_dir: &Path, sink: &Sink) -> WorkerProcess {
    let log = data_dir.with_extension(format!("{}.log", Uuid::now_v7().simple()));
    let file = std::fs::File::create(&log).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_jobber"))
        .args(["serve", "--role", "worker", "--data-dir"])
        .arg(data_dir)
        .args([
            "--listen",
            &format!("127.0.0.1:{}", free_port()),
            "--admin-listen",
            &format!("127.0.0.1:{}", free_port()),
        ])
        .env("JOBBER_DATABASE_URL", database_url)
        .env("JOBBER_SMTP_URL", sink.url())
        .env("JOBBER_SMTP_FROM", "Jobber Test <office@jobber.test>")
        .env("JOBBER_JOB_POLL_MS", "200")
        .env("JOBBER_JOB_HEARTBEAT_SECS", "1")
        .env("JOBBER_EMAIL_LEASE_SECS", "10")
        .env("JOBBER_LOG", "info")
        .stdout(file.try_clone().unwrap())
        .stderr(file)
        .spawn()
        .unwrap();
    WorkerProcess { child, log }
}

#[tokio::test]
async fn a_worker_killed_mid_send_delivers_exactly_once_after_restart() {
    if !have_aiosmtpd("a_worker_killed_mid_send_delivers_exactly_once_after_restart") {
        return;
    }
    // The sink holds the first MAIL FROM for a minute: the worker is mid-send.
    let sink = Sink::start(60);
    let api = spawn_app_with(with_worker(Role::Api, Some(&sink))).await;
    let owner = api.signup("Crash Co").await;
    let id = quote_for(&api, &owner).await;
    send_quote(&api, &owner, &id).await;

    let data_dir = std::env::temp_dir().join(format!("jobber-crash-{}", Uuid::now_v7().simple()));
    let mut first = start_worker_process(&api.database_url, &data_dir, &sink);
    let mid_send = wait_until(Duration::from_secs(60), || async {
        sink.dir.join("delayed").exists()
    })
    .await;
    assert!(
        mid_send,
        "the worker never reached the SMTP server; see {}",
        first.log.display()
    );
    assert_eq!(message_row(&api, &id).await.0, "sending");
    // SIGKILL: no graceful shutdown, the job stays locked by a dead worker.
    first.child.kill().unwrap();
    first.child.wait().unwrap();

    let second = start_worker_process(&api.database_url, &data_dir, &sink);
    let messages = sink.wait_for(1, Duration::from_secs(60)).await;
    assert_eq!(
        messages.len(),
        1,
        "delivered after the restart; see {}",
        second.log.display()
    );
    assert!(
        wait_until(Duration::from_secs(10), || async {
            message_row(&api, &id).await.0 == "sent"
        })
        .await
    );
    let (_, provider_id, _, attempts) = message_row(&api, &id).await;
    assert_eq!(
        attempts, 2,
        "claimed by the killed worker, then by the new one"
    );
    assert_eq!(provider_id.as_deref(), messages[0]["message_id"].as_str());
    // Nothing more arrives: exactly once.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(sink.messages().len(), 1);
    drop(second);
    let _ = std::fs::remove_dir_all(&data_dir);
}

#[tokio::test]
async fn the_jobs_cli_lists_and_retries_dead_jobs() {
    let app = spawn_app().await;
    jobber::platform::queue::push_now(
        app.db.pool(),
        jobber::platform::queue::Queue::Cleanup,
        json!({"task": "nothing"}),
        "cli-test",
    )
    .await
    .unwrap();
    sqlx::query(
        "UPDATE apalis.jobs SET status = 'Failed', attempts = 6, last_result = '{\"Err\": \"boom\"}'",
    )
    .execute(app.db.pool())
    .await
    .unwrap();
    let jobber = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_jobber"))
            .args(args)
            .env("JOBBER_DATABASE_URL", &app.database_url)
            .env("JOBBER_LOG", "warn")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let listed: Value =
        serde_json::from_str(&jobber(&["jobs", "list", "--state", "dead", "--json"])).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed[0]["queue"], "cleanup");
    assert_eq!(listed[0]["last_error"], "boom");
    let id = listed[0]["id"].as_str().unwrap();
    let table = jobber(&["jobs", "list"]);
    assert!(table.contains(id) && table.contains("dead"), "{table}");
    let retried: Value = serde_json::from_str(&jobber(&["jobs", "retry", id, "--json"])).unwrap();
    assert_eq!(retried["state"], "pending");
    let out = Command::new(env!("CARGO_BIN_EXE_jobber"))
        .args(["jobs", "retry", id])
        .env("JOBBER_DATABASE_URL", &app.database_url)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no dead job"));
}

/// Finished jobs are deleted once older than the retention (`job_retention_days`,
/// 3 days here) by the `purge_finished_jobs` cleanup task; dead jobs, jobs waiting
/// for a retry and recent finished ones stay. An account's job listing is served
/// from an index, not by decoding every job.
#[tokio::test]
async fn finished_jobs_are_purged_after_the_retention() {
    use jobber::platform::queue::{self, Queue};
    let app = spawn_app_with(|c| {
        c.role = Role::All;
        c.jobs.poll = Duration::from_millis(200);
        c.jobs.retention = Duration::from_secs(3 * 86_400);
        // The shaped rows sit in a queue no worker of this app takes.
        c.jobs.concurrency.insert("reports.generation".into(), 0);
    })
    .await;
    let rows = [
        (
            "done-old",
            "status = 'Done', done_at = now() - interval '4 days'",
        ),
        (
            "done-recent",
            "status = 'Done', done_at = now() - interval '2 days'",
        ),
        (
            "dead-old",
            "status = 'Failed', attempts = 6, max_attempts = 6, done_at = now() - interval '30 days'",
        ),
        (
            "retry-old",
            "status = 'Failed', attempts = 2, run_at = now() + interval '1 hour', done_at = now() - interval '30 days'",
        ),
        ("pending", "run_at = now() + interval '1 hour'"),
    ];
    for (key, shape) in rows {
        queue::push_now(app.db.pool(), Queue::ReportsGeneration, json!({}), key)
            .await
            .unwrap();
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE apalis.jobs SET {shape} WHERE idempotency_key = '{key}'"
        )))
        .execute(app.db.pool())
        .await
        .unwrap();
    }
    queue::push_now(
        app.db.pool(),
        Queue::Cleanup,
        json!({"task": "purge_finished_jobs"}),
        "purge-now",
    )
    .await
    .unwrap();
    assert!(
        wait_until(Duration::from_secs(30), || async {
            scalar_i64(
                &app,
                "SELECT count(*) FROM apalis.jobs WHERE idempotency_key = 'purge-now' AND status = 'Done'",
            )
            .await
                == 1
        })
        .await,
        "the purge ran"
    );
    let mut kept: Vec<String> = sqlx::query_scalar(
        "SELECT idempotency_key FROM apalis.jobs WHERE job_type = 'reports.generation'",
    )
    .fetch_all(app.db.pool())
    .await
    .unwrap();
    kept.sort();
    assert_eq!(kept, ["dead-old", "done-recent", "pending", "retry-old"]);
    assert!(
        jobber::workers::cron::TASKS
            .iter()
            .any(|t| t.name == "purge_finished_jobs")
    );

    // The listing's account filter uses the index (seq scans off: the table is tiny).
    let mut tx = app.db.pool().begin().await.unwrap();
    sqlx::query("SET LOCAL enable_seqscan = off")
        .execute(&mut *tx)
        .await
        .unwrap();
    let plan: Vec<String> = sqlx::query_scalar(
        "EXPLAIN SELECT id FROM apalis.jobs j WHERE public.jobber_job_account(j.job) = $1
         ORDER BY run_at DESC, id DESC LIMIT 50",
    )
    .bind(Uuid::now_v7())
    .fetch_all(&mut *tx)
    .await
    .unwrap();
    assert!(
        plan.iter()
            .any(|line| line.contains("jobber_jobs_account_run_at")),
        "{plan:?}"
    );
    let plan: Vec<String> = sqlx::query_scalar(
        "EXPLAIN SELECT id FROM apalis.jobs j
         WHERE j.status IN ('Failed', 'Killed') AND j.attempts >= j.max_attempts
         ORDER BY run_at DESC, id DESC LIMIT 50",
    )
    .fetch_all(&mut *tx)
    .await
    .unwrap();
    assert!(
        plan.iter().any(|line| line.contains("jobber_jobs_dead")),
        "{plan:?}"
    );
    drop(tx);
    // The operator's dead-job listing (every account) finds the dead one.
    let dead = queue::list(app.db.pool(), None, Some(queue::JobState::Dead), 50)
        .await
        .unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].state, "dead");
}
