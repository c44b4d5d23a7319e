//! Quote rules: validation against the account's data, totals by the money rules,
//! the state machine, the activity log and the outbox message on send.

use chrono::{Days, Utc};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::model::{
    AppliedTax, LineData, PreviewLine, PreviewTotals, Quote, QuoteInput, QuoteLine, QuotePreview,
    QuotePreviewInput, check_adjustments, check_header,
};
use super::repo::{self, ApprovalData, QuoteFields, QuoteTotals};
use super::state::{QuoteAction, QuoteStatus};
use crate::domain::TimeZone;
use crate::error::{Error, ErrorCode, FieldError};
use crate::modules::accounts::model::Sequence;
use crate::modules::accounts::model::Settings;
use crate::modules::activity::{self, Subject};
use crate::modules::auth::links;
use crate::modules::auth::token::TokenKeys;
use crate::modules::jobs::model::TaxSnapshot;
use crate::modules::{accounts, catalog, clients, communications, users};
use crate::money::{self, MoneyError, Rate};
use crate::platform::database::Ctx;
use crate::platform::database::{Db, Tx};
use crate::platform::events::{Event, Record};
use crate::platform::pagination::{Page, PageRequest};

fn not_found() -> Error {
    Error::code(ErrorCode::QuoteNotFound)
}

/// 409 naming what is allowed instead.
pub fn invalid_transition(status: QuoteStatus, action: QuoteAction) -> Error {
    let allowed: Vec<&str> = status
        .allowed()
        .into_iter()
        .map(QuoteAction::as_str)
        .collect();
    let allowed_text = if allowed.is_empty() {
        "nothing".to_string()
    } else {
        allowed.join(", ")
    };
    Error::new(
        ErrorCode::InvalidTransition,
        format!(
            "a {} quote cannot {}; allowed: {allowed_text}",
            status.as_str(),
            action.as_str().replace('_', " ")
        ),
    )
    .with_fields(vec![FieldError::new(
        "status",
        format!("allowed actions: {allowed_text}"),
    )])
}

fn transition(status: QuoteStatus, action: QuoteAction) -> Result<QuoteStatus, Error> {
    status
        .after(action)
        .ok_or_else(|| invalid_transition(status, action))
}

fn money_error(error: MoneyError) -> Error {
    match error {
        MoneyError::Overflow => Error::field(error.field(), "the amounts are too large"),
        _ => Error::field(error.field(), error.to_string()),
    }
}

/// The quote with its lines, read inside a transaction.
async fn load(tx: &mut sqlx::PgConnection, id: Uuid, currency: &str) -> Result<Quote, Error> {
    let row = repo::get(tx, id, false).await?.ok_or_else(not_found)?;
    let lines = repo::lines(tx, id).await?;
    Ok(row.into_quote(lines, currency.to_string())?)
}

/// A quote in the caller's tenant transaction, drafts included (the documents
/// module renders PDFs from it).
/// What an in-app notice says of a quote (`notifications::service::on_event`), read
/// on the caller's connection: its number and title, no prices.
#[derive(Debug, Clone)]
pub struct QuoteNotice {
    pub number: String,
    pub title: String,
    /// The name signed with the approval.
    pub signed_by: Option<String>,
    /// The staff member who recorded the approval for the client; `None` when the
    /// client approved in the client hub.
    pub approved_by_user_id: Option<Uuid>,
    pub changes_requested_note: Option<String>,
}

pub async fn notice_on(
    conn: &mut sqlx::PgConnection,
    id: Uuid,
) -> Result<Option<QuoteNotice>, sqlx::Error> {
    Ok(repo::get(conn, id, false).await?.map(|row| QuoteNotice {
        number: row.number,
        title: row.title,
        signed_by: row.approved_by_name,
        approved_by_user_id: row.approved_by_user_id,
        changes_requested_note: row.changes_requested_note,
    }))
}

pub async fn get_in(tx: &mut Tx, id: Uuid, currency: &str) -> Result<Quote, Error> {
    load(tx, id, currency).await
}

/// The quote read on the caller's connection, for an in-transaction listener (a
/// deposit's receipt names it).
pub async fn get_on(
    conn: &mut sqlx::PgConnection,
    id: Uuid,
    currency: &str,
) -> Result<Quote, Error> {
    load(conn, id, currency).await
}

/// Everything a create or an edit computes before writing.
struct Prepared {
    lines: Vec<LineData>,
    computed: Computed,
}

