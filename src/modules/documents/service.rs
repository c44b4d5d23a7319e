//! Render a quote or invoice to PDF, store it, and hand it back.

use bytes::Bytes;
use chrono::{Duration, NaiveDate, Utc};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::layout::{Block, Document, Line, Total};
use super::pdf::{Image, Paper};
use super::{Kind, layout, repo};
use crate::domain::{Address, Currency};
use crate::error::{Error, ErrorCode};
use crate::modules::accounts::model::Settings;
use crate::modules::auth::links;
use crate::modules::auth::token::TokenKeys;
use crate::modules::clients::model::{Client, Property};
use crate::modules::invoices::model::{Invoice, InvoiceStatus, Terms};
use crate::modules::quotes::model::{AdjustmentKind, AppliedTax, Quote};
use crate::modules::quotes::state::QuoteStatus;
use crate::modules::{accounts, clients, invoices, quotes};
use crate::money::{format_minor, percent};
use crate::platform::database::{Db, Tx};
use crate::platform::mailer::Attachment;
use crate::platform::storage::{ObjectKey, Storage};

/// A stored PDF is rendered again after this long even if nothing changed, so the
/// client-hub link printed in it (valid `auth::links::LINK_DAYS`) never runs out.
const MAX_AGE_DAYS: i64 = 30;

/// A PDF of a document, as stored.
#[derive(Debug, Clone)]
pub struct StoredPdf {
    pub key: ObjectKey,
    pub bytes: Bytes,
    /// The document's version it was rendered from.
    pub version: i32,
    /// `invoice-INV-12.pdf`, `quote-Q-3.pdf`.
    pub filename: String,
    /// False when file storage refused it (served anyway, not kept).
    pub stored: bool,
}

/// Who is asking: staff see drafts; a client (through the hub) never does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Viewer {
    Staff,
    Client,
}

/// Where and what to render with: the pieces of `AppState` this module needs.
pub struct Env<'a> {
    pub db: &'a Db,
    pub storage: &'a Storage,
    pub keys: &'a TokenKeys,
    pub public_url: &'a str,
}

impl crate::modules::communications::Pdfs for Env<'_> {
    /// A sent quote's or invoice's PDF for its email (rendered now if the stored one
    /// is stale); `None` when the document is gone.
    fn attachment<'a>(
        &'a self,
        account_id: Uuid,
        about: (&'static str, Uuid),
    ) -> futures_util::future::BoxFuture<'a, anyhow::Result<Option<Attachment>>> {
        Box::pin(async move {
            let (kind, id) = match about {
                ("quote", id) => (Kind::Quote, id),
                ("invoice", id) => (Kind::Invoice, id),
                _ => return Ok(None),
            };
            match current(self, account_id, kind, id, Viewer::Client).await {
                Ok(pdf) => Ok(Some(Attachment {
                    filename: pdf.filename,
                    content_type: "application/pdf".to_string(),
                    bytes: pdf.bytes,
                    content_id: None,
                })),
                Err(error) if error.status() == 404 => {
                    tracing::warn!(?kind, %id, "the document is gone; emailing without its PDF");
                    Ok(None)
                }
                Err(error) => {
                    Err(anyhow::Error::new(error).context("cannot render the PDF to attach"))
                }
            }
        })
    }
}

/// Render the document's PDF now, store it at its §7.1 key and record what it was
/// rendered from. What the `pdf.generation` queue calls when a quote or invoice
/// changes; safe to call again (the stored file and its record are replaced).
pub async fn render_and_store(
    db: &Db,
    storage: &Storage,
    keys: &TokenKeys,
    public_url: &str,
    account_id: Uuid,
    kind: Kind,
    id: Uuid,
) -> Result<StoredPdf, Error> {
    let env = Env {
        db,
        storage,
        keys,
        public_url,
    };
    produce(&env, account_id, kind, id, Viewer::Staff, true).await
}

