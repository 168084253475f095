//! Asset rendering shared by the asset routes, publishing and the delivery API: the asset
//! object with its download URL, and its webhook event.

use crate::auth::{header, StackCtx};
use crate::events;
use crate::state::AppState;
use axum::http::HeaderMap;
use headwater_store::repo::assets::Asset;
use headwater_store::repo::publications::Publication;
use serde_json::{json, Value};

/// Where asset files are served from, for the `url`s in asset objects: the separate asset
/// origin (`--assets-public-url`) when there is one, else this server's public URL, else the
/// request's `Host`.
pub(crate) fn base_url(state: &AppState, headers: &HeaderMap) -> String {
    let config = state.config();
    match config
        .assets_public_url
        .as_ref()
        .or(config.public_url.as_ref())
    {
        Some(u) => u.trim_end_matches('/').to_string(),
        None => format!(
            "{}://{}",
            if config.tls { "https" } else { "http" },
            header(headers, "host").unwrap_or("127.0.0.1")
        ),
    }
}

pub(crate) fn encode_segment(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Where a version of an asset's file is downloaded. Files of a branch other than `main` name
/// it, since an asset keeps its uid (and may differ in content) on every branch.
fn download_url(base: &str, api_key: &str, branch: &str, a: &Asset) -> String {
    let mut url = format!(
        "{base}/v3/assets/{api_key}/{}/{}/{}",
        a.uid,
        a.version,
        encode_segment(&a.filename)
    );
    if branch != "main" {
        url.push_str("?branch=");
        url.push_str(&encode_segment(branch));
    }
    url
}

pub(crate) fn asset_json(
    a: &Asset,
    api_key: &str,
    branch: &str,
    base: &str,
    pubs: Option<&[Publication]>,
) -> Value {
    if a.is_dir {
        return json!({
            "uid": a.uid, "name": a.title, "is_dir": true, "parent_uid": a.parent_uid,
            "created_by": a.created_by, "updated_by": a.updated_by,
            "created_at": a.created_at, "updated_at": a.updated_at, "_version": a.version,
        });
    }
    let mut v = json!({
        "uid": a.uid,
        "title": a.title,
        "description": a.description,
        "filename": a.filename,
        "content_type": a.content_type,
        "file_size": a.file_size.to_string(),
        "tags": a.tags,
        "url": download_url(base, api_key, branch, a),
        "parent_uid": a.parent_uid,
        "is_dir": false,
        "_version": a.version,
        "ACL": {},
        "created_by": a.created_by,
        "updated_by": a.updated_by,
        "created_at": a.created_at,
        "updated_at": a.updated_at,
    });
    if let Some(pubs) = pubs {
        v["publish_details"] = Value::Array(
            pubs.iter()
                .filter(|p| p.item_uid == a.uid)
                .map(|p| json!({"environment": p.environment_uid, "locale": p.locale, "time": p.published_at, "user": p.published_by, "version": p.version}))
                .collect(),
        );
    }
    v
}

/// The webhook event of a change to an asset (its URL from `--public-url`, else a path).
pub(crate) fn asset_event(
    state: &AppState,
    ctx: &StackCtx,
    action: &str,
    a: &Asset,
) -> events::Event {
    let config = state.config();
    let base = config
        .assets_public_url
        .as_deref()
        .or(config.public_url.as_deref())
        .unwrap_or("");
    let base = base.trim_end_matches('/');
    events::Event::asset(
        action,
        asset_json(a, &ctx.stack.api_key, &ctx.branch, base, None),
    )
}
