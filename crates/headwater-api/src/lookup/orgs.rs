//! The organization object shared by the organization routes and the session (`GET /v3/user`).

use headwater_core::policy::OrgRole;
use headwater_store::repo::orgs::{self, Org};
use serde_json::{json, Value};

pub(crate) fn org_json(org: &Org, role: OrgRole) -> Value {
    json!({
        "uid": org.uid,
        "name": org.name,
        "owner_uid": org.owner_uid,
        "is_owner": role == OrgRole::Owner,
        "enabled": true,
        "org_roles": [{"name": orgs::role_key(role), "admin": matches!(role, OrgRole::Owner | OrgRole::Admin)}],
        "settings": {
            "sso": {"strict": org.sso_strict},
            "management_tokens": {
                "max_lifetime_days": org.max_token_lifetime_days,
                "allow_never_expiring": org.allow_never_expiring_tokens,
            },
        },
        "rate_limit": {"read": org.read_rps, "write": org.write_rps},
        "created_at": org.created_at,
        "updated_at": org.updated_at,
    })
}
