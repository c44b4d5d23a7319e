//! Money arithmetic for quotes and invoices: pure functions, no I/O.
//!
//! # Units
//!
//! * Amounts are `i64` minor units (cents for a 2-decimal currency).
//! * [`Quantity`] is an `i64` count of hundredths (`150` = 1.50; at most two
//!   decimals). Negative quantities are allowed (credits).
//! * [`Rate`] is a tax rate in millionths of the amount taxed (parts per
//!   million: `88_750` = 8.875 %, `1_000_000` = 100 %), so a rate is exact to
//!   1/10,000 of a percent (ARCHITECTURE §2: 8.875 % in New York City, 9.975 %
//!   in Québec). Its text form is the percentage, `"8.875"`.
//! * [`Bps`] is a discount or deposit percentage in basis points (`825` =
//!   8.25 %, `10000` = 100 %).
//!
//! All intermediate arithmetic is done in `i128`. Any result that does not
//! fit in `i64` is reported as [`MoneyError::Overflow`]; nothing here panics.
//! "Round" below always means [`round_half_up`]: half away from zero.
//!
//! # The largest amount on a document
//!
//! [`MAX_AMOUNT`] (10^13 minor units: 100 billion in a 2-decimal currency)
//! bounds every line total, the subtotal, the tax total and the total of one
//! document; [`compute`] refuses more ([`MoneyError::LineTooLarge`],
//! [`MoneyError::TotalTooLarge`]). Fixed discounts, deposits, payments, tips
//! and refunds are bounded by the same figure where they are entered. So one
//! document's figures, and the sum of any 900,000 of them, fit in `i64`;
//! reports that add up more (an account's receivables) sum in PostgreSQL's
//! `numeric` and `i128`, never in `i64`.
//!
//! # Contract of [`compute`]
//!
//! 1. `line_total = round(quantity_hundredths * unit_price / 100)` for every
//!    line; `|line_total| <= MAX_AMOUNT`. Unselected lines (`selected ==
//!    false`, an optional line the client did not pick) have their
//!    `line_total` reported but are excluded from every sum below.
//! 2. `subtotal` = sum of the selected line totals; `|subtotal| <= MAX_AMOUNT`.
//! 3. `discount`:
//!    * `Amount(a)`: `a`, but at most `subtotal`; a negative `a` is
//!      [`MoneyError::InvalidDiscount`].
//!    * `Percent(p)`: `round(subtotal * p / 10000)`; `p > 10000` is
//!      [`MoneyError::InvalidDiscount`].
//!    * If `subtotal <= 0` the discount is 0 (inputs are still validated).
//! 4. The discount is allocated across the selected lines in proportion to
//!    their `line_total`, counting only lines with a positive `line_total`,
//!    by the largest-remainder method: each line gets
//!    `floor(discount * line_total / P)` (`P` = sum of those positive totals),
//!    then the cents left over go one each to the lines with the largest
//!    remainders, ties broken by line order. The allocations (reported as
//!    `line_discounts`, 0 for every other line) sum to the discount exactly,
//!    and no line gets more than its own total.
//! 5. For each tax rate `r` (in millionths), in the given order:
//!    `tax_r = sum over selected taxable lines of
//!    round((line_total - allocation) * r / 1_000_000)` (rounded per line,
//!    then summed). Reported per rate as `(r, tax_r)`. Several rates are
//!    each applied to the same pre-tax base, never to one another's tax
//!    (Canada's GST 5 % + Québec's QST 9.975 % since 2013; no compounding).
//!    A rate with three or four decimals is rounded the same way: 8.875 % of
//!    10.00 is `1000 * 88_750 / 1_000_000` = 88.75 -> 89 cents.
//! 6. `tax_total` = sum of the `tax_r`; `total = subtotal - discount +
//!    tax_total`; `|total| <= MAX_AMOUNT`.
//! 7. `deposit`:
//!    * `Amount(a)`: `min(a, max(total, 0))`; a negative `a` is
//!      [`MoneyError::InvalidDeposit`].
//!    * `Percent(p)`: `round(max(total, 0) * p / 10000)`; `p > 10000` is
//!      [`MoneyError::InvalidDeposit`]. (A deposit is never negative: a
//!      credit total gives a 0 deposit, as with `Amount`.)
//!    * `None`: 0.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer, de};

/// Basis points in 100 %.
const BPS_DENOMINATOR: i128 = 10_000;
/// Millionths (a [`Rate`]'s unit) in 100 %.
const RATE_DENOMINATOR: i128 = 1_000_000;
/// Millionths in one percent: a [`Rate`]'s percentage text has 4 decimals.
const RATE_PER_PERCENT: u32 = 10_000;
/// The largest line total, subtotal, tax total or total of one document, in
/// minor units (10^13: 100 billion in a 2-decimal currency); see the module
/// documentation. Also the bound of a fixed discount or deposit.
pub const MAX_AMOUNT: i64 = 10_000_000_000_000;
/// Hundredths in one unit of quantity.
const QUANTITY_DENOMINATOR: i128 = 100;

/// Errors of the money arithmetic.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    /// A result (or an input scaled to hundredths) does not fit in `i64`.
    #[error("amount out of range")]
    Overflow,
    /// Negative fixed discount, or a percentage above 100 %.
    #[error("invalid discount: must be a non-negative amount or at most 100%")]
    InvalidDiscount,
    /// Negative fixed deposit, or a percentage above 100 %.
    #[error("invalid deposit: must be a non-negative amount or at most 100%")]
    InvalidDeposit,
    /// Text that is not a quantity with at most two decimals.
    #[error("invalid quantity {0:?}: expected a decimal number with at most 2 decimals")]
    InvalidQuantity(String),
    /// Text that is not a percentage from 0 to 100 with at most 4 decimals.
    #[error(
        "invalid rate {0:?}: expected a percentage from 0 to 100 with at most 4 decimals, as a string such as \"8.875\""
    )]
    InvalidRate(String),
    /// The line at this index (0-based) comes to more than [`MAX_AMOUNT`].
    #[error("the line total is above the maximum of {MAX_AMOUNT} minor units")]
    LineTooLarge(usize),
    /// The subtotal, tax total or total is above [`MAX_AMOUNT`].
    #[error("the document's total is above the maximum of {MAX_AMOUNT} minor units")]
    TotalTooLarge,
}

impl MoneyError {
    /// The request field the error is about, as the API names it: `lines[2]`
    /// for one line, `lines` for the sums, `discount`, `deposit`, `rate`.
    pub fn field(&self) -> String {
        match self {
            MoneyError::LineTooLarge(index) => format!("lines[{index}]"),
            MoneyError::Overflow | MoneyError::TotalTooLarge | MoneyError::InvalidQuantity(_) => {
                "lines".to_owned()
            }
            MoneyError::InvalidDiscount => "discount".to_owned(),
            MoneyError::InvalidDeposit => "deposit".to_owned(),
            MoneyError::InvalidRate(_) => "rate".to_owned(),
        }
    }
}

/// A rate in basis points: `Bps(825)` = 8.25 %, `Bps(10000)` = 100 %.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Bps(pub u32);

/// A tax rate in millionths of the amount taxed: `Rate(88_750)` = 8.875 %,
/// `Rate(1_000_000)` = 100 %; never above 100 %.
///
/// Its text (`Display`, serde) is the percentage with at most four decimals
/// and no trailing zeros: `"8.875"`, `"10"`, `"0.0001"`. It deserializes from
/// that text only, never from a JSON number, so no float ever carries a rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Rate(u32);

