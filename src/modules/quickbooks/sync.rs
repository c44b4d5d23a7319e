//! The push of one record (the `sync.quickbooks` job): the customer, invoice or
//! payment as QuickBooks objects, created once and updated after.
//!
//! - **Idempotent.** The mapping row is read first: a version already pushed is not
//!   pushed again. A create carries `requestid` = the mapping row's id, so a create
//!   repeated after a crash (QuickBooks created it, we did not record it) returns the
//!   same object instead of a duplicate.
//! - **Updates** are sparse (`Id`, `SyncToken`, `sparse: true`); a stale SyncToken
//!   (error 5010) reads the object for the current one and tries once more.
//! - **Dependencies** first: an invoice's customer, a payment's invoice and customer.
//! - **Tokens** are refreshed before they expire and once on a 401; a rotated refresh
//!   token is stored before it is used (its own transaction).
//! - **Errors**: QuickBooks refusing the object (a Fault) marks the record `failed`
//!   with the message and is not retried; transport errors, 5xx, 429 and token
//!   problems leave it `pending` with the error and fail the job (queue retries).

use std::str::FromStr;

use chrono::{Duration, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use uuid::Uuid;

use super::repo::{self, RecordRow};
use super::service::{self, Kind};
use crate::domain::Currency;
use crate::error::{Error, ErrorCode};
use crate::integrations::quickbooks::{Entity, Object, QboError, QuickBooks};
use crate::modules::clients::model::{Client, ClientStatus};
use crate::modules::invoices::model::{Invoice, InvoiceStatus, Payment};
use crate::modules::{accounts, clients, invoices};
use crate::money::format_minor;
use crate::platform::crypto::SecretBox;
use crate::platform::database::{Db, Tx};

/// Refresh the access token when it has less than this left.
const REFRESH_MARGIN_SECS: i64 = 120;

/// Why a push did not happen.
#[derive(Debug)]
enum PushError {
    /// QuickBooks refused the object: `failed`, not retried.
    Refused(String),
    /// Try again later: `pending`, the job fails and the queue retries.
    Later(String),
    /// Our own failure (database): the job's transaction rolls back and it retries.
    Internal(anyhow::Error),
}

impl PushError {
    fn context(self, what: &str) -> Self {
        match self {
            PushError::Refused(m) => PushError::Refused(format!("{what}: {m}")),
            PushError::Later(m) => PushError::Later(format!("{what}: {m}")),
            PushError::Internal(e) => PushError::Internal(e.context(what.to_string())),
        }
    }
}

impl From<sqlx::Error> for PushError {
    fn from(error: sqlx::Error) -> Self {
        PushError::Internal(error.into())
    }
}

impl From<QboError> for PushError {
    fn from(error: QboError) -> Self {
        match error {
            QboError::Fault { .. } => PushError::Refused(error.to_string()),
            QboError::Unauthorized(_) | QboError::Transport(_) => {
                PushError::Later(error.to_string())
            }
            QboError::Grant(_) => PushError::Later(format!(
                "{error}; an owner or admin must connect QuickBooks again"
            )),
        }
    }
}

/// A local record that is gone cannot be pushed; other read errors are ours.
fn local(error: Error) -> PushError {
    match error.code {
        ErrorCode::ClientNotFound | ErrorCode::InvoiceNotFound | ErrorCode::PaymentNotFound => {
            PushError::Refused(format!("{} in jobber", error.code.title()))
        }
        _ => PushError::Internal(anyhow::Error::from(error)),
    }
}

/// One job's view of the connection: the realm and a usable access token.
struct Session<'a> {
    db: &'a Db,
    qbo: &'a QuickBooks,
    secrets: &'a SecretBox,
    account_id: Uuid,
    realm_id: String,
    access: SecretString,
    expires_at: chrono::DateTime<Utc>,
}

enum Op<'b> {
    Save {
        entity: Entity,
        body: &'b Value,
        request_id: Option<&'b str>,
    },
    Read {
        entity: Entity,
        id: &'b str,
    },
    Void {
        id: &'b str,
        sync_token: &'b str,
    },
}

