//! Invoice rules: lines from a job (nothing billed twice) or by hand, totals by the
//! money rules, gapless numbers at issue, payments that can never exceed the balance.

use chrono::Days;
use uuid::Uuid;

use super::model::{
    Invoice, InvoiceInput, InvoicePreview, InvoicePreviewInput, InvoiceStatus, Terms,
};
use super::repo::{self, InvoiceRow, LineRecord, NewInvoice};
use crate::error::{Error, ErrorCode, FieldError};
use crate::modules::accounts::model::Sequence;
use crate::modules::accounts::model::Settings;
use crate::modules::activity::{self, Subject};
use crate::modules::auth::links;
use crate::modules::auth::token::TokenKeys;
use crate::modules::jobs::model::TaxSnapshot;
use crate::modules::jobs::service::BilledLine;
use crate::modules::quotes::model::{AdjustmentDto, AdjustmentKind, AppliedTax};
use crate::modules::quotes::service::today;
use crate::modules::{accounts, catalog, clients, communications, jobs, users};
use crate::money::{self, Rate};
use crate::platform::database::Ctx;
use crate::platform::database::{Db, Tx};
use crate::platform::events::{Event, Record};
use crate::platform::pagination::{Page, PageRequest};

pub(super) fn not_found() -> Error {
    Error::code(ErrorCode::InvoiceNotFound)
}

fn invalid_transition(status: InvoiceStatus, action: &str) -> Error {
    Error::new(
        ErrorCode::InvalidTransition,
        format!("a {} invoice cannot be {action}", status.as_str()),
    )
}

pub(super) fn status_of(row: &InvoiceRow) -> Result<InvoiceStatus, Error> {
    InvoiceStatus::parse(&row.status)
        .ok_or_else(|| Error::internal(anyhow::anyhow!("unknown invoice status {}", row.status)))
}

/// The invoice, inside the caller's transaction (QuickBooks sync reads it).
pub async fn get_in(tx: &mut Tx, id: Uuid) -> Result<Invoice, Error> {
    let settings = accounts::service::settings_in(tx).await?;
    load(tx, id, &settings).await
}

pub(super) async fn load(
    tx: &mut sqlx::PgConnection,
    id: Uuid,
    settings: &Settings,
) -> Result<Invoice, Error> {
    let row = repo::get(tx, id, false).await?.ok_or_else(not_found)?;
    to_invoice(tx, row, settings).await
}

/// An invoice in the caller's tenant transaction with the settings already read,
/// drafts included (the documents module renders PDFs from it).
pub async fn get_with_settings_in(
    tx: &mut Tx,
    id: Uuid,
    settings: &Settings,
) -> Result<Invoice, Error> {
    load(tx, id, settings).await
}

