use uuid::Uuid;

use super::model::Account;
use super::repo;
use crate::domain::{Currency, Email, TimeZone};
use crate::error::{Error, FieldError};
use crate::modules::activity;
use crate::modules::users::{self, model::Role, model::User};
use crate::platform::cache::{self, Key};
use crate::platform::database::{Db, Tx};
use crate::platform::events::{Event, Record};

/// A business and its first owner, validated.
pub struct NewAccount {
    pub business_name: String,
    pub owner_name: String,
    pub email: Email,
    pub password: String,
    pub time_zone: TimeZone,
    pub currency: Currency,
}

impl NewAccount {
    /// Validate raw input; every failing field is reported at once.
    pub fn parse(
        business_name: &str,
        owner_name: &str,
        email: &str,
        password: String,
        time_zone: Option<&str>,
        currency: Option<&str>,
    ) -> Result<Self, Error> {
        let mut errors = Vec::new();
        let business_name = crate::domain::required_text(business_name, 200)
            .map_err(|m| errors.push(FieldError::new("business_name", m)))
            .unwrap_or_default();
        let owner_name = crate::domain::required_text(owner_name, 200)
            .map_err(|m| errors.push(FieldError::new("name", m)))
            .unwrap_or_default();
        let email = Email::parse(email)
            .map_err(|m| errors.push(FieldError::new("email", m)))
            .ok();
        if let Err(e) = users::password::check("password", &password) {
            errors.push(e);
        }
        let time_zone = TimeZone::parse(time_zone.unwrap_or("UTC"))
            .map_err(|m| errors.push(FieldError::new("time_zone", m)))
            .ok();
        let currency = Currency::parse(currency.unwrap_or("USD"))
            .map_err(|m| errors.push(FieldError::new("currency", m)))
            .ok();
        match (email, time_zone, currency) {
            (Some(email), Some(time_zone), Some(currency)) if errors.is_empty() => Ok(Self {
                business_name,
                owner_name,
                email,
                password,
                time_zone,
                currency,
            }),
            _ => Err(Error::invalid(errors)),
        }
    }
}

/// Create the account and its owner in one tenant transaction.
#[tracing::instrument(skip_all, fields(account_id))]
pub async fn create(db: &Db, input: NewAccount) -> Result<(Account, User), Error> {
    let account_id = Uuid::now_v7();
    tracing::Span::current().record("account_id", tracing::field::display(account_id));
    let password_hash = users::password::hash(input.password).await?;
    let mut tx = db.tenant(account_id).await?;
    let account = repo::insert(
        &mut tx,
        account_id,
        &input.business_name,
        input.time_zone.name(),
        input.currency.code(),
    )
    .await?;
    let owner = users::model::NewUser {
        email: input.email,
        name: input.owner_name,
        role: Role::Owner,
        password_hash: Some(password_hash),
    };
    let user = users::service::insert_in(&mut tx, account_id, None, &owner).await?;
    activity::service::record(
        &mut tx,
        account_id,
        Some(user.id),
        activity::Subject::Account(account_id),
        "created",
        serde_json::json!({"name": account.name}),
    )
    .await?;
    tx.commit().await?;
    tracing::info!(user_id = %user.id, "account created");
    Ok((account, user))
}

pub async fn current(db: &Db, account_id: Uuid) -> Result<Account, Error> {
    let mut tx = db.tenant(account_id).await?;
    let account = repo::current(&mut tx)
        .await?
        .ok_or_else(|| Error::internal(anyhow::anyhow!("account {account_id} has no row")))?;
    tx.commit().await?;
    Ok(account)
}

use super::model::{PaymentTerms, Settings, TaxRate};
use crate::error::ErrorCode;
use crate::money::Rate;
use crate::platform::database::Ctx;

/// A partial change of settings; `None` keeps a value.
#[derive(Debug, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SettingsPatch {
    pub business_name: Option<String>,
    pub address: Option<crate::domain::Address>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub website: Option<String>,
    /// `#RRGGBB`: the accent colour of client emails.
    pub brand_color: Option<String>,
    pub time_zone: Option<String>,
    pub currency: Option<String>,
    pub locale: Option<String>,
    pub payment_terms: Option<PaymentTerms>,
    pub quote_validity_days: Option<i32>,
    pub quote_prefix: Option<String>,
    /// May only move forward (numbers already used are never reused).
    pub next_quote_number: Option<i64>,
    pub job_prefix: Option<String>,
    pub next_job_number: Option<i64>,
    pub invoice_prefix: Option<String>,
    pub next_invoice_number: Option<i64>,
    pub show_prices_to_technicians: Option<bool>,
    pub visit_reminders: Option<bool>,
    /// 1 to 168.
    pub visit_reminder_hours_before: Option<i32>,
    pub invoice_followups: Option<bool>,
    /// Days after the due date (1 to 365, at most 10; sorted, duplicates dropped).
    pub invoice_followup_days: Option<Vec<i32>>,
    /// The version you read (required).
    pub version: Option<i32>,
}

