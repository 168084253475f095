//! What an operator watches: Prometheus metrics, liveness and readiness.
//!
//! - `GET /healthz`: the process is alive and serving (no dependency is checked, so a
//!   database outage does not get every instance restarted).
//! - `GET /readyz`: the database answers, every migration of this build is applied, and Redis
//!   answers when one is configured; 503 naming what failed otherwise. A load balancer sends
//!   traffic only to ready instances.
//! - `GET /metrics`: Prometheus text. It is served only on the separate `--metrics-listen`
//!   address, never on the API's port: it has no authentication of its own (scrapers rarely
//!   carry credentials), and what it shows (routes, volumes, queue depth) is for the
//!   operator's network only.
//!
//! Metrics recorded:
//! - `headwater_http_requests_total{route,method,status,credential}` and
//!   `headwater_http_request_duration_seconds{route,method}` (histogram), `route` being the
//!   route template (`/v3/content_types/{uid}`), never a concrete path;
//! - `headwater_rate_limited_total{class}`;
//! - `headwater_token_verifications_total{result}`, `headwater_token_cache_lookups_total{result}`,
//!   `headwater_revocation_notices_total`, `headwater_revocation_listener_up`;
//! - `headwater_delivery_cache_lookups_total{result}` (`hit`, `miss`, `shared`, `stale`:
//!   `cda_cache`);
//! - `headwater_webhook_queue_depth`, `headwater_webhook_deliveries_total{outcome}`;
//! - `headwater_db_pool_connections{pool,state}`, `headwater_db_pool_max_connections`,
//!   `headwater_db_acquires_total`, `headwater_db_acquire_wait_seconds_total`;
//! - `headwater_redis_up` when Redis is configured.

use crate::state::AppState;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use serde_json::json;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Latency buckets, in seconds.
const BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The process's metrics recorder (installed on first use).
pub fn handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new()
            .set_buckets(BUCKETS)
            .expect("the bucket list is not empty");
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("another metrics recorder is installed: /metrics stays empty");
        }
        handle
    })
}

/// Middleware: counts and times every request by route template, status and credential.
pub async fn track(req: Request, next: Next) -> Response {
    let route = req.extensions().get::<MatchedPath>().cloned();
    let method = req.method().clone();
    let credential = credential_kind(&req);
    let started = Instant::now();
    let resp = next.run(req).await;
    record(
        route.as_ref().map(MatchedPath::as_str),
        &method,
        resp.status(),
        credential,
        started,
    );
    resp
}

/// Counts and times one request (`route` is its template; `None` when no route matched).
pub fn record(
    route: Option<&str>,
    method: &axum::http::Method,
    status: StatusCode,
    credential: &'static str,
    started: Instant,
) {
    handle();
    let elapsed = started.elapsed().as_secs_f64();
    let (histogram, counter) = series(
        route.unwrap_or("unmatched"),
        method,
        status.as_u16(),
        credential,
    );
    histogram.record(elapsed);
    counter.increment(1);
}

/// The labels of one request series: method, status and credential kind.
type SeriesLabels = (axum::http::Method, u16, &'static str);

/// The request metrics' handles, by route template and then by labels: registering a series
/// with the recorder builds and hashes its key, which is done once per series, not per
/// request.
type SeriesHandles = Vec<(SeriesLabels, metrics::Histogram, metrics::Counter)>;

fn series(
    route: &str,
    method: &axum::http::Method,
    status: u16,
    credential: &'static str,
) -> (metrics::Histogram, metrics::Counter) {
    static SERIES: OnceLock<std::sync::Mutex<std::collections::HashMap<String, SeriesHandles>>> =
        OnceLock::new();
    let mut all = SERIES
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let known = match all.get_mut(route) {
        Some(known) => known,
        None => all.entry(route.to_string()).or_default(),
    };
    if let Some((_, h, c)) = known
        .iter()
        .find(|((m, s, k), _, _)| m == method && *s == status && *k == credential)
    {
        return (h.clone(), c.clone());
    }
    let histogram = metrics::histogram!(
        "headwater_http_request_duration_seconds",
        "route" => route.to_string(),
        "method" => method.as_str().to_string()
    );
    let counter = metrics::counter!(
        "headwater_http_requests_total",
        "route" => route.to_string(),
        "method" => method.as_str().to_string(),
        "status" => status.to_string(),
        "credential" => credential
    );
    known.push((
        (method.clone(), status, credential),
        histogram.clone(),
        counter.clone(),
    ));
    (histogram, counter)
}

/// The kind of credential a request carries, for the metrics' `credential` label.
pub fn credential_kind(req: &Request) -> &'static str {
    let h = req.headers();
    if h.contains_key(header::AUTHORIZATION) {
        "management_token"
    } else if h.contains_key("authtoken") {
        "authtoken"
    } else if h.contains_key("access_token")
        || req
            .uri()
            .query()
            .is_some_and(|q| q.split('&').any(|p| p.starts_with("access_token=")))
    {
        "delivery_token"
    } else {
        "none"
    }
}

