//! `GET /v3/openapi.json`: every described operation exists on a live server, and the document
//! matches the checked-in snapshot. The router and the document are built from one route table
//! (`OPERATIONS` in `src/routes/mod.rs`), so they cannot name different routes.
//!
//! Added a route? Add its `op(…)` row to `OPERATIONS` in `src/routes/mod.rs`, then
//!
//!     UPDATE_OPENAPI=1 cargo test -p headwater-api --test it openapi::
//!
//! and review the diff of `crates/headwater-api/openapi.json`.

use headwater_api::openapi::{query_parameter, OPERATIONS};
use headwater_testkit::{on_both_backends, TestApp};
use reqwest::Method;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::PathBuf;

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn the_route_table_names_each_operation_once() {
    let described: BTreeSet<(&str, &str)> = OPERATIONS.iter().map(|o| (o.method, o.path)).collect();
    assert_eq!(
        described.len(),
        OPERATIONS.len(),
        "OPERATIONS (routes/mod.rs) names an operation twice"
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
