//! Login, logout and the current user (`/v3/user-session`, `/v3/user`).

use crate::auth::{Caller, Principal};
use crate::body::{Fields, JsonBody, Query};
use crate::error::{code, ApiError, ApiResult};
use crate::routes::notice;
use crate::state::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use headwater_core::policy::{Action, Module, Op, OrgRole};
use headwater_core::secret::{self, SecretKind};
use headwater_core::{password, totp};
use headwater_store::repo::orgs::{self, Org};
use headwater_store::repo::users::{self, User};
use serde_json::{json, Value};

fn bad_login() -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        code::BAD_LOGIN,
        "Looks like your email or password is invalid. Please try again or reset your password.",
    )
}

pub(crate) fn user_json(user: &User, orgs: &[(Org, OrgRole)], authtoken: Option<&str>) -> Value {
    let mut v = json!({
        "uid": user.uid,
        "email": user.email,
        "username": user.email,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "active": user.active,
        "tfa_status": if user.tfa_secret.is_some() { "verified" } else { "not_verified" },
        "created_at": user.created_at,
        "updated_at": user.updated_at,
        "org_uid": orgs.iter().filter(|(_, r)| *r == OrgRole::Owner).map(|(o, _)| o.uid.clone()).collect::<Vec<_>>(),
        "shared_org_uid": orgs.iter().filter(|(_, r)| *r != OrgRole::Owner).map(|(o, _)| o.uid.clone()).collect::<Vec<_>>(),
        "organizations": orgs.iter().map(|(o, r)| super::organizations::org_json(o, *r)).collect::<Vec<_>>(),
    });
    if let Some(t) = authtoken {
        v["authtoken"] = json!(t);
    }
    v
}

/// `POST /v3/user-session`.
pub async fn login(State(state): State<AppState>, body: JsonBody) -> ApiResult<Json<Value>> {
    let u = Fields::new(body.wrapped("user")?, "user");
    let email = u.req_str("email")?.to_string();
    let pass = u.req_str("password")?.to_string();
    let tfa_token = u.opt_str("tfa_token")?.map(str::to_string);

    let mut c = state.db().reader().await?;
    let user = users::by_email(&mut c, &email).await?;
    drop(c);
    let Some(user) = user else {
        // Same work and same answer as a wrong password: emails cannot be enumerated.
        tokio::task::spawn_blocking(move || password::verify_dummy(&pass))
            .await
            .map_err(|_| ApiError::internal())?;
        return Err(bad_login());
    };
    let stored = user.password_hash.clone();
    let ok = tokio::task::spawn_blocking(move || password::verify(&pass, &stored))
        .await
        .map_err(|_| ApiError::internal())?;
    if !ok || !user.active {
        return Err(bad_login());
    }

    let mut c = state.db().reader().await?;
    if orgs::strict_sso_member(&mut c, &user.uid).await? {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            code::SSO_REQUIRED,
            "Your organization enforces single sign-on (SSO strict mode), so password login is disabled. Sign in through your identity provider; for scripts and integrations, use a management token (rule MT-13).",
        ));
    }
    if let Some(secret) = &user.tfa_secret {
        match tfa_token.as_deref() {
            None => {
                return Err(ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    code::TFA_REQUIRED,
                    "Please login using the Two-Factor verification Token",
                )
                .with("tfa_type", json!("totp_authenticator")))
            }
            Some(code_given) => {
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_secs())
                    .unwrap_or(0);
                if !totp::verify(secret, code_given, now) {
                    return Err(ApiError::new(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        code::TFA_INVALID,
                        "Invalid verification code",
                    ));
                }
            }
        }
    }
    let memberships = orgs::of_user(&mut c, &user.uid).await?;
    drop(c);

    let token = secret::generate(SecretKind::AuthToken);
    let mut tx = state.db().begin().await?;
    users::add_authtoken(&mut tx, &user.uid, &token.hash).await?;
    tx.commit()
        .await
        .map_err(headwater_store::StoreError::from)?;
    tracing::info!(user = %user.uid, "login");
    Ok(Json(json!({
        "notice": "Login Successful.",
        "user": user_json(&user, &memberships, Some(&token.plaintext)),
    })))
}

/// `DELETE /v3/user-session`: invalidates the authtoken sent, and only that one.
pub async fn logout(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<(StatusCode, Json<Value>)> {
    caller.user(&Action::new(Module::UserSession, Op::Delete))?;
    let Principal::User { authtoken_hash, .. } = &caller.0 else {
        return Err(ApiError::not_logged_in());
    };
    let mut tx = state.db().begin().await?;
    users::delete_authtoken(&mut tx, authtoken_hash).await?;
    tx.commit()
        .await
        .map_err(headwater_store::StoreError::from)?;
    Ok(notice("You've logged out successfully!"))
}

/// `GET /v3/user`.
pub async fn current_user(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    _q: Query,
) -> ApiResult<Json<Value>> {
    let user = caller.user(&Action::new(Module::UserSession, Op::Read))?;
    let mut c = state.db().reader().await?;
    let memberships = orgs::of_user(&mut c, &user.uid).await?;
    // The caller already holds this authtoken; the official JS client expects it back.
    let authtoken = crate::auth::header(&headers, "authtoken");
    Ok(Json(
        json!({ "user": user_json(user, &memberships, authtoken) }),
    ))
}
