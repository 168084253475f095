//! Entries: one row per (entry, locale) holding the current version, a history row per
//! version, and the query compiler that turns a parsed `query` into parameterized SQL.

use super::{field_index, Actor, Conn};
use crate::batch::{Arg, Batch, Statement};
use crate::dialect;
use crate::error::Result;
use crate::exec::Exec;
use crate::row::Row;
use crate::row::*;
use crate::Backend;
use headwater_core::clock;
use headwater_core::query::{Cond, Op, Scalar};
use serde_json::Value;
use std::sync::Arc;

#[derive(Clone, Debug)]
pub struct Entry {
    pub uid: String,
    pub content_type_uid: String,
    pub locale: String,
    pub title: String,
    pub version: i64,
    pub doc: Value,
    pub tags: Value,
    pub created_by: String,
    pub updated_by: String,
    pub created_at: String,
    pub updated_at: String,
}

fn cols(backend: Backend) -> String {
    cols_of(backend, "e.")
}

/// The columns [`from_row`] reads, each prefixed (`e.`, or nothing in a `RETURNING`).
fn cols_of(backend: Backend, p: &str) -> String {
    format!(
        "{p}uid, {p}content_type_uid, {p}locale, {p}title, {p}version, {} AS doc, {p}tags, \
         {p}created_by, {p}updated_by, {p}created_at, {p}updated_at",
        dialect::json_text(backend, &format!("{p}doc"))
    )
}

fn from_row(r: &(impl ReadRow + ?Sized)) -> Result<Entry> {
    Ok(Entry {
        uid: s(r, "uid")?,
        content_type_uid: s(r, "content_type_uid")?,
        locale: s(r, "locale")?,
        title: s(r, "title")?,
        version: i(r, "version")?,
        doc: json(r, "doc")?,
        tags: json(r, "tags")?,
        created_by: s(r, "created_by")?,
        updated_by: s(r, "updated_by")?,
        created_at: s(r, "created_at")?,
        updated_at: s(r, "updated_at")?,
    })
}

/// A value bound into a compiled query.
#[derive(Clone, Debug, PartialEq)]
pub enum Param {
    Text(String),
    Float(f64),
    Int(i64),
}

impl From<Param> for Arg {
    fn from(p: Param) -> Arg {
        match p {
            Param::Text(v) => Arg::Text(Some(v)),
            Param::Float(v) => Arg::Float(Some(v)),
            Param::Int(v) => Arg::Int(Some(v)),
        }
    }
}

type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

fn bind_all<'q>(mut q: AnyQuery<'q>, params: &'q [Param]) -> AnyQuery<'q> {
    for p in params {
        q = match p {
            Param::Text(t) => q.bind(t.as_str()),
            Param::Float(f) => q.bind(*f),
            Param::Int(n) => q.bind(*n),
        };
    }
    q
}

/// Compiles conditions to a SQL boolean expression over the `entries e` row.
pub struct Compiler {
    backend: Backend,
    pub params: Vec<Param>,
}

/// The placeholders naming where a pre-filter looks up fields: the content space, the
/// content type and the locales the query reads.
pub struct FieldScope {
    pub stack: String,
    pub content_type: String,
    pub locales: Vec<String>,
    /// The paths some entry of the scope left out of the index (its markers, see
    /// `field_index`; `""` for whole entries), read by [`unindexed_paths`].
    pub unindexed: Vec<String>,
}

/// The paths below which some entry row of a content type in these locales is not indexed
/// (`json` fields, entries over the per-entry cap): the field index's markers.
pub async fn unindexed_paths(
    c: &mut Conn,
    stack_uid: &str,
    content_type_uid: &str,
    locales: &[&str],
) -> Result<Vec<String>> {
    let list: Vec<String> = (0..locales.len()).map(|i| format!("${}", i + 3)).collect();
    let sql = format!(
        "SELECT DISTINCT path FROM entry_fields WHERE stack_uid = $1 AND content_type_uid = $2 \
         AND locale IN ({}) AND substr(path, 1, 1) = '{}'",
        list.join(", "),
        field_index::MARKER
    );
    let mut q = sqlx::query(&sql).bind(stack_uid).bind(content_type_uid);
    for l in locales {
        q = q.bind(*l);
    }
    let rows = q.fetch_all(c).await?;
    rows.iter()
        .map(|r| Ok(s(r, "path")?[field_index::MARKER.len()..].to_string()))
        .collect()
}

/// How a pre-filter's index reads combine, for evaluating them leaf by leaf: each leaf is a
/// SELECT of `seq` (the same SQL text, and parameters, as in [`SeqSet::sql`]).
#[derive(Clone, Debug)]
pub enum Plan {
    /// An index read, and (for a field comparison) what it tests, so that the in-memory
    /// posting lists (`crate::postings`) can answer it instead.
    Leaf(String, Option<Probe>),
    And(Vec<Plan>),
    Or(Vec<Plan>),
}

impl Plan {
    fn leaves<'a>(&'a self, out: &mut Vec<&'a str>) {
        match self {
            Plan::Leaf(sql, _) => out.push(sql),
            Plan::And(ps) | Plan::Or(ps) => ps.iter().for_each(|p| p.leaves(out)),
        }
    }

    /// The `seq`s the plan selects, given each leaf's (in [`Plan::leaves`] order): sorted and
    /// without repeats.
    fn combine(&self, leaves: &mut std::vec::IntoIter<Vec<i64>>) -> Vec<i64> {
        match self {
            Plan::Leaf(..) => leaves.next().unwrap_or_default(),
            Plan::Or(ps) => {
                let mut all: Vec<i64> = ps.iter().flat_map(|p| p.combine(leaves)).collect();
                all.sort_unstable();
                all.dedup();
                all
            }
            Plan::And(ps) => {
                let mut sets: Vec<Vec<i64>> = ps.iter().map(|p| p.combine(leaves)).collect();
                sets.sort_by_key(Vec::len);
                let mut it = sets.into_iter();
                let mut acc = it.next().unwrap_or_default();
                for other in it {
                    acc.retain(|x| other.binary_search(x).is_ok());
                }
                acc
            }
        }
    }
}

/// What one index read of a field comparison tests: the field's dotted path and the values.
#[derive(Clone, Debug, PartialEq)]
pub struct Probe {
    pub path: String,
    pub test: Test,
}

/// The values an index read selects at a path.
#[derive(Clone, Debug, PartialEq)]
pub enum Test {
    /// Strings equal to one of these (already cut to the indexed prefix).
    Text(Vec<String>),
    /// Numbers equal to one of these.
    Number(Vec<f64>),
    /// Numbers compared with `<`, `<=`, `>` or `>=` to this bound.
    Range(&'static str, f64),
}

/// A pre-filter's SQL: a SELECT of one column, `seq`.
struct SeqSet {
    sql: String,
    /// The same set as leaves and how they combine.
    plan: Plan,
    /// A compound SELECT (`UNION`), which must be wrapped before it is combined.
    compound: bool,
    /// An index lookup of equal values, good to drive an intersection.
    equality: bool,
    /// Exactly the rows the condition matches (not only a superset).
    exact: bool,
}

/// System fields are columns; everything else lives in the JSON document.
fn column_of(path: &[String]) -> Option<(&'static str, bool)> {
    if path.len() != 1 {
        return None;
    }
    Some(match path[0].as_str() {
        "uid" => ("e.uid", false),
        "title" => ("e.title", false),
        "locale" => ("e.locale", false),
        "created_at" => ("e.created_at", false),
        "updated_at" => ("e.updated_at", false),
        "created_by" => ("e.created_by", false),
        "updated_by" => ("e.updated_by", false),
        "_version" => ("e.version", true),
        _ => return None,
    })
}

impl Compiler {
    pub fn new(backend: Backend, already_bound: usize) -> Compiler {
        Compiler {
            backend,
            params: vec![Param::Int(0); already_bound],
        }
    }

    fn push(&mut self, p: Param) -> String {
        self.params.push(p);
        format!("${}", self.params.len())
    }

