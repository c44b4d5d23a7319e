//! `image.processing`: thumbnails of pictures attached to jobs and client avatars,
//! queued by the upload in the same transaction. Both handlers are idempotent (they
//! act only on a row still marked `pending`), and a picture that cannot be decoded
//! is marked `failed` instead of being retried.

use anyhow::Context as _;

use super::Context;
use crate::modules::{attachments, clients};
use crate::platform::picture::ImageJob;
use crate::platform::queue::Job;

pub async fn run(ctx: &Context, job: &Job) -> anyhow::Result<()> {
    let account_id = job
        .account_id
        .context("an image.processing job without an account")?;
    let data: ImageJob =
        serde_json::from_value(job.data.clone()).context("malformed image.processing job")?;
    match data {
        ImageJob::AttachmentThumbnail { id } => {
            attachments::service::make_thumbnail(&ctx.db, &ctx.storage, account_id, id).await
        }
        ImageJob::ClientAvatar {
            client_id,
            avatar_id,
        } => clients::avatar::make(&ctx.db, &ctx.storage, account_id, client_id, avatar_id).await,
    }
}
