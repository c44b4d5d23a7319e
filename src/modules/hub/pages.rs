//! What the client hub's pages need beyond the record itself: the business's
//! branding, the client's name and text-message choice, card payments for the
//! invoice's balance, and a fresh link in place of an expired one. Like the rest
//! of the hub it owns no tables: every change goes through the owning module.

use std::time::Duration;

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{Kind, Links};
use crate::error::{Error, ErrorCode};
use crate::modules::activity::{self, Subject};
use crate::modules::auth::token::TokenKeys;
use crate::modules::clients::model::Client;
use crate::modules::invoices::model::{Invoice, Payment, PaymentInput, PaymentMethod};
use crate::modules::invoices::payments::{self as invoice_payments, Target};
use crate::modules::payments::service::{self as gateway_service, Gateway};
use crate::modules::{accounts, clients, communications, invoices, quotes};
use crate::platform::database::Db;
use crate::platform::storage::{ObjectKey, Storage};

/// At most one fresh-link email per record in this time, however often it is asked.
pub const RESEND_EVERY: Duration = Duration::from_secs(5 * 60);

/// The largest drawn signature accepted (a PNG of a phone-sized pad is ~20 kB).
pub const MAX_SIGNATURE_BYTES: usize = 300 * 1024;

/// The business, as its client hub shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct HubBusiness {
    pub name: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub website: Option<String>,
    /// `#RRGGBB`, the accent of the page (as in the business's emails).
    pub brand_color: String,
    /// The logo, a download address valid 15 minutes; null without a logo.
    pub logo_url: Option<String>,
    /// ISO 4217 code of every amount.
    pub currency: String,
    /// BCP 47 locale for numbers and dates, e.g. `en-US`.
    pub locale: String,
    /// IANA time zone of the business.
    pub time_zone: String,
}

/// A phone of the client's, shown by its last digits only.
#[derive(Debug, Serialize, ToSchema)]
pub struct HubPhone {
    /// The last four digits.
    pub last4: String,
    pub label: Option<String>,
    /// The client agreed to text messages on this number.
    pub sms_opt_in: bool,
}

/// The client, as they see themselves in the hub.
#[derive(Debug, Serialize, ToSchema)]
pub struct HubClient {
    pub name: String,
    pub phones: Vec<HubPhone>,
}

/// Everything around the record on a hub page.
#[derive(Debug, Serialize, ToSchema)]
pub struct HubContext {
    pub business: HubBusiness,
    pub client: HubClient,
    /// The Stripe publishable key the card form loads Stripe's Payment Element
    /// with; null when the business takes no cards online.
    pub stripe_publishable_key: Option<String>,
    /// The client's own hub page (all their quotes, invoices, receipts and visits):
    /// an address relative to the web app, signed like the link of this page and
    /// expiring with it. Null on that page itself.
    pub client_page: Option<String>,
}

fn last4(number: &str) -> String {
    let digits: Vec<char> = number.chars().filter(char::is_ascii_digit).collect();
    digits[digits.len().saturating_sub(4)..].iter().collect()
}

fn hub_client(client: &Client) -> HubClient {
    HubClient {
        name: client.display_name.clone(),
        phones: client
            .phones
            .iter()
            .map(|p| HubPhone {
                last4: last4(&p.number),
                label: p.label.clone(),
                sms_opt_in: p.sms_opt_in,
            })
            .collect(),
    }
}

/// The client a record belongs to (drafts are not shown in the hub: 404).
async fn client_of(db: &Db, kind: Kind, account_id: Uuid, id: Uuid) -> Result<Uuid, Error> {
    Ok(match kind {
        Kind::Quote => {
            quotes::service::get_for(
                db,
                quotes::service::Actor {
                    account_id,
                    user_id: None,
                },
                id,
            )
            .await?
            .client_id
        }
        Kind::Invoice => {
            invoices::service::get_for_client(db, account_id, id)
                .await?
                .client_id
        }
    })
}

/// The page around a quote or invoice, with the address of the client's own page
/// (signed to expire with the link that opened this one).
pub async fn context(
    db: &Db,
    storage: &Storage,
    keys: &TokenKeys,
    kind: Kind,
    account_id: Uuid,
    id: Uuid,
    expires: i64,
) -> Result<HubContext, Error> {
    let client_id = client_of(db, kind, account_id, id).await?;
    let mut context = context_of_client(db, storage, account_id, client_id).await?;
    context.client_page = Some(super::client_page::client_path(
        keys, account_id, client_id, expires,
    ));
    Ok(context)
}

