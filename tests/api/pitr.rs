//! Point-in-time recovery in embedded mode: a real `jobber serve` archives its WAL,
//! `jobber backup create` takes a base backup, and `jobber backup restore --to-time T`
//! into an empty data dir brings back what was committed before T and nothing after.

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::e2e::{Server, start_with};
use crate::helpers::PASSWORD;

fn jobber(data_dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_jobber"))
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .env("JOBBER_LOG", "warn")
        .env_remove("JOBBER_DATABASE_URL")
        .output()
        .unwrap()
}

fn ok(out: Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

async fn send(
    server: &Server,
    method: reqwest::Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = reqwest::Client::new().request(method, format!("{}{path}", server.base));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    (
        response.status().as_u16(),
        response.json().await.unwrap_or(Value::Null),
    )
}

async fn create_client(server: &Server, token: &str, first_name: &str) -> String {
    let (status, client) = send(
        server,
        reqwest::Method::POST,
        "/api/v1/clients",
        Some(token),
        Some(json!({"first_name": first_name, "last_name": "Pitr"})),
    )
    .await;
    assert_eq!(status, 201, "{client}");
    client["id"].as_str().unwrap().to_string()
}

/// The archived WAL files under a data dir's local store.
fn archived(data_dir: &Path) -> Vec<String> {
    let mut names = Vec::new();
    let root = data_dir.join("files/backups/wal");
    for timeline in std::fs::read_dir(&root).into_iter().flatten().flatten() {
        for file in std::fs::read_dir(timeline.path()).unwrap().flatten() {
            names.push(file.file_name().to_string_lossy().into_owned());
        }
    }
    names.sort();
    names
}

#[tokio::test]
async fn restore_to_time_recovers_what_was_committed_before_it() {
    jobber::cli::install_crypto_provider();
    let root = std::env::temp_dir().join(format!("jobber-pitr-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&root).unwrap();
    let data_dir = root.join("data");
    // No daily backup from the worker (this test takes its own), but the WAL archived.
    let server = start_with(
        &data_dir,
        &[
            ("JOBBER_BACKUP_RETENTION_DAYS", "0"),
            ("JOBBER_WAL_ARCHIVE", "on"),
        ],
    )
    .await;
    let (status, signup) = send(
        &server,
        reqwest::Method::POST,
        "/api/v1/auth/signup",
        None,
        Some(json!({"business_name": "Pitr Lawn", "name": "Pia", "email": "pia@pitr.example", "password": PASSWORD})),
    )
    .await;
    assert_eq!(status, 201, "{signup}");
    let token = signup["access_token"].as_str().unwrap().to_string();
    let before_backup = create_client(&server, &token, "Early").await;

    // A backup of the running server carries a base backup of its cluster.
    let created: Value =
        serde_json::from_str(&ok(jobber(&data_dir, &["backup", "create", "--json"]))).unwrap();
    let id = created["id"].as_str().unwrap().to_string();
    let parts: Vec<&str> = created["parts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        parts,
        [
            "database.dump",
            "files.tar",
            "keys.tar",
            "postgres-base.tar",
            "postgres-wal.tar"
        ]
    );
    let start_wal = created["base_backup"]["start_wal"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(start_wal.len(), 24, "{created}");

    // A after the base backup (only the WAL has it), then T, then B.
    let alpha = create_client(&server, &token, "Alpha").await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let target = chrono::Utc::now();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let beta = create_client(&server, &token, "Beta").await;

    // Close the segment holding B and wait for the archiver to copy it.
    let url = jobber::platform::embedded::EmbeddedPostgres::running_url(&data_dir).unwrap();
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    let segment: String = sqlx::query_scalar("SELECT pg_walfile_name(pg_switch_wal())")
        .fetch_one(&pool)
        .await
        .unwrap();
    pool.close().await;
    let archived_at = Instant::now();
    let wanted = format!("{segment}.gz");
    while !archived(&data_dir).contains(&wanted) {
        assert!(
            archived_at.elapsed() < Duration::from_secs(60),
            "{segment} not archived within a minute: {:?}; see {}",
            archived(&data_dir),
            data_dir.join("postgres/start.log").display()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    eprintln!(
        "segment archived {:?} after pg_switch_wal",
        archived_at.elapsed()
    );

    // Restore to T into an empty data dir, from the backup's folder and the WAL beside it.
    let restored_dir = root.join("restored");
    let folder = data_dir.join("files/backups").join(&id);
    let started = Instant::now();
    let out = ok(jobber(
        &restored_dir,
        &[
            "backup",
            "restore",
            "--to-time",
            &target.to_rfc3339(),
            folder.to_str().unwrap(),
        ],
    ));
    eprintln!("restore --to-time took {:?}: {out}", started.elapsed());
    assert!(out.contains(&format!("from backup {id}")), "{out}");

    // Not over a data dir that holds a database.
    let refused = jobber(
        &restored_dir,
        &[
            "backup",
            "restore",
            "--to-time",
            &target.to_rfc3339(),
            folder.to_str().unwrap(),
        ],
    );
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("empty data dir"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );

    // The restored install runs: the owner signs in, A is there, B is not.
    let restored = start_with(
        &restored_dir,
        &[
            ("JOBBER_BACKUP_RETENTION_DAYS", "0"),
            ("JOBBER_WAL_ARCHIVE", "on"),
        ],
    )
    .await;
    let (status, login) = send(
        &restored,
        reqwest::Method::POST,
        "/api/v1/auth/login",
        None,
        Some(json!({"email": "pia@pitr.example", "password": PASSWORD})),
    )
    .await;
    assert_eq!(status, 200, "{login}");
    let restored_token = login["access_token"].as_str().unwrap().to_string();
    for (client, expected) in [(&before_backup, 200), (&alpha, 200), (&beta, 404)] {
        let (status, body) = send(
            &restored,
            reqwest::Method::GET,
            &format!("/api/v1/clients/{client}"),
            Some(&restored_token),
            None,
        )
        .await;
        assert_eq!(status, expected, "client {client}: {body}");
    }
    // It keeps archiving, on a new timeline.
    let restored_url =
        jobber::platform::embedded::EmbeddedPostgres::running_url(&restored_dir).unwrap();
    let pool = sqlx::PgPool::connect(&restored_url).await.unwrap();
    let timeline: String =
        sqlx::query_scalar("SELECT substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8)")
            .fetch_one(&pool)
            .await
            .unwrap();
    pool.close().await;
    assert_eq!(timeline, "00000002");
    drop(restored);

    // Prune: with a newer base backup kept alone, the WAL before it goes.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let second: Value =
        serde_json::from_str(&ok(jobber(&data_dir, &["backup", "create", "--json"]))).unwrap();
    let second_start = second["base_backup"]["start_wal"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(second_start > start_wal);
    let pruned = ok(jobber(&data_dir, &["backup", "prune", "--keep-days", "0"]));
    assert!(pruned.contains(&format!("removed {id}")), "{pruned}");
    let left = archived(&data_dir);
    assert!(
        left.iter().all(|name| name[8..24] >= second_start[8..24]),
        "{left:?}"
    );
    drop(server);
    let _ = std::fs::remove_dir_all(&root);
}
