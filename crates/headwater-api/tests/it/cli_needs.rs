//! What the csdx CLI's export and import rely on, beyond what the SDK scenarios cover
//! (tests/cli/FINDINGS.md), on both backends.

use crate::common::urlencode;
use headwater_testkit::{assert_error, on_both_backends, send, TestApp};
use reqwest::multipart::{Form, Part};
use reqwest::Method;
use serde_json::{json, Value};

on_both_backends!(the_asset_list_query_selects_folders_or_files,);

fn uids(body: &Value) -> Vec<String> {
    let mut v: Vec<String> = body["assets"]
        .as_array()
        .expect("assets array")
        .iter()
        .map(|a| a["uid"].as_str().expect("uid").to_string())
        .collect();
    v.sort();
    v
}

async fn the_asset_list_query_selects_folders_or_files(app: TestApp) {
    let (_, org) = app.owner("owner@example.com").await;
    let owner = app.login("owner@example.com").await;
    let api_key = app.stack(&owner, &org, "Media").await;
    let (token, _) = app.rw_token(&owner, &api_key, "CLI").await;
    let t = |m, p: &str| app.with_token(m, p, &token, &api_key);

    let (s, b) =
        send(t(Method::POST, "/v3/assets/folders").json(&json!({"asset": {"name": "Images"}})))
            .await;
    assert_eq!(s, 201, "{b}");
    let top = b["asset"]["uid"].as_str().expect("folder uid").to_string();
    let (s, b) = send(
        t(Method::POST, "/v3/assets/folders")
            .json(&json!({"asset": {"name": "Logos", "parent_uid": top}})),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    let nested = b["asset"]["uid"].as_str().expect("folder uid").to_string();
    let mut file_uids = Vec::new();
    for (name, parent) in [("a.txt", None), ("b.txt", Some(nested.clone()))] {
        let mut form = Form::new().part(
            "asset[upload]",
            Part::bytes(name.as_bytes().to_vec())
                .file_name(name)
                .mime_str("text/plain")
                .expect("mime"),
        );
        if let Some(p) = parent {
            form = form.text("asset[parent_uid]", p);
        }
        let (s, b) = send(t(Method::POST, "/v3/assets").multipart(form)).await;
        assert_eq!(s, 201, "{b}");
        file_uids.push(b["asset"]["uid"].as_str().expect("uid").to_string());
    }
    file_uids.sort();
    let mut folder_uids = vec![top.clone(), nested.clone()];
    folder_uids.sort();

    // The CLI lists and counts folders with query={"is_dir": true}: every folder, nested too,
    // and no file.
    let q = |query: &str| format!("/v3/assets?query={}", urlencode(query));
    let (s, b) = send(t(Method::GET, &q(r#"{"is_dir":true}"#))).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(uids(&b), folder_uids, "{b}");
    assert!(b["assets"]
        .as_array()
        .unwrap()
        .iter()
        .all(|a| a["is_dir"] == true));
    let (s, b) = send(t(
        Method::GET,
        &format!(
            "{}&count=true&limit=1&skip=1e%2B100",
            q(r#"{"is_dir":true}"#)
        ),
    ))
    .await;
    assert_eq!((s, b["assets"].clone()), (200, json!(2)), "{b}");
    // include_folders does not list them twice.
    let (s, b) = send(t(
        Method::GET,
        &format!("{}&include_folders=true", q(r#"{"is_dir":true}"#)),
    ))
    .await;
    assert_eq!((s, uids(&b)), (200, folder_uids.clone()), "{b}");

    // is_dir false, an empty query and no query list the files (all of them, nested too).
    for path in [q(r#"{"is_dir":false}"#), q("{}"), "/v3/assets".to_string()] {
        let (s, b) = send(t(Method::GET, &path)).await;
        assert_eq!((s, uids(&b)), (200, file_uids.clone()), "{path}: {b}");
    }
    let (s, b) = send(t(
        Method::GET,
        &format!("{}&count=true", q(r#"{"is_dir":false}"#)),
    ))
    .await;
    assert_eq!((s, b["assets"].clone()), (200, json!(2)), "{b}");

    // A filter the list cannot apply is refused, never ignored.
    for bad in [
        r#"{"no_such_field":"a.txt"}"#,
        r#"{"is_dir":"yes"}"#,
        r#"{"is_dir":true,"no_such_field":"x"}"#,
        "[1]",
        "not json",
    ] {
        let (s, b) = send(t(Method::GET, &q(bad))).await;
        assert_error(s, &b, 400, 120);
        assert!(b["errors"]["query"].is_array(), "{bad}: {b}");
    }
}
