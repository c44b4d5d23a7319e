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
    for line in &quote.lines {
        let optional = if line.optional { " (optional)" } else { "" };
        body.push_str(&format!(
            "  {}{optional}: {} x {} = {}\n",
            line.name,
            line.quantity,
            amount(settings, line.unit_price),
            amount(settings, line.line_total)
        ));
        if let Some(description) = &line.description {
            body.push_str(&format!("    {description}\n"));
        }
    }
    body.push_str(&format!(
        "\nSubtotal: {}\n",
        amount(settings, quote.subtotal)
    ));
    if quote.discount_total != 0 {
        body.push_str(&format!(
            "Discount: -{}\n",
            amount(settings, quote.discount_total)
        ));
    }
    for tax in &quote.taxes {
        body.push_str(&format!(
            "{} ({}): {}\n",
            tax.name,
            percent(i64::from(tax.rate_bps)),
            amount(settings, tax.amount)
        ));
    }
    body.push_str(&format!("Total: {}\n", amount(settings, quote.total)));
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
    for line in &invoice.lines {
        body.push_str(&format!(
            "  {}: {} x {} = {}\n",
            line.name,
            line.quantity,
            amount(settings, line.unit_price),
            amount(settings, line.line_total)
        ));
        if let Some(description) = &line.description {
            body.push_str(&format!("    {description}\n"));
        }
    }
    body.push_str(&format!(
        "\nSubtotal: {}\n",
        amount(settings, invoice.subtotal)
    ));
    if invoice.discount_total != 0 {
        body.push_str(&format!(
            "Discount: -{}\n",
            amount(settings, invoice.discount_total)
        ));
    }
    for tax in &invoice.taxes {
        body.push_str(&format!(
            "{} ({}): {}\n",
            tax.name,
            percent(i64::from(tax.rate_bps)),
            amount(settings, tax.amount)
        ));
    }
    body.push_str(&format!("Total: {}\n", amount(settings, invoice.total)));
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
    (subject, body)
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