    pub fn compile(&mut self, cond: &Cond) -> String {
        match cond {
            Cond::And(parts) => self.join(parts, " AND ", "TRUE"),
            Cond::Or(parts) => self.join(parts, " OR ", "FALSE"),
            Cond::Cmp { path, op } => self.cmp(path, op),
        }
    }

    fn join(&mut self, parts: &[Cond], sep: &str, empty: &str) -> String {
        if parts.is_empty() {
            return empty.into();
        }
        let sql: Vec<String> = parts.iter().map(|p| self.compile(p)).collect();
        format!("({})", sql.join(sep))
    }

    fn cmp(&mut self, path: &[String], op: &Op) -> String {
        if let Some(tax) = headwater_core::query::taxonomy_of(path) {
            if let Some(sql) = self.taxonomy_cmp(tax, op) {
                return sql;
            }
        }
        let (text, ty, numeric_col) = match column_of(path) {
            Some((col, numeric)) => (
                col.to_string(),
                if numeric {
                    "'number'".to_string()
                } else {
                    "'string'".to_string()
                },
                numeric,
            ),
            None => {
                let first = self.params.len() + 1;
                let (text, ty, keys) = dialect::json_path(self.backend, "e.doc", path, first);
                for k in keys {
                    self.params.push(Param::Text(k));
                }
                (text, ty, false)
            }
        };
        let number = if numeric_col {
            format!("CAST({text} AS double precision)")
        } else {
            dialect::json_number(self.backend, &text, &ty)
        };
        match op {
            Op::Eq(v) => self.eq(&text, &ty, &number, v),
            Op::Ne(v) => format!("NOT COALESCE({}, FALSE)", self.eq(&text, &ty, &number, v)),
            Op::In(vs) => self.any_eq(&text, &ty, &number, vs),
            Op::Nin(vs) => format!(
                "NOT COALESCE({}, FALSE)",
                self.any_eq(&text, &ty, &number, vs)
            ),
            Op::Lt(v) => self.order(&text, &ty, &number, "<", v),
            Op::Lte(v) => self.order(&text, &ty, &number, "<=", v),
            Op::Gt(v) => self.order(&text, &ty, &number, ">", v),
            Op::Gte(v) => self.order(&text, &ty, &number, ">=", v),
            // Only taxonomy paths take hierarchy operators (handled above).
            Op::Hierarchy { .. } => "FALSE".into(),
            Op::Exists(true) => format!("({ty} IS NOT NULL)"),
            Op::Exists(false) => format!("({ty} IS NULL)"),
            Op::Like {
                literal,
                anchored_start,
                anchored_end,
                case_insensitive,
            } => {
                let (subject, needle) = if *case_insensitive {
                    (format!("lower({text})"), literal.to_lowercase())
                } else {
                    (text.clone(), literal.clone())
                };
                let len = needle.chars().count() as i64;
                let p = self.push(Param::Text(needle));
                let test = match (anchored_start, anchored_end) {
                    (true, true) => format!("{subject} = {p}"),
                    (true, false) => {
                        let n = self.push(Param::Int(len));
                        format!("substr({subject}, 1, CAST({n} AS integer)) = {p}")
                    }
                    (false, true) => {
                        let n = self.push(Param::Int(len));
                        format!("{} = {p}", dialect::suffix(self.backend, &subject, &n))
                    }
                    (false, false) => {
                        format!("{} > 0", dialect::position(self.backend, &subject, &p))
                    }
                };
                format!("({ty} = 'string' AND {test})")
            }
        }
    }

    /// A condition on `taxonomies.<uid>`, evaluated on the document's `taxonomies` array
    /// (`[{"taxonomy_uid", "term_uid"}]`): `$eq`/`$in` (the entry carries one of the terms),
    /// `$ne`/`$nin` (none of them), `$exists` (some term of the taxonomy, or none). Hierarchy
    /// operators arrive resolved to `$in` (`headwater_core::taxonomy::resolve`); one that did
    /// not, and any other operator, matches nothing.
    fn taxonomy_cmp(&mut self, tax: &str, op: &Op) -> Option<String> {
        let terms: Option<Vec<String>> = match op {
            Op::Eq(v) | Op::Ne(v) => Some(match v {
                Scalar::Text(t) => vec![t.clone()],
                _ => Vec::new(),
            }),
            Op::In(vs) | Op::Nin(vs) => Some(
                vs.iter()
                    .filter_map(|v| match v {
                        Scalar::Text(t) => Some(t.clone()),
                        _ => None,
                    })
                    .collect(),
            ),
            Op::Exists(_) => None,
            _ => return Some("FALSE".into()),
        };
        let t = self.push(Param::Text(tax.to_string()));
        let term_test = |c: &mut Compiler, item_term: &str| -> String {
            match &terms {
                None => String::new(),
                Some(list) if list.is_empty() => " AND FALSE".into(),
                Some(list) => {
                    let ps: Vec<String> = list
                        .iter()
                        .map(|x| c.push(Param::Text(x.clone())))
                        .collect();
                    format!(" AND {item_term} IN ({})", ps.join(", "))
                }
            }
        };
        let exists = match self.backend {
            Backend::Sqlite => {
                let tt = term_test(self, "json_extract(j.value, '$.term_uid')");
                format!(
                    "EXISTS (SELECT 1 FROM json_each(e.doc, '$.taxonomies') j WHERE j.type = 'object' \
                     AND json_extract(j.value, '$.taxonomy_uid') = {t}{tt})"
                )
            }
            Backend::Postgres => {
                let tt = term_test(self, "(j ->> 'term_uid')");
                format!(
                    "EXISTS (SELECT 1 FROM jsonb_array_elements(CASE WHEN \
                     jsonb_typeof(e.doc -> 'taxonomies') = 'array' THEN e.doc -> 'taxonomies' \
                     ELSE CAST('[]' AS jsonb) END) j WHERE (j ->> 'taxonomy_uid') = {t}{tt})"
                )
            }
        };
        Some(match op {
            Op::Ne(_) | Op::Nin(_) | Op::Exists(false) => format!("(NOT {exists})"),
            _ => format!("({exists})"),
        })
    }

    /// The entry term index's rows for `$eq`/`$in`/`$exists: true` on `taxonomies.<uid>`:
    /// exactly the entry rows of the scope that carry one of the terms (or any term).
    fn taxonomy_prefilter(&mut self, tax: &str, op: &Op, scope: &FieldScope) -> Option<SeqSet> {
        let terms: Option<Vec<String>> = match op {
            Op::Eq(Scalar::Text(t)) => Some(vec![t.clone()]),
            Op::In(vs) => Some(
                vs.iter()
                    .map(|v| match v {
                        Scalar::Text(t) => Some(t.clone()),
                        _ => None,
                    })
                    .collect::<Option<Vec<_>>>()?,
            ),
            Op::Exists(true) => None,
            _ => return None,
        };
        let t = self.push(Param::Text(tax.to_string()));
        let term_test = match &terms {
            None => String::new(),
            Some(list) if list.is_empty() => " AND FALSE".into(),
            Some(list) => {
                let ps: Vec<String> = list
                    .iter()
                    .map(|x| self.push(Param::Text(x.clone())))
                    .collect();
                format!(" AND et.term_uid IN ({})", ps.join(", "))
            }
        };
        let sql = format!(
            "SELECT DISTINCT et.seq FROM entry_terms et WHERE et.stack_uid = {} AND \
             et.taxonomy_uid = {t}{term_test} AND et.content_type_uid = {} AND et.locale IN ({})",
            scope.stack,
            scope.content_type,
            scope.locales.join(", ")
        );
        Some(SeqSet {
            plan: Plan::Leaf(sql.clone(), None),
            sql,
            compound: false,
            equality: true,
            exact: true,
        })
    }

