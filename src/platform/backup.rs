//! Backups (seed §12): a consistent dump of the database, the stored files and the
//! data dir's keys, written with a manifest under `backups/{id}/` of the object store.
//!
//! A backup is four objects:
//!
//! - `database.dump`: `pg_dump --format=custom` by the `pg_dump` of the server's own
//!   major version, taken in an exported snapshot;
//! - `files.tar`: every stored file (attachments, PDFs, logos, avatars, exports) except
//!   the backups themselves;
//! - `keys.tar`: the data dir's `jwt.key` and `encryption.key`, without which encrypted
//!   settings cannot be read and every login ends (absent when both come from the
//!   configuration: the operator keeps them);
//! - `manifest.json`, written last: versions, the row count of every table in the same
//!   snapshot, and the size and SHA-256 of every part. A directory without a manifest
//!   is an unfinished backup; `list` says so and `prune` removes it.
//!
//! `verify` checks the checksums and restores the dump into a scratch database,
//! comparing every table's row count with the manifest; `restore` does the same into
//! the (empty) configured database, then puts back the files and the keys.
//!
//! Point-in-time recovery (embedded mode only): the embedded server archives every WAL
//! segment to `backups/wal/{timeline}/{segment}.gz` ([`Backups::archive_wal`], run by
//! PostgreSQL's `archive_command`), and a backup also carries a base backup of the
//! cluster (`pg_basebackup`, tar format: `postgres-base.tar` and `postgres-wal.tar`).
//! [`restore_to_time`] unpacks a base backup into an empty data dir and lets PostgreSQL
//! replay the archived WAL up to the requested time.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use anyhow::{Context, bail, ensure};
use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use object_store::path::Path as StorePath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload, WriteMultipart};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::Connection as _;

use secrecy::ExposeSecret;

use crate::config::Config;
use crate::platform::database::Db;
use crate::platform::datadir::DataDir;
use crate::platform::storage::Storage;

/// The folder of the object store that holds the backups.
pub const FOLDER: &str = "backups";
pub const MANIFEST: &str = "manifest.json";
pub const DUMP: &str = "database.dump";
pub const FILES: &str = "files.tar";
pub const KEYS: &str = "keys.tar";
/// The cluster as `pg_basebackup --format=tar` wrote it (embedded mode).
pub const BASE: &str = "postgres-base.tar";
/// The WAL written while the base backup was taken (`--wal-method=stream`).
pub const BASE_WAL: &str = "postgres-wal.tar";
/// The folder under [`FOLDER`] holding the archived WAL.
pub const WAL: &str = "wal";
/// The data dir's files a backup carries in [`KEYS`] (under their file names).
fn key_files(data_dir: &Path) -> [PathBuf; 2] {
    let dir = DataDir::new(data_dir);
    [dir.jwt_key(), dir.encryption_key()]
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}
/// Backups older than this many days are removed by `prune` and the daily task.
pub const DEFAULT_RETENTION_DAYS: u32 = 30;
/// The roles the migrations create; they live in the cluster, not in the dump, so a
/// restore makes them first (`NOLOGIN`: nobody signs in as them).
pub const ROLES: &[&str] = &["jobber_app", "jobber_search", "jobber_session"];

const FORMAT: u32 = 1;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    pub id: String,
    pub created_at: DateTime<Utc>,
    pub jobber_version: String,
    /// The newest migration applied: a restore needs a binary at least this new.
    pub schema_version: i64,
    pub postgres_version: String,
    pub postgres_major: u32,
    pub pg_dump_version: String,
    /// The role that owns the dumped objects; a restore runs as that role or a superuser.
    pub database_owner: String,
    /// Row counts of every table (`schema.table`), in the dump's snapshot.
    pub tables: BTreeMap<String, i64>,
    pub files: u64,
    pub parts: Vec<Part>,
    /// The base backup of the embedded cluster, for point-in-time recovery.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_backup: Option<BaseBackup>,
}

/// A base backup in a backup: where replay starts, and the earliest time it can
/// recover to.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct BaseBackup {
    /// The first WAL segment replay needs (`backup_label`'s START WAL LOCATION).
    pub start_wal: String,
    /// When `pg_basebackup` finished: a recovery target must be later.
    pub finished_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Part {
    pub name: String,
    pub size: u64,
    pub sha256: String,
}

impl Manifest {
    pub fn size(&self) -> u64 {
        self.parts.iter().map(|p| p.size).sum()
    }

    fn part(&self, name: &str) -> Option<&Part> {
        self.parts.iter().find(|p| p.name == name)
    }
}

/// A backup found by `list`.
#[derive(Debug, Clone)]
pub struct Listed {
    pub id: String,
    /// `None`: no manifest (unfinished, or being written now).
    pub manifest: Option<Manifest>,
    pub last_modified: DateTime<Utc>,
}

/// Where backups are kept: the install's object store (`backups/` beside the files),
/// or a local folder holding backups (`restore /mnt/usb/backups/2026-12-03T031500Z`).
#[derive(Debug, Clone)]
pub struct Backups {
    store: Arc<dyn ObjectStore>,
    root: String,
    /// The local folder holding the backups, when read from one.
    folder: Option<PathBuf>,
}

impl Backups {
    pub fn in_storage(storage: &Storage) -> Self {
        let (store, prefix) = storage.tree();
        let root = if prefix.is_empty() {
            FOLDER.to_string()
        } else {
            format!("{prefix}/{FOLDER}")
        };
        Self {
            store,
            root,
            folder: None,
        }
    }

    /// The folder holding a backup (`…/backups/{id}`): the backups beside it, and its id.
    pub fn in_folder(folder: &Path) -> anyhow::Result<(Self, String)> {
        ensure!(
            folder.join(MANIFEST).is_file(),
            "{} holds no {MANIFEST}: not a backup",
            folder.display()
        );
        let id = folder
            .file_name()
            .and_then(|n| n.to_str())
            .context("the backup folder has no name")?
            .to_string();
        let parent = folder.parent().context("the backup folder has no parent")?;
        let store = object_store::local::LocalFileSystem::new_with_prefix(parent)
            .with_context(|| format!("cannot open {}", parent.display()))?;
        Ok((
            Self {
                store: Arc::new(store),
                root: String::new(),
                folder: Some(parent.to_path_buf()),
            },
            id,
        ))
    }

    /// A local folder holding backups (and their `wal/`), as copied off the machine.
    pub fn in_local_folder(folder: &Path) -> anyhow::Result<Self> {
        let store = object_store::local::LocalFileSystem::new_with_prefix(folder)
            .with_context(|| format!("cannot open {}", folder.display()))?;
        Ok(Self {
            store: Arc::new(store),
            root: String::new(),
            folder: Some(folder.to_path_buf()),
        })
    }

    /// The local folder these backups are in (`None`: the install's object store).
    pub fn folder(&self) -> Option<&Path> {
        self.folder.as_deref()
    }

