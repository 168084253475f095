//! Taxonomy term hierarchies: which terms lie above or below a term, and the resolution of the
//! entry query's hierarchy operators (`$eq_below`, `$below`, `$eq_above`, `$above`) into the
//! plain term sets the store looks up in its entry term index.

use crate::query::{taxonomy_of, Cond, Hierarchy, Op, Scalar};
use std::collections::{HashMap, HashSet};

/// The deepest a term may sit (a root term is at depth 1).
pub const MAX_DEPTH: i64 = 10;

/// A taxonomy's terms as (uid, parent uid) pairs.
pub struct Tree<'a> {
    parent: HashMap<&'a str, Option<&'a str>>,
    children: HashMap<&'a str, Vec<&'a str>>,
}

impl<'a> Tree<'a> {
    /// Children keep the order of `terms` (give them in sibling order).
    pub fn new(terms: &'a [(String, Option<String>)]) -> Tree<'a> {
        let mut parent = HashMap::new();
        let mut children: HashMap<&str, Vec<&str>> = HashMap::new();
        for (uid, p) in terms {
            parent.insert(uid.as_str(), p.as_deref());
            if let Some(p) = p {
                children.entry(p.as_str()).or_default().push(uid.as_str());
            }
        }
        Tree { parent, children }
    }

    pub fn contains(&self, uid: &str) -> bool {
        self.parent.contains_key(uid)
    }

    /// The ancestors of a term, root first (empty for a root term or an unknown one). Stops at
    /// a repeated term, so a damaged tree cannot loop.
    pub fn ancestors(&self, uid: &str) -> Vec<&'a str> {
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        let mut at = self.parent.get(uid).copied().flatten();
        while let Some(p) = at {
            if !seen.insert(p) {
                break;
            }
            out.push(p);
            at = self.parent.get(p).copied().flatten();
        }
        out.reverse();
        out
    }

    /// The descendants of a term down to `levels` levels below it (all when `None`), each with
    /// its level below the term (1 for a child), parents before children, siblings in order.
    pub fn descendants(&self, uid: &str, levels: Option<u32>) -> Vec<(&'a str, u32)> {
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        fn walk<'a>(
            t: &Tree<'a>,
            uid: &str,
            level: u32,
            levels: Option<u32>,
            seen: &mut HashSet<&'a str>,
            out: &mut Vec<(&'a str, u32)>,
        ) {
            if levels.is_some_and(|l| level > l) {
                return;
            }
            for c in t.children.get(uid).into_iter().flatten() {
                if seen.insert(c) {
                    out.push((c, level));
                    walk(t, c, level + 1, levels, seen, out);
                }
            }
        }
        walk(self, uid, 1, levels, &mut seen, &mut out);
        out
    }

    /// Whether `candidate` is `uid` or lies below it (a move under it would make a cycle).
    pub fn is_self_or_below(&self, uid: &str, candidate: &str) -> bool {
        candidate == uid || self.ancestors(candidate).contains(&uid)
    }

    /// How many levels lie below a term (0 for a leaf).
    pub fn height(&self, uid: &str) -> u32 {
        self.descendants(uid, None)
            .iter()
            .map(|(_, l)| *l)
            .max()
            .unwrap_or(0)
    }

    /// The terms a hierarchy operator stands for (empty when the term is unknown).
    pub fn expand(&self, kind: Hierarchy, term: &str, levels: u32) -> Vec<String> {
        if !self.contains(term) {
            return Vec::new();
        }
        let mut out: Vec<String> = Vec::new();
        if matches!(kind, Hierarchy::EqBelow | Hierarchy::EqAbove) {
            out.push(term.to_string());
        }
        match kind {
            Hierarchy::EqBelow | Hierarchy::Below => out.extend(
                self.descendants(term, Some(levels))
                    .into_iter()
                    .map(|(u, _)| u.to_string()),
            ),
            Hierarchy::EqAbove | Hierarchy::Above => {
                let up = self.ancestors(term);
                let skip = up.len().saturating_sub(levels as usize);
                out.extend(up[skip..].iter().map(|u| u.to_string()));
            }
        }
        out
    }
}

