//! The embedded PostgreSQL server of a single-box install.
//!
//! Data lives in `<data-dir>/postgres`, the server listens only on a Unix socket in
//! `<data-dir>/run` (no TCP), and the superuser password is generated once into
//! `<data-dir>/postgres.password` (mode 0600). The host's PostgreSQL binaries are used
//! when present (Debian's `postgresql-NN`), else `postgresql_embedded` downloads a build.
//! PostgreSQL refuses to run as root: callers drop privileges before starting it.
//!
//! `jobber serve` watches the server it started ([`EmbeddedPostgres::supervise`]): when
//! the postmaster dies (killed, out of memory), it is started again, a bounded number
//! of times ([`RestartPolicy`]) with a warning each; past that jobber gives up and
//! exits non-zero, so that systemd (or whatever runs it) restarts the whole service.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, FixedOffset};
use postgresql_embedded::{PostgreSQL, Settings, Status};
use sqlx::Connection as _;
use tokio::sync::watch;

use crate::config::Config;
use crate::platform::database::Db;
use crate::platform::datadir::DataDir;

pub const DATABASE: &str = "jobber";
const PORT: u16 = 5432;
/// `archive_timeout`: the most WAL a crash of the disk can lose is this many seconds
/// of writes, plus the time the archive command takes (the RPO, docs/backups.md).
pub const ARCHIVE_TIMEOUT_SECS: u32 = 60;
/// How long a point-in-time recovery may replay WAL.
const RECOVERY_TIMEOUT: Duration = Duration::from_secs(6 * 60 * 60);

/// `jobber` as the embedded server runs it from its archive and restore commands:
/// this binary, with the data dir and configuration file of this one.
#[derive(Debug, Clone)]
pub struct JobberCommand {
    /// Shell-quoted program and global options.
    prefix: String,
}

impl JobberCommand {
    pub fn for_config(config: &Config) -> anyhow::Result<Self> {
        let exe = std::env::current_exe().context("cannot find the jobber binary")?;
        // Replaced by an upgrade while running, Linux says "/usr/bin/jobber (deleted)";
        // the new binary is at the same path.
        let exe = PathBuf::from(
            exe.to_string_lossy()
                .trim_end_matches(" (deleted)")
                .to_string(),
        );
        let mut parts = vec![
            exe.to_string_lossy().into_owned(),
            "--data-dir".to_string(),
            std::path::absolute(&config.data_dir)?
                .to_string_lossy()
                .into_owned(),
        ];
        if let Some(file) = &config.config_file {
            parts.push("--config".into());
            parts.push(std::path::absolute(file)?.to_string_lossy().into_owned());
        }
        let prefix = parts
            .iter()
            .map(|p| sh_quote(p))
            .collect::<Vec<_>>()
            .join(" ");
        Ok(Self { prefix })
    }

    /// PostgreSQL's `archive_command`: `%p` is the segment's path (relative to the
    /// data dir), `%f` its file name.
    pub fn archive_command(&self) -> String {
        format!("{} backup archive-wal %p %f", self.prefix)
    }

    /// PostgreSQL's `restore_command`; WAL from the object store, or from the
    /// backups folder `from` (a backup copied off the machine).
    pub fn restore_command(&self, from: Option<&Path>) -> String {
        match from {
            Some(from) => format!(
                "{} backup fetch-wal --from {} %f %p",
                self.prefix,
                sh_quote(&from.to_string_lossy())
            ),
            None => format!("{} backup fetch-wal %f %p", self.prefix),
        }
    }
}

/// Quote for `/bin/sh` (pg_ctl runs the server's options through it, and PostgreSQL
/// runs its archive and restore commands through it).
pub fn sh_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "'\\''"))
}

pub struct EmbeddedPostgres {
    server: PostgreSQL,
    url: String,
}

impl EmbeddedPostgres {
    pub async fn start(config: &Config) -> anyhow::Result<Self> {
        Self::launch(config, Vec::new()).await
    }

