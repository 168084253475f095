//! Branch compare (`GET /v3/stacks/branches_compare[/content_types|/global_fields[/{uid}]]`),
//! merge (`POST /v3/stacks/branches_merge`), the merge queue (`GET /v3/stacks/branches_queue[/{uid}]`)
//! and branch settings (`/v3/stacks/branches/{uid}/settings`).
//!
//! Compare and merge cover content types and global fields, as Contentstack's do; what each
//! strategy does is [`headwater_core::branch_merge`]. A merge is one write transaction: every
//! item it changes is validated first against the merged result (a schema that would not
//! resolve, a change that would orphan entries' data, a global field still in use), and any
//! refusal fails the whole merge, changes nothing and is recorded in the queue as `failed`.
//! Merging is allowed to whoever may create branches (a management token never may: MT-10),
//! and each change it makes is decided again as the create, update or delete it is.

use crate::auth::{header, StackCtx};
use crate::body::{JsonBody, Query};
use crate::error::{code, ApiError, ApiResult};
use crate::lookup::schemas::not_found;
use crate::routes::notice;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use headwater_core::branch_merge::{self, Item, ItemType, Outcome, Status, Strategy};
use headwater_core::content;
use headwater_core::policy::{decide, Action, Module, Op, Subject};
use headwater_core::scope::FieldErrors;
use headwater_store::repo::audit;
use headwater_store::repo::branch_merges::{self, Merge, NewMerge};
use headwater_store::repo::branches::{self, Branch};
use headwater_store::repo::schemas::{self, Kind, SchemaDoc, SchemaWrite};
use headwater_store::repo::{entries, workflows, Conn};
use headwater_store::StoreError;
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// A merge that could not be applied (nothing to merge, or a merged item that would not be
/// valid); nothing was changed.
const MERGE_FAILED: i64 = 920;

fn branch_error(message: String, field: &str, what: &str) -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        code::BRANCH_NOT_FOUND,
        message,
    )
    .field(field, what)
}

fn kind_of(t: ItemType) -> Kind {
    match t {
        ItemType::ContentType => Kind::ContentType,
        ItemType::GlobalField => Kind::GlobalField,
    }
}

fn module_of(t: ItemType) -> Module {
    match t {
        ItemType::ContentType => Module::ContentTypes,
        ItemType::GlobalField => Module::GlobalFields,
    }
}

fn label_of(t: ItemType) -> &'static str {
    match t {
        ItemType::ContentType => "Content Type",
        ItemType::GlobalField => "Global Field",
    }
}

/// The two branches a compare or merge names (`base_branch` defaults to the compare branch's
/// source, as Contentstack's does). Aliases are accepted for either.
struct Pair {
    base: Branch,
    compare: Branch,
}

async fn resolve(state: &AppState, ctx: &StackCtx, name: &str, field: &str) -> ApiResult<Branch> {
    let mut c = state.db().reader().await?;
    branches::resolve(&mut c, &ctx.stack.uid, name)
        .await?
        .map(|r| r.branch)
        .ok_or_else(|| {
            branch_error(
                format!("The branch '{name}' doesn't exist in this stack."),
                field,
                "is not valid.",
            )
        })
}

async fn pair(state: &AppState, ctx: &StackCtx, q: &Query) -> ApiResult<Pair> {
    let name = |k: &str| q.get(k).map(str::trim).filter(|v| !v.is_empty());
    let compare_name = name("compare_branch")
        .ok_or_else(|| ApiError::invalid("compare_branch", "is required."))?;
    let compare = resolve(state, ctx, compare_name, "compare_branch").await?;
    let base_name = match name("base_branch") {
        Some(b) => b.to_string(),
        None if !compare.source.is_empty() => compare.source.clone(),
        None => {
            return Err(ApiError::invalid(
                "base_branch",
                "is required: the compare branch has no source branch to default to.",
            ))
        }
    };
    let base = resolve(state, ctx, &base_name, "base_branch").await?;
    if base.uid == compare.uid {
        return Err(ApiError::invalid(
            "compare_branch",
            "must name another branch than base_branch.",
        ));
    }
    Ok(Pair { base, compare })
}