async fn to_invoice(
    tx: &mut sqlx::PgConnection,
    row: InvoiceRow,
    settings: &Settings,
) -> Result<Invoice, Error> {
    let status = status_of(&row)?;
    let lines = repo::lines(tx, row.id).await?;
    // A void invoice is owed nothing (it can only be voided with no money kept on
    // it): the page, the client hub, the PDF and the emails show 0, not its total.
    let balance = if status == InvoiceStatus::Void {
        0
    } else {
        row.total - row.amount_paid + row.amount_refunded
    };
    let past_due =
        status.is_open() && balance > 0 && row.due_date.is_some_and(|due| due < today(settings));
    Ok(Invoice {
        id: row.id,
        number: row.number,
        client_id: row.client_id,
        property_id: row.property_id,
        job_id: row.job_id,
        title: row.title,
        message: row.message,
        status,
        past_due,
        payment_terms: Terms::parse(&row.payment_terms).unwrap_or(Terms::Custom),
        issue_date: row.issue_date,
        due_date: row.due_date,
        lines,
        discount: row
            .discount_kind
            .as_deref()
            .and_then(AdjustmentKind::parse)
            .map(|kind| AdjustmentDto {
                kind,
                value: row.discount_value,
            }),
        taxes: row.taxes.0,
        currency: settings.currency.clone(),
        subtotal: row.subtotal,
        discount_total: row.discount_total,
        tax_total: row.tax_total,
        total: row.total,
        amount_paid: row.amount_paid,
        amount_refunded: row.amount_refunded,
        balance,
        sent_at: row.sent_at,
        paid_at: row.paid_at,
        voided_at: row.voided_at,
        version: row.version,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}

#[tracing::instrument(skip_all, fields(account_id = %ctx.account_id))]
pub async fn create(db: &Db, ctx: &Ctx, input: InvoiceInput) -> Result<Invoice, Error> {
    let mut tx = db.tenant(ctx.account_id).await?;
    let settings = accounts::service::settings_in(&mut tx).await?;
    let mut errors = Vec::new();
    // From a job: its unbilled work; else the lines given.
    let billable = match input.job_id {
        Some(job_id) => {
            if !input.lines.is_empty() {
                errors.push(FieldError::new(
                    "lines",
                    "are taken from the job; leave them out",
                ));
            }
            match jobs::service::billable_in(&mut tx, job_id).await {
                Ok(billable) => Some(billable),
                Err(error) if error.code == ErrorCode::JobNotFound => {
                    return Err(Error::field("job_id", "no such job"));
                }
                Err(error) => return Err(error),
            }
        }
        None => None,
    };
    let client_id = match (&billable, input.client_id) {
        (Some(b), Some(given)) if b.client_id != given => {
            errors.push(FieldError::new("client_id", "is not the job's client"));
            given
        }
        (Some(b), _) => b.client_id,
        (None, Some(given)) => given,
        (None, None) => return Err(Error::field("client_id", "is required without job_id")),
    };
    let property_id = input
        .property_id
        .or(billable.as_ref().and_then(|b| b.property_id));
    clients::service::check_references(&mut tx, client_id, property_id, &mut errors).await?;
    let lines: Vec<BilledLine> = match &billable {
        Some(b) => b.lines.clone(),
        None => {
            if input.lines.is_empty() {
                errors.push(FieldError::new(
                    "lines",
                    "an invoice needs at least one line",
                ));
            }
            if input.lines.len() > 500 {
                errors.push(FieldError::new("lines", "at most 500"));
            }
            let requests: Vec<catalog::LineRequest<'_>> = input
                .lines
                .iter()
                .map(catalog::DocumentLineInput::request)
                .collect();
            catalog::service::resolve_lines(&mut tx, &requests, &mut errors)
                .await?
                .into_iter()
                .map(|line| BilledLine {
                    line,
                    visit_id: None,
                })
                .collect()
        }
    };
    let title = match input
        .title
        .as_deref()
        .or(billable.as_ref().map(|b| b.title.as_str()))
    {
        Some(title) => crate::domain::required_text(title, 200).unwrap_or_else(|m| {
            errors.push(FieldError::new("title", m));
            String::new()
        }),
        None => {
            errors.push(FieldError::new("title", "is required without job_id"));
            String::new()
        }
    };
    let message =
        crate::domain::optional_text(input.message.as_deref(), 10_000).unwrap_or_else(|m| {
            errors.push(FieldError::new("message", m));
            None
        });
    // A job priced by a quote bills the quote's tax rates and discount unless the
    // request names others.
    let job_taxes = billable.as_ref().and_then(|b| b.taxes.clone());
    let taxes: Vec<TaxSnapshot> = match (input.tax_rate_ids.as_deref(), job_taxes) {
        (None, Some(agreed)) => agreed,
        (ids, _) => accounts::service::pick_tax_rates_in(&mut tx, ids, &mut errors)
            .await?
            .into_iter()
            .map(|t| TaxSnapshot::new(t.name, t.rate))
            .collect(),
    };
    let job_discount = billable.as_ref().and_then(|b| b.discount);
    let granted_discount = input.discount.is_none() && job_discount.is_some();
    let discount_dto = input.discount.or(job_discount);
    let discount = match discount_dto
        .map(|d| d.to_adjustment("discount"))
        .transpose()
    {
        Ok(discount) => discount,
        Err(e) => {
            errors.push(e);
            None
        }
    };
    let terms = input
        .payment_terms
        .unwrap_or(Terms::from_account(settings.payment_terms));
    match (terms, input.due_date) {
        (Terms::Custom, None) => errors.push(FieldError::new(
            "due_date",
            "is required with custom payment terms",
        )),
        (Terms::Custom, Some(due)) if due < today(&settings) => {
            errors.push(FieldError::new("due_date", "must not be in the past"))
        }
        (Terms::Custom, Some(_)) => {}
        (_, Some(_)) => errors.push(FieldError::new(
            "due_date",
            "is set only with custom payment terms",
        )),
        (_, None) => {}
    }
    if !errors.is_empty() {
        return Err(Error::invalid(errors));
    }
    let (totals, applied) = price(&lines, &taxes, discount)?;

    let id = Uuid::now_v7();
    let new = NewInvoice {
        id,
        client_id,
        property_id,
        job_id: billable.as_ref().map(|b| b.job_id),
        title: &title,
        message: message.as_deref(),
        payment_terms: terms.as_str(),
        due_date: input.due_date,
        discount_kind: discount_dto.map(|d| d.kind.as_str()),
        discount_value: discount_dto.map_or(0, |d| d.value),
        taxes: &applied,
        subtotal: totals.subtotal,
        discount_total: totals.discount,
        tax_total: totals.tax_total,
        total: totals.total,
        created_by: ctx.user_id,
    };
    repo::insert(&mut tx, ctx.account_id, &new).await?;
    let records: Vec<LineRecord<'_>> = lines
        .iter()
        .zip(&totals.line_totals)
        .map(|(l, total)| LineRecord {
            catalog_item_id: l.line.catalog_item_id,
            visit_id: l.visit_id,
            name: &l.line.name,
            description: l.line.description.as_deref(),
            quantity: l.line.quantity,
            unit_price: l.line.unit_price,
            taxable: l.line.taxable,
            line_total: *total,
        })
        .collect();
    repo::insert_lines(&mut tx, ctx.account_id, id, &records).await?;
    let mut deposits = 0;
    if let Some(billable) = &billable {
        jobs::service::mark_invoiced_in(&mut tx, billable, id, granted_discount).await?;
        // Deposits paid on the job's quote count toward this invoice.
        if let Some(quote_id) = billable.quote_id {
            deposits =
                super::payments::apply_deposits_in(&mut tx, quote_id, id, totals.total).await?;
        }
    }
    activity::service::record(
        &mut tx,
        ctx.account_id,
        Some(ctx.user_id),
        Subject::Invoice { id, client_id },
        "created",
        serde_json::json!({"total": totals.total, "job_id": new.job_id, "deposits_applied": deposits}),
    )
    .await?;
    tx.raise(Event::InvoiceCreated {
        invoice_id: id,
        client_id,
    });
    let invoice = load(&mut tx, id, &settings).await?;
    tx.commit().await?;
    Ok(invoice)
}

/// The money rules for an invoice's lines: its totals and the taxes applied. The
/// one path by which a saved invoice and a preview are priced.
fn price(
    lines: &[BilledLine],
    taxes: &[TaxSnapshot],
    discount: Option<money::Adjustment>,
) -> Result<(money::Totals, Vec<AppliedTax>), Error> {
    let inputs: Vec<money::LineInput> = lines
        .iter()
        .map(|l| money::LineInput {
            quantity: l.line.quantity,
            unit_price: l.line.unit_price,
            taxable: l.line.taxable,
            selected: true,
        })
        .collect();
    let rates: Vec<Rate> = taxes.iter().map(|t| t.rate).collect();
    let totals = money::compute(&inputs, discount, &rates, None)
        .map_err(|e| Error::field(e.field(), e.to_string()))?;
    // What the client owes cannot be negative (the balance rule of
    // `invoices_balance_check`): credits larger than the charges are a credit
    // note, which jobber does not issue.
    if totals.total < 0 {
        return Err(Error::field(
            "lines",
            format!(
                "the invoice total would be negative ({}): credits may not exceed the charges",
                totals.total
            ),
        ));
    }
    let applied: Vec<AppliedTax> = taxes
        .iter()
        .zip(&totals.taxes)
        .map(|(t, (_, amount))| AppliedTax::new(t.name.clone(), t.rate, *amount))
        .collect();
    Ok((totals, applied))
}

/// What a standalone invoice with these lines, rates and discount would total,
/// priced by the same code as `create`; nothing is written.
#[tracing::instrument(skip_all, fields(account_id = %ctx.account_id))]
pub async fn preview(
    db: &Db,
    ctx: &Ctx,
    input: InvoicePreviewInput,
) -> Result<InvoicePreview, Error> {
    if input.lines.len() > 500 {
        return Err(Error::field("lines", "at most 500"));
    }
    let mut tx = db.tenant(ctx.account_id).await?;
    let settings = accounts::service::settings_in(&mut tx).await?;
    let mut errors = Vec::new();
    let requests: Vec<catalog::LineRequest<'_>> = input
        .lines
        .iter()
        .map(catalog::DocumentLineInput::request)
        .collect();
    let lines: Vec<BilledLine> = catalog::service::resolve_lines(&mut tx, &requests, &mut errors)
        .await?
        .into_iter()
        .map(|line| BilledLine {
            line,
            visit_id: None,
        })
        .collect();
    let taxes: Vec<TaxSnapshot> =
        accounts::service::pick_tax_rates_in(&mut tx, input.tax_rate_ids.as_deref(), &mut errors)
            .await?
            .into_iter()
            .map(|t| TaxSnapshot::new(t.name, t.rate))
            .collect();
    let discount = match input
        .discount
        .map(|d| d.to_adjustment("discount"))
        .transpose()
    {
        Ok(discount) => discount,
        Err(e) => {
            errors.push(e);
            None
        }
    };
    if !errors.is_empty() {
        return Err(Error::invalid(errors));
    }
    let (totals, taxes) = price(&lines, &taxes, discount)?;
    tx.commit().await?;
    Ok(InvoicePreview {
        currency: settings.currency,
        line_totals: totals.line_totals,
        taxes,
        subtotal: totals.subtotal,
        discount_total: totals.discount,
        tax_total: totals.tax_total,
        total: totals.total,
    })
}

/// An invoice for its client in the hub; drafts are the business's own.
pub async fn get_for_client(db: &Db, account_id: Uuid, id: Uuid) -> Result<Invoice, Error> {
    let mut tx = db.tenant(account_id).await?;
    let settings = accounts::service::settings_in(&mut tx).await?;
    let invoice = load(&mut tx, id, &settings).await?;
    tx.commit().await?;
    if invoice.status == InvoiceStatus::Draft {
        return Err(not_found());
    }
    Ok(invoice)
}

pub async fn get(db: &Db, ctx: &Ctx, id: Uuid) -> Result<Invoice, Error> {
    let mut tx = db.tenant(ctx.account_id).await?;
    let settings = accounts::service::settings_in(&mut tx).await?;
    let invoice = load(&mut tx, id, &settings).await?;
    tx.commit().await?;
    Ok(invoice)
}

/// Which invoices [`list`] returns; every field left `None` filters nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct ListFilter {
    pub status: Option<InvoiceStatus>,
    pub client_id: Option<Uuid>,
    /// Past due (`Invoice::past_due`) or not.
    pub past_due: Option<bool>,
}

impl ListFilter {
    /// Every invoice of one client.
    pub fn client(client_id: Uuid) -> Self {
        ListFilter {
            client_id: Some(client_id),
            ..ListFilter::default()
        }
    }
}

pub async fn list(
    db: &Db,
    ctx: &Ctx,
    filter: ListFilter,
    page: PageRequest,
) -> Result<Page<Invoice>, Error> {
    let mut tx = db.read(ctx).await?;
    let settings = accounts::service::settings_in(&mut tx).await?;
    let rows = repo::list(
        &mut tx,
        repo::ListFilter {
            status: filter.status.map(InvoiceStatus::as_str),
            client_id: filter.client_id,
            past_due: filter.past_due,
            today: today(&settings),
        },
        page.after,
        page.fetch_limit(),
    )
    .await?;
    let mut invoices = Vec::with_capacity(rows.len());
    for row in rows {
        invoices.push(to_invoice(&mut tx, row, &settings).await?);
    }
    tx.commit().await?;
    Ok(Page::from_rows(invoices, page, |i| i.id))
}

pub(super) async fn lock(tx: &mut Tx, id: Uuid, version: Option<i32>) -> Result<InvoiceRow, Error> {
    let row = repo::get(tx, id, true).await?.ok_or_else(not_found)?;
    if let Some(version) = version
        && version != row.version
    {
        return Err(users::service::stale_in(
            tx,
            Some(Record::Invoice(id)),
            row.version,
            row.updated_at,
        )
        .await);
    }
    Ok(row)
}

/// Issue (first send: the gapless number, issue and due dates) and email the invoice.
#[tracing::instrument(skip_all, fields(account_id = %ctx.account_id, invoice_id = %id))]
pub async fn send(
    db: &Db,
    keys: &TokenKeys,
    public_url: &str,
    ctx: &Ctx,
    id: Uuid,
    input: crate::modules::quotes::service::SendInput,
) -> Result<Invoice, Error> {
    let mut tx = db.tenant(ctx.account_id).await?;
    let row = lock(&mut tx, id, input.version).await?;
    let status = status_of(&row)?;
    let settings = accounts::service::settings_in(&mut tx).await?;
    let client = clients::service::get_in(&mut tx, row.client_id).await?;
    let to = client.email_to(input.to.as_deref())?;
    match status {
        InvoiceStatus::Draft => {
            // The number is taken in this transaction: gapless, even if the send fails.
            let number = accounts::service::next_number_in(&mut tx, Sequence::Invoice).await?;
            let issue_date = today(&settings);
            let terms = Terms::parse(&row.payment_terms).unwrap_or(Terms::Net30);
            let due_date = match terms.days() {
                Some(days) => issue_date
                    .checked_add_days(Days::new(days))
                    .unwrap_or(issue_date),
                None => row.due_date.unwrap_or(issue_date).max(issue_date),
            };
            repo::issue(&mut tx, id, &number, issue_date, due_date).await?;
            // Deposits applied while it was a draft show in its status.
            repo::settle_issued(&mut tx, id).await?;
        }
        InvoiceStatus::Sent | InvoiceStatus::PartiallyPaid => {
            repo::mark_resent(&mut tx, id).await?
        }
        InvoiceStatus::Paid | InvoiceStatus::Void | InvoiceStatus::BadDebt => {
            return Err(invalid_transition(status, "sent"));
        }
    }
    let invoice = load(&mut tx, id, &settings).await?;
    tx.raise(Event::InvoiceSent { invoice_id: id });
    let link = links::link(public_url, keys, links::Kind::Invoice, ctx.account_id, id);
    let client_page = links::client_page_link(public_url, keys, ctx.account_id, client.id);
    let content = super::emails::invoice_sent(&settings, &client, &invoice, &link, &client_page);
    let email = communications::OutgoingEmail {
        client_id: Some(client.id),
        template: "invoice_sent",
        to: to.clone(),
        content,
        about: Some(("invoice", id)),
    };
    let message_id =
        communications::queue_email_in(&mut tx, ctx.account_id, Some(ctx.user_id), &email).await?;
    activity::service::record(
        &mut tx,
        ctx.account_id,
        Some(ctx.user_id),
        Subject::Invoice {
            id,
            client_id: row.client_id,
        },
        "sent",
        serde_json::json!({"to": to, "number": invoice.number, "message_id": message_id}),
    )
    .await?;
    tx.commit().await?;
    Ok(invoice)
}

/// Say that an invoice is paid in full, when it is (`invoice.paid`: the office is
/// notified by the notifications listener).
pub(super) async fn raise_if_paid(tx: &mut Tx, invoice_id: Uuid) -> Result<(), Error> {
    let Some(row) = repo::get(tx, invoice_id, false).await? else {
        return Ok(());
    };
    if status_of(&row)? != InvoiceStatus::Paid {
        return Ok(());
    }
    tx.raise(Event::InvoicePaid { invoice_id });
    Ok(())
}

/// What the office's notice of a paid invoice says (`notifications::service::on_event`),
/// read on the caller's connection: its number (None for a draft), title and total.
#[derive(Debug, Clone)]
pub struct PaidNotice {
    pub number: Option<String>,
    pub title: String,
    pub total: i64,
}

pub async fn paid_notice_on(
    conn: &mut sqlx::PgConnection,
    id: Uuid,
) -> Result<Option<PaidNotice>, sqlx::Error> {
    Ok(repo::get(conn, id, false).await?.map(|row| PaidNotice {
        number: row.number,
        title: row.title,
        total: row.total,
    }))
}

/// Void an issued invoice that holds no money; it keeps its number, and its visits
/// and job lines can be billed again.
pub async fn void(db: &Db, ctx: &Ctx, id: Uuid, version: Option<i32>) -> Result<Invoice, Error> {
    let mut tx = db.tenant(ctx.account_id).await?;
    let row = lock(&mut tx, id, version).await?;
    let status = status_of(&row)?;
    if !status.is_open() {
        let hint = if status == InvoiceStatus::Draft {
            "; delete a draft instead"
        } else {
            ""
        };
        return Err(Error::new(
            ErrorCode::InvalidTransition,
            format!("a {} invoice cannot be voided{hint}", status.as_str()),
        ));
    }
    if row.amount_paid - row.amount_refunded > 0 {
        return Err(Error::new(
            ErrorCode::InvalidTransition,
            "payments were recorded on this invoice; refund them before voiding it",
        ));
    }
    repo::set_status(&mut tx, id, InvoiceStatus::Void.as_str()).await?;
    jobs::service::release_invoice_in(&mut tx, id).await?;
    tx.raise(Event::InvoiceVoided {
        invoice_id: id,
        client_id: row.client_id,
    });
    let settings = accounts::service::settings_in(&mut tx).await?;
    let invoice = load(&mut tx, id, &settings).await?;
    tx.commit().await?;
    Ok(invoice)
}

/// Write the unpaid balance off as bad debt.
pub async fn bad_debt(
    db: &Db,
    ctx: &Ctx,
    id: Uuid,
    version: Option<i32>,
) -> Result<Invoice, Error> {
    let mut tx = db.tenant(ctx.account_id).await?;
    let row = lock(&mut tx, id, version).await?;
    let status = status_of(&row)?;
    if !status.is_open() {
        return Err(invalid_transition(status, "written off"));
    }
    repo::set_status(&mut tx, id, InvoiceStatus::BadDebt.as_str()).await?;
    activity::service::record(
        &mut tx,
        ctx.account_id,
        Some(ctx.user_id),
        Subject::Invoice {
            id,
            client_id: row.client_id,
        },
        "bad_debt",
        serde_json::json!({"balance": row.total - row.amount_paid + row.amount_refunded}),
    )
    .await?;
    tx.raise(Event::InvoiceWrittenOff { invoice_id: id });
    let settings = accounts::service::settings_in(&mut tx).await?;
    let invoice = load(&mut tx, id, &settings).await?;
    tx.commit().await?;
    Ok(invoice)
}

/// Delete a draft (it has no number yet); what it billed can be billed again.
pub async fn delete_draft(db: &Db, ctx: &Ctx, id: Uuid) -> Result<(), Error> {
    let mut tx = db.tenant(ctx.account_id).await?;
    let row = lock(&mut tx, id, None).await?;
    let status = status_of(&row)?;
    if status != InvoiceStatus::Draft {
        return Err(Error::new(
            ErrorCode::InvalidTransition,
            format!(
                "only drafts can be deleted; void a {} invoice instead",
                status.as_str()
            ),
        ));
    }
    jobs::service::release_invoice_in(&mut tx, id).await?;
    // Its deposits go back to their quote, for the next invoice.
    repo::detach_deposits(&mut tx, id).await?;
    repo::delete(&mut tx, id).await?;
    tx.raise(Event::InvoiceDeleted {
        invoice_id: id,
        client_id: row.client_id,
    });
    tx.commit().await?;
    Ok(())
}

/// Whether the account has any invoice (for rules elsewhere, such as currency).
/// Issued invoices with a balance, due before `today` (overdue follow-ups).
pub async fn overdue_in(
    tx: &mut Tx,
    settings: &Settings,
    today: chrono::NaiveDate,
) -> Result<Vec<Invoice>, Error> {
    let mut out = Vec::new();
    for id in repo::overdue(tx, today).await? {
        out.push(load(tx, id, settings).await?);
    }
    Ok(out)
}

/// The client and job (if any) of an invoice; `None` for one that is gone.
pub async fn parties_in(tx: &mut Tx, id: Uuid) -> Result<Option<(Uuid, Option<Uuid>)>, Error> {
    Ok(repo::parties(tx, id).await?)
}

/// The client of a payment and the job of its invoice (if any).
pub async fn payment_parties_in(
    tx: &mut Tx,
    payment_id: Uuid,
) -> Result<Option<(Uuid, Option<Uuid>)>, Error> {
    Ok(repo::payment_parties(tx, payment_id).await?)
}
