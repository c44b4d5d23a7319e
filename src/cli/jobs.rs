//! `jobber jobs …`: the background queue, for the operator. An offline command (it
//! opens the database directly, like `jobber admin`, and needs no running server nor
//! token): it sees every account's jobs, where the admin API shows an account's own.

use clap::Subcommand;

use super::Database;
use crate::config::Config;
use crate::platform::queue::{self, JobState};

#[derive(Debug, Clone, Subcommand)]
pub enum Action {
    /// List jobs, newest first.
    List {
        /// Only jobs in this state.
        #[arg(long, value_enum)]
        state: Option<JobState>,
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: i64,
        /// Print JSON (one array) instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Put a dead job back in its queue with a fresh set of attempts.
    Retry {
        /// The job id (from `jobber jobs list`).
        id: String,
        #[arg(long)]
        json: bool,
    },
}

pub fn run(config: Config, action: Action) -> anyhow::Result<()> {
    crate::platform::logging::init_cli(&config.log);
    let lock = Database::prepare(&config)?;
    super::runtime()?.block_on(async {
        let database = Database::open(&config, lock).await?;
        let result = act(&database, action).await;
        database.close().await?;
        result
    })
}

async fn act(database: &Database, action: Action) -> anyhow::Result<()> {
    let pool = database.db.pool();
    match action {
        Action::List { state, limit, json } => {
            if !(1..=10_000).contains(&limit) {
                anyhow::bail!("--limit must be between 1 and 10000");
            }
            let jobs = queue::list(pool, None, state, limit).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&jobs)?);
                return Ok(());
            }
            println!(
                "{:<26}  {:<22}  {:<9}  {:>8}  {:<20}  ERROR",
                "ID", "QUEUE", "STATE", "ATTEMPTS", "RUN AT"
            );
            for job in jobs {
                println!(
                    "{:<26}  {:<22}  {:<9}  {:>8}  {:<20}  {}",
                    job.id,
                    job.queue,
                    job.state,
                    format!("{}/{}", job.attempts, job.max_attempts),
                    job.run_at.format("%Y-%m-%d %H:%M:%S"),
                    job.last_error.unwrap_or_default()
                );
            }
            Ok(())
        }
        Action::Retry { id, json } => {
            if !queue::retry_dead(pool, None, &id).await? {
                anyhow::bail!("no dead job {id} (see `jobber jobs list --state dead`)");
            }
            let job = queue::get(pool, None, &id).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&job)?);
            } else {
                println!("job {id} is queued again");
            }
            Ok(())
        }
    }
}