/// The request's subject as if it targeted `branch`: a management token's scope names the
/// branches it may read, and a compare reads two.
fn authorize_on(ctx: &StackCtx, branch: &str, action: &Action) -> ApiResult<()> {
    let subject = match &ctx.subject {
        Subject::ManagementToken(t) => {
            let mut t = t.clone();
            t.branch = branch.to_string();
            t.via_alias = None;
            Subject::ManagementToken(t)
        }
        s => s.clone(),
    };
    decide(&subject, action).map_err(ApiError::forbidden)
}

fn item_of(d: &SchemaDoc) -> Item {
    let mut schema = d.schema.clone();
    content::fill_field_defaults(&mut schema);
    Item {
        uid: d.uid.clone(),
        title: d.title.clone(),
        description: d.description.clone(),
        schema,
        options: d.options.clone(),
    }
}

async fn items_of(c: &mut Conn, space: &str, t: ItemType) -> ApiResult<BTreeMap<String, Item>> {
    let (docs, _) = schemas::list(c, space, kind_of(t), 0, i64::MAX).await?;
    Ok(docs.iter().map(|d| (d.uid.clone(), item_of(d))).collect())
}

fn public_base(state: &AppState, headers: &HeaderMap) -> String {
    let config = state.config();
    match config.public_url.as_ref() {
        Some(u) => u.trim_end_matches('/').to_string(),
        None => format!(
            "{}://{}",
            if config.tls { "https" } else { "http" },
            header(headers, "host").unwrap_or("127.0.0.1")
        ),
    }
}

async fn compare_list(
    state: &AppState,
    ctx: &StackCtx,
    headers: &HeaderMap,
    q: &Query,
    types: &[ItemType],
    suffix: &str,
) -> ApiResult<Json<Value>> {
    ctx.authorize(&Action::new(Module::Branches, Op::Read))?;
    let p = pair(state, ctx, q).await?;
    for t in types {
        let read = Action::new(module_of(*t), Op::Read);
        authorize_on(ctx, &p.base.uid, &read)?;
        authorize_on(ctx, &p.compare.uid, &read)?;
    }
    let (skip, limit, _) = q.page()?;
    let mut c = state.db().reader().await?;
    let mut diff = Vec::new();
    for t in types {
        let base = items_of(&mut c, &p.base.space_uid, *t).await?;
        let cmp = items_of(&mut c, &p.compare.space_uid, *t).await?;
        let uids: BTreeSet<&String> = base.keys().chain(cmp.keys()).collect();
        for uid in uids {
            let (b, k) = (base.get(uid), cmp.get(uid));
            if let Some(st) = branch_merge::status(b, k) {
                let title = k.or(b).map(|i| i.title.as_str()).unwrap_or_default();
                diff.push(
                    json!({"uid": uid, "title": title, "type": t.name(), "status": st.name()}),
                );
            }
        }
    }
    let total = diff.len() as i64;
    let page: Vec<Value> = diff
        .into_iter()
        .skip(skip as usize)
        .take(limit as usize)
        .collect();
    let next_url = (skip + limit < total).then(|| {
        format!(
            "{}/v3/stacks/branches_compare{suffix}?base_branch={}&compare_branch={}&skip={}&limit={limit}",
            public_base(state, headers),
            p.base.uid,
            p.compare.uid,
            skip + limit
        )
    });
    Ok(Json(json!({
        "branches": {"base_branch": p.base.uid, "compare_branch": p.compare.uid},
        "diff": page,
        "next_url": next_url,
    })))
}

