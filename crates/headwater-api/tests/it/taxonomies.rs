//! Taxonomies and terms on both backends: the term tree (create, move, ancestors, descendants,
//! depth limits, refusal of cycles and unknown parents), export and import, entries tagged
//! with terms, entry queries by taxonomy checked against a full scan, and management tokens
//! with and without the `taxonomy` scope.

use headwater_testkit::{assert_error, on_both_backends, send, TestApp};
use reqwest::multipart::{Form, Part};
use reqwest::Method;
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};

on_both_backends!(
    taxonomies_and_term_trees,
    entries_are_tagged_and_queried_by_taxonomy,
    management_tokens_need_the_taxonomy_scope,
);

struct World {
    owner: String,
    api_key: String,
}

async fn world(app: &TestApp) -> World {
    let (_, org) = app.owner("owner@example.com").await;
    let owner = app.login("owner@example.com").await;
    let api_key = app.stack(&owner, &org, "Site").await;
    World { owner, api_key }
}

impl World {
    fn u(&self, app: &TestApp, m: Method, p: &str) -> reqwest::RequestBuilder {
        app.as_user(m, p, &self.owner, &self.api_key)
    }

    async fn taxonomy(&self, app: &TestApp, uid: &str) {
        let (s, b) = send(self.u(app, Method::POST, "/v3/taxonomies").json(
            &json!({"taxonomy": {"uid": uid, "name": uid.to_uppercase(), "description": "d"}}),
        ))
        .await;
        assert_eq!(s, 201, "{b}");
        assert_eq!(b["notice"], "Taxonomy created successfully.");
        assert_eq!(b["taxonomy"]["uid"], uid);
    }

    async fn term(&self, app: &TestApp, tax: &str, uid: &str, parent: Option<&str>) -> Value {
        let (s, b) = send(
            self.u(app, Method::POST, &format!("/v3/taxonomies/{tax}/terms"))
                .json(&json!({"term": {"uid": uid, "name": format!("Term {uid}"), "parent_uid": parent}})),
        )
        .await;
        assert_eq!(s, 201, "{b}");
        b["term"].clone()
    }

    async fn get(&self, app: &TestApp, p: &str) -> Value {
        let (s, b) = send(self.u(app, Method::GET, p)).await;
        assert_eq!(s, 200, "{p}: {b}");
        b
    }
}

fn uids(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|t| t["uid"].as_str().unwrap().to_string())
        .collect()
}

