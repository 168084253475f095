//! Taxonomies (`/v3/taxonomies`) and their terms (`/v3/taxonomies/{uid}/terms`): a tree of
//! terms per taxonomy (at most [`MAX_DEPTH`] levels), moved, searched, exported and imported,
//! kept in the request's branch. Entries carry terms in their `taxonomies` field; a term an
//! entry carries is never deleted from under it.

use crate::auth::StackCtx;
use crate::body::{Fields, JsonBody, Query};
use crate::error::{ApiError, ApiResult};
use crate::routes::{created, listed, updated};
use crate::state::AppState;
use axum::extract::multipart::{Multipart, MultipartRejection};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use headwater_core::content::is_schema_uid;
use headwater_core::policy::{Action, Module, Op};
use headwater_core::taxonomy::{Tree, MAX_DEPTH};
use headwater_store::repo::taxonomies::{self as repo, Taxonomy, Term};
use headwater_store::repo::{audit, schemas, Actor, Conn};
use headwater_store::StoreError;
use serde_json::{json, Map, Value};
use std::collections::HashMap;

/// The most terms one taxonomy holds.
pub const MAX_TERMS: usize = 10_000;
/// The largest taxonomy file `POST /v3/taxonomies/import` reads.
const MAX_IMPORT_BYTES: usize = 8 * 1024 * 1024;

fn taxonomy_json(t: &Taxonomy) -> Value {
    json!({
        "uid": t.uid,
        "name": t.name,
        "description": t.description,
        "created_by": t.created_by,
        "updated_by": t.updated_by,
        "created_at": t.created_at,
        "updated_at": t.updated_at,
    })
}

fn term_json(t: &Term) -> Value {
    json!({
        "uid": t.uid,
        "name": t.name,
        "taxonomy_uid": t.taxonomy_uid,
        "parent_uid": t.parent_uid,
        "depth": t.depth,
        "order": t.order,
        "created_by": t.created_by,
        "updated_by": t.updated_by,
        "created_at": t.created_at,
        "updated_at": t.updated_at,
    })
}

fn pairs(terms: &[Term]) -> Vec<(String, Option<String>)> {
    terms
        .iter()
        .map(|t| (t.uid.clone(), t.parent_uid.clone()))
        .collect()
}

/// Each term's name and parent, by uid.
type Names = HashMap<String, (String, Option<String>)>;

/// What the `include_*` parameters add to each term: `children_count`,
/// `referenced_entries_count`, `ancestors` (the taxonomy, then the terms above, root first).
struct Extras {
    children: Option<HashMap<String, i64>>,
    entries: Option<HashMap<String, i64>>,
    ancestors: Option<(Taxonomy, Names)>,
}

impl Extras {
    async fn load(
        c: &mut Conn,
        space: &str,
        tax: &Taxonomy,
        all: &[Term],
        q: &Query,
    ) -> ApiResult<Extras> {
        let children = q.flag("include_children_count").then(|| {
            let mut m: HashMap<String, i64> = HashMap::new();
            for t in all {
                if let Some(p) = &t.parent_uid {
                    *m.entry(p.clone()).or_default() += 1;
                }
            }
            m
        });
        let entries = if q.flag("include_referenced_entries_count") {
            Some(
                repo::entries_per_term(c, space, &tax.uid)
                    .await?
                    .into_iter()
                    .collect(),
            )
        } else {
            None
        };
        let ancestors = q.flag("include_ancestors").then(|| {
            (
                tax.clone(),
                all.iter()
                    .map(|t| (t.uid.clone(), (t.name.clone(), t.parent_uid.clone())))
                    .collect(),
            )
        });
        Ok(Extras {
            children,
            entries,
            ancestors,
        })
    }

    fn render(&self, t: &Term) -> Value {
        let mut v = term_json(t);
        if let Some(m) = &self.children {
            v["children_count"] = json!(m.get(&t.uid).copied().unwrap_or(0));
        }
        if let Some(m) = &self.entries {
            v["referenced_entries_count"] = json!(m.get(&t.uid).copied().unwrap_or(0));
        }
        if let Some((tax, names)) = &self.ancestors {
            let mut chain = Vec::new();
            let mut at = t.parent_uid.clone();
            while let Some(p) = at {
                if chain.len() > MAX_DEPTH as usize {
                    break;
                }
                let (name, parent) = names.get(&p).cloned().unwrap_or_default();
                chain.push(json!({"uid": p, "name": name, "type": "TERM"}));
                at = parent;
            }
            chain.push(json!({"uid": tax.uid, "name": tax.name, "type": "TAXONOMY"}));
            chain.reverse();
            v["ancestors"] = Value::Array(chain);
        }
        v
    }
}