    /// Where an archived WAL file is kept: `wal/{timeline}/{name}.gz`, the timeline
    /// being the first 8 hex digits of every WAL file name (segments, `.history`,
    /// `.backup`).
    fn wal_path(&self, name: &str) -> anyhow::Result<StorePath> {
        ensure!(
            name.len() >= 16
                && name.is_ascii()
                && name[..8].chars().all(|c| c.is_ascii_hexdigit())
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '.'),
            "{name:?} is not a WAL file name"
        );
        let relative = format!("{WAL}/{}/{name}.gz", &name[..8]);
        Ok(if self.root.is_empty() {
            StorePath::from(relative)
        } else {
            StorePath::from(format!("{}/{relative}", self.root))
        })
    }

    /// Copy a WAL file PostgreSQL finished (`archive_command`) into the archive,
    /// compressed. Idempotent: a file archived already with the same content is a
    /// success; with other content an error (PostgreSQL keeps the segment and retries,
    /// and the operator is told), never an overwrite.
    pub async fn archive_wal(&self, source: &Path, name: &str) -> anyhow::Result<bool> {
        let path = self.wal_path(name)?;
        let raw = tokio::fs::read(source)
            .await
            .with_context(|| format!("reading {}", source.display()))?;
        match self.store.get(&path).await {
            Ok(found) => {
                let existing = gunzip(&found.bytes().await?)
                    .with_context(|| format!("the archived {name} is unreadable"))?;
                ensure!(
                    existing == raw,
                    "{name} is archived already with other content; not overwriting it \
                     (is a second server archiving into the same store?)"
                );
                Ok(false)
            }
            Err(object_store::Error::NotFound { .. }) => {
                let compressed = tokio::task::spawn_blocking(move || gzip(&raw)).await??;
                // One PUT: the object appears whole or not at all (a local store
                // writes a temporary file and renames it).
                self.store
                    .put(&path, PutPayload::from(compressed))
                    .await
                    .with_context(|| format!("archiving {name}"))?;
                Ok(true)
            }
            Err(error) => Err(error).with_context(|| format!("archiving {name}")),
        }
    }

    /// Write an archived WAL file to `target` (`restore_command`); `false` when the
    /// archive has no such file (PostgreSQL asks for files past the end, and for
    /// timeline histories that may not exist).
    pub async fn fetch_wal(&self, name: &str, target: &Path) -> anyhow::Result<bool> {
        let path = self.wal_path(name)?;
        let compressed = match self.store.get(&path).await {
            Ok(found) => found.bytes().await?,
            Err(object_store::Error::NotFound { .. }) => return Ok(false),
            Err(error) => return Err(error).with_context(|| format!("fetching {name}")),
        };
        let raw = tokio::task::spawn_blocking(move || gunzip(&compressed)).await??;
        let partial = target.with_extension("jobber-partial");
        tokio::fs::write(&partial, raw)
            .await
            .with_context(|| format!("writing {}", partial.display()))?;
        tokio::fs::rename(&partial, target).await?;
        Ok(true)
    }

    /// Remove archived WAL segments older than `start` (a segment name): replay from
    /// any kept base backup starts at or after it. Timeline histories stay (they are
    /// tiny, and a recovery needs them). How many were removed.
    async fn prune_wal(&self, start: &str) -> anyhow::Result<usize> {
        let folder = if self.root.is_empty() {
            StorePath::from(WAL)
        } else {
            StorePath::from(format!("{}/{WAL}", self.root))
        };
        let mut listing = self.store.list(Some(&folder));
        let mut old = Vec::new();
        while let Some(meta) = listing.next().await {
            let meta = meta.context("listing the archived WAL")?;
            let Some(name) = meta.location.filename() else {
                continue;
            };
            if is_segment_before(name, start) {
                old.push(meta.location);
            }
        }
        for path in &old {
            match self.store.delete(path).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(error) => return Err(error).with_context(|| format!("deleting {path}")),
            }
        }
        Ok(old.len())
    }

    fn path(&self, id: &str, name: &str) -> StorePath {
        if self.root.is_empty() {
            StorePath::from(format!("{id}/{name}"))
        } else {
            StorePath::from(format!("{}/{id}/{name}", self.root))
        }
    }

    /// Every backup, newest first.
    pub async fn list(&self) -> anyhow::Result<Vec<Listed>> {
        let root = (!self.root.is_empty()).then(|| StorePath::from(self.root.as_str()));
        let mut listing = self.store.list(root.as_ref());
        let mut newest: BTreeMap<String, DateTime<Utc>> = BTreeMap::new();
        let depth = root.as_ref().map_or(0, |r| r.parts().count());
        while let Some(meta) = listing.next().await {
            let meta = meta.context("listing the backups")?;
            let Some(id) = meta.location.parts().nth(depth) else {
                continue;
            };
            let id = id.as_ref().to_string();
            if id == WAL {
                continue;
            }
            let seen = newest.entry(id).or_insert(meta.last_modified);
            *seen = (*seen).max(meta.last_modified);
        }
        let mut found = Vec::with_capacity(newest.len());
        for (id, last_modified) in newest {
            let manifest = self.manifest(&id).await?;
            found.push(Listed {
                id,
                manifest,
                last_modified,
            });
        }
        found.sort_by(|a, b| b.id.cmp(&a.id));
        Ok(found)
    }

    pub async fn manifest(&self, id: &str) -> anyhow::Result<Option<Manifest>> {
        match self.store.get(&self.path(id, MANIFEST)).await {
            Ok(found) => {
                let bytes = found.bytes().await?;
                let manifest = serde_json::from_slice(&bytes)
                    .with_context(|| format!("backup {id}: {MANIFEST} is unreadable"))?;
                Ok(Some(manifest))
            }
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(error) => Err(error).with_context(|| format!("reading backup {id}")),
        }
    }

    /// Upload a local file as part `name` of backup `id`; its size and SHA-256.
    async fn upload(&self, id: &str, name: &str, file: &Path) -> anyhow::Result<Part> {
        let upload = self
            .store
            .put_multipart(&self.path(id, name))
            .await
            .with_context(|| format!("uploading {name}"))?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, 8 << 20);
        let mut input = std::fs::File::open(file)?;
        let mut hasher = Sha256::new();
        let mut size = 0u64;
        let mut buffer = vec![0; 1 << 20];
        loop {
            let read = input.read(&mut buffer)?;
            if read == 0 {
                break;
            }
            hasher.update(&buffer[..read]);
            size += read as u64;
            writer.wait_for_capacity(4).await?;
            writer.write(&buffer[..read]);
        }
        writer
            .finish()
            .await
            .with_context(|| format!("uploading {name}"))?;
        Ok(Part {
            name: name.to_string(),
            size,
            sha256: hex(&hasher.finalize()),
        })
    }

    /// Download part `part` of backup `id` to `file`, checking its size and checksum.
    async fn download(&self, id: &str, part: &Part, file: &Path) -> anyhow::Result<()> {
        let found = self
            .store
            .get(&self.path(id, &part.name))
            .await
            .with_context(|| format!("backup {id}: part {} is missing", part.name))?;
        let mut stream = found.into_stream();
        let mut output = std::fs::File::create(file)?;
        let mut hasher = Sha256::new();
        let mut size = 0u64;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.with_context(|| format!("downloading {}", part.name))?;
            hasher.update(&chunk);
            size += chunk.len() as u64;
            output.write_all(&chunk)?;
        }
        output.sync_all()?;
        ensure!(
            size == part.size,
            "backup {id}: {} is {size} bytes, the manifest says {}",
            part.name,
            part.size
        );
        let sha256 = hex(&hasher.finalize());
        ensure!(
            sha256 == part.sha256,
            "backup {id}: {} is damaged (SHA-256 {sha256}, the manifest says {})",
            part.name,
            part.sha256
        );
        Ok(())
    }

    /// Whether anything is stored under a backup's folder (finished or not).
    async fn exists(&self, id: &str) -> anyhow::Result<bool> {
        let folder = self.path(id, "");
        let folder = StorePath::from(folder.as_ref().trim_end_matches('/'));
        match self.store.list(Some(&folder)).next().await {
            Some(found) => found.map(|_| true).context("listing the backups"),
            None => Ok(false),
        }
    }

    /// Remove a backup (every object under its folder).
    pub async fn delete(&self, id: &str) -> anyhow::Result<()> {
        let folder = self.path(id, "");
        let folder = StorePath::from(folder.as_ref().trim_end_matches('/'));
        let mut listing = self.store.list(Some(&folder));
        let mut paths = Vec::new();
        while let Some(meta) = listing.next().await {
            paths.push(meta?.location);
        }
        for path in paths {
            match self.store.delete(&path).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(error) => return Err(error).with_context(|| format!("deleting {path}")),
            }
        }
        Ok(())
    }
}

