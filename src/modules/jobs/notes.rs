//! Notes the office keeps on a job: anyone on the staff adds one and reads them all;
//! only a note's author changes or deletes it. (A visit's own note, written by the
//! technician, is `Visit::notes`.)

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::{Error, ErrorCode, FieldError};
use crate::platform::database::Ctx;
use crate::platform::database::{Db, Tx};

/// A note is at most this many characters.
pub const MAX_NOTE: usize = 5000;
/// A job keeps at most this many notes.
pub const MAX_NOTES: i64 = 1000;

#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct JobNote {
    pub id: Uuid,
    pub job_id: Uuid,
    /// Null when the author's user is gone.
    pub author_id: Option<Uuid>,
    pub author_name: Option<String>,
    pub body: String,
    pub created_at: DateTime<Utc>,
    /// Later than `created_at` once the note was edited.
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoteInput {
    /// 1 to 5000 characters (trimmed).
    pub body: String,
}

/// The notes with their authors' names, and `$tail`.
macro_rules! select {
    ($tail:literal) => {
        concat!(
            "SELECT n.id, n.job_id, n.author_id, u.name AS author_name, n.body, n.created_at, n.updated_at
             FROM job_notes n LEFT JOIN users u ON u.id = n.author_id ",
            $tail
        )
    };
}

fn note_not_found() -> Error {
    Error::code(ErrorCode::NoteNotFound)
}

fn checked(input: &NoteInput) -> Result<String, Error> {
    crate::domain::required_text(&input.body, MAX_NOTE)
        .map_err(|m| Error::invalid(vec![FieldError::new("body", m)]))
}

async fn job_exists(tx: &mut Tx, job_id: Uuid) -> Result<(), Error> {
    let found: Option<Uuid> = sqlx::query_scalar("SELECT id FROM jobs WHERE id = $1")
        .bind(job_id)
        .fetch_optional(&mut **tx)
        .await?;
    found
        .map(drop)
        .ok_or_else(|| Error::code(ErrorCode::JobNotFound))
}

async fn one(tx: &mut Tx, job_id: Uuid, id: Uuid) -> Result<JobNote, Error> {
    sqlx::query_as::<_, JobNote>(select!("WHERE n.job_id = $1 AND n.id = $2"))
        .bind(job_id)
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or_else(note_not_found)
}

/// The job's notes, oldest first.
pub async fn list(db: &Db, ctx: &Ctx, job_id: Uuid) -> Result<Vec<JobNote>, Error> {
    let mut tx = db.tenant(ctx.account_id).await?;
    job_exists(&mut tx, job_id).await?;
    let notes =
        sqlx::query_as::<_, JobNote>(select!("WHERE n.job_id = $1 ORDER BY n.created_at, n.id"))
            .bind(job_id)
            .fetch_all(&mut *tx)
            .await?;
    tx.commit().await?;
    Ok(notes)
}

pub async fn add(db: &Db, ctx: &Ctx, job_id: Uuid, input: NoteInput) -> Result<JobNote, Error> {
    let body = checked(&input)?;
    let mut tx = db.tenant(ctx.account_id).await?;
    // One writer at a time per job, so the cap holds under concurrent adds.
    let locked: Option<Uuid> = sqlx::query_scalar("SELECT id FROM jobs WHERE id = $1 FOR UPDATE")
        .bind(job_id)
        .fetch_optional(&mut *tx)
        .await?;
    if locked.is_none() {
        return Err(Error::code(ErrorCode::JobNotFound));
    }
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM job_notes WHERE job_id = $1")
        .bind(job_id)
        .fetch_one(&mut *tx)
        .await?;
    if count >= MAX_NOTES {
        return Err(Error::invalid(vec![FieldError::new(
            "body",
            format!("a job keeps at most {MAX_NOTES} notes"),
        )]));
    }
    let id = Uuid::now_v7();
    let account_id = tx.account_id();
    sqlx::query(
        "INSERT INTO job_notes (account_id, id, job_id, author_id, body) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(account_id)
    .bind(id)
    .bind(job_id)
    .bind((!ctx.user_id.is_nil()).then_some(ctx.user_id))
    .bind(&body)
    .execute(&mut *tx)
    .await?;
    let note = one(&mut tx, job_id, id).await?;
    tx.commit().await?;
    Ok(note)
}

/// The note, if the caller wrote it (403 otherwise).
async fn own(tx: &mut Tx, ctx: &Ctx, job_id: Uuid, id: Uuid) -> Result<JobNote, Error> {
    let note = one(tx, job_id, id).await?;
    if note.author_id != Some(ctx.user_id) {
        return Err(Error::code(ErrorCode::NotNoteAuthor));
    }
    Ok(note)
}

pub async fn edit(
    db: &Db,
    ctx: &Ctx,
    job_id: Uuid,
    id: Uuid,
    input: NoteInput,
) -> Result<JobNote, Error> {
    let body = checked(&input)?;
    let mut tx = db.tenant(ctx.account_id).await?;
    let note = own(&mut tx, ctx, job_id, id).await?;
    if note.body != body {
        sqlx::query("UPDATE job_notes SET body = $2 WHERE id = $1")
            .bind(id)
            .bind(&body)
            .execute(&mut *tx)
            .await?;
    }
    let note = one(&mut tx, job_id, id).await?;
    tx.commit().await?;
    Ok(note)
}

pub async fn delete(db: &Db, ctx: &Ctx, job_id: Uuid, id: Uuid) -> Result<(), Error> {
    let mut tx = db.tenant(ctx.account_id).await?;
    own(&mut tx, ctx, job_id, id).await?;
    sqlx::query("DELETE FROM job_notes WHERE id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}
