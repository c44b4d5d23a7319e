//! `jobber backup create | list | verify | restore | prune` (platform::backup), and
//! the hidden `archive-wal` / `fetch-wal` the embedded PostgreSQL runs as its
//! `archive_command` and `restore_command`.

use std::path::PathBuf;

use chrono::{DateTime, FixedOffset};

use clap::Subcommand;

use super::Database;
use crate::config::Config;
use crate::platform::backup::{self, Backups, Connection, Install};
use crate::platform::storage::Storage;

#[derive(Debug, Clone, Subcommand)]
pub enum Action {
    /// Take a backup now: database dump, files and keys, under backups/{id}/ of the
    /// object store.
    Create {
        /// Print the manifest as JSON.
        #[arg(long)]
        json: bool,
    },
    /// The backups in the object store, newest first.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Check a backup's checksums and restore it into a scratch database.
    Verify {
        /// A backup id from `list`, or a folder holding one; the newest if omitted.
        backup: Option<String>,
    },
    /// Restore a backup into an empty data dir (embedded PostgreSQL) or an empty
    /// database (--database-url), with its files and keys. Stop jobber first.
    Restore {
        /// A backup id from `list`, or a folder holding one (…/backups/{id}); with
        /// --to-time, by default the newest backup taken before that time.
        #[arg(required_unless_present = "to_time")]
        backup: Option<String>,
        /// Point-in-time recovery (embedded mode): replay the archived WAL up to this
        /// time (RFC 3339, e.g. 2026-12-03T14:05:00+01:00) into an empty data dir.
        #[arg(long, value_name = "TIME", value_parser = parse_time)]
        to_time: Option<DateTime<FixedOffset>>,
    },
    /// Remove backups older than --keep-days (the newest always stays), and the
    /// archived WAL older than the oldest kept backup.
    Prune {
        #[arg(long, default_value_t = backup::DEFAULT_RETENTION_DAYS)]
        keep_days: u32,
    },
    /// PostgreSQL's archive_command: copy a finished WAL file into the archive.
    #[command(hide = true)]
    ArchiveWal {
        /// The file (`%p`, relative to the PostgreSQL data dir).
        path: PathBuf,
        /// Its name (`%f`).
        name: String,
    },
    /// PostgreSQL's restore_command: copy an archived WAL file to where it asks.
    #[command(hide = true)]
    FetchWal {
        /// The WAL file's name (`%f`).
        name: String,
        /// Where to write it (`%p`).
        path: PathBuf,
        /// A local backups folder holding `wal/` instead of the object store.
        #[arg(long)]
        from: Option<PathBuf>,
    },
}

fn parse_time(text: &str) -> Result<DateTime<FixedOffset>, String> {
    DateTime::parse_from_rfc3339(text)
        .map_err(|e| format!("{e}: give an RFC 3339 time such as 2026-12-03T14:05:00Z"))
}

pub fn run(config: Config, action: Action) -> anyhow::Result<()> {
    crate::platform::logging::init_cli(&config.log);
    // Run by PostgreSQL (as its user, with its environment): the object store only.
    if let Action::ArchiveWal { path, name } = &action {
        return super::runtime()?.block_on(async {
            let storage = Storage::from_config(&config, &[])?;
            Backups::in_storage(&storage)
                .archive_wal(path, name)
                .await
                .map(drop)
        });
    }
    if let Action::FetchWal { name, path, from } = &action {
        return super::runtime()?.block_on(async {
            let backups = match from {
                Some(folder) => Backups::in_local_folder(folder)?,
                None => Backups::in_storage(&Storage::from_config(&config, &[])?),
            };
            anyhow::ensure!(
                backups.fetch_wal(name, path).await?,
                "no archived WAL file {name}"
            );
            Ok(())
        });
    }
    let lock = Database::prepare(&config)?;
    if let Action::Restore {
        backup,
        to_time: Some(target),
    } = &action
    {
        anyhow::ensure!(
            lock.is_some(),
            "jobber serve is running on {}: stop it first (restore needs an empty data dir)",
            config.data_dir.display()
        );
        return super::runtime()?.block_on(restore_to_time(&config, backup.as_deref(), *target));
    }
    super::runtime()?.block_on(async {
        let storage = Storage::from_config(&config, &[])?;
        let in_store = Backups::in_storage(&storage);
        if let Action::List { json } = &action {
            return list(&in_store, *json).await;
        }
        if let Action::Prune { keep_days } = &action {
            let pruned = backup::prune(&in_store, *keep_days, chrono::Utc::now()).await?;
            for id in &pruned.removed {
                println!("removed {id}");
            }
            println!(
                "{} removed, {} kept (retention {keep_days} days); {} archived WAL files removed",
                pruned.removed.len(),
                pruned.kept,
                pruned.wal_removed
            );
            return Ok(());
        }
        let database = Database::open(&config, lock).await?;
        let result = with_database(&config, &database, &storage, in_store, action).await;
        database.close().await?;
        result
    })
}