async fn taxonomy_of(c: &mut Conn, ctx: &StackCtx, uid: &str) -> ApiResult<Taxonomy> {
    repo::get(c, &ctx.space, uid)
        .await?
        .ok_or_else(|| ApiError::not_found("taxonomy"))
}

async fn term_of(c: &mut Conn, ctx: &StackCtx, tax: &str, uid: &str) -> ApiResult<Term> {
    repo::term(c, &ctx.space, tax, uid)
        .await?
        .ok_or_else(|| ApiError::not_found("term"))
}

fn uid_field(f: &Fields<'_>, what: &str) -> ApiResult<String> {
    let uid = f.req_str("uid")?;
    if !is_schema_uid(uid) || uid.len() > 100 {
        return Err(ApiError::invalid(
            &format!("{what}.uid"),
            "must start with a lowercase letter and hold only lowercase letters, digits and '_' (at most 100).",
        ));
    }
    Ok(uid.to_string())
}

fn name_field(f: &Fields<'_>, what: &str, current: Option<&str>) -> ApiResult<String> {
    match (f.opt_str("name")?, current) {
        (Some(n), _) if !n.trim().is_empty() && n.chars().count() <= 255 => Ok(n.trim().into()),
        (None, Some(c)) => Ok(c.to_string()),
        _ => Err(ApiError::invalid(
            &format!("{what}.name"),
            "is required (at most 255 characters).",
        )),
    }
}

fn order_field(map: &Map<String, Value>) -> ApiResult<Option<i64>> {
    match map.get("order") {
        None | Some(Value::Null) => Ok(None),
        Some(v) => match v.as_i64() {
            Some(n) if n >= 1 => Ok(Some(n)),
            _ => Err(ApiError::invalid(
                "term.order",
                "must be a whole number from 1.",
            )),
        },
    }
}

// ---- taxonomies ----

pub async fn list(
    State(state): State<AppState>,
    ctx: StackCtx,
    q: Query,
) -> ApiResult<Json<Value>> {
    ctx.authorize(&Action::new(Module::Taxonomies, Op::Read))?;
    let (skip, limit, _) = q.page()?;
    let mut c = state.db().reader().await?;
    let all = repo::list(&mut c, &ctx.space).await?;
    let counts: HashMap<String, i64> = if q.flag("include_terms_count") {
        repo::term_counts(&mut c, &ctx.space)
            .await?
            .into_iter()
            .collect()
    } else {
        HashMap::new()
    };
    let typeahead = q
        .get("typeahead")
        .or(q.get("search"))
        .map(str::to_lowercase);
    let matching: Vec<&Taxonomy> = all
        .iter()
        .filter(|t| {
            typeahead.as_ref().is_none_or(|s| {
                t.name.to_lowercase().contains(s) || t.uid.to_lowercase().contains(s)
            })
        })
        .collect();
    let n = matching.len() as i64;
    let mut items = Vec::new();
    for t in matching
        .into_iter()
        .skip(skip as usize)
        .take(limit as usize)
    {
        let mut v = taxonomy_json(t);
        if q.flag("include_terms_count") {
            v["terms_count"] = json!(counts.get(&t.uid).copied().unwrap_or(0));
        }
        if q.flag("include_referenced_entries_count") {
            v["referenced_entries_count"] =
                json!(repo::entries_using(&mut c, &ctx.space, &t.uid, None).await?);
        }
        items.push(v);
    }
    Ok(listed(
        "taxonomies",
        items,
        q.flag("include_count").then_some(n),
    ))
}

