//! `jobber backup`: a backup of a live install restores into an empty database and
//! data dir with every table and every file equal; verify catches damage; prune keeps
//! the newest.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::helpers::{PASSWORD, empty_database, spawn_app, spawn_app_on};

fn jobber(database_url: &str, data_dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_jobber"))
        .args(args)
        .env("JOBBER_DATABASE_URL", database_url)
        .env("JOBBER_DATA_DIR", data_dir)
        .env("JOBBER_LOG", "warn")
        .output()
        .unwrap()
}

fn ok(out: Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn failed(out: Output) -> String {
    assert!(
        !out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Every table's row count and a digest of its rows in a stable order.
async fn tables(database_url: &str) -> BTreeMap<String, (i64, String)> {
    let pool = sqlx::PgPool::connect(database_url).await.unwrap();
    let names: Vec<(String, String)> = sqlx::query_as(
        "SELECT schemaname::text, tablename::text FROM pg_tables \
         WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let mut found = BTreeMap::new();
    for (schema, table) in names {
        let sql = format!(
            "SELECT count(*), md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '')) \
             FROM \"{schema}\".\"{table}\" t"
        );
        let row: (i64, String) = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .fetch_one(&pool)
            .await
            .unwrap();
        found.insert(format!("{schema}.{table}"), row);
    }
    pool.close().await;
    found
}

/// Every file under `dir` but `skip`, by relative path, with its SHA-256.
fn files(dir: &Path, skip: &str) -> BTreeMap<String, String> {
    fn walk(root: &Path, dir: &Path, skip: &str, out: &mut BTreeMap<String, String>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let relative = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            if relative == skip {
                continue;
            }
            if path.is_dir() {
                walk(root, &path, skip, out);
            } else {
                let digest = Sha256::digest(std::fs::read(&path).unwrap());
                out.insert(relative, format!("{digest:x}"));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, skip, &mut out);
    out
}

#[tokio::test]
async fn a_backup_restores_every_table_and_file_and_prune_keeps_the_newest() {
    let app = spawn_app().await;
    let owner = app.signup("Backup Lawn").await;
    // Data in every module: the demo (clients, properties, quotes, jobs, visits,
    // invoices, payments, messages…), a logo and an attachment (files), and an
    // encrypted setting (the data dir's key).
    ok(jobber(
        &app.database_url,
        &app.data_dir,
        &["admin", "seed-demo", "--email", &owner.email, "--json"],
    ));
    crate::pdfs::set_logo(&app, &owner).await;
    let client = app
        .create_client(&owner, json!({"first_name": "Ada", "last_name": "Byron"}))
        .await;
    let job = app
        .post(
            "/api/v1/jobs",
            &owner.token,
            json!({"client_id": client["id"], "title": "Hedge", "schedule": {"start_date": "2026-12-10", "start_time": "09:00"}}),
        )
        .await
        .expect(201)
        .body;
    let job_id = job["id"].as_str().unwrap();
    app.multipart(
        reqwest::Method::POST,
        &format!("/api/v1/jobs/{job_id}/attachments"),
        &owner.token,
        &[("file", Some("gate.png"), crate::pdfs::logo_png().as_slice())],
    )
    .await
    .expect(201);
    let files_dir = app.data_dir.join("files");
    let files_before = files(&files_dir, "backups");
    assert!(files_before.len() >= 2, "{files_before:?}");

    // A backup of the running install.
    let created: Value = serde_json::from_str(&ok(jobber(
        &app.database_url,
        &app.data_dir,
        &["backup", "create", "--json"],
    )))
    .unwrap();
    let id = created["id"].as_str().unwrap().to_string();
    assert_eq!(
        created["files"].as_u64().unwrap(),
        files_before.len() as u64
    );
    assert!(created["tables"]["public.clients"].as_i64().unwrap() >= 1001);
    let parts: Vec<&str> = created["parts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(parts, ["database.dump", "files.tar", "keys.tar"]);
    let tables_before = tables(&app.database_url).await;
    assert_eq!(
        tables_before.get("public.clients").map(|t| t.0),
        created["tables"]["public.clients"].as_i64()
    );

    let listed: Value = serde_json::from_str(&ok(jobber(
        &app.database_url,
        &app.data_dir,
        &["backup", "list", "--json"],
    )))
    .unwrap();
    assert_eq!(listed[0]["id"], id.as_str());
    assert_eq!(listed[0]["complete"], true);

    let verified = ok(jobber(
        &app.database_url,
        &app.data_dir,
        &["backup", "verify", &id],
    ));
    assert!(verified.contains("is good"), "{verified}");

    // Restore into an empty database and an empty data dir, from the backup's folder
    // (as after copying it off the machine).
    let folder = files_dir.join("backups").join(&id);
    let target_db = empty_database().await;
    let target_dir: PathBuf =
        std::env::temp_dir().join(format!("jobber-restore-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&target_dir).unwrap();
    let restored = ok(jobber(
        &target_db,
        &target_dir,
        &["backup", "restore", folder.to_str().unwrap()],
    ));
    assert!(
        restored.contains(&format!("restored backup {id}")),
        "{restored}"
    );

    assert_eq!(
        tables(&target_db).await,
        tables_before,
        "every table, row for row"
    );
    assert_eq!(files(&target_dir.join("files"), "backups"), files_before);
    for key in ["jwt.key", "encryption.key"] {
        assert_eq!(
            std::fs::read(target_dir.join(key)).unwrap(),
            std::fs::read(app.data_dir.join(key)).unwrap(),
            "{key}"
        );
    }

    // Not over anything: the database and the data dir are no longer empty.
    let refused = failed(jobber(
        &target_db,
        &target_dir,
        &["backup", "restore", folder.to_str().unwrap()],
    ));
    assert!(refused.contains("not empty"), "{refused}");
    let other_db = empty_database().await;
    let refused = failed(jobber(
        &other_db,
        &target_dir,
        &["backup", "restore", folder.to_str().unwrap()],
    ));
    assert!(
        refused.contains("restore into an empty data dir"),
        "{refused}"
    );

    // The restored install works: the owner signs in with their password, and the
    // logo is there.
    let target = target_dir.clone();
    let restored_app =
        spawn_app_on(target_db.clone(), move |config| config.data_dir = target).await;
    let login = restored_app
        .post_anon(
            "/api/v1/auth/login",
            json!({"email": owner.email, "password": PASSWORD}),
        )
        .await
        .expect(200);
    let token = login.body["access_token"].as_str().unwrap().to_string();
    let logo = restored_app
        .get("/api/v1/settings/logo", &token)
        .await
        .expect(307);
    let location = logo.header("location").unwrap().to_string();
    let served = restored_app.get_public(&location).await;
    assert_eq!(served.status(), 200);
    assert!(!served.bytes().await.unwrap().is_empty());
    let old_token_still_valid = restored_app.get("/api/v1/auth/me", &owner.token).await;
    assert_eq!(old_token_still_valid.status, 200, "the same signing key");
    drop(restored_app);

    // Damage is caught.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let second: Value = serde_json::from_str(&ok(jobber(
        &app.database_url,
        &app.data_dir,
        &["backup", "create", "--json"],
    )))
    .unwrap();
    let second_id = second["id"].as_str().unwrap().to_string();
    assert_ne!(second_id, id);
    let tar = folder.join("files.tar");
    let mut bytes = std::fs::read(&tar).unwrap();
    bytes[600] ^= 0xff;
    std::fs::write(&tar, bytes).unwrap();
    let damaged = failed(jobber(
        &app.database_url,
        &app.data_dir,
        &["backup", "verify", &id],
    ));
    assert!(damaged.contains("files.tar is damaged"), "{damaged}");

    // The worker's daily task takes one too (retention 30 days: nothing pruned yet).
    let mut config = crate::helpers::test_config(app.data_dir.clone());
    config.database_url = Some(app.database_url.clone().into());
    config.jobs.backup_retention_days = 30;
    let storage = jobber::platform::storage::Storage::from_config(&config, &[]).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let size = jobber::platform::backup::scheduled(&app.db, &config, &storage)
        .await
        .unwrap();
    assert!(size > 0);
    let listed: Value = serde_json::from_str(&ok(jobber(
        &app.database_url,
        &app.data_dir,
        &["backup", "list", "--json"],
    )))
    .unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 3, "{listed}");
    let newest = listed[0]["id"].as_str().unwrap().to_string();

    // Retention: everything older than 0 days goes, except the newest.
    let pruned = ok(jobber(
        &app.database_url,
        &app.data_dir,
        &["backup", "prune", "--keep-days", "0"],
    ));
    assert!(pruned.contains(&format!("removed {id}")), "{pruned}");
    let listed: Value = serde_json::from_str(&ok(jobber(
        &app.database_url,
        &app.data_dir,
        &["backup", "list", "--json"],
    )))
    .unwrap();
    let ids: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [newest.as_str()]);
    assert_ne!(newest, second_id);
    let _ = std::fs::remove_dir_all(&target_dir);
}
