//! What one SQLite read costs through the store's driver (sqlx `Any`, as every repository
//! function reads) beside the same read through rusqlite on the calling thread: an entry by
//! its primary key, 1,000 entries seeded. Run with
//! `cargo bench -p headwater-bench --bench sqlite_driver -- --warm-up-time 1 --measurement-time 3`.

use criterion::{criterion_group, criterion_main, Criterion};
use headwater_store::repo::entries;
use headwater_store::Db;
use std::hint::black_box;

fn entry_by_uid(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let dir = std::env::temp_dir().join(format!("hw-driver-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("bench.db");
    let url = format!("sqlite://{}", file.display());
    let (db, seeded, stack) = rt.block_on(async {
        let db = Db::connect(&url).await.unwrap();
        db.migrate().await.unwrap();
        let seeded = headwater_bench::seed(&db, 1000).await.unwrap();
        let mut c = db.reader().await.unwrap();
        let stack = headwater_store::repo::stacks::by_api_key(&mut c, &seeded.api_key)
            .await
            .unwrap()
            .unwrap()
            .uid;
        drop(c);
        (db, seeded, stack)
    });
    let uid = seeded.entry_uid.clone();

    c.bench_function(
        "entry by uid: sqlx Any (pool acquire + query + row decode)",
        |b| {
            b.iter(|| {
                rt.block_on(async {
                    let mut c = db.reader().await.unwrap();
                    let e = entries::get(&mut c, &stack, "article", black_box(&uid), "en-us")
                        .await
                        .unwrap();
                    black_box(e.unwrap());
                })
            })
        },
    );
    c.bench_function(
        "entry by uid: sqlx Any, two statements (entry + publications)",
        |b| {
            b.iter(|| {
                rt.block_on(async {
                    let mut c = db.reader().await.unwrap();
                    let e = entries::get(&mut c, &stack, "article", black_box(&uid), "en-us")
                        .await
                        .unwrap();
                    let p = headwater_store::repo::publications::of_items(
                        &mut c,
                        &stack,
                        "entry",
                        std::slice::from_ref(&uid),
                    )
                    .await
                    .unwrap();
                    black_box((e.unwrap(), p));
                })
            })
        },
    );
    c.bench_function("no-op round trip: sqlx Any `SELECT 1`", |b| {
        b.iter(|| {
            rt.block_on(async {
                let mut c = db.reader().await.unwrap();
                sqlx::query("SELECT 1").execute(&mut *c).await.unwrap();
            })
        })
    });

    let conn = rusqlite::Connection::open(&file).unwrap();
    c.bench_function("entry by uid: rusqlite on the calling thread (query + row decode)", |b| {
        b.iter(|| {
            let mut st = conn
                .prepare_cached(
                    "SELECT e.uid, e.content_type_uid, e.locale, e.title, e.version, e.doc, e.tags, \
                     e.created_by, e.updated_by, e.created_at, e.updated_at FROM entries e \
                     WHERE e.stack_uid = ?1 AND e.uid = ?2 AND e.locale = ?3",
                )
                .unwrap();
            let row = st
                .query_row(rusqlite::params![&stack, black_box(&uid), "en-us"], |r| {
                    let doc: String = r.get(5)?;
                    let tags: String = r.get(6)?;
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, i64>(4)?,
                        serde_json::from_str::<serde_json::Value>(&doc).unwrap(),
                        serde_json::from_str::<serde_json::Value>(&tags).unwrap(),
                        r.get::<_, String>(7)?,
                        r.get::<_, String>(8)?,
                        r.get::<_, String>(9)?,
                        r.get::<_, String>(10)?,
                    ))
                })
                .unwrap();
            black_box(row);
        })
    });
    drop(conn);
    rt.block_on(db.close());
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, entry_by_uid);
criterion_main!(benches);