pub async fn fetch(
    State(state): State<AppState>,
    ctx: StackCtx,
    Path(uid): Path<String>,
    q: Query,
) -> ApiResult<Json<Value>> {
    ctx.authorize(&Action::new(Module::Taxonomies, Op::Read))?;
    let mut c = state.db().reader().await?;
    let t = taxonomy_of(&mut c, &ctx, &uid).await?;
    let mut v = taxonomy_json(&t);
    if q.flag("include_terms_count") {
        v["terms_count"] = json!(repo::terms(&mut c, &ctx.space, &uid).await?.len());
    }
    if q.flag("include_referenced_terms_count") || q.flag("include_referenced_entries_count") {
        let per_term = repo::entries_per_term(&mut c, &ctx.space, &uid).await?;
        v["referenced_terms_count"] = json!(per_term.len());
        v["referenced_entries_count"] =
            json!(repo::entries_using(&mut c, &ctx.space, &uid, None).await?);
    }
    Ok(Json(json!({ "taxonomy": v })))
}

pub async fn create(
    State(state): State<AppState>,
    ctx: StackCtx,
    body: JsonBody,
) -> ApiResult<(StatusCode, Json<Value>)> {
    ctx.authorize(&Action::new(Module::Taxonomies, Op::Create))?;
    let map = body.wrapped("taxonomy")?;
    let f = Fields::new(map, "taxonomy");
    let uid = uid_field(&f, "taxonomy")?;
    let name = name_field(&f, "taxonomy", None)?;
    let description = f.opt_str("description")?.unwrap_or_default().to_string();
    let actor = ctx.actor();
    let mut tx = state.db().begin().await?;
    let t = insert_taxonomy(&mut tx, &ctx, &actor, &uid, &name, &description).await?;
    tx.commit().await?;
    Ok(created(
        "Taxonomy created successfully.",
        "taxonomy",
        taxonomy_json(&t),
    ))
}

async fn insert_taxonomy(
    c: &mut Conn,
    ctx: &StackCtx,
    actor: &Actor,
    uid: &str,
    name: &str,
    description: &str,
) -> ApiResult<Taxonomy> {
    let t = match repo::insert(c, &ctx.space, uid, name, description, actor).await {
        Ok(t) => t,
        Err(StoreError::Conflict(_)) => {
            return Err(ApiError::invalid(
                "taxonomy.uid",
                format!("a taxonomy with uid '{uid}' already exists."),
            ))
        }
        Err(e) => return Err(e.into()),
    };
    audit::record(c, actor, ctx.audit("create", "taxonomy", &t.uid, &t.name)).await?;
    Ok(t)
}

pub async fn update(
    State(state): State<AppState>,
    ctx: StackCtx,
    Path(uid): Path<String>,
    body: JsonBody,
) -> ApiResult<(StatusCode, Json<Value>)> {
    ctx.authorize(&Action::new(Module::Taxonomies, Op::Update))?;
    let map = body.wrapped("taxonomy")?;
    let f = Fields::new(map, "taxonomy");
    let actor = ctx.actor();
    let mut tx = state.db().begin().await?;
    let cur = taxonomy_of(&mut tx, &ctx, &uid).await?;
    if let Some(u) = f.opt_str("uid")? {
        if u != cur.uid {
            return Err(ApiError::invalid("taxonomy.uid", "cannot be changed."));
        }
    }
    let name = name_field(&f, "taxonomy", Some(&cur.name))?;
    let description = f
        .opt_str("description")?
        .unwrap_or(&cur.description)
        .to_string();
    let t = repo::update(&mut tx, &ctx.space, &uid, &name, &description, &actor)
        .await?
        .ok_or_else(|| ApiError::not_found("taxonomy"))?;
    audit::record(
        &mut tx,
        &actor,
        ctx.audit("update", "taxonomy", &t.uid, &t.name),
    )
    .await?;
    tx.commit().await?;
    Ok(updated(
        "Taxonomy updated successfully.",
        "taxonomy",
        taxonomy_json(&t),
    ))
}

/// The content types whose taxonomy field names a taxonomy.
async fn content_types_using(c: &mut Conn, space: &str, uid: &str) -> ApiResult<Vec<String>> {
    let (types, _) = schemas::list(c, space, schemas::Kind::ContentType, 0, i64::MAX).await?;
    Ok(types
        .into_iter()
        .filter(|t| {
            crate::lookup::taxonomies::named_taxonomies(&t.schema)
                .iter()
                .any(|n| n == uid)
        })
        .map(|t| t.uid)
        .collect())
}