    fn eq(&mut self, text: &str, ty: &str, number: &str, v: &Scalar) -> String {
        match v {
            Scalar::Text(t) => {
                let p = self.push(Param::Text(t.clone()));
                format!("({ty} = 'string' AND {text} = {p})")
            }
            Scalar::Number(n) => {
                let p = self.push(Param::Float(*n));
                format!("({number} = {p})")
            }
            Scalar::Bool(b) => dialect::json_bool_is(self.backend, text, ty, *b),
            Scalar::Null => format!("({ty} IS NULL OR {ty} = 'null')"),
        }
    }

    fn any_eq(&mut self, text: &str, ty: &str, number: &str, vs: &[Scalar]) -> String {
        if vs.is_empty() {
            return "FALSE".into();
        }
        let parts: Vec<String> = vs.iter().map(|v| self.eq(text, ty, number, v)).collect();
        format!("({})", parts.join(" OR "))
    }

    fn order(&mut self, text: &str, ty: &str, number: &str, op: &str, v: &Scalar) -> String {
        match v {
            Scalar::Number(n) => {
                let p = self.push(Param::Float(*n));
                format!("({number} {op} {p})")
            }
            Scalar::Text(t) => {
                let p = self.push(Param::Text(t.clone()));
                format!("({ty} = 'string' AND {text} {op} {p})")
            }
            _ => "FALSE".into(),
        }
    }

    /// A set of entry `seq`s that contains every entry `cond` can match, found through the
    /// field index (`repo::field_index`), or `None` when the index cannot narrow `cond`.
    /// Only positive comparisons (`$eq`, `$in`, number `$lt`…`$gte`) on document paths with
    /// plain keys take part; an `$or` takes part when all its branches do. The set is exact
    /// (the second value `true`) when every part of `cond` took part and no string compared
    /// is as long as the indexed prefix; otherwise it is a superset and the exact condition
    /// must still be applied. The paths and values are bound parameters like everything else.
    pub fn prefilter(&mut self, cond: &Cond, scope: &FieldScope) -> Option<(String, bool)> {
        self.prefilter_set(cond, scope)
            .map(|set| (set.sql, set.exact))
    }

    /// [`Compiler::prefilter`] with the set also as a [`Plan`] of index reads.
    pub fn prefilter_plan(
        &mut self,
        cond: &Cond,
        scope: &FieldScope,
    ) -> Option<(String, bool, Plan)> {
        self.prefilter_set(cond, scope)
            .map(|set| (set.sql, set.exact, set.plan))
    }

    fn prefilter_set(&mut self, cond: &Cond, scope: &FieldScope) -> Option<SeqSet> {
        match cond {
            Cond::And(parts) => {
                let mut sets: Vec<SeqSet> = parts
                    .iter()
                    .filter_map(|p| self.prefilter_set(p, scope))
                    .collect();
                let all_exact = sets.len() == parts.len() && sets.iter().all(|s| s.exact);
                let plan = Plan::And(sets.iter().map(|s| s.plan.clone()).collect());
                if sets.len() <= 1 {
                    return sets.pop().map(|s| SeqSet {
                        exact: all_exact,
                        ..s
                    });
                }
                if self.backend == Backend::Postgres {
                    // PostgreSQL intersects by hashing (HashSetOp); given membership tests
                    // instead, its planner probes the other side once per row (4x slower).
                    let parts: Vec<String> = sets
                        .into_iter()
                        .enumerate()
                        .map(|(i, s)| {
                            if s.compound {
                                format!("SELECT seq FROM ({}) AS pi{i}", s.sql)
                            } else {
                                s.sql
                            }
                        })
                        .collect();
                    return Some(SeqSet {
                        sql: parts.join(" INTERSECT "),
                        plan,
                        compound: true,
                        equality: false,
                        exact: all_exact,
                    });
                }
                // SQLite: one set drives (an equality lookup when there is one: a short index
                // range read in order); the others are membership tests. Cheaper than
                // INTERSECT, which copies one side into a temporary b-tree and probes it.
                sets.sort_by_key(|s| !s.equality);
                let mut it = sets.into_iter();
                let first = it.next().expect("two or more sets");
                let tests: Vec<String> = it.map(|s| format!("pf.seq IN ({})", s.sql)).collect();
                Some(SeqSet {
                    sql: format!(
                        "SELECT pf.seq FROM ({}) AS pf WHERE {}",
                        first.sql,
                        tests.join(" AND ")
                    ),
                    plan,
                    compound: false,
                    equality: first.equality,
                    exact: all_exact,
                })
            }
            Cond::Or(parts) => {
                let mut sets = Vec::new();
                for p in parts {
                    sets.push(self.prefilter_set(p, scope)?);
                }
                Some(Self::union(sets))
            }
            Cond::Cmp { path, op } => self.prefilter_cmp(path, op, scope),
        }
    }

    fn union(mut sets: Vec<SeqSet>) -> SeqSet {
        if sets.len() == 1 {
            return sets.pop().expect("one set");
        }
        let exact = sets.iter().all(|s| s.exact);
        let plan = Plan::Or(sets.iter().map(|s| s.plan.clone()).collect());
        let parts: Vec<String> = sets
            .into_iter()
            .enumerate()
            .map(|(i, s)| {
                if s.compound {
                    format!("SELECT seq FROM ({}) AS pu{i}", s.sql)
                } else {
                    s.sql
                }
            })
            .collect();
        SeqSet {
            sql: parts.join(" UNION "),
            plan,
            compound: true,
            equality: false,
            exact,
        }
    }

    fn prefilter_cmp(&mut self, path: &[String], op: &Op, scope: &FieldScope) -> Option<SeqSet> {
        if let Some(tax) = headwater_core::query::taxonomy_of(path) {
            // Taxonomy terms live in arrays, which the field index never holds: only the
            // entry term index can narrow them.
            return self.taxonomy_prefilter(tax, op, scope);
        }
        if column_of(path).is_some()
            || path.is_empty()
            || !path.iter().all(|k| field_index::indexable_key(k))
        {
            return None;
        }
        let mut texts = Vec::new();
        let mut numbers = Vec::new();
        let mut range = None;
        match op {
            Op::Eq(Scalar::Text(t)) => texts.push(t),
            Op::Eq(Scalar::Number(n)) => numbers.push(*n),
            Op::In(vs) => {
                for v in vs {
                    match v {
                        Scalar::Text(t) => texts.push(t),
                        Scalar::Number(n) => numbers.push(*n),
                        // `$in` with a boolean or null can match rows the index lacks.
                        _ => return None,
                    }
                }
            }
            // The index holds numbers as the database parses their JSON text, exactly as the
            // condition's own comparison does, so bounds apply unchanged.
            Op::Lt(Scalar::Number(n)) => range = Some(("<", *n)),
            Op::Lte(Scalar::Number(n)) => range = Some(("<=", *n)),
            Op::Gt(Scalar::Number(n)) => range = Some((">", *n)),
            Op::Gte(Scalar::Number(n)) => range = Some((">=", *n)),
            _ => return None,
        }
        let joined = path.join(".");
        // Entries that left this path (or one above it) out of the index are candidates too.
        let marked: Vec<String> = scope
            .unindexed
            .iter()
            .filter(|m| m.is_empty() || joined == **m || joined.starts_with(&format!("{m}.")))
            .map(|m| format!("{}{m}", field_index::MARKER))
            .collect();
        let p = self.push(Param::Text(joined.clone()));
        let field = format!(
            "v.field_id IN (SELECT f.id FROM entry_fields f WHERE f.stack_uid = {} AND \
             f.content_type_uid = {} AND f.locale IN ({}) AND f.path = {p})",
            scope.stack,
            scope.content_type,
            scope.locales.join(", ")
        );
        let mut sets = Vec::new();
        let equality = range.is_none();
        // A string as long as the indexed prefix may stand for a longer stored one.
        let exact = texts
            .iter()
            .all(|t| t.chars().count() < field_index::TEXT_PREFIX_CHARS);
        if !texts.is_empty() {
            let list: Vec<String> = texts
                .iter()
                .map(|t| self.push(Param::Text(field_index::text_prefix(t).to_string())))
                .collect();
            sets.push((
                format!(
                    "SELECT v.seq FROM entry_values v WHERE {field} AND v.t IN ({})",
                    list.join(", ")
                ),
                Some(Probe {
                    path: joined.clone(),
                    test: Test::Text(
                        texts
                            .iter()
                            .map(|t| field_index::text_prefix(t).to_string())
                            .collect(),
                    ),
                }),
            ));
        }
        if !numbers.is_empty() {
            let list: Vec<String> = numbers
                .iter()
                .map(|n| self.push(Param::Float(*n)))
                .collect();
            sets.push((
                format!(
                    "SELECT v.seq FROM entry_values v WHERE {field} AND v.n IN ({})",
                    list.join(", ")
                ),
                Some(Probe {
                    path: joined.clone(),
                    test: Test::Number(numbers.clone()),
                }),
            ));
        }
        if let Some((cmp, n)) = range {
            let x = self.push(Param::Float(n));
            sets.push((
                format!("SELECT v.seq FROM entry_values v WHERE {field} AND v.n {cmp} {x}"),
                Some(Probe {
                    path: joined.clone(),
                    test: Test::Range(cmp, n),
                }),
            ));
        }
        if sets.is_empty() {
            return None;
        }
        let exact = exact && marked.is_empty();
        if !marked.is_empty() {
            let list: Vec<String> = marked
                .into_iter()
                .map(|m| self.push(Param::Text(m)))
                .collect();
            // Markers have an empty `t`, so `entry_values_text` finds them.
            sets.push((
                format!(
                    "SELECT v.seq FROM entry_values v WHERE v.field_id IN (SELECT f.id FROM \
                     entry_fields f WHERE f.stack_uid = {} AND f.content_type_uid = {} AND \
                     f.locale IN ({}) AND f.path IN ({})) AND v.t = ''",
                    scope.stack,
                    scope.content_type,
                    scope.locales.join(", "),
                    list.join(", ")
                ),
                None,
            ));
        }
        let sets = sets
            .into_iter()
            .map(|(sql, probe)| SeqSet {
                plan: Plan::Leaf(sql.clone(), probe),
                sql,
                compound: false,
                equality,
                exact,
            })
            .collect();
        Some(Self::union(sets))
    }

