//! Publishing: every way content goes live or comes down — an entry or asset publish, a bulk
//! publish, a release deploy, an accepted publish request — is parse → plan → apply → envelope.
//!
//! - The route parses its body (with [`version`] for `version`, read one way everywhere) and
//!   authorizes through the policy (`ctx.authorize`), as before.
//! - A [`Plan`] resolves the items to (item, locale, version, environment) targets inside the
//!   write transaction, collecting every invalid setting or item by the path it was named at
//!   (`entries[1].uid`, `items[0].version`, `version`); a version that does not exist is
//!   refused the same way on every path (422, code 120, `…version`).
//! - [`Plan::apply`] writes the publications, the publish requests a rule demands instead
//!   (only for a single entry publish: bulk publishes and deploys are refused by name in the
//!   plan, since they cannot half wait for approval), one audit row per item and one webhook
//!   event per item (with the per-environment `…environments.{env}.{publish|unpublish}.success`
//!   channels of the environments where something was done).

pub(crate) mod jobs;
pub(crate) mod rules;

use crate::auth::StackCtx;
use crate::error::{ApiError, ApiResult};
use crate::events::{self, Event};
use crate::lookup::assets::asset_event;
use crate::lookup::entries::entry_json;
use crate::state::AppState;
use headwater_core::content::{self, Field, Referenced};
use headwater_core::policy::{Action, Module, Op};
use headwater_core::scope::FieldErrors;
use headwater_store::repo::environments::{self, Environment};
use headwater_store::repo::publications::{self, Target};
use headwater_store::repo::schemas::{self, Kind};
use headwater_store::repo::workflows::PublishRequest;
use headwater_store::repo::{assets, audit, entries, locales, Conn};
use headwater_store::Exec;
use rules::PublishRules;
use serde_json::{json, Map, Value};
use std::collections::{HashMap, HashSet};

/// How many levels of references a nested publish follows (Contentstack's default depth).
pub(crate) const NESTED_DEPTH: usize = 5;

/// Whether a request asks for nested-reference publishing: `?nested=true` (what the
/// JavaScript client sends with `is_nested`) or `"publish_with_reference": true` in the body.
pub(crate) fn nested_requested(
    q: &crate::body::Query,
    body: &serde_json::Map<String, Value>,
) -> bool {
    q.flag("nested")
        || matches!(body.get("publish_with_reference"), Some(Value::Bool(true)))
        || body.get("publish_with_reference").and_then(Value::as_str) == Some("true")
}

/// What `version` must be, wherever it is given.
pub(crate) const VERSION_FORMAT: &str = "must be a whole number of at least 1.";

/// `version` as every publish path reads it: absent, `null` or `""` mean the current version;
/// otherwise a whole number of at least 1, as a JSON number or a string of digits (the
/// JavaScript client passes the value it is given through unchanged, and its bulk examples send
/// `'{{version}}'`). Anything else is refused with [`VERSION_FORMAT`].
pub(crate) fn version(v: Option<&Value>) -> Result<Option<i64>, &'static str> {
    let n = match v {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(s)) if s.is_empty() => return Ok(None),
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::String(s)) if s.bytes().all(|b| b.is_ascii_digit()) => s.parse().ok(),
        Some(_) => None,
    };
    n.filter(|n| *n >= 1).map(Some).ok_or(VERSION_FORMAT)
}

/// The path of `field` of an item named at `at` (`""` for the body itself).
pub(crate) fn path(at: &str, field: &str) -> String {
    if at.is_empty() {
        field.to_string()
    } else {
        format!("{at}.{field}")
    }
}

