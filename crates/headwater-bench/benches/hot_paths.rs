//! Micro-benchmarks of the per-request hot paths:
//! - the management-token credential check (checksum + hash + cached lookup + expiry and
//!   api_key checks) followed by the policy decision;
//! - the token format check alone (what junk costs);
//! - parsing and compiling an entry query to SQL.

use criterion::{criterion_group, criterion_main, Criterion};
use headwater_api::{AppState, ServerConfig};
use headwater_core::policy::{decide, Action, Module, Op, Subject, TokenAccess};
use headwater_store::repo::entries::Compiler;
use headwater_store::{Backend, Db};
use std::hint::black_box;

fn credential_check(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = std::env::temp_dir().join(format!("hw-bench-{}", std::process::id()));
    let url = format!("sqlite://{}", dir.join("bench.db").display());
    let (state, seeded) = rt.block_on(async {
        let db = Db::connect(&url).await.unwrap();
        db.migrate().await.unwrap();
        let seeded = headwater_bench::seed(&db, 1).await.unwrap();
        (AppState::new(db, ServerConfig::default()), seeded)
    });
    let token = seeded.management_token.clone();
    let key = seeded.api_key.clone();
    // Warm the cache once; the benchmark measures the cached path.
    rt.block_on(headwater_api::auth::verify_management_token(
        &state,
        &token,
        Some(&key),
    ))
    .unwrap();
    let action = Action::new(Module::Entries, Op::Read);
    c.bench_function("credential check + policy (cached)", |b| {
        b.iter(|| {
            rt.block_on(async {
                let v = headwater_api::auth::verify_management_token(
                    &state,
                    black_box(&token),
                    Some(&key),
                )
                .await
                .unwrap();
                let subject = Subject::ManagementToken(TokenAccess {
                    scope: v.scope.clone(),
                    branch: "main".into(),
                    via_alias: None,
                    alias_targets: Vec::new(),
                });
                decide(&subject, &action).unwrap();
            })
        })
    });
    c.bench_function("token format check (junk is refused here)", |b| {
        b.iter(|| {
            headwater_core::secret::well_formed(
                headwater_core::secret::SecretKind::ManagementToken,
                black_box(&token),
            )
        })
    });
    let _ = std::fs::remove_dir_all(&dir);
}

fn query_compile(c: &mut Criterion) {
    let text = r#"{"category": "tech", "rating": {"$gte": 50}, "$or": [{"author.name": "Author 7"}, {"title": {"$regex": "^Article 1"}}]}"#;
    for backend in [Backend::Sqlite, Backend::Postgres] {
        c.bench_function(&format!("parse + compile entry query ({backend:?})"), |b| {
            b.iter(|| {
                let cond = headwater_core::query::parse(black_box(text)).unwrap();
                let mut comp = Compiler::new(backend, 4);
                black_box(comp.compile(&cond));
            })
        });
    }
}

criterion_group!(benches, credential_check, query_compile);
criterion_main!(benches);
