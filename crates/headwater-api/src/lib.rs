//! Headwater's HTTP surface: the Contentstack Content Management API under `/v3`.

pub mod admin;
pub mod auth;
pub mod body;
pub mod cache;
pub mod delivery;
pub mod error;
pub mod events;
pub mod notices;
pub mod openapi;
pub mod routes;
pub mod smtp;
pub mod state;
pub mod storage;
pub mod tls;

pub use state::{AppState, ServerConfig};

use axum::http::header::{AUTHORIZATION, COOKIE};
use axum::http::{HeaderName, Request, StatusCode};
use tower::ServiceBuilder;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_http::trace::TraceLayer;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The whole application: routes, credential resolution and the cross-cutting layers.
pub fn app(state: AppState) -> Router {
    // JSON bodies are limited by `JsonBody`; this outer limit lets uploads through.
    let max_body = state
        .config()
        .max_body_bytes
        .max(state.config().max_upload_bytes);
    let sensitive: Vec<HeaderName> = vec![
        AUTHORIZATION,
        COOKIE,
        HeaderName::from_static("authtoken"),
        HeaderName::from_static("access_token"),
    ];
    routes::router(state.clone())
        .layer(axum::middleware::from_fn_with_state(
            state,
            auth::authenticate,
        ))
        .layer(axum::middleware::from_fn(run_to_completion))
        .layer(axum::middleware::from_fn(refuse_nul_in_uri))
        .layer(
            ServiceBuilder::new()
                .layer(SetSensitiveRequestHeadersLayer::from_shared(sensitive.into()))
                .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
                .layer(
                    TraceLayer::new_for_http().make_span_with(|req: &Request<_>| {
                        let id = req
                            .headers()
                            .get(REQUEST_ID)
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or("-");
                        tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id)
                    }),
                )
                .layer(PropagateRequestIdLayer::new(REQUEST_ID))
                .layer(axum::middleware::from_fn(map_body_limit))
                .layer(RequestBodyLimitLayer::new(max_body)),
        )
        .layer(axum::extract::DefaultBodyLimit::disable())
}

/// Runs each write request in its own task, so a client that disconnects cannot cancel a
/// handler half-way through a database transaction (a cancelled `BEGIN` can leave a pooled
/// connection inside a transaction). The write finishes, commits or rolls back, whatever the
/// client does. Reads open no transaction and are still cancelled with their client, so
/// abandoned slow reads do not keep the machine busy.
async fn run_to_completion(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    if req.method() == axum::http::Method::GET || req.method() == axum::http::Method::HEAD {
        return next.run(req).await;
    }
    match tokio::spawn(next.run(req)).await {
        Ok(resp) => resp,
        Err(e) => {
            tracing::error!(error = %e, "request task failed");
            error::ApiError::internal().into_response()
        }
    }
}

/// A NUL character (`%00`) in the path or the query string could only reach the database as a
/// name or uid, which no text column can hold: refused before any handler, on both backends,
/// as JSON bodies are (`body::nul_path`). The path answers 422 and a query parameter 400, both
/// code 120 naming what carried it.
async fn refuse_nul_in_uri(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    if req.uri().path().contains("%00") {
        return body::nul_refused("path").into_response();
    }
    if let Some(q) = req.uri().query().filter(|q| q.contains("%00")) {
        let name = q
            .split('&')
            .find(|p| p.contains("%00"))
            .and_then(|p| p.split('=').next())
            .filter(|k| !k.contains("%00") && !k.is_empty())
            .map(body::decode)
            .unwrap_or_else(|| "query string".into());
        let mut e = body::nul_refused(&name);
        e.status = StatusCode::BAD_REQUEST;
        return e.into_response();
    }
    next.run(req).await
}

/// The body-limit layer answers 413 with a plain-text body; give it the Contentstack error body.
async fn map_body_limit(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let resp = next.run(req).await;
    let is_json = resp
        .headers()
        .get("content-type")
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if resp.status() == StatusCode::PAYLOAD_TOO_LARGE && !is_json {
        return body::too_large().into_response();
    }
    resp
}

pub use axum::Router;

/// Serves the application on `listener` until `shutdown` completes, then drains requests.
pub async fn run(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // The webhook delivery worker and the expiry-notice scan run beside the server and stop
    // after it has drained its requests.
    let background = delivery::Background::start(state.clone());
    let result = serve_router(listener, app(state), shutdown).await;
    background.stop().await;
    result
}

/// [`run`] over HTTPS: the same background workers, the application served with `tls`.
pub async fn run_tls(
    listener: tokio::net::TcpListener,
    state: AppState,
    tls: tls::TlsConfig,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let background = delivery::Background::start(state.clone());
    let result = tls::serve_router_tls(listener, app(state), tls, shutdown).await;
    background.stop().await;
    result
}

/// Serves any router built here (the delivery API on its own port, for one).
pub async fn serve_router(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
}

/// The Content Delivery API on its own listener (paths at `/v3/…`), with the same layers.
pub fn delivery_app(state: AppState) -> Router {
    routes::delivery_router(state)
        .layer(axum::middleware::from_fn(refuse_nul_in_uri))
        .layer(SetSensitiveRequestHeadersLayer::from_shared(
            vec![HeaderName::from_static("access_token"), AUTHORIZATION].into(),
        ))
        .layer(TraceLayer::new_for_http())
        .layer(RequestBodyLimitLayer::new(64 * 1024))
}
