//! The application: state, routers and listeners. The binary and the tests build the
//! same [`App`]; tests bind port 0 and read the bound addresses back.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRef, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use secrecy::ExposeSecret;
use tokio::net::TcpListener;
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa_axum::router::OpenApiRouter;

use crate::config::Config;
use crate::http::{ApiError, ErrorCode, idempotency, middleware, panic, ratelimit, server};
use crate::modules::auth::throttle::LoginThrottle;
use crate::modules::auth::token::TokenKeys;
use crate::modules::{
    accounts, attachments, auth, catalog, clients, communications, documents, files, hub, invoices,
    jobs, live, notifications, operations, payments, quickbooks, quotes, reports, requests, search,
    uploads,
};
use crate::platform::database::Db;
use crate::platform::metrics::Metrics;
use crate::platform::storage::Storage;

/// The listeners that react inside the transaction of every change, before it
/// commits (docs/events.md). One list, here: a module that reacts to another's
/// changes is added to it instead of being called by that module.
pub const IN_TRANSACTION: &[crate::platform::events::InTransaction] = &[
    crate::modules::activity::service::on_event,
    quickbooks::service::on_event,
    documents::service::on_event,
    notifications::service::on_event,
];

/// [`IN_TRANSACTION`], then the staff emails of notifications, which link to the
/// office app, and the listeners that email clients: they sign client-hub links, so
/// they hold the public address and the keys (docs/design.md, "Messages to clients").
pub fn in_transaction(
    links: crate::modules::auth::links::Signer,
) -> Vec<Arc<dyn crate::platform::events::Listener>> {
    let mut all: Vec<Arc<dyn crate::platform::events::Listener>> = IN_TRANSACTION
        .iter()
        .map(|l| Arc::new(*l) as Arc<dyn crate::platform::events::Listener>)
        .collect();
    all.push(Arc::new(notifications::emails::StaffEmails {
        public_url: links.public_url.clone(),
    }));
    all.push(Arc::new(invoices::payments::Receipts(links.clone())));
    all.push(Arc::new(requests::confirmation::Confirmations(links)));
    all
}

/// How long in-flight requests may take to finish after a stop signal.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub config: Arc<Config>,
    pub keys: Arc<TokenKeys>,
    pub throttle: Arc<LoginThrottle>,
    /// Password-reset requests, throttled apart from logins.
    pub reset_throttle: Arc<LoginThrottle>,
    /// `409 email_taken` answers: each tells that an address has a login somewhere,
    /// so they are limited per client IP and per account (docs/api.md).
    pub taken_throttle: Arc<LoginThrottle>,
    /// The counters of the request rate limits and of the throttles above: this
    /// process's, or Redis's when `redis_url` is set (`platform::ratelimit`).
    pub limits: Arc<dyn crate::platform::ratelimit::Store>,
    pub metrics: Metrics,
    /// Stripe's API and the key that opens the secrets accounts store.
    pub gateway: payments::service::Gateway,
    pub storage: Storage,
    /// QuickBooks Online's client (when configured) and the same secret box.
    pub quickbooks: quickbooks::service::QboGateway,
    /// The WebSocket connections of this process and the fan-out of events to them.
    pub live: live::Hub,
    /// The admin token and what `GET /status` keeps between calls.
    pub operations: Arc<operations::Operations>,
}

impl AppState {
    /// What signing client-hub links needs.
    pub fn links(&self) -> crate::modules::auth::links::Links<'_> {
        crate::modules::auth::links::Links {
            public_url: &self.config.public_url,
            keys: &self.keys,
        }
    }
}

impl FromRef<AppState> for Metrics {
    fn from_ref(state: &AppState) -> Self {
        state.metrics.clone()
    }
}

/// The state as `http`'s extractors and middleware see it; the login is `auth`'s
/// (a bearer token, or the session cookie with its CSRF check).
impl crate::http::Edge for AppState {
    fn db(&self) -> &Db {
        &self.db
    }

