use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::repo;
use crate::error::Error;
use crate::modules::clients;
use crate::platform::database::Ctx;
use crate::platform::database::Db;
use crate::platform::pagination::PageRequest;

/// What was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SearchKind {
    Client,
    Quote,
    Job,
    Invoice,
}

/// One result: enough to show it and to open it (`/clients/{id}`, `/quotes/{id}`, …).
#[derive(Debug, Serialize, ToSchema)]
pub struct SearchHit {
    pub kind: SearchKind,
    pub id: Uuid,
    /// The document's number (`Q-42`); null for clients and draft invoices.
    pub number: Option<String>,
    /// The client's name, or the document's title.
    pub title: String,
    /// The client's email or phone; the document's client.
    pub subtitle: Option<String>,
    pub status: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SearchResults {
    /// Clients first, then quotes, jobs and invoices; at most `limit` of each.
    pub items: Vec<SearchHit>,
}

/// Clients, quotes, jobs and invoices matching `q` (a name, a title, a number with or
/// without its `#`), `limit` of each (1 to 20).
#[tracing::instrument(skip_all, fields(account_id = %ctx.account_id))]
pub async fn search(db: &Db, ctx: &Ctx, q: &str, limit: i64) -> Result<SearchResults, Error> {
    let term = q.trim().trim_start_matches('#').trim();
    if term.is_empty() {
        return Ok(SearchResults { items: Vec::new() });
    }
    let term: String = term.chars().take(100).collect();
    let limit = limit.clamp(1, 20);
    let found = clients::service::list(
        db,
        ctx,
        &clients::service::ListQuery {
            status: None,
            tag: None,
            q: Some(term.clone()),
        },
        PageRequest { limit, after: None },
    )
    .await?;
    let mut items: Vec<SearchHit> = found
        .items
        .into_iter()
        .map(|c| {
            let email = c.emails.iter().find(|e| e.primary).or(c.emails.first());
            let phone = c.phones.iter().find(|p| p.primary).or(c.phones.first());
            SearchHit {
                kind: SearchKind::Client,
                id: c.id,
                number: None,
                subtitle: email
                    .map(|e| e.address.to_string())
                    .or_else(|| phone.map(|p| p.number.to_string())),
                title: c.display_name,
                status: c.status.as_str().to_string(),
            }
        })
        .collect();
    let mut tx = db.read(ctx).await?;
    let documents = repo::documents(
        &mut tx,
        &crate::domain::like_contains(&term),
        &term.to_lowercase(),
        limit,
    )
    .await?;
    tx.commit().await?;
    items.extend(documents.into_iter().map(|d| SearchHit {
        kind: match d.kind.as_str() {
            "quote" => SearchKind::Quote,
            "job" => SearchKind::Job,
            _ => SearchKind::Invoice,
        },
        id: d.id,
        number: d.number,
        title: d.title,
        subtitle: Some(clients::model::display_name(
            d.first_name.as_deref(),
            d.last_name.as_deref(),
            d.company_name.as_deref(),
        )),
        status: d.status,
    }));
    Ok(SearchResults { items })
}
