//! The entry query language (`?query=` JSON), parsed into a small tree that the store
//! compiles to parameterized SQL. Nothing a client writes here ever becomes SQL text: paths and
//! values are bound parameters.
//!
//! Supported: field equality (`{"title": "x"}`), `$eq $ne $in $nin $lt $lte $gt $gte $exists
//! $regex` (with `$options: "i"`), `$and`, `$or`, and dotted paths into groups
//! (`{"author.name": "Ada"}`). `$regex` takes plain or anchored literal patterns (`^Hello`,
//! `world$`, `middle`): the same matching on both database backends.

use serde_json::{Map, Value};

#[derive(Clone, Debug, PartialEq)]
pub enum Cond {
    And(Vec<Cond>),
    Or(Vec<Cond>),
    Cmp { path: Vec<String>, op: Op },
}

#[derive(Clone, Debug, PartialEq)]
pub enum Op {
    Eq(Scalar),
    Ne(Scalar),
    In(Vec<Scalar>),
    Nin(Vec<Scalar>),
    Lt(Scalar),
    Lte(Scalar),
    Gt(Scalar),
    Gte(Scalar),
    Exists(bool),
    /// A taxonomy hierarchy operator on `taxonomies.<taxonomy_uid>` (`$eq_below`, `$below`,
    /// `$eq_above`, `$above`, with `levels`). The API resolves it to an [`Op::In`] of the
    /// terms it stands for (see `crate::taxonomy::expand`) before the store sees the query.
    Hierarchy {
        kind: Hierarchy,
        term: String,
        levels: u32,
    },
    /// A literal matched as a prefix, suffix, whole value or substring.
    Like {
        literal: String,
        anchored_start: bool,
        anchored_end: bool,
        case_insensitive: bool,
    },
}

/// Which terms a hierarchy operator stands for, relative to its term.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hierarchy {
    /// The term and its descendants (`$eq_below`).
    EqBelow,
    /// The term's descendants (`$below`).
    Below,
    /// The term and its ancestors (`$eq_above`).
    EqAbove,
    /// The term's ancestors (`$above`).
    Above,
}

/// How many levels a hierarchy operator reaches when `levels` is not given, and at most.
pub const MAX_LEVELS: u32 = 10;

