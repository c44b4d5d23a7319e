//! The words of client messages: emails (composed as text and branded HTML by
//! `compose`) and texts.

use super::compose::{Composer, Line, Rendered};
use crate::domain::Currency;
use crate::modules::accounts::model::Settings;
use crate::modules::clients::model::Client;
use crate::modules::quotes::model::Quote;
use crate::money::format_minor;

/// `USD 1,234.50`-style amounts without locale grouping: `USD 1234.50`.
pub fn amount(settings: &Settings, minor: i64) -> String {
    let exponent = Currency::parse(&settings.currency).map_or(2, |c| c.minor_unit_exponent());
    format!("{} {}", settings.currency, format_minor(minor, exponent))
}

/// 825 basis points -> `8.25%`, 1000 -> `10%`.
pub fn percent(bps: i64) -> String {
    let text = format_minor(bps, 2);
    let text = text.trim_end_matches('0').trim_end_matches('.');
    format!("{text}%")
}

pub fn quote_sent(
    settings: &Settings,
    client: &Client,
    quote: &Quote,
    note: Option<&str>,
    link: &str,
) -> Rendered {
    let subject = format!(
        "Quote {} from {}: {}",
        quote.number, settings.business_name, quote.title
    );
    let mut c = Composer::new(settings);
    c.greet(&client.display_name);
    match note.or(quote.message.as_deref()) {
        Some(text) => c.paragraph(text),
        None => c.paragraph(&format!("Here is our quote for {}.", quote.title)),
    };
    let mut facts = vec![format!("Quote {}: {}", quote.number, quote.title)];
    if let Some(valid_until) = quote.valid_until {
        facts.push(format!("Valid until {valid_until}"));
    }
    c.facts(&facts);
    let lines = quote.lines.iter().map(|l| Line {
        name: &l.name,
        optional: l.optional,
        quantity: l.quantity.to_string(),
        unit_price: amount(settings, l.unit_price),
        total: amount(settings, l.line_total),
        description: l.description.as_deref(),
    });
    let mut notes = Vec::new();
    if quote.lines.iter().any(|l| l.optional) {
        notes.push(
            "Optional items are not included in the total; choose them when you approve."
                .to_string(),
        );
    }
    if quote.deposit_amount > 0 {
        notes.push(format!(
            "Deposit required: {}",
            amount(settings, quote.deposit_amount)
        ));
    }
    let totals = totals(
        settings,
        quote.subtotal,
        quote.discount_total,
        &quote.taxes,
        quote.total,
    );
    c.lines_and_totals(lines, &totals, &notes);
    c.paragraph("The quote is attached as a PDF.");
    c.action("Review and approve your quote", "Review and approve", link);
    c.sign();
    c.finish(subject)
}

pub fn invoice_sent(
    settings: &Settings,
    client: &Client,
    invoice: &crate::modules::invoices::model::Invoice,
    link: &str,
) -> Rendered {
    let number = invoice.number.as_deref().unwrap_or("(draft)");
    let subject = format!(
        "Invoice {number} from {}: {}",
        settings.business_name, invoice.title
    );
    let mut c = Composer::new(settings);
    c.greet(&client.display_name);
    match invoice.message.as_deref() {
        Some(text) => c.paragraph(text),
        None => c.paragraph(&format!("Here is your invoice for {}.", invoice.title)),
    };
    let mut facts = vec![format!("Invoice {number}: {}", invoice.title)];
    if let (Some(issued), Some(due)) = (invoice.issue_date, invoice.due_date) {
        facts.push(format!("Issued {issued}, due {due}"));
    }
    c.facts(&facts);
    let lines = invoice.lines.iter().map(|l| Line {
        name: &l.name,
        optional: false,
        quantity: l.quantity.to_string(),
        unit_price: amount(settings, l.unit_price),
        total: amount(settings, l.line_total),
        description: l.description.as_deref(),
    });
    let mut totals = totals(
        settings,
        invoice.subtotal,
        invoice.discount_total,
        &invoice.taxes,
        invoice.total,
    );
    if invoice.amount_paid > 0 {
        totals.push((
            "Paid".to_string(),
            amount(settings, invoice.amount_paid - invoice.amount_refunded),
        ));
    }
    totals.push(("Balance due".to_string(), amount(settings, invoice.balance)));
    c.lines_and_totals(lines, &totals, &[]);
    c.paragraph("The invoice is attached as a PDF.");
    c.action("View and pay your invoice", "View and pay", link);
    c.sign();
    c.finish(subject)
}

