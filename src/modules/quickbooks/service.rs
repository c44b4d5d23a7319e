//! Connect and disconnect (OAuth 2.0 authorization-code flow), the sync status, the
//! per-record listing and retry, and [`on_event`]: the listener that wants a record
//! pushed when a client, invoice or payment changes (no other module calls this one).

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use futures_util::future::BoxFuture;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use utoipa::ToSchema;
use uuid::Uuid;

use super::repo::{self, RecordFilter, RecordRow};
use crate::error::{Error, ErrorCode};
use crate::integrations::quickbooks::{QuickBooks, Tokens};
use crate::platform::crypto::SecretBox;
use crate::platform::database::Ctx;
use crate::platform::database::Db;
use crate::platform::events::Event;
use crate::platform::pagination::{Page, PageRequest};
use crate::platform::queue::{self, Queue};

/// How long the `state` of a connect stays valid (the user's visit to Intuit).
pub const STATE_TTL_SECS: i64 = 15 * 60;
const STATE_CONTEXT: &str = "quickbooks_oauth_state";

/// QuickBooks' client (None: not configured on this server) and the key that seals
/// the tokens.
#[derive(Clone)]
pub struct QboGateway {
    pub client: Option<QuickBooks>,
    pub secrets: Arc<SecretBox>,
}

/// What a local record is in QuickBooks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A client.
    Customer,
    Invoice,
    Payment,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Customer => "customer",
            Kind::Invoice => "invoice",
            Kind::Payment => "payment",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Kind::Customer, Kind::Invoice, Kind::Payment]
            .into_iter()
            .find(|k| k.as_str() == text)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SyncState {
    /// Waiting for (or between attempts of) a push.
    Pending,
    /// QuickBooks has the latest version.
    Synced,
    /// QuickBooks refused it (see `last_error`); not retried until it changes again
    /// or `POST …/records/{id}/retry`.
    Failed,
}

impl SyncState {
    pub fn as_str(self) -> &'static str {
        match self {
            SyncState::Pending => "pending",
            SyncState::Synced => "synced",
            SyncState::Failed => "failed",
        }
    }
}

/// The `sync.quickbooks` job.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SyncJob {
    pub record_id: Uuid,
}

pub fn token_context(account_id: Uuid, which: &str) -> String {
    format!("{account_id}:quickbooks_{which}_token")
}

/// The in-transaction listener (`platform::events::InTransaction`): a client, an issued
/// or voided invoice, or a payment changed, so when the account is connected the
/// record's next version is wanted and a `sync.quickbooks` job is enqueued with the
/// change, in the change's own transaction. One round trip when the account is not
/// connected; none for events that are not about those records.
pub fn on_event<'a>(
    conn: &'a mut PgConnection,
    account_id: Uuid,
    event: &'a Event,
) -> BoxFuture<'a, Result<(), sqlx::Error>> {
    Box::pin(async move {
        let (kind, local_id) = match *event {
            Event::ClientCreated { client_id }
            | Event::ClientUpdated { client_id }
            | Event::ClientArchived { client_id } => (Kind::Customer, client_id),
            Event::InvoiceSent { invoice_id } | Event::InvoiceVoided { invoice_id, .. } => {
                (Kind::Invoice, invoice_id)
            }
            Event::PaymentRecorded { payment_id } | Event::PaymentSucceeded { payment_id } => {
                (Kind::Payment, payment_id)
            }
            _ => return Ok(()),
        };
        let Some(realm_id) = repo::connected_realm(conn).await? else {
            return Ok(());
        };
        let record_id =
            repo::request_push(conn, account_id, kind.as_str(), local_id, &realm_id).await?;
        queue::enqueue(
            conn,
            account_id,
            Queue::SyncQuickbooks,
            &SyncJob { record_id },
        )
        .await?;
        Ok(())
    })
}

fn client_of(gateway: &QboGateway) -> Result<&QuickBooks, Error> {
    gateway.client.as_ref().ok_or_else(|| {
        Error::new(
            ErrorCode::QuickbooksNotConfigured,
            "QuickBooks Online is not configured on this server: its operator sets quickbooks_client_id and quickbooks_client_secret",
        )
    })
}

pub fn redirect_uri(public_url: &str) -> String {
    format!("{public_url}/api/v1/integrations/quickbooks/callback")
}