/// A quantity in hundredths: `Quantity(150)` = 1.50. Negative for credits.
///
/// Serialized as a JSON number (`hundredths / 100` as `f64`). Deserialized
/// from an integer, from a float only through its decimal text (so `1.005`
/// is rejected rather than rounded), or from a string such as `"1.5"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Quantity(pub i64);

/// One quote or invoice line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineInput {
    pub quantity: Quantity,
    /// Minor units per whole unit of quantity.
    pub unit_price: i64,
    pub taxable: bool,
    /// `false`: an optional line the client did not pick; it contributes nothing.
    pub selected: bool,
}

/// A discount or a deposit: a fixed amount in minor units, or a percentage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Adjustment {
    Amount(i64),
    Percent(Bps),
}

/// The result of [`compute`]; every amount in minor units.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Totals {
    /// One per input line, in order, including unselected lines.
    pub line_totals: Vec<i64>,
    pub subtotal: i64,
    pub discount: i64,
    /// The discount's allocation, one per input line (0 where none).
    pub line_discounts: Vec<i64>,
    /// One `(rate, amount)` per tax rate, in the given order.
    pub taxes: Vec<(Rate, i64)>,
    pub tax_total: i64,
    pub total: i64,
    pub deposit: i64,
}

/// `numerator / denominator` rounded half away from zero (`2.5 -> 3`,
/// `-2.5 -> -3`).
///
/// `denominator` is expected to be `> 0`. It never panics: a negative
/// denominator is handled arithmetically, a zero denominator yields 0, and the
/// one unrepresentable result (`i128::MIN / -1`) saturates to `i128::MAX`.
pub fn round_half_up(numerator: i128, denominator: i128) -> i128 {
    if denominator == 0 {
        return 0;
    }
    let n = numerator.unsigned_abs();
    let d = denominator.unsigned_abs();
    let mut q = n / d;
    let r = n % d;
    // r >= d - r  <=>  2r >= d, written so it cannot overflow.
    if r >= d - r {
        q += 1;
    }
    if (numerator < 0) != (denominator < 0) {
        0i128.saturating_sub_unsigned(q)
    } else {
        0i128.saturating_add_unsigned(q)
    }
}

fn to_i64(value: i128) -> Result<i64, MoneyError> {
    i64::try_from(value).map_err(|_| MoneyError::Overflow)
}

fn checked_sum(values: impl IntoIterator<Item = i128>) -> Result<i128, MoneyError> {
    values.into_iter().try_fold(0i128, |acc, v| {
        acc.checked_add(v).ok_or(MoneyError::Overflow)
    })
}

fn rate_of(amount: i128, rate: Bps) -> i128 {
    round_half_up(amount * i128::from(rate.0), BPS_DENOMINATOR)
}

fn tax_of(amount: i128, rate: Rate) -> i128 {
    round_half_up(amount * i128::from(rate.0), RATE_DENOMINATOR)
}

/// `value` if `|value| <= MAX_AMOUNT`, else `error`.
fn within_max(value: i128, error: MoneyError) -> Result<i64, MoneyError> {
    if value.unsigned_abs() > MAX_AMOUNT.unsigned_abs().into() {
        return Err(error);
    }
    to_i64(value)
}

impl Rate {
    /// 100 %.
    pub const FULL: Rate = Rate(1_000_000);

    /// A rate of `ppm` millionths; `None` outside 0..=1_000_000.
    pub fn from_ppm(ppm: i64) -> Option<Rate> {
        u32::try_from(ppm)
            .ok()
            .filter(|p| *p <= Rate::FULL.0)
            .map(Rate)
    }

    /// A rate given in basis points (exact: one basis point is 100 ppm);
    /// `None` outside 0..=10000.
    pub fn from_bps(bps: i64) -> Option<Rate> {
        bps.checked_mul(100).and_then(Rate::from_ppm)
    }

    /// The rate in millionths (`8.875 %` -> `88_750`).
    pub fn ppm(self) -> u32 {
        self.0
    }

    /// The rate rounded half up to basis points (`8.875 %` -> `888`): what the
    /// deprecated `rate_bps` fields show.
    pub fn bps_rounded(self) -> i32 {
        i32::try_from(round_half_up(i128::from(self.0), 100)).unwrap_or(i32::MAX)
    }

    /// Parses a percentage: ASCII digits, optionally `.` and one to four
    /// digits, from `"0"` to `"100"` (`"8.875"` -> 88_750 ppm). Rejects signs,
    /// exponents, whitespace, `".5"`, `"5."`, a fifth decimal (even `"1.00000"`)
    /// and anything above 100.
    pub fn parse_percent(text: &str) -> Result<Rate, MoneyError> {
        let invalid = || MoneyError::InvalidRate(text.to_owned());
        let (int_part, frac_part) = match text.split_once('.') {
            Some((i, f)) => (i, Some(f)),
            None => (text, None),
        };
        let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        // At most 3 significant integer digits are possible below 100 %; a
        // longer run of digits is refused before it could overflow.
        let int_digits = int_part.trim_start_matches('0');
        if !all_digits(int_part) || int_digits.len() > 3 {
            return Err(invalid());
        }
        let mut ppm: u32 = 0;
        for b in int_digits.bytes() {
            ppm = ppm * 10 + u32::from(b - b'0');
        }
        ppm *= RATE_PER_PERCENT;
        if let Some(frac) = frac_part {
            if !all_digits(frac) || frac.len() > 4 {
                return Err(invalid());
            }
            let mut scale = RATE_PER_PERCENT / 10;
            for b in frac.bytes() {
                ppm += u32::from(b - b'0') * scale;
                scale /= 10;
            }
        }
        Rate::from_ppm(i64::from(ppm)).ok_or_else(invalid)
    }
}

/// The rate of a stored snapshot (a tax on a quote, job or invoice, kept as
/// jsonb): its exact `rate`, else, for a snapshot written before rates were
/// exact (or by an older binary during a rolling upgrade), its `rate_bps`,
/// which converts exactly.
pub fn stored_rate(rate: Option<Rate>, rate_bps: Option<i64>) -> Result<Rate, String> {
    match (rate, rate_bps) {
        (Some(rate), _) => Ok(rate),
        (None, Some(bps)) => {
            Rate::from_bps(bps).ok_or_else(|| format!("stored tax rate_bps {bps} is out of range"))
        }
        (None, None) => Err("stored tax has neither rate nor rate_bps".to_owned()),
    }
}

impl fmt::Display for Rate {
    /// The percentage, minimal: `Rate(88_750)` -> `8.875`, `Rate(100_000)` -> `10`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (int_part, frac) = (self.0 / RATE_PER_PERCENT, self.0 % RATE_PER_PERCENT);
        if frac == 0 {
            return write!(f, "{int_part}");
        }
        let digits = format!("{frac:04}");
        write!(f, "{int_part}.{}", digits.trim_end_matches('0'))
    }
}

impl std::str::FromStr for Rate {
    type Err = MoneyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Rate::parse_percent(s)
    }
}

impl Serialize for Rate {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Rate {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct RateVisitor;
        impl de::Visitor<'_> for RateVisitor {
            type Value = Rate;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a percentage as a string, such as \"8.875\"")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Rate, E> {
                Rate::parse_percent(v).map_err(E::custom)
            }
        }
        deserializer.deserialize_str(RateVisitor)
    }
}

