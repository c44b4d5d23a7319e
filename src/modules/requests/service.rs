//! Request rules: the public form (a spam trap, validation, the office told), the
//! office's inbox and conversion to a quote or a job (the client found by email or
//! created with a property), and online booking under the account's booking lock.

use std::collections::HashMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use uuid::Uuid;

use super::booking::{Availability, Busy, MAX_WINDOW_DAYS};
use super::model::{
    BookableService, Booking, BookingInput, BookingSlot, ConvertTarget, FormService, FormSettings,
    FormSettingsInput, PublicForm, RequestData, RequestInput, RequestSource, RequestStatus,
    SlotList, WorkRequest, WorkingHours, contact,
};
use super::repo::{self, FormRow, FormUpdate, NewRequest};
use crate::domain::{Address, FieldError};
use crate::error::{Error, ErrorCode};
use crate::modules::catalog::ItemKind;
use crate::modules::clients::model::{ClientInput, ClientStatus, EmailInput, PhoneInput};
use crate::modules::jobs::model::{JobInput, ScheduleInput};
use crate::modules::quotes::model::{LineInput, QuoteInput};
use crate::modules::users::model::Role;
use crate::modules::{accounts, catalog, clients, jobs, quotes, users};
use crate::platform::database::{Ctx, Db, Tx, violation};
use crate::platform::events::Event;
use crate::platform::pagination::{Page, PageRequest};

fn not_found() -> Error {
    Error::code(ErrorCode::RequestNotFound)
}

fn form_not_found() -> Error {
    Error::code(ErrorCode::RequestFormNotFound)
}

/// The account behind a public slug; a disabled form is not found.
async fn resolve(db: &Db, slug: &str) -> Result<FormRow, Error> {
    let slug = slug.trim().to_ascii_lowercase();
    if slug.is_empty() || slug.len() > 60 {
        return Err(form_not_found());
    }
    let mut conn = db.pool().acquire().await?;
    match repo::form_by_slug(&mut conn, &slug).await? {
        Some(form) if form.enabled => Ok(form),
        _ => Err(form_not_found()),
    }
}

/// What the public form shows: the business and its active services.
pub async fn public_form(db: &Db, slug: &str) -> Result<PublicForm, Error> {
    let form = resolve(db, slug).await?;
    let mut tx = db.tenant(form.account_id).await?;
    let settings = accounts::service::settings_in(&mut tx).await?;
    let bookable = if form.booking_enabled {
        repo::bookable_services(&mut tx).await?
    } else {
        Vec::new()
    };
    let services = catalog::service::active_in(&mut tx, 200)
        .await?
        .into_iter()
        .filter(|item| item.kind == ItemKind::Service)
        .map(|item| FormService {
            duration_minutes: bookable
                .iter()
                .find(|b| b.catalog_item_id == item.id)
                .map(|b| b.duration_minutes),
            id: item.id,
            name: item.name,
            description: item.description,
        })
        .collect::<Vec<_>>();
    tx.commit().await?;
    let booking_enabled =
        form.booking_enabled && services.iter().any(|s| s.duration_minutes.is_some());
    Ok(PublicForm {
        slug: form.slug,
        business_name: settings.business_name,
        phone: settings.phone,
        email: settings.email,
        website: settings.website,
        brand_color: settings.brand_color,
        time_zone: settings.time_zone,
        services,
        booking_enabled,
    })
}

