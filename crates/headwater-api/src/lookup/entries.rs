//! Entry lookups shared by the management API (entries, entry workflow), publishing and the
//! delivery API: an entry's JSON, its content type, the `locale` parameter, the entry in a
//! locale (falling back to the master), projections and listing parameters.

use crate::auth::StackCtx;
use crate::body::Query;
use crate::error::{code, ApiError, ApiResult};
use crate::lookup::schemas::{fields_of, not_found as ct_not_found, schema_map};
use axum::http::StatusCode;
use headwater_core::content::Field;
use headwater_core::query;
use headwater_store::repo::entries::{self, Entry};
use headwater_store::repo::publications::Publication;
use headwater_store::repo::schemas::{self, Kind};
use headwater_store::repo::{locales, Conn};
use headwater_store::{Db, Exec};
use serde_json::{json, Map, Value};

pub(crate) fn entry_not_found() -> ApiError {
    ApiError::not_found("entry")
}

pub(crate) fn entry_json(e: &Entry, pubs: Option<&[Publication]>) -> Value {
    let mut out = match &e.doc {
        Value::Object(m) => m.clone(),
        _ => Map::new(),
    };
    out.insert("uid".into(), json!(e.uid));
    out.insert("title".into(), json!(e.title));
    out.insert("locale".into(), json!(e.locale));
    out.insert("_version".into(), json!(e.version));
    out.insert("tags".into(), e.tags.clone());
    out.insert("created_by".into(), json!(e.created_by));
    out.insert("updated_by".into(), json!(e.updated_by));
    out.insert("created_at".into(), json!(e.created_at));
    out.insert("updated_at".into(), json!(e.updated_at));
    out.insert("ACL".into(), json!({}));
    out.insert("_in_progress".into(), json!(false));
    if let Some(pubs) = pubs {
        let details: Vec<Value> = pubs
            .iter()
            .filter(|p| p.item_uid == e.uid)
            .map(|p| {
                json!({"environment": p.environment_uid, "locale": p.locale, "time": p.published_at,
                       "user": p.published_by, "version": p.version})
            })
            .collect();
        out.insert("publish_details".into(), Value::Array(details));
    }
    Value::Object(out)
}

/// Contentstack's code for a content type that cannot be written or used (115).
const SCHEMA_UNUSABLE: i64 = 115;

/// The content type and its parsed fields.
pub(crate) async fn content_type<'e>(
    c: impl Into<Exec<'e>>,
    ctx: &StackCtx,
    ct: &str,
) -> ApiResult<Vec<Field>> {
    // The content type and the global fields it may use, in one statement.
    let (doc, globals) = schemas::content_type_with_globals(c, &ctx.space, ct)
        .await?
        .ok_or_else(|| ct_not_found("Content Type", ct))?;
    fields_of(&doc.schema, false, &schema_map(globals)).map_err(|e| {
        // Stored before a rule that now refuses it (global fields that include each other,
        // SEC-10): say what is wrong and where, rather than failing every entry request.
        tracing::warn!(content_type = ct, errors = ?e, "stored schema no longer resolves");
        let mut err = ApiError::validation(
            format!(
                "The content type '{ct}' cannot be used: its stored schema, or a global field it                  uses, no longer resolves (see errors). Update the content type or the global                  fields it names."
            ),
            e,
        );
        err.code = SCHEMA_UNUSABLE;
        err
    })
}

/// Checks the content type exists (reads need no schema).
pub(crate) async fn content_type_exists<'e>(
    c: impl Into<Exec<'e>>,
    ctx: &StackCtx,
    ct: &str,
) -> ApiResult<()> {
    let mut c = c.into();
    if schemas::exists(&mut c, &ctx.space, Kind::ContentType, ct).await? {
        Ok(())
    } else {
        Err(ct_not_found("Content Type", ct))
    }
}

/// The `locale` parameter (default: the master locale), which must be a locale of the stack.
pub(crate) async fn locale_of<'e>(
    c: impl Into<Exec<'e>>,
    ctx: &StackCtx,
    q: &Query,
) -> ApiResult<String> {
    let code = requested_locale(ctx, q);
    if code != ctx.stack.master_locale && locales::by_code(c, &ctx.space, &code).await?.is_none() {
        return Err(ApiError::invalid(
            "locale",
            format!("'{code}' is not a locale of this stack."),
        ));
    }
    Ok(code)
}

/// The locale a request names (lowercased), or the master locale when it names none.
fn requested_locale(ctx: &StackCtx, q: &Query) -> String {
    q.get("locale")
        .filter(|l| !l.is_empty())
        .unwrap_or(&ctx.stack.master_locale)
        .to_lowercase()
}

