//! `GET /api/v1/ws` (the live connection) and `POST /api/v1/ws/tickets`.

use std::collections::BTreeSet;
use std::time::Duration;

use axum::extract::State;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt, StreamExt};
use serde::{Deserialize, Serialize};
use tokio::time::Instant;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::hub::{Conn, Frame, Refused, close};
use super::protocol::{Inbound, Outbound, Topic};
use super::scope::{Audience, Viewer};
use crate::app::AppState;
use crate::http::error::Problem;
use crate::http::extract::{Ctx, Query, bearer};
use crate::http::{ApiError, ErrorCode};
use crate::modules::auth::session;
use crate::modules::auth::token::{ACCESS_TOKEN_SECONDS, Claims, TokenKeys};
use crate::modules::jobs;
use crate::platform::events;

/// The subprotocol a browser offers next to `bearer.<token>`, and the one the server
/// answers with.
pub const PROTOCOL: &str = "jobber.v1";
/// How long a ticket may wait before it is used.
pub const TICKET_SECONDS: i64 = 30;
/// A message from the client is at most this large.
const MAX_MESSAGE: usize = 64 * 1024;
/// Topics one connection may hold.
const MAX_TOPICS: usize = 200;
/// A resume replays at most this many events; more means `resync_required`.
const MAX_REPLAY: i64 = 1000;
/// When a refused connection may try again.
const RETRY_AFTER_SECS: u64 = 10;
/// A frame the network does not take within this time makes the client one too
/// slow to read: it is closed with 1013.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the close frame may wait behind what the network holds already (a client
/// slow to read must read that first); then the socket is dropped without it.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the client may take to answer the close frame.
const CLOSE_ANSWER_TIMEOUT: Duration = Duration::from_secs(1);

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(connect))
        .routes(routes!(create_ticket))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ConnectParams {
    /// A ticket from `POST /ws/tickets`, for clients that can set neither a header
    /// nor a subprotocol.
    pub ticket: Option<String>,
    /// Resume: the last `seq` the client saw; each `subscribe` without its own
    /// `since` replays from here.
    pub since: Option<i64>,
}

/// Open the live connection (docs/events.md, "WebSocket"). Authenticate with the
/// access token as a subprotocol (`Sec-WebSocket-Protocol: jobber.v1,
/// bearer.<token>`), with `Authorization: Bearer`, with `?ticket=`, or with the web
/// app's session cookie.
#[utoipa::path(get, path = "/ws", tag = "live", params(ConnectParams),
    security((), ("bearer" = [])),
    responses(
        (status = 101, description = "Switching to the WebSocket protocol; JSON text frames follow"),
        (status = 400, description = "The upgrade request is malformed", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token or ticket", body = Problem, content_type = "application/problem+json"),
        (status = 426, description = "Not a WebSocket upgrade", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The server is shutting down", body = Problem, content_type = "application/problem+json"),
    ))]
