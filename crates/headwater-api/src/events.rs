//! Events for webhooks: what handlers call when something happens in a stack.
//!
//! A handler builds an [`Event`] and calls [`emit`] with its open write transaction, next to
//! its audit record:
//!
//! ```ignore
//! events::emit(&mut tx, &ctx, Event::entry("create", &ct, entry_json(&entry, None))).await?;
//! ```
//!
//! `emit` writes one delivery row per subscribed, enabled webhook (per destination) in that
//! transaction, so the delivery exists exactly when the change is committed. The delivery
//! worker ([`crate::delivery`]) sends it later, off the request path.

use crate::auth::StackCtx;
use crate::error::ApiResult;
use headwater_core::clock;
use headwater_store::repo::webhooks::{self, OutEvent};
use headwater_store::repo::Conn;
use headwater_store::Exec;
use serde_json::{json, Map, Value};

/// Something that happened, before it is bound to a stack and branch.
#[derive(Clone, Debug)]
pub struct Event {
    /// The canonical channel, e.g. `content_types.blog.entries.create`.
    pub channel: String,
    /// Further channel names a webhook may subscribe with to receive it.
    pub also: Vec<String>,
    /// Contentstack's `module` (`entry`, `asset`, `management_token`, …).
    pub module: String,
    /// Contentstack's `event` (`create`, `update`, `delete`, `publish`, …).
    pub event: String,
    /// The event's `data` (e.g. `{"entry": {…}, "content_type": {"uid": …}}`).
    pub data: Value,
}

impl Event {
    /// Any event: `channel` is the name webhooks subscribe with.
    pub fn new(channel: &str, module: &str, event: &str, data: Value) -> Event {
        Event {
            channel: channel.to_string(),
            also: Vec::new(),
            module: module.to_string(),
            event: event.to_string(),
            data,
        }
    }

    /// Another channel name that also receives this event.
    pub fn also_on(mut self, channel: impl Into<String>) -> Event {
        self.also.push(channel.into());
        self
    }

    /// An entry event (`create`, `update`, `delete`, `publish`, `unpublish`, or another action
    /// such as `workflow_stage_change` or `publish_request`): channels
    /// `content_types.{ct}.entries.{action}` and `content_types.entries.{action}`.
    pub fn entry(action: &str, content_type_uid: &str, entry: Value) -> Event {
        Event::new(
            &format!("content_types.{content_type_uid}.entries.{action}"),
            "entry",
            action,
            json!({ "entry": entry, "content_type": { "uid": content_type_uid } }),
        )
        .also_on(format!("content_types.entries.{action}"))
    }

    /// Adds `key` to the event's `data` (beside `entry` or `asset`).
    pub fn with(mut self, key: &str, value: Value) -> Event {
        if let Value::Object(m) = &mut self.data {
            m.insert(key.to_string(), value);
        }
        self
    }

    /// An asset event: channel `assets.{action}`.
    pub fn asset(action: &str, asset: Value) -> Event {
        Event::new(
            &format!("assets.{action}"),
            "asset",
            action,
            json!({ "asset": asset }),
        )
    }

    /// Publish or unpublish details: the environments and locales concerned, and the
    /// environment-specific channels (`content_types.entries.environments.{env}.publish.success`,
    /// `assets.environments.{env}.publish.success`).
    pub fn on_environments(mut self, environments: &[String], locales: &[String]) -> Event {
        let base = if self.module == "asset" {
            "assets"
        } else {
            "content_types.entries"
        };
        for env in environments {
            let ch = format!("{base}.environments.{env}.{}.success", self.event);
            self.also.push(ch);
        }
        if let Value::Object(m) = &mut self.data {
            m.insert("environments".into(), json!(environments));
            m.insert("locales".into(), json!(locales));
        }
        self
    }

