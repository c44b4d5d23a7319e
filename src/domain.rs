//! Validated value types, parsed at the edge so services never see raw strings.
//! Each `parse` returns a human message; the caller attaches the field path.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// An email address, trimmed, at most 254 characters, compared case-insensitively.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(transparent)]
pub struct Email(String);

impl Email {
    pub fn parse(input: &str) -> Result<Self, &'static str> {
        let email = input.trim();
        if email.is_empty() {
            return Err("is required");
        }
        if email.len() > 254 {
            return Err("must be at most 254 characters");
        }
        // NUL in particular: PostgreSQL refuses it in text, and a mail server would
        // read the address differently from us.
        if email.chars().any(char::is_control) {
            return Err("must not contain control characters");
        }
        let Some((local, domain)) = email.rsplit_once('@') else {
            return Err("must be an email address like name@example.com");
        };
        let valid_domain = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && domain
                .chars()
                .all(|c| c.is_alphanumeric() || c == '.' || c == '-');
        if local.is_empty()
            || local.len() > 64
            || local.contains(char::is_whitespace)
            || !valid_domain
        {
            return Err("must be an email address like name@example.com");
        }
        Ok(Self(email.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form used for uniqueness and look-ups.
    pub fn normalized(&self) -> String {
        self.0.to_lowercase()
    }
}

/// A phone number as typed (kept for display) with at least 7 and at most 15 digits (E.164).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(transparent)]
pub struct Phone(String);

impl Phone {
    pub fn parse(input: &str) -> Result<Self, &'static str> {
        let phone = input.trim();
        if phone.is_empty() {
            return Err("is required");
        }
        let allowed = |c: char| c.is_ascii_digit() || " +-().".contains(c) || c == 'x';
        if !phone.chars().all(allowed) || phone[1..].contains('+') {
            return Err("may contain only digits, spaces, + - ( ) . and x for an extension");
        }
        let digits = phone
            .split('x')
            .next()
            .unwrap_or_default()
            .chars()
            .filter(char::is_ascii_digit)
            .count();
        if !(7..=15).contains(&digits) {
            return Err("must have between 7 and 15 digits");
        }
        Ok(Self(phone.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn digits(&self) -> String {
        self.0.chars().filter(char::is_ascii_digit).collect()
    }

    /// The number in E.164 (`+15550100000`) for text messages: typed with `+` and a
    /// country code, or a North American number (10 digits, or 11 starting with 1)
    /// without one. An extension (`x12`) is dropped. None when neither applies.
    pub fn e164(&self) -> Option<String> {
        e164(&self.0)
    }
}

/// See [`Phone::e164`]; for numbers stored as typed.
pub fn e164(typed: &str) -> Option<String> {
    let typed = typed.trim();
    let main = typed.split('x').next().unwrap_or_default();
    let digits: String = main.chars().filter(char::is_ascii_digit).collect();
    if typed.starts_with('+') {
        (8..=15)
            .contains(&digits.len())
            .then(|| format!("+{digits}"))
    } else if digits.len() == 10 {
        Some(format!("+1{digits}"))
    } else if digits.len() == 11 && digits.starts_with('1') {
        Some(format!("+{digits}"))
    } else {
        None
    }
}

/// An IANA time zone name such as `America/New_York`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeZone(pub chrono_tz::Tz);

impl TimeZone {
    pub fn parse(input: &str) -> Result<Self, &'static str> {
        input
            .trim()
            .parse::<chrono_tz::Tz>()
            .map(Self)
            .map_err(|_| "must be an IANA time zone such as America/New_York")
    }

    pub fn name(&self) -> &'static str {
        self.0.name()
    }
}

/// ISO 4217 currencies jobber bills in, with their minor-unit exponent.
const CURRENCIES: &[(&str, u8)] = &[
    ("AED", 2),
    ("ARS", 2),
    ("AUD", 2),
    ("BGN", 2),
    ("BRL", 2),
    ("CAD", 2),
    ("CHF", 2),
    ("CLP", 0),
    ("CNY", 2),
    ("COP", 2),
    ("CZK", 2),
    ("DKK", 2),
    ("EGP", 2),
    ("EUR", 2),
    ("GBP", 2),
    ("HKD", 2),
    ("HUF", 2),
    ("IDR", 2),
    ("ILS", 2),
    ("INR", 2),
    ("ISK", 0),
    ("JPY", 0),
    ("KES", 2),
    ("KRW", 0),
    ("MXN", 2),
    ("MYR", 2),
    ("NGN", 2),
    ("NOK", 2),
    ("NZD", 2),
    ("PEN", 2),
    ("PHP", 2),
    ("PKR", 2),
    ("PLN", 2),
    ("RON", 2),
    ("SAR", 2),
    ("SEK", 2),
    ("SGD", 2),
    ("THB", 2),
    ("TRY", 2),
    ("TWD", 2),
    ("UAH", 2),
    ("USD", 2),
    ("VND", 0),
    ("ZAR", 2),
];

/// An ISO 4217 currency code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Currency(&'static str, u8);

impl Currency {
    pub fn parse(input: &str) -> Result<Self, &'static str> {
        let code = input.trim().to_ascii_uppercase();
        CURRENCIES
            .iter()
            .find(|(c, _)| *c == code)
            .map(|&(c, exp)| Self(c, exp))
            .ok_or("must be a supported ISO 4217 currency code such as USD")
    }

    pub fn code(&self) -> &'static str {
        self.0
    }

