//! The web app beside the API: `GET /` and `GET /app/…` answer the embedded files with the
//! page's own strict Content-Security-Policy, and the API's answers are unchanged.

use headwater_testkit::{on_both_backends, TestApp};
use reqwest::Method;

on_both_backends!(
    the_page_is_served_with_a_strict_policy,
    every_embedded_file_is_served_as_embedded,
    unknown_files_and_paths_out_of_the_folder_are_not_found,
);

async fn the_page_is_served_with_a_strict_policy(app: TestApp) {
    let r = app.req(Method::GET, "/").send().await.expect("request");
    assert_eq!(r.status(), 200);
    let header = |name: &str| {
        r.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    assert_eq!(header("content-type"), "text/html; charset=utf-8");
    assert_eq!(header("x-content-type-options"), "nosniff");
    let csp = header("content-security-policy");
    for part in [
        "default-src 'none'",
        "script-src 'self';",
        "style-src 'self';",
        "connect-src 'self';",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    ] {
        assert!(csp.contains(part), "{part} missing from {csp}");
    }
    assert!(!csp.contains("unsafe"), "{csp}");
    let html = r.text().await.expect("body");
    assert!(html.contains(r#"<script type="module" src="/app/main.js">"#));
    // No inline script: every <script> loads a file.
    for tag in html.split("<script").skip(1) {
        let open = &tag[..tag.find('>').expect("tag end")];
        assert!(open.contains("src="), "inline script: <script{open}>");
    }
}

async fn every_embedded_file_is_served_as_embedded(app: TestApp) {
    let files = headwater_app::files();
    assert!(files.iter().any(|(p, _)| *p == "main.js"));
    for (path, bytes) in files {
        let r = app
            .req(Method::GET, &format!("/app/{path}"))
            .send()
            .await
            .expect("request");
        assert_eq!(r.status(), 200, "{path}");
        let ct = r
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        if path.ends_with(".js") {
            assert_eq!(ct, "text/javascript; charset=utf-8", "{path}");
        }
        if path.ends_with(".css") {
            assert_eq!(ct, "text/css; charset=utf-8", "{path}");
        }
        assert!(
            r.headers().contains_key("content-security-policy"),
            "{path}"
        );
        if std::env::var_os("HEADWATER_APP_DIR").is_none() {
            assert_eq!(&r.bytes().await.expect("body")[..], *bytes, "{path}");
        }
    }
}

async fn unknown_files_and_paths_out_of_the_folder_are_not_found(app: TestApp) {
    for path in [
        "/app/nothing.js",
        "/app/.hidden",
        "/app/screens/../../Cargo.toml",
        "/app/%2e%2e/Cargo.toml",
        "/app/..%2fCargo.toml",
    ] {
        let r = app.req(Method::GET, path).send().await.expect("request");
        assert_eq!(r.status(), 404, "{path}");
    }
    // The API's own answers are untouched: an unknown API route is still its JSON 404.
    let r = app
        .req(Method::GET, "/v3/no-such-thing")
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 404);
    let body: serde_json::Value = r.json().await.expect("json");
    assert!(body["error_message"]
        .as_str()
        .unwrap_or_default()
        .contains("There is no GET /v3/no-such-thing"));
}