/// The business behind a link, for the page of an expired one: who it is and how
/// to reach it, nothing about the record or the client.
pub async fn business(db: &Db, storage: &Storage, account_id: Uuid) -> Result<HubBusiness, Error> {
    let mut tx = db.tenant(account_id).await?;
    let settings = accounts::service::settings_in(&mut tx).await?;
    tx.commit().await?;
    Ok(business_of(storage, settings).await)
}

async fn business_of(storage: &Storage, settings: accounts::model::Settings) -> HubBusiness {
    let logo_url = match settings.logo_key.as_deref().and_then(ObjectKey::parse) {
        Some(key) => storage
            .signed_url(&key, crate::platform::storage::SIGNED_URL_TTL)
            .await
            .map_err(|e| tracing::warn!(error = %e, "the logo's address could not be signed"))
            .ok(),
        None => None,
    };
    HubBusiness {
        name: settings.business_name,
        phone: settings.phone,
        email: settings.email,
        website: settings.website,
        brand_color: settings.brand_color,
        logo_url,
        currency: settings.currency,
        locale: settings.locale,
        time_zone: settings.time_zone,
    }
}

/// The business and the client, as every hub page shows them.
pub async fn context_of_client(
    db: &Db,
    storage: &Storage,
    account_id: Uuid,
    client_id: Uuid,
) -> Result<HubContext, Error> {
    let mut tx = db.tenant(account_id).await?;
    let settings = accounts::service::settings_in(&mut tx).await?;
    let client = clients::service::get_in(&mut tx, client_id).await?;
    let stripe_publishable_key = gateway_service::publishable_key_in(&mut tx).await?;
    tx.commit().await?;
    Ok(HubContext {
        business: business_of(storage, settings).await,
        client: hub_client(&client),
        stripe_publishable_key,
        client_page: None,
    })
}

/// `PUT /hub/…/sms`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SmsChoice {
    /// Texts (visit reminders, "on my way") to the client's phones: yes or no.
    pub opt_in: bool,
}

/// The client turns text messages on or off for all their phones; the office
/// sees it in the client's activity.
pub async fn set_sms(
    db: &Db,
    kind: Kind,
    account_id: Uuid,
    id: Uuid,
    choice: SmsChoice,
) -> Result<HubClient, Error> {
    let client_id = client_of(db, kind, account_id, id).await?;
    set_sms_of_client(db, account_id, client_id, choice).await
}

/// [`set_sms`] for the client of the link.
pub async fn set_sms_of_client(
    db: &Db,
    account_id: Uuid,
    client_id: Uuid,
    choice: SmsChoice,
) -> Result<HubClient, Error> {
    let mut tx = db.tenant(account_id).await?;
    let client = clients::service::get_in(&mut tx, client_id).await?;
    let mut changed = false;
    for phone in &client.phones {
        if let Some(e164) = crate::domain::e164(&phone.number) {
            changed |=
                clients::service::set_sms_opt_in_in(&mut tx, client_id, &e164, choice.opt_in)
                    .await?;
        }
    }
    if changed {
        activity::service::record(
            &mut tx,
            account_id,
            None,
            Subject::Client(client_id),
            "sms_opt_in_changed",
            serde_json::json!({"sms_opt_in": choice.opt_in, "by": "the client, in the client hub"}),
        )
        .await?;
    }
    let client = clients::service::get_in(&mut tx, client_id).await?;
    tx.commit().await?;
    Ok(hub_client(&client))
}

/// `POST /hub/quotes/{id}/preview`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChoiceInput {
    /// The optional lines the client ticked.
    #[serde(default)]
    pub selected_optional_line_ids: Vec<Uuid>,
}

/// `POST /hub/quotes/{id}/approve`: the approval, with an optional drawn signature.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HubApproveInput {
    /// The name the client typed as their signature.
    pub signature_name: String,
    /// The optional lines the client chose.
    #[serde(default)]
    pub selected_optional_line_ids: Vec<Uuid>,
    pub version: Option<i32>,
    /// The signature drawn on the screen: a PNG, base64 (a `data:image/png;base64,`
    /// prefix is accepted), at most 300 kB.
    pub signature_png: Option<String>,
}

