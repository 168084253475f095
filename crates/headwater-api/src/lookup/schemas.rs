//! Content type and global field lookups shared by the schema routes, entries, publishing and
//! the delivery API.

use crate::error::{ApiError, ApiResult};
use axum::http::StatusCode;
use headwater_core::content::{self, Field};
use headwater_core::scope::FieldErrors;
use headwater_store::repo::schemas::{self, Kind, SchemaDoc};
use headwater_store::repo::Conn;
use serde_json::{json, Value};
use std::collections::HashMap;

/// Contentstack's code for a content type (or global field) that does not exist.
const NOT_FOUND: i64 = 118;

pub(crate) fn doc_json(d: &SchemaDoc) -> Value {
    // Schemas stored before reference fields got their `field_metadata` defaults are shown
    // with them too.
    let mut schema = d.schema.clone();
    content::fill_field_defaults(&mut schema);
    json!({
        "uid": d.uid,
        "title": d.title,
        "description": d.description,
        "schema": schema,
        "options": d.options,
        "_version": d.version,
        "inbuilt_class": false,
        "DEFAULT_ACL": {},
        "SYS_ACL": {},
        "last_activity": {},
        "created_by": d.created_by,
        "updated_by": d.updated_by,
        "created_at": d.created_at,
        "updated_at": d.updated_at,
    })
}

pub(crate) fn not_found(label: &str, uid: &str) -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        NOT_FOUND,
        format!("The {label} '{uid}' was not found. Please try again."),
    )
    .field("uid", "is not valid.")
}

/// Every global field's schema in the stack, for resolving `global_field` references.
pub(crate) async fn global_schemas(
    c: &mut Conn,
    stack_uid: &str,
) -> ApiResult<HashMap<String, Value>> {
    Ok(schema_map(
        schemas::all(c, stack_uid, Kind::GlobalField).await?,
    ))
}

/// Global fields by uid, as [`fields_of`] resolves them.
pub(crate) fn schema_map(globals: Vec<SchemaDoc>) -> HashMap<String, Value> {
    globals.into_iter().map(|g| (g.uid, g.schema)).collect()
}

/// Parses a stored or submitted schema into fields.
pub(crate) fn fields_of(
    schema: &Value,
    require_title: bool,
    globals: &HashMap<String, Value>,
) -> Result<Vec<Field>, FieldErrors> {
    let lookup = |uid: &str| globals.get(uid).cloned();
    content::parse_schema(schema, require_title, &lookup)
}

/// The extensions a schema names, at any depth (groups, modular blocks): custom fields
/// (`extension_uid`, with the field's `data_type`) and JSON RTE plugins (`plugins`). Each is
/// `(path, extension uid, wanted type, data type)`.
pub(crate) fn extension_refs(
    schema: &Value,
) -> Vec<(String, String, &'static str, Option<String>)> {
    fn walk(v: &Value, path: &str, out: &mut Vec<(String, String, &'static str, Option<String>)>) {
        match v {
            Value::Array(items) => {
                for (i, x) in items.iter().enumerate() {
                    walk(x, &format!("{path}[{i}]"), out);
                }
            }
            Value::Object(m) => {
                if let Some(uid) = m.get("extension_uid").and_then(Value::as_str) {
                    let dt = m
                        .get("data_type")
                        .and_then(Value::as_str)
                        .map(str::to_string);
                    out.push((
                        format!("{path}.extension_uid"),
                        uid.to_string(),
                        "field",
                        dt,
                    ));
                }
                if let Some(Value::Array(plugins)) = m.get("plugins") {
                    for (i, p) in plugins.iter().enumerate() {
                        if let Some(uid) = p.as_str() {
                            out.push((
                                format!("{path}.plugins[{i}]"),
                                uid.to_string(),
                                "rte_plugin",
                                None,
                            ));
                        }
                    }
                }
                for key in ["schema", "blocks"] {
                    if let Some(x) = m.get(key) {
                        walk(x, &format!("{path}.{key}"), out);
                    }
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(schema, "schema", &mut out);
    out
}

/// Refuses a schema that names an extension the branch does not have, or one of the wrong
/// kind (a custom field naming a widget, a plugin list naming a field), or a custom field whose
/// `data_type` is not its extension's.
pub(crate) async fn check_extensions(
    c: &mut Conn,
    space: &str,
    schema: &Value,
) -> ApiResult<FieldErrors> {
    let mut errors = FieldErrors::new();
    for (path, uid, want, data_type) in extension_refs(schema) {
        let found = headwater_store::repo::extensions::get(c, space, &uid).await?;
        let problem = match found {
            None => Some(format!(
                "names the extension '{uid}', which does not exist."
            )),
            Some(e) if e.kind != want => Some(format!(
                "names the extension '{uid}', which is a {} extension, not a {want} extension.",
                e.kind
            )),
            Some(e) => {
                let ext_dt = e.body.get("data_type").and_then(Value::as_str);
                match (data_type.as_deref(), ext_dt) {
                    (Some(dt), Some(x)) if dt != x => Some(format!(
                        "has data_type '{dt}', but the extension '{uid}' stores '{x}'."
                    )),
                    _ => None,
                }
            }
        };
        if let Some(m) = problem {
            errors.entry(path).or_default().push(m);
        }
    }
    Ok(errors)
}

/// The content type or global field (named for a message) whose schema uses an extension.
pub(crate) async fn extension_user(
    c: &mut Conn,
    space: &str,
    uid: &str,
) -> ApiResult<Option<String>> {
    for (kind, label) in [
        (Kind::ContentType, "content type"),
        (Kind::GlobalField, "global field"),
    ] {
        let (all, _) = schemas::list(c, space, kind, 0, i64::MAX).await?;
        if let Some(d) = all
            .iter()
            .find(|d| extension_refs(&d.schema).iter().any(|r| r.1 == uid))
        {
            return Ok(Some(format!("{label} '{}'", d.uid)));
        }
    }
    Ok(None)
}
