//! Comparing two branches' content types and global fields, and what a merge strategy does
//! with each difference. Pure: the API loads both branches, asks here, and applies the answer
//! in one transaction.
//!
//! An item (a content type or a global field) is `base_only`, `compare_only` or `modified`
//! (it exists on both and its title, description, schema or options differ). Branches keep no
//! common ancestor, so every difference in a modified item is a conflict: the strategy's
//! preferred side wins it. A modified item is merged field by field (schema fields by uid, at
//! every level: inside groups and, block by block, inside modular blocks): the preferred
//! side's fields in its order, then the other side's fields it lacks.

use serde_json::{Map, Value};

/// What an item is: the `type` of a compare or merge item.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ItemType {
    /// Listed first: content types may use global fields, so global fields are merged first.
    GlobalField,
    ContentType,
}

impl ItemType {
    pub fn name(self) -> &'static str {
        match self {
            ItemType::ContentType => "content_type",
            ItemType::GlobalField => "global_field",
        }
    }

    pub fn parse(s: &str) -> Option<ItemType> {
        match s {
            "content_type" | "content_types" => Some(ItemType::ContentType),
            "global_field" | "global_fields" => Some(ItemType::GlobalField),
            _ => None,
        }
    }
}

/// The mergeable parts of a content type or global field.
#[derive(Clone, Debug, PartialEq)]
pub struct Item {
    pub uid: String,
    pub title: String,
    pub description: String,
    pub schema: Value,
    pub options: Value,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    BaseOnly,
    CompareOnly,
    Modified,
}

impl Status {
    pub fn name(self) -> &'static str {
        match self {
            Status::BaseOnly => "base_only",
            Status::CompareOnly => "compare_only",
            Status::Modified => "modified",
        }
    }
}

/// How an item differs between the base and the compare branch (`None`: it does not).
pub fn status(base: Option<&Item>, compare: Option<&Item>) -> Option<Status> {
    match (base, compare) {
        (Some(_), None) => Some(Status::BaseOnly),
        (None, Some(_)) => Some(Status::CompareOnly),
        (Some(b), Some(c)) if b != c => Some(Status::Modified),
        _ => None,
    }
}

/// Contentstack's merge strategies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Strategy {
    PreferBase,
    PreferCompare,
    OverwriteWithCompare,
    NewOnly,
    ModifiedOnlyPreferBase,
    ModifiedOnlyPreferCompare,
    Ignore,
}

impl Strategy {
    pub const NAMES: [&'static str; 7] = [
        "merge_prefer_base",
        "merge_prefer_compare",
        "overwrite_with_compare",
        "merge_new_only",
        "merge_modified_only_prefer_base",
        "merge_modified_only_prefer_compare",
        "ignore",
    ];

    pub fn parse(s: &str) -> Option<Strategy> {
        Some(match s {
            "merge_prefer_base" => Strategy::PreferBase,
            "merge_prefer_compare" => Strategy::PreferCompare,
            "overwrite_with_compare" => Strategy::OverwriteWithCompare,
            "merge_new_only" => Strategy::NewOnly,
            "merge_modified_only_prefer_base" => Strategy::ModifiedOnlyPreferBase,
            "merge_modified_only_prefer_compare" => Strategy::ModifiedOnlyPreferCompare,
            "ignore" => Strategy::Ignore,
            _ => return None,
        })
    }
}

/// What a merge does to one item of the base branch.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    Keep,
    Create(Item),
    Replace(Item),
    Delete,
}

/// The outcome of `strategy` for an item as it is on each branch.
pub fn merge_item(strategy: Strategy, base: Option<&Item>, compare: Option<&Item>) -> Outcome {
    use Strategy::*;
    let Some(st) = status(base, compare) else {
        return Outcome::Keep;
    };
    match (st, base, compare) {
        (Status::CompareOnly, _, Some(c)) => match strategy {
            PreferBase | PreferCompare | OverwriteWithCompare | NewOnly => {
                Outcome::Create(c.clone())
            }
            ModifiedOnlyPreferBase | ModifiedOnlyPreferCompare | Ignore => Outcome::Keep,
        },
        (Status::BaseOnly, _, _) => match strategy {
            OverwriteWithCompare => Outcome::Delete,
            _ => Outcome::Keep,
        },
        (Status::Modified, Some(b), Some(c)) => {
            let merged = match strategy {
                PreferBase | ModifiedOnlyPreferBase => combine(b, c),
                PreferCompare | ModifiedOnlyPreferCompare => combine(c, b),
                OverwriteWithCompare => c.clone(),
                NewOnly | Ignore => return Outcome::Keep,
            };
            if &merged == b {
                Outcome::Keep
            } else {
                Outcome::Replace(merged)
            }
        }
        _ => Outcome::Keep,
    }
}

