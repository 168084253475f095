//! The webhook delivery worker and the background tasks' lifecycle.
//!
//! Started by [`crate::run`] with the server and stopped when it shuts down. The worker claims
//! due deliveries from the database outbox (with a lease), POSTs each one signed, logs the
//! attempt and schedules the next one with exponential backoff. Nothing here runs on the
//! request path.

use crate::state::AppState;
use headwater_core::clock;
use headwater_store::repo::webhooks::{self, Attempt, Delivery, Next};
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Header carrying `sha256=<hex HMAC-SHA256 of "{timestamp}.{body}">`.
pub const SIGNATURE_HEADER: &str = "x-headwater-signature";
/// Header carrying the signing time, in Unix seconds.
pub const TIMESTAMP_HEADER: &str = "x-headwater-timestamp";
/// Deliveries claimed per round.
const BATCH: i64 = 16;
/// The most of a response body kept in the log.
const SNIPPET: usize = 1024;

/// The running background tasks.
pub struct Background {
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Background {
    /// Starts the delivery worker, the expiry-notice scan and the token-usage flusher.
    pub fn start(state: AppState) -> Background {
        let (stop, rx) = watch::channel(false);
        let tasks = vec![
            tokio::spawn(delivery_loop(state.clone(), rx.clone())),
            tokio::spawn(crate::notices::scan_loop(state.clone(), rx.clone())),
            tokio::spawn(crate::revocation::listen_loop(state.clone(), rx.clone())),
            tokio::spawn(crate::ops::upkeep_loop(rx.clone())),
            tokio::spawn(crate::publish::jobs::run_loop(state.clone(), rx.clone())),
            tokio::spawn(crate::usage::flush_loop(state, rx)),
        ];
        Background { stop, tasks }
    }

    /// Asks the tasks to stop and waits for them: deliveries in flight finish (each within
    /// the request timeout) and are logged.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for t in self.tasks {
            let _ = t.await;
        }
    }
}

/// Waits `d`, or less when asked to stop; true when stopping.
pub(crate) async fn pause(stop: &mut watch::Receiver<bool>, d: Duration) -> bool {
    if *stop.borrow() {
        return true;
    }
    tokio::select! {
        _ = tokio::time::sleep(d) => {}
        _ = stop.changed() => {}
    }
    *stop.borrow()
}

async fn delivery_loop(state: AppState, mut stop: watch::Receiver<bool>) {
    let cfg = state.config().events.clone();
    // Every connection goes through the guarded resolver (IP hosts are checked in `post`),
    // never through a proxy, and redirects are not followed: the address checked is the
    // address connected to.
    let resolver = crate::outbound::GuardedResolver::new(&state.config().webhook_allow_cidrs);
    let client = match reqwest::Client::builder()
        .no_proxy()
        .dns_resolver(std::sync::Arc::new(resolver))
        .redirect(reqwest::redirect::Policy::none())
        .timeout(cfg.request_timeout)
        .connect_timeout(cfg.request_timeout.min(Duration::from_secs(5)))
        .user_agent("Headwater-Webhooks/1")
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "webhook delivery worker could not start");
            return;
        }
    };
    loop {
        if *stop.borrow() {
            break;
        }
        let batch = match claim(&state, &cfg).await {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!(error = %e, "claiming webhook deliveries failed");
                Vec::new()
            }
        };
        if batch.is_empty() {
            if pause(&mut stop, cfg.poll_interval).await {
                break;
            }
            continue;
        }
        futures::future::join_all(batch.into_iter().map(|d| deliver(&state, &client, d))).await;
    }
}

async fn claim(
    state: &AppState,
    cfg: &crate::state::EventsConfig,
) -> Result<Vec<Delivery>, headwater_store::StoreError> {
    let now = time::OffsetDateTime::now_utc();
    // Look on a reader first, so an idle worker never takes the (SQLite) writer.
    {
        let mut c = state.db().reader().await?;
        if !webhooks::any_due(&mut c, &clock::format(now)).await? {
            return Ok(Vec::new());
        }
    }
    let lease = cfg.request_timeout * 2 + Duration::from_secs(30);
    let mut tx = state.db().begin().await?;
    let claimed = webhooks::claim_due(
        &mut tx,
        &clock::format(now),
        &clock::format(now + lease),
        BATCH,
    )
    .await?;
    tx.commit().await?;
    Ok(claimed)
}

