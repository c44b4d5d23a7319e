use uuid::Uuid;

use super::{
    CatalogItem, ItemData, LineRequest, MAX_PRICE, MAX_QUANTITY_HUNDREDTHS, ResolvedLine, repo,
};
use crate::error::FieldError;
use crate::error::{Error, ErrorCode};
use crate::modules::activity::{self, Subject};
use crate::modules::users;
use crate::platform::database::Ctx;
use crate::platform::database::Db;
use crate::platform::pagination::{Page, PageRequest};

fn not_found() -> Error {
    Error::code(ErrorCode::CatalogItemNotFound)
}

pub async fn create(db: &Db, ctx: &Ctx, data: ItemData) -> Result<CatalogItem, Error> {
    let mut tx = db.tenant(ctx.account_id).await?;
    let item = repo::insert(&mut tx, ctx.account_id, Uuid::now_v7(), &data).await?;
    activity::service::record(
        &mut tx,
        ctx.account_id,
        Some(ctx.user_id),
        Subject::CatalogItem(item.id),
        "created",
        serde_json::json!({"name": item.name, "unit_price": item.unit_price}),
    )
    .await?;
    tx.commit().await?;
    Ok(item)
}

/// An item, inside the caller's transaction (documents copy from it).
pub async fn get_in(
    tx: &mut crate::platform::database::Tx,
    id: Uuid,
) -> Result<CatalogItem, Error> {
    repo::get(tx, id).await?.ok_or_else(not_found)
}

/// Active items, newest first, at most `limit`, inside the caller's transaction (the
/// public request form offers them).
pub async fn active_in(
    tx: &mut crate::platform::database::Tx,
    limit: i64,
) -> Result<Vec<CatalogItem>, Error> {
    Ok(repo::list(tx, Some(true), None, None, limit).await?)
}

pub async fn get(db: &Db, ctx: &Ctx, id: Uuid) -> Result<CatalogItem, Error> {
    let mut tx = db.tenant(ctx.account_id).await?;
    let item = repo::get(&mut tx, id).await?.ok_or_else(not_found)?;
    tx.commit().await?;
    Ok(item)
}

pub async fn list(
    db: &Db,
    ctx: &Ctx,
    active: Option<bool>,
    q: Option<&str>,
    page: PageRequest,
) -> Result<Page<CatalogItem>, Error> {
    let q = q.map(str::trim).filter(|q| !q.is_empty());
    let mut tx = db.read(ctx).await?;
    let rows = repo::list(&mut tx, active, q, page.after, page.fetch_limit()).await?;
    tx.commit().await?;
    Ok(Page::from_rows(rows, page, |i| i.id))
}

pub async fn update(
    db: &Db,
    ctx: &Ctx,
    id: Uuid,
    version: i32,
    data: ItemData,
) -> Result<CatalogItem, Error> {
    let mut tx = db.tenant(ctx.account_id).await?;
    let current = repo::get_for_update(&mut tx, id)
        .await?
        .ok_or_else(not_found)?;
    if current.version != version {
        return Err(
            users::service::stale_in(&mut tx, None, current.version, current.updated_at).await,
        );
    }
    let item = repo::update(&mut tx, id, &data).await?;
    let changes = activity::service::diff(
        &serde_json::to_value(&current).unwrap_or_default(),
        &serde_json::to_value(&item).unwrap_or_default(),
        &["version", "updated_at"],
    );
    activity::service::record(
        &mut tx,
        ctx.account_id,
        Some(ctx.user_id),
        Subject::CatalogItem(id),
        "updated",
        changes,
    )
    .await?;
    tx.commit().await?;
    Ok(item)
}

/// Documents copy an item's name and price into their lines, so an item can be
/// deleted at any time (or deactivated to keep it for reference).
pub async fn delete(db: &Db, ctx: &Ctx, id: Uuid) -> Result<(), Error> {
    let mut tx = db.tenant(ctx.account_id).await?;
    if repo::delete(&mut tx, id).await? == 0 {
        return Err(not_found());
    }
    activity::service::record(
        &mut tx,
        ctx.account_id,
        Some(ctx.user_id),
        Subject::CatalogItem(id),
        "deleted",
        serde_json::json!({}),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Check document lines and fill them in from the catalog. Problems are added to
/// `errors` as `lines[i].field`; the lines returned are complete only when none were.
pub async fn resolve_lines(
    tx: &mut crate::platform::database::Tx,
    lines: &[LineRequest<'_>],
    errors: &mut Vec<FieldError>,
) -> Result<Vec<ResolvedLine>, Error> {
    let mut resolved = Vec::with_capacity(lines.len());
    for (i, line) in lines.iter().enumerate() {
        let field = |name: &str| format!("lines[{i}].{name}");
        let item = match line.catalog_item_id {
            Some(id) => match repo::get(tx, id).await? {
                // An inactive item is not offered for new lines; a line that
                // carries its own name and price (one read back from a document)
                // only refers to it.
                Some(item)
                    if !item.active && (line.name.is_none() || line.unit_price.is_none()) =>
                {
                    errors.push(FieldError::new(
                        field("catalog_item_id"),
                        "is inactive; reactivate it or give the line's name and unit_price",
                    ));
                    continue;
                }
                Some(item) => Some(item),
                None => {
                    errors.push(FieldError::new(
                        field("catalog_item_id"),
                        "no such catalog item",
                    ));
                    continue;
                }
            },
            None => None,
        };
        let name = match crate::domain::optional_text(line.name, 200) {
            Ok(name) => name.or(item.as_ref().map(|i| i.name.clone())),
            Err(message) => {
                errors.push(FieldError::new(field("name"), message));
                None
            }
        };
        let description = match crate::domain::optional_text(line.description, 4000) {
            Ok(Some(text)) => Some(text),
            Ok(None) => item.as_ref().and_then(|i| i.description.clone()),
            Err(message) => {
                errors.push(FieldError::new(field("description"), message));
                None
            }
        };
        let unit_price = line.unit_price.or(item.as_ref().map(|i| i.unit_price));
        if name.is_none() {
            errors.push(FieldError::new(
                field("name"),
                "is required unless the line comes from the catalog",
            ));
        }
        match unit_price {
            None => errors.push(FieldError::new(
                field("unit_price"),
                "is required unless the line comes from the catalog",
            )),
            Some(price) if price.abs() > MAX_PRICE => errors.push(FieldError::new(
                field("unit_price"),
                format!("must be at most {MAX_PRICE} minor units"),
            )),
            Some(_) => {}
        }
        if line.quantity.0.abs() > MAX_QUANTITY_HUNDREDTHS {
            errors.push(FieldError::new(
                field("quantity"),
                "must be at most 1,000,000",
            ));
        }
        resolved.push(ResolvedLine {
            catalog_item_id: line.catalog_item_id,
            name: name.unwrap_or_default(),
            description,
            quantity: line.quantity,
            unit_price: unit_price.unwrap_or_default(),
            taxable: line
                .taxable
                .or(item.as_ref().map(|i| i.taxable))
                .unwrap_or(true),
        });
    }
    Ok(resolved)
}