/// The router of the `--metrics-listen` address: `/metrics`, `/healthz` and `/readyz`.
pub fn metrics_app(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(render))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(state)
}

/// `GET /metrics`: the Prometheus text format.
pub async fn render(State(state): State<AppState>) -> Response {
    let h = handle();
    sample(&state).await;
    h.run_upkeep();
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        h.render(),
    )
        .into_response()
}

/// Gauges read at scrape time: the webhook queue, the pools, Redis, the revocation channel.
async fn sample(state: &AppState) {
    let db = state.db();
    if let Ok(mut c) = db.reader().await {
        if let Ok(n) = headwater_store::repo::webhooks::pending_count(&mut c).await {
            metrics::gauge!("headwater_webhook_queue_depth").set(n as f64);
        }
    }
    let p = db.pool_stats();
    let pools = [
        ("read", p.read_size, p.read_idle),
        ("write", p.write_size, p.write_idle),
    ];
    for (pool, size, idle) in pools {
        metrics::gauge!("headwater_db_pool_connections", "pool" => pool, "state" => "idle")
            .set(f64::from(idle));
        metrics::gauge!("headwater_db_pool_connections", "pool" => pool, "state" => "in_use")
            .set(f64::from(size.saturating_sub(idle)));
    }
    metrics::gauge!("headwater_db_pool_max_connections").set(f64::from(p.read_max));
    metrics::counter!("headwater_db_acquires_total").absolute(p.acquires);
    metrics::gauge!("headwater_db_acquire_wait_seconds_total").set(p.acquire_wait.as_secs_f64());
    if let Some(up) = state.limiter().redis_reachable().await {
        metrics::gauge!("headwater_redis_up").set(if up { 1.0 } else { 0.0 });
    }
    if db.backend() == headwater_store::Backend::Postgres {
        let live = state
            .0
            .revocations_live
            .load(std::sync::atomic::Ordering::Relaxed);
        metrics::gauge!("headwater_revocation_listener_up").set(if live { 1.0 } else { 0.0 });
    }
}

/// `GET /healthz`: alive.
pub async fn healthz() -> impl IntoResponse {
    (StatusCode::OK, Json(json!({"status": "ok"})))
}

/// `GET /readyz`: ready for traffic (database, migrations, Redis when configured).
pub async fn readyz(State(state): State<AppState>) -> Response {
    let limit = Duration::from_secs(2);
    let database = matches!(
        tokio::time::timeout(limit, state.db().ping()).await,
        Ok(Ok(()))
    );
    let migrations = database
        && matches!(
            tokio::time::timeout(limit, state.db().migrations_current()).await,
            Ok(Ok(true))
        );
    let redis = state.limiter().redis_reachable().await;
    let word = |ok: bool| if ok { "ok" } else { "failing" };
    let mut checks = json!({
        "database": word(database),
        "migrations": if database { word(migrations) } else { "unknown" },
    });
    if let Some(r) = redis {
        checks["redis"] = json!(word(r));
    }
    if database && migrations && redis != Some(false) {
        return (
            StatusCode::OK,
            Json(json!({"status": "ready", "checks": checks})),
        )
            .into_response();
    }
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(json!({
            "status": "not ready",
            "checks": checks,
            "error_message": "This instance is not ready: see checks.",
            "error_code": 503,
            "errors": {},
        })),
    )
        .into_response()
}

/// Drains histogram samples into their buckets now and then, whether or not anything
/// scrapes (so memory stays flat); part of the server's background work.
pub(crate) async fn upkeep_loop(mut stop: tokio::sync::watch::Receiver<bool>) {
    let h = handle();
    loop {
        if crate::delivery::pause(&mut stop, Duration::from_secs(5)).await {
            break;
        }
        h.run_upkeep();
    }
}
