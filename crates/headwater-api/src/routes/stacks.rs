//! Stacks (`/v3/stacks`) and their members (`/v3/stacks/users`, `share`, `unshare`).

use crate::auth::{header, Caller, StackCtx};
use crate::body::{Fields, JsonBody, Query};
use crate::error::{ApiError, ApiResult};
use crate::routes::{created, listed, notice, updated};
use crate::state::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use headwater_core::policy::{Action, Module, Op, OrgRole};
use headwater_store::repo::audit::{self, Event};
use headwater_store::repo::stacks::{self, Stack, StackUser};
use headwater_store::repo::{orgs, roles, users, Actor};
use serde_json::{json, Value};

fn stack_json(stack: &Stack, collaborators: Option<&[StackUser]>) -> Value {
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

fn stack_user_json(u: &StackUser) -> Value {
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

fn is_locale_code(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 16
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c == '-' || c.is_ascii_digit())
        && s.chars().next().is_some_and(|c| c.is_ascii_lowercase())
}

/// `POST /v3/stacks` with `organization_uid` as a header or query parameter. When neither is
/// sent and the caller belongs to exactly one organization, that one is used.
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    q: Query,
    body: JsonBody,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let action = Action::new(Module::Stack, Op::Create);
    let user = caller.user(&action)?.clone();
    let f = Fields::new(body.wrapped("stack")?, "stack");
    let name = f.req_str("name")?.trim().to_string();
    let description = f.opt_str("description")?.unwrap_or("").to_string();
    let master_locale = f
        .opt_str("master_locale")?
        .unwrap_or("en-us")
        .to_lowercase();
    if !is_locale_code(&master_locale) {
        return Err(ApiError::invalid(
            "stack.master_locale",
            "must be a locale code such as en-us.",
        ));
    }

    let mut c = state.db().reader().await?;
    let org_uid = match header(&headers, "organization_uid").or(q.get("organization_uid")) {
        Some(uid) => uid.to_string(),
        None => {
            let mine = orgs::of_user(&mut c, &user.uid).await?;
            match mine.as_slice() {
                [(only, _)] => only.uid.clone(),
                _ => {
                    return Err(ApiError::invalid(
                        "organization_uid",
                        "is required (as a header) when you belong to several organizations.",
                    ))
                }
            }
        }
    };
    let role = orgs::member_role(&mut c, &org_uid, &user.uid).await?;
    drop(c);
    caller.authorize(role, &action)?;

    let actor = Actor::User(user.uid.clone());
    let mut tx = state.db().begin().await?;
    let stack = stacks::insert(
        &mut tx,
        &org_uid,
        &user.uid,
        &name,
        &description,
        &master_locale,
    )
    .await?;
    audit::record(
        &mut tx,
        &actor,
        Event {
            org_uid: Some(&org_uid),
            stack_uid: Some(&stack.uid),
            action: "create",
            module: "stack",
            target_uid: Some(&stack.uid),
            target_title: Some(&stack.name),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(created(
        "Stack created successfully.",
        "stack",
        stack_json(&stack, None),
    ))
}

/// `GET /v3/stacks`: one stack when `api_key` is sent, otherwise the stacks the caller can see.
pub async fn fetch_or_list(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    q: Query,
) -> ApiResult<Json<Value>> {
    if header(&headers, "api_key").is_some() {
        let ctx = StackCtx::resolve(&state, caller.0.clone(), &headers).await?;
        ctx.authorize(&Action::new(Module::Stack, Op::Read))?;
        let mut c = state.db().reader().await?;
        let collaborators = if q.flag("include_collaborators") {
            Some(stacks::users(&mut c, &ctx.stack).await?)
        } else {
            None
        };
        return Ok(Json(
            json!({ "stack": stack_json(&ctx.stack, collaborators.as_deref()) }),
        ));
    }
    let user = caller.user(&Action::new(Module::Stack, Op::Read))?;
    let org_filter = header(&headers, "organization_uid").map(str::to_string);
    let mut c = state.db().reader().await?;
    let all = stacks::visible_to(&mut c, &user.uid, org_filter.as_deref()).await?;
    let count = q.flag("include_count").then_some(all.len() as i64);
    Ok(listed(
        "stacks",
        all.iter().map(|s| stack_json(s, None)).collect(),
        count,
    ))
}

/// `PUT /v3/stacks`: name and description (the master locale cannot change).
pub async fn update(
    State(state): State<AppState>,
    ctx: StackCtx,
    body: JsonBody,
) -> ApiResult<(StatusCode, Json<Value>)> {
    ctx.authorize(&Action::new(Module::Stack, Op::Update))?;
    let f = Fields::new(body.wrapped("stack")?, "stack");
    let name = match f.opt_str("name")? {
        Some(n) if n.trim().is_empty() => {
            return Err(ApiError::invalid("stack.name", "must not be blank."))
        }
        Some(n) => n.trim().to_string(),
        None => ctx.stack.name.clone(),
    };
    let description = f
        .opt_str("description")?
        .map(str::to_string)
        .unwrap_or_else(|| ctx.stack.description.clone());
    let actor = ctx.actor();
    let mut tx = state.db().begin().await?;
    let stack = stacks::update(&mut tx, &ctx.stack.uid, &name, &description, &actor).await?;
    audit::record(&mut tx, &actor, stack_event(&stack, "update")).await?;
    tx.commit().await?;
    Ok(updated(
        "Stack updated successfully.",
        "stack",
        stack_json(&stack, None),
    ))
}

fn stack_event<'a>(stack: &'a Stack, action: &'a str) -> Event<'a> {
    Event {
        org_uid: Some(&stack.org_uid),
        stack_uid: Some(&stack.uid),
        action,
        module: "stack",
        target_uid: Some(&stack.uid),
        target_title: Some(&stack.name),
    }
}

/// `DELETE /v3/stacks`: the owner only.
pub async fn delete(
    State(state): State<AppState>,
    ctx: StackCtx,
) -> ApiResult<(StatusCode, Json<Value>)> {
    ctx.authorize(&Action::new(Module::Stack, Op::Delete))?;
    let actor = ctx.actor();
    let mut tx = state.db().begin().await?;
    // The files of every branch's assets go after the rows (a crash in between leaves stray
    // files, never rows without their files).
    let mut keys = Vec::new();
    for b in headwater_store::repo::branches::list(&mut tx, &ctx.stack.uid).await? {
        keys.extend(headwater_store::repo::branches::storage_keys(&mut tx, &b.space_uid).await?);
    }
    stacks::delete(&mut tx, &ctx.stack.uid).await?;
    keys.sort();
    keys.dedup();
    let keys = headwater_store::repo::assets::unreferenced(&mut tx, keys).await?;
    audit::record(&mut tx, &actor, stack_event(&ctx.stack, "delete")).await?;
    tx.commit().await?;
    crate::revocation::announce(&state).await;
    for k in keys {
        state.storage().delete(&k).await;
    }
    Ok(notice("Stack deleted successfully!"))
}

/// `GET /v3/stacks/users`.
pub async fn users(State(state): State<AppState>, ctx: StackCtx) -> ApiResult<Json<Value>> {
    ctx.authorize(&Action::new(Module::StackUsers, Op::Read))?;
    let mut c = state.db().reader().await?;
    let all = stacks::users(&mut c, &ctx.stack).await?;
    Ok(listed(
        "users",
        all.iter().map(stack_user_json).collect(),
        None,
    ))
}

/// `POST /v3/stacks/share` `{"emails": [...], "roles": {"email": ["role_uid"]}}`. Users that
/// exist in Headwater join the stack (and its organization) at once; the answer is the same
/// for addresses without an account, which are left out.
pub async fn share(
    State(state): State<AppState>,
    ctx: StackCtx,
    body: JsonBody,
) -> ApiResult<(StatusCode, Json<Value>)> {
    ctx.authorize(&Action::new(Module::StackUsers, Op::Share))?;
    let emails: Vec<String> = match body.0.get("emails") {
        Some(Value::Array(a)) if !a.is_empty() => a
            .iter()
            .map(|v| v.as_str().map(str::to_string))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| ApiError::invalid("emails", "must be an array of email strings."))?,
        _ => {
            return Err(ApiError::invalid(
                "emails",
                "is required: a non-empty array of emails.",
            ))
        }
    };
    let roles_by_email = body.0.get("roles").and_then(Value::as_object);
    let actor = ctx.actor();
    let mut tx = state.db().begin().await?;
    let org = orgs::by_uid(&mut tx, &ctx.stack.org_uid).await?;
    for email in &emails {
        let role_uid = roles_by_email
            .and_then(|m| {
                m.get(email)
                    .or_else(|| m.get(&users::normalize_email(email)))
            })
            .and_then(Value::as_array)
            .and_then(|a| a.first())
            .and_then(Value::as_str)
            .ok_or_else(|| {
                ApiError::invalid("roles", format!("must give a role uid for '{email}'."))
            })?;
        roles::get(&mut tx, &ctx.stack.uid, role_uid)
            .await?
            .ok_or_else(|| {
                ApiError::invalid(
                    "roles",
                    format!("'{role_uid}' is not a role of this stack."),
                )
            })?;
        // An address with no Headwater account gets the very same answer as a registered
        // one (SEC-17: sharing reveals no accounts); nothing is stored for it, and the
        // operator creates the user (`headwater user create`) before sharing again.
        let Some(user) = users::by_email(&mut tx, email).await? else {
            continue;
        };
        if user.uid == ctx.stack.owner_uid {
            return Err(ApiError::invalid(
                "emails",
                format!("'{email}' owns this stack."),
            ));
        }
        stacks::set_member(&mut tx, &ctx.stack.uid, &user.uid, role_uid).await?;
        if orgs::member_role(&mut tx, &ctx.stack.org_uid, &user.uid)
            .await?
            .is_none()
        {
            orgs::add_member(&mut tx, &ctx.stack.org_uid, &user.uid, OrgRole::Member).await?;
            // A new member of an SSO-strict organization cannot log in by password, so the
            // password sessions they had end, as when strict mode is turned on.
            if org.as_ref().is_some_and(|o| o.sso_strict) {
                users::delete_user_authtokens(&mut tx, &user.uid).await?;
            }
        }
        audit::record(
            &mut tx,
            &actor,
            ctx.audit("share", "stack_users", &user.uid, &user.email),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(notice("The invitation has been sent successfully."))
}

/// `POST /v3/stacks/unshare` `{"email": "…"}`.
pub async fn unshare(
    State(state): State<AppState>,
    ctx: StackCtx,
    body: JsonBody,
) -> ApiResult<(StatusCode, Json<Value>)> {
    ctx.authorize(&Action::new(Module::StackUsers, Op::Unshare))?;
    let email = Fields::new(&body.0, "").req_str("email")?.to_string();
    let actor = ctx.actor();
    let mut tx = state.db().begin().await?;
    let user = users::by_email(&mut tx, &email)
        .await?
        .ok_or_else(|| ApiError::invalid("email", "is not a user of this stack."))?;
    if user.uid == ctx.stack.owner_uid {
        return Err(ApiError::invalid(
            "email",
            "The stack owner cannot be removed from the stack.",
        ));
    }
    if !stacks::remove_member(&mut tx, &ctx.stack.uid, &user.uid).await? {
        return Err(ApiError::invalid("email", "is not a user of this stack."));
    }
    audit::record(
        &mut tx,
        &actor,
        ctx.audit("unshare", "stack_users", &user.uid, &user.email),
    )
    .await?;
    tx.commit().await?;
    Ok(notice("The stack has been successfully unshared."))
}
