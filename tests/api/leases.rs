//! The lease on an outgoing message: a worker renews it by compare-and-set on its
//! claim right before it talks to the SMTP server, sends nothing when another worker
//! took the message over meanwhile (its lease ran out while it rendered the PDF),
//! and cuts off an SMTP conversation that would outlive the lease.

use std::time::Duration;

use futures_util::future::BoxFuture;
use jobber::modules::communications::{self, Delivery, OutgoingEmail, Pdfs};
use jobber::platform::mailer::{Attachment, Mailer};
use jobber::platform::queue::RetryLater;
use jobber::platform::storage::Storage;
use uuid::Uuid;

use crate::background::{Sink, have_aiosmtpd};
use crate::helpers::{TestApp, spawn_app};

const LEASE: Duration = Duration::from_secs(60);

/// What the "second worker" does while the first one renders the PDF.
#[derive(Clone, Copy)]
enum Meanwhile {
    /// Nothing: the PDF renders and the first worker goes on.
    Nothing,
    /// The first worker's lease runs out, a second worker claims the message and
    /// sends it (all of it, through `deliver_email`).
    TakenOverAndSent,
    /// A second worker claims the message and is still sending it.
    TakenOver,
}

/// Renders "the PDF" of an email; meanwhile, another worker may act.
struct SlowPdfs<'a> {
    app: &'a TestApp,
    storage: &'a Storage,
    mailer: &'a Mailer,
    account_id: Uuid,
    message_id: Uuid,
    meanwhile: Meanwhile,
}

impl Pdfs for SlowPdfs<'_> {
    fn attachment<'a>(
        &'a self,
        _account_id: Uuid,
        _about: (&'static str, Uuid),
    ) -> BoxFuture<'a, anyhow::Result<Option<Attachment>>> {
        Box::pin(async move {
            match self.meanwhile {
                Meanwhile::Nothing => {}
                Meanwhile::TakenOverAndSent => {
                    sqlx::query(
                        "UPDATE messages SET lease_until = now() - interval '1 second' WHERE id = $1",
                    )
                    .bind(self.message_id)
                    .execute(self.app.db.pool())
                    .await?;
                    let second = SlowPdfs {
                        meanwhile: Meanwhile::Nothing,
                        ..*self
                    };
                    let env = communications::Env {
                        db: &self.app.db,
                        storage: self.storage,
                        pdfs: &second,
                    };
                    let delivery = communications::deliver_email(
                        &env,
                        Some(self.mailer),
                        LEASE,
                        self.account_id,
                        self.message_id,
                    )
                    .await?;
                    assert!(matches!(delivery, Delivery::Sent(_)), "{delivery:?}");
                }
                Meanwhile::TakenOver => {
                    sqlx::query(
                        "UPDATE messages SET attempts = attempts + 1, lease_until = now() + interval '1 hour'
                         WHERE id = $1",
                    )
                    .bind(self.message_id)
                    .execute(self.app.db.pool())
                    .await?;
                }
            }
            Ok(Some(Attachment {
                filename: "quote-Q-1.pdf".into(),
                content_type: "application/pdf".into(),
                bytes: bytes::Bytes::from_static(b"%PDF-1.7\n%%EOF\n"),
                content_id: None,
            }))
        })
    }
}

/// A quote email in the outbox (its PDF comes from `SlowPdfs`).
async fn queued_email(app: &TestApp, account_id: Uuid) -> Uuid {
    let email = OutgoingEmail {
        client_id: None,
        template: "quote_sent",
        to: "ann@example.com".into(),
        content: communications::compose::Rendered {
            subject: "Your quote".into(),
            text: "Attached.".into(),
            html: "<p>Attached.</p>".into(),
        },
        about: Some(("quote", Uuid::now_v7())),
    };
    let mut tx = app.db.tenant(account_id).await.unwrap();
    let id = communications::queue_email_in(&mut tx, account_id, None, &email)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    id
}

async fn row(app: &TestApp, id: Uuid) -> (String, i32, Option<String>) {
    sqlx::query_as("SELECT status, attempts, provider_id FROM messages WHERE id = $1")
        .bind(id)
        .fetch_one(app.db.pool())
        .await
        .unwrap()
}

fn storage(app: &TestApp) -> Storage {
    let config = crate::helpers::test_config(app.data_dir.clone());
    Storage::from_config(&config, &[]).unwrap()
}

/// An account with a queued email, a worker's file store and mailer, and the SMTP
/// sink that receives what they send.
struct Stage {
    sink: Sink,
    app: TestApp,
    account_id: Uuid,
    storage: Storage,
    mailer: Mailer,
}

impl Stage {
    /// `None` (the test is skipped) without aiosmtpd; the sink delays the first
    /// MAIL FROM by `delay_secs`.
    async fn start(test: &str, delay_secs: u64) -> Option<Stage> {
        if !have_aiosmtpd(test) {
            return None;
        }
        let sink = Sink::start(delay_secs);
        let app = spawn_app().await;
        let owner = app.signup("Lease Co").await;
        let account_id = owner.account_id.parse().unwrap();
        let storage = storage(&app);
        let mailer = Mailer::new(&sink.url(), "Jobber Test <office@jobber.test>").unwrap();
        Some(Stage {
            sink,
            app,
            account_id,
            storage,
            mailer,
        })
    }