/// `sha256=<hex>` of HMAC-SHA256 over `"{timestamp}.{body}"` with the webhook's secret.
pub fn signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any size");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let bytes = mac.finalize().into_bytes();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

/// True for an absolute `http` or `https` URL with a host and no credentials in it.
pub fn url_allowed(url: &str) -> bool {
    match reqwest::Url::parse(url) {
        Ok(u) => {
            matches!(u.scheme(), "http" | "https")
                && u.host_str().is_some_and(|h| !h.is_empty())
                && u.username().is_empty()
                && u.password().is_none()
        }
        Err(_) => false,
    }
}

/// When the attempt after attempt `n` (1-based) is due: `base · 2^(n-1)`, at most one hour.
fn backoff(base: Duration, n: i64) -> Duration {
    let exp = u32::try_from((n - 1).clamp(0, 20)).unwrap_or(20);
    base.saturating_mul(2u32.saturating_pow(exp))
        .min(Duration::from_secs(3600))
}

struct Outcome {
    status: i64,
    error: Option<String>,
    body: String,
    /// The target leads to a refused address: retrying cannot help.
    refused: bool,
}

async fn deliver(state: &AppState, client: &reqwest::Client, d: Delivery) {
    let cfg = &state.config().events;
    let attempt_no = d.attempts + 1;
    let hook = match state.db().reader().await {
        Ok(mut c) => webhooks::get(&mut c, &d.stack_uid, &d.webhook_uid).await,
        Err(e) => Err(e),
    };
    let hook = match hook {
        Ok(Some(h)) => h,
        Ok(None) => return, // deleted: its deliveries went with it
        Err(e) => {
            tracing::warn!(error = %e, delivery = %d.uid, "loading a webhook failed");
            release(state, &d.uid).await;
            return;
        }
    };
    let dest = hook
        .destinations
        .get(d.destination as usize)
        .cloned()
        .unwrap_or(Value::Null);
    let url = dest
        .get("target_url")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let started = Instant::now();
    let outcome = if hook.disabled {
        Outcome {
            status: 0,
            error: Some("the webhook is disabled".into()),
            body: String::new(),
            refused: false,
        }
    } else {
        let allow = &state.config().webhook_allow_cidrs;
        post(client, allow, &hook.secret, &dest, &url, &d, attempt_no).await
    };
    let duration_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
    let ok = (200..300).contains(&outcome.status);
    let next = if ok {
        Next::Delivered
    } else if hook.disabled || outcome.refused || attempt_no >= cfg.max_attempts {
        Next::GiveUp
    } else {
        let at = time::OffsetDateTime::now_utc() + backoff(cfg.retry_base, attempt_no);
        Next::RetryAt(clock::format(at))
    };
    let outcome_name = match &next {
        Next::Delivered => "delivered",
        Next::GiveUp => "failed",
        Next::RetryAt(_) => "retry",
    };
    metrics::counter!("headwater_webhook_deliveries_total", "outcome" => outcome_name).increment(1);
    let a = Attempt {
        uid: headwater_core::ids::new_uid(),
        delivery_uid: d.uid.clone(),
        attempt: attempt_no,
        target_url: url,
        status_code: outcome.status,
        error: outcome.error,
        response_body: outcome.body,
        duration_ms,
        created_at: clock::now(),
    };
    let result = async {
        let mut tx = state.db().begin().await?;
        webhooks::record_attempt(&mut tx, &a, &next).await?;
        tx.commit().await?;
        Ok::<_, headwater_store::StoreError>(())
    }
    .await;
    match result {
        Ok(()) => tracing::info!(
            delivery = %d.uid, webhook = %d.webhook_uid, attempt = attempt_no,
            status = a.status_code, next = ?next, "webhook delivery attempted"
        ),
        // The lease runs out and the delivery is attempted again: at least once, not exactly.
        Err(e) => tracing::warn!(error = %e, delivery = %d.uid, "logging a webhook attempt failed"),
    }
}

async fn release(state: &AppState, uid: &str) {
    if let Ok(mut tx) = state.db().begin().await {
        if webhooks::release(&mut tx, uid).await.is_ok() {
            let _ = tx.commit().await;
        }
    }
}

