//! The emails about a quote (composed with `communications::compose`).

use super::model::Quote;
use crate::modules::accounts::model::Settings;
use crate::modules::clients::model::Client;
use crate::modules::communications::compose::{Composer, Line, Rendered};
use crate::modules::communications::templates::amount;

/// The email that sends a quote to its client.
pub fn quote_sent(
    settings: &Settings,
    client: &Client,
    quote: &Quote,
    note: Option<&str>,
    link: &str,
    client_page: &str,
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
    c.link(
        "All your quotes, invoices and visits with us",
        "Your page",
        client_page,
    );
    c.sign();
    c.finish(subject)
}

/// Subtotal, discount, each tax and the total, as `(label, amount)`.
pub fn totals(
    settings: &Settings,
    subtotal: i64,
    discount: i64,
    taxes: &[super::model::AppliedTax],
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
