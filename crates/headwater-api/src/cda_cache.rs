//! Validators and a short-lived answer cache for the Content Delivery API.
//!
//! Every `200` of a delivery `GET` carries an `ETag` (a hash of the body), `Cache-Control:
//! public, max-age=0, must-revalidate` (a CDN or browser may store the answer but asks again
//! each time, with `If-None-Match`) and `Vary` on the headers that choose the content. A
//! request whose `If-None-Match` names the current tag is answered `304 Not Modified` without
//! a body.
//!
//! The answers themselves are kept per instance, keyed by a hash of everything that chooses
//! them (path and query, `api_key`, `access_token`, `environment`, `branch`, `Host`), for at
//! most [`TTL`], and only while the instance's change counter ([`crate::cache::Generation`])
//! is the one they were read under: any write request on this instance, and any publishing
//! job it carries out, makes them stale at once. Changes made through another instance (or
//! by the CLI on the database) show within [`TTL`]. Only `200`s are kept, so a refused token
//! is checked again on every request; a deleted or re-scoped delivery token is a write, which
//! drops every kept answer.
//!
//! A request that carries no management credential is looked up before routing
//! ([`before_routing`], around the whole application), so a kept answer costs neither route
//! matching nor credential resolution; one that does carry one is looked up by [`validate`],
//! after `auth::authenticate` has checked (and perhaps refused) it.
//!
//! Requests for an answer that is being read (under the same change counter) wait for it
//! instead of reading it too, so an answer slower to read than [`TTL`] under load is read once
//! per expiry, not once per request; when an older answer read under the same counter is
//! kept, they are given that one meanwhile (so a change made through another instance shows
//! within [`TTL`] plus the time one reading of the answer takes).
//!
//! When a kept answer is older than [`TTL`] but nothing changed, one request reads it again
//! while the others are still answered from it (for at most another [`TTL`]), so an expiry
//! does not send every waiting connection to the database at once.

use crate::state::AppState;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a kept answer is served without reading the database again.
pub const TTL: Duration = Duration::from_secs(1);
/// The most bytes of answers kept per instance; past it the cache starts over.
const MAX_BYTES: usize = 32 * 1024 * 1024;
/// Answers larger than this are never kept (they still get their `ETag`).
const MAX_ONE: usize = 1024 * 1024;

pub const CACHE_CONTROL: &str = "public, max-age=0, must-revalidate";
pub const VARY: &str = "api_key, access_token, environment, branch";

type Key = [u8; 32];

struct Kept {
    /// The route template that answered (`/cda/v3/content_types/{ct}/entries/{uid}`), for the
    /// request metrics of answers given before routing ([`before_routing`]).
    route: Option<axum::extract::MatchedPath>,
    at: Instant,
    generation: u64,
    etag: HeaderValue,
    content_type: Option<HeaderValue>,
    body: Bytes,
    refreshing: AtomicBool,
}

#[derive(Default)]
pub struct DeliveryCache {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    map: HashMap<Key, Arc<Kept>>,
    bytes: usize,
    /// Answers being read now, by key: the change counter they are read under, and where the
    /// answer will be announced to the requests waiting for it.
    reading: HashMap<Key, (u64, Announced)>,
}

type Announced = tokio::sync::watch::Receiver<Option<Arc<Kept>>>;

/// Whose turn it is to read an answer that is not kept.
enum Turn<'a> {
    /// This request reads it, and announces it when done (or, dropped, lets the waiting ones
    /// read it themselves).
    Read(Reading<'a>),
    /// Another request is reading it under the same change counter: wait for its answer.
    Wait(Announced),
}

struct Reading<'a> {
    cache: &'a DeliveryCache,
    key: Key,
    announce: tokio::sync::watch::Sender<Option<Arc<Kept>>>,
}

impl Reading<'_> {
    fn announce(&self, kept: &Arc<Kept>) {
        let _ = self.announce.send(Some(Arc::clone(kept)));
    }
}

impl Drop for Reading<'_> {
    fn drop(&mut self) {
        let mut inner = self.cache.inner.lock().unwrap_or_else(|e| e.into_inner());
        let ours = inner
            .reading
            .get(&self.key)
            .is_some_and(|(_, rx)| rx.same_channel(&self.announce.subscribe()));
        if ours {
            inner.reading.remove(&self.key);
        }
    }
}

impl DeliveryCache {
    fn get(&self, key: &Key, now: Instant, generation: u64) -> Option<Arc<Kept>> {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let kept = inner.map.get(key)?;
        if kept.generation != generation {
            return None;
        }
        let age = now.saturating_duration_since(kept.at);
        if age < TTL {
            return Some(Arc::clone(kept));
        }
        // Expired with nothing changed: the first request reads again, the others are served
        // what is kept meanwhile.
        if age < 2 * TTL && kept.refreshing.swap(true, Ordering::AcqRel) {
            return Some(Arc::clone(kept));
        }
        None
    }

