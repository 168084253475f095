//! The Headwater web app: plain ES modules and CSS under `app/`, embedded in the binary at
//! compile time (see `build.rs`) and served at `/` (the page) and `/app/…` (its modules).
//!
//! The app is a client of the public API: every screen calls `/v3` like a script would. Its
//! pages carry their own strict Content-Security-Policy (no inline script, nothing from
//! another origin except asset images when assets have their own origin, SEC-6).
//!
//! `HEADWATER_APP_DIR=crates/headwater-app/app` serves the files from disk instead, read on
//! each request, so a change to the app needs no rebuild.

use axum::extract::Path;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/files.rs"));
}

/// The embedded files, as `(path under app/, bytes)`.
pub fn files() -> &'static [(&'static str, &'static [u8])] {
    embedded::FILES
}

/// The page's policy. `assets_origin` (e.g. `https://files.example.com`) is the separate
/// origin asset files are served from, when there is one; images and media may come from it.
pub fn content_security_policy(assets_origin: Option<&str>) -> String {
    let extra = assets_origin
        .map(|o| format!(" {}", o.trim_end_matches('/')))
        .unwrap_or_default();
    format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:{extra}; \
         media-src 'self' blob:{extra}; connect-src 'self'; font-src 'self'; manifest-src 'self'; \
         base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )
}

/// The routes `GET /` and `GET /app/{*path}`; merge into the API's router.
pub fn router(assets_origin: Option<String>) -> Router {
    let csp = HeaderValue::from_str(&content_security_policy(assets_origin.as_deref()))
        .unwrap_or_else(|_| HeaderValue::from_static("default-src 'none'"));
    let page_csp = csp.clone();
    Router::new()
        .route(
            "/",
            get(move || {
                let csp = page_csp.clone();
                async move { serve("index.html", &csp) }
            }),
        )
        .route(
            "/app/{*path}",
            get(move |Path(path): Path<String>| {
                let csp = csp.clone();
                async move { serve(&path, &csp) }
            }),
        )
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next().unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "json" => "application/json",
        "txt" | "md" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// A path made only of plain names: no empty, `.`, `..` or hidden segment, no backslash.
fn safe(path: &str) -> bool {
    !path.is_empty()
        && !path.contains('\\')
        && path
            .split('/')
            .all(|s| !s.is_empty() && !s.starts_with('.'))
}

fn read(path: &str) -> Option<Vec<u8>> {
    if !safe(path) {
        return None;
    }
    match std::env::var_os("HEADWATER_APP_DIR") {
        Some(dir) if !dir.is_empty() => std::fs::read(std::path::Path::new(&dir).join(path)).ok(),
        _ => embedded::FILES
            .iter()
            .find(|(p, _)| *p == path)
            .map(|(_, b)| b.to_vec()),
    }
}

fn serve(path: &str, csp: &HeaderValue) -> Response {
    let Some(body) = read(path) else {
        return (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "Not found.",
        )
            .into_response();
    };
    let mut h = HeaderMap::new();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(content_type(path)),
    );
    h.insert(header::CONTENT_SECURITY_POLICY, csp.clone());
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    (StatusCode::OK, h, body).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_and_its_entry_module_are_embedded() {
        assert!(read("index.html").is_some());
        assert!(read("main.js").is_some());
        assert!(read("app.css").is_some());
    }

    #[test]
    fn only_plain_paths_are_served() {
        for bad in ["", "../Cargo.toml", "a/../b", ".hidden", "a//b", "a\\b"] {
            assert!(!safe(bad), "{bad}");
        }
        assert!(safe("screens/tokens.js"));
    }

    #[test]
    fn the_policy_allows_no_inline_script_and_names_the_assets_origin() {
        let p = content_security_policy(Some("https://files.example.com/"));
        assert!(p.contains("script-src 'self';"));
        assert!(!p.contains("unsafe-inline"));
        assert!(p.contains("img-src 'self' data: blob: https://files.example.com;"));
    }
}