    /// Start a server whose data dir holds a base backup (and `recovery.signal`):
    /// PostgreSQL fetches archived WAL with `jobber backup fetch-wal`, replays it up to
    /// `target`, and is promoted there. Returns once it accepts writes again.
    pub async fn recover(
        config: &Config,
        target: DateTime<FixedOffset>,
        wal_from: Option<&Path>,
    ) -> anyhow::Result<Self> {
        let dir = DataDir::new(&config.data_dir);
        std::fs::write(dir.postgres().join("recovery.signal"), b"")
            .context("writing recovery.signal")?;
        let jobber = JobberCommand::for_config(config)?;
        let recovery = vec![
            (
                "restore_command".into(),
                sh_quote(&jobber.restore_command(wal_from)),
            ),
            (
                "recovery_target_time".into(),
                sh_quote(&target.format("%Y-%m-%d %H:%M:%S%.6f%:z").to_string()),
            ),
            ("recovery_target_action".into(), "promote".into()),
        ];
        let server = Self::launch(config, recovery).await?;
        let deadline = tokio::time::Instant::now() + RECOVERY_TIMEOUT;
        loop {
            if !server.is_alive() {
                anyhow::bail!(
                    "PostgreSQL stopped during recovery (was the WAL up to the target archived?); see {}",
                    dir.postgres_start_log().display()
                );
            }
            let in_recovery = async {
                let mut conn = sqlx::PgConnection::connect(&server.url).await?;
                let in_recovery: bool = sqlx::query_scalar("SELECT pg_is_in_recovery()")
                    .fetch_one(&mut conn)
                    .await?;
                conn.close().await?;
                anyhow::Ok(in_recovery)
            }
            .await;
            match in_recovery {
                Ok(false) => return Ok(server),
                Ok(true) => {}
                Err(error) => tracing::debug!(%error, "waiting for recovery"),
            }
            anyhow::ensure!(
                tokio::time::Instant::now() < deadline,
                "recovery did not finish within {} minutes; see {}",
                RECOVERY_TIMEOUT.as_secs() / 60,
                dir.postgres_start_log().display()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    async fn launch(config: &Config, extra: Vec<(String, String)>) -> anyhow::Result<Self> {
        let data_dir = config.data_dir.as_path();
        let dir = DataDir::new(data_dir);
        let mut settings = new_settings();
        let host = host_installation();
        match host.clone() {
            Some(dir) => {
                tracing::info!(installation = %dir.display(), "using the host's PostgreSQL");
                settings.installation_dir = dir;
                settings.trust_installation_dir = true;
            }
            None => {
                tracing::warn!("no PostgreSQL found on the host (pg_config); downloading one");
                settings.installation_dir = dir.pg_install();
            }
        }
        settings.data_dir = dir.postgres();
        settings.password_file = dir.postgres_password();
        settings.password = read_or_create_password(&settings.password_file)?;
        settings.socket_dir = Some(dir.run());
        settings.host = "localhost".into();
        settings.port = PORT;
        settings.temporary = false;
        settings.timeout = Some(Duration::from_secs(120));
        settings
            .configuration
            .insert("listen_addresses".into(), "''".into());
        settings
            .configuration
            .insert("unix_socket_permissions".into(), "0700".into());
        // Continuous WAL archiving for point-in-time recovery (docs/backups.md): every
        // finished segment, and at least one a minute while there are writes, goes to
        // the object store by `jobber backup archive-wal`. New segments are created
        // zero-filled instead of recycled, so a segment closed early by the timeout
        // compresses to almost nothing.
        let jobber = JobberCommand::for_config(config)?;
        let archive = if config.jobs.wal_archive {
            vec![
                ("archive_mode", "on".to_string()),
                ("archive_timeout", ARCHIVE_TIMEOUT_SECS.to_string()),
                ("wal_recycle", "off".to_string()),
                ("archive_command", sh_quote(&jobber.archive_command())),
            ]
        } else {
            // `wal_archive = false` (the default without scheduled backups, whose prune
            // is what removes old WAL): base backups still work, point-in-time recovery
            // does not.
            Vec::new()
        };
        for (key, value) in [("wal_level", "replica".to_string())]
            .into_iter()
            .chain(archive)
        {
            settings.configuration.insert(key.into(), value);
        }
        settings.configuration.extend(extra);

        let mut server = PostgreSQL::new(settings);
        server
            .setup()
            .await
            .context("cannot initialise the embedded PostgreSQL")?;
        if server.status() == Status::Started {
            // We hold the data dir's lock, so a running server is an orphan of a jobber
            // that was killed; stop it (or clear its stale pid file) and start ours.
            tracing::warn!("stopping a PostgreSQL left running by an earlier jobber");
            if server.stop().await.is_err() {
                let _ = std::fs::remove_file(server.settings().data_dir.join("postmaster.pid"));
            }
        }
        server.start().await.with_context(|| {
            format!(
                "cannot start the embedded PostgreSQL; see {}",
                server.settings().data_dir.join("start.log").display()
            )
        })?;
        if !server.database_exists(DATABASE).await? {
            server.create_database(DATABASE).await?;
        }
        let url = server.settings().url(DATABASE);
        Ok(Self { server, url })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// The installation's `bin` folder (`pg_dump`, `pg_restore` of the same version).
    pub fn bin_dir(&self) -> PathBuf {
        self.server.settings().binary_dir()
    }

    /// The postmaster's pid: the first line of `postmaster.pid`.
    fn postmaster_pid(&self) -> Option<i32> {
        let text =
            std::fs::read_to_string(self.server.settings().data_dir.join("postmaster.pid")).ok()?;
        text.lines().next()?.trim().parse().ok()
    }

    /// Whether the postmaster runs. Its pid file outlives a killed postmaster, so the
    /// process itself is checked (a zombie counts as dead: when jobber is a container's
    /// pid 1 it inherits the orphaned postmaster).
    pub fn is_alive(&self) -> bool {
        let Some(pid) = self.postmaster_pid().filter(|pid| *pid > 0) else {
            return false;
        };
        match nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None) {
            Ok(()) | Err(nix::errno::Errno::EPERM) => {}
            Err(_) => return false,
        }
        // `/proc/<pid>/stat`: "pid (comm) S …"; the state follows the last ')'.
        match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Ok(stat) => stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.trim_start().chars().next())
                .is_none_or(|state| state != 'Z' && state != 'X'),
            // No procfs: the signal check has to do.
            Err(_) => true,
        }
    }

    /// Start the server again after it died. Its children may hold the old shared
    /// memory for a moment after the postmaster was killed ("pre-existing shared memory
    /// block is still in use"), so a refused start is tried again for a while.
    async fn restart(&mut self) -> anyhow::Result<()> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            match self.server.start().await {
                Ok(()) => return Ok(()),
                Err(error) if tokio::time::Instant::now() < deadline => {
                    tracing::debug!(%error, "the embedded PostgreSQL did not start yet; trying again");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                Err(error) => {
                    return Err(error).with_context(|| {
                        format!(
                            "cannot restart the embedded PostgreSQL; see {}",
                            self.server.settings().data_dir.join("start.log").display()
                        )
                    });
                }
            }
        }
    }