async fn compare_one(
    state: &AppState,
    ctx: &StackCtx,
    q: &Query,
    t: ItemType,
    uid: &str,
) -> ApiResult<Json<Value>> {
    ctx.authorize(&Action::new(Module::Branches, Op::Read))?;
    let p = pair(state, ctx, q).await?;
    let read = Action::new(module_of(t), Op::Read).on_content_type(uid);
    authorize_on(ctx, &p.base.uid, &read)?;
    authorize_on(ctx, &p.compare.uid, &read)?;
    let mut c = state.db().reader().await?;
    let base = schemas::get(&mut c, &p.base.space_uid, kind_of(t), uid)
        .await?
        .map(|d| item_of(&d));
    let cmp = schemas::get(&mut c, &p.compare.space_uid, kind_of(t), uid)
        .await?
        .map(|d| item_of(&d));
    if base.is_none() && cmp.is_none() {
        return Err(not_found(label_of(t), uid));
    }
    let with_schemas = q.flag("include_schemas");
    let side = |me: Option<&Item>, other: Option<&Item>| match me {
        None => json!({"differences": [], "schema": null}),
        Some(me) => {
            // An item only this side has differs in every field.
            let nothing = Item {
                schema: json!([]),
                ..me.clone()
            };
            let differences = branch_merge::differences(me, other.unwrap_or(&nothing));
            json!({
                "differences": differences,
                "schema": if with_schemas { me.schema.clone() } else { Value::Null },
            })
        }
    };
    let status = branch_merge::status(base.as_ref(), cmp.as_ref())
        .map(Status::name)
        .unwrap_or("identical");
    Ok(Json(json!({
        "branches": {"base_branch": p.base.uid, "compare_branch": p.compare.uid},
        "diff": {
            "uid": uid,
            "type": t.name(),
            "status": status,
            "base_branch": side(base.as_ref(), cmp.as_ref()),
            "compare_branch": side(cmp.as_ref(), base.as_ref()),
        },
    })))
}

pub async fn compare_all(
    State(s): State<AppState>,
    ctx: StackCtx,
    headers: HeaderMap,
    q: Query,
) -> ApiResult<Json<Value>> {
    let types = [ItemType::GlobalField, ItemType::ContentType];
    compare_list(&s, &ctx, &headers, &q, &types, "").await
}

pub async fn compare_content_types(
    State(s): State<AppState>,
    ctx: StackCtx,
    headers: HeaderMap,
    q: Query,
) -> ApiResult<Json<Value>> {
    let types = [ItemType::ContentType];
    compare_list(&s, &ctx, &headers, &q, &types, "/content_types").await
}

pub async fn compare_global_fields(
    State(s): State<AppState>,
    ctx: StackCtx,
    headers: HeaderMap,
    q: Query,
) -> ApiResult<Json<Value>> {
    let types = [ItemType::GlobalField];
    compare_list(&s, &ctx, &headers, &q, &types, "/global_fields").await
}

pub async fn compare_content_type(
    State(s): State<AppState>,
    ctx: StackCtx,
    Path(uid): Path<String>,
    q: Query,
) -> ApiResult<Json<Value>> {
    compare_one(&s, &ctx, &q, ItemType::ContentType, &uid).await
}

pub async fn compare_global_field(
    State(s): State<AppState>,
    ctx: StackCtx,
    Path(uid): Path<String>,
    q: Query,
) -> ApiResult<Json<Value>> {
    compare_one(&s, &ctx, &q, ItemType::GlobalField, &uid).await
}

/// The strategy of each item: `item_merge_strategies` entries override the default.
struct Strategies {
    default: Strategy,
    items: HashMap<(ItemType, String), Strategy>,
    configuration: Value,
}