/// How to reach the database from `pg_dump` and `pg_restore`: a libpq URL without
/// its password (which goes in `PGPASSWORD`, out of the process list).
#[derive(Clone)]
pub struct Connection {
    url: reqwest::Url,
    password: Option<String>,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.url)
    }
}

impl Connection {
    pub fn parse(url: &str) -> anyhow::Result<Self> {
        let mut url = reqwest::Url::parse(url).context("the database URL is not a URL")?;
        let password = url.password().map(percent_decode);
        let _ = url.set_password(None);
        Ok(Self { url, password })
    }

    /// The same server, another database.
    pub fn with_database(&self, name: &str) -> Self {
        let mut other = self.clone();
        other.url.set_path(&format!("/{name}"));
        other
    }

    pub fn database(&self) -> String {
        percent_decode(self.url.path().trim_start_matches('/'))
    }

    /// The URL with its password, for sqlx.
    fn sqlx_url(&self) -> String {
        let mut url = self.url.clone();
        if let Some(password) = &self.password {
            let encoded: String = form_urlencoded::byte_serialize(password.as_bytes()).collect();
            let _ = url.set_password(Some(&encoded));
        }
        url.to_string()
    }

    fn command(&self, program: &Path) -> Command {
        let mut command = Command::new(program);
        command
            .env_remove("PGPASSWORD")
            .env("PGCONNECT_TIMEOUT", "10");
        if let Some(password) = &self.password {
            command.env("PGPASSWORD", password);
        }
        command
    }
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(byte) = u8::from_str_radix(&text[i + 1..i + 3], 16)
        {
            out.push(byte);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `pg_dump` and `pg_restore` of one PostgreSQL major version.
#[derive(Debug, Clone)]
pub struct PgTools {
    bin: PathBuf,
    pub version: String,
}

impl PgTools {
    /// The client tools of the server's major version: in `preferred` (the embedded
    /// server's installation), Debian's `/usr/lib/postgresql/{major}/bin`, or `PATH`.
    pub fn find(major: u32, preferred: Option<&Path>) -> anyhow::Result<Self> {
        let mut candidates: Vec<PathBuf> = preferred.map(Path::to_path_buf).into_iter().collect();
        candidates.push(PathBuf::from(format!("/usr/lib/postgresql/{major}/bin")));
        if let Some(path) = std::env::var_os("PATH") {
            candidates.extend(std::env::split_paths(&path));
        }
        for dir in candidates {
            let pg_dump = dir.join("pg_dump");
            if !pg_dump.is_file() || !dir.join("pg_restore").is_file() {
                continue;
            }
            let Ok(out) = Command::new(&pg_dump).arg("--version").output() else {
                continue;
            };
            // "pg_dump (PostgreSQL) 15.14 (Debian 15.14-0+deb12u1)"
            let version = String::from_utf8_lossy(&out.stdout).trim().to_string();
            let found_major = version
                .split_whitespace()
                .nth(2)
                .and_then(|v| v.split('.').next())
                .and_then(|v| v.parse::<u32>().ok());
            if found_major == Some(major) {
                return Ok(Self { bin: dir, version });
            }
        }
        bail!(
            "no pg_dump of PostgreSQL {major} found (a backup is taken by the server's own \
             major version); install it (Debian: apt install postgresql-client-{major})"
        )
    }

    fn tool(&self, name: &str) -> PathBuf {
        self.bin.join(name)
    }
}

/// What a backup needs to know about the install.
pub struct Install<'a> {
    pub db: &'a Db,
    pub connection: Connection,
    /// The embedded server's binaries, if any.
    pub pg_bin: Option<PathBuf>,
    pub storage: &'a Storage,
    pub data_dir: &'a Path,
    /// The database is the data dir's embedded cluster: a backup also takes a base
    /// backup of it, for point-in-time recovery.
    pub embedded: bool,
}

/// The server's version (`15.14`) and major version.
async fn server_version(db: &Db) -> anyhow::Result<(String, u32)> {
    let version: String = sqlx::query_scalar("SHOW server_version")
        .fetch_one(db.pool())
        .await?;
    let number: String = sqlx::query_scalar("SHOW server_version_num")
        .fetch_one(db.pool())
        .await?;
    let major = number.parse::<u32>().context("server_version_num")? / 10_000;
    Ok((version, major))
}

/// The row count of every table, as `schema.table`, read with row security off (an
/// error, not a silently short count, when the role may not see every row).
async fn count_tables(conn: &mut sqlx::PgConnection) -> anyhow::Result<BTreeMap<String, i64>> {
    sqlx::query("SET LOCAL row_security = off")
        .execute(&mut *conn)
        .await?;
    let tables: Vec<(String, String)> = sqlx::query_as(
        "SELECT schemaname::text, tablename::text FROM pg_tables \
         WHERE schemaname NOT IN ('pg_catalog', 'information_schema') \
         ORDER BY 1, 2",
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut counts = BTreeMap::new();
    for (schema, table) in tables {
        let sql = format!(
            "SELECT count(*) FROM {}.{}",
            quote_ident(&schema),
            quote_ident(&table)
        );
        let count: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .fetch_one(&mut *conn)
            .await
            .with_context(|| format!("counting {schema}.{table}"))?;
        counts.insert(format!("{schema}.{table}"), count);
    }
    Ok(counts)
}

fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A folder for a command's temporary files, removed when dropped.
struct WorkDir(PathBuf);

impl WorkDir {
    fn new(data_dir: &Path, id: &str) -> anyhow::Result<Self> {
        let dir = DataDir::new(data_dir).tmp().join(format!("backup-{id}"));
        if dir.exists() {
            std::fs::remove_dir_all(&dir)?;
        }
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        Ok(Self(dir))
    }

    fn file(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A new backup's id: its UTC time to the second, which sorts by age.
pub fn new_id(now: DateTime<Utc>) -> String {
    now.format("%Y-%m-%dT%H%M%SZ").to_string()
}

/// Take a backup: dump, files, keys, then the manifest.
pub async fn create(install: &Install<'_>, backups: &Backups) -> anyhow::Result<Manifest> {
    let now = Utc::now();
    let id = new_id(now);
    ensure!(
        !backups.exists(&id).await?,
        "a backup named {id} exists already or is being written (one was started this \
         second); try again"
    );
    // Unique: the worker's daily backup may run beside a `jobber backup create`.
    let work = WorkDir::new(
        install.data_dir,
        &format!("{id}-{}", uuid::Uuid::now_v7().simple()),
    )?;
    let (postgres_version, postgres_major) = server_version(install.db).await?;
    let tools = PgTools::find(postgres_major, install.pg_bin.as_deref())?;

    // One snapshot for the dump and the row counts: the manifest describes exactly
    // what the dump holds.
    let mut conn = install.db.pool().acquire().await?;
    let mut tx = conn
        .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .await?;
    let snapshot: String = sqlx::query_scalar("SELECT pg_export_snapshot()")
        .fetch_one(&mut *tx)
        .await?;
    let database_owner: String = sqlx::query_scalar("SELECT current_user::text")
        .fetch_one(&mut *tx)
        .await?;
    let schema_version: i64 =
        sqlx::query_scalar("SELECT coalesce(max(version), 0) FROM _sqlx_migrations")
            .fetch_one(&mut *tx)
            .await
            .context("the database has no migrations: nothing to back up")?;
    let tables = count_tables(&mut tx).await?;

    let dump = work.file(DUMP);
    let mut command = install.connection.command(&tools.tool("pg_dump"));
    command
        .arg("--format=custom")
        .arg(format!("--snapshot={snapshot}"))
        .arg("--file")
        .arg(&dump)
        .arg("--dbname")
        .arg(install.connection.url.as_str());
    run(command, "pg_dump").await?;
    tx.rollback().await?;
    drop(conn);

    let files_tar = work.file(FILES);
    let files = tar_store(install.storage, &files_tar).await?;

    let base_backup = if install.embedded {
        Some(base_backup(install, &tools, &work).await?)
    } else {
        None
    };

    let keys_tar = work.file(KEYS);
    let keys = tar_keys(install.data_dir, &keys_tar, install.embedded)?;

    let mut parts = vec![
        backups.upload(&id, DUMP, &dump).await?,
        backups.upload(&id, FILES, &files_tar).await?,
    ];
    if keys > 0 {
        parts.push(backups.upload(&id, KEYS, &keys_tar).await?);
    }
    if base_backup.is_some() {
        parts.push(backups.upload(&id, BASE, &work.file(BASE)).await?);
        parts.push(backups.upload(&id, BASE_WAL, &work.file(BASE_WAL)).await?);
    }
    let manifest = Manifest {
        format: FORMAT,
        id: id.clone(),
        created_at: now,
        jobber_version: env!("CARGO_PKG_VERSION").to_string(),
        schema_version,
        postgres_version,
        postgres_major,
        pg_dump_version: tools.version.clone(),
        database_owner,
        tables,
        files,
        parts,
        base_backup,
    };
    let json = serde_json::to_vec_pretty(&manifest)?;
    backups
        .store
        .put(&backups.path(&id, MANIFEST), PutPayload::from(json))
        .await
        .context("writing the manifest")?;
    Ok(manifest)
}

/// `pg_basebackup` of the embedded cluster into `work` as [`BASE`] and [`BASE_WAL`]:
/// tar format, with the WAL it needs streamed alongside, after a fast checkpoint.
async fn base_backup(
    install: &Install<'_>,
    tools: &PgTools,
    work: &WorkDir,
) -> anyhow::Result<BaseBackup> {
    let program = tools.tool("pg_basebackup");
    ensure!(
        program.is_file(),
        "no pg_basebackup beside {} (PostgreSQL {}'s server tools are needed for the base backup)",
        tools.tool("pg_dump").display(),
        tools.version
    );
    let out = work.file("base");
    let mut command = install.connection.command(&program);
    command
        .arg("--pgdata")
        .arg(&out)
        .arg("--format=tar")
        .arg("--wal-method=stream")
        .arg("--checkpoint=fast")
        .arg("--no-sync")
        .arg("--dbname")
        .arg(install.connection.url.as_str());
    run(command, "pg_basebackup").await?;
    let finished_at = Utc::now();
    std::fs::rename(out.join("base.tar"), work.file(BASE))?;
    std::fs::rename(out.join("pg_wal.tar"), work.file(BASE_WAL))?;
    let start_wal = start_wal(&work.file(BASE))?;
    Ok(BaseBackup {
        start_wal,
        finished_at,
    })
}

/// The first WAL segment a base backup needs: its `backup_label` says
/// `START WAL LOCATION: 0/2000028 (file 000000010000000000000002)`.
fn start_wal(base: &Path) -> anyhow::Result<String> {
    let mut archive = tar::Archive::new(std::fs::File::open(base)?);
    for entry in archive.entries()? {
        let mut entry = entry?;
        if entry.path()?.as_os_str() != "backup_label" {
            continue;
        }
        let mut label = String::new();
        entry.read_to_string(&mut label)?;
        return label
            .lines()
            .find_map(|line| {
                let rest = line.strip_prefix("START WAL LOCATION:")?;
                let file = rest.split("(file ").nth(1)?.trim_end_matches(')').trim();
                Some(file.to_string())
            })
            .context("the base backup's backup_label names no START WAL LOCATION");
    }
    bail!("the base backup has no backup_label")
}

/// The worker's daily backup (`backup_retention_days` > 0): take one, then remove
/// those past the retention. Its size in bytes.
pub async fn scheduled(db: &Db, config: &Config, storage: &Storage) -> anyhow::Result<u64> {
    let days = config.jobs.backup_retention_days;
    if days == 0 {
        return Ok(0);
    }
    let url = match &config.database_url {
        Some(url) => url.expose_secret().to_string(),
        None => crate::platform::embedded::EmbeddedPostgres::running_url(&config.data_dir)?,
    };
    let install = Install {
        db,
        connection: Connection::parse(&url)?,
        pg_bin: downloaded_bin(&config.data_dir),
        storage,
        data_dir: &config.data_dir,
        embedded: config.database_url.is_none(),
    };
    let backups = Backups::in_storage(storage);
    let manifest = create(&install, &backups).await?;
    let pruned = prune(&backups, days, Utc::now()).await?;
    tracing::info!(
        id = manifest.id,
        bytes = manifest.size(),
        removed = pruned.removed.len(),
        "daily backup written"
    );
    Ok(manifest.size())
}

/// The `bin` folder of a PostgreSQL the embedded mode downloaded into the data dir
/// (`pg-install/{version}/bin`), if any.
pub fn downloaded_bin(data_dir: &Path) -> Option<PathBuf> {
    std::fs::read_dir(DataDir::new(data_dir).pg_install())
        .ok()?
        .filter_map(Result::ok)
        .map(|e| e.path().join("bin"))
        .find(|bin| bin.join("pg_dump").is_file())
}

/// Run a PostgreSQL tool to the end; its stderr is the error.
async fn run(mut command: Command, name: &str) -> anyhow::Result<()> {
    let name = name.to_string();
    tokio::task::spawn_blocking(move || {
        let out = command
            .stdin(std::process::Stdio::null())
            .output()
            .with_context(|| format!("cannot run {name}"))?;
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            bail!("{name} failed ({}): {}", out.status, stderr.trim());
        }
        Ok(())
    })
    .await?
}

/// Every stored file except the backups, into a tar; how many.
async fn tar_store(storage: &Storage, file: &Path) -> anyhow::Result<u64> {
    let (store, prefix) = storage.tree();
    let root = (!prefix.is_empty()).then(|| StorePath::from(prefix.as_str()));
    let depth = root.as_ref().map_or(0, |r| r.parts().count());
    let mut builder = tar::Builder::new(std::fs::File::create(file)?);
    let mut listing = store.list(root.as_ref());
    let mut paths = Vec::new();
    while let Some(meta) = listing.next().await {
        let meta = meta.context("listing the stored files")?;
        let relative: Vec<String> = meta
            .location
            .parts()
            .skip(depth)
            .map(|p| p.as_ref().to_string())
            .collect();
        if relative.first().is_none_or(|first| first == FOLDER) {
            continue;
        }
        paths.push((meta.location, relative.join("/"), meta.last_modified));
    }
    paths.sort_by(|a, b| a.1.cmp(&b.1));
    let mut count = 0;
    for (location, name, modified) in paths {
        let bytes = match store.get(&location).await {
            Ok(found) => found.bytes().await?,
            // Removed since the listing (a temporary upload's cleanup): not part of it.
            Err(object_store::Error::NotFound { .. }) => continue,
            Err(error) => return Err(error).with_context(|| format!("reading {name}")),
        };
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(modified.timestamp().max(0) as u64);
        builder
            .append_data(&mut header, &name, bytes.as_ref())
            .with_context(|| format!("archiving {name}"))?;
        count += 1;
    }
    builder.into_inner()?.sync_all()?;
    Ok(count)
}

/// The data dir's key files into a tar (and the embedded superuser's password, which
/// a base backup's cluster expects); how many there were.
fn tar_keys(data_dir: &Path, file: &Path, with_password: bool) -> anyhow::Result<usize> {
    let mut builder = tar::Builder::new(std::fs::File::create(file)?);
    let mut count = 0;
    let mut paths = key_files(data_dir).to_vec();
    if with_password {
        paths.push(DataDir::new(data_dir).postgres_password());
    }
    for path in paths {
        match std::fs::read(&path) {
            Ok(bytes) => {
                let mut header = tar::Header::new_gnu();
                header.set_size(bytes.len() as u64);
                header.set_mode(0o600);
                builder.append_data(&mut header, file_name(&path), bytes.as_slice())?;
                count += 1;
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        }
    }
    builder.into_inner()?.sync_all()?;
    Ok(count)
}

/// Download every part of a backup into `work`, checked against the manifest.
async fn fetch(backups: &Backups, id: &str, work: &WorkDir) -> anyhow::Result<Manifest> {
    fetch_parts(backups, id, work, &[]).await
}

/// Download the parts of a backup but `skip` into `work`, checked against the manifest.
async fn fetch_parts(
    backups: &Backups,
    id: &str,
    work: &WorkDir,
    skip: &[&str],
) -> anyhow::Result<Manifest> {
    let manifest = backups
        .manifest(id)
        .await?
        .with_context(|| format!("no backup {id} (or it is unfinished: no {MANIFEST})"))?;
    ensure!(
        manifest.format == FORMAT,
        "backup {id} has format {}; this jobber reads format {FORMAT}",
        manifest.format
    );
    for part in manifest
        .parts
        .iter()
        .filter(|p| !skip.contains(&p.name.as_str()))
    {
        backups.download(id, part, &work.file(&part.name)).await?;
    }
    ensure!(manifest.part(DUMP).is_some(), "backup {id} has no {DUMP}");
    Ok(manifest)
}

/// What `verify` found.
#[derive(Debug)]
pub struct Verified {
    pub manifest: Manifest,
    pub tables: usize,
    pub rows: i64,
}

/// Check a backup's checksums, then restore its dump into a scratch database on the
/// same server and compare every table's row count with the manifest.
pub async fn verify(
    install: &Install<'_>,
    backups: &Backups,
    id: &str,
) -> anyhow::Result<Verified> {
    let work = WorkDir::new(install.data_dir, &format!("verify-{id}"))?;
    let manifest = fetch(backups, id, &work).await?;
    let files = count_tar(&work.file(FILES))?;
    ensure!(
        files == manifest.files,
        "backup {id}: {FILES} holds {files} files, the manifest says {}",
        manifest.files
    );
    let (_, major) = server_version(install.db).await?;
    let tools = PgTools::find(major, install.pg_bin.as_deref())?;
    let scratch = format!("jobber_verify_{}", uuid::Uuid::now_v7().simple());
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "CREATE DATABASE {}",
        quote_ident(&scratch)
    )))
    .execute(install.db.pool())
    .await
    .context("cannot create a scratch database to verify into (the role needs CREATEDB)")?;
    let target = install.connection.with_database(&scratch);
    let outcome = async {
        pg_restore(&tools, &target, &work.file(DUMP), false).await?;
        compare_counts(&target, &manifest).await
    }
    .await;
    let dropped = sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {} WITH (FORCE)",
        quote_ident(&scratch)
    )))
    .execute(install.db.pool())
    .await;
    let rows = outcome?;
    dropped.context("dropping the scratch database")?;
    Ok(Verified {
        tables: manifest.tables.len(),
        rows,
        manifest,
    })
}

