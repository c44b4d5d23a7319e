//! Payments: recorded by hand, or by card through Stripe; against an invoice or, as a
//! deposit, against a quote; refunds. An invoice's balance changes only here and in
//! the same transaction as the payment row, with the invoice row locked, and never
//! goes below zero.
//!
//! A card payment is `pending` until Stripe's signed webhook says it succeeded: only
//! then does the invoice's balance change. While pending it holds its part of the
//! balance, so two card payments cannot both take the last of it.

use chrono::{DateTime, Utc};
use futures_util::future::BoxFuture;
use sqlx::PgConnection;
use uuid::Uuid;

use super::model::{Invoice, InvoiceStatus, Payment, PaymentInput, PaymentMethod};
use super::repo::{self, NewPayment};
use super::service::{load, lock, status_of};
use crate::error::{Error, ErrorCode, FieldError};
use crate::integrations::stripe::NewPaymentIntent;
use crate::modules::activity::{self, Subject};
use crate::modules::auth::links::{self, Links};
use crate::modules::payments::service::{self as gateway_service, Gateway, provider_error};
use crate::modules::{accounts, clients, communications, quotes};
use crate::money::MAX_AMOUNT;
use crate::platform::database::Ctx;
use crate::platform::database::{Db, Tx};
use crate::platform::events::{Event, Listener};
use crate::platform::pagination::{Page, PageRequest};

/// What a payment is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Invoice(Uuid),
    /// A deposit on a quote.
    Quote(Uuid),
}

impl Target {
    /// From `invoice_id` / `quote_id`: exactly one.
    pub fn of(input: &PaymentInput) -> Result<Self, Error> {
        match (input.invoice_id, input.quote_id) {
            (Some(id), None) => Ok(Target::Invoice(id)),
            (None, Some(id)) => Ok(Target::Quote(id)),
            (Some(_), Some(_)) => Err(Error::field(
                "quote_id",
                "give invoice_id or quote_id, not both",
            )),
            (None, None) => Err(Error::field(
                "invoice_id",
                "is required (or quote_id for a deposit)",
            )),
        }
    }

    fn ids(self) -> (Option<Uuid>, Option<Uuid>) {
        match self {
            Target::Invoice(id) => (Some(id), None),
            Target::Quote(id) => (None, Some(id)),
        }
    }
}

/// A payment with the invoice it changed (none for a deposit not yet applied) and,
/// for a card payment, the client secret that completes it.
pub struct Receipt {
    pub payment: Payment,
    pub invoice: Option<Invoice>,
    pub client_secret: Option<String>,
}

struct Checked {
    amount: i64,
    tip: i64,
    reference: Option<String>,
    note: Option<String>,
    paid_at: DateTime<Utc>,
}

fn check(input: &PaymentInput) -> Result<Checked, Error> {
    let mut errors = Vec::new();
    if input.amount <= 0 {
        errors.push(FieldError::new("amount", "must be positive (minor units)"));
    } else if input.amount > MAX_AMOUNT {
        // The balance bounds it too; this is the per-document maximum (money.rs).
        errors.push(FieldError::new(
            "amount",
            format!("must be at most {MAX_AMOUNT} minor units"),
        ));
    }
    if !(0..=MAX_AMOUNT).contains(&input.tip) {
        errors.push(FieldError::new(
            "tip",
            format!("must be between 0 and {MAX_AMOUNT} minor units"),
        ));
    }
    let reference =
        crate::domain::optional_text(input.reference.as_deref(), 200).unwrap_or_else(|m| {
            errors.push(FieldError::new("reference", m));
            None
        });
    let note = crate::domain::optional_text(input.note.as_deref(), 2000).unwrap_or_else(|m| {
        errors.push(FieldError::new("note", m));
        None
    });
    let paid_at: DateTime<Utc> = input.paid_at.unwrap_or_else(Utc::now);
    if paid_at > Utc::now() + chrono::Duration::minutes(5) {
        errors.push(FieldError::new("paid_at", "must not be in the future"));
    }
    if !errors.is_empty() {
        return Err(Error::invalid(errors));
    }
    Ok(Checked {
        amount: input.amount,
        tip: input.tip,
        reference,
        note,
        paid_at,
    })
}