async fn with_database(
    config: &Config,
    database: &Database,
    storage: &Storage,
    in_store: Backups,
    action: Action,
) -> anyhow::Result<()> {
    let install = Install {
        db: &database.db,
        connection: Connection::parse(&database.url)?,
        pg_bin: database
            .pg_bin()
            .or_else(|| backup::downloaded_bin(&config.data_dir)),
        storage,
        data_dir: &config.data_dir,
        embedded: config.database_url.is_none(),
    };
    match action {
        Action::Create { json } => {
            database.db.check_not_newer().await?;
            let manifest = backup::create(&install, &in_store).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&manifest)?);
            } else {
                println!(
                    "backup {} written: {} tables, {} rows, {} files, {}",
                    manifest.id,
                    manifest.tables.len(),
                    manifest.tables.values().sum::<i64>(),
                    manifest.files,
                    human_size(manifest.size())
                );
            }
            Ok(())
        }
        Action::Verify { backup } => {
            let (backups, id) = match backup {
                Some(name) => locate(&in_store, &name)?,
                None => {
                    let newest = in_store
                        .list()
                        .await?
                        .into_iter()
                        .find(|b| b.manifest.is_some())
                        .ok_or_else(|| anyhow::anyhow!("there are no backups to verify"))?;
                    (in_store, newest.id)
                }
            };
            let verified = backup::verify(&install, &backups, &id).await?;
            println!(
                "backup {id} is good: checksums match; restored into a scratch database, {} tables and {} rows as recorded",
                verified.tables, verified.rows
            );
            Ok(())
        }
        Action::Restore { backup, .. } => {
            let backup = backup.ok_or_else(|| anyhow::anyhow!("name the backup to restore"))?;
            anyhow::ensure!(
                !database.served(),
                "jobber serve is running on {}: stop it first (restore needs an empty data dir)",
                config.data_dir.display()
            );
            let (backups, id) = locate(&in_store, &backup)?;
            let restored = backup::restore(&install, &backups, &id).await?;
            println!(
                "restored backup {id} (jobber {}, schema {}): {} tables, {} rows, {} files",
                restored.manifest.jobber_version,
                restored.manifest.schema_version,
                restored.tables,
                restored.rows,
                restored.manifest.files
            );
            Ok(())
        }
        Action::List { .. }
        | Action::Prune { .. }
        | Action::ArchiveWal { .. }
        | Action::FetchWal { .. } => unreachable!("handled without a database"),
    }
}

/// `restore --to-time`: the embedded cluster rebuilt from a base backup and the WAL.
async fn restore_to_time(
    config: &Config,
    backup: Option<&str>,
    target: DateTime<FixedOffset>,
) -> anyhow::Result<()> {
    let storage = Storage::from_config(config, &[])?;
    let in_store = Backups::in_storage(&storage);
    let (backups, id) = match backup {
        Some(name) => {
            let (backups, id) = locate(&in_store, name)?;
            (backups, Some(id))
        }
        None => (in_store, None),
    };
    let started = std::time::Instant::now();
    let recovered =
        backup::restore_to_time(config, &storage, &backups, id.as_deref(), target).await?;
    println!(
        "recovered to {} from backup {} (last transaction replayed: {}): {} tables, {} rows, {} files; \
         WAL replay {:.1} s, restore {:.1} s",
        target.to_rfc3339(),
        recovered.manifest.id,
        recovered
            .last_transaction
            .map_or_else(|| "none".to_string(), |t| t.to_rfc3339()),
        recovered.tables,
        recovered.rows,
        recovered.manifest.files,
        recovered.replay.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// A backup id in the store, or a folder holding a backup.
fn locate(in_store: &Backups, name: &str) -> anyhow::Result<(Backups, String)> {
    let folder = PathBuf::from(name);
    if name.contains('/') || folder.join(backup::MANIFEST).is_file() {
        return Backups::in_folder(&folder);
    }
    Ok((in_store.clone(), name.to_string()))
}

async fn list(backups: &Backups, json: bool) -> anyhow::Result<()> {
    let listed = backups.list().await?;
    if json {
        let rows: Vec<serde_json::Value> = listed
            .iter()
            .map(|b| {
                serde_json::json!({
                    "id": b.id,
                    "complete": b.manifest.is_some(),
                    "manifest": b.manifest,
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    if listed.is_empty() {
        println!("no backups yet (jobber backup create takes one)");
        return Ok(());
    }
    println!(
        "{:<20} {:>10} {:>8} {:>10}  jobber",
        "ID", "SIZE", "FILES", "ROWS"
    );
    for b in listed {
        match b.manifest {
            Some(m) => println!(
                "{:<20} {:>10} {:>8} {:>10}  {}",
                b.id,
                human_size(m.size()),
                m.files,
                m.tables.values().sum::<i64>(),
                m.jobber_version
            ),
            None => println!("{:<20} unfinished (no manifest)", b.id),
        }
    }
    Ok(())
}

fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}
