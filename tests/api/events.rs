//! Domain events: written with the change that raised them, numbered per account in
//! commit order, published to every instance after the commit, never for a rollback.

use std::sync::Arc;
use std::time::Duration;

use jobber::platform::events::{self, Event, Published};
use serde_json::json;
use tokio::sync::broadcast::Receiver;
use uuid::Uuid;

use crate::helpers::{Assigned, Ending, Session, TestApp, spawn_app, spawn_app_on, until_heard};

/// The next event of `account` on `bus`, or `None` after `wait`.
async fn next_event(
    bus: &mut Receiver<Arc<Published>>,
    account: &str,
    wait: Duration,
) -> Option<Arc<Published>> {
    tokio::time::timeout(wait, async {
        loop {
            match bus.recv().await {
                Ok(published) if published.account_id.to_string() == account => {
                    return published;
                }
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(error) => panic!("bus closed: {error}"),
            }
        }
    })
    .await
    .ok()
}

/// The relay starts listening when the app starts: wait until a change is heard.
async fn wait_for_relay(app: &TestApp, owner: &Session, bus: &mut Receiver<Arc<Published>>) {
    until_heard(
        async || {
            app.create_client(owner, json!({"first_name": "Warm", "last_name": "Up"}))
                .await;
        },
        async |wait| next_event(bus, &owner.account_id, wait).await.is_some(),
    )
    .await;
}

async fn stored(app: &TestApp, account: &str) -> Vec<(i64, String, serde_json::Value)> {
    sqlx::query_as("SELECT seq, type, data FROM events WHERE account_id = $1::uuid ORDER BY seq")
        .bind(account)
        .fetch_all(app.db.pool())
        .await
        .unwrap()
}

#[tokio::test]
async fn changes_raise_events_in_commit_order_published_after_the_commit() {
    let app = spawn_app().await;
    let owner = app.signup("Events Co").await;
    let mut bus = app.db.events().subscribe();
    wait_for_relay(&app, &owner, &mut bus).await;
    let before = stored(&app, &owner.account_id).await.len();

    let client = app
        .create_client(&owner, json!({"first_name": "Eve", "last_name": "Vent"}))
        .await;
    let id: Uuid = client["id"].as_str().unwrap().parse().unwrap();
    app.put(
        &format!("/api/v1/clients/{id}"),
        &owner.token,
        json!({"first_name": "Eva", "last_name": "Vent", "version": client["version"]}),
    )
    .await
    .expect(200);
    app.delete(&format!("/api/v1/clients/{id}"), &owner.token)
        .await
        .expect(200);

    let mut heard = Vec::new();
    for _ in 0..3 {
        heard.push(
            next_event(&mut bus, &owner.account_id, Duration::from_secs(10))
                .await
                .expect("published after commit"),
        );
    }
    assert_eq!(
        heard.iter().map(|p| p.event.clone()).collect::<Vec<_>>(),
        vec![
            Event::ClientCreated { client_id: id },
            Event::ClientUpdated { client_id: id },
            Event::ClientDeleted { client_id: id },
        ]
    );
    assert!(
        heard.windows(2).all(|w| w[1].seq == w[0].seq + 1),
        "consecutive sequence numbers: {heard:?}"
    );
    // The same, durably, in the events table.
    let rows = stored(&app, &owner.account_id).await;
    let ours: Vec<_> = rows[before..]
        .iter()
        .map(|(seq, type_, data)| (*seq, type_.clone(), data["client_id"].clone()))
        .collect();
    assert_eq!(
        ours,
        heard
            .iter()
            .map(|p| (p.seq, p.event.name().to_owned(), json!(id)))
            .collect::<Vec<_>>()
    );
    // Read back as a resuming client would.
    let since = jobber::platform::events::since(
        &app.db,
        owner.account_id.parse().unwrap(),
        heard[0].seq - 1,
        10,
    )
    .await
    .unwrap();
    assert_eq!(
        since.iter().map(|p| p.seq).collect::<Vec<_>>(),
        heard.iter().map(|p| p.seq).collect::<Vec<_>>()
    );
    // Counted on the admin listener: at least the three above and the warm-up's one.
    let published = app.sample("jobber_events_published_total").await;
    assert!(published.is_some_and(|n| n >= 4.0), "{published:?}");
    // This test's receiver and the live hub's.
    assert_eq!(app.sample("jobber_events_subscribers").await, Some(2.0));
}