fn field_uid(f: &Value) -> Option<&str> {
    f.get("uid").and_then(Value::as_str)
}

/// `winner`'s item with the fields only `other` has added, at every level: the schemas are
/// combined field by field ([`combine_fields`]).
fn combine(winner: &Item, other: &Item) -> Item {
    let empty = Vec::new();
    let fields = combine_fields(
        winner.schema.as_array().unwrap_or(&empty),
        other.schema.as_array().unwrap_or(&empty),
    );
    Item {
        schema: Value::Array(fields),
        ..winner.clone()
    }
}

/// Two schemas (field arrays) combined by uid: `winner`'s fields in its order, then the fields
/// only `other` has. A field both have keeps `winner`'s settings, except that a group on both
/// sides (same data type) is combined inside (its `schema`), and modular blocks on both sides
/// are combined block by block (`winner`'s blocks, then the blocks only `other` has; a block
/// both have combines its `schema`), so a field added inside a group or a block on either
/// side is kept instead of the whole group being one conflict.
pub fn combine_fields(winner: &[Value], other: &[Value]) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::with_capacity(winner.len());
    for w in winner {
        let o = field_uid(w).and_then(|u| other.iter().find(|o| field_uid(o) == Some(u)));
        out.push(match o {
            Some(o) => combine_field(w, o),
            None => w.clone(),
        });
    }
    for o in other {
        if field_uid(o).is_some_and(|u| !winner.iter().any(|w| field_uid(w) == Some(u))) {
            out.push(o.clone());
        }
    }
    out
}

