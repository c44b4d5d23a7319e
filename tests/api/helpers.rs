//! The test harness (ARCHITECTURE §5).
//!
//! One PostgreSQL server per test process, started from the host's binaries under a
//! shell that stops it and removes its files when this process exits (its stdin pipe
//! closes). As root, the server runs as `nobody`. The schema is migrated once into a
//! template database; each test gets a fresh clone.

use std::io::Write as _;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use jobber::app::{App, Listeners};
use jobber::config::{Config, Role, Signup};
use jobber::platform::database::Db;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

struct Server {
    socket_dir: PathBuf,
    // Kept open for the life of the process; its closing stops the server.
    _keeper: Mutex<(Child, std::process::ChildStdin)>,
}

static SERVER: OnceLock<Server> = OnceLock::new();
const TEMPLATE: &str = "jobber_template";

/// A fresh PostgreSQL cluster (initdb) in its own directory under the temp dir, owned
/// by `nobody` when the tests run as root (PostgreSQL refuses root).
struct Cluster {
    bin: PathBuf,
    dir: PathBuf,
    data: PathBuf,
    nobody: Option<nix::unistd::User>,
}

impl Cluster {
    fn init(name: &str) -> Self {
        let bin = jobber::platform::embedded::host_installation()
            .map(|dir| dir.join("bin"))
            .unwrap_or_else(|| {
                panic!(
                    "no PostgreSQL binaries found (install Debian's `postgresql`; `make test` does)"
                )
            });
        let dir = std::env::temp_dir().join(name);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
        let nobody = if nix::unistd::geteuid().is_root() {
            let user = nix::unistd::User::from_name("nobody")
                .ok()
                .flatten()
                .unwrap_or_else(|| panic!("running as root needs a `nobody` user"));
            nix::unistd::chown(&dir, Some(user.uid), Some(user.gid))
                .unwrap_or_else(|e| panic!("chown: {e}"));
            Some(user)
        } else {
            None
        };
        let cluster = Self {
            data: dir.join("data"),
            bin,
            dir,
            nobody,
        };
        let mut initdb = cluster.command("initdb");
        initdb
            .args([
                "-A",
                "trust",
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--no-sync",
                "-D",
            ])
            .arg(&cluster.data)
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let out = initdb.output().unwrap_or_else(|e| panic!("initdb: {e}"));
        assert!(
            out.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        cluster
    }

    /// One of the server's programs, run as the cluster's owner.
    fn command(&self, program: &str) -> Command {
        let mut command = Command::new(self.bin.join(program));
        if let Some(user) = &self.nobody {
            command.uid(user.uid.as_raw()).gid(user.gid.as_raw());
        }
        command
    }

    fn url(&self, database: &str) -> String {
        let host: String = self.dir.display().to_string().replace('/', "%2F");
        format!("postgres://postgres@localhost/{database}?host={host}")
    }
}

/// A PostgreSQL server of a test's own, which the test may stop and start again (the
/// shared server must never be stopped). Stopped and removed when dropped.
pub struct OwnPostgres {
    cluster: Cluster,
}

impl OwnPostgres {
    /// A new cluster with a database `jobber` migrated like the template, running.
    pub async fn start() -> Self {
        let own = Self {
            cluster: Cluster::init(&format!("jobber-own-pg-{}", Uuid::now_v7().simple())),
        };
        own.start_again();
        let admin = sqlx::PgPool::connect(&own.cluster.url("postgres"))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        sqlx::query("CREATE DATABASE jobber")
            .execute(&admin)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        admin.close().await;
        let db = Db::connect(&own.url(), 2)
            .await
            .unwrap_or_else(|e| panic!("{e:#}"));
        db.migrate().await.unwrap_or_else(|e| panic!("{e:#}"));
        db.close().await;
        own
    }

    /// The URL of its database `jobber`.
    pub fn url(&self) -> String {
        self.cluster.url("jobber")
    }

