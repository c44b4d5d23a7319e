//! Effective configuration: flags > `JOBBER_*` environment > `jobber.toml` > defaults.
//!
//! Every secret may also be given as a file (`JOBBER_<NAME>_FILE`), the way Docker and
//! Kubernetes mount secrets. Secrets are `SecretString` and never printed.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use clap::{Args, ValueEnum};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

mod ipnet;
pub use ipnet::{IpNet, any_contains};

/// Which parts of the program this process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// API and background workers in one process (the single-box appliance).
    All,
    /// Only the HTTP API (background workers run elsewhere).
    Api,
    /// Only background workers (health and metrics on the admin listener).
    Worker,
}

/// Whether anyone may sign a new business up through the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Signup {
    Open,
    Closed,
}

/// How `jobber serve` writes its log lines to stdout; the files in the data dir's
/// `logs/` are always JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One JSON object a line (for journald, Docker, Kubernetes log collectors).
    Json,
    /// Human-readable lines, for a terminal.
    Pretty,
}

/// Settings a command line may give; each also reads `JOBBER_<NAME>` from the environment.
#[derive(Debug, Clone, Default, Args)]
pub struct ConfigArgs {
    /// Configuration file (TOML).
    #[arg(long, env = "JOBBER_CONFIG", value_name = "FILE", global = true)]
    pub config: Option<PathBuf>,
    /// Directory for the embedded database, keys, logs and files.
    #[arg(long, env = "JOBBER_DATA_DIR", value_name = "DIR", global = true)]
    pub data_dir: Option<PathBuf>,
    /// External PostgreSQL (`postgres://…`); without it an embedded server is started.
    #[arg(
        long,
        env = "JOBBER_DATABASE_URL",
        value_name = "URL",
        global = true,
        hide_env_values = true
    )]
    pub database_url: Option<String>,
    /// A streaming replica of the database (`postgres://…`) for read-only work: lists,
    /// search, reports, the schedule and calendar feeds (docs/scaling.md).
    #[arg(
        long,
        env = "JOBBER_DATABASE_READ_URL",
        value_name = "URL",
        global = true,
        hide_env_values = true
    )]
    pub database_read_url: Option<String>,
    /// Redis (`redis://…`) to announce committed events across processes by pub/sub
    /// instead of PostgreSQL's LISTEN/NOTIFY (docs/events.md).
    #[arg(
        long,
        env = "JOBBER_REDIS_URL",
        value_name = "URL",
        global = true,
        hide_env_values = true
    )]
    pub redis_url: Option<String>,
    /// Public HTTP listener.
    #[arg(long, env = "JOBBER_LISTEN", value_name = "ADDR", global = true)]
    pub listen: Option<SocketAddr>,
    /// Admin listener: `/metrics` and the admin API, never on the public port.
    #[arg(long, env = "JOBBER_ADMIN_LISTEN", value_name = "ADDR", global = true)]
    pub admin_listen: Option<SocketAddr>,
    /// `all` (default), `api` or `worker`.
    #[arg(long, env = "JOBBER_ROLE", value_enum, global = true)]
    pub role: Option<Role>,
    /// `open` (default) lets anyone sign a business up; `closed` leaves it to `jobber admin create-account`.
    #[arg(long, env = "JOBBER_SIGNUP", value_enum, global = true)]
    pub signup: Option<Signup>,
    /// Unprivileged user to run as when started as root.
    #[arg(long, env = "JOBBER_USER", value_name = "NAME", global = true)]
    pub user: Option<String>,
    /// The address clients use to reach this server (links in emails), e.g.
    /// `https://jobs.example.com`; defaults to `http://<listen>`.
    #[arg(long, env = "JOBBER_PUBLIC_URL", value_name = "URL", global = true)]
    pub public_url: Option<String>,
    /// Reverse proxies whose `X-Forwarded-For` and `X-Forwarded-Proto` are believed:
    /// addresses or networks (`10.0.0.0/8`, `::1/128`), comma-separated.
    #[arg(
        long = "trusted-proxy",
        env = "JOBBER_TRUSTED_PROXIES",
        value_name = "IP|CIDR",
        value_delimiter = ',',
        global = true
    )]
    pub trusted_proxies: Vec<IpNet>,
    /// Log filter (`info`, `jobber=debug,info`, …).
    #[arg(long, env = "JOBBER_LOG", value_name = "FILTER", global = true)]
    pub log: Option<String>,
    /// `json` (default) or `pretty`: the form of the log lines on stdout.
    #[arg(long, env = "JOBBER_LOG_FORMAT", value_enum, global = true)]
    pub log_format: Option<LogFormat>,
    /// An OpenTelemetry collector's OTLP/HTTP endpoint (`http://collector:4318`):
    /// traces of requests and jobs are exported to it as JSON.
    #[arg(long, env = "JOBBER_OTLP_ENDPOINT", value_name = "URL", global = true)]
    pub otlp_endpoint: Option<String>,
    /// A header sent with every export to the OTLP collector, e.g.
    /// `authorization=Bearer …` (repeat the flag for more; env: comma-separated, values
    /// may be percent-encoded as in `OTEL_EXPORTER_OTLP_HEADERS`). Values are never logged.
    #[arg(
        long = "otlp-header",
        env = "JOBBER_OTLP_HEADERS",
        value_name = "NAME=VALUE",
        value_delimiter = ',',
        global = true,
        hide_env_values = true
    )]
    pub otlp_headers: Vec<String>,
    /// Start even when the database role requests run as (`jobber_app`) can bypass
    /// row-level security (superuser, BYPASSRLS, owner of tenant tables); for
    /// diagnosis only (docs/operations.md). Env: `JOBBER_ALLOW_UNSAFE_DB_ROLE=on`.
    #[arg(long, global = true)]
    pub allow_unsafe_db_role: bool,
    /// Where files (PDFs, uploads) live: `s3://bucket[/prefix]`, or a local directory
    /// (`file:///srv/jobber-files` or an absolute path); default `<data_dir>/files`.
    #[arg(long, env = "JOBBER_STORAGE_URL", value_name = "URL", global = true)]
    pub storage_url: Option<String>,
    /// S3-compatible endpoint for `s3://` storage (MinIO, R2, Ceph…), e.g.
    /// `https://minio.internal:9000`; requests are path-style. Default: AWS.
    #[arg(
        long,
        env = "JOBBER_STORAGE_ENDPOINT",
        value_name = "URL",
        global = true
    )]
    pub storage_endpoint: Option<String>,
    /// Region of the S3 bucket (default: `AWS_REGION`, else `us-east-1`).
    #[arg(
        long,
        env = "JOBBER_STORAGE_REGION",
        value_name = "REGION",
        global = true
    )]
    pub storage_region: Option<String>,
    /// Serve the web app from this directory (a `ui/dist` build) instead of the one
    /// built into the binary.
    #[arg(long, env = "JOBBER_UI_DIR", value_name = "DIR", global = true)]
    pub ui_dir: Option<PathBuf>,
    /// Serve HTTPS on the public listener with this certificate chain (PEM, leaf
    /// first); reloaded on SIGHUP. Needs --tls-key.
    #[arg(long, env = "JOBBER_TLS_CERT", value_name = "FILE", global = true)]
    pub tls_cert: Option<PathBuf>,
    /// The private key (PEM) of --tls-cert.
    #[arg(long, env = "JOBBER_TLS_KEY", value_name = "FILE", global = true)]
    pub tls_key: Option<PathBuf>,
    /// Get the HTTPS certificate automatically by ACME (Let's Encrypt) for this domain
    /// (repeat the flag for more; env: comma-separated). Not with --tls-cert.
    #[arg(
        long = "acme-domain",
        env = "JOBBER_ACME_DOMAINS",
        value_name = "DOMAIN",
        value_delimiter = ',',
        global = true
    )]
    pub acme_domains: Vec<String>,
    /// Contact address of the ACME account (expiry and policy mails from the CA).
    #[arg(long, env = "JOBBER_ACME_EMAIL", value_name = "EMAIL", global = true)]
    pub acme_email: Option<String>,
    /// The ACME directory URL (default: Let's Encrypt's production directory).
    #[arg(long, env = "JOBBER_ACME_DIRECTORY", value_name = "URL", global = true)]
    pub acme_directory: Option<String>,
    /// Plain-HTTP listener answering the ACME HTTP-01 challenge and redirecting every
    /// other request to HTTPS (default 0.0.0.0:80).
    #[arg(
        long,
        env = "JOBBER_ACME_HTTP_LISTEN",
        value_name = "ADDR",
        global = true
    )]
    pub acme_http_listen: Option<SocketAddr>,
    /// Also trust this CA root (PEM) for the connection to the ACME directory: for a
    /// private CA or a test server such as Pebble.
    #[arg(long, env = "JOBBER_ACME_CA_ROOT", value_name = "FILE", global = true)]
    pub acme_ca_root: Option<PathBuf>,
}

/// The file form: the same names as the flags, snake_case.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    data_dir: Option<PathBuf>,
    database_url: Option<String>,
    database_read_url: Option<String>,
    db_read_your_writes_ms: Option<u64>,
    db_replica_probe_ms: Option<u64>,
    redis_url: Option<String>,
    listen: Option<String>,
    admin_listen: Option<String>,
    role: Option<Role>,
    signup: Option<Signup>,
    user: Option<String>,
    log: Option<String>,
    log_format: Option<LogFormat>,
    public_url: Option<String>,
    otlp_endpoint: Option<String>,
    otlp_headers: Option<std::collections::BTreeMap<String, String>>,
    allow_unsafe_db_role: Option<bool>,
    trusted_proxies: Option<Vec<String>>,
    jwt_secret: Option<String>,
    db_max_connections: Option<u32>,
    db_acquire_timeout_secs: Option<u64>,
    db_slow_statement_ms: Option<u64>,
    embedded_pg_max_restarts: Option<u32>,
    max_body_bytes: Option<usize>,
    encryption_key: Option<String>,
    encryption_key_file: Option<PathBuf>,
    admin_token: Option<String>,
    admin_token_file: Option<PathBuf>,
    stripe_api_base: Option<String>,
    quickbooks_client_id: Option<String>,
    quickbooks_client_secret: Option<String>,
    quickbooks_client_secret_file: Option<PathBuf>,
    quickbooks_auth_base: Option<String>,
    quickbooks_token_url: Option<String>,
    quickbooks_api_base: Option<String>,
    smtp_url: Option<String>,
    smtp_from: Option<String>,
    workers: Option<std::collections::BTreeMap<String, usize>>,
    job_poll_ms: Option<u64>,
    job_heartbeat_secs: Option<u64>,
    email_lease_secs: Option<u64>,
    job_retention_days: Option<u64>,
    backup_retention_days: Option<u64>,
    wal_archive: Option<bool>,
    storage_url: Option<String>,
    storage_endpoint: Option<String>,
    storage_region: Option<String>,
    storage_access_key_id: Option<String>,
    storage_secret_access_key: Option<String>,
    email_transport: Option<EmailTransport>,
    sendgrid_api_key: Option<String>,
    sendgrid_api_base: Option<String>,
    twilio_account_sid: Option<String>,
    twilio_auth_token: Option<String>,
    twilio_from: Option<String>,
    twilio_messaging_service_sid: Option<String>,
    twilio_api_base: Option<String>,
    http_header_read_timeout_secs: Option<u64>,
    http_idle_timeout_secs: Option<u64>,
    max_connections: Option<usize>,
    ws_max_per_user: Option<usize>,
    ws_max_per_account: Option<usize>,
    ui_dir: Option<PathBuf>,
    rate_limits: Option<RateLimitsFile>,
    caches: Option<std::collections::BTreeMap<String, CacheFile>>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    acme_domains: Option<Vec<String>>,
    acme_email: Option<String>,
    acme_directory: Option<String>,
    acme_http_listen: Option<String>,
    acme_ca_root: Option<PathBuf>,
}

/// One cache's limits in `jobber.toml`: `reports = { entries = 20000, ttl_secs = 60 }`
/// under `[caches]`.
#[derive(Debug, Default, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
struct CacheFile {
    entries: Option<u64>,
    ttl_secs: Option<u64>,
}

/// `[rate_limits]` in `jobber.toml`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RateLimitsFile {
    enabled: Option<bool>,
    max_keys: Option<usize>,
    auth: Option<ClassLimitsFile>,
    writes: Option<ClassLimitsFile>,
    reads: Option<ClassLimitsFile>,
    uploads: Option<ClassLimitsFile>,
    public: Option<ClassLimitsFile>,
}

/// One class's limits in `jobber.toml`: `auth = { per_ip = 60, per_user = 30, window_secs = 60 }`.
#[derive(Debug, Default, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClassLimitsFile {
    per_ip: Option<u32>,
    per_user: Option<u32>,
    window_secs: Option<u64>,
}

