//! The real binary, as an operator runs it: a fresh data dir with embedded PostgreSQL,
//! SIGTERM, restart, data still there; a second server on the same data dir refused.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::{Value, json};

use crate::background::free_port;
use crate::helpers::PASSWORD;

/// `jobber serve` as a real process, stopped (SIGTERM) when dropped.
pub struct Server {
    pub child: Child,
    pub base: String,
    /// The admin listener, `http://127.0.0.1:port`.
    pub admin: String,
    pub log: std::path::PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = kill(Pid::from_raw(self.child.id() as i32), Signal::SIGTERM);
        let _ = self.child.wait();
    }
}

fn jobber(data_dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_jobber"));
    command
        .arg("--data-dir")
        .arg(data_dir)
        .env("JOBBER_LOG", "info")
        .env_remove("JOBBER_DATABASE_URL");
    command
}

async fn start(data_dir: &Path) -> Server {
    start_with(data_dir, &[]).await
}

/// `jobber serve` on `data_dir` with extra environment; its output goes to
/// `<data_dir>.<port>.log`.
pub async fn start_with(data_dir: &Path, env: &[(&str, &str)]) -> Server {
    jobber::cli::install_crypto_provider();
    let (port, admin) = (free_port(), free_port());
    let log = std::fs::File::create(data_dir.with_extension(format!("{port}.log"))).unwrap();
    let child = jobber(data_dir)
        .envs(env.iter().copied())
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--admin-listen",
            &format!("127.0.0.1:{admin}"),
        ])
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    let server = Server {
        child,
        base: format!("http://127.0.0.1:{port}"),
        admin: format!("http://127.0.0.1:{admin}"),
        log: data_dir.with_extension(format!("{port}.log")),
    };
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Ok(response) = http.get(format!("{}/readyz", server.base)).send().await
            && response.status() == 200
        {
            return server;
        }
        assert!(
            Instant::now() < deadline,
            "jobber did not become ready; see {}",
            data_dir.with_extension(format!("{port}.log")).display()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn stop(mut server: Server) -> std::process::ExitStatus {
    kill(Pid::from_raw(server.child.id() as i32), Signal::SIGTERM).unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "jobber did not stop after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn post(base: &str, path: &str, token: Option<&str>, body: Value) -> (u16, Value) {
    jobber::cli::install_crypto_provider();
    let mut request = reqwest::Client::new()
        .post(format!("{base}{path}"))
        .json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    (
        response.status().as_u16(),
        response.json().await.unwrap_or(Value::Null),
    )
}

/// Kill the embedded PostgreSQL's postmaster the hard way; returns its pid.
fn kill_postmaster(data_dir: &Path) -> i32 {
    let pid_file = std::fs::read_to_string(data_dir.join("postgres/postmaster.pid")).unwrap();
    let pid: i32 = pid_file.lines().next().unwrap().trim().parse().unwrap();
    kill(Pid::from_raw(pid), Signal::SIGKILL).unwrap();
    pid
}

fn log_has(server: &Server, level: &str, message: &str) -> bool {
    std::fs::read_to_string(&server.log)
        .unwrap_or_default()
        .lines()
        .any(|line| line.contains(&format!("\"level\":\"{level}\"")) && line.contains(message))
}

/// The embedded PostgreSQL killed under a request loop: jobber restarts it (with a
/// warning) and requests succeed again; meanwhile they answer `503
/// database_unavailable`, never 500. Killed more often than its restart budget
/// allows (lowered to 1 here), jobber exits non-zero with an error.
#[tokio::test]
async fn a_killed_embedded_postgres_is_restarted_within_a_budget() {
    let root =
        std::env::temp_dir().join(format!("jobber-pgkill-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&root).unwrap();
    let data_dir = root.join("data");
    let mut server = start_with(&data_dir, &[("JOBBER_EMBEDDED_PG_MAX_RESTARTS", "1")]).await;
    let (status, signup) = post(&server.base, "/api/v1/auth/signup", None, json!({"business_name": "Crash Lawn", "name": "Cora", "email": "cora@crash.example", "password": PASSWORD})).await;
    assert_eq!(status, 201, "{signup}");
    let token = signup["access_token"].as_str().unwrap().to_string();
    let http = reqwest::Client::new();
    let list = || async {
        let response = http
            .get(format!("{}/api/v1/clients", server.base))
            .bearer_auth(&token)
            .timeout(Duration::from_secs(10))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (
            status,
            response.json::<Value>().await.unwrap_or(Value::Null),
        )
    };
    assert_eq!(list().await.0, 200);

    let first = kill_postmaster(&data_dir);
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut unavailable = 0;
    loop {
        let started = Instant::now();
        let (status, body) = list().await;
        match status {
            200 if log_has(
                &server,
                "WARN",
                "the embedded PostgreSQL died; restarting it",
            ) =>
            {
                break;
            }
            200 => {}
            503 => {
                assert_eq!(body["code"], "database_unavailable", "{body}");
                assert!(started.elapsed() < Duration::from_secs(5));
                unavailable += 1;
            }
            other => panic!("status {other} while PostgreSQL restarts: {body}"),
        }
        assert!(
            Instant::now() < deadline,
            "PostgreSQL was not restarted; see {}",
            server.log.display()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Requests while it was down answered 503 at once (checked above); on a loaded
    // machine the restart can also be quicker than the next request, so none is seen.
    if unavailable == 0 {
        eprintln!("PostgreSQL came back before a request saw it down");
    }
    let second = std::fs::read_to_string(data_dir.join("postgres/postmaster.pid")).unwrap();
    assert_ne!(second.lines().next().unwrap().trim(), first.to_string());

    // Its budget spent, the next death stops jobber with an error (exit status 1), so
    // that the service manager restarts the whole service.
    kill_postmaster(&data_dir);
    let deadline = Instant::now() + Duration::from_secs(90);
    let status = loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "jobber did not give up; see {}",
            server.log.display()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(!status.success(), "exit status {status:?}");
    assert!(
        log_has(&server, "ERROR", "embedded PostgreSQL lost; exiting"),
        "see {}",
        server.log.display()
    );
    let _ = std::fs::remove_dir_all(&root);
}

#[tokio::test]
async fn binary_serves_survives_restart_and_guards_its_data_dir() {
    let root = std::env::temp_dir().join(format!("jobber-e2e-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&root).unwrap();
    let data_dir = root.join("data");

    let server = start(&data_dir).await;
    let (status, signup) = post(&server.base, "/api/v1/auth/signup", None, json!({"business_name": "E2E Lawn", "name": "Eve", "email": "eve@e2e.example", "password": PASSWORD})).await;
    assert_eq!(status, 201, "{signup}");
    let token = signup["access_token"].as_str().unwrap().to_string();
    let (status, client) = post(
        &server.base,
        "/api/v1/clients",
        Some(&token),
        json!({"first_name": "Persistent", "last_name": "Pat"}),
    )
    .await;
    assert_eq!(status, 201, "{client}");
    let client_id = client["id"].as_str().unwrap().to_string();

    // The data dir is private, the database password file 0600, PostgreSQL on a socket only.
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&data_dir).unwrap().permissions().mode() & 0o777,
        0o700
    );
    assert_eq!(
        std::fs::metadata(data_dir.join("postgres.password"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o600
    );
    assert!(
        data_dir.join("run/.s.PGSQL.5432").exists(),
        "PostgreSQL socket in the data dir"
    );
    assert!(
        std::net::TcpStream::connect("127.0.0.1:5432").is_err()
            || Path::new("/var/run/postgresql").exists(),
        "no TCP listener of ours"
    );
    assert!(
        data_dir.join("logs").read_dir().unwrap().next().is_some(),
        "log files in <data-dir>/logs"
    );

    // A second server on the same data dir fails fast with a clear message.
    let second = jobber(&data_dir)
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{}", free_port()),
            "--admin-listen",
            &format!("127.0.0.1:{}", free_port()),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert!(!second.status.success());
    let message = String::from_utf8_lossy(&second.stderr);
    assert!(message.contains("already using the data dir"), "{message}");

    // While it runs, the offline tools use its database.
    let status_out = jobber(&data_dir)
        .args(["migrate", "status", "--json"])
        .output()
        .unwrap();
    assert!(
        status_out.status.success(),
        "{}",
        String::from_utf8_lossy(&status_out.stderr)
    );
    let migrations: Value = serde_json::from_slice(&status_out.stdout).unwrap();
    assert!(
        migrations
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["state"] == "applied"),
        "{migrations}"
    );

    // SIGTERM: a clean stop with exit code 0.
    let status = stop(server).await;
    assert!(status.success(), "exit status {status:?}");

    // Started again on the same data dir, the client is still there.
    let server = start(&data_dir).await;
    let (status, login) = post(
        &server.base,
        "/api/v1/auth/login",
        None,
        json!({"email": "eve@e2e.example", "password": PASSWORD}),
    )
    .await;
    assert_eq!(status, 200, "{login}");
    let token = login["access_token"].as_str().unwrap();
    let read: Value = reqwest::Client::new()
        .get(format!("{}/api/v1/clients/{client_id}", server.base))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(read["display_name"], "Persistent Pat");
    assert!(stop(server).await.success());

    // Offline: create an account with the server stopped, then see it.
    let mut admin = jobber(&data_dir)
        .args([
            "admin",
            "create-account",
            "--business-name",
            "CLI Co",
            "--name",
            "Cli Owner",
            "--email",
            "cli@e2e.example",
            "--password-stdin",
            "--json",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    crate::helpers::write_stdin(&mut admin, &format!("{PASSWORD}\n"));
    let out = admin.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let created: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(created["user"]["role"], "owner");

    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn bad_configuration_exits_with_one_clear_line() {
    let dir = std::env::temp_dir().join(format!("jobber-cfg-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("jobber.toml");
    std::fs::write(&file, "listen = \"127.0.0.1:8080\"\nlisen = \"oops\"\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_jobber"))
        .arg("--config")
        .arg(&file)
        .args(["config", "show"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("lisen"), "{stderr}");

    let out = Command::new(env!("CARGO_BIN_EXE_jobber"))
        .args(["serve", "--listen", "not-an-address"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--listen"));

    // Precedence: flag > env > file; secrets redacted.
    std::fs::write(&file, "listen = \"127.0.0.1:1111\"\nsignup = \"closed\"\njwt_secret = \"0123456789abcdef0123456789abcdef-secret\"\ndatabase_url = \"postgres://app:hunter2@db/jobber\"\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_jobber"))
        .arg("--config")
        .arg(&file)
        .env("JOBBER_LISTEN", "127.0.0.1:2222")
        .env("JOBBER_SIGNUP", "open")
        .args(["config", "show", "--signup", "closed"])
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(shown.contains("listen = \"127.0.0.1:2222\""), "{shown}");
    assert!(shown.contains("signup = \"closed\""), "{shown}");
    assert!(
        !shown.contains("hunter2") && !shown.contains("-secret"),
        "{shown}"
    );

    let version = Command::new(env!("CARGO_BIN_EXE_jobber"))
        .arg("--version")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&version.stdout).contains(env!("CARGO_PKG_VERSION")));
    let _ = std::fs::remove_dir_all(&dir);
}

/// `jobber admin seed-demo --log warn` prints no slow-statement lines of its own: a
/// one-shot command's slow statements are info, shown only when asked for. Every
/// statement counts as slow here (threshold 0 ms), so the second half proves the
/// events exist and the first is not vacuous.
#[tokio::test]
async fn seed_demo_with_log_warn_prints_no_slow_statement_warnings() {
    let app = crate::helpers::spawn_app().await;
    let owner = app.signup("Demo Lawn").await;
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_jobber"))
            .args(args)
            .env("JOBBER_DATABASE_URL", &app.database_url)
            .env("JOBBER_DB_SLOW_STATEMENT_MS", "0")
            .env_remove("JOBBER_LOG")
            .output()
            .unwrap()
    };
    let out = run(&[
        "admin",
        "seed-demo",
        "--email",
        &owner.email,
        "--log",
        "warn",
        "--json",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(!stderr.contains("slow statement"), "{stderr}");
    let seeded: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(seeded["clients"], 1000);

    let out = run(&["migrate", "status", "--log", "info"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr
            .lines()
            .any(|line| line.contains("INFO") && line.contains("slow statement")),
        "{stderr}"
    );
}
