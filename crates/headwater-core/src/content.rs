//! Content models: validating a content type's (or global field's) schema, and validating an
//! entry against it. Errors name the field by its path (`author.name`, `sections[1].title`).

use crate::scope::FieldErrors;
use regex::Regex;
use serde_json::{Map, Value};

/// The field types Headwater stores and validates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DataType {
    Text,
    Number,
    Boolean,
    IsoDate,
    File,
    Link,
    Reference,
    Group,
    Blocks,
    Json,
    GlobalField,
    /// Terms of taxonomies (`taxonomies: [{taxonomy_uid, max_terms, mandatory}]`); the value
    /// is `[{"taxonomy_uid", "term_uid"}]`. One per content type, at the top, uid `taxonomies`.
    Taxonomy,
}

impl DataType {
    fn parse(s: &str) -> Option<DataType> {
        Some(match s {
            "text" => DataType::Text,
            "number" => DataType::Number,
            "boolean" => DataType::Boolean,
            "isodate" => DataType::IsoDate,
            "file" => DataType::File,
            "link" => DataType::Link,
            "reference" => DataType::Reference,
            "group" => DataType::Group,
            "blocks" => DataType::Blocks,
            "json" => DataType::Json,
            "global_field" => DataType::GlobalField,
            "taxonomy" => DataType::Taxonomy,
            _ => return None,
        })
    }
}

#[derive(Clone, Debug)]
pub struct Block {
    pub uid: String,
    pub fields: Vec<Field>,
}

#[derive(Clone, Debug)]
pub struct Field {
    pub uid: String,
    pub data_type: DataType,
    pub mandatory: bool,
    pub unique: bool,
    pub multiple: bool,
    /// Nested fields of a group or a resolved global field.
    pub fields: Vec<Field>,
    pub blocks: Vec<Block>,
    /// Allowed values of a select field (`enum.choices[].value`).
    pub choices: Option<Vec<Value>>,
    pub format: Option<Regex>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub reference_to: Vec<String>,
    /// The taxonomies a taxonomy field takes terms of.
    pub taxonomies: Vec<TaxonomyRule>,
}

/// One taxonomy of a taxonomy field.
#[derive(Clone, Debug, PartialEq)]
pub struct TaxonomyRule {
    pub taxonomy_uid: String,
    /// At most this many terms of the taxonomy on one entry.
    pub max_terms: u64,
    /// An entry must carry at least one term of the taxonomy.
    pub mandatory: bool,
}

/// The most terms of one taxonomy an entry may carry (the default and the limit of
/// `max_terms`).
pub const MAX_TERMS_PER_TAXONOMY: u64 = 25;

/// Finds a global field's schema by uid, when a schema embeds one.
pub type GlobalFieldLookup<'a> = &'a dyn Fn(&str) -> Option<Value>;

fn is_field_uid(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && s.len() <= 64
}

/// A content type or global field uid: lowercase letters, digits and `_`, starting with a letter.
pub fn is_schema_uid(s: &str) -> bool {
    s.chars().next().is_some_and(|c| c.is_ascii_lowercase()) && is_field_uid(s)
}

fn push(errors: &mut FieldErrors, path: &str, msg: impl Into<String>) {
    errors.entry(path.to_string()).or_default().push(msg.into());
}

/// Parses and checks a schema array. `require_title` is set for content types, which must
/// have a mandatory text field with uid `title`.
pub fn parse_schema(
    schema: &Value,
    require_title: bool,
    globals: GlobalFieldLookup<'_>,
) -> Result<Vec<Field>, FieldErrors> {
    parse_schema_of(None, schema, require_title, globals)
}

/// [`parse_schema`] for the schema of the global field `own_uid` (when it is one): a
/// `global_field` reference that leads back to a global field being resolved (the field
/// itself, directly or through other global fields, groups or blocks) is refused, naming the
/// cycle at the path of the reference.
pub fn parse_schema_of(
    own_uid: Option<&str>,
    schema: &Value,
    require_title: bool,
    globals: GlobalFieldLookup<'_>,
) -> Result<Vec<Field>, FieldErrors> {
    let mut errors = FieldErrors::new();
    let mut chain: Vec<String> = own_uid.map(str::to_string).into_iter().collect();
    let mut ctx = Resolve {
        globals,
        chain: &mut chain,
    };
    let fields = parse_fields(schema, "schema", &mut errors, &mut ctx, 0);
    if require_title && errors.is_empty() {
        match fields.iter().find(|f| f.uid == "title") {
            Some(f) if f.data_type == DataType::Text && !f.multiple => {}
            _ => push(
                &mut errors,
                "schema",
                "must contain a single-value text field with uid 'title'.",
            ),
        }
    }
    if errors.is_empty() {
        Ok(fields)
    } else {
        Err(errors)
    }
}

/// How `global_field` references are resolved: the lookup, and the global fields being
/// resolved (outermost first), which a reference may not name again.
struct Resolve<'a, 'c> {
    globals: GlobalFieldLookup<'a>,
    chain: &'c mut Vec<String>,
}

