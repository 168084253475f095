//! Localized taxonomies and terms, publishing taxonomies to environments and locales, and the
//! delivery API's taxonomy endpoints (published taxonomies and terms, entries of every content
//! type by taxonomy), with the policy deciding who may publish where — on both backends.

use headwater_testkit::{assert_error, on_both_backends, send, TestApp};
use reqwest::Method;
use serde_json::{json, Value};

on_both_backends!(
    taxonomies_and_terms_are_localized_with_fallback_to_the_master_locale,
    published_taxonomies_are_served_by_the_delivery_api,
    the_delivery_api_finds_entries_of_every_content_type_by_taxonomy,
    publishing_taxonomies_is_decided_by_the_policy,
);

struct World {
    owner: String,
    org: String,
    api_key: String,
}

async fn world(app: &TestApp) -> World {
    let (_, org) = app.owner("owner@example.com").await;
    let owner = app.login("owner@example.com").await;
    let api_key = app.stack(&owner, &org, "Site").await;
    let w = World {
        owner,
        org,
        api_key,
    };
    let (s, b) = send(
        w.u(app, Method::POST, "/v3/locales")
            .json(&json!({"locale": {"code": "fr-fr", "name": "French"}})),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    for env in ["production", "staging"] {
        let (s, b) = send(
            w.u(app, Method::POST, "/v3/environments")
                .json(&json!({"environment": {"name": env}})),
        )
        .await;
        assert_eq!(s, 201, "{b}");
    }
    // colors: red (dark_red below it), blue.
    let (s, b) = send(
        w.u(app, Method::POST, "/v3/taxonomies")
            .json(&json!({"taxonomy": {"uid": "colors", "name": "Colors", "description": "Hues"}})),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    for (uid, name, parent) in [
        ("red", "Red", None),
        ("blue", "Blue", None),
        ("dark_red", "Dark red", Some("red")),
    ] {
        let (s, b) = send(
            w.u(app, Method::POST, "/v3/taxonomies/colors/terms")
                .json(&json!({"term": {"uid": uid, "name": name, "parent_uid": parent}})),
        )
        .await;
        assert_eq!(s, 201, "{b}");
    }
    w
}

impl World {
    fn u(&self, app: &TestApp, m: Method, p: &str) -> reqwest::RequestBuilder {
        app.as_user(m, p, &self.owner, &self.api_key)
    }

    async fn get(&self, app: &TestApp, p: &str) -> Value {
        let (s, b) = send(self.u(app, Method::GET, p)).await;
        assert_eq!(s, 200, "{p}: {b}");
        b
    }

    async fn delivery_token(&self, app: &TestApp, envs: &[&str]) -> String {
        let (s, b) = send(
            self.u(app, Method::POST, "/v3/stacks/delivery_tokens")
                .json(
                    &json!({"token": {"name": format!("web {}", envs.join(" ")), "scope": [
                    {"module": "environment", "environments": envs, "acl": {"read": true}},
                    {"module": "branch", "branches": ["main"], "acl": {"read": true}}]}}),
                ),
        )
        .await;
        assert_eq!(s, 201, "{b}");
        b["token"]["token"].as_str().unwrap().to_string()
    }
}

fn names(v: &Value) -> Vec<(String, String)> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["uid"].as_str().unwrap().to_string(),
                t["name"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

async fn taxonomies_and_terms_are_localized_with_fallback_to_the_master_locale(app: TestApp) {
    let w = world(&app).await;
    // Localize the taxonomy: POST /v3/taxonomies/{uid}?locale=.
    let (s, b) = send(
        w.u(&app, Method::POST, "/v3/taxonomies/colors?locale=fr-fr")
            .json(&json!({"taxonomy": {"uid": "colors", "name": "Couleurs", "description": "Teintes"}})),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(b["notice"], "Taxonomy localized successfully.");
    assert_eq!(b["taxonomy"]["name"], "Couleurs");
    assert_eq!(b["taxonomy"]["locale"], "fr-fr");
    // Refusals: no locale, an unknown locale, no name for a new localization, another uid.
    let (s, b) = send(
        w.u(&app, Method::POST, "/v3/taxonomies/colors")
            .json(&json!({"taxonomy": {"name": "X"}})),
    )
    .await;
    assert_error(s, &b, 422, 120);
    assert!(b["errors"]["locale"].is_array(), "{b}");
    let (s, b) = send(
        w.u(&app, Method::POST, "/v3/taxonomies/colors?locale=xx-yy")
            .json(&json!({"taxonomy": {"name": "X"}})),
    )
    .await;
    assert_error(s, &b, 422, 120);
    let (s, b) = send(
        w.u(
            &app,
            Method::POST,
            "/v3/taxonomies/colors/terms/blue?locale=fr-fr",
        )
        .json(&json!({"term": {}})),
    )
    .await;
    assert_error(s, &b, 422, 120);
    let (s, b) = send(
        w.u(&app, Method::POST, "/v3/taxonomies/colors?locale=fr-fr")
            .json(&json!({"taxonomy": {"uid": "other", "name": "X"}})),
    )
    .await;
    assert_error(s, &b, 422, 120);
    let (s, b) = send(
        w.u(&app, Method::POST, "/v3/taxonomies/nope?locale=fr-fr")
            .json(&json!({"taxonomy": {"name": "X"}})),
    )
    .await;
    assert_error(s, &b, 422, 141);

    // Read in a locale; without one, the master locale.
    let b = w.get(&app, "/v3/taxonomies/colors?locale=fr-fr").await;
    assert_eq!(
        (&b["taxonomy"]["name"], &b["taxonomy"]["description"]),
        (&json!("Couleurs"), &json!("Teintes"))
    );
    let b = w.get(&app, "/v3/taxonomies/colors").await;
    assert_eq!(b["taxonomy"]["name"], "Colors");
    assert_eq!(b["taxonomy"]["locale"], "en-us");
    let b = w
        .get(&app, "/v3/taxonomies?locale=fr-fr&typeahead=coul")
        .await;
    assert_eq!(names(&b["taxonomies"]), pairs(&[("colors", "Couleurs")]));

    // Terms: one localized, the others fall back to the master locale's name.
    let (s, b) = send(
        w.u(
            &app,
            Method::POST,
            "/v3/taxonomies/colors/terms/red?locale=fr-fr",
        )
        .json(&json!({"term": {"name": "Rouge"}})),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(b["notice"], "Term localized successfully.");
    assert_eq!(
        (&b["term"]["name"], &b["term"]["locale"]),
        (&json!("Rouge"), &json!("fr-fr"))
    );
    let b = w
        .get(&app, "/v3/taxonomies/colors/terms?locale=fr-fr")
        .await;
    assert_eq!(
        names(&b["terms"]),
        pairs(&[("red", "Rouge"), ("dark_red", "Dark red"), ("blue", "Blue")])
    );
    let locales: Vec<&str> = b["terms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["locale"].as_str().unwrap())
        .collect();
    assert_eq!(locales, ["fr-fr", "en-us", "en-us"]);
    let b = w
        .get(
            &app,
            "/v3/taxonomies/colors/terms/dark_red/ancestors?locale=fr-fr",
        )
        .await;
    assert_eq!(names(&b["terms"]), pairs(&[("red", "Rouge")]));
    let b = w
        .get(&app, "/v3/taxonomies/colors/terms/red?locale=fr-fr")
        .await;
    assert_eq!(b["term"]["name"], "Rouge");
    let b = w.get(&app, "/v3/taxonomies/colors/terms/red").await;
    assert_eq!(b["term"]["name"], "Red");

    // PUT with ?locale= changes the localization only; without, the master locale.
    let (s, b) = send(
        w.u(
            &app,
            Method::PUT,
            "/v3/taxonomies/colors/terms/red?locale=fr-fr",
        )
        .json(&json!({"term": {"name": "Rouge vif"}})),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["term"]["name"], "Rouge vif");
    let (s, b) = send(
        w.u(&app, Method::PUT, "/v3/taxonomies/colors?locale=fr-fr")
            .json(&json!({"taxonomy": {"name": "Les couleurs"}})),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(
        (&b["taxonomy"]["name"], &b["taxonomy"]["description"]),
        (&json!("Les couleurs"), &json!("Teintes"))
    );
    let b = w.get(&app, "/v3/taxonomies/colors/terms/red").await;
    assert_eq!(b["term"]["name"], "Red");

    // The locales an item is in: the master locale first.
    let b = w.get(&app, "/v3/taxonomies/colors/locales").await;
    assert_eq!(
        names(&b["taxonomies"]),
        pairs(&[("colors", "Colors"), ("colors", "Les couleurs")])
    );
    assert_eq!(b["taxonomies"][1]["locale"], "fr-fr");
    let b = w.get(&app, "/v3/taxonomies/colors/terms/red/locales").await;
    assert_eq!(
        names(&b["terms"]),
        pairs(&[("red", "Red"), ("red", "Rouge vif")])
    );
    let b = w
        .get(&app, "/v3/taxonomies/colors/terms/blue/locales")
        .await;
    assert_eq!(names(&b["terms"]), pairs(&[("blue", "Blue")]));

    // Export in a locale, as JSON and as the CSV file.
    let b = w
        .get(&app, "/v3/taxonomies/colors/export?locale=fr-fr")
        .await;
    assert_eq!(b["taxonomy"]["name"], "Les couleurs");
    assert_eq!(
        (&b["terms"][0]["name"], &b["terms"][0]["locale"]),
        (&json!("Rouge vif"), &json!("fr-fr"))
    );
    assert_eq!(b["terms"][2]["locale"], "en-us");
    let res = w
        .u(
            &app,
            Method::GET,
            "/v3/taxonomies/colors/export?format=csv&locale=fr-fr",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let text = res.text().await.unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].starts_with("Taxonomy Name,Taxonomy Uid,Taxonomy Description,Taxonomy Locale,Level 1 Term Name,Level 1 Term Uid,Level 1 Term Locale,Level 2 Term Name"),
        "{text}"
    );
    assert!(lines[0].ends_with("Level 10 Term Locale"), "{text}");
    assert!(
        lines[1].starts_with("Les couleurs,colors,Teintes,fr-fr,,"),
        "{text}"
    );
    assert!(lines[2].starts_with(",,,,Rouge vif,red,fr-fr,,"), "{text}");
    assert!(
        lines[3].starts_with(",,,,,,,Dark red,dark_red,en-us,"),
        "{text}"
    );
    assert!(lines[4].starts_with(",,,,Blue,blue,en-us,"), "{text}");
    assert_eq!(lines.len(), 5);
    assert!(lines.iter().all(|l| l.split(',').count() == 34), "{text}");
    let (s, b) = send(w.u(&app, Method::GET, "/v3/taxonomies/colors/export?format=xml")).await;
    assert_error(s, &b, 422, 120);

    // A deleted term takes its localizations with it: created again, it has none.
    let res = w
        .u(
            &app,
            Method::DELETE,
            "/v3/taxonomies/colors/terms/red?force=true",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    let (s, _) = send(
        w.u(&app, Method::POST, "/v3/taxonomies/colors/terms")
            .json(&json!({"term": {"uid": "red", "name": "Red again"}})),
    )
    .await;
    assert_eq!(s, 201);
    let b = w.get(&app, "/v3/taxonomies/colors/terms/red/locales").await;
    assert_eq!(names(&b["terms"]), pairs(&[("red", "Red again")]));

    // The audit log has the localizations.
    let b = w.get(&app, "/v3/audit-logs").await;
    let text = b.to_string();
    assert!(text.contains("localize"), "{text}");
}

async fn published_taxonomies_are_served_by_the_delivery_api(app: TestApp) {
    let w = world(&app).await;
    let (s, _) = send(
        w.u(
            &app,
            Method::POST,
            "/v3/taxonomies/colors/terms/red?locale=fr-fr",
        )
        .json(&json!({"term": {"name": "Rouge"}})),
    )
    .await;
    assert_eq!(s, 201);
    let token = w.delivery_token(&app, &["production"]).await;
    let cda = |path: &str| {
        app.req(Method::GET, &format!("/cda{path}"))
            .header("api_key", &w.api_key)
            .header("access_token", &token)
    };
    // Nothing is published yet.
    let (s, b) = send(cda("/v3/taxonomies?environment=production")).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["taxonomies"], json!([]));
    let (s, b) = send(cda("/v3/taxonomies/colors?environment=production")).await;
    assert_error(s, &b, 422, 141);

    // Refusals name the field.
    for (body, field) in [
        (
            json!({"locales": ["en-us"], "items": [{"uid": "colors"}]}),
            "environments",
        ),
        (
            json!({"environments": ["production"], "locales": ["en-us"]}),
            "items",
        ),
        (
            json!({"environments": ["nowhere"], "items": [{"uid": "colors"}]}),
            "environments[0]",
        ),
        (
            json!({"environments": ["production"], "locales": ["xx-yy"], "items": [{"uid": "colors"}]}),
            "locales[0]",
        ),
        (
            json!({"environments": ["production"], "items": [{"uid": "shapes"}]}),
            "items[0].uid",
        ),
        (
            json!({"environments": ["production"], "items": [{"uid": "colors", "term_uid": "green"}]}),
            "items[0].term_uid",
        ),
    ] {
        let (s, b) = send(
            w.u(&app, Method::POST, "/v3/taxonomies/publish")
                .json(&body),
        )
        .await;
        assert_error(s, &b, 422, 120);
        assert!(b["errors"][field].is_array(), "{field}: {b}");
    }
    let (s, b) = send(cda("/v3/taxonomies?environment=production")).await;
    assert_eq!((s, b["taxonomies"].clone()), (200, json!([])));

    // Publish in both locales, as the JavaScript client sends it (api_version header).
    let (s, b) = send(
        w.u(&app, Method::POST, "/v3/taxonomies/publish")
            .header("api_version", "3.2")
            .json(
                &json!({"locales": ["en-us", "fr-fr"], "environments": ["production"],
                          "items": [{"uid": "colors", "term_uid": "red"}]}),
            ),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert!(b["notice"].is_string());
    let job_id = b["job_id"].as_str().unwrap().to_string();
    // The job id names a record: completed, one item for the taxonomy.
    let (s, b) = send(
        w.u(&app, Method::GET, &format!("/v3/bulk/jobs/{job_id}"))
            .header("api_version", "3.2"),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["status"], "completed", "{b}");
    let (s, b) = send(
        w.u(&app, Method::GET, &format!("/v3/bulk/jobs/{job_id}/items"))
            .header("api_version", "3.2"),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["items"][0]["uid"], "colors", "{b}");
    assert_eq!(b["items"][0]["type"], "taxonomy", "{b}");
    assert_eq!(b["items"][0]["status"], "success", "{b}");

    let (s, b) = send(cda(
        "/v3/taxonomies?environment=production&include_count=true",
    ))
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(names(&b["taxonomies"]), pairs(&[("colors", "Colors")]));
    assert_eq!(b["count"], 1);
    let (s, b) = send(cda(
        "/v3/taxonomies/colors/terms?environment=production&locale=fr-fr",
    ))
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(
        names(&b["terms"]),
        pairs(&[("red", "Rouge"), ("dark_red", "Dark red"), ("blue", "Blue")])
    );
    let (s, b) = send(cda(
        "/v3/taxonomies/colors/terms?environment=production&depth=1",
    ))
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(
        names(&b["terms"]),
        pairs(&[("red", "Red"), ("blue", "Blue")])
    );
    let (s, b) = send(cda(
        "/v3/taxonomies/colors/terms/dark_red?environment=production",
    ))
    .await;
    assert_eq!((s, b["term"]["parent_uid"].clone()), (200, json!("red")));
    let (s, b) = send(cda(
        "/v3/taxonomies/colors/terms/green?environment=production",
    ))
    .await;
    assert_error(s, &b, 422, 141);
    // The environment the token does not reach, and a management credential, are refused.
    let (s, b) = send(cda("/v3/taxonomies?environment=staging")).await;
    assert_error(s, &b, 401, 161);
    let (s, b) = send(
        app.req(Method::GET, "/v3/taxonomies")
            .header("api_key", &w.api_key)
            .header("access_token", &token),
    )
    .await;
    assert_error(s, &b, 401, 105);

    // What changed since is not live until published again.
    let (s, _) = send(
        w.u(&app, Method::PUT, "/v3/taxonomies/colors/terms/blue")
            .json(&json!({"term": {"name": "Navy"}})),
    )
    .await;
    assert_eq!(s, 200);
    let (_, b) = send(cda(
        "/v3/taxonomies/colors/terms/blue?environment=production",
    ))
    .await;
    assert_eq!(b["term"]["name"], "Blue");
    let (s, _) = send(
        w.u(&app, Method::POST, "/v3/taxonomies/publish")
            .json(&json!({"environments": ["production"], "items": [{"uid": "colors"}]})),
    )
    .await;
    assert_eq!(s, 200);
    let (_, b) = send(cda(
        "/v3/taxonomies/colors/terms/blue?environment=production",
    ))
    .await;
    assert_eq!(b["term"]["name"], "Navy");
    // Only the master locale was published again; French still has the first publication.
    let (_, b) = send(cda(
        "/v3/taxonomies/colors/terms/blue?environment=production&locale=fr-fr",
    ))
    .await;
    assert_eq!(b["term"]["name"], "Blue");

    // The management API shows where it is published.
    let b = w
        .get(&app, "/v3/taxonomies/colors?include_publish_details=true")
        .await;
    let details = b["taxonomy"]["publish_details"].as_array().unwrap();
    assert_eq!(details.len(), 2, "{b}");
    assert_eq!(details[0]["environment_name"], "production");

    // Unpublish the master locale: French stays.
    let (s, b) = send(
        w.u(&app, Method::POST, "/v3/taxonomies/unpublish")
            .json(&json!({"locales": ["en-us"], "environments": ["production"], "items": [{"uid": "colors"}]})),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert!(b["job_id"].is_string());
    let (s, b) = send(cda("/v3/taxonomies/colors?environment=production")).await;
    assert_error(s, &b, 422, 141);
    let (s, b) = send(cda(
        "/v3/taxonomies/colors?environment=production&locale=fr-fr",
    ))
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["taxonomy"]["uid"], "colors");

    // The audit log records both.
    let text = w.get(&app, "/v3/audit-logs").await.to_string();
    assert!(text.contains("unpublish"), "{text}");

    // Deleting the taxonomy takes it down everywhere.
    let res = w
        .u(&app, Method::DELETE, "/v3/taxonomies/colors")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    let (s, b) = send(cda("/v3/taxonomies?environment=production&locale=fr-fr")).await;
    assert_eq!((s, b["taxonomies"].clone()), (200, json!([])));
}

async fn the_delivery_api_finds_entries_of_every_content_type_by_taxonomy(app: TestApp) {
    let w = world(&app).await;
    for ct in ["product", "article"] {
        let (s, b) = send(w.u(&app, Method::POST, "/v3/content_types").json(&json!({"content_type": {
            "title": ct, "uid": ct, "schema": [
                {"uid": "title", "display_name": "Title", "data_type": "text", "mandatory": true},
                {"uid": "taxonomies", "display_name": "Taxonomy", "data_type": "taxonomy", "multiple": true,
                 "taxonomies": [{"taxonomy_uid": "colors", "max_terms": 5}]}
            ]}})))
        .await;
        assert_eq!(s, 201, "{b}");
    }
    // (content type, title, terms, published)
    let rows = [
        ("product", "Red shoe", vec!["red"], true),
        ("product", "Dark red hat", vec!["dark_red"], true),
        ("product", "Blue coat", vec!["blue"], true),
        ("article", "Red things", vec!["red", "blue"], true),
        ("article", "Red draft", vec!["red"], false),
    ];
    for (ct, title, terms, publish) in &rows {
        let tax: Vec<Value> = terms
            .iter()
            .map(|t| json!({"taxonomy_uid": "colors", "term_uid": t}))
            .collect();
        let (s, b) = send(
            w.u(
                &app,
                Method::POST,
                &format!("/v3/content_types/{ct}/entries"),
            )
            .json(&json!({"entry": {"title": title, "taxonomies": tax}})),
        )
        .await;
        assert_eq!(s, 201, "{b}");
        let uid = b["entry"]["uid"].as_str().unwrap().to_string();
        if *publish {
            let (s, b) = send(
                w.u(
                    &app,
                    Method::POST,
                    &format!("/v3/content_types/{ct}/entries/{uid}/publish"),
                )
                .json(&json!({"entry": {"environments": ["production"], "locales": ["en-us"]}, "locale": "en-us"})),
            )
            .await;
            assert_eq!(s, 200, "{b}");
        }
    }
    let token = w.delivery_token(&app, &["production"]).await;
    let find = |query: Value, extra: &str| {
        let url = format!(
            "/cda/v3/taxonomies/entries?environment=production&query={}{extra}",
            common_urlencode(&query.to_string())
        );
        app.req(Method::GET, &url)
            .header("api_key", &w.api_key)
            .header("access_token", &token)
    };
    let titles = |b: &Value| -> Vec<String> {
        let mut t = crate::common::titles(b);
        t.sort();
        t
    };
    let (s, b) = send(find(
        json!({"taxonomies.colors": "red"}),
        "&include_count=true",
    ))
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(titles(&b), ["Red shoe", "Red things"]);
    assert_eq!(b["count"], 2);
    let types: Vec<&str> = b["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["_content_type_uid"].as_str().unwrap())
        .collect();
    assert!(
        types.contains(&"product") && types.contains(&"article"),
        "{b}"
    );
    let (s, b) = send(find(json!({"taxonomies.colors": {"$eq_below": "red"}}), "")).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(titles(&b), ["Dark red hat", "Red shoe", "Red things"]);
    let (s, b) = send(find(
        json!({"taxonomies.colors": {"$in": ["blue"]}}),
        "&asc=title",
    ))
    .await;
    assert_eq!(s, 200, "{b}");
    let ordered: Vec<&str> = b["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["title"].as_str().unwrap())
        .collect();
    assert_eq!(ordered, ["Blue coat", "Red things"]);
    let (s, b) = send(find(
        json!({"taxonomies.colors": {"$exists": true}}),
        "&limit=2&skip=1&include_count=true",
    ))
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["entries"].as_array().unwrap().len(), 2);
    assert_eq!(b["count"], 4);
    let (s, b) = send(find(json!({"taxonomies.colors": {"$bogus": 1}}), "")).await;
    assert_error(s, &b, 422, 120);
}

fn common_urlencode(s: &str) -> String {
    crate::common::urlencode(s)
}

async fn publishing_taxonomies_is_decided_by_the_policy(app: TestApp) {
    let w = world(&app).await;
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
    let ro = token(json!([{"module": "taxonomy", "acl": {"read": true}}])).await;
    let none = token(json!([{"module": "entry", "acl": {"read": true, "write": true}}])).await;
    let staging = token(json!([{"module": "taxonomy", "environments": ["staging"],
                               "acl": {"read": true, "write": true}}]))
    .await;
    let body = |env: &str| json!({"locales": ["en-us"], "environments": [env], "items": [{"uid": "colors"}]});
    let t = |m: Method, p: &str, tok: &str| app.with_token(m, p, tok, &w.api_key);

    let (s, b) =
        send(t(Method::POST, "/v3/taxonomies/publish", &rw).json(&body("production"))).await;
    assert_eq!(s, 200, "{b}");
    let (s, b) =
        send(t(Method::POST, "/v3/taxonomies/publish", &ro).json(&body("production"))).await;
    assert_error(s, &b, 403, 162);
    assert!(b["error_message"].as_str().unwrap().contains("MT-7"), "{b}");
    let (s, b) =
        send(t(Method::POST, "/v3/taxonomies/unpublish", &none).json(&body("production"))).await;
    assert_error(s, &b, 403, 162);
    // MT-18: a scope narrowed to staging publishes there and nowhere else.
    let (s, b) =
        send(t(Method::POST, "/v3/taxonomies/publish", &staging).json(&body("production"))).await;
    assert_error(s, &b, 403, 162);
    assert!(
        b["error_message"].as_str().unwrap().contains("MT-18"),
        "{b}"
    );
    let (s, b) =
        send(t(Method::POST, "/v3/taxonomies/publish", &staging).json(&body("staging"))).await;
    assert_eq!(s, 200, "{b}");
    // A narrowing by environment applies to the taxonomy module only as the others do.
    let (s, b) = app
        .create_token(
            &w.owner,
            &w.api_key,
            json!({"name": "bad", "scope": [{"module": "locale", "environments": ["staging"],
                                             "acl": {"read": true}}]}),
        )
        .await;
    assert_eq!(s, 422, "{b}");
    // Localizing is an update: a read-only token may not.
    let (s, b) = send(
        t(Method::POST, "/v3/taxonomies/colors?locale=fr-fr", &ro)
            .json(&json!({"taxonomy": {"name": "Couleurs"}})),
    )
    .await;
    assert_error(s, &b, 403, 162);
    let (s, b) = send(t(Method::GET, "/v3/taxonomies/colors/locales", &ro)).await;
    assert_eq!(s, 200, "{b}");

    // Roles: a content manager reads taxonomies but does not publish them.
    app.member("cm@example.com", &w.org).await;
    app.share(&w.owner, &w.api_key, "cm@example.com", "Content Manager")
        .await;
    let cm = app.login("cm@example.com").await;
    let (s, b) = send(
        app.as_user(Method::POST, "/v3/taxonomies/publish", &cm, &w.api_key)
            .json(&body("production")),
    )
    .await;
    assert_error(s, &b, 403, 162);
    // Nothing the refused requests asked for was done: only production and staging by the
    // allowed tokens.
    let b = w
        .get(&app, "/v3/taxonomies/colors?include_publish_details=true")
        .await;
    let mut envs: Vec<String> = b["taxonomy"]["publish_details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["environment_name"].as_str().unwrap().to_string())
        .collect();
    envs.sort();
    assert_eq!(envs, ["production", "staging"]);
}