    fn config(&self) -> &Config {
        &self.config
    }

    fn limits(&self) -> &dyn crate::platform::ratelimit::Store {
        self.limits.as_ref()
    }

    fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    async fn authenticate(
        &self,
        parts: &mut axum::http::request::Parts,
    ) -> Result<crate::platform::database::Ctx, ApiError> {
        auth::session_routes::authenticate_request(self, parts).await
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "jobber API",
        description = "Field-service management: clients, properties, quotes, jobs, invoices.\n\n\
            Errors are RFC 9457 `application/problem+json` with a stable `code` (see docs/api.md). \
            Lists use keyset pagination (`limit`, `cursor` -> `next_cursor`). POST accepts an \
            `Idempotency-Key` header (Stripe's semantics). Updates take the `version` you read \
            (or `If-Match`) and answer 409 when it is stale. Requests are rate limited per class, \
            user and client IP: `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset` on \
            every answer, `429` with `Retry-After` past a quota (docs/api.md).",
        license(name = "AGPL-3.0-only")
    ),
    modifiers(&BearerAuth),
    components(schemas(crate::http::error::Problem, crate::http::FieldError)),
    tags(
        (name = "auth", description = "Sign-up, login and tokens"),
        (name = "users", description = "The team"),
        (name = "clients", description = "Clients, their properties and history"),
        (name = "settings", description = "Business settings and tax rates"),
        (name = "catalog", description = "Products and services"),
        (name = "quotes", description = "Quotes and their approval"),
        (name = "jobs", description = "Jobs: one-off and recurring work"),
        (name = "visits", description = "Visits: what technicians do in the field"),
        (name = "uploads", description = "Files sent ahead of the request that uses them (within 24 hours)"),
        (name = "schedule", description = "The dispatch calendar"),
        (name = "invoices", description = "Invoices"),
        (name = "payments", description = "Payments"),
        (name = "reports", description = "Dashboard, revenue, jobs and aging"),
        (name = "search", description = "The command palette: clients, quotes, jobs and invoices by name or number"),
        (name = "integrations", description = "QuickBooks Online sync (owners and admins)"),
        (name = "requests", description = "Work requests from the public form, and online booking"),
        (name = "communications", description = "Twilio's webhooks: text delivery statuses and replies"),
        (name = "admin", description = "Background jobs of the account (owners and admins)"),
    )
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
        // The web app's session cookie (POST /auth/session); its unsafe requests also
        // need the `X-CSRF-Token` header (docs/api.md).
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(utoipa::openapi::security::ApiKey::Cookie(
                utoipa::openapi::security::ApiKeyValue::with_description(
                    crate::modules::auth::session::COOKIE_NAME,
                    "The browser session; POST, PUT, PATCH and DELETE also need `X-CSRF-Token`",
                ),
            )),
        );
        openapi.security = Some(vec![
            utoipa::openapi::security::SecurityRequirement::new("bearer", Vec::<String>::new()),
            utoipa::openapi::security::SecurityRequirement::new("session", Vec::<String>::new()),
        ]);
    }
}

/// The API's routes and their OpenAPI document, with the shared errors declared
/// (`http::openapi`).
fn routes() -> (Router<AppState>, serde_json::Value) {
    let v1 = OpenApiRouter::new()
        .merge(auth::routes::router())
        .merge(auth::team_routes::router())
        .merge(clients::routes::router())
        .merge(accounts::routes::router())
        .merge(catalog::routes::router())
        .merge(quotes::routes::router())
        .merge(jobs::routes::router())
        .merge(jobs::feed_routes::router())
        .merge(invoices::routes::router())
        .merge(payments::routes::router())
        .merge(reports::routes::router())
        .merge(search::routes::router())
        .merge(hub::routes::router())
        .merge(notifications::routes::router())
        .merge(documents::routes::router())
        .merge(attachments::routes::router())
        .merge(uploads::routes::router())
        .merge(quickbooks::routes::router())
        .merge(communications::routes::router())
        .merge(live::routes::router())
        .merge(requests::routes::router())
        .merge(operations::jobs_routes::router());
    let (router, openapi) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .nest("/api/v1", v1)
        .split_for_parts();
    let mut document = serde_json::to_value(&openapi).unwrap_or_default();
    crate::http::openapi::declare_errors(&mut document);
    (router, document)
}