fn parse_fields(
    v: &Value,
    path: &str,
    errors: &mut FieldErrors,
    globals: &mut Resolve<'_, '_>,
    depth: usize,
) -> Vec<Field> {
    let Some(items) = v.as_array() else {
        push(errors, path, "must be an array of fields.");
        return Vec::new();
    };
    if depth > 8 {
        push(errors, path, "nests too deeply (at most 8 levels).");
        return Vec::new();
    }
    let mut out: Vec<Field> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let p = format!("{path}[{i}]");
        let Some(obj) = item.as_object() else {
            push(errors, &p, "must be an object.");
            continue;
        };
        let uid = match obj.get("uid").and_then(Value::as_str) {
            Some(u) if is_field_uid(u) => u.to_string(),
            _ => {
                push(
                    errors,
                    &format!("{p}.uid"),
                    "is required: lowercase letters, digits and '_'.",
                );
                continue;
            }
        };
        if out.iter().any(|f| f.uid == uid) {
            push(
                errors,
                &format!("{p}.uid"),
                format!("'{uid}' is used twice."),
            );
            continue;
        }
        if !obj.get("display_name").is_some_and(Value::is_string) {
            push(errors, &format!("{p}.display_name"), "is required.");
        }
        let Some(data_type) = obj
            .get("data_type")
            .and_then(Value::as_str)
            .and_then(DataType::parse)
        else {
            push(
                errors,
                &format!("{p}.data_type"),
                "must be one of text, number, boolean, isodate, file, link, reference, group, blocks, json, global_field, taxonomy.",
            );
            continue;
        };
        let flag = |k: &str| obj.get(k).and_then(Value::as_bool).unwrap_or(false);
        let mut field = Field {
            uid,
            data_type,
            mandatory: flag("mandatory"),
            unique: flag("unique"),
            multiple: flag("multiple"),
            fields: Vec::new(),
            blocks: Vec::new(),
            choices: None,
            format: None,
            min: obj.get("min").and_then(Value::as_f64),
            max: obj.get("max").and_then(Value::as_f64),
            reference_to: match obj.get("reference_to") {
                Some(Value::String(s)) => vec![s.clone()],
                Some(Value::Array(a)) => a
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect(),
                _ => Vec::new(),
            },
            taxonomies: Vec::new(),
        };
        if let Some(fmt) = obj
            .get("format")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
        {
            match Regex::new(fmt) {
                Ok(r) => field.format = Some(r),
                Err(_) => push(
                    errors,
                    &format!("{p}.format"),
                    "is not a valid regular expression.",
                ),
            }
        }
        if let Some(choices) = obj
            .get("enum")
            .and_then(|e| e.get("choices"))
            .and_then(Value::as_array)
        {
            field.choices = Some(
                choices
                    .iter()
                    .map(|c| c.get("value").cloned().unwrap_or_else(|| c.clone()))
                    .collect(),
            );
        }
        match data_type {
            DataType::Group => {
                field.fields = parse_fields(
                    obj.get("schema").unwrap_or(&Value::Null),
                    &format!("{p}.schema"),
                    errors,
                    globals,
                    depth + 1,
                );
            }
            DataType::Blocks => match obj.get("blocks").and_then(Value::as_array) {
                Some(blocks) => {
                    for (j, b) in blocks.iter().enumerate() {
                        let bp = format!("{p}.blocks[{j}]");
                        match b.get("uid").and_then(Value::as_str) {
                            Some(bu) if is_field_uid(bu) => {
                                let fields = if let Some(gf) =
                                    b.get("reference_to").and_then(Value::as_str)
                                {
                                    resolve_global(gf, &bp, errors, globals, depth)
                                } else {
                                    parse_fields(
                                        b.get("schema").unwrap_or(&Value::Null),
                                        &format!("{bp}.schema"),
                                        errors,
                                        globals,
                                        depth + 1,
                                    )
                                };
                                field.blocks.push(Block {
                                    uid: bu.to_string(),
                                    fields,
                                });
                            }
                            _ => push(errors, &format!("{bp}.uid"), "is required."),
                        }
                    }
                }
                None => push(
                    errors,
                    &format!("{p}.blocks"),
                    "is required for a blocks field.",
                ),
            },
            DataType::Taxonomy => {
                if depth > 0 || field.uid != "taxonomies" {
                    push(
                        errors,
                        &format!("{p}.uid"),
                        "a taxonomy field sits at the top of the schema with uid 'taxonomies'.",
                    );
                }
                field.taxonomies = parse_taxonomy_rules(obj.get("taxonomies"), &p, errors);
            }
            DataType::Reference if field.reference_to.is_empty() => {
                push(
                    errors,
                    &format!("{p}.reference_to"),
                    "must name at least one content type.",
                );
            }
            DataType::GlobalField => match field.reference_to.first().cloned() {
                Some(gf) => field.fields = resolve_global(&gf, &p, errors, globals, depth),
                None => push(
                    errors,
                    &format!("{p}.reference_to"),
                    "must name a global field.",
                ),
            },
            _ => {}
        }
        out.push(field);
    }
    out
}

fn parse_taxonomy_rules(v: Option<&Value>, p: &str, errors: &mut FieldErrors) -> Vec<TaxonomyRule> {
    let path = format!("{p}.taxonomies");
    let Some(items) = v.and_then(Value::as_array).filter(|a| !a.is_empty()) else {
        push(errors, &path, "must name at least one taxonomy.");
        return Vec::new();
    };
    let mut out: Vec<TaxonomyRule> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let ip = format!("{path}[{i}]");
        let Some(uid) = item
            .get("taxonomy_uid")
            .and_then(Value::as_str)
            .filter(|u| is_schema_uid(u))
        else {
            push(errors, &format!("{ip}.taxonomy_uid"), "is required.");
            continue;
        };
        if out.iter().any(|r| r.taxonomy_uid == uid) {
            push(
                errors,
                &format!("{ip}.taxonomy_uid"),
                format!("'{uid}' is named twice."),
            );
            continue;
        }
        let max_terms = match item.get("max_terms") {
            None | Some(Value::Null) => MAX_TERMS_PER_TAXONOMY,
            Some(m) => match m.as_u64() {
                Some(n @ 1..=MAX_TERMS_PER_TAXONOMY) => n,
                _ => {
                    push(
                        errors,
                        &format!("{ip}.max_terms"),
                        format!("must be a whole number from 1 to {MAX_TERMS_PER_TAXONOMY}."),
                    );
                    continue;
                }
            },
        };
        out.push(TaxonomyRule {
            taxonomy_uid: uid.to_string(),
            max_terms,
            mandatory: item.get("mandatory").and_then(Value::as_bool) == Some(true),
        });
    }
    out
}

