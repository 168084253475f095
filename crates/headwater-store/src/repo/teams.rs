//! Teams of an organization: members, and the stack roles their members get (stack role
//! mappings).

use super::stacks::Membership;
use super::{Actor, Conn};
use crate::error::Result;
use crate::row::*;
use headwater_core::clock;
use sqlx::any::AnyRow;

#[derive(Clone, Debug)]
pub struct Team {
    pub uid: String,
    pub org_uid: String,
    pub name: String,
    pub description: String,
    /// `admin` or `member`.
    pub org_role: String,
    pub created_by: String,
    pub updated_by: String,
    pub created_at: String,
    pub updated_at: String,
}

const COLS: &str = "uid, org_uid, name, description, org_role, created_by, updated_by, \
                    created_at, updated_at";

fn from_row(r: &AnyRow) -> Result<Team> {
    Ok(Team {
        uid: s(r, "uid")?,
        org_uid: s(r, "org_uid")?,
        name: s(r, "name")?,
        description: s(r, "description")?,
        org_role: s(r, "org_role")?,
        created_by: s(r, "created_by")?,
        updated_by: s(r, "updated_by")?,
        created_at: s(r, "created_at")?,
        updated_at: s(r, "updated_at")?,
    })
}

pub async fn insert(
    c: &mut Conn,
    org_uid: &str,
    name: &str,
    description: &str,
    org_role: &str,
    actor: &Actor,
) -> Result<Team> {
    let uid = headwater_core::ids::new_uid();
    let now = clock::now();
    sqlx::query(
        "INSERT INTO teams (uid, org_uid, name, description, org_role, created_by, updated_by, \
         created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6, $7, $7)",
    )
    .bind(&uid)
    .bind(org_uid)
    .bind(name)
    .bind(description)
    .bind(org_role)
    .bind(actor.uid())
    .bind(&now)
    .execute(&mut *c)
    .await?;
    Ok(get(c, org_uid, &uid).await?.expect("just inserted"))
}

pub async fn get(c: &mut Conn, org_uid: &str, uid: &str) -> Result<Option<Team>> {
    let row = sqlx::query(&format!(
        "SELECT {COLS} FROM teams WHERE org_uid = $1 AND uid = $2"
    ))
    .bind(org_uid)
    .bind(uid)
    .fetch_optional(c)
    .await?;
    row.as_ref().map(from_row).transpose()
}

pub async fn by_name(c: &mut Conn, org_uid: &str, name: &str) -> Result<Option<Team>> {
    let row = sqlx::query(&format!(
        "SELECT {COLS} FROM teams WHERE org_uid = $1 AND name = $2"
    ))
    .bind(org_uid)
    .bind(name)
    .fetch_optional(c)
    .await?;
    row.as_ref().map(from_row).transpose()
}

pub async fn list(c: &mut Conn, org_uid: &str) -> Result<Vec<Team>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLS} FROM teams WHERE org_uid = $1 ORDER BY created_at, uid"
    ))
    .bind(org_uid)
    .fetch_all(c)
    .await?;
    rows.iter().map(from_row).collect()
}

pub async fn update(
    c: &mut Conn,
    team: &Team,
    name: &str,
    description: &str,
    org_role: &str,
    actor: &Actor,
) -> Result<Team> {
    sqlx::query(
        "UPDATE teams SET name = $1, description = $2, org_role = $3, updated_by = $4, \
         updated_at = $5 WHERE uid = $6",
    )
    .bind(name)
    .bind(description)
    .bind(org_role)
    .bind(actor.uid())
    .bind(clock::now())
    .bind(&team.uid)
    .execute(&mut *c)
    .await?;
    Ok(get(c, &team.org_uid, &team.uid)
        .await?
        .expect("team exists"))
}

pub async fn delete(c: &mut Conn, uid: &str) -> Result<bool> {
    let r = sqlx::query("DELETE FROM teams WHERE uid = $1")
        .bind(uid)
        .execute(c)
        .await?;
    Ok(r.rows_affected() == 1)
}

/// The team's members' user uids, in the order they joined.
pub async fn members(c: &mut Conn, team_uid: &str) -> Result<Vec<String>> {
    let rows = sqlx::query(
        "SELECT user_uid FROM team_members WHERE team_uid = $1 ORDER BY created_at, user_uid",
    )
    .bind(team_uid)
    .fetch_all(c)
    .await?;
    rows.iter().map(|r| s(r, "user_uid")).collect()
}