async fn taxonomies_and_term_trees(app: TestApp) {
    let w = world(&app).await;
    w.taxonomy(&app, "regions").await;
    let (s, b) = send(
        w.u(&app, Method::POST, "/v3/taxonomies")
            .json(&json!({"taxonomy": {"uid": "regions", "name": "Again"}})),
    )
    .await;
    assert_error(s, &b, 422, 120);
    let (s, b) = send(
        w.u(&app, Method::POST, "/v3/taxonomies")
            .json(&json!({"taxonomy": {"uid": "Bad Uid", "name": "x"}})),
    )
    .await;
    assert_error(s, &b, 422, 120);

    // europe > france > paris; europe > spain; asia
    let europe = w.term(&app, "regions", "europe", None).await;
    assert_eq!(europe["depth"], 1);
    assert_eq!(europe["parent_uid"], Value::Null);
    assert_eq!(europe["taxonomy_uid"], "regions");
    let france = w.term(&app, "regions", "france", Some("europe")).await;
    assert_eq!(france["depth"], 2);
    assert_eq!(france["parent_uid"], "europe");
    assert_eq!(
        w.term(&app, "regions", "paris", Some("france")).await["depth"],
        3
    );
    w.term(&app, "regions", "spain", Some("europe")).await;
    w.term(&app, "regions", "asia", None).await;
    // An unknown parent, a taken uid, an unknown taxonomy.
    let (s, b) = send(
        w.u(&app, Method::POST, "/v3/taxonomies/regions/terms")
            .json(&json!({"term": {"uid": "x", "name": "X", "parent_uid": "nowhere"}})),
    )
    .await;
    assert_error(s, &b, 422, 120);
    assert!(b["errors"]["parent_uid"].is_array(), "{b}");
    let (s, b) = send(
        w.u(&app, Method::POST, "/v3/taxonomies/regions/terms")
            .json(&json!({"term": {"uid": "paris", "name": "Paris"}})),
    )
    .await;
    assert_error(s, &b, 422, 120);
    let (s, b) = send(
        w.u(&app, Method::POST, "/v3/taxonomies/nope/terms")
            .json(&json!({"term": {"uid": "x", "name": "X"}})),
    )
    .await;
    assert_error(s, &b, 422, 141);

    // Fetch, counts, list.
    let b = w
        .get(&app, "/v3/taxonomies/regions?include_terms_count=true")
        .await;
    assert_eq!(b["taxonomy"]["terms_count"], 5);
    let b = w
        .get(
            &app,
            "/v3/taxonomies?include_count=true&include_terms_count=true",
        )
        .await;
    assert_eq!(b["count"], 1);
    assert_eq!(b["taxonomies"][0]["terms_count"], 5);
    let b = w
        .get(
            &app,
            "/v3/taxonomies/regions/terms/europe?include_children_count=true",
        )
        .await;
    assert_eq!(b["term"]["children_count"], 2);
    let b = w
        .get(
            &app,
            "/v3/taxonomies/regions/terms/paris?include_ancestors=true",
        )
        .await;
    let chain: Vec<(String, String)> = b["term"]["ancestors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["uid"].as_str().unwrap().into(),
                a["type"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        chain,
        vec![
            ("regions".to_string(), "TAXONOMY".to_string()),
            ("europe".into(), "TERM".into()),
            ("france".into(), "TERM".into())
        ]
    );
    let b = w
        .get(&app, "/v3/taxonomies/regions/terms?include_count=true")
        .await;
    assert_eq!(b["count"], 5);
    assert_eq!(
        uids(&b["terms"]),
        ["europe", "france", "paris", "spain", "asia"]
    );
    let b = w.get(&app, "/v3/taxonomies/regions/terms?depth=1").await;
    assert_eq!(uids(&b["terms"]), ["europe", "asia"]);
    let b = w
        .get(&app, "/v3/taxonomies/regions/terms?typeahead=PAR")
        .await;
    assert_eq!(uids(&b["terms"]), ["paris"]);

    // Ancestors and descendants, with a depth limit.
    let b = w
        .get(&app, "/v3/taxonomies/regions/terms/paris/ancestors")
        .await;
    assert_eq!(uids(&b["terms"]), ["europe", "france"]);
    let b = w
        .get(&app, "/v3/taxonomies/regions/terms/europe/descendants")
        .await;
    assert_eq!(uids(&b["terms"]), ["france", "paris", "spain"]);
    let b = w
        .get(
            &app,
            "/v3/taxonomies/regions/terms/europe/descendants?depth=1",
        )
        .await;
    assert_eq!(uids(&b["terms"]), ["france", "spain"]);

    // Search across taxonomies.
    w.taxonomy(&app, "topics").await;
    w.term(&app, "topics", "parsing", None).await;
    let b = w
        .get(&app, "/v3/taxonomies/$all/terms?typeahead=pars")
        .await;
    let found: HashSet<String> = uids(&b["terms"]).into_iter().collect();
    assert_eq!(found, HashSet::from(["parsing".to_string()]));
    let b = w.get(&app, "/v3/taxonomies/$all/terms?typeahead=ar").await;
    let found: HashSet<String> = uids(&b["terms"]).into_iter().collect();
    assert_eq!(
        found,
        HashSet::from(["paris".to_string(), "parsing".to_string()])
    );

    // Moves: a cycle, an unknown parent and an overflow are refused; a move carries the
    // subtree and its depths.
    let mv = |term: &str, body: Value| {
        w.u(
            &app,
            Method::PUT,
            &format!("/v3/taxonomies/regions/terms/{term}/move?force=true"),
        )
        .json(&json!({ "term": body }))
    };
    for parent in ["paris", "europe"] {
        let (s, b) = send(mv("europe", json!({"parent_uid": parent}))).await;
        assert_error(s, &b, 422, 120);
    }
    let (s, b) = send(mv("france", json!({"parent_uid": "atlantis"}))).await;
    assert_error(s, &b, 422, 120);
    let (s, b) = send(mv("france", json!({"parent_uid": "asia", "order": 1}))).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["notice"], "Term moved successfully.");
    assert_eq!(b["term"]["parent_uid"], "asia");
    assert_eq!(b["term"]["depth"], 2);
    let b = w.get(&app, "/v3/taxonomies/regions/terms/paris").await;
    assert_eq!(b["term"]["depth"], 3);
    let b = w
        .get(&app, "/v3/taxonomies/regions/terms/asia/descendants")
        .await;
    assert_eq!(uids(&b["terms"]), ["france", "paris"]);
    let b = w
        .get(&app, "/v3/taxonomies/regions/terms/europe/descendants")
        .await;
    assert_eq!(uids(&b["terms"]), ["spain"]);
    // Back to the top, first among the roots.
    let (s, b) = send(mv("france", json!({"parent_uid": null, "order": 1}))).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["term"]["depth"], 1);
    let b = w.get(&app, "/v3/taxonomies/regions/terms?depth=1").await;
    assert_eq!(uids(&b["terms"]), ["france", "europe", "asia"]);
    let b = w.get(&app, "/v3/taxonomies/regions/terms/paris").await;
    assert_eq!(b["term"]["depth"], 2);

    // Depth limit: a chain of 10 levels, and no 11th.
    let mut parent: Option<String> = None;
    for level in 1..=10 {
        let uid = format!("l{level}");
        let t = w.term(&app, "topics", &uid, parent.as_deref()).await;
        assert_eq!(t["depth"], level);
        parent = Some(uid);
    }
    let (s, b) = send(
        w.u(&app, Method::POST, "/v3/taxonomies/topics/terms")
            .json(&json!({"term": {"uid": "l11", "name": "Too deep", "parent_uid": "l10"}})),
    )
    .await;
    assert_error(s, &b, 422, 120);
    // Moving the ten-level chain under a root term would reach 11.
    let (s, b) = send(
        w.u(&app, Method::PUT, "/v3/taxonomies/topics/terms/l1/move")
            .json(&json!({"term": {"parent_uid": "parsing"}})),
    )
    .await;
    assert_error(s, &b, 422, 120);
    let (s, b) = send(
        w.u(&app, Method::PUT, "/v3/taxonomies/topics/terms/l9/move")
            .json(&json!({"term": {"parent_uid": "l1"}})),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(
        w.get(&app, "/v3/taxonomies/topics/terms/l10").await["term"]["depth"],
        3
    );

    // Rename; the parent changes only through move.
    let (s, b) = send(
        w.u(&app, Method::PUT, "/v3/taxonomies/regions/terms/spain")
            .json(&json!({"term": {"name": "España", "parent_uid": "europe"}})),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["term"]["name"], "España");
    let (s, b) = send(
        w.u(&app, Method::PUT, "/v3/taxonomies/regions/terms/spain")
            .json(&json!({"term": {"parent_uid": "asia"}})),
    )
    .await;
    assert_error(s, &b, 422, 120);

    // Export, then import as another taxonomy: the same tree.
    let exported = w.get(&app, "/v3/taxonomies/regions/export").await;
    assert_eq!(exported["taxonomy"]["uid"], "regions");
    assert_eq!(exported["terms"].as_array().unwrap().len(), 5);
    let mut file = exported.clone();
    file["taxonomy"]["uid"] = json!("regions_copy");
    let form = Form::new().part(
        "taxonomy",
        Part::bytes(file.to_string().into_bytes())
            .file_name("regions.json")
            .mime_str("application/json")
            .unwrap(),
    );
    let (s, b) = send(
        w.u(&app, Method::POST, "/v3/taxonomies/import")
            .multipart(form),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(b["taxonomy"]["uid"], "regions_copy");
    let copy = w.get(&app, "/v3/taxonomies/regions_copy/export").await;
    assert_eq!(copy["terms"], exported["terms"]);
    // An import whose term names an unknown parent creates nothing.
    let bad = json!({"taxonomy": {"uid": "broken", "name": "B"},
                     "terms": [{"uid": "a", "name": "A", "parent_uid": "zz"}]});
    let form = Form::new().part(
        "taxonomy",
        Part::bytes(bad.to_string().into_bytes()).file_name("b.json"),
    );
    let (s, b) = send(
        w.u(&app, Method::POST, "/v3/taxonomies/import")
            .multipart(form),
    )
    .await;
    assert_error(s, &b, 422, 120);
    let (s, b) = send(w.u(&app, Method::GET, "/v3/taxonomies/broken")).await;
    assert_error(s, &b, 422, 141);

    // Deletes: a term with children needs force; deletes answer 204.
    let (s, b) = send(w.u(&app, Method::DELETE, "/v3/taxonomies/regions/terms/france")).await;
    assert_error(s, &b, 422, 120);
    let r = w
        .u(
            &app,
            Method::DELETE,
            "/v3/taxonomies/regions/terms/france?force=true",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let (s, b) = send(w.u(&app, Method::GET, "/v3/taxonomies/regions/terms/paris")).await;
    assert_error(s, &b, 422, 141);
    let b = w.get(&app, "/v3/taxonomies/regions/terms?depth=1").await;
    assert_eq!(uids(&b["terms"]), ["europe", "asia"]);
    let b = w.get(&app, "/v3/taxonomies/regions/terms/asia").await;
    assert_eq!(b["term"]["order"], 2);
    let r = w
        .u(&app, Method::DELETE, "/v3/taxonomies/regions_copy")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let (s, b) = send(w.u(&app, Method::GET, "/v3/taxonomies/regions_copy/terms")).await;
    assert_error(s, &b, 422, 141);
}

/// The terms (with parents) of the test tree: c1 > c2 > c3 > c4, c1 > c5, c6 > c7.
const TREE: [(&str, Option<&str>); 7] = [
    ("c1", None),
    ("c2", Some("c1")),
    ("c3", Some("c2")),
    ("c4", Some("c3")),
    ("c5", Some("c1")),
    ("c6", None),
    ("c7", Some("c6")),
];

fn parent_of(t: &str) -> Option<&'static str> {
    TREE.iter().find(|(u, _)| *u == t).and_then(|(_, p)| *p)
}

/// The ancestors of a term, nearest first.
fn up(t: &str) -> Vec<&'static str> {
    let mut out = Vec::new();
    let mut at = parent_of(t);
    while let Some(p) = at {
        out.push(p);
        at = parent_of(p);
    }
    out
}