/// The taxonomy field of a content type, if it has one.
pub fn taxonomy_field(fields: &[Field]) -> Option<&Field> {
    fields.iter().find(|f| f.data_type == DataType::Taxonomy)
}

/// The (taxonomy uid, term uid) pairs of an entry document's `taxonomies` value (as validated
/// by [`validate_entry`]; anything else in it is skipped).
pub fn entry_terms(doc: &Map<String, Value>) -> Vec<(String, String)> {
    doc.get("taxonomies")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|t| {
            Some((
                t.get("taxonomy_uid")?.as_str()?.to_string(),
                t.get("term_uid")?.as_str()?.to_string(),
            ))
        })
        .collect()
}

fn resolve_global(
    uid: &str,
    path: &str,
    errors: &mut FieldErrors,
    globals: &mut Resolve<'_, '_>,
    depth: usize,
) -> Vec<Field> {
    if globals.chain.iter().any(|g| g == uid) {
        let cycle: Vec<&str> = globals
            .chain
            .iter()
            .map(String::as_str)
            .skip_while(|g| *g != uid)
            .chain([uid])
            .collect();
        push(
            errors,
            &format!("{path}.reference_to"),
            format!(
                "the global field '{uid}' would include itself ({}): global fields may not form a cycle.",
                cycle.join(" → ")
            ),
        );
        return Vec::new();
    }
    match (globals.globals)(uid) {
        Some(schema) => {
            globals.chain.push(uid.to_string());
            let fields = parse_fields(
                &schema,
                &format!("{path}.schema"),
                errors,
                globals,
                depth + 1,
            );
            globals.chain.pop();
            fields
        }
        None => {
            push(
                errors,
                &format!("{path}.reference_to"),
                format!("the global field '{uid}' doesn't exist."),
            );
            Vec::new()
        }
    }
}

/// Keys an entry body may carry that are not fields: system values the server owns. Clients
/// send them back on update (the JS client returns the whole fetched entry); they are ignored.
fn is_system_key(k: &str) -> bool {
    k.starts_with('_')
        || matches!(
            k,
            "uid"
                | "locale"
                | "created_at"
                | "updated_at"
                | "created_by"
                | "updated_by"
                | "ACL"
                | "publish_details"
                | "tags"
                | "content_type_uid"
                | "stackHeaders"
                | "api_key"
        )
}

/// How deeply an entry document may nest objects and arrays.
pub const MAX_ENTRY_DEPTH: usize = 32;
/// How many object keys an entry document may hold in all (at every level, `json` fields
/// included).
pub const MAX_ENTRY_KEYS: usize = 10_000;

/// Checks the shape limits of an entry document ([`MAX_ENTRY_DEPTH`], [`MAX_ENTRY_KEYS`]),
/// naming the path where a limit is passed. A document within them costs bounded work to
/// validate, store and index.
pub fn check_entry_limits(doc: &Map<String, Value>) -> Result<(), FieldErrors> {
    fn walk(
        v: &Value,
        path: &str,
        depth: usize,
        keys: &mut usize,
        errors: &mut FieldErrors,
    ) -> bool {
        if depth > MAX_ENTRY_DEPTH {
            push(
                errors,
                path,
                format!("nests too deeply: an entry may nest objects and arrays at most {MAX_ENTRY_DEPTH} levels."),
            );
            return false;
        }
        match v {
            Value::Object(map) => {
                *keys += map.len();
                if *keys > MAX_ENTRY_KEYS {
                    push(
                        errors,
                        path,
                        format!("holds too many keys: an entry may hold at most {MAX_ENTRY_KEYS} object keys in all."),
                    );
                    return false;
                }
                map.iter()
                    .all(|(k, child)| walk(child, &join(path, k), depth + 1, keys, errors))
            }
            Value::Array(items) => items
                .iter()
                .enumerate()
                .all(|(i, child)| walk(child, &format!("{path}[{i}]"), depth + 1, keys, errors)),
            _ => true,
        }
    }
    let mut errors = FieldErrors::new();
    let mut keys = doc.len();
    if keys > MAX_ENTRY_KEYS {
        push(
            &mut errors,
            "entry",
            format!("holds too many keys: an entry may hold at most {MAX_ENTRY_KEYS} object keys in all."),
        );
        return Err(errors);
    }
    for (k, v) in doc {
        if !walk(v, k, 1, &mut keys, &mut errors) {
            return Err(errors);
        }
    }
    Ok(())
}

/// Validates an entry document against its fields. Returns the document with system keys
/// removed. Unknown keys are refused so that nothing a client sends is silently lost. A
/// document beyond [`check_entry_limits`] is refused before anything else is looked at.
pub fn validate_entry(
    fields: &[Field],
    doc: &Map<String, Value>,
) -> Result<Map<String, Value>, FieldErrors> {
    check_entry_limits(doc)?;
    let mut errors = FieldErrors::new();
    let out = check_object(fields, doc, "", &mut errors, true);
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}.{key}")
    }
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