    /// Binds the event to a stack and branch, with Contentstack's delivery envelope.
    pub fn into_out(self, stack_uid: &str, api_key: &str, branch: &str) -> OutEvent {
        let mut data = self.data;
        if let Value::Object(m) = &mut data {
            m.insert("branch".into(), json!({ "uid": branch }));
        }
        let envelope = |data: Value| {
            json!({
                "triggered_at": clock::now(),
                "module": self.module,
                "api_key": api_key,
                "event": self.event,
                "data": data,
            })
        };
        let concise = envelope(concise(&data));
        let payload = envelope(data);
        let mut matches = vec![self.channel.clone()];
        matches.extend(self.also);
        OutEvent {
            stack_uid: stack_uid.to_string(),
            branch: branch.to_string(),
            channel: self.channel,
            matches,
            payload,
            concise,
        }
    }
}

/// The keys a concise payload keeps of each object in `data`.
const CONCISE_KEYS: &[&str] = &[
    "uid",
    "title",
    "name",
    "locale",
    "_version",
    "content_type_uid",
    "filename",
    "url",
    "code",
    "expires_on",
];

/// `data` with each object reduced to its identifying fields.
fn concise(data: &Value) -> Value {
    let Value::Object(m) = data else {
        return data.clone();
    };
    let mut out = Map::new();
    for (k, v) in m {
        let v = match v {
            Value::Object(o) => Value::Object(
                o.iter()
                    .filter(|(k, _)| CONCISE_KEYS.contains(&k.as_str()))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            ),
            other => other.clone(),
        };
        out.insert(k.clone(), v);
    }
    Value::Object(out)
}

/// Enqueues `event` for the webhooks of the request's stack, on the request's branch, in the
/// caller's open write transaction. Nothing is sent if the transaction rolls back.
pub async fn emit<'e>(c: impl Into<Exec<'e>>, ctx: &StackCtx, event: Event) -> ApiResult<()> {
    let mut c = c.into();
    let out = event.into_out(&ctx.stack.uid, &ctx.stack.api_key, &ctx.branch);
    webhooks::enqueue(&mut c, &out).await?;
    Ok(())
}

/// [`emit`] with the stack's enabled webhooks already read (`webhooks::stage_lookup`, in the
/// same transaction): nothing is written when none is subscribed.
pub async fn emit_to<'e>(
    c: impl Into<headwater_store::Exec<'e>>,
    ctx: &StackCtx,
    hooks: &[webhooks::Webhook],
    event: Event,
) -> ApiResult<()> {
    let out = event.into_out(&ctx.stack.uid, &ctx.stack.api_key, &ctx.branch);
    webhooks::enqueue_to(c, hooks, &out).await?;
    Ok(())
}

/// [`emit`] for work that has no request (the expiry-notice scan).
pub async fn emit_for_stack(
    c: &mut Conn,
    stack: &headwater_store::repo::stacks::Stack,
    branch: &str,
    event: Event,
) -> headwater_store::error::Result<()> {
    let out = event.into_out(&stack.uid, &stack.api_key, branch);
    webhooks::enqueue(c, &out).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_events_match_the_generic_and_the_content_type_channel() {
        let out = Event::entry(
            "create",
            "blog",
            json!({"uid": "e1", "title": "T", "body": "x"}),
        )
        .into_out("s1", "key", "main");
        assert_eq!(out.channel, "content_types.blog.entries.create");
        assert!(out
            .matches
            .contains(&"content_types.entries.create".to_string()));
        assert_eq!(out.payload["event"], "create");
        assert_eq!(out.payload["module"], "entry");
        assert_eq!(out.payload["data"]["entry"]["body"], "x");
        assert_eq!(out.payload["data"]["branch"]["uid"], "main");
        assert!(out.concise["data"]["entry"].get("body").is_none());
        assert_eq!(out.concise["data"]["entry"]["title"], "T");
    }

    #[test]
    fn publish_events_also_match_per_environment_channels() {
        let out = Event::asset("publish", json!({"uid": "a1"}))
            .on_environments(&["production".into()], &["en-us".into()])
            .into_out("s1", "key", "main");
        assert!(out
            .matches
            .contains(&"assets.environments.production.publish.success".to_string()));
        assert_eq!(out.payload["data"]["environments"][0], "production");
    }
}
