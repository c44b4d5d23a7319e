//! Keeping a temporary upload, using it up, and purging the unused ones.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgConnection;
use utoipa::ToSchema;
use uuid::Uuid;

use super::repo::{self, NewUpload, TempUploadRow};
use crate::error::{Error, ErrorCode, FieldError};
use crate::modules::files::{Accepted, Kind};
use crate::platform::database::Ctx;
use crate::platform::database::{Db, Tx};
use crate::platform::storage::{ObjectKey, Storage, TEMP_UPLOADS};

/// How long an upload waits to be used.
pub const KEEP_HOURS: i32 = 24;
/// Expired uploads deleted per statement by the purge.
const PURGE_BATCH: i64 = 500;
/// Old files looked at per purge (a backlog drains over the hourly runs).
const SWEEP_LIMIT: usize = 10_000;

/// A file waiting to be used: name it as `upload_id` within 24 hours.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TempUpload {
    pub id: Uuid,
    /// As uploaded (for display only).
    pub filename: String,
    /// From the file's bytes: `image/jpeg`, `image/png`, `image/gif`, `image/webp`,
    /// `application/pdf`.
    pub content_type: String,
    /// After metadata was removed.
    pub bytes: i64,
    /// Unused after this, the upload is deleted.
    pub expires_at: DateTime<Utc>,
}

impl From<TempUploadRow> for TempUpload {
    fn from(row: TempUploadRow) -> Self {
        Self {
            id: row.id,
            filename: row.filename,
            content_type: row.content_type,
            bytes: row.bytes,
            expires_at: row.expires_at,
        }
    }
}

/// Keep an accepted file (typed, metadata removed) for 24 hours.
#[tracing::instrument(skip_all, fields(account_id = %ctx.account_id))]
pub async fn create(
    db: &Db,
    storage: &Storage,
    ctx: &Ctx,
    file: Accepted,
) -> Result<TempUpload, Error> {
    let id = Uuid::now_v7();
    let key = ObjectKey::temp_upload(ctx.account_id, id, file.kind.ext());
    let new = NewUpload {
        id,
        storage_key: key.as_str(),
        filename: &file.filename,
        content_type: file.kind.content_type(),
        bytes: i64::try_from(file.bytes.len()).unwrap_or(i64::MAX),
        uploaded_by: ctx.user_id,
        keep_hours: KEEP_HOURS,
    };
    // The file first: a row never points at nothing. A failed commit leaves a file
    // without a row, which the purge sweeps after a day.
    storage.put(&key, file.bytes).await?;
    let mut tx = db.tenant(ctx.account_id).await?;
    let row = repo::insert(&mut tx, ctx.account_id, &new).await?;
    tx.commit().await?;
    Ok(row.into())
}

/// What a caller may use an upload as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accept {
    /// Anything an upload can be: an image or a PDF.
    Any,
    /// JPEG, PNG, GIF or WebP only (a PDF is 415).
    Images,
}

/// An upload taken in a transaction: its row is deleted (and stays deleted if the
/// transaction commits). Copy its file to where it belongs ([`Taken::copy_to`])
/// before the commit, and remove the temporary file ([`Taken::remove_file`]) after.
#[derive(Debug)]
pub struct Taken {
    /// Where the file is now (under `uploads/temp/`).
    pub key: ObjectKey,
    /// The display name it was uploaded with (already cleaned).
    pub filename: String,
    pub kind: Kind,
    pub bytes: i64,
}

fn upload_error(code: ErrorCode, detail: &str) -> Error {
    Error::new(code, detail).with_fields(vec![FieldError::new("upload_id", detail)])
}

fn upload_not_found() -> Error {
    upload_error(
        ErrorCode::UploadNotFound,
        "no such upload of yours: it was already used, or never existed (POST /uploads first)",
    )
}