    /// Digits after the decimal point (2 for USD, 0 for JPY).
    pub fn minor_unit_exponent(&self) -> u8 {
        self.1
    }
}

/// A `LIKE`/`ILIKE` pattern for "contains `term`", in which `%`, `_` and `\` typed by a
/// person match themselves.
pub fn like_contains(term: &str) -> String {
    let mut out = String::with_capacity(term.len() + 2);
    out.push('%');
    for c in term.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// Trim a required text field and bound its length.
pub fn required_text(input: &str, max: usize) -> Result<String, String> {
    let text = input.trim();
    if text.is_empty() {
        return Err("is required".into());
    }
    bounded(text, max).map(str::to_string)
}

/// Trim an optional text field; blank becomes `None`.
pub fn optional_text(input: Option<&str>, max: usize) -> Result<Option<String>, String> {
    match input.map(str::trim).filter(|t| !t.is_empty()) {
        None => Ok(None),
        Some(text) => bounded(text, max).map(|t| Some(t.to_string())),
    }
}

fn bounded(text: &str, max: usize) -> Result<&str, String> {
    if text.chars().count() > max {
        Err(format!("must be at most {max} characters"))
    } else if text
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        Err("must not contain control characters".into())
    } else {
        Ok(text)
    }
}

/// The first year a date given to the API may fall in.
pub const MIN_YEAR: i32 = 1900;
/// The last year a date given to the API may fall in. chrono reaches year 262143,
/// where adding a visit's duration or a recurrence step overflows (a panic in
/// chrono's `+`); no business books work that far ahead, so the API refuses it at
/// the edge and everything downstream can add days and years freely.
pub const MAX_YEAR: i32 = 2200;

/// A calendar day within [`MIN_YEAR`]..=[`MAX_YEAR`].
pub fn check_date(date: chrono::NaiveDate) -> Result<chrono::NaiveDate, String> {
    use chrono::Datelike;
    if (MIN_YEAR..=MAX_YEAR).contains(&date.year()) {
        Ok(date)
    } else {
        Err(format!(
            "must be a date between {MIN_YEAR}-01-01 and {MAX_YEAR}-12-31"
        ))
    }
}

/// An instant whose UTC day is within [`MIN_YEAR`]..=[`MAX_YEAR`].
pub fn check_instant(
    instant: chrono::DateTime<chrono::Utc>,
) -> Result<chrono::DateTime<chrono::Utc>, String> {
    check_date(instant.date_naive()).map(|_| instant)
}

/// `#[serde(deserialize_with = "…")]` for every date and instant the API takes, so
/// the range check of [`check_date`] cannot be forgotten by a handler: the error
/// names the field like any other (`schedule.start_date: must be a date between …`).
/// `Option` fields also need `#[serde(default)]`.
pub mod dates {
    use chrono::{DateTime, NaiveDate, Utc};
    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer};

    pub fn date<'de, D: Deserializer<'de>>(deserializer: D) -> Result<NaiveDate, D::Error> {
        super::check_date(NaiveDate::deserialize(deserializer)?).map_err(D::Error::custom)
    }

    pub fn optional_date<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<NaiveDate>, D::Error> {
        Option::<NaiveDate>::deserialize(deserializer)?
            .map(super::check_date)
            .transpose()
            .map_err(D::Error::custom)
    }

    pub fn instant<'de, D: Deserializer<'de>>(deserializer: D) -> Result<DateTime<Utc>, D::Error> {
        super::check_instant(DateTime::<Utc>::deserialize(deserializer)?).map_err(D::Error::custom)
    }

    pub fn optional_instant<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<DateTime<Utc>>, D::Error> {
        Option::<DateTime<Utc>>::deserialize(deserializer)?
            .map(super::check_instant)
            .transpose()
            .map_err(D::Error::custom)
    }
}

