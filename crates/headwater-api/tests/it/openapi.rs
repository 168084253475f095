//! `GET /v3/openapi.json`: the description and the router agree, every described operation
//! exists on a live server, and the document matches the checked-in snapshot.
//!
//! Added a route? Add its `op(…)` line to `OPERATIONS` in `src/openapi.rs`, then
//!
//!     UPDATE_OPENAPI=1 cargo test -p headwater-api --test it openapi::
//!
//! and review the diff of `crates/headwater-api/openapi.json`.

use headwater_api::openapi::{query_parameter, OPERATIONS};
use headwater_testkit::{on_both_backends, TestApp};
use reqwest::Method;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

const HOW_TO_ADD: &str = "add one `op(METHOD, PATH, tag, auth, body, reply, summary)` line for it \
     to OPERATIONS in crates/headwater-api/src/openapi.rs, then run \
     `UPDATE_OPENAPI=1 cargo test -p headwater-api --test it openapi::` and review the diff of \
     crates/headwater-api/openapi.json";

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The text of `fn NAME(` … its closing brace, in `source`.
fn function_body<'a>(source: &'a str, name: &str, file: &Path) -> &'a str {
    let start = source
        .find(&format!("fn {name}("))
        .unwrap_or_else(|| panic!("no fn {name} in {}", file.display()));
    let open = start + source[start..].find('{').expect("function body");
    let mut depth = 0usize;
    for (i, c) in source[open..].char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return &source[open..open + i + 1];
                }
            }
            _ => {}
        }
    }
    panic!("unbalanced braces in fn {name} of {}", file.display())
}

/// The text inside the parentheses that open at `open`.
fn parenthesized(text: &str, open: usize) -> &str {
    let mut depth = 0usize;
    for (i, c) in text[open..].char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return &text[open + 1..open + i];
                }
            }
            _ => {}
        }
    }
    panic!("unbalanced parentheses after {}", &text[open..])
}

fn first_string_literal(text: &str) -> String {
    let start = text.find('"').expect("a string literal") + 1;
    let end = start + text[start..].find('"').expect("closing quote");
    text[start..end].to_string()
}

/// Method routers named in a `.route(path, …)` registration: `get(…)`, `.post(…)`, ….
fn methods(registration: &str) -> Vec<String> {
    const KNOWN: [&str; 5] = ["get", "post", "put", "delete", "patch"];
    let bytes = registration.as_bytes();
    let mut found = Vec::new();
    for m in KNOWN {
        let pattern = format!("{m}(");
        let mut from = 0;
        while let Some(pos) = registration[from..].find(&pattern) {
            let at = from + pos;
            let before = if at == 0 { b' ' } else { bytes[at - 1] };
            // `get(`, `.get(` or `routing::get(`, not `forget(` or `get_all(`.
            if !(before.is_ascii_alphanumeric() || before == b'_') {
                found.push(m.to_ascii_uppercase());
            }
            from = at + pattern.len();
        }
    }
    found
}

/// (METHOD, path) of every `.route(…)` in `router_text`, under `prefix`.
fn routes_in(router_text: &str, prefix: &str, file: &Path, out: &mut BTreeSet<(String, String)>) {
    let mut from = 0;
    while let Some(pos) = router_text[from..].find(".route(") {
        let open = from + pos + ".route".len();
        let inner = parenthesized(router_text, open);
        let path = format!("{prefix}{}", first_string_literal(inner));
        let ms = methods(&inner[inner.find(',').expect("route handler")..]);
        assert!(
            !ms.is_empty(),
            "{}: could not read the methods of route {path} ({inner}); teach tests/it/openapi.rs \
             its method-router form",
            file.display()
        );
        for m in ms {
            out.insert((m, path.clone()));
        }
        from = open + inner.len();
    }
}

/// The file and function of a nested or merged router call such as `cda::router()`.
fn router_call(call: &str, routes_dir: &Path) -> (PathBuf, String) {
    let call = call.trim().trim_end_matches("()");
    let (module, function) = call
        .rsplit_once("::")
        .unwrap_or_else(|| panic!("read the router call `{call}` in tests/it/openapi.rs"));
    let module = module.rsplit("::").next().expect("module name");
    (
        routes_dir.join(format!("{module}.rs")),
        function.to_string(),
    )
}

/// Every (METHOD, path) that `routes::router` registers, read from the source: its own
/// `.route(…)` calls and those of the routers it `.nest(…)`s or `.merge(…)`s.
fn registered_routes() -> BTreeSet<(String, String)> {
    let routes_dir = crate_dir().join("src/routes");
    let mod_rs = routes_dir.join("mod.rs");
    let source = std::fs::read_to_string(&mod_rs).expect("read routes/mod.rs");
    let router = function_body(&source, "router", &mod_rs);
    let mut out = BTreeSet::new();
    routes_in(router, "", &mod_rs, &mut out);
    let mut from = 0;
    while let Some(pos) = router[from..].find(".nest(") {
        let open = from + pos + ".nest".len();
        let inner = parenthesized(router, open);
        let prefix = first_string_literal(inner);
        // `.nest("/cda", cda::router())`: the module's file and function.
        let call = inner[inner.find(',').expect("nested router") + 1..].trim();
        let (file, function) = router_call(call, &routes_dir);
        let text = std::fs::read_to_string(&file).expect("read nested router file");
        routes_in(
            function_body(&text, &function, &file),
            &prefix,
            &file,
            &mut out,
        );
        from = open + inner.len();
    }
    let mut from = 0;
    while let Some(pos) = router[from..].find(".merge(") {
        // `.merge(branches::router())`: its routes as they are.
        let open = from + pos + ".merge".len();
        let inner = parenthesized(router, open);
        let (file, function) = router_call(inner, &routes_dir);
        let text = std::fs::read_to_string(&file).expect("read merged router file");
        routes_in(function_body(&text, &function, &file), "", &file, &mut out);
        from = open + inner.len();
    }
    assert!(
        !router.contains(".route_service("),
        "routes/mod.rs now adds routes through .route_service(…): teach registered_routes() \
         in tests/it/openapi.rs to read them"
    );
    out
}

