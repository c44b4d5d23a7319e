use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::state::{QuoteAction, QuoteStatus};
use crate::error::FieldError;
use crate::money::{Adjustment, Bps, Quantity, Rate};

/// A discount or deposit as the API carries it (jobs carry a quote's discount too,
/// so the type is the domain's).
pub use crate::domain::{AdjustmentDto, AdjustmentKind};

impl AdjustmentDto {
    pub fn to_adjustment(self, field: &str) -> Result<Adjustment, FieldError> {
        match self.kind {
            AdjustmentKind::Amount if (0..=crate::money::MAX_AMOUNT).contains(&self.value) => {
                Ok(Adjustment::Amount(self.value))
            }
            AdjustmentKind::Amount => Err(FieldError::new(
                format!("{field}.value"),
                format!(
                    "must be a non-negative amount in minor units, at most {}",
                    crate::money::MAX_AMOUNT
                ),
            )),
            AdjustmentKind::Percent => u32::try_from(self.value)
                .ok()
                .filter(|v| *v <= 10_000)
                .map(|v| Adjustment::Percent(Bps(v)))
                .ok_or_else(|| {
                    FieldError::new(
                        format!("{field}.value"),
                        "must be between 0 and 10000 basis points",
                    )
                }),
        }
    }
}

/// A tax applied to a quote or an invoice, with the amount it came to. Kept as
/// is (jsonb) on the document: a snapshot of the rate when it was priced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(try_from = "StoredTax")]
pub struct AppliedTax {
    pub name: String,
    /// The rate as a percentage, exact to 1/10,000 of a percent (`"8.875"`).
    #[schema(value_type = String, example = "8.875")]
    pub rate: Rate,
    /// Deprecated, use `rate`: the rate rounded half up to basis points
    /// (8.875 % -> 888).
    #[schema(deprecated)]
    pub rate_bps: i32,
    /// Minor units.
    pub amount: i64,
}

impl AppliedTax {
    pub fn new(name: String, rate: Rate, amount: i64) -> AppliedTax {
        AppliedTax {
            name,
            rate,
            rate_bps: rate.bps_rounded(),
            amount,
        }
    }

    /// How documents and emails name the tax: `State tax (8.875%)`, with the
    /// exact rate.
    pub fn label(&self) -> String {
        format!("{} ({}%)", self.name, self.rate)
    }
}

/// A tax as stored: see [`crate::money::stored_rate`].
#[derive(Deserialize)]
struct StoredTax {
    name: String,
    rate: Option<Rate>,
    rate_bps: Option<i64>,
    #[serde(default)]
    amount: i64,
}

impl TryFrom<StoredTax> for AppliedTax {
    type Error = String;
    fn try_from(stored: StoredTax) -> Result<Self, Self::Error> {
        let rate = crate::money::stored_rate(stored.rate, stored.rate_bps)?;
        Ok(AppliedTax::new(stored.name, rate, stored.amount))
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct QuoteLine {
    pub id: Uuid,
    pub position: i32,
    pub catalog_item_id: Option<Uuid>,
    pub name: String,
    pub description: Option<String>,
    /// Up to two decimals.
    #[schema(value_type = f64)]
    pub quantity: Quantity,
    /// Minor units per unit.
    pub unit_price: i64,
    pub taxable: bool,
    /// Offered to the client, who picks it when approving.
    pub optional: bool,
    /// Counted in the totals (always true for non-optional lines).
    pub selected: bool,
    /// quantity × unit_price, rounded half-up to the minor unit.
    pub line_total: i64,
}

/// Who approved the quote, when and how.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Approval {
    pub approved_at: DateTime<Utc>,
    /// The name the client typed as their signature.
    pub signature_name: String,
    /// In the client hub, or recorded by staff on the client's behalf.
    pub via: ApprovedVia,
    /// The staff member who recorded it (null when the client approved in the hub).
    pub recorded_by: Option<Uuid>,
    /// The approver's address: the client's in the hub, else the staff member's.
    pub ip: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ApprovedVia {
    Staff,
    ClientHub,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Quote {
    pub id: Uuid,
    /// Per-account number such as `Q-42`.
    pub number: String,
    pub client_id: Uuid,
    pub property_id: Option<Uuid>,
    pub title: String,
    pub message: Option<String>,
    pub status: QuoteStatus,
    /// What may be done next from this status.
    pub allowed_actions: Vec<QuoteAction>,
    pub lines: Vec<QuoteLine>,
    pub discount: Option<AdjustmentDto>,
    pub deposit: Option<AdjustmentDto>,
    pub taxes: Vec<AppliedTax>,
    /// ISO 4217 code of every amount.
    pub currency: String,
    pub subtotal: i64,
    pub discount_total: i64,
    pub tax_total: i64,
    pub total: i64,
    /// Required deposit, minor units.
    pub deposit_amount: i64,
    pub valid_until: Option<NaiveDate>,
    pub sent_at: Option<DateTime<Utc>>,
    pub approval: Option<Approval>,
    pub declined_at: Option<DateTime<Utc>>,
    pub decline_reason: Option<String>,
    pub changes_requested_note: Option<String>,
    pub converted_at: Option<DateTime<Utc>>,
    pub converted_job_id: Option<Uuid>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A line as sent by the API. With `catalog_item_id`, the item's name, description,
/// price and taxable flag are the defaults for what is left out.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LineInput {
    pub catalog_item_id: Option<Uuid>,
    pub name: Option<String>,
    pub description: Option<String>,
    /// Up to two decimals; may be negative for a credit.
    #[schema(value_type = f64)]
    pub quantity: Quantity,
    /// Minor units per unit.
    pub unit_price: Option<i64>,
    pub taxable: Option<bool>,
    #[serde(default)]
    pub optional: bool,
}

impl LineInput {
    pub fn request(&self) -> crate::modules::catalog::LineRequest<'_> {
        crate::modules::catalog::LineRequest {
            catalog_item_id: self.catalog_item_id,
            name: self.name.as_deref(),
            description: self.description.as_deref(),
            quantity: self.quantity,
            unit_price: self.unit_price,
            taxable: self.taxable,
        }
    }
}

/// A quote as sent to `POST /quotes` and `PUT /quotes/{id}` (PUT replaces it and
/// needs `version` or `If-Match`).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuoteInput {
    pub client_id: Uuid,
    pub property_id: Option<Uuid>,
    pub title: String,
    /// Shown to the client with the quote.
    pub message: Option<String>,
    pub lines: Vec<LineInput>,
    pub discount: Option<AdjustmentDto>,
    pub deposit: Option<AdjustmentDto>,
    /// Tax rates to apply; omitted: the account's default rates; `[]`: none.
    pub tax_rate_ids: Option<Vec<Uuid>>,
    /// Defaults to today plus the account's quote validity days.
    #[serde(default, deserialize_with = "crate::domain::dates::optional_date")]
    pub valid_until: Option<NaiveDate>,
    pub version: Option<i32>,
}

pub const MAX_LINES: usize = 200;

/// `POST /quotes/preview`: the money part of a [`QuoteInput`] (its lines, rates,
/// discount and deposit), priced without saving anything.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuotePreviewInput {
    /// May be empty (everything is then zero).
    #[serde(default)]
    pub lines: Vec<LineInput>,
    pub discount: Option<AdjustmentDto>,
    pub deposit: Option<AdjustmentDto>,
    /// Omitted: the account's default rates; `[]`: none.
    pub tax_rate_ids: Option<Vec<Uuid>>,
}

