use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::modules::quotes::model::{AdjustmentDto, AppliedTax};
use crate::money::Quantity;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum InvoiceStatus {
    Draft,
    Sent,
    PartiallyPaid,
    Paid,
    Void,
    BadDebt,
}

impl InvoiceStatus {
    pub const ALL: [InvoiceStatus; 6] = [
        InvoiceStatus::Draft,
        InvoiceStatus::Sent,
        InvoiceStatus::PartiallyPaid,
        InvoiceStatus::Paid,
        InvoiceStatus::Void,
        InvoiceStatus::BadDebt,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            InvoiceStatus::Draft => "draft",
            InvoiceStatus::Sent => "sent",
            InvoiceStatus::PartiallyPaid => "partially_paid",
            InvoiceStatus::Paid => "paid",
            InvoiceStatus::Void => "void",
            InvoiceStatus::BadDebt => "bad_debt",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// Issued and not settled: payments may be recorded, and it can be past due.
    pub fn is_open(self) -> bool {
        matches!(self, InvoiceStatus::Sent | InvoiceStatus::PartiallyPaid)
    }
}

/// Payment terms of one invoice: the account's default choices, or a custom date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum Terms {
    #[serde(rename = "due_on_receipt")]
    DueOnReceipt,
    #[serde(rename = "net_7")]
    Net7,
    #[serde(rename = "net_15")]
    Net15,
    #[serde(rename = "net_30")]
    Net30,
    #[serde(rename = "net_60")]
    Net60,
    /// Due on `due_date`.
    #[serde(rename = "custom")]
    Custom,
}

impl Terms {
    pub fn as_str(self) -> &'static str {
        match self {
            Terms::DueOnReceipt => "due_on_receipt",
            Terms::Net7 => "net_7",
            Terms::Net15 => "net_15",
            Terms::Net30 => "net_30",
            Terms::Net60 => "net_60",
            Terms::Custom => "custom",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [
            Terms::DueOnReceipt,
            Terms::Net7,
            Terms::Net15,
            Terms::Net30,
            Terms::Net60,
            Terms::Custom,
        ]
        .into_iter()
        .find(|t| t.as_str() == text)
    }

    /// Days from issue to due date (None for custom).
    pub fn days(self) -> Option<u64> {
        match self {
            Terms::DueOnReceipt => Some(0),
            Terms::Net7 => Some(7),
            Terms::Net15 => Some(15),
            Terms::Net30 => Some(30),
            Terms::Net60 => Some(60),
            Terms::Custom => None,
        }
    }

