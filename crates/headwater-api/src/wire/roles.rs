//! `/v3/roles`: `{"role": {"name", "description", "rules": [{"module", "acl", …}]}}`.

use headwater_store::repo::roles::Role;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The body of create and update; on update an absent field keeps its value.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct RoleBody {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    /// `null` empties the list.
    #[serde(default, deserialize_with = "super::nullable")]
    pub rules: Option<Option<Vec<RoleRule>>>,
}

/// One permission rule; the policy reads it as written, so every other member is kept.
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
pub struct RoleRule {
    /// `content_type`, `entry`, `asset`, `environment`, `locale`, `branch`, …
    pub module: String,
    /// e.g. `{"read": true, "create": false}`.
    pub acl: Map<String, Value>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct RoleOut {
    pub uid: String,
    pub name: String,
    pub description: String,
    #[schemars(with = "Vec<RoleRule>")]
    pub rules: Value,
    pub api_key: String,
    /// The built-in Admin role.
    pub admin: bool,
    /// A built-in role (cannot be changed or deleted).
    pub default: bool,
    /// Always empty.
    pub users: Vec<Value>,
    /// Always empty.
    pub roles: Vec<Value>,
    pub created_by: String,
    pub updated_by: String,
    pub created_at: String,
    pub updated_at: String,
}

impl RoleOut {
    pub fn new(r: &Role, api_key: &str) -> Self {
        RoleOut {
            uid: r.uid.clone(),
            name: r.name.clone(),
            description: r.description.clone(),
            rules: r.rules.clone(),
            api_key: api_key.to_string(),
            admin: r.builtin.as_deref() == Some("admin"),
            default: r.builtin.is_some(),
            users: Vec::new(),
            roles: Vec::new(),
            created_by: r.created_by.clone(),
            updated_by: r.updated_by.clone(),
            created_at: r.created_at.clone(),
            updated_at: r.updated_at.clone(),
        }
    }
}