/// The taxonomy a path `taxonomies.<uid>` names.
pub fn taxonomy_of(path: &[String]) -> Option<&str> {
    match path {
        [first, uid] if first == "taxonomies" => Some(uid.as_str()),
        _ => None,
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Scalar {
    Text(String),
    Number(f64),
    Bool(bool),
    Null,
}

/// A refused query, with a message naming the offending part.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueryError(pub String);

const MAX_DEPTH: usize = 8;
const MAX_TERMS: usize = 64;
const MAX_IN: usize = 100;

/// Parses the `query` parameter.
pub fn parse(text: &str) -> Result<Cond, QueryError> {
    let v: Value = serde_json::from_str(text)
        .map_err(|e| QueryError(format!("query is not valid JSON: {e}")))?;
    let obj = v
        .as_object()
        .ok_or_else(|| QueryError("query must be a JSON object".into()))?;
    // No stored text can hold U+0000 (PostgreSQL refuses it): a query naming one is invalid.
    fn has_nul(v: &Value) -> bool {
        match v {
            Value::String(s) => s.contains('\0'),
            Value::Array(items) => items.iter().any(has_nul),
            Value::Object(m) => m.iter().any(|(k, x)| k.contains('\0') || has_nul(x)),
            _ => false,
        }
    }
    if has_nul(&v) {
        return Err(QueryError(
            "query must not contain the NUL character (U+0000)".into(),
        ));
    }
    let mut terms = 0;
    parse_obj(obj, 0, &mut terms)
}

fn parse_obj(
    obj: &Map<String, Value>,
    depth: usize,
    terms: &mut usize,
) -> Result<Cond, QueryError> {
    if depth > MAX_DEPTH {
        return Err(QueryError("query nests too deeply".into()));
    }
    let mut all = Vec::new();
    for (key, value) in obj {
        match key.as_str() {
            "$and" | "$or" => {
                let items = value.as_array().filter(|a| !a.is_empty()).ok_or_else(|| {
                    QueryError(format!("{key} takes a non-empty array of conditions"))
                })?;
                let mut parts = Vec::new();
                for item in items {
                    let o = item.as_object().filter(|o| !o.is_empty()).ok_or_else(|| {
                        QueryError(format!("each {key} condition must be a non-empty object"))
                    })?;
                    parts.push(parse_obj(o, depth + 1, terms)?);
                }
                all.push(if key == "$and" {
                    Cond::And(parts)
                } else {
                    Cond::Or(parts)
                });
            }
            k if k.starts_with('$') => return Err(QueryError(format!("unknown operator {k}"))),
            field => {
                let path = parse_path(field)?;
                for op in parse_ops(field, value)? {
                    *terms += 1;
                    if *terms > MAX_TERMS {
                        return Err(QueryError(format!(
                            "query has more than {MAX_TERMS} conditions"
                        )));
                    }
                    all.push(Cond::Cmp {
                        path: path.clone(),
                        op,
                    });
                }
            }
        }
    }
    Ok(if all.len() == 1 {
        all.remove(0)
    } else {
        Cond::And(all)
    })
}

fn parse_path(field: &str) -> Result<Vec<String>, QueryError> {
    let parts: Vec<String> = field.split('.').map(str::to_string).collect();
    let ok = parts.len() <= 10
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
    if ok {
        Ok(parts)
    } else {
        Err(QueryError(format!(
            "'{field}' is not a field path (letters, digits, '_' and '.')"
        )))
    }
}

fn scalar(field: &str, v: &Value) -> Result<Scalar, QueryError> {
    Ok(match v {
        Value::String(s) => Scalar::Text(s.clone()),
        Value::Number(n) => Scalar::Number(n.as_f64().unwrap_or(0.0)),
        Value::Bool(b) => Scalar::Bool(*b),
        Value::Null => Scalar::Null,
        _ => {
            return Err(QueryError(format!(
                "the value for '{field}' must be a string, number, boolean or null"
            )))
        }
    })
}

fn ordered(field: &str, op: &str, v: &Value) -> Result<Scalar, QueryError> {
    match scalar(field, v)? {
        s @ (Scalar::Text(_) | Scalar::Number(_)) => Ok(s),
        _ => Err(QueryError(format!(
            "{op} on '{field}' takes a string or a number"
        ))),
    }
}

fn list(field: &str, op: &str, v: &Value) -> Result<Vec<Scalar>, QueryError> {
    let items = v.as_array().filter(|a| a.len() <= MAX_IN).ok_or_else(|| {
        QueryError(format!(
            "{op} on '{field}' takes an array of at most {MAX_IN} values"
        ))
    })?;
    items.iter().map(|i| scalar(field, i)).collect()
}

fn parse_ops(field: &str, value: &Value) -> Result<Vec<Op>, QueryError> {
    let Some(obj) = value
        .as_object()
        .filter(|o| o.keys().any(|k| k.starts_with('$')))
    else {
        return Ok(vec![Op::Eq(scalar(field, value)?)]);
    };
    let case_insensitive = match obj.get("$options") {
        None => false,
        Some(Value::String(s)) if s.chars().all(|c| c == 'i') => s.contains('i'),
        Some(_) => return Err(QueryError("$options supports only \"i\"".into())),
    };
    let levels = match obj.get("levels") {
        None => MAX_LEVELS,
        Some(v) => match v.as_u64() {
            Some(n @ 1..=10) => n as u32,
            _ => {
                return Err(QueryError(format!(
                    "levels on '{field}' takes a whole number from 1 to {MAX_LEVELS}"
                )))
            }
        },
    };
    let is_taxonomy = field.split('.').count() == 2 && field.starts_with("taxonomies.");
    let mut ops = Vec::new();
    for (op, v) in obj {
        let kind = match op.as_str() {
            "$eq_below" => Some(Hierarchy::EqBelow),
            "$below" => Some(Hierarchy::Below),
            "$eq_above" => Some(Hierarchy::EqAbove),
            "$above" => Some(Hierarchy::Above),
            _ => None,
        };
        if let Some(kind) = kind {
            if !is_taxonomy {
                return Err(QueryError(format!(
                    "{op} applies to taxonomy paths (taxonomies.<taxonomy_uid>), not '{field}'"
                )));
            }
            let term = v
                .as_str()
                .filter(|t| !t.is_empty())
                .ok_or_else(|| QueryError(format!("{op} on '{field}' takes a term uid")))?;
            ops.push(Op::Hierarchy {
                kind,
                term: term.to_string(),
                levels,
            });
            continue;
        }
        ops.push(match op.as_str() {
            "$eq" => Op::Eq(scalar(field, v)?),
            "$ne" => Op::Ne(scalar(field, v)?),
            "$in" => Op::In(list(field, op, v)?),
            "$nin" => Op::Nin(list(field, op, v)?),
            "$lt" => Op::Lt(ordered(field, op, v)?),
            "$lte" => Op::Lte(ordered(field, op, v)?),
            "$gt" => Op::Gt(ordered(field, op, v)?),
            "$gte" => Op::Gte(ordered(field, op, v)?),
            "$exists" => {
                Op::Exists(v.as_bool().ok_or_else(|| {
                    QueryError(format!("$exists on '{field}' takes true or false"))
                })?)
            }
            "$regex" => {
                let pattern = v
                    .as_str()
                    .ok_or_else(|| QueryError(format!("$regex on '{field}' takes a string")))?;
                like(pattern, case_insensitive)?
            }
            "$options" => continue,
            "levels" if is_taxonomy => continue,
            other => return Err(QueryError(format!("unknown operator {other} on '{field}'"))),
        });
    }
    Ok(ops)
}

fn like(pattern: &str, case_insensitive: bool) -> Result<Op, QueryError> {
    let anchored_start = pattern.starts_with('^');
    let body = pattern.strip_prefix('^').unwrap_or(pattern);
    let anchored_end = body.ends_with('$') && !body.ends_with("\\$");
    let body = if anchored_end {
        &body[..body.len() - 1]
    } else {
        body
    };
    let mut literal = String::new();
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(e) if !e.is_ascii_alphanumeric() => literal.push(e),
                _ => return Err(unsupported_regex(pattern)),
            },
            '.' | '*' | '+' | '?' | '(' | ')' | '[' | ']' | '{' | '}' | '|' | '^' | '$' => {
                return Err(unsupported_regex(pattern))
            }
            c => literal.push(c),
        }
    }
    Ok(Op::Like {
        literal,
        anchored_start,
        anchored_end,
        case_insensitive,
    })
}