/// The locked target: its client, what may still be paid on it, and the subject of
/// its activity.
struct Open {
    client_id: Uuid,
    available: i64,
    subject: Subject,
}

async fn lock_target(tx: &mut Tx, target: Target, hold_pending: bool) -> Result<Open, Error> {
    match target {
        Target::Invoice(id) => {
            let row = lock(tx, id, None).await?;
            let status = status_of(&row)?;
            if !status.is_open() {
                let hint = if status == InvoiceStatus::Draft {
                    "; send it first"
                } else {
                    ""
                };
                return Err(Error::new(
                    ErrorCode::InvalidTransition,
                    format!(
                        "payments can be recorded on sent invoices, not on a {} one{hint}",
                        status.as_str()
                    ),
                ));
            }
            let mut available = row.total - row.amount_paid + row.amount_refunded;
            if hold_pending {
                available -= repo::pending_total(tx, Some(id), None).await?;
            }
            Ok(Open {
                client_id: row.client_id,
                available,
                subject: Subject::Invoice {
                    id,
                    client_id: row.client_id,
                },
            })
        }
        Target::Quote(id) => {
            let (client_id, total) = quotes::service::lock_for_deposit_in(tx, id).await?;
            let mut available = total - repo::deposits_received(tx, id).await?;
            if hold_pending {
                available -= repo::pending_total(tx, None, Some(id)).await?;
            }
            Ok(Open {
                client_id,
                available,
                subject: Subject::Quote { id, client_id },
            })
        }
    }
}

fn over_balance(available: i64, target: Target) -> Error {
    let what = match target {
        Target::Invoice(_) => "the balance",
        Target::Quote(_) => "what is left of the quote's total",
    };
    Error::field(
        "amount",
        format!(
            "is more than {what} ({}) less card payments still pending; overpayments are refused",
            available.max(0)
        ),
    )
}

async fn finish(
    tx: &mut Tx,
    payment_id: Uuid,
    target: Target,
) -> Result<(Payment, Option<Invoice>), Error> {
    let payment = repo::payment(tx, payment_id)
        .await?
        .ok_or_else(|| Error::internal(anyhow::anyhow!("payment vanished")))?;
    let invoice = match payment.invoice_id.or(match target {
        Target::Invoice(id) => Some(id),
        Target::Quote(_) => None,
    }) {
        Some(id) => {
            let settings = accounts::service::settings_in(tx).await?;
            Some(load(tx, id, &settings).await?)
        }
        None => None,
    };
    Ok((payment, invoice))
}

