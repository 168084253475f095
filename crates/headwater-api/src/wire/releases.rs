//! `/v3/releases`: `{"release": {"name", "description", "locked", "archived"}}` (create,
//! update, clone) and the items bodies `{"item": {…}}` / `{"items": [{…}]}`.

use headwater_store::repo::releases::Release;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The body of create, update and clone; on update an absent (or `null`) field keeps its
/// value.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct ReleaseBody {
    /// Required on create and clone.
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    /// A locked release only takes being unlocked.
    #[serde(default)]
    pub locked: Option<bool>,
    #[serde(default)]
    pub archived: Option<bool>,
}

/// One item of an items body: an entry (with `content_type_uid`) or an asset.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
pub struct ReleaseItemBody {
    /// Required when adding.
    #[serde(default)]
    pub uid: Option<String>,
    /// Default the stack's master locale.
    #[serde(default)]
    pub locale: Option<String>,
    /// An entry's content type; absent for an asset.
    #[serde(default)]
    pub content_type_uid: Option<String>,
    /// `publish` (the default) or `unpublish`.
    #[serde(default)]
    pub action: Option<String>,
    /// The version to deploy (a number, or digits in a string); default the latest.
    #[serde(default)]
    #[schemars(with = "Option<i64>")]
    pub version: Option<Value>,
    /// Default the entry's or asset's title.
    #[serde(default)]
    pub title: Option<String>,
    /// An entry variant (Contentstack Personalize) of the entry: the item would deploy that
    /// variant. Headwater has no entry variants, so an item naming one is refused by name
    /// (`items[i].variant_id`) rather than deploying the base entry in its place.
    #[serde(default)]
    pub variant_id: Option<String>,
}

/// A release item as stored and listed.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ReleaseItemOut {
    pub uid: String,
    pub locale: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_type_uid: Option<String>,
    pub action: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<i64>,
    /// Left out when the caller may not read the entry or asset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ReleaseOut {
    pub uid: String,
    pub name: String,
    pub description: String,
    pub locked: bool,
    pub archived: bool,
    pub items_count: usize,
    #[schemars(with = "Vec<ReleaseItemOut>")]
    pub items: Vec<Value>,
    /// The deployments, newest last: `[{environments, locales, action, deployed_at,
    /// deployed_by}]`.
    pub status: Value,
    /// Always `false`.
    #[serde(rename = "_deploy_latest")]
    pub deploy_latest: bool,
    pub created_by: String,
    pub updated_by: String,
    pub created_at: String,
    pub updated_at: String,
}

impl ReleaseOut {
    /// `items` are the release's items as the caller may see them.
    pub fn new(r: &Release, items: Vec<Value>) -> Self {
        ReleaseOut {
            uid: r.uid.clone(),
            name: r.name.clone(),
            description: r.description.clone(),
            locked: r.locked,
            archived: r.archived,
            items_count: items.len(),
            items,
            status: r.deployments.clone(),
            deploy_latest: false,
            created_by: r.created_by.clone(),
            updated_by: r.updated_by.clone(),
            created_at: r.created_at.clone(),
            updated_at: r.updated_at.clone(),
        }
    }
}

/// The body of a deploy: `{"release": {"environments", "locales", "action", "scheduled_at"}}`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct ReleaseDeployBody {
    /// Environment names (at least one).
    #[serde(default)]
    pub environments: Vec<String>,
    /// Only these locales of the items; all of them when empty.
    #[serde(default)]
    pub locales: Vec<String>,
    /// `publish` or `unpublish` for every item; each item's own action when absent.
    #[serde(default)]
    pub action: Option<String>,
    /// When to carry it out (a future timestamp); the JavaScript client sends `scheduledAt`.
    #[serde(default, alias = "scheduledAt")]
    #[schemars(with = "Option<String>")]
    pub scheduled_at: Option<Value>,
}