#[derive(Clone)]
pub struct Config {
    /// The `jobber.toml` this configuration was read from (`--config`), if any: the
    /// embedded PostgreSQL's archive and restore commands run `jobber` with it.
    pub config_file: Option<PathBuf>,
    pub data_dir: PathBuf,
    /// HTTPS on the public listener (`tls_cert` and `tls_key`); `None`: plain HTTP
    /// (behind a proxy that terminates TLS, or for local use).
    pub tls: Option<TlsFiles>,
    /// HTTPS with certificates obtained by ACME (HTTP-01); never together with `tls`.
    pub acme: Option<AcmeConfig>,
    pub database_url: Option<SecretString>,
    /// A streaming replica that serves read-only work; None: the primary reads too.
    pub replica: Option<ReplicaConfig>,
    /// Redis for announcing events across processes; None: PostgreSQL NOTIFY.
    pub redis_url: Option<SecretString>,
    pub listen: SocketAddr,
    pub admin_listen: SocketAddr,
    pub role: Role,
    pub signup: Signup,
    pub user: String,
    pub log: String,
    pub log_format: LogFormat,
    /// Base of the links jobber writes into emails and documents (no trailing slash).
    pub public_url: String,
    /// The OTLP/HTTP collector traces are exported to (`platform::otlp`); none: no
    /// export.
    pub otlp_endpoint: Option<String>,
    /// Headers sent with every export (`authorization`, a tenant id); the values are
    /// secrets, never logged nor shown by `config show`.
    pub otlp_headers: Vec<(String, SecretString)>,
    /// Serve even when `jobber_app` can bypass row-level security
    /// ([`Db::check_app_role`](crate::platform::database::Db::check_app_role)).
    pub allow_unsafe_db_role: bool,
    /// Peers (addresses or networks) whose `X-Forwarded-For` header names the real
    /// client (rate limits, login throttling, logs) and whose `X-Forwarded-Proto`
    /// says HTTPS (`Secure` cookies); empty: the TCP peer is the client.
    pub trusted_proxies: Vec<IpNet>,
    /// Shared signing key for access tokens (multi-pod installs); when unset a key is
    /// generated into the data dir on first start.
    pub jwt_secret: Option<SecretString>,
    pub db_max_connections: u32,
    /// How long a request waits for a database connection before it answers
    /// `503 database_unavailable`.
    pub db_acquire_timeout: std::time::Duration,
    /// Statements slower than this are logged (a warning in the server, info in
    /// one-shot commands).
    pub db_slow_statement: std::time::Duration,
    /// How often the embedded PostgreSQL is restarted after it died (within
    /// [`EMBEDDED_RESTART_WINDOW`]) before jobber gives up and exits non-zero.
    pub embedded_pg_max_restarts: u32,
    pub max_body_bytes: usize,
    /// Where the web app's files are read from; None: the build embedded in the
    /// binary (read from `ui/dist` on disk in debug builds), `http::assets`.
    pub ui_dir: Option<PathBuf>,
    /// Key (32 bytes) that encrypts the secrets accounts store (their Stripe keys);
    /// when unset a key is generated into the data dir on first start.
    pub encryption_key: Option<SecretString>,
    /// The admin listener's token (`GET /status`, `jobber top`); unset: generated into
    /// `<data-dir>/admin.token`. Set it where several processes (pods) answer one tool.
    pub admin_token: Option<SecretString>,
    /// Base URL of Stripe's API (no trailing slash); a fake such as localstripe in tests.
    pub stripe_api_base: String,
    /// QuickBooks Online: the app's OAuth credentials and Intuit's URLs.
    pub quickbooks: QuickBooksConfig,
    /// Background work: SMTP, worker concurrency, polling (docs/configuration.md).
    pub jobs: JobsConfig,
    /// Text messages through Twilio (docs/operations.md, "Text messages").
    pub twilio: TwilioConfig,
    pub storage: StorageConfig,
    /// Connection limits of the HTTP listeners (docs/operations.md, "Limits").
    pub http: HttpConfig,
    /// Request limits per endpoint class, per user and per client IP
    /// (docs/configuration.md, "Rate limits").
    pub rate_limits: RateLimitConfig,
    /// The in-process caches' sizes and TTLs (`[caches]`, docs/scaling.md).
    pub caches: crate::platform::cache::Limits,
}

/// The read replica (`database_read_url`, docs/scaling.md).
#[derive(Clone)]
pub struct ReplicaConfig {
    pub url: SecretString,
    /// A user's reads go to the primary this long after their own write
    /// (`db_read_your_writes_ms`); longer than the replica's usual lag.
    pub read_your_writes: std::time::Duration,
    /// How often the replica is checked (`db_replica_probe_ms`): how soon reads go
    /// back to it after an outage.
    pub probe_interval: std::time::Duration,
}

impl ReplicaConfig {
    pub fn settings(&self) -> crate::platform::database::ReplicaSettings {
        crate::platform::database::ReplicaSettings {
            read_your_writes: self.read_your_writes,
            probe_interval: self.probe_interval,
        }
    }
}

/// Request rate limits (`http::ratelimit`): per endpoint class, a quota per client IP
/// and one per signed-in user, each `limit` requests per `window` (a burst of the
/// whole quota allowed). Counted in this process, or in Redis when `redis_url` is set.
#[derive(Clone, Debug)]
pub struct RateLimitConfig {
    /// Off: no request limits (the login throttle still holds).
    pub enabled: bool,
    /// Keys the in-process store keeps at most (expired ones are dropped first).
    pub max_keys: usize,
    pub auth: ClassLimits,
    pub writes: ClassLimits,
    pub reads: ClassLimits,
    pub uploads: ClassLimits,
    /// Public forms and the client hub: per IP only (their callers are anonymous).
    pub public: ClassLimits,
}

/// One class's quotas; `0` is no limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClassLimits {
    pub per_ip: u32,
    pub per_user: u32,
    pub window: std::time::Duration,
}

impl ClassLimits {
    const fn per_minute(per_ip: u32, per_user: u32) -> Self {
        Self {
            per_ip,
            per_user,
            window: std::time::Duration::from_secs(60),
        }
    }
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            max_keys: 100_000,
            auth: ClassLimits::per_minute(60, 30),
            writes: ClassLimits::per_minute(1200, 600),
            reads: ClassLimits::per_minute(3000, 1200),
            uploads: ClassLimits::per_minute(120, 60),
            public: ClassLimits::per_minute(60, 0),
        }
    }
}

impl RateLimitConfig {
    /// Everything off (tests that are not about limits).
    pub fn disabled() -> Self {
        Self {
            enabled: false,
            ..Self::default()
        }
    }

    pub fn class(&self, class: crate::platform::ratelimit::Class) -> ClassLimits {
        use crate::platform::ratelimit::Class;
        match class {
            Class::Auth => self.auth,
            Class::Writes => self.writes,
            Class::Reads => self.reads,
            Class::Uploads => self.uploads,
            Class::Public => self.public,
        }
    }

    fn class_mut(&mut self, class: crate::platform::ratelimit::Class) -> &mut ClassLimits {
        use crate::platform::ratelimit::Class;
        match class {
            Class::Auth => &mut self.auth,
            Class::Writes => &mut self.writes,
            Class::Reads => &mut self.reads,
            Class::Uploads => &mut self.uploads,
            Class::Public => &mut self.public,
        }
    }
}

/// How long and how many connections the HTTP listeners keep.
#[derive(Clone, Debug)]
pub struct HttpConfig {
    /// A request's headers must arrive within this time of the server starting to
    /// read them; it also ends a keep-alive connection idle for that long.
    pub header_read_timeout: std::time::Duration,
    /// A connection with no byte read or written for this long is closed (a stalled
    /// upload, a client gone without a FIN).
    pub idle_timeout: std::time::Duration,
    /// Open connections per listener; one more is answered 503 and closed.
    pub max_connections: usize,
    /// Live (WebSocket) connections per user and per account on one process.
    pub ws_max_per_user: usize,
    pub ws_max_per_account: usize,
    /// Events waiting to be sent per WebSocket; a client that lets more pile up is
    /// closed with 1013 and resumes.
    pub ws_queue: usize,
    /// A ping this often; a WebSocket silent for three of them is closed.
    pub ws_heartbeat: std::time::Duration,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            header_read_timeout: std::time::Duration::from_secs(10),
            idle_timeout: std::time::Duration::from_secs(120),
            max_connections: 4096,
            ws_max_per_user: 16,
            ws_max_per_account: 1000,
            ws_queue: 256,
            ws_heartbeat: std::time::Duration::from_secs(30),
        }
    }
}

/// Where files live (`crate::platform::storage`).
#[derive(Clone, Default)]
pub struct StorageConfig {
    /// `s3://bucket[/prefix]` or a local directory; None: `<data_dir>/files`.
    pub url: Option<String>,
    /// An S3-compatible endpoint (path-style requests; `http://` allowed).
    pub endpoint: Option<String>,
    pub region: Option<String>,
    /// Static S3 credentials; without them the usual `AWS_*` variables, web identity
    /// or the instance metadata service are used.
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<SecretString>,
}

/// How client emails leave: SMTP (`smtp_url`) or SendGrid's v3 API (`sendgrid_api_key`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EmailTransport {
    Smtp,
    Sendgrid,
}

/// Twilio's Messages API. Texts are possible when the account SID, the auth token and
/// a sender (`from` number or messaging service) are all set.
#[derive(Clone)]
pub struct TwilioConfig {
    pub account_sid: Option<String>,
    /// Authenticates API calls and signs (verifies) Twilio's webhooks.
    pub auth_token: Option<SecretString>,
    /// The sending number in E.164 (`+15550100000`).
    pub from: Option<String>,
    /// A messaging service (`MG…`) instead of a number; wins over `from`.
    pub messaging_service_sid: Option<String>,
    /// Base URL of Twilio's API (no trailing slash); a fake in tests.
    pub api_base: String,
}

impl Default for TwilioConfig {
    fn default() -> Self {
        Self {
            account_sid: None,
            auth_token: None,
            from: None,
            messaging_service_sid: None,
            api_base: TWILIO_API_BASE.into(),
        }
    }
}

impl TwilioConfig {
    /// Whether texts can be sent.
    pub fn configured(&self) -> bool {
        self.account_sid.is_some()
            && self.auth_token.is_some()
            && (self.from.is_some() || self.messaging_service_sid.is_some())
    }
}

/// Settings of the background job runner and email delivery (seed §6).
#[derive(Clone)]
pub struct JobsConfig {
    /// `smtp://user:pass@host:587?tls=required`, `smtps://…`, `smtp://host:25`; unset:
    /// emails wait in the queue (and retry) until it is configured.
    pub smtp_url: Option<SecretString>,
    /// The From header of client emails, e.g. `Acme Lawn <office@acme.example>`.
    pub smtp_from: String,
    /// Concurrent jobs per queue in this process, by queue name.
    pub concurrency: std::collections::BTreeMap<String, usize>,
    /// How often an idle queue looks for due jobs (retries, other pods' pushes).
    pub poll: std::time::Duration,
    /// Worker heartbeat; a worker silent for 3 heartbeats is dead and its jobs run again.
    pub heartbeat: std::time::Duration,
    /// How long an email claimed for sending stays claimed if its worker dies.
    pub email_lease: std::time::Duration,
    /// Finished (done) background jobs older than this are deleted; dead ones are kept.
    pub retention: std::time::Duration,
    /// SMTP (default) or SendGrid.
    pub email_transport: EmailTransport,
    /// SendGrid API key (`email_transport = "sendgrid"`).
    pub sendgrid_api_key: Option<SecretString>,
    /// Days a backup is kept; the worker takes one daily (`0`: no scheduled backups).
    pub backup_retention_days: u32,
    /// The embedded PostgreSQL archives its WAL to the store (point-in-time recovery).
    /// Defaults to on with scheduled backups, whose prune also removes old WAL: without
    /// them nothing would ever delete the archive.
    pub wal_archive: bool,
    /// Base URL of SendGrid's API (no trailing slash); a fake in tests.
    pub sendgrid_api_base: String,
}

impl JobsConfig {
    /// Defaults of seed §6.3, for `public_url`'s host as sender domain.
    pub fn defaults(public_url: &str) -> Self {
        let host = public_url
            .split("://")
            .nth(1)
            .unwrap_or("localhost")
            .split(['/', ':'])
            .next()
            .unwrap_or("localhost");
        Self {
            smtp_url: None,
            smtp_from: format!("jobber <no-reply@{host}>"),
            concurrency: crate::platform::queue::Queue::ALL
                .iter()
                .map(|q| (q.name().to_string(), q.default_concurrency()))
                .collect(),
            poll: std::time::Duration::from_secs(1),
            heartbeat: std::time::Duration::from_secs(30),
            email_lease: std::time::Duration::from_secs(120),
            retention: std::time::Duration::from_secs(7 * 24 * 60 * 60),
            backup_retention_days: crate::platform::backup::DEFAULT_RETENTION_DAYS,
            wal_archive: true,
            email_transport: EmailTransport::Smtp,
            sendgrid_api_key: None,
            sendgrid_api_base: SENDGRID_API_BASE.into(),
        }
    }
}