fn count_tar(file: &Path) -> anyhow::Result<u64> {
    let mut archive = tar::Archive::new(std::fs::File::open(file)?);
    let mut count = 0;
    for entry in archive.entries()? {
        entry?;
        count += 1;
    }
    Ok(count)
}

async fn pg_restore(
    tools: &PgTools,
    target: &Connection,
    dump: &Path,
    single_transaction: bool,
) -> anyhow::Result<()> {
    let mut command = target.command(&tools.tool("pg_restore"));
    command.arg("--exit-on-error");
    if single_transaction {
        command.arg("--single-transaction");
    }
    command.arg("--dbname").arg(target.url.as_str()).arg(dump);
    run(command, "pg_restore").await
}

/// Every table's row count in `target` equals the manifest's; the total.
async fn compare_counts(target: &Connection, manifest: &Manifest) -> anyhow::Result<i64> {
    let mut conn = sqlx::PgConnection::connect(&target.sqlx_url()).await?;
    let mut tx = conn.begin().await?;
    let counts = count_tables(&mut tx).await?;
    tx.rollback().await?;
    conn.close().await?;
    let mut differences = Vec::new();
    for (table, expected) in &manifest.tables {
        match counts.get(table) {
            Some(found) if found == expected => {}
            Some(found) => differences.push(format!("{table}: {found} rows, expected {expected}")),
            None => differences.push(format!("{table}: missing")),
        }
    }
    ensure!(
        differences.is_empty(),
        "the restored database differs from the backup: {}",
        differences.join("; ")
    );
    Ok(counts.values().sum())
}