#[derive(Serialize, Deserialize)]
struct State {
    /// Account.
    a: Uuid,
    /// User who asked.
    u: Uuid,
    /// Expiry, Unix seconds.
    e: i64,
}

/// The `state` parameter: account, user and expiry sealed (AES-256-GCM) under the
/// server key, so it can be neither forged nor read, and expires.
fn seal_state(secrets: &SecretBox, account_id: Uuid, user_id: Uuid) -> Result<String, Error> {
    let state = State {
        a: account_id,
        u: user_id,
        e: Utc::now().timestamp() + STATE_TTL_SECS,
    };
    let json = serde_json::to_vec(&state).map_err(Error::internal)?;
    let sealed = secrets
        .seal(STATE_CONTEXT, &json)
        .map_err(Error::internal)?;
    Ok(URL_SAFE_NO_PAD.encode(sealed))
}

fn open_state(secrets: &SecretBox, text: &str) -> Result<State, Error> {
    let refused = || {
        Error::new(
            ErrorCode::InvalidOauthState,
            "the state of this QuickBooks authorization is missing, forged or expired; connect again",
        )
    };
    let sealed = URL_SAFE_NO_PAD.decode(text).map_err(|_| refused())?;
    let json = secrets
        .open(STATE_CONTEXT, &sealed)
        .map_err(|_| refused())?;
    let state: State = serde_json::from_slice(&json).map_err(|_| refused())?;
    if state.e < Utc::now().timestamp() {
        return Err(refused());
    }
    Ok(state)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ConnectReply {
    /// Send the user's browser here; Intuit redirects back to the callback.
    pub authorize_url: String,
}

#[tracing::instrument(skip_all, fields(account_id = %ctx.account_id))]
pub fn connect(gateway: &QboGateway, ctx: &Ctx, public_url: &str) -> Result<ConnectReply, Error> {
    let client = client_of(gateway)?;
    let state = seal_state(&gateway.secrets, ctx.account_id, ctx.user_id)?;
    let authorize_url = client
        .authorize_url(&redirect_uri(public_url), &state)
        .map_err(Error::internal)?;
    Ok(ConnectReply { authorize_url })
}

/// What Intuit sends back to the callback.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CallbackParams {
    pub code: Option<String>,
    pub state: Option<String>,
    #[serde(rename = "realmId")]
    #[param(rename = "realmId")]
    pub realm_id: Option<String>,
    /// Set instead of `code` when the user declined (`access_denied`).
    pub error: Option<String>,
}

/// The callback's outcome: where to send the browser back in the web app.
pub enum CallbackOutcome {
    Connected,
    Refused(String),
}

/// Tokens as stored: sealed, with their expiry times.
pub(super) struct SealedTokens {
    pub access: Vec<u8>,
    pub access_expires_at: DateTime<Utc>,
    pub refresh: Vec<u8>,
    pub refresh_expires_at: Option<DateTime<Utc>>,
}

pub(super) fn sealed_tokens(
    secrets: &SecretBox,
    account_id: Uuid,
    tokens: &Tokens,
) -> Result<SealedTokens, Error> {
    let now = Utc::now();
    let access = secrets
        .seal(
            &token_context(account_id, "access"),
            tokens.access_token.as_bytes(),
        )
        .map_err(Error::internal)?;
    let refresh = secrets
        .seal(
            &token_context(account_id, "refresh"),
            tokens.refresh_token.as_bytes(),
        )
        .map_err(Error::internal)?;
    let access_expires_at = now + Duration::seconds(tokens.expires_in.clamp(0, 86_400));
    let refresh_expires_at = tokens
        .x_refresh_token_expires_in
        .map(|secs| now + Duration::seconds(secs.clamp(0, 10 * 365 * 86_400)));
    Ok(SealedTokens {
        access,
        access_expires_at,
        refresh,
        refresh_expires_at,
    })
}