/// One field both sides have: `winner`'s, with nested schemas combined.
fn combine_field(winner: &Value, other: &Value) -> Value {
    let dt = |f: &Value| {
        f.get("data_type")
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let mut out = winner.clone();
    if dt(winner) != dt(other) {
        return out;
    }
    let empty = Vec::new();
    match dt(winner).as_deref() {
        Some("group") => {
            let w = winner
                .get("schema")
                .and_then(Value::as_array)
                .unwrap_or(&empty);
            let o = other
                .get("schema")
                .and_then(Value::as_array)
                .unwrap_or(&empty);
            out["schema"] = Value::Array(combine_fields(w, o));
        }
        Some("blocks") => {
            let w = winner
                .get("blocks")
                .and_then(Value::as_array)
                .unwrap_or(&empty);
            let o = other
                .get("blocks")
                .and_then(Value::as_array)
                .unwrap_or(&empty);
            let mut blocks: Vec<Value> = Vec::new();
            for wb in w {
                let ob = field_uid(wb).and_then(|u| o.iter().find(|b| field_uid(b) == Some(u)));
                let mut b = wb.clone();
                if let Some(ob) = ob {
                    // A block that embeds a global field (`reference_to`) has no own schema.
                    if let (Some(ws), Some(os)) = (
                        wb.get("schema").and_then(Value::as_array),
                        ob.get("schema").and_then(Value::as_array),
                    ) {
                        b["schema"] = Value::Array(combine_fields(ws, os));
                    }
                }
                blocks.push(b);
            }
            for ob in o {
                if field_uid(ob).is_some_and(|u| !w.iter().any(|b| field_uid(b) == Some(u))) {
                    blocks.push(ob.clone());
                }
            }
            out["blocks"] = Value::Array(blocks);
        }
        _ => {}
    }
    out
}

/// What differs in a modified item, seen from each side: Contentstack's `differences` — the
/// top-level fields of that side that the other side lacks or has otherwise (with their
/// `path`, `schema[i]`), and `{"path": "title", "value": …}` when titles differ.
pub fn differences(side: &Item, other: &Item) -> Vec<Value> {
    let mut out = Vec::new();
    if side.title != other.title {
        out.push(serde_json::json!({"path": "title", "value": side.title}));
    }
    if side.description != other.description {
        out.push(serde_json::json!({"path": "description", "value": side.description}));
    }
    if side.options != other.options {
        out.push(serde_json::json!({"path": "options", "value": side.options}));
    }
    let others: &[Value] = other.schema.as_array().map(Vec::as_slice).unwrap_or(&[]);
    for (i, f) in side.schema.as_array().into_iter().flatten().enumerate() {
        let same = others
            .iter()
            .any(|o| field_uid(o).is_some() && field_uid(o) == field_uid(f) && o == f);
        if !same {
            let mut shown = f.as_object().cloned().unwrap_or_else(Map::new);
            shown.insert("path".into(), Value::String(format!("schema[{i}]")));
            out.push(Value::Object(shown));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn item(title: &str, fields: &[(&str, &str)]) -> Item {
        Item {
            uid: "blog".into(),
            title: title.into(),
            description: String::new(),
            schema: Value::Array(
                fields
                    .iter()
                    .map(|(u, t)| json!({"uid": u, "data_type": t, "display_name": u}))
                    .collect(),
            ),
            options: json!({}),
        }
    }

    fn uids(i: &Item) -> Vec<String> {
        i.schema
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                format!(
                    "{}:{}",
                    f["uid"].as_str().unwrap(),
                    f["data_type"].as_str().unwrap()
                )
            })
            .collect()
    }

    #[test]
    fn statuses() {
        let a = item("A", &[("title", "text")]);
        let b = item("B", &[("title", "text")]);
        assert_eq!(status(Some(&a), None), Some(Status::BaseOnly));
        assert_eq!(status(None, Some(&a)), Some(Status::CompareOnly));
        assert_eq!(status(Some(&a), Some(&b)), Some(Status::Modified));
        assert_eq!(status(Some(&a), Some(&a.clone())), None);
    }

    #[test]
    fn each_strategy_on_each_status() {
        use Strategy::*;
        let base = item(
            "Base",
            &[("title", "text"), ("body", "text"), ("old", "text")],
        );
        let cmp = item(
            "Compare",
            &[("title", "text"), ("body", "number"), ("new", "text")],
        );
        // A conflict (body differs): the preferred side's version wins; fields only one side
        // has are kept.
        match merge_item(PreferBase, Some(&base), Some(&cmp)) {
            Outcome::Replace(m) => {
                assert_eq!(m.title, "Base");
                assert_eq!(
                    uids(&m),
                    ["title:text", "body:text", "old:text", "new:text"]
                );
            }
            o => panic!("{o:?}"),
        }
        match merge_item(PreferCompare, Some(&base), Some(&cmp)) {
            Outcome::Replace(m) => {
                assert_eq!(m.title, "Compare");
                assert_eq!(
                    uids(&m),
                    ["title:text", "body:number", "new:text", "old:text"]
                );
            }
            o => panic!("{o:?}"),
        }
        assert_eq!(
            merge_item(OverwriteWithCompare, Some(&base), Some(&cmp)),
            Outcome::Replace(cmp.clone())
        );
        assert_eq!(merge_item(NewOnly, Some(&base), Some(&cmp)), Outcome::Keep);
        assert_eq!(merge_item(Ignore, Some(&base), Some(&cmp)), Outcome::Keep);
        assert!(matches!(
            merge_item(ModifiedOnlyPreferBase, Some(&base), Some(&cmp)),
            Outcome::Replace(_)
        ));
        // New on the compare branch.
        for s in [PreferBase, PreferCompare, OverwriteWithCompare, NewOnly] {
            assert_eq!(
                merge_item(s, None, Some(&cmp)),
                Outcome::Create(cmp.clone())
            );
        }
        for s in [ModifiedOnlyPreferBase, ModifiedOnlyPreferCompare, Ignore] {
            assert_eq!(merge_item(s, None, Some(&cmp)), Outcome::Keep);
        }
        // Only on the base branch: only overwrite removes it.
        assert_eq!(
            merge_item(OverwriteWithCompare, Some(&base), None),
            Outcome::Delete
        );
        assert_eq!(merge_item(PreferCompare, Some(&base), None), Outcome::Keep);
        // Identical: nothing to do.
        assert_eq!(
            merge_item(OverwriteWithCompare, Some(&base), Some(&base)),
            Outcome::Keep
        );
    }

    #[test]
    fn prefer_base_with_nothing_new_keeps_the_base() {
        let base = item("Base", &[("title", "text"), ("body", "text")]);
        let cmp = item("Compare", &[("title", "text")]);
        assert_eq!(
            merge_item(Strategy::PreferBase, Some(&base), Some(&cmp)),
            Outcome::Keep
        );
    }

    #[test]
    fn differences_name_paths() {
        let base = item("Base", &[("title", "text"), ("body", "text")]);
        let cmp = item("Compare", &[("title", "text"), ("body", "number")]);
        let d = differences(&base, &cmp);
        assert_eq!(d[0], json!({"path": "title", "value": "Base"}));
        assert_eq!(d[1]["path"], "schema[1]");
        assert_eq!(d[1]["data_type"], "text");
        assert_eq!(d.len(), 2);
    }

    #[test]
    fn strategy_names_round_trip() {
        for n in Strategy::NAMES {
            assert!(Strategy::parse(n).is_some(), "{n}");
        }
        assert!(Strategy::parse("merge_everything").is_none());
    }

    #[test]
    fn groups_and_blocks_merge_field_by_field() {
        let base = Item {
            uid: "page".into(),
            title: "Page".into(),
            description: String::new(),
            schema: json!([
                {"uid": "title", "data_type": "text"},
                {"uid": "seo", "data_type": "group", "display_name": "SEO (base)", "schema": [
                    {"uid": "keywords", "data_type": "text"},
                    {"uid": "base_only", "data_type": "text"}]},
                {"uid": "body", "data_type": "blocks", "blocks": [
                    {"uid": "hero", "schema": [{"uid": "heading", "data_type": "text"}]},
                    {"uid": "base_block", "schema": []}]}
            ]),
            options: json!({}),
        };
        let compare = Item {
            schema: json!([
                {"uid": "title", "data_type": "text"},
                {"uid": "seo", "data_type": "group", "display_name": "SEO (compare)", "schema": [
                    {"uid": "keywords", "data_type": "text", "multiple": true},
                    {"uid": "description", "data_type": "text"}]},
                {"uid": "body", "data_type": "blocks", "blocks": [
                    {"uid": "hero", "schema": [{"uid": "image", "data_type": "file"}]},
                    {"uid": "quote", "schema": []}]}
            ]),
            ..base.clone()
        };
        let Outcome::Replace(m) = merge_item(Strategy::PreferBase, Some(&base), Some(&compare))
        else {
            panic!("a merge")
        };
        let seo = &m.schema[1];
        assert_eq!(seo["display_name"], "SEO (base)");
        let names: Vec<&str> = seo["schema"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["uid"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["keywords", "base_only", "description"]);
        assert_eq!(
            seo["schema"][0].get("multiple"),
            None,
            "the base's version wins the conflict"
        );
        let blocks: Vec<&str> = m.schema[2]["blocks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["uid"].as_str().unwrap())
            .collect();
        assert_eq!(blocks, ["hero", "base_block", "quote"]);
        let hero: Vec<&str> = m.schema[2]["blocks"][0]["schema"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["uid"].as_str().unwrap())
            .collect();
        assert_eq!(hero, ["heading", "image"]);
        let Outcome::Replace(c) = merge_item(Strategy::PreferCompare, Some(&base), Some(&compare))
        else {
            panic!("a merge")
        };
        assert_eq!(c.schema[1]["display_name"], "SEO (compare)");
        assert_eq!(c.schema[1]["schema"][0]["multiple"], true);
        let Outcome::Replace(o) =
            merge_item(Strategy::OverwriteWithCompare, Some(&base), Some(&compare))
        else {
            panic!("an overwrite")
        };
        assert_eq!(
            o.schema, compare.schema,
            "overwrite takes the compare side as it is"
        );
    }
}