/// Use up the caller's upload `upload_id` in `tx`: locked (a concurrent use of the
/// same upload waits for this transaction, then finds it gone), checked and deleted.
/// Someone else's upload, one already used or unknown is 404 `upload_not_found`; an
/// expired one 410 `upload_expired`; a PDF where `accept` wants an image 415; each
/// naming the field `upload_id`.
#[tracing::instrument(skip_all, fields(account_id = %ctx.account_id, %upload_id))]
pub async fn take_in(
    tx: &mut Tx,
    ctx: &Ctx,
    upload_id: Uuid,
    accept: Accept,
) -> Result<Taken, Error> {
    let row = repo::lock(tx, upload_id)
        .await?
        .filter(|row| row.uploaded_by == ctx.user_id)
        .ok_or_else(upload_not_found)?;
    if row.expires_at <= Utc::now() {
        return Err(upload_error(
            ErrorCode::UploadExpired,
            "the upload is older than 24 hours; upload the file again",
        ));
    }
    let kind = Kind::from_content_type(&row.content_type)
        .ok_or_else(|| Error::internal(anyhow::anyhow!("upload of type {}", row.content_type)))?;
    if accept == Accept::Images && !kind.is_picture() {
        return Err(upload_error(
            ErrorCode::UnsupportedMediaType,
            "this needs an image (JPEG, PNG, GIF or WebP), and the upload is a PDF",
        ));
    }
    let key = ObjectKey::parse(&row.storage_key)
        .ok_or_else(|| Error::internal(anyhow::anyhow!("bad stored key {}", row.storage_key)))?;
    repo::delete(tx, upload_id).await?;
    Ok(Taken {
        key,
        filename: row.filename,
        kind,
        bytes: row.bytes,
    })
}

impl Taken {
    /// Copy the file to its new key (before the commit). A file that went missing is
    /// 404 `upload_not_found`, so the client uploads it again.
    pub async fn copy_to(&self, storage: &Storage, to: &ObjectKey) -> Result<(), Error> {
        if storage.copy(&self.key, to).await? {
            Ok(())
        } else {
            tracing::error!(key = self.key.as_str(), "an upload's file is missing");
            Err(upload_not_found())
        }
    }

    /// Delete the temporary file (after the commit). A failure is only logged: the
    /// file has no row any more, so the purge sweeps it after a day.
    pub async fn remove_file(self, storage: &Storage) {
        if let Err(error) = storage.delete(&self.key).await {
            tracing::warn!(
                error = format!("{error:#}"),
                key = self.key.as_str(),
                "upload used; its temporary file could not be deleted"
            );
        }
    }
}

/// The `purge_temp_uploads` cron task, across accounts on the runner's connection:
/// delete uploads expired at `now` with their files (in bounded batches), then files
/// under `uploads/temp/` written more than 24 hours before `now` that no upload
/// refers to (a commit that failed after its file was written, a used upload whose
/// file could not be deleted). Returns how many uploads and files were deleted.
#[tracing::instrument(skip_all)]
pub async fn purge(
    conn: &mut PgConnection,
    storage: &Storage,
    now: DateTime<Utc>,
) -> anyhow::Result<u64> {
    let mut purged = 0u64;
    loop {
        let keys = repo::purge_expired(conn, now, PURGE_BATCH).await?;
        for key in keys.iter().filter_map(|key| ObjectKey::parse(key)) {
            storage.delete(&key).await?;
        }
        purged += keys.len() as u64;
        if (keys.len() as i64) < PURGE_BATCH {
            break;
        }
    }
    let cutoff = now - chrono::Duration::hours(i64::from(KEEP_HOURS));
    let old = storage
        .list_older_than(TEMP_UPLOADS, cutoff, SWEEP_LIMIT)
        .await?;
    for chunk in old.chunks(PURGE_BATCH as usize) {
        let (accounts, ids): (Vec<Uuid>, Vec<Uuid>) =
            chunk.iter().filter_map(ObjectKey::temp_upload_ids).unzip();
        let live: HashSet<(Uuid, Uuid)> = repo::purge_existing(conn, &accounts, &ids)
            .await?
            .into_iter()
            .collect();
        for key in chunk {
            if key.temp_upload_ids().is_some_and(|ids| live.contains(&ids)) {
                continue;
            }
            storage.delete(key).await?;
            purged += 1;
        }
    }
    Ok(purged)
}