/// The OpenAPI document served at `/api/v1/openapi.json`.
pub fn openapi_document() -> serde_json::Value {
    routes().1
}

/// The public router and the OpenAPI document generated from its handlers.
pub fn api(state: AppState) -> (Router, serde_json::Value) {
    let (router, openapi) = routes();
    let spec = Arc::new(serde_json::to_vec(&openapi).unwrap_or_default());
    let router = router
        .route(
            "/api/v1/openapi.json",
            get(move || openapi_json(spec.clone())),
        )
        .route(
            "/api/docs",
            get(|| async { Html(include_str!("http/docs.html")) }),
        )
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .merge(jobs::feed_routes::public_router())
        .merge(files::routes::router())
        // The web app: its files and client-side routes; `/api/...` stays a 404.
        .fallback(crate::http::assets::fallback::<AppState>)
        .method_not_allowed_fallback(|| async { ApiError::code(ErrorCode::MethodNotAllowed) });
    (layered(router, state), openapi)
}

/// The public API's middleware around `routes`, innermost first: the route label,
/// the panic catcher, `Idempotency-Key`, the body limit, the rate limits, then request
/// id, metrics and access log. The panic catcher is inside the idempotency and observe layers so a
/// panic reaches them as an ordinary 500 (the key is released, the request counted).
/// Public so tests can put the same stack around a route of their own.
pub fn layered(routes: Router<AppState>, state: AppState) -> Router {
    routes
        .route_layer(axum::middleware::from_fn(middleware::label_route))
        .layer(axum::middleware::from_fn(panic::catch_panic))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            idempotency::middleware::<AppState>,
        ))
        .layer(DefaultBodyLimit::max(state.config.max_body_bytes))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            ratelimit::middleware::<AppState>,
        ))
        .layer(axum::middleware::from_fn(middleware::harden))
        .layer(axum::middleware::from_fn_with_state(
            state.metrics.clone(),
            middleware::observe,
        ))
        .with_state(state)
}

/// Health checks only: what a worker pod answers on its public port.
pub fn health(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .fallback(|| async { ApiError::code(ErrorCode::NotFound) })
        .with_state(state)
}

/// The admin router: metrics, the status (behind the admin token) and health, on the
/// admin listener only.
pub fn admin(state: AppState) -> Router {
    health(state.clone()).merge(
        Router::new()
            .route("/metrics", get(metrics))
            .merge(operations::routes::admin_router())
            .with_state(state),
    )
}

async fn openapi_json(spec: Arc<Vec<u8>>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        spec.as_ref().clone(),
    )
        .into_response()
}

async fn healthz() -> axum::Json<serde_json::Value> {
    axum::Json(serde_json::json!({"status": "ok"}))
}

async fn readyz(State(state): State<AppState>) -> Result<axum::Json<serde_json::Value>, ApiError> {
    match state.db.ready().await {
        Ok(()) => Ok(axum::Json(serde_json::json!({"status": "ready"}))),
        Err(error) => {
            // The cause goes to the log, not to whoever asks on the public port.
            tracing::warn!(error = format!("{error:#}"), "not ready");
            if crate::platform::database::chain_is_unavailable(error.as_ref()) {
                return Err(ApiError::database_unavailable());
            }
            Err(ApiError::new(
                ErrorCode::Unavailable,
                "the database schema is not current",
            ))
        }
    }
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    state.metrics.refresh_queues(&state.db).await;
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4"),
        )],
        state.metrics.render(&state.db),
    )
}

/// Listeners, bound before privileges are dropped (so a root start may use port 80).
pub struct Listeners {
    pub public: std::net::TcpListener,
    pub admin: std::net::TcpListener,
    /// The ACME HTTP-01 challenge and redirect listener (`acme_http_listen`).
    pub acme_http: Option<std::net::TcpListener>,
}

