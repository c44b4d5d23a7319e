use chrono::{DateTime, NaiveTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::domain::{Address, Email, FieldError, Phone, optional_text, required_text};
use crate::error::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RequestStatus {
    /// Waiting for the office.
    New,
    /// Turned into a quote or a job.
    Converted,
    /// Put away without converting.
    Archived,
}

impl RequestStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RequestStatus::New => "new",
            RequestStatus::Converted => "converted",
            RequestStatus::Archived => "archived",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "new" => Some(RequestStatus::New),
            "converted" => Some(RequestStatus::Converted),
            "archived" => Some(RequestStatus::Archived),
            _ => None,
        }
    }
}

/// How a request came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RequestSource {
    /// The public request form.
    Form,
    /// An online booking (which made its job at once).
    Booking,
    /// "Request more work" in the client hub: the client is known (`client_id`).
    Hub,
}

impl RequestSource {
    pub fn as_str(self) -> &'static str {
        match self {
            RequestSource::Form => "form",
            RequestSource::Booking => "booking",
            RequestSource::Hub => "hub",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "form" => Some(RequestSource::Form),
            "booking" => Some(RequestSource::Booking),
            "hub" => Some(RequestSource::Hub),
            _ => None,
        }
    }
}

/// A work request as the office sees it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WorkRequest {
    pub id: Uuid,
    pub status: RequestStatus,
    pub source: RequestSource,
    pub name: String,
    pub email: String,
    pub phone: Option<String>,
    pub address: Address,
    /// The catalog service asked for (null when none was picked or it was deleted).
    pub service_id: Option<Uuid>,
    /// The service's name when the request came in.
    pub service_name: Option<String>,
    pub details: Option<String>,
    /// When the client would like the work done, in their words.
    pub preferred_times: Option<String>,
    /// The client it was converted for (found by email or created).
    pub client_id: Option<Uuid>,
    pub quote_id: Option<Uuid>,
    pub job_id: Option<Uuid>,
    pub converted_at: Option<DateTime<Utc>>,
    pub archived_at: Option<DateTime<Utc>>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What a visitor sends from the public request form.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestInput {
    pub name: String,
    pub email: String,
    pub phone: Option<String>,
    pub address: Option<Address>,
    /// One of the form's `services`.
    pub service_id: Option<Uuid>,
    pub details: Option<String>,
    pub preferred_times: Option<String>,
    /// A spam trap: the form hides it from people, so it must stay empty. A request
    /// with it filled in is answered like any other and dropped.
    pub website: Option<String>,
}

/// A validated request.
#[derive(Debug, Clone)]
pub struct RequestData {
    pub name: String,
    pub email: Email,
    pub phone: Option<Phone>,
    pub address: Address,
    pub service_id: Option<Uuid>,
    pub details: Option<String>,
    pub preferred_times: Option<String>,
}

/// The contact part of a request and a booking, checked field by field.
pub fn contact(
    name: &str,
    email: &str,
    phone: Option<&str>,
    address: Option<&Address>,
    errors: &mut Vec<FieldError>,
) -> (String, Option<Email>, Option<Phone>, Address) {
    let name = required_text(name, 200).unwrap_or_else(|m| {
        errors.push(FieldError::new("name", m));
        String::new()
    });
    let email = Email::parse(email)
        .map_err(|m| errors.push(FieldError::new("email", m)))
        .ok();
    let phone = match phone.map(str::trim).filter(|p| !p.is_empty()) {
        None => None,
        Some(p) => Phone::parse(p)
            .map_err(|m| errors.push(FieldError::new("phone", m)))
            .ok(),
    };
    let address = address
        .map(|a| a.clean("address", errors))
        .unwrap_or_default();
    (name, email, phone, address)
}

impl RequestInput {
    /// Whether the spam trap caught it.
    pub fn is_spam(&self) -> bool {
        self.website
            .as_deref()
            .is_some_and(|w| !w.trim().is_empty())
    }

    pub fn validate(self) -> Result<RequestData, Error> {
        let mut errors = Vec::new();
        let (name, email, phone, address) = contact(
            &self.name,
            &self.email,
            self.phone.as_deref(),
            self.address.as_ref(),
            &mut errors,
        );
        let details = optional_text(self.details.as_deref(), 5000).unwrap_or_else(|m| {
            errors.push(FieldError::new("details", m));
            None
        });
        let preferred_times =
            optional_text(self.preferred_times.as_deref(), 500).unwrap_or_else(|m| {
                errors.push(FieldError::new("preferred_times", m));
                None
            });
        match (email, errors.is_empty()) {
            (Some(email), true) => Ok(RequestData {
                name,
                email,
                phone,
                address,
                service_id: self.service_id,
                details,
                preferred_times,
            }),
            _ => Err(Error::invalid(errors)),
        }
    }
}

/// A service offered on the public form.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FormService {
    pub id: Uuid,
    pub name: String,
    pub description: Option<String>,
    /// Minutes a booked visit takes; present only for services bookable online.
    pub duration_minutes: Option<i32>,
}

