//! SQL for `document_pdfs`: which PDF was rendered for which quote or invoice.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use super::Kind;

#[derive(Debug, Clone)]
pub struct PdfRow {
    pub storage_key: String,
    pub version: i32,
    pub fingerprint: String,
    pub rendered_at: DateTime<Utc>,
}

pub async fn get(
    conn: &mut PgConnection,
    kind: Kind,
    id: Uuid,
) -> Result<Option<PdfRow>, sqlx::Error> {
    let (quote_id, invoice_id) = ids(kind, id);
    sqlx::query_as!(
        PdfRow,
        r#"SELECT storage_key, version, fingerprint, rendered_at FROM document_pdfs
           WHERE quote_id IS NOT DISTINCT FROM $1 AND invoice_id IS NOT DISTINCT FROM $2"#,
        quote_id,
        invoice_id
    )
    .fetch_optional(&mut *conn)
    .await
}

pub struct NewPdf<'a> {
    pub storage_key: &'a str,
    pub version: i32,
    pub fingerprint: &'a str,
    pub bytes: i32,
    pub pages: i32,
}

/// Record the PDF just stored, replacing the previous record of that document.
pub async fn upsert(
    conn: &mut PgConnection,
    account_id: Uuid,
    kind: Kind,
    id: Uuid,
    pdf: &NewPdf<'_>,
) -> Result<(), sqlx::Error> {
    let (quote_id, invoice_id) = ids(kind, id);
    // Two renders of one document may finish together (the `pdf.generation` job and
    // the email that attaches the PDF): one at a time, or both inserts would collide
    // on the unique index.
    sqlx::query!(
        "SELECT pg_advisory_xact_lock(hashtextextended('document_pdfs:' || $1::text, 0))",
        id.to_string()
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        r#"DELETE FROM document_pdfs
           WHERE quote_id IS NOT DISTINCT FROM $1 AND invoice_id IS NOT DISTINCT FROM $2"#,
        quote_id,
        invoice_id
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        r#"INSERT INTO document_pdfs
               (account_id, id, quote_id, invoice_id, storage_key, version, fingerprint, bytes, pages)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"#,
        account_id,
        Uuid::now_v7(),
        quote_id,
        invoice_id,
        pdf.storage_key,
        pdf.version,
        pdf.fingerprint,
        pdf.bytes,
        pdf.pages
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

fn ids(kind: Kind, id: Uuid) -> (Option<Uuid>, Option<Uuid>) {
    match kind {
        Kind::Quote => (Some(id), None),
        Kind::Invoice => (None, Some(id)),
    }
}