impl Session<'_> {
    /// Refresh the tokens (in a transaction of their own, with the connection row
    /// locked: another worker may have refreshed meanwhile, then its token is used).
    async fn refresh(&mut self, force: bool) -> Result<(), PushError> {
        let mut tx = self.db.tenant(self.account_id).await?;
        let Some(row) = repo::connection_for_update(&mut tx).await? else {
            return Err(PushError::Later("QuickBooks was disconnected".into()));
        };
        let (access, refresh) = service::open_tokens(self.secrets, self.account_id, &row)
            .map_err(PushError::Internal)?;
        let fresh = row.access_expires_at > Utc::now() + Duration::seconds(REFRESH_MARGIN_SECS);
        if fresh && (!force || access.expose_secret() != self.access.expose_secret()) {
            self.access = access;
            self.expires_at = row.access_expires_at;
            return Ok(());
        }
        match self.qbo.refresh(&refresh).await {
            Ok(tokens) => {
                let sealed = service::sealed_tokens(self.secrets, self.account_id, &tokens)
                    .map_err(|e| PushError::Internal(anyhow::Error::from(e)))?;
                repo::update_tokens(
                    &mut tx,
                    &sealed.access,
                    sealed.access_expires_at,
                    &sealed.refresh,
                    sealed.refresh_expires_at,
                )
                .await?;
                tx.commit().await?;
                tracing::info!(account_id = %self.account_id, "QuickBooks access token refreshed");
                self.access = SecretString::from(tokens.access_token);
                self.expires_at = sealed.access_expires_at;
                Ok(())
            }
            Err(error) => {
                if let QboError::Grant(_) = &error {
                    repo::set_connection_error(&mut tx, Some(&format!("{error}; connect again")))
                        .await?;
                    tx.commit().await?;
                }
                Err(error.into())
            }
        }
    }

    /// One API call with a valid token: refreshed before expiry, and once on a 401.
    async fn call(&mut self, op: &Op<'_>) -> Result<Object, QboError> {
        if self.expires_at <= Utc::now() + Duration::seconds(REFRESH_MARGIN_SECS) {
            self.refresh(false).await.map_err(to_transport)?;
        }
        let mut refreshed = false;
        loop {
            let result = match op {
                Op::Save {
                    entity,
                    body,
                    request_id,
                } => {
                    self.qbo
                        .save(&self.access, &self.realm_id, *entity, body, *request_id)
                        .await
                }
                Op::Read { entity, id } => {
                    self.qbo
                        .read(&self.access, &self.realm_id, *entity, id)
                        .await
                }
                Op::Void { id, sync_token } => {
                    self.qbo
                        .void_invoice(&self.access, &self.realm_id, id, sync_token)
                        .await
                }
            };
            match result {
                Err(QboError::Unauthorized(_)) if !refreshed => {
                    refreshed = true;
                    self.refresh(true).await.map_err(to_transport)?;
                }
                other => return other,
            }
        }
    }

    /// Sparse update of an existing object; on a stale SyncToken read the current
    /// one and try once more.
    async fn update(
        &mut self,
        entity: Entity,
        id: &str,
        sync_token: &str,
        mut body: Value,
    ) -> Result<Object, QboError> {
        body["Id"] = json!(id);
        body["SyncToken"] = json!(sync_token);
        body["sparse"] = json!(true);
        let op = Op::Save {
            entity,
            body: &body,
            request_id: None,
        };
        match self.call(&op).await {
            Err(error) if error.is_stale() => {
                let current = self.call(&Op::Read { entity, id }).await?;
                tracing::info!(
                    entity = entity.name(),
                    id,
                    "stale SyncToken; retrying with the current one"
                );
                let mut body = body.clone();
                body["SyncToken"] = json!(current.sync_token);
                self.call(&Op::Save {
                    entity,
                    body: &body,
                    request_id: None,
                })
                .await
            }
            other => other,
        }
    }

    async fn create(
        &mut self,
        entity: Entity,
        body: &Value,
        request_id: &str,
    ) -> Result<Object, QboError> {
        self.call(&Op::Save {
            entity,
            body,
            request_id: Some(request_id),
        })
        .await
    }
}