/// Refused while entries carry its terms; without `force`, also while content types name it.
pub async fn delete(
    State(state): State<AppState>,
    ctx: StackCtx,
    Path(uid): Path<String>,
    q: Query,
) -> ApiResult<StatusCode> {
    ctx.authorize(&Action::new(Module::Taxonomies, Op::Delete))?;
    let actor = ctx.actor();
    let mut tx = state.db().begin().await?;
    let t = taxonomy_of(&mut tx, &ctx, &uid).await?;
    let used = repo::entries_using(&mut tx, &ctx.space, &uid, None).await?;
    if used > 0 {
        return Err(ApiError::invalid(
            "taxonomy",
            format!("{used} entries carry terms of '{uid}': remove the terms from them first."),
        ));
    }
    let types = content_types_using(&mut tx, &ctx.space, &uid).await?;
    if !types.is_empty() && !q.flag("force") {
        return Err(ApiError::invalid(
            "taxonomy",
            format!(
                "the content types {} use '{uid}': delete with force=true to delete it anyway.",
                types.join(", ")
            ),
        ));
    }
    repo::delete(&mut tx, &ctx.space, &uid).await?;
    audit::record(
        &mut tx,
        &actor,
        ctx.audit("delete", "taxonomy", &t.uid, &t.name),
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `{"taxonomy": {uid, name, description}, "terms": [{uid, name, parent_uid, order}]}`, terms
/// parents first, siblings in order.
pub async fn export(
    State(state): State<AppState>,
    ctx: StackCtx,
    Path(uid): Path<String>,
    q: Query,
) -> ApiResult<Json<Value>> {
    ctx.authorize(&Action::new(Module::Taxonomies, Op::Read))?;
    if let Some(f) = q.get("format").filter(|f| *f != "json") {
        return Err(ApiError::invalid(
            "format",
            format!("'{f}' is not built: taxonomies export as json."),
        ));
    }
    let mut c = state.db().reader().await?;
    let t = taxonomy_of(&mut c, &ctx, &uid).await?;
    let terms = repo::terms(&mut c, &ctx.space, &uid).await?;
    let tree_pairs = pairs(&terms);
    let tree = Tree::new(&tree_pairs);
    let by_uid: HashMap<&str, &Term> = terms.iter().map(|t| (t.uid.as_str(), t)).collect();
    let mut ordered: Vec<Value> = Vec::new();
    for root in terms.iter().filter(|t| t.parent_uid.is_none()) {
        for uid in std::iter::once(root.uid.as_str()).chain(
            tree.descendants(&root.uid, None)
                .into_iter()
                .map(|(u, _)| u),
        ) {
            let t = by_uid[uid];
            ordered.push(
                json!({"uid": t.uid, "name": t.name, "parent_uid": t.parent_uid, "order": t.order}),
            );
        }
    }
    Ok(Json(json!({
        "taxonomy": {"uid": t.uid, "name": t.name, "description": t.description},
        "terms": ordered,
    })))
}

/// Creates a taxonomy with its terms from an exported file (multipart field `taxonomy`).
pub async fn import(
    State(state): State<AppState>,
    ctx: StackCtx,
    mp: Result<Multipart, MultipartRejection>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    ctx.authorize(&Action::new(Module::Taxonomies, Op::Create))?;
    let mut mp = mp.map_err(|e| {
        ApiError::bad_body(format!(
            "Send the taxonomy file as multipart/form-data (field 'taxonomy'): {e}"
        ))
    })?;
    let mut file: Option<Vec<u8>> = None;
    loop {
        let mut field = match mp.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => {
                return Err(ApiError::bad_body(format!(
                    "The multipart body is malformed: {e}"
                )))
            }
        };
        let is_file = field.name() == Some("taxonomy");
        let mut buf = Vec::new();
        loop {
            match field.chunk().await {
                Ok(Some(chunk)) => {
                    if buf.len() + chunk.len() > MAX_IMPORT_BYTES {
                        return Err(ApiError::invalid(
                            "taxonomy",
                            format!("the file is larger than {MAX_IMPORT_BYTES} bytes."),
                        ));
                    }
                    if is_file {
                        buf.extend_from_slice(&chunk);
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    return Err(ApiError::bad_body(format!(
                        "The multipart body is malformed: {e}"
                    )))
                }
            }
        }
        if is_file {
            file = Some(buf);
        }
    }
    let bytes = file.ok_or_else(|| {
        ApiError::invalid(
            "taxonomy",
            "send the file in the multipart field 'taxonomy'.",
        )
    })?;
    let doc: Value = serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::invalid("taxonomy", format!("the file is not JSON: {e}")))?;
    let tax = doc
        .get("taxonomy")
        .and_then(Value::as_object)
        .ok_or_else(|| ApiError::invalid("taxonomy", "the file has no 'taxonomy' object."))?;
    let f = Fields::new(tax, "taxonomy");
    let uid = uid_field(&f, "taxonomy")?;
    let name = name_field(&f, "taxonomy", None)?;
    let description = f.opt_str("description")?.unwrap_or_default().to_string();
    let items = match doc.get("terms") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => a.clone(),
        Some(_) => return Err(ApiError::invalid("terms", "must be an array.")),
    };
    if items.len() > MAX_TERMS {
        return Err(ApiError::invalid(
            "terms",
            format!("a taxonomy holds at most {MAX_TERMS} terms."),
        ));
    }
    let actor = ctx.actor();
    let mut tx = state.db().begin().await?;
    let t = insert_taxonomy(&mut tx, &ctx, &actor, &uid, &name, &description).await?;
    // Terms in file order; each parent must come before its children.
    let mut depth_of: HashMap<String, i64> = HashMap::new();
    for (i, item) in items.iter().enumerate() {
        let map = item
            .as_object()
            .ok_or_else(|| ApiError::invalid(&format!("terms[{i}]"), "must be an object."))?;
        let f = Fields::new(map, "term");
        let term_uid = uid_field(&f, "term")?;
        let term_name = name_field(&f, "term", None)?;
        let parent = f.opt_str("parent_uid")?.map(str::to_string);
        let depth = match &parent {
            None => 1,
            Some(p) => match depth_of.get(p) {
                Some(d) => d + 1,
                None => {
                    return Err(ApiError::invalid(
                        &format!("terms[{i}].parent_uid"),
                        format!("'{p}' is not a term listed before '{term_uid}'."),
                    ))
                }
            },
        };
        if depth > MAX_DEPTH {
            return Err(ApiError::invalid(
                &format!("terms[{i}].parent_uid"),
                format!("terms nest at most {MAX_DEPTH} levels deep."),
            ));
        }
        match repo::insert_term(
            &mut tx,
            &ctx.space,
            &uid,
            &term_uid,
            &term_name,
            parent.as_deref(),
            depth,
            None,
            &actor,
        )
        .await
        {
            Ok(_) => {}
            Err(StoreError::Conflict(_)) => {
                return Err(ApiError::invalid(
                    &format!("terms[{i}].uid"),
                    format!("'{term_uid}' is listed twice."),
                ))
            }
            Err(e) => return Err(e.into()),
        }
        depth_of.insert(term_uid, depth);
    }
    tx.commit().await?;
    let mut v = taxonomy_json(&t);
    v["terms_count"] = json!(items.len());
    Ok(created("Taxonomy imported successfully.", "taxonomy", v))
}

