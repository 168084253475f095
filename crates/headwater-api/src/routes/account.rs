//! The user's own account: profile and password (`PUT /v3/user`), forgotten passwords
//! (`/v3/user/forgot_password`, `/v3/user/reset_password`) and invitation links
//! (`/v3/user/activate/{token}`).

use crate::auth::{Caller, Principal};
use crate::body::{Fields, JsonBody};
use crate::error::{ApiError, ApiResult};
use crate::links;
use crate::routes::session::{hashing_error, user_json};
use crate::routes::{notice, updated};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use headwater_core::password;
use headwater_core::policy::{Action, Module, Op, OrgRole};
use headwater_core::secret;
use headwater_store::repo::audit::{self, Event};
use headwater_store::repo::links::Kind;
use headwater_store::repo::{invitations, links as link_rows, orgs, stacks, users, Actor};
use serde_json::{json, Value};

/// Checks a new password and its confirmation (when sent); the field names are the
/// request's.
fn check_new_password<'a>(f: &Fields<'a>) -> ApiResult<&'a str> {
    let pass = f.req_str("password")?;
    if pass.chars().count() < password::MIN_LENGTH {
        return Err(ApiError::invalid(
            "user.password",
            format!("must have at least {} characters.", password::MIN_LENGTH),
        ));
    }
    if let Some(confirm) = f.opt_str("password_confirmation")? {
        if confirm != pass {
            return Err(ApiError::invalid(
                "user.password_confirmation",
                "does not match the password.",
            ));
        }
    }
    Ok(pass)
}

async fn hash_password(state: &AppState, pass: &str) -> ApiResult<String> {
    crate::hashing::hash(pass.to_string(), state.config().login.hash_wait)
        .await
        .map_err(hashing_error)
}

/// `PUT /v3/user` `{"user": {"first_name", "last_name"}}`: the caller's profile. A password
/// change also sends `current_password` (the password in use) and `password` (and optionally
/// `password_confirmation`); it ends the user's other sessions. The official JS client sends
/// the whole user object back: fields that cannot change here (`email`, `uid`, …) are accepted
/// when unchanged.
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    body: JsonBody,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let user = caller
        .user(&Action::new(Module::UserSession, Op::Update))?
        .clone();
    let Principal::User { authtoken_hash, .. } = &caller.0 else {
        return Err(ApiError::not_logged_in());
    };
    let f = Fields::new(body.wrapped("user")?, "user");
    if let Some(email) = f.opt_str("email")? {
        if users::normalize_email(email) != user.email {
            return Err(ApiError::invalid(
                "user.email",
                "cannot be changed through the API; the operator changes it.",
            ));
        }
    }
    let first = f
        .opt_str("first_name")?
        .unwrap_or(&user.first_name)
        .trim()
        .to_string();
    let last = f
        .opt_str("last_name")?
        .unwrap_or(&user.last_name)
        .trim()
        .to_string();
    if first.chars().count() > 100 || last.chars().count() > 100 {
        return Err(ApiError::invalid(
            "user.first_name",
            "must be at most 100 characters.",
        ));
    }
    let new_hash = if f.has("password") {
        let pass = check_new_password(&f)?;
        let current = f
            .opt_str("current_password")?
            .or(f.opt_str("old_password")?)
            .ok_or_else(|| {
                ApiError::invalid(
                    "user.current_password",
                    "is required to change the password.",
                )
            })?;
        let ok = crate::hashing::verify(
            current.to_string(),
            user.password_hash.clone(),
            state.config().login.hash_wait,
        )
        .await
        .map_err(hashing_error)?;
        if !ok {
            return Err(ApiError::invalid(
                "user.current_password",
                "is not the password in use.",
            ));
        }
        Some(hash_password(&state, pass).await?)
    } else {
        None
    };
    let actor = Actor::User(user.uid.clone());
    let mut tx = state.db().begin().await?;
    users::update_profile(&mut tx, &user.uid, &first, &last).await?;
    if let Some(h) = &new_hash {
        users::set_password(&mut tx, &user.uid, h).await?;
        // Every other session of the user ends with the old password; this one stays.
        users::delete_other_authtokens(&mut tx, &user.uid, authtoken_hash).await?;
        link_rows::revoke_all(&mut tx, Kind::ResetPassword, &user.uid).await?;
    }
    audit::record(
        &mut tx,
        &actor,
        Event {
            org_uid: None,
            stack_uid: None,
            action: if new_hash.is_some() {
                "change_password"
            } else {
                "update"
            },
            module: "user",
            target_uid: Some(&user.uid),
            target_title: Some(&user.email),
        },
    )
    .await?;
    let fresh = users::by_uid(&mut tx, &user.uid)
        .await?
        .ok_or_else(ApiError::not_logged_in)?;
    let memberships = orgs::of_user(&mut tx, &user.uid).await?;
    tx.commit().await?;
    Ok(updated(
        "Profile updated successfully.",
        "user",
        user_json(&fresh, &memberships, None),
    ))
}