/// Whether an entry carrying `terms` (of the taxonomy `color`) matches an operator, by
/// walking the tree in the test (the full scan's answer).
fn scan_matches(op: &str, term: &str, levels: usize, terms: &[String]) -> bool {
    terms.iter().any(|t| match op {
        "$in" => t == term,
        "$eq_below" => t == term || up(t).iter().take(levels).any(|a| *a == term),
        "$below" => up(t).iter().take(levels).any(|a| *a == term),
        "$eq_above" => t == term || up(term).iter().take(levels).any(|a| a == t),
        "$above" => up(term).iter().take(levels).any(|a| a == t),
        _ => unreachable!(),
    })
}

async fn entries_are_tagged_and_queried_by_taxonomy(app: TestApp) {
    let w = world(&app).await;
    w.taxonomy(&app, "color").await;
    w.taxonomy(&app, "size").await;
    for (uid, parent) in TREE {
        w.term(&app, "color", uid, parent).await;
    }
    w.term(&app, "size", "small", None).await;
    w.term(&app, "size", "large", None).await;
    let (s, b) = send(w.u(&app, Method::POST, "/v3/content_types").json(&json!({"content_type": {
        "title": "Product", "uid": "product", "schema": [
            {"uid": "title", "display_name": "Title", "data_type": "text", "mandatory": true},
            {"uid": "taxonomies", "display_name": "Taxonomy", "data_type": "taxonomy", "multiple": true,
             "taxonomies": [{"taxonomy_uid": "color", "max_terms": 3}, {"taxonomy_uid": "size", "mandatory": true}]}
        ]}})))
    .await;
    assert_eq!(s, 201, "{b}");
    // A taxonomy field names existing taxonomies.
    let (s, b) = send(
        w.u(&app, Method::POST, "/v3/content_types")
            .json(&json!({"content_type": {
            "title": "Other", "uid": "other", "schema": [
                {"uid": "title", "display_name": "Title", "data_type": "text", "mandatory": true},
                {"uid": "taxonomies", "display_name": "Taxonomy", "data_type": "taxonomy",
                 "taxonomies": [{"taxonomy_uid": "color"}, {"taxonomy_uid": "shape"}]}
            ]}})),
    )
    .await;
    assert_error(s, &b, 422, 115);
    assert!(
        b["errors"]["schema[1].taxonomies[1].taxonomy_uid"].is_array(),
        "{b}"
    );
    // The field round-trips with its taxonomies.
    let b = w.get(&app, "/v3/content_types/product").await;
    assert_eq!(
        b["content_type"]["schema"][1]["taxonomies"][0]["taxonomy_uid"],
        "color"
    );

    // Refusals: an unknown term, a missing mandatory taxonomy, too many terms.
    for bad in [
        json!([{"taxonomy_uid": "color", "term_uid": "nope"}, {"taxonomy_uid": "size", "term_uid": "small"}]),
        json!([{"taxonomy_uid": "color", "term_uid": "c1"}]),
        json!([{"taxonomy_uid": "color", "term_uid": "c1"}, {"taxonomy_uid": "color", "term_uid": "c2"},
               {"taxonomy_uid": "color", "term_uid": "c3"}, {"taxonomy_uid": "color", "term_uid": "c4"},
               {"taxonomy_uid": "size", "term_uid": "small"}]),
    ] {
        let (s, b) = send(
            w.u(&app, Method::POST, "/v3/content_types/product/entries")
                .json(&json!({"entry": {"title": "bad", "taxonomies": bad}})),
        )
        .await;
        assert_eq!(s, 422, "{b}");
        assert!(
            b["errors"]
                .as_object()
                .unwrap()
                .keys()
                .any(|k| k.starts_with("taxonomies")),
            "{b}"
        );
    }

    // 24 entries with varied terms (a deterministic spread, some with none of `color`).
    let terms_of = |i: usize| -> Vec<String> {
        let all = ["c1", "c2", "c3", "c4", "c5", "c6", "c7"];
        match i % 6 {
            0 => vec![],
            1 => vec![all[i % 7].to_string()],
            2 => vec![all[i % 7].to_string(), all[(i + 3) % 7].to_string()],
            3 => vec![all[(i * 5) % 7].to_string()],
            4 => vec![
                all[(i + 1) % 7].to_string(),
                all[(i + 2) % 7].to_string(),
                all[(i + 5) % 7].to_string(),
            ],
            _ => vec![all[(i * 3) % 7].to_string()],
        }
    };
    let mut carried: HashMap<String, Vec<String>> = HashMap::new();
    for i in 0..24 {
        let mut tags: Vec<Value> = terms_of(i)
            .iter()
            .map(|t| json!({"taxonomy_uid": "color", "term_uid": t}))
            .collect();
        tags.push(
            json!({"taxonomy_uid": "size", "term_uid": if i % 2 == 0 { "small" } else { "large" }}),
        );
        let (s, b) = send(
            w.u(&app, Method::POST, "/v3/content_types/product/entries")
                .json(&json!({"entry": {"title": format!("p{i}"), "taxonomies": tags}})),
        )
        .await;
        assert_eq!(s, 201, "{b}");
        assert_eq!(
            b["entry"]["taxonomies"].as_array().unwrap().len(),
            terms_of(i).len() + 1
        );
        carried.insert(b["entry"]["uid"].as_str().unwrap().to_string(), terms_of(i));
    }
    let query = |q: Value| {
        let w = &w;
        let app = &app;
        async move {
            let (s, b) = send(
                w.u(app, Method::GET, "/v3/content_types/product/entries")
                    .query(&[
                        ("query", q.to_string()),
                        ("include_count", "true".into()),
                        ("limit", "100".into()),
                    ]),
            )
            .await;
            assert_eq!(s, 200, "{q}: {b}");
            let got: HashSet<String> = uids(&b["entries"]).into_iter().collect();
            assert_eq!(b["count"], json!(got.len()), "{q}");
            got
        }
    };
    // Each operator, on each term, against the full scan.
    for op in ["$in", "$eq_below", "$below", "$eq_above", "$above"] {
        for (term, _) in TREE {
            for levels in [1usize, 2, 10] {
                let q = if op == "$in" {
                    json!({"taxonomies.color": {"$in": [term]}})
                } else {
                    json!({"taxonomies.color": {op: term, "levels": levels}})
                };
                let want: HashSet<String> = carried
                    .iter()
                    .filter(|(_, ts)| scan_matches(op, term, levels, ts))
                    .map(|(u, _)| u.clone())
                    .collect();
                assert_eq!(query(q.clone()).await, want, "{q}");
                if op == "$in" {
                    break;
                }
            }
        }
    }
    // The delivery API answers the same operators over what is published.
    let (s, _) = send(
        w.u(&app, Method::POST, "/v3/environments")
            .json(&json!({"environment": {"name": "production"}})),
    )
    .await;
    assert_eq!(s, 201);
    let mut published: Vec<&String> = carried.keys().collect();
    published.sort();
    published.truncate(12);
    for uid in &published {
        let (s, b) = send(
            w.u(
                &app,
                Method::POST,
                &format!("/v3/content_types/product/entries/{uid}/publish"),
            )
            .json(&json!({"entry": {"environments": ["production"], "locales": ["en-us"]}})),
        )
        .await;
        assert_eq!(s, 200, "{b}");
    }
    let (s, b) = send(w.u(&app, Method::POST, "/v3/stacks/delivery_tokens").json(
        &json!({"token": {
        "name": "site", "scope": [
            {"module": "environment", "environments": ["production"], "acl": {"read": true}},
            {"module": "branch", "branches": ["main"], "acl": {"read": true}}]}}),
    ))
    .await;
    assert_eq!(s, 201, "{b}");
    let delivery = b["token"]["token"].as_str().unwrap().to_string();
    let mut delivered = 0;
    for (op, term) in [
        ("$eq_below", "c1"),
        ("$below", "c2"),
        ("$eq_above", "c4"),
        ("$above", "c7"),
    ] {
        let (s, b) = send(
            app.req(Method::GET, "/cda/v3/content_types/product/entries")
                .header("api_key", &w.api_key)
                .header("access_token", &delivery)
                .query(&[
                    ("environment", "production".to_string()),
                    ("limit", "100".into()),
                    ("query", json!({"taxonomies.color": {op: term}}).to_string()),
                ]),
        )
        .await;
        assert_eq!(s, 200, "{b}");
        let got: HashSet<String> = uids(&b["entries"]).into_iter().collect();
        let want: HashSet<String> = published
            .iter()
            .filter(|u| scan_matches(op, term, 10, &carried[**u]))
            .map(|u| u.to_string())
            .collect();
        assert_eq!(got, want, "delivery {op} {term}");
        delivered += got.len();
    }
    assert!(delivered > 0, "the delivery checks found nothing at all");

    // Equality, $exists, $nin, and combinations with other fields and taxonomies.
    let with = |f: &dyn Fn(&[String]) -> bool| -> HashSet<String> {
        carried
            .iter()
            .filter(|(_, ts)| f(ts))
            .map(|(u, _)| u.clone())
            .collect()
    };
    let has = |ts: &[String], t: &str| ts.iter().any(|x| x == t);
    assert_eq!(
        query(json!({"taxonomies.color": "c3"})).await,
        with(&|ts| has(ts, "c3"))
    );
    assert_eq!(
        query(json!({"taxonomies.color": {"$exists": true}})).await,
        with(&|ts| !ts.is_empty())
    );
    assert_eq!(
        query(json!({"taxonomies.color": {"$exists": false}})).await,
        with(&|ts| ts.is_empty())
    );
    assert_eq!(
        query(json!({"taxonomies.color": {"$nin": ["c1", "c6"]}})).await,
        with(&|ts| !has(ts, "c1") && !has(ts, "c6"))
    );
    let small: HashSet<String> = {
        let (_, b) = send(
            w.u(&app, Method::GET, "/v3/content_types/product/entries")
                .query(&[("limit", "100")]),
        )
        .await;
        b["entries"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| {
                e["taxonomies"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|t| t["term_uid"] == "small")
            })
            .map(|e| e["uid"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(small.len(), 12);
    let got = query(
        json!({"$and": [{"taxonomies.color": {"$eq_below": "c1"}}, {"taxonomies.size": "small"}]}),
    )
    .await;
    let want: HashSet<String> = with(&|ts| ts.iter().any(|t| t == "c1" || up(t).contains(&"c1")))
        .intersection(&small)
        .cloned()
        .collect();
    assert_eq!(got, want);
    let got =
        query(json!({"$or": [{"taxonomies.color": {"$below": "c6"}}, {"title": "p0"}]})).await;
    let mut want = with(&|ts| has(ts, "c7"));
    let p0 = query(json!({"title": "p0"})).await;
    want.extend(p0);
    assert_eq!(got, want);
    // Unknown terms and taxonomies match nothing; bad operators are refused.
    assert!(query(json!({"taxonomies.color": {"$eq_below": "nope"}}))
        .await
        .is_empty());
    assert!(query(json!({"taxonomies.shape": {"$in": ["c1"]}}))
        .await
        .is_empty());
    let (s, b) = send(
        w.u(&app, Method::GET, "/v3/content_types/product/entries")
            .query(&[(
                "query",
                r#"{"taxonomies.color": {"$below": "c1", "levels": 0}}"#,
            )]),
    )
    .await;
    assert_error(s, &b, 422, 120);

    // The query reads the entry term index: an entry's index rows follow its updates...
    let (uid, _) = carried.iter().find(|(_, ts)| ts.is_empty()).unwrap();
    let (s, b) = send(
        w.u(&app, Method::PUT, &format!("/v3/content_types/product/entries/{uid}"))
            .json(&json!({"entry": {"title": "retagged", "taxonomies": [
                {"taxonomy_uid": "color", "term_uid": "c4"}, {"taxonomy_uid": "size", "term_uid": "large"}]}})),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert!(query(json!({"taxonomies.color": "c4"})).await.contains(uid));
    assert!(
        query(json!({"taxonomies.color": {"$eq_below": "c2", "levels": 2}}))
            .await
            .contains(uid)
    );
    // ... and a query answered from it misses the entry once its rows are gone.
    {
        let mut c = app.db.begin().await.unwrap();
        sqlx::query(
            "DELETE FROM entry_terms WHERE term_uid = 'c4' AND seq IN \
             (SELECT seq FROM entries WHERE uid = $1)",
        )
        .bind(uid.as_str())
        .execute(&mut *c)
        .await
        .unwrap();
        c.commit().await.unwrap();
    }
    let got = query(json!({"taxonomies.color": "c4"})).await;
    assert!(!got.contains(uid));
    assert_eq!(got, with(&|ts| has(ts, "c4")));
    let (s, _) = send(
        w.u(&app, Method::PUT, &format!("/v3/content_types/product/entries/{uid}"))
            .json(&json!({"entry": {"title": "retagged again", "taxonomies": [
                {"taxonomy_uid": "color", "term_uid": "c4"}, {"taxonomy_uid": "size", "term_uid": "large"}]}})),
    )
    .await;
    assert_eq!(s, 200);
    assert!(query(json!({"taxonomies.color": "c4"})).await.contains(uid));

    // A new branch starts with the taxonomies, terms and entry term index of its source.
    let (s, b) = send(
        w.u(&app, Method::POST, "/v3/stacks/branches")
            .json(&json!({"branch": {"uid": "dev", "source": "main"}})),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    let on_dev = |q: Value| {
        let w = &w;
        let app = &app;
        async move {
            let (s, b) = send(
                w.u(app, Method::GET, "/v3/content_types/product/entries")
                    .header("branch", "dev")
                    .query(&[("query", q.to_string()), ("limit", "100".into())]),
            )
            .await;
            assert_eq!(s, 200, "{b}");
            uids(&b["entries"]).into_iter().collect::<HashSet<String>>()
        }
    };
    for q in [
        json!({"taxonomies.color": {"$eq_below": "c1", "levels": 2}}),
        json!({"taxonomies.color": "c4"}),
        json!({"taxonomies.size": {"$in": ["small"]}}),
    ] {
        assert_eq!(on_dev(q.clone()).await, query(q.clone()).await, "{q}");
    }
    let (s, b) = send(
        w.u(&app, Method::GET, "/v3/taxonomies/color/terms/c4/ancestors")
            .header("branch", "dev"),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(uids(&b["terms"]), ["c1", "c2", "c3"]);
    // Terms added on main stay on main.
    w.term(&app, "color", "c8", Some("c7")).await;
    let (s, b) = send(
        w.u(&app, Method::GET, "/v3/taxonomies/color/terms/c8")
            .header("branch", "dev"),
    )
    .await;
    assert_error(s, &b, 422, 141);

    // A term in use cannot be deleted (not even with force), nor one above it, nor its
    // taxonomy; counts of use are reported.
    let b = w
        .get(
            &app,
            "/v3/taxonomies/color/terms/c4?include_referenced_entries_count=true",
        )
        .await;
    assert_eq!(
        b["term"]["referenced_entries_count"],
        json!(with(&|ts| has(ts, "c4")).len() + 1)
    );
    for path in [
        "/v3/taxonomies/color/terms/c4?force=true",
        "/v3/taxonomies/color/terms/c3?force=true",
        "/v3/taxonomies/color?force=true",
    ] {
        let (s, b) = send(w.u(&app, Method::DELETE, path)).await;
        assert_error(s, &b, 422, 120);
    }
    // Deleting the entries frees the terms.
    for uid in carried.keys() {
        let (s, _) = send(w.u(
            &app,
            Method::DELETE,
            &format!("/v3/content_types/product/entries/{uid}"),
        ))
        .await;
        assert_eq!(s, 200);
    }
    let r = w
        .u(
            &app,
            Method::DELETE,
            "/v3/taxonomies/color/terms/c3?force=true",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    // The content type still names the taxonomy: deleting it needs force.
    let (s, b) = send(w.u(&app, Method::DELETE, "/v3/taxonomies/color")).await;
    assert_error(s, &b, 422, 120);
    let r = w
        .u(&app, Method::DELETE, "/v3/taxonomies/color?force=true")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
}

async fn management_tokens_need_the_taxonomy_scope(app: TestApp) {
    let w = world(&app).await;
    w.taxonomy(&app, "colors").await;
    let token = |scope: Value| {
        let app = &app;
        let w = &w;
        async move {
            let (s, b) = app
                .create_token(
                    &w.owner,
                    &w.api_key,
                    json!({"name": scope.to_string(), "scope": scope}),
                )
                .await;
            assert_eq!(s, 201, "{b}");
            b["token"]["token"].as_str().unwrap().to_string()
        }
    };
    let rw = token(json!([{"module": "taxonomy", "acl": {"read": true, "write": true}}])).await;
    let ro = token(json!([{"module": "taxonomy", "acl": {"read": true, "write": false}}])).await;
    let none = token(json!([{"module": "entry", "acl": {"read": true, "write": true}}])).await;
    let t = |m: Method, p: &str, tok: &str| app.with_token(m, p, tok, &w.api_key);
    let (s, b) = send(
        t(Method::POST, "/v3/taxonomies/colors/terms", &rw)
            .json(&json!({"term": {"uid": "red", "name": "Red"}})),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(
        b["term"]["created_by"].as_str().map(|s| !s.is_empty()),
        Some(true)
    );
    let (s, b) = send(t(Method::GET, "/v3/taxonomies/colors/terms", &ro)).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(uids(&b["terms"]), ["red"]);
    let (s, b) = send(
        t(Method::POST, "/v3/taxonomies/colors/terms", &ro)
            .json(&json!({"term": {"uid": "blue", "name": "Blue"}})),
    )
    .await;
    assert_error(s, &b, 403, 162);
    for (m, p) in [
        (Method::GET, "/v3/taxonomies"),
        (Method::GET, "/v3/taxonomies/colors/terms/red"),
        (Method::DELETE, "/v3/taxonomies/colors"),
    ] {
        let (s, b) = send(t(m, p, &none)).await;
        assert_error(s, &b, 403, 162);
    }
    // Nothing was changed by the refused requests.
    let b = w.get(&app, "/v3/taxonomies/colors/terms").await;
    assert_eq!(uids(&b["terms"]), ["red"]);
}