impl Listeners {
    pub fn bind(config: &Config) -> anyhow::Result<Self> {
        let bind = |addr: SocketAddr, what: &str| {
            let listener = std::net::TcpListener::bind(addr).with_context(|| {
                format!("cannot listen on {addr} ({what}): is another program using it?")
            })?;
            listener.set_nonblocking(true)?;
            Ok::<_, anyhow::Error>(listener)
        };
        Ok(Self {
            public: bind(config.listen, "--listen")?,
            admin: bind(config.admin_listen, "--admin-listen")?,
            acme_http: config
                .acme
                .as_ref()
                .map(|acme| bind(acme.http_listen, "--acme-http-listen"))
                .transpose()?,
        })
    }
}

pub struct App {
    public: TcpListener,
    admin: TcpListener,
    state: AppState,
    /// HTTPS on the public listener (the admin listener stays plain HTTP).
    tls: Option<crate::platform::tls::Tls>,
    /// Automatic certificates: the client and its HTTP-01 listener.
    acme: Option<(crate::platform::acme::Acme, TcpListener)>,
}

impl App {
    pub fn build(config: Config, db: Db, listeners: Listeners) -> anyhow::Result<Self> {
        let db = match &config.replica {
            Some(replica) => db.with_replica(
                replica.url.expose_secret(),
                &config.db_settings(),
                replica.settings(),
            )?,
            None => db,
        };
        let (tls, acme) = match (&config.tls, &config.acme, listeners.acme_http) {
            (Some(files), _, _) => (
                Some(crate::platform::tls::Tls::load(&files.cert, &files.key)?),
                None,
            ),
            (None, Some(settings), Some(listener)) => {
                let acme = crate::platform::acme::Acme::new(settings, &config.data_dir)?;
                let tls = crate::platform::tls::Tls::load_stored(
                    &acme.certificate_path(),
                    &acme.key_path(),
                )?;
                (Some(tls), Some((acme, TcpListener::from_std(listener)?)))
            }
            (None, Some(_), None) => {
                anyhow::bail!("acme_domains is set but its HTTP listener was not bound")
            }
            (None, None, _) => (None, None),
        };
        if let Some(url) = &config.redis_url {
            db.fanout().use_redis(url.expose_secret())?;
        }
        let keys = Arc::new(TokenKeys::load(
            config.jwt_secret.as_ref(),
            &config.data_dir,
        )?);
        db.listeners()
            .install(in_transaction(crate::modules::auth::links::Signer {
                public_url: config.public_url.clone(),
                keys: keys.clone(),
            }));
        let gateway = payments::service::Gateway {
            stripe: crate::integrations::stripe::Stripe::new(&config.stripe_api_base)?,
            secrets: Arc::new(crate::platform::crypto::SecretBox::load(
                config.encryption_key.as_ref(),
                &config.data_dir,
            )?),
        };
        let quickbooks = quickbooks::service::QboGateway {
            client: crate::integrations::quickbooks::QuickBooks::from_config(&config.quickbooks)?,
            secrets: gateway.secrets.clone(),
        };
        let storage = Storage::from_config(&config, &keys.derive("storage-urls"))?;
        let config_http = config.http.clone();
        let metrics = Metrics::new();
        let limits = crate::platform::ratelimit::store(
            config.redis_url.as_ref().map(|url| url.expose_secret()),
            config.rate_limits.max_keys,
            metrics.rate_limit_fallbacks.clone(),
        )?;
        let admin_token = crate::platform::admin_token::AdminToken::load_or_create(
            config.admin_token.as_ref(),
            &config.data_dir,
        )?;
        let state = AppState {
            operations: Arc::new(operations::Operations::new(admin_token)),
            gateway,
            quickbooks,
            storage,
            db,
            config: Arc::new(config),
            keys,
            throttle: Arc::new(LoginThrottle::new(limits.clone(), "login")),
            reset_throttle: Arc::new(LoginThrottle::new(limits.clone(), "reset")),
            taken_throttle: Arc::new(LoginThrottle::new(limits.clone(), "taken")),
            limits,
            live: live::Hub::new(config_live_limits(&config_http)),
            metrics,
        };
        state.metrics.register(state.live.stats().collectors());
        Ok(Self {
            public: TcpListener::from_std(listeners.public)?,
            admin: TcpListener::from_std(listeners.admin)?,
            state,
            tls,
            acme,
        })
    }