/// Record a payment made outside jobber (cash, check, bank transfer, a card terminal,
/// other). On an invoice its balance and status change in the same transaction; on a
/// quote it is a deposit, applied to the invoice later made from the quote's job.
#[tracing::instrument(skip_all, fields(account_id = %ctx.account_id, target = ?target))]
pub async fn record(
    db: &Db,
    links: Links<'_>,
    ctx: &Ctx,
    target: Target,
    input: PaymentInput,
) -> Result<Receipt, Error> {
    let checked = check(&input)?;
    let mut tx = db.tenant(ctx.account_id).await?;
    let open = lock_target(&mut tx, target, false).await?;
    if checked.amount > open.available {
        return Err(over_balance(open.available, target));
    }
    let payment_id = Uuid::now_v7();
    let (invoice_id, quote_id) = target.ids();
    repo::insert_payment(
        &mut tx,
        ctx.account_id,
        &NewPayment {
            id: payment_id,
            invoice_id,
            quote_id,
            client_id: open.client_id,
            method: input.method,
            status: "succeeded",
            amount: checked.amount,
            tip: checked.tip,
            reference: checked.reference.as_deref(),
            note: checked.note.as_deref(),
            stripe_payment_intent_id: None,
            paid_at: checked.paid_at,
            created_by: Some(ctx.user_id),
        },
    )
    .await?;
    if let Target::Invoice(id) = target {
        let next = if checked.amount == open.available {
            InvoiceStatus::Paid
        } else {
            InvoiceStatus::PartiallyPaid
        };
        repo::apply_payment(&mut tx, id, checked.amount, next.as_str()).await?;
        super::service::raise_if_paid(&mut tx, id).await?;
    }
    activity::service::record(
        &mut tx,
        ctx.account_id,
        Some(ctx.user_id),
        open.subject,
        if quote_id.is_some() { "deposit_recorded" } else { "payment_recorded" },
        serde_json::json!({"payment_id": payment_id, "amount": checked.amount, "tip": checked.tip, "method": input.method.as_str()}),
    )
    .await?;
    tx.raise(Event::PaymentRecorded { payment_id });
    if input.send_receipt {
        let sent = queue_receipt_in(
            &mut tx,
            links,
            ctx.account_id,
            Some(ctx.user_id),
            payment_id,
            None,
        )
        .await?;
        if sent.is_none() {
            return Err(Error::field(
                "send_receipt",
                "the client has no email address to send a receipt to",
            ));
        }
    }
    let (payment, invoice) = finish(&mut tx, payment_id, target).await?;
    tx.commit().await?;
    Ok(Receipt {
        payment,
        invoice,
        client_secret: None,
    })
}

/// Start a card payment: a Stripe PaymentIntent for amount + tip, a `pending`
/// payment, and the client secret the payer's browser confirms it with. The balance
/// changes only when Stripe's webhook reports success.
///
/// Stripe's idempotency key is the payment's id: a request to Stripe retried after a
/// lost answer returns the same intent. (A retry of the API request itself is
/// answered by the `Idempotency-Key` middleware with the first response.)
pub async fn start_card(
    db: &Db,
    gateway: &Gateway,
    ctx: &Ctx,
    target: Target,
    input: PaymentInput,
) -> Result<Receipt, Error> {
    start_card_as(
        db,
        gateway,
        ctx.account_id,
        Some(ctx.user_id),
        target,
        input,
    )
    .await
}

/// [`start_card`] for staff (`user_id`) or for the client paying in the client hub
/// (`user_id` None).
#[tracing::instrument(skip_all, fields(%account_id, target = ?target))]
pub async fn start_card_as(
    db: &Db,
    gateway: &Gateway,
    account_id: Uuid,
    user_id: Option<Uuid>,
    target: Target,
    input: PaymentInput,
) -> Result<Receipt, Error> {
    let checked = check(&input)?;
    if input.paid_at.is_some() {
        return Err(Error::field(
            "paid_at",
            "is set by Stripe for card payments; leave it out",
        ));
    }
    let mut tx = db.tenant(account_id).await?;
    let keys = gateway_service::keys_in(&mut tx, &gateway.secrets, account_id).await?;
    let open = lock_target(&mut tx, target, true).await?;
    if checked.amount > open.available {
        return Err(over_balance(open.available, target));
    }
    let settings = accounts::service::settings_in(&mut tx).await?;
    let payment_id = Uuid::now_v7();
    let (invoice_id, quote_id) = target.ids();
    let mut metadata = vec![
        ("account_id", account_id.to_string()),
        ("payment_id", payment_id.to_string()),
    ];
    if let Some(id) = invoice_id {
        metadata.push(("invoice_id", id.to_string()));
    }
    if let Some(id) = quote_id {
        metadata.push(("quote_id", id.to_string()));
    }
    let idempotency_key = format!("jobber-payment-{payment_id}");
    // Stripe is called with the invoice row locked: a concurrent card payment waits
    // and then sees this one pending.
    let intent = gateway
        .stripe
        .create_payment_intent(
            &keys.secret_key,
            &idempotency_key,
            &NewPaymentIntent {
                amount: checked.amount + checked.tip,
                currency: &settings.currency.to_lowercase(),
                metadata: &metadata,
            },
        )
        .await
        .map_err(provider_error)?;
    repo::insert_payment(
        &mut tx,
        account_id,
        &NewPayment {
            id: payment_id,
            invoice_id,
            quote_id,
            client_id: open.client_id,
            method: PaymentMethod::Card,
            status: "pending",
            amount: checked.amount,
            tip: checked.tip,
            reference: checked.reference.as_deref(),
            note: checked.note.as_deref(),
            stripe_payment_intent_id: Some(&intent.id),
            paid_at: Utc::now(),
            created_by: user_id,
        },
    )
    .await?;
    gateway_service::register_intent_in(&mut tx, account_id, &intent.id, payment_id).await?;
    activity::service::record(
        &mut tx,
        account_id,
        user_id,
        open.subject,
        "card_payment_started",
        serde_json::json!({"payment_id": payment_id, "amount": checked.amount, "tip": checked.tip, "payment_intent": intent.id}),
    )
    .await?;
    tx.raise(Event::PaymentStarted { payment_id });
    let (payment, invoice) = finish(&mut tx, payment_id, target).await?;
    tx.commit().await?;
    Ok(Receipt {
        payment,
        invoice,
        client_secret: intent.client_secret,
    })
}