fn strategies(q: &Query, body: &JsonBody, p: &Pair) -> ApiResult<Strategies> {
    let mut errors = FieldErrors::new();
    let mut err = |k: String, m: String| errors.entry(k).or_default().push(m);
    let allowed = Strategy::NAMES.join(", ");
    let default_name = q.get("default_merge_strategy").unwrap_or_default().trim();
    let default = Strategy::parse(default_name);
    if default.is_none() {
        err(
            "default_merge_strategy".into(),
            format!("is required: one of {allowed}."),
        );
    }
    let mut items = HashMap::new();
    let listed = match body.0.get("item_merge_strategies") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => a.clone(),
        Some(_) => {
            err("item_merge_strategies".into(), "must be an array.".into());
            Vec::new()
        }
    };
    for (i, s) in listed.iter().enumerate() {
        let at = |k: &str| format!("item_merge_strategies[{i}].{k}");
        let get = |k: &str| s.get(k).and_then(Value::as_str).unwrap_or_default();
        let t = ItemType::parse(get("type"));
        let st = Strategy::parse(get("merge_strategy"));
        if get("uid").is_empty() {
            err(at("uid"), "is required.".into());
        }
        if t.is_none() {
            err(at("type"), "must be content_type or global_field.".into());
        }
        if st.is_none() {
            err(at("merge_strategy"), format!("must be one of {allowed}."));
        }
        if let (Some(t), Some(st)) = (t, st) {
            items.insert((t, get("uid").to_string()), st);
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(
            "The merge request is not valid.",
            errors,
        ));
    }
    let configuration = json!({
        "base_branch": p.base.uid,
        "compare_branch": p.compare.uid,
        "default_merge_strategy": default_name,
        "merge_comment": q.get("merge_comment").unwrap_or_default(),
        "no_revert": q.flag("no_revert"),
        "item_merge_strategies": listed,
    });
    Ok(Strategies {
        default: default.expect("checked above"),
        items,
        configuration,
    })
}

/// One change the merge makes to the base branch.
struct Change {
    t: ItemType,
    uid: String,
    status: Status,
    outcome: Outcome,
}

impl Change {
    fn op(&self) -> Op {
        match self.outcome {
            Outcome::Create(_) => Op::Create,
            Outcome::Replace(_) => Op::Update,
            _ => Op::Delete,
        }
    }

    fn done(&self) -> &'static str {
        match self.outcome {
            Outcome::Create(_) => "created",
            Outcome::Replace(_) => "updated",
            _ => "deleted",
        }
    }
}

fn schemas_after(
    base: &BTreeMap<String, Item>,
    changes: &[Change],
    t: ItemType,
) -> BTreeMap<String, Item> {
    let mut out = base.clone();
    for ch in changes.iter().filter(|c| c.t == t) {
        match &ch.outcome {
            Outcome::Create(i) | Outcome::Replace(i) => {
                out.insert(ch.uid.clone(), i.clone());
            }
            Outcome::Delete => {
                out.remove(&ch.uid);
            }
            Outcome::Keep => {}
        }
    }
    out
}

fn uses_global_field(v: &Value, uid: &str) -> bool {
    match v {
        Value::Object(o) => {
            (o.get("data_type").and_then(Value::as_str) == Some("global_field")
                && o.get("reference_to").and_then(Value::as_str) == Some(uid))
                || o.values().any(|x| uses_global_field(x, uid))
        }
        Value::Array(a) => a.iter().any(|x| uses_global_field(x, uid)),
        _ => false,
    }
}