/// The money rules' results for a set of lines.
struct Computed {
    taxes: Vec<AppliedTax>,
    line_totals: Vec<i64>,
    subtotal: i64,
    discount_total: i64,
    tax_total: i64,
    total: i64,
    deposit_amount: i64,
}

impl Computed {
    fn totals(&self) -> QuoteTotals<'_> {
        QuoteTotals {
            taxes: &self.taxes,
            subtotal: self.subtotal,
            discount_total: self.discount_total,
            tax_total: self.tax_total,
            total: self.total,
            deposit_amount: self.deposit_amount,
        }
    }
}

/// Compute totals; optional lines count only when selected.
fn compute(
    lines: &[LineData],
    taxes: &[AppliedTax],
    discount: Option<money::Adjustment>,
    deposit: Option<money::Adjustment>,
) -> Result<Computed, Error> {
    let inputs: Vec<money::LineInput> = lines
        .iter()
        .map(|l| money::LineInput {
            quantity: l.quantity,
            unit_price: l.unit_price,
            taxable: l.taxable,
            selected: l.selected,
        })
        .collect();
    let rates: Vec<Rate> = taxes.iter().map(|t| t.rate).collect();
    let totals = money::compute(&inputs, discount, &rates, deposit).map_err(money_error)?;
    let applied = taxes
        .iter()
        .zip(&totals.taxes)
        .map(|(tax, (_, amount))| AppliedTax::new(tax.name.clone(), tax.rate, *amount))
        .collect();
    Ok(Computed {
        taxes: applied,
        line_totals: totals.line_totals,
        subtotal: totals.subtotal,
        discount_total: totals.discount,
        tax_total: totals.tax_total,
        total: totals.total,
        deposit_amount: totals.deposit,
    })
}

async fn prepare(tx: &mut Tx, settings: &Settings, input: &QuoteInput) -> Result<Prepared, Error> {
    let mut errors = Vec::new();
    check_header(input, &mut errors);
    if input.lines.len() > super::model::MAX_LINES {
        return Err(Error::invalid(errors));
    }
    clients::service::check_references(tx, input.client_id, input.property_id, &mut errors).await?;
    let priced = price(
        tx,
        Pricing {
            lines: &input.lines,
            tax_rate_ids: input.tax_rate_ids.as_deref(),
            discount: input.discount,
            deposit: input.deposit,
        },
        &mut errors,
    )
    .await?;
    if let Some(valid_until) = input.valid_until
        && valid_until < today(settings)
    {
        errors.push(FieldError::new("valid_until", "must not be in the past"));
    }
    if !errors.is_empty() {
        return Err(Error::invalid(errors));
    }
    priced.ok_or_else(|| Error::invalid(errors))
}

/// What a quote's money depends on: the part of [`QuoteInput`] that
/// `POST /quotes/preview` also takes.
struct Pricing<'a> {
    lines: &'a [super::model::LineInput],
    tax_rate_ids: Option<&'a [Uuid]>,
    discount: Option<super::model::AdjustmentDto>,
    deposit: Option<super::model::AdjustmentDto>,
}

/// Lines resolved against the catalog, taxes picked and totals computed: the one
/// path by which a saved quote and a preview are priced. Problems with the lines,
/// rates or adjustments are added to `errors` (and `None` returned).
async fn price(
    tx: &mut Tx,
    input: Pricing<'_>,
    errors: &mut Vec<FieldError>,
) -> Result<Option<Prepared>, Error> {
    let requests: Vec<catalog::LineRequest<'_>> = input
        .lines
        .iter()
        .map(super::model::LineInput::request)
        .collect();
    let resolved = catalog::service::resolve_lines(tx, &requests, errors).await?;
    let lines: Vec<LineData> = resolved
        .into_iter()
        .zip(input.lines)
        .map(|(line, raw)| LineData {
            catalog_item_id: line.catalog_item_id,
            name: line.name,
            description: line.description,
            quantity: line.quantity,
            unit_price: line.unit_price,
            taxable: line.taxable,
            optional: raw.optional,
            // Optional lines count once the client picks them (at approval).
            selected: !raw.optional,
        })
        .collect();
    let taxes: Vec<AppliedTax> =
        accounts::service::pick_tax_rates_in(tx, input.tax_rate_ids, errors)
            .await?
            .into_iter()
            .map(|r| AppliedTax::new(r.name, r.rate, 0))
            .collect();
    check_adjustments(input.discount, input.deposit, errors);
    if !errors.is_empty() {
        return Ok(None);
    }
    let discount = input
        .discount
        .map(|d| d.to_adjustment("discount"))
        .transpose()
        .map_err(|e| Error::invalid(vec![e]))?;
    let deposit = input
        .deposit
        .map(|d| d.to_adjustment("deposit"))
        .transpose()
        .map_err(|e| Error::invalid(vec![e]))?;
    let computed = compute(&lines, &taxes, discount, deposit)?;
    Ok(Some(Prepared { lines, computed }))
}

