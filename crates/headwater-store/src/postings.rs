//! Posting lists in memory: the field index (`entry_values`) of the fields that filtered
//! listings ask about, held per field as value → sorted entry `seq`s, and each listed scope's
//! `updated_at` per entry, so that an exactly indexed condition is counted and ranked without
//! reading index ranges from the database (both backends; listings of current versions and of
//! what is published to an environment).
//!
//! Why: reading the two index ranges of a condition such as `category = X and rating ≥ 90`
//! costs time in proportion to what each side matches (about 3 ms per 10,000 index entries on
//! SQLite), whatever the page size; intersecting bitsets built from posting lists costs
//! microseconds.
//!
//! Staying exact: every change of an `entries` or `entry_values` row appends the row's `seq` to
//! `entry_changes` (and a change of an entry's publication or a rewritten version, the `seq`
//! of the entry row behind it: triggers, migrations 0020 and 0021), in the writing
//! transaction, whichever code path or process wrote it.
//! - SQLite has one writer at a time, so the log's ids follow commit order. Before answering,
//!   the engine reads the log's newest id and, if it moved, re-reads the changed `seq`s' rows
//!   for what it holds (or drops everything when it fell behind the log's pruned tail).
//! - PostgreSQL commits concurrent writers out of id order, so its log rows carry the writing
//!   transaction's id. Before answering, the engine reads its snapshot's xmin (the oldest
//!   transaction still running), then every log row of a transaction from its last position
//!   on, and takes that xmin as its new position: every older transaction had finished when
//!   the position was taken, and its rows were read then (or everything is dropped when the
//!   log was pruned past the position).
//!
//! A posting list so reflects the database at least as of the start of the request, like a
//! read that started then. Re-reading a row twice is harmless, so a re-read that sees a newer
//! commit than the log read is simply repeated later.
//!
//! Bounds: a field with more than [`MAX_DISTINCT`] values is not held (its index ranges are
//! short anyway), nor is anything once [`MAX_SLOTS`] per-entry slots are in use (older holdings
//! are dropped first); a scope whose `updated_at` values are not the server's fixed-width
//! format is not held. Every "not held" answers `None`, and the caller reads the database.

use crate::error::{Result, StoreError};
use crate::repo::entries::{Plan, Test, PUBLISHED_ENTRY_ROW, PUBLISHED_VERSION};
use crate::repo::Conn;
use crate::row::*;
use futures::TryStreamExt;
use std::collections::{BTreeMap, HashMap, HashSet};
use tokio::sync::Mutex;

/// The most distinct values of one field held in memory.
pub const MAX_DISTINCT: usize = 65_536;

/// The most per-entry slots (one per entry of a held field or scope) held in all.
pub const MAX_SLOTS: usize = 12_000_000;

/// The most changed rows re-read at once; further behind, everything is dropped and reloaded.
const MAX_CATCH_UP: i64 = 50_000;

/// A content space, content type and locale.
type Scope = (String, String, String);

/// What a holding describes: current versions (`entries`) or what is published to an
/// environment (the Content Delivery API's listings).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Source {
    Current(Scope),
    /// The scope and the environment uid.
    Published(Scope, String),
}

/// A held field: an `entry_fields` id (current versions), or a published scope's path.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum FieldKey {
    Id(i64),
    Published(Scope, String, String),
}

/// The engine of one database (see the module's documentation).
#[derive(Default)]
pub struct Postings {
    inner: Mutex<Engine>,
    answered: std::sync::atomic::AtomicU64,
    /// Its own reader (SQLite), or the shared pool (PostgreSQL); `None` for an in-memory
    /// database, where it answers nothing.
    reader: Option<sqlx::AnyPool>,
    /// PostgreSQL: the change log is read by transaction id, and published listings are not
    /// answered (see the module's documentation).
    postgres: bool,
}

impl std::fmt::Debug for Postings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Postings")
    }
}

#[derive(Default)]
struct Engine {
    /// The log id everything held reflects (at least); `None` before the first use.
    applied: Option<i64>,
    fields: HashMap<FieldKey, Field>,
    orders: HashMap<Source, Order>,
    /// Fields and scopes found too large or irregular to hold (until everything is dropped).
    not_fields: HashSet<FieldKey>,
    not_scopes: HashSet<Source>,
    /// Holdings in the order they were loaded (the oldest is dropped first).
    loaded: Vec<Held>,
}

#[derive(Clone, PartialEq, Eq)]
enum Held {
    Field(FieldKey),
    Order(Source),
}

/// A number as a map key: SQL compares numbers by value, and `-0.0 = 0.0`.
#[derive(Clone, Copy, Debug)]
struct Num(f64);
impl PartialEq for Num {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other).is_eq()
    }
}
impl Eq for Num {}
impl PartialOrd for Num {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Num {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0)
    }
}
fn num(x: f64) -> Num {
    Num(if x == 0.0 { 0.0 } else { x })
}

#[derive(Clone, PartialEq)]
enum Val {
    Text(String),
    Number(Num),
}

/// A map from entry `seq` to a small value, as a vector over the `seq`s' range (entry rows of
/// one scope have nearby `seq`s; a sparse scope costs its range and counts so against
/// [`MAX_SLOTS`]).
struct SeqMap<T: Copy + PartialEq> {
    base: u32,
    data: Vec<T>,
    none: T,
}

impl<T: Copy + PartialEq> SeqMap<T> {
    fn new(none: T) -> SeqMap<T> {
        SeqMap {
            base: 0,
            data: Vec::new(),
            none,
        }
    }

    fn get(&self, seq: u32) -> Option<T> {
        let at = seq.checked_sub(self.base)? as usize;
        self.data.get(at).copied().filter(|v| *v != self.none)
    }

