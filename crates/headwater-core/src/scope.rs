//! Management-token scope: which modules a token may read and write, and on which branches.
//!
//! The wire form is Contentstack's:
//! `[{"module": "$all", "acl": {"read": true, "write": true}},
//!   {"module": "branch", "branches": ["main"], "acl": {"read": true}}]`.
//!
//! Headwater also reads two optional narrowings of an item (MT-18), which clients that send
//! module-level scopes never set: `content_types` (an `entry` or `content_type` item then
//! applies only to the named content types) and `environments` (an `entry`, `asset` or
//! `taxonomy` item then publishes and unpublishes only to the named environments).

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// Field errors in the wire shape `{"field": ["message", …]}`.
pub type FieldErrors = BTreeMap<String, Vec<String>>;

/// The modules a management token's scope can name. `$all` covers every module a token may
/// touch at all; `branch` and `branch_alias` items restrict where it may act instead.
pub const TOKEN_SCOPE_MODULES: &[&str] = &[
    "$all",
    "content_type",
    "entry",
    "asset",
    "global_field",
    "environment",
    "locale",
    "role",
    "workflow",
    "webhook",
    "label",
    "release",
    "extension",
    "taxonomy",
    "audit_log",
    "publish_queue",
    "branch",
    "branch_alias",
];

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Acl {
    #[serde(default)]
    pub read: bool,
    #[serde(default)]
    pub write: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScopeItem {
    pub module: String,
    pub acl: Acl,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branches: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch_aliases: Option<Vec<String>>,
    /// MT-18: the content types an `entry` or `content_type` item is limited to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_types: Option<Vec<String>>,
    /// MT-18: the environments (names) an `entry`, `asset` or `taxonomy` item may publish to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environments: Option<Vec<String>>,
}

impl ScopeItem {
    /// True when the item covers `module` for the content type concerned (if any).
    fn covers(&self, module: &str, content_type: Option<&str>) -> bool {
        if self.module != "$all" && self.module != module {
            return false;
        }
        match &self.content_types {
            None => true,
            Some(named) => content_type.is_some_and(|ct| named.iter().any(|n| n == ct)),
        }
    }

    /// True when the item lets a publish reach every one of `environments` (`None`: the
    /// environments are not named: only an item without the narrowing applies, unless `later`
    /// says the caller decides again once they are named).
    fn reaches(&self, environments: Option<&[String]>, later: bool) -> bool {
        match (&self.environments, environments) {
            (None, _) => true,
            (Some(_), None) => later,
            (Some(named), Some(envs)) => envs.iter().all(|e| named.contains(e)),
        }
    }
}

/// What an action asks of a scope: the module, and what the narrowings look at.
#[derive(Clone, Copy, Debug)]
pub struct Ask<'a> {
    pub module: &'a str,
    pub content_type: Option<&'a str>,
    /// For publishing: the environments (names) published to, when known.
    pub environments: Option<&'a [String]>,
    /// The environments are named later and decided again then.
    pub environments_later: bool,
    pub publish: bool,
}

/// A validated token scope.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenScope(pub Vec<ScopeItem>);

