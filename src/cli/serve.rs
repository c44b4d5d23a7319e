//! `jobber serve`: preflight, privileges, the database, then the listeners until a stop
//! signal.
//!
//! Order matters when started as root: the data dir is handed to the unprivileged
//! user, its lock taken and the ports bound while still root; then privileges are
//! dropped for good before anything else (PostgreSQL included) runs.

use std::time::Duration;

use anyhow::Context;
use secrecy::ExposeSecret;

use crate::app::{App, Listeners, stop_signal};
use crate::config::{Config, EMBEDDED_RESTART_WINDOW, Role};
use crate::platform::database::Db;
use crate::platform::embedded::{EmbeddedPostgres, RestartPolicy};
use crate::platform::process::{self, DataDirLock};

pub fn run(mut config: Config) -> anyhow::Result<()> {
    check_clock()?;
    let run_as = process::resolve_run_as(&config.user)?;
    process::prepare_data_dir(&config.data_dir, run_as.as_ref())?;
    let lock = DataDirLock::acquire(&config.data_dir)?;
    let listeners = Listeners::bind(&config)?;
    if let Some(run_as) = &run_as {
        process::drop_privileges(run_as)?;
    }
    let resource = crate::platform::otlp::Resource {
        service_name: "jobber".into(),
        service_version: env!("CARGO_PKG_VERSION").into(),
        instance_id: uuid::Uuid::now_v7().to_string(),
        role: format!("{:?}", config.role).to_lowercase(),
    };
    let exporter = config
        .otlp_endpoint
        .clone()
        .map(|endpoint| crate::platform::otlp::Exporter {
            endpoint,
            headers: config.otlp_headers.clone(),
        });
    let _log_guard = crate::platform::logging::init(
        &config.log,
        config.log_format,
        Some(&crate::platform::datadir::DataDir::new(&config.data_dir).logs()),
        exporter.as_ref().map(|e| (e, resource)),
    )?;
    if let Some(exporter) = &exporter {
        // The headers' names only: their values are credentials.
        let headers: Vec<&str> = exporter.headers.iter().map(|(n, _)| n.as_str()).collect();
        tracing::info!(
            endpoint = crate::config::redact_url(&exporter.endpoint),
            headers = headers.join(","),
            "exporting traces over OTLP/HTTP"
        );
    }
    if let Some(run_as) = &run_as {
        tracing::info!(user = %run_as.name, "dropped root privileges");
    }
    match process::raise_fd_limit() {
        Ok(limit) => {
            tracing::info!(limit, "open file limit");
            // Keep descriptors for the database pool, files and the admin listener,
            // so that the cap, not EMFILE, is what a flood of connections meets.
            let fit = usize::try_from(limit.saturating_sub(256))
                .unwrap_or(usize::MAX)
                .max(16);
            if config.http.max_connections > fit {
                tracing::warn!(
                    max_connections = config.http.max_connections,
                    lowered_to = fit,
                    "max_connections does not fit the open file limit; lowered"
                );
                config.http.max_connections = fit;
            }
        }
        Err(error) => {
            tracing::warn!(
                error = format!("{error:#}"),
                "cannot raise the open file limit"
            )
        }
    }
    let result = super::runtime()?.block_on(serve(config, listeners, &lock));
    if let Err(error) = &result {
        tracing::error!(error = format!("{error:#}"), "jobber stopped with an error");
    }
    result
}