/// One publish request as every answer shows it: the 202 of a publish under a rule, the
/// entry's `GET …/workflow`, the assignments, and the `publish_request` webhook event.
pub(crate) fn request_json(r: &PublishRequest, env_name: &str) -> Value {
    json!({
        "uid": r.uid,
        "publishing_rule": r.rule_uid,
        "action": r.action,
        "environment": r.environment_uid,
        "environment_name": env_name,
        "locale": r.locale,
        "version": r.version,
        "status": r.status,
        "comment": r.comment,
        "requested_by": r.requested_by,
        "requested_at": r.requested_at,
        "decided_by": r.decided_by,
        "decided_at": r.decided_at,
        "decision_comment": r.decision_comment,
        "content_type": r.content_type_uid,
        "entry": r.entry_uid,
    })
}

/// The name of an environment given by uid (the uid itself once the environment is gone).
pub(crate) async fn env_name(c: &mut Conn, ctx: &StackCtx, uid: &str) -> ApiResult<String> {
    Ok(environments::by_name(c, &ctx.stack.uid, uid)
        .await?
        .map(|e| e.name)
        .unwrap_or_else(|| uid.to_string()))
}

/// What publish rules do to a plan.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Gate {
    /// A single entry publish: a target a rule holds becomes a publish request.
    Request,
    /// Bulk publish and release deploy: a target a rule would hold refuses the whole plan.
    Refuse,
    /// Bulk publish with `approvals` or `skip_workflow_stage_check`: a target a rule would
    /// hold is left out, the rest goes ahead (Contentstack's "publish the entries that do not
    /// require an approval").
    Skip,
    /// An accepted publish request: the approval has been given.
    Approved,
}

/// An entry to plan: `uid` of `content_type`, named at `at`, published in `locales` from the
/// locale's own version, else `fallback`'s, else the master locale's.
pub(crate) struct EntryItem<'a> {
    pub at: &'a str,
    pub content_type: &'a str,
    pub uid: &'a str,
    pub fallback: Option<&'a str>,
    pub version: Option<i64>,
}

struct Step {
    locale: String,
    source_locale: Option<String>,
    version: i64,
    env: Environment,
}

struct Planned {
    /// Where the item was named (`entries[0]`, `entries[0].references.blt1`, `""`).
    at: String,
    item_type: &'static str,
    uid: String,
    title: String,
    content_type: Option<String>,
    publish: bool,
    event: Event,
    steps: Vec<Step>,
}

/// Items resolved to targets, or the reasons they cannot be.
pub(crate) struct Plan {
    gate: Gate,
    rules: Option<PublishRules>,
    items: Vec<Planned>,
    pub errors: FieldErrors,
}

/// What applying a plan did.
pub(crate) struct Outcome {
    /// Publications written or removed.
    pub performed: usize,
    /// The publish requests sent instead ([`request_json`]).
    pub requests: Vec<Value>,
}