async fn connect(
    State(state): State<AppState>,
    Query(params): Query<ConnectParams>,
    headers: HeaderMap,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    let now = chrono::Utc::now().timestamp();
    let claims = authenticate(&state, &headers, params.ticket.as_deref(), now).await?;
    let upgrade = upgrade
        .map_err(|rejection| ApiError::new(ErrorCode::UpgradeRequired, rejection.body_text()))?;
    let upgrade = upgrade.protocols([PROTOCOL]);
    if upgrade.selected_protocol().is_none() && upgrade.requested_protocols().next().is_some() {
        return Err(ApiError::new(
            ErrorCode::InvalidParameter,
            format!("offer the `{PROTOCOL}` subprotocol (next to `bearer.<token>`)"),
        ));
    }
    if params.since.is_some_and(|since| since < 0) {
        return Err(
            ApiError::new(ErrorCode::InvalidParameter, "since: must be 0 or more").with_fields(
                vec![crate::http::FieldError::new("since", "must be 0 or more")],
            ),
        );
    }
    let viewer = Viewer {
        account_id: claims.acct,
        user_id: claims.sub,
        role: claims.role,
    };
    let hub = state.live.clone();
    let (conn, queue) = hub.register(viewer).map_err(|refused| {
        let detail = match refused {
            Refused::PerUser(limit) => {
                format!("at most {limit} live connections per user; close one")
            }
            Refused::PerAccount(limit) => format!("at most {limit} live connections per account"),
            Refused::Stopping => return ApiError::code(ErrorCode::Unavailable),
        };
        let mut error = ApiError::new(ErrorCode::TooManySockets, detail);
        error.retry_after = Some(RETRY_AFTER_SECS);
        error
    })?;
    // The login behind the connection lasts this long; then the client reconnects
    // with a fresh token (and resumes), so a revoked login stops hearing events.
    let expires =
        Instant::now() + Duration::from_secs(u64::try_from(claims.exp - now).unwrap_or(0));
    let failed = (hub.clone(), conn.clone());
    Ok(upgrade
        .max_message_size(MAX_MESSAGE)
        .max_frame_size(MAX_MESSAGE)
        .read_buffer_size(4096)
        .write_buffer_size(0)
        .on_failed_upgrade(move |error| {
            tracing::debug!(%error, "WebSocket upgrade failed");
            failed.0.unregister(&failed.1);
        })
        .on_upgrade(move |socket| async move {
            let hub = state.live.clone();
            Session {
                state,
                conn: conn.clone(),
                since: params.since,
            }
            .run(socket, queue, expires)
            .await;
            hub.unregister(&conn);
        }))
}

/// Who opens the connection: a ticket, the token as a subprotocol, the
/// Authorization header, or the web app's session cookie.
async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
    ticket: Option<&str>,
    now: i64,
) -> Result<Claims, ApiError> {
    if let Some(ticket) = ticket {
        let claims = ticket_keys(&state.keys)
            .verify_at(ticket, now)
            .map_err(|_| {
                ApiError::new(
                    ErrorCode::InvalidToken,
                    "the ticket is invalid or expired; ask for a new one",
                )
            })?;
        if !redeem_ticket(state, &claims).await? {
            return Err(ApiError::new(
                ErrorCode::InvalidToken,
                "the ticket was used already; ask for a new one",
            ));
        }
        // The connection lives as long as an access token would.
        return Ok(Claims {
            exp: now + ACCESS_TOKEN_SECONDS,
            ..claims
        });
    }
    let offered = headers
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .find_map(|protocol| protocol.strip_prefix("bearer."));
    if let Some(token) = offered {
        return live_login(state, state.keys.verify_at(token, now)?).await;
    }
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        return live_login(state, state.keys.verify_at(bearer(value)?, now)?).await;
    }
    // The cookie (with its cross-site guard): the session is checked again when the
    // connection has lived as long as an access token would.
    if let Some(ctx) = session::ctx_from_cookie(state, headers).await? {
        return Ok(Claims {
            sub: ctx.user_id,
            acct: ctx.account_id,
            role: ctx.role,
            sid: Uuid::now_v7(),
            iat: now,
            exp: now + ACCESS_TOKEN_SECONDS,
        });
    }
    Err(ApiError::new(
        ErrorCode::Unauthenticated,
        "authenticate with `Sec-WebSocket-Protocol: jobber.v1, bearer.<token>`, `Authorization: Bearer <token>` or `?ticket=`",
    ))
}

/// Tickets are signed with a key of their own: a ticket is no access token, and an
/// access token is no ticket.
/// A bearer token's claims, its login checked live (signed out, revoked or the user
/// deactivated: refused) and its role the user's role now.
async fn live_login(state: &AppState, claims: Claims) -> Result<Claims, ApiError> {
    let role = crate::modules::auth::service::check_token(&state.db, &claims).await?;
    Ok(Claims { role, ..claims })
}

/// Use a ticket once: its id is recorded in the database, so a ticket redeemed on
/// one API process is refused on every other within its 30 seconds too.
async fn redeem_ticket(state: &AppState, claims: &Claims) -> Result<bool, ApiError> {
    let expires_at = chrono::DateTime::from_timestamp(claims.exp, 0).unwrap_or_default();
    let mut tx = state.db.tenant(claims.acct).await?;
    let first = super::repo::redeem_ticket(&mut tx, claims.acct, claims.sid, expires_at).await?;
    tx.commit().await?;
    Ok(first)
}