#[tokio::test]
async fn a_change_that_rolls_back_raises_nothing() {
    let app = spawn_app().await;
    let owner = app.signup("Rollback Co").await;
    let mut bus = app.db.events().subscribe();
    // Everything committed so far has been heard: what comes next is ours.
    wait_for_relay(&app, &owner, &mut bus).await;
    let client = app
        .create_client(&owner, json!({"first_name": "Rob", "last_name": "Back"}))
        .await;
    next_event(&mut bus, &owner.account_id, Duration::from_secs(10))
        .await
        .expect("client.created");
    let before = stored(&app, &owner.account_id).await;
    // A stale version: the update is refused inside its transaction.
    app.put(
        &format!("/api/v1/clients/{}", client["id"].as_str().unwrap()),
        &owner.token,
        json!({"first_name": "Robert", "last_name": "Back", "version": 999}),
    )
    .await
    .problem(409, "version_conflict");
    // Raised, then rolled back or dropped without a commit (an error's `?`).
    let account: Uuid = owner.account_id.parse().unwrap();
    let client_id: Uuid = client["id"].as_str().unwrap().parse().unwrap();
    let updated = Event::ClientUpdated { client_id };
    for ending in [Ending::Rollback, Ending::Drop] {
        app.raise(account, updated.clone(), None, ending).await;
    }
    assert_eq!(stored(&app, &owner.account_id).await, before);
    assert!(
        next_event(&mut bus, &owner.account_id, Duration::from_secs(1))
            .await
            .is_none()
    );
    // The same raised and committed is written and published.
    app.raise(account, updated, None, Ending::Commit).await;
    assert_eq!(
        stored(&app, &owner.account_id).await.len(),
        before.len() + 1
    );
}

#[tokio::test]
async fn events_reach_every_instance_and_idempotent_writes_raise_them_once() {
    let first = spawn_app().await;
    let second = spawn_app_on(first.database_url.clone(), |_| {}).await;
    let owner = first.signup("Fanout Co").await;
    let mut bus = second.db.events().subscribe();
    // A change through the first instance is heard by the second.
    wait_for_relay(&first, &owner, &mut bus).await;
    let key_request = || {
        crate::helpers::read_reply(
            first
                .http
                .post(first.url("/api/v1/clients"))
                .bearer_auth(&owner.token)
                .header("Idempotency-Key", "fanout-1")
                .header("x-request-id", "req-fanout-1")
                .json(&json!({"first_name": "Fan", "last_name": "Out"})),
        )
    };
    let created = key_request().await.expect(201);
    let heard = next_event(&mut bus, &owner.account_id, Duration::from_secs(10))
        .await
        .expect("heard on the other instance");
    assert_eq!(
        heard.event,
        Event::ClientCreated {
            client_id: created.body["id"].as_str().unwrap().parse().unwrap()
        }
    );
    assert_eq!(heard.request_id.as_deref(), Some("req-fanout-1"));
    // The retry is replayed: no second change, no second event.
    let replayed = key_request().await.expect(201);
    assert_eq!(replayed.header("idempotent-replayed"), Some("true"));
    assert!(
        next_event(&mut bus, &owner.account_id, Duration::from_secs(1))
            .await
            .is_none()
    );
}

/// The relay reads committed events through connections of its own: an instance whose
/// pool is taken by requests still hears (and so empties its caches for) changes made
/// elsewhere, instead of falling behind until the requests let go.
#[tokio::test]
async fn the_relay_is_heard_while_requests_hold_every_pooled_connection() {
    let first = spawn_app().await;
    let second = spawn_app_on(first.database_url.clone(), |_| {}).await;
    let owner = first.signup("Busy Pool Co").await;
    let mut bus = second.db.events().subscribe();
    wait_for_relay(&first, &owner, &mut bus).await;
    // Take every connection of the second instance's pool (its workers may hold some
    // a while: take what comes within a second each time, until nothing does).
    let mut held = Vec::new();
    while let Ok(Ok(conn)) =
        tokio::time::timeout(Duration::from_secs(1), second.db.pool().acquire()).await
    {
        held.push(conn);
    }
    assert!(!held.is_empty());
    assert!(
        second.db.pool().try_acquire().is_none(),
        "the pool is taken"
    );
    let created = first
        .create_client(
            &owner,
            json!({"first_name": "Heard", "last_name": "Anyway"}),
        )
        .await;
    let heard = next_event(&mut bus, &owner.account_id, Duration::from_secs(20))
        .await
        .expect("heard while the pool is taken");
    assert_eq!(
        heard.event,
        Event::ClientCreated {
            client_id: created["id"].as_str().unwrap().parse().unwrap()
        }
    );
    drop(held);
}

/// The names of the account's events, oldest first.
async fn names(app: &TestApp, account: &str) -> Vec<String> {
    stored(app, account)
        .await
        .into_iter()
        .map(|(_, name, _)| name)
        .collect()
}