fn to_transport(error: PushError) -> QboError {
    match error {
        PushError::Refused(m) | PushError::Later(m) => QboError::Transport(m),
        PushError::Internal(e) => QboError::Transport(format!("{e:#}")),
    }
}

/// Run the `sync.quickbooks` job of `record_id`. `Ok` when done or nothing to do (or
/// refused: recorded as `failed`); `Err` to be retried.
pub async fn run(
    db: &Db,
    qbo: Option<&QuickBooks>,
    secrets: &SecretBox,
    account_id: Uuid,
    record_id: Uuid,
) -> anyhow::Result<()> {
    let Some(qbo) = qbo else {
        tracing::warn!(%record_id, "QuickBooks is not configured on this server; sync job dropped");
        return Ok(());
    };
    let mut tx = db.tenant(account_id).await?;
    let Some(connection) = repo::connection(&mut tx).await? else {
        tracing::info!(%record_id, "account not connected to QuickBooks; nothing pushed");
        return Ok(());
    };
    let Some(record) = repo::record(&mut tx, record_id).await? else {
        tracing::info!(%record_id, "sync record gone (another company file?); nothing pushed");
        return Ok(());
    };
    if record.realm_id != connection.realm_id {
        return Ok(());
    }
    let Some(kind) = Kind::parse(&record.kind) else {
        anyhow::bail!("unknown sync record kind {}", record.kind);
    };
    let (access, _) = service::open_tokens(secrets, account_id, &connection)?;
    let mut session = Session {
        db,
        qbo,
        secrets,
        account_id,
        realm_id: connection.realm_id.clone(),
        access,
        expires_at: connection.access_expires_at,
    };
    let result = match kind {
        Kind::Customer => push_customer(&mut tx, &mut session, record.local_id).await,
        Kind::Invoice => push_invoice(&mut tx, &mut session, record.local_id).await,
        Kind::Payment => push_payment(&mut tx, &mut session, record.local_id).await,
    };
    match result {
        Ok(qbo_id) => {
            repo::touch_last_sync(&mut tx).await?;
            tx.commit().await?;
            tracing::info!(%record_id, kind = kind.as_str(), %qbo_id, "pushed to QuickBooks");
            Ok(())
        }
        Err(PushError::Refused(message)) => {
            tx.commit().await?;
            tracing::warn!(%record_id, kind = kind.as_str(), %message, "QuickBooks refused the record");
            Ok(())
        }
        Err(PushError::Later(message)) => {
            tx.commit().await?;
            Err(anyhow::anyhow!("QuickBooks push postponed: {message}"))
        }
        Err(PushError::Internal(error)) => Err(error),
    }
}

/// The record of (kind, local_id), and whether its wanted version is already there.
async fn begin(
    tx: &mut Tx,
    s: &Session<'_>,
    kind: Kind,
    local_id: Uuid,
) -> Result<(RecordRow, bool), PushError> {
    let row = repo::ensure_locked(tx, s.account_id, kind.as_str(), local_id, &s.realm_id).await?;
    let done = row.qbo_id.is_some() && row.synced_version >= row.wanted_version;
    Ok((row, done))
}

/// The `requestid` of the record's create: its id, plus the number of refused creates
/// (QuickBooks answers a requestid it has seen with its first answer, a refusal too).
fn request_id(row: &RecordRow) -> String {
    if row.refusals == 0 {
        row.id.to_string()
    } else {
        format!("{}-{}", row.id, row.refusals)
    }
}

/// Record the outcome of a push on its row.
async fn finish(
    tx: &mut Tx,
    row: &RecordRow,
    result: Result<Object, PushError>,
) -> Result<String, PushError> {
    match result {
        Ok(object) => {
            repo::mark_synced(
                tx,
                row.id,
                &object.id,
                &object.sync_token,
                row.wanted_version,
            )
            .await?;
            Ok(object.id)
        }
        Err(PushError::Internal(error)) => Err(PushError::Internal(error)),
        Err(PushError::Refused(message)) => {
            repo::mark_error(tx, row.id, "failed", &message).await?;
            Err(PushError::Refused(message))
        }
        Err(PushError::Later(message)) => {
            repo::mark_error(tx, row.id, "pending", &message).await?;
            Err(PushError::Later(message))
        }
    }
}

