//! Teams (`/v3/organizations/{org}/teams`): members, and stack role mappings that give every
//! member the mapped roles in those stacks. Bodies and answers use the camelCase names of the
//! official clients (`organizationRole`, `stackRoleMapping`, `stackApiKey`). Management
//! tokens are refused (MT-8); members read, the owner and admins write.

use crate::auth::Caller;
use crate::body::JsonBody;
use crate::error::{ApiError, ApiResult};
use crate::lookup::orgs::{in_org, org_role_named, org_role_uid};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use headwater_core::policy::{Action, Module, Op, OrgRole};
use headwater_store::repo::audit::{self, Event};
use headwater_store::repo::orgs::{self, Org};
use headwater_store::repo::teams::{self, Mapping, Team};
use headwater_store::repo::{roles, stacks, users, Actor, Conn};
use serde_json::{json, Map, Value};

fn mapping_json(m: &Mapping) -> Value {
    json!({"stackApiKey": m.api_key, "roles": m.role_uids})
}

async fn team_json(c: &mut Conn, t: &Team) -> ApiResult<Value> {
    let members = teams::members(c, &t.uid).await?;
    let mappings = teams::mappings(c, &t.uid).await?;
    let role = orgs::role_from_key(&t.org_role).unwrap_or(OrgRole::Member);
    Ok(json!({
        "uid": t.uid,
        "name": t.name,
        "description": t.description,
        "organizationUid": t.org_uid,
        "organizationRole": org_role_uid(&t.org_uid, role),
        "users": members,
        "stackRoleMapping": mappings.iter().map(mapping_json).collect::<Vec<_>>(),
        "createdBy": t.created_by,
        "updatedBy": t.updated_by,
        "createdAt": t.created_at,
        "updatedAt": t.updated_at,
    }))
}

fn team_event<'a>(t: &'a Team, action: &'a str) -> Event<'a> {
    Event {
        org_uid: Some(&t.org_uid),
        stack_uid: None,
        action,
        module: "team",
        target_uid: Some(&t.uid),
        target_title: Some(&t.name),
    }
}

async fn team_in(c: &mut Conn, org: &Org, uid: &str) -> ApiResult<Team> {
    teams::get(c, &org.uid, uid)
        .await?
        .ok_or_else(|| ApiError::not_found("team"))
}

/// A team's users as sent: emails (strings or `{"email"}`) or user uids, each a member of the
/// organization.
async fn resolve_users(c: &mut Conn, org: &Org, v: &Value, field: &str) -> ApiResult<Vec<String>> {
    let list = v
        .as_array()
        .ok_or_else(|| ApiError::invalid(field, "must be an array of emails or user uids."))?;
    let mut out = Vec::new();
    for item in list {
        let named = item
            .as_str()
            .or_else(|| item.get("email").and_then(Value::as_str))
            .or_else(|| item.get("uid").and_then(Value::as_str))
            .ok_or_else(|| ApiError::invalid(field, "must be an array of emails or user uids."))?;
        let user = if named.contains('@') {
            users::by_email(c, named).await?
        } else {
            users::by_uid(c, named).await?
        };
        let member = match &user {
            Some(u) => orgs::member_role(c, &org.uid, &u.uid).await?.is_some(),
            None => false,
        };
        match user {
            Some(u) if member => {
                if !out.contains(&u.uid) {
                    out.push(u.uid)
                }
            }
            // An address without an account answers as one outside the organization.
            _ => {
                return Err(ApiError::invalid(
                    field,
                    format!("'{named}' is not a member of this organization; invite them first."),
                ))
            }
        }
    }
    Ok(out)
}

