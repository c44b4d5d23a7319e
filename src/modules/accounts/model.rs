use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Account {
    pub id: Uuid,
    pub name: String,
    /// IANA time zone the business works in; schedules and reports use it.
    pub time_zone: String,
    /// ISO 4217 currency of every amount in the account.
    pub currency: String,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Default payment terms for new invoices (an invoice may also carry a custom due date).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PaymentTerms {
    DueOnReceipt,
    #[serde(rename = "net_7")]
    Net7,
    #[serde(rename = "net_15")]
    Net15,
    #[serde(rename = "net_30")]
    Net30,
    #[serde(rename = "net_60")]
    Net60,
}

impl PaymentTerms {
    pub const ALL: [PaymentTerms; 5] = [
        PaymentTerms::DueOnReceipt,
        PaymentTerms::Net7,
        PaymentTerms::Net15,
        PaymentTerms::Net30,
        PaymentTerms::Net60,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PaymentTerms::DueOnReceipt => "due_on_receipt",
            PaymentTerms::Net7 => "net_7",
            PaymentTerms::Net15 => "net_15",
            PaymentTerms::Net30 => "net_30",
            PaymentTerms::Net60 => "net_60",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "due_on_receipt" => Some(PaymentTerms::DueOnReceipt),
            "net_7" => Some(PaymentTerms::Net7),
            "net_15" => Some(PaymentTerms::Net15),
            "net_30" => Some(PaymentTerms::Net30),
            "net_60" => Some(PaymentTerms::Net60),
            _ => None,
        }
    }

    /// Days from the issue date to the due date.
    pub fn days(self) -> i64 {
        match self {
            PaymentTerms::DueOnReceipt => 0,
            PaymentTerms::Net7 => 7,
            PaymentTerms::Net15 => 15,
            PaymentTerms::Net30 => 30,
            PaymentTerms::Net60 => 60,
        }
    }
}

/// The business's settings (`GET/PATCH /settings`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Settings {
    pub business_name: String,
    pub address: crate::domain::Address,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub website: Option<String>,
    /// The stored logo (`PUT /settings/logo`); null when there is none.
    pub logo_key: Option<String>,
    /// The accent colour of client emails, `#RRGGBB` (upper case); default `#2F6F4E`.
    pub brand_color: String,
    pub time_zone: String,
    pub currency: String,
    /// BCP 47 tag such as `en-US`; picks number formats and the paper size of PDFs.
    pub locale: String,
    pub payment_terms: PaymentTerms,
    pub quote_validity_days: i32,
    pub quote_prefix: String,
    pub next_quote_number: i64,
    pub job_prefix: String,
    pub next_job_number: i64,
    pub invoice_prefix: String,
    pub next_invoice_number: i64,
    /// Whether technicians see prices on their visits.
    pub show_prices_to_technicians: bool,
    /// Remind clients of their visits (email, and a text to a phone with
    /// `sms_opt_in`), `visit_reminder_hours_before` ahead. Off by default.
    pub visit_reminders: bool,
    /// 1 to 168; default 24 (the day before).
    pub visit_reminder_hours_before: i32,
    /// Email clients about overdue invoices with a balance, on each of
    /// `invoice_followup_days` after the due date. Off by default.
    pub invoice_followups: bool,
    /// Days after the due date, ascending, up to 10 of them (1 to 365); default
    /// `[3, 7, 14]`.
    pub invoice_followup_days: Vec<i32>,
    pub version: i32,
    pub updated_at: DateTime<Utc>,
}

/// A tax rate, exact to 1/10,000 of a percent.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TaxRate {
    pub id: Uuid,
    pub name: String,
    /// The rate as a percentage with at most 4 decimals, as a string
    /// (`"8.875"` = 8.875 %).
    #[schema(value_type = String, example = "8.875")]
    pub rate: crate::money::Rate,
    /// Deprecated, use `rate`: the rate rounded half up to basis points
    /// (8.875 % -> 888).
    #[schema(deprecated)]
    pub rate_bps: i32,
    /// Applied to new quotes and invoices by default.
    pub is_default: bool,
    pub active: bool,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Which document number sequence to draw from.
#[derive(Debug, Clone, Copy)]
pub enum Sequence {
    Quote,
    Job,
    Invoice,
}

#[cfg(test)]
mod tests {
    use super::PaymentTerms;

    #[test]
    fn payment_terms_names_match_the_database() {
        for terms in PaymentTerms::ALL {
            assert_eq!(serde_json::to_value(terms).unwrap(), terms.as_str());
            assert_eq!(PaymentTerms::parse(terms.as_str()), Some(terms));
        }
    }
}
