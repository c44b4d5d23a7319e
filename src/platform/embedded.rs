//! The embedded PostgreSQL server of a single-box install.
//!
//! Data lives in `<data-dir>/postgres`, the server listens only on a Unix socket in
//! `<data-dir>/run` (no TCP), and the superuser password is generated once into
//! `<data-dir>/postgres.password` (mode 0600). The host's PostgreSQL binaries are used
//! when present (Debian's `postgresql-NN`), else `postgresql_embedded` downloads a build.
//! PostgreSQL refuses to run as root: callers drop privileges before starting it.

use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use postgresql_embedded::{PostgreSQL, Settings, Status};

pub const DATABASE: &str = "jobber";
const PORT: u16 = 5432;

pub struct EmbeddedPostgres {
    server: PostgreSQL,
    url: String,
}

impl EmbeddedPostgres {
    pub async fn start(data_dir: &Path) -> anyhow::Result<Self> {
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
                settings.installation_dir = data_dir.join("pg-install");
            }
        }
        settings.data_dir = data_dir.join("postgres");
        settings.password_file = data_dir.join("postgres.password");
        settings.password = read_or_create_password(&settings.password_file)?;
        settings.socket_dir = Some(data_dir.join("run"));
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

    pub async fn stop(self) -> anyhow::Result<()> {
        self.server
            .stop()
            .await
            .context("cannot stop the embedded PostgreSQL")
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
    if path.exists() {
        let mode = std::fs::metadata(path)?.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
        }
        let password = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        return Ok(password.trim().to_string());
    }
    let password = crate::modules::auth::token::random_token(24);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    file.write_all(password.as_bytes())?;
    Ok(password)
}

impl EmbeddedPostgres {
    /// The URL of the embedded server a running `jobber serve` started on `data_dir`.
    pub fn running_url(data_dir: &Path) -> anyhow::Result<String> {
        let password_file = data_dir.join("postgres.password");
        let password = std::fs::read_to_string(&password_file).with_context(|| {
            format!(
                "a server holds {} but its database password is unreadable",
                data_dir.display()
            )
        })?;
        let mut settings = new_settings();
        settings.password = password.trim().to_string();
        settings.socket_dir = Some(data_dir.join("run"));
        settings.host = "localhost".into();
        settings.port = PORT;
        Ok(settings.url(DATABASE))
    }
}
