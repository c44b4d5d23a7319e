//! The words of client messages: emails (composed as text and branded HTML by
//! `compose`) and texts. Those about one kind of record that only its module reads
//! are that module's (`quotes::emails`, `invoices::emails`); these are the rest.

use super::compose::{Composer, Rendered};
use crate::domain::Currency;
use crate::modules::accounts::model::Settings;
use crate::modules::clients::model::Client;
use crate::money::format_minor;

/// `USD 1,234.50`-style amounts without locale grouping: `USD 1234.50`.
pub fn amount(settings: &Settings, minor: i64) -> String {
    let exponent = Currency::parse(&settings.currency).map_or(2, |c| c.minor_unit_exponent());
    format!("{} {}", settings.currency, format_minor(minor, exponent))
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
