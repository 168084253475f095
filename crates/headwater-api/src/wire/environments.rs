//! `/v3/environments`: `{"environment": {"name", "urls": [{"locale", "url"}]}}`.

use headwater_store::repo::environments::Environment;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The body of create and update; on update an absent field keeps its value.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct EnvironmentBody {
    #[serde(default)]
    pub name: Option<String>,
    /// `null` empties the list.
    #[serde(default, deserialize_with = "super::nullable")]
    pub urls: Option<Option<Vec<EnvironmentUrl>>>,
}

/// The base URL of the environment for one locale.
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
pub struct EnvironmentUrl {
    pub locale: String,
    pub url: String,
    /// Other members are kept as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct EnvironmentOut {
    pub uid: String,
    pub name: String,
    #[schemars(with = "Vec<EnvironmentUrl>")]
    pub urls: Value,
    #[serde(rename = "_version")]
    pub version: i64,
    /// Always empty.
    #[serde(rename = "ACL")]
    pub acl: Vec<Value>,
    pub created_by: String,
    pub updated_by: String,
    pub created_at: String,
    pub updated_at: String,
}

impl From<&Environment> for EnvironmentOut {
    fn from(e: &Environment) -> Self {
        EnvironmentOut {
            uid: e.uid.clone(),
            name: e.name.clone(),
            urls: e.urls.clone(),
            version: e.version,
            acl: Vec::new(),
            created_by: e.created_by.clone(),
            updated_by: e.updated_by.clone(),
            created_at: e.created_at.clone(),
            updated_at: e.updated_at.clone(),
        }
    }
}
