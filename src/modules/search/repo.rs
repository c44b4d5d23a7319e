//! The palette's look-up over quotes, jobs and invoices: their number, their title or
//! their client's search text contains the words typed.

use sqlx::PgConnection;
use uuid::Uuid;

/// One document found.
pub struct DocumentHit {
    pub kind: String,
    pub id: Uuid,
    pub number: Option<String>,
    pub title: String,
    pub status: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub company_name: Option<String>,
}

/// At most `limit` of each kind, exact numbers first, then newest first.
/// `pattern` is `%…%` with LIKE's wildcards escaped; `exact` the lower-cased term.
pub async fn documents(
    conn: &mut PgConnection,
    pattern: &str,
    exact: &str,
    limit: i64,
) -> Result<Vec<DocumentHit>, sqlx::Error> {
    sqlx::query_as!(
        DocumentHit,
        r#"(SELECT 'quote' AS "kind!", q.id AS "id!", q.number AS "number?", q.title AS "title!", q.status AS "status!",
                   c.first_name AS "first_name?", c.last_name AS "last_name?", c.company_name AS "company_name?"
              FROM quotes q JOIN clients c ON c.account_id = q.account_id AND c.id = q.client_id
             WHERE q.number ILIKE $1 OR q.title ILIKE $1 OR c.search_text LIKE lower($1)
             ORDER BY lower(q.number) = $2 DESC, q.id DESC LIMIT $3)
           UNION ALL
           (SELECT 'job', j.id, j.number, j.title, j.status, c.first_name, c.last_name, c.company_name
              FROM jobs j JOIN clients c ON c.account_id = j.account_id AND c.id = j.client_id
             WHERE j.number ILIKE $1 OR j.title ILIKE $1 OR c.search_text LIKE lower($1)
             ORDER BY lower(j.number) = $2 DESC, j.id DESC LIMIT $3)
           UNION ALL
           (SELECT 'invoice', i.id, i.number, i.title, i.status, c.first_name, c.last_name, c.company_name
              FROM invoices i JOIN clients c ON c.account_id = i.account_id AND c.id = i.client_id
             WHERE i.number ILIKE $1 OR i.title ILIKE $1 OR c.search_text LIKE lower($1)
             ORDER BY lower(i.number) = $2 DESC NULLS LAST, i.id DESC LIMIT $3)"#,
        pattern,
        exact,
        limit,
    )
    .fetch_all(conn)
    .await
}