/// The payment, inside the caller's transaction (QuickBooks sync reads it).
pub async fn get_in(tx: &mut Tx, id: Uuid) -> Result<Payment, Error> {
    repo::payment(tx, id)
        .await?
        .ok_or(Error::code(ErrorCode::PaymentNotFound))
}

pub async fn get(db: &Db, ctx: &Ctx, id: Uuid) -> Result<Payment, Error> {
    let mut tx = db.tenant(ctx.account_id).await?;
    let payment = repo::payment(&mut tx, id)
        .await?
        .ok_or(Error::code(ErrorCode::PaymentNotFound))?;
    tx.commit().await?;
    Ok(payment)
}

/// A pending card payment of exactly `amount` on the invoice, if one is open (the
/// client hub continues it instead of starting a second one that the first would
/// block).
pub async fn pending_card_in(
    tx: &mut Tx,
    invoice_id: Uuid,
    amount: i64,
) -> Result<Option<Payment>, Error> {
    for id in repo::invoice_payment_ids(tx, invoice_id).await? {
        if let Some(payment) = repo::payment(tx, id).await?
            && payment.method == PaymentMethod::Card
            && payment.status == "pending"
            && payment.amount == amount
            && payment.tip == 0
            && payment.stripe_payment_intent_id.is_some()
        {
            return Ok(Some(payment));
        }
    }
    Ok(None)
}

/// The payments applied to an invoice, oldest first (404 for no such invoice).
pub async fn list_for_invoice(db: &Db, ctx: &Ctx, invoice_id: Uuid) -> Result<Vec<Payment>, Error> {
    let mut tx = db.tenant(ctx.account_id).await?;
    repo::get(&mut tx, invoice_id, false)
        .await?
        .ok_or(Error::code(ErrorCode::InvoiceNotFound))?;
    let mut payments = Vec::new();
    for id in repo::invoice_payment_ids(&mut tx, invoice_id).await? {
        if let Some(payment) = repo::payment(&mut tx, id).await? {
            payments.push(payment);
        }
    }
    tx.commit().await?;
    Ok(payments)
}

/// A client's payments, newest first.
pub async fn list_for_client(
    db: &Db,
    ctx: &Ctx,
    client_id: Uuid,
    page: PageRequest,
) -> Result<Page<Payment>, Error> {
    let mut tx = db.tenant(ctx.account_id).await?;
    let rows = repo::client_payments(&mut tx, client_id, page.after, page.fetch_limit()).await?;
    tx.commit().await?;
    Ok(Page::from_rows(rows, page, |p| p.id))
}

#[derive(Debug, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReceiptInput {
    /// Another address than the client's.
    pub to: Option<String>,
}

