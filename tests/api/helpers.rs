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

    /// The directory the cluster lives in (its socket too), writable by the server's
    /// user: a test's replica of it goes here (tests/api/replica.rs).
    pub fn dir(&self) -> &std::path::Path {
        &self.cluster.dir
    }

    /// One of the server's programs (`pg_basebackup`, `pg_ctl`), run as its user.
    pub fn command(&self, program: &str) -> Command {
        self.cluster.command(program)
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
        config_file: None,
        data_dir,
        tls: None,
        acme: None,
        database_url: None,
        listen: "127.0.0.1:0".parse().unwrap_or_else(|e| panic!("{e}")),
        admin_listen: "127.0.0.1:0".parse().unwrap_or_else(|e| panic!("{e}")),
        // Background workers only where a test asks for them (role All or Worker).
        role: Role::Api,
        signup: Signup::Open,
        user: "nobody".into(),
        log: "warn".into(),
        log_format: jobber::config::LogFormat::Json,
        trusted_proxies: Vec::new(),
        public_url: PUBLIC_URL.into(),
        otlp_endpoint: None,
        otlp_headers: Vec::new(),
        allow_unsafe_db_role: false,
        jwt_secret: None,
        db_max_connections: 5,
        db_acquire_timeout: jobber::platform::database::DEFAULT_ACQUIRE_TIMEOUT,
        db_slow_statement: jobber::platform::database::DEFAULT_SLOW_STATEMENT,
        embedded_pg_max_restarts: 3,
        max_body_bytes: 64 * 1024,
        ui_dir: None,
        encryption_key: None,
        admin_token: None,
        stripe_api_base: jobber::config::STRIPE_API_BASE.into(),
        quickbooks: jobber::config::QuickBooksConfig::default(),
        // No scheduled backups in the worker tests (tests/api/backup.rs runs one).
        jobs: jobber::config::JobsConfig {
            backup_retention_days: 0,
            wal_archive: false,
            ..jobber::config::JobsConfig::defaults(PUBLIC_URL)
        },
        storage: Default::default(),
        twilio: jobber::config::TwilioConfig::default(),
        http: jobber::config::HttpConfig::default(),
        redis_url: None,
        replica: None,
        // Request limits only where a test is about them (tests/api/rate_limits.rs);
        // the login throttle holds everywhere.
        rate_limits: jobber::config::RateLimitConfig::disabled(),
        caches: jobber::platform::cache::Limits::default(),
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

impl TestApp {
    /// A handle on a `jobber serve` this test started as a process on
    /// `database_url`: the same request helpers, no server of its own.
    pub async fn attach(
        addr: std::net::SocketAddr,
        admin_addr: std::net::SocketAddr,
        database_url: &str,
    ) -> TestApp {
        let data_dir =
            std::env::temp_dir().join(format!("jobber-test-attach-{}", Uuid::now_v7().simple()));
        std::fs::create_dir_all(&data_dir).unwrap_or_else(|e| panic!("{e}"));
        let settings = test_config(data_dir.clone()).db_settings();
        let db = Db::connect_with(database_url, &settings)
            .await
            .unwrap_or_else(|e| panic!("{e:#}"));
        TestApp {
            addr,
            admin_addr,
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap_or_else(|e| panic!("{e}")),
            db,
            database_url: database_url.to_owned(),
            data_dir,
            stop: None,
        }
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

/// Send a request and read its response whole. A response from `/api/v1/…` must be
/// one the OpenAPI document declares (see [`check_contract`]).
pub async fn read_reply(request: reqwest::RequestBuilder) -> Reply {
    let (client, request) = request.build_split();
    let request = request.unwrap_or_else(|e| panic!("cannot build the request: {e}"));
    let method = request.method().clone();
    let url = request.url().clone();
    let response = client
        .execute(request)
        .await
        .unwrap_or_else(|e| panic!("request failed: {e}"));
    let status = response.status();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap_or_default();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    let reply = Reply {
        status,
        headers,
        body,
        text,
    };
    check_contract(&method, &url, &reply).await;
    reply
}

/// The OpenAPI document, fetched once per test process: every app serves the same one.
static DOCUMENT: tokio::sync::OnceCell<Value> = tokio::sync::OnceCell::const_new();

async fn document(url: &reqwest::Url) -> &'static Value {
    DOCUMENT
        .get_or_init(|| async {
            let mut url = url.clone();
            url.set_path("/api/v1/openapi.json");
            url.set_query(None);
            let response = reqwest::get(url)
                .await
                .unwrap_or_else(|e| panic!("fetching the OpenAPI document: {e}"));
            response
                .json()
                .await
                .unwrap_or_else(|e| panic!("the OpenAPI document is not JSON: {e}"))
        })
        .await
}

/// Fail the test unless the response is one the document declares for its operation.
pub async fn check_contract(method: &Method, url: &reqwest::Url, reply: &Reply) {
    let path = url.path();
    if !path.starts_with("/api/v1/") || path == "/api/v1/openapi.json" {
        return;
    }
    if let Err(violation) = contract(document(url).await, method, path, reply) {
        panic!("contract: {violation}");
    }
}

/// Whether `reply` is a response the document declares for `method path`: the status,
/// the content type and (for JSON) the body's schema.
pub fn contract(doc: &Value, method: &Method, path: &str, reply: &Reply) -> Result<(), String> {
    // The router's own fallbacks (no such route, or not with this method, or a worker
    // pod that serves no API) answer for no operation.
    if matches!(reply.code(), "not_found" | "method_not_allowed") {
        return Ok(());
    }
    let method_key = method.as_str().to_ascii_lowercase();
    let at = format!("{method} {path} answered {}", reply.status.as_u16());
    let Some((template, op)) = operation(doc, &method_key, path) else {
        return Err(format!(
            "{at}, but the OpenAPI document has no {method} {path}"
        ));
    };
    let at = format!(
        "{method} {template} ({path}) answered {}",
        reply.status.as_u16()
    );
    let status = reply.status.as_u16().to_string();
    let Some(declared) = op["responses"].get(&status) else {
        return Err(format!(
            "{at}, a status the document does not declare for it (declared: {}); body: {}",
            op["responses"]
                .as_object()
                .map(|r| r.keys().cloned().collect::<Vec<_>>().join(", "))
                .unwrap_or_default(),
            reply.text
        ));
    };
    let declared = resolve(doc, declared);
    // The document declares a header only where the server always sends it, except
    // `WWW-Authenticate`: a 401 about an operation's own credentials (not the bearer
    // token) has none.
    for name in declared["headers"]
        .as_object()
        .into_iter()
        .flat_map(|h| h.keys())
    {
        if reply.header(name).is_none() && !name.eq_ignore_ascii_case("www-authenticate") {
            return Err(format!("{at} without the declared header {name}"));
        }
    }
    let content_type = reply.header("content-type").map(|c| {
        c.split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase()
    });
    let content = declared["content"].as_object().filter(|c| !c.is_empty());
    let Some(content) = content else {
        if reply.text.is_empty() {
            return Ok(());
        }
        return Err(format!(
            "{at} with a body ({content_type:?}) where the document declares none: {}",
            reply.text
        ));
    };
    let Some(content_type) = content_type else {
        return Err(format!(
            "{at} without a Content-Type; declared: {:?}",
            content.keys().collect::<Vec<_>>()
        ));
    };
    let media = content.get(&content_type).or_else(|| {
        let wildcard = format!("{}/*", content_type.split('/').next().unwrap_or_default());
        content.get(&wildcard).or_else(|| content.get("*/*"))
    });
    let Some(media) = media else {
        return Err(format!(
            "{at} as {content_type}, but the document declares {:?}; body: {}",
            content.keys().collect::<Vec<_>>(),
            reply.text
        ));
    };
    let is_json = content_type == "application/json" || content_type.ends_with("+json");
    let Some(schema) = media.get("schema").filter(|_| is_json) else {
        return Ok(());
    };
    let body: Value = serde_json::from_str(&reply.text).map_err(|e| {
        format!(
            "{at} as {content_type} with a body that is not JSON ({e}): {}",
            reply.text
        )
    })?;
    let mut errors = Vec::new();
    validate(doc, schema, &body, "", &mut errors);
    if errors.is_empty() {
        return Ok(());
    }
    errors.truncate(12);
    Err(format!(
        "{at} with a body that does not match its declared schema:\n  {}\nbody: {}",
        errors.join("\n  "),
        reply.text
    ))
}

/// The operation for `method` whose path template matches `path` (the most literal
/// template when several do).
fn operation<'a>(doc: &'a Value, method: &str, path: &str) -> Option<(&'a str, &'a Value)> {
    let segments: Vec<&str> = path.split('/').collect();
    let mut best: Option<(usize, &str, &Value)> = None;
    for (template, item) in doc["paths"].as_object()? {
        let parts: Vec<&str> = template.split('/').collect();
        if parts.len() != segments.len() {
            continue;
        }
        let mut literal = 0;
        let matches = parts.iter().zip(&segments).all(|(part, segment)| {
            if part.starts_with('{') && part.ends_with('}') {
                !segment.is_empty()
            } else {
                literal += 1;
                part == segment
            }
        });
        if let (true, Some(op)) = (matches, item.get(method))
            && best.is_none_or(|(l, _, _)| literal > l)
        {
            best = Some((literal, template, op));
        }
    }
    best.map(|(_, template, op)| (template, op))
}

/// Follow `$ref`s (`#/components/...`) to the value they name.
fn resolve<'a>(doc: &'a Value, mut value: &'a Value) -> &'a Value {
    for _ in 0..32 {
        match value.get("$ref").and_then(Value::as_str) {
            Some(reference) => {
                value = reference
                    .strip_prefix('#')
                    .and_then(|pointer| doc.pointer(pointer))
                    .unwrap_or_else(|| panic!("contract: unresolved $ref {reference}"));
            }
            None => break,
        }
    }
    value
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// The property names an object schema allows, through `$ref` and `allOf`; `None`
/// when it cannot tell (then unknown properties are not reported).
fn known_properties(doc: &Value, schema: &Value, out: &mut Vec<String>) -> Option<()> {
    let schema = resolve(doc, schema);
    if schema.get("oneOf").is_some()
        || schema.get("anyOf").is_some()
        || schema
            .get("additionalProperties")
            .is_some_and(|a| *a != json!(false))
    {
        return None;
    }
    if let Some(properties) = schema["properties"].as_object() {
        out.extend(properties.keys().cloned());
    }
    for branch in schema["allOf"].as_array().into_iter().flatten() {
        known_properties(doc, branch, out)?;
    }
    Some(())
}

/// A small JSON Schema (2020-12, as OpenAPI 3.1 uses it) validator: `$ref`, `type`
/// (one or a list), `nullable`, `enum`, `const`, `properties`, `required`,
/// `additionalProperties`, `items`, `allOf`, `anyOf`, `oneOf` (as "at least one",
/// like a lenient client) and the formats `uuid`, `date-time` and `date`. An object
/// may not carry a property its schema does not name: a client generated from the
/// document would not know it.
fn validate(doc: &Value, schema: &Value, value: &Value, at: &str, errors: &mut Vec<String>) {
    let schema = resolve(doc, schema);
    let here = if at.is_empty() { "/" } else { at };
    if schema == &json!(true) || schema.as_object().is_some_and(|s| s.is_empty()) {
        return;
    }
    if schema == &json!(false) {
        errors.push(format!("{here}: no value is allowed here"));
        return;
    }
    if value.is_null() && schema["nullable"] == json!(true) {
        return;
    }
    if let Some(types) = match &schema["type"] {
        Value::String(t) => Some(vec![t.as_str()]),
        Value::Array(ts) => Some(ts.iter().filter_map(Value::as_str).collect()),
        _ => None,
    } {
        let actual = type_name(value);
        let ok = types
            .iter()
            .any(|t| *t == actual || (*t == "number" && actual == "integer"));
        if !ok {
            errors.push(format!(
                "{here}: expected {}, got {actual} {value}",
                types.join(" or ")
            ));
            return;
        }
    }
    if let Some(options) = schema["enum"].as_array()
        && !options.contains(value)
    {
        errors.push(format!("{here}: {value} is not one of {}", schema["enum"]));
    }
    if let Some(constant) = schema.get("const")
        && constant != value
    {
        errors.push(format!("{here}: expected {constant}, got {value}"));
    }
    if let (Some(format), Some(text)) = (schema["format"].as_str(), value.as_str()) {
        let ok = match format {
            "uuid" => Uuid::parse_str(text).is_ok(),
            "date-time" => chrono::DateTime::parse_from_rfc3339(text).is_ok(),
            "date" => chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").is_ok(),
            _ => true,
        };
        if !ok {
            errors.push(format!("{here}: {value} is not a {format}"));
        }
    }
    for branch in schema["allOf"].as_array().into_iter().flatten() {
        validate_branch(doc, branch, value, at, errors);
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(branches) = schema[key].as_array() {
            let mut attempts = Vec::new();
            let matched = branches.iter().any(|branch| {
                let mut branch_errors = Vec::new();
                validate(doc, branch, value, at, &mut branch_errors);
                let ok = branch_errors.is_empty();
                attempts.push(branch_errors.join("; "));
                ok
            });
            if !matched {
                errors.push(format!(
                    "{here}: matches none of {key}: [{}]",
                    attempts.join("] or [")
                ));
            }
        }
    }
    if let Value::Object(object) = value {
        let properties = schema["properties"].as_object();
        for name in schema["required"].as_array().into_iter().flatten() {
            if let Some(name) = name.as_str()
                && !object.contains_key(name)
            {
                errors.push(format!("{at}/{name}: required, but missing"));
            }
        }
        for (name, item) in object {
            let pointer = format!("{at}/{name}");
            match properties.and_then(|p| p.get(name)) {
                Some(property) => validate(doc, property, item, &pointer, errors),
                None => match schema.get("additionalProperties") {
                    Some(Value::Bool(false)) => errors.push(format!(
                        "{pointer}: not allowed (additionalProperties: false)"
                    )),
                    Some(extra @ Value::Object(_)) => validate(doc, extra, item, &pointer, errors),
                    Some(_) => {}
                    // Without `additionalProperties`, a property the schema does not name
                    // is undeclared (unless `allOf`/`anyOf` compose the object).
                    None => {
                        let mut known = Vec::new();
                        if known_properties(doc, schema, &mut known).is_some()
                            && (properties.is_some() || schema.get("allOf").is_some())
                            && !known.iter().any(|k| k == name)
                        {
                            errors
                                .push(format!("{pointer}: a property the schema does not declare"));
                        }
                    }
                },
            }
        }
    }
    if let (Value::Array(items), Some(item_schema)) = (value, schema.get("items")) {
        for (i, item) in items.iter().enumerate() {
            validate(doc, item_schema, item, &format!("{at}/{i}"), errors);
        }
    }
}

/// The complaint about a property its object's schema does not name.
const UNDECLARED: &str = "a property the schema does not declare";

/// An `allOf` branch: its own checks, but a property of this object that another
/// branch names is not "undeclared" (the parent checks the union of the branches).
fn validate_branch(doc: &Value, branch: &Value, value: &Value, at: &str, errors: &mut Vec<String>) {
    let mut branch_errors = Vec::new();
    validate(doc, branch, value, at, &mut branch_errors);
    let prefix = format!("{at}/");
    let suffix = format!(": {UNDECLARED}");
    errors.extend(branch_errors.into_iter().filter(|e| {
        let own_property = e
            .strip_prefix(&prefix)
            .and_then(|rest| rest.strip_suffix(&suffix))
            .is_some_and(|name| !name.contains('/'));
        !own_property
    }));
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

    /// The value of the sample `sample` (a metric's name and labels, as printed) on
    /// `/metrics`, if the process reports it.
    pub async fn sample(&self, sample: &str) -> Option<f64> {
        self.metrics()
            .await
            .lines()
            .find_map(|line| line.strip_prefix(sample)?.strip_prefix(' '))
            .and_then(|value| value.trim().parse().ok())
    }

    /// A job for the client in `job` (its body: `client_id`, `title`, lines...) with
    /// one visit at 08:00 on 2026-05-04 assigned to `tech`, overlaps allowed: the job
    /// as created, and its visit's id.
    pub async fn assigned_job(
        &self,
        owner: &Session,
        mut job: Value,
        tech: &Session,
    ) -> (Value, String) {
        job["schedule"] = json!({"start_date": "2026-05-04", "start_time": "08:00",
            "assignee_ids": [tech.user_id], "allow_overlap": true});
        let job = self
            .post("/api/v1/jobs", &owner.token, job)
            .await
            .expect(201)
            .body;
        let visit = job["visits"][0]["id"].as_str().unwrap().to_owned();
        (job, visit)
    }

    /// A client (Cara Card, cara@example.com) with a one-line invoice of `cents`
    /// (no tax), sent: the invoice's id.
    pub async fn sent_invoice(&self, owner: &Session, cents: i64) -> String {
        let client = self
            .create_client(owner, json!({"first_name": "Cara", "last_name": "Card", "emails": [{"address": "cara@example.com"}]}))
            .await;
        let invoice = self
            .post("/api/v1/invoices", &owner.token, json!({"client_id": client["id"], "title": "Gutters", "lines": [{"name": "Gutters", "quantity": 1, "unit_price": cents}], "tax_rate_ids": []}))
            .await
            .expect(201)
            .body;
        let id = invoice["id"].as_str().unwrap().to_owned();
        self.post(
            &format!("/api/v1/invoices/{id}/send"),
            &owner.token,
            json!({}),
        )
        .await
        .expect(200);
        id
    }

    /// A technician added to `owner`'s account, a client (Ana Paz) and a job titled
    /// `title` for her whose one visit is the technician's ([`TestApp::assigned_job`]).
    pub async fn technician_with_visit(&self, owner: &Session, title: &str) -> Assigned {
        let tech = self.add_user(owner, "technician").await;
        let client = self
            .create_client(owner, json!({"first_name": "Ana", "last_name": "Paz"}))
            .await;
        let (job, visit) = self
            .assigned_job(
                owner,
                json!({"client_id": client["id"], "title": title}),
                &tech,
            )
            .await;
        Assigned {
            tech,
            client,
            job,
            visit,
        }
    }
}

/// How a transaction that raised an event ends ([`TestApp::raise`]).
#[derive(Debug, Clone, Copy)]
pub enum Ending {
    Commit,
    Rollback,
    /// Dropped without a commit, as an error's `?` leaves it.
    Drop,
}

impl TestApp {
    /// Raise `event` in a tenant transaction of `account` and end it as `ending`
    /// says, with `actor` acting (none: outside any `acting` scope).
    pub async fn raise(
        &self,
        account: Uuid,
        event: jobber::platform::events::Event,
        actor: Option<jobber::platform::events::Actor>,
        ending: Ending,
    ) {
        let work = async {
            let mut tx = self.db.tenant(account).await.unwrap();
            tx.raise(event);
            match ending {
                Ending::Commit => tx.commit().await.unwrap(),
                Ending::Rollback => tx.rollback().await.unwrap(),
                Ending::Drop => drop(tx),
            }
        };
        match actor {
            Some(actor) => jobber::platform::events::acting(Some(actor), work).await,
            None => work.await,
        }
    }
}

/// A technician with one visit of their own ([`TestApp::technician_with_visit`]).
pub struct Assigned {
    pub tech: Session,
    pub client: Value,
    pub job: Value,
    pub visit: String,
}

/// The JWT secret the pods of one deployment share (tests that run several).
pub const FLEET_SECRET: &str = "one secret for every pod of the fleet";

/// Configure a process as a pod of the test's fleet (the shared [`FLEET_SECRET`]).
pub fn fleet_pod(config: &mut Config) {
    config.jwt_secret = Some(FLEET_SECRET.into());
}

/// Changes are published only once a process's event relay listens: make one with
/// `poke` until `heard` (waiting at most the time it is given) hears an event, then
/// drain what the earlier pokes still deliver.
pub async fn until_heard(
    mut poke: impl AsyncFnMut(),
    mut heard: impl AsyncFnMut(Duration) -> bool,
) {
    for _ in 0..40 {
        poke().await;
        if heard(Duration::from_millis(500)).await {
            while heard(Duration::from_millis(300)).await {}
            return;
        }
    }
    panic!("no event was ever heard");
}

/// Write to a child's stdin (for CLI tests).
pub fn write_stdin(child: &mut Child, text: &str) {
    if let Some(stdin) = child.stdin.as_mut() {
        let _ = stdin.write_all(text.as_bytes());
    }
}