/// The caller's settings; from the cache when it has them (no transaction then).
pub async fn settings(db: &Db, ctx: &Ctx) -> Result<Settings, Error> {
    let key = Key::account(ctx.account_id);
    db.caches()
        .get(cache::Name::Settings)
        .get_or_load(key, || async {
            let mut tx = db.tenant(ctx.account_id).await?;
            let settings = repo::settings(&mut tx, false).await?;
            tx.commit().await?;
            Ok::<_, Error>(settings)
        })
        .await?
        .ok_or_else(no_row)
}

fn no_row() -> Error {
    Error::internal(anyhow::anyhow!("account has no row"))
}

fn locale_ok(text: &str) -> bool {
    let mut parts = text.split('-');
    let language = parts.next().unwrap_or_default();
    let region = parts.next();
    parts.next().is_none()
        && (2..=3).contains(&language.len())
        && language.chars().all(|c| c.is_ascii_lowercase())
        && region.is_none_or(|r| r.len() == 2 && r.chars().all(|c| c.is_ascii_uppercase()))
}

fn prefix(field: &str, value: &str, errors: &mut Vec<FieldError>) -> String {
    if value.chars().count() > 10 || value.chars().any(|c| c.is_control() || c.is_whitespace()) {
        errors.push(FieldError::new(
            field,
            "must be at most 10 characters without spaces",
        ));
    }
    value.to_string()
}

