//! `/v3/workflows`: `{"workflow": {"name", "description", "enabled", "branches",
//! "content_types", "admin_users", "workflow_stages": [{"name", "uid", "color", "SYS_ACL",
//! "next_available_stages", …}]}}`.

use super::publish_rules::string_list;
use headwater_store::repo::workflows::Workflow;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

/// The body of create and update; on update an absent (or `null`) field keeps its value.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct WorkflowBody {
    /// Required on create.
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    /// Default `true`.
    #[serde(default)]
    pub enabled: Option<bool>,
    /// Default `["main"]`.
    #[serde(default, deserialize_with = "string_list")]
    pub branches: Option<Vec<String>>,
    /// Content type uids, or `$all` (the default).
    #[serde(default, deserialize_with = "string_list")]
    pub content_types: Option<Vec<String>>,
    /// `{"users": [...], "roles": [...]}`; default both empty.
    #[serde(default)]
    pub admin_users: Option<Map<String, Value>>,
    /// A non-empty list; required on create.
    #[serde(default)]
    pub workflow_stages: Option<Vec<WorkflowStage>>,
}

/// One stage; members other than `name` and `uid` are kept as sent.
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
pub struct WorkflowStage {
    /// Required.
    #[serde(default)]
    pub name: Option<String>,
    /// Given to a stage sent without one.
    #[serde(default)]
    pub uid: Option<String>,
    /// `color` (default `#2196f3`), `SYS_ACL` (who may move entries in; default everyone),
    /// `next_available_stages` (default `["$all"]`), …
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct WorkflowOut {
    pub uid: String,
    pub name: String,
    pub description: String,
    pub enabled: bool,
    #[schemars(with = "Vec<String>")]
    pub branches: Value,
    #[schemars(with = "Vec<String>")]
    pub content_types: Value,
    pub admin_users: Value,
    #[schemars(with = "Vec<WorkflowStage>")]
    pub workflow_stages: Value,
    pub api_key: String,
    pub org_uid: String,
    pub created_by: String,
    pub updated_by: String,
    pub created_at: String,
    pub updated_at: String,
    /// `false`; when the workflow is deleted, the time.
    pub deleted_at: Value,
}

impl WorkflowOut {
    pub fn new(w: &Workflow, api_key: &str, org_uid: &str) -> Self {
        WorkflowOut {
            uid: w.uid.clone(),
            name: w.name.clone(),
            description: w.description.clone(),
            enabled: w.enabled,
            branches: w.branches.clone(),
            content_types: w.content_types.clone(),
            admin_users: w.admin_users.clone(),
            workflow_stages: w.stages.clone(),
            api_key: api_key.to_string(),
            org_uid: org_uid.to_string(),
            created_by: w.created_by.clone(),
            updated_by: w.updated_by.clone(),
            created_at: w.created_at.clone(),
            updated_at: w.updated_at.clone(),
            deleted_at: json!(false),
        }
    }
}