#[tokio::test]
async fn the_workflow_raises_an_event_for_each_step() {
    let app = spawn_app().await;
    let owner = app.signup("Workflow Co").await;
    let client = app
        .create_client(
            &owner,
            json!({"first_name": "Wes", "last_name": "Flow", "emails": [{"address": "wes@example.com"}]}),
        )
        .await;
    let client_id = client["id"].as_str().unwrap();
    let quote = app
        .post(
            "/api/v1/quotes",
            &owner.token,
            json!({"client_id": client_id, "title": "Hedge", "tax_rate_ids": [],
                   "lines": [{"name": "Hedge", "quantity": 1, "unit_price": 12000}]}),
        )
        .await
        .expect(201)
        .body;
    let quote_id = quote["id"].as_str().unwrap();
    for (step, body) in [
        ("send", json!({})),
        ("approve", json!({"signature_name": "Wes Flow"})),
    ] {
        app.post(
            &format!("/api/v1/quotes/{quote_id}/{step}"),
            &owner.token,
            body,
        )
        .await
        .expect(200);
    }
    let job = app
        .post(
            &format!("/api/v1/quotes/{quote_id}/convert"),
            &owner.token,
            json!({}),
        )
        .await;
    assert!(job.status.is_success(), "{}", job.text);
    let job_id = job.body["job"]["id"]
        .as_str()
        .or(job.body["id"].as_str())
        .unwrap()
        .to_owned();
    let complete = app
        .post(
            &format!("/api/v1/jobs/{job_id}/complete"),
            &owner.token,
            json!({"complete_open_visits": true}),
        )
        .await;
    assert!(complete.status.is_success(), "{}", complete.text);
    let invoice = app
        .post("/api/v1/invoices", &owner.token, json!({"job_id": job_id}))
        .await
        .expect(201)
        .body;
    let invoice_id = invoice["id"].as_str().unwrap();
    app.post(
        &format!("/api/v1/invoices/{invoice_id}/send"),
        &owner.token,
        json!({}),
    )
    .await
    .expect(200);
    app.post(
        &format!("/api/v1/invoices/{invoice_id}/payments"),
        &owner.token,
        json!({"method": "check", "amount": invoice["total"], "reference": "Check 7"}),
    )
    .await
    .expect(201);

    let names = names(&app, &owner.account_id).await;
    let expected = [
        "client.created",
        "quote.created",
        "quote.sent",
        "quote.approved",
        "job.created",
        "quote.converted",
        "job.completed",
        "invoice.created",
        "invoice.sent",
        "invoice.paid",
        "payment.recorded",
    ];
    assert_eq!(names, expected, "events in commit order");
}

/// `(subject_type, action, actor_id, changes)` of a client's feed, newest first.
async fn feed(
    app: &TestApp,
    owner: &Session,
    client: &str,
) -> Vec<(String, String, Option<String>, serde_json::Value)> {
    let page = app
        .get(
            &format!("/api/v1/clients/{client}/activity?limit=100"),
            &owner.token,
        )
        .await
        .expect(200)
        .body;
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["subject_type"].as_str().unwrap().to_string(),
                e["action"].as_str().unwrap().to_string(),
                e["actor_id"].as_str().map(str::to_string),
                e["changes"].clone(),
            )
        })
        .collect()
}

