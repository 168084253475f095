//! Management tokens (`/v3/stacks/management_tokens`): the stack-level credentials for
//! scripts and integrations. Managed only by the stack's owner and admins with an authtoken
//! (the policy decides); the secret is returned once, in the create (or rotate) response.
//!
//! Beyond Contentstack's fields, a token may carry `allowed_cidrs` (MT-16) and
//! `revoke_on_reuse` (MT-15); both are optional and absent from what the official clients send.
//! Its expiry must fit the organization's lifetime policy (MT-20). Rotation and usage live in
//! [`crate::routes::token_controls`].

use crate::auth::{org_limit, StackCtx};
use crate::body::{JsonBody, Query};
use crate::error::{code, ApiError, ApiResult};
use crate::lookup::tokens::{load, token_event, token_json};
use crate::routes::{created, listed, notice, updated};
use crate::state::AppState;
use crate::wire::{self, management_tokens::ManagementTokenBody};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use headwater_core::clock;
use headwater_core::policy::{Action, Module, Op};
use headwater_core::ratelimit::RequestClass;
use headwater_core::scope::{FieldErrors, TokenScope};
use headwater_core::secret::{self, SecretKind};
use headwater_store::repo::orgs::{self, Org};
use headwater_store::repo::tokens::{self, Cap, Created, ManagementToken, TokenFields};
use headwater_store::repo::{audit, stacks};
use headwater_store::StoreError;
use serde_json::{json, Value};

fn push(errors: &mut FieldErrors, field: &str, msg: impl Into<String>) {
    errors
        .entry(field.to_string())
        .or_default()
        .push(msg.into());
}

/// Validates a create or update body. On update, absent fields keep their current value
/// (the official JS client sends back the whole fetched object, so extra fields are ignored).
/// A member of the wrong type is refused alone; every other fault is named at once.
fn validate(
    body: &JsonBody,
    current: Option<&ManagementToken>,
    org: &Org,
    read_cap: u32,
    write_cap: u32,
) -> ApiResult<TokenFields> {
    let sent: ManagementTokenBody = wire::parse(body, "token")?;
    let mut errors = FieldErrors::new();

    let name = match (sent.name, current) {
        (None, Some(t)) => t.name.clone(),
        (Some(s), _) if !s.trim().is_empty() && s.chars().count() <= 255 => s.trim().to_string(),
        (Some(s), _) if !s.trim().is_empty() => {
            push(&mut errors, "name", "must be at most 255 characters.");
            String::new()
        }
        _ => {
            push(
                &mut errors,
                "name",
                "is required and must be a non-empty string.",
            );
            String::new()
        }
    };
    let description = match sent.description {
        None => current.map(|t| t.description.clone()).unwrap_or_default(),
        Some(d) => d.unwrap_or_default(),
    };
    let scope = match (sent.scope, current) {
        (None, Some(t)) => t.scope.clone(),
        (None, None) => {
            push(
                &mut errors,
                "scope",
                "is required: a list of {module, acl} objects.",
            );
            Value::Null
        }
        (Some(v), _) => match TokenScope::parse(&v.unwrap_or(Value::Null)) {
            Ok(s) => serde_json::to_value(s.0).unwrap_or(Value::Null),
            Err(e) => {
                for (k, msgs) in e {
                    for m in msgs {
                        push(&mut errors, &k, m);
                    }
                }
                Value::Null
            }
        },
    };
    let (expires_on, expires_at) = match sent.expires_on {
        None => current
            .map(|t| (t.expires_on.clone(), t.expires_at.clone()))
            .unwrap_or_default(),
        Some(None) => (None, None),
        Some(Some(e)) => {
            if current.is_none() && e.at <= clock::now() {
                push(
                    &mut errors,
                    "expires_on",
                    "is in the past: a new token would already be expired.",
                );
            }
            (Some(e.sent), Some(e.at))
        }
    };
    if !errors.contains_key("expires_on") {
        if let Err(msg) = lifetime_allows(org, expires_at.as_deref()) {
            push(&mut errors, "expires_on", msg);
        }
    }
    let allowed_cidrs = match sent.allowed_cidrs {
        None => current.and_then(|t| t.allowed_cidrs.clone()),
        Some(None) => None,
        Some(Some(items)) if !items.is_empty() => Some(items.into_iter().map(|c| c.0).collect()),
        Some(Some(_)) => {
            push(
                &mut errors,
                "allowed_cidrs",
                "must be a non-empty array of address ranges (rule MT-16), or null for any address.",
            );
            None
        }
    };
    let kept = |sent: Option<bool>, current: bool| sent.unwrap_or(current);
    let is_email_notification_enabled = kept(
        sent.is_email_notification_enabled,
        current.is_some_and(|t| t.is_email_notification_enabled),
    );
    let rate_limit_enabled = kept(
        sent.rate_limit_enabled,
        current.is_some_and(|t| t.rate_limit_enabled),
    );
    let revoke_on_reuse = kept(
        sent.revoke_on_reuse,
        current.is_some_and(|t| t.revoke_on_reuse),
    );

    let mut read_rps = current.and_then(|t| t.read_rps);
    let mut write_rps = current.and_then(|t| t.write_rps);
    match sent.rate_limit {
        None => {}
        Some(None) => {
            read_rps = None;
            write_rps = None;
        }
        Some(Some(rl)) => {
            for (key, sent, slot, cap) in [
                ("read", rl.read, &mut read_rps, read_cap),
                ("write", rl.write, &mut write_rps, write_cap),
            ] {
                match sent {
                    None => {}
                    Some(None) => *slot = None,
                    Some(Some(n)) if n >= 1 && n <= i64::from(cap) => *slot = Some(n),
                    Some(Some(n)) if n >= 1 => push(
                        &mut errors,
                        &format!("rate_limit.{key}"),
                        format!(
                            "{n} requests per second exceeds the organization's {key} limit of {cap} (rule MT-12)."
                        ),
                    ),
                    Some(Some(_)) => push(
                        &mut errors,
                        &format!("rate_limit.{key}"),
                        "must be a whole number of requests per second, at least 1.",
                    ),
                }
            }
        }
    }

    if !errors.is_empty() {
        let verb = if current.is_some() {
            "update"
        } else {
            "creation"
        };
        return Err(ApiError::validation(
            format!("Management Token {verb} failed. Please check the errors."),
            errors,
        ));
    }
    Ok(TokenFields {
        name,
        description,
        scope,
        expires_on,
        expires_at,
        is_email_notification_enabled,
        rate_limit_enabled,
        read_rps,
        write_rps,
        allowed_cidrs,
        revoke_on_reuse,
    })
}

