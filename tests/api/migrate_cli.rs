//! `jobber migrate run|status` as an operator runs them against an external database
//! (the Helm pre-upgrade Job does the same): an empty database is migrated once, a
//! second run applies nothing, and a database a newer jobber migrated is refused.

use std::process::{Command, Output, Stdio};

use serde_json::Value;
use uuid::Uuid;

use crate::helpers::empty_database;

fn jobber(url: &str, args: &[&str]) -> Output {
    let data_dir = std::env::temp_dir().join(format!("jobber-migrate-{}", Uuid::now_v7().simple()));
    let out = Command::new(env!("CARGO_BIN_EXE_jobber"))
        .arg("--data-dir")
        .arg(&data_dir)
        .args(args)
        .env("JOBBER_DATABASE_URL", url)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&data_dir);
    out
}

fn ok(out: Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[tokio::test]
async fn migrate_runs_once_reports_status_and_refuses_a_newer_schema() {
    let url = empty_database().await;
    let known = jobber::platform::database::MIGRATOR
        .iter()
        .filter(|m| !m.migration_type.is_down_migration())
        .count();

    let before: Value =
        serde_json::from_str(&ok(jobber(&url, &["migrate", "status", "--json"]))).unwrap();
    let before = before.as_array().unwrap();
    assert_eq!(before.len(), known);
    assert!(before.iter().all(|m| m["state"] == "pending"), "{before:?}");

    let applied = ok(jobber(&url, &["migrate", "run"]));
    assert!(
        applied.contains(&format!(
            "{known} migration(s) applied; the database is current"
        )),
        "{applied}"
    );
    // Again: nothing to do. `migrate` alone means `run`.
    let again = ok(jobber(&url, &["migrate"]));
    assert!(again.contains("0 migration(s) applied"), "{again}");
    let table = ok(jobber(&url, &["migrate", "status"]));
    assert_eq!(
        table.lines().filter(|l| l.contains(" applied ")).count(),
        known,
        "{table}"
    );
    assert!(
        table
            .lines()
            .last()
            .unwrap()
            .starts_with("app role: jobber_app is held"),
        "{table}"
    );

    // A newer jobber migrated it: this one refuses to touch it.
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time)
         VALUES (99991231000000, 'from the future', true, '\\x00', 0)",
    )
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;
    let refused = jobber(&url, &["migrate", "run"]);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success(), "{stderr}");
    assert!(
        stderr.contains("99991231000000") && stderr.contains("newer version; upgrade jobber"),
        "{stderr}"
    );
    let status = ok(jobber(&url, &["migrate", "status"]));
    assert!(
        status
            .lines()
            .any(|l| l.starts_with("99991231000000") && l.contains("unknown")),
        "{status}"
    );
}