/// What a quote with these lines, rates and adjustments comes to, priced by the
/// same code as `create` and `update`; nothing is written.
#[tracing::instrument(skip_all, fields(account_id = %ctx.account_id))]
pub async fn preview(db: &Db, ctx: &Ctx, input: QuotePreviewInput) -> Result<QuotePreview, Error> {
    let mut errors = Vec::new();
    if input.lines.len() > super::model::MAX_LINES {
        errors.push(FieldError::new(
            "lines",
            format!("at most {}", super::model::MAX_LINES),
        ));
        return Err(Error::invalid(errors));
    }
    let mut tx = db.tenant(ctx.account_id).await?;
    let settings = accounts::service::settings_in(&mut tx).await?;
    let pricing = Pricing {
        lines: &input.lines,
        tax_rate_ids: input.tax_rate_ids.as_deref(),
        discount: input.discount,
        deposit: input.deposit,
    };
    let Some(prepared) = price(&mut tx, pricing, &mut errors).await? else {
        return Err(Error::invalid(errors));
    };
    // The same lines with every optional one picked: what approval would price if
    // the client took them all.
    let all: Vec<LineData> = prepared
        .lines
        .iter()
        .cloned()
        .map(|mut l| {
            l.selected = true;
            l
        })
        .collect();
    let discount = input
        .discount
        .map(|d| d.to_adjustment("discount"))
        .transpose()
        .map_err(|e| Error::invalid(vec![e]))?;
    let deposit = input
        .deposit
        .map(|d| d.to_adjustment("deposit"))
        .transpose()
        .map_err(|e| Error::invalid(vec![e]))?;
    let with_all = compute(&all, &prepared.computed.taxes, discount, deposit)?;
    tx.commit().await?;
    let c = prepared.computed;
    Ok(QuotePreview {
        currency: settings.currency,
        lines: prepared
            .lines
            .into_iter()
            .zip(c.line_totals)
            .map(|(l, line_total)| PreviewLine {
                catalog_item_id: l.catalog_item_id,
                name: l.name,
                description: l.description,
                quantity: l.quantity,
                unit_price: l.unit_price,
                taxable: l.taxable,
                optional: l.optional,
                selected: l.selected,
                line_total,
            })
            .collect(),
        totals: PreviewTotals {
            taxes: c.taxes,
            subtotal: c.subtotal,
            discount_total: c.discount_total,
            tax_total: c.tax_total,
            total: c.total,
            deposit_amount: c.deposit_amount,
        },
        with_all_optional: PreviewTotals {
            taxes: with_all.taxes,
            subtotal: with_all.subtotal,
            discount_total: with_all.discount_total,
            tax_total: with_all.tax_total,
            total: with_all.total,
            deposit_amount: with_all.deposit_amount,
        },
    })
}

pub fn today(settings: &Settings) -> chrono::NaiveDate {
    let tz = TimeZone::parse(&settings.time_zone).map_or(chrono_tz::UTC, |t| t.0);
    Utc::now().with_timezone(&tz).date_naive()
}

fn fields<'a>(input: &'a QuoteInput, valid_until: Option<chrono::NaiveDate>) -> QuoteFields<'a> {
    QuoteFields {
        client_id: input.client_id,
        property_id: input.property_id,
        title: input.title.trim(),
        message: input
            .message
            .as_deref()
            .map(str::trim)
            .filter(|m| !m.is_empty()),
        discount: input.discount,
        deposit: input.deposit,
        valid_until,
    }
}

#[tracing::instrument(skip_all, fields(account_id = %ctx.account_id))]
pub async fn create(db: &Db, ctx: &Ctx, input: QuoteInput) -> Result<Quote, Error> {
    if input.version.is_some() {
        return Err(Error::field(
            "version",
            "is set by the server; leave it out when creating",
        ));
    }
    let mut tx = db.tenant(ctx.account_id).await?;
    let quote = create_in(&mut tx, ctx, &input).await?;
    tx.commit().await?;
    Ok(quote)
}

