//! The read replica (`--database-read-url`, docs/scaling.md): a real streaming replica
//! of a test's own PostgreSQL (`pg_basebackup -R`), on the loopback's Unix sockets.
//! Lists are served by it, a user's reads right after their own write by the primary,
//! and when it stops the primary answers until it is back.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use jobber::config::ReplicaConfig;
use serde_json::json;

use crate::helpers::{OwnPostgres, Session, TestApp, spawn_app_on};

/// The replica's port (its socket is in its own directory; the primary's is 5432).
const REPLICA_PORT: u16 = 5433;

/// A primary of the test's own with a streaming replica of it.
struct Replicated {
    primary: OwnPostgres,
    data: PathBuf,
}

impl Replicated {
    async fn start() -> Self {
        let primary = OwnPostgres::start().await;
        let data = primary.dir().join("replica");
        // initdb's trust entries cover replication over the Unix socket, and
        // PostgreSQL 15 streams by default (wal_level replica, max_wal_senders 10).
        // -R writes standby.signal and primary_conninfo into the copy.
        let out = primary
            .command("pg_basebackup")
            .arg("-h")
            .arg(primary.dir())
            .args([
                "-U",
                "postgres",
                "-R",
                "-X",
                "stream",
                "-c",
                "fast",
                "--no-sync",
                "-D",
            ])
            .arg(&data)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
            .unwrap_or_else(|e| panic!("pg_basebackup: {e}"));
        assert!(
            out.status.success(),
            "pg_basebackup failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let replicated = Self { primary, data };
        replicated.start_replica();
        replicated
    }

    /// `pg_ctl start` the replica, waiting until it accepts (read-only) connections.
    fn start_replica(&self) {
        let out = self
            .primary
            .command("pg_ctl")
            .arg("-D")
            .arg(&self.data)
            .arg("-o")
            .arg(format!(
                "-k {} -p {REPLICA_PORT} -c listen_addresses='' -c fsync=off",
                self.data.display()
            ))
            .arg("-l")
            .arg(self.primary.dir().join("replica.log"))
            .args(["-w", "start"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
            .unwrap_or_else(|e| panic!("pg_ctl: {e}"));
        assert!(
            out.status.success(),
            "starting the replica failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn stop_replica(&self) {
        let _ = self
            .primary
            .command("pg_ctl")
            .arg("-D")
            .arg(&self.data)
            .args(["-m", "fast", "-w", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }

    fn replica_url(&self) -> String {
        let host = self.data.display().to_string().replace('/', "%2F");
        format!("postgres://postgres@localhost:{REPLICA_PORT}/jobber?host={host}")
    }

    async fn on_replica(&self) -> sqlx::PgPool {
        sqlx::PgPool::connect(&self.replica_url())
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Wait until the replica has replayed everything the primary has written.
    async fn caught_up(&self) {
        let primary = sqlx::PgPool::connect(&self.primary.url()).await.unwrap();
        let written: String = sqlx::query_scalar("SELECT pg_current_wal_lsn()::text")
            .fetch_one(&primary)
            .await
            .unwrap();
        primary.close().await;
        let replica = self.on_replica().await;
        eventually("the replica replays the primary's WAL", || async {
            sqlx::query_scalar::<_, bool>(
                "SELECT coalesce(pg_last_wal_replay_lsn() >= $1::pg_lsn, false)",
            )
            .bind(&written)
            .fetch_one(&replica)
            .await
            .unwrap_or(false)
        })
        .await;
        replica.close().await;
    }

    /// Stop applying the primary's changes on the replica (they still arrive).
    async fn pause_replay(&self) {
        let replica = self.on_replica().await;
        sqlx::query("SELECT pg_wal_replay_pause()")
            .execute(&replica)
            .await
            .unwrap();
        // "pause requested" already holds back every record that arrives later: the
        // startup process checks the request before it applies each one.
        let state: String = sqlx::query_scalar("SELECT pg_get_wal_replay_pause_state()")
            .fetch_one(&replica)
            .await
            .unwrap();
        assert_ne!(state, "not paused");
        replica.close().await;
    }

    async fn resume_replay(&self) {
        let replica = self.on_replica().await;
        sqlx::query("SELECT pg_wal_replay_resume()")
            .execute(&replica)
            .await
            .unwrap();
        replica.close().await;
    }
}

impl Drop for Replicated {
    fn drop(&mut self) {
        // Before the primary's own drop removes the directory the replica lives in.
        let _ = self
            .primary
            .command("pg_ctl")
            .arg("-D")
            .arg(&self.data)
            .args(["-m", "immediate", "-w", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// Poll `check` until it holds (no timing is asserted: the deadline is generous).
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..300 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("gave up waiting: {what}");
}

/// A metric's value on `/metrics` (the sample whose name and labels are `sample`).
async fn metric(app: &TestApp, sample: &str) -> f64 {
    app.sample(sample)
        .await
        .unwrap_or_else(|| panic!("no {sample} on /metrics"))
}

/// The ids of the visits in a `GET /schedule` reply.
fn visit_ids(reply: &crate::helpers::Reply) -> Vec<String> {
    reply.body["visits"]
        .as_array()
        .unwrap_or_else(|| panic!("no visits in {}", reply.text))
        .iter()
        .map(|v| v["id"].as_str().unwrap().to_owned())
        .collect()
}

/// The names on the first page of the client list, as `user` sees it.
async fn client_names(app: &TestApp, user: &Session) -> Vec<String> {
    let reply = app
        .get("/api/v1/clients?limit=100", &user.token)
        .await
        .expect(200);
    reply.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["display_name"].as_str().unwrap().to_string())
        .collect()
}

fn person(first: &str, last: &str) -> serde_json::Value {
    json!({"first_name": first, "last_name": last})
}

/// A user's reads go to the primary this long after their own write; the test waits
/// it out before reads that must be the replica's.
const READ_YOUR_WRITES: Duration = Duration::from_secs(4);

async fn past_own_writes() {
    tokio::time::sleep(READ_YOUR_WRITES + Duration::from_millis(500)).await;
}

#[tokio::test]
async fn reads_go_to_the_replica_to_the_primary_after_a_write_and_while_it_is_down() {
    let pg = Replicated::start().await;
    let app = spawn_app_on(pg.primary.url(), |config| {
        config.replica = Some(ReplicaConfig {
            url: pg.replica_url().into(),
            read_your_writes: READ_YOUR_WRITES,
            probe_interval: Duration::from_millis(200),
        });
    })
    .await;
    let owner = app.signup("Replica Plumbing").await;
    let dispatcher = app.add_user(&owner, "dispatcher").await;
    // The owner's calendar feed (its secret is made now, on the primary).
    let feed = app
        .get(
            &format!("/api/v1/users/{}/calendar-feed", owner.user_id),
            &owner.token,
        )
        .await
        .expect(200)
        .body["url"]
        .as_str()
        .unwrap()
        .to_string();
    let feed = app.url(TestApp::local_path(&feed));
    let schedule = "/api/v1/schedule?from=2026-01-05T00:00:00Z&to=2026-01-12T00:00:00Z";
    app.create_client(&owner, person("Ada", "Early")).await;

    // (1) A change the replica has not replayed is invisible to the owner's list:
    // the replica serves it. Row-level security holds there (the list is the
    // owner's account only, read as the app role).
    pg.caught_up().await;
    pg.pause_replay().await;
    let held = app.create_client(&dispatcher, person("Held", "Back")).await;
    past_own_writes().await;
    let replica_reads = metric(&app, r#"jobber_db_reads_total{served_by="replica"}"#).await;
    assert_eq!(client_names(&app, &owner).await, ["Ada Early"]);
    assert!(
        metric(&app, r#"jobber_db_reads_total{served_by="replica"}"#).await > replica_reads,
        "the list was not counted as a replica read"
    );
    // Another account's list, on the replica too, shows none of these.
    let other = app.signup("Other Account").await;
    past_own_writes().await;
    let replica_reads = metric(&app, r#"jobber_db_reads_total{served_by="replica"}"#).await;
    assert!(client_names(&app, &other).await.is_empty());
    assert!(metric(&app, r#"jobber_db_reads_total{served_by="replica"}"#).await > replica_reads);
    // The calendar feed reads the replica too. The schedule window fills the
    // `schedule` cache, so once this process caches (its event relay listens) it is
    // loaded from the replica only if the replica has replayed all the primary has
    // written: a copy that predates an event already heard must not be stored
    // (docs/scaling.md, Caches). This one is paused behind the dispatcher's client:
    // the primary loads the window.
    let cache_hits = r#"jobber_cache_hits_total{cache="schedule"}"#;
    let start = std::time::Instant::now();
    loop {
        let before = metric(&app, cache_hits).await;
        app.get(schedule, &owner.token).await.expect(200);
        if metric(&app, cache_hits).await > before {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(15), "never cached");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let replica_reads = metric(&app, r#"jobber_db_reads_total{served_by="replica"}"#).await;
    let primary_reads = metric(&app, r#"jobber_db_reads_total{served_by="primary"}"#).await;
    let next_week = "/api/v1/schedule?from=2026-01-12T00:00:00Z&to=2026-01-19T00:00:00Z";
    app.get(next_week, &owner.token).await.expect(200);
    let response = app.http.get(&feed).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        metric(&app, r#"jobber_db_reads_total{served_by="replica"}"#).await,
        replica_reads + 1.0
    );
    assert_eq!(
        metric(&app, r#"jobber_db_reads_total{served_by="primary"}"#).await,
        primary_reads + 1.0
    );
    // A visit the dispatcher books into the cached window empties the entry; the
    // replica has not replayed it, so the owner's next read loads the window from
    // the primary, the visit included.
    let booked = app
        .post(
            "/api/v1/jobs",
            &dispatcher.token,
            json!({"client_id": held["id"], "title": "Boiler",
                   "schedule": {"start_date": "2026-01-07", "start_time": "09:00"}}),
        )
        .await
        .expect(201)
        .body["visits"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let replica_reads = metric(&app, r#"jobber_db_reads_total{served_by="replica"}"#).await;
    let window = app.get(schedule, &owner.token).await.expect(200);
    assert_eq!(visit_ids(&window), std::slice::from_ref(&booked));
    assert_eq!(
        metric(&app, r#"jobber_db_reads_total{served_by="replica"}"#).await,
        replica_reads
    );
    // The dispatcher's next reads are the replica's again.
    past_own_writes().await;

    // Right after the owner's own write, their reads are the primary's: their new
    // client shows, and so does the one the replica holds back.
    app.create_client(&owner, person("Bea", "Own")).await;
    let mut names = client_names(&app, &owner).await;
    names.sort();
    assert_eq!(names, ["Ada Early", "Bea Own", "Held Back"]);
    // Only the owner's: the dispatcher (whose write is long past) still reads the
    // replica, which has replayed neither change.
    assert_eq!(client_names(&app, &dispatcher).await, ["Ada Early"]);
    pg.resume_replay().await;
    assert_eq!(metric(&app, "jobber_db_replica_up").await, 1.0);
    assert_eq!(metric(&app, "jobber_db_replica_fallbacks_total").await, 0.0);

    // Caught up, the replica loads a window the cache has not seen, the booked
    // visit included (nobody wrote lately), and the dashboard on its first read.
    pg.caught_up().await;
    past_own_writes().await;
    let replica_reads = metric(&app, r#"jobber_db_reads_total{served_by="replica"}"#).await;
    let primary_reads = metric(&app, r#"jobber_db_reads_total{served_by="primary"}"#).await;
    let window = app
        .get(
            "/api/v1/schedule?from=2026-01-06T00:00:00Z&to=2026-01-13T00:00:00Z",
            &owner.token,
        )
        .await
        .expect(200);
    assert_eq!(visit_ids(&window), [booked]);
    app.get("/api/v1/reports/dashboard", &owner.token)
        .await
        .expect(200);
    assert_eq!(
        metric(&app, r#"jobber_db_reads_total{served_by="replica"}"#).await,
        replica_reads + 2.0
    );
    assert_eq!(
        metric(&app, r#"jobber_db_reads_total{served_by="primary"}"#).await,
        primary_reads
    );

    // (2) The replica stops: reads still answer, from the primary, counted.
    past_own_writes().await;
    pg.stop_replica();
    let mut names = client_names(&app, &owner).await;
    names.sort();
    assert_eq!(names, ["Ada Early", "Bea Own", "Held Back"]);
    app.get("/api/v1/search?q=Held", &owner.token)
        .await
        .expect(200);
    app.get("/api/v1/reports/dashboard", &owner.token)
        .await
        .expect(200);
    app.get(schedule, &owner.token).await.expect(200);
    let response = app.http.get(&feed).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(metric(&app, "jobber_db_replica_fallbacks_total").await >= 1.0);
    assert_eq!(metric(&app, "jobber_db_replica_up").await, 0.0);

    // (3) It comes back: the probe finds it and reads go to it again (proven as in
    // (1): what it has not replayed is not in the list).
    pg.start_replica();
    eventually("the probe finds the replica again", || async {
        metric(&app, "jobber_db_replica_up").await == 1.0
    })
    .await;
    pg.caught_up().await;
    pg.pause_replay().await;
    app.create_client(&dispatcher, person("Late", "Comer"))
        .await;
    let fallbacks = metric(&app, "jobber_db_replica_fallbacks_total").await;
    let mut names = client_names(&app, &owner).await;
    names.sort();
    assert_eq!(names, ["Ada Early", "Bea Own", "Held Back"]);
    assert_eq!(
        metric(&app, "jobber_db_replica_fallbacks_total").await,
        fallbacks
    );
    pg.resume_replay().await;
    eventually("the replica replays the late write", || async {
        client_names(&app, &owner).await.len() == 4
    })
    .await;
}
