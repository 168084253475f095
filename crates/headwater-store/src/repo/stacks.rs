//! Stacks, their members and the built-in roles every stack starts with.

use super::{roles, Actor, Conn};
use crate::batch::Statement;
use crate::error::Result;
use crate::exec::Exec;
use crate::row::*;
use headwater_core::clock;
use headwater_core::policy::BuiltinRole;

#[derive(Clone, Debug)]
pub struct Stack {
    pub uid: String,
    pub api_key: String,
    pub org_uid: String,
    pub owner_uid: String,
    pub name: String,
    pub description: String,
    pub master_locale: String,
    pub max_management_tokens: Option<i64>,
    pub created_by: String,
    pub updated_by: String,
    pub created_at: String,
    pub updated_at: String,
}

const COLS: &str = "s.uid, s.api_key, s.org_uid, s.owner_uid, s.name, s.description, \
                    s.master_locale, s.max_management_tokens, s.created_by, s.updated_by, \
                    s.created_at, s.updated_at";

fn from_row(r: &(impl ReadRow + ?Sized)) -> Result<Stack> {
    Ok(Stack {
        uid: s(r, "uid")?,
        api_key: s(r, "api_key")?,
        org_uid: s(r, "org_uid")?,
        owner_uid: s(r, "owner_uid")?,
        name: s(r, "name")?,
        description: s(r, "description")?,
        master_locale: s(r, "master_locale")?,
        max_management_tokens: oi(r, "max_management_tokens")?,
        created_by: s(r, "created_by")?,
        updated_by: s(r, "updated_by")?,
        created_at: s(r, "created_at")?,
        updated_at: s(r, "updated_at")?,
    })
}

/// Creates a stack with its built-in roles.
pub async fn insert(
    c: &mut Conn,
    org_uid: &str,
    owner_uid: &str,
    name: &str,
    description: &str,
    master_locale: &str,
) -> Result<Stack> {
    let uid = headwater_core::ids::new_uid();
    let now = clock::now();
    sqlx::query(
        "INSERT INTO stacks (uid, api_key, org_uid, owner_uid, name, description, master_locale, \
         created_by, updated_by, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $4, $4, $8, $8)",
    )
    .bind(&uid)
    .bind(headwater_core::ids::new_api_key())
    .bind(org_uid)
    .bind(owner_uid)
    .bind(name)
    .bind(description)
    .bind(master_locale)
    .bind(&now)
    .execute(&mut *c)
    .await?;
    let actor = Actor::User(owner_uid.to_string());
    super::branches::insert_main(c, &uid, &actor).await?;
    for role in BuiltinRole::ALL {
        roles::insert(
            c,
            &uid,
            role.name(),
            role.description(),
            Some(role.key()),
            &serde_json::json!([]),
            &actor,
        )
        .await?;
    }
    super::locales::insert(
        c,
        &uid,
        master_locale,
        &super::super::locale_name(master_locale),
        None,
        &actor,
    )
    .await?;
    Ok(by_uid(c, &uid).await?.expect("just inserted"))
}

pub async fn by_uid(c: &mut Conn, uid: &str) -> Result<Option<Stack>> {
    let row = sqlx::query(&format!("SELECT {COLS} FROM stacks s WHERE s.uid = $1"))
        .bind(uid)
        .fetch_optional(c)
        .await?;
    row.as_ref().map(from_row).transpose()
}

pub async fn by_api_key(c: &mut Conn, api_key: &str) -> Result<Option<Stack>> {
    let row = sqlx::query(&format!("SELECT {COLS} FROM stacks s WHERE s.api_key = $1"))
        .bind(api_key)
        .fetch_optional(c)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Stacks a user can see: owned, shared with them (directly or through a team), or in an
/// organization they own or administer.
/// When `org_uid` is given, only that organization's stacks.
pub async fn visible_to(c: &mut Conn, user_uid: &str, org_uid: Option<&str>) -> Result<Vec<Stack>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLS} FROM stacks s WHERE ($2 = '' OR s.org_uid = $2) AND ( \
           s.owner_uid = $1 \
           OR EXISTS (SELECT 1 FROM stack_members m WHERE m.stack_uid = s.uid AND m.user_uid = $1) \
           OR EXISTS (SELECT 1 FROM team_stack_roles t JOIN team_members tm ON tm.team_uid = t.team_uid \
                      WHERE t.stack_uid = s.uid AND tm.user_uid = $1) \
           OR EXISTS (SELECT 1 FROM org_members o WHERE o.org_uid = s.org_uid AND o.user_uid = $1 \
                      AND o.role IN ('owner', 'admin'))) \
         ORDER BY s.created_at, s.uid"
    ))
    .bind(user_uid)
    .bind(org_uid.unwrap_or(""))
    .fetch_all(c)
    .await?;
    rows.iter().map(from_row).collect()
}

pub async fn update(
    c: &mut Conn,
    uid: &str,
    name: &str,
    description: &str,
    actor: &Actor,
) -> Result<Stack> {
    sqlx::query(
        "UPDATE stacks SET name = $1, description = $2, updated_by = $3, updated_at = $4 WHERE uid = $5",
    )
    .bind(name)
    .bind(description)
    .bind(actor.uid())
    .bind(clock::now())
    .bind(uid)
    .execute(&mut *c)
    .await?;
    Ok(by_uid(c, uid).await?.expect("stack exists"))
}