/// A postal address, as clients and properties carry it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Address {
    pub street1: Option<String>,
    pub street2: Option<String>,
    pub city: Option<String>,
    /// State, province or region.
    pub region: Option<String>,
    pub postal_code: Option<String>,
    /// ISO 3166-1 alpha-2 country code.
    pub country: Option<String>,
}

impl Address {
    /// Trim every part; check lengths and the country code.
    pub fn clean(&self, path: &str, errors: &mut Vec<FieldError>) -> Address {
        let mut part = |name: &str, value: &Option<String>, max: usize| match optional_text(
            value.as_deref(),
            max,
        ) {
            Ok(v) => v,
            Err(msg) => {
                errors.push(FieldError::new(format!("{path}.{name}"), msg));
                None
            }
        };
        let mut address = Address {
            street1: part("street1", &self.street1, 200),
            street2: part("street2", &self.street2, 200),
            city: part("city", &self.city, 100),
            region: part("region", &self.region, 100),
            postal_code: part("postal_code", &self.postal_code, 20),
            country: part("country", &self.country, 2),
        };
        if let Some(country) = &address.country {
            if country.len() != 2 || !country.chars().all(|c| c.is_ascii_alphabetic()) {
                errors.push(FieldError::new(
                    format!("{path}.country"),
                    "must be a two-letter ISO 3166 code such as US",
                ));
            }
            address.country = Some(country.to_ascii_uppercase());
        }
        address
    }

    pub fn is_empty(&self) -> bool {
        self.one_line().is_empty()
    }

    pub fn one_line(&self) -> String {
        [
            &self.street1,
            &self.street2,
            &self.city,
            &self.region,
            &self.postal_code,
            &self.country,
        ]
        .into_iter()
        .flatten()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(", ")
    }
}

/// A discount or deposit as the API carries it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdjustmentDto {
    pub kind: AdjustmentKind,
    /// Minor units for `amount`, basis points for `percent` (1500 = 15 %).
    pub value: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum AdjustmentKind {
    Amount,
    Percent,
}

impl AdjustmentKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AdjustmentKind::Amount => "amount",
            AdjustmentKind::Percent => "percent",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "amount" => Some(AdjustmentKind::Amount),
            "percent" => Some(AdjustmentKind::Percent),
            _ => None,
        }
    }
}