async fn serve(config: Config, listeners: Listeners, lock: &DataDirLock) -> anyhow::Result<()> {
    tracing::info!(version = env!("CARGO_PKG_VERSION"), role = crate::config::role_name(config.role), data_dir = %config.data_dir.display(), lock = %lock.path().display(), "starting");
    let embedded = match &config.database_url {
        Some(_) => None,
        None => Some(EmbeddedPostgres::start(&config).await?),
    };
    let url = match (&config.database_url, &embedded) {
        (Some(url), _) => url.expose_secret().to_string(),
        (None, Some(embedded)) => embedded.url().to_string(),
        (None, None) => unreachable!("embedded is started when no URL is configured"),
    };
    let db = Db::connect_with(&url, &config.db_settings()).await?;
    match config.role {
        // The single-box appliance keeps its schema current by itself.
        Role::All => db.migrate().await?,
        // Split deployments migrate in a separate step (`jobber migrate`, the Helm
        // pre-upgrade hook); a pod only refuses a schema newer than itself.
        Role::Api | Role::Worker => db.check_not_newer().await?,
    }
    check_app_role(&db, config.allow_unsafe_db_role).await?;
    // The embedded server is watched and restarted when it dies; past its restart
    // budget jobber stops (draining what it can) and exits non-zero.
    let (stopping_tx, stopping) = tokio::sync::watch::channel(false);
    let supervisor = embedded.map(|embedded| {
        embedded.supervise(
            RestartPolicy {
                max_restarts: config.embedded_pg_max_restarts,
                window: EMBEDDED_RESTART_WINDOW,
                check_every: Duration::from_secs(1),
            },
            db.clone(),
            stopping,
        )
    });
    let gave_up = supervisor.as_ref().map(|s| s.gave_up());
    let shutdown = async move {
        match gave_up {
            Some(gave_up) => tokio::select! {
                () = stop_signal() => {}
                () = gave_up => {}
            },
            None => stop_signal().await,
        }
        let _ = stopping_tx.send(true);
    };
    let app = App::build(config, db.clone(), listeners)?;
    tracing::info!(public = %app.public_addr()?, admin = %app.admin_addr()?, acme_http = ?app.acme_http_addr()?, "listening");
    if app.state().config.role != crate::config::Role::Worker {
        // The one line a newcomer needs from `make run`, apart from the JSON logs.
        eprintln!(
            "jobber is ready: open {} in your browser",
            app.state().config.public_url
        );
    }
    let served = app.run_until_stopped(shutdown).await;
    // Closing waits for every connection to be handed back and closed; with the
    // database gone that must not hold up the exit.
    if tokio::time::timeout(Duration::from_secs(5), db.close())
        .await
        .is_err()
    {
        tracing::warn!("database connections did not close within 5s; leaving them");
    }
    if let Some(supervisor) = supervisor {
        supervisor.finish().await.context("embedded PostgreSQL")?;
    }
    tracing::info!("stopped");
    served
}

/// Tokens, TLS certificates and schedules all depend on the clock; a machine that
/// booted without one (no RTC, no NTP yet) must not start serving.
fn check_clock() -> anyhow::Result<()> {
    let now = chrono::Utc::now();
    let earliest = chrono::DateTime::parse_from_rfc3339("2025-01-01T00:00:00Z")?;
    if now < earliest {
        anyhow::bail!(
            "the system clock says {now}, which is before this release was built; set the time (NTP) and start again"
        );
    }
    Ok(())
}

/// Refuse to serve when the role requests run as can walk around row-level security
/// (an external database set up by hand: a superuser, BYPASSRLS, an owner), unless
/// `--allow-unsafe-db-role` says to go on anyway.
async fn check_app_role(db: &Db, allow_unsafe: bool) -> anyhow::Result<()> {
    use crate::platform::database::AppRoleCheck;
    match db.check_app_role().await? {
        AppRoleCheck::Held => Ok(()),
        // Split roles before `jobber migrate`: readiness already says migrations are
        // pending; the check runs again at the next start.
        check @ AppRoleCheck::Missing => {
            tracing::warn!("{}", check.summary());
            Ok(())
        }
        AppRoleCheck::Unsafe(problems) if allow_unsafe => {
            tracing::error!(
                problems = AppRoleCheck::Unsafe(problems).summary(),
                "starting although the app role can bypass row-level security (--allow-unsafe-db-role)"
            );
            Ok(())
        }
        AppRoleCheck::Unsafe(problems) => Err(anyhow::anyhow!(AppRoleCheck::refusal(&problems))),
    }
}