/// The taxonomies whose hierarchy operators a condition uses (to load their terms).
pub fn hierarchy_taxonomies(cond: &Cond) -> Vec<String> {
    fn walk(c: &Cond, out: &mut Vec<String>) {
        match c {
            Cond::And(parts) | Cond::Or(parts) => parts.iter().for_each(|p| walk(p, out)),
            Cond::Cmp {
                path,
                op: Op::Hierarchy { .. },
            } => {
                if let Some(t) = taxonomy_of(path) {
                    if !out.iter().any(|o| o == t) {
                        out.push(t.to_string());
                    }
                }
            }
            Cond::Cmp { .. } => {}
        }
    }
    let mut out = Vec::new();
    walk(cond, &mut out);
    out
}

/// Replaces each hierarchy operator with `$in` of the terms it stands for, given the terms of
/// each taxonomy named (in sibling order); a taxonomy not given has no terms.
pub fn resolve(cond: &mut Cond, terms: &HashMap<String, Vec<(String, Option<String>)>>) {
    match cond {
        Cond::And(parts) | Cond::Or(parts) => parts.iter_mut().for_each(|p| resolve(p, terms)),
        Cond::Cmp { path, op } => {
            if let Op::Hierarchy { kind, term, levels } = op {
                let empty = Vec::new();
                let list = taxonomy_of(path)
                    .and_then(|t| terms.get(t))
                    .unwrap_or(&empty);
                let set = Tree::new(list).expand(*kind, term, *levels);
                *op = Op::In(set.into_iter().map(Scalar::Text).collect());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms() -> Vec<(String, Option<String>)> {
        // a > b > c > d, a > e, f
        [
            ("a", None),
            ("b", Some("a")),
            ("c", Some("b")),
            ("d", Some("c")),
            ("e", Some("a")),
            ("f", None),
        ]
        .iter()
        .map(|(u, p)| (u.to_string(), p.map(str::to_string)))
        .collect()
    }

    #[test]
    fn ancestors_descendants_and_levels() {
        let t = terms();
        let tree = Tree::new(&t);
        assert_eq!(tree.ancestors("d"), vec!["a", "b", "c"]);
        assert!(tree.ancestors("a").is_empty());
        assert_eq!(
            tree.descendants("a", None),
            vec![("b", 1), ("c", 2), ("d", 3), ("e", 1)]
        );
        assert_eq!(tree.descendants("a", Some(1)), vec![("b", 1), ("e", 1)]);
        assert_eq!(tree.height("a"), 3);
        assert!(tree.is_self_or_below("a", "d") && !tree.is_self_or_below("d", "a"));
        assert_eq!(tree.expand(Hierarchy::EqBelow, "b", 1), vec!["b", "c"]);
        assert_eq!(tree.expand(Hierarchy::Below, "a", 2), vec!["b", "c", "e"]);
        assert_eq!(tree.expand(Hierarchy::EqAbove, "d", 2), vec!["d", "b", "c"]);
        assert_eq!(tree.expand(Hierarchy::Above, "d", 10), vec!["a", "b", "c"]);
        assert!(tree.expand(Hierarchy::Below, "zz", 3).is_empty());
    }

    #[test]
    fn resolve_rewrites_hierarchy_operators() {
        let mut c = crate::query::parse(
            r#"{"$or": [{"taxonomies.x": {"$below": "c"}}, {"taxonomies.y": {"$eq_above": "q"}}]}"#,
        )
        .unwrap();
        assert_eq!(hierarchy_taxonomies(&c), vec!["x", "y"]);
        let mut m = HashMap::new();
        m.insert("x".to_string(), terms());
        resolve(&mut c, &m);
        let Cond::Or(parts) = c else { panic!() };
        assert_eq!(
            parts[0],
            Cond::Cmp {
                path: vec!["taxonomies".into(), "x".into()],
                op: Op::In(vec![Scalar::Text("d".into())])
            }
        );
        assert!(matches!(&parts[1], Cond::Cmp { op: Op::In(v), .. } if v.is_empty()));
    }
}