    /// An ORDER BY expression for a field (system column or document path).
    pub fn sort_key(&mut self, field: &str) -> String {
        let path: Vec<String> = field.split('.').map(str::to_string).collect();
        match column_of(&path) {
            Some((col, _)) => col.to_string(),
            None => {
                let first = self.params.len() + 1;
                let (text, _, keys) = dialect::json_path(self.backend, "e.doc", &path, first);
                for k in keys {
                    self.params.push(Param::Text(k));
                }
                text
            }
        }
    }
}

/// Joins a `publications p` row to the version it publishes (`entry_versions v`).
pub(crate) const PUBLISHED_VERSION: &str = "JOIN entry_versions v ON v.stack_uid = p.stack_uid \
     AND v.uid = p.item_uid AND v.locale = COALESCE(p.source_locale, p.locale) \
     AND v.version = p.version";

/// The entry row (`entries e`) whose version a `publications p` row publishes, after `JOIN`
/// or `LEFT JOIN`: its `seq` keys the published posting lists (`crate::postings`).
pub(crate) const PUBLISHED_ENTRY_ROW: &str = "entries e ON e.stack_uid = p.stack_uid \
     AND e.uid = p.item_uid AND e.locale = COALESCE(p.source_locale, p.locale)";

/// What to list.
pub struct ListQuery<'a> {
    pub stack_uid: &'a str,
    pub content_type_uid: &'a str,
    pub locale: &'a str,
    pub master_locale: &'a str,
    pub filter: Option<&'a Cond>,
    /// (field, ascending); `None` sorts by `updated_at` newest first.
    pub sort: Option<(&'a str, bool)>,
    pub skip: i64,
    pub limit: i64,
    /// `Some(environment uid)`: list what is published there (the Content Delivery API)
    /// instead of the current versions.
    pub published_in: Option<&'a str>,
    /// Posting lists in memory that may answer an exactly indexed condition (`Db::postings`).
    pub postings: Option<&'a std::sync::Arc<crate::postings::Postings>>,
}

/// A page of entries in a locale (falling back to the master locale for entries not
/// localized), and the total that matched. With `published_in`, the published versions of
/// that environment in exactly that locale.
pub async fn list(c: &mut Conn, q: &ListQuery<'_>) -> Result<(Vec<Entry>, i64)> {
    let backend = crate::Backend::of(c);
    let mut comp = Compiler::new(backend, 0);
    let source = match q.published_in {
        None => "entries e".to_string(),
        Some(env) => {
            let env = comp.push(Param::Text(env.to_string()));
            let doc = dialect::as_json(backend, "v.doc");
            format!(
                "(SELECT p.stack_uid, v.content_type_uid, p.item_uid AS uid, p.locale, v.title, v.version, \
                 {doc} AS doc, v.tags, v.created_by, v.created_by AS updated_by, v.created_at, \
                 p.published_at AS updated_at FROM publications p {PUBLISHED_VERSION} \
                 WHERE p.item_type = 'entry' AND p.environment_uid = {env}) e"
            )
        }
    };
    let stack = comp.push(Param::Text(q.stack_uid.to_string()));
    let ct = comp.push(Param::Text(q.content_type_uid.to_string()));
    let loc = comp.push(Param::Text(q.locale.to_string()));
    let mut locales = vec![loc.clone()];
    let locale_clause = if q.locale == q.master_locale || q.published_in.is_some() {
        format!("e.locale = {loc}")
    } else {
        let master = comp.push(Param::Text(q.master_locale.to_string()));
        locales.push(master.clone());
        format!(
            "(e.locale = {loc} OR (e.locale = {master} AND NOT EXISTS (SELECT 1 FROM entries l \
             WHERE l.stack_uid = e.stack_uid AND l.uid = e.uid AND l.locale = {loc})))"
        )
    };
    let one_locale = locales.len() == 1;
    if let (Some(_), Some(f), Some(_)) = (q.published_in, q.filter, q.postings) {
        // Published listings: the in-memory posting lists of the published documents may
        // answer an exactly indexable condition (the field index itself describes current
        // versions only, so it is never read for them).
        let mut pc = Compiler::new(backend, 0);
        let scope = FieldScope {
            stack: pc.push(Param::Text(q.stack_uid.to_string())),
            content_type: pc.push(Param::Text(q.content_type_uid.to_string())),
            locales: vec![pc.push(Param::Text(q.locale.to_string()))],
            unindexed: Vec::new(),
        };
        if let Some((_, true, plan)) = pc.prefilter_plan(f, &scope) {
            if let Some(found) = answer_from_postings(c, &plan, q).await? {
                return Ok(found);
            }
        }
    }
    // The field index describes current versions only, so published listings do not use it.
    let prefilter = match (q.filter, q.published_in) {
        (Some(f), None) => {
            let mut names = vec![q.locale];
            if !one_locale {
                names.push(q.master_locale);
            }
            let unindexed =
                unindexed_paths(&mut *c, q.stack_uid, q.content_type_uid, &names).await?;
            comp.prefilter_plan(
                f,
                &FieldScope {
                    stack: stack.clone(),
                    content_type: ct.clone(),
                    locales,
                    unindexed,
                },
            )
        }
        _ => None,
    };
    if let Some((_, true, plan)) = &prefilter {
        if one_locale {
            // The index answers the condition exactly, and its fields belong to this stack,
            // content type and locale: the matches are the set itself.
            return list_exact(c, comp, plan, q).await;
        }
    }
    let prefilter = prefilter.map(|(set, _, _)| set);
    let filter = match q.filter {
        Some(f) => comp.compile(f),
        None => "TRUE".into(),
    };
    let (source, where_sql) = match &prefilter {
        // Candidates come from the field index; the exact condition still decides.
        Some(set) => (
            dialect::entries_by_seq(backend),
            format!(
                "e.seq IN ({set}) AND e.stack_uid = {stack} AND e.content_type_uid = {ct} \
                 AND {locale_clause} AND {filter}"
            ),
        ),
        None => (
            source,
            format!(
                "e.stack_uid = {stack} AND e.content_type_uid = {ct} AND {locale_clause} AND {filter}"
            ),
        ),
    };
    let count_params = comp.params.clone();
    let order = match q.sort {
        Some((field, asc)) => {
            let key = comp.sort_key(field);
            let dir = if asc { "ASC" } else { "DESC" };
            format!("{key} {dir}, e.uid {dir}")
        }
        None => "e.updated_at DESC, e.uid DESC".into(),
    };
    let limit = comp.push(Param::Int(q.limit));
    let skip = comp.push(Param::Int(q.skip));
    let sql = if prefilter.is_some() {
        // Every match is at hand anyway, so the page carries the total (one pass instead of
        // two); the matches are ranked by their keys alone and only the page's rows are read
        // whole.
        format!(
            "SELECT {}, p.hw_total FROM (SELECT e.seq, COUNT(*) OVER () AS hw_total FROM {source} \
             WHERE {where_sql} ORDER BY {order} LIMIT {limit} OFFSET {skip}) p \
             JOIN entries e ON e.seq = p.seq ORDER BY {order}",
            cols(backend)
        )
    } else {
        format!(
            "SELECT {} FROM {source} WHERE {where_sql} ORDER BY {order} LIMIT {limit} OFFSET {skip}",
            cols(backend)
        )
    };
    let rows = bind_all(sqlx::query(&sql), &comp.params)
        .fetch_all(&mut *c)
        .await?;
    let total = match rows.first() {
        Some(r) if prefilter.is_some() => i(r, "hw_total")?,
        None if prefilter.is_some() && q.skip == 0 => 0,
        _ => {
            let count_sql = format!("SELECT COUNT(*) AS n FROM {source} WHERE {where_sql}");
            let row = bind_all(sqlx::query(&count_sql), &count_params)
                .fetch_one(c)
                .await?;
            i(&row, "n")?
        }
    };
    Ok((rows.iter().map(from_row).collect::<Result<_>>()?, total))
}

/// A listing whose condition the field index answers exactly. Each index read of the plan is
/// aggregated in the database into one list of `seq`s (all of them in one statement, one row),
/// and the lists are intersected and united here: SQLite's own intersection (a temporary
/// b-tree and a probe per candidate) cost about 5 times the reads themselves. The total is the
/// size of the result; the page is ranked from the `(seq, updated_at, uid)` index of entries
/// (for the default order) and only its rows are read whole.
async fn list_exact(
    c: &mut Conn,
    comp: Compiler,
    plan: &Plan,
    q: &ListQuery<'_>,
) -> Result<(Vec<Entry>, i64)> {
    let backend = crate::Backend::of(c);
    if let Some(found) = answer_from_postings(c, plan, q).await? {
        return Ok(found);
    }
    let mut leaves = Vec::new();
    plan.leaves(&mut leaves);
    let agg = |sql: &str, i: usize| match backend {
        Backend::Sqlite => format!("(SELECT group_concat(seq) FROM ({sql}) AS l{i}) AS s{i}"),
        Backend::Postgres => {
            format!("(SELECT string_agg(CAST(seq AS text), ',') FROM ({sql}) AS l{i}) AS s{i}")
        }
    };
    let cols_sql: Vec<String> = leaves.iter().enumerate().map(|(i, l)| agg(l, i)).collect();
    let sql = format!("SELECT {}", cols_sql.join(", "));
    let row = bind_all(sqlx::query(&sql), &comp.params)
        .fetch_one(&mut *c)
        .await?;
    let mut lists = Vec::with_capacity(leaves.len());
    for i in 0..leaves.len() {
        let text: Option<String> = os(&row, &format!("s{i}"))?;
        let mut seqs: Vec<i64> = text
            .as_deref()
            .unwrap_or_default()
            .split(',')
            .filter(|t| !t.is_empty())
            .map(|t| {
                t.parse::<i64>()
                    .map_err(|_| crate::error::StoreError::Decode(format!("seq list: {t:?}")))
            })
            .collect::<Result<_>>()?;
        seqs.sort_unstable();
        seqs.dedup();
        lists.push(seqs);
    }
    let matches = plan.combine(&mut lists.into_iter());
    let total = matches.len() as i64;
    if matches.is_empty() || q.skip >= total {
        return Ok((Vec::new(), total));
    }
    // The matches go in as one parameter (a JSON array of numbers).
    let mut page = Compiler::new(backend, 1);
    page.params[0] = Param::Text(
        serde_json::to_string(&matches)
            .map_err(|e| crate::error::StoreError::Decode(e.to_string()))?,
    );
    let order = match q.sort {
        Some((field, asc)) => {
            let key = page.sort_key(field);
            let dir = if asc { "ASC" } else { "DESC" };
            format!("{key} {dir}, e.uid {dir}")
        }
        None => "e.updated_at DESC, e.uid DESC".into(),
    };
    let limit = page.push(Param::Int(q.limit));
    let skip = page.push(Param::Int(q.skip));
    let sql = format!(
        "SELECT {} FROM (SELECT e.seq FROM {} WHERE e.seq IN ({}) ORDER BY {order} \
         LIMIT {limit} OFFSET {skip}) p JOIN entries e ON e.seq = p.seq ORDER BY {order}",
        cols(backend),
        dialect::entries_by_seq(backend),
        dialect::int_list(backend, "$1"),
    );
    let rows = bind_all(sqlx::query(&sql), &page.params)
        .fetch_all(&mut *c)
        .await?;
    Ok((rows.iter().map(from_row).collect::<Result<_>>()?, total))
}

/// [`list_exact`] from the in-memory posting lists, when they hold what it needs and the
/// order is by `updated_at`: the total is counted there and only the page's candidates (the
/// first `skip + limit` by `updated_at`, and ties) are read and ranked here.
async fn answer_from_postings(
    c: &mut Conn,
    plan: &Plan,
    q: &ListQuery<'_>,
) -> Result<Option<(Vec<Entry>, i64)>> {
    let Some(postings) = q.postings else {
        return Ok(None);
    };
    let ascending = match q.sort {
        None => false,
        Some(("updated_at", asc)) => asc,
        Some(_) => return Ok(None),
    };
    let ask = crate::postings::Ask {
        stack_uid: q.stack_uid,
        content_type_uid: q.content_type_uid,
        locale: q.locale,
        published_in: q.published_in,
        plan,
        ascending,
        skip: q.skip,
        limit: q.limit,
    };
    let Some(answer) = postings.answer(&ask).await? else {
        return Ok(None);
    };
    if answer.candidates.is_empty() || q.skip >= answer.total {
        return Ok(Some((Vec::new(), answer.total)));
    }
    let backend = crate::Backend::of(c);
    let dir = if ascending { "ASC" } else { "DESC" };
    let order = format!("e.updated_at {dir}, e.uid {dir}");
    let list = serde_json::to_string(&answer.candidates)
        .map_err(|e| crate::error::StoreError::Decode(e.to_string()))?;
    let rows = match q.published_in {
        None => {
            // Ranked by the `(seq, updated_at, uid)` index alone (candidates tied on
            // `updated_at` are many when entries were loaded in bulk); only the page's rows
            // are read whole.
            let sql = format!(
                "SELECT {} FROM (SELECT e.seq FROM {} WHERE e.seq IN ({}) ORDER BY {order} \
                 LIMIT $2 OFFSET $3) p JOIN entries e ON e.seq = p.seq ORDER BY {order}",
                cols(backend),
                dialect::entries_by_seq(backend),
                dialect::int_list(backend, "$1"),
            );
            sqlx::query(&sql)
                .bind(list)
                .bind(q.limit)
                .bind(q.skip)
                .fetch_all(&mut *c)
                .await?
        }
        Some(env) => {
            // The published rows of the candidates' entry rows, as the published listing's
            // source reads them.
            let sql = format!(
                "SELECT {} FROM (SELECT p.stack_uid, v.content_type_uid, p.item_uid AS uid, \
                 p.locale, v.title, v.version, {} AS doc, v.tags, v.created_by, \
                 v.created_by AS updated_by, v.created_at, p.published_at AS updated_at \
                 FROM publications p JOIN {PUBLISHED_ENTRY_ROW} {PUBLISHED_VERSION} \
                 WHERE p.item_type = 'entry' AND e.seq IN ({}) AND p.stack_uid = $4 AND p.environment_uid = $5 \
                 AND p.locale = $6 AND v.content_type_uid = $7) e \
                 ORDER BY {order} LIMIT $2 OFFSET $3",
                cols(backend),
                dialect::as_json(backend, "v.doc"),
                dialect::int_list(backend, "$1"),
            );
            sqlx::query(&sql)
                .bind(list)
                .bind(q.limit)
                .bind(q.skip)
                .bind(q.stack_uid)
                .bind(env)
                .bind(q.locale)
                .bind(q.content_type_uid)
                .fetch_all(&mut *c)
                .await?
        }
    };
    Ok(Some((
        rows.iter().map(from_row).collect::<Result<_>>()?,
        answer.total,
    )))
}

pub async fn get<'e>(
    c: impl Into<Exec<'e>>,
    stack_uid: &str,
    content_type_uid: &str,
    uid: &str,
    locale: &str,
) -> Result<Option<Entry>> {
    let mut c = c.into();
    let backend = c.backend();
    // Looked up by the primary key alone (the content type is checked below): with the
    // content type in the WHERE clause PostgreSQL's generic plan picks a listing index and
    // scans every entry of the type.
    let row = Statement::new(format!(
        "SELECT {} FROM entries e WHERE e.stack_uid = $1 AND e.uid = $2 AND e.locale = $3",
        cols(backend)
    ))
    .arg(stack_uid)
    .arg(uid)
    .arg(locale)
    .fetch_optional(&mut c)
    .await?;
    Ok(row
        .as_ref()
        .map(from_row)
        .transpose()?
        .filter(|e| e.content_type_uid == content_type_uid))
}

