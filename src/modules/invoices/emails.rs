//! The emails about an invoice or a payment (composed with
//! `communications::compose`).

use super::model::Invoice;
use crate::modules::accounts::model::Settings;
use crate::modules::clients::model::Client;
use crate::modules::communications::compose::{Composer, Line, Rendered};
use crate::modules::communications::templates::amount;
use crate::modules::quotes::emails::totals;

/// The email that sends an invoice to its client.
pub fn invoice_sent(
    settings: &Settings,
    client: &Client,
    invoice: &Invoice,
    link: &str,
    client_page: &str,
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
    c.link(
        "All your quotes, invoices and visits with us",
        "Your page",
        client_page,
    );
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

/// The overdue-invoice follow-up email.
pub fn invoice_overdue(
    settings: &Settings,
    client: &Client,
    invoice: &Invoice,
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