/// Restore a backup into the configured database, which must be empty, and its
/// files and keys into the store and the data dir.
pub async fn restore(
    install: &Install<'_>,
    backups: &Backups,
    id: &str,
) -> anyhow::Result<Verified> {
    let work = WorkDir::new(install.data_dir, &format!("restore-{id}"))?;
    let db = install.db;
    let tables: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')",
    )
    .fetch_one(db.pool())
    .await?;
    ensure!(
        tables == 0,
        "database {} is not empty ({tables} tables): restore into an empty database or data dir",
        install.connection.database()
    );
    check_keys_absent(install.data_dir)?;
    // The base backup is for `--to-time`; a restore from the dump does not need it.
    let manifest = fetch_parts(backups, id, &work, &[BASE, BASE_WAL]).await?;
    ensure!(
        manifest.schema_version <= newest_migration(),
        "backup {id} has schema {} from jobber {}, newer than this binary's; install jobber {} or later",
        manifest.schema_version,
        manifest.jobber_version,
        manifest.jobber_version
    );
    let (_, major) = server_version(db).await?;
    ensure!(
        major >= manifest.postgres_major,
        "backup {id} is of PostgreSQL {}; this server is {major}",
        manifest.postgres_major
    );
    let tools = PgTools::find(major, install.pg_bin.as_deref())?;
    prepare_roles(db, &manifest.database_owner).await?;
    pg_restore(&tools, &install.connection, &work.file(DUMP), true).await?;
    let rows = compare_counts(&install.connection, &manifest).await?;
    untar_into_store(install.storage, &work.file(FILES)).await?;
    if manifest.part(KEYS).is_some() {
        untar_keys(install.data_dir, &work.file(KEYS))?;
    }
    Ok(Verified {
        tables: manifest.tables.len(),
        rows,
        manifest,
    })
}