impl Quantity {
    /// Parses `"3"`, `"1.5"`, `"0.25"`, `"-1"`: an optional `-`, ASCII digits,
    /// and optionally `.` followed by one or two digits. Rejects empty text,
    /// more than two decimals (even `"1.500"`), exponents, signs other than a
    /// single leading `-`, whitespace, `".5"`, `"5."` and anything else.
    pub fn parse(text: &str) -> Result<Quantity, MoneyError> {
        let invalid = || MoneyError::InvalidQuantity(text.to_owned());
        let (negative, unsigned) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (int_part, frac_part) = match unsigned.split_once('.') {
            Some((i, f)) => (i, Some(f)),
            None => (unsigned, None),
        };
        let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !all_digits(int_part) {
            return Err(invalid());
        }
        let mut hundredths: i128 = 0;
        for b in int_part.bytes() {
            hundredths = hundredths
                .checked_mul(10)
                .and_then(|h| h.checked_add(i128::from(b - b'0')))
                .ok_or(MoneyError::Overflow)?;
            if hundredths > i128::from(i64::MAX) + 1 {
                return Err(MoneyError::Overflow);
            }
        }
        hundredths *= QUANTITY_DENOMINATOR;
        if let Some(frac) = frac_part {
            if !all_digits(frac) || frac.len() > 2 {
                return Err(invalid());
            }
            let mut scale = 10;
            for b in frac.bytes() {
                hundredths += i128::from(b - b'0') * scale;
                scale /= 10;
            }
        }
        if negative {
            hundredths = -hundredths;
        }
        to_i64(hundredths).map(Quantity)
    }

    /// The quantity as a float (`Quantity(150)` -> `1.5`), as serialized.
    pub fn as_f64(self) -> f64 {
        self.0 as f64 / 100.0
    }
}

impl fmt::Display for Quantity {
    /// Minimal form: `Quantity(150)` -> `1.5`, `Quantity(300)` -> `3`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        let (int_part, frac) = (abs / 100, abs % 100);
        if frac == 0 {
            write!(f, "{sign}{int_part}")
        } else if frac % 10 == 0 {
            write!(f, "{sign}{int_part}.{}", frac / 10)
        } else {
            write!(f, "{sign}{int_part}.{frac:02}")
        }
    }
}

impl std::str::FromStr for Quantity {
    type Err = MoneyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Quantity::parse(s)
    }
}

impl Serialize for Quantity {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_f64(self.as_f64())
    }
}

struct QuantityVisitor;

