//! A client's picture: uploaded by the office, cropped to a 256 x 256 JPEG by the
//! `image.processing` queue, downloaded through a short-lived signed address.
//!
//! Each upload has its own id and its own keys (`…/clients/{clientId}/avatar-{id}.jpg`
//! and the original beside it), so a replaced avatar never shows half of each and a
//! job for a superseded upload finds nothing to do. Files no row points at any more
//! are deleted after the commit that let go of them.

use std::time::Duration;

use bytes::Bytes;
use uuid::Uuid;

use super::model::Client;
use super::repo::{self, AvatarRow};
use crate::error::{Error, ErrorCode};
use crate::modules::activity::{self, Subject};
use crate::modules::files::{Kind, check_picture, strip_metadata};
use crate::modules::uploads::{self, service::Accept};
use crate::platform::database::Ctx;
use crate::platform::database::Db;
use crate::platform::events::Event;
use crate::platform::picture::{self, ImageJob, PictureError};
use crate::platform::queue::{self, Queue};
use crate::platform::storage::{ObjectKey, Storage};

/// A phone photo fits; the avatar made from it is a few kilobytes.
pub const MAX_BYTES: usize = 10 * 1024 * 1024;
/// How long the avatar's download address works.
pub const URL_TTL: Duration = Duration::from_secs(15 * 60);

fn not_found() -> Error {
    Error::code(ErrorCode::ClientNotFound)
}

/// Where a new avatar comes from.
pub enum Source {
    /// The bytes of the request.
    File(Bytes),
    /// A temporary upload of the caller's (`POST /uploads`), used up by this.
    Upload(Uuid),
}

/// A source once its bytes (if any) are checked.
enum Checked {
    File(Kind, Vec<u8>),
    Upload(Uuid),
}

/// Replace the client's avatar with a JPEG, PNG, GIF or WebP picture; the client
/// comes back with `avatar_status: pending` until the worker has made it.
#[tracing::instrument(skip_all, fields(account_id = %ctx.account_id, client_id = %client_id))]
pub async fn set(
    db: &Db,
    storage: &Storage,
    ctx: &Ctx,
    client_id: Uuid,
    source: Source,
) -> Result<Client, Error> {
    // A file is checked before anything is locked; an upload was checked when it came.
    let source = match source {
        Source::File(bytes) => {
            let kind = Kind::sniff(&bytes)
                .filter(|k| k.is_picture())
                .ok_or_else(|| {
                    Error::new(
                        ErrorCode::UnsupportedMediaType,
                        "an avatar is a JPEG, PNG, GIF or WebP picture",
                    )
                })?;
            let clean = strip_metadata(kind, &bytes)
                .ok_or_else(|| Error::field("file", "the picture is damaged or truncated"))?;
            check_picture(kind, &clean)?;
            Checked::File(kind, clean)
        }
        Source::Upload(upload_id) => Checked::Upload(upload_id),
    };
    let avatar_id = Uuid::now_v7();
    let mut tx = db.tenant(ctx.account_id).await?;
    let before = repo::avatar_for_update(&mut tx, client_id)
        .await?
        .ok_or_else(not_found)?;
    // The file before the row points at it; a failed commit leaves an unreferenced
    // file, which is harmless.
    let (original, taken, bytes) = match source {
        Checked::Upload(upload_id) => {
            let taken = uploads::service::take_in(&mut tx, ctx, upload_id, Accept::Images).await?;
            let original = ObjectKey::client_avatar_original(
                ctx.account_id,
                client_id,
                avatar_id,
                taken.kind.ext(),
            );
            taken.copy_to(storage, &original).await?;
            let bytes = taken.bytes;
            (original, Some(taken), bytes)
        }
        Checked::File(kind, clean) => {
            let original =
                ObjectKey::client_avatar_original(ctx.account_id, client_id, avatar_id, kind.ext());
            let bytes = i64::try_from(clean.len()).unwrap_or(i64::MAX);
            storage.put(&original, Bytes::from(clean)).await?;
            (original, None, bytes)
        }
    };
    let pending = AvatarRow {
        avatar_id: Some(avatar_id),
        avatar_status: Some("pending".into()),
        avatar_source_key: Some(original.as_str().to_string()),
    };
    repo::set_avatar(&mut tx, client_id, &pending).await?;
    tx.raise(Event::ClientAvatarChanged { client_id });
    queue::enqueue(
        &mut tx,
        ctx.account_id,
        Queue::ImageProcessing,
        &ImageJob::ClientAvatar {
            client_id,
            avatar_id,
        },
    )
    .await?;
    activity::service::record(
        &mut tx,
        ctx.account_id,
        Some(ctx.user_id),
        Subject::Client(client_id),
        "avatar_changed",
        serde_json::json!({"bytes": bytes}),
    )
    .await?;
    let client = repo::get(&mut tx, client_id).await?.ok_or_else(not_found)?;
    tx.commit().await?;
    if let Some(taken) = taken {
        taken.remove_file(storage).await;
    }
    remove_files(storage, ctx.account_id, client_id, &before).await;
    Ok(client)
}

