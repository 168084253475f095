//! Management-token usage (MT-19): request counts per token and UTC day, and the latest
//! distinct client addresses. Written in batches by the server's usage flusher, never on the
//! request path.

use super::Conn;
use crate::error::Result;
use crate::row::*;

/// Client addresses kept per token.
pub const CLIENTS_KEPT: usize = 5;

/// Requests of one token on one day.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub reads: i64,
    pub writes: i64,
    pub refusals: i64,
    pub rate_limited: i64,
}

impl Counts {
    pub fn add(&mut self, o: &Counts) {
        self.reads += o.reads;
        self.writes += o.writes;
        self.refusals += o.refusals;
        self.rate_limited += o.rate_limited;
    }
}

/// Adds `n` to a token's counts of `day` (`YYYY-MM-DD`). Nothing is written for a token that
/// no longer exists.
pub async fn add(c: &mut Conn, token_uid: &str, day: &str, n: &Counts) -> Result<()> {
    sqlx::query(
        "INSERT INTO management_token_usage (token_uid, day, reads, writes, refusals, rate_limited) \
         SELECT uid, $2, $3, $4, $5, $6 FROM management_tokens WHERE uid = $1 \
         ON CONFLICT (token_uid, day) DO UPDATE SET \
         reads = management_token_usage.reads + excluded.reads, \
         writes = management_token_usage.writes + excluded.writes, \
         refusals = management_token_usage.refusals + excluded.refusals, \
         rate_limited = management_token_usage.rate_limited + excluded.rate_limited",
    )
    .bind(token_uid)
    .bind(day)
    .bind(n.reads)
    .bind(n.writes)
    .bind(n.refusals)
    .bind(n.rate_limited)
    .execute(c)
    .await?;
    Ok(())
}

/// Records that `address` used the token at `at`, then keeps only the latest
/// [`CLIENTS_KEPT`] addresses.
pub async fn seen(c: &mut Conn, token_uid: &str, address: &str, at: &str) -> Result<()> {
    sqlx::query(
        "INSERT INTO management_token_clients (token_uid, address, last_seen_at) \
         SELECT uid, $2, $3 FROM management_tokens WHERE uid = $1 \
         ON CONFLICT (token_uid, address) DO UPDATE SET last_seen_at = excluded.last_seen_at \
         WHERE management_token_clients.last_seen_at < excluded.last_seen_at",
    )
    .bind(token_uid)
    .bind(address)
    .bind(at)
    .execute(&mut *c)
    .await?;
    Ok(())
}

/// Drops all but the latest [`CLIENTS_KEPT`] addresses of a token.
pub async fn prune_clients(c: &mut Conn, token_uid: &str) -> Result<()> {
    sqlx::query(
        "DELETE FROM management_token_clients WHERE token_uid = $1 AND address NOT IN \
         (SELECT address FROM management_token_clients WHERE token_uid = $1 \
          ORDER BY last_seen_at DESC, address LIMIT $2)",
    )
    .bind(token_uid)
    .bind(CLIENTS_KEPT as i64)
    .execute(c)
    .await?;
    Ok(())
}

/// A token's stored counts, newest day first (at most `days` days).
pub async fn days(c: &mut Conn, token_uid: &str, days: i64) -> Result<Vec<(String, Counts)>> {
    let rows = sqlx::query(
        "SELECT day, reads, writes, refusals, rate_limited FROM management_token_usage \
         WHERE token_uid = $1 ORDER BY day DESC LIMIT $2",
    )
    .bind(token_uid)
    .bind(days)
    .fetch_all(c)
    .await?;
    rows.iter()
        .map(|r| {
            Ok({
                (
                    s(r, "day")?,
                    Counts {
                        reads: i(r, "reads")?,
                        writes: i(r, "writes")?,
                        refusals: i(r, "refusals")?,
                        rate_limited: i(r, "rate_limited")?,
                    },
                )
            })
        })
        .collect()
}

/// A token's stored client addresses with when each was last seen, latest first.
pub async fn clients(c: &mut Conn, token_uid: &str) -> Result<Vec<(String, String)>> {
    let rows = sqlx::query(
        "SELECT address, last_seen_at FROM management_token_clients WHERE token_uid = $1 \
         ORDER BY last_seen_at DESC, address LIMIT $2",
    )
    .bind(token_uid)
    .bind(CLIENTS_KEPT as i64)
    .fetch_all(c)
    .await?;
    rows.iter()
        .map(|r| Ok((s(r, "address")?, s(r, "last_seen_at")?)))
        .collect()
}