/// MT-20: the organization's longest allowed expiry and whether "never" is allowed.
fn lifetime_allows(org: &Org, expires_at: Option<&str>) -> Result<(), String> {
    match (expires_at, org.max_token_lifetime_days) {
        (None, _) if !org.allow_never_expiring_tokens => Err(
            "token.expires_on is required: this organization does not allow management tokens that never expire (rule MT-20).".into(),
        ),
        (None, _) | (Some(_), None) => Ok(()),
        (Some(at), Some(days)) => {
            let latest =
                clock::format(time::OffsetDateTime::now_utc() + time::Duration::days(days));
            if at > latest.as_str() {
                Err(format!(
                    "token.expires_on is later than this organization allows: at most {days} days from now, {latest} (rule MT-20)."
                ))
            } else {
                Ok(())
            }
        }
    }
}

pub(crate) async fn org_of(state: &AppState, ctx: &StackCtx) -> ApiResult<Org> {
    let mut c = state.db().reader().await?;
    orgs::by_uid(&mut c, &ctx.stack.org_uid)
        .await?
        .ok_or_else(|| ApiError::not_found("organization"))
}

fn caps(state: &AppState, org: &Org) -> (u32, u32) {
    (
        org_limit(state, org, RequestClass::Read),
        org_limit(state, org, RequestClass::Write),
    )
}

fn duplicate_name(name: &str) -> ApiError {
    ApiError::validation(
        format!("A management token named '{name}' already exists."),
        FieldErrors::from([("name".to_string(), vec!["is not unique.".to_string()])]),
    )
}

