//! Logs as an operator gets them from a real `jobber serve`: the level from the
//! environment, pretty or JSON lines on standard output, and JSON lines in daily files
//! under `<data-dir>/logs`, of which the newest `LOG_FILES_KEPT` are kept.

use std::time::Duration;

use jobber::platform::logging::LOG_FILES_KEPT;
use serde_json::Value;
use uuid::Uuid;

use crate::e2e::start_with;
use crate::helpers::fresh_database;

#[tokio::test]
async fn logs_go_to_stdout_at_the_chosen_level_and_format_and_to_daily_files_kept_two_weeks() {
    let database_url = fresh_database().await;
    let data_dir = std::env::temp_dir().join(format!("jobber-logs-{}", Uuid::now_v7().simple()));
    let logs = data_dir.join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    // Twenty earlier days' files, oldest written first.
    let old: Vec<String> = (1..=20)
        .map(|day| format!("jobber.2026-10-{day:02}.log"))
        .collect();
    for name in &old {
        std::fs::write(logs.join(name), "{\"message\":\"old\"}\n").unwrap();
        // Distinct creation times, in order.
        std::thread::sleep(Duration::from_millis(5));
    }

    // Pretty lines at info on stdout.
    let server = start_with(
        &data_dir,
        &[
            ("JOBBER_DATABASE_URL", &database_url),
            ("JOBBER_ROLE", "api"),
            ("JOBBER_LOG", "info"),
            ("JOBBER_LOG_FORMAT", "pretty"),
        ],
    )
    .await;
    let request_id = format!("logs-{}", Uuid::now_v7().simple());
    let reply = reqwest::Client::new()
        .get(format!("{}/healthz", server.base))
        .header("x-request-id", &request_id)
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 200);
    let stdout_path = server.log.clone();
    drop(server);
    let stdout = std::fs::read_to_string(&stdout_path).unwrap();
    assert!(
        stdout
            .lines()
            .any(|l| l.contains("INFO") && l.contains("starting") && !l.starts_with('{')),
        "{stdout}"
    );
    assert!(
        stdout
            .lines()
            .all(|l| serde_json::from_str::<Value>(l).is_err()),
        "pretty means no JSON on stdout: {stdout}"
    );

    // The files: today's (named by its UTC date: one a day), JSON whatever stdout is;
    // the oldest pruned so that at most LOG_FILES_KEPT remain.
    let today = format!("jobber.{}.log", chrono::Utc::now().format("%Y-%m-%d"));
    let mut names: Vec<String> = std::fs::read_dir(&logs)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert!(names.contains(&today), "{names:?}");
    assert!(names.len() <= LOG_FILES_KEPT, "{names:?}");
    assert!(!names.contains(&old[0]), "the oldest is pruned: {names:?}");
    assert!(
        names.contains(&old[19]),
        "the newest old one stays: {names:?}"
    );
    let file = std::fs::read_to_string(logs.join(&today)).unwrap();
    let lines: Vec<Value> = file
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert!(
        lines.iter().any(|l| l["message"] == "request"
            && l["span"]["request_id"] == request_id.as_str()
            && l["level"] == "INFO"),
        "{file}"
    );

    // JSON on stdout at warn: no info lines.
    let server = start_with(
        &data_dir,
        &[
            ("JOBBER_DATABASE_URL", &database_url),
            ("JOBBER_ROLE", "api"),
            ("JOBBER_LOG", "warn"),
        ],
    )
    .await;
    let stdout_path = server.log.clone();
    drop(server);
    let stdout = std::fs::read_to_string(&stdout_path).unwrap();
    for line in stdout.lines().filter(|l| l.starts_with('{')) {
        let line: Value = serde_json::from_str(line).unwrap();
        assert!(
            line["level"] == "WARN" || line["level"] == "ERROR",
            "{line}"
        );
    }
    assert!(!stdout.contains("\"starting\""), "{stdout}");
    let _ = std::fs::remove_file(&stdout_path);
    let _ = std::fs::remove_dir_all(&data_dir);
}