/// What a payment receipt says.
pub struct ReceiptFacts<'a> {
    pub amount: i64,
    pub tip: i64,
    /// `card`, `cash`, `check`, ... as the client reads it.
    pub method: &'a str,
    pub reference: Option<&'a str>,
    pub paid_on: chrono::NaiveDate,
    /// The invoice paid (number, title, balance left), or None for a deposit.
    pub invoice: Option<(&'a str, &'a str, i64)>,
    /// The quote a deposit was paid on (number, title).
    pub quote: Option<(&'a str, &'a str)>,
}

/// The receipt for a payment.
pub fn payment_receipt(
    settings: &Settings,
    client: &Client,
    receipt: &ReceiptFacts<'_>,
    link: Option<&str>,
) -> Rendered {
    let paid = amount(settings, receipt.amount + receipt.tip);
    let subject = match (receipt.invoice, receipt.quote) {
        (Some((number, _, _)), _) => format!(
            "Receipt from {}: {paid} for invoice {number}",
            settings.business_name
        ),
        (None, Some((number, _))) => format!(
            "Receipt from {}: {paid} deposit for quote {number}",
            settings.business_name
        ),
        (None, None) => format!("Receipt from {}: {paid}", settings.business_name),
    };
    let mut c = Composer::new(settings);
    c.greet(&client.display_name);
    c.paragraph(&format!("Thank you for your payment of {paid}."));
    let mut facts = vec![format!("Payment received: {paid}")];
    facts.push(format!("Date: {}", receipt.paid_on));
    facts.push(format!("Method: {}", receipt.method));
    if let Some(reference) = receipt.reference {
        facts.push(format!("Reference: {reference}"));
    }
    if receipt.tip > 0 {
        facts.push(format!("Of which tip: {}", amount(settings, receipt.tip)));
    }
    match (receipt.invoice, receipt.quote) {
        (Some((number, title, balance)), _) => {
            facts.push(format!("Invoice {number}: {title}"));
            facts.push(format!("Balance due: {}", amount(settings, balance)));
        }
        (None, Some((number, title))) => {
            facts.push(format!("Deposit on quote {number}: {title}"));
        }
        (None, None) => {}
    }
    c.facts(&facts);
    if let Some(link) = link {
        c.action("Your invoice", "View invoice", link);
    }
    c.sign();
    c.finish(subject)
}

/// The "on my way" text. Short: one SMS segment when names are short.
pub fn on_my_way(
    settings: &Settings,
    client: &Client,
    technician: Option<&str>,
    eta_minutes: Option<u32>,
) -> String {
    let greeting = client.first_name.as_deref().unwrap_or(&client.display_name);
    let who = technician.map_or_else(
        || "Your technician".to_string(),
        |name| name.split_whitespace().next().unwrap_or(name).to_string(),
    );
    let mut text = format!(
        "Hi {greeting}, {who} from {} is on the way",
        settings.business_name
    );
    match eta_minutes {
        Some(minutes) => text.push_str(&format!(" and should arrive in about {minutes} min.")),
        None => text.push('.'),
    }
    if let Some(phone) = settings.phone.as_deref() {
        text.push_str(&format!(" Questions? Call {phone}."));
    }
    text.push_str(" Reply STOP to opt out.");
    text
}

/// When a visit is, in the business's time zone: `Wednesday, 1 July 2026 at 09:00`
/// (`… (any time)` for an anytime visit).
pub fn visit_when(
    settings: &Settings,
    starts_at: chrono::DateTime<chrono::Utc>,
    anytime: bool,
) -> String {
    let tz = crate::domain::TimeZone::parse(&settings.time_zone).map_or(chrono_tz::UTC, |t| t.0);
    let local = starts_at.with_timezone(&tz);
    if anytime {
        format!("{} (any time)", local.format("%A, %-d %B %Y"))
    } else {
        local.format("%A, %-d %B %Y at %H:%M").to_string()
    }
}

/// The visit reminder email.
pub fn visit_reminder(
    settings: &Settings,
    client: &Client,
    visit: &crate::modules::jobs::model::Visit,
    when: &str,
) -> Rendered {
    let subject = format!(
        "Reminder: {} from {}, {when}",
        visit.title, settings.business_name
    );
    let mut c = Composer::new(settings);
    c.greet(&client.display_name);
    c.paragraph(&format!(
        "This is a reminder of your upcoming visit from {}.",
        settings.business_name
    ));
    let mut facts = vec![visit.title.clone(), format!("When: {when}")];
    if let Some(address) = &visit.address {
        facts.push(format!("Where: {address}"));
    }
    c.facts(&facts);
    c.paragraph("Need to change it? Reply to this email or call us.");
    c.sign();
    c.finish(subject)
}