    /// `pg_ctl start`, waiting until it accepts connections.
    pub fn start_again(&self) {
        let out = self
            .cluster
            .command("pg_ctl")
            .arg("-D")
            .arg(&self.cluster.data)
            .arg("-o")
            .arg(format!(
                "-k {} -c listen_addresses='' -c fsync=off",
                self.cluster.dir.display()
            ))
            .arg("-l")
            .arg(self.cluster.dir.join("server.log"))
            .args(["-w", "start"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
            .unwrap_or_else(|e| panic!("pg_ctl: {e}"));
        assert!(
            out.status.success(),
            "pg_ctl start failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// `pg_ctl stop -m immediate`: the server is gone at once, as if it crashed.
    pub fn stop_immediate(&self) {
        let _ = self
            .cluster
            .command("pg_ctl")
            .arg("-D")
            .arg(&self.cluster.data)
            .args(["-m", "immediate", "-w", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

impl Drop for OwnPostgres {
    fn drop(&mut self) {
        self.stop_immediate();
        let _ = std::fs::remove_dir_all(&self.cluster.dir);
    }
}

fn server() -> &'static Server {
    SERVER.get_or_init(|| {
        let cluster = Cluster::init(&format!("jobber-test-pg-{}", std::process::id()));
        let (bin, dir, data) = (
            cluster.bin.clone(),
            cluster.dir.clone(),
            cluster.data.clone(),
        );
        let as_user = |command: &mut Command| {
            if let Some(user) = &cluster.nobody {
                command.uid(user.uid.as_raw()).gid(user.gid.as_raw());
            }
        };

        let script = r#"
            "$PG_BIN/postgres" -D "$PG_DATA" -k "$PG_DIR" -c listen_addresses='' -c fsync=off \
                -c synchronous_commit=off -c full_page_writes=off -c max_connections=300 \
                -c log_min_messages=warning >"$PG_DIR/server.log" 2>&1 &
            pid=$!
            read _ignored
            kill -INT "$pid" 2>/dev/null
            wait "$pid"
            rm -rf "$PG_DIR"
        "#;
        let mut keeper = Command::new("sh");
        keeper
            .arg("-c")
            .arg(script)
            .env("PG_BIN", &bin)
            .env("PG_DATA", &data)
            .env("PG_DIR", &dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        as_user(&mut keeper);
        let mut child = keeper
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start postgres: {e}"));
        let stdin = child.stdin.take().unwrap_or_else(|| panic!("no stdin"));
        let server = Server {
            socket_dir: dir.clone(),
            _keeper: Mutex::new((child, stdin)),
        };

        // Migrate the template on a runtime of its own (tests each have theirs).
        let url = server.url("postgres");
        let template_url = server.url(TEMPLATE);
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap_or_else(|e| panic!("{e}"));
            runtime.block_on(async move {
                let mut attempts = 0;
                let admin = loop {
                    match sqlx::PgPool::connect(&url).await {
                        Ok(pool) => break pool,
                        Err(e) if attempts < 100 => {
                            attempts += 1;
                            let _ = e;
                            tokio::time::sleep(Duration::from_millis(100)).await;
                        }
                        Err(e) => panic!(
                            "PostgreSQL did not start: {e} (see {}/server.log)",
                            dir.display()
                        ),
                    }
                };
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {TEMPLATE}")))
                    .execute(&admin)
                    .await
                    .unwrap_or_else(|e| panic!("{e}"));
                let db = Db::connect(&template_url, 2)
                    .await
                    .unwrap_or_else(|e| panic!("{e:#}"));
                db.migrate()
                    .await
                    .unwrap_or_else(|e| panic!("migrating the template: {e:#}"));
                db.close().await;
                admin.close().await;
            });
        })
        .join()
        .unwrap_or_else(|_| panic!("template setup failed"));
        server
    })
}

impl Server {
    fn url(&self, database: &str) -> String {
        let host: String = self.socket_dir.display().to_string().replace('/', "%2F");
        format!("postgres://postgres@localhost/{database}?host={host}")
    }
}

/// A fresh database cloned from the migrated template.
pub async fn fresh_database() -> String {
    let server = server();
    let name = format!("test_{}", Uuid::now_v7().simple());
    let admin = sqlx::PgPool::connect(&server.url("postgres"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "CREATE DATABASE {name} TEMPLATE {TEMPLATE}"
    )))
    .execute(&admin)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    admin.close().await;
    server.url(&name)
}

/// A fresh database with nothing in it (not even migrations).
pub async fn empty_database() -> String {
    let server = server();
    let name = format!("empty_{}", Uuid::now_v7().simple());
    let admin = sqlx::PgPool::connect(&server.url("postgres"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&admin)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    admin.close().await;
    server.url(&name)
}

/// The public address the test apps are configured with; nothing answers there.
pub const PUBLIC_URL: &str = "http://jobber.test";

pub fn test_config(data_dir: PathBuf) -> Config {
    Config {
        data_dir,
        database_url: None,
        listen: "127.0.0.1:0".parse().unwrap_or_else(|e| panic!("{e}")),
        admin_listen: "127.0.0.1:0".parse().unwrap_or_else(|e| panic!("{e}")),
        // Background workers only where a test asks for them (role All or Worker).
        role: Role::Api,
        signup: Signup::Open,
        user: "nobody".into(),
        log: "warn".into(),
        trusted_proxies: Vec::new(),
        public_url: PUBLIC_URL.into(),
        jwt_secret: None,
        db_max_connections: 5,
        db_acquire_timeout: jobber::platform::database::DEFAULT_ACQUIRE_TIMEOUT,
        db_slow_statement: jobber::platform::database::DEFAULT_SLOW_STATEMENT,
        embedded_pg_max_restarts: 3,
        max_body_bytes: 64 * 1024,
        encryption_key: None,
        stripe_api_base: jobber::config::STRIPE_API_BASE.into(),
        quickbooks: jobber::config::QuickBooksConfig::default(),
        jobs: jobber::config::JobsConfig::defaults(PUBLIC_URL),
        storage: Default::default(),
        twilio: jobber::config::TwilioConfig::default(),
        http: jobber::config::HttpConfig::default(),
    }
}

pub struct TestApp {
    pub addr: std::net::SocketAddr,
    pub admin_addr: std::net::SocketAddr,
    pub http: reqwest::Client,
    /// The owner's pool on this test's database (for assertions on raw rows).
    pub db: Db,
    /// This test's database (another app may be started on it: `spawn_app_on`).
    pub database_url: String,
    pub data_dir: PathBuf,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(configure: impl FnOnce(&mut Config)) -> TestApp {
    spawn_app_on(fresh_database().await, configure).await
}

/// An app on an existing database (e.g. a worker beside an API app).
pub async fn spawn_app_on(database_url: String, configure: impl FnOnce(&mut Config)) -> TestApp {
    jobber::cli::install_crypto_provider();
    let data_dir =
        std::env::temp_dir().join(format!("jobber-test-app-{}", Uuid::now_v7().simple()));
    std::fs::create_dir_all(&data_dir).unwrap_or_else(|e| panic!("{e}"));
    let mut config = test_config(data_dir.clone());
    configure(&mut config);
    let db = Db::connect_with(&database_url, &config.db_settings())
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let listeners = Listeners::bind(&config).unwrap_or_else(|e| panic!("{e:#}"));
    let app = App::build(config, db.clone(), listeners).unwrap_or_else(|e| panic!("{e:#}"));
    let addr = app.public_addr().unwrap_or_else(|e| panic!("{e}"));
    let admin_addr = app.admin_addr().unwrap_or_else(|e| panic!("{e}"));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.run_until_stopped(async move {
        let _ = stopped.await;
    }));
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    TestApp {
        addr,
        admin_addr,
        http,
        db,
        database_url,
        data_dir,
        stop: Some(stop),
    }
}

/// A response read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Reply {
    /// The problem's `code` (for errors).
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or_default()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    #[track_caller]
    pub fn expect(self, status: u16) -> Self {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status; body: {}",
            self.text
        );
        self
    }

    /// Assert a problem+json error with this status and code.
    #[track_caller]
    pub fn problem(self, status: u16, code: &str) -> Self {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status; body: {}",
            self.text
        );
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "body: {}",
            self.text
        );
        assert_eq!(self.code(), code, "body: {}", self.text);
        self
    }

    /// The `field` of each failing field.
    pub fn fields(&self) -> Vec<String> {
        self.body["errors"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|e| e["field"].as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Send a request and read its response whole.
pub async fn read_reply(request: reqwest::RequestBuilder) -> Reply {
    let response = request
        .send()
        .await
        .unwrap_or_else(|e| panic!("request failed: {e}"));
    let status = response.status();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap_or_default();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Reply {
        status,
        headers,
        body,
        text,
    }
}

/// A signed-in user.
#[derive(Debug, Clone)]
pub struct Session {
    pub token: String,
    pub refresh_token: String,
    pub account_id: String,
    pub user_id: String,
    pub email: String,
}

pub const PASSWORD: &str = "correct horse battery";

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The path and query of a link the app made on its public address (a signed
    /// download, a calendar feed), to request from this test's server.
    pub fn local_path(url: &str) -> &str {
        url.strip_prefix(PUBLIC_URL)
            .unwrap_or_else(|| panic!("{url} is not on {PUBLIC_URL}"))
    }

    /// GET a link the app made on its public address, from this test's server.
    pub async fn get_public(&self, url: &str) -> reqwest::Response {
        self.http
            .get(self.url(Self::local_path(url)))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Send a `multipart/form-data` body built by hand: (name, filename, bytes)
    /// parts, a file part when it has a filename.
    pub async fn multipart(
        &self,
        method: Method,
        path: &str,
        token: &str,
        parts: &[(&str, Option<&str>, &[u8])],
    ) -> Reply {
        self.multipart_with(method, path, token, parts, "jobber-test-boundary-7d1f", &[])
            .await
    }

    /// [`TestApp::multipart`] with a chosen boundary and extra headers.
    pub async fn multipart_with(
        &self,
        method: Method,
        path: &str,
        token: &str,
        parts: &[(&str, Option<&str>, &[u8])],
        boundary: &str,
        headers: &[(&str, &str)],
    ) -> Reply {
        let mut body = Vec::new();
        for (name, filename, bytes) in parts {
            body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
            match filename {
                Some(f) => body.extend_from_slice(
                    format!("Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\nContent-Type: application/octet-stream\r\n\r\n").as_bytes(),
                ),
                None => body.extend_from_slice(
                    format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
                ),
            }
            body.extend_from_slice(bytes);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        let mut request = self
            .http
            .request(method, self.url(path))
            .bearer_auth(token)
            .header(
                "content-type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(body);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        read_reply(request).await
    }

    pub async fn request(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let mut request = self.http.request(method, self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        read_reply(request).await
    }

    pub async fn get(&self, path: &str, token: &str) -> Reply {
        self.request(Method::GET, path, Some(token), None, &[])
            .await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Reply {
        self.request(Method::POST, path, Some(token), Some(body), &[])
            .await
    }

    pub async fn put(&self, path: &str, token: &str, body: Value) -> Reply {
        self.request(Method::PUT, path, Some(token), Some(body), &[])
            .await
    }

    pub async fn patch(&self, path: &str, token: &str, body: Value) -> Reply {
        self.request(Method::PATCH, path, Some(token), Some(body), &[])
            .await
    }

    pub async fn delete(&self, path: &str, token: &str) -> Reply {
        self.request(Method::DELETE, path, Some(token), None, &[])
            .await
    }

    pub async fn post_anon(&self, path: &str, body: Value) -> Reply {
        self.request(Method::POST, path, None, Some(body), &[])
            .await
    }

    /// Sign a new business up; returns its owner's session.
    pub async fn signup(&self, business: &str) -> Session {
        let email = format!("owner-{}@example.com", Uuid::now_v7().simple());
        let reply = self
            .post_anon("/api/v1/auth/signup", json!({"business_name": business, "name": "Olive Owner", "email": email, "password": PASSWORD}))
            .await
            .expect(201);
        Session {
            token: reply.body["access_token"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            refresh_token: reply.body["refresh_token"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            account_id: reply.body["account"]["id"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            user_id: reply.body["user"]["id"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            email,
        }
    }

    /// Add a user with `role` to the owner's account and log them in.
    pub async fn add_user(&self, owner: &Session, role: &str) -> Session {
        let email = format!("{role}-{}@example.com", Uuid::now_v7().simple());
        let created = self
            .post("/api/v1/users", &owner.token, json!({"name": format!("A {role}"), "email": email, "role": role, "password": PASSWORD}))
            .await
            .expect(201);
        let login = self
            .post_anon(
                "/api/v1/auth/login",
                json!({"email": email, "password": PASSWORD}),
            )
            .await
            .expect(200);
        Session {
            token: login.body["access_token"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            refresh_token: login.body["refresh_token"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            account_id: owner.account_id.clone(),
            user_id: created.body["id"].as_str().unwrap_or_default().to_string(),
            email,
        }
    }

    pub async fn create_client(&self, session: &Session, body: Value) -> Value {
        self.post("/api/v1/clients", &session.token, body)
            .await
            .expect(201)
            .body
    }

    pub async fn metrics(&self) -> String {
        let response = self
            .http
            .get(format!("http://{}/metrics", self.admin_addr))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        response.text().await.unwrap_or_default()
    }
}

/// Write to a child's stdin (for CLI tests).
pub fn write_stdin(child: &mut Child, text: &str) {
    if let Some(stdin) = child.stdin.as_mut() {
        let _ = stdin.write_all(text.as_bytes());
    }
}
