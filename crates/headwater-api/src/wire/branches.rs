//! `/v3/stacks/branches` (`{"branch": {"uid", "source"}}`) and `/v3/stacks/branch_aliases/{uid}`
//! (`{"branch_alias": {"target_branch"}}`).

use headwater_store::repo::branches::{Alias, Branch};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The body of branch create.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct BranchBody {
    /// At most 15 lowercase letters, digits or `_`.
    #[serde(default)]
    pub uid: Option<String>,
    /// The branch to copy (default `main`).
    #[serde(default)]
    pub source: Option<String>,
}

/// The body of alias create-or-re-point.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct AliasBody {
    #[serde(default)]
    pub target_branch: Option<String>,
}

/// An alias pointing at a branch, as listed in the branch.
#[derive(Debug, Serialize, JsonSchema)]
pub struct AliasRef {
    pub uid: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct BranchOut {
    pub uid: String,
    pub source: String,
    pub created_by: String,
    pub updated_by: String,
    pub created_at: String,
    pub updated_at: String,
    /// Always `false`.
    pub deleted_at: bool,
    pub alias: Vec<AliasRef>,
}

impl BranchOut {
    pub fn new(b: &Branch, aliases: &[Alias]) -> Self {
        BranchOut {
            uid: b.uid.clone(),
            source: b.source.clone(),
            created_by: b.created_by.clone(),
            updated_by: b.updated_by.clone(),
            created_at: b.created_at.clone(),
            updated_at: b.updated_at.clone(),
            deleted_at: false,
            alias: aliases
                .iter()
                .filter(|a| a.target_branch == b.uid)
                .map(|a| AliasRef { uid: a.uid.clone() })
                .collect(),
        }
    }
}

/// An alias as Contentstack shows it: the target branch's fields, with `alias` naming the alias.
#[derive(Debug, Serialize, JsonSchema)]
pub struct AliasOut {
    /// The target branch.
    pub uid: String,
    pub source: String,
    /// The alias.
    pub alias: String,
    pub created_by: String,
    pub updated_by: String,
    pub created_at: String,
    pub updated_at: String,
    /// Always `false`.
    pub deleted_at: bool,
}

impl AliasOut {
    pub fn new(a: &Alias, target: Option<&Branch>) -> Self {
        AliasOut {
            uid: a.target_branch.clone(),
            source: target.map(|b| b.source.clone()).unwrap_or_default(),
            alias: a.uid.clone(),
            created_by: a.created_by.clone(),
            updated_by: a.updated_by.clone(),
            created_at: a.created_at.clone(),
            updated_at: a.updated_at.clone(),
            deleted_at: false,
        }
    }
}