fn check_object(
    fields: &[Field],
    doc: &Map<String, Value>,
    prefix: &str,
    errors: &mut FieldErrors,
    top: bool,
) -> Map<String, Value> {
    let mut out = Map::new();
    for (k, v) in doc {
        if top && is_system_key(k) {
            continue;
        }
        if !fields.iter().any(|f| &f.uid == k) {
            push(
                errors,
                &join(prefix, k),
                "is not a field of this content type.",
            );
        }
        let _ = v;
    }
    for f in fields {
        let path = join(prefix, &f.uid);
        let value = doc.get(&f.uid).unwrap_or(&Value::Null);
        if is_empty(value) {
            if f.mandatory {
                push(errors, &path, "is required.");
            }
            for r in f.taxonomies.iter().filter(|r| r.mandatory) {
                push(
                    errors,
                    &path,
                    format!("needs a term of the taxonomy '{}'.", r.taxonomy_uid),
                );
            }
            if !value.is_null() || doc.contains_key(&f.uid) {
                out.insert(f.uid.clone(), value.clone());
            }
            continue;
        }
        if f.multiple
            && !matches!(
                f.data_type,
                DataType::Blocks | DataType::Reference | DataType::Taxonomy
            )
        {
            match value.as_array() {
                Some(items) => {
                    let checked: Vec<Value> = items
                        .iter()
                        .enumerate()
                        .map(|(i, item)| check_value(f, item, &format!("{path}[{i}]"), errors))
                        .collect();
                    out.insert(f.uid.clone(), Value::Array(checked));
                }
                None => push(errors, &path, "must be an array (the field is multiple)."),
            }
        } else {
            let checked = check_value(f, value, &path, errors);
            out.insert(f.uid.clone(), checked);
        }
    }
    out
}

fn check_value(f: &Field, v: &Value, path: &str, errors: &mut FieldErrors) -> Value {
    if let Some(choices) = &f.choices {
        if !choices.contains(v) {
            push(errors, path, "is not one of the field's choices.");
        }
        return v.clone();
    }
    match f.data_type {
        DataType::Text => match v.as_str() {
            Some(s) => {
                if let Some(re) = &f.format {
                    if !re.is_match(s) {
                        push(errors, path, "does not match the field's format.");
                    }
                }
                let n = s.chars().count() as f64;
                if f.min.is_some_and(|m| n < m) || f.max.is_some_and(|m| n > m) {
                    push(errors, path, "has a length outside the field's limits.");
                }
            }
            None => push(errors, path, "must be a string."),
        },
        DataType::Number => match v.as_f64() {
            Some(n) => {
                if f.min.is_some_and(|m| n < m) {
                    push(
                        errors,
                        path,
                        format!("must be at least {}.", f.min.unwrap_or_default()),
                    );
                }
                if f.max.is_some_and(|m| n > m) {
                    push(
                        errors,
                        path,
                        format!("must be at most {}.", f.max.unwrap_or_default()),
                    );
                }
            }
            None => push(errors, path, "must be a number."),
        },
        DataType::Boolean => {
            if !v.is_boolean() {
                push(errors, path, "must be true or false.");
            }
        }
        DataType::IsoDate => {
            if v.as_str().and_then(crate::clock::parse_expiry).is_none() {
                push(
                    errors,
                    path,
                    "must be a date (YYYY-MM-DD) or an ISO 8601 timestamp.",
                );
            }
        }
        DataType::File => {
            let ok = v.is_string() || v.get("uid").is_some_and(Value::is_string);
            if !ok {
                push(errors, path, "must be an asset uid.");
            }
        }
        DataType::Link => {
            let ok = v.as_object().is_some_and(|o| {
                o.iter()
                    .all(|(k, x)| matches!(k.as_str(), "title" | "href") && x.is_string())
            });
            if !ok {
                push(
                    errors,
                    path,
                    "must be an object with string 'title' and 'href'.",
                );
            }
        }
        DataType::Reference => match v.as_array() {
            Some(items) => {
                for (i, item) in items.iter().enumerate() {
                    let ct = item.get("_content_type_uid").and_then(Value::as_str);
                    let ok = item.is_string()
                        || (item.get("uid").is_some_and(Value::is_string)
                            && ct.is_none_or(|c| f.reference_to.iter().any(|r| r == c)));
                    if !ok {
                        push(
                            errors,
                            &format!("{path}[{i}]"),
                            "must be {\"uid\", \"_content_type_uid\"} naming an allowed content type.",
                        );
                    }
                }
                if !f.multiple && items.len() > 1 {
                    push(
                        errors,
                        path,
                        "takes one reference (the field is not multiple).",
                    );
                }
            }
            None => push(errors, path, "must be an array of references."),
        },
        DataType::Group | DataType::GlobalField => match v.as_object() {
            Some(o) => return Value::Object(check_object(&f.fields, o, path, errors, false)),
            None => push(errors, path, "must be an object."),
        },
        DataType::Blocks => match v.as_array() {
            Some(items) => {
                let mut out = Vec::new();
                for (i, item) in items.iter().enumerate() {
                    let p = format!("{path}[{i}]");
                    match item.as_object().filter(|o| o.len() == 1) {
                        Some(o) => {
                            let (bk, bv) = o.iter().next().expect("one key");
                            match (f.blocks.iter().find(|b| &b.uid == bk), bv.as_object()) {
                                (Some(b), Some(body)) => {
                                    let checked =
                                        check_object(&b.fields, body, &join(&p, bk), errors, false);
                                    let mut m = Map::new();
                                    m.insert(bk.clone(), Value::Object(checked));
                                    out.push(Value::Object(m));
                                }
                                (None, _) => push(
                                    errors,
                                    &p,
                                    format!("'{bk}' is not a block of this field."),
                                ),
                                (_, None) => push(errors, &p, "a block's value must be an object."),
                            }
                        }
                        None => push(
                            errors,
                            &p,
                            "must be an object with exactly one block uid as key.",
                        ),
                    }
                }
                return Value::Array(out);
            }
            None => push(errors, path, "must be an array of blocks."),
        },
        DataType::Json => {}
        DataType::Taxonomy => return check_terms(f, v, path, errors),
    }
    v.clone()
}