/// The document's PDF: the stored one when it is current, else rendered and stored.
pub async fn current(
    env: &Env<'_>,
    account_id: Uuid,
    kind: Kind,
    id: Uuid,
    viewer: Viewer,
) -> Result<StoredPdf, Error> {
    produce(env, account_id, kind, id, viewer, false).await
}

#[tracing::instrument(skip(env), fields(kind = ?kind))]
async fn produce(
    env: &Env<'_>,
    account_id: Uuid,
    kind: Kind,
    id: Uuid,
    viewer: Viewer,
    force: bool,
) -> Result<StoredPdf, Error> {
    let mut tx = env.db.tenant(account_id).await?;
    let source = gather(&mut tx, kind, id).await?;
    let existing = repo::get(&mut tx, kind, id).await?;
    tx.commit().await?;
    if viewer == Viewer::Client && source.is_draft() {
        return Err(Error::code(match kind {
            Kind::Quote => ErrorCode::QuoteNotFound,
            Kind::Invoice => ErrorCode::InvoiceNotFound,
        }));
    }
    let key = match kind {
        Kind::Quote => ObjectKey::quote_pdf(account_id, id),
        Kind::Invoice => ObjectKey::invoice_pdf(account_id, id),
    };
    let link =
        (!source.is_draft()).then(|| links::link(env.public_url, env.keys, kind, account_id, id));
    let logo = logo(env.storage, source.settings.logo_key.as_deref()).await;
    let document = source.document(link, logo);
    let fingerprint = fingerprint(&document);
    let filename = source.filename();
    let version = source.version();

    let fresh = existing.as_ref().is_some_and(|row| {
        row.fingerprint == fingerprint
            && row.storage_key == key.as_str()
            && row.rendered_at > Utc::now() - Duration::days(MAX_AGE_DAYS)
    });
    if fresh && !force {
        match env.storage.get(&key).await {
            Ok(Some(bytes)) => {
                return Ok(StoredPdf {
                    key,
                    bytes,
                    version,
                    filename,
                    stored: true,
                });
            }
            Ok(None) => tracing::warn!(key = key.as_str(), "stored PDF missing; rendering it"),
            Err(error) => {
                tracing::warn!(
                    error = format!("{error:#}"),
                    "stored PDF unreadable; rendering it"
                )
            }
        }
    }

    let bytes = Bytes::from(layout::render(&document));
    if let Err(error) = env.storage.put(&key, bytes.clone()).await {
        // The queue retries; someone asking now still gets the document.
        if force {
            return Err(Error::internal(error));
        }
        tracing::error!(
            error = format!("{error:#}"),
            "cannot store the PDF; serving it unstored"
        );
        return Ok(StoredPdf {
            key,
            bytes,
            version,
            filename,
            stored: false,
        });
    }
    let pages = count_pages(&bytes);
    let mut tx = env.db.tenant(account_id).await?;
    repo::upsert(
        &mut tx,
        account_id,
        kind,
        id,
        &repo::NewPdf {
            storage_key: key.as_str(),
            version,
            fingerprint: &fingerprint,
            bytes: i32::try_from(bytes.len()).unwrap_or(i32::MAX),
            pages,
        },
    )
    .await?;
    tx.commit().await?;
    tracing::info!(key = key.as_str(), version, pages, "rendered PDF");
    Ok(StoredPdf {
        key,
        bytes,
        version,
        filename,
        stored: true,
    })
}

/// The account's logo (`logo_key` in settings, a key in file storage), when it is
/// there and an image the PDF can embed; otherwise the document goes without.
async fn logo(storage: &Storage, key: Option<&str>) -> Option<Image> {
    let key = key?;
    let Some(object) = ObjectKey::parse(key) else {
        tracing::warn!(
            key,
            "logo_key is not a valid storage key; printing without a logo"
        );
        return None;
    };
    match storage.get(&object).await {
        Ok(Some(bytes)) => {
            // Inflating and unfiltering a PNG with alpha is CPU work of up to a few
            // tens of milliseconds: not on a request's async thread.
            let image = match tokio::task::spawn_blocking(move || Image::parse(&bytes)).await {
                Ok(image) => image,
                Err(error) => {
                    tracing::error!(key, %error, "reading the logo failed; printing without it");
                    return None;
                }
            };
            if image.is_none() {
                tracing::warn!(
                    key,
                    "the logo is not a JPEG or 8-bit PNG; printing without it"
                );
            }
            image
        }
        Ok(None) => {
            tracing::warn!(key, "the logo file is missing; printing without it");
            None
        }
        Err(error) => {
            tracing::warn!(key, error = format!("{error:#}"), "cannot read the logo");
            None
        }
    }
}