/// What a point-in-time recovery did.
#[derive(Debug)]
pub struct Recovered {
    pub manifest: Manifest,
    pub tables: usize,
    pub rows: i64,
    /// The commit time of the last transaction replayed.
    pub last_transaction: Option<DateTime<Utc>>,
    /// From the start of replay until PostgreSQL was promoted.
    pub replay: std::time::Duration,
}

/// Point-in-time recovery into an empty data dir (embedded mode): unpack the base
/// backup of backup `id` (by default the newest that finished before `target`),
/// replay the archived WAL up to `target` and promote; then put back the files and
/// the keys as [`restore`] does. The embedded server is stopped at the end.
pub async fn restore_to_time(
    config: &Config,
    storage: &Storage,
    backups: &Backups,
    id: Option<&str>,
    target: DateTime<chrono::FixedOffset>,
) -> anyhow::Result<Recovered> {
    use crate::platform::embedded::EmbeddedPostgres;
    ensure!(
        config.database_url.is_none(),
        "--to-time needs embedded mode (an external database has its own point-in-time \
         recovery: RDS, pgBackRest, …)"
    );
    let dir = DataDir::new(&config.data_dir);
    let cluster = dir.postgres();
    let empty = match std::fs::read_dir(&cluster) {
        Ok(mut entries) => entries.next().is_none(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => true,
        Err(e) => return Err(e).with_context(|| format!("reading {}", cluster.display())),
    };
    ensure!(
        empty && !dir.postgres_password().exists(),
        "{} holds a database already: restore into an empty data dir",
        config.data_dir.display()
    );
    check_keys_absent(&config.data_dir)?;
    let target_utc = target.with_timezone(&Utc);
    let manifest = match id {
        Some(id) => {
            let manifest = backups
                .manifest(id)
                .await?
                .with_context(|| format!("no backup {id} (or it is unfinished: no {MANIFEST})"))?;
            let base = manifest.base_backup.as_ref().with_context(|| {
                format!("backup {id} has no base backup (it was not taken in embedded mode)")
            })?;
            ensure!(
                base.finished_at < target_utc,
                "backup {id} finished at {}, after {target}: pick an older backup or a later time",
                base.finished_at.to_rfc3339()
            );
            manifest
        }
        None => backups
            .list()
            .await?
            .into_iter()
            .filter_map(|b| b.manifest)
            .find(|m| {
                m.base_backup
                    .as_ref()
                    .is_some_and(|b| b.finished_at < target_utc)
            })
            .with_context(|| format!("no backup with a base backup finished before {target}"))?,
    };
    let id = manifest.id.clone();
    ensure!(
        manifest.schema_version <= newest_migration(),
        "backup {id} has schema {} from jobber {}, newer than this binary's; install jobber {} or later",
        manifest.schema_version,
        manifest.jobber_version,
        manifest.jobber_version
    );
    let work = WorkDir::new(&config.data_dir, &format!("pitr-{id}"))?;
    let manifest = fetch_parts(backups, &id, &work, &[DUMP]).await?;

    unpack(&work.file(BASE), &cluster)?;
    unpack(&work.file(BASE_WAL), &cluster.join("pg_wal"))?;
    if manifest.part(KEYS).is_some() {
        untar_password(&config.data_dir, &work.file(KEYS))?;
    }
    let started = std::time::Instant::now();
    let server = EmbeddedPostgres::recover(config, target, backups.folder()).await?;
    let replay = started.elapsed();
    let summary = async {
        let mut conn = sqlx::PgConnection::connect(server.url()).await?;
        let last: Option<DateTime<Utc>> =
            sqlx::query_scalar("SELECT pg_last_xact_replay_timestamp()")
                .fetch_one(&mut conn)
                .await?;
        let mut tx = conn.begin().await?;
        let counts = count_tables(&mut tx).await?;
        tx.rollback().await?;
        conn.close().await?;
        anyhow::Ok((last, counts))
    }
    .await;
    server.stop().await?;
    let (last_transaction, counts) = summary?;
    untar_into_store(storage, &work.file(FILES)).await?;
    if manifest.part(KEYS).is_some() {
        untar_keys(&config.data_dir, &work.file(KEYS))?;
    }
    Ok(Recovered {
        tables: counts.len(),
        rows: counts.values().sum(),
        last_transaction,
        replay,
        manifest,
    })
}

/// Unpack a `pg_basebackup` tar into `dir` (created 0700, as PostgreSQL requires).
fn unpack(tar_file: &Path, dir: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    let mut archive = tar::Archive::new(std::fs::File::open(tar_file)?);
    archive.set_preserve_permissions(true);
    archive
        .unpack(dir)
        .with_context(|| format!("unpacking {} into {}", file_name(tar_file), dir.display()))
}

/// Only the embedded superuser's password from a backup's keys: the base backup's
/// cluster checks it, so it must be in place before the server starts.
fn untar_password(data_dir: &Path, file: &Path) -> anyhow::Result<()> {
    let password = DataDir::new(data_dir).postgres_password();
    let mut archive = tar::Archive::new(std::fs::File::open(file)?);
    for entry in archive.entries()? {
        let mut entry = entry?;
        if entry.path()?.to_string_lossy() == file_name(&password) {
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes)?;
            return write_new(&password, &bytes);
        }
    }
    bail!(
        "the backup's {KEYS} holds no {}: it cannot start its base backup",
        file_name(&password)
    )
}

