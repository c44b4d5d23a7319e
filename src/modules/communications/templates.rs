//! The text of client messages. (HTML versions and branding arrive with the email
//! worker; the plain text here is complete on its own.)

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
) -> (String, String) {
    let subject = format!(
        "Quote {} from {}: {}",
        quote.number, settings.business_name, quote.title
    );
    let mut body = format!("Hello {},\n\n", client.display_name);
    match note.or(quote.message.as_deref()) {
        Some(text) => body.push_str(&format!("{text}\n\n")),
        None => body.push_str(&format!("Here is our quote for {}.\n\n", quote.title)),
    }
    body.push_str(&format!("Quote {}: {}\n", quote.number, quote.title));
    if let Some(valid_until) = quote.valid_until {
        body.push_str(&format!("Valid until {valid_until}\n"));
    }
    body.push('\n');
    let lines = quote.lines.iter().map(|l| Line {
        name: &l.name,
        optional: l.optional,
        quantity: l.quantity,
        unit_price: l.unit_price,
        total: l.line_total,
        description: l.description.as_deref(),
    });
    push_lines_and_totals(
        &mut body,
        settings,
        lines,
        quote.subtotal,
        quote.discount_total,
        &quote.taxes,
        quote.total,
    );
    if quote.lines.iter().any(|l| l.optional) {
        body.push_str(
            "Optional items are not included in the total; choose them when you approve.\n",
        );
    }
    if quote.deposit_amount > 0 {
        body.push_str(&format!(
            "Deposit required: {}\n",
            amount(settings, quote.deposit_amount)
        ));
    }
    body.push_str(&format!(
        "\nReview and approve your quote: {link}\n\n{}\n",
        settings.business_name
    ));
    push_contact(&mut body, settings);
    (subject, body)
}

pub fn invoice_sent(
    settings: &Settings,
    client: &Client,
    invoice: &crate::modules::invoices::model::Invoice,
    link: &str,
) -> (String, String) {
    let number = invoice.number.as_deref().unwrap_or("(draft)");
    let subject = format!(
        "Invoice {number} from {}: {}",
        settings.business_name, invoice.title
    );
    let mut body = format!("Hello {},\n\n", client.display_name);
    match invoice.message.as_deref() {
        Some(text) => body.push_str(&format!("{text}\n\n")),
        None => body.push_str(&format!("Here is your invoice for {}.\n\n", invoice.title)),
    }
    body.push_str(&format!("Invoice {number}: {}\n", invoice.title));
    if let (Some(issued), Some(due)) = (invoice.issue_date, invoice.due_date) {
        body.push_str(&format!("Issued {issued}, due {due}\n"));
    }
    body.push('\n');
    let lines = invoice.lines.iter().map(|l| Line {
        name: &l.name,
        optional: false,
        quantity: l.quantity,
        unit_price: l.unit_price,
        total: l.line_total,
        description: l.description.as_deref(),
    });
    push_lines_and_totals(
        &mut body,
        settings,
        lines,
        invoice.subtotal,
        invoice.discount_total,
        &invoice.taxes,
        invoice.total,
    );
    if invoice.amount_paid > 0 {
        body.push_str(&format!(
            "Paid: {}\n",
            amount(settings, invoice.amount_paid - invoice.amount_refunded)
        ));
    }
    body.push_str(&format!(
        "Balance due: {}\n",
        amount(settings, invoice.balance)
    ));
    body.push_str(&format!(
        "\nView and pay your invoice: {link}\n\n{}\n",
        settings.business_name
    ));
    push_contact(&mut body, settings);
    (subject, body)
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
) -> (String, String) {
    let subject = format!(
        "Reminder: {} from {}, {when}",
        visit.title, settings.business_name
    );
    let mut body = format!(
        "Hello {},\n\nThis is a reminder of your upcoming visit from {}.\n\n{}\nWhen: {when}\n",
        client.display_name, settings.business_name, visit.title
    );
    if let Some(address) = &visit.address {
        body.push_str(&format!("Where: {address}\n"));
    }
    body.push_str(&format!(
        "\nNeed to change it? Reply to this email or call us.\n\n{}\n",
        settings.business_name
    ));
    push_contact(&mut body, settings);
    (subject, body)
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
) -> (String, String) {
    let number = invoice.number.as_deref().unwrap_or_default();
    let subject = format!(
        "Reminder: invoice {number} from {} is overdue",
        settings.business_name
    );
    let mut body = format!("Hello {},\n\n", client.display_name);
    let due = invoice.due_date.map(|d| d.to_string()).unwrap_or_default();
    body.push_str(&format!(
        "Invoice {number} ({}) was due on {due}, {days_late} day{} ago, and has a balance of {}.\n",
        invoice.title,
        if days_late == 1 { "" } else { "s" },
        amount(settings, invoice.balance)
    ));
    body.push_str(&format!(
        "\nView and pay your invoice: {link}\n\nIf you have already paid, thank you, and please ignore this reminder.\n\n{}\n",
        settings.business_name
    ));
    push_contact(&mut body, settings);
    (subject, body)
}