// ---- terms ----

/// The terms of a taxonomy (parents before children, siblings in order), down to `depth`
/// levels from the top (all without it); `typeahead`/`search` keeps those whose name or uid
/// contains the text. `GET /v3/taxonomies/$all/terms?typeahead=` searches every taxonomy.
pub async fn list_terms(
    State(state): State<AppState>,
    ctx: StackCtx,
    Path(tax): Path<String>,
    q: Query,
) -> ApiResult<Json<Value>> {
    ctx.authorize(&Action::new(Module::Taxonomies, Op::Read))?;
    let (skip, limit, _) = q.page()?;
    let typeahead = q
        .get("typeahead")
        .or(q.get("search"))
        .map(str::to_lowercase);
    let mut c = state.db().reader().await?;
    if tax == "$all" {
        let text = typeahead.unwrap_or_default();
        let found = repo::search(&mut c, &ctx.space, &text, skip, limit).await?;
        let items: Vec<Value> = found.iter().map(term_json).collect();
        let n = items.len() as i64;
        return Ok(listed("terms", items, q.flag("include_count").then_some(n)));
    }
    let t = taxonomy_of(&mut c, &ctx, &tax).await?;
    let all = repo::terms(&mut c, &ctx.space, &tax).await?;
    let depth = match q.get("depth") {
        None | Some("") => None,
        Some(_) => Some(q.int("depth", 0, MAX_DEPTH)?),
    };
    let tree_pairs = pairs(&all);
    let tree = Tree::new(&tree_pairs);
    let by_uid: HashMap<&str, &Term> = all.iter().map(|t| (t.uid.as_str(), t)).collect();
    let mut ordered: Vec<&Term> = Vec::new();
    for root in all.iter().filter(|t| t.parent_uid.is_none()) {
        ordered.push(root);
        for (u, _) in tree.descendants(&root.uid, None) {
            ordered.push(by_uid[u]);
        }
    }
    let matching: Vec<&Term> = ordered
        .into_iter()
        .filter(|t| depth.is_none_or(|d| d == 0 || t.depth <= d))
        .filter(|t| {
            typeahead.as_ref().is_none_or(|s| {
                t.name.to_lowercase().contains(s) || t.uid.to_lowercase().contains(s)
            })
        })
        .collect();
    let extras = Extras::load(&mut c, &ctx.space, &t, &all, &q).await?;
    let n = matching.len() as i64;
    let items = matching
        .into_iter()
        .skip(skip as usize)
        .take(limit as usize)
        .map(|t| extras.render(t))
        .collect();
    Ok(listed("terms", items, q.flag("include_count").then_some(n)))
}