impl TokenScope {
    /// Validates the `scope` value of a create or update body.
    pub fn parse(value: &Value) -> Result<TokenScope, FieldErrors> {
        let mut errors = FieldErrors::new();
        let mut push = |field: &str, msg: String| {
            errors.entry(field.to_string()).or_default().push(msg);
        };
        let Some(items) = value.as_array() else {
            push("scope", "must be an array of scope objects.".into());
            return Err(errors);
        };
        if items.is_empty() {
            push("scope", "must name at least one module.".into());
        }
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let field = format!("scope[{i}]");
            let Some(obj) = item.as_object() else {
                push(&field, "must be an object.".into());
                continue;
            };
            let module = match obj.get("module").and_then(Value::as_str) {
                Some(m) if TOKEN_SCOPE_MODULES.contains(&m) => m.to_string(),
                Some(m) => {
                    push(
                        &format!("{field}.module"),
                        format!(
                            "'{m}' is not a module a management token can be scoped to. Use one of: {}.",
                            TOKEN_SCOPE_MODULES.join(", ")
                        ),
                    );
                    continue;
                }
                None => {
                    push(&format!("{field}.module"), "is required.".into());
                    continue;
                }
            };
            let acl = match obj.get("acl") {
                Some(Value::Object(acl)) => {
                    let flag = |k: &str| match acl.get(k) {
                        None | Some(Value::Null) => Ok(false),
                        Some(Value::Bool(b)) => Ok(*b),
                        Some(_) => Err(k.to_string()),
                    };
                    match (flag("read"), flag("write")) {
                        (Ok(read), Ok(write)) => Acl { read, write },
                        (Err(k), _) | (_, Err(k)) => {
                            push(&format!("{field}.acl.{k}"), "must be a boolean.".into());
                            continue;
                        }
                    }
                }
                _ => {
                    push(
                        &format!("{field}.acl"),
                        "is required and must be an object with read and write booleans.".into(),
                    );
                    continue;
                }
            };
            let names = |key: &str| -> Result<Option<Vec<String>>, String> {
                match obj.get(key) {
                    None | Some(Value::Null) => Ok(None),
                    Some(Value::Array(a)) => a
                        .iter()
                        .map(|v| {
                            v.as_str()
                                .filter(|s| !s.is_empty())
                                .map(str::to_string)
                                .ok_or_else(|| "must be an array of non-empty strings.".to_string())
                        })
                        .collect::<Result<Vec<_>, _>>()
                        .map(Some),
                    Some(_) => Err("must be an array of non-empty strings.".into()),
                }
            };
            let branches = match names("branches") {
                Ok(b) => b,
                Err(e) => {
                    push(&format!("{field}.branches"), e);
                    continue;
                }
            };
            let branch_aliases = match names("branch_aliases") {
                Ok(b) => b,
                Err(e) => {
                    push(&format!("{field}.branch_aliases"), e);
                    continue;
                }
            };
            let content_types = match names("content_types") {
                Ok(b) => b,
                Err(e) => {
                    push(&format!("{field}.content_types"), e);
                    continue;
                }
            };
            let environments = match names("environments") {
                Ok(b) => b,
                Err(e) => {
                    push(&format!("{field}.environments"), e);
                    continue;
                }
            };
            if content_types.is_some() && !matches!(module.as_str(), "entry" | "content_type") {
                push(
                    &format!("{field}.content_types"),
                    "applies only to the entry and content_type modules (rule MT-18).".into(),
                );
                continue;
            }
            if environments.is_some() && !matches!(module.as_str(), "entry" | "asset" | "taxonomy")
            {
                push(
                    &format!("{field}.environments"),
                    "applies only to the entry, asset and taxonomy modules (rule MT-18).".into(),
                );
                continue;
            }
            if content_types.as_ref().is_some_and(Vec::is_empty)
                || environments.as_ref().is_some_and(Vec::is_empty)
            {
                let key = if content_types.as_ref().is_some_and(Vec::is_empty) {
                    "content_types"
                } else {
                    "environments"
                };
                push(
                    &format!("{field}.{key}"),
                    "must name at least one; leave it out to apply to all.".into(),
                );
                continue;
            }
            if module == "branch" && branches.as_ref().is_none_or(Vec::is_empty) {
                push(
                    &format!("{field}.branches"),
                    "is required for the branch module.".into(),
                );
                continue;
            }
            // An empty alias list names no alias (the official clients send
            // `{"module": "branch_alias", "branch_aliases": [], …}` beside their branch item).
            if module == "branch_alias" && branch_aliases.is_none() {
                push(
                    &format!("{field}.branch_aliases"),
                    "is required for the branch_alias module (an empty list names no alias)."
                        .into(),
                );
                continue;
            }
            out.push(ScopeItem {
                module,
                acl,
                branches,
                branch_aliases,
                content_types,
                environments,
            });
        }
        if errors.is_empty() {
            Ok(TokenScope(out))
        } else {
            Err(errors)
        }
    }

    /// The (read, write) grant for a scope module name, joining `$all` and the module's items.
    pub fn grant(&self, module: &str) -> Acl {
        let mut acl = Acl::default();
        for item in &self.0 {
            if item.module == "$all" || item.module == module {
                acl.read |= item.acl.read;
                acl.write |= item.acl.write;
            }
        }
        acl
    }

    /// The (read, write) grant for an action, counting only the items whose narrowings (MT-18)
    /// let them apply: an item limited to content types applies to those only, and one limited
    /// to environments publishes only there. Without narrowings this is [`TokenScope::grant`].
    pub fn grant_for(&self, ask: Ask<'_>) -> Acl {
        let mut acl = Acl::default();
        for item in &self.0 {
            if !item.covers(ask.module, ask.content_type) {
                continue;
            }
            acl.read |= item.acl.read;
            if !ask.publish || item.reaches(ask.environments, ask.environments_later) {
                acl.write |= item.acl.write;
            }
        }
        acl
    }

    /// True when some item of the scope narrows by content type or environment.
    pub fn is_narrowed(&self) -> bool {
        self.0
            .iter()
            .any(|i| i.content_types.is_some() || i.environments.is_some())
    }

    /// Branch uids named directly by the scope.
    pub fn branches(&self) -> impl Iterator<Item = &str> {
        self.0
            .iter()
            .filter(|i| i.module == "branch")
            .flat_map(|i| i.branches.iter().flatten().map(String::as_str))
    }

    /// Branch aliases named by the scope.
    pub fn branch_aliases(&self) -> impl Iterator<Item = &str> {
        self.0
            .iter()
            .filter(|i| i.module == "branch_alias")
            .flat_map(|i| i.branch_aliases.iter().flatten().map(String::as_str))
    }

    /// True when the scope says nothing about branches (then only `main` is reachable).
    pub fn names_no_branch(&self) -> bool {
        self.branches().next().is_none() && self.branch_aliases().next().is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_the_documented_shape() {
        let s = TokenScope::parse(&json!([
            {"module": "content_type", "acl": {"read": true, "write": true}},
            {"module": "branch", "branches": ["main", "dev"], "acl": {"read": true}},
            {"module": "branch_alias", "branch_aliases": ["deploy"], "acl": {"read": true}}
        ]))
        .unwrap();
        assert_eq!(
            s.grant("content_type"),
            Acl {
                read: true,
                write: true
            }
        );
        assert_eq!(s.grant("entry"), Acl::default());
        assert_eq!(s.branches().collect::<Vec<_>>(), vec!["main", "dev"]);
        assert_eq!(s.branch_aliases().collect::<Vec<_>>(), vec!["deploy"]);
    }

    #[test]
    fn narrowed_items_apply_to_their_content_types_and_environments() {
        let s = TokenScope::parse(&json!([
            {"module": "entry", "content_types": ["blog"], "environments": ["staging"],
             "acl": {"read": true, "write": true}}
        ]))
        .unwrap();
        let staging = vec!["staging".to_string()];
        let both = vec!["staging".to_string(), "production".to_string()];
        let ask = |ct, envs, publish| Ask {
            module: "entry",
            content_type: ct,
            environments: envs,
            environments_later: false,
            publish,
        };
        let rw = Acl {
            read: true,
            write: true,
        };
        let ro = Acl {
            read: true,
            write: false,
        };
        assert_eq!(s.grant_for(ask(Some("blog"), None, false)), rw);
        assert_eq!(s.grant_for(ask(Some("news"), None, false)), Acl::default());
        assert_eq!(s.grant_for(ask(Some("blog"), Some(&staging), true)), rw);
        assert_eq!(s.grant_for(ask(Some("blog"), Some(&both), true)), ro);
        assert_eq!(s.grant_for(ask(Some("blog"), None, true)), ro);
        // Serialized back, the narrowings are kept; module-level items are unchanged.
        let v = serde_json::to_value(&s.0).unwrap();
        assert_eq!(v[0]["content_types"], json!(["blog"]));
        let plain =
            TokenScope::parse(&json!([{"module": "entry", "acl": {"read": true}}])).unwrap();
        assert_eq!(
            serde_json::to_value(&plain.0).unwrap(),
            json!([{"module": "entry", "acl": {"read": true, "write": false}}])
        );
    }

    #[test]
    fn all_covers_every_module() {
        let s = TokenScope::parse(&json!([{"module": "$all", "acl": {"read": true}}])).unwrap();
        assert_eq!(
            s.grant("entry"),
            Acl {
                read: true,
                write: false
            }
        );
        assert!(s.names_no_branch());
    }

    #[test]
    fn errors_name_the_field() {
        let e = TokenScope::parse(&json!([
            {"module": "organization", "acl": {"read": true}},
            {"module": "entry"},
            {"module": "asset", "acl": {"read": "yes"}},
            {"module": "branch", "acl": {"read": true}}
        ]))
        .unwrap_err();
        assert!(e.contains_key("scope[0].module"));
        assert!(e.contains_key("scope[1].acl"));
        assert!(e.contains_key("scope[2].acl.read"));
        assert!(e.contains_key("scope[3].branches"));
        assert!(TokenScope::parse(&json!([])).is_err());
        let e = TokenScope::parse(&json!([
            {"module": "asset", "content_types": ["blog"], "acl": {"read": true}},
            {"module": "role", "environments": ["staging"], "acl": {"read": true}},
            {"module": "entry", "content_types": [], "acl": {"read": true}},
            {"module": "entry", "environments": [3], "acl": {"read": true}}
        ]))
        .unwrap_err();
        assert!(e.contains_key("scope[0].content_types"));
        assert!(e.contains_key("scope[1].environments"));
        assert!(e.contains_key("scope[2].content_types"));
        assert!(e.contains_key("scope[3].environments"));
        assert!(TokenScope::parse(&json!({"module": "$all"})).is_err());
    }

    #[test]
    fn an_empty_alias_list_names_no_alias() {
        let s = TokenScope::parse(&json!([
            {"module": "entry", "acl": {"read": true}},
            {"module": "branch", "branches": ["main"], "acl": {"read": true}},
            {"module": "branch_alias", "branch_aliases": [], "acl": {"read": true}}
        ]))
        .unwrap();
        assert_eq!(s.branch_aliases().count(), 0);
        assert_eq!(s.branches().collect::<Vec<_>>(), vec!["main"]);
        let e = TokenScope::parse(&json!([
            {"module": "branch_alias", "acl": {"read": true}}
        ]))
        .unwrap_err();
        assert!(e.contains_key("scope[0].branch_aliases"));
    }
}
