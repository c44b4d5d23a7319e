//! What the HTTP edge needs of the application, as one trait: the extractors and
//! middleware of `http` are generic over the router's state `S: Edge`, and the
//! application's state (`app::AppState`) implements it in `app.rs`. So `http` names
//! no module and nothing above it (docs/design.md, "Layers"), and a test can put the
//! same machinery around a state of its own.
//!
//! Most of it is plain data the state holds (the database, the settings, the rate
//! limits' counters, the metrics). The one piece that is a module's business is the
//! login: turning a bearer token or a session cookie into a caller ([`Ctx`]) takes
//! the signing keys, the live check of the sign-in, the sessions table and the CSRF
//! rules, which are all `auth`'s. `http` only asks ([`Edge::authenticate`]); the
//! [`Ctx`] extractor keeps the answer in the request, so the middleware that needs the
//! caller first (rate limits, `Idempotency-Key`) and the handler share one check, and
//! runs the request as that user (`platform::events::act_as`).

use std::future::Future;

use axum::http::request::Parts;

use crate::config::Config;
use crate::http::ApiError;
use crate::platform::database::{Ctx, Db};
use crate::platform::metrics::Metrics;
use crate::platform::ratelimit::Store;

/// The application as the HTTP edge sees it.
pub trait Edge: Clone + Send + Sync + 'static {
    /// The database (`Idempotency-Key` claims and stored answers).
    fn db(&self) -> &Db;

    /// The settings: the body limit, the trusted proxies, the rate limits, the UI's
    /// directory.
    fn config(&self) -> &Config;

    /// The counters of the request rate limits (this process's, or Redis's).
    fn limits(&self) -> &dyn Store;

    fn metrics(&self) -> &Metrics;

    /// Who sends the request whose head is `parts`: `401` without a valid bearer
    /// token or session cookie, `403 csrf_failed` when a cookie's CSRF or origin
    /// check fails. It may leave what else it learnt in `parts.extensions` (which
    /// login it was, for the routes that care). Call it through the [`Ctx`]
    /// extractor, which asks once per request.
    fn authenticate(&self, parts: &mut Parts)
    -> impl Future<Output = Result<Ctx, ApiError>> + Send;
}
