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
    let (all, _) = schemas::list(c, stack_uid, Kind::GlobalField, 0, i64::MAX).await?;
    Ok(all.into_iter().map(|g| (g.uid, g.schema)).collect())
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
