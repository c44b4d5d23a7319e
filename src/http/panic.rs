//! The last line of defence: a handler that panics answers a problem+json 500 like
//! any other server error instead of dropping the connection.
//!
//! Without this layer, a panic unwinds out of the connection's task: the client sees
//! a reset, [`crate::http::middleware::observe`] never logs the request nor lowers the
//! in-flight gauge, and an `Idempotency-Key` claim stays "in progress" until it is
//! abandoned minutes later. The layer sits *inside* the idempotency and observe layers
//! (see [`crate::app::layered`]), so both see an ordinary 500: the key is released and
//! the request is counted and logged with its id. Panics are still bugs: each one is
//! logged at error level with its message, to be fixed where it happened.

use std::any::Any;
use std::panic::AssertUnwindSafe;

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures_util::FutureExt;

use crate::http::ApiError;

/// Middleware: run the rest of the stack, turning a panic into a 500.
pub async fn catch_panic(request: Request, next: Next) -> Response {
    // The request and the handler's state die with the panic; nothing half-updated
    // is observed afterwards (shared state is behind locks or in the database, whose
    // open transaction is rolled back when its connection returns to the pool).
    match AssertUnwindSafe(next.run(request)).catch_unwind().await {
        Ok(response) => response,
        Err(payload) => {
            let message = panic_message(payload.as_ref());
            ApiError::internal(anyhow::anyhow!("a handler panicked: {message}")).into_response()
        }
    }
}

/// The text a panic was raised with (`panic!("…")` carries a `&str` or a `String`).
fn panic_message(payload: &(dyn Any + Send)) -> &str {
    if let Some(text) = payload.downcast_ref::<&'static str>() {
        text
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text
    } else {
        "(no message)"
    }
}

#[cfg(test)]
mod tests {
    use axum::Router;
    use axum::routing::get;

    use crate::http::middleware::{REQUEST_ID_HEADER, observe};
    use crate::platform::metrics::Metrics;

    #[allow(clippy::panic)]
    async fn boom() -> &'static str {
        panic!("index out of bounds")
    }

    #[tokio::test]
    async fn a_panicking_handler_answers_problem_json_500_with_the_request_id() {
        crate::cli::install_crypto_provider();
        let metrics = Metrics::new();
        let router = Router::new()
            .route("/boom", get(boom))
            .route("/fine", get(|| async { "fine" }))
            .layer(axum::middleware::from_fn(super::catch_panic))
            .layer(axum::middleware::from_fn_with_state(
                metrics.clone(),
                observe,
            ));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, router).await });
        let http = reqwest::Client::new();

        let response = http
            .get(format!("http://{addr}/boom"))
            .header(REQUEST_ID_HEADER, "panic-test-1")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 500);
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
        assert_eq!(response.headers()[REQUEST_ID_HEADER], "panic-test-1");
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["code"], "internal");
        assert_eq!(body["request_id"], "panic-test-1");
        assert!(
            !body.to_string().contains("index out of bounds"),
            "the panic's message stays in the logs: {body}"
        );
        assert_eq!(metrics.http_in_flight.get(), 0, "the gauge came back down");
        // The server is still there for the next request, on the same connection.
        let fine = http
            .get(format!("http://{addr}/fine"))
            .send()
            .await
            .unwrap();
        assert_eq!(fine.status(), 200);
    }
}