    fn insert(&mut self, seq: u32, v: T) -> Option<T> {
        if self.data.is_empty() {
            self.base = seq;
        } else if seq < self.base {
            let grow = (self.base - seq) as usize;
            self.data.splice(0..0, std::iter::repeat_n(self.none, grow));
            self.base = seq;
        }
        let at = (seq - self.base) as usize;
        if at >= self.data.len() {
            self.data.resize(at + 1, self.none);
        }
        let old = std::mem::replace(&mut self.data[at], v);
        (old != self.none).then_some(old)
    }

    fn remove(&mut self, seq: u32) -> Option<T> {
        let at = seq.checked_sub(self.base)? as usize;
        let slot = self.data.get_mut(at)?;
        let old = std::mem::replace(slot, self.none);
        (old != self.none).then_some(old)
    }

    /// Slots in use (the range covered).
    fn slots(&self) -> usize {
        self.data.len()
    }
}

/// One field's posting lists: each distinct value gets an id, and a sorted list of `seq`s.
struct Field {
    vals: Vec<Val>,
    lists: Vec<Vec<u32>>,
    texts: HashMap<String, u32>,
    numbers: BTreeMap<Num, u32>,
    /// The value id each entry row holds at this field.
    of_seq: SeqMap<u32>,
    /// At least the largest `seq` ever held (the size of a bitset over this field).
    max: u32,
}

impl Default for Field {
    fn default() -> Field {
        Field {
            vals: Vec::new(),
            lists: Vec::new(),
            texts: HashMap::new(),
            numbers: BTreeMap::new(),
            of_seq: SeqMap::new(u32::MAX),
            max: 0,
        }
    }
}

impl Field {
    fn intern(&mut self, v: Val) -> u32 {
        let found = match &v {
            Val::Text(t) => self.texts.get(t).copied(),
            Val::Number(n) => self.numbers.get(n).copied(),
        };
        if let Some(id) = found {
            return id;
        }
        let id = self.vals.len() as u32;
        match &v {
            Val::Text(t) => {
                self.texts.insert(t.clone(), id);
            }
            Val::Number(n) => {
                self.numbers.insert(*n, id);
            }
        }
        self.vals.push(v);
        self.lists.push(Vec::new());
        id
    }

    fn remove(&mut self, seq: u32) {
        let Some(id) = self.of_seq.remove(seq) else {
            return;
        };
        let list = &mut self.lists[id as usize];
        if let Ok(at) = list.binary_search(&seq) {
            list.remove(at);
        }
    }

    fn insert(&mut self, seq: u32, v: Val) {
        self.remove(seq);
        let id = self.intern(v);
        let list = &mut self.lists[id as usize];
        match list.last() {
            Some(&last) if last >= seq => {
                if let Err(at) = list.binary_search(&seq) {
                    list.insert(at, seq);
                }
            }
            _ => list.push(seq),
        }
        self.max = self.max.max(seq);
        self.of_seq.insert(seq, id);
    }

    /// Holds a loaded list of `seq`s for a value (sorted, without repeats, none held yet).
    fn load(&mut self, v: Val, seqs: Vec<u32>) {
        let id = self.intern(v);
        for s in &seqs {
            self.of_seq.insert(*s, id);
        }
        self.max = self.max.max(seqs.last().copied().unwrap_or(0));
        let list = &mut self.lists[id as usize];
        list.extend(seqs);
        // Equal numbers of different storage (`90`, `90.0`) may come as two groups.
        list.sort_unstable();
        list.dedup();
    }

    /// Collects one (`seq`, value) of a load into `pending` (per value id).
    fn gather(&mut self, pending: &mut Vec<Vec<u32>>, seq: u32, v: Val) {
        let id = self.intern(v) as usize;
        if pending.len() <= id {
            pending.resize(id + 1, Vec::new());
        }
        pending[id].push(seq);
    }

    /// Holds what [`Field::gather`] collected (none held before): sorted per value.
    fn finish(&mut self, pending: Vec<Vec<u32>>) {
        for (id, mut seqs) in pending.into_iter().enumerate() {
            seqs.sort_unstable();
            seqs.dedup();
            let v = self.vals[id].clone();
            self.load(v, seqs);
        }
    }

    fn distinct(&self) -> usize {
        self.vals.len()
    }

    /// Every posting list the test selects.
    fn select(&self, test: &Test) -> Vec<&[u32]> {
        let list = |id: &u32| self.lists[*id as usize].as_slice();
        match test {
            Test::Text(ts) => ts
                .iter()
                .filter_map(|t| self.texts.get(t).map(list))
                .collect(),
            Test::Number(ns) => ns
                .iter()
                .filter_map(|n| self.numbers.get(&num(*n)).map(list))
                .collect(),
            Test::Range(op, x) => {
                use std::ops::Bound::*;
                let x = num(*x);
                let range = match *op {
                    "<" => (Unbounded, Excluded(x)),
                    "<=" => (Unbounded, Included(x)),
                    ">" => (Excluded(x), Unbounded),
                    _ => (Included(x), Unbounded),
                };
                self.numbers.range(range).map(|(_, id)| list(id)).collect()
            }
        }
    }
}

/// A scope's `updated_at` (`published_at`) per entry row, as an order-preserving number.
struct Order {
    key: SeqMap<i64>,
}

