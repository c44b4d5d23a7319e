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
}

pub fn run(config: Config, action: Action) -> anyhow::Result<()> {
    crate::platform::logging::init_cli(&config.log);
    let Action::CreateAccount {
        business_name,
        name,
        email,
        password_stdin,
        time_zone,
        currency,
        json,
    } = action;
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
        let (account, user) = result.map_err(|e| anyhow::anyhow!("{}", e.detail))?;
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
