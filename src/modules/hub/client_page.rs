//! The client's own hub page (issue 13): everything of one client in one place —
//! their quotes, invoices with what is left to pay, receipts and upcoming visits —
//! reached by a signed link to the client (`/hub/clients/{id}?account=&expires=&sig=`).
//! The page links on to each quote and invoice with links signed to expire with it,
//! so it grants no more, and for no longer, than the link that opened it.
//!
//! Where the link comes from: the quote and invoice hub pages (their context names
//! the client's page), and the office, which can copy or email it
//! (`POST /clients/{id}/hub-link`). Like the rest of the hub this owns no tables.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::pages::{self, HubBusiness, HubClient};
use super::{Kind, LINK_DAYS, LinkParams, Links};
use crate::error::{Error, ErrorCode};
use crate::modules::auth::token::TokenKeys;
use crate::modules::catalog::ItemKind;
use crate::modules::communications::compose::Composer;
use crate::modules::invoices::model::{InvoiceStatus, PaymentMethod};
use crate::modules::jobs::model::{JobStatus, VisitStatus};
use crate::modules::quotes::state::QuoteStatus;
use crate::modules::users::model::Role;
use crate::modules::{accounts, catalog, clients, communications, invoices, jobs, quotes};
use crate::platform::database::Ctx;
use crate::platform::database::Db;
use crate::platform::pagination::PageRequest;
use crate::platform::storage::Storage;

/// How many of each list the page shows (the newest).
const SHOWN: i64 = 100;

/// What a link to a client's page is signed for.
const PURPOSE: &str = crate::modules::auth::links::CLIENT_PAGE;

/// The web app's address of a quote's or invoice's hub page, relative
/// (`/hub/…?account=&expires=&sig=`), signed to expire at `expires` (Unix seconds).
fn path(keys: &TokenKeys, kind: Kind, account_id: Uuid, id: Uuid, expires: i64) -> String {
    let signature = keys.sign_link(kind.as_str(), account_id, id, expires);
    format!(
        "/hub/{}/{id}?account={account_id}&expires={expires}&sig={signature}",
        kind.path()
    )
}

/// The web app's address of the client's page, relative, signed to expire at
/// `expires` (Unix seconds).
pub fn client_path(keys: &TokenKeys, account_id: Uuid, client_id: Uuid, expires: i64) -> String {
    crate::modules::auth::links::client_page_path(keys, account_id, client_id, expires)
}

/// The account a valid link to the client's page opens (as [`super::check`]: a
/// forged link is `404 client_not_found`, an expired one `410 link_expired`).
pub fn check(keys: &TokenKeys, client_id: Uuid, link: &LinkParams) -> Result<Uuid, Error> {
    super::check_signed(keys, PURPOSE, client_id, link)
        .map_err(|e| e.unwrap_or_else(|| Error::code(ErrorCode::ClientNotFound)))
}

/// A quote on the client's page.
#[derive(Debug, Serialize, ToSchema)]
pub struct HubQuoteItem {
    pub id: Uuid,
    pub number: String,
    pub title: String,
    pub status: QuoteStatus,
    /// Minor units.
    pub total: i64,
    pub currency: String,
    pub sent_at: Option<DateTime<Utc>>,
    pub valid_until: Option<NaiveDate>,
    /// The quote's own hub page (approve, ask for changes, PDF).
    pub link: String,
}

/// An invoice on the client's page.
#[derive(Debug, Serialize, ToSchema)]
pub struct HubInvoiceItem {
    pub id: Uuid,
    pub number: Option<String>,
    pub title: String,
    pub status: InvoiceStatus,
    pub past_due: bool,
    pub due_date: Option<NaiveDate>,
    /// Minor units.
    pub total: i64,
    /// What is left to pay, minor units.
    pub balance: i64,
    pub currency: String,
    /// The invoice's own hub page (pay by card, PDF).
    pub link: String,
}

/// A payment the client made: a receipt.
#[derive(Debug, Serialize, ToSchema)]
pub struct HubReceiptItem {
    pub id: Uuid,
    pub paid_at: DateTime<Utc>,
    pub method: PaymentMethod,
    /// `succeeded`, `partially_refunded` or `refunded`.
    pub status: String,
    /// Minor units, applied to the invoice.
    pub amount: i64,
    pub tip: i64,
    pub refunded: i64,
    /// The invoice paid (null for a deposit on a quote).
    pub invoice_number: Option<String>,
    /// The hub page of the invoice paid.
    pub invoice_link: Option<String>,
}

/// A visit booked for the client, from now on.
#[derive(Debug, Serialize, ToSchema)]
pub struct HubVisit {
    pub id: Uuid,
    pub title: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: Option<DateTime<Utc>>,
    /// Any time that day (the day in the business's time zone).
    pub anytime: bool,
    pub status: VisitStatus,
    pub address: Option<String>,
}