pub async fn fetch_term(
    State(state): State<AppState>,
    ctx: StackCtx,
    Path((tax, uid)): Path<(String, String)>,
    q: Query,
) -> ApiResult<Json<Value>> {
    ctx.authorize(&Action::new(Module::Taxonomies, Op::Read))?;
    let mut c = state.db().reader().await?;
    let t = taxonomy_of(&mut c, &ctx, &tax).await?;
    let term = term_of(&mut c, &ctx, &tax, &uid).await?;
    let all = repo::terms(&mut c, &ctx.space, &tax).await?;
    let extras = Extras::load(&mut c, &ctx.space, &t, &all, &q).await?;
    Ok(Json(json!({ "term": extras.render(&term) })))
}

pub async fn create_term(
    State(state): State<AppState>,
    ctx: StackCtx,
    Path(tax): Path<String>,
    body: JsonBody,
) -> ApiResult<(StatusCode, Json<Value>)> {
    ctx.authorize(&Action::new(Module::Taxonomies, Op::Create))?;
    let map = body.wrapped("term")?;
    let f = Fields::new(map, "term");
    let uid = uid_field(&f, "term")?;
    let name = name_field(&f, "term", None)?;
    let parent = f.opt_str("parent_uid")?.filter(|p| !p.is_empty());
    let order = order_field(map)?;
    let actor = ctx.actor();
    let mut tx = state.db().begin().await?;
    taxonomy_of(&mut tx, &ctx, &tax).await?;
    let count = repo::terms(&mut tx, &ctx.space, &tax).await?.len();
    if count >= MAX_TERMS {
        return Err(ApiError::invalid(
            "term",
            format!("a taxonomy holds at most {MAX_TERMS} terms."),
        ));
    }
    let depth = match parent {
        None => 1,
        Some(p) => match repo::term(&mut tx, &ctx.space, &tax, p).await? {
            Some(pt) => pt.depth + 1,
            None => {
                return Err(ApiError::invalid(
                    "term.parent_uid",
                    format!("'{p}' is not a term of the taxonomy '{tax}'."),
                ))
            }
        },
    };
    if depth > MAX_DEPTH {
        return Err(ApiError::invalid(
            "term.parent_uid",
            format!("terms nest at most {MAX_DEPTH} levels deep."),
        ));
    }
    let term = match repo::insert_term(
        &mut tx, &ctx.space, &tax, &uid, &name, parent, depth, order, &actor,
    )
    .await
    {
        Ok(t) => t,
        Err(StoreError::Conflict(_)) => {
            return Err(ApiError::invalid(
                "term.uid",
                format!("a term with uid '{uid}' already exists in '{tax}'."),
            ))
        }
        Err(e) => return Err(e.into()),
    };
    audit::record(
        &mut tx,
        &actor,
        ctx.audit("create", "term", &term.uid, &term.name),
    )
    .await?;
    tx.commit().await?;
    Ok(created(
        "Term created successfully.",
        "term",
        term_json(&term),
    ))
}

