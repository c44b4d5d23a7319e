//! `jobber migrate [run|status]`.

use clap::Subcommand;

use super::Database;
use crate::config::Config;
use crate::platform::database::MigrationState;

#[derive(Debug, Clone, Subcommand)]
pub enum Action {
    /// Apply pending migrations (the default).
    Run,
    /// List migrations and whether each is applied.
    Status {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

pub fn run(config: Config, action: Action) -> anyhow::Result<()> {
    crate::platform::logging::init_cli(&config.log);
    let lock = Database::prepare(&config)?;
    super::runtime()?.block_on(async {
        let database = Database::open(&config, lock).await?;
        let result = match action {
            Action::Run => apply(&database).await,
            Action::Status { json } => status(&database, json).await,
        };
        database.close().await?;
        result
    })
}

async fn apply(database: &Database) -> anyhow::Result<()> {
    let before = database.db.migration_status().await?;
    database.db.migrate().await?;
    let applied = before
        .iter()
        .filter(|m| m.state == MigrationState::Pending)
        .count();
    println!("{applied} migration(s) applied; the database is current");
    Ok(())
}

async fn status(database: &Database, json: bool) -> anyhow::Result<()> {
    let rows = database.db.migration_status().await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    println!("{:<16} {:<8} description", "version", "state");
    for row in &rows {
        let state = serde_json::to_value(row.state)?
            .as_str()
            .unwrap_or_default()
            .to_string();
        println!("{:<16} {:<8} {}", row.version, state, row.description);
    }
    println!(
        "app role: {}",
        database.db.check_app_role().await?.summary()
    );
    Ok(())
}
