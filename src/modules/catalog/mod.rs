//! Products and services the business sells: the price list that quote, job and
//! invoice lines are picked from. Prices are integer minor units of the account's
//! currency.

pub mod repo;
pub mod routes;
pub mod service;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ItemKind {
    Service,
    Product,
}

impl ItemKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ItemKind::Service => "service",
            ItemKind::Product => "product",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "service" => Some(ItemKind::Service),
            "product" => Some(ItemKind::Product),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CatalogItem {
    pub id: Uuid,
    pub kind: ItemKind,
    pub name: String,
    pub description: Option<String>,
    /// Minor units (cents) of the account's currency.
    pub unit_price: i64,
    /// What the item costs the business, for margins; minor units.
    pub unit_cost: Option<i64>,
    pub taxable: bool,
    /// Inactive items stay on old documents but are not offered for new ones.
    pub active: bool,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A catalog item as sent to POST and PUT (PUT also needs `version` or `If-Match`).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CatalogItemInput {
    #[serde(default = "service")]
    pub kind: ItemKind,
    pub name: String,
    pub description: Option<String>,
    pub unit_price: i64,
    pub unit_cost: Option<i64>,
    #[serde(default = "yes")]
    pub taxable: bool,
    #[serde(default = "yes")]
    pub active: bool,
    pub version: Option<i32>,
}

fn service() -> ItemKind {
    ItemKind::Service
}

fn yes() -> bool {
    true
}

/// A validated item.
pub struct ItemData {
    pub kind: ItemKind,
    pub name: String,
    pub description: Option<String>,
    pub unit_price: i64,
    pub unit_cost: Option<i64>,
    pub taxable: bool,
    pub active: bool,
}

/// The largest price accepted: ten billion minor units, so sums of thousands of lines
/// stay far from overflow.
pub const MAX_PRICE: i64 = 10_000_000_000;

impl CatalogItemInput {
    pub fn validate(self) -> Result<ItemData, crate::error::Error> {
        use crate::error::FieldError;
        let mut errors = Vec::new();
        let name = crate::domain::required_text(&self.name, 200).unwrap_or_else(|m| {
            errors.push(FieldError::new("name", m));
            String::new()
        });
        let description = crate::domain::optional_text(self.description.as_deref(), 4000)
            .unwrap_or_else(|m| {
                errors.push(FieldError::new("description", m));
                None
            });
        if !(0..=MAX_PRICE).contains(&self.unit_price) {
            errors.push(FieldError::new(
                "unit_price",
                format!("must be between 0 and {MAX_PRICE} minor units"),
            ));
        }
        if self
            .unit_cost
            .is_some_and(|c| !(0..=MAX_PRICE).contains(&c))
        {
            errors.push(FieldError::new(
                "unit_cost",
                format!("must be between 0 and {MAX_PRICE} minor units"),
            ));
        }
        if errors.is_empty() {
            Ok(ItemData {
                kind: self.kind,
                name,
                description,
                unit_price: self.unit_price,
                unit_cost: self.unit_cost,
                taxable: self.taxable,
                active: self.active,
            })
        } else {
            Err(crate::error::Error::invalid(errors))
        }
    }
}

/// A document line as the API sends it (quotes, jobs, invoices). With
/// `catalog_item_id`, the item's name, description, price and taxable flag fill in
/// whatever the line leaves out; the document keeps copies, not references.
#[derive(Debug, Clone, Copy)]
pub struct LineRequest<'a> {
    pub catalog_item_id: Option<Uuid>,
    pub name: Option<&'a str>,
    pub description: Option<&'a str>,
    pub quantity: crate::money::Quantity,
    pub unit_price: Option<i64>,
    pub taxable: Option<bool>,
}

/// A line with the catalog's defaults applied and every field checked.
#[derive(Debug, Clone)]
pub struct ResolvedLine {
    pub catalog_item_id: Option<Uuid>,
    pub name: String,
    pub description: Option<String>,
    pub quantity: crate::money::Quantity,
    pub unit_price: i64,
    pub taxable: bool,
}

/// The largest quantity on a line (in hundredths: one million).
pub const MAX_QUANTITY_HUNDREDTHS: i64 = 100_000_000;

/// A job or invoice line as the API sends it (quotes add `optional`).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DocumentLineInput {
    pub catalog_item_id: Option<Uuid>,
    pub name: Option<String>,
    pub description: Option<String>,
    /// Up to two decimals; may be negative for a credit.
    #[schema(value_type = f64)]
    pub quantity: crate::money::Quantity,
    /// Minor units per unit.
    pub unit_price: Option<i64>,
    pub taxable: Option<bool>,
}

impl DocumentLineInput {
    pub fn request(&self) -> LineRequest<'_> {
        LineRequest {
            catalog_item_id: self.catalog_item_id,
            name: self.name.as_deref(),
            description: self.description.as_deref(),
            quantity: self.quantity,
            unit_price: self.unit_price,
            taxable: self.taxable,
        }
    }
}
