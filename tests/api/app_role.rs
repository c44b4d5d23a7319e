//! The startup check of the role requests run as (docs/operations.md, "On Amazon RDS"):
//! on a PostgreSQL of the test's own (roles are cluster-wide, so the shared server's
//! `jobber_app` must not be touched), a `jobber_app` that can walk around row-level
//! security stops `jobber serve` with the fix in its message, shows in `jobber migrate
//! status`, and starts only with the override; the roles the migrations create start.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use jobber::platform::database::{AppRoleCheck, Db};
use uuid::Uuid;

use crate::e2e::start_with;
use crate::helpers::OwnPostgres;

fn jobber(data_dir: &Path, url: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_jobber"))
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .env("JOBBER_DATABASE_URL", url)
        .env("JOBBER_ROLE", "api")
        .env_remove("JOBBER_ALLOW_UNSAFE_DB_ROLE")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

async fn problems(db: &Db) -> Vec<(String, String)> {
    match db.check_app_role().await.unwrap() {
        AppRoleCheck::Unsafe(problems) => {
            problems.into_iter().map(|p| (p.problem, p.fix)).collect()
        }
        other => panic!("expected problems, got {other:?}"),
    }
}

async fn sql(db: &Db, statement: &str) {
    sqlx::query(sqlx::AssertSqlSafe(statement.to_owned()))
        .execute(db.pool())
        .await
        .unwrap_or_else(|e| panic!("{statement}: {e}"));
}

#[tokio::test]
async fn serve_refuses_an_app_role_that_can_bypass_row_level_security() {
    let pg = OwnPostgres::start().await;
    let url = pg.url();
    let db = Db::connect(&url, 2).await.unwrap();
    let data_dir =
        std::env::temp_dir().join(format!("jobber-app-role-{}", Uuid::now_v7().simple()));
    std::fs::create_dir_all(&data_dir).unwrap();

    // As the migrations made it: held, reported so, and the server starts.
    assert_eq!(db.check_app_role().await.unwrap(), AppRoleCheck::Held);
    let status = jobber(&data_dir, &url, &["migrate", "status"], &[]);
    let stdout = String::from_utf8_lossy(&status.stdout);
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    assert!(
        stdout.contains("app role: jobber_app is held by row-level security"),
        "{stdout}"
    );
    drop(
        start_with(
            &data_dir,
            &[("JOBBER_DATABASE_URL", &url), ("JOBBER_ROLE", "api")],
        )
        .await,
    );

    // A DBA gave it BYPASSRLS: refused, with the fix and the override named.
    sql(&db, "ALTER ROLE jobber_app BYPASSRLS").await;
    assert_eq!(
        problems(&db).await,
        vec![(
            "jobber_app has BYPASSRLS".to_string(),
            "ALTER ROLE jobber_app NOBYPASSRLS;".to_string()
        )]
    );
    let refused = jobber(
        &data_dir,
        &url,
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--admin-listen",
            "127.0.0.1:0",
        ],
        &[],
    );
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success(), "{stderr}");
    for says in [
        "jobber_app, which every request runs as, can bypass row-level security",
        "jobber_app has BYPASSRLS",
        "ALTER ROLE jobber_app NOBYPASSRLS;",
        "docs/operations.md",
        "--allow-unsafe-db-role",
    ] {
        assert!(stderr.contains(says), "{says:?} not in: {stderr}");
    }
    let status = jobber(&data_dir, &url, &["migrate", "status"], &[]);
    let stdout = String::from_utf8_lossy(&status.stdout);
    assert!(
        stdout.contains("app role: UNSAFE: jobber_app has BYPASSRLS"),
        "{stdout}"
    );

    // The override starts it, and says so in the log.
    let server = start_with(
        &data_dir,
        &[
            ("JOBBER_DATABASE_URL", &url),
            ("JOBBER_ROLE", "api"),
            ("JOBBER_ALLOW_UNSAFE_DB_ROLE", "on"),
        ],
    )
    .await;
    let log_path = server.log.clone();
    drop(server);
    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(
        log.contains("--allow-unsafe-db-role") && log.contains("BYPASSRLS"),
        "{log}"
    );
    let _ = std::fs::remove_file(&log_path);
    sql(&db, "ALTER ROLE jobber_app NOBYPASSRLS").await;

    // Superuser; membership of a role that bypasses; owning tenant tables.
    sql(&db, "ALTER ROLE jobber_app SUPERUSER").await;
    assert_eq!(
        problems(&db).await,
        vec![(
            "jobber_app is a superuser".to_string(),
            "ALTER ROLE jobber_app NOSUPERUSER;".to_string()
        )]
    );
    sql(&db, "ALTER ROLE jobber_app NOSUPERUSER").await;
    sql(&db, "CREATE ROLE reporting NOLOGIN BYPASSRLS").await;
    sql(&db, "GRANT reporting TO jobber_app").await;
    assert_eq!(
        problems(&db).await,
        vec![(
            "jobber_app (a member of reporting) has BYPASSRLS".to_string(),
            "REVOKE reporting FROM jobber_app;".to_string()
        )]
    );
    sql(&db, "REVOKE reporting FROM jobber_app").await;
    sql(&db, "ALTER TABLE clients OWNER TO jobber_app").await;
    let found = problems(&db).await;
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0]
            .0
            .starts_with("jobber_app owns tables with row-level security (clients)"),
        "{found:?}"
    );
    assert!(
        found[0].1.starts_with("REASSIGN OWNED BY jobber_app TO"),
        "{found:?}"
    );
    sql(&db, "ALTER TABLE clients OWNER TO postgres").await;
    // The connecting user owns everything: a member of it owns it all too.
    sql(&db, "GRANT postgres TO jobber_app").await;
    let found = problems(&db).await;
    assert!(
        found.iter().any(
            |(p, f)| p == "jobber_app (a member of postgres) is a superuser"
                && f == "REVOKE postgres FROM jobber_app;"
        ),
        "{found:?}"
    );
    assert!(
        found.iter().any(|(p, _)| p.starts_with(
            "jobber_app (a member of postgres) owns tables with row-level security ("
        ) && p.contains(" more)")),
        "{found:?}"
    );
    sql(&db, "REVOKE postgres FROM jobber_app").await;
    assert_eq!(db.check_app_role().await.unwrap(), AppRoleCheck::Held);

    // Before the first migration there is nothing to check yet, and status says so.
    sql(&db, "DROP OWNED BY jobber_app").await;
    sql(&db, "DROP ROLE jobber_app").await;
    assert_eq!(db.check_app_role().await.unwrap(), AppRoleCheck::Missing);
    let status = jobber(&data_dir, &url, &["migrate", "status"], &[]);
    let stdout = String::from_utf8_lossy(&status.stdout);
    assert!(
        stdout.contains("app role: jobber_app does not exist yet"),
        "{stdout}"
    );
    db.close().await;
    let _ = std::fs::remove_dir_all(&data_dir);
}