fn check_terms(f: &Field, v: &Value, path: &str, errors: &mut FieldErrors) -> Value {
    let Some(items) = v.as_array() else {
        push(
            errors,
            path,
            "must be an array of {\"taxonomy_uid\", \"term_uid\"}.",
        );
        return v.clone();
    };
    let mut out: Vec<Value> = Vec::new();
    let mut seen: Vec<(String, String)> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let ip = format!("{path}[{i}]");
        let pair = item.as_object().filter(|o| o.len() == 2).and_then(|o| {
            Some((
                o.get("taxonomy_uid")?.as_str()?.to_string(),
                o.get("term_uid")?.as_str()?.to_string(),
            ))
        });
        let Some((tax, term)) = pair else {
            push(
                errors,
                &ip,
                "must be {\"taxonomy_uid\", \"term_uid\"} (strings).",
            );
            continue;
        };
        if !f.taxonomies.iter().any(|r| r.taxonomy_uid == tax) {
            push(
                errors,
                &ip,
                format!("'{tax}' is not a taxonomy of this field."),
            );
            continue;
        }
        if seen.contains(&(tax.clone(), term.clone())) {
            push(errors, &ip, format!("the term '{term}' is named twice."));
            continue;
        }
        out.push(serde_json::json!({"taxonomy_uid": tax, "term_uid": term}));
        seen.push((tax, term));
    }
    for r in &f.taxonomies {
        let n = seen.iter().filter(|(t, _)| *t == r.taxonomy_uid).count() as u64;
        if n > r.max_terms {
            push(
                errors,
                path,
                format!(
                    "takes at most {} terms of the taxonomy '{}'.",
                    r.max_terms, r.taxonomy_uid
                ),
            );
        }
        if n == 0 && r.mandatory {
            push(
                errors,
                path,
                format!("needs a term of the taxonomy '{}'.", r.taxonomy_uid),
            );
        }
    }
    Value::Array(out)
}

/// The dotted paths of the `json` fields an entry reaches through objects alone (top level,
/// single groups and single global fields): free-form data the entry field index leaves out.
/// Fields inside arrays (multiple fields, blocks) are not listed: arrays are never indexed.
pub fn json_paths(fields: &[Field]) -> Vec<String> {
    fn walk(fields: &[Field], prefix: &str, out: &mut Vec<String>) {
        for f in fields.iter().filter(|f| !f.multiple) {
            match f.data_type {
                DataType::Json => out.push(join(prefix, &f.uid)),
                DataType::Group | DataType::GlobalField => {
                    walk(&f.fields, &join(prefix, &f.uid), out)
                }
                _ => {}
            }
        }
    }
    let mut out = Vec::new();
    walk(fields, "", &mut out);
    out
}

/// What an entry refers to, as nested-reference publishing follows it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Referenced {
    /// An entry; its content type when the value or the field names exactly one.
    Entry {
        uid: String,
        content_type: Option<String>,
    },
    Asset {
        uid: String,
    },
}