/// Email (again) the receipt of a succeeded payment. Returns the message's id.
#[tracing::instrument(skip_all, fields(account_id = %ctx.account_id, payment_id = %id))]
pub async fn send_receipt(
    db: &Db,
    links: Links<'_>,
    ctx: &Ctx,
    id: Uuid,
    input: ReceiptInput,
) -> Result<Uuid, Error> {
    let mut tx = db.tenant(ctx.account_id).await?;
    let payment = get_in(&mut tx, id).await?;
    if !matches!(
        payment.status.as_str(),
        "succeeded" | "partially_refunded" | "refunded"
    ) {
        return Err(Error::new(
            ErrorCode::InvalidTransition,
            format!("a {} payment has no receipt", payment.status),
        ));
    }
    let message_id = queue_receipt_in(
        &mut tx,
        links,
        ctx.account_id,
        Some(ctx.user_id),
        id,
        input.to.as_deref(),
    )
    .await?
    .ok_or_else(|| Error::field("to", "the client has no email address; give one"))?;
    tx.commit().await?;
    Ok(message_id)
}

#[derive(Debug, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefundInput {
    /// Minor units; omitted: whatever is left of the payment.
    pub amount: Option<i64>,
    pub reason: Option<String>,
}

/// Refund all or part of a payment. A card payment taken through jobber is refunded
/// through Stripe first (and nothing is recorded if Stripe refuses); other payments
/// are returned outside jobber and only recorded. The invoice's balance grows by the
/// refund.
#[tracing::instrument(skip_all, fields(account_id = %ctx.account_id, payment_id = %id))]
pub async fn refund(
    db: &Db,
    gateway: &Gateway,
    ctx: &Ctx,
    id: Uuid,
    input: RefundInput,
) -> Result<Receipt, Error> {
    let reason = crate::domain::optional_text(input.reason.as_deref(), 2000)
        .map_err(|m| Error::field("reason", m))?;
    let mut tx = db.tenant(ctx.account_id).await?;
    let locked = repo::lock_payment(&mut tx, id)
        .await?
        .ok_or(Error::code(ErrorCode::PaymentNotFound))?;
    if !matches!(locked.status.as_str(), "succeeded" | "partially_refunded") {
        return Err(Error::new(
            ErrorCode::InvalidTransition,
            format!("a {} payment cannot be refunded", locked.status),
        ));
    }
    let refundable = locked.amount - locked.refunded;
    let amount = input.amount.unwrap_or(refundable);
    if amount <= 0 || amount > refundable {
        return Err(Error::field(
            "amount",
            format!("must be between 1 and {refundable}, what is left of the payment"),
        ));
    }
    if let Some(invoice_id) = locked.invoice_id {
        lock(&mut tx, invoice_id, None).await?;
    }
    let mut stripe_refund = None;
    if let Some(intent) = &locked.stripe_payment_intent_id {
        let keys = gateway_service::keys_in(&mut tx, &gateway.secrets, ctx.account_id).await?;
        // Same payment, same state, same amount: the same key, so a retry after a
        // lost answer does not refund twice. The payment row is locked meanwhile, so
        // the charge.refunded webhook of this refund waits and then finds it recorded.
        let refund = gateway
            .stripe
            .create_refund(
                &keys.secret_key,
                &format!("jobber-refund-{id}-{}-{amount}", locked.refunded),
                intent,
                amount,
            )
            .await
            .map_err(provider_error)?;
        stripe_refund = Some(refund.id);
    }
    repo::refund_payment(&mut tx, id, amount).await?;
    if let Some(invoice_id) = locked.invoice_id {
        repo::apply_refund(&mut tx, invoice_id, amount).await?;
    }
    let subject = match (locked.invoice_id, locked.quote_id) {
        (Some(invoice_id), _) => Subject::Invoice {
            id: invoice_id,
            client_id: locked.client_id,
        },
        (None, Some(quote_id)) => Subject::Quote {
            id: quote_id,
            client_id: locked.client_id,
        },
        (None, None) => Subject::Client(locked.client_id),
    };
    activity::service::record(
        &mut tx,
        ctx.account_id,
        Some(ctx.user_id),
        subject,
        "payment_refunded",
        serde_json::json!({"payment_id": id, "amount": amount, "reason": reason, "stripe_refund": stripe_refund}),
    )
    .await?;
    tx.raise(Event::PaymentRefunded { payment_id: id });
    let target = match locked.invoice_id {
        Some(invoice_id) => Target::Invoice(invoice_id),
        None => Target::Quote(locked.quote_id.unwrap_or_default()),
    };
    let (payment, invoice) = finish(&mut tx, id, target).await?;
    tx.commit().await?;
    Ok(Receipt {
        payment,
        invoice,
        client_secret: None,
    })
}