fn decode_png(text: &str) -> Result<Bytes, Error> {
    use base64::Engine as _;
    let data = text.strip_prefix("data:image/png;base64,").unwrap_or(text);
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(data.trim())
        .map_err(|_| Error::field("signature_png", "is not base64"))?;
    if bytes.len() > MAX_SIGNATURE_BYTES {
        return Err(Error::field("signature_png", "is larger than 300 kB"));
    }
    if !bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Err(Error::field("signature_png", "is not a PNG image"));
    }
    Ok(Bytes::from(bytes))
}

/// Approve in the hub. A drawn signature is stored beside the quote's PDF and
/// named in the quote's activity (so the office sees who signed and how).
pub async fn approve(
    db: &Db,
    storage: &Storage,
    account_id: Uuid,
    id: Uuid,
    input: HubApproveInput,
    ip: String,
) -> Result<quotes::model::Quote, Error> {
    let png = input.signature_png.as_deref().map(decode_png).transpose()?;
    let name = input.signature_name.trim().to_string();
    let quote = quotes::service::approve_by_client(
        db,
        account_id,
        id,
        quotes::service::ApproveInput {
            signature_name: input.signature_name,
            selected_optional_line_ids: input.selected_optional_line_ids,
            version: input.version,
        },
        ip,
    )
    .await?;
    if let Some(png) = png {
        let key = ObjectKey::quote_signature(account_id, id);
        storage.put(&key, png).await?;
        let mut tx = db.tenant(account_id).await?;
        activity::service::record(
            &mut tx,
            account_id,
            None,
            Subject::Quote {
                id,
                client_id: quote.client_id,
            },
            "signature_drawn",
            serde_json::json!({"file": key.as_str(), "signature_name": name}),
        )
        .await?;
        tx.commit().await?;
    }
    Ok(quote)
}

/// `POST /hub/invoices/{id}/payments`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HubPayInput {
    /// Minor units; the whole balance when left out.
    pub amount: Option<i64>,
}

/// A card payment started in the hub: what the page's Stripe form needs.
#[derive(Debug, Serialize, ToSchema)]
pub struct HubCardPayment {
    pub payment_id: Uuid,
    /// Confirms the PaymentIntent in the payer's browser (Stripe.js).
    pub client_secret: String,
    pub publishable_key: String,
    /// Minor units.
    pub amount: i64,
    pub currency: String,
}

/// Start paying the invoice by card: a PaymentIntent for the balance (or `amount`)
/// through the same code as the office's card payments. The balance changes when
/// Stripe says the payment succeeded (webhook, or [`payment`] asking Stripe).
pub async fn pay(
    db: &Db,
    gateway: &Gateway,
    account_id: Uuid,
    id: Uuid,
    input: HubPayInput,
) -> Result<HubCardPayment, Error> {
    let invoice = invoices::service::get_for_client(db, account_id, id).await?;
    let amount = input.amount.unwrap_or(invoice.balance);
    let mut tx = db.tenant(account_id).await?;
    let publishable_key = gateway_service::publishable_key_in(&mut tx).await?;
    let Some(publishable_key) = publishable_key else {
        return Err(Error::new(
            ErrorCode::StripeNotConfigured,
            "this business does not take card payments online; contact them to pay",
        ));
    };
    // A payment started before (a reload, a second tap, Stripe.js that did not load)
    // is continued while Stripe still waits for the card: one PaymentIntent, not two.
    let open = invoice_payments::pending_card_in(&mut tx, id, amount).await?;
    let keys = match open {
        Some(_) => Some(gateway_service::keys_in(&mut tx, &gateway.secrets, account_id).await?),
        None => None,
    };
    tx.commit().await?;
    if let (Some(open), Some(keys)) = (open, keys)
        && let Some(intent_id) = open.stripe_payment_intent_id.as_deref()
    {
        let intent = gateway
            .stripe
            .retrieve_payment_intent(&keys.secret_key, intent_id)
            .await
            .map_err(gateway_service::provider_error)?;
        let waiting = matches!(
            intent.get("status").and_then(|s| s.as_str()),
            Some("requires_payment_method" | "requires_confirmation" | "requires_action")
        );
        if let Some(client_secret) = intent.get("client_secret").and_then(|s| s.as_str())
            && waiting
        {
            return Ok(HubCardPayment {
                payment_id: open.id,
                client_secret: client_secret.to_string(),
                publishable_key,
                amount,
                currency: invoice.currency,
            });
        }
    }
    let receipt = invoice_payments::start_card_as(
        db,
        gateway,
        account_id,
        None,
        Target::Invoice(id),
        PaymentInput {
            invoice_id: Some(id),
            quote_id: None,
            method: PaymentMethod::Card,
            amount,
            tip: 0,
            reference: None,
            note: Some("Paid in the client hub".into()),
            paid_at: None,
            send_receipt: false,
        },
    )
    .await?;
    let client_secret = receipt
        .client_secret
        .ok_or_else(|| Error::internal(anyhow::anyhow!("Stripe returned no client secret")))?;
    Ok(HubCardPayment {
        payment_id: receipt.payment.id,
        client_secret,
        publishable_key,
        amount,
        currency: invoice.currency,
    })
}