fn decimal(minor: i64, exponent: u8) -> Value {
    serde_json::Number::from_str(&format_minor(minor, exponent))
        .map(Value::Number)
        .unwrap_or(Value::Null)
}

fn exponent(currency: &str) -> u8 {
    Currency::parse(currency).map_or(2, |c| c.minor_unit_exponent())
}

/// A client as a QuickBooks Customer. `DisplayName` must be unique among the
/// company's customers, vendors and employees; see [`push_customer`].
pub fn customer_body(client: &Client, display_name: &str) -> Value {
    let mut body = json!({
        "DisplayName": display_name,
        // An archived client is an inactive customer (QuickBooks keeps its history).
        "Active": client.status != ClientStatus::Archived,
    });
    if let Some(first) = &client.first_name {
        body["GivenName"] = json!(first);
    }
    if let Some(last) = &client.last_name {
        body["FamilyName"] = json!(last);
    }
    if let Some(company) = &client.company_name {
        body["CompanyName"] = json!(company);
    }
    let email = client
        .emails
        .iter()
        .find(|e| e.primary)
        .or(client.emails.first());
    if let Some(email) = email {
        body["PrimaryEmailAddr"] = json!({"Address": email.address});
    }
    let phone = client
        .phones
        .iter()
        .find(|p| p.primary)
        .or(client.phones.first());
    if let Some(phone) = phone {
        body["PrimaryPhone"] = json!({"FreeFormNumber": phone.number});
    }
    if let Some(mobile) = client.phones.iter().find(|p| {
        p.label.as_deref() == Some("mobile")
            && Some(p.number.as_str()) != phone.map(|p| p.number.as_str())
    }) {
        body["Mobile"] = json!({"FreeFormNumber": mobile.number});
    }
    let a = &client.billing_address;
    let mut addr = serde_json::Map::new();
    for (key, value) in [
        ("Line1", &a.street1),
        ("Line2", &a.street2),
        ("City", &a.city),
        ("CountrySubDivisionCode", &a.region),
        ("PostalCode", &a.postal_code),
        ("Country", &a.country),
    ] {
        if let Some(value) = value {
            addr.insert(key.into(), json!(value));
        }
    }
    if !addr.is_empty() {
        body["BillAddr"] = Value::Object(addr);
    }
    body
}

/// `Ann Lee` -> `Ann Lee (1a2b3c)`: the name made unique with the client id's tail.
fn unique_name(client: &Client) -> String {
    let simple = client.id.simple().to_string();
    let tail = &simple[simple.len().saturating_sub(6)..];
    format!("{} ({tail})", client.display_name)
}

async fn push_customer(
    tx: &mut Tx,
    s: &mut Session<'_>,
    client_id: Uuid,
) -> Result<String, PushError> {
    let (row, done) = begin(tx, s, Kind::Customer, client_id).await?;
    if done {
        return Ok(row.qbo_id.unwrap_or_default());
    }
    let result: Result<Object, PushError> = async {
        let client = clients::service::get_in(tx, client_id)
            .await
            .map_err(local)?;
        match (&row.qbo_id, &row.sync_token) {
            (Some(id), Some(token)) => {
                // Keep the name QuickBooks has when it had to be made unique.
                let mut body = customer_body(&client, &client.display_name);
                match s.update(Entity::Customer, id, token, body.clone()).await {
                    Err(error) if error.is_duplicate_name() => {
                        body["DisplayName"] = json!(unique_name(&client));
                        Ok(s.update(Entity::Customer, id, token, body).await?)
                    }
                    other => Ok(other?),
                }
            }
            _ => {
                let body = customer_body(&client, &client.display_name);
                match s.create(Entity::Customer, &body, &request_id(&row)).await {
                    // Another customer (or vendor, employee) has this name: QuickBooks
                    // wants names unique, two jobber clients may share one.
                    Err(error) if error.is_duplicate_name() => {
                        let body = customer_body(&client, &unique_name(&client));
                        Ok(
                            s.create(Entity::Customer, &body, &format!("{}-u", request_id(&row)))
                                .await?,
                        )
                    }
                    other => Ok(other?),
                }
            }
        }
    }
    .await;
    finish(tx, &row, result).await
}

