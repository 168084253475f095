//! `/v3/labels`: `{"label": {"name", "parent": [uid], "content_types": [uid]}}`.

use headwater_store::repo::releases::Label;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The body of create and update; on update an absent (or `null`) list keeps its value.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct LabelBody {
    #[serde(default)]
    pub name: Option<String>,
    /// Uids of parent labels.
    #[serde(default)]
    pub parent: Option<Vec<String>>,
    /// Uids of the content types the label applies to.
    #[serde(default)]
    pub content_types: Option<Vec<String>>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct LabelOut {
    pub uid: String,
    pub name: String,
    #[schemars(with = "Vec<String>")]
    pub parent: Value,
    #[schemars(with = "Vec<String>")]
    pub content_types: Value,
    pub created_by: String,
    pub updated_by: String,
    pub created_at: String,
    pub updated_at: String,
}

impl From<&Label> for LabelOut {
    fn from(l: &Label) -> Self {
        LabelOut {
            uid: l.uid.clone(),
            name: l.name.clone(),
            parent: l.parent.clone(),
            content_types: l.content_types.clone(),
            created_by: l.created_by.clone(),
            updated_by: l.updated_by.clone(),
            created_at: l.created_at.clone(),
            updated_at: l.updated_at.clone(),
        }
    }
}
