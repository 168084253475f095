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
use headwater_store::repo::publish_jobs::{self, NewItem, NewJob};
use headwater_store::repo::taxonomies::{self as repo, Localization, Taxonomy, Term};
use headwater_store::repo::{audit, locales, schemas, Actor, Conn};
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
    /// The locale each term is rendered in: the asked locale where it is localized there, the
    /// master locale elsewhere (its names already applied by [`Loc::terms`]).
    locale: String,
    master_locale: String,
    localized: std::collections::HashSet<String>,
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
        loc: &Loc,
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
            locale: loc.locale.clone(),
            master_locale: loc.master_locale.clone(),
            localized: loc.names.keys().cloned().collect(),
            children,
            entries,
            ancestors,
        })
    }

    fn render(&self, t: &Term) -> Value {
        let mut v = term_json(t);
        v["locale"] = if self.locale == self.master_locale || self.localized.contains(&t.uid) {
            json!(self.locale)
        } else {
            json!(self.master_locale)
        };
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

/// The locale a read or write names (`?locale=`, the master locale without it), checked
/// against the branch's locales.
async fn locale_param(c: &mut Conn, ctx: &StackCtx, q: &Query) -> ApiResult<String> {
    match q.get("locale").filter(|l| !l.is_empty()) {
        None => Ok(ctx.stack.master_locale.clone()),
        Some(code) => {
            let code = code.to_lowercase();
            if locales::by_code(c, &ctx.space, &code).await?.is_none() {
                return Err(ApiError::invalid(
                    "locale",
                    format!("'{code}' is not a locale of this stack."),
                ));
            }
            Ok(code)
        }
    }
}

/// A taxonomy's localized names in one locale: an item without a localization there keeps
/// its master-locale values (the fallback).
struct Loc {
    locale: String,
    master_locale: String,
    /// By term uid; `""` is the taxonomy itself.
    names: HashMap<String, Localization>,
}

impl Loc {
    async fn load(c: &mut Conn, ctx: &StackCtx, tax: &str, locale: &str) -> ApiResult<Loc> {
        let names = if locale == ctx.stack.master_locale {
            HashMap::new()
        } else {
            repo::localizations(c, &ctx.space, tax, Some(locale), None)
                .await?
                .into_iter()
                .map(|l| (l.term_uid.clone(), l))
                .collect()
        };
        Ok(Loc {
            locale: locale.to_string(),
            master_locale: ctx.stack.master_locale.clone(),
            names,
        })
    }

    async fn from_query(c: &mut Conn, ctx: &StackCtx, tax: &str, q: &Query) -> ApiResult<Loc> {
        let locale = locale_param(c, ctx, q).await?;
        Loc::load(c, ctx, tax, &locale).await
    }

    /// The taxonomy in this locale, with the locale its values come from.
    fn taxonomy(&self, t: &Taxonomy) -> Value {
        let mut t = t.clone();
        let locale = match self.names.get("") {
            Some(l) => {
                t.name = l.name.clone();
                t.description = l.description.clone();
                &self.locale
            }
            None if self.locale == self.master_locale => &self.locale,
            None => &self.master_locale,
        };
        let mut v = taxonomy_json(&t);
        v["locale"] = json!(locale);
        v
    }

    /// Applies the localized names to the terms.
    fn terms(&self, all: &mut [Term]) {
        for t in all {
            if let Some(l) = self.names.get(&t.uid) {
                t.name = l.name.clone();
            }
        }
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
    let locale = locale_param(&mut c, &ctx, &q).await?;
    let mut all = Vec::new();
    for t in repo::list(&mut c, &ctx.space).await? {
        let v = Loc::load(&mut c, &ctx, &t.uid, &locale).await?.taxonomy(&t);
        all.push((t, v));
    }
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
    let matching: Vec<&(Taxonomy, Value)> = all
        .iter()
        .filter(|(t, v)| {
            let name = v["name"].as_str().unwrap_or(&t.name).to_lowercase();
            typeahead
                .as_ref()
                .is_none_or(|s| name.contains(s) || t.uid.to_lowercase().contains(s))
        })
        .collect();
    let n = matching.len() as i64;
    let mut items = Vec::new();
    for t in matching
        .into_iter()
        .skip(skip as usize)
        .take(limit as usize)
    {
        let (t, mut v) = (&t.0, t.1.clone());
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
    let mut v = Loc::from_query(&mut c, &ctx, &uid, &q).await?.taxonomy(&t);
    if q.flag("include_publish_details") {
        v["publish_details"] = publish_details(&mut c, &ctx, &uid).await?;
    }
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
    q: Query,
    body: JsonBody,
) -> ApiResult<(StatusCode, Json<Value>)> {
    ctx.authorize(&Action::new(Module::Taxonomies, Op::Update))?;
    if q.get("locale")
        .is_some_and(|l| !l.is_empty() && !l.eq_ignore_ascii_case(&ctx.stack.master_locale))
    {
        return localize_taxonomy(&state, &ctx, &uid, &q, &body, false).await;
    }
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

/// `{"taxonomy": {uid, name, description, locale}, "terms": [{uid, name, parent_uid, order,
/// locale}]}`, terms parents first, siblings in order, in `locale` (the master locale's values
/// where not localized). `format=csv` answers the same as the CSV file Contentstack's tools
/// read: a header, the taxonomy's row, then one row per term with its name, uid and locale in
/// the columns of its level.
pub async fn export(
    State(state): State<AppState>,
    ctx: StackCtx,
    Path(uid): Path<String>,
    q: Query,
) -> ApiResult<axum::response::Response> {
    use axum::response::IntoResponse;
    ctx.authorize(&Action::new(Module::Taxonomies, Op::Read))?;
    let csv = match q.get("format") {
        None | Some("") | Some("json") => false,
        Some("csv") => true,
        Some(f) => {
            return Err(ApiError::invalid(
                "format",
                format!("'{f}' is not a taxonomy export format: json or csv."),
            ))
        }
    };
    let mut c = state.db().reader().await?;
    let t = taxonomy_of(&mut c, &ctx, &uid).await?;
    let loc = Loc::from_query(&mut c, &ctx, &uid, &q).await?;
    let mut terms = repo::terms(&mut c, &ctx.space, &uid).await?;
    loc.terms(&mut terms);
    let tree_pairs = pairs(&terms);
    let tree = Tree::new(&tree_pairs);
    let by_uid: HashMap<&str, &Term> = terms.iter().map(|t| (t.uid.as_str(), t)).collect();
    let mut ordered: Vec<&Term> = Vec::new();
    for root in terms.iter().filter(|t| t.parent_uid.is_none()) {
        for uid in std::iter::once(root.uid.as_str()).chain(
            tree.descendants(&root.uid, None)
                .into_iter()
                .map(|(u, _)| u),
        ) {
            ordered.push(by_uid[uid]);
        }
    }
    let term_locale = |uid: &str| -> String {
        if loc.names.contains_key(uid) {
            loc.locale.clone()
        } else {
            loc.master_locale.clone()
        }
    };
    let tax = loc.taxonomy(&t);
    if csv {
        let mut header = vec![
            "Taxonomy Name".to_string(),
            "Taxonomy Uid".into(),
            "Taxonomy Description".into(),
            "Taxonomy Locale".into(),
        ];
        for level in 1..=MAX_DEPTH {
            for what in ["Name", "Uid", "Locale"] {
                header.push(format!("Level {level} Term {what}"));
            }
        }
        let width = header.len();
        let mut rows = vec![header];
        let mut first = vec![String::new(); width];
        for (i, key) in ["name", "uid", "description", "locale"].iter().enumerate() {
            first[i] = tax[*key].as_str().unwrap_or_default().to_string();
        }
        rows.push(first);
        for term in &ordered {
            let mut row = vec![String::new(); width];
            let at = 4 + 3 * (term.depth.clamp(1, MAX_DEPTH) as usize - 1);
            row[at] = term.name.clone();
            row[at + 1] = term.uid.clone();
            row[at + 2] = term_locale(&term.uid);
            rows.push(row);
        }
        let mut text = String::new();
        for row in rows {
            let cells: Vec<String> = row.iter().map(|c| csv_cell(c)).collect();
            text.push_str(&cells.join(","));
            text.push_str("\r\n");
        }
        return Ok((
            [
                (
                    axum::http::header::CONTENT_TYPE,
                    "text/csv; charset=utf-8".to_string(),
                ),
                (
                    axum::http::header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{uid}.csv\""),
                ),
            ],
            text,
        )
            .into_response());
    }
    let ordered: Vec<Value> = ordered
        .iter()
        .map(|t| {
            json!({"uid": t.uid, "name": t.name, "parent_uid": t.parent_uid, "order": t.order,
                   "locale": term_locale(&t.uid)})
        })
        .collect();
    Ok(Json(json!({
        "taxonomy": {"uid": t.uid, "name": tax["name"], "description": tax["description"],
                     "locale": tax["locale"]},
        "terms": ordered,
    }))
    .into_response())
}

/// One CSV cell: quoted when it holds a comma, a quote or a line break (quotes doubled).
fn csv_cell(c: &str) -> String {
    if c.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", c.replace('"', "\"\""))
    } else {
        c.to_string()
    }
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
    let loc = Loc::from_query(&mut c, &ctx, &tax, &q).await?;
    let mut all = repo::terms(&mut c, &ctx.space, &tax).await?;
    loc.terms(&mut all);
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
    let extras = Extras::load(&mut c, &ctx.space, &t, &all, &q, &loc).await?;
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
    let loc = Loc::from_query(&mut c, &ctx, &tax, &q).await?;
    let mut term = term_of(&mut c, &ctx, &tax, &uid).await?;
    loc.terms(std::slice::from_mut(&mut term));
    let mut all = repo::terms(&mut c, &ctx.space, &tax).await?;
    loc.terms(&mut all);
    let extras = Extras::load(&mut c, &ctx.space, &t, &all, &q, &loc).await?;
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
    q: Query,
    body: JsonBody,
) -> ApiResult<(StatusCode, Json<Value>)> {
    ctx.authorize(&Action::new(Module::Taxonomies, Op::Update))?;
    if q.get("locale")
        .is_some_and(|l| !l.is_empty() && !l.eq_ignore_ascii_case(&ctx.stack.master_locale))
    {
        return localize_term_in(&state, &ctx, &tax, &uid, &q, &body, false).await;
    }
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
    let loc = Loc::from_query(&mut c, &ctx, &tax, &q).await?;
    let mut all = repo::terms(&mut c, &ctx.space, &tax).await?;
    loc.terms(&mut all);
    let tree_pairs = pairs(&all);
    let tree = Tree::new(&tree_pairs);
    let by_uid: HashMap<&str, &Term> = all.iter().map(|t| (t.uid.as_str(), t)).collect();
    let extras = Extras::load(&mut c, &ctx.space, &t, &all, &q, &loc).await?;
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
    let loc = Loc::from_query(&mut c, &ctx, &tax, &q).await?;
    let mut all = repo::terms(&mut c, &ctx.space, &tax).await?;
    loc.terms(&mut all);
    let tree_pairs = pairs(&all);
    let tree = Tree::new(&tree_pairs);
    let by_uid: HashMap<&str, &Term> = all.iter().map(|t| (t.uid.as_str(), t)).collect();
    let extras = Extras::load(&mut c, &ctx.space, &t, &all, &q, &loc).await?;
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

// ---- localization ----

fn locale_required(q: &Query, what: &str) -> ApiResult<()> {
    if q.get("locale").is_none_or(str::is_empty) {
        return Err(ApiError::invalid(
            "locale",
            format!("is required: the locale to localize the {what} in."),
        ));
    }
    Ok(())
}

/// `POST /v3/taxonomies/{uid}?locale=`: the taxonomy's name and description in a locale
/// (`{"taxonomy": {"name", "description"}}`). In the master locale it is an update.
pub async fn localize(
    State(state): State<AppState>,
    ctx: StackCtx,
    Path(uid): Path<String>,
    q: Query,
    body: JsonBody,
) -> ApiResult<(StatusCode, Json<Value>)> {
    ctx.authorize(&Action::new(Module::Taxonomies, Op::Update))?;
    locale_required(&q, "taxonomy")?;
    localize_taxonomy(&state, &ctx, &uid, &q, &body, true).await
}

async fn localize_taxonomy(
    state: &AppState,
    ctx: &StackCtx,
    uid: &str,
    q: &Query,
    body: &JsonBody,
    create: bool,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let map = body.wrapped("taxonomy")?;
    let f = Fields::new(map, "taxonomy");
    let actor = ctx.actor();
    let mut tx = state.db().begin().await?;
    let locale = locale_param(&mut tx, ctx, q).await?;
    let cur = taxonomy_of(&mut tx, ctx, uid).await?;
    if f.opt_str("uid")?.is_some_and(|u| u != cur.uid) {
        return Err(ApiError::invalid("taxonomy.uid", "cannot be changed."));
    }
    if locale == ctx.stack.master_locale {
        let name = name_field(&f, "taxonomy", Some(&cur.name))?;
        let description = f
            .opt_str("description")?
            .unwrap_or(&cur.description)
            .to_string();
        let t = repo::update(&mut tx, &ctx.space, uid, &name, &description, &actor)
            .await?
            .ok_or_else(|| ApiError::not_found("taxonomy"))?;
        audit::record(
            &mut tx,
            &actor,
            ctx.audit("update", "taxonomy", &t.uid, &t.name),
        )
        .await?;
    } else {
        let prev = repo::localizations(&mut tx, &ctx.space, uid, Some(&locale), Some(""))
            .await?
            .pop();
        let fallback = match &prev {
            Some(l) => Some(l.name.as_str()),
            None if create => None,
            None => Some(cur.name.as_str()),
        };
        let name = name_field(&f, "taxonomy", fallback)?;
        let description = match f.opt_str("description")? {
            Some(d) => d.to_string(),
            None => prev
                .as_ref()
                .map(|l| l.description.clone())
                .unwrap_or_else(|| cur.description.clone()),
        };
        repo::localize(
            &mut tx,
            &ctx.space,
            uid,
            "",
            &locale,
            &name,
            &description,
            &actor,
        )
        .await?;
        audit::record(
            &mut tx,
            &actor,
            ctx.audit("localize", "taxonomy", uid, &format!("{name} ({locale})")),
        )
        .await?;
    }
    let t = taxonomy_of(&mut tx, ctx, uid).await?;
    let v = Loc::load(&mut tx, ctx, uid, &locale).await?.taxonomy(&t);
    tx.commit().await?;
    Ok(if create {
        created("Taxonomy localized successfully.", "taxonomy", v)
    } else {
        updated("Taxonomy updated successfully.", "taxonomy", v)
    })
}

/// `POST /v3/taxonomies/{tax}/terms/{uid}?locale=`: the term's name in a locale
/// (`{"term": {"name"}}`). In the master locale it is a rename.
pub async fn localize_term(
    State(state): State<AppState>,
    ctx: StackCtx,
    Path((tax, uid)): Path<(String, String)>,
    q: Query,
    body: JsonBody,
) -> ApiResult<(StatusCode, Json<Value>)> {
    ctx.authorize(&Action::new(Module::Taxonomies, Op::Update))?;
    locale_required(&q, "term")?;
    localize_term_in(&state, &ctx, &tax, &uid, &q, &body, true).await
}

async fn localize_term_in(
    state: &AppState,
    ctx: &StackCtx,
    tax: &str,
    uid: &str,
    q: &Query,
    body: &JsonBody,
    create: bool,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let map = body.wrapped("term")?;
    let f = Fields::new(map, "term");
    let actor = ctx.actor();
    let mut tx = state.db().begin().await?;
    let locale = locale_param(&mut tx, ctx, q).await?;
    taxonomy_of(&mut tx, ctx, tax).await?;
    let cur = term_of(&mut tx, ctx, tax, uid).await?;
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
    if locale == ctx.stack.master_locale {
        let name = name_field(&f, "term", Some(&cur.name))?;
        let term = repo::rename_term(&mut tx, &ctx.space, tax, uid, &name, &actor)
            .await?
            .ok_or_else(|| ApiError::not_found("term"))?;
        audit::record(
            &mut tx,
            &actor,
            ctx.audit("update", "term", &term.uid, &term.name),
        )
        .await?;
    } else {
        let prev = repo::localizations(&mut tx, &ctx.space, tax, Some(&locale), Some(uid))
            .await?
            .pop();
        let fallback = match &prev {
            Some(l) => Some(l.name.as_str()),
            None if create => None,
            None => Some(cur.name.as_str()),
        };
        let name = name_field(&f, "term", fallback)?;
        repo::localize(&mut tx, &ctx.space, tax, uid, &locale, &name, "", &actor).await?;
        audit::record(
            &mut tx,
            &actor,
            ctx.audit("localize", "term", uid, &format!("{name} ({locale})")),
        )
        .await?;
    }
    let loc = Loc::load(&mut tx, ctx, tax, &locale).await?;
    let mut term = term_of(&mut tx, ctx, tax, uid).await?;
    loc.terms(std::slice::from_mut(&mut term));
    let mut v = term_json(&term);
    v["locale"] = json!(
        if loc.locale == loc.master_locale || loc.names.contains_key(uid) {
            &loc.locale
        } else {
            &loc.master_locale
        }
    );
    tx.commit().await?;
    Ok(if create {
        created("Term localized successfully.", "term", v)
    } else {
        updated("Term updated successfully.", "term", v)
    })
}

/// `GET /v3/taxonomies/{uid}/locales`: the taxonomy in the master locale and in every locale
/// it is localized in.
pub async fn locales(
    State(state): State<AppState>,
    ctx: StackCtx,
    Path(uid): Path<String>,
    q: Query,
) -> ApiResult<Json<Value>> {
    ctx.authorize(&Action::new(Module::Taxonomies, Op::Read))?;
    let mut c = state.db().reader().await?;
    let t = taxonomy_of(&mut c, &ctx, &uid).await?;
    let mut items = vec![Loc::load(&mut c, &ctx, &uid, &ctx.stack.master_locale)
        .await?
        .taxonomy(&t)];
    for l in repo::localizations(&mut c, &ctx.space, &uid, None, Some("")).await? {
        let loc = Loc {
            locale: l.locale.clone(),
            master_locale: ctx.stack.master_locale.clone(),
            names: HashMap::from([(String::new(), l)]),
        };
        items.push(loc.taxonomy(&t));
    }
    let n = items.len() as i64;
    Ok(listed(
        "taxonomies",
        items,
        q.flag("include_count").then_some(n),
    ))
}

/// `GET /v3/taxonomies/{tax}/terms/{uid}/locales`: the term in the master locale and in every
/// locale it is localized in.
pub async fn term_locales(
    State(state): State<AppState>,
    ctx: StackCtx,
    Path((tax, uid)): Path<(String, String)>,
    q: Query,
) -> ApiResult<Json<Value>> {
    ctx.authorize(&Action::new(Module::Taxonomies, Op::Read))?;
    let mut c = state.db().reader().await?;
    taxonomy_of(&mut c, &ctx, &tax).await?;
    let term = term_of(&mut c, &ctx, &tax, &uid).await?;
    let mut v = term_json(&term);
    v["locale"] = json!(ctx.stack.master_locale);
    let mut items = vec![v];
    for l in repo::localizations(&mut c, &ctx.space, &tax, None, Some(&uid)).await? {
        let mut t = term.clone();
        t.name = l.name.clone();
        let mut v = term_json(&t);
        v["locale"] = json!(l.locale);
        items.push(v);
    }
    let n = items.len() as i64;
    Ok(listed("terms", items, q.flag("include_count").then_some(n)))
}

// ---- publishing ----

/// A taxonomy as published in one locale: the taxonomy and all its terms (parents first,
/// siblings in order) with their names in that locale, or the master locale's where they are
/// not localized.
async fn snapshot(c: &mut Conn, ctx: &StackCtx, t: &Taxonomy, locale: &str) -> ApiResult<Value> {
    let loc = Loc::load(c, ctx, &t.uid, locale).await?;
    let mut all = repo::terms(c, &ctx.space, &t.uid).await?;
    loc.terms(&mut all);
    let tree_pairs = pairs(&all);
    let tree = Tree::new(&tree_pairs);
    let by_uid: HashMap<&str, &Term> = all.iter().map(|t| (t.uid.as_str(), t)).collect();
    let mut terms = Vec::new();
    for root in all.iter().filter(|t| t.parent_uid.is_none()) {
        for u in std::iter::once(root.uid.as_str()).chain(
            tree.descendants(&root.uid, None)
                .into_iter()
                .map(|(u, _)| u),
        ) {
            let term = by_uid[u];
            let mut v = term_json(term);
            v["locale"] = json!(if loc.names.contains_key(u) {
                locale
            } else {
                ctx.stack.master_locale.as_str()
            });
            terms.push(v);
        }
    }
    Ok(json!({"taxonomy": loc.taxonomy(t), "terms": terms}))
}

fn string_list(body: &JsonBody, key: &str) -> ApiResult<Vec<String>> {
    match body.0.get(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(a)) => a
            .iter()
            .enumerate()
            .map(|(i, v)| {
                v.as_str()
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .ok_or_else(|| ApiError::invalid(&format!("{key}[{i}]"), "must be a string."))
            })
            .collect(),
        Some(_) => Err(ApiError::invalid(key, "must be an array of strings.")),
    }
}

/// `POST /v3/taxonomies/publish` `{"locales", "environments", "items": [{"uid", "term_uid"}]}`:
/// each named taxonomy goes live with all its terms in every locale on every environment (an
/// item's `term_uid` must name one of its terms; the whole taxonomy is published).
pub async fn publish(
    State(state): State<AppState>,
    ctx: StackCtx,
    body: JsonBody,
) -> ApiResult<(StatusCode, Json<Value>)> {
    publish_or_unpublish(&state, &ctx, &body, true).await
}

/// `POST /v3/taxonomies/unpublish`, the same body: the taxonomies come down from those
/// locales and environments.
pub async fn unpublish(
    State(state): State<AppState>,
    ctx: StackCtx,
    body: JsonBody,
) -> ApiResult<(StatusCode, Json<Value>)> {
    publish_or_unpublish(&state, &ctx, &body, false).await
}

async fn publish_or_unpublish(
    state: &AppState,
    ctx: &StackCtx,
    body: &JsonBody,
    publish: bool,
) -> ApiResult<(StatusCode, Json<Value>)> {
    // Refused before the body is read when the scope cannot publish taxonomies anywhere;
    // decided again with the environments (MT-18).
    ctx.authorize_publish_somewhere(Action::new(Module::Taxonomies, Op::Publish))?;
    let env_names = string_list(body, "environments")?;
    if env_names.is_empty() {
        return Err(ApiError::invalid(
            "environments",
            "is required: a non-empty array of environment names.",
        ));
    }
    ctx.authorize(&Action::new(Module::Taxonomies, Op::Publish).to_environments(&env_names))?;
    let mut codes: Vec<String> = string_list(body, "locales")?
        .into_iter()
        .map(|c| c.to_lowercase())
        .collect();
    if codes.is_empty() {
        codes.push(ctx.stack.master_locale.clone());
    }
    codes.dedup();
    let items = match body.0.get("items") {
        Some(Value::Array(a)) if !a.is_empty() => a,
        _ => {
            return Err(ApiError::invalid(
                "items",
                "is required: a non-empty array of {\"uid\", \"term_uid\"}.",
            ))
        }
    };
    let actor = ctx.actor();
    let mut tx = state.db().begin().await?;
    let mut plan = crate::publish::Plan::new(&mut tx, ctx, crate::publish::Gate::Approved).await?;
    plan.locales(&mut tx, ctx, &codes, |i| format!("locales[{i}]"))
        .await?;
    let envs = plan
        .environments(&mut tx, ctx, &env_names, |i| format!("environments[{i}]"))
        .await?;
    let mut taxonomies: Vec<Taxonomy> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let Some(map) = item.as_object() else {
            plan.add(&format!("items[{i}]"), "must be an object.");
            continue;
        };
        let Some(uid) = map.get("uid").and_then(Value::as_str) else {
            plan.add(&format!("items[{i}].uid"), "is required.");
            continue;
        };
        let Some(t) = repo::get(&mut tx, &ctx.space, uid).await? else {
            plan.add(
                &format!("items[{i}].uid"),
                format!("'{uid}' is not a taxonomy of this branch."),
            );
            continue;
        };
        match map.get("term_uid") {
            None | Some(Value::Null) => {}
            Some(Value::String(term)) => {
                if repo::term(&mut tx, &ctx.space, uid, term).await?.is_none() {
                    plan.add(
                        &format!("items[{i}].term_uid"),
                        format!("'{term}' is not a term of the taxonomy '{uid}'."),
                    );
                }
            }
            Some(_) => plan.add(&format!("items[{i}].term_uid"), "must be a string."),
        }
        if !taxonomies.iter().any(|x| x.uid == t.uid) {
            taxonomies.push(t);
        }
    }
    if let Some(e) = plan.refusal() {
        return Err(e);
    }
    for t in &taxonomies {
        for code in &codes {
            let snap = if publish {
                Some(snapshot(&mut tx, ctx, t, code).await?.to_string())
            } else {
                None
            };
            for env in &envs {
                match &snap {
                    Some(text) => {
                        repo::publish(&mut tx, &ctx.space, &t.uid, code, &env.uid, text, &actor)
                            .await?
                    }
                    None => {
                        repo::unpublish(&mut tx, &ctx.space, &t.uid, code, &env.uid).await?;
                    }
                }
            }
        }
        audit::record(
            &mut tx,
            &actor,
            ctx.audit(
                if publish { "publish" } else { "unpublish" },
                "taxonomy",
                &t.uid,
                &t.name,
            ),
        )
        .await?;
    }
    // The work is done before the answer; the job record says so (`GET /v3/bulk/jobs/{job_id}`
    // and the publish queue show it completed, one item a taxonomy).
    let settings = json!({"environments": env_names, "locales": codes});
    let job_items: Vec<NewItem> = taxonomies
        .iter()
        .map(|t| NewItem {
            item_type: "taxonomy",
            action: None,
            item_uid: &t.uid,
            content_type_uid: None,
            locale: None,
            version: None,
        })
        .collect();
    let now = headwater_core::clock::now();
    let job_id = publish_jobs::insert(
        &mut tx,
        &NewJob {
            stack_uid: &ctx.stack.uid,
            space_uid: &ctx.space,
            branch: &ctx.branch,
            action: if publish { "publish" } else { "unpublish" },
            source: "taxonomy",
            scheduled: false,
            actor_kind: actor.kind(),
            actor_uid: actor.uid(),
            settings: &settings,
            run_at: &now,
        },
        &job_items,
    )
    .await?;
    for it in publish_jobs::items(&mut tx, &job_id).await? {
        publish_jobs::set_item(&mut tx, &it.uid, "success", None).await?;
    }
    publish_jobs::finish(&mut tx, &job_id, "completed", None).await?;
    tx.commit().await?;
    Ok((
        StatusCode::OK,
        Json(json!({
            "notice": if publish {
                "The taxonomies have been published."
            } else {
                "The taxonomies have been unpublished."
            },
            "job_id": job_id,
        })),
    ))
}

/// Where a taxonomy is published (a fetch's `include_publish_details=true`).
async fn publish_details(c: &mut Conn, ctx: &StackCtx, uid: &str) -> ApiResult<Value> {
    let mut out = Vec::new();
    for p in repo::publications_of(c, &ctx.space, uid).await? {
        let name = crate::publish::env_name(c, ctx, &p.environment_uid).await?;
        out.push(json!({
            "environment": p.environment_uid,
            "environment_name": name,
            "locale": p.locale,
            "user": p.published_by,
            "time": p.published_at,
        }));
    }
    Ok(Value::Array(out))
}