/// The entries and assets a document refers to through its schema: `reference` values
/// (`{"uid", "_content_type_uid"}`, or a bare uid when the field allows one content type),
/// `file` values (the asset uid, or `{"uid"}`), and the embeds of JSON rich text
/// (`attrs["entry-uid"]` with `attrs["content-type-uid"]`, `attrs["asset-uid"]`), inside groups,
/// global fields and modular blocks at any depth. In order of appearance, without repeats.
pub fn references_in(fields: &[Field], doc: &Map<String, Value>) -> Vec<Referenced> {
    fn push(out: &mut Vec<Referenced>, r: Referenced) {
        if !out.contains(&r) {
            out.push(r);
        }
    }
    fn values(f: &Field, v: &Value) -> Vec<Value> {
        match v {
            Value::Array(a) if f.multiple || f.data_type == DataType::Reference => a.clone(),
            Value::Null => Vec::new(),
            v => vec![v.clone()],
        }
    }
    fn embeds(v: &Value, out: &mut Vec<Referenced>) {
        match v {
            Value::Object(m) => {
                if let Some(uid) = m.get("entry-uid").and_then(Value::as_str) {
                    let ct = m.get("content-type-uid").and_then(Value::as_str);
                    push(
                        out,
                        Referenced::Entry {
                            uid: uid.to_string(),
                            content_type: ct.map(str::to_string),
                        },
                    );
                }
                if let Some(uid) = m.get("asset-uid").and_then(Value::as_str) {
                    push(
                        out,
                        Referenced::Asset {
                            uid: uid.to_string(),
                        },
                    );
                }
                m.values().for_each(|v| embeds(v, out));
            }
            Value::Array(a) => a.iter().for_each(|v| embeds(v, out)),
            _ => {}
        }
    }
    fn walk(fields: &[Field], doc: &Map<String, Value>, out: &mut Vec<Referenced>) {
        for f in fields {
            let Some(v) = doc.get(&f.uid) else { continue };
            match f.data_type {
                DataType::Reference => {
                    for item in v.as_array().into_iter().flatten() {
                        let (uid, ct) = match item {
                            Value::String(uid) => (Some(uid.as_str()), None),
                            Value::Object(m) => (
                                m.get("uid").and_then(Value::as_str),
                                m.get("_content_type_uid").and_then(Value::as_str),
                            ),
                            _ => (None, None),
                        };
                        let ct = ct.map(str::to_string).or_else(|| {
                            (f.reference_to.len() == 1).then(|| f.reference_to[0].clone())
                        });
                        if let Some(uid) = uid.filter(|u| !u.is_empty()) {
                            push(
                                out,
                                Referenced::Entry {
                                    uid: uid.to_string(),
                                    content_type: ct,
                                },
                            );
                        }
                    }
                }
                DataType::File => {
                    for item in values(f, v) {
                        let uid = match &item {
                            Value::String(s) => Some(s.as_str()),
                            Value::Object(m) => m.get("uid").and_then(Value::as_str),
                            _ => None,
                        };
                        if let Some(uid) = uid.filter(|u| !u.is_empty()) {
                            push(
                                out,
                                Referenced::Asset {
                                    uid: uid.to_string(),
                                },
                            );
                        }
                    }
                }
                DataType::Group | DataType::GlobalField => {
                    for item in values(f, v) {
                        if let Value::Object(m) = item {
                            walk(&f.fields, &m, out);
                        }
                    }
                }
                DataType::Blocks => {
                    for item in v.as_array().into_iter().flatten() {
                        for (bk, body) in item.as_object().into_iter().flatten() {
                            if let (Some(b), Value::Object(m)) =
                                (f.blocks.iter().find(|b| &b.uid == bk), body)
                            {
                                walk(&b.fields, m, out);
                            }
                        }
                    }
                }
                DataType::Json => embeds(v, out),
                _ => {}
            }
        }
    }
    let mut out = Vec::new();
    walk(fields, doc, &mut out);
    out
}

/// Top-level fields whose values must be unique among the content type's entries in a locale.
pub fn unique_fields(fields: &[Field]) -> impl Iterator<Item = &Field> {
    fields.iter().filter(|f| {
        f.unique && !f.multiple && matches!(f.data_type, DataType::Text | DataType::Number)
    })
}

/// Why a schema change would orphan stored entry data: removed fields and fields whose type or
/// multiplicity changed. Adding fields and changing validations is always allowed.
pub fn breaking_changes(old: &[Field], new: &[Field], prefix: &str) -> Vec<String> {
    let mut out = Vec::new();
    for o in old {
        let path = join(prefix, &o.uid);
        match new.iter().find(|n| n.uid == o.uid) {
            None => out.push(format!("{path} is removed")),
            Some(n) if n.data_type != o.data_type || n.multiple != o.multiple => {
                out.push(format!("{path} changes type or multiplicity"))
            }
            Some(n) => out.extend(breaking_changes(&o.fields, &n.fields, &path)),
        }
    }
    out
}