impl Plan {
    pub(crate) async fn new<'e>(
        c: impl Into<Exec<'e>>,
        ctx: &StackCtx,
        gate: Gate,
    ) -> ApiResult<Plan> {
        let mut c = c.into();
        let rules = match gate {
            Gate::Approved => None,
            Gate::Request | Gate::Refuse | Gate::Skip => {
                Some(PublishRules::load(&mut c, ctx).await?)
            }
        };
        Ok(Plan {
            gate,
            rules,
            items: Vec::new(),
            errors: FieldErrors::new(),
        })
    }

    pub(crate) fn add(&mut self, field: &str, message: impl Into<String>) {
        self.errors
            .entry(field.to_string())
            .or_default()
            .push(message.into());
    }

    /// The environments (of the stack, by name or uid); an unknown one is an error at `key(i)`.
    pub(crate) async fn environments<'e>(
        &mut self,
        c: impl Into<Exec<'e>>,
        ctx: &StackCtx,
        names: &[String],
        key: impl Fn(usize) -> String,
    ) -> ApiResult<Vec<Environment>> {
        let mut c = c.into();
        let mut out = Vec::new();
        for (i, name) in names.iter().enumerate() {
            match environments::by_name(&mut c, &ctx.stack.uid, name).await? {
                Some(env) => out.push(env),
                None => self.add(
                    &key(i),
                    format!("'{name}' is not an environment of this stack."),
                ),
            }
        }
        Ok(out)
    }

    /// Checks the locales (of the branch); an unknown one is an error at `key(i)`.
    pub(crate) async fn locales<'e>(
        &mut self,
        c: impl Into<Exec<'e>>,
        ctx: &StackCtx,
        codes: &[String],
        key: impl Fn(usize) -> String,
    ) -> ApiResult<()> {
        let mut c = c.into();
        for (i, code) in codes.iter().enumerate() {
            if locales::by_code(&mut c, &ctx.space, code).await?.is_none() {
                self.add(&key(i), format!("'{code}' is not a locale of this stack."));
            }
        }
        Ok(())
    }

    /// Plans an entry in every locale of `codes` on every environment of `envs`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn entry<'e>(
        &mut self,
        c: impl Into<Exec<'e>>,
        ctx: &StackCtx,
        item: &EntryItem<'_>,
        codes: &[String],
        envs: &[Environment],
        publish: bool,
    ) -> ApiResult<()> {
        let mut c = c.into();
        let (space, ct, uid) = (&ctx.space, item.content_type, item.uid);
        if !schemas::exists(&mut c, space, Kind::ContentType, ct).await? {
            self.add(
                &path(item.at, "content_type"),
                format!("content type '{ct}' doesn't exist."),
            );
            return Ok(());
        }
        let master = ctx.stack.master_locale.as_str();
        let mut steps = Vec::new();
        let mut last = None;
        for code in codes {
            let mut found = entries::get(&mut c, space, ct, uid, code).await?;
            for fallback in [item.fallback, Some(master)].into_iter().flatten() {
                if found.is_none() {
                    found = entries::get(&mut c, space, ct, uid, fallback).await?;
                }
            }
            let Some(entry) = found else {
                self.add(
                    &path(item.at, "uid"),
                    format!("entry '{uid}' of content type '{ct}' doesn't exist."),
                );
                return Ok(());
            };
            let v = item.version.unwrap_or(entry.version);
            if publish
                && entries::version(&mut c, space, uid, &entry.locale, v)
                    .await?
                    .is_none()
            {
                self.add(
                    &path(item.at, "version"),
                    format!("version {v} of entry '{uid}' doesn't exist."),
                );
                return Ok(());
            }
            for env in envs {
                if matches!(self.gate, Gate::Refuse | Gate::Skip) {
                    let rules = self.rules.as_ref().expect("rules are loaded to refuse");
                    if let Some(rule) = rules.blocking(ctx, ct, code, &env.uid, publish) {
                        if self.gate == Gate::Skip {
                            continue;
                        }
                        let (rule, at) = (rule.uid.clone(), item.at.to_string());
                        self.add(
                            if at.is_empty() { "entry" } else { &at },
                            format!(
                                "publish rule '{rule}' needs approval to {} entry '{uid}' on '{}' ({code}); send a publish request instead.",
                                action(publish), env.name
                            ),
                        );
                        continue;
                    }
                }
                steps.push(Step {
                    locale: code.clone(),
                    source_locale: Some(entry.locale.clone()),
                    version: v,
                    env: env.clone(),
                });
            }
            last = Some(entry);
        }
        let Some(entry) = last else { return Ok(()) };
        if self.gate == Gate::Skip && steps.is_empty() {
            // Every target is held by a rule: nothing to do for this entry.
            return Ok(());
        }
        self.items.push(Planned {
            at: item.at.to_string(),
            item_type: "entry",
            uid: uid.to_string(),
            title: entry.title.clone(),
            content_type: Some(ct.to_string()),
            publish,
            event: Event::entry(action(publish), ct, entry_json(&entry, None)),
            steps,
        });
        Ok(())
    }

    /// Plans an asset in every locale of `codes` on every environment of `envs`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn asset<'e>(
        &mut self,
        state: &AppState,
        c: impl Into<Exec<'e>>,
        ctx: &StackCtx,
        at: &str,
        uid: &str,
        version: Option<i64>,
        codes: &[String],
        envs: &[Environment],
        publish: bool,
    ) -> ApiResult<()> {
        let mut c = c.into();
        let Some(a) = assets::get(&mut c, &ctx.space, uid)
            .await?
            .filter(|a| !a.is_dir)
        else {
            self.add(&path(at, "uid"), format!("asset '{uid}' doesn't exist."));
            return Ok(());
        };
        let v = version.unwrap_or(a.version);
        // Asset versions run from 1 to the current one.
        if publish && v > a.version {
            self.add(
                &path(at, "version"),
                format!("version {v} of asset '{uid}' doesn't exist."),
            );
            return Ok(());
        }
        let mut steps = Vec::new();
        for code in codes {
            for env in envs {
                steps.push(Step {
                    locale: code.clone(),
                    source_locale: None,
                    version: v,
                    env: env.clone(),
                });
            }
        }
        self.items.push(Planned {
            at: at.to_string(),
            item_type: "asset",
            uid: a.uid.clone(),
            title: a.title.clone(),
            content_type: None,
            publish,
            event: asset_event(state, ctx, action(publish), &a),
            steps,
        });
        Ok(())
    }

    /// Nested-reference publishing (`?nested=true`, `publish_with_reference`): adds to the plan
    /// the entries and assets its entries refer to ([`content::references_in`]), and theirs,
    /// down to [`NESTED_DEPTH`] levels, in the same locales and environments, each at its
    /// latest version. As Contentstack does, a reference already live at its latest version on
    /// every target (for an unpublish: live on none) is left out and not followed further; a
    /// reference to something that no longer exists is skipped. Each reference is authorized
    /// as its own publish would be; a refusal is an error of the item that led to it
    /// (`entries[0].references.<uid>`).
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn references<'e>(
        &mut self,
        state: &AppState,
        c: impl Into<Exec<'e>>,
        ctx: &StackCtx,
        codes: &[String],
        envs: &[Environment],
        publish: bool,
    ) -> ApiResult<()> {
        let mut c = c.into();
        let env_names: Vec<String> = envs.iter().map(|e| e.name.clone()).collect();
        let mut seen: HashSet<(&'static str, String)> = self
            .items
            .iter()
            .map(|i| (i.item_type, i.uid.clone()))
            .collect();
        let mut frontier: Vec<usize> = (0..self.items.len())
            .filter(|i| self.items[*i].item_type == "entry")
            .collect();
        let mut schemas: HashMap<String, Option<Vec<Field>>> = HashMap::new();
        for _depth in 0..NESTED_DEPTH {
            let mut next = Vec::new();
            for i in frontier {
                let (at, ct, uid) = {
                    let it = &self.items[i];
                    let ct = it.content_type.clone().unwrap_or_default();
                    (it.at.clone(), ct, it.uid.clone())
                };
                let mut sources: Vec<(String, i64)> = Vec::new();
                for s in &self.items[i].steps {
                    let src = (s.source_locale.clone().unwrap_or_default(), s.version);
                    if !sources.contains(&src) {
                        sources.push(src);
                    }
                }
                if !schemas.contains_key(&ct) {
                    let fields = crate::lookup::entries::content_type(&mut c, ctx, &ct)
                        .await
                        .ok();
                    schemas.insert(ct.clone(), fields);
                }
                let Some(Some(fields)) = schemas.get(&ct) else {
                    continue;
                };
                let fields = fields.clone();
                let mut refs = Vec::new();
                for (locale, version) in &sources {
                    if let Some((doc, _, _)) =
                        entries::version(&mut c, &ctx.space, &uid, locale, *version).await?
                    {
                        for r in
                            content::references_in(&fields, doc.as_object().unwrap_or(&Map::new()))
                        {
                            if !refs.contains(&r) {
                                refs.push(r);
                            }
                        }
                    }
                }
                for r in refs {
                    let (kind, ref_uid) = match &r {
                        Referenced::Entry { uid, .. } => ("entry", uid.clone()),
                        Referenced::Asset { uid } => ("asset", uid.clone()),
                    };
                    if !seen.insert((kind, ref_uid.clone())) {
                        continue;
                    }
                    let ref_at = path(&at, &format!("references.{ref_uid}"));
                    let before = self.items.len();
                    match r {
                        Referenced::Entry { uid, content_type } => {
                            let ct = match content_type {
                                Some(ct) => Some(ct),
                                None => entries::content_type_of(&mut c, &ctx.space, &uid).await?,
                            };
                            let Some(ct) = ct else { continue };
                            let Some(current) =
                                self.current_entry(&mut c, ctx, &ct, &uid, codes).await?
                            else {
                                continue;
                            };
                            if self
                                .settled(&mut c, ctx, "entry", &uid, &current, codes, envs, publish)
                                .await?
                            {
                                continue;
                            }
                            let action = Action::new(Module::Entries, Op::Publish)
                                .on_content_type(&ct)
                                .to_environments(&env_names);
                            if let Err(e) = ctx.authorize(&action) {
                                self.add(
                                    &ref_at,
                                    format!(
                                        "referenced entry '{uid}' of content type '{ct}': {}",
                                        e.message
                                    ),
                                );
                                continue;
                            }
                            let item = EntryItem {
                                at: &ref_at,
                                content_type: &ct,
                                uid: &uid,
                                fallback: None,
                                version: None,
                            };
                            self.entry(&mut c, ctx, &item, codes, envs, publish).await?;
                            if self.items.len() > before {
                                next.push(before);
                            }
                        }
                        Referenced::Asset { uid } => {
                            let Some(a) = assets::get(&mut c, &ctx.space, &uid)
                                .await?
                                .filter(|a| !a.is_dir)
                            else {
                                continue;
                            };
                            let current = vec![a.version; codes.len()];
                            if self
                                .settled(&mut c, ctx, "asset", &uid, &current, codes, envs, publish)
                                .await?
                            {
                                continue;
                            }
                            let action = Action::new(Module::Assets, Op::Publish)
                                .to_environments(&env_names);
                            if let Err(e) = ctx.authorize(&action) {
                                self.add(
                                    &ref_at,
                                    format!("referenced asset '{uid}': {}", e.message),
                                );
                                continue;
                            }
                            self.asset(
                                state, &mut c, ctx, &ref_at, &uid, None, codes, envs, publish,
                            )
                            .await?;
                        }
                    }
                }
            }
            if next.is_empty() {
                break;
            }
            frontier = next;
        }
        Ok(())
    }

    /// The latest version of an entry in each locale of `codes` (the master locale's where it
    /// is not localized); `None` when the entry does not exist.
    async fn current_entry<'e>(
        &self,
        c: impl Into<Exec<'e>>,
        ctx: &StackCtx,
        ct: &str,
        uid: &str,
        codes: &[String],
    ) -> ApiResult<Option<Vec<i64>>> {
        let mut c = c.into();
        let master = ctx.stack.master_locale.as_str();
        let mut out = Vec::new();
        for code in codes {
            let mut found = entries::get(&mut c, &ctx.space, ct, uid, code).await?;
            if found.is_none() {
                found = entries::get(&mut c, &ctx.space, ct, uid, master).await?;
            }
            match found {
                Some(e) => out.push(e.version),
                None => return Ok(None),
            }
        }
        Ok(Some(out))
    }

    /// Whether nothing is left to do for a reference: for a publish, live at `versions` (one
    /// per locale of `codes`) on every environment; for an unpublish, live on none of them.
    #[allow(clippy::too_many_arguments)]
    async fn settled<'e>(
        &self,
        c: impl Into<Exec<'e>>,
        ctx: &StackCtx,
        item_type: &str,
        uid: &str,
        versions: &[i64],
        codes: &[String],
        envs: &[Environment],
        publish: bool,
    ) -> ApiResult<bool> {
        let mut c = c.into();
        let pubs =
            publications::of_items(&mut c, &ctx.space, item_type, &[uid.to_string()]).await?;
        let live = |code: &str, env: &str| {
            pubs.iter()
                .find(|p| p.locale == code && p.environment_uid == env)
                .map(|p| p.version)
        };
        Ok(codes.iter().zip(versions).all(|(code, v)| {
            envs.iter().all(|env| {
                let now = live(code, &env.uid);
                if publish {
                    now == Some(*v)
                } else {
                    now.is_none()
                }
            })
        }))
    }

    /// The errors as one answer for a single item's publish: the first names the message, all
    /// are listed.
    pub(crate) fn refusal(&self) -> Option<ApiError> {
        let mut all = self
            .errors
            .iter()
            .flat_map(|(k, ms)| ms.iter().map(move |m| (k, m)));
        let (k, m) = all.next()?;
        let mut e = ApiError::invalid(k, m.clone());
        for (k, m) in all {
            e = e.field(k, m.clone());
        }
        Some(e)
    }

    /// Writes the plan in the caller's transaction: publications (or, under [`Gate::Request`],
    /// the publish requests a rule demands), one audit row and one webhook event per item.
    pub(crate) async fn apply<'e>(
        self,
        c: impl Into<Exec<'e>>,
        ctx: &StackCtx,
    ) -> ApiResult<Outcome> {
        let mut c = c.into();
        debug_assert!(self.errors.is_empty(), "a plan with errors is not applied");
        let actor = ctx.actor();
        let mut out = Outcome {
            performed: 0,
            requests: Vec::new(),
        };
        for item in self.items {
            let mut envs: Vec<String> = Vec::new();
            let mut codes: Vec<String> = Vec::new();
            for s in &item.steps {
                if let (Gate::Request, Some(ct), Some(rules)) =
                    (self.gate, item.content_type.as_deref(), self.rules.as_ref())
                {
                    let held = rules
                        .gate(
                            &mut c,
                            ctx,
                            ct,
                            &item.uid,
                            &s.locale,
                            s.version,
                            &s.env.uid,
                            item.publish,
                        )
                        .await?;
                    if let Some((req, _)) = held {
                        let request = request_json(&req, &s.env.name);
                        let data = item.event.data.get("entry").cloned().unwrap_or_default();
                        events::emit(
                            &mut c,
                            ctx,
                            Event::entry("publish_request", ct, data)
                                .with("publish_request", request.clone()),
                        )
                        .await?;
                        out.requests.push(request);
                        continue;
                    }
                }
                let target = Target {
                    stack_uid: &ctx.space,
                    item_type: item.item_type,
                    item_uid: &item.uid,
                    content_type_uid: item.content_type.as_deref(),
                    locale: &s.locale,
                    environment_uid: &s.env.uid,
                    source_locale: s.source_locale.as_deref(),
                };
                if item.publish {
                    publications::publish(&mut c, &target, s.version, &actor).await?;
                } else {
                    publications::unpublish(&mut c, &target).await?;
                }
                out.performed += 1;
                if !envs.contains(&s.env.name) {
                    envs.push(s.env.name.clone());
                }
                if !codes.contains(&s.locale) {
                    codes.push(s.locale.clone());
                }
            }
            audit::record(
                &mut c,
                &actor,
                ctx.audit(action(item.publish), item.item_type, &item.uid, &item.title),
            )
            .await?;
            if !envs.is_empty() {
                events::emit(&mut c, ctx, item.event.on_environments(&envs, &codes)).await?;
            }
        }
        Ok(out)
    }
}