#[tracing::instrument(skip_all, fields(account_id = %ctx.account_id))]
pub async fn update_settings(
    db: &Db,
    ctx: &Ctx,
    version: i32,
    patch: SettingsPatch,
) -> Result<Settings, Error> {
    let mut tx = db.tenant(ctx.account_id).await?;
    let current = repo::settings(&mut tx, true)
        .await?
        .ok_or_else(|| Error::internal(anyhow::anyhow!("account has no row")))?;
    if current.version != version {
        return Err(users::service::stale_in(
            &mut tx,
            Some(Record::Settings),
            current.version,
            current.updated_at,
        )
        .await);
    }
    let mut errors = Vec::new();
    let mut next = current.clone();
    if let Some(name) = &patch.business_name {
        next.business_name = crate::domain::required_text(name, 200).unwrap_or_else(|m| {
            errors.push(FieldError::new("business_name", m));
            String::new()
        });
    }
    if let Some(address) = &patch.address {
        next.address = address.clean("address", &mut errors);
    }
    if let Some(phone) = &patch.phone {
        next.phone = match phone.trim() {
            "" => None,
            text => crate::domain::Phone::parse(text)
                .map(|p| Some(p.as_str().to_string()))
                .unwrap_or_else(|m| {
                    errors.push(FieldError::new("phone", m));
                    None
                }),
        };
    }
    if let Some(email) = &patch.email {
        next.email = match email.trim() {
            "" => None,
            text => Email::parse(text)
                .map(|e| Some(e.as_str().to_string()))
                .unwrap_or_else(|m| {
                    errors.push(FieldError::new("email", m));
                    None
                }),
        };
    }
    if let Some(website) = &patch.website {
        let website = website.trim();
        next.website = (!website.is_empty()).then(|| website.to_string());
        if !website.is_empty()
            && (website.len() > 200
                || !(website.starts_with("https://") || website.starts_with("http://")))
        {
            errors.push(FieldError::new(
                "website",
                "must be an http(s) address of at most 200 characters",
            ));
        }
    }
    if let Some(color) = &patch.brand_color {
        let color = color.trim();
        let hex = color.strip_prefix('#').unwrap_or_default();
        if hex.len() == 6 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            next.brand_color = color.to_ascii_uppercase();
        } else {
            errors.push(FieldError::new(
                "brand_color",
                "must be a colour like #2F6F4E",
            ));
        }
    }
    if let Some(tz) = &patch.time_zone {
        match TimeZone::parse(tz) {
            Ok(tz) => next.time_zone = tz.name().to_string(),
            Err(m) => errors.push(FieldError::new("time_zone", m)),
        }
    }
    if let Some(currency) = &patch.currency {
        match Currency::parse(currency) {
            Ok(currency) => next.currency = currency.code().to_string(),
            Err(m) => errors.push(FieldError::new("currency", m)),
        }
        // Amounts are stored in the account's currency: relabelling them would
        // turn $100.00 into €100.00 on documents clients already have.
        if next.currency != current.currency && documents_exist(&mut tx).await? {
            errors.push(FieldError::new(
                "currency",
                "cannot change once quotes, jobs or invoices exist",
            ));
        }
    }
    if let Some(locale) = &patch.locale {
        if locale_ok(locale) {
            next.locale = locale.clone();
        } else {
            errors.push(FieldError::new(
                "locale",
                "must be a language tag such as en-US",
            ));
        }
    }
    if let Some(terms) = patch.payment_terms {
        next.payment_terms = terms;
    }
    if let Some(days) = patch.quote_validity_days {
        if !(1..=365).contains(&days) {
            errors.push(FieldError::new(
                "quote_validity_days",
                "must be between 1 and 365",
            ));
        }
        next.quote_validity_days = days;
    }
    if let Some(p) = &patch.quote_prefix {
        next.quote_prefix = prefix("quote_prefix", p, &mut errors);
    }
    if let Some(p) = &patch.job_prefix {
        next.job_prefix = prefix("job_prefix", p, &mut errors);
    }
    if let Some(p) = &patch.invoice_prefix {
        next.invoice_prefix = prefix("invoice_prefix", p, &mut errors);
    }
    // Numbers already handed out are never handed out again.
    for (field, requested, current_value, target) in [
        (
            "next_quote_number",
            patch.next_quote_number,
            current.next_quote_number,
            &mut next.next_quote_number,
        ),
        (
            "next_job_number",
            patch.next_job_number,
            current.next_job_number,
            &mut next.next_job_number,
        ),
        (
            "next_invoice_number",
            patch.next_invoice_number,
            current.next_invoice_number,
            &mut next.next_invoice_number,
        ),
    ] {
        if let Some(requested) = requested {
            if requested < current_value {
                errors.push(FieldError::new(field, format!("may only move forward from {current_value} (numbers already used are not reused)")));
            } else if requested > 999_999_999 {
                errors.push(FieldError::new(field, "must be at most 999999999"));
            }
            *target = requested;
        }
    }
    if let Some(show) = patch.show_prices_to_technicians {
        next.show_prices_to_technicians = show;
    }
    if let Some(on) = patch.visit_reminders {
        next.visit_reminders = on;
    }
    if let Some(hours) = patch.visit_reminder_hours_before {
        if !(1..=168).contains(&hours) {
            errors.push(FieldError::new(
                "visit_reminder_hours_before",
                "must be between 1 and 168",
            ));
        }
        next.visit_reminder_hours_before = hours;
    }
    if let Some(on) = patch.invoice_followups {
        next.invoice_followups = on;
    }
    if let Some(days) = &patch.invoice_followup_days {
        let mut days = days.clone();
        days.sort_unstable();
        days.dedup();
        if days.len() > 10 || days.iter().any(|d| !(1..=365).contains(d)) {
            errors.push(FieldError::new(
                "invoice_followup_days",
                "at most 10 days, each between 1 and 365",
            ));
        }
        next.invoice_followup_days = days;
    }
    if !errors.is_empty() {
        return Err(Error::invalid(errors));
    }
    let updated = repo::update_settings(&mut tx, &next).await?;
    tx.touch(cache::Name::Settings, Key::account(ctx.account_id));
    tx.raise(Event::SettingsUpdated {});
    let changes = activity::service::diff(
        &serde_json::to_value(&current).unwrap_or_default(),
        &serde_json::to_value(&updated).unwrap_or_default(),
        &["version", "updated_at"],
    );
    activity::service::record(
        &mut tx,
        ctx.account_id,
        Some(ctx.user_id),
        activity::Subject::Account(ctx.account_id),
        "updated",
        changes,
    )
    .await?;
    tx.commit().await?;
    Ok(updated)
}