/// The invoice's memo: its jobber id and, since `TotalTax` carries only the
/// amount, each tax with its exact rate (`State tax 8.875%`).
fn private_note(invoice: &Invoice) -> String {
    let mut note = format!("jobber invoice {}", invoice.id);
    for (i, tax) in invoice.taxes.iter().enumerate() {
        note.push_str(if i == 0 { "; taxes: " } else { ", " });
        note.push_str(&format!("{} {}%", tax.name, tax.rate));
    }
    note
}

/// An issued invoice as a QuickBooks Invoice. Lines are `SalesItemLineDetail` (no
/// ItemRef: QuickBooks uses its default item) with `TaxCodeRef` `TAX`/`NON` from the
/// line's taxable flag; the tax is `TxnTaxDetail.TotalTax` = jobber's computed tax
/// (US-style sales tax; see docs/operations.md), the rates are in `PrivateNote`;
/// a discount is a `DiscountLineDetail`.
pub fn invoice_body(invoice: &Invoice, customer_id: &str) -> Value {
    let exp = exponent(&invoice.currency);
    let mut lines: Vec<Value> = invoice
        .lines
        .iter()
        .map(|line| {
            let mut description = line.name.clone();
            if let Some(more) = &line.description {
                description.push_str(" — ");
                description.push_str(more);
            }
            json!({
                "DetailType": "SalesItemLineDetail",
                "Amount": decimal(line.line_total, exp),
                "Description": description,
                "SalesItemLineDetail": {
                    "Qty": decimal(line.quantity.0, 2),
                    "UnitPrice": decimal(line.unit_price, exp),
                    "TaxCodeRef": {"value": if line.taxable { "TAX" } else { "NON" }},
                },
            })
        })
        .collect();
    if invoice.discount_total > 0 {
        lines.push(json!({
            "DetailType": "DiscountLineDetail",
            "Amount": decimal(invoice.discount_total, exp),
            "DiscountLineDetail": {"PercentBased": false},
        }));
    }
    let mut body = json!({
        "CustomerRef": {"value": customer_id},
        "Line": lines,
        "TxnTaxDetail": {"TotalTax": decimal(invoice.tax_total, exp)},
        "PrivateNote": private_note(invoice),
    });
    if let Some(number) = &invoice.number {
        body["DocNumber"] = json!(number);
    }
    if let Some(date) = invoice.issue_date {
        body["TxnDate"] = json!(date.to_string());
    }
    if let Some(date) = invoice.due_date {
        body["DueDate"] = json!(date.to_string());
    }
    if let Some(message) = &invoice.message {
        body["CustomerMemo"] = json!({"value": message});
    }
    body
}

async fn push_invoice(
    tx: &mut Tx,
    s: &mut Session<'_>,
    invoice_id: Uuid,
) -> Result<String, PushError> {
    let (row, done) = begin(tx, s, Kind::Invoice, invoice_id).await?;
    if done {
        return Ok(row.qbo_id.unwrap_or_default());
    }
    let invoice = match invoices::service::get_in(tx, invoice_id).await {
        Ok(invoice) => invoice,
        Err(error) => return finish(tx, &row, Err(local(error))).await,
    };
    if invoice.status == InvoiceStatus::Draft {
        return finish(
            tx,
            &row,
            Err(PushError::Refused(
                "a draft is not pushed; it is when it is sent".into(),
            )),
        )
        .await;
    }
    let customer = match push_customer(tx, s, invoice.client_id).await {
        Ok(id) => id,
        Err(error) => return finish(tx, &row, Err(error.context("its customer"))).await,
    };
    let result: Result<Object, PushError> = async {
        let body = invoice_body(&invoice, &customer);
        let object = match (&row.qbo_id, &row.sync_token) {
            (Some(id), Some(token)) => s.update(Entity::Invoice, id, token, body).await?,
            _ => {
                let created = s.create(Entity::Invoice, &body, &request_id(&row)).await?;
                repo::set_remote(tx, row.id, &created.id, &created.sync_token).await?;
                created
            }
        };
        if invoice.status == InvoiceStatus::Void {
            let voided = s
                .call(&Op::Void {
                    id: &object.id,
                    sync_token: &object.sync_token,
                })
                .await?;
            return Ok(voided);
        }
        Ok(object)
    }
    .await;
    finish(tx, &row, result).await
}