/// What applying a succeeded card payment left over.
pub struct CardOutcome {
    /// More than the balance arrived: this part must go back to the card.
    pub excess: i64,
}

/// Stripe reports a card payment succeeded (webhook): the payment succeeds, with the
/// fee Stripe kept, and the invoice's balance and status follow by the same rules as
/// a recorded payment. A repeated report changes nothing.
pub async fn card_succeeded_in(
    tx: &mut Tx,
    account_id: Uuid,
    payment_id: Uuid,
    charged: i64,
    fee: i64,
) -> Result<CardOutcome, Error> {
    let Some(locked) = repo::lock_payment(tx, payment_id).await? else {
        return Ok(CardOutcome { excess: 0 });
    };
    // A failed attempt may be followed by a successful one on the same intent.
    if !matches!(locked.status.as_str(), "pending" | "failed") {
        return Ok(CardOutcome { excess: 0 });
    }
    let payment = repo::payment(tx, payment_id)
        .await?
        .ok_or_else(|| Error::internal(anyhow::anyhow!("payment vanished")))?;
    if charged != 0 && charged != payment.amount + payment.tip {
        tracing::warn!(%payment_id, charged, expected = payment.amount + payment.tip, "stripe charged another amount than asked");
    }
    let mut excess = 0;
    let subject;
    match locked.invoice_id {
        Some(invoice_id) => {
            let row = lock(tx, invoice_id, None).await?;
            let status = status_of(&row)?;
            let balance = row.total - row.amount_paid + row.amount_refunded;
            excess = if status.is_open() {
                (locked.amount - balance).max(0)
            } else {
                locked.amount
            };
            repo::mark_payment_succeeded(tx, payment_id, fee, excess).await?;
            repo::apply_card_payment(tx, invoice_id, locked.amount, excess).await?;
            super::service::raise_if_paid(tx, invoice_id).await?;
            subject = Subject::Invoice {
                id: invoice_id,
                client_id: locked.client_id,
            };
        }
        None => {
            repo::mark_payment_succeeded(tx, payment_id, fee, 0).await?;
            subject = Subject::Quote {
                id: locked.quote_id.unwrap_or_default(),
                client_id: locked.client_id,
            };
        }
    }
    if excess > 0 {
        tracing::warn!(%payment_id, excess, "card payment above the balance; refunding the excess");
    }
    activity::service::record(
        tx,
        account_id,
        None,
        subject,
        "card_payment_succeeded",
        serde_json::json!({"payment_id": payment_id, "amount": locked.amount, "tip": payment.tip, "fee": fee, "refunded_excess": excess}),
    )
    .await?;
    // The payer's receipt follows from the event (`Receipts`): a repeated report
    // returned above, so it is raised, and the receipt sent, once.
    tx.raise(Event::PaymentSucceeded { payment_id });
    Ok(CardOutcome { excess })
}

/// How a payment method reads in a receipt.
fn method_name(method: PaymentMethod) -> &'static str {
    match method {
        PaymentMethod::Cash => "Cash",
        PaymentMethod::Check => "Check",
        PaymentMethod::BankTransfer => "Bank transfer",
        PaymentMethod::Card => "Card",
        PaymentMethod::Other => "Other",
    }
}