/// The content type of the entry `uid` (in any locale), when it exists.
pub async fn content_type_of<'e>(
    c: impl Into<Exec<'e>>,
    stack_uid: &str,
    uid: &str,
) -> Result<Option<String>> {
    let mut c = c.into();
    let row = Statement::new(
        "SELECT content_type_uid FROM entries WHERE stack_uid = $1 AND uid = $2 LIMIT 1",
    )
    .arg(stack_uid)
    .arg(uid)
    .fetch_optional(&mut c)
    .await?;
    row.map(|r| s(&r, "content_type_uid")).transpose()
}

/// [`get`] with the entry's publications (every locale and environment, oldest first), read
/// in the same statement: an entry read is one round trip to the database instead of two.
pub async fn get_with_publications(
    c: &mut Conn,
    stack_uid: &str,
    content_type_uid: &str,
    uid: &str,
    locale: &str,
) -> Result<Option<(Entry, Vec<super::publications::Publication>)>> {
    let backend = crate::Backend::of(c);
    // By the primary key alone, as `get`.
    let row = sqlx::query(&with_publications_sql(backend))
        .bind(stack_uid)
        .bind(uid)
        .bind(locale)
        .fetch_optional(c)
        .await?;
    let Some(row) = row else { return Ok(None) };
    with_publications_of(&row, content_type_uid)
}