#[tokio::test]
async fn the_activity_listener_records_lifecycle_steps_of_committed_changes() {
    use jobber::platform::events::Actor;

    let app = spawn_app().await;
    let owner = app.signup("Activity Listener Co").await;
    // A technician completes a visit; the owner cancels the job, archives a quote.
    let Assigned {
        tech,
        client,
        job,
        visit: visit_id,
    } = app.technician_with_visit(&owner, "Gutters").await;
    let client_id = client["id"].as_str().unwrap();
    let job_id = job["id"].as_str().unwrap();
    app.post(
        &format!("/api/v1/visits/{visit_id}/complete"),
        &tech.token,
        json!({}),
    )
    .await
    .expect(200);
    app.post(
        &format!("/api/v1/jobs/{job_id}/cancel"),
        &owner.token,
        json!({}),
    )
    .await
    .expect(200);
    let quote = app
        .post("/api/v1/quotes", &owner.token, json!({"client_id": client_id, "title": "Patio", "lines": [{"name": "Pavers", "quantity": 1, "unit_price": 50000}]}))
        .await
        .expect(201)
        .body;
    let quote_id = quote["id"].as_str().unwrap();
    app.post(
        &format!("/api/v1/quotes/{quote_id}/archive"),
        &owner.token,
        json!({}),
    )
    .await
    .expect(200);
    let entries = feed(&app, &owner, client_id).await;
    let owner_id = Some(owner.user_id.clone());
    let steps: Vec<_> = entries
        .iter()
        .filter(|e| e.1 != "created")
        .cloned()
        .collect();
    assert_eq!(
        steps,
        [
            (
                "quote".into(),
                "archived".into(),
                owner_id.clone(),
                json!({})
            ),
            (
                "job".into(),
                "cancelled".into(),
                owner_id.clone(),
                json!({"visits_removed": 0, "visits_cancelled": 0})
            ),
            (
                "job".into(),
                "visit_completed".into(),
                Some(tech.user_id.clone()),
                json!({"visit_id": visit_id})
            ),
        ]
    );

    // The same event rolled back records nothing; committed by a background job, an
    // entry without an actor.
    let account: Uuid = owner.account_id.parse().unwrap();
    let archived = Event::QuoteArchived {
        quote_id: quote_id.parse().unwrap(),
        client_id: client_id.parse().unwrap(),
    };
    app.raise(account, archived.clone(), None, Ending::Rollback)
        .await;
    assert_eq!(feed(&app, &owner, client_id).await, entries);
    let job = Some(Actor::System("expire_quotes".into()));
    app.raise(account, archived, job, Ending::Commit).await;
    let after = feed(&app, &owner, client_id).await;
    assert_eq!(after.len(), entries.len() + 1);
    assert_eq!(
        after[0],
        ("quote".into(), "archived".into(), None, json!({}))
    );
}

/// The account's events after `seq` as (seq, type, client id), as a resuming reader
/// gets them.
async fn resumed(app: &TestApp, account: Uuid, seq: i64) -> Vec<(i64, &'static str, Uuid)> {
    events::since(&app.db, account, seq, 100)
        .await
        .unwrap()
        .iter()
        .map(|published| match published.event {
            Event::ClientUpdated { client_id } => (published.seq, "client.updated", client_id),
            ref other => (published.seq, other.name(), Uuid::nil()),
        })
        .collect()
}

async fn unnumbered(app: &TestApp, account: Uuid) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM events WHERE account_id = $1 AND seq IS NULL")
        .bind(account)
        .fetch_one(app.db.pool())
        .await
        .unwrap()
}

#[tokio::test]
async fn writers_of_one_account_commit_independently_and_readers_miss_nothing() {
    let app = spawn_app().await;
    let owner = app.signup("Parallel Co").await;
    let account: Uuid = owner.account_id.parse().unwrap();
    let mut bus = app.db.events().subscribe();
    wait_for_relay(&app, &owner, &mut bus).await;
    let start = events::last_seq(&app.db, account).await.unwrap();
    let (first, second) = (Uuid::now_v7(), Uuid::now_v7());

    // The first writer has written its event and stays open.
    let mut open = app.db.tenant(account).await.unwrap();
    open.raise(Event::ClientUpdated { client_id: first });
    open.write_events().await.unwrap();
    // The second commits meanwhile: it does not wait for the first (which holds
    // nothing the second needs). The timeout only turns a regression into a failure
    // instead of a hang.
    let mut other = app.db.tenant(account).await.unwrap();
    other.raise(Event::ClientUpdated { client_id: second });
    tokio::time::timeout(Duration::from_secs(60), other.commit())
        .await
        .expect("the second writer waited for the first, still open")
        .unwrap();

    // A reader resuming now gets the second, numbered; the first is not visible yet.
    let seen = resumed(&app, account, start).await;
    assert_eq!(seen, vec![(start + 1, "client.updated", second)]);
    let published = next_event(&mut bus, &owner.account_id, Duration::from_secs(10))
        .await
        .expect("the second's event is published while the first is open");
    assert_eq!(published.seq, start + 1);
    assert_eq!(published.event, Event::ClientUpdated { client_id: second });

    // The first commits: it is numbered after what the reader has seen, so resuming
    // from there finds it, and nothing is delivered twice.
    open.commit().await.unwrap();
    assert_eq!(
        resumed(&app, account, start + 1).await,
        vec![(start + 2, "client.updated", first)]
    );
    assert_eq!(
        resumed(&app, account, start).await,
        vec![
            (start + 1, "client.updated", second),
            (start + 2, "client.updated", first)
        ]
    );
    let published = next_event(&mut bus, &owner.account_id, Duration::from_secs(10))
        .await
        .expect("the first's event is published after its commit");
    assert_eq!(published.seq, start + 2);
    assert_eq!(published.event, Event::ClientUpdated { client_id: first });
    assert!(
        next_event(&mut bus, &owner.account_id, Duration::from_secs(1))
            .await
            .is_none()
    );
    assert_eq!(events::last_seq(&app.db, account).await.unwrap(), start + 2);
    assert_eq!(unnumbered(&app, account).await, 0);
}