/// Adds a member (nothing happens for one already in the team).
pub async fn add_member(c: &mut Conn, team_uid: &str, user_uid: &str) -> Result<bool> {
    let exists =
        sqlx::query("SELECT 1 AS x FROM team_members WHERE team_uid = $1 AND user_uid = $2")
            .bind(team_uid)
            .bind(user_uid)
            .fetch_optional(&mut *c)
            .await?;
    if exists.is_some() {
        return Ok(false);
    }
    sqlx::query("INSERT INTO team_members (team_uid, user_uid, created_at) VALUES ($1, $2, $3)")
        .bind(team_uid)
        .bind(user_uid)
        .bind(clock::now())
        .execute(c)
        .await?;
    Ok(true)
}

pub async fn remove_member(c: &mut Conn, team_uid: &str, user_uid: &str) -> Result<bool> {
    let r = sqlx::query("DELETE FROM team_members WHERE team_uid = $1 AND user_uid = $2")
        .bind(team_uid)
        .bind(user_uid)
        .execute(c)
        .await?;
    Ok(r.rows_affected() == 1)
}

/// Removes a user from every team of an organization (they left it).
pub async fn remove_from_org(c: &mut Conn, org_uid: &str, user_uid: &str) -> Result<()> {
    sqlx::query(
        "DELETE FROM team_members WHERE user_uid = $1 AND team_uid IN \
         (SELECT uid FROM teams WHERE org_uid = $2)",
    )
    .bind(user_uid)
    .bind(org_uid)
    .execute(c)
    .await?;
    Ok(())
}

/// A team's stack role mapping: the stack's API key and the role uids.
#[derive(Clone, Debug, PartialEq)]
pub struct Mapping {
    pub stack_uid: String,
    pub api_key: String,
    pub role_uids: Vec<String>,
}

pub async fn mappings(c: &mut Conn, team_uid: &str) -> Result<Vec<Mapping>> {
    let rows = sqlx::query(
        "SELECT m.stack_uid, s.api_key, m.role_uid FROM team_stack_roles m \
         JOIN stacks s ON s.uid = m.stack_uid WHERE m.team_uid = $1 \
         ORDER BY s.created_at, s.uid, m.created_at, m.role_uid",
    )
    .bind(team_uid)
    .fetch_all(c)
    .await?;
    let mut out: Vec<Mapping> = Vec::new();
    for r in &rows {
        let stack_uid = s(r, "stack_uid")?;
        match out.last_mut() {
            Some(m) if m.stack_uid == stack_uid => m.role_uids.push(s(r, "role_uid")?),
            _ => out.push(Mapping {
                stack_uid,
                api_key: s(r, "api_key")?,
                role_uids: vec![s(r, "role_uid")?],
            }),
        }
    }
    Ok(out)
}

/// Replaces the team's roles in one stack (no roles: the mapping is removed).
pub async fn set_mapping(
    c: &mut Conn,
    team_uid: &str,
    stack_uid: &str,
    role_uids: &[String],
) -> Result<()> {
    delete_mapping(c, team_uid, stack_uid).await?;
    let now = clock::now();
    for role in role_uids {
        sqlx::query(
            "INSERT INTO team_stack_roles (team_uid, stack_uid, role_uid, created_at) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(team_uid)
        .bind(stack_uid)
        .bind(role)
        .bind(&now)
        .execute(&mut *c)
        .await?;
    }
    Ok(())
}

pub async fn delete_mapping(c: &mut Conn, team_uid: &str, stack_uid: &str) -> Result<bool> {
    let r = sqlx::query("DELETE FROM team_stack_roles WHERE team_uid = $1 AND stack_uid = $2")
        .bind(team_uid)
        .bind(stack_uid)
        .execute(c)
        .await?;
    Ok(r.rows_affected() > 0)
}

/// The roles a user holds in a stack through the teams they are in.
pub async fn stack_roles_of_user(
    c: &mut Conn,
    stack_uid: &str,
    user_uid: &str,
) -> Result<Vec<Membership>> {
    let rows = sqlx::query(
        "SELECT DISTINCT r.uid, r.name, r.builtin, r.rules FROM team_stack_roles m \
         JOIN team_members tm ON tm.team_uid = m.team_uid \
         JOIN roles r ON r.uid = m.role_uid \
         WHERE m.stack_uid = $1 AND tm.user_uid = $2 ORDER BY r.uid",
    )
    .bind(stack_uid)
    .bind(user_uid)
    .fetch_all(c)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Membership {
                role_uid: s(r, "uid")?,
                role_name: s(r, "name")?,
                // NULL for a custom role.
                builtin: os(r, "builtin")?,
                rules: json(r, "rules")?,
            })
        })
        .collect()
}