/// The PEM files of the public listener's certificate and key.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Automatic certificates (`crate::platform::acme`): the domains one certificate
/// covers, the CA's directory, and the plain-HTTP listener of the HTTP-01 challenge.
#[derive(Debug, Clone)]
pub struct AcmeConfig {
    /// Lowercase DNS names, the first one the certificate's main name.
    pub domains: Vec<String>,
    /// Contact of the ACME account (`mailto:`), optional.
    pub email: Option<String>,
    /// The ACME directory URL (`https://…`).
    pub directory: String,
    /// Where the HTTP-01 challenge is answered and other requests are redirected.
    pub http_listen: SocketAddr,
    /// An extra CA root (PEM) trusted for the connection to the directory.
    pub ca_root: Option<PathBuf>,
}

/// Let's Encrypt's production directory, the default `acme_directory`.
pub const LETS_ENCRYPT_DIRECTORY: &str = "https://acme-v02.api.letsencrypt.org/directory";

/// The window [`Config::embedded_pg_max_restarts`] counts restarts in.
pub const EMBEDDED_RESTART_WINDOW: std::time::Duration = std::time::Duration::from_secs(10 * 60);

pub const STRIPE_API_BASE: &str = "https://api.stripe.com";
pub const QUICKBOOKS_AUTH_BASE: &str = "https://appcenter.intuit.com/connect/oauth2";
pub const QUICKBOOKS_TOKEN_URL: &str = "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer";
pub const QUICKBOOKS_API_BASE: &str = "https://quickbooks.api.intuit.com";

/// The QuickBooks Online app (developer.intuit.com) this server connects accounts
/// with. Without a client id and secret the integration is off
/// (`quickbooks_not_configured`).
#[derive(Clone)]
pub struct QuickBooksConfig {
    pub client_id: Option<String>,
    pub client_secret: Option<SecretString>,
    /// Intuit's authorization page (the user's browser goes there).
    pub auth_base: String,
    /// The OAuth 2.0 token endpoint (code exchange and refresh).
    pub token_url: String,
    /// The accounting API (`…/v3/company/{realmId}/…`); the sandbox is
    /// `https://sandbox-quickbooks.api.intuit.com`.
    pub api_base: String,
}

impl Default for QuickBooksConfig {
    fn default() -> Self {
        Self {
            client_id: None,
            client_secret: None,
            auth_base: QUICKBOOKS_AUTH_BASE.into(),
            token_url: QUICKBOOKS_TOKEN_URL.into(),
            api_base: QUICKBOOKS_API_BASE.into(),
        }
    }
}

pub const TWILIO_API_BASE: &str = "https://api.twilio.com";
pub const SENDGRID_API_BASE: &str = "https://api.sendgrid.com";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("{name}: {message}")]
    Invalid { name: &'static str, message: String },
}

/// Environment variables jobber reads; anything else starting `JOBBER_` is a typo.
const KNOWN_ENV: &[&str] = &[
    "JOBBER_CONFIG",
    "JOBBER_UI_DIR",
    "JOBBER_TLS_CERT",
    "JOBBER_TLS_KEY",
    "JOBBER_ACME_DOMAINS",
    "JOBBER_ACME_EMAIL",
    "JOBBER_ACME_DIRECTORY",
    "JOBBER_ACME_HTTP_LISTEN",
    "JOBBER_ACME_CA_ROOT",
    "JOBBER_DATA_DIR",
    "JOBBER_DATABASE_URL",
    "JOBBER_DATABASE_URL_FILE",
    "JOBBER_DATABASE_READ_URL",
    "JOBBER_DATABASE_READ_URL_FILE",
    "JOBBER_DB_READ_YOUR_WRITES_MS",
    "JOBBER_DB_REPLICA_PROBE_MS",
    "JOBBER_REDIS_URL",
    "JOBBER_WS_MAX_PER_USER",
    "JOBBER_WS_MAX_PER_ACCOUNT",
    "JOBBER_LISTEN",
    "JOBBER_ADMIN_LISTEN",
    "JOBBER_ROLE",
    "JOBBER_SIGNUP",
    "JOBBER_USER",
    "JOBBER_LOG",
    "JOBBER_LOG_FORMAT",
    "JOBBER_PUBLIC_URL",
    "JOBBER_OTLP_ENDPOINT",
    "JOBBER_OTLP_HEADERS",
    "JOBBER_ALLOW_UNSAFE_DB_ROLE",
    "JOBBER_TRUSTED_PROXIES",
    "JOBBER_JWT_SECRET",
    "JOBBER_JWT_SECRET_FILE",
    "JOBBER_DB_MAX_CONNECTIONS",
    "JOBBER_DB_ACQUIRE_TIMEOUT_SECS",
    "JOBBER_DB_SLOW_STATEMENT_MS",
    "JOBBER_EMBEDDED_PG_MAX_RESTARTS",
    "JOBBER_JOB_RETENTION_DAYS",
    "JOBBER_BACKUP_RETENTION_DAYS",
    "JOBBER_WAL_ARCHIVE",
    "JOBBER_MAX_BODY_BYTES",
    "JOBBER_OWNER_PASSWORD",
    "JOBBER_ENCRYPTION_KEY",
    "JOBBER_ADMIN_TOKEN",
    "JOBBER_ADMIN_TOKEN_FILE",
    "JOBBER_ENCRYPTION_KEY_FILE",
    "JOBBER_STRIPE_API_BASE",
    "JOBBER_QUICKBOOKS_CLIENT_ID",
    "JOBBER_QUICKBOOKS_CLIENT_SECRET",
    "JOBBER_QUICKBOOKS_CLIENT_SECRET_FILE",
    "JOBBER_QUICKBOOKS_AUTH_BASE",
    "JOBBER_QUICKBOOKS_TOKEN_URL",
    "JOBBER_QUICKBOOKS_API_BASE",
    "JOBBER_SMTP_URL",
    "JOBBER_SMTP_URL_FILE",
    "JOBBER_SMTP_FROM",
    "JOBBER_WORKERS",
    "JOBBER_JOB_POLL_MS",
    "JOBBER_JOB_HEARTBEAT_SECS",
    "JOBBER_EMAIL_LEASE_SECS",
    "JOBBER_STORAGE_URL",
    "JOBBER_STORAGE_ENDPOINT",
    "JOBBER_STORAGE_REGION",
    "JOBBER_STORAGE_ACCESS_KEY_ID",
    "JOBBER_STORAGE_SECRET_ACCESS_KEY",
    "JOBBER_STORAGE_SECRET_ACCESS_KEY_FILE",
    "JOBBER_EMAIL_TRANSPORT",
    "JOBBER_SENDGRID_API_KEY",
    "JOBBER_SENDGRID_API_KEY_FILE",
    "JOBBER_SENDGRID_API_BASE",
    "JOBBER_TWILIO_ACCOUNT_SID",
    "JOBBER_TWILIO_AUTH_TOKEN",
    "JOBBER_TWILIO_AUTH_TOKEN_FILE",
    "JOBBER_TWILIO_FROM",
    "JOBBER_TWILIO_MESSAGING_SERVICE_SID",
    "JOBBER_TWILIO_API_BASE",
    "JOBBER_HTTP_HEADER_READ_TIMEOUT_SECS",
    "JOBBER_HTTP_IDLE_TIMEOUT_SECS",
    "JOBBER_MAX_CONNECTIONS",
    "JOBBER_FAILPOINTS",
    "JOBBER_RATE_LIMITS",
    "JOBBER_RATE_LIMIT_MAX_KEYS",
    "JOBBER_RATE_LIMIT_AUTH",
    "JOBBER_RATE_LIMIT_WRITES",
    "JOBBER_RATE_LIMIT_READS",
    "JOBBER_RATE_LIMIT_UPLOADS",
    "JOBBER_RATE_LIMIT_PUBLIC",
    "JOBBER_CACHE_SETTINGS",
    "JOBBER_CACHE_SESSIONS",
    "JOBBER_CACHE_TOKENS",
    "JOBBER_CACHE_CLIENTS",
    "JOBBER_CACHE_SCHEDULE",
    "JOBBER_CACHE_REPORTS",
    "JOBBER_CACHE_MY_VISITS",
];

impl Config {
    /// Resolve the configuration from the command line, the environment and the file.
    pub fn load(args: &ConfigArgs) -> Result<Self, ConfigError> {
        let file = match &args.config {
            Some(path) => read_file(path)?,
            None => FileConfig::default(),
        };
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());

        let database_url = args
            .database_url
            .clone()
            .or(secret_file("JOBBER_DATABASE_URL_FILE")?)
            .or(file.database_url);
        let replica = load_replica(
            args.database_read_url
                .clone()
                .or(secret_file("JOBBER_DATABASE_READ_URL_FILE")?)
                .or(file.database_read_url),
            database_url.is_some(),
            file.db_read_your_writes_ms,
            file.db_replica_probe_ms,
        )?;
        let jwt_secret = env("JOBBER_JWT_SECRET")
            .or(secret_file("JOBBER_JWT_SECRET_FILE")?)
            .or(file.jwt_secret);
        if let Some(secret) = &jwt_secret
            && secret.len() < 32
        {
            return Err(invalid("jwt_secret", "must be at least 32 characters"));
        }

        let encryption_key = match env("JOBBER_ENCRYPTION_KEY")
            .or(secret_file("JOBBER_ENCRYPTION_KEY_FILE")?)
            .or(file.encryption_key)
        {
            Some(key) => Some(key),
            None => toml_secret_file("encryption_key_file", file.encryption_key_file.as_deref())?,
        };
        if let Some(key) = &encryption_key {
            crate::platform::crypto::parse_key(key).map_err(|m| invalid("encryption_key", &m))?;
        }
        let admin_token = match env("JOBBER_ADMIN_TOKEN")
            .or(secret_file("JOBBER_ADMIN_TOKEN_FILE")?)
            .or(file.admin_token)
        {
            Some(token) => Some(token.trim().to_string()),
            None => toml_secret_file("admin_token_file", file.admin_token_file.as_deref())?
                .map(|t| t.trim().to_string()),
        };
        if let Some(token) = &admin_token
            && token.len() < 32
        {
            return Err(invalid("admin_token", "must be at least 32 characters"));
        }
        let stripe_api_base = env("JOBBER_STRIPE_API_BASE")
            .or(file.stripe_api_base)
            .unwrap_or_else(|| STRIPE_API_BASE.into())
            .trim_end_matches('/')
            .to_string();
        if !(stripe_api_base.starts_with("http://") || stripe_api_base.starts_with("https://")) {
            return Err(invalid(
                "stripe_api_base",
                "must start with http:// or https://",
            ));
        }
        let quickbooks = load_quickbooks(QuickBooksFile {
            client_id: file.quickbooks_client_id,
            client_secret: file.quickbooks_client_secret,
            client_secret_file: file.quickbooks_client_secret_file,
            auth_base: file.quickbooks_auth_base,
            token_url: file.quickbooks_token_url,
            api_base: file.quickbooks_api_base,
        })?;

        let acme = load_acme(
            args,
            AcmeFile {
                domains: file.acme_domains,
                email: file.acme_email,
                directory: file.acme_directory,
                http_listen: file.acme_http_listen,
                ca_root: file.acme_ca_root,
            },
        )?;
        let listen = match (args.listen, file.listen) {
            (Some(addr), _) => addr,
            (None, Some(text)) => parse_addr("listen", &text)?,
            // With automatic certificates the server faces the internet on 443.
            (None, None) if acme.is_some() => SocketAddr::from(([0, 0, 0, 0], 443)),
            (None, None) => SocketAddr::from(([127, 0, 0, 1], 8080)),
        };
        let admin_listen = match (args.admin_listen, file.admin_listen) {
            (Some(addr), _) => addr,
            (None, Some(text)) => parse_addr("admin_listen", &text)?,
            (None, None) => SocketAddr::from(([127, 0, 0, 1], 9464)),
        };
        let db_max_connections = match env("JOBBER_DB_MAX_CONNECTIONS") {
            Some(text) => parse_number("db_max_connections", &text)?,
            None => file.db_max_connections.unwrap_or(20),
        };
        if db_max_connections == 0 {
            return Err(invalid("db_max_connections", "must be at least 1"));
        }
        let db_acquire_timeout_secs: u64 = match env("JOBBER_DB_ACQUIRE_TIMEOUT_SECS") {
            Some(text) => parse_number("db_acquire_timeout_secs", &text)?,
            None => file
                .db_acquire_timeout_secs
                .unwrap_or(crate::platform::database::DEFAULT_ACQUIRE_TIMEOUT.as_secs()),
        };
        if db_acquire_timeout_secs == 0 {
            return Err(invalid("db_acquire_timeout_secs", "must be at least 1"));
        }
        let db_slow_statement_ms: u64 = match env("JOBBER_DB_SLOW_STATEMENT_MS") {
            Some(text) => parse_number("db_slow_statement_ms", &text)?,
            None => file.db_slow_statement_ms.unwrap_or(
                u64::try_from(crate::platform::database::DEFAULT_SLOW_STATEMENT.as_millis())
                    .unwrap_or(u64::MAX),
            ),
        };
        let embedded_pg_max_restarts = match env("JOBBER_EMBEDDED_PG_MAX_RESTARTS") {
            Some(text) => parse_number("embedded_pg_max_restarts", &text)?,
            None => file.embedded_pg_max_restarts.unwrap_or(3),
        };
        let max_body_bytes = match env("JOBBER_MAX_BODY_BYTES") {
            Some(text) => parse_number("max_body_bytes", &text)?,
            None => file.max_body_bytes.unwrap_or(1024 * 1024),
        };
        let http = load_http(
            file.http_header_read_timeout_secs,
            file.http_idle_timeout_secs,
            file.max_connections,
            (file.ws_max_per_user, file.ws_max_per_account),
        )?;
        let rate_limits = load_rate_limits(file.rate_limits.unwrap_or_default())?;
        let caches = load_caches(file.caches.unwrap_or_default())?;
        let log = args
            .log
            .clone()
            .or(file.log)
            .unwrap_or_else(|| "info".into());
        tracing_subscriber::EnvFilter::from_str(&log)
            .map_err(|e| invalid("log", &e.to_string()))?;