/// An entry with its publications, as [`get_with_publications_direct`] answers it (shared: the
/// same answer may be given to many requests).
pub type WithPublications = Arc<(Entry, Vec<super::publications::Publication>)>;

/// [`get_with_publications`] on the calling thread (`direct`, SQLite): the same statement and
/// the same answer, without the round trip to the driver's worker thread, and kept in memory
/// until the next commit to the database ([`Direct::read_kept`](crate::direct::Direct::read_kept)).
pub fn get_with_publications_direct(
    d: &crate::direct::Direct,
    stack_uid: &str,
    content_type_uid: &str,
    uid: &str,
    locale: &str,
) -> Result<Option<WithPublications>> {
    static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let sql = SQL.get_or_init(|| with_publications_sql(Backend::Sqlite));
    // The row by its key, whatever its content type (checked below, as `get` does).
    let key = format!("entry\0{stack_uid}\0{uid}\0{locale}");
    let found: Option<WithPublications> = d.read_kept(&key, |c| {
        let mut st = c.prepare_cached(sql)?;
        let mut rows = st.query(rusqlite::named_params! {
            "$1": stack_uid,
            "$2": uid,
            "$3": locale,
        })?;
        let Some(row) = rows.next()? else {
            return Ok((None, 0));
        };
        // Parsed JSON takes a few times its text in memory.
        let text = ["doc", "tags", "pubs"]
            .iter()
            .map(|col| {
                row.get_ref(*col)
                    .map(|v| v.as_bytes().map_or(0, <[u8]>::len))
            })
            .sum::<rusqlite::Result<usize>>()?;
        let entry = from_row(row)?;
        let pubs = json_as(row, "pubs")?;
        Ok((Some(Arc::new((entry, pubs))), 4 * text + 512))
    })?;
    Ok(found.filter(|e| e.0.content_type_uid == content_type_uid))
}

/// An entry row with its publications (`pubs`, a JSON array), by stack, uid and locale.
fn with_publications_sql(backend: Backend) -> String {
    let pubs = match backend {
        Backend::Sqlite => {
            "(SELECT json_group_array(json_object('item_uid', p.item_uid, 'locale', p.locale, \
             'environment_uid', p.environment_uid, 'version', p.version, 'published_by', \
             p.published_by, 'published_at', p.published_at)) FROM (SELECT * FROM publications p \
             WHERE p.stack_uid = e.stack_uid AND p.item_type = 'entry' AND p.item_uid = e.uid \
             ORDER BY p.published_at) p)"
        }
        Backend::Postgres => {
            "(SELECT CAST(COALESCE(json_agg(json_build_object('item_uid', p.item_uid, 'locale', \
             p.locale, 'environment_uid', p.environment_uid, 'version', p.version, \
             'published_by', p.published_by, 'published_at', p.published_at) \
             ORDER BY p.published_at), CAST('[]' AS json)) AS text) FROM publications p \
             WHERE p.stack_uid = e.stack_uid AND p.item_type = 'entry' AND p.item_uid = e.uid)"
        }
    };
    format!(
        "SELECT {}, {pubs} AS pubs FROM entries e WHERE e.stack_uid = $1 AND e.uid = $2 \
         AND e.locale = $3",
        cols(backend)
    )
}

/// The entry of a [`with_publications_sql`] row, when it is of `content_type_uid`.
fn with_publications_of(
    row: &(impl ReadRow + ?Sized),
    content_type_uid: &str,
) -> Result<Option<(Entry, Vec<super::publications::Publication>)>> {
    let entry = from_row(row)?;
    if entry.content_type_uid != content_type_uid {
        return Ok(None);
    }
    Ok(Some((entry, json_as(row, "pubs")?)))
}

/// The fields of a write.
pub struct EntryWrite<'a> {
    pub stack_uid: &'a str,
    pub content_type_uid: &'a str,
    pub uid: &'a str,
    pub locale: &'a str,
    pub title: &'a str,
    pub doc: &'a Value,
    pub tags: &'a Value,
    /// Paths of `doc` the field index leaves out (its `json` fields, `content::json_paths`).
    pub unindexed: &'a [String],
}

/// Keeps the field index in step with an entry row's document (same transaction).
async fn index_doc(
    c: &mut Conn,
    w: &EntryWrite<'_>,
    seq: i64,
    rows: field_index::Rows,
) -> Result<()> {
    let owner = field_index::Owner {
        stack_uid: w.stack_uid,
        content_type_uid: w.content_type_uid,
        locale: w.locale,
        seq,
    };
    field_index::write(c, &owner, w.doc, w.unindexed, rows).await
}