/// Everything printed on a document, read in one tenant transaction.
struct Source {
    settings: Settings,
    client: Client,
    property: Option<Property>,
    doc: Doc,
}

enum Doc {
    Quote(Box<Quote>),
    Invoice(Box<Invoice>),
}

async fn gather(tx: &mut Tx, kind: Kind, id: Uuid) -> Result<Source, Error> {
    let settings = accounts::service::settings_in(tx).await?;
    let doc = match kind {
        Kind::Quote => Doc::Quote(Box::new(
            quotes::service::get_in(tx, id, &settings.currency).await?,
        )),
        Kind::Invoice => Doc::Invoice(Box::new(
            invoices::service::get_with_settings_in(tx, id, &settings).await?,
        )),
    };
    let (client_id, property_id) = match &doc {
        Doc::Quote(q) => (q.client_id, q.property_id),
        Doc::Invoice(i) => (i.client_id, i.property_id),
    };
    let client = clients::service::get_in(tx, client_id).await?;
    let property = match property_id {
        Some(pid) => Some(clients::service::property_in(tx, client_id, pid).await?),
        None => None,
    };
    Ok(Source {
        settings,
        client,
        property,
        doc,
    })
}

impl Source {
    fn is_draft(&self) -> bool {
        match &self.doc {
            Doc::Quote(q) => q.status == QuoteStatus::Draft,
            Doc::Invoice(i) => i.status == InvoiceStatus::Draft,
        }
    }

    fn version(&self) -> i32 {
        match &self.doc {
            Doc::Quote(q) => q.version,
            Doc::Invoice(i) => i.version,
        }
    }

    fn filename(&self) -> String {
        let name = match &self.doc {
            Doc::Quote(q) => format!("quote-{}", q.number),
            Doc::Invoice(i) => format!("invoice-{}", i.number.as_deref().unwrap_or("draft")),
        };
        let safe: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        format!("{safe}.pdf")
    }