        let public_url =
            args.public_url
                .clone()
                .or(file.public_url)
                .unwrap_or_else(|| match &acme {
                    // The address the certificate is for: what users type.
                    Some(acme) if listen.port() == 443 => format!("https://{}", acme.domains[0]),
                    Some(acme) => format!("https://{}:{}", acme.domains[0], listen.port()),
                    None => format!("http://{listen}"),
                });
        let public_url = public_url.trim_end_matches('/').to_string();
        let storage = StorageConfig {
            url: args.storage_url.clone().or(file.storage_url),
            endpoint: args.storage_endpoint.clone().or(file.storage_endpoint),
            region: args.storage_region.clone().or(file.storage_region),
            access_key_id: env("JOBBER_STORAGE_ACCESS_KEY_ID").or(file.storage_access_key_id),
            secret_access_key: env("JOBBER_STORAGE_SECRET_ACCESS_KEY")
                .or(secret_file("JOBBER_STORAGE_SECRET_ACCESS_KEY_FILE")?)
                .or(file.storage_secret_access_key)
                .map(SecretString::from),
        };
        if let Some(url) = &storage.url
            && !(url.starts_with("s3://") || url.starts_with("file:///") || url.starts_with('/'))
        {
            return Err(invalid(
                "storage_url",
                "must be s3://bucket[/prefix], file:///path or an absolute path",
            ));
        }
        if let Some(endpoint) = &storage.endpoint
            && !(endpoint.starts_with("http://") || endpoint.starts_with("https://"))
        {
            return Err(invalid(
                "storage_endpoint",
                "must start with http:// or https://",
            ));
        }
        if storage.access_key_id.is_some() != storage.secret_access_key.is_some() {
            return Err(invalid(
                "storage_access_key_id",
                "storage_access_key_id and storage_secret_access_key come together",
            ));
        }
        if !(public_url.starts_with("http://") || public_url.starts_with("https://")) {
            return Err(invalid("public_url", "must start with http:// or https://"));
        }
        let jobs = load_jobs(
            &public_url,
            JobsFile {
                smtp_url: file.smtp_url,
                smtp_from: file.smtp_from,
                workers: file.workers,
                job_poll_ms: file.job_poll_ms,
                job_heartbeat_secs: file.job_heartbeat_secs,
                email_lease_secs: file.email_lease_secs,
                job_retention_days: file.job_retention_days,
                backup_retention_days: file.backup_retention_days,
                wal_archive: file.wal_archive,
                email_transport: file.email_transport,
                sendgrid_api_key: file.sendgrid_api_key,
                sendgrid_api_base: file.sendgrid_api_base,
            },
        )?;
        let twilio = load_twilio(TwilioFile {
            account_sid: file.twilio_account_sid,
            auth_token: file.twilio_auth_token,
            from: file.twilio_from,
            messaging_service_sid: file.twilio_messaging_service_sid,
            api_base: file.twilio_api_base,
        })?;
        let tls = match (
            args.tls_cert.clone().or(file.tls_cert),
            args.tls_key.clone().or(file.tls_key),
        ) {
            (Some(cert), Some(key)) => Some(TlsFiles { cert, key }),
            (None, None) => None,
            (Some(_), None) => return Err(invalid("tls_key", "tls_cert needs tls_key")),
            (None, Some(_)) => return Err(invalid("tls_cert", "tls_key needs tls_cert")),
        };
        if tls.is_some() && acme.is_some() {
            return Err(invalid(
                "acme_domains",
                "automatic certificates (acme_domains) and certificate files (tls_cert, tls_key) exclude each other: set one",
            ));
        }
        let otlp_endpoint = args.otlp_endpoint.clone().or(file.otlp_endpoint);
        if let Some(endpoint) = &otlp_endpoint
            && !(endpoint.starts_with("http://") || endpoint.starts_with("https://"))
        {
            return Err(invalid(
                "otlp_endpoint",
                "must be the collector's OTLP/HTTP address, starting with http:// or https:// (e.g. http://collector:4318)",
            ));
        }
        let otlp_headers = otlp_headers(&args.otlp_headers, file.otlp_headers)?;
        let allow_unsafe_db_role = args.allow_unsafe_db_role
            || switch("allow_unsafe_db_role", "JOBBER_ALLOW_UNSAFE_DB_ROLE")?
                .unwrap_or(file.allow_unsafe_db_role.unwrap_or(false));
        Ok(Self {
            config_file: args.config.clone(),
            tls,
            acme,
            jobs,
            twilio,
            public_url,
            otlp_endpoint,
            otlp_headers,
            allow_unsafe_db_role,
            data_dir: args
                .data_dir
                .clone()
                .or(file.data_dir)
                .unwrap_or_else(default_data_dir),
            database_url: database_url.map(SecretString::from),
            replica,
            redis_url: args
                .redis_url
                .clone()
                .or(file.redis_url)
                .map(SecretString::from),
            listen,
            admin_listen,
            role: args.role.or(file.role).unwrap_or(Role::All),
            signup: args.signup.or(file.signup).unwrap_or(Signup::Open),
            user: args
                .user
                .clone()
                .or(file.user)
                .unwrap_or_else(|| "jobber".into()),
            log,
            log_format: args
                .log_format
                .or(file.log_format)
                .unwrap_or(LogFormat::Json),
            trusted_proxies: if args.trusted_proxies.is_empty() {
                file.trusted_proxies
                    .unwrap_or_default()
                    .iter()
                    .map(|net| {
                        net.parse()
                            .map_err(|m: String| invalid("trusted_proxies", &m))
                    })
                    .collect::<Result<_, _>>()?
            } else {
                args.trusted_proxies.clone()
            },
            jwt_secret: jwt_secret.map(SecretString::from),
            db_max_connections,
            db_acquire_timeout: std::time::Duration::from_secs(db_acquire_timeout_secs),
            db_slow_statement: std::time::Duration::from_millis(db_slow_statement_ms),
            embedded_pg_max_restarts,
            max_body_bytes,
            ui_dir: args.ui_dir.clone().or(file.ui_dir),
            encryption_key: encryption_key.map(SecretString::from),
            admin_token: admin_token.map(SecretString::from),
            stripe_api_base,
            storage,
            quickbooks,
            http,
            rate_limits,
            caches,
        })
    }

    /// The pool settings of a server process.
    pub fn db_settings(&self) -> crate::platform::database::DbSettings {
        crate::platform::database::DbSettings {
            acquire_timeout: self.db_acquire_timeout,
            slow_statement: self.db_slow_statement,
            caches: self.caches.clone(),
            ..crate::platform::database::DbSettings::new(self.db_max_connections)
        }
    }

    /// The pool settings of a one-shot command (`migrate`, `admin`, `jobs`).
    pub fn command_db_settings(&self) -> crate::platform::database::DbSettings {
        crate::platform::database::DbSettings {
            slow_statement: self.db_slow_statement,
            ..crate::platform::database::DbSettings::command()
        }
    }

    /// `JOBBER_*` variables that no setting reads: most likely typos.
    pub fn unknown_env_vars() -> Vec<String> {
        std::env::vars()
            .map(|(name, _)| name)
            .filter(|name| name.starts_with("JOBBER_") && !KNOWN_ENV.contains(&name.as_str()))
            .collect()
    }

    /// The effective configuration as TOML, secrets redacted (`jobber config show`).
    pub fn to_redacted_toml(&self) -> String {
        let mut table = toml::Table::new();
        let mut unset = Vec::new();
        let mut put = |key: &str, value: toml::Value| {
            table.insert(key.to_string(), value);
        };
        put("data_dir", self.data_dir.display().to_string().into());
        match &self.database_url {
            Some(url) => put("database_url", redact_url(url.expose_secret()).into()),
            None => unset.push("database_url (embedded PostgreSQL in data_dir)"),
        }
        match &self.replica {
            Some(replica) => {
                put(
                    "database_read_url",
                    redact_url(replica.url.expose_secret()).into(),
                );
                let millis =
                    |d: std::time::Duration| i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
                put(
                    "db_read_your_writes_ms",
                    millis(replica.read_your_writes).into(),
                );
                put("db_replica_probe_ms", millis(replica.probe_interval).into());
            }
            None => unset.push("database_read_url (the primary serves reads too)"),
        }
        match &self.redis_url {
            Some(url) => put("redis_url", redact_url(url.expose_secret()).into()),
            None => unset.push("redis_url (events announced by PostgreSQL NOTIFY)"),
        }
        put("listen", self.listen.to_string().into());
        put("admin_listen", self.admin_listen.to_string().into());
        put("role", role_name(self.role).into());
        put(
            "signup",
            if self.signup == Signup::Open {
                "open"
            } else {
                "closed"
            }
            .into(),
        );
        put("user", self.user.clone().into());
        put("log", self.log.clone().into());
        put(
            "log_format",
            match self.log_format {
                LogFormat::Json => "json",
                LogFormat::Pretty => "pretty",
            }
            .into(),
        );
        put("public_url", self.public_url.clone().into());
        match &self.otlp_endpoint {
            Some(endpoint) => put("otlp_endpoint", redact_url(endpoint).into()),
            None => unset.push("otlp_endpoint (no trace export)"),
        }
        if !self.otlp_headers.is_empty() {
            let mut headers = toml::map::Map::new();
            for (name, _) in &self.otlp_headers {
                headers.insert(name.clone(), "<redacted>".into());
            }
            put("otlp_headers", toml::Value::Table(headers));
        }
        if self.allow_unsafe_db_role {
            put("allow_unsafe_db_role", true.into());
        }
        match &self.ui_dir {
            Some(dir) => put("ui_dir", dir.display().to_string().into()),
            None => unset.push("ui_dir (the web app built into the binary)"),
        }
        match &self.tls {
            Some(tls) => {
                put("tls_cert", tls.cert.display().to_string().into());
                put("tls_key", tls.key.display().to_string().into());
            }
            None if self.acme.is_some() => {}
            None => unset.push("tls_cert, tls_key (plain HTTP on the public listener)"),
        }
        match &self.acme {
            Some(acme) => {
                put(
                    "acme_domains",
                    toml::Value::Array(acme.domains.iter().map(|d| d.clone().into()).collect()),
                );
                if let Some(email) = &acme.email {
                    put("acme_email", email.clone().into());
                }
                put("acme_directory", acme.directory.clone().into());
                put("acme_http_listen", acme.http_listen.to_string().into());
                if let Some(root) = &acme.ca_root {
                    put("acme_ca_root", root.display().to_string().into());
                }
            }
            None => unset.push("acme_domains (no automatic certificates)"),
        }
        put(
            "trusted_proxies",
            toml::Value::Array(
                self.trusted_proxies
                    .iter()
                    .map(|net| net.to_string().into())
                    .collect(),
            ),
        );
        match &self.jwt_secret {
            Some(_) => put("jwt_secret", "<redacted>".into()),
            None => unset.push("jwt_secret (a key is generated into data_dir)"),
        }
        put(
            "db_max_connections",
            i64::from(self.db_max_connections).into(),
        );
        put(
            "db_acquire_timeout_secs",
            i64::try_from(self.db_acquire_timeout.as_secs())
                .unwrap_or(i64::MAX)
                .into(),
        );
        put(
            "db_slow_statement_ms",
            i64::try_from(self.db_slow_statement.as_millis())
                .unwrap_or(i64::MAX)
                .into(),
        );
        put(
            "embedded_pg_max_restarts",
            i64::from(self.embedded_pg_max_restarts).into(),
        );
        put(
            "max_body_bytes",
            i64::try_from(self.max_body_bytes)
                .unwrap_or(i64::MAX)
                .into(),
        );
        match &self.admin_token {
            Some(_) => put("admin_token", "<redacted>".into()),
            None => unset.push("admin_token (a token is generated into data_dir)"),
        }
        match &self.encryption_key {
            Some(_) => put("encryption_key", "<redacted>".into()),
            None => unset.push("encryption_key (a key is generated into data_dir)"),
        }
        put("stripe_api_base", self.stripe_api_base.clone().into());
        match &self.quickbooks.client_id {
            Some(id) => put("quickbooks_client_id", id.clone().into()),
            None => unset.push("quickbooks_client_id (QuickBooks Online sync is off)"),
        }
        if self.quickbooks.client_secret.is_some() {
            put("quickbooks_client_secret", "<redacted>".into());
        }
        put(
            "quickbooks_auth_base",
            self.quickbooks.auth_base.clone().into(),
        );
        put(
            "quickbooks_token_url",
            self.quickbooks.token_url.clone().into(),
        );
        put(
            "quickbooks_api_base",
            self.quickbooks.api_base.clone().into(),
        );
        match &self.jobs.smtp_url {
            Some(url) => put("smtp_url", redact_url(url.expose_secret()).into()),
            None => unset.push("smtp_url (emails wait in the queue)"),
        }
        put("smtp_from", self.jobs.smtp_from.clone().into());
        put(
            "email_transport",
            match self.jobs.email_transport {
                EmailTransport::Smtp => "smtp",
                EmailTransport::Sendgrid => "sendgrid",
            }
            .into(),
        );
        match &self.jobs.sendgrid_api_key {
            Some(_) => put("sendgrid_api_key", "<redacted>".into()),
            None => unset.push("sendgrid_api_key"),
        }
        put(
            "sendgrid_api_base",
            self.jobs.sendgrid_api_base.clone().into(),
        );
        match &self.twilio.account_sid {
            Some(sid) => put("twilio_account_sid", sid.clone().into()),
            None => unset.push("twilio_account_sid (no text messages)"),
        }
        match &self.twilio.auth_token {
            Some(_) => put("twilio_auth_token", "<redacted>".into()),
            None => unset.push("twilio_auth_token"),
        }
        if let Some(from) = &self.twilio.from {
            put("twilio_from", from.clone().into());
        }
        if let Some(sid) = &self.twilio.messaging_service_sid {
            put("twilio_messaging_service_sid", sid.clone().into());
        }
        put("twilio_api_base", self.twilio.api_base.clone().into());
        let mut workers = toml::Table::new();
        for (queue, n) in &self.jobs.concurrency {
            workers.insert(queue.clone(), i64::try_from(*n).unwrap_or(i64::MAX).into());
        }
        put("workers", toml::Value::Table(workers));
        let millis = |d: std::time::Duration| i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
        put("job_poll_ms", millis(self.jobs.poll).into());
        put(
            "job_heartbeat_secs",
            (millis(self.jobs.heartbeat) / 1000).into(),
        );
        put(
            "email_lease_secs",
            (millis(self.jobs.email_lease) / 1000).into(),
        );
        put(
            "http_header_read_timeout_secs",
            (millis(self.http.header_read_timeout) / 1000).into(),
        );
        put(
            "http_idle_timeout_secs",
            (millis(self.http.idle_timeout) / 1000).into(),
        );
        put(
            "max_connections",
            i64::try_from(self.http.max_connections)
                .unwrap_or(i64::MAX)
                .into(),
        );
        put(
            "ws_max_per_user",
            i64::try_from(self.http.ws_max_per_user)
                .unwrap_or(i64::MAX)
                .into(),
        );
        put(
            "ws_max_per_account",
            i64::try_from(self.http.ws_max_per_account)
                .unwrap_or(i64::MAX)
                .into(),
        );
        put(
            "job_retention_days",
            (millis(self.jobs.retention) / 1000 / 86_400).into(),
        );
        put(
            "backup_retention_days",
            i64::from(self.jobs.backup_retention_days).into(),
        );
        put("wal_archive", self.jobs.wal_archive.into());
        match &self.storage.url {
            Some(url) => put("storage_url", url.clone().into()),
            None => unset.push("storage_url (files in data_dir/files)"),
        }
        if let Some(endpoint) = &self.storage.endpoint {
            put("storage_endpoint", endpoint.clone().into());
        }
        if let Some(region) = &self.storage.region {
            put("storage_region", region.clone().into());
        }
        if let Some(key) = &self.storage.access_key_id {
            put("storage_access_key_id", key.clone().into());
        }
        if self.storage.secret_access_key.is_some() {
            put("storage_secret_access_key", "<redacted>".into());
        }
        put("rate_limits", rate_limits_table(&self.rate_limits));
        put("caches", caches_table(&self.caches));
        let mut out = toml::to_string(&table).unwrap_or_default();
        for key in unset {
            out.push_str(&format!("# not set: {key}\n"));
        }
        out
    }
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_redacted_toml())
    }
}