/// A service the client can ask for.
#[derive(Debug, Serialize, ToSchema)]
pub struct HubService {
    pub id: Uuid,
    pub name: String,
    pub description: Option<String>,
}

/// A property of the client's, for "request more work".
#[derive(Debug, Serialize, ToSchema)]
pub struct HubProperty {
    pub id: Uuid,
    pub name: Option<String>,
    /// The address on one line.
    pub address: String,
}

/// The client's own page.
#[derive(Debug, Serialize, ToSchema)]
pub struct HubClientPage {
    pub business: HubBusiness,
    pub client: HubClient,
    /// Newest first; drafts and archived quotes are the business's own.
    pub quotes: Vec<HubQuoteItem>,
    /// Newest first; drafts are the business's own.
    pub invoices: Vec<HubInvoiceItem>,
    /// Newest first; payments that did not go through are left out.
    pub receipts: Vec<HubReceiptItem>,
    /// Scheduled visits from now on, soonest first.
    pub visits: Vec<HubVisit>,
    /// The active services of the catalog, for "request more work".
    pub services: Vec<HubService>,
    pub properties: Vec<HubProperty>,
}

/// The lists of the page are read as the business would (the services' listings
/// take a caller); no user is acting, so the nil user id.
fn reader(account_id: Uuid) -> Ctx {
    Ctx {
        account_id,
        user_id: Uuid::nil(),
        role: Role::Owner,
    }
}

/// Everything on the client's page; its links expire at `expires`.
pub async fn page(
    db: &Db,
    storage: &Storage,
    keys: &TokenKeys,
    account_id: Uuid,
    client_id: Uuid,
    expires: i64,
) -> Result<HubClientPage, Error> {
    let context = pages::context_of_client(db, storage, account_id, client_id).await?;
    let ctx = reader(account_id);
    let first = PageRequest {
        limit: SHOWN,
        after: None,
    };
    let link = |kind, id| path(keys, kind, account_id, id, expires);
    let quotes = quotes::service::list(db, &ctx, &[], Some(client_id), first)
        .await?
        .items
        .into_iter()
        .filter(|q| !matches!(q.status, QuoteStatus::Draft | QuoteStatus::Archived))
        .map(|q| HubQuoteItem {
            link: link(Kind::Quote, q.id),
            id: q.id,
            number: q.number,
            title: q.title,
            status: q.status,
            total: q.total,
            currency: q.currency,
            sent_at: q.sent_at,
            valid_until: q.valid_until,
        })
        .collect();
    let invoices: Vec<HubInvoiceItem> = invoices::service::list(
        db,
        &ctx,
        invoices::service::ListFilter::client(client_id),
        first,
    )
    .await?
    .items
    .into_iter()
    .filter(|i| i.status != InvoiceStatus::Draft)
    .map(|i| HubInvoiceItem {
        link: link(Kind::Invoice, i.id),
        id: i.id,
        number: i.number,
        title: i.title,
        status: i.status,
        past_due: i.past_due,
        due_date: i.due_date,
        total: i.total,
        balance: i.balance,
        currency: i.currency,
    })
    .collect();
    let receipts = invoices::payments::list_for_client(db, &ctx, client_id, first)
        .await?
        .items
        .into_iter()
        .filter(|p| {
            matches!(
                p.status.as_str(),
                "succeeded" | "partially_refunded" | "refunded"
            )
        })
        .map(|p| {
            let invoice = p
                .invoice_id
                .and_then(|id| invoices.iter().find(|i| i.id == id));
            HubReceiptItem {
                id: p.id,
                paid_at: p.paid_at,
                method: p.method,
                status: p.status,
                amount: p.amount,
                tip: p.tip,
                refunded: p.refunded,
                invoice_number: invoice.and_then(|i| i.number.clone()),
                invoice_link: invoice.map(|i| i.link.clone()),
            }
        })
        .collect();
    let now = Utc::now();
    let mut visits: Vec<HubVisit> = jobs::service::list(
        db,
        &ctx,
        Some(JobStatus::Active),
        Some(client_id),
        None,
        false,
        first,
    )
    .await?
    .items
    .into_iter()
    .flat_map(|job| job.visits)
    .filter(|v| matches!(v.status, VisitStatus::Scheduled | VisitStatus::InProgress))
    .filter_map(|v| {
        let starts_at = v.starts_at?;
        // An any-time visit is upcoming for the whole of its day.
        let until = v.ends_at.unwrap_or(starts_at + Duration::days(1));
        (until >= now).then_some(HubVisit {
            id: v.id,
            title: v.title,
            starts_at,
            ends_at: v.ends_at,
            anytime: v.anytime,
            status: v.status,
            address: v.address,
        })
    })
    .collect();
    visits.sort_by_key(|v| v.starts_at);
    visits.truncate(SHOWN as usize);
    let mut tx = db.tenant(account_id).await?;
    let services = catalog::service::active_in(&mut tx, 200)
        .await?
        .into_iter()
        .filter(|item| item.kind == ItemKind::Service)
        .map(|item| HubService {
            id: item.id,
            name: item.name,
            description: item.description,
        })
        .collect();
    let properties = clients::service::properties_in(&mut tx, client_id)
        .await?
        .into_iter()
        .map(|p| HubProperty {
            id: p.id,
            name: p.name,
            address: p.address.one_line(),
        })
        .collect();
    tx.commit().await?;
    Ok(HubClientPage {
        business: context.business,
        client: context.client,
        quotes,
        invoices,
        receipts,
        visits,
        services,
        properties,
    })
}

