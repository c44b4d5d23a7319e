use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::domain::{Address, Email, Phone, optional_text};
use crate::error::{Error, FieldError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ClientStatus {
    /// A prospect who has not bought yet.
    Lead,
    Active,
    /// Hidden from day-to-day lists; history kept.
    Archived,
}

impl ClientStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ClientStatus::Lead => "lead",
            ClientStatus::Active => "active",
            ClientStatus::Archived => "archived",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "lead" => Some(ClientStatus::Lead),
            "active" => Some(ClientStatus::Active),
            "archived" => Some(ClientStatus::Archived),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ClientEmail {
    pub address: String,
    /// `main`, `work`, `billing`, … (free text).
    pub label: Option<String>,
    pub primary: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ClientPhone {
    pub number: String,
    /// `mobile`, `home`, `work`, … (free text).
    pub label: Option<String>,
    pub primary: bool,
    /// The client agreed to receive text messages on this number.
    pub sms_opt_in: bool,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Client {
    pub id: Uuid,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub company_name: Option<String>,
    /// "First Last", else the company name.
    pub display_name: String,
    pub emails: Vec<ClientEmail>,
    pub phones: Vec<ClientPhone>,
    pub billing_address: Address,
    pub tags: Vec<String>,
    pub notes: Option<String>,
    pub status: ClientStatus,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// `GET` it (signed in) for the 256 x 256 JPEG; None until an avatar is ready.
    /// The address changes with every new avatar.
    pub avatar_url: Option<String>,
    /// Set while an uploaded avatar is processed, then `ready` (or `failed`).
    pub avatar_status: Option<crate::platform::picture::Status>,
}

impl Client {
    /// Where an email to this client goes: `to` when given (checked), else the
    /// primary address; a client without one is a 422 on `to`.
    pub fn email_to(&self, to: Option<&str>) -> Result<String, Error> {
        match to.map(str::trim).filter(|t| !t.is_empty()) {
            Some(to) => Email::parse(to)
                .map(|e| e.as_str().to_string())
                .map_err(|m| Error::field("to", m)),
            None => self
                .emails
                .iter()
                .find(|e| e.primary)
                .or(self.emails.first())
                .map(|e| e.address.clone())
                .ok_or_else(|| {
                    Error::field(
                        "to",
                        "the client has no email address; add one or give `to`",
                    )
                }),
        }
    }
}

impl Client {
    /// Where a text to this client goes: the primary phone if it agreed to texts,
    /// else the first one that did (in E.164). None: no phone may be texted.
    pub fn sms_number(&self) -> Option<String> {
        let mut phones: Vec<&ClientPhone> = self.phones.iter().filter(|p| p.sms_opt_in).collect();
        phones.sort_by_key(|p| !p.primary);
        phones
            .into_iter()
            .find_map(|p| crate::domain::e164(&p.number))
    }

    /// Whether one of the client's phones is `e164`.
    pub fn has_number(&self, e164: &str) -> bool {
        self.phones
            .iter()
            .any(|p| crate::domain::e164(&p.number).as_deref() == Some(e164))
    }
}

pub fn display_name(first: Option<&str>, last: Option<&str>, company: Option<&str>) -> String {
    let person = [first, last]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    if person.is_empty() {
        company.unwrap_or_default().to_string()
    } else {
        person
    }
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmailInput {
    pub address: String,
    pub label: Option<String>,
    #[serde(default)]
    pub primary: bool,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PhoneInput {
    pub number: String,
    pub label: Option<String>,
    #[serde(default)]
    pub primary: bool,
    #[serde(default)]
    pub sms_opt_in: bool,
}

/// A client as sent to `POST /clients` and `PUT /clients/{id}`. A person's name or a
/// company name is required. On `PUT`, omitted fields are cleared and `version` (or
/// `If-Match`) is required.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientInput {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub company_name: Option<String>,
    #[serde(default)]
    pub emails: Vec<EmailInput>,
    #[serde(default)]
    pub phones: Vec<PhoneInput>,
    pub billing_address: Option<Address>,
    #[serde(default)]
    pub tags: Vec<String>,
    pub notes: Option<String>,
    /// Default `active` on create; kept when omitted on update.
    pub status: Option<ClientStatus>,
    /// The version you read (required on PUT unless If-Match is sent).
    pub version: Option<i32>,
}

/// A validated client.
#[derive(Debug, Clone)]
pub struct ClientData {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub company_name: Option<String>,
    pub emails: Vec<ClientEmail>,
    pub phones: Vec<ClientPhone>,
    pub billing_address: Address,
    pub tags: Vec<String>,
    pub notes: Option<String>,
    pub status: Option<ClientStatus>,
}

const MAX_EMAILS: usize = 10;
const MAX_PHONES: usize = 10;
const MAX_TAGS: usize = 30;

impl ClientInput {
    pub fn validate(self) -> Result<ClientData, Error> {
        let mut errors = Vec::new();
        let mut text = |field: &str, value: Option<&str>, max: usize| {
            optional_text(value, max).unwrap_or_else(|m| {
                errors.push(FieldError::new(field, m));
                None
            })
        };
        let first_name = text("first_name", self.first_name.as_deref(), 100);
        let last_name = text("last_name", self.last_name.as_deref(), 100);
        let company_name = text("company_name", self.company_name.as_deref(), 200);
        let notes = text("notes", self.notes.as_deref(), 10_000);
        if first_name.is_none() && last_name.is_none() && company_name.is_none() {
            errors.push(FieldError::new(
                "first_name",
                "a first or last name, or a company name, is required",
            ));
        }

        if self.emails.len() > MAX_EMAILS {
            errors.push(FieldError::new("emails", format!("at most {MAX_EMAILS}")));
        }
        let mut emails = Vec::new();
        for (i, e) in self.emails.iter().enumerate() {
            let label = optional_text(e.label.as_deref(), 50).unwrap_or_else(|m| {
                errors.push(FieldError::new(format!("emails[{i}].label"), m));
                None
            });
            match Email::parse(&e.address) {
                Ok(email)
                    if emails
                        .iter()
                        .any(|x: &ClientEmail| x.address.eq_ignore_ascii_case(email.as_str())) =>
                {
                    errors.push(FieldError::new(
                        format!("emails[{i}].address"),
                        "is listed twice",
                    ));
                }
                Ok(email) => emails.push(ClientEmail {
                    address: email.as_str().to_string(),
                    label,
                    primary: e.primary,
                }),
                Err(m) => errors.push(FieldError::new(format!("emails[{i}].address"), m)),
            }
        }
        if let Err(m) = single_primary(emails.iter().map(|e| e.primary)) {
            errors.push(FieldError::new("emails", m));
        }
        if !emails.iter().any(|e| e.primary)
            && let Some(first) = emails.first_mut()
        {
            first.primary = true;
        }

        if self.phones.len() > MAX_PHONES {
            errors.push(FieldError::new("phones", format!("at most {MAX_PHONES}")));
        }
        let mut phones = Vec::new();
        for (i, p) in self.phones.iter().enumerate() {
            let label = optional_text(p.label.as_deref(), 50).unwrap_or_else(|m| {
                errors.push(FieldError::new(format!("phones[{i}].label"), m));
                None
            });
            match Phone::parse(&p.number) {
                Ok(phone) => phones.push(ClientPhone {
                    number: phone.as_str().to_string(),
                    label,
                    primary: p.primary,
                    sms_opt_in: p.sms_opt_in,
                }),
                Err(m) => errors.push(FieldError::new(format!("phones[{i}].number"), m)),
            }
        }
        if let Err(m) = single_primary(phones.iter().map(|p| p.primary)) {
            errors.push(FieldError::new("phones", m));
        }
        if !phones.iter().any(|p| p.primary)
            && let Some(first) = phones.first_mut()
        {
            first.primary = true;
        }

        let billing_address = self
            .billing_address
            .unwrap_or_default()
            .clean("billing_address", &mut errors);

        if self.tags.len() > MAX_TAGS {
            errors.push(FieldError::new("tags", format!("at most {MAX_TAGS}")));
        }
        let mut tags: Vec<String> = Vec::new();
        for (i, tag) in self.tags.iter().enumerate() {
            match crate::domain::required_text(tag, 50) {
                Ok(tag) if !tags.iter().any(|t| t.eq_ignore_ascii_case(&tag)) => tags.push(tag),
                Ok(_) => {}
                Err(m) => errors.push(FieldError::new(format!("tags[{i}]"), m)),
            }
        }

        if errors.is_empty() {
            Ok(ClientData {
                first_name,
                last_name,
                company_name,
                emails,
                phones,
                billing_address,
                tags,
                notes,
                status: self.status,
            })
        } else {
            Err(Error::invalid(errors))
        }
    }
}

fn single_primary(flags: impl Iterator<Item = bool>) -> Result<(), &'static str> {
    if flags.filter(|p| *p).count() > 1 {
        Err("only one may be primary")
    } else {
        Ok(())
    }
}

impl ClientData {
    /// What `?q=` matches: lower-cased names, emails, phones (also as bare digits),
    /// billing address and tags.
    pub fn search_text(&self) -> String {
        let mut parts: Vec<String> = [&self.first_name, &self.last_name, &self.company_name]
            .into_iter()
            .flatten()
            .cloned()
            .collect();
        parts.extend(self.emails.iter().map(|e| e.address.clone()));
        for phone in &self.phones {
            parts.push(phone.number.clone());
            parts.push(phone.number.chars().filter(char::is_ascii_digit).collect());
        }
        parts.push(self.billing_address.one_line());
        parts.extend(self.tags.iter().cloned());
        parts.join(" ").to_lowercase()
    }
}

// ---- properties ----

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Property {
    pub id: Uuid,
    pub client_id: Uuid,
    /// A label such as "Lake house".
    pub name: Option<String>,
    pub address: Address,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub notes: Option<String>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A property as sent to POST and PUT. `address.street1` is required; latitude and
/// longitude come together or not at all. On PUT, `version` (or `If-Match`) is required.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PropertyInput {
    pub name: Option<String>,
    pub address: Address,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub notes: Option<String>,
    pub version: Option<i32>,
}

#[derive(Debug, Clone)]
pub struct PropertyData {
    pub name: Option<String>,
    pub address: Address,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub notes: Option<String>,
}

impl PropertyInput {
    pub fn validate(self) -> Result<PropertyData, Error> {
        let mut errors = Vec::new();
        let name = optional_text(self.name.as_deref(), 100).unwrap_or_else(|m| {
            errors.push(FieldError::new("name", m));
            None
        });
        let notes = optional_text(self.notes.as_deref(), 10_000).unwrap_or_else(|m| {
            errors.push(FieldError::new("notes", m));
            None
        });
        let address = self.address.clean("address", &mut errors);
        if address.street1.is_none() {
            errors.push(FieldError::new("address.street1", "is required"));
        }
        match (self.latitude, self.longitude) {
            (Some(lat), Some(lng)) => {
                if !(-90.0..=90.0).contains(&lat) {
                    errors.push(FieldError::new("latitude", "must be between -90 and 90"));
                }
                if !(-180.0..=180.0).contains(&lng) {
                    errors.push(FieldError::new("longitude", "must be between -180 and 180"));
                }
            }
            (None, None) => {}
            (Some(_), None) => {
                errors.push(FieldError::new("longitude", "is required with latitude"))
            }
            (None, Some(_)) => {
                errors.push(FieldError::new("latitude", "is required with longitude"))
            }
        }
        if errors.is_empty() {
            Ok(PropertyData {
                name,
                address,
                latitude: self.latitude,
                longitude: self.longitude,
                notes,
            })
        } else {
            Err(Error::invalid(errors))
        }
    }
}

impl PropertyData {
    pub fn search_text(&self) -> String {
        format!(
            "{} {}",
            self.name.as_deref().unwrap_or_default(),
            self.address.one_line()
        )
        .to_lowercase()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> ClientInput {
        ClientInput {
            first_name: Some(" Ann ".into()),
            last_name: None,
            company_name: None,
            emails: vec![],
            phones: vec![],
            billing_address: None,
            tags: vec![],
            notes: None,
            status: None,
            version: None,
        }
    }

    #[test]
    fn requires_a_name() {
        let err = ClientInput {
            first_name: Some("  ".into()),
            ..input()
        }
        .validate()
        .err();
        assert_eq!(
            err.map(|e| e.fields[0].field.clone()),
            Some("first_name".into())
        );
        assert!(
            ClientInput {
                first_name: None,
                company_name: Some("Acme".into()),
                ..input()
            }
            .validate()
            .is_ok()
        );
    }

    #[test]
    fn first_contact_becomes_primary_and_two_primaries_fail() {
        let data = ClientInput {
            emails: vec![
                EmailInput {
                    address: "a@x.io".into(),
                    label: Some("home".into()),
                    primary: false,
                },
                EmailInput {
                    address: "b@x.io".into(),
                    label: None,
                    primary: false,
                },
            ],
            ..input()
        }
        .validate();
        let data = data.ok();
        assert_eq!(
            data.as_ref()
                .map(|d| (d.emails[0].primary, d.emails[1].primary)),
            Some((true, false))
        );
        assert_eq!(
            data.map(|d| d.emails[0].label.clone()),
            Some(Some("home".into()))
        );
        let err = ClientInput {
            phones: vec![
                PhoneInput {
                    number: "555 010 0001".into(),
                    label: None,
                    primary: true,
                    sms_opt_in: false,
                },
                PhoneInput {
                    number: "555 010 0002".into(),
                    label: None,
                    primary: true,
                    sms_opt_in: true,
                },
            ],
            ..input()
        }
        .validate()
        .err();
        assert_eq!(
            err.map(|e| e.fields[0].field.clone()),
            Some("phones".into())
        );
    }

    #[test]
    fn reports_every_bad_field_with_its_path() {
        let err = ClientInput {
            emails: vec![EmailInput {
                address: "nope".into(),
                label: None,
                primary: false,
            }],
            phones: vec![PhoneInput {
                number: "12".into(),
                label: None,
                primary: false,
                sms_opt_in: false,
            }],
            tags: vec!["ok".into(), " ".into()],
            ..input()
        }
        .validate()
        .err();
        let fields: Vec<String> = err
            .map(|e| e.fields.into_iter().map(|f| f.field).collect())
            .unwrap_or_default();
        assert_eq!(
            fields,
            vec!["emails[0].address", "phones[0].number", "tags[1]"]
        );
    }

    #[test]
    fn search_text_has_digits_of_phones() {
        let data = ClientInput {
            phones: vec![PhoneInput {
                number: "(555) 010-7788".into(),
                label: None,
                primary: false,
                sms_opt_in: false,
            }],
            tags: vec!["VIP".into(), "vip".into()],
            ..input()
        }
        .validate();
        let data = data.ok();
        assert!(
            data.as_ref()
                .is_some_and(|d| d.search_text().contains("5550107788"))
        );
        assert_eq!(data.map(|d| d.tags), Some(vec!["VIP".to_string()]));
    }

    #[test]
    fn property_coordinates_come_in_pairs() {
        let address = Address {
            street1: Some("1 Main".into()),
            ..Default::default()
        };
        let base = PropertyInput {
            name: None,
            address,
            latitude: Some(45.0),
            longitude: None,
            notes: None,
            version: None,
        };
        assert!(base.clone().validate().is_err());
        assert!(
            PropertyInput {
                longitude: Some(-73.5),
                ..base.clone()
            }
            .validate()
            .is_ok()
        );
        assert!(
            PropertyInput {
                latitude: Some(91.0),
                longitude: Some(0.0),
                ..base
            }
            .validate()
            .is_err()
        );
    }
}
