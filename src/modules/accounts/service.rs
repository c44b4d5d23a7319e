use uuid::Uuid;

use super::model::Account;
use super::repo;
use crate::domain::{Currency, Email, TimeZone};
use crate::http::{ApiError, FieldError};
use crate::modules::activity;
use crate::modules::users::{self, model::Role, model::User};
use crate::platform::database::Db;

/// A business and its first owner, validated.
pub struct NewAccount {
    pub business_name: String,
    pub owner_name: String,
    pub email: Email,
    pub password: String,
    pub time_zone: TimeZone,
    pub currency: Currency,
}

impl NewAccount {
    /// Validate raw input; every failing field is reported at once.
    pub fn parse(
        business_name: &str,
        owner_name: &str,
        email: &str,
        password: String,
        time_zone: Option<&str>,
        currency: Option<&str>,
    ) -> Result<Self, ApiError> {
        let mut errors = Vec::new();
        let business_name = crate::domain::required_text(business_name, 200)
            .map_err(|m| errors.push(FieldError::new("business_name", m)))
            .unwrap_or_default();
        let owner_name = crate::domain::required_text(owner_name, 200)
            .map_err(|m| errors.push(FieldError::new("name", m)))
            .unwrap_or_default();
        let email = Email::parse(email)
            .map_err(|m| errors.push(FieldError::new("email", m)))
            .ok();
        if let Err(e) = crate::modules::auth::password::check("password", &password) {
            errors.push(e);
        }
        let time_zone = TimeZone::parse(time_zone.unwrap_or("UTC"))
            .map_err(|m| errors.push(FieldError::new("time_zone", m)))
            .ok();
        let currency = Currency::parse(currency.unwrap_or("USD"))
            .map_err(|m| errors.push(FieldError::new("currency", m)))
            .ok();
        match (email, time_zone, currency) {
            (Some(email), Some(time_zone), Some(currency)) if errors.is_empty() => Ok(Self {
                business_name,
                owner_name,
                email,
                password,
                time_zone,
                currency,
            }),
            _ => Err(ApiError::invalid(errors)),
        }
    }
}

/// Create the account and its owner in one tenant transaction.
#[tracing::instrument(skip_all, fields(account_id))]
pub async fn create(db: &Db, input: NewAccount) -> Result<(Account, User), ApiError> {
    let account_id = Uuid::now_v7();
    tracing::Span::current().record("account_id", tracing::field::display(account_id));
    let password_hash = crate::modules::auth::password::hash(input.password).await?;
    let mut tx = db.tenant(account_id).await?;
    let account = repo::insert(
        &mut tx,
        account_id,
        &input.business_name,
        input.time_zone.name(),
        input.currency.code(),
    )
    .await?;
    let owner = users::model::NewUser {
        email: input.email,
        name: input.owner_name,
        role: Role::Owner,
        password_hash,
    };
    let user = users::service::insert_in(&mut tx, account_id, None, &owner).await?;
    activity::service::record(
        &mut tx,
        account_id,
        Some(user.id),
        activity::Subject::Account(account_id),
        "created",
        serde_json::json!({"name": account.name}),
    )
    .await?;
    tx.commit().await?;
    tracing::info!(user_id = %user.id, "account created");
    Ok((account, user))
}

pub async fn current(db: &Db, account_id: Uuid) -> Result<Account, ApiError> {
    let mut tx = db.tenant(account_id).await?;
    let account = repo::current(&mut tx)
        .await?
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("account {account_id} has no row")))?;
    tx.commit().await?;
    Ok(account)
}