/// One stack role mapping as sent (`{"stackApiKey", "roles"}`), checked against the
/// organization's stacks and each stack's roles: (stack uid, api key, role uids).
async fn resolve_mapping(
    c: &mut Conn,
    org: &Org,
    api_key: &str,
    roles_v: Option<&Value>,
    field: &str,
) -> ApiResult<(String, Vec<String>)> {
    let stack = stacks::by_api_key(c, api_key)
        .await?
        .filter(|s| s.org_uid == org.uid)
        .ok_or_else(|| {
            ApiError::invalid(
                field,
                format!("'{api_key}' is not a stack of this organization."),
            )
        })?;
    let list = roles_v
        .and_then(Value::as_array)
        .filter(|a| !a.is_empty())
        .ok_or_else(|| {
            ApiError::invalid(field, "roles: a non-empty array of role uids is required.")
        })?;
    let mut out = Vec::new();
    for r in list {
        let r = r
            .as_str()
            .ok_or_else(|| ApiError::invalid(field, "roles must be role uid strings."))?;
        roles::get(c, &stack.uid, r).await?.ok_or_else(|| {
            ApiError::invalid(
                field,
                format!("'{r}' is not a role of the stack '{api_key}'."),
            )
        })?;
        if !out.iter().any(|x| x == r) {
            out.push(r.to_string());
        }
    }
    Ok((stack.uid, out))
}

async fn resolve_mappings(
    c: &mut Conn,
    org: &Org,
    v: &Value,
) -> ApiResult<Vec<(String, Vec<String>)>> {
    let list = v
        .as_array()
        .ok_or_else(|| ApiError::invalid("stackRoleMapping", "must be an array."))?;
    let mut out = Vec::new();
    for (i, m) in list.iter().enumerate() {
        let field = format!("stackRoleMapping[{i}]");
        let key = m
            .get("stackApiKey")
            .and_then(Value::as_str)
            .ok_or_else(|| ApiError::invalid(&field, "stackApiKey is required."))?;
        out.push(resolve_mapping(c, org, key, m.get("roles"), &field).await?);
    }
    Ok(out)
}

fn org_role_of(org: &Org, body: &Map<String, Value>, default: &str) -> ApiResult<String> {
    match body.get("organizationRole") {
        None | Some(Value::Null) => Ok(default.to_string()),
        Some(Value::String(s)) => org_role_named(&org.uid, s)
            .filter(|r| *r != OrgRole::Owner)
            .map(|r| orgs::role_key(r).to_string())
            .ok_or_else(|| {
                ApiError::invalid(
                    "organizationRole",
                    format!("'{s}' is not an admin or member role of this organization."),
                )
            }),
        Some(_) => Err(ApiError::invalid("organizationRole", "must be a role uid.")),
    }
}

fn name_of<'a>(
    body: &'a Map<String, Value>,
    required: bool,
    current: &'a str,
) -> ApiResult<&'a str> {
    match body.get("name") {
        Some(Value::String(s)) if !s.trim().is_empty() && s.chars().count() <= 100 => Ok(s.trim()),
        None | Some(Value::Null) if !required => Ok(current),
        _ => Err(ApiError::invalid(
            "name",
            "is required: a non-blank string of at most 100 characters.",
        )),
    }
}

/// `GET /v3/organizations/{org}/teams` → `{"teams": [...], "count"}`.
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path(org_uid): Path<String>,
) -> ApiResult<Json<Value>> {
    let (_, org, _) = in_org(
        &state,
        &caller,
        &org_uid,
        Action::new(Module::Teams, Op::Read),
    )
    .await?;
    let mut c = state.db().reader().await?;
    let all = teams::list(&mut c, &org.uid).await?;
    let mut out = Vec::new();
    for t in &all {
        out.push(team_json(&mut c, t).await?);
    }
    Ok(Json(json!({"teams": out, "count": all.len()})))
}

