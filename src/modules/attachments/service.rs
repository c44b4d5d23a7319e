//! Uploading, listing and removing a job's attachments.

use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::repo::{self, AttachmentRow};
use super::{Accepted, Kind};
use crate::error::{Error, ErrorCode};
use crate::modules::activity::{self, Subject};
use crate::modules::users::model::Role;
use crate::modules::{jobs, uploads};
use crate::platform::database::Ctx;
use crate::platform::database::Db;
use crate::platform::picture::{self, ImageJob, PictureError};
use crate::platform::queue::{self, Queue};
use crate::platform::storage::{ObjectKey, Storage};

/// How long a download URL works.
pub const URL_TTL: Duration = Duration::from_secs(15 * 60);

/// What an attachment is, as its uploader says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AttachmentKind {
    /// A picture of the work.
    Photo,
    /// The client's signature collected at a visit (a picture).
    Signature,
    /// Anything else: a PDF, a plan.
    Document,
}

impl AttachmentKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AttachmentKind::Photo => "photo",
            AttachmentKind::Signature => "signature",
            AttachmentKind::Document => "document",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [
            AttachmentKind::Photo,
            AttachmentKind::Signature,
            AttachmentKind::Document,
        ]
        .into_iter()
        .find(|k| k.as_str() == text)
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Attachment {
    pub id: Uuid,
    pub job_id: Uuid,
    pub visit_id: Option<Uuid>,
    /// What it is, as the uploader said (`photo` for a picture and `document`
    /// otherwise when they did not).
    pub kind: AttachmentKind,
    /// As uploaded (for display only).
    pub filename: String,
    /// From the file's bytes: `image/jpeg`, `image/png`, `image/gif`, `image/webp`,
    /// `application/pdf`.
    pub content_type: String,
    pub bytes: i64,
    /// A signed download address, valid for 15 minutes.
    pub url: String,
    /// A JPEG of at most 480 pixels a side, signed like `url`, once it is ready.
    pub thumbnail_url: Option<String>,
    /// Pictures only: whether the thumbnail is made yet.
    pub thumbnail_status: Option<picture::Status>,
    pub uploaded_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

async fn to_attachment(storage: &Storage, row: AttachmentRow) -> Result<Attachment, Error> {
    let key = ObjectKey::parse(&row.storage_key)
        .ok_or_else(|| Error::internal(anyhow::anyhow!("bad stored key {}", row.storage_key)))?;
    let url = storage.signed_url(&key, URL_TTL).await?;
    let thumbnail_url = match row.thumbnail_key.as_deref().and_then(ObjectKey::parse) {
        Some(key) => Some(storage.signed_url(&key, URL_TTL).await?),
        None => None,
    };
    Ok(Attachment {
        id: row.id,
        job_id: row.job_id,
        visit_id: row.visit_id,
        kind: AttachmentKind::parse(&row.kind).unwrap_or(AttachmentKind::Document),
        filename: row.filename,
        content_type: row.content_type,
        bytes: row.bytes,
        url,
        thumbnail_url,
        thumbnail_status: row
            .thumbnail_status
            .as_deref()
            .and_then(picture::Status::parse),
        uploaded_by: row.uploaded_by,
        created_at: row.created_at,
    })
}

/// Where an attachment's file comes from.
pub enum Source {
    /// Sent with the request, already accepted (typed, metadata removed).
    File(Accepted),
    /// The caller's temporary upload (`POST /uploads`), used up by attaching it.
    Upload(Uuid),
}

/// Attach a file to a job (and optionally one of its visits).
#[tracing::instrument(skip_all, fields(account_id = %ctx.account_id, %job_id))]
pub async fn add(
    db: &Db,
    storage: &Storage,
    ctx: &Ctx,
    job_id: Uuid,
    visit_id: Option<Uuid>,
    kind: Option<AttachmentKind>,
    source: Source,
) -> Result<Attachment, Error> {
    let mut tx = db.tenant(ctx.account_id).await?;
    jobs::service::check_job_access_in(&mut tx, ctx, job_id).await?;
    if let Some(visit_id) = visit_id
        && !jobs::service::visit_of_job_in(&mut tx, visit_id, job_id).await?
    {
        return Err(Error::field("visit_id", "is not a visit of this job"));
    }
    let id = Uuid::now_v7();
    let row = |key: &ObjectKey,
               filename: String,
               file: Kind,
               bytes: i64|
     -> Result<AttachmentRow, Error> {
        let said = match kind {
            Some(AttachmentKind::Photo | AttachmentKind::Signature) if !file.is_picture() => {
                return Err(Error::field(
                    "kind",
                    "a photo or signature must be a picture (JPEG, PNG, GIF or WebP)",
                ));
            }
            Some(said) => said,
            None if file.is_picture() => AttachmentKind::Photo,
            None => AttachmentKind::Document,
        };
        Ok(AttachmentRow {
            id,
            job_id,
            visit_id,
            storage_key: key.as_str().to_string(),
            filename,
            content_type: file.content_type().to_string(),
            bytes,
            uploaded_by: Some(ctx.user_id),
            created_at: Utc::now(),
            thumbnail_key: None,
            thumbnail_status: file.is_picture().then(|| "pending".to_string()),
            kind: said.as_str().to_string(),
        })
    };
    // The file first: a row never points at nothing. A failed commit leaves an
    // unreferenced file, which is harmless.
    let (row, taken) = match source {
        Source::File(file) => {
            let key = ObjectKey::job_attachment(ctx.account_id, job_id, id, file.kind.ext());
            let bytes = i64::try_from(file.bytes.len()).unwrap_or(i64::MAX);
            let row = row(&key, file.filename, file.kind, bytes)?;
            storage.put(&key, file.bytes).await?;
            (row, None)
        }
        Source::Upload(upload_id) => {
            let taken =
                uploads::service::take_in(&mut tx, ctx, upload_id, uploads::service::Accept::Any)
                    .await?;
            let key = ObjectKey::job_attachment(ctx.account_id, job_id, id, taken.kind.ext());
            let row = row(&key, taken.filename.clone(), taken.kind, taken.bytes)?;
            taken.copy_to(storage, &key).await?;
            (row, Some(taken))
        }
    };
    repo::insert(&mut tx, ctx.account_id, &row).await?;
    if row.thumbnail_status.is_some() {
        queue::enqueue(
            &mut tx,
            ctx.account_id,
            Queue::ImageProcessing,
            &ImageJob::AttachmentThumbnail { id },
        )
        .await?;
    }
    let client_id = jobs::service::client_of_in(&mut tx, job_id).await?;
    activity::service::record(
        &mut tx,
        ctx.account_id,
        Some(ctx.user_id),
        Subject::Job { id: job_id, client_id },
        "attachment_added",
        serde_json::json!({"attachment_id": id, "kind": row.kind, "filename": row.filename, "content_type": row.content_type, "bytes": row.bytes}),
    )
    .await?;
    tx.commit().await?;
    if let Some(taken) = taken {
        taken.remove_file(storage).await;
    }
    to_attachment(storage, row).await
}

pub async fn list(
    db: &Db,
    storage: &Storage,
    ctx: &Ctx,
    job_id: Uuid,
) -> Result<Vec<Attachment>, Error> {
    let mut tx = db.tenant(ctx.account_id).await?;
    jobs::service::check_job_access_in(&mut tx, ctx, job_id).await?;
    let rows = repo::list(&mut tx, job_id).await?;
    tx.commit().await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        out.push(to_attachment(storage, row).await?);
    }
    Ok(out)
}