    /// Watch the server until `stop` turns true: restart it when it dies, within
    /// `policy`; `db`'s idle connections (dead with the server) are closed on the way.
    pub fn supervise(
        self,
        policy: RestartPolicy,
        db: Db,
        stop: watch::Receiver<bool>,
    ) -> Supervisor {
        let (gave_up_tx, gave_up) = watch::channel(false);
        let task = tokio::spawn(watch_server(self, policy, db, stop, gave_up_tx));
        Supervisor { task, gave_up }
    }

    pub async fn stop(self) -> anyhow::Result<()> {
        self.server
            .stop()
            .await
            .context("cannot stop the embedded PostgreSQL")
    }
}

/// How many times the embedded server may be restarted, and how often it is checked.
#[derive(Debug, Clone)]
pub struct RestartPolicy {
    /// Restarts allowed within `window`; one more death and jobber gives up.
    pub max_restarts: u32,
    pub window: Duration,
    pub check_every: Duration,
}

/// The task watching the embedded server.
pub struct Supervisor {
    task: tokio::task::JoinHandle<(EmbeddedPostgres, Option<anyhow::Error>)>,
    gave_up: watch::Receiver<bool>,
}

impl Supervisor {
    /// Resolves when the server died more often than the policy allows.
    pub fn gave_up(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let mut gave_up = self.gave_up.clone();
        async move {
            if gave_up.wait_for(|gave_up| *gave_up).await.is_err() {
                // The supervisor ended without giving up: nothing to wait for.
                std::future::pending::<()>().await;
            }
        }
    }

    /// Wait for the supervisor (its `stop` must have turned true, or it gave up), then
    /// stop the server. The error says why it gave up, if it did.
    pub async fn finish(self) -> anyhow::Result<()> {
        let (server, gave_up) = self
            .task
            .await
            .context("the embedded PostgreSQL's supervisor failed")?;
        if let Some(error) = gave_up {
            return Err(error);
        }
        server.stop().await
    }
}