/// Renames a term. Its place in the tree changes only through `move`.
pub async fn update_term(
    State(state): State<AppState>,
    ctx: StackCtx,
    Path((tax, uid)): Path<(String, String)>,
    body: JsonBody,
) -> ApiResult<(StatusCode, Json<Value>)> {
    ctx.authorize(&Action::new(Module::Taxonomies, Op::Update))?;
    let map = body.wrapped("term")?;
    let f = Fields::new(map, "term");
    let actor = ctx.actor();
    let mut tx = state.db().begin().await?;
    taxonomy_of(&mut tx, &ctx, &tax).await?;
    let cur = term_of(&mut tx, &ctx, &tax, &uid).await?;
    if f.opt_str("uid")?.is_some_and(|u| u != cur.uid) {
        return Err(ApiError::invalid("term.uid", "cannot be changed."));
    }
    if map.contains_key("parent_uid")
        && f.opt_str("parent_uid")?.filter(|p| !p.is_empty()) != cur.parent_uid.as_deref()
    {
        return Err(ApiError::invalid(
            "term.parent_uid",
            "changes through PUT /v3/taxonomies/{uid}/terms/{term}/move.",
        ));
    }
    let name = name_field(&f, "term", Some(&cur.name))?;
    let term = repo::rename_term(&mut tx, &ctx.space, &tax, &uid, &name, &actor)
        .await?
        .ok_or_else(|| ApiError::not_found("term"))?;
    audit::record(
        &mut tx,
        &actor,
        ctx.audit("update", "term", &term.uid, &term.name),
    )
    .await?;
    tx.commit().await?;
    Ok(updated(
        "Term updated successfully.",
        "term",
        term_json(&term),
    ))
}

/// `{"term": {"parent_uid": uid|null, "order": n}}`: under another parent (or to the top),
/// at a place among the siblings. Refused when the new parent is the term itself or below it,
/// is not a term of the taxonomy, or the subtree would nest deeper than [`MAX_DEPTH`].
pub async fn move_term(
    State(state): State<AppState>,
    ctx: StackCtx,
    Path((tax, uid)): Path<(String, String)>,
    body: JsonBody,
) -> ApiResult<(StatusCode, Json<Value>)> {
    ctx.authorize(&Action::new(Module::Taxonomies, Op::Update))?;
    let map = body.wrapped("term")?;
    let f = Fields::new(map, "term");
    let order = order_field(map)?;
    let actor = ctx.actor();
    let mut tx = state.db().begin().await?;
    taxonomy_of(&mut tx, &ctx, &tax).await?;
    let cur = term_of(&mut tx, &ctx, &tax, &uid).await?;
    let parent = if map.contains_key("parent_uid") {
        f.opt_str("parent_uid")?
            .filter(|p| !p.is_empty())
            .map(str::to_string)
    } else {
        cur.parent_uid.clone()
    };
    let all = repo::terms(&mut tx, &ctx.space, &tax).await?;
    let tree_pairs = pairs(&all);
    let tree = Tree::new(&tree_pairs);
    let new_depth = match &parent {
        None => 1,
        Some(p) => {
            if !tree.contains(p) {
                return Err(ApiError::invalid(
                    "term.parent_uid",
                    format!("'{p}' is not a term of the taxonomy '{tax}'."),
                ));
            }
            if tree.is_self_or_below(&uid, p) {
                return Err(ApiError::invalid(
                    "term.parent_uid",
                    format!(
                        "'{p}' is '{uid}' itself or below it: a term cannot move under itself."
                    ),
                ));
            }
            all.iter()
                .find(|t| &t.uid == p)
                .map(|t| t.depth)
                .unwrap_or(0)
                + 1
        }
    };
    if new_depth + i64::from(tree.height(&uid)) > MAX_DEPTH {
        return Err(ApiError::invalid(
            "term.parent_uid",
            format!("the moved terms would nest deeper than {MAX_DEPTH} levels."),
        ));
    }
    let below: Vec<String> = tree
        .descendants(&uid, None)
        .into_iter()
        .map(|(u, _)| u.to_string())
        .collect();
    let term = repo::move_term(
        &mut tx,
        &ctx.space,
        &cur,
        parent.as_deref(),
        order,
        &below,
        new_depth - cur.depth,
        &actor,
    )
    .await?;
    audit::record(
        &mut tx,
        &actor,
        ctx.audit("move", "term", &term.uid, &term.name),
    )
    .await?;
    tx.commit().await?;
    Ok(updated(
        "Term moved successfully.",
        "term",
        term_json(&term),
    ))
}