/// A tax rate as sent to POST and PUT.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaxRateInput {
    pub name: String,
    /// The rate as a percentage string, 0 to 100 with at most 4 decimals
    /// (`"8.875"` = 8.875 %). Required unless `rate_bps` is given.
    #[schema(value_type = Option<String>, example = "8.875")]
    pub rate: Option<crate::money::Rate>,
    /// Deprecated, use `rate`: basis points, 0 to 10000 (825 = 8.25 %). Used when
    /// `rate` is left out; sent with `rate`, it must be `rate` rounded to basis
    /// points (as the API returns it), else the request is refused.
    #[schema(deprecated)]
    pub rate_bps: Option<i32>,
    #[serde(default)]
    pub is_default: bool,
    #[serde(default = "yes")]
    pub active: bool,
    /// Required on PUT.
    pub version: Option<i32>,
}

fn yes() -> bool {
    true
}

fn tax_rate_not_found() -> Error {
    Error::code(ErrorCode::TaxRateNotFound)
}

/// The name and the exact rate: `rate`, else `rate_bps`; both given, they must
/// agree (`rate_bps` is `rate` rounded, as responses show it, so a client that
/// sends back what it read is accepted).
fn validate_tax_rate(input: &TaxRateInput) -> Result<(String, Rate), Error> {
    let mut errors = Vec::new();
    let name = crate::domain::required_text(&input.name, 100).unwrap_or_else(|m| {
        errors.push(FieldError::new("name", m));
        String::new()
    });
    let from_bps = input.rate_bps.map(|bps| {
        Rate::from_bps(i64::from(bps)).ok_or_else(|| {
            FieldError::new(
                "rate_bps",
                "must be between 0 and 10000 basis points (0 % to 100 %)",
            )
        })
    });
    let rate = match (input.rate, from_bps) {
        (Some(rate), None) => Some(rate),
        (Some(rate), Some(Ok(_))) if Some(rate.bps_rounded()) == input.rate_bps => Some(rate),
        (Some(rate), Some(_)) => {
            errors.push(FieldError::new(
                "rate_bps",
                format!(
                    "disagrees with rate {rate}% (which is {} basis points rounded); send only `rate`",
                    rate.bps_rounded()
                ),
            ));
            None
        }
        (None, Some(Ok(rate))) => Some(rate),
        (None, Some(Err(e))) => {
            errors.push(e);
            None
        }
        (None, None) => {
            errors.push(FieldError::new(
                "rate",
                "is required: a percentage as a string, such as \"8.875\"",
            ));
            None
        }
    };
    match rate {
        Some(rate) if errors.is_empty() => Ok((name, rate)),
        _ => Err(Error::invalid(errors)),
    }
}

pub async fn tax_rates(db: &Db, ctx: &Ctx) -> Result<Vec<TaxRate>, Error> {
    let mut tx = db.tenant(ctx.account_id).await?;
    let rates = repo::list_tax_rates(&mut tx).await?;
    tx.commit().await?;
    Ok(rates)
}

pub async fn create_tax_rate(db: &Db, ctx: &Ctx, input: TaxRateInput) -> Result<TaxRate, Error> {
    let (name, rate) = validate_tax_rate(&input)?;
    if input.version.is_some() {
        return Err(Error::field(
            "version",
            "is set by the server; leave it out when creating",
        ));
    }
    let mut tx = db.tenant(ctx.account_id).await?;
    let rate = repo::insert_tax_rate(
        &mut tx,
        ctx.account_id,
        Uuid::now_v7(),
        &name,
        rate,
        input.is_default,
        input.active,
    )
    .await?;
    activity::service::record(
        &mut tx,
        ctx.account_id,
        Some(ctx.user_id),
        activity::Subject::TaxRate(rate.id),
        "created",
        serde_json::json!({"name": rate.name, "rate": rate.rate, "rate_bps": rate.rate_bps}),
    )
    .await?;
    tx.commit().await?;
    Ok(rate)
}

pub async fn update_tax_rate(
    db: &Db,
    ctx: &Ctx,
    id: Uuid,
    version: i32,
    input: TaxRateInput,
) -> Result<TaxRate, Error> {
    let (name, rate) = validate_tax_rate(&input)?;
    let mut tx = db.tenant(ctx.account_id).await?;
    let current = repo::get_tax_rate(&mut tx, id)
        .await?
        .ok_or_else(tax_rate_not_found)?;
    if current.version != version {
        return Err(
            users::service::stale_in(&mut tx, None, current.version, current.updated_at).await,
        );
    }
    let rate =
        repo::update_tax_rate(&mut tx, id, &name, rate, input.is_default, input.active).await?;
    let changes = activity::service::diff(
        &serde_json::to_value(&current).unwrap_or_default(),
        &serde_json::to_value(&rate).unwrap_or_default(),
        &["version", "updated_at"],
    );
    activity::service::record(
        &mut tx,
        ctx.account_id,
        Some(ctx.user_id),
        activity::Subject::TaxRate(id),
        "updated",
        changes,
    )
    .await?;
    tx.commit().await?;
    Ok(rate)
}