/// A line as it would be saved: catalog defaults filled in, with its total.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PreviewLine {
    pub catalog_item_id: Option<Uuid>,
    pub name: String,
    pub description: Option<String>,
    #[schema(value_type = f64)]
    pub quantity: Quantity,
    /// Minor units per unit.
    pub unit_price: i64,
    pub taxable: bool,
    pub optional: bool,
    /// Counted in `totals` (optional lines are not until the client picks them).
    pub selected: bool,
    /// quantity × unit_price, rounded half-up to the minor unit.
    pub line_total: i64,
}

/// A quote's totals, minor units.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PreviewTotals {
    pub taxes: Vec<AppliedTax>,
    pub subtotal: i64,
    pub discount_total: i64,
    pub tax_total: i64,
    pub total: i64,
    pub deposit_amount: i64,
}

/// What `POST /quotes` would save for the same lines: the server's totals, to the
/// cent.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct QuotePreview {
    /// ISO 4217 code of every amount.
    pub currency: String,
    pub lines: Vec<PreviewLine>,
    /// As the quote would be saved (optional lines not counted).
    pub totals: PreviewTotals,
    /// If the client picked every optional line at approval.
    pub with_all_optional: PreviewTotals,
}

/// A line after validation and catalog defaults.
#[derive(Debug, Clone)]
pub struct LineData {
    pub catalog_item_id: Option<Uuid>,
    pub name: String,
    pub description: Option<String>,
    pub quantity: Quantity,
    pub unit_price: i64,
    pub taxable: bool,
    pub optional: bool,
    pub selected: bool,
}

/// The checks on the quote itself that need no database (lines are checked by
/// `catalog::service::resolve_lines`); failures are added to `errors`.
pub fn check_header(input: &QuoteInput, errors: &mut Vec<FieldError>) {
    if let Err(m) = crate::domain::required_text(&input.title, 200) {
        errors.push(FieldError::new("title", m));
    }
    if let Err(m) = crate::domain::optional_text(input.message.as_deref(), 10_000) {
        errors.push(FieldError::new("message", m));
    }
    if input.lines.is_empty() {
        errors.push(FieldError::new("lines", "a quote needs at least one line"));
    }
    if input.lines.len() > MAX_LINES {
        errors.push(FieldError::new("lines", format!("at most {MAX_LINES}")));
    }
}

/// Discount and deposit bounds; failures are added to `errors`.
pub fn check_adjustments(
    discount: Option<AdjustmentDto>,
    deposit: Option<AdjustmentDto>,
    errors: &mut Vec<FieldError>,
) {
    for (field, value) in [("discount", discount), ("deposit", deposit)] {
        if let Some(value) = value
            && let Err(e) = value.to_adjustment(field)
        {
            errors.push(e);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::AppliedTax;
    use crate::money::Rate;

    #[test]
    fn applied_tax_shows_and_stores_the_exact_rate() {
        let rate = Rate::parse_percent("8.875").unwrap();
        let tax = AppliedTax::new("NYC".into(), rate, 89);
        assert_eq!(tax.label(), "NYC (8.875%)");
        assert_eq!(
            serde_json::to_value(&tax).unwrap(),
            serde_json::json!({"name": "NYC", "rate": "8.875", "rate_bps": 888, "amount": 89})
        );
        // Read back as stored, and as stored before rates were exact.
        let back: AppliedTax = serde_json::from_value(serde_json::to_value(&tax).unwrap()).unwrap();
        assert_eq!(back, tax);
        let old: AppliedTax = serde_json::from_value(
            serde_json::json!({"name": "State", "rate_bps": 825, "amount": 7}),
        )
        .unwrap();
        assert_eq!(old.rate.to_string(), "8.25");
        assert_eq!(old.label(), "State (8.25%)");
        assert!(serde_json::from_value::<AppliedTax>(serde_json::json!({"name": "X"})).is_err());
    }
}