/// [`locale_of`] for a read whose connection is taken only when a statement needs it: the
/// master locale needs none.
pub(crate) async fn locale_of_lazy(
    r: &mut LazyReader<'_>,
    ctx: &StackCtx,
    q: &Query,
) -> ApiResult<String> {
    let code = requested_locale(ctx, q);
    if code == ctx.stack.master_locale {
        return Ok(code);
    }
    locale_of(r.get().await?, ctx, q).await
}

/// A read connection taken from the pool on first use. Reads answered on the calling thread
/// (`Db::direct`) then never take one: handing a pooled connection out and back costs a round
/// trip to the driver's worker thread (sqlx tests every connection coming back).
pub(crate) struct LazyReader<'a> {
    db: &'a Db,
    conn: Option<headwater_store::db::Reader>,
}

impl<'a> LazyReader<'a> {
    pub fn new(db: &'a Db) -> LazyReader<'a> {
        LazyReader { db, conn: None }
    }

    pub async fn get(&mut self) -> ApiResult<&mut Conn> {
        if self.conn.is_none() {
            self.conn = Some(self.db.reader().await?);
        }
        Ok(self.conn.as_deref_mut().expect("just taken"))
    }
}

/// Applies `only[BASE][]` / `except[BASE][]` to an entry object.
pub(crate) fn project(v: &mut Value, only: &[&str], except: &[&str]) {
    let Value::Object(m) = v else { return };
    if !only.is_empty() {
        m.retain(|k, _| k == "uid" || only.contains(&k.as_str()));
    }
    for k in except {
        if *k != "uid" {
            m.remove(*k);
        }
    }
}

/// The listing parameters shared by the management and delivery APIs: `query`, `asc`/`desc`,
/// `skip`, `limit`.
pub(crate) struct ListParams<'q> {
    pub filter: Option<query::Cond>,
    pub sort: Option<(&'q str, bool)>,
    pub skip: i64,
    pub limit: i64,
}

impl<'q> ListParams<'q> {
    pub fn from_query(q: &'q Query) -> ApiResult<ListParams<'q>> {
        let filter = match q.get("query").filter(|s| !s.trim().is_empty()) {
            Some(text) => Some(query::parse(text).map_err(|e| {
                ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    code::VALIDATION,
                    format!("The query is not valid: {}.", e.0),
                )
                .field("query", e.0)
            })?),
            None => None,
        };
        let sort = match (q.get("asc"), q.get("desc")) {
            (Some(f), _) => Some((f, true)),
            (None, Some(f)) => Some((f, false)),
            _ => None,
        };
        if let Some((f, _)) = sort {
            if !is_sort_field(f) {
                return Err(ApiError::invalid("asc/desc", "must name a field."));
            }
        }
        let (skip, limit, _) = q.page()?;
        Ok(ListParams {
            filter,
            sort,
            skip,
            limit,
        })
    }
}

fn is_sort_field(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 200
        && s.split('.')
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
}

/// [`load`] with the entry's publications, in one statement per locale tried: on the calling
/// thread when the database offers it (`Db::direct`, SQLite; kept there until the next
/// commit), else on `c`.
pub(crate) async fn load_with_publications(
    r: &mut LazyReader<'_>,
    ctx: &StackCtx,
    ct: &str,
    uid: &str,
    locale: &str,
) -> ApiResult<entries::WithPublications> {
    let master = ctx.stack.master_locale.as_str();
    let tried: &[&str] = if locale == master {
        &[master]
    } else {
        &[locale, master]
    };
    for &locale in tried {
        let found = match r.db.direct() {
            Some(d) => entries::get_with_publications_direct(d, &ctx.space, ct, uid, locale)?,
            None => entries::get_with_publications(r.get().await?, &ctx.space, ct, uid, locale)
                .await?
                .map(std::sync::Arc::new),
        };
        if let Some(found) = found {
            return Ok(found);
        }
    }
    Err(entry_not_found())
}

/// The entry in `locale`, or its master-locale version when it is not localized.
pub(crate) async fn load<'e>(
    c: impl Into<Exec<'e>>,
    ctx: &StackCtx,
    ct: &str,
    uid: &str,
    locale: &str,
) -> ApiResult<Entry> {
    let mut c = c.into();
    if let Some(e) = entries::get(&mut c, &ctx.space, ct, uid, locale).await? {
        return Ok(e);
    }
    entries::get(&mut c, &ctx.space, ct, uid, &ctx.stack.master_locale)
        .await?
        .ok_or_else(entry_not_found)
}