    pub fn from_account(terms: crate::modules::accounts::model::PaymentTerms) -> Self {
        Terms::parse(terms.as_str()).unwrap_or(Terms::Net30)
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InvoiceLine {
    pub id: Uuid,
    pub position: i32,
    pub catalog_item_id: Option<Uuid>,
    /// The visit this line bills.
    pub visit_id: Option<Uuid>,
    pub name: String,
    pub description: Option<String>,
    #[schema(value_type = f64)]
    pub quantity: Quantity,
    pub unit_price: i64,
    pub taxable: bool,
    pub line_total: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Invoice {
    pub id: Uuid,
    /// Assigned when issued; null for drafts.
    pub number: Option<String>,
    pub client_id: Uuid,
    pub property_id: Option<Uuid>,
    pub job_id: Option<Uuid>,
    pub title: String,
    pub message: Option<String>,
    pub status: InvoiceStatus,
    /// Issued, unpaid and after its due date.
    pub past_due: bool,
    pub payment_terms: Terms,
    pub issue_date: Option<NaiveDate>,
    pub due_date: Option<NaiveDate>,
    pub lines: Vec<InvoiceLine>,
    pub discount: Option<AdjustmentDto>,
    pub taxes: Vec<AppliedTax>,
    pub currency: String,
    pub subtotal: i64,
    pub discount_total: i64,
    pub tax_total: i64,
    pub total: i64,
    pub amount_paid: i64,
    pub amount_refunded: i64,
    /// What the client still owes: total - amount_paid + amount_refunded; 0 once
    /// the invoice is void.
    pub balance: i64,
    pub sent_at: Option<DateTime<Utc>>,
    pub paid_at: Option<DateTime<Utc>>,
    pub voided_at: Option<DateTime<Utc>>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A line of a standalone invoice.
pub type InvoiceLineInput = crate::modules::catalog::DocumentLineInput;

/// `POST /invoices`: from a job (`job_id`: its unbilled visits or lines) or
/// standalone (`client_id` and `lines`).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InvoiceInput {
    pub job_id: Option<Uuid>,
    pub client_id: Option<Uuid>,
    pub property_id: Option<Uuid>,
    /// Defaults to the job's title.
    pub title: Option<String>,
    pub message: Option<String>,
    #[serde(default)]
    pub lines: Vec<InvoiceLineInput>,
    pub discount: Option<AdjustmentDto>,
    /// Omitted: the account's default rates; `[]`: none.
    pub tax_rate_ids: Option<Vec<Uuid>>,
    /// Defaults to the account's terms.
    pub payment_terms: Option<Terms>,
    /// Required with `custom` terms.
    #[serde(default, deserialize_with = "crate::domain::dates::optional_date")]
    pub due_date: Option<NaiveDate>,
}

/// `POST /invoices/preview`: the money part of a standalone [`InvoiceInput`].
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InvoicePreviewInput {
    /// May be empty (everything is then zero).
    #[serde(default)]
    pub lines: Vec<InvoiceLineInput>,
    pub discount: Option<AdjustmentDto>,
    /// Omitted: the account's default rates; `[]`: none.
    pub tax_rate_ids: Option<Vec<Uuid>>,
}

/// What `POST /invoices` would save for the same lines, minor units.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InvoicePreview {
    /// ISO 4217 code of every amount.
    pub currency: String,
    /// One per line, in order.
    pub line_totals: Vec<i64>,
    pub taxes: Vec<AppliedTax>,
    pub subtotal: i64,
    pub discount_total: i64,
    pub tax_total: i64,
    pub total: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PaymentMethod {
    Cash,
    Check,
    BankTransfer,
    Card,
    Other,
}

impl PaymentMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentMethod::Cash => "cash",
            PaymentMethod::Check => "check",
            PaymentMethod::BankTransfer => "bank_transfer",
            PaymentMethod::Card => "card",
            PaymentMethod::Other => "other",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [
            PaymentMethod::Cash,
            PaymentMethod::Check,
            PaymentMethod::BankTransfer,
            PaymentMethod::Card,
            PaymentMethod::Other,
        ]
        .into_iter()
        .find(|m| m.as_str() == text)
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Payment {
    pub id: Uuid,
    /// The invoice it is applied to; null for a deposit not yet applied.
    pub invoice_id: Option<Uuid>,
    /// Set for a deposit on a quote (kept once the deposit is applied to an invoice).
    pub quote_id: Option<Uuid>,
    pub client_id: Uuid,
    pub method: PaymentMethod,
    /// `pending` (a card payment waiting for Stripe), `succeeded`, `failed`,
    /// `partially_refunded` or `refunded`.
    pub status: String,
    /// Applied to the invoice, minor units.
    pub amount: i64,
    /// On top of the amount; does not reduce the balance.
    pub tip: i64,
    /// What the payment provider kept (card payments), minor units.
    pub fee: i64,
    pub refunded: i64,
    /// Check number, transfer reference…
    pub reference: Option<String>,
    pub note: Option<String>,
    /// The Stripe PaymentIntent of a card payment taken through jobber.
    pub stripe_payment_intent_id: Option<String>,
    pub paid_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

/// `POST /payments`: a payment recorded by hand (cash, check, bank transfer, other),
/// or with `method: "card"` a card payment through Stripe. Against an invoice, or a
/// deposit against a quote (exactly one of `invoice_id`, `quote_id`).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PaymentInput {
    /// With `POST /payments`; implied by `POST /invoices/{id}/payments`.
    pub invoice_id: Option<Uuid>,
    /// A deposit on this quote (sent, approved or converted).
    pub quote_id: Option<Uuid>,
    pub method: PaymentMethod,
    /// Minor units, at most the invoice's balance (or what is left of the quote's total).
    pub amount: i64,
    /// On top of the amount (a card payment charges amount + tip).
    #[serde(default)]
    pub tip: i64,
    pub reference: Option<String>,
    pub note: Option<String>,
    /// Defaults to now (recorded payments only).
    #[serde(default, deserialize_with = "crate::domain::dates::optional_instant")]
    pub paid_at: Option<DateTime<Utc>>,
    /// Email the client a receipt (recorded payments; a card payment's receipt is
    /// always sent when it succeeds). Needs the client's email address.
    #[serde(default)]
    pub send_receipt: bool,
}