/// The visit reminder text.
pub fn visit_reminder_sms(settings: &Settings, visit_title: &str, when: &str) -> String {
    let mut text = format!(
        "Reminder from {}: {visit_title}, {when}.",
        settings.business_name
    );
    if let Some(phone) = settings.phone.as_deref() {
        text.push_str(&format!(" To change it call {phone}."));
    }
    text.push_str(" Reply STOP to opt out.");
    text
}

/// The overdue-invoice follow-up email.
pub fn invoice_overdue(
    settings: &Settings,
    client: &Client,
    invoice: &crate::modules::invoices::model::Invoice,
    days_late: i64,
    link: &str,
) -> Rendered {
    let number = invoice.number.as_deref().unwrap_or_default();
    let subject = format!(
        "Reminder: invoice {number} from {} is overdue",
        settings.business_name
    );
    let due = invoice.due_date.map(|d| d.to_string()).unwrap_or_default();
    let mut c = Composer::new(settings);
    c.greet(&client.display_name);
    c.paragraph(&format!(
        "Invoice {number} ({}) was due on {due}, {days_late} day{} ago, and has a balance of {}.",
        invoice.title,
        if days_late == 1 { "" } else { "s" },
        amount(settings, invoice.balance)
    ));
    c.action("View and pay your invoice", "View and pay", link);
    c.paragraph("If you have already paid, thank you, and please ignore this reminder.");
    c.sign();
    c.finish(subject)
}

/// Subtotal, discount, each tax and the total, as `(label, amount)`.
fn totals(
    settings: &Settings,
    subtotal: i64,
    discount: i64,
    taxes: &[crate::modules::quotes::model::AppliedTax],
    total: i64,
) -> Vec<(String, String)> {
    let mut rows = vec![("Subtotal".to_string(), amount(settings, subtotal))];
    if discount != 0 {
        rows.push((
            "Discount".to_string(),
            format!("-{}", amount(settings, discount)),
        ));
    }
    for tax in taxes {
        rows.push((tax.label(), amount(settings, tax.amount)));
    }
    rows.push(("Total".to_string(), amount(settings, total)));
    rows
}

/// A password-reset email to a team member.
pub fn password_reset(settings: &Settings, name: &str, link: &str, minutes: i64) -> Rendered {
    let subject = format!("Reset your {} password", settings.business_name);
    let mut c = Composer::new(settings);
    c.greet(name);
    c.paragraph(&format!(
        "Someone asked to reset the password of your {} login.",
        settings.business_name
    ));
    c.action("To choose a new one, open", "Choose a new password", link);
    c.paragraph(&format!(
        "The link works once, for {minutes} minutes. If you did not ask, ignore this email: your password stays as it is."
    ));
    c.finish(subject)
}

/// A fresh client-hub link, asked for from the page of an expired one.
pub fn hub_link(settings: &Settings, name: &str, what: &str, link: &str) -> Rendered {
    let subject = format!("Your link to {what} from {}", settings.business_name);
    let mut c = Composer::new(settings);
    c.greet(name);
    c.paragraph(&format!(
        "Here is a fresh link to {what}. The one you opened had expired."
    ));
    c.action("To see it, open", "Open", link);
    c.paragraph("If you did not ask for this email, you can ignore it.");
    c.sign();
    c.finish(subject)
}

/// An invitation to join the business's team.
pub fn invitation(
    settings: &Settings,
    inviter: &str,
    name: &str,
    role: &str,
    link: &str,
    days: i64,
) -> Rendered {
    let subject = format!(
        "{inviter} invited you to {} on jobber",
        settings.business_name
    );
    let mut c = Composer::new(settings);
    c.greet(name);
    c.paragraph(&format!(
        "{inviter} invited you to join {} as {role}.",
        settings.business_name
    ));
    c.action(
        "To accept, choose your password at",
        "Accept the invitation",
        link,
    );
    c.paragraph(&format!("The invitation works for {days} days."));
    c.sign();
    c.finish(subject)
}

#[cfg(test)]
mod tests {
    #[test]
    fn percents() {
        assert_eq!(super::percent(825), "8.25%");
        assert_eq!(super::percent(1000), "10%");
        assert_eq!(super::percent(1050), "10.5%");
        assert_eq!(super::percent(0), "0%");
    }
}