#[tokio::test]
async fn a_rolled_back_writer_numbers_nothing() {
    let app = spawn_app().await;
    let owner = app.signup("Numberless Co").await;
    let account: Uuid = owner.account_id.parse().unwrap();
    let start = events::last_seq(&app.db, account).await.unwrap();
    let (gone, kept) = (Uuid::now_v7(), Uuid::now_v7());

    // Written, then rolled back: no row, no number taken.
    let mut tx = app.db.tenant(account).await.unwrap();
    tx.raise(Event::ClientUpdated { client_id: gone });
    tx.write_events().await.unwrap();
    tx.rollback().await.unwrap();
    assert_eq!(unnumbered(&app, account).await, 0);
    assert_eq!(events::last_seq(&app.db, account).await.unwrap(), start);

    // The next commit's event takes the next number: no gap.
    let mut tx = app.db.tenant(account).await.unwrap();
    tx.raise(Event::ClientUpdated { client_id: kept });
    tx.commit().await.unwrap();
    assert_eq!(
        resumed(&app, account, start).await,
        vec![(start + 1, "client.updated", kept)]
    );
}

#[tokio::test]
async fn the_sweep_numbers_and_publishes_what_a_crashed_writer_left() {
    let app = spawn_app().await;
    let owner = app.signup("Crashed Co").await;
    let account: Uuid = owner.account_id.parse().unwrap();
    let mut bus = app.db.events().subscribe();
    wait_for_relay(&app, &owner, &mut bus).await;
    let start = events::last_seq(&app.db, account).await.unwrap();
    let lost = Uuid::now_v7();

    // What a writer that died between its COMMIT and the numbering leaves: a
    // committed, unnumbered event (readers do not see it: they read numbered rows).
    sqlx::query("INSERT INTO events (account_id, type, data) VALUES ($1, 'client.updated', $2)")
        .bind(account)
        .bind(json!({"client_id": lost}))
        .execute(app.db.pool())
        .await
        .unwrap();

    // The sweep (also run at start and periodically by every process, which may
    // get there first) numbers it, and it is published like any other.
    events::sweep(&app.db).await.unwrap();
    assert_eq!(unnumbered(&app, account).await, 0);
    assert_eq!(
        resumed(&app, account, start).await,
        vec![(start + 1, "client.updated", lost)]
    );
    let published = next_event(&mut bus, &owner.account_id, Duration::from_secs(10))
        .await
        .expect("the swept event is published");
    assert_eq!(published.seq, start + 1);
    assert_eq!(published.event, Event::ClientUpdated { client_id: lost });
    // A second sweep finds nothing left to number.
    events::sweep(&app.db).await.unwrap();
    assert_eq!(events::last_seq(&app.db, account).await.unwrap(), start + 1);
}

#[tokio::test]
async fn concurrent_writers_of_one_account_get_every_number_once() {
    let app = spawn_app().await;
    let owner = app.signup("Crowded Co").await;
    let account: Uuid = owner.account_id.parse().unwrap();
    let start = events::last_seq(&app.db, account).await.unwrap();
    let clients: Vec<Uuid> = (0..24).map(|_| Uuid::now_v7()).collect();
    let writers = clients.iter().map(|&client_id| {
        let db = app.db.clone();
        tokio::spawn(async move {
            let mut tx = db.tenant(account).await.unwrap();
            tx.raise(Event::ClientUpdated { client_id });
            tx.commit().await.unwrap();
        })
    });
    for writer in writers.collect::<Vec<_>>() {
        writer.await.unwrap();
    }
    // Each commit returns once its events are numbered: all are, 1 to n after the
    // start, each once, whatever order they committed in.
    let seen = resumed(&app, account, start).await;
    let numbers: Vec<i64> = seen.iter().map(|(seq, _, _)| *seq).collect();
    assert_eq!(numbers, (start + 1..=start + 24).collect::<Vec<_>>());
    let mut got: Vec<Uuid> = seen.iter().map(|(_, _, client_id)| *client_id).collect();
    got.sort();
    let mut want = clients.clone();
    want.sort();
    assert_eq!(got, want);
    assert_eq!(unnumbered(&app, account).await, 0);
    assert_eq!(
        events::last_seq(&app.db, account).await.unwrap(),
        start + 24
    );
}