pub async fn delete(c: &mut Conn, uid: &str) -> Result<bool> {
    // The field index has no foreign keys: clear it for every branch's content first.
    for b in super::branches::list(c, uid).await? {
        super::branches::drop_field_index(c, &b.space_uid).await?;
    }
    // Members reference roles, which belong to the stack: remove members first.
    sqlx::query("DELETE FROM stack_members WHERE stack_uid = $1")
        .bind(uid)
        .execute(&mut *c)
        .await?;
    let r = sqlx::query("DELETE FROM stacks WHERE uid = $1")
        .bind(uid)
        .execute(c)
        .await?;
    Ok(r.rows_affected() == 1)
}

/// Locks the stack row until the transaction ends (PostgreSQL) so that limits counted under
/// it cannot race. On SQLite the writer lock already serializes the transaction.
pub async fn lock(c: &mut Conn, uid: &str) -> Result<()> {
    let backend = crate::Backend::of(c);
    sqlx::query(&format!(
        "SELECT uid FROM stacks WHERE uid = $1{}",
        crate::dialect::for_update(backend)
    ))
    .bind(uid)
    .fetch_optional(c)
    .await?;
    Ok(())
}

pub async fn set_max_management_tokens(c: &mut Conn, uid: &str, max: Option<i64>) -> Result<bool> {
    let r = sqlx::query("UPDATE stacks SET max_management_tokens = $1 WHERE uid = $2")
        .bind(max)
        .bind(uid)
        .execute(c)
        .await?;
    Ok(r.rows_affected() == 1)
}

/// A member's role in a stack, as stored.
#[derive(Clone, Debug)]
pub struct Membership {
    pub role_uid: String,
    pub role_name: String,
    pub builtin: Option<String>,
    pub rules: serde_json::Value,
}

pub async fn membership<'e>(
    c: impl Into<Exec<'e>>,
    stack_uid: &str,
    user_uid: &str,
) -> Result<Option<Membership>> {
    let row = Statement::new(
        "SELECT r.uid, r.name, r.builtin, r.rules FROM stack_members m \
         JOIN roles r ON r.uid = m.role_uid WHERE m.stack_uid = $1 AND m.user_uid = $2",
    )
    .arg(stack_uid)
    .arg(user_uid)
    .fetch_optional(c)
    .await?;
    row.map(|r| {
        Ok(Membership {
            role_uid: s(&r, "uid")?,
            role_name: s(&r, "name")?,
            builtin: os(&r, "builtin")?,
            rules: json(&r, "rules")?,
        })
    })
    .transpose()
}

/// Adds a member or changes their role.
pub async fn set_member(
    c: &mut Conn,
    stack_uid: &str,
    user_uid: &str,
    role_uid: &str,
) -> Result<()> {
    sqlx::query("DELETE FROM stack_members WHERE stack_uid = $1 AND user_uid = $2")
        .bind(stack_uid)
        .bind(user_uid)
        .execute(&mut *c)
        .await?;
    sqlx::query(
        "INSERT INTO stack_members (stack_uid, user_uid, role_uid, created_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(stack_uid)
    .bind(user_uid)
    .bind(role_uid)
    .bind(clock::now())
    .execute(c)
    .await?;
    Ok(())
}

pub async fn remove_member(c: &mut Conn, stack_uid: &str, user_uid: &str) -> Result<bool> {
    let r = sqlx::query("DELETE FROM stack_members WHERE stack_uid = $1 AND user_uid = $2")
        .bind(stack_uid)
        .bind(user_uid)
        .execute(c)
        .await?;
    Ok(r.rows_affected() == 1)
}

/// A person with access to a stack.
#[derive(Clone, Debug)]
pub struct StackUser {
    pub uid: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub created_at: String,
    pub updated_at: String,
    pub is_owner: bool,
    pub role_uids: Vec<String>,
}

/// The owner and the members of a stack.
pub async fn users(c: &mut Conn, stack: &Stack) -> Result<Vec<StackUser>> {
    let rows = sqlx::query(
        "SELECT u.uid, u.email, u.first_name, u.last_name, u.created_at, u.updated_at, m.role_uid \
         FROM users u LEFT JOIN stack_members m ON m.user_uid = u.uid AND m.stack_uid = $1 \
         WHERE u.uid = $2 OR m.stack_uid IS NOT NULL ORDER BY u.created_at, u.uid",
    )
    .bind(&stack.uid)
    .bind(&stack.owner_uid)
    .fetch_all(c)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(StackUser {
                uid: s(r, "uid")?,
                email: s(r, "email")?,
                first_name: s(r, "first_name")?,
                last_name: s(r, "last_name")?,
                created_at: s(r, "created_at")?,
                updated_at: s(r, "updated_at")?,
                is_owner: s(r, "uid")? == stack.owner_uid,
                role_uids: os(r, "role_uid")?.into_iter().collect(),
            })
        })
        .collect()
}

/// Every stack of an organization.
pub async fn of_org(c: &mut Conn, org_uid: &str) -> Result<Vec<Stack>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLS} FROM stacks s WHERE s.org_uid = $1 ORDER BY s.created_at, s.uid"
    ))
    .bind(org_uid)
    .fetch_all(c)
    .await?;
    rows.iter().map(from_row).collect()
}

/// Makes `new_owner` the stack's owner. The previous owner stays in the stack as an admin
/// (`admin_role_uid`); the new owner's membership row, now implied by ownership, goes.
pub async fn transfer(
    c: &mut Conn,
    stack: &Stack,
    new_owner: &str,
    admin_role_uid: &str,
) -> Result<()> {
    sqlx::query("UPDATE stacks SET owner_uid = $1, updated_at = $2 WHERE uid = $3")
        .bind(new_owner)
        .bind(clock::now())
        .bind(&stack.uid)
        .execute(&mut *c)
        .await?;
    remove_member(c, &stack.uid, new_owner).await?;
    set_member(c, &stack.uid, &stack.owner_uid, admin_role_uid).await
}