fn ticket_keys(keys: &TokenKeys) -> TokenKeys {
    TokenKeys::new(&keys.derive("ws-ticket"))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Ticket {
    /// Pass as `GET /ws?ticket=…` within 30 seconds; it works once.
    pub ticket: String,
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

/// A one-time ticket to open the live connection where the client can send neither
/// a header nor a subprotocol.
#[utoipa::path(post, path = "/ws/tickets", tag = "live",
    responses(
        (status = 201, description = "A ticket valid for 30 seconds, once", body = Ticket),
        (status = 401, description = "Not authenticated", body = Problem, content_type = "application/problem+json"),
    ))]
async fn create_ticket(State(state): State<AppState>, ctx: Ctx) -> impl IntoResponse {
    let now = chrono::Utc::now().timestamp();
    let expires = now + TICKET_SECONDS;
    let ticket = ticket_keys(&state.keys).issue(&Claims {
        sub: ctx.user_id,
        acct: ctx.account_id,
        role: ctx.role,
        sid: Uuid::now_v7(),
        iat: now,
        exp: expires,
    });
    (
        StatusCode::CREATED,
        axum::Json(Ticket {
            ticket,
            expires_at: chrono::DateTime::from_timestamp(expires, 0).unwrap_or_default(),
        }),
    )
}

/// One open connection: its messages in, its events out, its heartbeat.
struct Session {
    state: AppState,
    conn: std::sync::Arc<Conn>,
    since: Option<i64>,
}

