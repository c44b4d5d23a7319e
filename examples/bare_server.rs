//! The ceiling of our stack, for `make bench` (scripts/bench-stack.sh): axum and sqlx
//! answering `GET /clients/{id}` from the same PostgreSQL and the same table jobber
//! reads, with nothing else — no authentication, no tenancy (row-level security is
//! bypassed by connecting as the table owner), no middleware, no cache. What jobber
//! adds on top of this is what the bench measures.
//!
//! Usage: bare_server <listen address> <database url> <account id> [pool size]

use std::sync::Arc;

use anyhow::Context;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::Value;
use sqlx::postgres::PgPoolOptions;
use uuid::Uuid;

struct Bare {
    pool: sqlx::PgPool,
    /// The one account asked about: the same primary-key look-up jobber makes.
    account: Uuid,
}

async fn client(
    State(bare): State<Arc<Bare>>,
    Path(id): Path<Uuid>,
) -> Result<Json<Value>, StatusCode> {
    // The client's columns as one JSON object.
    let row: Option<Value> = sqlx::query_scalar(
        "SELECT to_jsonb(c) - 'search_text' FROM clients c WHERE c.account_id = $1 AND c.id = $2",
    )
    .bind(bare.account)
    .bind(id)
    .fetch_optional(&bare.pool)
    .await
    .map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?;
    row.map(Json).ok_or(StatusCode::NOT_FOUND)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let (Some(listen), Some(url), Some(account)) = (args.get(1), args.get(2), args.get(3)) else {
        anyhow::bail!(
            "usage: bare_server <listen address> <database url> <account id> [pool size]"
        );
    };
    let account = account.parse().context("account id")?;
    let size = args.get(4).and_then(|s| s.parse().ok()).unwrap_or(20);
    let pool = PgPoolOptions::new()
        .max_connections(size)
        .connect(url)
        .await
        .context("connecting")?;
    let app = axum::Router::new()
        .route("/clients/{id}", axum::routing::get(client))
        .with_state(Arc::new(Bare { pool, account }));
    let listener = tokio::net::TcpListener::bind(listen).await?;
    println!("ready");
    axum::serve(listener, app).await?;
    Ok(())
}