async fn record_version(
    c: &mut Conn,
    w: &EntryWrite<'_>,
    version: i64,
    actor: &Actor,
    now: &str,
) -> Result<()> {
    let mut b = Batch::new();
    stage_version(&mut b, Backend::of(c), w, version, actor, now);
    b.run(c).await?;
    Ok(())
}

/// The history row of an entry version, as a statement of a batch.
fn stage_version(
    b: &mut Batch,
    backend: Backend,
    w: &EntryWrite<'_>,
    version: i64,
    actor: &Actor,
    now: &str,
) {
    b.add(format!(
        "INSERT INTO entry_versions (stack_uid, uid, locale, version, content_type_uid, title, doc, tags, \
         created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, {}, $8, $9, $10)",
        dialect::json_param(backend, 7)
    ))
    .bind(w.stack_uid)
    .bind(w.uid)
    .bind(w.locale)
    .bind(version)
    .bind(w.content_type_uid)
    .bind(w.title)
    .bind(w.doc.to_string())
    .bind(w.tags.to_string())
    .bind(actor.uid())
    .bind(now);
}

/// Inserts version 1 of an entry in a locale.
pub async fn insert(c: &mut Conn, w: &EntryWrite<'_>, actor: &Actor) -> Result<Entry> {
    Ok(insert_with(c, w, actor, Batch::new()).await?.0)
}

/// [`insert`], with the caller's `tail` statements (its audit record, a lookup) run after the
/// entry's own in the same call: the row, its field index and its history row, then `tail`,
/// whose rows come back by statement. On SQLite that is one round trip to the writer.
pub async fn insert_with<'e>(
    c: impl Into<Exec<'e>>,
    w: &EntryWrite<'_>,
    actor: &Actor,
    tail: Batch,
) -> Result<(Entry, Vec<Vec<Row>>)> {
    let mut c = c.into();
    let backend = c.backend();
    let now = clock::now();
    let (seq_col, seq_val) = match backend {
        // A serial column on PostgreSQL; SQLite's single writer makes max + 1 safe.
        Backend::Postgres => ("", ""),
        Backend::Sqlite => (", seq", ", (SELECT COALESCE(MAX(seq), 0) + 1 FROM entries)"),
    };
    let mut b = Batch::new();
    b.add(format!(
        "INSERT INTO entries (stack_uid, content_type_uid, uid, locale, title, version, doc, tags, \
         created_by, updated_by, created_at, updated_at{seq_col}) \
         VALUES ($1, $2, $3, $4, $5, 1, {}, $7, $8, $8, $9, $9{seq_val}) RETURNING seq, {}",
        dialect::json_param(backend, 6),
        cols_of(backend, "")
    ))
    .bind(w.stack_uid)
    .bind(w.content_type_uid)
    .bind(w.uid)
    .bind(w.locale)
    .bind(w.title)
    .bind(w.doc.to_string())
    .bind(w.tags.to_string())
    .bind(actor.uid())
    .bind(now.as_str());
    // The new row's `seq` is not known yet: the index statements look it up by uid. A new
    // row's seq carries no index rows (`field_index::Rows::New`), so nothing is cleared.
    let place = field_index::Place {
        stack_uid: w.stack_uid,
        content_type_uid: w.content_type_uid,
        locale: w.locale,
    };
    field_index::stage(
        &mut b,
        backend,
        &place,
        &[(field_index::Seq::OfEntry(w.uid), w.doc)],
        w.unindexed,
    );
    stage_version(&mut b, backend, w, 1, actor, &now);
    let own = b.len();
    b.append(tail);
    let mut rows = c.run(b).await?;
    let tail_rows = rows.split_off(own);
    // The row as stored comes back with the insert (no read-back).
    let row = rows
        .first()
        .and_then(|r| r.first())
        .ok_or_else(|| crate::StoreError::Other("the entry insert returned no row".into()))?;
    Ok((from_row(row)?, tail_rows))
}

/// Inserts version 1 of many entries of one content type in one locale with a few statements
/// per hundred entries (bulk loading, such as the benchmark's seed): the same rows, history
/// and field index as [`insert`] one by one, without the per-entry round trips.
pub async fn insert_many(
    c: &mut Conn,
    place: &field_index::Place<'_>,
    items: &[(&str, &str, &Value)],
    actor: &Actor,
) -> Result<()> {
    let backend = crate::Backend::of(c);
    const ROWS: usize = 200;
    let now = clock::now();
    let mut next_seq = match backend {
        Backend::Sqlite => {
            let row = sqlx::query("SELECT COALESCE(MAX(seq), 0) AS m FROM entries")
                .fetch_one(&mut *c)
                .await?;
            i(&row, "m")? + 1
        }
        Backend::Postgres => 0,
    };
    let mut indexed: Vec<(i64, &Value)> = Vec::with_capacity(items.len());
    for chunk in items.chunks(ROWS) {
        // $1 stack, $2 content type, $3 locale, $4 actor, $5 now; then per row.
        let per_row = if backend == Backend::Sqlite { 4 } else { 3 };
        let values: Vec<String> = (0..chunk.len())
            .map(|k| {
                let at = 6 + per_row * k;
                let seq = if backend == Backend::Sqlite {
                    format!(", ${}", at + 3)
                } else {
                    String::new()
                };
                format!(
                    "($1, $2, ${}, $3, ${}, 1, {}, '[]', $4, $4, $5, $5{seq})",
                    at,
                    at + 1,
                    dialect::json_param(backend, at + 2)
                )
            })
            .collect();
        let seq_col = if backend == Backend::Sqlite {
            ", seq"
        } else {
            ""
        };
        let sql = format!(
            "INSERT INTO entries (stack_uid, content_type_uid, uid, locale, title, version, doc, tags, \
             created_by, updated_by, created_at, updated_at{seq_col}) VALUES {} RETURNING uid, seq",
            values.join(", ")
        );
        let mut q = sqlx::query(&sql)
            .bind(place.stack_uid)
            .bind(place.content_type_uid)
            .bind(place.locale)
            .bind(actor.uid())
            .bind(&now);
        for (uid, title, doc) in chunk {
            q = q.bind(*uid).bind(*title).bind(doc.to_string());
            if backend == Backend::Sqlite {
                q = q.bind(next_seq);
                next_seq += 1;
            }
        }
        let rows = q.fetch_all(&mut *c).await?;
        let seqs: std::collections::HashMap<String, i64> = rows
            .iter()
            .map(|r| Ok((s(r, "uid")?, i(r, "seq")?)))
            .collect::<Result<_>>()?;
        for (uid, _, doc) in chunk {
            indexed.push((seqs[*uid], *doc));
        }
        let values: Vec<String> = (0..chunk.len())
            .map(|k| {
                let at = 6 + 3 * k;
                format!(
                    "($1, ${}, $3, 1, $2, ${}, ${}, '[]', $4, $5)",
                    at,
                    at + 1,
                    at + 2
                )
            })
            .collect();
        let sql = format!(
            "INSERT INTO entry_versions (stack_uid, uid, locale, version, content_type_uid, title, doc, \
             tags, created_by, created_at) VALUES {}",
            values.join(", ")
        );
        let mut q = sqlx::query(&sql)
            .bind(place.stack_uid)
            .bind(place.content_type_uid)
            .bind(place.locale)
            .bind(actor.uid())
            .bind(&now);
        for (uid, title, doc) in chunk {
            q = q.bind(*uid).bind(*title).bind(doc.to_string());
        }
        q.execute(&mut *c).await?;
    }
    field_index::write_many(c, place, &indexed, &[], field_index::Rows::New).await
}

