//! "On my way": a technician (or office staff) texts the client that they are
//! coming to a visit. The text is composed and queued here, above jobs, which only
//! says which visits the caller may see.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::{Error, ErrorCode};
use crate::modules::activity::{self, Subject};
use crate::modules::{accounts, clients, jobs, users};
use crate::platform::database::Ctx;
use crate::platform::database::Db;

/// `POST /visits/{id}/on-my-way`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OnMyWay {
    /// Minutes until arrival (1 to 600), said in the text when given.
    pub eta_minutes: Option<u32>,
}

/// The text queued for the client.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct QueuedText {
    pub message_id: Uuid,
    /// The client's number (E.164).
    pub to: String,
    pub body: String,
}

/// Text the client that the caller (an assigned technician, or office staff) is on
/// the way. Queued in this transaction (`sms.send`); refused when the server has no
/// Twilio, the visit is not open, or no phone of the client agreed to texts.
#[tracing::instrument(skip_all, fields(account_id = %ctx.account_id, visit_id = %id))]
pub async fn on_my_way(
    db: &Db,
    ctx: &Ctx,
    sms_enabled: bool,
    id: Uuid,
    input: OnMyWay,
) -> Result<QueuedText, Error> {
    if let Some(eta) = input.eta_minutes
        && !(1..=600).contains(&eta)
    {
        return Err(Error::field("eta_minutes", "must be between 1 and 600"));
    }
    let mut tx = db.tenant(ctx.account_id).await?;
    let visit = jobs::service::visible_visit_in(&mut tx, ctx, id).await?;
    if !sms_enabled {
        return Err(Error::code(ErrorCode::SmsNotConfigured));
    }
    if !visit.status.is_open() {
        return Err(Error::new(
            ErrorCode::InvalidTransition,
            format!("the visit is {}", visit.status.as_str()),
        ));
    }
    let client = clients::service::get_in(&mut tx, visit.client_id).await?;
    let Some(to) = client.sms_number() else {
        return Err(Error::new(
            ErrorCode::SmsOptInRequired,
            format!(
                "{} has no phone with sms_opt_in: true (set it on the client's phones)",
                client.display_name
            ),
        ));
    };
    let settings = accounts::service::settings_in(&mut tx).await?;
    let technician = users::service::name_in(&mut tx, ctx.user_id).await?;
    let body =
        super::templates::on_my_way(&settings, &client, technician.as_deref(), input.eta_minutes);
    let sms = super::OutgoingSms {
        client_id: Some(client.id),
        template: "on_my_way",
        to: to.clone(),
        body_text: body.clone(),
        about: Some(("visit", id)),
    };
    let message_id = super::queue_sms_in(&mut tx, ctx.account_id, Some(ctx.user_id), &sms).await?;
    activity::service::record(
        &mut tx,
        ctx.account_id,
        Some(ctx.user_id),
        Subject::Job {
            id: visit.job_id,
            client_id: visit.client_id,
        },
        "on_my_way",
        serde_json::json!({"visit_id": id, "message_id": message_id, "eta_minutes": input.eta_minutes}),
    )
    .await?;
    tx.commit().await?;
    Ok(QueuedText {
        message_id,
        to,
        body,
    })
}
