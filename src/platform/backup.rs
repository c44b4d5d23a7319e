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
}

impl Backups {
    pub fn in_storage(storage: &Storage) -> Self {
        let (store, prefix) = storage.tree();
        let root = if prefix.is_empty() {
            FOLDER.to_string()
        } else {
            format!("{prefix}/{FOLDER}")
        };
        Self { store, root }
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
            },
            id,
        ))
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
        backups.manifest(&id).await?.is_none(),
        "a backup named {id} exists already (one was taken this second); try again"
    );
    let work = WorkDir::new(install.data_dir, &id)?;
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

    let keys_tar = work.file(KEYS);
    let keys = tar_keys(install.data_dir, &keys_tar)?;

    let mut parts = vec![
        backups.upload(&id, DUMP, &dump).await?,
        backups.upload(&id, FILES, &files_tar).await?,
    ];
    if keys > 0 {
        parts.push(backups.upload(&id, KEYS, &keys_tar).await?);
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
    };
    let json = serde_json::to_vec_pretty(&manifest)?;
    backups
        .store
        .put(&backups.path(&id, MANIFEST), PutPayload::from(json))
        .await
        .context("writing the manifest")?;
    Ok(manifest)
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

/// The data dir's key files into a tar; how many there were.
fn tar_keys(data_dir: &Path, file: &Path) -> anyhow::Result<usize> {
    let mut builder = tar::Builder::new(std::fs::File::create(file)?);
    let mut count = 0;
    for path in key_files(data_dir) {
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
    let manifest = backups
        .manifest(id)
        .await?
        .with_context(|| format!("no backup {id} (or it is unfinished: no {MANIFEST})"))?;
    ensure!(
        manifest.format == FORMAT,
        "backup {id} has format {}; this jobber reads format {FORMAT}",
        manifest.format
    );
    for part in &manifest.parts {
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
    let manifest = fetch(backups, id, &work).await?;
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

fn untar_keys(data_dir: &Path, file: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let targets = key_files(data_dir);
    let mut archive = tar::Archive::new(std::fs::File::open(file)?);
    for entry in archive.entries()? {
        let mut entry = entry?;
        let name = entry.path()?.to_string_lossy().into_owned();
        let target = targets
            .iter()
            .find(|path| file_name(path) == name)
            .with_context(|| format!("{KEYS} holds an unexpected file {name:?}"))?;
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes)?;
        let mut out = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(target)
            .with_context(|| format!("cannot write {}", target.display()))?;
        out.write_all(&bytes)?;
        out.sync_all()?;
    }
    Ok(())
}

/// What `prune` removed.
#[derive(Debug, Default)]
pub struct Pruned {
    pub removed: Vec<String>,
    pub kept: usize,
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
        }
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

    #[tokio::test]
    async fn prune_keeps_the_newest_and_recent_backups() {
        let dir = std::env::temp_dir().join(format!("jobber-prune-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&dir).unwrap();
        let store = Arc::new(object_store::local::LocalFileSystem::new_with_prefix(&dir).unwrap());
        let backups = Backups {
            store: store.clone(),
            root: FOLDER.into(),
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