/// What the public request form shows.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PublicForm {
    pub slug: String,
    pub business_name: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub website: Option<String>,
    /// The business's accent colour, `#RRGGBB`.
    pub brand_color: String,
    /// IANA time zone of the business (booking slots are in it).
    pub time_zone: String,
    /// Active services from the catalog.
    pub services: Vec<FormService>,
    /// Whether online booking is open (some services are then bookable).
    pub booking_enabled: bool,
}

/// One day's working hours, in the account's time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkingHours {
    /// ISO weekday: 1 = Monday … 7 = Sunday.
    pub day: u8,
    #[schema(value_type = String, example = "08:00")]
    #[serde(with = "hhmm")]
    pub start: NaiveTime,
    #[schema(value_type = String, example = "17:00")]
    #[serde(with = "hhmm")]
    pub end: NaiveTime,
}

mod hhmm {
    use chrono::NaiveTime;
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(time: &NaiveTime, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&time.format("%H:%M").to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<NaiveTime, D::Error> {
        let text = String::deserialize(d)?;
        NaiveTime::parse_from_str(&text, "%H:%M")
            .map_err(|_| D::Error::custom("must be a time such as 08:00"))
    }
}

/// A service clients may book online.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BookableService {
    pub catalog_item_id: Uuid,
    /// 15 to 720.
    pub duration_minutes: i32,
}

/// The request form's and online booking's settings (`/settings/request-form`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FormSettings {
    /// The form's public name: `/request/<slug>` and `/api/v1/public/<slug>/…`.
    pub slug: String,
    pub enabled: bool,
    pub booking_enabled: bool,
    pub working_hours: Vec<WorkingHours>,
    /// Minutes kept free before and after each visit (travel).
    pub travel_buffer_minutes: i32,
    /// Hours ahead the earliest bookable slot must be.
    pub notice_hours: i32,
    pub bookable_services: Vec<BookableService>,
    pub version: i32,
    pub updated_at: DateTime<Utc>,
}

/// `PUT /settings/request-form`: the whole settings (with `version` or `If-Match`).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FormSettingsInput {
    /// 1 to 60 lower-case letters, digits and dashes, not starting or ending with a dash.
    pub slug: String,
    pub enabled: bool,
    pub booking_enabled: bool,
    pub working_hours: Vec<WorkingHours>,
    pub travel_buffer_minutes: i32,
    pub notice_hours: i32,
    #[serde(default)]
    pub bookable_services: Vec<BookableService>,
    pub version: Option<i32>,
}

impl FormSettingsInput {
    pub fn check(&self) -> Result<(), Error> {
        let mut errors = Vec::new();
        let slug_ok = (1..=60).contains(&self.slug.len())
            && self
                .slug
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !self.slug.starts_with('-')
            && !self.slug.ends_with('-');
        if !slug_ok {
            errors.push(FieldError::new(
                "slug",
                "must be 1 to 60 lower-case letters, digits and dashes, not starting or ending with a dash",
            ));
        }
        super::hours::check_hours("working_hours", &self.working_hours, &mut errors);
        if !(0..=480).contains(&self.travel_buffer_minutes) {
            errors.push(FieldError::new(
                "travel_buffer_minutes",
                "must be between 0 and 480",
            ));
        }
        if !(0..=720).contains(&self.notice_hours) {
            errors.push(FieldError::new("notice_hours", "must be between 0 and 720"));
        }
        if self.bookable_services.len() > 100 {
            errors.push(FieldError::new("bookable_services", "at most 100"));
        }
        for (i, service) in self.bookable_services.iter().enumerate() {
            if !(15..=720).contains(&service.duration_minutes) {
                errors.push(FieldError::new(
                    format!("bookable_services[{i}].duration_minutes"),
                    "must be between 15 and 720",
                ));
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(Error::invalid(errors))
        }
    }
}

/// What to convert a request into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConvertTarget {
    Quote,
    Job,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConvertInput {
    pub to: ConvertTarget,
}

/// A bookable start time.
pub type BookingSlot = crate::error::FreeSlot;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SlotList {
    pub service_id: Uuid,
    pub duration_minutes: i32,
    pub time_zone: String,
    pub slots: Vec<BookingSlot>,
}

/// `POST /public/{account}/bookings`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BookingInput {
    pub service_id: Uuid,
    /// One of the slots' `starts_at`.
    #[serde(deserialize_with = "crate::domain::dates::instant")]
    pub starts_at: DateTime<Utc>,
    pub name: String,
    pub email: String,
    pub phone: Option<String>,
    /// Where the work is; `street1` is required.
    pub address: Address,
    pub details: Option<String>,
    /// A spam trap that must stay empty (as on the request form).
    pub website: Option<String>,
}

/// A booking made.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Booking {
    pub request_id: Uuid,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub service_name: String,
    pub business_name: String,
}