async fn watch_server(
    mut server: EmbeddedPostgres,
    policy: RestartPolicy,
    db: Db,
    mut stop: watch::Receiver<bool>,
    gave_up: watch::Sender<bool>,
) -> (EmbeddedPostgres, Option<anyhow::Error>) {
    let mut restarts: std::collections::VecDeque<tokio::time::Instant> = Default::default();
    loop {
        tokio::select! {
            () = tokio::time::sleep(policy.check_every) => {}
            _ = stop.wait_for(|stop| *stop) => return (server, None),
        }
        if *stop.borrow() {
            // Shutting down: a server stopped with us (systemd signals the whole
            // group) is not restarted.
            return (server, None);
        }
        if server.is_alive() {
            continue;
        }
        restarts.retain(|at| at.elapsed() < policy.window);
        if restarts.len() >= usize::try_from(policy.max_restarts).unwrap_or(usize::MAX) {
            let error = anyhow::anyhow!(
                "the embedded PostgreSQL died again after {} restart(s) within {} minutes; giving up (see {})",
                restarts.len(),
                policy.window.as_secs() / 60,
                server
                    .server
                    .settings()
                    .data_dir
                    .join("start.log")
                    .display()
            );
            tracing::error!(error = %error, "embedded PostgreSQL lost; exiting");
            let _ = gave_up.send(true);
            return (server, Some(error));
        }
        restarts.push_back(tokio::time::Instant::now());
        tracing::warn!(
            restart = restarts.len(),
            max_restarts = policy.max_restarts,
            "the embedded PostgreSQL died; restarting it"
        );
        db.discard_idle().await;
        match server.restart().await {
            Ok(()) => {
                // Connections opened while it was down failed; those from before are dead.
                db.discard_idle().await;
                tracing::info!("the embedded PostgreSQL is running again");
            }
            Err(error) => {
                // Checked again at the next tick, and counted as another restart.
                tracing::error!(
                    error = format!("{error:#}"),
                    "cannot restart the embedded PostgreSQL"
                );
            }
        }
    }
}

/// `Settings::new()` creates (and keeps) two empty temporary directories for a data
/// dir and password file we never use; remove them so each start leaves nothing behind.
fn new_settings() -> Settings {
    let settings = Settings::new();
    let temp = std::env::temp_dir();
    for dir in [
        Some(settings.data_dir.as_path()),
        settings.password_file.parent(),
    ]
    .into_iter()
    .flatten()
    {
        if dir.starts_with(&temp) && dir != temp {
            let _ = std::fs::remove_dir(dir);
        }
    }
    settings
}

/// The host's PostgreSQL installation: the parent of `pg_config --bindir`, or the newest
/// `/usr/lib/postgresql/NN` (Debian installs `pg_config` only with the -dev package).
pub fn host_installation() -> Option<PathBuf> {
    let from_pg_config = std::process::Command::new("pg_config")
        .arg("--bindir")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| PathBuf::from(s.trim()))
        .filter(|bin| bin.join("postgres").exists() && bin.join("initdb").exists())
        .and_then(|bin| bin.parent().map(Path::to_path_buf));
    from_pg_config.or_else(|| {
        let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .filter_map(Result::ok)
            .filter_map(|e| Some((e.file_name().to_str()?.parse().ok()?, e.path())))
            .filter(|(_, path): &(u32, PathBuf)| path.join("bin/postgres").exists())
            .collect();
        versions.sort();
        versions.pop().map(|(_, path)| path)
    })
}

fn read_or_create_password(path: &Path) -> anyhow::Result<String> {
    crate::platform::crypto::read_or_create_secret(path, || {
        crate::platform::crypto::random_token(24)
    })
}

impl EmbeddedPostgres {
    /// The URL of the embedded server a running `jobber serve` started on `data_dir`.
    pub fn running_url(data_dir: &Path) -> anyhow::Result<String> {
        let dir = DataDir::new(data_dir);
        let password_file = dir.postgres_password();
        let password = std::fs::read_to_string(&password_file).with_context(|| {
            format!(
                "a server holds {} but its database password is unreadable",
                data_dir.display()
            )
        })?;
        let mut settings = new_settings();
        settings.password = password.trim().to_string();
        settings.socket_dir = Some(dir.run());
        settings.host = "localhost".into();
        settings.port = PORT;
        Ok(settings.url(DATABASE))
    }
}