/// What a user may do (seed §9.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Everything, including billing and the account itself.
    Owner,
    /// Everything but removing the last owner.
    Admin,
    /// The office: clients, quotes, jobs, schedule, invoices.
    Dispatcher,
    /// Field staff: their own visits.
    Technician,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Dispatcher => "dispatcher",
            Role::Technician => "technician",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "owner" => Some(Role::Owner),
            "admin" => Some(Role::Admin),
            "dispatcher" => Some(Role::Dispatcher),
            "technician" => Some(Role::Technician),
            _ => None,
        }
    }

    pub fn is_admin(self) -> bool {
        matches!(self, Role::Owner | Role::Admin)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_wildcards_typed_by_a_person_match_themselves() {
        assert_eq!(like_contains(r"50%_off\"), r"%50\%\_off\\%");
        assert_eq!(like_contains("Ann"), "%Ann%");
    }

    #[test]
    fn emails() {
        assert!(
            Email::parse(" Ann@Example.com ").is_ok_and(
                |e| e.as_str() == "Ann@Example.com" && e.normalized() == "ann@example.com"
            )
        );
        for bad in [
            "",
            "ann",
            "ann@",
            "@example.com",
            "ann@example",
            "a b@example.com",
            "ann@exa mple.com",
            "ann@.com",
            "ann\u{0}@example.com",
            "ann@exam\u{0}ple.com",
            "ann\r\n@example.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn phones_in_e164() {
        assert_eq!(
            super::e164("+44 20 7946 0958").as_deref(),
            Some("+442079460958")
        );
        assert_eq!(
            super::e164("(555) 010-9999 x12").as_deref(),
            Some("+15550109999")
        );
        assert_eq!(
            super::e164("1-555-010-9999").as_deref(),
            Some("+15550109999")
        );
        assert_eq!(super::e164("0201234567").as_deref(), Some("+10201234567"));
        assert_eq!(super::e164("555 0109"), None);
    }

    #[test]
    fn phones() {
        let phone = Phone::parse("+1 (555) 010-9999 x12");
        assert!(phone.as_ref().is_ok_and(|p| p.digits() == "1555010999912"));
        for bad in ["", "12345", "call me", "555-0100+1", "1234567890123456"] {
            assert!(Phone::parse(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn time_zones_and_currencies() {
        assert_eq!(
            TimeZone::parse("Europe/Berlin").map(|t| t.name()),
            Ok("Europe/Berlin")
        );
        assert!(TimeZone::parse("Mars/Olympus").is_err());
        assert_eq!(Currency::parse("usd").map(|c| c.code()), Ok("USD"));
        assert_eq!(
            Currency::parse("JPY").map(|c| c.minor_unit_exponent()),
            Ok(0)
        );
        assert!(Currency::parse("XXX").is_err());
    }

    #[test]
    fn text_fields() {
        assert_eq!(required_text("  Ann ", 10), Ok("Ann".to_string()));
        assert!(required_text("   ", 10).is_err());
        assert!(required_text("abcdefghijk", 10).is_err());
        assert_eq!(optional_text(Some("  "), 10), Ok(None));
        assert!(optional_text(Some("a\u{0}b"), 10).is_err());
    }

    #[test]
    fn dates_outside_the_sane_range_are_refused() {
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct Input {
            #[serde(deserialize_with = "dates::date")]
            day: chrono::NaiveDate,
            #[serde(default, deserialize_with = "dates::optional_instant")]
            at: Option<chrono::DateTime<chrono::Utc>>,
        }
        let parse = |json: &str| crate::http::extract::parse_json::<Input>(json.as_bytes());
        assert!(parse(r#"{"day": "2026-12-02"}"#).is_ok_and(|i| i.at.is_none()));
        assert!(parse(r#"{"day": "1900-01-01", "at": "2200-12-31T23:59:59Z"}"#).is_ok());
        for bad in [
            r#"{"day": "+262142-12-31"}"#,
            r#"{"day": "1899-12-31"}"#,
            r#"{"day": "2201-01-01"}"#,
            r#"{"day": "2026-12-02", "at": "9999-12-31T23:59:59Z"}"#,
        ] {
            let error = parse(bad).unwrap_err();
            assert_eq!(error.status(), 422, "{bad}");
            assert!(
                error.fields[0]
                    .message
                    .contains("between 1900-01-01 and 2200-12-31")
            );
        }
    }

    #[test]
    fn addresses() {
        let mut errors = Vec::new();
        let raw = Address {
            street1: Some(" 1 Main St ".into()),
            country: Some("us".into()),
            ..Default::default()
        };
        let clean = raw.clean("billing_address", &mut errors);
        assert!(errors.is_empty());
        assert_eq!(clean.one_line(), "1 Main St, US");
        Address {
            country: Some("USA".into()),
            ..Default::default()
        }
        .clean("a", &mut errors);
        assert_eq!(errors[0].field, "a.country");
    }
}

/// The validated types take any text an API user sends: a value or a message,
/// never a panic; and every date or instant the API accepts is one whose day and
/// year arithmetic cannot overflow.
#[cfg(test)]
mod properties {
    use chrono::{Datelike, Days, Months, NaiveDate, TimeDelta};
    use proptest::prelude::*;

    use super::*;

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Dated {
        #[serde(deserialize_with = "dates::date")]
        day: NaiveDate,
        #[serde(default, deserialize_with = "dates::optional_instant")]
        at: Option<chrono::DateTime<chrono::Utc>>,
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn any_text_is_checked_without_panicking(text in ".{0,80}") {
            let _ = Email::parse(&text);
            let _ = Phone::parse(&text);
            let _ = e164(&text);
            let _ = TimeZone::parse(&text);
            let _ = Currency::parse(&text);
            let _ = required_text(&text, 20);
            let _ = optional_text(Some(&text), 20);
            if let Ok(email) = Email::parse(&text) {
                prop_assert!(!email.as_str().contains('\0'));
            }
        }

        #[test]
        fn any_date_text_is_in_range_or_refused(
            day in prop_oneof![
                "[+-]?[0-9]{1,7}-[0-9]{1,2}-[0-9]{1,2}",
                ".{0,12}",
            ],
            at in prop_oneof![
                "[+-]?[0-9]{4,6}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-5][0-9](Z|[+-][01][0-9]:[0-5][0-9])",
                ".{0,12}",
            ],
        ) {
            let json = serde_json::json!({"day": day, "at": at}).to_string();
            if let Ok(dated) = crate::http::extract::parse_json::<Dated>(json.as_bytes()) {
                prop_assert!((MIN_YEAR..=MAX_YEAR).contains(&dated.day.year()));
                // What services do with a date never overflows within the range.
                let later = dated.day.and_hms_opt(23, 59, 59).unwrap_or_default()
                    + TimeDelta::days(3 * 366)
                    + TimeDelta::minutes(24 * 60);
                prop_assert!(later.year() <= MAX_YEAR + 4);
                prop_assert!(dated.day.checked_add_months(Months::new(12 * 50)).is_some());
                prop_assert!(dated.day.checked_sub_days(Days::new(366)).is_some());
            }
        }
    }
}

/// One failing field: a JSON pointer-like path (`emails[1].address`) and why.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema, PartialEq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}