    fn document(&self, link: Option<String>, logo: Option<Image>) -> Document {
        let s = &self.settings;
        let money = Money::new(&s.currency);
        let mut business_lines = address_lines(&s.address);
        let contact: Vec<&str> = [s.phone.as_deref(), s.email.as_deref()]
            .into_iter()
            .flatten()
            .collect();
        if !contact.is_empty() {
            business_lines.push(contact.join("  ·  "));
        }
        if let Some(website) = &s.website {
            business_lines.push(website.clone());
        }
        let mut bill_lines = Vec::new();
        if let Some(company) = &self.client.company_name
            && company != &self.client.display_name
        {
            bill_lines.push(company.clone());
        }
        bill_lines.extend(address_lines(&self.client.billing_address));
        if let Some(email) = self
            .client
            .emails
            .iter()
            .find(|e| e.primary)
            .or(self.client.emails.first())
        {
            bill_lines.push(email.address.clone());
        }
        let bill_to = Block {
            label: "Bill to".into(),
            name: self.client.display_name.clone(),
            lines: bill_lines,
        };
        let service_address = self.property.as_ref().map(|p| {
            let mut lines = address_lines(&p.address);
            let name = match &p.name {
                Some(name) => name.clone(),
                None if !lines.is_empty() => lines.remove(0),
                None => String::new(),
            };
            Block {
                label: "Service address".into(),
                name,
                lines,
            }
        });
        let paper = paper_for(&s.locale);
        let mut notes = Vec::new();
        let (heading, facts, title, lines, totals, message, link_words, footer_ref) = match &self
            .doc
        {
            Doc::Quote(q) => {
                let mut facts = vec![("Quote #".to_string(), q.number.clone())];
                let issued = q.sent_at.unwrap_or(q.created_at);
                facts.push(("Date".into(), date(local_date(issued, &s.time_zone))));
                if let Some(valid) = q.valid_until {
                    facts.push(("Valid until".into(), date(valid)));
                }
                let lines = q
                    .lines
                    .iter()
                    .map(|l| Line {
                        name: l.name.clone(),
                        description: l.description.clone(),
                        note: l.optional.then(|| {
                            if l.selected {
                                "(optional, included)".to_string()
                            } else {
                                "(optional, not included)".to_string()
                            }
                        }),
                        muted: l.optional && !l.selected,
                        quantity: l.quantity.to_string(),
                        unit_price: money.text(l.unit_price),
                        total: money.text(l.line_total),
                    })
                    .collect();
                let discount_label = discount_label(q.discount.map(|d| (d.kind, d.value)));
                let mut totals =
                    money.totals(q.subtotal, q.discount_total, &discount_label, &q.taxes);
                totals.push(Total {
                    label: "Total".into(),
                    amount: money.text(q.total),
                    strong: true,
                });
                if q.deposit_amount > 0 {
                    totals.push(Total {
                        label: "Deposit required".into(),
                        amount: money.text(q.deposit_amount),
                        strong: false,
                    });
                }
                if q.lines.iter().any(|l| l.optional) {
                    notes.push(
                        "Optional items are counted in the total only when included.".to_string(),
                    );
                }
                if let Some(valid) = q.valid_until {
                    notes.push(format!("This quote is valid until {}.", date(valid)));
                }
                if q.deposit_amount > 0 {
                    notes.push(format!(
                        "A deposit of {} is due on approval.",
                        money.text(q.deposit_amount)
                    ));
                }
                (
                    "QUOTE",
                    facts,
                    q.title.clone(),
                    lines,
                    totals,
                    q.message.clone(),
                    "Review and approve this quote online",
                    format!("Quote {}", q.number),
                )
            }
            Doc::Invoice(i) => {
                let number = i.number.clone().unwrap_or_else(|| "Draft".into());
                let mut facts = vec![("Invoice #".to_string(), number.clone())];
                if let Some(issued) = i.issue_date {
                    facts.push(("Issued".into(), date(issued)));
                }
                if let Some(due) = i.due_date {
                    facts.push(("Due".into(), date(due)));
                }
                match i.status {
                    InvoiceStatus::Paid => facts.push(("Status".into(), "Paid".into())),
                    InvoiceStatus::Void => facts.push(("Status".into(), "Void".into())),
                    _ if i.past_due => facts.push(("Status".into(), "Past due".into())),
                    _ => {}
                }
                let lines = i
                    .lines
                    .iter()
                    .map(|l| Line {
                        name: l.name.clone(),
                        description: l.description.clone(),
                        note: None,
                        muted: false,
                        quantity: l.quantity.to_string(),
                        unit_price: money.text(l.unit_price),
                        total: money.text(l.line_total),
                    })
                    .collect();
                let discount_label = discount_label(i.discount.map(|d| (d.kind, d.value)));
                let mut totals =
                    money.totals(i.subtotal, i.discount_total, &discount_label, &i.taxes);
                totals.push(Total {
                    label: "Total".into(),
                    amount: money.text(i.total),
                    strong: false,
                });
                totals.push(Total {
                    label: "Amount paid".into(),
                    amount: money.text(i.amount_paid - i.amount_refunded),
                    strong: false,
                });
                totals.push(Total {
                    label: "Balance due".into(),
                    amount: money.text(i.balance),
                    strong: true,
                });
                notes.push(terms_note(i.payment_terms, i.due_date));
                (
                    "INVOICE",
                    facts,
                    i.title.clone(),
                    lines,
                    totals,
                    i.message.clone(),
                    "View and pay this invoice online",
                    format!("Invoice {number}"),
                )
            }
        };
        Document {
            paper,
            heading: heading.into(),
            business_name: s.business_name.clone(),
            logo,
            business_lines,
            facts,
            bill_to,
            service_address,
            title,
            lines,
            totals,
            notes,
            message,
            link: link.map(|url| (link_words.to_string(), url)),
            footer: format!("{}  ·  {footer_ref}", s.business_name),
        }
    }
}