impl Default for Order {
    fn default() -> Order {
        Order {
            key: SeqMap::new(i64::MIN),
        }
    }
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ` (the server's stored timestamps) as the number
/// `YYYYMMDDHHMMSSmmm`, which orders as the text does; anything else is `None`.
pub fn time_key(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 24
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
        || b[19] != b'.'
        || b[23] != b'Z'
    {
        return None;
    }
    let mut n: i64 = 0;
    for (at, c) in b[..23].iter().enumerate() {
        if matches!(at, 4 | 7 | 10 | 13 | 16 | 19) {
            continue;
        }
        if !c.is_ascii_digit() {
            return None;
        }
        n = n * 10 + i64::from(c - b'0');
    }
    Some(n)
}

/// A set of entry `seq`s, one bit each.
struct Bits(Vec<u64>);

impl Bits {
    fn from_lists(lists: &[&[u32]], len: usize) -> Bits {
        let mut words = vec![0u64; len.div_ceil(64)];
        for l in lists {
            for &s in *l {
                words[(s / 64) as usize] |= 1 << (s % 64);
            }
        }
        Bits(words)
    }
    fn and(&mut self, o: &Bits) {
        for (a, b) in self.0.iter_mut().zip(&o.0) {
            *a &= b;
        }
    }
    fn or(&mut self, o: &Bits) {
        for (a, b) in self.0.iter_mut().zip(&o.0) {
            *a |= b;
        }
    }
    fn count(&self) -> usize {
        self.0.iter().map(|w| w.count_ones() as usize).sum()
    }
    fn each(&self, mut f: impl FnMut(u32)) {
        for (i, &w) in self.0.iter().enumerate() {
            let mut w = w;
            while w != 0 {
                let b = w.trailing_zeros();
                f(i as u32 * 64 + b);
                w &= w - 1;
            }
        }
    }
}

/// What a held listing answered: the total and the rows that can be on the page.
#[derive(Debug, PartialEq)]
pub struct Answer {
    pub total: i64,
    /// The matches ranked at most `skip + limit` by `updated_at` (and any tied with the last
    /// of them), in no order: sorting these and taking the page gives the page.
    pub candidates: Vec<i64>,
}

/// A listing the engine can answer.
pub struct Ask<'a> {
    pub stack_uid: &'a str,
    pub content_type_uid: &'a str,
    pub locale: &'a str,
    /// `Some(environment uid)`: what is published there, ranked by `published_at`.
    pub published_in: Option<&'a str>,
    pub plan: &'a Plan,
    /// `updated_at` (`published_at`) ascending (`true`) or descending.
    pub ascending: bool,
    pub skip: i64,
    pub limit: i64,
}

fn decode(what: &str) -> StoreError {
    StoreError::Decode(format!("posting lists: {what}"))
}

fn seq32(seq: i64) -> Option<u32> {
    u32::try_from(seq).ok()
}

fn seq_list(text: &str) -> Result<Vec<u32>> {
    let mut out: Vec<u32> = Vec::new();
    for t in text.split(',').filter(|t| !t.is_empty()) {
        let v: i64 = t.parse().map_err(|_| decode(&format!("seq {t:?}")))?;
        out.push(seq32(v).ok_or_else(|| decode("seq out of range"))?);
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

/// Integers beyond 2^53 compare differently as doubles: such a field is not held.
const EXACT_INTEGERS: f64 = 9_007_199_254_740_992.0;

/// The value a published document holds at a dotted path, as the field index would hold it
/// (`field_index::leaves`): strings by their indexed prefix, numbers; `Err` for a number the
/// engine cannot compare exactly.
fn value_at(doc: &serde_json::Value, path: &str) -> std::result::Result<Option<Val>, ()> {
    let mut v = doc;
    for k in path.split('.') {
        match v {
            serde_json::Value::Object(m) => match m.get(k) {
                Some(x) => v = x,
                None => return Ok(None),
            },
            _ => return Ok(None),
        }
    }
    val_of(v)
}

/// A JSON value as the field index would hold it (see [`value_at`]).
fn val_of(v: &serde_json::Value) -> std::result::Result<Option<Val>, ()> {
    Ok(match v {
        serde_json::Value::String(t) => Some(Val::Text(
            crate::repo::field_index::text_prefix(t).to_string(),
        )),
        serde_json::Value::Number(n) => {
            if n.is_i64() || n.is_u64() {
                let big = n.as_i64().is_none_or(|i| i.unsigned_abs() > 1 << 53);
                if big {
                    return Err(());
                }
            }
            match n.as_f64() {
                Some(x) if x.abs() <= EXACT_INTEGERS || !(n.is_i64() || n.is_u64()) => {
                    Some(Val::Number(num(x)))
                }
                _ => return Err(()),
            }
        }
        _ => None,
    })
}

/// The published rows of entries (one per environment and locale an entry row is published
/// to), keyed by the entry row's `seq`, with the published version's document.
fn published_rows() -> String {
    format!(
        "SELECT e.seq, p.stack_uid, p.environment_uid, p.locale, v.content_type_uid, \
         p.published_at, v.doc FROM publications p JOIN {PUBLISHED_ENTRY_ROW} \
         {PUBLISHED_VERSION} WHERE p.item_type = 'entry'"
    )
}

/// An [`Ask`] that owns its parts (it crosses into the engine's own task).
struct Owned {
    /// The plan's paths, sorted, without repeats.
    paths: Vec<String>,
    stack_uid: String,
    content_type_uid: String,
    locale: String,
    published_in: Option<String>,
    plan: Plan,
    ascending: bool,
    skip: i64,
    limit: i64,
}

impl Postings {
    pub(crate) fn new(reader: Option<sqlx::AnyPool>, backend: crate::Backend) -> Postings {
        Postings {
            reader,
            postgres: backend == crate::Backend::Postgres,
            ..Postings::default()
        }
    }

    /// Answers a listing from posting lists, or `None` when something it needs is not held
    /// (or cannot be, or the backend is PostgreSQL): the caller then reads the database.
    ///
    /// The work runs on its own task with the engine's own connection: a load (a first
    /// listing of a large scope can take seconds) is finished and kept even when the request
    /// that started it is dropped, and it never waits for a connection of the shared pool.
    pub async fn answer(self: &std::sync::Arc<Self>, ask: &Ask<'_>) -> Result<Option<Answer>> {
        let Some(pool) = self.reader.clone() else {
            return Ok(None);
        };
        let mut paths = Vec::new();
        if !probe_paths(ask.plan, &mut paths) {
            return Ok(None);
        }
        paths.sort_unstable();
        paths.dedup();
        let owned = Owned {
            paths: paths.iter().map(|p| p.to_string()).collect(),
            stack_uid: ask.stack_uid.to_string(),
            content_type_uid: ask.content_type_uid.to_string(),
            locale: ask.locale.to_string(),
            published_in: ask.published_in.map(str::to_string),
            plan: ask.plan.clone(),
            ascending: ask.ascending,
            skip: ask.skip,
            limit: ask.limit,
        };
        let this = std::sync::Arc::clone(self);
        tokio::spawn(async move {
            let mut c = pool.acquire().await?;
            let ask = Ask {
                stack_uid: &owned.stack_uid,
                content_type_uid: &owned.content_type_uid,
                locale: &owned.locale,
                published_in: owned.published_in.as_deref(),
                plan: &owned.plan,
                ascending: owned.ascending,
                skip: owned.skip,
                limit: owned.limit,
            };
            let paths: Vec<&str> = owned.paths.iter().map(String::as_str).collect();
            this.answer_on(&mut c, &ask, &paths).await
        })
        .await
        .map_err(|e| StoreError::Other(format!("posting lists: {e}")))?
    }

    /// [`Postings::answer`] on the engine's connection; `paths` are the plan's.
    async fn answer_on(
        &self,
        c: &mut Conn,
        ask: &Ask<'_>,
        paths: &[&str],
    ) -> Result<Option<Answer>> {
        let scope: Scope = (
            ask.stack_uid.to_string(),
            ask.content_type_uid.to_string(),
            ask.locale.to_string(),
        );
        // The log's newest and oldest ids (and for current versions the field id of each
        // path) in one statement. On PostgreSQL the position is the oldest transaction still
        // running (the snapshot's xmin); the oldest kept is read with the log itself.
        let mut sql = String::from(if self.postgres {
            "SELECT CAST(CAST(pg_snapshot_xmin(pg_current_snapshot()) AS text) AS bigint) AS head, \
             CAST(0 AS bigint) AS tail"
        } else {
            "SELECT (SELECT MAX(id) FROM entry_changes) AS head, \
             (SELECT MIN(id) FROM entry_changes) AS tail"
        });
        if ask.published_in.is_none() {
            for (k, _) in paths.iter().enumerate() {
                sql.push_str(&format!(
                    ", (SELECT id FROM entry_fields WHERE stack_uid = $1 AND content_type_uid = $2 \
                     AND locale = $3 AND path = ${}) AS f{k}",
                    k + 4
                ));
            }
        }
        let mut q = sqlx::query(&sql);
        if ask.published_in.is_none() {
            q = q
                .bind(ask.stack_uid)
                .bind(ask.content_type_uid)
                .bind(ask.locale);
            for p in paths {
                q = q.bind(*p);
            }
        }
        let row = q.fetch_one(&mut *c).await?;
        let head = oi(&row, "head")?.unwrap_or(0);
        let tail = oi(&row, "tail")?.unwrap_or(0);
        // Each path's holding; `None`: no entry of the scope ever had the path.
        let mut keys: HashMap<&str, Option<FieldKey>> = HashMap::new();
        for (k, p) in paths.iter().enumerate() {
            let key = match ask.published_in {
                None => oi(&row, &format!("f{k}"))?.map(FieldKey::Id),
                Some(env) => Some(FieldKey::Published(
                    scope.clone(),
                    env.to_string(),
                    p.to_string(),
                )),
            };
            keys.insert(p, key);
        }
        let source = match ask.published_in {
            None => Source::Current(scope),
            Some(env) => Source::Published(scope, env.to_string()),
        };

        let mut e = self.inner.lock().await;
        if self.postgres {
            e.catch_up_by_transaction(c, head).await?;
        } else {
            e.catch_up(c, head, tail).await?;
        }
        if e.not_scopes.contains(&source) {
            return Ok(None);
        }
        let wanted: Vec<FieldKey> = keys.values().flatten().cloned().collect();
        if wanted.iter().any(|k| e.not_fields.contains(k)) {
            return Ok(None);
        }
        let missing: Vec<FieldKey> = wanted
            .iter()
            .filter(|k| !e.fields.contains_key(*k))
            .cloned()
            .collect();
        let loaded = match &source {
            Source::Current(_) => {
                let mut all = true;
                for k in &missing {
                    if let FieldKey::Id(id) = k {
                        all &= e.load_field(c, *id, self.postgres).await?;
                    }
                }
                all && (e.orders.contains_key(&source) || e.load_order(c, &source).await?)
            }
            Source::Published(..) => {
                (missing.is_empty() && e.orders.contains_key(&source))
                    || e.load_published(c, &source, &wanted, self.postgres).await?
            }
        };
        // Every holding this answer needs is in place (a later load may have dropped an
        // earlier one to stay in bounds: then read the database this time).
        if !loaded || wanted.iter().any(|k| !e.fields.contains_key(k)) {
            return Ok(None);
        }
        let Some(order) = e.orders.get(&source) else {
            return Ok(None);
        };
        let len = wanted
            .iter()
            .filter_map(|k| e.fields.get(k))
            .map(|f| f.max as usize + 1)
            .max()
            .unwrap_or(0);
        let Some(bits) = eval(ask.plan, &e.fields, &keys, len) else {
            return Ok(None);
        };
        let total = bits.count();
        let want = (ask.skip.max(0) + ask.limit.max(0)) as usize;
        let mut keyed: Vec<(i64, u32)> = Vec::with_capacity(total);
        let mut unranked = false;
        bits.each(|s| match order.key.get(s) {
            Some(k) => keyed.push((if ask.ascending { -k } else { k }, s)),
            None => unranked = true,
        });
        if unranked {
            // A posting without its row: not expected; let the database answer.
            return Ok(None);
        }
        let candidates: Vec<i64> = if want == 0 {
            Vec::new()
        } else if keyed.len() <= want {
            keyed.iter().map(|(_, s)| i64::from(*s)).collect()
        } else {
            // Largest keys first: the `want`-th largest key is the threshold.
            let at = want - 1;
            keyed.select_nth_unstable_by(at, |a, b| b.0.cmp(&a.0));
            let threshold = keyed[at].0;
            keyed
                .iter()
                .filter(|(k, _)| *k >= threshold)
                .map(|(_, s)| i64::from(*s))
                .collect()
        };
        self.answered
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(Some(Answer {
            total: total as i64,
            candidates,
        }))
    }

    /// How many listings were answered from memory since start (tests and diagnostics).
    pub fn answered(&self) -> u64 {
        self.answered.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// The paths of the plan's leaves, or `false` when a leaf is not a field comparison.
fn probe_paths<'a>(plan: &'a Plan, out: &mut Vec<&'a str>) -> bool {
    match plan {
        Plan::Leaf(_, Some(p)) => {
            out.push(&p.path);
            true
        }
        Plan::Leaf(_, None) => false,
        Plan::And(ps) | Plan::Or(ps) => ps.iter().all(|p| probe_paths(p, out)),
    }
}

fn eval(
    plan: &Plan,
    fields: &HashMap<FieldKey, Field>,
    keys: &HashMap<&str, Option<FieldKey>>,
    len: usize,
) -> Option<Bits> {
    match plan {
        Plan::Leaf(_, Some(p)) => match keys.get(p.path.as_str())? {
            // No entry of the scope has ever had the path: nothing matches.
            None => Some(Bits::from_lists(&[], len)),
            Some(k) => Some(Bits::from_lists(&fields.get(k)?.select(&p.test), len)),
        },
        Plan::Leaf(_, None) => None,
        Plan::And(ps) => {
            let mut it = ps.iter();
            let mut acc = eval(it.next()?, fields, keys, len)?;
            for p in it {
                acc.and(&eval(p, fields, keys, len)?);
            }
            Some(acc)
        }
        Plan::Or(ps) => {
            let mut acc = Bits::from_lists(&[], len);
            for p in ps {
                acc.or(&eval(p, fields, keys, len)?);
            }
            Some(acc)
        }
    }
}

impl Engine {
    fn slots(&self) -> usize {
        self.fields
            .values()
            .map(|f| f.of_seq.slots())
            .sum::<usize>()
            + self.orders.values().map(|o| o.key.slots()).sum::<usize>()
    }

    fn drop_all(&mut self) {
        *self = Engine {
            applied: self.applied,
            ..Engine::default()
        };
    }

    fn forget(&mut self, h: &Held) {
        match h {
            Held::Field(k) => {
                self.fields.remove(k);
            }
            Held::Order(s) => {
                self.orders.remove(s);
                // A published scope's fields are kept current through its order's rows.
                if let Source::Published(scope, env) = s {
                    let of_source = |k: &FieldKey| matches!(k, FieldKey::Published(fs, fe, _) if fs == scope && fe == env);
                    self.fields.retain(|k, _| !of_source(k));
                    self.loaded
                        .retain(|x| !matches!(x, Held::Field(k) if of_source(k)));
                }
            }
        }
        self.loaded.retain(|x| x != h);
    }

    fn refuse_field(&mut self, k: FieldKey) {
        self.forget(&Held::Field(k.clone()));
        self.not_fields.insert(k);
    }

    fn refuse_scope(&mut self, s: Source) {
        self.forget(&Held::Order(s.clone()));
        self.not_scopes.insert(s);
    }

    /// Drops the oldest holdings until `more` slots fit; `false` if they never can.
    fn make_room(&mut self, more: usize) -> bool {
        if more > MAX_SLOTS {
            return false;
        }
        while self.slots() + more > MAX_SLOTS && !self.loaded.is_empty() {
            let h = self.loaded[0].clone();
            self.forget(&h);
        }
        true
    }

    fn hold_field(&mut self, k: FieldKey, f: Field) -> bool {
        if !self.make_room(f.of_seq.slots()) {
            self.not_fields.insert(k);
            return false;
        }
        self.fields.insert(k.clone(), f);
        self.loaded.push(Held::Field(k));
        true
    }

    fn hold_order(&mut self, s: Source, o: Order) -> bool {
        if !self.make_room(o.key.slots()) {
            self.not_scopes.insert(s);
            return false;
        }
        self.orders.insert(s.clone(), o);
        self.loaded.push(Held::Order(s));
        true
    }

    /// Drops everything held; what is loaded next reflects the database from `head` on.
    fn restart_at(&mut self, head: i64) {
        self.drop_all();
        self.applied = Some(head);
    }

    async fn catch_up(&mut self, c: &mut Conn, head: i64, tail: i64) -> Result<()> {
        let Some(applied) = self.applied else {
            self.applied = Some(head);
            return Ok(());
        };
        if head == applied {
            return Ok(());
        }
        // The log restarted (a restored database), was pruned past what was applied, or is
        // too far ahead to re-read row by row: start over.
        if head < applied || tail > applied + 1 || head - applied > MAX_CATCH_UP {
            self.restart_at(head);
            return Ok(());
        }
        if self.fields.is_empty() && self.orders.is_empty() {
            self.applied = Some(head);
            return Ok(());
        }
        let row = sqlx::query(
            "SELECT group_concat(seq) AS seqs FROM (SELECT DISTINCT seq FROM entry_changes \
             WHERE id > $1 AND id <= $2)",
        )
        .bind(applied)
        .bind(head)
        .fetch_one(&mut *c)
        .await?;
        let changed = seq_list(&os(&row, "seqs")?.unwrap_or_default())?;
        self.reread(c, &changed, crate::Backend::Sqlite).await?;
        self.applied = Some(head);
        Ok(())
    }

    /// [`Engine::catch_up`] on PostgreSQL, where log ids do not follow commit order: `head` is
    /// the xmin of a snapshot taken before this call. Every row of a transaction from the
    /// last position on is read again (some were seen already: reading a row twice is
    /// harmless), and the position becomes `head`. A transaction older than `head` had
    /// finished when it was taken, so its rows are visible to the read here.
    async fn catch_up_by_transaction(&mut self, c: &mut Conn, head: i64) -> Result<()> {
        let Some(applied) = self.applied else {
            self.applied = Some(head);
            return Ok(());
        };
        if head < applied {
            self.restart_at(head);
            return Ok(());
        }
        if self.fields.is_empty() && self.orders.is_empty() {
            self.applied = Some(head);
            return Ok(());
        }
        // The pruning floor and the rows in one statement (one snapshot): rows pruned after
        // it are not missed unseen.
        let row = sqlx::query(
            "SELECT (SELECT xid FROM entry_changes_floor) AS floor, \
             (SELECT string_agg(CAST(seq AS text), ',') FROM (SELECT DISTINCT seq FROM \
             entry_changes WHERE xid >= $1 LIMIT $2) AS s) AS seqs",
        )
        .bind(applied)
        .bind(MAX_CATCH_UP + 1)
        .fetch_one(&mut *c)
        .await?;
        let floor = oi(&row, "floor")?.unwrap_or(0);
        let changed = seq_list(&os(&row, "seqs")?.unwrap_or_default())?;
        if floor > applied || changed.len() as i64 > MAX_CATCH_UP {
            self.restart_at(head);
            return Ok(());
        }
        self.reread(c, &changed, crate::Backend::Postgres).await?;
        self.applied = Some(head);
        Ok(())
    }

    /// Takes in the current rows of the `changed` seqs for everything held.
    async fn reread(
        &mut self,
        c: &mut Conn,
        changed: &[u32],
        backend: crate::Backend,
    ) -> Result<()> {
        if changed.is_empty() {
            return Ok(());
        }
        let ints = crate::dialect::int_list(backend, "$1");
        let list = serde_json::to_string(&changed).map_err(|e| decode(&e.to_string()))?;
        for f in self.fields.values_mut() {
            for s in changed {
                f.remove(*s);
            }
        }
        for o in self.orders.values_mut() {
            for s in changed {
                o.key.remove(*s);
            }
        }
        let held_ids: Vec<i64> = self
            .fields
            .keys()
            .filter_map(|k| match k {
                FieldKey::Id(id) => Some(*id),
                FieldKey::Published(..) => None,
            })
            .collect();
        if !held_ids.is_empty() {
            let held = serde_json::to_string(&held_ids).map_err(|e| decode(&e.to_string()))?;
            // Numbers are doubles on PostgreSQL: none is an integer beyond 2^53.
            let (n, big) = match backend {
                crate::Backend::Sqlite => (
                    "CAST(n AS REAL)",
                    "(typeof(n) = 'integer' AND abs(n) > 9007199254740992)",
                ),
                crate::Backend::Postgres => ("n", "CAST(0 AS bigint)"),
            };
            let sql = format!(
                "SELECT seq, field_id, t, {n} AS n, {big} AS big FROM entry_values \
                 WHERE seq IN ({ints}) AND field_id IN ({})",
                crate::dialect::int_list(backend, "$2")
            );
            let rows = sqlx::query(&sql)
                .bind(&list)
                .bind(&held)
                .fetch_all(&mut *c)
                .await?;
            let mut refused = Vec::new();
            for r in &rows {
                let k = FieldKey::Id(i(r, "field_id")?);
                let seq = seq32(i(r, "seq")?).ok_or_else(|| decode("seq out of range"))?;
                let v = match (os(r, "t")?, get::<Option<f64>>(r, "n")?) {
                    (Some(t), _) => Val::Text(t),
                    (None, Some(_)) if i(r, "big")? != 0 => {
                        refused.push(k);
                        continue;
                    }
                    (None, Some(n)) => Val::Number(num(n)),
                    (None, None) => continue,
                };
                if let Some(f) = self.fields.get_mut(&k) {
                    f.insert(seq, v);
                    if f.distinct() > MAX_DISTINCT {
                        refused.push(k);
                    }
                }
            }
            for k in refused {
                self.refuse_field(k);
            }
        }
        let current = self.orders.keys().any(|s| matches!(s, Source::Current(_)));
        if current {
            let sql = format!(
                "SELECT seq, stack_uid, content_type_uid, locale, updated_at FROM entries \
                 WHERE seq IN ({ints})"
            );
            let rows = sqlx::query(&sql).bind(&list).fetch_all(&mut *c).await?;
            for r in &rows {
                let source = Source::Current((
                    s(r, "stack_uid")?,
                    s(r, "content_type_uid")?,
                    s(r, "locale")?,
                ));
                let Some(o) = self.orders.get_mut(&source) else {
                    continue;
                };
                let seq = seq32(i(r, "seq")?).ok_or_else(|| decode("seq out of range"))?;
                match time_key(&s(r, "updated_at")?) {
                    Some(k) => {
                        o.key.insert(seq, k);
                    }
                    None => self.refuse_scope(source),
                }
            }
        }
        let published = self
            .orders
            .keys()
            .any(|s| matches!(s, Source::Published(..)));
        if published {
            let mut got = Vec::new();
            {
                let sql = format!("{} AND e.seq IN ({ints})", published_rows());
                let mut rows = sqlx::query(&sql).bind(&list).fetch(&mut *c);
                while let Some(r) = rows.try_next().await? {
                    let source = Source::Published(
                        (
                            s(&r, "stack_uid")?,
                            s(&r, "content_type_uid")?,
                            s(&r, "locale")?,
                        ),
                        s(&r, "environment_uid")?,
                    );
                    if self.orders.contains_key(&source) {
                        let seq = seq32(i(&r, "seq")?).ok_or_else(|| decode("seq out of range"))?;
                        got.push((source, seq, s(&r, "published_at")?, json(&r, "doc")?));
                    }
                }
            }
            for (source, seq, at, doc) in got {
                self.apply_published(&source, seq, &at, &doc);
            }
        }
        Ok(())
    }

    /// Holds one published row's values (its order key and each held path of its source).
    fn apply_published(&mut self, source: &Source, seq: u32, at: &str, doc: &serde_json::Value) {
        let Source::Published(scope, env) = source else {
            return;
        };
        let Some(o) = self.orders.get_mut(source) else {
            return;
        };
        match time_key(at) {
            Some(k) => {
                if o.key.insert(seq, k).is_some() {
                    // Two published rows of one scope for one entry row: not expected.
                    self.refuse_scope(source.clone());
                    return;
                }
            }
            None => {
                self.refuse_scope(source.clone());
                return;
            }
        }
        let mut refused = Vec::new();
        for (k, f) in self.fields.iter_mut() {
            let FieldKey::Published(fs, fe, path) = k else {
                continue;
            };
            if fs != scope || fe != env {
                continue;
            }
            match value_at(doc, path) {
                Ok(Some(v)) => {
                    f.insert(seq, v);
                    if f.distinct() > MAX_DISTINCT {
                        refused.push(k.clone());
                    }
                }
                Ok(None) => {}
                Err(()) => refused.push(k.clone()),
            }
        }
        for k in refused {
            self.refuse_field(k);
        }
    }

    /// Loads one field's posting lists; `false` when it is not to be held.
    async fn load_field(&mut self, c: &mut Conn, id: i64, postgres: bool) -> Result<bool> {
        let key = FieldKey::Id(id);
        let mut f = Field::default();
        let limit = (MAX_DISTINCT + 1) as i64;
        // One row per distinct value, its entries listed (in index order: cheap to read).
        let (texts_sql, numbers_sql) = if postgres {
            (
                "SELECT t, string_agg(CAST(seq AS text), ',') AS seqs FROM entry_values \
                 WHERE field_id = $1 AND t IS NOT NULL GROUP BY t LIMIT $2",
                "SELECT n, CAST(0 AS bigint) AS big, string_agg(CAST(seq AS text), ',') AS seqs \
                 FROM entry_values WHERE field_id = $1 AND n IS NOT NULL GROUP BY n LIMIT $2",
            )
        } else {
            (
                "SELECT t, group_concat(seq) AS seqs FROM entry_values INDEXED BY entry_values_text \
                 WHERE field_id = $1 AND t IS NOT NULL GROUP BY t LIMIT $2",
                "SELECT CAST(n AS REAL) AS n, MAX(typeof(n) = 'integer' AND abs(n) > 9007199254740992) \
                 AS big, group_concat(seq) AS seqs FROM entry_values INDEXED BY entry_values_number \
                 WHERE field_id = $1 AND n IS NOT NULL GROUP BY n LIMIT $2",
            )
        };
        let rows = sqlx::query(texts_sql)
            .bind(id)
            .bind(limit)
            .fetch_all(&mut *c)
            .await?;
        let texts = rows.len();
        for r in &rows {
            let t = s(r, "t")?;
            f.load(Val::Text(t), seq_list(&s(r, "seqs")?)?);
        }
        drop(rows);
        let rows = sqlx::query(numbers_sql)
            .bind(id)
            .bind(limit)
            .fetch_all(&mut *c)
            .await?;
        if texts + rows.len() > MAX_DISTINCT {
            self.not_fields.insert(key);
            return Ok(false);
        }
        for r in &rows {
            if i(r, "big")? != 0 {
                self.not_fields.insert(key);
                return Ok(false);
            }
            let n = num(get::<f64>(r, "n")?);
            f.load(Val::Number(n), seq_list(&s(r, "seqs")?)?);
        }
        Ok(self.hold_field(key, f))
    }

    /// Loads a scope of current versions: `updated_at` per entry row; `false` when it is not
    /// to be held.
    async fn load_order(&mut self, c: &mut Conn, source: &Source) -> Result<bool> {
        let Source::Current(scope) = source else {
            return Ok(false);
        };
        let mut o = Order::default();
        {
            let mut rows = sqlx::query(
                "SELECT seq, updated_at FROM entries WHERE stack_uid = $1 AND content_type_uid = $2 \
                 AND locale = $3",
            )
            .bind(&scope.0)
            .bind(&scope.1)
            .bind(&scope.2)
            .fetch(&mut *c);
            while let Some(r) = rows.try_next().await? {
                let (Some(seq), Some(k)) = (seq32(i(&r, "seq")?), time_key(&s(&r, "updated_at")?))
                else {
                    self.not_scopes.insert(source.clone());
                    return Ok(false);
                };
                o.key.insert(seq, k);
                if o.key.slots() > MAX_SLOTS {
                    self.not_scopes.insert(source.clone());
                    return Ok(false);
                }
            }
        }
        Ok(self.hold_order(source.clone(), o))
    }

    /// Loads a published scope: `published_at` per entry row and the values at `keys` of the
    /// published documents (what was held of the scope before is replaced).
    async fn load_published(
        &mut self,
        c: &mut Conn,
        source: &Source,
        keys: &[FieldKey],
        postgres: bool,
    ) -> Result<bool> {
        let Source::Published(scope, env) = source else {
            return Ok(false);
        };
        self.forget(&Held::Order(source.clone()));
        let mut o = Order::default();
        let mut fields: Vec<(FieldKey, Field)> =
            keys.iter().map(|k| (k.clone(), Field::default())).collect();
        {
            // The values at the paths are taken out by the database in one `json_extract`
            // (one parse per document; with two or more paths it answers a JSON array, so the
            // first path is repeated when it is the only one): the documents are not read
            // here. Every published row of the scope must join its entry row (the posting
            // lists are keyed by that row's `seq`): a row without one refuses the scope.
            // PostgreSQL takes each path as a text array literal (`{author,name}`): only paths
            // of plain names are held there.
            let plain = |path: &str| {
                path.split('.').all(|seg| {
                    !seg.is_empty() && seg.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
                })
            };
            let mut paths: Vec<String> = fields
                .iter()
                .filter_map(|(k, _)| match k {
                    FieldKey::Published(_, _, path) if !postgres => Some(format!("$.{path}")),
                    FieldKey::Published(_, _, path) if plain(path) => {
                        Some(format!("{{{}}}", path.replace('.', ",")))
                    }
                    _ => None,
                })
                .collect();
            if paths.len() != fields.len() {
                return Ok(false);
            }
            let wanted = paths.len();
            if wanted == 1 {
                paths.push(paths[0].clone());
            }
            let args: Vec<String> = (0..paths.len()).map(|k| format!("${}", 5 + k)).collect();
            let extract = if wanted == 0 {
                "NULL".to_string()
            } else if postgres {
                let each: Vec<String> = args
                    .iter()
                    .map(|a| format!("CAST(v.doc AS jsonb) #> CAST({a} AS text[])"))
                    .collect();
                format!("CAST(json_build_array({}) AS text)", each.join(", "))
            } else {
                format!("json_extract(v.doc, {})", args.join(", "))
            };
            let sql = format!(
                "SELECT e.seq, p.published_at, {extract} AS vals FROM publications p \
                 {PUBLISHED_VERSION} LEFT JOIN {PUBLISHED_ENTRY_ROW} WHERE p.item_type = 'entry' AND p.stack_uid = $1 AND p.environment_uid = $2 \
                 AND p.locale = $3 AND v.content_type_uid = $4"
            );
            let mut q = sqlx::query(&sql)
                .bind(&scope.0)
                .bind(env)
                .bind(&scope.2)
                .bind(&scope.1);
            for p in &paths {
                q = q.bind(p);
            }
            let mut pending: Vec<Vec<Vec<u32>>> = vec![Vec::new(); fields.len()];
            let mut rows = q.fetch(&mut *c);
            while let Some(r) = rows.try_next().await? {
                let (Some(seq), Some(k)) = (
                    oi(&r, "seq")?.and_then(seq32),
                    time_key(&s(&r, "published_at")?),
                ) else {
                    self.not_scopes.insert(source.clone());
                    return Ok(false);
                };
                if o.key.insert(seq, k).is_some() || o.key.slots() > MAX_SLOTS {
                    self.not_scopes.insert(source.clone());
                    return Ok(false);
                }
                if wanted == 0 {
                    continue;
                }
                let vals: Vec<serde_json::Value> = serde_json::from_str(&s(&r, "vals")?)
                    .map_err(|e| decode(&format!("extracted values: {e}")))?;
                for (k, ((_, f), out)) in fields.iter_mut().zip(pending.iter_mut()).enumerate() {
                    match vals.get(k).map(val_of) {
                        Some(Ok(Some(v))) => f.gather(out, seq, v),
                        Some(Ok(None)) | None => {}
                        Some(Err(())) => {
                            self.not_fields.insert(fields[k].0.clone());
                            return Ok(false);
                        }
                    }
                }
            }
            drop(rows);
            for ((key, f), out) in fields.iter_mut().zip(pending) {
                f.finish(out);
                if f.distinct() > MAX_DISTINCT {
                    self.not_fields.insert(key.clone());
                    return Ok(false);
                }
            }
        }
        if !self.hold_order(source.clone(), o) {
            return Ok(false);
        }
        for (k, f) in fields {
            if !self.hold_field(k, f) {
                return Ok(false);
            }
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_keys_order_as_the_text_does() {
        let a = time_key("2026-12-02T04:42:36.123Z").unwrap();
        let b = time_key("2026-12-02T04:42:36.124Z").unwrap();
        let c = time_key("2027-01-01T00:00:00.000Z").unwrap();
        assert!(a < b && b < c);
        assert_eq!(a, 20261202044236123);
        assert_eq!(time_key("2026-12-02T04:42:36Z"), None);
        assert_eq!(time_key("2026-12-02 04:42:36.123Z"), None);
        assert_eq!(time_key("2026-12-0xT04:42:36.123Z"), None);
    }

    #[test]
    fn a_field_keeps_its_lists_sorted_and_moves_a_changed_value() {
        let mut f = Field::default();
        for s in [5, 1, 9, 3] {
            f.insert(s, Val::Number(num(90.0)));
        }
        f.insert(3, Val::Text("tech".into()));
        assert_eq!(f.select(&Test::Number(vec![90.0])), vec![&[1u32, 5, 9][..]]);
        assert_eq!(
            f.select(&Test::Text(vec!["tech".into()])),
            vec![&[3u32][..]]
        );
        f.remove(3);
        assert_eq!(
            f.select(&Test::Text(vec!["tech".into()])),
            vec![&[0u32; 0][..]]
        );
        assert_eq!(f.select(&Test::Range(">=", 90.0)), vec![&[1u32, 5, 9][..]]);
        assert!(f.select(&Test::Range(">", 90.0)).is_empty());
        assert_eq!(f.select(&Test::Number(vec![-0.0])).len(), 0);
        f.insert(7, Val::Number(num(-0.0)));
        assert_eq!(f.select(&Test::Number(vec![0.0])), vec![&[7u32][..]]);
    }

    #[test]
    fn a_seq_map_grows_both_ways_and_forgets() {
        let mut m = SeqMap::new(u32::MAX);
        assert_eq!(m.insert(100, 1), None);
        assert_eq!(m.insert(90, 2), None);
        assert_eq!(m.insert(120, 3), None);
        assert_eq!(m.insert(100, 4), Some(1));
        assert_eq!(
            (m.get(90), m.get(100), m.get(120), m.get(95)),
            (Some(2), Some(4), Some(3), None)
        );
        assert_eq!(m.remove(90), Some(2));
        assert_eq!(m.get(90), None);
        assert_eq!(m.get(7), None);
        assert_eq!(m.slots(), 31);
    }

    #[test]
    fn bits_intersect_unite_and_count() {
        let mut a = Bits::from_lists(&[&[1, 64, 130]], 200);
        let b = Bits::from_lists(&[&[64, 130, 199]], 200);
        let mut u = Bits::from_lists(&[&[1]], 200);
        u.or(&b);
        a.and(&b);
        assert_eq!(a.count(), 2);
        let mut seen = Vec::new();
        u.each(|s| seen.push(s));
        assert_eq!(seen, vec![1, 64, 130, 199]);
    }
}