    /// The answer kept for `key` under `generation`, however old: what the requests waiting
    /// for a new reading of it are given meanwhile.
    fn stale(&self, key: &Key, generation: u64) -> Option<Arc<Kept>> {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner
            .map
            .get(key)
            .filter(|k| k.generation == generation)
            .cloned()
    }

    /// The turn of a request that found no answer kept for `key`: several requests for the
    /// same answer at once read it once (an answer slower to read than [`TTL`] would
    /// otherwise be read by every request that arrives meanwhile, each slowing the others).
    fn turn(&self, key: Key, generation: u64) -> Turn<'_> {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((g, rx)) = inner.reading.get(&key) {
            if *g == generation {
                return Turn::Wait(rx.clone());
            }
        }
        let (announce, rx) = tokio::sync::watch::channel(None);
        inner.reading.insert(key, (generation, rx));
        Turn::Read(Reading {
            cache: self,
            key,
            announce,
        })
    }

    fn put(&self, key: Key, kept: Arc<Kept>) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if inner.bytes + kept.body.len() > MAX_BYTES {
            inner.map.clear();
            inner.bytes = 0;
        }
        inner.bytes += kept.body.len();
        if let Some(old) = inner.map.insert(key, kept) {
            inner.bytes -= old.body.len();
        }
    }
}

fn key_of(req: &Request) -> Key {
    let mut h = Sha256::new();
    // The path as the client sent it: a nested router sees it without its prefix, and the
    // lookup before routing ([`before_routing`]) with it.
    let path = match req.extensions().get::<axum::extract::OriginalUri>() {
        Some(original) => original.path(),
        None => req.uri().path(),
    };
    h.update(path.as_bytes());
    h.update(b"?");
    h.update(req.uri().query().unwrap_or_default().as_bytes());
    for name in ["api_key", "access_token", "environment", "branch", "host"] {
        h.update(b"\n");
        for v in req.headers().get_all(name) {
            h.update(v.as_bytes());
            h.update(b"\0");
        }
    }
    h.finalize().into()
}

fn etag_of(body: &[u8]) -> HeaderValue {
    let digest = Sha256::digest(body);
    let mut tag = String::with_capacity(34);
    tag.push('"');
    for b in &digest[..16] {
        tag.push_str(&format!("{b:02x}"));
    }
    tag.push('"');
    HeaderValue::from_str(&tag).expect("hex is a valid header value")
}

/// True when `If-None-Match` names `etag` (or is `*`); weak tags compare by their value.
pub fn matches(if_none_match: &[HeaderValue], etag: &HeaderValue) -> bool {
    let tag = etag.to_str().unwrap_or_default();
    if_none_match
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim())
        .any(|t| t == "*" || t.strip_prefix("W/").unwrap_or(t) == tag)
}

fn answer(kept: &Kept, not_modified: bool) -> Response {
    let mut resp = if not_modified {
        let mut r = Response::new(Body::empty());
        *r.status_mut() = StatusCode::NOT_MODIFIED;
        r
    } else {
        let mut r = Response::new(Body::from(kept.body.clone()));
        if let Some(ct) = &kept.content_type {
            r.headers_mut().insert(header::CONTENT_TYPE, ct.clone());
        }
        r
    };
    let h = resp.headers_mut();
    h.insert(header::ETAG, kept.etag.clone());
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(CACHE_CONTROL),
    );
    h.insert(header::VARY, HeaderValue::from_static(VARY));
    resp
}

/// Set on a request whose kept answer [`before_routing`] looked for and did not find (or found
/// expired), with the key it looked under: [`validate`] neither works it out nor looks again.
#[derive(Clone, Copy)]
struct LookedUp(Key);

