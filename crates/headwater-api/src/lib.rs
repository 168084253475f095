//! Headwater's HTTP surface: the Contentstack Content Management API under `/v3`.

pub mod admin;
pub mod auth;
pub mod body;
pub mod cache;
pub mod cda_cache;
pub mod client_addr;
pub mod delivery;
pub mod error;
pub mod events;
pub mod hashing;
pub mod import_file;
pub mod links;
pub(crate) mod lookup;
pub mod notices;
pub mod openapi;
pub mod ops;
pub mod outbound;
pub(crate) mod publish;
pub mod revocation;
pub mod routes;
pub mod serve;
pub mod shared_limits;
pub mod smtp;
pub mod sso;
pub mod state;
pub mod storage;
pub mod tls;
pub mod usage;
pub mod wire;

pub use state::{AppState, ServerConfig};

use axum::http::header::{AUTHORIZATION, COOKIE};
use axum::http::{HeaderName, HeaderValue, Request, StatusCode};
use tower::ServiceBuilder;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{
    MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
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
        HeaderName::from_static("x-csrf-token"),
    ];
    // The web app (`/`, `/app/…`) beside the API: a client of it, with its own page policy.
    let web_app = headwater_app::router(state.config().assets_public_url.clone());
    // Layers given with `Router::layer` wrap every route apart, and a route's whole stack of
    // them is cloned for each request it serves: only what needs the matched route (its
    // template, for the metrics and for labelling refused credentials) is put there. The rest
    // wraps the router once.
    let routed = routes::router(state.clone())
        .merge(web_app)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::authenticate,
        ))
        .layer(axum::middleware::from_fn(ops::track));
    let around = ServiceBuilder::new()
        .layer(nosniff())
        .layer(axum::extract::DefaultBodyLimit::disable())
        .layer(SetSensitiveRequestHeadersLayer::from_shared(
            sensitive.into(),
        ))
        .layer(SetRequestIdLayer::new(REQUEST_ID, NewRequestId))
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(axum::middleware::from_fn(map_body_limit))
        .layer(RequestBodyLimitLayer::new(max_body))
        .map_request(|r: Request<tower_http::body::Limited<axum::body::Body>>| {
            r.map(axum::body::Body::new)
        })
        .layer(axum::middleware::from_fn(refuse_nul_in_uri))
        .layer(axum::middleware::from_fn(run_to_completion))
        // Inside `run_to_completion`, so a write finished after its client left still counts.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            mark_changes,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state,
            cda_cache::before_routing,
        ))
        .service(routed);
    Router::new().fallback_service(around)
}

/// Request ids without a system call each ([`headwater_core::ids::new_request_id`]).
#[derive(Clone, Copy)]
struct NewRequestId;

impl MakeRequestId for NewRequestId {
    fn make_request_id<B>(&mut self, _: &Request<B>) -> Option<RequestId> {
        HeaderValue::from_str(&headwater_core::ids::new_request_id())
            .ok()
            .map(RequestId::new)
    }
}

/// `X-Content-Type-Options: nosniff` on every response: a browser takes each body for the
/// type it is declared as, never for HTML it might look like.
fn nosniff() -> tower_http::set_header::SetResponseHeaderLayer<HeaderValue> {
    tower_http::set_header::SetResponseHeaderLayer::if_not_present(
        HeaderName::from_static("x-content-type-options"),
        HeaderValue::from_static("nosniff"),
    )
}

/// The log span of a request: method, path, the query with credentials redacted, and the
/// request id.
fn request_span<B>(req: &Request<B>) -> tracing::Span {
    // The fields are worked out only when the span is recorded (its level enabled).
    tracing::info_span!(
        "request",
        method = %req.method(),
        path = %redacted_path(req.uri().path()),
        query = %redacted_query(req.uri().query().unwrap_or_default()),
        request_id = %req
            .headers()
            .get(REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("-")
    )
}

/// Prefixes of Headwater secrets: management, delivery, auth and one-time link tokens.
const SECRET_PREFIXES: [&str; 5] = ["hwmt_", "hwdt_", "hwat_", "hwlk_", "hwbs_"];

fn looks_secret(value: &str) -> bool {
    let lower = value.to_ascii_lowercase();
    SECRET_PREFIXES.iter().any(|p| lower.contains(p))
}

/// `path` with every segment that looks like a Headwater secret (a link token in
/// `/v3/user/activate/{token}` or `…/accept_ownership/{token}`) replaced by `[redacted]`.
pub fn redacted_path(path: &str) -> std::borrow::Cow<'_, str> {
    if !looks_secret(path) {
        return std::borrow::Cow::Borrowed(path);
    }
    std::borrow::Cow::Owned(
        path.split('/')
            .map(|seg| if looks_secret(seg) { "[redacted]" } else { seg })
            .collect::<Vec<_>>()
            .join("/"),
    )
}

/// Query parameters whose values are credentials.
const SECRET_PARAMS: &[&str] = &[
    "access_token",
    "authtoken",
    "authorization",
    "management_token",
    "delivery_token",
    "token",
    "password",
    "secret",
    "tfa_token",
    "code",
    "state",
];