/// Fills what Contentstack's own editor always writes and some clients read without checking:
/// a `reference` field without `field_metadata` gets `{"ref_multiple": <multiple>,
/// "ref_multiple_content_types": <reference_to is a list>}` (the csdx import reads
/// `field_metadata` of every reference field and stops on one that has none). Keys already
/// present are kept. Walks groups, modular blocks and embedded global-field schemas.
pub fn fill_field_defaults(schema: &mut Value) {
    let Value::Array(fields) = schema else {
        return;
    };
    for f in fields.iter_mut() {
        let Value::Object(o) = f else { continue };
        if o.get("data_type").and_then(Value::as_str) == Some("reference") {
            let multiple = o.get("multiple").and_then(Value::as_bool).unwrap_or(false);
            let many_types = !matches!(o.get("reference_to"), Some(Value::String(_)));
            if !matches!(o.get("field_metadata"), Some(Value::Object(_))) {
                o.insert("field_metadata".into(), Value::Object(Map::new()));
            }
            if let Some(Value::Object(m)) = o.get_mut("field_metadata") {
                m.entry("ref_multiple").or_insert(Value::Bool(multiple));
                m.entry("ref_multiple_content_types")
                    .or_insert(Value::Bool(many_types));
            }
        }
        if let Some(nested) = o.get_mut("schema") {
            fill_field_defaults(nested);
        }
        if let Some(Value::Array(blocks)) = o.get_mut("blocks") {
            for b in blocks.iter_mut() {
                if let Some(nested) = b.get_mut("schema") {
                    fill_field_defaults(nested);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn references_are_found_through_the_schema() {
        let f = |uid: &str, t: &str| json!({"uid": uid, "display_name": uid, "data_type": t});
        let mut author = f("author", "reference");
        author["reference_to"] = json!(["person"]);
        let mut seo_image = f("image", "file");
        seo_image["multiple"] = json!(true);
        let mut seo = f("seo", "group");
        seo["schema"] = json!([seo_image]);
        let mut by = f("by", "reference");
        by["reference_to"] = json!(["person", "org"]);
        let mut body = f("body", "blocks");
        body["blocks"] = json!([{"uid": "quote", "title": "Quote", "schema": [by]}]);
        let mut title = f("title", "text");
        title["mandatory"] = json!(true);
        let schema = json!([
            title,
            author,
            f("hero", "file"),
            f("note", "text"),
            seo,
            body,
            f("rte", "json")
        ]);
        let fields = parse_schema(&schema, true, &no_globals).expect("schema");
        let doc = json!({
            "title": "t", "author": ["p1"], "hero": "a1", "note": "a9",
            "seo": {"image": ["a2", {"uid": "a1"}]},
            "body": [{"quote": {"by": [{"uid": "o1", "_content_type_uid": "org"}]}}],
            "rte": {"children": [{"attrs": {"entry-uid": "p2", "content-type-uid": "person"}},
                                 {"attrs": {"asset-uid": "a3"}}]}
        });
        let refs = references_in(&fields, doc.as_object().expect("object"));
        let e = |u: &str, ct: &str| Referenced::Entry {
            uid: u.into(),
            content_type: Some(ct.into()),
        };
        let a = |u: &str| Referenced::Asset { uid: u.into() };
        assert_eq!(
            refs,
            vec![
                e("p1", "person"),
                a("a1"),
                a("a2"),
                e("o1", "org"),
                e("p2", "person"),
                a("a3")
            ]
        );
    }
    use super::*;
    use serde_json::json;

    fn no_globals(_: &str) -> Option<Value> {
        None
    }

    fn blog() -> Vec<Field> {
        parse_schema(
            &json!([
                {"uid": "title", "display_name": "Title", "data_type": "text", "mandatory": true, "unique": true},
                {"uid": "slug", "display_name": "Slug", "data_type": "text", "format": "^[a-z-]+$"},
                {"uid": "rating", "display_name": "Rating", "data_type": "number", "min": 1, "max": 5},
                {"uid": "live", "display_name": "Live", "data_type": "boolean"},
                {"uid": "tags2", "display_name": "Tags", "data_type": "text", "multiple": true},
                {"uid": "author", "display_name": "Author", "data_type": "group", "schema": [
                    {"uid": "name", "display_name": "Name", "data_type": "text", "mandatory": true}
                ]},
                {"uid": "kind", "display_name": "Kind", "data_type": "text", "display_type": "dropdown",
                 "enum": {"choices": [{"value": "news"}, {"value": "opinion"}]}},
                {"uid": "sections", "display_name": "Sections", "data_type": "blocks", "multiple": true, "blocks": [
                    {"uid": "quote", "title": "Quote", "schema": [
                        {"uid": "text", "display_name": "Text", "data_type": "text", "mandatory": true}]}
                ]},
                {"uid": "related", "display_name": "Related", "data_type": "reference", "reference_to": ["blog"], "multiple": true},
                {"uid": "published_on", "display_name": "Date", "data_type": "isodate"},
                {"uid": "meta", "display_name": "Meta", "data_type": "json"},
                {"uid": "link", "display_name": "Link", "data_type": "link"}
            ]),
            true,
            &no_globals,
        )
        .unwrap()
    }

    #[test]
    fn a_valid_entry_passes_and_system_keys_are_dropped() {
        let doc = json!({
            "title": "Hello", "slug": "hello", "rating": 4, "live": true, "tags2": ["a"],
            "author": {"name": "Ada"}, "kind": "news",
            "sections": [{"quote": {"text": "Be bold"}}],
            "related": [{"uid": "blt1", "_content_type_uid": "blog"}],
            "published_on": "2024-05-01", "meta": {"any": [1, 2]},
            "link": {"title": "Home", "href": "/"},
            "uid": "ignored", "_version": 3, "ACL": {}, "publish_details": []
        });
        let out = validate_entry(&blog(), doc.as_object().unwrap()).unwrap();
        assert!(!out.contains_key("uid") && !out.contains_key("_version"));
        assert_eq!(out["author"]["name"], "Ada");
    }

    #[test]
    fn errors_name_each_field_by_path() {
        let doc = json!({
            "slug": "Not Valid", "rating": 9, "live": "yes", "tags2": "a",
            "author": {}, "kind": "satire",
            "sections": [{"quote": {}}, {"video": {}}],
            "related": [{"uid": "blt1", "_content_type_uid": "page"}],
            "published_on": "someday", "link": {"url": 1}, "surprise": 1
        });
        let e = validate_entry(&blog(), doc.as_object().unwrap()).unwrap_err();
        for key in [
            "title",
            "slug",
            "rating",
            "live",
            "tags2",
            "author.name",
            "kind",
            "sections[0].quote.text",
            "sections[1]",
            "related[0]",
            "published_on",
            "link",
            "surprise",
        ] {
            assert!(e.contains_key(key), "missing error for {key}: {e:?}");
        }
    }

    #[test]
    fn schema_errors() {
        assert!(parse_schema(
            &json!([{"uid": "body", "display_name": "B", "data_type": "text"}]),
            true,
            &no_globals
        )
        .is_err());
        let e = parse_schema(
            &json!([
                {"uid": "title", "display_name": "T", "data_type": "text"},
                {"uid": "Bad Uid", "display_name": "x", "data_type": "text"},
                {"uid": "x", "display_name": "x", "data_type": "colour"},
                {"uid": "r", "display_name": "r", "data_type": "reference"},
                {"uid": "f", "display_name": "f", "data_type": "text", "format": "("},
                {"uid": "g", "display_name": "g", "data_type": "global_field", "reference_to": "seo"}
            ]),
            true,
            &no_globals,
        )
        .unwrap_err();
        for key in [
            "schema[1].uid",
            "schema[2].data_type",
            "schema[3].reference_to",
            "schema[4].format",
            "schema[5].reference_to",
        ] {
            assert!(e.contains_key(key), "{key}: {e:?}");
        }
    }

    #[test]
    fn global_fields_are_resolved() {
        let seo = |uid: &str| {
            (uid == "seo").then(|| json!([{"uid": "keywords", "display_name": "K", "data_type": "text", "mandatory": true}]))
        };
        let f = parse_schema(
            &json!([{"uid": "title", "display_name": "T", "data_type": "text"},
                    {"uid": "seo", "display_name": "SEO", "data_type": "global_field", "reference_to": "seo"}]),
            true,
            &seo,
        )
        .unwrap();
        let e =
            validate_entry(&f, json!({"title": "x", "seo": {}}).as_object().unwrap()).unwrap_err();
        assert!(e.contains_key("seo.keywords"));
    }

    #[test]
    fn taxonomy_fields() {
        let f = parse_schema(
            &json!([{"uid": "title", "display_name": "T", "data_type": "text"},
                    {"uid": "taxonomies", "display_name": "Tax", "data_type": "taxonomy", "multiple": true,
                     "taxonomies": [{"taxonomy_uid": "color", "max_terms": 2, "mandatory": true},
                                    {"taxonomy_uid": "size"}]}]),
            true,
            &no_globals,
        )
        .unwrap();
        let ok = json!({"title": "x", "taxonomies": [{"taxonomy_uid": "color", "term_uid": "red"},
                                                     {"taxonomy_uid": "size", "term_uid": "l"}]});
        let out = validate_entry(&f, ok.as_object().unwrap()).unwrap();
        assert_eq!(entry_terms(&out).len(), 2);
        for bad in [
            json!({"title": "x"}),
            json!({"title": "x", "taxonomies": [{"taxonomy_uid": "size", "term_uid": "l"}]}),
            json!({"title": "x", "taxonomies": [{"taxonomy_uid": "shape", "term_uid": "l"},
                                                {"taxonomy_uid": "color", "term_uid": "red"}]}),
            json!({"title": "x", "taxonomies": [{"taxonomy_uid": "color", "term_uid": "a"},
                                                {"taxonomy_uid": "color", "term_uid": "b"},
                                                {"taxonomy_uid": "color", "term_uid": "c"}]}),
            json!({"title": "x", "taxonomies": [{"taxonomy_uid": "color", "term_uid": "a"},
                                                {"taxonomy_uid": "color", "term_uid": "a"}]}),
            json!({"title": "x", "taxonomies": "red"}),
        ] {
            assert!(
                validate_entry(&f, bad.as_object().unwrap()).is_err(),
                "{bad}"
            );
        }
        for bad in [
            json!([{"uid": "tags", "display_name": "T", "data_type": "taxonomy", "taxonomies": [{"taxonomy_uid": "c"}]}]),
            json!([{"uid": "taxonomies", "display_name": "T", "data_type": "taxonomy", "taxonomies": []}]),
            json!([{"uid": "taxonomies", "display_name": "T", "data_type": "taxonomy", "taxonomies": [{"taxonomy_uid": "c", "max_terms": 26}]}]),
            json!([{"uid": "g", "display_name": "G", "data_type": "group", "schema": [
                {"uid": "taxonomies", "display_name": "T", "data_type": "taxonomy", "taxonomies": [{"taxonomy_uid": "c"}]}]}]),
        ] {
            assert!(parse_schema(&bad, false, &no_globals).is_err(), "{bad}");
        }
    }

    #[test]
    fn breaking_changes_are_found() {
        let old = blog();
        let mut new = blog();
        new.retain(|f| f.uid != "slug");
        new.iter_mut()
            .find(|f| f.uid == "rating")
            .unwrap()
            .data_type = DataType::Text;
        let changes = breaking_changes(&old, &new, "");
        assert_eq!(changes.len(), 2, "{changes:?}");
        assert!(breaking_changes(&old, &blog(), "").is_empty());
    }

    #[test]
    fn reference_fields_get_field_metadata_defaults() {
        let mut schema = json!([
            {"uid": "one", "data_type": "reference", "reference_to": ["blog"]},
            {"uid": "many", "data_type": "reference", "reference_to": "blog", "multiple": true},
            {"uid": "kept", "data_type": "reference", "reference_to": ["a", "b"],
             "field_metadata": {"ref_multiple": true, "description": "x"}},
            {"uid": "g", "data_type": "group", "schema": [
                {"uid": "inner", "data_type": "reference", "reference_to": ["blog"]}]},
            {"uid": "b", "data_type": "blocks", "blocks": [{"uid": "q", "schema": [
                {"uid": "r", "data_type": "reference", "reference_to": ["blog"]}]}]},
            {"uid": "t", "data_type": "text"}
        ]);
        fill_field_defaults(&mut schema);
        let meta = |v: &Value| v["field_metadata"].clone();
        assert_eq!(
            meta(&schema[0]),
            json!({"ref_multiple": false, "ref_multiple_content_types": true})
        );
        assert_eq!(
            meta(&schema[1]),
            json!({"ref_multiple": true, "ref_multiple_content_types": false})
        );
        assert_eq!(
            meta(&schema[2]),
            json!({"ref_multiple": true, "description": "x", "ref_multiple_content_types": true})
        );
        assert_eq!(meta(&schema[3]["schema"][0])["ref_multiple"], json!(false));
        assert_eq!(
            meta(&schema[4]["blocks"][0]["schema"][0])["ref_multiple_content_types"],
            json!(true)
        );
        assert!(schema[5].get("field_metadata").is_none());
    }
}