/// Queue the payment's receipt in the caller's transaction (a service's `Tx`, or the
/// [`Receipts`] listener's connection), to `to` or else the client's email address;
/// None (nothing queued) when there is neither. The receipt links to the invoice in
/// the client hub.
pub async fn queue_receipt_in(
    tx: &mut PgConnection,
    links: Links<'_>,
    account_id: Uuid,
    actor: Option<Uuid>,
    payment_id: Uuid,
    to: Option<&str>,
) -> Result<Option<Uuid>, Error> {
    let payment = repo::payment(tx, payment_id)
        .await?
        .ok_or(Error::code(ErrorCode::PaymentNotFound))?;
    let client = clients::service::get_on(tx, payment.client_id)
        .await?
        .ok_or(Error::code(ErrorCode::ClientNotFound))?;
    let to = match (to, client.email_to(to)) {
        (_, Ok(to)) => to,
        (Some(_), Err(bad)) => return Err(bad),
        (None, Err(_)) => return Ok(None),
    };
    let settings = accounts::service::settings_on(tx).await?;
    let invoice = match payment.invoice_id {
        Some(id) => Some(load(tx, id, &settings).await?),
        None => None,
    };
    let quote = match (&invoice, payment.quote_id) {
        (None, Some(id)) => Some(quotes::service::get_on(tx, id, &settings.currency).await?),
        _ => None,
    };
    let paid_on = payment
        .paid_at
        .with_timezone(&crate::modules::jobs::service::zone(&settings))
        .date_naive();
    let facts = super::emails::ReceiptFacts {
        amount: payment.amount,
        tip: payment.tip,
        method: method_name(payment.method),
        reference: payment.reference.as_deref(),
        paid_on,
        invoice: invoice.as_ref().map(|i| {
            (
                i.number.as_deref().unwrap_or_default(),
                i.title.as_str(),
                i.balance,
            )
        }),
        quote: quote
            .as_ref()
            .map(|q| (q.number.as_str(), q.title.as_str())),
    };
    let link = invoice
        .as_ref()
        .map(|i| links.link(links::Kind::Invoice, account_id, i.id));
    let content = super::emails::payment_receipt(&settings, &client, &facts, link.as_deref());
    let email = communications::OutgoingEmail {
        client_id: Some(client.id),
        template: "payment_receipt",
        to,
        content,
        about: Some(("payment", payment_id)),
    };
    let message_id = communications::queue_email_in(tx, account_id, actor, &email).await?;
    Ok(Some(message_id))
}

/// The in-transaction listener that emails the payer a receipt when an online card
/// payment succeeds (`payment.succeeded`, raised once per payment: Stripe's webhook
/// and the reconciliation settle a payment only from `pending`). Nothing is sent to a
/// client without an email address. A payment recorded by the office sends its
/// receipt only when the user asks (`send_receipt`), as part of that command.
pub struct Receipts(pub links::Signer);

impl Listener for Receipts {
    fn on_event<'a>(
        &'a self,
        conn: &'a mut PgConnection,
        account_id: Uuid,
        event: &'a Event,
    ) -> BoxFuture<'a, Result<(), sqlx::Error>> {
        Box::pin(async move {
            let Event::PaymentSucceeded { payment_id } = event else {
                return Ok(());
            };
            queue_receipt_in(conn, self.0.links(), account_id, None, *payment_id, None)
                .await
                .map_err(Error::into_database)?;
            Ok(())
        })
    }
}

/// Stripe reports a card payment failed: the payment fails, nothing else changes.
pub async fn card_failed_in(
    tx: &mut Tx,
    account_id: Uuid,
    payment_id: Uuid,
    message: Option<&str>,
) -> Result<(), Error> {
    let note =
        message.map(|m| format!("Card declined: {}", m.chars().take(500).collect::<String>()));
    fail_pending(
        tx,
        account_id,
        payment_id,
        note.as_deref(),
        "card_payment_failed",
        serde_json::json!({"payment_id": payment_id, "message": message}),
    )
    .await
}