    /// One worker's attempt at the message under `lease`, while its PDF renders
    /// another worker does `meanwhile`.
    async fn attempt(
        &self,
        message_id: Uuid,
        lease: Duration,
        meanwhile: Meanwhile,
    ) -> anyhow::Result<Delivery> {
        let pdfs = SlowPdfs {
            app: &self.app,
            storage: &self.storage,
            mailer: &self.mailer,
            account_id: self.account_id,
            message_id,
            meanwhile,
        };
        let env = communications::Env {
            db: &self.app.db,
            storage: &self.storage,
            pdfs: &pdfs,
        };
        communications::deliver_email(&env, Some(&self.mailer), lease, self.account_id, message_id)
            .await
    }
}

#[tokio::test]
async fn a_worker_that_lost_its_claim_while_rendering_sends_nothing() {
    let Some(stage) = Stage::start(
        "a_worker_that_lost_its_claim_while_rendering_sends_nothing",
        0,
    )
    .await
    else {
        return;
    };
    let (app, sink) = (&stage.app, &stage.sink);

    // The lease runs out while the first worker renders the PDF; a second worker
    // claims the message and sends it. The first one then finds its claim gone and
    // does not send: the client gets one email.
    let message_id = queued_email(app, stage.account_id).await;
    let delivery = stage
        .attempt(message_id, LEASE, Meanwhile::TakenOverAndSent)
        .await
        .unwrap();
    assert_eq!(delivery, Delivery::AlreadySent);
    let messages = sink.messages();
    assert_eq!(messages.len(), 1, "one email, from the second worker");
    let (status, attempts, provider_id) = row(app, message_id).await;
    assert_eq!(status, "sent");
    assert_eq!(attempts, 2, "claimed by both workers");
    assert_eq!(provider_id.as_deref(), messages[0]["message_id"].as_str());

    // The second worker claimed it and is still at it: the first sends nothing,
    // leaves the row to it (no `failed` over its claim) and retries after its lease.
    let message_id = queued_email(app, stage.account_id).await;
    let error = stage
        .attempt(message_id, LEASE, Meanwhile::TakenOver)
        .await
        .unwrap_err();
    let retry = error
        .downcast_ref::<RetryLater>()
        .unwrap_or_else(|| panic!("retried after the other worker's lease: {error:#}"));
    assert!(
        retry.at > chrono::Utc::now() + chrono::Duration::minutes(30),
        "{retry}"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(sink.messages().len(), 1, "nothing sent by the first worker");
    let (status, attempts, _) = row(app, message_id).await;
    assert_eq!(
        (status.as_str(), attempts),
        ("sending", 2),
        "the second worker's claim"
    );

    // Undisturbed, the same path sends once.
    let message_id = queued_email(app, stage.account_id).await;
    let delivery = stage
        .attempt(message_id, LEASE, Meanwhile::Nothing)
        .await
        .unwrap();
    assert!(matches!(delivery, Delivery::Sent(_)), "{delivery:?}");
    let messages = sink.wait_for(2, Duration::from_secs(10)).await;
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[1]["attachments"][0]["filename"], "quote-Q-1.pdf");
}

#[tokio::test]
async fn an_smtp_conversation_that_would_outlive_its_lease_is_cut_off() {
    // The sink answers the first MAIL FROM after ten minutes; the lease is 2 s.
    let Some(stage) = Stage::start(
        "an_smtp_conversation_that_would_outlive_its_lease_is_cut_off",
        600,
    )
    .await
    else {
        return;
    };
    let (app, sink) = (&stage.app, &stage.sink);
    let message_id = queued_email(app, stage.account_id).await;
    let lease = Duration::from_secs(2);
    let error = stage
        .attempt(message_id, lease, Meanwhile::Nothing)
        .await
        .unwrap_err();
    assert!(format!("{error:#}").contains("cut off after"), "{error:#}");
    assert!(sink.dir.join("delayed").exists(), "it was mid-send");
    // Recorded as a failed attempt under its own claim, free for the next one.
    let (status, attempts, _) = row(app, message_id).await;
    assert_eq!((status.as_str(), attempts), ("failed", 1));

    // The retry (the sink answers other conversations at once) sends it once, on a
    // new connection: the one cut off is not used again.
    let delivery = stage
        .attempt(message_id, lease, Meanwhile::Nothing)
        .await
        .unwrap();
    assert!(matches!(delivery, Delivery::Sent(_)), "{delivery:?}");
    let (status, attempts, _) = row(app, message_id).await;
    assert_eq!((status.as_str(), attempts), ("sent", 2));
    assert_eq!(sink.wait_for(1, Duration::from_secs(10)).await.len(), 1);
}
