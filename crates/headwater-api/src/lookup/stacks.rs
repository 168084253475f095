//! The stack object, shared by the stack routes and the organization routes.

use headwater_store::repo::stacks::{Stack, StackUser};
use serde_json::{json, Value};

pub(crate) fn stack_json(stack: &Stack, collaborators: Option<&[StackUser]>) -> Value {
    let mut v = json!({
        "uid": stack.uid,
        "api_key": stack.api_key,
        "name": stack.name,
        "description": stack.description,
        "org_uid": stack.org_uid,
        "owner_uid": stack.owner_uid,
        "master_locale": stack.master_locale,
        "is_asset_download_public": true,
        "created_by": stack.created_by,
        "updated_by": stack.updated_by,
        "created_at": stack.created_at,
        "updated_at": stack.updated_at,
        "settings": {"version": "2019-04-30", "rte_version": 3, "webhook_enabled": true, "branches": false},
    });
    if let Some(users) = collaborators {
        v["user_uids"] = json!(users.iter().map(|u| u.uid.clone()).collect::<Vec<_>>());
        v["collaborators"] = json!(users.iter().map(stack_user_json).collect::<Vec<_>>());
    }
    v
}

pub(crate) fn stack_user_json(u: &StackUser) -> Value {
    json!({
        "uid": u.uid,
        "email": u.email,
        "username": u.email,
        "first_name": u.first_name,
        "last_name": u.last_name,
        "active": true,
        "is_owner": u.is_owner,
        "roles": u.role_uids,
        "created_at": u.created_at,
        "updated_at": u.updated_at,
    })
}