/// A restore must not replace keys the data dir already has (they would be another
/// install's: its logins and encrypted settings).
fn check_keys_absent(data_dir: &Path) -> anyhow::Result<()> {
    for path in key_files(data_dir) {
        ensure!(
            !path.exists(),
            "{} exists: restore into an empty data dir (this one has another install's keys)",
            path.display()
        );
    }
    Ok(())
}

/// The cluster-wide roles the dump's grants name, and the dump's owner.
async fn prepare_roles(db: &Db, owner: &str) -> anyhow::Result<()> {
    let superuser: bool =
        sqlx::query_scalar("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
            .fetch_one(db.pool())
            .await?;
    let current: String = sqlx::query_scalar("SELECT current_user::text")
        .fetch_one(db.pool())
        .await?;
    ensure!(
        superuser || current == owner,
        "the backup's objects belong to role {owner:?}; restore as that role or as a superuser \
         (this connection is {current:?})"
    );
    let owner_exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT FROM pg_roles WHERE rolname = $1)")
            .bind(owner)
            .fetch_one(db.pool())
            .await?;
    ensure!(
        owner_exists,
        "the backup's objects belong to role {owner:?}, which this server does not have; create it first"
    );
    for role in ROLES {
        let exists: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT FROM pg_roles WHERE rolname = $1)")
                .bind(role)
                .fetch_one(db.pool())
                .await?;
        if !exists {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "CREATE ROLE {} NOLOGIN NOSUPERUSER NOINHERIT NOBYPASSRLS",
                quote_ident(role)
            )))
            .execute(db.pool())
            .await
            .with_context(|| format!("creating role {role}"))?;
        }
    }
    Ok(())
}

async fn untar_into_store(storage: &Storage, file: &Path) -> anyhow::Result<u64> {
    let (store, prefix) = storage.tree();
    let mut archive = tar::Archive::new(std::fs::File::open(file)?);
    let mut count = 0;
    for entry in archive.entries()? {
        let mut entry = entry?;
        let name = entry.path()?.to_string_lossy().into_owned();
        ensure!(
            !name.split('/').any(|p| p == ".." || p.is_empty()) && !name.starts_with(FOLDER),
            "{FILES} holds an unsafe name {name:?}"
        );
        let mut bytes = Vec::with_capacity(entry.size() as usize);
        entry.read_to_end(&mut bytes)?;
        let path = if prefix.is_empty() {
            StorePath::from(name.as_str())
        } else {
            StorePath::from(format!("{prefix}/{name}"))
        };
        store
            .put(&path, PutPayload::from(bytes))
            .await
            .with_context(|| format!("restoring {name}"))?;
        count += 1;
    }
    Ok(count)
}

/// Put the keys back, but not the embedded superuser's password ([`untar_password`]:
/// a restore from the dump runs on a cluster with its own).
fn untar_keys(data_dir: &Path, file: &Path) -> anyhow::Result<()> {
    let targets = key_files(data_dir);
    let password = DataDir::new(data_dir).postgres_password();
    let mut archive = tar::Archive::new(std::fs::File::open(file)?);
    for entry in archive.entries()? {
        let mut entry = entry?;
        let name = entry.path()?.to_string_lossy().into_owned();
        if name == file_name(&password) {
            continue;
        }
        let target = targets
            .iter()
            .find(|path| file_name(path) == name)
            .with_context(|| format!("{KEYS} holds an unexpected file {name:?}"))?;
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes)?;
        write_new(target, &bytes)?;
    }
    Ok(())
}

/// Create `target` (mode 0600) with `bytes`; an existing file is an error.
fn write_new(target: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut out = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(target)
        .with_context(|| format!("cannot write {}", target.display()))?;
    out.write_all(bytes)?;
    out.sync_all()?;
    Ok(())
}

/// What `prune` removed.
#[derive(Debug, Default)]
pub struct Pruned {
    pub removed: Vec<String>,
    pub kept: usize,
    /// Archived WAL files removed: older than every kept base backup.
    pub wal_removed: usize,
}

/// Remove backups older than `keep_days` (the newest complete one always stays), and
/// unfinished ones a day old.
pub async fn prune(
    backups: &Backups,
    keep_days: u32,
    now: DateTime<Utc>,
) -> anyhow::Result<Pruned> {
    let listed = backups.list().await?;
    let cutoff = now - chrono::Duration::days(i64::from(keep_days));
    let newest_complete = listed
        .iter()
        .find(|b| b.manifest.is_some())
        .map(|b| b.id.clone());
    let mut pruned = Pruned::default();
    let mut oldest_start: Option<String> = None;
    for backup in listed {
        let old = match &backup.manifest {
            Some(manifest) => manifest.created_at < cutoff,
            None => backup.last_modified < now - chrono::Duration::days(1),
        };
        if old && Some(&backup.id) != newest_complete.as_ref() {
            backups.delete(&backup.id).await?;
            pruned.removed.push(backup.id);
        } else {
            pruned.kept += 1;
            if let Some(base) = backup
                .manifest
                .as_ref()
                .and_then(|m| m.base_backup.as_ref())
                && oldest_start
                    .as_deref()
                    .is_none_or(|start| is_segment_before(&base.start_wal, start))
            {
                oldest_start = Some(base.start_wal.clone());
            }
        }
    }
    // WAL before the oldest kept base backup can no longer be replayed from anything.
    if let Some(start) = oldest_start {
        pruned.wal_removed = backups.prune_wal(&start).await?;
    }
    Ok(pruned)
}

/// The newest migration this binary carries.
fn newest_migration() -> i64 {
    crate::platform::database::MIGRATOR
        .iter()
        .map(|m| m.version)
        .max()
        .unwrap_or(0)
}