fn action(publish: bool) -> &'static str {
    if publish {
        "publish"
    } else {
        "unpublish"
    }
}

/// The entries and assets the entry `uid` of `ct` refers to in `locale` (its master-locale
/// content where it is not localized), and what those refer to, down to [`NESTED_DEPTH`]
/// levels: `(Some(content type), uid)` for an entry, `(None, uid)` for an asset. Only items
/// that exist are listed, each once, the entry itself never. For adding to a release with
/// references, where no environment says what is already live.
pub(crate) async fn reference_closure<'e>(
    c: impl Into<Exec<'e>>,
    ctx: &StackCtx,
    ct: &str,
    uid: &str,
    locale: &str,
) -> ApiResult<Vec<(Option<String>, String)>> {
    let mut c = c.into();
    let master = ctx.stack.master_locale.clone();
    let mut out: Vec<(Option<String>, String)> = Vec::new();
    let mut seen: HashSet<String> = HashSet::from([uid.to_string()]);
    let mut schemas: HashMap<String, Option<Vec<Field>>> = HashMap::new();
    let mut frontier = vec![(ct.to_string(), uid.to_string())];
    for _depth in 0..NESTED_DEPTH {
        let mut next = Vec::new();
        for (ct, uid) in frontier {
            let mut found = entries::get(&mut c, &ctx.space, &ct, &uid, locale).await?;
            if found.is_none() {
                found = entries::get(&mut c, &ctx.space, &ct, &uid, &master).await?;
            }
            let Some(entry) = found else { continue };
            if !schemas.contains_key(&ct) {
                let fields = crate::lookup::entries::content_type(&mut c, ctx, &ct)
                    .await
                    .ok();
                schemas.insert(ct.clone(), fields);
            }
            let Some(Some(fields)) = schemas.get(&ct) else {
                continue;
            };
            let empty = Map::new();
            let refs = content::references_in(fields, entry.doc.as_object().unwrap_or(&empty));
            for r in refs {
                match r {
                    Referenced::Entry { uid, content_type } => {
                        if !seen.insert(uid.clone()) {
                            continue;
                        }
                        let ct = match content_type {
                            Some(ct) => Some(ct),
                            None => entries::content_type_of(&mut c, &ctx.space, &uid).await?,
                        };
                        let Some(ct) = ct else { continue };
                        if entries::content_type_of(&mut c, &ctx.space, &uid)
                            .await?
                            .as_deref()
                            != Some(ct.as_str())
                        {
                            continue;
                        }
                        out.push((Some(ct.clone()), uid.clone()));
                        next.push((ct, uid));
                    }
                    Referenced::Asset { uid } => {
                        if !seen.insert(uid.clone()) {
                            continue;
                        }
                        if assets::get(&mut c, &ctx.space, &uid)
                            .await?
                            .is_some_and(|a| !a.is_dir)
                        {
                            out.push((None, uid));
                        }
                    }
                }
            }
        }
        if next.is_empty() {
            break;
        }
        frontier = next;
    }
    Ok(out)
}

/// Carries out an accepted publish request: the plan and apply of a publish, with the approval
/// given.
pub(crate) async fn carry_out(c: &mut Conn, ctx: &StackCtx, r: &PublishRequest) -> ApiResult<()> {
    let mut plan = Plan::new(&mut *c, ctx, Gate::Approved).await?;
    let envs = plan
        .environments(
            &mut *c,
            ctx,
            std::slice::from_ref(&r.environment_uid),
            |_| "environment".into(),
        )
        .await?;
    if plan.errors.is_empty() {
        let item = EntryItem {
            at: "",
            content_type: &r.content_type_uid,
            uid: &r.entry_uid,
            fallback: None,
            version: Some(r.version),
        };
        let codes = std::slice::from_ref(&r.locale);
        plan.entry(&mut *c, ctx, &item, codes, &envs, r.action == "publish")
            .await?;
    }
    if let Some(e) = plan.refusal() {
        return Err(e);
    }
    plan.apply(c, ctx).await?;
    Ok(())
}