pub fn role_name(role: Role) -> &'static str {
    match role {
        Role::All => "all",
        Role::Api => "api",
        Role::Worker => "worker",
    }
}

/// Replace the password of a `postgres://user:password@host/db?password=…` URL,
/// wherever it is given.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return "<redacted>".into();
    };
    let (rest, query) = match rest.split_once('?') {
        Some((rest, query)) => (rest, Some(query)),
        None => (rest, None),
    };
    let mut out = match rest.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}:<redacted>@{host}")
        }
        None => format!("{scheme}://{rest}"),
    };
    if let Some(query) = query {
        let params: Vec<String> = query
            .split('&')
            .map(|param| match param.split_once('=') {
                Some((name, _))
                    if name.eq_ignore_ascii_case("password")
                        || name.eq_ignore_ascii_case("sslpassword") =>
                {
                    format!("{name}=<redacted>")
                }
                _ => param.to_string(),
            })
            .collect();
        out.push('?');
        out.push_str(&params.join("&"));
    }
    out
}

struct AcmeFile {
    domains: Option<Vec<String>>,
    email: Option<String>,
    directory: Option<String>,
    http_listen: Option<String>,
    ca_root: Option<PathBuf>,
}

/// The ACME settings (flags and env through clap, then the file); `None` without
/// domains, when the other `acme_*` settings must be unset too.
fn load_acme(args: &ConfigArgs, file: AcmeFile) -> Result<Option<AcmeConfig>, ConfigError> {
    let domains = if args.acme_domains.is_empty() {
        file.domains.unwrap_or_default()
    } else {
        args.acme_domains.clone()
    };
    let email = args.acme_email.clone().or(file.email);
    let directory = args.acme_directory.clone().or(file.directory);
    let ca_root = args.acme_ca_root.clone().or(file.ca_root);
    let http_listen = match (args.acme_http_listen, file.http_listen) {
        (Some(addr), _) => Some(addr),
        (None, Some(text)) => Some(parse_addr("acme_http_listen", &text)?),
        (None, None) => None,
    };
    let mut names: Vec<String> = Vec::new();
    for domain in domains {
        let domain = domain.trim().trim_end_matches('.').to_ascii_lowercase();
        if domain.is_empty() {
            continue;
        }
        check_domain(&domain)?;
        if !names.contains(&domain) {
            names.push(domain);
        }
    }
    if names.is_empty() {
        for (set, name) in [
            (email.is_some(), "acme_email"),
            (directory.is_some(), "acme_directory"),
            (http_listen.is_some(), "acme_http_listen"),
            (ca_root.is_some(), "acme_ca_root"),
        ] {
            if set {
                return Err(invalid(name, "needs acme_domains (--acme-domain)"));
            }
        }
        return Ok(None);
    }
    if let Some(email) = &email {
        let (user, host) = email.split_once('@').unwrap_or_default();
        if user.is_empty() || !host.contains('.') || email.contains(char::is_whitespace) {
            return Err(invalid(
                "acme_email",
                &format!("{email:?} is not an email address"),
            ));
        }
    }
    let directory = directory.unwrap_or_else(|| LETS_ENCRYPT_DIRECTORY.into());
    if !directory.starts_with("https://") {
        return Err(invalid(
            "acme_directory",
            "must start with https:// (RFC 8555 requires HTTPS)",
        ));
    }
    Ok(Some(AcmeConfig {
        domains: names,
        email,
        directory,
        http_listen: http_listen.unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], 80))),
        ca_root,
    }))
}

/// A name a CA can validate over HTTP-01: a DNS name of letters, digits and hyphens,
/// no wildcard (those need DNS-01) and no IP address.
fn check_domain(domain: &str) -> Result<(), ConfigError> {
    let bad = |why: &str| Err(invalid("acme_domains", &format!("{domain:?}: {why}")));
    if domain.starts_with("*.") {
        return bad("wildcard certificates need the DNS-01 challenge, which jobber does not do");
    }
    if domain.parse::<std::net::IpAddr>().is_ok() {
        return bad("an IP address; give the DNS name that points to this server");
    }
    if domain.len() > 253 {
        return bad("longer than 253 characters");
    }
    for label in domain.split('.') {
        if label.is_empty()
            || label.len() > 63
            || label.starts_with('-')
            || label.ends_with('-')
            || !label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        {
            return bad("not a domain name (letters, digits, hyphens and dots)");
        }
    }
    Ok(())
}

struct QuickBooksFile {
    client_id: Option<String>,
    client_secret: Option<String>,
    client_secret_file: Option<PathBuf>,
    auth_base: Option<String>,
    token_url: Option<String>,
    api_base: Option<String>,
}

fn load_quickbooks(file: QuickBooksFile) -> Result<QuickBooksConfig, ConfigError> {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let client_id = env("JOBBER_QUICKBOOKS_CLIENT_ID")
        .or(file.client_id)
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty());
    let client_secret = match env("JOBBER_QUICKBOOKS_CLIENT_SECRET")
        .or(secret_file("JOBBER_QUICKBOOKS_CLIENT_SECRET_FILE")?)
        .or(file.client_secret)
    {
        Some(secret) => Some(secret),
        None => toml_secret_file(
            "quickbooks_client_secret_file",
            file.client_secret_file.as_deref(),
        )?,
    };
    if client_id.is_some() != client_secret.is_some() {
        return Err(invalid(
            "quickbooks_client_id",
            "quickbooks_client_id and quickbooks_client_secret go together",
        ));
    }
    let url = |name: &'static str, var: &str, value: Option<String>, default: &str| {
        let url = env(var)
            .or(value)
            .unwrap_or_else(|| default.into())
            .trim_end_matches('/')
            .to_string();
        if url.starts_with("http://") || url.starts_with("https://") {
            Ok(url)
        } else {
            Err(invalid(name, "must start with http:// or https://"))
        }
    };
    Ok(QuickBooksConfig {
        client_id,
        client_secret: client_secret.map(SecretString::from),
        auth_base: url(
            "quickbooks_auth_base",
            "JOBBER_QUICKBOOKS_AUTH_BASE",
            file.auth_base,
            QUICKBOOKS_AUTH_BASE,
        )?,
        token_url: url(
            "quickbooks_token_url",
            "JOBBER_QUICKBOOKS_TOKEN_URL",
            file.token_url,
            QUICKBOOKS_TOKEN_URL,
        )?,
        api_base: url(
            "quickbooks_api_base",
            "JOBBER_QUICKBOOKS_API_BASE",
            file.api_base,
            QUICKBOOKS_API_BASE,
        )?,
    })
}

fn load_http(
    header_read_timeout_secs: Option<u64>,
    idle_timeout_secs: Option<u64>,
    max_connections: Option<usize>,
    (ws_per_user, ws_per_account): (Option<usize>, Option<usize>),
) -> Result<HttpConfig, ConfigError> {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let mut http = HttpConfig::default();
    let secs = |var: &str, name: &'static str, file: Option<u64>| -> Result<_, ConfigError> {
        let value = match env(var) {
            Some(text) => Some(parse_number::<u64>(name, &text)?),
            None => file,
        };
        match value {
            Some(0) => Err(invalid(name, "must be at least 1")),
            other => Ok(other.map(std::time::Duration::from_secs)),
        }
    };
    if let Some(timeout) = secs(
        "JOBBER_HTTP_HEADER_READ_TIMEOUT_SECS",
        "http_header_read_timeout_secs",
        header_read_timeout_secs,
    )? {
        http.header_read_timeout = timeout;
    }
    if let Some(timeout) = secs(
        "JOBBER_HTTP_IDLE_TIMEOUT_SECS",
        "http_idle_timeout_secs",
        idle_timeout_secs,
    )? {
        http.idle_timeout = timeout;
    }
    let max = match env("JOBBER_MAX_CONNECTIONS") {
        Some(text) => Some(parse_number::<usize>("max_connections", &text)?),
        None => max_connections,
    };
    if let Some(max) = max {
        if max == 0 {
            return Err(invalid("max_connections", "must be at least 1"));
        }
        http.max_connections = max;
    }
    for (var, name, file, field) in [
        (
            "JOBBER_WS_MAX_PER_USER",
            "ws_max_per_user",
            ws_per_user,
            &mut http.ws_max_per_user,
        ),
        (
            "JOBBER_WS_MAX_PER_ACCOUNT",
            "ws_max_per_account",
            ws_per_account,
            &mut http.ws_max_per_account,
        ),
    ] {
        let value = match env(var) {
            Some(text) => Some(parse_number::<usize>(name, &text)?),
            None => file,
        };
        match value {
            Some(0) => return Err(invalid(name, "must be at least 1")),
            Some(value) => *field = value,
            None => {}
        }
    }
    Ok(http)
}