/// `POST /v3/organizations/{org}/teams` `{"name", "description", "users": [...],
/// "organizationRole", "stackRoleMapping": [{"stackApiKey", "roles"}]}` → 201 with the team.
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Path(org_uid): Path<String>,
    body: JsonBody,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let (user, org, _) = in_org(
        &state,
        &caller,
        &org_uid,
        Action::new(Module::Teams, Op::Create),
    )
    .await?;
    let b = &body.0;
    let name = name_of(b, true, "")?.to_string();
    let description = b
        .get("description")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let role = org_role_of(&org, b, "member")?;
    let actor = Actor::User(user.uid.clone());
    let mut tx = state.db().begin().await?;
    if teams::by_name(&mut tx, &org.uid, &name).await?.is_some() {
        return Err(ApiError::invalid(
            "name",
            format!("a team named '{name}' already exists."),
        ));
    }
    let members = match b.get("users") {
        Some(v) if !v.is_null() => resolve_users(&mut tx, &org, v, "users").await?,
        _ => Vec::new(),
    };
    let mappings = match b.get("stackRoleMapping") {
        Some(v) if !v.is_null() => resolve_mappings(&mut tx, &org, v).await?,
        _ => Vec::new(),
    };
    let team = teams::insert(&mut tx, &org.uid, &name, &description, &role, &actor).await?;
    for m in &members {
        teams::add_member(&mut tx, &team.uid, m).await?;
    }
    for (stack_uid, role_uids) in &mappings {
        teams::set_mapping(&mut tx, &team.uid, stack_uid, role_uids).await?;
    }
    audit::record(&mut tx, &actor, team_event(&team, "create")).await?;
    let out = team_json(&mut tx, &team).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(out)))
}

/// `GET /v3/organizations/{org}/teams/{uid}` → the team object.
pub async fn fetch(
    State(state): State<AppState>,
    caller: Caller,
    Path((org_uid, uid)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let (_, org, _) = in_org(
        &state,
        &caller,
        &org_uid,
        Action::new(Module::Teams, Op::Read),
    )
    .await?;
    let mut c = state.db().reader().await?;
    let team = team_in(&mut c, &org, &uid).await?;
    Ok(Json(team_json(&mut c, &team).await?))
}

/// `PUT /v3/organizations/{org}/teams/{uid}`: `name`, `description`, `organizationRole`;
/// `users` and `stackRoleMapping`, when sent, replace the team's.
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path((org_uid, uid)): Path<(String, String)>,
    body: JsonBody,
) -> ApiResult<Json<Value>> {
    let (user, org, _) = in_org(
        &state,
        &caller,
        &org_uid,
        Action::new(Module::Teams, Op::Update),
    )
    .await?;
    let b = &body.0;
    let actor = Actor::User(user.uid.clone());
    let mut tx = state.db().begin().await?;
    let team = team_in(&mut tx, &org, &uid).await?;
    let name = name_of(b, false, &team.name)?.to_string();
    if name != team.name && teams::by_name(&mut tx, &org.uid, &name).await?.is_some() {
        return Err(ApiError::invalid(
            "name",
            format!("a team named '{name}' already exists."),
        ));
    }
    let description = match b.get("description") {
        Some(Value::String(s)) => s.clone(),
        _ => team.description.clone(),
    };
    let role = org_role_of(&org, b, &team.org_role)?;
    if let Some(v) = b.get("users").filter(|v| !v.is_null()) {
        let members = resolve_users(&mut tx, &org, v, "users").await?;
        for old in teams::members(&mut tx, &team.uid).await? {
            if !members.contains(&old) {
                teams::remove_member(&mut tx, &team.uid, &old).await?;
            }
        }
        for m in &members {
            teams::add_member(&mut tx, &team.uid, m).await?;
        }
    }
    if let Some(v) = b.get("stackRoleMapping").filter(|v| !v.is_null()) {
        let mappings = resolve_mappings(&mut tx, &org, v).await?;
        for old in teams::mappings(&mut tx, &team.uid).await? {
            teams::delete_mapping(&mut tx, &team.uid, &old.stack_uid).await?;
        }
        for (stack_uid, role_uids) in &mappings {
            teams::set_mapping(&mut tx, &team.uid, stack_uid, role_uids).await?;
        }
    }
    let team = teams::update(&mut tx, &team, &name, &description, &role, &actor).await?;
    audit::record(&mut tx, &actor, team_event(&team, "update")).await?;
    let out = team_json(&mut tx, &team).await?;
    tx.commit().await?;
    Ok(Json(out))
}