/// Refused while entries carry the term or a term below it; a term with children is deleted
/// (with them) only with `force=true`.
pub async fn delete_term(
    State(state): State<AppState>,
    ctx: StackCtx,
    Path((tax, uid)): Path<(String, String)>,
    q: Query,
) -> ApiResult<StatusCode> {
    ctx.authorize(&Action::new(Module::Taxonomies, Op::Delete))?;
    let actor = ctx.actor();
    let mut tx = state.db().begin().await?;
    taxonomy_of(&mut tx, &ctx, &tax).await?;
    let cur = term_of(&mut tx, &ctx, &tax, &uid).await?;
    let all = repo::terms(&mut tx, &ctx.space, &tax).await?;
    let tree_pairs = pairs(&all);
    let below: Vec<String> = Tree::new(&tree_pairs)
        .descendants(&uid, None)
        .into_iter()
        .map(|(u, _)| u.to_string())
        .collect();
    if !below.is_empty() && !q.flag("force") {
        return Err(ApiError::invalid(
            "term",
            format!(
                "'{uid}' has {} terms below it: delete with force=true to delete them too.",
                below.len()
            ),
        ));
    }
    let mut affected = below.clone();
    affected.push(uid.clone());
    let used = repo::entries_using(&mut tx, &ctx.space, &tax, Some(&affected)).await?;
    if used > 0 {
        return Err(ApiError::invalid(
            "term",
            format!("{used} entries carry '{uid}' or a term below it: remove it from them first."),
        ));
    }
    repo::delete_terms(&mut tx, &ctx.space, &cur, &below).await?;
    audit::record(
        &mut tx,
        &actor,
        ctx.audit("delete", "term", &cur.uid, &cur.name),
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The terms above a term, root first.
pub async fn ancestors(
    State(state): State<AppState>,
    ctx: StackCtx,
    Path((tax, uid)): Path<(String, String)>,
    q: Query,
) -> ApiResult<Json<Value>> {
    ctx.authorize(&Action::new(Module::Taxonomies, Op::Read))?;
    let mut c = state.db().reader().await?;
    let t = taxonomy_of(&mut c, &ctx, &tax).await?;
    term_of(&mut c, &ctx, &tax, &uid).await?;
    let all = repo::terms(&mut c, &ctx.space, &tax).await?;
    let tree_pairs = pairs(&all);
    let tree = Tree::new(&tree_pairs);
    let by_uid: HashMap<&str, &Term> = all.iter().map(|t| (t.uid.as_str(), t)).collect();
    let extras = Extras::load(&mut c, &ctx.space, &t, &all, &q).await?;
    let items: Vec<Value> = tree
        .ancestors(&uid)
        .into_iter()
        .map(|u| extras.render(by_uid[u]))
        .collect();
    let n = items.len() as i64;
    Ok(listed("terms", items, q.flag("include_count").then_some(n)))
}

/// The terms below a term (parents before children), down to `depth` levels below it (all
/// without it).
pub async fn descendants(
    State(state): State<AppState>,
    ctx: StackCtx,
    Path((tax, uid)): Path<(String, String)>,
    q: Query,
) -> ApiResult<Json<Value>> {
    ctx.authorize(&Action::new(Module::Taxonomies, Op::Read))?;
    let (skip, limit, _) = q.page()?;
    let depth = match q.get("depth") {
        None | Some("") => None,
        Some(_) => Some(q.int("depth", 0, MAX_DEPTH)? as u32).filter(|d| *d > 0),
    };
    let mut c = state.db().reader().await?;
    let t = taxonomy_of(&mut c, &ctx, &tax).await?;
    term_of(&mut c, &ctx, &tax, &uid).await?;
    let all = repo::terms(&mut c, &ctx.space, &tax).await?;
    let tree_pairs = pairs(&all);
    let tree = Tree::new(&tree_pairs);
    let by_uid: HashMap<&str, &Term> = all.iter().map(|t| (t.uid.as_str(), t)).collect();
    let extras = Extras::load(&mut c, &ctx.space, &t, &all, &q).await?;
    let found = tree.descendants(&uid, depth);
    let n = found.len() as i64;
    let items: Vec<Value> = found
        .into_iter()
        .skip(skip as usize)
        .take(limit as usize)
        .map(|(u, _)| extras.render(by_uid[u]))
        .collect();
    Ok(listed("terms", items, q.flag("include_count").then_some(n)))
}