async fn post(
    client: &reqwest::Client,
    allow: &[crate::outbound::Cidr],
    secret: &str,
    dest: &Value,
    url: &str,
    d: &Delivery,
    attempt: i64,
) -> Outcome {
    let fail = |e: String| Outcome {
        status: 0,
        error: Some(e),
        body: String::new(),
        refused: false,
    };
    if !url_allowed(url) {
        return fail("the target URL is not an http(s) URL".into());
    }
    // The client connects to an IP host without resolving it, so the resolver's check does
    // not see it: check it here.
    if let Ok(parsed) = reqwest::Url::parse(url) {
        if let Err(r) = crate::outbound::check_literal(&parsed, allow) {
            return refused(&r);
        }
    }
    let body = d.payload.to_string().into_bytes();
    let ts = time::OffsetDateTime::now_utc().unix_timestamp();
    let mut req = client.post(url);
    if let Some(headers) = dest.get("custom_header").and_then(Value::as_array) {
        for h in headers {
            let name = h.get("header_name").and_then(Value::as_str).unwrap_or("");
            let value = h.get("value").and_then(Value::as_str).unwrap_or("");
            if !name.is_empty() {
                req = req.header(name, value);
            }
        }
    }
    let user = dest
        .get("http_basic_auth")
        .and_then(Value::as_str)
        .unwrap_or("");
    if !user.is_empty() {
        let password = dest.get("http_basic_password").and_then(Value::as_str);
        req = req.basic_auth(user, password);
    }
    let req = req
        .header("content-type", "application/json")
        .header(SIGNATURE_HEADER, signature(secret, ts, &body))
        .header(TIMESTAMP_HEADER, ts.to_string())
        .header("x-headwater-event", d.channel.as_str())
        .header("x-headwater-delivery", d.uid.as_str())
        .header("x-headwater-attempt", attempt.to_string())
        .body(body);
    let mut resp = match req.send().await {
        Ok(r) => r,
        Err(e) => {
            return match refusal(&e) {
                Some(r) => refused(r),
                None => fail(describe(&e)),
            }
        }
    };
    let status = i64::from(resp.status().as_u16());
    let mut snippet = Vec::new();
    let mut error = None;
    while snippet.len() < SNIPPET {
        match resp.chunk().await {
            Ok(Some(chunk)) => snippet.extend_from_slice(&chunk),
            Ok(None) => break,
            Err(e) => {
                error = Some(describe(&e));
                break;
            }
        }
    }
    snippet.truncate(SNIPPET);
    Outcome {
        status,
        error,
        body: String::from_utf8_lossy(&snippet).into_owned(),
        refused: false,
    }
}

fn refused(r: &crate::outbound::Refused) -> Outcome {
    Outcome {
        status: 0,
        error: Some(format!("refused, not sent: {r}")),
        body: String::new(),
        refused: true,
    }
}

/// The resolver's refusal, when that is why the request failed.
fn refusal(e: &reqwest::Error) -> Option<&crate::outbound::Refused> {
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        if let Some(r) = s.downcast_ref::<crate::outbound::Refused>() {
            return Some(r);
        }
        src = s.source();
    }
    None
}

/// An error without the URL (it may carry credentials in its user-info).
fn describe(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else if e.is_builder() {
        "the request could not be built"
    } else {
        "the request failed"
    };
    let mut msg = kind.to_string();
    let mut src = std::error::Error::source(e);
    if let Some(s) = src.take() {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
    }
    msg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_the_base_and_is_capped() {
        let base = Duration::from_millis(100);
        assert_eq!(backoff(base, 1), Duration::from_millis(100));
        assert_eq!(backoff(base, 2), Duration::from_millis(200));
        assert_eq!(backoff(base, 4), Duration::from_millis(800));
        assert_eq!(backoff(base, 60), Duration::from_secs(3600));
    }

    #[test]
    fn signature_covers_timestamp_and_body() {
        let a = signature("k", 1, b"{}");
        assert!(a.starts_with("sha256=") && a.len() == 7 + 64);
        assert_ne!(a, signature("k", 2, b"{}"));
        assert_ne!(a, signature("k", 1, b"{ }"));
        assert_ne!(a, signature("j", 1, b"{}"));
    }
}
