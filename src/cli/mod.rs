//! The command line. Each subcommand has its own file; this one parses and dispatches.
//!
//! Offline commands (`migrate`, `admin`, `jobs`, `config show`) open the database directly:
//! the external one, the embedded one of the data dir (started for the command), or,
//! when a server holds the data dir, the embedded server that server runs.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::{Config, ConfigArgs};
use crate::platform::database::Db;
use crate::platform::embedded::EmbeddedPostgres;
use crate::platform::process::{self, DataDirLock};

pub mod admin;
pub mod backup;
pub mod jobs;
pub mod migrate;
pub mod serve;
pub mod top;

#[derive(Debug, Parser)]
#[command(
    name = "jobber",
    version,
    about = "Field-service management for home-service businesses",
    propagate_version = true
)]
pub struct Cli {
    #[command(flatten)]
    pub config: ConfigArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server: API, admin listener and (with --role all) background work.
    Serve,
    /// Apply or inspect database migrations.
    Migrate {
        #[command(subcommand)]
        action: Option<migrate::Action>,
    },
    /// Administrative tasks on the database.
    Admin {
        #[command(subcommand)]
        action: admin::Action,
    },
    /// The background job queue: list jobs, retry dead ones (offline: opens the database).
    Jobs {
        #[command(subcommand)]
        action: jobs::Action,
    },
    /// Back up, verify, restore and prune: database, files and keys (docs/operations.md).
    Backup {
        #[command(subcommand)]
        action: backup::Action,
    },
    /// A live dashboard of a running instance (online: reads its admin listener).
    Top(top::Args),
    /// Inspect the configuration.
    Config {
        #[command(subcommand)]
        action: ConfigAction,
    },
}

#[derive(Debug, Subcommand)]
pub enum ConfigAction {
    /// Print the effective configuration, secrets redacted.
    Show,
    /// Print the error-code table of docs/api.md.
    #[command(hide = true)]
    ErrorCodes,
    /// Print the OpenAPI document (what `/api/v1/openapi.json` serves); the web app's
    /// typed client is generated from it (ui/scripts/gen-api.sh).
    #[command(hide = true)]
    Openapi,
}

pub fn main() -> ExitCode {
    install_crypto_provider();
    let cli = Cli::parse();
    let config = match Config::load(&cli.config) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(2);
        }
    };
    for name in Config::unknown_env_vars() {
        eprintln!("warning: {name} is not a jobber setting (typo?); it is ignored");
    }
    let result = match cli.command {
        Command::Serve => serve::run(config),
        Command::Migrate { action } => migrate::run(config, action.unwrap_or(migrate::Action::Run)),
        Command::Admin { action } => admin::run(config, action),
        Command::Jobs { action } => jobs::run(config, action),
        Command::Backup { action } => backup::run(config, action),
        Command::Top(args) => top::run(config, args),
        Command::Config {
            action: ConfigAction::Show,
        } => {
            print!("{}", config.to_redacted_toml());
            Ok(())
        }
        Command::Config {
            action: ConfigAction::ErrorCodes,
        } => {
            print!("{}", crate::http::error::codes_markdown());
            Ok(())
        }
        Command::Config {
            action: ConfigAction::Openapi,
        } => serde_json::to_string_pretty(&crate::app::openapi_document())
            .map(|json| println!("{json}"))
            .map_err(Into::into),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// rustls (used to download PostgreSQL, and later for TLS and outbound HTTPS) needs
/// one process-wide crypto provider; ring is the one built in.
pub fn install_crypto_provider() {
    crate::platform::crypto::install_provider();
}

pub(crate) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

/// The database an offline command works on, and what it started to get it.
pub(crate) struct Database {
    pub db: Db,
    /// Its URL (for `pg_dump` and `pg_restore`).
    pub url: String,
    embedded: Option<EmbeddedPostgres>,
    served: bool,
    _lock: Option<DataDirLock>,
}

impl Database {
    /// Before the runtime starts: as root, hand the data dir over and drop privileges.
    pub fn prepare(config: &Config) -> anyhow::Result<Option<DataDirLock>> {
        if config.database_url.is_some() {
            return Ok(None);
        }
        let run_as = process::resolve_run_as(&config.user)?;
        process::prepare_data_dir(&config.data_dir, run_as.as_ref())?;
        let lock = DataDirLock::acquire(&config.data_dir).ok();
        if let Some(run_as) = &run_as {
            process::drop_privileges(run_as)?;
        }
        Ok(lock)
    }

    pub async fn open(config: &Config, lock: Option<DataDirLock>) -> anyhow::Result<Self> {
        use secrecy::ExposeSecret;
        if let Some(url) = &config.database_url {
            let db = Db::connect_with(url.expose_secret(), &config.command_db_settings()).await?;
            return Ok(Self {
                db,
                url: url.expose_secret().to_string(),
                embedded: None,
                served: false,
                _lock: None,
            });
        }
        match lock {
            Some(lock) => {
                let embedded = EmbeddedPostgres::start(config).await?;
                let db = Db::connect_with(embedded.url(), &config.command_db_settings()).await?;
                Ok(Self {
                    db,
                    url: embedded.url().to_string(),
                    embedded: Some(embedded),
                    served: false,
                    _lock: Some(lock),
                })
            }
            None => {
                // A server holds the data dir: use the PostgreSQL it runs.
                let url = EmbeddedPostgres::running_url(&config.data_dir)?;
                let db = Db::connect_with(&url, &config.command_db_settings()).await?;
                Ok(Self {
                    db,
                    url,
                    embedded: None,
                    served: true,
                    _lock: None,
                })
            }
        }
    }

    /// The embedded server's binaries (its own `pg_dump`), when this command started it.
    pub fn pg_bin(&self) -> Option<std::path::PathBuf> {
        self.embedded.as_ref().map(EmbeddedPostgres::bin_dir)
    }

    /// Whether a running `jobber serve` holds the data dir (this command uses the
    /// embedded PostgreSQL that server started).
    pub fn served(&self) -> bool {
        self.served
    }

    pub async fn close(self) -> anyhow::Result<()> {
        self.db.close().await;
        if let Some(embedded) = self.embedded {
            embedded.stop().await?;
        }
        Ok(())
    }
}