/// Create a quote in the caller's transaction (a work request converted to a quote).
pub async fn create_in(tx: &mut Tx, ctx: &Ctx, input: &QuoteInput) -> Result<Quote, Error> {
    let settings = accounts::service::settings_in(tx).await?;
    let prepared = prepare(tx, &settings, input).await?;
    let valid_until = input.valid_until.or_else(|| {
        today(&settings).checked_add_days(Days::new(
            u64::try_from(settings.quote_validity_days).unwrap_or(30),
        ))
    });
    let id = Uuid::now_v7();
    let number = accounts::service::next_number_in(tx, Sequence::Quote).await?;
    repo::insert(
        tx,
        ctx.account_id,
        id,
        &number,
        &fields(input, valid_until),
        &prepared.computed.totals(),
        ctx.user_id,
    )
    .await?;
    repo::replace_lines(
        tx,
        ctx.account_id,
        id,
        &prepared.lines,
        &prepared.computed.line_totals,
    )
    .await?;
    let quote = load(tx, id, &settings.currency).await?;
    record(
        tx,
        Actor::from(ctx),
        &quote,
        "created",
        serde_json::json!({"number": quote.number, "total": quote.total}),
    )
    .await?;
    Ok(quote)
}

/// Who acts on a quote: a staff member, or the client through the hub's signed
/// link (no user).
#[derive(Debug, Clone, Copy)]
pub struct Actor {
    pub account_id: Uuid,
    pub user_id: Option<Uuid>,
}

impl From<&Ctx> for Actor {
    fn from(ctx: &Ctx) -> Self {
        Actor {
            account_id: ctx.account_id,
            user_id: Some(ctx.user_id),
        }
    }
}

async fn record(
    tx: &mut Tx,
    actor: Actor,
    quote: &Quote,
    action: &str,
    changes: serde_json::Value,
) -> Result<(), sqlx::Error> {
    activity::service::record(
        tx,
        actor.account_id,
        actor.user_id,
        Subject::Quote {
            id: quote.id,
            client_id: quote.client_id,
        },
        action,
        changes,
    )
    .await?;
    // Every recorded step of a quote is an event of the same name.
    let (quote_id, client_id) = (quote.id, quote.client_id);
    tx.raise(match action {
        "created" => Event::QuoteCreated {
            quote_id,
            client_id,
        },
        "sent" => Event::QuoteSent { quote_id },
        "approved" => Event::QuoteApproved {
            quote_id,
            client_id,
        },
        "declined" => Event::QuoteDeclined { quote_id },
        "changes_requested" => Event::QuoteChangesRequested { quote_id },
        _ => Event::QuoteUpdated { quote_id },
    });
    Ok(())
}

pub async fn get(db: &Db, ctx: &Ctx, id: Uuid) -> Result<Quote, Error> {
    get_for(db, Actor::from(ctx), id).await
}

/// A quote for staff or, through the hub, for its client. Drafts are the
/// business's own: the hub never shows one.
pub async fn get_for(db: &Db, actor: Actor, id: Uuid) -> Result<Quote, Error> {
    let mut tx = db.tenant(actor.account_id).await?;
    let settings = accounts::service::settings_in(&mut tx).await?;
    let quote = load(&mut tx, id, &settings.currency).await?;
    if actor.user_id.is_none() && quote.status == QuoteStatus::Draft {
        return Err(Error::code(ErrorCode::QuoteNotFound));
    }
    tx.commit().await?;
    Ok(quote)
}

pub async fn list(
    db: &Db,
    ctx: &Ctx,
    statuses: &[QuoteStatus],
    client_id: Option<Uuid>,
    page: PageRequest,
) -> Result<Page<Quote>, Error> {
    let mut tx = db.read(ctx).await?;
    let settings = accounts::service::settings_in(&mut tx).await?;
    let rows = repo::list(&mut tx, statuses, client_id, page.after, page.fetch_limit()).await?;
    let mut quotes = Vec::with_capacity(rows.len());
    for row in rows {
        let lines = repo::lines(&mut tx, row.id).await?;
        quotes.push(row.into_quote(lines, settings.currency.clone())?);
    }
    tx.commit().await?;
    Ok(Page::from_rows(quotes, page, |q| q.id))
}