struct JobsFile {
    smtp_url: Option<String>,
    smtp_from: Option<String>,
    workers: Option<std::collections::BTreeMap<String, usize>>,
    job_poll_ms: Option<u64>,
    job_heartbeat_secs: Option<u64>,
    email_lease_secs: Option<u64>,
    job_retention_days: Option<u64>,
    backup_retention_days: Option<u64>,
    wal_archive: Option<bool>,
    email_transport: Option<EmailTransport>,
    sendgrid_api_key: Option<String>,
    sendgrid_api_base: Option<String>,
}

struct TwilioFile {
    account_sid: Option<String>,
    auth_token: Option<String>,
    from: Option<String>,
    messaging_service_sid: Option<String>,
    api_base: Option<String>,
}

fn http_base(name: &'static str, value: String) -> Result<String, ConfigError> {
    let value = value.trim_end_matches('/').to_string();
    if value.starts_with("http://") || value.starts_with("https://") {
        Ok(value)
    } else {
        Err(invalid(name, "must start with http:// or https://"))
    }
}

fn load_twilio(file: TwilioFile) -> Result<TwilioConfig, ConfigError> {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let twilio = TwilioConfig {
        account_sid: env("JOBBER_TWILIO_ACCOUNT_SID").or(file.account_sid),
        auth_token: env("JOBBER_TWILIO_AUTH_TOKEN")
            .or(secret_file("JOBBER_TWILIO_AUTH_TOKEN_FILE")?)
            .or(file.auth_token)
            .map(SecretString::from),
        from: env("JOBBER_TWILIO_FROM").or(file.from),
        messaging_service_sid: env("JOBBER_TWILIO_MESSAGING_SERVICE_SID")
            .or(file.messaging_service_sid),
        api_base: http_base(
            "twilio_api_base",
            env("JOBBER_TWILIO_API_BASE")
                .or(file.api_base)
                .unwrap_or_else(|| TWILIO_API_BASE.into()),
        )?,
    };
    if let Some(from) = &twilio.from
        && !(from.starts_with('+')
            && (8..=16).contains(&from.len())
            && from[1..].chars().all(|c| c.is_ascii_digit()))
    {
        return Err(invalid(
            "twilio_from",
            "must be a number in E.164 form such as +15550100000",
        ));
    }
    if twilio.account_sid.is_some() && !twilio.configured() {
        return Err(invalid(
            "twilio_account_sid",
            "also needs twilio_auth_token and twilio_from (or twilio_messaging_service_sid)",
        ));
    }
    Ok(twilio)
}

fn load_jobs(public_url: &str, file: JobsFile) -> Result<JobsConfig, ConfigError> {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let mut jobs = JobsConfig::defaults(public_url);
    jobs.smtp_url = env("JOBBER_SMTP_URL")
        .or(secret_file("JOBBER_SMTP_URL_FILE")?)
        .or(file.smtp_url)
        .map(SecretString::from);
    if let Some(url) = &jobs.smtp_url {
        let url = url.expose_secret();
        if !(url.starts_with("smtp://") || url.starts_with("smtps://")) {
            return Err(invalid(
                "smtp_url",
                "must start with smtp:// or smtps:// (see docs/configuration.md)",
            ));
        }
    }
    if let Some(from) = env("JOBBER_SMTP_FROM").or(file.smtp_from) {
        jobs.smtp_from = from;
    }
    let mut workers = file.workers.unwrap_or_default();
    // JOBBER_WORKERS=email.send=20,pdf.generation=1
    if let Some(text) = env("JOBBER_WORKERS") {
        for item in text.split(',').filter(|s| !s.trim().is_empty()) {
            let (queue, n) = item
                .split_once('=')
                .ok_or_else(|| invalid("workers", &format!("{item:?} is not queue=count")))?;
            workers.insert(queue.trim().to_string(), parse_number("workers", n.trim())?);
        }
    }
    for (queue, n) in workers {
        if crate::platform::queue::Queue::parse(&queue).is_none() {
            return Err(invalid("workers", &format!("{queue:?} is not a queue")));
        }
        jobs.concurrency.insert(queue, n);
    }
    let number = |var: &str, name: &'static str, file: Option<u64>| match env(var) {
        Some(text) => parse_number::<u64>(name, &text).map(Some),
        None => Ok(file),
    };
    if let Some(ms) = number("JOBBER_JOB_POLL_MS", "job_poll_ms", file.job_poll_ms)? {
        if ms == 0 {
            return Err(invalid("job_poll_ms", "must be at least 1"));
        }
        jobs.poll = std::time::Duration::from_millis(ms);
    }
    if let Some(secs) = number(
        "JOBBER_JOB_HEARTBEAT_SECS",
        "job_heartbeat_secs",
        file.job_heartbeat_secs,
    )? {
        if secs == 0 {
            return Err(invalid("job_heartbeat_secs", "must be at least 1"));
        }
        jobs.heartbeat = std::time::Duration::from_secs(secs);
    }
    if let Some(secs) = number(
        "JOBBER_EMAIL_LEASE_SECS",
        "email_lease_secs",
        file.email_lease_secs,
    )? {
        if secs == 0 {
            return Err(invalid("email_lease_secs", "must be at least 1"));
        }
        jobs.email_lease = std::time::Duration::from_secs(secs);
    }
    if let Some(days) = number(
        "JOBBER_JOB_RETENTION_DAYS",
        "job_retention_days",
        file.job_retention_days,
    )? {
        if days == 0 {
            return Err(invalid("job_retention_days", "must be at least 1"));
        }
        jobs.retention = std::time::Duration::from_secs(days.saturating_mul(86_400));
    }
    if let Some(days) = number(
        "JOBBER_BACKUP_RETENTION_DAYS",
        "backup_retention_days",
        file.backup_retention_days,
    )? {
        jobs.backup_retention_days = u32::try_from(days)
            .map_err(|_| invalid("backup_retention_days", "must be at most 4294967295"))?;
    }
    jobs.wal_archive = switch("wal_archive", "JOBBER_WAL_ARCHIVE")?
        .unwrap_or_else(|| file.wal_archive.unwrap_or(jobs.backup_retention_days > 0));
    jobs.email_transport = match env("JOBBER_EMAIL_TRANSPORT") {
        Some(text) => match text.as_str() {
            "smtp" => EmailTransport::Smtp,
            "sendgrid" => EmailTransport::Sendgrid,
            _ => return Err(invalid("email_transport", "must be smtp or sendgrid")),
        },
        None => file.email_transport.unwrap_or(EmailTransport::Smtp),
    };
    jobs.sendgrid_api_key = env("JOBBER_SENDGRID_API_KEY")
        .or(secret_file("JOBBER_SENDGRID_API_KEY_FILE")?)
        .or(file.sendgrid_api_key)
        .map(SecretString::from);
    jobs.sendgrid_api_base = http_base(
        "sendgrid_api_base",
        env("JOBBER_SENDGRID_API_BASE")
            .or(file.sendgrid_api_base)
            .unwrap_or_else(|| SENDGRID_API_BASE.into()),
    )?;
    if jobs.email_transport == EmailTransport::Sendgrid && jobs.sendgrid_api_key.is_none() {
        return Err(invalid(
            "email_transport",
            "sendgrid needs sendgrid_api_key (or JOBBER_SENDGRID_API_KEY_FILE)",
        ));
    }
    Ok(jobs)
}

/// An on/off environment variable (`on`, `off`, `true`, `false`, `1`, `0`, `yes`,
/// `no`); `None` when unset or empty.
/// `--otlp-header`/`JOBBER_OTLP_HEADERS` (`name=value`, values percent-decoded), else
/// `[otlp_headers]` of the file: names lowercased, both checked as HTTP would.
fn otlp_headers(
    args: &[String],
    file: Option<std::collections::BTreeMap<String, String>>,
) -> Result<Vec<(String, SecretString)>, ConfigError> {
    let pairs: Vec<(String, String)> = if args.is_empty() {
        file.unwrap_or_default().into_iter().collect()
    } else {
        let mut pairs = Vec::new();
        for item in args.iter().filter(|item| !item.trim().is_empty()) {
            let Some((name, value)) = item.split_once('=') else {
                return Err(invalid(
                    "otlp_headers",
                    "each header is name=value (e.g. authorization=Bearer%20…)",
                ));
            };
            let value = percent_decode(value.trim()).ok_or_else(|| {
                invalid(
                    "otlp_headers",
                    &format!("the value of {} has a bad %-escape", name.trim()),
                )
            })?;
            pairs.push((name.trim().to_string(), value));
        }
        pairs
    };
    let mut headers = Vec::new();
    for (name, value) in pairs {
        let name = name.to_ascii_lowercase();
        if http::HeaderName::from_bytes(name.as_bytes()).is_err() {
            return Err(invalid(
                "otlp_headers",
                &format!("{name:?} is not an HTTP header name"),
            ));
        }
        if http::HeaderValue::from_str(&value).is_err() {
            // The value is a secret: named by its header only.
            return Err(invalid(
                "otlp_headers",
                &format!("the value of {name} is not a valid HTTP header value"),
            ));
        }
        headers.push((name, SecretString::from(value)));
    }
    Ok(headers)
}

/// `%XX` escapes decoded (as UTF-8); `None` for a broken escape.
fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn switch(setting: &'static str, var: &str) -> Result<Option<bool>, ConfigError> {
    match std::env::var(var).ok().filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(text) => match text.to_ascii_lowercase().as_str() {
            "on" | "true" | "1" | "yes" => Ok(Some(true)),
            "off" | "false" | "0" | "no" => Ok(Some(false)),
            _ => Err(invalid(setting, &format!("{var} must be on or off"))),
        },
    }
}

/// `[rate_limits]` of the file, then `JOBBER_RATE_LIMITS` (`on`/`off`),
/// `JOBBER_RATE_LIMIT_MAX_KEYS` and `JOBBER_RATE_LIMIT_<CLASS>`
/// (`per_ip=60,per_user=30,window_secs=60`, any of them).
fn load_rate_limits(file: RateLimitsFile) -> Result<RateLimitConfig, ConfigError> {
    use crate::platform::ratelimit::Class;
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let mut limits = RateLimitConfig::default();
    if let Some(enabled) = file.enabled {
        limits.enabled = enabled;
    }
    if let Some(on) = switch("rate_limits", "JOBBER_RATE_LIMITS")? {
        limits.enabled = on;
    }
    limits.max_keys = match env("JOBBER_RATE_LIMIT_MAX_KEYS") {
        Some(text) => parse_number("rate_limits.max_keys", &text)?,
        None => file.max_keys.unwrap_or(limits.max_keys),
    };
    if limits.max_keys == 0 {
        return Err(invalid("rate_limits.max_keys", "must be at least 1"));
    }
    for (class, from_file) in [
        (Class::Auth, file.auth),
        (Class::Writes, file.writes),
        (Class::Reads, file.reads),
        (Class::Uploads, file.uploads),
        (Class::Public, file.public),
    ] {
        let mut set = from_file.unwrap_or_default();
        let var = format!("JOBBER_RATE_LIMIT_{}", class.name().to_ascii_uppercase());
        if let Some(text) = env(&var) {
            for item in text.split(',').filter(|s| !s.trim().is_empty()) {
                let (name, value) = item.split_once('=').ok_or_else(|| {
                    invalid(
                        "rate_limits",
                        &format!("{var}: {item:?} is not name=number"),
                    )
                })?;
                let value = value.trim();
                match name.trim() {
                    "per_ip" => set.per_ip = Some(parse_number("rate_limits.per_ip", value)?),
                    "per_user" => {
                        set.per_user = Some(parse_number("rate_limits.per_user", value)?);
                    }
                    "window_secs" => {
                        set.window_secs = Some(parse_number("rate_limits.window_secs", value)?);
                    }
                    other => {
                        return Err(invalid(
                            "rate_limits",
                            &format!("{var}: {other:?} is not per_ip, per_user or window_secs"),
                        ));
                    }
                }
            }
        }
        let target = limits.class_mut(class);
        if let Some(n) = set.per_ip {
            target.per_ip = n;
        }
        if let Some(n) = set.per_user {
            target.per_user = n;
        }
        if let Some(secs) = set.window_secs {
            if secs == 0 {
                return Err(invalid("rate_limits.window_secs", "must be at least 1"));
            }
            target.window = std::time::Duration::from_secs(secs);
        }
    }
    Ok(limits)
}