/// Verify the state (else `invalid_oauth_state`), exchange the code for tokens, store
/// them sealed, forget mappings to another company file and re-queue pending records.
#[tracing::instrument(skip_all)]
pub async fn callback(
    db: &Db,
    gateway: &QboGateway,
    public_url: &str,
    params: CallbackParams,
) -> Result<CallbackOutcome, Error> {
    let state = open_state(
        &gateway.secrets,
        params.state.as_deref().unwrap_or_default(),
    )?;
    let client = client_of(gateway)?;
    if let Some(error) = params.error {
        tracing::info!(account_id = %state.a, %error, "QuickBooks authorization declined");
        return Ok(CallbackOutcome::Refused(error));
    }
    let (Some(code), Some(realm_id)) = (params.code, params.realm_id) else {
        return Err(Error::new(
            ErrorCode::InvalidParameter,
            "the callback needs code and realmId",
        ));
    };
    if realm_id.is_empty() || !realm_id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(Error::new(
            ErrorCode::InvalidParameter,
            "realmId is malformed",
        ));
    }
    let tokens = match client.exchange_code(&code, &redirect_uri(public_url)).await {
        Ok(tokens) => tokens,
        Err(error) => {
            tracing::warn!(account_id = %state.a, error = %error, "QuickBooks code exchange failed");
            return Ok(CallbackOutcome::Refused(error.to_string()));
        }
    };
    let sealed = sealed_tokens(&gateway.secrets, state.a, &tokens)?;
    let mut tx = db.tenant(state.a).await?;
    repo::upsert_connection(
        &mut tx,
        state.a,
        &repo::NewConnection {
            realm_id: &realm_id,
            access_token_enc: &sealed.access,
            access_expires_at: sealed.access_expires_at,
            refresh_token_enc: &sealed.refresh,
            refresh_expires_at: sealed.refresh_expires_at,
            connected_by: state.u,
        },
    )
    .await?;
    let forgotten = repo::forget_other_realms(&mut tx, &realm_id).await?;
    for record_id in repo::pending_ids(&mut tx).await? {
        queue::enqueue(
            &mut tx,
            state.a,
            Queue::SyncQuickbooks,
            &SyncJob { record_id },
        )
        .await?;
    }
    tx.commit().await?;
    tracing::info!(account_id = %state.a, user_id = %state.u, %realm_id, forgotten, "QuickBooks connected");
    Ok(CallbackOutcome::Connected)
}

