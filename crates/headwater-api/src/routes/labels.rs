//! Labels (`/v3/labels`): names (unique per branch) with parents and content types, kept in the
//! request's branch.

use crate::auth::StackCtx;
use crate::body::{JsonBody, Query};
use crate::error::{ApiError, ApiResult};
use crate::routes::{created, listed, notice, updated};
use crate::state::AppState;
use crate::wire::{
    self,
    labels::{LabelBody, LabelOut},
};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use headwater_core::policy::{Action, Module, Op};
use headwater_store::repo::releases::{self, Label};
use headwater_store::repo::{audit, schemas, Conn};
use headwater_store::StoreError;
use serde_json::{json, Value};

fn label_json(l: &Label) -> Value {
    wire::to_value(&LabelOut::from(l))
}

async fn label_fields(
    c: &mut Conn,
    ctx: &StackCtx,
    body: &JsonBody,
    current: Option<&Label>,
) -> ApiResult<(String, Value, Value)> {
    let sent: LabelBody = wire::parse(body, "label")?;
    let name = match (wire::not_blank(sent.name, "label.name"), current) {
        (Ok(Some(n)), _) => n,
        (Ok(None), Some(l)) => l.name.clone(),
        _ => return Err(ApiError::invalid("label.name", "is required.")),
    };
    let list = |sent: Option<Vec<String>>, cur: Option<&Value>| -> Vec<String> {
        sent.unwrap_or_else(|| {
            cur.and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
    };
    let parent = list(sent.parent, current.map(|l| &l.parent));
    for p in &parent {
        if Some(p.as_str()) == current.map(|l| l.uid.as_str()) {
            return Err(ApiError::invalid(
                "label.parent",
                "a label cannot be its own parent.",
            ));
        }
        if releases::label(c, &ctx.space, p).await?.is_none() {
            return Err(ApiError::invalid(
                "label.parent",
                format!("'{p}' is not a label of this stack."),
            ));
        }
    }
    let cts = list(sent.content_types, current.map(|l| &l.content_types));
    for ct in &cts {
        if !schemas::exists(&mut *c, &ctx.space, schemas::Kind::ContentType, ct).await? {
            return Err(ApiError::invalid(
                "label.content_types",
                format!("'{ct}' is not a content type of this stack."),
            ));
        }
    }
    Ok((name, json!(parent), json!(cts)))
}

fn duplicate_label(name: &str) -> ApiError {
    ApiError::invalid(
        "label.name",
        format!("a label named '{name}' already exists."),
    )
}

pub async fn list_labels(
    State(state): State<AppState>,
    ctx: StackCtx,
    q: Query,
) -> ApiResult<Json<Value>> {
    ctx.authorize(&Action::new(Module::Labels, Op::Read))?;
    let mut c = state.db().reader().await?;
    let all = releases::labels(&mut c, &ctx.space).await?;
    let n = all.len() as i64;
    Ok(listed(
        "labels",
        all.iter().map(label_json).collect(),
        q.flag("include_count").then_some(n),
    ))
}

pub async fn fetch_label(
    State(state): State<AppState>,
    ctx: StackCtx,
    Path(uid): Path<String>,
) -> ApiResult<Json<Value>> {
    ctx.authorize(&Action::new(Module::Labels, Op::Read))?;
    let mut c = state.db().reader().await?;
    let l = releases::label(&mut c, &ctx.space, &uid)
        .await?
        .ok_or_else(|| ApiError::not_found("label"))?;
    Ok(Json(json!({ "label": label_json(&l) })))
}

pub async fn create_label(
    State(state): State<AppState>,
    ctx: StackCtx,
    body: JsonBody,
) -> ApiResult<(StatusCode, Json<Value>)> {
    ctx.authorize(&Action::new(Module::Labels, Op::Create))?;
    let actor = ctx.actor();
    let mut tx = state.db().begin().await?;
    let (name, parent, cts) = label_fields(&mut tx, &ctx, &body, None).await?;
    let l = match releases::insert_label(&mut tx, &ctx.space, &name, &parent, &cts, &actor).await {
        Ok(l) => l,
        Err(StoreError::Conflict(_)) => return Err(duplicate_label(&name)),
        Err(e) => return Err(e.into()),
    };
    audit::record(
        &mut tx,
        &actor,
        ctx.audit("create", "label", &l.uid, &l.name),
    )
    .await?;
    tx.commit().await?;
    Ok(created(
        "Label created successfully.",
        "label",
        label_json(&l),
    ))
}

pub async fn update_label(
    State(state): State<AppState>,
    ctx: StackCtx,
    Path(uid): Path<String>,
    body: JsonBody,
) -> ApiResult<(StatusCode, Json<Value>)> {
    ctx.authorize(&Action::new(Module::Labels, Op::Update))?;
    let actor = ctx.actor();
    let mut tx = state.db().begin().await?;
    let current = releases::label(&mut tx, &ctx.space, &uid)
        .await?
        .ok_or_else(|| ApiError::not_found("label"))?;
    let (name, parent, cts) = label_fields(&mut tx, &ctx, &body, Some(&current)).await?;
    let l = match releases::update_label(&mut tx, &ctx.space, &uid, &name, &parent, &cts, &actor)
        .await
    {
        Ok(Some(l)) => l,
        Ok(None) => return Err(ApiError::not_found("label")),
        Err(StoreError::Conflict(_)) => return Err(duplicate_label(&name)),
        Err(e) => return Err(e.into()),
    };
    audit::record(
        &mut tx,
        &actor,
        ctx.audit("update", "label", &l.uid, &l.name),
    )
    .await?;
    tx.commit().await?;
    Ok(updated(
        "Label updated successfully.",
        "label",
        label_json(&l),
    ))
}

pub async fn delete_label(
    State(state): State<AppState>,
    ctx: StackCtx,
    Path(uid): Path<String>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    ctx.authorize(&Action::new(Module::Labels, Op::Delete))?;
    let actor = ctx.actor();
    let mut tx = state.db().begin().await?;
    let l = releases::label(&mut tx, &ctx.space, &uid)
        .await?
        .ok_or_else(|| ApiError::not_found("label"))?;
    releases::delete_label(&mut tx, &ctx.space, &uid).await?;
    audit::record(
        &mut tx,
        &actor,
        ctx.audit("delete", "label", &l.uid, &l.name),
    )
    .await?;
    tx.commit().await?;
    Ok(notice("Label deleted successfully."))
}
