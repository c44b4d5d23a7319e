//! `jobber admin …`: tasks for the operator, such as creating an account on an install
//! whose sign-up is closed.

use std::io::BufRead;

use clap::Subcommand;

use super::Database;
use crate::config::Config;
use crate::modules::accounts::service::{self, NewAccount};

#[derive(Debug, Clone, Subcommand)]
pub enum Action {
    /// Create a business and its owner.
    CreateAccount {
        #[arg(long)]
        business_name: String,
        /// The owner's name.
        #[arg(long)]
        name: String,
        /// The owner's login email.
        #[arg(long)]
        email: String,
        /// Read the owner's password from the first line of standard input (else from
        /// JOBBER_OWNER_PASSWORD).
        #[arg(long)]
        password_stdin: bool,
        #[arg(long, default_value = "UTC")]
        time_zone: String,
        #[arg(long, default_value = "USD")]
        currency: String,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Fill an account with realistic demo data (scale 1: 1,000 clients, 10,000 visits,
    /// 2,000 invoices; scale 100: 100k / 1M / 200k).
    SeedDemo {
        /// The login email of the account's owner.
        #[arg(long)]
        email: String,
        #[arg(long, default_value_t = 1)]
        scale: usize,
        /// Add demo data even though the account already has clients.
        #[arg(long)]
        yes_add_demo_data: bool,
        #[arg(long)]
        json: bool,
    },
    /// Recompute the report aggregates (dashboard, jobs report) from the base tables,
    /// for one account or all of them. Writes keep them exact; this repairs them, e.g.
    /// after rows were changed with the aggregate triggers disabled. Safe while the
    /// server runs: each account's rebuild waits for its writes in flight.
    RebuildAggregates {
        /// Only this account (its id); all accounts without it.
        #[arg(long)]
        account: Option<uuid::Uuid>,
        #[arg(long)]
        json: bool,
    },
}

pub fn run(config: Config, action: Action) -> anyhow::Result<()> {
    crate::platform::logging::init_cli(&config.log);
    let (business_name, name, email, password_stdin, time_zone, currency, json) = match action {
        Action::CreateAccount {
            business_name,
            name,
            email,
            password_stdin,
            time_zone,
            currency,
            json,
        } => (
            business_name,
            name,
            email,
            password_stdin,
            time_zone,
            currency,
            json,
        ),
        Action::SeedDemo {
            email,
            scale,
            yes_add_demo_data,
            json,
        } => return seed_demo(config, &email, scale, yes_add_demo_data, json),
        Action::RebuildAggregates { account, json } => {
            return rebuild_aggregates(config, account, json);
        }
    };
    let password = if password_stdin {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        line.trim_end_matches(['\n', '\r']).to_string()
    } else {
        std::env::var("JOBBER_OWNER_PASSWORD").map_err(|_| {
            anyhow::anyhow!(
                "give the owner's password with --password-stdin or JOBBER_OWNER_PASSWORD"
            )
        })?
    };
    let input = NewAccount::parse(
        &business_name,
        &name,
        &email,
        password,
        Some(&time_zone),
        Some(&currency),
    )
    .map_err(|e| {
        anyhow::anyhow!(
            "{}",
            e.fields
                .iter()
                .map(|f| format!("--{}: {}", f.field.replace('_', "-"), f.message))
                .collect::<Vec<_>>()
                .join("; ")
        )
    })?;
    let lock = Database::prepare(&config)?;
    super::runtime()?.block_on(async {
        let database = Database::open(&config, lock).await?;
        database.db.migrate().await?;
        let result = service::create(&database.db, input).await;
        database.close().await?;
        let (account, user) = result.map_err(anyhow::Error::from)?;
        if json {
            println!("{}", serde_json::json!({"account": account, "user": user}));
        } else {
            println!(
                "created account {} ({}) with owner {} <{}>",
                account.name, account.id, user.name, user.email
            );
        }
        Ok(())
    })
}

fn seed_demo(
    config: Config,
    email: &str,
    scale: usize,
    force: bool,
    json: bool,
) -> anyhow::Result<()> {
    if !(1..=1000).contains(&scale) {
        anyhow::bail!("--scale must be between 1 and 1000");
    }
    let lock = Database::prepare(&config)?;
    super::runtime()?.block_on(async {
        let database = Database::open(&config, lock).await?;
        database.db.check_not_newer().await?;
        let result = async {
            let (account_id, _) = crate::modules::users::service::find_login(&database.db, &email.trim().to_lowercase())
                .await?
                .ok_or_else(|| anyhow::anyhow!("no login {email}; create the account first (sign up or `jobber admin create-account`)"))?;
            if !force && crate::modules::demo::has_clients(&database.db, account_id).await.map_err(anyhow::Error::from)? {
                anyhow::bail!("the account already has clients; pass --yes-add-demo-data to add demo data to it anyway");
            }
            let started = std::time::Instant::now();
            let seeded = crate::modules::demo::seed(&database.db, account_id, scale).await.map_err(anyhow::Error::from)?;
            Ok::<_, anyhow::Error>((seeded, started.elapsed()))
        }
        .await;
        database.close().await?;
        let (seeded, elapsed) = result?;
        if json {
            println!("{}", serde_json::to_string(&seeded)?);
        } else {
            println!("seeded in {:.1}s: {seeded:?}", elapsed.as_secs_f64());
        }
        Ok(())
    })
}

fn rebuild_aggregates(
    config: Config,
    account: Option<uuid::Uuid>,
    json: bool,
) -> anyhow::Result<()> {
    let lock = Database::prepare(&config)?;
    super::runtime()?.block_on(async {
        let database = Database::open(&config, lock).await?;
        database.db.check_not_newer().await?;
        let result = async {
            let mut accounts = service::all_ids(&database.db).await?;
            if let Some(id) = account {
                anyhow::ensure!(accounts.contains(&id), "account {id} not found");
                accounts = vec![id];
            }
            let started = std::time::Instant::now();
            for id in &accounts {
                crate::modules::reports::service::rebuild_aggregates(&database.db, *id)
                    .await
                    .map_err(|e| anyhow::Error::new(e).context(format!("account {id}")))?;
            }
            Ok::<_, anyhow::Error>((accounts, started.elapsed()))
        }
        .await;
        database.close().await?;
        let (accounts, elapsed) = result?;
        if json {
            println!(
                "{}",
                serde_json::json!({"accounts": accounts, "seconds": elapsed.as_secs_f64()})
            );
        } else {
            println!(
                "rebuilt the report aggregates of {} account(s) in {:.1}s",
                accounts.len(),
                elapsed.as_secs_f64()
            );
        }
        Ok(())
    })
}