/// Writes a new version if the stored one is `expected` (or any, when `None`). Returns `None`
/// when the entry is missing or the version is stale: nothing is written then.
pub async fn update(
    c: &mut Conn,
    w: &EntryWrite<'_>,
    expected: Option<i64>,
    actor: &Actor,
) -> Result<Option<Entry>> {
    let backend = crate::Backend::of(c);
    let now = clock::now();
    let guard = if expected.is_some() {
        " AND version = $9"
    } else {
        ""
    };
    // Matched by primary key only (see `get`); callers have checked the content type.
    let sql = format!(
        "UPDATE entries SET title = $1, doc = {}, tags = $3, version = version + 1, updated_by = $4, \
         updated_at = $5 WHERE stack_uid = $6 AND uid = $7 AND locale = $8{guard} RETURNING seq",
        dialect::json_param(backend, 2)
    );
    let mut q = sqlx::query(&sql)
        .bind(w.title)
        .bind(w.doc.to_string())
        .bind(w.tags.to_string())
        .bind(actor.uid())
        .bind(&now)
        .bind(w.stack_uid)
        .bind(w.uid)
        .bind(w.locale);
    if let Some(v) = expected {
        q = q.bind(v);
    }
    let Some(row) = q.fetch_optional(&mut *c).await? else {
        return Ok(None);
    };
    index_doc(c, w, i(&row, "seq")?, field_index::Rows::Existing).await?;
    let entry = get(&mut *c, w.stack_uid, w.content_type_uid, w.uid, w.locale)
        .await?
        .expect("just updated");
    record_version(c, w, entry.version, actor, &now).await?;
    Ok(Some(entry))
}

/// Deletes one locale's version of an entry, or every locale when `locale` is `None`, with
/// its history and publications.
pub async fn delete(
    c: &mut Conn,
    stack_uid: &str,
    uid: &str,
    locale: Option<&str>,
) -> Result<bool> {
    let (filter, loc) = match locale {
        Some(l) => (" AND locale = $3", l),
        None => ("", ""),
    };
    for sql in [
        field_index::delete_sql(&format!("stack_uid = $1 AND uid = $2{filter}")),
        field_index::delete_terms_sql(&format!("stack_uid = $1 AND uid = $2{filter}")),
    ] {
        let mut q = sqlx::query(&sql).bind(stack_uid).bind(uid);
        if locale.is_some() {
            q = q.bind(loc);
        }
        q.execute(&mut *c).await?;
    }
    let mut n = 0;
    for table in ["entries", "entry_versions"] {
        let sql = format!("DELETE FROM {table} WHERE stack_uid = $1 AND uid = $2{filter}");
        let mut q = sqlx::query(&sql).bind(stack_uid).bind(uid);
        if locale.is_some() {
            q = q.bind(loc);
        }
        let r = q.execute(&mut *c).await?;
        if table == "entries" {
            n = r.rows_affected();
        }
    }
    let sql = format!(
        "DELETE FROM publications WHERE stack_uid = $1 AND item_type = 'entry' AND item_uid = $2{filter}"
    );
    let mut q = sqlx::query(&sql).bind(stack_uid).bind(uid);
    if locale.is_some() {
        q = q.bind(loc);
    }
    q.execute(c).await?;
    Ok(n > 0)
}

/// Deletes every entry of a content type (when the content type is deleted).
pub async fn delete_all_of_type(
    c: &mut Conn,
    stack_uid: &str,
    content_type_uid: &str,
) -> Result<()> {
    let values = field_index::delete_sql("stack_uid = $1 AND content_type_uid = $2");
    let terms = field_index::delete_terms_sql("stack_uid = $1 AND content_type_uid = $2");
    for sql in [
        values.as_str(),
        terms.as_str(),
        "DELETE FROM entry_fields WHERE stack_uid = $1 AND content_type_uid = $2",
        "DELETE FROM publications WHERE stack_uid = $1 AND item_type = 'entry' AND content_type_uid = $2",
        "DELETE FROM entry_versions WHERE stack_uid = $1 AND content_type_uid = $2",
        "DELETE FROM entries WHERE stack_uid = $1 AND content_type_uid = $2",
    ] {
        sqlx::query(sql)
            .bind(stack_uid)
            .bind(content_type_uid)
            .execute(&mut *c)
            .await?;
    }
    Ok(())
}

pub async fn count_of_type(c: &mut Conn, stack_uid: &str, content_type_uid: &str) -> Result<i64> {
    let row = sqlx::query(
        "SELECT COUNT(*) AS n FROM entries WHERE stack_uid = $1 AND content_type_uid = $2",
    )
    .bind(stack_uid)
    .bind(content_type_uid)
    .fetch_one(c)
    .await?;
    i(&row, "n")
}

/// A stored version of an entry.
pub async fn version<'e>(
    c: impl Into<Exec<'e>>,
    stack_uid: &str,
    uid: &str,
    locale: &str,
    version: i64,
) -> Result<Option<(Value, String, String)>> {
    let mut c = c.into();
    let backend = c.backend();
    let row = Statement::new(format!(
        "SELECT {} AS doc, created_by, created_at FROM entry_versions \
         WHERE stack_uid = $1 AND uid = $2 AND locale = $3 AND version = $4",
        dialect::json_text(backend, "doc")
    ))
    .arg(stack_uid)
    .arg(uid)
    .arg(locale)
    .arg(version)
    .fetch_optional(&mut c)
    .await?;
    row.map(|r| Ok((json(&r, "doc")?, s(&r, "created_by")?, s(&r, "created_at")?)))
        .transpose()
}

/// The version numbers of an entry in a locale, newest first, with who wrote them and when.
pub async fn versions(
    c: &mut Conn,
    stack_uid: &str,
    uid: &str,
    locale: &str,
) -> Result<Vec<(i64, String, String)>> {
    let rows = sqlx::query(
        "SELECT version, created_by, created_at FROM entry_versions \
         WHERE stack_uid = $1 AND uid = $2 AND locale = $3 ORDER BY version DESC",
    )
    .bind(stack_uid)
    .bind(uid)
    .bind(locale)
    .fetch_all(c)
    .await?;
    rows.iter()
        .map(|r| Ok((i(r, "version")?, s(r, "created_by")?, s(r, "created_at")?)))
        .collect()
}

/// Where a uniqueness check looks: one content type in one locale, ignoring one entry.
pub struct UniqueProbe<'a> {
    pub stack_uid: &'a str,
    pub content_type_uid: &'a str,
    pub locale: &'a str,
    pub except_uid: &'a str,
}

/// True when another entry of the content type in the locale has this value in a top-level field.
pub async fn value_taken<'e>(
    c: impl Into<Exec<'e>>,
    probe: &UniqueProbe<'_>,
    field: &str,
    value: &Value,
) -> Result<bool> {
    let mut c = c.into();
    let backend = c.backend();
    let UniqueProbe {
        stack_uid,
        content_type_uid,
        locale,
        except_uid,
    } = *probe;
    let scalar = match value {
        Value::String(s) => Scalar::Text(s.clone()),
        Value::Number(n) => Scalar::Number(n.as_f64().unwrap_or_default()),
        _ => return Ok(false),
    };
    let mut comp = Compiler::new(backend, 0);
    let stack = comp.push(Param::Text(stack_uid.into()));
    let ct = comp.push(Param::Text(content_type_uid.into()));
    let loc = comp.push(Param::Text(locale.into()));
    let except = comp.push(Param::Text(except_uid.into()));
    let cond = comp.compile(&Cond::Cmp {
        path: vec![field.to_string()],
        op: Op::Eq(scalar),
    });
    let sql = format!(
        "SELECT COUNT(*) AS n FROM entries e WHERE e.stack_uid = {stack} AND e.content_type_uid = {ct} \
         AND e.locale = {loc} AND e.uid <> {except} AND {cond}"
    );
    let st = comp
        .params
        .iter()
        .fold(Statement::new(sql), |st, p| st.arg(p.clone()));
    let row = c
        .fetch_optional(st)
        .await?
        .ok_or_else(|| crate::StoreError::Other("a count returned no row".into()))?;
    Ok(i(&row, "n")? > 0)
}