/// Forget the tokens; sync stops (jobs still queued find no connection and do nothing).
/// The mapping is kept, so connecting the same company again updates, not duplicates.
pub async fn disconnect(db: &Db, ctx: &Ctx) -> Result<(), Error> {
    let mut tx = db.tenant(ctx.account_id).await?;
    let removed = repo::delete_connection(&mut tx).await?;
    tx.commit().await?;
    if removed > 0 {
        tracing::info!(account_id = %ctx.account_id, user_id = %ctx.user_id, "QuickBooks disconnected");
    }
    Ok(())
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SyncRecord {
    pub id: Uuid,
    pub kind: Kind,
    /// The client, invoice or payment in jobber.
    pub local_id: Uuid,
    pub realm_id: String,
    /// Its `Id` in QuickBooks, once created.
    pub qbo_id: Option<String>,
    pub sync_token: Option<String>,
    pub state: SyncState,
    /// QuickBooks' message (or the transport error) of the last failed attempt.
    pub last_error: Option<String>,
    pub attempts: i32,
    pub synced_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

fn record_of(row: RecordRow) -> SyncRecord {
    SyncRecord {
        id: row.id,
        kind: Kind::parse(&row.kind).unwrap_or(Kind::Customer),
        local_id: row.local_id,
        realm_id: row.realm_id,
        qbo_id: row.qbo_id,
        sync_token: row.sync_token,
        state: match row.state.as_str() {
            "synced" => SyncState::Synced,
            "failed" => SyncState::Failed,
            _ => SyncState::Pending,
        },
        last_error: row.last_error,
        attempts: row.attempts,
        synced_at: row.synced_at,
        created_at: row.created_at,
        updated_at: row.updated_at,
    }
}

#[derive(Debug, Default, Serialize, ToSchema)]
pub struct SyncCounts {
    pub pending: i64,
    pub synced: i64,
    pub failed: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct QuickBooksStatus {
    /// The server has QuickBooks app credentials (else connecting is impossible).
    pub configured: bool,
    pub connected: bool,
    /// The company file (QuickBooks `realmId`).
    pub realm_id: Option<String>,
    pub connected_at: Option<DateTime<Utc>>,
    pub connected_by: Option<Uuid>,
    pub last_sync_at: Option<DateTime<Utc>>,
    pub access_token_expires_at: Option<DateTime<Utc>>,
    pub refresh_token_expires_at: Option<DateTime<Utc>>,
    /// A problem with the connection itself (e.g. the refresh token was refused:
    /// connect again).
    pub connection_error: Option<String>,
    pub counts: SyncCounts,
    /// The latest records whose last attempt failed (10 at most).
    pub recent_errors: Vec<SyncRecord>,
}

pub async fn status(db: &Db, gateway: &QboGateway, ctx: &Ctx) -> Result<QuickBooksStatus, Error> {
    let mut tx = db.tenant(ctx.account_id).await?;
    let connection = repo::connection(&mut tx).await?;
    let mut counts = SyncCounts::default();
    for (state, n) in repo::counts(&mut tx).await? {
        match state.as_str() {
            "pending" => counts.pending = n,
            "synced" => counts.synced = n,
            "failed" => counts.failed = n,
            _ => {}
        }
    }
    let recent_errors = repo::recent_errors(&mut tx, 10).await?;
    tx.commit().await?;
    Ok(QuickBooksStatus {
        configured: gateway.client.is_some(),
        connected: connection.is_some(),
        realm_id: connection.as_ref().map(|c| c.realm_id.clone()),
        connected_at: connection.as_ref().map(|c| c.connected_at),
        connected_by: connection.as_ref().and_then(|c| c.connected_by),
        last_sync_at: connection.as_ref().and_then(|c| c.last_sync_at),
        access_token_expires_at: connection.as_ref().map(|c| c.access_expires_at),
        refresh_token_expires_at: connection.as_ref().and_then(|c| c.refresh_expires_at),
        connection_error: connection.and_then(|c| c.last_error),
        counts,
        recent_errors: recent_errors.into_iter().map(record_of).collect(),
    })
}

pub struct RecordQuery {
    pub state: Option<SyncState>,
    pub kind: Option<Kind>,
    pub local_id: Option<Uuid>,
}

pub async fn records(
    db: &Db,
    ctx: &Ctx,
    query: &RecordQuery,
    page: PageRequest,
) -> Result<Page<SyncRecord>, Error> {
    let filter = RecordFilter {
        state: query.state.map(SyncState::as_str),
        kind: query.kind.map(Kind::as_str),
        local_id: query.local_id,
    };
    let mut tx = db.tenant(ctx.account_id).await?;
    let rows = repo::list(&mut tx, &filter, page.after, page.fetch_limit()).await?;
    tx.commit().await?;
    Ok(Page::from_rows(rows, page, |r| r.id).map(record_of))
}

/// Push the record again (a failed one after its cause was fixed).
#[tracing::instrument(skip_all, fields(account_id = %ctx.account_id, record_id = %id))]
pub async fn retry(db: &Db, ctx: &Ctx, id: Uuid) -> Result<SyncRecord, Error> {
    let mut tx = db.tenant(ctx.account_id).await?;
    if repo::connected_realm(&mut tx).await?.is_none() {
        return Err(Error::new(
            ErrorCode::QuickbooksNotConnected,
            "the account is not connected to QuickBooks Online; connect it first",
        ));
    }
    let row = repo::retry(&mut tx, id)
        .await?
        .ok_or_else(|| Error::code(ErrorCode::QuickbooksRecordNotFound))?;
    queue::enqueue(
        &mut tx,
        ctx.account_id,
        Queue::SyncQuickbooks,
        &SyncJob { record_id: id },
    )
    .await?;
    tx.commit().await?;
    Ok(record_of(row))
}

/// The decrypted tokens of a connection row.
pub(super) fn open_tokens(
    secrets: &SecretBox,
    account_id: Uuid,
    row: &repo::ConnectionRow,
) -> anyhow::Result<(SecretString, SecretString)> {
    let open = |which: &str, sealed: &[u8]| {
        secrets
            .open_string(&token_context(account_id, which), sealed)
            .map_err(|e| {
                anyhow::anyhow!(
                    "stored QuickBooks {which} token of account {account_id}: {e}; was the encryption key changed?"
                )
            })
    };
    Ok((
        open("access", &row.access_token_enc)?,
        open("refresh", &row.refresh_token_enc)?,
    ))
}
