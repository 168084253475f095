//! Stacks (`/v3/stacks`) and their members (`/v3/stacks/users`, `share`, `unshare`).

use crate::auth::{header, Caller, StackCtx};
use crate::body::{Fields, JsonBody, Query};
use crate::error::{ApiError, ApiResult};
use crate::lookup::stacks::{stack_json, stack_user_json};
use crate::routes::{created, listed, notice, updated};
use crate::state::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use headwater_core::policy::{Action, Module, Op, OrgRole};
use headwater_store::repo::audit::{self, Event};
use headwater_store::repo::stacks::{self, Stack};
use headwater_store::repo::{orgs, roles, users, Actor};
use serde_json::{json, Value};

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
/// for addresses without an account, which are invited to the organization (as members, with
/// this stack role) by an emailed link.
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
    let mut invited = Vec::new();
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
        // one (SEC-17: sharing reveals no accounts): it is invited to the organization as a
        // member with this stack role, by an emailed link (in the background, after commit).
        let Some(user) = users::by_email(&mut tx, email).await? else {
            let email_n = users::normalize_email(email);
            let stack_roles = json!([{"api_key": ctx.stack.api_key, "stack_uid": ctx.stack.uid, "roles": [role_uid]}]);
            let inv = headwater_store::repo::invitations::insert(
                &mut tx,
                &ctx.stack.org_uid,
                &email_n,
                orgs::role_key(OrgRole::Member),
                &stack_roles,
                actor.uid(),
            )
            .await?;
            let (token, expires) = crate::links::mint(crate::links::INVITATION_TTL);
            headwater_store::repo::links::insert(
                &mut tx,
                headwater_store::repo::links::Kind::OrgInvitation,
                &token.hash,
                &inv.uid,
                &email_n,
                actor.uid(),
                &expires,
            )
            .await?;
            audit::record(
                &mut tx,
                &actor,
                ctx.audit("invite", "stack_users", &inv.uid, &email_n),
            )
            .await?;
            let org_name = org.as_ref().map(|o| o.name.clone()).unwrap_or_default();
            let message = crate::links::invitation_message(
                &state,
                &org_name,
                &inv.uid,
                &token.plaintext,
                &expires,
            );
            invited.push((
                email_n,
                format!("Invitation to {org_name} on Headwater"),
                message,
            ));
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
    if !invited.is_empty() {
        let st = state.clone();
        tokio::spawn(async move {
            for (to, subject, body) in invited {
                crate::links::deliver(&st, &to, &subject, body).await;
            }
        });
    }
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

/// The settings of a stack that was never given any, and after a reset.
fn default_settings() -> Value {
    json!({
        "stack_variables": {},
        "discrete_variables": {},
        "live_preview": {},
        "rte": {},
    })
}

async fn current_settings(state: &AppState, stack_uid: &str) -> ApiResult<Value> {
    let mut c = state.db().reader().await?;
    Ok(
        headwater_store::repo::stack_settings::get(&mut c, stack_uid)
            .await?
            .unwrap_or_else(default_settings),
    )
}

/// `GET /v3/stacks/settings`.
pub async fn settings(State(state): State<AppState>, ctx: StackCtx) -> ApiResult<Json<Value>> {
    ctx.authorize(&Action::new(Module::StackSettings, Op::Read))?;
    let s = current_settings(&state, &ctx.stack.uid).await?;
    Ok(Json(json!({ "stack_settings": s })))
}

async fn store_settings(
    state: &AppState,
    ctx: &StackCtx,
    settings: &Value,
    action: &str,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let actor = ctx.actor();
    let mut tx = state.db().begin().await?;
    headwater_store::repo::stack_settings::put(&mut tx, &ctx.stack.uid, settings, &actor).await?;
    audit::record(
        &mut tx,
        &actor,
        ctx.audit(action, "stack_settings", &ctx.stack.uid, &ctx.stack.name),
    )
    .await?;
    tx.commit().await?;
    Ok(updated(
        "Stack settings updated successfully.",
        "stack_settings",
        settings.clone(),
    ))
}

/// `POST /v3/stacks/settings` `{"stack_settings": {"stack_variables": {…}, "live_preview":
/// {…}, "rte": {…}, …}}`: each group sent replaces the stored group of that name (so the
/// official client's `resetSettings`, which sends empty `stack_variables` and
/// `discrete_variables`, empties those); groups not sent stay.
pub async fn update_settings(
    State(state): State<AppState>,
    ctx: StackCtx,
    body: JsonBody,
) -> ApiResult<(StatusCode, Json<Value>)> {
    ctx.authorize(&Action::new(Module::StackSettings, Op::Update))?;
    let sent = body.wrapped("stack_settings")?;
    let mut merged = current_settings(&state, &ctx.stack.uid).await?;
    for (k, v) in sent {
        if !v.is_object() {
            return Err(ApiError::invalid(
                &format!("stack_settings.{k}"),
                "must be an object.",
            ));
        }
        merged[k.as_str()] = v.clone();
    }
    if merged.to_string().len() > 256 * 1024 {
        return Err(ApiError::invalid(
            "stack_settings",
            "must be at most 256 KiB as JSON.",
        ));
    }
    store_settings(&state, &ctx, &merged, "update").await
}

/// `POST /v3/stacks/settings/reset`: back to the defaults.
pub async fn reset_settings(
    State(state): State<AppState>,
    ctx: StackCtx,
) -> ApiResult<(StatusCode, Json<Value>)> {
    ctx.authorize(&Action::new(Module::StackSettings, Op::Update))?;
    store_settings(&state, &ctx, &default_settings(), "reset").await
}

/// `POST /v3/stacks/transfer_ownership` `{"transfer_to": "<email>"}` (the stack's owner):
/// emails a link; ownership moves when it is followed
/// (`GET /v3/stacks/accept_ownership/{token}`). Only a member of the stack's organization can
/// receive it; the answer is the same for any other address (nothing is sent).
pub async fn transfer_ownership(
    State(state): State<AppState>,
    ctx: StackCtx,
    body: JsonBody,
) -> ApiResult<(StatusCode, Json<Value>)> {
    ctx.authorize(&Action::new(Module::Stack, Op::Transfer))?;
    let to = users::normalize_email(Fields::new(&body.0, "").req_str("transfer_to")?);
    let answer = notice(&format!(
        "An email has been sent to {to}. The ownership will be transferred after the other user accepts ownership."
    ));
    let actor = ctx.actor();
    let mut tx = state.db().begin().await?;
    let Some(target) = users::by_email(&mut tx, &to).await? else {
        return Ok(answer);
    };
    if target.uid == ctx.stack.owner_uid {
        return Err(ApiError::invalid("transfer_to", "already owns this stack."));
    }
    if orgs::member_role(&mut tx, &ctx.stack.org_uid, &target.uid)
        .await?
        .is_none()
    {
        return Ok(answer);
    }
    let (token, expires) = crate::links::mint(crate::links::OWNERSHIP_TTL);
    headwater_store::repo::links::insert(
        &mut tx,
        headwater_store::repo::links::Kind::StackOwnership,
        &token.hash,
        &ctx.stack.uid,
        &to,
        &ctx.stack.owner_uid,
        &expires,
    )
    .await?;
    audit::record(
        &mut tx,
        &actor,
        ctx.audit("transfer_ownership", "stack", &target.uid, &to),
    )
    .await?;
    tx.commit().await?;
    let body = format!(
        "You are asked to take over the ownership of the stack \"{name}\" (api_key {key}) on Headwater.\n\n\
         Accept: {base}/v3/stacks/accept_ownership/{token}?api_key={key}&uid={uid}\n\n\
         The link works once, before {expires}.\n",
        name = ctx.stack.name,
        key = ctx.stack.api_key,
        base = crate::links::base(&state),
        token = token.plaintext,
        uid = target.uid,
    );
    let st = state.clone();
    tokio::spawn(async move {
        crate::links::deliver(&st, &to, "Stack ownership transfer", body).await;
    });
    Ok(answer)
}

/// `GET /v3/stacks/accept_ownership/{token}?api_key=&uid=`: the link of a stack ownership
/// transfer (no credential: the token is one). The previous owner stays as an Admin.
pub async fn accept_ownership(
    State(state): State<AppState>,
    axum::extract::Path(raw): axum::extract::Path<String>,
    q: Query,
) -> ApiResult<(StatusCode, Json<Value>)> {
    use headwater_store::repo::links::{self as link_rows, Kind};
    let bad = || {
        ApiError::invalid(
            "ownership_token",
            "is invalid, has expired or was already used.",
        )
    };
    if !crate::links::well_formed(&raw) {
        return Err(bad());
    }
    let mut tx = state.db().begin().await?;
    let claimed = link_rows::claim(
        &mut tx,
        Kind::StackOwnership,
        &headwater_core::secret::hash(&raw),
    )
    .await?
    .ok_or_else(bad)?;
    let stack = stacks::by_uid(&mut tx, &claimed.subject_uid)
        .await?
        .ok_or_else(bad)?;
    if q.get("api_key").is_some_and(|k| k != stack.api_key) {
        return Err(bad());
    }
    let target = users::by_email(&mut tx, &claimed.email)
        .await?
        .ok_or_else(bad)?;
    if q.get("uid").is_some_and(|u| u != target.uid)
        || stack.owner_uid != claimed.created_by
        || orgs::member_role(&mut tx, &stack.org_uid, &target.uid)
            .await?
            .is_none()
    {
        return Err(bad());
    }
    let admin = roles::list(&mut tx, &stack.uid)
        .await?
        .into_iter()
        .find(|r| r.builtin.as_deref() == Some("admin"))
        .ok_or_else(ApiError::internal)?;
    stacks::transfer(&mut tx, &stack, &target.uid, &admin.uid).await?;
    audit::record(
        &mut tx,
        &Actor::User(target.uid.clone()),
        stack_event(&stack, "accept_ownership"),
    )
    .await?;
    tx.commit().await?;
    crate::revocation::announce(&state).await;
    Ok(notice("Ownership transferred successfully."))
}