/// `query` with the value of every credential parameter, and every value that looks like a
/// Headwater secret wherever it appears, replaced by `[redacted]`, for logs.
pub fn redacted_query(query: &str) -> String {
    query
        .split('&')
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let lower = name.to_ascii_lowercase();
            let secret_name = SECRET_PARAMS.iter().any(|p| {
                lower == *p
                    || lower
                        .strip_suffix(']')
                        .and_then(|l| l.strip_suffix(p))
                        .is_some_and(|l| l.ends_with('['))
            });
            let secret_value = looks_secret(value);
            if (secret_name || secret_value) && !value.is_empty() {
                format!("{name}=[redacted]")
            } else {
                pair.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// Runs each write request in its own task, so a client that disconnects cannot cancel a
/// handler half-way through a database transaction (a cancelled `BEGIN` can leave a pooled
/// connection inside a transaction). The write finishes, commits or rolls back, whatever the
/// client does. Reads open no transaction and are still cancelled with their client, so
/// abandoned slow reads do not keep the machine busy.
/// After every request that can change something (any method but `GET`, `HEAD` and
/// `OPTIONS`), cached standings and delivery answers of this instance are stale
/// (`AppState::changed`). A successful change of roles, stacks (sharing, ownership, tokens),
/// organizations (membership, teams) or users (sessions, accounts) is also announced to the
/// other instances, which drop their cached credentials and standings
/// (`revocation::announce`); logging in changes nobody's standing and is not announced.
async fn mark_changes(
    axum::extract::State(state): axum::extract::State<AppState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::http::Method;
    let method = req.method().clone();
    if method == Method::GET || method == Method::HEAD || method == Method::OPTIONS {
        return next.run(req).await;
    }
    let path = req.uri().path();
    let standing = ["/v3/roles", "/v3/stacks", "/v3/organizations", "/v3/user"]
        .iter()
        .any(|p| path.starts_with(p))
        && !(method == Method::POST && path == "/v3/user-session");
    let resp = next.run(req).await;
    state.changed();
    if standing && resp.status().is_success() {
        revocation::announce(&state).await;
    }
    resp
}

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

/// Serves the application on `listener` until `shutdown` completes, then drains requests
/// (for at most the configured grace period).
pub async fn run(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    run_with(listener, state, None, shutdown).await
}

/// [`run`] over HTTPS: the same background workers, the application served with `tls`.
pub async fn run_tls(
    listener: tokio::net::TcpListener,
    state: AppState,
    tls: tls::TlsConfig,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    run_with(listener, state, Some(tls), shutdown).await
}

async fn run_with(
    listener: tokio::net::TcpListener,
    state: AppState,
    tls: Option<tls::TlsConfig>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // The webhook delivery worker and the expiry-notice scan run beside the server and stop
    // after it has drained its requests.
    let background = delivery::Background::start(state.clone());
    let limits = state.config().conn;
    let result = serve::serve(listener, app(state), tls, limits, shutdown).await;
    if tokio::time::timeout(limits.shutdown_grace, background.stop())
        .await
        .is_err()
    {
        tracing::warn!("background work still running after the shutdown grace period");
    }
    result
}

/// Serves any router built here (the delivery API on its own port, for one), over TLS with
/// `tls`, with the connection limits `limits` (`ServerConfig::conn`).
pub async fn serve_router(
    listener: tokio::net::TcpListener,
    router: Router,
    tls: Option<tls::TlsConfig>,
    limits: serve::ConnLimits,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve::serve(listener, router, tls, limits, shutdown).await
}

/// The Content Delivery API on its own listener (paths at `/v3/…`), with the same layers.
pub fn delivery_app(state: AppState) -> Router {
    routes::delivery_router(state)
        .layer(axum::middleware::from_fn(refuse_nul_in_uri))
        .layer(SetSensitiveRequestHeadersLayer::from_shared(
            vec![HeaderName::from_static("access_token"), AUTHORIZATION].into(),
        ))
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
        .layer(RequestBodyLimitLayer::new(64 * 1024))
        .layer(nosniff())
}

#[cfg(test)]
mod tests {
    use super::{redacted_path, redacted_query};

    #[test]
    fn credentials_in_queries_are_redacted() {
        assert_eq!(
            redacted_query("environment=production&access_token=hwdt_abc&locale=en-us"),
            "environment=production&access_token=[redacted]&locale=en-us"
        );
        assert_eq!(
            redacted_query("x=hwmt_0123456789&AuthToken=blt1"),
            "x=[redacted]&AuthToken=[redacted]"
        );
        assert_eq!(
            redacted_query("query=%7B%7D&limit=5"),
            "query=%7B%7D&limit=5"
        );
        assert_eq!(redacted_query(""), "");
    }

    #[test]
    fn link_tokens_in_paths_are_redacted() {
        assert_eq!(
            redacted_path("/v3/user/activate/hwlk_0123456789abcdefABCDEF012345"),
            "/v3/user/activate/[redacted]"
        );
        assert_eq!(
            redacted_path("/v3/stacks/accept_ownership/hwlk_x"),
            "/v3/stacks/accept_ownership/[redacted]"
        );
        assert_eq!(
            redacted_path("/v3/content_types/blog"),
            "/v3/content_types/blog"
        );
        assert_eq!(redacted_query("t=hwlk_abc"), "t=[redacted]");
    }
}