/// A card payment that will never complete (cancelled at Stripe, or expired): it
/// fails with `note`, releasing the part of the balance it held.
pub async fn card_abandoned_in(
    tx: &mut Tx,
    account_id: Uuid,
    payment_id: Uuid,
    note: &str,
) -> Result<(), Error> {
    fail_pending(
        tx,
        account_id,
        payment_id,
        Some(note),
        "card_payment_abandoned",
        serde_json::json!({"payment_id": payment_id, "reason": note}),
    )
    .await
}

async fn fail_pending(
    tx: &mut Tx,
    account_id: Uuid,
    payment_id: Uuid,
    note: Option<&str>,
    action: &str,
    data: serde_json::Value,
) -> Result<(), Error> {
    let Some(locked) = repo::lock_payment(tx, payment_id).await? else {
        return Ok(());
    };
    if locked.status != "pending" {
        return Ok(());
    }
    repo::mark_payment_failed(tx, payment_id, note).await?;
    let subject = match locked.invoice_id {
        Some(id) => Subject::Invoice {
            id,
            client_id: locked.client_id,
        },
        None => Subject::Quote {
            id: locked.quote_id.unwrap_or_default(),
            client_id: locked.client_id,
        },
    };
    activity::service::record(tx, account_id, None, subject, action, data).await?;
    tx.raise(Event::PaymentFailed { payment_id });
    Ok(())
}

/// Card payments still pending that were started before `cutoff`.
pub async fn pending_card_payments_before(
    tx: &mut Tx,
    cutoff: DateTime<Utc>,
) -> Result<Vec<Uuid>, Error> {
    Ok(repo::pending_card_payments_before(tx, cutoff).await?)
}

/// Stripe reports a charge's refunds (`charge.refunded`, with the total refunded so
/// far): a refund made outside jobber (Stripe's dashboard) is recorded; one jobber
/// made is already recorded and changes nothing.
pub async fn card_refunded_in(
    tx: &mut Tx,
    account_id: Uuid,
    payment_id: Uuid,
    refunded_at_stripe: i64,
) -> Result<(), Error> {
    let Some(locked) = repo::lock_payment(tx, payment_id).await? else {
        return Ok(());
    };
    if !matches!(locked.status.as_str(), "succeeded" | "partially_refunded") {
        return Ok(());
    }
    // Tips are on top of the amount; the balance knows only the amount.
    let missing = refunded_at_stripe.min(locked.amount) - locked.refunded;
    if missing <= 0 {
        return Ok(());
    }
    if let Some(invoice_id) = locked.invoice_id {
        lock(tx, invoice_id, None).await?;
    }
    repo::refund_payment(tx, payment_id, missing).await?;
    let subject = match locked.invoice_id {
        Some(invoice_id) => {
            repo::apply_refund(tx, invoice_id, missing).await?;
            Subject::Invoice {
                id: invoice_id,
                client_id: locked.client_id,
            }
        }
        None => Subject::Quote {
            id: locked.quote_id.unwrap_or_default(),
            client_id: locked.client_id,
        },
    };
    activity::service::record(
        tx,
        account_id,
        None,
        subject,
        "payment_refunded",
        serde_json::json!({"payment_id": payment_id, "amount": missing, "source": "stripe"}),
    )
    .await?;
    tx.raise(Event::PaymentRefunded { payment_id });
    Ok(())
}

/// Apply a quote's received deposits to a new invoice (in its creating transaction),
/// oldest first, as far as they fit in its total; the rest waits for the next one.
pub async fn apply_deposits_in(
    tx: &mut Tx,
    quote_id: Uuid,
    invoice_id: Uuid,
    total: i64,
) -> Result<i64, Error> {
    let mut applied = 0;
    let mut paid = 0;
    let mut refunded = 0;
    for deposit in repo::unapplied_deposits(tx, quote_id).await? {
        let net = deposit.amount - deposit.refunded;
        if applied + net > total {
            continue;
        }
        repo::attach_payment(tx, deposit.id, invoice_id).await?;
        applied += net;
        paid += deposit.amount;
        refunded += deposit.refunded;
    }
    if paid > 0 {
        repo::add_prepaid(tx, invoice_id, paid, refunded).await?;
    }
    Ok(applied)
}