/// Lock the quote, check the version the caller read and that `action` is allowed.
async fn lock(
    tx: &mut Tx,
    id: Uuid,
    version: Option<i32>,
    action: QuoteAction,
) -> Result<repo::QuoteRow, Error> {
    let row = repo::get(tx, id, true).await?.ok_or_else(not_found)?;
    if let Some(version) = version
        && version != row.version
    {
        return Err(users::service::stale_in(
            tx,
            Some(Record::Quote(id)),
            row.version,
            row.updated_at,
        )
        .await);
    }
    transition(row.status()?, action)?;
    Ok(row)
}

#[tracing::instrument(skip_all, fields(account_id = %ctx.account_id, quote_id = %id))]
pub async fn update(
    db: &Db,
    ctx: &Ctx,
    id: Uuid,
    version: i32,
    input: QuoteInput,
) -> Result<Quote, Error> {
    let mut tx = db.tenant(ctx.account_id).await?;
    let current = lock(&mut tx, id, Some(version), QuoteAction::Edit).await?;
    let settings = accounts::service::settings_in(&mut tx).await?;
    let prepared = prepare(&mut tx, &settings, &input).await?;
    let valid_until = input.valid_until.or(current.valid_until);
    repo::update_fields(
        &mut tx,
        id,
        &fields(&input, valid_until),
        &prepared.computed.totals(),
    )
    .await?;
    repo::replace_lines(
        &mut tx,
        ctx.account_id,
        id,
        &prepared.lines,
        &prepared.computed.line_totals,
    )
    .await?;
    let quote = load(&mut tx, id, &settings.currency).await?;
    record(
        &mut tx,
        Actor::from(ctx),
        &quote,
        "updated",
        serde_json::json!({"total": {"from": current.total, "to": quote.total}}),
    )
    .await?;
    tx.commit().await?;
    Ok(quote)
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendInput {
    /// Send to this address instead of the client's primary email.
    pub to: Option<String>,
    /// A note for this email instead of the quote's message.
    pub note: Option<String>,
    pub version: Option<i32>,
}

#[tracing::instrument(skip_all, fields(account_id = %ctx.account_id, quote_id = %id))]
pub async fn send(
    db: &Db,
    keys: &TokenKeys,
    public_url: &str,
    ctx: &Ctx,
    id: Uuid,
    input: SendInput,
) -> Result<Quote, Error> {
    let mut tx = db.tenant(ctx.account_id).await?;
    let row = lock(&mut tx, id, input.version, QuoteAction::Send).await?;
    let settings = accounts::service::settings_in(&mut tx).await?;
    let client = clients::service::get_in(&mut tx, row.client_id).await?;
    let to = client.email_to(input.to.as_deref())?;
    let note = crate::domain::optional_text(input.note.as_deref(), 10_000)
        .map_err(|m| Error::field("note", m))?;
    let today = today(&settings);
    let fresh_until = today
        .checked_add_days(Days::new(
            u64::try_from(settings.quote_validity_days).unwrap_or(30),
        ))
        .unwrap_or(today);
    repo::mark_sent(&mut tx, id, today, fresh_until).await?;
    let quote = load(&mut tx, id, &settings.currency).await?;
    let link = links::link(public_url, keys, links::Kind::Quote, ctx.account_id, id);
    let client_page = links::client_page_link(public_url, keys, ctx.account_id, client.id);
    let content = super::emails::quote_sent(
        &settings,
        &client,
        &quote,
        note.as_deref(),
        &link,
        &client_page,
    );
    let email = communications::OutgoingEmail {
        client_id: Some(client.id),
        template: "quote_sent",
        to: to.clone(),
        content,
        about: Some(("quote", id)),
    };
    let message_id =
        communications::queue_email_in(&mut tx, ctx.account_id, Some(ctx.user_id), &email).await?;
    record(
        &mut tx,
        Actor::from(ctx),
        &quote,
        "sent",
        serde_json::json!({"to": to, "message_id": message_id}),
    )
    .await?;
    tx.commit().await?;
    Ok(quote)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApproveInput {
    /// The name the client typed as their signature.
    pub signature_name: String,
    /// The optional lines the client chose.
    #[serde(default)]
    pub selected_optional_line_ids: Vec<Uuid>,
    pub version: Option<i32>,
}

#[tracing::instrument(skip_all, fields(account_id = %ctx.account_id, quote_id = %id))]
pub async fn approve(
    db: &Db,
    ctx: &Ctx,
    id: Uuid,
    input: ApproveInput,
    ip: Option<String>,
) -> Result<Quote, Error> {
    approve_as(db, Actor::from(ctx), id, input, ip).await
}

/// The client approves in the hub. A second approval (a double-click, a retry on
/// a flaky connection) returns the approved quote unchanged.
pub async fn approve_by_client(
    db: &Db,
    account_id: Uuid,
    id: Uuid,
    input: ApproveInput,
    ip: String,
) -> Result<Quote, Error> {
    let actor = Actor {
        account_id,
        user_id: None,
    };
    let current = get_for(db, actor, id).await?;
    if current.status == QuoteStatus::Approved {
        return Ok(current);
    }
    // The offer lapses at the end of valid_until, in the business's time zone,
    // whether or not the scheduler has marked it yet.
    let lapsed = match current.valid_until {
        Some(until) => {
            let mut tx = db.tenant(account_id).await?;
            let settings = accounts::service::settings_in(&mut tx).await?;
            tx.commit().await?;
            until < today(&settings)
        }
        None => false,
    };
    if lapsed || current.status == QuoteStatus::Expired {
        return Err(Error::new(
            ErrorCode::InvalidTransition,
            "this quote has expired; ask the business to send it again",
        ));
    }
    approve_as(db, actor, id, input, Some(ip)).await
}

/// Approve for `actor`: staff recording a client's approval, or the client in the
/// hub (`user_id` None). `ip` is the approver's address.
pub async fn approve_as(
    db: &Db,
    actor: Actor,
    id: Uuid,
    input: ApproveInput,
    ip: Option<String>,
) -> Result<Quote, Error> {
    let signature = crate::domain::required_text(&input.signature_name, 200)
        .map_err(|m| Error::field("signature_name", m))?;
    let mut tx = db.tenant(actor.account_id).await?;
    let row = lock(&mut tx, id, input.version, QuoteAction::Approve).await?;
    let settings = accounts::service::settings_in(&mut tx).await?;
    let mut lines: Vec<QuoteLine> = repo::lines(&mut tx, id).await?;
    let mut errors = Vec::new();
    for (i, chosen) in input.selected_optional_line_ids.iter().enumerate() {
        if !lines.iter().any(|l| l.id == *chosen && l.optional) {
            errors.push(FieldError::new(
                format!("selected_optional_line_ids[{i}]"),
                "is not an optional line of this quote",
            ));
        }
    }
    if !errors.is_empty() {
        return Err(Error::invalid(errors));
    }
    for line in lines.iter_mut().filter(|l| l.optional) {
        line.selected = input.selected_optional_line_ids.contains(&line.id);
        repo::set_line_selection(&mut tx, line.id, line.selected).await?;
    }
    let computed = price_stored(&row, &lines)?;
    let totals = computed.totals();
    let approval = ApprovalData {
        signature_name: &signature,
        user_id: actor.user_id,
        ip,
    };
    repo::mark_approved(&mut tx, id, &approval, &totals).await?;
    let quote = load(&mut tx, id, &settings.currency).await?;
    record(&mut tx, actor, &quote, "approved", serde_json::json!({"signature_name": signature, "total": quote.total, "optional_lines": input.selected_optional_line_ids})).await?;
    tx.commit().await?;
    Ok(quote)
}

/// A stored quote's lines priced as they are selected, by `compute` (the one place
/// quote money is computed): what approval saves and the client hub previews.
fn price_stored(row: &repo::QuoteRow, lines: &[QuoteLine]) -> Result<Computed, Error> {
    let data: Vec<LineData> = lines
        .iter()
        .map(|l| LineData {
            catalog_item_id: l.catalog_item_id,
            name: l.name.clone(),
            description: l.description.clone(),
            quantity: l.quantity,
            unit_price: l.unit_price,
            taxable: l.taxable,
            optional: l.optional,
            selected: l.selected,
        })
        .collect();
    let discount = row
        .discount_kind
        .as_deref()
        .and_then(super::model::AdjustmentKind::parse)
        .map(|kind| super::model::AdjustmentDto {
            kind,
            value: row.discount_value,
        });
    let deposit = row
        .deposit_kind
        .as_deref()
        .and_then(super::model::AdjustmentKind::parse)
        .map(|kind| super::model::AdjustmentDto {
            kind,
            value: row.deposit_value,
        });
    let discount = discount
        .map(|d| d.to_adjustment("discount"))
        .transpose()
        .map_err(|e| Error::invalid(vec![e]))?;
    let deposit = deposit
        .map(|d| d.to_adjustment("deposit"))
        .transpose()
        .map_err(|e| Error::invalid(vec![e]))?;
    compute(&data, &row.taxes.0, discount, deposit)
}

/// What the quote comes to with these optional lines chosen, as the client hub
/// shows it before approval; nothing is written. An id that is not one of the
/// quote's optional lines is a field error, as in approval.
pub async fn preview_choice(
    db: &Db,
    account_id: Uuid,
    id: Uuid,
    selected_optional_line_ids: &[Uuid],
) -> Result<PreviewTotals, Error> {
    let mut tx = db.tenant(account_id).await?;
    let row = repo::get(&mut tx, id, false).await?.ok_or_else(not_found)?;
    let mut lines: Vec<QuoteLine> = repo::lines(&mut tx, id).await?;
    tx.commit().await?;
    let mut errors = Vec::new();
    for (i, chosen) in selected_optional_line_ids.iter().enumerate() {
        if !lines.iter().any(|l| l.id == *chosen && l.optional) {
            errors.push(FieldError::new(
                format!("selected_optional_line_ids[{i}]"),
                "is not an optional line of this quote",
            ));
        }
    }
    if !errors.is_empty() {
        return Err(Error::invalid(errors));
    }
    for line in lines.iter_mut().filter(|l| l.optional) {
        line.selected = selected_optional_line_ids.contains(&line.id);
    }
    let c = price_stored(&row, &lines)?;
    Ok(PreviewTotals {
        taxes: c.taxes,
        subtotal: c.subtotal,
        discount_total: c.discount_total,
        tax_total: c.tax_total,
        total: c.total,
        deposit_amount: c.deposit_amount,
    })
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeclineInput {
    pub reason: Option<String>,
    pub version: Option<i32>,
}

pub async fn decline(db: &Db, ctx: &Ctx, id: Uuid, input: DeclineInput) -> Result<Quote, Error> {
    let reason = crate::domain::optional_text(input.reason.as_deref(), 2000)
        .map_err(|m| Error::field("reason", m))?;
    let mut tx = db.tenant(ctx.account_id).await?;
    lock(&mut tx, id, input.version, QuoteAction::Decline).await?;
    let settings = accounts::service::settings_in(&mut tx).await?;
    repo::mark_declined(&mut tx, id, reason.as_deref()).await?;
    let quote = load(&mut tx, id, &settings.currency).await?;
    record(
        &mut tx,
        Actor::from(ctx),
        &quote,
        "declined",
        serde_json::json!({"reason": reason}),
    )
    .await?;
    tx.commit().await?;
    Ok(quote)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangesInput {
    /// What the client wants changed.
    pub note: String,
    pub version: Option<i32>,
}

pub async fn request_changes(
    db: &Db,
    ctx: &Ctx,
    id: Uuid,
    input: ChangesInput,
) -> Result<Quote, Error> {
    request_changes_as(db, Actor::from(ctx), id, input).await
}

pub async fn request_changes_as(
    db: &Db,
    actor: Actor,
    id: Uuid,
    input: ChangesInput,
) -> Result<Quote, Error> {
    let note =
        crate::domain::required_text(&input.note, 4000).map_err(|m| Error::field("note", m))?;
    let mut tx = db.tenant(actor.account_id).await?;
    lock(&mut tx, id, input.version, QuoteAction::RequestChanges).await?;
    let settings = accounts::service::settings_in(&mut tx).await?;
    repo::mark_changes_requested(&mut tx, id, &note).await?;
    let quote = load(&mut tx, id, &settings.currency).await?;
    record(
        &mut tx,
        actor,
        &quote,
        "changes_requested",
        serde_json::json!({"note": note}),
    )
    .await?;
    tx.commit().await?;
    Ok(quote)
}

pub async fn archive(db: &Db, ctx: &Ctx, id: Uuid, version: Option<i32>) -> Result<Quote, Error> {
    let mut tx = db.tenant(ctx.account_id).await?;
    lock(&mut tx, id, version, QuoteAction::Archive).await?;
    let settings = accounts::service::settings_in(&mut tx).await?;
    repo::mark_archived(&mut tx, id).await?;
    let quote = load(&mut tx, id, &settings.currency).await?;
    tx.raise(Event::QuoteArchived {
        quote_id: id,
        client_id: quote.client_id,
    });
    tx.commit().await?;
    Ok(quote)
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConvertInput {
    /// When the work happens (omit for one unscheduled visit).
    pub schedule: Option<crate::modules::jobs::model::ScheduleInput>,
    pub billing: Option<crate::modules::jobs::model::Billing>,
    pub version: Option<i32>,
}

/// Create a job from an approved quote with the lines the client accepted; the
/// quote becomes `converted` and points at the job.
#[tracing::instrument(skip_all, fields(account_id = %ctx.account_id, quote_id = %id))]
pub async fn convert(
    db: &Db,
    ctx: &Ctx,
    id: Uuid,
    input: ConvertInput,
) -> Result<crate::modules::jobs::model::Job, Error> {
    let mut tx = db.tenant(ctx.account_id).await?;
    let row = lock(&mut tx, id, input.version, QuoteAction::Convert).await?;
    let lines: Vec<catalog::ResolvedLine> = repo::lines(&mut tx, id)
        .await?
        .into_iter()
        .filter(|l| l.selected)
        .map(|l| catalog::ResolvedLine {
            catalog_item_id: l.catalog_item_id,
            name: l.name,
            description: l.description,
            quantity: l.quantity,
            unit_price: l.unit_price,
            taxable: l.taxable,
        })
        .collect();
    let job_input = crate::modules::jobs::model::JobInput {
        client_id: row.client_id,
        property_id: row.property_id,
        title: row.title.clone(),
        instructions: None,
        lines: Vec::new(),
        billing: input.billing,
        schedule: input.schedule,
    };
    let job_id =
        crate::modules::jobs::service::create_in(&mut tx, ctx, &job_input, Some(id), Some(lines))
            .await?;
    // The job bills what the client approved: the quote's discount and tax rates
    // (its deposit, once paid, is applied to the job's invoice).
    let discount = row
        .discount_kind
        .as_deref()
        .and_then(super::model::AdjustmentKind::parse)
        .map(|kind| super::model::AdjustmentDto {
            kind,
            value: row.discount_value,
        });
    let taxes: Vec<TaxSnapshot> = row
        .taxes
        .0
        .iter()
        .map(|t| TaxSnapshot::new(t.name.clone(), t.rate))
        .collect();
    crate::modules::jobs::service::set_pricing_in(&mut tx, job_id, discount, &taxes).await?;
    repo::mark_converted(&mut tx, id, job_id).await?;
    tx.raise(Event::QuoteConverted {
        quote_id: id,
        client_id: row.client_id,
        job_id,
    });
    let job = crate::modules::jobs::service::load_in(&mut tx, job_id).await?;
    tx.commit().await?;
    Ok(job)
}

/// A quote a deposit may be paid on (sent, approved or converted), locked: its client
/// and total.
pub async fn lock_for_deposit_in(tx: &mut Tx, id: Uuid) -> Result<(Uuid, i64), Error> {
    let row = repo::get(tx, id, true)
        .await?
        .ok_or(Error::code(ErrorCode::QuoteNotFound))?;
    let status = row.status()?;
    match status {
        QuoteStatus::Sent | QuoteStatus::Approved | QuoteStatus::Converted => {
            Ok((row.client_id, row.total))
        }
        _ => Err(Error::new(
            ErrorCode::InvalidTransition,
            format!(
                "deposits are taken on sent, approved or converted quotes, not on a {} one",
                status.as_str()
            ),
        )),
    }
}

/// Mark the account's unanswered quotes past their `valid_until` expired (the
/// scheduler's `expire_quotes` task). Returns how many.
pub async fn expire_due(db: &Db, account_id: Uuid) -> Result<usize, Error> {
    let mut tx = db.tenant(account_id).await?;
    let settings = accounts::service::settings_in(&mut tx).await?;
    let expired = repo::expire(&mut tx, today(&settings)).await?;
    for (id, client_id) in &expired {
        tx.raise(Event::QuoteExpired {
            quote_id: *id,
            client_id: *client_id,
        });
    }
    tx.commit().await?;
    Ok(expired.len())
}

/// `expire_due` for every account (runner only).
pub async fn expire_all(db: &Db) -> anyhow::Result<u64> {
    let accounts = accounts::service::all_ids(db)
        .await
        .map_err(anyhow::Error::from)?;
    let mut expired = 0u64;
    for account_id in accounts {
        let n = expire_due(db, account_id)
            .await
            .map_err(|e| anyhow::Error::new(e).context(format!("account {account_id}")))?;
        expired += u64::try_from(n).unwrap_or(0);
    }
    Ok(expired)
}

/// The client a quote is for; `None` for a quote that is gone.
pub async fn client_of_in(tx: &mut Tx, id: Uuid) -> Result<Option<Uuid>, Error> {
    Ok(repo::client_of(tx, id).await?)
}