/// Whether an archived WAL file (`{24 hex digits}[.…].gz`) holds a segment before
/// segment `start`, on any timeline (positions compare without the timeline).
fn is_segment_before(file: &str, start: &str) -> bool {
    let hex24 = |s: &str| s.len() >= 24 && s[..24].chars().all(|c| c.is_ascii_hexdigit());
    if !hex24(file) || !hex24(start) || file.ends_with(".history.gz") {
        return false;
    }
    file[8..24].to_ascii_uppercase() < start[8..24].to_ascii_uppercase()
}

fn gzip(raw: &[u8]) -> anyhow::Result<Vec<u8>> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(raw)?;
    Ok(encoder.finish()?)
}

fn gunzip(compressed: &[u8]) -> anyhow::Result<Vec<u8>> {
    let mut raw = Vec::new();
    flate2::read::GzDecoder::new(compressed).read_to_end(&mut raw)?;
    Ok(raw)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_keeps_the_password_out_of_the_url() {
        let c = Connection::parse(
            "postgres://app:p%40ss%2Fword@db.example:5432/jobber?sslmode=require",
        )
        .unwrap();
        assert_eq!(c.password.as_deref(), Some("p@ss/word"));
        assert!(!c.url.as_str().contains("p%40ss"));
        assert_eq!(c.database(), "jobber");
        let scratch = c.with_database("jobber_verify_1");
        assert_eq!(scratch.database(), "jobber_verify_1");
        assert!(
            scratch
                .url
                .as_str()
                .ends_with("/jobber_verify_1?sslmode=require")
        );
        let again = Connection::parse(&c.sqlx_url()).unwrap();
        assert_eq!(again.password.as_deref(), Some("p@ss/word"));
    }

    #[test]
    fn ids_sort_by_age() {
        let a = new_id("2026-01-02T03:04:05Z".parse().unwrap());
        let b = new_id("2026-11-02T03:04:05Z".parse().unwrap());
        assert_eq!(a, "2026-01-02T030405Z");
        assert!(a < b);
    }

    #[test]
    fn segments_compare_by_position_across_timelines() {
        let start = "000000010000000000000005";
        assert!(is_segment_before("000000010000000000000004.gz", start));
        assert!(is_segment_before(
            "000000010000000000000004.00000028.backup.gz",
            start
        ));
        assert!(is_segment_before(
            "00000002000000000000000A.gz",
            "00000001000000010000000A"
        ));
        assert!(!is_segment_before("000000010000000000000005.gz", start));
        assert!(!is_segment_before("000000020000000000000006.gz", start));
        assert!(!is_segment_before("00000002.history.gz", start));
    }

    #[tokio::test]
    async fn wal_archive_is_idempotent_and_never_overwrites() {
        let dir = std::env::temp_dir().join(format!("jobber-wal-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&dir).unwrap();
        let store = Arc::new(object_store::local::LocalFileSystem::new_with_prefix(&dir).unwrap());
        let backups = Backups {
            store,
            root: FOLDER.into(),
            folder: None,
        };
        let name = "000000010000000000000003";
        let segment = dir.join(name);
        let content: Vec<u8> = (0..1 << 20).map(|i| (i % 251) as u8).collect();
        std::fs::write(&segment, &content).unwrap();
        assert!(backups.archive_wal(&segment, name).await.unwrap());
        assert!(
            dir.join("backups/wal/00000001/000000010000000000000003.gz")
                .is_file()
        );
        // PostgreSQL may run the command again for a file it did not see succeed.
        assert!(!backups.archive_wal(&segment, name).await.unwrap());
        std::fs::write(&segment, b"other").unwrap();
        let refused = backups.archive_wal(&segment, name).await.unwrap_err();
        assert!(
            format!("{refused:#}").contains("other content"),
            "{refused:#}"
        );

        let fetched = dir.join("RECOVERYXLOG");
        assert!(backups.fetch_wal(name, &fetched).await.unwrap());
        assert_eq!(std::fs::read(&fetched).unwrap(), content);
        assert!(
            !backups
                .fetch_wal("000000010000000000000004", &fetched)
                .await
                .unwrap()
        );
        assert!(
            backups
                .fetch_wal("../../etc/passwd", &fetched)
                .await
                .is_err()
        );

        let history = dir.join("00000002.history");
        std::fs::write(&history, b"1\t0/5000000\tno recovery target specified\n").unwrap();
        assert!(
            backups
                .archive_wal(&history, "00000002.history")
                .await
                .unwrap()
        );
        assert_eq!(
            backups.prune_wal("000000020000000000000004").await.unwrap(),
            1
        );
        assert!(
            backups
                .fetch_wal("00000002.history", &fetched)
                .await
                .unwrap()
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test]
    async fn prune_keeps_the_newest_and_recent_backups() {
        let dir = std::env::temp_dir().join(format!("jobber-prune-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&dir).unwrap();
        let store = Arc::new(object_store::local::LocalFileSystem::new_with_prefix(&dir).unwrap());
        let backups = Backups {
            store: store.clone(),
            root: FOLDER.into(),
            folder: None,
        };
        let now: DateTime<Utc> = "2026-12-03T03:00:00Z".parse().unwrap();
        for days in [1, 29, 31, 60] {
            let created_at = now - chrono::Duration::days(days);
            let id = new_id(created_at);
            let manifest = Manifest {
                format: FORMAT,
                id: id.clone(),
                created_at,
                jobber_version: "0".into(),
                schema_version: 1,
                postgres_version: "15".into(),
                postgres_major: 15,
                pg_dump_version: "15".into(),
                database_owner: "postgres".into(),
                tables: BTreeMap::new(),
                files: 0,
                parts: Vec::new(),
                base_backup: None,
            };
            let json = serde_json::to_vec(&manifest).unwrap();
            store
                .put(&backups.path(&id, MANIFEST), PutPayload::from(json))
                .await
                .unwrap();
        }
        // An unfinished one, written just now: kept.
        store
            .put(
                &backups.path("2026-12-03T025900Z", DUMP),
                PutPayload::from(vec![1u8]),
            )
            .await
            .unwrap();
        let pruned = prune(&backups, 30, now).await.unwrap();
        assert_eq!(pruned.removed.len(), 2, "{pruned:?}");
        assert_eq!(pruned.kept, 3);
        let left: Vec<String> = backups
            .list()
            .await
            .unwrap()
            .into_iter()
            .map(|b| b.id)
            .collect();
        assert_eq!(left.len(), 3);

        // All old: the newest complete one stays anyway.
        let pruned = prune(&backups, 0, now + chrono::Duration::days(400))
            .await
            .unwrap();
        let left: Vec<String> = backups
            .list()
            .await
            .unwrap()
            .into_iter()
            .map(|b| b.id)
            .collect();
        assert_eq!(
            left,
            vec![new_id(now - chrono::Duration::days(1))],
            "{pruned:?}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