const FORGOT_NOTICE: &str = "If this email address exists, we will send you an email with instructions for resetting your password.";

/// `POST /v3/user/forgot_password` `{"user": {"email"}}`: the same answer whether or not the
/// address has an account; an account's address gets a reset link (one hour, single use).
pub async fn forgot_password(
    State(state): State<AppState>,
    body: JsonBody,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let f = Fields::new(body.wrapped("user")?, "user");
    let email = users::normalize_email(f.req_str("email")?);
    let user = {
        let mut c = state.db().reader().await?;
        users::by_email(&mut c, &email).await?
    };
    let Some(user) = user.filter(|u| u.active) else {
        return Ok(notice(FORGOT_NOTICE));
    };
    let (token, expires) = links::mint(links::RESET_PASSWORD_TTL);
    let mut tx = state.db().begin().await?;
    link_rows::insert(
        &mut tx,
        Kind::ResetPassword,
        &token.hash,
        &user.uid,
        &user.email,
        &user.uid,
        &expires,
    )
    .await?;
    tx.commit().await?;
    let body = format!(
        "A password reset was asked for the Headwater account {email}.\n\n\
         Reset token: {token}\n\
         Link: {base}/#/reset-password?token={token}\n\n\
         Send it with POST /v3/user/reset_password \
         {{\"user\": {{\"reset_password_token\", \"password\", \"password_confirmation\"}}}} \
         before {expires}. It works once. If you did not ask for this, ignore this message.\n",
        token = token.plaintext,
        base = links::base(&state),
    );
    // Delivered in the background: the answer takes as long for an unknown address.
    let st = state.clone();
    tokio::spawn(async move {
        links::deliver(&st, &email, "Reset your Headwater password", body).await;
    });
    Ok(notice(FORGOT_NOTICE))
}

fn bad_link(field: &str) -> ApiError {
    ApiError::invalid(field, "is invalid, has expired or was already used.")
}

/// `POST /v3/user/reset_password` `{"user": {"reset_password_token", "password",
/// "password_confirmation"}}`: sets the password and ends every session of the user.
pub async fn reset_password(
    State(state): State<AppState>,
    body: JsonBody,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let f = Fields::new(body.wrapped("user")?, "user");
    let raw = f.req_str("reset_password_token")?;
    // The new password is checked before the token is used, so a typo does not spend it.
    let pass = check_new_password(&f)?;
    if !links::well_formed(raw) {
        return Err(bad_link("user.reset_password_token"));
    }
    let new_hash = hash_password(&state, pass).await?;
    let mut tx = state.db().begin().await?;
    let claimed = link_rows::claim(&mut tx, Kind::ResetPassword, &secret::hash(raw))
        .await?
        .ok_or_else(|| bad_link("user.reset_password_token"))?;
    let user = users::by_uid(&mut tx, &claimed.subject_uid)
        .await?
        .filter(|u| u.active)
        .ok_or_else(|| bad_link("user.reset_password_token"))?;
    users::set_password(&mut tx, &user.uid, &new_hash).await?;
    users::delete_user_authtokens(&mut tx, &user.uid).await?;
    link_rows::revoke_all(&mut tx, Kind::ResetPassword, &user.uid).await?;
    audit::record(
        &mut tx,
        &Actor::User(user.uid.clone()),
        Event {
            org_uid: None,
            stack_uid: None,
            action: "reset_password",
            module: "user",
            target_uid: Some(&user.uid),
            target_title: Some(&user.email),
        },
    )
    .await?;
    tx.commit().await?;
    tracing::info!(user = %user.uid, "password reset through a reset link");
    Ok(notice("Your password has been reset successfully."))
}