/// `[caches]` of the file, then `JOBBER_CACHE_<NAME>` (`entries=20000,ttl_secs=60`,
/// either of them). A TTL is at most the cache's own (`platform::cache::Name::ttl`).
fn load_caches(
    file: std::collections::BTreeMap<String, CacheFile>,
) -> Result<crate::platform::cache::Limits, ConfigError> {
    use crate::platform::cache::{Limits, Name};
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let names = || {
        Name::ALL
            .iter()
            .map(|n| n.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    for name in file.keys() {
        if Name::parse(name).is_none() {
            return Err(invalid(
                "caches",
                &format!("{name:?} is not a cache; the caches are {}", names()),
            ));
        }
    }
    let mut limits = Limits::default();
    for name in Name::ALL {
        let mut set = file.get(name.as_str()).copied().unwrap_or_default();
        let var = format!("JOBBER_CACHE_{}", name.as_str().to_ascii_uppercase());
        if let Some(text) = env(&var) {
            for item in text.split(',').filter(|s| !s.trim().is_empty()) {
                let (key, value) = item.split_once('=').ok_or_else(|| {
                    invalid("caches", &format!("{var}: {item:?} is not name=number"))
                })?;
                let value = value.trim();
                match key.trim() {
                    "entries" => set.entries = Some(parse_number("caches.entries", value)?),
                    "ttl_secs" => set.ttl_secs = Some(parse_number("caches.ttl_secs", value)?),
                    other => {
                        return Err(invalid(
                            "caches",
                            &format!("{var}: {other:?} is not entries or ttl_secs"),
                        ));
                    }
                }
            }
        }
        let mut limit = limits.get(name);
        if let Some(entries) = set.entries {
            limit.capacity = entries;
        }
        if let Some(secs) = set.ttl_secs {
            limit.ttl = std::time::Duration::from_secs(secs);
        }
        limits.set(name, limit).map_err(|message| {
            invalid("caches.ttl_secs", &format!("{}: {message}", name.as_str()))
        })?;
    }
    Ok(limits)
}

/// `[caches]` as `jobber config show` prints it (and `jobber.toml` reads it).
fn caches_table(limits: &crate::platform::cache::Limits) -> toml::Value {
    let mut table = toml::Table::new();
    for name in crate::platform::cache::Name::ALL {
        let limit = limits.get(name);
        let mut one = toml::Table::new();
        one.insert(
            "entries".into(),
            i64::try_from(limit.capacity).unwrap_or(i64::MAX).into(),
        );
        one.insert(
            "ttl_secs".into(),
            i64::try_from(limit.ttl.as_secs())
                .unwrap_or(i64::MAX)
                .into(),
        );
        table.insert(name.as_str().into(), toml::Value::Table(one));
    }
    toml::Value::Table(table)
}

/// `[rate_limits]` as `jobber config show` prints it (and `jobber.toml` reads it).
fn rate_limits_table(limits: &RateLimitConfig) -> toml::Value {
    use crate::platform::ratelimit::Class;
    let mut table = toml::Table::new();
    table.insert("enabled".into(), limits.enabled.into());
    table.insert(
        "max_keys".into(),
        i64::try_from(limits.max_keys).unwrap_or(i64::MAX).into(),
    );
    for class in Class::ALL {
        let set = limits.class(class);
        let mut one = toml::Table::new();
        one.insert("per_ip".into(), i64::from(set.per_ip).into());
        one.insert("per_user".into(), i64::from(set.per_user).into());
        one.insert(
            "window_secs".into(),
            i64::try_from(set.window.as_secs())
                .unwrap_or(i64::MAX)
                .into(),
        );
        table.insert(class.name().into(), toml::Value::Table(one));
    }
    toml::Value::Table(table)
}

/// Root installs keep state in `/var/lib/jobber`; a user's in their home directory.
fn default_data_dir() -> PathBuf {
    if nix::unistd::geteuid().is_root() {
        return PathBuf::from("/var/lib/jobber");
    }
    match std::env::var_os("XDG_DATA_HOME").or_else(|| {
        std::env::var_os("HOME").map(|home| Path::new(&home).join(".local/share").into_os_string())
    }) {
        Some(base) => Path::new(&base).join("jobber"),
        None => PathBuf::from("jobber-data"),
    }
}

fn read_file(path: &Path) -> Result<FileConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    toml::from_str(&text).map_err(|e| ConfigError::Parse {
        path: path.to_owned(),
        message: e.message().to_string(),
    })
}

fn secret_file(var: &'static str) -> Result<Option<String>, ConfigError> {
    match std::env::var_os(var) {
        None => Ok(None),
        Some(path) => std::fs::read_to_string(&path)
            .map(|s| Some(s.trim_end_matches(['\n', '\r']).to_string()))
            .map_err(|e| {
                invalid(
                    var,
                    &format!("cannot read {}: {e}", Path::new(&path).display()),
                )
            }),
    }
}

/// A secret read from the file a `jobber.toml` `*_file` key names, trimmed.
fn toml_secret_file(
    name: &'static str,
    path: Option<&Path>,
) -> Result<Option<String>, ConfigError> {
    path.map(|path| {
        std::fs::read_to_string(path)
            .map(|s| s.trim().to_string())
            .map_err(|e| invalid(name, &format!("cannot read {}: {e}", path.display())))
    })
    .transpose()
}

fn parse_addr(name: &'static str, text: &str) -> Result<SocketAddr, ConfigError> {
    text.parse().map_err(|_| {
        invalid(
            name,
            &format!("{text:?} is not an address like 127.0.0.1:8080"),
        )
    })
}

/// The read replica: its URL (flag, env, `_FILE` or file) and its two timings
/// (env, else file, else the defaults).
fn load_replica(
    url: Option<String>,
    external_primary: bool,
    read_your_writes_ms: Option<u64>,
    probe_ms: Option<u64>,
) -> Result<Option<ReplicaConfig>, ConfigError> {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let Some(url) = url else {
        return Ok(None);
    };
    if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        return Err(invalid(
            "database_read_url",
            "must be a postgres:// URL of a replica of database_url",
        ));
    }
    if !external_primary {
        return Err(invalid(
            "database_read_url",
            "needs database_url: the embedded PostgreSQL has no replicas",
        ));
    }
    let default_ms = |d: std::time::Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
    let read_your_writes_ms: u64 = match env("JOBBER_DB_READ_YOUR_WRITES_MS") {
        Some(text) => parse_number("db_read_your_writes_ms", &text)?,
        None => read_your_writes_ms.unwrap_or(default_ms(
            crate::platform::database::DEFAULT_READ_YOUR_WRITES,
        )),
    };
    let probe_ms: u64 = match env("JOBBER_DB_REPLICA_PROBE_MS") {
        Some(text) => parse_number("db_replica_probe_ms", &text)?,
        None => probe_ms.unwrap_or(default_ms(crate::platform::database::DEFAULT_REPLICA_PROBE)),
    };
    if probe_ms < 100 {
        return Err(invalid("db_replica_probe_ms", "must be at least 100"));
    }
    Ok(Some(ReplicaConfig {
        url: SecretString::from(url),
        read_your_writes: std::time::Duration::from_millis(read_your_writes_ms),
        probe_interval: std::time::Duration::from_millis(probe_ms),
    }))
}

fn parse_number<T: FromStr>(name: &'static str, text: &str) -> Result<T, ConfigError> {
    text.parse()
        .map_err(|_| invalid(name, &format!("{text:?} is not a number")))
}