/// Remove the client's avatar (nothing to do when there is none).
#[tracing::instrument(skip_all, fields(account_id = %ctx.account_id, client_id = %client_id))]
pub async fn remove(
    db: &Db,
    storage: &Storage,
    ctx: &Ctx,
    client_id: Uuid,
) -> Result<Client, Error> {
    let mut tx = db.tenant(ctx.account_id).await?;
    let before = repo::avatar_for_update(&mut tx, client_id)
        .await?
        .ok_or_else(not_found)?;
    if before.avatar_id.is_some() {
        let none = AvatarRow {
            avatar_id: None,
            avatar_status: None,
            avatar_source_key: None,
        };
        repo::set_avatar(&mut tx, client_id, &none).await?;
        tx.raise(Event::ClientAvatarChanged { client_id });
        activity::service::record(
            &mut tx,
            ctx.account_id,
            Some(ctx.user_id),
            Subject::Client(client_id),
            "avatar_removed",
            serde_json::json!({}),
        )
        .await?;
    }
    let client = repo::get(&mut tx, client_id).await?.ok_or_else(not_found)?;
    tx.commit().await?;
    remove_files(storage, ctx.account_id, client_id, &before).await;
    Ok(client)
}

/// A short-lived download address of the avatar; 404 `avatar_not_found` while there
/// is none ready.
pub async fn url(db: &Db, storage: &Storage, ctx: &Ctx, client_id: Uuid) -> Result<String, Error> {
    let mut tx = db.tenant(ctx.account_id).await?;
    let avatar = repo::avatar(&mut tx, client_id)
        .await?
        .ok_or_else(not_found)?;
    tx.commit().await?;
    let avatar_id = avatar
        .avatar_id
        .filter(|_| avatar.avatar_status.as_deref() == Some("ready"))
        .ok_or_else(|| Error::code(ErrorCode::AvatarNotFound))?;
    let key = ObjectKey::client_avatar(ctx.account_id, client_id, avatar_id);
    Ok(storage.signed_url(&key, URL_TTL).await?)
}

/// Crop an uploaded picture to the client's avatar (the `image.processing`
/// handler). Idempotent: a superseded or settled upload is left alone, and a run cut
/// short before its commit is done again. An undecodable picture is marked `failed`.
#[tracing::instrument(skip(db, storage))]
pub async fn make(
    db: &Db,
    storage: &Storage,
    account_id: Uuid,
    client_id: Uuid,
    avatar_id: Uuid,
) -> anyhow::Result<()> {
    let mut tx = db.tenant(account_id).await?;
    let Some(row) = repo::avatar_for_update(&mut tx, client_id).await? else {
        return Ok(());
    };
    if row.avatar_id != Some(avatar_id) || row.avatar_status.as_deref() != Some("pending") {
        return Ok(());
    }
    let source = row
        .avatar_source_key
        .as_deref()
        .and_then(ObjectKey::parse)
        .ok_or_else(|| anyhow::anyhow!("a pending avatar without its original"))?;
    let made = match storage.get(&source).await? {
        Some(bytes) => tokio::task::spawn_blocking(move || picture::avatar(&bytes)).await?,
        None => Err(PictureError::Decode("the file is missing".into())),
    };
    let done = match made {
        Ok(avatar) => {
            let key = ObjectKey::client_avatar(account_id, client_id, avatar_id);
            storage.put(&key, Bytes::from(avatar.jpeg)).await?;
            AvatarRow {
                avatar_id: Some(avatar_id),
                avatar_status: Some("ready".into()),
                avatar_source_key: None,
            }
        }
        Err(error) => {
            tracing::warn!(%error, "no avatar from this picture");
            AvatarRow {
                avatar_status: Some("failed".into()),
                ..row
            }
        }
    };
    let ready = done.avatar_source_key.is_none();
    repo::set_avatar(&mut tx, client_id, &done).await?;
    tx.raise(Event::ClientAvatarChanged { client_id });
    tx.commit().await?;
    if ready && let Err(error) = storage.delete(&source).await {
        tracing::warn!(
            error = format!("{error:#}"),
            key = source.as_str(),
            "avatar made; its original could not be deleted"
        );
    }
    Ok(())
}

/// Delete the files of an avatar no row points at any more.
pub async fn remove_files(storage: &Storage, account_id: Uuid, client_id: Uuid, old: &AvatarRow) {
    let made = old
        .avatar_id
        .map(|id| ObjectKey::client_avatar(account_id, client_id, id));
    let original = old.avatar_source_key.as_deref().and_then(ObjectKey::parse);
    for key in made.into_iter().chain(original) {
        if let Err(error) = storage.delete(&key).await {
            tracing::warn!(
                error = format!("{error:#}"),
                key = key.as_str(),
                "an old avatar file could not be deleted"
            );
        }
    }
}
