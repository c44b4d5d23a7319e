//! The business's logo: printed on quote and invoice PDFs and shown inline in client
//! emails. JPEG or PNG, in the form the PDF writer embeds (`platform::pdf_image`), so
//! an upload that would print without a logo is refused at once rather than
//! silently dropped later. Metadata (EXIF, XMP) is removed like on every upload.
//!
//! Each upload gets a new key (`uploads/{accountId}/branding/logo-{id}.{ext}`):
//! a PDF or email being made while the logo changes reads either the old file or
//! the new one, never half of each. The old file is deleted after the commit.

use std::time::Duration;

use bytes::Bytes;
use uuid::Uuid;

use super::model::Settings;
use super::repo;
use crate::error::{Error, ErrorCode};
use crate::modules::activity::{self, Subject};
use crate::modules::files::{Kind, check_picture, strip_metadata};
use crate::platform::database::Ctx;
use crate::platform::database::Db;
use crate::platform::pdf_image::Image;
use crate::platform::storage::{ObjectKey, Storage};

/// A logo needs no more (and emails carry it to every client).
pub const MAX_BYTES: usize = 2 * 1024 * 1024;
/// How long the logo's download address works.
pub const URL_TTL: Duration = Duration::from_secs(15 * 60);

fn account_settings_missing() -> Error {
    Error::internal(anyhow::anyhow!("account has no row"))
}

/// Replace the logo; returns the settings with the new `logo_key`.
#[tracing::instrument(skip_all, fields(account_id = %ctx.account_id))]
pub async fn set(db: &Db, storage: &Storage, ctx: &Ctx, bytes: Bytes) -> Result<Settings, Error> {
    let kind = Kind::sniff(&bytes)
        .filter(|k| matches!(k, Kind::Jpeg | Kind::Png))
        .ok_or_else(|| {
            Error::new(
                ErrorCode::UnsupportedMediaType,
                "a logo is a JPEG or PNG image",
            )
        })?;
    let clean = strip_metadata(kind, &bytes)
        .ok_or_else(|| Error::field("file", "the image is damaged or truncated"))?;
    check_picture(kind, &clean)?;
    // Parsing a PNG logo inflates and unfilters all of it: CPU work for the blocking
    // pool, not for the thread serving requests.
    let (clean, printable) = tokio::task::spawn_blocking(move || {
        let printable = Image::parse(&clean).is_some();
        (clean, printable)
    })
    .await
    .map_err(Error::internal)?;
    if !printable {
        return Err(Error::field(
            "file",
            "this image can't be printed on documents: use a JPEG, or a PNG with 8-bit colour that is not interlaced or palette-based, of at most 4096 x 4096 pixels",
        ));
    }
    let key = ObjectKey::logo(ctx.account_id, Uuid::now_v7(), kind.ext());
    // The file first: the setting never points at nothing. A failed commit leaves an
    // unreferenced file, which is harmless.
    storage.put(&key, Bytes::from(clean)).await?;
    let mut tx = db.tenant(ctx.account_id).await?;
    let before = repo::settings(&mut tx, true)
        .await?
        .ok_or_else(account_settings_missing)?;
    let settings = repo::set_logo_key(&mut tx, Some(key.as_str())).await?;
    tx.touch(
        crate::platform::cache::Name::Settings,
        crate::platform::cache::Key::account(ctx.account_id),
    );
    tx.raise(crate::platform::events::Event::SettingsUpdated {});
    activity::service::record(
        &mut tx,
        ctx.account_id,
        Some(ctx.user_id),
        Subject::Account(ctx.account_id),
        "logo_changed",
        serde_json::json!({"bytes": bytes.len()}),
    )
    .await?;
    tx.commit().await?;
    remove_old(storage, before.logo_key.as_deref()).await;
    Ok(settings)
}

/// Remove the logo: documents and emails show the business's name instead.
#[tracing::instrument(skip_all, fields(account_id = %ctx.account_id))]
pub async fn remove(db: &Db, storage: &Storage, ctx: &Ctx) -> Result<Settings, Error> {
    let mut tx = db.tenant(ctx.account_id).await?;
    let before = repo::settings(&mut tx, true)
        .await?
        .ok_or_else(account_settings_missing)?;
    let settings = repo::set_logo_key(&mut tx, None).await?;
    tx.touch(
        crate::platform::cache::Name::Settings,
        crate::platform::cache::Key::account(ctx.account_id),
    );
    tx.raise(crate::platform::events::Event::SettingsUpdated {});
    if before.logo_key.is_some() {
        activity::service::record(
            &mut tx,
            ctx.account_id,
            Some(ctx.user_id),
            Subject::Account(ctx.account_id),
            "logo_removed",
            serde_json::json!({}),
        )
        .await?;
    }
    tx.commit().await?;
    remove_old(storage, before.logo_key.as_deref()).await;
    Ok(settings)
}

/// A short-lived download address of the logo, or 404 when there is none.
pub async fn url(db: &Db, storage: &Storage, ctx: &Ctx) -> Result<String, Error> {
    let settings = super::service::settings(db, ctx).await?;
    let key = settings
        .logo_key
        .as_deref()
        .and_then(ObjectKey::parse)
        .ok_or_else(|| Error::code(ErrorCode::LogoNotFound))?;
    Ok(storage.signed_url(&key, URL_TTL).await?)
}

async fn remove_old(storage: &Storage, key: Option<&str>) {
    if let Some(key) = key.and_then(ObjectKey::parse)
        && let Err(error) = storage.delete(&key).await
    {
        tracing::warn!(
            error = format!("{error:#}"),
            key = key.as_str(),
            "logo replaced; the old file could not be deleted"
        );
    }
}