/// Staff remove any attachment; a technician only their own.
pub async fn delete(
    db: &Db,
    storage: &Storage,
    ctx: &Ctx,
    job_id: Uuid,
    id: Uuid,
) -> Result<(), Error> {
    let mut tx = db.tenant(ctx.account_id).await?;
    jobs::service::check_job_access_in(&mut tx, ctx, job_id).await?;
    let not_found = || Error::code(ErrorCode::AttachmentNotFound);
    let deleted = repo::delete(&mut tx, job_id, id)
        .await?
        .ok_or_else(not_found)?;
    if ctx.role == Role::Technician && deleted.uploaded_by != Some(ctx.user_id) {
        return Err(Error::new(
            ErrorCode::Forbidden,
            "technicians remove only the files they added",
        ));
    }
    tx.commit().await?;
    let keys = std::iter::once(deleted.storage_key).chain(deleted.thumbnail_key);
    for key in keys.filter_map(|k| ObjectKey::parse(&k)) {
        if let Err(error) = storage.delete(&key).await {
            tracing::warn!(
                error = format!("{error:#}"),
                key = key.as_str(),
                "attachment removed; its file could not be deleted"
            );
        }
    }
    Ok(())
}

/// Make an attachment's thumbnail (the `image.processing` handler). Idempotent: an
/// attachment that is gone or whose thumbnail is settled is left alone, and a run
/// cut short before its commit is simply done again. A picture that cannot be
/// decoded is marked `failed` rather than retried.
#[tracing::instrument(skip(db, storage))]
pub async fn make_thumbnail(
    db: &Db,
    storage: &Storage,
    account_id: Uuid,
    id: Uuid,
) -> anyhow::Result<()> {
    let mut tx = db.tenant(account_id).await?;
    let Some((job_id, original)) = repo::pending_thumbnail_for_update(&mut tx, id).await? else {
        return Ok(());
    };
    let original =
        ObjectKey::parse(&original).ok_or_else(|| anyhow::anyhow!("bad stored key {original}"))?;
    let made = match storage.get(&original).await? {
        Some(bytes) => tokio::task::spawn_blocking(move || picture::thumbnail(&bytes)).await?,
        None => Err(PictureError::Decode("the file is missing".into())),
    };
    let key = match made {
        Ok(thumbnail) => {
            let key = ObjectKey::attachment_thumbnail(account_id, job_id, id);
            storage.put(&key, Bytes::from(thumbnail.jpeg)).await?;
            Some(key)
        }
        Err(error) => {
            tracing::warn!(%error, "no thumbnail for this attachment");
            None
        }
    };
    repo::set_thumbnail(&mut tx, id, key.as_ref().map(ObjectKey::as_str)).await?;
    tx.commit().await?;
    Ok(())
}