/// A payment of the invoice and the invoice after it: the receipt page.
#[derive(Debug, Serialize, ToSchema)]
pub struct HubReceipt {
    pub payment: Payment,
    pub invoice: Invoice,
}

/// A hub payment as it stands, asking Stripe first while it is pending (so the
/// receipt shows even when Stripe's webhook is late or lost).
pub async fn payment(
    db: &Db,
    gateway: &Gateway,
    account_id: Uuid,
    id: Uuid,
    payment_id: Uuid,
) -> Result<HubReceipt, Error> {
    let not_found = || Error::code(ErrorCode::PaymentNotFound);
    let mut tx = db.tenant(account_id).await?;
    let found = invoice_payments::get_in(&mut tx, payment_id).await;
    tx.commit().await?;
    let payment = found.map_err(|_| not_found())?;
    if payment.invoice_id != Some(id) {
        return Err(not_found());
    }
    if payment.status == "pending" {
        crate::modules::invoices::cards::reconcile(db, gateway, account_id, payment_id).await?;
    }
    let mut tx = db.tenant(account_id).await?;
    let payment = invoice_payments::get_in(&mut tx, payment_id).await?;
    tx.commit().await?;
    let invoice = invoices::service::get_for_client(db, account_id, id).await?;
    Ok(HubReceipt { payment, invoice })
}

/// `POST /hub/links`: the record of an expired (or damaged) link.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResendInput {
    pub kind: Kind,
    pub id: Uuid,
    pub account: Uuid,
}

/// Email a fresh link to the client's address on file. Says nothing about what
/// it found: an unknown record, a client without an email and a request within
/// [`RESEND_EVERY`] of the last one all end quietly, as a sent email does.
pub async fn resend(db: &Db, links: Links<'_>, input: ResendInput) -> Result<(), Error> {
    let (kind, account_id, id) = (input.kind, input.account, input.id);
    let client_id = match client_of(db, kind, account_id, id).await {
        Ok(client_id) => client_id,
        Err(_) => return Ok(()),
    };
    let mut tx = db.tenant(account_id).await?;
    let about = (kind.as_str(), id);
    if communications::email_sent_recently_in(&mut tx, "hub_link", about, RESEND_EVERY).await? {
        tracing::info!(%id, "a fresh hub link was sent recently; not again");
        return Ok(());
    }
    let settings = accounts::service::settings_in(&mut tx).await?;
    let client = clients::service::get_in(&mut tx, client_id).await?;
    let Ok(to) = client.email_to(None) else {
        return Ok(());
    };
    let what = match kind {
        Kind::Quote => "your quote",
        Kind::Invoice => "your invoice",
    };
    let link = links.link(kind, account_id, id);
    let content = communications::templates::hub_link(&settings, &client.display_name, what, &link);
    let email = communications::OutgoingEmail {
        client_id: Some(client.id),
        template: "hub_link",
        to,
        content,
        about: Some(about),
    };
    communications::queue_email_in(&mut tx, account_id, None, &email).await?;
    tx.commit().await?;
    Ok(())
}