/// Middleware around the whole application, before routing: a delivery `GET` that carries no
/// management credential (`authorization`, `authtoken`: those are checked, and refused when
/// bad, by `auth::authenticate` on every route) is answered from the cache here when it can
/// be, without routing it or resolving anything. The request metrics count it under the route
/// that produced the kept answer.
pub async fn before_routing(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Response {
    let eligible = req.method() == Method::GET
        && req.uri().path().starts_with("/cda/")
        && !req.headers().contains_key(header::AUTHORIZATION)
        && !req.headers().contains_key("authtoken");
    if !eligible {
        return next.run(req).await;
    }
    let started = Instant::now();
    let key = key_of(&req);
    let generation = state.generation().current();
    match state.delivered().get(&key, started, generation) {
        Some(kept) => {
            metrics::counter!("headwater_delivery_cache_lookups_total", "result" => "hit")
                .increment(1);
            let resp = answer(&kept, matches(&if_none_match(&req), &kept.etag));
            crate::ops::record(
                kept.route.as_ref().map(|r| r.as_str()),
                req.method(),
                resp.status(),
                crate::ops::credential_kind(&req),
                started,
            );
            resp
        }
        None => {
            req.extensions_mut().insert(LookedUp(key));
            next.run(req).await
        }
    }
}

fn if_none_match(req: &Request) -> Vec<HeaderValue> {
    req.headers()
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .cloned()
        .collect()
}

/// Middleware of the delivery routes: answers from the cache when it can (and
/// [`before_routing`] has not looked already), and gives every `200` its validators.
pub async fn validate(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if req.method() != Method::GET {
        return next.run(req).await;
    }
    let looked_up = req.extensions().get::<LookedUp>().map(|l| l.0);
    let key = looked_up.unwrap_or_else(|| key_of(&req));
    let route = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .cloned();
    let conditional = if_none_match(&req);
    // Read before the database is: a change committed meanwhile makes this answer stale.
    let generation = state.generation().current();
    let now = Instant::now();
    if looked_up.is_none() {
        if let Some(kept) = state.delivered().get(&key, now, generation) {
            metrics::counter!("headwater_delivery_cache_lookups_total", "result" => "hit")
                .increment(1);
            return answer(&kept, matches(&conditional, &kept.etag));
        }
    }
    let reading = match state.delivered().turn(key, generation) {
        Turn::Read(reading) => Some(reading),
        Turn::Wait(mut announced) => {
            // Nothing changed on this instance since the answer kept was read: it is given
            // while the new reading runs, however long that takes.
            if let Some(kept) = state.delivered().stale(&key, generation) {
                metrics::counter!("headwater_delivery_cache_lookups_total", "result" => "stale")
                    .increment(1);
                return answer(&kept, matches(&conditional, &kept.etag));
            }
            // The reading request's answer, read under the same change counter; when it
            // gives up (its client left) or answers something else than a 200, read it here.
            let shared = announced
                .wait_for(Option::is_some)
                .await
                .ok()
                .and_then(|v| v.clone());
            if let Some(kept) = shared {
                metrics::counter!("headwater_delivery_cache_lookups_total", "result" => "shared")
                    .increment(1);
                return answer(&kept, matches(&conditional, &kept.etag));
            }
            None
        }
    };
    metrics::counter!("headwater_delivery_cache_lookups_total", "result" => "miss").increment(1);
    let resp = next.run(req).await;
    if resp.status() != StatusCode::OK {
        return resp;
    }
    let (parts, body) = resp.into_parts();
    let body = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(b) => b,
        Err(e) => {
            tracing::error!(error = %e, "could not read a delivery answer");
            return axum::response::IntoResponse::into_response(crate::error::ApiError::internal());
        }
    };
    let kept = Arc::new(Kept {
        route,
        at: now,
        generation,
        etag: etag_of(&body),
        content_type: parts.headers.get(header::CONTENT_TYPE).cloned(),
        body,
        refreshing: AtomicBool::new(false),
    });
    if kept.body.len() <= MAX_ONE {
        state.delivered().put(key, Arc::clone(&kept));
    }
    if let Some(reading) = reading {
        reading.announce(&kept);
    }
    answer(&kept, matches(&conditional, &kept.etag))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kept(body: &'static str, generation: u64) -> Arc<Kept> {
        Arc::new(Kept {
            route: None,
            at: Instant::now(),
            generation,
            etag: etag_of(body.as_bytes()),
            content_type: None,
            body: Bytes::from_static(body.as_bytes()),
            refreshing: AtomicBool::new(false),
        })
    }

    #[tokio::test]
    async fn one_request_reads_an_answer_the_others_wait_for() {
        let cache = DeliveryCache::default();
        let key = [7u8; 32];
        let Turn::Read(reading) = cache.turn(key, 1) else {
            panic!("the first request reads");
        };
        let Turn::Wait(mut waiting) = cache.turn(key, 1) else {
            panic!("the second one waits");
        };
        // Under another change counter the answer being read is not the one wanted: that
        // request reads its own (and, dropped here, takes its entry away with it; the first
        // reading still announces to those already waiting).
        assert!(matches!(cache.turn(key, 2), Turn::Read(_)));
        let answer = kept("{}", 1);
        reading.announce(&answer);
        let got = waiting.wait_for(Option::is_some).await.unwrap().clone();
        assert!(Arc::ptr_eq(&got.unwrap(), &answer));
    }

    #[test]
    fn an_old_answer_is_there_for_its_change_counter_only() {
        let cache = DeliveryCache::default();
        let key = [3u8; 32];
        let old = Arc::new(Kept {
            at: Instant::now() - 10 * TTL,
            ..Arc::into_inner(kept("[]", 4)).unwrap()
        });
        cache.put(key, Arc::clone(&old));
        assert!(cache.get(&key, Instant::now(), 4).is_none(), "expired");
        assert!(Arc::ptr_eq(&cache.stale(&key, 4).unwrap(), &old));
        assert!(cache.stale(&key, 5).is_none(), "read before a change");
    }

    #[tokio::test]
    async fn a_reading_given_up_lets_the_waiting_requests_read() {
        let cache = DeliveryCache::default();
        let key = [9u8; 32];
        let Turn::Read(reading) = cache.turn(key, 1) else {
            panic!("the first request reads");
        };
        let Turn::Wait(mut waiting) = cache.turn(key, 1) else {
            panic!("the second one waits");
        };
        drop(reading);
        assert!(waiting.wait_for(Option::is_some).await.is_err());
        // And the next request reads it itself.
        assert!(matches!(cache.turn(key, 1), Turn::Read(_)));
    }
}
