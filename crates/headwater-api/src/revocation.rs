//! Immediate revocation across instances.
//!
//! Every write that can take a management token's grant away (delete, expiry change,
//! re-scope, a stack's deletion, an organization's new limits) clears this instance's token
//! cache and announces the change on the PostgreSQL channel
//! [`headwater_store::db::REVOCATION_CHANNEL`] (`NOTIFY`); every instance `LISTEN`s on it and
//! clears its own cache when a notice arrives, so a revoked token is refused everywhere at
//! once rather than when cached entries expire.
//!
//! A user's standing (authtoken session, organization role, stack membership, custom and
//! team roles) is cached the same way (`cache::StandingCache`, one second at most, and only
//! while this instance made no change since): every successful write to roles, stacks,
//! organizations or users is announced here too (`mark_changes` in `lib.rs`), and a notice
//! drops the cached standings with the cached tokens.
//!
//! The cache keeps its one-second lifetime whether or not the channel is up, so a lost
//! channel (PostgreSQL restarted, a network cut) degrades to that one second and never to a
//! stale grant. When the listener connects or reconnects (notices may have been missed
//! meanwhile) the whole cache is dropped. SQLite is served by one process, so there is
//! nothing to announce there.

use crate::state::AppState;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::sync::watch;

/// Clears this instance's token cache and tells the other instances to clear theirs.
pub async fn announce(state: &AppState) {
    state.token_cache().clear();
    state.standings().clear();
    state.changed();
    if let Err(e) = state.db().announce_revocation().await {
        // The others still drop the entry within the cache's lifetime.
        tracing::warn!(error = %e, "could not announce a credential change to other instances");
    }
}

/// Listens for announcements until `stop`; started with the server's background work on
/// PostgreSQL.
pub(crate) async fn listen_loop(state: AppState, mut stop: watch::Receiver<bool>) {
    let mut logged_down = false;
    loop {
        if *stop.borrow() {
            break;
        }
        let mut listener = match state.db().revocation_listener().await {
            Ok(Some(l)) => l,
            Ok(None) => return,
            Err(e) => {
                if !logged_down {
                    tracing::warn!(error = %e, "cannot listen for credential changes: cached tokens live one second");
                    logged_down = true;
                }
                if crate::delivery::pause(&mut stop, Duration::from_secs(1)).await {
                    break;
                }
                continue;
            }
        };
        // Whatever was announced before now may have been missed.
        state.token_cache().clear();
        state.standings().clear();
        state.changed();
        state.0.revocations_live.store(true, Ordering::Relaxed);
        if logged_down {
            tracing::info!("listening for credential changes again");
            logged_down = false;
        }
        loop {
            let next = tokio::select! {
                n = listener.try_recv() => n,
                _ = stop.changed() => break,
            };
            match next {
                Ok(Some(_)) => {
                    state.token_cache().clear();
                    state.standings().clear();
                    state.changed();
                    metrics::counter!("headwater_revocation_notices_total").increment(1);
                }
                // The connection was lost and made again: notices may have been missed.
                Ok(None) => {
                    state.token_cache().clear();
                    state.standings().clear();
                    state.changed();
                }
                Err(e) => {
                    state.0.revocations_live.store(false, Ordering::Relaxed);
                    state.token_cache().clear();
                    state.standings().clear();
                    state.changed();
                    tracing::warn!(error = %e, "the credential-change channel was lost: cached tokens live one second until it returns");
                    logged_down = true;
                    break;
                }
            }
        }
        state.0.revocations_live.store(false, Ordering::Relaxed);
        if crate::delivery::pause(&mut stop, Duration::from_millis(200)).await {
            break;
        }
    }
}