/// `POST /v3/user/activate/{token}`: accepts an organization invitation. For an address with
/// no account, the body creates it: `{"user": {"first_name", "last_name", "password",
/// "password_confirmation"}}`; an existing account needs no body.
pub async fn activate(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    body: JsonBody,
) -> ApiResult<(StatusCode, Json<Value>)> {
    if !links::well_formed(&raw) {
        return Err(bad_link("activation_token"));
    }
    let hash = secret::hash(&raw);
    let peeked = {
        let mut c = state.db().reader().await?;
        match link_rows::peek(&mut c, Kind::OrgInvitation, &hash).await? {
            Some(p) => Some((users::by_email(&mut c, &p.email).await?.is_some(), p)),
            None => None,
        }
    };
    let (has_account, _) = peeked.ok_or_else(|| bad_link("activation_token"))?;
    // A new account's fields are checked (and its password hashed) before the token is used.
    let new_account = if has_account {
        None
    } else {
        let f = Fields::new(body.wrapped("user")?, "user");
        let first = f.opt_str("first_name")?.unwrap_or("").trim().to_string();
        let last = f.opt_str("last_name")?.unwrap_or("").trim().to_string();
        let pass = check_new_password(&f)?;
        Some((first, last, hash_password(&state, pass).await?))
    };
    let mut tx = state.db().begin().await?;
    let claimed = link_rows::claim(&mut tx, Kind::OrgInvitation, &hash)
        .await?
        .ok_or_else(|| bad_link("activation_token"))?;
    let inv = invitations::get(&mut tx, &claimed.subject_uid)
        .await?
        .filter(|i| i.status == "pending")
        .ok_or_else(|| bad_link("activation_token"))?;
    let user = match users::by_email(&mut tx, &inv.email).await? {
        Some(u) => u,
        None => {
            let (first, last, h) = new_account.ok_or_else(|| {
                ApiError::invalid(
                    "user",
                    "is required: first_name, last_name and password for the new account.",
                )
            })?;
            users::insert(&mut tx, &inv.email, &h, &first, &last).await?
        }
    };
    let role = orgs::role_from_key(&inv.org_role).unwrap_or(OrgRole::Member);
    let was_member = orgs::member_role(&mut tx, &inv.org_uid, &user.uid).await?;
    match was_member {
        // An existing member keeps their role unless the invitation raises it.
        Some(OrgRole::Owner) | Some(OrgRole::Admin) => {}
        Some(OrgRole::Member) if role == OrgRole::Member => {}
        _ => orgs::set_member_role(&mut tx, &inv.org_uid, &user.uid, role).await?,
    }
    // Joining an SSO strict-mode organization ends the password sessions the user had, as a
    // stack share into one does (SEC-17).
    if was_member.is_none()
        && orgs::by_uid(&mut tx, &inv.org_uid)
            .await?
            .is_some_and(|o| o.sso_strict)
    {
        users::delete_user_authtokens(&mut tx, &user.uid).await?;
    }
    for s in inv.stack_roles.as_array().into_iter().flatten() {
        let Some(stack_uid) = s.get("stack_uid").and_then(Value::as_str) else {
            continue;
        };
        let Some(stack) = stacks::by_uid(&mut tx, stack_uid).await? else {
            continue;
        };
        if stack.owner_uid == user.uid || stack.org_uid != inv.org_uid {
            continue;
        }
        // Roles deleted since the invitation are skipped.
        for role_uid in s
            .get("roles")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let Some(role_uid) = role_uid.as_str() else {
                continue;
            };
            if headwater_store::repo::roles::get(&mut tx, &stack.uid, role_uid)
                .await?
                .is_some()
            {
                stacks::set_member(&mut tx, &stack.uid, &user.uid, role_uid).await?;
                break;
            }
        }
    }
    invitations::finish(&mut tx, &inv.uid, "accepted").await?;
    audit::record(
        &mut tx,
        &Actor::User(user.uid.clone()),
        Event {
            org_uid: Some(&inv.org_uid),
            stack_uid: None,
            action: "accept_invitation",
            module: "organization",
            target_uid: Some(&inv.uid),
            target_title: Some(&inv.email),
        },
    )
    .await?;
    tx.commit().await?;
    Ok((
        StatusCode::OK,
        Json(json!({ "notice": "Your account has been activated." })),
    ))
}