/// One document line as the emails show it.
struct Line<'a> {
    name: &'a str,
    optional: bool,
    quantity: crate::money::Quantity,
    unit_price: i64,
    total: i64,
    description: Option<&'a str>,
}

/// The lines, then subtotal, discount, each tax and the total.
fn push_lines_and_totals<'a>(
    body: &mut String,
    settings: &Settings,
    lines: impl Iterator<Item = Line<'a>>,
    subtotal: i64,
    discount: i64,
    taxes: &[crate::modules::quotes::model::AppliedTax],
    total: i64,
) {
    for line in lines {
        let optional = if line.optional { " (optional)" } else { "" };
        body.push_str(&format!(
            "  {}{optional}: {} x {} = {}\n",
            line.name,
            line.quantity,
            amount(settings, line.unit_price),
            amount(settings, line.total)
        ));
        if let Some(description) = line.description {
            body.push_str(&format!("    {description}\n"));
        }
    }
    body.push_str(&format!("\nSubtotal: {}\n", amount(settings, subtotal)));
    if discount != 0 {
        body.push_str(&format!("Discount: -{}\n", amount(settings, discount)));
    }
    for tax in taxes {
        body.push_str(&format!(
            "{} ({}): {}\n",
            tax.name,
            percent(i64::from(tax.rate_bps)),
            amount(settings, tax.amount)
        ));
    }
    body.push_str(&format!("Total: {}\n", amount(settings, total)));
}

/// A password-reset email to a team member.
pub fn password_reset(
    settings: &Settings,
    name: &str,
    link: &str,
    minutes: i64,
) -> (String, String) {
    let subject = format!("Reset your {} password", settings.business_name);
    let body = format!(
        "Hello {name},\n\n\
         Someone asked to reset the password of your {} login. To choose a new one, open\n\n\
         {link}\n\n\
         The link works once, for {minutes} minutes. If you did not ask, ignore this email:\n\
         your password stays as it is.\n",
        settings.business_name
    );
    (subject, body)
}

/// An invitation to join the business's team.
pub fn invitation(
    settings: &Settings,
    inviter: &str,
    name: &str,
    role: &str,
    link: &str,
    days: i64,
) -> (String, String) {
    let subject = format!(
        "{inviter} invited you to {} on jobber",
        settings.business_name
    );
    let mut body = format!(
        "Hello {name},\n\n\
         {inviter} invited you to join {} as {role}. To accept, choose your password at\n\n\
         {link}\n\n\
         The invitation works for {days} days.\n\n{}\n",
        settings.business_name, settings.business_name
    );
    push_contact(&mut body, settings);
    (subject, body)
}

/// The business's phone, email and website on one line.
fn push_contact(body: &mut String, settings: &Settings) {
    let contact: Vec<&str> = [
        settings.phone.as_deref(),
        settings.email.as_deref(),
        settings.website.as_deref(),
    ]
    .into_iter()
    .flatten()
    .collect();
    if !contact.is_empty() {
        body.push_str(&format!("{}\n", contact.join(" | ")));
    }
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