/// Why the loop ended: the close to send, if any.
type Ending = Option<(u16, &'static str)>;

impl Session {
    async fn run(
        self,
        socket: WebSocket,
        mut queue: tokio::sync::mpsc::Receiver<Frame>,
        expires: Instant,
    ) {
        let (mut sink, mut stream) = socket.split();
        let hub = self.state.live.clone();
        let heartbeat = hub.limits().heartbeat;
        let viewer = self.conn.viewer;
        let ending: Ending = 'session: {
            let seq = match events::last_seq(&self.state.db, viewer.account_id).await {
                Ok(seq) => seq,
                Err(_) => break 'session Some((close::TRY_AGAIN_LATER, "database unavailable")),
            };
            let welcome = Outbound::Welcome {
                user_id: viewer.user_id,
                role: viewer.role.as_str().to_owned(),
                seq,
            };
            if !self.write(&mut sink, welcome.frame()).await {
                break 'session None;
            }
            let mut ticks = tokio::time::interval_at(Instant::now() + heartbeat, heartbeat);
            let mut heard = Instant::now();
            let deadline = tokio::time::sleep_until(expires);
            tokio::pin!(deadline);
            loop {
                tokio::select! {
                    biased;
                    reason = self.conn.closed() => break 'session Some(reason),
                    () = &mut deadline => break 'session Some((close::REAUTHENTICATE, "the login expired; reconnect with a fresh token and resume")),
                    frame = queue.recv() => match frame {
                        Some(Frame::Text(text)) => if !self.write_message(&mut sink, text_message(text)).await {
                            break 'session None;
                        },
                        None => break 'session None,
                    },
                    message = stream.next() => {
                        heard = Instant::now();
                        match message {
                            Some(Ok(Message::Text(text))) => {
                                for reply in self.handle(text.as_str()).await {
                                    if !self.write(&mut sink, reply).await {
                                        break 'session None;
                                    }
                                }
                            }
                            Some(Ok(Message::Binary(_))) => {
                                break 'session Some((close::UNSUPPORTED, "text frames of JSON only"));
                            }
                            Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                            Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break 'session None,
                        }
                    }
                    _ = ticks.tick() => {
                        if heard.elapsed() > heartbeat * 3 {
                            tracing::debug!(user = %viewer.user_id, "live connection silent; closed");
                            break 'session None;
                        }
                        if !self.write_message(&mut sink, Message::Ping(Default::default())).await {
                            break 'session None;
                        }
                    }
                }
            }
        };
        // What is still queued is dropped (the client resumes from its last `seq`), and
        // the hub queues no more.
        queue.close();
        if let Some((code, reason)) = ending {
            // The close frame goes out behind what the network holds already: a client
            // closed for reading too slowly gets it once it has read that, within
            // CLOSE_TIMEOUT. A frame the last write left half sent is finished first.
            let frame = Message::Close(Some(CloseFrame {
                code,
                reason: reason.into(),
            }));
            if let Ok(Ok(())) = tokio::time::timeout(CLOSE_TIMEOUT, sink.send(frame)).await {
                // Let the client answer the close before the socket drops.
                let _ = tokio::time::timeout(CLOSE_ANSWER_TIMEOUT, async {
                    while let Some(Ok(message)) = stream.next().await {
                        if matches!(message, Message::Close(_)) {
                            break;
                        }
                    }
                })
                .await;
            }
        }
    }

    async fn write(
        &self,
        sink: &mut futures_util::stream::SplitSink<WebSocket, Message>,
        text: String,
    ) -> bool {
        self.write_message(sink, Message::Text(text.into())).await
    }

    /// Send one frame; `false` when the socket failed. When the connection is told to
    /// close meanwhile, or the network does not take the frame within
    /// [`WRITE_TIMEOUT`] (the client reads too slowly: it is closed with 1013), the
    /// wait ends and the session's loop closes the connection.
    async fn write_message(
        &self,
        sink: &mut futures_util::stream::SplitSink<WebSocket, Message>,
        message: Message,
    ) -> bool {
        tokio::select! {
            sent = tokio::time::timeout(WRITE_TIMEOUT, sink.send(message)) => match sent {
                Ok(Ok(())) => true,
                Ok(Err(_)) => false,
                Err(_) => {
                    self.conn.close(close::TRY_AGAIN_LATER, close::TOO_SLOW);
                    true
                }
            },
            _ = self.conn.closed() => true,
        }
    }

    /// Answer one client message; the replies in order.
    async fn handle(&self, text: &str) -> Vec<String> {
        let message: Inbound = match serde_json::from_str(text) {
            Ok(message) => message,
            Err(error) => {
                return vec![Outbound::error("invalid_message", error.to_string(), None).frame()];
            }
        };
        let stats = self.state.live.stats();
        match message {
            Inbound::Ping => vec![Outbound::Pong.frame()],
            Inbound::Unsubscribe { topics } => {
                let (topics, mut replies) = parse_topics(&topics);
                self.conn.unsubscribe(&topics, stats);
                replies.push(
                    Outbound::Unsubscribed {
                        topics: topics.iter().map(Topic::to_string).collect(),
                    }
                    .frame(),
                );
                replies
            }
            Inbound::Subscribe { topics, since } => {
                let (topics, mut replies) = parse_topics(&topics);
                let mut allowed = Vec::new();
                for topic in topics {
                    match self.authorize(&topic).await {
                        Ok(()) => allowed.push(topic),
                        Err((code, detail)) => replies
                            .push(Outbound::error(code, detail, Some(&topic.to_string())).frame()),
                    }
                }
                if self.conn.topics().len() + allowed.len() > MAX_TOPICS {
                    replies.push(
                        Outbound::error(
                            "too_many_topics",
                            format!("at most {MAX_TOPICS} topics per connection"),
                            None,
                        )
                        .frame(),
                    );
                    return replies;
                }
                let since = since.or(self.since);
                if since.is_some_and(|since| since < 0) {
                    replies.push(
                        Outbound::error("invalid_message", "`since` must be 0 or more", None)
                            .frame(),
                    );
                    return replies;
                }
                self.conn.subscribe(&allowed, since.is_some(), stats);
                let seq = events::last_seq(&self.state.db, self.conn.viewer.account_id)
                    .await
                    .unwrap_or(0);
                let names: Vec<String> = allowed.iter().map(Topic::to_string).collect();
                replies.push(
                    Outbound::Subscribed {
                        topics: names.clone(),
                        seq,
                    }
                    .frame(),
                );
                if let Some(since) = since {
                    let fresh: BTreeSet<Topic> = allowed.into_iter().collect();
                    replies.extend(self.replay(since, &fresh, names).await);
                }
                replies
            }
        }
    }

    /// May this connection follow `topic`?
    async fn authorize(&self, topic: &Topic) -> Result<(), (&'static str, String)> {
        let viewer = self.conn.viewer;
        viewer
            .may_subscribe(topic)
            .map_err(|detail| ("forbidden_topic", detail.to_owned()))?;
        if let Topic::Job(job_id) = topic {
            let ctx = Ctx {
                account_id: viewer.account_id,
                user_id: viewer.user_id,
                role: viewer.role,
            };
            let visible = async {
                let mut tx = self.state.db.tenant(viewer.account_id).await?;
                let result = jobs::service::check_job_access_in(&mut tx, &ctx, *job_id).await;
                tx.commit().await?;
                result
            }
            .await;
            visible.map_err(|error: ApiError| match error.code {
                ErrorCode::JobNotFound => ("job_not_found", "no such job, or not yours".to_owned()),
                _ => (
                    "unavailable",
                    "cannot check the job now; try again".to_owned(),
                ),
            })?;
        }
        Ok(())
    }

    /// The events after `since` on the `fresh` topics, then the live ones held back
    /// meanwhile; or `resync_required` when they cannot all be had.
    async fn replay(&self, since: i64, fresh: &BTreeSet<Topic>, names: Vec<String>) -> Vec<String> {
        let stats = self.state.live.stats();
        let account_id = self.conn.viewer.account_id;
        let db = &self.state.db;
        let mut frames = Vec::new();
        let outcome: anyhow::Result<Option<i64>> = async {
            let missed = events::since(db, account_id, since, MAX_REPLAY + 1).await?;
            // A gap before the first (purged, older than 7 days), too many, or a
            // client ahead of this database: it must reload.
            let complete = match missed.first() {
                Some(first) => {
                    first.seq == since + 1
                        && i64::try_from(missed.len()).unwrap_or(i64::MAX) <= MAX_REPLAY
                }
                None => since == events::last_seq(db, account_id).await?,
            };
            if !complete {
                return Ok(None);
            }
            let mut replayed = since;
            for published in &missed {
                let mut tx = db.tenant(account_id).await?;
                let audience = Audience::resolve(&mut tx, &published.event).await?;
                tx.commit().await?;
                frames.extend(self.conn.replay_frames(published, &audience, fresh));
                replayed = published.seq;
            }
            Ok(Some(replayed))
        }
        .await;
        match outcome {
            Ok(Some(replayed)) => {
                let count = frames.len();
                stats.delivered.inc_by(u64::try_from(count).unwrap_or(0));
                self.conn.finish_replay(fresh, replayed, stats);
                frames
            }
            Ok(None) | Err(_) => {
                if let Err(error) = &outcome {
                    tracing::warn!(
                        error = format!("{error:#}"),
                        "cannot replay events; asking the client to resync"
                    );
                }
                let seq = events::last_seq(db, account_id).await.unwrap_or(0);
                // Nothing replayed: what was held back goes out on every topic.
                self.conn.finish_replay(&BTreeSet::new(), since, stats);
                vec![Outbound::ResyncRequired { topics: names, seq }.frame()]
            }
        }
    }
}

/// Parse topic names; unknown ones become error replies.
fn parse_topics(names: &[String]) -> (Vec<Topic>, Vec<String>) {
    let mut topics = Vec::new();
    let mut errors = Vec::new();
    for name in names {
        match name.parse::<Topic>() {
            Ok(topic) => topics.push(topic),
            Err(()) => errors.push(
                Outbound::error(
                    "invalid_topic",
                    "topics are `account`, `schedule`, `job:{id}`, `client:{id}` and `user:{id}`",
                    Some(name),
                )
                .frame(),
            ),
        }
    }
    (topics, errors)
}

/// A hub frame as a WebSocket text message (the hub made it from a `String`, so the
/// check never fails; one that did would go out empty, not garbled).
fn text_message(text: super::hub::Text) -> Message {
    match axum::extract::ws::Utf8Bytes::try_from(text.into_bytes()) {
        Ok(text) => Message::Text(text),
        Err(error) => {
            tracing::error!(%error, "a hub frame is not UTF-8; sending an empty one");
            Message::Text(axum::extract::ws::Utf8Bytes::from_static(""))
        }
    }
}