    /// The ACME HTTP-01 listener's address, when automatic certificates are on.
    pub fn acme_http_addr(&self) -> anyhow::Result<Option<SocketAddr>> {
        Ok(self
            .acme
            .as_ref()
            .map(|(_, listener)| listener.local_addr())
            .transpose()?)
    }

    /// The public listener's TLS, to reload its certificate (SIGHUP does).
    pub fn tls(&self) -> Option<&crate::platform::tls::Tls> {
        self.tls.as_ref()
    }

    pub fn public_addr(&self) -> anyhow::Result<SocketAddr> {
        Ok(self.public.local_addr()?)
    }

    pub fn admin_addr(&self) -> anyhow::Result<SocketAddr> {
        Ok(self.admin.local_addr()?)
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serve until `shutdown` resolves, then stop accepting and let in-flight requests
    /// finish for up to [`DRAIN_TIMEOUT`].
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let router = match self.state.config.role {
            // A worker pod answers health checks on both ports but serves no API.
            crate::config::Role::Worker => health(self.state.clone()),
            crate::config::Role::All | crate::config::Role::Api => api(self.state.clone()).0,
        };
        let limits = self.state.config.http.clone();
        tokio::spawn(reload_on_hangup(self.tls.clone(), stop_rx.clone()));
        // Automatic certificates: the CA's challenges and the redirect on port 80, and
        // the task that obtains and renews the certificate into the TLS config.
        let mut acme_http = None;
        if let (Some((acme, listener)), Some(tls)) = (self.acme, self.tls.clone()) {
            let https_port = self.public.local_addr()?.port();
            let router =
                crate::http::acme::router(acme.challenges(), acme.domains().to_vec(), https_port);
            acme_http = Some(tokio::spawn(server::serve(
                listener,
                router,
                limits.clone(),
                None,
                stop_rx.clone(),
            )));
            tokio::spawn(acme.run(tls, stop_rx.clone()));
        }
        let public = server::serve(
            self.public,
            router,
            limits.clone(),
            self.tls.as_ref().map(crate::platform::tls::Tls::acceptor),
            stop_rx.clone(),
        );
        let admin = server::serve(
            self.admin,
            admin(self.state.clone()),
            limits,
            None,
            stop_rx.clone(),
        );
        // Background work runs in the worker and all roles, never in api (which still
        // enqueues: the outbox is written by the API's own transactions).
        let mut background = match self.state.config.role {
            crate::config::Role::Worker | crate::config::Role::All => {
                let state = &self.state;
                let shared = crate::workers::Shared {
                    db: state.db.clone(),
                    config: state.config.clone(),
                    metrics: state.metrics.clone(),
                    storage: state.storage.clone(),
                    keys: state.keys.clone(),
                    quickbooks: state.quickbooks.clone(),
                    gateway: state.gateway.clone(),
                };
                Some(crate::workers::start(shared, stop_rx.clone())?)
            }
            crate::config::Role::Api => None,
        };
        // Committed events (of every instance) reach this process's bus for the
        // listeners that serve clients; a worker has none.
        let mut relay = match self.state.config.role {
            crate::config::Role::Api | crate::config::Role::All => Some(tokio::spawn(
                crate::platform::events::relay(self.state.db.with_own_pool(2), stop_rx.clone()),
            )),
            crate::config::Role::Worker => None,
        };
        // Events a crashed writer committed but did not number (every role writes).
        let sweeper = tokio::spawn(crate::platform::events::sweeper(
            self.state.db.clone(),
            stop_rx.clone(),
        ));
        let hub = match self.state.config.role {
            crate::config::Role::Api | crate::config::Role::All => Some(tokio::spawn(
                self.state.live.clone().run(self.state.db.clone()),
            )),
            crate::config::Role::Worker => None,
        };
        // The read replica's probe (docs/scaling.md); nothing without one.
        tokio::spawn(crate::platform::database::watch_replica(
            self.state.db.clone(),
            stop_rx.clone(),
        ));
        // One traffic sample a second for `GET /status`; it ends with the stop signal.
        tokio::spawn(operations::service::sampler(
            self.state.metrics.clone(),
            self.state.live.stats().connections.clone(),
            stop_rx.clone(),
        ));
        let mut public = tokio::spawn(public);
        let mut admin = tokio::spawn(admin);
        tokio::select! {
            () = shutdown => {}
            result = &mut public => return result.context("public listener failed"),
            result = &mut admin => return result.context("admin listener failed"),
        }
        tracing::info!("stopping: draining in-flight requests");
        // Live clients are told first (1001), so they reconnect elsewhere while the
        // rest drains.
        self.state.live.shut_down();
        let _ = stop_tx.send(true);
        let drained = tokio::time::timeout(DRAIN_TIMEOUT, async {
            let _ = (&mut public).await;
            let _ = (&mut admin).await;
            if let Some(acme_http) = acme_http.as_mut() {
                let _ = acme_http.await;
            }
            if let Some(relay) = relay.as_mut() {
                let _ = relay.await;
            }
            let _ = sweeper.await;
            if let Some(hub) = hub {
                let _ = hub.await;
            }
            while self.state.live.open() > 0 {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            if let Some(background) = background.as_mut() {
                while background.join_next().await.is_some() {}
            }
        })
        .await;
        if drained.is_err() {
            tracing::warn!(
                "in-flight requests and jobs did not finish within {}s; closing them",
                DRAIN_TIMEOUT.as_secs()
            );
            public.abort();
            admin.abort();
            if let Some(acme_http) = acme_http {
                acme_http.abort();
            }
            if let Some(mut background) = background {
                background.abort_all();
            }
        }
        Ok(())
    }
}

/// Read the certificate files again on every SIGHUP (certbot's deploy hook, or
/// `systemctl reload jobber`), until the server stops. Without TLS a SIGHUP is
/// only logged: it must not end the server as its default action would.
async fn reload_on_hangup(
    tls: Option<crate::platform::tls::Tls>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let mut hangup = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
        Ok(signal) => signal,
        Err(error) => {
            tracing::error!(%error, "cannot listen for SIGHUP: certificates are not reloaded");
            return;
        }
    };
    loop {
        tokio::select! {
            _ = hangup.recv() => {}
            _ = stop.wait_for(|stopped| *stopped) => return,
        }
        match tls.as_ref().map(crate::platform::tls::Tls::reload) {
            None => tracing::info!("SIGHUP: nothing to reload (no TLS certificate files)"),
            Some(Ok(())) => tracing::info!("SIGHUP: TLS certificate reloaded"),
            Some(Err(error)) => tracing::error!(
                error = format!("{error:#}"),
                "SIGHUP: cannot reload the TLS certificate; the one in use stays"
            ),
        }
    }
}

/// The live hub's limits from the HTTP settings.
fn config_live_limits(http: &crate::config::HttpConfig) -> live::Limits {
    live::Limits {
        per_user: http.ws_max_per_user,
        per_account: http.ws_max_per_account,
        queue: http.ws_queue,
        heartbeat: http.ws_heartbeat,
    }
}

/// Resolves on SIGTERM or SIGINT.
pub async fn stop_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = terminate => {}
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_operation_declares_its_errors_as_problems() {
        let faults = crate::http::openapi::tests::faults(&super::openapi_document());
        assert!(faults.is_empty(), "{}", faults.join("\n"));
    }
}