/// Documents keep a copy of the rates they used, so a rate can always be deleted.
pub async fn delete_tax_rate(db: &Db, ctx: &Ctx, id: Uuid) -> Result<(), Error> {
    let mut tx = db.tenant(ctx.account_id).await?;
    if repo::delete_tax_rate(&mut tx, id).await? == 0 {
        return Err(tax_rate_not_found());
    }
    activity::service::record(
        &mut tx,
        ctx.account_id,
        Some(ctx.user_id),
        activity::Subject::TaxRate(id),
        "deleted",
        serde_json::json!({}),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Settings inside the caller's transaction: the one accessor of every reader of
/// settings. Answered from the cache (no statement) unless this transaction changed
/// the account row itself ([`Tx::touch`]); then from the row, uncommitted write
/// included. Entries are dropped by `settings.updated` and by the events of changes
/// that take a document number (`platform::cache`).
pub async fn settings_in(tx: &mut Tx) -> Result<Settings, Error> {
    let key = Key::account(tx.account_id());
    if tx.touched(cache::Name::Settings, &key) {
        return repo::settings(tx, false).await?.ok_or_else(no_row);
    }
    let caches = tx.caches().clone();
    caches
        .get(cache::Name::Settings)
        .get_or_load(key, || repo::settings(tx, false))
        .await?
        .ok_or_else(no_row)
}

/// The account's settings read on the caller's connection, past the cache: for the
/// in-transaction listeners (`notifications::service::on_event`), which hold no [`Tx`].
pub async fn settings_on(conn: &mut sqlx::PgConnection) -> Result<Settings, sqlx::Error> {
    repo::settings(conn, false)
        .await?
        .ok_or(sqlx::Error::RowNotFound)
}

/// The next document number, e.g. `Q-42`; gapless within the caller's transaction.
pub async fn next_number_in(tx: &mut Tx, sequence: repo::Sequence) -> Result<String, Error> {
    let (prefix, number) = repo::next_number(tx, sequence).await?;
    // The settings carry the next numbers: this transaction now reads them from the
    // row, and its commit drops the cached copy.
    let key = Key::account(tx.account_id());
    tx.touch(cache::Name::Settings, key);
    Ok(format!("{prefix}{number}"))
}

/// The tax rates a new document applies: the ones named by `ids` (each must exist;
/// failures go to `errors` as `tax_rate_ids[i]`), or the account's active default
/// rates when `ids` is `None`.
pub async fn pick_tax_rates_in(
    tx: &mut crate::platform::database::Tx,
    ids: Option<&[Uuid]>,
    errors: &mut Vec<FieldError>,
) -> Result<Vec<TaxRate>, Error> {
    let rates = repo::list_tax_rates(tx).await?;
    Ok(match ids {
        None => rates
            .into_iter()
            .filter(|r| r.is_default && r.active)
            .collect(),
        Some(ids) => ids
            .iter()
            .enumerate()
            .filter_map(|(i, id)| {
                let field = || format!("tax_rate_ids[{i}]");
                if ids[..i].contains(id) {
                    errors.push(FieldError::new(field(), "is listed twice"));
                    return None;
                }
                match rates.iter().find(|r| r.id == *id) {
                    None => {
                        errors.push(FieldError::new(field(), "no such tax rate"));
                        None
                    }
                    Some(rate) if !rate.active => {
                        errors.push(FieldError::new(field(), "is inactive"));
                        None
                    }
                    Some(rate) => Some(rate.clone()),
                }
            })
            .collect(),
    })
}

/// Whether the account has priced documents (their amounts carry its currency).
async fn documents_exist(tx: &mut crate::platform::database::Tx) -> Result<bool, Error> {
    Ok(repo::priced_documents_exist(tx).await?)
}

/// Every account, for scheduled work (runner only).
pub async fn all_ids(db: &Db) -> Result<Vec<Uuid>, Error> {
    Ok(repo::all_ids(db.pool()).await?)
}