/// `POST /v3/stacks/management_tokens`.
pub async fn create(
    State(state): State<AppState>,
    ctx: StackCtx,
    body: JsonBody,
) -> ApiResult<(StatusCode, Json<Value>)> {
    ctx.authorize(&Action::new(Module::ManagementTokens, Op::Create))?;
    let org = org_of(&state, &ctx).await?;
    let (read_cap, write_cap) = caps(&state, &org);
    let fields = validate(&body, None, &org, read_cap, write_cap)?;
    let new_secret = secret::generate(SecretKind::ManagementToken);
    let actor = ctx.actor();
    let mut tx = state.db().begin().await?;
    // The stack's own maximum is read in the write transaction, not from the request's (possibly
    // cached) stack: an operator's change applies to the very next create.
    let stack_max = stacks::by_uid(&mut tx, &ctx.stack.uid)
        .await?
        .map_or(ctx.stack.max_management_tokens, |s| s.max_management_tokens);
    let max = stack_max
        .or(org.max_management_tokens)
        .unwrap_or(state.config().max_management_tokens);
    let outcome = tokens::create_capped(
        &mut tx,
        &ctx.stack.uid,
        &fields,
        &new_secret.hash,
        Cap {
            max,
            when_full: state.config().when_tokens_full,
        },
        &actor,
    )
    .await;
    let token = match outcome {
        Ok(Created::Token(t)) => *t,
        Ok(Created::Full { max }) => {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                code::TOKEN_LIMIT,
                format!(
                    "This stack already has the maximum of {max} management tokens (rule MT-11). Delete one, or ask the operator to raise the limit (headwater stack set-token-limit)."
                ),
            )
            .field("token", format!("limit of {max} per stack reached.")))
        }
        Err(StoreError::Conflict(_)) => return Err(duplicate_name(&fields.name)),
        Err(e) => return Err(e.into()),
    };
    audit::record(&mut tx, &actor, token_event(&ctx, "create", &token)).await?;
    tx.commit().await?;
    // Revocation, re-scoping and evictions take effect on the next request.
    crate::revocation::announce(&state).await;
    Ok(created(
        "Management Token created successfully.",
        "token",
        token_json(&token, &ctx.stack.api_key, Some(&new_secret.plaintext)),
    ))
}

/// `GET /v3/stacks/management_tokens`: never includes secrets.
pub async fn list(
    State(state): State<AppState>,
    ctx: StackCtx,
    q: Query,
) -> ApiResult<Json<Value>> {
    ctx.authorize(&Action::new(Module::ManagementTokens, Op::Read))?;
    let mut c = state.db().reader().await?;
    let all = tokens::list(&mut c, &ctx.stack.uid).await?;
    let count = q.flag("include_count").then_some(all.len() as i64);
    Ok(listed(
        "tokens",
        all.iter()
            .map(|t| token_json(t, &ctx.stack.api_key, None))
            .collect(),
        count,
    ))
}

/// `GET /v3/stacks/management_tokens/{uid}`.
pub async fn fetch(
    State(state): State<AppState>,
    ctx: StackCtx,
    Path(uid): Path<String>,
) -> ApiResult<Json<Value>> {
    ctx.authorize(&Action::new(Module::ManagementTokens, Op::Read))?;
    let t = load(&state, &ctx, &uid).await?;
    Ok(Json(
        json!({ "token": token_json(&t, &ctx.stack.api_key, None) }),
    ))
}

/// `PUT /v3/stacks/management_tokens/{uid}`: name, description, scope, expiry (a date of
/// today or earlier invalidates the token at once), notification flag and rate limits.
pub async fn update(
    State(state): State<AppState>,
    ctx: StackCtx,
    Path(uid): Path<String>,
    body: JsonBody,
) -> ApiResult<(StatusCode, Json<Value>)> {
    ctx.authorize(&Action::new(Module::ManagementTokens, Op::Update))?;
    let current = load(&state, &ctx, &uid).await?;
    let org = org_of(&state, &ctx).await?;
    let (read_cap, write_cap) = caps(&state, &org);
    let fields = validate(&body, Some(&current), &org, read_cap, write_cap)?;
    let actor = ctx.actor();
    let mut tx = state.db().begin().await?;
    let token = match tokens::update(&mut tx, &ctx.stack.uid, &uid, &fields, &actor).await {
        Ok(Some(t)) => t,
        Ok(None) => return Err(ApiError::not_found("management token")),
        Err(StoreError::Conflict(_)) => return Err(duplicate_name(&fields.name)),
        Err(e) => return Err(e.into()),
    };
    audit::record(&mut tx, &actor, token_event(&ctx, "update", &token)).await?;
    tx.commit().await?;
    // Revocation, re-scoping and evictions take effect on the next request.
    crate::revocation::announce(&state).await;
    Ok(updated(
        "Management Token updated successfully.",
        "token",
        token_json(&token, &ctx.stack.api_key, None),
    ))
}

/// `DELETE /v3/stacks/management_tokens/{uid}`: the token stops working at once.
pub async fn delete(
    State(state): State<AppState>,
    ctx: StackCtx,
    Path(uid): Path<String>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    ctx.authorize(&Action::new(Module::ManagementTokens, Op::Delete))?;
    let current = load(&state, &ctx, &uid).await?;
    let actor = ctx.actor();
    let mut tx = state.db().begin().await?;
    if !tokens::delete(&mut tx, &ctx.stack.uid, &uid).await? {
        return Err(ApiError::not_found("management token"));
    }
    audit::record(&mut tx, &actor, token_event(&ctx, "delete", &current)).await?;
    tx.commit().await?;
    // Revocation, re-scoping and evictions take effect on the next request.
    crate::revocation::announce(&state).await;
    Ok(notice("Management Token deleted successfully."))
}