/// `DELETE /v3/organizations/{org}/teams/{uid}` → 204, no body.
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path((org_uid, uid)): Path<(String, String)>,
) -> ApiResult<Response> {
    let (user, org, _) = in_org(
        &state,
        &caller,
        &org_uid,
        Action::new(Module::Teams, Op::Delete),
    )
    .await?;
    let actor = Actor::User(user.uid.clone());
    let mut tx = state.db().begin().await?;
    let team = team_in(&mut tx, &org, &uid).await?;
    teams::delete(&mut tx, &team.uid).await?;
    audit::record(&mut tx, &actor, team_event(&team, "delete")).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET /v3/organizations/{org}/teams/{uid}/users` → `{"users": ["<user uid>", …]}` (the
/// official JS client makes one `teamUsers(userId)` object of each entry).
pub async fn users_list(
    State(state): State<AppState>,
    caller: Caller,
    Path((org_uid, uid)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let (_, org, _) = in_org(
        &state,
        &caller,
        &org_uid,
        Action::new(Module::Teams, Op::Read),
    )
    .await?;
    let mut c = state.db().reader().await?;
    let team = team_in(&mut c, &org, &uid).await?;
    let members = teams::members(&mut c, &team.uid).await?;
    Ok(Json(json!({ "users": members })))
}

/// `POST /v3/organizations/{org}/teams/{uid}/users` `{"emails": [...]}`: adds organization
/// members to the team.
pub async fn users_add(
    State(state): State<AppState>,
    caller: Caller,
    Path((org_uid, uid)): Path<(String, String)>,
    body: JsonBody,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let (user, org, _) = in_org(
        &state,
        &caller,
        &org_uid,
        Action::new(Module::Teams, Op::Update),
    )
    .await?;
    let emails = body
        .0
        .get("emails")
        .filter(|v| v.as_array().is_some_and(|a| !a.is_empty()))
        .ok_or_else(|| ApiError::invalid("emails", "is required: a non-empty array of emails."))?;
    let actor = Actor::User(user.uid.clone());
    let mut tx = state.db().begin().await?;
    let team = team_in(&mut tx, &org, &uid).await?;
    let members = resolve_users(&mut tx, &org, emails, "emails").await?;
    for m in &members {
        teams::add_member(&mut tx, &team.uid, m).await?;
    }
    audit::record(&mut tx, &actor, team_event(&team, "add_users")).await?;
    tx.commit().await?;
    Ok((
        StatusCode::OK,
        Json(json!({"notice": "Users added to the team successfully.", "users": members})),
    ))
}

/// `DELETE /v3/organizations/{org}/teams/{uid}/users/{user}` → 204.
pub async fn users_remove(
    State(state): State<AppState>,
    caller: Caller,
    Path((org_uid, uid, user_uid)): Path<(String, String, String)>,
) -> ApiResult<Response> {
    let (user, org, _) = in_org(
        &state,
        &caller,
        &org_uid,
        Action::new(Module::Teams, Op::Update),
    )
    .await?;
    let actor = Actor::User(user.uid.clone());
    let mut tx = state.db().begin().await?;
    let team = team_in(&mut tx, &org, &uid).await?;
    if !teams::remove_member(&mut tx, &team.uid, &user_uid).await? {
        return Err(ApiError::not_found("team member"));
    }
    audit::record(&mut tx, &actor, team_event(&team, "remove_user")).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET /v3/organizations/{org}/teams/{uid}/stack_role_mappings` →
/// `{"stackRoleMappings": [{"stackApiKey", "roles"}]}`.
pub async fn mappings_list(
    State(state): State<AppState>,
    caller: Caller,
    Path((org_uid, uid)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let (_, org, _) = in_org(
        &state,
        &caller,
        &org_uid,
        Action::new(Module::Teams, Op::Read),
    )
    .await?;
    let mut c = state.db().reader().await?;
    let team = team_in(&mut c, &org, &uid).await?;
    let all = teams::mappings(&mut c, &team.uid).await?;
    Ok(Json(json!({
        "stackRoleMappings": all.iter().map(mapping_json).collect::<Vec<_>>()
    })))
}

async fn put_mapping(
    state: &AppState,
    caller: &Caller,
    org_uid: &str,
    uid: &str,
    api_key: &str,
    roles_v: Option<&Value>,
    action: &str,
) -> ApiResult<Json<Value>> {
    let (user, org, _) = in_org(
        state,
        caller,
        org_uid,
        Action::new(Module::Teams, Op::Update),
    )
    .await?;
    let actor = Actor::User(user.uid.clone());
    let mut tx = state.db().begin().await?;
    let team = team_in(&mut tx, &org, uid).await?;
    let (stack_uid, role_uids) = resolve_mapping(&mut tx, &org, api_key, roles_v, "roles").await?;
    teams::set_mapping(&mut tx, &team.uid, &stack_uid, &role_uids).await?;
    audit::record(&mut tx, &actor, team_event(&team, action)).await?;
    tx.commit().await?;
    Ok(Json(json!({
        "stackRoleMapping": {"stackApiKey": api_key, "roles": role_uids}
    })))
}

/// `POST /v3/organizations/{org}/teams/{uid}/stack_role_mappings` `{"stackApiKey", "roles"}`.
pub async fn mappings_add(
    State(state): State<AppState>,
    caller: Caller,
    Path((org_uid, uid)): Path<(String, String)>,
    body: JsonBody,
) -> ApiResult<Json<Value>> {
    let key = body
        .0
        .get("stackApiKey")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::invalid("stackApiKey", "is required."))?
        .to_string();
    put_mapping(
        &state,
        &caller,
        &org_uid,
        &uid,
        &key,
        body.0.get("roles"),
        "add_stack_roles",
    )
    .await
}

/// `PUT /v3/organizations/{org}/teams/{uid}/stack_role_mappings/{api_key}` `{"roles"}`:
/// replaces the team's roles in that stack.
pub async fn mappings_update(
    State(state): State<AppState>,
    caller: Caller,
    Path((org_uid, uid, api_key)): Path<(String, String, String)>,
    body: JsonBody,
) -> ApiResult<Json<Value>> {
    put_mapping(
        &state,
        &caller,
        &org_uid,
        &uid,
        &api_key,
        body.0.get("roles"),
        "update_stack_roles",
    )
    .await
}

/// `DELETE /v3/organizations/{org}/teams/{uid}/stack_role_mappings/{api_key}` → 204.
pub async fn mappings_delete(
    State(state): State<AppState>,
    caller: Caller,
    Path((org_uid, uid, api_key)): Path<(String, String, String)>,
) -> ApiResult<Response> {
    let (user, org, _) = in_org(
        &state,
        &caller,
        &org_uid,
        Action::new(Module::Teams, Op::Update),
    )
    .await?;
    let actor = Actor::User(user.uid.clone());
    let mut tx = state.db().begin().await?;
    let team = team_in(&mut tx, &org, &uid).await?;
    let stack = stacks::by_api_key(&mut tx, &api_key)
        .await?
        .filter(|s| s.org_uid == org.uid)
        .ok_or_else(|| ApiError::not_found("stack role mapping"))?;
    if !teams::delete_mapping(&mut tx, &team.uid, &stack.uid).await? {
        return Err(ApiError::not_found("stack role mapping"));
    }
    audit::record(&mut tx, &actor, team_event(&team, "remove_stack_roles")).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