impl de::Visitor<'_> for QuantityVisitor {
    type Value = Quantity;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a number or numeric string with at most 2 decimals")
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Quantity, E> {
        v.checked_mul(100)
            .map(Quantity)
            .ok_or_else(|| E::custom(MoneyError::Overflow))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Quantity, E> {
        i64::try_from(v)
            .ok()
            .and_then(|v| v.checked_mul(100))
            .map(Quantity)
            .ok_or_else(|| E::custom(MoneyError::Overflow))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Quantity, E> {
        // Rust's `{}` for f64 prints the shortest decimal text that round-trips
        // and never uses an exponent, so `1.5` -> "1.5", `0.29` -> "0.29",
        // `1.005` -> "1.005" (rejected), NaN/inf -> rejected.
        Quantity::parse(&format!("{v}")).map_err(E::custom)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Quantity, E> {
        Quantity::parse(v).map_err(E::custom)
    }
}

impl<'de> Deserialize<'de> for Quantity {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(QuantityVisitor)
    }
}

/// Formats minor units with `exponent` decimals: `(1234, 2)` -> `"12.34"`,
/// `(-5, 2)` -> `"-0.05"`, `(1234, 0)` -> `"1234"`, `(100, 2)` -> `"1.00"`.
pub fn format_minor(amount: i64, exponent: u8) -> String {
    let sign = if amount < 0 { "-" } else { "" };
    let digits = amount.unsigned_abs().to_string();
    let exp = usize::from(exponent);
    if exp == 0 {
        return format!("{sign}{digits}");
    }
    let padded = format!("{digits:0>width$}", width = exp + 1);
    let split = padded.len() - exp;
    let (int_part, frac_part) = padded.split_at(split);
    format!("{sign}{int_part}.{frac_part}")
}

/// 825 basis points -> `8.25%`, 1000 -> `10%`.
pub fn percent(bps: i64) -> String {
    let text = format_minor(bps, 2);
    let text = text.trim_end_matches('0').trim_end_matches('.');
    format!("{text}%")
}

/// Splits `amount` (>= 0) over `weights` (0 = excluded) by largest remainder.
/// Requires `amount <= sum(weights)` when any weight is positive.
fn allocate(amount: i64, weights: &[i64]) -> Result<Vec<i64>, MoneyError> {
    let mut out = vec![0i64; weights.len()];
    let pool = checked_sum(weights.iter().filter(|w| **w > 0).map(|w| i128::from(*w)))?;
    if amount <= 0 || pool <= 0 {
        return Ok(out);
    }
    let amount = i128::from(amount);
    // (line index, floor share, remainder); amount * weight < 2^126.
    let mut parts: Vec<(usize, i128, i128)> = weights
        .iter()
        .enumerate()
        .filter(|(_, w)| **w > 0)
        .map(|(i, w)| {
            let num = amount * i128::from(*w);
            (i, num / pool, num % pool)
        })
        .collect();
    let assigned = checked_sum(parts.iter().map(|p| p.1))?;
    let leftover = amount - assigned;
    parts.sort_by(|a, b| b.2.cmp(&a.2).then(a.0.cmp(&b.0)));
    for (rank, (index, share, _)) in parts.into_iter().enumerate() {
        let extra = i128::from(i128::try_from(rank).is_ok_and(|r| r < leftover));
        if let Some(slot) = out.get_mut(index) {
            *slot = to_i64(share + extra)?;
        }
    }
    Ok(out)
}

/// Computes the totals of a quote or invoice; see the module documentation
/// for the rules, which are this function's contract.
pub fn compute(
    lines: &[LineInput],
    discount: Option<Adjustment>,
    tax_rates: &[Rate],
    deposit: Option<Adjustment>,
) -> Result<Totals, MoneyError> {
    // 1. Line totals (every line, selected or not).
    let line_totals = lines
        .iter()
        .enumerate()
        .map(|(index, l)| {
            within_max(
                round_half_up(
                    i128::from(l.quantity.0) * i128::from(l.unit_price),
                    QUANTITY_DENOMINATOR,
                ),
                MoneyError::LineTooLarge(index),
            )
        })
        .collect::<Result<Vec<i64>, MoneyError>>()?;
    let selected = || {
        lines
            .iter()
            .zip(&line_totals)
            .filter(|(l, _)| l.selected)
            .map(|(_, t)| *t)
    };

    // 2. Subtotal.
    let subtotal = within_max(
        checked_sum(selected().map(i128::from))?,
        MoneyError::TotalTooLarge,
    )?;

    // 3. Discount.
    let discount = match discount {
        None => 0,
        Some(Adjustment::Amount(a)) => {
            if a < 0 {
                return Err(MoneyError::InvalidDiscount);
            }
            if subtotal <= 0 { 0 } else { a.min(subtotal) }
        }
        Some(Adjustment::Percent(p)) => {
            if i128::from(p.0) > BPS_DENOMINATOR {
                return Err(MoneyError::InvalidDiscount);
            }
            if subtotal <= 0 {
                0
            } else {
                to_i64(rate_of(i128::from(subtotal), p))?
            }
        }
    };

    // 4. Allocation over selected lines with a positive total.
    let weights: Vec<i64> = lines
        .iter()
        .zip(&line_totals)
        .map(|(l, t)| if l.selected && *t > 0 { *t } else { 0 })
        .collect();
    let line_discounts = allocate(discount, &weights)?;

    // 5. Taxes per rate, rounded per line.
    let mut taxes = Vec::with_capacity(tax_rates.len());
    for &rate in tax_rates {
        let amount = checked_sum(
            lines
                .iter()
                .zip(&line_totals)
                .zip(&line_discounts)
                .filter(|((l, _), _)| l.selected && l.taxable)
                .map(|((_, t), a)| tax_of(i128::from(*t) - i128::from(*a), rate)),
        )?;
        taxes.push((rate, within_max(amount, MoneyError::TotalTooLarge)?));
    }

    // 6. Tax total and total.
    let tax_total = within_max(
        checked_sum(taxes.iter().map(|(_, t)| i128::from(*t)))?,
        MoneyError::TotalTooLarge,
    )?;
    let total = within_max(
        i128::from(subtotal) - i128::from(discount) + i128::from(tax_total),
        MoneyError::TotalTooLarge,
    )?;

    // 7. Deposit.
    let payable = total.max(0);
    let deposit = match deposit {
        None => 0,
        Some(Adjustment::Amount(a)) => {
            if a < 0 {
                return Err(MoneyError::InvalidDeposit);
            }
            a.min(payable)
        }
        Some(Adjustment::Percent(p)) => {
            if i128::from(p.0) > BPS_DENOMINATOR {
                return Err(MoneyError::InvalidDeposit);
            }
            to_i64(rate_of(i128::from(payable), p))?
        }
    };

    Ok(Totals {
        line_totals,
        subtotal,
        discount,
        line_discounts,
        taxes,
        tax_total,
        total,
        deposit,
    })
}

#[cfg(test)]
mod tests {
    // No unwrap/expect/panic here either, so the file also passes a crate
    // whose lints deny them in tests: results are compared with `Ok(..)`.
    use super::*;
    use serde::de::IntoDeserializer;
    use serde::de::value::Error as ValueError;

    #[test]
    fn percents() {
        assert_eq!(percent(825), "8.25%");
        assert_eq!(percent(1000), "10%");
        assert_eq!(percent(1050), "10.5%");
        assert_eq!(percent(0), "0%");
    }

    fn line(quantity: i64, unit_price: i64, taxable: bool) -> LineInput {
        LineInput {
            quantity: Quantity(quantity),
            unit_price,
            taxable,
            selected: true,
        }
    }

    /// A tax rate given in basis points.
    fn r(bps: i64) -> Rate {
        Rate::from_bps(bps).unwrap_or_default()
    }

    fn q(text: &str) -> Result<i64, MoneyError> {
        Quantity::parse(text).map(|q| q.0)
    }

    #[test]
    fn round_half_up_both_signs() {
        assert_eq!(round_half_up(5, 2), 3); // 2.5 -> 3
        assert_eq!(round_half_up(-5, 2), -3); // -2.5 -> -3
        assert_eq!(round_half_up(7, 2), 4); // 3.5 -> 4
        assert_eq!(round_half_up(-7, 2), -4); // -3.5 -> -4
        assert_eq!(round_half_up(4, 3), 1); // 1.33 -> 1
        assert_eq!(round_half_up(-4, 3), -1); // -1.33 -> -1
        assert_eq!(round_half_up(5, 3), 2); // 1.67 -> 2
        assert_eq!(round_half_up(-5, 3), -2); // -1.67 -> -2
        assert_eq!(round_half_up(149, 100), 1); // 1.49 -> 1
        assert_eq!(round_half_up(150, 100), 2); // 1.50 -> 2
        assert_eq!(round_half_up(-149, 100), -1); // -1.49 -> -1
        assert_eq!(round_half_up(-150, 100), -2); // -1.50 -> -2
        assert_eq!(round_half_up(0, 7), 0);
        assert_eq!(round_half_up(10, 5), 2); // exact
        assert_eq!(round_half_up(-10, 5), -2); // exact
        // Edges: no panic.
        assert_eq!(round_half_up(i128::MAX, 1), i128::MAX);
        assert_eq!(round_half_up(i128::MIN, 1), i128::MIN);
        assert_eq!(round_half_up(i128::MIN, -1), i128::MAX); // saturates
        assert_eq!(round_half_up(5, -2), -3); // -2.5 -> -3
        assert_eq!(round_half_up(5, 0), 0); // documented fallback
    }

    #[test]
    fn empty_quote_is_all_zero() {
        assert_eq!(
            compute(&[], None, &[r(825)], None),
            Ok(Totals {
                line_totals: vec![],
                subtotal: 0,
                discount: 0,
                line_discounts: vec![],
                taxes: vec![(r(825), 0)],
                tax_total: 0,
                total: 0,
                deposit: 0,
            })
        );
    }

    #[test]
    fn zero_price_lines() {
        // Lines: 2 x 0.00 (taxable), 1 x 10.00 (taxable); 10% discount; 8.25% tax.
        // line totals 0, 1000; subtotal 1000; discount 1000*10% = 100.
        // Allocation: only the positive line takes the discount -> [0, 100].
        // Tax: (1000-100)*0.0825 = 74.25 -> 74; zero line -> 0. Total 1000-100+74 = 974.
        let lines = [line(200, 0, true), line(100, 1000, true)];
        assert_eq!(
            compute(
                &lines,
                Some(Adjustment::Percent(Bps(1000))),
                &[r(825)],
                None
            ),
            Ok(Totals {
                line_totals: vec![0, 1000],
                subtotal: 1000,
                discount: 100,
                line_discounts: vec![0, 100],
                taxes: vec![(r(825), 74)],
                tax_total: 74,
                total: 974,
                deposit: 0,
            })
        );
        // Only zero-price lines: subtotal 0, so even a 100% discount is 0.
        let zeros = [line(100, 0, true), line(300, 0, false)];
        assert_eq!(
            compute(
                &zeros,
                Some(Adjustment::Percent(Bps(10000))),
                &[r(825)],
                None
            ),
            Ok(Totals {
                line_totals: vec![0, 0],
                subtotal: 0,
                discount: 0,
                line_discounts: vec![0, 0],
                taxes: vec![(r(825), 0)],
                tax_total: 0,
                total: 0,
                deposit: 0,
            })
        );
    }

    #[test]
    fn full_discount_gives_zero_total_and_tax() {
        // 2 x 19.99 taxable = 3998; 1 x 5.01 non-taxable = 501; subtotal 4499.
        // 100% discount = 4499, allocated exactly 3998 / 501.
        // Tax 8.25% on (3998-3998) = 0. Total 4499-4499+0 = 0; 50% deposit of 0 = 0.
        let lines = [line(200, 1999, true), line(100, 501, false)];
        assert_eq!(
            compute(
                &lines,
                Some(Adjustment::Percent(Bps(10000))),
                &[r(825)],
                Some(Adjustment::Percent(Bps(5000)))
            ),
            Ok(Totals {
                line_totals: vec![3998, 501],
                subtotal: 4499,
                discount: 4499,
                line_discounts: vec![3998, 501],
                taxes: vec![(r(825), 0)],
                tax_total: 0,
                total: 0,
                deposit: 0,
            })
        );
    }

    #[test]
    fn fixed_discount_larger_than_subtotal_is_clamped() {
        // 1 x 10.00 taxable; discount 50.00 -> clamped to 1000. Tax 0, total 0.
        // Deposit 1.00 -> min(100, max(0, 0)) = 0.
        let lines = [line(100, 1000, true)];
        assert_eq!(
            compute(
                &lines,
                Some(Adjustment::Amount(5000)),
                &[r(825)],
                Some(Adjustment::Amount(100))
            ),
            Ok(Totals {
                line_totals: vec![1000],
                subtotal: 1000,
                discount: 1000,
                line_discounts: vec![1000],
                taxes: vec![(r(825), 0)],
                tax_total: 0,
                total: 0,
                deposit: 0,
            })
        );
    }

    #[test]
    fn invalid_adjustments_are_rejected() {
        let lines = [line(100, 1000, true)];
        assert_eq!(
            compute(&lines, Some(Adjustment::Amount(-1)), &[], None),
            Err(MoneyError::InvalidDiscount)
        );
        assert_eq!(
            compute(&lines, Some(Adjustment::Percent(Bps(10001))), &[], None),
            Err(MoneyError::InvalidDiscount)
        );
        // Validated even when the subtotal is 0.
        assert_eq!(
            compute(&[], Some(Adjustment::Amount(-1)), &[], None),
            Err(MoneyError::InvalidDiscount)
        );
        assert_eq!(
            compute(&lines, None, &[], Some(Adjustment::Amount(-1))),
            Err(MoneyError::InvalidDeposit)
        );
        assert_eq!(
            compute(&lines, None, &[], Some(Adjustment::Percent(Bps(10001)))),
            Err(MoneyError::InvalidDeposit)
        );
        // Exactly 100% is fine: deposit = total = 1000.
        assert_eq!(
            compute(&lines, None, &[], Some(Adjustment::Percent(Bps(10000)))).map(|t| t.deposit),
            Ok(1000)
        );
    }

    #[test]
    fn three_tax_rates_with_fixed_discount() {
        // A: 3 x 12.50 taxable      = 3750
        // B: 1.5 x 29.99 taxable    = 44.985 -> 4498.5 cents -> 4499
        // C: 1 x 50.00 non-taxable  = 5000
        // subtotal = 3750 + 4499 + 5000 = 13249; discount 10.00 = 1000.
        // Allocation (P = 13249):
        //   A: 1000*3750 = 3_750_000 = 283*13249 + 533  -> 283, rem 533
        //   B: 1000*4499 = 4_499_000 = 339*13249 + 7589 -> 339, rem 7589
        //   C: 1000*5000 = 5_000_000 = 377*13249 + 5127 -> 377, rem 5127
        //   floors sum 999, 1 cent left -> largest remainder B -> [283, 340, 377].
        // Taxable nets: A 3750-283 = 3467, B 4499-340 = 4159.
        //   5%:    A 173.35 -> 173, B 207.95 -> 208            => 381
        //   8.25%: A 2_860_275/1e4 = 286.0275 -> 286,
        //          B 3_431_175/1e4 = 343.1175 -> 343           => 629
        //   10%:   A 346.7 -> 347, B 415.9 -> 416              => 763
        // tax_total = 381 + 629 + 763 = 1773; total = 13249 - 1000 + 1773 = 14022.
        // Deposit 33.33%: 14022*3333 = 46_735_326 / 1e4 = 4673.5326 -> 4674.
        let lines = [
            line(300, 1250, true),
            line(150, 2999, true),
            line(100, 5000, false),
        ];
        assert_eq!(
            compute(
                &lines,
                Some(Adjustment::Amount(1000)),
                &[r(500), r(825), r(1000)],
                Some(Adjustment::Percent(Bps(3333)))
            ),
            Ok(Totals {
                line_totals: vec![3750, 4499, 5000],
                subtotal: 13249,
                discount: 1000,
                line_discounts: vec![283, 340, 377],
                taxes: vec![(r(500), 381), (r(825), 629), (r(1000), 763)],
                tax_total: 1773,
                total: 14022,
                deposit: 4674,
            })
        );
    }

    #[test]
    fn largest_document_fits_exactly() {
        // 1 x 90_000_000_000.00 = 9_000_000_000_000 cents; 8.25% of it
        // = 742_500_000_000 exactly; total 9_742_500_000_000 <= MAX_AMOUNT.
        let lines = [line(100, 9_000_000_000_000, true)];
        assert_eq!(
            compute(&lines, None, &[r(825)], None),
            Ok(Totals {
                line_totals: vec![9_000_000_000_000],
                subtotal: 9_000_000_000_000,
                discount: 0,
                line_discounts: vec![0],
                taxes: vec![(r(825), 742_500_000_000)],
                tax_total: 742_500_000_000,
                total: 9_742_500_000_000,
                deposit: 0,
            })
        );
        // Exactly the maximum, untaxed: accepted.
        let at_max = [line(100, MAX_AMOUNT, false)];
        assert_eq!(
            compute(&at_max, None, &[r(825)], None).map(|t| t.total),
            Ok(MAX_AMOUNT)
        );
        // A credit of exactly the maximum: accepted too.
        let credit = [line(-100, MAX_AMOUNT, false)];
        assert_eq!(
            compute(&credit, None, &[], None).map(|t| t.total),
            Ok(-MAX_AMOUNT)
        );
    }

    #[test]
    fn amounts_above_the_maximum_are_errors_not_panics() {
        // One minor unit too many on the second line.
        let lines = [line(100, 1, false), line(100, MAX_AMOUNT + 1, false)];
        assert_eq!(
            compute(&lines, None, &[], None),
            Err(MoneyError::LineTooLarge(1))
        );
        // 0.5 x (2 * MAX + 1) = MAX + 0.5 -> rounds to MAX + 1.
        let rounded_over = [line(50, 2 * MAX_AMOUNT + 1, false)];
        assert_eq!(
            compute(&rounded_over, None, &[], None),
            Err(MoneyError::LineTooLarge(0))
        );
        // 999999.99 x 99_999_999_999_999 cents ~ 1e20: beyond i64, still a line error.
        let too_big = [line(99_999_999, 99_999_999_999_999, true)];
        assert_eq!(
            compute(&too_big, None, &[], None),
            Err(MoneyError::LineTooLarge(0))
        );
        // -1 x i64::MIN = 2^63 = i64::MAX + 1.
        let neg = [line(-100, i64::MIN, false)];
        assert_eq!(
            compute(&neg, None, &[], None),
            Err(MoneyError::LineTooLarge(0))
        );
        // An unselected line's total is still reported, so it must fit too.
        let mut unselected = line(100, MAX_AMOUNT + 1, true);
        unselected.selected = false;
        assert_eq!(
            compute(&[unselected], None, &[], None),
            Err(MoneyError::LineTooLarge(0))
        );
        // Each line fits, their sum does not (nor would i64::MAX lines').
        let two = [line(100, MAX_AMOUNT, false), line(100, 1, false)];
        assert_eq!(
            compute(&two, None, &[], None),
            Err(MoneyError::TotalTooLarge)
        );
        // The subtotal fits, subtotal + tax does not.
        let taxed = [line(100, MAX_AMOUNT, true)];
        assert_eq!(
            compute(&taxed, None, &[r(10000)], None),
            Err(MoneyError::TotalTooLarge)
        );
        // Many 100% rates: each tax fits, their sum does not.
        let half = [line(100, MAX_AMOUNT / 2, true)];
        assert_eq!(
            compute(&half, None, &[Rate::FULL; 3], None),
            Err(MoneyError::TotalTooLarge)
        );
        assert_eq!(MoneyError::LineTooLarge(3).field(), "lines[3]");
        assert_eq!(MoneyError::TotalTooLarge.field(), "lines");
    }

    #[test]
    fn new_york_city_rate_of_three_decimals() {
        // 8.875% = 88_750 ppm.
        // L0: 1 x 10.00 taxable = 1000 -> 1000 * 88_750 / 1e6 = 88.75 -> 89
        // L1: 3 x 19.99 taxable = 5997 -> 532_233_750 / 1e6 = 532.23375 -> 532
        // L2: 1 x 25.00 not taxable = 2500
        // subtotal 9497; tax 89 + 532 = 621; total 10118.
        // (In basis points, 8.88% would give 89 + 533 = 622: the precise rate matters.)
        let nyc = Rate::parse_percent("8.875");
        assert_eq!(nyc, Ok(Rate(88_750)));
        let nyc = nyc.unwrap_or_default();
        let lines = [
            line(100, 1000, true),
            line(300, 1999, true),
            line(100, 2500, false),
        ];
        assert_eq!(
            compute(&lines, None, &[nyc], None),
            Ok(Totals {
                line_totals: vec![1000, 5997, 2500],
                subtotal: 9497,
                discount: 0,
                line_discounts: vec![0, 0, 0],
                taxes: vec![(nyc, 621)],
                tax_total: 621,
                total: 10118,
                deposit: 0,
            })
        );
        assert_eq!(
            compute(&lines, None, &[r(888)], None).map(|t| t.tax_total),
            Ok(622)
        );
        // A credit: -1 x 10.00 -> -88.75 -> -89 (half away from zero).
        assert_eq!(
            compute(&[line(-100, 1000, true)], None, &[nyc], None).map(|t| (t.tax_total, t.total)),
            Ok((-89, -1089))
        );
    }

    #[test]
    fn quebec_gst_and_qst_apply_to_the_same_base() {
        // GST 5% (50_000 ppm) and QST 9.975% (99_750 ppm), both on the pre-tax
        // price (no tax on tax since 2013).
        let gst = Rate::parse_percent("5").unwrap_or_default();
        let qst = Rate::parse_percent("9.975").unwrap_or_default();
        assert_eq!((gst.ppm(), qst.ppm()), (50_000, 99_750));
        // 1 x 100.00: GST 500; QST 10000 * 99_750 / 1e6 = 997.5 -> 998.
        // Total 10000 + 500 + 998 = 11498.
        let one = [line(100, 10_000, true)];
        assert_eq!(
            compute(&one, None, &[gst, qst], None).map(|t| (t.taxes, t.tax_total, t.total)),
            Ok((vec![(gst, 500), (qst, 998)], 1498, 11498))
        );
        // With a 10% discount the base is 9000: GST 450; QST 897.75 -> 898.
        // Total 9000 + 450 + 898 = 10348; 25% deposit = 2587.
        assert_eq!(
            compute(
                &one,
                Some(Adjustment::Percent(Bps(1000))),
                &[gst, qst],
                Some(Adjustment::Percent(Bps(2500)))
            )
            .map(|t| (t.discount, t.taxes, t.total, t.deposit)),
            Ok((1000, vec![(gst, 450), (qst, 898)], 10348, 2587))
        );
        // Rounded per line: 2 x 12.34 = 2468 -> QST 246.183 -> 246 and
        // 1 x 0.05 = 5 -> 0.49875 -> 0, so 246 (not 246.68 -> 247 on the sum).
        let two = [line(200, 1234, true), line(100, 5, true)];
        assert_eq!(
            compute(&two, None, &[qst], None).map(|t| t.tax_total),
            Ok(246)
        );
    }

    #[test]
    fn rate_parse_accepts() {
        let ppm = |text: &str| Rate::parse_percent(text).map(Rate::ppm);
        assert_eq!(ppm("8.875"), Ok(88_750));
        assert_eq!(ppm("9.975"), Ok(99_750));
        assert_eq!(ppm("8.25"), Ok(82_500));
        assert_eq!(ppm("10"), Ok(100_000));
        assert_eq!(ppm("0"), Ok(0));
        assert_eq!(ppm("0.0001"), Ok(1));
        assert_eq!(ppm("100"), Ok(1_000_000));
        assert_eq!(ppm("100.0000"), Ok(1_000_000));
        assert_eq!(ppm("007.5"), Ok(75_000));
        assert_eq!(ppm("99.9999"), Ok(999_999));
        assert_eq!("8.875".parse::<Rate>(), Ok(Rate(88_750)));
    }

    #[test]
    fn rate_parse_rejects() {
        for bad in [
            "",
            "-1",
            "+1",
            "100.0001",
            "101",
            "1000",
            "1e1",
            "8.87501",
            "8.87500",
            " 8",
            "8 ",
            ".5",
            "5.",
            "8,875",
            "abc",
            "NaN",
            "1.2.3",
            "0x10",
            "99999999999999999999",
        ] {
            assert_eq!(
                Rate::parse_percent(bad),
                Err(MoneyError::InvalidRate(bad.to_owned())),
                "{bad:?}"
            );
        }
        assert_eq!(MoneyError::InvalidRate("x".into()).field(), "rate");
    }

    #[test]
    fn rate_display_bps_and_serde() {
        for (ppm, text, bps) in [
            (88_750, "8.875", 888),
            (99_750, "9.975", 998),
            (82_500, "8.25", 825),
            (100_000, "10", 1000),
            (0, "0", 0),
            (1, "0.0001", 0),
            (50, "0.005", 1),
            (49, "0.0049", 0),
            (1_000_000, "100", 10_000),
        ] {
            let rate = Rate::from_ppm(ppm).unwrap_or_default();
            assert_eq!(rate.to_string(), text);
            assert_eq!(rate.bps_rounded(), bps, "{text}");
            assert_eq!(Rate::parse_percent(text), Ok(rate));
            assert_eq!(
                serde_json::to_value(rate).ok(),
                Some(serde_json::json!(text))
            );
            assert_eq!(
                serde_json::from_value::<Rate>(serde_json::json!(text)).ok(),
                Some(rate)
            );
        }
        assert_eq!(Rate::from_bps(825), Some(Rate(82_500)));
        assert_eq!(Rate::from_bps(10_001), None);
        assert_eq!(Rate::from_bps(-1), None);
        assert_eq!(Rate::from_ppm(1_000_001), None);
        assert_eq!(Rate::from_bps(i64::MAX), None);
        // Never from a JSON number: no float carries a rate.
        assert!(serde_json::from_value::<Rate>(serde_json::json!(8.875)).is_err());
        assert!(serde_json::from_value::<Rate>(serde_json::json!("8.87501")).is_err());
    }

    #[test]
    fn fractional_quantities_round_half_cents_up() {
        // 0.25 x 10.02 = 25*1002 = 25_050 / 100 = 250.5 -> 251
        // 1.33 x 3.50  = 133*350 = 46_550 / 100 = 465.5 -> 466
        // 2.5  x 1.01  = 250*101 = 25_250 / 100 = 252.5 -> 253
        // subtotal 251 + 466 + 253 = 970
        // 8.25% per line: 251 -> 207_075/1e4 = 20.7075 -> 21;
        //                 466 -> 384_450/1e4 = 38.445 -> 38;
        //                 253 -> 208_725/1e4 = 20.8725 -> 21   => 80
        // total 970 + 80 = 1050
        let lines = [
            line(25, 1002, true),
            line(133, 350, true),
            line(250, 101, true),
        ];
        assert_eq!(
            compute(&lines, None, &[r(825)], None),
            Ok(Totals {
                line_totals: vec![251, 466, 253],
                subtotal: 970,
                discount: 0,
                line_discounts: vec![0, 0, 0],
                taxes: vec![(r(825), 80)],
                tax_total: 80,
                total: 1050,
                deposit: 0,
            })
        );
        // Negative (credit): -0.25 x 10.02 = -250.5 -> -251 (away from zero).
        assert_eq!(
            compute(&[line(-25, 1002, false)], None, &[], None).map(|t| t.line_totals),
            Ok(vec![-251])
        );
    }

    #[test]
    fn credit_line_takes_no_discount_and_negative_tax() {
        // 1 x 10.00 taxable = 1000; -1 x 0.10 taxable = -10; subtotal 990.
        // 10% discount = 99.0 -> 99, all on the positive line -> [99, 0].
        // 5% tax: (1000-99) = 901 * 0.05 = 45.05 -> 45; -10 * 0.05 = -0.5 -> -1 => 44.
        // total = 990 - 99 + 44 = 935.
        let lines = [line(100, 1000, true), line(-100, 10, true)];
        assert_eq!(
            compute(
                &lines,
                Some(Adjustment::Percent(Bps(1000))),
                &[r(500)],
                None
            ),
            Ok(Totals {
                line_totals: vec![1000, -10],
                subtotal: 990,
                discount: 99,
                line_discounts: vec![99, 0],
                taxes: vec![(r(500), 44)],
                tax_total: 44,
                total: 935,
                deposit: 0,
            })
        );
        // A credit-only total (-10) with any deposit: deposit 0.
        let credit = [line(-100, 10, false)];
        assert_eq!(
            compute(
                &credit,
                Some(Adjustment::Amount(5)),
                &[],
                Some(Adjustment::Percent(Bps(5000)))
            )
            .map(|t| (t.discount, t.total, t.deposit)),
            Ok((0, -10, 0))
        );
        assert_eq!(
            compute(&credit, None, &[], Some(Adjustment::Amount(100))).map(|t| t.deposit),
            Ok(0)
        );
    }

    #[test]
    fn unselected_optional_lines_are_excluded() {
        // L0: 1 x 10.00 taxable, selected      = 1000
        // L1: 2 x 25.00 taxable, NOT selected  = 5000 (reported, excluded)
        // L2: 1 x 5.00 non-taxable, selected   = 500
        // subtotal 1500; discount 1.50 = 150 allocated over 1000/500:
        //   L0 150*1000/1500 = 100, L2 150*500/1500 = 50 (exact) -> [100, 0, 50].
        // 8.25% tax on L0 only: (1000-100) = 900 * 0.0825 = 74.25 -> 74.
        // total 1500 - 150 + 74 = 1424; deposit 20.00 clamped to 1424.
        let mut optional = line(200, 2500, true);
        optional.selected = false;
        let lines = [line(100, 1000, true), optional, line(100, 500, false)];
        assert_eq!(
            compute(
                &lines,
                Some(Adjustment::Amount(150)),
                &[r(825)],
                Some(Adjustment::Amount(2000))
            ),
            Ok(Totals {
                line_totals: vec![1000, 5000, 500],
                subtotal: 1500,
                discount: 150,
                line_discounts: vec![100, 0, 50],
                taxes: vec![(r(825), 74)],
                tax_total: 74,
                total: 1424,
                deposit: 1424,
            })
        );
    }

    #[test]
    fn discount_allocation_sums_exactly() {
        // 3 lines of 0.01, discount 0.02: each 2*1/3 = 0 rem 2; 2 cents left,
        // all remainders tie -> first two lines: [1, 1, 0]. Total 3 - 2 = 1.
        let lines = [
            line(100, 1, false),
            line(100, 1, false),
            line(100, 1, false),
        ];
        assert_eq!(
            compute(&lines, Some(Adjustment::Amount(2)), &[], None),
            Ok(Totals {
                line_totals: vec![1, 1, 1],
                subtotal: 3,
                discount: 2,
                line_discounts: vec![1, 1, 0],
                taxes: vec![],
                tax_total: 0,
                total: 1,
                deposit: 0,
            })
        );
        // Remainder beats order: lines 1 and 2 cents, discount 2 (P = 3):
        //   L0 2*1 = 2 -> 0 rem 2; L1 2*2 = 4 -> 1 rem 1; 1 cent left -> L0: [1, 1].
        let lines = [line(100, 1, false), line(100, 2, false)];
        assert_eq!(
            compute(&lines, Some(Adjustment::Amount(2)), &[], None).map(|t| t.line_discounts),
            Ok(vec![1, 1])
        );
        // 3 x 3.33 (333 each) = 999; 10% = 99.9 -> 100; 100*333/999 = 33 rem 333 each
        // (33*999 = 32_967, 33_300 - 32_967 = 333); 1 cent left -> first line: [34, 33, 33].
        let lines = [
            line(100, 333, false),
            line(100, 333, false),
            line(100, 333, false),
        ];
        assert_eq!(
            compute(&lines, Some(Adjustment::Percent(Bps(1000))), &[], None).map(|t| (
                t.discount,
                t.line_discounts,
                t.total
            )),
            Ok((100, vec![34, 33, 33], 899))
        );
    }

    #[test]
    fn percentage_deposit_on_odd_cents() {
        // Total 10.01 (1001, no tax). 50% = 500.5 -> 501; 25% = 250.25 -> 250;
        // 33.33% = 1001*3333 = 3_336_333 / 1e4 = 333.6333 -> 334; 0% -> 0.
        let lines = [line(100, 1001, false)];
        let deposit =
            |p| compute(&lines, None, &[], Some(Adjustment::Percent(Bps(p)))).map(|t| t.deposit);
        assert_eq!(deposit(5000), Ok(501));
        assert_eq!(deposit(2500), Ok(250));
        assert_eq!(deposit(3333), Ok(334));
        assert_eq!(deposit(0), Ok(0));
        assert_eq!(
            compute(&lines, None, &[], None).map(|t| (t.total, t.deposit)),
            Ok((1001, 0))
        );
    }

    #[test]
    fn quantity_parse_accepts() {
        assert_eq!(q("3"), Ok(300));
        assert_eq!(q("1.5"), Ok(150));
        assert_eq!(q("0.25"), Ok(25));
        assert_eq!(q("-1"), Ok(-100));
        assert_eq!(q("1.50"), Ok(150));
        assert_eq!(q("-0.05"), Ok(-5));
        assert_eq!(q("0"), Ok(0));
        assert_eq!(q("-0"), Ok(0));
        assert_eq!(q("007"), Ok(700));
        assert_eq!(q("999999.99"), Ok(99_999_999));
        // i64::MAX = 9_223_372_036_854_775_807 hundredths.
        assert_eq!(q("92233720368547758.07"), Ok(i64::MAX));
        assert_eq!(q("-92233720368547758.08"), Ok(i64::MIN));
        assert_eq!("2.5".parse::<Quantity>(), Ok(Quantity(250)));
    }

    #[test]
    fn quantity_parse_rejects() {
        for bad in [
            "", "-", "1.234", "1.500", "1e3", "1E3", "1e-2", "abc", "1.2.3", " 1", "1 ", "+1",
            ".5", "5.", "-.5", "1,5", "--1", "0x10", "NaN", "inf", "-inf", "1_000", "١",
        ] {
            assert_eq!(
                Quantity::parse(bad),
                Err(MoneyError::InvalidQuantity(bad.to_owned())),
                "{bad:?}"
            );
        }
        assert_eq!(q("92233720368547758.08"), Err(MoneyError::Overflow));
        assert_eq!(q("-92233720368547758.09"), Err(MoneyError::Overflow));
        assert_eq!(
            q("99999999999999999999999999999999999999999"),
            Err(MoneyError::Overflow)
        );
    }

    #[test]
    fn quantity_display_is_minimal() {
        assert_eq!(Quantity(150).to_string(), "1.5");
        assert_eq!(Quantity(300).to_string(), "3");
        assert_eq!(Quantity(25).to_string(), "0.25");
        assert_eq!(Quantity(105).to_string(), "1.05");
        assert_eq!(Quantity(110).to_string(), "1.1");
        assert_eq!(Quantity(0).to_string(), "0");
        assert_eq!(Quantity(-100).to_string(), "-1");
        assert_eq!(Quantity(-5).to_string(), "-0.05");
        assert_eq!(Quantity(-150).to_string(), "-1.5");
        assert_eq!(Quantity(i64::MIN).to_string(), "-92233720368547758.08");
        // Display -> parse round-trips.
        for h in [0, 1, 10, 99, 150, -7, 123_456, i64::MAX, i64::MIN] {
            assert_eq!(Quantity::parse(&Quantity(h).to_string()), Ok(Quantity(h)));
        }
    }

    #[test]
    fn quantity_serde() {
        fn de<'a, D: serde::Deserializer<'a, Error = ValueError>>(d: D) -> Option<i64> {
            Quantity::deserialize(d).ok().map(|q| q.0)
        }
        assert_eq!(de(3i64.into_deserializer()), Some(300));
        assert_eq!(de((-2i64).into_deserializer()), Some(-200));
        assert_eq!(de(2u64.into_deserializer()), Some(200));
        assert_eq!(de(1.5f64.into_deserializer()), Some(150));
        assert_eq!(de(0.1f64.into_deserializer()), Some(10)); // "0.1"
        assert_eq!(de(0.29f64.into_deserializer()), Some(29)); // "0.29", not 0.28999..
        assert_eq!(de((-0.05f64).into_deserializer()), Some(-5));
        assert_eq!(de(3.0f64.into_deserializer()), Some(300)); // "3"
        assert_eq!(de("2.25".into_deserializer()), Some(225));
        assert_eq!(de(1.005f64.into_deserializer()), None); // 3 decimals
        assert_eq!(de(1e-7f64.into_deserializer()), None); // "0.0000001"
        assert_eq!(de(f64::NAN.into_deserializer()), None);
        assert_eq!(de(f64::INFINITY.into_deserializer()), None);
        assert_eq!(de(1e300f64.into_deserializer()), None); // overflow
        assert_eq!(de("1e2".into_deserializer()), None);
        assert_eq!(de(i64::MAX.into_deserializer()), None); // * 100 overflows
        assert_eq!(de(u64::MAX.into_deserializer()), None);
        assert_eq!(de(true.into_deserializer()), None);
        // Serialized value.
        assert_eq!(Quantity(150).as_f64(), 1.5);
        assert_eq!(Quantity(29).as_f64(), 0.29);
        assert_eq!(Quantity(-100).as_f64(), -1.0);
    }

    #[test]
    fn format_minor_cases() {
        assert_eq!(format_minor(1234, 2), "12.34");
        assert_eq!(format_minor(-5, 2), "-0.05");
        assert_eq!(format_minor(1234, 0), "1234");
        assert_eq!(format_minor(-1234, 0), "-1234");
        assert_eq!(format_minor(5, 2), "0.05");
        assert_eq!(format_minor(0, 2), "0.00");
        assert_eq!(format_minor(100, 2), "1.00");
        assert_eq!(format_minor(-1234, 2), "-12.34");
        assert_eq!(format_minor(1234, 3), "1.234");
        assert_eq!(format_minor(7, 4), "0.0007");
        assert_eq!(format_minor(i64::MIN, 2), "-92233720368547758.08");
        assert_eq!(format_minor(i64::MAX, 2), "92233720368547758.07");
    }
}

/// Quantities are parsed from API text and `compute` runs on API numbers: any input
/// gives a value or a `MoneyError`, never a panic (an overflow included).
#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    fn adjustment() -> impl Strategy<Value = Option<Adjustment>> {
        prop_oneof![
            Just(None),
            any::<i64>().prop_map(|a| Some(Adjustment::Amount(a))),
            (0u32..20_000).prop_map(|b| Some(Adjustment::Percent(Bps(b)))),
            any::<u32>().prop_map(|b| Some(Adjustment::Percent(Bps(b)))),
        ]
    }

    fn amount() -> impl Strategy<Value = i64> {
        prop_oneof![any::<i64>(), -1_000_000i64..1_000_000]
    }

    fn line() -> impl Strategy<Value = LineInput> {
        (amount(), amount(), any::<bool>(), any::<bool>()).prop_map(
            |(quantity, unit_price, taxable, selected)| LineInput {
                quantity: Quantity(quantity),
                unit_price,
                taxable,
                selected,
            },
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn any_text_is_a_quantity_or_an_error(text in prop_oneof![".{0,40}", "-?[0-9]{0,25}(\\.[0-9]{0,3})?"]) {
            if let Ok(quantity) = Quantity::parse(&text) {
                // What it prints parses back to the same quantity.
                prop_assert_eq!(Quantity::parse(&quantity.to_string()), Ok(quantity));
            }
            let _ = serde_json::from_str::<Quantity>(&format!("\"{text}\""));
            let _ = serde_json::from_str::<Quantity>(&text);
        }

        #[test]
        fn compute_never_panics(
            lines in prop::collection::vec(line(), 0..8),
            discount in adjustment(),
            rates in prop::collection::vec(
                prop_oneof![0u32..=1_000_000, 0u32..200_000]
                    .prop_map(|ppm| Rate::from_ppm(i64::from(ppm)).unwrap_or(Rate::FULL)),
                0..4,
            ),
            deposit in adjustment(),
        ) {
            if let Ok(totals) = compute(&lines, discount, &rates, deposit) {
                prop_assert_eq!(totals.line_totals.len(), lines.len());
            }
        }

        #[test]
        fn rounding_never_panics(numerator in any::<i128>(), denominator in any::<i128>()) {
            let _ = round_half_up(numerator, denominator);
        }

        #[test]
        fn formatting_never_panics(amount in any::<i64>(), exponent in any::<u8>()) {
            let _ = format_minor(amount, exponent);
        }
    }
}