/// Every reason the merged base branch would not be valid, keyed by `<type>.<uid>[.path]`.
async fn check(
    c: &mut Conn,
    space: &str,
    base: &HashMap<ItemType, BTreeMap<String, Item>>,
    changes: &[Change],
) -> ApiResult<FieldErrors> {
    let mut errors = FieldErrors::new();
    let globals_after = schemas_after(
        &base[&ItemType::GlobalField],
        changes,
        ItemType::GlobalField,
    );
    let types_after = schemas_after(
        &base[&ItemType::ContentType],
        changes,
        ItemType::ContentType,
    );
    let globals: HashMap<String, Value> = globals_after
        .iter()
        .map(|(k, v)| (k.clone(), v.schema.clone()))
        .collect();
    let lookup = |g: &str| globals.get(g).cloned();
    let base_globals: HashMap<String, Value> = base[&ItemType::GlobalField]
        .iter()
        .map(|(k, v)| (k.clone(), v.schema.clone()))
        .collect();
    let base_lookup = |g: &str| base_globals.get(g).cloned();
    for ch in changes {
        let key = format!("{}.{}", ch.t.name(), ch.uid);
        match &ch.outcome {
            Outcome::Create(i) | Outcome::Replace(i) => {
                let own = (ch.t == ItemType::GlobalField).then_some(ch.uid.as_str());
                let is_ct = ch.t == ItemType::ContentType;
                let new_fields = match content::parse_schema_of(own, &i.schema, is_ct, &lookup) {
                    Ok(f) => f,
                    Err(e) => {
                        for (path, msgs) in e {
                            errors
                                .entry(format!("{key}.{path}"))
                                .or_default()
                                .extend(msgs);
                        }
                        continue;
                    }
                };
                if is_ct && matches!(ch.outcome, Outcome::Replace(_)) {
                    let old = &base[&ItemType::ContentType][&ch.uid];
                    if entries::count_of_type(c, space, &ch.uid).await? > 0 {
                        if let Ok(old_fields) =
                            content::parse_schema_of(None, &old.schema, true, &base_lookup)
                        {
                            for b in content::breaking_changes(&old_fields, &new_fields, "") {
                                errors.entry(key.clone()).or_default().push(format!(
                                    "{b}: entries on the base branch hold data for it."
                                ));
                            }
                        }
                    }
                }
            }
            Outcome::Delete if ch.t == ItemType::ContentType => {
                let n = entries::count_of_type(c, space, &ch.uid).await?;
                if n > 0 {
                    errors.entry(key).or_default().push(format!(
                        "would be deleted with its {n} entries on the base branch; delete them first or merge with another strategy."
                    ));
                }
            }
            Outcome::Delete => {
                let users: Vec<&String> = types_after
                    .iter()
                    .chain(globals_after.iter())
                    .filter(|(_, i)| uses_global_field(&i.schema, &ch.uid))
                    .map(|(u, _)| u)
                    .collect();
                if !users.is_empty() {
                    errors.entry(key).or_default().push(format!(
                        "would be deleted while still used by: {}.",
                        users
                            .iter()
                            .map(|u| u.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ));
                }
            }
            Outcome::Keep => {}
        }
    }
    Ok(errors)
}

fn job_json(ctx: &StackCtx, m: &Merge) -> Value {
    json!({
        "uid": m.uid,
        "api_key": ctx.stack.api_key,
        "stack": ctx.stack.api_key,
        "created_at": m.created_at,
        "updated_at": m.updated_at,
        "created_by": m.created_by,
        "updated_by": m.created_by,
        "merge_details": {
            "base_branch": m.base_branch,
            "compare_branch": m.compare_branch,
            "status": m.status,
            "configuration": m.configuration,
            // The copy of the base branch made before the merge (`null` with `no_revert`).
            "backup_branch": m.configuration.get("backup_branch").cloned().unwrap_or(Value::Null),
        },
        "merge_summary": m.summary,
        "merge_comment": m.configuration.get("merge_comment").cloned().unwrap_or(json!("")),
        "merged_at": m.merged_at,
        "errors": m.errors,
    })
}

/// Records a merge that changed nothing (its own transaction: the merge's was rolled back)
/// and answers its refusal.
async fn fail(
    state: &AppState,
    ctx: &StackCtx,
    p: &Pair,
    configuration: &Value,
    message: &str,
    errors: FieldErrors,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let listed: Vec<Value> = errors
        .iter()
        .flat_map(|(k, msgs)| msgs.iter().map(move |m| json!({"item": k, "error": m})))
        .collect();
    let actor = ctx.actor();
    let mut tx = state.db().begin().await?;
    let m = branch_merges::insert(
        &mut tx,
        &ctx.stack.uid,
        &NewMerge {
            base_branch: &p.base.uid,
            compare_branch: &p.compare.uid,
            status: "failed",
            configuration,
            summary: &json!([]),
            errors: &Value::Array(listed),
        },
        &actor,
    )
    .await?;
    tx.commit().await?;
    let mut e = ApiError::validation(message, errors).with("merge_uid", json!(m.uid));
    e.code = MERGE_FAILED;
    Err(e)
}

/// The uid of a merge's backup branch: the base branch's uid (its first 7 characters) with
/// `_bkp_` and the first free number, e.g. `main_bkp_1` (at most 15 characters, as every
/// branch uid). Contentstack does not document its own naming.
async fn backup_uid(c: &mut Conn, ctx: &StackCtx, base: &str) -> ApiResult<String> {
    let stem: String = base.chars().take(7).collect();
    for n in 1..1000 {
        let uid = format!("{stem}_bkp_{n}");
        if branches::get(c, &ctx.stack.uid, &uid).await?.is_none()
            && branches::alias(c, &ctx.stack.uid, &uid).await?.is_none()
        {
            return Ok(uid);
        }
    }
    Err(ApiError::invalid(
        "no_revert",
        format!("every backup branch name of '{base}' is taken: delete old backups, or merge with no_revert=true."),
    ))
}

/// `POST /v3/stacks/branches_merge?base_branch=&compare_branch=&default_merge_strategy=&merge_comment=&no_revert=`
/// with `{"item_merge_strategies": [{"uid", "type", "merge_strategy"}]}`: merges the compare
/// branch's content types and global fields into the base branch and answers the merge job
/// (`complete`). Unless `no_revert=true`, the base branch is first copied to a backup branch
/// ([`backup_uid`]), named in `merge_details.backup_branch`, so the merge can be reverted by
/// pointing an alias at it.
pub async fn merge(
    State(state): State<AppState>,
    ctx: StackCtx,
    q: Query,
    body: JsonBody,
) -> ApiResult<(StatusCode, Json<Value>)> {
    ctx.authorize(&Action::new(Module::Branches, Op::Create))?;
    let p = pair(&state, &ctx, &q).await?;
    let st = strategies(&q, &body, &p)?;
    let actor = ctx.actor();
    let mut tx = state.db().begin().await?;
    branch_merges::lock_branch(&mut tx, &ctx.stack.uid, &p.base.uid).await?;
    let mut base = HashMap::new();
    let mut changes = Vec::new();
    for t in [ItemType::GlobalField, ItemType::ContentType] {
        let b = items_of(&mut tx, &p.base.space_uid, t).await?;
        let k = items_of(&mut tx, &p.compare.space_uid, t).await?;
        let uids: BTreeSet<String> = b.keys().chain(k.keys()).cloned().collect();
        for uid in uids {
            let (bi, ki) = (b.get(&uid), k.get(&uid));
            let Some(status) = branch_merge::status(bi, ki) else {
                continue;
            };
            let strategy = st
                .items
                .get(&(t, uid.clone()))
                .copied()
                .unwrap_or(st.default);
            let outcome = branch_merge::merge_item(strategy, bi, ki);
            if outcome != Outcome::Keep {
                changes.push(Change {
                    t,
                    uid,
                    status,
                    outcome,
                });
            }
        }
        base.insert(t, b);
    }
    for ch in &changes {
        ctx.authorize(&Action::new(module_of(ch.t), ch.op()).on_content_type(&ch.uid))?;
    }
    if changes.is_empty() {
        drop(tx);
        let errors = FieldErrors::from([(
            "merge".to_string(),
            vec!["No items available for merge.".to_string()],
        )]);
        return fail(
            &state,
            &ctx,
            &p,
            &st.configuration,
            "No items available for merge.",
            errors,
        )
        .await;
    }
    let errors = check(&mut tx, &p.base.space_uid, &base, &changes).await?;
    if !errors.is_empty() {
        drop(tx);
        return fail(
            &state,
            &ctx,
            &p,
            &st.configuration,
            "The merge would leave the base branch invalid; nothing was merged.",
            errors,
        )
        .await;
    }
    // The backup Contentstack makes of the base branch before merging into it, unless
    // `no_revert=true`: a full copy (as a branch create makes), in the merge's transaction.
    let mut configuration = st.configuration.clone();
    if !q.flag("no_revert") {
        let backup = backup_uid(&mut tx, &ctx, &p.base.uid).await?;
        let b = branches::create(&mut tx, &ctx.stack.uid, &backup, &p.base, &actor).await?;
        audit::record(
            &mut tx,
            &actor,
            ctx.audit("create", "branch", &b.uid, &b.uid),
        )
        .await?;
        configuration["backup_branch"] = json!(b.uid);
    }
    // Global fields first (content types may use them); deletions of content types before
    // the global fields they used.
    let order = |c: &Change| match (&c.outcome, c.t) {
        (Outcome::Delete, ItemType::ContentType) => 2,
        (Outcome::Delete, ItemType::GlobalField) => 3,
        (_, ItemType::GlobalField) => 0,
        (_, ItemType::ContentType) => 1,
    };
    changes.sort_by_key(order);
    let mut summary = Vec::new();
    for ch in &changes {
        let kind = kind_of(ch.t);
        let space = &p.base.space_uid;
        let conflict = |e: StoreError| -> ApiError { e.into() };
        match &ch.outcome {
            Outcome::Create(i) | Outcome::Replace(i) => {
                let w = SchemaWrite {
                    uid: &i.uid,
                    title: &i.title,
                    description: &i.description,
                    schema: &i.schema,
                    options: &i.options,
                };
                let d = if matches!(ch.outcome, Outcome::Create(_)) {
                    schemas::insert(&mut tx, space, kind, &w, &actor)
                        .await
                        .map_err(conflict)?
                } else {
                    schemas::update(&mut tx, space, kind, &w, &actor)
                        .await?
                        .ok_or_else(|| not_found(label_of(ch.t), &ch.uid))?
                };
                let action = if matches!(ch.outcome, Outcome::Create(_)) {
                    "create"
                } else {
                    "update"
                };
                audit::record(
                    &mut tx,
                    &actor,
                    ctx.audit(action, ch.t.name(), &d.uid, &d.title),
                )
                .await?;
            }
            Outcome::Delete => {
                if ch.t == ItemType::ContentType {
                    workflows::forget_content_type(&mut tx, space, &ch.uid).await?;
                    entries::delete_all_of_type(&mut tx, space, &ch.uid).await?;
                }
                schemas::delete(&mut tx, space, kind, &ch.uid).await?;
                audit::record(
                    &mut tx,
                    &actor,
                    ctx.audit("delete", ch.t.name(), &ch.uid, &ch.uid),
                )
                .await?;
            }
            Outcome::Keep => {}
        }
        summary.push(json!({
            "uid": ch.uid,
            "type": ch.t.name(),
            "status": ch.status.name(),
            "result": ch.done(),
        }));
    }
    let m = branch_merges::insert(
        &mut tx,
        &ctx.stack.uid,
        &NewMerge {
            base_branch: &p.base.uid,
            compare_branch: &p.compare.uid,
            status: "complete",
            configuration: &configuration,
            summary: &Value::Array(summary),
            errors: &json!([]),
        },
        &actor,
    )
    .await?;
    let title = format!("{} into {}", p.compare.uid, p.base.uid);
    audit::record(
        &mut tx,
        &actor,
        ctx.audit("merge", "branch", &m.uid, &title),
    )
    .await?;
    tx.commit().await?;
    let mut answer = job_json(&ctx, &m);
    answer["notice"] = json!("Branches merged successfully.");
    Ok((StatusCode::OK, Json(answer)))
}

/// `GET /v3/stacks/branches_queue`: the most recent merges first (`skip`, `limit`, at most 100).
pub async fn queue(
    State(state): State<AppState>,
    ctx: StackCtx,
    q: Query,
) -> ApiResult<Json<Value>> {
    ctx.authorize(&Action::new(Module::Branches, Op::Read))?;
    let (skip, limit, _) = q.page()?;
    let mut c = state.db().reader().await?;
    let all = branch_merges::recent(&mut c, &ctx.stack.uid, skip, limit).await?;
    Ok(Json(
        json!({ "queue": all.iter().map(|m| job_json(&ctx, m)).collect::<Vec<_>>() }),
    ))
}

/// `GET /v3/stacks/branches_queue/{uid}`: one merge, in the same `{"queue": [...]}` envelope
/// Contentstack answers.
pub async fn queue_item(
    State(state): State<AppState>,
    ctx: StackCtx,
    Path(uid): Path<String>,
) -> ApiResult<Json<Value>> {
    ctx.authorize(&Action::new(Module::Branches, Op::Read))?;
    let mut c = state.db().reader().await?;
    let m = branch_merges::get(&mut c, &ctx.stack.uid, &uid)
        .await?
        .ok_or_else(|| ApiError::not_found("merge job"))?;
    Ok(Json(json!({ "queue": [job_json(&ctx, &m)] })))
}

async fn branch_named(state: &AppState, ctx: &StackCtx, uid: &str) -> ApiResult<Branch> {
    let mut c = state.db().reader().await?;
    branches::get(&mut c, &ctx.stack.uid, uid)
        .await?
        .ok_or_else(|| {
            branch_error(
                format!("The branch '{uid}' doesn't exist in this stack."),
                "branch",
                "is not valid.",
            )
        })
}

/// `POST /v3/stacks/branches/{uid}/settings` `{"branch": {"settings": {…}}}`: replaces the
/// branch's settings (kept as sent; Headwater reads none of them).
pub async fn update_settings(
    State(state): State<AppState>,
    ctx: StackCtx,
    Path(uid): Path<String>,
    body: JsonBody,
) -> ApiResult<(StatusCode, Json<Value>)> {
    ctx.authorize(&Action::new(Module::Branches, Op::Update))?;
    let settings = match body.wrapped("branch")?.get("settings") {
        Some(Value::Object(o)) => Value::Object(o.clone()),
        _ => return Err(ApiError::invalid("branch.settings", "must be an object.")),
    };
    let b = branch_named(&state, &ctx, &uid).await?;
    let actor = ctx.actor();
    let mut tx = state.db().begin().await?;
    branch_merges::set_settings(&mut tx, &ctx.stack.uid, &b.uid, &settings, &actor).await?;
    audit::record(
        &mut tx,
        &actor,
        ctx.audit("update", "branch_settings", &b.uid, &b.uid),
    )
    .await?;
    tx.commit().await?;
    Ok(notice("Branch settings updated successfully."))
}

/// `GET /v3/stacks/branches/{uid}/settings` (a Headwater addition: Contentstack's clients
/// only write settings): `{"branch": {"uid", "settings"}}`.
pub async fn fetch_settings(
    State(state): State<AppState>,
    ctx: StackCtx,
    Path(uid): Path<String>,
) -> ApiResult<Json<Value>> {
    ctx.authorize(&Action::new(Module::Branches, Op::Read))?;
    let b = branch_named(&state, &ctx, &uid).await?;
    let mut c = state.db().reader().await?;
    let settings = branch_merges::settings(&mut c, &ctx.stack.uid, &b.uid).await?;
    let mut out = Map::new();
    out.insert("uid".into(), json!(b.uid));
    out.insert("settings".into(), settings);
    Ok(Json(json!({ "branch": out })))
}