fn described_routes() -> BTreeSet<(String, String)> {
    OPERATIONS
        .iter()
        .map(|o| (o.method.to_string(), o.path.to_string()))
        .collect()
}

#[test]
fn the_description_and_the_router_name_the_same_routes() {
    let registered = registered_routes();
    assert!(
        registered.len() > 60,
        "only {} routes read from routes/mod.rs; the reader is broken",
        registered.len()
    );
    let described = described_routes();
    assert_eq!(
        described.len(),
        OPERATIONS.len(),
        "OPERATIONS names an operation twice"
    );
    let missing: Vec<_> = registered.difference(&described).collect();
    let extra: Vec<_> = described.difference(&registered).collect();
    let mut problems = String::new();
    for (m, p) in &missing {
        problems.push_str(&format!(
            "\n- {m} {p} is registered in routes/ but not described: {HOW_TO_ADD}"
        ));
    }
    for (m, p) in &extra {
        problems.push_str(&format!(
            "\n- {m} {p} is described in src/openapi.rs but the router has no such route: \
             remove its op(…) line (or register the route)"
        ));
    }
    assert!(
        problems.is_empty(),
        "OpenAPI and router disagree:{problems}"
    );
}

#[test]
fn every_query_parameter_is_known() {
    for o in OPERATIONS {
        for q in o.query {
            assert!(
                query_parameter(q).is_some(),
                "{} {}: query parameter {q} needs a line in query_parameter() of src/openapi.rs",
                o.method,
                o.path
            );
        }
        assert!(
            !o.summary.is_empty(),
            "{} {} has no summary",
            o.method,
            o.path
        );
    }
}

on_both_backends!(
    the_document_is_served_without_credentials_and_matches_the_snapshot,
    every_described_operation_exists_on_the_server,
);

async fn the_document_is_served_without_credentials_and_matches_the_snapshot(app: TestApp) {
    let r = app
        .req(Method::GET, "/v3/openapi.json")
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/json")
    );
    let served: Value = r.json().await.expect("json");
    assert_eq!(served["openapi"], "3.1.0");

    // The shape every operation promises: auth, path parameters, the error body.
    for (path, item) in served["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            let name = format!("{method} {path}");
            assert!(op["security"].is_array(), "{name}: no security");
            assert_eq!(
                op["responses"]["4XX"]["$ref"], "#/components/responses/Error",
                "{name}: no error body"
            );
            let params: Vec<&str> = op["parameters"]
                .as_array()
                .expect("parameters")
                .iter()
                .filter(|p| p["in"] == "path")
                .map(|p| p["name"].as_str().expect("name"))
                .collect();
            let in_path = path.matches('{').count();
            assert_eq!(params.len(), in_path, "{name}: path parameters");
            if path.starts_with("/v3/") && !op["security"].as_array().unwrap().is_empty() {
                let schemes: BTreeSet<&str> = op["security"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .flat_map(|r| r.as_object().unwrap().keys().map(String::as_str))
                    .collect();
                assert!(
                    schemes.contains("authtoken") || schemes.contains("management_token"),
                    "{name}: neither authtoken nor management token: {schemes:?}"
                );
            }
        }
    }
    let error = &served["components"]["schemas"]["Error"]["properties"];
    for field in ["error_message", "error_code", "errors"] {
        assert!(error[field].is_object(), "the error schema lacks {field}");
    }

    let snapshot = crate_dir().join("openapi.json");
    let text = serde_json::to_string_pretty(&served).expect("pretty") + "\n";
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::write(&snapshot, &text).expect("write the snapshot");
        return;
    }
    let stored = std::fs::read_to_string(&snapshot).unwrap_or_default();
    assert!(
        stored == text,
        "the served OpenAPI document differs from crates/headwater-api/openapi.json; if the \
         change is intended, run `UPDATE_OPENAPI=1 cargo test -p headwater-api --test it openapi::` \
         and review the diff"
    );
}

async fn every_described_operation_exists_on_the_server(app: TestApp) {
    for o in OPERATIONS {
        // Placeholders filled with a value no object has; no credentials.
        let path: String = o
            .path
            .split('/')
            .map(|seg| if seg.starts_with('{') { "nothing" } else { seg })
            .collect::<Vec<_>>()
            .join("/");
        let method = Method::from_bytes(o.method.as_bytes()).expect("method");
        let r = app.req(method, &path).send().await.expect("request");
        let status = r.status().as_u16();
        let text = r.text().await.unwrap_or_default();
        let unknown = status == 404 && text.contains("There is no ");
        assert!(
            !unknown,
            "{} {} is described but the server has no such route: {text}",
            o.method, o.path
        );
    }
}
