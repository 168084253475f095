//! `/v3/stacks/delivery_tokens`: `{"token": {"name", "description", "scope": [{"module":
//! "environment", "environments": […]}, {"module": "branch", "branches": […]}]}}`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The body of create and update; on update an absent field keeps its value.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct DeliveryTokenBody {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    /// `null` names no environment.
    #[serde(default, deserialize_with = "super::nullable")]
    pub scope: Option<Option<Vec<DeliveryScope>>>,
}

/// One item of a delivery token's scope; items of other modules are ignored.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct DeliveryScope {
    /// `environment`, `branch` or `branch_alias`.
    #[serde(default)]
    pub module: String,
    /// For `environment`: the environments, by name (at least one).
    #[serde(default)]
    pub environments: Vec<DeliveryEnvironmentRef>,
    /// For `branch`: branch uids (`main` when no item names one).
    #[serde(default)]
    pub branches: Vec<String>,
    /// `acl`, `_metadata`, `branch_aliases`: read but not kept.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// An environment by name, or as the token shows it (`{"uid", "name", …}`).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(
    untagged,
    expecting = "must be an environment name or an object with its name."
)]
pub enum DeliveryEnvironmentRef {
    Name(String),
    Shown { name: String },
}

impl DeliveryEnvironmentRef {
    pub fn name(&self) -> &str {
        match self {
            DeliveryEnvironmentRef::Name(n) | DeliveryEnvironmentRef::Shown { name: n } => n,
        }
    }
}

/// An environment of the token as shown.
#[derive(Debug, Serialize, JsonSchema)]
pub struct DeliveryScopeEnvironment {
    pub uid: String,
    pub name: String,
    #[schemars(with = "Vec<super::environments::EnvironmentUrl>")]
    pub urls: Value,
    #[serde(rename = "_version")]
    pub version: i64,
}

/// Always `{"read": true}`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct DeliveryReadAcl {
    pub read: bool,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct DeliveryScopeMetadata {
    pub uid: String,
}

/// One item of the token's scope as shown: its environments, then its branches.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(tag = "module")]
pub enum DeliveryScopeOut {
    #[serde(rename = "environment")]
    Environment {
        environments: Vec<DeliveryScopeEnvironment>,
        acl: DeliveryReadAcl,
        #[serde(rename = "_metadata")]
        metadata: DeliveryScopeMetadata,
    },
    #[serde(rename = "branch")]
    Branch {
        branches: Vec<String>,
        acl: DeliveryReadAcl,
        #[serde(rename = "_metadata")]
        metadata: DeliveryScopeMetadata,
    },
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct DeliveryTokenOut {
    pub uid: String,
    pub name: String,
    pub description: String,
    pub scope: Vec<DeliveryScopeOut>,
    /// Always `delivery`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The secret: in the create response only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    pub created_by: String,
    pub updated_by: String,
    pub created_at: String,
    pub updated_at: String,
}