/// A SHA-256 of what is printed, the link aside (it is re-signed on every render),
/// and of this build (a new layout renders again).
fn fingerprint(document: &Document) -> String {
    let mut stable = document.clone();
    stable.link = stable.link.map(|(words, _)| (words, String::new()));
    let mut hasher = Sha256::new();
    hasher.update(env!("CARGO_PKG_VERSION").as_bytes());
    hasher.update(format!("{stable:?}").as_bytes());
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn count_pages(pdf: &[u8]) -> i32 {
    let needle = b"/Type /Page ";
    let count = pdf.windows(needle.len()).filter(|w| w == needle).count();
    i32::try_from(count).unwrap_or(i32::MAX)
}

/// US Letter where it is the custom (the Americas' Letter countries and the
/// Philippines), A4 everywhere else. The region is the locale's second subtag
/// (`en-US`, `es-MX`); a bare language (`en`) gets A4.
pub fn paper_for(locale: &str) -> Paper {
    const LETTER: &[&str] = &[
        "US", "CA", "MX", "PH", "CL", "CO", "VE", "CR", "DO", "GT", "PA", "PR", "SV", "NI", "HN",
        "BZ",
    ];
    let region = locale
        .split(['-', '_'])
        .skip(1)
        .find(|part| part.len() == 2 && part.chars().all(|c| c.is_ascii_alphabetic()))
        .map(str::to_ascii_uppercase);
    match region {
        Some(region) if LETTER.contains(&region.as_str()) => Paper::Letter,
        _ => Paper::A4,
    }
}

/// Amounts as printed: currency symbol where one is unambiguous, digits grouped by
/// thousands, the currency's minor-unit exponent (`$1,234.50`, `¥1,200`,
/// `CHF 1,234.50`).
struct Money {
    prefix: String,
    exponent: u8,
}

impl Money {
    fn new(currency: &str) -> Self {
        let exponent = Currency::parse(currency).map_or(2, |c| c.minor_unit_exponent());
        let prefix = match currency {
            "USD" | "CAD" | "AUD" | "NZD" | "MXN" | "SGD" | "HKD" => "$".to_string(),
            "EUR" => "€".into(),
            "GBP" => "£".into(),
            "JPY" => "¥".into(),
            other => format!("{other} "),
        };
        Money { prefix, exponent }
    }

    fn text(&self, minor: i64) -> String {
        let plain = format_minor(minor, self.exponent);
        let (sign, digits) = match plain.strip_prefix('-') {
            Some(rest) => ("-", rest),
            None => ("", plain.as_str()),
        };
        let (int_part, frac) = match digits.split_once('.') {
            Some((i, f)) => (i, Some(f)),
            None => (digits, None),
        };
        let mut grouped = String::new();
        for (i, c) in int_part.chars().enumerate() {
            if i > 0 && (int_part.len() - i).is_multiple_of(3) {
                grouped.push(',');
            }
            grouped.push(c);
        }
        match frac {
            Some(frac) => format!("{sign}{}{grouped}.{frac}", self.prefix),
            None => format!("{sign}{}{grouped}", self.prefix),
        }
    }

    /// Subtotal, the discount when there is one, and each tax with its rate.
    fn totals(
        &self,
        subtotal: i64,
        discount: i64,
        discount_label: &str,
        taxes: &[AppliedTax],
    ) -> Vec<Total> {
        let mut out = vec![Total {
            label: "Subtotal".into(),
            amount: self.text(subtotal),
            strong: false,
        }];
        if discount != 0 {
            out.push(Total {
                label: discount_label.to_string(),
                amount: format!("-{}", self.text(discount)),
                strong: false,
            });
        }
        for tax in taxes {
            out.push(Total {
                label: tax.label(),
                amount: self.text(tax.amount),
                strong: false,
            });
        }
        out
    }
}

fn discount_label(discount: Option<(AdjustmentKind, i64)>) -> String {
    match discount {
        Some((AdjustmentKind::Percent, bps)) => format!("Discount ({})", percent(bps)),
        _ => "Discount".into(),
    }
}

fn terms_note(terms: Terms, due: Option<NaiveDate>) -> String {
    let name = match terms {
        Terms::DueOnReceipt => "Due on receipt",
        Terms::Net7 => "Net 7",
        Terms::Net15 => "Net 15",
        Terms::Net30 => "Net 30",
        Terms::Net60 => "Net 60",
        Terms::Custom => "Custom",
    };
    match due {
        Some(due) => format!("Payment terms: {name}. Please pay by {}.", date(due)),
        None => format!("Payment terms: {name}."),
    }
}

fn address_lines(address: &Address) -> Vec<String> {
    let mut lines: Vec<String> = [&address.street1, &address.street2]
        .into_iter()
        .flatten()
        .cloned()
        .collect();
    let city: Vec<&str> = [&address.city, &address.region]
        .into_iter()
        .flatten()
        .map(String::as_str)
        .collect();
    let mut city_line = city.join(", ");
    if let Some(postal) = &address.postal_code {
        if !city_line.is_empty() {
            city_line.push(' ');
        }
        city_line.push_str(postal);
    }
    if !city_line.is_empty() {
        lines.push(city_line);
    }
    if let Some(country) = &address.country {
        lines.push(country.clone());
    }
    lines
}

fn date(day: NaiveDate) -> String {
    day.format("%b %-d, %Y").to_string()
}

fn local_date(at: chrono::DateTime<Utc>, time_zone: &str) -> NaiveDate {
    let tz = crate::domain::TimeZone::parse(time_zone).map_or(chrono_tz::UTC, |t| t.0);
    at.with_timezone(&tz).date_naive()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paper_follows_the_locale_region() {
        for letter in ["en-US", "en-CA", "es-MX", "fr-CA", "en-PH", "es_CO"] {
            assert_eq!(paper_for(letter), Paper::Letter, "{letter}");
        }
        for a4 in ["en-GB", "de-DE", "fr-FR", "en", "", "es-ES", "en-AU"] {
            assert_eq!(paper_for(a4), Paper::A4, "{a4}");
        }
    }

    #[test]
    fn money_is_grouped_with_symbols() {
        assert_eq!(Money::new("USD").text(123_456_789), "$1,234,567.89");
        assert_eq!(Money::new("USD").text(-5), "-$0.05");
        assert_eq!(Money::new("EUR").text(100_000), "€1,000.00");
        assert_eq!(Money::new("JPY").text(1200), "¥1,200");
        assert_eq!(Money::new("CHF").text(99), "CHF 0.99");
    }
}

/// The payload of a `pdf.generation` job.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct PdfJob {
    pub kind: Kind,
    pub id: Uuid,
}

/// The in-transaction listener (`app::IN_TRANSACTION`, docs/events.md): a quote or
/// an invoice sent has its PDF rendered in the background, queued in the sending
/// transaction, so it is ready before anyone asks for it.
pub fn on_event<'a>(
    conn: &'a mut sqlx::PgConnection,
    account_id: Uuid,
    event: &'a crate::platform::events::Event,
) -> futures_util::future::BoxFuture<'a, Result<(), sqlx::Error>> {
    use crate::platform::events::Event;
    Box::pin(async move {
        let (kind, id) = match *event {
            Event::QuoteSent { quote_id } => (Kind::Quote, quote_id),
            Event::InvoiceSent { invoice_id } => (Kind::Invoice, invoice_id),
            _ => return Ok(()),
        };
        crate::platform::queue::enqueue(
            conn,
            account_id,
            crate::platform::queue::Queue::PdfGeneration,
            &PdfJob { kind, id },
        )
        .await?;
        Ok(())
    })
}
