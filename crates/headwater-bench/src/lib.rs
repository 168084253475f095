//! Benchmark support. `headwater-bench-seed` fills a database with a benchmark stack;
//! `headwater-bench-hello` is the HTTP floor (a minimal axum handler); `benches/hot_paths.rs`
//! measures the per-request credential check and the entry query compiler. `bench/run.sh`
//! drives them with wrk.

use headwater_api::admin::{self, OrgChoice};
use headwater_core::secret::{self, SecretKind};
use headwater_store::repo::entries;
use headwater_store::repo::schemas::{self, Kind, SchemaWrite};
use headwater_store::repo::tokens::{self, Cap, TokenFields, WhenFull};
use headwater_store::repo::{orgs, stacks, users, Actor};
use headwater_store::Db;
use serde_json::json;

/// What a seeded benchmark stack offers to the load generator.
pub struct Seeded {
    pub api_key: String,
    pub management_token: String,
    pub authtoken: String,
    pub entry_uid: String,
    /// A delivery token for the `production` environment, where every entry is published.
    pub delivery_token: String,
}

pub const CONTENT_TYPE: &str = "article";
pub const CATEGORIES: [&str; 10] = [
    "news", "sport", "culture", "science", "travel", "food", "tech", "health", "money", "opinion",
];

/// Creates a user, organization (with limits raised so the benchmark measures the server,
/// not the limiter), stack, content type, `count` entries (all published to `production`), an
/// environment, a read-write management token, an authtoken and a delivery token. Prints
/// progress every 10,000 entries.
pub async fn seed(db: &Db, count: usize) -> anyhow::Result<Seeded> {
    let email = format!("bench-{}@example.com", headwater_core::ids::new_uid());
    let created = admin::create_user(
        db,
        &email,
        "benchmark-password",
        "Bench",
        "Mark",
        OrgChoice::New { name: "Bench Org" },
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let actor = Actor::User(created.user_uid.clone());
    let mut tx = db.begin().await?;
    orgs::set_limits(
        &mut tx,
        &created.org_uid,
        Some(1_000_000),
        Some(1_000_000),
        None,
    )
    .await?;
    let stack = stacks::insert(
        &mut tx,
        &created.org_uid,
        &created.user_uid,
        "Bench",
        "",
        "en-us",
    )
    .await?;
    let schema = json!([
        {"uid": "title", "display_name": "Title", "data_type": "text", "mandatory": true},
        {"uid": "body", "display_name": "Body", "data_type": "text"},
        {"uid": "rating", "display_name": "Rating", "data_type": "number"},
        {"uid": "category", "display_name": "Category", "data_type": "text"},
        {"uid": "author", "display_name": "Author", "data_type": "group", "schema": [
            {"uid": "name", "display_name": "Name", "data_type": "text"}]}
    ]);
    schemas::insert(
        &mut tx,
        &stack.uid,
        Kind::ContentType,
        &SchemaWrite {
            uid: CONTENT_TYPE,
            title: "Article",
            description: "",
            schema: &schema,
            options: &json!({}),
        },
        &actor,
    )
    .await?;
    let env = headwater_store::repo::environments::insert(
        &mut tx,
        &stack.uid,
        "production",
        &json!([]),
        &actor,
    )
    .await?;
    let mt = secret::generate(SecretKind::ManagementToken);
    let fields = TokenFields {
        name: "bench".into(),
        description: String::new(),
        scope: json!([{"module": "$all", "acl": {"read": true, "write": true}}]),
        expires_on: None,
        expires_at: None,
        is_email_notification_enabled: false,
        rate_limit_enabled: false,
        read_rps: None,
        write_rps: None,
        allowed_cidrs: None,
        revoke_on_reuse: false,
    };
    tokens::create_capped(
        &mut tx,
        &stack.uid,
        &fields,
        &mt.hash,
        Cap {
            max: 30,
            when_full: WhenFull::Refuse,
        },
        &actor,
    )
    .await?;
    let at = secret::generate(SecretKind::AuthToken);
    users::add_authtoken(&mut tx, &created.user_uid, &at.hash).await?;
    let dt = secret::generate(SecretKind::DeliveryToken);
    headwater_store::repo::delivery_tokens::create_capped(
        &mut tx,
        &stack.uid,
        &headwater_store::repo::delivery_tokens::Fields {
            name: "bench",
            description: "",
            scope: &json!([
                {"module": "environment", "environments": ["production"], "acl": {"read": true}},
                {"module": "branch", "branches": ["main"], "acl": {"read": true}}
            ]),
            environments: std::slice::from_ref(&env.uid),
        },
        &dt.hash,
        &actor,
    )
    .await?;
    tx.commit().await?;

    let backend = db.backend();
    let mut first_uid = String::new();
    let batch = 1000;
    let mut done = 0;
    let place = headwater_store::repo::field_index::Place {
        stack_uid: &stack.uid,
        content_type_uid: CONTENT_TYPE,
        locale: "en-us",
    };
    while done < count {
        let mut tx = db.begin().await?;
        let mut rows = Vec::with_capacity(batch);
        for i in done..(done + batch).min(count) {
            let uid = headwater_core::ids::new_uid();
            let doc = json!({
                "title": format!("Article {i}"),
                "body": format!("Body of article {i}. {}", "Lorem ipsum dolor sit amet. ".repeat(4)),
                "rating": i % 100,
                "category": CATEGORIES[i % CATEGORIES.len()],
                "author": {"name": format!("Author {}", i % 500)},
            });
            if first_uid.is_empty() {
                first_uid = uid.clone();
            }
            rows.push((uid, format!("Article {i}"), doc));
        }
        let items: Vec<(&str, &str, &serde_json::Value)> = rows
            .iter()
            .map(|(u, t, d)| (u.as_str(), t.as_str(), d))
            .collect();
        entries::insert_many(&mut tx, &place, &items, &actor).await?;
        tx.commit().await?;
        done = (done + batch).min(count);
        if done % 10_000 == 0 || done == count {
            eprintln!("seeded {done}/{count} entries");
        }
    }
    // Every entry published to `production` at its first version, as one statement (the
    // publications rows a publish of each would write; the uids are generated here, never input).
    db.execute_admin(&format!(
        "INSERT INTO publications (stack_uid, item_type, item_uid, locale, environment_uid, \
         content_type_uid, version, published_by, published_at, source_locale) \
         SELECT stack_uid, 'entry', uid, locale, '{env}', content_type_uid, version, '{user}', \
         updated_at, NULL FROM entries WHERE stack_uid = '{stack}'",
        env = env.uid,
        user = created.user_uid,
        stack = stack.uid,
    ))
    .await?;
    // Fresh planner statistics, as an operator would have after loading data.
    // (VACUUM also marks PostgreSQL's pages all-visible, so index-only scans stay index-only.)
    db.execute_admin(match backend {
        headwater_store::Backend::Postgres => "VACUUM ANALYZE",
        headwater_store::Backend::Sqlite => "ANALYZE",
    })
    .await?;
    Ok(Seeded {
        api_key: stack.api_key,
        management_token: mt.plaintext,
        authtoken: at.plaintext,
        entry_uid: first_uid,
        delivery_token: dt.plaintext,
    })
}