fn invalid(name: &'static str, message: &str) -> ConfigError {
    ConfigError::Invalid {
        name,
        message: message.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `jobber.toml` in a fresh temporary directory, removed when dropped.
    struct ConfigFile {
        dir: PathBuf,
        path: PathBuf,
    }

    impl ConfigFile {
        fn new(name: &str) -> Self {
            let dir =
                std::env::temp_dir().join(format!("jobber-{name}-config-{}", uuid::Uuid::now_v7()));
            std::fs::create_dir_all(&dir).unwrap();
            let path = dir.join("jobber.toml");
            Self { dir, path }
        }

        /// Write `text` as the file and load the configuration from it alone.
        fn load(&self, text: &str) -> Result<Config, ConfigError> {
            std::fs::write(&self.path, text).unwrap();
            Config::load(&ConfigArgs {
                config: Some(self.path.clone()),
                ..ConfigArgs::default()
            })
        }
    }

    impl Drop for ConfigFile {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    #[test]
    fn redacts_database_passwords() {
        assert_eq!(
            redact_url("postgres://app:s3cret@db:5432/jobber"),
            "postgres://app:<redacted>@db:5432/jobber"
        );
        assert_eq!(redact_url("postgres://db/jobber"), "postgres://db/jobber");
        assert_eq!(
            redact_url("postgres://app@db/jobber?sslmode=require&password=hunter2"),
            "postgres://app:<redacted>@db/jobber?sslmode=require&password=<redacted>"
        );
    }

    #[test]
    fn shown_config_is_valid_toml_and_round_trips() {
        let config = Config::load(&ConfigArgs {
            data_dir: Some("/srv/jobber".into()),
            ..ConfigArgs::default()
        })
        .unwrap();
        let shown = config.to_redacted_toml();
        let parsed: FileConfig = toml::from_str(&shown).unwrap();
        assert_eq!(parsed.data_dir, Some(PathBuf::from("/srv/jobber")));
        assert!(shown.contains("# not set: database_url"));
    }

    #[test]
    fn the_read_replica_comes_from_the_file_and_round_trips() {
        let file = ConfigFile::new("replica");
        let load = |text: &str| file.load(text);
        let config = load(
            "database_url = \"postgres://app:pw@primary/jobber\"\n\
             database_read_url = \"postgres://app:pw@replica/jobber\"\n\
             db_read_your_writes_ms = 8000\n",
        )
        .unwrap();
        let replica = config.replica.as_ref().unwrap();
        assert_eq!(
            replica.url.expose_secret(),
            "postgres://app:pw@replica/jobber"
        );
        assert_eq!(replica.read_your_writes, std::time::Duration::from_secs(8));
        assert_eq!(
            replica.probe_interval,
            crate::platform::database::DEFAULT_REPLICA_PROBE
        );
        let shown = config.to_redacted_toml();
        assert!(shown.contains("database_read_url = \"postgres://app:<redacted>@replica/jobber\""));
        let parsed: FileConfig = toml::from_str(&shown).unwrap();
        assert_eq!(parsed.db_read_your_writes_ms, Some(8000));
        // Without a replica, the primary reads.
        let config = load("database_url = \"postgres://primary/jobber\"\n").unwrap();
        assert!(config.replica.is_none());
        assert!(
            config
                .to_redacted_toml()
                .contains("# not set: database_read_url")
        );
        // The embedded server has no replicas; a probe faster than 100 ms is refused.
        let error = load("database_read_url = \"postgres://replica/jobber\"\n").unwrap_err();
        assert!(error.to_string().contains("database_read_url"), "{error}");
        let error = load(
            "database_url = \"postgres://primary/jobber\"\n\
             database_read_url = \"postgres://replica/jobber\"\n\
             db_replica_probe_ms = 5\n",
        )
        .unwrap_err();
        assert!(error.to_string().contains("db_replica_probe_ms"), "{error}");
    }

    #[test]
    fn cache_limits_come_from_the_file_are_capped_and_round_trip() {
        use crate::platform::cache::{Limits, Name};
        let file = ConfigFile::new("cache");
        let load = |text: &str| file.load(text);
        let config = load(
            "[caches]\nreports = { entries = 123, ttl_secs = 30 }\nclients = { entries = 0 }\n",
        )
        .unwrap();
        let reports = config.caches.get(Name::Reports);
        assert_eq!(reports.capacity, 123);
        assert_eq!(reports.ttl, std::time::Duration::from_secs(30));
        assert_eq!(config.caches.get(Name::Clients).capacity, 0);
        assert_eq!(
            config.caches.get(Name::Settings),
            Limits::default().get(Name::Settings)
        );
        let parsed: FileConfig = toml::from_str(&config.to_redacted_toml()).unwrap();
        let shown = parsed.caches.unwrap();
        assert_eq!(shown["reports"].entries, Some(123));
        assert_eq!(shown["reports"].ttl_secs, Some(30));
        // The TTL is capped by the cache's own; a cache that does not exist is named.
        let error = load("[caches]\nschedule = { ttl_secs = 301 }\n").unwrap_err();
        assert!(error.to_string().contains("at most 300"), "{error}");
        assert!(load("[caches]\nreports = { ttl_secs = 0 }\n").is_err());
        let error = load("[caches]\nreport = { entries = 1 }\n").unwrap_err();
        assert!(
            error.to_string().contains("\"report\" is not a cache"),
            "{error}"
        );
        assert!(load("[caches]\nreports = { size = 1 }\n").is_err());
    }

    #[test]
    fn otlp_headers_come_from_flags_or_the_file_and_are_never_shown() {
        use secrecy::ExposeSecret;
        let headers = otlp_headers(
            &[
                "Authorization=Bearer%20abc=".into(),
                " x-scope-orgid = tenant-1".into(),
                String::new(),
            ],
            None,
        )
        .unwrap();
        let shown: Vec<(&str, &str)> = headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.expose_secret()))
            .collect();
        assert_eq!(
            shown,
            vec![
                ("authorization", "Bearer abc="),
                ("x-scope-orgid", "tenant-1")
            ]
        );
        for (bad, says) in [
            ("authorization", "name=value"),
            ("bad name=x", "not an HTTP header name"),
            ("authorization=%zz", "bad %-escape"),
            ("authorization=a%0Ab", "not a valid HTTP header value"),
        ] {
            let error = otlp_headers(&[bad.into()], None).unwrap_err().to_string();
            assert!(
                error.contains("otlp_headers") && error.contains(says),
                "{bad}: {error}"
            );
        }
        let file = ConfigFile::new("otlp");
        let config = file
            .load("otlp_endpoint = \"http://collector:4318\"\n[otlp_headers]\nauthorization = \"Bearer t0ken\"\n")
            .unwrap();
        assert_eq!(config.otlp_headers.len(), 1);
        assert_eq!(config.otlp_headers[0].1.expose_secret(), "Bearer t0ken");
        let shown = config.to_redacted_toml();
        assert!(
            shown.contains("authorization = \"<redacted>\"") && !shown.contains("t0ken"),
            "{shown}"
        );
        assert!(!config.allow_unsafe_db_role);
        let config = file.load("allow_unsafe_db_role = true\n").unwrap();
        assert!(config.allow_unsafe_db_role);
        assert!(
            config
                .to_redacted_toml()
                .contains("allow_unsafe_db_role = true")
        );
    }

    #[test]
    fn rate_limits_come_from_the_file_and_round_trip() {
        let file = ConfigFile::new("rl");
        let load = |text: &str| file.load(text);
        let config =
            load("[rate_limits]\nenabled = false\nreads = { per_ip = 10, window_secs = 5 }\n")
                .unwrap();
        let limits = &config.rate_limits;
        assert!(!limits.enabled);
        assert_eq!(limits.reads.per_ip, 10);
        assert_eq!(limits.reads.window, std::time::Duration::from_secs(5));
        assert_eq!(
            limits.reads.per_user,
            RateLimitConfig::default().reads.per_user
        );
        assert_eq!(limits.auth, RateLimitConfig::default().auth);
        let parsed: FileConfig = toml::from_str(&config.to_redacted_toml()).unwrap();
        let shown = parsed.rate_limits.unwrap();
        assert_eq!(shown.enabled, Some(false));
        assert_eq!(shown.reads.and_then(|r| r.per_ip), Some(10));
        assert!(load("[rate_limits]\nreads = { window_secs = 0 }\n").is_err());
        assert!(load("[rate_limits]\nreads = { per_minute = 3 }\n").is_err());
    }

    #[test]
    fn quickbooks_needs_both_keys_defaults_to_intuit_and_redacts_the_secret() {
        let config = Config::load(&ConfigArgs::default()).unwrap();
        assert!(config.quickbooks.client_id.is_none());
        assert_eq!(config.quickbooks.auth_base, QUICKBOOKS_AUTH_BASE);
        assert_eq!(config.quickbooks.token_url, QUICKBOOKS_TOKEN_URL);
        assert_eq!(config.quickbooks.api_base, QUICKBOOKS_API_BASE);
        let file = ConfigFile::new("qbo");
        let load = |text: &str| file.load(text);
        let alone = load("quickbooks_client_id = \"abc\"\n").err().unwrap();
        assert!(
            alone.to_string().contains("quickbooks_client_secret"),
            "{alone}"
        );
        let bad = load("quickbooks_api_base = \"ftp://x\"\n").err().unwrap();
        assert!(bad.to_string().starts_with("quickbooks_api_base"), "{bad}");
        let config = load(
            "quickbooks_client_id = \"abc\"\nquickbooks_client_secret = \"s3cret\"\n\
             quickbooks_api_base = \"https://sandbox-quickbooks.api.intuit.com/\"\n",
        )
        .unwrap();
        assert_eq!(
            config.quickbooks.api_base,
            "https://sandbox-quickbooks.api.intuit.com"
        );
        let shown = config.to_redacted_toml();
        assert!(
            shown.contains("quickbooks_client_secret = \"<redacted>\""),
            "{shown}"
        );
        assert!(!shown.contains("s3cret"));
    }

    #[test]
    fn an_admin_token_is_read_from_its_file_checked_and_redacted() {
        let file = ConfigFile::new("admin");
        let secret = file.dir.join("admin-token");
        std::fs::write(&secret, "shared-by-every-pod-shared-by-every-pod\n").unwrap();
        let load = |text: String| file.load(&text);
        let short = load("admin_token = \"short\"\n".into()).err().unwrap();
        assert!(short.to_string().starts_with("admin_token"), "{short}");
        let config = load(format!(
            "admin_token_file = {:?}\n",
            secret.display().to_string()
        ))
        .unwrap();
        assert_eq!(
            config
                .admin_token
                .as_ref()
                .map(|t| t.expose_secret().to_string()),
            Some("shared-by-every-pod-shared-by-every-pod".to_string())
        );
        let shown = config.to_redacted_toml();
        assert!(shown.contains("admin_token = \"<redacted>\""), "{shown}");
        assert!(!shown.contains("shared-by-every-pod"));
    }

    #[test]
    fn the_encryption_key_is_redacted_and_stripe_defaults_to_the_real_api() {
        let mut config = Config::load(&ConfigArgs::default()).unwrap();
        assert_eq!(config.stripe_api_base, "https://api.stripe.com");
        let key = "q83vEjQnqyG4kT1GQ3W8g9b5m2N2sVvS3m9bB8pXyZ0=";
        config.encryption_key = Some(SecretString::from(key));
        let shown = config.to_redacted_toml();
        assert!(shown.contains("encryption_key = \"<redacted>\""), "{shown}");
        assert!(!shown.contains(key));
        let parsed: FileConfig = toml::from_str(
            "encryption_key_file = \"/run/secrets/key\"\nstripe_api_base = \"http://127.0.0.1:8420\"",
        )
        .unwrap();
        assert_eq!(
            parsed.stripe_api_base.as_deref(),
            Some("http://127.0.0.1:8420")
        );
    }

    #[test]
    fn storage_settings_are_checked_and_shown_redacted() {
        let load = |url: &str, endpoint: Option<&str>| {
            Config::load(&ConfigArgs {
                storage_url: Some(url.into()),
                storage_endpoint: endpoint.map(String::from),
                ..ConfigArgs::default()
            })
        };
        assert!(load("ftp://files", None).is_err());
        assert!(load("relative/dir", None).is_err());
        assert!(load("s3://bucket", Some("minio:9000")).is_err());
        assert!(load("/srv/files", None).is_ok());
        let config = load("s3://bucket/prefix", Some("http://127.0.0.1:9000")).unwrap();
        let shown = config.to_redacted_toml();
        assert!(
            shown.contains("storage_url = \"s3://bucket/prefix\""),
            "{shown}"
        );
        assert!(shown.contains("storage_endpoint = \"http://127.0.0.1:9000\""));
        let mut with_secret = config.clone();
        with_secret.storage.secret_access_key = Some("hunter2".to_string().into());
        assert!(!with_secret.to_redacted_toml().contains("hunter2"));
    }

    #[test]
    fn acme_settings_are_layered_checked_and_exclude_certificate_files() {
        let args = |domains: &[&str]| ConfigArgs {
            acme_domains: domains.iter().map(|d| d.to_string()).collect(),
            ..ConfigArgs::default()
        };
        let config = Config::load(&args(&[
            "Jobs.Example.com",
            "www.example.com",
            "jobs.example.com",
        ]))
        .unwrap();
        let acme = config.acme.clone().unwrap();
        assert_eq!(acme.domains, ["jobs.example.com", "www.example.com"]);
        assert_eq!(acme.directory, LETS_ENCRYPT_DIRECTORY);
        assert_eq!(acme.http_listen, "0.0.0.0:80".parse().unwrap());
        assert_eq!(config.listen, "0.0.0.0:443".parse().unwrap());
        assert_eq!(config.public_url, "https://jobs.example.com");
        let shown = config.to_redacted_toml();
        assert!(
            shown.contains(r#"acme_domains = ["jobs.example.com", "www.example.com"]"#),
            "{shown}"
        );
        let parsed: FileConfig = toml::from_str(&shown).unwrap();
        assert_eq!(
            parsed.acme_directory.as_deref(),
            Some(LETS_ENCRYPT_DIRECTORY)
        );

        for (domain, why) in [
            ("*.example.com", "DNS-01"),
            ("192.0.2.1", "IP address"),
            ("bad_name.example", "not a domain name"),
        ] {
            let error = Config::load(&args(&[domain])).err().unwrap().to_string();
            assert!(error.starts_with("acme_domains"), "{error}");
            assert!(error.contains(why), "{error}");
        }
        let both = Config::load(&ConfigArgs {
            tls_cert: Some("/c.pem".into()),
            tls_key: Some("/k.pem".into()),
            ..args(&["jobs.example.com"])
        })
        .err()
        .unwrap()
        .to_string();
        assert!(both.contains("exclude each other"), "{both}");
        let alone = Config::load(&ConfigArgs {
            acme_email: Some("ops@example.com".into()),
            ..ConfigArgs::default()
        })
        .err()
        .unwrap()
        .to_string();
        assert!(
            alone.starts_with("acme_email: needs acme_domains"),
            "{alone}"
        );
        let plain_http = Config::load(&ConfigArgs {
            acme_directory: Some("http://ca.example/dir".into()),
            ..args(&["jobs.example.com"])
        })
        .err()
        .unwrap()
        .to_string();
        assert!(plain_http.starts_with("acme_directory"), "{plain_http}");

        let dir = std::env::temp_dir().join(format!("jobber-acme-config-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("jobber.toml");
        std::fs::write(
            &path,
            "acme_domains = [\"a.example\"]\nacme_email = \"ops@a.example\"\n\
             acme_http_listen = \"127.0.0.1:8081\"\nlisten = \"127.0.0.1:8443\"\n",
        )
        .unwrap();
        let from_file = Config::load(&ConfigArgs {
            config: Some(path.clone()),
            ..ConfigArgs::default()
        })
        .unwrap();
        let acme = from_file.acme.unwrap();
        assert_eq!(acme.domains, ["a.example"]);
        assert_eq!(acme.email.as_deref(), Some("ops@a.example"));
        assert_eq!(acme.http_listen, "127.0.0.1:8081".parse().unwrap());
        assert_eq!(from_file.public_url, "https://a.example:8443");
        // A flag's domains replace the file's.
        let flagged = Config::load(&ConfigArgs {
            config: Some(path),
            ..args(&["b.example"])
        })
        .unwrap();
        assert_eq!(flagged.acme.unwrap().domains, ["b.example"]);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn trusted_proxies_are_addresses_or_networks_checked_at_start() {
        use clap::Parser;
        #[derive(Debug, Parser)]
        struct Cli {
            #[command(flatten)]
            config: ConfigArgs,
        }
        let cli = Cli::try_parse_from([
            "jobber",
            "--trusted-proxy",
            "10.0.0.0/8,::1/128",
            "--trusted-proxy",
            "192.0.2.7",
        ])
        .unwrap();
        let config = Config::load(&cli.config).unwrap();
        let shown: Vec<String> = config
            .trusted_proxies
            .iter()
            .map(|n| n.to_string())
            .collect();
        assert_eq!(shown, ["10.0.0.0/8", "::1", "192.0.2.7"]);
        assert!(any_contains(
            &config.trusted_proxies,
            "10.20.30.40".parse().unwrap()
        ));
        assert!(!any_contains(
            &config.trusted_proxies,
            "192.0.2.8".parse().unwrap()
        ));
        let refused = Cli::try_parse_from(["jobber", "--trusted-proxy", "10.0.0.1/8"])
            .unwrap_err()
            .to_string();
        assert!(
            refused.contains("--trusted-proxy") && refused.contains("10.0.0.0/8"),
            "{refused}"
        );

        let file = ConfigFile::new("proxies");
        let load = |text: &str| file.load(text);
        let config = load("trusted_proxies = [\"172.16.0.0/12\", \"fd00::/8\"]\n").unwrap();
        assert!(any_contains(
            &config.trusted_proxies,
            "172.31.5.6".parse().unwrap()
        ));
        let shown = config.to_redacted_toml();
        assert!(
            shown.contains("trusted_proxies = [\"172.16.0.0/12\", \"fd00::/8\"]"),
            "{shown}"
        );
        let parsed: FileConfig = toml::from_str(&shown).unwrap();
        assert_eq!(parsed.trusted_proxies.unwrap().len(), 2);
        let error = load("trusted_proxies = [\"10.0.0.0/33\"]\n")
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("trusted_proxies: ") && error.contains("at most 32"),
            "{error}"
        );
        let error = load("trusted_proxies = [\"lb.internal\"]\n")
            .unwrap_err()
            .to_string();
        assert!(error.contains("not an IP address"), "{error}");
    }

    #[test]
    fn file_rejects_unknown_keys() {
        let err = toml::from_str::<FileConfig>("lisen = \"1.2.3.4:80\"").err();
        assert!(
            err.map(|e| e.to_string())
                .unwrap_or_default()
                .contains("lisen")
        );
    }
}