/// `POST /clients/{id}/hub-link`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HubLinkInput {
    /// Also email the link to the client's primary address.
    #[serde(default)]
    pub email: bool,
}

/// A link to a client's hub page.
#[derive(Debug, Serialize, ToSchema)]
pub struct HubLink {
    /// The full address (the server's public URL).
    pub url: String,
    pub expires_at: DateTime<Utc>,
    /// The queued email's id when `email` was asked.
    pub message_id: Option<Uuid>,
}

/// A fresh link to the client's page, valid [`LINK_DAYS`] days; emailed to the
/// client when asked.
pub async fn office_link(
    db: &Db,
    keys: &TokenKeys,
    public_url: &str,
    ctx: &Ctx,
    client_id: Uuid,
    input: HubLinkInput,
) -> Result<HubLink, Error> {
    let expires_at = Utc::now() + Duration::days(LINK_DAYS);
    let url = format!(
        "{public_url}{}",
        client_path(keys, ctx.account_id, client_id, expires_at.timestamp())
    );
    let mut tx = db.tenant(ctx.account_id).await?;
    let client = clients::service::get_in(&mut tx, client_id).await?;
    let message_id = if input.email {
        let to = client.email_to(None)?;
        let settings = accounts::service::settings_in(&mut tx).await?;
        let mut c = Composer::new(&settings);
        c.greet(&client.display_name);
        c.paragraph(&format!(
            "Here is your page with {}: your quotes and invoices, your receipts and your \
             upcoming visits, in one place. From there you can also ask us for more work.",
            settings.business_name
        ));
        c.action("To see it, open", "Open my page", &url);
        c.paragraph(&format!(
            "The link works for {LINK_DAYS} days. Keep it to yourself: it opens your page without a password."
        ));
        c.sign();
        let content = c.finish(format!("Your page with {}", settings.business_name));
        let email = communications::OutgoingEmail {
            client_id: Some(client_id),
            template: "client_hub_link",
            to,
            content,
            about: Some(("client", client_id)),
        };
        Some(
            communications::queue_email_in(&mut tx, ctx.account_id, Some(ctx.user_id), &email)
                .await?,
        )
    } else {
        None
    };
    tx.commit().await?;
    Ok(HubLink {
        url,
        expires_at: DateTime::from_timestamp(expires_at.timestamp(), 0).unwrap_or(expires_at),
        message_id,
    })
}

/// `POST /hub/client-links`: the client page of an expired (or damaged) link.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientResendInput {
    /// The client of the link.
    pub id: Uuid,
    pub account: Uuid,
}

/// Email a fresh link to the client's page to their address on file; as
/// `POST /hub/links`, it says nothing about what it found and sends at most one
/// such email per client every 5 minutes.
pub async fn resend(db: &Db, links: Links<'_>, input: ClientResendInput) -> Result<(), Error> {
    let mut tx = db.tenant(input.account).await?;
    let Ok(client) = clients::service::get_in(&mut tx, input.id).await else {
        return Ok(());
    };
    let about = ("client", client.id);
    if communications::email_sent_recently_in(&mut tx, "hub_link", about, pages::RESEND_EVERY)
        .await?
    {
        return Ok(());
    }
    let Ok(to) = client.email_to(None) else {
        return Ok(());
    };
    let settings = accounts::service::settings_in(&mut tx).await?;
    let expires = (Utc::now() + Duration::days(LINK_DAYS)).timestamp();
    let link = format!(
        "{}{}",
        links.public_url,
        client_path(links.keys, input.account, client.id, expires)
    );
    let content = communications::templates::hub_link(
        &settings,
        &client.display_name,
        &format!("your page with {}", settings.business_name),
        &link,
    );
    let email = communications::OutgoingEmail {
        client_id: Some(client.id),
        template: "hub_link",
        to,
        content,
        about: Some(about),
    };
    communications::queue_email_in(&mut tx, input.account, None, &email).await?;
    tx.commit().await?;
    Ok(())
}