/// An active service of the catalog, by id, for a form's `service_id`.
pub(super) async fn offered_service(
    tx: &mut Tx,
    id: Uuid,
    errors: &mut Vec<FieldError>,
) -> Result<Option<String>, Error> {
    match catalog::service::get_in(tx, id).await {
        Ok(item) if item.active && item.kind == ItemKind::Service => Ok(Some(item.name)),
        Ok(_) => {
            errors.push(FieldError::new(
                "service_id",
                "is not a service on this form",
            ));
            Ok(None)
        }
        Err(e) if e.code == ErrorCode::CatalogItemNotFound => {
            errors.push(FieldError::new(
                "service_id",
                "is not a service on this form",
            ));
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// A visitor's request. One caught by the spam trap is dropped without a word (the
/// answer is the same, so a bot learns nothing).
#[tracing::instrument(skip_all, fields(account_id))]
pub async fn submit(
    db: &Db,
    slug: &str,
    input: RequestInput,
    remote_ip: &str,
) -> Result<(), Error> {
    let form = resolve(db, slug).await?;
    tracing::Span::current().record("account_id", tracing::field::display(form.account_id));
    if input.is_spam() {
        tracing::info!(
            remote_ip,
            "work request dropped: the spam trap was filled in"
        );
        return Ok(());
    }
    let data: RequestData = input.validate()?;
    let mut tx = db.tenant(form.account_id).await?;
    let mut errors = Vec::new();
    let service_name = match data.service_id {
        Some(id) => offered_service(&mut tx, id, &mut errors).await?,
        None => None,
    };
    if !errors.is_empty() {
        return Err(Error::invalid(errors));
    }
    let id = Uuid::now_v7();
    repo::insert(
        &mut tx,
        form.account_id,
        &NewRequest {
            id,
            source: RequestSource::Form,
            name: &data.name,
            email: data.email.as_str(),
            phone: data.phone.as_ref().map(|p| p.as_str()),
            address: &data.address,
            service_id: data.service_id,
            service_name: service_name.as_deref(),
            details: data.details.as_deref(),
            preferred_times: data.preferred_times.as_deref(),
            remote_ip: Some(remote_ip),
        },
    )
    .await?;
    tx.raise(Event::RequestReceived { request_id: id });
    tx.commit().await?;
    Ok(())
}

pub async fn list(
    db: &Db,
    ctx: &Ctx,
    status: Option<RequestStatus>,
    page: PageRequest,
) -> Result<Page<WorkRequest>, Error> {
    let mut tx = db.read(ctx).await?;
    let rows = repo::list(&mut tx, status, page.after, page.fetch_limit()).await?;
    tx.commit().await?;
    Ok(Page::from_rows(rows, page, |r| r.id))
}

pub async fn get(db: &Db, ctx: &Ctx, id: Uuid) -> Result<WorkRequest, Error> {
    let mut tx = db.tenant(ctx.account_id).await?;
    let request = repo::get(&mut tx, id, false).await?.ok_or_else(not_found)?;
    tx.commit().await?;
    Ok(request)
}

/// A request read on the caller's connection, for an in-transaction listener
/// (`notifications::service::on_event`).
pub async fn get_on(
    conn: &mut sqlx::PgConnection,
    id: Uuid,
) -> Result<Option<WorkRequest>, sqlx::Error> {
    repo::get(conn, id, false).await
}

/// "Ann Marie Smith" -> ("Ann", "Marie Smith").
fn split_name(name: &str) -> (String, Option<String>) {
    let mut parts = name.trim().splitn(2, char::is_whitespace);
    let first = parts.next().unwrap_or_default().to_string();
    let last = parts
        .next()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from);
    (first, last)
}

/// The client for a request: the one with its email, else a new one. Returns the
/// client and a property at the request's address (an existing one with the same
/// address, or a new one) when the address has a street.
/// Who a request or booking is from.
struct Person<'a> {
    name: &'a str,
    email: &'a str,
    phone: Option<&'a str>,
    address: &'a Address,
}

async fn client_for(
    tx: &mut Tx,
    account_id: Uuid,
    actor: Option<Uuid>,
    person: Person<'_>,
    known: Option<Uuid>,
    status: ClientStatus,
) -> Result<(Uuid, Option<Uuid>), Error> {
    let Person {
        name,
        email,
        phone,
        address,
    } = person;
    // A request from the client hub names its client; the others are matched by email.
    let client_id = match known {
        Some(id) => id,
        None => match clients::service::find_by_email_in(tx, email).await? {
            Some(client) => client.id,
            None => {
                let (first, last) = split_name(name);
                let input = ClientInput {
                    first_name: Some(first),
                    last_name: last,
                    company_name: None,
                    emails: vec![EmailInput {
                        address: email.to_string(),
                        label: None,
                        primary: true,
                    }],
                    phones: phone
                        .map(|p| PhoneInput {
                            number: p.to_string(),
                            label: None,
                            primary: true,
                            sms_opt_in: false,
                        })
                        .into_iter()
                        .collect(),
                    billing_address: Some(address.clone()),
                    tags: Vec::new(),
                    notes: None,
                    status: Some(status),
                    version: None,
                };
                let data = input.validate()?;
                clients::service::create_in(tx, account_id, actor, data)
                    .await?
                    .id
            }
        },
    };
    if address.street1.is_none() {
        return Ok((client_id, None));
    }
    let line = address.one_line().to_lowercase();
    if let Some(existing) = clients::service::properties_in(tx, client_id)
        .await?
        .into_iter()
        .find(|p| p.address.one_line().to_lowercase() == line)
    {
        return Ok((client_id, Some(existing.id)));
    }
    let property = clients::service::create_property_in(
        tx,
        account_id,
        actor,
        client_id,
        clients::model::PropertyData {
            name: None,
            address: address.clone(),
            latitude: None,
            longitude: None,
            notes: None,
        },
    )
    .await?;
    Ok((client_id, Some(property.id)))
}

/// The service as a document line, while it is active in the catalog.
async fn service_line(tx: &mut Tx, service_id: Option<Uuid>) -> Result<Option<Uuid>, Error> {
    let Some(id) = service_id else {
        return Ok(None);
    };
    match catalog::service::get_in(tx, id).await {
        Ok(item) if item.active => Ok(Some(id)),
        Ok(_) => Ok(None),
        Err(e) if e.code == ErrorCode::CatalogItemNotFound => Ok(None),
        Err(e) => Err(e),
    }
}

fn title_for(request: &WorkRequest) -> String {
    let title = match &request.service_name {
        Some(service) => format!("{service} for {}", request.name),
        None => format!("Request from {}", request.name),
    };
    title.chars().take(200).collect()
}

fn notes_for(request: &WorkRequest) -> Option<String> {
    let mut parts = Vec::new();
    if let Some(details) = &request.details {
        parts.push(details.clone());
    }
    if let Some(times) = &request.preferred_times {
        parts.push(format!("Preferred times: {times}"));
    }
    (!parts.is_empty()).then(|| parts.join("\n\n"))
}

/// Turn a request into a quote or a job. Converting again to the same kind answers
/// the request as it is (the same quote or job); to the other kind, 409.
#[tracing::instrument(skip_all, fields(account_id = %ctx.account_id))]
pub async fn convert(
    db: &Db,
    ctx: &Ctx,
    id: Uuid,
    to: ConvertTarget,
) -> Result<WorkRequest, Error> {
    let mut tx = db.tenant(ctx.account_id).await?;
    let request = repo::get(&mut tx, id, true).await?.ok_or_else(not_found)?;
    match request.status {
        RequestStatus::Converted => {
            let same = match to {
                ConvertTarget::Quote => request.quote_id.is_some(),
                ConvertTarget::Job => request.job_id.is_some(),
            };
            tx.commit().await?;
            return if same {
                Ok(request)
            } else {
                Err(Error::new(
                    ErrorCode::InvalidTransition,
                    "the request was already converted to something else",
                )
                .with_fields(vec![FieldError::new(
                    "to",
                    "the request is already converted",
                )]))
            };
        }
        RequestStatus::Archived => {
            return Err(Error::new(
                ErrorCode::InvalidTransition,
                "the request is archived",
            ));
        }
        RequestStatus::New => {}
    }
    let status = match to {
        ConvertTarget::Quote => ClientStatus::Lead,
        ConvertTarget::Job => ClientStatus::Active,
    };
    let (client_id, property_id) = client_for(
        &mut tx,
        ctx.account_id,
        Some(ctx.user_id),
        Person {
            name: &request.name,
            email: &request.email,
            phone: request.phone.as_deref(),
            address: &request.address,
        },
        request
            .client_id
            .filter(|_| request.source == RequestSource::Hub),
        status,
    )
    .await?;
    let line = service_line(&mut tx, request.service_id).await?;
    let (quote_id, job_id) = match to {
        ConvertTarget::Quote => {
            let input = QuoteInput {
                client_id,
                property_id,
                title: title_for(&request),
                message: None,
                lines: line
                    .map(|id| LineInput {
                        catalog_item_id: Some(id),
                        name: None,
                        description: None,
                        quantity: crate::money::Quantity(100),
                        unit_price: None,
                        taxable: None,
                        optional: false,
                    })
                    .into_iter()
                    .collect(),
                discount: None,
                deposit: None,
                tax_rate_ids: None,
                valid_until: None,
                version: None,
            };
            let quote = quotes::service::create_in(&mut tx, ctx, &input).await?;
            (Some(quote.id), None)
        }
        ConvertTarget::Job => {
            let input = JobInput {
                client_id,
                property_id,
                title: title_for(&request),
                instructions: notes_for(&request),
                lines: line
                    .map(|id| catalog::DocumentLineInput {
                        catalog_item_id: Some(id),
                        name: None,
                        description: None,
                        quantity: crate::money::Quantity(100),
                        unit_price: None,
                        taxable: None,
                    })
                    .into_iter()
                    .collect(),
                billing: None,
                schedule: None,
            };
            let job_id = jobs::service::create_in(&mut tx, ctx, &input, None, None).await?;
            (None, Some(job_id))
        }
    };
    repo::mark_converted(&mut tx, id, client_id, quote_id, job_id).await?;
    let request = repo::get(&mut tx, id, false).await?.ok_or_else(not_found)?;
    tx.commit().await?;
    Ok(request)
}

/// Put a request away. Archiving an archived one changes nothing; a converted one
/// stays converted (409).
pub async fn archive(db: &Db, ctx: &Ctx, id: Uuid) -> Result<WorkRequest, Error> {
    let mut tx = db.tenant(ctx.account_id).await?;
    let request = repo::get(&mut tx, id, true).await?.ok_or_else(not_found)?;
    match request.status {
        RequestStatus::Archived => {}
        RequestStatus::Converted => {
            return Err(Error::new(
                ErrorCode::InvalidTransition,
                "a converted request cannot be archived",
            ));
        }
        RequestStatus::New => repo::archive(&mut tx, id).await?,
    }
    let request = repo::get(&mut tx, id, false).await?.ok_or_else(not_found)?;
    tx.commit().await?;
    Ok(request)
}

// ---- settings ----

async fn settings_in(tx: &mut Tx, account_id: Uuid) -> Result<FormSettings, Error> {
    let form = repo::form(tx, account_id, false)
        .await?
        .ok_or_else(|| Error::internal(anyhow::anyhow!("the account has no request form")))?;
    let bookable_services = repo::bookable_services(tx).await?;
    Ok(FormSettings {
        slug: form.slug,
        enabled: form.enabled,
        booking_enabled: form.booking_enabled,
        working_hours: form.working_hours.0,
        travel_buffer_minutes: form.travel_buffer_minutes,
        notice_hours: form.notice_hours,
        bookable_services,
        version: form.version,
        updated_at: form.updated_at,
    })
}

pub async fn settings(db: &Db, ctx: &Ctx) -> Result<FormSettings, Error> {
    let mut tx = db.tenant(ctx.account_id).await?;
    let settings = settings_in(&mut tx, ctx.account_id).await?;
    tx.commit().await?;
    Ok(settings)
}

pub async fn update_settings(
    db: &Db,
    ctx: &Ctx,
    version: i32,
    input: FormSettingsInput,
) -> Result<FormSettings, Error> {
    input.check()?;
    let mut tx = db.tenant(ctx.account_id).await?;
    let current = repo::form(&mut tx, ctx.account_id, true)
        .await?
        .ok_or_else(|| Error::internal(anyhow::anyhow!("the account has no request form")))?;
    if current.version != version {
        return Err(
            users::service::stale_in(&mut tx, None, current.version, current.updated_at).await,
        );
    }
    let mut errors = Vec::new();
    for (i, service) in input.bookable_services.iter().enumerate() {
        match catalog::service::get_in(&mut tx, service.catalog_item_id).await {
            Ok(item) if item.kind == ItemKind::Service => {}
            Ok(_) | Err(_) => errors.push(FieldError::new(
                format!("bookable_services[{i}].catalog_item_id"),
                "is not a service in the catalog",
            )),
        }
    }
    if !errors.is_empty() {
        return Err(Error::invalid(errors));
    }
    let update = FormUpdate {
        slug: &input.slug,
        enabled: input.enabled,
        booking_enabled: input.booking_enabled,
        working_hours: &input.working_hours,
        travel_buffer_minutes: input.travel_buffer_minutes,
        notice_hours: input.notice_hours,
    };
    if let Err(error) = repo::update_form(&mut tx, ctx.account_id, &update).await {
        return Err(match violation(&error) {
            Some((_, "request_forms_slug_key")) => {
                Error::field("slug", "is taken by another business")
            }
            _ => error.into(),
        });
    }
    repo::replace_bookable_services(&mut tx, ctx.account_id, &input.bookable_services).await?;
    let settings = settings_in(&mut tx, ctx.account_id).await?;
    tx.commit().await?;
    Ok(settings)
}

// ---- online booking ----

/// Who may be booked and when they are busy, around `from..to` (UTC).
async fn availability_inputs(
    tx: &mut Tx,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<(Vec<Uuid>, Vec<Busy>, HashMap<Uuid, Vec<WorkingHours>>), Error> {
    let people = users::service::bookable_ids_in(tx).await?;
    let own_hours: HashMap<Uuid, Vec<WorkingHours>> =
        repo::person_hours(tx).await?.into_iter().collect();
    let mut busy = Vec::new();
    for person in &people {
        for visit in jobs::service::visits_of_user_in(tx, *person, from, to).await? {
            if visit.status == jobs::model::VisitStatus::Cancelled {
                continue;
            }
            if let (Some(starts_at), Some(ends_at)) = (visit.starts_at, visit.ends_at) {
                busy.push(Busy {
                    user_id: *person,
                    starts_at,
                    ends_at,
                });
            }
        }
    }
    Ok((people, busy, own_hours))
}

/// The bookable service `id` and its duration; 422 on `field` otherwise.
async fn bookable(tx: &mut Tx, id: Uuid, field: &str) -> Result<(BookableService, String), Error> {
    let service = repo::bookable_services(tx)
        .await?
        .into_iter()
        .find(|s| s.catalog_item_id == id);
    let item = match catalog::service::get_in(tx, id).await {
        Ok(item) if item.active => Some(item),
        Ok(_) => None,
        Err(e) if e.code == ErrorCode::CatalogItemNotFound => None,
        Err(e) => return Err(e),
    };
    match (service, item) {
        (Some(service), Some(item)) => Ok((service, item.name)),
        _ => Err(Error::field(field, "is not a service you can book online")),
    }
}

/// The free slots of `form` for a service with `duration`, local days `from..=to`.
async fn free_slots(
    tx: &mut Tx,
    form: &FormRow,
    tz: chrono_tz::Tz,
    duration: i32,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<BookingSlot>, Error> {
    let start = crate::modules::schedule::recurrence::resolve_local(
        tz,
        from.and_time(chrono::NaiveTime::MIN),
    )
    .unwrap_or_else(Utc::now)
        - Duration::days(1);
    let end = crate::modules::schedule::recurrence::resolve_local(
        tz,
        to.and_time(chrono::NaiveTime::MIN),
    )
    .unwrap_or_else(Utc::now)
        + Duration::days(2);
    let (people, busy, own_hours) = availability_inputs(tx, start, end).await?;
    let availability = Availability {
        tz,
        hours: &form.working_hours.0,
        own_hours: &own_hours,
        duration: Duration::minutes(i64::from(duration)),
        buffer: Duration::minutes(i64::from(form.travel_buffer_minutes)),
        earliest: Utc::now() + Duration::hours(i64::from(form.notice_hours)),
        people: &people,
        busy: &busy,
    };
    Ok(availability.slots(from, to))
}

fn booking_form(form: FormRow) -> Result<FormRow, Error> {
    if form.booking_enabled {
        Ok(form)
    } else {
        Err(form_not_found())
    }
}

/// Free slots for a bookable service, days `from..=to` in the account's zone
/// (default: the next 14 days).
pub async fn slots(
    db: &Db,
    slug: &str,
    service_id: Uuid,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> Result<SlotList, Error> {
    let form = booking_form(resolve(db, slug).await?)?;
    let mut tx = db.tenant(form.account_id).await?;
    let settings = accounts::service::settings_in(&mut tx).await?;
    let tz = jobs::service::zone(&settings);
    let today = Utc::now().with_timezone(&tz).date_naive();
    let from = from.unwrap_or(today);
    let to = to.unwrap_or(from + Duration::days(13));
    let mut errors = Vec::new();
    if to < from {
        errors.push(FieldError::new("to", "must not be before from"));
    } else if (to - from).num_days() >= MAX_WINDOW_DAYS {
        errors.push(FieldError::new(
            "to",
            format!("at most {MAX_WINDOW_DAYS} days after from"),
        ));
    }
    if !errors.is_empty() {
        return Err(Error::invalid(errors));
    }
    let (service, _) = bookable(&mut tx, service_id, "service").await?;
    let slots = free_slots(&mut tx, &form, tz, service.duration_minutes, from, to).await?;
    tx.commit().await?;
    Ok(SlotList {
        service_id,
        duration_minutes: service.duration_minutes,
        time_zone: settings.time_zone,
        slots,
    })
}

/// Why a booking was not made.
pub enum BookingError {
    Api(Error),
    /// The slot is gone; here are the free ones now (that day and the next week).
    Taken(Vec<BookingSlot>),
}

impl<E: Into<Error>> From<E> for BookingError {
    fn from(error: E) -> Self {
        BookingError::Api(error.into())
    }
}

/// Book a slot: the client (found by email or created), a job with its visit given
/// to a free person, and a converted request, all in one transaction under the
/// account's booking lock, so two visitors racing for the last slot cannot both
/// have it. `None` when the spam trap caught it.
#[tracing::instrument(skip_all, fields(account_id))]
pub async fn book(
    db: &Db,
    slug: &str,
    input: BookingInput,
    remote_ip: &str,
) -> Result<Option<Booking>, BookingError> {
    let form = booking_form(resolve(db, slug).await?)?;
    tracing::Span::current().record("account_id", tracing::field::display(form.account_id));
    if input
        .website
        .as_deref()
        .is_some_and(|w| !w.trim().is_empty())
    {
        tracing::info!(remote_ip, "booking dropped: the spam trap was filled in");
        return Ok(None);
    }
    let mut errors = Vec::new();
    let (name, email, phone, address) = contact(
        &input.name,
        &input.email,
        input.phone.as_deref(),
        Some(&input.address),
        &mut errors,
    );
    if address.street1.is_none() {
        errors.push(FieldError::new("address.street1", "is required"));
    }
    let details =
        crate::domain::optional_text(input.details.as_deref(), 5000).unwrap_or_else(|m| {
            errors.push(FieldError::new("details", m));
            None
        });
    let Some(email) = email.filter(|_| errors.is_empty()) else {
        return Err(Error::invalid(errors).into());
    };
    let mut tx = db.tenant(form.account_id).await?;
    // The booking lock: one booking of this account at a time, each seeing the
    // visits the ones before it made.
    let form = repo::form(&mut tx, form.account_id, true)
        .await?
        .ok_or_else(form_not_found)?;
    let settings = accounts::service::settings_in(&mut tx).await?;
    let tz = jobs::service::zone(&settings);
    let (service, service_name) = bookable(&mut tx, input.service_id, "service_id").await?;
    let day = input.starts_at.with_timezone(&tz).date_naive();
    let duration = Duration::minutes(i64::from(service.duration_minutes));
    let (people, busy, own_hours) = availability_inputs(
        &mut tx,
        input.starts_at - Duration::days(1),
        input.starts_at + Duration::days(2),
    )
    .await?;
    let availability = Availability {
        tz,
        hours: &form.working_hours.0,
        own_hours: &own_hours,
        duration,
        buffer: Duration::minutes(i64::from(form.travel_buffer_minutes)),
        earliest: Utc::now() + Duration::hours(i64::from(form.notice_hours)),
        people: &people,
        busy: &busy,
    };
    let who = if availability.offers(input.starts_at) {
        availability.who(input.starts_at)
    } else {
        None
    };
    let Some(who) = who else {
        let fresh = free_slots(
            &mut tx,
            &form,
            tz,
            service.duration_minutes,
            day,
            day + Duration::days(7),
        )
        .await?;
        tx.rollback().await?;
        return Err(BookingError::Taken(fresh));
    };
    let (client_id, property_id) = client_for(
        &mut tx,
        form.account_id,
        None,
        Person {
            name: &name,
            email: email.as_str(),
            phone: phone.as_ref().map(|p| p.as_str()),
            address: &address,
        },
        None,
        ClientStatus::Active,
    )
    .await?;
    let local = input.starts_at.with_timezone(&tz);
    // No user acted: the nil id tells jobs::service::create_in to record no creator.
    let ctx = Ctx {
        account_id: form.account_id,
        user_id: Uuid::nil(),
        role: Role::Owner,
    };
    let request_id = Uuid::now_v7();
    let job = JobInput {
        client_id,
        property_id,
        title: format!("{service_name} for {name}")
            .chars()
            .take(200)
            .collect(),
        instructions: details.clone(),
        lines: vec![catalog::DocumentLineInput {
            catalog_item_id: Some(input.service_id),
            name: None,
            description: None,
            quantity: crate::money::Quantity(100),
            unit_price: None,
            taxable: None,
        }],
        billing: None,
        schedule: Some(ScheduleInput {
            start_date: local.date_naive(),
            start_time: Some(local.time()),
            duration_minutes: Some(service.duration_minutes),
            rrule: None,
            assignee_ids: vec![who],
            checklist: Vec::new(),
            allow_overlap: false,
        }),
    };
    let job_id = jobs::service::create_in(&mut tx, &ctx, &job, None, None).await?;
    repo::insert(
        &mut tx,
        form.account_id,
        &NewRequest {
            id: request_id,
            source: RequestSource::Booking,
            name: &name,
            email: email.as_str(),
            phone: phone.as_ref().map(|p| p.as_str()),
            address: &address,
            service_id: Some(input.service_id),
            service_name: Some(&service_name),
            details: details.as_deref(),
            preferred_times: None,
            remote_ip: Some(remote_ip),
        },
    )
    .await?;
    repo::mark_converted(&mut tx, request_id, client_id, None, Some(job_id)).await?;
    tx.raise(Event::RequestReceived { request_id });
    tx.commit().await?;
    Ok(Some(Booking {
        request_id,
        starts_at: input.starts_at,
        ends_at: input.starts_at + duration,
        service_name,
        business_name: settings.business_name,
    }))
}
