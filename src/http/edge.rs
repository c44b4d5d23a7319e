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

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use axum::Router;
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use axum::routing::get;
    use tower::ServiceExt;
    use uuid::Uuid;

    use super::*;
    use crate::domain::Role;
    use crate::http::extract::Staff;
    use crate::http::ratelimit;

    /// A state of the test's own: every request comes from one user of `role`.
    #[derive(Clone)]
    struct Fixed {
        db: Db,
        config: Arc<Config>,
        limits: Arc<dyn Store>,
        metrics: Metrics,
        role: Role,
        asked: Arc<AtomicUsize>,
    }

    impl Edge for Fixed {
        fn db(&self) -> &Db {
            &self.db
        }

        fn config(&self) -> &Config {
            &self.config
        }

        fn limits(&self) -> &dyn Store {
            self.limits.as_ref()
        }

        fn metrics(&self) -> &Metrics {
            &self.metrics
        }

        async fn authenticate(&self, _: &mut Parts) -> Result<Ctx, ApiError> {
            self.asked.fetch_add(1, Ordering::SeqCst);
            Ok(Ctx {
                account_id: Uuid::nil(),
                user_id: Uuid::nil(),
                role: self.role,
            })
        }
    }

    fn fixed(role: Role) -> Fixed {
        let config = Config::load(&crate::config::ConfigArgs {
            data_dir: Some(std::env::temp_dir()),
            ..Default::default()
        })
        .unwrap();
        // Nothing listens there; nothing here opens a connection.
        let pool = sqlx::postgres::PgPoolOptions::new()
            .connect_lazy("postgres://nobody@127.0.0.1:9/none")
            .unwrap();
        let metrics = Metrics::new();
        Fixed {
            limits: crate::platform::ratelimit::store(
                None,
                100,
                metrics.rate_limit_fallbacks.clone(),
            )
            .unwrap(),
            db: Db::from_pool(pool),
            config: Arc::new(config),
            metrics,
            role,
            asked: Arc::default(),
        }
    }

    #[tokio::test]
    async fn the_edge_serves_any_state_and_asks_for_the_caller_once_per_request() {
        for (role, status) in [
            (Role::Dispatcher, StatusCode::OK),
            (Role::Technician, StatusCode::FORBIDDEN),
        ] {
            let state = fixed(role);
            let router = Router::new()
                .route(
                    "/api/v1/things",
                    get(|Staff(ctx): Staff| async move { ctx.role.as_str().to_owned() }),
                )
                .layer(axum::middleware::from_fn_with_state(
                    state.clone(),
                    ratelimit::middleware::<Fixed>,
                ))
                .with_state(state.clone());
            let request = Request::get("/api/v1/things").body(Body::empty()).unwrap();
            let response = router.oneshot(request).await.unwrap();
            assert_eq!(response.status(), status, "{role:?}");
            // The rate limits counted the caller (per user), then the handler's
            // extractor found the same caller in the request.
            assert!(response.headers().contains_key("ratelimit-limit"));
            assert_eq!(state.asked.load(Ordering::SeqCst), 1, "{role:?}");
        }
    }
}
