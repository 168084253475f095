//! Taxonomy lookups for entries: the terms an entry carries must exist, and the query's
//! hierarchy operators are resolved against the taxonomies' term trees.

use crate::error::ApiResult;
use headwater_core::query::Cond;
use headwater_core::scope::FieldErrors;
use headwater_core::{content, taxonomy};
use headwater_store::repo::{taxonomies, Conn};
use headwater_store::Exec;
use serde_json::{Map, Value};
use std::collections::HashMap;

/// The terms an entry document names that its taxonomy does not have, by field path.
pub(crate) async fn missing_entry_terms<'e>(
    c: impl Into<Exec<'e>>,
    space: &str,
    doc: &Map<String, Value>,
) -> ApiResult<FieldErrors> {
    let mut c = c.into();
    let mut errors = FieldErrors::new();
    for (i, (tax, term)) in content::entry_terms(doc).into_iter().enumerate() {
        if taxonomies::term(&mut c, space, &tax, &term)
            .await?
            .is_none()
        {
            errors
                .entry(format!("taxonomies[{i}]"))
                .or_default()
                .push(format!("'{term}' is not a term of the taxonomy '{tax}'."));
        }
    }
    Ok(errors)
}

/// Rewrites `$eq_below`, `$below`, `$eq_above` and `$above` on `taxonomies.<uid>` into `$in`
/// of the terms they stand for in the space's term trees.
pub(crate) async fn resolve_hierarchy(
    c: &mut Conn,
    space: &str,
    cond: Option<&mut Cond>,
) -> ApiResult<()> {
    let Some(cond) = cond else { return Ok(()) };
    let names = taxonomy::hierarchy_taxonomies(cond);
    if names.is_empty() {
        return Ok(());
    }
    let mut terms = HashMap::new();
    for t in names {
        let list = taxonomies::terms(c, space, &t).await?;
        terms.insert(
            t,
            list.into_iter()
                .map(|x| (x.uid, x.parent_uid))
                .collect::<Vec<_>>(),
        );
    }
    taxonomy::resolve(cond, &terms);
    Ok(())
}

/// The taxonomies a stored schema's taxonomy field names.
pub(crate) fn named_taxonomies(schema: &Value) -> Vec<String> {
    schema
        .as_array()
        .into_iter()
        .flatten()
        .filter(|f| f.get("data_type").and_then(Value::as_str) == Some("taxonomy"))
        .flat_map(|f| {
            f.get("taxonomies")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|r| r.get("taxonomy_uid").and_then(Value::as_str))
                .map(str::to_string)
        })
        .collect()
}
