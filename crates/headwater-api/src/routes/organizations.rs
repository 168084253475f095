//! Organizations (`/v3/organizations`): reading them, their stacks, roles and audit log;
//! invitations (`share`); ownership transfer. Management tokens are refused throughout (MT-8).

use crate::auth::Caller;
use crate::body::{Fields, JsonBody, Query};
use crate::error::{ApiError, ApiResult};
use crate::links;
use crate::lookup::orgs::{in_org, org_json, org_role_json, org_role_named, org_role_uid};
use crate::lookup::stacks::stack_json;
use crate::routes::{listed, notice};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use headwater_core::policy::{Action, Module, Op, OrgRole};
use headwater_core::secret;
use headwater_store::repo::audit::{self, AuditEntry, Event};
use headwater_store::repo::invitations::{self, Invitation};
use headwater_store::repo::links::Kind;
use headwater_store::repo::orgs::{self, Org};
use headwater_store::repo::{links as link_rows, roles, stacks, users, Actor};
use serde_json::{json, Value};

/// `GET /v3/organizations`: the caller's organizations.
pub async fn list(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Value>> {
    let user = caller.user(&Action::new(Module::Organization, Op::Read))?;
    let mut c = state.db().reader().await?;
    let all = orgs::of_user(&mut c, &user.uid).await?;
    let n = all.len() as i64;
    Ok(listed(
        "organizations",
        all.iter().map(|(o, r)| org_json(o, *r)).collect(),
        Some(n),
    ))
}

/// `GET /v3/organizations/{uid}`.
pub async fn fetch(
    State(state): State<AppState>,
    caller: Caller,
    Path(uid): Path<String>,
) -> ApiResult<Json<Value>> {
    let (_, org, role) = in_org(
        &state,
        &caller,
        &uid,
        Action::new(Module::Organization, Op::Read),
    )
    .await?;
    Ok(Json(json!({ "organization": org_json(&org, role) })))
}

/// `GET /v3/organizations/{uid}/stacks`: every stack of the organization for its owner and
/// admins; the stacks shared with them (directly or through a team) for members.
pub async fn org_stacks(
    State(state): State<AppState>,
    caller: Caller,
    Path(uid): Path<String>,
    q: Query,
) -> ApiResult<Json<Value>> {
    let (user, org, role) = in_org(
        &state,
        &caller,
        &uid,
        Action::new(Module::Organization, Op::Read),
    )
    .await?;
    let mut c = state.db().reader().await?;
    let all = match role {
        OrgRole::Owner | OrgRole::Admin => stacks::of_org(&mut c, &org.uid).await?,
        OrgRole::Member => stacks::visible_to(&mut c, &user.uid, Some(&org.uid)).await?,
    };
    let n = all.len() as i64;
    Ok(listed(
        "stacks",
        all.iter().map(|s| stack_json(s, None)).collect(),
        q.flag("include_count").then_some(n),
    ))
}

/// `GET /v3/organizations/{uid}/roles`: the organization roles (owner, admin, member).
pub async fn org_roles(
    State(state): State<AppState>,
    caller: Caller,
    Path(uid): Path<String>,
    q: Query,
) -> ApiResult<Json<Value>> {
    let (_, org, _) = in_org(
        &state,
        &caller,
        &uid,
        Action::new(Module::Organization, Op::Read),
    )
    .await?;
    let all: Vec<Value> = [OrgRole::Owner, OrgRole::Admin, OrgRole::Member]
        .into_iter()
        .map(|r| org_role_json(&org, r))
        .collect();
    let n = all.len() as i64;
    Ok(listed("roles", all, q.flag("include_count").then_some(n)))
}

fn log_json(e: &AuditEntry) -> Value {
    json!({
        "uid": e.uid,
        "org_uid": e.org_uid,
        "stack": e.stack_uid,
        "created_at": e.created_at,
        "created_by": e.actor_uid,
        "actor": {"type": e.actor_kind, "uid": e.actor_uid},
        "module": e.module,
        "event_type": e.action,
        "metadata": {"uid": e.target_uid, "title": e.target_title},
    })
}

/// `GET /v3/organizations/{uid}/logs`: the organization's audit log (its own changes and its
/// stacks'), newest first; owner and admins only.
pub async fn logs(
    State(state): State<AppState>,
    caller: Caller,
    Path(uid): Path<String>,
    q: Query,
) -> ApiResult<Json<Value>> {
    let (_, org, _) = in_org(
        &state,
        &caller,
        &uid,
        Action::new(Module::OrgAuditLog, Op::Read),
    )
    .await?;
    let (skip, limit, _) = q.page()?;
    let mut c = state.db().reader().await?;
    let (items, total) = audit::list_org(&mut c, &org.uid, skip, limit).await?;
    Ok(listed(
        "logs",
        items.iter().map(log_json).collect(),
        q.flag("include_count").then_some(total),
    ))
}

fn invitation_json(inv: &Invitation) -> Value {
    let role = orgs::role_from_key(&inv.org_role).unwrap_or(OrgRole::Member);
    json!({
        "uid": inv.uid,
        "email": inv.email,
        "org_uid": inv.org_uid,
        "org_roles": [org_role_uid(&inv.org_uid, role)],
        "stacks": inv.stack_roles.as_array().into_iter().flatten().map(|s| json!({
            "api_key": s.get("api_key"),
            "roles": s.get("roles"),
        })).collect::<Vec<_>>(),
        "status": inv.status,
        "invited_by": inv.invited_by,
        "created_at": inv.created_at,
        "updated_at": inv.updated_at,
    })
}

/// `GET /v3/organizations/{uid}/share`: the organization's invitations (owner and admins).
pub async fn invitations_list(
    State(state): State<AppState>,
    caller: Caller,
    Path(uid): Path<String>,
    q: Query,
) -> ApiResult<Json<Value>> {
    let (_, org, _) = in_org(
        &state,
        &caller,
        &uid,
        Action::new(Module::Organization, Op::Share),
    )
    .await?;
    let mut c = state.db().reader().await?;
    let all = invitations::list(&mut c, &org.uid).await?;
    let n = all.len() as i64;
    Ok(listed(
        "shares",
        all.iter().map(invitation_json).collect(),
        q.flag("include_count").then_some(n),
    ))
}

/// Creates (or replaces) the pending invitation of one address and its link token. Returns
/// the invitation and the message to deliver.
pub(crate) async fn invite(
    state: &AppState,
    c: &mut headwater_store::repo::Conn,
    org: &Org,
    email: &str,
    role: OrgRole,
    stack_roles: &Value,
    actor: &Actor,
) -> ApiResult<(Invitation, String)> {
    let inv = invitations::insert(
        c,
        &org.uid,
        email,
        orgs::role_key(role),
        stack_roles,
        actor.uid(),
    )
    .await?;
    let (token, expires) = links::mint(links::INVITATION_TTL);
    link_rows::insert(
        c,
        Kind::OrgInvitation,
        &token.hash,
        &inv.uid,
        email,
        actor.uid(),
        &expires,
    )
    .await?;
    let message = links::invitation_message(state, &org.name, &inv.uid, &token.plaintext, &expires);
    Ok((inv, message))
}

fn deliver_all(state: &AppState, org: &Org, mails: Vec<(String, String)>) {
    let st = state.clone();
    let subject = format!("Invitation to {} on Headwater", org.name);
    tokio::spawn(async move {
        for (to, body) in mails {
            links::deliver(&st, &to, &subject, body).await;
        }
    });
}

/// `POST /v3/organizations/{uid}/share` `{"share": {"users": {"<email>": ["<org role uid>"]},
/// "stacks": {"<email>": {"<api_key>": ["<stack role uid>"]}}, "message": "…"}}`: invites each
/// address (owner and admins). The answer is the same whether an address has an account.
pub async fn share(
    State(state): State<AppState>,
    caller: Caller,
    Path(uid): Path<String>,
    body: JsonBody,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let (user, org, _) = in_org(
        &state,
        &caller,
        &uid,
        Action::new(Module::Organization, Op::Share),
    )
    .await?;
    let share = body.wrapped("share")?;
    let users_map = match share.get("users") {
        Some(Value::Object(m)) if !m.is_empty() => m,
        _ => {
            return Err(ApiError::invalid(
                "share.users",
                "is required: an object from email to organization role uids.",
            ))
        }
    };
    let stacks_map = share.get("stacks").and_then(Value::as_object);
    let actor = Actor::User(user.uid.clone());
    let mut tx = state.db().begin().await?;
    let mut out = Vec::new();
    let mut mails = Vec::new();
    for (email, roles_v) in users_map {
        if !email.contains('@') || email.trim().len() < 3 || email.len() > 254 {
            return Err(ApiError::invalid(
                "share.users",
                format!("'{email}' is not an email address."),
            ));
        }
        let email_n = users::normalize_email(email);
        let named = roles_v
            .as_array()
            .and_then(|a| a.first())
            .and_then(Value::as_str)
            .ok_or_else(|| {
                ApiError::invalid(
                    "share.users",
                    format!("must give an organization role uid for '{email}'."),
                )
            })?;
        let role = org_role_named(&org.uid, named)
            .filter(|r| *r != OrgRole::Owner)
            .ok_or_else(|| {
                ApiError::invalid(
                    "share.users",
                    format!("'{named}' is not an admin or member role of this organization (see GET /v3/organizations/{}/roles).", org.uid),
                )
            })?;
        let mut stack_roles = Vec::new();
        if let Some(per_stack) = stacks_map
            .and_then(|m| m.get(email.as_str()))
            .and_then(Value::as_object)
        {
            for (api_key, role_uids) in per_stack {
                let stack = stacks::by_api_key(&mut tx, api_key)
                    .await?
                    .filter(|s| s.org_uid == org.uid)
                    .ok_or_else(|| {
                        ApiError::invalid(
                            "share.stacks",
                            format!("'{api_key}' is not a stack of this organization."),
                        )
                    })?;
                let mut uids = Vec::new();
                for r in role_uids.as_array().into_iter().flatten() {
                    let r = r.as_str().ok_or_else(|| {
                        ApiError::invalid("share.stacks", "role uids must be strings.")
                    })?;
                    roles::get(&mut tx, &stack.uid, r).await?.ok_or_else(|| {
                        ApiError::invalid(
                            "share.stacks",
                            format!("'{r}' is not a role of the stack '{api_key}'."),
                        )
                    })?;
                    uids.push(r.to_string());
                }
                if !uids.is_empty() {
                    stack_roles
                        .push(json!({"api_key": api_key, "stack_uid": stack.uid, "roles": uids}));
                }
            }
        }
        let (inv, message) = invite(
            &state,
            &mut tx,
            &org,
            &email_n,
            role,
            &json!(stack_roles),
            &actor,
        )
        .await?;
        audit::record(
            &mut tx,
            &actor,
            Event {
                org_uid: Some(&org.uid),
                stack_uid: None,
                action: "invite",
                module: "organization",
                target_uid: Some(&inv.uid),
                target_title: Some(&inv.email),
            },
        )
        .await?;
        out.push(invitation_json(&inv));
        mails.push((email_n, message));
    }
    tx.commit().await?;
    deliver_all(&state, &org, mails);
    Ok((
        StatusCode::OK,
        Json(json!({"notice": "The invitation has been sent successfully.", "shares": out})),
    ))
}

async fn pending_invitation(
    c: &mut headwater_store::repo::Conn,
    org: &Org,
    invitation_uid: &str,
) -> ApiResult<Invitation> {
    invitations::get(c, invitation_uid)
        .await?
        .filter(|i| i.org_uid == org.uid && i.status == "pending")
        .ok_or_else(|| ApiError::not_found("invitation"))
}

/// `GET /v3/organizations/{uid}/{invitation}/resend_invitation` (the official JS client's
/// path; also under `/share/{invitation}/`): a new link for a pending invitation; the earlier
/// link stops working.
pub async fn resend(
    State(state): State<AppState>,
    caller: Caller,
    Path((uid, invitation_uid)): Path<(String, String)>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let (user, org, _) = in_org(
        &state,
        &caller,
        &uid,
        Action::new(Module::Organization, Op::Share),
    )
    .await?;
    let actor = Actor::User(user.uid.clone());
    let mut tx = state.db().begin().await?;
    let inv = pending_invitation(&mut tx, &org, &invitation_uid).await?;
    let (token, expires) = links::mint(links::INVITATION_TTL);
    link_rows::insert(
        &mut tx,
        Kind::OrgInvitation,
        &token.hash,
        &inv.uid,
        &inv.email,
        actor.uid(),
        &expires,
    )
    .await?;
    audit::record(
        &mut tx,
        &actor,
        Event {
            org_uid: Some(&org.uid),
            stack_uid: None,
            action: "resend_invitation",
            module: "organization",
            target_uid: Some(&inv.uid),
            target_title: Some(&inv.email),
        },
    )
    .await?;
    tx.commit().await?;
    let message =
        links::invitation_message(&state, &org.name, &inv.uid, &token.plaintext, &expires);
    deliver_all(&state, &org, vec![(inv.email.clone(), message)]);
    Ok(notice("The invitation has been resent successfully."))
}

/// `DELETE /v3/organizations/{uid}/share/{invitation}`: revokes a pending invitation (its link
/// stops working).
pub async fn revoke(
    State(state): State<AppState>,
    caller: Caller,
    Path((uid, invitation_uid)): Path<(String, String)>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let (user, org, _) = in_org(
        &state,
        &caller,
        &uid,
        Action::new(Module::Organization, Op::Unshare),
    )
    .await?;
    let actor = Actor::User(user.uid.clone());
    let mut tx = state.db().begin().await?;
    let inv = pending_invitation(&mut tx, &org, &invitation_uid).await?;
    invitations::finish(&mut tx, &inv.uid, "revoked").await?;
    link_rows::revoke_all(&mut tx, Kind::OrgInvitation, &inv.uid).await?;
    audit::record(
        &mut tx,
        &actor,
        Event {
            org_uid: Some(&org.uid),
            stack_uid: None,
            action: "revoke_invitation",
            module: "organization",
            target_uid: Some(&inv.uid),
            target_title: Some(&inv.email),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(notice("The invitation has been deleted successfully."))
}

/// `POST /v3/organizations/{uid}/transfer-ownership` `{"transfer_to": "<email>"}` (the owner
/// only): emails the new owner a link; ownership moves when they follow it
/// (`GET /v3/organizations/accept_ownership/{token}`). The new owner must already be a member;
/// the answer is the same for any other address.
pub async fn transfer_ownership(
    State(state): State<AppState>,
    caller: Caller,
    Path(uid): Path<String>,
    body: JsonBody,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let (user, org, _) = in_org(
        &state,
        &caller,
        &uid,
        Action::new(Module::Organization, Op::Transfer),
    )
    .await?;
    let to = users::normalize_email(Fields::new(&body.0, "").req_str("transfer_to")?);
    if to == user.email {
        return Err(ApiError::invalid(
            "transfer_to",
            "is already the organization's owner.",
        ));
    }
    let answer = notice(&format!(
        "An email has been sent to {to}. The ownership will be transferred after they accept it."
    ));
    let actor = Actor::User(user.uid.clone());
    let mut tx = state.db().begin().await?;
    let Some(target) = users::by_email(&mut tx, &to).await? else {
        return Ok(answer);
    };
    if orgs::member_role(&mut tx, &org.uid, &target.uid)
        .await?
        .is_none()
    {
        return Ok(answer);
    }
    let (token, expires) = links::mint(links::OWNERSHIP_TTL);
    link_rows::insert(
        &mut tx,
        Kind::OrgOwnership,
        &token.hash,
        &org.uid,
        &to,
        &user.uid,
        &expires,
    )
    .await?;
    audit::record(
        &mut tx,
        &actor,
        Event {
            org_uid: Some(&org.uid),
            stack_uid: None,
            action: "transfer_ownership",
            module: "organization",
            target_uid: Some(&target.uid),
            target_title: Some(&to),
        },
    )
    .await?;
    tx.commit().await?;
    let body = format!(
        "{from} asks you to take over the ownership of the organization \"{name}\" on Headwater.\n\n\
         Accept: {base}/v3/organizations/accept_ownership/{token}\n\n\
         The link works once, before {expires}.\n",
        from = user.email,
        name = org.name,
        base = links::base(&state),
        token = token.plaintext,
    );
    let st = state.clone();
    tokio::spawn(async move {
        links::deliver(&st, &to, "Organization ownership transfer", body).await;
    });
    Ok(answer)
}

/// `GET /v3/organizations/accept_ownership/{token}`: the link of an organization ownership
/// transfer. The previous owner stays as an admin.
pub async fn accept_ownership(
    State(state): State<AppState>,
    Path(raw): Path<String>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let bad = || {
        ApiError::invalid(
            "ownership_token",
            "is invalid, has expired or was already used.",
        )
    };
    if !links::well_formed(&raw) {
        return Err(bad());
    }
    let mut tx = state.db().begin().await?;
    let claimed = link_rows::claim(&mut tx, Kind::OrgOwnership, &secret::hash(&raw))
        .await?
        .ok_or_else(bad)?;
    let org = orgs::by_uid(&mut tx, &claimed.subject_uid)
        .await?
        .ok_or_else(bad)?;
    let target = users::by_email(&mut tx, &claimed.email)
        .await?
        .ok_or_else(bad)?;
    // Still a member, and the one who asked still owns it.
    if orgs::member_role(&mut tx, &org.uid, &target.uid)
        .await?
        .is_none()
        || org.owner_uid != claimed.created_by
    {
        return Err(bad());
    }
    orgs::transfer(&mut tx, &org, &target.uid).await?;
    audit::record(
        &mut tx,
        &Actor::User(target.uid.clone()),
        Event {
            org_uid: Some(&org.uid),
            stack_uid: None,
            action: "accept_ownership",
            module: "organization",
            target_uid: Some(&org.uid),
            target_title: Some(&org.name),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(notice("Ownership transferred successfully."))
}
