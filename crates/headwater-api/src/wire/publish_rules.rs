//! `/v3/workflows/publishing_rules`: `{"publishing_rule": {"environment", "actions",
//! "content_types", "locales", "branches", "approvers", "workflow", "workflow_stage",
//! "disable_approver_publishing"}}`.

use headwater_store::repo::workflows::Rule;
use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

/// The body of create and update; on update an absent (or `null`) field keeps its value.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct PublishRuleBody {
    /// The environment's name; required on create.
    #[serde(default)]
    pub environment: Option<String>,
    /// `publish`, `unpublish` or both (default both).
    #[serde(default, deserialize_with = "string_list")]
    pub actions: Option<Vec<String>>,
    /// Default `["main"]`.
    #[serde(default, deserialize_with = "string_list")]
    pub branches: Option<Vec<String>>,
    /// Content type uids, or `$all` (the default).
    #[serde(default, deserialize_with = "string_list")]
    pub content_types: Option<Vec<String>>,
    /// Locale codes; empty (the default) means every locale.
    #[serde(default, deserialize_with = "string_list")]
    pub locales: Option<Vec<String>>,
    /// `{"users": [...], "roles": [...]}` (uids, or objects with a `uid`); at least one
    /// user or role; required on create.
    #[serde(default)]
    pub approvers: Option<Map<String, Value>>,
    /// A workflow uid; `null` or `""` removes it.
    #[serde(default, deserialize_with = "super::nullable")]
    pub workflow: Option<Option<String>>,
    /// A stage uid of `workflow`; `null` or `""` removes it.
    #[serde(default, deserialize_with = "super::nullable")]
    pub workflow_stage: Option<Option<String>>,
    #[serde(default)]
    pub disable_approver_publishing: Option<bool>,
}

/// A list of strings, `null` read as absent; anything else is refused as
/// "must be an array of strings.".
pub fn string_list<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Ok(None),
        Value::Array(a) if a.iter().all(Value::is_string) => Ok(Some(
            a.into_iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect(),
        )),
        _ => Err(serde::de::Error::custom("must be an array of strings.")),
    }
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct PublishRuleOut {
    pub uid: String,
    pub workflow: Option<String>,
    pub workflow_stage: Option<String>,
    #[schemars(with = "Vec<String>")]
    pub actions: Value,
    #[schemars(with = "Vec<String>")]
    pub branches: Value,
    #[schemars(with = "Vec<String>")]
    pub content_types: Value,
    #[schemars(with = "Vec<String>")]
    pub locales: Value,
    /// The environment's uid.
    pub environment: String,
    pub environment_name: Option<String>,
    /// `{"users": [...], "roles": [...]}`; a list of user uids in
    /// `GET /v3/workflows/content_type/{ct}`.
    pub approvers: Value,
    pub disable_approver_publishing: bool,
    /// Always `true`.
    pub status: bool,
    pub created_by: String,
    pub updated_by: String,
    pub created_at: String,
    pub updated_at: String,
}

impl PublishRuleOut {
    pub fn new(r: &Rule, environment_name: Option<&str>) -> Self {
        PublishRuleOut {
            uid: r.uid.clone(),
            workflow: r.workflow_uid.clone(),
            workflow_stage: r.workflow_stage.clone(),
            actions: r.actions.clone(),
            branches: r.branches.clone(),
            content_types: r.content_types.clone(),
            locales: r.locales.clone(),
            environment: r.environment_uid.clone(),
            environment_name: environment_name.map(str::to_string),
            approvers: r.approvers.clone(),
            disable_approver_publishing: r.disable_approver_publishing,
            status: true,
            created_by: r.created_by.clone(),
            updated_by: r.updated_by.clone(),
            created_at: r.created_at.clone(),
            updated_at: r.updated_at.clone(),
        }
    }
}