fn unsupported_regex(pattern: &str) -> QueryError {
    QueryError(format!(
        "$regex '{pattern}' is not supported: use a literal, optionally anchored with ^ and $ (escape special characters with \\)"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_operators() {
        let c = parse(r#"{"title": "x", "rating": {"$gte": 3, "$lt": 5}, "$or": [{"a.b": {"$in": [1, "2"]}}, {"c": {"$exists": false}}]}"#).unwrap();
        let Cond::And(parts) = c else { panic!() };
        assert_eq!(parts.len(), 4);
        assert!(parts.contains(&Cond::Cmp {
            path: vec!["title".into()],
            op: Op::Eq(Scalar::Text("x".into()))
        }));
        assert!(parts
            .iter()
            .any(|p| matches!(p, Cond::Or(v) if v.len() == 2)));
    }

    #[test]
    fn regex_subset() {
        let c = parse(r#"{"title": {"$regex": "^Hello\\.", "$options": "i"}}"#).unwrap();
        assert_eq!(
            c,
            Cond::Cmp {
                path: vec!["title".into()],
                op: Op::Like {
                    literal: "Hello.".into(),
                    anchored_start: true,
                    anchored_end: false,
                    case_insensitive: true
                }
            }
        );
        assert!(parse(r#"{"title": {"$regex": "a.*b"}}"#).is_err());
    }

    #[test]
    fn taxonomy_hierarchy_operators() {
        let c = parse(r#"{"taxonomies.color": {"$eq_below": "red", "levels": 2}}"#).unwrap();
        assert_eq!(
            c,
            Cond::Cmp {
                path: vec!["taxonomies".into(), "color".into()],
                op: Op::Hierarchy {
                    kind: Hierarchy::EqBelow,
                    term: "red".into(),
                    levels: 2
                }
            }
        );
        let c = parse(r#"{"taxonomies.color": {"$above": "red"}}"#).unwrap();
        assert!(matches!(
            c,
            Cond::Cmp {
                op: Op::Hierarchy {
                    kind: Hierarchy::Above,
                    levels: MAX_LEVELS,
                    ..
                },
                ..
            }
        ));
        for bad in [
            r#"{"title": {"$below": "x"}}"#,
            r#"{"taxonomies.color": {"$below": 3}}"#,
            r#"{"taxonomies.color": {"$below": "x", "levels": 0}}"#,
            r#"{"taxonomies.color": {"$below": "x", "levels": 11}}"#,
            r#"{"title": {"$eq": "x", "levels": 2}}"#,
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn refuses_tricks() {
        for bad in [
            r#"[1]"#,
            r#"{"$where": "1"}"#,
            r#"{"a'; DROP TABLE entries; --": 1}"#,
            r#"{"a..b": 1}"#,
            r#"{"$and": [{}, {}]}"#,
            r#"{"$and": []}"#,
            r#"{"x": {"$gt": true}}"#,
            r#"{"x": {"$in": 3}}"#,
            r#"{"x": {"$foo": 3}}"#,
            r#"{"x": {"y": [1]}}"#,
            "not json",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