/// A payment as a QuickBooks Payment: the amount applied to the invoice (tips and
/// refunds are not pushed), linked to the invoice; a deposit not yet applied to an
/// issued invoice is an unapplied payment of the customer.
pub fn payment_body(
    payment: &Payment,
    currency: &str,
    customer_id: &str,
    invoice_qbo_id: Option<&str>,
) -> Value {
    let exp = exponent(currency);
    let amount = decimal(payment.amount, exp);
    let mut body = json!({
        "CustomerRef": {"value": customer_id},
        "TotalAmt": amount,
        "TxnDate": payment.paid_at.date_naive().to_string(),
        "PrivateNote": format!("jobber payment {} ({})", payment.id, payment.method.as_str()),
    });
    if let Some(reference) = &payment.reference {
        body["PaymentRefNum"] = json!(reference.chars().take(21).collect::<String>());
    }
    body["Line"] = match invoice_qbo_id {
        Some(id) => json!([{
            "Amount": amount,
            "LinkedTxn": [{"TxnId": id, "TxnType": "Invoice"}],
        }]),
        None => json!([]),
    };
    body
}

async fn push_payment(
    tx: &mut Tx,
    s: &mut Session<'_>,
    payment_id: Uuid,
) -> Result<String, PushError> {
    let (row, done) = begin(tx, s, Kind::Payment, payment_id).await?;
    if done {
        return Ok(row.qbo_id.unwrap_or_default());
    }
    let payment = match invoices::payments::get_in(tx, payment_id).await {
        Ok(payment) => payment,
        Err(error) => return finish(tx, &row, Err(local(error))).await,
    };
    if !matches!(
        payment.status.as_str(),
        "succeeded" | "partially_refunded" | "refunded"
    ) {
        return finish(
            tx,
            &row,
            Err(PushError::Refused(format!(
                "a {} payment is not pushed",
                payment.status
            ))),
        )
        .await;
    }
    let settings = match accounts::service::settings_in(tx).await {
        Ok(settings) => settings,
        Err(error) => return Err(PushError::Internal(anyhow::Error::from(error))),
    };
    // Records are locked in one order by every job: payment, invoice, customer (an
    // invoice's job locks the invoice, then its customer). Pushing the customer
    // before the invoice here deadlocked with the invoice's own job, and the loser
    // waited a minute for its retry.
    let mut invoice_qbo_id = None;
    if let Some(invoice_id) = payment.invoice_id {
        let issued = match invoices::service::get_in(tx, invoice_id).await {
            Ok(invoice) => invoice.status != InvoiceStatus::Draft,
            Err(error) => return finish(tx, &row, Err(local(error))).await,
        };
        if issued {
            match push_invoice(tx, s, invoice_id).await {
                Ok(id) => invoice_qbo_id = Some(id),
                Err(error) => return finish(tx, &row, Err(error.context("its invoice"))).await,
            }
        }
    }
    let customer = match push_customer(tx, s, payment.client_id).await {
        Ok(id) => id,
        Err(error) => return finish(tx, &row, Err(error.context("its customer"))).await,
    };
    let result: Result<Object, PushError> = async {
        let body = payment_body(
            &payment,
            &settings.currency,
            &customer,
            invoice_qbo_id.as_deref(),
        );
        Ok(match (&row.qbo_id, &row.sync_token) {
            (Some(id), Some(token)) => s.update(Entity::Payment, id, token, body).await?,
            _ => s.create(Entity::Payment, &body, &request_id(&row)).await?,
        })
    }
    .await;
    finish(tx, &row, result).await
}
